//! Cherry-picking in memory: no work tree, no index, no sequencer files.
//!
//! libgit2 has no sequencer, and its `cherrypick` leaves a conflicted index
//! and `CHERRY_PICK_HEAD` behind (`docs/libgit2-pitfalls.md` P12). Here a pick is
//! a new tree and a new commit: the commit's own change (its parent's tree
//! against its tree) is replayed onto the target tree wherever the target
//! still has the parent's version of a path — the result a three-way merge
//! gives there — and only when a path changed on both sides does a real
//! three-way merge of the commit run (`cherrypick_commit`). A conflict is
//! returned as data (the merged index with its stages, and the files as git
//! writes them, with conflict markers) for the caller to write.

use std::collections::HashSet;

use anyhow::Context as _;
use git2::{DiffOptions, ObjectType, Oid};

use super::index::copy_entry;
use super::snapshot::TreeChanges;
use super::{Repo, RepoPath};

/// A commit of the list `recover` offers.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Oid,
    pub summary: String,
    pub author: String,
    pub time: i64,
    pub offset_minutes: i32,
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
    /// A merge commit: not offered for picking.
    pub merge: bool,
    /// Its change is already in the target (same patch id).
    pub already_applied: bool,
}

/// The outcome of one pick.
pub enum Picked {
    /// The new commit.
    Commit(Oid),
    /// The change is already in the target: nothing to commit.
    Empty,
    Conflict(Conflict),
}

/// A pick that conflicts, as git would leave it.
pub struct Conflict {
    /// The work tree's tree: merged files, and for each conflicting path the
    /// file with conflict markers (or the version that exists).
    pub worktree_tree: Oid,
    /// The index entries, conflict stages included.
    entries: Vec<git2::IndexEntry>,
    pub paths: Vec<RepoPath>,
}

impl Conflict {
    /// The index file git would leave: the merge's entries with their
    /// conflict stages (stat data for the stage-0 files just written).
    pub fn index_bytes(
        &self,
        repo: &Repo,
        written: &std::collections::HashSet<Vec<u8>>,
    ) -> anyhow::Result<Vec<u8>> {
        let entries = self.entries.iter().map(copy_entry).collect();
        super::index::index_for_entries(repo, entries, written)
    }
}

impl Repo {
    /// The commits of `base..tip`, oldest first, with their diff stats, and
    /// whether each change is already in `target` (a commit of
    /// `merge-base(tip, target)..target` with the same patch id).
    pub fn pick_candidates(
        &self,
        base: Oid,
        tip: Oid,
        target: Oid,
    ) -> anyhow::Result<Vec<Candidate>> {
        let mut walk = self.inner.revwalk().context("could not walk history")?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .context("could not walk history")?;
        walk.push(tip).context("could not walk history")?;
        walk.hide(base).context("could not walk history")?;
        let ids: Vec<Oid> = walk
            .collect::<Result<_, _>>()
            .context("could not walk history")?;

        // Patch ids of what the target has that the tip does not.
        let mut upstream = HashSet::new();
        if let Ok(mb) = self.inner.merge_base(tip, target) {
            let mut walk = self.inner.revwalk().context("could not walk history")?;
            walk.push(target).context("could not walk history")?;
            walk.hide(mb).context("could not walk history")?;
            for id in walk {
                let id = id.context("could not walk history")?;
                if let Some(p) = self.patch_id(id)? {
                    upstream.insert(p);
                }
            }
        }

        let mut out = Vec::new();
        for id in ids {
            let commit = self
                .inner
                .find_commit(id)
                .context("could not read a commit")?;
            let merge = commit.parent_count() > 1;
            let (files, insertions, deletions) = match merge {
                true => (0, 0, 0),
                false => match self.commit_diff(&commit)? {
                    None => (0, 0, 0),
                    Some(diff) => {
                        let stats = diff.stats().context("could not count a commit's changes")?;
                        (stats.files_changed(), stats.insertions(), stats.deletions())
                    }
                },
            };
            let already_applied = !merge
                && !upstream.is_empty()
                && self.patch_id(id)?.is_some_and(|p| upstream.contains(&p));
            let author = commit.author();
            out.push(Candidate {
                id,
                summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                    .into_owned(),
                author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
                time: author.when().seconds(),
                offset_minutes: author.when().offset_minutes(),
                files,
                insertions,
                deletions,
                merge,
                already_applied,
            });
        }
        Ok(out)
    }

