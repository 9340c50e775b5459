//! `files`: Level 3 selective rollback, differentially against
//! `git checkout <baseline> -- <paths>`, with undo, dry run and path safety.

use crate::common::{assert_same_state, RepoState, TestRepo};

/// A baseline, then a commit that changes content, deletes and adds files,
/// flips an exec bit and turns a symlink into a file; then dirty state.
fn setup() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write("app/a.txt", "a\n");
    repo.write("app/sub/b.txt", "b\n");
    repo.write("app/sub/c.txt", "c\n");
    repo.write_exec("app/run.sh", "#!/bin/sh\necho run\n");
    repo.symlink("app/link", "a.txt");
    repo.write("x*", "a file named x-star\n");
    repo.write("xy", "xy\n");
    repo.commit_all("app");
    repo.git(&["tag", "-a", "-m", "known good", "baseline"]);
    repo.write("app/a.txt", "a, sprint\n");
    repo.remove("app/sub/c.txt");
    repo.write("app/sub/new.txt", "new in the sprint\n");
    repo.chmod("app/run.sh", 0o644);
    repo.remove("app/link");
    repo.write("app/link", "no longer a link\n");
    repo.write("x*", "x-star, sprint\n");
    repo.write("xy", "xy, sprint\n");
    repo.commit_all("sprint");
    // Dirty: staged and unstaged edits, an untracked file.
    repo.write("app/sub/b.txt", "b, staged\n");
    repo.git(&["add", "app/sub/b.txt"]);
    repo.write("app/sub/b.txt", "b, unstaged\n");
    repo.write("app/untracked.txt", "mine\n");
    repo
}

/// Index and work tree (without the tool's reports) of a state.
fn view(state: &RepoState) -> (Vec<String>, Vec<String>) {
    let index = state
        .index
        .entries
        .iter()
        .map(|e| {
            format!(
                "{:?} {:o} {} {}",
                String::from_utf8_lossy(&e.path),
                e.mode,
                e.oid,
                e.stage
            )
        })
        .collect();
    let files = state
        .files
        .entries
        .iter()
        .filter(|(k, _)| !k.starts_with(b"rollbacks"))
        .map(|(k, v)| {
            format!(
                "{:?} {:?} {:o} {:?}",
                String::from_utf8_lossy(k),
                v.kind,
                v.mode,
                v.data
            )
        })
        .collect();
    (index, files)
}

