//! Undo: put back exactly what an operation's `begin` record saved (I2).
//!
//! Undo is itself a transaction with the same scope as the operation it
//! undoes, so the state it replaces is saved first — work done since the
//! operation is never lost, and undoing the undo is a redo. Reports under
//! the reports folder are left as they are (I8).

use std::fmt;
use std::fs;

use anyhow::Context as _;

use super::after::RemovedStash;
use super::{threeway, History, Intent, Operation, SavedFile, SavedStash, Transaction};
use crate::commands::Context;
use crate::error::{user, Exit};
use crate::git::writer::Extras;
use crate::git::{parse_oid, short, HeadState, Oid, Repo, RepoPath};
use crate::plan::{Execute, Plan, Step};
use crate::ui::Ui;

/// What undo found to be in the way, unless forced.
#[derive(Debug, Default)]
pub struct Blockers {
    pub lines: Vec<String>,
}

/// Reasons not to undo without `--force`: for a three-way undo, each thing
/// the operation changed that changed again since; for a whole undo, refs
/// moved since and later operations over the same things.
pub fn blockers(repo: &Repo, history: &History, target: &Operation) -> anyhow::Result<Blockers> {
    if is_three_way(target) {
        return Ok(Blockers {
            lines: analyze(repo, history, target, false)?.conflicts,
        });
    }
    whole_blockers(repo, history, target)
}

fn whole_blockers(repo: &Repo, history: &History, target: &Operation) -> anyhow::Result<Blockers> {
    let ops = history.ops();
    let mut blockers = Blockers::default();
    if let Some(by) = history.undone_by(target) {
        blockers.lines.push(format!(
            "{} was already undone by {} (undo that to redo it)",
            target.id(),
            by.id()
        ));
    }
    if let Some(end) = &target.end {
        for after in &end.refs {
            let now = repo.ref_target(&after.name)?.map(|v| v.to_string());
            if now != after.value {
                let before = target
                    .begin
                    .refs
                    .iter()
                    .find(|r| r.name == after.name)
                    .and_then(|r| r.value.clone());
                let what = if before.is_none() {
                    "was created by it and has changed since (new commits would be left only in the journal)"
                } else {
                    "has moved since"
                };
                blockers.lines.push(format!("{} {what}", after.name));
            }
        }
    }
    let position = ops.iter().position(|o| o.id() == target.id()).unwrap_or(0);
    for later in &ops[position + 1..] {
        if later.begin.undoes.as_deref() == Some(target.id()) || history.undone_by(later).is_some()
        {
            continue;
        }
        // An undo of an operation later than the target cancels that
        // operation out: neither of them is in the way.
        if let Some(undone) = &later.begin.undoes {
            let undone_at = ops.iter().position(|o| o.id() == undone);
            if undone_at.is_some_and(|at| at > position) {
                continue;
            }
        }
        if later.begin.scope.overlaps(&target.begin.scope) {
            blockers.lines.push(format!(
                "a later operation, {} (`{}`), changed the same things",
                later.id(),
                later.begin.command
            ));
        }
    }
    Ok(blockers)
}

/// One step of an undo, in the order undo puts things back: what its dry
/// run, its journal `begin` record and its summary show, and what is put
/// back. A three-way undo's steps come from its [`threeway::Analysis`], a
/// whole undo's from the operation's `begin` record.
#[derive(Debug)]
pub enum UndoStep {
    /// Three-way: write back the paths the operation changed that did not
    /// change since (shown when there are paths; the empty directories
    /// are put back even without).
    RestorePaths(ChosenPaths),
    /// Whole: the work tree as the operation's snapshot has it. `differ`,
    /// the number of paths that differ now, is counted for a dry run only
    /// (a full comparison of the work tree).
    RestoreSnapshot {
        snapshot: String,
        differ: Option<usize>,
    },
    /// Move the paths the operation set aside back into place: a whole
    /// undo counts them (and shows nothing when there are none).
    MoveBack {
        count: Option<usize>,
    },
    Index(IndexStep),
    /// Three-way: drop a stash entry the operation pushed.
    DropStash(String),
    /// Three-way: put back a stash entry the operation removed.
    PutBackStash(RemovedStash),
    /// Whole: `refs/stash` and its reflog as they were.
    RestoreStash(SavedStash),
    /// The tool's own state files (not shown: they follow from the rest).
    StateFiles(Vec<SavedFile>),
    /// Set a ref back (`None`: delete it). A whole undo sets every ref of
    /// the scope and shows those that differ now.
    SetRef {
        name: String,
        value: Option<Oid>,
        shown: bool,
    },
    /// Point HEAD back; a whole undo shows it only when it differs now.
    Head {
        to: HeadState,
        shown: bool,
    },
    /// Mark the metrics entry of the operation undone (or redone).
    Metrics,
    /// Shown when no other step is: the undo is still recorded.
    NothingDiffers,
}

