//! Odd repositories (issue 7): linked worktrees, submodules, sparse
//! checkouts, line-ending conversions and filter drivers, unborn and
//! detached HEADs, a lightweight or ambiguous baseline, awkward names, deep
//! paths and file permissions — through every command that changes the
//! repository (`emergency` [`--clean-ignored`], `sprint rollback`, `files`,
//! `checkpoint --wip`, `recover --all`) and `undo`.
//!
//! Each case must be handled exactly (undo gives back the same capture) or
//! refused with a one-line error before anything changes. Where the result
//! should be git's own, a copy of the repository runs git for comparison.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::assert_same_except_reports;
use crate::common::{
    assert_same_state, capture_dir, capture_repo, odd_names, TestRepo, ToolOutput,
};

const SPRINT: &str = "refactor/sprint-3";
const RECOVER: &[&str] = &[
    "recover",
    SPRINT,
    "--onto",
    "baseline",
    "--all",
    "--no-tests",
];

// ----- helpers -----------------------------------------------------------------

/// A clean refusal: exit 1, one line on stderr with a hint, no panic.
#[track_caller]
fn assert_refusal(out: &ToolOutput, needle: &str) {
    assert!(!out.stderr.contains("panicked"), "the tool panicked\n{out}");
    out.assert_code(1);
    let err = out.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "expected a one-line error\n{out}");
    assert!(err.starts_with("error:"), "expected `error:`\n{out}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "expected the error to mention {needle:?}\n{out}"
    );
}

/// `with_commits()`, an annotated `baseline` at its HEAD, and the sprint
/// branch `refactor/sprint-3` (checked out) with two commits that change,
/// add and delete files.
fn fixture() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    sprint_commits(&repo);
    repo
}

fn sprint_commits(repo: &TestRepo) {
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.remove("link");
    repo.commit_all("sprint: half-done refactor");
    repo.write(
        "docs/guide.md",
        "# Guide\n\nStep one.\nStep two (sprint).\n",
    );
    repo.commit_all("sprint: document it");
}

/// A dirty work tree that every command can take: an unstaged edit, an
/// untracked file and an ignored one. (`recover` refuses uncommitted
/// changes to tracked files, so `dirty(repo, false)` leaves those out.)
fn dirty(repo: &TestRepo, tracked: bool) {
    if tracked {
        repo.write("src/main.rs", "fn main() {\n    // local edit\n}\n");
    } else {
        repo.git(&["checkout", "-q", "--", "src/main.rs"]);
    }
    repo.write("notes/todo.txt", "untracked notes\n");
    repo.write("build.log", "ignored\n");
}

/// The mutating commands, as arguments (run with `--json`).
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["emergency"],
        vec!["emergency", "--clean-ignored"],
        vec!["sprint", "rollback", "--no-tests"],
        vec!["files", "--no-tests", "config", "docs", "src"],
        vec!["checkpoint", "--wip"],
        RECOVER.to_vec(),
    ]
}

fn json_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all
}

/// Run `args`; on success check the result, undo and compare with the
/// state before; on failure it must be a clean refusal that changed
/// nothing. Returns whether the command ran.
#[track_caller]
fn exact_or_refused(
    repo: &TestRepo,
    dir: &Path,
    args: &[&str],
    needle: &str,
    check: impl FnOnce(&Value),
) -> bool {
    let before = capture_repo(dir);
    let out = repo.tool_in(dir, &json_args(args));
    if out.success() {
        check(&out.json());
        repo.tool_in(dir, &["undo"]).assert_ok();
        assert_same_except_reports(&before, &capture_repo(dir));
        true
    } else {
        let human = repo.tool_in(dir, args);
        assert_refusal(&human, needle);
        assert_same_state(&before, &capture_repo(dir));
        false
    }
}

