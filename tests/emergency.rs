//! Tests of `emergency` (README: Level 1 — `emergency`), and of `undo` of it.
//!
//! The pattern of almost every test: build a repository with a baseline and a
//! newer commit, make a dirty state, capture everything, run `emergency`, check
//! the rolled-back state, run `undo`, and check that the capture is identical
//! again. `rollbacks/` (metrics and reports) survives emergency and undo by
//! design (docs/invariants.md, I8), so the round-trip comparisons leave it out.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    assert_same_dir, assert_same_state, capture_dir, dirty_everything, odd_names, RepoState,
    TestRepo, ToolOutput,
};
use crate::common::{
    assert_same_except_reports, capture_after_early_kill, incompressible, without_reports,
};

/// `GIT_ROLLBACK_SPRINT_NOW` of the harness (`DEFAULT_NOW`) as a name stamp.
const STAMP: &str = "20261121_100405";
const BACKUP: &str = "backup/emergency-20261121_100405";
const BACKUP_REF: &str = "refs/heads/backup/emergency-20261121_100405";
const FAULT_ENV: &str = "GIT_ROLLBACK_SPRINT_FAULT";

fn stash_subject(branch: &str) -> String {
    format!("On {branch}: EMERGENCY: State before rollback {STAMP}")
}

// ----- helpers -----------------------------------------------------------------

/// Only what `git reset --hard` + `git clean -fd` decide: HEAD (and the
/// branch it names), the index and the work tree (reports left out).
fn reset_view(state: &RepoState) -> RepoState {
    let mut s = without_reports(state);
    let branch = s.head.strip_prefix("ref: ").map(str::to_string);
    s.refs.retain(|name, _| Some(name) == branch.as_ref());
    s.stash.clear();
    s.git_files.clear();
    s
}

/// Tag `rev` as the baseline, the way a team would by hand.
fn tag_baseline(repo: &TestRepo, rev: &str) {
    repo.git(&["tag", "-a", "baseline", "-m", "known good", rev]);
}

/// The commit after the baseline: changes, additions and a deletion, keeping
/// every path that `dirty_everything` needs.
fn commit_second_state(repo: &TestRepo) -> String {
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.write(
        "docs/guide.md",
        "# Guide\n\nStep one.\nStep two (sprint).\n",
    );
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.write("feature/flag.txt", "on\n");
    repo.remove("link");
    repo.commit_all("sprint: half-done refactor")
}

struct Setup {
    repo: TestRepo,
    /// The baseline commit ("add sources").
    base: String,
    /// HEAD before the emergency (the sprint commit).
    head: String,
}

/// `with_commits()`, baseline tag at its HEAD, then a sprint commit on top.
fn setup() -> Setup {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    let head = commit_second_state(&repo);
    Setup { repo, base, head }
}

/// Run `--json emergency <extra>`, assert success, return the JSON.
#[track_caller]
fn emergency(repo: &TestRepo, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "emergency"];
    args.extend_from_slice(extra);
    let out = repo.tool(&args);
    out.assert_ok();
    out.json()
}

#[track_caller]
fn undo(repo: &TestRepo) -> ToolOutput {
    repo.tool_ok(&["undo"])
}

/// Capture, emergency, `check` the result, undo, and assert the capture is
/// identical (reports aside).
#[track_caller]
fn round_trip(repo: &TestRepo, extra: &[&str], check: impl FnOnce(&Value)) {
    let before = repo.capture();
    let v = emergency(repo, extra);
    check(&v);
    undo(repo);
    assert_same_except_reports(&before, &repo.capture());
}

/// `git status --porcelain` lines, reports folder left out.
fn porcelain(repo: &TestRepo) -> Vec<String> {
    repo.git(&["status", "--porcelain", "--untracked-files=all"])
        .lines()
        .filter(|l| !l[3..].starts_with("rollbacks/"))
        .map(str::to_string)
        .collect()
}

fn read_metrics(repo: &TestRepo) -> Value {
    serde_json::from_slice(&repo.read("rollbacks/metrics.json")).expect("metrics.json is JSON")
}

fn metrics_entries(repo: &TestRepo) -> Vec<Value> {
    read_metrics(repo)["rollbacks"]
        .as_array()
        .expect("`rollbacks` is a list")
        .clone()
}

fn journal_path(repo: &TestRepo) -> std::path::PathBuf {
    repo.git_dir().join("rollback/journal.jsonl")
}

/// Assert a clean refusal: exit 1, one line on stderr starting `error:`
/// with a hint, nothing on stdout that looks like success, no panic.
#[track_caller]
fn assert_refusal(out: &ToolOutput, needle: &str) {
    out.assert_code(1);
    let err = out.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "expected a one-line error\n{out}");
    assert!(err.starts_with("error:"), "expected `error:`\n{out}");
    assert!(
        err.contains(" — "),
        "expected a hint after the message\n{out}"
    );
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "expected the error to mention {needle:?}\n{out}"
    );
    assert!(!out.stderr.contains("panicked"), "the tool panicked\n{out}");
}

// ----- 1. the full round trip ------------------------------------------------------

#[test]
fn round_trip_with_every_kind_of_change() {
    let Setup { repo, base, head } = setup();
    dirty_everything(&repo);
    let env_bytes = repo.read(".env");
    let app_bytes = repo.read("target/debug/app");
    let log_bytes = repo.read("newdir/sub/x.log");
    let before = repo.capture();
    // What git itself would leave: `git reset --hard baseline && git clean -fd`.
    let reference = repo.copy();
    reference.git(&["reset", "-q", "--hard", "baseline"]);
    reference.git(&["clean", "-q", "-fd"]);

    let v = emergency(&repo, &[]);
    let id = v["operation_id"]
        .as_str()
        .expect("operation_id")
        .to_string();
    assert_eq!(v["ok"], true);
    assert_eq!(v["command"], "emergency");
    assert_eq!(v["stash"], "stash@{0}");
    assert_eq!(v["backup_branch"], BACKUP);
    assert_eq!(v["undo_command"], format!("git rollback-sprint undo {id}"));
    assert_eq!(v["ignored_moved_aside"], 0);
    assert!(
        v["files_changed"].as_u64().expect("files_changed") > 0,
        "{v}"
    );
    assert!(
        v["untracked_removed"].as_u64().expect("untracked_removed") >= 3,
        "{v}"
    );
    assert!(v["duration_seconds"].as_f64().is_some(), "{v}");

    // HEAD: the branch, now at the baseline; the old HEAD kept on the backup.
    let after = repo.capture();
    assert_eq!(after.head, "ref: refs/heads/main");
    assert_eq!(repo.head(), base);
    assert_eq!(repo.rev(BACKUP_REF), head);
    // The work tree and index are what git's reset + clean give.
    assert_same_state(&reset_view(&reference.capture()), &reset_view(&after));
    assert_eq!(porcelain(&repo), Vec::<String>::new());
    // A real stash entry, on top of the stash list.
    assert_eq!(after.stash.len(), 1);
    assert_eq!(after.stash[0].1, stash_subject("main"));
    assert_eq!(
        repo.git(&["stash", "list", "--format=%gs"]),
        stash_subject("main")
    );
    // Ignored files stay, byte for byte, with their modes.
    assert_eq!(repo.read(".env"), env_bytes);
    assert_eq!(repo.read("target/debug/app"), app_bytes);
    assert_eq!(repo.mode("target/debug/app") & 0o111, 0o111);
    assert_eq!(repo.read("newdir/sub/x.log"), log_bytes);
    assert!(!repo.exists("newdir/u.txt"));
    assert!(!repo.exists("assets/blob.bin"));
    assert!(!repo.exists("empty/dir"));

    let out = undo(&repo);
    assert!(out.stdout.contains(&id), "{out}");
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn human_output_names_the_stash_the_backup_the_time_and_the_undo_command() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let out = repo.tool_ok(&["emergency"]);
    let text = &out.stdout;
    assert!(text.contains("stash@{0}"), "{out}");
    assert!(
        text.contains(&format!("EMERGENCY: State before rollback {STAMP}")),
        "{out}"
    );
    assert!(text.contains(BACKUP), "{out}");
    assert!(text.contains(" s"), "expected the time taken\n{out}");
    let journal = fs::read_to_string(journal_path(&repo)).expect("journal");
    let first: Value = serde_json::from_str(journal.lines().next().expect("a record")).unwrap();
    let id = first["id"].as_str().expect("id");
    assert!(
        text.contains(&format!("git rollback-sprint undo {id}")),
        "{out}"
    );
}

#[test]
fn stash_entry_has_gits_shape_and_pops_back_the_work() {
    let Setup { repo, head, .. } = setup();
    // Staged, unstaged, deleted and untracked changes git's stash handles.
    repo.write("README.md", "# Demo project\n\nStaged.\n");
    repo.git(&["add", "README.md"]);
    repo.write("src/main.rs", "fn main() {}\n");
    repo.remove("tests/unit/test_lib.py");
    repo.write("newdir/u.txt", "untracked\n");
    repo.write("top.txt", "untracked at the top\n");
    let before = repo.capture();

    emergency(&repo, &[]);
    // W has parents HEAD, I and U, like `git stash push -u`.
    let parents = repo.git(&["rev-list", "--parents", "-n", "1", "stash@{0}"]);
    let parents: Vec<&str> = parents.split(' ').skip(1).collect();
    assert_eq!(parents.len(), 3, "W should have parents HEAD, I, U");
    assert_eq!(parents[0], head);
    assert_eq!(repo.git(&["show", "stash@{0}^3:newdir/u.txt"]), "untracked");
    assert_eq!(
        repo.git(&["show", "stash@{0}^2:README.md"]),
        "# Demo project\n\nStaged."
    );
    repo.git(&["stash", "show", "stash@{0}"]);

    // On a copy, going back to the old HEAD and popping restores the work.
    let copy = repo.copy();
    copy.git(&["reset", "-q", "--hard", &head]);
    copy.git(&["stash", "pop", "-q", "--index"]);
    let popped = copy.capture();
    assert_eq!(popped.stash, Vec::new());
    let mut want = reset_view(&before);
    let mut got = reset_view(&popped);
    // `git stash` does not keep empty directories (P11): the deleted file's
    // directory (left empty in the work tree) is not brought back by git.
    for dir in [b"tests".as_slice(), b"tests/unit".as_slice()] {
        want.files.entries.remove(dir);
        got.files.entries.remove(dir);
    }
    assert_same_state(&want, &got);
}

