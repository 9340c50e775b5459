//! Tests of the second half of I8 (docs/invariants.md): the reports folder
//! (`rollbacks/`) stays the tool's. It never goes into a stash entry, a WIP
//! commit, a checkpoint or a recovered commit; it stays out of `git status`
//! unless the team tracks it, so the user's own `git add -A`, `git stash -u`
//! and `git switch` never sweep it up; and a reports folder that is a symlink,
//! or lies under one, is refused before anything is written anywhere.
//!
//! Stash entries are checked the way a user would find the problem: by
//! popping them with the real `git stash pop --index` and comparing with
//! what git's own `git stash push --include-untracked` gives from a copy of
//! the same state.

use std::path::Path;

use serde_json::Value;

use crate::common::{
    assert_same_dir, assert_same_state, assert_unchanged_by, capture_dir, commit_history,
    dirty_everything, is_reports, without_reports, DirState, IndexState, RepoState, TestRepo,
};

// ----- helpers -----------------------------------------------------------------

/// `with_commits()`, the baseline at its HEAD, then one more commit on
/// `main`: an emergency moves `main` back one commit.
fn repo_one_past_baseline() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    commit_history(&repo, 1);
    repo
}

/// Like [`repo_one_past_baseline`], with `rollbacks/metrics.json` committed
/// (the team tracks its reports) in the baseline.
fn repo_tracking_reports() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write(
        "rollbacks/metrics.json",
        "{\n  \"rollbacks\": [],\n  \"statistics\": {}\n}\n",
    );
    repo.commit_all("track the rollback metrics");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    commit_history(&repo, 1);
    repo
}

fn record_metrics(repo: &TestRepo, cause: &str) {
    repo.tool_ok(&[
        "metrics",
        "record",
        "--severity",
        "low",
        "--cause",
        cause,
        "--minutes",
        "1",
    ]);
}

fn json_of(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = repo.tool(&all);
    out.assert_ok();
    out.json()
}