/// Like [`exact_or_refused`] but the command must succeed.
#[track_caller]
fn round_trip(repo: &TestRepo, args: &[&str], check: impl FnOnce(&Value)) {
    let before = repo.capture();
    let out = repo.tool(&json_args(args));
    out.assert_ok();
    check(&out.json());
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

/// `git ls-files -s` (mode, object, stage, path) of a repository.
fn ls_files(repo: &TestRepo) -> String {
    repo.git(&["ls-files", "-s"])
}

// ----- linked worktrees --------------------------------------------------------

/// The branch of the linked worktree: a sprint of its own.
const WT_BRANCH: &str = "refactor/sprint-4";

/// The fixture with a linked worktree `../wt` on a branch at the sprint.
fn with_linked_worktree() -> (TestRepo, PathBuf) {
    let repo = fixture();
    let wt = repo.root().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", WT_BRANCH, "../wt", SPRINT]);
    (repo, wt)
}

#[test]
fn every_command_round_trips_in_a_linked_worktree_and_leaves_the_main_one_alone() {
    let (repo, wt) = with_linked_worktree();
    dirty(&repo, true);
    for args in commands() {
        fs::write(wt.join("notes.txt"), "untracked in the linked worktree\n").unwrap();
        fs::write(wt.join("build.log"), "ignored in the linked worktree\n").unwrap();
        let main_before = repo.capture();
        let before = capture_repo(&wt);
        let out = repo.tool_in(&wt, &json_args(&args));
        out.assert_ok();
        // The main work tree: same HEAD, index, files and stash.
        let main_now = repo.capture();
        assert_eq!(main_now.head, main_before.head, "{args:?}");
        assert_eq!(main_now.index, main_before.index, "{args:?}");
        assert_eq!(main_now.files, main_before.files, "{args:?}");
        // Its journal does not see the linked worktree's operation.
        let log = repo.tool_ok(&["--json", "log"]).json();
        assert_eq!(log["operations"].as_array().unwrap().len(), 0, "{args:?}");
        repo.tool_in(&wt, &["undo"]).assert_ok();
        assert_same_except_reports(&before, &capture_repo(&wt));
        assert_same_except_reports(&main_before, &repo.capture());
    }
}

#[test]
fn an_interrupted_operation_in_one_worktree_does_not_block_another() {
    let (repo, wt) = with_linked_worktree();
    dirty(&repo, true);
    let before = capture_repo(&wt);
    let out = repo
        .tool_command(&["emergency"])
        .current_dir(&wt)
        .env("GIT_ROLLBACK_SPRINT_FAULT", "after-worktree")
        .output()
        .unwrap();
    assert!(!out.status.success());
    // The main worktree works on, and reports nothing interrupted.
    let main = repo.tool(&["emergency"]);
    main.assert_ok();
    assert!(!main.stderr.contains("interrupted"), "{main}");
    repo.tool_ok(&["undo"]);
    // The linked one reports its own interrupted operation and undoes it.
    let status = repo.tool_in(&wt, &["status"]);
    assert!(status.stdout.contains("interrupted") || status.stderr.contains("interrupted"));
    repo.tool_in(&wt, &["emergency"]).assert_code(3);
    repo.tool_in(&wt, &["undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo(&wt));
}

/// The branches checked out in worktrees, as git lists them.
fn checked_out_branches(repo: &TestRepo) -> Vec<String> {
    repo.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("branch "))
        .map(str::to_string)
        .collect()
}

#[test]
fn undo_never_deletes_a_backup_branch_checked_out_in_another_worktree() {
    // The user opens the backup branch of a rollback in a worktree of its
    // own to look at it; undoing the rollback (which created that branch)
    // must not delete it from under that worktree, as `git branch -D`
    // refuses to.
    for args in [vec!["emergency"], vec!["sprint", "rollback", "--no-tests"]] {
        let repo = fixture();
        dirty(&repo, true);
        let v = repo.tool_ok(&json_args(&args)).json();
        let backup = v["backup_branch"].as_str().unwrap().to_string();
        let wt = repo.root().join("inspect");
        repo.git(&["worktree", "add", "-q", "../inspect", &backup]);
        let before = repo.capture();
        let out = repo.tool(&["undo"]);
        assert_refusal(&out, "worktree");
        assert_same_state(&before, &repo.capture());
        assert!(checked_out_branches(&repo).contains(&format!("refs/heads/{backup}")));
        assert_eq!(
            capture_repo(&wt).head,
            format!("ref: refs/heads/{backup}"),
            "{args:?}"
        );
        // Once that worktree is gone, the undo is exact.
        repo.git(&["worktree", "remove", "--force", "../inspect"]);
        repo.tool_ok(&["undo"]);
    }
}

#[test]
fn undo_never_checks_out_a_branch_that_another_worktree_has() {
    // After a sprint rollback the sprint branch is free, and the user checks
    // it out in a second worktree. Undo would switch back to it: git refuses
    // to have one branch checked out twice, and so does the tool.
    let repo = fixture();
    dirty(&repo, true);
    repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    repo.git(&["worktree", "add", "-q", "../second", SPRINT]);
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    assert_refusal(&out, "worktree");
    assert_same_state(&before, &repo.capture());
    // git agrees that this would be wrong.
    let git = repo.git_output(&["switch", SPRINT]);
    assert!(!git.status.success());
}

#[test]
fn emergency_and_recover_never_move_a_branch_checked_out_elsewhere() {
    // HEAD's branch is the only branch emergency moves; the branch of
    // another worktree stays where it is, as does its work tree.
    let (repo, wt) = with_linked_worktree();
    fs::write(wt.join("README.md"), "# edited in the linked worktree\n").unwrap();
    let wt_before = capture_repo(&wt);
    let wt_ref = repo.rev(&format!("refs/heads/{WT_BRANCH}"));
    for args in commands() {
        eprintln!("{args:?}");
        dirty(&repo, !args.contains(&"recover"));
        exact_or_refused(&repo, repo.path(), &args, "", |_| {
            assert_eq!(
                repo.rev(&format!("refs/heads/{WT_BRANCH}")),
                wt_ref,
                "{args:?}"
            );
            let now = capture_repo(&wt);
            assert_eq!(now.files, wt_before.files, "{args:?}");
            assert_eq!(now.index, wt_before.index, "{args:?}");
        });
    }
}

// ----- submodules ----------------------------------------------------------------

/// The fixture with a submodule `sub` (from a local repository `sublib`)
/// in the baseline; the sprint moves the submodule to a newer commit.
/// Returns the two submodule commits (baseline's, sprint's).
fn with_submodule() -> (TestRepo, String, String) {
    let repo = TestRepo::with_commits();
    let lib = repo.root().join("sublib");
    repo.git_in(repo.root(), &["init", "-q", "-b", "main", "sublib"]);
    fs::write(lib.join("lib.txt"), "lib v1\n").unwrap();
    repo.git_in(&lib, &["add", "-A"]);
    repo.git_in(&lib, &["commit", "-q", "-m", "lib v1"]);
    let v1 = repo.git_in(&lib, &["rev-parse", "HEAD"]);
    fs::write(lib.join("lib.txt"), "lib v2\n").unwrap();
    repo.git_in(&lib, &["commit", "-q", "-am", "lib v2"]);
    let v2 = repo.git_in(&lib, &["rev-parse", "HEAD"]);
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        lib.to_str().unwrap(),
        "sub",
    ]);
    repo.git_in(&repo.abs("sub"), &["checkout", "-q", &v1]);
    repo.git(&["add", "sub"]);
    repo.commit_all("add the submodule");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    sprint_commits(&repo);
    repo.git_in(&repo.abs("sub"), &["checkout", "-q", &v2]);
    repo.git(&["add", "sub"]);
    repo.commit_all("sprint: newer lib");
    (repo, v1, v2)
}

