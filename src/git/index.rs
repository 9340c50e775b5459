//! The index file: saved byte for byte, restored byte for byte, and its
//! objects kept alive for `git gc`.
//!
//! libgit2 reports "locked" only after it has rewritten the work tree
//! (`docs/libgit2-pitfalls.md` P2), so the lock is taken by us, before anything
//! is touched (the journal's `IndexLock`, held for a whole operation), and a
//! held `index.lock` is refused up front. A staged-only
//! change can be silently dropped by a checkout (P5), so the index is saved
//! as a file, not reconstructed.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Context as _;
use git2::{FileMode, Index, Oid};

use super::indexfile::{self, IndexFile};
use super::Repo;
use crate::error::user;

pub fn index_lock_error(path: &Path) -> crate::error::UserError {
    user(format!(
        "{} exists: another git process is using this repository",
        path.display()
    ))
    .hint("wait for it to finish; if no git process is running, remove that file")
}

/// Refuse when another git process holds the index lock.
pub fn check_index_unlocked(repo: &Repo) -> anyhow::Result<()> {
    let path = repo.git_dir().join("index.lock");
    if fs::symlink_metadata(&path).is_ok() {
        return Err(index_lock_error(&path).into());
    }
    Ok(())
}

/// The index file's bytes, or `None` when there is no index yet.
pub fn read_index_file(repo: &Repo) -> anyhow::Result<Option<Vec<u8>>> {
    match fs::read(repo.git_dir().join("index")) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context("could not read the index"),
    }
}

/// The trees that describe an index: the tree of its stage-0 entries (what
/// `git write-tree` would give, conflicts left out), and a tree that holds
/// every object the index names, conflict stages included, so that `git gc`
/// keeps them while a journal entry needs them.
pub struct IndexTrees {
    /// Stage-0 entries git's status does not look at (skip-worktree or
    /// assume-unchanged): path, object and mode.
    pub flagged: Vec<(Vec<u8>, Oid, u32)>,
    pub stage0: Oid,
    pub keepalive: Oid,
    pub has_conflicts: bool,
    pub sparse: bool,
}

/// The trees of the index, read once: stage 0, the keep-alive tree of
/// every stage, the flagged entries. New trees are written loose.
pub fn index_trees(repo: &Repo) -> anyhow::Result<IndexTrees> {
    prepare_index_trees(repo)?.write(repo, None)
}

/// The index read and its entries sorted out, its trees not written yet.
pub enum PreparedTrees {
    /// The tree of an index this process wrote: nothing to read.
    Remembered(Oid),
    Read {
        index: TreeSource,
        flagged: Vec<(Vec<u8>, Oid, u32)>,
        /// Objects of the conflict stages, kept alive beside stage 0.
        extra: Vec<Oid>,
        has_conflicts: bool,
        sparse: bool,
    },
}

impl PreparedTrees {
    /// The index as our own reader read it, when the trees come from it.
    pub fn own_index(&self) -> Option<&Rc<IndexFile>> {
        match self {
            PreparedTrees::Read {
                index: TreeSource::Own(own),
                ..
            } => Some(own),
            _ => None,
        }
    }
}

/// The whole index, read by our own reader, beside the part of it libgit2
/// was given (the file `part`).
pub struct WholeIndex {
    pub(crate) part: PathBuf,
    pub(crate) whole: Rc<IndexFile>,
}

/// What the index's trees are written from.
pub enum TreeSource {
    /// Our own reading of the index file (`indexfile`).
    Own(Rc<IndexFile>),
    /// libgit2's, conflicts removed: an index our reader refuses.
    Libgit2(Index),
}

/// Let go of libgit2's parse of the repository's index; its next use
/// reads the file again. For a snapshot whose command reads nothing more
/// of the index through libgit2 once the status is read (`checkpoint
/// --wip`, `test`): on a 100,000-file tree the parse is 15 MB of the
/// snapshot's peak (docs/design.md, Performance: Memory).
// git2 cannot unset a repository's index; libgit2's own call can.
#[allow(unsafe_code)]
pub(crate) fn forget_libgit2_index(repo: &Repo) {
    use git2::Binding as _;
    // SAFETY: `repo.inner.raw()` is a valid repository for the length of
    // the call (borrowed from `repo`, used on this thread only).
    // `git_repository_set_index` takes a null index to clear the
    // repository's (include/git2/sys/repository.h of the libgit2 that
    // Cargo.toml pins): it drops the repository's own reference and
    // clears the index's owner. An `Index` still held elsewhere keeps its
    // own reference, so it stays valid; only its calls that need the
    // repository (none here: trees are written with `write_tree_to`)
    // would fail, with an error. libgit2 loads the index from disk again
    // when it is next asked for. The call returns 0 for any repository.
    unsafe {
        libgit2_sys::git_repository_set_index(repo.inner.raw(), std::ptr::null_mut());
    }
    give_back_freed_memory();
}