fn metrics_causes(repo: &TestRepo) -> Vec<String> {
    let doc: Value = serde_json::from_slice(&repo.read("rollbacks/metrics.json")).unwrap();
    doc["rollbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cause"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Paths of a tree (recursive), one per line.
fn tree_paths(repo: &TestRepo, rev: &str) -> Vec<String> {
    repo.git(&["ls-tree", "-r", "--name-only", rev])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The object at `rev:path`, or `None`.
fn object_at(repo: &TestRepo, rev: &str, path: &str) -> Option<String> {
    let out = repo.git_output(&["rev-parse", "-q", "--verify", &format!("{rev}:{path}")]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The index and work tree, without the reports folder: what a stash entry
/// is about.
fn user_work(state: &RepoState) -> (IndexState, DirState) {
    let mut index = state.index.clone();
    index.entries.retain(|e| !is_reports(&e.path));
    (index, without_reports(state).files)
}

#[track_caller]
fn assert_same_work(expected: &RepoState, actual: &RepoState, what: &str) {
    let (ei, ef) = user_work(expected);
    let (ai, af) = user_work(actual);
    assert_eq!(ei, ai, "{what}: the index differs from git's");
    assert_same_dir(&ef, &af);
}

/// Work of round `k`: a tracked change, a staged change, a new staged
/// file, a file whose index differs from both HEAD and the work tree, and
/// untracked files (one in a new directory).
fn make_dirty(repo: &TestRepo, k: usize) {
    repo.write("src/main.rs", format!("fn main() {{ /* round {k} */ }}\n"));
    repo.write(
        "README.md",
        format!("# Demo project\n\nround {k}, staged\n"),
    );
    repo.git(&["add", "--", "README.md"]);
    repo.write(format!("staged-{k}.txt"), format!("staged {k}\n"));
    repo.git(&["add", "--", &format!("staged-{k}.txt")]);
    repo.write("src/lib.rs", format!("// staged {k}\n"));
    repo.git(&["add", "--", "src/lib.rs"]);
    repo.write("src/lib.rs", format!("// work tree {k}\n"));
    repo.write(format!("untracked-{k}.txt"), format!("untracked {k}\n"));
    repo.write(format!("newdir-{k}/u.txt"), format!("new dir {k}\n"));
}

/// What git's own stash gives for the state of `repo`: on a copy,
/// `git stash push --include-untracked`, then `git stash pop --index`.
fn git_stash_round_trip(repo: &TestRepo) -> RepoState {
    let copy = repo.copy();
    copy.git(&["stash", "push", "--include-untracked", "-q"]);
    copy.git(&["stash", "pop", "--index", "-q"]);
    copy.capture()
}

/// Back to a clean tree at HEAD without touching the reports (the tool
/// keeps writing them; a tracked `metrics.json` stays modified).
fn clean_keeping_reports(repo: &TestRepo) {
    let metrics = repo.read("rollbacks/metrics.json");
    repo.git(&["reset", "-q", "--hard"]);
    repo.git(&["clean", "-q", "-fd", "--", ".", ":(exclude)rollbacks"]);
    repo.write("rollbacks/metrics.json", metrics);
}

/// `n` emergencies in a row, each over new work (metrics present all
/// along), then every entry popped with `git stash pop --index`, newest
/// first, onto the commit it was made at; each result is what git's own
/// stash gives.
fn pop_after_emergencies(repo: TestRepo, n: usize) {
    record_metrics(&repo, "before the emergencies");
    let mut expected = Vec::new();
    let mut backup = None;
    for k in 1..=n {
        repo.tick();
        make_dirty(&repo, k);
        expected.push(git_stash_round_trip(&repo));
        let v = json_of(&repo, &["emergency", "--reason", &format!("round {k}")]);
        assert_eq!(v["stash"], "stash@{0}");
        if k == 1 {
            backup = v["backup_branch"].as_str().map(str::to_string);
        }
        // The entry holds none of the reports, tracked or not: W and I
        // have the folder as HEAD has it, U (untracked files) nothing.
        for rev in ["stash@{0}", "stash@{0}^2"] {
            assert_eq!(
                object_at(&repo, rev, "rollbacks"),
                object_at(&repo, "stash@{0}^1", "rollbacks"),
                "{rev} changes the reports folder"
            );
        }
        assert_eq!(object_at(&repo, "stash@{0}^3", "rollbacks"), None);
        assert_eq!(
            repo.git(&["status", "--porcelain", "--", ":(exclude)rollbacks"]),
            ""
        );
    }
    assert_eq!(metrics_causes(&repo).len(), n + 1);
    let backup = backup.expect("the first emergency moved main: a backup branch");
    for k in (1..=n).rev() {
        if k == 1 {
            // Made on the old HEAD: back to it, as a user would.
            repo.git(&["switch", "-q", &backup]);
        }
        let out = repo.git_output(&["stash", "pop", "--index"]);
        assert!(
            out.status.success(),
            "git stash pop --index of round {k} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_same_work(&expected[k - 1], &repo.capture(), &format!("round {k}"));
        // Every metrics entry is still there.
        assert_eq!(metrics_causes(&repo).len(), n + 1);
        clean_keeping_reports(&repo);
    }
}

// ----- stash entries -----------------------------------------------------------

#[test]
fn two_emergencies_pop_like_git_with_untracked_reports() {
    pop_after_emergencies(repo_one_past_baseline(), 2);
}

#[test]
fn three_emergencies_pop_like_git_with_untracked_reports() {
    pop_after_emergencies(repo_one_past_baseline(), 3);
}

#[test]
fn two_emergencies_pop_like_git_with_tracked_reports() {
    pop_after_emergencies(repo_tracking_reports(), 2);
}

#[test]
fn three_emergencies_pop_like_git_with_tracked_reports() {
    pop_after_emergencies(repo_tracking_reports(), 3);
}

#[test]
fn emergency_stash_leaves_out_reports_of_an_earlier_version() {
    // A reports folder from before the tool kept it ignored: untracked,
    // visible to git status, holding metrics and a report.
    let repo = repo_one_past_baseline();
    repo.write("rollbacks/metrics.json", "{\"rollbacks\": []}\n");
    repo.write("rollbacks/sprint-1/report.md", "# old report\n");
    dirty_everything(&repo);
    let before = repo.capture();
    let reports_before = capture_dir(&repo.abs("rollbacks"));

    // The plan's counts leave the folder out: 7 untracked files are the
    // user's (dirty_everything), the two reports are not.
    let dry = json_of(&repo, &["--dry-run", "emergency"]);
    let plan: Vec<String> = serde_json::from_value(dry["plan"].clone()).unwrap();
    let expected_untracked = repo
        .git(&[
            "ls-files",
            "--others",
            "--exclude-standard",
            "--",
            ":(exclude)rollbacks",
        ])
        .lines()
        .count();
    assert!(
        plan.iter()
            .any(|s| s
                == &format!("remove {expected_untracked} untracked file(s) (kept in the stash)")),
        "{plan:?}"
    );
    assert!(plan
        .iter()
        .all(|s| !s.contains("rollbacks/") || s.contains("metrics.json")));
    assert_same_state(&before, &repo.capture());

    let v = json_of(&repo, &["emergency"]);
    assert_eq!(v["untracked_removed"], expected_untracked);
    for rev in ["stash@{0}", "stash@{0}^2", "stash@{0}^3"] {
        assert!(
            tree_paths(&repo, rev)
                .iter()
                .all(|p| !p.starts_with("rollbacks/")),
            "{rev} holds reports: {:?}",
            tree_paths(&repo, rev)
        );
    }
    // The old report is untouched; the folder is now ignored.
    let after = capture_dir(&repo.abs("rollbacks"));
    assert_eq!(
        after.get("sprint-1/report.md"),
        reports_before.get("sprint-1/report.md")
    );
    assert_eq!(
        repo.read_string("rollbacks/.gitignore").lines().last(),
        Some("*")
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    // Undo is exact; the reports survive it.
    let with_reports = capture_dir(&repo.abs("rollbacks"));
    repo.tool_ok(&["undo"]);
    assert_same_state(&without_reports(&before), &without_reports(&repo.capture()));
    let kept = capture_dir(&repo.abs("rollbacks"));
    assert_eq!(
        kept.get("sprint-1/report.md"),
        with_reports.get("sprint-1/report.md")
    );
    assert_eq!(kept.get(".gitignore"), with_reports.get(".gitignore"));
    let doc: Value = serde_json::from_slice(&repo.read("rollbacks/metrics.json")).unwrap();
    assert_eq!(doc["rollbacks"][0]["undone"], true);
}

// ----- WIP and checkpoint commits ------------------------------------------------

#[test]
fn sprint_wip_commit_leaves_out_the_reports_folder() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-4"]);
    commit_history(&repo, 1);
    record_metrics(&repo, "earlier");
    repo.write("rollbacks/notes.md", "a report\n");
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    repo.write("wip-new.txt", "untracked work\n");
    let before = repo.capture();
    let v = json_of(&repo, &["sprint", "rollback", "--no-tests"]);
    let backup = v["backup_branch"].as_str().unwrap().to_string();
    assert_eq!(v["untracked_removed"], 1, "only the user's untracked file");
    let paths = tree_paths(&repo, &backup);
    assert!(paths.contains(&"wip-new.txt".to_string()));
    assert!(
        paths.iter().all(|p| !p.starts_with("rollbacks")),
        "{paths:?}"
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    let reports = capture_dir(&repo.abs("rollbacks"));
    repo.tool_ok(&["undo"]);
    assert_same_state(&without_reports(&before), &without_reports(&repo.capture()));
    assert_eq!(
        capture_dir(&repo.abs("rollbacks")).get("sprint-4/report.md"),
        reports.get("sprint-4/report.md")
    );
}

#[test]
fn checkpoint_wip_keeps_tracked_reports_as_head_has_them() {
    let repo = repo_tracking_reports();
    record_metrics(&repo, "a manual entry");
    repo.write("rollbacks/extra.md", "untracked report\n");
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let before = repo.capture();
    let v = json_of(&repo, &["checkpoint", "--wip"]);
    let commit = v["commit"].as_str().unwrap().to_string();
    assert_eq!(
        object_at(&repo, &commit, "rollbacks"),
        object_at(&repo, "HEAD", "rollbacks")
    );
    assert_ne!(
        object_at(&repo, &commit, "src/main.rs"),
        object_at(&repo, "HEAD", "src/main.rs"),
        "the user's work is in the checkpoint"
    );
    // A tracked folder gets no .gitignore: the team keeps seeing it.
    assert!(!repo.exists("rollbacks/.gitignore"));
    assert!(repo
        .git(&["status", "--porcelain"])
        .contains(" M rollbacks/metrics.json"));
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

// ----- recover -------------------------------------------------------------------

#[test]
fn recover_of_the_backup_branch_keeps_the_sprint_reports() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-3"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint: feature");
    // An earlier rollback left reports; there is work in progress.
    record_metrics(&repo, "earlier");
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let v = json_of(&repo, &["sprint", "rollback", "--no-tests"]);
    let backup = v["backup_branch"].as_str().unwrap().to_string();
    let sprint_op = v["operation_id"].as_str().unwrap().to_string();
    let reports = capture_dir(&repo.abs("rollbacks"));

    // The path the report advises.
    let r = json_of(&repo, &["recover", &backup, "--all", "--no-tests"]);
    assert_eq!(r["picked"].as_array().unwrap().len(), 2);
    assert_eq!(repo.read_string("src/main.rs"), "fn main() { /* wip */ }\n");
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));
    let doc: Value = serde_json::from_slice(&repo.read("rollbacks/metrics.json")).unwrap();
    assert!(doc["rollbacks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["operation_id"] == sprint_op.as_str()));

    repo.tool_ok(&["undo"]);
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));
}

#[test]
fn recover_leaves_reports_a_picked_commit_holds_and_says_so() {
    // A backup branch from an earlier version: its WIP commit holds an old
    // metrics.json and report beside the user's work.
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", "backup/sprint-2-old"]);
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.write(
        "rollbacks/metrics.json",
        "{\"rollbacks\": [], \"old\": true}\n",
    );
    repo.write("rollbacks/sprint-2/report.md", "# old\n");
    repo.git(&["add", "-A"]);
    repo.commit_staged("WIP: Sprint 2 before rollback");
    let wip = repo.head();
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-2-retry"]);
    record_metrics(&repo, "the newest entry");
    let reports = capture_dir(&repo.abs("rollbacks"));
    let before = repo.capture();

    let dry = repo.tool_ok(&[
        "--dry-run",
        "recover",
        "backup/sprint-2-old",
        "--all",
        "--no-tests",
    ]);
    assert!(
        dry.stdout
            .contains("its changes to rollbacks/ are left out"),
        "{dry}"
    );

    let out = repo.tool_ok(&["recover", "backup/sprint-2-old", "--all", "--no-tests"]);
    assert!(
        out.stdout
            .contains("left the reports folder rollbacks/ as it is"),
        "{out}"
    );
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));
    // Everything else of the commit is recovered; the new commit changes
    // nothing under rollbacks/.
    assert_eq!(repo.read_string("src/feature.rs"), "pub fn feature() {}\n");
    assert!(tree_paths(&repo, "HEAD")
        .iter()
        .all(|p| !p.starts_with("rollbacks")));
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    repo.tool_ok(&["undo"]);
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));
    assert_same_state(&without_reports(&before), &without_reports(&repo.capture()));

    // The JSON names the commit.
    let v = json_of(
        &repo,
        &["recover", "backup/sprint-2-old", "--all", "--no-tests"],
    );
    assert_eq!(v["reports_left"], serde_json::json!([wip]));
}

