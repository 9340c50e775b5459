//! What `emergency` and `sprint rollback` share once the rollback is done:
//! the runbook's "always validate after rollback" (`--verify`: the tests on
//! the rolled-back tree, a cached pass for that tree counting), and what
//! the metrics entry's `recovery_time_minutes` measures (the run, or the
//! incident from `--since`).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone as _};
use serde::Serialize;

use super::Context;
use crate::error::{user, Exit};
use crate::git::Oid;
use crate::metrics::Measures;
use crate::settings;
use crate::testrun::{self, TestRun, VerifyCache};
use crate::ui::Outcome;

/// `--verify`, `--no-verify` and `--since`, on both rollback commands.
#[derive(Debug, Clone, clap::Args)]
pub struct AfterArgs {
    /// Run the tests on the rolled-back tree afterwards (default: git config rollback.verify)
    #[arg(long, overrides_with = "no_verify")]
    pub verify: bool,
    /// Do not run the tests afterwards, even with rollback.verify=true
    #[arg(long, overrides_with = "verify")]
    pub no_verify: bool,
    /// When the incident began (RFC 3339, or HH:MM today): the recovery
    /// time is measured from then, not from the command's start
    #[arg(long, value_name = "TIME", conflicts_with = "recovery_minutes")]
    pub since: Option<String>,
}

/// The verification a rollback will run: the tests of the tree it rolls
/// back to.
#[derive(Debug, Clone)]
pub struct Verify {
    pub tree: Oid,
    pub short: String,
    pub command: String,
    /// A pass for this tree and command is cached: nothing will run.
    pub cached_pass: bool,
}

impl fmt::Display for Verify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cached_pass {
            write!(
                f,
                "verify the rolled-back tree {}: `{}` passed on it before (cached), nothing to run",
                self.short, self.command
            )
        } else {
            write!(
                f,
                "verify the rolled-back tree {}: run `{}` on its files in a temporary directory",
                self.short, self.command
            )
        }
    }
}

/// Whether to verify, and with which command, decided before anything
/// changes. `--verify` without a test command is refused; the
/// `rollback.verify` default without one is a warning: the rollback
/// matters more.
pub fn plan_verify(ctx: &Context, args: &AfterArgs, tree: Oid) -> anyhow::Result<Option<Verify>> {
    let wanted = if args.no_verify {
        false
    } else {
        args.verify || ctx.settings.verify
    };
    if !wanted {
        return Ok(None);
    }
    let repo = &ctx.repo;
    let command = match testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree) {
        Ok(command) => command,
        Err(_) if args.verify => {
            return Err(user(
                "--verify needs a test command, and none is configured or detected for the rolled-back tree",
            )
            .hint("set one (git config rollback.testCommand 'make test'), or leave --verify out")
            .exit(Exit::Usage)
            .into())
        }
        Err(_) => {
            ctx.ui.warn(&format!(
                "{}=true, but no test command is configured or detected for the rolled-back tree, so it will not be verified (git config rollback.testCommand)",
                settings::VERIFY
            ));
            return Ok(None);
        }
    };
    let cached_pass = cached_pass(ctx, tree, &command).is_some();
    Ok(Some(Verify {
        tree,
        short: repo.short_id(tree),
        command,
        cached_pass,
    }))
}

/// A pass cached for `tree` and `command` (a cached failure is run again:
/// only a pass counts).
fn cached_pass(ctx: &Context, tree: Oid, command: &str) -> Option<TestRun> {
    VerifyCache::load(&ctx.repo)
        .get(tree, command)
        .map(|c| c.run.clone())
        .filter(TestRun::succeeded)
}

/// What the verification found.
pub enum Verified {
    /// The tests ran (or a pass was cached).
    Ran { run: TestRun, cached: bool },
    /// They could not be run at all, or were interrupted.
    Error { message: String, interrupted: bool },
}

impl Verified {
    pub fn passed(&self) -> bool {
        matches!(self, Verified::Ran { run, .. } if run.succeeded())
    }
}

