//! Undo: put back exactly what an operation's `begin` record saved (I2).
//!
//! Undo is itself a transaction with the same scope as the operation it
//! undoes, so the state it replaces is saved first — work done since the
//! operation is never lost, and undoing the undo is a redo. Reports under
//! the reports folder are left as they are (I8).

use std::fs;

use anyhow::Context as _;

use super::{threeway, History, Intent, Operation, Transaction};
use crate::error::{user, Exit};
use crate::git::writer::Extras;
use crate::git::{parse_oid, short, HeadState, Repo};
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

/// The dry run's plan: what undo would put back now.
pub fn dry_run_plan(
    repo: &Repo,
    history: &History,
    target: &Operation,
    force: bool,
) -> anyhow::Result<Vec<String>> {
    if is_three_way(target) {
        return Ok(analyze(repo, history, target, force)?.plan());
    }
    plan(repo, target, true)
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

/// The plan of an undo, for `--dry-run` and the journal.
/// With `count`, the number of paths that differ now is computed (a full
/// comparison of the work tree, so only for dry runs).
pub fn plan(repo: &Repo, target: &Operation, count: bool) -> anyhow::Result<Vec<String>> {
    let begin = &target.begin;
    let mut plan = Vec::new();
    if let Some(wt) = &begin.worktree {
        let differ = if count {
            format!(
                "{} path(s) differ now; ",
                current_differences(repo, &wt.tree)?
            )
        } else {
            String::new()
        };
        plan.push(format!(
            "restore the work tree to snapshot {} ({differ}the current state is saved first)",
            short(&wt.snapshot)
        ));
    }
    if !target.moved.is_empty() {
        plan.push(format!(
            "move the {} path(s) it set aside back into place",
            target.moved.len()
        ));
    }
    if let Some(index) = &begin.index {
        plan.push(if index.existed {
            "restore the index file byte for byte".to_string()
        } else {
            "remove the index (there was none)".to_string()
        });
    }
    if let Some(stash) = &begin.stash {
        plan.push(format!(
            "restore the stash list (refs/stash {})",
            stash
                .value
                .as_deref()
                .map_or("absent".to_string(), |v| short(v).to_string())
        ));
    }
    for r in &begin.refs {
        let now = repo.ref_target(&r.name)?.map(|v| v.to_string());
        if now == r.value {
            continue;
        }
        plan.push(match &r.value {
            Some(v) => format!("set {} to {}", r.name, short(v)),
            None => format!("delete {}", r.name),
        });
    }
    if begin.scope.head && repo.head_state()? != begin.head {
        plan.push(format!("point HEAD at {}", begin.head.describe()));
    }
    if plan.is_empty() {
        plan.push("nothing differs from the state before it".to_string());
    }
    Ok(plan)
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

/// Undo `target`, three-way (docs/invariants.md, I2): only what it changed and
/// what did not change since is put back; anything else changed since is
/// refused, named, unless `force`.
///
/// Long because it is the undo transaction's body in order — analyse,
/// refuse or plan, begin, put back refs, the work tree, the index and the
/// stash, record — with kill points between the steps the crash tests name.
pub fn undo(
    repo: &Repo,
    ui: &Ui,
    history: &History,
    target: &Operation,
    command: &str,
    reports_dir: &str,
    force: bool,
) -> anyhow::Result<(String, Vec<String>)> {
    check_objects(repo, target)?;
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
    // Its metrics entry is marked: never through a symlinked folder.
    let (original, _) = history.original_of(target);
    let metrics = original
        .end
        .as_ref()
        .is_some_and(|end| end.details.get("metrics") == Some(&serde_json::Value::Bool(true)));
    if metrics {
        crate::reports_folder::check(repo.workdir(), reports_dir)?;
    }
    let plan = match &analysis {
        Some(a) => a.plan(),
        None => plan(repo, target, false)?,
    };
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
    if let (Some(a), true) = (&analysis, scope.worktree) {
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
    let mut intent = Intent::new(kind, command, scope).plan(plan.clone());
    intent.undoes = Some(target.id().to_string());
    intent.allow_interrupted = true;
    intent.known_worktree = known;
    if let Some(wt) = &target.begin.worktree {
        intent.preserve = vec![crate::settings::reports_path(reports_dir)];
        match &analysis {
            Some(a) if a.paths.is_empty() => {}
            Some(a) => {
                intent.overwrite_with = Some(parse_oid(&wt.tree)?);
                intent.overwrite_only = Some(a.paths.iter().cloned().collect());
            }
            None => intent.overwrite_with = Some(parse_oid(&wt.tree)?),
        }
    }
    let tx = Transaction::begin(repo, ui, intent)?;
    let (_, id) = match analysis {
        Some(analysis) => {
            tx.run(|tx| restore_three_way(tx, history, target, &analysis, reports_dir, ui))?
        }
        None => tx.run(|tx| restore(tx, history, target, reports_dir, ui))?,
    };
    Ok((id, plan))
}

/// Put back what `analysis` found, in the order of [`restore`]: the work
/// tree, paths set aside, the index, the stash, the tool's files, refs,
/// HEAD, and the metrics entry.
fn restore_three_way(
    tx: &mut Transaction<'_>,
    history: &History,
    target: &Operation,
    analysis: &threeway::Analysis,
    reports_dir: &str,
    ui: &Ui,
) -> anyhow::Result<()> {
    let repo = tx.repo();
    let begin = &target.begin;
    let journal_dir = tx.journal().dir().to_path_buf();
    if let (Some(saved), Some(_)) = (&begin.worktree, tx.scan()) {
        write_worktree(tx, saved, Some(analysis), ui)?;
    }
    if analysis.move_back {
        move_back(tx, target)?;
    }
    crate::trace::phase("undo: index");
    match &analysis.index {
        threeway::IndexPlan::Keep => {}
        threeway::IndexPlan::Exact => {
            let existed = begin.index.as_ref().is_some_and(|i| i.existed);
            // The saved file itself, linked into place as git renames a
            // new index into place: nothing rewrites an index file in
            // place, so the saved copy stays as it is.
            let saved = journal_dir.join("ops").join(target.id()).join("index");
            let linked = journal_dir.join("ops").join(tx.id()).join("index-restored");
            if existed && fs::hard_link(&saved, &linked).is_ok() {
                tx.write_index_file(&linked)?;
            } else {
                let bytes = if existed {
                    let path = journal_dir.join("ops").join(target.id()).join("index");
                    Some(fs::read(&path).with_context(|| {
                        format!("the saved index {} is missing", path.display())
                    })?)
                } else {
                    None
                };
                tx.write_index(bytes.as_deref())?;
            }
        }
        threeway::IndexPlan::Merge(entries) => {
            let merged = journal_dir.join("ops").join(tx.id()).join("index-merged");
            threeway::write_merged_index(repo, entries, &merged)?;
            tx.write_index_file(&merged)?;
        }
    }
    threeway::apply_stash(repo, &analysis.stash)?;
    for saved in &begin.files {
        restore_file(target, saved, &journal_dir)?;
    }
    for (name, value) in &analysis.refs {
        tx.force_ref(name, *value)?;
    }
    if let Some(head) = &analysis.head {
        tx.set_head(head)?;
    }
    crate::trace::phase("undo: metrics");
    mark_metrics(tx, history, target, reports_dir, ui);
    crate::trace::phase("undo: done");
    Ok(())
}

/// Write the paths the transaction was begun to overwrite from the
/// snapshot: all that differ (a whole undo), or only `chosen`, those the
/// three-way undo found unchanged since. A three-way undo keeps the empty
/// directories made since and puts back the saved ones, unless something
/// else than a directory is in their place now.
fn write_worktree(
    tx: &mut Transaction<'_>,
    saved: &super::SavedWorktree,
    chosen: Option<&threeway::Analysis>,
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
            let chosen: std::collections::HashSet<&crate::git::RepoPath> =
                analysis.paths.iter().collect();
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
        current_untracked: &current.untracked,
        smudge: false,
        changed_after: Some(tx.scan_started()),
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

/// Paths the operation moved, moved back, newest first (see [`restore`]).
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

fn restore(
    tx: &mut Transaction<'_>,
    history: &History,
    target: &Operation,
    reports_dir: &str,
    ui: &Ui,
) -> anyhow::Result<()> {
    let begin = &target.begin;
    let journal_dir = tx.journal().dir().to_path_buf();

    if let Some(saved) = &begin.worktree {
        write_worktree(tx, saved, None, ui)?;
    }
    // Paths the operation moved, moved back, newest first. A file the
    // snapshot holds with the content of its aside copy is already back
    // from the restore above: an untracked file emergency set aside, or one
    // inside a directory that was in the way of a file the operation wrote
    // (`d/e` when `d` became a file again). It is left where the restore
    // put it, however deep in a directory moved back it lies. Moving the
    // aside copy back anyway would set the restored file aside in its
    // place, and undoing this undo (a redo) would then move files into a
    // directory that is a file again, or an older copy over the one the
    // redo restored. An aside copy that differs (a file another process
    // changed after the snapshot) is newer than the snapshot: it comes back.
    move_back(tx, target)?;
    crate::trace::phase("undo: index");
    if let Some(saved) = &begin.index {
        let bytes = if saved.existed {
            let path = journal_dir.join("ops").join(target.id()).join("index");
            Some(
                fs::read(&path)
                    .with_context(|| format!("the saved index {} is missing", path.display()))?,
            )
        } else {
            None
        };
        tx.write_index(bytes.as_deref())?;
    }
    if let Some(stash) = &begin.stash {
        restore_stash(tx, target, stash, &journal_dir)?;
    }
    for saved in &begin.files {
        restore_file(target, saved, &journal_dir)?;
    }
    for r in &begin.refs {
        let value = r.value.as_deref().map(parse_oid).transpose()?;
        tx.force_ref(&r.name, value)?;
    }
    if begin.scope.head {
        tx.set_head(&begin.head)?;
    }
    crate::trace::phase("undo: metrics");
    mark_metrics(tx, history, target, reports_dir, ui);
    crate::trace::phase("undo: done");
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
