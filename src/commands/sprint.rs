//! The sprint lifecycle and Level 2 sprint rollback (README: Level 2 —
//! `sprint rollback`).
//!
//! The runbook's Level 2 — write down what failed, `git add -A && git
//! commit` the work in progress onto a backup branch, `git checkout
//! baseline && git checkout -b refactor/sprint-N-retry` — as one journaled
//! operation. The WIP commit is built from the snapshot scan the journal
//! takes anyway (no second pass over the tree, the sprint branch is never
//! moved), and the switch to the baseline writes only the paths that
//! differ, as `emergency` does.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

use super::after_rollback::{self, AfterArgs, Verified, Verify};
use super::reports::markdown::{md_cell, md_code, md_text, recover_command};
use super::{baseline, check, new_branch_name, status::sprint_number, Context};
use crate::clock;
use crate::error::{user, Exit};
use crate::git::{self, snapshot, HeadState, Oid, RepoPath};
use crate::journal::{Intent, Scope, Transaction};
use crate::metrics;
use crate::plan::{carry_out, Carried, Execute, Phase, Plan, RefStep, Rev, Step};
use crate::settings;
use crate::testrun::{self, TestRun};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Check, checkpoint, and switch to refactor/sprint-N
    Start {
        /// The sprint number
        n: u32,
        /// Do not run the baseline's tests in the checks
        #[arg(long)]
        no_tests: bool,
    },
    /// Document the failure, back up the work, start a retry branch
    Rollback(RollbackArgs),
    /// The sprint succeeded: test HEAD, move the baseline to it
    Finish {
        /// The sprint number (default: from the branch name)
        n: Option<u32>,
        /// Do not run the tests on HEAD's tree first
        #[arg(long)]
        no_tests: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The sprint number (default: from the branch name)
    pub n: Option<u32>,
    /// Why (in the report and the metrics)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// critical, high, medium or low (P0–P3 accepted; default high)
    #[arg(long, value_name = "S")]
    pub severity: Option<String>,
    /// Do not run the tests for the report
    #[arg(long)]
    pub no_tests: bool,
    /// Record this recovery time in the metrics instead of the measured one
    #[arg(long, value_name = "MINUTES")]
    pub recovery_minutes: Option<f64>,
    #[command(flatten)]
    pub after: AfterArgs,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    match &args.action {
        Action::Start { n, no_tests } => start(ctx, *n, !no_tests),
        Action::Rollback(a) => rollback(ctx, a),
        Action::Finish { n, no_tests } => finish(ctx, *n, !no_tests),
    }
}

/// N as given, or read from the current branch's name.
fn sprint_of(given: Option<u32>, branch: Option<&str>, command: &str) -> anyhow::Result<u32> {
    if let Some(n) = given {
        return Ok(n);
    }
    match branch {
        Some(b) => sprint_number(b).ok_or_else(|| {
            user(format!("the branch `{b}` does not name a sprint"))
                .hint(format!(
                    "pass the sprint number: git rollback-sprint {command} N"
                ))
                .into()
        }),
        None => Err(
            user("HEAD is detached, so there is no branch to read the sprint number from")
                .hint(format!(
                    "pass the sprint number: git rollback-sprint {command} N"
                ))
                .into(),
        ),
    }
}

fn head_commit(ctx: &Context, what: &str) -> anyhow::Result<Oid> {
    ctx.repo.head_commit()?.ok_or_else(|| {
        user("HEAD has no commit yet")
            .hint(format!("commit something first; {what}"))
            .into()
    })
}

// ----- sprint start -------------------------------------------------------------

/// `sprint start`'s steps, as the dry run shows them and as they are run.
#[derive(Debug, Clone)]
enum StartStep {
    /// Tag HEAD as the checkpoint to come back to.
    Checkpoint { tag: String, at: Rev, n: u32 },
    /// Create `refactor/sprint-N` at HEAD.
    Branch(RefStep),
    /// Make it the current branch.
    Switch { from: String, to: String },
}

impl Step for StartStep {}

impl fmt::Display for StartStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartStep::Checkpoint { tag, at, .. } => {
                write!(f, "tag HEAD ({}) as checkpoint `{tag}`", at.short)
            }
            StartStep::Branch(step) => step.fmt(f),
            StartStep::Switch { from, to } => write!(f, "switch from {from} to {to}"),
        }
    }
}

/// The JSON fields known before the checks.
#[derive(Serialize)]
struct StartPlanned<'a> {
    sprint: u32,
    branch: &'a str,
}

/// The JSON field known once the checks passed.
#[derive(Serialize)]
struct StartCheckpoint<'a> {
    checkpoint: &'a str,
}

/// The JSON fields of a sprint that started.
#[derive(Serialize)]
struct Started<'a> {
    operation_id: &'a str,
    commit: String,
}

fn start(ctx: &Context, n: u32, run_tests: bool) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let head = head_commit(ctx, "a sprint starts from a commit")?;
    let branch = format!("refactor/sprint-{n}");
    refuse_taken_branch(ctx, &branch)?;
    let checkpoint = checkpoint_name(ctx)?;

    let mut outcome = Outcome::new();
    outcome.data(&StartPlanned {
        sprint: n,
        branch: &branch,
    });
    let checks = check::pre_sprint(ctx, run_tests)?;
    checks.report(&ctx.ui, &mut outcome);
    if !checks.passed() {
        outcome.line(format!(
            "{} sprint {n} not started: fix what is marked ✗, then run `git rollback-sprint sprint start {n}` again.",
            ctx.ui.bad("Stopped:")
        ));
        outcome.exit_with(Exit::SafetyCheck);
        return Ok(outcome);
    }

    let at = Rev::new(repo, head);
    let mut plan = Plan::new();
    plan.push(StartStep::Checkpoint {
        tag: checkpoint.clone(),
        at: at.clone(),
        n,
    });
    plan.push(StartStep::Branch(RefStep::CreateBranch {
        name: branch.clone(),
        at,
    }));
    plan.push(StartStep::Switch {
        from: repo.head_state()?.describe(),
        to: branch.clone(),
    });
    outcome.data(&StartCheckpoint {
        checkpoint: &checkpoint,
    });
    let exec = Starting {
        tag_ref: format!("refs/tags/{checkpoint}"),
        branch_ref: format!("refs/heads/{branch}"),
    };
    if let Carried::Done { id, .. } = carry_out(ctx, &plan, exec, &mut outcome)? {
        outcome.data(&Started {
            operation_id: &id,
            commit: head.to_string(),
        });
        outcome.line(format!(
            "{} sprint {n} on branch {branch} from {} (checkpoint `{checkpoint}`).",
            ctx.ui.good("Started:"),
            repo.short_id(head)
        ));
        outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    }
    Ok(outcome)
}

