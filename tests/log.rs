//! Tests of `log` and `log show ID` (README: `log`, `undo`, `redo`, `status`):
//! the list, the short ids, what `log show` says an operation changed (each
//! part checked against what git says), the pager, journals written by 0.1.0,
//! and that reading the journal changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::pty::Pty;
use crate::common::{
    assert_nothing_changed, assert_unchanged_by, dirty_everything, everything, TestRepo,
};

const FAULT: &str = "GIT_ROLLBACK_SPRINT_FAULT";

// ----- helpers -------------------------------------------------------------------

/// `--json log <args>`, checked to change nothing.
#[track_caller]
fn log_json(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["--json", "log"];
    all.extend_from_slice(args);
    assert_unchanged_by(repo, || repo.tool_ok(&all).json())
}

/// `--json log show ID`, checked to change nothing.
#[track_caller]
fn show_json(repo: &TestRepo, id: &str) -> Value {
    assert_unchanged_by(repo, || repo.tool_ok(&["--json", "log", "show", id]).json())
}

fn ids(log: &Value) -> Vec<String> {
    log["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

fn op_id(v: &Value) -> String {
    v["operation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no operation_id in {v}"))
        .to_string()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Every ref and its value, as `git for-each-ref` lists them (the tool's
/// own `refs/rollback/` aside).
fn refs(repo: &TestRepo) -> BTreeMap<String, String> {
    repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter(|l| !l.starts_with("refs/rollback/"))
        .map(|l| {
            let (name, id) = l.split_once(' ').unwrap();
            (name.to_string(), id.to_string())
        })
        .collect()
}

/// A copy of the repository with the tree `git add -A` makes of its work
/// tree (the reports folder left out) and the tree of its index.
struct Trees {
    copy: TestRepo,
    worktree: String,
    /// `git ls-files -s`: (path, stage) → (mode, blob id).
    index: BTreeMap<(String, u64), (String, String)>,
}

fn trees(repo: &TestRepo) -> Trees {
    let copy = repo.copy();
    let index = copy
        .git(&["ls-files", "-s"])
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            let f: Vec<&str> = meta.split(' ').collect();
            (
                (path.to_string(), f[2].parse().unwrap()),
                (f[0].to_string(), f[1].to_string()),
            )
        })
        .collect();
    copy.git(&["add", "-A", "--", ".", ":(exclude)rollbacks"]);
    let worktree = copy.git(&["write-tree"]);
    Trees {
        copy,
        worktree,
        index,
    }
}

/// `git diff-tree --name-status --no-renames` between two states, as
/// (added, modified, deleted).
fn name_status(
    before: &Trees,
    after: &Trees,
) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let alternates = after.copy.git_dir().join("objects/info/alternates");
    std::fs::write(
        &alternates,
        format!("{}\n", before.copy.git_dir().join("objects").display()),
    )
    .unwrap();
    let out = after.copy.git(&[
        "diff-tree",
        "-r",
        "--name-status",
        "--no-renames",
        &before.worktree,
        &after.worktree,
    ]);
    let (mut a, mut m, mut d) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for line in out.lines() {
        let (status, path) = line.split_once('\t').unwrap();
        match status {
            "A" => a.insert(path.to_string()),
            "D" => d.insert(path.to_string()),
            _ => m.insert(path.to_string()),
        };
    }
    (a, m, d)
}

