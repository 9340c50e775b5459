//! `drill` (README: `drill`) — the runbook's monthly test: each rollback
//! level rehearsed on a disposable copy of the current state, timed,
//! verified, undone and checked, against the recovery time objective.
//!
//! The steps, as the runbook has them: make the copy (`copy.rs`); for each
//! level, roll back, run the tests on the rolled-back tree, undo, and
//! compare the copy with what it was; print the table; record one metrics
//! entry. The rehearsed commands are this same program started in the
//! copy (`std::env::current_exe`), exactly as a user would type them: the
//! user's process keeps no state of theirs, and the times are the times a
//! real rollback takes. The user's repository is never changed; only the
//! metrics entry is added to the reports folder.

mod copy;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use super::{baseline, status::sprint_number, Context};
use crate::clock;
use crate::error::{user, Exit};
use crate::git::state::State;
use crate::git::{Oid, Repo, RepoPath};
use crate::metrics::{self, DrillEntry, DrillLevel};
use crate::plan::{self, carry_out, Carried, Execute, Phase, Plan};
use crate::settings;
use crate::testrun::{self, VerifyCache};
use crate::ui::Outcome;

pub use copy::drill_root;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The level to rehearse
    #[arg(long, value_enum, default_value = "all")]
    pub level: LevelArg,
    /// The recovery time objective, in seconds (default: rollback.rto, else 300)
    #[arg(long, value_name = "SECONDS")]
    pub rto: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LevelArg {
    /// Level 1: emergency, to the baseline
    Emergency,
    /// Level 2: sprint rollback
    Sprint,
    /// Level 3: files, a few the sprint changed
    Files,
    /// Every level, one after the other
    All,
}

/// A rollback level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Emergency,
    Sprint,
    Files,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Emergency => "emergency",
            Level::Sprint => "sprint",
            Level::Files => "files",
        }
    }
}

/// What a level rehearses: the command run in the copy, or why not.
#[derive(Debug, Clone)]
struct Rehearsal {
    level: Level,
    args: Result<Vec<OsString>, String>,
    /// How the rolled-back tree is verified, as the plan says it.
    verify: String,
}

impl Rehearsal {
    fn shown(&self) -> String {
        match &self.args {
            Ok(args) => shown_command(args),
            Err(why) => format!("skipped: {why}"),
        }
    }
}

fn shown_command(args: &[OsString]) -> String {
    let mut words = vec!["git rollback-sprint".to_string()];
    words.extend(
        args.iter()
            .map(|a| crate::ui::shell_word(&a.to_string_lossy())),
    );
    words.join(" ")
}

/// A drill's steps, as its dry run lists them. None changes the user's
/// repository: the copy, the rehearsals in it and the metrics entry are
/// outside what the journal saves, so every step runs unjournaled.
#[derive(Debug, Clone)]
enum DrillStep {
    /// Make the disposable copy in `root` (removing any a stopped drill left).
    MakeCopy { root: String },
    /// Roll back, verify, undo and compare one level on the copy.
    Rehearse(Rehearsal),
    /// Hold each rehearsed level's time to roll back and verify to the RTO.
    HoldToRto { rto: u64 },
    /// Remove the copy.
    RemoveCopy,
    /// Add the drill's entry to `<reports>/metrics.json`.
    RecordMetrics { reports_dir: String },
}

impl plan::Step for DrillStep {
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

impl fmt::Display for DrillStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrillStep::MakeCopy { root } => write!(
                f,
                "copy the repository's current state (HEAD, refs, index, uncommitted and untracked files) to {root}/"
            ),
            DrillStep::Rehearse(r) => match &r.args {
                Ok(args) => write!(
                    f,
                    "{}: `{}`, {}, `git rollback-sprint undo`, check the copy is back exactly",
                    r.level.name(),
                    shown_command(args),
                    r.verify
                ),
                Err(why) => write!(f, "{}: skipped ({why})", r.level.name()),
            },
            DrillStep::HoldToRto { rto } => write!(
                f,
                "hold each level's time to roll back and verify against the RTO of {rto} seconds"
            ),
            DrillStep::RemoveCopy => f.write_str("remove the copy"),
            DrillStep::RecordMetrics { reports_dir } => {
                write!(f, "add a drill entry to {reports_dir}/metrics.json")
            }
        }
    }
}

