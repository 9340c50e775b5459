//! Work plain git lost but still holds (README: Rescue; docs/design.md,
//! Rescue): commits no ref reaches, dropped stash entries, and file
//! contents that were staged and never committed.
//!
//! Until `git gc` prunes them, such objects stay in the store, and the
//! reflogs of HEAD and of branches still name the commits a `reset
//! --hard`, an amend or a rebase left behind. Finding them is a set
//! difference: every id in the store ([`store`], read from file names and
//! pack indexes, no object read) minus every id the repository reaches
//! ([`reach`], a walk over commits and trees, no blob read). Only what is
//! left over is read: a few headers, the lost commits and trees, and the
//! contents of the lost blobs whose path is guessed ([`guess`]).
//!
//! Nothing here writes: no object, no reflog, no index. The objects are
//! only read, and a reflog is read from its file, never through libgit2's
//! reflog, which creates a missing one.
//!
//! What comes back is in two parts: [`find`] does the set difference and
//! sorts what is lost into items with a time, cheaply; [`Found::details`]
//! then describes the items asked for (files changed, the path of a file
//! and how sure that is), so that `rescue --since` and `rescue restore ID`
//! pay only for the items they show.

mod describe;
mod guess;
mod reach;
mod store;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use anyhow::Context as _;
use git2::{ObjectType, Oid};

use super::{Repo, RepoPath};
pub use describe::preview_lines;
pub use guess::Source;
pub use store::Stamp;

/// Object ids are already uniformly random: their first eight bytes are
/// the hash (SipHash over 20 bytes costs more than the lookup).
#[derive(Default)]
pub struct OidHasher(u64);

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }
}

pub type OidSet = HashSet<Oid, BuildHasherDefault<OidHasher>>;
pub type OidMap<V> = HashMap<Oid, V, BuildHasherDefault<OidHasher>>;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Commit,
    Stash,
    Blob,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Stash => "stash",
            Kind::Blob => "file",
        }
    }
}

/// Where an item's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The committer date.
    Committed,
    /// The newest reflog entry naming the commit (when it was last at a
    /// branch tip or HEAD).
    Reflog,
    /// The object store ([`Stamp`]).
    Written(Stamp),
}

impl TimeSource {
    pub fn key(self) -> &'static str {
        match self {
            TimeSource::Committed => "committer_date",
            TimeSource::Reflog => "reflog",
            TimeSource::Written(stamp) => stamp.key(),
        }
    }
}

/// How sure the path of a lost file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Certainty {
    /// A lost tree names it (a stash's index, a `git write-tree`).
    Exact,
    /// At least half of its lines or words are those of a file at that path.
    Likely,
    /// A quarter to a half.
    Possible,
    /// Nothing like it: the file is named after its id.
    Unknown,
}

impl Certainty {
    pub fn name(self) -> &'static str {
        match self {
            Certainty::Exact => "exact",
            Certainty::Likely => "likely",
            Certainty::Possible => "possible",
            Certainty::Unknown => "unknown",
        }
    }

    fn of(similarity: u8) -> Certainty {
        match similarity {
            50.. => Certainty::Likely,
            25.. => Certainty::Possible,
            _ => Certainty::Unknown,
        }
    }
}

/// A lost item as [`find`] sorts it out: cheap to know.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Oid,
    pub kind: Kind,
    pub time: i64,
    pub time_source: TimeSource,
}

/// A lost item, described.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: Oid,
    pub kind: Kind,
    pub time: i64,
    pub time_source: TimeSource,
    /// A commit's subject, a stash entry's message, a file's first line.
    pub summary: String,
    /// The branch a commit was made on, or a stash entry's.
    pub branch: Option<String>,
    /// Commits lost with it (the commit itself and its lost ancestors).
    pub commits: usize,
    /// Paths a commit (since the last commit still reachable) or a stash
    /// entry changes.
    pub files: Vec<RepoPath>,
    /// The reflogs that still name a commit (`HEAD`, `refs/heads/x`);
    /// empty when only the object store has it.
    pub reflogs: Vec<String>,
    /// A file's size in bytes (a commit's or stash's: 0).
    pub size: u64,
    /// A file's guessed path.
    pub path: Option<RepoPath>,
    pub certainty: Option<Certainty>,
    /// Shared lines or words with the file it matched, in percent.
    pub similarity: Option<u8>,
    /// Where the guessed path comes from.
    pub matched: Option<&'static str>,
}

