//! Tests of `test`, the last green state, `last-green` and the rollback
//! triggers (README: `test`, the last green state, and triggers).
//!
//! Every change is checked against the whole-repository capture: the
//! state before, the command, `undo`, the same state again.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::lingering::{ends, lingering, started};
use crate::common::pty::Pty;
use crate::common::{
    assert_nothing_changed, assert_same_except_reports, assert_same_state, everything, TestRepo,
};

/// A repository whose tests pass while `broken` does not exist.
fn repo_with_tests() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", "test ! -e broken"]);
    repo
}

/// Uncommitted work of every kind the green state keeps: a staged change,
/// a change on top of it, an unstaged change and an untracked file.
fn dirty(repo: &TestRepo) {
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    b + a\n}\n",
    );
    repo.git(&["add", "src/lib.rs"]);
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // v3\n}\n",
    );
    repo.write("docs/guide.md", "# Guide\n\nStep one, edited.\n");
    repo.write("notes/idea.txt", "an untracked idea\n");
}

fn test_json(repo: &TestRepo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json", "test"];
    args.extend_from_slice(extra);
    let out = repo.tool(&args);
    (out.code, out.json())
}

/// The green states' keep-reflog lines.
fn green_entries(repo: &TestRepo) -> Vec<String> {
    let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    let log = Path::new(common.trim()).join("logs/refs/rollback/green/main");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn status_json(repo: &TestRepo) -> Value {
    repo.tool_ok(&["--json", "status"]).json()
}

/// `git status --porcelain` with the reports folder left out.
fn porcelain(repo: &TestRepo) -> String {
    repo.git(&["status", "--porcelain", "--untracked-files=all"])
        .lines()
        .filter(|l| !l[3..].starts_with("rollbacks/"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_passing_run_becomes_the_last_green_state_kept_out_of_history_and_alive_through_gc() {
    let repo = repo_with_tests();
    dirty(&repo);
    let head = repo.head();
    let (code, v) = test_json(&repo, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["passed"], true);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["new_green_state"], true);
    assert_eq!(v["failures_since_green"], 0);
    assert_eq!(v["last_green"]["commit"], head.as_str());
    let snapshot = v["last_green"]["snapshot"]
        .as_str()
        .expect("a snapshot id")
        .to_string();
    // The snapshot holds the work tree (untracked file included), its
    // second parent the index.
    assert_eq!(
        repo.git(&["show", &format!("{snapshot}:notes/idea.txt")]),
        "an untracked idea"
    );
    assert!(repo
        .git(&["show", &format!("{snapshot}:src/lib.rs")])
        .contains("// v3"));
    assert!(repo
        .git(&["show", &format!("{snapshot}^2:src/lib.rs")])
        .contains("b + a"));
    assert_eq!(repo.rev(&format!("{snapshot}^1")), head);
    // Not in history views, and kept through gc.
    let all = repo.git(&["log", "--all", "--format=%H"]);
    assert!(!all.contains(&snapshot), "git log --all shows {snapshot}");
    repo.git(&["gc", "-q", "--prune=now"]);
    repo.git(&["cat-file", "-e", &snapshot]);
    assert_eq!(green_entries(&repo).len(), 1);
    let s = status_json(&repo);
    assert_eq!(s["last_green"]["commit"], head.as_str());
    assert_eq!(s["failures_since_green"], 0);
    let human = repo.tool_ok(&["status"]).stdout;
    assert!(
        human.contains("last green:  2026-") && human.contains(&head[..8]),
        "{human}"
    );
    // Nothing the user sees changed.
    assert!(porcelain(&repo).contains("?? notes/idea.txt"));
}

#[test]
fn a_pass_on_an_unchanged_tree_reuses_the_green_state() {
    let repo = repo_with_tests();
    dirty(&repo);
    let (_, first) = test_json(&repo, &[]);
    let (code, again) = test_json(&repo, &[]);
    assert_eq!(code, 0);
    assert_eq!(again["new_green_state"], false);
    assert_eq!(
        again["last_green"]["snapshot"],
        first["last_green"]["snapshot"]
    );
    assert_eq!(green_entries(&repo).len(), 1);
    // A change makes a new one.
    repo.write("notes/idea.txt", "a better idea\n");
    let (_, third) = test_json(&repo, &[]);
    assert_eq!(third["new_green_state"], true);
    assert_ne!(
        third["last_green"]["snapshot"],
        first["last_green"]["snapshot"]
    );
    assert_eq!(green_entries(&repo).len(), 2);
}

#[test]
fn the_exit_code_is_passed_through_and_failures_are_counted_since_the_last_pass() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", "echo failing; exit 7"]);
    let out = repo.tool(&["test"]);
    out.assert_code(7);
    assert!(
        out.stdout.contains("failing"),
        "the output is streamed: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("failed with exit code 7"),
        "{}",
        out.stdout
    );
    let s = status_json(&repo);
    assert_eq!(s["last_green"], Value::Null);
    assert_eq!(s["failures_since_green"], 1);
    let (code, v) = test_json(&repo, &[]);
    assert_eq!(code, 7);
    assert_eq!(v["ok"], false);
    assert_eq!(v["failures_since_green"], 2);
    repo.git(&["config", "rollback.testCommand", "true"]);
    repo.tool_ok(&["test"]);
    assert_eq!(status_json(&repo)["failures_since_green"], 0);
}

#[test]
fn arguments_after_the_double_dash_are_appended_shell_quoted() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", "printf '<%s>'"]);
    let out = repo.tool(&["test", "--", "a b", "$HOME", "it's", "-k"]);
    out.assert_ok();
    assert!(
        out.stdout.starts_with("<a b><$HOME><it's><-k>"),
        "{}",
        out.stdout
    );
    let runs = std::fs::read_to_string(repo.git_dir().join("rollback/tests.jsonl"))
        .expect("the run is remembered");
    let run: Value = serde_json::from_str(runs.lines().next().unwrap_or_default()).expect("JSON");
    assert_eq!(run["command"], "printf '<%s>' 'a b' '$HOME' \"it's\" -k");
    assert_eq!(run["passed"], true);
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["head"], repo.head().as_str());
}

