//! `baseline push` / `baseline pull`: share the baseline tag through the
//! `git` command line, so the user's credentials and ssh setup apply.

use std::fmt;

use serde::Serialize;

use super::super::Context;
use crate::clock;
use crate::error::user;
use crate::git::{cli, Oid};
use crate::journal::{Intent, Scope, Transaction};
use crate::plan::{carry_out, Carried, Execute, Plan, Rev, Step};
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
    outcome.data(&Shared {
        remote: &remote,
        baseline: &name,
    });
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

/// The JSON fields of `baseline push` and `baseline pull`.
#[derive(Serialize)]
struct Shared<'a> {
    remote: &'a str,
    baseline: &'a str,
}

/// The JSON fields of a `baseline pull` that fetched the tag.
#[derive(Serialize)]
struct Pulled<'a> {
    fetched: String,
    operation_id: Option<&'a str>,
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<&'a str>,
}

pub fn pull(ctx: &Context, args: &PullArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let name = tag_name(ctx)?;
    let remote = repo.pick_remote(args.remote.as_deref())?;
    let refname = format!("refs/tags/{name}");
    let mut outcome = Outcome::new();
    outcome.data(&Shared {
        remote: &remote,
        baseline: &name,
    });
    if ctx.ui.dry_run {
        // What the remote has is known only after fetching it, which a dry
        // run does not do: it says what it would do instead of a plan.
        outcome.line(format!(
            "Would fetch {refname} from {remote} and set the local `{name}` to it if it is new or (with --force) different."
        ));
        return Ok(outcome);
    }
    let fetched = fetch(ctx, &remote, &name)?;
    let local = repo.ref_target(&refname)?;
    if local == Some(fetched) {
        outcome.line(format!(
            "The baseline `{name}` is already the same as on {remote}."
        ));
        outcome.data(&Pulled {
            fetched: fetched.to_string(),
            operation_id: None,
            changed: false,
            previous: None,
        });
        return Ok(outcome);
    }
    let step = set_tag(ctx, args, &remote, &name, local, fetched)?;
    let keep_as = step.keep_as.as_ref().map(|(prev, _)| prev.clone());
    let mut refs = vec![refname];
    refs.extend(keep_as.iter().map(|prev| format!("refs/tags/{prev}")));
    let plan = Plan {
        steps: vec![step],
        ..Plan::new()
    };
    let exec = SetFromRemote { refs };
    if let Carried::Done { id, .. } = carry_out(ctx, &plan, exec, &mut outcome)? {
        outcome.data(&Pulled {
            fetched: fetched.to_string(),
            operation_id: Some(&id),
            changed: true,
            previous: keep_as.as_deref(),
        });
        outcome.line(format!(
            "The baseline `{name}` is now {} (from {remote}).",
            repo.short_id(fetched)
        ));
        if let Some(prev) = &keep_as {
            outcome.line(format!("Your previous baseline is kept as `{prev}`."));
        }
        outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    }
    Ok(outcome)
}

/// Fetch the remote's baseline tag into our own namespace (the local tag
/// moves only in a journaled operation): the commit or tag object it has.
fn fetch(ctx: &Context, remote: &str, name: &str) -> anyhow::Result<Oid> {
    let repo = &ctx.repo;
    let incoming = format!("refs/rollback/incoming/{name}");
    let spec = format!("+refs/tags/{name}:{incoming}");
    let out = cli::run(
        repo,
        &[
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
            remote,
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
    Ok(fetched)
}

/// The step that sets the local tag to the fetched one; a local tag that
/// differs is replaced only with --force, and kept under a `-prev-` name.
fn set_tag(
    ctx: &Context,
    args: &PullArgs,
    remote: &str,
    name: &str,
    local: Option<Oid>,
    fetched: Oid,
) -> anyhow::Result<PullStep> {
    let repo = &ctx.repo;
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
        keep_as = Some((prev, old));
    }
    Ok(PullStep {
        name: name.to_string(),
        remote: remote.to_string(),
        local,
        fetched: Rev::new(repo, fetched),
        keep_as,
    })
}

/// Setting the local baseline tag to the remote's, the old one (if any)
/// kept under a `-prev-` name: one step, as the journal has always shown it.
#[derive(Debug, Clone)]
struct PullStep {
    name: String,
    remote: String,
    local: Option<Oid>,
    fetched: Rev,
    keep_as: Option<(String, Oid)>,
}

impl Step for PullStep {}

impl fmt::Display for PullStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "set tag {} to {} from {}",
            self.name, self.fetched.short, self.remote
        )
    }
}

/// Carries out `baseline pull`'s step in one operation, whose scope is the
/// baseline tag and the `-prev-` tag that keeps the old one.
struct SetFromRemote {
    refs: Vec<String>,
}

impl Execute<PullStep> for SetFromRemote {
    type Done = ();

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        Ok(Intent::new(
            "baseline pull",
            &ctx.command_line,
            Scope::refs(self.refs.clone()),
        ))
    }

    fn step(
        &mut self,
        _ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &PullStep,
    ) -> anyhow::Result<()> {
        if let Some((prev, old)) = &step.keep_as {
            tx.update_ref(&format!("refs/tags/{prev}"), None, Some(*old))?;
        }
        tx.update_ref(
            &format!("refs/tags/{}", step.name),
            step.local,
            Some(step.fetched.id),
        )
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}
