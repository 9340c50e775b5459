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
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use super::{baseline, new_branch_name, Context};
use crate::clock;
use crate::error::{user, Exit};
use crate::git::pick::{Candidate, Conflict, Picked};
use crate::git::{self, parse_oid, writer, HeadState, Oid, Repo};
use crate::journal::{self, Intent, Journal, Scope, Transaction};
use crate::plan::{carry_out, Carried, Execute, Plan, RefStep, Rev, Step};
use crate::testrun::{self, TestRun};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The failed branch to take good commits from
    pub failed_branch: Option<String>,
    /// Create the recovery branch here (default HEAD; `last-green`: HEAD of the last passing `test` run)
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

/// The recovery's steps, as the dry run shows them and as they are run.
#[derive(Debug, Clone)]
enum RecoverStep {
    /// Create the recovery branch (`RefStep::CreateBranch`) and switch to it.
    Branch(RefStep),
    /// Cherry-pick one chosen commit onto the branch, in memory.
    Pick {
        commit: Rev,
        summary: String,
        already_applied: bool,
        /// The reports folder, when the commit changes it.
        reports_left_out: Option<String>,
    },
    /// Write the work tree and the index once: the final tree, or the
    /// conflict.
    Write,
    /// Run the tests on the recovered branch.
    Test,
    /// `--skip`: drop the commit that conflicted.
    Drop(Rev),
    /// `--continue`: commit the resolution from the index.
    Commit(Rev),
    /// `--continue` / `--skip`: pick the commits left, write the work tree
    /// and the index, run the tests.
    PickRest { count: usize },
}

impl Step for RecoverStep {}

impl fmt::Display for RecoverStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoverStep::Branch(step) => write!(f, "{step} and switch to it"),
            RecoverStep::Pick {
                commit,
                summary,
                already_applied,
                reports_left_out,
            } => {
                write!(
                    f,
                    "cherry-pick {} {}",
                    commit.short,
                    crate::ui::quote(summary)
                )?;
                if *already_applied {
                    f.write_str(" (already applied: may be empty)")?;
                }
                if let Some(reports) = reports_left_out {
                    write!(f, " (its changes to {reports}/ are left out)")?;
                }
                Ok(())
            }
            RecoverStep::Write => f.write_str("write the work tree and the index once, at the end"),
            RecoverStep::Test => f.write_str("run the tests"),
            RecoverStep::Drop(commit) => write!(
                f,
                "drop {} and reset the work tree to the recovery branch",
                commit.short
            ),
            RecoverStep::Commit(commit) => write!(
                f,
                "commit the resolution of {} from the index",
                commit.short
            ),
            RecoverStep::PickRest { count } => {
                write!(f, "cherry-pick the {count} commit(s) left")
            }
        }
    }
}

/// The JSON fields known from the plan of `recover FAILED`.
#[derive(Serialize)]
struct Planned<'a> {
    branch: &'a str,
    onto: String,
    failed_branch: &'a str,
}

/// The JSON fields of a run of picks.
#[derive(Serialize)]
struct Report<'a> {
    operation_id: &'a str,
    branch: &'a str,
    picked: &'a [PickedRecord],
    skipped: &'a [String],
    reports_left: &'a [String],
    remaining: usize,
    skipped_by_user: &'a [String],
    conflict: Option<ConflictReport<'a>>,
    tests: Option<TestsReport<'a>>,
}

#[derive(Serialize)]
struct ConflictReport<'a> {
    commit: String,
    paths: &'a [String],
}

#[derive(Serialize)]
struct TestsReport<'a> {
    command: &'a str,
    passed: Option<u64>,
    failed: Option<u64>,
    exit_code: Option<i32>,
    timed_out: bool,
    succeeded: bool,
}

#[derive(Serialize)]
struct Resumed<'a> {
    resumed: &'a str,
}

// ----- recover FAILED ------------------------------------------------------------

