//! What the repository still reaches: every object a ref, a HEAD, an
//! index, a stash entry or the tool's own keep reflogs lead to, found by
//! walking commits and trees only. A tree lists its blobs' ids, so no blob
//! is ever read (docs/design.md, Rescue), and each tree is read once
//! however many commits share it.
//!
//! The reflogs of HEAD and of branches are not roots here, unlike for
//! `git gc`: an entry only a reflog still names is exactly the work
//! `rescue` looks for (a commit left behind by `reset --hard`, `commit
//! --amend`, a rebase, a deleted branch). They are read as candidates
//! instead ([`ReflogLine`]). The stash's reflog is a root (its entries are
//! live stash entries), and so are the reflogs under `refs/rollback/`,
//! where the journal keeps its snapshots (docs/journal.md).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::{ObjectType, Oid, Repository};

use super::OidSet;

/// One line of a reflog that is not a root.
#[derive(Debug, Clone)]
pub struct ReflogLine {
    /// `HEAD` (of this or another work tree) or a ref name.
    pub log: String,
    pub old: Oid,
    pub new: Oid,
    pub time: i64,
    pub message: String,
}

/// The starting points of the walk, and the reflog lines that are not.
#[derive(Debug, Default)]
pub struct Roots {
    /// Objects of any type (refs, HEADs, the stash's reflog).
    pub objects: Vec<Oid>,
    /// What the tool's journal keeps alive (the reflogs under
    /// `refs/rollback/`): its snapshots, and what `undo` took away.
    pub journal: Vec<Oid>,
    /// Blobs the indexes name.
    pub blobs: Vec<Oid>,
    /// Each index: its entries' paths, blob ids, modes and modification
    /// times (for the guess of a lost file's path).
    pub index_entries: Vec<IndexEntry>,
    pub reflogs: Vec<ReflogLine>,
}

/// An entry of this work tree's index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub path: Vec<u8>,
    pub id: Oid,
    pub mode: u32,
    pub mtime: i64,
}

/// The git directories of every work tree: the common one (the main
/// work tree's) and each linked work tree's.
fn worktree_dirs(common_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![common_dir.to_path_buf()];
    if let Ok(entries) = fs::read_dir(common_dir.join("worktrees")) {
        let mut linked: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("HEAD").is_file())
            .collect();
        linked.sort();
        dirs.extend(linked);
    }
    dirs
}

/// Gather the roots: refs, each work tree's HEAD and index, the stash's
/// and the tool's reflogs; and the other reflogs' lines. `git_dir` is this
/// work tree's (its index may be `GIT_INDEX_FILE`'s too).
pub fn roots(repo: &Repository, git_dir: &Path, common_dir: &Path) -> anyhow::Result<Roots> {
    let mut roots = Roots::default();
    for r in repo.references().context("could not list refs")? {
        let Ok(r) = r else { continue };
        let target = match r.target() {
            Some(t) => Some(t),
            None => r.resolve().ok().and_then(|r| r.target()),
        };
        roots.objects.extend(target);
    }
    let mut index_files = Vec::new();
    for dir in worktree_dirs(common_dir) {
        if let Some(head) = read_head(repo, &dir.join("HEAD")) {
            roots.objects.push(head);
        }
        index_files.push(dir.join("index"));
        // A linked work tree's HEAD log is named after its folder.
        let log = match dir.strip_prefix(common_dir) {
            Ok(rel) if !rel.as_os_str().is_empty() => format!("{}/HEAD", rel.display()),
            _ => "HEAD".to_string(),
        };
        read_reflog(&dir.join("logs/HEAD"), &log, &mut |line| {
            roots.reflogs.push(line)
        });
    }
    if let Ok(index) = super::super::discover::index_file(git_dir) {
        if !index_files.contains(&index) {
            index_files.push(index);
        }
    }
    let own_index =
        super::super::discover::index_file(git_dir).unwrap_or_else(|_| git_dir.join("index"));
    for file in &index_files {
        // This work tree's index is the one whose entries guide the guess.
        read_index(file, &mut roots, file == &own_index)?;
    }
    let logs = common_dir.join("logs");
    let mut files = Vec::new();
    list_files(&logs.join("refs"), &mut files);
    files.sort();
    for file in files {
        let Ok(rel) = file.strip_prefix(&logs) else {
            continue;
        };
        let name = rel.to_string_lossy().into_owned();
        read_reflog(&file, &name, &mut |line| {
            if name == "refs/stash" {
                roots.objects.push(line.new);
            } else if name.starts_with("refs/rollback/") {
                roots.journal.push(line.new);
            } else {
                roots.reflogs.push(line);
            }
        });
    }
    Ok(roots)
}

/// What a HEAD file names: a ref's commit, or a detached commit.
fn read_head(repo: &Repository, file: &Path) -> Option<Oid> {
    let text = fs::read_to_string(file).ok()?;
    let text = text.trim();
    match text.strip_prefix("ref: ") {
        Some(name) => repo.refname_to_id(name.trim()).ok(),
        None => Oid::from_str(text).ok(),
    }
}