/// One lost line of work: a commit no other lost commit has as a parent.
#[derive(Debug, Clone)]
struct Tip {
    id: Oid,
    commits: usize,
    /// The nearest ancestor still reachable along first parents.
    base: Option<Oid>,
    reflogs: BTreeSet<String>,
    branch: Option<String>,
}

/// A dropped stash entry: W, with its I (and U) commits.
#[derive(Debug, Clone)]
struct StashShape {
    w: Oid,
    base: Option<Oid>,
    index: Oid,
    untracked: Option<Oid>,
}

/// The set difference and its items, before they are described.
pub struct Found<'r> {
    repo: &'r Repo,
    reachable: OidSet,
    pub items: Vec<Entry>,
    tips: OidMap<Tip>,
    stashes: OidMap<StashShape>,
    /// Lost commits that are not a tip (restored by id as a branch too).
    pub other_commits: OidSet,
    /// Lost blobs a lost tree names, with the path there.
    named: OidMap<RepoPath>,
    index_entries: Vec<reach::IndexEntry>,
    /// The size of each lost blob, from its header.
    sizes: OidMap<u64>,
    /// Objects in the store.
    pub objects: usize,
    /// Of those, reached by nothing (reflogs of HEAD and branches aside).
    pub unreachable: usize,
    /// Objects only the tool's journal keeps (its snapshots, what `undo`
    /// took away): not lost, `undo` and `redo` bring them back.
    pub journal_only: usize,
    /// Lost items left out: their content is reachable too (a commit
    /// whose trees are all still reached, an amend of the message only).
    pub same_as_reachable: usize,
}

/// The lost work of `repo`, sorted into items, newest first.
pub fn find(repo: &Repo) -> anyhow::Result<Found<'_>> {
    let inner = &repo.inner;
    crate::trace::phase("rescue: listing the object store");
    let written = store::list_objects(&repo.common_dir().join("objects"))?;
    crate::trace::phase("rescue: roots");
    let roots = reach::roots(inner, repo.git_dir(), repo.common_dir())?;
    crate::trace::phase("rescue: walking what is reachable");
    let (reachable, journal_only) = reach::reachable(inner, &roots);
    crate::trace::phase("rescue: what is left over");
    let odb = inner.odb().context("could not open the object store")?;
    let mut lost_commits: OidSet = OidSet::default();
    let mut lost_trees: Vec<Oid> = Vec::new();
    let mut lost_blobs: Vec<Oid> = Vec::new();
    let mut sizes: OidMap<u64> = OidMap::default();
    let mut unreachable = 0;
    for id in written.keys() {
        if reachable.contains(id) {
            continue;
        }
        unreachable += 1;
        match odb.read_header(*id) {
            Ok((_, ObjectType::Commit)) => {
                lost_commits.insert(*id);
            }
            Ok((_, ObjectType::Tree)) => lost_trees.push(*id),
            Ok((size, ObjectType::Blob)) => {
                lost_blobs.push(*id);
                sizes.insert(*id, size as u64);
            }
            _ => {}
        }
    }
    // Commits only a reflog names (the store may be an alternate's).
    let mut seen_at: OidMap<i64> = OidMap::default();
    for line in &roots.reflogs {
        for id in [line.old, line.new] {
            if id.is_zero() || reachable.contains(&id) {
                continue;
            }
            let t = seen_at.entry(id).or_insert(line.time);
            *t = (*t).max(line.time);
            if !lost_commits.contains(&id) && inner.find_commit(id).is_ok() {
                lost_commits.insert(id);
            }
        }
    }
    crate::trace::phase("rescue: lost commits");
    let stashes = stash_shapes(repo, &lost_commits);
    let mut parts: OidSet = OidSet::default();
    for s in stashes.values() {
        parts.insert(s.w);
        parts.insert(s.index);
        parts.extend(s.untracked);
    }
    let plain: OidSet = lost_commits
        .iter()
        .filter(|c| !parts.contains(c))
        .copied()
        .collect();
    let covered = covered_by(repo, &lost_commits, &reachable);
    let named = named_by_lost_trees(repo, &lost_trees, &covered, &reachable);
    let branches = branches_of(&roots.reflogs);
    let mut found = Found {
        repo,
        items: Vec::new(),
        tips: OidMap::default(),
        stashes: OidMap::default(),
        other_commits: OidSet::default(),
        named,
        index_entries: roots.index_entries,
        sizes,
        objects: written.len(),
        unreachable,
        journal_only,
        same_as_reachable: 0,
        reachable,
    };
    found.sort_commits(&plain, &seen_at, &roots.reflogs, &branches);
    found.sort_stashes(stashes);
    for blob in lost_blobs {
        if covered.contains(&blob) {
            continue;
        }
        let Some(w) = written.get(&blob) else {
            continue;
        };
        found.items.push(Entry {
            id: blob,
            kind: Kind::Blob,
            time: w.time,
            time_source: TimeSource::Written(w.stamp),
        });
    }
    found.items.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then(a.kind.cmp(&b.kind))
            .then(a.id.cmp(&b.id))
    });
    Ok(found)
}