// ----- git status, git add -A, git stash -u, git switch ---------------------------------

#[test]
fn users_git_commands_never_sweep_up_the_reports() {
    let repo = repo_one_past_baseline();
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let v = json_of(&repo, &["emergency"]);
    let backup = v["backup_branch"].as_str().unwrap().to_string();
    let reports = capture_dir(&repo.abs("rollbacks"));
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_eq!(
        repo.git(&["status", "--porcelain", "--ignored"]),
        "!! rollbacks/"
    );

    // git add -A
    repo.write("mine.txt", "my new file\n");
    repo.git(&["add", "-A"]);
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), "mine.txt");

    // git stash -u
    repo.write("untracked.txt", "u\n");
    repo.git(&["stash", "push", "-u", "-q"]);
    for rev in ["stash@{0}", "stash@{0}^2", "stash@{0}^3"] {
        assert!(tree_paths(&repo, rev)
            .iter()
            .all(|p| !p.starts_with("rollbacks")));
    }
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));

    // git switch, both ways, and the pop.
    repo.git(&["switch", "-q", &backup]);
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["stash", "pop", "--index", "-q"]);
    assert_same_dir(&reports, &capture_dir(&repo.abs("rollbacks")));
    assert!(repo.exists("untracked.txt") && repo.exists("mine.txt"));
}

