//! `baseline show`: what the baseline is and how far HEAD has moved from it.

use super::super::Context;
use crate::clock;
use crate::ui::Outcome;

pub fn run(ctx: &Context) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let baseline = super::resolve(repo, &ctx.settings)?;
    let info = repo.commit_info(baseline.commit)?;
    let now = clock::now();
    let set_at = baseline.tag.as_ref().map_or(info.time, |t| t.time);
    let mut outcome = Outcome::new();
    outcome
        .field("baseline", baseline.name.as_str())
        .field("commit", baseline.commit.to_string())
        .field("subject", info.summary.as_str())
        .field(
            "annotated",
            baseline.tag.as_ref().is_some_and(|t| t.annotated),
        )
        .field(
            "set_at",
            clock::format_unix(set_at, now.offset().local_minus_utc() / 60),
        )
        .field("age_seconds", now.timestamp() - set_at);
    outcome.line(format!(
        "{} {} {}",
        ctx.ui.bold(&format!("Baseline `{}`:", baseline.name)),
        repo.short_id(baseline.commit),
        crate::ui::quote(&info.summary)
    ));
    outcome.line(format!("  set {}", clock::age(set_at, &now)));
    if let Some(tag) = baseline
        .tag
        .as_ref()
        .filter(|t| t.annotated && !t.message.is_empty())
    {
        outcome.line(format!(
            "  message: {}",
            tag.message.lines().next().unwrap_or("")
        ));
        outcome.field("message", tag.message.as_str());
    }
    match repo.head_commit()? {
        Some(head) => {
            let ahead = repo.count_commits(baseline.commit, head)?;
            let files = repo.files_changed(baseline.commit, head)?;
            let descends = repo.is_descendant_of(head, baseline.commit)?;
            outcome
                .field("commits_since", ahead)
                .field("files_changed_since", files)
                .field("head_descends", descends);
            outcome.line(format!(
                "  HEAD is {ahead} commit(s) ahead, {files} file(s) changed since"
            ));
            if !descends {
                outcome.line("  HEAD does not descend from the baseline");
            }
        }
        None => {
            outcome.line("  HEAD has no commit yet");
        }
    }
    Ok(outcome)
}
