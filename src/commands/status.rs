//! `status`: baseline, newest checkpoint, current sprint, operations in
//! progress, latest rollback (README: `log`, `undo`, `redo`, `status`).

use super::Context;
use crate::clock;
use crate::journal::{self, Journal};
use crate::ui::Outcome;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Kinds of operation that count as rollbacks.
const ROLLBACK_KINDS: &[&str] = &["emergency", "sprint rollback", "files"];

/// The JSON fields of `status`.
#[derive(Serialize)]
struct Status<'a> {
    baseline: Option<Baseline>,
    latest_checkpoint: Option<String>,
    branch: Option<String>,
    sprint: Option<u32>,
    in_progress: Vec<String>,
    latest_rollback: Option<String>,
    last_green: Option<super::test::LastGreen>,
    failures_since_green: usize,
    operations: usize,
    work_tree: String,
    git_dir: String,
    settings: Settings<'a>,
    /// The newest drill, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_drill: Option<LastDrill>,
}

#[derive(Serialize)]
struct LastDrill {
    timestamp: String,
    verdict: String,
}

#[derive(Serialize)]
struct Baseline {
    name: String,
    commit: String,
}

pub fn run(ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let mut outcome = Outcome::new();
    let baseline = baseline_line(ctx, &mut outcome)?;
    let latest_checkpoint = checkpoint_line(ctx, &mut outcome)?;
    let head = repo.head_state()?;
    let branch = repo.current_branch()?;
    let sprint = branch.as_deref().and_then(sprint_number);
    outcome.line(format!(
        "HEAD:        {}{}",
        head.describe(),
        sprint.map_or(String::new(), |n| format!(" (sprint {n})"))
    ));
    let in_progress = in_progress_lines(ctx, &mut outcome)?;
    let (latest_rollback, operations) = rollback_line(ctx, &mut outcome)?;
    let (last_green, failures_since_green) = green_line(ctx, &mut outcome)?;
    let last_drill = drill_line(ctx, &mut outcome)?;
    // Where the tool acts, as `git rev-parse --show-toplevel
    // --absolute-git-dir` would say, and the settings it reads: JSON only,
    // so scripts (and the layout tests) can compare them with git's.
    outcome.data(&Status {
        baseline,
        latest_checkpoint,
        branch,
        sprint,
        in_progress,
        latest_rollback,
        last_green,
        failures_since_green,
        operations,
        work_tree: plain_path(repo.workdir()),
        git_dir: plain_path(repo.git_dir()),
        settings: Settings::of(&ctx.settings),
        last_drill,
    });
    Ok(outcome)
}

/// The newest drill's line, and a warning when the next one is due;
/// nothing before the first drill unless one is due.
fn drill_line(ctx: &Context, outcome: &mut Outcome) -> anyhow::Result<Option<LastDrill>> {
    let last = super::drill::last_drill(ctx);
    if let Some(d) = &last {
        outcome.line(format!(
            "drill:       {} ({}, {})",
            d.timestamp,
            d.verdict,
            clock::age(clock::now().timestamp() - d.age_seconds, &clock::now())
        ));
    }
    if let Some(warning) = super::drill::overdue(ctx, last.as_ref())? {
        ctx.ui.warn(&warning);
    }
    Ok(last.map(|d| LastDrill {
        timestamp: d.timestamp,
        verdict: d.verdict,
    }))
}

/// The baseline's line.
fn baseline_line(ctx: &Context, outcome: &mut Outcome) -> anyhow::Result<Option<Baseline>> {
    let repo = &ctx.repo;
    let now = clock::now();
    match super::baseline::find(repo, &ctx.settings)? {
        Some(b) => {
            let info = repo.commit_info(b.commit)?;
            let when = b.tag.as_ref().map_or(info.time, |t| t.time);
            outcome.line(format!(
                "baseline:    {} at {} {} (set {})",
                b.name,
                repo.short_id(b.commit),
                crate::ui::quote(&info.summary),
                clock::age(when, &now)
            ));
            Ok(Some(Baseline {
                name: b.name,
                commit: b.commit.to_string(),
            }))
        }
        None => {
            outcome.line(format!(
                "baseline:    `{}` does not exist (create it with `git rollback-sprint baseline set`)",
                ctx.settings.baseline
            ));
            Ok(None)
        }
    }
}

