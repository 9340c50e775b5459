//! `undo` and `redo` in sequence (README: `log`, `undo`, `redo`, `status`):
//! `undo` without an id walks back through the operations not undone yet,
//! `redo` walks forward through the undone ones, a new operation ends the chain
//! of redos, and `undo ID` takes any unique prefix of 4 or more characters.
//!
//! The operations touch different things (`files a.txt`, `files b.txt`, a
//! checkpoint tag), so every step has one exact expected state: the
//! capture taken when the repository was last in it, or one built with
//! git on a copy.

use std::fs;

use serde_json::Value;

use crate::common::{
    assert_nothing_changed, assert_same_except_reports, assert_unchanged_by, everything, RepoState,
    TestRepo, ToolOutput,
};

// ----- helpers -----------------------------------------------------------------

/// `with_commits()` plus a.txt, b.txt and c.txt, tagged `baseline`, then a
/// commit changing all three: each `files` below has something to do.
fn fixture() -> TestRepo {
    let repo = TestRepo::with_commits();
    for name in ["a", "b", "c"] {
        repo.write(format!("{name}.txt"), format!("{name} at the baseline\n"));
    }
    repo.commit_all("three files");
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    for name in ["a", "b", "c"] {
        repo.write(format!("{name}.txt"), format!("{name} in the sprint\n"));
    }
    repo.commit_all("sprint work");
    repo
}

/// Run `--json <args>`, assert success, return the operation id.
#[track_caller]
fn op(repo: &TestRepo, args: &[&str]) -> String {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = repo.tool(&all);
    out.assert_ok();
    let v = out.json();
    v["operation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no operation_id\n{out}"))
        .to_string()
}

const OP1: &[&str] = &["files", "a.txt", "--yes", "--no-tests"];
const OP2: &[&str] = &["files", "b.txt", "--yes", "--no-tests"];
const OP3: &[&str] = &["checkpoint", "-m", "third"];

/// The fixture, its state S0, then op1 → S1, op2 → S2, op3 → S3.
struct Walk {
    repo: TestRepo,
    s: [RepoState; 4],
    ids: [String; 3],
}

fn walk() -> Walk {
    let repo = fixture();
    let s0 = repo.capture();
    let id1 = op(&repo, OP1);
    let s1 = repo.capture();
    let id2 = op(&repo, OP2);
    let s2 = repo.capture();
    let id3 = op(&repo, OP3);
    let s3 = repo.capture();
    for (a, b) in [(&s0, &s1), (&s1, &s2), (&s2, &s3)] {
        assert!(
            !a.diff(b).is_empty(),
            "setup: every operation changes something"
        );
    }
    Walk {
        repo,
        s: [s0, s1, s2, s3],
        ids: [id1, id2, id3],
    }
}

/// Run `--json <args>` (undo or redo), assert success, return the JSON.
#[track_caller]
fn run_json(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = repo.tool(&all);
    out.assert_ok();
    out.json()
}

/// `args` must fail with exit 1, one line on stderr, and change nothing:
/// not the repository, not the journal.
#[track_caller]
fn refused(repo: &TestRepo, args: &[&str]) -> ToolOutput {
    let out = assert_unchanged_by(repo, || repo.tool(args));
    out.assert_code(1);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line\n{out}");
    out
}

/// Like [`refused`], for a bad id: any error exit (1, or 2 as a usage
/// error), one line, nothing changed.
#[track_caller]
fn bad_id(repo: &TestRepo, args: &[&str]) -> ToolOutput {
    let out = assert_unchanged_by(repo, || repo.tool(args));
    out.assert_failure();
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line\n{out}");
    out
}