/// Hand the heap's free pages back to the system. The C library keeps
/// what a program frees for its next allocations; where 100,000 small
/// entries were freed between live ones, their pages would stay resident
/// for the rest of the command, under whatever it allocates and maps next.
#[allow(unsafe_code)]
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory of the allocator's
    // arenas; it takes the allocator's own locks and touches no live
    // allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Read the index for [`PreparedTrees::write`].
///
/// Long because it is one pass over the index entries filling every list
/// at once; the index is read only once per operation.
pub fn prepare_index_trees(repo: &Repo) -> anyhow::Result<PreparedTrees> {
    let path = repo.git_dir().join("index");
    if let Some(tree) = remembered_tree(repo) {
        return Ok(PreparedTrees::Remembered(tree));
    }
    // The repository's own index (status reads the same one); with
    // conflicts, a separate in-memory copy, whose conflicts are cleared
    // without touching the repository's.
    let mut shared = repo.inner.index().context("could not read the index")?;
    // Loaded earlier (before the index lock was taken) and changed since:
    // read it again.
    shared.read(false).context("could not read the index")?;
    crate::trace::phase("index trees: index read");
    // The trees are written from our own reading of the same file: where
    // libgit2's cache-tree is partly invalid, it rewrites the tree and
    // then reads all of it back to rebuild that cache. (Where libgit2 holds
    // only part of the index, the whole was read already.)
    let whole = repo
        .index_file
        .borrow()
        .as_ref()
        .filter(|w| shared.path() == Some(w.part.as_path()))
        .map(|w| Rc::clone(&w.whole));
    if let Some(own) = whole.or_else(|| {
        shared
            .path()
            .and_then(|p| IndexFile::read_path(p).ok())
            .map(Rc::new)
    }) {
        let mut extra = Vec::new();
        let mut flagged = Vec::new();
        let mut sparse = false;
        let mut has_conflicts = false;
        for entry in &own.entries {
            let stage = entry.stage();
            if entry.flags_extended & SKIP_WORKTREE != 0 {
                sparse = true;
            }
            if stage == 0
                && (entry.flags_extended & SKIP_WORKTREE != 0 || entry.flags & ASSUME_VALID != 0)
            {
                flagged.push((entry.path.clone(), entry.oid(), entry.mode()));
            }
            if stage != 0 {
                has_conflicts = true;
                if entry.mode() != u32::from(FileMode::Commit) {
                    extra.push(entry.oid());
                }
            }
        }
        return Ok(PreparedTrees::Read {
            index: TreeSource::Own(own),
            flagged,
            extra,
            has_conflicts,
            sparse,
        });
    }
    let has_conflicts = shared.has_conflicts();
    let mut index = if !has_conflicts {
        shared
    } else if path.exists() {
        Index::open(&path).context("could not read the index")?
    } else {
        Index::new().context("could not create an empty index")?
    };
    let mut extra = Vec::new();
    let mut flagged = Vec::new();
    let mut sparse = false;
    for entry in index.iter() {
        let stage = (entry.flags >> 12) & 3;
        if entry.flags_extended & SKIP_WORKTREE != 0 {
            sparse = true;
        }
        if stage == 0
            && (entry.flags_extended & SKIP_WORKTREE != 0 || entry.flags & ASSUME_VALID != 0)
        {
            flagged.push((entry.path.clone(), entry.id, entry.mode));
        }
        if stage != 0 && entry.mode != u32::from(FileMode::Commit) {
            extra.push(entry.id);
        }
    }
    if has_conflicts {
        let mut paths = Vec::new();
        for conflict in index
            .conflicts()
            .context("could not read the index's conflicts")?
        {
            let conflict = conflict.context("could not read the index's conflicts")?;
            let entry = conflict.our.or(conflict.their).or(conflict.ancestor);
            if let Some(entry) = entry {
                paths.push(entry.path);
            }
        }
        for path in paths {
            index
                .conflict_remove(std::path::Path::new(std::ffi::OsStr::from_bytes(&path)))
                .context("could not read the index's conflicts")?;
        }
    }
    Ok(PreparedTrees::Read {
        index: TreeSource::Libgit2(index),
        flagged,
        extra,
        has_conflicts,
        sparse,
    })
}

impl PreparedTrees {
    /// How many entries the index has (none read: 0).
    pub fn entries(&self) -> usize {
        match self {
            PreparedTrees::Remembered(_) => 0,
            PreparedTrees::Read {
                index: TreeSource::Own(own),
                ..
            } => own.entries.len(),
            PreparedTrees::Read {
                index: TreeSource::Libgit2(index),
                ..
            } => index.len(),
        }
    }