#[test]
fn own_gitignore_is_never_replaced_and_tracked_folder_gets_none() {
    // A user's own .gitignore in the folder (say, to track report.md but
    // not the metrics) stays byte for byte.
    let repo = repo_one_past_baseline();
    repo.write("rollbacks/.gitignore", "metrics.json\n");
    repo.chmod("rollbacks/.gitignore", 0o600);
    let own = capture_dir(&repo.abs("rollbacks"));
    repo.tool_ok(&["emergency"]);
    assert_eq!(
        capture_dir(&repo.abs("rollbacks")).get(".gitignore"),
        own.get(".gitignore")
    );
    // The user's rule is what git follows: the folder shows, metrics do not.
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? rollbacks/");

    // Tracked: no file of ours, the change stays visible.
    let tracked = repo_tracking_reports();
    tracked.tool_ok(&["emergency"]);
    assert!(!tracked.exists("rollbacks/.gitignore"));
    assert_eq!(
        tracked.git(&["status", "--porcelain"]),
        " M rollbacks/metrics.json"
    );
    assert_eq!(metrics_causes(&tracked), ["emergency rollback"]);
}

#[test]
fn clean_ignored_never_moves_the_reports_folder() {
    let repo = repo_one_past_baseline();
    record_metrics(&repo, "earlier");
    repo.write(".env", "SECRET=1\n");
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let before = repo.capture();
    let v = json_of(&repo, &["emergency", "--clean-ignored"]);
    assert_eq!(v["ignored_moved_aside"], 1, "only .env");
    assert!(!repo.exists(".env"));
    assert_eq!(metrics_causes(&repo), ["earlier", "emergency rollback"]);
    repo.tool_ok(&["undo"]);
    assert_same_state(&without_reports(&before), &without_reports(&repo.capture()));
    assert_eq!(metrics_causes(&repo), ["earlier", "emergency rollback"]);

    // A reports folder inside an ignored directory: what is beside it moves
    // aside, it stays.
    let repo = repo_one_past_baseline();
    repo.git(&["config", "rollback.reportsDir", "target/rollbacks"]);
    repo.write("target/debug/app", "binary\n");
    repo.tool_ok(&[
        "metrics",
        "record",
        "--severity",
        "low",
        "--cause",
        "x",
        "--minutes",
        "1",
    ]);
    let reports = capture_dir(&repo.abs("target/rollbacks"));
    let before = repo.capture();
    repo.tool_ok(&["emergency", "--clean-ignored"]);
    assert!(!repo.exists("target/debug/app"));
    assert!(repo.exists("target/rollbacks/metrics.json"));
    let after = capture_dir(&repo.abs("target/rollbacks"));
    assert_eq!(after.get(".gitignore"), reports.get(".gitignore"));
    repo.tool_ok(&["undo"]);
    let strip = |s: &RepoState| {
        let mut s = s.clone();
        s.files
            .entries
            .retain(|k, _| !k.starts_with(b"target/rollbacks"));
        s
    };
    assert_same_state(&strip(&before), &strip(&repo.capture()));
}

