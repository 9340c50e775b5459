//! `metrics` and `metrics record` (README: `metrics`): the statistics table, a
//! bar chart of rollbacks per sprint, and manual entries in the team's format.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Context;
use crate::clock;
use crate::error::user;
use crate::metrics::{self, MetricsFile};
use crate::plan::{carry_out, Carried, Execute, Phase, Plan, Step};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Add a manual entry
    Record {
        /// The sprint number (leave out for none)
        #[arg(long)]
        sprint: Option<u32>,
        /// critical, high, medium or low (P0–P3 accepted)
        #[arg(long)]
        severity: String,
        /// What caused the rollback
        #[arg(long)]
        cause: String,
        /// How long the recovery took, in minutes
        #[arg(long)]
        minutes: f64,
    },
}

impl Args {
    pub fn reads_only(&self) -> bool {
        self.action.is_none()
    }
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let file = MetricsFile::new(ctx.repo.workdir(), &ctx.settings.reports_dir);
    match &args.action {
        None => show(ctx, &file),
        Some(Action::Record {
            sprint,
            severity,
            cause,
            minutes,
        }) => record(ctx, &file, *sprint, severity, cause, *minutes),
    }
}

/// The JSON fields of `metrics`.
#[derive(Serialize)]
struct Shown {
    statistics: Value,
    /// Rollbacks per sprint number (`none` for entries without one).
    per_sprint: Map<String, Value>,
    /// `drill` runs, when there were any: they are not rollbacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    drills: Option<Drills>,
}

/// The drills' own line.
#[derive(Serialize)]
struct Drills {
    count: usize,
    /// The newest drill: `{timestamp, verdict}`.
    last: Value,
    /// The slowest level ever rehearsed: `{timestamp, level, seconds}`,
    /// its time to roll back and verify.
    slowest: Value,
}

fn drills(doc: &Value) -> Option<Drills> {
    let entries = metrics::drill_entries(doc);
    let last = entries.last()?;
    let mut slowest: Option<(f64, &str, &Value)> = None;
    for entry in &entries {
        let levels = entry.get("levels").and_then(Value::as_array);
        for level in levels.into_iter().flatten() {
            let time = ["rollback_seconds", "verify_seconds"]
                .iter()
                .filter_map(|k| level.get(*k).and_then(Value::as_f64))
                .sum::<f64>();
            let name = level.get("level").and_then(Value::as_str).unwrap_or("?");
            if level
                .get("rollback_seconds")
                .and_then(Value::as_f64)
                .is_some()
                && slowest.is_none_or(|(t, _, _)| time > t)
            {
                let when = entry.get("timestamp").unwrap_or(&Value::Null);
                slowest = Some((time, name, when));
            }
        }
    }
    Some(Drills {
        count: entries.len(),
        last: serde_json::json!({
            "timestamp": last.get("timestamp"),
            "verdict": last.get("verdict"),
        }),
        slowest: match slowest {
            Some((time, level, when)) => serde_json::json!({
                "timestamp": when,
                "level": level,
                "seconds": metrics::round2(time),
            }),
            None => Value::Null,
        },
    })
}

/// `drills  3 · last 2026-11-21T10:04:05+00:00 (pass) · slowest sprint 1.20 s`.
fn drills_line(d: &Drills) -> String {
    let text = |v: &Value| v.as_str().map(crate::ui::one_line).unwrap_or_default();
    let slowest = match &d.slowest {
        Value::Null => String::new(),
        s => format!(
            " · slowest: {} in {:.2} s",
            text(&s["level"]),
            s["seconds"].as_f64().unwrap_or_default()
        ),
    };
    format!(
        "  drills                 {} · last {} ({}){slowest}",
        d.count,
        text(&d.last["timestamp"]),
        text(&d.last["verdict"])
    )
}

/// The JSON fields of `metrics record`.
#[derive(Serialize)]
struct Recorded<'a> {
    entry: &'a Map<String, Value>,
}