    /// How many stage-0 entries status does not look at.
    pub fn flagged_len(&self) -> usize {
        match self {
            PreparedTrees::Remembered(_) => 0,
            PreparedTrees::Read { flagged, .. } => flagged.len(),
        }
    }

    /// Write the index's trees: loose (`side` `None`), or through the
    /// handle of a batch of objects (`BlobSink::object_repo`), which
    /// packs the new ones with the snapshot's blobs. A new tree written
    /// loose costs a file of its own, and the index of a large tree with
    /// staged changes in many folders has hundreds.
    pub fn write(self, repo: &Repo, side: Option<&git2::Repository>) -> anyhow::Result<IndexTrees> {
        Ok(self.write_keeping_index(repo, side)?.0)
    }

    /// [`PreparedTrees::write`], also handing back the index the trees
    /// were written from when the tool's own reader read it: a snapshot
    /// applies its changes to those entries rather than reading the
    /// index's trees back from the object store.
    pub fn write_keeping_index(
        self,
        repo: &Repo,
        side: Option<&git2::Repository>,
    ) -> anyhow::Result<(IndexTrees, Option<Rc<IndexFile>>)> {
        let (index, flagged, extra, has_conflicts, sparse) = match self {
            PreparedTrees::Remembered(tree) => {
                let trees = IndexTrees {
                    flagged: Vec::new(),
                    stage0: tree,
                    keepalive: tree,
                    has_conflicts: false,
                    sparse: false,
                };
                return Ok((trees, None));
            }
            PreparedTrees::Read {
                index,
                flagged,
                extra,
                has_conflicts,
                sparse,
            } => (index, flagged, extra, has_conflicts, sparse),
        };
        let objects = side.unwrap_or(&repo.inner);
        crate::trace::phase("index trees: write tree");
        // Strict object creation is off for the whole process (see
        // `Repo::discover`): the entries' objects are the index's own, and
        // checking each (a pack header read per entry) costs 60 ms for the
        // 20,000 entries of 200 changed directories.
        let (stage0, own) = match index {
            TreeSource::Own(own) => {
                let odb = objects
                    .odb()
                    .context("could not open the object database")?;
                (own.write_tree(&odb)?, Some(own))
            }
            TreeSource::Libgit2(mut index) => {
                let tree = index
                    .write_tree_to(objects)
                    .context("could not write the index as a tree")?;
                (tree, None)
            }
        };
        let keepalive = if extra.is_empty() {
            stage0
        } else {
            let mut conflicts = objects.treebuilder(None)?;
            for (n, id) in extra.iter().enumerate() {
                conflicts.insert(format!("{n:06}"), *id, FileMode::Blob.into())?;
            }
            let conflicts = conflicts.write()?;
            let mut top = objects.treebuilder(None)?;
            top.insert("stage0", stage0, FileMode::Tree.into())?;
            top.insert("conflicts", conflicts, FileMode::Tree.into())?;
            top.write()?
        };
        if side.is_none() {
            repo.written().tree(stage0);
            repo.written().tree(keepalive);
        }
        let trees = IndexTrees {
            flagged,
            stage0,
            keepalive,
            has_conflicts,
            sparse,
        };
        Ok((trees, own))
    }
}

/// The stage-0 paths git's status does not look at: skip-worktree or
/// assume-unchanged entries.
pub fn flagged_paths(repo: &Repo) -> anyhow::Result<std::collections::HashSet<Vec<u8>>> {
    let flagged = |flags: u16, flags_extended: u16| {
        (flags >> 12) & 3 == 0 && (flags_extended & SKIP_WORKTREE != 0 || flags & ASSUME_VALID != 0)
    };
    // The tool's own reader, a fraction of libgit2's parse of a large
    // index; libgit2's for an index it refuses (a split index).
    if let Ok(index) = IndexFile::read(repo) {
        return Ok(index
            .entries
            .into_iter()
            .filter(|e| flagged(e.flags, e.flags_extended))
            .map(|e| e.path)
            .collect());
    }
    let index = repo.inner.index().context("could not read the index")?;
    Ok(index
        .iter()
        .filter(|e| flagged(e.flags, e.flags_extended))
        .map(|e| e.path)
        .collect())
}