/// The JSON fields of `drill`.
#[derive(Serialize)]
struct Drilled<'a> {
    rto_seconds: u64,
    test_command: Option<&'a str>,
    copy: &'a copy::Made,
    copy_seconds: f64,
    levels: &'a [LevelResult],
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_set_aside: Option<String>,
}

/// The JSON fields of `drill --dry-run` before its `plan`.
#[derive(Serialize)]
struct Planned<'a> {
    rto_seconds: u64,
    test_command: Option<&'a str>,
}

/// One level's row of the table.
#[derive(Debug, Clone, Serialize)]
struct LevelResult {
    level: &'static str,
    command: String,
    /// `pass`, `missed_rto`, `failed`, `not_exact` or `skipped`.
    verdict: &'static str,
    rollback_seconds: Option<f64>,
    verify_seconds: Option<f64>,
    /// Whether the tests passed on the rolled-back tree; null without a
    /// test command, or when the level did not get that far.
    verified: Option<bool>,
    /// The tests' result came from the cache of that tree.
    cached: bool,
    undo_seconds: Option<f64>,
    undo_exact: Option<bool>,
    within_rto: Option<bool>,
    /// Why it was skipped or failed, or what the undo did not put back.
    detail: Option<String>,
}

impl LevelResult {
    fn new(level: Level, command: String) -> LevelResult {
        LevelResult {
            level: level.name(),
            command,
            verdict: "skipped",
            rollback_seconds: None,
            verify_seconds: None,
            verified: None,
            cached: false,
            undo_seconds: None,
            undo_exact: None,
            within_rto: None,
            detail: None,
        }
    }