/// The gitlink of `sub` in the index.
fn gitlink(repo: &TestRepo) -> String {
    let line = repo.git(&["ls-files", "-s", "sub"]);
    assert!(line.starts_with("160000 "), "{line}");
    line[7..47].to_string()
}

#[test]
fn a_submodules_work_tree_is_never_touched_and_undo_restores_the_gitlink() {
    let (repo, v1, v2) = with_submodule();
    // Local work in the submodule: an edit and an untracked file.
    repo.write("sub/lib.txt", "lib v2, local edit\n");
    repo.write("sub/scratch.txt", "submodule scratch\n");
    let sub_before = capture_dir(&repo.abs("sub"));
    for args in commands() {
        eprintln!("{args:?}");
        dirty(&repo, !args.contains(&"recover"));
        let ran = exact_or_refused(&repo, repo.path(), &args, "submodule", |_| {
            // Never deleted, never rewritten: the submodule's work tree is
            // its own repository's business.
            assert_eq!(capture_dir(&repo.abs("sub")), sub_before, "{args:?}");
            let expected = match args[0] {
                // As `git reset --hard baseline`: the gitlink is the
                // baseline's, the submodule's checkout stays.
                "emergency" | "sprint" => &v1,
                // `files` was not given `sub`; recover picks the sprint's
                // newer gitlink onto the baseline.
                _ => &v2,
            };
            assert_eq!(&gitlink(&repo), expected, "{args:?}");
        });
        assert!(ran, "{args:?} refused");
        assert_eq!(gitlink(&repo), v2);
        assert_eq!(capture_dir(&repo.abs("sub")), sub_before, "{args:?}");
    }
}

/// A commit that moves a submodule, picked alone onto a tree its parent
/// is not: the pick keeps the new gitlink, as `git cherry-pick` does (an
/// in-memory replay that overlooked the gitlink made the pick empty).
#[test]
fn recover_picks_a_submodule_move_like_git_cherry_pick() {
    let (repo, _, v2) = with_submodule();
    let bump = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "update",
        "-q",
    ]);
    let copy = repo.copy();
    round_trip(
        &repo,
        &["recover", SPRINT, "--no-tests", "--pick", &bump],
        |v| assert_eq!(v["picked"].as_array().map(Vec::len), Some(1), "{v}"),
    );
    copy.git(&["checkout", "-q", "-b", "picked"]);
    copy.git(&["cherry-pick", &bump]);
    repo.tool_ok(&["redo"]);
    assert_eq!(gitlink(&repo), v2);
    assert_eq!(
        repo.git(&["rev-parse", "HEAD^{tree}"]),
        copy.git(&["rev-parse", "HEAD^{tree}"]),
        "the picked tree is git's"
    );
}

#[test]
fn emergency_index_of_a_submodule_is_like_git_reset_hard() {
    let (repo, _, _) = with_submodule();
    repo.write("sub/lib.txt", "lib v2, local edit\n");
    let copy = repo.copy();
    repo.tool_ok(&["emergency"]);
    copy.git(&["stash", "-q", "-u"]);
    copy.git(&["reset", "-q", "--hard", "baseline"]);
    assert_eq!(ls_files(&repo), ls_files(&copy));
}

