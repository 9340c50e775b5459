//! Nothing for nothing (docs/invariants.md, I11), the sprint's end
//! (`sprint finish`), and the promises that hold across commands: services
//! restarted once they were stopped, one piece of advice after a sprint
//! rollback, undone rollbacks left out of `status` and `notify`, and baseline
//! names that can (or cannot) be moved.
//!
//! A command with nothing to do is checked with [`assert_unchanged_by`],
//! which holds the whole repository, the reports folder (so the metrics)
//! and the journal unchanged.

use crate::common::{assert_same_except_reports, assert_unchanged_by, TestRepo};

// ----- helpers -----------------------------------------------------------------

/// `with_commits()`, the baseline tag at HEAD, a test command that passes,
/// a metrics file with one entry, and a stash entry of the user's own.
fn at_baseline() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);
    repo.tool_ok(&[
        "metrics",
        "record",
        "--sprint",
        "1",
        "--severity",
        "low",
        "--cause",
        "flaky",
        "--minutes",
        "2",
    ]);
    repo.write("README.md", "# Demo project\n\nMy own stash.\n");
    repo.git(&["stash", "push", "-q", "-m", "mine"]);
    repo
}

/// Stop and start commands that append to `$TMPDIR/services.log`.
fn with_service_commands(repo: &TestRepo) -> std::path::PathBuf {
    repo.git(&[
        "config",
        "rollback.stopCommand",
        "echo stop >> \"$TMPDIR/services.log\"",
    ]);
    repo.git(&[
        "config",
        "rollback.startCommand",
        "echo start >> \"$TMPDIR/services.log\"",
    ]);
    repo.tmp_dir().join("services.log")
}

/// Run `args` and check it had nothing to do: exit 0, "Nothing to do" in
/// the output, `"changed": false` in JSON, the same from a dry run, and
/// nothing changed, journal and metrics included.
#[track_caller]
fn assert_nothing_to_do(repo: &TestRepo, args: &[&str]) {
    assert_unchanged_by(repo, || {
        let out = repo.tool(args);
        out.assert_ok();
        assert!(out.stdout.contains("Nothing to do"), "{args:?}\n{out}");
        let mut dry = vec!["--dry-run"];
        dry.extend_from_slice(args);
        let out = repo.tool(&dry);
        out.assert_ok();
        assert!(out.stdout.contains("Nothing to do"), "{dry:?}\n{out}");
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        let out = repo.tool(&json);
        out.assert_ok();
        let v = out.json();
        assert_eq!(v["ok"], true, "{json:?}\n{out}");
        assert_eq!(v["changed"], false, "{json:?}\n{out}");
        assert!(v["operation_id"].is_null(), "{json:?}\n{out}");
    });
}

// ----- I11: emergency ------------------------------------------------------------

#[test]
fn emergency_at_the_baseline_with_a_clean_tree_does_nothing() {
    let repo = at_baseline();
    let log = with_service_commands(&repo);
    repo.write("debug.log", "ignored, and no --clean-ignored\n");
    assert_nothing_to_do(&repo, &["emergency"]);
    assert_nothing_to_do(&repo, &["emergency", "--to", "HEAD"]);
    assert!(!log.exists(), "no stop or start command may run");
    assert_eq!(repo.git(&["stash", "list"]).lines().count(), 1);
}

