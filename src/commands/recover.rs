//! Cherry-pick recovery with a sequencer that survives (README: `recover`).
//!
//! The runbook's loop of `git cherry-pick <sha>` that loses its place at the
//! first conflict, done the way a sequencer should: the chosen commits are
//! picked in memory one after the other (`crate::git::pick`), the recovery
//! branch moves by compare-and-swap after each, and the work tree is written
//! once at the end. On a conflict the conflict is written to the work tree
//! and the index as git leaves it, the commits still to pick are kept in
//! `<git-dir>/rollback/recover.json`, and the command stops with exit 3;
//! `--continue`, `--skip` and `--abort` take it from there. Every step is a
//! journaled operation, and `--abort` undoes them all, newest first.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{baseline, new_branch_name, Context};
use crate::clock;
use crate::error::{user, Exit};
use crate::git::pick::{Candidate, Picked};
use crate::git::{self, parse_oid, writer, HeadState, Oid, Repo};
use crate::journal::{self, Intent, Journal, Scope, Transaction};
use crate::testrun::{self, TestRun};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The failed branch to take good commits from
    pub failed_branch: Option<String>,
    /// Create the recovery branch here (default HEAD)
    #[arg(long, value_name = "REV")]
    pub onto: Option<String>,
    /// Pick these commits (in history order); a branch after them is the failed branch
    #[arg(long, value_name = "SHA", num_args = 1..)]
    pub pick: Vec<String>,
    /// Pick every commit
    #[arg(long, conflicts_with = "pick")]
    pub all: bool,
    /// Run the tests after each pick (on a copy of its tree)
    #[arg(long)]
    pub test_each: bool,
    /// Do not run the tests after the last pick
    #[arg(long)]
    pub no_tests: bool,
    /// Go on after resolving a conflict (and staging the resolution)
    #[arg(long = "continue", conflicts_with_all = ["skip", "abort", "failed_branch"])]
    pub continue_: bool,
    /// Skip the commit that conflicted, go on with the rest
    #[arg(long, conflicts_with_all = ["abort", "failed_branch"])]
    pub skip: bool,
    /// Go back to exactly the state before `recover`
    #[arg(long, conflicts_with = "failed_branch")]
    pub abort: bool,
}

/// The sequencer's state between invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    v: u32,
    /// The recovery branch (full ref name).
    branch: String,
    failed: String,
    onto: String,
    /// The journal operations of this recovery, oldest first.
    ops: Vec<String>,
    /// The commit that conflicted, and those still to pick after it.
    current: Option<String>,
    remaining: Vec<String>,
    picked: Vec<PickedRecord>,
    /// Commits not picked: already applied, or skipped by `recover --skip`.
    skipped: Vec<String>,
    /// Picked commits whose changes to the reports folder were left out.
    #[serde(default)]
    reports_left: Vec<String>,
    /// Of those, the ones `recover --skip` dropped.
    #[serde(default)]
    dropped: Vec<String>,
    test_each: bool,
    no_tests: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PickedRecord {
    from: String,
    to: String,
}

const STATE_VERSION: u32 = 1;

/// The recovery's state, in the journal's folder; saved and restored by
/// the journal with each of the recovery's operations.
const STATE_FILE: &str = "recover.json";

fn state_path(repo: &Repo) -> PathBuf {
    Journal::for_repo(repo).dir().join(STATE_FILE)
}

fn load_state(repo: &Repo) -> anyhow::Result<Option<State>> {
    let path = state_path(repo);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let state: State = serde_json::from_str(&text).map_err(|e| {
        user(format!("{} is not readable: {e}", path.display()))
            .hint("it holds the state of an interrupted `recover`; move it away to start over")
    })?;
    if state.v > STATE_VERSION {
        return Err(user(format!(
            "{} was written by a newer version of git-rollback-sprint",
            path.display()
        ))
        .hint("finish the recovery with that version")
        .into());
    }
    Ok(Some(state))
}

fn save_state(repo: &Repo, state: &State) -> anyhow::Result<()> {
    let text = serde_json::to_vec_pretty(state).context("could not write the recovery state")?;
    journal::write_durable(&state_path(repo), &text)?;
    crate::fault::point("after-state");
    Ok(())
}