/// The work-tree paths and empty directories a three-way undo writes back.
#[derive(Debug, Default)]
pub struct ChosenPaths {
    pub paths: Vec<RepoPath>,
    pub dirs_to_make: Vec<RepoPath>,
    pub dirs_to_remove: Vec<RepoPath>,
}

/// What undo does with the index.
#[derive(Debug)]
pub enum IndexStep {
    /// Three-way: the index is as the operation left it, or out of scope.
    Keep,
    /// Three-way: the saved index, linked into place (`existed`: there was one).
    Exact { existed: bool },
    /// Three-way: these paths' entries set back, the others kept.
    Merge(Vec<(Vec<u8>, Vec<git2::IndexEntry>)>),
    /// Whole: the saved index written back byte for byte, or removed.
    Whole { existed: bool },
}

impl fmt::Display for UndoStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UndoStep::RestorePaths(chosen) => write!(
                f,
                "restore {} work-tree path(s) the operation changed (the current state is saved first)",
                chosen.paths.len()
            ),
            UndoStep::RestoreSnapshot { snapshot, differ } => {
                let differ = differ.map_or(String::new(), |n| format!("{n} path(s) differ now; "));
                write!(
                    f,
                    "restore the work tree to snapshot {} ({differ}the current state is saved first)",
                    short(snapshot)
                )
            }
            UndoStep::MoveBack { count: Some(n) } => {
                write!(f, "move the {n} path(s) it set aside back into place")
            }
            UndoStep::MoveBack { count: None } => {
                f.write_str("move the paths it set aside back into place")
            }
            UndoStep::Index(IndexStep::Keep) => f.write_str("keep the index as it is"),
            UndoStep::Index(IndexStep::Exact { .. } | IndexStep::Whole { existed: true }) => {
                f.write_str("restore the index file byte for byte")
            }
            UndoStep::Index(IndexStep::Whole { existed: false }) => {
                f.write_str("remove the index (there was none)")
            }
            UndoStep::Index(IndexStep::Merge(entries)) => write!(
                f,
                "restore the index entries of {} path{} the operation changed, keeping the others as they are now",
                entries.len(),
                if entries.len() == 1 { "" } else { "s" }
            ),
            UndoStep::DropStash(oid) => {
                write!(f, "drop the stash entry it pushed ({})", short(oid))
            }
            UndoStep::PutBackStash(entry) => write!(
                f,
                "put back the stash entry it removed (stash@{{{}}}: {})",
                entry.position,
                entry.line.split('\t').nth(1).unwrap_or("").trim()
            ),
            UndoStep::RestoreStash(stash) => write!(
                f,
                "restore the stash list (refs/stash {})",
                stash.value.as_deref().map_or("absent", short)
            ),
            UndoStep::StateFiles(_) => f.write_str("restore the tool's saved state files"),
            UndoStep::SetRef {
                name,
                value: Some(v),
                ..
            } => write!(f, "set {name} to {}", short(&v.to_string())),
            UndoStep::SetRef {
                name, value: None, ..
            } => write!(f, "delete {name}"),
            UndoStep::Head { to, .. } => write!(f, "point HEAD at {}", to.describe()),
            UndoStep::Metrics => f.write_str("mark the operation's metrics entry"),
            UndoStep::NothingDiffers => f.write_str("nothing differs from the state before it"),
        }
    }
}

impl Step for UndoStep {
    fn shown(&self) -> bool {
        match self {
            UndoStep::RestorePaths(chosen) => !chosen.paths.is_empty(),
            UndoStep::MoveBack { count } => *count != Some(0),
            UndoStep::Index(IndexStep::Keep) | UndoStep::StateFiles(_) | UndoStep::Metrics => false,
            UndoStep::SetRef { shown, .. } | UndoStep::Head { shown, .. } => *shown,
            _ => true,
        }
    }
}

