//! Capture a repository's whole state and diff two captures.
//!
//! The tool's core promise is that nothing is lost, so "before" and "after"
//! must be compared on everything a user could care about: HEAD, every ref,
//! the stash, every index entry (with its stage and intent-to-add /
//! skip-worktree bits), a few git-dir files that carry state (config,
//! in-progress merges, rebases...), and every entry of the work tree,
//! including untracked, ignored, empty directories, permission bits and
//! symlink targets. Names are kept as raw bytes so non-UTF-8 names work.
//!
//! Capturing never writes anything: it reads files, runs only read-only git
//! plumbing (`rev-parse`, `for-each-ref`, `log -g`) with optional locks
//! disabled, and opens the index file with libgit2 without refreshing it.
//!
//! Deliberately NOT compared: refs under `refs/rollback/` (the tool's own
//! keep refs, whose reflogs change by design), reflogs other than the
//! stash's, `ORIG_HEAD`/`FETCH_HEAD`, the object database, and stat data
//! (mtime, inode) in the index. The journal is captured but compared only by
//! [`assert_unchanged_by`] (an undo round trip adds records by design).
//!
//! Checked instead, on every capture: each entry of a keep reflog
//! (`refs/rollback/keep/<name>`, one line per kept object, naming its
//! operation) belongs to an operation a journal records (a `begin` record
//! of that id, in the journal of any work tree), and there is no other ref
//! under `refs/rollback/` (the per-operation refs of 0.1.0 are moved into
//! the keep reflog by the first command), so a refusal or a failure that
//! leaves an orphan behind fails the test that captured it.
//! `refs/rollback/incoming/` (a baseline being pulled) and
//! `refs/rollback/green/` (the green states `test` keeps) are not an
//! operation's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::repo::{plain_git, TestRepo};

/// Refs under this prefix are the tool's own and are not captured.
pub const IGNORED_REF_PREFIX: &str = "refs/rollback/";

/// The keep refs: one per journal, whose reflog keeps the snapshots alive.
pub const KEEP_REF_PREFIX: &str = "refs/rollback/keep/";

/// The entries of every keep reflog of the repository whose common dir is
/// `common_dir`: (keep ref, operation id, what, object id), oldest first.
pub fn keep_entries(common_dir: &Path) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let dir = common_dir.join("logs").join(KEEP_REF_PREFIX);
    let Ok(files) = fs::read_dir(&dir) else {
        return out;
    };
    let mut files: Vec<_> = files.flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let name = format!(
            "{KEEP_REF_PREFIX}{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let bytes = fs::read(&path).unwrap_or_default();
        for line in String::from_utf8_lossy(&bytes).lines() {
            let (head, message) = line.split_once('\t').unwrap_or_default();
            let oid = head.split(' ').nth(1).unwrap_or_default().to_string();
            let mut words = message.split(' ');
            if words.next() != Some("rollback-sprint") {
                continue;
            }
            let id = words.next().unwrap_or_default().to_string();
            let what = words.next().unwrap_or_default().to_string();
            out.push((name.clone(), id, what, oid));
        }
    }
    out
}

/// The operation an orphan (as listed by [`capture_repo_with_orphans`])
/// belongs to.
pub fn orphan_id(orphan: &str) -> &str {
    match orphan.strip_prefix(KEEP_REF_PREFIX) {
        Some(rest) => rest.split(' ').nth(2).unwrap_or_default(),
        None => orphan
            .strip_prefix(IGNORED_REF_PREFIX)
            .unwrap_or(orphan)
            .split('/')
            .next()
            .unwrap_or_default(),
    }
}

/// At most this many difference lines are printed by the assertions.
const MAX_LINES: usize = 50;

/// Files (or directories, captured recursively) inside the git dir that carry
/// user-visible state. `config`, `info/*` and `shallow` live in the common
/// dir; the rest in the (per-worktree) git dir.
const COMMON_DIR_FILES: &[&str] = &["config", "info/exclude", "info/sparse-checkout", "shallow"];
const GIT_DIR_FILES: &[&str] = &[
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "AUTO_MERGE",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_START",
    "BISECT_LOG",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
];

