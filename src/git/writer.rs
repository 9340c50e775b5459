//! Changing the work tree path by path, never through a symlink.
//!
//! libgit2's reset and FORCE checkout write through a symlinked directory to
//! outside the repository (P3), fail halfway on directory↔file changes (P6)
//! and delete ignored files (P1). This writer is given an exact list of
//! changes (computed by diffing snapshot trees, so it never guesses), removes
//! before it writes, checks every parent component with `lstat`, writes each
//! file to a temporary name and renames it into place, and hands anything
//! unexpected in the way (an ignored file, a directory with ignored content)
//! to the caller to move aside — it never deletes what it was not told to.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{Delta, DiffOptions, FileMode, Oid};

use super::snapshot::ModeRecord;
use super::{Repo, RepoPath};

/// One path's new state: a blob with a git mode, or absent.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: RepoPath,
    pub new: Option<(Oid, u32)>,
    /// Whether the source tree had this path (so what is on disk there is
    /// in the snapshot and may be overwritten).
    pub old_present: bool,
    /// The snapshot's blob and mode at this path, when it had one.
    pub old: Option<(Oid, u32)>,
}

/// What a target state needs beyond its tree.
#[derive(Debug, Default, Clone)]
pub struct Extras<'a> {
    /// Empty directories in the current state (removed unless wanted).
    pub current_empty_dirs: &'a [RepoPath],
    /// Empty directories the target state has.
    pub target_empty_dirs: &'a [RepoPath],
    /// Permission bits of the target state that a tree cannot hold.
    pub target_modes: &'a [ModeRecord],
    /// Untracked files of the current state: their removal waits until the
    /// target's files (its `.gitignore`s) are written, and a file the
    /// target's rules ignore is kept — ignored files are never deleted.
    pub current_untracked: &'a [RepoPath],
    /// Write content taken from a commit through git's checkout filters
    /// (end-of-line conversion); snapshots are always written raw.
    pub smudge: bool,
    /// When the snapshot was started: a file about to be overwritten or
    /// removed whose inode changed since then (ctime) and whose content is
    /// no longer the snapshot's was changed by another process meanwhile.
    /// It is moved aside instead (undo puts it back) and reported.
    pub changed_after: Option<std::time::SystemTime>,
}

#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub written: usize,
    pub deleted: usize,
    /// Files changed by another process after the snapshot, moved aside.
    pub changed_meanwhile: Vec<RepoPath>,
}