/// `log show`'s refs, HEAD, paths and index checked against git's view of
/// the states before and after the operation.
#[track_caller]
fn check_against_git(
    show: &Value,
    refs_before: &BTreeMap<String, String>,
    refs_after: &BTreeMap<String, String>,
    before: &Trees,
    after: &Trees,
) {
    let listed = show["refs"].as_array().unwrap();
    for r in listed {
        let name = r["name"].as_str().unwrap();
        assert_eq!(
            r["old"].as_str(),
            refs_before.get(name).map(String::as_str),
            "old value of {name}: {show:#}"
        );
        assert_eq!(
            r["new"].as_str(),
            refs_after.get(name).map(String::as_str),
            "new value of {name}: {show:#}"
        );
    }
    // Every ref that changed is in the list (the stash has its own part).
    let names: BTreeSet<&str> = listed.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for name in refs_before.keys().chain(refs_after.keys()) {
        if name != "refs/stash" && refs_before.get(name) != refs_after.get(name) {
            assert!(names.contains(name.as_str()), "{name} changed: {show:#}");
        }
    }
    let (added, modified, deleted) = name_status(before, after);
    assert_eq!(strings(&show["paths"]["added"]), added, "added: {show:#}");
    assert_eq!(
        strings(&show["paths"]["modified"]),
        modified,
        "modified: {show:#}"
    );
    assert_eq!(
        strings(&show["paths"]["deleted"]),
        deleted,
        "deleted: {show:#}"
    );
    let keys: BTreeSet<&(String, u64)> = before.index.keys().chain(after.index.keys()).collect();
    let changed: BTreeSet<(String, u64)> = keys
        .into_iter()
        .filter(|k| before.index.get(*k) != after.index.get(*k))
        .cloned()
        .collect();
    let side = |v: &Value| {
        (!v.is_null()).then(|| {
            (
                v["mode"].as_str().unwrap().to_string(),
                v["oid"].as_str().unwrap().to_string(),
            )
        })
    };
    let mut listed = BTreeSet::new();
    for e in show["index"].as_array().unwrap() {
        let key = (
            e["path"].as_str().unwrap().to_string(),
            e["stage"].as_u64().unwrap(),
        );
        assert_eq!(
            side(&e["old"]).as_ref(),
            before.index.get(&key),
            "{key:?}: {show:#}"
        );
        assert_eq!(
            side(&e["new"]).as_ref(),
            after.index.get(&key),
            "{key:?}: {show:#}"
        );
        listed.insert(key);
    }
    assert_eq!(listed, changed, "index: {show:#}");
}

/// `with_commits()` with the baseline at the first commit.
fn baseline_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD~1"]);
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);
    repo
}

/// `n` checkpoints, one second apart; their operation ids, oldest first.
fn checkpoints(repo: &TestRepo, n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            repo.set_now(&format!("2026-11-21T10:{:02}:{:02}+00:00", k / 60, k % 60));
            op_id(&repo.tool_ok(&["--json", "checkpoint"]).json())
        })
        .collect()
}

// ----- log ------------------------------------------------------------------------

#[test]
fn log_shows_the_last_20_newest_first_unless_told() {
    let repo = TestRepo::with_commits();
    let made = checkpoints(&repo, 25);
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let before = everything(&repo);

    let log = log_json(&repo, &[]);
    assert_eq!(ids(&log), newest_first[..20]);
    assert_eq!(log["older"], 5);
    assert_eq!(log["total"], 25);
    let text = repo.tool_ok(&["log"]);
    text.assert_stdout_contains("… 5 older operations: `git rollback-sprint log --all` shows them");
    assert_eq!(
        text.stdout.lines().filter(|l| l.contains("[done]")).count(),
        20
    );

    for args in [
        &["-n", "3"][..],
        &["-n3"],
        &["-3"],
        &["--max-count", "3"],
        &["--max-count=3"],
    ] {
        let log = log_json(&repo, args);
        assert_eq!(ids(&log), newest_first[..3], "log {args:?}");
        assert_eq!(log["older"], 22, "log {args:?}");
    }
    // Global flags before the command do not hide the count.
    let out = repo.tool_ok(&["--color", "never", "log", "-n", "2"]);
    assert_eq!(
        out.stdout.lines().filter(|l| l.contains("[done]")).count(),
        2
    );
    out.assert_stdout_contains("… 23 older operations");

    let all = log_json(&repo, &["--all"]);
    assert_eq!(ids(&all), newest_first);
    assert_eq!(all["older"], 0);
    let out = repo.tool_ok(&["log", "--all"]);
    assert!(!out.stdout.contains("older operation"), "{out}");
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.contains("created refs/tags/checkpoint-"))
            .count(),
        25
    );
    repo.tool(&["log", "--all", "-n", "3"]).assert_code(2);
    assert_nothing_changed(&repo, &before);
}

