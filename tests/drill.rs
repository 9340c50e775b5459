//! Tests of `drill` (README: `drill`): each rollback level rehearsed on a
//! disposable copy, timed, verified, undone and checked; the user's
//! repository never touched but for one metrics entry.

use serde_json::Value;

use crate::common::{
    assert_nothing_changed, assert_same_dir, assert_same_except_reports, capture_dir,
    dirty_everything, everything, TestRepo, ToolOutput,
};

const METRICS: &str = "rollbacks/metrics.json";

/// A repository mid-sprint: the baseline at "add sources", a test script
/// that passes on the baseline and fails on the sprint's code, two sprint
/// commits on `refactor/sprint-2`, and every kind of uncommitted change.
fn mid_sprint() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write(
        "test.sh",
        "#!/bin/sh\ngrep -q 'a + b' src/lib.rs && echo '1 passed' || { echo '1 failed'; exit 1; }\n",
    );
    repo.commit_all("add the test script");
    repo.git(&["config", "rollback.testCommand", "sh test.sh"]);
    repo.tool_ok(&["baseline", "set", "-m", "known good"]);
    repo.git(&["switch", "-q", "-c", "refactor/sprint-2"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("add feature");
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    );
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.commit_all("rewrite add");
    dirty_everything(&repo);
    repo
}

fn levels(out: &ToolOutput) -> Vec<Value> {
    out.json()["levels"]
        .as_array()
        .unwrap_or_else(|| panic!("no levels\n{out}"))
        .clone()
}

fn metrics(repo: &TestRepo) -> Value {
    serde_json::from_slice(&repo.read(METRICS)).expect("metrics.json is JSON")
}

/// The drill entries of the metrics file.
fn drills(repo: &TestRepo) -> Vec<Value> {
    metrics(repo)["rollbacks"]
        .as_array()
        .expect("a list of entries")
        .iter()
        .filter(|e| e["kind"] == "drill")
        .cloned()
        .collect()
}

#[test]
fn a_drill_rehearses_every_level_and_touches_nothing_but_the_metrics() {
    let repo = mid_sprint();
    let before = everything(&repo);
    let out = repo.tool(&["--json", "drill"]);
    out.assert_ok();
    let levels = levels(&out);
    let names: Vec<&str> = levels.iter().filter_map(|l| l["level"].as_str()).collect();
    assert_eq!(names, ["emergency", "sprint", "files"], "{out}");
    for level in &levels {
        assert_eq!(level["verdict"], "pass", "{level}\n{out}");
        assert_eq!(level["verified"], true, "{level}");
        assert_eq!(level["undo_exact"], true, "{level}");
        assert_eq!(level["within_rto"], true, "{level}");
    }
    // On a sprint branch, the sprint's own rollback is rehearsed.
    assert_eq!(
        levels[1]["command"],
        "git rollback-sprint sprint rollback --no-tests --reason 'drill: sprint'"
    );
    // The files level puts back files the sprint changed.
    let files = levels[2]["command"].as_str().unwrap_or_default();
    assert!(files.contains("config/settings.toml"), "{files}");
    assert!(files.contains("src/lib.rs"), "{files}");
    assert_eq!(out.json()["passed"], true);
    assert_eq!(out.json()["rto_seconds"], 300);

    // Nothing of the repository changed: HEAD, refs, the stash, the index,
    // every file (ignored ones too), and the whole git directory.
    let after = everything(&repo);
    assert_same_except_reports(&before.0, &after.0);
    assert_same_dir(&before.1, &after.1);
    // One drill entry, and no rollback in the statistics.
    let doc = metrics(&repo);
    let drills = drills(&repo);
    assert_eq!(drills.len(), 1, "{doc}");
    assert_eq!(drills[0]["verdict"], "pass");
    assert_eq!(drills[0]["rto_seconds"], 300);
    assert_eq!(drills[0]["levels"].as_array().map(Vec::len), Some(3));
    assert_eq!(doc["statistics"]["total_rollbacks"], 0, "{doc}");
    assert_eq!(doc["statistics"]["by_cause"], serde_json::json!({}));
}

