//! `log show ID`: what one operation changed, and whether `undo` can still
//! restore it (README: `log`, `undo`, `redo`, `status`).
//!
//! Everything comes from what the journal kept: HEAD and the refs in scope
//! from the `begin` and `end` records, the work-tree paths from
//! `ops/<id>/worktree-after` against the `begin` snapshot's tree, the index
//! from the two saved index copies, the stash from the `end` record. An
//! operation whose `end` has no `after` (a journal written by 0.1.0, or one
//! that was interrupted) did not record what it left: those parts are
//! `null` in JSON and said so in text. Nothing is written.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::super::Context;
use super::{display_time, highlight_id, short_id, Relation};
use crate::git::{short, HeadState, Repo, RepoPath};
use crate::journal::after::{self, PathAfter};
use crate::journal::{lock_holder, History, Journal, Location, OpStatus, Operation};
use crate::ui::{quote, Outcome};

/// How many entries of a list the text shows (JSON has them all).
pub const LIST_LIMIT: usize = 50;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operation (an id or a unique prefix of 4 or more characters)
    pub id: String,
}

/// The operation itself, as `log show` describes it.
#[derive(Serialize)]
struct OperationJson<'a> {
    id: &'a str,
    short_id: &'a str,
    kind: &'a str,
    command: &'a str,
    time: &'a str,
    end_time: Option<&'a str>,
    duration_ms: Option<u64>,
    outcome: &'static str,
    error: Option<&'a str>,
    undoes: Option<&'a str>,
    redoes: Option<&'a str>,
    undone_by: Option<&'a str>,
}

#[derive(Serialize)]
struct OperationField<'a> {
    operation: OperationJson<'a>,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let journal = Journal::for_repo(repo);
    let history = journal.history()?;
    let op = history.resolve(&args.id)?;
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    let status = op.status(running);
    let prefixes = history.unique_prefixes();
    let short_id = short_id(op.id(), &prefixes);
    let mut outcome = Outcome::new();
    outcome.paged(crate::pager::for_output(repo, &ctx.ui));

    describe_operation(ctx, &mut outcome, &history, op, status, short_id);
    head_and_refs(&mut outcome, op);
    paths(&mut outcome, repo, &journal, op)?;
    index(&mut outcome, &journal, op)?;
    stash(&mut outcome, repo, op);
    moved(&mut outcome, &journal, op);
    metrics(&mut outcome, ctx, op);
    undo(&mut outcome, repo, &history, op, status);
    Ok(outcome)
}

// ----- the operation ------------------------------------------------------------

/// Its id, command, time and outcome, and what undid or redid it.
fn describe_operation(
    ctx: &Context,
    outcome: &mut Outcome,
    history: &History,
    op: &Operation,
    status: OpStatus,
    short_id: &str,
) {
    let undone_by = history.undone_by(op).map(|u| u.id().to_string());
    let relation = Relation::of(history, op);
    outcome.line(format!(
        "operation {}",
        highlight_id(&ctx.ui, op.id(), short_id.len())
    ));
    outcome.line(format!(
        "  command:  {}",
        crate::ui::one_line(&op.begin.command)
    ));
    let mut when = display_time(&op.begin.time);
    if let Some(end) = &op.end {
        when.push_str(&format!(
            " (ended {}, took {} ms)",
            display_time(&end.time),
            end.duration_ms
        ));
    }
    outcome.line(format!("  time:     {when}"));
    let mut label = status.label().to_string();
    match &relation {
        Relation::Undoes(target) => label.push_str(&format!(", undoes {target}")),
        Relation::Redoes(original) => label.push_str(&format!(", redoes {original}")),
        Relation::Original => {}
    }
    if let Some(by) = &undone_by {
        label.push_str(&format!(", undone by {by}"));
    }
    outcome.line(format!("  outcome:  {label}"));
    let error = op.end.as_ref().and_then(|e| e.error.as_deref());
    if let Some(error) = error {
        outcome.line(format!("  error:    {}", crate::ui::one_line(error)));
    }
    outcome.data(&OperationField {
        operation: OperationJson {
            id: op.id(),
            short_id,
            kind: &op.begin.kind,
            command: &op.begin.command,
            time: &op.begin.time,
            end_time: op.end.as_ref().map(|e| e.time.as_str()),
            duration_ms: op.end.as_ref().map(|e| e.duration_ms),
            outcome: status.label(),
            error,
            undoes: op.begin.undoes.as_deref(),
            redoes: relation.redoes(),
            undone_by: undone_by.as_deref(),
        },
    });
    if op.end.is_none() {
        outcome.line("  It has no end record: what it changed before it stopped was not recorded.");
    } else if op.end.as_ref().is_some_and(|e| e.after.is_none()) {
        outcome.line(
            "  Its journal did not record what it left (written by 0.1.0): only HEAD and refs are known.",
        );
    }
}