    fn commit_diff(&self, commit: &git2::Commit<'_>) -> anyhow::Result<Option<git2::Diff<'_>>> {
        self.commit_diff_with(commit, false)
    }

    /// libgit2's diff of a commit against its first parent, for its stats
    /// and patch id; none when it changes nothing. libgit2 reads every
    /// file of both trees, so it is given the paths that differ
    /// (`treediff`, which skips the folders both share) and reads only
    /// the folders on their way.
    fn commit_diff_with(
        &self,
        commit: &git2::Commit<'_>,
        binary: bool,
    ) -> anyhow::Result<Option<git2::Diff<'_>>> {
        let tree = commit.tree().context("could not read a commit's tree")?;
        let parent = match commit.parent_count() {
            0 => None,
            _ => Some(
                commit
                    .parent(0)
                    .and_then(|p| p.tree())
                    .context("could not read a commit's parent")?,
            ),
        };
        let differs = self.commit_changes(commit)?;
        if differs.is_empty() {
            return Ok(None);
        }
        let mut opts = DiffOptions::new();
        opts.ignore_submodules(true)
            .show_binary(binary)
            .disable_pathspec_match(true);
        for d in &differs {
            opts.pathspec(&d.path);
        }
        self.inner
            .diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut opts))
            .map(Some)
            .context("could not diff a commit")
    }

    /// What a commit changes against its first parent (everything, for a
    /// root commit).
    fn commit_changes(
        &self,
        commit: &git2::Commit<'_>,
    ) -> anyhow::Result<Vec<super::treediff::Differ>> {
        let parent = match commit.parent_count() {
            0 => None,
            _ => Some(
                commit
                    .parent(0)
                    .context("could not read a commit's parent")?
                    .tree_id(),
            ),
        };
        super::treediff::changes(&self.inner, parent, Some(commit.tree_id()))
    }

    /// git's patch id of a (non-merge) commit's change.
    fn patch_id(&self, id: Oid) -> anyhow::Result<Option<Oid>> {
        let commit = self
            .inner
            .find_commit(id)
            .context("could not read a commit")?;
        if commit.parent_count() > 1 {
            return Ok(None);
        }
        // Binary data in the patch, so that two different changes to the
        // same binary file do not share the id of "Binary files differ".
        let Some(diff) = self.commit_diff_with(&commit, true)? else {
            return Ok(None);
        };
        if diff.deltas().len() == 0 {
            return Ok(None);
        }
        Ok(diff.patchid(None).ok())
    }

    /// Cherry-pick `commit` onto `onto` without touching the work tree or
    /// the index: the new commit keeps the original author and message;
    /// the committer is `committer` (the user, now), as with git.
    ///
    /// What the commit changes at or under `keep` (the tool's reports
    /// folder) is left out: the new commit has the target's version there.
    pub fn pick(
        &self,
        commit: Oid,
        onto: Oid,
        committer: &git2::Signature<'_>,
        keep: &RepoPath,
    ) -> anyhow::Result<Picked> {
        let original = self
            .inner
            .find_commit(commit)
            .context("could not read a commit")?;
        let c = match self.without_change_at(&original, keep)? {
            Some(stripped) => self
                .inner
                .find_commit(stripped)
                .context("could not read a commit")?,
            None => original.clone(),
        };
        let onto_commit = self
            .inner
            .find_commit(onto)
            .context("could not read a commit")?;
        let onto_tree = onto_commit.tree_id();
        let tree = match self.replay(&c, onto_tree)? {
            Some(tree) => tree,
            None => {
                let mut merged = self
                    .inner
                    .cherrypick_commit(&c, &onto_commit, 0, None)
                    .with_context(|| format!("could not cherry-pick {commit}"))?;
                if merged.has_conflicts() {
                    return Ok(Picked::Conflict(self.conflict(&original, &merged)?));
                }
                let tree = merged
                    .write_tree_to(&self.inner)
                    .context("could not write a picked tree")?;
                self.written().tree(tree);
                tree
            }
        };
        if tree == onto_tree {
            return Ok(Picked::Empty);
        }
        Ok(Picked::Commit(
            self.commit_like(&original, tree, onto, committer)?,
        ))
    }

    /// Whether a (non-merge) commit changes anything at or under `folder`.
    pub fn changes_folder(&self, commit: Oid, folder: &RepoPath) -> anyhow::Result<bool> {
        let c = self
            .inner
            .find_commit(commit)
            .context("could not read a commit")?;
        Ok(self.without_change_at(&c, folder)?.is_some())
    }

    /// A commit like `c` whose tree has `folder` as `c`'s parent has it,
    /// when `c` changes something there (`None` when it does not): what a
    /// pick replays then leaves the folder alone. The commit is written
    /// only to be picked from; nothing refers to it.
    fn without_change_at(
        &self,
        c: &git2::Commit<'_>,
        folder: &RepoPath,
    ) -> anyhow::Result<Option<Oid>> {
        if c.parent_count() > 1 {
            return Ok(None);
        }
        let parent = match c.parent_count() {
            0 => None,
            _ => Some(c.parent_id(0).context("could not read a commit's parent")?),
        };
        let parent_tree = match parent {
            Some(p) => Some(self.commit_tree(p)?),
            None => None,
        };
        let tree = super::snapshot::with_folder_from(self, c.tree_id(), parent_tree, folder)?;
        if tree == c.tree_id() {
            return Ok(None);
        }
        let mut raw = format!("tree {tree}\n").into_bytes();
        if let Some(p) = parent {
            raw.extend_from_slice(format!("parent {p}\n").as_bytes());
        }
        raw.extend_from_slice(b"author ");
        raw.extend_from_slice(&signature_line(&c.author()));
        raw.extend_from_slice(b"\ncommitter ");
        raw.extend_from_slice(&signature_line(&c.committer()));
        raw.extend_from_slice(b"\n\n");
        raw.extend_from_slice(c.message_raw_bytes());
        let odb = self
            .inner
            .odb()
            .context("could not open the object database")?;
        let id = odb
            .write(ObjectType::Commit, &raw)
            .context("could not write a commit to pick from")?;
        self.written().object(id);
        Ok(Some(id))
    }

    /// The commit's change replayed onto `target` where no path changed on
    /// both sides; `None` when one did (a real merge is needed).
    fn replay(&self, c: &git2::Commit<'_>, target: Oid) -> anyhow::Result<Option<Oid>> {
        if c.parent_count() != 1 {
            return Ok(None);
        }
        let parent_tree = c
            .parent(0)
            .context("could not read a commit's parent")?
            .tree_id();
        if parent_tree == target {
            return Ok(Some(c.tree_id()));
        }
        let differs = self.commit_changes(c)?;
        let target_tree = self
            .inner
            .find_tree(target)
            .context("could not read a tree")?;
        let mut changes = TreeChanges::default();
        let mut any = false;
        for d in &differs {
            let path = &d.path[..];
            let (before, after) = (d.old, d.new);
            let p = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
            let there = match target_tree.get_path(p) {
                Ok(e) if e.kind() == Some(ObjectType::Tree) => return Ok(None),
                Ok(e) => Some((e.id(), e.filemode() as u32)),
                Err(_) => None,
            };
            if there == after {
                continue;
            }
            if there != before {
                return Ok(None);
            }
            // A gitlink (submodule) change: leave it to the merge.
            if after.is_some_and(|(_, m)| m == 0o160000)
                || before.is_some_and(|(_, m)| m == 0o160000)
            {
                return Ok(None);
            }
            let rp = RepoPath::from_bytes(path);
            match after {
                Some((id, mode)) => changes.upsert_mode(&rp, id, mode),
                None => changes.remove(&rp),
            }
            any = true;
        }
        if !any {
            return Ok(Some(target));
        }
        Ok(Some(changes.apply(self, target)?))
    }

    /// A commit with `c`'s author, encoding and message (bytes as they
    /// are), on `tree` with parent `parent`.
    fn commit_like(
        &self,
        c: &git2::Commit<'_>,
        tree: Oid,
        parent: Oid,
        committer: &git2::Signature<'_>,
    ) -> anyhow::Result<Oid> {
        let mut raw = Vec::new();
        raw.extend_from_slice(format!("tree {tree}\nparent {parent}\n").as_bytes());
        raw.extend_from_slice(b"author ");
        match c.header_field_bytes("author") {
            Ok(author) => raw.extend_from_slice(&author),
            Err(_) => raw.extend_from_slice(&signature_line(&c.author())),
        }
        raw.extend_from_slice(b"\ncommitter ");
        raw.extend_from_slice(&signature_line(committer));
        raw.push(b'\n');
        if let Ok(enc) = c.header_field_bytes("encoding") {
            raw.extend_from_slice(b"encoding ");
            raw.extend_from_slice(&enc);
            raw.push(b'\n');
        }
        raw.push(b'\n');
        raw.extend_from_slice(c.message_raw_bytes());
        let odb = self
            .inner
            .odb()
            .context("could not open the object database")?;
        let id = odb
            .write(ObjectType::Commit, &raw)
            .context("could not write a picked commit")?;
        self.written().object(id);
        Ok(id)
    }

    /// The conflict of a merged index as git leaves it.
    ///
    /// Long because it writes, path by path, each of the shapes git leaves
    /// a conflict in (both modified, added by both, deleted by one side,
    /// modes and symlinks), with git's own labels, in one loop over the
    /// conflicting entries.
    fn conflict(&self, c: &git2::Commit<'_>, merged: &git2::Index) -> anyhow::Result<Conflict> {
        // git's abbreviation (core.abbrev), as in its own conflict labels.
        let short = c
            .as_object()
            .short_id()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string))
            .unwrap_or_else(|| super::short(&c.id().to_string()).to_string());
        let summary = String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned();
        let their_label = format!("{short} ({summary})");
        let mut entries: Vec<git2::IndexEntry> = merged.iter().collect();
        // Names a side renamed aside must not take.
        let mut taken: HashSet<Vec<u8>> = entries.iter().map(|e| e.path.clone()).collect();
        // The work tree: every stage-0 entry, and each conflicting path as
        // git writes it.
        let mut worktree = git2::Index::new().context("could not build an index")?;
        for e in entries.iter().filter(|e| stage(e) == 0) {
            worktree.add(e).context("could not build an index")?;
        }
        let mut paths = Vec::new();
        let odb = self
            .inner
            .odb()
            .context("could not open the object database")?;
        for conflict in merged.conflicts().context("could not read the conflicts")? {
            let conflict = conflict.context("could not read the conflicts")?;
            let (ours, theirs) = (conflict.our.as_ref(), conflict.their.as_ref());
            let Some(any) = ours.or(theirs).or(conflict.ancestor.as_ref()) else {
                continue;
            };
            paths.push(RepoPath::from_bytes(&any.path));
            let binary = |e: Option<&git2::IndexEntry>| {
                e.is_some_and(|e| {
                    self.inner
                        .find_blob(e.id)
                        .map(|b| b.is_binary())
                        .unwrap_or(false)
                })
            };
            let any_binary = binary(ours) || binary(theirs) || binary(conflict.ancestor.as_ref());
            let link =
                |e: Option<&git2::IndexEntry>| e.is_some_and(|e| e.mode & 0o170000 == 0o120000);
            let any_link = link(ours) || link(theirs) || link(conflict.ancestor.as_ref());
            // A file on one side and a symlink on the other: like git's
            // "distinct types" conflict, the regular file (ours when both
            // are) moves aside to `path~HEAD` or `path~<short> (<subject>)`
            // with its stage, so that each side is in the work tree.
            if let (Some(o), Some(t)) = (ours, theirs) {
                if kind(o.mode) != kind(t.mode)
                    && kind(o.mode) != GITLINK
                    && kind(t.mode) != GITLINK
                {
                    let rename_ours = kind(o.mode) == REGULAR;
                    let rename_theirs = !rename_ours && kind(t.mode) == REGULAR;
                    for (side, label, side_stage, rename) in [
                        (o, "HEAD", 2, rename_ours),
                        (t, their_label.as_str(), 3, rename_theirs),
                    ] {
                        let mut w = copy_entry(side);
                        w.flags &= !STAGE_MASK;
                        if rename {
                            let aside = unique_path(&side.path, label, &mut taken);
                            if let Some(e) = entries
                                .iter_mut()
                                .find(|e| e.path == side.path && stage(e) == side_stage)
                            {
                                e.path = aside.clone();
                            }
                            paths.push(RepoPath::from_bytes(&aside));
                            w.path = aside;
                        }
                        worktree.add(&w).context("could not build an index")?;
                    }
                    continue;
                }
            }
            let entry = match (ours, theirs) {
                // A binary file or a symlink cannot hold conflict markers:
                // like git, leave our version in the work tree.
                (Some(o), Some(_)) if any_binary || any_link => {
                    let mut e = copy_entry(o);
                    e.flags &= !STAGE_MASK;
                    e
                }
                (Some(o), Some(t)) => {
                    let mut opts = git2::MergeFileOptions::new();
                    opts.our_label("HEAD").their_label(&their_label);
                    // Added on both sides: git merges against an empty file.
                    let ancestor = match &conflict.ancestor {
                        Some(a) => copy_entry(a),
                        None => {
                            let mut e = copy_entry(o);
                            e.id = odb
                                .write(ObjectType::Blob, b"")
                                .context("could not write an empty file")?;
                            self.written().object(e.id);
                            e.mode = 0o100644;
                            e
                        }
                    };
                    let result = self
                        .inner
                        .merge_file_from_index(&ancestor, o, t, Some(&mut opts))
                        .context("could not merge a conflicting file")?;
                    let id = odb
                        .write(ObjectType::Blob, result.content())
                        .context("could not write a conflicting file")?;
                    self.written().object(id);
                    let mut e = copy_entry(o);
                    e.id = id;
                    e.flags &= !STAGE_MASK;
                    e
                }
                // Deleted on one side, changed on the other: the version
                // that exists stays in the work tree.
                (Some(one), None) | (None, Some(one)) => {
                    let mut e = copy_entry(one);
                    e.flags &= !STAGE_MASK;
                    e
                }
                (None, None) => continue,
            };
            worktree.add(&entry).context("could not build an index")?;
        }
        let worktree_tree = worktree
            .write_tree_to(&self.inner)
            .context("could not write the conflicted work tree")?;
        self.written().tree(worktree_tree);
        Ok(Conflict {
            worktree_tree,
            entries,
            paths,
        })
    }

    /// The commit a pick of `commit` would make from the index as it is
    /// now (after the user resolved a conflict): the index's tree, `c`'s
    /// author and message. `None` when the index still has conflicts.
    /// `keep` (the reports folder) is taken from `parent`, not the index.
    pub fn commit_index_like(
        &self,
        commit: Oid,
        parent: Oid,
        committer: &git2::Signature<'_>,
        keep: &RepoPath,
    ) -> anyhow::Result<Option<(Oid, Oid)>> {
        let mut index = self.inner.index().context("could not read the index")?;
        index.read(true).context("could not read the index")?;
        if index.has_conflicts() {
            return Ok(None);
        }
        let tree = index
            .write_tree_to(&self.inner)
            .context("could not write the index's tree")?;
        self.written().tree(tree);
        let c = self
            .inner
            .find_commit(commit)
            .context("could not read a commit")?;
        let parent_tree = self.commit_tree(parent)?;
        let tree = super::snapshot::with_folder_from(self, tree, Some(parent_tree), keep)?;
        if tree == parent_tree {
            return Ok(Some((parent, tree)));
        }
        Ok(Some((self.commit_like(&c, tree, parent, committer)?, tree)))
    }

    /// Paths with conflict stages in the index on disk.
    pub fn index_conflicts(&self) -> anyhow::Result<Vec<RepoPath>> {
        let mut index = self.inner.index().context("could not read the index")?;
        index.read(true).context("could not read the index")?;
        let mut paths = Vec::new();
        for c in index.conflicts().context("could not read the conflicts")? {
            let c = c.context("could not read the conflicts")?;
            if let Some(e) = c.our.or(c.their).or(c.ancestor) {
                paths.push(RepoPath::from_bytes(&e.path));
            }
        }
        Ok(paths)
    }
}