#[test]
fn a_dry_run_runs_nothing_and_changes_nothing() {
    let repo = repo_with_tests();
    repo.git(&["config", "rollback.testCommand", "touch ran"]);
    let before = everything(&repo);
    let out = repo.tool_ok(&["--dry-run", "test"]);
    assert!(out.stdout.contains("Would:"), "{}", out.stdout);
    assert!(out.stdout.contains("touch ran"), "{}", out.stdout);
    let v = repo.tool_ok(&["--json", "--dry-run", "test"]).json();
    assert_eq!(v["dry_run"], true);
    assert!(v["plan"].as_array().is_some_and(|p| p.len() == 2), "{v}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn no_test_command_is_a_one_line_error_and_changes_nothing() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("one");
    let before = everything(&repo);
    let out = repo.tool(&["test"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("no test command"), "{}", out.stderr);
    assert_nothing_changed(&repo, &before);
}

#[test]
fn last_green_before_any_green_run_is_a_clear_error_everywhere() {
    let repo = repo_with_tests();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD~1"]);
    repo.write("broken", "x\n");
    repo.tool(&["test"]).assert_code(1);
    let before = everything(&repo);
    for args in [
        &["emergency", "--to", "last-green"][..],
        &["files", "--from", "last-green", "src/lib.rs"],
        &["recover", "--onto", "last-green", "--all", "main"],
    ] {
        let out = repo.tool(args);
        out.assert_code(1);
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("no green test run yet")
                && err.contains("run `git rollback-sprint test` when the tests pass"),
            "{args:?}: {err}"
        );
    }
    assert_nothing_changed(&repo, &before);
}

#[test]
fn emergency_to_last_green_restores_the_green_work_tree_index_and_head_and_undo_is_exact() {
    let repo = repo_with_tests();
    dirty(&repo);
    let green_head = repo.head();
    let (_, v) = test_json(&repo, &[]);
    let snapshot = v["last_green"]["snapshot"]
        .as_str()
        .expect("snapshot")
        .to_string();
    let green_status = porcelain(&repo);
    let green_index = repo.git(&["write-tree"]);
    // Work after the green run: a commit, more changes, a new file.
    repo.commit_all("half-done");
    repo.write("src/main.rs", "fn main() { broken }\n");
    repo.write("later.txt", "after the green run\n");
    repo.git(&["add", "later.txt"]);
    repo.write("scratch.txt", "untracked later\n");
    let before = repo.capture();
    let out = repo.tool(&["--json", "emergency", "--to", "last-green"]);
    out.assert_ok();
    let e = out.json();
    assert_eq!(e["target"], green_head.as_str());
    assert_eq!(e["target_name"], "the last green state");
    // HEAD, the index and the work tree are the green ones.
    assert_eq!(repo.head(), green_head);
    assert_eq!(repo.git(&["write-tree"]), green_index);
    assert_eq!(porcelain(&repo), green_status);
    assert_eq!(repo.read_string("notes/idea.txt"), "an untracked idea\n");
    assert!(repo.read_string("src/lib.rs").contains("// v3"));
    assert!(!repo.exists("later.txt") && !repo.exists("scratch.txt"));
    // git agrees: the index is the snapshot's index, the tracked files
    // are the snapshot's files (stat data included: no stale entry).
    repo.git(&["diff", "--quiet", "--cached", &format!("{snapshot}^2")]);
    repo.git(&["diff", "--quiet", &snapshot, "--", "src", "docs"]);
    assert_eq!(
        repo.git(&["diff", "--name-only"]),
        repo.git(&[
            "diff",
            "--name-only",
            &format!("{snapshot}^2"),
            &snapshot,
            "--",
            "src",
            "docs"
        ])
    );
    // Everything after it is in the stash and on the backup branch.
    let stash = repo.git(&["stash", "list"]);
    assert!(stash.contains("EMERGENCY"), "{stash}");
    assert!(e["backup_branch"]
        .as_str()
        .is_some_and(|b| b.starts_with("backup/emergency-")));
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn files_from_last_green_takes_the_files_of_the_green_work_tree() {
    let repo = repo_with_tests();
    dirty(&repo);
    repo.tool_ok(&["test"]);
    repo.commit_all("more");
    repo.write("src/lib.rs", "broken\n");
    repo.write("docs/guide.md", "broken too\n");
    let before = repo.capture();
    repo.tool_ok(&[
        "files",
        "--from",
        "last-green",
        "src/lib.rs",
        "notes/idea.txt",
    ]);
    assert!(repo.read_string("src/lib.rs").contains("// v3"));
    assert_eq!(repo.read_string("notes/idea.txt"), "an untracked idea\n");
    assert_eq!(repo.read_string("docs/guide.md"), "broken too\n");
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn recover_onto_last_green_uses_the_green_head_commit() {
    let repo = repo_with_tests();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-1"]);
    repo.write("src/good.rs", "pub fn good() {}\n");
    repo.commit_all("good");
    repo.tool_ok(&["test"]);
    let green_head = repo.head();
    repo.write("src/more.rs", "pub fn more() {}\n");
    let more = repo.commit_all("more");
    repo.git(&["checkout", "-q", "-b", "retry", "baseline"]);
    let before = repo.capture();
    let out = repo.tool(&[
        "--json",
        "recover",
        "--onto",
        "last-green",
        "--pick",
        &more,
        "refactor/sprint-1",
    ]);
    out.assert_ok();
    let v = out.json();
    let branch = v["branch"].as_str().expect("a recovery branch").to_string();
    assert_eq!(repo.rev(&format!("{branch}~1")), green_head);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

/// Three failing runs since the last green state: the recommendation and
/// the exact command; two are not enough; 0 turns it off.
#[test]
fn the_trigger_suggests_the_way_back_after_the_configured_failures() {
    let repo = repo_with_tests();
    repo.tool_ok(&["test"]);
    repo.write("broken", "x\n");
    for _ in 0..2 {
        let out = repo.tool(&["test"]);
        out.assert_code(1);
        assert!(!out.stdout.contains("Rollback trigger"), "{}", out.stdout);
    }
    let before = everything(&repo);
    let out = repo.tool(&["test"]);
    out.assert_code(1);
    assert!(
        out.stdout
            .contains("Rollback trigger: the tests failed 3 times in a row")
            && out.stdout.contains(
                "git rollback-sprint emergency --to last-green --reason \"tests failing\""
            ),
        "{}",
        out.stdout
    );
    // `suggest` changes nothing but the record of runs.
    let after = repo.capture();
    assert_same_state(&before.0, &after);
    let (_, v) = test_json(&repo, &[]);
    assert_eq!(v["trigger"]["failures"], 4);
    assert_eq!(v["trigger"]["action"], "suggest");
    repo.git(&["config", "rollback.trigger.failures", "0"]);
    let (_, v) = test_json(&repo, &[]);
    assert_eq!(v["trigger"], Value::Null);
    repo.git(&["config", "rollback.trigger.failures", "1"]);
    let (_, v) = test_json(&repo, &[]);
    assert_eq!(v["trigger"]["failures"], 6);
}

#[test]
fn bad_trigger_settings_are_one_line_errors_that_change_nothing() {
    let repo = repo_with_tests();
    for (key, value, hint) in [
        ("rollback.trigger.failures", "three", "whole number"),
        ("rollback.trigger.failures", "-1", "whole number"),
        (
            "rollback.trigger.action",
            "panic",
            "suggest (the default), checkpoint or emergency",
        ),
    ] {
        repo.git(&["config", key, value]);
        let before = everything(&repo);
        let out = repo.tool(&["test"]);
        out.assert_code(1);
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(key) && err.contains(hint), "{err}");
        assert_nothing_changed(&repo, &before);
        repo.git(&["config", "--unset", key]);
    }
}

#[test]
fn the_checkpoint_trigger_takes_a_wip_checkpoint_that_undo_removes() {
    let repo = repo_with_tests();
    repo.git(&["config", "rollback.trigger.failures", "2"]);
    repo.git(&["config", "rollback.trigger.action", "checkpoint"]);
    repo.tool_ok(&["test"]);
    repo.write("broken", "x\n");
    repo.write("src/lib.rs", "work in progress\n");
    repo.tool(&["test"]).assert_code(1);
    assert_eq!(repo.git(&["tag", "-l", "checkpoint-*"]), "");
    let before = repo.capture();
    let (code, v) = test_json(&repo, &[]);
    assert_eq!(code, 1);
    let tag = v["trigger"]["checkpoint"]
        .as_str()
        .expect("a checkpoint")
        .to_string();
    assert!(tag.starts_with("checkpoint-"), "{tag}");
    assert_eq!(
        repo.git(&["show", &format!("{tag}:src/lib.rs")]),
        "work in progress"
    );
    // Once a streak: the next failing run takes none.
    let (_, v) = test_json(&repo, &[]);
    assert_eq!(v["trigger"]["checkpoint"], Value::Null);
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn the_emergency_trigger_rolls_back_to_the_last_green_state_and_undo_is_exact() {
    let repo = repo_with_tests();
    repo.git(&["config", "rollback.trigger.failures", "2"]);
    repo.git(&["config", "rollback.trigger.action", "emergency"]);
    dirty(&repo);
    repo.tool_ok(&["test"]);
    let green_status = porcelain(&repo);
    let green_head = repo.head();
    repo.commit_all("later");
    repo.write("broken", "x\n");
    repo.tool(&["test"]).assert_code(1);
    let before = repo.capture();
    let out = repo.tool(&["test"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("Rolled back to the last green state"),
        "{}",
        out.stdout
    );
    assert_eq!(repo.head(), green_head);
    assert_eq!(porcelain(&repo), green_status);
    assert!(!repo.exists("broken"));
    let (_, v) = test_json(&repo, &[]);
    assert_eq!(v["passed"], true, "back at green, the tests pass: {v}");
    let undo_target = repo.tool_ok(&["--json", "log"]).json();
    assert!(
        undo_target.to_string().contains("emergency"),
        "{undo_target}"
    );
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn log_prune_releases_older_green_states_but_never_the_last() {
    let repo = repo_with_tests();
    for n in 0..3 {
        repo.write("notes.txt", format!("version {n}\n"));
        repo.tool_ok(&["test"]);
    }
    assert_eq!(green_entries(&repo).len(), 3);
    let last = status_json(&repo)["last_green"]["snapshot"].clone();
    let before = everything(&repo);
    let out = repo.tool_ok(&["--dry-run", "log", "prune", "--keep", "0"]);
    assert!(
        out.stdout.contains("Would release 2 older green states"),
        "{}",
        out.stdout
    );
    assert_nothing_changed(&repo, &before);
    let out = repo.tool_ok(&["log", "prune", "--keep", "0"]);
    assert!(
        out.stdout.contains("Released 2 older green states"),
        "{}",
        out.stdout
    );
    assert_eq!(green_entries(&repo).len(), 1);
    assert!(green_entries(&repo)[0].contains(last.as_str().unwrap_or("-")));
    assert_eq!(status_json(&repo)["last_green"]["snapshot"], last);
    // The last green state still works.
    repo.write("notes.txt", "broken\n");
    repo.tool_ok(&["emergency", "--to", "last-green"]);
    assert_eq!(repo.read_string("notes.txt"), "version 2\n");
}

/// A real test runner: `python3 -m unittest` in a small project, passing
/// and then failing.
#[test]
fn a_python_unittest_project_passes_then_fails() {
    let repo = TestRepo::new();
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        crate::common::skip("python3 is not installed", false);
        return;
    }
    repo.write(".gitignore", "__pycache__/\n");
    repo.write("calc.py", "def add(a, b):\n    return a + b\n");
    repo.write(
        "test_calc.py",
        "import unittest\n\nimport calc\n\n\nclass TestCalc(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(2, 3), 5)\n\n\nif __name__ == '__main__':\n    unittest.main()\n",
    );
    repo.commit_all("calculator");
    repo.git(&["config", "rollback.testCommand", "python3 -m unittest"]);
    let out = repo.tool(&["test", "--", "-v"]);
    out.assert_ok();
    assert!(
        out.stderr.contains("test_add") && out.stderr.contains("OK"),
        "unittest's own output is streamed: {}",
        out.stderr
    );
    let green_head = repo.head();
    repo.write("calc.py", "def add(a, b):\n    return a - b\n");
    let out = repo.tool(&["test"]);
    out.assert_code(1);
    assert!(out.stderr.contains("FAILED (failures=1)"), "{}", out.stderr);
    let s = status_json(&repo);
    assert_eq!(s["last_green"]["commit"], green_head.as_str());
    assert_eq!(s["failures_since_green"], 1);
    // Back to green, and the tests pass again.
    repo.tool_ok(&["emergency", "--to", "last-green"]);
    repo.tool_ok(&["test"]);
}

/// SIGTERM while `test` runs: the same as Ctrl-C.
#[test]
fn sigterm_during_test_ends_the_tests_process_group_and_records_nothing() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let pids = scratch.path().join("pids");
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", &lingering(&pids)]);
    let before = repo.capture();
    let tool = repo
        .tool_command(&["test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the tool starts");
    let group = started(&pids);
    let pid = rustix::process::Pid::from_raw(tool.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("the signal is sent");
    let out = tool.wait_with_output().expect("the tool ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error: interrupted by SIGTERM")),
        "{stderr}"
    );
    for p in &group {
        assert!(ends(*p), "process {p} of the tests still runs");
    }
    assert!(!repo.git_dir().join("rollback/tests.jsonl").exists());
    assert_same_state(&before, &repo.capture());
}

/// Ctrl-C on the terminal while `test` runs: the tests' whole process
/// group ends (a child in the background too), the tool ends with exit 3
/// in one line, and nothing is remembered.
#[test]
fn ctrl_c_during_test_ends_the_tests_process_group_and_records_nothing() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let pids = scratch.path().join("pids");
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", &lingering(&pids)]);
    let before = repo.capture();
    let mut pty = Pty::spawn(&repo, &["test"]);
    let group = started(&pids);
    pty.send("\x03");
    let code = pty.wait(Duration::from_secs(60));
    assert_eq!(code, 3, "{}", pty.transcript());
    assert!(
        pty.output().contains("error: interrupted by Ctrl-C"),
        "{}",
        pty.transcript()
    );
    for p in &group {
        assert!(ends(*p), "process {p} of the tests still runs");
    }
    assert!(!repo.git_dir().join("rollback/tests.jsonl").exists());
    assert_same_state(&before, &repo.capture());
}

/// TAB after `emergency --to`, `files --from` or `recover --onto` offers
/// `last-green` once a test run passed, before the branches and tags.
#[test]
fn completion_offers_last_green_once_the_tests_passed() {
    let repo = repo_with_tests();
    let targets = |repo: &TestRepo| -> Vec<String> {
        let out = repo.tool_ok(&["__complete", "targets"]);
        out.stdout.lines().map(str::to_string).collect()
    };
    assert!(!targets(&repo).iter().any(|t| t == "last-green"));
    assert!(targets(&repo).iter().any(|t| t == "main"));
    repo.tool_ok(&["test"]);
    assert_eq!(
        targets(&repo).first().map(String::as_str),
        Some("last-green")
    );
    let revisions = repo.tool_ok(&["__complete", "revisions"]).stdout;
    assert!(!revisions.contains("last-green"), "{revisions}");
}

/// `rollback.keepDays` releases the green states older than it, with the
/// operations, and keeps the last one however old.
#[test]
fn keep_days_releases_old_green_states_but_not_the_last() {
    let repo = repo_with_tests();
    repo.set_now("2026-01-01T10:00:00+00:00");
    repo.write("notes.txt", "one\n");
    repo.tool_ok(&["test"]);
    repo.set_now("2026-01-02T10:00:00+00:00");
    repo.write("notes.txt", "two\n");
    repo.tool_ok(&["test"]);
    assert_eq!(green_entries(&repo).len(), 2);
    // 120 days later: both are older than 90 days; the last one stays.
    repo.set_now("2026-05-02T10:00:00+00:00");
    repo.write("broken", "x\n");
    repo.tool(&["test"]).assert_code(1);
    assert_eq!(green_entries(&repo).len(), 1);
    let s = status_json(&repo);
    assert_eq!(s["last_green"]["time"], "2026-01-02T10:00:00+00:00");
    assert_eq!(s["failures_since_green"], 1);
    repo.remove("broken");
    repo.tool_ok(&["emergency", "--to", "last-green"]);
    assert_eq!(repo.read_string("notes.txt"), "two\n");
}

/// At the last green state already, with nothing uncommitted: nothing to
/// do, nothing recorded (docs/invariants.md, I11).
#[test]
fn emergency_to_last_green_at_the_green_state_changes_nothing() {
    let repo = repo_with_tests();
    repo.tool_ok(&["test"]);
    let before = everything(&repo);
    let out = repo.tool_ok(&["emergency", "--to", "last-green"]);
    assert!(out.stdout.contains("Nothing to do"), "{}", out.stdout);
    assert_nothing_changed(&repo, &before);
}

/// A run that outlasts `rollback.testTimeout` is stopped and counts as a
/// failure.
#[test]
fn a_run_that_times_out_is_stopped_and_fails() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", "sleep 30"]);
    repo.git(&["config", "rollback.testTimeout", "1"]);
    let (code, v) = test_json(&repo, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["timed_out"], true);
    assert_eq!(v["passed"], false);
    assert_eq!(v["exit_code"], Value::Null);
    assert_eq!(status_json(&repo)["failures_since_green"], 1);
}

/// Whether the run's trace says the state came from the scan cache.
fn from_cache(out: &crate::common::ToolOutput) -> bool {
    out.stderr.contains("test: unchanged since the cached scan")
}

fn traced_test(repo: &TestRepo) -> crate::common::ToolOutput {
    repo.tool_with_env(&["--json", "test"], &[("GIT_ROLLBACK_SPRINT_TRACE", "1")])
}

/// Remove the scan cache: the next run scans the whole tree.
fn forget_scan_cache(repo: &TestRepo) {
    let cache = repo.git_dir().join("rollback/scan-cache");
    std::fs::remove_file(&cache).expect("a scan cache was written");
}

/// Set `rel`'s modification time back to what it was (content changed,
/// size and mtime as before: only the ctime tells).
fn restore_mtime(repo: &TestRepo, rel: &str, mtime: (i64, i64)) {
    let stamp = format!("@{}.{:09}", mtime.0, mtime.1);
    let status = std::process::Command::new("touch")
        .args(["-h", "-m", "-d", &stamp])
        .arg(repo.abs(rel))
        .status()
        .expect("touch runs");
    assert!(status.success());
}

#[test]
fn an_unchanged_tree_is_known_from_the_scan_cache_and_every_change_is_seen() {
    use std::os::unix::fs::MetadataExt;
    let repo = repo_with_tests();
    dirty(&repo);
    repo.write(".gitignore", "*.log\ntarget/\n.env\n*.o\nbuild/\n");
    // A folder holding only ignored files: a scan does not list it, and a
    // new file in it must still be seen.
    repo.write("gen/part.o", "object\n");
    repo.write("build/out.bin", "ignored bulk\n");
    type Change = Box<dyn Fn(&TestRepo)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "same size and mtime, other bytes",
            Box::new(|r: &TestRepo| {
                let m = std::fs::symlink_metadata(r.abs("docs/guide.md")).expect("a file");
                let before = (m.mtime(), m.mtime_nsec());
                let old = r.read("docs/guide.md");
                let mut new = old.clone();
                new[0] = b'!';
                r.write("docs/guide.md", new);
                restore_mtime(r, "docs/guide.md", before);
            }),
        ),
        (
            "a new untracked file",
            Box::new(|r| r.write("notes/more.txt", "more\n")),
        ),
        (
            "a new folder",
            Box::new(|r| r.write("fresh/dir/file.txt", "fresh\n")),
        ),
        (
            "a file in a folder of ignored files",
            Box::new(|r| r.write("gen/source.c", "int x;\n")),
        ),
        (
            "a deleted tracked file",
            Box::new(|r| r.remove("README.md")),
        ),
        (
            "a deleted untracked file",
            Box::new(|r| r.remove("notes/idea.txt")),
        ),
        (
            "an executable bit",
            Box::new(|r| r.chmod("src/lib.rs", 0o755)),
        ),
        (
            "a file made a symlink",
            Box::new(|r| {
                r.remove("docs/guide.md");
                r.symlink("docs/guide.md", "../src/lib.rs");
            }),
        ),
        (
            "a staged change",
            Box::new(|r| {
                r.git(&["add", "-A", "src"]);
            }),
        ),
        (
            "a commit",
            Box::new(|r| {
                r.git(&["commit", "-q", "-m", "more"]);
            }),
        ),
        (
            "an ignore rule of .git/info/exclude",
            Box::new(|r| {
                std::fs::write(r.git_dir().join("info/exclude"), "").expect("write exclude");
            }),
        ),
    ];
    std::fs::create_dir_all(repo.git_dir().join("info")).expect("info folder");
    // Ignored by .git/info/exclude until the rule goes.
    repo.write("scratch.tmp", "scratch\n");
    std::fs::write(repo.git_dir().join("info/exclude"), "*.tmp\n").expect("write exclude");
    for (what, change) in changes {
        // A cache stamped well after the last change is used as it is.
        std::thread::sleep(Duration::from_millis(30));
        traced_test(&repo);
        let cached = traced_test(&repo);
        assert!(from_cache(&cached), "before {what}: {}", cached.stderr);
        assert_eq!(cached.json()["new_green_state"], false, "before {what}");
        let green = cached.json()["last_green"]["snapshot"].clone();

        change(&repo);
        let after = traced_test(&repo);
        assert!(
            !from_cache(&after),
            "{what}: the cache was used:\n{}",
            after.stderr
        );
        let v = after.json();
        assert_eq!(v["new_green_state"], true, "{what}: {v}");
        assert_ne!(v["last_green"]["snapshot"], green, "{what}");
        // What the cache then holds is what a scan of the whole tree finds.
        std::thread::sleep(Duration::from_millis(30));
        traced_test(&repo);
        forget_scan_cache(&repo);
        let scanned = traced_test(&repo);
        assert!(!from_cache(&scanned));
        assert_eq!(scanned.json()["new_green_state"], false, "{what}");
        assert_eq!(scanned.json()["last_green"], v["last_green"], "{what}");
    }
}