// ----- HEAD and refs ----------------------------------------------------------

/// HEAD as the journal writes it: a ref name, or a commit id.
fn head_value(head: &HeadState) -> String {
    match head {
        HeadState::Symbolic(name) | HeadState::Detached(name) => name.clone(),
    }
}

fn head_and_refs(outcome: &mut Outcome, op: &Operation) {
    let old = &op.begin.head;
    let new = op.end.as_ref().and_then(|e| e.head.as_ref());
    let text = match new {
        Some(new) if new == old => format!("HEAD: {} (unchanged)", quote(&old.describe())),
        Some(new) => format!(
            "HEAD: {} → {}",
            quote(&old.describe()),
            quote(&new.describe())
        ),
        None => format!("HEAD: {} → (not recorded)", quote(&old.describe())),
    };
    outcome.line(text);
    outcome.data(&HeadField {
        head: HeadJson {
            old: head_value(old),
            new: new.map(head_value),
        },
    });

    let mut rows = Vec::new();
    if !op.begin.refs.is_empty() {
        outcome.line("Refs:");
    }
    for before in &op.begin.refs {
        let after = op
            .end
            .as_ref()
            .map(|e| e.refs.iter().find(|r| r.name == before.name));
        let name = quote(&before.name);
        let (change, line) = match (&before.value, after) {
            (_, None) => ("unknown", format!("  {name}: not recorded")),
            (old, Some(new)) => {
                let new = new.and_then(|r| r.value.clone());
                match (old, &new) {
                    (None, None) => ("unchanged", format!("  {name}: absent (unchanged)")),
                    (None, Some(n)) => ("created", format!("  created {name} at {}", short(n))),
                    (Some(o), None) => ("deleted", format!("  deleted {name} (was {})", short(o))),
                    (Some(o), Some(n)) if o == n => {
                        ("unchanged", format!("  {name}: {} (unchanged)", short(o)))
                    }
                    (Some(o), Some(n)) => (
                        "moved",
                        format!("  moved {name}: {} → {}", short(o), short(n)),
                    ),
                }
            }
        };
        outcome.line(line);
        let new = after.and_then(|a| a.and_then(|r| r.value.clone()));
        rows.push(RefJson {
            name: &before.name,
            old: before.value.as_deref(),
            new,
            change,
        });
    }
    outcome.data(&RefsField { refs: rows });
}

#[derive(Serialize)]
struct HeadJson {
    old: String,
    new: Option<String>,
}

#[derive(Serialize)]
struct HeadField {
    head: HeadJson,
}

/// One ref the operation had in its scope.
#[derive(Serialize)]
struct RefJson<'a> {
    name: &'a str,
    old: Option<&'a str>,
    new: Option<String>,
    change: &'static str,
}

#[derive(Serialize)]
struct RefsField<'a> {
    refs: Vec<RefJson<'a>>,
}

// ----- the work tree ------------------------------------------------------------

/// Added, modified and deleted paths.
#[derive(Default, Serialize)]
struct PathChanges {
    added: Vec<RepoPath>,
    modified: Vec<RepoPath>,
    deleted: Vec<RepoPath>,
}

