//! Self-tests of the harness in `common`.
//!
//! A state capture that never reports a difference would make every "nothing
//! was lost" test pass vacuously, so these tests prove that each kind of
//! change the tool could make is seen, and named, by `RepoState::diff`; and
//! that the sandbox is deterministic (same calls, same commit ids).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use crate::common::{
    assert_same_dir, assert_same_except_reports, assert_same_state, assert_unchanged_by,
    capture_dir, capture_repo, capture_repo_with_orphans, commit_history, dirty_everything,
    odd_names, orphan_id, EntryKind, RepoState, TestRepo, ToolOutput, BASE_COMMIT_DATE,
    DEFAULT_NOW, TOOL_BIN,
};

/// Assert that exactly the expected kind of difference shows up: the diff is
/// non-empty and some line contains every one of `needles`.
#[track_caller]
fn assert_diff_names(before: &RepoState, after: &RepoState, needles: &[&str]) -> Vec<String> {
    let lines = before.diff(after);
    assert!(!lines.is_empty(), "expected a difference, diff is empty");
    assert!(
        lines.iter().any(|l| needles.iter().all(|n| l.contains(n))),
        "no diff line contains all of {needles:?}; lines:\n{}",
        lines.join("\n")
    );
    lines
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = err.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = err.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        String::from("<non-string panic>")
    }
}

fn messy_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    dirty_everything(&repo);
    odd_names(&repo);
    repo
}

// ----- capture sees nothing when nothing changed ------------------------------

#[test]
fn capture_of_unchanged_repo_equals_itself() {
    let repo = messy_repo();
    let a = repo.capture();
    let b = repo.capture();
    assert_eq!(a.diff(&b), Vec::<String>::new());
    assert_eq!(a, b);
    assert_same_state(&a, &b);
    // Capturing is read-only, also for the git-dir and index files.
    let git_dir = capture_dir(&repo.git_dir());
    let _ = repo.capture();
    assert_same_dir(&git_dir, &capture_dir(&repo.git_dir()));
}

#[test]
fn assert_unchanged_by_passes_through_the_result() {
    let repo = TestRepo::with_commits();
    let head = assert_unchanged_by(&repo, || repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(head, repo.head());
}

#[test]
fn capture_of_empty_and_bare_repos() {
    let empty = TestRepo::new();
    let s = empty.capture();
    assert_eq!(s.head, "ref: refs/heads/main");
    assert!(s.refs.is_empty());
    assert!(!s.index.exists);
    assert!(s.files.is_empty(), "{:?}", s.files.paths());

    let bare = TestRepo::new_bare();
    let s = bare.capture();
    assert!(s.bare);
    assert!(s.files.is_empty());
    assert!(s.git_files.contains_key("config"));
    assert_eq!(bare.git_dir(), bare.path());
}

#[test]
fn capture_from_a_subdirectory_sees_the_whole_work_tree() {
    let repo = TestRepo::with_commits();
    assert_eq!(capture_repo(&repo.path().join("src")), repo.capture());
}

// ----- capture sees every kind of change ------------------------------------

#[test]
fn changed_byte_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    let mut bytes = repo.read("README.md");
    bytes[2] ^= 1;
    repo.write("README.md", bytes);
    assert_diff_names(
        &before,
        &repo.capture(),
        &[
            "file README.md: content differs",
            "first difference at byte 2",
        ],
    );
}

#[test]
fn chmod_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    let old = repo.mode("src/main.rs");
    repo.chmod("src/main.rs", old | 0o100);
    let lines = assert_diff_names(&before, &repo.capture(), &["file src/main.rs: mode"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
}

#[test]
fn retargeted_symlink_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.symlink("link", "src/lib.rs");
    assert_diff_names(
        &before,
        &repo.capture(),
        &["symlink link: target README.md vs src/lib.rs"],
    );
}

#[test]
fn file_turned_into_symlink_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.symlink("docs/guide.md", "../README.md");
    assert_diff_names(
        &before,
        &repo.capture(),
        &["path docs/guide.md: file vs symlink"],
    );
}