    fn failed(&self) -> bool {
        !matches!(self.verdict, "pass" | "skipped")
    }
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let rto = match args.rto {
        Some(0) => {
            return Err(user("--rto must be a number of seconds, more than 0")
                .exit(Exit::Usage)
                .into())
        }
        Some(n) => n,
        None => settings::rto(repo)?,
    };
    super::refuse_operation_in_progress(repo)?;
    // A copy taken while another command of ours or git changes the
    // repository would rehearse a state half-way through that change.
    crate::journal::check_not_running(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    let head = repo.head_commit()?.ok_or_else(|| {
        user("HEAD has no commit yet")
            .hint("commit something first; a drill rehearses rolling back from it")
    })?;
    let baseline = baseline::resolve(repo, &ctx.settings)?;
    crate::reports_folder::check(repo.workdir(), &ctx.settings.reports_dir)?;
    let head_tree = repo.commit_tree(head)?;
    let baseline_tree = repo.commit_tree(baseline.commit)?;
    let test_command =
        testrun::test_command(repo, ctx.settings.test_command.as_deref(), baseline_tree).ok();
    let trees = (head_tree, baseline_tree);
    let steps = plan(ctx, args.level, trees, rto, test_command.as_deref())?;
    let mut outcome = Outcome::new();
    if ctx.ui.dry_run {
        outcome.data(&Planned {
            rto_seconds: rto,
            test_command: test_command.as_deref(),
        });
    }
    let exec = Drill::new(ctx, rto, test_command.clone(), trees);
    let Carried::Unjournaled(report) = carry_out(ctx, &steps, exec, &mut outcome)? else {
        return Ok(outcome);
    };
    report.print(ctx, &mut outcome, rto, test_command.as_deref());
    Ok(outcome)
}

/// Which levels to rehearse, and how: every decision before the copy is
/// made, so a dry run shows the same.
fn plan(
    ctx: &Context,
    wanted: LevelArg,
    (head_tree, baseline_tree): (Oid, Oid),
    rto: u64,
    test_command: Option<&str>,
) -> anyhow::Result<Plan<DrillStep>> {
    let levels: &[Level] = match wanted {
        LevelArg::Emergency => &[Level::Emergency],
        LevelArg::Sprint => &[Level::Sprint],
        LevelArg::Files => &[Level::Files],
        LevelArg::All => &[Level::Emergency, Level::Sprint, Level::Files],
    };
    let verify = match test_command {
        Some(cmd) => format!("run `{}` on the rolled-back tree", crate::ui::one_line(cmd)),
        None => "no test command is configured or detected: no verification".to_string(),
    };
    let mut plan = Plan::new();
    plan.push(DrillStep::MakeCopy {
        root: crate::ui::quote(&drill_root(&ctx.repo).display().to_string()).into_owned(),
    });
    for &level in levels {
        let args = level_args(&ctx.repo, level, head_tree, baseline_tree)?;
        plan.push(DrillStep::Rehearse(Rehearsal {
            level,
            args,
            verify: verify.clone(),
        }));
    }
    plan.push(DrillStep::HoldToRto { rto });
    plan.push(DrillStep::RemoveCopy);
    plan.push(DrillStep::RecordMetrics {
        reports_dir: ctx.settings.reports_dir.trim_end_matches('/').to_string(),
    });
    Ok(plan)
}

/// The command a level runs in the copy, or why it is skipped.
fn level_args(
    repo: &Repo,
    level: Level,
    head_tree: Oid,
    baseline_tree: Oid,
) -> anyhow::Result<Result<Vec<OsString>, String>> {
    let reason = |level: &str| -> Vec<OsString> {
        vec!["--reason".into(), format!("drill: {level}").into()]
    };
    Ok(match level {
        Level::Emergency => {
            let mut a: Vec<OsString> = vec!["emergency".into()];
            a.extend(reason("emergency"));
            Ok(a)
        }
        Level::Sprint => {
            let mut a: Vec<OsString> = vec!["sprint".into(), "rollback".into()];
            // Not on a sprint branch: the number a user would pass,
            // one no sprint has yet.
            let current = repo.current_branch()?;
            if current.as_deref().and_then(sprint_number).is_none() {
                a.push(next_sprint(repo)?.to_string().into());
            }
            a.push("--no-tests".into());
            a.extend(reason("sprint"));
            Ok(a)
        }
        Level::Files => {
            let paths = repo.files_differing(baseline_tree, head_tree, FILES)?;
            if paths.is_empty() {
                Err("no file of the baseline differs at HEAD".to_string())
            } else {
                let mut a: Vec<OsString> = vec!["files".into(), "--no-tests".into(), "--".into()];
                a.extend(paths.iter().map(|p| p.as_os_str().to_os_string()));
                Ok(a)
            }
        }
    })
}

/// How many changed paths the files level puts back.
const FILES: usize = 3;

/// One more than the highest sprint number of a branch.
fn next_sprint(repo: &Repo) -> anyhow::Result<u32> {
    let highest = repo
        .refs_with_prefix("refs/heads/")?
        .iter()
        .filter_map(|(b, _)| sprint_number(b))
        .max()
        .unwrap_or(0);
    Ok(highest.saturating_add(1))
}

/// The copy a drill works on, once made.
struct Copied {
    copy: copy::DrillCopy,
    repo: Repo,
    /// The copy as it was before the first level, then after each level
    /// undone exactly.
    state: State,
}

/// Carries out a drill's plan and collects its results.
struct Drill {
    /// HEAD's tree and the baseline's.
    trees: (Oid, Oid),
    rto: u64,
    started: Instant,
    now: chrono::DateTime<chrono::FixedOffset>,
    stamp: String,
    reports: RepoPath,
    verifier: Verifier,
    made: Option<Copied>,
    /// How the copy was made, kept once it is removed.
    copy_made: copy::Made,
    copy_seconds: f64,
    results: Vec<LevelResult>,
    /// Why the remaining levels are not rehearsed (the copy is not back).
    blocked: Option<String>,
    set_aside: Option<PathBuf>,
}

/// What a drill found, for the table, the verdict and the JSON.
struct Report {
    made: copy::Made,
    copy_seconds: f64,
    results: Vec<LevelResult>,
    passed: bool,
    set_aside: Option<PathBuf>,
}

impl Drill {
    fn new(ctx: &Context, rto: u64, test_command: Option<String>, trees: (Oid, Oid)) -> Drill {
        let now = clock::now();
        Drill {
            trees,
            rto,
            started: Instant::now(),
            stamp: clock::stamp(&now),
            now,
            reports: settings::reports_path(&ctx.settings.reports_dir),
            verifier: Verifier {
                cache: VerifyCache::load(&ctx.repo),
                command: test_command,
                timeout: Duration::from_secs(ctx.settings.test_timeout_secs),
                runs: Vec::new(),
                export: None,
            },
            made: None,
            copy_made: copy::Made::default(),
            copy_seconds: 0.0,
            results: Vec::new(),
            blocked: None,
            set_aside: None,
        }
    }

