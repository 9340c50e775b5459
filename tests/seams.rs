//! Tests of the smaller seams of the commands: how `recover` reads a branch
//! after `--pick`, `emergency --clean-ignored` when the ignored files and
//! the git directory are on different filesystems, checks that must come
//! before the first change, a branch that another worktree has checked
//! out, and names with control characters in human output.
//!
//! Every refusal is checked against a capture of the whole state (and of
//! the git directory where the journal lives); every change is undone and
//! compared with the capture from before it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{
    assert_nothing_changed, assert_same_dir, assert_same_except_reports, assert_same_state,
    assert_unchanged_by, capture_dir, capture_repo, everything, TestRepo, ToolOutput,
};

// ----- helpers -----------------------------------------------------------------

fn tag_baseline(repo: &TestRepo, rev: &str) {
    repo.git(&["tag", "-a", "baseline", "-m", "known good", rev]);
}

/// Run the tool, expect a one-line refusal with exit `code` that changed
/// nothing at all; returns the output.
#[track_caller]
fn refused(repo: &TestRepo, args: &[&str], code: i32) -> ToolOutput {
    // Every run makes sure the (empty) journal folder exists: not a change.
    let journal = repo.git_dir().join("rollback");
    fs::create_dir_all(&journal).unwrap_or_else(|e| panic!("{}: {e}", journal.display()));
    let before = everything(repo);
    let out = repo.tool(args);
    out.assert_code(code);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line\n{out}");
    assert_nothing_changed(repo, &before);
    out
}

// ----- 1. recover: the failed branch after --pick ------------------------------------

/// A baseline, a branch `failed` with commits A, B, C (each adds a file)
/// and `main` checked out at the baseline. Returns [A, B, C].
fn recover_fixture() -> (TestRepo, Vec<String>) {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    let mut c = Vec::new();
    for name in ["a", "b", "c"] {
        repo.write(
            format!("src/{name}.rs"),
            format!("pub const X: &str = \"{name}\";\n"),
        );
        c.push(repo.commit_all(&format!("add {name}")));
    }
    repo.git(&["checkout", "-q", "main"]);
    (repo, c)
}

