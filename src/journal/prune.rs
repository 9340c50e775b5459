//! Releasing old operations: `log prune` and `rollback.keepDays`
//! (docs/journal.md).
//!
//! Releasing an operation forgets how to undo it: its records leave the
//! journal (rewritten atomically), its `ops/<id>/` folder (index copy,
//! saved files, moved-aside ignored files) is deleted, and its entries
//! leave the keep reflog, so the next `git gc` may drop its snapshots.
//! What the user can see is never touched: stash entries, branches, tags,
//! the reports folder.
//!
//! Never released: an operation still running, and an interrupted one that
//! is not undone or dismissed (its undo data is what restores the state
//! before it). An undo is released only with what it undoes: an undo left
//! in the journal without its target still reads (its target is simply
//! gone), but a target left without its undo would look not undone.

use std::collections::HashSet;
use std::fs;

use anyhow::Context as _;
use chrono::{DateTime, FixedOffset};

use super::{keep, History, Journal, Operation};
use crate::git::Repo;

/// Which operations to release.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rule {
    /// Keep the newest N operations.
    pub keep: Option<usize>,
    /// Release only operations older than this many days.
    pub older_than_days: Option<u64>,
}

/// What a prune released (or, in a dry run, would release).
#[derive(Debug, Default)]
pub struct Pruned {
    pub released: Vec<String>,
    pub kept: usize,
    /// Bytes of the released operations' `ops/<id>/` folders.
    pub freed_bytes: u64,
}

/// When an operation began, if its time reads.
fn began(op: &Operation) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(&op.begin.time).ok()
}

/// Whether `op` began more than `days` days before `now`.
fn older_than(op: &Operation, days: u64, now: &DateTime<FixedOffset>) -> bool {
    let Some(t) = began(op) else {
        return false;
    };
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400 / 2);
    now.signed_duration_since(t) > chrono::Duration::days(days)
}

/// Whether `op` may be released at all: not running, not an interrupted
/// operation that still waits for `undo` or `--dismiss`.
fn releasable(history: &History, op: &Operation) -> bool {
    op.end.is_some() || history.undone_by(op).is_some()
}

