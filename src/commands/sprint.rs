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

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::reports::markdown::{md_code, md_text, recover_command};
use super::{baseline, check, new_branch_name, reset_to_tree, status::sprint_number, Context};
use crate::clock;
use crate::error::{user, Exit};
use crate::git::{self, snapshot, HeadState, Oid};
use crate::journal::{Intent, Scope, Transaction};
use crate::metrics;
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

fn start(ctx: &Context, n: u32, run_tests: bool) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let head = head_commit(ctx, "a sprint starts from a commit")?;
    let branch = format!("refactor/sprint-{n}");
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
    let prefix = &ctx.settings.checkpoint_prefix;
    let checkpoint = repo.unused_ref_name(
        "refs/tags/",
        &format!("{prefix}{}", clock::stamp(&clock::now())),
    )?;
    if !git::Repo::valid_tag_name(&checkpoint) {
        return Err(user(format!("`{checkpoint}` is not a valid tag name"))
            .hint("fix git config rollback.checkpointPrefix")
            .into());
    }

    let mut outcome = Outcome::new();
    outcome.field("sprint", n).field("branch", branch.as_str());
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

    let head_state = repo.head_state()?;
    let steps = vec![
        format!(
            "tag HEAD ({}) as checkpoint `{checkpoint}`",
            repo.short_id(head)
        ),
        format!("create branch {branch} at {}", repo.short_id(head)),
        format!("switch from {} to {branch}", head_state.describe()),
    ];
    outcome.field("checkpoint", checkpoint.as_str());
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &steps {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", steps);
        return Ok(outcome);
    }

    let tag_ref = format!("refs/tags/{checkpoint}");
    let scope = Scope {
        head: true,
        refs: vec![tag_ref.clone(), branch_ref.clone()],
        ..Scope::default()
    };
    let intent = Intent::new("sprint start", &ctx.command_line, scope).plan(steps);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let ((), id) = tx.run(|tx| {
        let tag = repo.write_tag_object(&checkpoint, head, &format!("Before sprint {n}"))?;
        tx.update_ref(&tag_ref, None, Some(tag))?;
        tx.update_ref(&branch_ref, None, Some(head))?;
        tx.set_head(&HeadState::Symbolic(branch_ref.clone()))?;
        Ok(())
    })?;
    outcome
        .field("operation_id", id.as_str())
        .field("commit", head.to_string());
    outcome.line(format!(
        "{} sprint {n} on branch {branch} from {} (checkpoint `{checkpoint}`).",
        ctx.ui.good("Started:"),
        repo.short_id(head)
    ));
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    Ok(outcome)
}

// ----- sprint rollback ----------------------------------------------------------

/// Everything decided before anything changes.
struct Plan {
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
    steps: Vec<String>,
}

