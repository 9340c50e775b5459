//! Post-rollback reports: `analyze`, `notify` and `triage` (README: the
//! reports).
//!
//! None of them changes the repository, so none goes through the journal:
//! `notify` and `triage` write nothing at all, and `analyze` writes only files
//! in a folder of its own that it creates (under the reports folder, which no
//! rollback or undo ever touches — docs/invariants.md, I8 — or `--output`).
//!
//! What they know about past rollbacks comes from two records joined by the
//! entry's `operation_id`: `rollbacks/metrics.json` says which rollbacks
//! count (the team's record; undone entries are left out) and the journal
//! says exactly what each one did (refs created, the stash entry, the
//! branch it reset).

mod analyze;
mod environment;
mod history;
pub(crate) mod markdown;
mod notify;
mod triage;

pub use analyze::{analyze, AnalyzeArgs};
pub use notify::{notify, NotifyArgs};
pub use triage::{triage, TriageArgs};

use serde_json::{Map, Value};

use super::Context;
use crate::git::{Oid, Repo};
use crate::journal::{Journal, Operation};
use crate::metrics::{self, MetricsFile};

/// One rollback as the metrics record it, with its journal operation when
/// the tool made it (entries of the team's script or `metrics record` have
/// none).
#[derive(Debug, Clone)]
struct Rollback {
    entry: Map<String, Value>,
    op: Option<Operation>,
}

impl Rollback {
    fn text(&self, key: &str) -> Option<&str> {
        self.entry.get(key).and_then(Value::as_str)
    }

    /// `emergency`, `sprint`, `manual`, or `recorded` for an entry without
    /// a kind (written by the team's script).
    fn kind(&self) -> &str {
        self.text("kind").unwrap_or("recorded")
    }

    /// What kind of rollback, in words.
    fn kind_label(&self) -> String {
        match self.kind() {
            "emergency" => "Level 1 emergency rollback".to_string(),
            "sprint" => "Level 2 sprint rollback".to_string(),
            "files" => "Level 3 file rollback".to_string(),
            "manual" => "rollback recorded by hand (`metrics record`)".to_string(),
            "recorded" => "rollback recorded in the metrics".to_string(),
            other => format!("{} rollback", markdown::md_text(other)),
        }
    }

    fn sprint(&self) -> Option<u64> {
        self.entry.get("sprint").and_then(Value::as_u64)
    }

    fn severity(&self) -> &str {
        self.text("severity").unwrap_or("unknown")
    }

    fn cause(&self) -> &str {
        self.text("cause").unwrap_or("not recorded")
    }

    fn time(&self) -> &str {
        self.text("timestamp").unwrap_or("unknown time")
    }

    fn operation_id(&self) -> Option<&str> {
        self.text("operation_id")
    }

    /// `"verified"`: whether the tests passed on the rolled-back tree
    /// (`--verify`); `None` for entries that do not say.
    fn verified(&self) -> Option<bool> {
        self.entry.get("verified").and_then(Value::as_bool)
    }

    /// The recovery time in minutes, and what it measures (`run`,
    /// `incident`, `given`) when the entry says.
    fn recovery(&self) -> Option<(f64, Option<&str>)> {
        let minutes = self.entry.get("recovery_time_minutes")?.as_f64()?;
        Some((minutes, self.text("recovery_time_measures")))
    }

    fn backup_ref(&self) -> Option<&str> {
        self.text("backup_ref")
    }

    /// The branch to recover good commits from after this rollback (see
    /// [`markdown::recover_command`]): for a sprint rollback, the branch
    /// HEAD was on while it still exists; else `fallback` (the backup).
    fn recover_from(&self, repo: &Repo, fallback: &str) -> anyhow::Result<String> {
        if self.kind() == "sprint" {
            if let Some(op) = &self.op {
                if let crate::git::HeadState::Symbolic(full) = &op.begin.head {
                    if full.starts_with("refs/heads/") && repo.ref_target(full)?.is_some() {
                        return Ok(full.trim_start_matches("refs/heads/").to_string());
                    }
                }
            }
        }
        Ok(fallback.to_string())
    }
}

/// The rollbacks that count (oldest first) and the whole journal.
struct Records {
    rollbacks: Vec<Rollback>,
    ops: std::sync::Arc<crate::journal::History>,
    /// Why `metrics.json` could not be read, when it could not.
    metrics_problem: Option<String>,
}