/// Run `files` on the repo and `git checkout baseline -- paths` on a copy;
/// the index and every file must be the same; then undo restores exactly.
fn differential(repo: &TestRepo, paths: &[&str]) {
    let copy = repo.copy();
    let before = repo.capture();
    let mut args = vec!["files", "--no-tests"];
    args.extend_from_slice(paths);
    repo.tool_ok(&args);
    let mut git_args = vec!["checkout", "baseline", "--"];
    git_args.extend_from_slice(paths);
    copy.git(&git_args);
    let (tool_index, tool_files) = view(&repo.capture());
    let (git_index, git_files) = view(&copy.capture());
    assert_eq!(tool_index, git_index, "index differs from git checkout's");
    assert_eq!(
        tool_files, git_files,
        "work tree differs from git checkout's"
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn one_file_is_like_git_checkout() {
    differential(&setup(), &["app/a.txt"]);
}

#[test]
fn a_directory_with_deleted_added_and_dirty_files_is_like_git_checkout() {
    differential(&setup(), &["app/sub"]);
}

#[test]
fn exec_bit_and_symlink_changes_are_like_git_checkout() {
    differential(&setup(), &["app/run.sh", "app/link"]);
}

#[test]
fn several_paths_and_the_whole_app_folder_are_like_git_checkout() {
    differential(&setup(), &["app", "README.md"]);
}

/// A named folder inside another named one, with an empty folder in it:
/// looked at once, with the outer one, and the empty folder kept.
#[test]
fn nested_folders_with_an_empty_one_are_like_git_checkout() {
    let repo = setup();
    std::fs::create_dir_all(repo.abs("app/sub/hollow")).expect("mkdir");
    differential(&repo, &["app", "app/sub"]);
    assert!(repo.abs("app/sub/hollow").is_dir());
}

#[test]
fn glob_characters_are_literal() {
    let repo = setup();
    let copy = repo.copy();
    repo.tool_ok(&["files", "--no-tests", "x*"]);
    copy.git(&["checkout", "baseline", "--", ":(literal)x*"]);
    assert_eq!(repo.read_string("x*"), "a file named x-star\n");
    assert_eq!(
        repo.read_string("xy"),
        "xy, sprint\n",
        "x* must not match xy"
    );
    assert_eq!(view(&repo.capture()), view(&copy.capture()));
}

#[test]
fn a_path_new_since_the_baseline_is_a_warning_or_removed_with_delete_new() {
    let repo = setup();
    let before = repo.capture();
    let out = repo.tool_ok(&["--json", "files", "--no-tests", "app/sub"]);
    assert!(
        out.stderr.contains("app/sub/new.txt does not exist"),
        "{}",
        out.stderr
    );
    assert!(repo.exists("app/sub/new.txt"));
    assert_eq!(out.json()["new_paths"][0], "app/sub/new.txt");
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    let out = repo.tool_ok(&["--json", "files", "--no-tests", "--delete-new", "app/sub"]);
    assert_eq!(out.json()["deleted"][0], "app/sub/new.txt");
    assert!(!repo.exists("app/sub/new.txt"));
    assert!(repo.git(&["ls-files", "app/sub/new.txt"]).is_empty());
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn from_takes_another_revision() {
    let repo = setup();
    let first = repo.rev("HEAD~1");
    let copy = repo.copy();
    repo.tool_ok(&["files", "--no-tests", "--from", &first, "app/a.txt"]);
    copy.git(&["checkout", &first, "--", "app/a.txt"]);
    assert_eq!(view(&repo.capture()), view(&copy.capture()));
}

#[test]
fn stage_groups_come_from_git_config() {
    let repo = setup();
    repo.git(&["config", "--add", "rollback.stage.core.path", "app/a.txt"]);
    repo.git(&["config", "--add", "rollback.stage.core.path", "app/run.sh"]);
    let copy = repo.copy();
    repo.tool_ok(&["files", "--no-tests", "--stage", "core"]);
    copy.git(&["checkout", "baseline", "--", "app/a.txt", "app/run.sh"]);
    assert_eq!(view(&repo.capture()), view(&copy.capture()));
    let out = repo.tool(&["files", "--stage", "missing"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("rollback.stage.missing.path"),
        "{}",
        out.stderr
    );
}

#[test]
fn paths_are_relative_to_the_current_directory() {
    let repo = setup();
    let copy = repo.copy();
    repo.tool_in(
        &repo.path().join("app"),
        &["files", "--no-tests", "sub/b.txt"],
    )
    .assert_ok();
    copy.git(&["checkout", "baseline", "--", "app/sub/b.txt"]);
    assert_eq!(view(&repo.capture()), view(&copy.capture()));
}

#[test]
fn dry_run_changes_nothing() {
    let repo = setup();
    let before = repo.capture();
    let out = repo.tool_ok(&["-n", "files", "app"]);
    assert!(
        out.stdout.contains("restore app from baseline"),
        "{}",
        out.stdout
    );
    assert_same_state(&before, &repo.capture());
    assert!(!repo.git_dir().join("rollback/journal.jsonl").exists());
}

#[test]
fn the_dry_run_plan_is_the_journaled_plan() {
    // Files restored, new paths removed, a named path in neither: the
    // dry run lists the steps the journal records and the run takes.
    let repo = setup();
    let args = [
        "files",
        "--no-tests",
        "--delete-new",
        "app/a.txt",
        "app/sub",
        "gone.txt",
        "app/untracked.txt",
    ];
    let dry = repo
        .tool_ok(&[&["--dry-run", "--json"][..], &args[..]].concat())
        .json();
    let plan: Vec<String> = serde_json::from_value(dry["plan"].clone()).unwrap();
    assert_eq!(
        plan,
        [
            "restore app/a.txt from baseline `baseline` (1 file(s)) in the index and the work tree",
            "restore app/sub from baseline `baseline` (2 file(s)) in the index and the work tree",
            "leave gone.txt alone: it is in neither baseline `baseline` nor the work tree",
            "remove app/sub/new.txt (not in baseline `baseline`)",
            "remove app/untracked.txt (not in baseline `baseline`)",
        ]
    );
    repo.tool_ok(&args);
    let journal = std::fs::read_to_string(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
    let begin: serde_json::Value = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["type"] == "begin")
        .unwrap();
    assert_eq!(begin["plan"], dry["plan"]);
    assert_eq!(repo.read("app/sub/c.txt"), b"c\n");
    assert!(!repo.exists("app/sub/new.txt"));
    assert!(!repo.exists("app/untracked.txt"));
}

#[test]
fn paths_that_leave_the_work_tree_are_refused_before_anything_changes() {
    let repo = setup();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("f.txt"), "outside\n").unwrap();
    repo.symlink("escape", outside.path());
    repo.commit_all("a symlink to outside");
    let before = repo.capture();
    let outside_file = outside.path().join("f.txt");
    for bad in [
        "../outside.txt",
        "app/../../x",
        outside_file.to_str().unwrap(),
        "escape/f.txt",
        ".git/config",
        ".GIT/HEAD",
        "app/.git/x",
        "git~1/config",
    ] {
        let out = repo.tool(&["files", "--no-tests", bad]);
        out.assert_code(1);
        assert!(out.stderr.starts_with("error:"), "{bad}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{bad}: {}", out.stderr);
        assert_same_state(&before, &repo.capture());
    }
    // Among many paths, one through a symlinked folder beside folders
    // already checked on the way to the others.
    repo.symlink("app/out", outside.path());
    repo.commit_all("a symlink to outside inside app");
    let before = repo.capture();
    let out = repo.tool(&[
        "files",
        "--no-tests",
        "app/sub/c.txt",
        "app/a.txt",
        "app/out/f.txt",
    ]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("app/out/f.txt: goes through a symlink"),
        "{}",
        out.stderr
    );
    assert_same_state(&before, &repo.capture());
    assert_eq!(std::fs::read_to_string(&outside_file).unwrap(), "outside\n");
}

#[test]
fn bad_input_is_refused_with_a_hint() {
    let repo = setup();
    let before = repo.capture();
    repo.tool(&["files"]).assert_code(2);
    let out = repo.tool(&["files", "--from", "nope", "app"]);
    out.assert_code(1);
    assert!(out.stderr.contains("unknown revision"), "{}", out.stderr);
    let out = repo.tool(&["files", "no/such/path"]);
    out.assert_code(1);
    assert!(out.stderr.contains("neither in"), "{}", out.stderr);
    repo.git(&["tag", "-d", "baseline"]);
    let out = repo.tool(&["files", "app"]);
    out.assert_code(1);
    assert!(out.stderr.contains("baseline set"), "{}", out.stderr);
    repo.git(&["tag", "-a", "-m", "again", "baseline", "HEAD~1"]);
    let mut before = before;
    before.refs = repo.capture().refs;
    assert_same_state(&before, &repo.capture());
}

#[test]
fn mapped_tests_run_and_their_failure_exits_4() {
    let repo = setup();
    repo.write("tests/unit/test_a.txt", "test for a\n");
    repo.commit_all("a test");
    let log = repo.tmp_dir().join("ran.txt");
    let script = repo.tmp_dir().join("run-tests.sh");
    std::fs::write(
        &script,
        format!(
            "echo \"$@\" >> {}\necho '1 passed, 0 failed'\n",
            log.display()
        ),
    )
    .unwrap();
    let cmd = format!("sh {} {{tests}}", script.display());
    repo.git(&["config", "rollback.fileTestCommand", &cmd]);
    let out = repo.tool_ok(&["--json", "files", "app/a.txt"]);
    let v = out.json();
    assert_eq!(v["tests"]["files"][0], "tests/unit/test_a.txt");
    assert_eq!(v["tests"]["passed"], 1);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().trim(),
        "tests/unit/test_a.txt"
    );
    repo.git(&[
        "config",
        "rollback.fileTestCommand",
        "echo '0 passed, 2 failed'; exit 1",
    ]);
    let out = repo.tool(&["files", "app/a.txt"]);
    out.assert_code(4);
    assert!(out.stdout.contains("✗ tests"), "{}", out.stdout);
    // --no-tests runs nothing.
    std::fs::remove_file(&log).unwrap();
    repo.git(&["config", "rollback.fileTestCommand", &cmd]);
    repo.tool_ok(&["files", "--no-tests", "app/a.txt"]);
    assert!(!log.exists());
}

#[test]
fn undo_of_files_leaves_work_done_elsewhere_since_alone() {
    let repo = setup();
    repo.tool_ok(&["files", "--no-tests", "app/a.txt"]);
    // Work elsewhere after the rollback: an edit and a new file.
    repo.write("README.md", "edited after the rollback\n");
    repo.write("notes.txt", "new after the rollback\n");
    repo.tool_ok(&["undo"]);
    assert_eq!(repo.read_string("app/a.txt"), "a, sprint\n");
    assert_eq!(repo.read_string("README.md"), "edited after the rollback\n");
    assert_eq!(repo.read_string("notes.txt"), "new after the rollback\n");
}

/// The journal keeps the index file as it was (a hard link where possible):
/// rewriting the index must leave that copy alone, and undo must put the
/// very same bytes back, extensions and stat data included.
#[test]
fn undo_of_files_restores_the_index_file_byte_for_byte() {
    let repo = setup();
    let index = repo.git_dir().join("index");
    let before = std::fs::read(&index).unwrap();
    let out = repo.tool_ok(&["--json", "files", "--no-tests", "app/a.txt", "app/sub"]);
    let id = out.json()["operation_id"].as_str().unwrap().to_string();
    assert_ne!(
        std::fs::read(&index).unwrap(),
        before,
        "files changed no index entry"
    );
    let saved = repo.git_dir().join("rollback/ops").join(&id).join("index");
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        before,
        "the saved index changed"
    );
    // A second index write (git's own) must not reach the saved copy either.
    repo.git(&["add", "app/untracked.txt"]);
    repo.git(&["reset", "-q", "app/untracked.txt"]);
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        before,
        "the saved index changed"
    );
    repo.tool_ok(&["undo", &id]);
    assert_eq!(
        std::fs::read(&index).unwrap(),
        before,
        "undo did not restore the index bytes"
    );
}

