//! `log`: the journal, newest first (SPEC §5.11).

use super::Context;
use crate::journal::{lock_holder, undo, Journal};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show at most N operations
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let journal = Journal::for_repo(&ctx.repo);
    let ops = journal.operations()?;
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    let mut outcome = Outcome::new();
    let mut rows = Vec::new();
    if ops.is_empty() {
        outcome.line("The journal is empty: no operation has run in this work tree yet.");
    }
    for op in ops.iter().rev().take(args.limit.unwrap_or(usize::MAX)) {
        let status = op.status(running);
        let undone = undo::undone_by(&ops, op).map(|u| u.id().to_string());
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