#[test]
fn stash_pop_index_of_every_kind_of_change_matches_gits_own_stash() {
    // Whatever `git stash push -u` + `git stash pop --index` gives back for
    // dirty_everything, popping the emergency's entry gives back the same.
    let Setup { repo, head, .. } = setup();
    dirty_everything(&repo);
    // git's own stash refuses intent-to-add entries ("not uptodate").
    repo.git(&["rm", "-q", "--cached", "ita.txt"]);
    // A stash holds no permission bits beyond the exec bit, and this file
    // is rewritten by the emergency and by the reset on the copy.
    repo.chmod("config/settings.toml", 0o644);
    let by_git = repo.copy();
    let out = by_git.git_output(&["stash", "push", "-q", "-u"]);
    let git_push_ok = out.status.success();
    assert!(git_push_ok, "{}", String::from_utf8_lossy(&out.stderr));
    emergency(&repo, &[]);
    let ours = repo.copy();
    ours.git(&["reset", "-q", "--hard", &head]);
    let pop = ours.git_output(&["stash", "pop", "-q", "--index"]);
    assert!(
        pop.status.success(),
        "git stash pop --index failed: {}",
        String::from_utf8_lossy(&pop.stderr)
    );
    if git_push_ok {
        let pop = by_git.git_output(&["stash", "pop", "-q", "--index"]);
        assert!(pop.status.success());
        assert_same_state(&reset_view(&by_git.capture()), &reset_view(&ours.capture()));
    }
}

// ----- 2. one test per pitfall -------------------------------------------------------

#[test]
fn p1_ignored_file_inside_an_untracked_dir_survives() {
    let Setup { repo, .. } = setup();
    repo.write("newdir/u.txt", "untracked\n");
    repo.write("newdir/sub/x.log", "ignored log\n");
    round_trip(&repo, &[], |_| {
        assert!(!repo.exists("newdir/u.txt"), "untracked file not removed");
        assert_eq!(repo.read("newdir/sub/x.log"), b"ignored log\n");
        assert_eq!(repo.git(&["show", "stash@{0}^3:newdir/u.txt"]), "untracked");
    });
}

#[test]
fn p2_held_index_lock_is_refused_and_nothing_changes() {
    let Setup { repo, .. } = setup();
    repo.write("src/main.rs", "fn main() { /* uncommitted edit */ }\n");
    repo.write("untracked.txt", "mine\n");
    let lock = repo.git_dir().join("index.lock");
    fs::write(&lock, b"held by another git\n").unwrap();
    let before = repo.capture();

    let out = repo.tool(&["emergency"]);
    assert_refusal(&out, "index.lock");
    assert_same_state(&before, &repo.capture());
    assert_eq!(fs::read(&lock).unwrap(), b"held by another git\n");
    assert_eq!(
        repo.read("src/main.rs"),
        b"fn main() { /* uncommitted edit */ }\n"
    );
    assert!(!journal_path(&repo).exists(), "a refusal wrote a journal");

    // Once the other git is done, the emergency works and undo is exact.
    fs::remove_file(&lock).unwrap();
    round_trip(&repo, &[], |_| {});
}

/// `docs/` (tracked, and different in the baseline) replaced by a symlink to
/// a directory outside the repository; returns that directory.
fn symlink_docs_outside(repo: &TestRepo) -> std::path::PathBuf {
    let outside = repo.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("guide.md"), "outside, not the repo's\n").unwrap();
    fs::write(outside.join("other.txt"), "other\n").unwrap();
    repo.remove("docs");
    repo.symlink("docs", &outside);
    outside
}

#[test]
fn p3_symlinked_tracked_dir_never_writes_outside_the_repo() {
    // Whatever emergency decides (roll back, or refuse), nothing is written
    // through the link, and the repository is exactly restorable.
    let Setup { repo, .. } = setup();
    let outside = symlink_docs_outside(&repo);
    let outside_before = capture_dir(&outside);
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert_same_dir(&outside_before, &capture_dir(&outside));
    assert!(!out.stderr.contains("panicked"), "{out}");
    if out.success() {
        undo(&repo);
        assert_same_dir(&outside_before, &capture_dir(&outside));
        assert_same_except_reports(&before, &repo.capture());
    } else {
        out.assert_code(1);
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn p3_symlinked_tracked_dir_round_trip() {
    let Setup { repo, .. } = setup();
    let outside = symlink_docs_outside(&repo);
    let outside_before = capture_dir(&outside);
    round_trip(&repo, &[], |_| {
        assert_same_dir(&outside_before, &capture_dir(&outside));
        let meta = fs::symlink_metadata(repo.abs("docs")).unwrap();
        assert!(meta.is_dir(), "docs should be a real directory again");
        assert_eq!(repo.read_string("docs/guide.md"), "# Guide\n\nStep one.\n");
    });
    assert_same_dir(&outside_before, &capture_dir(&outside));
    assert_eq!(repo.read_link("docs"), outside);
}

#[test]
fn p3_ignored_symlink_where_the_baseline_has_a_directory() {
    // The baseline has `out/a.txt`; in HEAD `out` is ignored and the user
    // made it a symlink to a directory outside: the baseline's file must not
    // be written through it.
    let repo = TestRepo::with_commits();
    repo.write("out/a.txt", "baseline's out/a.txt\n");
    let base = repo.commit_all("out dir");
    tag_baseline(&repo, &base);
    repo.remove("out");
    repo.write(".gitignore", "*.log\ntarget/\n.env\nout\n");
    repo.commit_all("out is generated now");
    let outside = repo.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("a.txt"), "outside, not the repo's\n").unwrap();
    repo.symlink("out", &outside);
    repo.write("untracked.txt", "x\n");
    let outside_before = capture_dir(&outside);
    round_trip(&repo, &[], |_| {
        assert_same_dir(&outside_before, &capture_dir(&outside));
        assert!(fs::symlink_metadata(repo.abs("out")).unwrap().is_dir());
        assert_eq!(repo.read_string("out/a.txt"), "baseline's out/a.txt\n");
    });
    assert_same_dir(&outside_before, &capture_dir(&outside));
    assert_eq!(repo.read_link("out"), outside);
}

#[test]
fn p5_staged_only_change_is_restored_by_undo() {
    let Setup { repo, .. } = setup();
    let original = repo.read("README.md");
    repo.write("README.md", "# Demo project\n\nOnly in the index.\n");
    repo.git(&["add", "README.md"]);
    repo.write("README.md", &original);
    let staged = repo.rev(":README.md");
    assert_ne!(staged, repo.rev("HEAD:README.md"));

    round_trip(&repo, &[], |_| {
        assert_eq!(
            repo.git(&["show", "stash@{0}^2:README.md"]),
            "# Demo project\n\nOnly in the index."
        );
    });
    assert_eq!(repo.rev(":README.md"), staged);
    assert_eq!(repo.read("README.md"), original);
}

/// Baseline with `thing` a file and `mod/x.rs` in a directory; HEAD with
/// `thing/` a directory and `mod` a file.
fn dir_file_setup() -> Setup {
    let repo = TestRepo::with_commits();
    repo.write("thing", "thing is a file\n");
    repo.write("mod/x.rs", "// baseline module\n");
    let base = repo.commit_all("thing file, mod dir");
    tag_baseline(&repo, &base);
    repo.remove("thing");
    repo.write("thing/a.txt", "thing is a dir\n");
    repo.remove("mod");
    repo.write("mod", "mod is a file\n");
    let head = repo.commit_all("thing dir, mod file");
    Setup { repo, base, head }
}

#[test]
fn p6_directory_becomes_file_with_untracked_files_inside() {
    let Setup { repo, base, .. } = dir_file_setup();
    repo.write("thing/untracked.txt", "untracked in the dir\n");
    repo.write("thing/deeper/more.txt", "more\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(repo.head(), base);
        assert_eq!(repo.read_string("thing"), "thing is a file\n");
        assert_eq!(repo.read_string("mod/x.rs"), "// baseline module\n");
        assert_eq!(porcelain(&repo), Vec::<String>::new());
    });
    assert_eq!(
        repo.read_string("thing/untracked.txt"),
        "untracked in the dir\n"
    );
}

#[test]
fn p6_file_becomes_directory_with_untracked_files_inside() {
    let Setup { repo, base, .. } = dir_file_setup();
    // The user replaced the tracked file `mod` by a directory of untracked
    // files, one of them where the baseline has a tracked file.
    repo.remove("mod");
    repo.write("mod/x.rs", "// user's own x.rs\n");
    repo.write("mod/notes.txt", "notes\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(repo.head(), base);
        assert_eq!(repo.read_string("mod/x.rs"), "// baseline module\n");
        assert!(!repo.exists("mod/notes.txt"));
        assert_eq!(repo.read_string("thing"), "thing is a file\n");
        assert_eq!(porcelain(&repo), Vec::<String>::new());
    });
    assert_eq!(repo.read_string("mod/x.rs"), "// user's own x.rs\n");
}