fn show(ctx: &Context, file: &MetricsFile) -> anyhow::Result<Outcome> {
    let mut doc = file.read_strict()?;
    metrics::recompute_statistics(&mut doc);
    let stats = doc["statistics"].clone();
    let live = metrics::live_entries(&doc);
    let drills = drills(&doc);
    let mut outcome = Outcome::new();
    if live.is_empty() {
        outcome.line(format!(
            "No rollbacks recorded in {}.",
            ctx.settings.reports_dir.trim_end_matches('/').to_string() + "/metrics.json"
        ));
        if let Some(d) = &drills {
            outcome.line(drills_line(d));
        }
        outcome.data(&Shown {
            statistics: stats,
            per_sprint: Map::new(),
            drills,
        });
        return Ok(outcome);
    }
    outcome.line(ctx.ui.bold("Rollback statistics"));
    outcome.line(format!(
        "  total rollbacks        {}",
        stats["total_rollbacks"]
    ));
    outcome.line(format!(
        "  average recovery time  {} min",
        stats["average_recovery_time"]
    ));
    if let Some(d) = &drills {
        outcome.line(drills_line(d));
    }
    for (title, key) in [("by severity", "by_severity"), ("by cause", "by_cause")] {
        outcome.line(format!("  {title}:"));
        if let Some(map) = stats[key].as_object() {
            for (name, count) in map {
                let name = crate::ui::one_line(name);
                outcome.line(format!("    {name:<24} {count}"));
            }
        }
    }
    // Rollbacks per sprint, as a bar chart.
    let mut per_sprint: BTreeMap<Option<u64>, u64> = BTreeMap::new();
    for entry in &live {
        *per_sprint
            .entry(entry.get("sprint").and_then(Value::as_u64))
            .or_default() += 1;
    }
    let widest = per_sprint.values().copied().max().unwrap_or(1).max(1);
    outcome.line(ctx.ui.bold("Rollbacks per sprint"));
    for (sprint, count) in &per_sprint {
        let label = sprint.map_or("no sprint".to_string(), |n| format!("sprint {n}"));
        let width = ((*count as f64 / widest as f64) * 40.0).round().max(1.0) as usize;
        outcome.line(format!("  {label:<10} {} {count}", "█".repeat(width)));
    }
    let per_sprint: Map<String, Value> = per_sprint
        .iter()
        .map(|(s, c)| {
            (
                s.map_or("none".to_string(), |n| n.to_string()),
                Value::from(*c),
            )
        })
        .collect();
    outcome.data(&Shown {
        statistics: stats,
        per_sprint,
        drills,
    });
    Ok(outcome)
}

fn record(
    ctx: &Context,
    file: &MetricsFile,
    sprint: Option<u32>,
    severity: &str,
    cause: &str,
    minutes: f64,
) -> anyhow::Result<Outcome> {
    let severity = metrics::parse_severity(severity)?;
    if !(minutes.is_finite() && minutes >= 0.0) {
        return Err(user("--minutes must be a number of minutes, 0 or more")
            .exit(crate::error::Exit::Usage)
            .into());
    }
    if cause.trim().is_empty() {
        return Err(user("--cause must not be empty")
            .exit(crate::error::Exit::Usage)
            .into());
    }
    crate::reports_folder::check(ctx.repo.workdir(), &ctx.settings.reports_dir)?;
    let doc = file.read_strict()?;
    let mut entry = Map::new();
    entry.insert(
        "timestamp".into(),
        Value::from(clock::rfc3339(&clock::now())),
    );
    entry.insert("sprint".into(), serde_json::json!(sprint));
    entry.insert("severity".into(), Value::from(severity));
    entry.insert("cause".into(), Value::from(cause));
    entry.insert("recovery_time_minutes".into(), serde_json::json!(minutes));
    entry.insert("kind".into(), Value::from("manual"));
    entry.insert("undone".into(), Value::Bool(false));
    let mut outcome = Outcome::new();
    outcome.data(&Recorded { entry: &entry });
    let mut plan = Plan::new();
    plan.one_line = true;
    plan.push(RecordStep::Add {
        file: file.path.display().to_string(),
        entry,
    });
    let exec = Recording {
        file,
        doc: Some(doc),
    };
    let Carried::Unjournaled(()) = carry_out(ctx, &plan, exec, &mut outcome)? else {
        // A dry run: the entry is printed.
        return Ok(outcome);
    };
    outcome.line(format!(
        "Recorded a {severity} rollback ({cause}, {minutes} min) in {}.",
        file.path.display()
    ));
    Ok(outcome)
}

/// What `metrics record` does: the file is the tool's reports folder, which
/// only grows and which the journal does not save (docs/invariants.md, I8).
#[derive(Debug, Clone)]
enum RecordStep {
    /// Append a manual entry to the metrics file.
    Add {
        file: String,
        entry: Map<String, Value>,
    },
}

impl Step for RecordStep {
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

impl std::fmt::Display for RecordStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordStep::Add { file, entry } => {
                write!(f, "add to {file}: {}", Value::Object(entry.clone()))
            }
        }
    }
}

/// Appends the entry to the metrics document read when the entry was made.
struct Recording<'a> {
    file: &'a MetricsFile,
    doc: Option<Value>,
}

impl Execute<RecordStep> for Recording<'_> {
    type Done = ();

    fn outside(&mut self, ctx: &Context, step: &RecordStep, _: &mut Outcome) -> anyhow::Result<()> {
        let RecordStep::Add { entry, .. } = step;
        let mut doc = self
            .doc
            .take()
            .ok_or_else(|| anyhow::anyhow!("internal error: one entry is recorded at a time"))?;
        metrics::append(&mut doc, entry.clone());
        crate::reports_folder::prepare(&ctx.repo, &ctx.settings.reports_dir)?;
        self.file.write(doc)
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<()> {
        Ok(())
    }
}