#[test]
fn new_empty_dir_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.mkdir("empty/dir");
    let lines = assert_diff_names(&before, &repo.capture(), &["dir empty/dir: new after"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn removed_file_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.remove("tests");
    let lines = assert_diff_names(
        &before,
        &repo.capture(),
        &["file tests/unit/test_lib.py: missing after"],
    );
    assert!(
        lines.contains(&"dir tests: missing after".to_string()),
        "{lines:?}"
    );
}

#[test]
fn new_ignored_file_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.write("target/debug.log", "ignored\n");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "file should be ignored"
    );
    assert_diff_names(
        &before,
        &repo.capture(),
        &["file target/debug.log: new after"],
    );
}

#[test]
fn new_moved_and_deleted_refs_are_detected() {
    let repo = TestRepo::with_commits();
    let first = repo.rev("HEAD~1");
    repo.git(&["branch", "gone"]);
    let before = repo.capture();
    repo.git(&["tag", "x"]);
    repo.git(&["branch", "-q", "-D", "gone"]);
    repo.git(&["update-ref", "refs/heads/main", &first]);
    let after = repo.capture();
    assert_diff_names(&before, &after, &["ref refs/tags/x: new after"]);
    assert_diff_names(&before, &after, &["ref refs/heads/gone: missing after"]);
    assert_diff_names(&before, &after, &["ref refs/heads/main:", &first]);
}

#[test]
fn rollback_refs_are_not_compared_but_orphans_are_caught() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "base"]);
    repo.write("scratch.txt", "x\n");
    let before = repo.capture();
    // The keep ref and its entries of recorded operations are not a
    // difference...
    repo.tool_ok(&["checkpoint", "--wip"]);
    repo.tool_ok(&["undo"]);
    assert!(!repo
        .git(&["for-each-ref", "refs/rollback/"])
        .trim()
        .is_empty());
    assert_same_except_reports(&before, &repo.capture());
    // ... a ref of no recorded operation is an orphan, caught on capture...
    repo.git(&[
        "update-ref",
        "refs/rollback/20990101_000000-abcdef/worktree",
        "HEAD",
    ]);
    let (_, orphans) = capture_repo_with_orphans(repo.path());
    assert_eq!(
        orphans,
        vec!["refs/rollback/20990101_000000-abcdef/worktree".to_string()]
    );
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| repo.capture()));
    assert!(caught.is_err(), "capture must fail on an orphan ref");
    repo.git(&[
        "update-ref",
        "-d",
        "refs/rollback/20990101_000000-abcdef/worktree",
    ]);
    // ... so is an entry of the keep reflog naming no recorded operation
    // (what a kill before the `begin` record leaves)...
    let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    let log = std::path::Path::new(&common).join("logs/refs/rollback/keep/main");
    let kept = std::fs::read_to_string(&log).unwrap();
    let head = repo.head();
    std::fs::write(
        &log,
        format!(
            "{kept}{head} {head} git-rollback-sprint <> 253402300799 +0000\trollback-sprint 0123456789ab worktree\n"
        ),
    )
    .unwrap();
    let (_, orphans) = capture_repo_with_orphans(repo.path());
    assert_eq!(
        orphans,
        vec!["refs/rollback/keep/main entry 0123456789ab worktree".to_string()]
    );
    assert_eq!(orphan_id(&orphans[0]), "0123456789ab");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| repo.capture()));
    assert!(caught.is_err(), "capture must fail on an orphan entry");
    std::fs::write(&log, kept).unwrap();
    repo.capture();
    // ... and a near miss is an ordinary ref.
    repo.git(&["update-ref", "refs/rollbackx", "HEAD"]);
    assert_diff_names(&before, &repo.capture(), &["ref refs/rollbackx: new after"]);
}

#[test]
fn head_change_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.git(&["checkout", "-q", "-b", "other"]);
    assert_diff_names(
        &before,
        &repo.capture(),
        &["HEAD: ref: refs/heads/main vs ref: refs/heads/other"],
    );
    repo.git(&["checkout", "-q", "--detach"]);
    assert_eq!(repo.capture().head, repo.head());
}