#[test]
fn short_ids_are_unique_prefixes_that_name_their_operation() {
    let repo = TestRepo::with_commits();
    checkpoints(&repo, 12);
    let log = log_json(&repo, &["--all"]);
    let ops = log["operations"].as_array().unwrap();
    let mut seen = BTreeSet::new();
    for op in ops {
        let id = op["id"].as_str().unwrap();
        let short = op["short_id"].as_str().unwrap();
        assert!(short.len() >= 4, "{short}");
        assert!(id.starts_with(short), "{short} of {id}");
        assert!(seen.insert(short.to_string()), "{short} twice");
        // No other id starts with it.
        let sharing = ops
            .iter()
            .filter(|o| o["id"].as_str().unwrap().starts_with(short))
            .count();
        assert_eq!(sharing, 1, "{short}");
        // One character less would be ambiguous or too short.
        let shorter = &short[..short.len() - 1];
        assert!(
            shorter.len() < 4
                || ops
                    .iter()
                    .filter(|o| o["id"].as_str().unwrap().starts_with(shorter))
                    .count()
                    > 1,
            "{short} is not the shortest"
        );
        let shown = show_json(&repo, short);
        assert_eq!(shown["operation"]["id"], id);
        assert_eq!(shown["operation"]["short_id"], short);
    }
    // Without colour the text has the whole id, plain.
    let out = repo.tool_ok(&["log"]);
    for op in ops {
        out.assert_stdout_contains(&format!("{}  ", op["id"].as_str().unwrap()));
    }
    assert!(!out.stdout.contains('\x1b'), "{out}");
    // With colour, the prefix is bold and the rest dim.
    let out = repo.tool_ok(&["--color", "always", "log", "-n", "1"]);
    let (id, short) = (
        ops[0]["id"].as_str().unwrap(),
        ops[0]["short_id"].as_str().unwrap(),
    );
    out.assert_stdout_contains(&format!(
        "\x1b[1m\x1b[33m{short}\x1b[0m\x1b[2m{}\x1b[0m",
        &id[short.len()..]
    ));
}

// ----- log show ---------------------------------------------------------------------