/// Lost commits shaped like a stash entry: W has HEAD and I as parents
/// (and U, the untracked files, as a third), messages as `git stash`
/// writes them (`WIP on <branch>: …` or `On <branch>: …`, `index on …`,
/// `untracked files on …`).
fn stash_shapes(repo: &Repo, lost: &OidSet) -> OidMap<StashShape> {
    let inner = &repo.inner;
    let mut out = OidMap::default();
    for id in lost {
        let Ok(w) = inner.find_commit(*id) else {
            continue;
        };
        let message = w.message_bytes();
        if !(message.starts_with(b"WIP on ") || message.starts_with(b"On ")) {
            continue;
        }
        let parents: Vec<Oid> = w.parent_ids().collect();
        if !(2..=3).contains(&parents.len()) {
            continue;
        }
        let Ok(i) = inner.find_commit(parents[1]) else {
            continue;
        };
        if !i.message_bytes().starts_with(b"index on ") {
            continue;
        }
        let untracked = match parents.get(2) {
            Some(u) => match inner.find_commit(*u) {
                Ok(c) if c.message_bytes().starts_with(b"untracked files on ") => Some(*u),
                _ => continue,
            },
            None => None,
        };
        out.insert(
            *id,
            StashShape {
                w: *id,
                base: Some(parents[0]),
                index: parents[1],
                untracked,
            },
        );
    }
    out
}

/// Every object a lost commit holds that the repository does not reach
/// otherwise: its trees and blobs, and its lost parents'.
fn covered_by(repo: &Repo, lost: &OidSet, reachable: &OidSet) -> OidSet {
    let inner = &repo.inner;
    let mut covered = OidSet::default();
    let mut trees = Vec::new();
    for id in lost {
        let Ok(commit) = inner.find_commit(*id) else {
            continue;
        };
        let tree = commit.tree_id();
        if !reachable.contains(&tree) && covered.insert(tree) {
            trees.push(tree);
        }
    }
    while let Some(tree) = trees.pop() {
        let Ok(t) = inner.find_tree(tree) else {
            continue;
        };
        for entry in t.iter() {
            let id = entry.id();
            if entry.filemode() == 0o160000 || reachable.contains(&id) {
                continue;
            }
            if covered.insert(id) && entry.filemode() == 0o040000 {
                trees.push(id);
            }
        }
    }
    covered
}

