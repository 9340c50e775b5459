//! One transaction for every change: lock → save → journal → mutate → end.
//!
//! [`Transaction::begin`] takes the lock, refuses when something else is in
//! progress, saves everything the [`Scope`] names (HEAD, refs, index, work
//! tree, stash), keeps the saved objects alive in the journal's keep reflog
//! (`refs/rollback/keep/<name>`, see [`super::keep`]),
//! fsyncs what it wrote ([`Durable`]) and appends the fsynced `begin` record. Only then may
//! the command change anything, through the transaction's methods, which
//! check that each ref is in scope and move it with a compare-and-swap.

use std::fs;
use std::time::Instant;

use anyhow::Context as _;

use super::door::IndexLock;
use super::keep;
use super::lock::{self, Lock};
use super::{
    create_dir_durable, write_durable, Begin, Durable, End, EndOutcome, Journal, Location, Moved,
    Operation, Record, RefValue, SavedFile, SavedIndex, SavedStash, SavedWorktree, Scope, VERSION,
};
use crate::error::{user, Exit};
use crate::git::index;
use crate::git::snapshot::{self, ModeRecord, WorktreeScan};
use crate::git::writer::Change;
use crate::git::{parse_oid, HeadState, Oid, Repo, RepoPath};
use crate::ui::Ui;

/// The folder of the markers of operations whose `begin` record is not
/// written yet, `<journal dir>/preparing/<id>`: created before the first
/// keep-alive entry, removed once the record is durable. A folder of its
/// own, so that the next operation finds them without listing `ops/`.
const PREPARING: &str = "preparing";

fn preparing_marker(journal: &Journal, id: &str) -> std::path::PathBuf {
    journal.dir().join(PREPARING).join(id)
}

/// What a command is about to do, for the journal.
#[derive(Debug, Clone)]
pub struct Intent {
    pub kind: String,
    pub command: String,
    pub scope: Scope,
    pub undoes: Option<String>,
    /// `undo` may run while an operation is interrupted (that is its job).
    pub allow_interrupted: bool,
    /// Permission bits of paths the command will overwrite or delete that a
    /// tree cannot hold (the scan records those of changed files itself).
    pub extra_modes: Vec<ModeRecord>,
    /// List ignored paths in the scan (for `--clean-ignored`).
    pub scan_ignored: bool,
    /// The tree the command will write over the work tree: the permission
    /// bits a tree cannot hold are saved for every path that will change.
    pub overwrite_with: Option<Oid>,
    /// Paths the command will write over, when it computes its target only
    /// after the snapshot (`files`): like the changes of `overwrite_with`,
    /// their bytes on disk are kept for undo where git converts them.
    pub overwrite_paths: Vec<RepoPath>,
    /// The same paths for the check that every directory they need is
    /// writable, each with whether it gets a regular file
    /// ([`crate::git::writer::check_writable`]); made after the snapshot
    /// scan, so that an unreadable directory is named as such first.
    pub writes: Vec<(RepoPath, bool)>,
    /// Only these paths of `overwrite_with` are written (undo writes back
    /// only what the operation changed and nothing changed since).
    pub overwrite_only: Option<std::collections::HashSet<RepoPath>>,
    /// Paths no work-tree change of the command may touch: the reports
    /// folder, which survives every rollback and undo (docs/invariants.md, I8).
    pub preserve: Vec<RepoPath>,
    /// The repository's index was read before the lock was taken (an
    /// [`index::EditableIndex`]): refuse, before anything is saved, if the
    /// index file was replaced in the meantime.
    pub index_source: Option<index::IndexSource>,
    /// The work tree at the scope's paths is already known (a three-way
    /// undo compared each path it writes with what the operation left; a
    /// rescue writes only paths it found free): the snapshot is made from
    /// it, and nothing else is scanned. Its targets are what the command
    /// writes, with or without `overwrite_with`.
    pub known_worktree: Option<KnownWorktree>,
}

/// What [`Intent::known_worktree`] knows.
#[derive(Debug, Clone)]
pub struct KnownWorktree {
    /// Each path of the scope, with what is on disk there now and what
    /// [`Intent::overwrite_with`] has there (the file the command writes).
    pub files: Vec<KnownPath>,
    /// Directories the command makes or removes (their emptiness is saved).
    pub dirs: Vec<RepoPath>,
    /// When the paths were looked at: a file changed after this is not
    /// what the snapshot holds (the writer moves it aside).
    pub since: std::time::SystemTime,
}

#[derive(Debug, Clone)]
pub struct KnownPath {
    pub path: RepoPath,
    pub now: snapshot::KnownFile,
    pub target: snapshot::KnownFile,
}

impl Intent {
    pub fn new(kind: &str, command: &str, scope: Scope) -> Intent {
        Intent {
            kind: kind.to_string(),
            command: command.to_string(),
            scope,
            undoes: None,
            allow_interrupted: false,
            extra_modes: Vec::new(),
            scan_ignored: false,
            overwrite_with: None,
            overwrite_paths: Vec::new(),
            overwrite_only: None,
            writes: Vec::new(),
            preserve: Vec::new(),
            index_source: None,
            known_worktree: None,
        }
    }
}

pub struct Transaction<'r> {
    repo: &'r Repo,
    journal: Journal,
    begin: Begin,
    scan: Option<WorktreeScan>,
    /// The changes from the scanned work tree to `Intent::overwrite_with`.
    overwrite_changes: Vec<crate::git::writer::Change>,
    preserve: Vec<RepoPath>,
    index_lock: Option<IndexLock>,
    _lock: Lock,
    started: Instant,
    scan_started: std::time::SystemTime,
    details: serde_json::Map<String, serde_json::Value>,
    /// Work-tree paths the operation wrote, moved or removed: what it left
    /// there is written down with its `end` record.
    /// With each, the file the operation wrote there when it knows it
    /// without reading it back (a blob written unconverted; `None`: it
    /// removed the path).
    /// And the snapshot's entry it replaced, when known (`Some(None)`:
    /// none).
    touched: std::cell::RefCell<super::after::Touched>,
    /// Empty directories the operation may have removed or made.
    dirs: std::cell::RefCell<std::collections::BTreeSet<RepoPath>>,
}