// ----- symlinks -------------------------------------------------------------------

/// Runs `args` and asserts it is refused with one line, the repository and
/// the symlink's target directory unchanged.
#[track_caller]
fn assert_refused(repo: &TestRepo, outside: &Path, args: &[&str]) {
    let elsewhere = capture_dir(outside);
    let out = assert_unchanged_by(repo, || repo.tool(args));
    out.assert_failure();
    assert!(
        out.stderr.contains("symlink") && out.stderr.trim().lines().count() == 1,
        "{args:?}: {out}"
    );
    assert_same_dir(&elsewhere, &capture_dir(outside));
    assert!(
        !repo.git_dir().join("rollback/journal.jsonl").exists()
            || !std::fs::read_to_string(repo.git_dir().join("rollback/journal.jsonl"))
                .unwrap_or_default()
                .contains(args[0]),
        "{args:?} wrote a journal entry"
    );
}

#[test]
fn symlinked_reports_folder_is_refused_everywhere() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    let outside = repo.root().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("metrics.json"), "{\"rollbacks\": []}\n").unwrap();
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-5"]);
    repo.symlink("rollbacks", "../elsewhere");
    repo.git(&["add", "rollbacks"]);
    repo.commit_staged("a tracked symlink where the reports go");
    commit_history(&repo, 1);
    dirty_everything(&repo);
    for args in [
        &["emergency"][..],
        &["emergency", "--clean-ignored"],
        &["--dry-run", "emergency"],
        &["sprint", "rollback", "--no-tests"],
        &[
            "metrics",
            "record",
            "--severity",
            "low",
            "--cause",
            "x",
            "--minutes",
            "1",
        ],
        &["analyze", "--no-tests"],
    ] {
        assert_refused(&repo, &outside, args);
    }
}

