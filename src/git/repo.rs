//! Opening a repository, reading config, resolving revisions, commits and tags.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context as _;
use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryState};

use super::cmdline_config::CommandLineConfig;
use super::discover::{self, Env};
use crate::error::user;

/// A repository with a work tree.
pub struct Repo {
    pub(crate) inner: Repository,
    workdir: PathBuf,
    git_dir: PathBuf,
    common_dir: PathBuf,
    /// `git -c` settings, which outrank every config file.
    cmdline: CommandLineConfig,
    /// The objects written through this handle, for the journal's sync.
    written: super::written::Written,
    /// The whole index as our own reader read it, when libgit2 was given
    /// only part of it (`EditableIndex::open_under`): the file of that part,
    /// and the whole.
    pub(crate) index_file: std::cell::RefCell<Option<super::index::WholeIndex>>,
}

/// A diff stat computed in the background for what it teaches a later
/// one ([`Repo::learn_diff_stat_in_background`]).
pub type Learning = std::thread::JoinHandle<anyhow::Result<super::diffstat::Known>>;

/// A libgit2 handle on `git_dir` with the work tree `workdir`: what
/// [`Repo::reopen`] opens, for a thread that cannot borrow the [`Repo`].
pub(crate) fn open_beside(git_dir: &Path, workdir: &Path) -> anyhow::Result<Repository> {
    let repo =
        discover::open_git_dir(git_dir, Env::Process).context("could not open the repository")?;
    repo.set_workdir(workdir, false)
        .context("could not open the repository")?;
    Ok(repo)
}

/// A git operation in progress that blocks ours.
#[derive(Debug, Clone)]
pub struct InProgress {
    pub what: &'static str,
    pub hint: &'static str,
}

#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: Oid,
    pub summary: String,
    pub author: String,
    pub time: i64,
    pub offset_minutes: i32,
    pub tree: Oid,
}

/// One reflog entry, as libgit2 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflogEntry {
    pub old: Oid,
    pub new: Oid,
    /// `Name <email>`.
    pub who: String,
    pub time: i64,
    pub offset_minutes: i32,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct TagInfo {
    /// The short name (`checkpoint-20261121_100405`).
    pub name: String,
    /// What the ref points at: a tag object, or a commit for a lightweight tag.
    pub target: Oid,
    pub commit: Oid,
    pub annotated: bool,
    pub message: String,
    /// The tagger's time, or the commit's for a lightweight tag.
    pub time: i64,
}

impl Repo {
    /// The repository git would use when started in `start`, in this process's
    /// environment (docs/invariants.md, I10; see [`super::discover`]), refusing
    /// a bare one.
    pub fn discover(start: &Path) -> anyhow::Result<Repo> {
        Self::open_found(start, Env::Process)
    }

    /// The repository whose work tree is `dir`, whatever the environment
    /// says (`GIT_DIR`, `GIT_WORK_TREE` …): for the demo's own sandbox.
    pub fn open_ignoring_env(dir: &Path) -> anyhow::Result<Repo> {
        Self::open_found(dir, Env::Ignored)
    }

    fn open_found(start: &Path, env: Env) -> anyhow::Result<Repo> {
        // As git: objects are not re-hashed on every read, and a tree built
        // from entries this tool just read or wrote is not re-validated
        // entry by entry (0.5 s for a snapshot of a 100,000-file tree).
        // `git fsck` and the journal's object check stay the integrity tests.
        git2::opts::strict_hash_verification(false);
        git2::opts::strict_object_creation(false);
        let location = discover::locate(start, env)?;
        let cmdline = match env {
            Env::Process => CommandLineConfig::from_env()?,
            Env::Ignored => CommandLineConfig::default(),
        };
        let inside_dot_git = location.git_dir.file_name() == Some(std::ffi::OsStr::new(".git"))
            && std::fs::canonicalize(start).is_ok_and(|s| s.starts_with(&location.git_dir));
        if location.work_tree.is_none() && inside_dot_git {
            return Err(user("this is inside a git directory, not a work tree")
                .hint("run git rollback-sprint in the work tree (the directory holding .git)")
                .into());
        }
        if location.work_tree.is_none() {
            return Err(
                user("this is a bare repository: there is no work tree to roll back")
                    .hint("run git rollback-sprint inside a clone with a work tree")
                    .into(),
            );
        }
        let inner = match discover::open(&location, env) {
            Ok(repo) => repo,
            Err(e) if e.class() == git2::ErrorClass::Config || e.code() == ErrorCode::Owner => {
                return Err(user(format!("cannot open the repository: {}", e.message()))
                    .hint("git's safe.directory rules apply; see `git help config`")
                    .into())
            }
            Err(e) => {
                return Err(user(format!(
                    "cannot open the repository at {}: {}",
                    location.git_dir.display(),
                    e.message()
                ))
                .hint("check it with `git status` and `git fsck`")
                .into())
            }
        };
        let workdir = inner
            .workdir()
            .map(Path::to_path_buf)
            .ok_or_else(|| user("this repository has no work tree"))?;
        let git_dir = inner.path().to_path_buf();
        let common_dir = inner.commondir().to_path_buf();
        let repo = Repo {
            inner,
            workdir,
            git_dir,
            common_dir,
            cmdline,
            written: Default::default(),
            index_file: Default::default(),
        };
        repo.validate_work_tree_owner(&location)?;
        Ok(repo)
    }