/// The commits a `--json recover` picked, oldest first.
fn picked(out: &ToolOutput) -> Vec<String> {
    out.assert_ok();
    let v: Value = out.json();
    v["picked"]
        .as_array()
        .unwrap_or_else(|| panic!("no picked list\n{out}"))
        .iter()
        .map(|p| p["from"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn recover_takes_the_branch_after_the_picked_commits() {
    let (repo, c) = recover_fixture();
    let before = repo.capture();
    let out = repo.tool(&[
        "--json",
        "recover",
        "--no-tests",
        "--pick",
        &c[0],
        &c[2],
        "failed",
    ]);
    assert_eq!(picked(&out), [c[0].clone(), c[2].clone()], "{out}");
    assert_eq!(out.json()["failed_branch"], "failed", "{out}");
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn recover_reads_every_way_of_naming_the_branch_and_the_commits() {
    let (repo, c) = recover_fixture();
    let want = vec![c[0].clone(), c[1].clone()];
    let forms: Vec<Vec<&str>> = vec![
        vec!["failed", "--pick", &c[0], &c[1]],
        vec!["--pick", &c[1], &c[0], "failed"],
        vec!["--pick", &c[0], "--pick", &c[1], "failed"],
        vec!["failed", "--pick", &c[0], "--pick", &c[1]],
        vec!["--pick", &c[0], &c[1], "--", "failed"],
        vec!["--pick", &c[0][..10], &c[1], "refs/heads/failed"],
    ];
    for form in forms {
        let before = repo.capture();
        let mut args = vec!["--json", "recover", "--no-tests"];
        args.extend(&form);
        let out = repo.tool(&args);
        assert_eq!(picked(&out), want, "{form:?}\n{out}");
        repo.tool_ok(&["undo"]);
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn recover_without_a_branch_says_what_to_type_and_changes_nothing() {
    let (repo, c) = recover_fixture();
    // The last value after --pick is a commit, not a branch.
    let out = refused(&repo, &["recover", "--no-tests", "--pick", &c[0], &c[1]], 2);
    out.assert_stderr_contains("is not a branch");
    out.assert_stderr_contains("recover FAILED_BRANCH --pick SHA");
    // Only a branch after --pick: no commit to pick.
    let out = refused(&repo, &["recover", "--no-tests", "--pick", "failed"], 2);
    out.assert_stderr_contains("--pick names no commit");
    // Nothing at all.
    let out = refused(&repo, &["recover", "--no-tests"], 2);
    out.assert_stderr_contains("recover FAILED_BRANCH --pick SHA");
}

#[test]
fn recover_with_commas_between_commits_says_to_use_spaces() {
    let (repo, c) = recover_fixture();
    let both = format!("{},{}", c[0], c[1]);
    let out = refused(
        &repo,
        &["recover", "--no-tests", "--pick", &both, "failed"],
        2,
    );
    out.assert_stderr_contains("--pick A B");
    let out = refused(
        &repo,
        &["recover", "failed", "--no-tests", "--pick", &both],
        2,
    );
    out.assert_stderr_contains("--pick A B");
}

// ----- 4. a branch checked out in another worktree -------------------------------------

/// `with_commits()`, the baseline at its first commit, dirty files, and
/// `main` also checked out (forced, as git allows with `-f`) in a linked
/// worktree beside the repository. Returns the worktree's path.
fn shared_branch_fixture() -> (TestRepo, PathBuf) {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD~1");
    repo.write("README.md", "edited, not committed\n");
    repo.write("notes.txt", "untracked\n");
    let wt = repo.root().join("second");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-f",
        "--no-checkout",
        path_str(&wt),
        "main",
    ]);
    repo.git_in(&wt, &["reset", "-q", "--hard"]);
    (repo, wt)
}

fn path_str(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("not UTF-8: {}", p.display()))
}

#[test]
fn emergency_refuses_to_move_a_branch_another_worktree_has_checked_out() {
    let (repo, wt) = shared_branch_fixture();
    let other = capture_repo(&wt);
    let out = refused(&repo, &["emergency", "--yes"], 1);
    out.assert_stderr_contains("branch main, which the worktree");
    out.assert_stderr_contains(path_str(&wt));
    out.assert_stderr_contains("git worktree remove");
    assert_same_state(&other, &capture_repo(&wt));

    // From the linked worktree, the same branch held by the main one.
    let main_state = everything(&repo);
    let out = repo.tool_in(&wt, &["emergency", "--yes"]);
    out.assert_code(1);
    out.assert_stderr_contains("branch main, which the worktree");
    out.assert_stderr_contains(path_str(repo.path()));
    assert_same_state(&other, &capture_repo(&wt));
    assert_nothing_changed(&repo, &main_state);

    // Detached here, nothing shared is moved: it goes ahead, and undoes.
    repo.git(&["switch", "-q", "--detach"]);
    let before = repo.capture();
    let main = repo.rev("main");
    repo.tool_ok(&["emergency", "--yes"]);
    assert_eq!(repo.rev("main"), main);
    assert_eq!(repo.git_in(&wt, &["status", "--porcelain"]), "");
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn recover_continue_refuses_when_another_worktree_has_the_recovery_branch() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    repo.write("README.md", "the sprint's readme\n");
    let a = repo.commit_all("readme: sprint");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "main's readme\n");
    repo.commit_all("readme: main");
    let out = repo.tool(&["recover", "failed", "--no-tests", "--pick", &a]);
    out.assert_code(3);
    let branch = repo.git(&["branch", "--show-current"]);
    repo.write("README.md", "resolved\n");
    repo.git(&["add", "README.md"]);
    let wt = repo.root().join("second");
    repo.git(&["worktree", "add", "-q", "-f", path_str(&wt), &branch]);
    let out = refused(&repo, &["recover", "--continue"], 1);
    out.assert_stderr_contains("which the worktree");
    // Once that worktree is gone, --continue goes on.
    repo.git(&["worktree", "remove", "--force", path_str(&wt)]);
    repo.tool_ok(&["recover", "--continue"]);
}

// ----- 3. every check before the first change ---------------------------------------

/// A baseline with `src/lib.rs` and its test `tests/test_lib.py`, then a
/// commit that changes `src/lib.rs`. No test command is configured and
/// none can be detected (no Cargo.toml, Makefile, …).
fn mapped_tests_fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("src/lib.py", "def add(a, b):\n    return a + b\n");
    repo.write("tests/test_lib.py", "def test_add():\n    pass\n");
    repo.commit_all("library and its test");
    tag_baseline(&repo, "HEAD");
    repo.write("src/lib.py", "def add(a, b):\n    return a - b\n");
    repo.commit_all("break it");
    repo.git(&["config", "rollback.testPattern", "tests/test_{stem}.py"]);
    repo
}

#[test]
fn files_with_mapped_tests_and_no_test_command_is_refused_before_restoring() {
    let repo = mapped_tests_fixture();
    repo.write("src/lib.py", "edited, not committed\n");
    let out = refused(&repo, &["files", "src/lib.py"], 1);
    out.assert_stderr_contains("no test command");
    out.assert_stderr_contains("--no-tests");
    assert_eq!(repo.read_string("src/lib.py"), "edited, not committed\n");
    // Dry run says the same, and also changes nothing.
    refused(&repo, &["-n", "files", "src/lib.py"], 1);
    // With --no-tests it restores, and undo puts the edit back.
    let before = repo.capture();
    repo.tool_ok(&["files", "--no-tests", "src/lib.py"]);
    assert_eq!(
        repo.read_string("src/lib.py"),
        "def add(a, b):\n    return a + b\n"
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    // With a test command, the mapped test runs after the restore.
    repo.git(&["config", "rollback.testCommand", "true"]);
    let before = repo.capture();
    let out = repo.tool(&["--json", "files", "src/lib.py"]);
    out.assert_ok();
    assert_eq!(
        out.json()["tests"]["files"][0],
        "tests/test_lib.py",
        "{out}"
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn files_counts_a_test_file_it_restores_as_mapped() {
    // The test file is gone from the work tree; restoring the directory
    // brings it back, so its test is mapped and needs a command.
    let repo = mapped_tests_fixture();
    repo.git(&["rm", "-q", "tests/test_lib.py"]);
    repo.commit_all("drop the test");
    let out = refused(&repo, &["files", "src", "tests"], 1);
    out.assert_stderr_contains("no test command");
}

/// A reports folder that is a file: the metrics cannot be written there.
#[test]
fn emergency_and_sprint_rollback_refuse_a_file_where_the_reports_folder_goes() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD~1");
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-2"]);
    repo.write("README.md", "edited, not committed\n");
    repo.write("rollbacks", "a file, not a folder\n");
    for args in [
        vec!["emergency", "--yes"],
        vec!["sprint", "rollback", "--no-tests", "--yes"],
    ] {
        let out = refused(&repo, &args, 1);
        out.assert_stderr_contains("rollbacks is not a directory");
        out.assert_stderr_contains("rollback.reportsDir");
    }
    // A nested reports folder under a file is refused the same way.
    repo.git(&["config", "rollback.reportsDir", "rollbacks/team"]);
    let out = refused(&repo, &["emergency", "--yes"], 1);
    out.assert_stderr_contains(
        "rollbacks, which holds the reports folder rollbacks/team, is not a directory",
    );
    // Once the file is moved away, it goes ahead and undoes exactly.
    repo.git(&["config", "--unset", "rollback.reportsDir"]);
    repo.remove("rollbacks");
    let before = repo.capture();
    repo.tool_ok(&["emergency", "--yes"]);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn emergency_does_not_run_the_stop_command_while_another_run_holds_the_lock() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD~1");
    let marker = repo.tmp_dir().join("stopped");
    repo.git(&[
        "config",
        "rollback.stopCommand",
        &format!("touch '{}'", path_str(&marker)),
    ]);
    let mut holder = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn sleep: {e}"));
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let lock = serde_json::json!({"pid": holder.id(), "host": host.trim(),
        "command": "git rollback-sprint sprint rollback", "since": "2026-11-21T10:00:00+00:00"});
    let lock_path = repo.git_dir().join("rollback/lock");
    fs::create_dir_all(repo.git_dir().join("rollback")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(&lock_path, lock.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let out = refused(&repo, &["emergency", "--yes"], 1);
    let _ = holder.kill();
    let _ = holder.wait();
    out.assert_stderr_contains("sprint rollback");
    assert!(!marker.exists(), "the stop command ran\n{out}");
}

// ----- 2. --clean-ignored across filesystems ------------------------------------------

/// A folder on another filesystem than the test repositories (`/dev/shm`,
/// a tmpfs, on Linux), or `None` with the reason printed.
fn other_filesystem(repo: &TestRepo) -> Option<tempfile::TempDir> {
    use std::os::unix::fs::MetadataExt;
    let ours = fs::metadata(repo.root()).ok()?.dev();
    for candidate in ["/dev/shm", "/run/shm", "/tmp", "/var/tmp"] {
        let Ok(meta) = fs::metadata(candidate) else {
            continue;
        };
        if meta.dev() == ours {
            continue;
        }
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("seams-")
            .tempdir_in(candidate)
        {
            return Some(dir);
        }
    }
    crate::common::skip(
        &format!(
            "no writable folder on another filesystem than {} (tried /dev/shm, /run/shm, /tmp, /var/tmp)",
            repo.root().display()
        ),
        false,
    );
    None
}

#[test]
fn clean_ignored_in_a_worktree_on_another_filesystem_is_refused_before_anything_changes() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD~1");
    let Some(elsewhere) = other_filesystem(&repo) else {
        return;
    };
    let wt = elsewhere.path().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "side", path_str(&wt), "HEAD"]);
    fs::write(wt.join("README.md"), "edited, not committed\n").unwrap_or_else(|e| panic!("{e}"));
    fs::write(wt.join(".env"), "SECRET=1\n").unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir_all(wt.join("target/debug")).unwrap_or_else(|e| panic!("{e}"));
    fs::write(wt.join("target/debug/app"), "binary\n").unwrap_or_else(|e| panic!("{e}"));
    let wt_git_dir = repo.git_dir().join("worktrees/wt");
    fs::create_dir_all(wt_git_dir.join("rollback")).unwrap_or_else(|e| panic!("{e}"));

    for args in [
        vec!["emergency", "--yes", "--clean-ignored"],
        vec!["-n", "emergency", "--clean-ignored"],
    ] {
        let before = (capture_repo(&wt), capture_dir(&repo.git_dir()));
        let out = repo.tool_in(&wt, &args);
        out.assert_code(1);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
        out.assert_stderr_contains("on another filesystem");
        out.assert_stderr_contains("without --clean-ignored");
        assert_same_state(&before.0, &capture_repo(&wt));
        assert_same_dir(&before.1, &capture_dir(&repo.git_dir()));
    }

    // Without --clean-ignored the ignored files stay, and undo is exact.
    let before = capture_repo(&wt);
    repo.tool_in(&wt, &["emergency", "--yes"]).assert_ok();
    assert_eq!(
        fs::read_to_string(wt.join(".env")).ok().as_deref(),
        Some("SECRET=1\n")
    );
    repo.tool_in(&wt, &["undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo(&wt));
}

#[test]
fn clean_ignored_in_a_worktree_on_the_same_filesystem_moves_them_aside_and_back() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD~1");
    let wt = repo.root().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "side", path_str(&wt), "HEAD"]);
    fs::write(wt.join(".env"), "SECRET=1\n").unwrap_or_else(|e| panic!("{e}"));
    let before = capture_repo(&wt);
    repo.tool_in(&wt, &["emergency", "--yes", "--clean-ignored"])
        .assert_ok();
    assert!(!wt.join(".env").exists());
    repo.tool_in(&wt, &["undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo(&wt));
}

// ----- 5. control characters in names ----------------------------------------------------

/// Names a repository can hold that must not reach a terminal raw.
const ODD: [&str; 3] = ["a\nb.txt", "tab\there.txt", "\x1b[31mred.txt"];
/// The same names as human output shows them.
const ODD_SHOWN: [&str; 3] = [
    r#""a\nb.txt""#,
    r#""tab\there.txt""#,
    r#""\033[31mred.txt""#,
];

/// Nothing in the output is a control character but the line ends.
#[track_caller]
fn assert_no_raw_controls(out: &ToolOutput) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for line in text.lines() {
            assert!(
                !line.chars().any(char::is_control),
                "a control character reached {name}: {line:?}\n{out}"
            );
        }
    }
}

/// A line of output holding `shown` (so a raw newline did not split it).
#[track_caller]
fn assert_shows(text: &str, shown: &str) {
    assert!(
        text.lines().any(|l| l.contains(shown)),
        "{shown} is not shown:\n{text}"
    );
}

#[test]
fn check_hook_quotes_staged_paths_with_control_characters() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    let conflicted = "<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> other\n";
    for name in ODD {
        repo.write(name, conflicted);
    }
    repo.git(&["add", "-A"]);
    let out = assert_unchanged_by(&repo, || repo.tool(&["check", "--hook"]));
    out.assert_code(4);
    assert_no_raw_controls(&out);
    for shown in ODD_SHOWN {
        assert_shows(&out.stdout, &format!("{shown}:1"));
    }
    // JSON keeps the names as they are (JSON escapes them itself).
    let out = repo.tool(&["--json", "check", "--hook"]);
    let v = out.json();
    let markers: Vec<&str> = v["conflict_markers"]
        .as_array()
        .unwrap_or_else(|| panic!("no conflict_markers\n{out}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in ODD {
        assert!(
            markers.contains(&format!("{name}:1").as_str()),
            "{markers:?}"
        );
    }
}

#[test]
fn emergency_and_status_never_print_control_characters_raw() {
    let repo = TestRepo::with_commits();
    repo.write("odd.txt", "base\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "\x1b[31mbaseline\tsubject"]);
    tag_baseline(&repo, "HEAD");
    let out = repo.tool_ok(&["status"]);
    assert_no_raw_controls(&out);
    assert_shows(&out.stdout, r#""\033[31mbaseline\tsubject""#);

    repo.write("odd.txt", "sprint\n");
    repo.commit_all("sprint");
    for name in ODD {
        repo.write(name, "untracked\n");
    }
    repo.write("README.md", "edited\n");
    let before = repo.capture();
    let out = repo.tool_ok(&["emergency", "--yes"]);
    assert_no_raw_controls(&out);
    for name in ODD {
        assert!(!repo.exists(name), "{name:?} is still there");
    }
    let out = repo.tool_ok(&["status"]);
    assert_no_raw_controls(&out);
    let out = repo.tool_ok(&["undo"]);
    assert_no_raw_controls(&out);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn files_quotes_paths_with_control_characters_and_undoes_them() {
    let repo = TestRepo::with_commits();
    for name in ODD {
        repo.write(name, "baseline\n");
    }
    repo.commit_all("odd names");
    tag_baseline(&repo, "HEAD");
    for name in ODD {
        repo.write(name, "sprint\n");
    }
    repo.commit_all("sprint");
    for name in ODD {
        repo.write(name, "edited\n");
    }
    let new = format!("new{}", ODD[0]);
    repo.write(&new, "not in the baseline\n");
    let mut args = vec!["files", "--no-tests"];
    args.extend(ODD);
    args.push(&new);

    let mut dry = vec!["-n"];
    dry.extend(&args);
    let out = assert_unchanged_by(&repo, || repo.tool_ok(&dry));
    assert_no_raw_controls(&out);
    for shown in ODD_SHOWN {
        assert_shows(&out.stdout, &format!("restore {shown}"));
    }
    assert_shows(&out.stdout, r#"leave "newa\nb.txt" as it is"#);

    let before = repo.capture();
    let out = repo.tool_ok(&args);
    assert_no_raw_controls(&out);
    assert_shows(&out.stderr, r#""newa\nb.txt" does not exist in"#);
    for name in ODD {
        assert_eq!(repo.read_string(name), "baseline\n");
    }
    // The journal keeps the command line as the shell would quote it.
    let out = repo.tool_ok(&["log"]);
    assert_no_raw_controls(&out);
    assert_shows(
        &out.stdout,
        r"files --no-tests $'a\nb.txt' $'tab\there.txt' $'\x1b[31mred.txt'",
    );
    let out = repo.tool_ok(&["undo"]);
    assert_no_raw_controls(&out);
    assert_same_state(&before, &repo.capture());

    // JSON keeps the raw names.
    let mut json = vec!["--json"];
    json.extend(&args);
    let out = repo.tool_ok(&json);
    let restored = out.json()["restored"].clone();
    for name in ODD {
        assert!(
            restored
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == name)),
            "{restored}"
        );
    }
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}