/// The steps of a three-way undo, from what the analysis found.
fn three_way_steps(target: &Operation, analysis: threeway::Analysis) -> Vec<UndoStep> {
    let mut steps = Vec::new();
    if target.begin.worktree.is_some() {
        steps.push(UndoStep::RestorePaths(ChosenPaths {
            paths: analysis.paths,
            dirs_to_make: analysis.dirs_to_make,
            dirs_to_remove: analysis.dirs_to_remove,
        }));
    }
    if analysis.move_back {
        steps.push(UndoStep::MoveBack { count: None });
    }
    steps.push(UndoStep::Index(match analysis.index {
        threeway::IndexPlan::Keep => IndexStep::Keep,
        threeway::IndexPlan::Exact => IndexStep::Exact {
            existed: target.begin.index.as_ref().is_some_and(|i| i.existed),
        },
        threeway::IndexPlan::Merge(entries) => IndexStep::Merge(entries),
    }));
    steps.extend(analysis.stash.drop.into_iter().map(UndoStep::DropStash));
    steps.extend(
        analysis
            .stash
            .put_back
            .into_iter()
            .map(UndoStep::PutBackStash),
    );
    if !target.begin.files.is_empty() {
        steps.push(UndoStep::StateFiles(target.begin.files.clone()));
    }
    steps.extend(
        analysis
            .refs
            .into_iter()
            .map(|(name, value)| UndoStep::SetRef {
                name,
                value,
                shown: true,
            }),
    );
    if let Some(head) = analysis.head {
        steps.push(UndoStep::Head {
            to: head,
            shown: true,
        });
    }
    finish_steps(steps)
}

/// The steps of a whole undo: everything the `begin` record saved. With
/// `count` (a dry run), the paths that differ from the snapshot now are
/// counted.
fn whole_steps(repo: &Repo, target: &Operation, count: bool) -> anyhow::Result<Vec<UndoStep>> {
    let begin = &target.begin;
    let mut steps = Vec::new();
    if let Some(wt) = &begin.worktree {
        let differ = if count {
            Some(current_differences(repo, &wt.tree)?)
        } else {
            None
        };
        steps.push(UndoStep::RestoreSnapshot {
            snapshot: wt.snapshot.clone(),
            differ,
        });
    }
    steps.push(UndoStep::MoveBack {
        count: Some(target.moved.len()),
    });
    steps.push(UndoStep::Index(match &begin.index {
        Some(saved) => IndexStep::Whole {
            existed: saved.existed,
        },
        None => IndexStep::Keep,
    }));
    if let Some(stash) = &begin.stash {
        steps.push(UndoStep::RestoreStash(stash.clone()));
    }
    if !begin.files.is_empty() {
        steps.push(UndoStep::StateFiles(begin.files.clone()));
    }
    for r in &begin.refs {
        let now = repo.ref_target(&r.name)?.map(|v| v.to_string());
        steps.push(UndoStep::SetRef {
            name: r.name.clone(),
            value: r.value.as_deref().map(parse_oid).transpose()?,
            shown: now != r.value,
        });
    }
    if begin.scope.head {
        steps.push(UndoStep::Head {
            to: begin.head.clone(),
            shown: repo.head_state()? != begin.head,
        });
    }
    Ok(finish_steps(steps))
}

/// The metrics mark ends every undo; a plan that shows nothing else says
/// that nothing differs (the undo is recorded all the same).
fn finish_steps(mut steps: Vec<UndoStep>) -> Vec<UndoStep> {
    steps.push(UndoStep::Metrics);
    if !steps.iter().any(Step::shown) {
        steps.push(UndoStep::NothingDiffers);
    }
    steps
}

/// How many paths of the work tree differ from a snapshot tree, computed
/// without writing anything (for the dry run).
fn current_differences(repo: &Repo, tree: &str) -> anyhow::Result<usize> {
    crate::git::snapshot::paths_differing_from(repo, parse_oid(tree)?)
}

/// Check that every object the operation's records name is still there.
pub fn check_objects(repo: &Repo, target: &Operation) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    if let Some(wt) = &target.begin.worktree {
        for id in [&wt.snapshot, &wt.tree] {
            if !repo.has_object(parse_oid(id)?) {
                missing.push(id.clone());
            }
        }
    }
    for r in &target.begin.refs {
        if let Some(v) = &r.value {
            if !repo.has_object(parse_oid(v)?) {
                missing.push(v.clone());
            }
        }
    }
    // The saved files, too: a missing one would stop the undo half-way.
    let op_dir = super::Journal::for_repo(repo).op_dir(target.id());
    let mut files = Vec::new();
    if target.begin.index.as_ref().is_some_and(|i| i.existed) {
        files.push(op_dir.join("index"));
    }
    if target.begin.stash.as_ref().is_some_and(|s| s.reflog) {
        files.push(op_dir.join("stash-reflog"));
    }
    for saved in target.begin.files.iter().filter(|f| f.existed) {
        files.push(op_dir.join("files").join(&saved.name));
    }
    for file in files {
        if !file.exists() {
            return Err(user(format!(
                "operation {} cannot be undone: its saved file {} is missing",
                target.id(),
                file.display()
            ))
            .hint("it was deleted from the journal's folder; nothing was changed")
            .into());
        }
    }
    if !missing.is_empty() {
        return Err(user(format!(
            "operation {} cannot be undone: its snapshot objects are missing ({})",
            target.id(),
            missing.join(", ")
        ))
        .hint("its keep-reflog entries (refs/rollback/keep/) were expired or deleted and the objects pruned; nothing was changed")
        .into());
    }
    Ok(())
}