fn paths(
    outcome: &mut Outcome,
    repo: &Repo,
    journal: &Journal,
    op: &Operation,
) -> anyhow::Result<()> {
    if !op.begin.scope.worktree {
        outcome.data(&PathsField {
            paths: Some(&PathChanges::default()),
        });
        return Ok(());
    }
    let recorded = op
        .end
        .as_ref()
        .and_then(|e| e.after.as_ref())
        .and_then(|a| a.worktree);
    let (Some(_), Some(saved)) = (recorded, &op.begin.worktree) else {
        outcome.line("Work tree: what it changed was not recorded.");
        outcome.data(&PathsField { paths: None });
        return Ok(());
    };
    let after_paths = match after::read_worktree(journal, op.id()) {
        Ok(paths) => paths,
        Err(e) => {
            outcome.line(format!(
                "Work tree: not known ({})",
                crate::ui::one_line(&format!("{e:#}"))
            ));
            outcome.data(&PathsField { paths: None });
            return Ok(());
        }
    };
    let tree = crate::git::parse_oid(&saved.tree)
        .ok()
        .and_then(|id| repo.inner.find_tree(id).ok());
    let Some(tree) = tree else {
        outcome.line(format!(
            "Work tree: not known (the snapshot tree {} is missing)",
            short(&saved.tree)
        ));
        outcome.data(&PathsField { paths: None });
        return Ok(());
    };
    let changes = compare_paths(&tree, &after_paths)?;
    let total = changes.added.len() + changes.modified.len() + changes.deleted.len();
    if total == 0 {
        outcome.line("Work tree: no path changed.");
    } else {
        outcome.line(format!(
            "Work tree: {} added, {} modified, {} deleted",
            changes.added.len(),
            changes.modified.len(),
            changes.deleted.len()
        ));
        for (label, list) in [
            ("added", &changes.added),
            ("modified", &changes.modified),
            ("deleted", &changes.deleted),
        ] {
            list_lines(
                outcome,
                list.iter().map(|p| format!("  {label:<9}{}", p.quoted())),
            );
        }
    }
    outcome.data(&PathsField {
        paths: Some(&changes),
    });
    Ok(())
}

/// What the operation changed in the work tree (`null`: not known).
#[derive(Serialize)]
struct PathsField<'a> {
    paths: Option<&'a PathChanges>,
}

/// Each path the operation left against the snapshot taken before it.
fn compare_paths(tree: &git2::Tree<'_>, after_paths: &[PathAfter]) -> anyhow::Result<PathChanges> {
    let mut changes = PathChanges::default();
    for entry in after_paths {
        let before = tree
            .get_path(Path::new(entry.path.as_os_str()))
            .ok()
            .filter(|e| e.kind() != Some(git2::ObjectType::Tree))
            .map(|e| (e.filemode() as u32, e.id()));
        let after = entry.file()?.map(|f| (f.mode, f.oid));
        match (before, after) {
            (None, Some(_)) => changes.added.push(entry.path.clone()),
            (Some(_), None) => changes.deleted.push(entry.path.clone()),
            (Some(b), Some(a)) if b != a => changes.modified.push(entry.path.clone()),
            _ => {}
        }
    }
    Ok(changes)
}

/// Lines of a long list: the first [`LIST_LIMIT`], then how many more.
fn list_lines(outcome: &mut Outcome, lines: impl ExactSizeIterator<Item = String>) {
    let total = lines.len();
    for line in lines.take(LIST_LIMIT) {
        outcome.line(line);
    }
    if total > LIST_LIMIT {
        outcome.line(format!("  … and {} more", total - LIST_LIMIT));
    }
}

// ----- the index --------------------------------------------------------------

type IndexEntries = BTreeMap<(Vec<u8>, u16), (u32, String)>;

/// (path, stage) → (mode, blob id) of an index file; empty when absent.
fn index_entries(path: &Path, existed: bool) -> anyhow::Result<IndexEntries> {
    let mut out = BTreeMap::new();
    if !existed {
        return Ok(out);
    }
    let index = git2::Index::open(path).map_err(|e| {
        anyhow::anyhow!(
            "could not read the saved index {}: {}",
            path.display(),
            e.message()
        )
    })?;
    for entry in index.iter() {
        let stage = (entry.flags >> 12) & 0x3;
        out.insert((entry.path, stage), (entry.mode, entry.id.to_string()));
    }
    Ok(out)
}

/// The index saved before the operation and the one it left.
fn saved_indexes(
    journal: &Journal,
    op: &Operation,
    existed: bool,
    after_existed: bool,
) -> anyhow::Result<(IndexEntries, IndexEntries)> {
    let dir = journal.op_dir(op.id());
    let old = dir.join("index");
    if existed && !old.exists() {
        anyhow::bail!("the saved index {} is missing", old.display());
    }
    let new = dir.join("index-after");
    if after_existed && !new.exists() {
        anyhow::bail!("the saved index {} is missing", new.display());
    }
    Ok((
        index_entries(&old, existed)?,
        index_entries(&new, after_existed)?,
    ))
}

