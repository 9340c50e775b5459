//! Three-way undo (docs/invariants.md, I2): for each thing an operation
//! changed, compare what it was before, what the operation left, and what
//! it is now.
//!
//! * now = what the operation left: put back what it was before;
//! * now = what it was before: nothing to do;
//! * anything else changed since: a conflict, named; `--force` puts back
//!   what it was before anyway (the undo records the current state first).
//!
//! Things the operation did not change are never looked at, so work done
//! since — a commit on another branch, a path staged that the operation did
//! not touch, a stash entry pushed since — is kept. The things are HEAD, each
//! ref in scope, each index path (all its stages together), each work-tree path the
//! operation wrote, each stash entry it pushed or removed, and each path it
//! moved aside. What the operation left is in its `end` record
//! ([`super::after`]).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Context as _;

use super::after::{self, RemovedStash};
use super::{Journal, Location, Operation};
use crate::git::{parse_oid, short, HeadState, Oid, Repo, RepoPath};

/// What undoing one operation takes, thing by thing.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Things the operation changed that changed again since.
    pub conflicts: Vec<String>,
    /// HEAD to point back.
    pub head: Option<HeadState>,
    /// Refs to set back (`None`: delete).
    pub refs: Vec<(String, Option<Oid>)>,
    pub index: IndexPlan,
    /// Work-tree paths to write back from the snapshot.
    pub paths: Vec<RepoPath>,
    /// What is on each of `paths` now (same order): the undo's own
    /// snapshot is made from it, without a scan of the work tree.
    pub now: Vec<Option<after::DiskFile>>,
    /// What the operation's snapshot has on each of `paths` (same order):
    /// what undo writes there.
    pub before: Vec<Option<after::DiskFile>>,
    pub stash: StashPlan,
    /// Whether paths it moved aside are to be moved back.
    pub move_back: bool,
    /// Empty directories it removed, to make again.
    pub dirs_to_make: Vec<RepoPath>,
    /// Empty directories it made, to remove (if still empty).
    pub dirs_to_remove: Vec<RepoPath>,
}

#[derive(Debug, Default)]
pub enum IndexPlan {
    /// The index is as the operation left it, or out of scope.
    #[default]
    Keep,
    /// Every entry the operation changed is as it left it, and nothing
    /// else changed: write the saved index back byte for byte.
    Exact,
    /// Entries changed since: set these paths back to the entries they
    /// had before, every stage (none: remove), keep the rest as they are.
    Merge(Vec<(Vec<u8>, Vec<git2::IndexEntry>)>),
}

#[derive(Debug, Default)]
pub struct StashPlan {
    /// Entries the operation pushed that are still in the list.
    pub drop: Vec<String>,
    /// Entries it removed that are not back.
    pub put_back: Vec<RemovedStash>,
}

impl Analysis {
    /// Whether undo would change nothing.
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
            && self.refs.is_empty()
            && matches!(self.index, IndexPlan::Keep)
            && self.paths.is_empty()
            && self.dirs_to_make.is_empty()
            && self.dirs_to_remove.is_empty()
            && self.stash.drop.is_empty()
            && self.stash.put_back.is_empty()
            && !self.move_back
    }
}