#[test]
fn files_on_a_submodule_path_is_like_git_checkout() {
    let (repo, v1, _) = with_submodule();
    let copy = repo.copy();
    let before = repo.capture();
    let out = repo.tool(&["files", "--no-tests", "sub"]);
    copy.git(&["checkout", "baseline", "--", "sub"]);
    if out.success() {
        assert_eq!(ls_files(&repo), ls_files(&copy));
        assert_eq!(gitlink(&repo), v1);
        repo.tool_ok(&["undo"]);
        assert_same_state(&before, &repo.capture());
    } else {
        assert_refusal(&out, "submodule");
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn a_submodule_new_since_the_baseline_keeps_its_work_tree() {
    // The baseline has no submodule; the sprint added one. `git reset
    // --hard` leaves the submodule's directory (with a warning); the tool
    // must never delete a repository's work tree.
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    let lib = repo.root().join("sublib");
    repo.git_in(repo.root(), &["init", "-q", "-b", "main", "sublib"]);
    fs::write(lib.join("lib.txt"), "lib v1\n").unwrap();
    repo.git_in(&lib, &["add", "-A"]);
    repo.git_in(&lib, &["commit", "-q", "-m", "lib v1"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        lib.to_str().unwrap(),
        "sub",
    ]);
    repo.commit_all("sprint: add a submodule");
    repo.write("sub/local.txt", "work inside the submodule\n");
    let sub_before = capture_dir(&repo.abs("sub"));
    for args in [
        vec!["emergency"],
        vec!["emergency", "--clean-ignored"],
        vec!["sprint", "rollback", "--no-tests"],
        vec!["files", "--no-tests", "--delete-new", "sub", ".gitmodules"],
    ] {
        exact_or_refused(&repo, repo.path(), &args, "submodule", |_| {
            assert_eq!(capture_dir(&repo.abs("sub")), sub_before, "{args:?}");
        });
        assert_eq!(capture_dir(&repo.abs("sub")), sub_before, "{args:?}");
    }
}

// ----- sparse checkout and skip-worktree -----------------------------------------

fn sparse_fixture() -> TestRepo {
    let repo = fixture();
    repo.git(&["sparse-checkout", "set", "--cone", "src", "docs"]);
    assert!(!repo.exists("config/settings.toml"));
    repo
}

#[test]
fn a_sparse_checkout_is_kept_or_refused_by_every_command() {
    let repo = sparse_fixture();
    for args in commands() {
        if args[0] == "files" {
            continue; // see files_outside_the_sparse_cone_are_like_git_checkout
        }
        dirty(&repo, !args.contains(&"recover"));
        exact_or_refused(&repo, repo.path(), &args, "sparse", |_| {
            // Nothing outside the cone is materialised, and its entries keep
            // their skip-worktree bit.
            assert!(!repo.exists("config/settings.toml"), "{args:?}");
            assert!(!repo.exists("bin/run.sh"), "{args:?}");
            let flags = repo.git(&["ls-files", "-t", "config/settings.toml"]);
            assert!(flags.starts_with("S "), "{args:?}: {flags}");
        });
        assert!(!repo.exists("config/settings.toml"), "{args:?}");
    }
}

#[test]
fn checkpoint_wip_in_a_sparse_checkout_keeps_the_files_outside_the_cone() {
    // Files outside the cone are not on disk; they are not deleted work.
    let repo = sparse_fixture();
    repo.write("src/main.rs", "fn main() {}\n");
    let v = repo.tool_ok(&["--json", "checkpoint", "--wip"]).json();
    let tag = v["tag"].as_str().unwrap();
    let shown = repo.git(&["show", &format!("{tag}:config/settings.toml")]);
    assert_eq!(shown, "[server]\nport = 9090");
    assert_eq!(
        repo.git(&["show", &format!("{tag}:src/main.rs")]),
        "fn main() {}"
    );
}

#[test]
fn files_in_a_sparse_checkout_is_like_git_checkout() {
    let repo = sparse_fixture();
    let copy = repo.copy();
    let before = repo.capture();
    let out = repo.tool(&["files", "--no-tests", "docs/guide.md"]);
    out.assert_ok();
    copy.git(&["checkout", "baseline", "--", "docs/guide.md"]);
    assert_eq!(
        repo.git(&["ls-files", "-s", "-t"]),
        copy.git(&["ls-files", "-s", "-t"])
    );
    assert_eq!(repo.read("docs/guide.md"), copy.read("docs/guide.md"));
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn files_outside_the_sparse_cone_are_like_git_checkout() {
    // `git checkout baseline -- config` in a sparse checkout writes the
    // files and clears their skip-worktree bits; the tool does the same.
    let repo = sparse_fixture();
    let copy = repo.copy();
    let before = repo.capture();
    repo.tool_ok(&["files", "--no-tests", "config"]);
    copy.git(&["checkout", "baseline", "--", "config"]);
    assert_eq!(
        repo.git(&["ls-files", "-s", "-t"]),
        copy.git(&["ls-files", "-s", "-t"])
    );
    assert_eq!(repo.capture().files, copy.capture().files);
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn skip_worktree_entries_survive_every_command() {
    let repo = fixture();
    // A file the user keeps out of the work tree, and one with local
    // changes that git's status does not show.
    repo.git(&[
        "update-index",
        "--skip-worktree",
        "bin/run.sh",
        "src/lib.rs",
    ]);
    repo.remove("bin/run.sh");
    repo.write("src/lib.rs", "// local only\n");
    for args in commands() {
        eprintln!("{args:?}");
        dirty(&repo, !args.contains(&"recover"));
        exact_or_refused(&repo, repo.path(), &args, "skip-worktree", |_| {});
        assert!(!repo.exists("bin/run.sh"), "{args:?}");
        assert_eq!(
            repo.read_string("src/lib.rs"),
            "// local only\n",
            "{args:?}"
        );
    }
}

// ----- line endings and filters ------------------------------------------------------

/// A baseline with CRLF-normalised text and `.gitattributes` rules.
fn eol_fixture() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write(
        ".gitattributes",
        "*.txt text eol=crlf\n*.id ident\n*.bin -text\n",
    );
    repo.write("eol/a.txt", "one\ntwo\n");
    repo.write("eol/b.id", "$Id$\n");
    repo.write("eol/c.bin", "raw\r\nbytes\n");
    repo.commit_all("line endings");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    for (p, c) in [
        ("eol/a.txt", "one\ntwo\nthree\n"),
        ("eol/b.id", "$Id$\nmore\n"),
        ("eol/c.bin", "raw\r\nbytes\nmore\n"),
        ("eol/d.txt", "new\n"),
    ] {
        repo.write(p, c);
    }
    repo.commit_all("sprint: eol changes");
    repo.git(&["config", "core.autocrlf", "true"]);
    // A work tree as git itself writes it with these settings.
    for entry in fs::read_dir(repo.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name() == Some(std::ffi::OsStr::new(".git")) {
            continue;
        }
        if path.symlink_metadata().unwrap().is_dir() {
            fs::remove_dir_all(&path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
    }
    repo.git(&["checkout", "-q", "--", "."]);
    assert_eq!(repo.read_string("eol/a.txt"), "one\r\ntwo\r\nthree\r\n");
    repo
}

#[test]
fn eol_and_ident_conversions_are_written_like_git_writes_them() {
    let repo = eol_fixture();
    repo.write("eol2.txt", "untracked\r\n");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["emergency"], vec!["reset", "-q", "--hard", "baseline"]),
        (
            vec!["sprint", "rollback", "--no-tests"],
            vec!["reset", "-q", "--hard", "baseline"],
        ),
        (
            vec!["files", "--no-tests", "--delete-new", "eol"],
            vec!["checkout", "baseline", "--", "eol"],
        ),
    ];
    for (tool, git) in cases {
        let copy = repo.copy();
        let before = repo.capture();
        repo.tool_ok(&tool);
        copy.git(&git);
        if tool[0] == "files" {
            copy.git(&["rm", "-q", "--cached", "eol/d.txt"]);
            copy.remove("eol/d.txt");
        }
        for p in ["eol/a.txt", "eol/b.id", "eol/c.bin", "README.md"] {
            assert_eq!(repo.read(p), copy.read(p), "{tool:?} {p}");
        }
        assert_eq!(ls_files(&repo), ls_files(&copy), "{tool:?}");
        // git sees no difference between the files the tool wrote and the
        // index (the second status column).
        let status = repo.git(&["status", "--porcelain", "--", "eol"]);
        assert!(
            status.lines().all(|l| l.as_bytes().get(1) == Some(&b' ')),
            "{tool:?}: {status}"
        );
        repo.tool_ok(&["undo"]);
        assert_same_except_reports(&before, &repo.capture());
    }
}

/// Conversions chosen by attribute rules alone, with no end-of-line
/// setting: a few files convert, most do not, in folders of their own and
/// with rules in a nested `.gitattributes`. Each file must come out as
/// git writes it, whichever rule applies.
fn rules_fixture() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write(
        ".gitattributes",
        "* whitespace=trail\n*.bat text eol=crlf\n*.sh text eol=lf\n/docs/**/*.md eol=crlf\n# *.txt eol=crlf\n",
    );
    repo.write(
        "conv/.gitattributes",
        "*.id ident\ndeep/[ab]*.txt eol=crlf\nlf.txt -eol\n",
    );
    let files = [
        "run.bat",
        "tools/run.bat",
        "run.sh",
        "docs/guide.md",
        "docs/a/b/deep.md",
        "notes.md",
        "plain.txt",
        "conv/x.id",
        "conv/deep/a1.txt",
        "conv/deep/c1.txt",
        "conv/lf.txt",
        "conv/sub/deep/b.txt",
        "other/x.id",
    ];
    let content = |round: &str| format!("one {round}\ntwo\n$Id$\n");
    for f in files {
        repo.write(f, content("base"));
    }
    repo.commit_all("converted and plain files");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    for f in files {
        repo.write(f, content("sprint"));
    }
    repo.commit_all("sprint: every file changed");
    // The work tree as git writes it.
    repo.git(&["rm", "-q", "-r", "--cached", "."]);
    for f in files {
        repo.remove(f);
    }
    repo.git(&["reset", "-q", "--hard"]);
    assert_eq!(repo.read_string("run.bat"), "one sprint\r\ntwo\r\n$Id$\r\n");
    assert!(repo.read_string("conv/x.id").contains("$Id: "));
    assert_eq!(repo.read_string("plain.txt"), content("sprint"));
    repo
}

#[test]
fn files_that_attribute_rules_convert_are_written_like_git_writes_them() {
    let repo = rules_fixture();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["emergency"], vec!["reset", "-q", "--hard", "baseline"]),
        (
            vec!["sprint", "rollback", "--no-tests"],
            vec!["reset", "-q", "--hard", "baseline"],
        ),
        (
            vec![
                "files",
                "--no-tests",
                "conv",
                "docs",
                "run.bat",
                "plain.txt",
            ],
            vec![
                "checkout",
                "baseline",
                "--",
                "conv",
                "docs",
                "run.bat",
                "plain.txt",
            ],
        ),
    ];
    for (tool, git) in cases {
        let copy = repo.copy();
        let before = repo.capture();
        repo.tool_ok(&tool);
        copy.git(&git);
        let tracked = copy.git(&["ls-files"]);
        for p in tracked.lines() {
            assert_eq!(repo.read(p), copy.read(p), "{tool:?} {p}");
        }
        assert_eq!(ls_files(&repo), ls_files(&copy), "{tool:?}");
        let status = repo.git(&["status", "--porcelain"]);
        assert!(
            status.lines().all(|l| l.as_bytes().get(1) == Some(&b' ')),
            "{tool:?}: {status}"
        );
        repo.tool_ok(&["undo"]);
        assert_same_except_reports(&before, &repo.capture());
    }
}

