//! What is staged, fast: HEAD's tree against the index file, skipping every
//! directory whose cache-tree entry says it is unchanged.
//!
//! libgit2's tree-to-index diff ignores the index's cache-tree and compares
//! all 100,000 entries of a large repository (docs/design.md, Performance:
//! 138 ms, against 12 ms for `git diff --cached`). A pre-commit hook runs on
//! every commit, so it reads the index file itself (versions 2–4, SHA-1)
//! and walks HEAD's tree and the index side by side, as git does, taking a
//! directory as unchanged when its cache-tree entry is valid and names the
//! same tree as HEAD's. Anything it does not understand falls back to
//! libgit2's diff.

use std::collections::HashMap;

use anyhow::Context as _;
use git2::{ObjectType, Oid};

use super::{Repo, RepoPath};

/// One staged path: its content in the index (`None` when deleted), and its
/// conflict stage (0 when merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub path: RepoPath,
    pub id: Option<Oid>,
    pub mode: u32,
    pub stage: u8,
}

struct Entry<'a> {
    path: std::borrow::Cow<'a, [u8]>,
    id: Oid,
    mode: u32,
    stage: u8,
}

/// A node of the cache-tree extension.
struct CacheNode {
    /// `None` when the node is invalid (entry count -1).
    id: Option<Oid>,
    children: HashMap<Vec<u8>, CacheNode>,
}