#[test]
fn the_human_table_names_each_level() {
    let repo = mid_sprint();
    let out = repo.tool(&["--color", "never", "drill", "--level", "emergency"]);
    out.assert_ok();
    assert!(out.stdout.contains("emergency"), "{out}");
    assert!(out.stdout.contains("exact"), "{out}");
    assert!(out.stdout.contains("✓ within the RTO"), "{out}");
    assert!(out.stdout.contains("Drill passed: 1 level(s)"), "{out}");
    assert!(!out.stdout.contains("sprint "), "{out}");
}

#[test]
fn a_dry_run_says_what_it_would_rehearse_and_changes_nothing() {
    let repo = mid_sprint();
    let before = everything(&repo);
    let out = repo.tool(&["--json", "--dry-run", "drill"]);
    out.assert_ok();
    let json = out.json();
    assert_eq!(json["dry_run"], true);
    let plan: Vec<&str> = json["plan"]
        .as_array()
        .expect("a plan")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(plan[0].starts_with("copy the repository"), "{plan:?}");
    assert!(
        plan.iter().any(|l| l.starts_with("emergency: ")),
        "{plan:?}"
    );
    assert!(plan.iter().any(|l| l.starts_with("sprint: ")), "{plan:?}");
    assert!(plan.iter().any(|l| l.starts_with("files: ")), "{plan:?}");
    assert_nothing_changed(&repo, &before);
    assert!(!repo.exists(METRICS));
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let repo = mid_sprint();
    let before = everything(&repo);
    for (args, code) in [
        (&["drill", "--rto", "0"][..], 2),
        (&["drill", "--rto", "soon"], 2),
        (&["drill", "--level", "everything"], 2),
    ] {
        let out = repo.tool(args);
        out.assert_code(code);
        assert!(out.stderr.starts_with("error: "), "{out}");
        assert_eq!(out.stdout, "", "{out}");
    }
    repo.git(&["config", "rollback.rto", "five minutes"]);
    let out = repo.tool(&["drill"]);
    out.assert_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("rollback.rto"), "{out}");
    repo.git(&["config", "--unset", "rollback.rto"]);
    assert_nothing_changed(&repo, &before);
}

#[test]
fn without_a_baseline_there_is_nothing_to_rehearse() {
    let repo = TestRepo::with_commits();
    let before = everything(&repo);
    let out = repo.tool(&["drill"]);
    out.assert_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("baseline"), "{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn failing_tests_on_the_rolled_back_tree_fail_the_drill_with_exit_4() {
    let repo = mid_sprint();
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo '0 passed, 2 failed'; exit 1",
    ]);
    let before = everything(&repo);
    let out = repo.tool(&["--json", "drill", "--level", "emergency"]);
    out.assert_code(4);
    let level = &levels(&out)[0];
    assert_eq!(level["verdict"], "failed", "{out}");
    assert_eq!(level["verified"], false);
    // Undone exactly all the same.
    assert_eq!(level["undo_exact"], true);
    assert_eq!(out.json()["ok"], false);
    assert_eq!(out.json()["passed"], false);
    let after = everything(&repo);
    assert_same_except_reports(&before.0, &after.0);
    assert_same_dir(&before.1, &after.1);
    assert_eq!(drills(&repo)[0]["verdict"], "fail");
}

#[test]
fn a_level_slower_than_the_rto_misses_it() {
    let repo = mid_sprint();
    // Verification alone takes longer than the one-second objective.
    repo.git(&[
        "config",
        "rollback.testCommand",
        "sleep 1.5; echo '1 passed'",
    ]);
    let out = repo.tool(&["--json", "drill", "--level", "emergency", "--rto", "1"]);
    out.assert_code(4);
    let level = &levels(&out)[0];
    assert_eq!(level["verdict"], "missed_rto", "{out}");
    assert_eq!(level["within_rto"], false);
    assert_eq!(level["verified"], true);
    assert_eq!(out.json()["rto_seconds"], 1);
}

