//! `log`, `log show ID`, `log prune` (SPEC §5.11).

use super::Context;
use crate::journal::{lock_holder, Journal};
use crate::ui::Outcome;

pub mod prune;
pub mod show;

/// How many operations `log` shows unless told otherwise.
pub const DEFAULT_COUNT: usize = 20;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Show at most N operations (also `-n N`, `-N`; default 20)
    #[arg(long = "max-count", value_name = "N", conflicts_with = "all")]
    pub max_count: Option<usize>,
    /// Show every operation in the journal
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// What one operation changed, and whether undo can still restore it
    Show(show::Args),
    /// Release old operations' undo data
    Prune(prune::Args),
}

impl Args {
    pub fn reads_only(&self) -> bool {
        !matches!(self.action, Some(Action::Prune(_)))
    }
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    match &args.action {
        Some(Action::Show(a)) => return show::run(ctx, a),
        Some(Action::Prune(a)) => return prune::run(ctx, a),
        None => {}
    }
    let journal = Journal::for_repo(&ctx.repo);
    let history = journal.history()?;
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    let mut outcome = Outcome::new();
    let mut rows = Vec::new();
    if history.is_empty() {
        outcome.line("The journal is empty: no operation has run in this work tree yet.");
    }
    let count = if args.all {
        usize::MAX
    } else {
        args.max_count.unwrap_or(DEFAULT_COUNT)
    };
    for op in history.ops().iter().rev().take(count) {
        let status = op.status(running);
        let undone = history.undone_by(op).map(|u| u.id().to_string());
        let created = op.refs_created();
        let mut label = status.label().to_string();
        if let Some(by) = &undone {
            label = format!("{label}, undone by {by}");
        }
        let mark = match status.label() {
            "done" => ctx.ui.good(&label),
            _ => ctx.ui.bad(&label),
        };
        outcome.line(format!(
            "{}  {}  {}  [{}]",
            ctx.ui.bold(op.id()),
            op.begin
                .time
                .get(..19)
                .unwrap_or(&op.begin.time)
                .replace('T', " "),
            crate::ui::one_line(&op.begin.command),
            mark
        ));
        for r in &created {
            outcome.line(format!("    created {r}"));
        }
        if let Some(target) = &op.begin.undoes {
            outcome.line(format!("    undoes {target}"));
        }
        if let Some(err) = op.end.as_ref().and_then(|e| e.error.as_ref()) {
            outcome.line(format!("    error: {}", crate::ui::one_line(err)));
        }
        rows.push(serde_json::json!({
            "id": op.id(),
            "time": op.begin.time,
            "command": op.begin.command,
            "kind": op.begin.kind,
            "outcome": status.label(),
            "undone_by": undone,
            "undoes": op.begin.undoes,
            "refs_created": created,
            "duration_ms": op.end.as_ref().map(|e| e.duration_ms),
            "error": op.end.as_ref().and_then(|e| e.error.clone()),
        }));
    }
    outcome.field("operations", rows);
    Ok(outcome)
}