#[test]
fn staged_change_is_detected() {
    let repo = TestRepo::with_commits();
    repo.write("README.md", "changed\n");
    let before = repo.capture();
    repo.git(&["add", "README.md"]);
    let lines = assert_diff_names(&before, &repo.capture(), &["index entry README.md: oid"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
}

#[test]
fn index_flags_and_removal_are_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.git(&["update-index", "--skip-worktree", "src/main.rs"]);
    repo.git(&["update-index", "--assume-unchanged", "src/lib.rs"]);
    let after = repo.capture();
    assert!(after.index.get("src/main.rs").expect("entry").skip_worktree);
    assert_diff_names(
        &before,
        &after,
        &["index entry src/main.rs: skip-worktree false vs true"],
    );
    assert_diff_names(
        &before,
        &after,
        &["index entry src/lib.rs: assume-unchanged false vs true"],
    );

    let before = repo.capture();
    repo.git(&["rm", "-q", "--cached", "README.md"]);
    assert_diff_names(
        &before,
        &repo.capture(),
        &["index entry README.md: missing after"],
    );

    let before = repo.capture();
    repo.remove(".git/index");
    assert_diff_names(&before, &repo.capture(), &["index file: present vs absent"]);
}

#[test]
fn intent_to_add_is_captured_and_detected() {
    let repo = TestRepo::with_commits();
    repo.write("ita.txt", "x\n");
    let before = repo.capture();
    repo.git(&["add", "-N", "ita.txt"]);
    let after = repo.capture();
    let e = after.index.get("ita.txt").expect("ita entry");
    assert!(e.intent_to_add && !e.skip_worktree, "{e:?}");
    assert_diff_names(
        &before,
        &after,
        &["index entry ita.txt: new after", "intent-to-add"],
    );
    // Staging it for real clears the bit.
    repo.git(&["add", "ita.txt"]);
    assert_diff_names(
        &after,
        &repo.capture(),
        &["index entry ita.txt: intent-to-add true vs false"],
    );
}

#[test]
fn stash_entry_is_detected() {
    let repo = TestRepo::with_commits();
    repo.write("README.md", "work in progress\n");
    let before = repo.capture();
    repo.git(&["stash", "push", "-q", "-m", "wip one"]);
    let after = repo.capture();
    assert_eq!(after.stash.len(), 1);
    assert_eq!(after.stash[0].0, repo.rev("refs/stash"));
    assert!(after.stash[0].1.contains("wip one"), "{:?}", after.stash);
    assert_diff_names(&before, &after, &["stash: 0 entries vs 1 entries"]);
    assert_diff_names(&before, &after, &["stash@{0}: new after", "wip one"]);
    assert_diff_names(&before, &after, &["ref refs/stash: new after"]);
    assert_diff_names(&before, &after, &["file README.md: content differs"]);

    // A dropped older entry is a stash difference even though refs/stash
    // itself does not move.
    repo.write("README.md", "more work\n");
    repo.git(&["stash", "push", "-q", "-m", "wip two"]);
    let two = repo.capture();
    repo.git(&["stash", "drop", "-q", "stash@{1}"]);
    let lines = assert_diff_names(
        &two,
        &repo.capture(),
        &["stash@{1}: missing after", "wip one"],
    );
    assert!(!lines.iter().any(|l| l.starts_with("ref ")), "{lines:?}");
}

#[test]
fn merge_conflict_state_is_captured() {
    let repo = TestRepo::with_commits();
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("README.md", "side\n");
    repo.commit_all("side change");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "main\n");
    repo.commit_all("main change");
    let before = repo.capture();
    let out = repo.git_output(&["merge", "-q", "side"]);
    assert!(!out.status.success(), "merge should conflict");
    let after = repo.capture();
    let stages: Vec<u8> = after
        .index
        .entries
        .iter()
        .filter(|e| e.path == b"README.md")
        .map(|e| e.stage)
        .collect();
    assert_eq!(stages, vec![1, 2, 3]);
    assert_diff_names(
        &before,
        &after,
        &["index entry README.md (stage 2): new after"],
    );
    assert_diff_names(&before, &after, &["git-dir file MERGE_HEAD: new after"]);
}

#[test]
fn config_change_is_detected() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.git(&["config", "rollback.test", "1"]);
    assert_diff_names(
        &before,
        &repo.capture(),
        &["git-dir file config: content differs"],
    );
}

#[test]
fn odd_names_are_captured_and_printed_distinctly() {
    let repo = TestRepo::with_commits();
    let names = odd_names(&repo);
    let state = repo.capture();
    for name in &names {
        let e = state
            .files
            .get(name)
            .unwrap_or_else(|| panic!("{name:?} not captured"));
        assert_eq!(e.kind, EntryKind::File);
    }
    let non_utf8 = Path::new(OsStr::from_bytes(b"non-utf8-\xff\xfe"));
    assert!(names.iter().any(|n| n == non_utf8));
    repo.write(non_utf8, "changed\n");
    repo.write("new\nline.txt", "changed\n");
    let lines = repo.capture().diff(&state);
    assert!(
        lines.contains(&r"file non-utf8-\xff\xfe: content differs (8 bytes vs 12 bytes, first difference at byte 0)".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r"file new\nline.txt: content differs")),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains('\n')));
}

