//! `undo [ID] [--force] [--dismiss]` and `redo` (README: `log`, `undo`, `redo`,
//! `status`; docs/invariants.md, I2 and I4).
//!
//! `undo` without an id walks back through the operations not undone yet,
//! `redo` walks forward through the undos since the newest operation (see
//! [`crate::journal::history`]).

use std::fmt;

use super::Context;
use crate::error::{user, Exit};
use crate::journal::{self, lock_holder, undo, History, Journal, OpStatus, Operation};
use crate::plan::{carry_out, Carried, Execute, Phase, Plan, Step};
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

/// The JSON fields of an undo or redo that ran.
#[derive(Serialize)]
struct Undone<'a> {
    operation_id: &'a str,
    plan: &'a [String],
}

/// `undo --dismiss`'s one step: the interrupted operation's `end` record,
/// written outside any transaction (it is the journal's own record, not
/// repository state an undo puts back).
struct Dismiss<'a> {
    target: &'a Operation,
}

impl fmt::Display for Dismiss<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mark {} as dismissed and keep the current state.",
            self.target.id()
        )
    }
}

impl Step for Dismiss<'_> {
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

struct Dismissing;

impl Execute<Dismiss<'_>> for Dismissing {
    type Done = ();

    fn outside(
        &mut self,
        ctx: &Context,
        step: &Dismiss<'_>,
        _: &mut Outcome,
    ) -> anyhow::Result<()> {
        journal::dismiss(&ctx.repo, step.target, &ctx.command_line)
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<()> {
        Ok(())
    }
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
        let mut plan = Plan::new();
        plan.push(Dismiss { target });
        plan.one_line = true;
        if let Carried::DryRun = carry_out(ctx, &plan, Dismissing, &mut outcome)? {
            return Ok(outcome);
        }
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
    // Refused without --force when something changed since: checked while
    // the undo is planned (one three-way pass).
    if !ctx.ui.dry_run {
        undo::check_other_worktrees(repo, target)?;
    }
    outcome.data(&Target {
        undoes: target.id(),
        undone_command: &target.begin.command,
    });
    let what = if target.begin.undoes.is_some() {
        ("Redo", "Redid")
    } else {
        ("Undo", "Undid")
    };
    let carried = (|| {
        let (mut plan, undoing) = undo::prepare(
            repo,
            history,
            target,
            &ctx.settings.reports_dir,
            &ctx.command_line,
            force,
            ctx.ui.dry_run,
        )?;
        plan.heading = Some(format!(
            "Would {} {} (`{}`):",
            what.0.to_lowercase(),
            target.id(),
            crate::ui::one_line(&target.begin.command)
        ));
        let carried = carry_out(ctx, &plan, undoing, &mut outcome)?;
        Ok::<_, anyhow::Error>((plan.lines(), carried))
    })();
    let (plan, carried) = carried.map_err(|e| failed(ctx, verb, e))?;
    match carried {
        Carried::DryRun => {}
        Carried::Done { id, .. } => report(&mut outcome, what.1, target, &id, &plan),
        Carried::Nothing | Carried::Unjournaled(_) => {
            anyhow::bail!("internal error: an undo ran outside its transaction")
        }
    }
    Ok(outcome)
}

/// An undo's failure as the user sees it: a missing object or a refusal
/// is the user's to act on and keeps its code (a dry run's error is its
/// own); anything else is "undo failed: …".
fn failed(ctx: &Context, verb: &str, e: anyhow::Error) -> anyhow::Error {
    if ctx.ui.dry_run || e.downcast_ref::<crate::error::UserError>().is_some() {
        e
    } else {
        anyhow::Error::from(
            user(format!("{verb} failed: {}", crate::error::describe(&e).1)).exit(Exit::Error),
        )
    }
}

/// What an undo or redo that ran reports: the steps it took and the
/// operation that records it.
fn report(outcome: &mut Outcome, done: &str, target: &Operation, id: &str, plan: &[String]) {
    outcome.data(&Undone {
        operation_id: id,
        plan,
    });
    outcome.line(format!(
        "{done} {} (`{}`):",
        target.id(),
        crate::ui::one_line(&target.begin.command)
    ));
    for step in plan {
        outcome.line(format!("  {step}"));
    }
    outcome.line(format!(
        "Recorded as operation {id}: `git rollback-sprint undo {id}` takes it back."
    ));
}
