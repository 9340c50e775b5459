//! The operation journal: `log`, `undo` (and redo), the lock, crash
//! recovery after SIGKILL, and refusing a journal it cannot trust.

use std::fs;

use crate::common::{assert_same_state, TestRepo};

/// A repository with two commits and a baseline at the first.
fn repo_with_baseline() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.write("CHANGES.md", "second\n");
    repo.commit_all("second");
    repo.tool_ok(&["baseline", "set", "HEAD~1"]);
    repo
}

fn journal_path(repo: &TestRepo) -> std::path::PathBuf {
    repo.git_dir().join("rollback/journal.jsonl")
}

#[test]
fn undo_with_an_empty_journal_is_a_clear_error() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("nothing to undo"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn undo_redo_undo_of_one_operation() {
    let repo = repo_with_baseline();
    let before = repo.capture();
    repo.tool_ok(&["baseline", "set", "--force", "HEAD"]);
    let after_set = repo.capture();
    assert_ne!(before.refs, after_set.refs);
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    repo.tool_ok(&["redo"]);
    assert_same_state(&after_set, &repo.capture());
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn log_lists_operations_newest_first_with_outcome_and_refs() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint", "-m", "one"]);
    repo.tool_ok(&["undo"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let ops = log["operations"].as_array().expect("operations");
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0]["kind"], "undo");
    assert_eq!(ops[1]["kind"], "checkpoint");
    assert_eq!(ops[1]["undone_by"], ops[0]["id"]);
    assert_eq!(ops[0]["undoes"], ops[1]["id"]);
    assert_eq!(
        ops[1]["refs_created"][0],
        "refs/tags/checkpoint-20261121_100405"
    );
    assert_eq!(ops[2]["kind"], "baseline set");
    assert_eq!(ops[2]["outcome"], "done");
    let text = repo.tool_ok(&["log"]).stdout;
    assert!(text.contains("undone by"), "{text}");
    assert!(text.contains("created refs/tags/baseline"), "{text}");
}

#[test]
fn undo_by_id_prefix_and_ambiguous_prefix() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint"]);
    repo.tool_ok(&["checkpoint"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let first_checkpoint = log["operations"][1]["id"].as_str().unwrap().to_string();
    // Three characters are not enough, four of a unique id are.
    let out = repo.tool(&["undo", &first_checkpoint[..3]]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("at least 4 characters"),
        "{}",
        out.stderr
    );
    // Undoing the older checkpoint leaves the newer one alone.
    let ids: Vec<String> = log["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    let unique = (4..=first_checkpoint.len())
        .map(|n| &first_checkpoint[..n])
        .find(|p| ids.iter().filter(|id| id.starts_with(p)).count() == 1)
        .unwrap();
    repo.tool_ok(&["undo", unique]);
    let tags = repo.git(&["tag", "--list", "checkpoint-*"]);
    assert_eq!(tags, "checkpoint-20261121_100405-2");
    let out = repo.tool(&["undo", "nope"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no operation"), "{}", out.stderr);
}

#[test]
fn undo_refuses_when_a_created_ref_moved_unless_forced() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint"]);
    repo.git(&["tag", "-f", "checkpoint-20261121_100405", "HEAD~1"]);
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_same_state(&before, &repo.capture());
    let forced = repo.tool_ok(&["--json", "undo", "--force"]).json();
    assert!(repo.git(&["tag", "--list", "checkpoint-*"]).is_empty());
    // The forced undo is itself undoable: the moved tag comes back.
    repo.tool_ok(&["redo"]);
    assert_same_state(&before, &repo.capture());
    assert!(forced["operation_id"].is_string());
}

#[test]
fn undo_of_an_older_operation_that_a_later_one_overlaps_needs_force() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["baseline", "set", "--force", "HEAD"]);
    repo.set_now("2026-11-21T11:00:00+00:00");
    repo.tool_ok(&["baseline", "set", "--force", "HEAD~1"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let older = log["operations"][1]["id"].as_str().unwrap().to_string();
    let before = repo.capture();
    let out = repo.tool(&["undo", &older]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("refs/tags/baseline has moved since"),
        "{}",
        out.stderr
    );
    assert_same_state(&before, &repo.capture());
}

#[test]
fn dry_run_undo_changes_nothing_and_writes_no_journal_entry() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint"]);
    let before = repo.capture();
    let journal = fs::read(journal_path(&repo)).unwrap();
    let out = repo.tool_ok(&["-n", "undo"]);
    assert!(
        out.stdout.contains("delete refs/tags/checkpoint-"),
        "{}",
        out.stdout
    );
    assert_same_state(&before, &repo.capture());
    assert_eq!(journal, fs::read(journal_path(&repo)).unwrap());
}

#[test]
fn a_second_invocation_while_one_runs_fails_naming_the_holder() {
    let repo = repo_with_baseline();
    // A live process holds the lock (another invocation in progress).
    let mut holder = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let lock = serde_json::json!({"pid": holder.id(), "host": host.trim(),
        "command": "git rollback-sprint emergency", "since": "2026-11-21T10:00:00+00:00"});
    fs::create_dir_all(repo.git_dir().join("rollback")).unwrap();
    fs::write(repo.git_dir().join("rollback/lock"), lock.to_string()).unwrap();
    let before = repo.capture();
    let started = std::time::Instant::now();
    let out = repo.tool(&["checkpoint"]);
    holder.kill().unwrap();
    let _ = holder.wait();
    out.assert_code(1);
    assert!(started.elapsed().as_secs() < 10, "it must fail at once");
    assert!(
        out.stderr.contains(&format!("pid {}", holder.id()))
            && out.stderr.contains("git rollback-sprint emergency"),
        "{}",
        out.stderr
    );
    assert_same_state(&before, &repo.capture());
}

#[test]
fn a_stale_lock_from_a_dead_process_is_replaced() {
    let repo = repo_with_baseline();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let lock = serde_json::json!({"pid": pid, "host": host.trim(),
        "command": "git rollback-sprint checkpoint", "since": "2026-11-21T10:00:00+00:00"});
    fs::write(repo.git_dir().join("rollback/lock"), lock.to_string()).unwrap();
    let out = repo.tool_ok(&["checkpoint"]);
    assert!(out.stderr.contains("stale lock"), "{}", out.stderr);
    assert!(!repo.git_dir().join("rollback/lock").exists());
}

#[test]
fn a_held_index_lock_is_refused_before_anything_changes() {
    let repo = repo_with_baseline();
    fs::write(repo.git_dir().join("index.lock"), b"").unwrap();
    let before = repo.capture();
    let journal = fs::read(journal_path(&repo)).unwrap();
    let out = repo.tool(&["checkpoint"]);
    out.assert_code(1);
    assert!(out.stderr.contains("index.lock"), "{}", out.stderr);
    assert_same_state(&before, &repo.capture());
    assert_eq!(journal, fs::read(journal_path(&repo)).unwrap());
    assert!(
        repo.git_dir().join("index.lock").exists(),
        "not ours to remove"
    );
}

#[test]
fn mid_merge_repositories_are_refused_with_the_git_command_that_ends_it() {
    let repo = repo_with_baseline();
    repo.git(&["checkout", "-q", "-b", "other", "HEAD~1"]);
    repo.write("CHANGES.md", "other\n");
    repo.commit_all("other");
    repo.git(&["checkout", "-q", "main"]);
    let merge = repo.git_output(&["merge", "other"]);
    assert!(!merge.status.success(), "the merge must conflict");
    let before = repo.capture();
    let out = repo.tool(&["baseline", "set", "--force"]);
    out.assert_code(1);
    assert!(out.stderr.contains("git merge --abort"), "{}", out.stderr);
    assert_same_state(&before, &repo.capture());
}

/// SIGKILL at each step boundary of a ref-changing operation: the next
/// command reports it, mutating commands stop with exit 3, and `undo`
/// restores the state before it.
#[test]
fn sigkill_at_every_step_is_reported_and_undone() {
    for point in ["after-begin", "after-ref", "before-end"] {
        let repo = repo_with_baseline();
        repo.tool_ok(&["checkpoint"]);
        let before = repo.capture();
        let out = repo.tool_with_env(
            &["baseline", "set", "--force", "HEAD"],
            &[("GIT_ROLLBACK_SPRINT_FAULT", point)],
        );
        assert_eq!(out.code, -1, "{point}: killed by the signal: {out:?}");
        let status = repo.tool_ok(&["status"]);
        assert!(
            status.stderr.contains("interrupted"),
            "{point}: {}",
            status.stderr
        );
        assert!(
            status.stdout.contains("interrupted"),
            "{point}: {}",
            status.stdout
        );
        let refused = repo.tool(&["checkpoint"]);
        refused.assert_code(3);
        assert!(refused.stderr.contains("undo"), "{}", refused.stderr);
        repo.tool_ok(&["undo"]);
        assert_same_state(&before, &repo.capture());
        let log = repo.tool_ok(&["--json", "log"]).json();
        assert_eq!(log["operations"][1]["outcome"], "interrupted", "{point}");
        // Nothing is reported any more.
        let status = repo.tool_ok(&["status"]);
        assert!(
            !status.stderr.contains("interrupted"),
            "{point}: {}",
            status.stderr
        );
    }
}

#[test]
fn an_interrupted_operation_can_be_dismissed_and_still_undone_later() {
    let repo = repo_with_baseline();
    let before = repo.capture();
    let out = repo.tool_with_env(
        &["checkpoint"],
        &[("GIT_ROLLBACK_SPRINT_FAULT", "before-end")],
    );
    assert_eq!(out.code, -1);
    let after_crash = repo.capture();
    let out = repo.tool_ok(&["undo", "--dismiss"]);
    assert!(out.stdout.contains("Dismissed"), "{}", out.stdout);
    assert_same_state(&after_crash, &repo.capture());
    repo.tool_ok(&["checkpoint", "-m", "works again"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let crashed = log["operations"][1]["id"].as_str().unwrap().to_string();
    assert_eq!(log["operations"][1]["outcome"], "dismissed");
    repo.tool_ok(&["undo"]);
    repo.tool_ok(&["undo", &crashed]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn a_dry_run_of_dismiss_names_its_one_step_and_changes_nothing() {
    let repo = repo_with_baseline();
    let out = repo.tool_with_env(
        &["checkpoint"],
        &[("GIT_ROLLBACK_SPRINT_FAULT", "before-end")],
    );
    assert_eq!(out.code, -1);
    let journal_before = fs::read_to_string(journal_path(&repo)).unwrap();
    let after_crash = repo.capture();
    let out = repo.tool_ok(&["--dry-run", "undo", "--dismiss"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let crashed = log["operations"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        out.stdout.trim_end(),
        format!("Would mark {crashed} as dismissed and keep the current state.")
    );
    let json = repo
        .tool_ok(&["--json", "--dry-run", "undo", "--dismiss"])
        .json();
    assert_eq!(json["dismissed"], crashed.as_str());
    assert_eq!(
        json["plan"],
        serde_json::json!([format!(
            "mark {crashed} as dismissed and keep the current state."
        )])
    );
    assert_eq!(
        fs::read_to_string(journal_path(&repo)).unwrap(),
        journal_before
    );
    assert_eq!(log["operations"][0]["outcome"], "interrupted");
    assert_same_state(&after_crash, &repo.capture());
}

#[test]
fn a_corrupt_journal_is_refused_and_left_alone() {
    let repo = repo_with_baseline();
    let path = journal_path(&repo);
    let mut text = fs::read_to_string(&path).unwrap();
    text.insert_str(0, "{not json\n");
    fs::write(&path, &text).unwrap();
    let before = repo.capture();
    for args in [&["undo"][..], &["log"], &["checkpoint"]] {
        let out = repo.tool(args);
        out.assert_code(1);
        assert!(
            out.stderr.contains("corrupt at line 1"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn a_journal_from_a_newer_version_is_refused() {
    let repo = repo_with_baseline();
    let path = journal_path(&repo);
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("{\"type\":\"begin\",\"v\":99,\"id\":\"x\",\"future\":true}\n");
    fs::write(&path, &text).unwrap();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("newer git-rollback-sprint"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_torn_last_line_is_ignored_and_repaired_by_the_next_append() {
    let repo = repo_with_baseline();
    let path = journal_path(&repo);
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("{\"type\":\"begin\",\"v\":1,\"id\":\"torn");
    fs::write(&path, &text).unwrap();
    repo.tool_ok(&["log"]);
    repo.tool_ok(&["checkpoint"]);
    let repaired = fs::read_to_string(&path).unwrap();
    assert!(!repaired.contains("torn"));
    for line in repaired.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
    repo.tool_ok(&["undo"]);
}

#[test]
fn undo_diagnoses_snapshot_objects_that_were_pruned() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint", "-m", "doomed"]);
    repo.tool_ok(&["checkpoint", "prune", "--keep", "0"]);
    // Destroy the keep refs (their reflogs go with them), then prune
    // unreachable objects.
    for r in repo
        .git(&["for-each-ref", "--format=%(refname)", "refs/rollback/"])
        .lines()
    {
        repo.git(&["update-ref", "-d", r]);
    }
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("missing"), "{}", out.stderr);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn snapshots_survive_gc_prune_now() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint", "-m", "kept"]);
    let before = repo.capture();
    repo.tool_ok(&["checkpoint", "prune", "--keep", "0"]);
    // Every reflog but the keep reflog emptied, so that only the tool
    // keeps the deleted tag's object. (`git reflog expire --expire=now
    // --all` empties the keep reflog too: like the stash, it is a reflog,
    // and the README says so.)
    let refs = repo.git(&["for-each-ref", "--format=%(refname)"]);
    for r in refs
        .lines()
        .chain(["HEAD"])
        .filter(|r| !r.starts_with("refs/rollback/keep/"))
    {
        if repo.git_output(&["reflog", "exists", r]).status.success() {
            repo.git(&["reflog", "expire", "--expire=now", r]);
        }
    }
    repo.git(&["gc", "-q", "--prune=now"]);
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn each_work_tree_has_its_own_journal() {
    let repo = repo_with_baseline();
    let other = repo.tmp_dir().join("linked");
    repo.git(&["worktree", "add", "-q", "--detach", other.to_str().unwrap()]);
    repo.tool_in(&other, &["checkpoint"]).assert_ok();
    let main_log = repo.tool_ok(&["--json", "log"]).json();
    assert_eq!(main_log["operations"].as_array().unwrap().len(), 1);
    let linked_log = repo.tool_in(&other, &["--json", "log"]).json();
    assert_eq!(linked_log["operations"][0]["kind"], "checkpoint");
    repo.tool_in(&other, &["undo"]).assert_ok();
    assert!(repo.git(&["tag", "--list", "checkpoint-*"]).is_empty());
}

#[test]
fn undo_refuses_before_changing_anything_when_a_saved_file_is_gone() {
    let repo = repo_with_baseline();
    repo.write("CHANGES.md", "dirty\n");
    repo.tool_ok(&["emergency"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let id = log["operations"][0]["id"].as_str().unwrap().to_string();
    fs::remove_file(repo.git_dir().join("rollback/ops").join(&id).join("index")).unwrap();
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("saved file"), "{}", out.stderr);
    assert_same_state(&before, &repo.capture());
}

/// A journal of `n` more operations before the repository's own: copies of
/// its first operation's records under fresh ids (about 1 KB each).
fn lengthen_journal(repo: &TestRepo, n: usize) -> usize {
    let path = journal_path(repo);
    let text = fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let id = first["id"].as_str().unwrap().to_string();
    let records: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("\"id\":\"{id}\"")))
        .collect();
    let mut out = String::new();
    for k in 0..n {
        let fresh = format!("{k:012x}");
        for r in &records {
            out.push_str(&r.replace(&id, &fresh));
            out.push('\n');
        }
    }
    out.push_str(&text);
    fs::write(&path, out).unwrap();
    text.lines()
        .filter(|l| l.starts_with("{\"type\":\"begin\""))
        .count()
        + n
}

fn counted(repo: &TestRepo) -> u64 {
    repo.tool_ok(&["--json", "status"]).json()["operations"]
        .as_u64()
        .expect("a count of operations")
}

/// Commands read the newest part of a long journal; what the previous
/// command found whole (`journal.checked`) is not read again, and a
/// journal that no longer starts with it is read (and checked) whole.
#[test]
fn a_long_journal_is_read_from_its_end_and_still_checked() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint", "-m", "one"]);
    let total = lengthen_journal(&repo, 1500);
    let path = journal_path(&repo);
    assert!(fs::metadata(&path).unwrap().len() > 1 << 20);
    assert_eq!(counted(&repo), total as u64);

    // An operation moves the checked part to the end of the journal.
    repo.tool_ok(&["checkpoint", "-m", "two"]);
    let checked: serde_json::Value =
        serde_json::from_slice(&fs::read(repo.git_dir().join("rollback/journal.checked")).unwrap())
            .unwrap();
    assert_eq!(checked["len"], fs::metadata(&path).unwrap().len());
    assert_eq!(checked["ops"], total as u64 + 1);
    assert_eq!(counted(&repo), total as u64 + 1);
    repo.tool_ok(&["undo"]);
    assert_eq!(counted(&repo), total as u64 + 2);

    // A line broken far back: every command refuses, as the whole reader
    // does, and the journal is left byte for byte.
    let good = fs::read(&path).unwrap();
    let at = good.iter().position(|b| *b == b'\n').unwrap() + 1;
    let broken = [&good[..at], b"{\"type\": broken\n", &good[at..]].concat();
    fs::write(&path, &broken).unwrap();
    let before = repo.capture();
    for args in [&["checkpoint"][..], &["status"], &["emergency", "--yes"]] {
        let out = repo.tool(args);
        out.assert_code(1);
        assert!(out.stderr.contains("corrupt at line 2"), "{args:?}\n{out}");
    }
    assert_eq!(fs::read(&path).unwrap(), broken);
    assert_same_state(&before, &repo.capture());

    // A checked part that does not match the journal is not trusted.
    fs::write(&path, &good).unwrap();
    let stale = serde_json::json!({
        "dev": checked["dev"], "ino": checked["ino"], "len": 100, "ops": 999_999, "end": "00",
    });
    fs::write(
        repo.git_dir().join("rollback/journal.checked"),
        stale.to_string(),
    )
    .unwrap();
    assert_eq!(counted(&repo), total as u64 + 2);
    repo.tool_ok(&["checkpoint", "-m", "three"]);
    assert_eq!(counted(&repo), total as u64 + 3);
}
