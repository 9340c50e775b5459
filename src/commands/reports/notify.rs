//! `notify` — the team notification for the latest rollback (README: `analyze`,
//! `notify`, `triage`), as markdown to paste into chat or a ticket.
//!
//! The latest rollback is the last entry of `metrics.json` that was not
//! undone; the journal adds what exactly it did (the stash entry, the branch
//! it reset, the branches it created). Read-only: nothing is written.

use serde::Serialize;
use serde_json::Value;

use super::markdown::{md_code, md_text, plain_severity, plain_time};
use super::{newest_branch, BranchAt, Context, Records, Rollback};
use crate::commands::baseline;
use crate::error::user;
use crate::git::{HeadState, Oid};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct NotifyArgs {}

/// The stash entry an emergency rollback made.
struct StashEntry {
    message: String,
    /// `stash@{n}` while the entry is still in the stash list.
    position: Option<String>,
}

/// Everything the notification says, gathered before it is written.
struct Notice<'a> {
    rollback: &'a Rollback,
    /// `main` (or `detached HEAD`) and where it was reset to.
    reset: Option<(String, Option<Oid>)>,
    /// The branch HEAD was on when the rollback began.
    branch_before: Option<String>,
    stashed: Option<bool>,
    stash: Option<StashEntry>,
    backup: Option<BranchAt>,
    retry: Option<BranchAt>,
    reports_dir: Option<String>,
    safe: Option<baseline::Baseline>,
    recovery: Option<BranchAt>,
    /// The branch advised for `recover` (see `markdown::recover_command`).
    recover_from: Option<String>,
}

/// The JSON fields of `notify`.
#[derive(Serialize)]
struct Notified<'a> {
    sprint: Option<u64>,
    time: &'a str,
    severity: &'a str,
    kind: &'a str,
    cause: &'a str,
    operation_id: Option<&'a str>,
    rollback_command: Option<&'a str>,
    /// As the metrics entry has it.
    files_changed: Option<&'a Value>,
    recovery_time_minutes: Option<&'a Value>,
    stash: Option<&'a str>,
    stash_message: Option<&'a str>,
    backup_branch: Option<&'a str>,
    retry_branch: Option<&'a str>,
    reports_dir: Option<&'a str>,
    branches: Branches<'a>,
    markdown: &'a str,
}

/// The branches a notification names.
#[derive(Serialize)]
struct Branches<'a> {
    safe: Option<Safe<'a>>,
    failed: Option<&'a BranchAt>,
    recovery: Option<&'a BranchAt>,
}

/// The baseline: the last good commit.
#[derive(Serialize)]
struct Safe<'a> {
    name: &'a str,
    commit: String,
}

pub fn notify(ctx: &Context, _args: &NotifyArgs) -> anyhow::Result<Outcome> {
    let records = Records::load(ctx)?;
    if let Some(problem) = &records.metrics_problem {
        return Err(user(problem.clone())
            .hint("fix it or move it aside; notify reads the latest rollback from it")
            .into());
    }
    let Some(rollback) = records.latest() else {
        return Err(user(format!(
            "no rollback is recorded in {}/metrics.json",
            ctx.settings.reports_dir.trim_end_matches('/')
        ))
        .hint("notify reports the latest `emergency` or `sprint rollback` that was not undone")
        .into());
    };
    let notice = gather(ctx, rollback)?;
    let text = notice.markdown(ctx);
    let mut outcome = Outcome::new();
    for line in text.lines() {
        outcome.line(line);
    }
    outcome.data(&Notified {
        sprint: rollback.sprint(),
        time: rollback.time(),
        severity: rollback.severity(),
        kind: rollback.kind(),
        cause: rollback.cause(),
        operation_id: rollback.operation_id(),
        rollback_command: rollback.op.as_ref().map(|o| o.begin.command.as_str()),
        files_changed: rollback.entry.get("files_changed"),
        recovery_time_minutes: rollback.entry.get("recovery_time_minutes"),
        stash: notice.stash.as_ref().and_then(|s| s.position.as_deref()),
        stash_message: notice.stash.as_ref().map(|s| s.message.as_str()),
        backup_branch: notice.backup.as_ref().map(|b| b.name.as_str()),
        retry_branch: notice.retry.as_ref().map(|b| b.name.as_str()),
        reports_dir: notice.reports_dir.as_deref(),
        branches: Branches {
            safe: notice.safe.as_ref().map(|b| Safe {
                name: &b.name,
                commit: b.commit.to_string(),
            }),
            failed: notice.backup.as_ref(),
            recovery: notice.recovery.as_ref(),
        },
        markdown: &text,
    });
    Ok(outcome)
}