fn clear_state(repo: &Repo) -> anyhow::Result<()> {
    match std::fs::remove_file(state_path(repo)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).context("could not remove the recovery state"),
    }
    crate::fault::point("after-state");
    Ok(())
}

/// A recovery stopped at a conflict, for the pre-sprint checks and status:
/// the recovery branch, the commit that conflicted.
pub fn in_progress(repo: &Repo) -> Option<(String, String)> {
    let state = load_state(repo).ok()??;
    let current = state.current.clone()?;
    live(repo, &state).then(|| {
        (
            state.branch.trim_start_matches("refs/heads/").to_string(),
            current,
        )
    })
}

/// Whether the recovery is still where it stopped: its branch exists and
/// HEAD is on it (an `undo` of its operations ends it).
fn live(repo: &Repo, state: &State) -> bool {
    repo.ref_target(&state.branch).ok().flatten().is_some()
        && matches!(repo.head_state(), Ok(HeadState::Symbolic(r)) if r == state.branch)
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    if args.abort {
        return abort(ctx);
    }
    if args.continue_ || args.skip {
        return resume(ctx, args.skip);
    }
    start(ctx, args)
}

// ----- recover FAILED ------------------------------------------------------------

fn start(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let (failed_name, picks) = failed_and_picks(repo, args)?;
    let failed_name = &failed_name;
    if let Some(state) = load_state(repo)? {
        if live(repo, &state) {
            return Err(user(format!(
                "a recovery onto {} is in progress",
                state.branch.trim_start_matches("refs/heads/")
            ))
            .hint("finish it with `git rollback-sprint recover --continue`, `--skip` or `--abort`")
            .into());
        }
        clear_state(repo)?;
    }
    if let Some(p) = repo.git_operation_in_progress() {
        return Err(user(p.what).hint(p.hint).into());
    }
    journal::check_index_unlocked(repo)?;
    let Some(head) = repo.head_commit()? else {
        return Err(user("HEAD has no commit yet")
            .hint("commit something first, or pass --onto REV")
            .into());
    };
    refuse_tracked_changes(ctx)?;
    super::refuse_sparse(repo, "recover")?;
    let failed = repo.resolve_commit(failed_name)?;
    let onto = match &args.onto {
        Some(rev) => repo.resolve_commit(rev)?,
        None => head,
    };
    let base = baseline::resolve(repo, &ctx.settings)?;
    repo.refuse_inexact_commit(onto, "the commit to recover onto")?;
    repo.refuse_inexact_commit(failed, failed_name)?;
    for tree in [repo.commit_tree(onto)?, repo.commit_tree(failed)?] {
        super::refuse_filter_drivers(repo, tree)?;
    }
    let candidates = repo.pick_candidates(base.commit, failed, onto)?;
    // Nothing to pick, nothing recorded (docs/invariants.md, I11): no branch,
    // no journal.
    if candidates.is_empty() {
        let mut outcome = Outcome::new();
        outcome.nothing_to_do(format!(
            "{failed_name} has no commits since the baseline `{}`, so there is nothing to recover (see `git log {}..{failed_name}`)",
            base.name, base.name
        ));
        return Ok(outcome);
    }
    let chosen = choose(ctx, args, &picks, &candidates)?;
    if chosen.is_empty() && args.all {
        let mut outcome = Outcome::new();
        outcome.nothing_to_do(format!(
            "every commit of {failed_name} since the baseline is already on the target or a merge, so there is nothing to recover (see `git cherry -v HEAD {failed_name}`)"
        ));
        return Ok(outcome);
    }
    if chosen.is_empty() {
        return Err(user("no commit was chosen, so nothing was recovered")
            .hint("pick some with --pick SHA…, or all of them with --all")
            .into());
    }

    let stamp = clock::stamp(&clock::now());
    let branch_name = new_branch_name(ctx, &format!("recovery/{stamp}"))?;
    let branch = format!("refs/heads/{branch_name}");
    let mut outcome = Outcome::new();
    outcome
        .field("branch", branch_name.as_str())
        .field("onto", onto.to_string())
        .field("failed_branch", failed_name.as_str());
    let mut steps = vec![format!(
        "create branch {branch_name} at {} and switch to it",
        repo.short_id(onto)
    )];
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    for c in &chosen {
        steps.push(format!(
            "cherry-pick {} {}{}{}",
            repo.short_id(c.id),
            crate::ui::quote(&c.summary),
            if c.already_applied {
                " (already applied: may be empty)"
            } else {
                ""
            },
            if repo.changes_folder(c.id, &reports)? {
                format!(" (its changes to {reports}/ are left out)")
            } else {
                String::new()
            }
        ));
    }
    steps.push("write the work tree and the index once, at the end".into());
    if !args.no_tests {
        steps.push("run the tests".into());
    }
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &steps {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", steps);
        return Ok(outcome);
    }
    if !ctx.ui.yes && ctx.ui.can_prompt() && picks.is_empty() && !args.all {
        let question = format!("Recover {} commit(s) onto {branch_name}?", chosen.len());
        if !ctx.ui.confirm(ctx.prompter.as_ref(), &question)? {
            outcome.line("Nothing was changed.");
            return Ok(outcome);
        }
    }

    let mut state = State {
        v: STATE_VERSION,
        branch: branch.clone(),
        failed: failed_name.clone(),
        onto: onto.to_string(),
        ops: Vec::new(),
        current: None,
        remaining: chosen.iter().map(|c| c.id.to_string()).collect(),
        picked: Vec::new(),
        skipped: Vec::new(),
        reports_left: Vec::new(),
        dropped: Vec::new(),
        test_each: args.test_each,
        no_tests: args.no_tests,
    };
    let head_state = repo.head_state()?;
    let intent = intent(ctx, scope(&branch), steps);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let (stop, id) = tx.run(|tx| {
        state.ops.push(tx.id().to_string());
        tx.update_ref(&branch, None, Some(onto))?;
        tx.set_head(&HeadState::Symbolic(branch.clone()))?;
        tx.detail("from", head_state.describe());
        sequence(ctx, tx, &mut state, onto)
    })?;
    finish(ctx, &state, stop, id, outcome)
}