#[test]
fn capture_dir_sees_changes_outside_the_repo() {
    let repo = TestRepo::new();
    let before = capture_dir(repo.home());
    assert!(before.contains(".gitconfig"));
    repo.write_exec("x", "y"); // inside the repo: not in the home capture
    assert_same_dir(&before, &capture_dir(repo.home()));
    std::fs::write(repo.home().join("stray"), b"s").expect("write stray");
    let lines = before.diff(&capture_dir(repo.home()));
    assert_eq!(lines, vec!["file stray: new after".to_string()]);
}

#[test]
fn assertions_fail_and_list_the_differences() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    for i in 0..60 {
        repo.write(format!("many/f{i:02}"), "x");
    }
    let after = repo.capture();
    let msg = panic_message(|| assert_same_state(&before, &after));
    assert!(
        msg.contains("repository state changed (61 differences)"),
        "{msg}"
    );
    assert!(msg.contains("dir many: new after"), "{msg}");
    assert!(msg.contains("... and 11 more"), "{msg}");
    assert_eq!(msg.lines().count(), 52, "{msg}");

    let (d1, d2) = (capture_dir(repo.path()), capture_dir(repo.root()));
    let msg = panic_message(|| assert_same_dir(&d1, &d2));
    assert!(msg.contains("directory changed"), "{msg}");

    let msg = panic_message(|| {
        assert_unchanged_by(&repo, || repo.write("README.md", "boom"));
    });
    assert!(msg.contains("file README.md: content differs"), "{msg}");
}

// ----- fixtures ---------------------------------------------------------------

#[test]
fn dirty_everything_makes_the_documented_changes() {
    let repo = TestRepo::with_commits();
    let head = repo.head();
    dirty_everything(&repo);
    assert_eq!(repo.head(), head, "HEAD must not move");
    let status = repo.git(&[
        "status",
        "--porcelain=v1",
        "--ignored",
        "--untracked-files=all",
    ]);
    let status: Vec<&str> = status.lines().collect();
    assert_eq!(
        status,
        vec![
            "M  README.md",
            " M bin/run.sh",
            " T docs/guide.md",
            " A ita.txt",
            "MM src/lib.rs",
            " M src/main.rs",
            "A  src/new.rs",
            " D tests/unit/test_lib.py",
            "?? assets/blob.bin",
            "?? newdir/u.txt",
            "?? notes/private.txt",
            "!! .env",
            "!! newdir/sub/x.log",
            "!! target/debug/app",
        ],
    );
    let s = repo.capture();
    assert!(s.index.get("ita.txt").expect("ita").intent_to_add);
    assert_eq!(
        s.files.get("empty/dir").expect("empty dir").kind,
        EntryKind::Dir
    );
    assert_eq!(
        s.files.get("tests/unit").expect("emptied dir").kind,
        EntryKind::Dir
    );
    assert_eq!(
        s.files.get("config/settings.toml").expect("0600").mode,
        0o600
    );
    assert_eq!(s.files.get("notes/private.txt").expect("0600").mode, 0o600);
    assert_eq!(s.files.get("bin/run.sh").expect("run.sh").mode & 0o111, 0);
    assert_eq!(
        s.files.get("target/debug/app").expect("app").mode & 0o100,
        0o100
    );
    let blob = s.files.get("assets/blob.bin").expect("blob");
    assert_eq!(blob.data, (0..=255u8).collect::<Vec<_>>());
    let staged = repo.git(&["show", ":src/lib.rs"]);
    assert!(staged.contains("staged v2"));
    assert!(repo.read_string("src/lib.rs").contains("work tree v3"));
}

#[test]
fn commit_history_adds_one_file_per_commit_and_keeps_local_changes() {
    let repo = TestRepo::with_commits();
    repo.write("README.md", "local change\n");
    let oids = commit_history(&repo, 3);
    assert_eq!(oids.len(), 3);
    assert_eq!(oids[2], repo.head());
    for (i, oid) in oids.iter().enumerate() {
        let files = repo.git(&["show", "--format=", "--name-only", oid]);
        assert_eq!(files, format!("history/file-{i}.txt"));
    }
    assert_eq!(repo.git(&["status", "--porcelain"]), " M README.md");
    let more = commit_history(&repo, 1);
    let files = repo.git(&["show", "--format=", "--name-only", &more[0]]);
    assert_eq!(files, "history/file-3.txt");
}

