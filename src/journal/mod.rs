//! The operation journal: invariants I1, I2, I4, I5 and I7 of
//! docs/invariants.md.
//!
//! One append-only file, `<git-dir>/rollback/journal.jsonl`, one JSON record
//! a line, fsynced before the command changes anything:
//!
//! * `begin` — who, what, and everything needed to put the repository back:
//!   HEAD, the old value of each ref the command will touch, the index (a
//!   byte copy in `ops/<id>/index`), the work tree (a snapshot commit), the
//!   stash reflog (a byte copy). Objects are kept alive by entries in the
//!   journal's keep reflog (`refs/rollback/keep/<name>`, see [`keep`]) so
//!   `git gc` never drops them and `git log --all` never shows them.
//! * `moved` — a path moved aside (ignored files, things in the way), written
//!   before the rename, so a crash never loses track of it.
//! * `end` — done, failed or dismissed, with the refs' new values.
//!
//! A `begin` without an `end` (and no live process holding the lock) is an
//! interrupted operation: every command reports it, and `undo` restores the
//! state before it. Undo is an operation like any other, so undoing an undo
//! is a redo. Each work tree (linked worktrees included) has its own journal,
//! because each has its own HEAD and index.
//!
//! This module is the only door to the repository: the mutators (see
//! `door.rs`, the work-tree writer, the index lock) are reachable from here
//! alone, and libgit2's own writing calls, which clippy refuses elsewhere
//! (`clippy.toml`), are allowed here.
#![allow(clippy::disallowed_methods)]

pub mod after;
pub mod descends;
mod door;
mod durable;
pub mod green;
pub mod history;
pub mod keep;
mod lock;
pub mod prune;
pub mod scancache;
pub mod threeway;
mod transaction;
pub mod undo;
mod worktree;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::{user, Exit};
use crate::git::snapshot::ModeRecord;
use crate::git::{HeadState, Repo, RepoPath};

pub use door::forget_fetched;
pub(crate) use durable::Durable;
pub use history::History;
pub use lock::{acquire as acquire_lock, lock_holder, Lock, LockInfo};
pub(crate) use transaction::refuse_aside_across_filesystems;
pub use transaction::{dismiss, take_lock, Intent, KnownPath, KnownWorktree, Transaction};

/// The journal format version this build writes and reads.
pub const VERSION: u32 = 1;

/// The kind of the operations of `rescue restore`, which write only new
/// files of their own (in the reports folder unless `--to` says): their
/// undo takes those files away again, reports folder or not.
pub const RESCUE_KIND: &str = "rescue";

/// `ops/<id>/paths`: a long [`Scope::paths`] list, NUL-separated.
pub const PATHS_FILE: &str = "paths";

/// A scope with more paths than this keeps them in [`PATHS_FILE`], so that
/// the journal's lines stay short (an undo of a large rollback limits its
/// work tree to the thousands of paths it writes back).
pub const INLINE_PATHS: usize = 64;

/// What an operation may change; decides what its `begin` record saves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub head: bool,
    #[serde(default)]
    pub index: bool,
    #[serde(default)]
    pub worktree: bool,
    #[serde(default)]
    pub stash: bool,
    #[serde(default)]
    pub refs: Vec<String>,
    /// Limits the work tree (and what undo restores of it) to these paths;
    /// empty means the whole work tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<RepoPath>,
    /// The paths are too many for one journal line: they are in
    /// `ops/<id>/paths` instead (see [`Journal::scope_paths`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paths_file: bool,
    /// With `paths`: directories the operation may make or remove while
    /// empty (an undo puts back the empty directories an operation took
    /// away). Only whether each is an empty directory is saved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<RepoPath>,
    /// The tool's own state files, relative to the journal's folder (the
    /// list of commits a recovery has still to pick): saved in `begin`,
    /// put back by undo like the index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

impl Scope {
    pub fn refs(refs: Vec<String>) -> Scope {
        Scope {
            refs,
            ..Scope::default()
        }
    }

