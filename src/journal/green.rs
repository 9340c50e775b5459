//! The test runs `test` remembers, and the last green state
//! (docs/journal.md, Test runs and the last green state).
//!
//! `<git-dir>/rollback/tests.jsonl` holds one JSON record a line per run
//! (time, HEAD, command, exit code, duration, passed), appended and fsynced
//! as the journal's records are. A passing run names its green state: a
//! commit of the whole work tree (as `checkpoint --wip` makes it, the
//! reports folder left out) whose first parent is HEAD and whose second is
//! a commit of the index's tree, like a stash entry's. The newest passing
//! run's state is the **last green state**, which `last-green` names.
//!
//! Green states are kept alive against `git gc` as the journal keeps its
//! snapshots (see [`super::keep`]): one line each in the reflog of
//! `refs/rollback/green/<name>`, a ref to the empty tree, so that no history
//! view shows them. `log prune` and `rollback.keepDays` release the older
//! ones with the operations; the last green state is never released.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{keep, Journal};
use crate::error::user;
use crate::git::{parse_oid, snapshot, Oid, Repo};

/// The name `last-green` wherever the tool takes a revision.
pub const REV: &str = "last-green";

/// Where the green states' keep refs live (one per journal).
pub const GREEN_PREFIX: &str = "refs/rollback/green/";

/// The file of test runs, in the journal's folder.
pub const LOG: &str = "tests.jsonl";

/// What each green state's keep-reflog line says it is.
const WHAT: &str = "green";

/// One test run, as `tests.jsonl` holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub v: u32,
    /// When it ended (RFC 3339).
    pub time: String,
    /// The commit HEAD resolved to (`None`: no commit yet).
    pub head: Option<String>,
    pub command: String,
    /// `None`: ended by a signal or a timeout.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub passed: bool,
    /// The green state a passing run left (`None` for a failing run, or
    /// when HEAD has no commit yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green: Option<GreenState>,
}

/// A green state: what `last-green` restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreenState {
    /// The first 12 digits of `snapshot`: the id in the keep reflog.
    pub id: String,
    /// HEAD's commit at the run.
    pub head: String,
    /// The commit of the work tree (parents: `head`, then the index's
    /// commit).
    pub snapshot: String,
    /// The work tree's tree (tracked and untracked files).
    pub tree: String,
    /// The index's tree (stage 0).
    pub index_tree: String,
}

impl GreenState {
    pub fn head_oid(&self) -> anyhow::Result<Oid> {
        parse_oid(&self.head)
    }

    pub fn snapshot_oid(&self) -> anyhow::Result<Oid> {
        parse_oid(&self.snapshot)
    }

    pub fn tree_oid(&self) -> anyhow::Result<Oid> {
        parse_oid(&self.tree)
    }

    pub fn index_tree_oid(&self) -> anyhow::Result<Oid> {
        parse_oid(&self.index_tree)
    }
}

/// The green states' keep ref of this work tree's journal.
pub fn ref_name(repo: &Repo) -> String {
    format!("{GREEN_PREFIX}{}", keep::journal_name(repo))
}

fn log_path(repo: &Repo) -> PathBuf {
    Journal::for_repo(repo).dir().join(LOG)
}

/// Every run remembered, oldest first. A torn last line (a crash while
/// appending) is ignored; any other unreadable line is an error naming it.
pub fn runs(repo: &Repo) -> anyhow::Result<Vec<Run>> {
    let path = log_path(repo);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    parse(&bytes).map_err(|n| {
        user(format!(
            "{} line {n} is not a test run record",
            path.display()
        ))
        .hint("move the file aside: it only remembers test runs and the last green state")
        .into()
    })
}