#[test]
fn recover_writes_converted_files_like_git_cherry_pick() {
    let repo = eol_fixture();
    let copy = repo.copy();
    repo.tool_ok(RECOVER);
    copy.git(&["checkout", "-q", "-b", "r", "baseline"]);
    copy.git(&["cherry-pick", "baseline..refactor/sprint-3"]);
    for p in ["eol/a.txt", "eol/b.id", "eol/c.bin"] {
        assert_eq!(repo.read(p), copy.read(p), "{p}");
    }
    assert_eq!(ls_files(&repo), ls_files(&copy));
}

/// A filter driver `x` configured in git config (clean strips the `S:`
/// prefix that smudge adds), and `*.secret filter=x` in the baseline.
fn filter_fixture() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write(".gitattributes", "*.secret filter=x\n");
    repo.git(&["config", "filter.x.smudge", "sed s/^/S:/"]);
    repo.git(&["config", "filter.x.clean", "sed s/^S://"]);
    repo.write("a.secret", "S:one\n");
    repo.commit_all("filtered file");
    assert_eq!(repo.git(&["show", "HEAD:a.secret"]), "one");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    repo.write("a.secret", "S:two\n");
    repo.write("README.md", "# sprint\n");
    repo.commit_all("sprint: secret two");
    repo
}

#[test]
fn a_configured_filter_driver_is_run_like_git_or_refused() {
    let repo = filter_fixture();
    for args in commands() {
        eprintln!("{args:?}");
        dirty(&repo, !args.contains(&"recover"));
        exact_or_refused(&repo, repo.path(), &args, "filter", |_| {
            // What git's checkout would write: the smudged content.
            if args[0] != "checkpoint" {
                assert_eq!(repo.read_string("a.secret"), "S:one\n", "{args:?}");
            }
        });
    }
}