#[test]
fn p8_mixed_line_endings_are_kept_byte_for_byte_with_autocrlf() {
    let Setup { repo, .. } = setup();
    repo.git(&["config", "core.autocrlf", "true"]);
    let mixed: &[u8] = b"a\r\nb\nc\r\n";
    repo.write("mixed.txt", mixed);
    repo.write("src/main.rs", b"fn main() {}\r\n// lf\n// crlf\r\n");
    round_trip(&repo, &[], |_| {
        assert!(!repo.exists("mixed.txt"));
        assert_eq!(
            repo.git_bytes(&["cat-file", "blob", "stash@{0}^3:mixed.txt"]),
            mixed
        );
    });
    assert_eq!(repo.read("mixed.txt"), mixed);
    assert_eq!(
        repo.read("src/main.rs"),
        b"fn main() {}\r\n// lf\n// crlf\r\n"
    );
}

#[test]
fn p11_empty_untracked_directories_are_restored() {
    let Setup { repo, .. } = setup();
    repo.mkdir("empty/dir");
    repo.mkdir("a/b/c");
    repo.mkdir("src/empty-in-tracked");
    repo.write("untracked.txt", "so that there is something to stash\n");
    round_trip(&repo, &[], |_| {
        assert!(!repo.exists("empty"));
        assert!(!repo.exists("a"));
        assert!(!repo.exists("src/empty-in-tracked"));
    });
    assert!(repo.exists("empty/dir") && repo.exists("a/b/c"));
    assert!(repo.exists("src/empty-in-tracked"));
}

#[test]
fn p11_empty_directories_alone_are_restored() {
    // Nothing but empty directories: not "dirty" for git, still restored.
    let Setup { repo, .. } = setup();
    repo.mkdir("only/empty");
    round_trip(&repo, &[], |_| {});
    assert!(repo.exists("only/empty"));
}

// ----- more hard cases ---------------------------------------------------------------

#[test]
fn odd_file_names_round_trip() {
    let Setup { repo, .. } = setup();
    let names = odd_names(&repo);
    round_trip(&repo, &[], |_| {
        for name in &names {
            assert!(!repo.exists(name), "{} not removed", name.display());
        }
    });
}

#[test]
fn unusual_permissions_of_overwritten_files_come_back() {
    let Setup { repo, .. } = setup();
    // Clean tracked files that differ in the baseline, so they are rewritten.
    repo.chmod("config/settings.toml", 0o600);
    repo.chmod("docs/guide.md", 0o640);
    repo.write("untracked.txt", "x\n");
    round_trip(&repo, &[], |_| {});
    assert_eq!(repo.mode("config/settings.toml"), 0o600);
    assert_eq!(repo.mode("docs/guide.md"), 0o640);
}

#[test]
fn untracked_file_where_the_baseline_has_a_tracked_one() {
    let Setup { repo, .. } = setup();
    // `link` was deleted in HEAD; the user made a file of that name.
    repo.write("link", "user's own file named link\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(repo.read_link("link"), Path::new("README.md"));
    });
    assert_eq!(repo.read_string("link"), "user's own file named link\n");
}

#[test]
fn ignored_file_where_the_baseline_has_a_tracked_file_is_not_lost() {
    let repo = TestRepo::with_commits();
    repo.write("keep.log", "baseline's tracked log\n");
    repo.git(&["add", "-f", "keep.log"]);
    let base = repo.commit_staged("track a log file");
    tag_baseline(&repo, &base);
    repo.git(&["rm", "-q", "--cached", "keep.log"]);
    repo.commit_staged("stop tracking the log");
    // Now ignored (`*.log`): the user's own, precious content.
    repo.write("keep.log", "user's precious log\n");
    repo.write("untracked.txt", "x\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(repo.read_string("keep.log"), "baseline's tracked log\n");
    });
    assert_eq!(repo.read_string("keep.log"), "user's precious log\n");
}

#[test]
fn ignored_files_in_a_directory_that_becomes_a_file_are_moved_aside_and_back() {
    let Setup { repo, .. } = dir_file_setup();
    repo.write("thing/debug.log", "ignored, inside a tracked dir\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(repo.read_string("thing"), "thing is a file\n");
    });
    assert_eq!(
        repo.read_string("thing/debug.log"),
        "ignored, inside a tracked dir\n"
    );
}

#[test]
fn tracked_file_replaced_by_a_directory_of_ignored_files() {
    let Setup { repo, .. } = dir_file_setup();
    // HEAD has the file `mod`; the user made it a directory of ignored files.
    repo.remove("mod");
    repo.write("mod/build.log", "ignored build output\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(repo.read_string("mod/x.rs"), "// baseline module\n");
        assert_eq!(repo.read_string("mod/build.log"), "ignored build output\n");
    });
}

#[test]
fn file_ignored_only_by_heads_gitignore_survives_emergency_and_undo() {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    repo.write(".gitignore", "*.log\ntarget/\n.env\n*.tmp\n");
    repo.commit_all("sprint ignores *.tmp");
    repo.write("cache.tmp", "ignored under HEAD's rules\n");
    repo.write("untracked.txt", "x\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(
            repo.read_string("cache.tmp"),
            "ignored under HEAD's rules\n"
        );
    });
    assert_eq!(
        repo.read_string("cache.tmp"),
        "ignored under HEAD's rules\n"
    );
}

#[test]
fn untracked_nested_repository_is_left_alone() {
    let Setup { repo, .. } = setup();
    repo.write("vendor/lib/file.txt", "nested\n");
    repo.git_in(&repo.abs("vendor/lib"), &["init", "-q"]);
    repo.write("untracked.txt", "x\n");
    round_trip(&repo, &[], |_| {
        assert!(repo.exists("vendor/lib/.git"));
        assert_eq!(repo.read_string("vendor/lib/file.txt"), "nested\n");
    });
}

#[test]
fn conflicted_index_without_a_merge_is_restored_exactly() {
    let Setup { repo, .. } = setup();
    repo.write("README.md", "# stash version\n");
    repo.git(&["stash", "push", "-q"]);
    repo.write("README.md", "# committed version\n");
    repo.commit_all("change README");
    let out = repo.git_output(&["stash", "pop", "-q"]);
    assert!(!out.status.success(), "expected a conflicting stash pop");
    let before = repo.capture();
    assert!(
        before.index.entries.iter().any(|e| e.stage != 0),
        "expected conflict stages in the index"
    );
    round_trip(&repo, &[], |_| {
        assert_eq!(porcelain(&repo), Vec::<String>::new());
    });
}

/// Every path of `git ls-files --stage` with the stages it has.
fn stages_by_path(repo: &TestRepo) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in repo.git(&["ls-files", "--stage"]).lines() {
        let (meta, path) = line.split_once('\t').expect("a tab in ls-files --stage");
        let stage = meta.rsplit(' ').next().unwrap_or_default().to_string();
        map.entry(path.to_string()).or_default().push(stage);
    }
    map
}

/// A sprint that turned the file `d` into the folder `d/`, an edit of
/// `d/e`, an emergency back to the baseline (where `d` is a file), then a
/// `git stash pop` that stops on a modify/delete and a file/directory
/// conflict. The undo sees `d/e` in a merge conflict since, names it and
/// changes nothing; forced, it gives `d/e` back its one entry (no merged
/// entry beside conflict stages, which git refuses to read), and undoing
/// that brings the conflict back exactly.
#[test]
fn undo_after_a_stash_pop_that_stopped_on_a_conflict() {
    let repo = TestRepo::with_commits();
    repo.write("d", "d is a file\n");
    let base = repo.commit_all("d is a file");
    tag_baseline(&repo, &base);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-1"]);
    repo.remove("d");
    repo.write("d/e", "one\n");
    repo.commit_all("d is a folder");
    repo.write("d/e", "two\nlines\n");
    emergency(&repo, &[]);
    let pop = repo.git_output(&["stash", "pop", "-q"]);
    assert!(!pop.status.success(), "expected a conflicting stash pop");
    let popped = repo.capture();
    assert_eq!(
        stages_by_path(&repo).get("d/e"),
        Some(&vec!["1".to_string(), "3".to_string()])
    );

    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
    assert!(
        out.stderr.contains("d/e is in a merge conflict since"),
        "{out}"
    );
    assert!(out.stderr.contains("--force"), "{out}");
    assert_same_state(&popped, &repo.capture());

    let forced = repo.tool_ok(&["--json", "undo", "--force"]).json();
    let stages = stages_by_path(&repo);
    assert_eq!(
        stages.get("d/e"),
        Some(&vec!["0".to_string()]),
        "{stages:?}"
    );
    for (path, stages) in &stages {
        assert!(
            stages.len() == 1 || !stages.contains(&"0".to_string()),
            "{path} has a merged entry beside conflict stages: {stages:?}"
        );
    }
    let fsck = repo.git_output(&["fsck", "--no-dangling"]);
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert_eq!(repo.read_string("d/e"), "two\nlines\n");
    repo.tool_ok(&["undo", forced["operation_id"].as_str().unwrap()]);
    assert_same_except_reports(&popped, &repo.capture());
}

