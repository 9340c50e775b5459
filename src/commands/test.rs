//! `test [-- ARGS]` (README: `test`, the last green state, and triggers):
//! run the project's tests, remember the result, and keep the state of the
//! last run that passed — the **last green state**, which `last-green`
//! names wherever a revision is taken — so that rolling back loses only the
//! work since the tests last passed.
//!
//! The test command is the one `sprint finish` and `check` run
//! (`rollback.testCommand`, or the one detected from HEAD's files), with
//! ARGS appended, shell-quoted. It runs in the work tree with its output
//! streamed and in a process group of its own (Ctrl-C or SIGTERM stops the
//! whole group, and nothing is recorded), and the tool exits with its exit
//! code. The state it tests is scanned before it runs, so files the tests
//! write are not part of the green state.
//!
//! Triggers: after `rollback.trigger.failures` failing runs in a row since
//! the last green state, the triage recommendation and the command that
//! returns to it are printed; `rollback.trigger.action` `checkpoint` also
//! takes a WIP checkpoint, `emergency` rolls back to the last green state
//! (an operation like any other: `undo` puts everything back). The
//! automatic action runs once a streak, when the count reaches the limit.

use std::fmt;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use serde::Serialize;

use super::Context;
use crate::clock;
use crate::error::user;
use crate::journal::{green, scancache, take_lock, Journal};
use crate::plan::{carry_out, Carried, Execute, Phase, Plan, Step};
use crate::settings::{self, TriggerAction};
use crate::testrun;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments appended to the test command (after `--`)
    #[arg(last = true, value_name = "ARGS", allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// The steps of `test`, as the dry run shows them.
#[derive(Debug, Clone)]
enum TestStep {
    Run(String),
    Remember,
}

impl Step for TestStep {
    /// The test runs and `tests.jsonl` are the journal's own records, not
    /// repository state an undo puts back.
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

/// Carries out the plan: runs the tests on the state scanned just before,
/// then remembers the result.
struct Testing {
    tested: Option<green::Tested>,
    stamping: Option<scancache::Stamping>,
    run: Option<(testrun::TestRun, bool)>,
    remembered: (Vec<green::Run>, bool),
}

/// What a run did: the state tested, the result and whether it passed, the
/// runs remembered after it and whether it made a new green state.
struct Ran {
    tested: Option<green::Tested>,
    run: testrun::TestRun,
    passed: bool,
    runs: Vec<green::Run>,
    new_green: bool,
}

impl Testing {
    /// Wait for the scan cache's stamping; a failure only costs the next
    /// run a scan.
    fn joined_stamping(&mut self) {
        let Some(stamping) = self.stamping.take() else {
            return;
        };
        match stamping.join() {
            Ok(None) => crate::trace::phase("test: scan cache written"),
            Ok(Some(why)) => crate::trace::phase(&format!("test: no scan cache: {why}")),
            Err(e) => crate::trace::phase(&format!("test: no scan cache: {e:#}")),
        }
    }
}

impl Execute<TestStep> for Testing {
    type Done = Ran;

