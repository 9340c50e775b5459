//! What a journal record names, made durable before the record is written
//! (docs/journal.md, Durability).
//!
//! A `begin` record may be appended only once everything it names is on
//! disk: the snapshot's objects, the saved index, the copies in
//! `ops/<id>/`, the keep reflog and its ref. The files are collected as they
//! are written (the object store's by [`Repo`], see `git/written.rs`), with
//! the folders whose entries changed, and fsynced together just before the
//! record.
//!
//! Not `syncfs`: it waits for every dirty page of the filesystem, so right
//! after a build or a copy wrote hundreds of megabytes elsewhere it took a
//! second. The files here are few (a loose object each, or one pack), and
//! they are fsynced on several threads at once: the filesystem then commits
//! them in one or two journal transactions instead of one each.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::git::Repo;

/// Threads fsyncing at once: enough for the filesystem to group the
/// commits (fsync waits on the disk, not on a core).
const THREADS: usize = 8;

/// Files and folders to fsync before a record names them.
#[derive(Debug, Default)]
pub(crate) struct Durable {
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl Durable {
    /// A file written (or linked) in place: its bytes, and its entry in
    /// its folder.
    pub fn file(&mut self, path: &Path) {
        if let Some(dir) = path.parent() {
            self.dirs.insert(dir.to_path_buf());
        }
        self.files.insert(path.to_path_buf());
    }

    /// A folder whose entries changed (a file renamed into it, removed).
    pub fn dir(&mut self, dir: &Path) {
        self.dirs.insert(dir.to_path_buf());
    }

    /// Make `dir` and the folders above it that are missing, each new one
    /// noted in its parent. Whether `dir` was made.
    pub fn create_dir_all(&mut self, dir: &Path) -> anyhow::Result<bool> {
        if dir.is_dir() {
            return Ok(false);
        }
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.is_dir()).collect();
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        for made in missing {
            if let Some(parent) = made.parent() {
                self.dir(parent);
            }
        }
        Ok(true)
    }

    /// Write a file whole (its folders made as needed), synced with the rest.
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            self.create_dir_all(parent)?;
        }
        let mut f =
            File::create(path).with_context(|| format!("could not create {}", path.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("could not write {}", path.display()))?;
        self.file(path);
        Ok(())
    }

    /// The objects this process wrote to the repository's object store
    /// since the last sync.
    pub fn objects(&mut self, repo: &Repo) -> anyhow::Result<()> {
        let written = repo.take_written_files()?;
        self.files.extend(written.files);
        self.dirs.extend(written.dirs);
        Ok(())
    }

    /// fsync every file and folder noted; only then may a record name them.
    pub fn sync(self) -> anyhow::Result<()> {
        let all: Vec<PathBuf> = self.files.into_iter().chain(self.dirs).collect();
        if all.len() <= 2 {
            return all.iter().try_for_each(|p| sync_path(p));
        }
        let per_thread = all.len().div_ceil(THREADS);
        std::thread::scope(|scope| {
            let workers: Vec<_> = all
                .chunks(per_thread)
                .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|p| sync_path(p))))
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sync thread panicked")))
            })
        })
    }
}

/// fsync one file or folder (opened read-only: loose objects are 0444).
fn sync_path(path: &Path) -> anyhow::Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("could not sync {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::Durable;

    #[test]
    fn each_folder_made_is_noted_in_its_parent() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("the folder");
        let mut durable = Durable::default();
        assert!(durable.create_dir_all(&root.join("a/b/c")).expect("mkdir"));
        assert!(!durable.create_dir_all(&root.join("a/b")).expect("there"));
        durable
            .write(&root.join("a/b/c/d/file"), b"bytes")
            .expect("write");
        let dirs: Vec<_> = durable.dirs.iter().cloned().collect();
        assert_eq!(
            dirs,
            ["", "a", "a/b", "a/b/c", "a/b/c/d"]
                .map(|d| root.join(d).components().collect::<std::path::PathBuf>())
        );
        let files: Vec<_> = durable.files.iter().cloned().collect();
        assert_eq!(files, [root.join("a/b/c/d/file")]);
        durable.sync().expect("sync");
    }
}
