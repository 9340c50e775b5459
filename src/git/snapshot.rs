//! A snapshot of the work tree as git objects, from one status scan.
//!
//! The snapshot tree starts from the index's tree and takes, for every path
//! whose work-tree content differs from the index (and every untracked,
//! non-ignored file), the raw bytes on disk as a blob — never filtered, so
//! `core.autocrlf` and `.gitattributes` cannot change a byte (P8). Ignored
//! files are not read. Empty directories and file permissions a tree cannot
//! hold are returned beside the tree, for the journal to keep (P11).
//!
//! libgit2's stash is not used: it is slow on large trees and deletes ignored
//! files inside untracked directories (docs/libgit2-pitfalls.md P1;
//! docs/design.md, Performance).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::rc::Rc;

use anyhow::Context as _;
use git2::build::TreeUpdateBuilder;
use git2::{Delta, FileMode, Oid, Status, StatusOptions};
use serde::{Deserialize, Serialize};

use super::batch::{with_blob_sink, BlobSink, LOOSE_BELOW};
use super::indexfile::{Entry, IndexFile};
use super::{index, Repo, RepoPath};
use crate::error::user;

/// Permission bits a git tree cannot record (anything but 644/755 after the
/// umask), kept so that undo gives every file back its exact mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeRecord {
    pub path: RepoPath,
    pub mode: u32,
}

/// The result of one scan of the work tree.
#[derive(Debug, Clone)]
pub struct WorktreeScan {
    /// The whole work tree (tracked and untracked, not ignored) as a tree.
    pub tree: Oid,
    /// The index's stage-0 tree.
    pub index_tree: Oid,
    /// A tree holding every object the index names (conflicts included).
    pub index_keepalive: Oid,
    /// Untracked, non-ignored files.
    pub untracked: Vec<RepoPath>,
    /// Tracked paths whose work-tree content differs from the index.
    pub modified: Vec<RepoPath>,
    /// Tracked paths deleted from the work tree.
    pub deleted: Vec<RepoPath>,
    /// Whether the index differs from HEAD.
    pub staged: bool,
    pub empty_dirs: Vec<RepoPath>,
    pub modes: Vec<ModeRecord>,
    /// Untracked nested repositories: never snapshotted, never touched.
    pub nested_repos: Vec<RepoPath>,
    /// Untracked directories the scan could not read: not in the snapshot,
    /// and left where they are (a directory holding tracked files is
    /// refused instead).
    pub unreadable: Vec<RepoPath>,
    /// Ignored paths (only when asked for; a directory as one path).
    pub ignored: Vec<RepoPath>,
    pub has_conflicts: bool,
    pub sparse: bool,
    /// Skip-worktree (or assume-unchanged) entries with no file on disk:
    /// in the snapshot tree as the index has them (they are not deleted
    /// work), and absent again after an undo.
    pub absent_flagged: Vec<RepoPath>,
}

impl WorktreeScan {
    /// A scan that found the work tree as the index has it: the index's
    /// trees, and whether the index differs from HEAD (one comparison of
    /// tree ids, not a walk).
    fn of_index(repo: &Repo, trees: &index::IndexTrees) -> anyhow::Result<WorktreeScan> {
        let staged = trees.has_conflicts
            || match repo.head_commit()? {
                Some(head) => repo.commit_tree(head)? != trees.stage0,
                None => !is_empty_tree(repo, trees.stage0),
            };
        Ok(WorktreeScan {
            tree: trees.stage0,
            index_tree: trees.stage0,
            index_keepalive: trees.keepalive,
            untracked: Vec::new(),
            modified: Vec::new(),
            deleted: Vec::new(),
            staged,
            empty_dirs: Vec::new(),
            modes: Vec::new(),
            nested_repos: Vec::new(),
            unreadable: Vec::new(),
            ignored: Vec::new(),
            has_conflicts: trees.has_conflicts,
            sparse: trees.sparse,
            absent_flagged: Vec::new(),
        })
    }

    pub fn is_dirty(&self) -> bool {
        self.staged
            || !self.untracked.is_empty()
            || !self.modified.is_empty()
            || !self.deleted.is_empty()
    }
}

/// The process umask, read once.
pub fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        // Reading the umask means setting it; put it straight back. This
        // runs before any other thread creates files.
        use rustix::fs::Mode;
        let old = rustix::process::umask(Mode::from_raw_mode(0o022));
        rustix::process::umask(old);
        old.as_raw_mode()
    })
}

/// The permission bits a file written by git (or by our writer) gets.
pub fn default_perms(executable: bool) -> u32 {
    (if executable { 0o777 } else { 0o666 }) & !umask()
}

/// Scan the work tree and write its snapshot objects, for a command that
/// reads nothing more of the index through libgit2 afterwards
/// (`checkpoint --wip`, `test`): libgit2's parse of the index is let go
/// once the status is read ([`index::forget_libgit2_index`]).
pub fn scan_worktree(repo: &Repo) -> anyhow::Result<WorktreeScan> {
    scan(repo, ScanMode::ForgettingTheIndex, &[])
}

/// Scan only at and under `paths` (all of it when empty): the snapshot tree
/// is the index's tree with the work-tree changes of those paths, so a
/// command that touches a few paths does not read the whole work tree.
pub fn scan_paths(repo: &Repo, paths: &[RepoPath]) -> anyhow::Result<WorktreeScan> {
    scan(repo, ScanMode::Files, paths)
}

/// [`scan_paths`], also saying which of `dirs` are empty directories now
/// (only with `paths`: the whole work tree's scan finds them all).
pub fn scan_paths_and_dirs(
    repo: &Repo,
    paths: &[RepoPath],
    dirs: &[RepoPath],
) -> anyhow::Result<WorktreeScan> {
    let mut scan = scan(repo, ScanMode::Files, paths)?;
    if !paths.is_empty() {
        for dir in empty_among(repo, dirs) {
            if !scan.empty_dirs.contains(&dir) {
                scan.empty_dirs.push(dir);
            }
        }
    }
    Ok(scan)
}

/// Those of `dirs` that are empty directories now.
fn empty_among(repo: &Repo, dirs: &[RepoPath]) -> Vec<RepoPath> {
    dirs.iter()
        .filter(|d| is_empty_dir_now(repo.workdir(), d))
        .cloned()
        .collect()
}

fn is_empty_dir_now(root: &Path, dir: &RepoPath) -> bool {
    let full = dir.under(root);
    fs::symlink_metadata(&full).is_ok_and(|m| m.is_dir())
        && fs::read_dir(&full).is_ok_and(|mut d| d.next().is_none())
}

/// Scan, also listing ignored paths (an ignored directory as one path).
pub fn scan_worktree_with_ignored(repo: &Repo) -> anyhow::Result<WorktreeScan> {
    scan(repo, ScanMode::WithIgnored, &[])
}

/// What a [`scan`] lists, and what it keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScanMode {
    /// Changed and untracked files.
    Files,
    /// Ignored paths too (an ignored directory as one path).
    WithIgnored,
    /// [`ScanMode::Files`], letting go of libgit2's parse of the index
    /// once the status is read ([`scan_worktree`]).
    ForgettingTheIndex,
}

