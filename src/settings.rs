//! Settings (README: Settings), read from git config only.
//!
//! Never from a tracked file: a cloned repository must not be able to make
//! this tool run a command. Every key is a named constant here, so the README
//! table and the code cannot drift apart silently.

use crate::error::user;
use crate::git::Repo;

pub const BASELINE: &str = "rollback.baseline";
pub const CHECKPOINT_PREFIX: &str = "rollback.checkpointPrefix";
pub const REPORTS_DIR: &str = "rollback.reportsDir";
pub const TEST_COMMAND: &str = "rollback.testCommand";
pub const TEST_PATTERN: &str = "rollback.testPattern";
pub const FILE_TEST_COMMAND: &str = "rollback.fileTestCommand";
pub const STOP_COMMAND: &str = "rollback.stopCommand";
pub const START_COMMAND: &str = "rollback.startCommand";
pub const SETUP_COMMAND: &str = "rollback.setupCommand";
pub const DISK_THRESHOLD: &str = "rollback.diskThreshold";
pub const HOOK_TESTS: &str = "rollback.hookTests";
/// An addition to the runbook's settings (README: Settings): how long a test
/// run may take before it is stopped.
pub const TEST_TIMEOUT: &str = "rollback.testTimeout";
/// docs/journal.md, Releasing: operations older than this many days are
/// released automatically (`log prune`); 0 turns that off.
pub const KEEP_DAYS: &str = "rollback.keepDays";
/// `emergency` and `sprint rollback` run the tests on the rolled-back tree
/// (`--verify`) unless `--no-verify` is given.
pub const VERIFY: &str = "rollback.verify";

/// docs/journal.md, Test runs: after this many failing `test` runs in a row
/// since the last green state, `test` acts (0 turns the trigger off).
pub const TRIGGER_FAILURES: &str = "rollback.trigger.failures";
/// What `test` does when the trigger fires: `suggest`, `checkpoint` or
/// `emergency`.
pub const TRIGGER_ACTION: &str = "rollback.trigger.action";
/// `drill`'s recovery time objective, in seconds (the runbook's five minutes).
pub const RTO: &str = "rollback.rto";
/// Days after which `check` and `status` say the last drill is too old; 0
/// turns the warning off.
pub const DRILL_INTERVAL: &str = "rollback.drillInterval";

pub const DEFAULT_BASELINE: &str = "baseline";
pub const DEFAULT_TRIGGER_FAILURES: u64 = 3;
pub const DEFAULT_CHECKPOINT_PREFIX: &str = "checkpoint-";
pub const DEFAULT_REPORTS_DIR: &str = "rollbacks";
pub const DEFAULT_TEST_PATTERN: &str = "tests/unit/test_{name}";
pub const DEFAULT_DISK_THRESHOLD: u8 = 90;
pub const DEFAULT_TEST_TIMEOUT_SECS: u64 = 1800;
pub const DEFAULT_KEEP_DAYS: u64 = 90;
pub const DEFAULT_RTO_SECS: u64 = 300;
pub const DEFAULT_DRILL_INTERVAL_DAYS: u64 = 30;

/// The merged settings of one invocation.
#[derive(Debug, Clone)]
pub struct Settings {
    pub baseline: String,
    pub checkpoint_prefix: String,
    pub reports_dir: String,
    pub test_command: Option<String>,
    pub test_patterns: Vec<String>,
    pub file_test_command: Option<String>,
    pub stop_command: Option<String>,
    pub start_command: Option<String>,
    pub setup_command: Option<String>,
    pub disk_threshold: u8,
    pub hook_tests: bool,
    pub test_timeout_secs: u64,
    /// `rollback.keepDays`; 0: no automatic pruning.
    pub keep_days: u64,
    /// `rollback.verify`: verify after every rollback.
    pub verify: bool,
}

