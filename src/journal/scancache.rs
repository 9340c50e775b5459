//! The last scan of the work tree, remembered with the file-system stamps
//! of everything it depended on, so that `test` on a tree unchanged since
//! its last run does not scan it again (docs/journal.md, The scan cache).
//!
//! Scanning a 100,000-file tree reads the index, compares every file with
//! it and walks every folder for untracked files: half a second. Knowing
//! nothing changed needs only an `lstat` of each file and folder the scan
//! saw, compared with the stamps taken after it: a tenth of that, on
//! several threads.
//!
//! `<git-dir>/rollback/scan-cache` holds HEAD, the two trees of the scan,
//! the reports folder, a hash of the environment's git settings, and one
//! stamp (inode, file type, size, mtime, ctime) per path: every folder a
//! scan for untracked files goes into (those holding a tracked file and
//! the others git does not ignore: an added or removed entry changes its
//! folder's mtime, so a new untracked file or a deleted one shows there),
//! every file in them, every tracked file, the index file, and the files
//! holding settings and ignore rules. The cache holds while every stamp
//! and HEAD are the same; any difference means a full scan.
//!
//! The stamps are taken on a thread of their own from the scan's start,
//! beside it and while the tests run ([`Stamping`]). A stamp not older than
//! the scan's start (the mtime of a file created just before it, on the
//! file system's own clock) could describe bytes the scan did not see, so
//! then no cache is written at all: the next run scans.
//!
//! A tracked file the scan found as the index has it is not stamped from
//! the disk: its stamp is the stat data the index holds for it, which the
//! scan's status has just compared with the file, unless the entry is
//! racy (modified no earlier than the index was written, in whole
//! seconds: git's own rule).
//! That leaves an `lstat` for the folders, the untracked files and the
//! tracked files that differ, instead of one for each of 100,000 files
//! competing with the scan. Where the index's stat data is stale (a file
//! touched without a change, which git's status refreshes and libgit2's
//! does not), the next run finds a different stamp and scans: slower, never
//! wrong. Those stamps are not written again: the cache keeps the index's
//! number of entries and the positions of the tracked files it stamped
//! from the disk, and a lookup takes every other one from the index, read
//! before its own stamp is checked.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use anyhow::Context as _;

use super::Journal;
use crate::git::staged::{IndexEntries, IndexStat};
use crate::git::{parse_oid, Oid, Repo, RepoPath};

const FILE: &str = "scan-cache";
const MAGIC: &[u8] = b"rollback-sprint scan cache 3\n";
const END: &[u8] = b"end\n";
/// The index file, in the git folder.
const INDEX: &str = "index";

/// What a cached scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cached {
    pub head: Oid,
    pub tree: Oid,
    pub index_tree: Oid,
}

/// A path's stamp, in the terms of git's index so that an index entry's
/// stat data is one too: inode, file type, size, mtime and ctime (seconds
/// and nanoseconds), the inode, size and seconds cut to 32 bits as the
/// index keeps them. The permission bits are left out: changing them
/// changes the ctime. All -1: the path did not exist.
type Stamp = [i64; 7];

const ABSENT: Stamp = [-1; 7];

/// Seconds as the index keeps them (and as stamps compare them).
fn seconds(s: i64) -> i64 {
    i64::from(s as u32)
}

fn stamp_from(ino: u64, mode: u32, size: u64, mtime: (i64, i64), ctime: (i64, i64)) -> Stamp {
    [
        i64::from(ino as u32),
        i64::from(mode & 0o170000),
        i64::from(size as u32),
        seconds(mtime.0),
        mtime.1,
        seconds(ctime.0),
        ctime.1,
    ]
}

fn stamp_of(meta: &fs::Metadata) -> Stamp {
    stamp_from(
        meta.ino(),
        meta.mode(),
        meta.size(),
        (meta.mtime(), meta.mtime_nsec()),
        (meta.ctime(), meta.ctime_nsec()),
    )
}

fn stamp_of_stat(st: &rustix::fs::Stat) -> Stamp {
    stamp_from(
        st.st_ino,
        st.st_mode,
        st.st_size as u64,
        (st.st_mtime, st.st_mtime_nsec as i64),
        (st.st_ctime, st.st_ctime_nsec as i64),
    )
}