/// Whether any index entry is marked skip-worktree (a sparse checkout, or
/// `git update-index --skip-worktree`). Asked before every rollback: read
/// as [`flagged_paths`] reads the index, not by libgit2's parse.
pub fn has_skip_worktree(repo: &Repo) -> anyhow::Result<bool> {
    if let Ok(index) = IndexFile::read(repo) {
        return Ok(index
            .entries
            .iter()
            .any(|e| e.flags_extended & SKIP_WORKTREE != 0));
    }
    let index = repo.inner.index().context("could not read the index")?;
    let found = index.iter().any(|e| e.flags_extended & SKIP_WORKTREE != 0);
    Ok(found)
}

/// `GIT_INDEX_ENTRY_SKIP_WORKTREE` in `flags_extended`.
pub const SKIP_WORKTREE: u16 = 1 << 14;
/// `GIT_INDEX_ENTRY_VALID` (assume-unchanged) in `flags`.
pub const ASSUME_VALID: u16 = 0x8000;

/// The bytes of an index holding `tree` (as `git reset --hard` leaves it),
/// with stat data so that git does not re-read every file: taken from the
/// work tree for `written` paths, and copied from the current index for
/// entries whose content is unchanged.
pub fn index_for_tree(
    repo: &Repo,
    tree: Oid,
    written: &std::collections::HashSet<Vec<u8>>,
) -> anyhow::Result<Vec<u8>> {
    let old_path = repo.git_dir().join("index");
    // Our own reader and writer (`indexfile`); libgit2 for an index they
    // refuse (a split or sparse index).
    if let Ok(old) = IndexFile::read_path(&old_path) {
        return Ok(IndexFile::from_tree(repo, tree, &old, written)?.to_bytes());
    }
    // The repository's cached index is the current one (read-only here).
    let old = if old_path.exists() {
        Some(repo.inner.index().context("could not read the index")?)
    } else {
        None
    };
    let tree = repo
        .inner
        .find_tree(tree)
        .context("could not read the tree")?;
    build_index(repo, None, |index| {
        index
            .read_tree(&tree)
            .context("could not read the tree into the index")?;
        let entries: Vec<git2::IndexEntry> = index.iter().collect();
        fill_stat(repo, index, entries, old.as_ref(), written)
    })
}

/// The bytes of an index holding `entries` (conflict stages allowed), with
/// stat data as [`index_for_tree`] fills them in.
pub fn index_for_entries(
    repo: &Repo,
    entries: Vec<git2::IndexEntry>,
    written: &std::collections::HashSet<Vec<u8>>,
) -> anyhow::Result<Vec<u8>> {
    if let Ok(old) = IndexFile::read(repo) {
        return Ok(entries_index(repo, &entries, &old, written).to_bytes());
    }
    let old = if repo.git_dir().join("index").exists() {
        Some(repo.inner.index().context("could not read the index")?)
    } else {
        None
    };
    build_index(repo, None, |index| {
        for e in &entries {
            index.add(e).context("could not add an index entry")?;
        }
        fill_stat(repo, index, entries, old.as_ref(), written)
    })
}

/// [`index_for_entries`] by our own writer: the entries in git's order
/// (a later entry of the same path and stage replacing an earlier one, as
/// libgit2's add does), stat data filled as [`fill_stat`] fills them.
fn entries_index(
    repo: &Repo,
    entries: &[git2::IndexEntry],
    old: &IndexFile,
    written: &std::collections::HashSet<Vec<u8>>,
) -> IndexFile {
    let mut new: Vec<indexfile::Entry> = entries.iter().map(indexfile::Entry::from_git2).collect();
    // Stable: of equal keys the last added ends up last, and is kept.
    new.sort_by(|a, b| (&a.path, a.stage()).cmp(&(&b.path, b.stage())));
    let mut kept: Vec<indexfile::Entry> = Vec::with_capacity(new.len());
    for e in new {
        match kept.last_mut() {
            Some(last) if last.path == e.path && last.stage() == e.stage() => *last = e,
            _ => kept.push(e),
        }
    }
    indexfile::fill_stat(&mut kept, old, repo.workdir(), written);
    IndexFile {
        version: 2,
        entries: kept,
        extensions: Vec::new(),
    }
}