/// Compare before, after and now for everything `op` changed. With
/// `force`, a thing changed since is put back too (and still listed).
///
/// Long because it is one comparison per kind of state — HEAD, each ref,
/// the index, each work-tree path, the stash — in the order undo applies
/// them, each a block that fills the one analysis and reads on its own;
/// split, every block would take that analysis and the records as
/// arguments without reading any better.
pub fn analyze(
    repo: &Repo,
    journal: &Journal,
    op: &Operation,
    force: bool,
) -> anyhow::Result<Analysis> {
    let mut out = Analysis::default();
    let begin = &op.begin;
    let end = op
        .end
        .as_ref()
        .context("internal error: three-way undo of an operation without an end")?;
    let left = end
        .after
        .as_ref()
        .context("internal error: three-way undo of an operation without an after record")?;

    crate::trace::phase("undo: three-way refs");
    for r in &begin.refs {
        let before = r.value.as_deref().map(parse_oid).transpose()?;
        let after = end
            .refs
            .iter()
            .find(|a| a.name == r.name)
            .and_then(|a| a.value.as_deref())
            .map(parse_oid)
            .transpose()?;
        if before == after {
            continue;
        }
        let now = repo.ref_target(&r.name)?;
        if now == before {
            continue;
        }
        if now != after {
            let what = match (before, now) {
                (None, Some(_)) => "was created by it and has moved since",
                (_, None) => "was deleted since",
                _ => "has moved since",
            };
            out.conflicts.push(format!("{} {what}", r.name));
            if !force {
                continue;
            }
        }
        out.refs.push((r.name.clone(), before));
    }

    if begin.scope.head {
        let before_commit = head_commit_before(repo, op)?;
        let after_commit = left.head_commit.as_deref().map(parse_oid).transpose()?;
        let after_state = end.head.clone();
        let changed = after_state.as_ref() != Some(&begin.head)
            || (before_commit.is_some() && after_commit.is_some() && before_commit != after_commit);
        if changed {
            let now_state = repo.head_state()?;
            let now_commit = repo.head_commit()?;
            if now_state == begin.head && (before_commit.is_none() || now_commit == before_commit) {
                // Already back.
            } else if Some(&now_state) == after_state.as_ref()
                && (after_commit.is_none() || now_commit == after_commit)
            {
                out.head = Some(begin.head.clone());
            } else {
                out.conflicts.push(format!(
                    "HEAD has moved since (it is at {}, the operation left it at {})",
                    describe_head(repo, &now_state),
                    after_state
                        .as_ref()
                        .map_or("?".to_string(), |h| describe_head(repo, h))
                ));
                if force {
                    out.head = Some(begin.head.clone());
                }
            }
        }
    }

    if let (Some(saved), Some(existed_after)) = (&begin.index, left.index) {
        crate::trace::phase("undo: three-way index");
        out.index = index_plan(
            repo,
            journal,
            op,
            saved.existed,
            existed_after,
            force,
            &mut out.conflicts,
        )?;
    }

    if let (Some(saved), Some(_)) = (&begin.worktree, left.worktree) {
        crate::trace::phase("undo: three-way work tree");
        let tree = repo
            .inner
            .find_tree(parse_oid(&saved.tree)?)
            .context("could not read the snapshot tree")?;
        let mut parents = after::Parents::default();
        for path in after::read_worktree(journal, op.id())? {
            let known_before = match &path.before {
                Some((0, _)) => Some(None),
                Some((mode, Some(oid))) => Some(Some(after::DiskFile {
                    mode: *mode,
                    oid: parse_oid(oid)?,
                })),
                _ => None,
            };
            if matches!(path.before, Some((0o160000, _))) {
                continue;
            }
            let before = if let Some(known) = known_before {
                known
            } else {
                match tree.get_path(Path::new(path.path.as_os_str())) {
                    Ok(entry) => match entry.filemode() as u32 {
                        mode @ (0o100644 | 0o100755 | 0o120000) => Some(after::DiskFile {
                            mode,
                            oid: entry.id(),
                        }),
                        0o160000 => continue,
                        _ => None,
                    },
                    Err(_) => None,
                }
            };
            let left_there = path.file()?;
            if before == left_there {
                continue;
            }
            let now =
                after::disk_file_if_changed(repo.workdir(), &path.path, Some(&path), &mut parents)?;
            if now == before {
                continue;
            }
            if now != left_there {
                out.conflicts.push(format!(
                    "{} {} since",
                    path.path.quoted(),
                    if now.is_none() {
                        "was deleted"
                    } else {
                        "was changed"
                    }
                ));
                if !force {
                    continue;
                }
            }
            out.paths.push(path.path);
            out.now.push(now);
            out.before.push(before);
        }
        // An empty directory a restored path is taken out of was empty
        // before: it stays (the writer removes the parents it empties).
        for dir in &saved.empty_dirs {
            if out.paths.iter().any(|p| p.is_at_or_under(dir)) && !out.dirs_to_make.contains(dir) {
                out.dirs_to_make.push(dir.clone());
            }
        }
        // Empty directories: put back the ones it removed (unless a file is
        // in their place now; one that is there, say as the parent of a
        // file about to be removed, stays), take away the ones it made
        // that are still empty; one the user filled since is theirs.
        for dir in &left.empty_dirs {
            let before = saved.empty_dirs.contains(&dir.path);
            if before == dir.present {
                continue;
            }
            let full = dir.path.under(repo.workdir());
            // A file the undo itself takes away (one the operation wrote
            // where the directory was) is no obstacle.
            let free = fs::symlink_metadata(&full).map_or(true, |m| m.is_dir())
                || out.paths.contains(&dir.path);
            if before && free && !out.dirs_to_make.contains(&dir.path) {
                out.dirs_to_make.push(dir.path.clone());
            } else if !before && after::is_empty_dir(repo.workdir(), &dir.path) {
                out.dirs_to_remove.push(dir.path.clone());
            }
        }
    }

    if let (Some(_), Some(change)) = (&begin.stash, &left.stash) {
        crate::trace::phase("undo: three-way stash");
        let lines = stash_lines(repo)?;
        let oids: Vec<&str> = lines
            .iter()
            .filter_map(|l| after::stash_line_oid(l))
            .collect();
        for pushed in &change.pushed {
            if oids.contains(&pushed.as_str()) {
                out.stash.drop.push(pushed.clone());
            } else {
                out.conflicts.push(format!(
                    "the stash entry it pushed ({}) was popped or dropped since",
                    stash_label(repo, pushed)
                ));
            }
        }
        for removed in &change.removed {
            let oid = after::stash_line_oid(&removed.line).unwrap_or("");
            if !oids.contains(&oid) {
                out.stash.put_back.push(removed.clone());
            }
        }
    }

    // A path set aside is moved back unless something is there now that
    // the work tree's restore does not take away: the files the operation
    // itself left at or under it are part of the three-way comparison
    // above; anything else there was made since.
    let written: Vec<RepoPath> = if left.worktree.is_some() {
        after::read_worktree(journal, op.id())?
            .into_iter()
            .filter(|p| p.mode != 0)
            .map(|p| p.path)
            .collect()
    } else {
        Vec::new()
    };
    for m in &op.moved {
        if let (Location::Worktree(path), Location::Aside(_)) = (&m.from, &m.to) {
            if written.iter().any(|w| w.is_at_or_under(path)) {
                continue;
            }
            let present = fs::symlink_metadata(path.under(repo.workdir())).is_ok();
            if present && !force {
                out.conflicts.push(format!(
                    "{}, which it set aside, is there again",
                    path.quoted()
                ));
            }
        }
    }
    out.move_back = !op.moved.is_empty();
    Ok(out)
}