impl Repo {
    /// The paths whose index version differs from HEAD's (all of them when
    /// HEAD is unborn), conflicts included, in index order.
    pub fn staged(&self) -> anyhow::Result<Vec<Staged>> {
        // `git commit -a` and `git commit <paths>` run the pre-commit hook
        // with GIT_INDEX_FILE naming a temporary index: that index, not
        // `.git/index`, is what is about to be committed. A relative value
        // is relative to the current directory, as git reads it.
        let path = match std::env::var_os("GIT_INDEX_FILE") {
            Some(file) if !file.is_empty() => std::env::current_dir()
                .context("could not read the current directory")?
                .join(file),
            _ => self.git_dir().join("index"),
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).context("could not read the index"),
        };
        let head_tree = match self.head_commit()? {
            Some(h) => Some(
                self.inner
                    .find_commit(h)
                    .and_then(|c| c.tree())
                    .context("could not read HEAD's tree")?,
            ),
            None => None,
        };
        if bytes.is_empty() {
            let mut out = Vec::new();
            if let Some(tree) = &head_tree {
                self.all_deleted(tree, b"", &mut out)?;
            }
            return Ok(out);
        }
        crate::trace::phase("staged: parse the index");
        let parsed = parse(&bytes);
        crate::trace::phase("staged: compare");
        match parsed {
            Some((entries, cache)) => {
                let mut out = Vec::new();
                self.compare(
                    head_tree.as_ref(),
                    b"",
                    &entries,
                    Some(&cache).filter(|c| c.id.is_some() || !c.children.is_empty()),
                    &mut out,
                )?;
                Ok(out)
            }
            None => self.staged_by_diff(head_tree.as_ref(), &path),
        }
    }

    /// `tree` (at `dir`, `None` when HEAD has nothing there) against the
    /// index entries under `dir` (sorted, contiguous).
    ///
    /// Long because it is one merge-join of two sorted lists (tree entries
    /// and index entries), with a branch for each way they can differ.
    fn compare(
        &self,
        tree: Option<&git2::Tree<'_>>,
        dir: &[u8],
        entries: &[Entry<'_>],
        cache: Option<&CacheNode>,
        out: &mut Vec<Staged>,
    ) -> anyhow::Result<()> {
        if let (Some(tree), Some(CacheNode { id: Some(id), .. })) = (tree, cache) {
            if *id == tree.id() {
                return Ok(());
            }
        }
        // The index side, grouped by first component under `dir`.
        let mut i = 0;
        let mut seen: Vec<Vec<u8>> = Vec::new();
        while i < entries.len() {
            let rest = &entries[i].path[dir.len()..];
            match rest.iter().position(|&b| b == b'/') {
                None => {
                    // Files (all stages) named `rest` directly in `dir`.
                    let name = rest.to_vec();
                    let mut j = i;
                    while j < entries.len() && entries[j].path[dir.len()..] == name[..] {
                        j += 1;
                    }
                    let here = tree.and_then(|t| t.get_name_bytes(&name));
                    let head = here
                        .as_ref()
                        .map(|e| (e.id(), e.filemode() as u32, e.kind()));
                    for e in &entries[i..j] {
                        let same = e.stage == 0
                            && head.is_some_and(|(id, mode, _)| id == e.id && mode == e.mode);
                        if !same {
                            out.push(Staged {
                                path: RepoPath::from_bytes(&e.path),
                                id: Some(e.id),
                                mode: e.mode,
                                stage: e.stage,
                            });
                        }
                    }
                    // A directory in HEAD replaced by this file: all deleted.
                    if let Some(here) = &here {
                        if here.kind() == Some(ObjectType::Tree) {
                            let sub = here
                                .to_object(&self.inner)
                                .and_then(|o| o.peel_to_tree())
                                .context("could not read a tree")?;
                            let mut prefix = entries[i].path.to_vec();
                            prefix.push(b'/');
                            self.all_deleted(&sub, &prefix, out)?;
                        }
                    }
                    seen.push(name);
                    i = j;
                }
                Some(slash) => {
                    let name = rest[..slash].to_vec();
                    let mut prefix = dir.to_vec();
                    prefix.extend_from_slice(&name);
                    prefix.push(b'/');
                    let j = i + entries[i..].partition_point(|e| e.path.starts_with(&prefix));
                    let here = tree.and_then(|t| t.get_name_bytes(&name));
                    let child = cache.and_then(|c| c.children.get(&name));
                    // Unchanged by the cache-tree: not even loaded.
                    if let (Some(e), Some(CacheNode { id: Some(id), .. })) = (&here, child) {
                        if e.id() == *id && e.kind() == Some(ObjectType::Tree) {
                            seen.push(name);
                            i = j;
                            continue;
                        }
                    }
                    let sub = match &here {
                        Some(e) if e.kind() == Some(ObjectType::Tree) => Some(
                            e.to_object(&self.inner)
                                .and_then(|o| o.peel_to_tree())
                                .context("could not read a tree")?,
                        ),
                        Some(e) => {
                            // A file in HEAD where the index has a directory.
                            out.push(Staged {
                                path: RepoPath::from_bytes(&prefix[..prefix.len() - 1]),
                                id: None,
                                mode: e.filemode() as u32,
                                stage: 0,
                            });
                            None
                        }
                        None => None,
                    };
                    self.compare(sub.as_ref(), &prefix, &entries[i..j], child, out)?;
                    seen.push(name);
                    i = j;
                }
            }
        }
        // What HEAD has here that the index does not: deleted.
        if let Some(tree) = tree {
            for e in tree.iter() {
                if !seen.iter().any(|s| s == e.name_bytes()) {
                    self.deleted(&e, dir, out)?;
                }
            }
        }
        Ok(())
    }

    fn all_deleted(
        &self,
        tree: &git2::Tree<'_>,
        prefix: &[u8],
        out: &mut Vec<Staged>,
    ) -> anyhow::Result<()> {
        for e in tree.iter() {
            self.deleted(&e, prefix, out)?;
        }
        Ok(())
    }

    /// HEAD's entry `e` under `dir` is not in the index: it, or every file
    /// below it, is deleted.
    fn deleted(
        &self,
        e: &git2::TreeEntry<'_>,
        dir: &[u8],
        out: &mut Vec<Staged>,
    ) -> anyhow::Result<()> {
        let mut path = dir.to_vec();
        path.extend_from_slice(e.name_bytes());
        if e.kind() == Some(ObjectType::Tree) {
            let sub = e
                .to_object(&self.inner)
                .and_then(|o| o.peel_to_tree())
                .context("could not read a tree")?;
            path.push(b'/');
            self.all_deleted(&sub, &path, out)
        } else {
            out.push(Staged {
                path: RepoPath::from_bytes(&path),
                id: None,
                mode: e.filemode() as u32,
                stage: 0,
            });
            Ok(())
        }
    }

    /// The same through libgit2's diff (an index this reader does not know).
    fn staged_by_diff(
        &self,
        tree: Option<&git2::Tree<'_>>,
        path: &std::path::Path,
    ) -> anyhow::Result<Vec<Staged>> {
        let index = git2::Index::open(path).context("could not read the index")?;
        let mut opts = git2::DiffOptions::new();
        opts.ignore_submodules(true);
        let diff = self
            .inner
            .diff_tree_to_index(tree, Some(&index), Some(&mut opts))
            .context("could not compare HEAD with the index")?;
        let mut out = Vec::new();
        for d in diff.deltas() {
            let new = d.new_file();
            let Some(path) = new.path_bytes().or(d.old_file().path_bytes()) else {
                continue;
            };
            let deleted = d.status() == git2::Delta::Deleted;
            out.push(Staged {
                path: RepoPath::from_bytes(path),
                id: (!deleted).then(|| new.id()),
                mode: u32::from(new.mode()),
                stage: if d.status() == git2::Delta::Conflicted {
                    2
                } else {
                    0
                },
            });
        }
        Ok(out)
    }

    /// A blob's bytes (for scanning staged content).
    pub fn blob_bytes(&self, id: Oid) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .inner
            .find_blob(id)
            .context("could not read a staged file")?
            .content()
            .to_vec())
    }
}

