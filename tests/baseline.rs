//! Tests of `baseline set|show|verify|push|pull` (README: `baseline`) and of
//! the settings it reads (README: Settings).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{
    assert_nothing_changed, assert_same_dir, assert_same_state, capture_dir, commit_history,
    dirty_everything, everything, TestRepo, ToolOutput,
};

// ----- helpers ----------------------------------------------------------------

#[track_caller]
fn assert_clean_error(out: &ToolOutput, code: i32, needle: &str) {
    out.assert_code(code);
    assert!(!out.stderr.contains("panicked"), "{out}");
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "one-line error expected\n{out}");
    assert!(lines[0].starts_with("error: "), "{out}");
    assert!(out.stderr.contains(needle), "expected {needle:?}\n{out}");
}

/// `git for-each-ref` of one ref: "<objecttype> <objectname>".
fn tag_ref(repo_dir: &Path, repo: &TestRepo, name: &str) -> String {
    repo.git_in(
        repo_dir,
        &[
            "for-each-ref",
            "--format=%(objecttype) %(objectname)",
            &format!("refs/tags/{name}"),
        ],
    )
}

/// The state of the repository at `dir`, without remote-tracking refs
/// (which `git push` updates by itself).
fn capture_local(dir: &Path) -> crate::common::RepoState {
    let mut state = crate::common::capture_repo(dir);
    state.refs.retain(|r, _| !r.starts_with("refs/remotes/"));
    state
}

/// Where `baseline verify`'s test command writes what it saw.
fn out_file(repo: &TestRepo, name: &str) -> PathBuf {
    repo.root().join(name)
}

// ----- set ----------------------------------------------------------------------

#[test]
fn set_tags_head_with_an_annotated_tag() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["--json", "baseline", "set"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["commit"], repo.head());
    assert_eq!(v["previous"], serde_json::Value::Null);
    assert!(v["operation_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(repo.git(&["cat-file", "-t", "baseline"]), "tag");
    assert_eq!(repo.rev("baseline^{commit}"), repo.head());
    let meta = repo.git(&[
        "for-each-ref",
        "--format=%(taggername) %(taggeremail) %(taggerdate:raw)|%(contents:subject)",
        "refs/tags/baseline",
    ]);
    assert_eq!(
        meta, "Sprint Tester <tester@example.com> 1795255445 +0000|Baseline: add sources",
        "tagged by the configured user at the tool's clock (2026-11-21T10:04:05Z)"
    );
}

#[test]
fn set_at_a_revision_with_a_message() {
    let repo = TestRepo::with_commits();
    let first = repo.rev("HEAD~1");
    repo.tool_ok(&[
        "baseline",
        "set",
        "HEAD~1",
        "-m",
        "known good before the refactor",
    ]);
    assert_eq!(repo.rev("baseline^{commit}"), first);
    assert_eq!(
        repo.git(&["tag", "-l", "--format=%(contents)", "baseline"]),
        "known good before the refactor"
    );
    // A configured name is used instead of `baseline`.
    repo.git(&["config", "rollback.baseline", "known-good"]);
    let v = repo.tool_ok(&["--json", "baseline", "set"]).json();
    assert_eq!(v["baseline"], "known-good");
    assert_eq!(repo.rev("known-good^{commit}"), repo.head());
    assert_eq!(
        repo.rev("baseline^{commit}"),
        first,
        "the other tag is untouched"
    );
    let shown = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(shown["commit"], repo.head());
}

#[test]
fn set_refuses_an_existing_baseline_without_force() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set", "HEAD~1"]);
    let before = everything(&repo);
    let out = repo.tool(&["baseline", "set"]);
    assert_clean_error(&out, 1, "--force");
    assert!(out.stderr.contains("already exists"), "{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn set_force_keeps_the_old_baseline_as_prev() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set", "HEAD~1", "-m", "old one"]);
    let old_tag_object = repo.rev("refs/tags/baseline");
    repo.set_now("2026-11-22T08:30:00+00:00");
    let v = repo
        .tool_ok(&["--json", "baseline", "set", "--force"])
        .json();
    assert_eq!(v["previous"], "baseline-prev-20261122_083000");
    assert_eq!(v["commit"], repo.head());
    // The old tag object itself is kept, message and all.
    assert_eq!(
        repo.rev("refs/tags/baseline-prev-20261122_083000"),
        old_tag_object
    );
    assert_eq!(repo.rev("baseline^{commit}"), repo.head());
    assert_ne!(repo.rev("refs/tags/baseline"), old_tag_object);

    // Again in the same second: never overwrite, take the next free name.
    let second_old = repo.rev("refs/tags/baseline");
    let v = repo
        .tool_ok(&["--json", "baseline", "set", "HEAD~1", "--force"])
        .json();
    assert_eq!(v["previous"], "baseline-prev-20261122_083000-2");
    assert_eq!(
        repo.rev("refs/tags/baseline-prev-20261122_083000-2"),
        second_old
    );
    assert_eq!(
        repo.rev("refs/tags/baseline-prev-20261122_083000"),
        old_tag_object
    );
}

