//! What the journal's work-tree writer (`journal::worktree`) needs from
//! git: the changes that turn one tree into another, the checks made before
//! anything is written (a directory this process may not write in), and
//! writing one file without following a symlink — also used to export a tree
//! outside the repository for a test run. Nothing here writes the work tree
//! of its own accord (docs/design.md, One transaction for every change).

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::Write;
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
    /// Which files taken from a commit go through git's checkout filters
    /// (end-of-line conversion); snapshots are always written raw.
    pub smudge: super::Smudge,
    /// When the snapshot was started: a file about to be overwritten or
    /// removed whose inode changed since then (ctime) and whose content is
    /// no longer the snapshot's was changed by another process meanwhile.
    /// It is moved aside instead (undo puts it back) and reported.
    pub changed_after: Option<std::time::SystemTime>,
    /// Blobs another reader (the diff stat of a report, beside the writing)
    /// reads too: each read once, by whichever of the two comes first.
    pub shared: Option<std::sync::Arc<super::shared_blobs::SharedBlobs>>,
}

#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub written: usize,
    pub deleted: usize,
    /// Files changed by another process after the snapshot, moved aside.
    pub changed_meanwhile: Vec<RepoPath>,
    /// Files written through the checkout filters whose bytes came out
    /// unchanged: on disk, exactly their blob.
    pub unconverted: Vec<RepoPath>,
}

/// The changes that turn tree `from` into tree `to` (submodules left out).
pub fn tree_changes(repo: &Repo, from: Oid, to: Oid) -> anyhow::Result<Vec<Change>> {
    tree_changes_under(repo, from, to, &[])
}