/// The one walk of the work tree behind every snapshot.
///
/// Long because it is a single pass, the costliest of a rollback on a
/// large tree: the index trees, the parallel stat of tracked files, the
/// untracked walk and the blobs written for what changed share buffers and
/// counters that a split would have to hand around (docs/design.md,
/// Performance).
fn scan(repo: &Repo, mode: ScanMode, paths: &[RepoPath]) -> anyhow::Result<WorktreeScan> {
    let with_ignored = mode == ScanMode::WithIgnored;
    crate::trace::phase("scan: index trees");
    let prepared = index::prepare_index_trees(repo)?;
    // The empty directories of the whole work tree, or of the folders a
    // command names, are looked for on a thread of its own (with its own
    // libgit2 handle, for the ignore rules) while libgit2's status walks
    // the work tree on this one. Named files alone are not worth a thread:
    // their search lists a folder or two.
    let (git_dir, root) = (repo.git_dir(), repo.workdir());
    let named = (!paths.is_empty()).then(|| NamedDirs::of(repo, paths));
    let walk_beside =
        crate::walk::threads() >= 2 && named.as_ref().is_none_or(|n| !n.named.is_empty());
    let tracked = if walk_beside && paths.is_empty() {
        all_tracked_dirs(repo, prepared.own_index())
    } else {
        HashSet::new()
    };
    // The empty directories found, and those that could not be listed.
    let search = |handle: &git2::Repository| -> anyhow::Result<(Vec<RepoPath>, Vec<RepoPath>)> {
        let mut unreadable = Vec::new();
        let found = match &named {
            Some(named) => empty_dirs_at(handle, root, paths, named, &mut unreadable)?,
            None => empty_dirs(handle, root, root, false, &tracked, &mut unreadable)?,
        };
        Ok((found, unreadable))
    };
    std::thread::scope(|threads| {
        let beside = walk_beside.then(|| {
            let search = &search;
            threads.spawn(move || search(&super::repo::open_beside(git_dir, root)?))
        });
        crate::trace::phase("scan: status");
        // Index against work tree only: whether the index differs from HEAD is
        // one comparison of tree ids, not a second walk (git's status does both).
        let diff = worktree_diff(repo, with_ignored, paths)?;
        // The status holds its own copy of what it found.
        if mode == ScanMode::ForgettingTheIndex {
            index::forget_libgit2_index(repo);
        }
        let root = repo.workdir();
        // The index's new trees go into the batch with the blobs: one per
        // folder with staged changes, which can be many with few changed
        // files in the work tree. The batch packs them when there are
        // enough (`LOOSE_BELOW`).
        let (trees, mut scan) = with_blob_sink(repo, true, |sink| {
            let (trees, own_index) = prepared.write_keeping_index(repo, sink.object_repo())?;
            sink.add_tree(trees.keepalive);
            let mut scan = WorktreeScan::of_index(repo, &trees)?;
            crate::trace::phase("scan: blobs");
            let mut updates = TreeChanges::default();
            // libgit2's diff does not honour these flags: a skip-worktree file
            // absent from disk (outside a sparse cone) is not a deletion. They
            // are read below, as git's status would treat them.
            let flagged: std::collections::HashSet<&[u8]> =
                trees.flagged.iter().map(|(p, _, _)| p.as_slice()).collect();
            let index_stage0 = sink
                .object_repo()
                .unwrap_or(&repo.inner)
                .find_tree(trees.stage0)
                .context("could not read the index's tree")?;
            let mut changes = 0usize;
            let mut real_dirs = std::collections::HashMap::new();
            for delta in diff.deltas() {
                let status = delta.status();
                let Some(bytes) = delta
                    .new_file()
                    .path_bytes()
                    .or(delta.old_file().path_bytes())
                else {
                    continue;
                };
                if flagged.contains(bytes) {
                    continue;
                }
                let path = RepoPath::from_bytes(bytes);
                match status {
                    Delta::Ignored => {
                        scan.ignored.push(without_slash(bytes));
                        continue;
                    }
                    Delta::Unreadable => {
                        return Err(user(format!("cannot read {path}"))
                        .hint("fix its permissions so the snapshot can save it, then run the command again")
                        .into());
                    }
                    Delta::Deleted => {
                        if let Some(dir) = unreadable_dir_above(root, &path) {
                            return Err(unreadable_tracked(&dir));
                        }
                        updates.remove(&path);
                        scan.deleted.push(path);
                        changes += 1;
                        continue;
                    }
                    Delta::Untracked | Delta::Modified | Delta::Typechange | Delta::Conflicted => {}
                    _ => continue,
                }
                if bytes.ends_with(b"/") {
                    // libgit2 reports an untracked nested repository as `dir/`.
                    scan.nested_repos.push(without_slash(bytes));
                    continue;
                }
                // A conflicted entry is looked up by name, not found by the
                // walk: under a symlink or a file it is not in the work tree
                // (git never follows a symlink to a tracked path).
                let found =
                    if status == Delta::Conflicted && beyond_non_dir(root, &path, &mut real_dirs) {
                        None
                    } else {
                        snapshot_file(sink, root, &path)?
                    };
                match found {
                    Some((id, mode, perms)) => {
                        updates.upsert(&path, id, mode);
                        if let Some(perms) = perms {
                            scan.modes.push(ModeRecord {
                                path: path.clone(),
                                mode: perms,
                            });
                        }
                        changes += 1;
                        if status == Delta::Untracked {
                            scan.untracked.push(path);
                        } else {
                            scan.modified.push(path);
                        }
                    }
                    None => {
                        // Gone since the scan, or a conflict with no file. A
                        // conflicted `c/d` next to a resolved `c/d/e` (a
                        // file/directory conflict) is a directory in the
                        // index's tree: removing it would drop `c/d/e`.
                        let subtree = status == Delta::Conflicted
                            && index_stage0
                                .get_path(Path::new(path.as_os_str()))
                                .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Tree));
                        if !subtree {
                            updates.remove(&path);
                        }
                        if status == Delta::Conflicted {
                            scan.deleted.push(path);
                        }
                    }
                }
            }
            // Entries status does not look at (skip-worktree, assume-unchanged):
            // what is on disk is saved all the same, or it could be overwritten.
            for (bytes, id, mode) in &trees.flagged {
                let path = RepoPath::from_bytes(bytes);
                if !paths.is_empty() && !paths.iter().any(|p| path.is_at_or_under(p)) {
                    continue;
                }
                let on_disk = if beyond_non_dir(root, &path, &mut real_dirs) {
                    None
                } else {
                    snapshot_file(sink, root, &path)?
                };
                let Some((disk_id, disk_mode, perms)) = on_disk else {
                    scan.absent_flagged.push(path);
                    continue;
                };
                if disk_id != *id || u32::from(disk_mode) != *mode {
                    updates.upsert(&path, disk_id, disk_mode);
                    if let Some(perms) = perms {
                        scan.modes.push(ModeRecord {
                            path: path.clone(),
                            mode: perms,
                        });
                    }
                    scan.modified.push(path);
                    changes += 1;
                }
            }
            if changes > 0 {
                scan.tree = snapshot_tree(sink, repo, updates, trees.stage0, own_index.as_deref())?;
            }
            Ok((trees, scan))
        })?;
        crate::trace::phase("scan: empty directories");
        let (found, unreadable) = match beside {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            None => search(&repo.inner)?,
        };
        scan.empty_dirs = found;
        without_submodules(repo, trees.stage0, &mut scan.empty_dirs);
        // A directory that cannot be listed hides its files from the status
        // scan: tracked ones would look deleted (and be saved so), untracked
        // ones are simply not seen. The first is refused; the second is left
        // where it is, and the command says so.
        if !unreadable.is_empty() {
            let index_tree = repo
                .inner
                .find_tree(trees.stage0)
                .context("could not read the index's tree")?;
            for dir in unreadable {
                if index_tree.get_path(Path::new(dir.as_os_str())).is_ok() {
                    return Err(unreadable_tracked(&dir));
                }
                scan.unreadable.push(dir);
            }
        }
        crate::trace::phase("scan: done");
        Ok(scan)
    })
}

/// The named directories among a command's paths, and the folders under
/// them that hold a file of the index: what the search for empty
/// directories at those paths ([`empty_dirs_at`]) needs from the
/// command's own handle, gathered first so that the search can run on a
/// thread of its own beside the status.
struct NamedDirs {
    named: HashSet<RepoPath>,
    tracked: HashSet<Vec<u8>>,
}

impl NamedDirs {
    fn of(repo: &Repo, paths: &[RepoPath]) -> NamedDirs {
        let named: HashSet<RepoPath> = paths
            .iter()
            .filter(|p| fs::symlink_metadata(p.under(repo.workdir())).is_ok_and(|m| m.is_dir()))
            .cloned()
            .collect();
        let tracked = tracked_dirs_under(repo, &named);
        NamedDirs { named, tracked }
    }
}