#[test]
fn emergency_clean_ignored_at_the_baseline_moves_ignored_files_and_undoes() {
    let repo = at_baseline();
    repo.write("debug.log", "ignored\n");
    let before = repo.capture();
    let out = repo.tool(&["--json", "emergency", "--clean-ignored"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["changed"], true, "{out}");
    assert_eq!(v["ignored_moved_aside"], 1, "{out}");
    assert!(!repo.exists("debug.log"));
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn emergency_clean_ignored_without_ignored_files_does_nothing() {
    let repo = at_baseline();
    assert_nothing_to_do(&repo, &["emergency", "--clean-ignored"]);
}

// ----- services restarted once stopped --------------------------------------------

#[test]
fn start_command_runs_when_a_refusal_follows_the_stop() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint work");
    repo.write("notes.txt", "uncommitted\n");
    // The stop command itself leaves git's index lock held, as another git
    // process would: the rollback is refused after the services stopped.
    repo.git(&[
        "config",
        "rollback.stopCommand",
        "echo stop >> \"$TMPDIR/services.log\" && touch \"$(git rev-parse --git-dir)/index.lock\"",
    ]);
    repo.git(&[
        "config",
        "rollback.startCommand",
        "echo start >> \"$TMPDIR/services.log\"",
    ]);
    let out = assert_unchanged_by(&repo, || repo.tool(&["emergency"]));
    out.assert_code(1);
    assert!(out.stderr.contains("index.lock"), "{out}");
    assert_eq!(
        std::fs::read_to_string(repo.tmp_dir().join("services.log")).unwrap(),
        "stop\nstart\n"
    );
    assert!(!repo.git_dir().join("rollback/journal.jsonl").exists());
    std::fs::remove_file(repo.git_dir().join("index.lock")).unwrap();
}

// ----- I11: files ------------------------------------------------------------------

#[test]
fn files_whose_paths_already_match_do_nothing() {
    let repo = at_baseline();
    repo.write("notes.txt", "untracked, outside the paths\n");
    assert_nothing_to_do(&repo, &["files", "src", "docs/guide.md", "--no-tests"]);
    assert_nothing_to_do(&repo, &["files", ".", "--no-tests"]);
    // A change under a directory named is something to do.
    repo.write("src/lib.rs", "changed\n");
    for args in [["files", "src", "--no-tests"], ["files", ".", "--no-tests"]] {
        let mut dry = vec!["--dry-run", "--json"];
        dry.extend_from_slice(&args);
        let out = repo.tool(&dry);
        out.assert_ok();
        assert_eq!(out.json()["changed"], true, "{args:?}\n{out}");
    }
}

#[test]
fn files_with_a_staged_only_difference_is_not_nothing() {
    let repo = at_baseline();
    repo.write("src/lib.rs", "staged\n");
    repo.git(&["add", "src/lib.rs"]);
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
    );
    let before = repo.capture();
    let out = repo.tool(&["--json", "files", "src/lib.rs", "--no-tests"]);
    out.assert_ok();
    assert_eq!(out.json()["changed"], true, "{out}");
    assert_eq!(repo.git(&["status", "--porcelain", "src"]), "");
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn files_delete_new_of_absent_paths_does_nothing() {
    let repo = at_baseline();
    assert_nothing_to_do(&repo, &["files", "--delete-new", "--no-tests", "gone.txt"]);
    assert_nothing_to_do(
        &repo,
        &["files", "--delete-new", "--no-tests", "gone.txt", "src"],
    );
    // Without --delete-new an absent path is still a mistake to report.
    let out = assert_unchanged_by(&repo, || repo.tool(&["files", "--no-tests", "gone.txt"]));
    out.assert_code(1);
}

// ----- I11: check, checkpoint prune, recover --------------------------------------------

#[test]
fn check_makes_a_checkpoint_only_when_head_has_none() {
    let repo = at_baseline();
    repo.git(&["stash", "drop", "-q"]);
    let out = repo.tool(&["--json", "check"]);
    out.assert_ok();
    let v = out.json();
    let first = v["checkpoint"].as_str().expect("a checkpoint").to_string();
    assert!(v["operation_id"].is_string(), "{out}");
    repo.tick();
    let out = assert_unchanged_by(&repo, || {
        let dry = repo.tool(&["--dry-run", "check"]);
        dry.assert_ok();
        assert!(dry.stdout.contains("Nothing to do"), "{dry}");
        repo.tool(&["--json", "check"])
    });
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["checkpoint"], first.as_str(), "{out}");
    assert_eq!(v["changed"], false, "{out}");
    assert!(v["operation_id"].is_null(), "{out}");
    assert_eq!(
        repo.git(&["tag", "--list", "checkpoint-*"]).lines().count(),
        1
    );
    // A new commit has none yet: it gets one.
    repo.write("src/new.rs", "pub fn new() {}\n");
    repo.commit_all("more work");
    let before = repo.capture();
    let v = repo.tool_ok(&["--json", "check"]).json();
    assert_ne!(v["checkpoint"], first.as_str());
    assert_eq!(
        repo.git(&["tag", "--list", "checkpoint-*"]).lines().count(),
        2
    );
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn checkpoint_prune_with_nothing_to_prune_does_nothing() {
    let repo = at_baseline();
    repo.tool_ok(&["checkpoint", "-m", "one"]);
    assert_nothing_to_do(&repo, &["checkpoint", "prune", "--keep", "5"]);
    assert_nothing_to_do(&repo, &["checkpoint", "prune", "--older-than", "30"]);
}

#[test]
fn recover_with_nothing_to_pick_does_nothing() {
    let repo = at_baseline();
    repo.git(&["branch", "empty"]);
    assert_nothing_to_do(&repo, &["recover", "empty", "--all", "--no-tests"]);
    // Every commit of the branch already made on HEAD.
    repo.git(&["checkout", "-q", "-b", "done"]);
    repo.write("src/extra.rs", "pub fn extra() {}\n");
    let extra = repo.commit_all("extra");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["cherry-pick", &extra]);
    assert_nothing_to_do(&repo, &["recover", "done", "--all", "--no-tests"]);
}

