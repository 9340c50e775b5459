//! `rollbacks/metrics.json` (README: `metrics`), in the team's existing format.
//!
//! The file is read as JSON values, not into a struct, so a file written by
//! the team's own script keeps its shape, its field order and any fields we
//! do not know: entries are appended and `statistics` is recomputed, nothing
//! else is rewritten. Writes are atomic (a temporary file and a rename). A
//! file that cannot be read as metrics is never overwritten.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{json, Map, Value};

use crate::error::user;

/// Severity names, with the P0–P3 aliases (README: `analyze`, `notify`, `triage`).
pub fn parse_severity(text: &str) -> anyhow::Result<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "critical" | "p0" => Ok("critical"),
        "high" | "p1" => Ok("high"),
        "medium" | "p2" => Ok("medium"),
        "low" | "p3" => Ok("low"),
        other => Err(user(format!("unknown severity `{other}`"))
            .hint("use critical, high, medium or low (or P0, P1, P2, P3)")
            .exit(crate::error::Exit::Usage)
            .into()),
    }
}

/// The metrics file of a work tree.
pub struct MetricsFile {
    pub path: PathBuf,
}

/// The file could not be read as metrics.
#[derive(Debug)]
pub struct Corrupt {
    pub reason: String,
}

impl MetricsFile {
    pub fn new(workdir: &Path, reports_dir: &str) -> MetricsFile {
        MetricsFile {
            path: workdir.join(reports_dir).join("metrics.json"),
        }
    }

    /// The document, or an empty one when there is no file yet.
    pub fn read(&self) -> anyhow::Result<Result<Value, Corrupt>> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Ok(json!({"rollbacks": [], "statistics": {}})))
            }
            Err(e) => {
                return Err(e).with_context(|| format!("could not read {}", self.path.display()))
            }
        };
        Ok(parse(&bytes))
    }

    /// Read for a change; a corrupt file is an error that changes nothing.
    pub fn read_strict(&self) -> anyhow::Result<Value> {
        match self.read()? {
            Ok(doc) => Ok(doc),
            Err(c) => Err(
                user(format!("{} is corrupt: {}", self.path.display(), c.reason))
                    .hint("fix it or move it aside; it was not changed")
                    .into(),
            ),
        }
    }

    /// Read for a rollback, which must not fail on metrics: a corrupt file
    /// is moved aside (never overwritten) and a new one is started.
    pub fn read_or_set_aside(&self, stamp: &str) -> anyhow::Result<(Value, Option<PathBuf>)> {
        match self.read()? {
            Ok(doc) => Ok((doc, None)),
            Err(_) => {
                let aside = self
                    .path
                    .with_file_name(format!("metrics.json.corrupt-{stamp}"));
                let aside = unused_path(aside);
                fs::rename(&self.path, &aside)
                    .with_context(|| format!("could not move {} aside", self.path.display()))?;
                Ok((json!({"rollbacks": [], "statistics": {}}), Some(aside)))
            }
        }
    }

    /// Write atomically, with the statistics recomputed.
    pub fn write(&self, mut doc: Value) -> anyhow::Result<()> {
        recompute_statistics(&mut doc);
        let dir = self.path.parent().context("metrics path has no folder")?;
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let mut text = serde_json::to_string_pretty(&doc)?;
        text.push('\n');
        // Replaced whole by a rename, not synced on its own: a report, made
        // durable with the journal record that follows it (syncing it here
        // would wait for every file the command wrote before it).
        use crate::atomic::{write_atomic, Durability, Mode};
        write_atomic(&self.path, text.as_bytes(), Durability::None, Mode::Private)
            .with_context(|| format!("could not replace {}", self.path.display()))?;
        crate::fault::point("after-metrics");
        Ok(())
    }
}

/// A metrics document from the bytes of `metrics.json`: a JSON object whose
/// `rollbacks`, when present, is a list of objects. Anything else is
/// [`Corrupt`], with the reason.
pub fn parse(bytes: &[u8]) -> Result<Value, Corrupt> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| Corrupt {
        reason: format!("not valid JSON ({e})"),
    })?;
    let Some(obj) = doc.as_object() else {
        return Err(Corrupt {
            reason: "not a JSON object".into(),
        });
    };
    match obj.get("rollbacks") {
        None => Ok(doc),
        Some(Value::Array(entries)) if entries.iter().any(|e| !e.is_object()) => Err(Corrupt {
            reason: "an entry of `rollbacks` is not an object".into(),
        }),
        Some(Value::Array(_)) => Ok(doc),
        Some(_) => Err(Corrupt {
            reason: "`rollbacks` is not a list".into(),
        }),
    }
}

fn unused_path(path: PathBuf) -> PathBuf {
    if !path.exists() {
        return path;
    }
    (2..)
        .map(|n| PathBuf::from(format!("{}-{n}", path.display())))
        .find(|p| !p.exists())
        .unwrap_or(path)
}