/// The empty directories at and under `paths` (directories), and the
/// directory a path that is not one is in, when that is empty now (an undo
/// would prune it). Each parent is looked at once.
fn empty_dirs_at(
    repo: &git2::Repository,
    root: &Path,
    paths: &[RepoPath],
    dirs: &NamedDirs,
    unreadable: &mut Vec<RepoPath>,
) -> anyhow::Result<Vec<RepoPath>> {
    let mut found = Vec::new();
    let mut parents_seen = std::collections::HashSet::new();
    // Paths in one directory share the answer about it.
    let mut dirs_of_seen = std::collections::HashSet::new();
    let named_dirs = &dirs.named;
    for p in paths {
        let dir = p.under(root);
        if named_dirs.contains(p) {
            // A directory inside another named one was walked with it.
            if p.ancestors().iter().any(|a| named_dirs.contains(a)) {
                continue;
            }
            // The named directory itself may be the empty one.
            for d in empty_dirs(repo, root, &dir, true, &dirs.tracked, unreadable)? {
                if !found.contains(&d) {
                    found.push(d);
                }
            }
        } else if !dirs_of_seen.insert(dir.parent().map(Path::to_path_buf)) {
            continue;
        } else if let Some(parent) = p
            .ancestors()
            .into_iter()
            .rev()
            .find(|a| fs::symlink_metadata(a.under(root)).is_ok_and(|m| m.is_dir()))
        {
            if !parents_seen.insert(parent.clone()) {
                continue;
            }
            // A path that is not a directory: the directory it is in may
            // be empty now (and be pruned by an undo).
            let empty = fs::read_dir(parent.under(root)).is_ok_and(|mut d| d.next().is_none());
            if empty
                && !repo.is_path_ignored(parent.as_os_str()).unwrap_or(false)
                && !found.contains(&parent)
            {
                found.push(parent);
            }
        }
    }
    Ok(found)
}

/// The folders at and under `dirs` that hold a file of the index, from
/// the whole index read for this command (none known without it).
fn tracked_dirs_under(repo: &Repo, dirs: &HashSet<RepoPath>) -> HashSet<Vec<u8>> {
    let mut found = HashSet::new();
    let Some(whole) = repo
        .index_file
        .borrow()
        .as_ref()
        .map(|w| Rc::clone(&w.whole))
    else {
        return found;
    };
    let all = &whole.entries;
    for dir in dirs {
        let mut under = dir.as_bytes().to_vec();
        under.push(b'/');
        let from = all.partition_point(|e| e.path < under);
        for e in all[from..]
            .iter()
            .take_while(|e| e.path.starts_with(&under))
        {
            // Each folder from the named one down to the file's.
            let mut end = e.path.len();
            while let Some(slash) = e.path[..end].iter().rposition(|&c| c == b'/') {
                if slash < dir.as_bytes().len() || !found.insert(e.path[..slash].to_vec()) {
                    break;
                }
                end = slash;
            }
        }
    }
    found
}

/// Every folder that holds a file of the index, at any depth, from the
/// whole index read for this command (`read`, or the one read before; none
/// known without it): the walk for empty folders goes into these without
/// asking the ignore rules, which libgit2 answers by reading every
/// `.gitignore` above the folder.
fn all_tracked_dirs(
    repo: &Repo,
    read: Option<&Rc<super::indexfile::IndexFile>>,
) -> HashSet<Vec<u8>> {
    let mut found = HashSet::new();
    let Some(whole) = read.map(Rc::clone).or_else(|| {
        repo.index_file
            .borrow()
            .as_ref()
            .map(|w| Rc::clone(&w.whole))
    }) else {
        return found;
    };
    let mut last: &[u8] = b"";
    for e in &whole.entries {
        let Some(slash) = e.path.iter().rposition(|&c| c == b'/') else {
            continue;
        };
        let dir = &e.path[..slash];
        // The index is sorted: a file's folder is most often the last one's.
        if dir == last {
            continue;
        }
        last = dir;
        let mut end = dir.len();
        while found.insert(dir[..end].to_vec()) {
            match dir[..end].iter().rposition(|&c| c == b'/') {
                Some(slash) => end = slash,
                None => break,
            }
        }
    }
    found
}

/// `base` with `updates`, its trees written into the same pack as the
/// blobs. With `index`, the index `base` was written from, the tree is
/// written from its entries with the changes merged in: only the folders
/// along the changed paths are hashed, and no folder is read back (each
/// read goes through libgit2's cache of delta bases, up to 16 MB per
/// pack, kept to the end).
fn snapshot_tree(
    sink: &mut BlobSink<'_>,
    repo: &Repo,
    updates: TreeChanges,
    base: Oid,
    index: Option<&IndexFile>,
) -> anyhow::Result<Oid> {
    let tree = match index {
        Some(index) => {
            crate::trace::phase("scan: tree from the index");
            let odb = sink
                .object_repo()
                .unwrap_or(&repo.inner)
                .odb()
                .context("could not open the object database")?;
            index.write_tree_with(updates.into_index_changes(), &odb)?
        }
        None => {
            crate::trace::phase("scan: tree");
            match sink.object_repo() {
                Some(side) => updates.apply_in(side, base)?,
                None => updates.apply(repo, base)?,
            }
        }
    };
    sink.add_tree(tree);
    Ok(tree)
}

/// What is known to be on disk at a path without reading it: a file's git
/// mode and blob id, or `None` for nothing there.
pub type KnownFile = Option<(u32, Oid)>;

/// A snapshot of exactly `known` (and the directories `dirs`), whose
/// content the caller has already established: the index's tree with those
/// paths as given. Nothing else of the work tree is looked at, so the cost
/// follows the number of paths, not the size of the work tree. A blob the
/// object store lacks is read from disk (its bytes as they are now).
///
/// Used by a three-way undo, which has compared each path it writes with
/// what the operation left there and so knows each one's content.
///
/// Long because, like [`scan`], it is one pass that fills the scan's lists
/// and the tree updates together, per known path.
pub fn scan_known(
    repo: &Repo,
    known: &[(RepoPath, KnownFile)],
    dirs: &[RepoPath],
) -> anyhow::Result<WorktreeScan> {
    crate::trace::phase("scan: index trees");
    let trees = index::index_trees(repo)?;
    let mut scan = WorktreeScan::of_index(repo, &trees)?;
    crate::trace::phase("scan: known paths");
    let odb = repo
        .inner
        .odb()
        .context("could not open the object store")?;
    // The index's tree, not the index: a lookup reads only the trees on
    // the way, where the index would be read whole. The paths are looked
    // up in path order, each folder read once and only those above the
    // current path held.
    let index_stage0 = repo
        .inner
        .find_tree(trees.stage0)
        .context("could not read the index's tree")?;
    let paths: Vec<&RepoPath> = known.iter().map(|(p, _)| p).collect();
    let in_index_of: Vec<Option<(Oid, u32)>> = Folders::entries(&repo.inner, index_stage0, &paths)
        .into_iter()
        .map(|entry| {
            entry
                .map(|(id, mode)| (id, mode as u32))
                .filter(|(_, mode)| *mode != u32::from(FileMode::Commit))
                .filter(|(_, mode)| *mode != u32::from(FileMode::Tree))
        })
        .collect();
    let root = repo.workdir();
    let present: Vec<RepoPath> = known
        .iter()
        .filter(|(_, file)| file.is_some())
        .map(|(p, _)| p.clone())
        .collect();
    scan.modes = unusual_modes(root, &present);
    with_blob_sink(repo, false, |sink| {
        let mut updates = TreeChanges::default();
        let mut changes = 0usize;
        for ((path, file), in_index) in known.iter().zip(in_index_of) {
            // The index's blob is in the object store; another one may not be.
            let now = match file {
                Some((mode, oid)) if in_index.is_some_and(|(id, _)| id == *oid) => {
                    Some((*oid, *mode))
                }
                Some((mode, oid)) if odb.exists(*oid) => Some((*oid, *mode)),
                Some(_) => snapshot_file(sink, root, path)?.map(|(id, mode, _)| (id, mode.into())),
                None => None,
            };
            match (now, in_index) {
                (None, None) => {}
                (None, Some(_)) => {
                    updates.remove(path);
                    scan.deleted.push(path.clone());
                    changes += 1;
                }
                (Some(now), Some(was)) if now == was => {}
                (Some((oid, mode)), was) => {
                    updates.upsert_mode(path, oid, mode);
                    changes += 1;
                    if was.is_some() {
                        scan.modified.push(path.clone());
                    } else {
                        scan.untracked.push(path.clone());
                    }
                }
            }
        }
        if changes > 0 {
            scan.tree = snapshot_tree(sink, repo, updates, trees.stage0, None)?;
        }
        Ok(changes)
    })?;
    crate::trace::phase("scan: empty directories");
    // A directory holding a file that is there is not empty: only the
    // directories of paths with nothing there are looked at.
    let full_dirs: std::collections::HashSet<Option<RepoPath>> =
        present.iter().map(|p| p.ancestors().pop()).collect();
    let around: Vec<RepoPath> = known
        .iter()
        .filter(|(p, file)| file.is_none() && !full_dirs.contains(&p.ancestors().pop()))
        .map(|(p, _)| p.clone())
        .collect();
    let mut unreadable = Vec::new();
    let named = NamedDirs::of(repo, &around);
    scan.empty_dirs = empty_dirs_at(&repo.inner, root, &around, &named, &mut unreadable)?;
    without_submodules(repo, trees.stage0, &mut scan.empty_dirs);
    for dir in empty_among(repo, dirs) {
        if !scan.empty_dirs.contains(&dir) {
            scan.empty_dirs.push(dir);
        }
    }
    scan.unreadable = unreadable;
    crate::trace::phase("scan: done");
    Ok(scan)
}

