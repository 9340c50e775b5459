//! Tests of `rescue` and `rescue restore` (README: Rescue): work lost by
//! plain git — a `reset --hard` over staged files, a dropped or cleared
//! stash, a deleted branch, an amend, a rewrite, a `checkout HEAD --` of a
//! staged file — is listed while git still holds it, and brought back
//! byte for byte.
//!
//! Every loss is made with the real git command line. Every listing runs
//! between two captures of everything (the whole git directory included)
//! and must change nothing; every restore is undone and redone against
//! whole-repository captures.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::pty::Pty;
use crate::common::{
    assert_nothing_changed, assert_same_state, everything, set_object_times, without_reports,
    TestRepo, DEFAULT_NOW,
};

/// The folder and branch a restore makes at the harness clock
/// (`DEFAULT_NOW`).
const RESCUED: &str = "rollbacks/rescued-20261121_100405";
const BRANCH: &str = "rescue/20261121_100405";

const PARSER_V1: &str = "\"\"\"The parser of the settings format.\"\"\"\n\nimport re\n\nSEPARATOR = \",\"\n\n\ndef parse(text):\n    \"\"\"Split a line into its fields.\"\"\"\n    fields = text.split(SEPARATOR)\n    return [f.strip() for f in fields]\n\n\ndef join(fields):\n    return SEPARATOR.join(fields)\n";
const PARSER_V2: &str = "\"\"\"The parser of the settings format.\"\"\"\n\nimport re\n\nSEPARATOR = \";\"\n\n\ndef parse(text):\n    \"\"\"Split a line into its fields, dropping empty ones.\"\"\"\n    fields = text.split(SEPARATOR)\n    return [f.strip() for f in fields if f.strip()]\n\n\ndef join(fields):\n    return SEPARATOR.join(fields)\n";
const PARSER_V3: &str = "\"\"\"The parser of the settings format.\"\"\"\n\nimport re\n\nSEPARATOR = \",\"\n\n\ndef parse(text):\n    \"\"\"Split a line into its fields.\"\"\"\n    fields = re.split(r\"\\s*,\\s*\", text)\n    return [f.strip() for f in fields]\n\n\ndef join(fields):\n    return SEPARATOR.join(fields)\n";
const GUIDE_V1: &str = "# Introduction\n\nThe settings file holds one record a line.\nFields are separated by commas.\nBlank lines are skipped.\n\n## Next\n\nSee the reference.\n";
const GUIDE_V2: &str = "# Introduction\n\nThe settings file holds one record a line.\nFields are separated by semicolons.\nBlank lines are skipped.\nEmpty fields are dropped.\n\n## Next\n\nSee the reference.\n";
const TOKENS_NEW: &str =
    "TOKENS = [\"name\", \"value\", \"comment\"]\n\n\ndef tokens():\n    return list(TOKENS)\n";
const IDEAS_NEW: &str = "- accept tabs as separators\n- warn about duplicate names\n";

const PARSER: &str = "src/app/parser/parse.py";
const GUIDE: &str = "docs/guide/intro.md";

/// A small project with nested folders, committed.
fn project() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# Settings parser\n");
    repo.write(PARSER, PARSER_V1);
    repo.write(GUIDE, GUIDE_V1);
    repo.commit_all("initial commit");
    repo
}

/// `git hash-object` of `bytes`.
fn blob_id(repo: &TestRepo, bytes: &str) -> String {
    repo.git_with_stdin(&["hash-object", "--stdin"], bytes.as_bytes())
}

/// `rescue --json`, which must change nothing at all (the whole git
/// directory is compared).
#[track_caller]
fn listing(repo: &TestRepo, extra: &[&str]) -> Value {
    let before = everything(repo);
    let mut args = vec!["--json", "rescue"];
    args.extend_from_slice(extra);
    let out = repo.tool(&args);
    out.assert_ok();
    assert_nothing_changed(repo, &before);
    out.json()
}