/// The emergency removed `d/e` from the index (the baseline has no `d`),
/// then the user staged a file `d`. Putting `d/e` back would need a
/// folder where that staged file is: the undo names it and changes
/// nothing; forced, it puts `d/e` back in place of it, and undoing that
/// brings the staged `d` back.
#[test]
fn undo_names_a_file_staged_since_where_a_folder_it_puts_back_goes() {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-1"]);
    repo.write("d/e", "one\n");
    repo.commit_all("add d/e");
    repo.write("d/e", "two\n");
    let original = repo.capture();
    emergency(&repo, &[]);
    repo.write("d", "staged since\n");
    repo.git(&["add", "d"]);
    let staged = repo.capture();

    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("d is in the way of d/e"), "{out}");
    assert_same_state(&staged, &repo.capture());

    let forced = repo.tool_ok(&["--json", "undo", "--force"]).json();
    assert_same_except_reports(&original, &repo.capture());
    repo.tool_ok(&["undo", forced["operation_id"].as_str().unwrap()]);
    assert_same_except_reports(&staged, &repo.capture());
}

/// Two emergencies in the same second (the tests pin the clock) over the
/// same work — a deletion the baseline puts back, made again — build the
/// same stash commit: git does not log an update of refs/stash to the
/// value it has, so the second entry went missing and its undo dropped
/// the first. Each gets its own entry, and undoing them newest first
/// takes back exactly one each.
#[test]
fn two_emergencies_in_one_second_over_the_same_work_make_two_entries() {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    repo.remove("README.md");
    let first = repo.capture();
    emergency(&repo, &[]);
    repo.remove("README.md");
    let second = repo.capture();
    emergency(&repo, &[]);
    let list = repo.git(&["stash", "list", "--format=%H"]);
    let ids: Vec<&str> = list.lines().collect();
    assert_eq!(ids.len(), 2, "{list}");
    assert_ne!(ids[0], ids[1]);
    undo(&repo);
    assert_same_except_reports(&second, &repo.capture());
    undo(&repo);
    assert_same_except_reports(&first, &repo.capture());
}

/// Many changes but few new objects (70 deleted files need no blob, only
/// the trees that lack them): the batch writes those loose rather than a
/// pack of a few objects, the snapshot is whole, and undo is exact.
#[test]
fn a_batch_with_few_new_objects_writes_them_loose() {
    let repo = TestRepo::with_commits();
    for n in 0..70 {
        repo.write(format!("many/f{n:02}.txt"), format!("file {n}\n"));
    }
    let base = repo.commit_all("70 files");
    tag_baseline(&repo, &base);
    for n in 0..70 {
        repo.remove(format!("many/f{n:02}.txt"));
    }
    let packs_before = repo.packs();
    round_trip(&repo, &[], |v| {
        assert_eq!(v["stash"], "stash@{0}", "{v}");
        assert_eq!(repo.packs(), packs_before, "no pack for a few objects");
        let fsck = repo.git_output(&["fsck", "--no-dangling"]);
        assert!(
            fsck.status.success(),
            "{}",
            String::from_utf8_lossy(&fsck.stderr)
        );
        let stat = repo.git(&["stash", "show", "--stat"]);
        assert!(stat.contains("70 files changed, 70 deletions(-)"), "{stat}");
    });
}

/// 3,000 tracked files, a sprint that touched 150 of them, and 300 dirty
/// paths: 150 modified (50 of them staged), 50 deleted, 100 new.
fn big_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    for d in 0..30 {
        for f in 0..100 {
            repo.write(
                format!("big/d{d:02}/f{f:03}.txt"),
                format!("dir {d} file {f}\n"),
            );
        }
    }
    let base = repo.commit_all("3000 files");
    tag_baseline(&repo, &base);
    for d in 0..30 {
        for f in 0..5 {
            repo.write(
                format!("big/d{d:02}/f{f:03}.txt"),
                format!("sprint {d} {f}\n"),
            );
        }
    }
    repo.commit_all("sprint touches 150 files");
    for d in 0..30 {
        for f in 10..15 {
            repo.write(
                format!("big/d{d:02}/f{f:03}.txt"),
                format!("dirty {d} {f}\n"),
            );
        }
    }
    for d in 0..10 {
        for f in 10..15 {
            repo.git(&["add", &format!("big/d{d:02}/f{f:03}.txt")]);
        }
    }
    for d in 0..25 {
        for f in 20..22 {
            repo.remove(format!("big/d{d:02}/f{f:03}.txt"));
        }
    }
    for n in 0..100 {
        repo.write(
            format!("big/d{:02}/new{n:03}.txt", n % 30),
            format!("new {n}\n"),
        );
    }
    repo
}

#[test]
fn big_work_tree_round_trip_is_exact() {
    let repo = big_repo();
    round_trip(&repo, &[], |v| {
        assert_eq!(v["untracked_removed"], 100);
        assert_eq!(porcelain(&repo), Vec::<String>::new());
    });
}