/// Refuse a sprint branch that exists, or that a ref in its way blocks.
fn refuse_taken_branch(ctx: &Context, branch: &str) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    let branch_ref = format!("refs/heads/{branch}");
    if let Some(at) = repo.ref_target(&branch_ref)? {
        return Err(user(format!(
            "the branch {branch} already exists (at {})",
            repo.short_id(at)
        ))
        .hint(format!(
            "continue it with `git switch {branch}`, or start another sprint number"
        ))
        .into());
    }
    if !repo.ref_name_available(&branch_ref)? {
        let blocker = repo
            .blocking_parent(&branch_ref)
            .unwrap_or_else(|| "another ref".to_string());
        return Err(
            user(format!("{blocker} exists, so {branch} cannot be created"))
                .hint(format!("rename or delete {blocker}"))
                .into(),
        );
    }
    Ok(())
}

/// `checkpoint-<ts>` (with `rollback.checkpointPrefix`), not yet taken.
fn checkpoint_name(ctx: &Context) -> anyhow::Result<String> {
    let prefix = &ctx.settings.checkpoint_prefix;
    let checkpoint = ctx.repo.unused_ref_name(
        "refs/tags/",
        &format!("{prefix}{}", clock::stamp(&clock::now())),
    )?;
    if !git::Repo::valid_tag_name(&checkpoint) {
        return Err(user(format!("`{checkpoint}` is not a valid tag name"))
            .hint("fix git config rollback.checkpointPrefix")
            .into());
    }
    Ok(checkpoint)
}

/// Carries out `sprint start`, in one operation.
struct Starting {
    tag_ref: String,
    branch_ref: String,
}

impl Execute<StartStep> for Starting {
    type Done = ();

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        let scope = Scope {
            head: true,
            refs: vec![self.tag_ref.clone(), self.branch_ref.clone()],
            ..Scope::default()
        };
        Ok(Intent::new("sprint start", &ctx.command_line, scope))
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &StartStep,
    ) -> anyhow::Result<()> {
        match step {
            StartStep::Checkpoint { tag, at, n } => {
                let object =
                    ctx.repo
                        .write_tag_object(tag, at.id, &format!("Before sprint {n}"))?;
                tx.update_ref(&self.tag_ref, None, Some(object))
            }
            StartStep::Branch(step) => tx.apply_ref_step(step),
            StartStep::Switch { .. } => tx.set_head(&HeadState::Symbolic(self.branch_ref.clone())),
        }
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

// ----- sprint rollback ----------------------------------------------------------

/// The runbook's Level 2 steps, as the dry run shows them and as they are
/// run.
#[derive(Debug, Clone)]
enum RollbackStep {
    /// 1. The tests, on the failed sprint as it is, in the work tree (with
    ///    the project's build caches), before anything changes; `None`:
    ///    no test command.
    RunTests(Option<String>),
    /// 2. The failure's record: the log and the diff stat since the
    ///    baseline start here; the stat reads every changed blob twice, so
    ///    it runs beside the switch, and the report's files are written
    ///    once it is done, before the metrics.
    Report { dir: PathBuf },
    /// 3. The work in progress, untracked files included, on the backup
    ///    branch; the sprint branch stays where it is. Only a dry run knows
    ///    the counts.
    Wip {
        n: u32,
        backup: String,
        parent: Rev,
        counts: Option<snapshot::Preview>,
    },
    /// 4. The retry branch at the baseline: only the paths that differ are
    ///    written.
    Switch {
        retry: String,
        baseline_name: String,
        at: Rev,
        /// Waited for only when the line is shown (the journal's record
        /// is written after the snapshot scan).
        differ: crate::git::Count,
    },
    /// 5. Untracked files go in the switch's own pass (they are in the WIP
    ///    commit).
    RemoveUntracked,
    /// 6. The metrics entry, inside the operation so its id is recorded.
    RecordMetrics { reports_dir: String },
    /// 7. The sprint branch (or detached HEAD) is not moved.
    Leave { what: String, at: Rev },
    /// 8. `--verify`: the tests on the rolled-back tree (the baseline's),
    ///    once the rollback is done.
    Verify(Verify),
}

impl Step for RollbackStep {
    fn phase(&self) -> Phase {
        match self {
            RollbackStep::RunTests(_) => Phase::Before,
            RollbackStep::Verify(_) => Phase::Finally,
            _ => Phase::Journaled,
        }
    }
}

impl fmt::Display for RollbackStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollbackStep::RunTests(Some(cmd)) => {
                write!(f, "run `{cmd}` in the work tree for the report")
            }
            RollbackStep::RunTests(None) => f.write_str("run no tests"),
            RollbackStep::Report { dir } => write!(
                f,
                "write the failure report to {}/ (git_log.txt, changes.txt, test_failures.txt, report.md)",
                dir.display()
            ),
            RollbackStep::Wip {
                n,
                backup,
                parent,
                counts,
            } => match counts {
                Some(p) if p.is_dirty() => write!(
                    f,
                    "commit the work in progress ({} modified, {} deleted, {} untracked{}) as \"WIP: Sprint {n} before rollback\" on new branch {backup} (parent {})",
                    p.modified,
                    p.deleted,
                    p.untracked,
                    if p.staged > 0 { ", staged changes" } else { "" },
                    parent.short
                ),
                Some(_) => write!(
                    f,
                    "create branch {backup} at {} (nothing uncommitted)",
                    parent.short
                ),
                None => write!(
                    f,
                    "commit the work in progress, untracked files included, as \"WIP: Sprint {n} before rollback\" on new branch {backup} (parent {})",
                    parent.short
                ),
            },
            RollbackStep::Switch {
                retry,
                baseline_name,
                at,
                differ,
            } => write!(
                f,
                "create branch {retry} at the baseline `{baseline_name}` ({}) and switch to it: {differ} tracked path(s) differ from HEAD",
                at.short
            ),
            RollbackStep::RemoveUntracked => f.write_str(
                "remove untracked files (they are in the WIP commit); leave ignored files",
            ),
            RollbackStep::RecordMetrics { reports_dir } => {
                write!(f, "record the rollback in {reports_dir}/metrics.json")
            }
            RollbackStep::Leave { what, at } => {
                write!(f, "leave {what} where it is ({})", at.short)
            }
            RollbackStep::Verify(v) => v.fmt(f),
        }
    }
}

