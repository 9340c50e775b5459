//! The git side of `demo`: building its sample repository, and the reads
//! its verifications make.
//!
//! The sample is built in-process with libgit2 rather than with the `git`
//! command line, so the demo runs wherever the binary runs. The reads are
//! plain questions ("what does the index hold for this path?", "what is on
//! the stash list?") asked of a freshly opened [`Repo`], so each answer is
//! what is on disk after the step, not something a step reported about
//! itself.

use std::path::Path;

use anyhow::Context as _;
use git2::{IndexAddOption, Oid, Repository, RepositoryInitOptions, Signature};

use super::Repo;

/// The sample repository while the demo builds it.
pub struct Sample {
    inner: Repository,
}

impl Sample {
    /// `git init -b <branch>` in `dir` (which must exist).
    pub fn init(dir: &Path, branch: &str) -> anyhow::Result<Sample> {
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head(branch).no_reinit(true);
        let inner = Repository::init_opts(dir, &opts)
            .with_context(|| format!("could not create a repository in {}", dir.display()))?;
        Ok(Sample { inner })
    }

    /// Open the sample again after a step of the tour changed it.
    pub fn open(dir: &Path) -> anyhow::Result<Sample> {
        let inner = Repository::open(dir)
            .with_context(|| format!("could not open the sample repository {}", dir.display()))?;
        Ok(Sample { inner })
    }

    /// Set a key in the repository's own config (`.git/config`).
    pub fn set_config(&self, key: &str, value: &str) -> anyhow::Result<()> {
        let mut config = self
            .inner
            .config()
            .and_then(|c| c.open_level(git2::ConfigLevel::Local))
            .context("could not open the sample repository's config")?;
        config
            .set_str(key, value)
            .with_context(|| format!("could not set {key} in the sample repository"))
    }

    /// `git add <paths>`: the work tree's content of each path into the index.
    pub fn stage(&self, paths: &[&str]) -> anyhow::Result<()> {
        let mut index = self.inner.index().context("could not read the index")?;
        index
            .add_all(paths.iter(), IndexAddOption::DEFAULT, None)
            .with_context(|| format!("could not stage {}", paths.join(", ")))?;
        // The demo's own sample repository, which it creates in a sandbox.
        #[allow(clippy::disallowed_methods)]
        index.write().context("could not write the index")
    }

    /// `git reset --hard`: the index and the tracked files back to HEAD,
    /// dropping what was staged, as plain git does (the demo shows what
    /// `rescue` finds afterwards).
    pub fn reset_hard(&self) -> anyhow::Result<()> {
        let head = self
            .inner
            .head()
            .and_then(|h| h.peel(git2::ObjectType::Commit))
            .context("HEAD is not a commit")?;
        // The demo's own sample repository, which it creates in a sandbox.
        #[allow(clippy::disallowed_methods)]
        self.inner
            .reset(&head, git2::ResetType::Hard, None)
            .context("could not reset the sample repository")
    }

    /// `git commit -m <message>` of the index on the current branch.
    pub fn commit(&self, message: &str, who: (&str, &str)) -> anyhow::Result<Oid> {
        let sig = Signature::now(who.0, who.1).context("invalid signature")?;
        let mut index = self.inner.index().context("could not read the index")?;
        let tree_id = index.write_tree().context("could not write a tree")?;
        let tree = self.inner.find_tree(tree_id)?;
        let parent = match self.inner.head() {
            Ok(head) => Some(head.peel_to_commit().context("HEAD is not a commit")?),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
            Err(e) => return Err(e).context("could not read HEAD"),
        };
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.inner
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .with_context(|| format!("could not commit {message:?}"))
    }

    /// An annotated tag at HEAD.
    pub fn tag_head(&self, name: &str, message: &str, who: (&str, &str)) -> anyhow::Result<Oid> {
        let sig = Signature::now(who.0, who.1).context("invalid signature")?;
        let head = self
            .inner
            .head()
            .and_then(|h| h.peel(git2::ObjectType::Commit))
            .context("HEAD is not a commit")?;
        self.inner
            .tag(name, &head, &sig, message, false)
            .with_context(|| format!("could not create the tag {name}"))
    }
}

impl Repo {
    /// The content of `path` in `commit`'s tree; `None` when it has none.
    pub fn file_in_commit(&self, commit: Oid, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let tree = self
            .inner
            .find_commit(commit)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {commit}"))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("could not look up {path}")),
        };
        let blob = self
            .inner
            .find_blob(entry.id())
            .with_context(|| format!("{path} in {commit} is not a file"))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The staged content of `path` (stage 0); `None` when it is not in
    /// the index.
    pub fn file_in_index(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let index = self.inner.index().context("could not read the index")?;
        let Some(entry) = index.get_path(Path::new(path), 0) else {
            return Ok(None);
        };
        let blob = self
            .inner
            .find_blob(entry.id)
            .with_context(|| format!("the index entry of {path} is not a blob"))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The parents of `commit`, in order.
    pub fn parents(&self, commit: Oid) -> anyhow::Result<Vec<Oid>> {
        let c = self
            .inner
            .find_commit(commit)
            .with_context(|| format!("could not find commit {commit}"))?;
        Ok(c.parent_ids().collect())
    }

    /// The stash list's messages, newest first (`git stash list`).
    pub fn stash_messages(&self) -> anyhow::Result<Vec<String>> {
        let reflog = match self.inner.reflog("refs/stash") {
            Ok(log) => log,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).context("could not read the stash list"),
        };
        if self.ref_target("refs/stash")?.is_none() {
            return Ok(Vec::new());
        }
        Ok(reflog
            .iter()
            .map(|entry| {
                String::from_utf8_lossy(entry.message_bytes().unwrap_or_default()).into_owned()
            })
            .collect())
    }
}
