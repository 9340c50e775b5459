//! Describing the lost items the user asks about: what a commit or a
//! stash entry changes, and for a file its size, first line and the path
//! it most likely had ([`super::guess`]). Kept apart from the set
//! difference ([`super::find`]), which is cheap, so that `rescue --since`
//! and `rescue restore ID` describe only the items they show.

use std::collections::BTreeSet;

use anyhow::Context as _;
use git2::{ObjectType, Oid};

use super::{guess, Certainty, Entry, Found, Item, Kind, OidMap, Source, TimeSource};
use crate::git::{Repo, RepoPath};

impl Found<'_> {
    /// Describe the items `wanted` says (in the order of [`Found::items`]):
    /// commits and stash entries with their files, files with their
    /// guessed path. A file whose guessed path holds that very content in
    /// the work tree is not lost (it was unstaged, not dropped) and is
    /// left out, as is a stash entry whose every file is in the work tree
    /// as it holds it (popped) — unless `keep_present` (a restore of
    /// items the user named).
    pub fn details(
        &self,
        chosen: &[Entry],
        keep_present: bool,
    ) -> anyhow::Result<(Vec<Item>, usize)> {
        // Each lost file is read once: its size, first line and features.
        crate::trace::phase("rescue: reading the lost files");
        let mut texts: OidMap<Text> = OidMap::default();
        for f in chosen.iter().filter(|f| f.kind == Kind::Blob) {
            let size = self.sizes.get(&f.id).copied().unwrap_or(0);
            // A very large file is neither read nor compared.
            if size > guess::MAX_FILE_BYTES as u64 {
                texts.insert(
                    f.id,
                    Text {
                        size,
                        first_line: String::new(),
                        features: None,
                    },
                );
                continue;
            }
            let blob = self
                .repo
                .inner
                .find_blob(f.id)
                .with_context(|| format!("could not read the lost file {}", f.id))?;
            let content = blob.content();
            let guess = !self.named.contains_key(&f.id);
            texts.insert(
                f.id,
                Text {
                    size: content.len() as u64,
                    first_line: first_line(content),
                    features: if guess {
                        guess::features(content)
                    } else {
                        None
                    },
                },
            );
        }
        let guessed: Vec<(Oid, &guess::Features)> = chosen
            .iter()
            .filter_map(|f| {
                texts
                    .get(&f.id)
                    .and_then(|t| t.features.as_ref())
                    .map(|x| (f.id, x))
            })
            .collect();
        let guesses: OidMap<guess::Match> = if guessed.is_empty() {
            OidMap::default()
        } else {
            crate::trace::phase("rescue: guessing paths");
            let oldest = chosen
                .iter()
                .filter(|f| texts.contains_key(&f.id))
                .map(|f| f.time)
                .min()
                .unwrap_or(0);
            let candidates = self.candidates(oldest)?;
            crate::trace::phase("rescue: candidates listed");
            let lost: Vec<&guess::Features> = guessed.iter().map(|(_, f)| *f).collect();
            guessed
                .iter()
                .map(|(id, _)| *id)
                .zip(guess::best_matches(&self.repo.inner, &lost, candidates))
                .filter_map(|(id, m)| m.map(|m| (id, m)))
                .collect()
        };
        crate::trace::phase("rescue: describing");
        let mut items = Vec::new();
        let mut in_worktree = 0;
        for f in chosen {
            let item = match f.kind {
                Kind::Commit => self.describe_commit(f)?,
                Kind::Stash => {
                    let item = self.describe_stash(f)?;
                    if !keep_present && self.stash_in_worktree(f.id) {
                        in_worktree += 1;
                        continue;
                    }
                    item
                }
                Kind::Blob => {
                    let item = self.describe_blob(f, texts.get(&f.id), guesses.get(&f.id));
                    if !keep_present
                        && item.certainty != Some(Certainty::Unknown)
                        && item
                            .path
                            .as_ref()
                            .is_some_and(|p| self.worktree_holds(p, f.id))
                    {
                        in_worktree += 1;
                        continue;
                    }
                    item
                }
            };
            items.push(item);
        }
        Ok((items, in_worktree))
    }

    /// The entry of a lost commit that is not an item of its own (inside a
    /// lost line of work, or left out), to restore it by its id.
    pub fn other_entry(&self, id: Oid) -> Option<Entry> {
        if !self.other_commits.contains(&id) {
            return None;
        }
        let commit = self.repo.inner.find_commit(id).ok()?;
        Some(Entry {
            id,
            kind: Kind::Commit,
            time: commit.time().seconds(),
            time_source: TimeSource::Committed,
        })
    }

    fn read_commit(&self, id: Oid, what: &str) -> anyhow::Result<git2::Commit<'_>> {
        self.repo
            .inner
            .find_commit(id)
            .with_context(|| format!("could not read the lost {what} {id}"))
    }

    fn blank(f: &Entry) -> Item {
        Item {
            id: f.id,
            kind: f.kind,
            time: f.time,
            time_source: f.time_source,
            summary: String::new(),
            branch: None,
            commits: 0,
            files: Vec::new(),
            reflogs: Vec::new(),
            size: 0,
            path: None,
            certainty: None,
            similarity: None,
            matched: None,
        }
    }

    fn describe_commit(&self, f: &Entry) -> anyhow::Result<Item> {
        let mut item = Self::blank(f);
        let commit = self.read_commit(f.id, "commit")?;
        item.summary =
            String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned();
        let (base, tip) = match self.tips.get(&f.id) {
            Some(t) => (t.base, Some(t)),
            None => (commit.parent_ids().next(), None),
        };
        item.files = changed_paths(self.repo, base, f.id)?;
        if let Some(tip) = tip {
            item.commits = tip.commits;
            item.reflogs = tip.reflogs.iter().cloned().collect();
            item.branch = tip.branch.clone();
        } else {
            item.commits = 1;
        }
        Ok(item)
    }

    fn describe_stash(&self, f: &Entry) -> anyhow::Result<Item> {
        let mut item = Self::blank(f);
        let w = self.read_commit(f.id, "stash entry")?;
        let message = String::from_utf8_lossy(w.message_bytes())
            .trim_end()
            .to_string();
        item.branch = stash_branch(&message);
        item.summary = message;
        item.commits = 1;
        let Some(shape) = self.stashes.get(&f.id) else {
            return Ok(item);
        };
        let mut files: BTreeSet<RepoPath> = BTreeSet::new();
        files.extend(changed_paths(self.repo, shape.base, shape.w)?);
        files.extend(changed_paths(self.repo, shape.base, shape.index)?);
        if let Some(u) = shape.untracked {
            files.extend(changed_paths(self.repo, None, u)?);
        }
        item.files = files.into_iter().collect();
        Ok(item)
    }

    fn describe_blob(
        &self,
        f: &Entry,
        text: Option<&Text>,
        guessed: Option<&guess::Match>,
    ) -> Item {
        let mut item = Self::blank(f);
        if let Some(text) = text {
            item.size = text.size;
            item.summary = text.first_line.clone();
        }
        if let Some(path) = self.named.get(&f.id) {
            item.path = Some(path.clone());
            item.certainty = Some(Certainty::Exact);
            item.matched = Some("lost_tree");
        } else if let Some(m) = guessed {
            let certainty = Certainty::of(m.similarity);
            item.similarity = Some(m.similarity);
            item.certainty = Some(certainty);
            if certainty != Certainty::Unknown {
                item.path = Some(RepoPath::from_bytes(&m.path));
                item.matched = Some(match m.source {
                    Source::Rewritten | Source::Index => "index",
                    Source::LostCommit => "lost_commit",
                    Source::History => "history",
                });
            }
        } else {
            item.certainty = Some(Certainty::Unknown);
        }
        item
    }

    /// The paths a lost file may have had (see [`guess`]); `oldest` is the
    /// time of the oldest lost file to place.
    fn candidates(&self, oldest: i64) -> anyhow::Result<Vec<guess::Candidate>> {
        let all = self.index_entries.len() <= guess::ALL_INDEX_UP_TO;
        let mut out = Vec::new();
        for e in &self.index_entries {
            let source = if e.mtime + 1 >= oldest {
                Source::Rewritten
            } else if all {
                Source::Index
            } else {
                continue;
            };
            if e.mode != 0o120000 {
                out.push(guess::Candidate {
                    path: e.path.clone(),
                    blob: e.id,
                    source,
                    written: e.mtime,
                });
            }
        }
        let inner = &self.repo.inner;
        let mut add_changes = |from: Option<Oid>, to: Oid, source: Source| -> anyhow::Result<()> {
            for (path, blob) in changed_blobs(self.repo, from, to)? {
                out.push(guess::Candidate {
                    path: path.as_bytes().to_vec(),
                    blob,
                    source,
                    written: 0,
                });
            }
            Ok(())
        };
        for tip in self.tips.values() {
            add_changes(tip.base, tip.id, Source::LostCommit)?;
        }
        for s in self.stashes.values() {
            add_changes(s.base, s.w, Source::LostCommit)?;
        }
        // HEAD's last commits: both sides of what each changed.
        let mut commit = self.repo.head_commit()?;
        for _ in 0..HISTORY_COMMITS {
            let Some(id) = commit else { break };
            let Ok(c) = inner.find_commit(id) else { break };
            let parent = c.parent_ids().next();
            add_changes(parent, id, Source::History)?;
            if let Some(p) = parent {
                add_changes(Some(id), p, Source::History)?;
            }
            commit = parent;
        }
        Ok(out)
    }

    /// Whether the work tree holds `id`'s content at `path`.
    fn worktree_holds(&self, path: &RepoPath, id: Oid) -> bool {
        let full = path.under(self.repo.workdir());
        std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_file())
            && Oid::hash_file(ObjectType::Blob, &full).ok() == Some(id)
    }

    /// Whether every file a stash entry holds is in the work tree as it
    /// holds it (the entry was popped, or applied and dropped).
    fn stash_in_worktree(&self, w: Oid) -> bool {
        let Some(shape) = self.stashes.get(&w) else {
            return false;
        };
        let mut files = match changed_blobs(self.repo, shape.base, shape.w) {
            Ok(f) => f,
            Err(_) => return false,
        };
        if let Some(u) = shape.untracked {
            match changed_blobs(self.repo, None, u) {
                Ok(more) => files.extend(more),
                Err(_) => return false,
            }
        }
        // A stash of deletions only is not told apart from the work tree here.
        !files.is_empty() && files.iter().all(|(p, id)| self.worktree_holds(p, *id))
    }
}