/// Stat data for stage-0 entries: from the work tree for `written` paths,
/// from the old index where the content is the same.
fn fill_stat(
    repo: &Repo,
    index: &mut Index,
    entries: Vec<git2::IndexEntry>,
    old: Option<&Index>,
    written: &std::collections::HashSet<Vec<u8>>,
) -> anyhow::Result<()> {
    let root = repo.workdir();
    for mut entry in entries {
        if entry.flags & 0x3000 != 0 {
            continue;
        }
        let mut changed = false;
        if written.contains(&entry.path) {
            let full = root.join(std::ffi::OsStr::from_bytes(&entry.path));
            if let Ok(meta) = fs::symlink_metadata(&full) {
                set_stat(&mut entry, &meta);
                changed = true;
            }
        } else if let Some(prev) = old.and_then(|o| {
            o.get_path(
                std::path::Path::new(std::ffi::OsStr::from_bytes(&entry.path)),
                0,
            )
        }) {
            if prev.id == entry.id && prev.mode == entry.mode {
                entry.ctime = prev.ctime;
                entry.mtime = prev.mtime;
                entry.dev = prev.dev;
                entry.ino = prev.ino;
                entry.uid = prev.uid;
                entry.gid = prev.gid;
                entry.file_size = prev.file_size;
                changed = true;
            }
        }
        if changed {
            index
                .add(&entry)
                .context("could not update an index entry")?;
        }
    }
    Ok(())
}

/// Build an index in a temporary file beside the journal (never the
/// repository's own), starting from `initial` bytes or empty, and return
/// the bytes libgit2 wrote; the temporary file is always removed.
fn build_index(
    repo: &Repo,
    initial: Option<Vec<u8>>,
    fill: impl FnOnce(&mut Index) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    let dir = repo.git_dir().join("rollback");
    fs::create_dir_all(&dir).context("could not create the rollback folder")?;
    let tmp = tempfile::Builder::new()
        .prefix("index-")
        .tempfile_in(&dir)
        .context("could not create a temporary index")?;
    let tmp_path = tmp.path().to_path_buf();
    drop(tmp);
    let result = (|| -> anyhow::Result<Vec<u8>> {
        match initial {
            Some(bytes) => fs::write(&tmp_path, bytes).context("could not copy the index")?,
            None => {
                let _ = fs::remove_file(&tmp_path);
            }
        }
        let mut index = Index::open(&tmp_path).context("could not create a temporary index")?;
        fill(&mut index)?;
        // A temporary index file of our own, not the repository's.
        #[allow(clippy::disallowed_methods)]
        index
            .write()
            .context("could not write the temporary index")?;
        fs::read(&tmp_path).context("could not read the temporary index")
    })();
    let _ = fs::remove_file(&tmp_path);
    result
}

/// An entry's stat data from the file on disk, as git records them.
fn set_stat(entry: &mut git2::IndexEntry, meta: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    entry.ctime = git2::IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32);
    entry.mtime = git2::IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32);
    entry.dev = meta.dev() as u32;
    entry.ino = meta.ino() as u32;
    entry.uid = meta.uid();
    entry.gid = meta.gid();
    entry.file_size = meta.size() as u32;
}

/// Where the tree of an index this tool wrote is remembered, by the index
/// file's trailing checksum: an index built from a tree has no cache-tree
/// extension once its stat data are filled in, and recomputing its tree
/// costs a tenth of a second per 100,000 files on the next command.
fn remembered_path(repo: &Repo) -> std::path::PathBuf {
    repo.git_dir().join("rollback").join("index-tree")
}

fn index_checksum(repo: &Repo) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = fs::File::open(repo.git_dir().join("index")).ok()?;
    let len = f.metadata().ok()?.len();
    if len < 32 {
        return None;
    }
    f.seek(SeekFrom::End(-20)).ok()?;
    let mut sum = vec![0u8; 20];
    f.read_exact(&mut sum).ok()?;
    Some(sum)
}

/// Remember that the index file now in place (written from `tree`, without
/// conflicts or flagged entries) has that tree.
pub fn remember_tree(repo: &Repo, tree: Oid) {
    if let Some(sum) = index_checksum(repo) {
        let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
        let _ = fs::write(remembered_path(repo), format!("{hex} {tree}\n"));
    }
}

fn remembered_tree(repo: &Repo) -> Option<Oid> {
    let text = fs::read_to_string(remembered_path(repo)).ok()?;
    let (hex, tree) = text.trim().split_once(' ')?;
    let sum = index_checksum(repo)?;
    let now: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    if now != hex {
        return None;
    }
    let tree = Oid::from_str(tree).ok()?;
    repo.has_object(tree).then_some(tree)
}

/// Set some paths in an index (as `git checkout <rev> -- <path>` sets them:
/// stage 0, any conflict at the path resolved, stat data from the file
/// just written) and remove others.
pub fn set_paths(
    index: &mut Index,
    workdir: &Path,
    set: &[(Vec<u8>, Oid, u32)],
    remove: &[Vec<u8>],
) -> anyhow::Result<()> {
    let as_path = |p: &[u8]| std::path::Path::new(std::ffi::OsStr::from_bytes(p)).to_path_buf();
    for path in remove {
        let p = as_path(path);
        let _ = index.conflict_remove(&p);
        let _ = index.remove_path(&p);
    }
    for (path, id, mode) in set {
        let p = as_path(path);
        let _ = index.conflict_remove(&p);
        let zero = git2::IndexTime::new(0, 0);
        let mut entry = git2::IndexEntry {
            ctime: zero,
            mtime: zero,
            dev: 0,
            ino: 0,
            mode: *mode,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: *id,
            flags: path.len().min(0xfff) as u16,
            flags_extended: 0,
            path: path.clone(),
        };
        if let Ok(meta) = fs::symlink_metadata(workdir.join(&p)) {
            set_stat(&mut entry, &meta);
        }
        index
            .add(&entry)
            .context("could not update an index entry")?;
    }
    Ok(())
}