#[test]
fn log_show_emergency_from_a_dirty_tree() {
    let repo = baseline_repo();
    dirty_everything(&repo);
    let (refs_before, before) = (refs(&repo), trees(&repo));
    let out = repo.tool_ok(&["--json", "emergency"]).json();
    let id = op_id(&out);
    let (refs_after, after) = (refs(&repo), trees(&repo));

    let show = show_json(&repo, &id[..8]);
    assert_eq!(show["operation"]["id"], id);
    assert_eq!(show["operation"]["kind"], "emergency");
    assert_eq!(show["operation"]["outcome"], "done");
    assert_eq!(show["operation"]["undone_by"], Value::Null);
    assert_eq!(show["head"]["old"], "refs/heads/main");
    assert_eq!(show["head"]["new"], "refs/heads/main");
    check_against_git(&show, &refs_before, &refs_after, &before, &after);
    assert!(!show["paths"]["deleted"].as_array().unwrap().is_empty());
    assert!(!show["index"].as_array().unwrap().is_empty());
    // The branch moved to the baseline; the backup branch was created.
    let main = show["refs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "refs/heads/main")
        .expect("main in scope");
    assert_eq!(main["new"], repo.rev("baseline^{commit}"));
    assert_eq!(main["change"], "moved");
    assert!(show["refs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["change"] == "created"
            && r["name"]
                .as_str()
                .unwrap()
                .starts_with("refs/heads/backup/")));
    // The stash entry it pushed, with its message.
    let pushed = &show["stash"]["pushed"].as_array().unwrap()[0];
    assert_eq!(pushed["commit"], repo.rev("stash@{0}"));
    assert_eq!(pushed["stash"], "stash@{0}");
    assert_eq!(
        pushed["message"],
        repo.git(&["log", "-g", "-1", "--format=%gs", "refs/stash"])
    );
    assert_eq!(show["stash"]["removed"], serde_json::json!([]));
    assert_eq!(show["metrics"]["operation_id"], id.as_str());
    assert_eq!(show["metrics"]["undone"], false);
    assert_eq!(show["undo"]["possible"], true);
    assert_eq!(show["undo"]["reason"], "yes");

    let text = assert_unchanged_by(&repo, || repo.tool_ok(&["log", "show", &id]));
    text.assert_stdout_contains(&format!("operation {id}"))
        .assert_stdout_contains("HEAD: main (unchanged)")
        .assert_stdout_contains("moved refs/heads/main: ")
        .assert_stdout_contains("pushed stash@{0}: ")
        .assert_stdout_contains("Metrics: an entry in rollbacks/metrics.json")
        .assert_stdout_contains("Undo: yes");

    // Undone: undo cannot restore it again, its metrics entry is marked,
    // and the log says who undid it.
    let undo_id = op_id(&repo.tool_ok(&["--json", "undo"]).json());
    let show = show_json(&repo, &id);
    assert_eq!(show["operation"]["undone_by"], undo_id.as_str());
    assert_eq!(show["undo"]["possible"], false);
    assert_eq!(
        show["undo"]["reason"],
        format!("no: undone by {undo_id} (redo brings it back)")
    );
    assert_eq!(show["metrics"]["undone"], true);
    let undo = show_json(&repo, &undo_id);
    assert_eq!(undo["operation"]["kind"], "undo");
    assert_eq!(undo["operation"]["undoes"], id.as_str());
    assert_eq!(undo["undo"]["possible"], true);
    let out = repo.tool_ok(&["log"]);
    out.assert_stdout_contains(&format!("[done, undone by {undo_id}]"))
        .assert_stdout_contains(&format!("[done, undoes {id}]"));

    // Redone: the redo says what it brings back.
    let redo_id = op_id(&repo.tool_ok(&["--json", "redo"]).json());
    let log = log_json(&repo, &["-n", "1"]);
    assert_eq!(log["operations"][0]["id"], redo_id.as_str());
    assert_eq!(log["operations"][0]["redoes"], id.as_str());
    repo.tool_ok(&["log"])
        .assert_stdout_contains(&format!("[done, redoes {id}]"));
    assert_eq!(show_json(&repo, &id)["undo"]["possible"], true);
}

#[test]
fn log_show_files_lists_added_and_modified_paths() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.write("src/lib.rs", "pub fn broken() {}\n");
    repo.remove("docs/guide.md");
    repo.chmod("bin/run.sh", 0o644);
    let (refs_before, before) = (refs(&repo), trees(&repo));
    let out = repo
        .tool_ok(&[
            "--json",
            "files",
            "--no-tests",
            "src/lib.rs",
            "docs/guide.md",
            "bin/run.sh",
        ])
        .json();
    let id = op_id(&out);
    let (refs_after, after) = (refs(&repo), trees(&repo));
    let show = show_json(&repo, &id);
    check_against_git(&show, &refs_before, &refs_after, &before, &after);
    assert_eq!(
        strings(&show["paths"]["added"]),
        BTreeSet::from(["docs/guide.md".to_string()])
    );
    assert_eq!(
        strings(&show["paths"]["modified"]),
        BTreeSet::from(["bin/run.sh".to_string(), "src/lib.rs".to_string()])
    );
    assert_eq!(show["head"]["old"], show["head"]["new"]);
    assert_eq!(show["undo"]["possible"], true);
    let text = repo.tool_ok(&["log", "show", &id]);
    text.assert_stdout_contains("Work tree: 1 added, 2 modified, 0 deleted")
        .assert_stdout_contains("  added    docs/guide.md")
        .assert_stdout_contains("  modified src/lib.rs");
}