fn items(listing: &Value) -> Vec<Value> {
    listing["items"].as_array().cloned().unwrap_or_default()
}

/// The listed items as `kind id`, for messages.
fn shown(listing: &Value) -> String {
    items(listing)
        .iter()
        .map(|i| format!("{} {} {}", i["kind"], i["id"], i["path"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `rescue restore IDS… EXTRA…` with `--json`, asserting success.
#[track_caller]
fn restore(repo: &TestRepo, ids: &[&str], extra: &[&str]) -> Value {
    let mut args = vec!["--json", "rescue", "restore"];
    args.extend_from_slice(ids);
    args.extend_from_slice(extra);
    let out = repo.tool(&args);
    out.assert_ok();
    out.json()
}

/// The file each restored blob was written to, by blob id.
fn written(restored: &Value) -> BTreeMap<String, String> {
    restored["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

// ----- reset --hard over staged files ------------------------------------------

#[test]
fn reset_hard_over_staged_new_and_modified_files_is_listed_and_restored_byte_for_byte() {
    let repo = project();
    repo.write(PARSER, PARSER_V2);
    repo.write(GUIDE, GUIDE_V2);
    repo.write("src/app/parser/tokens.py", TOKENS_NEW);
    repo.write("notes/ideas/later.md", IDEAS_NEW);
    repo.git(&["add", "-A"]);
    repo.git(&["reset", "-q", "--hard"]);
    assert!(
        !repo.exists("src/app/parser/tokens.py"),
        "git removed the new file"
    );
    assert_eq!(repo.read_string(PARSER), PARSER_V1);

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(found.len(), 4, "{}", shown(&list));
    let by_id: BTreeMap<String, &Value> = found
        .iter()
        .map(|i| (i["id"].as_str().unwrap_or_default().to_string(), i))
        .collect();
    for (content, path) in [
        (PARSER_V2, Some(PARSER)),
        (GUIDE_V2, Some(GUIDE)),
        (TOKENS_NEW, None),
        (IDEAS_NEW, None),
    ] {
        let id = blob_id(&repo, content);
        let item = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("{id} ({path:?}) is not listed\n{}", shown(&list)));
        assert_eq!(item["kind"], "file");
        assert_eq!(item["size"], content.len());
        assert_eq!(item["time_source"], "loose_object_mtime");
        match path {
            Some(path) => {
                assert_eq!(item["path"], path, "{item}");
                assert_eq!(item["certainty"], "likely", "{item}");
                assert_eq!(item["matched"], "index", "{item}");
            }
            None => {
                assert_eq!(item["path"], Value::Null, "{item}");
                assert_eq!(item["certainty"], "unknown", "{item}");
            }
        }
    }

    let before = repo.capture();
    let ids: Vec<&str> = by_id.keys().map(String::as_str).collect();
    let restored = restore(&repo, &ids, &[]);
    let files = written(&restored);
    assert_eq!(files.len(), 4, "{restored}");
    for content in [PARSER_V2, GUIDE_V2, TOKENS_NEW, IDEAS_NEW] {
        let id = blob_id(&repo, content);
        let path = &files[&id];
        assert!(path.starts_with(RESCUED), "{path}");
        assert_eq!(repo.read_string(path), content, "{path}");
    }
    assert_eq!(
        files[&blob_id(&repo, PARSER_V2)],
        format!("{RESCUED}/{PARSER}")
    );
    assert_eq!(
        files[&blob_id(&repo, GUIDE_V2)],
        format!("{RESCUED}/{GUIDE}")
    );
    // Nothing else of the work tree, the index or the refs changed.
    assert_same_state(&without_reports(&before), &without_reports(&repo.capture()));
    // The rescued copies stay out of `git status`.
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
}

#[test]
fn checkout_head_of_a_staged_file_loses_its_staged_content_which_comes_back() {
    let repo = project();
    repo.write(PARSER, PARSER_V2);
    repo.git(&["add", PARSER]);
    repo.git(&["checkout", "HEAD", "--", PARSER]);
    assert_eq!(repo.read_string(PARSER), PARSER_V1);

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(found.len(), 1, "{}", shown(&list));
    let id = blob_id(&repo, PARSER_V2);
    assert_eq!(found[0]["id"], id.as_str());
    assert_eq!(found[0]["path"], PARSER);
    assert_eq!(found[0]["certainty"], "likely");

    let restored = restore(&repo, &[&id[..7]], &[]);
    let path = format!("{RESCUED}/{PARSER}");
    assert_eq!(written(&restored)[&id], path);
    assert_eq!(repo.read_string(&path), PARSER_V2);
    assert_eq!(
        repo.read_string(PARSER),
        PARSER_V1,
        "the work tree's own file stays"
    );
}

// ----- stash entries -----------------------------------------------------------------

/// Staged, unstaged and untracked work, stashed with `-u`; returns the
/// state before the stash and the stash commit.
fn stash_work(repo: &TestRepo, message: &str) -> (crate::common::RepoState, String) {
    repo.write(PARSER, PARSER_V2);
    repo.git(&["add", PARSER]);
    repo.write(GUIDE, GUIDE_V2);
    repo.write("notes.txt", "remember the tabs\n");
    let before = repo.capture();
    repo.git(&["stash", "push", "-q", "-u", "-m", message]);
    (before, repo.rev("stash@{0}"))
}

#[test]
fn a_dropped_stash_entry_is_one_item_and_comes_back_as_a_branch_and_a_stash_entry() {
    let repo = project();
    let (before, w) = stash_work(&repo, "wip parser");
    repo.git(&["stash", "drop", "-q"]);

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(
        found.len(),
        1,
        "one item, not three commits\n{}",
        shown(&list)
    );
    let item = &found[0];
    assert_eq!(item["kind"], "stash");
    assert_eq!(item["id"], w.as_str());
    assert_eq!(item["summary"], "On main: wip parser");
    assert_eq!(item["branch"], "main");
    assert_eq!(
        item["files"],
        serde_json::json!([GUIDE, "notes.txt", PARSER]),
        "{item}"
    );

    let restored = restore(&repo, &[&w[..8]], &["--as-stash"]);
    assert_eq!(restored["stash_entries"], serde_json::json!([w]));
    assert_eq!(restored["branches"][0]["branch"], BRANCH);
    assert_eq!(repo.rev(BRANCH), w);
    assert_eq!(
        repo.git(&["stash", "list", "--format=%H %gs"]),
        format!("{w} On main: wip parser")
    );
    // The entry is git's own again: popping it gives back the work exactly.
    repo.git(&["stash", "pop", "-q", "--index"]);
    repo.git(&["branch", "-q", "-D", BRANCH]);
    // git's own leftover of the merge a pop makes.
    let _ = std::fs::remove_file(repo.git_dir().join("AUTO_MERGE"));
    let mut now = repo.capture();
    now.journal.clone_from(&before.journal);
    assert_same_state(&before, &now);
}

#[test]
fn stash_clear_of_three_entries_lists_three_and_puts_all_three_back_in_order() {
    let repo = project();
    repo.write(PARSER, PARSER_V2);
    repo.git(&["stash", "push", "-q", "-m", "first"]);
    repo.write(GUIDE, GUIDE_V2);
    repo.git(&["stash", "push", "-q", "-m", "second"]);
    repo.write("src/app/parser/tokens.py", TOKENS_NEW);
    repo.git(&["stash", "push", "-q", "-u", "-m", "third"]);
    let stashes = repo.git(&["stash", "list", "--format=%H %gs"]);
    let ids: Vec<String> = stashes
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    repo.git(&["stash", "clear"]);

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(found.len(), 3, "{}", shown(&list));
    assert!(
        found.iter().all(|i| i["kind"] == "stash"),
        "{}",
        shown(&list)
    );
    let listed: Vec<&str> = found
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        listed,
        ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "newest first"
    );

    let wanted: Vec<&str> = ids.iter().map(|i| &i[..10]).collect();
    restore(&repo, &wanted, &["--as-stash"]);
    assert_eq!(repo.git(&["stash", "list", "--format=%H %gs"]), stashes);
    for (n, id) in ids.iter().enumerate() {
        let branch = if n == 0 {
            BRANCH.to_string()
        } else {
            format!("{BRANCH}-{}", n + 1)
        };
        assert_eq!(&repo.rev(&branch), id);
    }
}

// ----- commits -------------------------------------------------------------------------

#[test]
fn a_deleted_branch_with_unpushed_commits_comes_back_whole() {
    let repo = project();
    repo.git(&["switch", "-q", "-c", "feature"]);
    let mut made = Vec::new();
    for (n, content) in [PARSER_V2, GUIDE_V2, TOKENS_NEW].iter().enumerate() {
        let path = [PARSER, GUIDE, "src/app/parser/tokens.py"][n];
        repo.write(path, content);
        made.push(repo.commit_all(&format!("feature step {}", n + 1)));
    }
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "feature"]);
    let tip = made[2].clone();

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(found.len(), 1, "one line of work\n{}", shown(&list));
    let item = &found[0];
    assert_eq!(item["kind"], "commit");
    assert_eq!(item["id"], tip.as_str());
    assert_eq!(item["commits"], 3);
    assert_eq!(item["branch"], "feature");
    assert_eq!(item["summary"], "feature step 3");
    assert_eq!(item["reflogs"], serde_json::json!(["HEAD"]));
    assert_eq!(
        item["files"],
        serde_json::json!([GUIDE, PARSER, "src/app/parser/tokens.py"])
    );

    // An older commit of that line can be named too.
    let copy = repo.copy();
    restore(&copy, &[&made[0][..8]], &[]);
    assert_eq!(copy.rev(BRANCH), made[0]);

    restore(&repo, &[&tip[..6]], &[]);
    let back = repo.git(&["log", "--format=%H", &format!("main..{BRANCH}")]);
    let mut want = made.clone();
    want.reverse();
    assert_eq!(back.lines().collect::<Vec<_>>(), want);
}

#[test]
fn the_commit_an_amend_replaced_comes_back_with_its_content() {
    let repo = project();
    repo.write(PARSER, PARSER_V2);
    let first = repo.commit_all("use semicolons");
    repo.write(GUIDE, GUIDE_V2);
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "--amend",
        "-m",
        "use semicolons, documented",
    ]);

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(found.len(), 1, "{}", shown(&list));
    assert_eq!(found[0]["id"], first.as_str());
    assert_eq!(found[0]["commits"], 1);
    assert_eq!(found[0]["files"], serde_json::json!([PARSER]));

    restore(&repo, &[&first[..8]], &[]);
    assert_eq!(
        repo.git(&["show", &format!("{BRANCH}:{GUIDE}")]),
        GUIDE_V1.trim_end()
    );
    assert_eq!(
        repo.git(&["show", &format!("{BRANCH}:{PARSER}")]),
        PARSER_V2.trim_end()
    );
}

