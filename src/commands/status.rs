//! `status`: baseline, newest checkpoint, current sprint, operations in
//! progress, latest rollback (README: `log`, `undo`, `redo`, `status`).

use super::Context;
use crate::clock;
use crate::journal::{self, Journal};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Kinds of operation that count as rollbacks.
const ROLLBACK_KINDS: &[&str] = &["emergency", "sprint rollback", "files"];

pub fn run(ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let now = clock::now();
    let mut outcome = Outcome::new();

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
            outcome.field(
                "baseline",
                serde_json::json!({"name": b.name, "commit": b.commit.to_string()}),
            );
        }
        None => {
            outcome.line(format!(
                "baseline:    `{}` does not exist (create it with `git rollback-sprint baseline set`)",
                ctx.settings.baseline
            ));
            outcome.field("baseline", serde_json::Value::Null);
        }
    }

    let tags = super::checkpoint::checkpoints(ctx)?;
    match tags.first() {
        Some(t) => {
            outcome.line(format!(
                "checkpoint:  {} ({} checkpoint(s) in all)",
                t.name,
                tags.len()
            ));
            outcome.field("latest_checkpoint", t.name.as_str());
        }
        None => {
            outcome.line("checkpoint:  none");
            outcome.field("latest_checkpoint", serde_json::Value::Null);
        }
    }

    let head = repo.head_state()?;
    let branch = repo.current_branch()?;
    let sprint = branch.as_deref().and_then(sprint_number);
    outcome.line(format!(
        "HEAD:        {}{}",
        head.describe(),
        sprint.map_or(String::new(), |n| format!(" (sprint {n})"))
    ));
    outcome
        .field("branch", branch.clone())
        .field("sprint", sprint);

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
    outcome.field("in_progress", in_progress);

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
    match latest {
        Some(op) => {
            outcome.line(format!(
                "rollback:    {} `{}` ({})",
                op.begin.time,
                crate::ui::one_line(&op.begin.command),
                op.id()
            ));
            outcome.field("latest_rollback", op.id());
        }
        None => {
            outcome.line("rollback:    none recorded");
            outcome.field("latest_rollback", serde_json::Value::Null);
        }
    }
    let count = if history.is_partial() {
        journal.count_operations()?
    } else {
        history.len()
    };
    outcome.field("operations", count);
    // Where the tool acts, as `git rev-parse --show-toplevel
    // --absolute-git-dir` would say, and the settings it reads: JSON only,
    // so scripts (and the layout tests) can compare them with git's.
    outcome
        .field("work_tree", plain_path(repo.workdir()))
        .field("git_dir", plain_path(repo.git_dir()))
        .field("settings", settings_json(&ctx.settings));
    Ok(outcome)
}

/// A directory without the trailing `/` libgit2 gives it.
fn plain_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    match text.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// The `rollback.*` settings in effect, by git config key.
fn settings_json(s: &crate::settings::Settings) -> serde_json::Value {
    use crate::settings as k;
    serde_json::json!({
        k::BASELINE: s.baseline,
        k::CHECKPOINT_PREFIX: s.checkpoint_prefix,
        k::REPORTS_DIR: s.reports_dir,
        k::TEST_COMMAND: s.test_command,
        k::TEST_PATTERN: s.test_patterns,
        k::FILE_TEST_COMMAND: s.file_test_command,
        k::STOP_COMMAND: s.stop_command,
        k::START_COMMAND: s.start_command,
        k::SETUP_COMMAND: s.setup_command,
        k::DISK_THRESHOLD: s.disk_threshold,
        k::HOOK_TESTS: s.hook_tests,
        k::TEST_TIMEOUT: s.test_timeout_secs,
    })
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
    use super::sprint_number;

    #[test]
    fn sprint_numbers_from_branch_names() {
        assert_eq!(sprint_number("refactor/sprint-3"), Some(3));
        assert_eq!(sprint_number("refactor/sprint-12-retry"), Some(12));
        assert_eq!(sprint_number("main"), None);
        assert_eq!(sprint_number("sprint-x"), None);
    }
}