fn rollback(ctx: &Context, args: &RollbackArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let severity = metrics::parse_severity(args.severity.as_deref().unwrap_or("high"))?;
    metrics::check_recovery_minutes(args.recovery_minutes)?;
    let plan = plan_rollback(ctx, args)?;
    let mut outcome = Outcome::new();
    outcome
        .field("sprint", plan.n)
        .field("backup_branch", plan.backup.as_str())
        .field("retry_branch", plan.retry.as_str())
        .field("reports_dir", plan.report_dir.display().to_string())
        .field("baseline", plan.baseline.commit.to_string());
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &plan.steps {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", plan.steps.clone());
        return Ok(outcome);
    }

    // The tests run first, on the failed sprint as it is, in the work tree
    // (with the project's build caches); nothing has changed yet.
    let tests = match &plan.test_command {
        Some(cmd) => {
            ctx.ui
                .note(&format!("Running `{cmd}` for the failure report…"));
            let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
            Some(testrun::run_tests(cmd, ctx.repo.workdir(), timeout)?)
        }
        None => None,
    };

    let repo = &ctx.repo;
    let backup_ref = format!("refs/heads/{}", plan.backup);
    let retry_ref = format!("refs/heads/{}", plan.retry);
    let scope = Scope {
        head: true,
        index: true,
        worktree: true,
        stash: false,
        refs: vec![backup_ref.clone(), retry_ref.clone()],
        ..Scope::default()
    };
    let mut intent =
        Intent::new("sprint rollback", &ctx.command_line, scope).plan(plan.steps.clone());
    intent.overwrite_with = Some(plan.baseline_tree);
    let reports = settings::reports_path(&ctx.settings.reports_dir);
    intent.preserve = vec![reports.clone()];
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;

    let (done, id) = tx.run(|tx| {
        let scan = tx
            .scan()
            .cloned()
            .context("internal error: sprint rollback has no snapshot of the work tree")?;
        // 1. The failure's record: the diff stat reads every changed blob
        // twice, so it runs beside the switch and the reports are written
        // when it is done.
        crate::trace::phase("sprint: log");
        // The user's work, without the tool's reports folder
        // (docs/invariants.md, I8): it never goes into the WIP commit, which
        // keeps it as HEAD has it.
        let work = scan.without_folder(repo, Some(plan.head_tree), &reports)?;
        let stat = repo.diff_stat_in_background(plan.baseline_tree, work.tree);
        let log = repo.log_oneline(plan.baseline.commit, plan.head)?;

        // 2. The work in progress, untracked files included, on the backup
        // branch; the sprint branch stays where it is.
        crate::trace::phase("sprint: WIP commit");
        let wip = if work.tree != plan.head_tree {
            Some(snapshot::commit_snapshot(
                repo,
                work.tree,
                &[plan.head],
                &format!(
                    "WIP: Sprint {} before rollback\n\nSaved by git-rollback-sprint before rolling back to {}.\n",
                    plan.n, plan.baseline.name
                ),
            )?)
        } else {
            None
        };
        tx.update_ref(&backup_ref, None, Some(wip.unwrap_or(plan.head)))?;

        // 3. The retry branch at the baseline: only the paths that differ are
        // written, untracked files removed (they are in the WIP commit).
        let written = reset_to_tree(ctx, tx, &scan, plan.baseline_tree, "switching to the baseline")?;
        crate::trace::phase("sprint: refs and metrics");
        tx.update_ref(&retry_ref, None, Some(plan.baseline.commit))?;
        tx.set_head(&HeadState::Symbolic(retry_ref.clone()))?;

        crate::trace::phase("sprint: reports");
        let (stat, files_changed) = match stat.join() {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => (format!("The diff stat could not be computed: {e:#}\n"), written),
            Err(_) => ("The diff stat could not be computed.\n".to_string(), written),
        };
        let op_id = tx.id().to_string();
        let cause = args.reason.clone().unwrap_or_else(|| {
            if tests.as_ref().is_some_and(|t| !t.succeeded()) {
                "tests failing".to_string()
            } else {
                "sprint rollback".to_string()
            }
        });
        let report = Report {
            plan: &plan,
            reason: args.reason.as_deref(),
            severity,
            tests: tests.as_ref(),
            files_changed,
            commits: log.len(),
            operation_id: &op_id,
            time: clock::rfc3339(&clock::now()),
        };
        crate::reports_folder::prepare(repo, &ctx.settings.reports_dir)?;
        write_reports(repo.workdir(), &plan.report_dir, &report, &log, &stat)?;
        crate::fault::point("after-reports");
        tx.detail("reports_dir", plan.report_dir.display().to_string());

        // 4. Metrics, inside the operation so its id is recorded.
        let entry = metrics::Entry {
            timestamp: report.time.clone(),
            sprint: Some(plan.n),
            severity,
            cause: &cause,
            recovery_minutes: args
                .recovery_minutes
                .unwrap_or(started.elapsed().as_secs_f64() / 60.0),
            kind: "sprint",
            operation_id: Some(&op_id),
            duration_seconds: started.elapsed().as_secs_f64(),
            files_changed,
            backup_ref: Some(&backup_ref),
            undone: false,
        };
        let set_aside = metrics::record(tx, &ctx.settings.reports_dir, &plan.stamp, &entry)?;
        Ok(RollbackDone {
            wip,
            files_changed,
            written,
            untracked: work.untracked.len(),
            metrics_set_aside: set_aside,
        })
    })?;

    let seconds = started.elapsed().as_secs_f64();
    if let Some(aside) = &done.metrics_set_aside {
        ctx.ui.warn(&format!(
            "the metrics file was corrupt; it was moved to {} and a new one started",
            aside.display()
        ));
        outcome.field("metrics_set_aside", aside.display().to_string());
    }
    let tests_json = tests.as_ref().map(|t| {
        serde_json::json!({
            "command": t.command,
            "passed": t.passed,
            "failed": t.failed,
            "exit_code": t.exit_code,
            "timed_out": t.timed_out,
            "succeeded": t.succeeded(),
        })
    });
    outcome
        .field("operation_id", id.as_str())
        .field("wip_commit", done.wip.map(|w| w.to_string()))
        .field("tests", tests_json)
        .field("files_changed", done.files_changed)
        .field("paths_written", done.written)
        .field("untracked_removed", done.untracked)
        .field("duration_seconds", metrics::round2(seconds))
        .field("undo_command", format!("git rollback-sprint undo {id}"));
    outcome.line(format!(
        "{} sprint {} is on hold; you are on {} at the baseline `{}` ({}).",
        ctx.ui.good("Rolled back:"),
        plan.n,
        plan.retry,
        plan.baseline.name,
        repo.short_id(plan.baseline.commit)
    ));
    match (&plan.branch, done.wip) {
        (Some(b), Some(w)) => outcome.line(format!(
            "  your work: branch {} ({}: the WIP commit on top of {b}, which did not move)",
            plan.backup,
            repo.short_id(w)
        )),
        (None, Some(w)) => outcome.line(format!(
            "  your work: branch {} ({}: the WIP commit on top of {})",
            plan.backup,
            repo.short_id(w),
            repo.short_id(plan.head)
        )),
        (_, None) => outcome.line(format!(
            "  your work: branch {} at {} (there was nothing uncommitted)",
            plan.backup,
            repo.short_id(plan.head)
        )),
    };
    if let Some(t) = &tests {
        outcome.line(format!("  tests: `{}` {}", t.command, t.summary()));
    }
    outcome.line(format!(
        "  report: {}/report.md ({} file(s) changed in the sprint)",
        plan.report_dir.display(),
        done.files_changed
    ));
    outcome.line(format!(
        "  bring good commits back with: {}",
        recover_command(plan.branch.as_deref().unwrap_or(&plan.backup))
    ));
    outcome.line(format!(
        "Undo everything with: git rollback-sprint undo {id}"
    ));
    Ok(outcome)
}