/// The commit HEAD resolved to before the operation, when the journal
/// says: the branch's saved value, a detached HEAD, or the parent of the
/// work-tree snapshot.
fn head_commit_before(repo: &Repo, op: &Operation) -> anyhow::Result<Option<Oid>> {
    match &op.begin.head {
        HeadState::Detached(id) => return Ok(Some(parse_oid(id)?)),
        HeadState::Symbolic(name) => {
            if let Some(r) = op.begin.refs.iter().find(|r| &r.name == name) {
                return r.value.as_deref().map(parse_oid).transpose();
            }
        }
    }
    if let Some(wt) = &op.begin.worktree {
        let commit = repo
            .inner
            .find_commit(parse_oid(&wt.snapshot)?)
            .context("could not read the snapshot commit")?;
        return Ok(commit.parent_ids().next());
    }
    Ok(None)
}

fn describe_head(repo: &Repo, head: &HeadState) -> String {
    match head {
        HeadState::Symbolic(name) => {
            let at = repo
                .ref_target(name)
                .ok()
                .flatten()
                .map(|o| format!(" {}", short(&o.to_string())))
                .unwrap_or_default();
            format!("{}{at}", name.trim_start_matches("refs/heads/"))
        }
        HeadState::Detached(id) => format!("detached {}", short(id)),
    }
}