#[test]
fn the_rto_comes_from_git_config() {
    let repo = mid_sprint();
    repo.git(&["config", "rollback.rto", "120"]);
    let out = repo.tool(&["--json", "drill", "--level", "files"]);
    out.assert_ok();
    assert_eq!(out.json()["rto_seconds"], 120);
    assert_eq!(drills(&repo)[0]["rto_seconds"], 120);
}

#[test]
fn without_tests_a_level_is_not_verified_and_says_so() {
    let repo = mid_sprint();
    repo.git(&["config", "--unset", "rollback.testCommand"]);
    let out = repo.tool(&["--json", "drill", "--level", "emergency"]);
    out.assert_ok();
    let level = &levels(&out)[0];
    assert_eq!(level["verdict"], "pass", "{out}");
    assert_eq!(level["verified"], Value::Null);
    assert!(
        level["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no tests"),
        "{out}"
    );
    assert_eq!(out.json()["test_command"], Value::Null);
}

#[test]
fn off_a_sprint_branch_the_sprint_level_takes_the_next_sprint_number() {
    let repo = mid_sprint();
    repo.git(&["branch", "refactor/sprint-7", "baseline"]);
    repo.git(&["switch", "-q", "-c", "experiment"]);
    let before = everything(&repo);
    let out = repo.tool(&["--json", "drill", "--level", "sprint"]);
    out.assert_ok();
    let level = &levels(&out)[0];
    assert_eq!(
        level["command"],
        "git rollback-sprint sprint rollback 8 --no-tests --reason 'drill: sprint'"
    );
    assert_eq!(level["verdict"], "pass", "{out}");
    let after = everything(&repo);
    assert_same_except_reports(&before.0, &after.0);
    assert_same_dir(&before.1, &after.1);
}

#[test]
fn at_the_baseline_the_files_level_is_skipped_and_a_clean_emergency_has_nothing_to_do() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let out = repo.tool(&["--json", "drill"]);
    out.assert_ok();
    let levels = levels(&out);
    assert_eq!(levels[0]["verdict"], "skipped", "{out}");
    assert!(
        levels[0]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("nothing to roll back"),
        "{out}"
    );
    assert_eq!(levels[2]["verdict"], "skipped");
    assert_eq!(
        levels[2]["detail"],
        "no file of the baseline differs at HEAD"
    );
}

#[test]
fn ignored_folders_are_left_out_of_the_copy_but_ignored_files_are_kept() {
    let repo = mid_sprint();
    for n in 0..5 {
        repo.write(format!("target/debug/bulk-{n}.o"), "object code\n");
    }
    let out = repo.tool(&["--json", "drill", "--level", "emergency"]);
    out.assert_ok();
    let copy = &out.json()["copy"];
    // target/ is left out; the work tree has more files than the copy.
    assert_eq!(copy["ignored_dirs_left_out"], 1, "{out}");
    let all = walkdir::WalkDir::new(repo.path())
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count() as u64;
    let copied = copy["files"].as_u64().unwrap_or_default();
    assert!(copied + 5 <= all, "{copied} of {all}\n{out}");
    assert_eq!(levels(&out)[0]["undo_exact"], true);
}

/// The files every level rewrites — HEAD and the baseline both have them,
/// with other content — are copied, not linked, so that the rehearsed
/// rollback writes them in place as the real one would; every other file
/// is a link to the user's. The copy's first capture reads the copied
/// files, and the undo is still found exact.
#[test]
fn the_files_a_rollback_rewrites_are_copied_and_the_rest_linked() {
    let repo = mid_sprint();
    let rewritten = repo
        .git(&["diff", "--name-only", "--diff-filter=M", "baseline", "HEAD"])
        .lines()
        .count() as u64;
    assert!(rewritten > 0, "the sprint modified files of the baseline");
    let out = repo.tool(&["--json", "drill", "--level", "emergency"]);
    out.assert_ok();
    let copy = &out.json()["copy"];
    let files = copy["files"].as_u64().unwrap_or_default();
    let linked = copy["linked"].as_u64().unwrap_or_default();
    assert_eq!(files - linked, rewritten, "{out}");
    assert_eq!(levels(&out)[0]["undo_exact"], true, "{out}");
}