#[test]
fn reports_folder_under_a_symlink_is_refused() {
    let repo = repo_one_past_baseline();
    let outside = repo.root().join("elsewhere");
    std::fs::create_dir_all(outside.join("b")).unwrap();
    repo.symlink("a", "../elsewhere");
    repo.git(&["config", "rollback.reportsDir", "a/b"]);
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    assert_refused(&repo, &outside, &["emergency"]);
    assert_refused(
        &repo,
        &outside,
        &[
            "metrics",
            "record",
            "--severity",
            "low",
            "--cause",
            "x",
            "--minutes",
            "1",
        ],
    );
}

#[test]
fn undo_is_refused_while_the_reports_folder_is_a_symlink() {
    let repo = repo_one_past_baseline();
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    repo.tool_ok(&["emergency"]);
    // The folder is replaced by a symlink to a copy of it outside.
    let outside = repo.root().join("elsewhere");
    std::fs::rename(repo.abs("rollbacks"), &outside).unwrap();
    repo.symlink("rollbacks", "../elsewhere");
    let elsewhere = capture_dir(&outside);
    let out = assert_unchanged_by(&repo, || repo.tool(&["undo"]));
    out.assert_failure();
    assert!(out.stderr.contains("symlink"), "{out}");
    assert_same_dir(&elsewhere, &capture_dir(&outside));
    // Put back as a directory, the undo goes through.
    repo.remove("rollbacks");
    std::fs::rename(&outside, repo.abs("rollbacks")).unwrap();
    repo.tool_ok(&["undo"]);
    assert_eq!(repo.read_string("src/main.rs"), "fn main() { /* wip */ }\n");
}

#[test]
fn reports_dir_spelled_with_dot_slash_is_the_same_folder() {
    let repo = repo_one_past_baseline();
    repo.git(&["config", "rollback.reportsDir", "./rollbacks/"]);
    // Left by an earlier version: not ignored yet.
    repo.write(
        "rollbacks/metrics.json",
        "{\"rollbacks\": [{\"cause\": \"earlier\"}]}\n",
    );
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    repo.write("mine.txt", "untracked\n");
    repo.tool_ok(&["emergency"]);
    for rev in ["stash@{0}", "stash@{0}^2", "stash@{0}^3"] {
        assert!(tree_paths(&repo, rev)
            .iter()
            .all(|p| !p.starts_with("rollbacks")));
    }
    assert_eq!(metrics_causes(&repo), ["earlier", "emergency rollback"]);
    assert!(repo.exists("rollbacks/.gitignore"));
}

#[test]
fn a_folder_only_staged_counts_as_tracked_in_every_index_version() {
    // Staged but never committed: the index alone says git tracks it, in
    // whichever version git wrote the index.
    for version in ["2", "3", "4"] {
        let repo = repo_one_past_baseline();
        repo.write("rollbacks/notes.md", "kept by the team\n");
        repo.git(&["add", "rollbacks/notes.md"]);
        repo.git(&["update-index", "--index-version", version]);
        record_metrics(&repo, "staged folder");
        assert!(!repo.exists("rollbacks/.gitignore"), "index v{version}");
        assert_eq!(metrics_causes(&repo), ["staged folder"]);
    }
    // Nothing of it anywhere: the folder is kept out of git's way.
    let repo = repo_one_past_baseline();
    repo.write(
        "rollbacksx/other.md",
        "a folder whose name only starts the same\n",
    );
    repo.git(&["add", "rollbacksx"]);
    record_metrics(&repo, "untracked folder");
    assert!(repo.exists("rollbacks/.gitignore"));
}