/// How many of HEAD's last commits name candidate paths.
const HISTORY_COMMITS: usize = 10;

/// The paths that differ between `from`'s tree (none: empty) and `to`'s.
fn changed_paths(repo: &Repo, from: Option<Oid>, to: Oid) -> anyhow::Result<Vec<RepoPath>> {
    let mut paths = Vec::new();
    diff_commits(repo, from, to, &mut |path, _| paths.push(path))?;
    Ok(paths)
}

/// The files `to` has that differ from `from`'s, with their blobs.
fn changed_blobs(repo: &Repo, from: Option<Oid>, to: Oid) -> anyhow::Result<Vec<(RepoPath, Oid)>> {
    let mut out = Vec::new();
    diff_commits(repo, from, to, &mut |path, blob| {
        if let Some(blob) = blob {
            out.push((path, blob));
        }
    })?;
    Ok(out)
}

fn diff_commits(
    repo: &Repo,
    from: Option<Oid>,
    to: Oid,
    each: &mut dyn FnMut(RepoPath, Option<Oid>),
) -> anyhow::Result<()> {
    let inner = &repo.inner;
    let tree_of = |c: Oid| {
        inner
            .find_commit(c)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {c}"))
    };
    let old = from.map(tree_of).transpose()?;
    let new = tree_of(to)?;
    let mut opts = git2::DiffOptions::new();
    opts.ignore_submodules(true);
    let diff = inner
        .diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut opts))
        .context("could not compare trees")?;
    for delta in diff.deltas() {
        let file = match delta.status() {
            git2::Delta::Deleted => delta.old_file(),
            _ => delta.new_file(),
        };
        if let Some(path) = file.path_bytes() {
            let blob = (delta.status() != git2::Delta::Deleted
                && u32::from(file.mode()) != 0o160000)
                .then(|| file.id());
            each(RepoPath::from_bytes(path), blob);
        }
    }
    Ok(())
}

