//! Keeping the journal's snapshots alive without showing them
//! (docs/journal.md).
//!
//! Every object a `begin` record names (the work-tree snapshot, the index's
//! objects, the old value of each ref in scope, each stash entry) must
//! survive `git gc --prune=now`, `git repack -a -d` and `git maintenance`,
//! yet none may show in `git log --all`, gitk, tig or lazygit.
//!
//! One ref per journal (per work tree), `refs/rollback/keep/<name>`
//! (`main` for the main work tree, the linked worktree's id otherwise),
//! points at the empty *tree*: history views list refs to commits and
//! quietly skip a ref to a tree. Its reflog holds one line per kept object,
//!
//! ```text
//! <oid> <oid> git-rollback-sprint <> 253402300799 +0000\trollback-sprint <op-id> <what>
//! ```
//!
//! and git's `prune`, `repack` and `pack-objects --reflog` treat every
//! reflog entry as a root, so the objects stay.
//!
//! The entries carry a time far in the future (9999-12-31). `git gc` runs
//! `git reflog expire --all`, which drops the entries of a ref whose tip is
//! not a commit once they are older than `gc.reflogExpireUnreachable` (30
//! days by default), long before `rollback.keepDays` (90): an entry with the
//! operation's real time would lose its snapshot to the first `gc` a month
//! later. A future time is never older than any expiry by age, whatever the
//! user configured, and it needs no change to the user's config. Only an
//! explicit `git reflog expire --expire-unreachable=now` (or `all`), or
//! deleting the ref, drops them; `log prune` is the way to release them.
//!
//! Appends happen under the ref's lock (`<ref>.lock`, created exclusively,
//! as git does) and are made durable with the rest of what the `begin`
//! record names, just before it (`Durable`); rewrites (removing entries) write a new log
//! next to the old one, sync it and rename it over.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Durable;
use crate::error::user;
use crate::git::{parse_oid, Oid, Repo};

/// Where the keep refs live.
pub const KEEP_PREFIX: &str = "refs/rollback/keep/";

/// The time written on every entry: 9999-12-31T23:59:59Z, later than any
/// expiry by age (see the module documentation).
pub const FOREVER: i64 = 253_402_300_799;

/// The identity on every entry.
const IDENT: &str = "git-rollback-sprint <>";

/// The start of every entry's message.
const MESSAGE: &str = "rollback-sprint";

/// The empty tree, which every keep ref points at.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// One kept object: the operation that keeps it and what it is
/// (`worktree`, `index`, `ref/<n>`, `stash/<n>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub oid: Oid,
    pub op: String,
    pub what: String,
}

/// The keep ref of this work tree's journal.
pub fn ref_name(repo: &Repo) -> String {
    format!("{KEEP_PREFIX}{}", journal_name(repo))
}

/// `main` for the main work tree; a linked worktree's id (the name of its
/// git directory under `<common>/worktrees/`).
pub fn journal_name(repo: &Repo) -> String {
    let git_dir = repo.git_dir();
    let common = repo.common_dir();
    let same = |a: &Path, b: &Path| {
        a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    };
    if same(git_dir, common) {
        return "main".to_string();
    }
    match git_dir.file_name().and_then(|n| n.to_str()) {
        Some(name) if valid_component(name) && name != "main" => name.to_string(),
        // A git directory elsewhere (not under `worktrees/`) with an odd
        // name: a name that cannot clash with a worktree's id.
        _ => "main-worktree".to_string(),
    }
}