/// Run the verification (after the rollback): a cached pass counts;
/// otherwise the tests run on the tree's files in a temporary directory,
/// and the result is cached by tree id.
pub fn run_verify(ctx: &Context, v: &Verify) -> Verified {
    if let Some(run) = cached_pass(ctx, v.tree, &v.command) {
        return Verified::Ran { run, cached: true };
    }
    ctx.ui.note(&format!(
        "Verifying: running `{}` on the rolled-back tree {} in a temporary directory…",
        v.command, v.short
    ));
    let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
    match testrun::verify_tree(&ctx.repo, v.tree, &v.command, timeout) {
        Ok(run) => {
            if let Err(e) = VerifyCache::store(&ctx.repo, v.tree, &run) {
                ctx.ui
                    .warn(&format!("could not cache the verification: {e:#}"));
            }
            Verified::Ran { run, cached: false }
        }
        Err(e) => Verified::Error {
            interrupted: testrun::interrupted(&e),
            message: format!("{e:#}"),
        },
    }
}

/// The JSON field `verification`.
#[derive(Serialize)]
struct VerificationJson<'a> {
    verification: VerificationFields<'a>,
}

#[derive(Serialize)]
struct VerificationFields<'a> {
    command: &'a str,
    tree: String,
    passed: Option<u64>,
    failed: Option<u64>,
    exit_code: Option<i32>,
    timed_out: bool,
    cached: bool,
    succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Record a pass in the metrics entry of operation `id`, and report the
/// result: a failure leaves the rollback in place, warns, says what to do
/// and ends with exit 4 (3 when it was interrupted).
pub fn report_verify(
    ctx: &Context,
    v: &Verify,
    verified: &Verified,
    id: &str,
    outcome: &mut Outcome,
) {
    if verified.passed() {
        if let Err(e) = crate::metrics::mark_verified(&ctx.repo, &ctx.settings.reports_dir, id) {
            ctx.ui.warn(&format!(
                "the tests passed, but the metrics entry could not be marked verified: {e:#}"
            ));
        }
    }
    outcome.data(&VerificationJson {
        verification: fields(v, verified),
    });
    match verified {
        Verified::Ran { run, cached } if run.succeeded() => {
            outcome.line(format!(
                "{} `{}` {} on the rolled-back tree {}{}",
                ctx.ui.good("Verified:"),
                v.command,
                run.summary(),
                v.short,
                if *cached { " (cached)" } else { "" }
            ));
        }
        Verified::Ran { run, cached } => report_failed(ctx, v, run, *cached, id, outcome),
        Verified::Error {
            message,
            interrupted,
        } => report_unfinished(ctx, v, message, *interrupted, id, outcome),
    }
}

/// The JSON `verification` object: the run's counts, or the error that
/// stopped it.
fn fields<'a>(v: &'a Verify, verified: &'a Verified) -> VerificationFields<'a> {
    let (run, cached, error) = match verified {
        Verified::Ran { run, cached } => (Some(run), *cached, None),
        Verified::Error { message, .. } => (None, false, Some(message.as_str())),
    };
    VerificationFields {
        command: &v.command,
        tree: v.tree.to_string(),
        passed: run.and_then(|r| r.passed),
        failed: run.and_then(|r| r.failed),
        exit_code: run.and_then(|r| r.exit_code),
        timed_out: run.is_some_and(|r| r.timed_out),
        cached,
        succeeded: verified.passed(),
        error,
    }
}

/// The tests fail on the rolled-back tree too: the end of their output,
/// what to do, and exit 4; the rollback stays.
fn report_failed(
    ctx: &Context,
    v: &Verify,
    run: &TestRun,
    cached: bool,
    id: &str,
    outcome: &mut Outcome,
) {
    outcome.line(format!(
        "{} `{}` {} on the rolled-back tree {}{}",
        ctx.ui.bad("Not verified:"),
        v.command,
        run.summary(),
        v.short,
        if cached { " (cached)" } else { "" }
    ));
    let tail: Vec<&str> = run.output.lines().rev().take(15).collect();
    for line in tail.into_iter().rev() {
        outcome.line(format!("    {line}"));
    }
    ctx.ui
        .warn("the tests fail on the rolled-back tree too; the rollback stays (see below)");
    outcome.line(format!(
        "The rollback stays in place. The failure is not (only) in the rolled-back work: roll back further with `git rollback-sprint emergency --to <an older good commit>`, or look at the environment with `git rollback-sprint check`; `git rollback-sprint undo {id}` reverses the rollback."
    ));
    outcome.exit_with(Exit::SafetyCheck);
}