/// A step of the recovery for the journal: the reports folder is never written
/// by it (docs/invariants.md, I8), whatever the picked commits hold there.
fn intent(ctx: &Context, scope: Scope, plan: Vec<String>) -> Intent {
    let mut intent = Intent::new("recover", &ctx.command_line, scope).plan(plan);
    intent.preserve = vec![crate::settings::reports_path(&ctx.settings.reports_dir)];
    intent
}

/// The failed branch and the commits to pick. `--pick` takes every value up
/// to the next flag, so in `recover --pick A B FAILED` it also took the
/// branch: when no branch was given on its own and the last value after
/// `--pick` names a branch, that value is the failed branch, as the user
/// meant. `recover FAILED --pick A B` and `--pick A B -- FAILED` say it
/// without guessing.
fn failed_and_picks(repo: &Repo, args: &Args) -> anyhow::Result<(String, Vec<String>)> {
    if let Some(failed) = &args.failed_branch {
        return Ok((failed.clone(), args.pick.clone()));
    }
    let usage = |what: String| -> anyhow::Error {
        user(what)
            .hint("type `git rollback-sprint recover FAILED_BRANCH --pick SHA…` (or --continue, --skip, --abort)")
            .exit(Exit::Usage)
            .into()
    };
    let Some((last, commits)) = args.pick.split_last() else {
        return Err(usage(
            "name the failed branch to recover commits from".to_string(),
        ));
    };
    if !names_branch(repo, last) {
        return Err(usage(format!(
            "name the failed branch to recover commits from: {} after --pick is not a branch",
            crate::ui::quote(last)
        )));
    }
    if commits.is_empty() {
        return Err(usage(format!(
            "--pick names no commit: {} is the failed branch",
            crate::ui::quote(last)
        )));
    }
    Ok((last.clone(), commits.to_vec()))
}

/// Whether `name` is a local or remote-tracking branch, as git resolves a
/// short name (`refs/heads/NAME`, `refs/remotes/NAME`) or a full one.
fn names_branch(repo: &Repo, name: &str) -> bool {
    let exists = |r: &str| matches!(repo.ref_target(r), Ok(Some(_)));
    if name.starts_with("refs/heads/") || name.starts_with("refs/remotes/") {
        return exists(name);
    }
    exists(&format!("refs/heads/{name}")) || exists(&format!("refs/remotes/{name}"))
}

fn scope(branch: &str) -> Scope {
    Scope {
        head: true,
        index: true,
        worktree: true,
        stash: false,
        refs: vec![branch.to_string()],
        files: vec![STATE_FILE.to_string()],
        ..Scope::default()
    }
}