#[test]
fn a_rewrite_that_dropped_a_commit_leaves_the_old_line_which_comes_back() {
    let repo = project();
    repo.write("a.txt", "step a\n");
    repo.commit_all("a");
    repo.write(PARSER, PARSER_V2);
    let b = repo.commit_all("b: the one dropped");
    repo.write("c.txt", "step c\n");
    let c = repo.commit_all("c");
    // What `rebase -i` does when a commit is dropped: back to the base,
    // then the kept commits picked again.
    repo.git(&["reset", "-q", "--hard", "HEAD~3"]);
    repo.git(&["cherry-pick", "HEAD@{1}~2", "HEAD@{1}"]);
    assert_eq!(repo.read_string(PARSER), PARSER_V1);

    let list = listing(&repo, &[]);
    let found = items(&list);
    assert_eq!(found.len(), 1, "{}", shown(&list));
    assert_eq!(found[0]["id"], c.as_str());
    assert_eq!(found[0]["commits"], 3);

    restore(&repo, &[&c[..8]], &[]);
    assert_eq!(repo.rev(&format!("{BRANCH}~1")), b);
    assert_eq!(
        repo.git(&["show", &format!("{BRANCH}:{PARSER}")]),
        PARSER_V2.trim_end()
    );
}

// ----- what is not lost ---------------------------------------------------------------