    /// git's ownership rule for the work tree it found (libgit2 checked the
    /// git directory, and the work tree it guessed): the work tree and its
    /// `.git` file must be the user's, or the work tree listed in
    /// `safe.directory` (system, global or command-line config only).
    fn validate_work_tree_owner(&self, location: &discover::Location) -> anyhow::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let Some(tree) = &location.work_tree else {
            return Ok(());
        };
        let me = rustix::process::geteuid().as_raw();
        let owned = |p: &Path| std::fs::metadata(p).map_or(true, |m| m.uid() == me);
        let dot_git = tree.join(".git");
        let gitfile = std::fs::symlink_metadata(&dot_git).is_ok_and(|m| m.is_file());
        if owned(tree) && (!gitfile || owned(&dot_git)) {
            return Ok(());
        }
        let mut allowed: Vec<String> = Vec::new();
        if let Ok(config) = self.inner.config() {
            for level in [
                git2::ConfigLevel::System,
                git2::ConfigLevel::XDG,
                git2::ConfigLevel::Global,
            ] {
                let Ok(level) = config.open_level(level) else {
                    continue;
                };
                let values: Vec<String> = match level.multivar("safe.directory", None) {
                    Ok(mut entries) => {
                        let mut values = Vec::new();
                        while let Some(Ok(entry)) = entries.next() {
                            if let Ok(v) = entry.value() {
                                values.push(v.to_string());
                            }
                        }
                        values
                    }
                    Err(_) => Vec::new(),
                };
                for v in values {
                    if v.is_empty() {
                        allowed.clear();
                    } else {
                        allowed.push(v);
                    }
                }
            }
        }
        allowed.extend(
            self.cmdline
                .all("safe.directory")
                .into_iter()
                .flatten()
                .map(str::to_string),
        );
        let tree_text = tree.to_string_lossy();
        let listed = allowed.iter().any(|a| {
            let a = a.trim_end_matches('/');
            a == "*"
                || a == tree_text
                || a.strip_suffix("/*")
                    .is_some_and(|prefix| tree.starts_with(prefix))
        });
        if listed {
            return Ok(());
        }
        Err(user(format!(
            "the work tree {} is not owned by you",
            tree.display()
        ))
        .hint(format!(
            "git's safe.directory rules apply: if you trust it, git config --global --add safe.directory {}",
            tree.display()
        ))
        .into())
    }

    /// Another libgit2 handle on the same git directory and work tree (for
    /// work on a thread of its own).
    pub(crate) fn reopen(&self) -> anyhow::Result<Repository> {
        open_beside(&self.git_dir, &self.workdir)
    }

    /// The tree the index holds, written to this repository's object
    /// store (for `drill`, the store of its disposable copy).
    pub fn index_tree(&self) -> anyhow::Result<Oid> {
        let mut index = self.inner.index().context("could not read the index")?;
        // libgit2 keeps the index it read first: another process (the
        // rehearsed command) has written the file since.
        index.read(true).context("could not read the index")?;
        let tree = index
            .write_tree()
            .context("could not make a tree of the index")?;
        self.written.tree(tree);
        Ok(tree)
    }

    /// Whether git ignores `rel` (a path relative to the work tree).
    pub fn is_ignored(&self, rel: &Path) -> bool {
        self.inner.is_path_ignored(rel).unwrap_or(false)
    }

    /// Up to `limit` files of the tree `from` that `to` holds otherwise
    /// (changed or gone), in path order.
    pub fn files_differing(
        &self,
        from: Oid,
        to: Oid,
        limit: usize,
    ) -> anyhow::Result<Vec<super::RepoPath>> {
        let old = self
            .inner
            .find_tree(from)
            .context("could not read a tree")?;
        let new = self.inner.find_tree(to).context("could not read a tree")?;
        let diff = self
            .inner
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .context("could not compare two trees")?;
        Ok(diff
            .deltas()
            .filter(|d| {
                matches!(d.status(), git2::Delta::Modified | git2::Delta::Deleted)
                    && d.old_file().mode() != git2::FileMode::Commit
            })
            .filter_map(|d| d.old_file().path_bytes().map(super::RepoPath::from_bytes))
            .take(limit)
            .collect())
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// This work tree's git directory (`.git`, or `.git/worktrees/<name>`).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The git directory shared by all work trees.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// The last value `git -c` gave `key`, if any (`Some(None)`: given
    /// without a value).
    pub(crate) fn command_line_config(&self, key: &str) -> Option<Option<&str>> {
        self.cmdline.last(key)
    }

    /// The filter drivers `git -c filter.<name>.clean|smudge|process=…`
    /// defines a command for.
    pub(crate) fn command_line_filter_drivers(&self) -> Vec<String> {
        self.cmdline.filter_drivers()
    }

    /// A single-valued setting: `git -c` first (the last one given; a key
    /// given without a value reads as empty), then the config files.
    pub fn config_string(&self, key: &str) -> anyhow::Result<Option<String>> {
        if let Some(value) = self.cmdline.last(key) {
            return Ok(Some(value.unwrap_or_default().to_string()));
        }
        let config = self.inner.config().context("could not read git config")?;
        match config.get_string(key) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(user(format!("git config {key}: {}", e.message()))
                .hint("fix the value with `git config`")
                .into()),
        }
    }

    pub fn config_i64(&self, key: &str) -> anyhow::Result<Option<i64>> {
        let not_a_number = |message: &str| {
            user(format!("git config {key} is not a number: {message}"))
                .hint("fix the value with `git config`")
        };
        if let Some(value) = self.cmdline.last(key) {
            let text = value.ok_or_else(|| not_a_number("it has no value"))?;
            return git2::Config::parse_i64(text)
                .map(Some)
                .map_err(|e| not_a_number(e.message()).into());
        }
        let config = self.inner.config().context("could not read git config")?;
        match config.get_i64(key) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(not_a_number(e.message()).into()),
        }
    }

    /// A boolean setting; a `git -c key` without a value is true, as in git.
    pub fn config_bool(&self, key: &str) -> anyhow::Result<Option<bool>> {
        let not_a_bool = |message: &str| {
            user(format!("git config {key} is not a boolean: {message}")).hint("use true or false")
        };
        if let Some(value) = self.cmdline.last(key) {
            return match value {
                None => Ok(Some(true)),
                Some(text) => git2::Config::parse_bool(text)
                    .map(Some)
                    .map_err(|e| not_a_bool(e.message()).into()),
            };
        }
        let config = self.inner.config().context("could not read git config")?;
        match config.get_bool(key) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(not_a_bool(e.message()).into()),
        }
    }

    /// Every value of a multi-valued setting: the config files' in their
    /// order, then those given with `git -c`.
    pub fn config_multi(&self, key: &str) -> anyhow::Result<Vec<String>> {
        let config = self.inner.config().context("could not read git config")?;
        let mut values = Vec::new();
        let mut entries = config
            .multivar(key, None)
            .with_context(|| format!("could not read git config {key}"))?;
        while let Some(entry) = entries.next() {
            let entry = entry.with_context(|| format!("could not read git config {key}"))?;
            if let Ok(v) = entry.value() {
                values.push(v.to_string());
            }
        }
        values.extend(
            self.cmdline
                .all(key)
                .into_iter()
                .map(|v| v.unwrap_or_default().to_string()),
        );
        Ok(values)
    }

    /// A merge, rebase, cherry-pick, revert or bisect that git has in progress.
    pub fn git_operation_in_progress(&self) -> Option<InProgress> {
        let (what, hint) = match self.inner.state() {
            RepositoryState::Clean => return None,
            RepositoryState::Merge => (
                "a merge is in progress",
                "finish it with `git commit` or stop it with `git merge --abort`",
            ),
            RepositoryState::Revert | RepositoryState::RevertSequence => (
                "a revert is in progress",
                "finish it with `git revert --continue` or stop it with `git revert --abort`",
            ),
            RepositoryState::CherryPick | RepositoryState::CherryPickSequence => (
                "a cherry-pick is in progress",
                "finish it with `git cherry-pick --continue` or stop it with `git cherry-pick --abort`",
            ),
            RepositoryState::Bisect => (
                "a bisect is in progress",
                "end it with `git bisect reset`",
            ),
            RepositoryState::Rebase
            | RepositoryState::RebaseInteractive
            | RepositoryState::RebaseMerge
            | RepositoryState::ApplyMailbox
            | RepositoryState::ApplyMailboxOrRebase => (
                "a rebase (or `git am`) is in progress",
                "finish it with `git rebase --continue` or stop it with `git rebase --abort` (`git am --abort`)",
            ),
        };
        Some(InProgress { what, hint })
    }

    /// Resolve a revision to a commit, with a user error when it does not.
    pub fn resolve_commit(&self, rev: &str) -> anyhow::Result<Oid> {
        self.try_resolve_commit(rev)?.ok_or_else(|| {
            user(format!("unknown revision `{rev}`"))
                .hint("name a commit, branch or tag that exists (see `git log --oneline`)")
                .into()
        })
    }

    /// Resolve a revision to a commit; `None` when it does not exist.
    pub fn try_resolve_commit(&self, rev: &str) -> anyhow::Result<Option<Oid>> {
        if rev.starts_with('-') || rev.is_empty() {
            return Ok(None);
        }
        let object = match self.inner.revparse_single(rev) {
            Ok(o) => o,
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::NotFound | ErrorCode::InvalidSpec | ErrorCode::Ambiguous
                ) || e.class() == git2::ErrorClass::Reference =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e).with_context(|| format!("could not resolve `{rev}`")),
        };
        match object.peel(ObjectType::Commit) {
            Ok(c) => Ok(Some(c.id())),
            Err(_) => Err(user(format!("`{rev}` does not name a commit"))
                .hint("name a commit, branch or tag")
                .into()),
        }
    }

    pub fn head_commit(&self) -> anyhow::Result<Option<Oid>> {
        match self.inner.head() {
            Ok(r) => Ok(r.target()),
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
            Err(e) => Err(e).context("could not read HEAD"),
        }
    }

    /// The current branch's short name, if HEAD is on a branch.
    pub fn current_branch(&self) -> anyhow::Result<Option<String>> {
        let head = self
            .inner
            .find_reference("HEAD")
            .context("could not read HEAD")?;
        Ok(head
            .symbolic_target()
            .ok()
            .flatten()
            .and_then(|t| t.strip_prefix("refs/heads/"))
            .map(str::to_string))
    }

    pub fn commit_info(&self, id: Oid) -> anyhow::Result<CommitInfo> {
        let commit = self
            .inner
            .find_commit(id)
            .with_context(|| format!("could not find commit {id}"))?;
        let author = commit.author();
        Ok(CommitInfo {
            id,
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            time: commit.time().seconds(),
            offset_minutes: commit.time().offset_minutes(),
            tree: commit.tree_id(),
        })
    }

    /// The parents of a commit, in order, up to the first one missing from
    /// the object database (a shallow clone's boundary ends the list like a
    /// root).
    pub fn commit_parents(&self, id: Oid) -> anyhow::Result<Vec<Oid>> {
        let commit = self
            .inner
            .find_commit(id)
            .with_context(|| format!("could not find commit {id}"))?;
        Ok(commit
            .parent_ids()
            .take_while(|p| self.inner.find_commit(*p).is_ok())
            .collect())
    }

    /// The entries of a ref's reflog (`HEAD`, `refs/stash`), oldest first;
    /// none when the ref has no reflog. Lines libgit2 cannot parse are
    /// left out, as git leaves them out.
    pub fn reflog(&self, name: &str) -> anyhow::Result<Vec<ReflogEntry>> {
        // Reading a reflog that does not exist makes libgit2 create an
        // empty file for it (docs/libgit2-pitfalls.md): ask first, so that
        // reading writes nothing.
        let exists = self
            .inner
            .reference_has_log(name)
            .with_context(|| format!("could not look for the reflog of {name}"))?;
        if !exists {
            return Ok(Vec::new());
        }
        let log = self
            .inner
            .reflog(name)
            .with_context(|| format!("could not read the reflog of {name}"))?;
        // libgit2 lists the newest entry first.
        let mut entries: Vec<ReflogEntry> = log
            .iter()
            .map(|e| {
                let who = e.committer();
                ReflogEntry {
                    old: e.id_old(),
                    new: e.id_new(),
                    who: format!(
                        "{} <{}>",
                        String::from_utf8_lossy(who.name_bytes()),
                        String::from_utf8_lossy(who.email_bytes())
                    ),
                    time: who.when().seconds(),
                    offset_minutes: who.when().offset_minutes(),
                    message: String::from_utf8_lossy(e.message_bytes().unwrap_or_default())
                        .into_owned(),
                }
            })
            .collect();
        entries.reverse();
        Ok(entries)
    }

    /// Number of commits reachable from `to` and not from `from`.
    pub fn count_commits(&self, from: Oid, to: Oid) -> anyhow::Result<usize> {
        let mut walk = self.inner.revwalk().context("could not walk history")?;
        walk.push(to).context("could not walk history")?;
        walk.hide(from).context("could not walk history")?;
        Ok(walk.count())
    }

    /// Files that differ between two commits' trees.
    pub fn files_changed(&self, from: Oid, to: Oid) -> anyhow::Result<usize> {
        files_changed_in(&self.inner, from, to)
    }

    /// [`Repo::files_changed`] on a thread of its own, through a handle of
    /// its own: a rollback's plan counts the files between HEAD and the
    /// target (tens of milliseconds on a large tree) while its snapshot
    /// scan goes on here ([`Counting::later`]).
    pub fn count_files_changed(&self, from: Oid, to: Oid) -> Counting {
        let handle = self
            .reopen()
            .ok()
            .map(|other| std::thread::spawn(move || files_changed_in(&other, from, to)));
        Counting { handle, from, to }
    }

    /// `git log --oneline from..to`: short id and subject, newest first.
    pub fn log_oneline(&self, from: Oid, to: Oid) -> anyhow::Result<Vec<String>> {
        log_oneline_of(&self.inner, from, to)
    }

    /// [`Repo::log_oneline`] on a thread of its own, with its own handle of
    /// the repository (a long sprint's log parses every commit; it can run
    /// while the work tree is written).
    pub fn log_oneline_in_background(
        &self,
        from: Oid,
        to: Oid,
    ) -> std::thread::JoinHandle<anyhow::Result<Vec<String>>> {
        self.in_background(move |repo| log_oneline_of(repo, from, to))
    }

    /// `git diff --stat -M` between two trees, as git prints it at 80
    /// columns, and the number of files it lists.
    pub fn diff_stat(&self, from: Oid, to: Oid) -> anyhow::Result<(String, usize)> {
        diff_stat_of(&self.inner, from, to)
    }

    /// [`Repo::diff_stat`] on a thread of its own, with its own handle of
    /// the repository (the diff reads every changed blob twice; it can run
    /// while the work tree is written, and read `from`'s blobs once with
    /// that writing through `shared`). With `learning`, a stat started
    /// earlier by [`Repo::learn_diff_stat_in_background`], what it learned
    /// is used once it is done; it failing only means computing it all.
    pub fn diff_stat_in_background(
        &self,
        from: Oid,
        to: Oid,
        shared: std::sync::Arc<super::shared_blobs::SharedBlobs>,
        learning: Option<Learning>,
    ) -> std::thread::JoinHandle<anyhow::Result<(String, usize)>> {
        self.in_background(move |repo| {
            let mut known = learning
                .and_then(|l| l.join().ok())
                .and_then(Result::ok)
                .unwrap_or_default();
            super::diffstat::diff_stat_sharing(
                repo,
                from,
                to,
                super::diffstat::WIDTH,
                Some(&shared),
                &mut known,
            )
        })
    }

    /// The stat of `from` → `to` on a thread of its own, for what it
    /// teaches a later one ([`super::diffstat::learn`]): started before
    /// the work tree is read, it reads and diffs the blobs a stat of it
    /// will need while the processor has time, leaving `from`'s blobs in
    /// `shared` for the writer.
    pub fn learn_diff_stat_in_background(
        &self,
        from: Oid,
        to: Oid,
        shared: std::sync::Arc<super::shared_blobs::SharedBlobs>,
    ) -> Learning {
        self.in_background(move |repo| super::diffstat::learn(repo, from, to, Some(&shared)))
    }

    /// `read` on a thread of its own, through a handle of the repository
    /// of its own.
    fn in_background<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Repository) -> anyhow::Result<T> + Send + 'static,
    ) -> std::thread::JoinHandle<anyhow::Result<T>> {
        let inner = self.reopen();
        std::thread::spawn(move || read(&inner?))
    }

    pub fn is_descendant_of(&self, commit: Oid, ancestor: Oid) -> anyhow::Result<bool> {
        if commit == ancestor {
            return Ok(true);
        }
        Ok(self.inner.graph_descendant_of(commit, ancestor)?)
    }

    pub fn short_id(&self, id: Oid) -> String {
        short_hex(id)
    }

    /// The committer signature, which git also puts on tag objects (see
    /// [`super::ident`]).
    pub fn signature(&self) -> anyhow::Result<git2::Signature<'static>> {
        self.identity(super::ident::Role::Committer)
    }

    /// Whether `refs/tags/<name>` is a valid tag name.
    pub fn valid_tag_name(name: &str) -> bool {
        // git refuses `HEAD` as a tag name too (`git tag HEAD`).
        !name.starts_with('-')
            && name != "HEAD"
            && git2::Reference::is_valid_name(&format!("refs/tags/{name}"))
    }

    /// Whether `refs/heads/<name>` is a valid branch name.
    pub fn valid_branch_name(name: &str) -> bool {
        !name.starts_with('-') && git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
    }

    /// Write an annotated tag object (no ref): the ref is moved separately,
    /// with a compare-and-swap, by the journal's transaction.
    pub fn write_tag_object(&self, name: &str, target: Oid, message: &str) -> anyhow::Result<Oid> {
        let object = self
            .inner
            .find_object(target, None)
            .with_context(|| format!("could not find {target}"))?;
        let sig = self.signature()?;
        let mut message = message.to_string();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        let tag = self
            .inner
            .tag_annotation_create(name, &object, &sig, &message)
            .with_context(|| format!("could not write tag object {name}"))?;
        self.written.object(tag);
        Ok(tag)
    }

    /// Read a tag by short name.
    pub fn tag_info(&self, name: &str) -> anyhow::Result<Option<TagInfo>> {
        let refname = format!("refs/tags/{name}");
        let Some(target) = self.ref_target(&refname)? else {
            return Ok(None);
        };
        self.describe_tag(name, target).map(Some)
    }

    fn describe_tag(&self, name: &str, target: Oid) -> anyhow::Result<TagInfo> {
        let object = self
            .inner
            .find_object(target, None)
            .with_context(|| format!("could not find the object of tag {name}"))?;
        let commit = object
            .peel(ObjectType::Commit)
            .with_context(|| format!("tag {name} does not point at a commit"))?;
        let commit = commit
            .into_commit()
            .map_err(|_| anyhow::anyhow!("tag {name} does not point at a commit"))?;
        match object.as_tag() {
            Some(tag) => Ok(TagInfo {
                name: name.to_string(),
                target,
                commit: commit.id(),
                annotated: true,
                message: String::from_utf8_lossy(tag.message_bytes().unwrap_or_default())
                    .trim_end()
                    .to_string(),
                time: tag
                    .tagger()
                    .map(|t| t.when().seconds())
                    .unwrap_or_else(|| commit.time().seconds()),
            }),
            None => Ok(TagInfo {
                name: name.to_string(),
                target,
                commit: commit.id(),
                annotated: false,
                message: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                    .into_owned(),
                time: commit.time().seconds(),
            }),
        }
    }

    /// Every tag whose short name starts with `prefix`.
    pub fn tags_with_prefix(&self, prefix: &str) -> anyhow::Result<Vec<TagInfo>> {
        let mut tags = Vec::new();
        for (refname, target) in self.refs_with_prefix(&format!("refs/tags/{prefix}"))? {
            let name = refname.trim_start_matches("refs/tags/").to_string();
            tags.push(self.describe_tag(&name, target)?);
        }
        Ok(tags)
    }

    /// The tree of a commit.
    pub fn commit_tree(&self, commit: Oid) -> anyhow::Result<Oid> {
        Ok(self
            .inner
            .find_commit(commit)
            .with_context(|| format!("could not find commit {commit}"))?
            .tree_id())
    }

    /// Whether the object database has this object.
    pub fn has_object(&self, id: Oid) -> bool {
        self.inner.odb().map(|odb| odb.exists(id)).unwrap_or(false)
    }

    /// What this process wrote to the object store (see
    /// [`super::written`]): noted by every writer in `git/`.
    pub(crate) fn written(&self) -> &super::written::Written {
        &self.written
    }

    /// The files and folders of the objects written since the last call,
    /// for the journal to sync before a record names them.
    pub fn take_written_files(&self) -> anyhow::Result<super::written::WrittenFiles> {
        self.written
            .take_files(&self.inner, &self.common_dir.join("objects"))
    }
}