#[test]
fn log_show_sprint_rollback_and_checkpoint() {
    let repo = baseline_repo();
    let start = repo
        .tool_ok(&["--json", "sprint", "start", "3", "--no-tests"])
        .json();
    let start_id = op_id(&start);
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.remove("link");
    repo.commit_all("sprint: half-done refactor");
    repo.write("notes.txt", "uncommitted\n");
    let (refs_before, before) = (refs(&repo), trees(&repo));
    let out = repo.tool_ok(&["--json", "sprint", "rollback"]).json();
    let id = op_id(&out);
    let (refs_after, after) = (refs(&repo), trees(&repo));
    let show = show_json(&repo, &id);
    assert_eq!(show["operation"]["kind"], "sprint rollback");
    check_against_git(&show, &refs_before, &refs_after, &before, &after);
    assert_eq!(show["undo"]["possible"], true);
    let head = repo.git(&["symbolic-ref", "-q", "HEAD"]);
    assert_eq!(show["head"]["new"], head.as_str());

    // The start: a checkpoint tag and a branch created, HEAD moved to it;
    // a later operation changed the same things.
    let start = show_json(&repo, &start_id);
    let created: Vec<&str> = start["refs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["change"] == "created")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        created.iter().any(|r| r.starts_with("refs/tags/")),
        "{start:#}"
    );
    assert!(
        created.iter().any(|r| r.starts_with("refs/heads/")),
        "{start:#}"
    );
    assert_ne!(start["head"]["old"], start["head"]["new"]);
    assert_eq!(start["undo"]["possible"], true);
    assert_eq!(start["undo"]["needs_force"], true, "{start:#}");
    assert!(!start["undo"]["blockers"].as_array().unwrap().is_empty());
    repo.tool_ok(&["log", "show", &start_id])
        .assert_stdout_contains("Undo: only with --force:");

    // A plain checkpoint: one tag, nothing else.
    let refs_before = refs(&repo);
    let cp = op_id(&repo.tool_ok(&["--json", "checkpoint"]).json());
    let show = show_json(&repo, &cp);
    let tag = refs(&repo)
        .into_iter()
        .find(|(name, _)| !refs_before.contains_key(name))
        .expect("a new tag");
    assert_eq!(
        show["refs"],
        serde_json::json!([{"name": tag.0, "old": null, "new": tag.1, "change": "created"}])
    );
    assert_eq!(show["head"]["old"], show["head"]["new"]);
    assert_eq!(
        show["paths"],
        serde_json::json!({"added": [], "modified": [], "deleted": []})
    );
    assert_eq!(show["index"], serde_json::json!([]));
    assert_eq!(show["metrics"], Value::Null);
    assert_eq!(show["undo"]["reason"], "yes");
}

#[test]
fn log_show_an_interrupted_operation() {
    let repo = baseline_repo();
    dirty_everything(&repo);
    let out = repo.tool_with_env(&["emergency"], &[(FAULT, "before-end")]);
    assert_eq!(out.code, -1, "expected a SIGKILL\n{out}");
    let log = log_json(&repo, &[]);
    let op = &log["operations"][0];
    assert_eq!(op["outcome"], "interrupted");
    let id = op["id"].as_str().unwrap().to_string();
    let show = show_json(&repo, &id);
    assert_eq!(show["operation"]["outcome"], "interrupted");
    assert_eq!(show["head"]["new"], Value::Null);
    assert_eq!(show["paths"], Value::Null);
    assert_eq!(show["undo"]["possible"], true);
    assert!(
        show["undo"]["reason"]
            .as_str()
            .unwrap()
            .contains("whole state saved before it"),
        "{show:#}"
    );
    repo.tool_ok(&["log"])
        .assert_stdout_contains("[interrupted]")
        .assert_stderr_contains("was interrupted");
}

#[test]
fn log_show_lists_what_was_moved_aside_and_whether_it_is_still_there() {
    let repo = baseline_repo();
    repo.write("debug.log", "ignored\n");
    let id = op_id(
        &repo
            .tool_ok(&["--json", "emergency", "--clean-ignored"])
            .json(),
    );
    let show = show_json(&repo, &id);
    let moved = show["moved"].as_array().unwrap();
    let entry = moved
        .iter()
        .find(|m| m["from"] == "debug.log")
        .unwrap_or_else(|| panic!("debug.log not listed: {show:#}"));
    assert_eq!(entry["present"], true);
    let aside = entry["to"].as_str().unwrap();
    assert!(repo.git_dir().join("rollback").join(aside).exists());
    repo.tool_ok(&["log", "show", &id])
        .assert_stdout_contains("(still there)");
    std::fs::remove_file(repo.git_dir().join("rollback").join(aside)).unwrap();
    let show = show_json(&repo, &id);
    assert_eq!(show["moved"][0]["present"], false);

    // Its saved index gone: undo cannot restore it, and says why.
    let ops = repo.git_dir().join("rollback/ops").join(&id);
    std::fs::remove_file(ops.join("index")).unwrap();
    let show = show_json(&repo, &id);
    assert_eq!(show["undo"]["possible"], false);
    let reason = show["undo"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("no: its saved data was released by `log prune` or is missing"),
        "{reason}"
    );
    assert_eq!(show["index"], Value::Null);
}