/// An index entry's stat data as a stamp.
fn stamp_of_index(mode: u32, stat: &IndexStat) -> Stamp {
    stamp_from(
        u64::from(stat[4]),
        mode,
        u64::from(stat[5]),
        (i64::from(stat[2]), i64::from(stat[3])),
        (i64::from(stat[0]), i64::from(stat[1])),
    )
}

/// Stamps of paths relative to a work tree (or absolute), a folder's
/// entries through one handle on the folder: resolving each whole path
/// again is most of an `lstat`'s cost in the kernel. Paths in the same
/// folder should come one after the other.
struct Stamper<'a> {
    root: &'a Path,
    dir: Option<Vec<u8>>,
    fd: Option<rustix::fd::OwnedFd>,
}

impl<'a> Stamper<'a> {
    fn new(root: &'a Path) -> Self {
        Stamper {
            root,
            dir: None,
            fd: None,
        }
    }

    fn stamp(&mut self, rel: &[u8]) -> Stamp {
        use rustix::fs::{AtFlags, Mode, OFlags};
        let (dir, name) = match rel.iter().rposition(|b| *b == b'/') {
            Some(i) if !rel.starts_with(b"/") => (&rel[..i], &rel[i + 1..]),
            _ => return stamp(&self.root.join(OsStr::from_bytes(rel))),
        };
        if self.dir.as_deref() != Some(dir) {
            let full = self.root.join(OsStr::from_bytes(dir));
            self.fd = rustix::fs::open(
                &full,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok();
            self.dir = Some(dir.to_vec());
        }
        match &self.fd {
            Some(fd) => rustix::fs::statat(fd, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW)
                .map_or(ABSENT, |st| stamp_of_stat(&st)),
            None => ABSENT,
        }
    }
}

fn stamp(path: &Path) -> Stamp {
    fs::symlink_metadata(path).map_or(ABSENT, |m| stamp_of(&m))
}

/// Whether `s` was changed at or after `since` (seconds, nanoseconds).
fn not_older(s: &Stamp, since: (i64, i64)) -> bool {
    s != &ABSENT && ((s[3], s[4]) >= since || (s[5], s[6]) >= since)
}

/// One path the cache depends on: relative to the work tree, or absolute
/// for the files outside it.
struct Entry {
    path: PathBuf,
    stamp: Stamp,
}

/// The cache as read back, and what it must match.
struct Contents {
    cached: Cached,
    reports: Vec<u8>,
    settings: Oid,
    /// Folders, untracked files, the files outside the work tree, and the
    /// tracked files stamped from the disk.
    entries: Vec<Entry>,
    /// How many entries the index had; the positions (in index order) of
    /// those stamped from the disk, ascending. Every other tracked file's
    /// stamp is its index entry's stat data.
    index_entries: u32,
    from_disk: Vec<u32>,
}

fn file(repo: &Repo) -> PathBuf {
    Journal::for_repo(repo).dir().join(FILE)
}

/// The index file, the settings and ignore files outside the work tree:
/// changing any of them can change what a scan finds without touching a
/// file of the work tree.
fn outside_files(repo: &Repo) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files = vec![
        repo.git_dir().join(INDEX),
        repo.git_dir().join("config.worktree"),
        repo.common_dir().join("config"),
        repo.common_dir().join("config.worktree"),
        repo.common_dir().join("info").join("exclude"),
        repo.common_dir().join("info").join("attributes"),
        repo.common_dir().join("info").join("sparse-checkout"),
    ];
    if let Some(h) = &home {
        files.push(h.join(".gitconfig"));
    }
    if let Some(x) = &xdg {
        files.extend([
            x.join("git/config"),
            x.join("git/ignore"),
            x.join("git/attributes"),
        ]);
    }
    for key in ["core.excludesFile", "core.attributesFile"] {
        if let Ok(Some(value)) = repo.config_string(key) {
            let path = match (value.strip_prefix("~/"), &home) {
                (Some(rest), Some(h)) => h.join(rest),
                _ => PathBuf::from(value),
            };
            files.push(path);
        }
    }
    files
}

/// A hash of the environment variables that change git's settings (`git
/// -c` among them) and of where its global files are.
fn settings_hash() -> Oid {
    let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.as_bytes();
            k.starts_with(b"GIT_CONFIG")
                || [
                    &b"HOME"[..],
                    b"XDG_CONFIG_HOME",
                    b"GIT_INDEX_FILE",
                    b"GIT_DIR",
                    b"GIT_WORK_TREE",
                ]
                .contains(&k)
        })
        .collect();
    vars.sort();
    let mut bytes = Vec::new();
    for (k, v) in vars {
        bytes.extend_from_slice(k.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(v.as_bytes());
        bytes.push(0);
    }
    Oid::hash_object(git2::ObjectType::Blob, &bytes).unwrap_or(Oid::ZERO_SHA1)
}