/// Five folders at the baseline, each with a file the sprint changed and
/// one it added, plus a loose file at the top.
fn folders_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    for n in 0..5 {
        repo.write(format!("lib/d{n}/f.txt"), format!("f{n}\n"));
    }
    repo.write("top.txt", "top\n");
    repo.commit_all("folders");
    repo.git(&["tag", "-a", "-m", "known good", "baseline"]);
    for n in 0..5 {
        repo.write(format!("lib/d{n}/f.txt"), format!("f{n}, sprint\n"));
        repo.write(format!("lib/d{n}/new.txt"), format!("new {n}\n"));
    }
    repo.write("top.txt", "top, sprint\n");
    repo.commit_all("sprint");
    repo.write("lib/d1/f.txt", "f1, unstaged\n");
    repo
}

/// The lines of the tool's stderr that are warnings.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning"))
        .collect()
}

#[test]
fn files_new_in_many_folders_are_one_warning_line() {
    let repo = folders_repo();
    let before = repo.capture();
    let dirs = ["lib/d0", "lib/d1", "lib/d2", "lib/d3", "lib/d4"];
    let out = repo.tool_ok(&[&["--json", "files", "--no-tests"][..], &dirs[..]].concat());
    assert_eq!(
        warnings(&out.stderr),
        [
            "warning: 5 paths do not exist in baseline `baseline`: left as they are \
             (pass --delete-new to remove them): lib/d0/new.txt, lib/d1/new.txt, \
             lib/d2/new.txt and 2 more (--json lists them all)"
        ],
        "{}",
        out.stderr
    );
    let listed: Vec<String> = serde_json::from_value(out.json()["new_paths"].clone()).unwrap();
    assert_eq!(
        listed,
        (0..5)
            .map(|n| format!("lib/d{n}/new.txt"))
            .collect::<Vec<_>>()
    );
    for n in 0..5 {
        assert_eq!(
            repo.read_string(format!("lib/d{n}/f.txt")),
            format!("f{n}\n")
        );
        assert!(
            repo.exists(format!("lib/d{n}/new.txt")),
            "new files are left"
        );
    }
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());

    // Two are both named, with nothing more to list.
    let out = repo.tool_ok(&["files", "--no-tests", "lib/d3", "lib/d4"]);
    assert_eq!(
        warnings(&out.stderr),
        [
            "warning: 2 paths do not exist in baseline `baseline`: left as they are \
             (pass --delete-new to remove them): lib/d3/new.txt, lib/d4/new.txt"
        ],
        "{}",
        out.stderr
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn folders_and_files_named_together_are_like_git_checkout() {
    let repo = folders_repo();
    // Folders beside files, a file inside a named folder, and the top.
    differential(&repo, &["lib/d0", "top.txt", "lib/d2/f.txt", "lib/d1"]);
    differential(&repo, &["lib", "lib/d3/f.txt", "README.md"]);
    differential(&repo, &["lib/d4/f.txt", "lib"]);
    differential(&repo, &[".", "lib/d0"]);
}

#[test]
fn undo_of_files_of_many_folders_with_delete_new_restores_everything() {
    let repo = folders_repo();
    repo.write("lib/d2/untracked.txt", "mine\n");
    repo.git(&["add", "lib/d3/f.txt"]);
    let before = repo.capture();
    let out = repo.tool_ok(&[
        "--json",
        "files",
        "--no-tests",
        "--delete-new",
        "lib/d0",
        "lib/d1",
        "lib/d2",
        "lib/d3",
        "top.txt",
    ]);
    let deleted: Vec<String> = serde_json::from_value(out.json()["deleted"].clone()).unwrap();
    // The files git tracks; an untracked one in a named folder stays, as
    // with `git checkout`.
    assert_eq!(
        deleted,
        [
            "lib/d0/new.txt",
            "lib/d1/new.txt",
            "lib/d2/new.txt",
            "lib/d3/new.txt"
        ]
    );
    assert!(warnings(&out.stderr).is_empty(), "{}", out.stderr);
    assert!(!repo.exists("lib/d0/new.txt"));
    assert!(repo.exists("lib/d2/untracked.txt"));
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

/// Restoring a folder keeps the index's stat data of the files it did not
/// rewrite (as git's checkout keeps them), and takes the rewritten ones'
/// from disk: git then sees every file clean without reading it again.
#[test]
fn a_restored_folder_keeps_the_stat_data_of_files_it_did_not_rewrite() {
    let repo = TestRepo::with_commits();
    for n in 0..5 {
        repo.write(format!("dir/same{n}.txt"), format!("same {n}\n"));
    }
    repo.write("dir/changed.txt", "baseline\n");
    repo.commit_all("folder");
    repo.git(&["tag", "-a", "-m", "known good", "baseline"]);
    repo.write("dir/changed.txt", "sprint\n");
    repo.commit_all("sprint");
    repo.git(&["update-index", "--refresh"]);
    // A file touched since: its entry is unchanged, so its (now stale)
    // stat data stays too, as git's checkout leaves it; git compares the
    // content when it next looks.
    let touched = std::fs::File::options()
        .write(true)
        .open(repo.abs("dir/same0.txt"))
        .expect("open");
    touched
        .set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
        )
        .expect("set mtime");
    drop(touched);
    let debug = |path: &str| repo.git(&["ls-files", "--debug", "--", path]);
    let before: Vec<String> = (0..5).map(|n| debug(&format!("dir/same{n}.txt"))).collect();
    repo.tool_ok(&["files", "--no-tests", "dir"]);
    let after: Vec<String> = (0..5).map(|n| debug(&format!("dir/same{n}.txt"))).collect();
    assert_eq!(before, after, "untouched entries keep their stat data");
    assert_eq!(repo.read_string("dir/changed.txt"), "baseline\n");
    // The rewritten file's stat data is the file's: nothing to refresh.
    let changed = debug("dir/changed.txt");
    assert!(changed.contains("size: 9\t"), "{changed}");
    // Only the touched file needs a look (its content is the same).
    assert_eq!(repo.git(&["diff-files", "--name-only"]), "dir/same0.txt");
    assert_eq!(
        repo.git(&["status", "--porcelain", "--", "dir"]),
        "M  dir/changed.txt"
    );
}

/// Staged changes in many folders and paths restored in many others make
/// many new trees (the index's for the snapshot, the restored tree's for
/// the journal): they are packed, not written as a loose file each (in a
/// freshly packed repository each of those is often a new folder too).
/// Git sees every object, and undo is exact.
#[test]
fn many_new_trees_are_packed_not_written_loose() {
    let repo = TestRepo::with_commits();
    for d in 0..40 {
        repo.write(format!("src/m{d:02}/lib.rs"), format!("// module {d}\n"));
    }
    let base = repo.commit_all("40 modules");
    repo.git(&["tag", "-a", "-m", "known good", "baseline", &base]);
    for d in 0..40 {
        repo.write(
            format!("src/m{d:02}/lib.rs"),
            format!("// module {d}, sprint\n"),
        );
    }
    repo.commit_all("sprint");
    for d in 0..20 {
        repo.write(
            format!("src/m{d:02}/lib.rs"),
            format!("// module {d}, staged\n"),
        );
    }
    repo.git(&["add", "-A"]);
    repo.git(&["repack", "-adq"]);
    repo.git(&["prune-packed"]);
    let packs_before = repo.packs().len();
    assert_eq!(repo.loose_objects(), 0);
    let before = repo.capture();
    let mut args = vec!["files".to_string(), "--no-tests".to_string()];
    args.extend((20..40).map(|d| format!("src/m{d:02}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    repo.tool_ok(&args);
    let (loose, packs) = (repo.loose_objects(), repo.packs().len());
    assert!(packs > packs_before, "no new pack");
    // The snapshot's commit and the like go loose, not the 20 trees of
    // each side.
    assert!(loose < 10, "{loose} loose objects");
    let fsck = repo.git_output(&["fsck", "--no-dangling"]);
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}