struct RollbackDone {
    wip: Option<Oid>,
    files_changed: usize,
    written: usize,
    untracked: usize,
    metrics_set_aside: Option<PathBuf>,
}

fn plan_rollback(ctx: &Context, args: &RollbackArgs) -> anyhow::Result<Plan> {
    let repo = &ctx.repo;
    super::refuse_operation_in_progress(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    let head = head_commit(ctx, "a sprint rollback saves the sprint's commits")?;
    let head_state = repo.head_state()?;
    let branch = repo.current_branch()?;
    let n = sprint_of(args.n, branch.as_deref(), "sprint rollback")?;
    crate::reports_folder::check(repo.workdir(), &ctx.settings.reports_dir)?;
    let baseline = baseline::resolve(repo, &ctx.settings)?;
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

    let mut steps = Vec::new();
    match &test_command {
        Some(cmd) => steps.push(format!("run `{cmd}` in the work tree for the report")),
        None => steps.push("run no tests".to_string()),
    }
    steps.push(format!(
        "write the failure report to {}/ (git_log.txt, changes.txt, test_failures.txt, report.md)",
        report_dir.display()
    ));
    let wip_step = if ctx.ui.dry_run {
        let p = snapshot::preview(repo, false, None)?;
        if p.is_dirty() {
            format!(
                "commit the work in progress ({} modified, {} deleted, {} untracked{}) as \"WIP: Sprint {n} before rollback\" on new branch {backup} (parent {})",
                p.modified,
                p.deleted,
                p.untracked,
                if p.staged > 0 { ", staged changes" } else { "" },
                repo.short_id(head)
            )
        } else {
            format!(
                "create branch {backup} at {} (nothing uncommitted)",
                repo.short_id(head)
            )
        }
    } else {
        format!(
            "commit the work in progress, untracked files included, as \"WIP: Sprint {n} before rollback\" on new branch {backup} (parent {})",
            repo.short_id(head)
        )
    };
    steps.push(wip_step);
    steps.push(format!(
        "create branch {retry} at the baseline `{}` ({}) and switch to it: {} tracked path(s) differ from HEAD",
        baseline.name,
        repo.short_id(baseline.commit),
        repo.files_changed(head, baseline.commit)?
    ));
    steps.push("remove untracked files (they are in the WIP commit); leave ignored files".into());
    steps.push(format!(
        "record the rollback in {}/metrics.json",
        ctx.settings.reports_dir
    ));
    steps.push(format!(
        "leave {} where it is ({})",
        head_state.describe(),
        repo.short_id(head)
    ));
    Ok(Plan {
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
        steps,
    })
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
    plan: &'a Plan,
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
        s.push_str(&format!("| {k} | {v} |\n"));
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

fn finish(ctx: &Context, n: Option<u32>, run_tests: bool) -> anyhow::Result<Outcome> {
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
    let info = repo.commit_info(head)?;
    let moving = if current.commit == head {
        None
    } else {
        Some(baseline::Move::plan(
            repo,
            &current.name,
            head,
            &format!("Baseline: sprint {n} done ({})", info.summary),
        )?)
    };
    let mut steps = Vec::new();
    match &moving {
        Some(m) => steps.extend(m.steps(repo, &info.summary)),
        None => steps.push(format!(
            "leave the baseline `{}` where it is: it is HEAD already",
            current.name
        )),
    }
    steps.push(format!(
        "tag HEAD ({}) as `{done_tag}`",
        repo.short_id(head)
    ));
    let reports = settings::reports_path(&ctx.settings.reports_dir);
    if snapshot::preview(repo, false, Some(&reports))?.is_dirty() {
        ctx.ui.warn(
            "there are uncommitted changes; they are not part of the new baseline (commit them first if they should be)",
        );
    }

    let mut outcome = Outcome::new();
    outcome
        .field("sprint", n)
        .field("baseline", current.name.as_str())
        .field("commit", head.to_string())
        .field("previous", moving.as_ref().and_then(|m| m.keep_as.clone()))
        .field("tag", done_tag.as_str());
    // The sprint is done only when its tests pass: on HEAD's tree, in a
    // temporary worktree, cached by tree id (as `baseline verify`).
    let tested = if run_tests {
        let tree = repo.commit_tree(head)?;
        let command = testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree)?;
        let what = format!("HEAD {}", repo.short_id(head));
        match baseline::tested_tree(ctx, tree, &command, &what)? {
            Some((run, cached)) => {
                let line = format!(
                    "tests on HEAD's tree {}: `{command}` {}{}",
                    repo.short_id(tree),
                    run.summary(),
                    if cached { " [cached]" } else { "" }
                );
                outcome.field(
                    "tests",
                    serde_json::json!({"command": command, "passed": run.passed,
                        "failed": run.failed, "exit_code": run.exit_code,
                        "timed_out": run.timed_out, "cached": cached,
                        "succeeded": run.succeeded()}),
                );
                if !run.succeeded() {
                    outcome.line(format!("{} {line}", ctx.ui.bad("✗")));
                    if !cached {
                        let tail: Vec<&str> = run.output.lines().rev().take(15).collect();
                        for l in tail.into_iter().rev() {
                            outcome.line(format!("    {l}"));
                        }
                    }
                    outcome.line(format!(
                        "{} the tests fail on HEAD, so sprint {n} is not finished; nothing was changed (fix them, or pass --no-tests to finish anyway).",
                        ctx.ui.bad("Not finished:")
                    ));
                    outcome.exit_with(Exit::SafetyCheck);
                    return Ok(outcome);
                }
                steps.insert(0, format!("{line} (passed)"));
                Some(line)
            }
            None => {
                steps.insert(
                    0,
                    format!(
                        "run `{command}` on HEAD's tree {} in a temporary directory; stop if it fails",
                        repo.short_id(tree)
                    ),
                );
                None
            }
        }
    } else {
        outcome.field("tests", serde_json::Value::Null);
        steps.insert(0, "skip the tests on HEAD (--no-tests)".to_string());
        None
    };
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &steps {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", steps);
        return Ok(outcome);
    }
    let mut refs = vec![done_ref.clone()];
    if let Some(m) = &moving {
        refs.extend(m.refs());
    }
    let intent = Intent::new("sprint finish", &ctx.command_line, Scope::refs(refs)).plan(steps);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let ((), id) = tx.run(|tx| {
        tx.detail(
            "tests",
            if run_tests {
                "passed"
            } else {
                "skipped (--no-tests)"
            },
        );
        if let Some(m) = &moving {
            m.apply(tx)?;
        }
        let tag = repo.write_tag_object(
            &done_tag,
            head,
            &format!("Sprint {n} done: {}", info.summary),
        )?;
        tx.update_ref(&done_ref, None, Some(tag))?;
        Ok(())
    })?;
    outcome.field("operation_id", id.as_str());
    outcome.line(format!(
        "{} sprint {n} is done at {} {}.",
        ctx.ui.good("Finished:"),
        repo.short_id(head),
        crate::ui::quote(&info.summary)
    ));
    match &moving {
        Some(m) => outcome.line(format!(
            "  the baseline `{}` is now {}; the previous one is kept as `{}`",
            current.name,
            repo.short_id(head),
            m.keep_as.as_deref().unwrap_or("-")
        )),
        None => outcome.line(format!(
            "  the baseline `{}` was already at HEAD",
            current.name
        )),
    };
    outcome.line(format!("  tagged `{done_tag}`"));
    match &tested {
        Some(line) => outcome.line(format!("  {line}")),
        None => outcome.line("  the tests were not run (--no-tests)"),
    };
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    Ok(outcome)
}