/// SIGKILL at arbitrary moments (not only at the fault points) while an
/// emergency rewrites a few thousand files: whatever the moment, the next
/// command knows what happened and `undo` gives back the state before.
#[test]
fn sigkill_at_arbitrary_moments_on_a_large_tree_is_always_recoverable() {
    // How long a whole emergency takes here, so that the kills land at
    // spread-out moments inside it whatever the machine's speed.
    // The faster of two runs: a first run on a cold cache can take several
    // times what the later ones take, and kills spread over it would all
    // land before the journal entry or after the end.
    let template = big_repo();
    let whole = (0..2)
        .map(|_| {
            let probe = template.copy();
            // A copy's index has stale stat data; git status refreshes it.
            probe.git(&["status", "--porcelain"]);
            let started = std::time::Instant::now();
            probe.tool_ok(&["emergency"]);
            started.elapsed()
        })
        .min()
        .expect("two probes");
    // Kill at k × step for k = 1, 2, … until a run completes before its
    // kill: the kills sweep the whole run even when this machine is slower
    // now than during the probe.
    let step = (whole / 8).max(Duration::from_millis(10));
    let mut interrupted = 0;
    let mut completed = false;
    for k in 1..=48u32 {
        if completed {
            break;
        }
        let delay = step * k;
        let repo = template.copy();
        repo.git(&["status", "--porcelain"]);
        let before = repo.capture();
        let mut child = repo
            .tool_command(&["emergency"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the tool");
        std::thread::sleep(delay);
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
        }
        let _ = child.wait();
        // What the journal says happened decides what must hold.
        let log = repo.tool_ok(&["--json", "log"]).json();
        let outcome = log["operations"][0]["outcome"].as_str().map(str::to_string);
        match outcome.as_deref() {
            // Killed before its journal entry: nothing may have changed
            // (keep-alive refs of the killed operation aside, which the
            // next operation removes).
            None => {
                assert_same_except_reports(&before, &capture_after_early_kill(&repo));
                continue;
            }
            Some("interrupted") => {
                interrupted += 1;
                let status = repo.tool_ok(&["status"]);
                assert!(status.stderr.contains("interrupted"), "{}", status.stderr);
                repo.tool(&["checkpoint"]).assert_code(3);
                undo(&repo);
            }
            // It completed before the kill: an ordinary undo.
            Some("done") => {
                completed = true;
                undo(&repo);
            }
            Some(other) => panic!("unexpected outcome {other}"),
        }
        assert_same_except_reports(&before, &repo.capture());
        // Either way the repository is usable: no stale git lock.
        repo.git(&["status", "--porcelain"]);
    }
    assert!(interrupted > 0, "no kill landed inside an operation");
}

// ----- 3. the user's stash -------------------------------------------------------------

#[test]
fn users_stash_entries_stay_below_in_order_and_undo_restores_exactly_them() {
    let Setup { repo, .. } = setup();
    repo.write("README.md", "# first stash\n");
    repo.git(&["stash", "push", "-q", "-m", "first user stash"]);
    repo.write("src/main.rs", "fn main() { /* second */ }\n");
    repo.write("scratch.txt", "untracked, stashed with -u\n");
    repo.git(&["stash", "push", "-q", "-u", "-m", "second user stash"]);
    dirty_everything(&repo);
    let before = repo.capture();
    assert_eq!(before.stash.len(), 2);

    emergency(&repo, &[]);
    let after = repo.capture();
    assert_eq!(after.stash.len(), 3, "{:?}", after.stash);
    assert_eq!(after.stash[0].1, stash_subject("main"));
    assert_eq!(&after.stash[1..], &before.stash[..]);
    let list = repo.git(&["stash", "list", "--format=%gd %gs"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert_eq!(lines[1], "stash@{1} On main: second user stash");
    assert_eq!(lines[2], "stash@{2} On main: first user stash");

    undo(&repo);
    let restored = repo.capture();
    assert_eq!(restored.stash, before.stash);
    assert_same_except_reports(&before, &restored);
}

// ----- 4. gc ---------------------------------------------------------------------------

#[test]
fn undo_after_gc_prune_now_is_still_exact() {
    let Setup { repo, .. } = setup();
    repo.write("README.md", "# a user stash\n");
    repo.git(&["stash", "push", "-q", "-m", "user stash"]);
    dirty_everything(&repo);
    let before = repo.capture();
    emergency(&repo, &[]);
    repo.git(&["gc", "-q", "--prune=now"]);
    undo(&repo);
    assert_same_except_reports(&before, &repo.capture());
}

// ----- 5. --clean-ignored -----------------------------------------------------------------

#[test]
fn clean_ignored_moves_ignored_files_aside_and_undo_brings_them_back() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    repo.chmod(".env", 0o600);
    let before = repo.capture();
    let v = emergency(&repo, &["--clean-ignored"]);
    let id = v["operation_id"].as_str().unwrap().to_string();
    assert!(v["ignored_moved_aside"].as_u64().unwrap() >= 3, "{v}");
    for gone in [".env", "target", "newdir"] {
        assert!(!repo.exists(gone), "{gone} still in the work tree");
    }
    let aside = repo.git_dir().join("rollback/ops").join(&id).join("aside");
    assert_eq!(fs::read(aside.join(".env")).unwrap(), b"SECRET=hunter2\n");
    assert!(aside.join("target/debug/app").exists());
    assert!(aside.join("newdir/sub/x.log").exists());
    // git status shows nothing but the reports folder.
    let status = repo.git(&["status", "--porcelain", "--ignored"]);
    assert!(
        status.lines().all(|l| l[3..].starts_with("rollbacks")),
        "{status}"
    );

    undo(&repo);
    assert_same_except_reports(&before, &repo.capture());
    assert_eq!(repo.mode(".env"), 0o600);
    assert_eq!(
        fs::metadata(repo.abs("target/debug/app"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111,
        0o111
    );
}

#[test]
fn clean_ignored_never_moves_an_ignored_reports_folder() {
    let Setup { repo, .. } = setup();
    repo.write(".gitignore", "*.log\ntarget/\n.env\nrollbacks/\n");
    repo.commit_all("ignore the reports");
    repo.write("rollbacks/metrics.json", metrics_doc(&[team_entry(1)]));
    repo.write("rollbacks/sprint-1/report.md", "# report\n");
    repo.write(".env", "SECRET=1\n");
    emergency(&repo, &["--clean-ignored"]);
    assert!(!repo.exists(".env"));
    assert_eq!(
        repo.read_string("rollbacks/sprint-1/report.md"),
        "# report\n"
    );
    assert_eq!(metrics_entries(&repo).len(), 2);
    undo(&repo);
    assert_eq!(repo.read_string(".env"), "SECRET=1\n");
    assert_eq!(
        repo.read_string("rollbacks/sprint-1/report.md"),
        "# report\n"
    );
    assert_eq!(metrics_entries(&repo).len(), 2);
}

// ----- 6. detached HEAD ----------------------------------------------------------------------

#[test]
fn detached_head_is_reset_detached_and_restored() {
    let Setup { repo, base, head } = setup();
    repo.git(&["checkout", "-q", "--detach", "HEAD"]);
    dirty_everything(&repo);
    let before = repo.capture();
    let v = emergency(&repo, &[]);
    assert_eq!(v["backup_branch"], BACKUP);
    let after = repo.capture();
    assert_eq!(after.head, base, "HEAD should be detached at the baseline");
    assert_eq!(after.refs["refs/heads/main"], head, "main must not move");
    assert_eq!(repo.rev(BACKUP_REF), head);
    assert_eq!(after.stash[0].1, stash_subject("(no branch)"));
    undo(&repo);
    let restored = repo.capture();
    assert_eq!(restored.head, head);
    assert_same_except_reports(&before, &restored);
}

// ----- 7. redo -------------------------------------------------------------------------------

/// emergency, undo, undo (redo), undo: original, rolled back, original.
fn undo_redo_undo(repo: &TestRepo) {
    let original = repo.capture();
    emergency(repo, &[]);
    let rolled_back = repo.capture();
    undo(repo);
    assert_same_except_reports(&original, &repo.capture());
    repo.tool_ok(&["redo"]);
    assert_same_except_reports(&rolled_back, &repo.capture());
    undo(repo);
    assert_same_except_reports(&original, &repo.capture());
}

#[test]
fn undo_redo_undo_restores_the_original() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    undo_redo_undo(&repo);
}

#[test]
fn undo_redo_undo_when_no_file_has_an_unusual_mode() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    // dirty_everything's 0600 on a tracked file is what the bug above loses.
    repo.chmod("config/settings.toml", 0o644);
    undo_redo_undo(&repo);
}

#[test]
fn unusual_mode_of_a_clean_tracked_file_survives_undo_redo_undo() {
    // Minimal form of the bug: one clean tracked file with mode 0600 whose
    // content differs in the baseline.
    let Setup { repo, .. } = setup();
    repo.chmod("config/settings.toml", 0o600);
    emergency(&repo, &[]);
    undo(&repo);
    assert_eq!(repo.mode("config/settings.toml"), 0o600);
    repo.tool_ok(&["redo"]);
    undo(&repo); // undo again
    assert_eq!(repo.mode("config/settings.toml"), 0o600);
}

// ----- 8. metrics -----------------------------------------------------------------------------

#[test]
fn metrics_entry_is_recorded_and_marked_undone() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let v = emergency(
        &repo,
        &[
            "--severity",
            "P0",
            "--reason",
            "tests failing after refactor",
            "--recovery-minutes",
            "12.5",
        ],
    );
    let id = v["operation_id"].as_str().unwrap();
    let entries = metrics_entries(&repo);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["kind"], "emergency");
    assert_eq!(e["severity"], "critical");
    assert_eq!(e["cause"], "tests failing after refactor");
    assert_eq!(e["operation_id"], id);
    assert_eq!(e["recovery_time_minutes"], 12.5);
    assert_eq!(e["backup_ref"], BACKUP_REF);
    assert_eq!(e["undone"], false);
    assert!(e["sprint"].is_null(), "not on a sprint branch: {e}");
    let m = read_metrics(&repo);
    assert_eq!(m["statistics"]["total_rollbacks"], 1);
    assert_eq!(m["statistics"]["by_severity"]["critical"], 1);

    undo(&repo);
    let entries = metrics_entries(&repo);
    assert_eq!(entries.len(), 1, "undo must not delete the entry");
    assert_eq!(entries[0]["undone"], true);
    assert_eq!(entries[0]["operation_id"], id);
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 0);
}

#[test]
fn metrics_sprint_number_comes_from_the_branch() {
    let Setup { repo, .. } = setup();
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-7"]);
    repo.write("untracked.txt", "x\n");
    emergency(&repo, &["--severity", "high"]);
    let e = &metrics_entries(&repo)[0];
    assert_eq!(e["sprint"], 7);
    assert_eq!(e["severity"], "high");
    assert_eq!(
        repo.git(&["symbolic-ref", "HEAD"]),
        "refs/heads/refactor/sprint-7"
    );
}

#[test]
fn metrics_follow_undo_redo_undo() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let v = emergency(&repo, &[]);
    let id = v["operation_id"].as_str().unwrap().to_string();
    let undone = |repo: &TestRepo| metrics_entries(repo)[0]["undone"].clone();
    assert_eq!(undone(&repo), false);
    undo(&repo);
    assert_eq!(undone(&repo), true);
    repo.tool_ok(&["redo"]);
    assert_eq!(undone(&repo), false);
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 1);
    undo(&repo); // the emergency stands again: undo undoes it again
    assert_eq!(metrics_entries(&repo)[0]["operation_id"], id.as_str());
    assert_eq!(undone(&repo), true);
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 0);
}

/// A metrics entry as the team's own script writes it.
fn team_entry(n: u32) -> Value {
    serde_json::json!({
        "timestamp": format!("2026-10-0{n}T09:00:00+00:00"),
        "sprint": n,
        "severity": "high",
        "cause": format!("cause {n}"),
        "recovery_time_minutes": n as f64,
    })
}