/// The copy is made on several threads: untracked folders are copied
/// unless ignored, at any depth, and an ignored folder holding a tracked
/// file is copied whole. The count of files copied is exact.
#[test]
fn the_copy_holds_every_file_but_those_in_ignored_folders_at_any_depth() {
    let repo = mid_sprint();
    repo.write(".gitignore", "target/\nnode_modules/\nbuild/\n");
    repo.write("build/keep.txt", "tracked in an ignored folder\n");
    repo.git(&["add", "-f", ".gitignore", "build/keep.txt"]);
    repo.commit_staged("keep one build file");
    repo.write("build/other.o", "ignored, beside a tracked file\n");
    for d in 0..12 {
        for f in 0..6 {
            repo.write(
                format!("scratch/d{d}/deeper/n{f}.txt"),
                format!("{d} {f}\n"),
            );
        }
        repo.write(format!("scratch/d{d}/node_modules/pkg/index.js"), "x\n");
        repo.write(format!("target/t{d}.o"), "x\n");
    }
    repo.write_exec("scratch/run.sh", "#!/bin/sh\n");
    std::os::unix::fs::symlink("run.sh", repo.abs("scratch/link")).expect("symlink");
    let expected = walkdir::WalkDir::new(repo.path())
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name();
            name != ".git" && name != "target" && name != "node_modules"
        })
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count() as u64;
    let out = repo.tool(&["--json", "drill", "--level", "emergency"]);
    out.assert_ok();
    let copy = &out.json()["copy"];
    assert_eq!(copy["files"], expected, "{out}");
    // target/ and the twelve node_modules/ are left out; build/ is not.
    assert_eq!(copy["ignored_dirs_left_out"], 13, "{out}");
    assert_eq!(levels(&out)[0]["undo_exact"], true, "{out}");
}

#[test]
fn a_real_unittest_project_is_verified_on_the_rolled_back_tree() {
    let repo = TestRepo::new();
    repo.write("calc.py", "def add(a, b):\n    return a + b\n");
    repo.write(
        "tests/test_calc.py",
        "import unittest\nimport calc\n\nclass Add(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(1, 2), 3)\n",
    );
    repo.write("tests/__init__.py", "");
    repo.commit_all("calc with tests");
    repo.git(&[
        "config",
        "rollback.testCommand",
        "python3 -m unittest discover -t . -s tests",
    ]);
    repo.tool_ok(&["baseline", "set"]);
    repo.git(&["switch", "-q", "-c", "refactor/sprint-1"]);
    repo.write("calc.py", "def add(a, b):\n    return a * b\n");
    repo.commit_all("break add");
    // The sprint's tree fails its tests; every rolled-back tree passes.
    let broken = std::process::Command::new("python3")
        .args(["-m", "unittest", "discover", "-t", ".", "-s", "tests"])
        .current_dir(repo.path())
        .output()
        .expect("python3 runs");
    assert!(!broken.status.success(), "the sprint's tests should fail");
    let out = repo.tool(&["--json", "drill"]);
    out.assert_ok();
    for level in levels(&out) {
        assert_eq!(level["verified"], true, "{level}\n{out}");
        assert_eq!(level["verdict"], "pass", "{level}");
    }
    // Two levels roll back to the baseline's tree: its tests ran once.
    let levels = levels(&out);
    assert_eq!(levels[0]["cached"], false, "{out}");
    assert_eq!(levels[1]["cached"], true, "{out}");
}