#[test]
fn set_bad_revision_and_unborn_head_are_errors() {
    let repo = TestRepo::with_commits();
    let before = everything(&repo);
    assert_clean_error(
        &repo.tool(&["baseline", "set", "no-such-branch"]),
        1,
        "unknown revision",
    );
    assert_nothing_changed(&repo, &before);

    let empty = TestRepo::new();
    let before = empty.capture();
    let out = empty.tool(&["baseline", "set"]);
    out.assert_code(1);
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert!(out.stderr.starts_with("error: "), "{out}");
    assert_same_state(&before, &empty.capture());
    assert!(empty.git(&["tag", "-l"]).is_empty());
}

#[test]
fn undo_of_set_force_is_exact_and_redo_sets_it_again() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set", "HEAD~1"]);
    dirty_everything(&repo);
    let before = repo.capture();
    repo.set_now("2026-11-22T08:30:00+00:00");
    let set = repo
        .tool_ok(&["--json", "baseline", "set", "--force"])
        .json();
    let after_set = repo.capture();
    assert_ne!(before.refs, after_set.refs);

    let undo = repo.tool_ok(&["--json", "undo"]).json();
    assert_eq!(undo["undoes"], set["operation_id"]);
    assert_same_state(&before, &repo.capture());

    repo.tool_ok(&["redo"]);
    assert_same_state(&after_set, &repo.capture());
}

#[test]
fn set_dry_run_changes_nothing_at_all() {
    let repo = TestRepo::with_commits();
    for args in [
        &["-n", "baseline", "set"][..],
        &["--dry-run", "--json", "baseline", "set", "HEAD~1"],
    ] {
        let before = everything(&repo);
        let out = repo.tool(args);
        out.assert_ok();
        assert_nothing_changed(&repo, &before);
    }
    // With an existing baseline, the plan names the kept copy.
    repo.tool_ok(&["baseline", "set", "HEAD~1"]);
    let before = everything(&repo);
    let v = repo
        .tool_ok(&["-n", "--json", "baseline", "set", "--force"])
        .json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["previous"], "baseline-prev-20261121_100405");
    assert_nothing_changed(&repo, &before);
}

// ----- show ----------------------------------------------------------------------

#[test]
fn show_reports_the_distance_from_head() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set", "-m", "the good one"]);
    commit_history(&repo, 3);
    repo.write("src/lib.rs", "pub fn add() {}\n");
    repo.commit_all("change lib");
    let v = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(v["commit"], repo.rev("HEAD~4"));
    assert_eq!(v["subject"], "add sources");
    assert_eq!(v["commits_since"], 4);
    assert_eq!(v["files_changed_since"], 4);
    assert_eq!(v["head_descends"], true);
    let out = repo.tool_ok(&["baseline", "show"]);
    assert!(out.stdout.contains("add sources"), "{out}");
    assert!(out.stdout.contains("the good one"), "{out}");
    // The age counts from when the baseline was set.
    repo.set_now("2026-11-23T10:04:05+00:00");
    let v = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(v["age_seconds"], 2 * 86_400);
    assert!(repo
        .tool_ok(&["baseline", "show"])
        .stdout
        .contains("2 days ago"));

    // A branch that forked before the baseline does not descend from it.
    repo.git(&["checkout", "-q", "-b", "elsewhere", "HEAD~5"]);
    commit_history(&repo, 1);
    let v = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(v["head_descends"], false);
    assert_eq!(v["commits_since"], 1);
    let out = repo.tool_ok(&["baseline", "show"]);
    assert!(out.stdout.contains("does not descend"), "{out}");
}