const STAGE_MASK: u16 = 0x3000;

const REGULAR: u32 = 0o100000;
const GITLINK: u32 = 0o160000;

/// The type bits of a git mode.
fn kind(mode: u32) -> u32 {
    mode & 0o170000
}

/// `path~label` (a `/` in the label as `_`), with `_0`, `_1`… until no
/// entry has the name: git's name for a side moved aside.
fn unique_path(path: &[u8], label: &str, taken: &mut HashSet<Vec<u8>>) -> Vec<u8> {
    let mut base = path.to_vec();
    base.push(b'~');
    base.extend(label.bytes().map(|b| if b == b'/' { b'_' } else { b }));
    let mut name = base.clone();
    let mut n = 0;
    while taken.contains(&name) {
        name = base.clone();
        name.extend(format!("_{n}").bytes());
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn stage(e: &git2::IndexEntry) -> u16 {
    (e.flags & STAGE_MASK) >> 12
}

/// `Name <email> <seconds> <+hhmm>`, as in a commit header.
fn signature_line(sig: &git2::Signature<'_>) -> Vec<u8> {
    let when = sig.when();
    let offset = when.offset_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.abs();
    let mut out = Vec::new();
    out.extend_from_slice(sig.name_bytes());
    out.extend_from_slice(b" <");
    out.extend_from_slice(sig.email_bytes());
    out.extend_from_slice(
        format!(
            "> {} {sign}{:02}{:02}",
            when.seconds(),
            offset / 60,
            offset % 60
        )
        .as_bytes(),
    );
    out
}

use std::os::unix::ffi::OsStrExt;