/// The newest checkpoint's line.
fn checkpoint_line(ctx: &Context, outcome: &mut Outcome) -> anyhow::Result<Option<String>> {
    let tags = super::checkpoint::checkpoints(ctx)?;
    match tags.first() {
        Some(t) => {
            outcome.line(format!(
                "checkpoint:  {} ({} checkpoint(s) in all)",
                t.name,
                tags.len()
            ));
            Ok(Some(t.name.clone()))
        }
        None => {
            outcome.line("checkpoint:  none");
            Ok(None)
        }
    }
}

/// Git operations, and operations of ours, left half-way.
fn in_progress_lines(ctx: &Context, outcome: &mut Outcome) -> anyhow::Result<Vec<String>> {
    let repo = &ctx.repo;
    let mut in_progress = Vec::new();
    if let Some(p) = repo.git_operation_in_progress() {
        in_progress.push(format!("{} — {}", p.what, p.hint));
    }
    if let Some(op) = journal::interrupted(repo)? {
        in_progress.push(journal::interrupted_message(&op));
    }
    if let Some((branch, commit)) = super::recover::in_progress(repo) {
        in_progress.push(format!(
            "a recovery onto {branch} stopped at a conflict in {} — resolve, `git add`, then `git rollback-sprint recover --continue` (or --skip, --abort)",
            crate::git::short(&commit)
        ));
    }
    if in_progress.is_empty() {
        outcome.line("in progress: nothing");
    }
    for item in &in_progress {
        outcome.line(format!("in progress: {}", crate::ui::one_line(item)));
    }
    Ok(in_progress)
}

/// The latest rollback not undone, and how many operations the journal holds.
fn rollback_line(ctx: &Context, outcome: &mut Outcome) -> anyhow::Result<(Option<String>, usize)> {
    let repo = &ctx.repo;
    // The newest part of the journal answers unless no rollback is in it.
    let journal = Journal::for_repo(repo);
    let mut history = journal.recent_history()?;
    // An undone rollback is not the latest rollback: undone in the journal,
    // or its metrics entry marked `"undone": true`.
    let marked_undone = undone_in_metrics(ctx);
    let latest_in = |history: &crate::journal::History| {
        history
            .ops()
            .iter()
            .rev()
            .find(|o| {
                ROLLBACK_KINDS.contains(&o.begin.kind.as_str())
                    && history.undone_by(o).is_none()
                    && !marked_undone.iter().any(|id| id == o.id())
            })
            .cloned()
    };
    let mut latest = latest_in(&history);
    if latest.is_none() && history.is_partial() {
        history = journal.history()?;
        latest = latest_in(&history);
    }
    let latest_rollback = match latest {
        Some(op) => {
            outcome.line(format!(
                "rollback:    {} `{}` ({})",
                op.begin.time,
                crate::ui::one_line(&op.begin.command),
                op.id()
            ));
            Some(op.id().to_string())
        }
        None => {
            outcome.line("rollback:    none recorded");
            None
        }
    };
    let count = if history.is_partial() {
        journal.count_operations()?
    } else {
        history.len()
    };
    Ok((latest_rollback, count))
}

/// The last green test run (time, commit, age) and the failing runs since.
fn green_line(
    ctx: &Context,
    outcome: &mut Outcome,
) -> anyhow::Result<(Option<super::test::LastGreen>, usize)> {
    let repo = &ctx.repo;
    // Status only reports: an unreadable file of test runs is a warning.
    let runs = journal::green::runs(repo).unwrap_or_else(|e| {
        ctx.ui.warn(&crate::error::describe(&e).1);
        Vec::new()
    });
    let failures = journal::green::failures_since_green(&runs);
    let failed = match failures {
        0 => String::new(),
        1 => "; 1 failing run since".to_string(),
        n => format!("; {n} failing runs since"),
    };
    match journal::green::last_green(&runs) {
        Some((run, state)) => {
            let age = chrono::DateTime::parse_from_rfc3339(&run.time)
                .map(|t| clock::age(t.timestamp(), &clock::now()))
                .unwrap_or_default();
            let commit = crate::git::parse_oid(&state.head)
                .map(|oid| repo.short_id(oid))
                .unwrap_or_else(|_| crate::git::short(&state.head).to_string());
            outcome.line(format!(
                "last green:  {} at {commit} ({age}){failed}",
                run.time
            ));
            Ok((Some(super::test::LastGreen::of(run, state)), failures))
        }
        None => {
            outcome.line(format!(
                "last green:  none yet (run `git rollback-sprint test`){failed}"
            ));
            Ok((None, failures))
        }
    }
}

