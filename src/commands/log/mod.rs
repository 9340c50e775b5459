//! `log`, `log show ID`, `log prune` (README: `log`, `undo`, `redo`, `status`).

use std::collections::HashMap;

use super::Context;
use crate::journal::{lock_holder, History, Journal, OpStatus, Operation};
use crate::ui::{Outcome, Ui};
use serde::Serialize;

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

/// One operation's lines, and its row in JSON.
fn list_one<'a>(
    ctx: &Context,
    outcome: &mut Outcome,
    history: &'a History,
    op: &'a Operation,
    running: Option<u32>,
    prefixes: &HashMap<&str, usize>,
) -> Row<'a> {
    let status = op.status(running);
    let undone = history.undone_by(op).map(|u| u.id().to_string());
    let relation = Relation::of(history, op);
    let created = op.refs_created();
    let mut label = status.label().to_string();
    match &relation {
        Relation::Undoes(target) => label.push_str(&format!(", undoes {target}")),
        Relation::Redoes(original) => label.push_str(&format!(", redoes {original}")),
        Relation::Original => {}
    }
    if let Some(by) = &undone {
        label.push_str(&format!(", undone by {by}"));
    }
    let mark = match status {
        OpStatus::Done if undone.is_none() => ctx.ui.good(&label),
        OpStatus::Done | OpStatus::Dismissed | OpStatus::Running => label.clone(),
        OpStatus::Failed | OpStatus::Interrupted => ctx.ui.bad(&label),
    };
    let short = short_id(op.id(), prefixes);
    outcome.line(format!(
        "{}  {}  {}  [{}]",
        highlight_id(&ctx.ui, op.id(), short.len()),
        display_time(&op.begin.time),
        crate::ui::one_line(&op.begin.command),
        mark
    ));
    for r in &created {
        outcome.line(format!("    created {}", crate::ui::quote(r)));
    }
    if let Some(err) = op.end.as_ref().and_then(|e| e.error.as_ref()) {
        outcome.line(format!("    error: {}", crate::ui::one_line(err)));
    }
    Row {
        id: op.id(),
        short_id: short,
        time: &op.begin.time,
        command: &op.begin.command,
        kind: &op.begin.kind,
        outcome: status.label(),
        undone_by: undone,
        undoes: op.begin.undoes.as_deref(),
        redoes: relation.redoes().map(str::to_string),
        refs_created: created,
        duration_ms: op.end.as_ref().map(|e| e.duration_ms),
        error: op.end.as_ref().and_then(|e| e.error.as_deref()),
    }
}

/// The JSON fields of `log`.
#[derive(Serialize)]
struct Listed<'a> {
    operations: Vec<Row<'a>>,
    total: usize,
    older: usize,
}

/// One operation as `log` lists it.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    short_id: &'a str,
    time: &'a str,
    command: &'a str,
    kind: &'a str,
    outcome: &'static str,
    undone_by: Option<String>,
    undoes: Option<&'a str>,
    redoes: Option<String>,
    refs_created: Vec<String>,
    duration_ms: Option<u64>,
    error: Option<&'a str>,
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
    let prefixes = history.unique_prefixes();
    let mut outcome = Outcome::new();
    outcome.paged(crate::pager::for_output(&ctx.repo, &ctx.ui));
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
        rows.push(list_one(
            ctx,
            &mut outcome,
            &history,
            op,
            running,
            &prefixes,
        ));
    }
    let older = history.len().saturating_sub(count);
    if older > 0 {
        outcome.line(format!(
            "… {older} older operation{}: `git rollback-sprint log --all` shows them",
            if older == 1 { "" } else { "s" }
        ));
    }
    outcome.data(&Listed {
        operations: rows,
        total: history.len(),
        older,
    });
    Ok(outcome)
}

/// How an operation stands to the one it undoes, if any.
pub(crate) enum Relation {
    /// Not an undo or a redo.
    Original,
    /// An undo: the operation it undoes.
    Undoes(String),
    /// A redo (an undo of an undo): the original operation it brings back.
    Redoes(String),
}

impl Relation {
    pub(crate) fn of(history: &History, op: &Operation) -> Relation {
        let Some(target) = &op.begin.undoes else {
            return Relation::Original;
        };
        let (original, hops) = history.original_of(op);
        if hops >= 2 && hops % 2 == 0 {
            Relation::Redoes(original.id().to_string())
        } else {
            Relation::Undoes(target.clone())
        }
    }

    pub(crate) fn redoes(&self) -> Option<&str> {
        match self {
            Relation::Redoes(original) => Some(original),
            _ => None,
        }
    }
}

/// The shortest unique prefix of `id` (at least 4 characters).
pub(crate) fn short_id<'a>(id: &'a str, prefixes: &HashMap<&str, usize>) -> &'a str {
    let len = prefixes.get(id).copied().unwrap_or(id.len());
    id.get(..len).unwrap_or(id)
}

/// The id with its unique prefix bold and coloured and the rest dim; the
/// plain id without colour.
pub(crate) fn highlight_id(ui: &Ui, id: &str, prefix: usize) -> String {
    if !ui.color_enabled() {
        return id.to_string();
    }
    let (head, tail) = id.split_at(prefix.min(id.len()));
    let mut out = ui.paint(head, crate::ui::style::ID);
    if !tail.is_empty() {
        out.push_str(&ui.paint(tail, crate::ui::style::DIM));
    }
    out
}

/// `2026-11-21 10:04:05` from an RFC 3339 time.
pub(crate) fn display_time(time: &str) -> String {
    time.get(..19).unwrap_or(time).replace('T', " ")
}