impl Settings {
    pub fn load(repo: &Repo) -> anyhow::Result<Settings> {
        let get = |key: &str| repo.config_string(key);
        let baseline = get(BASELINE)?.unwrap_or_else(|| DEFAULT_BASELINE.to_string());
        if baseline.trim().is_empty() {
            return Err(user(format!("git config {BASELINE} is empty"))
                .hint(format!(
                    "set it to a tag name: git config {BASELINE} baseline"
                ))
                .into());
        }
        let disk_threshold = match repo.config_i64(DISK_THRESHOLD)? {
            None => DEFAULT_DISK_THRESHOLD,
            Some(n) if (1..=100).contains(&n) => n as u8,
            Some(n) => {
                return Err(user(format!("git config {DISK_THRESHOLD} is {n}"))
                    .hint("use a percentage from 1 to 100")
                    .into())
            }
        };
        let keep_days = keep_days(repo)?;
        let test_timeout_secs = match repo.config_i64(TEST_TIMEOUT)? {
            None => DEFAULT_TEST_TIMEOUT_SECS,
            Some(n) if n > 0 => n as u64,
            Some(n) => {
                return Err(user(format!("git config {TEST_TIMEOUT} is {n}"))
                    .hint("use a number of seconds greater than 0")
                    .into())
            }
        };
        // An empty folder would be the whole work tree: use the default.
        let reports_dir = get(REPORTS_DIR)?
            .filter(|v| !v.trim().is_empty() && !reports_path(v).as_bytes().is_empty())
            .unwrap_or_else(|| DEFAULT_REPORTS_DIR.to_string());
        if !inside_work_tree(&reports_dir) {
            return Err(user(format!("git config {REPORTS_DIR} is `{reports_dir}`"))
                .hint("use a folder inside the work tree, relative to its top, outside .git (the default is `rollbacks`)")
                .into());
        }
        let mut test_patterns = repo.config_multi(TEST_PATTERN)?;
        if test_patterns.is_empty() {
            test_patterns.push(DEFAULT_TEST_PATTERN.to_string());
        }
        Ok(Settings {
            baseline,
            checkpoint_prefix: get(CHECKPOINT_PREFIX)?
                .unwrap_or_else(|| DEFAULT_CHECKPOINT_PREFIX.to_string()),
            reports_dir,
            test_command: non_empty(get(TEST_COMMAND)?),
            test_patterns,
            file_test_command: non_empty(get(FILE_TEST_COMMAND)?),
            stop_command: non_empty(get(STOP_COMMAND)?),
            start_command: non_empty(get(START_COMMAND)?),
            setup_command: non_empty(get(SETUP_COMMAND)?),
            disk_threshold,
            hook_tests: repo.config_bool(HOOK_TESTS)?.unwrap_or(false),
            test_timeout_secs,
            keep_days,
            verify: repo.config_bool(VERIFY)?.unwrap_or(false),
        })
    }

    /// The paths of `rollback.stage.<name>.path`.
    pub fn stage_paths(repo: &Repo, name: &str) -> anyhow::Result<Vec<String>> {
        repo.config_multi(&format!("rollback.stage.{name}.path"))
    }
}

/// `rollback.keepDays`: a whole number of days, 0 or more (0 turns
/// automatic pruning off). Read on its own too, by the transaction that
/// prunes automatically.
pub fn keep_days(repo: &Repo) -> anyhow::Result<u64> {
    let bad = |value: &str| -> anyhow::Error {
        user(format!("git config {KEEP_DAYS} is `{value}`"))
            .hint(format!(
                "use a whole number of days, 0 or more (0 keeps every operation; the default is {DEFAULT_KEEP_DAYS}): git config {KEEP_DAYS} 90"
            ))
            .into()
    };
    match repo.config_string(KEEP_DAYS)? {
        None => Ok(DEFAULT_KEEP_DAYS),
        Some(text) => {
            let trimmed = text.trim();
            if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&text));
            }
            trimmed.parse::<u64>().map_err(|_| bad(&text))
        }
    }
}

/// What `test` does after `rollback.trigger.failures` failing runs in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerAction {
    /// Print the triage recommendation and the command to return to the
    /// last green state.
    Suggest,
    /// Also take a WIP checkpoint (`checkpoint --wip`).
    Checkpoint,
    /// Roll back to the last green state (`emergency --to last-green`).
    Emergency,
}