#[test]
fn a_tree_the_tests_change_is_scanned_again_each_run() {
    let repo = TestRepo::with_commits();
    // The tests write a tracked file while they run, before or after the
    // cache is stamped: the state scanned before them is the one tested,
    // and the next run scans again either way.
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo run >> docs/guide.md",
    ]);
    let first = traced_test(&repo);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = traced_test(&repo);
    assert!(!from_cache(&second), "{}", second.stderr);
    assert_eq!(second.json()["new_green_state"], true);
    // The green state is the tree before this run's write: one line.
    let snapshot = second.json()["last_green"]["snapshot"]
        .as_str()
        .expect("a snapshot")
        .to_string();
    let guide = repo.git(&["show", &format!("{snapshot}:docs/guide.md")]);
    assert_eq!(guide.matches("run").count(), 1, "{guide}");
}

#[test]
fn a_tracked_file_touched_without_a_change_costs_a_scan_never_a_wrong_state() {
    let repo = repo_with_tests();
    let green = cached_with_stamps_from_the_index(&repo);

    // Same bytes, new times: the index's stat data no longer describes
    // the file (libgit2's status compares the bytes and keeps it).
    restore_mtime(&repo, "README.md", (1_600_000_100, 0));
    let after = traced_test(&repo);
    assert!(!from_cache(&after), "{}", after.stderr);
    assert_eq!(after.json()["new_green_state"], false);
    assert_eq!(after.json()["last_green"], green);
    // The cache stamps the file from the index, whose stat data is stale
    // until git refreshes it: each run scans again meanwhile.
    std::thread::sleep(Duration::from_millis(30));
    let again = traced_test(&repo);
    assert!(!from_cache(&again), "{}", again.stderr);
    assert_eq!(again.json()["last_green"], green);

    // git's status refreshes the index's stat data: the cache holds again
    // once a run has stamped the tree.
    repo.git(&["status", "--porcelain"]);
    std::thread::sleep(Duration::from_millis(30));
    let scanned = traced_test(&repo);
    assert!(!from_cache(&scanned), "{}", scanned.stderr);
    std::thread::sleep(Duration::from_millis(30));
    let cached = traced_test(&repo);
    assert!(from_cache(&cached), "{}\n{}", scanned.stderr, cached.stderr);
    assert_eq!(cached.json()["last_green"], green);
}

