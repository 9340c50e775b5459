//! The paths that differ between two trees, found by walking both trees
//! side by side and skipping every subtree both have with the same id
//! (docs/design.md, "Tree diffs that skip what is shared").
//!
//! libgit2's tree-to-tree diff expands every subtree of both sides and
//! compares every file: on a tree of 100,000 files it visits 200,000
//! entries however small the change. `recover` diffs each commit it picks
//! against its parent; with 200 commits that was most of its time. Here a
//! commit that changes five files reads the trees on the way to those
//! five, as `git diff-tree` does.
//!
//! The result is in libgit2's order and shape for a diff without type
//! changes: paths in byte order (a folder's entries sort as if its name
//! ended in `/`), and a path whose kind changed (file, symlink, submodule)
//! is a deletion followed by an addition.

use anyhow::Context as _;
use git2::{Oid, Repository, Tree};

/// One change: the entry (object id and mode) on each side, none where the
/// side does not have the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Differ {
    pub path: Vec<u8>,
    pub old: Option<(Oid, u32)>,
    pub new: Option<(Oid, u32)>,
}

/// The changes that turn tree `from` into tree `to` (none: the empty tree).
pub fn changes(
    repo: &Repository,
    from: Option<Oid>,
    to: Option<Oid>,
) -> anyhow::Result<Vec<Differ>> {
    let mut out = Vec::new();
    if from == to {
        return Ok(out);
    }
    let a = from.map(|id| find(repo, id)).transpose()?;
    let b = to.map(|id| find(repo, id)).transpose()?;
    walk(repo, a.as_ref(), b.as_ref(), &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn find(repo: &Repository, id: Oid) -> anyhow::Result<Tree<'_>> {
    repo.find_tree(id)
        .with_context(|| format!("could not read tree {id}"))
}

/// An entry of a tree, as the walk needs it.
struct Item {
    name: Vec<u8>,
    id: Oid,
    mode: u32,
}

impl Item {
    fn is_tree(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
}

fn items(tree: Option<&Tree<'_>>) -> Vec<Item> {
    tree.map(|t| {
        t.iter()
            .map(|e| Item {
                name: e.name_bytes().to_vec(),
                id: e.id(),
                mode: e.filemode() as u32,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// How git orders the entries of a tree: by name, a folder's as if it
/// ended in `/`.
fn order(a: &Item, b: &Item) -> std::cmp::Ordering {
    let key = |i: &Item, n: usize| -> Option<u8> {
        match i.name.get(n) {
            Some(&c) => Some(c),
            None if n == i.name.len() && i.is_tree() => Some(b'/'),
            None => None,
        }
    };
    let longest = a.name.len().max(b.name.len()) + 1;
    for n in 0..longest {
        match (key(a, n), key(b, n)) {
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => return x.cmp(&y),
        }
    }
    std::cmp::Ordering::Equal
}

fn walk(
    repo: &Repository,
    a: Option<&Tree<'_>>,
    b: Option<&Tree<'_>>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Differ>,
) -> anyhow::Result<()> {
    let (left, right) = (items(a), items(b));
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let which = match (left.get(i), right.get(j)) {
            (Some(x), Some(y)) => order(x, y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        match which {
            std::cmp::Ordering::Less => {
                one_side(repo, &left[i], true, prefix, out)?;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                one_side(repo, &right[j], false, prefix, out)?;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (x, y) = (&left[i], &right[j]);
                if x.id != y.id || x.mode != y.mode {
                    both(repo, x, y, prefix, out)?;
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(())
}

/// An entry only one side has: a file added or deleted, or every file of
/// a folder.
fn one_side(
    repo: &Repository,
    item: &Item,
    old: bool,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Differ>,
) -> anyhow::Result<()> {
    let len = prefix.len();
    prefix.extend_from_slice(&item.name);
    if item.is_tree() {
        prefix.push(b'/');
        let tree = find(repo, item.id)?;
        let (a, b) = if old {
            (Some(&tree), None)
        } else {
            (None, Some(&tree))
        };
        walk(repo, a, b, prefix, out)?;
    } else {
        let entry = Some((item.id, item.mode));
        out.push(Differ {
            path: prefix.clone(),
            old: if old { entry } else { None },
            new: if old { None } else { entry },
        });
    }
    prefix.truncate(len);
    Ok(())
}

/// An entry both sides have, with another id or mode.
fn both(
    repo: &Repository,
    x: &Item,
    y: &Item,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Differ>,
) -> anyhow::Result<()> {
    let len = prefix.len();
    prefix.extend_from_slice(&x.name);
    if x.is_tree() {
        // Both are folders: the order made them equal only then.
        prefix.push(b'/');
        let (a, b) = (find(repo, x.id)?, find(repo, y.id)?);
        walk(repo, Some(&a), Some(&b), prefix, out)?;
    } else if x.mode & 0o170000 == y.mode & 0o170000 {
        out.push(Differ {
            path: prefix.clone(),
            old: Some((x.id, x.mode)),
            new: Some((y.id, y.mode)),
        });
    } else {
        // Another kind of entry: libgit2 (without type changes) and the
        // writer see a deletion, then an addition.
        out.push(Differ {
            path: prefix.clone(),
            old: Some((x.id, x.mode)),
            new: None,
        });
        out.push(Differ {
            path: prefix.clone(),
            old: None,
            new: Some((y.id, y.mode)),
        });
    }
    prefix.truncate(len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        out.stdout
    }

    /// A tree of `files` (path, content; a content starting with `->`
    /// is a symlink; `!` at the end makes the file executable).
    fn tree(dir: &Path, files: &[(&str, &str)]) -> Oid {
        for entry in std::fs::read_dir(dir).expect("list") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path).expect("remove");
            } else {
                std::fs::remove_file(&path).expect("remove");
            }
        }
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            if let Some(target) = content.strip_prefix("->") {
                std::os::unix::fs::symlink(target, &path).expect("symlink");
            } else {
                std::fs::write(&path, content.trim_end_matches('!')).expect("write");
                if content.ends_with('!') {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                        .expect("chmod");
                }
            }
        }
        git(dir, &["add", "-A"]);
        let id = git(dir, &["write-tree"]);
        Oid::from_str(String::from_utf8_lossy(&id).trim()).expect("a tree id")
    }

    /// `git diff-tree -r` of the two trees, a type change split as
    /// libgit2 splits it.
    fn git_changes(dir: &Path, a: Oid, b: Oid) -> Vec<Differ> {
        let raw = git(
            dir,
            &[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                &a.to_string(),
                &b.to_string(),
            ],
        );
        let mut fields = raw.split(|&c| c == 0).filter(|f| !f.is_empty());
        let mut out = Vec::new();
        while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
            let meta = String::from_utf8_lossy(&meta[1..]).into_owned();
            let m: Vec<&str> = meta.split(' ').collect();
            let side = |mode: &str, id: &str| {
                let mode = u32::from_str_radix(mode, 8).expect("a mode");
                (mode != 0).then(|| (Oid::from_str(id).expect("an id"), mode))
            };
            let (old, new) = (side(m[0], m[2]), side(m[1], m[3]));
            if m[4] == "T" {
                out.push(Differ {
                    path: path.to_vec(),
                    old,
                    new: None,
                });
                out.push(Differ {
                    path: path.to_vec(),
                    old: None,
                    new,
                });
            } else {
                out.push(Differ {
                    path: path.to_vec(),
                    old,
                    new,
                });
            }
        }
        out
    }

    #[test]
    fn the_same_changes_as_git_diff_tree() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        git(dir.path(), &["init", "-q"]);
        let repo = Repository::open(dir.path()).expect("open");
        let states: &[&[(&str, &str)]] = &[
            &[
                ("a", "1"),
                ("a.txt", "2"),
                ("a-b/c", "3"),
                ("d/e/f", "4"),
                ("d/g", "5"),
                ("z", "6"),
            ],
            // a file becomes a folder and a folder a file; a deep addition
            &[
                ("a/x", "1"),
                ("a.txt", "2"),
                ("a-b", "3"),
                ("d/e/f", "4"),
                ("d/g", "5"),
                ("d/h/i/j", "7"),
                ("z", "6"),
            ],
            // mode, symlink and content changes; a folder deleted whole
            &[
                ("a/x", "1!"),
                ("a.txt", "->a/x"),
                ("a-b", "3"),
                ("d/g", "5b"),
                ("z", "6"),
            ],
            // unchanged folders next to a changed one
            &[
                ("a/x", "1!"),
                ("a.txt", "->a/x"),
                ("a-b", "3"),
                ("d/g", "5b"),
                ("z", "6"),
                ("zz/y", "8"),
            ],
            &[],
        ];
        let trees: Vec<Oid> = states.iter().map(|s| tree(dir.path(), s)).collect();
        for a in &trees {
            for b in &trees {
                let ours = changes(&repo, Some(*a), Some(*b)).expect("changes");
                assert_eq!(ours, git_changes(dir.path(), *a, *b), "{a} → {b}");
            }
        }
        let empty = trees.last().copied();
        assert_eq!(
            changes(&repo, None, Some(trees[0])).expect("changes"),
            changes(&repo, empty, Some(trees[0])).expect("changes"),
            "no tree is the empty tree"
        );
    }
}