/// The index's entries and its cache-tree; `None` for what this reader
/// does not handle (another version, SHA-256, a split or sparse index, a
/// damaged file).
fn parse(bytes: &[u8]) -> Option<(Vec<Entry<'_>>, CacheNode)> {
    if bytes.len() < 12 + 20 || &bytes[..4] != b"DIRC" {
        return None;
    }
    let version = u32::from_be_bytes(bytes[4..8].try_into().ok()?);
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = u32::from_be_bytes(bytes[8..12].try_into().ok()?) as usize;
    let end = bytes.len() - 20;
    let mut pos = 12;
    let mut entries: Vec<Entry<'_>> = Vec::with_capacity(count);
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = pos;
        let fixed = bytes.get(pos..pos + 62)?;
        let mode = u32::from_be_bytes(fixed[24..28].try_into().ok()?);
        let id = Oid::from_bytes(&fixed[40..60]).ok()?;
        let flags = u16::from_be_bytes(fixed[60..62].try_into().ok()?);
        pos += 62;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            let extended = u16::from_be_bytes(bytes.get(pos..pos + 2)?.try_into().ok()?);
            // A sparse-index directory entry: not handled here.
            if extended & (1 << 15) != 0 {
                return None;
            }
            pos += 2;
        }
        let path = if version == 4 {
            let (strip, used) = varint(bytes.get(pos..end)?)?;
            pos += used;
            let nul = bytes.get(pos..end)?.iter().position(|&b| b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(&bytes[pos..pos + nul]);
            pos += nul + 1;
            std::borrow::Cow::Owned(previous.clone())
        } else {
            let nul = bytes.get(pos..end)?.iter().position(|&b| b == 0)?;
            let path = std::borrow::Cow::Borrowed(&bytes[pos..pos + nul]);
            // Padded with 1–8 NULs to a multiple of 8.
            let len = pos + nul - start;
            pos = start + (len + 8) / 8 * 8;
            path
        };
        if mode == 0o040000 {
            return None;
        }
        entries.push(Entry {
            path,
            id,
            mode,
            stage: ((flags >> 12) & 3) as u8,
        });
    }
    // Extensions.
    let mut cache = CacheNode {
        id: None,
        children: HashMap::new(),
    };
    while pos + 8 <= end {
        let sig = &bytes[pos..pos + 4];
        let size = u32::from_be_bytes(bytes[pos + 4..pos + 8].try_into().ok()?) as usize;
        let data = bytes.get(pos + 8..pos + 8 + size)?;
        match sig {
            b"TREE" => {
                let mut at = 0;
                cache = cache_node(data, &mut at)?;
            }
            // A split index keeps its entries elsewhere.
            b"link" | b"sdir" => return None,
            _ => {}
        }
        pos += 8 + size;
    }
    Some((entries, cache))
}

fn cache_node(data: &[u8], at: &mut usize) -> Option<CacheNode> {
    let nul = data.get(*at..)?.iter().position(|&b| b == 0)?;
    *at += nul + 1;
    let sp = data.get(*at..)?.iter().position(|&b| b == b' ')?;
    let count: i64 = std::str::from_utf8(&data[*at..*at + sp])
        .ok()?
        .parse()
        .ok()?;
    *at += sp + 1;
    let nl = data.get(*at..)?.iter().position(|&b| b == b'\n')?;
    let subtrees: usize = std::str::from_utf8(&data[*at..*at + nl])
        .ok()?
        .parse()
        .ok()?;
    *at += nl + 1;
    let id = if count >= 0 {
        let id = Oid::from_bytes(data.get(*at..*at + 20)?).ok()?;
        *at += 20;
        Some(id)
    } else {
        None
    };
    let mut children = HashMap::new();
    for _ in 0..subtrees {
        let name_end = data.get(*at..)?.iter().position(|&b| b == 0)?;
        let name = data[*at..*at + name_end].to_vec();
        let node = cache_node(data, at)?;
        children.insert(name, node);
    }
    Some(CacheNode { id, children })
}

/// The offset encoding of index version 4.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut b = *bytes.first()?;
    let mut value = (b & 0x7f) as usize;
    while b & 0x80 != 0 {
        i += 1;
        b = *bytes.get(i)?;
        value = ((value + 1) << 7) | (b & 0x7f) as usize;
    }
    Some((value, i + 1))
}