// ----- sprint finish ------------------------------------------------------------------

/// The baseline at `with_commits()`'s HEAD and `refactor/sprint-3` one
/// commit past it, with `test_command`.
fn sprint_done(test_command: &str) -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["config", "rollback.testCommand", test_command]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-3"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint 3: the feature");
    repo
}

#[test]
fn finish_refuses_with_exit_4_when_the_tests_fail() {
    let repo = sprint_done("echo '1 passed, 2 failed'; exit 1");
    let out = assert_unchanged_by(&repo, || repo.tool(&["sprint", "finish"]));
    out.assert_code(4);
    assert!(out.stdout.contains("Not finished"), "{out}");
    assert!(out.stdout.contains("nothing was changed"), "{out}");
    let out = assert_unchanged_by(&repo, || repo.tool(&["--json", "sprint", "finish"]));
    out.assert_code(4);
    let v = out.json();
    assert_eq!(v["ok"], false, "{out}");
    assert_eq!(v["tests"]["succeeded"], false, "{out}");
    assert_eq!(
        v["tests"]["cached"], true,
        "the second run reuses the result\n{out}"
    );
    assert!(repo.git(&["tag", "-l", "sprint-3-done"]).is_empty());
}

#[test]
fn finish_runs_the_tests_on_heads_tree_once_then_moves_the_baseline() {
    // The test command sees HEAD's tree, not the work tree: it passes only
    // where src/feature.rs exists, which an uncommitted deletion hides.
    let repo = sprint_done("test -e src/feature.rs && echo '3 passed'");
    repo.remove("src/feature.rs");
    let head = repo.head();
    let before = repo.capture();
    let out = repo.tool(&["--json", "sprint", "finish"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["tests"]["succeeded"], true, "{out}");
    assert_eq!(v["tests"]["passed"], 3, "{out}");
    assert_eq!(v["tests"]["cached"], false, "{out}");
    assert_eq!(repo.rev("baseline^{commit}"), head);
    assert_eq!(repo.rev("sprint-3-done^{commit}"), head);
    assert!(repo.git(&["tag", "-l", "baseline-prev-*"]).lines().count() == 1);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
    // The same tree again: the cached result, no second run.
    let out = repo.tool(&["sprint", "finish"]);
    out.assert_ok();
    assert!(out.stdout.contains("[cached]"), "{out}");
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn finish_no_tests_says_so_in_the_output_and_the_journal() {
    let repo = sprint_done("exit 1");
    let before = repo.capture();
    let out = repo.tool(&["sprint", "finish", "--no-tests"]);
    out.assert_ok();
    assert!(out.stdout.contains("--no-tests"), "{out}");
    assert!(out.stdout.contains("not run"), "{out}");
    let log = repo.tool_ok(&["log"]);
    assert!(log.stdout.contains("sprint finish --no-tests"), "{log}");
    let v = repo.tool_ok(&["--json", "log"]).json();
    let journal = std::fs::read_to_string(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
    assert!(
        journal.contains("skip the tests on HEAD (--no-tests)"),
        "{journal}"
    );
    assert!(journal.contains("skipped (--no-tests)"), "{journal}");
    assert!(v.to_string().contains("--no-tests"), "{v}");
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

// ----- undone rollbacks in status and notify ---------------------------------------------

/// `with_commits()`, the baseline, and a sprint commit past it.
fn past_baseline() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint work");
    repo
}

fn emergency_id(repo: &TestRepo, reason: &str) -> String {
    let v = repo
        .tool_ok(&["--json", "emergency", "--reason", reason])
        .json();
    v["operation_id"]
        .as_str()
        .expect("an operation id")
        .to_string()
}

#[test]
fn status_and_notify_skip_an_undone_rollback() {
    let repo = past_baseline();
    let kept = emergency_id(&repo, "first, kept");
    repo.tick();
    repo.write("src/more.rs", "pub fn more() {}\n");
    repo.commit_all("more work");
    let undone = emergency_id(&repo, "second, undone");
    repo.tool_ok(&["undo"]);

    let v = repo.tool_ok(&["--json", "status"]).json();
    assert_eq!(v["latest_rollback"], kept.as_str(), "{v}");
    let out = repo.tool_ok(&["--json", "notify"]);
    let v = out.json();
    assert_eq!(v["operation_id"], kept.as_str(), "{out}");
    assert!(!out.stdout.contains("second, undone"), "{out}");
    assert_ne!(v["operation_id"], undone.as_str());

    // A metrics entry marked undone counts as undone for both.
    let path = "rollbacks/metrics.json";
    let mut doc: serde_json::Value = serde_json::from_slice(&repo.read(path)).unwrap();
    for e in doc["rollbacks"].as_array_mut().unwrap() {
        e["undone"] = serde_json::Value::Bool(true);
    }
    repo.write(path, serde_json::to_vec_pretty(&doc).unwrap());
    let out = repo.tool_ok(&["--json", "status"]);
    assert!(out.json()["latest_rollback"].is_null(), "{out}");
    assert!(repo.tool_ok(&["status"]).stdout.contains("none recorded"));
    let out = repo.tool(&["notify"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no rollback"), "{out}");
}

// ----- baseline names ------------------------------------------------------------------

/// A one-line refusal (`error: … — hint`) naming `needle`, exit 1.
#[track_caller]
fn assert_one_line_refusal(out: &crate::common::ToolOutput, needle: &str) {
    out.assert_code(1);
    let err = out.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "one line\n{out}");
    assert!(err.starts_with("error:") && err.contains(" — "), "{out}");
    assert!(err.contains(needle), "names {needle:?}\n{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[test]
fn a_full_tag_ref_baseline_is_that_tag_for_set_and_finish() {
    let repo = sprint_done("echo '1 passed'");
    repo.git(&["config", "rollback.baseline", "refs/tags/known-good"]);
    repo.git(&["tag", "-a", "known-good", "-m", "good", "HEAD~1"]);
    let old = repo.rev("refs/tags/known-good");
    let before = repo.capture();
    let v = repo
        .tool_ok(&["--json", "baseline", "set", "--force"])
        .json();
    assert_eq!(repo.rev("known-good^{commit}"), repo.head());
    let prev = v["previous"]
        .as_str()
        .expect("the old one kept")
        .to_string();
    assert!(prev.starts_with("known-good-prev-"), "{v}");
    assert_eq!(repo.rev(&format!("refs/tags/{prev}")), old);
    assert!(
        repo.git(&["tag", "-l", "refs/*"]).is_empty(),
        "no tag named refs/…"
    );
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());

    let v = repo.tool_ok(&["--json", "sprint", "finish"]).json();
    assert_eq!(repo.rev("known-good^{commit}"), repo.head(), "{v}");
    assert_eq!(repo.rev("sprint-3-done^{commit}"), repo.head());
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn a_branch_ref_baseline_is_refused_by_set_and_finish() {
    let repo = sprint_done("echo ran >> \"$TMPDIR/tests.log\"; echo '1 passed'");
    repo.git(&["branch", "stable", "HEAD~1"]);
    repo.git(&["config", "rollback.baseline", "refs/heads/stable"]);
    for args in [
        &["baseline", "set", "--force"][..],
        &["baseline", "set"],
        &["sprint", "finish"],
    ] {
        let out = assert_unchanged_by(&repo, || repo.tool(args));
        assert_one_line_refusal(&out, "refs/heads/stable");
        assert!(out.stderr.contains("not a tag"), "{out}");
    }
    assert!(!repo.tmp_dir().join("tests.log").exists(), "no test ran");
    // As a revision to roll back to it still works.
    let v = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(v["commit"], repo.rev("stable").as_str(), "{v}");
}

#[test]
fn head_and_names_git_refuses_for_tags_are_refused_in_one_line() {
    let repo = sprint_done("echo '1 passed'");
    for name in ["HEAD", "a..b", "refs/tags/HEAD", "refs/tags/x..y"] {
        repo.git(&["config", "rollback.baseline", name]);
        for args in [
            &["baseline", "set", "--force"][..],
            &["baseline", "set"],
            &["sprint", "finish"],
        ] {
            let out = assert_unchanged_by(&repo, || repo.tool(args));
            assert_one_line_refusal(&out, &format!("`{name}`"));
            assert!(out.stderr.contains("git config rollback.baseline"), "{out}");
        }
    }
}

#[test]
fn baseline_set_where_it_already_is_does_nothing() {
    let repo = at_baseline();
    assert_nothing_to_do(&repo, &["baseline", "set"]);
    assert_nothing_to_do(&repo, &["baseline", "set", "--force"]);
    assert_nothing_to_do(&repo, &["baseline", "set", "HEAD"]);
}

// ----- one piece of advice after a sprint rollback -----------------------------------------

#[test]
fn console_report_and_analysis_advise_the_same_recover_command() {
    let repo = sprint_done("echo '1 passed'");
    repo.write("src/feature.rs", "pub fn feature() { /* half done */ }\n");
    let out = repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("bring good commits back with: "))
        .unwrap_or_else(|| panic!("no advice on the console\n{out}"));
    let command = line
        .split("bring good commits back with: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(command, "git rollback-sprint recover refactor/sprint-3");
    let report = repo.read_string("rollbacks/sprint-3/report.md");
    assert!(report.contains(&format!("`{command}`")), "{report}");

    repo.tool_ok(&["analyze"]);
    let dir = std::fs::read_dir(repo.abs("rollbacks"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("analysis-"))
        .expect("an analysis folder");
    let analysis = std::fs::read_to_string(dir.path().join("analysis.md")).unwrap();
    assert!(analysis.contains(&format!("`{command}`")), "{analysis}");
    let notice = repo.tool_ok(&["notify"]).stdout;
    assert!(notice.contains(&format!("`{command}`")), "{notice}");
    // Every recover command any of them names is that one.
    for text in [&report, &analysis, &notice, &out.stdout] {
        for found in text.match_indices("git rollback-sprint recover ") {
            assert!(text[found.0..].starts_with(&command), "{text}");
        }
    }
}

// ----- a refusal inside begin leaves no ref -------------------------------------------------

#[test]
fn a_failure_while_begin_saves_leaves_no_keepalive_ref_and_no_journal_entry() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint work");
    repo.write("notes.txt", "uncommitted\n");
    // After the snapshot commit is written, the index copy cannot be
    // written: a directory is in its place. (A failure after the keep
    // entries are appended is `keepalive::a_failure_after_the_keep_entries_
    // removes_them`.)
    let exec = format!(
        "after-snapshot:for d in '{}'/rollback/ops/*/; do mkdir \"$d/index\"; done",
        repo.git_dir().display()
    );
    let out = assert_unchanged_by(&repo, || {
        repo.tool_with_env(
            &["emergency"],
            &[("GIT_ROLLBACK_SPRINT_FAULT_EXEC", exec.as_str())],
        )
    });
    out.assert_code(1);
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_eq!(repo.git(&["for-each-ref", "refs/rollback/"]), "", "{out}");
    let ops = repo.git_dir().join("rollback/ops");
    let left: Vec<_> = std::fs::read_dir(&ops)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "operation folders left: {left:?}");
    // And the next run works.
    let before = repo.capture();
    repo.tool_ok(&["emergency"]);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}