    pub fn overlaps(&self, other: &Scope) -> bool {
        (self.head && other.head)
            || ((self.index || self.worktree) && (other.index || other.worktree))
            || (self.stash && other.stash)
            || self.refs.iter().any(|r| other.refs.contains(r))
            || self.files.iter().any(|f| other.files.contains(f))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefValue {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedIndex {
    /// Whether there was an index file (a fresh repository has none).
    pub existed: bool,
    /// A tree holding every object the index names (see `git::index`).
    pub keepalive: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedWorktree {
    /// A commit whose tree is the whole work tree (not ignored files).
    pub snapshot: String,
    pub tree: String,
    #[serde(default)]
    pub empty_dirs: Vec<RepoPath>,
    #[serde(default)]
    pub modes: Vec<ModeRecord>,
    #[serde(default)]
    pub untracked: usize,
    #[serde(default)]
    pub dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedStash {
    pub value: Option<String>,
    /// Whether `logs/refs/stash` existed (copied to `ops/<id>/stash-reflog`).
    pub reflog: bool,
}

/// One of the scope's state files: whether it existed (then its bytes are
/// in `ops/<id>/files/<name>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFile {
    pub name: String,
    pub existed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Begin {
    pub v: u32,
    pub id: String,
    pub time: String,
    /// The command's name (`checkpoint`, `undo`, …).
    pub kind: String,
    /// The command line as typed.
    pub command: String,
    pub pid: u32,
    pub head: HeadState,
    pub scope: Scope,
    pub refs: Vec<RefValue>,
    #[serde(default)]
    pub index: Option<SavedIndex>,
    #[serde(default)]
    pub worktree: Option<SavedWorktree>,
    #[serde(default)]
    pub stash: Option<SavedStash>,
    #[serde(default)]
    pub plan: Vec<String>,
    #[serde(default)]
    pub undoes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<SavedFile>,
}

/// Where a moved path is: in the work tree, or set aside under
/// `<git-dir>/rollback/` (a path relative to that folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Worktree(RepoPath),
    Aside(RepoPath),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Moved {
    pub v: u32,
    pub id: String,
    pub from: Location,
    pub to: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOutcome {
    Done,
    Failed,
    /// An interrupted operation the user chose to keep as it is.
    Dismissed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct End {
    pub v: u32,
    pub id: String,
    pub time: String,
    pub outcome: EndOutcome,
    #[serde(default)]
    pub error: Option<String>,
    pub head: Option<HeadState>,
    #[serde(default)]
    pub refs: Vec<RefValue>,
    #[serde(default)]
    pub duration_ms: u64,
    /// Anything the command wants to remember (metrics entry, branches…).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// What the operation left, for a three-way undo (none in journals
    /// written by 0.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<after::After>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Begin(Box<Begin>),
    Moved(Moved),
    End(Box<End>),
}

impl Record {
    fn version(&self) -> u32 {
        match self {
            Record::Begin(b) => b.v,
            Record::Moved(m) => m.v,
            Record::End(e) => e.v,
        }
    }

    /// What in a record that parsed is not something git could have (undo
    /// would point HEAD or move refs to it), if anything.
    fn malformed(&self) -> Option<String> {
        let (head, refs) = match self {
            Record::Begin(b) => (Some(&b.head), &b.refs),
            Record::End(e) => (e.head.as_ref(), &e.refs),
            Record::Moved(_) => return None,
        };
        if let Some(head) = head.filter(|h| !h.is_well_formed()) {
            return Some(format!("HEAD {head:?} is neither a ref nor an object id"));
        }
        refs.iter().find_map(|r| {
            if !crate::git::is_ref_name(&r.name) {
                Some(format!("`{}` is not a ref name", r.name))
            } else if r
                .value
                .as_deref()
                .is_some_and(|v| !crate::git::is_object_id(v))
            {
                Some(format!("the value of {} is not an object id", r.name))
            } else {
                None
            }
        })
    }
}

/// One operation as read back from the journal.
#[derive(Debug, Clone)]
pub struct Operation {
    pub begin: Begin,
    pub moved: Vec<Moved>,
    pub end: Option<End>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpStatus {
    Done,
    Failed,
    Interrupted,
    Dismissed,
    /// Began, and a live process still holds the lock.
    Running,
}

impl OpStatus {
    pub fn label(self) -> &'static str {
        match self {
            OpStatus::Done => "done",
            OpStatus::Failed => "failed",
            OpStatus::Interrupted => "interrupted",
            OpStatus::Dismissed => "dismissed",
            OpStatus::Running => "running",
        }
    }
}

impl Operation {
    pub fn id(&self) -> &str {
        &self.begin.id
    }

    pub fn status(&self, running_pid: Option<u32>) -> OpStatus {
        match &self.end {
            Some(end) => match end.outcome {
                EndOutcome::Done => OpStatus::Done,
                EndOutcome::Failed => OpStatus::Failed,
                EndOutcome::Dismissed => OpStatus::Dismissed,
            },
            None if running_pid == Some(self.begin.pid) => OpStatus::Running,
            None => OpStatus::Interrupted,
        }
    }

    /// Refs this operation created (they did not exist before it).
    pub fn refs_created(&self) -> Vec<String> {
        let Some(end) = &self.end else {
            return Vec::new();
        };
        self.begin
            .refs
            .iter()
            .filter(|old| old.value.is_none())
            .filter(|old| {
                end.refs
                    .iter()
                    .any(|new| new.name == old.name && new.value.is_some())
            })
            .map(|r| r.name.clone())
            .collect()
    }
}

/// What tells one state of the journal file from another: length, inode,
/// device and modification time (`None`: there is no file).
type FileKey = Option<(u64, u64, u64, i64, i64)>;

/// The journal of one work tree.
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub fn for_repo(repo: &Repo) -> Journal {
        Journal {
            dir: repo.git_dir().join("rollback"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// `<git-dir>/rollback/ops/<id>`: the operation's saved files.
    /// The paths `begin` limited its work tree to, read from
    /// `ops/<id>/paths` when they were too many for the journal line.
    pub fn scope_paths(&self, begin: &Begin) -> anyhow::Result<Vec<RepoPath>> {
        if !begin.scope.paths_file {
            return Ok(begin.scope.paths.clone());
        }
        let path = self.op_dir(&begin.id).join(PATHS_FILE);
        let bytes = fs::read(&path)
            .with_context(|| format!("the path list {} is missing", path.display()))?;
        Ok(bytes
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(RepoPath::from_bytes)
            .collect())
    }

    pub fn op_dir(&self, id: &str) -> PathBuf {
        self.dir.join("ops").join(id)
    }

    /// The journal read back (see [`parse_operations`]); a journal that
    /// cannot be read is refused rather than guessed at. Parsed once per
    /// process while the file stays the same: every later call returns the
    /// same history until a record is appended or the file is replaced.
    pub fn history(&self) -> anyhow::Result<Arc<History>> {
        use std::os::unix::fs::MetadataExt;
        static CACHE: Mutex<Option<(PathBuf, FileKey, Arc<History>)>> = Mutex::new(None);
        let path = self.file();
        let key = match fs::metadata(&path) {
            Ok(m) => Some((m.len(), m.ino(), m.dev(), m.mtime(), m.mtime_nsec())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached_path, cached_key, history)) = cache.as_ref() {
            if *cached_path == path && *cached_key == key {
                return Ok(Arc::clone(history));
            }
        }
        crate::trace::phase("journal: reading it whole");
        let history = Arc::new(History::new(self.read_operations()?));
        crate::trace::phase("journal: read whole");
        *cache = Some((path, key, Arc::clone(&history)));
        Ok(history)
    }

    /// The newest part of the journal, enough to answer what every command
    /// asks before it acts: which operation is interrupted or running, and
    /// which recent ones are undone. Read from the end of the file, so its
    /// cost does not grow with the journal's length; the whole journal is
    /// read instead when the part read is not enough (see [`sufficient`]).
    /// [`History::is_partial`] says which one it is.
    pub fn recent_history(&self) -> anyhow::Result<Arc<History>> {
        use std::os::unix::fs::FileExt;
        let path = self.file();
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.history(),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let meta = file
            .metadata()
            .with_context(|| format!("could not read {}", path.display()))?;
        let len = meta.len();
        // The lines before this were found to look like records already.
        let checked = self.checked(&file, &meta);
        let checked_len = checked.as_ref().map_or(0, |c| c.len);
        let mut size: u64 = 256 * 1024;
        while size < len {
            let start = (len - size).min(checked_len);
            let mut bytes = vec![0u8; (len - start) as usize];
            file.read_exact_at(&mut bytes, start)
                .with_context(|| format!("could not read {}", path.display()))?;
            // From the first whole line on.
            let from = (len - size - start) as usize;
            let Some(cut) = bytes[from..].iter().position(|b| *b == b'\n') else {
                size = size.saturating_mul(4);
                continue;
            };
            let tail = from + cut + 1;
            // The lines left unread must at least look like records: a
            // journal broken there is refused by the whole reader, as by
            // every command, rather than acted on.
            // (From where the checked part ends: a line boundary.)
            let unchecked = ((checked_len - start) as usize).min(tail);
            if !bytes[unchecked..tail]
                .split(|b| *b == b'\n')
                .all(looks_like_a_record)
            {
                crate::trace::phase("journal: an older line does not look like a record");
                break;
            }
            let parsed = parse_operations(&bytes[tail..]);
            if let Err(e) = &parsed {
                crate::trace::phase(&format!("journal: the newest part: {e:?}"));
            }
            if let Ok(ops) = parsed {
                if sufficient(&ops) {
                    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    // Counted: the checked part, then what came after it.
                    let before = checked.as_ref().map_or(0, |c| c.ops);
                    let after = (checked_len - start) as usize;
                    self.found_whole(
                        &meta,
                        start + whole as u64,
                        before + count_begins(&bytes[after.min(whole)..whole]),
                    );
                    return Ok(Arc::new(History::partial(ops)));
                }
            }
            size = size.saturating_mul(4);
        }
        crate::trace::phase("journal: the newest part is not enough");
        self.history()
    }

    /// How many operations the journal holds, counted without reading
    /// their records (nor the lines an earlier command counted, when the
    /// journal still starts with them).
    pub fn count_operations(&self) -> anyhow::Result<usize> {
        use std::os::unix::fs::FileExt;
        let path = self.file();
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let meta = file
            .metadata()
            .with_context(|| format!("could not read {}", path.display()))?;
        let (start, before) = self
            .checked(&file, &meta)
            .map_or((0, 0), |c| (c.len, c.ops));
        let mut bytes = vec![0u8; (meta.len() - start) as usize];
        file.read_exact_at(&mut bytes, start)
            .with_context(|| format!("could not read {}", path.display()))?;
        Ok((before + count_begins(&bytes)) as usize)
    }

    /// The start of the journal an earlier command found whole
    /// ([`CHECKED_FILE`]), if this file still starts with it.
    fn checked(&self, file: &File, meta: &fs::Metadata) -> Option<Checked> {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let c: Checked =
            serde_json::from_slice(&fs::read(self.dir.join(CHECKED_FILE)).ok()?).ok()?;
        if c.dev != meta.dev() || c.ino != meta.ino() || c.len > meta.len() {
            return None;
        }
        let n = c.len.min(CHECKED_END);
        let mut end = vec![0u8; n as usize];
        file.read_exact_at(&mut end, c.len - n).ok()?;
        (hex(&end) == c.end).then_some(c)
    }

    /// Remember that the first `len` bytes of the journal (`ops`
    /// operations) were found whole by this process: a record this process
    /// appends right after them moves [`CHECKED_FILE`] forward.
    fn found_whole(&self, meta: &fs::Metadata, len: u64, ops: u64) {
        use std::os::unix::fs::MetadataExt;
        let mut found = FOUND_WHOLE.lock().unwrap_or_else(|e| e.into_inner());
        *found = Some(Found {
            path: self.file(),
            dev: meta.dev(),
            ino: meta.ino(),
            len,
            ops,
        });
    }

    /// After `append` wrote `line` at `at`: move [`CHECKED_FILE`] past it
    /// when this process found everything before `at` whole. A cache:
    /// written without a sync, and a failure only costs the next command
    /// a longer read.
    fn extend_checked(&self, file: &File, at: u64, line: &[u8]) {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = file.metadata() else { return };
        let mut found = FOUND_WHOLE.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = found.as_ref().filter(|f| {
            f.path == self.file() && f.dev == meta.dev() && f.ino == meta.ino() && f.len == at
        }) else {
            return;
        };
        let len = at + line.len() as u64;
        if meta.len() != len {
            return;
        }
        let ops = f.ops + count_begins(line);
        let end = &line[line.len().saturating_sub(CHECKED_END as usize)..];
        let c = Checked {
            dev: meta.dev(),
            ino: meta.ino(),
            len,
            ops,
            end: hex(end),
        };
        let Ok(text) = serde_json::to_vec(&c) else {
            return;
        };
        let path = self.dir.join(CHECKED_FILE);
        use crate::atomic::{write_atomic, Durability, Mode};
        if write_atomic(&path, &text, Durability::None, Mode::Umask(0o666)).is_ok() {
            *found = Some(Found {
                len,
                ops,
                ..f.clone()
            });
        }
    }

    /// Every operation, oldest first.
    pub fn operations(&self) -> anyhow::Result<Vec<Operation>> {
        Ok(self.history()?.ops().to_vec())
    }

    fn read_operations(&self) -> anyhow::Result<Vec<Operation>> {
        let path = self.file();
        let read = || -> std::io::Result<(Vec<u8>, fs::Metadata)> {
            let mut file = File::open(&path)?;
            let meta = file.metadata()?;
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            file.read_to_end(&mut bytes)?;
            Ok((bytes, meta))
        };
        let (bytes, meta) = match read() {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let ops = parse_operations(&bytes).map_err(|e| e.for_file(&path))?;
        if bytes.len() as u64 == meta.len() {
            let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            self.found_whole(&meta, whole as u64, count_begins(&bytes[..whole]));
        }
        Ok(ops)
    }

    /// Whether the journal holds the `begin` record of operation `id`
    /// (false when it cannot be read).
    pub fn records(&self, id: &str) -> bool {
        self.recent_history().is_ok_and(|h| h.contains(id))
            || self.history().is_ok_and(|h| h.contains(id))
    }

    /// Append one record and make it durable before returning.
    pub fn append(&self, record: &Record) -> anyhow::Result<()> {
        let created = create_dir_durable(&self.dir)?;
        let path = self.file();
        let existed = path.exists();
        let mut line =
            serde_json::to_string(record).context("could not encode a journal record")?;
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("could not open {}", path.display()))?;
        drop_torn_tail(&mut file, &path)?;
        let at = file
            .metadata()
            .with_context(|| format!("could not read {}", path.display()))?
            .len();
        file.write_all(line.as_bytes())
            .with_context(|| format!("could not write {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("could not sync {}", path.display()))?;
        self.extend_checked(&file, at, line.as_bytes());
        if created || !existed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Why a journal could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalError {
    /// A line (1-based) that is not a record this build understands.
    Corrupt { line: usize, detail: String },
    /// A record written by a newer format.
    Newer { version: u64 },
}

impl JournalError {
    fn for_file(&self, path: &Path) -> crate::error::UserError {
        match self {
            JournalError::Corrupt { line, detail } => user(format!(
                "the journal {} is corrupt at line {line}: {detail}",
                path.display()
            ))
            .hint("nothing was changed; move the file aside to start a new journal (its snapshots stay kept under refs/rollback/keep/)"),
            JournalError::Newer { version } => user(format!(
                "the journal {} was written by a newer git-rollback-sprint (format {version}, this one reads {VERSION})",
                path.display()
            ))
            .hint("upgrade git-rollback-sprint; nothing was changed")
            .exit(Exit::Error),
        }
    }
}

/// The operations in a journal's bytes, oldest first.
///
/// One JSON record a line. A torn last line (a crash while appending, before
/// the fsync; it may end inside a multi-byte character) is ignored; any
/// other unreadable line, or a record from a newer version, is an error:
/// the journal is what undo trusts, so it is never guessed at.
///
/// Long because it is one pass over the lines that pairs each `begin`
/// with its `moved` and `end` records and checks their order as it goes.
pub fn parse_operations(bytes: &[u8]) -> Result<Vec<Operation>, JournalError> {
    let complete = bytes.last().is_none_or(|b| *b == b'\n');
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let last = lines.len() - 1;
    let mut ops: Vec<Operation> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    // Undos whose target was not seen before them: it must not come later.
    let mut forward: Vec<(usize, String, String)> = Vec::new();
    let mut positions: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (n, line) in lines.iter().enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let record: Record = match read_record(line) {
            Ok(r) => r,
            Err(_) if n == last && !complete => break,
            Err(e) => {
                if let Some(version) = newer_version(line) {
                    return Err(JournalError::Newer { version });
                }
                return Err(JournalError::Corrupt {
                    line: n + 1,
                    detail: e.to_string(),
                });
            }
        };
        if record.version() > VERSION {
            return Err(JournalError::Newer {
                version: record.version().into(),
            });
        }
        if let Some(detail) = record.malformed() {
            return Err(JournalError::Corrupt {
                line: n + 1,
                detail,
            });
        }
        match record {
            Record::Begin(begin) => {
                // Undo chains are followed back to the original operation;
                // they must end, so ids are unique and an undo names an
                // operation before it.
                let corrupt = |detail: String| JournalError::Corrupt {
                    line: n + 1,
                    detail,
                };
                // The id names a folder (`ops/<id>`) and refs
                // (`refs/rollback/<id>/…`): one path component, as written.
                if !valid_id(&begin.id) {
                    return Err(corrupt(format!("`{}` is not an operation id", begin.id)));
                }
                if !ids.insert(begin.id.clone()) {
                    return Err(corrupt(format!("operation {} begins twice", begin.id)));
                }
                // An undo names an operation before it. One that is not in
                // the journal any more was released by `log prune`; one that
                // begins later (or is itself) would make a cycle.
                if let Some(undone) = &begin.undoes {
                    if undone == &begin.id {
                        return Err(corrupt(format!(
                            "operation {} undoes {undone}, which is not an earlier operation",
                            begin.id
                        )));
                    }
                    if !ids.contains(undone) {
                        forward.push((n + 1, begin.id.clone(), undone.clone()));
                    }
                }
                positions.insert(begin.id.clone(), ops.len());
                ops.push(Operation {
                    begin: *begin,
                    moved: Vec::new(),
                    end: None,
                });
            }
            Record::Moved(moved) => {
                if let Some(&at) = positions.get(&moved.id) {
                    ops[at].moved.push(moved);
                }
            }
            Record::End(end) => {
                if let Some(&at) = positions.get(&end.id) {
                    ops[at].end = Some(*end);
                }
            }
        }
    }
    if let Some((line, id, undone)) = forward.into_iter().find(|(_, _, u)| ids.contains(u)) {
        return Err(JournalError::Corrupt {
            line,
            detail: format!("operation {id} undoes {undone}, which is not an earlier operation"),
        });
    }
    Ok(ops)
}

/// One record. The tool writes the `type` first; such a line is read
/// straight into its struct, which is several times faster than serde's
/// internally tagged enum (that buffers the whole record first), so a long
/// journal reads quickly. Anything else goes through the enum.
fn read_record(line: &[u8]) -> serde_json::Result<Record> {
    if let Some(rest) = line.strip_prefix(b"{\"type\":\"") {
        if rest.starts_with(b"begin\",") {
            return serde_json::from_slice::<Begin>(line).map(|b| Record::Begin(Box::new(b)));
        }
        if rest.starts_with(b"end\",") {
            return serde_json::from_slice::<End>(line).map(|e| Record::End(Box::new(e)));
        }
        if rest.starts_with(b"moved\",") {
            return serde_json::from_slice::<Moved>(line).map(Record::Moved);
        }
    }
    serde_json::from_slice(line)
}

/// `YYYYMMDD_HHMMSS-xxxxxx` as written; checked loosely (ASCII letters,
/// digits, `_`, `-`), for what matters: it is a safe path component.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The format version of a line this build cannot read, when it is newer.
fn newer_version(line: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let v = value.get("v")?.as_u64()?;
    (v > u64::from(VERSION)).then_some(v)
}

/// A journal whose last line has no newline was torn by a crash before its
/// fsync; cut it off so the next record starts on a line of its own.
fn drop_torn_tail(file: &mut File, path: &Path) -> anyhow::Result<()> {
    use std::io::{Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut text = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut text)?;
    let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64)
        .with_context(|| format!("could not repair {}", path.display()))?;
    Ok(())
}

/// Create a directory (and its parents), syncing the parent of each one
/// created.
pub(crate) fn create_dir_durable(dir: &Path) -> anyhow::Result<bool> {
    let mut durable = Durable::default();
    let created = durable.create_dir_all(dir)?;
    durable.sync()?;
    Ok(created)
}

pub(crate) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    let f = File::open(dir).with_context(|| format!("could not open {}", dir.display()))?;
    f.sync_all()
        .with_context(|| format!("could not sync {}", dir.display()))
}

/// Write a file and sync it.
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_durable(parent)?;
    }
    let mut f =
        File::create(path).with_context(|| format!("could not create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("could not write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("could not sync {}", path.display()))
}

/// Refuse when another git process holds `index.lock` — but not when the
/// lock was left by a process of ours killed while holding it (our own lock
/// says so): the next transaction removes it, so a command killed while it
/// snapshotted does not leave every later command refusing.
pub fn check_index_unlocked(repo: &Repo) -> anyhow::Result<()> {
    let ours = lock_holder(Journal::for_repo(repo).dir())
        .is_some_and(|h| !h.alive && h.info.holds_index_lock);
    if ours {
        return Ok(());
    }
    crate::git::index::check_index_unlocked(repo)
}

/// Refuse when another git-rollback-sprint is running in this repository
/// (see [`lock::check_not_held`]).
pub fn check_not_running(repo: &Repo) -> anyhow::Result<()> {
    lock::check_not_held(Journal::for_repo(repo).dir())
}

/// The interrupted operation, if any (the newest one without an end whose
/// process is gone, not undone since).
pub fn interrupted(repo: &Repo) -> anyhow::Result<Option<Operation>> {
    let journal = Journal::for_repo(repo);
    let running = lock_holder(journal.dir())
        .filter(|h| h.alive)
        .map(|h| h.info.pid);
    Ok(journal
        .recent_history()?
        .pending_interrupted(running)
        .cloned())
}

/// `<journal dir>/journal.checked`: how much of the journal a command
/// found whole, so that the next one reads only what came after it
/// ([`Journal::recent_history`], [`Journal::count_operations`]). It names
/// the file (device and inode), the length, the operations in it and the
/// bytes just before the end of that part: a journal replaced, cut, or
/// rewritten there no longer matches and is read whole again.
///
/// What it cannot see is an older line rewritten in place at the same
/// length; the commands that read the whole journal (`log`, `undo`,
/// `redo`, `log prune`) still refuse such a journal.
const CHECKED_FILE: &str = "journal.checked";

/// How many bytes before the end of the checked part [`Checked`] keeps.
const CHECKED_END: u64 = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checked {
    dev: u64,
    ino: u64,
    len: u64,
    ops: u64,
    /// The last bytes of the checked part, in hex.
    end: String,
}

/// What this process found whole (see [`Journal::found_whole`]).
#[derive(Debug, Clone)]
struct Found {
    path: PathBuf,
    dev: u64,
    ino: u64,
    len: u64,
    ops: u64,
}

static FOUND_WHOLE: Mutex<Option<Found>> = Mutex::new(None);

/// How many `begin` records these whole lines hold.
fn count_begins(bytes: &[u8]) -> u64 {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| l.starts_with(b"{\"type\":\"begin\""))
        .count() as u64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a journal line has the shape of a record this tool writes: one
/// JSON object that starts with its `type` (or an empty line).
fn looks_like_a_record(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.is_empty() || (line.starts_with(b"{\"type\":\"") && line.ends_with(b"}"))
}

/// Whether the operations at the end of a journal answer the questions
/// [`Journal::recent_history`] is for as the whole journal would.
///
/// * One of them is an original operation that ended: its transaction
///   began only when no operation before it was interrupted and pending,
///   nor running (the lock), so none before the part read is now — unless
///   an undo changed that since, and:
/// * every undo among them names an operation among them: whether an
///   operation is undone is decided by the undos after it, all read.
fn sufficient(ops: &[Operation]) -> bool {
    let ids: HashSet<&str> = ops.iter().map(Operation::id).collect();
    ops.iter()
        .any(|o| o.begin.undoes.is_none() && o.end.is_some())
        && ops
            .iter()
            .all(|o| o.begin.undoes.as_deref().is_none_or(|u| ids.contains(u)))
}

/// The one-line report of an interrupted operation, with what to do.
pub fn interrupted_message(op: &Operation) -> String {
    format!(
        "operation {} (`{}`, started {}) was interrupted — run `git rollback-sprint undo` to restore the state before it, or `git rollback-sprint undo --dismiss` to keep things as they are",
        op.begin.id,
        crate::ui::one_line(&op.begin.command),
        op.begin.time
    )
}