#[test]
fn a_killed_drill_leaves_the_repository_alone_and_the_next_drill_clears_its_copy() {
    let repo = mid_sprint();
    let before = everything(&repo);
    for point in ["drill-copied", "drill-level"] {
        let out = repo.tool_with_env(&["drill"], &[("GIT_ROLLBACK_SPRINT_FAULT", point)]);
        assert_eq!(out.code, -1, "{point}: expected a SIGKILL\n{out}");
        // The repository is as it was, and so is everything git keeps but
        // the copy itself.
        let after = everything(&repo);
        assert_same_except_reports(&before.0, &after.0);
        let drill_dir = repo.git_dir().join("rollback/drill");
        assert!(drill_dir.exists(), "{point}: the copy is left");
        let leftover = capture_dir(&repo.git_dir());
        let outside: Vec<String> = before
            .1
            .diff(&leftover)
            .into_iter()
            .filter(|l| !l.contains("rollback/drill"))
            .collect();
        assert_eq!(outside, Vec::<String>::new(), "{point}");
        assert!(
            !repo.exists(METRICS),
            "{point}: no entry for a killed drill"
        );
        // The next drill removes it, and passes.
        let out = repo.tool(&["drill", "--level", "files"]);
        out.assert_ok();
        assert!(out.stderr.contains("removed 1 copy"), "{out}");
        assert!(!drill_dir.exists(), "{point}");
        assert_same_dir(&before.1, &capture_dir(&repo.git_dir()));
        repo.remove(METRICS);
    }
}

#[test]
fn metrics_show_drills_on_their_own_line_and_count_them_as_no_rollback() {
    let repo = mid_sprint();
    repo.tool_ok(&["drill", "--level", "files"]);
    repo.tool_ok(&["drill", "--level", "emergency"]);
    let out = repo.tool_ok(&["--json", "metrics"]);
    let json = out.json();
    assert_eq!(json["statistics"]["total_rollbacks"], 0, "{out}");
    assert_eq!(json["drills"]["count"], 2, "{out}");
    assert_eq!(json["drills"]["last"]["verdict"], "pass");
    assert!(json["drills"]["slowest"]["seconds"].is_number(), "{out}");
    // A real rollback counts; the drills still do not.
    repo.tool_ok(&["emergency", "--reason", "down"]);
    let out = repo.tool_ok(&["--json", "metrics"]);
    assert_eq!(out.json()["statistics"]["total_rollbacks"], 1, "{out}");
    assert_eq!(
        out.json()["statistics"]["by_cause"],
        serde_json::json!({"down": 1})
    );
    let human = repo.tool_ok(&["--color", "never", "metrics"]);
    assert!(
        human.stdout.contains("  drills                 2 · last "),
        "{human}"
    );
    assert!(
        human.stdout.contains("  total rollbacks        1"),
        "{human}"
    );
}

#[test]
fn check_and_status_warn_when_the_monthly_drill_is_due() {
    let warning = |repo: &TestRepo| -> Vec<String> {
        let status = repo.tool_ok(&["status"]);
        let check = repo.tool(&["check", "--no-tests", "--no-checkpoint"]);
        assert_eq!(check.stderr, status.stderr, "{check}");
        status
            .stderr
            .lines()
            .filter(|l| l.contains("drill"))
            .map(str::to_string)
            .collect()
    };
    // No baseline: nothing to drill, and nothing said, however late.
    let repo = TestRepo::with_commits();
    repo.set_now("2027-06-01T10:00:00+00:00");
    assert_eq!(warning(&repo), Vec::<String>::new());
    // A baseline set today: not due yet.
    repo.set_now("2026-11-21T10:04:05+00:00");
    repo.tool_ok(&["baseline", "set"]);
    assert_eq!(warning(&repo), Vec::<String>::new());
    // Forty days on with no drill: due.
    repo.set_now("2026-12-31T10:05:00+00:00");
    let said = warning(&repo);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("warning: no drill since the baseline was set 40 days ago (rollback.drillInterval is 30)"), "{said:?}");
    // A drill then: not due, and status shows it.
    repo.write("src/lib.rs", "changed\n");
    repo.tool_ok(&["drill", "--level", "emergency"]);
    assert_eq!(warning(&repo), Vec::<String>::new());
    let status = repo.tool_ok(&["--json", "status"]).json();
    assert_eq!(status["last_drill"]["verdict"], "pass");
    assert_eq!(
        status["last_drill"]["timestamp"],
        "2026-12-31T10:05:00+00:00"
    );
    let human = repo.tool_ok(&["--color", "never", "status"]);
    assert!(
        human
            .stdout
            .contains("drill:       2026-12-31T10:05:00+00:00 (pass, 0 seconds ago)"),
        "{human}"
    );
    // Thirty-one days after it: due again, unless turned off.
    repo.set_now("2027-01-31T10:05:01+00:00");
    let said = warning(&repo);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("warning: the last drill was 31 days ago"),
        "{said:?}"
    );
    repo.git(&["config", "rollback.drillInterval", "60"]);
    assert_eq!(warning(&repo), Vec::<String>::new());
    repo.git(&["config", "rollback.drillInterval", "0"]);
    assert_eq!(warning(&repo), Vec::<String>::new());
    repo.git(&["config", "rollback.drillInterval", "monthly"]);
    let said = warning(&repo);
    assert!(
        said[0].contains("rollback.drillInterval is `monthly`"),
        "{said:?}"
    );
}