/// Whether undo of `op` is three-way: it ended and its `end` record says
/// what it left. An interrupted operation, and one written down by 0.1.0,
/// are undone whole: the state saved before it is put back.
pub fn is_three_way(op: &Operation) -> bool {
    op.end.as_ref().is_some_and(|e| e.after.is_some())
}

/// What undo of `target` would do, thing by thing (three-way only).
pub fn analyze(
    repo: &Repo,
    history: &History,
    target: &Operation,
    force: bool,
) -> anyhow::Result<threeway::Analysis> {
    let mut analysis = threeway::analyze(repo, &super::Journal::for_repo(repo), target, force)?;
    if let Some(by) = history.undone_by(target) {
        analysis.conflicts.insert(
            0,
            format!(
                "{} was already undone by {} (`git rollback-sprint redo` or `undo {}` brings it back)",
                target.id(),
                by.id(),
                by.id()
            ),
        );
    }
    Ok(analysis)
}

/// How an undo's plan is carried out: the operation it undoes, the
/// transaction it begins, and the stash changes gathered to be written in
/// one pass.
pub struct Undoing<'a> {
    history: &'a History,
    target: &'a Operation,
    reports_dir: &'a str,
    /// `None` for a dry run, which begins nothing.
    intent: Option<Intent>,
    stash: threeway::StashPlan,
}

/// Plan the undo of `target` (docs/invariants.md, I2), refusals first:
/// three-way, only what it changed and what did not change since is put
/// back, and anything else changed since is refused, named, unless
/// `force`; an operation without an `after` record is undone whole. A dry
/// run checks what the command's dry run always checked and counts the
/// paths a whole undo would change; a real run also checks the saved
/// objects and the reports folder, and says what its transaction saves.
pub fn prepare<'a>(
    repo: &Repo,
    history: &'a History,
    target: &'a Operation,
    reports_dir: &'a str,
    command: &str,
    force: bool,
    dry_run: bool,
) -> anyhow::Result<(Plan<UndoStep>, Undoing<'a>)> {
    if !dry_run {
        check_objects(repo, target)?;
    }
    // Before the work tree is looked at: a file changed after this is not
    // what the analysis found (see `KnownWorktree::since`).
    let looked_at = std::time::SystemTime::now();
    let analysis = if is_three_way(target) {
        let analysis = analyze(repo, history, target, force)?;
        if !analysis.conflicts.is_empty() && !force {
            return Err(blocked_error(
                target,
                &Blockers {
                    lines: analysis.conflicts,
                },
            ));
        }
        Some(analysis)
    } else {
        let blockers = blockers(repo, history, target)?;
        if !blockers.lines.is_empty() && !force {
            return Err(blocked_error(target, &blockers));
        }
        None
    };
    check_other_worktrees(repo, target)?;
    let intent = if dry_run {
        None
    } else {
        // Its metrics entry is marked: never through a symlinked folder.
        let (original, _) = history.original_of(target);
        let metrics = original
            .end
            .as_ref()
            .is_some_and(|end| end.details.get("metrics") == Some(&serde_json::Value::Bool(true)));
        if metrics {
            crate::reports_folder::check(repo.workdir(), reports_dir)?;
        }
        Some(undo_intent(
            repo,
            history,
            target,
            analysis.as_ref(),
            reports_dir,
            command,
            looked_at,
        )?)
    };
    let steps = match analysis {
        Some(analysis) => three_way_steps(target, analysis),
        None => whole_steps(repo, target, dry_run)?,
    };
    let mut plan = Plan::new();
    plan.steps = steps;
    let undoing = Undoing {
        history,
        target,
        reports_dir,
        intent,
        stash: threeway::StashPlan::default(),
    };
    Ok((plan, undoing))
}

