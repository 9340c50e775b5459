//! The reports folder (`rollback.reportsDir`, default `rollbacks/`): where
//! `metrics.json` and the reports are written, and the two rules that keep
//! it the tool's (docs/invariants.md, I8).
//!
//! * Nothing is ever written through a symlink: a reports folder that is a
//!   symlink, or lies under one, is refused before a command changes
//!   anything ([`check`]), so that a tracked `rollbacks -> ../elsewhere`
//!   cannot make a rollback write outside the work tree.
//! * It stays out of `git status` (and so out of `git add -A`, `git stash
//!   -u`, `git switch`) unless the team tracks it: when the tool writes
//!   into a folder that holds no tracked file and has no `.gitignore` of
//!   its own, it writes one holding `*` ([`prepare`]). A file already
//!   there — the user's, whatever it says — is never touched, and a folder
//!   git tracks (a file under it in the index or in HEAD) gets none. A
//!   folder made by an earlier version gets its `.gitignore` at the next
//!   write.
//!
//! The folder's contents are also kept out of every commit that holds the
//! user's work (stash entries, WIP and checkpoint commits, recovered
//! commits): see [`crate::git::snapshot::with_folder_from`].

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::user;
use crate::git::{Repo, RepoPath};

/// What the tool writes in a reports folder git does not track.
const IGNORE_ALL: &str = "# Written by git-rollback-sprint: its reports and metrics stay out of\n\
# `git status`, `git add -A` and `git stash -u`. To track them, replace this\n\
# file with your own .gitignore and commit the folder.\n\
*\n";

/// Refuse a reports folder that is a symlink or lies under one, or that
/// is in the way as a file: nothing may be written through it. Called by
/// every command that writes there, before it changes anything.
pub fn check(workdir: &Path, reports_dir: &str) -> anyhow::Result<()> {
    let folder = crate::settings::reports_path(reports_dir);
    let mut chain = folder.ancestors();
    chain.push(folder.clone());
    for part in chain {
        if part.as_bytes().is_empty() {
            continue;
        }
        let full = part.under(workdir);
        let meta = match fs::symlink_metadata(&full) {
            Ok(m) => m,
            // Not there yet: nothing below it is either.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("could not read {part}")),
        };
        let what = if part == folder {
            format!("the reports folder {part}")
        } else {
            format!("{part}, which holds the reports folder {folder},")
        };
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&full)
                .map(|t| format!(" (to {})", t.display()))
                .unwrap_or_default();
            return Err(user(format!(
                "{what} is a symlink{target}: nothing was changed, as the tool never writes through a symlink"
            ))
            .hint(format!(
                "make {part} a real directory, or set `git config rollback.reportsDir` to a folder inside the work tree"
            ))
            .into());
        }
        if !meta.is_dir() {
            return Err(
                user(format!("{what} is not a directory: nothing was changed"))
                    .hint(format!(
                    "move {part} away, or set `git config rollback.reportsDir` to another folder"
                ))
                    .into(),
            );
        }
    }
    Ok(())
}

/// Make the reports folder ready for writing: [`check`]ed, created, and
/// kept ignored when git does not track it. Returns its full path.
pub fn prepare(repo: &Repo, reports_dir: &str) -> anyhow::Result<PathBuf> {
    check(repo.workdir(), reports_dir)?;
    let folder = crate::settings::reports_path(reports_dir);
    let full = folder.under(repo.workdir());
    fs::create_dir_all(&full).with_context(|| format!("could not create {}", full.display()))?;
    // With a `.gitignore` there already, nothing to decide (and the index,
    // large in a large repository, is not read).
    let has_ignore_file = fs::symlink_metadata(full.join(".gitignore")).is_ok();
    if !has_ignore_file && !is_tracked(repo, &folder)? {
        write_ignore_file(&full)?;
    }
    Ok(full)
}

/// Whether git tracks anything at or under `folder` (the index or HEAD).
///
/// The index file is read by the pre-commit check's reader, which keeps
/// only paths: right after a rollback wrote a new index, libgit2 would
/// parse it whole again (40 ms of an `emergency` on 100,000 files). An
/// index that reader does not know is read by libgit2.
fn is_tracked(repo: &Repo, folder: &RepoPath) -> anyhow::Result<bool> {
    let index = crate::git::discover::index_file(repo.git_dir())?;
    let mut found = false;
    let under = folder.as_bytes();
    let read = crate::git::staged::each_index_entry(&index, |path, _, _, _| {
        found |= path.starts_with(under)
            && (under.is_empty() || path.len() == under.len() || path[under.len()] == b'/');
    });
    if read.is_none() && index.exists() {
        found = !repo.index_paths_under(folder)?.is_empty();
    }
    if found {
        return Ok(true);
    }
    Ok(match repo.head_commit()? {
        Some(head) => repo.tree_has_dir(repo.commit_tree(head)?, folder),
        None => false,
    })
}

/// `<folder>/.gitignore` holding `*`, unless something is there already.
fn write_ignore_file(full: &Path) -> anyhow::Result<()> {
    let path = full.join(".gitignore");
    if fs::symlink_metadata(&path).is_ok() {
        return Ok(());
    }
    // `create_new`: a file that appeared meanwhile is not overwritten.
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("could not write {}", path.display())),
    };
    file.write_all(IGNORE_ALL.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("could not write {}", path.display()))
}
