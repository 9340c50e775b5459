//! The disposable copy a drill rehearses on.
//!
//! It lives in `<common-dir>/rollback/drill/<pid>-<stamp>/work`: outside
//! the work tree (git never looks inside `.git`), on the same filesystem
//! as the work tree, so its files can be hard links (a copy costs one
//! `link` a file, not the bytes), and in one known place, so a drill that
//! was killed leaves nothing the next one does not find and remove.
//!
//! The copy is a repository of its own whose object store points at the
//! user's through `objects/info/alternates`: it reads every object and
//! writes new ones (snapshots, stash entries, WIP commits) into its own
//! store. It gets the user's HEAD, refs (not the tool's `refs/rollback/`),
//! the stash's reflog, config, `info/exclude`, a copy of the index file,
//! and the work tree — every file but those in ignored directories, which
//! a rollback leaves alone anyway (an ignored file such as `.env` outside
//! one is copied, because a rollback must keep it).
//!
//! Sharing an inode is safe in one direction: the tool never writes a file
//! with more than one link in place (it writes a new file and renames it
//! over), so nothing the rehearsal does reaches the user's files. The
//! other way, a file the user edits in place while a drill runs changes in
//! the copy too, and the drill may then report that level as not exact.
//!
//! The files every level rewrites (HEAD and the rollback's target both
//! have them, with other content) are copied instead: a rollback writes a
//! file with one link in place, as in the user's work tree, so the
//! rehearsed rollback takes the time the real one would, where a new file
//! and a rename for each linked one took twice as long.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use crate::git::Repo;

/// The folder every drill's copy is made in.
pub fn drill_root(repo: &Repo) -> PathBuf {
    repo.common_dir().join("rollback").join("drill")
}

/// How a copy was made, for the report.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Made {
    /// Files in the copy's work tree.
    pub files: usize,
    /// Of those, hard links to the user's files (the rest were copied).
    pub linked: usize,
    /// Ignored directories left out.
    pub ignored_dirs_left_out: usize,
}

/// A copy, removed when dropped (also when the drill fails half-way), or
/// set aside for a process of its own to remove by [`DrillCopy::discard`].
pub struct DrillCopy {
    root: PathBuf,
    pub work: PathBuf,
    pub git_dir: PathBuf,
    /// `<common-dir>/rollback` did not exist before: removed with the copy
    /// when nothing else is in it.
    made_rollback_dir: bool,
    pub made: Made,
    /// The copied files whose index entries took their stat data
    /// ([`restamp_copied`]): known to hold their entry's content.
    restamped: HashSet<Vec<u8>>,
    /// Handed to a cleaner process: nothing left to remove here.
    handed_over: bool,
}

/// The suffix of a copy set aside to be removed: the name a folder gets
/// once its drill no longer needs it.
const TRASH: &str = ".trash";

impl DrillCopy {
    /// Once the copy was found back exactly as it was made (every file's
    /// bytes, every index entry but its stat data), give the index entries
    /// of the files [`restamp_copied`] took as unchanged the stat data of
    /// those files again: an undo rewrote them, and the next rehearsed
    /// rollback would otherwise hash each one again.
    pub fn restamp_after_exact_undo(&self) -> anyhow::Result<()> {
        restamp(&self.work, |entry| self.restamped.contains(&entry.path)).map(|_| ())
    }

    /// Remove the copy without waiting for it (`crate::trash`): it is
    /// renamed (one `rename`, on the same filesystem) to a trash name in
    /// the drill folder and removed by a process of its own. Whatever that
    /// leaves (a power loss) the next drill removes, as it removes a killed
    /// drill's copy. If the remover cannot start, the copy is removed here.
    pub fn discard(mut self) {
        let mut name = self.root.file_name().unwrap_or_default().to_os_string();
        name.push(TRASH);
        let trash = self.root.with_file_name(name);
        if fs::rename(&self.root, &trash).is_err() {
            return;
        }
        self.root = trash;
        let drill = self
            .root
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut then = vec![drill.as_path()];
        if let (true, Some(rollback)) = (self.made_rollback_dir, drill.parent()) {
            then.push(rollback);
        }
        self.handed_over = crate::trash::remove_detached(&self.root, &then);
    }
}

impl Drop for DrillCopy {
    fn drop(&mut self) {
        if self.handed_over {
            return;
        }
        let _ = fs::remove_dir_all(&self.root);
        if let Some(parent) = self.root.parent() {
            let _ = fs::remove_dir(parent);
            if self.made_rollback_dir {
                if let Some(rollback) = parent.parent() {
                    let _ = fs::remove_dir(rollback);
                }
            }
        }
    }
}

