//! `baseline set [REV] [-m MSG] [--force]`.

use super::super::Context;
use crate::clock;
use crate::error::user;
use crate::git::{Oid, Repo};
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
    let name = &super::tag_name(&ctx.settings.baseline)?;
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    if rev == "HEAD" && repo.head_commit()?.is_none() {
        return Err(user("HEAD has no commit yet")
            .hint("commit something first, then set the baseline")
            .into());
    }
    let target = repo.resolve_commit(rev)?;
    let info = repo.commit_info(target)?;
    let existing = repo.tag_info(name)?;
    if let Some(old) = &existing {
        // Already there (and no new message asked for): nothing to do,
        // rather than a refusal or a second tag of the same commit.
        if old.commit == target && args.message.is_none() {
            let mut outcome = Outcome::new();
            outcome
                .field("baseline", name.as_str())
                .field("commit", target.to_string())
                .field("previous", serde_json::Value::Null);
            outcome.nothing_to_do(format!(
                "the baseline `{name}` is already {} {}",
                repo.short_id(target),
                info.summary
            ));
            return Ok(outcome);
        }
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
    }
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| format!("Baseline: {}", info.summary));
    let moving = Move::plan(repo, name, target, &message)?;
    let plan = moving.steps(repo, &info.summary);
    let keep_as = moving.keep_as.clone();

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

    let intent = Intent::new(
        "baseline set",
        &ctx.command_line,
        Scope::refs(moving.refs()),
    )
    .plan(plan);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let ((), id) = tx.run(|tx| moving.apply(tx))?;
    outcome.field("operation_id", id.as_str());
    outcome.line(format!(
        "Baseline `{name}` is now {} {}",
        repo.short_id(target),
        crate::ui::quote(&info.summary)
    ));
    if let Some(prev) = &keep_as {
        outcome.line(format!("The previous baseline is kept as `{prev}`."));
    }
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    Ok(outcome)
}

/// Moving (or creating) the baseline tag, the old one kept as
/// `<name>-prev-<ts>`: planned before the transaction, applied inside it.
pub struct Move {
    pub name: String,
    pub refname: String,
    pub target: Oid,
    pub message: String,
    /// The tag object the baseline ref points at now, and its commit.
    pub old: Option<(Oid, Oid)>,
    pub keep_as: Option<String>,
}

impl Move {
    pub fn plan(repo: &Repo, setting: &str, target: Oid, message: &str) -> anyhow::Result<Move> {
        let name = &super::tag_name(setting)?;
        let old = repo.tag_info(name)?.map(|t| (t.target, t.commit));
        let keep_as = match old {
            Some(_) => Some(repo.unused_ref_name(
                "refs/tags/",
                &format!("{name}-prev-{}", clock::stamp(&clock::now())),
            )?),
            None => None,
        };
        Ok(Move {
            name: name.to_string(),
            refname: format!("refs/tags/{name}"),
            target,
            message: message.to_string(),
            old,
            keep_as,
        })
    }

    pub fn refs(&self) -> Vec<String> {
        let mut refs = vec![self.refname.clone()];
        refs.extend(self.keep_as.iter().map(|p| format!("refs/tags/{p}")));
        refs
    }

    pub fn steps(&self, repo: &Repo, summary: &str) -> Vec<String> {
        let mut steps = Vec::new();
        if let (Some(prev), Some((_, commit))) = (&self.keep_as, self.old) {
            steps.push(format!(
                "keep the old baseline ({}) as tag {prev}",
                repo.short_id(commit)
            ));
        }
        steps.push(format!(
            "tag {} ({summary}) as `{}`",
            repo.short_id(self.target),
            self.name
        ));
        steps
    }

    pub fn apply(&self, tx: &Transaction) -> anyhow::Result<()> {
        let repo = tx.repo();
        let old_tag = self.old.map(|(tag, _)| tag);
        if let (Some(prev), Some(old)) = (&self.keep_as, old_tag) {
            tx.update_ref(&format!("refs/tags/{prev}"), None, Some(old))?;
        }
        let tag = repo.write_tag_object(&self.name, self.target, &self.message)?;
        tx.update_ref(&self.refname, old_tag, Some(tag))?;
        Ok(())
    }
}
