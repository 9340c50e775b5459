//! Repository states libgit2 cannot handle exactly, detected before the
//! first change (SPEC I10, LIBGIT2-PITFALLS P15), and the index git would
//! use when `GIT_INDEX_FILE` names another one.
//!
//! SHA-256 and reftable repositories are refused when the repository is
//! found ([`super::discover`]); what is here depends on the command: a
//! read-only command can still work where a change could not be exact.

use std::fs;
use std::path::{Path, PathBuf};

use super::Repo;
use crate::error::user;

impl Repo {
    /// The index `GIT_INDEX_FILE` names, when it is not this repository's
    /// own `<git-dir>/index` (git sets it for hooks: `git commit <paths>`
    /// stages into a temporary index).
    pub fn foreign_index(&self) -> anyhow::Result<Option<PathBuf>> {
        let path = super::discover::index_file(self.git_dir())?;
        let own = self.git_dir().join("index");
        Ok((!same_file_path(&path, &own)).then_some(path))
    }

    /// Refuse a command that changes the repository while `GIT_INDEX_FILE`
    /// points elsewhere: it would change an index git is not using.
    pub fn refuse_foreign_index(&self) -> anyhow::Result<()> {
        if let Some(path) = self.foreign_index()? {
            return Err(user(format!(
                "GIT_INDEX_FILE names {}, not this repository's index",
                path.display()
            ))
            .hint("this command changes the repository's own index: unset GIT_INDEX_FILE (inside a git hook, run it after the commit)")
            .into());
        }
        Ok(())
    }

    /// Refuse a split index (`git update-index --split-index`): libgit2
    /// reads only the part in `.git/index` and would lose the rest.
    pub fn refuse_split_index(&self) -> anyhow::Result<()> {
        let index = super::discover::index_file(self.git_dir())?;
        if is_split_index(&index, self.git_dir()) {
            return Err(user("the index is split (core.splitIndex), which libgit2 cannot read exactly")
                .hint("join it with `git update-index --no-split-index` (and `git config core.splitIndex false`), then run the command again")
                .into());
        }
        Ok(())
    }
}

/// Whether `index` has a `link` extension naming a `sharedindex.<id>` file
/// of `git_dir`. Cheap when the index is not split: one directory listing,
/// and the index is read only when a shared index file exists.
fn is_split_index(index: &Path, git_dir: &Path) -> bool {
    let Ok(dir) = fs::read_dir(git_dir) else {
        return false;
    };
    let shared: Vec<Vec<u8>> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let hex = name.to_str()?.strip_prefix("sharedindex.")?.to_string();
            git2::Oid::from_str(&hex)
                .ok()
                .map(|id| id.as_bytes().to_vec())
        })
        .collect();
    if shared.is_empty() {
        return false;
    }
    let Ok(bytes) = fs::read(index) else {
        return false;
    };
    shared.iter().any(|id| {
        bytes
            .windows(8 + id.len())
            .any(|w| &w[..4] == b"link" && &w[8..] == id.as_slice())
    })
}

/// Whether two paths name the same file, the directory part resolved.
fn same_file_path(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| -> Option<PathBuf> {
        let parent = fs::canonicalize(p.parent()?).ok()?;
        Some(parent.join(p.file_name()?))
    };
    match (resolve(a), resolve(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}
