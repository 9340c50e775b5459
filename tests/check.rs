//! Tests of `check` (README: `check`): the pre-sprint checklist and its
//! checkpoint, and the pre-commit mode `check --hook`.
//!
//! The staged paths the hook looks at come from its own reading of the
//! index file and its cache-tree; they are compared with what
//! `git diff --cached` says, over index versions 2 and 4, valid and invalid
//! cache-trees, file↔directory changes and an unborn HEAD, by putting
//! conflict markers in every file and comparing the files the hook names.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use crate::common::{assert_same_dir, assert_same_state, capture_dir, TestRepo};

const MARKERS: &str = "start\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> 1234567 (x)\nend\n";

fn runs_file(repo: &TestRepo) -> PathBuf {
    repo.tmp_dir().join("runs.txt")
}

fn runs(repo: &TestRepo) -> usize {
    fs::read_to_string(runs_file(repo))
        .unwrap_or_default()
        .lines()
        .count()
}

/// A repository with a baseline and a counting, passing test command.
fn ready_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let cmd = format!(
        "echo run >> '{}'; echo '3 passed'",
        runs_file(&repo).display()
    );
    repo.git(&["config", "rollback.testCommand", &cmd]);
    repo
}

fn checkpoints(repo: &TestRepo) -> Vec<String> {
    repo.git(&["tag", "--list", "checkpoint-*"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn assert_check_fails(repo: &TestRepo, needle: &str) -> Value {
    let before = repo.capture();
    let out = repo.tool(&["--json", "check"]);
    out.assert_code(4);
    let v = out.json();
    assert_eq!(v["ok"], false, "{v}");
    let failed: Vec<&Value> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert!(
        failed
            .iter()
            .any(|c| c["detail"].as_str().unwrap_or("").contains(needle)),
        "no failed check mentions {needle:?}: {v}"
    );
    assert!(checkpoints(repo).is_empty(), "a checkpoint was made");
    assert_same_state(&before, &repo.capture());
    v
}

#[test]
fn a_clean_repository_passes_and_gets_a_checkpoint() {
    let repo = ready_repo();
    let before = repo.capture();
    let out = repo.tool_ok(&["check"]);
    assert!(out.stdout.contains("✓ baseline"), "{out}");
    let v = repo.tool_ok(&["--json", "check", "--no-checkpoint"]).json();
    assert_eq!(v["checkpoint"], Value::Null);
    let tags = checkpoints(&repo);
    assert_eq!(tags, ["checkpoint-20261121_100405"], "one checkpoint");
    assert_eq!(repo.rev("checkpoint-20261121_100405^{commit}"), repo.head());
    // Its undo leaves the repository as it was.
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn the_second_check_uses_the_cached_baseline_result() {
    let repo = ready_repo();
    repo.tool_ok(&["check", "--no-checkpoint"]);
    assert_eq!(runs(&repo), 1);
    let out = repo.tool_ok(&["check", "--no-checkpoint"]);
    assert_eq!(runs(&repo), 1, "the tests ran again\n{out}");
    assert!(out.stdout.contains("[cached]"), "{out}");
    // `baseline verify` shares the cache.
    repo.tool_ok(&["baseline", "verify"]);
    assert_eq!(runs(&repo), 1);
    // A new baseline tree is tested again.
    repo.write("new.txt", "x\n");
    repo.commit_all("more");
    repo.tool_ok(&["baseline", "set", "--force"]);
    repo.tool_ok(&["check", "--no-checkpoint"]);
    assert_eq!(runs(&repo), 2);
}

#[test]
fn the_baseline_tests_never_touch_the_work_tree() {
    let repo = ready_repo();
    // A test command that would change the tree it runs in.
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo scribble > scribble.txt; rm -f README.md; echo '1 passed'",
    ]);
    repo.write("notes.txt", "ignored by nobody\n");
    repo.git(&["add", "notes.txt"]);
    repo.git(&["commit", "-q", "-m", "notes"]);
    repo.tool_ok(&["baseline", "set", "--force"]);
    let before = repo.capture();
    repo.tool_ok(&["check", "--no-checkpoint"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn a_dirty_tree_fails_without_a_checkpoint() {
    let repo = ready_repo();
    repo.write("README.md", "changed\n");
    assert_check_fails(&repo, "uncommitted changes");
}

#[test]
fn failing_baseline_tests_fail_without_a_checkpoint() {
    let repo = ready_repo();
    repo.git(&[
        "config",
        "rollback.testCommand",
        "echo '1 passed, 2 failed'; exit 1",
    ]);
    assert_check_fails(&repo, "baseline tests");
}

#[test]
fn a_merge_in_progress_fails_without_a_checkpoint() {
    let repo = ready_repo();
    let base = repo.head();
    let main = repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
    repo.write("README.md", "one side\n");
    repo.commit_all("one");
    repo.git(&["checkout", "-q", "-b", "other", &base]);
    repo.write("README.md", "other side\n");
    repo.commit_all("other");
    let out = repo.git_output(&["merge", "-q", main.trim()]);
    assert!(!out.status.success(), "the merge should conflict");
    assert!(repo.git_dir().join("MERGE_HEAD").exists());
    assert_check_fails(&repo, "merge");
}

#[test]
fn a_full_disk_fails_without_a_checkpoint() {
    let repo = crate::common::on_disk(ready_repo);
    repo.git(&["config", "rollback.diskThreshold", "1"]);
    assert_check_fails(&repo, "threshold");
}

#[test]
fn a_failing_setup_command_fails_without_a_checkpoint() {
    let repo = ready_repo();
    repo.git(&[
        "config",
        "rollback.setupCommand",
        "echo 'node_modules missing'; exit 3",
    ]);
    let v = assert_check_fails(&repo, "setup command");
    assert!(v.to_string().contains("node_modules missing"), "{v}");
}

#[test]
fn dry_run_changes_nothing() {
    let repo = ready_repo();
    let before = (repo.capture(), capture_dir(&repo.git_dir()));
    let out = repo.tool_ok(&["-n", "check"]);
    assert!(out.stdout.contains("would tag HEAD"), "{out}");
    assert_eq!(runs(&repo), 0, "a dry run ran the tests");
    assert_same_state(&before.0, &repo.capture());
    assert_same_dir(&before.1, &capture_dir(&repo.git_dir()));
}

// ----- check --hook ----------------------------------------------------------------

/// Files the hook names for conflict markers.
fn hook_marked(repo: &TestRepo) -> BTreeSet<String> {
    let out = repo.tool(&["--json", "check", "--hook"]);
    let v = out.json();
    v["conflict_markers"]
        .as_array()
        .expect("conflict_markers")
        .iter()
        .map(|m| {
            let s = m.as_str().expect("a string");
            s[..s.rfind(':').expect("file:line")].to_string()
        })
        .collect()
}

/// Files git says are staged (added, modified, type-changed).
fn git_staged(repo: &TestRepo) -> BTreeSet<String> {
    repo.git(&[
        "diff",
        "--cached",
        "--name-only",
        "--no-renames",
        "--diff-filter=AMT",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// Stage marked content in a spread of places and compare.
fn stage_everywhere(repo: &TestRepo) {
    for d in 0..6 {
        for f in 0..5 {
            repo.write(format!("tree/d{d}/sub/f{f}.txt"), format!("{d} {f}\n"));
        }
    }
    repo.write("top.txt", "top\n");
    repo.write("swap", "a file that becomes a directory\n");
    repo.mkdir("gone");
    repo.write("gone/x.txt", "x\n");
    repo.commit_all("layout");
    repo.write("tree/d1/sub/f2.txt", MARKERS);
    repo.write("tree/d4/new.txt", MARKERS);
    repo.write("top.txt", MARKERS);
    repo.remove("swap");
    repo.write("swap/inner.txt", MARKERS);
    repo.remove("gone/x.txt");
    fs::remove_dir(repo.abs("gone")).expect("remove the empty directory");
    repo.write("gone", MARKERS);
    repo.write("tree/d5/sub/f0.txt", "no markers, still staged\n");
    repo.git(&["add", "-A"]);
}

#[test]
fn hook_names_exactly_the_staged_files_git_names() {
    let repo = TestRepo::with_commits();
    stage_everywhere(&repo);
    let git: BTreeSet<String> = git_staged(&repo)
        .into_iter()
        .filter(|p| p != "tree/d5/sub/f0.txt")
        .collect();
    assert_eq!(hook_marked(&repo), git, "index v2 with git's cache-tree");

    // The same index as version 4 (prefix-compressed paths).
    repo.git(&["update-index", "--index-version", "4"]);
    assert_eq!(hook_marked(&repo), git, "index v4");

    // An index without a valid cache-tree.
    repo.git(&["read-tree", "HEAD"]);
    repo.git(&["add", "-A"]);
    assert_eq!(hook_marked(&repo), git, "invalidated cache-tree");
}

#[test]
fn hook_on_an_unborn_head_sees_every_file_as_staged() {
    let repo = TestRepo::new();
    repo.write("a.txt", MARKERS);
    repo.write("dir/b.txt", MARKERS);
    repo.write("c.txt", "clean\n");
    repo.git(&["add", "-A"]);
    let marked = hook_marked(&repo);
    assert_eq!(
        marked,
        BTreeSet::from(["a.txt".to_string(), "dir/b.txt".to_string()])
    );
}

#[test]
fn hook_passes_a_clean_commit_and_stops_one_with_markers() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo.write("README.md", "clean change\n");
    repo.git(&["add", "README.md"]);
    let out = repo.tool_ok(&["check", "--hook"]);
    assert!(out.stdout.contains("1 staged path"), "{out}");

    repo.write("src/lib.rs", MARKERS);
    repo.git(&["add", "src/lib.rs"]);
    let before = repo.capture();
    let out = repo.tool(&["check", "--hook"]);
    out.assert_code(4);
    assert!(out.stdout.contains("src/lib.rs:2"), "{out}");
    assert!(out.stdout.contains("src/lib.rs:4"), "{out}");
    assert!(out.stdout.contains("src/lib.rs:6"), "{out}");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn hook_reads_the_staged_version_not_the_work_tree() {
    let repo = TestRepo::with_commits();
    repo.write("README.md", MARKERS);
    repo.git(&["add", "README.md"]);
    // Fixed in the work tree but not staged: the commit would carry markers.
    repo.write("README.md", "fixed\n");
    repo.tool(&["check", "--hook"]).assert_code(4);
    // Markers only in the work tree: the commit is clean.
    repo.git(&["add", "README.md"]);
    repo.write("README.md", MARKERS);
    repo.tool_ok(&["check", "--hook"]);
}

#[test]
fn hook_ignores_binary_files_and_heading_underlines() {
    let repo = TestRepo::with_commits();
    let mut binary = b"\0\x01binary\n".to_vec();
    binary.extend_from_slice(MARKERS.as_bytes());
    repo.write("blob.bin", &binary);
    repo.write("doc.rst", "Title\n=======\n\nText.\n");
    repo.git(&["add", "-A"]);
    repo.tool_ok(&["check", "--hook"]);
}

#[test]
fn hook_allows_concluding_a_merge_but_not_unmerged_paths() {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    let main = repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
    repo.write("README.md", "one side\n");
    repo.commit_all("one");
    repo.git(&["checkout", "-q", "-b", "other", &base]);
    repo.write("README.md", "other side\n");
    repo.commit_all("other");
    let merge = repo.git_output(&["merge", "-q", main.trim()]);
    assert!(!merge.status.success(), "the merge should conflict");
    // Unmerged: stopped, the path named.
    let out = repo.tool(&["check", "--hook"]);
    out.assert_code(4);
    assert!(out.stdout.contains("README.md"), "{out}");
    // Resolved and staged: committing the merge is allowed.
    repo.write("README.md", "both sides\n");
    repo.git(&["add", "README.md"]);
    repo.tool_ok(&["check", "--hook"]);
}

#[test]
fn hook_warns_when_head_leaves_the_baseline() {
    let repo = TestRepo::with_commits();
    repo.write("x.txt", "x\n");
    repo.commit_all("ahead");
    repo.tool_ok(&["baseline", "set"]);
    repo.git(&["checkout", "-q", "HEAD~1"]);
    let out = repo.tool_ok(&["--json", "check", "--hook"]);
    assert!(out.stderr.contains("does not descend"), "{out}");
    assert_eq!(out.json()["descends_from_baseline"], false);
}

/// The commit `<git-dir>/rollback/descends` names as known to descend from
/// the baseline, if the file is there.
fn remembered_descendant(repo: &TestRepo) -> Option<String> {
    let text = fs::read_to_string(repo.git_dir().join("rollback").join("descends")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("commit "))
        .map(str::to_string)
}

fn hook_says_descends(repo: &TestRepo) -> bool {
    let out = repo.tool_ok(&["--json", "check", "--hook"]);
    let descends = out.json()["descends_from_baseline"].as_bool();
    assert_eq!(
        out.stderr.contains("does not descend"),
        descends == Some(false),
        "{out}"
    );
    descends.unwrap_or_else(|| panic!("no answer: {out}"))
}

/// A repository with the baseline set at HEAD and one commit made since.
fn one_commit_past_the_baseline() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo.write("x.txt", "x\n");
    repo.commit_all("ahead");
    repo
}

#[test]
fn hook_remembers_the_last_head_found_to_descend_from_the_baseline() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    for n in 0..3 {
        repo.write("x.txt", format!("{n}\n"));
        repo.commit_all(&format!("sprint {n}"));
    }
    assert_eq!(remembered_descendant(&repo), None);
    assert!(hook_says_descends(&repo));
    assert_eq!(remembered_descendant(&repo), Some(repo.head()));

    // One commit on, and a merge of a side branch that forked before the
    // remembered commit: both found by the short walk, and remembered.
    repo.write("x.txt", "next\n");
    repo.commit_all("next");
    assert!(hook_says_descends(&repo));
    assert_eq!(remembered_descendant(&repo), Some(repo.head()));
    let main = repo.head();
    repo.git(&["checkout", "-q", "-b", "side", "HEAD~2"]);
    repo.write("side.txt", "side\n");
    repo.commit_all("side");
    repo.git(&["checkout", "-q", "-"]);
    repo.git(&["merge", "-q", "--no-edit", "side"]);
    assert_ne!(repo.head(), main);
    assert!(hook_says_descends(&repo));
    assert_eq!(remembered_descendant(&repo), Some(repo.head()));

    // HEAD elsewhere: the file is out of date, not taken as an answer.
    repo.git(&["checkout", "-q", "baseline~1"]);
    assert!(!hook_says_descends(&repo));
    let remembered = remembered_descendant(&repo);
    assert!(remembered.is_some(), "a no is not remembered");
    repo.git(&["checkout", "-q", "-"]);
    assert!(hook_says_descends(&repo));
}

#[test]
fn hook_walks_the_history_again_past_a_long_way_or_another_baseline() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    let first_baseline = repo.head();
    repo.write("x.txt", "0\n");
    repo.commit_all("sprint 0");
    assert!(hook_says_descends(&repo));
    // More commits since the remembered one than the short walk reads.
    for n in 1..80 {
        repo.write("x.txt", format!("{n}\n"));
        repo.git(&["commit", "-q", "-am", &format!("sprint {n}")]);
    }
    assert!(hook_says_descends(&repo));
    assert_eq!(remembered_descendant(&repo), Some(repo.head()));

    // A new baseline ahead of HEAD's branch: the remembered commit
    // descends from the old one only.
    repo.git(&["checkout", "-q", "-b", "other", &first_baseline]);
    repo.write("y.txt", "other\n");
    repo.commit_all("other");
    repo.tool_ok(&["baseline", "set", "--force"]);
    repo.git(&["checkout", "-q", "-"]);
    assert!(!hook_says_descends(&repo));
    repo.git(&["checkout", "-q", "other"]);
    repo.write("y.txt", "after the new baseline\n");
    repo.commit_all("after the new baseline");
    assert!(hook_says_descends(&repo));
    assert_eq!(remembered_descendant(&repo), Some(repo.head()));
}

#[test]
fn hook_takes_a_damaged_ancestry_file_as_none() {
    let repo = one_commit_past_the_baseline();
    let file = repo.git_dir().join("rollback").join("descends");
    for damaged in [
        "",
        "not this file\n",
        "rollback-sprint descends 1\nbaseline zzzz\ncommit zzzz\n",
        // Well formed, naming a commit that does not exist.
        "rollback-sprint descends 1\nbaseline 1111111111111111111111111111111111111111\ncommit 2222222222222222222222222222222222222222\n",
    ] {
        fs::create_dir_all(file.parent().expect("a folder")).expect("mkdir");
        fs::write(&file, damaged).expect("write");
        assert!(hook_says_descends(&repo), "with {damaged:?}");
        assert_eq!(remembered_descendant(&repo), Some(repo.head()));
    }
    // A file naming the real baseline and a commit that is not there.
    let baseline = repo.rev("baseline^{commit}");
    fs::write(
        &file,
        format!("rollback-sprint descends 1\nbaseline {baseline}\ncommit 2222222222222222222222222222222222222222\n"),
    )
    .expect("write");
    assert!(hook_says_descends(&repo));
    repo.git(&["checkout", "-q", "HEAD~1"]);
    repo.git(&["checkout", "-q", "HEAD~1"]);
    assert!(!hook_says_descends(&repo));
}

/// The hook changes nothing of the repository: HEAD, refs, stash, index,
/// every file (untracked and ignored ones too) and `git status` are as
/// they were; its one write is the ancestry file in the git folder `git
/// rev-parse` names, and a dry run does not even make that.
#[test]
fn hook_changes_nothing_but_its_ancestry_file_and_a_dry_run_not_that() {
    let repo = one_commit_past_the_baseline();
    repo.write("src/lib.rs", "staged\n");
    repo.git(&["add", "src/lib.rs"]);
    repo.write("README.md", "modified, not staged\n");
    repo.write("notes.txt", "untracked\n");
    repo.write(".env", "SECRET=1\n");
    repo.git(&["stash", "push", "-q", "--", "README.md"]);
    repo.write("README.md", "modified again\n");
    let status = |repo: &TestRepo| repo.git(&["status", "--porcelain=v1", "--ignored"]);
    let (before, status_before) = (repo.capture(), status(&repo));
    let file = PathBuf::from(repo.git(&["rev-parse", "--absolute-git-dir"]))
        .join("rollback")
        .join("descends");

    repo.tool_ok(&["--dry-run", "check", "--hook"]);
    assert!(!file.exists(), "a dry run wrote {}", file.display());
    assert_same_state(&before, &repo.capture());

    for _ in 0..2 {
        assert!(hook_says_descends(&repo));
        assert_same_state(&before, &repo.capture());
        assert_eq!(status(&repo), status_before);
    }
    assert!(file.exists());
}

/// In a linked worktree the ancestry file is that worktree's (its own
/// HEAD): in the git folder `git rev-parse` names there, not the main
/// one's.
#[test]
fn hook_in_a_linked_worktree_keeps_its_ancestry_file_in_that_worktree() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo.git(&["worktree", "add", "-q", "-b", "wt", "../wt", "HEAD"]);
    let wt = repo.root().join("wt");
    fs::write(wt.join("y.txt"), "y\n").expect("write");
    repo.git_in(&wt, &["add", "y.txt"]);
    repo.git_in(&wt, &["commit", "-q", "-m", "in the worktree"]);
    let out = repo.tool_in(&wt, &["--json", "check", "--hook"]);
    out.assert_ok();
    assert_eq!(out.json()["descends_from_baseline"], true, "{out}");
    let git_dir = PathBuf::from(repo.git_in(&wt, &["rev-parse", "--absolute-git-dir"]));
    let text = fs::read_to_string(git_dir.join("rollback").join("descends")).expect("the file");
    let head = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    assert!(text.contains(&format!("commit {head}")), "{text}");
    assert!(!repo.git_dir().join("rollback").join("descends").exists());
}

#[test]
fn hook_runs_the_mapped_tests_when_asked() {
    let repo = TestRepo::with_commits();
    repo.write("tests/unit/test_lib.rs", "// tests of lib.rs\n");
    repo.commit_all("tests");
    repo.git(&[
        "config",
        "rollback.fileTestCommand",
        "echo '0 passed, 1 failed' {tests}; exit 1",
    ]);
    repo.write("src/lib.rs", "// changed\n");
    repo.git(&["add", "src/lib.rs"]);
    // Off by default.
    repo.tool_ok(&["check", "--hook"]);
    repo.git(&["config", "rollback.hookTests", "true"]);
    let out = repo.tool(&["check", "--hook"]);
    out.assert_code(4);
    assert!(out.stdout.contains("tests/unit/test_lib.rs"), "{out}");
}