/// The undo's transaction: the scope of the operation it undoes, narrowed
/// for a three-way undo to the paths it writes back, which the analysis
/// already looked at.
fn undo_intent(
    repo: &Repo,
    history: &History,
    target: &Operation,
    analysis: Option<&threeway::Analysis>,
    reports_dir: &str,
    command: &str,
    looked_at: std::time::SystemTime,
) -> anyhow::Result<Intent> {
    // Undoing an undo re-applies what it undid: a redo.
    let kind = if history.original_of(target).1 % 2 == 1 {
        "redo"
    } else {
        "undo"
    };
    let mut scope = target.begin.scope.clone();
    scope.paths = super::Journal::for_repo(repo).scope_paths(&target.begin)?;
    scope.paths_file = false;
    let mut known = None;
    if let (Some(a), true) = (analysis, scope.worktree) {
        // Within the operation's own paths: what it moved aside outside
        // them (a file in the way of a directory it wrote) goes back by
        // moving it back, not by writing it from the snapshot.
        let within = |p: &crate::git::RepoPath| {
            scope.paths.is_empty() || scope.paths.iter().any(|s| p.is_at_or_under(s))
        };
        let files: Vec<super::KnownPath> = a
            .paths
            .iter()
            .zip(a.now.iter().zip(&a.before))
            .filter(|(path, _)| within(path))
            .map(|(path, (now, before))| super::KnownPath {
                path: path.clone(),
                now: now.map(|f| (f.mode, f.oid)),
                target: before.map(|f| (f.mode, f.oid)),
            })
            .collect();
        if !files.is_empty() {
            // The undo's own snapshot is what the analysis found at the
            // paths it writes: nothing else of the work tree is read, and
            // undoing the undo writes back only those paths.
            scope.paths = files.iter().map(|k| k.path.clone()).collect();
            scope.dirs = a
                .dirs_to_make
                .iter()
                .chain(&a.dirs_to_remove)
                .cloned()
                .collect();
            known = Some(super::KnownWorktree {
                files,
                dirs: scope.dirs.clone(),
                since: looked_at,
            });
        } else if a.paths.is_empty() && a.dirs_to_make.is_empty() && a.dirs_to_remove.is_empty() {
            // Nothing in the work tree to put back.
            scope.worktree = false;
        }
    }
    let mut intent = Intent::new(kind, command, scope);
    intent.undoes = Some(target.id().to_string());
    intent.allow_interrupted = true;
    intent.known_worktree = known;
    if let Some(wt) = &target.begin.worktree {
        // `rescue restore` wrote only new files of its own, by default in
        // the reports folder: undo takes exactly those away (its scope's
        // paths), and a redo writes them again. Every other operation's
        // undo leaves the reports folder as it is (docs/invariants.md, I8).
        if history.original_of(target).0.begin.kind != super::RESCUE_KIND {
            intent.preserve = vec![crate::settings::reports_path(reports_dir)];
        }
        match analysis {
            Some(a) if a.paths.is_empty() => {}
            Some(a) => {
                intent.overwrite_with = Some(parse_oid(&wt.tree)?);
                intent.overwrite_only = Some(a.paths.iter().cloned().collect());
            }
            None => intent.overwrite_with = Some(parse_oid(&wt.tree)?),
        }
    }
    Ok(intent)
}

impl Execute<UndoStep> for Undoing<'_> {
    type Done = ();

    fn intent(&self, _ctx: &Context) -> anyhow::Result<Intent> {
        self.intent
            .clone()
            .context("internal error: the plan of a dry run of undo was carried out")
    }

    /// Each step in the order of the plan, which is the order the crash
    /// tests' kill points name: the work tree, paths set aside, the index,
    /// the stash, the tool's files, refs, HEAD, and the metrics entry.
    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &UndoStep,
    ) -> anyhow::Result<()> {
        let target = self.target;
        let journal_dir = tx.journal().dir().to_path_buf();
        if !matches!(step, UndoStep::DropStash(_) | UndoStep::PutBackStash(_)) {
            self.write_stash(tx)?;
        }
        match step {
            UndoStep::RestorePaths(chosen) => {
                if let (Some(saved), Some(_)) = (&target.begin.worktree, tx.scan()) {
                    let exact = self.undoes_rescue();
                    write_worktree(tx, saved, Some(chosen), exact, &ctx.ui)?;
                }
            }
            UndoStep::RestoreSnapshot { .. } => {
                if let Some(saved) = &target.begin.worktree {
                    let exact = self.undoes_rescue();
                    write_worktree(tx, saved, None, exact, &ctx.ui)?;
                }
            }
            UndoStep::MoveBack { .. } => move_back(tx, target)?,
            UndoStep::Index(index) => restore_index(tx, target, index, &journal_dir)?,
            UndoStep::DropStash(oid) => self.stash.drop.push(oid.clone()),
            UndoStep::PutBackStash(entry) => self.stash.put_back.push(entry.clone()),
            UndoStep::RestoreStash(stash) => restore_stash(tx, target, stash, &journal_dir)?,
            UndoStep::StateFiles(files) => {
                for saved in files {
                    restore_file(target, saved, &journal_dir)?;
                }
            }
            UndoStep::SetRef { name, value, .. } => tx.force_ref(name, *value)?,
            UndoStep::Head { to, .. } => tx.set_head(to)?,
            UndoStep::Metrics => {
                crate::trace::phase("undo: metrics");
                mark_metrics(tx, self.history, target, self.reports_dir, &ctx.ui);
                crate::trace::phase("undo: done");
            }
            UndoStep::NothingDiffers => {}
        }
        Ok(())
    }

    fn done(&mut self, _ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<()> {
        self.write_stash(tx)
    }
}