/// Status bits that mean "the index differs from HEAD".
const INDEX_BITS: Status = Status::INDEX_NEW
    .union(Status::INDEX_MODIFIED)
    .union(Status::INDEX_DELETED)
    .union(Status::INDEX_RENAMED)
    .union(Status::INDEX_TYPECHANGE);

/// The index against the work tree, as the snapshot needs it: untracked
/// files one by one, ignored ones (when asked) as their topmost directory,
/// type changes as such, no submodules, and the index left as it is.
fn worktree_diff<'r>(
    repo: &'r Repo,
    with_ignored: bool,
    paths: &[RepoPath],
) -> anyhow::Result<git2::Diff<'r>> {
    let mut opts = git2::DiffOptions::new();
    if !paths.is_empty() {
        opts.disable_pathspec_match(true);
        for p in paths {
            opts.pathspec(p.as_bytes());
        }
    }
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(with_ignored)
        .recurse_ignored_dirs(false)
        .include_typechange(true)
        .include_unreadable(true)
        .ignore_submodules(true)
        .update_index(false);
    repo.inner
        .diff_index_to_workdir(None, Some(&mut opts))
        .context("could not read the status of the work tree")
}

fn is_empty_tree(repo: &Repo, tree: Oid) -> bool {
    repo.inner
        .find_tree(tree)
        .map(|t| t.is_empty())
        .unwrap_or(false)
}

/// The work tree's status as the snapshot needs it: untracked files one by
/// one, ignored ones (when asked) as their topmost directory, no renames, no
/// submodules, and the index left as it is.
fn worktree_statuses(repo: &Repo, with_ignored: bool) -> anyhow::Result<git2::Statuses<'_>> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(with_ignored)
        .recurse_ignored_dirs(false)
        .exclude_submodules(true)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false)
        .include_unmodified(false)
        .update_index(false);
    repo.inner
        .statuses(Some(&mut opts))
        .context("could not read the status of the work tree")
}

/// `tree` with the bytes on disk of `paths` wherever they differ from the
/// blob the tree has there. A tracked file whose stat data is clean is
/// taken from the index by the scan; with end-of-line conversion or
/// `ident` its bytes on disk are not its blob's, so a file about to be
/// overwritten is read, for undo to write back exactly those bytes.
pub fn with_disk_bytes(repo: &Repo, tree: Oid, paths: &[RepoPath]) -> anyhow::Result<Oid> {
    let root = repo
        .inner
        .find_tree(tree)
        .context("could not read the snapshot tree")?;
    let regular: Vec<(&RepoPath, Oid, u32)> = entries_at(repo, &root, paths)?
        .into_iter()
        .filter(|(_, _, mode)| *mode == 0o100644 || *mode == 0o100755)
        .collect();
    // Most files' bytes are their blob's (the conversion changed nothing):
    // they are hashed, on several threads, and only the others written.
    let threads = crate::walk::threads();
    let workdir = repo.workdir();
    let differing = crate::walk::map(&regular, threads, |&(path, id, _)| {
        let full = path.under(workdir);
        if !fs::symlink_metadata(&full).is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        let bytes = fs::read(&full).map_err(|e| {
            anyhow::Error::from(user(format!("cannot read {path}: {e}")).hint(
                "fix its permissions so the snapshot can save it, then run the command again",
            ))
        })?;
        let on_disk = Oid::hash_object(git2::ObjectType::Blob, &bytes)
            .with_context(|| format!("could not hash {path}"))?;
        Ok((on_disk != id).then_some(bytes))
    })?;
    let mut updates = TreeChanges::default();
    let mut changed = false;
    for ((path, _, mode), bytes) in regular.iter().zip(differing) {
        let Some(bytes) = bytes else {
            continue;
        };
        let id = repo
            .inner
            .blob(&bytes)
            .with_context(|| format!("could not save {path}"))?;
        repo.written().object(id);
        updates.upsert(path, id, super::file_mode(*mode));
        changed = true;
    }
    if !changed {
        return Ok(tree);
    }
    updates.apply(repo, tree)
}

/// The blob id and mode `root` has at each of `paths` that it has. A few
/// paths are looked up one by one; many, by one walk of the tree (a
/// lookup reads every tree on the way down, again for each path).
fn entries_at<'p>(
    repo: &Repo,
    root: &git2::Tree<'_>,
    paths: &'p [RepoPath],
) -> anyhow::Result<Vec<(&'p RepoPath, Oid, u32)>> {
    if paths.len() <= 64 {
        return Ok(paths
            .iter()
            .filter_map(|path| {
                let entry = root.get_path(Path::new(path.as_os_str())).ok()?;
                Some((path, entry.id(), entry.filemode() as u32))
            })
            .collect());
    }
    let wanted: std::collections::HashMap<&[u8], &RepoPath> =
        paths.iter().map(|p| (p.as_bytes(), p)).collect();
    let mut found = Vec::with_capacity(paths.len());
    super::each_tree_entry(&repo.inner, root, &mut |path, entry| {
        if let Some(p) = wanted.get(path) {
            found.push((*p, entry.id(), entry.filemode() as u32));
        }
        Ok(())
    })?;
    Ok(found)
}

/// `tree` without `paths`.
pub fn without_paths(repo: &Repo, tree: Oid, paths: &[RepoPath]) -> anyhow::Result<Oid> {
    if paths.is_empty() {
        return Ok(tree);
    }
    let mut updates = TreeChanges::default();
    for path in paths {
        updates.remove(path);
    }
    updates.apply(repo, tree)
}

/// `tree` with whatever it holds at `folder` replaced by what `base` holds
/// there (nothing, when `base` is `None` or has nothing there): a commit of
/// this tree on top of `base` changes nothing under `folder`. Used to keep the
/// reports folder out of the commits that hold the user's work
/// (docs/invariants.md, I8).
pub fn with_folder_from(
    repo: &Repo,
    tree: Oid,
    base: Option<Oid>,
    folder: &RepoPath,
) -> anyhow::Result<Oid> {
    let entry_at = |t: Oid| -> anyhow::Result<Option<(Oid, i32)>> {
        let t = repo.inner.find_tree(t).context("could not read a tree")?;
        match t.get_path(Path::new(folder.as_os_str())) {
            Ok(e) => Ok(Some((e.id(), e.filemode()))),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e).context("could not read a tree"),
        }
    };
    let wanted = match base {
        Some(b) => entry_at(b)?,
        None => None,
    };
    if entry_at(tree)? == wanted {
        return Ok(tree);
    }
    let mut updates = TreeChanges::default();
    updates.remove(folder);
    if let Some((id, mode)) = wanted {
        updates.upsert_mode(folder, id, mode as u32);
    }
    updates.apply(repo, tree)
}