/// An index file's blobs (and, for this work tree's, its entries).
fn read_index(file: &Path, roots: &mut Roots, own: bool) -> anyhow::Result<()> {
    if !file.is_file() {
        return Ok(());
    }
    let index = git2::Index::open(file)
        .with_context(|| format!("could not read the index {}", file.display()))?;
    for entry in index.iter() {
        if entry.mode == 0o160000 {
            continue;
        }
        roots.blobs.push(entry.id);
        if own && entry.flags & 0x3000 == 0 {
            roots.index_entries.push(IndexEntry {
                path: entry.path.clone(),
                id: entry.id,
                mode: entry.mode,
                mtime: i64::from(entry.mtime.seconds()).max(i64::from(entry.ctime.seconds())),
            });
        }
    }
    Ok(())
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => list_files(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// Each line of a reflog file git can read; the file is read as it is,
/// never through libgit2's reflog, which creates a missing one
/// (docs/libgit2-pitfalls.md).
fn read_reflog(file: &Path, log: &str, add: &mut impl FnMut(ReflogLine)) {
    let Ok(bytes) = fs::read(file) else {
        return;
    };
    for line in bytes.split(|b| *b == b'\n') {
        if let Some(parsed) = parse_reflog_line(line, log) {
            add(parsed);
        }
    }
}

/// `<old> <new> <name> <<email>> <time> <zone>\t<message>`.
fn parse_reflog_line(line: &[u8], log: &str) -> Option<ReflogLine> {
    let (head, message) = match line.iter().position(|b| *b == b'\t') {
        Some(tab) => (&line[..tab], &line[tab + 1..]),
        None => (line, &line[line.len()..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let old = Oid::from_str(head.get(0..40)?).ok()?;
    let new = Oid::from_str(head.get(41..81)?).ok()?;
    let after_email = &head[head.rfind('>')? + 1..];
    let time = after_email.split_whitespace().next()?.parse().ok()?;
    Some(ReflogLine {
        log: log.to_string(),
        old,
        new,
        time,
        message: String::from_utf8_lossy(message).into_owned(),
    })
}

/// Every object reachable from `roots`: commits, their trees, the trees'
/// blobs (named, never read), annotated tags and what they point at. An
/// object missing from the store (a shallow clone's boundary, a partial
/// clone) ends its branch of the walk. Also returns how many objects only
/// the journal's roots reach (walked last).
pub fn reachable(repo: &Repository, roots: &Roots) -> (OidSet, usize) {
    let mut seen = OidSet::default();
    for blob in &roots.blobs {
        seen.insert(*blob);
    }
    walk(repo, &roots.objects, &mut seen);
    let before = seen.len();
    walk(repo, &roots.journal, &mut seen);
    let journal_only = seen.len() - before;
    (seen, journal_only)
}

fn walk(repo: &Repository, from: &[Oid], seen: &mut OidSet) {
    let mut commits: Vec<Oid> = Vec::new();
    let mut trees: Vec<Oid> = Vec::new();
    for &root in from {
        if root.is_zero() || !seen.insert(root) {
            continue;
        }
        classify(repo, root, seen, &mut commits, &mut trees);
    }
    while !commits.is_empty() || !trees.is_empty() {
        while let Some(id) = commits.pop() {
            let Ok(commit) = repo.find_commit(id) else {
                continue;
            };
            if seen.insert(commit.tree_id()) {
                trees.push(commit.tree_id());
            }
            for parent in commit.parent_ids() {
                if seen.insert(parent) {
                    commits.push(parent);
                }
            }
        }
        while let Some(id) = trees.pop() {
            walk_tree(repo, id, seen, &mut trees);
        }
    }
}

/// Queue an object of unknown type (already marked seen) for the walk.
fn classify(
    repo: &Repository,
    id: Oid,
    seen: &mut OidSet,
    commits: &mut Vec<Oid>,
    trees: &mut Vec<Oid>,
) {
    let Ok(odb) = repo.odb() else { return };
    let Ok((_, kind)) = odb.read_header(id) else {
        return;
    };
    match kind {
        ObjectType::Commit => commits.push(id),
        ObjectType::Tree => trees.push(id),
        ObjectType::Tag => {
            if let Ok(tag) = repo.find_tag(id) {
                let target = tag.target_id();
                if seen.insert(target) {
                    classify(repo, target, seen, commits, trees);
                }
            }
        }
        _ => {}
    }
}

/// Mark a tree's entries; queue its subtrees not seen yet.
fn walk_tree(repo: &Repository, id: Oid, seen: &mut OidSet, trees: &mut Vec<Oid>) {
    let Ok(tree) = repo.find_tree(id) else {
        return;
    };
    for entry in tree.iter() {
        match entry.filemode() {
            0o040000 => {
                if seen.insert(entry.id()) {
                    trees.push(entry.id());
                }
            }
            0o160000 => {}
            _ => {
                seen.insert(entry.id());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reflog_line_gives_both_ids_its_time_and_message() {
        let line = b"1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 A U Thor <a@x> 1795255445 +0100\tcommit: add x";
        let parsed = parse_reflog_line(line, "HEAD").expect("parses");
        assert_eq!(parsed.old.to_string(), "1".repeat(40));
        assert_eq!(parsed.new.to_string(), "2".repeat(40));
        assert_eq!(parsed.time, 1_795_255_445);
        assert_eq!(parsed.message, "commit: add x");
        assert!(parse_reflog_line(b"", "HEAD").is_none());
        assert!(parse_reflog_line(b"not a reflog line", "HEAD").is_none());
    }
}