fn valid_component(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with(".lock")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn ref_path(repo: &Repo, name: &str) -> PathBuf {
    repo.common_dir().join(name)
}

fn log_path(repo: &Repo, name: &str) -> PathBuf {
    repo.common_dir().join("logs").join(name)
}

/// The ref's lock, held while its log is written; removed when dropped.
struct RefLock {
    path: PathBuf,
    armed: bool,
}

impl RefLock {
    fn acquire(repo: &Repo, name: &str) -> anyhow::Result<RefLock> {
        let path = ref_path(repo, &format!("{name}.lock"));
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        // git holds a ref's lock for a moment (pack-refs, gc): wait a
        // little, as git does with core.filesRefLockTimeout.
        for attempt in 0..100 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(RefLock { path, armed: true }),
                Err(e) if e.kind() == ErrorKind::AlreadyExists && attempt < 99 => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => break,
                Err(e) => {
                    return Err(e).with_context(|| format!("could not create {}", path.display()))
                }
            }
        }
        Err(user(format!(
            "{} exists: another git process is updating {name}",
            path.display()
        ))
        .hint(format!(
            "wait for it to finish; if no git process is running, remove {}",
            path.display()
        ))
        .into())
    }

    /// Put `bytes` in the lock file and rename it over the ref: creates the
    /// loose ref, as git commits a ref lock.
    fn commit(mut self, bytes: &[u8], to: &Path) -> anyhow::Result<()> {
        fs::write(&self.path, bytes)
            .with_context(|| format!("could not write {}", self.path.display()))?;
        fs::rename(&self.path, to).with_context(|| format!("could not write {}", to.display()))?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for RefLock {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Remove the keep ref's lock left by a process of ours that was killed
/// while it held it (the caller knows: it replaced that process's stale
/// journal lock, and only the holder of the journal lock writes this ref).
pub fn remove_stale_lock(repo: &Repo) {
    let _ = fs::remove_file(ref_path(repo, &format!("{}.lock", ref_name(repo))));
    let _ = fs::remove_file(ref_path(
        repo,
        &format!("{}.lock", super::green::ref_name(repo)),
    ));
}

fn line(entry: &Entry) -> String {
    format!(
        "{oid} {oid} {IDENT} {FOREVER} +0000\t{MESSAGE} {op} {what}\n",
        oid = entry.oid,
        op = entry.op,
        what = entry.what
    )
}

/// Keep `entries` alive: append them to this journal's keep reflog,
/// creating the ref when it does not exist. Not synced here: what was
/// written is noted in `durable`, which the caller syncs before relying on
/// the entries.
pub(crate) fn append(repo: &Repo, entries: &[Entry], durable: &mut Durable) -> anyhow::Result<()> {
    append_to(repo, &ref_name(repo), entries, durable)
}

/// [`append`] to the keep ref `name` (the journal's, or the green states'
/// of `crate::journal::green`).
pub(crate) fn append_to(
    repo: &Repo,
    name: &str,
    entries: &[Entry],
    durable: &mut Durable,
) -> anyhow::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let name = name.to_string();
    let log = log_path(repo, &name);
    let refs = ref_path(repo, &name);
    // The folders first, so that each one made is noted (the lock makes
    // the ref's when it is missing).
    for path in [&log, &refs] {
        if let Some(dir) = path.parent() {
            durable.create_dir_all(dir)?;
        }
    }
    let lock = RefLock::acquire(repo, &name)?;
    let text: String = entries.iter().map(line).collect();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("could not open {}", log.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write {}", log.display()))?;
    drop(file);
    durable.file(&log);
    if repo.ref_target(&name)?.is_none() {
        let empty = repo
            .inner
            .treebuilder(None)
            .and_then(|b| b.write())
            .context("could not write the empty tree")?;
        debug_assert_eq!(empty.to_string(), EMPTY_TREE);
        repo.written().tree(empty);
        lock.commit(format!("{empty}\n").as_bytes(), &refs)?;
        durable.file(&refs);
    }
    Ok(())
}

/// Parse one keep-reflog line: `None` for a line that is not ours.
pub fn parse_line(line: &str) -> Option<Entry> {
    let (head, message) = line.split_once('\t')?;
    let new = head.split(' ').nth(1)?;
    let mut words = message.split(' ');
    if words.next()? != MESSAGE {
        return None;
    }
    let op = words.next()?.to_string();
    let what = words.next().unwrap_or_default().to_string();
    Some(Entry {
        oid: parse_oid(new).ok()?,
        op,
        what,
    })
}

/// Every entry of this journal's keep reflog, oldest first.
pub fn entries(repo: &Repo) -> anyhow::Result<Vec<Entry>> {
    entries_of(repo, &ref_name(repo))
}

/// Every entry of the keep ref `name`'s reflog, oldest first.
pub fn entries_of(repo: &Repo, name: &str) -> anyhow::Result<Vec<Entry>> {
    let log = log_path(repo, name);
    let text = match fs::read(&log) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", log.display())),
    };
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter_map(parse_line)
        .collect())
}