/// Append an entry.
pub fn append(doc: &mut Value, entry: Map<String, Value>) {
    if let Some(obj) = doc.as_object_mut() {
        let list = obj.entry("rollbacks").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(Value::Object(entry));
        }
    }
}

/// Set `undone` on the entry of an operation; true when there was one.
pub fn mark_undone(doc: &mut Value, operation_id: &str, undone: bool) -> bool {
    let mut found = false;
    if let Some(list) = doc.get_mut("rollbacks").and_then(Value::as_array_mut) {
        for entry in list.iter_mut().filter_map(Value::as_object_mut) {
            if entry.get("operation_id").and_then(Value::as_str) == Some(operation_id) {
                entry.insert("undone".into(), Value::Bool(undone));
                found = true;
            }
        }
    }
    found
}

/// Rollbacks that count: those not undone, drills left out.
pub fn live_entries(doc: &Value) -> Vec<&Map<String, Value>> {
    entries(doc)
        .filter(|e| !is_drill(e))
        .filter(|e| e.get("undone").and_then(Value::as_bool) != Some(true))
        .collect()
}

/// The entries of `drill` runs, oldest first.
pub fn drill_entries(doc: &Value) -> Vec<&Map<String, Value>> {
    entries(doc).filter(|e| is_drill(e)).collect()
}

fn entries(doc: &Value) -> impl Iterator<Item = &Map<String, Value>> {
    doc.get("rollbacks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// A rehearsal, not a rollback: no statistics of rollbacks count it.
pub fn is_drill(entry: &Map<String, Value>) -> bool {
    entry.get("kind").and_then(Value::as_str) == Some(DRILL_KIND)
}

pub const DRILL_KIND: &str = "drill";

/// One `drill` run as `metrics.json` records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DrillEntry {
    pub timestamp: String,
    pub kind: &'static str,
    pub rto_seconds: u64,
    /// `pass` or `fail`.
    pub verdict: &'static str,
    #[serde(serialize_with = "seconds")]
    pub duration_seconds: f64,
    pub levels: Vec<DrillLevel>,
}

/// A level of a drill: its verdict and times (null when it did not get
/// that far).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DrillLevel {
    pub level: &'static str,
    pub verdict: &'static str,
    #[serde(serialize_with = "opt_seconds")]
    pub rollback_seconds: Option<f64>,
    #[serde(serialize_with = "opt_seconds")]
    pub verify_seconds: Option<f64>,
    pub undo_exact: Option<bool>,
}

fn opt_seconds<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => s.serialize_f64(round2(*x)),
        None => s.serialize_none(),
    }
}

/// Append a drill's entry to the metrics file of the work tree. Not an
/// operation: a drill changes nothing of the repository, and its entry
/// is a record like `metrics record`'s. A corrupt file is moved aside, as
/// a rollback does: returns where it went.
pub fn record_drill(
    repo: &crate::git::Repo,
    reports_dir: &str,
    stamp: &str,
    entry: &DrillEntry,
) -> anyhow::Result<Option<PathBuf>> {
    crate::reports_folder::prepare(repo, reports_dir)?;
    let file = MetricsFile::new(repo.workdir(), reports_dir);
    let (mut doc, set_aside) = file.read_or_set_aside(stamp)?;
    let Value::Object(entry) = serde_json::to_value(entry)? else {
        anyhow::bail!("internal error: a metrics entry is not an object");
    };
    append(&mut doc, entry);
    file.write(doc)?;
    Ok(set_aside)
}

/// `statistics`, recomputed from the entries that were not undone.
pub fn recompute_statistics(doc: &mut Value) {
    let live = live_entries(doc);
    let mut by_cause: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_severity: BTreeMap<String, u64> = BTreeMap::new();
    let mut minutes = Vec::new();
    for entry in &live {
        let cause = entry
            .get("cause")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        *by_cause.entry(cause.to_string()).or_default() += 1;
        let severity = entry
            .get("severity")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        *by_severity.entry(severity.to_string()).or_default() += 1;
        if let Some(m) = entry.get("recovery_time_minutes").and_then(Value::as_f64) {
            minutes.push(m);
        }
    }
    let average = if minutes.is_empty() {
        0.0
    } else {
        round2(minutes.iter().sum::<f64>() / minutes.len() as f64)
    };
    let stats = json!({
        "total_rollbacks": live.len(),
        "by_cause": by_cause,
        "by_severity": by_severity,
        "average_recovery_time": average,
    });
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("statistics".into(), stats);
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A new entry: the team script's five fields first, then ours.
#[allow(clippy::too_many_arguments)]
/// One rollback as `metrics.json` records it, in the team's field order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry<'a> {
    pub timestamp: String,
    pub sprint: Option<u32>,
    pub severity: &'a str,
    pub cause: &'a str,
    #[serde(rename = "recovery_time_minutes", serialize_with = "minutes")]
    pub recovery_minutes: f64,
    pub kind: &'a str,
    pub operation_id: Option<&'a str>,
    #[serde(serialize_with = "seconds")]
    pub duration_seconds: f64,
    pub files_changed: usize,
    pub backup_ref: Option<&'a str>,
    pub undone: bool,
    /// Whether the tests passed on the rolled-back tree (`--verify`):
    /// false when they failed and when no verification ran.
    pub verified: bool,
    /// What `recovery_time_minutes` measures: [`Measures`].
    pub recovery_time_measures: Measures,
}

