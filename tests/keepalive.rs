//! The tool's snapshots stay out of the user's history views and survive git's
//! garbage collection (README: Where the snapshots live…); `log prune` and
//! `rollback.keepDays` release them.
//!
//! After every command, `git rev-list --all` lists exactly what the user's
//! branches, tags, remotes, stash and HEAD reach, and no snapshot commit;
//! then each of `git gc --prune=now`, `git repack -a -d`, `git maintenance
//! run --task=gc` and `--task=incremental-repack`, followed by `undo`, gives
//! back the state before the command exactly.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use crate::common::{
    assert_same_except_reports, assert_same_state, capture_repo_with_orphans, dirty_everything,
    keep_entries, TestRepo, KEEP_REF_PREFIX,
};

/// Each is run on its own copy. `incremental-repack` works on packs only
/// (it fails when there is none): the loose objects are packed first.
const MAINTENANCE: &[&[&[&str]]] = &[
    &[&["gc", "--prune=now", "--quiet"]],
    &[&["repack", "-a", "-d", "-q"]],
    &[&["maintenance", "run", "--task=gc", "--quiet"]],
    &[
        &["repack", "-d", "-q"],
        &["maintenance", "run", "--task=incremental-repack", "--quiet"],
    ],
];

// ----- helpers -----------------------------------------------------------------

fn common_dir(repo: &TestRepo) -> PathBuf {
    PathBuf::from(repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]))
}

/// (operation id, what, object id) of every keep-reflog entry.
fn kept(repo: &TestRepo) -> Vec<(String, String, String)> {
    keep_entries(&common_dir(repo))
        .into_iter()
        .map(|(_, id, what, oid)| (id, what, oid))
        .collect()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn has_object(repo: &TestRepo, oid: &str) -> bool {
    repo.git_output(&["cat-file", "-e", oid]).status.success()
}

/// `git rev-list --all` is what the user's refs reach (branches, tags,
/// remotes, HEAD and the stash), no snapshot commit is in `git log --all`
/// or in what gitk asks for (`git rev-parse --all`), and git says nothing
/// on stderr about the keep ref.
#[track_caller]
fn assert_snapshots_hidden(repo: &TestRepo) {
    let all = repo.git_output(&["rev-list", "--all"]);
    assert!(all.status.success());
    assert!(
        all.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let all = lines(&String::from_utf8_lossy(&all.stdout));
    let mut args = vec!["rev-list", "--branches", "--tags", "--remotes", "HEAD"];
    if repo
        .git_output(&["rev-parse", "-q", "--verify", "refs/stash"])
        .status
        .success()
    {
        args.push("refs/stash");
    }
    let users = lines(&repo.git(&args));
    assert_eq!(all, users, "rev-list --all lists more than the user's refs");

    let log = repo.git(&["log", "--all", "--format=%H %s"]);
    assert!(!log.contains("rollback-sprint"), "{log}");
    let gitk = repo.git(&["rev-parse", "--all"]);
    let walked = repo.git_with_stdin(&["rev-list", "--stdin"], format!("{gitk}\n").as_bytes());
    assert_eq!(lines(&walked), users);

    let entries = kept(repo);
    for (id, what, oid) in &entries {
        assert!(has_object(repo, oid), "{what} of {id} ({oid}) is missing");
        if what == "worktree" || what == "index" {
            assert!(!all.contains(oid), "snapshot {oid} of {id} is visible");
        }
    }
    assert!(
        repo.git(&["for-each-ref", "--format=%(refname)", "refs/rollback/"])
            .lines()
            .all(|r| r.starts_with(KEEP_REF_PREFIX)),
        "a ref other than a keep ref under refs/rollback/"
    );
}

/// A baseline, a sprint branch with commits on it (also `failed`, for
/// recover), one stash entry of the user's, and a branch `work` at the
/// baseline.
fn base_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", &base]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-3"]);
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.commit_all("sprint: feature");
    repo.write("docs/guide.md", "# Guide\n\nStep one.\nStep two.\n");
    repo.commit_all("sprint: docs");
    repo.git(&["branch", "failed"]);
    repo.write("feature.txt", "user's stash\n");
    repo.git(&["stash", "push", "-u", "-q", "-m", "user's own stash"]);
    repo.git(&["branch", "work", &base]);
    repo
}

