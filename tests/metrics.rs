//! Tests of `metrics` and `metrics record` (README: `metrics`): the team's
//! `rollbacks/metrics.json`, extended and never reshaped.

use serde_json::{json, Value};

use crate::common::{assert_same_state, TestRepo, ToolOutput};

const METRICS: &str = "rollbacks/metrics.json";

/// A file as the team's own script writes it (its field order, an integer
/// recovery time, a field this tool does not know, and top-level extras).
const TEAM_FILE: &str = r#"{
  "team": "payments",
  "rollbacks": [
    {
      "timestamp": "2026-11-01T09:00:00",
      "sprint": 1,
      "severity": "high",
      "cause": "x",
      "recovery_time_minutes": 3,
      "custom": "kept"
    }
  ],
  "statistics": {
    "total_rollbacks": 1,
    "by_cause": {"x": 1},
    "by_severity": {"high": 1},
    "average_recovery_time": 3
  },
  "notes": ["written by rollback_metrics.py"]
}
"#;

fn read_json(repo: &TestRepo, rel: &str) -> Value {
    serde_json::from_slice(&repo.read(rel)).expect("metrics.json is JSON")
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[track_caller]
fn record(repo: &TestRepo, args: &[&str]) -> ToolOutput {
    let mut all = vec!["metrics", "record"];
    all.extend_from_slice(args);
    let out = repo.tool(&all);
    out.assert_ok();
    out
}

#[test]
fn no_metrics_file_means_no_rollbacks() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    let out = repo.tool(&["metrics"]);
    out.assert_ok();
    assert!(out.stdout.contains("No rollbacks recorded"), "{out}");
    let v = repo.tool_ok(&["--json", "metrics"]).json();
    assert_eq!(v["statistics"]["total_rollbacks"], 0);
    assert_eq!(v["per_sprint"], json!({}));
    assert_same_state(&before, &repo.capture());
    assert!(!repo.exists("rollbacks"), "showing created the folder");
}

#[test]
fn record_starts_a_file_with_the_team_fields_first() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&[
        "--json",
        "metrics",
        "record",
        "--sprint",
        "3",
        "--severity",
        "P1",
        "--cause",
        "tests failing",
        "--minutes",
        "12.5",
    ]);
    out.assert_ok();
    assert_eq!(out.json()["ok"], true);
    let doc = read_json(&repo, METRICS);
    let entries = doc["rollbacks"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        keys(e)[..5],
        [
            "timestamp",
            "sprint",
            "severity",
            "cause",
            "recovery_time_minutes"
        ],
        "the team script's five fields come first, in its order: {e}"
    );
    assert_eq!(e["timestamp"], "2026-11-21T10:04:05+00:00");
    assert_eq!(e["sprint"], 3);
    assert_eq!(e["severity"], "high", "P1 is stored as high");
    assert_eq!(e["cause"], "tests failing");
    assert_eq!(e["recovery_time_minutes"], 12.5);
    assert_eq!(
        doc["statistics"],
        json!({"total_rollbacks": 1, "by_cause": {"tests failing": 1},
               "by_severity": {"high": 1}, "average_recovery_time": 12.5})
    );
    // Recording is not a git operation: no commit, no index change; and the
    // folder the tool made stays out of `git status` (docs/invariants.md, I8).
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert!(repo
        .git(&["status", "--porcelain", "--ignored"])
        .contains("!! rollbacks/"));
}