/// The records of `bytes`; `Err(line number)` for an unreadable line that
/// is not a torn last line.
fn parse(bytes: &[u8]) -> Result<Vec<Run>, usize> {
    let mut out = Vec::new();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    for (n, line) in lines.iter().enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<Run>(line) {
            Ok(run) => out.push(run),
            Err(_) if n + 1 == lines.len() && !line.ends_with(b"\n") => {}
            Err(_) => return Err(n + 1),
        }
    }
    Ok(out)
}

/// The newest passing run's green state.
pub fn last_green(runs: &[Run]) -> Option<(&Run, &GreenState)> {
    runs.iter()
        .rev()
        .find_map(|r| r.green.as_ref().filter(|_| r.passed).map(|g| (r, g)))
}

/// Failing runs since the newest passing one (all of them when none passed).
pub fn failures_since_green(runs: &[Run]) -> usize {
    runs.iter().rev().take_while(|r| !r.passed).count()
}

/// The last green state, or the user error every `last-green` gives when
/// there is none.
pub fn resolve(repo: &Repo) -> anyhow::Result<GreenState> {
    let runs = runs(repo)?;
    match last_green(&runs) {
        Some((_, g)) => Ok(g.clone()),
        None => Err(user("no green test run yet")
            .hint("run `git rollback-sprint test` when the tests pass")
            .into()),
    }
}

/// The state a test run tests: HEAD, the work tree's tree and the index's
/// tree.
pub struct Tested {
    pub head: Oid,
    pub tree: Oid,
    pub index_tree: Oid,
    /// Whether the scan cache can describe this scan: not with nested
    /// repositories, unreadable folders, conflicts or a sparse index
    /// (docs/journal.md, The scan cache).
    pub cacheable: bool,
    /// The tracked paths whose work-tree file differs from the index (or
    /// is gone): the scan cache stamps these from the disk, the others
    /// from the index's stat data.
    pub differing: Vec<crate::git::RepoPath>,
}

/// The state the tests are about to run on, the reports folder left as
/// HEAD has it. Writes the blobs and trees of the scan (as `checkpoint
/// --wip`), no ref. `None` when HEAD has no commit yet.
pub fn scan(repo: &Repo, reports: &crate::git::RepoPath) -> anyhow::Result<Option<Tested>> {
    let Some(head) = repo.head_commit()? else {
        return Ok(None);
    };
    let head_tree = repo.commit_tree(head)?;
    let scan = snapshot::scan_worktree(repo)?;
    let cacheable = scan.nested_repos.is_empty()
        && scan.unreadable.is_empty()
        && scan.absent_flagged.is_empty()
        && !scan.has_conflicts
        && !scan.sparse;
    let scan = scan.without_folder(repo, Some(head_tree), reports)?;
    let mut differing = scan.modified;
    differing.extend(scan.deleted);
    Ok(Some(Tested {
        head,
        tree: scan.tree,
        index_tree: scan.index_tree,
        cacheable,
        differing,
    }))
}

/// The green state of a passing run on `tested`: the last green state
/// again when nothing changed since it (no object, no keep entry), else a
/// new one, kept alive and synced before the caller records the run.
/// Returns the state and whether it is a new one.
pub fn make_green(
    repo: &Repo,
    tested: &Tested,
    previous: Option<&GreenState>,
    command: &str,
) -> anyhow::Result<(GreenState, bool)> {
    if let Some(p) = previous {
        if p.head == tested.head.to_string()
            && p.tree == tested.tree.to_string()
            && p.index_tree == tested.index_tree.to_string()
            && repo.has_object(p.snapshot_oid()?)
        {
            return Ok((p.clone(), false));
        }
    }
    let line = crate::ui::one_line(command);
    let index = snapshot::commit_snapshot(
        repo,
        tested.index_tree,
        &[tested.head],
        &format!("index of the green state: {line}\n"),
    )?;
    let commit = snapshot::commit_snapshot(
        repo,
        tested.tree,
        &[tested.head, index],
        &format!("green state: {line} passed\n"),
    )?;
    let id = commit.to_string()[..12].to_string();
    let name = ref_name(repo);
    let mut durable = super::Durable::default();
    keep::append_to(
        repo,
        &name,
        &[keep::Entry {
            oid: commit,
            op: id.clone(),
            what: WHAT.to_string(),
        }],
        &mut durable,
    )?;
    // The objects (the scan's and the two commits) and the keep line are
    // on disk before a record names them.
    durable.objects(repo)?;
    durable.sync()?;
    Ok((
        GreenState {
            id,
            head: tested.head.to_string(),
            snapshot: commit.to_string(),
            tree: tested.tree.to_string(),
            index_tree: tested.index_tree.to_string(),
        },
        true,
    ))
}