// ----- file system -----------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// Socket, fifo, device...
    Other,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Other => "special",
        })
    }
}

/// One entry of a directory walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsEntry {
    pub kind: EntryKind,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    /// File content, or symlink target bytes; empty for directories.
    pub data: Vec<u8>,
    /// Set when the entry could not be read (or a directory not listed).
    pub error: Option<String>,
}

/// Every entry below a directory, keyed by relative path bytes. Directories
/// are entries too, so empty directories are visible.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirState {
    pub entries: BTreeMap<Vec<u8>, FsEntry>,
}

impl DirState {
    /// The entry at `rel`, if any.
    pub fn get(&self, rel: impl AsRef<Path>) -> Option<&FsEntry> {
        self.entries.get(rel.as_ref().as_os_str().as_bytes())
    }

    pub fn contains(&self, rel: impl AsRef<Path>) -> bool {
        self.get(rel).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All relative paths, printable (see [`show_bytes`]).
    pub fn paths(&self) -> Vec<String> {
        self.entries.keys().map(|k| show_bytes(k)).collect()
    }

    /// One line per difference between `self` (before) and `other` (after).
    pub fn diff(&self, other: &DirState) -> Vec<String> {
        let mut out = Vec::new();
        diff_entries("", &self.entries, &other.entries, &mut out);
        out
    }
}

/// Walk `path` (never following symlinks) and record every entry below it.
/// Nothing is skipped; use it to prove that nothing outside a repository
/// changed.
pub fn capture_dir(path: &Path) -> DirState {
    walk(path, false)
}

fn walk(root: &Path, skip_top_git: bool) -> DirState {
    let mut entries = BTreeMap::new();
    let it = walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(skip_top_git && e.depth() == 1 && e.file_name() == ".git"));
    for item in it {
        match item {
            Ok(e) => {
                let key = rel_key(root, e.path());
                entries.insert(key, read_entry(e.path(), e.file_type()));
            }
            Err(err) => {
                // Typically an unreadable directory: keep its entry, note why.
                let Some(p) = err.path().map(Path::to_path_buf) else {
                    panic!("walking {}: {err}", root.display());
                };
                let key = rel_key(root, &p);
                let e = entries.entry(key).or_insert_with(|| FsEntry {
                    kind: EntryKind::Other,
                    mode: 0,
                    data: Vec::new(),
                    error: None,
                });
                e.error = Some(err.to_string());
            }
        }
    }
    DirState { entries }
}

fn rel_key(root: &Path, p: &Path) -> Vec<u8> {
    p.strip_prefix(root)
        .unwrap_or(p)
        .as_os_str()
        .as_bytes()
        .to_vec()
}