#[test]
fn a_filter_attribute_without_a_driver_is_no_reason_to_refuse() {
    // `filter=x` with no `filter.x.*` configured: git writes the blob as
    // it is, and so does the tool.
    let repo = filter_fixture();
    repo.git(&["config", "--unset", "filter.x.smudge"]);
    repo.git(&["config", "--unset", "filter.x.clean"]);
    round_trip(&repo, &["emergency"], |_| {
        assert_eq!(repo.read_string("a.secret"), "one\n");
    });
}

// ----- unborn and detached HEAD --------------------------------------------------

#[test]
fn an_orphan_branch_is_refused_or_handled_by_every_command() {
    // `git checkout --orphan` keeps the index and the files: all of it is
    // staged as new on an unborn branch, and a baseline exists.
    let repo = fixture();
    repo.git(&["checkout", "-q", "--orphan", "fresh"]);
    for args in commands() {
        eprintln!("{args:?}");
        dirty(&repo, !args.contains(&"recover"));
        exact_or_refused(&repo, repo.path(), &args, "commit", |_| {});
    }
}

#[test]
fn an_unborn_repository_is_refused_by_every_command() {
    let repo = TestRepo::new();
    repo.write("a.txt", "staged\n");
    repo.git(&["add", "a.txt"]);
    repo.write("b.txt", "untracked\n");
    for args in commands() {
        let before = repo.capture();
        let out = repo.tool(&args);
        assert!(!out.success(), "{args:?}\n{out}");
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn sprint_rollback_files_and_recover_from_a_detached_head_round_trip() {
    let repo = fixture();
    repo.git(&["checkout", "-q", "--detach", SPRINT]);
    dirty(&repo, true);
    let head = repo.head();
    round_trip(&repo, &["sprint", "rollback", "3", "--no-tests"], |v| {
        assert_eq!(repo.rev(v["backup_branch"].as_str().unwrap()), {
            // The WIP commit on top of the detached HEAD.
            repo.rev(v["wip_commit"].as_str().unwrap())
        });
        assert_eq!(
            repo.rev(&format!("{}^", v["wip_commit"].as_str().unwrap())),
            head
        );
        assert_eq!(repo.rev("HEAD"), repo.rev("baseline^{commit}"));
    });
    assert_eq!(repo.capture().head, head);
    round_trip(&repo, &["files", "--no-tests", "config"], |_| {
        assert_eq!(repo.capture().head, head);
    });
    dirty(&repo, false);
    round_trip(&repo, RECOVER, |_| {});
    assert_eq!(repo.capture().head, head);
    round_trip(&repo, &["checkpoint", "--wip"], |_| {});
}

#[test]
fn sprint_rollback_from_a_detached_head_without_a_number_is_refused() {
    let repo = fixture();
    repo.git(&["checkout", "-q", "--detach", SPRINT]);
    let before = repo.capture();
    let out = repo.tool(&["sprint", "rollback", "--no-tests"]);
    assert_refusal(&out, "detached");
    assert_same_state(&before, &repo.capture());
}

// ----- a lightweight or ambiguous baseline ---------------------------------------

#[test]
fn a_lightweight_baseline_tag_works_like_an_annotated_one() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "baseline"]);
    let base = repo.head();
    sprint_commits(&repo);
    for args in commands() {
        eprintln!("{args:?}");
        dirty(&repo, !args.contains(&"recover"));
        round_trip(&repo, &args, |v| {
            if args[0] == "emergency" {
                assert_eq!(v["target"], base.as_str());
            }
        });
    }
    let show = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(show["commit"], base.as_str());
    assert_eq!(show["annotated"], false);
}

/// A tag `baseline` at the known-good commit and a branch `baseline` at
/// another commit (the sprint's first).
fn ambiguous_fixture() -> (TestRepo, String, String) {
    let repo = fixture();
    let tag = repo.rev("baseline^{commit}");
    let branch = repo.rev(&format!("{SPRINT}~1"));
    repo.git(&["branch", "baseline", &branch]);
    // git: "refname 'baseline' is ambiguous", and it takes the tag.
    let out = repo.git_output(&["rev-parse", "baseline^{commit}"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), tag);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ambiguous"));
    (repo, tag, branch)
}