#[test]
fn a_change_to_a_file_stamped_from_the_index_is_seen() {
    use std::os::unix::fs::MetadataExt;
    let repo = repo_with_tests();
    // The cache does not write those stamps down again: it reads them
    // from the index.
    let green = cached_with_stamps_from_the_index(&repo)["snapshot"].clone();

    // Other bytes of the same size, the mtime put back: only the ctime
    // tells, against the index's stat data.
    let m = std::fs::symlink_metadata(repo.abs("README.md")).expect("a file");
    let before = (m.mtime(), m.mtime_nsec());
    let mut bytes = repo.read("README.md");
    bytes[0] = b'!';
    repo.write("README.md", bytes);
    restore_mtime(&repo, "README.md", before);
    let after = traced_test(&repo);
    assert!(!from_cache(&after), "{}", after.stderr);
    let v = after.json();
    assert_eq!(v["new_green_state"], true, "{v}");
    assert_ne!(v["last_green"]["snapshot"], green);
    let snapshot = v["last_green"]["snapshot"].as_str().expect("a snapshot");
    assert_eq!(
        repo.git(&["show", &format!("{snapshot}:README.md")])
            .as_bytes()[0],
        b'!'
    );
}

/// Dirty `repo` with every kind of work, with files modified long before
/// the index was written: its stat data is not racy, so the scan cache
/// stamps the clean tracked files from it. Runs the tests until the cache
/// holds; returns the last green state.
fn cached_with_stamps_from_the_index(repo: &TestRepo) -> Value {
    dirty(repo);
    set_mtimes(repo, "@1600000000");
    repo.git(&["update-index", "-q", "--refresh"]);
    std::thread::sleep(Duration::from_millis(30));
    let first = traced_test(repo);
    assert_eq!(first.code, 0, "{}", first.stderr);
    std::thread::sleep(Duration::from_millis(30));
    assert!(from_cache(&traced_test(repo)), "an unchanged tree");
    first.json()["last_green"].clone()
}

/// Set the modification time of every tracked file (`touch -d` syntax).
fn set_mtimes(repo: &TestRepo, when: &str) {
    let files = repo.git(&["ls-files"]);
    for file in files.lines() {
        let status = std::process::Command::new("touch")
            .args(["-h", "-m", "-d", when])
            .arg(repo.abs(file))
            .status()
            .expect("touch runs");
        assert!(status.success());
    }
}