/// What a path has in the index: one entry, or the stages of a conflict.
type PathEntries = BTreeMap<u16, git2::IndexEntry>;
type EntryValue = (u32, Oid, u16, u16);

const EXTENDED_KEPT: u16 = (1 << 13) | (1 << 14); // intent-to-add, skip-worktree
const ASSUME_VALID: u16 = 0x8000;

fn stage(entry: &git2::IndexEntry) -> u16 {
    (entry.flags >> 12) & 0x3
}

fn value(entry: &git2::IndexEntry) -> EntryValue {
    (
        entry.mode,
        entry.id,
        entry.flags & ASSUME_VALID,
        entry.flags_extended & EXTENDED_KEPT,
    )
}

/// A path's entries compared as a whole: a conflict (stages 1–3) is
/// never "as it was" because its stage 0 once was.
fn values(entries: Option<&PathEntries>) -> Vec<(u16, EntryValue)> {
    entries.map_or_else(Vec::new, |e| {
        e.iter()
            .map(|(stage, entry)| (*stage, value(entry)))
            .collect()
    })
}

fn read_entries(path: &Path) -> anyhow::Result<BTreeMap<Vec<u8>, PathEntries>> {
    let mut map: BTreeMap<Vec<u8>, PathEntries> = BTreeMap::new();
    if !path.exists() {
        return Ok(map);
    }
    let index = git2::Index::open(path)
        .with_context(|| format!("could not read the index {}", path.display()))?;
    for entry in index.iter() {
        map.entry(entry.path.clone())
            .or_default()
            .insert(stage(&entry), entry);
    }
    Ok(map)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => {
            a.ino() == b.ino()
                && a.dev() == b.dev()
                && a.len() == b.len()
                && a.mtime() == b.mtime()
                && a.mtime_nsec() == b.mtime_nsec()
        }
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

/// Each ancestor of `path` (`a/b/c` → `a/b`, `a`), nearest first.
fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = path;
    std::iter::from_fn(move || {
        let cut = rest.iter().rposition(|&b| b == b'/')?;
        rest = &rest[..cut];
        Some(rest)
    })
}

/// The paths of `index` that a file at `path` cannot live beside: a file
/// where one of its folders goes, or anything inside it.
fn in_the_way<'a>(index: &'a BTreeMap<Vec<u8>, PathEntries>, path: &'a [u8]) -> Vec<&'a [u8]> {
    let mut found: Vec<&[u8]> = ancestors(path)
        .filter(|dir| index.contains_key(*dir))
        .collect();
    let mut inside = path.to_vec();
    inside.push(b'/');
    found.extend(
        index
            .range(inside.clone()..)
            .map(|(k, _)| k.as_slice())
            .take_while(|k| k.starts_with(&inside)),
    );
    found
}