#[test]
fn what_only_differs_from_something_reachable_by_nothing_is_left_out() {
    let repo = project();
    // An amend of the message alone: the old commit's tree is HEAD's.
    repo.git(&["commit", "-q", "--amend", "-m", "initial commit, reworded"]);
    // Stashed and popped: the work is back in the work tree.
    repo.write(GUIDE, GUIDE_V2);
    repo.git(&["stash", "-q"]);
    repo.git(&["stash", "pop", "-q"]);
    // Staged, then unstaged: the content is still in the work tree.
    repo.write(PARSER, PARSER_V2);
    repo.git(&["add", PARSER]);
    repo.git(&["reset", "-q"]);

    let list = listing(&repo, &[]);
    assert_eq!(items(&list), Vec::<Value>::new(), "{}", shown(&list));
    assert_eq!(list["left_out"]["same_as_reachable"], 1, "{list}");
    assert_eq!(list["left_out"]["in_work_tree"], 2, "{list}");
    assert!(
        list["nothing_found"]
            .as_str()
            .is_some_and(|w| w.contains("hold nothing")),
        "{list}"
    );
    let human = repo.tool(&["rescue"]);
    human.assert_ok();
    assert!(human.stdout.starts_with("Nothing to rescue: "), "{human}");
}

#[test]
fn after_gc_prunes_what_was_lost_nothing_is_found_and_it_says_why() {
    let repo = project();
    repo.write(PARSER, PARSER_V3);
    repo.git(&["add", "-A"]);
    repo.git(&["reset", "-q", "--hard"]);
    stash_work(&repo, "wip");
    repo.git(&["stash", "drop", "-q"]);
    repo.git(&["switch", "-q", "-c", "feature"]);
    repo.write("f.txt", "feature\n");
    let tip = repo.commit_all("feature");
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "feature"]);
    assert_eq!(items(&listing(&repo, &[])).len(), 3);

    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    let list = listing(&repo, &[]);
    assert_eq!(items(&list), Vec::<Value>::new(), "{}", shown(&list));
    assert_eq!(list["unreachable"], 0);
    let why = list["nothing_found"].as_str().unwrap_or_default();
    assert!(why.contains("pruned") && why.contains("git gc"), "{why}");
    let human = repo.tool(&["rescue"]);
    human.assert_ok();
    assert_eq!(human.stdout.lines().count(), 1, "{human}");
    assert!(
        human
            .stdout
            .starts_with("Nothing to rescue: every one of the"),
        "{human}"
    );

    let before = everything(&repo);
    let gone = repo.tool(&["rescue", "restore", &tip]);
    gone.assert_one_line_error();
    assert!(gone.stderr.contains("no lost item has this id"), "{gone}");
    assert_nothing_changed(&repo, &before);
}