fn index(outcome: &mut Outcome, journal: &Journal, op: &Operation) -> anyhow::Result<()> {
    let Some(before) = op.begin.index.as_ref().filter(|_| op.begin.scope.index) else {
        outcome.data(&IndexField {
            index: Some(Vec::new()),
        });
        return Ok(());
    };
    let after_existed = op
        .end
        .as_ref()
        .and_then(|e| e.after.as_ref())
        .and_then(|a| a.index);
    let Some(after_existed) = after_existed else {
        outcome.line("Staged changes: not recorded.");
        outcome.data(&IndexField { index: None });
        return Ok(());
    };
    let (old, new) = match saved_indexes(journal, op, before.existed, after_existed) {
        Ok(pair) => pair,
        Err(e) => {
            outcome.line(format!(
                "Staged changes: not known ({})",
                crate::ui::one_line(&format!("{e:#}"))
            ));
            outcome.data(&IndexField { index: None });
            return Ok(());
        }
    };
    let mut keys: Vec<&(Vec<u8>, u16)> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o == n {
            continue;
        }
        let path = RepoPath::from_bytes(&key.0);
        let stage = if key.1 == 0 {
            String::new()
        } else {
            format!(" (stage {})", key.1)
        };
        let label = match (o, n) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "modified",
        };
        lines.push(format!("  {label:<9}{}{stage}", path.quoted()));
        let side = |v: Option<&(u32, String)>| {
            v.map(|(mode, id)| IndexSide {
                mode: format!("{mode:06o}"),
                oid: id.clone(),
            })
        };
        rows.push(IndexJson {
            path,
            stage: key.1,
            old: side(o),
            new: side(n),
        });
    }
    if rows.is_empty() {
        outcome.line("Staged changes: none.");
    } else {
        outcome.line(format!(
            "Staged changes: {} index {}",
            rows.len(),
            if rows.len() == 1 { "entry" } else { "entries" }
        ));
        list_lines(outcome, lines.into_iter());
    }
    outcome.data(&IndexField { index: Some(rows) });
    Ok(())
}

/// One index entry the operation changed.
#[derive(Serialize)]
struct IndexJson {
    path: RepoPath,
    stage: u16,
    old: Option<IndexSide>,
    new: Option<IndexSide>,
}

#[derive(Serialize)]
struct IndexSide {
    mode: String,
    oid: String,
}

/// What the operation changed in the index (`null`: not known).
#[derive(Serialize)]
struct IndexField {
    index: Option<Vec<IndexJson>>,
}

// ----- the stash ----------------------------------------------------------------

/// The stash list now: commit id → (position, message).
fn stash_list(repo: &Repo) -> BTreeMap<String, (usize, String)> {
    let mut out = BTreeMap::new();
    if let Ok(reflog) = repo.inner.reflog("refs/stash") {
        for (n, entry) in reflog.iter().enumerate() {
            let message =
                String::from_utf8_lossy(entry.message_bytes().unwrap_or_default()).into_owned();
            out.entry(entry.id_new().to_string())
                .or_insert((n, message));
        }
    }
    out
}

fn stash(outcome: &mut Outcome, repo: &Repo, op: &Operation) {
    if !op.begin.scope.stash {
        outcome.data(&StashField {
            stash: Some(StashJson::default()),
        });
        return;
    }
    let change = op
        .end
        .as_ref()
        .and_then(|e| e.after.as_ref())
        .and_then(|a| a.stash.as_ref());
    let Some(change) = change else {
        outcome.line("Stash: what it changed was not recorded.");
        outcome.data(&StashField { stash: None });
        return;
    };
    if change.pushed.is_empty() && change.removed.is_empty() {
        outcome.line("Stash: unchanged.");
    } else {
        outcome.line("Stash:");
    }
    let now = stash_list(repo);
    let mut pushed = Vec::new();
    for id in &change.pushed {
        let (line, position, message) = pushed_entry(repo, &now, id);
        outcome.line(line);
        pushed.push(Pushed {
            commit: id,
            stash: position.map(|n| format!("stash@{{{n}}}")),
            message,
        });
    }
    let mut removed = Vec::new();
    for entry in &change.removed {
        let message = entry.line.split_once('\t').map(|(_, m)| m.to_string());
        let commit = entry.line.split(' ').nth(1).map(str::to_string);
        outcome.line(format!(
            "  removed stash@{{{}}}: {}",
            entry.position,
            crate::ui::one_line(message.as_deref().unwrap_or("(no message)"))
        ));
        removed.push(StashRemoved {
            position: entry.position,
            stash: format!("stash@{{{}}}", entry.position),
            commit,
            message,
        });
    }
    outcome.data(&StashField {
        stash: Some(StashJson { pushed, removed }),
    });
}

