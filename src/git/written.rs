//! The objects this process wrote to the repository's object store, noted as
//! they are written, so that the journal can make exactly those durable
//! before a record names them (docs/journal.md, Durability).
//!
//! libgit2 writes loose objects and packs without syncing them (git's own
//! default for loose objects too). Syncing the whole filesystem covered
//! them, but waits for every dirty page on it: a second after a build
//! wrote hundreds of megabytes elsewhere. So every place in `git/` that
//! writes an object notes it here: a loose object by its id, a tree with
//! the trees libgit2 wrote below it (`write_tree_to` and the tree updater
//! return only the top one), a pack by its name. [`Written::take_files`]
//! turns the notes into the files and folders to sync. (The blobs
//! libgit2's merge writes for a picked commit, and those the work-tree
//! writer hashes, are not noted: both come after the `begin` record, which
//! never names them.)

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{ObjectType, Oid, Repository};

/// Objects written since the last [`Written::take_files`].
#[derive(Default)]
pub(crate) struct Written(RefCell<Notes>);

#[derive(Default)]
struct Notes {
    /// Loose objects (blobs, commits, tags) written one by one.
    objects: Vec<Oid>,
    /// Trees written, each with the subtrees written with it.
    trees: Vec<Oid>,
    /// Packs written, by name (`pack-<name>.pack` and `.idx`).
    packs: Vec<String>,
}

/// The files to sync and the folders whose entries changed.
#[derive(Debug, Default)]
pub struct WrittenFiles {
    pub files: Vec<PathBuf>,
    pub dirs: BTreeSet<PathBuf>,
}

impl Written {
    pub(crate) fn object(&self, id: Oid) {
        self.0.borrow_mut().objects.push(id);
    }

    pub(crate) fn tree(&self, id: Oid) {
        self.0.borrow_mut().trees.push(id);
    }

    pub(crate) fn pack(&self, name: &str) {
        self.0.borrow_mut().packs.push(name.to_string());
    }