fn start(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let (failed_name, picks) = failed_and_picks(repo, args)?;
    let failed_name = &failed_name;
    refuse_to_start(ctx)?;
    let head = head_commit(repo)?;
    refuse_tracked_changes(ctx)?;
    super::refuse_sparse(repo, "recover")?;
    let failed = repo.resolve_commit(failed_name)?;
    let onto = resolve_onto(repo, args, head)?;
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
        return Ok(nothing(format!(
            "{failed_name} has no commits since the baseline `{}`, so there is nothing to recover (see `git log {}..{failed_name}`)",
            base.name, base.name
        )));
    }
    let chosen = choose(ctx, args, &picks, &candidates)?;
    if chosen.is_empty() && args.all {
        return Ok(nothing(format!(
            "every commit of {failed_name} since the baseline is already on the target or a merge, so there is nothing to recover (see `git cherry -v HEAD {failed_name}`)"
        )));
    }
    if chosen.is_empty() {
        return Err(user("no commit was chosen, so nothing was recovered")
            .hint("pick some with --pick SHA…, or all of them with --all")
            .into());
    }
    let branch_name = new_branch_name(ctx, &format!("recovery/{}", clock::stamp(&clock::now())))?;
    let plan = plan(ctx, args, &branch_name, onto, &chosen)?;
    let mut outcome = Outcome::new();
    outcome.data(&Planned {
        branch: &branch_name,
        onto: onto.to_string(),
        failed_branch: failed_name,
    });
    if !confirmed(ctx, args, &picks, chosen.len(), &branch_name)? {
        outcome.line("Nothing was changed.");
        return Ok(outcome);
    }
    let state = initial_state(args, &branch_name, failed_name, onto, &chosen);
    let exec = Sequencer::new(ctx, state, onto, Some(repo.head_state()?.describe()));
    carry(ctx, &plan, exec, outcome)
}

/// HEAD's commit, which a recovery goes onto unless `--onto` says.
fn head_commit(repo: &Repo) -> anyhow::Result<Oid> {
    match repo.head_commit()? {
        Some(head) => Ok(head),
        None => Err(user("HEAD has no commit yet")
            .hint("commit something first, or pass --onto REV")
            .into()),
    }
}

/// The commit to recover onto: `--onto`, or HEAD.
fn resolve_onto(repo: &Repo, args: &Args, head: Oid) -> anyhow::Result<Oid> {
    Ok(match &args.onto {
        // The commit HEAD was at when the tests last passed.
        Some(rev) if rev == crate::journal::green::REV => {
            crate::journal::green::resolve(repo)?.head_oid()?
        }
        Some(rev) => repo.resolve_commit(rev)?,
        None => head,
    })
}

/// Whether to go on: the user is asked only when they chose nothing on
/// the command line, can answer, and this is not a dry run.
fn confirmed(
    ctx: &Context,
    args: &Args,
    picks: &[String],
    count: usize,
    branch_name: &str,
) -> anyhow::Result<bool> {
    let asks = !ctx.ui.yes && ctx.ui.can_prompt() && picks.is_empty() && !args.all;
    if asks && !ctx.ui.dry_run {
        let question = format!("Recover {count} commit(s) onto {branch_name}?");
        return ctx.ui.confirm(ctx.prompter.as_ref(), &question);
    }
    Ok(true)
}

/// The state of a new recovery: every chosen commit still to pick.
fn initial_state(
    args: &Args,
    branch_name: &str,
    failed_name: &str,
    onto: Oid,
    chosen: &[Candidate],
) -> State {
    State {
        v: STATE_VERSION,
        branch: format!("refs/heads/{branch_name}"),
        failed: failed_name.to_string(),
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
    }
}

/// A recovery in progress, a git operation in progress or a held index
/// lock refuse a new recovery; the state of one that was undone or left is
/// cleared.
fn refuse_to_start(ctx: &Context) -> anyhow::Result<()> {
    let repo = &ctx.repo;
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
    journal::check_index_unlocked(repo)
}