fn read_entry(p: &Path, ft: fs::FileType) -> FsEntry {
    let mode = match fs::symlink_metadata(p) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(_) => 0,
    };
    let (kind, data) = if ft.is_symlink() {
        (
            EntryKind::Symlink,
            fs::read_link(p).map(|t| t.as_os_str().as_bytes().to_vec()),
        )
    } else if ft.is_dir() {
        (EntryKind::Dir, Ok(Vec::new()))
    } else if ft.is_file() {
        (EntryKind::File, fs::read(p))
    } else {
        (EntryKind::Other, Ok(Vec::new()))
    };
    match data {
        Ok(data) => FsEntry {
            kind,
            mode,
            data,
            error: None,
        },
        Err(e) => FsEntry {
            kind,
            mode,
            data: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

// ----- index -----------------------------------------------------------------

/// One index entry, without stat data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntryState {
    pub path: Vec<u8>,
    /// Git mode, e.g. 0o100644, 0o100755, 0o120000, 0o160000.
    pub mode: u32,
    pub oid: String,
    /// 0 normally; 1..=3 for conflict stages.
    pub stage: u8,
    pub intent_to_add: bool,
    pub skip_worktree: bool,
    /// The "assume unchanged" bit.
    pub assume_valid: bool,
}

impl IndexEntryState {
    fn describe(&self) -> String {
        let mut s = format!("{:06o} {} stage {}", self.mode, self.oid, self.stage);
        if self.intent_to_add {
            s.push_str(" intent-to-add");
        }
        if self.skip_worktree {
            s.push_str(" skip-worktree");
        }
        if self.assume_valid {
            s.push_str(" assume-unchanged");
        }
        s
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexState {
    /// Whether `<git-dir>/index` exists.
    pub exists: bool,
    /// Entries in index order.
    pub entries: Vec<IndexEntryState>,
}

impl IndexState {
    /// The stage-0 entry for `path`, if any.
    pub fn get(&self, path: impl AsRef<Path>) -> Option<&IndexEntryState> {
        let p = path.as_ref().as_os_str().as_bytes();
        self.entries.iter().find(|e| e.path == p && e.stage == 0)
    }
}

const FLAG_STAGE_SHIFT: u16 = 12;
const FLAG_ASSUME_VALID: u16 = 0x8000;
const EXT_INTENT_TO_ADD: u16 = 1 << 13;
const EXT_SKIP_WORKTREE: u16 = 1 << 14;

fn capture_index(git_dir: &Path) -> IndexState {
    let path = git_dir.join("index");
    if fs::symlink_metadata(&path).is_err() {
        return IndexState::default();
    }
    let index =
        git2::Index::open(&path).unwrap_or_else(|e| panic!("open index {}: {e}", path.display()));
    let entries = index
        .iter()
        .map(|e| IndexEntryState {
            path: e.path.clone(),
            mode: e.mode,
            oid: e.id.to_string(),
            stage: ((e.flags >> FLAG_STAGE_SHIFT) & 3) as u8,
            intent_to_add: e.flags_extended & EXT_INTENT_TO_ADD != 0,
            skip_worktree: e.flags_extended & EXT_SKIP_WORKTREE != 0,
            assume_valid: e.flags & FLAG_ASSUME_VALID != 0,
        })
        .collect();
    IndexState {
        exists: true,
        entries,
    }
}

// ----- repository ------------------------------------------------------------

/// The whole state of a repository. See the module docs for what is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoState {
    pub bare: bool,
    /// Raw content of `<git-dir>/HEAD`, trimmed.
    pub head: String,
    /// refname -> oid (with " -> target" for symbolic refs), except
    /// `refs/rollback/`.
    pub refs: BTreeMap<String, String>,
    /// Stash entries, newest first: (oid, reflog subject).
    pub stash: Vec<(String, String)>,
    pub index: IndexState,
    /// State-carrying files of the git dir (see `GIT_DIR_FILES`), by name
    /// relative to the git dir; only those that exist.
    pub git_files: BTreeMap<String, FsEntry>,
    /// The work tree (empty for bare repositories), without top-level `.git`.
    pub files: DirState,
    /// This work tree's journal (`<git-dir>/rollback/journal.jsonl`), raw;
    /// not part of [`RepoState::diff`].
    pub journal: Vec<u8>,
}

/// Capture the repository whose work tree (or bare directory) is at
/// `work_tree` (a subdirectory works too: the top level is found).
/// Panics when a keep-alive ref belongs to no recorded operation.
#[track_caller]
pub fn capture_repo(work_tree: &Path) -> RepoState {
    capture_repo_with_env(work_tree, &[])
}

/// [`capture_repo`] for a repository git finds only through its
/// environment (`GIT_DIR`, `GIT_WORK_TREE`): `envs` are set on every git
/// command the capture runs.
#[track_caller]
pub fn capture_repo_with_env(work_tree: &Path, envs: &[(&str, &str)]) -> RepoState {
    let (state, orphans) = capture_with_orphans(work_tree, envs);
    if !orphans.is_empty() {
        fail_with(
            "keep-alive refs of no recorded operation (orphans)",
            &orphans,
        );
    }
    state
}

/// [`capture_repo`], returning the orphan keep-alive refs instead of
/// panicking (for a crash test, where a `begin` killed before its record
/// leaves them for the next operation to remove).
pub fn capture_repo_with_orphans(work_tree: &Path) -> (RepoState, Vec<String>) {
    capture_with_orphans(work_tree, &[])
}

fn capture_with_orphans(work_tree: &Path, envs: &[(&str, &str)]) -> (RepoState, Vec<String>) {
    let run = |dir: &Path, args: &[&str]| run_with_env(dir, args, envs);
    let info = run(
        work_tree,
        &[
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
            "--is-bare-repository",
        ],
    );
    let info = String::from_utf8_lossy(&info).into_owned();
    let mut lines = info.lines();
    let mut next = |what: &str| -> String {
        lines
            .next()
            .unwrap_or_else(|| panic!("rev-parse gave no {what}: {info:?}"))
            .to_string()
    };
    let git_dir = PathBuf::from(next("git dir"));
    let common_dir = PathBuf::from(next("common dir"));
    let bare = next("bareness") == "true";

    let head_path = git_dir.join("HEAD");
    let head = fs::read(&head_path).unwrap_or_else(|e| panic!("read {}: {e}", head_path.display()));
    let head = String::from_utf8_lossy(&head).trim().to_string();

    let mut refs = BTreeMap::new();
    let mut keepalive = Vec::new();
    let raw = run(
        work_tree,
        &[
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(symref)",
        ],
    );
    for line in raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut parts = line.split(|&b| b == 0);
        let name = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let oid = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let symref = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        if name.starts_with(IGNORED_REF_PREFIX) {
            keepalive.push(name);
            continue;
        }
        let value = if symref.is_empty() {
            oid
        } else {
            format!("{oid} -> {symref}")
        };
        refs.insert(name, value);
    }

    let mut stash = Vec::new();
    if refs.contains_key("refs/stash") {
        let raw = run(
            work_tree,
            &[
                "log",
                "-g",
                "--no-abbrev",
                "--format=%H%x00%gs",
                "refs/stash",
            ],
        );
        for line in raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut parts = line.splitn(2, |&b| b == 0);
            let oid = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let subject = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            stash.push((oid, subject));
        }
    }

    let index = capture_index(&git_dir);

    let mut git_files = BTreeMap::new();
    for (dir, names) in [(&common_dir, COMMON_DIR_FILES), (&git_dir, GIT_DIR_FILES)] {
        for name in names {
            let p = dir.join(name);
            let Ok(meta) = fs::symlink_metadata(&p) else {
                continue;
            };
            git_files.insert(name.to_string(), read_entry(&p, meta.file_type()));
            if meta.is_dir() {
                for (k, v) in walk(&p, false).entries {
                    git_files.insert(format!("{name}/{}", show_bytes(&k)), v);
                }
            }
        }
    }

    let files = if bare {
        DirState::default()
    } else {
        let top = run(work_tree, &["rev-parse", "--show-toplevel"]);
        let top = PathBuf::from(
            String::from_utf8_lossy(&top)
                .trim_end_matches('\n')
                .to_string(),
        );
        walk(&top, true)
    };

    let journal = fs::read(git_dir.join("rollback/journal.jsonl")).unwrap_or_default();
    let recorded = recorded_operations(&common_dir);
    // A 0.1.0 keep-alive ref `refs/rollback/<id>/…` of a recorded
    // operation is that version's layout, not an orphan.
    let legacy_of_recorded = |name: &str| {
        name.strip_prefix(IGNORED_REF_PREFIX)
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|id| recorded.contains(id))
    };
    let mut orphans: Vec<String> = keepalive
        .into_iter()
        .filter(|name| {
            !name.starts_with(KEEP_REF_PREFIX)
                && !name.starts_with(&format!("{IGNORED_REF_PREFIX}incoming/"))
                && !name.starts_with(&format!("{IGNORED_REF_PREFIX}green/"))
                && !legacy_of_recorded(name)
        })
        .collect();
    for (name, id, what, _) in keep_entries(&common_dir) {
        if !recorded.contains(&id) {
            orphans.push(format!("{name} entry {id} {what}"));
        }
    }

    let state = RepoState {
        bare,
        head,
        refs,
        stash,
        index,
        git_files,
        files,
        journal,
    };
    (state, orphans)
}