/// Remove every entry of the operations `ops` from this journal's keep
/// reflog: a new log written next to the old one, synced and renamed over
/// it. When no entry is left, the ref and its log are deleted. Returns how
/// many entries were removed.
pub fn remove(repo: &Repo, ops: &HashSet<String>) -> anyhow::Result<usize> {
    remove_from(repo, &ref_name(repo), ops)
}

/// [`remove`] from the keep ref `name`.
pub fn remove_from(repo: &Repo, name: &str, ops: &HashSet<String>) -> anyhow::Result<usize> {
    if ops.is_empty() {
        return Ok(0);
    }
    let name = name.to_string();
    let log = log_path(repo, &name);
    let bytes = match fs::read(&log) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", log.display())),
    };
    let lock = RefLock::acquire(repo, &name)?;
    // Read again under the lock: what we rewrite is what is there now.
    let bytes = fs::read(&log).unwrap_or(bytes);
    let mut kept = Vec::with_capacity(bytes.len());
    let mut removed = 0;
    let mut left = 0;
    for raw in bytes.split_inclusive(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(raw);
        match parse_line(text.trim_end_matches('\n')) {
            Some(entry) if ops.contains(&entry.op) => removed += 1,
            _ => {
                if !text.trim().is_empty() {
                    left += 1;
                }
                kept.extend_from_slice(raw);
            }
        }
    }
    if removed == 0 {
        return Ok(0);
    }
    if left == 0 {
        drop(lock);
        repo.force_ref(&name, None, "rollback-sprint: nothing left to keep")?;
        // libgit2 removes the log with the ref; make sure.
        let _ = fs::remove_file(&log);
        return Ok(removed);
    }
    let tmp = log.with_file_name(format!(
        "{}.lock",
        log.file_name().and_then(|n| n.to_str()).unwrap_or("keep")
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&kept)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("could not write {}", tmp.display()));
    }
    fs::rename(&tmp, &log).with_context(|| format!("could not replace {}", log.display()))?;
    if let Some(dir) = log.parent() {
        super::sync_dir(dir)?;
    }
    drop(lock);
    Ok(removed)
}

/// The keep-alive refs of 0.1.0, `refs/rollback/<id>/…`, whose operation
/// this journal records: moved into the keep reflog (durably), then
/// deleted. Refs of ids this journal does not name are left alone (another
/// work tree's journal may own them). Returns how many refs moved.
pub fn migrate_legacy(repo: &Repo, recorded: &dyn Fn(&str) -> bool) -> anyhow::Result<usize> {
    // Cheap when there is nothing to do: no folder of loose refs other
    // than `keep/` and no packed ref under refs/rollback/.
    if !legacy_refs_may_exist(repo) {
        return Ok(0);
    }
    let mut entries = Vec::new();
    let mut names = Vec::new();
    for (name, oid) in repo.refs_with_prefix("refs/rollback/")? {
        let rest = &name["refs/rollback/".len()..];
        let Some((id, what)) = rest.split_once('/') else {
            continue;
        };
        if id == "keep" || id == "incoming" || id == "green" || !recorded(id) {
            continue;
        }
        entries.push(Entry {
            oid,
            op: id.to_string(),
            what: what.to_string(),
        });
        names.push(name);
    }
    if entries.is_empty() {
        return Ok(0);
    }
    let mut durable = Durable::default();
    append(repo, &entries, &mut durable)?;
    durable.objects(repo)?;
    durable.sync()?;
    for name in &names {
        repo.force_ref(name, None, "rollback-sprint: moved into the keep reflog")?;
    }
    Ok(names.len())
}

fn legacy_refs_may_exist(repo: &Repo) -> bool {
    let loose = fs::read_dir(repo.common_dir().join("refs/rollback"))
        .map(|dir| {
            dir.flatten().any(|e| {
                e.file_name() != "keep" && e.file_name() != "incoming" && e.file_name() != "green"
            })
        })
        .unwrap_or(false);
    loose
        || fs::read(repo.common_dir().join("packed-refs")).is_ok_and(|bytes| {
            String::from_utf8_lossy(&bytes).lines().any(|l| {
                l.split_once(' ').is_some_and(|(_, name)| {
                    name.starts_with("refs/rollback/")
                        && !name.starts_with(KEEP_PREFIX)
                        && !name.starts_with("refs/rollback/incoming/")
                        && !name.starts_with("refs/rollback/green/")
                })
            })
        })
}