#[allow(clippy::too_many_arguments)]
fn index_plan(
    repo: &Repo,
    journal: &Journal,
    op: &Operation,
    existed_before: bool,
    existed_after: bool,
    force: bool,
    conflicts: &mut Vec<String>,
) -> anyhow::Result<IndexPlan> {
    let dir = journal.op_dir(op.id());
    let now_path = repo.git_dir().join("index");
    let after_path = dir.join("index-after");
    // The index file the operation left is still the index: nothing
    // changed since, and the saved one goes back byte for byte.
    if existed_after && same_file(&now_path, &after_path) {
        return Ok(IndexPlan::Exact);
    }
    if !existed_after && !now_path.exists() {
        return Ok(if existed_before {
            IndexPlan::Exact
        } else {
            IndexPlan::Keep
        });
    }
    let before = if existed_before {
        read_entries(&dir.join("index"))?
    } else {
        BTreeMap::new()
    };
    let left = if existed_after {
        read_entries(&after_path)?
    } else {
        BTreeMap::new()
    };
    let now = read_entries(&now_path)?;
    let unchanged_since = now.len() == left.len()
        && now
            .iter()
            .all(|(path, entries)| values(left.get(path)) == values(Some(entries)));
    if unchanged_since {
        return Ok(IndexPlan::Exact);
    }
    // Path by path, all stages together: git never keeps a merged entry
    // beside the stages of a conflict on the same path.
    let paths: std::collections::BTreeSet<&Vec<u8>> = before.keys().chain(left.keys()).collect();
    let mut set: BTreeMap<Vec<u8>, Vec<git2::IndexEntry>> = BTreeMap::new();
    for path in paths {
        let b = values(before.get(path));
        let a = values(left.get(path));
        if b == a {
            continue;
        }
        let n = values(now.get(path));
        if n == b {
            continue;
        }
        if n != a {
            let name = RepoPath::from_bytes(path).quoted();
            conflicts.push(if now.get(path).is_some_and(|e| !e.contains_key(&0)) {
                format!("the index entry of {name} is in a merge conflict since")
            } else {
                format!("the index entry of {name} was changed since")
            });
            if !force {
                continue;
            }
        }
        let entries = before
            .get(path)
            .map(|e| e.values().map(crate::git::index::copy_entry).collect())
            .unwrap_or_default();
        set.insert(path.clone(), entries);
    }
    // A path put back must fit beside what stays: a file kept where one
    // of its folders goes (or kept inside it) was put there since.
    let mut after_merge = now;
    for (path, entries) in &set {
        after_merge.remove(path);
        if !entries.is_empty() {
            after_merge.insert(path.clone(), PathEntries::new());
        }
    }
    let mut blocked = Vec::new();
    for (path, entries) in &set {
        if entries.is_empty() {
            continue;
        }
        for other in in_the_way(&after_merge, path) {
            conflicts.push(format!(
                "the index entry of {} is in the way of {} since",
                RepoPath::from_bytes(other).quoted(),
                RepoPath::from_bytes(path).quoted()
            ));
            blocked.push((path.clone(), other.to_vec()));
        }
    }
    for (path, other) in blocked {
        if force {
            set.insert(other, Vec::new());
        } else {
            set.remove(&path);
        }
    }
    Ok(if set.is_empty() {
        IndexPlan::Keep
    } else {
        IndexPlan::Merge(set.into_iter().collect())
    })
}