impl TriggerAction {
    pub fn name(self) -> &'static str {
        match self {
            TriggerAction::Suggest => "suggest",
            TriggerAction::Checkpoint => "checkpoint",
            TriggerAction::Emergency => "emergency",
        }
    }
}

/// `rollback.trigger.failures` (a whole number, 0 or more; 0: off) and
/// `rollback.trigger.action`, read by `test` alone.
pub fn trigger(repo: &Repo) -> anyhow::Result<(u64, TriggerAction)> {
    let failures = match repo.config_string(TRIGGER_FAILURES)? {
        None => DEFAULT_TRIGGER_FAILURES,
        Some(text) => {
            let trimmed = text.trim();
            let parsed = (!trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()))
                .then(|| trimmed.parse::<u64>().ok())
                .flatten();
            parsed.ok_or_else(|| {
                user(format!("git config {TRIGGER_FAILURES} is `{text}`"))
                    .hint(format!(
                        "use a whole number of failing runs, 0 or more (0 turns the trigger off; the default is {DEFAULT_TRIGGER_FAILURES}): git config {TRIGGER_FAILURES} 3"
                    ))
            })?
        }
    };
    let action = match repo.config_string(TRIGGER_ACTION)? {
        None => TriggerAction::Suggest,
        Some(text) => match text.trim().to_ascii_lowercase().as_str() {
            "suggest" => TriggerAction::Suggest,
            "checkpoint" => TriggerAction::Checkpoint,
            "emergency" => TriggerAction::Emergency,
            _ => {
                return Err(user(format!("git config {TRIGGER_ACTION} is `{text}`"))
                    .hint(format!(
                        "use suggest (the default), checkpoint or emergency: git config {TRIGGER_ACTION} suggest"
                    ))
                    .into())
            }
        },
    };
    Ok((failures, action))
}

/// `rollback.rto`: a whole number of seconds, more than 0. Read by `drill`
/// alone, so a bad value stops no other command.
pub fn rto(repo: &Repo) -> anyhow::Result<u64> {
    let bad = |value: &str| -> anyhow::Error {
        user(format!("git config {RTO} is `{value}`"))
            .hint(format!(
                "use a whole number of seconds, more than 0 (the default is {DEFAULT_RTO_SECS}): git config {RTO} 300"
            ))
            .into()
    };
    match repo.config_string(RTO)? {
        None => Ok(DEFAULT_RTO_SECS),
        Some(text) => match whole_number(&text) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(bad(&text)),
        },
    }
}

/// `rollback.drillInterval`: a whole number of days, 0 or more (0: never
/// warn). `None` when the value is not a number: `check` and `status` say
/// so instead of failing.
pub fn drill_interval(repo: &Repo) -> anyhow::Result<Result<u64, String>> {
    Ok(match repo.config_string(DRILL_INTERVAL)? {
        None => Ok(DEFAULT_DRILL_INTERVAL_DAYS),
        Some(text) => whole_number(&text).ok_or(text),
    })
}

fn whole_number(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

/// Whether a configured folder stays inside the work tree: relative, no
/// `..`, and not git's own directory (reports are written there, and a
/// rollback must never write outside the work tree or into `.git`).
fn inside_work_tree(dir: &str) -> bool {
    !dir.starts_with('/')
        && dir.split('/').all(|part| {
            part != ".."
                && !part.eq_ignore_ascii_case(".git")
                && !part.eq_ignore_ascii_case("git~1")
        })
}

/// The reports folder as a repository path (`rollbacks`): nothing under it
/// is reverted by a rollback or an undo (docs/invariants.md, I8).
/// Empty and `.` components are dropped (`./rollbacks/` is `rollbacks`), so
/// that it names the folder as trees and the index do.
pub fn reports_path(reports_dir: &str) -> crate::git::RepoPath {
    let parts: Vec<&str> = reports_dir
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    crate::git::RepoPath::from_bytes(parts.join("/").as_bytes())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}
