//! `undo [ID] [--force] [--dismiss]` and `redo` (README: `log`, `undo`, `redo`,
//! `status`; docs/invariants.md, I2 and I4).
//!
//! `undo` without an id walks back through the operations not undone yet,
//! `redo` walks forward through the undos since the newest operation (see
//! [`crate::journal::history`]).

use super::Context;
use crate::error::{user, Exit};
use crate::journal::{self, lock_holder, undo, History, Journal, OpStatus, Operation};
use crate::ui::Outcome;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operation to undo (an id or a unique prefix of 4 or more
    /// characters; default: the newest operation not undone yet)
    pub id: Option<String>,
    /// Undo even what changed since the operation (the current state is recorded first)
    #[arg(long)]
    pub force: bool,
    /// Keep an interrupted operation's result as it is, and stop reporting it
    #[arg(long, conflicts_with = "force")]
    pub dismiss: bool,
}

/// The JSON fields of `undo --dismiss`.
#[derive(Serialize)]
struct Dismissed<'a> {
    dismissed: &'a str,
}

/// The JSON fields of `undo` and `redo`, known before anything runs.
#[derive(Serialize)]
struct Target<'a> {
    undoes: &'a str,
    undone_command: &'a str,
}

/// What a dry run of `undo` or `redo` would do.
#[derive(Serialize)]
struct Planned<'a> {
    plan: &'a [String],
}

/// The JSON fields of an undo or redo that ran.
#[derive(Serialize)]
struct Undone<'a> {
    operation_id: &'a str,
    plan: &'a [String],
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let journal = Journal::for_repo(repo);
    let history = journal.history()?;
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    let mut outcome = Outcome::new();

    if args.dismiss {
        let target = match &args.id {
            Some(id) => history.resolve(id)?,
            None => history
                .pending_interrupted(running)
                .ok_or_else(|| user("there is no interrupted operation to dismiss"))?,
        };
        if target.status(running) != OpStatus::Interrupted {
            return Err(
                user(format!("operation {} was not interrupted", target.id()))
                    .hint("--dismiss only applies to an interrupted operation")
                    .into(),
            );
        }
        outcome.data(&Dismissed {
            dismissed: target.id(),
        });
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

    let target = match &args.id {
        Some(id) => history.resolve(id)?,
        // An interrupted operation comes first: undo is what restores it.
        None => match history.pending_interrupted(running) {
            Some(op) => op,
            None => history.undo_target(running).ok_or_else(|| {
            let what = if history.is_empty() {
                "there is nothing to undo: the journal is empty"
            } else {
                "there is nothing to undo: every operation in the journal is undone"
            };
            user(what).hint("`git rollback-sprint redo` re-applies what was undone; `git rollback-sprint log` lists the operations")
            })?,
        },
    };
    undo_or_redo(ctx, &history, target, args.force, running, "undo")
}

#[derive(Debug, clap::Args)]
pub struct RedoArgs {
    /// Redo even what changed since the undo (the current state is recorded first)
    #[arg(long)]
    pub force: bool,
}

/// `redo`: undo the newest undo that stands since the newest operation.
pub fn redo(ctx: &Context, args: &RedoArgs) -> anyhow::Result<Outcome> {
    let journal = Journal::for_repo(&ctx.repo);
    let history = journal.history()?;
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    let target = history.redo_target().ok_or_else(|| {
        user("there is nothing to redo: no undo since the newest operation")
            .hint("a new operation ends the chain of redos; `git rollback-sprint log` lists what can still be undone by id")
    })?;
    undo_or_redo(ctx, &history, target, args.force, running, "redo")
}

fn undo_or_redo(
    ctx: &Context,
    history: &History,
    target: &Operation,
    force: bool,
    running: Option<u32>,
    verb: &str,
) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let mut outcome = Outcome::new();
    if target.status(running) == OpStatus::Running {
        return Err(user(format!("operation {} is still running", target.id()))
            .hint("wait for it to finish")
            .into());
    }
    // Refused without --force when something changed since: checked by
    // the undo itself (one three-way pass), and by the dry run's plan.
    if ctx.ui.dry_run {
        let blockers = undo::blockers(repo, history, target)?;
        if !blockers.lines.is_empty() && !force {
            return Err(undo::blocked_error(target, &blockers));
        }
    }
    undo::check_other_worktrees(repo, target)?;
    outcome.data(&Target {
        undoes: target.id(),
        undone_command: &target.begin.command,
    });
    let what = if target.begin.undoes.is_some() {
        ("Redo", "Redid")
    } else {
        ("Undo", "Undid")
    };
    if ctx.ui.dry_run {
        dry_run(ctx, history, target, force, what.0, &mut outcome)?;
        return Ok(outcome);
    }
    let (id, plan) = undo::undo(
        repo,
        &ctx.ui,
        history,
        target,
        &ctx.command_line,
        &ctx.settings.reports_dir,
        force,
    )
    .map_err(|e| {
        // A missing object or a refusal is the user's to act on; keep its code.
        if e.downcast_ref::<crate::error::UserError>().is_some() {
            e
        } else {
            anyhow::Error::from(
                user(format!("{verb} failed: {}", crate::error::describe(&e).1)).exit(Exit::Error),
            )
        }
    })?;
    outcome.data(&Undone {
        operation_id: &id,
        plan: &plan,
    });
    outcome.line(format!(
        "{} {} (`{}`):",
        what.1,
        target.id(),
        crate::ui::one_line(&target.begin.command)
    ));
    for step in &plan {
        outcome.line(format!("  {step}"));
    }
    outcome.line(format!(
        "Recorded as operation {id}: `git rollback-sprint undo {id}` takes it back."
    ));
    Ok(outcome)
}

/// What undoing (or redoing) `target` would do, step by step. The steps
/// come from the undo itself (`journal::undo`), which plans the
/// three-way restore.
fn dry_run(
    ctx: &Context,
    history: &History,
    target: &Operation,
    force: bool,
    verb: &str,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let plan = undo::dry_run_plan(&ctx.repo, history, target, force)?;
    outcome.line(format!(
        "Would {} {} (`{}`):",
        verb.to_lowercase(),
        target.id(),
        crate::ui::one_line(&target.begin.command)
    ));
    for step in &plan {
        outcome.line(format!("  {step}"));
    }
    outcome.data(&Planned { plan: &plan });
    Ok(())
}