// ----- determinism and sandbox ------------------------------------------------

#[test]
fn same_commands_give_same_commit_ids() {
    let a = TestRepo::with_commits();
    let b = TestRepo::with_commits();
    assert_eq!(a.head(), b.head());
    assert_eq!(commit_history(&a, 2), commit_history(&b, 2));
    for r in [&a, &b] {
        r.write("README.md", "stashed\n");
        r.write("untracked.txt", "u\n");
    }
    a.git(&["stash", "push", "-q", "--include-untracked", "-m", "s"]);
    b.git(&["stash", "push", "-q", "--include-untracked", "-m", "s"]);
    assert_eq!(a.rev("refs/stash"), b.rev("refs/stash"));
    dirty_everything(&a);
    dirty_everything(&b);
    assert_eq!(a.commit_all("all"), b.commit_all("all"));
    assert_eq!(
        a.capture().diff(&b.capture()),
        Vec::<String>::new(),
        "two identical histories should capture equal"
    );
}

#[test]
fn commit_dates_advance_one_minute_per_commit() {
    let repo = TestRepo::with_commits();
    assert_eq!(
        repo.git(&["log", "--format=%aI %cI"]),
        "2026-11-20T09:01:00Z 2026-11-20T09:01:00Z\n\
         2026-11-20T09:00:00Z 2026-11-20T09:00:00Z"
    );
    assert_eq!(
        TestRepo::new().commit_date(),
        BASE_COMMIT_DATE,
        "first commit date"
    );
    // The clock rolls over days and months correctly.
    let r = TestRepo::new();
    for _ in 0..(11 * 24 * 60 + 61) {
        r.tick();
    }
    assert_eq!(r.commit_date(), "2026-12-01T10:01:00+00:00");
}

#[test]
fn copy_captures_equal_and_is_independent() {
    let repo = messy_repo();
    let copy = repo.copy();
    assert_ne!(copy.path(), repo.path());
    assert_same_state(&repo.capture(), &copy.capture());
    // The clocks continue identically.
    assert_eq!(repo.commit_all("next"), copy.commit_all("next"));
    let before = repo.capture();
    copy.write("README.md", "only in the copy\n");
    assert_same_state(&before, &repo.capture());
    assert_ne!(copy.read("README.md"), repo.read("README.md"));
}

#[test]
fn git_runs_in_the_sandbox() {
    let repo = TestRepo::with_commits();
    let global = repo.git_output(&["config", "--global", "--list"]);
    assert!(global.stdout.is_empty(), "global config must be empty");
    let ident = repo.git(&["var", "GIT_COMMITTER_IDENT"]);
    assert_eq!(ident, "Sprint Tester <tester@example.com> 1795165320 +0000");
    let origin = repo.git(&["config", "--show-origin", "--get", "user.name"]);
    assert!(origin.starts_with("file:.git/config"), "{origin}");
    assert_eq!(repo.git_dir(), repo.path().join(".git"));

    let env = repo.env_pairs();
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} not in env_pairs"))
    };
    assert_eq!(get("HOME"), repo.home().to_str().expect("utf-8"));
    assert_eq!(get("GIT_CONFIG_NOSYSTEM"), "1");
    assert_eq!(get("LC_ALL"), "C");
    assert_eq!(get("GIT_ROLLBACK_SPRINT_NOW"), DEFAULT_NOW);
    repo.set_now("2027-01-01T00:00:00+00:00");
    assert_eq!(repo.now(), "2027-01-01T00:00:00+00:00");
    let env = repo.env_pairs();
    assert!(env.contains(&(
        "GIT_ROLLBACK_SPRINT_NOW".to_string(),
        "2027-01-01T00:00:00+00:00".to_string()
    )));

    // Variables that redirect git are removed even if set on the command.
    let mut cmd = Command::new("git");
    cmd.args(["rev-parse", "--absolute-git-dir"])
        .current_dir(repo.path())
        .env("GIT_DIR", "/nonexistent")
        .env("GIT_WORK_TREE", "/nonexistent");
    repo.apply_env(&mut cmd);
    let out = cmd.output().expect("run git");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        repo.path().join(".git").to_str().expect("utf-8")
    );

    // Discovery does not escape the sandbox root.
    let out = repo.git_output(&["-C", repo.home().to_str().expect("utf-8"), "rev-parse"]);
    assert!(
        !out.status.success(),
        "home must not be inside a repository"
    );
}