/// The changes that turn tree `from` into tree `to` (submodules left out).
pub fn tree_changes(repo: &Repo, from: Oid, to: Oid) -> anyhow::Result<Vec<Change>> {
    if from == to {
        return Ok(Vec::new());
    }
    let a = repo
        .inner
        .find_tree(from)
        .context("could not read a tree")?;
    let b = repo.inner.find_tree(to).context("could not read a tree")?;
    let mut opts = DiffOptions::new();
    opts.ignore_submodules(true);
    let diff = repo
        .inner
        .diff_tree_to_tree(Some(&a), Some(&b), Some(&mut opts))
        .context("could not compare trees")?;
    let gitlink = u32::from(FileMode::Commit);
    let mut changes = Vec::new();
    for delta in diff.deltas() {
        match delta.status() {
            Delta::Deleted => {
                let old = delta.old_file();
                if u32::from(old.mode()) == gitlink {
                    continue;
                }
                if let Some(p) = old.path_bytes() {
                    changes.push(Change {
                        path: RepoPath::from_bytes(p),
                        new: None,
                        old_present: true,
                        old: Some((old.id(), u32::from(old.mode()))),
                    });
                }
            }
            Delta::Added | Delta::Modified | Delta::Typechange => {
                let new = delta.new_file();
                if u32::from(new.mode()) == gitlink {
                    continue;
                }
                if let Some(p) = new.path_bytes() {
                    let old = delta.old_file();
                    let old_present = delta.status() != Delta::Added;
                    changes.push(Change {
                        path: RepoPath::from_bytes(p),
                        new: Some((new.id(), u32::from(new.mode()))),
                        old_present,
                        old: old_present.then(|| (old.id(), u32::from(old.mode()))),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(changes)
}

/// Apply `changes` to the work tree. `aside` is called for anything in the
/// way that is not part of the change (it must move it out of the way and
/// remember where); nothing else is ever deleted. `progress` is told of each
/// path done (one change or one deferred removal at a time), for whatever
/// the caller shows.
pub fn apply(
    repo: &Repo,
    changes: &[Change],
    extras: &Extras<'_>,
    aside: &mut dyn FnMut(&RepoPath) -> anyhow::Result<()>,
    progress: &dyn Fn(u64),
) -> anyhow::Result<Applied> {
    let root = repo.workdir();
    let mut applied = Applied::default();
    let mut touched_dirs = BTreeSet::new();
    let untracked: std::collections::HashSet<&RepoPath> = extras.current_untracked.iter().collect();
    // A path removed and written again (its type changes) is replaced now.
    let rewritten: std::collections::HashSet<&RepoPath> = changes
        .iter()
        .filter(|c| c.new.is_some())
        .map(|c| &c.path)
        .collect();
    let mut deferred = Vec::new();
    let olds: std::collections::HashMap<&RepoPath, (Oid, u32)> = changes
        .iter()
        .filter_map(|c| c.old.map(|old| (&c.path, old)))
        .collect();
    let mut meanwhile = Vec::new();

    // 1. Removals first, so that a directory can become a file and back.
    for change in changes.iter().filter(|c| c.new.is_none()) {
        if untracked.contains(&change.path) && !rewritten.contains(&change.path) {
            deferred.push(change.path.clone());
            continue;
        }
        check_parents_are_dirs(root, &change.path)?;
        let full = change.path.under(root);
        match fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {
                // A directory where a file was recorded: it changed since the
                // snapshot. Leave it; the caller's snapshot has the rest.
            }
            Ok(meta) => {
                if !aside_if_changed(
                    repo,
                    extras,
                    &olds,
                    &change.path,
                    &meta,
                    aside,
                    &mut meanwhile,
                )? {
                    fs::remove_file(&full)
                        .with_context(|| format!("could not remove {}", change.path))?;
                    applied.deleted += 1;
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("could not read {}", change.path)),
        }
        touched_dirs.extend(change.path.ancestors());
        progress(1);
    }
    let wanted: BTreeSet<&RepoPath> = extras.target_empty_dirs.iter().collect();
    for dir in extras.current_empty_dirs {
        if !wanted.contains(dir) {
            touched_dirs.insert(dir.clone());
        }
    }
    remove_empty_dirs(root, touched_dirs)?;
    crate::fault::point("after-remove");

    // 2. Writes. This thread checks each path and reads its content; a
    // second thread writes the files (the two overlap on two cores). Every
    // check and directory creation happens here, in order, before the file
    // is handed over, and the writer only ever creates or rewrites that one
    // file.
    let mut counter = 0u64;
    // Directories verified (by lstat) or created during this pass: parent
    // components are checked once, not once per file.
    let mut known_dirs = std::collections::HashSet::new();
    let written = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<WriteJob>(512);
        let writer = scope.spawn(move || -> anyhow::Result<usize> {
            let mut n = 0;
            for job in inbox {
                write_entry(
                    &job.full,
                    job.existing.as_ref(),
                    &job.content,
                    job.mode,
                    job.counter,
                )
                .with_context(|| format!("could not write {}", job.path))?;
                n += 1;
            }
            Ok(n)
        });
        for change in changes {
            let Some((id, mode)) = change.new else {
                continue;
            };
            ensure_parent_dirs(root, &change.path, aside, &mut known_dirs)?;
            let full = change.path.under(root);
            let mut existing = fs::symlink_metadata(&full).ok();
            if let Some(meta) = &existing {
                if meta.is_dir() {
                    if fs::remove_dir(&full).is_err() {
                        aside(&change.path)?;
                    }
                    existing = None;
                } else if !change.old_present {
                    // Not in the snapshot (an ignored file): keep it aside.
                    aside(&change.path)?;
                    existing = None;
                } else if aside_if_changed(
                    repo,
                    extras,
                    &olds,
                    &change.path,
                    meta,
                    aside,
                    &mut meanwhile,
                )? {
                    existing = None;
                }
            }
            let blob = repo
                .inner
                .find_blob(id)
                .with_context(|| format!("could not read the content of {}", change.path))?;
            counter += 1;
            let content = if extras.smudge && mode != u32::from(FileMode::Link) {
                super::filter::smudge(repo, &blob, &change.path)?
            } else {
                std::borrow::Cow::Borrowed(blob.content())
            };
            let job = WriteJob {
                path: change.path.clone(),
                full,
                existing,
                content: content.into_owned(),
                mode,
                counter,
            };
            if jobs.send(job).is_err() {
                // The writer stopped on an error; it is reported below.
                break;
            }
            progress(1);
        }
        drop(jobs);
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the file writer thread panicked"))?
    })?;
    applied.written += written;
    crate::fault::point("after-write");

    // 2b. Untracked files the target's rules do not ignore go now.
    let mut removed = Vec::new();
    for path in deferred {
        if repo
            .inner
            .is_path_ignored(path.as_os_str())
            .unwrap_or(false)
        {
            continue;
        }
        if check_parents_are_dirs(root, &path).is_err() {
            continue;
        }
        let full = path.under(root);
        let meta = match fs::symlink_metadata(&full) {
            Ok(meta) if !meta.is_dir() => meta,
            _ => continue,
        };
        if !aside_if_changed(repo, extras, &olds, &path, &meta, aside, &mut meanwhile)? {
            fs::remove_file(&full).with_context(|| format!("could not remove {path}"))?;
            applied.deleted += 1;
        }
        removed.push(path);
        progress(1);
    }
    prune_empty_parents(root, &removed)?;
    crate::fault::point("after-clean");

    // 3. Empty directories and permission bits of the target. One where a
    // file was just written (at it or at a parent) stays gone: the file
    // needs the place, and the snapshot keeps the directory.
    for dir in extras.target_empty_dirs {
        if rewritten.contains(dir) || dir.ancestors().iter().any(|a| rewritten.contains(a)) {
            continue;
        }
        ensure_parent_dirs(root, dir, aside, &mut known_dirs)?;
        let full = dir.under(root);
        match fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                aside(dir)?;
                fs::create_dir(&full).with_context(|| format!("could not create {dir}"))?;
            }
            Err(_) => fs::create_dir(&full).with_context(|| format!("could not create {dir}"))?,
        }
    }
    for record in extras.target_modes {
        if check_parents_are_dirs(root, &record.path).is_err() {
            continue;
        }
        let full = record.path.under(root);
        if fs::symlink_metadata(&full).is_ok_and(|m| m.is_file()) {
            fs::set_permissions(&full, fs::Permissions::from_mode(record.mode))
                .with_context(|| format!("could not set the mode of {}", record.path))?;
        }
    }
    applied.changed_meanwhile = meanwhile;
    crate::fault::point("after-worktree");
    Ok(applied)
}

/// Move a file about to be overwritten or removed aside when another
/// process changed it after the snapshot (see `Extras::changed_after`).
fn aside_if_changed(
    repo: &Repo,
    extras: &Extras<'_>,
    olds: &std::collections::HashMap<&RepoPath, (Oid, u32)>,
    path: &RepoPath,
    meta: &fs::Metadata,
    aside: &mut dyn FnMut(&RepoPath) -> anyhow::Result<()>,
    meanwhile: &mut Vec<RepoPath>,
) -> anyhow::Result<bool> {
    let Some(since) = extras.changed_after else {
        return Ok(false);
    };
    let old = olds.get(path).copied();
    if !changed_since_snapshot(repo.workdir(), path, meta, old, since) {
        return Ok(false);
    }
    // The snapshot of an unmodified tracked file is the index's blob, which
    // checkout filters (end-of-line conversion) may make differ from the
    // bytes on disk: compare through the filters before calling it changed.
    let full = path.under(repo.workdir());
    if extras.smudge
        && meta.is_file()
        && old.is_some_and(|(id, _)| repo.inner.blob_path(&full).ok() == Some(id))
    {
        return Ok(false);
    }
    aside(path)?;
    meanwhile.push(path.clone());
    Ok(true)
}

/// Whether the file at `path` (its `lstat` is `meta`) is no longer what the
/// snapshot saved (`old`). Only an inode changed at or after `since` is
/// read, so a run with no concurrent writer reads nothing more than before;
/// `since` is rounded down to the second, for filesystems with coarse
/// timestamps.
fn changed_since_snapshot(
    root: &Path,
    path: &RepoPath,
    meta: &fs::Metadata,
    old: Option<(Oid, u32)>,
    since: std::time::SystemTime,
) -> bool {
    use std::os::unix::fs::MetadataExt;
    let since = since
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if meta.ctime() < since {
        return false;
    }
    let Some((id, mode)) = old else {
        return true;
    };
    let full = path.under(root);
    let is_link = mode == u32::from(FileMode::Link);
    let now = if meta.file_type().is_symlink() {
        if !is_link {
            return true;
        }
        fs::read_link(&full)
            .ok()
            .and_then(|t| Oid::hash_object(git2::ObjectType::Blob, t.as_os_str().as_bytes()).ok())
    } else {
        if is_link {
            return true;
        }
        Oid::hash_file(git2::ObjectType::Blob, &full).ok()
    };
    now != Some(id)
}

/// Refuse to touch a path whose parent is not a real directory (a symlink
/// could lead out of the work tree).
fn check_parents_are_dirs(root: &Path, path: &RepoPath) -> anyhow::Result<()> {
    for parent in path.ancestors() {
        match fs::symlink_metadata(parent.under(root)) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                anyhow::bail!(
                    "{parent} is not a directory (a symlink or a file changed while this command ran)"
                )
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("could not read {parent}")),
        }
    }
    Ok(())
}

