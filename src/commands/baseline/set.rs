//! `baseline set [REV] [-m MSG] [--force]`.

use super::super::Context;
use crate::clock;
use crate::error::user;
use crate::git::Repo;
use crate::journal::{Intent, Scope, Transaction};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The commit to tag (default HEAD)
    pub rev: Option<String>,
    /// The tag message
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Move an existing baseline (the old one is kept as <name>-prev-<ts>)
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Context, args: &SetArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let name = &ctx.settings.baseline;
    if !Repo::valid_tag_name(name) {
        return Err(user(format!(
            "rollback.baseline `{name}` is not a valid tag name"
        ))
        .hint("`baseline set` creates a tag; set git config rollback.baseline to a tag name")
        .into());
    }
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    if rev == "HEAD" && repo.head_commit()?.is_none() {
        return Err(user("HEAD has no commit yet")
            .hint("commit something first, then set the baseline")
            .into());
    }
    let target = repo.resolve_commit(rev)?;
    let info = repo.commit_info(target)?;
    let refname = format!("refs/tags/{name}");
    let existing = repo.tag_info(name)?;
    let now = clock::now();
    let mut plan = Vec::new();
    let mut refs = vec![refname.clone()];
    let mut keep_as = None;
    if let Some(old) = &existing {
        if !args.force {
            return Err(user(format!(
                "the baseline `{name}` already exists at {}",
                repo.short_id(old.commit)
            ))
            .hint(format!(
                "pass --force to move it (the old one is kept as {name}-prev-<timestamp>)"
            ))
            .into());
        }
        let prev =
            repo.unused_ref_name("refs/tags/", &format!("{name}-prev-{}", clock::stamp(&now)))?;
        plan.push(format!(
            "keep the old baseline ({}) as tag {prev}",
            repo.short_id(old.commit)
        ));
        refs.push(format!("refs/tags/{prev}"));
        keep_as = Some(prev);
    }
    plan.push(format!(
        "tag {} ({}) as `{name}`",
        repo.short_id(target),
        info.summary
    ));
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| format!("Baseline: {}", info.summary));

    let mut outcome = Outcome::new();
    outcome
        .field("baseline", name.as_str())
        .field("commit", target.to_string())
        .field("previous", keep_as.clone());
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &plan {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", plan);
        return Ok(outcome);
    }

    let intent = Intent::new("baseline set", &ctx.command_line, Scope::refs(refs)).plan(plan);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let ((), id) = tx.run(|tx| {
        let old_target = existing.as_ref().map(|t| t.target);
        if let (Some(prev), Some(old)) = (&keep_as, old_target) {
            tx.update_ref(&format!("refs/tags/{prev}"), None, Some(old))?;
        }
        let tag = repo.write_tag_object(name, target, &message)?;
        tx.update_ref(&refname, old_target, Some(tag))?;
        Ok(())
    })?;
    outcome.field("operation_id", id.as_str());
    outcome.line(format!(
        "Baseline `{name}` is now {} {}",
        repo.short_id(target),
        info.summary
    ));
    if let Some(prev) = &keep_as {
        outcome.line(format!("The previous baseline is kept as `{prev}`."));
    }
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    Ok(outcome)
}