#[test]
fn a_drill_in_a_linked_worktree_leaves_both_work_trees_alone() {
    let repo = mid_sprint();
    let linked = repo.root().join("linked");
    let linked_str = linked.to_str().expect("a UTF-8 temporary path");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "refactor/sprint-5",
        linked_str,
        "refactor/sprint-2",
    ]);
    std::fs::write(linked.join("src/lib.rs"), "in the linked work tree\n").expect("write");
    std::fs::write(linked.join("scratch.txt"), "untracked\n").expect("write");
    let main_before = everything(&repo);
    let linked_before = crate::common::capture_repo(&linked);
    let out = repo.tool_in(&linked, &["--json", "drill"]);
    out.assert_ok();
    let levels = levels(&out);
    assert_eq!(
        levels[1]["command"],
        "git rollback-sprint sprint rollback --no-tests --reason 'drill: sprint'",
        "{out}"
    );
    for level in &levels {
        assert_eq!(level["verdict"], "pass", "{level}\n{out}");
    }
    let main_after = everything(&repo);
    assert_same_except_reports(&main_before.0, &main_after.0);
    assert_same_dir(&main_before.1, &main_after.1);
    assert_same_except_reports(&linked_before, &crate::common::capture_repo(&linked));
    // The entry is in the linked work tree's reports folder.
    assert!(linked.join(METRICS).exists());
    assert!(!repo.exists(METRICS));
}

#[test]
fn each_level_is_verified_on_its_own_rolled_back_tree() {
    let repo = mid_sprint();
    // Passes where the sprint's new file is gone (the baseline's tree,
    // after an emergency or a sprint rollback), fails where it is still
    // there (after `files`, which puts back only files the baseline has).
    repo.git(&["config", "rollback.testCommand", "test ! -f src/feature.rs"]);
    let out = repo.tool(&["--json", "drill"]);
    out.assert_code(4);
    let levels = levels(&out);
    assert_eq!(levels[0]["verified"], true, "{out}");
    assert_eq!(levels[1]["verified"], true, "{out}");
    assert_eq!(levels[1]["cached"], true, "{out}");
    assert_eq!(levels[2]["verified"], false, "{out}");
    assert_eq!(levels[2]["cached"], false, "{out}");
    assert_eq!(levels[2]["verdict"], "failed", "{out}");
    assert_eq!(levels[2]["undo_exact"], true, "{out}");
}