/// The tests did not run to the end: what to do, and exit 4 (3 when they
/// were interrupted); the rollback stays.
fn report_unfinished(
    ctx: &Context,
    v: &Verify,
    message: &str,
    interrupted: bool,
    id: &str,
    outcome: &mut Outcome,
) {
    ctx.ui.warn(&format!(
        "the rolled-back tree could not be verified: {message}"
    ));
    outcome.line(format!(
        "{} the rollback is done, but the tests on the rolled-back tree {} did not run to the end; run `{}` yourself, and reverse the rollback with `git rollback-sprint undo {id}` if needed.",
        ctx.ui.bad("Not verified:"),
        v.short,
        v.command
    ));
    outcome.exit_with(if interrupted {
        Exit::Stopped
    } else {
        Exit::SafetyCheck
    });
}

/// `--since`: when the incident began, checked before anything changes.
/// RFC 3339 (`2026-11-21T09:30:00+01:00`) or `HH:MM` (today, in the
/// clock's local time); not after now.
pub fn parse_since(
    text: &str,
    now: &DateTime<FixedOffset>,
) -> anyhow::Result<DateTime<FixedOffset>> {
    let bad = || -> anyhow::Error {
        user(format!(
            "--since `{}` is not a time",
            crate::ui::one_line(text)
        ))
        .hint("use RFC 3339 (2026-11-21T09:30:00+01:00) or HH:MM for today (09:30)")
        .exit(Exit::Usage)
        .into()
    };
    let trimmed = text.trim();
    let at = if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        t
    } else {
        let time = NaiveTime::parse_from_str(trimmed, "%H:%M").map_err(|_| bad())?;
        let day = now.date_naive().and_time(time);
        now.offset()
            .from_local_datetime(&day)
            .single()
            .ok_or_else(bad)?
    };
    if at > *now {
        return Err(user(format!(
            "--since `{}` is after now ({})",
            crate::ui::one_line(text),
            crate::clock::rfc3339(now)
        ))
        .hint("give the time the incident began, earlier than now")
        .exit(Exit::Usage)
        .into());
    }
    Ok(at)
}

/// When the incident this rollback ends began, if the tool knows: the
/// time given with `--since`; otherwise the time of the first failing
/// `test` run since the last green state, from the records the `test`
/// command keeps (none yet: `None`). With no start known, the recovery
/// time measures the rollback's own run.
pub fn incident_start(
    ctx: &Context,
    since: Option<DateTime<FixedOffset>>,
) -> Option<DateTime<FixedOffset>> {
    since.or_else(|| first_failing_test_since_last_green(ctx))
}

/// The time of the first failing `test` run since the last green state
/// (of the failing runs in a row at the end of `test`'s records): when the
/// tests went red. None when the newest run passed, or none is recorded
/// (an unreadable record counts as none: the run's time is used).
fn first_failing_test_since_last_green(ctx: &Context) -> Option<DateTime<FixedOffset>> {
    let runs = crate::journal::green::runs(&ctx.repo).ok()?;
    let first = runs.iter().rev().take_while(|r| !r.passed).last()?;
    DateTime::parse_from_rfc3339(&first.time).ok()
}

/// The recovery time of a rollback ending now, and what it measures:
/// the minutes given; the incident, from its start to now; or the run,
/// from the command's start.
pub fn recovery_minutes(
    given: Option<f64>,
    incident: Option<DateTime<FixedOffset>>,
    run: Duration,
) -> (f64, Measures) {
    match (given, incident) {
        (Some(m), _) => (m, Measures::Given),
        (None, Some(start)) => {
            let secs = (crate::clock::now() - start).num_milliseconds() as f64 / 1000.0;
            (secs.max(0.0) / 60.0, Measures::Incident)
        }
        (None, None) => (run.as_secs_f64() / 60.0, Measures::Run),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_since;
    use chrono::DateTime;

    #[test]
    fn since_takes_rfc3339_and_hours_today() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:04:05+01:00").unwrap();
        assert_eq!(
            parse_since("09:30", &now).unwrap().to_rfc3339(),
            "2026-11-21T09:30:00+01:00"
        );
        assert_eq!(
            parse_since("2026-11-21T08:00:00Z", &now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-21T08:00:00+00:00"
        );
        assert!(parse_since("20 minutes ago", &now).is_err());
        assert!(parse_since("25:00", &now).is_err());
        assert!(parse_since("10:30", &now).is_err(), "in the future");
    }
}