/// What an entry's `recovery_time_minutes` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Measures {
    /// The rollback's own run, from the command's start to the end of the
    /// rollback.
    Run,
    /// The incident: from when it started (`--since`) to the end of the
    /// rollback.
    Incident,
    /// The minutes given with `--recovery-minutes`.
    Given,
}

fn minutes<S: serde::Serializer>(m: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_minutes(*m))
}

fn seconds<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round2(*x))
}

/// `--recovery-minutes`, checked before anything happens.
pub fn check_recovery_minutes(minutes: Option<f64>) -> anyhow::Result<()> {
    match minutes {
        Some(m) if !(m.is_finite() && m >= 0.0) => {
            Err(user("--recovery-minutes must be a number of minutes, 0 or more").into())
        }
        _ => Ok(()),
    }
}

/// Append a rollback to the metrics file of the work tree, inside the
/// operation that made it (so `undo` takes the entry back with it). A
/// corrupt file is moved aside to a name with `stamp` and a new one
/// started: returns where it went.
pub fn record(
    tx: &mut crate::journal::Transaction<'_>,
    reports_dir: &str,
    stamp: &str,
    entry: &Entry<'_>,
) -> anyhow::Result<Option<PathBuf>> {
    let file = MetricsFile::new(tx.repo().workdir(), reports_dir);
    let (mut doc, set_aside) = file.read_or_set_aside(stamp)?;
    let Value::Object(entry) = serde_json::to_value(entry)? else {
        anyhow::bail!("internal error: a metrics entry is not an object");
    };
    append(&mut doc, entry);
    file.write(doc)?;
    tx.detail("metrics", true);
    Ok(set_aside)
}

/// After a verification that passed: set `"verified": true` on the entry
/// of operation `operation_id`. The reports folder is the tool's and only
/// grows (I8), so this is written outside the operation, like `undo`
/// marking an entry undone. A file that cannot be updated is reported and
/// left as it is.
pub fn mark_verified(
    repo: &crate::git::Repo,
    reports_dir: &str,
    operation_id: &str,
) -> anyhow::Result<()> {
    crate::reports_folder::check(repo.workdir(), reports_dir)?;
    let file = MetricsFile::new(repo.workdir(), reports_dir);
    let mut doc = file.read_strict()?;
    let mut found = false;
    if let Some(list) = doc.get_mut("rollbacks").and_then(Value::as_array_mut) {
        for entry in list.iter_mut().filter_map(Value::as_object_mut) {
            if entry.get("operation_id").and_then(Value::as_str) == Some(operation_id) {
                entry.insert("verified".into(), Value::Bool(true));
                found = true;
            }
        }
    }
    if !found {
        anyhow::bail!(
            "{} has no entry for operation {operation_id}",
            file.path.display()
        );
    }
    crate::reports_folder::prepare(repo, reports_dir)?;
    file.write(doc)
}

fn round_minutes(m: f64) -> f64 {
    (m * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_leave_out_undone_entries() {
        let mut doc = json!({"rollbacks": [
            {"timestamp": "t", "sprint": 1, "severity": "high", "cause": "tests", "recovery_time_minutes": 2.0},
            {"timestamp": "t", "sprint": 2, "severity": "low", "cause": "perf", "recovery_time_minutes": 4.0,
             "operation_id": "x", "undone": false},
        ]});
        assert!(mark_undone(&mut doc, "x", true));
        recompute_statistics(&mut doc);
        assert_eq!(doc["statistics"]["total_rollbacks"], 1);
        assert_eq!(doc["statistics"]["by_cause"], json!({"tests": 1}));
        assert_eq!(doc["statistics"]["average_recovery_time"], 2.0);
    }

    #[test]
    fn statistics_leave_out_drills() {
        let mut doc = json!({"rollbacks": [
            {"timestamp": "t", "sprint": 1, "severity": "high", "cause": "tests", "recovery_time_minutes": 2.0},
            {"timestamp": "t", "kind": "drill", "rto_seconds": 300, "verdict": "pass",
             "duration_seconds": 3.0, "levels": []},
        ]});
        recompute_statistics(&mut doc);
        assert_eq!(doc["statistics"]["total_rollbacks"], 1);
        assert_eq!(doc["statistics"]["by_cause"], json!({"tests": 1}));
        assert_eq!(doc["statistics"]["by_severity"], json!({"high": 1}));
        assert_eq!(drill_entries(&doc).len(), 1);
    }

    #[test]
    fn severities_and_aliases() {
        assert_eq!(parse_severity("P0").unwrap(), "critical");
        assert_eq!(parse_severity("High").unwrap(), "high");
        assert!(parse_severity("urgent").is_err());
    }
}