/// The state after the tool was killed before its journal's `begin`
/// record: keep-reflog entries of the killed operation may be left (no
/// journal entry names them, and the next operation removes them); each
/// must be of an operation marked as being prepared
/// (`<git-dir>/rollback/preparing/<id>`).
#[track_caller]
pub fn capture_after_early_kill(repo: &TestRepo) -> RepoState {
    let (state, orphans) = capture_repo_with_orphans(repo.path());
    for name in &orphans {
        let id = orphan_id(name);
        let marker = repo.git_dir().join("rollback/preparing").join(id);
        assert!(
            marker.exists(),
            "{name} belongs to no recorded operation nor one being prepared"
        );
    }
    state
}

/// The ids of the `begin` records in the journals of every work tree of
/// the repository (the main one and each linked one). Lines that are not
/// JSON are skipped: a corrupt journal is the tool's to report.
fn recorded_operations(common_dir: &Path) -> BTreeSet<String> {
    let mut journals = vec![common_dir.join("rollback/journal.jsonl")];
    if let Ok(entries) = fs::read_dir(common_dir.join("worktrees")) {
        for e in entries.flatten() {
            journals.push(e.path().join("rollback/journal.jsonl"));
        }
    }
    let mut ids = BTreeSet::new();
    for path in journals {
        let Ok(bytes) = fs::read(&path) else {
            continue;
        };
        for line in bytes.split(|&b| b == b'\n') {
            let Ok(record) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            if record["type"] == "begin" {
                if let Some(id) = record["id"].as_str() {
                    ids.insert(id.to_string());
                }
            }
        }
    }
    ids
}