/// The operations `rule` releases, oldest first.
///
/// Undo chains are released so that what stays reads the same: an undo
/// goes only with what it undoes (else that would look not undone), and
/// an undo (or redo) goes only with every operation that undoes it, so
/// that a kept operation whose target is gone is always one hop from an
/// original operation (and `redo` still tells undos from redos).
pub fn select(history: &History, rule: Rule, now: &DateTime<FixedOffset>) -> Vec<String> {
    let ops = history.ops();
    let newest_kept = rule.keep.map_or(ops.len(), |n| ops.len().saturating_sub(n));
    let mut chosen: Vec<bool> = ops
        .iter()
        .enumerate()
        .map(|(n, op)| {
            let by_age = rule
                .older_than_days
                .is_none_or(|days| older_than(op, days, now));
            let by_count = rule.keep.is_none() || n < newest_kept;
            by_age && by_count && releasable(history, op)
        })
        .collect();
    let position: std::collections::HashMap<&str, usize> =
        ops.iter().enumerate().map(|(n, op)| (op.id(), n)).collect();
    // For each operation, the operations that undo it.
    let mut undoers: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
    for (n, op) in ops.iter().enumerate() {
        if let Some(&t) = op.begin.undoes.as_deref().and_then(|id| position.get(id)) {
            undoers[t].push(n);
        }
    }
    loop {
        let mut changed = false;
        for (n, op) in ops.iter().enumerate() {
            if !chosen[n] {
                continue;
            }
            let target_kept = op
                .begin
                .undoes
                .as_deref()
                .and_then(|id| position.get(id))
                .is_some_and(|&t| !chosen[t]);
            let undoer_kept = op.begin.undoes.is_some() && undoers[n].iter().any(|&u| !chosen[u]);
            if target_kept || undoer_kept {
                chosen[n] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    ops.iter()
        .zip(chosen)
        .filter(|(_, c)| *c)
        .map(|(op, _)| op.id().to_string())
        .collect()
}

/// Size of a folder's files (not following symlinks).
fn folder_bytes(dir: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// How many bytes releasing `ids` frees in the journal's folder.
pub fn freed_bytes(journal: &Journal, ids: &[String]) -> u64 {
    ids.iter().map(|id| folder_bytes(&journal.op_dir(id))).sum()
}

/// Release `ids`; the caller holds the journal's lock. In this order, so
/// that a crash part-way never leaves a keep entry no journal names: the
/// keep entries, then the journal records, then the folders.
pub fn release(repo: &Repo, journal: &Journal, ids: &[String]) -> anyhow::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let set: HashSet<String> = ids.iter().cloned().collect();
    crate::trace::phase("prune: keep entries");
    keep::remove(repo, &set)?;
    crate::trace::phase("prune: journal");
    rewrite_journal(journal, &set)?;
    crate::trace::phase("prune: folders");
    let mut freed = 0;
    for id in ids {
        let dir = journal.op_dir(id);
        freed += folder_bytes(&dir);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("could not delete {}", dir.display())),
        }
    }
    if let Ok(dir) = fs::File::open(journal.dir().join("ops")) {
        let _ = dir.sync_all();
    }
    crate::trace::phase("prune: done");
    Ok(freed)
}

/// Drop the records of `ids` from the journal: every other line is kept
/// byte for byte, in a new file in the same folder, synced, renamed over
/// the journal, and the folder synced. A torn last line (a crash while
/// appending) goes; readers ignore it anyway.
fn rewrite_journal(journal: &Journal, ids: &HashSet<String>) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
    }
    let path = journal.file();
    let bytes = fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if !line.ends_with(b"\n") {
            break;
        }
        let drop = serde_json::from_slice::<Id>(line).is_ok_and(|r| ids.contains(r.id.as_ref()));
        if !drop {
            out.extend_from_slice(line);
        }
    }
    use crate::atomic::{write_atomic, Durability, Mode};
    write_atomic(&path, &out, Durability::Full, Mode::Umask(0o666))
        .with_context(|| format!("could not replace {}", path.display()))
}

/// Whether automatic pruning is due: the journal's first operation began
/// more than `keep_days` + 1 days ago. Reads the first record alone, so
/// the check costs the same however long the journal is.
pub fn first_is_due(journal: &Journal, keep_days: u64) -> bool {
    use std::io::BufRead as _;
    if keep_days == 0 {
        return false;
    }
    let Ok(file) = fs::File::open(journal.file()) else {
        return false;
    };
    let mut first = Vec::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let Ok(line) = line else {
            return false;
        };
        if !line.trim_ascii().is_empty() {
            first = line;
            break;
        }
    }
    let Ok(ops) = super::parse_operations(&first) else {
        // Unreadable: the whole journal's reader says why, elsewhere.
        return false;
    };
    ops.first()
        .is_some_and(|op| older_than(op, keep_days.saturating_add(1), &crate::clock::now()))
}

