//! `triage [--severity S]` — the runbook's decision matrix (README: `analyze`,
//! `notify`, `triage`).
//!
//! With `--severity` (critical, high, medium, low; P0–P3 accepted, P0 being
//! critical) nothing is asked. Without it, on a terminal, the pre-rollback
//! questions are asked in this order, and the first answer that decides
//! ends them:
//!
//! | question                                  | yes        | no        |
//! | ----------------------------------------- | ---------- | --------- |
//! | Can it be fixed forward in 30 minutes?    | low        | next      |
//! | Is data at risk?                          | critical   | next      |
//! | Are users affected?                       | high       | next      |
//! | Is it just test failures?                 | medium     | high      |
//!
//! Data at risk is the one case for the immediate Level 1 rollback: every
//! minute counts. Users affected without data at risk is Level 2: the sprint
//! comes out whole and retries from the baseline. Failures that stay in the
//! test suite are Level 3: put the broken files back, keep the rest. A break
//! that is none of these (the build, the design) is Level 2 again.
//!
//! Severity to level: critical → `emergency` (Level 1), high → `sprint
//! rollback` (Level 2), medium → `files` (Level 3), low → fix forward. The
//! answer ends with the exact command to run. Without a terminal (or with
//! `--yes`) and without `--severity`, it is an error naming `--severity`
//! (docs/invariants.md, I6). Nothing is written.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Context;
use crate::commands::status::sprint_number;
use crate::error::{user, Exit};
use crate::metrics;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct TriageArgs {
    /// critical, high, medium or low (P0–P3 accepted); without it the questions are asked
    #[arg(long, value_name = "S")]
    pub severity: Option<String>,
}

/// The questions, in the order they are asked, with their JSON keys.
const QUESTIONS: [(&str, &str); 4] = [
    (
        "fix_forward_in_30_minutes",
        "Can it be fixed forward in 30 minutes?",
    ),
    ("data_at_risk", "Is data at risk?"),
    ("users_affected", "Are users affected?"),
    ("only_test_failures", "Is it just test failures?"),
];

/// The severity the answers so far decide, if they decide one.
fn decide(answers: &[bool]) -> Option<&'static str> {
    match answers {
        [true, ..] => Some("low"),
        [false, true, ..] => Some("critical"),
        [false, false, true, ..] => Some("high"),
        [false, false, false, true] => Some("medium"),
        [false, false, false, false] => Some("high"),
        _ => None,
    }
}

/// What a severity calls for.
struct Recommendation {
    level: Option<u8>,
    action: &'static str,
    summary: &'static str,
    command: String,
}

fn recommend(ctx: &Context, severity: &str) -> anyhow::Result<Recommendation> {
    Ok(match severity {
        "critical" => Recommendation {
            level: Some(1),
            action: "emergency",
            summary: "stash everything and reset to the baseline now",
            command: "git rollback-sprint emergency --severity critical --reason \"<what broke>\""
                .to_string(),
        },
        "high" => {
            // The sprint number is read from the branch; name it when the
            // branch does not.
            let branch = ctx.repo.current_branch()?;
            let n = match branch.as_deref().and_then(sprint_number) {
                Some(_) => String::new(),
                None => " <N>".to_string(),
            };
            Recommendation {
                level: Some(2),
                action: "sprint rollback",
                summary: "save the sprint on a backup branch and retry from the baseline",
                command: format!(
                    "git rollback-sprint sprint rollback{n} --severity high --reason \"<what failed>\""
                ),
            }
        }
        "medium" => Recommendation {
            level: Some(3),
            action: "files",
            summary: "put only the broken files back to their baseline content",
            command: "git rollback-sprint files <path>…".to_string(),
        },
        _ => {
            let tests = ctx
                .settings
                .test_command
                .as_deref()
                .map(|cmd| format!(" (`{cmd}`)"))
                .unwrap_or_default();
            Recommendation {
                level: None,
                action: "fix forward",
                summary: "no rollback: fix it where it is",
                command: format!("fix forward: commit the fix and run the tests{tests}"),
            }
        }
    })
}

/// The JSON fields of `triage`.
#[derive(Serialize)]
struct Triaged<'a> {
    severity: &'a str,
    priority: &'static str,
    level: Option<u8>,
    action: &'static str,
    recommended_command: &'a str,
    /// The answers to the questions, by key (`null` with `--severity`).
    answers: Option<Map<String, Value>>,
}

pub fn triage(ctx: &Context, args: &TriageArgs) -> anyhow::Result<Outcome> {
    let (severity, answers) = match &args.severity {
        Some(given) => (metrics::parse_severity(given)?, None),
        None => {
            if !ctx.ui.can_prompt() {
                return Err(user(
                    "triage needs a severity and there is no terminal to ask the questions on",
                )
                .hint("pass --severity critical|high|medium|low (or P0–P3)")
                .exit(Exit::Usage)
                .into());
            }
            let (severity, answers) = ask(ctx)?;
            (severity, Some(answers))
        }
    };
    let rec = recommend(ctx, severity)?;
    let mut outcome = Outcome::new();
    let priority = match severity {
        "critical" => "P0",
        "high" => "P1",
        "medium" => "P2",
        _ => "P3",
    };
    outcome.line(format!("Severity: {} ({priority})", ctx.ui.bold(severity)));
    if let Some(answers) = &answers {
        for (key, question) in QUESTIONS {
            if let Some(a) = answers.get(key).and_then(Value::as_bool) {
                outcome.line(format!("  {question} {}", if a { "yes" } else { "no" }));
            }
        }
    }
    match rec.level {
        Some(level) => outcome.line(format!("Level {level} — {}: {}.", rec.action, rec.summary)),
        None => outcome.line(format!("No rollback — {}.", rec.summary)),
    };
    if rec.level.is_some() {
        outcome.line("Run:");
        outcome.line(format!("  {}", rec.command));
    } else {
        outcome.line(format!("Next: {}", rec.command));
    }
    if rec.level == Some(2) && rec.command.contains("<N>") {
        outcome.line("  (<N> is the sprint number: the current branch does not name one)");
    }
    outcome.data(&Triaged {
        severity,
        priority,
        level: rec.level,
        action: rec.action,
        recommended_command: &rec.command,
        answers,
    });
    Ok(outcome)
}

/// Ask the questions in order until the answers decide.
fn ask(ctx: &Context) -> anyhow::Result<(&'static str, Map<String, Value>)> {
    let mut given = Vec::new();
    let mut answers = Map::new();
    for (key, question) in QUESTIONS {
        let yes = ctx.prompter.confirm(question)?;
        given.push(yes);
        answers.insert(key.to_string(), Value::Bool(yes));
        if let Some(severity) = decide(&given) {
            return Ok((severity, answers));
        }
    }
    // Four answers always decide; this is the matrix's last row.
    Ok(("high", answers))
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn the_matrix() {
        assert_eq!(decide(&[true]), Some("low"));
        assert_eq!(decide(&[false]), None);
        assert_eq!(decide(&[false, true]), Some("critical"));
        assert_eq!(decide(&[false, false, true]), Some("high"));
        assert_eq!(decide(&[false, false, false, true]), Some("medium"));
        assert_eq!(decide(&[false, false, false, false]), Some("high"));
    }
}