/// Remove the copies of drills that are no longer running (killed, or
/// stopped by a power loss); a drill still running keeps its copy.
/// Returns how many were removed. A copy set aside by a finished drill
/// whose cleaner has not finished (or was stopped) is removed too, as far
/// as it can be, and not counted: that drill was not stopped.
pub fn remove_leftovers(repo: &Repo) -> anyhow::Result<usize> {
    let root = drill_root(repo);
    let entries = match fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", root.display())),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.as_bytes().ends_with(TRASH.as_bytes()) {
            // Its cleaner may be removing it at the same time: whatever
            // one of the two could not remove, the other did, or the next
            // drill will.
            let _ = fs::remove_dir_all(entry.path());
            continue;
        }
        let running = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| {
                pid != rustix::process::getpid() && rustix::process::test_kill_process(pid).is_ok()
            });
        if running {
            continue;
        }
        let path = entry.path();
        fs::remove_dir_all(&path)
            .with_context(|| format!("could not remove the old drill copy {}", path.display()))?;
        removed += 1;
    }
    let _ = fs::remove_dir(&root);
    Ok(removed)
}

/// Make the copy of `repo`'s current state.
pub fn make(repo: &Repo, stamp: &str, copied: &HashSet<Vec<u8>>) -> anyhow::Result<DrillCopy> {
    let rollback_dir = repo.common_dir().join("rollback");
    let made_rollback_dir = !rollback_dir.exists();
    let root = drill_root(repo).join(format!("{}-{stamp}", std::process::id()));
    fs::create_dir_all(&root).with_context(|| format!("could not create {}", root.display()))?;
    let work = root.join("work");
    let git_dir = work.join(".git");
    let copy = DrillCopy {
        root,
        work,
        git_dir,
        made_rollback_dir,
        made: Made::default(),
        restamped: HashSet::new(),
        handed_over: false,
    };
    fill(repo, copy, copied)
}

fn fill(repo: &Repo, mut copy: DrillCopy, copied: &HashSet<Vec<u8>>) -> anyhow::Result<DrillCopy> {
    let git = copy.git_dir.clone();
    for dir in [
        "objects/info",
        "objects/pack",
        "refs/heads",
        "refs/tags",
        "info",
    ] {
        fs::create_dir_all(git.join(dir))
            .with_context(|| format!("could not create {}", git.join(dir).display()))?;
    }
    let common = repo.common_dir();
    let objects = fs::canonicalize(common.join("objects"))
        .context("could not find the repository's object store")?;
    let mut alternates = objects.as_os_str().as_bytes().to_vec();
    alternates.push(b'\n');
    write(&git.join("objects/info/alternates"), &alternates)?;
    copy_file(&repo.git_dir().join("HEAD"), &git.join("HEAD"))?;
    copy_refs(&common.join("refs"), &git.join("refs"), Path::new("refs"))?;
    copy_packed_refs(&common.join("packed-refs"), &git.join("packed-refs"))?;
    copy_if_there(
        &common.join("logs/refs/stash"),
        &git.join("logs/refs/stash"),
    )?;
    for file in ["info/exclude", "info/attributes", "shallow"] {
        copy_if_there(&common.join(file), &git.join(file))?;
    }
    copy_if_there(&common.join("config"), &git.join("config"))?;
    if repo.git_dir() != common {
        copy_if_there(
            &repo.git_dir().join("config.worktree"),
            &git.join("config.worktree"),
        )?;
    }
    own_config(&git.join("config"))?;
    let index = crate::git::discover::index_file(repo.git_dir())?;
    copy_if_there(&index, &git.join("index"))?;
    let tracked_dirs = tracked_dirs(&index);
    copy_work_tree(repo, &copy.work, &tracked_dirs, copied, &mut copy.made)?;
    copy.restamped = restamp_copied(repo.workdir(), &index, &copy.work, copied)?;
    crate::fault::point("drill-copied");
    Ok(copy)
}

