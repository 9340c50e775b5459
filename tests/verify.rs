//! Verification after a rollback (`emergency --verify`, `sprint rollback
//! --verify`, `rollback.verify`) and what a rollback's recovery time
//! measures (`--since`).
//!
//! The pattern: a repository with a good baseline and a sprint that broke
//! it, a test command that reads the tree it runs on, the whole state
//! captured, the rollback with verification, its result in the output and
//! in `metrics.json`, then `undo` and the capture compared. The reports
//! folder (metrics and reports) survives undo by design (I8), so the
//! comparisons leave it out.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{
    assert_nothing_changed, assert_same_except_reports, everything, TestRepo, ToolOutput,
};

const SPRINT: &str = "refactor/sprint-3";
const RETRY: &str = "refactor/sprint-3-retry";

/// A file outside the repository where the test command counts its runs.
fn runs_file(repo: &TestRepo) -> PathBuf {
    repo.tmp_dir().join("verify-runs.txt")
}

fn runs(repo: &TestRepo) -> usize {
    std::fs::read_to_string(runs_file(repo))
        .unwrap_or_default()
        .lines()
        .count()
}

/// Passes on a tree whose `state.txt` says good, fails otherwise; counts
/// its runs.
fn tree_tests(repo: &TestRepo) -> String {
    format!(
        "echo run >> '{}'; if grep -q good state.txt; then echo '3 passed'; else echo 'test_state FAILED'; echo '1 passed, 2 failed'; exit 1; fi",
        runs_file(repo).display()
    )
}

/// Fails on every tree; counts its runs.
fn failing_tests(repo: &TestRepo) -> String {
    format!(
        "echo run >> '{}'; echo 'test_db FAILED: no database'; echo '2 passed, 1 failed'; exit 1",
        runs_file(repo).display()
    )
}

/// The baseline (tagged) has `state.txt` good; the sprint branch, one
/// commit later, has it bad; the work tree has uncommitted and untracked
/// work on top.
fn broken_sprint() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("state.txt", "good\n");
    repo.write("app.txt", "v1\n");
    repo.commit_all("good state");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    repo.write("state.txt", "bad\n");
    repo.write("app.txt", "v2\n");
    repo.commit_all("sprint: break the state");
    repo.write("app.txt", "v3, uncommitted\n");
    repo.write("notes.txt", "untracked\n");
    repo.git(&["config", "rollback.testCommand", &tree_tests(&repo)]);
    repo
}

fn metrics_entries(repo: &TestRepo) -> Vec<Value> {
    let doc: Value =
        serde_json::from_slice(&repo.read("rollbacks/metrics.json")).expect("metrics.json is JSON");
    doc["rollbacks"].as_array().expect("a list").clone()
}

fn last_entry(repo: &TestRepo) -> Value {
    metrics_entries(repo).pop().expect("a metrics entry")
}

#[track_caller]
fn json_of(out: &ToolOutput) -> Value {
    out.json()
}

/// One line on stderr, starting `error:`, with a hint; exit `code`.
#[track_caller]
fn assert_one_line_error(out: &ToolOutput, code: i32, needle: &str) {
    out.assert_code(code);
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line\n{out}");
    assert!(lines[0].starts_with("error:"), "{out}");
    assert!(lines[0].contains(" — "), "expected a hint\n{out}");
    assert!(lines[0].contains(needle), "expected {needle:?}\n{out}");
}

// ----- emergency --verify ------------------------------------------------------------