/// Everything decided before anything changes.
struct Decided {
    n: u32,
    head: Oid,
    head_tree: Oid,
    branch: Option<String>,
    baseline: baseline::Baseline,
    baseline_tree: Oid,
    backup: String,
    retry: String,
    /// The report folder, relative to the work tree root.
    report_dir: PathBuf,
    test_command: Option<String>,
    stamp: String,
    verify: Option<Verify>,
}

/// The JSON fields known from the plan.
#[derive(Serialize)]
struct RollbackPlanned<'a> {
    sprint: u32,
    backup_branch: &'a str,
    retry_branch: &'a str,
    reports_dir: String,
    baseline: String,
}

/// A test run as the JSON output shows it.
#[derive(Serialize)]
struct TestsJson<'a> {
    command: &'a str,
    passed: Option<u64>,
    failed: Option<u64>,
    exit_code: Option<i32>,
    timed_out: bool,
    /// `sprint finish` only: the result came from the verify cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    cached: Option<bool>,
    succeeded: bool,
}

impl<'a> TestsJson<'a> {
    fn new(run: &'a TestRun, cached: Option<bool>) -> TestsJson<'a> {
        TestsJson {
            command: &run.command,
            passed: run.passed,
            failed: run.failed,
            exit_code: run.exit_code,
            timed_out: run.timed_out,
            cached,
            succeeded: run.succeeded(),
        }
    }
}

/// The JSON fields of a rollback that ran.
#[derive(Serialize)]
struct RolledBack<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_set_aside: Option<String>,
    operation_id: &'a str,
    wip_commit: Option<String>,
    tests: Option<TestsJson<'a>>,
    files_changed: usize,
    paths_written: usize,
    untracked_removed: usize,
    duration_seconds: f64,
    undo_command: String,
}

fn rollback(ctx: &Context, args: &RollbackArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let severity = metrics::parse_severity(args.severity.as_deref().unwrap_or("high"))?;
    metrics::check_recovery_minutes(args.recovery_minutes)?;
    let since = (args.after.since.as_deref())
        .map(|t| after_rollback::parse_since(t, &clock::now()))
        .transpose()?;
    let (decided, plan) = plan_rollback(ctx, args)?;
    let mut outcome = Outcome::new();
    outcome.data(&RollbackPlanned {
        sprint: decided.n,
        backup_branch: &decided.backup,
        retry_branch: &decided.retry,
        reports_dir: decided.report_dir.display().to_string(),
        baseline: decided.baseline.commit.to_string(),
    });
    let mut exec = RollingBack {
        args,
        decided: &decided,
        started,
        since,
        completed: false,
        verified: None,
        severity,
        reports: settings::reports_path(&ctx.settings.reports_dir),
        tests: None,
        scan: None,
        work: None,
        record: None,
        shared: crate::git::shared_blobs::SharedBlobs::new(),
        learning: None,
        done: RollbackDone::default(),
    };
    if let Carried::Done { done, id } = carry_out(ctx, &plan, &mut exec, &mut outcome)? {
        announce_rollback(ctx, &decided, &done, &id, started, &mut outcome);
        if let (Some(v), Some(verified)) = (&decided.verify, &exec.verified) {
            after_rollback::report_verify(ctx, v, verified, &id, &mut outcome);
        }
    }
    Ok(outcome)
}

/// The failure's record while the switch runs: the commits since the
/// baseline, and the diff stat being computed beside it.
struct Record {
    log: std::thread::JoinHandle<anyhow::Result<Vec<String>>>,
    stat: std::thread::JoinHandle<anyhow::Result<(String, usize)>>,
}

/// Carries out `sprint rollback`: the tests first, then every other step
/// in one operation.
struct RollingBack<'a> {
    args: &'a RollbackArgs,
    decided: &'a Decided,
    started: Instant,
    /// `--since`: when the incident began.
    since: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The operation ended: the rollback is done, and may be verified.
    completed: bool,
    verified: Option<Verified>,
    severity: &'static str,
    reports: RepoPath,
    tests: Option<TestRun>,
    scan: Option<snapshot::WorktreeScan>,
    /// The scan without the reports folder: what the WIP commit saves.
    work: Option<snapshot::WorktreeScan>,
    record: Option<Record>,
    /// The baseline's blobs, read once by the report's diff stat and the
    /// switch to the baseline, which run side by side.
    shared: std::sync::Arc<crate::git::shared_blobs::SharedBlobs>,
    /// The stat of HEAD's commit against the baseline, started before the
    /// work tree is read: the report's stat (of the work tree) then only
    /// reads and diffs what the uncommitted changes add to it.
    learning: Option<crate::git::Learning>,
    done: RollbackDone,
}

#[derive(Default)]
struct RollbackDone {
    wip: Option<Oid>,
    files_changed: usize,
    written: usize,
    untracked: usize,
    metrics_set_aside: Option<PathBuf>,
    tests: Option<TestRun>,
}