fn metrics_doc(entries: &[Value]) -> String {
    let doc =
        serde_json::json!({"rollbacks": entries, "statistics": {"total_rollbacks": entries.len()}});
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

#[test]
fn tracked_metrics_lose_no_entry_through_emergency_and_undo() {
    let repo = TestRepo::with_commits();
    repo.write("rollbacks/metrics.json", metrics_doc(&[team_entry(1)]));
    let base = repo.commit_all("metrics with one entry");
    tag_baseline(&repo, &base);
    repo.write(
        "rollbacks/metrics.json",
        metrics_doc(&[team_entry(1), team_entry(2), team_entry(3)]),
    );
    commit_second_state(&repo);
    dirty_everything(&repo);
    let before = repo.capture();

    let v = emergency(&repo, &["--reason", "rollback with tracked metrics"]);
    let id = v["operation_id"].as_str().unwrap();
    let entries = metrics_entries(&repo);
    let causes: Vec<&str> = entries
        .iter()
        .map(|e| e["cause"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes,
        [
            "cause 1",
            "cause 2",
            "cause 3",
            "rollback with tracked metrics"
        ]
    );
    assert_eq!(entries[3]["operation_id"], id);
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 4);
    // The team's entries keep their shape.
    assert_eq!(entries[1], team_entry(2));

    undo(&repo);
    let entries = metrics_entries(&repo);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert_eq!(entries[3]["undone"], true);
    assert_eq!(
        &entries[..3],
        &[team_entry(1), team_entry(2), team_entry(3)]
    );
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 3);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn corrupt_metrics_are_set_aside_not_overwritten() {
    let Setup { repo, .. } = setup();
    repo.write("rollbacks/metrics.json", "{ not json");
    repo.write("untracked.txt", "x\n");
    let before = repo.capture();
    let out = repo.tool_ok(&["emergency"]);
    assert!(out.stderr.contains("corrupt"), "{out}");
    let aside: Vec<_> = fs::read_dir(repo.abs("rollbacks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("metrics.json.corrupt"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(repo.read(format!("rollbacks/{}", aside[0])), b"{ not json");
    assert_eq!(metrics_entries(&repo).len(), 1);
    undo(&repo);
    assert_same_except_reports(&before, &repo.capture());
}

// ----- 9. refusals -----------------------------------------------------------------------------

#[test]
fn refuses_in_the_middle_of_a_merge() {
    let Setup { repo, base, .. } = setup();
    repo.git(&["checkout", "-q", "-b", "other", &base]);
    repo.write("README.md", "# other side\n");
    repo.commit_all("other side");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "# main side\n");
    repo.commit_all("main side");
    let out = repo.git_output(&["merge", "other"]);
    assert!(!out.status.success(), "expected a merge conflict");
    assert!(repo.git_dir().join("MERGE_HEAD").exists());
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert_refusal(&out, "merge");
    assert!(out.stderr.contains("git merge --abort"), "{out}");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn refuses_in_the_middle_of_a_cherry_pick() {
    let Setup { repo, base, .. } = setup();
    repo.git(&["checkout", "-q", "-b", "other", &base]);
    repo.write("config/settings.toml", "[server]\nport = 1\n");
    let pick = repo.commit_all("conflicting change");
    repo.git(&["checkout", "-q", "main"]);
    let out = repo.git_output(&["cherry-pick", &pick]);
    assert!(!out.status.success(), "expected a cherry-pick conflict");
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert_refusal(&out, "cherry-pick");
    assert!(out.stderr.contains("git cherry-pick --abort"), "{out}");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn refuses_a_held_index_lock() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    fs::write(repo.git_dir().join("index.lock"), b"").unwrap();
    let before = repo.capture();
    assert_refusal(&repo.tool(&["emergency"]), "index.lock");
    assert_same_state(&before, &repo.capture());
    assert!(repo.git_dir().join("index.lock").exists());
}

#[test]
fn refuses_a_missing_baseline() {
    let repo = TestRepo::with_commits();
    commit_second_state(&repo);
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert_refusal(&out, "baseline");
    assert!(out.stderr.contains("baseline set"), "{out}");
    assert_same_state(&before, &repo.capture());
    assert!(!journal_path(&repo).exists());
}

#[test]
fn refuses_an_unknown_to_revision() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let before = repo.capture();
    assert_refusal(
        &repo.tool(&["emergency", "--to", "no-such-rev"]),
        "no-such-rev",
    );
    assert_same_state(&before, &repo.capture());
}

#[test]
fn refuses_a_bare_repository() {
    let repo = TestRepo::new_bare();
    // A bare repository with a commit and a baseline tag.
    let tree = repo.git(&["mktree"]);
    let commit = repo.git(&["commit-tree", &tree, "-m", "root"]);
    repo.git(&["update-ref", "refs/heads/main", &commit]);
    tag_baseline(&repo, &commit);
    let before = repo.capture();
    assert!(before.bare);
    assert_refusal(&repo.tool(&["emergency"]), "bare");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn refuses_an_unborn_head() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "--orphan", "fresh"]);
    repo.write("untracked.txt", "x\n");
    let before = repo.capture();
    assert_refusal(&repo.tool(&["emergency"]), "commit");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn refuses_while_another_instance_holds_the_lock() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let lock = repo.git_dir().join("rollback/lock");
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let info = serde_json::json!({
        "pid": std::process::id(),
        "host": host,
        "command": "git rollback-sprint sprint rollback",
        "since": "2026-11-21T10:00:00+00:00",
    });
    fs::write(&lock, info.to_string()).unwrap();
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert_refusal(&out, "sprint rollback");
    assert_same_state(&before, &repo.capture());
    assert!(lock.exists(), "another process's lock was removed");
    assert!(!repo.git_dir().join("index.lock").exists());
}

#[test]
fn bad_severity_is_a_usage_error_that_changes_nothing() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["emergency", "--severity", "apocalyptic"]);
    out.assert_code(2);
    assert!(out.stderr.starts_with("error:"), "{out}");
    assert_same_state(&before, &repo.capture());
    assert!(!journal_path(&repo).exists());
}

#[test]
fn json_refusal_is_one_object() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["--json", "emergency"]);
    out.assert_code(1);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "emergency");
    assert_eq!(v["error"]["exit_code"], 1);
    assert!(v["error"]["message"].as_str().unwrap().contains("baseline"));
}

// ----- 10. dry run -----------------------------------------------------------------------------

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let before = repo.capture();
    let git_dir_before = capture_dir(&repo.git_dir());
    let out = repo.tool(&["-n", "emergency", "--clean-ignored"]);
    out.assert_ok();
    assert!(out.stdout.contains("Would"), "{out}");
    assert!(
        out.stdout
            .contains(&format!("EMERGENCY: State before rollback {STAMP}")),
        "{out}"
    );
    assert!(out.stdout.contains(BACKUP), "{out}");
    assert!(out.stdout.contains("ignored"), "{out}");
    assert_same_state(&before, &repo.capture());
    assert!(!journal_path(&repo).exists(), "dry run wrote a journal");
    assert_same_dir(&git_dir_before, &capture_dir(&repo.git_dir()));
    assert!(!repo.exists("rollbacks"), "dry run wrote metrics");
}

#[test]
fn dry_run_leaves_an_existing_journal_unchanged() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    emergency(&repo, &[]);
    undo(&repo);
    let journal = fs::read(journal_path(&repo)).unwrap();
    let before = repo.capture();
    repo.tool(&["--dry-run", "emergency"]).assert_ok();
    assert_same_state(&before, &repo.capture());
    assert_eq!(fs::read(journal_path(&repo)).unwrap(), journal);
}

// ----- other paths through the command ------------------------------------------------------------

#[test]
fn to_rev_overrides_the_baseline() {
    let Setup { repo, head, .. } = setup();
    let first = repo.rev("HEAD~2");
    dirty_everything(&repo);
    round_trip(&repo, &["--to", "HEAD~2"], |v| {
        assert_eq!(repo.head(), first);
        assert_eq!(v["backup_branch"], BACKUP);
        assert_eq!(repo.rev(BACKUP_REF), head);
        assert!(!repo.exists("src/lib.rs"), "the first commit has no src/");
    });
}

#[test]
fn at_the_baseline_already_there_is_no_backup_branch() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    dirty_everything(&repo);
    round_trip(&repo, &[], |v| {
        assert!(v["backup_branch"].is_null(), "{v}");
        assert_eq!(v["stash"], "stash@{0}");
        let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/heads/"]);
        assert_eq!(refs, "refs/heads/main");
        assert_eq!(porcelain(&repo), Vec::<String>::new());
    });
}

#[test]
fn clean_work_tree_makes_no_stash_entry() {
    let Setup { repo, base, head } = setup();
    round_trip(&repo, &[], |v| {
        assert!(v["stash"].is_null(), "{v}");
        assert!(repo.git(&["stash", "list"]).is_empty());
        assert_eq!(repo.head(), base);
        assert_eq!(repo.rev(BACKUP_REF), head);
    });
}

#[test]
fn runs_from_a_subdirectory() {
    let Setup { repo, base, .. } = setup();
    dirty_everything(&repo);
    let before = repo.capture();
    repo.tool_in(&repo.abs("src"), &["emergency"]).assert_ok();
    assert_eq!(repo.head(), base);
    repo.tool_in(&repo.abs("src"), &["undo"]).assert_ok();
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn second_emergency_gets_a_numbered_backup_branch() {
    let Setup { repo, head, .. } = setup();
    repo.write("untracked.txt", "one\n");
    emergency(&repo, &[]);
    repo.git(&["reset", "-q", "--hard", &head]);
    repo.write("untracked.txt", "two\n");
    let v = emergency(&repo, &[]);
    assert_eq!(v["backup_branch"], format!("{BACKUP}-2"));
    assert_eq!(repo.rev(BACKUP_REF), head);
    assert_eq!(repo.rev(&format!("refs/heads/{BACKUP}-2")), head);
    assert_eq!(repo.git(&["stash", "list"]).lines().count(), 2);
}

#[test]
fn autocrlf_baseline_files_are_written_like_git_reset_writes_them() {
    let Setup { repo, .. } = setup();
    repo.git(&["config", "core.autocrlf", "true"]);
    repo.write("untracked.txt", "x\n");
    let reference = repo.copy();
    reference.git(&["reset", "-q", "--hard", "baseline"]);
    emergency(&repo, &[]);
    // The two files that differ between HEAD and the baseline are rewritten
    // by both; git writes them through its eol conversion.
    for path in ["config/settings.toml", "docs/guide.md"] {
        assert_eq!(
            String::from_utf8_lossy(&repo.read(path)),
            String::from_utf8_lossy(&reference.read(path)),
            "{path}"
        );
    }
}

/// Work after the emergency turns `docs/`, where the emergency wrote
/// `docs/guide.md`, into a file: the same path changed on both sides, so
/// undo refuses, naming it, and changes nothing; forced, it puts the state
/// before the emergency back, and undoing the forced undo brings the file
/// `docs` back.
#[test]
fn undo_after_a_tracked_dir_became_a_file_refuses_then_forces() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let before = repo.capture();
    emergency(&repo, &[]);
    repo.remove("docs");
    repo.write("docs", "docs is a file now\n");
    let changed = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("docs/guide.md"), "{out}");
    assert_same_state(&changed, &repo.capture());
    let forced = repo.tool_ok(&["--json", "undo", "--force"]).json();
    assert_same_except_reports(&before, &repo.capture());
    repo.tool_ok(&["undo", forced["operation_id"].as_str().unwrap()]);
    assert_same_except_reports(&changed, &repo.capture());
}

#[test]
fn p6_file_becomes_directory_is_rolled_back_or_refused_cleanly() {
    // Guard while `p6_file_becomes_directory_with_untracked_files_inside` is
    // ignored: roll back or refuse, never a half-done state.
    let Setup { repo, .. } = dir_file_setup();
    repo.remove("mod");
    repo.write("mod/x.rs", "// user's own x.rs\n");
    repo.write("mod/notes.txt", "notes\n");
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert!(!out.stderr.contains("panicked"), "{out}");
    if out.success() {
        undo(&repo);
        assert_same_except_reports(&before, &repo.capture());
    } else {
        out.assert_code(1);
        assert_same_state(&before, &repo.capture());
        assert!(!repo.git_dir().join("index.lock").exists());
    }
}