    fn make_copy(&mut self, ctx: &Context) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        let removed = copy::remove_leftovers(repo)?;
        if removed > 0 {
            ctx.ui.warn(&format!(
                "removed {removed} copy(ies) left by a drill that was stopped"
            ));
        }
        let copying = Instant::now();
        let bar = ctx.ui.progress(0, "copying the repository for the drill");
        crate::trace::phase("drill: making the copy");
        // The files every level rewrites (those HEAD and the baseline
        // both have, with other content) are copied, not linked: a
        // rollback writes a file with one link in place, as it does in
        // the user's work tree, where a linked one needs a new file and a
        // rename. Linked, they cost the rehearsed emergency twice its
        // real time on the 100,000-file benchmark repository.
        let (head_tree, baseline_tree) = self.trees;
        let rewritten: std::collections::HashSet<Vec<u8>> =
            crate::git::writer::tree_changes(repo, head_tree, baseline_tree)?
                .into_iter()
                .filter(|c| c.old_present && c.new.is_some())
                .map(|c| c.path.as_bytes().to_vec())
                .collect();
        let copy = copy::make(repo, &self.stamp, &rewritten)?;
        crate::trace::phase("drill: capturing the copy");
        bar.finish_and_clear();
        self.copy_seconds = copying.elapsed().as_secs_f64();
        self.copy_made = copy.made.clone();
        let copy_repo = Repo::open_ignoring_env(&copy.work)?;
        // A file of the copy linked to the user's is read only if a
        // rehearsal replaces it; a copied one is read now
        // (`State::capture`).
        let origin = (copy.made.linked > 0).then(|| repo.workdir());
        let state = State::capture(&copy.git_dir, &copy.work, &self.reports, None, origin)?;
        crate::trace::phase("drill: copy captured");
        self.made = Some(Copied {
            copy,
            repo: copy_repo,
            state,
        });
        Ok(())
    }

    fn rehearse(&mut self, ctx: &Context, rehearsal: &Rehearsal) -> anyhow::Result<()> {
        let mut result = LevelResult::new(rehearsal.level, rehearsal.shown());
        let (args, made) = match (&rehearsal.args, &self.blocked, &mut self.made) {
            (Err(why), _, _) | (Ok(_), Some(why), _) => {
                result.detail = Some(why.clone());
                self.results.push(result);
                return Ok(());
            }
            (Ok(_), None, None) => {
                anyhow::bail!("internal error: a level rehearsed before the copy was made")
            }
            (Ok(args), None, Some(made)) => (args, made),
        };
        let bar = ctx
            .ui
            .progress(0, &format!("rehearsing {}", rehearsal.level.name()));
        rehearse(made, args, &mut self.verifier, &self.reports, &mut result)?;
        bar.finish_and_clear();
        crate::fault::point("drill-level");
        if result.undo_exact != Some(true) && result.rollback_seconds.is_some() {
            self.blocked = Some(format!(
                "the copy was not back as it was after the {} level",
                rehearsal.level.name()
            ));
        }
        self.results.push(result);
        Ok(())
    }

