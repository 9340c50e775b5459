//! Tests of the smaller seams of the commands: how `recover` reads a branch
//! after `--pick`, `emergency --clean-ignored` when the ignored files and
//! the git directory are on different filesystems, checks that must come
//! before the first change, a branch that another worktree has checked
//! out, and names with control characters in human output.
//!
//! Every refusal is checked against a capture of the whole state (and of
//! the git directory where the journal lives); every change is undone and
//! compared with the capture from before it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{
    assert_same_dir, assert_same_except_reports, assert_same_state, capture_dir, capture_repo,
    DirState, RepoState, TestRepo, ToolOutput,
};

// ----- helpers -----------------------------------------------------------------

fn tag_baseline(repo: &TestRepo, rev: &str) {
    repo.git(&["tag", "-a", "baseline", "-m", "known good", rev]);
}

/// The repository's state and its git directory (journal included).
fn everything(repo: &TestRepo) -> (RepoState, DirState) {
    (repo.capture(), capture_dir(&repo.git_dir()))
}

#[track_caller]
fn assert_nothing_changed(repo: &TestRepo, before: &(RepoState, DirState)) {
    let after = everything(repo);
    assert_same_state(&before.0, &after.0);
    assert_same_dir(&before.1, &after.1);
}

/// Run the tool, expect a one-line refusal with exit `code` that changed
/// nothing at all; returns the output.
#[track_caller]
fn refused(repo: &TestRepo, args: &[&str], code: i32) -> ToolOutput {
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