#[test]
fn show_without_a_baseline_hints_at_baseline_set() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["baseline", "show"]);
    assert_clean_error(&out, 1, "baseline set");
}

// ----- verify --------------------------------------------------------------------

#[test]
fn verify_runs_the_baseline_tree_elsewhere_and_leaves_the_work_tree_alone() {
    let repo = TestRepo::with_commits();
    repo.write("marker.txt", "baseline version\n");
    repo.commit_all("add marker");
    repo.tool_ok(&["baseline", "set"]);
    repo.write("marker.txt", "later commit\n");
    repo.commit_all("change marker");
    repo.write("marker.txt", "dirty work tree\n");
    repo.write("untracked.txt", "not in the baseline\n");
    dirty_everything(&repo);

    let out = out_file(&repo, "seen.txt");
    repo.git(&[
        "config",
        "rollback.testCommand",
        concat!(
            "{ cat marker.txt; ",
            "[ -e untracked.txt ] && echo UNTRACKED; ",
            "[ -e src/new.rs ] && echo STAGED; ",
            "[ -x bin/run.sh ] && echo EXEC; ",
            "[ -L link ] && echo LINK; ",
            "echo \"GIT_DIR=${GIT_DIR-unset} GIT_WORK_TREE=${GIT_WORK_TREE-unset} GIT_INDEX_FILE=${GIT_INDEX_FILE-unset}\"; ",
            "pwd; } > \"$OUT\"; ",
            "rm -f README.md; echo scribble > src/lib.rs; touch created-by-tests; ",
            "echo '1 passed'"
        ),
    ]);
    let git_dir = repo.git_dir();
    let before = repo.capture();
    let res = repo.tool_with_env(
        &["--json", "baseline", "verify"],
        &[
            ("OUT", out.to_str().unwrap()),
            ("GIT_DIR", git_dir.to_str().unwrap()),
            ("GIT_WORK_TREE", repo.path().to_str().unwrap()),
            ("GIT_INDEX_FILE", git_dir.join("index").to_str().unwrap()),
        ],
    );
    res.assert_ok();
    assert_eq!(res.json()["passed"], 1);
    assert_same_state(&before, &repo.capture());

    let seen = fs::read_to_string(&out).expect("the test command ran and wrote $OUT");
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "baseline version",
            "EXEC",
            "LINK",
            "GIT_DIR=unset GIT_WORK_TREE=unset GIT_INDEX_FILE=unset"
        ],
        "the command saw the baseline's files, no later or uncommitted ones:\n{seen}"
    );
    let dir = Path::new(lines[4]);
    assert!(
        !dir.starts_with(repo.path()) && dir != repo.path(),
        "ran in {dir:?}, inside the work tree"
    );
    assert!(
        !dir.exists(),
        "the temporary directory {dir:?} was left behind"
    );
}