impl WorktreeScan {
    /// The user's work in this scan: `folder` (the tool's reports) as HEAD's
    /// tree `head` has it, in the work tree's tree and the index's tree,
    /// and left out of the lists of changed and untracked paths.
    pub fn without_folder(
        &self,
        repo: &Repo,
        head: Option<Oid>,
        folder: &RepoPath,
    ) -> anyhow::Result<WorktreeScan> {
        let outside = |paths: &[RepoPath]| -> Vec<RepoPath> {
            paths
                .iter()
                .filter(|p| !p.is_at_or_under(folder))
                .cloned()
                .collect()
        };
        let mut scan = self.clone();
        scan.tree = with_folder_from(repo, self.tree, head, folder)?;
        scan.index_tree = with_folder_from(repo, self.index_tree, head, folder)?;
        scan.untracked = outside(&self.untracked);
        scan.modified = outside(&self.modified);
        scan.deleted = outside(&self.deleted);
        scan.empty_dirs = outside(&self.empty_dirs);
        scan.modes.retain(|m| !m.path.is_at_or_under(folder));
        scan.staged = match head {
            Some(head) => self.has_conflicts || scan.index_tree != head,
            None => self.has_conflicts || !is_empty_tree(repo, scan.index_tree),
        };
        Ok(scan)
    }
}

/// libgit2 reports a directory as `dir/`.
fn without_slash(bytes: &[u8]) -> RepoPath {
    RepoPath::from_bytes(bytes.strip_suffix(b"/").unwrap_or(bytes))
}

/// Path updates to a tree, applied so that a path may change between file
/// and directory: libgit2's tree updater cannot replace a tree with a blob
/// (or the reverse) in one pass.
#[derive(Default)]
pub struct TreeChanges {
    removals: Vec<RepoPath>,
    upserts: Vec<(RepoPath, Oid, FileMode)>,
}

impl TreeChanges {
    pub fn remove(&mut self, path: &RepoPath) {
        self.removals.push(path.clone());
    }

    /// Set a path from a git mode number (`0o100644`, `0o100755`, `0o120000`).
    pub fn upsert_mode(&mut self, path: &RepoPath, id: Oid, mode: u32) {
        self.upsert(path, id, super::file_mode(mode));
    }

    pub fn upsert(&mut self, path: &RepoPath, id: Oid, mode: FileMode) {
        self.upserts.push((path.clone(), id, mode));
    }

    /// The changes as [`IndexFile::replace_paths`] takes them: an upsert
    /// is one stage-0 entry, a removal none. An upsert wins over a removal
    /// of the same path, as in [`TreeChanges::apply`] (removals first).
    fn into_index_changes(self) -> Vec<(Vec<u8>, Vec<Entry>)> {
        let upserts = self.upserts.into_iter().map(|(path, id, mode)| {
            let bytes = path.as_bytes().to_vec();
            let entry = Entry::new(bytes.clone(), id, u32::from(mode));
            (bytes, vec![entry])
        });
        let removals = self
            .removals
            .into_iter()
            .map(|path| (path.as_bytes().to_vec(), Vec::new()));
        upserts.chain(removals).collect()
    }

    pub fn apply(self, repo: &Repo, base: Oid) -> anyhow::Result<Oid> {
        // Many paths make many new trees (a folder each, and the folders
        // above): through a batch, they are packed when there are enough.
        if self.upserts.len() + self.removals.len() >= LOOSE_BELOW {
            return with_blob_sink(repo, true, |sink| {
                let side = sink
                    .object_repo()
                    .context("internal error: a batch without its handle")?;
                let tree = self.apply_in(side, base)?;
                sink.add_tree(tree);
                Ok(tree)
            });
        }
        let tree = self.apply_in(&repo.inner, base)?;
        repo.written().tree(tree);
        Ok(tree)
    }

    /// [`TreeChanges::apply`], writing the trees through `repo` (a handle
    /// whose new objects go to a batch, which notes its own pack).
    pub(super) fn apply_in(self, repo: &git2::Repository, base: Oid) -> anyhow::Result<Oid> {
        let write = |base: Oid,
                     removals: &[RepoPath],
                     upserts: &[(RepoPath, Oid, FileMode)]|
         -> anyhow::Result<Oid> {
            let mut b = TreeUpdateBuilder::new();
            for r in removals {
                b.remove(r.as_bytes());
            }
            for (p, id, mode) in upserts {
                b.upsert(p.as_bytes(), *id, *mode);
            }
            let base = repo.find_tree(base).context("could not read a tree")?;
            b.create_updated(repo, &base)
                .context("could not write the snapshot tree")
        };
        let mut tree = base;
        // libgit2 fails on the removal of a path the tree does not have
        // (say, under what is now a file): there is nothing to remove.
        // Both lookups below go through the paths in order, keeping only
        // the folders above the current one: the trees of a whole large
        // work tree would otherwise stay in memory until the trees are
        // written (docs/design.md, Performance: Memory).
        let base_tree = repo.find_tree(base).context("could not read a tree")?;
        let mut in_base = Folders::along_paths(repo, base_tree);
        let mut removals = self.removals;
        removals.sort();
        removals.retain(|p| in_base.kind(p.as_bytes()).is_some());
        drop(in_base);
        if !removals.is_empty() {
            tree = write(tree, &removals, &[])?;
        }
        // What is still in the way of an upsert: a blob where a directory
        // is needed, or a directory where a file goes.
        crate::trace::phase("tree: blocking");
        let current = repo.find_tree(tree).context("could not read a tree")?;
        let mut in_current = Folders::along_paths(repo, current);
        let mut paths: Vec<&RepoPath> = self.upserts.iter().map(|(p, _, _)| p).collect();
        paths.sort();
        let mut blocking = Vec::new();
        for path in paths {
            for parent in path.ancestors() {
                if in_current
                    .kind(parent.as_bytes())
                    .is_some_and(|k| k != git2::ObjectType::Tree)
                {
                    blocking.push(parent);
                }
            }
            if in_current.kind(path.as_bytes()) == Some(git2::ObjectType::Tree) {
                blocking.push(path.clone());
            }
        }
        drop(in_current);
        if !blocking.is_empty() {
            blocking.sort();
            blocking.dedup();
            tree = write(tree, &blocking, &[])?;
        }
        crate::trace::phase("tree: upserts");
        if !self.upserts.is_empty() {
            tree = write(tree, &[], &self.upserts)?;
        }
        Ok(tree)
    }
}

/// The folders of one tree, each read once: libgit2 keeps no parsed
/// folders (`git::limit_memory`; by default only those up to 4 KB), so
/// looking paths up one by one would read and parse every folder on the
/// way again for every path (git's own top folder is 24 KB).
pub(crate) struct Folders<'r> {
    repo: &'r git2::Repository,
    /// A folder's path (empty: the top) and its tree, `None` when that
    /// path is not a folder of the tree.
    trees: std::collections::HashMap<Vec<u8>, Option<git2::Tree<'r>>>,
    /// Keep only the folders above the last one read ([`Folders::along_paths`]).
    along_paths: bool,
}

