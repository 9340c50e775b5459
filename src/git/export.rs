//! A tree's files in a temporary directory outside the repository, where
//! its tests run (`check`, `baseline verify`, `--verify`, `drill`).
//!
//! Exporting writes every file of the tree: on a 100,000-file repository
//! about six seconds of creating files, where the tests themselves may
//! take none. A drill verifies up to three trees one after the other, and
//! they differ in a few percent of their files, so an export is brought
//! to the next tree instead of being made again ([`Export::switch_to`]):
//! what the tests left (new files, files written or re-moded) is removed
//! or written again, and of the rest only what differs between the two
//! trees is written. The directory then holds exactly the new tree's
//! files, as a fresh export would (docs/design.md, One shape for every
//! mutating command: the drill's paragraph).

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::Oid;

use super::state::Stamp;
use super::Repo;

/// A tree exported into a temporary directory, removed when dropped.
pub struct Export {
    dir: Option<tempfile::TempDir>,
    tree: Oid,
    /// Every file the export wrote (or kept): its blob, mode and stamp (a
    /// file written, replaced or re-moded since has another: its ctime
    /// moved).
    files: HashMap<Vec<u8>, (Oid, u32, Stamp)>,
}

/// A tree's entries: its folders, and its files (blobs and symlinks;
/// submodules are left out) with blob and mode.
struct TreeFiles {
    dirs: HashSet<Vec<u8>>,
    files: Vec<(Vec<u8>, Oid, u32)>,
}

