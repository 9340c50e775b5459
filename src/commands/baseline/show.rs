//! `baseline show`: what the baseline is and how far HEAD has moved from it.

use serde::Serialize;

use super::super::Context;
use crate::clock;
use crate::ui::Outcome;

/// The JSON fields of `baseline show`.
#[derive(Serialize)]
struct Shown<'a> {
    baseline: &'a str,
    commit: String,
    subject: &'a str,
    annotated: bool,
    set_at: String,
    age_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// How far HEAD has moved from the baseline (left out while HEAD has no
/// commit).
#[derive(Serialize)]
struct Since {
    commits_since: usize,
    files_changed_since: usize,
    head_descends: bool,
}

pub fn run(ctx: &Context) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let baseline = super::resolve(repo, &ctx.settings)?;
    let info = repo.commit_info(baseline.commit)?;
    let now = clock::now();
    let set_at = baseline.tag.as_ref().map_or(info.time, |t| t.time);
    let message = baseline
        .tag
        .as_ref()
        .filter(|t| t.annotated && !t.message.is_empty())
        .map(|t| t.message.as_str());
    let mut outcome = Outcome::new();
    outcome.data(&Shown {
        baseline: &baseline.name,
        commit: baseline.commit.to_string(),
        subject: &info.summary,
        annotated: baseline.tag.as_ref().is_some_and(|t| t.annotated),
        set_at: clock::format_unix(set_at, now.offset().local_minus_utc() / 60),
        age_seconds: now.timestamp() - set_at,
        message,
    });
    outcome.line(format!(
        "{} {} {}",
        ctx.ui.bold(&format!("Baseline `{}`:", baseline.name)),
        repo.short_id(baseline.commit),
        crate::ui::quote(&info.summary)
    ));
    outcome.line(format!("  set {}", clock::age(set_at, &now)));
    if let Some(message) = message {
        outcome.line(format!(
            "  message: {}",
            message.lines().next().unwrap_or("")
        ));
    }
    match repo.head_commit()? {
        Some(head) => {
            let since = Since {
                commits_since: repo.count_commits(baseline.commit, head)?,
                files_changed_since: repo.files_changed(baseline.commit, head)?,
                head_descends: repo.is_descendant_of(head, baseline.commit)?,
            };
            outcome.data(&since);
            outcome.line(format!(
                "  HEAD is {} commit(s) ahead, {} file(s) changed since",
                since.commits_since, since.files_changed_since
            ));
            if !since.head_descends {
                outcome.line("  HEAD does not descend from the baseline");
            }
        }
        None => {
            outcome.line("  HEAD has no commit yet");
        }
    }
    Ok(outcome)
}