/// The cached scan, when HEAD, the settings and every stamp are as the
/// cache has them and its trees are still in the object store; `None`
/// otherwise (and on any error: the caller scans).
pub fn lookup(repo: &Repo, reports: &RepoPath) -> Option<Cached> {
    let bytes = fs::read(file(repo)).ok()?;
    crate::trace::phase("scan cache: read");
    let contents = parse(&bytes)?;
    crate::trace::phase("scan cache: parsed");
    if contents.reports != reports.as_bytes()
        || contents.settings != settings_hash()
        || repo.head_commit().ok()?? != contents.cached.head
        || !repo.has_object(contents.cached.tree)
        || !repo.has_object(contents.cached.index_tree)
    {
        return None;
    }
    let root = repo.workdir();
    let index_path = repo.git_dir().join(INDEX);
    let (index_file, explicit): (Vec<Stamped<'_>>, Vec<Stamped<'_>>) = contents
        .entries
        .iter()
        .map(|e| (e.path.as_os_str().as_bytes(), e.stamp))
        .partition(|(path, _)| *path == index_path.as_os_str().as_bytes());
    // The other stamps (folders, untracked files, settings files) are
    // checked while the index is read. The index file's own is checked
    // after: if it still holds once the file was read, the entries read
    // are the ones the cache was made with (an index replaced in between
    // has another stamp), and so is every entry's stat data.
    let (index, others) = std::thread::scope(|threads| {
        let others = threads.spawn(|| unchanged(root, &explicit));
        let index = IndexEntries::read(&index_path);
        crate::trace::phase("scan cache: index read");
        (index, others.join().unwrap_or(false))
    });
    let index = index?;
    if !others || index.len() != contents.index_entries as usize || !unchanged(root, &index_file) {
        return None;
    }
    let mut from_disk = contents.from_disk.iter().peekable();
    let mut tracked: Vec<Stamped<'_>> = Vec::with_capacity(index.len());
    for n in 0..index.len() {
        if from_disk.next_if(|d| **d as usize == n).is_some() {
            continue;
        }
        let (path, mode, _, stat) = index.get(n);
        if !crate::git::bytes_at_or_under(path, reports.as_bytes()) {
            tracked.push((path, stamp_of_index(mode, stat)));
        }
    }
    unchanged(root, &tracked).then_some(contents.cached)
}

/// A path and the stamp it had.
type Stamped<'a> = (&'a [u8], Stamp);

