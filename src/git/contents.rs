//! What a tree and the index hold at and under a list of paths, found in
//! one pass over each: for `files`, whose paths are often whole folders.
//!
//! Looking each path up on its own read the tree from its root and the
//! index from its start again for every path, and then every file was
//! looked up once more (is its entry already the source's?). Here the
//! paths are sorted, the tree is walked once, entering only the folders on
//! the way to a path or under one, and each path's index entries are the
//! run that starts with it (found by bisection: the index is sorted). Both
//! sides come out in git's path order, where everything under a folder is
//! one run, so each path's share is a range of the whole.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use git2::{Index, ObjectType, Oid};

use super::{Repo, RepoPath};

/// An index entry at or under one of the paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub path: RepoPath,
    pub stage: u16,
    pub id: Oid,
    pub mode: u32,
    pub intent_to_add: bool,
}

/// What the tree and the index hold at and under one path.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    /// The tree's files (path, blob, mode); `None` when the tree has
    /// nothing at the path.
    pub in_tree: Option<Vec<(RepoPath, Oid, u32)>>,
    /// Submodules (gitlinks) in the tree, in path order.
    pub tree_links: Vec<(RepoPath, Oid)>,
    /// Index entries, every stage, in index order.
    pub in_index: Vec<IndexEntry>,
}

impl Contents {
    /// The index's paths (each once, whatever its stages).
    pub fn tracked(&self) -> Vec<RepoPath> {
        let mut out: Vec<RepoPath> = Vec::new();
        for e in &self.in_index {
            if out.last() != Some(&e.path) {
                out.push(e.path.clone());
            }
        }
        out
    }

    /// Submodules in the index (stage 0), in path order.
    pub fn index_links(&self) -> Vec<(RepoPath, Oid)> {
        self.in_index
            .iter()
            .filter(|e| e.mode == 0o160000)
            .map(|e| (e.path.clone(), e.id))
            .collect()
    }
}

const INTENT_TO_ADD: u16 = 1 << 13;

impl Repo {
    /// What `tree` and `index` hold at and under each of `paths` (one
    /// result per path, in the order given; `""` is the whole tree).
    pub fn contents_under(
        &self,
        tree: Oid,
        index: &Index,
        paths: &[RepoPath],
    ) -> anyhow::Result<Vec<Contents>> {
        let mut sorted: Vec<&RepoPath> = paths.iter().collect();
        sorted.sort();
        sorted.dedup();
        let walked = self.walk_towards(tree, &sorted)?;
        paths
            .iter()
            .map(|path| {
                Ok(Contents {
                    in_tree: walked
                        .present
                        .contains(path)
                        .then(|| walked.files[range_of(&walked.files, path, |f| &f.0)].to_vec()),
                    tree_links: walked.links[range_of(&walked.links, path, |l| &l.0)].to_vec(),
                    in_index: index_entries_under(index, path)?,
                })
            })
            .collect()
    }

    /// One walk of `tree` that enters only the folders on the way to one of
    /// `sorted` or under one: the files and submodules at and under them,
    /// in path order, and which of the paths the tree has at all.
    fn walk_towards(&self, tree: Oid, sorted: &[&RepoPath]) -> anyhow::Result<Walked> {
        let named: HashSet<&[u8]> = sorted.iter().map(|p| p.as_bytes()).collect();
        let whole = named.contains(&b""[..]);
        // Whether a folder holds one of the paths below it.
        let leads_to = |dir: &[u8]| {
            let prefix = [dir, b"/"].concat();
            let at = sorted.partition_point(|p| p.as_bytes() < prefix.as_slice());
            sorted
                .get(at)
                .is_some_and(|p| p.as_bytes().starts_with(&prefix))
        };
        let mut walked = Walked::default();
        if whole {
            walked.present.insert(RepoPath::from_bytes(b""));
        }
        let root = self
            .inner
            .find_tree(tree)
            .context("could not read a tree")?;
        // (tree, its path, whether it is at or under a named path)
        let mut stack = vec![(root, Vec::new(), whole)];
        while let Some((tree, dir, inside)) = stack.pop() {
            let mut subtrees = Vec::new();
            for entry in tree.iter() {
                let path = if dir.is_empty() {
                    entry.name_bytes().to_vec()
                } else {
                    [&dir[..], b"/", entry.name_bytes()].concat()
                };
                let is_named = named.contains(path.as_slice());
                if is_named {
                    walked.present.insert(RepoPath::from_bytes(&path));
                }
                let within = inside || is_named;
                match entry.kind() {
                    Some(ObjectType::Tree) if within || leads_to(&path) => {
                        let sub = self
                            .inner
                            .find_tree(entry.id())
                            .context("could not read a tree")?;
                        subtrees.push((sub, path, within));
                    }
                    Some(ObjectType::Blob) if within => walked.files.push((
                        RepoPath::from_bytes(&path),
                        entry.id(),
                        entry.filemode() as u32,
                    )),
                    Some(ObjectType::Commit) if within => {
                        walked.links.push((RepoPath::from_bytes(&path), entry.id()));
                    }
                    _ => {}
                }
            }
            stack.extend(subtrees);
        }
        // A folder's files and its subfolders' interleave in path order:
        // sorted once, at the end.
        walked.files.sort_by(|a, b| a.0.cmp(&b.0));
        walked.links.sort();
        Ok(walked)
    }
}