    /// A level undone exactly and verified passes only if rolling back and
    /// verifying took no longer than the RTO.
    fn hold_to_rto(&mut self) {
        for r in &mut self.results {
            if r.undo_seconds.is_none() {
                continue;
            }
            let taken = r.rollback_seconds.unwrap_or(0.0) + r.verify_seconds.unwrap_or(0.0);
            let within = taken <= self.rto as f64;
            r.within_rto = Some(within);
            if r.verdict == "pass" && !within {
                r.verdict = "missed_rto";
            }
        }
    }

    fn record_metrics(&mut self, ctx: &Context) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        let entry = DrillEntry {
            timestamp: clock::rfc3339(&self.now),
            kind: metrics::DRILL_KIND,
            rto_seconds: self.rto,
            verdict: if self.passed() { "pass" } else { "fail" },
            duration_seconds: self.started.elapsed().as_secs_f64(),
            levels: self
                .results
                .iter()
                .map(|r| DrillLevel {
                    level: r.level,
                    verdict: r.verdict,
                    rollback_seconds: r.rollback_seconds,
                    verify_seconds: r.verify_seconds,
                    undo_exact: r.undo_exact,
                })
                .collect(),
        };
        let set_aside =
            metrics::record_drill(repo, &ctx.settings.reports_dir, &self.stamp, &entry)?;
        if let Some(path) = &set_aside {
            ctx.ui.warn(&format!(
                "{} was corrupt: it was moved to {} and a new one was started",
                metrics::MetricsFile::new(repo.workdir(), &ctx.settings.reports_dir)
                    .path
                    .display(),
                path.display()
            ));
        }
        self.set_aside = set_aside;
        Ok(())
    }

    fn passed(&self) -> bool {
        !self.results.iter().any(LevelResult::failed)
    }
}

impl Execute<DrillStep> for Drill {
    type Done = Report;