impl Repo {
    /// Whether a commit's tree has an entry at `path`.
    pub fn tree_has_path(&self, tree: Oid, path: &str) -> bool {
        self.inner
            .find_tree(tree)
            .and_then(|t| t.get_path(Path::new(path)))
            .is_ok()
    }

    /// Whether a tree has a file at `path` whose content is that of `file`
    /// on disk (its raw bytes, or a symlink's target).
    pub fn tree_file_matches(&self, tree: Oid, path: &super::RepoPath, file: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let Ok(entry) = self
            .inner
            .find_tree(tree)
            .and_then(|t| t.get_path(Path::new(path.as_os_str())))
        else {
            return false;
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return false;
        }
        let link = entry.filemode() == i32::from(git2::FileMode::Link);
        let content = match std::fs::symlink_metadata(file) {
            Ok(meta) if meta.file_type().is_symlink() && link => std::fs::read_link(file)
                .ok()
                .and_then(|t| Oid::hash_object(ObjectType::Blob, t.as_os_str().as_bytes()).ok()),
            Ok(meta) if meta.is_file() && !link => Oid::hash_file(ObjectType::Blob, file).ok(),
            _ => None,
        };
        content == Some(entry.id())
    }

    /// Whether a tree has a directory at `path`.
    pub fn tree_has_dir(&self, tree: Oid, path: &super::RepoPath) -> bool {
        self.inner
            .find_tree(tree)
            .and_then(|t| t.get_path(Path::new(path.as_os_str())))
            .is_ok_and(|e| e.kind() == Some(ObjectType::Tree))
    }
}