/// Nothing to pick, nothing recorded (docs/invariants.md, I11): no branch,
/// no journal; the one line says why, as the scaffold says it. It is
/// known before a branch name or a state exists to build a plan from.
fn nothing(why: String) -> Outcome {
    let mut outcome = Outcome::new();
    outcome.nothing_to_do(why);
    outcome
}

/// The plan of `recover FAILED`: the branch, one pick a chosen commit, the
/// work tree written once, the tests.
fn plan(
    ctx: &Context,
    args: &Args,
    branch_name: &str,
    onto: Oid,
    chosen: &[Candidate],
) -> anyhow::Result<Plan<RecoverStep>> {
    let repo = &ctx.repo;
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let mut plan = Plan::new();
    plan.push(RecoverStep::Branch(RefStep::CreateBranch {
        name: branch_name.to_string(),
        at: Rev::new(repo, onto),
    }));
    for c in chosen {
        plan.push(RecoverStep::Pick {
            commit: Rev::new(repo, c.id),
            summary: c.summary.clone(),
            already_applied: c.already_applied,
            reports_left_out: repo
                .changes_folder(c.id, &reports)?
                .then(|| reports.to_string()),
        });
    }
    plan.push(RecoverStep::Write);
    if !args.no_tests {
        plan.push(RecoverStep::Test);
    }
    Ok(plan)
}

/// Run the plan through the scaffold and report the picks.
fn carry(
    ctx: &Context,
    plan: &Plan<RecoverStep>,
    exec: Sequencer,
    mut outcome: Outcome,
) -> anyhow::Result<Outcome> {
    let carried = carry_out(ctx, plan, exec, &mut outcome)?;
    match carried {
        Carried::Done {
            done: (state, stop),
            id,
        } => finish(ctx, &state, stop, id, outcome),
        Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => Ok(outcome),
    }
}

/// Carries out the recovery's steps in one operation: the branch, the
/// picks, the work tree, the tests; or the resolution and the rest.
struct Sequencer {
    state: State,
    /// The recovery branch's commit so far.
    tip: Oid,
    /// Where HEAD was before (`recover FAILED` only).
    from: Option<String>,
    conflict: Option<(Oid, Conflict)>,
    bar: Option<ProgressBar>,
    stop: Option<Stop>,
    timeout: Duration,
}

impl Sequencer {
    fn new(ctx: &Context, state: State, tip: Oid, from: Option<String>) -> Sequencer {
        Sequencer {
            state,
            tip,
            from,
            conflict: None,
            bar: None,
            stop: None,
            timeout: Duration::from_secs(ctx.settings.test_timeout_secs),
        }
    }
}