    fn outside(&mut self, ctx: &Context, step: &TestStep, _: &mut Outcome) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        match step {
            TestStep::Run(command) => {
                // Not while an operation of ours changes the work tree
                // under the tests.
                crate::journal::check_not_running(repo)?;
                let reports = settings::reports_path(&ctx.settings.reports_dir);
                let (tested, stamping) = tested_state(repo, &reports)?;
                self.tested = tested;
                // The scan cache is written on its own thread while the
                // tests run and their result is remembered.
                self.stamping = stamping;
                ctx.ui
                    .note(&format!("Running `{}`…", crate::ui::one_line(command)));
                let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
                let run = testrun::run_streamed(command, repo.workdir(), timeout, ctx.ui.json);
                if run.is_err() {
                    self.joined_stamping();
                }
                let run = run?;
                crate::trace::phase("test: ran");
                let passed = !run.timed_out && run.exit_code == Some(0);
                self.run = Some((run, passed));
            }
            TestStep::Remember => {
                let (run, passed) = self
                    .run
                    .as_ref()
                    .context("internal error: nothing ran to remember")?;
                let record = run_record(&run.command, run, *passed, self.tested.as_ref());
                self.remembered = remember_or_warn(ctx, record, self.tested.as_ref());
                crate::trace::phase("test: remembered");
                self.joined_stamping();
            }
        }
        Ok(())
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<Ran> {
        self.joined_stamping();
        let (run, passed) = self
            .run
            .take()
            .context("internal error: the tests did not run")?;
        let (runs, new_green) = std::mem::take(&mut self.remembered);
        Ok(Ran {
            tested: self.tested.take(),
            run,
            passed,
            runs,
            new_green,
        })
    }
}

impl fmt::Display for TestStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestStep::Run(cmd) => write!(f, "run the tests in the work tree: sh -c {cmd:?}"),
            TestStep::Remember => {
                f.write_str("remember the result; on a pass the state becomes the last green state")
            }
        }
    }
}

/// The JSON fields of `test`.
#[derive(Serialize)]
struct Tested<'a> {
    test_command: &'a str,
    exit_code: Option<i32>,
    passed: bool,
    timed_out: bool,
    duration_seconds: f64,
    head: Option<String>,
    /// The last green state after this run.
    last_green: Option<LastGreen>,
    /// Whether this run made a new green state (false: the same state as the
    /// last one, reused).
    new_green_state: bool,
    failures_since_green: usize,
    trigger: Option<Trigger>,
}

/// The last green state, as `test` and `status` show it.
#[derive(Serialize, Clone)]
pub struct LastGreen {
    pub time: String,
    pub commit: String,
    pub snapshot: String,
    pub command: String,
}

impl LastGreen {
    pub fn of(run: &green::Run, state: &green::GreenState) -> LastGreen {
        LastGreen {
            time: run.time.clone(),
            commit: state.head.clone(),
            snapshot: state.snapshot.clone(),
            command: run.command.clone(),
        }
    }
}

/// A trigger that fired.
#[derive(Serialize)]
struct Trigger {
    failures: usize,
    action: &'static str,
    recommended_command: Option<String>,
    /// The automatic checkpoint's tag or the automatic rollback's
    /// operation, when one ran.
    checkpoint: Option<String>,
    operation_id: Option<String>,
}

/// The command that returns to the last green state.
pub const RETURN_COMMAND: &str =
    "git rollback-sprint emergency --to last-green --reason \"tests failing\"";

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let (threshold, action) = settings::trigger(repo)?;
    let command = command(ctx, &args.args)?;
    let mut outcome = Outcome::new();
    let mut plan = Plan::new();
    plan.push(TestStep::Run(command.clone()));
    plan.push(TestStep::Remember);
    let exec = Testing {
        tested: None,
        stamping: None,
        run: None,
        remembered: (Vec::new(), false),
    };
    let Carried::Unjournaled(ran) = carry_out(ctx, &plan, exec, &mut outcome)? else {
        // The dry run: the plan is printed.
        return Ok(outcome);
    };
    let Ran {
        tested,
        run,
        passed,
        runs,
        new_green,
    } = ran;
    let failures = green::failures_since_green(&runs);
    let last = green::last_green(&runs);
    let seconds = crate::metrics::round2(run.duration_seconds);
    if passed {
        report_passed(ctx, &command, seconds, last, new_green, &mut outcome);
    } else {
        report_failed(ctx, &command, &run, seconds, failures, last, &mut outcome);
    }
    let trigger = if !passed && threshold > 0 && failures as u64 >= threshold {
        Some(fire(
            ctx,
            (threshold, action),
            failures,
            failures as u64 == threshold,
            last.is_some(),
            &mut outcome,
        ))
    } else {
        None
    };
    outcome.data(&Tested {
        test_command: &command,
        exit_code: run.exit_code,
        passed,
        timed_out: run.timed_out,
        duration_seconds: seconds,
        head: tested.as_ref().map(|t| t.head.to_string()),
        last_green: last.map(|(r, g)| LastGreen::of(r, g)),
        new_green_state: new_green,
        failures_since_green: failures,
        trigger,
    });
    outcome.exit_with_code(exit_code(&run, passed));
    Ok(outcome)
}