/// Append a run to `tests.jsonl` and fsync it (the folder too when the
/// file is new). The caller holds the journal's lock.
pub fn record(repo: &Repo, run: &Run) -> anyhow::Result<()> {
    let path = log_path(repo);
    if let Some(dir) = path.parent() {
        super::create_dir_durable(dir)?;
    }
    let new = !path.exists();
    let mut line = serde_json::to_vec(run).context("could not write a test run record")?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    file.write_all(&line)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("could not write {}", path.display()))?;
    if new {
        if let Some(dir) = path.parent() {
            super::sync_dir(dir)?;
        }
    }
    Ok(())
}

/// Which runs a prune forgets: those older than `older_than_days` (each
/// limit only when given) and beyond the newest `keep` green states —
/// never the last green run, nor anything after it.
pub fn select(
    runs: &[Run],
    keep: Option<usize>,
    older_than_days: Option<u64>,
    now: &DateTime<FixedOffset>,
) -> Vec<usize> {
    let Some(last) = runs.iter().rposition(|r| r.passed && r.green.is_some()) else {
        return Vec::new();
    };
    // The green runs from the newest back, to count `keep` by.
    let mut greens_after = 0;
    let mut chosen = Vec::new();
    for n in (0..last).rev() {
        let run = &runs[n];
        let by_count = keep.is_none_or(|k| greens_after >= k.saturating_sub(1));
        let by_age = older_than_days.is_none_or(|days| {
            DateTime::parse_from_rfc3339(&run.time).is_ok_and(|t| {
                let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400 / 2);
                now.signed_duration_since(t) > chrono::Duration::days(days)
            })
        });
        if by_count && by_age {
            chosen.push(n);
        }
        if run.passed && run.green.is_some() {
            greens_after += 1;
        }
    }
    chosen.reverse();
    chosen
}

/// Forget the runs `select` chose: their green states' keep entries (those
/// no kept run names), then the records (the file rewritten whole). The
/// caller holds the journal's lock. Returns how many green states were
/// released.
pub fn release(repo: &Repo, chosen: &[usize], runs: &[Run]) -> anyhow::Result<usize> {
    if chosen.is_empty() {
        return Ok(0);
    }
    let gone: HashSet<usize> = chosen.iter().copied().collect();
    let released = released_ids(chosen, runs);
    keep::remove_from(repo, &ref_name(repo), &released)?;
    let mut out = Vec::new();
    for (n, run) in runs.iter().enumerate() {
        if !gone.contains(&n) {
            out.extend(serde_json::to_vec(run).context("could not write a test run record")?);
            out.push(b'\n');
        }
    }
    use crate::atomic::{write_atomic, Durability, Mode};
    let path = log_path(repo);
    write_atomic(&path, &out, Durability::Full, Mode::Umask(0o666))
        .with_context(|| format!("could not replace {}", path.display()))?;
    Ok(released.len())
}