/// Picks write the work tree at the end from the committed result, so
/// uncommitted changes to tracked files would be overwritten: refused, as
/// git's cherry-pick refuses them.
fn refuse_tracked_changes(ctx: &Context) -> anyhow::Result<()> {
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let p = git::snapshot::preview(&ctx.repo, false, Some(&reports))?;
    if p.staged + p.modified + p.deleted > 0 {
        return Err(user(format!(
            "there are uncommitted changes to tracked files ({} modified, {} deleted{})",
            p.modified,
            p.deleted,
            if p.staged > 0 { ", staged changes" } else { "" }
        ))
        .hint("commit them, or save them with `git rollback-sprint checkpoint --wip` and clean up, then recover")
        .into());
    }
    Ok(())
}

/// The commits to pick: `--all`, `--pick`, or chosen on the terminal.
fn choose(
    ctx: &Context,
    args: &Args,
    picks: &[String],
    candidates: &[Candidate],
) -> anyhow::Result<Vec<Candidate>> {
    let repo = &ctx.repo;
    if args.all {
        return Ok(candidates
            .iter()
            .filter(|c| !c.merge && !c.already_applied)
            .cloned()
            .collect());
    }
    if !picks.is_empty() {
        let mut wanted = HashSet::new();
        for sha in picks {
            if sha.contains(',') && repo.try_resolve_commit(sha)?.is_none() {
                return Err(user(format!("unknown revision `{sha}`"))
                    .hint("separate the commits with spaces or repeat the flag: --pick A B, or --pick A --pick B")
                    .exit(Exit::Usage)
                    .into());
            }
            let id = repo.resolve_commit(sha)?;
            let Some(c) = candidates.iter().find(|c| c.id == id) else {
                return Err(user(format!(
                    "{sha} is not one of the commits of the failed branch since the baseline"
                ))
                .hint("see the list with `git log --oneline baseline..BRANCH`")
                .into());
            };
            if c.merge {
                return Err(user(format!(
                    "{sha} is a merge commit, which recover does not pick"
                ))
                .hint("pick the commits of the merged branch instead")
                .into());
            }
            wanted.insert(id);
        }
        // In the order of history, whatever the order given.
        return Ok(candidates
            .iter()
            .filter(|c| wanted.contains(&c.id))
            .cloned()
            .collect());
    }
    if !ctx.ui.can_prompt() {
        return Err(user("choose the commits to recover: there is no terminal to ask")
            .hint("pass --all, or --pick SHA… (see them with `git log --oneline baseline..BRANCH`)")
            .exit(Exit::Usage)
            .into());
    }
    let offered: Vec<&Candidate> = candidates.iter().filter(|c| !c.merge).collect();
    let items: Vec<String> = offered.iter().map(|c| describe(repo, c)).collect();
    let picked = ctx.prompter.multi_select(
        "Commits to recover (space selects, enter confirms), oldest first",
        &items,
    )?;
    Ok(picked
        .into_iter()
        .filter_map(|i| offered.get(i).map(|c| (*c).clone()))
        .collect())
}