/// The state the tests are about to run on: the scan cache's when nothing
/// changed since the scan it remembers, else a new scan, with the cache
/// for it being stamped on a thread of its own from the scan's start.
fn tested_state(
    repo: &crate::git::Repo,
    reports: &crate::git::RepoPath,
) -> anyhow::Result<(Option<green::Tested>, Option<scancache::Stamping>)> {
    crate::trace::phase("test: scan cache");
    if let Some(c) = scancache::lookup(repo, reports) {
        crate::trace::phase("test: unchanged since the cached scan");
        let tested = green::Tested {
            head: c.head,
            tree: c.tree,
            index_tree: c.index_tree,
            cacheable: true,
            differing: Vec::new(),
        };
        return Ok((Some(tested), None));
    }
    let mut stamping = scancache::start(repo, reports);
    if stamping.is_none() {
        scancache::forget(repo);
    }
    let tested = green::scan(repo, reports)?;
    if let Some(s) = &mut stamping {
        s.scanned(tested.as_ref().filter(|t| t.cacheable).map(|t| {
            (
                scancache::Cached {
                    head: t.head,
                    tree: t.tree,
                    index_tree: t.index_tree,
                },
                t.differing.as_slice(),
            )
        }));
    }
    Ok((tested, stamping))
}

/// The record of this run, for the state scanned before it ran.
fn run_record(
    command: &str,
    run: &testrun::TestRun,
    passed: bool,
    tested: Option<&green::Tested>,
) -> green::Run {
    green::Run {
        v: 1,
        time: clock::rfc3339(&clock::now()),
        head: tested.map(|t| t.head.to_string()),
        command: command.to_string(),
        exit_code: run.exit_code,
        duration_ms: (run.duration_seconds * 1000.0) as u64,
        passed,
        green: None,
    }
}

/// [`remember`], and when that fails a warning and the runs remembered
/// before: the tests ran, so their result is still reported.
fn remember_or_warn(
    ctx: &Context,
    record: green::Run,
    tested: Option<&green::Tested>,
) -> (Vec<green::Run>, bool) {
    match remember(ctx, record, tested) {
        Ok(r) => r,
        Err(e) => {
            ctx.ui.warn(&format!(
                "the result of this run could not be remembered: {e:#}"
            ));
            (green::runs(&ctx.repo).unwrap_or_default(), false)
        }
    }
}

/// The lines of a run that passed: which state is now the last green one.
fn report_passed(
    ctx: &Context,
    command: &str,
    seconds: f64,
    last: Option<(&green::Run, &green::GreenState)>,
    new_green: bool,
    outcome: &mut Outcome,
) {
    let repo = &ctx.repo;
    let shown = crate::ui::one_line(command);
    outcome.line(format!(
        "{} `{shown}` in {seconds:.2} s.",
        ctx.ui.good("Tests passed:")
    ));
    match (last, new_green) {
        (Some((_, g)), true) => outcome.line(format!(
            "This state (HEAD {}, with the work tree and the index) is the last green state; return to it with `git rollback-sprint emergency --to last-green`.",
            short(repo, &g.head)
        )),
        (Some((_, g)), false) => outcome.line(format!(
            "Nothing changed since the last green state (HEAD {}): it stays the last green state.",
            short(repo, &g.head)
        )),
        (None, _) => outcome.line("HEAD has no commit yet, so there is no green state to return to."),
    };
}