/// The green states that forgetting the runs `chosen` releases: those no
/// other run names.
pub fn released_ids(chosen: &[usize], runs: &[Run]) -> HashSet<String> {
    let gone: HashSet<usize> = chosen.iter().copied().collect();
    let kept_ids: HashSet<&str> = runs
        .iter()
        .enumerate()
        .filter(|(n, _)| !gone.contains(n))
        .filter_map(|(_, r)| r.green.as_ref().map(|g| g.id.as_str()))
        .collect();
    chosen
        .iter()
        .filter_map(|&n| runs.get(n).and_then(|r| r.green.as_ref()))
        .map(|g| g.id.clone())
        .filter(|id| !kept_ids.contains(id.as_str()))
        .collect()
}

/// The automatic release of `rollback.keepDays`, with the operations': runs
/// older than `keep_days` before the last green one. Cheap when the oldest
/// run is younger.
pub fn automatic(repo: &Repo, keep_days: u64) -> anyhow::Result<usize> {
    if keep_days == 0 || !first_is_due(repo, keep_days) {
        return Ok(0);
    }
    let runs = runs(repo)?;
    let now = crate::clock::now();
    let chosen = select(&runs, None, Some(keep_days), &now);
    release(repo, &chosen, &runs)
}

/// Whether the first run remembered ended more than `keep_days` + 1 days
/// ago: the first line alone is read, so the check costs the same however
/// many runs there are.
fn first_is_due(repo: &Repo, keep_days: u64) -> bool {
    use std::io::BufRead as _;
    let Ok(file) = fs::File::open(log_path(repo)) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file).read_line(&mut first).is_err() {
        return false;
    }
    let Ok(run) = serde_json::from_str::<Run>(first.trim_end()) else {
        return false;
    };
    let days = i64::try_from(keep_days.saturating_add(1)).unwrap_or(i64::MAX / 86_400 / 2);
    DateTime::parse_from_rfc3339(&run.time)
        .is_ok_and(|t| crate::clock::now().signed_duration_since(t) > chrono::Duration::days(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(day: u32, passed: bool, green: Option<&str>) -> Run {
        Run {
            v: 1,
            time: format!("2026-11-{day:02}T10:00:00+00:00"),
            head: None,
            command: "t".into(),
            exit_code: Some(if passed { 0 } else { 1 }),
            duration_ms: 1,
            passed,
            green: green.map(|id| GreenState {
                id: id.into(),
                head: String::new(),
                snapshot: String::new(),
                tree: String::new(),
                index_tree: String::new(),
            }),
        }
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-30T10:00:00+00:00").unwrap()
    }

    #[test]
    fn failures_are_counted_since_the_last_pass() {
        let runs = vec![
            run(1, false, None),
            run(2, true, Some("a")),
            run(3, false, None),
        ];
        assert_eq!(failures_since_green(&runs), 1);
        assert_eq!(last_green(&runs).map(|(_, g)| g.id.as_str()), Some("a"));
        assert_eq!(failures_since_green(&runs[..1]), 1);
        assert!(last_green(&runs[..1]).is_none());
    }

    #[test]
    fn the_last_green_run_and_what_follows_are_never_selected() {
        let runs = vec![
            run(1, true, Some("a")),
            run(2, false, None),
            run(3, true, Some("b")),
            run(4, false, None),
        ];
        assert_eq!(select(&runs, None, Some(0), &now()), [0, 1]);
        assert_eq!(select(&runs, Some(2), None, &now()), Vec::<usize>::new());
        assert_eq!(select(&runs, Some(1), None, &now()), [0, 1]);
        assert_eq!(select(&runs, None, Some(27), &now()), [0, 1]);
        assert_eq!(select(&runs, None, Some(28), &now()), [0]);
        assert!(select(&runs[1..2], Some(0), None, &now()).is_empty());
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_others_are_errors() {
        let good = serde_json::to_string(&run(1, true, Some("a"))).unwrap();
        let text = format!("{good}\n{{\"v\":1,\"ti");
        assert_eq!(parse(text.as_bytes()).map(|r| r.len()), Ok(1));
        let text = format!("nonsense\n{good}\n");
        assert_eq!(parse(text.as_bytes()).map(|r| r.len()), Err(1));
    }
}