/// Give the copy's index the stat data of the files copied (not linked)
/// where the user's index entry describes the user's file: each copy is a
/// new file (inode, times), which libgit2's status would otherwise read
/// and hash again before the rehearsed rollback — thousands of files the
/// user's own rollback takes as unchanged from their stat data
/// (docs/design.md, the drill's copy). An entry that does not describe the
/// user's file, or is racy, keeps its stat data and is compared by
/// content, as in the user's repository. The user's file is looked at
/// after it was copied, so one that changed during the copy no longer
/// matches its entry. An index the tool's reader refuses (a split index)
/// is left as copied: the rehearsal is then only slower.
fn restamp_copied(
    root: &Path,
    user_index: &Path,
    work: &Path,
    copied: &HashSet<Vec<u8>>,
) -> anyhow::Result<HashSet<Vec<u8>>> {
    let Ok(written) = fs::metadata(user_index) else {
        return Ok(HashSet::new());
    };
    let written = written.mtime() as u32;
    restamp(work, |entry| {
        copied.contains(&entry.path)
            && entry.mtime_seconds() < written
            && fs::symlink_metadata(root.join(OsStr::from_bytes(&entry.path)))
                .is_ok_and(|m| entry.describes(&m))
    })
}

/// Give the copy's merged index entries for which `which` holds the stat
/// data of the copy's file at their path, and write the index if any
/// changed. Returns their paths.
fn restamp(
    work: &Path,
    which: impl Fn(&crate::git::indexfile::Entry) -> bool,
) -> anyhow::Result<HashSet<Vec<u8>>> {
    use crate::git::indexfile::IndexFile;
    let target = work.join(".git").join("index");
    let mut restamped = HashSet::new();
    let Ok(mut index) = IndexFile::read_path(&target) else {
        return Ok(restamped);
    };
    for entry in &mut index.entries {
        if entry.stage() != 0 || !which(entry) {
            continue;
        }
        if let Ok(meta) = fs::symlink_metadata(work.join(OsStr::from_bytes(&entry.path))) {
            entry.set_stat(&meta);
            restamped.insert(entry.path.clone());
        }
    }
    if !restamped.is_empty() {
        // The copy is disposable: nothing to sync.
        crate::atomic::write_atomic(
            &target,
            &index.to_bytes(),
            crate::atomic::Durability::None,
            crate::atomic::Mode::Umask(0o666),
        )
        .with_context(|| format!("could not write {}", target.display()))?;
    }
    Ok(restamped)
}

/// The copy's config is the user's, as a repository with its own work
/// tree (no `core.worktree`, not bare), and with `core.trustctime` off:
/// linking a file changes its inode's ctime, so every entry of the
/// index copy would look changed and be hashed again, where the user's
/// own rollback hashes only what changed (mtime, size and inode, which a
/// link keeps, still tell).
fn own_config(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        write(path, b"[core]\n\trepositoryformatversion = 0\n")?;
    }
    let mut config = git2::Config::open(path).context("could not write the copy's config")?;
    let _ = config.remove("core.worktree");
    config
        .set_bool("core.bare", false)
        .and_then(|()| config.set_bool("core.trustctime", false))
        .context("could not write the copy's config")?;
    Ok(())
}

/// Every folder that holds a tracked path: an ignored folder among them
/// is copied all the same.
fn tracked_dirs(index: &Path) -> HashSet<Vec<u8>> {
    let mut dirs = HashSet::new();
    // The tool's own reader, a fraction of libgit2's parse; libgit2's for
    // an index it refuses (a split index).
    let mut add = |path: &[u8]| {
        for (i, b) in path.iter().enumerate() {
            if *b == b'/' {
                dirs.insert(path[..i].to_vec());
            }
        }
    };
    if crate::git::staged::each_index_entry(index, |path, _, _, _| add(path)).is_none() {
        if let Ok(index) = git2::Index::open(index) {
            for entry in index.iter() {
                add(&entry.path);
            }
        }
    }
    dirs
}

/// What one thread of the copy did.
#[derive(Default)]
struct Linked {
    files: usize,
    linked: usize,
    /// Folders no tracked path is in: copied only if not ignored, which
    /// the repository (one thread's) decides after the walk.
    untracked_dirs: Vec<Vec<u8>>,
}