#[test]
fn an_ambiguous_baseline_means_the_tag_everywhere_like_git() {
    let (repo, tag, _) = ambiguous_fixture();
    dirty(&repo, true);
    round_trip(&repo, &["emergency"], |v| {
        assert_eq!(v["target"], tag.as_str());
        assert_eq!(repo.head(), tag);
    });
    round_trip(&repo, &["emergency", "--to", "baseline"], |v| {
        assert_eq!(v["target"], tag.as_str());
    });
    round_trip(&repo, &["sprint", "rollback", "--no-tests"], |_| {
        assert_eq!(repo.head(), tag);
    });
    // (`git checkout baseline -- config` would take the branch: checkout
    // looks for a branch first. Every other git command takes the tag.)
    let tagged = repo.git(&["show", "baseline:config/settings.toml"]);
    round_trip(&repo, &["files", "--no-tests", "config"], |_| {
        assert_eq!(repo.read_string("config/settings.toml").trim_end(), tagged);
    });
    dirty(&repo, false);
    // baseline..sprint with the tag: both sprint commits.
    round_trip(&repo, RECOVER, |v| {
        assert_eq!(v["picked"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(repo.rev("HEAD~2"), tag);
    });
    let show = repo.tool_ok(&["--json", "baseline", "show"]).json();
    assert_eq!(show["commit"], tag.as_str());
}

#[test]
fn an_explicit_branch_baseline_is_taken_as_configured() {
    let (repo, _, branch) = ambiguous_fixture();
    repo.git(&["config", "rollback.baseline", "refs/heads/baseline"]);
    round_trip(&repo, &["emergency"], |v| {
        assert_eq!(v["target"], branch.as_str());
    });
}

// ----- names and paths -----------------------------------------------------------

#[test]
fn odd_file_names_go_through_every_command() {
    let repo = fixture();
    // Tracked odd names in the baseline's successor, changed in the sprint.
    let names = odd_names(&repo);
    repo.commit_all("odd names");
    for (i, name) in names.iter().enumerate() {
        repo.write(name, format!("odd file {i}, edited\n"));
    }
    let sprint_head = repo.commit_all("sprint: edit odd names");
    repo.write(
        Path::new(std::ffi::OsStr::from_bytes(b"untracked-\xff.txt")),
        "untracked non-UTF-8\n",
    );
    for args in commands() {
        round_trip(&repo, &args, |_| {});
        assert_eq!(repo.head(), sprint_head);
    }
    // `files` with each odd name as its argument, non-UTF-8 included.
    repo.git(&["tag", "-f", "-a", "baseline", "-m", "odd", "HEAD~1"]);
    for (i, name) in names.iter().enumerate() {
        let before = repo.capture();
        let out = repo
            .tool_command(&["files", "--no-tests", "--"])
            .arg(name)
            .output()
            .unwrap();
        ToolOutput::from_output(out).assert_ok();
        assert_eq!(
            repo.read(name),
            format!("odd file {i}\n").as_bytes(),
            "{name:?}"
        );
        repo.tool_ok(&["undo"]);
        assert_same_state(&before, &repo.capture());
    }
}

/// 60 nested directories, and a path of more than 1024 bytes whose
/// components are each under 255.
fn deep_paths() -> (PathBuf, PathBuf) {
    let deep: PathBuf = (0..60).map(|i| format!("d{i}")).collect();
    let long: PathBuf = (0..9).map(|i| format!("{i}{}", "l".repeat(120))).collect();
    assert!(long.as_os_str().len() > 1024);
    (deep.join("file.txt"), long.join("file.txt"))
}

#[test]
fn very_deep_and_very_long_paths_go_through_every_command() {
    let repo = TestRepo::with_commits();
    let (deep, long) = deep_paths();
    repo.write(&deep, "deep v1\n");
    repo.write(&long, "long v1\n");
    repo.commit_all("deep paths");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    repo.write(&deep, "deep v2\n");
    repo.write(&long, "long v2\n");
    repo.write(deep.with_file_name("new.txt"), "new deep\n");
    repo.commit_all("sprint: deep edits");
    repo.write(long.with_file_name("untracked.txt"), "untracked long\n");
    repo.write(deep.with_file_name("x.log"), "ignored deep\n");
    let deep_dir = deep.parent().unwrap().to_str().unwrap().to_string();
    let long_arg = long.to_str().unwrap().to_string();
    for args in commands() {
        let args: Vec<&str> = if args[0] == "files" {
            vec!["files", "--no-tests", "--delete-new", &deep_dir, &long_arg]
        } else {
            args
        };
        round_trip(&repo, &args, |_| {
            if args[0] != "checkpoint" && args[0] != "recover" {
                assert_eq!(repo.read_string(&deep), "deep v1\n", "{args:?}");
                assert_eq!(repo.read_string(&long), "long v1\n", "{args:?}");
            }
        });
    }
}

// ----- permissions, as an unprivileged user --------------------------------------

const NOBODY: u32 = 65534;

/// Root ignores permission bits; run the tool as `nobody` so they apply.
/// The repository is handed to that user for the run and back to root for
/// the captures (git refuses a repository owned by someone else).
fn as_nobody(repo: &TestRepo, args: &[&str]) -> Option<ToolOutput> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    chown(repo.root(), NOBODY);
    let out = repo
        .tool_command(args)
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap();
    chown(repo.root(), 0);
    Some(ToolOutput::from_output(out))
}

fn chown(dir: &Path, id: u32) {
    let status = std::process::Command::new("chown")
        .args(["-R", "-h", &format!("{id}:{id}")])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

#[track_caller]
fn skip_unless_root() -> bool {
    if !rustix::process::geteuid().is_root() {
        crate::common::skip(
            "not running as root, so permission bits apply already",
            false,
        );
        return true;
    }
    false
}

#[test]
fn a_read_only_tracked_file_is_rewritten_and_restored_with_its_mode() {
    if skip_unless_root() {
        return;
    }
    for args in [
        vec!["emergency"],
        vec!["sprint", "rollback", "--no-tests"],
        vec!["files", "--no-tests", "config"],
    ] {
        let repo = fixture();
        repo.chmod("config/settings.toml", 0o444);
        repo.write("notes.txt", "untracked\n");
        let before = repo.capture();
        let out = as_nobody(&repo, &args).unwrap();
        out.assert_ok();
        assert_eq!(
            repo.read_string("config/settings.toml"),
            "[server]\nport = 8080\n"
        );
        let undo = as_nobody(&repo, &["undo"]).unwrap();
        undo.assert_ok();
        assert_same_except_reports(&before, &repo.capture());
        assert_eq!(repo.mode("config/settings.toml"), 0o444, "{args:?}");
    }
}

#[test]
fn an_unreadable_untracked_directory_is_left_in_place_and_named() {
    if skip_unless_root() {
        return;
    }
    for args in commands() {
        let repo = fixture();
        dirty(&repo, !args.contains(&"recover"));
        repo.write("private/secret.txt", "cannot be read\n");
        repo.chmod("private", 0o000);
        let before = repo.capture();
        let out = as_nobody(&repo, &args).unwrap();
        out.assert_ok();
        // It cannot be saved, so it is left exactly as it was, and a
        // command that scans the whole tree says so.
        assert_eq!(repo.mode("private"), 0o000, "{args:?}");
        if args[0] != "files" {
            assert!(
                out.stderr
                    .contains("warning: cannot read the untracked directory private/"),
                "{args:?}: expected a warning naming private/\n{out}"
            );
        }
        let undo = as_nobody(&repo, &["undo"]).unwrap();
        undo.assert_ok();
        assert_same_except_reports(&before, &repo.capture());
    }
}

#[test]
fn an_unreadable_directory_of_tracked_files_is_refused_before_anything_changes() {
    if skip_unless_root() {
        return;
    }
    for args in commands() {
        let repo = fixture();
        dirty(&repo, !args.contains(&"recover"));
        // Unlisted, `docs/guide.md` would look deleted to the scan.
        repo.chmod("docs", 0o000);
        let before = repo.capture();
        let out = as_nobody(&repo, &args).unwrap();
        // `files` warns about the new path it would leave before it gets
        // to the snapshot; the refusal is the one error line.
        let mut refusal = out.clone();
        refusal.stderr = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("warning: src/feature.rs does not exist"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_refusal(&refusal, "cannot read docs/, which holds tracked files");
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn a_read_only_directory_that_must_change_is_refused_or_undone_never_half_done() {
    if skip_unless_root() {
        return;
    }
    for args in [
        vec!["emergency"],
        vec!["sprint", "rollback", "--no-tests"],
        vec![
            "files",
            "--no-tests",
            "--delete-new",
            "config",
            "docs",
            "src",
        ],
        RECOVER.to_vec(),
    ] {
        let repo = fixture();
        // `src/feature.rs` is new in the sprint: rolling back deletes it,
        // which a read-only `src/` forbids (recover creates it there).
        repo.write("notes.txt", "untracked\n");
        if args[0] == "recover" {
            repo.git(&["checkout", "-q", "baseline"]);
        }
        repo.chmod("src", 0o555);
        let before = repo.capture();
        let out = as_nobody(&repo, &args).unwrap();
        eprintln!("{args:?}: {out}");
        if args[0] == "recover" {
            // The picks are made (and the branch moved) before the work
            // tree is written, so this stops part-way; the error names
            // `undo`, and nothing in the work tree was written.
            out.assert_code(1);
            assert!(
                out.stderr.contains("cannot write in src/") && out.stderr.contains("undo"),
                "{out}"
            );
            assert!(!repo.exists("src/feature.rs"), "{out}");
            let undo = as_nobody(&repo, &["undo"]).unwrap();
            undo.assert_ok();
            assert_same_except_reports(&before, &repo.capture());
        } else {
            // Known before anything is written: refused, nothing changed.
            assert_refusal(&out, "cannot write in src/");
            assert_same_state(&before, &repo.capture());
        }
    }
}

/// Files whose bytes on disk are not their blob's (mixed line endings
/// under `core.autocrlf`), many of them, in a folder whose name is not
/// UTF-8: the snapshot reads each one's bytes, and undo writes them back.
#[test]
fn converted_files_in_a_non_utf8_folder_come_back_byte_for_byte() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "core.autocrlf", "true"]);
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    let dir = Path::new(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    for n in 0..80 {
        repo.write(dir.join(format!("f{n}.txt")), format!("a\r\nb\nc{n}\r\n"));
    }
    repo.git(&["add", "-A"]);
    repo.commit_staged("mixed line endings");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    let before = repo.capture();
    repo.tool_ok(&["emergency"]);
    assert!(!repo.exists(dir.join("f0.txt")));
    repo.tool_ok(&["undo"]);
    assert_eq!(repo.read(dir.join("f7.txt")), b"a\r\nb\nc7\r\n");
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn a_replaced_file_in_a_non_utf8_folder_of_the_baseline_is_refused() {
    let repo = TestRepo::with_commits();
    let dir = Path::new(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    repo.write(dir.join("deep/menu.txt"), "soup\n");
    repo.commit_all("a folder whose name is not UTF-8");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.write("README.md", "changed since\n");
    // git's checkout would write the replacement; the check must see the
    // replaced file under the folder libgit2's own walk stops at.
    let mut path = b"baseline:".to_vec();
    path.extend_from_slice(b"caf\xe9/deep/menu.txt");
    let blob = repo.git_bytes(&[
        std::ffi::OsStr::from_bytes(b"rev-parse"),
        std::ffi::OsStr::from_bytes(&path),
    ]);
    let blob = String::from_utf8_lossy(&blob).trim().to_string();
    let other = repo.git_with_stdin(&["hash-object", "-w", "--stdin"], b"replaced\n");
    repo.git(&["replace", &blob, &other]);
    let before = crate::common::everything(&repo);
    let out = repo.tool(&["--yes", "emergency"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("replace ref"), "{}", out.stderr);
    crate::common::assert_nothing_changed(&repo, &before);
}

#[test]
fn the_empty_folder_of_a_submodule_not_checked_out_stays_as_with_git_reset_hard() {
    // After a plain clone a submodule is a gitlink and an empty folder.
    let (repo, _, _) = with_submodule();
    repo.git(&["submodule", "deinit", "-q", "-f", "sub"]);
    assert!(fs::read_dir(repo.abs("sub")).is_ok_and(|mut d| d.next().is_none()));
    repo.write("README.md", "work since the baseline\n");
    let copy = repo.copy();
    let before = repo.capture();
    repo.tool_ok(&["--yes", "emergency"]);
    copy.git(&["stash", "-q", "-u"]);
    copy.git(&["reset", "-q", "--hard", "baseline"]);
    assert!(copy.exists("sub"), "git's reset keeps the folder");
    assert!(
        repo.exists("sub"),
        "the rollback removed the submodule's folder"
    );
    assert_eq!(ls_files(&repo), ls_files(&copy));
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        copy.git(&["status", "--porcelain"])
    );
    repo.tool_ok(&["--yes", "undo"]);
    assert_same_except_reports(&before, &repo.capture());
}