#[test]
fn test_repo_can_be_shared_across_threads() {
    fn is_sync<T: Sync + Send>(_: &T) {}
    let repo = TestRepo::with_commits();
    is_sync(&repo);
    let heads: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3).map(|_| s.spawn(|| repo.head())).collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert!(heads.iter().all(|h| *h == repo.head()));
}

#[test]
fn tool_command_is_configured_not_spawned() {
    let repo = TestRepo::new();
    assert!(Path::new(TOOL_BIN).is_absolute());
    let cmd = repo.tool_command(&["status", "--json"]);
    assert_eq!(cmd.get_program(), OsStr::new(TOOL_BIN));
    assert_eq!(cmd.get_current_dir(), Some(repo.path()));
    let args: Vec<_> = cmd.get_args().collect();
    assert_eq!(args, vec![OsStr::new("status"), OsStr::new("--json")]);
    let now = cmd
        .get_envs()
        .find(|(k, _)| *k == OsStr::new("GIT_ROLLBACK_SPRINT_NOW"))
        .and_then(|(_, v)| v);
    assert_eq!(now, Some(OsStr::new(DEFAULT_NOW)));
    // No arguments at all must type-check.
    assert_eq!(repo.tool_command(&[]).get_args().count(), 0);
}

// ----- small helpers ----------------------------------------------------------

#[test]
fn file_helpers_use_lstat_and_never_write_through_symlinks() {
    let repo = TestRepo::with_commits();
    repo.symlink("dangling", "does/not/exist");
    assert!(repo.exists("dangling"));
    assert!(!repo.exists("does/not/exist"));
    let readme = repo.read("README.md");
    repo.write("link", "now a file\n");
    assert_eq!(
        repo.read("README.md"),
        readme,
        "write went through the symlink"
    );
    assert_eq!(repo.read("link"), b"now a file\n");
    repo.symlink("link", "README.md");
    assert_eq!(repo.read_link("link"), Path::new("README.md"));
    assert_eq!(repo.mode("link") & 0o777, 0o777);
    repo.remove("link");
    assert!(!repo.exists("link") && repo.exists("README.md"));
    repo.remove("src");
    assert!(!repo.exists("src"));
}

#[test]
#[should_panic(expected = "must be relative")]
fn paths_may_not_escape_the_repo() {
    TestRepo::new().write("../escape", "x");
}

#[test]
#[should_panic(expected = "git [\"rev-parse\", \"--verify\", \"nope\"]")]
fn failing_git_panics_with_the_command() {
    TestRepo::with_commits().rev("nope");
}

#[test]
fn tool_output_assertions() {
    let ok = ToolOutput {
        code: 0,
        stdout: " {\"a\": 1}\n".to_string(),
        stderr: String::new(),
    };
    ok.assert_ok()
        .assert_code(0)
        .assert_stdout_contains("\"a\"");
    assert_eq!(ok.json()["a"], 1);

    let bad = ToolOutput {
        code: 3,
        stdout: "partial output".to_string(),
        stderr: "error: boom".to_string(),
    };
    bad.assert_failure()
        .assert_code(3)
        .assert_stderr_contains("boom");
    let msg = panic_message(|| {
        bad.assert_ok();
    });
    assert!(
        msg.contains("exit code 3")
            && msg.contains("partial output")
            && msg.contains("error: boom"),
        "{msg}"
    );
    for stdout in [
        "",
        "[1]",
        "{} {}",
        "{\"a\":1}\n{\"b\":2}",
        "\"s\"",
        "not json",
    ] {
        let t = ToolOutput {
            code: 0,
            stdout: stdout.to_string(),
            stderr: String::new(),
        };
        let msg = panic_message(|| {
            t.json();
        });
        assert!(msg.contains("one JSON object"), "{stdout:?}: {msg}");
    }

    let killed = Command::new("sh")
        .args(["-c", "kill -9 $$"])
        .output()
        .expect("run sh");
    let t = ToolOutput::from_output(killed);
    assert_eq!(t.code, -1);
    assert!(!t.success());
}