impl Execute<RollbackStep> for RollingBack<'_> {
    type Done = RollbackDone;

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        let d = self.decided;
        let scope = Scope {
            head: true,
            index: true,
            worktree: true,
            stash: false,
            refs: vec![
                format!("refs/heads/{}", d.backup),
                format!("refs/heads/{}", d.retry),
            ],
            ..Scope::default()
        };
        let mut intent = Intent::new("sprint rollback", &ctx.command_line, scope);
        intent.overwrite_with = Some(d.baseline_tree);
        intent.preserve = vec![self.reports.clone()];
        Ok(intent)
    }

    fn outside(
        &mut self,
        ctx: &Context,
        step: &RollbackStep,
        _outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        match step {
            RollbackStep::RunTests(cmd) => {
                if let Some(cmd) = cmd {
                    ctx.ui
                        .note(&format!("Running `{cmd}` for the failure report…"));
                    let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
                    self.tests = Some(testrun::run_tests(cmd, ctx.repo.workdir(), timeout)?);
                }
                // The operation comes next: what the sprint committed is
                // diffed against the baseline while the work tree is read
                // and saved, which leaves a core idle.
                let d = self.decided;
                if !ctx.ui.dry_run && d.head_tree != d.baseline_tree {
                    self.learning = Some(ctx.repo.learn_diff_stat_in_background(
                        d.baseline_tree,
                        d.head_tree,
                        self.shared.clone(),
                    ));
                }
            }
            // Only a rollback that was carried out is verified.
            RollbackStep::Verify(v) if self.completed => {
                self.verified = Some(after_rollback::run_verify(ctx, v));
            }
            RollbackStep::Verify(_) => {}
            _ => anyhow::bail!("internal error: `{step}` is journaled"),
        }
        Ok(())
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &RollbackStep,
    ) -> anyhow::Result<()> {
        if self.scan.is_none() {
            let scan = tx.scan().cloned();
            self.scan = Some(
                scan.context("internal error: sprint rollback has no snapshot of the work tree")?,
            );
        }
        match step {
            RollbackStep::Report { .. } => self.start_record(ctx)?,
            RollbackStep::Wip { backup, parent, .. } => self.commit_wip(ctx, tx, backup, parent)?,
            RollbackStep::Switch { retry, at, .. } => self.switch(ctx, tx, retry, at)?,
            // Done by the switch's pass (see the step).
            RollbackStep::RemoveUntracked => {}
            RollbackStep::RecordMetrics { reports_dir } => {
                let time = self.write_report(ctx, tx)?;
                self.record_metrics(ctx, tx, reports_dir, time)?;
            }
            RollbackStep::Leave { .. } => {}
            RollbackStep::RunTests(_) | RollbackStep::Verify(_) => {
                anyhow::bail!("internal error: `{step}` is not journaled")
            }
        }
        Ok(())
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<RollbackDone> {
        self.done.tests = self.tests.take();
        self.completed = true;
        Ok(std::mem::take(&mut self.done))
    }
}

impl RollingBack<'_> {
    fn scan(&self) -> anyhow::Result<&snapshot::WorktreeScan> {
        self.scan
            .as_ref()
            .context("internal error: sprint rollback has no snapshot of the work tree")
    }

    /// Step 2, first half: the log and the diff stat set going.
    fn start_record(&mut self, ctx: &Context) -> anyhow::Result<()> {
        crate::trace::phase("sprint: log");
        let d = self.decided;
        // The user's work, without the tool's reports folder
        // (docs/invariants.md, I8): it never goes into the WIP commit,
        // which keeps it as HEAD has it.
        let work = self
            .scan()?
            .without_folder(&ctx.repo, Some(d.head_tree), &self.reports)?;
        // The stat is of the user's work: the reports folder is left out of
        // both sides, as `git diff --stat -M baseline -- ':!rollbacks'`.
        let without_reports =
            |tree: Oid| snapshot::with_folder_from(&ctx.repo, tree, None, &self.reports);
        let stat = ctx.repo.diff_stat_in_background(
            without_reports(d.baseline_tree)?,
            without_reports(work.tree)?,
            self.shared.clone(),
            self.learning.take(),
        );
        let log = ctx
            .repo
            .log_oneline_in_background(d.baseline.commit, d.head);
        self.work = Some(work);
        self.record = Some(Record { log, stat });
        Ok(())
    }

    /// Step 3: the WIP commit (when anything is uncommitted) and the backup
    /// branch at it.
    fn commit_wip(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        backup: &str,
        parent: &Rev,
    ) -> anyhow::Result<()> {
        crate::trace::phase("sprint: WIP commit");
        let d = self.decided;
        let repo = &ctx.repo;
        let work = self
            .work
            .as_ref()
            .context("internal error: the failure's record was not started")?;
        self.done.untracked = work.untracked.len();
        if work.tree != d.head_tree {
            self.done.wip = Some(snapshot::commit_snapshot(
                repo,
                work.tree,
                &[parent.id],
                &format!(
                    "WIP: Sprint {} before rollback\n\nSaved by git-rollback-sprint before rolling back to {}.\n",
                    d.n, d.baseline.name
                ),
            )?);
        }
        tx.apply_ref_step(&RefStep::CreateBranch {
            name: backup.to_string(),
            at: Rev::new(repo, self.done.wip.unwrap_or(parent.id)),
        })
    }

    /// Step 4: the work tree and the index to the baseline, then the retry
    /// branch at it as HEAD.
    fn switch(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        retry: &str,
        at: &Rev,
    ) -> anyhow::Result<()> {
        let written = super::reset_to_trees(
            ctx,
            tx,
            self.scan()?,
            self.decided.baseline_tree,
            None,
            "switching to the baseline",
            Some(self.shared.clone()),
        )?;
        self.done.written = written;
        crate::trace::phase("sprint: refs and metrics");
        tx.apply_ref_step(&RefStep::CreateBranch {
            name: retry.to_string(),
            at: at.clone(),
        })?;
        tx.set_head(&HeadState::Symbolic(format!("refs/heads/{retry}")))
    }

    /// Step 2, second half, once the switch is done: the report's files.
    /// Returns the report's time, which the metrics record too.
    fn write_report(&mut self, ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<String> {
        crate::trace::phase("sprint: reports");
        let d = self.decided;
        let record = self
            .record
            .take()
            .context("internal error: the failure's record was not started")?;
        let written = self.done.written;
        let (stat, files_changed) = match record.stat.join() {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => (
                format!("The diff stat could not be computed: {e:#}\n"),
                written,
            ),
            Err(_) => (
                "The diff stat could not be computed.\n".to_string(),
                written,
            ),
        };
        self.done.files_changed = files_changed;
        // The work tree is already switched: a log that cannot be read is
        // said in the report, as a stat that cannot be computed is.
        let (log, commits) = match record.log.join() {
            Ok(Ok(lines)) => {
                let n = lines.len();
                (lines, n)
            }
            Ok(Err(e)) => (
                vec![format!(
                    "The commits since the baseline could not be listed: {e:#}"
                )],
                0,
            ),
            Err(_) => (
                vec!["The commits since the baseline could not be listed.".to_string()],
                0,
            ),
        };
        let op_id = tx.id().to_string();
        let report = Report {
            plan: d,
            reason: self.args.reason.as_deref(),
            severity: self.severity,
            tests: self.tests.as_ref(),
            files_changed,
            commits,
            operation_id: &op_id,
            time: clock::rfc3339(&clock::now()),
        };
        crate::reports_folder::prepare(&ctx.repo, &ctx.settings.reports_dir)?;
        write_reports(ctx.repo.workdir(), &d.report_dir, &report, &log, &stat)?;
        crate::fault::point("after-reports");
        tx.detail("reports_dir", d.report_dir.display().to_string());
        Ok(report.time)
    }

    /// Step 6: the metrics entry.
    fn record_metrics(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        reports_dir: &str,
        time: String,
    ) -> anyhow::Result<()> {
        let d = self.decided;
        let cause = self.args.reason.clone().unwrap_or_else(|| {
            if self.tests.as_ref().is_some_and(|t| !t.succeeded()) {
                "tests failing".to_string()
            } else {
                "sprint rollback".to_string()
            }
        });
        let op_id = tx.id().to_string();
        let backup_ref = format!("refs/heads/{}", d.backup);
        let (recovery_minutes, recovery_time_measures) = after_rollback::recovery_minutes(
            self.args.recovery_minutes,
            after_rollback::incident_start(ctx, self.since),
            self.started.elapsed(),
        );
        let entry = metrics::Entry {
            timestamp: time,
            sprint: Some(d.n),
            severity: self.severity,
            cause: &cause,
            recovery_minutes,
            kind: "sprint",
            operation_id: Some(&op_id),
            duration_seconds: self.started.elapsed().as_secs_f64(),
            files_changed: self.done.files_changed,
            backup_ref: Some(&backup_ref),
            undone: false,
            // Set once the verification passes, after the rollback.
            verified: false,
            recovery_time_measures,
        };
        self.done.metrics_set_aside = metrics::record(tx, reports_dir, &d.stamp, &entry)?;
        Ok(())
    }
}

