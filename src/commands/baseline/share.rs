//! `baseline push` / `baseline pull`: share the baseline tag through the
//! `git` command line, so the user's credentials and ssh setup apply.

use super::super::Context;
use crate::clock;
use crate::error::user;
use crate::git::cli;
use crate::journal::{Intent, Scope, Transaction};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The remote (default: origin, or the only remote)
    pub remote: Option<String>,
    /// Replace a different baseline on the remote
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The remote (default: origin, or the only remote)
    pub remote: Option<String>,
    /// Replace a local baseline that differs (the old one is kept as <name>-prev-<ts>)
    #[arg(long)]
    pub force: bool,
}

fn tag_name(ctx: &Context) -> anyhow::Result<String> {
    super::tag_name(&ctx.settings.baseline)
}

pub fn push(ctx: &Context, args: &PushArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let name = tag_name(ctx)?;
    if repo.tag_info(&name)?.is_none() {
        return Err(user(format!("the baseline tag `{name}` does not exist"))
            .hint("create it with `git rollback-sprint baseline set`")
            .into());
    }
    let remote = repo.pick_remote(args.remote.as_deref())?;
    let spec = format!(
        "{}refs/tags/{name}:refs/tags/{name}",
        if args.force { "+" } else { "" }
    );
    let mut outcome = Outcome::new();
    outcome
        .field("remote", remote.as_str())
        .field("baseline", name.as_str());
    if ctx.ui.dry_run {
        outcome.line(format!("Would run: git push {remote} {spec}"));
        return Ok(outcome);
    }
    let out = cli::run(repo, &["push", "--no-verify", "--", &remote, &spec])?;
    if !out.success {
        let rejected = out.stderr.contains("rejected") || out.stderr.contains("already exists");
        let first = out
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("git push failed")
            .trim()
            .to_string();
        let hint = if rejected {
            format!("the remote has a different `{name}`; fetch it with `git rollback-sprint baseline pull`, or replace it with --force")
        } else {
            "check the remote and your access to it".to_string()
        };
        return Err(user(format!("git push to {remote} failed: {first}"))
            .hint(hint)
            .into());
    }
    outcome.line(format!("Pushed the baseline `{name}` to {remote}."));
    Ok(outcome)
}

pub fn pull(ctx: &Context, args: &PullArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let name = tag_name(ctx)?;
    let remote = repo.pick_remote(args.remote.as_deref())?;
    let refname = format!("refs/tags/{name}");
    let incoming = format!("refs/rollback/incoming/{name}");
    let mut outcome = Outcome::new();
    outcome
        .field("remote", remote.as_str())
        .field("baseline", name.as_str());
    if ctx.ui.dry_run {
        outcome.line(format!(
            "Would fetch {refname} from {remote} and set the local `{name}` to it if it is new or (with --force) different."
        ));
        return Ok(outcome);
    }
    // Fetch into our own namespace; the local tag moves only in a journaled
    // transaction below.
    let spec = format!("+{refname}:{incoming}");
    let out = cli::run(
        repo,
        &[
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
            &remote,
            &spec,
        ],
    )?;
    if !out.success {
        let first = out
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("git fetch failed")
            .trim()
            .to_string();
        let hint = if first.contains("couldn't find remote ref") {
            format!("the remote has no `{name}` yet; share yours with `git rollback-sprint baseline push`")
        } else {
            "check the remote and your access to it".to_string()
        };
        return Err(user(format!("git fetch from {remote} failed: {first}"))
            .hint(hint)
            .into());
    }
    let fetched = repo
        .ref_target(&incoming)?
        .ok_or_else(|| user(format!("{remote} did not send `{name}`")))?;
    crate::journal::forget_fetched(repo, &incoming);
    let local = repo.ref_target(&refname)?;
    outcome.field("fetched", fetched.to_string());
    if local == Some(fetched) {
        outcome.line(format!(
            "The baseline `{name}` is already the same as on {remote}."
        ));
        outcome.field("changed", false);
        return Ok(outcome);
    }
    let mut refs = vec![refname.clone()];
    let mut keep_as = None;
    if let Some(old) = local {
        if !args.force {
            return Err(user(format!(
                "your baseline `{name}` differs from the one on {remote}"
            ))
            .hint("pass --force to take the remote one (yours is kept as <name>-prev-<timestamp>)")
            .into());
        }
        let prev = repo.unused_ref_name(
            "refs/tags/",
            &format!("{name}-prev-{}", clock::stamp(&clock::now())),
        )?;
        refs.push(format!("refs/tags/{prev}"));
        keep_as = Some((prev, old));
    }
    let intent =
        Intent::new("baseline pull", &ctx.command_line, Scope::refs(refs)).plan(vec![format!(
            "set tag {name} to {} from {remote}",
            repo.short_id(fetched)
        )]);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let ((), id) = tx.run(|tx| {
        if let Some((prev, old)) = &keep_as {
            tx.update_ref(&format!("refs/tags/{prev}"), None, Some(*old))?;
        }
        tx.update_ref(&refname, local, Some(fetched))
    })?;
    outcome
        .field("operation_id", id.as_str())
        .field("changed", true);
    outcome.line(format!(
        "The baseline `{name}` is now {} (from {remote}).",
        repo.short_id(fetched)
    ));
    if let Some((prev, _)) = &keep_as {
        outcome.line(format!("Your previous baseline is kept as `{prev}`."));
        outcome.field("previous", prev.as_str());
    }
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    Ok(outcome)
}