/// Whether every path still has its stamp, looked at on every thread and
/// stopping at the first that does not.
fn unchanged(root: &Path, entries: &[Stamped<'_>]) -> bool {
    let changed = AtomicBool::new(false);
    let chunks: Vec<&[Stamped<'_>]> = entries.chunks(2048).collect();
    let looked = crate::walk::map(&chunks, crate::walk::threads(), |chunk| {
        let mut stamper = Stamper::new(root);
        for (path, stamp) in chunk.iter() {
            if changed.load(Ordering::Relaxed) {
                break;
            }
            if stamper.stamp(path) != *stamp && !changed.swap(true, Ordering::Relaxed) {
                crate::trace::phase(&format!(
                    "scan cache: {} changed",
                    Path::new(OsStr::from_bytes(path)).display()
                ));
            }
        }
        Ok(())
    });
    looked.is_ok() && !changed.into_inner()
}

/// What the stamping needs of the repository, owned, for a thread of its
/// own.
struct Place {
    /// The cache's temporary file, created before the scan: its mtime is
    /// the scan's start on the file system's clock.
    tmp: PathBuf,
    since: (i64, i64),
    file: PathBuf,
    root: PathBuf,
    git_dir: PathBuf,
    common_dir: PathBuf,
    outside: Vec<PathBuf>,
    reports: RepoPath,
}

/// A cache being made: the stamps are taken on a thread of their own from
/// the start of the scan (beside it, and while the tests run), and written
/// with the scan's result once [`Stamping::scanned`] gives it.
///
/// Stamping beside the scan is safe: a stamp older than the scan's start
/// says the file did not change from then until it was stamped, and one
/// that changes after it was stamped differs from its stamp at the next
/// run, which then scans.
pub struct Stamping {
    scanned: Option<mpsc::Sender<Option<Scanned>>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<Option<Skipped>>>>,
}

/// What the scan found, and the tracked paths whose file differs from the
/// index (or is gone).
type Scanned = (Cached, HashSet<Vec<u8>>);

/// Start a cache for the scan about to begin. `None` when there is no
/// room for one (the journal's folder cannot be written).
pub fn start(repo: &Repo, reports: &RepoPath) -> Option<Stamping> {
    let dir = Journal::for_repo(repo).dir().to_path_buf();
    fs::create_dir_all(&dir).ok()?;
    let tmp = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    fs::write(&tmp, b"").ok()?;
    let since = match fs::metadata(&tmp) {
        Ok(m) => (seconds(m.mtime()), m.mtime_nsec()),
        Err(_) => {
            let _ = fs::remove_file(&tmp);
            return None;
        }
    };
    let place = Place {
        tmp,
        since,
        file: file(repo),
        root: repo.workdir().to_path_buf(),
        git_dir: repo.git_dir().to_path_buf(),
        common_dir: repo.common_dir().to_path_buf(),
        outside: outside_files(repo),
        reports: reports.clone(),
    };
    let handle = repo.reopen();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let stamped = handle.and_then(|h| stamp_all(&h, &place));
        crate::trace::phase("scan cache: folders and untracked files stamped");
        // The scan's result and the tracked files it found differing from
        // the index, or `None` (no cache for it; also when the command
        // ended before giving it).
        let scanned = rx.recv().ok().flatten();
        let written = match (stamped, scanned) {
            (Ok(Ok(partial)), Some((cached, differing))) => {
                let finished = finish(&place, partial, &differing);
                crate::trace::phase("scan cache: tracked files stamped");
                match finished {
                    Ok(Ok(stamps)) => write(&place, cached, &stamps).map(|()| {
                        crate::trace::phase("scan cache: written");
                        None
                    }),
                    Ok(Err(skipped)) => Ok(Some(skipped)),
                    Err(e) => Err(e),
                }
            }
            (Ok(Ok(_)), None) => Ok(Some(Skipped::Unsupported("this scan"))),
            (Ok(Err(skipped)), _) => Ok(Some(skipped)),
            (Err(e), _) => Err(e),
        };
        if !matches!(written, Ok(None)) {
            let _ = fs::remove_file(&place.tmp);
            // A cache of an older scan no longer describes the tree.
            let _ = fs::remove_file(&place.file);
        }
        written
    });
    Some(Stamping {
        scanned: Some(tx),
        thread: Some(thread),
    })
}

impl Stamping {
    /// The scan is done: `Some` of what it found to cache and of the
    /// tracked paths whose file differs from the index (or is gone),
    /// `None` when no cache can describe it (nested repositories,
    /// conflicts…).
    pub fn scanned(&mut self, scanned: Option<(Cached, &[RepoPath])>) {
        if let Some(tx) = self.scanned.take() {
            let _ = tx.send(scanned.map(|(cached, differing)| {
                let differing = differing.iter().map(|p| p.as_bytes().to_vec()).collect();
                (cached, differing)
            }));
        }
    }

    /// Wait for the cache to be written; says why none was, when none was.
    pub fn join(mut self) -> anyhow::Result<Option<Skipped>> {
        self.scanned.take();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(None),
        }
    }
}