/// What the rollback did, where the work is, and how to undo it.
fn announce_rollback(
    ctx: &Context,
    d: &Decided,
    done: &RollbackDone,
    id: &str,
    started: Instant,
    outcome: &mut Outcome,
) {
    let repo = &ctx.repo;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(aside) = &done.metrics_set_aside {
        ctx.ui.warn(&format!(
            "the metrics file was corrupt; it was moved to {} and a new one started",
            aside.display()
        ));
    }
    outcome.data(&RolledBack {
        metrics_set_aside: done
            .metrics_set_aside
            .as_ref()
            .map(|a| a.display().to_string()),
        operation_id: id,
        wip_commit: done.wip.map(|w| w.to_string()),
        tests: done.tests.as_ref().map(|t| TestsJson::new(t, None)),
        files_changed: done.files_changed,
        paths_written: done.written,
        untracked_removed: done.untracked,
        duration_seconds: metrics::round2(seconds),
        undo_command: format!("git rollback-sprint undo {id}"),
    });
    outcome.line(format!(
        "{} sprint {} is on hold; you are on {} at the baseline `{}` ({}).",
        ctx.ui.good("Rolled back:"),
        d.n,
        d.retry,
        d.baseline.name,
        repo.short_id(d.baseline.commit)
    ));
    match (&d.branch, done.wip) {
        (Some(b), Some(w)) => outcome.line(format!(
            "  your work: branch {} ({}: the WIP commit on top of {b}, which did not move)",
            d.backup,
            repo.short_id(w)
        )),
        (None, Some(w)) => outcome.line(format!(
            "  your work: branch {} ({}: the WIP commit on top of {})",
            d.backup,
            repo.short_id(w),
            repo.short_id(d.head)
        )),
        (_, None) => outcome.line(format!(
            "  your work: branch {} at {} (there was nothing uncommitted)",
            d.backup,
            repo.short_id(d.head)
        )),
    };
    if let Some(t) = &done.tests {
        outcome.line(format!("  tests: `{}` {}", t.command, t.summary()));
    }
    outcome.line(format!(
        "  report: {}/report.md ({} file(s) changed in the sprint)",
        d.report_dir.display(),
        done.files_changed
    ));
    outcome.line(format!(
        "  bring good commits back with: {}",
        recover_command(d.branch.as_deref().unwrap_or(&d.backup))
    ));
    outcome.line(format!(
        "Undo everything with: git rollback-sprint undo {id}"
    ));
}