#[test]
fn verify_reports_counts_and_fails_with_exit_4() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo 'test result: ok. 7 passed; 0 failed; 1 ignored'",
    ]);
    let v = repo.tool_ok(&["--json", "baseline", "verify"]).json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["passed"], 7);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["cached"], false);
    assert_eq!(v["commit"], repo.head());

    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo '3 passed, 1 failed'; exit 1",
    ]);
    let out = repo.tool(&["--json", "baseline", "verify"]);
    out.assert_code(4);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["passed"], 3);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["error"]["exit_code"], 4);

    // A command that fails without printing counts fails too.
    repo.git(&["config", "rollback.testCommand", "exit 3"]);
    let out = repo.tool(&["baseline", "verify"]);
    out.assert_code(4);
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[test]
fn verify_stops_tests_after_the_timeout_with_all_their_children() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let out_path = out_file(&repo, "late.txt");
    repo.git(&["config", "rollback.testTimeout", "1"]);
    repo.git(&[
        "config",
        "rollback.testCommand",
        "(sleep 2; echo late > \"$OUT\") & sleep 30",
    ]);
    let started = std::time::Instant::now();
    let out = repo.tool_with_env(
        &["--json", "baseline", "verify"],
        &[("OUT", out_path.to_str().unwrap())],
    );
    let took = started.elapsed();
    out.assert_code(4);
    assert_eq!(out.json()["timed_out"], true, "{out}");
    assert!(took.as_secs() < 10, "took {took:?}");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(
        !out_path.exists(),
        "a child of the test command outlived the timeout"
    );

    // A timeout that is not a positive number of seconds is a clear error.
    repo.git(&["config", "rollback.testTimeout", "0"]);
    assert_clean_error(
        &repo.tool(&["baseline", "verify", "--rerun"]),
        1,
        "rollback.testTimeout",
    );
}

#[test]
fn verify_never_calls_reported_failures_passed() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo '3 passed, 1 failed'",
    ]);
    let out = repo.tool(&["baseline", "verify"]);
    out.assert_code(4);
    assert!(out.stdout.contains("3 passed, 1 failed"), "{out}");
    assert!(
        !out.stdout.contains("passed (3 passed"),
        "a run with a failed test is summarised as passed\n{out}"
    );
}

#[test]
fn verify_result_is_cached_by_tree_and_command() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let runs = out_file(&repo, "runs.txt");
    let runs_s = runs.to_str().unwrap();
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo run >> \"$RUNS\"; echo '2 passed'",
    ]);
    let verify = |extra: &[&str]| {
        let mut args = vec!["--json", "baseline", "verify"];
        args.extend_from_slice(extra);
        let out = repo.tool_with_env(&args, &[("RUNS", runs_s)]);
        out.assert_ok();
        out.json()
    };
    let count = || {
        fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };

    assert_eq!(verify(&[])["cached"], false);
    assert_eq!(count(), 1);
    let cache = repo.git_dir().join("rollback").join("verify-cache.json");
    assert!(cache.is_file(), "cache at {cache:?}");

    let v = verify(&[]);
    assert_eq!(v["cached"], true);
    assert_eq!(v["passed"], 2);
    assert_eq!(count(), 1, "a cached result does not run the command again");

    assert_eq!(verify(&["--rerun"])["cached"], false);
    assert_eq!(count(), 2);
    assert_eq!(verify(&[])["cached"], true);
    assert_eq!(count(), 2);

    // A new baseline with another tree runs again.
    commit_history(&repo, 1);
    repo.tool_ok(&["baseline", "set", "--force"]);
    assert_eq!(verify(&[])["cached"], false);
    assert_eq!(count(), 3);

    // Another command for the same tree runs again.
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo run >> \"$RUNS\"; echo '5 passed'",
    ]);
    let v = verify(&[]);
    assert_eq!(v["cached"], false);
    assert_eq!(v["passed"], 5);
    assert_eq!(count(), 4);

    // A cached failure is still a failure.
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo run >> \"$RUNS\"; exit 1",
    ]);
    repo.tool_with_env(&["baseline", "verify"], &[("RUNS", runs_s)])
        .assert_code(4);
    let out = repo.tool_with_env(&["--json", "baseline", "verify"], &[("RUNS", runs_s)]);
    out.assert_code(4);
    assert_eq!(out.json()["cached"], true);
    assert_eq!(count(), 5);
}

#[test]
fn verify_cache_is_shared_by_linked_worktrees() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let runs = out_file(&repo, "runs.txt");
    let env = [("RUNS", runs.to_str().unwrap())];
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo run >> \"$RUNS\"; echo '1 passed'",
    ]);
    let wt = repo.root().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    repo.tool_with_env(&["baseline", "verify"], &env)
        .assert_ok();
    let mut cmd = repo.tool_command(&["--json", "baseline", "verify"]);
    cmd.current_dir(&wt).envs(env);
    let out = ToolOutput::from_output(cmd.output().unwrap());
    out.assert_ok();
    assert_eq!(out.json()["cached"], true, "{out}");
    assert_eq!(fs::read_to_string(&runs).unwrap().lines().count(), 1);
    assert!(repo
        .git_dir()
        .join("rollback")
        .join("verify-cache.json")
        .is_file());
}