/// Automatic pruning (`rollback.keepDays`), run by a transaction under the
/// lock once the journal is read: nothing at all unless the oldest
/// operation is more than `keep_days` + 1 days old, so the journal is
/// rewritten about once a day at most; then everything older than
/// `keep_days` goes. `keep_days` 0 turns it off. Returns the released ids.
pub fn automatic(
    repo: &Repo,
    journal: &Journal,
    history: &History,
    keep_days: u64,
) -> anyhow::Result<Vec<String>> {
    if keep_days == 0 {
        return Ok(Vec::new());
    }
    let Some(oldest) = history.ops().first() else {
        return Ok(Vec::new());
    };
    let now = crate::clock::now();
    if !older_than(oldest, keep_days.saturating_add(1), &now) {
        return Ok(Vec::new());
    }
    let ids = select(
        history,
        Rule {
            keep: None,
            older_than_days: Some(keep_days),
        },
        &now,
    );
    release(repo, journal, &ids)?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::parse_operations;

    /// Operations `(id, undoes, day of November 2026, ended)`.
    fn history(ops: &[(&str, Option<&str>, u32, bool)]) -> History {
        let mut text = String::new();
        for (id, undoes, day, ended) in ops {
            let undoes = undoes.map_or("null".to_string(), |u| format!("\"{u}\""));
            let time = format!("2026-11-{day:02}T10:00:00+00:00");
            text.push_str(&format!(
                "{{\"type\":\"begin\",\"v\":1,\"id\":\"{id}\",\"time\":\"{time}\",\"kind\":\"k\",\"command\":\"c\",\"pid\":1,\"head\":{{\"detached\":\"{z}\"}},\"scope\":{{}},\"refs\":[],\"undoes\":{undoes}}}\n",
                z = "0".repeat(40)
            ));
            if *ended {
                text.push_str(&format!(
                    "{{\"type\":\"end\",\"v\":1,\"id\":\"{id}\",\"time\":\"{time}\",\"outcome\":\"done\",\"head\":null}}\n"
                ));
            }
        }
        History::new(parse_operations(text.as_bytes()).unwrap())
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-30T10:00:00+00:00").unwrap()
    }

    fn rule(keep: Option<usize>, older_than_days: Option<u64>) -> Rule {
        Rule {
            keep,
            older_than_days,
        }
    }

    #[test]
    fn age_and_count_together() {
        let h = history(&[
            ("aaaa01", None, 1, true),
            ("bbbb01", None, 10, true),
            ("cccc01", None, 20, true),
            ("dddd01", None, 29, true),
        ]);
        assert_eq!(
            select(&h, rule(None, Some(15)), &now()),
            ["aaaa01", "bbbb01"]
        );
        assert_eq!(select(&h, rule(Some(3), None), &now()), ["aaaa01"]);
        assert_eq!(
            select(&h, rule(Some(1), Some(15)), &now()),
            ["aaaa01", "bbbb01"]
        );
        assert_eq!(select(&h, rule(Some(3), Some(15)), &now()), ["aaaa01"]);
        assert!(select(&h, rule(Some(4), Some(0)), &now()).is_empty());
    }

    #[test]
    fn interrupted_operations_stay_until_undone() {
        let h = history(&[("aaaa01", None, 1, false), ("bbbb01", None, 2, true)]);
        assert_eq!(select(&h, rule(Some(0), None), &now()), ["bbbb01"]);
        let h = history(&[
            ("aaaa01", None, 1, false),
            ("bbbb01", Some("aaaa01"), 2, true),
        ]);
        assert_eq!(
            select(&h, rule(Some(0), None), &now()),
            ["aaaa01", "bbbb01"]
        );
    }

    #[test]
    fn undo_chains_go_so_that_what_stays_reads_the_same() {
        // a, its undo b, the redo c.
        let h = history(&[
            ("aaaa01", None, 1, true),
            ("bbbb01", Some("aaaa01"), 2, true),
            ("cccc01", Some("bbbb01"), 3, true),
        ]);
        // a alone may go: b then reads as an undo of a released operation.
        assert_eq!(select(&h, rule(Some(2), None), &now()), ["aaaa01"]);
        // a and b may not go without c, which undoes b.
        assert_eq!(select(&h, rule(Some(1), None), &now()), ["aaaa01"]);
        assert_eq!(
            select(&h, rule(Some(0), None), &now()),
            ["aaaa01", "bbbb01", "cccc01"]
        );
        // b never goes without a.
        let h = history(&[
            ("aaaa01", None, 20, true),
            ("bbbb01", Some("aaaa01"), 2, true),
        ]);
        assert!(select(&h, rule(None, Some(15)), &now()).is_empty());
    }
}