impl Execute<RecoverStep> for Sequencer {
    type Done = (State, Stop);

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        Ok(intent(ctx, scope(&self.state.branch)))
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &RecoverStep,
    ) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        if self.state.ops.last().map(String::as_str) != Some(tx.id()) {
            self.state.ops.push(tx.id().to_string());
        }
        match step {
            RecoverStep::Branch(create) => {
                tx.apply_ref_step(create)?;
                tx.set_head(&HeadState::Symbolic(self.state.branch.clone()))?;
                if let Some(from) = &self.from {
                    tx.detail("from", from.as_str());
                }
            }
            RecoverStep::Pick { commit, .. } => {
                // After a conflict the commits left stay to pick.
                if self.conflict.is_none() {
                    let count = self.state.remaining.len() as u64;
                    let bar = self
                        .bar
                        .get_or_insert_with(|| ctx.ui.progress(count, "cherry-picking"));
                    let next = self.state.remaining.first().map(String::as_str);
                    anyhow::ensure!(
                        next == Some(commit.id.to_string().as_str()),
                        "internal error: the plan and the recovery state differ at {}",
                        commit.short
                    );
                    self.conflict =
                        pick_next(ctx, tx, &mut self.state, &mut self.tip, self.timeout)?;
                    if self.conflict.is_none() {
                        bar.inc(1);
                    }
                }
            }
            RecoverStep::Write => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let conflict = self.conflict.take();
                self.stop = Some(write_out(ctx, tx, &mut self.state, self.tip, conflict)?);
            }
            RecoverStep::Test => {
                if let Some(Stop::Done { tests }) = &mut self.stop {
                    *tests = final_tests(ctx, repo, repo.commit_tree(self.tip)?, self.timeout);
                }
            }
            RecoverStep::Drop(commit) => {
                self.state.current = None;
                self.state.skipped.push(commit.id.to_string());
                self.state.dropped.push(commit.id.to_string());
            }
            RecoverStep::Commit(commit) => {
                self.state.current = None;
                commit_resolution(ctx, tx, &mut self.state, &mut self.tip, commit.id)?;
            }
            RecoverStep::PickRest { .. } => {
                let conflict = pick_all(ctx, tx, &mut self.state, &mut self.tip, self.timeout)?;
                let mut stop = write_out(ctx, tx, &mut self.state, self.tip, conflict)?;
                if let Stop::Done { tests } = &mut stop {
                    if !self.state.no_tests {
                        *tests = final_tests(ctx, repo, repo.commit_tree(self.tip)?, self.timeout);
                    }
                }
                self.stop = Some(stop);
            }
        }
        Ok(())
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<(State, Stop)> {
        let stop = self
            .stop
            .take()
            .context("internal error: the recovery did not write the work tree")?;
        Ok((self.state.clone(), stop))
    }
}