/// The work tree, copied on several threads (see `crate::walk`): tracked
/// folders at once, the others once the repository has said they are not
/// ignored, one walk a depth of untracked folders.
fn copy_work_tree(
    repo: &Repo,
    to: &Path,
    tracked_dirs: &HashSet<Vec<u8>>,
    copied: &HashSet<Vec<u8>>,
    made: &mut Made,
) -> anyhow::Result<()> {
    let from = repo.workdir();
    let can_link = AtomicBool::new(true);
    let mut starts = vec![Vec::new()];
    while !starts.is_empty() {
        let threads = crate::walk::threads();
        let gathered =
            crate::walk::walk(from, &starts, threads, Linked::default, |linked, item| {
                copy_entry(item, to, tracked_dirs, copied, &can_link, linked)
            })?;
        starts.clear();
        for linked in gathered {
            made.files += linked.files;
            made.linked += linked.linked;
            for rel in linked.untracked_dirs {
                let rel_path = Path::new(OsStr::from_bytes(&rel));
                if repo.is_ignored(rel_path) {
                    made.ignored_dirs_left_out += 1;
                } else if make_dir(&from.join(rel_path), &to.join(rel_path))? {
                    starts.push(rel);
                }
            }
        }
    }
    Ok(())
}

/// Copy one entry; true to go into it (a folder to copy).
fn copy_entry(
    item: &crate::walk::Item<'_>,
    to: &Path,
    tracked_dirs: &HashSet<Vec<u8>>,
    copied: &HashSet<Vec<u8>>,
    can_link: &AtomicBool,
    linked: &mut Linked,
) -> anyhow::Result<bool> {
    let ft = item.file_type;
    if item.depth == 1 && item.name == ".git" {
        return Ok(false);
    }
    let target = to.join(OsStr::from_bytes(item.rel));
    if ft.is_dir() {
        if !tracked_dirs.contains(item.rel) {
            linked.untracked_dirs.push(item.rel.to_vec());
            return Ok(false);
        }
        return make_dir(item.path, &target);
    }
    if ft.is_symlink() {
        let link = fs::read_link(item.path)
            .with_context(|| format!("could not read {}", item.path.display()))?;
        std::os::unix::fs::symlink(&link, &target)
            .with_context(|| format!("could not create {}", target.display()))?;
    } else if ft.is_file() {
        // A file that is linked costs one `link`, and only folders and
        // copied files are stat'ed.
        linked.files += 1;
        if can_link.load(Ordering::Relaxed) && !copied.contains(item.rel) {
            match fs::hard_link(item.path, &target) {
                Ok(()) => {
                    linked.linked += 1;
                    return Ok(false);
                }
                Err(_) => can_link.store(false, Ordering::Relaxed),
            }
        }
        let mode = item
            .entry
            .metadata()
            .with_context(|| format!("could not read {}", item.path.display()))?
            .mode();
        fs::copy(item.path, &target)
            .with_context(|| format!("could not copy {}", item.path.display()))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode & 0o7777))
            .with_context(|| format!("could not copy {}", item.path.display()))?;
    }
    // Sockets, FIFOs and devices are no one's work: left out.
    Ok(false)
}

/// Create the copy's folder with the same permission bits; true to copy
/// what it holds — not when it is a repository of its own (a submodule, a
/// nested clone): its folder, not its files, since no rollback writes
/// into it.
fn make_dir(from: &Path, target: &Path) -> anyhow::Result<bool> {
    let mode = from
        .symlink_metadata()
        .with_context(|| format!("could not read {}", from.display()))?
        .mode();
    fs::DirBuilder::new()
        .mode(mode & 0o7777)
        .create(target)
        .with_context(|| format!("could not create {}", target.display()))?;
    Ok(fs::symlink_metadata(from.join(".git")).is_err())
}