/// Lost blobs held by lost trees no lost commit has (a `git write-tree`,
/// a commit killed half-way), each with its path in the outermost such
/// tree: the surest name a lost file can have.
fn named_by_lost_trees(
    repo: &Repo,
    trees: &[Oid],
    covered: &OidSet,
    reachable: &OidSet,
) -> OidMap<RepoPath> {
    let inner = &repo.inner;
    let dangling: OidSet = trees
        .iter()
        .filter(|t| !covered.contains(t))
        .copied()
        .collect();
    // A dangling tree inside another is not the outermost.
    let mut inner_trees = OidSet::default();
    for t in &dangling {
        let Ok(tree) = inner.find_tree(*t) else {
            continue;
        };
        for entry in tree.iter() {
            if entry.filemode() == 0o040000 && dangling.contains(&entry.id()) {
                inner_trees.insert(entry.id());
            }
        }
    }
    let mut tops: Vec<Oid> = dangling
        .iter()
        .filter(|t| !inner_trees.contains(t))
        .copied()
        .collect();
    tops.sort();
    let mut named = OidMap::default();
    for top in tops {
        let mut stack = vec![(top, RepoPath::from_bytes(b""))];
        while let Some((tree, at)) = stack.pop() {
            let Ok(t) = inner.find_tree(tree) else {
                continue;
            };
            for entry in t.iter() {
                let path = at.join(entry.name_bytes());
                match entry.filemode() {
                    0o040000 if !reachable.contains(&entry.id()) => {
                        stack.push((entry.id(), path));
                    }
                    0o100644 | 0o100755 if !reachable.contains(&entry.id()) => {
                        named.entry(entry.id()).or_insert(path);
                    }
                    _ => {}
                }
            }
        }
    }
    named
}

/// The branch each lost commit was made on, as far as the reflogs say:
/// a branch's own reflog names it; in a HEAD's reflog, the branch HEAD
/// was on when the commit's entry was written (from the `checkout: moving
/// from A to B` lines before it), and the branch HEAD left (the old value
/// of such a line, the tip of a branch since deleted).
fn branches_of(reflogs: &[reach::ReflogLine]) -> OidMap<String> {
    let mut out = OidMap::default();
    for line in reflogs {
        if let Some(name) = line.log.strip_prefix("refs/heads/") {
            out.entry(line.new).or_insert_with(|| name.to_string());
        }
    }
    let mut log = "";
    let mut on: Option<String> = None;
    for line in reflogs.iter().filter(|l| l.log.ends_with("HEAD")) {
        if line.log != log {
            log = &line.log;
            on = None;
        }
        let branch = |name: &str| (!super::is_object_id(name)).then(|| name.to_string());
        if let Some(rest) = line.message.strip_prefix("checkout: moving from ") {
            if let Some((from, to)) = rest.rsplit_once(" to ") {
                if let Some(from) = branch(from.trim()) {
                    out.entry(line.old).or_insert(from);
                }
                on = branch(to.trim());
            }
        } else if let Some(rest) = line
            .message
            .strip_prefix("rebase (finish): returning to refs/heads/")
        {
            on = branch(rest.trim());
        } else if let Some(b) = &on {
            out.entry(line.new).or_insert_with(|| b.clone());
        }
    }
    out
}