#[test]
fn staged_removal_with_the_file_kept_round_trips() {
    let Setup { repo, .. } = setup();
    repo.git(&["rm", "-q", "--cached", "README.md"]);
    repo.write("README.md", "# kept, untracked now, edited\n");
    round_trip(&repo, &[], |_| {
        assert_eq!(porcelain(&repo), Vec::<String>::new());
    });
}

#[test]
fn skip_worktree_file_with_local_changes_is_not_lost() {
    let Setup { repo, .. } = setup();
    repo.git(&["update-index", "--skip-worktree", "config/settings.toml"]);
    repo.write(
        "config/settings.toml",
        "[server]\nport = 1234 # local only\n",
    );
    repo.write("untracked.txt", "x\n");
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    if out.success() {
        undo(&repo);
        assert_same_except_reports(&before, &repo.capture());
    } else {
        assert_refusal(&out, "skip-worktree");
        assert_same_state(&before, &repo.capture());
    }
}

/// The refusal reads the index with the tool's own reader, not libgit2's
/// parse: a skip-worktree entry is refused in every index format git
/// writes one in (asked for version 2, git writes version 3), before
/// anything is changed.
#[test]
fn skip_worktree_is_refused_in_every_index_format() {
    for version in ["2", "3", "4"] {
        let Setup { repo, .. } = setup();
        repo.git(&["update-index", "--index-version", version]);
        repo.git(&["update-index", "--skip-worktree", "config/settings.toml"]);
        repo.write("untracked.txt", "x\n");
        let before = repo.capture();
        let out = repo.tool(&["emergency"]);
        assert_refusal(&out, "skip-worktree");
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn assume_unchanged_file_with_local_changes_is_not_lost() {
    let Setup { repo, .. } = setup();
    repo.git(&["update-index", "--assume-unchanged", "config/settings.toml"]);
    repo.write(
        "config/settings.toml",
        "[server]\nport = 4321 # local only\n",
    );
    repo.write("untracked.txt", "x\n");
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    if out.success() {
        undo(&repo);
        assert_same_except_reports(&before, &repo.capture());
    } else {
        out.assert_code(1);
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn linked_worktree_round_trip() {
    let Setup { repo, .. } = setup();
    repo.git(&["worktree", "add", "-q", "-b", "wt", "../wt", "HEAD"]);
    let wt = repo.root().join("wt");
    fs::write(wt.join("README.md"), "# edited in the linked worktree\n").unwrap();
    fs::write(wt.join("new.txt"), "untracked in the linked worktree\n").unwrap();
    dirty_everything(&repo);
    let main_before = repo.capture();
    let before = crate::common::capture_repo(&wt);
    let out = repo.tool_in(&wt, &["--json", "emergency"]);
    out.assert_ok();
    let after = crate::common::capture_repo(&wt);
    assert_eq!(after.head, "ref: refs/heads/wt");
    assert_eq!(after.refs["refs/heads/wt"], repo.rev("baseline^{commit}"));
    assert!(!wt.join("new.txt").exists());
    // The main work tree is not touched (its HEAD, index and files).
    assert_same_state(&reset_view(&main_before), &reset_view(&repo.capture()));
    repo.tool_in(&wt, &["undo"]).assert_ok();
    assert_same_except_reports(&before, &crate::common::capture_repo(&wt));
    assert_same_except_reports(&main_before, &repo.capture());
}

#[test]
fn a_branch_named_backup_does_not_break_the_emergency() {
    // `refs/heads/backup` makes `refs/heads/backup/emergency-…` impossible:
    // that must be found before anything changes (or another name used).
    let Setup { repo, .. } = setup();
    repo.git(&["branch", "backup"]);
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert!(!out.stderr.contains("panicked"), "{out}");
    if out.success() {
        undo(&repo);
        assert_same_except_reports(&before, &repo.capture());
    } else {
        assert_refusal(&out, "backup");
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn a_part_way_failure_is_undone_exactly() {
    // Whatever makes emergency fail after it began (here: a branch named
    // `backup`, see the ignored test above), exit 1 and `undo` restore all.
    let Setup { repo, .. } = setup();
    repo.git(&["branch", "backup"]);
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    assert!(!out.stderr.contains("panicked"), "{out}");
    if out.success() {
        undo(&repo);
    } else {
        out.assert_code(1);
        assert!(out.stderr.contains("git rollback-sprint undo"), "{out}");
        repo.tool_ok(&["undo"]);
    }
    assert_same_except_reports(&before, &repo.capture());
    assert!(!repo.git_dir().join("index.lock").exists());
}

/// Two emergencies in a row; returns (original, between, first op id).
fn two_emergencies(repo: &TestRepo) -> (RepoState, RepoState, String) {
    dirty_everything(repo);
    let original = repo.capture();
    let first = emergency(repo, &[]);
    let first = first["operation_id"].as_str().unwrap().to_string();
    repo.write("README.md", "# new work after the first emergency\n");
    repo.write("second.txt", "untracked\n");
    let between = repo.capture();
    let second = emergency(repo, &[]);
    assert!(
        second["backup_branch"].is_null(),
        "HEAD was at the baseline"
    );
    assert_eq!(repo.git(&["stash", "list"]).lines().count(), 2);
    (original, between, first)
}

/// Undone newest first: the second undo walks back to the first
/// emergency, which wrote README.md; the work done on it in between (back
/// from the second emergency's stash) is a later change to the same file,
/// so that undo refuses, naming it, and changes nothing.
#[test]
fn two_emergencies_undone_newest_first() {
    let Setup { repo, .. } = setup();
    let (_, between, first) = two_emergencies(&repo);
    undo(&repo);
    assert_same_except_reports(&between, &repo.capture());
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains(&first), "{out}");
    assert!(out.stderr.contains("README.md was changed since"), "{out}");
    assert_same_state(&before, &repo.capture());
}

/// Forced, the first emergency's undo puts README.md back as it was and
/// keeps `second.txt`, made after it (it never touched that file); undoing
/// the forced undo brings the work in between back.
#[test]
fn two_emergencies_undone_newest_first_with_force() {
    let Setup { repo, .. } = setup();
    let (original, between, first) = two_emergencies(&repo);
    undo(&repo);
    assert_same_except_reports(&between, &repo.capture());
    let forced = repo.tool_ok(&["--json", "undo", "--force", &first]).json();
    let mut expected = original.clone();
    let second = between.files.get("second.txt").expect("second.txt").clone();
    expected
        .files
        .entries
        .insert(b"second.txt".to_vec(), second);
    assert_same_except_reports(&expected, &repo.capture());
    repo.tool_ok(&["undo", forced["operation_id"].as_str().unwrap()]);
    assert_same_except_reports(&between, &repo.capture());
}

#[test]
fn work_done_after_the_emergency_is_not_lost_by_undo() {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let original = repo.capture();
    emergency(&repo, &[]);
    repo.write("hotfix.txt", "fixed forward\n");
    let hotfix = repo.commit_all("hotfix on the baseline");
    // main moved since: undo needs --force, and changes nothing without it.
    let before_refusal = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("--force"), "{out}");
    assert_same_state(&before_refusal, &repo.capture());
    repo.tool_ok(&["undo", "--force"]);
    // Forced, the undo puts back what the emergency changed; the hotfix's
    // file and index entry, which it never touched, stay (three-way, I2).
    let mut expected = original.clone();
    let now = repo.capture();
    expected.files.entries.insert(
        b"hotfix.txt".to_vec(),
        now.files
            .get("hotfix.txt")
            .expect("hotfix.txt kept")
            .clone(),
    );
    assert!(
        now.index.get("hotfix.txt").is_some(),
        "its index entry is kept"
    );
    assert_same_except_reports(&expected, &without_index_entry(now, "hotfix.txt"));
    // The hotfix commit is kept (by the journal) and comes back with a redo.
    repo.tool_ok(&["redo"]);
    assert_eq!(repo.head(), hotfix);
    assert_eq!(repo.read_string("hotfix.txt"), "fixed forward\n");
}

#[test]
fn stop_and_start_commands_run_around_the_rollback() {
    let Setup { repo, .. } = setup();
    let log = repo.tmp_dir().join("hooks.log");
    repo.git(&[
        "config",
        "rollback.stopCommand",
        "test -e untracked.txt && echo stop >> \"$TMPDIR/hooks.log\"",
    ]);
    repo.git(&[
        "config",
        "rollback.startCommand",
        "test ! -e untracked.txt && echo start >> \"$TMPDIR/hooks.log\"",
    ]);
    repo.write("untracked.txt", "x\n");
    let v = emergency(&repo, &[]);
    assert_eq!(fs::read_to_string(&log).unwrap(), "stop\nstart\n");
    assert_eq!(v["stop_command"], "ok");
    assert_eq!(v["start_command"], "ok");
}

#[test]
fn a_failing_stop_command_does_not_stop_the_rollback() {
    let Setup { repo, base, .. } = setup();
    repo.git(&["config", "rollback.stopCommand", "exit 3"]);
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["emergency"]);
    out.assert_ok();
    assert!(out.stderr.contains("stop command"), "{out}");
    assert_eq!(repo.head(), base);
    undo(&repo);
    assert_same_except_reports(&before, &repo.capture());
}

// ----- 11. crash safety ---------------------------------------------------------------------------

/// Kill `emergency` with SIGKILL at `point`, then check that the next
/// commands report it, refuse to pile on, and that undo restores exactly.
fn crash_at(point: &str, extra: &[&str]) {
    let Setup { repo, .. } = setup();
    dirty_everything(&repo);
    let before = repo.capture();
    let mut args = vec!["emergency"];
    args.extend_from_slice(extra);
    let out = repo.tool_with_env(&args, &[(FAULT_ENV, point)]);
    assert_eq!(out.code, -1, "expected a SIGKILL at {point}\n{out}");

    let status = repo.tool(&["status"]);
    status.assert_ok();
    assert!(
        status.stderr.contains("interrupted"),
        "status should report the interrupted operation\n{status}"
    );
    let refused = repo.tool(&["checkpoint"]);
    refused.assert_code(3);
    assert!(refused.stderr.contains("interrupted"), "{refused}");

    let undone = repo.tool(&["undo"]);
    undone.assert_ok();
    assert_same_except_reports(&before, &repo.capture());
    // A metrics entry written before the kill no longer counts.
    if repo.exists("rollbacks/metrics.json") {
        for e in metrics_entries(&repo) {
            assert_eq!(e["undone"], true, "{e}");
        }
        assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 0);
    }
    assert!(
        !repo.git_dir().join("index.lock").exists(),
        "a stale index.lock is left behind"
    );
    repo.git(&["status"]);
    repo.git(&["update-index", "-q", "--refresh"]);
    // And the tool works again.
    let status = repo.tool(&["status"]);
    status.assert_ok();
    assert!(!status.stderr.contains("interrupted"), "{status}");
}

#[test]
fn crash_after_begin() {
    crash_at("after-begin", &[]);
}

#[test]
fn crash_after_stash() {
    crash_at("after-stash", &[]);
}

#[test]
fn crash_after_worktree() {
    crash_at("after-worktree", &[]);
}

#[test]
fn crash_after_index() {
    crash_at("after-index", &[]);
}

#[test]
fn crash_after_ref() {
    crash_at("after-ref", &[]);
}

#[test]
fn crash_after_move() {
    crash_at("after-move", &["--clean-ignored"]);
}

#[test]
fn crash_before_end() {
    crash_at("before-end", &[]);
}

#[test]
fn crash_before_end_with_clean_ignored() {
    crash_at("before-end", &["--clean-ignored"]);
}

/// `state` without the index entry of `path` (stage 0).
fn without_index_entry(mut state: RepoState, path: &str) -> RepoState {
    state
        .index
        .entries
        .retain(|e| !(e.path == path.as_bytes() && e.stage == 0));
    state
}

/// An `emergency` in `ours` leaves the stash entry `git stash push -u`
/// leaves in a copy made before it: the three trees (W, I, U), folder for
/// folder.
#[track_caller]
fn assert_emergency_stashes_as_git(ours: &TestRepo) {
    let by_git = ours.copy();
    by_git.git(&["stash", "push", "-q", "--include-untracked"]);
    emergency(ours, &[]);
    for rev in [
        "stash@{0}^{tree}",
        "stash@{0}^2^{tree}",
        "stash@{0}^3^{tree}",
    ] {
        assert_eq!(
            ours.git(&["ls-tree", "-r", "-t", rev]),
            by_git.git(&["ls-tree", "-r", "-t", rev]),
            "{rev}"
        );
    }
}

/// A tracked file deleted from the index and written again is untracked,
/// yet HEAD has it: git's stash keeps it in W as well as in U, and so does
/// the emergency's entry (found by the workflow test).
#[test]
fn stash_of_a_file_removed_from_the_index_and_written_again_is_gits() {
    let Setup { repo, .. } = setup();
    repo.git(&["rm", "-q", "--cached", "src/lib.rs"]);
    repo.write("src/lib.rs", "one");
    assert_emergency_stashes_as_git(&repo);
}

/// Untracked files of every shape — beside tracked ones, alone in new
/// nested folders, named to sort around a folder (`src.rs`, `src-old/`,
/// `src0`), executable, a symlink, one where HEAD has a file — give the
/// stash entry git's own trees: W without them, U with only them.
#[test]
fn stash_trees_are_gits_for_untracked_files_of_every_shape() {
    let Setup { repo, .. } = setup();
    repo.write("src/new_beside.rs", "beside tracked files\n");
    repo.write("deep/a/b/c.txt", "alone in new folders\n");
    repo.write("deep/a/d.txt", "one level up\n");
    repo.write("src.rs", "sorts before the folder src\n");
    repo.write("src-old/x.rs", "a folder sorting before src\n");
    repo.write("src0", "sorts after src/\n");
    repo.write_exec("bin/new.sh", "#!/bin/sh\n");
    repo.symlink("link-to-readme", "README.md");
    repo.git(&["rm", "-q", "--cached", "docs/guide.md"]);
    repo.write("docs/guide.md", "untracked again, HEAD has it\n");
    repo.write("README.md", "# Demo project\n\nModified.\n");
    assert_emergency_stashes_as_git(&repo);
}

/// Every tracked file removed from the index and left on disk: W has
/// them all back (HEAD has each), U has them too.
#[test]
fn stash_trees_are_gits_when_every_file_is_untracked() {
    let Setup { repo, .. } = setup();
    repo.git(&["rm", "-r", "-q", "--cached", "."]);
    assert_emergency_stashes_as_git(&repo);
}

/// HEAD's tree empty (a root commit of nothing) and every file
/// untracked: W is the empty tree, as in git's entry.
#[test]
fn stash_trees_are_gits_when_head_has_no_file() {
    let Setup { repo, .. } = setup();
    repo.git(&["checkout", "-q", "--orphan", "nothing"]);
    repo.git(&["rm", "-r", "-q", "--cached", "."]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "root of nothing"]);
    assert!(repo.git(&["status", "--porcelain"]).contains("?? src/"));
    assert_emergency_stashes_as_git(&repo);
}

/// The count of paths that differ is made on a thread of its own and
/// shown once the snapshot is saved: the journal's record of a real run
/// gives the count the dry run gave, for `emergency` and for `sprint
/// rollback` alike.
#[test]
fn the_journal_records_the_plan_the_dry_run_showed_with_its_count() {
    for args in [
        &["emergency"][..],
        &["sprint", "rollback", "1", "--no-tests"][..],
    ] {
        let Setup { repo, .. } = setup();
        if args[0] == "sprint" {
            repo.git(&["switch", "-q", "-c", "refactor/sprint-1"]);
        }
        repo.write("src/extra.rs", "pub fn extra() {}\n");
        repo.git(&["add", "src/extra.rs"]);
        repo.git(&["commit", "-q", "-m", "one more path"]);
        let differ = repo
            .git(&["diff", "--name-only", "baseline", "HEAD"])
            .lines()
            .count();
        assert!(differ >= 2, "{args:?}");
        let dry = repo
            .tool_ok(&[&["--dry-run", "--json"][..], args].concat())
            .json();
        let shows = format!("{differ} tracked path(s) differ");
        // The line of the count (a dry run also counts what it would
        // stash, which a real run leaves to its snapshot).
        let counted = |plan: &Value| -> Vec<String> {
            plan.as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .filter(|l| l.contains("tracked path(s) differ"))
                .collect()
        };
        let dry_line = counted(&dry["plan"]);
        assert_eq!(dry_line.len(), 1, "{args:?}: {dry}");
        assert!(dry_line[0].contains(&shows), "{args:?}: {dry}");
        repo.tool_ok(args);
        let journal =
            std::fs::read_to_string(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
        let begin: Value = journal
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["type"] == "begin")
            .unwrap();
        assert_eq!(counted(&begin["plan"]), dry_line, "{args:?}");
    }
}

/// The tool maps packs a few megabytes at a time, with a cap on what is
/// mapped at once (docs/design.md, Performance: Memory): an object larger
/// than a window, and a pack larger than the cap read by several writer
/// threads at once, still come back byte for byte, and undo puts the
/// sprint's files back.
#[test]
fn objects_larger_than_a_pack_window_and_packs_larger_than_the_cap_come_back_whole() {
    let repo = TestRepo::with_commits();
    let big = incompressible(1, 9 << 20);
    repo.write("assets/big.bin", &big);
    let small: Vec<Vec<u8>> = (0..400)
        .map(|n| incompressible(100 + n, 64 << 10))
        .collect();
    for (n, bytes) in small.iter().enumerate() {
        repo.write(format!("assets/s{n:03}.bin"), bytes);
    }
    let base = repo.commit_all("assets");
    tag_baseline(&repo, &base);
    repo.write("assets/big.bin", incompressible(2, 9 << 20));
    for n in 0..small.len() {
        repo.write(
            format!("assets/s{n:03}.bin"),
            incompressible(1000 + n as u64, 64 << 10),
        );
    }
    repo.commit_all("sprint: new assets");
    // Everything in one pack of about 70 MB, the baseline's objects too.
    repo.git(&["repack", "-a", "-d", "-q"]);
    assert!(
        !repo
            .git(&["count-objects", "-v"])
            .contains("\nsize-pack: 0\n"),
        "the objects are packed"
    );
    let before = repo.capture();
    emergency(&repo, &[]);
    assert!(
        repo.read("assets/big.bin") == big,
        "big.bin is the baseline's"
    );
    for (n, bytes) in small.iter().enumerate() {
        assert!(
            &repo.read(format!("assets/s{n:03}.bin")) == bytes,
            "s{n:03}.bin is the baseline's"
        );
    }
    undo(&repo);
    assert_same_except_reports(&before, &repo.capture());
}