#[test]
fn log_show_long_lists_are_cut_in_text_only() {
    let repo = TestRepo::with_commits();
    for n in 0..60 {
        repo.write(format!("gen/f{n:02}.txt"), "x\n");
    }
    repo.commit_all("generated");
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    for n in 0..60 {
        repo.write(format!("gen/f{n:02}.txt"), "changed\n");
    }
    let id = op_id(
        &repo
            .tool_ok(&["--json", "files", "--no-tests", "gen"])
            .json(),
    );
    let show = show_json(&repo, &id);
    assert_eq!(show["paths"]["modified"].as_array().unwrap().len(), 60);
    let out = repo.tool_ok(&["log", "show", &id]);
    out.assert_stdout_contains("… and 10 more");
    assert!(out.stdout.contains("gen/f49.txt") && !out.stdout.contains("gen/f50.txt"));
}

#[test]
fn log_show_refuses_bad_ids_and_changes_nothing() {
    let repo = TestRepo::with_commits();
    checkpoints(&repo, 2);
    let before = everything(&repo);
    for (id, needle) in [("abc", "too short"), ("zzzzzz", "no operation `zzzzzz`")] {
        let out = repo.tool(&["log", "show", id]);
        out.assert_code(1).assert_stderr_contains(needle);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
        assert!(out.stdout.is_empty(), "{out}");
        let out = repo.tool(&["--json", "log", "show", id]);
        out.assert_code(1);
        assert_eq!(out.json()["ok"], false);
    }
    repo.tool(&["log", "show"]).assert_code(2);
    assert_nothing_changed(&repo, &before);
}

// ----- journals written by 0.1.0 ----------------------------------------------------

/// Rewrite the journal as 0.1.0 wrote it: ids `YYYYMMDD_HHMMSS-xxxxxx`
/// (folders, refs and metrics entries renamed to match) and no `after`.
fn as_written_by_0_1_0(repo: &TestRepo, old_ids: &[String]) -> Vec<String> {
    let dir = repo.git_dir().join("rollback");
    let mut text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let metrics_path = repo.abs("rollbacks/metrics.json");
    let mut metrics = std::fs::read_to_string(&metrics_path).unwrap_or_default();
    let mut new_ids = Vec::new();
    for (n, old) in old_ids.iter().enumerate() {
        let new = format!("20261121_1004{n:02}-a1b2c{n}");
        text = text.replace(old.as_str(), &new);
        metrics = metrics.replace(old.as_str(), &new);
        if dir.join("ops").join(old).exists() {
            std::fs::rename(dir.join("ops").join(old), dir.join("ops").join(&new)).unwrap();
        }
        for line in repo
            .git(&[
                "for-each-ref",
                "--format=%(refname)",
                &format!("refs/rollback/{old}/"),
            ])
            .lines()
        {
            let renamed = line.replace(old.as_str(), &new);
            repo.git(&["update-ref", &renamed, line]);
            repo.git(&["update-ref", "-d", line]);
        }
        new_ids.push(new);
    }
    // 0.1.0 kept the snapshots alive with a ref each, not a keep reflog.
    let keep_log = repo.git_dir().join("logs/refs/rollback/keep/main");
    let kept = std::fs::read_to_string(&keep_log).unwrap_or_default();
    for line in kept.lines() {
        let oid = line.split(' ').nth(1).unwrap();
        let message = line.split('\t').nth(1).unwrap();
        let mut words = message.split(' ').skip(1);
        let (id, what) = (words.next().unwrap(), words.next().unwrap());
        let n = old_ids
            .iter()
            .position(|o| o == id)
            .expect("an entry of these operations");
        repo.git(&[
            "update-ref",
            &format!("refs/rollback/{}/{what}", new_ids[n]),
            oid,
        ]);
    }
    if !kept.is_empty() {
        repo.git(&["update-ref", "-d", "refs/rollback/keep/main"]);
    }
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("after");
            v.to_string()
        })
        .collect();
    std::fs::write(dir.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    if !metrics.is_empty() {
        std::fs::write(&metrics_path, metrics).unwrap();
    }
    new_ids
}