/// Which index file an [`EditableIndex`] was read from, to check under the
/// index lock that it is still the repository's index.
#[derive(Debug, Clone)]
pub struct IndexSource {
    /// The private file the index was read from.
    path: PathBuf,
    /// Device and inode of the index file, when `path` is a hard link to it.
    linked: Option<(u64, u64)>,
    existed: bool,
}

impl IndexSource {
    /// Whether the repository's index file is still the one that was read:
    /// the same inode for a hard link (which the link keeps from being
    /// reused; every index writer replaces the file by a rename), the same
    /// bytes for a copy, still none when there was none.
    pub fn is_current(&self, repo: &Repo) -> anyhow::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let index = repo.git_dir().join("index");
        let meta = match fs::symlink_metadata(&index) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(!self.existed),
            Err(e) => return Err(e).context("could not read the index"),
        };
        if !self.existed {
            return Ok(false);
        }
        if let Some(id) = self.linked {
            return Ok((meta.dev(), meta.ino()) == id);
        }
        let now = fs::read(&index).context("could not read the index")?;
        let then = fs::read(&self.path).context("could not read the index")?;
        Ok(now == then)
    }
}

/// The repository's index, parsed once and shared by everything a command
/// does: read from a private hard link to the index file (or a copy where a
/// link cannot be made) and installed as the repository's index, so the
/// plan, the scan and the index tree do not parse it again. Changed in
/// memory, it is written by libgit2 beside the link (never over the index
/// itself) and then renamed in under the index lock by the caller that
/// holds it.
pub struct EditableIndex {
    source: IndexSource,
    index: Index,
    /// The whole index as our own reader read it, when libgit2 holds only
    /// the part under the command's paths (in the file `part`).
    whole: Option<Rc<IndexFile>>,
    part: Option<PathBuf>,
}

impl EditableIndex {
    pub fn open(repo: &Repo) -> anyhow::Result<EditableIndex> {
        Self::open_under(repo, &[])
    }