impl Undoing<'_> {
    /// Whether the operation undone (or redone) is a `rescue restore`.
    fn undoes_rescue(&self) -> bool {
        self.history.original_of(self.target).0.begin.kind == super::RESCUE_KIND
    }

    /// The stash entries gathered from the steps before, dropped and put
    /// back in one pass over the stash list, each where it was.
    fn write_stash(&mut self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        let stash = std::mem::take(&mut self.stash);
        threeway::apply_stash(tx.repo(), &stash)
    }
}

/// Put the index back as `step` says (see [`IndexStep`]).
fn restore_index(
    tx: &mut Transaction<'_>,
    target: &Operation,
    step: &IndexStep,
    journal_dir: &std::path::Path,
) -> anyhow::Result<()> {
    crate::trace::phase("undo: index");
    let saved = journal_dir.join("ops").join(target.id()).join("index");
    let read_saved = || {
        fs::read(&saved).with_context(|| format!("the saved index {} is missing", saved.display()))
    };
    match step {
        IndexStep::Keep => {}
        IndexStep::Exact { existed } => {
            // The saved file itself, linked into place as git renames a
            // new index into place: nothing rewrites an index file in
            // place, so the saved copy stays as it is.
            let linked = journal_dir.join("ops").join(tx.id()).join("index-restored");
            if *existed && fs::hard_link(&saved, &linked).is_ok() {
                tx.write_index_file(&linked)?;
            } else {
                let bytes = if *existed { Some(read_saved()?) } else { None };
                tx.write_index(bytes.as_deref())?;
            }
        }
        IndexStep::Merge(entries) => {
            let merged = journal_dir.join("ops").join(tx.id()).join("index-merged");
            threeway::write_merged_index(tx.repo(), entries, &merged)?;
            tx.write_index_file(&merged)?;
        }
        IndexStep::Whole { existed } => {
            let bytes = if *existed { Some(read_saved()?) } else { None };
            tx.write_index(bytes.as_deref())?;
        }
    }
    Ok(())
}

/// Write the paths the transaction was begun to overwrite from the
/// snapshot: all that differ (a whole undo), or only `chosen`, those the
/// three-way undo found unchanged since. A three-way undo keeps the empty
/// directories made since and puts back the saved ones, unless something
/// else than a directory is in their place now.
///
/// Untracked files to remove wait until the snapshot's `.gitignore`s are
/// written, and one they ignore stays (ignored files are never deleted) —
/// except for a `rescue restore` (`exact`), whose files are its own,
/// ignored or not: they go, and only they (the scope's paths).
fn write_worktree(
    tx: &mut Transaction<'_>,
    saved: &super::SavedWorktree,
    chosen: Option<&ChosenPaths>,
    exact: bool,
    ui: &Ui,
) -> anyhow::Result<()> {
    let current = tx
        .scan()
        .context("internal error: undo has no snapshot of the current work tree")?
        .clone();
    let changes = tx.overwrite_changes().to_vec();
    let (current_empty_dirs, target_empty_dirs, target_modes) = match chosen {
        None => (
            current.empty_dirs.clone(),
            saved.empty_dirs.clone(),
            saved.modes.clone(),
        ),
        Some(analysis) => {
            let chosen: std::collections::HashSet<&RepoPath> = analysis.paths.iter().collect();
            (
                analysis.dirs_to_remove.clone(),
                // Never in place of something made since that is not a
                // directory (the analysis left those out).
                analysis.dirs_to_make.clone(),
                saved
                    .modes
                    .iter()
                    .filter(|m| chosen.contains(&m.path))
                    .cloned()
                    .collect(),
            )
        }
    };
    if changes.is_empty() && target_empty_dirs.is_empty() && current_empty_dirs.is_empty() {
        return Ok(());
    }
    crate::trace::phase("undo: writing the work tree");
    let bar = ui.progress(changes.len() as u64, "restoring the work tree");
    let extras = Extras {
        current_empty_dirs: &current_empty_dirs,
        target_empty_dirs: &target_empty_dirs,
        target_modes: &target_modes,
        current_untracked: if exact { &[] } else { &current.untracked },
        smudge: crate::git::Smudge::Never,
        changed_after: Some(tx.scan_started()),
        shared: None,
    };
    let applied = tx.apply_changes(&changes, &extras, &bar)?;
    for path in &applied.changed_meanwhile {
        ui.warn(&format!(
            "{} changed while undo ran; that content was moved aside under .git/rollback/ops/{}/ and undoing this undo puts it back",
            path.quoted(),
            tx.id()
        ));
    }
    bar.finish_and_clear();
    Ok(())
}