#[test]
fn verify_dry_run_runs_nothing() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let runs = out_file(&repo, "runs.txt");
    repo.git(&["config", "rollback.testCommand", "echo run >> \"$RUNS\""]);
    let before = everything(&repo);
    let out = repo.tool_with_env(
        &["-n", "baseline", "verify"],
        &[("RUNS", runs.to_str().unwrap())],
    );
    out.assert_ok();
    assert!(!runs.exists(), "a dry run ran the tests\n{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn verify_detects_the_command_from_the_baseline_tree() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    // Not configured, nothing to detect in the baseline.
    let out = repo.tool(&["baseline", "verify"]);
    assert_clean_error(&out, 1, "rollback.testCommand");

    // A Makefile in the work tree only does not count: the baseline is tested.
    repo.write("Makefile", "test:\n\t@echo '9 passed'\n");
    let out = repo.tool(&["baseline", "verify"]);
    assert_clean_error(&out, 1, "rollback.testCommand");

    // In the baseline it does: `make test`.
    repo.commit_all("add Makefile");
    repo.tool_ok(&["baseline", "set", "--force"]);
    let v = repo.tool_ok(&["--json", "baseline", "verify"]).json();
    assert_eq!(v["test_command"], "make test");
    assert_eq!(v["passed"], 9);

    // git config wins over detection.
    repo.git(&["config", "rollback.testCommand", "echo '4 passed'"]);
    let v = repo.tool_ok(&["--json", "baseline", "verify"]).json();
    assert_eq!(v["test_command"], "echo '4 passed'");
    assert_eq!(v["passed"], 4);
}

#[test]
fn tracked_files_never_configure_the_tool() {
    let repo = TestRepo::with_commits();
    let pwned = out_file(&repo, "pwned");
    let config = format!(
        "[rollback]\n\ttestCommand = touch '{}'\n\tbaseline = evil\n\tcheckpointPrefix = evil-\n\treportsDir = evil\n",
        pwned.display()
    );
    for name in [
        ".gitconfig",
        ".git-rollback-sprint",
        ".rollback",
        ".rollbackrc",
        "rollback.toml",
        ".git-rollback-sprint.toml",
        ".config/git/config",
    ] {
        repo.write(name, &config);
    }
    repo.commit_all("a hostile clone");
    let v = repo.tool_ok(&["--json", "baseline", "set"]).json();
    assert_eq!(v["baseline"], "baseline");
    assert!(repo.git(&["tag", "-l", "evil*"]).is_empty());
    let v = repo.tool_ok(&["--json", "checkpoint"]).json();
    assert_eq!(v["tag"], "checkpoint-20261121_100405");
    let out = repo.tool(&["baseline", "verify"]);
    assert_clean_error(&out, 1, "rollback.testCommand");
    repo.tool_ok(&[
        "metrics",
        "record",
        "--severity",
        "low",
        "--cause",
        "c",
        "--minutes",
        "1",
    ]);
    assert!(repo.exists("rollbacks/metrics.json"));
    assert!(!repo.exists("evil"));
    assert!(
        !pwned.exists(),
        "a tracked file made the tool run a command"
    );
}

// ----- push and pull ---------------------------------------------------------------

/// A repository with `origin` = a bare repository in the sandbox root that
/// already has `main`; returns the remote's path.
fn with_remote(repo: &TestRepo) -> PathBuf {
    repo.git_in(
        repo.root(),
        &["init", "-q", "--bare", "-b", "main", "remote.git"],
    );
    let remote = repo.root().join("remote.git");
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    remote
}

/// A teammate's clone of the remote, next to the repository.
fn teammate(repo: &TestRepo) -> PathBuf {
    repo.git_in(repo.root(), &["clone", "-q", "remote.git", "mate"]);
    repo.root().join("mate")
}

