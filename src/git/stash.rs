//! A real stash entry built from a snapshot scan, without libgit2's stash
//! (which deletes ignored files in untracked directories, P1, and is 2.8×
//! slower than git on large trees).
//!
//! The entry has git's shape, so `git stash list/show/pop --index` work on
//! it: W (the work tree's tracked files) with parents HEAD, I (the index)
//! and, when there are untracked files, U (only the untracked files).

use anyhow::Context as _;
use git2::Oid;

use super::indexfile::{push_tree_entry, Entry, IndexFile};
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
    let mut parents = vec![head, i];
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
        let odb = objects
            .odb()
            .context("could not open the object database")?;
        let mut paths: Vec<&RepoPath> = scan.untracked.iter().collect();
        paths.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        // HEAD's folders read once each, not once per path (`Folders`).
        let in_head = Folders::entries(&repo.inner, head_tree.clone(), &paths);
        let split: Vec<Split<'_>> = paths
            .iter()
            .zip(&in_head)
            .map(|(path, head)| Split {
                rest: path.as_bytes(),
                drop: !head.is_some_and(|(_, mode)| is_blob_mode(mode)),
            })
            .collect();
        // One pass over the snapshot's folders along the untracked files:
        // their entries for U, and the snapshot without them for W.
        let mut found = Vec::with_capacity(paths.len());
        let w_tree = match split_folder(&repo.inner, &odb, scan.tree, &split, &mut found)? {
            Some(tree) => tree,
            None => write_tree(&odb, &[])?,
        };
        if found.len() != paths.len() {
            anyhow::bail!("internal error: not every untracked file was found in the snapshot");
        }
        let untracked = IndexFile {
            version: 2,
            entries: paths
                .iter()
                .zip(found)
                .map(|(path, (id, mode))| Entry::new(path.as_bytes().to_vec(), id, mode))
                .collect(),
            extensions: Vec::new(),
        };
        let u_tree = untracked.write_tree(&odb)?;
        for tree in [u_tree, w_tree] {
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

/// An untracked file on the way down the snapshot's folders: its path
/// below the folder at hand, and whether W leaves it out (HEAD has no
/// file there).
struct Split<'p> {
    rest: &'p [u8],
    drop: bool,
}

/// The folder `tree` of the snapshot with the files of `paths` (sorted,
/// all in it, relative to it) that are to be dropped left out, written to
/// `odb`; the entry (id, mode) of every path is pushed onto `found`, in
/// their order. `None` when nothing is left in the folder (git keeps no
/// empty folder in a tree). Each folder along the paths is read once, and
/// only the folders that lose an entry are written again.
fn split_folder(
    repo: &git2::Repository,
    odb: &git2::Odb<'_>,
    tree: Oid,
    paths: &[Split<'_>],
    found: &mut Vec<(Oid, u32)>,
) -> anyhow::Result<Option<Oid>> {
    let folder = repo
        .find_tree(tree)
        .context("could not read the snapshot tree")?;
    let missing = |path: &[u8]| {
        anyhow::anyhow!(
            "internal error: the untracked file {} is missing from the snapshot",
            String::from_utf8_lossy(path)
        )
    };
    let mut data = Vec::with_capacity(folder.len() * 40);
    let mut changed = false;
    let mut at = 0;
    for entry in folder.iter() {
        let name = entry.name_bytes();
        let mode = entry.filemode() as u32;
        let mut id = entry.id();
        // The paths sort as the entries do (a folder's name as if followed
        // by a slash), so those at this entry come next.
        let here = |p: &Split<'_>| {
            p.rest == name || (p.rest.starts_with(name) && p.rest.get(name.len()) == Some(&b'/'))
        };
        let end = at + paths[at..].iter().take_while(|p| here(p)).count();
        let mine = &paths[at..end];
        at = end;
        match mine {
            [] => {}
            [file] if file.rest == name => {
                if entry.kind() == Some(git2::ObjectType::Tree) {
                    return Err(missing(file.rest));
                }
                found.push((id, mode));
                if file.drop {
                    changed = true;
                    continue;
                }
            }
            _ if entry.kind() == Some(git2::ObjectType::Tree) => {
                let inside = mine
                    .iter()
                    .map(|p| match p.rest.get(name.len() + 1..) {
                        Some(rest) => Ok(Split { rest, drop: p.drop }),
                        None => Err(missing(p.rest)),
                    })
                    .collect::<anyhow::Result<Vec<Split<'_>>>>()?;
                match split_folder(repo, odb, id, &inside, found)? {
                    Some(new) => {
                        changed |= new != id;
                        id = new;
                    }
                    None => {
                        changed = true;
                        continue;
                    }
                }
            }
            _ => return Err(missing(mine[0].rest)),
        }
        push_tree_entry(&mut data, mode, name, id.as_bytes());
    }
    if let Some(p) = paths.get(at) {
        return Err(missing(p.rest));
    }
    if !changed {
        return Ok(Some(tree));
    }
    if data.is_empty() {
        return Ok(None);
    }
    write_tree(odb, &data).map(Some)
}

fn write_tree(odb: &git2::Odb<'_>, data: &[u8]) -> anyhow::Result<Oid> {
    odb.write(git2::ObjectType::Tree, data)
        .context("could not write the stash's tree")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `files` (path, content) written to a new repository.
    fn tree_of(repo: &git2::Repository, files: &[(&str, &str)]) -> Oid {
        let mut index = IndexFile::empty();
        for (path, content) in files {
            let id = repo.blob(content.as_bytes()).expect("a blob");
            index
                .entries
                .push(Entry::new(path.as_bytes().to_vec(), id, 0o100644));
        }
        index.entries.sort_by(|a, b| a.path.cmp(&b.path));
        let odb = repo.odb().expect("the object store");
        index.write_tree(&odb).expect("the tree")
    }

    /// Splitting keeps what is not dropped, drops empty folders, finds
    /// every entry in path order, and refuses — without a panic — a path
    /// that is not in the tree or that is a file and a folder at once.
    #[test]
    fn split_folder_drops_files_and_empty_folders_and_refuses_odd_paths() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let repo = git2::Repository::init(dir.path()).expect("a repository");
        let odb = repo.odb().expect("the object store");
        let tree = tree_of(
            &repo,
            &[("a/x", "x"), ("a/y", "y"), ("b", "b"), ("c/d/e", "e")],
        );
        let split = |rest: &'static str, drop: bool| Split {
            rest: rest.as_bytes(),
            drop,
        };
        let mut found = Vec::new();
        let paths = [split("a/y", false), split("b", true), split("c/d/e", true)];
        let w = split_folder(&repo, &odb, tree, &paths, &mut found)
            .expect("a split")
            .expect("a tree with something left");
        assert_eq!(w, tree_of(&repo, &[("a/x", "x"), ("a/y", "y")]));
        let ids: Vec<Oid> = found.iter().map(|(id, _)| *id).collect();
        let blob = |s: &str| repo.blob(s.as_bytes()).expect("a blob");
        assert_eq!(ids, [blob("y"), blob("b"), blob("e")]);

        let all = [
            split("a/x", true),
            split("a/y", true),
            split("b", true),
            split("c/d/e", true),
        ];
        let nothing = split_folder(&repo, &odb, tree, &all, &mut Vec::new()).expect("a split");
        assert_eq!(nothing, None);

        for odd in [
            vec![split("a", true), split("a/x", true)],
            vec![split("a/z", true)],
            vec![split("zz", false)],
            vec![split("b/x", true)],
        ] {
            assert!(split_folder(&repo, &odb, tree, &odd, &mut Vec::new()).is_err());
        }
    }
}