#[test]
fn a_held_index_lock_or_a_merge_in_progress_is_refused_before_any_copy() {
    let repo = mid_sprint();
    std::fs::write(repo.git_dir().join("index.lock"), "").expect("write");
    let before = everything(&repo);
    let out = repo.tool(&["drill"]);
    out.assert_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("index.lock"), "{out}");
    assert_nothing_changed(&repo, &before);
    std::fs::remove_file(repo.git_dir().join("index.lock")).expect("rm");
    std::fs::write(
        repo.git_dir().join("MERGE_HEAD"),
        format!("{}\n", repo.head()),
    )
    .expect("write");
    let before = everything(&repo);
    let out = repo.tool(&["drill"]);
    out.assert_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("merge"), "{out}");
    assert_nothing_changed(&repo, &before);
}

/// The tests of each level run on exactly that level's tree: whatever the
/// tests of an earlier level wrote there (a build folder, a log, a tracked
/// file edited in place or made executable) is gone before the next
/// level's tests start, as in a fresh export of its tree.
#[test]
fn what_one_levels_tests_leave_behind_is_gone_before_the_next_levels_tests() {
    let repo = mid_sprint();
    let outside = tempfile::tempdir().expect("a temporary directory");
    let log = outside.path().join("runs.log");
    let script = format!(
        "{{ echo '== run'; find . | LC_ALL=C sort; cat src/lib.rs; ls -l src/lib.rs | cut -c1-10; }} >> '{}'; \
         echo junk >> src/lib.rs; chmod +x src/lib.rs; mkdir -p target/debug; \
         echo out > target/debug/out; echo log > leftover.log",
        log.display()
    );
    repo.git(&["config", "rollback.testCommand", &script]);
    let out = repo.tool(&["--json", "drill"]);
    out.assert_code(0);
    let levels = levels(&out);
    assert_eq!(levels[0]["verified"], true, "{out}");
    assert_eq!(levels[1]["cached"], true, "{out}");
    assert_eq!(levels[2]["verified"], true, "{out}");
    assert_eq!(levels[2]["cached"], false, "{out}");
    let text = std::fs::read_to_string(&log).expect("the tests ran");
    let runs: Vec<&str> = text.split("== run\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(runs.len(), 2, "{text}");
    for run in &runs {
        for left in ["./leftover.log", "./target", "junk", "-rwx"] {
            assert!(
                !run.contains(left),
                "{left} was left for the next tests:\n{run}"
            );
        }
        assert!(run.contains("./src/lib.rs\n"), "{run}");
    }
    // The second tree is the files level's: the baseline's src/lib.rs
    // back, the sprint's new file kept.
    assert!(runs[1].contains("a + b"), "{}", runs[1]);
    assert!(runs[1].contains("./src/feature.rs\n"), "{}", runs[1]);
    assert!(!runs[0].contains("./src/feature.rs\n"), "{}", runs[0]);
}

/// Linking a file changes its inode's change time, which git compares
/// with the index: on a large work tree the drill says so and how to
/// refresh the index, and that command does put every entry back in step.
#[test]
fn on_a_large_work_tree_the_drill_says_how_to_refresh_the_index() {
    let repo = mid_sprint();
    for d in 0..100 {
        for f in 0..100 {
            repo.write(format!("bulk/d{d:02}/f{f:02}.txt"), format!("{d} {f}\n"));
        }
    }
    repo.git(&["add", "bulk"]);
    repo.git(&["commit", "-q", "-m", "bulk"]);
    repo.git(&["update-index", "-q", "--refresh"]);
    let stale = || {
        repo.git(&["diff-files", "--name-only"])
            .lines()
            .filter(|l| l.starts_with("bulk/"))
            .count()
    };
    assert_eq!(stale(), 0);
    let out = repo.tool(&["drill", "--level", "files"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("git update-index -q --refresh"),
        "{out}"
    );
    // What the line says: git now sees every linked file as changed
    // until the index is refreshed, which finds nothing changed.
    assert_eq!(stale(), 10_000, "{out}");
    repo.git(&["update-index", "-q", "--refresh"]);
    assert_eq!(stale(), 0);
    // A small work tree is not told.
    let small = mid_sprint();
    let out = small.tool(&["drill", "--level", "files"]);
    assert!(!out.stdout.contains("update-index"), "{out}");
}