/// Run a read-only git command in `dir` (with `envs`) and return its stdout.
fn run_with_env(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Vec<u8> {
    let out = plain_git(dir)
        .envs(envs.iter().copied())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
    if !out.status.success() {
        panic!(
            "capture: git {args:?} in {} failed ({}): {}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.stdout
}

impl RepoState {
    /// One line per difference between `self` (before) and `other` (after).
    pub fn diff(&self, other: &RepoState) -> Vec<String> {
        let mut out = Vec::new();
        if self.bare != other.bare {
            out.push(format!("bare: {} vs {}", self.bare, other.bare));
        }
        if self.head != other.head {
            out.push(format!("HEAD: {} vs {}", self.head, other.head));
        }
        diff_refs(&self.refs, &other.refs, &mut out);
        diff_stash(&self.stash, &other.stash, &mut out);
        diff_index(&self.index, &other.index, &mut out);
        diff_git_files(&self.git_files, &other.git_files, &mut out);
        diff_entries("", &self.files.entries, &other.files.entries, &mut out);
        out
    }
}

fn diff_refs(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, out: &mut Vec<String>) {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        match (a.get(name), b.get(name)) {
            (Some(x), None) => out.push(format!("ref {name}: missing after (was {x})")),
            (None, Some(y)) => out.push(format!("ref {name}: new after ({y})")),
            (Some(x), Some(y)) if x != y => out.push(format!("ref {name}: {x} vs {y}")),
            _ => {}
        }
    }
}

fn diff_stash(a: &[(String, String)], b: &[(String, String)], out: &mut Vec<String>) {
    if a.len() != b.len() {
        out.push(format!("stash: {} entries vs {} entries", a.len(), b.len()));
    }
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some((o, s)), None) => out.push(format!("stash@{{{i}}}: missing after ({o} {s})")),
            (None, Some((o, s))) => out.push(format!("stash@{{{i}}}: new after ({o} {s})")),
            (Some(x), Some(y)) if x != y => {
                out.push(format!("stash@{{{i}}}: {} {} vs {} {}", x.0, x.1, y.0, y.1))
            }
            _ => {}
        }
    }
}