// ----- many objects, --since ----------------------------------------------------------

fn now_secs() -> i64 {
    chrono::DateTime::parse_from_rfc3339(DEFAULT_NOW)
        .expect("DEFAULT_NOW")
        .timestamp()
}

#[test]
fn ten_thousand_unrelated_objects_stay_usable_and_since_lists_only_the_recent() {
    let repo = project();
    {
        let git = git2::Repository::open(repo.path()).expect("open");
        for n in 0..10_000 {
            git.blob(format!("unrelated object {n}\nnothing like any file\n").as_bytes())
                .expect("write a blob");
        }
    }
    set_object_times(&repo, &format!("@{}", now_secs() - 30 * 86_400));
    repo.write(PARSER, PARSER_V2);
    repo.git(&["add", PARSER]);
    repo.git(&["reset", "-q", "--hard"]);
    let recent = blob_id(&repo, PARSER_V2);
    let recent_file = repo
        .git_dir()
        .join("objects")
        .join(&recent[..2])
        .join(&recent[2..]);
    let out = Command::new("touch")
        .args(["-m", "-d", &format!("@{}", now_secs() - 3600)])
        .arg(&recent_file)
        .output()
        .expect("touch");
    assert!(out.status.success());

    let list = listing(&repo, &["--since", "1 day ago"]);
    let found = items(&list);
    assert_eq!(found.len(), 1, "{}", shown(&list));
    assert_eq!(found[0]["id"], recent.as_str());
    assert_eq!(found[0]["path"], PARSER);
    assert_eq!(list["left_out"]["older"], 10_000);
    let human = repo.tool(&["rescue", "--since", "2.days.ago"]);
    human.assert_ok();
    assert!(
        human.stdout.contains("10000 older item(s) left out"),
        "{}",
        human.stdout
    );

    let all = listing(&repo, &[]);
    let everything_listed = items(&all);
    assert_eq!(everything_listed.len(), 10_001);
    assert_eq!(everything_listed[0]["id"], recent.as_str(), "newest first");

    // 10,000 ids share many 4-digit prefixes: such a prefix is ambiguous.
    let mut seen = std::collections::HashMap::new();
    let prefix = everything_listed
        .iter()
        .filter_map(|i| i["id"].as_str())
        .find_map(|id| {
            seen.insert(id[..4].to_string(), ())
                .map(|_| id[..4].to_string())
        })
        .expect("two ids sharing 4 digits");
    let before = everything(&repo);
    let ambiguous = repo.tool(&["rescue", "restore", &prefix]);
    ambiguous.assert_one_line_error();
    assert_eq!(ambiguous.code, 2, "{ambiguous}");
    assert!(ambiguous.stderr.contains("ambiguous"), "{ambiguous}");
    assert_nothing_changed(&repo, &before);
}