impl Repo {
    /// Every file (blob or symlink) of `tree` at or under `path`, with its
    /// object and mode; `None` when the tree has nothing there. The empty
    /// path is the whole tree. Submodules are left out.
    pub fn entries_under(
        &self,
        tree: Oid,
        path: &super::RepoPath,
    ) -> anyhow::Result<Option<Vec<(super::RepoPath, Oid, u32)>>> {
        let root = self
            .inner
            .find_tree(tree)
            .context("could not read a tree")?;
        let subtree = if path.as_bytes().is_empty() {
            root
        } else {
            let entry = match root.get_path(Path::new(path.as_os_str())) {
                Ok(e) => e,
                Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
                Err(e) => return Err(e).context("could not read a tree"),
            };
            match entry.kind() {
                Some(ObjectType::Blob) => {
                    return Ok(Some(vec![(
                        path.clone(),
                        entry.id(),
                        entry.filemode() as u32,
                    )]))
                }
                Some(ObjectType::Tree) => self
                    .inner
                    .find_tree(entry.id())
                    .context("could not read a tree")?,
                _ => return Ok(Some(Vec::new())),
            }
        };
        let mut out = Vec::new();
        // The project's walk: libgit2's stops at a folder whose name is not
        // UTF-8 and would leave out what is under it.
        super::each_tree_entry(&self.inner, &subtree, &mut |rel, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                let full = if path.as_bytes().is_empty() {
                    super::RepoPath::from_bytes(rel)
                } else {
                    path.join(rel)
                };
                out.push((full, entry.id(), entry.filemode() as u32));
            }
            Ok(())
        })?;
        Ok(Some(out))
    }
}