/// A stash entry the operation pushed: its line, and its position and
/// message while it is still in the stash list (else its commit's subject).
fn pushed_entry(
    repo: &Repo,
    now: &BTreeMap<String, (usize, String)>,
    id: &str,
) -> (String, Option<usize>, Option<String>) {
    match now.get(id) {
        Some((n, message)) => (
            format!(
                "  pushed stash@{{{n}}}: {} ({})",
                crate::ui::one_line(message),
                short(id)
            ),
            Some(*n),
            Some(message.clone()),
        ),
        None => {
            let message = crate::git::parse_oid(id)
                .ok()
                .and_then(|oid| repo.inner.find_commit(oid).ok())
                .and_then(|c| {
                    c.summary_bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                });
            (
                format!(
                    "  pushed {}{} (no longer in the stash list)",
                    short(id),
                    message
                        .as_deref()
                        .map(|m| format!(": {}", crate::ui::one_line(m)))
                        .unwrap_or_default()
                ),
                None,
                message,
            )
        }
    }
}

/// What the operation changed in the stash (`null`: not known).
#[derive(Serialize)]
struct StashField<'a> {
    stash: Option<StashJson<'a>>,
}

#[derive(Serialize, Default)]
struct StashJson<'a> {
    pushed: Vec<Pushed<'a>>,
    removed: Vec<StashRemoved>,
}

/// A stash entry the operation pushed.
#[derive(Serialize)]
struct Pushed<'a> {
    commit: &'a str,
    stash: Option<String>,
    message: Option<String>,
}

/// A stash entry the operation removed.
#[derive(Serialize)]
struct StashRemoved {
    position: usize,
    stash: String,
    commit: Option<String>,
    message: Option<String>,
}

// ----- moved aside ----------------------------------------------------------------

fn moved(outcome: &mut Outcome, journal: &Journal, op: &Operation) {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for m in &op.moved {
        let (Location::Worktree(from), Location::Aside(to)) = (&m.from, &m.to) else {
            continue;
        };
        let present = std::fs::symlink_metadata(to.under(journal.dir())).is_ok();
        lines.push(format!(
            "  {} → {} ({})",
            from.quoted(),
            crate::ui::quote_bytes(to.under(journal.dir()).as_os_str().as_bytes()),
            if present {
                "still there"
            } else {
                "no longer there"
            }
        ));
        rows.push(MovedJson { from, to, present });
    }
    if !rows.is_empty() {
        outcome.line(format!("Moved aside: {}", rows.len()));
        list_lines(outcome, lines.into_iter());
    }
    outcome.data(&MovedField { moved: rows });
}

/// A path the operation moved aside, and whether it is still there.
#[derive(Serialize)]
struct MovedJson<'a> {
    from: &'a RepoPath,
    to: &'a RepoPath,
    present: bool,
}

#[derive(Serialize)]
struct MovedField<'a> {
    moved: Vec<MovedJson<'a>>,
}

// ----- metrics ----------------------------------------------------------------------