/// Create missing parent directories; anything else in their place (a
/// symlink, an ignored file) is moved aside first, never followed.
fn ensure_parent_dirs(
    root: &Path,
    path: &RepoPath,
    aside: &mut dyn FnMut(&RepoPath) -> anyhow::Result<()>,
    known: &mut std::collections::HashSet<RepoPath>,
) -> anyhow::Result<()> {
    for parent in path.ancestors() {
        if known.contains(&parent) {
            continue;
        }
        let full = parent.under(root);
        match fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {
                known.insert(parent);
                continue;
            }
            Ok(_) => aside(&parent)?,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("could not read {parent}")),
        }
        fs::create_dir(&full).with_context(|| format!("could not create {parent}"))?;
        known.insert(parent);
    }
    Ok(())
}

/// The first directory that writing `paths` would change and this process
/// may not write in (permissions, a read-only mount), found before anything
/// is written so that it is a refusal, not a stop part-way. The flag says
/// whether the path gets a regular file: an existing one this process may
/// write is rewritten in place, without touching its directory; anything
/// else adds or removes a directory entry.
fn unwritable_dir<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = (&'a RepoPath, bool)>,
) -> Option<RepoPath> {
    use rustix::fs::Access;
    use std::os::unix::fs::MetadataExt;
    let may = |full: &Path, what: Access| rustix::fs::access(full, what).is_ok();
    let mut writable = std::collections::HashSet::new();
    for (path, writes_file) in paths {
        let parent = path
            .ancestors()
            .pop()
            .unwrap_or_else(|| RepoPath::from_bytes(b""));
        if writable.contains(&parent) {
            continue;
        }
        let full = path.under(root);
        let existing = fs::symlink_metadata(&full).ok();
        if existing.is_none() && !writes_file {
            continue; // nothing to remove
        }
        if writes_file
            && existing
                .as_ref()
                .is_some_and(|m| m.is_file() && m.nlink() == 1)
            && may(&full, Access::WRITE_OK)
        {
            continue; // rewritten in place
        }
        // The directory the entry goes in: the nearest one that exists
        // (the writer creates the rest).
        let mut dir = parent.clone();
        while !dir.as_bytes().is_empty()
            && !fs::symlink_metadata(dir.under(root)).is_ok_and(|m| m.is_dir())
        {
            dir = dir
                .ancestors()
                .pop()
                .unwrap_or_else(|| RepoPath::from_bytes(b""));
        }
        if !may(&dir.under(root), Access::WRITE_OK | Access::EXEC_OK) {
            return Some(dir);
        }
        writable.insert(parent);
    }
    None
}