impl<'r> Folders<'r> {
    pub(crate) fn new(repo: &'r git2::Repository, top: git2::Tree<'r>) -> Folders<'r> {
        let mut trees = std::collections::HashMap::new();
        trees.insert(Vec::new(), Some(top));
        Folders {
            repo,
            trees,
            along_paths: false,
        }
    }

    /// For lookups made in path order: a folder read drops those that are
    /// not above it, so no more than one folder per level is held. The
    /// paths under a folder come one after another in that order, so each
    /// folder is still read once.
    pub(crate) fn along_paths(repo: &'r git2::Repository, top: git2::Tree<'r>) -> Folders<'r> {
        Folders {
            along_paths: true,
            ..Folders::new(repo, top)
        }
    }

    /// The kind of the entry at `path`, `None` when there is none.
    fn kind(&mut self, path: &[u8]) -> Option<git2::ObjectType> {
        let (dir, name) = split_last(path);
        self.folder(dir)?.get_name_bytes(name)?.kind()
    }

    /// The id and git mode of the entry at each of `paths` (in their
    /// order), `None` where there is none: looked up in path order, each
    /// folder read once and only those above the current path held.
    pub(crate) fn entries(
        repo: &'r git2::Repository,
        top: git2::Tree<'r>,
        paths: &[&RepoPath],
    ) -> Vec<Option<(git2::Oid, i32)>> {
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_by(|&a, &b| paths[a].cmp(paths[b]));
        let mut found = vec![None; paths.len()];
        let mut folders = Folders::along_paths(repo, top);
        for i in order {
            found[i] = folders.entry(paths[i].as_bytes());
        }
        found
    }

    /// The id and git mode of the entry at `path`, `None` when there is none.
    fn entry(&mut self, path: &[u8]) -> Option<(git2::Oid, i32)> {
        let (dir, name) = split_last(path);
        let entry = self.folder(dir)?.get_name_bytes(name)?;
        Some((entry.id(), entry.filemode()))
    }

    fn folder(&mut self, dir: &[u8]) -> Option<&git2::Tree<'r>> {
        if !self.trees.contains_key(dir) {
            let tree = match self.kind(dir) {
                Some(git2::ObjectType::Tree) => {
                    let (parent, name) = split_last(dir);
                    let id = self.folder(parent)?.get_name_bytes(name)?.id();
                    self.repo.find_tree(id).ok()
                }
                _ => None,
            };
            if self.along_paths {
                self.trees.retain(|above, _| {
                    above.is_empty()
                        || (dir.starts_with(above) && dir.get(above.len()) == Some(&b'/'))
                });
            }
            self.trees.insert(dir.to_vec(), tree);
        }
        self.trees.get(dir)?.as_ref()
    }
}

/// A path's folder (empty at the top) and its last name.
pub(crate) fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&c| c == b'/') {
        Some(slash) => (&path[..slash], &path[slash + 1..]),
        None => (&path[..0], path),
    }
}

/// One work-tree file as a blob: its id, its git mode, and its permission
/// bits when a tree cannot record them. `None` when the file is gone.
/// Whether a parent of `path` is not a real directory (a symlink, a file,
/// or nothing), so that `path` is not in the work tree. `seen` keeps the
/// answer for each parent looked at.
fn beyond_non_dir(
    root: &Path,
    path: &RepoPath,
    seen: &mut std::collections::HashMap<RepoPath, bool>,
) -> bool {
    for parent in path.ancestors() {
        let is_dir = match seen.get(&parent) {
            Some(&known) => known,
            None => {
                let is_dir = fs::symlink_metadata(parent.under(root)).is_ok_and(|m| m.is_dir());
                seen.insert(parent, is_dir);
                is_dir
            }
        };
        if !is_dir {
            return true;
        }
    }
    false
}

fn snapshot_file(
    sink: &mut BlobSink<'_>,
    root: &Path,
    path: &RepoPath,
) -> anyhow::Result<Option<(Oid, FileMode, Option<u32>)>> {
    let full = path.under(root);
    let meta = match fs::symlink_metadata(&full) {
        Ok(m) => m,
        // Gone, or a parent is a file now: either way not there.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).with_context(|| format!("could not read {path}")),
    };
    let file_type = meta.file_type();
    if file_type.is_symlink() {
        let target = fs::read_link(&full).with_context(|| format!("could not read {path}"))?;
        let id = sink
            .write(target.as_os_str().as_bytes())
            .with_context(|| format!("could not save {path}"))?;
        return Ok(Some((id, FileMode::Link, None)));
    }
    if !file_type.is_file() {
        return Ok(None);
    }
    let bytes =
        fs::read(&full).map_err(|e| {
            anyhow::Error::from(user(format!("cannot read {path}: {e}")).hint(
                "fix its permissions so the snapshot can save it, then run the command again",
            ))
        })?;
    let id = sink
        .write(&bytes)
        .with_context(|| format!("could not save {path}"))?;
    let perms = meta.permissions().mode() & 0o7777;
    let executable = perms & 0o100 != 0;
    let mode = if executable {
        FileMode::BlobExecutable
    } else {
        FileMode::Blob
    };
    let unusual = (perms != default_perms(executable)).then_some(perms);
    Ok(Some((id, mode, unusual)))
}

/// The current permission bits of paths (for files an operation overwrites
/// or deletes), when they are not what a fresh write would give.
pub fn unusual_modes(root: &Path, paths: &[RepoPath]) -> Vec<ModeRecord> {
    // Many paths are looked at on every thread (one `lstat` each).
    let unusual = |path: &RepoPath| -> anyhow::Result<Option<u32>> {
        let Ok(meta) = fs::symlink_metadata(path.under(root)) else {
            return Ok(None);
        };
        let perms = meta.permissions().mode() & 0o7777;
        let usual = !meta.file_type().is_file() || perms == default_perms(perms & 0o100 != 0);
        Ok((!usual).then_some(perms))
    };
    let threads = crate::walk::threads_for_stats(paths.len());
    // `unusual` never fails (a path it cannot stat has no mode to keep), so
    // neither does the map; were it to, the paths are looked at here.
    let found = crate::walk::map(paths, threads, unusual)
        .unwrap_or_else(|_| paths.iter().map(|p| unusual(p).ok().flatten()).collect());
    paths
        .iter()
        .zip(found)
        .filter_map(|(path, perms)| {
            Some(ModeRecord {
                path: path.clone(),
                mode: perms?,
            })
        })
        .collect()
}

/// Empty directories outside ignored ones, nested repositories and `.git`,
/// under `under` (and `under` itself with `with_self`).
/// Directories that cannot be listed go to `unreadable`.
///
/// Each directory is listed once: whether it is empty, and whether it
/// holds a `.git` (a nested repository, left alone), come from that one
/// listing, and only its subdirectories are checked against the ignore
/// rules (an ignored one is not entered).
fn empty_dirs(
    repo: &git2::Repository,
    root: &Path,
    under: &Path,
    with_self: bool,
    tracked: &HashSet<Vec<u8>>,
    unreadable: &mut Vec<RepoPath>,
) -> anyhow::Result<Vec<RepoPath>> {
    let rel = |path: &Path| -> Vec<u8> {
        path.strip_prefix(root)
            .unwrap_or(path)
            .as_os_str()
            .as_bytes()
            .to_vec()
    };
    // A folder git tracks files in is walked whatever the ignore rules
    // say of it: an empty folder has no tracked file, so it is checked
    // itself, and libgit2's check takes in the rules of every folder
    // above it. Only folders without tracked files cost a check.
    let outside = |path: &Path| {
        let r = rel(path);
        r == b".git"
            || (!tracked.contains(&r)
                && repo
                    .is_path_ignored(Path::new(OsStr::from_bytes(&r)))
                    .unwrap_or(false))
    };
    let mut found = Vec::new();
    // Directories to list, each found to be neither `.git` nor ignored,
    // and whether the walk started there (`under` without `with_self` is
    // only looked into).
    let mut stack = Vec::new();
    if !with_self {
        stack.push((under.to_path_buf(), true));
    } else if fs::symlink_metadata(under).is_ok_and(|m| m.is_dir()) && !outside(under) {
        stack.push((under.to_path_buf(), false));
    }
    while let Some((dir, start)) = stack.pop() {
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(e) => {
                let r = rel(&dir);
                if e.kind() == std::io::ErrorKind::PermissionDenied && !r.is_empty() {
                    unreadable.push(RepoPath::from_bytes(&r));
                }
                continue;
            }
        };
        let mut empty = true;
        let mut subdirs = Vec::new();
        let mut has_git = false;
        for entry in listing {
            let Ok(entry) = entry else { continue };
            empty = false;
            if entry.file_name() == ".git" {
                has_git = true;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                subdirs.push(entry.path());
            }
        }
        if !start && has_git && dir.join(".git").exists() {
            continue;
        }
        if empty {
            if !start {
                found.push(RepoPath::from_bytes(&rel(&dir)));
            }
            continue;
        }
        // Listed in reverse, so that the walk goes depth first in the
        // listing's order.
        for sub in subdirs.into_iter().rev() {
            if !outside(&sub) {
                stack.push((sub, false));
            }
        }
    }
    Ok(found)
}