impl Drop for Stamping {
    /// A command that ends early writes no cache (and leaves no file).
    fn drop(&mut self) {
        self.scanned.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Why no cache was written, for the trace.
pub enum Skipped {
    /// Something the scan read changed after it began.
    Changed(PathBuf),
    /// A scan the cache cannot describe (nested repositories, conflicts…).
    Unsupported(&'static str),
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::Changed(p) => write!(f, "{} changed after the scan began", p.display()),
            Skipped::Unsupported(what) => write!(f, "not with {what}"),
        }
    }
}

/// What one thread of the stamping walk gathers.
#[derive(Default)]
struct Gathered {
    /// Folders and files to stamp, a folder's entries one after the other.
    paths: Vec<Vec<u8>>,
    /// Folders holding no tracked file, to ask git whether it ignores them.
    other: Vec<Vec<u8>>,
    nested: bool,
}

/// What the cache keeps of a scan: the paths it depends on that are
/// stamped from the disk (folders, untracked files, the files outside the
/// work tree, tracked files that differ from the index or are racy) with
/// their stamps; how many entries the index has; and the positions in it of
/// the tracked files among those paths. Every other tracked file's stamp is
/// its index entry's stat data, which is not written again: it holds as long
/// as the index file's own stamp does.
struct Stamps {
    paths: Vec<Vec<u8>>,
    stamps: Vec<Stamp>,
    index_entries: u32,
    from_disk: Vec<u32>,
}

/// The stamps taken beside the scan, and the tracked files to stamp once
/// the scan has said which of them differ from the index.
struct Partial {
    paths: Vec<Vec<u8>>,
    stamps: Vec<Stamp>,
    /// Tracked files outside the reports folder, in index order, each with
    /// its position in the index and its index stat data as a stamp when
    /// that is not racy.
    tracked: Vec<Tracked>,
    /// How many entries the index has.
    index_entries: u32,
}

/// A tracked file: its path, its position in the index, and its stat data
/// there as a stamp unless that is racy.
struct Tracked {
    path: Vec<u8>,
    at: u32,
    indexed: Option<Stamp>,
}

/// Stamp every folder a scan for untracked files goes into — those holding
/// a tracked file, and the others git does not ignore (asked here after
/// each round of the walk: they are few) — and every untracked file in
/// them (ignored ones too: one of them changing only costs the next run a
/// scan), then the files outside the work tree; and read the index's stat
/// data of the tracked files.
///
/// Long because the index's entries, the rounds of the walk and the
/// stamping of what it found are one pass each over shared lists.
fn stamp_all(repo: &git2::Repository, place: &Place) -> anyhow::Result<Result<Partial, Skipped>> {
    let root = place.root.as_path();
    let reports = place.reports.as_bytes();
    // The index's paths and stat data, read with the pre-commit check's
    // reader (a fraction of libgit2's parse, on this thread beside the
    // scan's). An entry modified no earlier than the index file was
    // written may describe bytes written after its stat: racy, as git
    // calls it, and stamped from the disk. Whole seconds, as git built
    // without nanosecond times compares them (it then smudges such an
    // entry's size, and its stamp would never match).
    let mut tracked_dirs: HashSet<Vec<u8>> = HashSet::new();
    let mut tracked: Vec<Tracked> = Vec::new();
    let mut index_entries: u32 = 0;
    let mut unsupported = None;
    let index = place.git_dir.join(INDEX);
    let written = fs::metadata(&index).ok().map(|m| seconds(m.mtime()));
    let read = crate::git::staged::each_index_entry(&index, |path, mode, stage, stat| {
        if mode == 0o160000 {
            unsupported = Some("submodules");
        } else if stage != 0 {
            unsupported = Some("conflicts");
        }
        if !crate::git::bytes_at_or_under(path, reports) {
            tracked.push(Tracked {
                path: path.to_vec(),
                at: index_entries,
                indexed: trusted_stamp(mode, stat, written),
            });
        }
        index_entries = index_entries.saturating_add(1);
        let mut path = path;
        while let Some(i) = path.iter().rposition(|b| *b == b'/') {
            path = &path[..i];
            if !tracked_dirs.insert(path.to_vec()) {
                break;
            }
        }
    });
    if read.is_none() && index.exists() {
        return Ok(Err(Skipped::Unsupported("this index")));
    }
    if let Some(what) = unsupported {
        return Ok(Err(Skipped::Unsupported(what)));
    }
    let tracked_files: HashSet<&[u8]> = tracked.iter().map(|t| t.path.as_slice()).collect();
    let (git_dir, common_dir, reports) = (&place.git_dir, &place.common_dir, &place.reports);
    let mut paths: Vec<Vec<u8>> = vec![Vec::new()];
    let mut starts: Vec<Vec<u8>> = vec![Vec::new()];
    while !starts.is_empty() {
        let gathered = crate::walk::walk(
            root,
            &starts,
            crate::walk::threads(),
            Gathered::default,
            |g, item| {
                if !item.file_type.is_dir() {
                    if !tracked_files.contains(item.rel) {
                        g.paths.push(item.rel.to_vec());
                    }
                    return Ok(false);
                }
                if item.name == OsStr::new(".git") {
                    // A nested repository (its folder is not the scan's).
                    g.nested |= item.depth > 1 || item.path != git_dir.as_path();
                    return Ok(false);
                }
                if item.path == git_dir.as_path()
                    || item.path == common_dir.as_path()
                    || RepoPath::from_bytes(item.rel).is_at_or_under(reports)
                {
                    return Ok(false);
                }
                if tracked_dirs.contains(item.rel) {
                    g.paths.push(item.rel.to_vec());
                    Ok(true)
                } else {
                    g.other.push(item.rel.to_vec());
                    Ok(false)
                }
            },
        )?;
        starts = Vec::new();
        for g in gathered {
            if g.nested {
                return Ok(Err(Skipped::Unsupported("nested repositories")));
            }
            paths.extend(g.paths);
            for rel in g.other {
                let mut slash = rel.clone();
                slash.push(b'/');
                let ignored = repo
                    .is_path_ignored(Path::new(OsStr::from_bytes(&slash)))
                    .unwrap_or(false);
                if !ignored {
                    paths.push(rel.clone());
                    starts.push(rel);
                }
            }
        }
    }
    paths.extend(
        place
            .outside
            .iter()
            .map(|p| p.as_os_str().as_bytes().to_vec()),
    );
    let stamps = stamps_from_disk(root, &paths)?;
    if let Some(changed) =
        first_not_older(paths.iter().map(Vec::as_slice).zip(&stamps), place.since)
    {
        return Ok(Err(changed));
    }
    Ok(Ok(Partial {
        paths,
        stamps,
        tracked,
        index_entries,
    }))
}

/// An index entry's stat data as its file's stamp, unless the entry is
/// racy: modified in the second the index (last modified at `written`)
/// was written, or later.
fn trusted_stamp(mode: u32, stat: &IndexStat, written: Option<i64>) -> Option<Stamp> {
    let stamp = stamp_of_index(mode, stat);
    written.is_some_and(|w| stamp[3] < w).then_some(stamp)
}

/// Stamps of `paths`, on every thread.
fn stamps_from_disk<P: AsRef<[u8]> + Sync>(root: &Path, paths: &[P]) -> anyhow::Result<Vec<Stamp>> {
    let chunks: Vec<&[P]> = paths.chunks(2048).collect();
    Ok(crate::walk::map(&chunks, crate::walk::threads(), |chunk| {
        let mut stamper = Stamper::new(root);
        Ok(chunk
            .iter()
            .map(|p| stamper.stamp(p.as_ref()))
            .collect::<Vec<_>>())
    })?
    .into_iter()
    .flatten()
    .collect())
}

/// The first path whose stamp is not older than the scan's start.
fn first_not_older<'a>(
    stamped: impl IntoIterator<Item = (&'a [u8], &'a Stamp)>,
    since: (i64, i64),
) -> Option<Skipped> {
    stamped
        .into_iter()
        .find(|(_, s)| not_older(s, since))
        .map(|(p, _)| Skipped::Changed(PathBuf::from(OsStr::from_bytes(p))))
}