// ----- undo and redo --------------------------------------------------------------------

/// A repository with one lost item of each kind: a staged file reset
/// away, a dropped stash entry, a deleted branch. Returns their ids.
fn one_of_each() -> (TestRepo, Vec<String>) {
    let repo = project();
    repo.write(PARSER, PARSER_V3);
    repo.git(&["add", PARSER]);
    repo.git(&["reset", "-q", "--hard"]);
    let (_, w) = stash_work(&repo, "wip");
    repo.git(&["stash", "drop", "-q"]);
    repo.git(&["switch", "-q", "-c", "feature"]);
    repo.write("f.txt", "feature\n");
    let tip = repo.commit_all("feature");
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "feature"]);
    let ids = vec![blob_id(&repo, PARSER_V3), w, tip];
    (repo, ids)
}

#[test]
fn undo_takes_away_exactly_what_a_restore_added_and_redo_puts_it_back() {
    let (repo, ids) = one_of_each();
    let before = repo.capture();
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let restored = restore(&repo, &wanted, &["--as-stash"]);
    assert_eq!(
        restored["branches"].as_array().map(Vec::len),
        Some(2),
        "{restored}"
    );
    let after = repo.capture();
    assert_eq!(repo.read_string(format!("{RESCUED}/{PARSER}")), PARSER_V3);
    assert!(repo.exists(format!("{RESCUED}/.gitignore")));
    // What a restore brought back (the file, and the folder's own
    // `.gitignore`) is not listed as lost any more.
    let list = listing(&repo, &[]);
    assert_eq!(items(&list), Vec::<Value>::new(), "{}", shown(&list));
    assert_eq!(list["left_out"]["restored"], 2, "{list}");

    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    assert!(!repo.exists("rollbacks"), "the folder it made is gone too");

    repo.tool_ok(&["redo"]);
    assert_same_state(&after, &repo.capture());
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn a_restore_into_a_folder_of_the_work_tree_is_undone_exactly() {
    let (repo, ids) = one_of_each();
    repo.mkdir("rescued");
    let before = repo.capture();
    let restored = restore(&repo, &[&ids[0]], &["--to", "rescued"]);
    assert_eq!(restored["dir"], "rescued");
    assert_eq!(repo.read_string(format!("rescued/{PARSER}")), PARSER_V3);
    assert!(
        !repo.exists("rescued/.gitignore"),
        "only the default folder gets one"
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    assert!(
        repo.exists("rescued"),
        "the empty folder that was there stays"
    );
}

#[test]
fn a_dry_run_of_restore_changes_nothing() {
    let (repo, ids) = one_of_each();
    let before = everything(&repo);
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut args = vec!["rescue", "restore"];
    args.extend_from_slice(&wanted);
    args.extend_from_slice(&["--as-stash", "--dry-run"]);
    let out = repo.tool(&args);
    out.assert_ok();
    assert!(out.stdout.starts_with("Would:"), "{out}");
    assert!(
        out.stdout.contains(&format!("create branch {BRANCH}")),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!("write {RESCUED}/{PARSER}")),
        "{out}"
    );
    assert!(out.stdout.contains("back on the stash list"), "{out}");
    assert_nothing_changed(&repo, &before);
}

// ----- bad input ----------------------------------------------------------------------

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let (repo, ids) = one_of_each();
    repo.write("taken/src/app/parser/parse.py", "mine\n");
    repo.git(&["add", "taken"]);
    repo.git(&["commit", "-q", "-m", "a folder of mine"]);
    let before = everything(&repo);
    let outside = repo.root().join("elsewhere");
    let outside = outside.to_str().unwrap_or_default().to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["rescue", "restore", "deadbeef"],
            1,
            "no lost item has this id",
        ),
        (vec!["rescue", "restore", "xyz!"], 2, "not an item id"),
        (vec!["rescue", "restore", "ab"], 2, "not an item id"),
        (vec!["rescue", "--since", "soon"], 2, "--since"),
        (vec!["rescue", "restore"], 2, "no terminal"),
        (
            vec!["rescue", "restore", &ids[0], "--as-stash"],
            2,
            "--as-stash",
        ),
        (
            vec!["rescue", "restore", &ids[0], "--to", "taken"],
            1,
            "is in the way",
        ),
        (
            vec!["rescue", "restore", &ids[0], "--to", &outside],
            1,
            "outside the repository",
        ),
        (
            vec!["rescue", "restore", &ids[0], "--to", ".git/x"],
            1,
            "git's own directory",
        ),
    ];
    for (args, code, says) in cases {
        let out = repo.tool(&args);
        out.assert_one_line_error();
        assert_eq!(out.code, code, "{args:?}\n{out}");
        assert!(
            out.stderr.contains(says),
            "{args:?} should say {says:?}\n{out}"
        );
        assert_nothing_changed(&repo, &before);
    }
    let json = repo.tool(&["--json", "rescue", "--since", "soon"]);
    assert_eq!(json.code, 2);
    assert_eq!(json.json()["ok"], false);
}