/// Refuse what cannot be rolled back, and decide names and folders.
/// What the plan decides, and the count of files between HEAD and the
/// baseline, made beside the checks that read the index.
fn decide_rollback(
    ctx: &Context,
    args: &RollbackArgs,
) -> anyhow::Result<(Decided, crate::git::Counting)> {
    let repo = &ctx.repo;
    super::refuse_operation_in_progress(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    let head = head_commit(ctx, "a sprint rollback saves the sprint's commits")?;
    let branch = repo.current_branch()?;
    let n = sprint_of(args.n, branch.as_deref(), "sprint rollback")?;
    crate::reports_folder::check(repo.workdir(), &ctx.settings.reports_dir)?;
    let baseline = baseline::resolve(repo, &ctx.settings)?;
    let counting = repo.count_files_changed(head, baseline.commit);
    super::refuse_sparse(repo, "sprint rollback")?;
    let head_tree = repo.commit_tree(head)?;
    let baseline_tree = repo.commit_tree(baseline.commit)?;
    repo.refuse_inexact_commit(
        baseline.commit,
        &format!("the baseline `{}`", baseline.name),
    )?;
    super::refuse_filter_drivers(repo, baseline_tree)?;
    let stamp = clock::stamp(&clock::now());
    let backup = new_branch_name(ctx, &format!("backup/sprint-{n}-{stamp}"))?;
    let retry = new_branch_name(ctx, &format!("refactor/sprint-{n}-retry"))?;
    let report_dir = report_folder(repo.workdir(), &ctx.settings.reports_dir, n);
    let verify = after_rollback::plan_verify(ctx, &args.after, baseline_tree)?;
    let test_command = if args.no_tests {
        None
    } else {
        match testrun::test_command(repo, ctx.settings.test_command.as_deref(), head_tree) {
            Ok(cmd) => Some(cmd),
            Err(_) => {
                ctx.ui.warn(
                    "no test command is configured or detected, so the report has no test results (set git config rollback.testCommand)",
                );
                None
            }
        }
    };
    let decided = Decided {
        n,
        head,
        head_tree,
        branch,
        baseline,
        baseline_tree,
        backup,
        retry,
        report_dir,
        test_command,
        stamp,
        verify,
    };
    Ok((decided, counting))
}

fn plan_rollback(
    ctx: &Context,
    args: &RollbackArgs,
) -> anyhow::Result<(Decided, Plan<RollbackStep>)> {
    let repo = &ctx.repo;
    let (d, counting) = decide_rollback(ctx, args)?;
    let head_state = repo.head_state()?;
    let head = Rev::new(repo, d.head);
    // Counting the changes costs a status scan; a real run commits them
    // from the snapshot scan instead, so only a dry run counts here.
    let counts = if ctx.ui.dry_run {
        Some(snapshot::preview(repo, false, None)?)
    } else {
        None
    };
    let mut plan = Plan::new();
    plan.push(RollbackStep::RunTests(d.test_command.clone()));
    plan.push(RollbackStep::Report {
        dir: d.report_dir.clone(),
    });
    plan.push(RollbackStep::Wip {
        n: d.n,
        backup: d.backup.clone(),
        parent: head.clone(),
        counts,
    });
    plan.push(RollbackStep::Switch {
        retry: d.retry.clone(),
        baseline_name: d.baseline.name.clone(),
        at: Rev::new(repo, d.baseline.commit),
        differ: counting.later(repo)?,
    });
    plan.push(RollbackStep::RemoveUntracked);
    plan.push(RollbackStep::RecordMetrics {
        reports_dir: ctx.settings.reports_dir.clone(),
    });
    plan.push(RollbackStep::Leave {
        what: head_state.describe(),
        at: head,
    });
    if let Some(v) = &d.verify {
        plan.push(RollbackStep::Verify(v.clone()));
    }
    Ok((d, plan))
}

/// `<reports>/sprint-N`, or `sprint-N-2`, `-3`… when a folder by that name
/// already holds something: an earlier report is never overwritten.
fn report_folder(workdir: &Path, reports_dir: &str, n: u32) -> PathBuf {
    let base = Path::new(reports_dir).join(format!("sprint-{n}"));
    let mut k = 1;
    loop {
        let candidate = if k == 1 {
            base.clone()
        } else {
            PathBuf::from(format!("{}-{k}", base.display()))
        };
        let full = workdir.join(&candidate);
        let taken = match fs::symlink_metadata(&full) {
            Err(_) => false,
            Ok(meta) if meta.is_dir() => fs::read_dir(&full)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true),
            Ok(_) => true,
        };
        if !taken {
            return candidate;
        }
        k += 1;
    }
}

struct Report<'a> {
    plan: &'a Decided,
    reason: Option<&'a str>,
    severity: &'a str,
    tests: Option<&'a TestRun>,
    files_changed: usize,
    commits: usize,
    operation_id: &'a str,
    time: String,
}

fn write_reports(
    workdir: &Path,
    dir: &Path,
    report: &Report,
    log: &[String],
    stat: &str,
) -> anyhow::Result<()> {
    let full = workdir.join(dir);
    fs::create_dir_all(&full).with_context(|| format!("could not create {}", full.display()))?;
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = full.join(name);
        fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))
    };
    let mut git_log = log.join("\n");
    if !git_log.is_empty() {
        git_log.push('\n');
    }
    write("git_log.txt", &git_log)?;
    write(
        "changes.txt",
        if stat.is_empty() {
            "No changes since the baseline.\n"
        } else {
            stat
        },
    )?;
    let failures = match (report.tests, &report.plan.test_command) {
        (Some(t), _) => format!(
            "$ {}\n{}{}\n--\n{}\n",
            t.command,
            t.output,
            if t.output.ends_with('\n') || t.output.is_empty() {
                ""
            } else {
                "\n"
            },
            t.summary()
        ),
        (None, _) => "The tests were not run (--no-tests, or no test command is configured: git config rollback.testCommand).\n".to_string(),
    };
    write("test_failures.txt", &failures)?;
    write("report.md", &report_markdown(report))?;
    Ok(())
}

fn report_markdown(r: &Report) -> String {
    let plan = r.plan;
    let branch = match &plan.branch {
        Some(b) => format!("{} at {}", md_code(b), short(plan.head)),
        None => format!("detached HEAD at {}", short(plan.head)),
    };
    let failing = match r.tests {
        None => "not run".to_string(),
        Some(t) => match (t.failed, t.passed) {
            (Some(f), Some(p)) => format!("{f} (of {})", f + p),
            (Some(f), None) => f.to_string(),
            (None, _) if t.succeeded() => "0".to_string(),
            (None, _) => format!("unknown ({})", t.summary()),
        },
    };
    let reason = r
        .reason
        .map(md_text)
        .unwrap_or_else(|| "(none given)".to_string());
    let mut s = String::new();
    s.push_str(&format!("# Sprint {} rollback\n\n", plan.n));
    s.push_str("| | |\n| --- | --- |\n");
    let rows = [
        ("Date", r.time.clone()),
        ("Branch", branch),
        (
            "Baseline",
            format!(
                "{} at {}",
                md_code(&plan.baseline.name),
                short(plan.baseline.commit)
            ),
        ),
        ("Reason", reason),
        ("Severity", r.severity.to_string()),
        ("Failing tests", failing),
        (
            "Files changed",
            format!("{} (see changes.txt)", r.files_changed),
        ),
        (
            "Commits since the baseline",
            format!("{} (see git_log.txt)", r.commits),
        ),
        (
            "Decision",
            format!(
                "Level 2 sprint rollback: work saved on {}, retry from the baseline on {}",
                md_code(&plan.backup),
                md_code(&plan.retry)
            ),
        ),
        ("Operation", md_code(r.operation_id)),
    ];
    for (k, v) in rows {
        s.push_str(&format!("| {k} | {} |\n", md_cell(&v)));
    }
    s.push_str("\n## Next steps\n\n");
    s.push_str(&format!(
        "* Bring the good commits back: {}\n",
        md_code(&recover_command(
            plan.branch.as_deref().unwrap_or(&plan.backup)
        ))
    ));
    s.push_str(&format!(
        "* Undo this rollback: `git rollback-sprint undo {}`\n",
        r.operation_id
    ));
    if let Some(t) = r.tests {
        s.push_str(&format!(
            "\n## Tests\n\n{} {} — output in test_failures.txt\n",
            md_code(&t.command),
            md_text(&t.summary())
        ));
    }
    s
}