/// [`tree_changes`] at and under `paths` only (everywhere for none): the
/// trees outside them are not read.
pub fn tree_changes_under(
    repo: &Repo,
    from: Oid,
    to: Oid,
    paths: &[RepoPath],
) -> anyhow::Result<Vec<Change>> {
    if from == to {
        return Ok(Vec::new());
    }
    if paths.is_empty() {
        return everywhere(repo, from, to);
    }
    let a = repo
        .inner
        .find_tree(from)
        .context("could not read a tree")?;
    let b = repo.inner.find_tree(to).context("could not read a tree")?;
    let mut opts = DiffOptions::new();
    opts.ignore_submodules(true);
    if !paths.is_empty() {
        opts.disable_pathspec_match(true);
        for p in paths {
            opts.pathspec(p.as_bytes());
        }
    }
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

/// [`tree_changes`] everywhere: the trees both sides share are skipped
/// (`treediff`), where libgit2's diff would read every file of both.
fn everywhere(repo: &Repo, from: Oid, to: Oid) -> anyhow::Result<Vec<Change>> {
    let gitlink = u32::from(FileMode::Commit);
    let differs = super::treediff::changes(&repo.inner, Some(from), Some(to))?;
    Ok(differs
        .into_iter()
        .filter(|d| match d.new {
            None => d.old.is_some_and(|(_, mode)| mode != gitlink),
            Some((_, mode)) => mode != gitlink,
        })
        .map(|d| Change {
            path: RepoPath::from_bytes(&d.path),
            new: d.new,
            old_present: d.old.is_some(),
            old: d.old,
        })
        .collect())
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
    // Folders looked at and found not writable (or not folders): their
    // entries are checked one by one.
    let mut not_writable = std::collections::HashSet::new();
    for (path, writes_file) in paths {
        let parent = path
            .ancestors()
            .pop()
            .unwrap_or_else(|| RepoPath::from_bytes(b""));
        if writable.contains(&parent) {
            continue;
        }
        // A real folder we may write in takes any entry: checked once,
        // not once a file (whole folders restored by `files`).
        if !not_writable.contains(&parent) {
            let dir = parent.under(root);
            if fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir())
                && may(&dir, Access::WRITE_OK | Access::EXEC_OK)
            {
                writable.insert(parent);
                continue;
            }
            not_writable.insert(parent.clone());
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

/// Write one file. An existing regular file with a single link is
/// rewritten in place (no new inode: creating inodes dominates the cost of a
/// large reset on ext4), over its old bytes rather than after truncating it; a new file is created directly; a symlink, or a
/// file with other hard links, is replaced through a temporary name.
///
/// `existing` is the path's `lstat` when it exists (`None` when it does not).
/// The work tree is written only by `journal::worktree`; `export`
/// writes into a directory outside the repository.
pub(crate) fn write_entry(
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
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(full)
                {
                    // Overwritten from the start, then cut to length: not
                    // truncated to nothing first, which on ext4 frees the
                    // blocks (a discard each on a `discard` mount) and makes
                    // `close` start writing the file back (`auto_da_alloc`).
                    file.write_all(content)?;
                    let len = content.len() as u64;
                    if file.metadata()?.len() != len {
                        file.set_len(len)?;
                    }
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

/// From this many files to write, the writer threads read their objects
/// themselves, each on a repository handle of its own, instead of the
/// thread that hands them the files inflating every object in turn: opening
/// a handle costs about as much as reading a few dozen objects.
pub(crate) const READ_ON_WRITERS_FROM: usize = 128;

/// The blob `id` read on a writer thread's own repository handle, which
/// it opens on its first read (`git_dir` and `workdir`: the repository's).
pub(crate) fn read_on_own_handle<'h>(
    handle: &'h mut Option<git2::Repository>,
    git_dir: &Path,
    workdir: &Path,
    id: Oid,
) -> anyhow::Result<git2::Blob<'h>> {
    let handle = match handle {
        Some(handle) => handle,
        None => handle.insert(super::repo::open_beside(git_dir, workdir)?),
    };
    Ok(handle.find_blob(id)?)
}

/// Write each blob at its full path, with its mode, outside the work tree:
/// none of the paths exists, their folders do.
pub(crate) fn write_new_files(repo: &Repo, files: &[(PathBuf, Oid, u32)]) -> anyhow::Result<()> {
    // As many writers as the machine has threads: a writer mostly waits
    // on the file system. With many files each writer reads the objects of
    // its own files on a repository handle of its own (`None` below).
    let read_on_writers = files.len() >= READ_ON_WRITERS_FROM;
    let (git_dir, workdir) = (repo.git_dir(), repo.workdir());
    crate::walk::pipeline_with(
        crate::walk::threads().max(2),
        |handle: &mut Option<git2::Repository>, (n, content): (usize, Option<Vec<u8>>)| {
            let (full, id, mode) = &files[n];
            let blob;
            let content: &[u8] = match &content {
                Some(bytes) => bytes,
                None => {
                    blob =
                        read_on_own_handle(handle, git_dir, workdir, *id).with_context(|| {
                            format!("could not read the content of {}", full.display())
                        })?;
                    blob.content()
                }
            };
            write_entry(full, None, content, *mode, n as u64)
                .with_context(|| format!("could not write {}", full.display()))
        },
        |send| {
            for (n, (full, id, _)) in files.iter().enumerate() {
                let content = if read_on_writers {
                    None
                } else {
                    let blob = repo.inner.find_blob(*id).with_context(|| {
                        format!("could not read the content of {}", full.display())
                    })?;
                    Some(blob.content().to_vec())
                };
                if !send((n, content)) {
                    // A writer stopped on an error; it is reported.
                    break;
                }
            }
            Ok(())
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Few files are read by the thread that hands them out, many by the
    /// writers on handles of their own: both come out byte for byte, with
    /// their modes.
    #[test]
    fn an_exported_tree_has_every_file_whoever_reads_its_objects() {
        use std::os::unix::fs::PermissionsExt;
        for count in [10, READ_ON_WRITERS_FROM + 50] {
            let dir = tempfile::tempdir().unwrap();
            let git = git2::Repository::init(dir.path().join("repo")).unwrap();
            let mut top = git.treebuilder(None).unwrap();
            let mut sub = git.treebuilder(None).unwrap();
            for n in 0..count {
                let id = git.blob(format!("file {n}\n").as_bytes()).unwrap();
                let mode = if n % 7 == 0 { 0o100755 } else { 0o100644 };
                sub.insert(format!("f{n:03}"), id, mode).unwrap();
            }
            let target = git.blob(b"f001").unwrap();
            sub.insert("link", target, 0o120000).unwrap();
            top.insert("sub", sub.write().unwrap(), 0o040000).unwrap();
            let tree = top.write().unwrap();
            let repo = Repo::open_ignoring_env(&dir.path().join("repo")).unwrap();
            let export = crate::git::export::Export::new(&repo, tree, false).unwrap();
            let dest = export.path();
            for n in 0..count {
                let path = dest.join(format!("sub/f{n:03}"));
                assert_eq!(fs::read(&path).unwrap(), format!("file {n}\n").as_bytes());
                let executable = fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0;
                assert_eq!(executable, n % 7 == 0, "{}", path.display());
            }
            assert_eq!(
                fs::read_link(dest.join("sub/link")).unwrap(),
                Path::new("f001")
            );
        }
    }

    #[test]
    fn an_existing_file_is_overwritten_in_place_and_cut_to_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let cases: [(&[u8], &[u8]); 4] = [
            (b"a much longer old content\n", b"short\n"),
            (b"short\n", b"longer than it was before\n"),
            (b"same size 1\n", b"same size 2\n"),
            (b"not empty\n", b""),
        ];
        for (old, new) in cases {
            fs::write(&path, old).unwrap();
            let before = fs::symlink_metadata(&path).unwrap();
            write_entry(&path, Some(&before), new, u32::from(FileMode::Blob), 0).unwrap();
            assert_eq!(fs::read(&path).unwrap(), new);
            let after = fs::symlink_metadata(&path).unwrap();
            assert_eq!(after.ino(), before.ino(), "not rewritten in place");
            assert_eq!(after.len(), new.len() as u64);
        }
    }
}