/// Leave out the empty directories that are submodules the index names
/// (not initialized, as after a plain clone): they are the submodule's
/// place in the work tree, which git's reset keeps and a rollback never
/// removes (README, Submodules).
///
/// Looked up in the index's tree (its stage-0 entries, `index_tree`)
/// rather than in libgit2's index, which a scan may have let go of
/// ([`ScanMode::ForgettingTheIndex`]) and would otherwise parse again.
fn without_submodules(repo: &Repo, index_tree: Oid, dirs: &mut Vec<RepoPath>) {
    if dirs.is_empty() {
        return;
    }
    let Ok(top) = repo.inner.find_tree(index_tree) else {
        return;
    };
    let listed: Vec<&RepoPath> = dirs.iter().collect();
    let mut submodule = Folders::entries(&repo.inner, top, &listed)
        .into_iter()
        .map(|entry| entry.is_some_and(|(_, mode)| mode == i32::from(FileMode::Commit)));
    dirs.retain(|_| !submodule.next().unwrap_or(false));
}

/// The directory above `path` that cannot be listed, when that is why
/// `path` looks deleted: its files are hidden, not gone.
fn unreadable_dir_above(root: &Path, path: &RepoPath) -> Option<RepoPath> {
    let denied = |e: &std::io::Error| e.kind() == std::io::ErrorKind::PermissionDenied;
    if !fs::symlink_metadata(path.under(root)).is_err_and(|e| denied(&e)) {
        return None;
    }
    path.ancestors().into_iter().find(|dir| {
        let full = dir.under(root);
        fs::symlink_metadata(&full).is_ok_and(|m| m.is_dir())
            && fs::read_dir(&full).is_err_and(|e| denied(&e))
    })
}

fn unreadable_tracked(dir: &RepoPath) -> anyhow::Error {
    user(format!("cannot read {dir}/, which holds tracked files"))
        .hint(format!(
            "fix its permissions (chmod u+rx {dir}) so the snapshot can save it, then run the command again"
        ))
        .into()
}

/// Write a commit holding a snapshot tree; its parent is HEAD when there is one.
pub fn commit_snapshot(
    repo: &Repo,
    tree: Oid,
    parents: &[Oid],
    message: &str,
) -> anyhow::Result<Oid> {
    commit_snapshot_later(repo, tree, parents, message, 0)
}

/// [`commit_snapshot`] dated `seconds` after now (author and committer).
pub fn commit_snapshot_later(
    repo: &Repo,
    tree: Oid,
    parents: &[Oid],
    message: &str,
    seconds: i64,
) -> anyhow::Result<Oid> {
    let later = |sig: git2::Signature<'static>| -> anyhow::Result<git2::Signature<'static>> {
        if seconds == 0 {
            return Ok(sig);
        }
        let when = sig.when();
        let time = git2::Time::new(when.seconds() + seconds, when.offset_minutes());
        let name = String::from_utf8_lossy(sig.name_bytes()).into_owned();
        let email = String::from_utf8_lossy(sig.email_bytes()).into_owned();
        git2::Signature::new(&name, &email, &time).context("could not date the snapshot commit")
    };
    let author = later(repo.identity(super::ident::Role::Author)?)?;
    let committer = later(repo.identity(super::ident::Role::Committer)?)?;
    let tree = repo
        .inner
        .find_tree(tree)
        .context("could not read the snapshot tree")?;
    let parents: Vec<git2::Commit> = parents
        .iter()
        .map(|id| repo.inner.find_commit(*id))
        .collect::<Result<_, _>>()
        .context("could not read the snapshot's parent")?;
    let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
    let commit = repo
        .inner
        .commit(None, &author, &committer, message, &tree, &parent_refs)
        .context("could not write the snapshot commit")?;
    repo.written().object(commit);
    Ok(commit)
}

/// What a scan would find, without writing any object (for dry runs).
#[derive(Debug, Default, Clone)]
pub struct Preview {
    pub staged: usize,
    pub modified: usize,
    pub deleted: usize,
    pub untracked: usize,
    pub ignored: Vec<RepoPath>,
}

impl Preview {
    pub fn is_dirty(&self) -> bool {
        self.staged + self.modified + self.deleted + self.untracked > 0
    }
}

/// `except`, when given, is left out of the counts (the reports folder: the
/// tool's own output is not the user's uncommitted work).
pub fn preview(
    repo: &Repo,
    with_ignored: bool,
    except: Option<&RepoPath>,
) -> anyhow::Result<Preview> {
    let statuses = worktree_statuses(repo, with_ignored)?;
    let flagged = index::flagged_paths(repo)?;
    let mut p = Preview::default();
    for entry in statuses.iter() {
        // As git's status: a skip-worktree or assume-unchanged entry is
        // not a change (the scan reads them from disk all the same).
        if flagged.contains(entry.path_bytes()) {
            continue;
        }
        if let Some(except) = except {
            if without_slash(entry.path_bytes()).is_at_or_under(except) {
                continue;
            }
        }
        let s = entry.status();
        if s.contains(Status::IGNORED) {
            p.ignored.push(without_slash(entry.path_bytes()));
            continue;
        }
        if s.intersects(INDEX_BITS) {
            p.staged += 1;
        }
        if s.contains(Status::WT_NEW) {
            p.untracked += 1;
        } else if s.contains(Status::WT_DELETED) {
            let path = RepoPath::from_bytes(entry.path_bytes());
            if let Some(dir) = unreadable_dir_above(repo.workdir(), &path) {
                return Err(unreadable_tracked(&dir));
            }
            p.deleted += 1;
        } else if s.intersects(Status::WT_MODIFIED | Status::WT_TYPECHANGE | Status::CONFLICTED) {
            p.modified += 1;
        }
    }
    Ok(p)
}

/// How many paths of the work tree differ from a snapshot tree, without
/// writing anything (a full comparison: for dry runs only).
pub fn paths_differing_from(repo: &Repo, tree: Oid) -> anyhow::Result<usize> {
    let tree = repo
        .inner
        .find_tree(tree)
        .context("the snapshot tree is missing")?;
    let mut opts = git2::DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .ignore_submodules(true);
    let diff = repo
        .inner
        .diff_tree_to_workdir(Some(&tree), Some(&mut opts))
        .context("could not compare the work tree with the snapshot")?;
    Ok(diff.deltas().len())
}