/// The stamps of the tracked files, once the scan has said which differ
/// from the index (`differing`): those, and the racy ones, from the disk;
/// the others are the index's.
fn finish(
    place: &Place,
    partial: Partial,
    differing: &HashSet<Vec<u8>>,
) -> anyhow::Result<Result<Stamps, Skipped>> {
    let Partial {
        mut paths,
        mut stamps,
        tracked,
        index_entries,
    } = partial;
    let (disk, indexed): (Vec<Tracked>, Vec<Tracked>) = tracked
        .into_iter()
        .partition(|t| t.indexed.is_none() || differing.contains(&t.path));
    let disk_stamps = stamps_from_disk(
        &place.root,
        &disk.iter().map(|t| &t.path[..]).collect::<Vec<_>>(),
    )?;
    let from_index = indexed
        .iter()
        .filter_map(|t| Some((t.path.as_slice(), t.indexed.as_ref()?)));
    let from_disk = disk.iter().map(|t| t.path.as_slice()).zip(&disk_stamps);
    if let Some(changed) = first_not_older(from_index.chain(from_disk), place.since) {
        return Ok(Err(changed));
    }
    let positions = disk.iter().map(|t| t.at).collect();
    paths.extend(disk.into_iter().map(|t| t.path));
    stamps.extend(disk_stamps);
    Ok(Ok(Stamps {
        paths,
        stamps,
        index_entries,
        from_disk: positions,
    }))
}