    fn outside(
        &mut self,
        ctx: &Context,
        step: &DrillStep,
        _outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        match step {
            DrillStep::MakeCopy { .. } => self.make_copy(ctx)?,
            DrillStep::Rehearse(rehearsal) => self.rehearse(ctx, rehearsal)?,
            DrillStep::HoldToRto { .. } => self.hold_to_rto(),
            DrillStep::RemoveCopy => {
                crate::trace::phase("drill: removing the copy");
                if let Some(made) = self.made.take() {
                    made.copy.discard();
                }
                crate::trace::phase("drill: copy removed");
            }
            DrillStep::RecordMetrics { .. } => self.record_metrics(ctx)?,
        }
        Ok(())
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<Report> {
        Ok(Report {
            made: std::mem::take(&mut self.copy_made),
            copy_seconds: self.copy_seconds,
            passed: self.passed(),
            results: std::mem::take(&mut self.results),
            set_aside: self.set_aside.take(),
        })
    }
}

impl Report {
    /// The table, the verdict and the JSON; exit 4 when a level failed.
    fn print(&self, ctx: &Context, outcome: &mut Outcome, rto: u64, test_command: Option<&str>) {
        table(
            ctx,
            outcome,
            &self.results,
            rto,
            &self.made,
            self.copy_seconds,
        );
        verdict_line(ctx, outcome, &self.results, self.passed);
        if self.made.linked >= REFRESH_HINT_FROM {
            outcome.line(format!(
                "Linking changed the change time (ctime) of {} of your files, which git compares with the index: run `git update-index -q --refresh` before your next rollback, or it reads each of them once to see that nothing changed (so does the next `git status`).",
                self.made.linked
            ));
        }
        outcome.data(&Drilled {
            rto_seconds: rto,
            test_command,
            copy: &self.made,
            copy_seconds: metrics::round2(self.copy_seconds),
            levels: &rounded(&self.results),
            passed: self.passed,
            metrics_set_aside: self.set_aside.as_ref().map(|p| p.display().to_string()),
        });
        if !self.passed {
            outcome.exit_with(Exit::SafetyCheck);
        }
    }
}

/// The tests of rolled-back trees, by tree: a pass cached by `check` or
/// `baseline verify` counts, and a tree two levels share runs once.
struct Verifier {
    cache: VerifyCache,
    command: Option<String>,
    timeout: Duration,
    runs: Vec<(Oid, bool)>,
    /// The tree the last tests ran on, kept to be brought to the next
    /// one: a few percent of its files, where a new export writes them all.
    export: Option<crate::git::export::Export>,
}

impl Verifier {
    /// Whether the tests pass on the tree of `repo`'s index, and whether
    /// that was known; none without a test command (and the tree is then
    /// not written: on a large index that costs a fifth of a second).
    fn verify(&mut self, repo: &Repo) -> anyhow::Result<Option<(bool, bool)>> {
        let Some(command) = &self.command else {
            return Ok(None);
        };
        let tree = repo.index_tree()?;
        if let Some(c) = self.cache.get(tree, command) {
            if c.run.succeeded() {
                return Ok(Some((true, true)));
            }
        }
        if let Some((_, ok)) = self.runs.iter().find(|(t, _)| *t == tree) {
            return Ok(Some((*ok, true)));
        }
        let run = testrun::verify_tree_in(&mut self.export, repo, tree, command, self.timeout)?;
        self.runs.push((tree, run.succeeded()));
        Ok(Some((run.succeeded(), false)))
    }
}

/// Roll back, verify, undo and compare: one level on the copy. The
/// verdict against the RTO is the plan's next step's.
fn rehearse(
    made: &mut Copied,
    args: &[OsString],
    verifier: &mut Verifier,
    reports: &RepoPath,
    result: &mut LevelResult,
) -> anyhow::Result<()> {
    let copy = &made.copy;
    crate::trace::phase("drill: rolling back");
    let clock = Instant::now();
    let rolled = run_in_copy(&copy.work, args)?;
    let rollback_seconds = clock.elapsed().as_secs_f64();
    if !rolled.ok {
        result.verdict = "failed";
        result.rollback_seconds = Some(rollback_seconds);
        result.detail = Some(format!("the rollback failed: {}", rolled.message));
        // Whatever it left is checked like an undo's result.
        let after = State::capture(
            &copy.git_dir,
            &copy.work,
            reports,
            Some(&mut made.state),
            None,
        )?;
        if !made.state.differences(&after).is_empty() {
            result.undo_exact = Some(false);
        }
        return Ok(());
    }
    if !rolled.changed {
        result.detail = Some("nothing to roll back: already as the rollback would leave it".into());
        return Ok(());
    }
    result.rollback_seconds = Some(rollback_seconds);
    crate::trace::phase("drill: verifying");
    let clock = Instant::now();
    match verifier.verify(&made.repo)? {
        None => {
            result.detail = Some("no tests: no test command is configured or detected".into());
        }
        Some((ok, cached)) => {
            result.verified = Some(ok);
            result.cached = cached;
        }
    }
    result.verify_seconds = Some(clock.elapsed().as_secs_f64());
    crate::trace::phase("drill: undoing");
    let clock = Instant::now();
    let undone = run_in_copy(&copy.work, &["undo".into()])?;
    result.undo_seconds = Some(clock.elapsed().as_secs_f64());
    crate::trace::phase("drill: comparing");
    let after = State::capture(
        &copy.git_dir,
        &copy.work,
        reports,
        Some(&mut made.state),
        None,
    )?;
    let differences = made.state.differences(&after);
    result.undo_exact = Some(undone.ok && differences.is_empty());
    result.verdict = if result.verified == Some(false) {
        result.detail = Some("the tests failed on the rolled-back tree".into());
        "failed"
    } else if !undone.ok {
        result.detail = Some(format!("undo failed: {}", undone.message));
        "not_exact"
    } else if !differences.is_empty() {
        let shown: Vec<String> = differences.iter().take(3).cloned().collect();
        result.detail = Some(format!("undo did not put back: {}", shown.join("; ")));
        "not_exact"
    } else {
        "pass"
    };
    if differences.is_empty() {
        made.state = after;
        if let Err(e) = made.copy.restamp_after_exact_undo() {
            // Only slower: the next rollback hashes those files.
            crate::trace::phase(&format!("drill: index not restamped: {e:#}"));
        }
    }
    Ok(())
}

/// What a command run in the copy said.
struct Ran {
    ok: bool,
    /// False when it had nothing to do.
    changed: bool,
    message: String,
}

/// This program, started in the copy as a user would start it there: the
/// variables that would point it at another repository removed, and the
/// commands that would reach outside the copy turned off (an emergency's
/// stop and start commands, which act on the user's services).
fn run_in_copy(dir: &Path, args: &[OsString]) -> anyhow::Result<Ran> {
    let exe = std::env::current_exe().context("could not find this program to run the drill")?;
    let mut cmd = Command::new(exe);
    cmd.args(["--json", "--yes", "--color", "never"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(if crate::trace::enabled() {
            // The rehearsed command's own phases, under the drill's.
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    for var in crate::git::cli::REPO_ENV {
        cmd.env_remove(var);
    }
    let mut params = std::env::var("GIT_CONFIG_PARAMETERS").unwrap_or_default();
    for key in [settings::STOP_COMMAND, settings::START_COMMAND] {
        params.push_str(&format!(" '{key}'=''"));
    }
    params.push_str(" 'rollback.verify'='false'");
    cmd.env("GIT_CONFIG_PARAMETERS", params.trim_start());
    let output = cmd
        .output()
        .context("could not run the rehearsed command")?;
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let ok = output.status.success() && json.get("ok").and_then(Value::as_bool) == Some(true);
    let message = json
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| match output.status.code() {
            Some(code) => format!("exit code {code}"),
            None => "stopped by a signal".to_string(),
        });
    Ok(Ran {
        ok,
        changed: json.get("changed").and_then(Value::as_bool) != Some(false),
        message,
    })
}

fn seconds(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |s| format!("{s:.2} s"))
}

fn table(
    ctx: &Context,
    outcome: &mut Outcome,
    results: &[LevelResult],
    rto: u64,
    made: &copy::Made,
    copy_seconds: f64,
) {
    outcome.line(format!(
        "Drill on a copy of the repository ({} file(s), {} linked) made in {copy_seconds:.2} s; recovery time objective (RTO): {rto} seconds.",
        made.files, made.linked
    ));
    outcome.line(ctx.ui.bold(&format!(
        "  {:<10} {:>10}  {:<22} {:<10} {}",
        "level", "roll back", "verify", "undo", "verdict"
    )));
    for r in results {
        if r.verdict == "skipped" && r.rollback_seconds.is_none() {
            outcome.line(format!(
                "  {:<10} skipped: {}",
                r.level,
                r.detail.as_deref().unwrap_or("")
            ));
            continue;
        }
        let verify = match (r.verified, r.cached) {
            (Some(true), true) => "passed (cached)".to_string(),
            (Some(true), false) => format!("passed in {}", seconds(r.verify_seconds)),
            (Some(false), true) => "failed (known)".to_string(),
            (Some(false), false) => format!("FAILED in {}", seconds(r.verify_seconds)),
            (None, _) if r.verify_seconds.is_some() => "no tests".to_string(),
            (None, _) => "-".to_string(),
        };
        let undo = match r.undo_exact {
            Some(true) => "exact".to_string(),
            Some(false) => "NOT EXACT".to_string(),
            None => "-".to_string(),
        };
        let verdict = match r.verdict {
            "pass" => ctx.ui.good("✓ within the RTO"),
            "missed_rto" => ctx.ui.bad("✗ missed the RTO"),
            "not_exact" => ctx.ui.bad("✗ not undone exactly"),
            _ => ctx.ui.bad("✗ failed"),
        };
        outcome.line(format!(
            "  {:<10} {:>10}  {:<22} {:<10} {verdict}",
            r.level,
            seconds(r.rollback_seconds),
            verify,
            undo
        ));
        if r.verdict != "pass" {
            if let Some(detail) = &r.detail {
                outcome.line(format!("             {}", crate::ui::one_line(detail)));
            }
        }
    }
}

/// From this many linked files the drill says how to refresh the index:
/// on 10,000 files, reading them all again costs the next command about
/// 0.2 s; on 100,000, the next `emergency` took 4.1 s instead of 1.1 s.
const REFRESH_HINT_FROM: usize = 10_000;

fn verdict_line(ctx: &Context, outcome: &mut Outcome, results: &[LevelResult], passed: bool) {
    let rehearsed = results
        .iter()
        .filter(|r| r.rollback_seconds.is_some())
        .count();
    if passed {
        outcome.line(format!(
            "Drill passed: {rehearsed} level(s) rolled back, verified and undone exactly within the RTO. Your repository was not touched."
        ));
    } else {
        let failed: Vec<&str> = results
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.level)
            .collect();
        outcome.line(ctx.ui.bad(&format!(
            "Drill failed: {} (see above). Your repository was not touched.",
            failed.join(", ")
        )));
    }
}

/// The results with their times to the hundredth of a second.
fn rounded(results: &[LevelResult]) -> Vec<LevelResult> {
    let r2 = |x: Option<f64>| x.map(metrics::round2);
    results
        .iter()
        .map(|r| LevelResult {
            rollback_seconds: r2(r.rollback_seconds),
            verify_seconds: r2(r.verify_seconds),
            undo_seconds: r2(r.undo_seconds),
            ..r.clone()
        })
        .collect()
}

/// The newest drill in the metrics: when and its verdict.
pub struct LastDrill {
    pub timestamp: String,
    pub verdict: String,
    /// Seconds since, by the tool's clock.
    pub age_seconds: i64,
}

/// The newest drill recorded in the metrics file (none when the file is
/// missing or corrupt: the commands that ask only report).
pub fn last_drill(ctx: &Context) -> Option<LastDrill> {
    let file = metrics::MetricsFile::new(ctx.repo.workdir(), &ctx.settings.reports_dir);
    let Ok(Ok(doc)) = file.read() else {
        return None;
    };
    let now = clock::now();
    metrics::drill_entries(&doc)
        .into_iter()
        .filter_map(|e| {
            let timestamp = e.get("timestamp")?.as_str()?.to_string();
            let at = chrono::DateTime::parse_from_rfc3339(&timestamp).ok()?;
            Some(LastDrill {
                verdict: e
                    .get("verdict")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string(),
                age_seconds: now.timestamp() - at.timestamp(),
                timestamp,
            })
        })
        .min_by_key(|d| d.age_seconds)
}

/// The warning `check` and `status` give when the runbook's monthly drill
/// is overdue: the last drill is older than `rollback.drillInterval` days,
/// or there was none since a baseline set longer ago than that. A
/// repository without a baseline has nothing to drill, and is not told to.
pub fn overdue(ctx: &Context, last: Option<&LastDrill>) -> anyhow::Result<Option<String>> {
    let days = match settings::drill_interval(&ctx.repo)? {
        Ok(0) => return Ok(None),
        Ok(days) => days,
        Err(text) => {
            return Ok(Some(format!(
                "git config {} is `{}`: use a whole number of days (0 turns this warning off)",
                settings::DRILL_INTERVAL,
                crate::ui::one_line(&text)
            )))
        }
    };
    let limit = i64::try_from(days.saturating_mul(86_400)).unwrap_or(i64::MAX);
    let advice = "rehearse the rollback with `git rollback-sprint drill`";
    if let Some(last) = last {
        if last.age_seconds > limit {
            return Ok(Some(format!(
                "the last drill was {} days ago ({} is {days}): {advice}",
                last.age_seconds / 86_400,
                settings::DRILL_INTERVAL
            )));
        }
        return Ok(None);
    }
    let Some(baseline) = baseline::find(&ctx.repo, &ctx.settings)? else {
        return Ok(None);
    };
    let set = match &baseline.tag {
        Some(tag) => tag.time,
        None => ctx.repo.commit_info(baseline.commit)?.time,
    };
    let age = clock::now().timestamp() - set;
    Ok((age > limit).then(|| {
        format!(
            "no drill since the baseline was set {} days ago ({} is {days}): {advice}",
            age / 86_400,
            settings::DRILL_INTERVAL
        )
    }))
}