/// A directory without the trailing `/` libgit2 gives it.
fn plain_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    match text.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// The `rollback.*` settings in effect, by git config key (the names are
/// `crate::settings`'s constants; a unit test holds them together).
#[derive(Serialize)]
struct Settings<'a> {
    #[serde(rename = "rollback.baseline")]
    baseline: &'a str,
    #[serde(rename = "rollback.checkpointPrefix")]
    checkpoint_prefix: &'a str,
    #[serde(rename = "rollback.reportsDir")]
    reports_dir: &'a str,
    #[serde(rename = "rollback.testCommand")]
    test_command: &'a Option<String>,
    #[serde(rename = "rollback.testPattern")]
    test_patterns: &'a Vec<String>,
    #[serde(rename = "rollback.fileTestCommand")]
    file_test_command: &'a Option<String>,
    #[serde(rename = "rollback.stopCommand")]
    stop_command: &'a Option<String>,
    #[serde(rename = "rollback.startCommand")]
    start_command: &'a Option<String>,
    #[serde(rename = "rollback.setupCommand")]
    setup_command: &'a Option<String>,
    #[serde(rename = "rollback.diskThreshold")]
    disk_threshold: &'a u8,
    #[serde(rename = "rollback.hookTests")]
    hook_tests: &'a bool,
    #[serde(rename = "rollback.testTimeout")]
    test_timeout_secs: &'a u64,
}

impl<'a> Settings<'a> {
    fn of(s: &'a crate::settings::Settings) -> Settings<'a> {
        Settings {
            baseline: &s.baseline,
            checkpoint_prefix: &s.checkpoint_prefix,
            reports_dir: &s.reports_dir,
            test_command: &s.test_command,
            test_patterns: &s.test_patterns,
            file_test_command: &s.file_test_command,
            stop_command: &s.stop_command,
            start_command: &s.start_command,
            setup_command: &s.setup_command,
            disk_threshold: &s.disk_threshold,
            hook_tests: &s.hook_tests,
            test_timeout_secs: &s.test_timeout_secs,
        }
    }
}

/// The operation ids of the metrics entries marked `"undone": true` (none
/// when the metrics file is missing or corrupt: status only reports).
fn undone_in_metrics(ctx: &Context) -> Vec<String> {
    let file = crate::metrics::MetricsFile::new(ctx.repo.workdir(), &ctx.settings.reports_dir);
    let Ok(Ok(doc)) = file.read() else {
        return Vec::new();
    };
    doc.get("rollbacks")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.get("undone").and_then(serde_json::Value::as_bool) == Some(true))
        .filter_map(|e| e.get("operation_id").and_then(serde_json::Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The sprint number in a branch name like `refactor/sprint-3-retry`.
pub fn sprint_number(branch: &str) -> Option<u32> {
    let at = branch.rfind("sprint-")?;
    let digits: String = branch[at + "sprint-".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{sprint_number, Settings};
    use crate::settings as k;

    #[test]
    fn settings_are_named_by_their_git_config_keys() {
        let settings = crate::settings::Settings {
            baseline: String::new(),
            checkpoint_prefix: String::new(),
            reports_dir: String::new(),
            test_command: None,
            test_patterns: Vec::new(),
            file_test_command: None,
            stop_command: None,
            start_command: None,
            setup_command: None,
            disk_threshold: 0,
            hook_tests: false,
            test_timeout_secs: 0,
            keep_days: 0,
            verify: false,
        };
        let json = serde_json::to_value(Settings::of(&settings)).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                k::BASELINE,
                k::CHECKPOINT_PREFIX,
                k::REPORTS_DIR,
                k::TEST_COMMAND,
                k::TEST_PATTERN,
                k::FILE_TEST_COMMAND,
                k::STOP_COMMAND,
                k::START_COMMAND,
                k::SETUP_COMMAND,
                k::DISK_THRESHOLD,
                k::HOOK_TESTS,
                k::TEST_TIMEOUT,
            ]
        );
    }

    #[test]
    fn sprint_numbers_from_branch_names() {
        assert_eq!(sprint_number("refactor/sprint-3"), Some(3));
        assert_eq!(sprint_number("refactor/sprint-12-retry"), Some(12));
        assert_eq!(sprint_number("main"), None);
        assert_eq!(sprint_number("sprint-x"), None);
    }
}