// ----- output ---------------------------------------------------------------------------

#[test]
fn json_output_has_the_documented_shape() {
    let (repo, ids) = one_of_each();
    let list = listing(&repo, &[]);
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&list),
        [
            "ok",
            "command",
            "items",
            "since",
            "objects",
            "unreachable",
            "journal_only",
            "left_out",
            "nothing_found"
        ]
    );
    assert_eq!(list["command"], "rescue");
    assert_eq!(
        keys(&list["left_out"]),
        ["same_as_reachable", "in_work_tree", "restored", "older"]
    );
    let found = items(&list);
    assert_eq!(found.len(), 3, "{}", shown(&list));
    for item in &found {
        assert_eq!(
            keys(item),
            [
                "id",
                "kind",
                "time",
                "time_source",
                "summary",
                "branch",
                "commits",
                "files",
                "reflogs",
                "size",
                "path",
                "certainty",
                "similarity",
                "matched"
            ]
        );
        let time = item["time"].as_str().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    }
    let kinds: Vec<&str> = found.iter().filter_map(|i| i["kind"].as_str()).collect();
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["commit", "file", "stash"]);

    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let restored = restore(&repo, &wanted, &[]);
    assert_eq!(
        keys(&restored),
        [
            "ok",
            "command",
            "branches",
            "stash_entries",
            "dir",
            "files",
            "operation_id"
        ]
    );
    assert_eq!(restored["command"], "rescue");
    assert_eq!(keys(&restored["branches"][0]), ["id", "branch"]);
    assert_eq!(keys(&restored["files"][0]), ["id", "path", "certainty"]);
    assert_eq!(restored["dir"], RESCUED);
}