/// The current index with each path's entries set back (every stage of
/// the path replaced), written to `dest` (a file in the journal's folder,
/// on the index's filesystem).
pub fn write_merged_index(
    repo: &Repo,
    entries: &[(Vec<u8>, Vec<git2::IndexEntry>)],
    dest: &Path,
) -> anyhow::Result<()> {
    use crate::git::indexfile::{Entry, IndexFile};
    let now = repo.git_dir().join("index");
    let bytes = match fs::read(&now) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context("could not read the index"),
    };
    // Our own reader and writer (`indexfile`); libgit2 for an index they
    // refuse.
    let own = match &bytes {
        Some(bytes) => IndexFile::parse(bytes).ok(),
        None => Some(IndexFile::empty()),
    };
    if let Some(mut file) = own {
        file.replace_paths(
            entries
                .iter()
                .map(|(path, back)| {
                    let mut back: Vec<Entry> = back.iter().map(Entry::from_git2).collect();
                    back.sort_by_key(Entry::stage);
                    (path.clone(), back)
                })
                .collect(),
        );
        return super::write_durable(dest, &file.to_bytes());
    }
    match bytes {
        Some(bytes) => super::write_durable(dest, &bytes)?,
        None => {
            let _ = fs::remove_file(dest);
        }
    }
    let mut index = git2::Index::open(dest).context("could not read the index")?;
    for (path, back) in entries {
        let p = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path));
        for stage in 0..=3 {
            match index.remove(p, stage) {
                Ok(()) => {}
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => return Err(e).context("could not update the index"),
            }
        }
        for entry in back {
            index.add(entry).with_context(|| {
                format!(
                    "could not put back the index entry of {}",
                    RepoPath::from_bytes(path)
                )
            })?;
        }
    }
    index.write().context("could not write the index")?;
    let f = fs::File::open(dest)?;
    f.sync_all().context("could not sync the index")?;
    Ok(())
}

/// The stash reflog's lines, oldest first (`stash@{0}` last).
fn stash_lines(repo: &Repo) -> anyhow::Result<Vec<String>> {
    match fs::read(repo.common_dir().join("logs/refs/stash")) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).context("could not read the stash list"),
    }
}

fn stash_label(repo: &Repo, oid: &str) -> String {
    let message = parse_oid(oid)
        .ok()
        .and_then(|o| repo.inner.find_commit(o).ok())
        .and_then(|c| {
            String::from_utf8_lossy(c.message_bytes())
                .lines()
                .next()
                .map(str::to_string)
        });
    match message {
        Some(m) => format!("{}, `{m}`", short(oid)),
        None => short(oid).to_string(),
    }
}

/// Drop and put back stash entries, entry by entry, wherever they are
/// now; the other entries stay as they are, in their order.
pub fn apply_stash(repo: &Repo, plan: &StashPlan) -> anyhow::Result<()> {
    if plan.drop.is_empty() && plan.put_back.is_empty() {
        return Ok(());
    }
    let mut lines = stash_lines(repo)?;
    let drop: HashSet<&str> = plan.drop.iter().map(String::as_str).collect();
    lines.retain(|l| !after::stash_line_oid(l).is_some_and(|o| drop.contains(o)));
    // Put back oldest position first from the top of the list, so each
    // lands where it was.
    let mut back: Vec<&RemovedStash> = plan.put_back.iter().collect();
    back.sort_by_key(|r| std::cmp::Reverse(r.position));
    for entry in back {
        let from_top = entry.position.min(lines.len());
        let at = lines.len() - from_top;
        lines.insert(at, entry.line.trim_end_matches('\n').to_string());
    }
    // Each line's old id is the entry below it, as git's reflog has it.
    let zero = "0".repeat(40);
    let mut previous = zero.clone();
    for line in &mut lines {
        let mut fields = line.splitn(3, ' ');
        let (Some(_old), Some(new), Some(rest)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let new = new.to_string();
        let rebuilt = format!("{previous} {new} {rest}");
        *line = rebuilt;
        previous = new;
    }
    let log = repo.common_dir().join("logs/refs/stash");
    match lines.last() {
        Some(top) => {
            let top = parse_oid(after::stash_line_oid(top).unwrap_or(""))?;
            repo.force_ref(
                "refs/stash",
                Some(top),
                "rollback-sprint: restore the stash",
            )?;
            crate::fault::point("after-stash-ref");
            let mut text = lines.join("\n");
            text.push('\n');
            super::write_durable(&log, text.as_bytes())?;
        }
        None => {
            repo.force_ref("refs/stash", None, "rollback-sprint: restore the stash")?;
            crate::fault::point("after-stash-ref");
            match fs::remove_file(&log) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).context("could not remove the stash reflog"),
            }
        }
    }
    crate::fault::point("after-stash");
    Ok(())
}