/// Every operation id in the journal, from `log --json`.
fn all_ids(repo: &TestRepo) -> Vec<String> {
    let log = run_json(repo, &["log", "--all"]);
    log["operations"]
        .as_array()
        .unwrap_or_else(|| panic!("no operations in {log}"))
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ----- walking back and forth ----------------------------------------------------

#[test]
fn undo_walks_back_and_redo_walks_forward() {
    let w = walk();
    let r = &w.repo;

    let u = run_json(r, &["undo"]);
    assert_eq!(u["undoes"], w.ids[2].as_str(), "the newest first\n{u}");
    assert_same_except_reports(&w.s[2], &r.capture());

    // Typed again, undo walks further back; it does not redo.
    let u = run_json(r, &["undo"]);
    assert_eq!(u["undoes"], w.ids[1].as_str(), "then the one before\n{u}");
    assert_same_except_reports(&w.s[1], &r.capture());

    run_json(r, &["redo"]);
    assert_same_except_reports(&w.s[2], &r.capture());
    run_json(r, &["redo"]);
    assert_same_except_reports(&w.s[3], &r.capture());

    // Nothing left to redo.
    refused(r, &["redo"]);
    assert_same_except_reports(&w.s[3], &r.capture());
}

#[test]
fn undo_walks_back_to_the_start_then_says_there_is_nothing_to_undo() {
    let w = walk();
    let r = &w.repo;
    for i in (0..3).rev() {
        run_json(r, &["undo"]);
        assert_same_except_reports(&w.s[i], &r.capture());
    }
    refused(r, &["undo"]);
    // And forward again, all the way.
    for i in 1..4 {
        run_json(r, &["redo"]);
        assert_same_except_reports(&w.s[i], &r.capture());
    }
    refused(r, &["redo"]);
}

#[test]
fn a_new_operation_ends_the_redo_chain() {
    let w = walk();
    let r = &w.repo;
    run_json(r, &["undo"]);
    assert_same_except_reports(&w.s[2], &r.capture());
    op(r, &["files", "c.txt", "--yes", "--no-tests"]);
    let out = refused(r, &["redo"]);
    assert!(
        out.stderr.contains("redo"),
        "says what cannot be done\n{out}"
    );
}

/// A command with nothing to do records nothing (I11), so it is no new
/// operation and the redo chain goes on.
#[test]
fn a_command_with_nothing_to_do_keeps_the_redo_chain() {
    let w = walk();
    let r = &w.repo;
    run_json(r, &["undo"]);
    assert_same_except_reports(&w.s[2], &r.capture());
    // a.txt already holds the baseline's content.
    assert_unchanged_by(r, || r.tool_ok(&["files", "a.txt", "--yes", "--no-tests"]));
    run_json(r, &["redo"]);
    assert_same_except_reports(&w.s[3], &r.capture());
}

#[test]
fn undo_after_redo_undoes_again() {
    let w = walk();
    let r = &w.repo;
    run_json(r, &["undo"]);
    assert_same_except_reports(&w.s[2], &r.capture());
    run_json(r, &["redo"]);
    assert_same_except_reports(&w.s[3], &r.capture());
    let u = run_json(r, &["undo"]);
    assert_eq!(u["undoes"], w.ids[2].as_str(), "{u}");
    assert_same_except_reports(&w.s[2], &r.capture());
    run_json(r, &["undo"]);
    assert_same_except_reports(&w.s[1], &r.capture());
}

/// op, undo, redo, then `log prune --keep 2` releases op (its undo and
/// redo stay): the redo stands for op, so `undo` takes it and the state
/// before op comes back; `redo` then brings op's result back again.
#[test]
fn undo_takes_a_redo_whose_operation_was_released() {
    let repo = fixture();
    let before = repo.capture();
    let id = op(&repo, OP1);
    let after = repo.capture();
    run_json(&repo, &["undo"]);
    run_json(&repo, &["redo"]);
    assert_same_except_reports(&after, &repo.capture());
    let pruned = run_json(&repo, &["log", "prune", "--keep", "2"]);
    assert_eq!(pruned["released"], serde_json::json!([id]), "{pruned}");
    let u = run_json(&repo, &["undo"]);
    assert_ne!(u["undoes"], Value::Null, "{u}");
    assert_same_except_reports(&before, &repo.capture());
    run_json(&repo, &["redo"]);
    assert_same_except_reports(&after, &repo.capture());
}

// ----- undo ID ----------------------------------------------------------------------

/// `undo <op1>` while op2 and op3 (which touched b.txt and a tag) stay:
/// only a.txt goes back. The expected state is S3 with a.txt's index entry
/// and file as they were before op1, put back with git on a copy.
#[test]
fn undo_of_an_older_operation_keeps_the_newer_ones() {
    let repo = fixture();
    // What a.txt was before op1, as git sees it.
    let entry = repo.git(&["ls-files", "-s", "--", "a.txt"]);
    let (mode, oid) = {
        let mut f = entry.split_whitespace();
        (
            f.next().expect("mode").to_string(),
            f.next().expect("oid").to_string(),
        )
    };
    let content = repo.read("a.txt");

    let id1 = op(&repo, OP1);
    op(&repo, OP2);
    op(&repo, OP3);
    let s3 = repo.capture();

    let copy = repo.copy();
    copy.git(&[
        "update-index",
        "--cacheinfo",
        &format!("{mode},{oid},a.txt"),
    ]);
    copy.write("a.txt", &content);
    let want = copy.capture();

    let u = run_json(&repo, &["undo", &id1]);
    assert_eq!(u["undoes"], id1.as_str(), "{u}");
    assert_same_except_reports(&want, &repo.capture());

    // redo re-applies the most recently undone operation: op1.
    run_json(&repo, &["redo"]);
    assert_same_except_reports(&s3, &repo.capture());
}

/// `undo <op1>` when a newer operation changed a.txt again: a.txt no
/// longer holds what op1 left, so the undo refuses, names it, and changes
/// nothing; undoing the newer one first makes the older one undoable.
#[test]
fn undo_of_an_older_operation_whose_path_a_newer_one_changed_refuses() {
    let repo = fixture();
    // A third content for a.txt, neither HEAD's nor the baseline's.
    repo.git(&["switch", "-q", "-c", "alt"]);
    repo.write("a.txt", "a on another branch\n");
    repo.commit_all("alt");
    repo.git(&["switch", "-q", "main"]);
    let s0 = repo.capture();
    let id1 = op(&repo, OP1);
    let s1 = repo.capture();
    op(
        &repo,
        &["files", "a.txt", "--from", "alt", "--yes", "--no-tests"],
    );
    let out = refused(&repo, &["undo", &id1]);
    assert!(out.stderr.contains("a.txt"), "names the path\n{out}");
    run_json(&repo, &["undo"]);
    assert_same_except_reports(&s1, &repo.capture());
    run_json(&repo, &["undo", &id1]);
    assert_same_except_reports(&s0, &repo.capture());
}

/// Four characters of an id name the operation, when no other id starts
/// with them; three are too few, and the error says so.
#[test]
fn a_four_character_prefix_names_an_operation_and_three_do_not() {
    let w = walk();
    let r = &w.repo;
    let id3 = &w.ids[2];

    let three = &id3[..3];
    let out = bad_id(r, &["undo", three]);
    assert!(out.stderr.contains(three), "names what was given\n{out}");

    let four = &id3[..4];
    let sharing = all_ids(r).iter().filter(|i| i.starts_with(four)).count();
    if sharing == 1 {
        let u = run_json(r, &["undo", four]);
        assert_eq!(u["undoes"], id3.as_str(), "{u}");
        assert_same_except_reports(&w.s[2], &r.capture());
    } else {
        // Ids are random: once in a long while another one starts the
        // same way, and then the prefix must be refused as ambiguous.
        let out = bad_id(r, &["undo", four]);
        assert!(out.stderr.contains(four), "{out}");
    }
}

/// Two operations whose ids share their first four characters: the
/// prefix is refused, naming it, and nothing changes; the whole id works.
///
/// Ids are random, so two checkpoints are made and their ids are given a
/// common prefix in the journal, the operation folders and the keep-alive
/// refs — the journal two lucky draws would have written.
#[test]
fn an_ambiguous_prefix_fails_clearly() {
    let repo = fixture();
    let first = repo.tool_ok(&["--json", "checkpoint", "-m", "one"]).json();
    let second = repo.tool_ok(&["--json", "checkpoint", "-m", "two"]).json();
    let ids: Vec<String> = [&first, &second]
        .iter()
        .map(|v| {
            v["operation_id"]
                .as_str()
                .expect("operation_id")
                .to_string()
        })
        .collect();
    let renamed: Vec<String> = ids.iter().map(|id| format!("abcd{}", &id[4..])).collect();
    assert_ne!(renamed[0], renamed[1], "setup: still two ids");

    let dir = repo.git_dir().join("rollback");
    let journal = dir.join("journal.jsonl");
    let mut text = fs::read_to_string(&journal).expect("read the journal");
    for (old, new) in ids.iter().zip(&renamed) {
        text = text.replace(old.as_str(), new);
        let from = dir.join("ops").join(old);
        if from.exists() {
            fs::rename(&from, dir.join("ops").join(new)).expect("rename the operation folder");
        }
        let refs = repo.git(&[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            &format!("refs/rollback/{old}/"),
        ]);
        for line in refs.lines() {
            let (name, oid) = line.split_once(' ').expect("ref and oid");
            let to = name.replacen(old.as_str(), new, 1);
            repo.git(&["update-ref", &to, oid]);
            repo.git(&["update-ref", "-d", name]);
        }
    }
    fs::write(&journal, text).expect("write the journal");

    let out = bad_id(&repo, &["undo", "abcd"]);
    assert!(out.stderr.contains("abcd"), "names the prefix\n{out}");

    // The whole id still names one: undo the first checkpoint only. On a
    // copy, git deletes its tag.
    let tag = first["tag"].as_str().expect("tag").to_string();
    let copy = repo.copy();
    copy.git(&["tag", "-d", &tag]);
    let want = copy.capture();
    let u = run_json(&repo, &["undo", &renamed[0]]);
    assert_eq!(u["undoes"], renamed[0].as_str(), "{u}");
    assert_same_except_reports(&want, &repo.capture());
}

// ----- log, dry run ----------------------------------------------------------------

#[test]
fn log_lists_undo_and_redo() {
    let w = walk();
    let r = &w.repo;
    let undo_id = run_json(r, &["undo"])["operation_id"]
        .as_str()
        .expect("undo's operation_id")
        .to_string();
    let redo_id = run_json(r, &["redo"])["operation_id"]
        .as_str()
        .expect("redo's operation_id")
        .to_string();

    let log = run_json(r, &["log"]);
    let ops = log["operations"].as_array().expect("operations");
    let kinds: Vec<&str> = ops
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ops[0]["id"], redo_id.as_str(), "newest first: {kinds:?}");
    assert_eq!(ops[0]["kind"], "redo", "{kinds:?}");
    assert_eq!(ops[1]["id"], undo_id.as_str(), "{kinds:?}");
    assert_eq!(ops[1]["kind"], "undo", "{kinds:?}");
    assert_eq!(ops[1]["undoes"], w.ids[2].as_str(), "{}", ops[1]);
    assert_eq!(ops.len(), 5, "three operations, an undo, a redo: {kinds:?}");

    let text = r.tool_ok(&["log"]).stdout;
    for id in [&undo_id, &redo_id] {
        assert!(text.contains(&id[..4]), "log shows {id}\n{text}");
    }
    assert!(text.contains("undo"), "{text}");
    assert!(text.contains("redo"), "{text}");
}

#[test]
fn dry_run_of_undo_and_redo_changes_nothing() {
    let w = walk();
    let r = &w.repo;

    let before = everything(r);
    let out = r.tool(&["--dry-run", "undo"]);
    out.assert_ok();
    assert!(!out.stdout.trim().is_empty(), "prints the plan\n{out}");
    assert_nothing_changed(r, &before);

    run_json(r, &["undo"]);
    assert_same_except_reports(&w.s[2], &r.capture());

    let before = everything(r);
    let out = r.tool(&["--dry-run", "redo"]);
    out.assert_ok();
    assert!(!out.stdout.trim().is_empty(), "prints the plan\n{out}");
    assert_nothing_changed(r, &before);

    // The dry runs took nothing out of the chain: redo still redoes.
    run_json(r, &["redo"]);
    assert_same_except_reports(&w.s[3], &r.capture());
}