fn tree_files(repo: &Repo, tree: Oid) -> anyhow::Result<TreeFiles> {
    let tree = repo
        .inner
        .find_tree(tree)
        .context("could not read the tree")?;
    let mut out = TreeFiles {
        dirs: HashSet::new(),
        files: Vec::new(),
    };
    super::each_tree_entry(&repo.inner, &tree, &mut |path, entry| {
        match entry.kind() {
            Some(git2::ObjectType::Tree) => {
                out.dirs.insert(path.to_vec());
            }
            Some(git2::ObjectType::Blob) => {
                out.files
                    .push((path.to_vec(), entry.id(), entry.filemode() as u32));
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

/// Create the folders of `wanted` under `root` and write its files but
/// those in `keep` (none of them exists). Returns how many were written.
fn lay_out(
    repo: &Repo,
    root: &Path,
    wanted: &TreeFiles,
    keep: &HashSet<Vec<u8>>,
) -> anyhow::Result<usize> {
    let mut dirs: Vec<&Vec<u8>> = wanted.dirs.iter().collect();
    dirs.sort();
    for d in dirs {
        let full = root.join(OsStr::from_bytes(d));
        fs::create_dir_all(&full)
            .with_context(|| format!("could not create {}", full.display()))?;
    }
    let to_write: Vec<(PathBuf, Oid, u32)> = wanted
        .files
        .iter()
        .filter(|(p, _, _)| !keep.contains(p))
        .map(|(p, id, mode)| (root.join(OsStr::from_bytes(p)), *id, *mode))
        .collect();
    super::writer::write_new_files(repo, &to_write)?;
    Ok(to_write.len())
}

/// Every entry under `root`: its path, whether it is a folder, its stamp.
fn walk(root: &Path) -> anyhow::Result<Vec<(Vec<u8>, bool, Stamp)>> {
    let gathered = crate::walk::walk(
        root,
        &[Vec::new()],
        crate::walk::threads(),
        Vec::new,
        |found, item| {
            let meta = item
                .entry
                .metadata()
                .with_context(|| format!("could not read {}", item.path.display()))?;
            found.push((item.rel.to_vec(), meta.is_dir(), Stamp::of(&meta)));
            Ok(meta.is_dir())
        },
    )?;
    Ok(gathered.into_iter().flatten().collect())
}

impl Export {
    /// Export `tree` into a new temporary directory. `reusable`: its files
    /// are looked at once written (a walk of the directory), so that
    /// [`Export::switch_to`] keeps those the tests left alone; without,
    /// a switch writes every file again.
    pub fn new(repo: &Repo, tree: Oid, reusable: bool) -> anyhow::Result<Export> {
        let dir = tempfile::Builder::new()
            .prefix("rollback-sprint-verify-")
            .tempdir()
            .context("could not create a temporary directory")?;
        let wanted = tree_files(repo, tree)?;
        lay_out(repo, dir.path(), &wanted, &HashSet::new())?;
        let mut export = Export {
            dir: Some(dir),
            tree,
            files: HashMap::new(),
        };
        if reusable {
            export.record(&wanted.files)?;
        }
        Ok(export)
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// The tree the directory holds.
    pub fn tree(&self) -> Oid {
        self.tree
    }

    /// Bring the directory to `tree`, whatever the tests run in it did:
    /// every entry that is not a file of `tree` exactly as the export left
    /// it (same blob, mode and stamp) is removed, and the files of `tree`
    /// not kept are written. Returns how many files were written.
    pub fn switch_to(&mut self, repo: &Repo, tree: Oid) -> anyhow::Result<usize> {
        let root = self.path().to_path_buf();
        let wanted = tree_files(repo, tree)?;
        let mut found = walk(&root)?;
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let wanted_files: HashMap<&[u8], (Oid, u32)> = wanted
            .files
            .iter()
            .map(|(p, id, mode)| (p.as_slice(), (*id, *mode)))
            .collect();
        let mut keep: HashSet<Vec<u8>> = HashSet::new();
        // In path order, a folder before what it holds: once a folder is
        // removed, nothing under it is looked at (`a.txt` sorts between
        // `a` and `a/b`, so every removed folder is remembered).
        let mut removed_dirs: HashSet<Vec<u8>> = HashSet::new();
        let under_removed = |rel: &[u8], removed: &HashSet<Vec<u8>>| {
            rel.iter()
                .enumerate()
                .any(|(i, b)| *b == b'/' && removed.contains(&rel[..i]))
        };
        for (rel, is_dir, stamp) in &found {
            if under_removed(rel, &removed_dirs) {
                continue;
            }
            let full = root.join(OsStr::from_bytes(rel));
            if *is_dir {
                if !wanted.dirs.contains(rel) {
                    fs::remove_dir_all(&full)
                        .with_context(|| format!("could not remove {}", full.display()))?;
                    removed_dirs.insert(rel.clone());
                }
                continue;
            }
            let unchanged = match (wanted_files.get(rel.as_slice()), self.files.get(rel)) {
                (Some(want), Some((id, mode, then))) => *want == (*id, *mode) && then == stamp,
                _ => false,
            };
            if unchanged {
                keep.insert(rel.clone());
            } else {
                fs::remove_file(&full)
                    .with_context(|| format!("could not remove {}", full.display()))?;
            }
        }
        let written = lay_out(repo, &root, &wanted, &keep)?;
        self.tree = tree;
        self.record(&wanted.files)?;
        Ok(written)
    }

    /// Remember the stamp of every file of the tree, as written.
    fn record(&mut self, files: &[(Vec<u8>, Oid, u32)]) -> anyhow::Result<()> {
        let stamps: HashMap<Vec<u8>, Stamp> = walk(self.path())?
            .into_iter()
            .filter(|(_, is_dir, _)| !is_dir)
            .map(|(rel, _, stamp)| (rel, stamp))
            .collect();
        self.files = files
            .iter()
            .filter_map(|(p, id, mode)| stamps.get(p).map(|s| (p.clone(), (*id, *mode, *s))))
            .collect();
        Ok(())
    }
}

impl Drop for Export {
    /// Removed in the background (see `crate::trash`); here if that cannot
    /// start.
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let dir = dir.keep();
            if !crate::trash::remove_detached(&dir, &[]) {
                let _ = fs::remove_dir_all(&dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// Every entry under `root`: kind, executable bit, bytes or target.
    fn listing(root: &Path) -> Vec<(Vec<u8>, String)> {
        let mut out: Vec<(Vec<u8>, String)> = walk(root)
            .unwrap()
            .into_iter()
            .map(|(rel, is_dir, _)| {
                let full = root.join(OsStr::from_bytes(&rel));
                let meta = full.symlink_metadata().unwrap();
                let what = if is_dir {
                    "dir".to_string()
                } else if meta.file_type().is_symlink() {
                    format!("link {:?}", fs::read_link(&full).unwrap())
                } else {
                    format!(
                        "file {:o} {:?}",
                        meta.permissions().mode() & 0o111,
                        fs::read(&full).unwrap()
                    )
                };
                (rel, what)
            })
            .collect();
        out.sort();
        out
    }

    fn tree(git: &git2::Repository, files: &[(&str, &str, i32)]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, content, mode) in files {
            let id = git.blob(content.as_bytes()).unwrap();
            let zero = git2::IndexTime::new(0, 0);
            index
                .add(&git2::IndexEntry {
                    ctime: zero,
                    mtime: zero,
                    dev: 0,
                    ino: 0,
                    mode: *mode as u32,
                    uid: 0,
                    gid: 0,
                    file_size: 0,
                    id,
                    flags: path.len() as u16,
                    flags_extended: 0,
                    path: path.as_bytes().to_vec(),
                })
                .unwrap();
        }
        index.write_tree_to(git).unwrap()
    }

    /// Whatever the tests did in it, an export brought to another tree
    /// holds exactly what a fresh export of that tree holds, and files
    /// the two trees share that nobody touched are not written again.
    #[test]
    fn a_switched_export_is_a_fresh_export_of_the_new_tree() {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(dir.path().join("repo")).unwrap();
        let repo = Repo::open_ignoring_env(&dir.path().join("repo")).unwrap();
        let (file, exe, link) = (0o100644, 0o100755, 0o120000);
        let first = tree(
            &git,
            &[
                ("same.txt", "same\n", file),
                ("edited.txt", "one\n", file),
                ("gone.txt", "gone\n", file),
                ("becomes/dir", "file\n", file),
                ("dir/becomes", "dir\n", file),
                ("dir/touched.txt", "as exported\n", file),
                ("dir/chmodded.sh", "echo\n", file),
                ("run.sh", "echo\n", exe),
                ("link", "same.txt", link),
            ],
        );
        let second = tree(
            &git,
            &[
                ("same.txt", "same\n", file),
                ("edited.txt", "two\n", file),
                ("new/deep/file.txt", "new\n", file),
                ("becomes", "now a file\n", file),
                ("dir/becomes/inside.txt", "now a folder\n", file),
                ("dir/touched.txt", "as exported\n", file),
                ("dir/chmodded.sh", "echo\n", file),
                ("run.sh", "echo\n", file),
                ("link", "edited.txt", link),
            ],
        );
        let mut export = Export::new(&repo, first, true).unwrap();
        let root = export.path().to_path_buf();
        let same_ino = fs::metadata(root.join("same.txt")).unwrap().ino();
        // What tests leave behind.
        fs::write(root.join("dir/touched.txt"), "written by the tests\n").unwrap();
        fs::set_permissions(
            root.join("dir/chmodded.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::create_dir_all(root.join("target/debug")).unwrap();
        fs::write(root.join("target/debug/out"), "build output\n").unwrap();
        // Two folders of the tests' own, one sorting inside the other's
        // files: `out`, `out.d`, `out.d/x`, `out/x`.
        for d in ["out", "out.d"] {
            fs::create_dir_all(root.join(d)).unwrap();
            fs::write(root.join(d).join("x"), "x\n").unwrap();
        }
        fs::write(root.join("leftover.log"), "log\n").unwrap();

        let written = export.switch_to(&repo, second).unwrap();
        let fresh = Export::new(&repo, second, false).unwrap();
        assert_eq!(listing(export.path()), listing(fresh.path()));
        assert_eq!(export.tree(), second);
        assert_eq!(
            fs::metadata(root.join("same.txt")).unwrap().ino(),
            same_ino,
            "an untouched shared file was written again"
        );
        // edited, new, becomes, inside, touched, chmodded, run.sh, link.
        assert_eq!(written, 8);

        // And back: the record follows the export.
        export.switch_to(&repo, first).unwrap();
        let fresh = Export::new(&repo, first, false).unwrap();
        assert_eq!(listing(export.path()), listing(fresh.path()));
    }
}