fn diff_stat_of(repo: &Repository, from: Oid, to: Oid) -> anyhow::Result<(String, usize)> {
    super::diffstat::diff_stat(repo, from, to, super::diffstat::WIDTH)
}

/// The first eight hex digits of an id, as the reports print it.
fn short_hex(id: Oid) -> String {
    let text = id.to_string();
    text[..text.len().min(8)].to_string()
}

/// `git log --oneline from..to` through `repo`: a short id and the summary
/// of each commit, newest first.
fn log_oneline_of(repo: &Repository, from: Oid, to: Oid) -> anyhow::Result<Vec<String>> {
    let mut walk = repo.revwalk().context("could not walk history")?;
    walk.push(to).context("could not walk history")?;
    walk.hide(from).context("could not walk history")?;
    let mut lines = Vec::new();
    for id in walk {
        let id = id.context("could not walk history")?;
        let commit = repo
            .find_commit(id)
            .with_context(|| format!("could not find commit {id}"))?;
        let summary = String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default());
        lines.push(format!("{} {summary}", short_hex(id)));
    }
    Ok(lines)
}

/// Files that differ between two commits' trees, through `repo`.
fn files_changed_in(repo: &Repository, from: Oid, to: Oid) -> anyhow::Result<usize> {
    let a = repo.find_commit(from)?.tree()?;
    let b = repo.find_commit(to)?.tree()?;
    let diff = repo
        .diff_tree_to_tree(Some(&a), Some(&b), None)
        .context("could not diff trees")?;
    Ok(diff.deltas().len())
}