fn diff_index(a: &IndexState, b: &IndexState, out: &mut Vec<String>) {
    if a.exists != b.exists {
        out.push(format!(
            "index file: {} vs {}",
            if a.exists { "present" } else { "absent" },
            if b.exists { "present" } else { "absent" }
        ));
    }
    type Key = (Vec<u8>, u8);
    let map = |s: &IndexState| -> BTreeMap<Key, IndexEntryState> {
        s.entries
            .iter()
            .map(|e| ((e.path.clone(), e.stage), e.clone()))
            .collect()
    };
    let (ma, mb) = (map(a), map(b));
    let keys: BTreeSet<&Key> = ma.keys().chain(mb.keys()).collect();
    let before = out.len();
    for key in keys {
        let name = show_bytes(&key.0);
        let stage = if key.1 == 0 {
            String::new()
        } else {
            format!(" (stage {})", key.1)
        };
        match (ma.get(key), mb.get(key)) {
            (Some(x), None) => out.push(format!(
                "index entry {name}{stage}: missing after (was {})",
                x.describe()
            )),
            (None, Some(y)) => out.push(format!(
                "index entry {name}{stage}: new after ({})",
                y.describe()
            )),
            (Some(x), Some(y)) => {
                if x.mode != y.mode {
                    out.push(format!(
                        "index entry {name}{stage}: mode {:06o} vs {:06o}",
                        x.mode, y.mode
                    ));
                }
                if x.oid != y.oid {
                    out.push(format!(
                        "index entry {name}{stage}: oid {} vs {}",
                        x.oid, y.oid
                    ));
                }
                for (what, p, q) in [
                    ("intent-to-add", x.intent_to_add, y.intent_to_add),
                    ("skip-worktree", x.skip_worktree, y.skip_worktree),
                    ("assume-unchanged", x.assume_valid, y.assume_valid),
                ] {
                    if p != q {
                        out.push(format!("index entry {name}{stage}: {what} {p} vs {q}"));
                    }
                }
            }
            (None, None) => {}
        }
    }
    if out.len() == before && a.entries != b.entries {
        out.push("index: same entries in a different order".to_string());
    }
}

fn diff_git_files(
    a: &BTreeMap<String, FsEntry>,
    b: &BTreeMap<String, FsEntry>,
    out: &mut Vec<String>,
) {
    let ka: BTreeMap<Vec<u8>, FsEntry> = a
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
        .collect();
    let kb: BTreeMap<Vec<u8>, FsEntry> = b
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
        .collect();
    diff_entries("git-dir ", &ka, &kb, out);
}

fn diff_entries(
    prefix: &str,
    a: &BTreeMap<Vec<u8>, FsEntry>,
    b: &BTreeMap<Vec<u8>, FsEntry>,
    out: &mut Vec<String>,
) {
    let keys: BTreeSet<&Vec<u8>> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let name = show_bytes(key);
        match (a.get(key), b.get(key)) {
            (Some(x), None) => out.push(format!("{prefix}{} {name}: missing after", x.kind)),
            (None, Some(y)) => out.push(format!("{prefix}{} {name}: new after", y.kind)),
            (Some(x), Some(y)) => {
                if x.kind != y.kind {
                    out.push(format!("{prefix}path {name}: {} vs {}", x.kind, y.kind));
                    continue;
                }
                let kind = x.kind;
                if x.mode != y.mode {
                    out.push(format!(
                        "{prefix}{kind} {name}: mode {:04o} vs {:04o}",
                        x.mode, y.mode
                    ));
                }
                if x.data != y.data {
                    match kind {
                        EntryKind::Symlink => out.push(format!(
                            "{prefix}symlink {name}: target {} vs {}",
                            show_bytes(&x.data),
                            show_bytes(&y.data)
                        )),
                        _ => {
                            let first = x
                                .data
                                .iter()
                                .zip(&y.data)
                                .position(|(p, q)| p != q)
                                .unwrap_or(x.data.len().min(y.data.len()));
                            out.push(format!(
                                "{prefix}{kind} {name}: content differs ({} bytes vs {} bytes, first difference at byte {first})",
                                x.data.len(),
                                y.data.len()
                            ));
                        }
                    }
                }
                if x.error != y.error {
                    out.push(format!(
                        "{prefix}{kind} {name}: read error {:?} vs {:?}",
                        x.error, y.error
                    ));
                }
            }
            (None, None) => {}
        }
    }
}