/// Paths the operation moved, moved back, newest first. A file the
/// snapshot holds with the content of its aside copy is already back from
/// the work tree's restore: an untracked file emergency set aside, or one
/// inside a directory that was in the way of a file the operation wrote
/// (`d/e` when `d` became a file again). It is left where the restore put
/// it, however deep in a directory moved back it lies. Moving the aside
/// copy back anyway would set the restored file aside in its place, and
/// undoing this undo (a redo) would then move files into a directory that
/// is a file again, or an older copy over the one the redo restored. An
/// aside copy that differs (a file another process changed after the
/// snapshot) is newer than the snapshot: it comes back.
fn move_back(tx: &mut Transaction<'_>, target: &Operation) -> anyhow::Result<()> {
    crate::trace::phase("undo: moving back");
    let repo = tx.repo();
    let snapshot_tree = target
        .begin
        .worktree
        .as_ref()
        .map(|w| parse_oid(&w.tree))
        .transpose()?;
    let restored = |path: &crate::git::RepoPath, copy: &std::path::Path| {
        snapshot_tree.is_some_and(|tree| {
            fs::symlink_metadata(path.under(repo.workdir())).is_ok()
                && repo.tree_file_matches(tree, path, copy)
        })
    };
    for m in target.moved.iter().rev() {
        tx.move_back(&m.to, &m.from, &restored)?;
    }
    Ok(())
}

/// Undoing a rollback marks its metrics entry `"undone": true` (redoing it
/// sets it back); entries are never removed (I8).
fn mark_metrics(
    tx: &mut Transaction<'_>,
    history: &History,
    target: &Operation,
    reports_dir: &str,
    ui: &Ui,
) {
    // Undoing the original an even number of hops away undoes it, an odd
    // number redoes it.
    let (original, hops) = history.original_of(target);
    let (op, undone) = (original.id().to_string(), hops % 2 == 0);
    let file = crate::metrics::MetricsFile::new(tx.repo().workdir(), reports_dir);
    if crate::reports_folder::check(tx.repo().workdir(), reports_dir).is_err()
        || !file.path.exists()
    {
        return;
    }
    match file.read() {
        Ok(Ok(mut doc)) => {
            if crate::metrics::mark_undone(&mut doc, &op, undone) {
                let written = crate::reports_folder::prepare(tx.repo(), reports_dir)
                    .and_then(|_| file.write(doc));
                match written {
                    Ok(()) => tx.detail("metrics_marked", op),
                    Err(e) => ui.warn(&format!("could not update the metrics: {e:#}")),
                }
            }
        }
        Ok(Err(c)) => ui.warn(&format!(
            "{} is corrupt ({}); its entry for {op} was not marked",
            file.path.display(),
            c.reason
        )),
        Err(e) => ui.warn(&format!("could not read the metrics: {e:#}")),
    }
}

fn restore_stash(
    tx: &Transaction<'_>,
    target: &Operation,
    stash: &super::SavedStash,
    journal_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let repo = tx.repo();
    let value = stash.value.as_deref().map(parse_oid).transpose()?;
    repo.force_ref("refs/stash", value, "rollback-sprint: restore the stash")?;
    crate::fault::point("after-stash-ref");
    let log = repo.common_dir().join("logs/refs/stash");
    if stash.reflog {
        let saved = journal_dir
            .join("ops")
            .join(target.id())
            .join("stash-reflog");
        let bytes = fs::read(&saved)
            .with_context(|| format!("the saved stash list {} is missing", saved.display()))?;
        super::write_durable(&log, &bytes)?;
    } else if log.exists() {
        fs::remove_file(&log).context("could not remove the stash reflog")?;
    }
    crate::fault::point("after-stash");
    Ok(())
}