impl Found<'_> {
    /// The lost commits outside stash entries, as lines of work: each tip
    /// (a lost commit no other lost commit descends from) is one item
    /// holding its lost ancestors. A tip whose every lost commit has a
    /// tree the repository still reaches holds nothing new (an amend of
    /// the message only) and is left out.
    fn sort_commits(
        &mut self,
        plain: &OidSet,
        seen_at: &OidMap<i64>,
        reflogs: &[reach::ReflogLine],
        branches: &OidMap<String>,
    ) {
        let inner = &self.repo.inner;
        let mut parents_of: OidMap<Vec<Oid>> = OidMap::default();
        let mut trees: OidMap<Oid> = OidMap::default();
        let mut committed: OidMap<i64> = OidMap::default();
        let mut has_child = OidSet::default();
        for id in plain {
            let Ok(c) = inner.find_commit(*id) else {
                continue;
            };
            let parents: Vec<Oid> = c.parent_ids().collect();
            for p in &parents {
                if plain.contains(p) {
                    has_child.insert(*p);
                }
            }
            parents_of.insert(*id, parents);
            trees.insert(*id, c.tree_id());
            committed.insert(*id, c.time().seconds());
        }
        let mut logs_of: OidMap<BTreeSet<String>> = OidMap::default();
        for line in reflogs {
            for id in [line.old, line.new] {
                if plain.contains(&id) {
                    logs_of.entry(id).or_default().insert(line.log.clone());
                }
            }
        }
        let mut tips: Vec<Oid> = parents_of
            .keys()
            .filter(|id| !has_child.contains(id))
            .copied()
            .collect();
        tips.sort();
        for tip in tips {
            let mut stack = vec![tip];
            let mut mine = OidSet::default();
            mine.insert(tip);
            let mut reflog_names = BTreeSet::new();
            while let Some(id) = stack.pop() {
                reflog_names.extend(logs_of.get(&id).into_iter().flatten().cloned());
                for p in parents_of.get(&id).into_iter().flatten() {
                    if plain.contains(p) && mine.insert(*p) {
                        stack.push(*p);
                    }
                }
            }
            let new_content = mine
                .iter()
                .any(|c| trees.get(c).is_some_and(|t| !self.reachable.contains(t)));
            if !new_content {
                self.same_as_reachable += 1;
                self.other_commits.extend(mine.iter().copied());
                continue;
            }
            let mut base = parents_of.get(&tip).and_then(|p| p.first().copied());
            while let Some(b) = base.filter(|b| plain.contains(b)) {
                base = parents_of.get(&b).and_then(|p| p.first().copied());
            }
            let made = committed.get(&tip).copied().unwrap_or(0);
            let (time, time_source) = match seen_at.get(&tip) {
                Some(t) if *t > made => (*t, TimeSource::Reflog),
                _ => (made, TimeSource::Committed),
            };
            mine.remove(&tip);
            self.other_commits.extend(mine.iter().copied());
            self.tips.insert(
                tip,
                Tip {
                    id: tip,
                    commits: mine.len() + 1,
                    base,
                    reflogs: reflog_names,
                    branch: branches.get(&tip).cloned(),
                },
            );
            self.items.push(Entry {
                id: tip,
                kind: Kind::Commit,
                time,
                time_source,
            });
        }
    }

    /// Dropped stash entries, one item each; one whose trees the
    /// repository still reaches holds nothing new and is left out.
    fn sort_stashes(&mut self, stashes: OidMap<StashShape>) {
        let inner = &self.repo.inner;
        let mut ids: Vec<Oid> = stashes.keys().copied().collect();
        ids.sort();
        for id in ids {
            let shape = &stashes[&id];
            let tree = |c: Oid| inner.find_commit(c).ok().map(|c| c.tree_id());
            let all_reached = [Some(shape.w), Some(shape.index), shape.untracked]
                .into_iter()
                .flatten()
                .all(|c| tree(c).is_some_and(|t| self.reachable.contains(&t)));
            if all_reached {
                self.same_as_reachable += 1;
                continue;
            }
            let Ok(w) = inner.find_commit(id) else {
                continue;
            };
            self.items.push(Entry {
                id,
                kind: Kind::Stash,
                time: w.time().seconds(),
                time_source: TimeSource::Committed,
            });
            self.stashes.insert(id, shape.clone());
        }
    }
}

/// The id `bytes` have as a blob, without writing it.
pub fn blob_id(bytes: &[u8]) -> anyhow::Result<Oid> {
    Oid::hash_object(ObjectType::Blob, bytes).context("could not hash a blob")
}

/// Write `bytes` as a blob (the `.gitignore` a rescue folder gets).
pub fn write_blob(repo: &Repo, bytes: &[u8]) -> anyhow::Result<Oid> {
    repo.inner.blob(bytes).context("could not write a blob")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certainty_follows_the_share_of_the_content() {
        assert_eq!(Certainty::of(100), Certainty::Likely);
        assert_eq!(Certainty::of(50), Certainty::Likely);
        assert_eq!(Certainty::of(30), Certainty::Possible);
        assert_eq!(Certainty::of(10), Certainty::Unknown);
    }
}
