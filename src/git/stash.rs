//! A real stash entry built from a snapshot scan, without libgit2's stash
//! (which deletes ignored files in untracked directories, P1, and is 2.8×
//! slower than git on large trees).
//!
//! The entry has git's shape, so `git stash list/show/pop --index` work on
//! it: W (the work tree's tracked files) with parents HEAD, I (the index)
//! and, when there are untracked files, U (only the untracked files).

use anyhow::Context as _;
use git2::build::TreeUpdateBuilder;
use git2::Oid;

use super::snapshot::{commit_snapshot, commit_snapshot_later, Folders, WorktreeScan};
use super::{Repo, RepoPath};

/// Write the stash commits for `scan`; returns W.
pub fn build_stash_commit(
    repo: &Repo,
    scan: &WorktreeScan,
    head: Oid,
    branch: &str,
    message: &str,
) -> anyhow::Result<Oid> {
    let info = repo.commit_info(head)?;
    let summary = format!("{} {}", repo.short_id(head), info.summary);
    let i = commit_snapshot(
        repo,
        scan.index_tree,
        &[head],
        &format!("index on {branch}: {summary}\n"),
    )?;
    let snapshot = repo
        .inner
        .find_tree(scan.tree)
        .context("could not read the snapshot tree")?;
    let mut parents = vec![head, i];
    let mut tracked = TreeUpdateBuilder::new();
    // git's W tree takes every path that differs from HEAD, so an untracked
    // file where HEAD has one (deleted from the index, then written again)
    // is in W as well as in U.
    let head_tree = repo
        .inner
        .find_commit(head)
        .and_then(|c| c.tree())
        .context("could not read HEAD's tree")?;
    // The trees of U and W are new wherever an untracked file is: with
    // many, they go into one pack rather than a loose file each.
    let batch = scan.untracked.len() >= super::batch::BATCH_FROM;
    let (u_tree, w_tree) = super::batch::with_blob_sink(repo, batch, |sink| {
        if scan.untracked.is_empty() {
            return Ok((None, scan.tree));
        }
        let objects = sink.object_repo().unwrap_or(&repo.inner);
        let empty = objects.treebuilder(None)?.write()?;
        let empty = objects.find_tree(empty)?;
        let mut only_untracked = TreeUpdateBuilder::new();
        // Each folder of the two trees read once, not once per path
        // (`Folders`): an emergency over thousands of untracked files
        // spent most of its stash here.
        let paths: Vec<&RepoPath> = scan.untracked.iter().collect();
        let in_snapshot = Folders::entries(&repo.inner, snapshot.clone(), &paths);
        let in_head = Folders::entries(&repo.inner, head_tree.clone(), &paths);
        for ((path, entry), head) in paths.iter().zip(in_snapshot).zip(in_head) {
            let (id, mode) =
                entry.with_context(|| format!("{path} is missing from the snapshot"))?;
            only_untracked.upsert(path.as_bytes(), id, super::file_mode(mode as u32));
            if !head.is_some_and(|(_, mode)| is_blob_mode(mode)) {
                tracked.remove(path.as_bytes());
            }
        }
        let u_tree = only_untracked.create_updated(objects, &empty)?;
        let w_tree = tracked.create_updated(objects, &snapshot)?;
        for tree in [empty.id(), u_tree, w_tree] {
            sink.add_tree(tree);
        }
        Ok((Some(u_tree), w_tree))
    })?;
    if let Some(u_tree) = u_tree {
        let u = commit_snapshot(
            repo,
            u_tree,
            &[],
            &format!("untracked files on {branch}: {summary}\n"),
        )?;
        parents.push(u);
    }
    // Two emergencies in one second over the same work build the same W:
    // git would not log an update of refs/stash to the value it has, and
    // the second entry would be missing from the list (and its undo would
    // drop the first). W is then dated a second later, as often as needed.
    let listed = stash_commits(repo);
    let message = format!("On {branch}: {message}\n");
    let mut later = 0;
    loop {
        let w = commit_snapshot_later(repo, w_tree, &parents, &message, later)?;
        if !listed.contains(&w) {
            return Ok(w);
        }
        later += 1;
    }
}

/// Whether a tree entry's mode is a blob's: a file, an executable or a
/// symlink (not a folder, not a submodule's commit).
fn is_blob_mode(mode: i32) -> bool {
    matches!(mode & 0o170000, 0o100000 | 0o120000)
}

/// The commits of the stash list's entries (none when it cannot be read).
fn stash_commits(repo: &Repo) -> std::collections::HashSet<Oid> {
    let mut listed = std::collections::HashSet::new();
    if let Ok(reflog) = repo.inner.reflog("refs/stash") {
        listed.extend(reflog.iter().map(|e| e.id_new()));
    }
    if let Ok(tip) = repo.inner.refname_to_id("refs/stash") {
        listed.insert(tip);
    }
    listed
}