/// One command, from a fresh copy of `base`: its snapshots are hidden,
/// survive each kind of maintenance, and `undo` gives back the state
/// before it exactly.
fn round_trips(base: &TestRepo, prepare: impl Fn(&TestRepo), command: &[&str]) {
    for maintenance in MAINTENANCE {
        let repo = base.copy();
        prepare(&repo);
        let before = repo.capture();
        repo.tool_ok(command);
        assert_snapshots_hidden(&repo);
        for step in *maintenance {
            repo.git(step);
        }
        assert_snapshots_hidden(&repo);
        repo.tool_ok(&["undo"]);
        assert_same_except_reports(&before, &repo.capture());
        assert_snapshots_hidden(&repo);
    }
}

// ----- every command: hidden, kept through maintenance, undone exactly ----------

#[test]
fn emergency_snapshots_are_hidden_and_survive_maintenance() {
    round_trips(&base_repo(), dirty_everything, &["emergency"]);
}

#[test]
fn sprint_rollback_snapshots_are_hidden_and_survive_maintenance() {
    round_trips(
        &base_repo(),
        dirty_everything,
        &["sprint", "rollback", "--no-tests"],
    );
}

#[test]
fn files_snapshots_are_hidden_and_survive_maintenance() {
    round_trips(
        &base_repo(),
        dirty_everything,
        &["files", "--no-tests", "src/lib.rs", "config"],
    );
}

#[test]
fn checkpoint_wip_snapshots_are_hidden_and_survive_maintenance() {
    round_trips(
        &base_repo(),
        dirty_everything,
        &["checkpoint", "--wip", "-m", "before lunch"],
    );
}

#[test]
fn recover_snapshots_are_hidden_and_survive_maintenance() {
    round_trips(
        &base_repo(),
        |repo| {
            repo.git(&["checkout", "-q", "work"]);
        },
        &["recover", "failed", "--all", "--no-tests"],
    );
}

