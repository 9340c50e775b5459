//! The door: the only code that changes HEAD, refs, the stash list and
//! the index file (the work tree's writer is `worktree.rs`).
//!
//! Every function here is visible to `journal/` alone, so a command can
//! change the repository only through a [`super::Transaction`], which
//! checks the change is in the operation's scope and journals it
//! (docs/design.md, One transaction for every change). The libgit2 calls
//! that write refs are refused by clippy outside `journal/` (`clippy.toml`,
//! `disallowed-methods`).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{ErrorCode, Oid};

use crate::error::user;
use crate::git::describe_id;
use crate::git::index::index_lock_error;
use crate::git::{HeadState, Repo};

impl Repo {
    /// Point HEAD at a branch (which may be unborn) or detach it. The work
    /// tree and index are not touched.
    pub(in crate::journal) fn set_head_state(
        &self,
        state: &HeadState,
        message: &str,
    ) -> anyhow::Result<()> {
        match state {
            HeadState::Symbolic(target) => {
                self.inner
                    .reference_symbolic("HEAD", target, true, message)
                    .with_context(|| format!("could not point HEAD at {target}"))?;
            }
            HeadState::Detached(id) => {
                let id = crate::git::parse_oid(id)?;
                self.inner
                    .reference("HEAD", id, true, message)
                    .context("could not detach HEAD")?;
            }
        }
        Ok(())
    }

    /// Create, move or delete a ref, only if it still has the value `expected`.
    pub(in crate::journal) fn update_ref(
        &self,
        name: &str,
        expected: Option<Oid>,
        new: Option<Oid>,
        message: &str,
    ) -> anyhow::Result<()> {
        let current = self.ref_target(name)?;
        if current != expected {
            return Err(user(format!(
                "{name} changed while this command ran (expected {}, found {})",
                describe_id(expected),
                describe_id(current)
            ))
            .hint("another process is changing the repository; run the command again")
            .into());
        }
        match (expected, new) {
            (_, Some(new)) if expected == Some(new) => Ok(()),
            (None, Some(new)) => {
                self.inner
                    .reference(name, new, false, message)
                    .with_context(|| format!("could not create {name}"))?;
                Ok(())
            }
            (Some(old), Some(new)) => {
                self.inner
                    .reference_matching(name, new, true, old, message)
                    .with_context(|| format!("could not move {name}"))?;
                Ok(())
            }
            (Some(_), None) => {
                let mut r = self
                    .inner
                    .find_reference(name)
                    .with_context(|| format!("could not read {name}"))?;
                r.delete()
                    .with_context(|| format!("could not delete {name}"))?;
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Set or delete a ref whatever its value (restoring a journal snapshot).
    pub(in crate::journal) fn force_ref(
        &self,
        name: &str,
        value: Option<Oid>,
        message: &str,
    ) -> anyhow::Result<()> {
        match value {
            Some(id) => {
                self.inner
                    .reference(name, id, true, message)
                    .with_context(|| format!("could not set {name}"))?;
            }
            None => match self.inner.find_reference(name) {
                Ok(mut r) => r
                    .delete()
                    .with_context(|| format!("could not delete {name}"))?,
                Err(e) if e.code() == ErrorCode::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("could not read {name}")),
            },
        }
        Ok(())
    }
}

/// Push W onto the stash list, as `git stash` does (ref and reflog entry).
pub(in crate::journal) fn push_stash(
    repo: &Repo,
    w: Oid,
    reflog_message: &str,
) -> anyhow::Result<()> {
    repo.inner
        .reference_ensure_log("refs/stash")
        .context("could not create the stash reflog")?;
    repo.inner
        .reference("refs/stash", w, true, reflog_message)
        .context("could not update refs/stash")?;
    Ok(())
}

/// Delete a ref `git fetch` wrote into the tool's scratch namespace
/// (`refs/rollback/incoming/`), once it was read. Best effort: a leftover
/// scratch ref is overwritten by the next fetch.
pub fn forget_fetched(repo: &Repo, name: &str) {
    if name.starts_with("refs/rollback/incoming/") {
        let _ = repo.force_ref(name, None, "rollback-sprint: fetched baseline");
    }
}

/// `index.lock`, created exclusively and held for the whole operation.
pub(in crate::journal) struct IndexLock {
    path: PathBuf,
    file: Option<File>,
}

impl IndexLock {
    pub(in crate::journal) fn acquire(repo: &Repo) -> anyhow::Result<IndexLock> {
        let path = repo.git_dir().join("index.lock");
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => Ok(IndexLock {
                path,
                file: Some(file),
            }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(index_lock_error(&path).into()),
            Err(e) => Err(e).with_context(|| format!("could not create {}", path.display())),
        }
    }

    /// Replace the index with `bytes` (or remove it), releasing the lock the
    /// way git does: write the lock file, then rename it over the index.
    pub(in crate::journal) fn commit(mut self, bytes: Option<&[u8]>) -> anyhow::Result<()> {
        let index = self.path.with_file_name("index");
        match bytes {
            Some(bytes) => {
                let mut file = self.file.take().context("index lock already released")?;
                file.write_all(bytes).context("could not write the index")?;
                file.sync_all().context("could not sync the index")?;
                drop(file);
                fs::rename(&self.path, &index).context("could not replace the index")?;
            }
            None => {
                match fs::remove_file(&index) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e).context("could not remove the index"),
                }
                self.release();
            }
        }
        Ok(())
    }

    /// Replace the index with the complete, synced file at `path` (on the
    /// same filesystem): renamed over the lock file, which stays held, then
    /// over the index, as git does.
    pub(in crate::journal) fn commit_file(mut self, path: &Path) -> anyhow::Result<()> {
        let index = self.path.with_file_name("index");
        let file = self.file.take().context("index lock already released")?;
        drop(file);
        if let Err(e) = fs::rename(path, &self.path) {
            let _ = fs::remove_file(&self.path);
            return Err(e).context("could not replace the index");
        }
        fs::rename(&self.path, &index).context("could not replace the index")?;
        Ok(())
    }

    fn release(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        self.release();
    }
}