#[test]
fn record_extends_the_team_file_without_reshaping_it() {
    let repo = TestRepo::with_commits();
    repo.write(METRICS, TEAM_FILE);
    let original: Value = serde_json::from_str(TEAM_FILE).unwrap();
    record(
        &repo,
        &[
            "--sprint",
            "3",
            "--severity",
            "P1",
            "--cause",
            "tests failing",
            "--minutes",
            "12.5",
        ],
    );
    let doc = read_json(&repo, METRICS);
    assert_eq!(keys(&doc), ["team", "rollbacks", "statistics", "notes"]);
    assert_eq!(doc["team"], original["team"]);
    assert_eq!(doc["notes"], original["notes"]);
    let entries = doc["rollbacks"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    // The old entry is byte-for-byte the same value, with its field order
    // and its integer minutes.
    assert_eq!(entries[0], original["rollbacks"][0]);
    assert_eq!(
        keys(&entries[0]),
        [
            "timestamp",
            "sprint",
            "severity",
            "cause",
            "recovery_time_minutes",
            "custom"
        ]
    );
    assert!(entries[0]["recovery_time_minutes"].is_u64());
    assert_eq!(entries[1]["cause"], "tests failing");
    // Statistics recomputed over both, in the team's key order.
    assert_eq!(
        keys(&doc["statistics"]),
        [
            "total_rollbacks",
            "by_cause",
            "by_severity",
            "average_recovery_time"
        ]
    );
    assert_eq!(doc["statistics"]["total_rollbacks"], 2);
    assert_eq!(
        doc["statistics"]["by_cause"],
        json!({"x": 1, "tests failing": 1})
    );
    assert_eq!(doc["statistics"]["by_severity"], json!({"high": 2}));
    assert_eq!(doc["statistics"]["average_recovery_time"], 7.75);
    // The write is atomic: nothing else is left in the folder but the
    // `.gitignore` that keeps it out of `git status`.
    let mut names: Vec<String> = std::fs::read_dir(repo.abs("rollbacks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".gitignore", "metrics.json"]);
}

#[test]
fn statistics_leave_out_undone_entries() {
    let repo = TestRepo::with_commits();
    repo.write(
        METRICS,
        r#"{"rollbacks": [
            {"timestamp": "t1", "sprint": 1, "severity": "high", "cause": "flaky", "recovery_time_minutes": 10},
            {"timestamp": "t2", "sprint": 2, "severity": "critical", "cause": "outage", "recovery_time_minutes": 100,
             "operation_id": "abc", "undone": true}
        ], "statistics": {}}"#,
    );
    let v = repo.tool_ok(&["--json", "metrics"]).json();
    assert_eq!(
        v["statistics"],
        json!({"total_rollbacks": 1, "by_cause": {"flaky": 1},
               "by_severity": {"high": 1}, "average_recovery_time": 10.0})
    );
    assert_eq!(v["per_sprint"], json!({"1": 1}));
    let out = repo.tool_ok(&["metrics"]);
    assert!(!out.stdout.contains("outage"), "{out}");
    assert!(!out.stdout.contains("sprint 2"), "{out}");

    record(
        &repo,
        &["--severity", "low", "--cause", "flaky", "--minutes", "2"],
    );
    let doc = read_json(&repo, METRICS);
    assert_eq!(
        doc["rollbacks"].as_array().unwrap().len(),
        3,
        "undone entry kept"
    );
    assert_eq!(doc["rollbacks"][1]["undone"], true);
    assert_eq!(
        doc["statistics"],
        json!({"total_rollbacks": 2, "by_cause": {"flaky": 2},
               "by_severity": {"high": 1, "low": 1}, "average_recovery_time": 6.0})
    );

    // Only undone entries: nothing to show.
    repo.write(
        METRICS,
        r#"{"rollbacks": [{"timestamp": "t", "sprint": 1, "severity": "high", "cause": "c",
            "recovery_time_minutes": 1, "undone": true}]}"#,
    );
    let out = repo.tool_ok(&["metrics"]);
    assert!(out.stdout.contains("No rollbacks recorded"), "{out}");
}

#[test]
fn metrics_prints_a_table_and_a_bar_chart_per_sprint() {
    let repo = TestRepo::with_commits();
    for (sprint, sev, cause, min) in [
        (Some("3"), "P0", "tests failing", "10"),
        (Some("3"), "medium", "perf", "20"),
        (Some("1"), "p2", "tests failing", "30"),
        (None, "Low", "config", "40"),
    ] {
        let mut args = vec!["--severity", sev, "--cause", cause, "--minutes", min];
        if let Some(s) = sprint {
            args.extend(["--sprint", s]);
        }
        record(&repo, &args);
    }
    let v = repo.tool_ok(&["--json", "metrics"]).json();
    assert_eq!(v["per_sprint"], json!({"1": 1, "3": 2, "none": 1}));
    assert_eq!(v["statistics"]["total_rollbacks"], 4);
    assert_eq!(
        v["statistics"]["by_severity"],
        json!({"critical": 1, "medium": 2, "low": 1})
    );
    assert_eq!(v["statistics"]["average_recovery_time"], 25.0);
    assert_eq!(
        read_json(&repo, METRICS)["rollbacks"][3]["sprint"],
        Value::Null
    );

    let out = repo.tool_ok(&["metrics"]);
    for needle in ["4", "25", "critical", "tests failing", "perf", "config"] {
        assert!(out.stdout.contains(needle), "table lacks {needle}\n{out}");
    }
    let bar = |label: &str| -> usize {
        let line = out
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no bar for {label}\n{out}"));
        line.chars().filter(|&c| c == '█').count()
    };
    let (s1, s3) = (bar("sprint 1 "), bar("sprint 3 "));
    assert!(s1 > 0, "{out}");
    assert_eq!(s3, 2 * s1, "bars are proportional to the counts\n{out}");
    assert_eq!(bar("no sprint"), s1, "{out}");
}