#[test]
fn push_sends_the_baseline_and_refuses_to_replace_a_different_one() {
    let repo = TestRepo::with_commits();
    let remote = with_remote(&repo);
    repo.tool_ok(&["baseline", "set"]);
    let v = repo.tool_ok(&["--json", "baseline", "push"]).json();
    assert_eq!(v["remote"], "origin");
    let local_tag = repo.rev("refs/tags/baseline");
    assert_eq!(
        tag_ref(&remote, &repo, "baseline"),
        format!("tag {local_tag}")
    );
    // Pushing the same baseline again is fine.
    repo.tool_ok(&["baseline", "push"]);

    // A different local baseline is not pushed over the remote one...
    repo.tool_ok(&["baseline", "set", "HEAD~1", "--force"]);
    let before = repo.capture();
    let out = repo.tool(&["baseline", "push", "origin"]);
    assert_clean_error(&out, 1, "--force");
    assert_eq!(
        tag_ref(&remote, &repo, "baseline"),
        format!("tag {local_tag}")
    );
    assert_same_state(&before, &repo.capture());
    // A dry run pushes nothing.
    repo.tool_ok(&["-n", "baseline", "push", "--force"]);
    assert_eq!(
        tag_ref(&remote, &repo, "baseline"),
        format!("tag {local_tag}")
    );
    // ...unless forced.
    repo.tool_ok(&["baseline", "push", "--force"]);
    assert_eq!(
        tag_ref(&remote, &repo, "baseline"),
        format!("tag {}", repo.rev("refs/tags/baseline"))
    );
    // Only the baseline tag was sent.
    assert!(repo
        .git_in(
            &remote,
            &["for-each-ref", "--format=%(refname)", "refs/tags"]
        )
        .lines()
        .all(|r| r == "refs/tags/baseline"));
}

#[test]
fn push_and_pull_need_a_remote() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let before = everything(&repo);
    for args in [&["baseline", "push"][..], &["baseline", "pull"]] {
        assert_clean_error(&repo.tool(args), 1, "git remote add");
    }
    assert_nothing_changed(&repo, &before);
    with_remote(&repo);
    let before = capture_local(repo.path());
    for args in [
        &["baseline", "push", "upstream"][..],
        &["baseline", "pull", "upstream"],
    ] {
        assert_clean_error(&repo.tool(args), 1, "upstream");
    }
    // The remote has no baseline yet: the hint says how to share one.
    assert_clean_error(&repo.tool(&["baseline", "pull"]), 1, "baseline push");
    assert_same_state(&before, &capture_local(repo.path()));
}