/// Whether a change leaves a regular file at its path.
pub fn writes_regular_file(change: &Change) -> bool {
    change.new.is_some_and(|(_, mode)| is_regular_mode(mode))
}

/// Whether a git mode is a regular file's (executable or not).
pub fn is_regular_mode(mode: u32) -> bool {
    mode == u32::from(FileMode::Blob) || mode == u32::from(FileMode::BlobExecutable)
}

/// [`unwritable_dir`] as a refusal.
pub fn check_writable<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = (&'a RepoPath, bool)>,
) -> anyhow::Result<()> {
    match unwritable_dir(root, paths) {
        Some(dir) => Err(unwritable_error(&dir)),
        None => Ok(()),
    }
}

/// The refusal for [`unwritable_dir`]'s answer.
fn unwritable_error(dir: &RepoPath) -> anyhow::Error {
    let (name, chmod) = if dir.as_bytes().is_empty() {
        ("the top of the work tree".to_string(), ".".to_string())
    } else {
        (format!("{dir}/"), dir.to_string())
    };
    crate::error::user(format!(
        "cannot write in {name}, which this command must change"
    ))
    .hint(format!(
        "make it writable (chmod u+w {chmod}), then run the command again"
    ))
    .into()
}

/// Remove the parent directories of `paths` that are now empty.
pub fn prune_empty_parents(root: &Path, paths: &[RepoPath]) -> anyhow::Result<()> {
    let dirs: BTreeSet<RepoPath> = paths.iter().flat_map(|p| p.ancestors()).collect();
    remove_empty_dirs(root, dirs)
}