/// Why the entries carry a time far in the future: git gc drops the
/// entries of a ref whose tip is not a commit once they are older than
/// gc.reflogExpireUnreachable (30 days). An operation of 60 days ago keeps
/// its snapshots through gc, and undo still works; an entry written with
/// the real time of 60 days ago (as the experiment) is dropped.
#[test]
fn a_sixty_day_old_operation_survives_gc_and_is_undone() {
    let repo = base_repo();
    dirty_everything(&repo);
    let sixty_days_ago = chrono::Utc::now() - chrono::Duration::days(60);
    repo.set_now(&sixty_days_ago.to_rfc3339());
    let before = repo.capture();
    repo.tool_ok(&["emergency"]);

    // The experiment: a dangling commit kept by an entry of real age.
    let tree = repo.git(&["write-tree"]);
    let dangling = repo.git_with_stdin(&["commit-tree", &tree], b"kept for 60 days\n");
    let log = common_dir(&repo).join("logs/refs/rollback/keep/main");
    let mut text = fs::read_to_string(&log).unwrap();
    text.push_str(&format!(
        "{dangling} {dangling} someone <> {} +0000\trollback-sprint 000000000000 worktree\n",
        sixty_days_ago.timestamp()
    ));
    fs::write(&log, text).unwrap();

    repo.git(&["gc", "--prune=now", "--quiet"]);
    assert!(!has_object(&repo, &dangling), "git gc kept a 60-day entry");
    assert!(kept(&repo).iter().all(|(id, _, _)| id != "000000000000"));
    assert_snapshots_hidden(&repo);

    repo.set_now(&chrono::Utc::now().to_rfc3339());
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

/// Journals of 0.1.0 kept each snapshot under `refs/rollback/<id>/…`: the
/// next command that takes the lock moves those of its own operations into
/// the keep reflog and deletes them; a ref of an id it does not record
/// (another work tree's) is left alone.
#[test]
fn refs_of_an_old_journal_move_into_the_keep_reflog() {
    let repo = base_repo();
    dirty_everything(&repo);
    let before = repo.capture();
    repo.tool_ok(&["emergency"]);
    let after_emergency = repo.capture();

    // Rewrite what the tool wrote into what 0.1.0 wrote.
    let new_id = kept(&repo)[0].0.clone();
    let old_id = "20261121_100405-abcdef";
    let journal = repo.git_dir().join("rollback/journal.jsonl");
    let text = fs::read_to_string(&journal).unwrap();
    fs::write(&journal, text.replace(&new_id, old_id)).unwrap();
    let ops = repo.git_dir().join("rollback/ops");
    fs::rename(ops.join(&new_id), ops.join(old_id)).unwrap();
    for (_, what, oid) in kept(&repo) {
        repo.git(&[
            "update-ref",
            &format!("refs/rollback/{old_id}/{what}"),
            &oid,
        ]);
    }
    repo.git(&["update-ref", "-d", "refs/rollback/keep/main"]);
    assert!(kept(&repo).is_empty());
    let foreign = "refs/rollback/20260101_000000-fedcba/worktree";
    repo.git(&["update-ref", foreign, &repo.rev("failed")]);
    repo.git(&["pack-refs", "--all"]);

    // Any command that takes the lock (here one that changes nothing).
    repo.tool_ok(&["log", "prune", "--keep", "100"]);
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/rollback/"]);
    assert_eq!(
        lines(&refs),
        lines(&format!("refs/rollback/keep/main\n{foreign}"))
    );
    assert!(kept(&repo).iter().all(|(id, _, _)| id == old_id));
    assert!(kept(&repo).iter().any(|(_, what, _)| what == "worktree"));
    let (state, orphans) = capture_repo_with_orphans(repo.path());
    assert_eq!(orphans, vec![foreign.to_string()]);
    assert_same_state(&after_emergency, &state);

    repo.git(&["gc", "--prune=now", "--quiet"]);
    repo.tool_ok(&["undo", old_id]);
    let (state, _) = capture_repo_with_orphans(repo.path());
    assert_same_except_reports(&before, &state);
    assert_eq!(repo.rev(foreign), repo.rev("failed"));
}

// ----- log prune -----------------------------------------------------------------

/// Three operations: an emergency (A) on 2026-03-01, its undo (B) the day
/// after, a WIP checkpoint (C) on 2026-11-20; the clock then at
/// 2026-11-21. Returns the repository and the ids A, B, C.
fn history_repo() -> (TestRepo, [String; 3]) {
    let repo = base_repo();
    dirty_everything(&repo);
    // Built with automatic pruning off, or C would release A and B.
    repo.git(&["config", "rollback.keepDays", "0"]);
    repo.set_now("2026-03-01T10:00:00+00:00");
    let a = repo.tool_ok(&["--json", "emergency"]).json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    repo.set_now("2026-03-02T10:00:00+00:00");
    let b = repo.tool_ok(&["--json", "undo"]).json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    repo.set_now("2026-11-20T10:00:00+00:00");
    let c = repo
        .tool_ok(&["--json", "checkpoint", "--wip", "-m", "wip"])
        .json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    repo.set_now("2026-11-21T10:00:00+00:00");
    repo.git(&["config", "--unset", "rollback.keepDays"]);
    (repo, [a, b, c])
}

fn journal_ids(repo: &TestRepo) -> BTreeSet<String> {
    let text = fs::read_to_string(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .map(|s| s.trim_matches('"').to_string())
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn op_dir_exists(repo: &TestRepo, id: &str) -> bool {
    repo.git_dir().join("rollback/ops").join(id).exists()
}

#[test]
fn log_prune_releases_what_it_says_and_nothing_the_user_sees() {
    let (repo, [a, b, c]) = history_repo();
    let snapshots_of_a: Vec<String> = kept(&repo)
        .into_iter()
        .filter(|(id, what, _)| *id == a && (what == "worktree" || what == "index"))
        .map(|(_, _, oid)| oid)
        .collect();
    assert!(!snapshots_of_a.is_empty());
    assert!(op_dir_exists(&repo, &a));
    let before = repo.capture();

    let out = repo.tool_ok(&["--json", "log", "prune", "--older-than", "30"]);
    let json = out.json();
    assert_eq!(json["released"], serde_json::json!([a, b]));
    assert_eq!(json["kept"], 1);
    assert!(json["freed_bytes"].as_u64().unwrap() > 0);

    assert_eq!(journal_ids(&repo), set(&[&c]));
    assert!(!op_dir_exists(&repo, &a) && !op_dir_exists(&repo, &b));
    assert!(kept(&repo).iter().all(|(id, _, _)| *id == c));
    // Stash, branches, tags, the reports folder, the index and the work
    // tree: all as they were.
    assert_same_state(&before, &repo.capture());
    repo.git(&["gc", "--prune=now", "--quiet"]);
    for oid in &snapshots_of_a {
        assert!(!has_object(&repo, oid), "snapshot {oid} survived the prune");
    }
    assert_snapshots_hidden(&repo);
    assert_same_state(&before, &repo.capture());
    // What is left still undoes.
    repo.tool_ok(&["undo"]);
}

#[test]
fn log_prune_dry_run_changes_nothing() {
    let (repo, [a, b, _]) = history_repo();
    let journal = fs::read(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
    let entries = kept(&repo);
    let before = repo.capture();
    let out = repo.tool_ok(&["--dry-run", "log", "prune", "--older-than", "30"]);
    out.assert_stdout_contains("Would release 2 operations")
        .assert_stdout_contains(&a)
        .assert_stdout_contains(&b);
    let json = repo
        .tool_ok(&["--json", "--dry-run", "log", "prune", "--older-than", "30"])
        .json();
    assert_eq!(json["released"], serde_json::json!([a, b]));
    assert_same_state(&before, &repo.capture());
    assert_eq!(
        fs::read(repo.git_dir().join("rollback/journal.jsonl")).unwrap(),
        journal
    );
    assert_eq!(kept(&repo), entries);
    assert!(op_dir_exists(&repo, &a));
}

#[test]
fn log_prune_refuses_bad_input_and_changes_nothing() {
    let (repo, _) = history_repo();
    let journal = fs::read(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
    let entries = kept(&repo);
    for args in [
        &["log", "prune", "--keep", "abc"][..],
        &["log", "prune", "--older-than", "-1"],
        &["log", "prune", "--older-than", "1.5"],
    ] {
        let out = repo.tool(args);
        assert!(!out.success(), "{args:?} was accepted");
    }
    repo.git(&["config", "rollback.keepDays", "abc"]);
    let out = repo.tool(&["log", "prune"]);
    out.assert_code(1)
        .assert_stderr_contains("rollback.keepDays");
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    repo.git(&["config", "rollback.keepDays", "-3"]);
    repo.tool(&["log", "prune"]).assert_code(1);
    // A transaction refuses too, before anything changes.
    repo.tool(&["checkpoint", "-m", "x"]).assert_code(1);
    assert_eq!(
        fs::read(repo.git_dir().join("rollback/journal.jsonl")).unwrap(),
        journal
    );
    assert_eq!(kept(&repo), entries);
}

#[test]
fn log_prune_keep_n_and_older_than_together() {
    // --keep 2: only A goes; B (its undo) stays, naming a released id.
    let (repo, [a, b, c]) = history_repo();
    let json = repo
        .tool_ok(&["--json", "log", "prune", "--keep", "2"])
        .json();
    assert_eq!(json["released"], serde_json::json!([a]));
    assert_eq!(journal_ids(&repo), set(&[&b, &c]));
    repo.tool_ok(&["log"]);

    // --keep 1: A and B.
    let (repo, [a, b, c]) = history_repo();
    let json = repo
        .tool_ok(&["--json", "log", "prune", "--keep", "1"])
        .json();
    assert_eq!(json["released"], serde_json::json!([a, b]));
    assert_eq!(journal_ids(&repo), set(&[&c]));

    // Both: older than 200 days and not among the newest 2 → only A.
    let (repo, [a, b, c]) = history_repo();
    let json = repo
        .tool_ok(&[
            "--json",
            "log",
            "prune",
            "--keep",
            "2",
            "--older-than",
            "200",
        ])
        .json();
    assert_eq!(json["released"], serde_json::json!([a]));
    assert_eq!(journal_ids(&repo), set(&[&b, &c]));
    // Older than 300 days: none of them.
    let json = repo
        .tool_ok(&[
            "--json",
            "log",
            "prune",
            "--keep",
            "0",
            "--older-than",
            "300",
        ])
        .json();
    assert_eq!(json["released"], serde_json::json!([]));

    // An undo never goes without what it undoes: with A kept (--keep 3
    // keeps all three), B is not released even though it is old.
    let (repo, _) = history_repo();
    let json = repo
        .tool_ok(&["--json", "log", "prune", "--keep", "3", "--older-than", "1"])
        .json();
    assert_eq!(json["released"], serde_json::json!([]));
}

#[test]
fn an_undo_whose_target_was_pruned_can_still_be_undone() {
    let repo = base_repo();
    dirty_everything(&repo);
    repo.tool_ok(&["emergency"]);
    let after_emergency = repo.capture();
    repo.tool_ok(&["undo"]);
    let after_undo = repo.capture();
    let json = repo
        .tool_ok(&["--json", "log", "prune", "--keep", "1"])
        .json();
    assert_eq!(json["released"].as_array().unwrap().len(), 1);
    repo.tool_ok(&["log"]);
    // redo: undoes the undo, whose own snapshots are still kept.
    repo.git(&["gc", "--prune=now", "--quiet"]);
    let redo = repo.tool_ok(&["--json", "redo"]).json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_same_except_reports(&after_emergency, &repo.capture());
    // The redo is undone by id (plain `undo` takes original operations,
    // and this one's original is released).
    repo.tool_ok(&["undo", &redo]);
    assert_same_except_reports(&after_undo, &repo.capture());
}

#[test]
fn an_interrupted_operation_is_never_released() {
    let repo = base_repo();
    dirty_everything(&repo);
    repo.set_now("2026-01-01T10:00:00+00:00");
    let killed = repo.tool_with_env(
        &["emergency"],
        &[("GIT_ROLLBACK_SPRINT_FAULT", "after-begin")],
    );
    assert!(!killed.success());
    let ids = journal_ids(&repo);
    assert_eq!(ids.len(), 1);
    repo.set_now("2026-11-21T10:00:00+00:00");
    let json = repo
        .tool_ok(&["--json", "log", "prune", "--older-than", "1"])
        .json();
    assert_eq!(json["released"], serde_json::json!([]));
    assert_eq!(journal_ids(&repo), ids);
    // Once undone, it goes (with its undo).
    repo.tool_ok(&["undo"]);
    let json = repo
        .tool_ok(&["--json", "log", "prune", "--keep", "0"])
        .json();
    assert_eq!(json["released"].as_array().unwrap().len(), 2);
    assert!(kept(&repo).is_empty());
    assert_eq!(
        repo.git(&["for-each-ref", "refs/rollback/"]),
        "",
        "the keep ref goes with its last entry"
    );
}

// ----- automatic pruning (rollback.keepDays) ---------------------------------------

#[test]
fn keep_days_prunes_automatically_once_due() {
    let (repo, [a, b, c]) = history_repo();
    // A and B are 264-265 days old: the next operation releases them.
    let before = repo.capture();
    repo.tool_ok(&["checkpoint", "-m", "next"]);
    let ids = journal_ids(&repo);
    assert!(!ids.contains(&a) && !ids.contains(&b) && ids.contains(&c));
    assert_eq!(ids.len(), 2);
    assert!(!op_dir_exists(&repo, &a));
    assert!(kept(&repo).iter().all(|(id, _, _)| *id != a && *id != b));
    // Nothing the user sees went: the stash, branches, tags as before (plus
    // the new checkpoint tag).
    let after = repo.capture();
    assert_eq!(before.stash, after.stash);
    for (name, value) in &before.refs {
        assert_eq!(after.refs.get(name), Some(value), "{name}");
    }
}

#[test]
fn keep_days_waits_for_a_day_past_due() {
    let repo = base_repo();
    repo.set_now("2026-01-01T10:00:00+00:00");
    repo.tool_ok(&["checkpoint", "-m", "one"]);
    repo.git(&["config", "rollback.keepDays", "30"]);
    // 30.5 days later: older than keepDays, not yet keepDays + 1.
    repo.set_now("2026-01-31T22:00:00+00:00");
    repo.tool_ok(&["checkpoint", "-m", "two"]);
    assert_eq!(journal_ids(&repo).len(), 2);
    // 31.5 days after the first: it goes, the second stays.
    repo.set_now("2026-02-01T22:00:00+00:00");
    repo.tool_ok(&["checkpoint", "-m", "three"]);
    assert_eq!(journal_ids(&repo).len(), 2);
}

#[test]
fn keep_days_zero_turns_automatic_pruning_off() {
    let (repo, [a, b, c]) = history_repo();
    repo.git(&["config", "rollback.keepDays", "0"]);
    repo.set_now("2029-01-01T10:00:00+00:00");
    repo.tool_ok(&["checkpoint", "-m", "next"]);
    let ids = journal_ids(&repo);
    assert!(ids.contains(&a) && ids.contains(&b) && ids.contains(&c));
    let out = repo.tool_ok(&["--json", "log", "prune"]);
    assert_eq!(out.json()["released"], serde_json::json!([]));
    assert_eq!(journal_ids(&repo).len(), 4);
    // Explicit flags still work.
    let out = repo.tool_ok(&["--json", "log", "prune", "--older-than", "30"]);
    assert_eq!(out.json()["released"].as_array().unwrap().len(), 3);
}

#[test]
fn log_prune_without_flags_uses_keep_days() {
    let (repo, [a, b, c]) = history_repo();
    let json = repo.tool_ok(&["--json", "log", "prune"]).json();
    assert_eq!(json["released"], serde_json::json!([a, b]));
    assert_eq!(journal_ids(&repo), set(&[&c]));
}

// ----- operations that never began ---------------------------------------------------

/// A failure after the keep entries are appended, before the `begin`
/// record (the journal cannot be written): the entries go, with the
/// operation's folder, and nothing is left for a later gc to keep.
#[test]
fn a_failure_after_the_keep_entries_removes_them() {
    let repo = base_repo();
    dirty_everything(&repo);
    let journal = repo.git_dir().join("rollback/journal.jsonl");
    let exec = format!("after-keep:mkdir -p '{}'", journal.display());
    let before = repo.capture();
    let out = repo.tool_with_env(
        &["emergency"],
        &[("GIT_ROLLBACK_SPRINT_FAULT_EXEC", exec.as_str())],
    );
    out.assert_code(1);
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert!(kept(&repo).is_empty(), "{:?}", kept(&repo));
    assert_eq!(repo.git(&["for-each-ref", "refs/rollback/"]), "");
    let ops = repo.git_dir().join("rollback/ops");
    let left: Vec<_> = fs::read_dir(&ops)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "operation folders left: {left:?}");
    assert_same_state(&before, &repo.capture());
    fs::remove_dir(&journal).unwrap();
    repo.tool_ok(&["emergency"]);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
}

/// A kill after the keep entries are appended, before the `begin` record:
/// the entries are the killed operation's (marked as being prepared), and
/// the next command removes them.
#[test]
fn a_kill_after_the_keep_entries_leaves_them_for_the_next_command() {
    let repo = base_repo();
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool_with_env(
        &["emergency"],
        &[("GIT_ROLLBACK_SPRINT_FAULT", "after-keep")],
    );
    assert!(!out.success());
    let (_, orphans) = capture_repo_with_orphans(repo.path());
    assert!(!orphans.is_empty());
    assert_same_state(&before, &crate::common::capture_after_early_kill(&repo));
    repo.tool_ok(&["checkpoint", "-m", "next"]);
    let (_, orphans) = capture_repo_with_orphans(repo.path());
    assert!(orphans.is_empty(), "{orphans:?}");
    assert_snapshots_hidden(&repo);
}

// ----- linked worktrees ---------------------------------------------------------------

/// Each work tree's journal has its own keep ref (`main`, and the linked
/// worktree's id); pruning one never releases the other's snapshots.
#[test]
fn each_work_tree_keeps_its_own_snapshots() {
    let repo = base_repo();
    let other = repo.tmp_dir().join("linked");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        other.to_str().unwrap(),
        "refactor/sprint-3",
    ]);
    dirty_everything(&repo);
    let main_id = repo.tool_ok(&["--json", "emergency"]).json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    fs::write(other.join("scratch.txt"), "linked work\n").unwrap();
    let linked_id = repo.tool_in(&other, &["--json", "emergency"]).json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/rollback/"]);
    assert_eq!(
        lines(&refs),
        lines("refs/rollback/keep/linked\nrefs/rollback/keep/main")
    );
    for (name, id, _, _) in keep_entries(&common_dir(&repo)) {
        let expected = if name.ends_with("/main") {
            &main_id
        } else {
            &linked_id
        };
        assert_eq!(&id, expected, "{name}");
    }
    assert_snapshots_hidden(&repo);

    // Released in the linked worktree: the main one's entries stay.
    let json = repo
        .tool_in(&other, &["--json", "log", "prune", "--keep", "0"])
        .json();
    assert_eq!(json["released"], serde_json::json!([linked_id]));
    assert!(kept(&repo).iter().all(|(id, _, _)| *id == main_id));
    assert!(!kept(&repo).is_empty());
    repo.git(&["gc", "--prune=now", "--quiet"]);
    repo.tool_ok(&["undo"]);
    assert!(repo.read_string("src/lib.rs").contains("work tree v3"));
}

/// An undo of an operation older than keepDays is not pruned from under
/// it: undo and redo never prune automatically; the next other operation
/// does.
#[test]
fn undo_of_an_old_operation_is_not_pruned_from_under_it() {
    let repo = base_repo();
    dirty_everything(&repo);
    let before = repo.capture();
    repo.set_now("2026-03-01T10:00:00+00:00");
    let old = repo.tool_ok(&["--json", "emergency"]).json()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    repo.set_now("2026-11-21T10:00:00+00:00");
    repo.git(&["gc", "--prune=now", "--quiet"]);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
    assert!(journal_ids(&repo).contains(&old));
    let out = repo.tool_ok(&["checkpoint", "-m", "later"]);
    out.assert_stderr_contains("released 1 operation older than 90 days");
    assert!(!journal_ids(&repo).contains(&old));
    assert_eq!(journal_ids(&repo).len(), 2);
    repo.tool_ok(&["log"]);
}