/// A step of the recovery for the journal: the reports folder is never written
/// by it (docs/invariants.md, I8), whatever the picked commits hold there.
fn intent(ctx: &Context, scope: Scope) -> Intent {
    let mut intent = Intent::new("recover", &ctx.command_line, scope);
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

/// Pick the first of `state.remaining` onto the branch at `tip`, which
/// moves on: the conflict, if it stopped there.
fn pick_next(
    ctx: &Context,
    tx: &mut Transaction,
    state: &mut State,
    tip: &mut Oid,
    timeout: Duration,
) -> anyhow::Result<Option<(Oid, Conflict)>> {
    let repo = &ctx.repo;
    let committer = repo.signature()?;
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let commit = parse_oid(&state.remaining.remove(0))?;
    if repo.changes_folder(commit, &reports)? {
        state.reports_left.push(commit.to_string());
    }
    match repo.pick(commit, *tip, &committer, &reports)? {
        Picked::Commit(new) => {
            tx.update_ref(&state.branch, Some(*tip), Some(new))?;
            state.picked.push(PickedRecord {
                from: commit.to_string(),
                to: new.to_string(),
            });
            *tip = new;
            if state.test_each && !state.no_tests {
                test_each(ctx, repo, commit, new, timeout)?;
            }
        }
        Picked::Empty => state.skipped.push(commit.to_string()),
        Picked::Conflict(c) => {
            state.current = Some(commit.to_string());
            return Ok(Some((commit, c)));
        }
    }
    Ok(None)
}

/// Pick every commit of `state.remaining` onto the branch at `tip`, up to
/// the first conflict.
fn pick_all(
    ctx: &Context,
    tx: &mut Transaction,
    state: &mut State,
    tip: &mut Oid,
    timeout: Duration,
) -> anyhow::Result<Option<(Oid, Conflict)>> {
    let bar = ctx
        .ui
        .progress(state.remaining.len() as u64, "cherry-picking");
    let mut conflict = None;
    while !state.remaining.is_empty() {
        conflict = pick_next(ctx, tx, state, tip, timeout)?;
        if conflict.is_some() {
            break;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(conflict)
}

/// `--continue`: commit the resolution in the index onto the branch at
/// `tip`, which moves on (an empty resolution skips the commit).
fn commit_resolution(
    ctx: &Context,
    tx: &mut Transaction,
    state: &mut State,
    tip: &mut Oid,
    current: Oid,
) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    let committer = repo.signature()?;
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    match repo.commit_index_like(current, *tip, &committer, &reports)? {
        Some((new, _)) if new != *tip => {
            tx.update_ref(&state.branch, Some(*tip), Some(new))?;
            state.picked.push(PickedRecord {
                from: current.to_string(),
                to: new.to_string(),
            });
            *tip = new;
        }
        Some(_) => state.skipped.push(current.to_string()),
        None => anyhow::bail!("the index has conflicts again"),
    }
    Ok(())
}

/// Write the work tree and the index once, after the picks: the branch's
/// tree at `tip`, or the conflict; then keep or clear the recovery's state.
fn write_out(
    ctx: &Context,
    tx: &mut Transaction,
    state: &mut State,
    tip: Oid,
    conflict: Option<(Oid, Conflict)>,
) -> anyhow::Result<Stop> {
    let repo = &ctx.repo;
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
    let smudge = if repo.has_checkout_filters(target)? {
        let written = changes.iter().filter(|c| c.new.is_some()).map(|c| &c.path);
        repo.checkout_conversions(&[target, scan.index_tree], false, written)?
    } else {
        crate::git::Smudge::Never
    };
    let extras = writer::Extras {
        current_empty_dirs: &[],
        target_empty_dirs: &scan.empty_dirs,
        target_modes: &[],
        current_untracked: &[],
        smudge,
        changed_after: Some(tx.scan_started()),
        shared: None,
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
    let bytes = match index {
        None => git::index::index_for_tree(repo, target, &written)?,
        Some(c) => c.index_bytes(repo, &written)?,
    };
    tx.write_index(Some(&bytes))?;
    if index.is_none() {
        git::index::remember_tree(repo, target);
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
            Ok(Stop::Done { tests: None })
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
    let branch_name = state.branch.trim_start_matches("refs/heads/");
    report_picks(ctx, state, &mut outcome);
    let mut report = Report {
        operation_id: &id,
        branch: branch_name,
        picked: &state.picked,
        skipped: &state.skipped,
        reports_left: &state.reports_left,
        remaining: state.remaining.len(),
        skipped_by_user: &state.dropped,
        conflict: None,
        tests: None,
    };
    match &stop {
        Stop::Conflict { commit, paths } => {
            report.conflict = Some(ConflictReport {
                commit: commit.to_string(),
                paths,
            });
            outcome.data(&report);
            report_conflict(ctx, state, *commit, paths, &mut outcome);
        }
        Stop::Done { tests } => {
            report.tests = tests.as_ref().map(|t| TestsReport {
                command: &t.command,
                passed: t.passed,
                failed: t.failed,
                exit_code: t.exit_code,
                timed_out: t.timed_out,
                succeeded: t.succeeded(),
            });
            outcome.data(&report);
            outcome.line(format!(
                "{} {} commit(s) on {branch_name}.",
                ctx.ui.good("Recovered:"),
                state.picked.len()
            ));
            if let Some(t) = tests {
                outcome.line(format!("  tests: `{}` {}", t.command, t.summary()));
                if !t.succeeded() {
                    outcome.line("  The tests fail on the recovered branch; the commits stay picked (undo with `recover --abort`'s equivalent: `git rollback-sprint undo`).");
                    outcome.exit_with(Exit::SafetyCheck);
                }
            }
            outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
        }
    }
    Ok(outcome)
}

/// The lines for what was picked, skipped and left out.
fn report_picks(ctx: &Context, state: &State, outcome: &mut Outcome) {
    let repo = &ctx.repo;
    let branch_name = state.branch.trim_start_matches("refs/heads/");
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
}

// ----- recover --continue / --skip -----------------------------------------------

fn resume(ctx: &Context, skip: bool) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let what = if skip { "--skip" } else { "--continue" };
    let (state, current) = stopped_recovery(ctx, what)?;
    let tip = repo
        .ref_target(&state.branch)?
        .context("the recovery branch is gone")?;
    if !skip {
        refuse_unresolved(repo)?;
    }
    let current = Rev::new(repo, current);
    let mut plan = Plan::new();
    plan.push(if skip {
        RecoverStep::Drop(current)
    } else {
        RecoverStep::Commit(current)
    });
    plan.push(RecoverStep::PickRest {
        count: state.remaining.len(),
    });
    let exec = Sequencer::new(ctx, state, tip, None);
    let mut outcome = carry(ctx, &plan, exec, Outcome::new())?;
    if !ctx.ui.dry_run {
        outcome.data(&Resumed { resumed: what });
    }
    Ok(outcome)
}

/// The recovery stopped at a conflict, and the commit that conflicted; the
/// state of one that was undone or left is cleared.
fn stopped_recovery(ctx: &Context, what: &str) -> anyhow::Result<(State, Oid)> {
    let repo = &ctx.repo;
    let Some(state) = load_state(repo)? else {
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
    Ok((state, current))
}

/// `--continue` commits the index: every conflict must be resolved and
/// every change staged.
fn refuse_unresolved(repo: &Repo) -> anyhow::Result<()> {
    let conflicts = repo.index_conflicts()?;
    if !conflicts.is_empty() {
        let names: Vec<String> = conflicts.iter().map(|p| p.quoted()).collect();
        return Err(user(format!("still unresolved: {}", names.join(", ")))
            .hint("edit them, `git add` them, then run `git rollback-sprint recover --continue`")
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
    Ok(())
}

// ----- recover --abort -------------------------------------------------------------

/// The JSON fields of `recover --abort`: the operations it undoes…
#[derive(Serialize)]
struct Undoes<'a> {
    undoes: &'a [String],
}

/// …and the undo operations that did it.
#[derive(Serialize)]
struct Aborted<'a> {
    operation_ids: &'a [String],
}

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
    outcome.data(&Undoes { undoes: &todo });
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
        let (plan, undoing) = journal::undo::prepare(
            repo,
            &history,
            op,
            &ctx.settings.reports_dir,
            &ctx.command_line,
            true,
            false,
        )?;
        match carry_out(ctx, &plan, undoing, &mut outcome)? {
            Carried::Done { id, .. } => done.push(id),
            Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => {
                anyhow::bail!("internal error: an undo of the recovery ran outside its transaction")
            }
        }
    }
    clear_state(repo)?;
    outcome.data(&Aborted {
        operation_ids: &done,
    });
    outcome.line(format!(
        "Aborted: back to the state before `recover {}` ({} operation(s) undone); the branch {} is gone.",
        state.failed,
        todo.len(),
        state.branch.trim_start_matches("refs/heads/")
    ));
    Ok(outcome)
}

/// The human lines and the JSON error of a recovery stopped at a conflict.
fn report_conflict(
    ctx: &Context,
    state: &State,
    commit: Oid,
    paths: &[String],
    outcome: &mut Outcome,
) {
    let repo = &ctx.repo;
    let summary = repo
        .commit_info(commit)
        .map(|i| i.summary)
        .unwrap_or_default();
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
    // The JSON error says what stopped it, not the human text's
    // last line.
    outcome.data(&StoppedError {
        error: ErrorJson {
            message: format!(
                "stopped at a conflict cherry-picking {}; resolve it, `git add` the files, then `git rollback-sprint recover --continue`",
                repo.short_id(commit)
            ),
            exit_code: Exit::Stopped.code(),
        },
    });
    outcome.exit_with(Exit::Stopped);
}

/// The `error` of a recovery stopped at a conflict.
#[derive(Serialize)]
struct StoppedError {
    error: ErrorJson,
}

#[derive(Serialize)]
struct ErrorJson {
    message: String,
    exit_code: i32,
}