/// Loose refs, the tool's own (`refs/rollback/`) left out.
fn copy_refs(from: &Path, to: &Path, name: &Path) -> anyhow::Result<()> {
    let entries = match fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", from.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("could not read {}", from.display()))?;
        let child = name.join(entry.file_name());
        if child == Path::new("refs/rollback") {
            continue;
        }
        let ft = entry
            .file_type()
            .with_context(|| format!("could not read {}", entry.path().display()))?;
        if ft.is_dir() {
            fs::create_dir_all(to.join(entry.file_name()))
                .with_context(|| format!("could not create {}", to.display()))?;
            copy_refs(&entry.path(), &to.join(entry.file_name()), &child)?;
        } else if ft.is_file() && !entry.file_name().as_bytes().ends_with(b".lock") {
            copy_file(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// `packed-refs` without the tool's own refs (and their peeled lines).
fn copy_packed_refs(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = match fs::read(from) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", from.display())),
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut dropping = false;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"^") {
            if !dropping {
                out.extend_from_slice(line);
            }
            continue;
        }
        let name = line.splitn(2, |b| *b == b' ').nth(1).unwrap_or_default();
        dropping = !line.starts_with(b"#") && name.starts_with(b"refs/rollback/");
        if !dropping {
            out.extend_from_slice(line);
        }
    }
    write(to, &out)
}

fn copy_if_there(from: &Path, to: &Path) -> anyhow::Result<()> {
    match fs::symlink_metadata(from) {
        Ok(m) if m.is_file() => copy_file(from, to),
        _ => Ok(()),
    }
}

/// A byte copy (never a link: the copy's git files change on their own).
fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    let bytes = fs::read(from).with_context(|| format!("could not read {}", from.display()))?;
    write(to, &bytes)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::indexfile::IndexFile;

    fn run(dir: &Path, program: &str, args: &[&str]) {
        let status = std::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .status()
            .expect("the command runs");
        assert!(status.success(), "{program} {args:?}");
    }

    fn entry_stat(index: &Path, path: &[u8]) -> [u32; 10] {
        let index = IndexFile::read_path(index).expect("the index is read");
        let entry = index.stage0(path).expect("the path is in the index");
        entry.stat
    }

    /// A copied file's entry takes the copy's stat data only where the
    /// user's entry describes the user's file and is not racy; after an
    /// undo rewrote such a file, its entry takes the new stat data again.
    #[test]
    fn copied_files_are_restamped_only_where_the_users_entry_describes_the_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let user = dir.path().join("user");
        fs::create_dir_all(&user).expect("mkdir");
        run(&user, "git", &["init", "-q"]);
        for name in ["same.txt", "edited.txt", "racy.txt", "linked.txt"] {
            fs::write(user.join(name), format!("{name}\n")).expect("write");
        }
        // Modified long before the index is written, but for one in the
        // future: its entry is racy.
        run(
            &user,
            "touch",
            &[
                "-m",
                "-d",
                "@1000000000",
                "same.txt",
                "edited.txt",
                "linked.txt",
            ],
        );
        run(&user, "touch", &["-m", "-d", "@4000000000", "racy.txt"]);
        run(&user, "git", &["add", "-A"]);
        // Changed after the index was written: its entry no longer
        // describes it.
        fs::write(user.join("edited.txt"), "edited.txt, edited\n").expect("write");

        let work = dir.path().join("copy");
        fs::create_dir_all(work.join(".git")).expect("mkdir");
        let user_index = user.join(".git/index");
        let copy_index = work.join(".git/index");
        fs::copy(&user_index, &copy_index).expect("copy the index");
        for name in ["same.txt", "edited.txt", "racy.txt", "linked.txt"] {
            fs::copy(user.join(name), work.join(name)).expect("copy a file");
        }
        let copied: HashSet<Vec<u8>> = ["same.txt", "edited.txt", "racy.txt"]
            .iter()
            .map(|n| n.as_bytes().to_vec())
            .collect();
        let before = |name: &str| entry_stat(&user_index, name.as_bytes());

        let restamped = restamp_copied(&user, &user_index, &work, &copied).expect("restamped");
        assert_eq!(restamped, HashSet::from([b"same.txt".to_vec()]));
        let meta = fs::symlink_metadata(work.join("same.txt")).expect("the copy");
        let index = IndexFile::read_path(&copy_index).expect("the copy's index");
        let same = index.stage0(b"same.txt").expect("an entry");
        assert!(same.describes(&meta), "{:?}", same.stat);
        assert_eq!(
            same.oid(),
            git2::Oid::hash_object(git2::ObjectType::Blob, b"same.txt\n").expect("hash")
        );
        for name in ["edited.txt", "racy.txt", "linked.txt"] {
            assert_eq!(
                entry_stat(&copy_index, name.as_bytes()),
                before(name),
                "{name}"
            );
        }

        // An undo writes the file anew (another inode, other times).
        fs::remove_file(work.join("same.txt")).expect("remove");
        fs::write(work.join("same.txt"), "same.txt\n").expect("write");
        let meta = fs::symlink_metadata(work.join("same.txt")).expect("the copy");
        let stale = IndexFile::read_path(&copy_index).expect("the copy's index");
        assert!(!stale
            .stage0(b"same.txt")
            .expect("an entry")
            .describes(&meta));
        let again = restamp(&work, |e| restamped.contains(&e.path)).expect("restamped");
        assert_eq!(again, restamped);
        let index = IndexFile::read_path(&copy_index).expect("the copy's index");
        assert!(index
            .stage0(b"same.txt")
            .expect("an entry")
            .describes(&meta));
        assert_eq!(entry_stat(&copy_index, b"racy.txt"), before("racy.txt"));
    }
}