/// Whether the work-tree files of the tracked paths at or under `paths`
/// that `only` holds match the index (as `git status` compares them: a
/// stat-clean file is not read). Untracked files are not looked at, nor
/// tracked ones outside `only` (a command leaves those as they are).
pub fn worktree_matches_index(
    repo: &Repo,
    paths: &[RepoPath],
    only: &std::collections::HashSet<&RepoPath>,
) -> anyhow::Result<bool> {
    if only.is_empty() {
        return Ok(true);
    }
    let mut opts = StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false)
        .include_unmodified(false)
        .update_index(false)
        .disable_pathspec_match(true);
    for p in paths.iter().filter(|p| !p.as_bytes().is_empty()) {
        opts.pathspec(p.as_os_str());
    }
    let statuses = repo
        .inner
        .statuses(Some(&mut opts))
        .context("could not read the status of the work tree")?;
    let wt = Status::WT_MODIFIED | Status::WT_DELETED | Status::WT_TYPECHANGE | Status::CONFLICTED;
    Ok(!statuses
        .iter()
        .any(|e| e.status().intersects(wt) && only.contains(&RepoPath::from_bytes(e.path_bytes()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knowing which folders hold tracked files spares their ignore check
    /// and changes nothing found: an empty folder inside an ignored folder
    /// that holds tracked files is still ignored, one inside a tracked
    /// folder is found, and nothing is looked for under an ignored folder
    /// without tracked files.
    #[test]
    fn empty_folders_are_the_same_with_the_tracked_folders_known() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        let repo = git2::Repository::init(root).expect("git init");
        fs::write(root.join(".gitignore"), "build/\nlogs/\n").expect("write");
        for d in [
            "src/empty",
            "build/out/empty",
            "logs/empty",
            "src/deep/er/empty",
        ] {
            fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in ["src/a.rs", "build/out/kept.txt", "src/deep/er/b.rs"] {
            fs::write(root.join(f), "x").expect("write");
        }
        let tracked: HashSet<Vec<u8>> = ["src", "src/deep", "src/deep/er", "build", "build/out"]
            .iter()
            .map(|d| d.as_bytes().to_vec())
            .collect();
        let found = |under: &str, tracked: &HashSet<Vec<u8>>| {
            let mut unreadable = Vec::new();
            let mut found = empty_dirs(
                &repo,
                root,
                &root.join(under),
                true,
                tracked,
                &mut unreadable,
            )
            .expect("the walk");
            found.sort();
            found
        };
        for under in ["src", "build", "logs"] {
            assert_eq!(
                found(under, &tracked),
                found(under, &HashSet::new()),
                "{under}"
            );
        }
        assert_eq!(
            found("src", &tracked),
            [
                RepoPath::from_bytes(b"src/deep/er/empty"),
                RepoPath::from_bytes(b"src/empty")
            ]
        );
        assert!(found("build", &tracked).is_empty());
        assert!(found("logs", &tracked).is_empty());
    }

    /// The snapshot tree merged from the index's own entries is the tree
    /// the tree updater writes on the index's tree, for every kind of
    /// change a scan makes: files changed, removed and added, a mode
    /// changed, a file where a folder was and a folder where a file was,
    /// a removal of what is not there, a conflict resolved, a removal and
    /// an upsert of one path; with the cache-tree as git left it and
    /// without one.
    #[test]
    fn the_tree_from_the_index_is_the_tree_the_updater_writes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let repo = git2::Repository::init(dir.path()).expect("git init");
        let blob = |text: &str| repo.blob(text.as_bytes()).expect("a blob");
        let mut index = repo.index().expect("the index");
        let files = [
            ("a/b/c", 0o100644),
            ("a/b/d", 0o100755),
            ("a/e", 0o120000),
            ("f", 0o100644),
            ("g/h", 0o100644),
            ("g/i/j", 0o100644),
            ("k", 0o100644),
            ("m/n", 0o100644),
            ("z/y", 0o100644),
        ];
        for (path, mode) in files {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: blob(path),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).expect("an entry");
        }
        let libgit2_tree = index.write_tree().expect("the index's tree");
        #[allow(clippy::disallowed_methods)] // a test repository's index, no journal
        index.write().expect("the index written");
        let mut own = IndexFile::read_path(&dir.path().join(".git/index")).expect("the index");
        assert!(
            own.cache_tree().and_then(|c| c.id()).is_some(),
            "a valid cache-tree"
        );
        // A conflict on `q`: three stages, none at stage 0.
        for stage in 1..=3u16 {
            let mut e = Entry::new(b"q".to_vec(), blob(&format!("q{stage}")), 0o100644);
            e.flags = stage << 12;
            own.entries.push(e);
        }
        own.entries
            .sort_by(|a, b| (&a.path, a.stage()).cmp(&(&b.path, b.stage())));
        let odb = repo.odb().expect("the object store");
        let base = own.write_tree(&odb).expect("the base tree");
        assert_eq!(base, libgit2_tree);
        let changes = || {
            let mut c = TreeChanges::default();
            let p = |s: &str| RepoPath::from_bytes(s.as_bytes());
            c.upsert(&p("a/b/c"), blob("changed"), FileMode::Blob);
            c.remove(&p("f"));
            c.upsert(&p("new/dir/file"), blob("new"), FileMode::Blob);
            c.upsert(
                &p("k/inside"),
                blob("folder where a file was"),
                FileMode::Blob,
            );
            c.upsert(&p("g"), blob("file where a folder was"), FileMode::Blob);
            c.remove(&p("not/there"));
            c.upsert(&p("q"), blob("resolved"), FileMode::Blob);
            c.upsert(&p("m/n"), blob("m/n"), FileMode::BlobExecutable);
            c.remove(&p("a/e"));
            c.upsert(&p("a/e"), blob("a link"), FileMode::Link);
            c
        };
        let updated = changes().apply_in(&repo, base).expect("the updater's tree");
        let merged = own
            .write_tree_with(changes().into_index_changes(), &odb)
            .expect("the merged tree");
        assert_eq!(merged, updated);
        own.extensions.clear();
        let merged = own
            .write_tree_with(changes().into_index_changes(), &odb)
            .expect("the merged tree");
        assert_eq!(merged, updated, "without a cache-tree");
        // The tree holds what the changes say, not just the same mistakes.
        let tree = repo.find_tree(updated).expect("the tree");
        let at = |p: &str| {
            tree.get_path(Path::new(p))
                .ok()
                .map(|e| (e.id(), e.filemode()))
        };
        assert_eq!(at("g"), Some((blob("file where a folder was"), 0o100644)));
        assert_eq!(
            at("k/inside"),
            Some((blob("folder where a file was"), 0o100644))
        );
        assert_eq!(at("a/e"), Some((blob("a link"), 0o120000)));
        assert_eq!(at("m/n"), Some((blob("m/n"), 0o100755)));
        assert_eq!(at("q"), Some((blob("resolved"), 0o100644)));
        assert_eq!(at("f"), None);
        assert_eq!(at("g/h"), None);
        assert_eq!(at("z/y"), Some((blob("z/y"), 0o100644)));
    }

    /// Looked up in path order, the folders give the same answers as when
    /// every folder is kept, while holding only the folders above the
    /// last one read.
    #[test]
    fn folders_along_paths_answer_as_all_folders_do_and_hold_one_per_level() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let repo = git2::Repository::init(dir.path()).expect("git init");
        let blob = repo.blob(b"x").expect("a blob");
        let mut top = git2::build::TreeUpdateBuilder::new();
        let files = [
            "a.txt", "a/b.txt", "a/b/c/d", "a/b/c/e", "a/b/f", "a/g", "h/i/j", "h/k", "l",
        ];
        for f in files {
            top.upsert(f, blob, FileMode::Blob);
        }
        top.upsert("h/run", blob, FileMode::BlobExecutable);
        let empty = repo
            .treebuilder(None)
            .expect("a tree")
            .write()
            .expect("write");
        let empty = repo.find_tree(empty).expect("the empty tree");
        let tree = top.create_updated(&repo, &empty).expect("the tree");
        let tree = || repo.find_tree(tree).expect("the tree");
        let mut asked: Vec<&str> = files.to_vec();
        asked.extend([
            "a",
            "a/b",
            "a/b/c",
            "h",
            "h/i",
            "h/run",
            "a/b/c/d/z",
            "a.txt/z",
            "m/n",
        ]);
        asked.sort();
        let mut all = Folders::new(&repo, tree());
        let mut along = Folders::along_paths(&repo, tree());
        for path in asked {
            assert_eq!(
                along.kind(path.as_bytes()),
                all.kind(path.as_bytes()),
                "{path}"
            );
            // The entry itself, as libgit2's lookup of the whole path
            // finds it (an undo's lookups in the index's tree).
            assert_eq!(
                along.entry(path.as_bytes()),
                tree()
                    .get_path(std::path::Path::new(path))
                    .ok()
                    .map(|e| (e.id(), e.filemode())),
                "{path}"
            );
            // One chain of folders, each above the next: one per level.
            let deepest = along.trees.keys().max_by_key(|k| k.len()).expect("the top");
            assert!(
                along.trees.keys().all(|k| k.is_empty()
                    || k == deepest
                    || (deepest.starts_with(k) && deepest[k.len()] == b'/')),
                "{path}: {:?}",
                along.trees.keys()
            );
        }
        assert!(
            all.trees.len() > 5,
            "every folder kept: {:?}",
            all.trees.keys()
        );
    }
}