impl Records {
    /// Read both records. A corrupt metrics file is reported in
    /// `metrics_problem` (never touched); an unreadable journal is an error.
    fn load(ctx: &Context) -> anyhow::Result<Records> {
        let ops = Journal::for_repo(&ctx.repo).history()?;
        let file = MetricsFile::new(ctx.repo.workdir(), &ctx.settings.reports_dir);
        let (doc, metrics_problem) = match file.read()? {
            Ok(doc) => (doc, None),
            Err(corrupt) => (
                Value::Null,
                Some(format!(
                    "{} is corrupt: {}",
                    file.path.display(),
                    corrupt.reason
                )),
            ),
        };
        let rollbacks = metrics::live_entries(&doc)
            .into_iter()
            .map(|entry| {
                let op = entry
                    .get("operation_id")
                    .and_then(Value::as_str)
                    .and_then(|id| ops.get(id))
                    .cloned();
                Rollback {
                    entry: entry.clone(),
                    op,
                }
            })
            // An undo the metrics missed (written before they were read
            // back, say) still counts as an undo.
            .filter(|r| r.op.as_ref().is_none_or(|op| ops.undone_by(op).is_none()))
            .collect();
        Ok(Records {
            rollbacks,
            ops,
            metrics_problem,
        })
    }

    fn latest(&self) -> Option<&Rollback> {
        self.rollbacks.last()
    }
}

/// A branch and where it points now (in JSON, `{name, commit}`).
#[derive(Debug, Clone, serde::Serialize)]
struct BranchAt {
    name: String,
    #[serde(serialize_with = "commit_hex")]
    commit: Option<Oid>,
}

/// A commit id as its full hex, or `null`.
fn commit_hex<S: serde::Serializer>(commit: &Option<Oid>, s: S) -> Result<S::Ok, S::Error> {
    match commit {
        Some(id) => s.serialize_str(&id.to_string()),
        None => s.serialize_none(),
    }
}

impl BranchAt {
    fn of_ref(repo: &Repo, full: &str) -> anyhow::Result<BranchAt> {
        Ok(BranchAt {
            name: full.trim_start_matches("refs/heads/").to_string(),
            commit: repo.ref_target(full)?,
        })
    }
}

/// The newest branch under `refs/heads/<prefix>`, by the `YYYYMMDD_HHMMSS`
/// stamp in its name (`backup/emergency-<ts>`, `backup/sprint-3-<ts>-2`,
/// `recovery/<ts>`), then by name.
fn newest_branch(repo: &Repo, prefix: &str) -> anyhow::Result<Option<BranchAt>> {
    let refs = repo.refs_with_prefix(&format!("refs/heads/{prefix}"))?;
    Ok(refs
        .into_iter()
        .max_by(|(a, _), (b, _)| stamp_key(a).cmp(&stamp_key(b)).then(a.cmp(b)))
        .map(|(name, commit)| BranchAt {
            name: name.trim_start_matches("refs/heads/").to_string(),
            commit: Some(commit),
        }))
}

/// The last `YYYYMMDD_HHMMSS` in a name and the `-N` after it, for sorting.
fn stamp_key(name: &str) -> (String, u32) {
    let bytes = name.as_bytes();
    let is_stamp = |i: usize| {
        i + 15 <= bytes.len()
            && bytes[i..i + 8].iter().all(u8::is_ascii_digit)
            && bytes[i + 8] == b'_'
            && bytes[i + 9..i + 15].iter().all(u8::is_ascii_digit)
    };
    let Some(at) = (0..bytes.len()).rev().find(|&i| is_stamp(i)) else {
        return (String::new(), 0);
    };
    let stamp = name[at..at + 15].to_string();
    let suffix = name[at + 15..]
        .strip_prefix('-')
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    (stamp, suffix)
}

#[cfg(test)]
mod tests {
    use super::stamp_key;

    #[test]
    fn stamps_sort_names_of_every_kind() {
        assert_eq!(
            stamp_key("refs/heads/backup/sprint-3-20261121_100405-2"),
            ("20261121_100405".to_string(), 2)
        );
        assert_eq!(
            stamp_key("backup/emergency-20261121_100405"),
            ("20261121_100405".to_string(), 1)
        );
        assert!(
            stamp_key("backup/emergency-20261121_100405") < stamp_key("backup/a-20261122_000000")
        );
        assert_eq!(stamp_key("backup/old"), (String::new(), 0));
    }
}
