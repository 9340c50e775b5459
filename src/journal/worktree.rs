//! Writing the work tree, path by path, never through a symlink: the
//! journal's own writer, which only a [`super::Transaction`] calls
//! (`apply_changes`, `prune_empty_parents`), so every work-tree change is in
//! an operation's scope and saved first.
//!
//! libgit2's reset and FORCE checkout write through a symlinked directory to
//! outside the repository (P3), fail halfway on directory↔file changes (P6)
//! and delete ignored files (P1) — docs/libgit2-pitfalls.md. This writer is
//! given an exact list of changes (computed by diffing snapshot trees, so it
//! never guesses), removes before it writes, checks every parent component
//! with `lstat`, writes each file to a temporary name and renames it into
//! place, and hands anything unexpected in the way (an ignored file, a
//! directory with ignored content) to the caller to move aside — it never
//! deletes what it was not told to. The pure parts (the changes between two
//! trees, the checks before writing, writing one file) are in
//! `git::writer`.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{FileMode, Oid};

use crate::git::writer::{write_entry, Applied, Change, Extras};
use crate::git::{Repo, RepoPath};

/// Apply `changes` to the work tree. `aside` is called for anything in the
/// way that is not part of the change (it must move it out of the way and
/// remember where); nothing else is ever deleted. `progress` is told of each
/// path done (one change or one deferred removal at a time), for whatever
/// the caller shows.
///
/// Long because it is the one pass whose order is what makes it safe:
/// removals before writes, every parent checked before a child is written,
/// untracked removals deferred until the target's `.gitignore`s are on
/// disk, empty directories last, while a writer thread is fed from the
/// loop. Split, that ordering state would travel between functions.
pub(super) fn apply(
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

    // 2. Writes. This thread checks each path and reads its content;
    // writer threads write the files (as many as the machine has threads:
    // creating a file mostly waits in the file system, so writers overlap
    // with each other and with this thread). Every check and directory
    // creation happens here, in order, before the file is handed over, and
    // a writer only ever creates or rewrites that one file.
    let mut counter = 0u64;
    // Directories verified (by lstat) or created during this pass: parent
    // components are checked once, not once per file.
    let mut known_dirs = std::collections::HashSet::new();
    let mut unconverted = Vec::new();
    // Many files: each writer reads the objects of its own files, on a
    // repository handle of its own, rather than this thread inflating them
    // all one after the other (docs/design.md, Performance).
    let writes = changes.iter().filter(|c| c.new.is_some()).count();
    let read_on_writers = writes >= crate::git::writer::READ_ON_WRITERS_FROM;
    let (git_dir, workdir) = (repo.git_dir(), repo.workdir());
    let written = crate::walk::pipeline_with(
        crate::walk::threads().max(2),
        |handle: &mut Option<git2::Repository>, job: WriteJob| {
            let (blob, left);
            let content: &[u8] = match &job.content {
                Content::Bytes(bytes) => bytes,
                Content::Object(id) => match extras.shared.as_ref().and_then(|s| s.take(*id)) {
                    Some(copy) => {
                        left = copy;
                        &left
                    }
                    None => {
                        blob =
                            crate::git::writer::read_on_own_handle(handle, git_dir, workdir, *id)
                                .with_context(|| {
                                format!("could not read the content of {}", job.path)
                            })?;
                        if let Some(shared) = &extras.shared {
                            shared.leave(*id, blob.content());
                        }
                        blob.content()
                    }
                },
            };
            write_entry(
                &job.full,
                job.existing.as_ref(),
                content,
                job.mode,
                job.counter,
            )
            .with_context(|| format!("could not write {}", job.path))
        },
        |send| {
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
                counter += 1;
                let converted =
                    extras.smudge.applies(&change.path) && mode != u32::from(FileMode::Link);
                let content = if read_on_writers && !converted {
                    Content::Object(id)
                } else {
                    let blob = repo.inner.find_blob(id).with_context(|| {
                        format!("could not read the content of {}", change.path)
                    })?;
                    if converted {
                        let content = crate::git::smudge(repo, &blob, &change.path)?;
                        if matches!(content, std::borrow::Cow::Borrowed(_)) {
                            unconverted.push(change.path.clone());
                        }
                        Content::Bytes(content.into_owned())
                    } else {
                        Content::Bytes(blob.content().to_vec())
                    }
                };
                let job = WriteJob {
                    path: change.path.clone(),
                    full,
                    existing,
                    content,
                    mode,
                    counter,
                };
                if !send(job) {
                    // A writer stopped on an error; it is reported below.
                    break;
                }
                progress(1);
            }
            Ok(())
        },
    )?;
    applied.written += written;
    applied.unconverted.extend(unconverted);
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
    if extras.smudge.applies(path)
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
/// snapshot saved (`old`). Only an inode changed at or after `since` (see
/// [`changed_at_or_after`]) is read, so a run with no concurrent writer
/// reads nothing more than before.
fn changed_since_snapshot(
    root: &Path,
    path: &RepoPath,
    meta: &fs::Metadata,
    old: Option<(Oid, u32)>,
    since: std::time::SystemTime,
) -> bool {
    use std::os::unix::fs::MetadataExt;
    if !changed_at_or_after((meta.ctime(), meta.ctime_nsec()), since) {
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

/// Whether an inode whose change time is `ctime` (seconds, nanoseconds)
/// may have been changed at or after `since`, which was read from the
/// system clock. The kernel stamps inodes from a clock that trails that one
/// by up to a tick, and each file system keeps its own precision: a time
/// with nanoseconds is compared to within [`CTIME_SLACK`] (a tick, and the
/// hundredths of a second a few file systems keep); one without, from a
/// file system that keeps whole seconds (two on FAT), from the second
/// before `since`'s.
fn changed_at_or_after(ctime: (i64, i64), since: std::time::SystemTime) -> bool {
    let since = since
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, nanos) = ctime;
    if nanos == 0 {
        return secs >= since.as_secs() as i64 - 1;
    }
    let Some(bound) = since.checked_sub(CTIME_SLACK) else {
        return true;
    };
    (secs, nanos) >= (bound.as_secs() as i64, i64::from(bound.subsec_nanos()))
}

/// See [`changed_at_or_after`].
const CTIME_SLACK: std::time::Duration = std::time::Duration::from_millis(50);

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

/// Remove the parent directories of `paths` that are now empty.
pub(super) fn prune_empty_parents(root: &Path, paths: &[RepoPath]) -> anyhow::Result<()> {
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

/// One file for a writer thread.
struct WriteJob {
    path: RepoPath,
    full: PathBuf,
    existing: Option<fs::Metadata>,
    content: Content,
    mode: u32,
    counter: u64,
}

/// What a writer writes: bytes read (and converted by the filters) by the
/// thread that checks the paths, or an object the writer reads itself.
enum Content {
    Bytes(Vec<u8>),
    Object(Oid),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64, millis: u64) -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn change_times_with_nanoseconds_are_compared_to_within_the_slack() {
        let since = at(1_000, 500);
        let ms = |m: i64| 1_000_000 * m;
        // Later, or trailing `since` by less than the slack: read.
        assert!(changed_at_or_after((1_000, ms(500)), since));
        assert!(changed_at_or_after((1_001, 1), since));
        assert!(changed_at_or_after((1_000, ms(451)), since));
        // Older than the slack: trusted, even within the same second.
        assert!(!changed_at_or_after((1_000, ms(449)), since));
        assert!(!changed_at_or_after((1_000, 1), since));
        assert!(!changed_at_or_after((999, ms(999)), since));
    }

    #[test]
    fn whole_second_change_times_count_from_the_second_before() {
        let since = at(1_000, 500);
        assert!(changed_at_or_after((1_000, 0), since));
        assert!(changed_at_or_after((1_001, 0), since));
        // Two-second steps (FAT) can put a later change a second back.
        assert!(changed_at_or_after((999, 0), since));
        assert!(!changed_at_or_after((998, 0), since));
    }

    #[test]
    fn a_file_written_after_the_clock_was_read_is_seen_on_this_file_system() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("f");
        fs::write(&path, b"before").expect("write");
        let since = std::time::SystemTime::now();
        fs::write(&path, b"after").expect("write");
        let meta = fs::symlink_metadata(&path).expect("lstat");
        assert!(changed_at_or_after(
            (meta.ctime(), meta.ctime_nsec()),
            since
        ));
    }
}