#[test]
fn the_human_listing_says_what_each_item_holds() {
    let (repo, ids) = one_of_each();
    let out = repo.tool(&["rescue"]);
    out.assert_ok();
    let text = &out.stdout;
    assert!(
        text.starts_with("Lost work git still holds, newest first:"),
        "{text}"
    );
    for id in &ids {
        assert!(text.contains(&id[..7]), "{id}\n{text}");
    }
    assert!(text.contains(&format!("{PARSER}\n")), "{text}");
    assert!(text.contains("path likely ("), "{text}");
    assert!(text.contains("stash entry on main, 3 file(s)"), "{text}");
    assert!(
        text.contains("1 commit(s) on feature, 1 file(s): f.txt; in the reflog of HEAD"),
        "{text}"
    );
    assert!(
        text.contains("Restore with: git rollback-sprint rescue restore"),
        "{text}"
    );
}

// ----- the picker on a terminal --------------------------------------------------------

#[test]
fn the_picker_on_a_terminal_previews_and_restores_the_chosen_item() {
    let repo = project();
    repo.write(PARSER, PARSER_V2);
    repo.git(&["add", PARSER]);
    repo.git(&["reset", "-q", "--hard"]);
    let wait = Duration::from_secs(20);
    let mut pty = Pty::spawn(&repo, &["rescue", "restore"]);
    pty.expect("Lost work to restore", wait);
    pty.expect(PARSER, wait);
    pty.send(" ");
    pty.expect(PARSER, wait);
    pty.send("\r");
    // The preview: where it goes, how sure, its first lines.
    pty.expect(&format!("→ {RESCUED}/{PARSER}"), wait);
    pty.expect("| SEPARATOR = \";\"", wait);
    pty.expect("Restore these 1 item(s)?", wait);
    pty.send("y");
    let code = pty.wait(Duration::from_secs(60));
    assert_eq!(code, 0, "{}", pty.transcript());
    assert_eq!(repo.read_string(format!("{RESCUED}/{PARSER}")), PARSER_V2);
}

#[test]
fn answering_no_in_the_picker_changes_nothing() {
    let repo = project();
    repo.write(PARSER, PARSER_V2);
    repo.git(&["add", PARSER]);
    repo.git(&["reset", "-q", "--hard"]);
    let before = everything(&repo);
    let wait = Duration::from_secs(20);
    let mut pty = Pty::spawn(&repo, &["rescue", "restore"]);
    pty.expect(PARSER, wait);
    pty.send(" ");
    pty.expect(PARSER, wait);
    pty.send("\r");
    pty.expect("Restore these 1 item(s)?", wait);
    pty.send("n");
    let code = pty.wait(Duration::from_secs(60));
    assert_eq!(code, 0, "{}", pty.transcript());
    assert_nothing_changed(&repo, &before);
}
