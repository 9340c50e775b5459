//! `undo [ID] [--force] [--dismiss]` (SPEC §5.11, §2 I2 and I4).

use super::Context;
use crate::error::{user, Exit};
use crate::journal::{self, lock_holder, undo, Journal, OpStatus};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operation to undo (an id or a unique prefix; default: the latest)
    pub id: Option<String>,
    /// Undo even when refs moved since or later operations changed the same things
    #[arg(long)]
    pub force: bool,
    /// Keep an interrupted operation's result as it is, and stop reporting it
    #[arg(long, conflicts_with = "force")]
    pub dismiss: bool,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let journal = Journal::for_repo(repo);
    let ops = journal.operations()?;
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    let mut outcome = Outcome::new();

    if args.dismiss {
        let target = match &args.id {
            Some(id) => undo::select(&ops, Some(id))?,
            None => journal::pending_interrupted(&ops, running)
                .ok_or_else(|| user("there is no interrupted operation to dismiss"))?,
        };
        if target.status(running) != OpStatus::Interrupted {
            return Err(
                user(format!("operation {} was not interrupted", target.id()))
                    .hint("--dismiss only applies to an interrupted operation")
                    .into(),
            );
        }
        outcome.field("dismissed", target.id());
        if ctx.ui.dry_run {
            outcome.line(format!(
                "Would mark {} as dismissed and keep the current state.",
                target.id()
            ));
            return Ok(outcome);
        }
        journal::dismiss(repo, target, &ctx.command_line)?;
        outcome.line(format!(
            "Dismissed {}: the repository stays as it is. `git rollback-sprint undo {}` can still restore the state before it.",
            target.id(),
            target.id()
        ));
        return Ok(outcome);
    }

    let target = undo::select(&ops, args.id.as_deref())?;
    if target.status(running) == OpStatus::Running {
        return Err(user(format!("operation {} is still running", target.id()))
            .hint("wait for it to finish")
            .into());
    }
    let blockers = undo::blockers(repo, &ops, target)?;
    if !blockers.lines.is_empty() && !args.force {
        return Err(undo::blocked_error(target, &blockers));
    }
    undo::check_other_worktrees(repo, target)?;
    outcome
        .field("undoes", target.id())
        .field("undone_command", target.begin.command.as_str());
    if ctx.ui.dry_run {
        let plan = undo::plan(repo, target, true)?;
        outcome.line(format!(
            "Would undo {} (`{}`):",
            target.id(),
            crate::ui::one_line(&target.begin.command)
        ));
        for step in &plan {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", plan);
        return Ok(outcome);
    }
    let (id, plan) = undo::undo(
        repo,
        &ctx.ui,
        &ops,
        target,
        &ctx.command_line,
        &ctx.settings.reports_dir,
    )
    .map_err(|e| {
        // A missing object or a refusal is the user's to act on; keep its code.
        if e.downcast_ref::<crate::error::UserError>().is_some() {
            e
        } else {
            anyhow::Error::from(
                user(format!("undo failed: {}", crate::error::describe(&e).1)).exit(Exit::Error),
            )
        }
    })?;
    outcome
        .field("operation_id", id.as_str())
        .field("plan", plan.clone());
    let what = if target.begin.undoes.is_some() {
        "Redid"
    } else {
        "Undid"
    };
    outcome.line(format!(
        "{what} {} (`{}`):",
        target.id(),
        crate::ui::one_line(&target.begin.command)
    ));
    for step in &plan {
        outcome.line(format!("  {step}"));
    }
    outcome.line(format!(
        "The state before this undo is saved as operation {id}: `git rollback-sprint undo` brings it back."
    ));
    Ok(outcome)
}