#[test]
fn pull_creates_a_missing_baseline_and_undo_removes_it() {
    let repo = TestRepo::with_commits();
    let _remote = with_remote(&repo);
    let mate = teammate(&repo);
    repo.tool_ok(&["baseline", "set", "-m", "team baseline"]);
    repo.tool_ok(&["baseline", "push"]);
    let pushed = repo.rev("refs/tags/baseline");

    let before = crate::common::capture_repo(&mate);
    let out = repo.tool_in(&mate, &["--json", "baseline", "pull"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["changed"], true);
    assert!(v["operation_id"].as_str().is_some());
    assert_eq!(tag_ref(&mate, &repo, "baseline"), format!("tag {pushed}"));
    assert!(
        repo.git_in(&mate, &["for-each-ref", "refs/rollback/incoming"])
            .is_empty(),
        "the fetched ref was left behind"
    );
    // Journaled: it shows in the log and undo removes it exactly.
    let log = repo.tool_in(&mate, &["--json", "log"]).json();
    assert_eq!(
        log["operations"][0]["refs_created"],
        serde_json::json!(["refs/tags/baseline"])
    );
    repo.tool_in(&mate, &["undo"]).assert_ok();
    assert_same_state(&before, &crate::common::capture_repo(&mate));
}

#[test]
fn pull_of_the_same_baseline_changes_nothing() {
    let repo = TestRepo::with_commits();
    with_remote(&repo);
    repo.tool_ok(&["baseline", "set"]);
    repo.tool_ok(&["baseline", "push"]);
    let before = capture_local(repo.path());
    let journal = repo.git_dir().join("rollback").join("journal.jsonl");
    let journal_before = fs::read(&journal).unwrap();
    let out = repo.tool(&["--json", "baseline", "pull"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["changed"], false);
    let human = repo.tool_ok(&["baseline", "pull"]);
    assert!(human.stdout.contains("already"), "{human}");
    assert_same_state(&before, &capture_local(repo.path()));
    assert_eq!(
        fs::read(&journal).unwrap(),
        journal_before,
        "no journal entry"
    );
    assert!(repo
        .git(&["for-each-ref", "refs/rollback/incoming"])
        .is_empty());
}

#[test]
fn pull_never_moves_a_different_local_baseline_without_force() {
    let repo = TestRepo::with_commits();
    with_remote(&repo);
    let mate = teammate(&repo);
    repo.tool_ok(&["baseline", "set"]);
    repo.tool_ok(&["baseline", "push"]);
    let theirs = repo.rev("refs/tags/baseline");

    // The teammate has their own, older baseline.
    repo.tool_in(&mate, &["baseline", "set", "HEAD~1", "-m", "mine"])
        .assert_ok();
    let mine = repo.git_in(&mate, &["rev-parse", "refs/tags/baseline"]);
    let before = crate::common::capture_repo(&mate);
    let out = repo.tool_in(&mate, &["baseline", "pull"]);
    assert_clean_error(&out, 1, "--force");
    assert_same_state(&before, &crate::common::capture_repo(&mate));
    assert!(repo
        .git_in(&mate, &["for-each-ref", "refs/rollback/incoming"])
        .is_empty());

    // With --force the remote one wins and theirs is kept.
    repo.set_now("2026-11-23T09:15:00+00:00");
    let v = repo
        .tool_in(&mate, &["--json", "baseline", "pull", "--force"])
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["changed"], true);
    assert_eq!(v["previous"], "baseline-prev-20261123_091500");
    assert_eq!(tag_ref(&mate, &repo, "baseline"), format!("tag {theirs}"));
    assert_eq!(
        tag_ref(&mate, &repo, "baseline-prev-20261123_091500"),
        format!("tag {mine}")
    );
    assert!(repo
        .git_in(&mate, &["for-each-ref", "refs/rollback/incoming"])
        .is_empty());
    repo.set_now("2026-11-23T09:20:00+00:00");
    repo.tool_in(&mate, &["undo"]).assert_ok();
    assert_same_state(&before, &crate::common::capture_repo(&mate));
}

#[test]
fn pull_dry_run_changes_nothing_at_all() {
    let repo = TestRepo::with_commits();
    with_remote(&repo);
    let mate = teammate(&repo);
    repo.tool_ok(&["baseline", "set"]);
    repo.tool_ok(&["baseline", "push"]);
    let before = (
        crate::common::capture_repo(&mate),
        capture_dir(&mate.join(".git")),
    );
    let out = repo.tool_in(&mate, &["-n", "baseline", "pull"]);
    out.assert_ok();
    assert_same_state(&before.0, &crate::common::capture_repo(&mate));
    assert_same_dir(&before.1, &capture_dir(&mate.join(".git")));
    assert!(repo.git_in(&mate, &["tag", "-l"]).is_empty());
}

/// Each ecosystem's marker file names its runner (README: Settings), seen in a
/// dry run so that nothing runs.
#[test]
fn verify_detects_each_common_runner() {
    for (file, command) in [
        ("Cargo.toml", "cargo test"),
        ("package.json", "npm test"),
        ("go.mod", "go test ./..."),
        ("pytest.ini", "pytest"),
        ("pyproject.toml", "pytest"),
        ("Makefile", "make test"),
    ] {
        let repo = TestRepo::with_commits();
        repo.write(file, "\n");
        repo.commit_all(&format!("add {file}"));
        repo.tool_ok(&["baseline", "set"]);
        let v = repo.tool_ok(&["--json", "-n", "baseline", "verify"]).json();
        assert_eq!(v["test_command"], command, "{file}");
    }
}