/// Remove directories that became empty (and then their parents), deepest
/// first.
fn remove_empty_dirs(root: &Path, dirs: BTreeSet<RepoPath>) -> anyhow::Result<()> {
    let mut all = dirs.clone();
    for d in &dirs {
        all.extend(d.ancestors());
    }
    let mut dirs: Vec<RepoPath> = all.into_iter().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.as_bytes().iter().filter(|b| **b == b'/').count()));
    for dir in dirs {
        let full = dir.under(root);
        if fs::symlink_metadata(&full).is_ok_and(|m| m.is_dir()) {
            // Fails (and is left alone) when something is still inside.
            let _ = fs::remove_dir(&full);
        }
    }
    Ok(())
}

/// Write one file. An existing regular file with a single link is
/// rewritten in place (no new inode: creating inodes dominates the cost of a
/// large reset on ext4); a new file is created directly; a symlink, or a
/// file with other hard links, is replaced through a temporary name.
/// One file for the writer thread.
struct WriteJob {
    path: RepoPath,
    full: PathBuf,
    existing: Option<fs::Metadata>,
    content: Vec<u8>,
    mode: u32,
    counter: u64,
}

/// `existing` is the path's `lstat` when it exists (`None` when it does not).
fn write_entry(
    full: &Path,
    existing: Option<&fs::Metadata>,
    content: &[u8],
    mode: u32,
    counter: u64,
) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let is_link = mode == u32::from(FileMode::Link);
    let executable = mode == u32::from(FileMode::BlobExecutable);
    if !is_link {
        match existing {
            Some(meta) if meta.is_file() && meta.nlink() == 1 => {
                // A read-only file cannot be opened for writing (unless we
                // are root): replace it through a temporary name instead.
                if let Ok(mut file) = OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(full)
                {
                    file.write_all(content)?;
                    let perms = super::snapshot::default_perms(executable);
                    if meta.permissions().mode() & 0o7777 != perms {
                        file.set_permissions(fs::Permissions::from_mode(perms))?;
                    }
                    return Ok(());
                }
            }
            None => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(if executable { 0o777 } else { 0o666 })
                    .open(full)?;
                file.write_all(content)?;
                return Ok(());
            }
            _ => {}
        }
    }
    let tmp = temp_name(full, counter);
    let _ = fs::remove_file(&tmp);
    if is_link {
        std::os::unix::fs::symlink(OsStr::from_bytes(content), &tmp)?;
    } else {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o777 } else { 0o666 })
            .open(&tmp)?;
        if let Err(e) = file.write_all(content) {
            drop(file);
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
    }
    if let Err(e) = fs::rename(&tmp, full) {
        let _ = fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(())
}

fn temp_name(full: &Path, counter: u64) -> PathBuf {
    let name = format!(".rollback-sprint-{}-{counter}.tmp", std::process::id());
    full.with_file_name(name)
}

/// Write a tree's files into an empty directory outside the repository
/// (the baseline's tests run there; submodules are left out).
pub fn export_tree(repo: &Repo, tree: Oid, dest: &Path) -> anyhow::Result<usize> {
    let tree = repo
        .inner
        .find_tree(tree)
        .context("could not read the tree")?;
    let mut count = 0usize;
    let mut failure: Option<anyhow::Error> = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let mode = entry.filemode() as u32;
        let name = OsStr::from_bytes(entry.name_bytes());
        let full = dest.join(dir).join(name);
        let result: anyhow::Result<()> = (|| {
            match entry.kind() {
                Some(git2::ObjectType::Tree) => fs::create_dir_all(&full)?,
                Some(git2::ObjectType::Blob) => {
                    let blob = repo.inner.find_blob(entry.id())?;
                    count += 1;
                    write_entry(&full, None, blob.content(), mode, count as u64)?;
                }
                _ => {}
            }
            Ok(())
        })();
        match result {
            Ok(()) => git2::TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e.context(format!("could not write {}", full.display())));
                git2::TreeWalkResult::Abort
            }
        }
    })
    .ok();
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(count)
}