/// Printable form of a path or other byte string: valid UTF-8 is kept,
/// control characters are escaped (`\n`, `\t`, `\u{1b}`), invalid bytes are
/// shown as `\xNN`, so every difference stays on one line and distinct names
/// stay distinct.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                s.extend(c.escape_default());
            } else {
                s.push(c);
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[track_caller]
fn fail_with(what: &str, lines: &[String]) -> ! {
    let mut msg = format!("{what} changed ({} differences):\n", lines.len());
    for line in lines.iter().take(MAX_LINES) {
        msg.push_str("  ");
        msg.push_str(line);
        msg.push('\n');
    }
    if lines.len() > MAX_LINES {
        msg.push_str(&format!("  ... and {} more\n", lines.len() - MAX_LINES));
    }
    panic!("{msg}");
}

/// Whether a work-tree key is the reports folder (`rollbacks/`) or inside it.
pub fn is_reports(key: &[u8]) -> bool {
    key == b"rollbacks" || key.starts_with(b"rollbacks/")
}

/// The state without the reports folder, which rollbacks and undo leave as
/// it is (docs/invariants.md, I8).
pub fn without_reports(state: &RepoState) -> RepoState {
    let mut s = state.clone();
    s.files.entries.retain(|k, _| !is_reports(k));
    s
}

/// [`assert_same_state`] with the reports folder left out.
#[track_caller]
pub fn assert_same_except_reports(before: &RepoState, after: &RepoState) {
    assert_same_state(&without_reports(before), &without_reports(after));
}

/// Panics listing every difference (up to 50 lines) between two captures.
#[track_caller]
pub fn assert_same_state(before: &RepoState, after: &RepoState) {
    let lines = before.diff(after);
    if !lines.is_empty() {
        fail_with("repository state", &lines);
    }
}

/// Panics listing every difference (up to 50 lines) between two directory
/// captures.
#[track_caller]
pub fn assert_same_dir(before: &DirState, after: &DirState) {
    let lines = before.diff(after);
    if !lines.is_empty() {
        fail_with("directory", &lines);
    }
}

/// Capture `repo`, run `f`, capture again and assert nothing changed, the
/// journal included (a refusal or a command with nothing to do records
/// nothing, docs/invariants.md, I11); returns what `f` returned.
#[track_caller]
pub fn assert_unchanged_by<T>(repo: &TestRepo, f: impl FnOnce() -> T) -> T {
    let before = repo.capture();
    let result = f();
    let after = repo.capture();
    assert_same_state(&before, &after);
    if before.journal != after.journal {
        let added = String::from_utf8_lossy(
            &after.journal[before.journal.len().min(after.journal.len())..],
        )
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
        fail_with("the journal", &added);
    }
    result
}

/// Everything a command could touch, for "nothing changed": the repository
/// state and the whole git directory (refs, objects, the journal, the
/// tool's state files, git's caches).
pub fn everything(repo: &TestRepo) -> (RepoState, DirState) {
    (repo.capture(), capture_dir(&repo.git_dir()))
}

/// Panics unless [`everything`] is as `before` says.
#[track_caller]
pub fn assert_nothing_changed(repo: &TestRepo, before: &(RepoState, DirState)) {
    let after = everything(repo);
    assert_same_state(&before.0, &after.0);
    assert_same_dir(&before.1, &after.1);
}