    /// The files of the objects noted since the last call, and their
    /// folders; the notes are cleared.
    ///
    /// An object noted but not stored loose was already in a pack (libgit2
    /// then writes nothing): there is nothing of ours to sync. Below a
    /// tree, the loose subtrees are followed (a subtree libgit2 wrote is
    /// loose, and so is its parent, which it wrote too); a subtree in a pack
    /// was there before. Blobs are noted where they are written, so a
    /// tree's blobs are not looked at.
    pub(crate) fn take_files(
        &self,
        repo: &Repository,
        objects_dir: &Path,
    ) -> anyhow::Result<WrittenFiles> {
        let notes = std::mem::take(&mut *self.0.borrow_mut());
        let mut out = WrittenFiles::default();
        let mut seen = HashSet::new();
        let mut loose = |id: Oid, out: &mut WrittenFiles| -> bool {
            if !seen.insert(id) {
                return false;
            }
            let hex = id.to_string();
            let dir = objects_dir.join(&hex[..2]);
            let path = dir.join(&hex[2..]);
            if std::fs::symlink_metadata(&path).is_err() {
                return false;
            }
            out.files.push(path);
            out.dirs.insert(dir);
            true
        };
        for id in notes.objects {
            loose(id, &mut out);
        }
        let mut stack = notes.trees;
        while let Some(id) = stack.pop() {
            if !loose(id, &mut out) {
                continue;
            }
            let tree = repo
                .find_tree(id)
                .with_context(|| format!("could not read the tree {id} just written"))?;
            stack.extend(
                tree.iter()
                    .filter(|e| e.kind() == Some(ObjectType::Tree))
                    .map(|e| e.id()),
            );
        }
        if !out.files.is_empty() {
            // libgit2 makes a fan-out folder (`objects/xx`) when it is missing.
            out.dirs.insert(objects_dir.to_path_buf());
        }
        let pack_dir = objects_dir.join("pack");
        for name in &notes.packs {
            for ext in ["pack", "idx"] {
                out.files.push(pack_dir.join(format!("pack-{name}.{ext}")));
            }
        }
        if !notes.packs.is_empty() {
            out.dirs.insert(pack_dir);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use crate::git::{snapshot, Repo};

    /// Every file under `objects/`.
    fn object_files(git_dir: &Path) -> BTreeSet<PathBuf> {
        walkdir::WalkDir::new(git_dir.join("objects"))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect()
    }

    /// A repository with one commit of `files` files in `dirs` folders,
    /// then `changed` of them changed, one change staged, and `added` new
    /// files in a new folder. The fixture plays git: it writes the index.
    #[allow(clippy::disallowed_methods)]
    fn dirty_repo(dirs: usize, files: usize, changed: usize, added: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let git = git2::Repository::init(dir.path()).expect("git init");
        let mut config = git.config().expect("config");
        config.set_str("user.name", "T").expect("config");
        config
            .set_str("user.email", "t@example.com")
            .expect("config");
        let path = |n: usize| format!("d{}/f{n}.txt", n % dirs);
        for n in 0..files {
            let full = dir.path().join(path(n));
            std::fs::create_dir_all(full.parent().expect("a folder")).expect("mkdir");
            std::fs::write(full, format!("file {n}\n")).expect("write");
        }
        let mut index = crate::git::fixture::commit_everything(&git, "first");
        for n in 0..changed {
            std::fs::write(dir.path().join(path(n)), format!("changed {n}\n")).expect("write");
        }
        // A staged change makes the index's cache-tree stale on its way up:
        // the index's own trees are written anew.
        index.add_path(Path::new(&path(0))).expect("stage a change");
        index.write().expect("write the index");
        std::fs::create_dir_all(dir.path().join("new/deeper")).expect("mkdir");
        for n in 0..added {
            std::fs::write(dir.path().join(format!("new/deeper/a{n}")), "new\n").expect("write");
        }
        dir
    }

    /// Snapshot a dirty tree as `begin` does and check that what the
    /// repository noted is every object file the snapshot added: the
    /// files and their folders.
    fn check_noted(dir: &Path) -> crate::git::WrittenFiles {
        let repo = Repo::open_ignoring_env(dir).expect("open");
        let before = object_files(repo.git_dir());
        let _ = repo.take_written_files().expect("nothing yet");
        let scan = snapshot::scan_worktree(&repo).expect("scan");
        let parents: Vec<_> = repo.head_commit().expect("HEAD").into_iter().collect();
        snapshot::commit_snapshot(&repo, scan.tree, &parents, "snapshot\n").expect("commit");
        snapshot::commit_snapshot(&repo, scan.index_keepalive, &[], "index\n").expect("commit");
        let noted = repo.take_written_files().expect("the files written");
        let added: BTreeSet<PathBuf> = object_files(repo.git_dir())
            .difference(&before)
            .cloned()
            .collect();
        assert!(!added.is_empty(), "the snapshot wrote objects");
        let files: BTreeSet<PathBuf> = noted.files.iter().cloned().collect();
        let missing: Vec<_> = added.difference(&files).collect();
        assert!(missing.is_empty(), "written but not noted: {missing:?}");
        for file in &files {
            assert!(file.is_file(), "noted but not there: {}", file.display());
            let folder = file.parent().expect("a folder");
            assert!(
                noted.dirs.contains(folder),
                "{} not noted",
                folder.display()
            );
        }
        assert!(
            noted.dirs.contains(&repo.git_dir().join("objects")),
            "a new fan-out folder's entry"
        );
        let again = repo.take_written_files().expect("nothing new");
        assert!(again.files.is_empty() && again.dirs.is_empty(), "{again:?}");
        noted
    }

    #[test]
    fn a_few_changes_are_noted_as_loose_objects() {
        let dir = dirty_repo(4, 20, 3, 2);
        let noted = check_noted(dir.path());
        assert!(
            noted
                .files
                .iter()
                .all(|f| !f.starts_with(dir.path().join(".git/objects/pack"))),
            "no pack for five paths: {noted:?}"
        );
    }

    #[test]
    fn many_changes_are_noted_as_their_pack() {
        let dir = dirty_repo(10, 200, 70, 10);
        let noted = check_noted(dir.path());
        let packs = noted
            .files
            .iter()
            .filter(|f| f.starts_with(dir.path().join(".git/objects/pack")))
            .count();
        assert_eq!(packs, 2, "one pack and its index: {noted:?}");
    }
}