#[test]
fn emergency_verify_passes_records_verified_and_undo_is_exact() {
    let repo = broken_sprint();
    let before = repo.capture();
    let out = repo.tool(&["--json", "emergency", "--verify"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(v["verification"]["succeeded"], true, "{v}");
    assert_eq!(v["verification"]["cached"], false, "{v}");
    assert_eq!(v["verification"]["passed"], 3, "{v}");
    assert_eq!(
        v["verification"]["tree"].as_str(),
        Some(repo.rev("baseline^{tree}").as_str())
    );
    assert_eq!(runs(&repo), 1);
    // The rollback happened: the baseline's files are back.
    assert_eq!(repo.read_string("state.txt"), "good\n");
    let e = last_entry(&repo);
    assert_eq!(e["verified"], true, "{e}");
    assert_eq!(e["operation_id"], v["operation_id"]);

    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
    assert_eq!(last_entry(&repo)["undone"], true);
}

/// The tests run on the baseline's tree written out whole — nested
/// folders, an executable, a symlink, many files written on several
/// threads — and the folder is gone once the command's output has ended.
#[test]
fn the_tests_run_on_an_exact_export_that_is_removed_afterwards() {
    let repo = TestRepo::new();
    for d in 0..8 {
        for f in 0..40 {
            repo.write(
                format!("src/m{d}/f{f}.txt"),
                format!("module {d} file {f}\n"),
            );
        }
    }
    repo.write_exec("run.sh", "#!/bin/sh\necho ok\n");
    std::os::unix::fs::symlink("run.sh", repo.abs("run-link")).expect("symlink");
    repo.commit_all("good state");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    repo.write("src/m3/f7.txt", "broken\n");
    repo.commit_all("sprint: break a file");
    let listing = repo.tmp_dir().join("exported.txt");
    // What the test command saw: every file's path, kind and bytes.
    let command = format!(
        "find . -type f -o -type l | LC_ALL=C sort | while read -r p; do if [ -L \"$p\" ]; then echo \"$p -> $(readlink \"$p\")\"; else echo \"$p $(test -x \"$p\" && echo x) $(cksum < \"$p\")\"; fi; done > '{}'; echo '1 passed'",
        listing.display()
    );
    repo.git(&["config", "rollback.testCommand", &command]);
    let out = repo.tool(&["--json", "emergency", "--verify"]);
    out.assert_ok();
    assert_eq!(json_of(&out)["verification"]["succeeded"], true, "{out}");
    let seen = std::fs::read_to_string(&listing).expect("the test command ran");
    // The same listing made from a checkout of the baseline by git.
    let expected_dir = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new("git")
        .args([
            "--work-tree",
            &expected_dir.path().to_string_lossy(),
            "checkout",
            "baseline",
            "--",
            ".",
        ])
        .current_dir(repo.path())
        .env("GIT_INDEX_FILE", repo.tmp_dir().join("other-index"))
        .status()
        .expect("git checkout");
    assert!(status.success());
    let expected = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            command
                .replace(&listing.display().to_string(), "/dev/stdout")
                .replace("; echo '1 passed'", ""),
        )
        .current_dir(expected_dir.path())
        .output()
        .expect("the listing of git's checkout");
    assert_eq!(seen, String::from_utf8_lossy(&expected.stdout), "{out}");
    assert_eq!(seen.lines().count(), 322, "{seen}");
    let left: Vec<_> = std::fs::read_dir(repo.tmp_dir())
        .expect("the sandbox's TMPDIR")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("rollback-sprint-verify-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn emergency_verify_prints_the_result_after_the_rollback() {
    let repo = broken_sprint();
    let out = repo.tool(&["emergency", "--verify"]);
    out.assert_ok();
    let rolled = out
        .stdout
        .find("Rolled back:")
        .expect("the rollback's line");
    let verified = out
        .stdout
        .find("Verified:")
        .expect("the verification's line");
    assert!(rolled < verified, "{out}");
    assert!(
        out.stdout
            .contains("passed (3 passed, 0 failed) on the rolled-back tree"),
        "{out}"
    );
}

#[test]
fn emergency_verify_failing_keeps_the_rollback_warns_and_exits_4() {
    let repo = broken_sprint();
    repo.git(&["config", "rollback.testCommand", &failing_tests(&repo)]);
    let before = repo.capture();
    let out = repo.tool(&["--json", "emergency", "--verify"]);
    out.assert_code(4);
    let v = json_of(&out);
    assert_eq!(v["verification"]["succeeded"], false, "{v}");
    assert_eq!(v["verification"]["failed"], 1, "{v}");
    assert_eq!(v["verification"]["exit_code"], 1, "{v}");
    // Not undone: the rollback stands.
    assert_eq!(repo.read_string("state.txt"), "good\n");
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]).trim(),
        repo.rev("baseline^{commit}")
    );
    assert!(out.stderr.contains("warning:"), "{out}");
    assert_eq!(last_entry(&repo)["verified"], false);

    let human = broken_sprint();
    human.git(&["config", "rollback.testCommand", &failing_tests(&human)]);
    let out = human.tool(&["emergency", "--verify"]);
    out.assert_code(4);
    assert!(out.stdout.contains("Not verified:"), "{out}");
    assert!(out.stdout.contains("test_db FAILED: no database"), "{out}");
    assert!(out.stdout.contains("The rollback stays in place"), "{out}");
    assert!(out.stdout.contains("git rollback-sprint undo "), "{out}");

    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn emergency_verify_counts_a_cached_pass_for_the_same_tree() {
    let repo = broken_sprint();
    // `baseline verify` runs the same command on the same tree.
    repo.tool_ok(&["baseline", "verify"]);
    assert_eq!(runs(&repo), 1);
    let out = repo.tool(&["emergency", "--verify"]);
    out.assert_ok();
    assert_eq!(runs(&repo), 1, "a cached pass was run again");
    assert!(out.stdout.contains("(cached)"), "{out}");
    assert_eq!(last_entry(&repo)["verified"], true);
}