/// A count of [`Repo::count_files_changed`] under way.
pub struct Counting {
    handle: Option<std::thread::JoinHandle<anyhow::Result<usize>>>,
    from: Oid,
    to: Oid,
}

impl Counting {
    /// The count, waited for only when it is shown: a plan's line that
    /// the journal records after the snapshot scan, which the count then
    /// no longer holds up. Made here when no thread could make it.
    pub fn later(self, repo: &Repo) -> anyhow::Result<Count> {
        Ok(match self.handle {
            Some(handle) => Count {
                counted: Arc::new(OnceLock::new()),
                handle: Arc::new(Mutex::new(Some(handle))),
            },
            None => Count::known(repo.files_changed(self.from, self.to)?),
        })
    }
}

/// A count of [`Counting::later`]: joined the first time it is shown.
#[derive(Debug, Clone)]
pub struct Count {
    /// `None`: the count failed (it is shown as unknown).
    counted: Arc<OnceLock<Option<usize>>>,
    handle: Arc<Mutex<Option<std::thread::JoinHandle<anyhow::Result<usize>>>>>,
}

impl Count {
    pub fn known(n: usize) -> Count {
        Count {
            counted: Arc::new(OnceLock::from(Some(n))),
            handle: Arc::new(Mutex::new(None)),
        }
    }