fn short(id: Oid) -> String {
    git::short(&id.to_string()).to_string()
}

// ----- sprint finish ------------------------------------------------------------

/// `sprint finish`'s steps, as the dry run shows them and as they are run.
#[derive(Debug, Clone)]
enum FinishStep {
    /// The tests on HEAD's tree: run (or found in the cache) while
    /// planning, since a failure stops the command before anything changes;
    /// the operation records what they said.
    Tests(FinishTests),
    /// Keep the old baseline's tag object under `<name>-prev-<ts>`.
    KeepOldBaseline(RefStep),
    /// Point the baseline tag at HEAD, with a new tag object.
    MoveBaseline {
        name: String,
        refname: String,
        target: Rev,
        summary: String,
        message: String,
        old_tag: Option<Oid>,
    },
    /// The baseline is HEAD already.
    LeaveBaseline { name: String },
    /// Tag HEAD as `sprint-N-done`.
    Tag {
        tag: String,
        at: Rev,
        message: String,
    },
}

#[derive(Debug, Clone)]
enum FinishTests {
    /// They passed; the line says how (and whether from the cache).
    Passed(String),
    /// A dry run that found no cached result.
    WouldRun { command: String, tree: Rev },
    /// `--no-tests`.
    Skipped,
}

impl Step for FinishStep {}

impl fmt::Display for FinishStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinishStep::Tests(FinishTests::Passed(line)) => write!(f, "{line} (passed)"),
            FinishStep::Tests(FinishTests::WouldRun { command, tree }) => write!(
                f,
                "run `{command}` on HEAD's tree {} in a temporary directory; stop if it fails",
                tree.short
            ),
            FinishStep::Tests(FinishTests::Skipped) => {
                f.write_str("skip the tests on HEAD (--no-tests)")
            }
            FinishStep::KeepOldBaseline(step) => step.fmt(f),
            FinishStep::MoveBaseline {
                name,
                target,
                summary,
                ..
            } => write!(f, "tag {} ({summary}) as `{name}`", target.short),
            FinishStep::LeaveBaseline { name } => {
                write!(
                    f,
                    "leave the baseline `{name}` where it is: it is HEAD already"
                )
            }
            FinishStep::Tag { tag, at, .. } => write!(f, "tag HEAD ({}) as `{tag}`", at.short),
        }
    }
}

/// Everything `sprint finish` decided before the tests.
struct Finishing {
    n: u32,
    head: Oid,
    summary: String,
    baseline: String,
    moving: Option<baseline::Move>,
    done_tag: String,
}

/// The JSON fields known from the plan.
#[derive(Serialize)]
struct FinishPlanned<'a> {
    sprint: u32,
    baseline: &'a str,
    commit: String,
    previous: Option<&'a str>,
    tag: &'a str,
}

/// The tests' JSON field: `null` with `--no-tests`, absent when a dry run
/// would run them.
#[derive(Serialize)]
struct FinishTested<'a> {
    tests: Option<TestsJson<'a>>,
}

/// The JSON field of a finish that ran.
#[derive(Serialize)]
struct Finished<'a> {
    operation_id: &'a str,
}

fn finish(ctx: &Context, n: Option<u32>, run_tests: bool) -> anyhow::Result<Outcome> {
    let f = decide_finish(ctx, n)?;
    let mut plan = plan_finish(ctx, &f);
    let reports = settings::reports_path(&ctx.settings.reports_dir);
    if snapshot::preview(&ctx.repo, false, Some(&reports))?.is_dirty() {
        ctx.ui.warn(
            "there are uncommitted changes; they are not part of the new baseline (commit them first if they should be)",
        );
    }

    let mut outcome = Outcome::new();
    outcome.data(&FinishPlanned {
        sprint: f.n,
        baseline: &f.baseline,
        commit: f.head.to_string(),
        previous: f.moving.as_ref().and_then(|m| m.keep_as.as_deref()),
        tag: &f.done_tag,
    });
    // The sprint is done only when its tests pass.
    let Some(tests) = finish_tests(ctx, &f, run_tests, &mut outcome)? else {
        return Ok(outcome);
    };
    plan.steps.insert(0, FinishStep::Tests(tests.clone()));
    let mut refs = vec![format!("refs/tags/{}", f.done_tag)];
    if let Some(m) = &f.moving {
        refs.extend(m.refs());
    }
    if let Carried::Done { id, .. } = carry_out(ctx, &plan, FinishExec { refs }, &mut outcome)? {
        outcome.data(&Finished { operation_id: &id });
        announce_finish(ctx, &f, &tests, &id, &mut outcome);
    }
    Ok(outcome)
}

/// Refuse a sprint that cannot be finished: no commit, no sprint number,
/// a baseline that is not a tag, a `sprint-N-done` tag that exists.
fn decide_finish(ctx: &Context, n: Option<u32>) -> anyhow::Result<Finishing> {
    let repo = &ctx.repo;
    let head = head_commit(ctx, "a sprint finishes on a commit")?;
    let branch = repo.current_branch()?;
    let n = sprint_of(n, branch.as_deref(), "sprint finish")?;
    // Only a tag is moved: any other name is refused before anything runs.
    baseline::tag_name(&ctx.settings.baseline)?;
    let current = baseline::resolve(repo, &ctx.settings)?;
    if current.tag.is_none() {
        return Err(user(format!(
            "the baseline `{}` is not a tag, so sprint finish cannot move it",
            current.name
        ))
        .hint("make it a tag with `git rollback-sprint baseline set`, or point rollback.baseline at one")
        .into());
    }
    let done_tag = format!("sprint-{n}-done");
    let done_ref = format!("refs/tags/{done_tag}");
    if let Some(at) = repo.ref_target(&done_ref)? {
        return Err(user(format!(
            "the tag {done_tag} already exists (at {})",
            repo.short_id(at)
        ))
        .hint(format!("sprint {n} was finished before; delete the tag with `git tag -d {done_tag}` to finish it again"))
        .into());
    }
    if !git::Repo::valid_tag_name(&done_tag) || !repo.ref_name_available(&done_ref)? {
        return Err(user(format!("the tag {done_tag} cannot be created"))
            .hint("a ref of a conflicting name exists; rename or delete it")
            .into());
    }
    let summary = repo.commit_info(head)?.summary;
    let moving = if current.commit == head {
        None
    } else {
        Some(baseline::Move::plan(
            repo,
            &current.name,
            head,
            &format!("Baseline: sprint {n} done ({summary})"),
        )?)
    };
    Ok(Finishing {
        n,
        head,
        summary,
        baseline: current.name,
        moving,
        done_tag,
    })
}