impl<'r> Transaction<'r> {
    /// Refuse, lock, tidy, lock the index, save and record: steps 1–4 of
    /// docs/design.md, One transaction for every change. `plan` gives the
    /// plan's lines for the `begin` record, asked for only once the
    /// snapshot is saved (a line may show a count made meanwhile on
    /// another thread).
    pub fn begin(
        repo: &'r Repo,
        ui: &Ui,
        intent: Intent,
        plan: &dyn Fn() -> Vec<String>,
    ) -> anyhow::Result<Transaction<'r>> {
        let started = Instant::now();
        let scan_started = match &intent.known_worktree {
            Some(known) => known.since,
            None => std::time::SystemTime::now(),
        };
        let journal = Journal::for_repo(repo);
        refuse_before_lock(repo, &journal, &intent)?;
        let mut lock = take_lock(repo, ui, &journal, &intent.command)?;
        let history = tidy_under_lock(repo, ui, &journal, &intent)?;
        // The same refusals again, now that our lock is held: the first
        // ones keep a busy repository from getting even our lock file, but
        // git may have started an operation, or taken its index lock, while
        // we took ours and tidied; checked here, nothing can start between
        // the check and the index lock below but another git command,
        // which the index lock then refuses.
        if let Some(p) = repo.git_operation_in_progress() {
            return Err(user(p.what).hint(p.hint).into());
        }
        index::check_index_unlocked(repo)?;
        let scope = intent.scope.clone();
        let index_lock = lock_index(repo, &mut lock, &scope)?;
        crate::fault::point("after-lock");
        if let Some(source) = &intent.index_source {
            if !source.is_current(repo)? {
                drop(index_lock);
                lock.mark_index_lock(false)?;
                return Err(user(
                    "the index changed while the command was being prepared: nothing was changed",
                )
                .hint("run the command again")
                .into());
            }
        }

        let id = new_id(&journal, &history);
        // Mark the operation as being prepared before the first ref is
        // kept: refs left by a crash before the `begin` record are then
        // known to be ours, and the next operation removes them.
        create_dir_durable(&journal.op_dir(&id))?;
        if let Err(e) = write_durable(&preparing_marker(&journal, &id), b"") {
            let _ = fs::remove_dir_all(journal.op_dir(&id));
            return Err(e);
        }
        let (begin, scan, overwrite_changes) =
            match save_and_record(repo, ui, &intent, plan, &scope, &journal, &id) {
                Ok(saved) => saved,
                Err(e) => {
                    // A refusal (or failure) before the `begin` record
                    // leaves nothing behind: no keep-alive ref, no files.
                    if !journal.records(&id) {
                        discard_unrecorded(repo, &journal, &id);
                    }
                    return Err(e);
                }
            };
        let _ = fs::remove_file(preparing_marker(&journal, &id));
        crate::fault::point("after-begin");
        Ok(Transaction {
            repo,
            journal,
            begin,
            scan,
            overwrite_changes,
            preserve: intent.preserve.clone(),
            index_lock,
            _lock: lock,
            started,
            scan_started,
            details: serde_json::Map::new(),
            touched: Default::default(),
            dirs: Default::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.begin.id
    }

    pub fn repo(&self) -> &'r Repo {
        self.repo
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The work-tree scan taken before the operation (when in scope).
    pub fn scan(&self) -> Option<&WorktreeScan> {
        self.scan.as_ref()
    }

    /// The path changes that turn the work tree as scanned into the tree
    /// named by `Intent::overwrite_with` (computed once, in `begin`).
    pub fn overwrite_changes(&self) -> &[crate::git::writer::Change] {
        &self.overwrite_changes
    }

    /// The path changes that turn the work tree as scanned into `target`,
    /// within the operation's paths and outside the preserved ones.
    pub fn changes_to(&self, target: Oid) -> anyhow::Result<Vec<crate::git::writer::Change>> {
        let scan = self
            .scan
            .as_ref()
            .context("internal error: the operation has no snapshot of the work tree")?;
        changes_within(
            self.repo,
            scan.tree,
            target,
            &self.begin.scope.paths,
            &self.preserve,
        )
    }

    /// When `begin` started, before the work tree was scanned: a file
    /// changed after this may not be what the snapshot holds.
    pub fn scan_started(&self) -> std::time::SystemTime {
        self.scan_started
    }

    pub fn begin_record(&self) -> &Begin {
        &self.begin
    }

    /// Remember something about the operation in its `end` record.
    pub fn detail(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.details.insert(key.to_string(), value.into());
    }

    /// Move a ref with compare-and-swap; the ref must be in scope.
    pub fn update_ref(
        &self,
        name: &str,
        expected: Option<Oid>,
        new: Option<Oid>,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.refs.iter().any(|r| r == name),
            "internal error: {name} is not in the operation's scope"
        );
        self.repo
            .update_ref(name, expected, new, &self.reflog_message())?;
        crate::fault::point("after-ref");
        Ok(())
    }

    /// Carry out a ref step of a command's plan: a compare-and-swap of the
    /// ref it names, or HEAD detached at its commit.
    pub fn apply_ref_step(&self, step: &crate::plan::RefStep) -> anyhow::Result<()> {
        use crate::plan::RefStep;
        match step {
            RefStep::DetachHead { at } => self.set_head(&HeadState::Detached(at.id.to_string())),
            RefStep::CreateBranch { name, at } => {
                self.update_ref(&format!("refs/heads/{name}"), None, Some(at.id))
            }
            RefStep::CreateRef { name, at, .. } => self.update_ref(name, None, Some(at.id)),
            RefStep::MoveRef { name, from, to, .. } => self.update_ref(name, *from, Some(to.id)),
            RefStep::DeleteRef { name, from, .. } => self.update_ref(name, Some(*from), None),
        }
    }