/// The lines of a run that failed: why, and how many failed in a row since
/// the last green state.
fn report_failed(
    ctx: &Context,
    command: &str,
    run: &testrun::TestRun,
    seconds: f64,
    failures: usize,
    last: Option<(&green::Run, &green::GreenState)>,
    outcome: &mut Outcome,
) {
    let repo = &ctx.repo;
    let shown = crate::ui::one_line(command);
    let why = if run.timed_out {
        format!("timed out after {seconds:.0} s")
    } else {
        match run.exit_code {
            Some(c) => format!("failed with exit code {c}"),
            None => "were stopped by a signal".to_string(),
        }
    };
    outcome.line(format!("{} `{shown}` {why}.", ctx.ui.bad("Tests failed:")));
    match last {
        Some((r, g)) => outcome.line(format!(
            "{failures} failing run{} in a row since the last green state ({}, HEAD {}).",
            if failures == 1 { "" } else { "s" },
            r.time,
            short(repo, &g.head)
        )),
        None => outcome.line(format!(
            "{failures} failing run{} in a row; no green test run yet.",
            if failures == 1 { "" } else { "s" }
        )),
    };
}

/// The tool exits with the tests' exit code; a failed run never exits 0,
/// and one stopped by a signal exits with the error code.
fn exit_code(run: &testrun::TestRun, passed: bool) -> i32 {
    let code = match run.exit_code {
        Some(c) => c,
        None => crate::error::Exit::Error.code(),
    };
    if passed {
        0
    } else if code == 0 {
        1
    } else {
        code
    }
}

/// The test command, with `extra` appended as shell words.
fn command(ctx: &Context, extra: &[String]) -> anyhow::Result<String> {
    let repo = &ctx.repo;
    let configured = ctx.settings.test_command.as_deref();
    let mut command = match (configured, repo.head_commit()?) {
        (Some(cmd), _) => cmd.to_string(),
        (None, Some(head)) => testrun::test_command(repo, None, repo.commit_tree(head)?)?,
        (None, None) => {
            return Err(
                user("no test command is configured and none could be detected")
                    .hint("set one: git config rollback.testCommand 'make check'")
                    .into(),
            )
        }
    };
    for word in extra {
        let quoted = shlex::try_quote(word).map_err(|_| {
            user(format!(
                "the argument {} cannot be passed to a shell",
                crate::ui::quote(word)
            ))
            .hint("leave out arguments that hold a NUL byte")
        })?;
        command.push(' ');
        command.push_str(&quoted);
    }
    Ok(command)
}

/// Record the run under the journal's lock; on a pass, first make (or
/// reuse) its green state. Returns every run remembered, this one last,
/// and whether a new green state was made.
fn remember(
    ctx: &Context,
    mut record: green::Run,
    tested: Option<&green::Tested>,
) -> anyhow::Result<(Vec<green::Run>, bool)> {
    let repo = &ctx.repo;
    let journal = Journal::for_repo(repo);
    let _lock = take_lock(repo, &ctx.ui, &journal, &ctx.command_line)?;
    let mut runs = green::runs(repo)?;
    let mut new = false;
    if let (true, Some(tested)) = (record.passed, tested) {
        let previous = green::last_green(&runs).map(|(_, g)| g.clone());
        let (state, made) = green::make_green(repo, tested, previous.as_ref(), &record.command)?;
        record.green = Some(state);
        new = made;
    }
    green::record(repo, &record)?;
    runs.push(record);
    if let Err(e) = green::automatic(repo, ctx.settings.keep_days) {
        ctx.ui.warn(&format!(
            "could not release green states older than {} days ({}): {e:#}",
            ctx.settings.keep_days,
            settings::KEEP_DAYS
        ));
    }
    Ok((runs, new))
}