/// Put one of the tool's state files back as the operation found it.
fn restore_file(
    target: &Operation,
    saved: &super::SavedFile,
    journal_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let path = journal_dir.join(&saved.name);
    if saved.existed {
        let copy = journal_dir
            .join("ops")
            .join(target.id())
            .join("files")
            .join(&saved.name);
        let bytes =
            fs::read(&copy).with_context(|| format!("the saved {} is missing", copy.display()))?;
        super::write_durable(&path, &bytes)?;
    } else {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("could not remove {}", path.display()))
            }
        }
    }
    crate::fault::point("after-state");
    Ok(())
}

/// Refuse an undo that would delete, move or check out a branch that
/// another work tree has checked out: git never leaves a work tree on a
/// branch that is gone or shared, and neither does undo, even forced.
pub fn check_other_worktrees(repo: &Repo, target: &Operation) -> anyhow::Result<()> {
    let elsewhere = repo.branches_checked_out_elsewhere()?;
    if elsewhere.is_empty() {
        return Ok(());
    }
    let holder = |name: &str| {
        elsewhere
            .iter()
            .find(|(branch, _)| branch == name)
            .map(|(_, path)| path.display().to_string())
    };
    let refuse = |what: String, path: String| -> anyhow::Error {
        user(format!(
            "not undoing {}: it would {what}, which the worktree {path} has checked out",
            target.id()
        ))
        .hint("switch that worktree to another branch (or remove it with `git worktree remove`), then undo again")
        .into()
    };
    let begin = &target.begin;
    for r in &begin.refs {
        let now = repo.ref_target(&r.name)?.map(|v| v.to_string());
        if now == r.value {
            continue;
        }
        if let Some(path) = holder(&r.name) {
            let verb = if r.value.is_none() { "delete" } else { "move" };
            return Err(refuse(format!("{verb} {}", r.name), path));
        }
    }
    if let HeadState::Symbolic(name) = &begin.head {
        if begin.scope.head && repo.head_state()? != begin.head {
            if let Some(path) = holder(name) {
                return Err(refuse(format!("check out {name}"), path));
            }
        }
    }
    Ok(())
}

/// Refuse with the blockers as one line.
pub fn blocked_error(target: &Operation, blockers: &Blockers) -> anyhow::Error {
    user(format!(
        "not undoing {}: {}",
        target.id(),
        blockers.lines.join("; ")
    ))
    .hint("pass --force to undo it anyway (what is there now is saved first, so that too can be undone)")
    .exit(Exit::Error)
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(steps: Vec<UndoStep>) -> Vec<String> {
        let mut plan = Plan::new();
        plan.steps = finish_steps(steps);
        plan.lines()
    }

    #[test]
    fn bookkeeping_steps_are_not_listed() {
        let id = "0123456789abcdef0123456789abcdef01234567";
        let oid = parse_oid(id).expect("a full object id");
        let steps = vec![
            UndoStep::RestoreSnapshot {
                snapshot: id.to_string(),
                differ: Some(3),
            },
            UndoStep::MoveBack { count: Some(0) },
            UndoStep::Index(IndexStep::Whole { existed: false }),
            UndoStep::RestoreStash(SavedStash {
                value: None,
                reflog: false,
            }),
            UndoStep::StateFiles(Vec::new()),
            UndoStep::SetRef {
                name: "refs/heads/main".to_string(),
                value: Some(oid),
                shown: true,
            },
            UndoStep::SetRef {
                name: "refs/heads/kept".to_string(),
                value: Some(oid),
                shown: false,
            },
            UndoStep::Head {
                to: HeadState::Symbolic("refs/heads/main".to_string()),
                shown: true,
            },
        ];
        assert_eq!(
            lines(steps),
            [
                "restore the work tree to snapshot 01234567 (3 path(s) differ now; the current state is saved first)",
                "remove the index (there was none)",
                "restore the stash list (refs/stash absent)",
                "set refs/heads/main to 01234567",
                "point HEAD at main",
            ]
        );
    }

    #[test]
    fn a_plan_that_shows_nothing_says_nothing_differs() {
        let steps = vec![
            UndoStep::RestorePaths(ChosenPaths::default()),
            UndoStep::Index(IndexStep::Keep),
            UndoStep::DropStash("89abcdef0123".to_string()),
        ];
        assert_eq!(lines(steps), ["drop the stash entry it pushed (89abcdef)"]);
        assert_eq!(
            lines(vec![UndoStep::Index(IndexStep::Keep)]),
            ["nothing differs from the state before it"]
        );
    }
}