#[test]
fn a_cached_failure_is_run_again() {
    let repo = broken_sprint();
    repo.git(&["config", "rollback.testCommand", &failing_tests(&repo)]);
    repo.tool(&["baseline", "verify"]).assert_code(4);
    assert_eq!(runs(&repo), 1);
    repo.tool(&["emergency", "--verify"]).assert_code(4);
    assert_eq!(runs(&repo), 2, "only a cached pass counts");
}

#[test]
fn rollback_verify_in_git_config_turns_it_on_and_no_verify_off() {
    let repo = broken_sprint();
    repo.git(&["config", "rollback.verify", "true"]);
    let v = json_of(&repo.tool_ok(&["--json", "emergency"]));
    assert_eq!(v["verification"]["succeeded"], true, "{v}");
    assert_eq!(last_entry(&repo)["verified"], true);
    assert_eq!(runs(&repo), 1);
    repo.tool_ok(&["undo"]);

    let v = json_of(&repo.tool_ok(&["--json", "emergency", "--no-verify"]));
    assert!(v.get("verification").is_none(), "{v}");
    assert_eq!(last_entry(&repo)["verified"], false);
    assert_eq!(runs(&repo), 1);
}

#[test]
fn without_verify_nothing_runs_and_the_entry_says_not_verified() {
    let repo = broken_sprint();
    let v = json_of(&repo.tool_ok(&["--json", "emergency"]));
    assert!(v.get("verification").is_none(), "{v}");
    assert_eq!(runs(&repo), 0);
    assert_eq!(last_entry(&repo)["verified"], false);
}

#[test]
fn emergency_verify_dry_run_says_it_would_verify_and_runs_nothing() {
    let repo = broken_sprint();
    let before = everything(&repo);
    let out = repo.tool(&["--dry-run", "emergency", "--verify"]);
    out.assert_ok();
    assert!(out.stdout.contains("verify the rolled-back tree"), "{out}");
    assert_eq!(runs(&repo), 0, "a dry run ran the tests");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn verify_without_a_test_command_is_refused_before_anything_changes() {
    let repo = broken_sprint();
    repo.git(&["config", "--unset", "rollback.testCommand"]);
    let before = everything(&repo);
    let out = repo.tool(&["emergency", "--verify"]);
    assert_one_line_error(&out, 2, "--verify needs a test command");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn the_config_default_without_a_test_command_rolls_back_and_warns() {
    let repo = broken_sprint();
    repo.git(&["config", "--unset", "rollback.testCommand"]);
    repo.git(&["config", "rollback.verify", "true"]);
    let out = repo.tool(&["emergency"]);
    out.assert_ok();
    assert!(out.stderr.contains("will not be verified"), "{out}");
    assert_eq!(repo.read_string("state.txt"), "good\n");
    assert_eq!(last_entry(&repo)["verified"], false);
}

/// A real test runner on a real project: `python3 -m unittest`, which
/// needs nothing installed.
#[test]
fn emergency_verify_with_python_unittest() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::common::skip("python3 is not installed", false);
        return;
    }
    let repo = TestRepo::new();
    repo.write("calc.py", "def add(a, b):\n    return a + b\n");
    repo.write(
        "test_calc.py",
        "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_small(self):\n        self.assertEqual(add(1, 2), 3)\n\n    def test_negative(self):\n        self.assertEqual(add(-1, -2), -3)\n\n\nif __name__ == '__main__':\n    unittest.main()\n",
    );
    repo.commit_all("calc with tests");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.write("calc.py", "def add(a, b):\n    return a - b\n");
    let broken = repo.commit_all("calc: refactor (broken)");
    repo.git(&["config", "rollback.testCommand", "python3 -m unittest"]);

    // Rolled back to the baseline: the suite passes there.
    let before = repo.capture();
    let v = json_of(&repo.tool_ok(&["--json", "emergency", "--verify"]));
    assert_eq!(v["verification"]["succeeded"], true, "{v}");
    assert_eq!(v["verification"]["exit_code"], 0, "{v}");
    assert_eq!(last_entry(&repo)["verified"], true);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());

    // Rolled back to the broken commit (from a later one): it fails.
    repo.write("notes.txt", "later\n");
    repo.commit_all("notes");
    let out = repo.tool(&["--json", "emergency", "--to", &broken, "--verify"]);
    out.assert_code(4);
    let v = json_of(&out);
    assert_eq!(v["verification"]["succeeded"], false, "{v}");
    assert_eq!(v["verification"]["exit_code"], 1, "{v}");
    assert_eq!(last_entry(&repo)["verified"], false);
}

