//! The last commit found to descend from the baseline, remembered so that
//! the pre-commit hook does not walk the whole history since the baseline
//! at every commit (docs/journal.md, The ancestry cache).
//!
//! `check --hook` warns when HEAD does not descend from the baseline.
//! Without a commit-graph file, git and libgit2 alike answer that by
//! walking every commit since the baseline: 80–90 ms on git's own
//! repository with the baseline two releases back (1,433 commits), where
//! the rest of the hook takes 8 ms. The hook runs at every commit, and
//! HEAD moves on by a commit or a few between two runs. So
//! `<git-dir>/rollback/descends` holds the baseline and the last HEAD
//! found to descend from it, and a short walk back from HEAD that meets
//! either one has the answer.
//!
//! Commits never change: a commit that descended from the baseline always
//! does. The file can be out of date (another baseline, HEAD moved
//! elsewhere), never wrong, so anything unexpected in it, or a walk that
//! meets neither commit soon, only means the full walk.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use super::Journal;
use crate::git::{parse_oid, Oid, Repo};

const FILE: &str = "descends";
const MAGIC: &str = "rollback-sprint descends 1";
/// Commits the short walk reads at most before it gives up: a few
/// milliseconds, where the full walk it saves reads them all.
const WALK_AT_MOST: usize = 64;

/// Whether `head` descends from `baseline` (or is it), as
/// [`Repo::is_descendant_of`] says, remembering the answer when it is yes
/// and `keep` (not in a dry run, which writes nothing).
pub fn descends(repo: &Repo, head: Oid, baseline: Oid, keep: bool) -> anyhow::Result<bool> {
    if head == baseline {
        return Ok(true);
    }
    let known = read(repo).and_then(|(b, known)| (b == baseline).then_some(known));
    if let Some(known) = known {
        if known == head {
            return Ok(true);
        }
        if reaches(repo, head, &[known, baseline]) {
            if keep {
                remember(repo, baseline, head);
            }
            return Ok(true);
        }
    }
    let descends = repo.is_descendant_of(head, baseline)?;
    if descends && keep {
        remember(repo, baseline, head);
    }
    Ok(descends)
}

fn file(repo: &Repo) -> PathBuf {
    Journal::for_repo(repo).dir().join(FILE)
}

/// The baseline and the commit remembered, or none when the file is
/// missing or not one this version wrote.
fn read(repo: &Repo) -> Option<(Oid, Oid)> {
    let text = fs::read_to_string(file(repo)).ok()?;
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let baseline = parse_oid(lines.next()?.strip_prefix("baseline ")?).ok()?;
    let commit = parse_oid(lines.next()?.strip_prefix("commit ")?).ok()?;
    Some((baseline, commit))
}

/// Write the file, replacing it whole (a temporary file renamed over). A
/// repository that cannot be written to keeps the old one, or none: the
/// next run walks again.
fn remember(repo: &Repo, baseline: Oid, commit: Oid) {
    let path = file(repo);
    if let Some(dir) = path.parent() {
        if fs::create_dir_all(dir).is_err() {
            return;
        }
    }
    let text = format!("{MAGIC}\nbaseline {baseline}\ncommit {commit}\n");
    let _ = crate::atomic::write_atomic(
        &path,
        text.as_bytes(),
        crate::atomic::Durability::None,
        crate::atomic::Mode::Umask(0o666),
    );
}

/// Whether a walk back from `from` along every parent meets one of
/// `targets` within [`WALK_AT_MOST`] commits. A commit that cannot be read
/// (a shallow clone's boundary) ends its line of the walk.
fn reaches(repo: &Repo, from: Oid, targets: &[Oid]) -> bool {
    let mut seen: HashSet<Oid> = HashSet::from([from]);
    let mut next = vec![from];
    let mut read = 0;
    while let Some(id) = next.pop() {
        if read == WALK_AT_MOST {
            return false;
        }
        read += 1;
        let Ok(parents) = repo.commit_parents(id) else {
            continue;
        };
        for parent in parents {
            if targets.contains(&parent) {
                return true;
            }
            if seen.insert(parent) {
                next.push(parent);
            }
        }
    }
    false
}