fn describe(repo: &Repo, c: &Candidate) -> String {
    let date = chrono::DateTime::from_timestamp(c.time, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    format!(
        "{} {} — {}, {}, {} file(s) +{} -{}{}",
        repo.short_id(c.id),
        crate::ui::quote(&c.summary),
        crate::ui::quote(&c.author),
        date,
        c.files,
        c.insertions,
        c.deletions,
        if c.already_applied {
            " [already applied]"
        } else {
            ""
        }
    )
}

/// How a run of picks ended.
enum Stop {
    Done { tests: Option<TestRun> },
    Conflict { commit: Oid, paths: Vec<String> },
}

/// Pick `state.remaining` onto the branch (now at `tip`), then write the
/// work tree and the index once: the final tree, or the conflict.
fn sequence(
    ctx: &Context,
    tx: &mut Transaction,
    state: &mut State,
    mut tip: Oid,
) -> anyhow::Result<Stop> {
    let repo = &ctx.repo;
    let committer = repo.signature()?;
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
    let bar = ctx
        .ui
        .progress(state.remaining.len() as u64, "cherry-picking");
    let mut conflict = None;
    while !state.remaining.is_empty() {
        let commit = parse_oid(&state.remaining.remove(0))?;
        if repo.changes_folder(commit, &reports)? {
            state.reports_left.push(commit.to_string());
        }
        match repo.pick(commit, tip, &committer, &reports)? {
            Picked::Commit(new) => {
                tx.update_ref(&state.branch, Some(tip), Some(new))?;
                state.picked.push(PickedRecord {
                    from: commit.to_string(),
                    to: new.to_string(),
                });
                tip = new;
                if state.test_each && !state.no_tests {
                    test_each(ctx, repo, commit, new, timeout)?;
                }
            }
            Picked::Empty => state.skipped.push(commit.to_string()),
            Picked::Conflict(c) => {
                state.current = Some(commit.to_string());
                conflict = Some((commit, c));
                break;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let scan = tx
        .scan()
        .cloned()
        .context("internal error: recover has no snapshot of the work tree")?;
    let (target, index) = match &conflict {
        None => (repo.commit_tree(tip)?, None),
        Some((_, c)) => (c.worktree_tree, Some(c)),
    };
    // Untracked files stay: only what the picks changed is written.
    let untracked: HashSet<&[u8]> = scan.untracked.iter().map(|p| p.as_bytes()).collect();
    let mut changes = tx.changes_to(target)?;
    changes.retain(|c| c.new.is_some() || !untracked.contains(c.path.as_bytes()));
    let extras = writer::Extras {
        current_empty_dirs: &[],
        target_empty_dirs: &scan.empty_dirs,
        target_modes: &[],
        current_untracked: &[],
        smudge: repo.has_checkout_filters(target)?,
        changed_after: Some(tx.scan_started()),
    };
    let bar = ctx
        .ui
        .progress(changes.len() as u64, "writing the work tree");
    // The target is known only now, after the picks: checked before the
    // first file is written.
    writer::check_writable(
        repo.workdir(),
        changes
            .iter()
            .map(|c| (&c.path, writer::writes_regular_file(c))),
    )?;
    tx.apply_changes(&changes, &extras, &bar)?;
    bar.finish_and_clear();
    let written: HashSet<Vec<u8>> = changes
        .iter()
        .filter(|c| c.new.is_some())
        .map(|c| c.path.as_bytes().to_vec())
        .collect();
    match index {
        None => {
            let bytes = git::index::index_for_tree(repo, target, &written)?;
            tx.write_index(Some(&bytes))?;
            git::index::remember_tree(repo, target);
        }
        Some(c) => {
            let bytes = c.index_bytes(repo, &written)?;
            tx.write_index(Some(&bytes))?;
        }
    }
    tx.detail("picked", state.picked.len());
    match conflict {
        Some((commit, c)) => {
            save_state(repo, state)?;
            Ok(Stop::Conflict {
                commit,
                paths: c.paths.iter().map(|p| p.to_string()).collect(),
            })
        }
        None => {
            state.current = None;
            clear_state(repo)?;
            let tests = if state.no_tests {
                None
            } else {
                final_tests(ctx, repo, target, timeout)
            };
            Ok(Stop::Done { tests })
        }
    }
}

fn test_each(
    ctx: &Context,
    repo: &Repo,
    from: Oid,
    new: Oid,
    timeout: Duration,
) -> anyhow::Result<()> {
    let Ok(tree) = repo.commit_tree(new) else {
        return Ok(());
    };
    let Ok(command) = testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree)
    else {
        return Ok(());
    };
    match testrun::verify_tree(repo, tree, &command, timeout) {
        Ok(run) => ctx.ui.note(&format!(
            "  tests after {}: {}",
            repo.short_id(from),
            run.summary()
        )),
        Err(e) if testrun::interrupted(&e) => return Err(e),
        Err(e) => ctx.ui.warn(&format!(
            "could not run the tests after {}: {e:#}",
            repo.short_id(from)
        )),
    }
    Ok(())
}

fn final_tests(ctx: &Context, repo: &Repo, tree: Oid, timeout: Duration) -> Option<TestRun> {
    let command = match testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree) {
        Ok(c) => c,
        Err(_) => {
            ctx.ui
                .note("No test command is configured or detected; the tests were not run.");
            return None;
        }
    };
    ctx.ui.note(&format!("Running `{command}`…"));
    match testrun::run_tests(&command, repo.workdir(), timeout) {
        Ok(run) => Some(run),
        Err(e) => {
            ctx.ui.warn(&format!("could not run the tests: {e:#}"));
            None
        }
    }
}

/// The human and JSON report of a run, and its exit code.
fn finish(
    ctx: &Context,
    state: &State,
    stop: Stop,
    id: String,
    mut outcome: Outcome,
) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let branch_name = state.branch.trim_start_matches("refs/heads/");
    let picked: Vec<serde_json::Value> = state
        .picked
        .iter()
        .map(|p| json!({"from": p.from, "to": p.to}))
        .collect();
    outcome
        .field("operation_id", id.as_str())
        .field("branch", branch_name)
        .field("picked", picked)
        .field("skipped", state.skipped.clone())
        .field("reports_left", state.reports_left.clone())
        .field("remaining", state.remaining.len());
    for p in &state.picked {
        let summary = parse_oid(&p.to)
            .and_then(|to| repo.commit_info(to))
            .map(|i| i.summary)
            .unwrap_or_default();
        outcome.line(format!(
            "  picked {} → {} {summary}",
            git::short(&p.from),
            git::short(&p.to)
        ));
    }
    outcome.field("skipped_by_user", state.dropped.clone());
    for s in &state.skipped {
        if state.dropped.contains(s) {
            outcome.line(format!(
                "  skipped {}: dropped by `recover --skip`",
                git::short(s)
            ));
        } else {
            outcome.line(format!(
                "  skipped {}: its change is already on {branch_name}",
                git::short(s)
            ));
        }
    }
    if !state.reports_left.is_empty() {
        let shorts: Vec<&str> = state.reports_left.iter().map(|s| git::short(s)).collect();
        outcome.line(format!(
            "  left the reports folder {}/ as it is: {} changed it, and reports are not recovered",
            ctx.settings.reports_dir.trim_end_matches('/'),
            shorts.join(", ")
        ));
    }
    match stop {
        Stop::Conflict { commit, paths } => {
            let summary = repo
                .commit_info(commit)
                .map(|i| i.summary)
                .unwrap_or_default();
            outcome
                .field(
                    "conflict",
                    json!({"commit": commit.to_string(), "paths": paths}),
                )
                .field("tests", serde_json::Value::Null);
            outcome.line(format!(
                "{} cherry-picking {} {} conflicts in: {}",
                ctx.ui.bad("Stopped:"),
                repo.short_id(commit),
                crate::ui::quote(&summary),
                paths
                    .iter()
                    .map(|p| crate::ui::quote(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            outcome.line(format!(
                "  {} commit(s) left after it. Resolve the files, `git add` them, then `git rollback-sprint recover --continue`",
                state.remaining.len()
            ));
            outcome.line("  (or `recover --skip` to drop this commit, `recover --abort` to go back to where you started)");
            outcome.exit_with(Exit::Stopped);
        }
        Stop::Done { tests } => {
            outcome.field("conflict", serde_json::Value::Null);
            outcome.line(format!(
                "{} {} commit(s) on {branch_name}.",
                ctx.ui.good("Recovered:"),
                state.picked.len()
            ));
            match &tests {
                Some(t) => {
                    outcome.line(format!("  tests: `{}` {}", t.command, t.summary()));
                    outcome.field(
                        "tests",
                        json!({"command": t.command, "passed": t.passed, "failed": t.failed,
                               "exit_code": t.exit_code, "timed_out": t.timed_out,
                               "succeeded": t.succeeded()}),
                    );
                    if !t.succeeded() {
                        outcome.line("  The tests fail on the recovered branch; the commits stay picked (undo with `recover --abort`'s equivalent: `git rollback-sprint undo`).");
                        outcome.exit_with(Exit::SafetyCheck);
                    }
                }
                None => {
                    outcome.field("tests", serde_json::Value::Null);
                }
            }
            outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
        }
    }
    Ok(outcome)
}

// ----- recover --continue / --skip -----------------------------------------------

fn resume(ctx: &Context, skip: bool) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let what = if skip { "--skip" } else { "--continue" };
    let Some(mut state) = load_state(repo)? else {
        return Err(user("no recovery is in progress")
            .hint("start one with `git rollback-sprint recover BRANCH`")
            .into());
    };
    if !live(repo, &state) {
        clear_state(repo)?;
        return Err(user(format!(
            "the recovery onto {} was undone or left (HEAD is not on it)",
            state.branch.trim_start_matches("refs/heads/")
        ))
        .hint("start a new one with `git rollback-sprint recover BRANCH`")
        .into());
    }
    let Some(current) = state.current.clone() else {
        clear_state(repo)?;
        return Err(user("the recovery has nothing left to do").into());
    };
    let current = parse_oid(&current)?;
    super::refuse_branch_checked_out_elsewhere(repo, &state.branch, &format!("recover {what}"))?;
    let tip = repo
        .ref_target(&state.branch)?
        .context("the recovery branch is gone")?;
    if !skip {
        let conflicts = repo.index_conflicts()?;
        if !conflicts.is_empty() {
            let names: Vec<String> = conflicts.iter().map(|p| p.quoted()).collect();
            return Err(user(format!("still unresolved: {}", names.join(", ")))
                .hint(
                    "edit them, `git add` them, then run `git rollback-sprint recover --continue`",
                )
                .exit(Exit::Stopped)
                .into());
        }
        let p = git::snapshot::preview(repo, false, None)?;
        if p.modified + p.deleted > 0 {
            return Err(user(
                "some changes to tracked files are not staged; --continue commits the index",
            )
            .hint("`git add` the resolution (or `git checkout -- FILE` what you do not want), then --continue")
            .into());
        }
    }
    let mut outcome = Outcome::new();
    let plan = vec![
        if skip {
            format!(
                "drop {} and reset the work tree to the recovery branch",
                repo.short_id(current)
            )
        } else {
            format!(
                "commit the resolution of {} from the index",
                repo.short_id(current)
            )
        },
        format!("cherry-pick the {} commit(s) left", state.remaining.len()),
    ];
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &plan {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", plan);
        return Ok(outcome);
    }
    let intent = intent(ctx, scope(&state.branch), plan);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let (stop, id) = tx.run(|tx| {
        state.ops.push(tx.id().to_string());
        state.current = None;
        let mut tip = tip;
        if skip {
            state.skipped.push(current.to_string());
            state.dropped.push(current.to_string());
        } else {
            let committer = repo.signature()?;
            let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
            match repo.commit_index_like(current, tip, &committer, &reports)? {
                Some((new, _)) if new != tip => {
                    tx.update_ref(&state.branch, Some(tip), Some(new))?;
                    state.picked.push(PickedRecord {
                        from: current.to_string(),
                        to: new.to_string(),
                    });
                    tip = new;
                }
                Some(_) => state.skipped.push(current.to_string()),
                None => anyhow::bail!("the index has conflicts again"),
            }
        }
        sequence(ctx, tx, &mut state, tip)
    })?;
    finish(ctx, &state, stop, id, outcome).map(|mut o| {
        o.field("resumed", what);
        o
    })
}

// ----- recover --abort -------------------------------------------------------------

fn abort(ctx: &Context) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let Some(state) = load_state(repo)? else {
        return Err(user("no recovery is in progress")
            .hint("`git rollback-sprint log` lists what was done; `undo ID` undoes one operation")
            .into());
    };
    let journal = Journal::for_repo(repo);
    let mut outcome = Outcome::new();
    let history = journal.history()?;
    let mut todo = Vec::new();
    for id in state.ops.iter().rev() {
        let op = history.resolve(id)?;
        if history.undone_by(op).is_none() {
            todo.push(op.id().to_string());
        }
    }
    outcome.field("undoes", todo.clone());
    if ctx.ui.dry_run {
        outcome.line(format!(
            "Would undo {} operation(s) of this recovery, newest first: {}",
            todo.len(),
            todo.join(", ")
        ));
        return Ok(outcome);
    }
    let mut done = Vec::new();
    for id in &todo {
        let history = journal.history()?;
        let op = history.resolve(id)?;
        let (undo_id, _) = journal::undo::undo(
            repo,
            &ctx.ui,
            &history,
            op,
            &ctx.command_line,
            &ctx.settings.reports_dir,
            true,
        )?;
        done.push(undo_id);
    }
    clear_state(repo)?;
    outcome.field("operation_ids", done);
    outcome.line(format!(
        "Aborted: back to the state before `recover {}` ({} operation(s) undone); the branch {} is gone.",
        state.failed,
        todo.len(),
        state.branch.trim_start_matches("refs/heads/")
    ));
    Ok(outcome)
}