/// Write the cache: to the temporary file, then renamed over the old one.
fn write(place: &Place, cached: Cached, kept: &Stamps) -> anyhow::Result<()> {
    let (paths, stamps) = (&kept.paths, &kept.stamps);
    let reports = place.reports.as_bytes();
    let mut out = Vec::with_capacity(paths.len() * 96);
    out.extend_from_slice(MAGIC);
    for (name, oid) in [
        ("head", cached.head),
        ("tree", cached.tree),
        ("index", cached.index_tree),
        ("settings", settings_hash()),
    ] {
        out.extend_from_slice(format!("{name} {oid}\n").as_bytes());
    }
    out.extend_from_slice(format!("reports {}\n", reports.len()).as_bytes());
    out.extend_from_slice(reports);
    out.extend_from_slice(format!("\nentries {}\n", paths.len()).as_bytes());
    for (p, s) in paths.iter().zip(stamps) {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
        for v in s {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(
        format!(
            "index {}\nfrom disk {}\n",
            kept.index_entries,
            kept.from_disk.len()
        )
        .as_bytes(),
    );
    for at in &kept.from_disk {
        out.extend_from_slice(&at.to_le_bytes());
    }
    out.extend_from_slice(END);
    fs::write(&place.tmp, out).context("could not write the scan cache")?;
    fs::rename(&place.tmp, &place.file).context("could not write the scan cache")
}

/// Remove the cache (nothing to do when there is none).
pub fn forget(repo: &Repo) {
    let _ = fs::remove_file(file(repo));
}

/// A small reader over the cache's bytes: `None` at anything unexpected.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn line(&mut self) -> Option<&'a [u8]> {
        let end = self.bytes.iter().position(|b| *b == b'\n')?;
        let line = self.take(end)?;
        self.take(1)?;
        Some(line)
    }

    fn field(&mut self, name: &str) -> Option<&'a str> {
        let line = std::str::from_utf8(self.line()?).ok()?;
        line.strip_prefix(name)?.strip_prefix(' ')
    }

    fn oid(&mut self, name: &str) -> Option<Oid> {
        parse_oid(self.field(name)?).ok()
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn parse(bytes: &[u8]) -> Option<Contents> {
    let mut r = Reader {
        bytes: bytes.strip_prefix(MAGIC)?,
    };
    let cached = Cached {
        head: r.oid("head")?,
        tree: r.oid("tree")?,
        index_tree: r.oid("index")?,
    };
    let settings = r.oid("settings")?;
    let len: usize = r.field("reports")?.parse().ok()?;
    let reports = r.take(len)?.to_vec();
    r.take(1)?;
    let count: usize = r.field("entries")?.parse().ok()?;
    let mut entries = Vec::with_capacity(count.min(bytes.len() / 60));
    for _ in 0..count {
        let len = r.u32()? as usize;
        let path = PathBuf::from(OsStr::from_bytes(r.take(len)?));
        let mut stamp = ABSENT;
        for v in &mut stamp {
            *v = r.i64()?;
        }
        entries.push(Entry { path, stamp });
    }
    let index_entries: u32 = r.field("index")?.parse().ok()?;
    let count: usize = r.field("from disk")?.parse().ok()?;
    let mut from_disk = Vec::with_capacity(count.min(r.bytes.len() / 4));
    for _ in 0..count {
        let at = r.u32()?;
        // Ascending positions of the index's entries.
        if at >= index_entries || from_disk.last().is_some_and(|last| *last >= at) {
            return None;
        }
        from_disk.push(at);
    }
    (r.bytes == END).then_some(Contents {
        cached,
        reports,
        settings,
        entries,
        index_entries,
        from_disk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_taken_at_or_after_the_start_is_not_older() {
        let s: Stamp = [1, 0o100644, 3, 100, 5, 100, 7];
        assert!(!not_older(&s, (100, 8)));
        assert!(not_older(&s, (100, 7)));
        assert!(not_older(&s, (100, 6)));
        assert!(!not_older(&ABSENT, (0, 0)));
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// The stat data git records in the index for a file, read as a
    /// stamp, is the stamp `lstat` gives for it: otherwise no cache whose
    /// tracked files are stamped from the index would ever hold.
    #[test]
    fn the_index_stat_data_git_writes_is_the_files_stamp() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        git(root, &["init", "-q"]);
        fs::create_dir_all(root.join("src/deep")).expect("mkdir");
        fs::write(root.join("plain.txt"), "plain\n").expect("write");
        fs::write(root.join("src/deep/run.sh"), "#!/bin/sh\n").expect("write");
        fs::set_permissions(
            root.join("src/deep/run.sh"),
            fs::Permissions::from_mode(0o775),
        )
        .expect("chmod");
        std::os::unix::fs::symlink("plain.txt", root.join("link")).expect("symlink");
        // An mtime far from the ctime, nanoseconds included: a swapped
        // field shows.
        let touched = std::process::Command::new("touch")
            .args(["-m", "-d", "@1000000000.123456789", "plain.txt"])
            .current_dir(root)
            .status()
            .expect("touch runs");
        assert!(touched.success());
        git(root, &["add", "-A"]);
        git(root, &["update-index", "--refresh"]);
        let mut from_index = Vec::new();
        crate::git::staged::each_index_entry(&root.join(".git/index"), |path, mode, _, stat| {
            from_index.push((path.to_vec(), stamp_of_index(mode, stat)));
        })
        .expect("git's index is read");
        assert_eq!(from_index.len(), 3);
        let mut stamper = Stamper::new(root);
        for (path, indexed) in from_index {
            let name = String::from_utf8_lossy(&path).into_owned();
            // Both ways the cache stamps a file: through its folder's
            // handle, and by its whole path.
            assert_eq!(stamper.stamp(&path), indexed, "{name}");
            assert_eq!(
                stamp(&root.join(OsStr::from_bytes(&path))),
                indexed,
                "{name}"
            );
        }
    }

    #[test]
    fn a_racy_index_entry_is_not_a_stamp() {
        // ctime s, ns; mtime s, ns; inode; size.
        let stat: IndexStat = [1_700_000_300, 5, 1_700_000_200, 7, 42, 9];
        let stamp = trusted_stamp(0o100644, &stat, Some(1_700_000_201));
        assert_eq!(
            stamp,
            Some([42, 0o100000, 9, 1_700_000_200, 7, 1_700_000_300, 5])
        );
        // Modified in the index's second (whatever the nanoseconds), or
        // after it, or with no index time known: stamped from the disk.
        assert_eq!(trusted_stamp(0o100644, &stat, Some(1_700_000_200)), None);
        assert_eq!(trusted_stamp(0o100644, &stat, Some(1_700_000_100)), None);
        assert_eq!(trusted_stamp(0o100644, &stat, None), None);
    }

    #[test]
    fn a_torn_or_foreign_file_is_no_cache() {
        assert!(parse(b"").is_none());
        assert!(parse(b"something else\n").is_none());
        let mut good = MAGIC.to_vec();
        let oid = "0123456789012345678901234567890123456789";
        for name in ["head", "tree", "index", "settings"] {
            good.extend_from_slice(format!("{name} {oid}\n").as_bytes());
        }
        good.extend_from_slice(b"reports 9\nrollbacks\nentries 1\n");
        good.extend_from_slice(&3u32.to_le_bytes());
        good.extend_from_slice(b"a/b");
        for v in [1i64, 2, 3, 4, 5, 6, 7] {
            good.extend_from_slice(&v.to_le_bytes());
        }
        good.extend_from_slice(b"index 5\nfrom disk 2\n");
        let positions = good.len();
        for at in [1u32, 4] {
            good.extend_from_slice(&at.to_le_bytes());
        }
        good.extend_from_slice(END);
        let contents = parse(&good).expect("a whole file parses");
        assert_eq!(contents.reports, b"rollbacks");
        assert_eq!(contents.entries[0].path, Path::new("a/b"));
        assert_eq!(contents.entries[0].stamp, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            (contents.index_entries, contents.from_disk),
            (5, vec![1, 4])
        );
        for cut in [1, 10, good.len() - 1] {
            assert!(parse(&good[..good.len() - cut]).is_none(), "cut {cut}");
        }
        // Positions out of order, repeated or past the index's end are no
        // cache: they would pick the wrong entries' stamps.
        for wrong in [[4u32, 1], [1, 1], [1, 5]] {
            let mut bad = good.clone();
            bad[positions..positions + 4].copy_from_slice(&wrong[0].to_le_bytes());
            bad[positions + 4..positions + 8].copy_from_slice(&wrong[1].to_le_bytes());
            assert!(parse(&bad).is_none(), "{wrong:?}");
        }
    }
}