#[test]
fn corrupt_metrics_file_is_an_error_and_never_touched() {
    let repo = TestRepo::with_commits();
    for corrupt in [
        &b"{ \"rollbacks\": [ {\"sprint\": 1}, "[..],
        b"[]",
        b"{\"rollbacks\": 5}",
        b"{\"rollbacks\": [1, 2]}",
        b"\xff\xfe not utf-8",
        b"",
    ] {
        repo.write(METRICS, corrupt);
        let before = repo.capture();
        for args in [
            &["metrics"][..],
            &[
                "metrics",
                "record",
                "--severity",
                "high",
                "--cause",
                "c",
                "--minutes",
                "1",
            ],
            &[
                "--json",
                "metrics",
                "record",
                "--severity",
                "high",
                "--cause",
                "c",
                "--minutes",
                "1",
            ],
        ] {
            let out = repo.tool(args);
            out.assert_code(1);
            assert!(!out.stderr.contains("panicked"), "{out}");
            if args[0] == "--json" {
                let v = out.json();
                assert_eq!(v["ok"], false);
                assert!(v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("metrics.json"));
            } else {
                let lines: Vec<&str> = out.stderr.lines().collect();
                assert_eq!(lines.len(), 1, "{out}");
                assert!(lines[0].starts_with("error: "), "{out}");
                assert!(lines[0].contains("metrics.json"), "names the file\n{out}");
            }
            assert_eq!(repo.read(METRICS), corrupt, "the corrupt file was changed");
            assert_same_state(&before, &repo.capture());
        }
    }
}

#[test]
fn bad_record_arguments_are_usage_errors_and_write_nothing() {
    let repo = TestRepo::with_commits();
    let cases: &[&[&str]] = &[
        &["--severity", "urgent", "--cause", "c", "--minutes", "1"],
        &["--severity", "P4", "--cause", "c", "--minutes", "1"],
        &["--severity", "high", "--cause", "c", "--minutes", "soon"],
        &["--severity", "high", "--cause", "c", "--minutes", "NaN"],
        &["--severity", "high", "--cause", "c", "--minutes", "inf"],
        &["--severity", "high", "--cause", "", "--minutes", "1"],
        &[
            "--severity",
            "high",
            "--cause",
            "c",
            "--minutes",
            "1",
            "--sprint",
            "three",
        ],
    ];
    for with_file in [false, true] {
        if with_file {
            repo.write(METRICS, TEAM_FILE);
        }
        for args in cases {
            let before = repo.capture();
            let mut all = vec!["metrics", "record"];
            all.extend_from_slice(args);
            let out = repo.tool(&all);
            out.assert_code(2);
            assert!(!out.stderr.contains("panicked"), "{out}");
            assert_same_state(&before, &repo.capture());
        }
        if with_file {
            assert_eq!(repo.read_string(METRICS), TEAM_FILE);
        } else {
            assert!(!repo.exists("rollbacks"));
        }
    }
}

#[test]
fn reports_dir_comes_from_git_config_and_the_work_tree_root() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.reportsDir", "ops/rollback-reports"]);
    // Run from a subdirectory: the path is relative to the work tree root.
    let out = repo.tool_in(
        &repo.abs("src"),
        &[
            "metrics",
            "record",
            "--sprint",
            "2",
            "--severity",
            "critical",
            "--cause",
            "db",
            "--minutes",
            "4",
        ],
    );
    out.assert_ok();
    assert!(!repo.exists("rollbacks"));
    assert!(!repo.exists("src/ops"));
    let doc = read_json(&repo, "ops/rollback-reports/metrics.json");
    assert_eq!(doc["rollbacks"][0]["cause"], "db");
    let v = repo.tool_ok(&["--json", "metrics"]).json();
    assert_eq!(v["statistics"]["total_rollbacks"], 1);
}

#[test]
fn record_dry_run_writes_nothing() {
    let repo = TestRepo::with_commits();
    repo.write(METRICS, TEAM_FILE);
    let before = repo.capture();
    let out = repo.tool(&[
        "-n",
        "metrics",
        "record",
        "--severity",
        "high",
        "--cause",
        "c",
        "--minutes",
        "1",
    ]);
    out.assert_ok();
    assert_same_state(&before, &repo.capture());
    assert_eq!(repo.read_string(METRICS), TEAM_FILE);
}