    /// The count, once its thread is done; `None` if it failed.
    pub fn get(&self) -> Option<usize> {
        *self.counted.get_or_init(|| {
            let handle = self
                .handle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            match handle.map(std::thread::JoinHandle::join) {
                Some(Ok(Ok(n))) => Some(n),
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                Some(Ok(Err(_))) | None => None,
            }
        })
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("an unknown number of"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Repo;

    const FIRST: &str = "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 Sprint Tester <t@example.com> 1795165200 +0100\tcommit (initial): first\n";
    const SECOND: &str = "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 Other One <o@example.com> 1795165260 -0230\tcommit: second\n";

    #[test]
    fn reflogs_are_read_oldest_first_without_creating_any() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        git2::Repository::init(dir.path()).expect("git init");
        let logs = dir.path().join(".git/logs");
        std::fs::create_dir_all(&logs).expect("mkdir logs");
        std::fs::write(logs.join("HEAD"), format!("{FIRST}garbage\n{SECOND}")).expect("write");
        let repo = Repo::open_ignoring_env(dir.path()).expect("open");

        let entries = repo.reflog("HEAD").expect("read the reflog");
        assert_eq!(entries.len(), 2, "{entries:?}");
        let (first, second) = (&entries[0], &entries[1]);
        assert!(first.old.is_zero());
        assert_eq!(first.new.to_string(), "1".repeat(40));
        assert_eq!(first.who, "Sprint Tester <t@example.com>");
        assert_eq!(first.time, 1_795_165_200);
        assert_eq!(first.offset_minutes, 60);
        assert_eq!(first.message, "commit (initial): first");
        assert_eq!(second.who, "Other One <o@example.com>");
        assert_eq!(second.offset_minutes, -150);
        assert_eq!(second.message, "commit: second");

        assert!(repo.reflog("refs/stash").expect("no reflog").is_empty());
        assert!(
            !logs.join("refs/stash").exists(),
            "reading a missing reflog created it"
        );
    }

    #[test]
    fn parents_come_in_order() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let git = git2::Repository::init(dir.path()).expect("git init");
        let sig = git2::Signature::new("T", "t@example.com", &git2::Time::new(0, 0)).expect("sig");
        let tree_id = git.treebuilder(None).and_then(|b| b.write()).expect("tree");
        let tree = git.find_tree(tree_id).expect("tree");
        let commit = |msg: &str, parents: &[&git2::Commit<'_>]| {
            let id = git
                .commit(None, &sig, &sig, msg, &tree, parents)
                .expect("commit");
            git.find_commit(id).expect("commit")
        };
        let a = commit("a", &[]);
        let b = commit("b", &[]);
        let merge = commit("m", &[&b, &a]);
        let repo = Repo::open_ignoring_env(dir.path()).expect("open");
        assert_eq!(
            repo.commit_parents(merge.id()).expect("parents"),
            vec![b.id(), a.id()]
        );
        assert!(repo.commit_parents(a.id()).expect("parents").is_empty());
    }
}