    /// Push a stash entry (W of [`crate::git::stash::build_stash_commit`]).
    pub fn push_stash(&self, w: Oid, reflog_message: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.stash,
            "internal error: the stash is not in the operation's scope"
        );
        super::door::push_stash(self.repo, w, reflog_message)
    }

    /// Remove the directories left empty by moving `paths` away, up to
    /// the work tree's root.
    pub fn prune_empty_parents(&self, paths: &[RepoPath]) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.worktree,
            "internal error: the work tree is not in the operation's scope"
        );
        super::worktree::prune_empty_parents(self.repo.workdir(), paths)
    }

    /// Set or delete a ref whatever its value (restoring a snapshot).
    pub fn force_ref(&self, name: &str, value: Option<Oid>) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.refs.iter().any(|r| r == name),
            "internal error: {name} is not in the operation's scope"
        );
        self.repo.force_ref(name, value, &self.reflog_message())?;
        crate::fault::point("after-ref");
        Ok(())
    }

    pub fn set_head(&self, state: &HeadState) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.head,
            "internal error: HEAD is not in scope"
        );
        self.repo.set_head_state(state, &self.reflog_message())?;
        crate::fault::point("after-head");
        Ok(())
    }

    /// Replace the index with these bytes (or remove it), releasing our lock.
    pub fn write_index(&mut self, bytes: Option<&[u8]>) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.index,
            "internal error: the index is not in scope"
        );
        let lock = self
            .index_lock
            .take()
            .context("internal error: the index was already written")?;
        lock.commit(bytes)?;
        crate::fault::point("after-index");
        Ok(())
    }

    /// Replace the index with the file at `path` (see
    /// [`IndexLock::commit_file`]), releasing our lock.
    pub fn write_index_file(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.index,
            "internal error: the index is not in scope"
        );
        let lock = self
            .index_lock
            .take()
            .context("internal error: the index was already written")?;
        lock.commit_file(path)?;
        crate::fault::point("after-index");
        Ok(())
    }

    /// Move a work-tree path aside under `<git-dir>/rollback/ops/<id>/aside/`,
    /// journaling the move before making it.
    pub fn move_aside(&self, path: &RepoPath) -> anyhow::Result<()> {
        let base = format!("ops/{}/aside", self.begin.id);
        let mut n = 1;
        let rel = loop {
            let dir = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let rel = RepoPath::from_bytes(dir.as_bytes()).join(path.as_bytes());
            if fs::symlink_metadata(rel.under(self.journal.dir())).is_err() {
                break rel;
            }
            n += 1;
        };
        self.move_path(Location::Worktree(path.clone()), Location::Aside(rel))
    }

    /// Move a path back to where an operation took it from. When both are
    /// directories, their contents are merged path by path; anything in the
    /// way in the work tree is moved aside first (never overwritten).
    ///
    /// `restored` says whether a work-tree path already holds, from undo's
    /// snapshot restore, what its copy at the given place would bring back:
    /// such a path is left where it is, at the top and inside a merged
    /// directory alike. Moving the copy in would set the restored file
    /// aside in its place, and undoing the undo would move that back out.
    pub fn move_back(
        &self,
        now: &Location,
        back_to: &Location,
        restored: &dyn Fn(&RepoPath, &std::path::Path) -> bool,
    ) -> anyhow::Result<()> {
        let src = self.location_path(now);
        let dst = self.location_path(back_to);
        if let Location::Worktree(p) = back_to {
            if restored(p, &src) {
                return Ok(());
            }
        }
        let Ok(src_meta) = fs::symlink_metadata(&src) else {
            return Ok(());
        };
        match fs::symlink_metadata(&dst) {
            Err(_) => self.move_path(now.clone(), back_to.clone()),
            Ok(dst_meta) if dst_meta.is_dir() && src_meta.is_dir() => {
                let mut names: Vec<std::ffi::OsString> = fs::read_dir(&src)
                    .with_context(|| format!("could not read {}", src.display()))?
                    .filter_map(|e| e.ok().map(|e| e.file_name()))
                    .collect();
                names.sort();
                for name in names {
                    use std::os::unix::ffi::OsStrExt;
                    let child = |l: &Location| match l {
                        Location::Worktree(p) => Location::Worktree(p.join(name.as_bytes())),
                        Location::Aside(p) => Location::Aside(p.join(name.as_bytes())),
                    };
                    self.move_back(&child(now), &child(back_to), restored)?;
                }
                let _ = fs::remove_dir(&src);
                Ok(())
            }
            Ok(_) => {
                match back_to {
                    Location::Worktree(p) => self.move_aside(p)?,
                    Location::Aside(_) => anyhow::bail!("{} is in the way", dst.display()),
                }
                self.move_path(now.clone(), back_to.clone())
            }
        }
    }

    /// Apply `changes` to the work tree (`journal::worktree::apply`),
    /// moving anything in the way aside, and remember the paths for the
    /// `end` record.
    pub fn apply_changes(
        &self,
        changes: &[crate::git::writer::Change],
        extras: &crate::git::writer::Extras<'_>,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<crate::git::writer::Applied> {
        // Written without conversion, a file's raw bytes are its blob: what
        // the operation left is known without reading it back.
        {
            // The changes start from the scan's tree: its entries are the
            // snapshot's when the snapshot kept no converted bytes.
            let exact_before = match (&self.scan, &self.begin.worktree) {
                (Some(scan), Some(saved)) => scan.tree.to_string() == saved.tree,
                _ => false,
            };
            let mut touched = self.touched.borrow_mut();
            for c in changes {
                // A removal is known either way; a file written through the
                // filters, once the writer says it came out unconverted.
                let known = (!extras.smudge.applies(&c.path) || c.new.is_none())
                    .then_some(c.new.map(|(oid, mode)| (mode, oid)));
                let was = exact_before.then_some(c.old.map(|(oid, mode)| (mode, oid)));
                let entry = touched.entry(c.path.clone()).or_insert((None, was));
                // The first write of a path saw what was there before.
                entry.0 = known;
            }
        }
        self.dirs.borrow_mut().extend(
            extras
                .current_empty_dirs
                .iter()
                .chain(extras.target_empty_dirs)
                .cloned(),
        );
        let applied = super::worktree::apply(
            self.repo,
            changes,
            extras,
            &mut |p| self.move_aside(p),
            &|n| bar.inc(n),
        )?;
        if !applied.unconverted.is_empty() {
            let written: std::collections::HashMap<&RepoPath, (Oid, u32)> = changes
                .iter()
                .filter_map(|c| Some((&c.path, c.new?)))
                .collect();
            let mut touched = self.touched.borrow_mut();
            for path in &applied.unconverted {
                if let (Some(entry), Some((oid, mode))) = (touched.get_mut(path), written.get(path))
                {
                    entry.0 = Some(Some((*mode, *oid)));
                }
            }
        }
        Ok(applied)
    }

    /// Move a path between the work tree and the aside area, journaled first.
    pub fn move_path(&self, from: Location, to: Location) -> anyhow::Result<()> {
        let src = self.location_path(&from);
        let dst = self.location_path(&to);
        if fs::symlink_metadata(&src).is_err() {
            return Ok(());
        }
        for location in [&from, &to] {
            if let Location::Worktree(p) = location {
                self.touched
                    .borrow_mut()
                    .entry(p.clone())
                    .and_modify(|e| e.0 = None)
                    .or_insert((None, None));
            }
        }
        self.journal.append(&Record::Moved(Moved {
            v: VERSION,
            id: self.begin.id.clone(),
            from,
            to,
        }))?;
        crate::fault::point("before-move");
        if let Some(parent) = dst.parent() {
            create_dir_durable(parent)?;
        }
        fs::rename(&src, &dst)
            .with_context(|| format!("could not move {} to {}", src.display(), dst.display()))?;
        crate::fault::point("after-move");
        Ok(())
    }

    fn location_path(&self, location: &Location) -> std::path::PathBuf {
        match location {
            Location::Worktree(p) => p.under(self.repo.workdir()),
            Location::Aside(p) => p.under(self.journal.dir()),
        }
    }

    fn reflog_message(&self) -> String {
        format!("rollback-sprint: {}", self.begin.command)
    }

    /// Record success.
    pub fn finish(self) -> anyhow::Result<String> {
        self.end(EndOutcome::Done, None)?;
        Ok(self.begin.id.clone())
    }

    /// Record failure and return the error, with how to undo what happened.
    pub fn fail(self, err: anyhow::Error) -> anyhow::Error {
        let (_, message) = crate::error::describe(&err);
        let id = self.begin.id.clone();
        if let Err(e) = self.end(EndOutcome::Failed, Some(message.clone())) {
            return e.context(message);
        }
        user(format!("{message} (operation {id} stopped part-way)"))
            .hint(format!(
                "run `git rollback-sprint undo {id}` to restore the state before it"
            ))
            .into()
    }

    /// Run `body`; record success or failure.
    pub fn run<T>(
        mut self,
        body: impl FnOnce(&mut Transaction<'r>) -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, String)> {
        match body(&mut self) {
            Ok(value) => {
                let id = self.finish()?;
                Ok((value, id))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn end(&self, outcome: EndOutcome, error: Option<String>) -> anyhow::Result<()> {
        crate::fault::point("before-end");
        let mut refs = Vec::new();
        for name in &self.begin.scope.refs {
            refs.push(RefValue {
                name: name.clone(),
                value: self.repo.ref_target(name)?.map(|v| v.to_string()),
            });
        }
        self.journal.append(&Record::End(Box::new(End {
            v: VERSION,
            id: self.begin.id.clone(),
            time: crate::clock::rfc3339(&crate::clock::now()),
            outcome,
            error,
            head: self.repo.head_state().ok(),
            refs,
            duration_ms: self.started.elapsed().as_millis() as u64,
            details: self.details.clone(),
            after: self.after(),
        })))?;
        crate::trace::phase("end: recorded");
        crate::fault::point("after-end");
        Ok(())
    }

    /// What the operation left, for a three-way undo. Best effort: without
    /// it, undo restores the whole state saved before (as for journals
    /// written by 0.1.0), so a failure here never stops the `end` record.
    fn after(&self) -> Option<super::after::After> {
        use super::after;
        let scope = &self.begin.scope;
        let id = &self.begin.id;
        crate::trace::phase("end: what the operation left");
        let captured = (|| -> anyhow::Result<after::After> {
            let mut out = after::After {
                head_commit: self.repo.head_commit()?.map(|c| c.to_string()),
                ..after::After::default()
            };
            if scope.index {
                out.index = Some(after::save_index(self.repo, &self.journal, id)?);
            }
            if scope.worktree {
                crate::trace::phase("end: the paths written");
                let mut touched = self.touched.borrow().clone();
                touched.retain(|p, _| !self.preserve.iter().any(|k| p.is_at_or_under(k)));
                out.worktree = Some(after::save_worktree(
                    self.repo,
                    &self.journal,
                    id,
                    &touched,
                )?);
                out.empty_dirs = self
                    .dirs
                    .borrow()
                    .iter()
                    .map(|d| after::DirAfter {
                        path: d.clone(),
                        present: after::is_empty_dir(self.repo.workdir(), d),
                    })
                    .collect();
            }
            if scope.stash {
                let read = |path: std::path::PathBuf| match fs::read(path) {
                    Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                    Err(e) => Err(e),
                };
                let before = read(self.journal.op_dir(id).join("stash-reflog"))?;
                let now = read(self.repo.common_dir().join("logs/refs/stash"))?;
                out.stash = Some(after::stash_change(&before, &now));
            }
            Ok(out)
        })();
        captured.ok()
    }
}

/// The refusals made before anything, even our folder or lock file, is
/// created: a git operation in progress, git's index lock held, an
/// interrupted operation of ours. A process of ours killed while holding
/// git's index lock left it behind; its stale lock says so, and that index
/// lock is removed first.
fn refuse_before_lock(repo: &Repo, journal: &Journal, intent: &Intent) -> anyhow::Result<()> {
    if let Some(holder) = lock::lock_holder(journal.dir()) {
        if !holder.alive && holder.info.holds_index_lock {
            let _ = fs::remove_file(repo.git_dir().join("index.lock"));
        }
    }
    if let Some(p) = repo.git_operation_in_progress() {
        return Err(user(p.what).hint(p.hint).into());
    }
    index::check_index_unlocked(repo)?;
    if !intent.allow_interrupted {
        let running = lock::lock_holder(journal.dir())
            .filter(|h| h.alive)
            .map(|h| h.info.pid);
        if let Some(op) = journal.recent_history()?.pending_interrupted(running) {
            return Err(user(super::interrupted_message(op))
                .exit(Exit::Stopped)
                .into());
        }
    }
    Ok(())
}

/// Our lock, for the whole operation (or a command that changes only the
/// journal's own files: `log prune`, `test`); a stale one (its process
/// died) is taken over, with what it left: git's index lock, our keep
/// ref's lock.
pub fn take_lock(
    repo: &Repo,
    ui: &Ui,
    journal: &Journal,
    command: &str,
) -> anyhow::Result<lock::Lock> {
    let (lock, stale) = lock::acquire(journal.dir(), command)?;
    if let Some(stale) = stale {
        ui.warn(&format!(
            "removed a stale lock left by git-rollback-sprint pid {} (`{}`)",
            stale.pid, stale.command
        ));
        if stale.holds_index_lock {
            let _ = fs::remove_file(repo.git_dir().join("index.lock"));
        }
        // Only the holder of our lock writes our keep ref: a lock on
        // it now was left by the process that died.
        keep::remove_stale_lock(repo);
    }
    Ok(lock)
}

/// Under our lock: read the newest part of the journal (what a command
/// needs before it acts, at a cost that does not grow with the journal),
/// remove what a crash left before a `begin` record, refuse an interrupted
/// operation (again: it may have been left between the first check and our
/// lock), move legacy keep refs, and release operations older than
/// `rollback.keepDays`. Returns the history as it then stands.
fn tidy_under_lock(
    repo: &Repo,
    ui: &Ui,
    journal: &Journal,
    intent: &Intent,
) -> anyhow::Result<std::sync::Arc<super::History>> {
    let mut history = journal.recent_history()?;
    sweep_unrecorded(repo, journal, &history);
    if !intent.allow_interrupted {
        if let Some(op) = history.pending_interrupted(None) {
            return Err(user(super::interrupted_message(op))
                .exit(Exit::Stopped)
                .into());
        }
    }
    {
        let whole = std::cell::OnceCell::new();
        keep::migrate_legacy(repo, &|id| {
            history.contains(id)
                || (history.is_partial()
                    && whole
                        .get_or_init(|| journal.history().ok())
                        .as_ref()
                        .is_some_and(|h| h.contains(id)))
        })?;
    }
    let keep_days = crate::settings::keep_days(repo)?;
    // Not while undoing or redoing: the operation undone needs its
    // saved files and snapshots (the next other operation prunes).
    // Due only when the journal's first operation is old enough: read
    // alone, the whole journal only then.
    let automatic = if intent.undoes.is_some() || !super::prune::first_is_due(journal, keep_days) {
        Ok(Vec::new())
    } else {
        journal
            .history()
            .and_then(|whole| super::prune::automatic(repo, journal, &whole, keep_days))
    };
    match automatic {
        Ok(released) if !released.is_empty() => {
            ui.note(&format!(
                "released {} operation{} older than {keep_days} days ({})",
                released.len(),
                if released.len() == 1 { "" } else { "s" },
                crate::settings::KEEP_DAYS
            ));
            history = journal.recent_history()?;
        }
        Ok(_) => {}
        Err(e) => ui.warn(&format!(
            "could not release operations older than {keep_days} days ({}): {e:#}",
            crate::settings::KEEP_DAYS
        )),
    }
    // The older green states go with the operations of their age.
    if intent.undoes.is_none() {
        if let Err(e) = super::green::automatic(repo, keep_days) {
            ui.warn(&format!(
                "could not release green states older than {keep_days} days ({}): {e:#}",
                crate::settings::KEEP_DAYS
            ));
        }
    }
    Ok(history)
}

/// git's `index.lock`, for an operation that may change the index or the
/// work tree. Our lock says so first: if we are killed while holding git's
/// index lock, the next command knows the index lock is ours.
fn lock_index(
    repo: &Repo,
    lock: &mut lock::Lock,
    scope: &Scope,
) -> anyhow::Result<Option<IndexLock>> {
    if !(scope.index || scope.worktree) {
        return Ok(None);
    }
    lock.mark_index_lock(true)?;
    match IndexLock::acquire(repo) {
        Ok(l) => Ok(Some(l)),
        Err(e) => {
            lock.mark_index_lock(false)?;
            Err(e)
        }
    }
}

/// Save everything the scope names, keep it alive in the keep reflog
/// ([`keep`]), and append the fsynced `begin` record.
fn save_and_record(
    repo: &Repo,
    ui: &Ui,
    intent: &Intent,
    plan: &dyn Fn() -> Vec<String>,
    scope: &Scope,
    journal: &Journal,
    id: &str,
) -> anyhow::Result<(Begin, Option<WorktreeScan>, Vec<Change>)> {
    // Everything to keep alive, appended to the keep reflog in one go
    // before the sync that precedes the `begin` record.
    let mut kept = Kept {
        op: id.to_string(),
        entries: Vec::new(),
    };
    // What the record will name, synced just before it; the objects are
    // noted by the repository as they are written.
    let mut durable = Durable::default();
    let head = repo.head_state()?;
    let refs = save_refs(repo, scope, &mut kept)?;
    let (worktree, scan, overwrite_changes) = if scope.worktree {
        let saved = save_worktree(repo, ui, intent, scope, journal, &mut kept)?;
        (
            Some(saved.record),
            Some(saved.scan),
            saved.overwrite_changes,
        )
    } else {
        (None, None, Vec::new())
    };
    crate::trace::phase("begin: saving the index");
    let saved_index = match scope.index {
        true => Some(save_index(
            repo,
            scan.as_ref(),
            journal,
            &mut kept,
            &mut durable,
        )?),
        false => None,
    };
    let stash = match scope.stash {
        true => Some(save_stash(repo, journal, &mut kept, &mut durable)?),
        false => None,
    };
    let files = save_files(scope, journal, id, &mut durable)?;
    let recorded_scope = scope_as_recorded(scope, journal, id, &mut durable)?;
    crate::fault::point("after-save");
    crate::trace::phase("begin: keep");
    keep::append(repo, &kept.entries, &mut durable)?;
    crate::fault::point("after-keep");
    crate::trace::phase("begin: sync");
    durable.objects(repo)?;
    durable.sync()?;
    crate::trace::phase("begin: journal");
    let begin = Begin {
        v: VERSION,
        id: id.to_string(),
        time: crate::clock::rfc3339(&crate::clock::now()),
        kind: intent.kind.clone(),
        command: intent.command.clone(),
        pid: std::process::id(),
        head,
        scope: scope.clone(),
        refs,
        index: saved_index,
        worktree,
        stash,
        plan: plan(),
        undoes: intent.undoes.clone(),
        files,
    };
    crate::fault::point("before-begin");
    journal.append(&Record::Begin(Box::new(Begin {
        scope: recorded_scope,
        ..begin.clone()
    })))?;
    Ok((begin, scan, overwrite_changes))
}

/// The objects an operation keeps alive (entries of the keep reflog).
struct Kept {
    op: String,
    entries: Vec<keep::Entry>,
}

impl Kept {
    fn keep(&mut self, what: &str, oid: Oid) {
        self.entries.push(keep::Entry {
            oid,
            op: self.op.clone(),
            what: what.to_string(),
        });
    }
}

/// The old value of each ref in scope.
fn save_refs(repo: &Repo, scope: &Scope, kept: &mut Kept) -> anyhow::Result<Vec<RefValue>> {
    let mut refs = Vec::new();
    for (n, name) in scope.refs.iter().enumerate() {
        let value = repo.ref_target(name)?;
        if let Some(old) = value {
            kept.keep(&format!("ref/{n}"), old);
        }
        refs.push(RefValue {
            name: name.clone(),
            value: value.map(|v| v.to_string()),
        });
    }
    Ok(refs)
}

/// The work tree as saved: its record, the scan it came from, and the
/// changes that overwrite it with the intent's target.
struct SavedTree {
    record: SavedWorktree,
    scan: WorktreeScan,
    overwrite_changes: Vec<Change>,
}

/// Scan the work tree (all of it, or only the paths the intent knows),
/// work out what the operation will overwrite, refuse what it could not
/// write, and commit the snapshot undo writes back.
fn save_worktree(
    repo: &Repo,
    ui: &Ui,
    intent: &Intent,
    scope: &Scope,
    journal: &Journal,
    kept: &mut Kept,
) -> anyhow::Result<SavedTree> {
    let found = scan_for(repo, intent, scope)?;
    warn_unreadable(ui, &found);
    crate::trace::phase("begin: modes of overwritten files");
    let mut modes = found.modes.clone();
    let mut extra_modes = intent.extra_modes.clone();
    let mut overwritten = intent.overwrite_paths.clone();
    let mut overwrite_changes = Vec::new();
    if intent.overwrite_with.is_some() || intent.known_worktree.is_some() {
        overwrite_changes = changes_to_target(repo, intent, scope, &found)?;
        crate::trace::phase("begin: modes of paths to overwrite");
        let paths: Vec<RepoPath> = overwrite_changes.iter().map(|c| c.path.clone()).collect();
        // A known work tree's scan has the modes of all its paths.
        if intent.known_worktree.is_none() {
            extra_modes.extend(snapshot::unusual_modes(repo.workdir(), &paths));
        }
        overwritten.extend(
            overwrite_changes
                .iter()
                .filter(|c| c.old_present)
                .map(|c| c.path.clone()),
        );
    }
    if intent.scan_ignored {
        refuse_aside_across_filesystems(repo, journal.dir(), &found.ignored, &intent.preserve)?;
    }
    // A directory the command must write in and cannot is refused
    // now, before anything changes, not part-way.
    crate::trace::phase("begin: writable folders");
    crate::git::writer::check_writable(
        repo.workdir(),
        intent
            .writes
            .iter()
            .map(|(p, regular)| (p, *regular))
            .chain(
                overwrite_changes
                    .iter()
                    .map(|c| (&c.path, crate::git::writer::writes_regular_file(c))),
            ),
    )?;
    crate::trace::phase("begin: the undo tree");
    let undo_tree = undo_tree(repo, intent, &found, overwritten)?;
    crate::trace::phase("begin: the snapshot commit");
    let parents: Vec<Oid> = repo.head_commit()?.into_iter().collect();
    let commit = snapshot::commit_snapshot(
        repo,
        undo_tree,
        &parents,
        &format!(
            "rollback-sprint snapshot before `{}`\n\noperation {}\n",
            intent.command, kept.op
        ),
    )?;
    kept.keep("worktree", commit);
    crate::fault::point("after-snapshot");
    for extra in extra_modes {
        if !modes.iter().any(|m| m.path == extra.path) {
            modes.push(extra);
        }
    }
    Ok(SavedTree {
        record: SavedWorktree {
            snapshot: commit.to_string(),
            tree: undo_tree.to_string(),
            empty_dirs: found.empty_dirs.clone(),
            modes,
            untracked: found.untracked.len(),
            dirty: found.is_dirty(),
        },
        scan: found,
        overwrite_changes,
    })
}

/// Untracked directories the scan could not read are left where they are,
/// unsaved: said, with how to have them saved.
fn warn_unreadable(ui: &Ui, found: &WorktreeScan) {
    for dir in &found.unreadable {
        let dir = dir.quoted();
        ui.warn(&format!(
            "cannot read the untracked directory {dir}/: it is left where it is, \
             but not saved (chmod u+rx {dir} to have it saved)"
        ));
    }
}

/// The scan an intent asks for: of the paths it already knows, of the
/// whole work tree with ignored files, or of its scope's paths.
fn scan_for(repo: &Repo, intent: &Intent, scope: &Scope) -> anyhow::Result<WorktreeScan> {
    if let Some(known) = &intent.known_worktree {
        let now: Vec<(RepoPath, snapshot::KnownFile)> = known
            .files
            .iter()
            .map(|k| (k.path.clone(), k.now))
            .collect();
        snapshot::scan_known(repo, &now, &known.dirs)
    } else if intent.scan_ignored {
        snapshot::scan_worktree_with_ignored(repo)
    } else {
        snapshot::scan_paths_and_dirs(repo, &scope.paths, &scope.dirs)
    }
}

/// The changes that turn the scanned work tree into `target`, within the
/// scope and outside what the intent preserves.
fn changes_to_target(
    repo: &Repo,
    intent: &Intent,
    scope: &Scope,
    found: &WorktreeScan,
) -> anyhow::Result<Vec<Change>> {
    let mut changes = match &intent.known_worktree {
        // Only the known paths can change: looked up one by one.
        Some(known) => known
            .files
            .iter()
            .filter(|k| k.now != k.target)
            .filter(|k| !intent.preserve.iter().any(|p| k.path.is_at_or_under(p)))
            .map(|k| Change {
                path: k.path.clone(),
                new: k.target.map(|(mode, oid)| (oid, mode)),
                old_present: k.now.is_some(),
                old: k.now.map(|(mode, oid)| (oid, mode)),
            })
            .collect(),
        None => {
            let target = intent
                .overwrite_with
                .context("internal error: an overwrite without a target")?;
            changes_within(repo, found.tree, target, &scope.paths, &intent.preserve)?
        }
    };
    if let Some(only) = &intent.overwrite_only {
        changes.retain(|c| only.contains(&c.path));
    }
    Ok(changes)
}

/// What undo writes back: the snapshot, with the bytes on disk of the
/// clean files the operation overwrites when git converts them (end of
/// line, `ident`): those differ from their blobs. Files kept out of the
/// work tree (sparse checkout) stay out.
fn undo_tree(
    repo: &Repo,
    intent: &Intent,
    found: &WorktreeScan,
    mut overwritten: Vec<RepoPath>,
) -> anyhow::Result<Oid> {
    let mut tree = found.tree;
    // Known files are known by the blob of their bytes on disk already.
    // Only attribute files above the overwritten paths can apply to them
    // (walking the whole tree for one costs 25 ms per 100,000 files), and
    // only the files a converting rule may apply to are read.
    if !overwritten.is_empty() && intent.known_worktree.is_none() {
        let smudge =
            repo.checkout_conversions(&[found.tree, found.index_tree], false, &overwritten)?;
        if !smudge.is_never() {
            let read: std::collections::HashSet<&RepoPath> =
                found.modified.iter().chain(&found.untracked).collect();
            overwritten.retain(|p| smudge.applies(p) && !read.contains(p));
            tree = snapshot::with_disk_bytes(repo, found.tree, &overwritten)?;
        }
    }
    snapshot::without_paths(repo, tree, &found.absent_flagged)
}

/// A byte copy of the index, its objects kept alive.
fn save_index(
    repo: &Repo,
    scan: Option<&WorktreeScan>,
    journal: &Journal,
    kept: &mut Kept,
    durable: &mut Durable,
) -> anyhow::Result<SavedIndex> {
    let keepalive = match scan {
        Some(s) => s.index_keepalive,
        None => index::index_trees(repo)?.keepalive,
    };
    kept.keep("index", keepalive_commit(repo, keepalive)?);
    let existed = save_index_copy(repo, &journal.op_dir(&kept.op).join("index"), durable)?;
    Ok(SavedIndex {
        existed,
        keepalive: Some(keepalive.to_string()),
    })
}

/// `refs/stash` and a byte copy of its reflog, every entry kept alive.
fn save_stash(
    repo: &Repo,
    journal: &Journal,
    kept: &mut Kept,
    durable: &mut Durable,
) -> anyhow::Result<SavedStash> {
    let value = repo.ref_target("refs/stash")?;
    let reflog_path = repo.common_dir().join("logs/refs/stash");
    let reflog = match fs::read(&reflog_path) {
        Ok(bytes) => {
            durable.write(&journal.op_dir(&kept.op).join("stash-reflog"), &bytes)?;
            keep_stash_entries(repo, &bytes, &mut |what: &str, oid: Oid| {
                kept.keep(what, oid)
            });
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).context("could not read the stash reflog"),
    };
    Ok(SavedStash {
        value: value.map(|v| v.to_string()),
        reflog,
    })
}

/// A byte copy of each of the tool's own files in scope.
fn save_files(
    scope: &Scope,
    journal: &Journal,
    id: &str,
    durable: &mut Durable,
) -> anyhow::Result<Vec<SavedFile>> {
    let mut files = Vec::new();
    for name in &scope.files {
        let path = journal.dir().join(name);
        let existed = match fs::read(&path) {
            Ok(bytes) => {
                durable.write(&journal.op_dir(id).join("files").join(name), &bytes)?;
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        files.push(SavedFile {
            name: name.clone(),
            existed,
        });
    }
    Ok(files)
}

/// The scope as the `begin` record holds it: a long path list goes to a
/// file of its own, durable with the rest.
fn scope_as_recorded(
    scope: &Scope,
    journal: &Journal,
    id: &str,
    durable: &mut Durable,
) -> anyhow::Result<Scope> {
    let mut recorded = scope.clone();
    if scope.paths.len() > super::INLINE_PATHS {
        let mut bytes = Vec::new();
        for p in &scope.paths {
            bytes.extend_from_slice(p.as_bytes());
            bytes.push(0);
        }
        durable.write(&journal.op_dir(id).join(super::PATHS_FILE), &bytes)?;
        recorded.paths = Vec::new();
        recorded.paths_file = true;
    }
    Ok(recorded)
}

/// Remove what a `begin` that never wrote its record left: its entries in
/// the keep reflog (and keep-alive refs `refs/rollback/<id>/…` a 0.1.0
/// build may have left) and `ops/<id>/`. Best effort: what cannot be
/// removed now stays marked and is removed by the next operation.
fn discard_unrecorded(repo: &Repo, journal: &Journal, id: &str) {
    discard_all_unrecorded(repo, journal, &[id.to_string()]);
}

fn discard_all_unrecorded(repo: &Repo, journal: &Journal, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let set: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let kept_removed = keep::remove(repo, &set).is_ok();
    for id in ids {
        if let Ok(refs) = repo.refs_with_prefix(&format!("refs/rollback/{id}/")) {
            for (name, _) in refs {
                let _ = repo.force_ref(&name, None, "rollback-sprint: discard unrecorded snapshot");
            }
        }
        let legacy_gone = repo
            .refs_with_prefix(&format!("refs/rollback/{id}/"))
            .is_ok_and(|r| r.is_empty());
        if kept_removed && legacy_gone {
            let _ = fs::remove_dir_all(journal.op_dir(id));
            let _ = fs::remove_file(preparing_marker(journal, id));
        }
    }
}

/// Operations killed before their `begin` record (a crash, a power loss)
/// leave keep-reflog entries no journal entry names: remove them. Runs
/// under the lock, so no `begin` of this work tree is under way; only
/// operations marked [`PREPARING`] are touched, never a snapshot of an
/// operation recorded in a journal set aside.
fn sweep_unrecorded(repo: &Repo, journal: &Journal, history: &super::History) {
    let Ok(entries) = fs::read_dir(journal.dir().join(PREPARING)) else {
        return;
    };
    let marked: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    if marked.is_empty() {
        return;
    }
    // A marked operation is rare (a crash): only then is the whole journal
    // read when the newest part does not name it.
    let whole;
    let history = if history.is_partial() {
        match journal.history() {
            Ok(h) => {
                whole = h;
                &*whole
            }
            Err(_) => return,
        }
    } else {
        history
    };
    let mut ids = Vec::new();
    for id in marked {
        if history.contains(&id) {
            // Recorded: the marker outlived a crash right after the record.
            let _ = fs::remove_file(preparing_marker(journal, &id));
        } else {
            ids.push(id);
        }
    }
    discard_all_unrecorded(repo, journal, &ids);
}

/// `from` → `to`, kept to `paths` (all when empty) and away from `preserve`.
/// Up to this many paths, a comparison of trees is given them as a
/// pathspec (libgit2 matches each path against each of them).
const PATHSPEC_UP_TO: usize = 1_000;

fn changes_within(
    repo: &Repo,
    from: Oid,
    to: Oid,
    paths: &[RepoPath],
    preserve: &[RepoPath],
) -> anyhow::Result<Vec<crate::git::writer::Change>> {
    // Thousands of paths (an undo of a large rollback): looked up by each
    // change's path and its parents, not compared one by one. A few (files
    // restoring some paths): only their trees are compared.
    let within: std::collections::HashSet<&RepoPath> = paths.iter().collect();
    let whole = paths.is_empty() || paths.iter().any(|p| p.as_bytes().is_empty());
    let mut changes = if !whole && paths.len() <= PATHSPEC_UP_TO {
        crate::git::writer::tree_changes_under(repo, from, to, paths)?
    } else {
        crate::git::writer::tree_changes(repo, from, to)?
    };
    changes.retain(|c| {
        (whole || within.contains(&c.path) || c.path.ancestors().iter().any(|a| within.contains(a)))
            && !preserve.iter().any(|p| c.path.is_at_or_under(p))
    });
    Ok(changes)
}

/// Ignored files are moved aside under `<git-dir>/rollback/` with a rename
/// (docs/invariants.md, I3): instant, and nothing is copied or deleted. A
/// rename cannot cross filesystems, and a linked worktree (or a folder mounted
/// inside the work tree) can be on another one than the git directory: found at
/// the first move, after the reset, it stopped the command part-way. Refused
/// here instead, before anything changes, naming the first such path.
pub(crate) fn refuse_aside_across_filesystems(
    repo: &Repo,
    aside_root: &std::path::Path,
    ignored: &[RepoPath],
    preserve: &[RepoPath],
) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if ignored.is_empty() {
        return Ok(());
    }
    // The aside folder may not exist yet: the nearest folder that does.
    let Some(target) = aside_root
        .ancestors()
        .find_map(|dir| fs::metadata(dir).ok())
        .map(|m| m.dev())
    else {
        return Ok(());
    };
    let mut parents = std::collections::HashMap::new();
    for path in ignored {
        if preserve.iter().any(|p| path.is_at_or_under(p)) {
            continue;
        }
        let full = path.under(repo.workdir());
        let parent = full.parent().map(std::path::Path::to_path_buf);
        let parent_dev = match &parent {
            Some(dir) => *parents
                .entry(dir.clone())
                .or_insert_with(|| fs::metadata(dir).map(|m| m.dev()).ok()),
            None => None,
        };
        // The path itself too: a folder that is a mount point is on its
        // own filesystem and cannot be renamed away either.
        let own_dev = fs::symlink_metadata(&full).map(|m| m.dev()).ok();
        if [parent_dev, own_dev]
            .iter()
            .flatten()
            .any(|dev| *dev != target)
        {
            return Err(user(format!(
                "--clean-ignored cannot move the ignored {} aside: it is on another filesystem than {}, and moving it there is a rename",
                path.quoted(),
                crate::ui::quote(&aside_root.display().to_string())
            ))
            .hint("run it without --clean-ignored (ignored files then stay where they are); nothing was changed")
            .into());
        }
    }
    Ok(())
}

/// Mark an interrupted operation as dismissed: the state stays as it is and
/// the operation can still be undone by id.
pub fn dismiss(repo: &Repo, op: &Operation, command: &str) -> anyhow::Result<()> {
    let journal = Journal::for_repo(repo);
    let (_lock, _) = lock::acquire(journal.dir(), command)?;
    journal.append(&Record::End(Box::new(End {
        v: VERSION,
        id: op.begin.id.clone(),
        time: crate::clock::rfc3339(&crate::clock::now()),
        outcome: EndOutcome::Dismissed,
        error: None,
        head: repo.head_state().ok(),
        refs: Vec::new(),
        duration_ms: 0,
        details: serde_json::Map::new(),
        after: None,
    })))?;
    // A crash while we held git's index lock leaves it behind.
    if op.begin.scope.index || op.begin.scope.worktree {
        let _ = fs::remove_file(repo.git_dir().join("index.lock"));
    }
    Ok(())
}

/// Keep the index file as it is at `dest`; false when there is no index.
///
/// A hard link when possible: git, libgit2 and this tool never write an
/// index in place but write a new file and rename it over the old one, so
/// the linked file keeps the old bytes once the index is replaced, at no
/// cost for a large index. Where a link cannot be made (another
/// filesystem, no hard links, the index a symlink), the bytes are copied.
/// Either way the file (the index's own data, when linked: git does not
/// sync it) and its directory entry are noted in `durable`.
pub(super) fn save_index_copy(
    repo: &Repo,
    dest: &std::path::Path,
    durable: &mut Durable,
) -> anyhow::Result<bool> {
    let path = repo.git_dir().join("index");
    let regular = match fs::symlink_metadata(&path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).context("could not read the index"),
    };
    if let Some(dir) = dest.parent() {
        durable.create_dir_all(dir)?;
    }
    if regular && fs::hard_link(&path, dest).is_ok() {
        durable.file(dest);
        return Ok(true);
    }
    let _ = fs::remove_file(dest);
    match index::read_index_file(repo)? {
        Some(bytes) => {
            durable.write(dest, &bytes)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Trees cannot be the target of some tools' ref listings; wrap the index's
/// keep-alive tree in a commit so the ref is an ordinary commit ref.
fn keepalive_commit(repo: &Repo, tree: Oid) -> anyhow::Result<Oid> {
    snapshot::commit_snapshot(
        repo,
        tree,
        &[],
        "rollback-sprint: objects of the saved index\n",
    )
}

/// Stash entries are reachable through the stash reflog only; keep each
/// alive, so undo can bring back a dropped entry after gc.
fn keep_stash_entries(repo: &Repo, reflog: &[u8], keep: &mut impl FnMut(&str, Oid)) {
    let text = String::from_utf8_lossy(reflog);
    for (n, line) in text.lines().enumerate() {
        if let Some(new) = line.split(' ').nth(1) {
            if let Ok(oid) = parse_oid(new) {
                if !oid.is_zero() && repo.has_object(oid) {
                    keep(&format!("stash/{n}"), oid);
                }
            }
        }
    }
}

/// Twelve random hexadecimal digits (docs/journal.md, Ids): short to type, and
/// checked against every id in the journal and every operation folder, so
/// two operations never share one. (Journals written by 0.1.0 hold ids of
/// the form `YYYYMMDD_HHMMSS-xxxxxx`; they keep working.)
fn new_id(journal: &Journal, history: &super::History) -> String {
    loop {
        let mut bytes = [0u8; 6];
        let random = fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .is_ok();
        if !random {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
                ^ u128::from(std::process::id()) << 64;
            let mixed = nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
            bytes.copy_from_slice(&mixed.to_be_bytes()[..6]);
        }
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if !history.contains(&id) && fs::symlink_metadata(journal.op_dir(&id)).is_err() {
            return id;
        }
    }
}

impl Transaction<'_> {
    /// Set and remove entries of an index read before the operation began
    /// (the one `Intent::index_source` names), write it to its private file
    /// and replace the index with it, releasing our lock. `set` holds path,
    /// object and mode; the entries' stat data is read from the work tree,
    /// or kept from the index where the entry is unchanged and the file
    /// was not `written` (as git's checkout keeps it).
    pub fn write_edited_index(
        &mut self,
        edited: &mut crate::git::index::EditableIndex,
        set: &[(Vec<u8>, Oid, u32)],
        remove: &[Vec<u8>],
        written: &std::collections::HashSet<&[u8]>,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.begin.scope.index,
            "internal error: the index is not in scope"
        );
        // The whole index is the edited index's own from here.
        self.repo.index_file.borrow_mut().take();
        let path = edited.write_with(self.repo.workdir(), set, remove, written)?;
        self.write_index_file(path)
    }
}