fn gather<'a>(ctx: &Context, rollback: &'a Rollback) -> anyhow::Result<Notice<'a>> {
    let repo = &ctx.repo;
    let op = rollback.op.as_ref();
    let backup = match rollback.backup_ref() {
        Some(r) => Some(BranchAt::of_ref(repo, r)?),
        None => None,
    };
    let mut notice = Notice {
        rollback,
        reset: None,
        branch_before: None,
        stashed: None,
        stash: None,
        backup,
        retry: None,
        reports_dir: None,
        safe: baseline::find(repo, &ctx.settings)?,
        recovery: newest_branch(repo, "recovery/")?,
        recover_from: None,
    };
    if let Some(b) = &notice.backup {
        notice.recover_from = Some(rollback.recover_from(repo, &b.name)?);
    }
    let Some(op) = op else {
        return Ok(notice);
    };
    if let HeadState::Symbolic(r) = &op.begin.head {
        notice.branch_before = Some(r.trim_start_matches("refs/heads/").to_string());
    }
    let details = op.end.as_ref().map(|e| &e.details);
    notice.stashed = details
        .and_then(|d| d.get("stashed"))
        .and_then(Value::as_bool);
    notice.reports_dir = details
        .and_then(|d| d.get("reports_dir"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if rollback.kind() == "emergency" {
        let target = match &op.begin.head {
            HeadState::Symbolic(branch) => op
                .end
                .as_ref()
                .and_then(|e| e.refs.iter().find(|r| &r.name == branch))
                .and_then(|r| r.value.as_deref())
                .and_then(|v| crate::git::parse_oid(v).ok()),
            HeadState::Detached(_) => match op.end.as_ref().and_then(|e| e.head.as_ref()) {
                Some(HeadState::Detached(id)) => crate::git::parse_oid(id).ok(),
                _ => None,
            },
        };
        notice.reset = Some((op.begin.head.describe(), target));
        if notice.stashed == Some(true) {
            notice.stash = stash_message(&op.begin.plan).map(|message| StashEntry {
                position: stash_position(ctx, &message),
                message,
            });
        }
    }
    let backup_ref = rollback.backup_ref();
    if let Some(retry) = op
        .refs_created()
        .into_iter()
        .find(|r| r.starts_with("refs/heads/") && Some(r.as_str()) != backup_ref)
    {
        notice.retry = Some(BranchAt::of_ref(repo, &retry)?);
    }
    Ok(notice)
}

/// The stash message from the operation's plan:
/// `stash … as "EMERGENCY: State before rollback <ts>"`.
fn stash_message(plan: &[String]) -> Option<String> {
    const START: &str = "\"EMERGENCY: State before rollback ";
    plan.iter().find_map(|step| {
        let at = step.find(START)? + 1;
        let rest = &step[at..];
        let end = rest.find('"')?;
        Some(rest[..end].to_string())
    })
}

/// Where the stash entry with this message is in the stash list now.
fn stash_position(ctx: &Context, message: &str) -> Option<String> {
    let entries = ctx.repo.reflog("refs/stash").ok()?;
    entries
        .iter()
        .rev()
        .position(|e| e.message.ends_with(message))
        .map(|n| format!("stash@{{{n}}}"))
}

impl Notice<'_> {
    fn markdown(&self, ctx: &Context) -> String {
        let r = self.rollback;
        let repo = &ctx.repo;
        let short = |id: Oid| repo.short_id(id);
        let sprint = r
            .sprint()
            .map_or("none (outside a sprint)".to_string(), |n| n.to_string());
        let title = r.sprint().map_or("Rollback notice".to_string(), |n| {
            format!("Rollback notice: sprint {n}")
        });
        let mut s = format!("## {title}\n\n");
        s.push_str(&format!("* **Sprint:** {sprint}\n"));
        s.push_str(&format!("* **Time:** {}\n", plain_time(r.time())));
        s.push_str(&format!(
            "* **Severity:** {}\n",
            plain_severity(r.severity())
        ));
        s.push_str(&format!(
            "* **What happened:** {} — cause: {}\n",
            r.kind_label(),
            md_text(r.cause())
        ));

        s.push_str("\n### Actions taken\n\n");
        let actions = self.actions(ctx);
        if actions.is_empty() {
            s.push_str("* None recorded: this rollback was not made with git-rollback-sprint.\n");
        }
        for a in &actions {
            s.push_str(&format!("* {a}\n"));
        }

        s.push_str("\n### Branch status\n\n");
        match &self.safe {
            Some(b) => s.push_str(&format!(
                "* **Safe:** the baseline {} at {}\n",
                md_code(&b.name),
                short(b.commit)
            )),
            None => s.push_str(&format!(
                "* **Safe:** the baseline {} does not exist any more\n",
                md_code(&ctx.settings.baseline)
            )),
        }
        match &self.backup {
            Some(BranchAt {
                name,
                commit: Some(c),
            }) => s.push_str(&format!(
                "* **Failed:** {} at {}\n",
                md_code(name),
                short(*c)
            )),
            Some(BranchAt { name, commit: None }) => s.push_str(&format!(
                "* **Failed:** {} (deleted since)\n",
                md_code(name)
            )),
            None => {
                s.push_str("* **Failed:** no backup branch (HEAD was already at the baseline)\n")
            }
        }
        match (&self.recovery, &self.backup) {
            (Some(BranchAt { name, commit }), _) => s.push_str(&format!(
                "* **Recovery:** {}{}\n",
                md_code(name),
                commit.map_or(String::new(), |c| format!(" at {}", short(c)))
            )),
            (None, Some(b)) if b.commit.is_some() => s.push_str(&format!(
                "* **Recovery:** none yet — bring the good commits back with {}\n",
                md_code(&super::markdown::recover_command(
                    &self.recover_from.clone().unwrap_or_else(|| b.name.clone())
                ))
            )),
            (None, _) => s.push_str("* **Recovery:** none\n"),
        }
        s
    }

    /// The actions, one markdown line each.
    /// What an emergency rollback did with the uncommitted work.
    fn stash_action(&self) -> Option<String> {
        match (&self.stash, self.stashed) {
            (Some(st), _) => Some(format!(
                "Uncommitted work (untracked files included) stashed{}: {}",
                st.position.as_deref().map_or(
                    " (no longer in the stash list)".to_string(),
                    |p| format!(" as {}", md_code(p))
                ),
                md_code(&st.message)
            )),
            (None, Some(true)) => Some("Uncommitted work stashed (`git stash list`)".to_string()),
            (None, Some(false)) => Some("Nothing uncommitted to stash".to_string()),
            (None, None) => None,
        }
    }

    fn actions(&self, ctx: &Context) -> Vec<String> {
        let r = self.rollback;
        let repo = &ctx.repo;
        let mut out = Vec::new();
        match r.kind() {
            "emergency" => {
                out.extend(self.stash_action());
                if let Some(b) = &self.backup {
                    out.push(format!(
                        "Old HEAD kept on the backup branch {}",
                        md_code(&b.name)
                    ));
                }
                if let Some((what, target)) = &self.reset {
                    let to = match (target, &self.safe) {
                        (Some(t), Some(b)) if *t == b.commit => {
                            format!("the baseline {} ({})", md_code(&b.name), repo.short_id(*t))
                        }
                        (Some(t), _) => repo.short_id(*t),
                        (None, _) => "the baseline".to_string(),
                    };
                    out.push(format!("{} hard-reset to {to}", md_code(what)));
                }
            }
            "sprint" => {
                if let Some(b) = &self.backup {
                    let kept = self
                        .branch_before
                        .as_deref()
                        .map(|s| format!(" (the sprint branch {} did not move)", md_code(s)))
                        .unwrap_or_default();
                    out.push(format!(
                        "Work in progress committed on the backup branch {}{kept}",
                        md_code(&b.name)
                    ));
                }
                if let Some(retry) = &self.retry {
                    out.push(format!(
                        "Switched to the retry branch {} at the baseline",
                        md_code(&retry.name)
                    ));
                }
                if let Some(dir) = &self.reports_dir {
                    out.push(format!(
                        "Failure report: {}",
                        md_code(&format!("{}/report.md", dir.trim_end_matches('/')))
                    ));
                }
            }
            _ => {}
        }
        if let Some(n) = r.entry.get("files_changed").and_then(Value::as_u64) {
            out.push(format!("{n} file(s) changed"));
        }
        if r.op.is_some() {
            if let Some(m) = r.entry.get("recovery_time_minutes").and_then(Value::as_f64) {
                out.push(format!("Recovered in {m} min"));
            }
        }
        if let Some(id) = r.operation_id().filter(|_| r.op.is_some()) {
            out.push(format!(
                "Operation {}; reverse it with {}",
                md_code(id),
                md_code(&format!("git rollback-sprint undo {id}"))
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::stash_message;

    #[test]
    fn the_stash_message_comes_from_the_plan() {
        let plan = vec![
            "stash all uncommitted changes, untracked files included, as \"EMERGENCY: State before rollback 20261121_100405\"".to_string(),
        ];
        assert_eq!(
            stash_message(&plan).as_deref(),
            Some("EMERGENCY: State before rollback 20261121_100405")
        );
        assert_eq!(stash_message(&["reset".to_string()]), None);
    }
}