/// The trigger fired: the recommendation, and the automatic action on the
/// run that reached the limit.
fn fire(
    ctx: &Context,
    (threshold, action): (u64, TriggerAction),
    failures: usize,
    first: bool,
    has_green: bool,
    outcome: &mut Outcome,
) -> Trigger {
    let mut trigger = Trigger {
        failures,
        action: action.name(),
        recommended_command: None,
        checkpoint: None,
        operation_id: None,
    };
    outcome.line(format!(
        "{} the tests failed {failures} times in a row ({} is {threshold}).",
        ctx.ui.bold("Rollback trigger:"),
        settings::TRIGGER_FAILURES,
    ));
    if has_green {
        outcome.line(
            "Triage: only the tests fail and they passed before, so roll back the work since they last passed (Level 1 to the last green state), keeping everything in a stash:",
        );
        outcome.line(format!("  {RETURN_COMMAND}"));
        trigger.recommended_command = Some(RETURN_COMMAND.to_string());
    } else {
        outcome.line(
            "Triage: there is no green test run to return to; decide the rollback level with `git rollback-sprint triage`.",
        );
        trigger.recommended_command = Some("git rollback-sprint triage".to_string());
    }
    if first {
        act(ctx, action, failures, has_green, &mut trigger, outcome);
    }
    trigger
}

/// The automatic action of `rollback.trigger.action`, on the run that
/// reached the limit; what it did goes into `trigger`.
fn act(
    ctx: &Context,
    action: TriggerAction,
    failures: usize,
    has_green: bool,
    trigger: &mut Trigger,
    outcome: &mut Outcome,
) {
    match action {
        TriggerAction::Suggest => {}
        TriggerAction::Checkpoint => {
            match super::checkpoint::tag_wip(
                ctx,
                &format!("Tests failing {failures} times in a row"),
            ) {
                Ok((name, Some(id))) => {
                    outcome.line(format!(
                        "Took a WIP checkpoint `{name}` ({} is checkpoint); undo with `git rollback-sprint undo {id}`.",
                        settings::TRIGGER_ACTION
                    ));
                    trigger.checkpoint = Some(name);
                    trigger.operation_id = Some(id);
                }
                Ok((_, None)) => {}
                Err(e) => ctx
                    .ui
                    .warn(&format!("the automatic checkpoint failed: {e:#}")),
            }
        }
        TriggerAction::Emergency if !has_green => ctx.ui.warn(&format!(
            "{} is emergency, but there is no green state to roll back to",
            settings::TRIGGER_ACTION
        )),
        TriggerAction::Emergency => match automatic_emergency(ctx) {
            Ok(rolled) => {
                outcome.line(format!(
                    "Rolled back to the last green state ({} is emergency):",
                    settings::TRIGGER_ACTION
                ));
                for line in &rolled.lines {
                    outcome.line(format!("  {line}"));
                }
                trigger.operation_id = rolled
                    .into_fields()
                    .get("operation_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
            }
            Err(e) => ctx.ui.warn(&format!(
                "the automatic rollback to the last green state failed: {}",
                crate::error::describe(&e).1
            )),
        },
    }
}

/// `emergency --to last-green --reason "tests failing"`, through the
/// command itself.
fn automatic_emergency(ctx: &Context) -> anyhow::Result<Outcome> {
    #[derive(clap::Parser)]
    struct Emergency {
        #[command(flatten)]
        args: super::emergency::Args,
    }
    let parsed = Emergency::try_parse_from([
        "emergency",
        "--to",
        green::REV,
        "--reason",
        "tests failing",
        "--severity",
        "medium",
    ])
    .map_err(|e| anyhow::anyhow!("internal error: {e}"))?;
    super::emergency::run(ctx, &parsed.args)
}

fn short(repo: &crate::git::Repo, id: &str) -> String {
    crate::git::parse_oid(id)
        .map(|oid| repo.short_id(oid))
        .unwrap_or_else(|_| crate::git::short(id).to_string())
}