#[test]
fn log_reads_a_journal_written_by_0_1_0() {
    let repo = baseline_repo();
    let cp = op_id(&repo.tool_ok(&["--json", "checkpoint"]).json());
    dirty_everything(&repo);
    let em = op_id(&repo.tool_ok(&["--json", "emergency"]).json());
    let ids = as_written_by_0_1_0(&repo, &[cp, em]);
    let before = everything(&repo);

    let log = log_json(&repo, &[]);
    assert_eq!(self::ids(&log), [ids[1].clone(), ids[0].clone()]);
    // They share everything up to the last digit of the time.
    for op in log["operations"].as_array().unwrap() {
        let id = op["id"].as_str().unwrap();
        let short = op["short_id"].as_str().unwrap();
        assert_eq!(short, &id[..15], "{log:#}");
    }
    let out = repo.tool_ok(&["log"]);
    out.assert_stdout_contains(&ids[0])
        .assert_stdout_contains(&ids[1]);

    let show = show_json(&repo, &ids[1][..15]);
    assert_eq!(show["operation"]["id"], ids[1].as_str());
    assert_eq!(show["paths"], Value::Null);
    assert_eq!(show["index"], Value::Null);
    assert_eq!(show["stash"], Value::Null);
    assert_eq!(show["metrics"]["operation_id"], ids[1].as_str());
    assert_eq!(show["undo"]["possible"], true);
    assert!(
        show["undo"]["reason"]
            .as_str()
            .unwrap()
            .contains("restores the whole state saved before it"),
        "{show:#}"
    );
    assert_eq!(show["refs"][0]["name"], "refs/heads/main");
    assert_eq!(show["refs"][0]["new"], repo.rev("main"));
    repo.tool_ok(&["log", "show", &ids[1]])
        .assert_stdout_contains("written by 0.1.0");
    let cp = show_json(&repo, &ids[0]);
    assert_eq!(cp["refs"][0]["change"], "created");

    // A prefix both share names neither.
    repo.tool(&["log", "show", "2026"])
        .assert_code(1)
        .assert_stderr_contains("`2026` names 2 operations");
    assert_nothing_changed(&repo, &before);
}

// ----- the pager ----------------------------------------------------------------------

fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn log_goes_through_the_pager_on_a_terminal_only() {
    let repo = TestRepo::with_commits();
    let ids = checkpoints(&repo, 3);
    let paged = repo.tmp_dir().join("paged.txt");
    let pager = format!("cat > '{}'", paged.display());

    // On a terminal: through GIT_PAGER, nothing on the terminal itself.
    let mut pty = Pty::spawn_with_env(&repo, &["log"], &[("GIT_PAGER", &pager)]);
    assert_eq!(pty.wait(Duration::from_secs(20)), 0, "{}", pty.transcript());
    let text = read_or_empty(&paged);
    assert!(text.contains(&ids[2]) && text.contains(&ids[0]), "{text}");
    assert!(!pty.output().contains(&ids[2]), "{}", pty.transcript());

    // `log show` too.
    std::fs::remove_file(&paged).unwrap();
    let mut pty = Pty::spawn_with_env(&repo, &["log", "show", &ids[1]], &[("GIT_PAGER", &pager)]);
    assert_eq!(pty.wait(Duration::from_secs(20)), 0, "{}", pty.transcript());
    assert!(read_or_empty(&paged).contains(&format!("operation {}", ids[1])));

    // Piped, or JSON: no pager.
    std::fs::remove_file(&paged).unwrap();
    let out = repo.tool_with_env(&["log"], &[("GIT_PAGER", &pager)]);
    out.assert_ok().assert_stdout_contains(&ids[2]);
    assert!(!paged.exists());
    let mut pty = Pty::spawn_with_env(&repo, &["--json", "log"], &[("GIT_PAGER", &pager)]);
    assert_eq!(pty.wait(Duration::from_secs(20)), 0);
    assert!(!paged.exists());
    assert!(pty.output().contains(&ids[2]), "{}", pty.transcript());

    // GIT_PAGER=cat: printed on the terminal.
    let mut pty = Pty::spawn_with_env(&repo, &["log"], &[("GIT_PAGER", "cat")]);
    pty.expect(&ids[2], Duration::from_secs(20));
    assert_eq!(pty.wait(Duration::from_secs(20)), 0);

    // The pager gets LESS=FRX and LV=-c, as from git.
    let env_file = repo.tmp_dir().join("env.txt");
    let pager_env = format!(
        "echo \"$LESS $LV\" > '{}'; cat > /dev/null",
        env_file.display()
    );
    let mut pty = Pty::spawn_with_env(&repo, &["log"], &[("GIT_PAGER", &pager_env)]);
    assert_eq!(pty.wait(Duration::from_secs(20)), 0);
    assert_eq!(read_or_empty(&env_file).trim(), "FRX -c");

    // A pager that is not installed: printed on the terminal, as by git.
    let mut pty = Pty::spawn_with_env(&repo, &["log"], &[("GIT_PAGER", "no-such-pager-here")]);
    pty.expect(&ids[2], Duration::from_secs(20));
    assert_eq!(pty.wait(Duration::from_secs(20)), 0);

    // A pager that quits without reading is not an error.
    let mut pty = Pty::spawn_with_env(&repo, &["log"], &[("GIT_PAGER", "true")]);
    assert_eq!(pty.wait(Duration::from_secs(20)), 0, "{}", pty.transcript());
    assert!(!pty.output().contains("error"), "{}", pty.transcript());
}

#[test]
fn core_pager_then_pager_and_empty_turns_it_off() {
    let repo = TestRepo::with_commits();
    let ids = checkpoints(&repo, 2);
    let spawn = |envs: &[(&str, &str)]| {
        let mut pty =
            Pty::spawn_without(&repo, repo.path(), &["log"], envs, &["GIT_PAGER", "PAGER"]);
        let code = pty.wait(Duration::from_secs(20));
        assert_eq!(code, 0, "{}", pty.transcript());
        pty.output()
    };
    let from_config = repo.tmp_dir().join("config.txt");
    let from_env = repo.tmp_dir().join("pager.txt");
    repo.git(&[
        "config",
        "core.pager",
        &format!("cat > '{}'", from_config.display()),
    ]);
    let pager_env = format!("cat > '{}'", from_env.display());

    // core.pager comes before PAGER.
    let screen = spawn(&[("PAGER", &pager_env)]);
    assert!(read_or_empty(&from_config).contains(&ids[1]));
    assert!(!from_env.exists());
    assert!(!screen.contains(&ids[1]), "{screen}");

    // An empty core.pager turns the pager off.
    std::fs::remove_file(&from_config).unwrap();
    repo.git(&["config", "core.pager", ""]);
    let screen = spawn(&[("PAGER", &pager_env)]);
    assert!(!from_env.exists() && !from_config.exists());
    assert!(screen.contains(&ids[1]), "{screen}");

    // Without core.pager, PAGER.
    repo.git(&["config", "--unset", "core.pager"]);
    spawn(&[("PAGER", &pager_env)]);
    assert!(read_or_empty(&from_env).contains(&ids[1]));

    // `git -c core.pager=` (GIT_CONFIG_PARAMETERS) turns it off too.
    std::fs::remove_file(&from_env).unwrap();
    let screen = spawn(&[
        ("PAGER", &pager_env),
        ("GIT_CONFIG_PARAMETERS", "'core.pager='"),
    ]);
    assert!(!from_env.exists());
    assert!(screen.contains(&ids[1]), "{screen}");
}