/// `WIP on main: …` / `On main: …` → `main`.
fn stash_branch(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("WIP on ")
        .or_else(|| message.strip_prefix("On "))?;
    let (branch, _) = rest.split_once(": ")?;
    (branch != "(no branch)").then(|| branch.to_string())
}

/// A text's first line that is not blank (empty for a binary).
fn first_line(content: &[u8]) -> String {
    if content[..content.len().min(8000)].contains(&0) {
        return String::new();
    }
    content
        .split(|b| *b == b'\n')
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

/// What a lost file's one reading gives.
struct Text {
    size: u64,
    first_line: String,
    /// For the guess of its path (none when a lost tree names it, or for
    /// a binary or very large file).
    features: Option<guess::Features>,
}

/// The first `max` lines of a lost file, for a preview.
pub fn preview_lines(repo: &Repo, id: Oid, max: usize) -> Vec<String> {
    let Ok(blob) = repo.inner.find_blob(id) else {
        return Vec::new();
    };
    let content = blob.content();
    if content[..content.len().min(8000)].contains(&0) {
        return vec![format!("(binary, {} bytes)", content.len())];
    }
    content
        .split(|b| *b == b'\n')
        .take(max)
        .map(|l| crate::ui::one_line(&String::from_utf8_lossy(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stash_message_names_its_branch() {
        assert_eq!(
            stash_branch("WIP on main: 1a2b3c4 add x").as_deref(),
            Some("main")
        );
        assert_eq!(
            stash_branch("On feature/x: my work").as_deref(),
            Some("feature/x")
        );
        assert_eq!(stash_branch("On (no branch): detached"), None);
        assert_eq!(stash_branch("something else"), None);
    }
}