    /// [`EditableIndex::open`] for a command that looks only at `paths`
    /// (all of them for none): libgit2, which parses an index several
    /// times slower than git (docs/design.md, Performance: "The index
    /// file"), is given only the entries at and under them (and the
    /// attribute and submodule files it may look up), for the status and
    /// the lookups of those paths; the whole index, read by our own
    /// reader, serves the index's tree and the index written at the end.
    pub fn open_under(repo: &Repo, paths: &[super::RepoPath]) -> anyhow::Result<EditableIndex> {
        use std::os::unix::fs::MetadataExt;
        let dir = repo.git_dir().join("rollback");
        fs::create_dir_all(&dir).context("could not create the rollback folder")?;
        let tmp = tempfile::Builder::new()
            .prefix("index-edit-")
            .tempfile_in(&dir)
            .context("could not create a temporary index")?;
        let path = tmp.path().to_path_buf();
        drop(tmp);
        let mut source = IndexSource {
            path: path.clone(),
            linked: None,
            existed: false,
        };
        let mut part = None;
        let opened = (|| -> anyhow::Result<(Index, Option<Rc<IndexFile>>)> {
            let index_path = repo.git_dir().join("index");
            match fs::symlink_metadata(&index_path) {
                Ok(meta) => {
                    source.existed = true;
                    if meta.file_type().is_file() && fs::hard_link(&index_path, &path).is_ok() {
                        source.linked = Some((meta.dev(), meta.ino()));
                    } else {
                        let _ = fs::remove_file(&path);
                        fs::copy(&index_path, &path).context("could not copy the index")?;
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e).context("could not read the index"),
            }
            let whole = if paths.is_empty() || !source.existed {
                None
            } else {
                IndexFile::read_path(&path).ok().map(Rc::new)
            };
            let mut index = match &whole {
                Some(whole) => {
                    let mut part_path = path.clone().into_os_string();
                    part_path.push(".part");
                    let part_path = PathBuf::from(part_path);
                    part = Some(part_path.clone());
                    fs::write(&part_path, part_of(whole, paths).to_bytes())
                        .context("could not write a temporary index")?;
                    Index::open(&part_path).context("could not read the index")?
                }
                None => Index::open(&path).context("could not read the index")?,
            };
            repo.inner
                .set_index(&mut index)
                .context("could not read the index")?;
            *repo.index_file.borrow_mut() = match (&whole, &part) {
                (Some(whole), Some(part)) => Some(WholeIndex {
                    part: part.clone(),
                    whole: Rc::clone(whole),
                }),
                _ => None,
            };
            Ok((index, whole))
        })();
        match opened {
            Ok((index, whole)) => Ok(EditableIndex {
                source,
                index,
                whole,
                part,
            }),
            Err(e) => {
                let _ = fs::remove_file(&path);
                if let Some(part) = part {
                    let _ = fs::remove_file(part);
                }
                Err(e)
            }
        }
    }

    pub fn source(&self) -> &IndexSource {
        &self.source
    }

    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    /// Set and remove paths as [`set_paths`] does, by our own reader and
    /// writer when they take the index (the in-memory index is not
    /// changed then: it is not used after this), write the result to the
    /// private file and sync it, and return that file's path for the
    /// transaction to rename over the index.
    pub fn write_with(
        &mut self,
        workdir: &Path,
        set: &[(Vec<u8>, Oid, u32)],
        remove: &[Vec<u8>],
        written: &std::collections::HashSet<&[u8]>,
    ) -> anyhow::Result<&Path> {
        // The whole index read at the start (no one else holds it by now:
        // the scan is over), or read now.
        let read = match self.whole.take() {
            Some(whole) => Ok(Rc::try_unwrap(whole).unwrap_or_else(|shared| (*shared).clone())),
            None => IndexFile::read_path(&self.source.path),
        };
        let Ok(mut file) = read else {
            set_paths(&mut self.index, workdir, set, remove)?;
            return self.write();
        };
        let mut changes: Vec<(Vec<u8>, Vec<indexfile::Entry>)> =
            remove.iter().map(|p| (p.clone(), Vec::new())).collect();
        for (path, id, mode) in set {
            let mut e = indexfile::Entry::new(path.clone(), *id, *mode);
            let unchanged = if written.contains(path.as_slice()) {
                None
            } else {
                file.stage0(path)
                    .filter(|old| old.oid() == *id && old.mode() == *mode)
            };
            match unchanged {
                Some(old) => e.copy_stat_from(old),
                None => {
                    if let Ok(meta) =
                        fs::symlink_metadata(workdir.join(std::ffi::OsStr::from_bytes(path)))
                    {
                        e.set_stat(&meta);
                    }
                }
            }
            changes.push((path.clone(), vec![e]));
        }
        // A path both removed and set is set (set_paths removes first).
        changes.reverse();
        file.replace_paths(changes);
        let mut tmp = self.source.path.clone().into_os_string();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let written = (|| -> anyhow::Result<()> {
            let mut f = File::create(&tmp)?;
            file.write_to(&mut f)?;
            f.sync_all()?;
            fs::rename(&tmp, &self.source.path)?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e).context("could not write the index");
        }
        Ok(&self.source.path)
    }

    /// Write the changed index to its private file (libgit2 writes a new
    /// file and renames it there), sync it, and return its path for the
    /// transaction to rename over the index.
    pub fn write(&mut self) -> anyhow::Result<&Path> {
        // The private copy; only the transaction renames it over the index.
        #[allow(clippy::disallowed_methods)]
        self.index.write().context("could not write the index")?;
        File::open(&self.source.path)
            .and_then(|f| f.sync_all())
            .context("could not sync the index")?;
        Ok(&self.source.path)
    }
}

/// The entries of `whole` at and under `paths`, with every `.gitattributes`
/// and `.gitmodules` entry (libgit2 may look those up for these paths).
fn part_of(whole: &IndexFile, paths: &[super::RepoPath]) -> IndexFile {
    let all = &whole.entries;
    let mut keep = vec![false; all.len()];
    // Entries are sorted: the path itself is one run, the entries under
    // `path/` another.
    for path in paths {
        let path = path.as_bytes();
        if path.is_empty() {
            keep.fill(true);
            break;
        }
        let mut under = path.to_vec();
        under.push(b'/');
        let from = all.partition_point(|e| e.path.as_slice() < path);
        for (n, e) in all.iter().enumerate().skip(from) {
            if e.path != path {
                break;
            }
            keep[n] = true;
        }
        let from = all.partition_point(|e| e.path < under);
        for (n, e) in all.iter().enumerate().skip(from) {
            if !e.path.starts_with(&under) {
                break;
            }
            keep[n] = true;
        }
    }
    let entries = all
        .iter()
        .zip(keep)
        .filter(|(e, keep)| {
            let name = e.path.rsplit(|&c| c == b'/').next().unwrap_or(&e.path);
            *keep || name == b".gitattributes" || name == b".gitmodules"
        })
        .map(|(e, _)| e.clone())
        .collect();
    IndexFile {
        version: 2,
        entries,
        extensions: Vec::new(),
    }
}

impl Drop for EditableIndex {
    fn drop(&mut self) {
        if let Some(part) = &self.part {
            let _ = fs::remove_file(part);
        }
        // Gone once renamed into place; removed here on any other way out.
        let _ = fs::remove_file(&self.source.path);
        let mut lock = self.source.path.clone().into_os_string();
        lock.push(".lock");
        let _ = fs::remove_file(lock);
    }
}

impl Repo {
    /// The paths in the index at or under `path` (everything for the empty
    /// path), each once whatever its stages, in index order. Reads the
    /// repository's own index (re-read when the file changed on disk), so
    /// that the scan after it does not parse the index again.
    pub fn index_paths_under(
        &self,
        path: &super::RepoPath,
    ) -> anyhow::Result<Vec<super::RepoPath>> {
        if !self.git_dir().join("index").exists() {
            return Ok(Vec::new());
        }
        let mut index = self.inner.index().context("could not read the index")?;
        index.read(false).context("could not read the index")?;
        let mut out: Vec<super::RepoPath> = Vec::new();
        each_entry_under(&index, path, |p, _| {
            if out.last() != Some(&p) {
                out.push(p);
            }
        })?;
        Ok(out)
    }
}

/// Visit the entries of `index` at and under `path` (all of them for the
/// empty path), in index order. Entries are sorted by path: those starting
/// with `path` (the path itself, `path.x`, `path/…`) are one run, found by
/// bisection.
pub(crate) fn each_entry_under(
    index: &git2::Index,
    path: &super::RepoPath,
    mut visit: impl FnMut(super::RepoPath, &git2::IndexEntry),
) -> anyhow::Result<()> {
    let prefix = path.as_bytes();
    let start = if prefix.is_empty() {
        0
    } else {
        match index.find_prefix(prefix) {
            Ok(pos) => pos,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(()),
            Err(e) => return Err(e).context("could not read the index"),
        }
    };
    for pos in start..index.len() {
        let Some(entry) = index.get(pos) else { break };
        if !entry.path.starts_with(prefix) {
            break;
        }
        let p = super::RepoPath::from_bytes(&entry.path);
        if p.is_at_or_under(path) {
            visit(p, &entry);
        }
    }
    Ok(())
}

/// A copy of an index entry (`git2::IndexEntry` is not `Clone`).
pub(crate) fn copy_entry(e: &git2::IndexEntry) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: e.ctime,
        mtime: e.mtime,
        dev: e.dev,
        ino: e.ino,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        file_size: e.file_size,
        id: e.id,
        flags: e.flags,
        flags_extended: e.flags_extended,
        path: e.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once let go, libgit2 reads the index from disk again when asked
    /// (what was written since included), and an `Index` held from before
    /// stays readable and still writes its tree.
    #[test]
    #[allow(clippy::disallowed_methods)] // it plays another git process: it writes the index
    fn a_forgotten_index_is_read_again_and_one_held_stays_usable() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let git = git2::Repository::init(dir.path()).expect("git init");
        for name in ["a.txt", "b/c.txt"] {
            let full = dir.path().join(name);
            fs::create_dir_all(full.parent().expect("a folder")).expect("mkdir");
            fs::write(full, name).expect("write");
        }
        crate::git::fixture::commit_everything(&git, "first");
        let repo = Repo::open_ignoring_env(dir.path()).expect("open");
        let mut held = repo.inner.index().expect("the index");
        assert_eq!(held.len(), 2);
        let tree = held.write_tree_to(&repo.inner).expect("its tree");

        forget_libgit2_index(&repo);
        // Another process stages a file meanwhile.
        fs::write(dir.path().join("d.txt"), "d").expect("write");
        let other_repo = git2::Repository::open(dir.path()).expect("open");
        let mut other = other_repo.index().expect("the index");
        other.add_path(Path::new("d.txt")).expect("add");
        other.write().expect("write the index");

        let again = repo.inner.index().expect("the index, read again");
        assert_eq!(again.len(), 3, "read from disk, not the old parse");
        assert!(again.get_path(Path::new("d.txt"), 0).is_some());
        assert_eq!(held.len(), 2, "the one held is still the old parse");
        assert_eq!(
            held.write_tree_to(&repo.inner).expect("its tree again"),
            tree
        );
    }
}