fn metrics(outcome: &mut Outcome, ctx: &Context, op: &Operation) {
    let file = crate::metrics::MetricsFile::new(ctx.repo.workdir(), &ctx.settings.reports_dir);
    let doc = match file.read() {
        Ok(Ok(doc)) => doc,
        Ok(Err(corrupt)) => {
            outcome.line(format!(
                "Metrics: {} cannot be read ({})",
                file.path.display(),
                crate::ui::one_line(&corrupt.reason)
            ));
            outcome.data(&MetricsField { metrics: None });
            return;
        }
        Err(e) => {
            outcome.line(format!(
                "Metrics: {}",
                crate::ui::one_line(&format!("{e:#}"))
            ));
            outcome.data(&MetricsField { metrics: None });
            return;
        }
    };
    let entry: Option<&Map<String, Value>> = doc
        .get("rollbacks")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .find(|e| e.get("operation_id").and_then(Value::as_str) == Some(op.id()))
        });
    match entry {
        Some(entry) => {
            let undone = entry.get("undone").and_then(Value::as_bool) == Some(true);
            let field = |k: &str| {
                entry.get(k).filter(|v| !v.is_null()).map(|v| match v {
                    Value::String(s) => crate::ui::one_line(s),
                    other => other.to_string(),
                })
            };
            let mut parts = Vec::new();
            for (label, key) in [
                ("severity", "severity"),
                ("cause", "cause"),
                ("sprint", "sprint"),
                ("files", "files_changed"),
            ] {
                if let Some(v) = field(key) {
                    parts.push(format!("{label} {v}"));
                }
            }
            outcome.line(format!(
                "Metrics: an entry in {} ({}){}",
                file.path
                    .strip_prefix(ctx.repo.workdir())
                    .unwrap_or(&file.path)
                    .display(),
                parts.join(", "),
                if undone {
                    ", marked undone: statistics leave it out"
                } else {
                    ""
                }
            ));
            outcome.data(&MetricsField {
                metrics: Some(entry),
            });
        }
        None => {
            outcome.data(&MetricsField { metrics: None });
        }
    }
}

/// The operation's entry in `metrics.json`, as it is there.
#[derive(Serialize)]
struct MetricsField<'a> {
    metrics: Option<&'a Map<String, Value>>,
}

// ----- can undo restore it? ------------------------------------------------------------

fn undo(outcome: &mut Outcome, repo: &Repo, history: &History, op: &Operation, status: OpStatus) {
    let (possible, force, reason, blockers) = undo_verdict(repo, history, op, status);
    outcome.line(format!("Undo: {reason}"));
    for line in &blockers {
        outcome.line(format!("  {}", crate::ui::one_line(line)));
    }
    outcome.data(&UndoField {
        undo: UndoJson {
            possible,
            needs_force: force,
            reason: &reason,
            blockers: &blockers,
        },
    });
}

/// Whether `undo` can restore the operation.
#[derive(Serialize)]
struct UndoJson<'a> {
    possible: bool,
    needs_force: bool,
    reason: &'a str,
    blockers: &'a [String],
}

#[derive(Serialize)]
struct UndoField<'a> {
    undo: UndoJson<'a>,
}

/// Whether `undo` can restore the operation: (possible, only with
/// `--force`, why, what is in the way).
fn undo_verdict(
    repo: &Repo,
    history: &History,
    op: &Operation,
    status: OpStatus,
) -> (bool, bool, String, Vec<String>) {
    if status == OpStatus::Running {
        return (false, false, "no: it is still running".into(), Vec::new());
    }
    if let Some(by) = history.undone_by(op) {
        return (
            false,
            false,
            format!("no: undone by {} (redo brings it back)", by.id()),
            Vec::new(),
        );
    }
    if let Err(e) = crate::journal::undo::check_objects(repo, op) {
        let (_, message) = crate::error::describe(&e);
        return (
            false,
            false,
            format!(
                "no: its saved data was released by `log prune` or is missing ({})",
                crate::ui::one_line(&message)
            ),
            Vec::new(),
        );
    }
    let whole = match &op.end {
        None => Some("it was interrupted, so undo restores the whole state saved before it"),
        Some(end) if end.after.is_none() => Some(
            "its journal did not record what it left, so undo restores the whole state saved before it",
        ),
        Some(_) => None,
    };
    let blockers = match crate::journal::undo::blockers(repo, history, op) {
        Ok(b) => b.lines,
        Err(e) => {
            let (_, message) = crate::error::describe(&e);
            return (
                false,
                false,
                format!("not known: {}", crate::ui::one_line(&message)),
                Vec::new(),
            );
        }
    };
    let mut reason = if blockers.is_empty() {
        "yes".to_string()
    } else {
        "only with --force:".to_string()
    };
    if let Some(whole) = whole {
        if blockers.is_empty() {
            reason = format!("yes: {whole}");
        } else {
            reason = format!("only with --force ({whole}):");
        }
    }
    let force = !blockers.is_empty();
    (true, force, reason, blockers)
}