/// The ref changes; the tests' step goes first once they ran.
fn plan_finish(ctx: &Context, f: &Finishing) -> Plan<FinishStep> {
    let repo = &ctx.repo;
    let mut plan = Plan::new();
    match &f.moving {
        Some(m) => {
            if let (Some(prev), Some((old_tag, old_commit))) = (&m.keep_as, m.old) {
                plan.push(FinishStep::KeepOldBaseline(RefStep::CreateRef {
                    name: format!("refs/tags/{prev}"),
                    at: Rev::new(repo, old_tag),
                    shown: format!(
                        "keep the old baseline ({}) as tag {prev}",
                        repo.short_id(old_commit)
                    ),
                }));
            }
            plan.push(FinishStep::MoveBaseline {
                name: m.name.clone(),
                refname: m.refname.clone(),
                target: Rev::new(repo, m.target),
                summary: f.summary.clone(),
                message: m.message.clone(),
                old_tag: m.old.map(|(tag, _)| tag),
            });
        }
        None => plan.push(FinishStep::LeaveBaseline {
            name: f.baseline.clone(),
        }),
    }
    plan.push(FinishStep::Tag {
        tag: f.done_tag.clone(),
        at: Rev::new(repo, f.head),
        message: format!("Sprint {} done: {}", f.n, f.summary),
    });
    plan
}

/// The tests on HEAD's tree, in a temporary worktree, cached by tree id
/// (as `baseline verify`). `None`: they failed, and `outcome` says so.
fn finish_tests(
    ctx: &Context,
    f: &Finishing,
    run_tests: bool,
    outcome: &mut Outcome,
) -> anyhow::Result<Option<FinishTests>> {
    let repo = &ctx.repo;
    if !run_tests {
        outcome.data(&FinishTested { tests: None });
        return Ok(Some(FinishTests::Skipped));
    }
    let tree = repo.commit_tree(f.head)?;
    let command = testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree)?;
    let what = format!("HEAD {}", repo.short_id(f.head));
    let Some((run, cached)) = baseline::tested_tree(ctx, tree, &command, &what)? else {
        return Ok(Some(FinishTests::WouldRun {
            command,
            tree: Rev::new(repo, tree),
        }));
    };
    let line = format!(
        "tests on HEAD's tree {}: `{command}` {}{}",
        repo.short_id(tree),
        run.summary(),
        if cached { " [cached]" } else { "" }
    );
    outcome.data(&FinishTested {
        tests: Some(TestsJson::new(&run, Some(cached))),
    });
    if run.succeeded() {
        return Ok(Some(FinishTests::Passed(line)));
    }
    outcome.line(format!("{} {line}", ctx.ui.bad("✗")));
    if !cached {
        let tail: Vec<&str> = run.output.lines().rev().take(15).collect();
        for l in tail.into_iter().rev() {
            outcome.line(format!("    {l}"));
        }
    }
    outcome.line(format!(
        "{} the tests fail on HEAD, so sprint {} is not finished; nothing was changed (fix them, or pass --no-tests to finish anyway).",
        ctx.ui.bad("Not finished:"),
        f.n
    ));
    outcome.exit_with(Exit::SafetyCheck);
    Ok(None)
}

/// Carries out `sprint finish`, in one operation.
struct FinishExec {
    refs: Vec<String>,
}

impl Execute<FinishStep> for FinishExec {
    type Done = ();

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        Ok(Intent::new(
            "sprint finish",
            &ctx.command_line,
            Scope::refs(self.refs.clone()),
        ))
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &FinishStep,
    ) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        match step {
            FinishStep::Tests(FinishTests::Passed(_)) => tx.detail("tests", "passed"),
            FinishStep::Tests(FinishTests::Skipped) => tx.detail("tests", "skipped (--no-tests)"),
            FinishStep::Tests(FinishTests::WouldRun { .. }) => {
                anyhow::bail!("internal error: the tests on HEAD did not run")
            }
            FinishStep::KeepOldBaseline(step) => tx.apply_ref_step(step)?,
            FinishStep::MoveBaseline {
                name,
                refname,
                target,
                message,
                old_tag,
                ..
            } => {
                let tag = repo.write_tag_object(name, target.id, message)?;
                tx.update_ref(refname, *old_tag, Some(tag))?;
            }
            FinishStep::LeaveBaseline { .. } => {}
            FinishStep::Tag { tag, at, message } => {
                let object = repo.write_tag_object(tag, at.id, message)?;
                tx.update_ref(&format!("refs/tags/{tag}"), None, Some(object))?;
            }
        }
        Ok(())
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// What the finish did, and how to undo it.
fn announce_finish(
    ctx: &Context,
    f: &Finishing,
    tests: &FinishTests,
    id: &str,
    outcome: &mut Outcome,
) {
    let repo = &ctx.repo;
    outcome.line(format!(
        "{} sprint {} is done at {} {}.",
        ctx.ui.good("Finished:"),
        f.n,
        repo.short_id(f.head),
        crate::ui::quote(&f.summary)
    ));
    match &f.moving {
        Some(m) => outcome.line(format!(
            "  the baseline `{}` is now {}; the previous one is kept as `{}`",
            f.baseline,
            repo.short_id(f.head),
            m.keep_as.as_deref().unwrap_or("-")
        )),
        None => outcome.line(format!(
            "  the baseline `{}` was already at HEAD",
            f.baseline
        )),
    };
    outcome.line(format!("  tagged `{}`", f.done_tag));
    match tests {
        FinishTests::Passed(line) => outcome.line(format!("  {line}")),
        _ => outcome.line("  the tests were not run (--no-tests)"),
    };
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
}