// ----- sprint rollback --verify --------------------------------------------------------

#[test]
fn sprint_rollback_verify_passes_and_undo_is_exact() {
    let repo = broken_sprint();
    let before = repo.capture();
    let out = repo.tool(&["--json", "sprint", "rollback", "--verify"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(v["verification"]["succeeded"], true, "{v}");
    // One run for the failure report (the work tree, bad), one on the
    // rolled-back tree (good).
    assert_eq!(runs(&repo), 2);
    assert_eq!(v["tests"]["succeeded"], false, "{v}");
    assert_eq!(repo.git(&["symbolic-ref", "--short", "HEAD"]).trim(), RETRY);
    let e = last_entry(&repo);
    assert_eq!(e["verified"], true, "{e}");
    assert_eq!(e["kind"], "sprint");

    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn sprint_rollback_verify_failing_exits_4_and_keeps_the_rollback() {
    let repo = broken_sprint();
    repo.git(&["config", "rollback.testCommand", &failing_tests(&repo)]);
    let before = repo.capture();
    let out = repo.tool(&["sprint", "rollback", "--verify"]);
    out.assert_code(4);
    assert!(out.stdout.contains("Not verified:"), "{out}");
    assert!(out.stdout.contains("The rollback stays in place"), "{out}");
    assert_eq!(repo.git(&["symbolic-ref", "--short", "HEAD"]).trim(), RETRY);
    assert_eq!(last_entry(&repo)["verified"], false);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn sprint_rollback_verify_counts_a_cached_pass_and_the_config_default() {
    let repo = broken_sprint();
    repo.git(&["config", "rollback.verify", "true"]);
    repo.tool_ok(&["baseline", "verify"]);
    let out = repo.tool(&["sprint", "rollback", "--no-tests"]);
    out.assert_ok();
    assert!(out.stdout.contains("Verified:"), "{out}");
    assert!(out.stdout.contains("(cached)"), "{out}");
    assert_eq!(runs(&repo), 1);
    assert_eq!(last_entry(&repo)["verified"], true);
}

#[test]
fn sprint_rollback_verify_dry_run_runs_nothing() {
    let repo = broken_sprint();
    let before = everything(&repo);
    let out = repo.tool(&["--dry-run", "sprint", "rollback", "--verify"]);
    out.assert_ok();
    assert!(out.stdout.contains("verify the rolled-back tree"), "{out}");
    assert_eq!(runs(&repo), 0);
    assert_nothing_changed(&repo, &before);
}

// ----- what the recovery time measures ------------------------------------------------

#[test]
fn recovery_time_measures_the_run_by_default() {
    let repo = broken_sprint();
    repo.tool_ok(&["emergency"]);
    let e = last_entry(&repo);
    assert_eq!(e["recovery_time_measures"], "run", "{e}");
    // The run took seconds, not minutes.
    assert!(e["recovery_time_minutes"].as_f64().unwrap() < 5.0, "{e}");
}

#[test]
fn since_measures_the_incident_up_to_the_end_of_the_rollback() {
    // The tool's clock is 2026-11-21T10:04:05+00:00.
    let repo = broken_sprint();
    repo.tool_ok(&["emergency", "--since", "09:34"]);
    let e = last_entry(&repo);
    assert_eq!(e["recovery_time_measures"], "incident", "{e}");
    assert_eq!(e["recovery_time_minutes"], 30.083, "{e}");
    repo.tool_ok(&["undo"]);

    repo.tool_ok(&[
        "sprint",
        "rollback",
        "--no-tests",
        "--since",
        "2026-11-21T09:04:05+00:00",
    ]);
    let e = last_entry(&repo);
    assert_eq!(e["recovery_time_measures"], "incident", "{e}");
    assert_eq!(e["recovery_time_minutes"], 60.0, "{e}");
}

#[test]
fn the_first_failing_test_run_since_the_last_green_one_starts_the_incident() {
    // The tool's clock is 2026-11-21T10:04:05+00:00.
    let repo = broken_sprint();
    repo.git(&["config", "rollback.trigger.failures", "0"]);
    repo.git(&["config", "rollback.testCommand", "true"]);
    let run = |time: &str| repo.tool_with_env(&["test"], &[("GIT_ROLLBACK_SPRINT_NOW", time)]);
    assert_eq!(run("2026-11-21T09:30:05+00:00").code, 0);
    repo.git(&["config", "rollback.testCommand", "false"]);
    // Red from 09:44:05 on: the incident is 20 minutes old at 10:04:05.
    assert_ne!(run("2026-11-21T09:44:05+00:00").code, 0);
    assert_ne!(run("2026-11-21T09:54:05+00:00").code, 0);
    repo.tool_ok(&["emergency"]);
    let e = last_entry(&repo);
    assert_eq!(e["recovery_time_measures"], "incident", "{e}");
    assert_eq!(e["recovery_time_minutes"], 20.0, "{e}");
    repo.tool_ok(&["undo"]);

    // `--since` wins over the test runs.
    repo.tool_ok(&["emergency", "--since", "10:00"]);
    let e = last_entry(&repo);
    assert_eq!(e["recovery_time_minutes"], 4.083, "{e}");
    repo.tool_ok(&["undo"]);

    // Green again: the run is what is measured.
    repo.git(&["config", "rollback.testCommand", "true"]);
    assert_eq!(run("2026-11-21T10:00:05+00:00").code, 0);
    repo.tool_ok(&["emergency"]);
    assert_eq!(last_entry(&repo)["recovery_time_measures"], "run");
}

#[test]
fn given_minutes_are_recorded_as_given() {
    let repo = broken_sprint();
    repo.tool_ok(&["emergency", "--recovery-minutes", "12"]);
    let e = last_entry(&repo);
    assert_eq!(e["recovery_time_measures"], "given", "{e}");
    assert_eq!(e["recovery_time_minutes"], 12.0, "{e}");
}

#[test]
fn a_bad_since_is_a_one_line_error_and_changes_nothing() {
    let repo = broken_sprint();
    let before = everything(&repo);
    for (args, needle) in [
        (
            vec!["emergency", "--since", "20 minutes ago"],
            "is not a time",
        ),
        (vec!["emergency", "--since", "25:00"], "is not a time"),
        (vec!["emergency", "--since", "10:30"], "is after now"),
        (
            vec!["sprint", "rollback", "--since", "yesterday"],
            "is not a time",
        ),
    ] {
        let out = repo.tool(&args);
        assert_one_line_error(&out, 2, needle);
        assert_nothing_changed(&repo, &before);
    }
    // Two recovery times at once are a usage error.
    let out = repo.tool(&["emergency", "--since", "09:00", "--recovery-minutes", "3"]);
    out.assert_code(2);
    assert_nothing_changed(&repo, &before);
    assert_eq!(runs(&repo), 0);
}

/// Ctrl-C while the verification runs stops the tests; the rollback,
/// already done, stays (and `undo` reverses it exactly), the entry says
/// not verified, and the exit code is 3.
#[test]
fn ctrl_c_during_the_verification_keeps_the_rollback_and_exits_3() {
    let repo = broken_sprint();
    let started = repo.tmp_dir().join("verify-started");
    repo.git(&[
        "config",
        "rollback.testCommand",
        &format!("echo $$ > '{}'; exec sleep 300", started.display()),
    ]);
    let before = repo.capture();
    let tool = repo
        .tool_command(&["emergency", "--verify"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the tool starts");
    // Wait until the tests run (the file is written by the test command).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !std::fs::read_to_string(&started).is_ok_and(|t| t.ends_with('\n')) {
        assert!(
            std::time::Instant::now() < deadline,
            "the verification never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_raw(tool.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT is sent");
    let out = tool.wait_with_output().expect("the tool ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("Rolled back:"), "{stdout}");
    assert!(stdout.contains("Not verified:"), "{stdout}");
    assert!(stderr.contains("interrupted by Ctrl-C"), "{stderr}");
    assert_eq!(repo.read_string("state.txt"), "good\n");
    assert_eq!(last_entry(&repo)["verified"], false);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}