#[derive(Default)]
struct Walked {
    files: Vec<(RepoPath, Oid, u32)>,
    links: Vec<(RepoPath, Oid)>,
    present: HashSet<RepoPath>,
}

/// The range of `sorted` (in path order) at or under `path`: the path
/// itself, or the run that starts with `path/`.
fn range_of<T>(
    sorted: &[T],
    path: &RepoPath,
    key: impl Fn(&T) -> &RepoPath,
) -> std::ops::Range<usize> {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return 0..sorted.len();
    }
    let start = sorted.partition_point(|t| key(t).as_bytes() < bytes);
    if sorted
        .get(start)
        .is_some_and(|t| key(t).as_bytes() == bytes)
    {
        return start..start + 1;
    }
    let prefix = [bytes, b"/"].concat();
    let start = sorted.partition_point(|t| key(t).as_bytes() < prefix.as_slice());
    let end = start + sorted[start..].partition_point(|t| key(t).as_bytes().starts_with(&prefix));
    start..end
}

/// The index entries at and under `path`: the run that starts with it
/// (the index is sorted by path), found by bisection.
fn index_entries_under(index: &Index, path: &RepoPath) -> anyhow::Result<Vec<IndexEntry>> {
    let mut out = Vec::new();
    super::index::each_entry_under(index, path, |p, e| {
        out.push(IndexEntry {
            path: p,
            stage: (e.flags >> 12) & 3,
            id: e.id,
            mode: e.mode,
            intent_to_add: e.flags_extended & INTENT_TO_ADD != 0,
        });
    })?;
    Ok(out)
}

/// Whether the index entries `found` (all those at and under some paths)
/// are exactly `wanted` (path, object, mode) at stage 0 for each wanted
/// path: no conflict stage, not intent-to-add. `files` then has nothing to
/// write in the index.
pub fn holds<'a>(
    found: impl IntoIterator<Item = &'a IndexEntry>,
    wanted: &[(RepoPath, Oid, u32)],
) -> bool {
    let mut by_path: HashMap<&RepoPath, (Option<&IndexEntry>, bool)> = HashMap::new();
    for e in found {
        let slot = by_path.entry(&e.path).or_insert((None, false));
        if e.stage == 0 {
            slot.0 = Some(e);
        } else {
            slot.1 = true;
        }
    }
    wanted.iter().all(|(path, id, mode)| {
        by_path.get(path).is_some_and(|(stage0, conflicted)| {
            !conflicted
                && stage0.is_some_and(|e| e.id == *id && e.mode == *mode && !e.intent_to_add)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::range_of;
    use crate::git::RepoPath;

    #[test]
    fn a_path_s_range_is_itself_or_the_run_inside_it() {
        let sorted: Vec<RepoPath> = ["a", "a.txt", "a/b", "a/c/d", "ab", "b"]
            .iter()
            .map(|p| RepoPath::from_bytes(p.as_bytes()))
            .collect();
        let of = |p: &str| range_of(&sorted, &RepoPath::from_bytes(p.as_bytes()), |x| x);
        assert_eq!(of("a"), 0..1);
        assert_eq!(of("a/c"), 3..4);
        assert_eq!(of("ab"), 4..5);
        assert_eq!(of("c"), 6..6);
        assert_eq!(of(""), 0..6);
        let dirs: Vec<RepoPath> = sorted[2..4].to_vec();
        let of = |p: &str| range_of(&dirs, &RepoPath::from_bytes(p.as_bytes()), |x| x);
        assert_eq!(of("a"), 0..2);
    }
}
