//! Tests of `checkpoint`, `checkpoint list` and `checkpoint prune` (README:
//! `checkpoint`), and of undoing them (README: `log`, `undo`, `redo`,
//! `status`).

use crate::common::{
    assert_nothing_changed, assert_same_state, dirty_everything, everything, odd_names, TestRepo,
};

/// The tree `git add -A` would stage, computed in a copy: what a WIP
/// checkpoint must hold.
fn staged_by_add_all(repo: &TestRepo) -> String {
    let copy = repo.copy();
    copy.git(&["add", "-A"]);
    copy.git(&["write-tree"])
}

/// Create a checkpoint with the tool's clock at `now`; returns its JSON.
#[track_caller]
fn checkpoint_at(repo: &TestRepo, now: &str, args: &[&str]) -> serde_json::Value {
    repo.set_now(now);
    let mut all = vec!["--json", "checkpoint"];
    all.extend_from_slice(args);
    repo.tool_ok(&all).json()
}

fn tags(repo: &TestRepo) -> Vec<String> {
    repo.git(&["tag", "-l"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn listed(repo: &TestRepo) -> Vec<String> {
    repo.tool_ok(&["--json", "checkpoint", "list"]).json()["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

// ----- create -------------------------------------------------------------------

#[test]
fn checkpoint_tags_head_and_touches_nothing_else() {
    let repo = TestRepo::with_commits();
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["checkpoint", "-m", "before sprint 3"]);
    out.assert_ok();
    assert!(out.stdout.contains("checkpoint-20261121_100405"), "{out}");
    assert!(
        out.stdout.contains("undo"),
        "prints the undo command\n{out}"
    );

    let refname = "refs/tags/checkpoint-20261121_100405";
    assert_eq!(repo.git(&["cat-file", "-t", refname]), "tag");
    assert_eq!(repo.rev(&format!("{refname}^{{commit}}")), repo.head());
    assert_eq!(
        repo.git(&[
            "tag",
            "-l",
            "--format=%(contents)",
            "checkpoint-20261121_100405"
        ]),
        "before sprint 3"
    );
    let mut after = repo.capture();
    assert!(after.refs.remove(refname).is_some());
    assert_same_state(&before, &after);
}

#[test]
fn checkpoints_in_the_same_second_never_overwrite() {
    let repo = TestRepo::with_commits();
    // Someone already has a tag by the first name.
    repo.git(&["tag", "checkpoint-20261121_100405", "HEAD~1"]);
    let theirs = repo.rev("refs/tags/checkpoint-20261121_100405");
    let names: Vec<String> = (0..3)
        .map(|_| {
            repo.tool_ok(&["--json", "checkpoint"]).json()["tag"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "checkpoint-20261121_100405-2",
            "checkpoint-20261121_100405-3",
            "checkpoint-20261121_100405-4"
        ]
    );
    assert_eq!(repo.rev("refs/tags/checkpoint-20261121_100405"), theirs);
    for n in &names {
        assert_eq!(repo.rev(&format!("{n}^{{commit}}")), repo.head());
    }
}

#[test]
fn checkpoint_name_uses_the_configured_prefix_and_local_time() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["checkpoint"]);
    repo.git(&["config", "rollback.checkpointPrefix", "pre-sprint/"]);
    // 09:00 UTC is 11:00 at +02:00: names use the local time.
    let v = checkpoint_at(&repo, "2026-11-21T11:00:00+02:00", &[]);
    assert_eq!(v["tag"], "pre-sprint/20261121_110000");
    assert_eq!(repo.rev("pre-sprint/20261121_110000^{commit}"), repo.head());
    assert_eq!(listed(&repo), ["pre-sprint/20261121_110000"]);
}

#[test]
fn checkpoint_needs_a_commit() {
    let repo = TestRepo::new();
    repo.write("a.txt", "a\n");
    let before = repo.capture();
    let out = repo.tool(&["checkpoint"]);
    out.assert_code(1);
    assert!(out.stderr.starts_with("error: "), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn checkpoint_is_refused_in_the_middle_of_a_merge_or_rebase() {
    let repo = TestRepo::with_commits();
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("README.md", "side\n");
    repo.commit_all("side change");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "main\n");
    repo.commit_all("main change");
    let merge = repo.git_output(&["merge", "-q", "side"]);
    assert!(!merge.status.success(), "expected a conflict");
    assert!(repo.git_dir().join("MERGE_HEAD").exists());

    let check = |what: &str| {
        let before = repo.capture();
        for args in [
            &["checkpoint"][..],
            &["checkpoint", "--wip"],
            &["baseline", "set"],
        ] {
            let out = repo.tool(args);
            out.assert_code(1);
            assert!(!out.stderr.contains("panicked"), "{out}");
            assert_eq!(out.stderr.lines().count(), 1, "{out}");
            assert!(out.stderr.contains(what), "{args:?}\n{out}");
        }
        assert_same_state(&before, &repo.capture());
        assert!(!repo.git_dir().join("rollback/journal.jsonl").exists());
        assert_eq!(repo.git(&["for-each-ref", "refs/rollback"]), "");
    };
    check("merge");

    repo.git(&["merge", "--abort"]);
    repo.git(&["checkout", "-q", "side"]);
    let rebase = repo.git_output(&["rebase", "main"]);
    assert!(!rebase.status.success(), "expected a conflict");
    check("rebase");
}

#[test]
fn wip_checkpoint_holds_the_whole_working_tree_and_touches_nothing() {
    let repo = TestRepo::with_commits();
    dirty_everything(&repo);
    odd_names(&repo);
    let head = repo.head();

    let expected_tree = staged_by_add_all(&repo);

    let before = repo.capture();
    let v = repo.tool_ok(&["--json", "checkpoint", "--wip"]).json();
    assert_eq!(v["wip"], true);
    let name = v["tag"].as_str().unwrap();
    assert_eq!(name, "checkpoint-20261121_100405");
    let commit = repo.rev(&format!("{name}^{{commit}}"));
    assert_eq!(v["commit"], commit.as_str());
    assert_ne!(commit, head);
    assert_eq!(
        repo.git(&["rev-parse", &format!("{commit}^@")]),
        head,
        "one parent: HEAD"
    );
    assert_eq!(repo.rev(&format!("{commit}^{{tree}}")), expected_tree);

    // Spot checks, so a failure says what is missing.
    let files = repo.git(&["ls-tree", "-r", "--name-only", &commit]);
    for present in [
        "src/new.rs",
        "ita.txt",
        "assets/blob.bin",
        "newdir/u.txt",
        "notes/private.txt",
    ] {
        assert!(
            files.lines().any(|l| l == present),
            "{present} missing:\n{files}"
        );
    }
    for absent in [
        ".env",
        "target/debug/app",
        "newdir/sub/x.log",
        "tests/unit/test_lib.py",
    ] {
        assert!(
            !files.lines().any(|l| l == absent),
            "{absent} present:\n{files}"
        );
    }
    assert_eq!(
        repo.git(&["show", &format!("{commit}:src/lib.rs")]),
        repo.read_string("src/lib.rs").trim_end(),
        "unstaged content, not the staged one"
    );

    // Nothing changed but the new tag: index, files, HEAD, stash.
    let mut after = repo.capture();
    assert!(after.refs.remove(&format!("refs/tags/{name}")).is_some());
    assert_same_state(&before, &after);

    let with_tag = repo.capture();

    // Undo removes the tag and still touches nothing else.
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());

    // The snapshot survives `git gc`, so a redo brings the very same tag
    // back.
    repo.git(&["gc", "-q", "--prune=now"]);
    repo.tool_ok(&["redo"]);
    assert_same_state(&with_tag, &repo.capture());
    assert_eq!(repo.rev(&format!("{commit}^{{tree}}")), expected_tree);
}

/// A snapshot's new objects are packed a megabyte at a time
/// (`git/batch.rs`): 60 new and changed files of 100 KB that do not
/// compress, several chunks' worth, all reach the pack with their exact
/// bytes, the repository checks clean, and undo leaves it as it was.
#[test]
fn wip_checkpoint_of_more_than_one_pack_chunk_keeps_every_byte() {
    use crate::common::incompressible;
    let repo = TestRepo::with_commits();
    let files: Vec<(String, Vec<u8>)> = (0..60u64)
        .map(|n| {
            (
                format!("big/f{n:02}.bin"),
                incompressible(500 + n, 100 << 10),
            )
        })
        .collect();
    for (path, bytes) in &files[..30] {
        repo.write(path, bytes);
    }
    repo.commit_all("big files");
    // Half changed since the commit, half new and untracked.
    for (n, (path, _)) in files.iter().enumerate() {
        let bytes = incompressible(900 + n as u64, 100 << 10);
        repo.write(path, &bytes);
    }
    let expected_tree = staged_by_add_all(&repo);

    let before = repo.capture();
    let v = repo.tool_ok(&["--json", "checkpoint", "--wip"]).json();
    let name = v["tag"].as_str().unwrap();
    assert_eq!(repo.rev(&format!("{name}^{{tree}}")), expected_tree);
    for (path, _) in &files {
        assert!(
            repo.git_bytes(&["show", &format!("{name}:{path}")]) == repo.read(path),
            "{path}: other bytes in the checkpoint"
        );
    }
    repo.git(&["fsck", "--strict", "--no-dangling"]);
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn dry_runs_change_nothing_at_all() {
    let repo = TestRepo::with_commits();
    dirty_everything(&repo);
    for args in [
        &["-n", "checkpoint"][..],
        &["--dry-run", "checkpoint", "--wip", "-m", "x"],
        &["-n", "--json", "checkpoint", "--wip"],
    ] {
        let before = everything(&repo);
        let out = repo.tool(args);
        out.assert_ok();
        assert!(
            out.stdout.contains("checkpoint-20261121_100405"),
            "plan names the tag\n{out}"
        );
        assert_nothing_changed(&repo, &before);
    }
    checkpoint_at(&repo, "2026-11-01T00:00:00+00:00", &[]);
    checkpoint_at(&repo, "2026-11-02T00:00:00+00:00", &[]);
    repo.set_now("2026-11-21T10:04:05+00:00");
    let before = everything(&repo);
    let v = repo
        .tool_ok(&["-n", "--json", "checkpoint", "prune", "--keep", "1"])
        .json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(
        v["deleted"],
        serde_json::json!(["checkpoint-20261101_000000"])
    );
    assert_nothing_changed(&repo, &before);
}

// ----- list ---------------------------------------------------------------------

#[test]
fn list_is_newest_first_with_name_date_commit_message() {
    let repo = TestRepo::with_commits();
    let out = repo.tool_ok(&["checkpoint", "list"]);
    assert!(out.stdout.contains("No checkpoints"), "{out}");
    assert_eq!(
        repo.tool_ok(&["--json", "checkpoint", "list"]).json()["checkpoints"],
        serde_json::json!([])
    );

    let first = repo.rev("HEAD~1");
    repo.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    checkpoint_at(&repo, "2026-11-20T12:00:00+00:00", &["-m", "middle"]);
    repo.git(&["checkout", "-q", "main"]);
    checkpoint_at(&repo, "2026-11-19T08:00:00+00:00", &["-m", "oldest"]);
    checkpoint_at(
        &repo,
        "2026-11-21T09:30:00+00:00",
        &["-m", "newest\n\nbody"],
    );
    repo.git(&["tag", "-a", "-m", "release", "v1.0"]);

    let v = repo.tool_ok(&["--json", "checkpoint", "list"]).json();
    assert_eq!(
        v["checkpoints"],
        serde_json::json!([
            {"name": "checkpoint-20261121_093000", "date": "2026-11-21T09:30:00+00:00",
             "commit": repo.head(), "message": "newest\n\nbody"},
            {"name": "checkpoint-20261120_120000", "date": "2026-11-20T12:00:00+00:00",
             "commit": first, "message": "middle"},
            {"name": "checkpoint-20261119_080000", "date": "2026-11-19T08:00:00+00:00",
             "commit": repo.head(), "message": "oldest"},
        ])
    );
    let out = repo.tool_ok(&["checkpoint", "list"]);
    let order: Vec<usize> = ["20261121_093000", "20261120_120000", "20261119_080000"]
        .iter()
        .map(|n| out.stdout.find(n).unwrap())
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{out}");
    assert!(!out.stdout.contains("v1.0"), "{out}");
}

#[test]
fn ten_checkpoints_in_one_second_stay_in_order() {
    let repo = TestRepo::with_commits();
    for _ in 0..11 {
        repo.tool_ok(&["-q", "checkpoint"]);
    }
    let names = listed(&repo);
    assert_eq!(names.len(), 11);
    assert_eq!(
        names[..3],
        [
            "checkpoint-20261121_100405-11",
            "checkpoint-20261121_100405-10",
            "checkpoint-20261121_100405-9"
        ],
        "newest first: {names:?}"
    );
    assert_eq!(names[10], "checkpoint-20261121_100405");
    repo.tool_ok(&["checkpoint", "prune", "--keep", "1"]);
    assert_eq!(
        tags(&repo),
        ["checkpoint-20261121_100405-11"],
        "keeps the newest"
    );
}

// ----- prune --------------------------------------------------------------------

/// Checkpoints made 1, 2, 5 and 10 days before 2026-11-21T10:04:05Z, plus
/// tags that are not checkpoints.
fn aged_checkpoints(repo: &TestRepo) {
    for now in [
        "2026-11-11T10:04:05+00:00",
        "2026-11-16T10:04:05+00:00",
        "2026-11-19T10:04:05+00:00",
        "2026-11-20T10:04:05+00:00",
    ] {
        checkpoint_at(repo, now, &[]);
    }
    repo.git(&["tag", "v1.0"]);
    repo.set_now("2026-11-01T00:00:00+00:00");
    repo.tool_ok(&["baseline", "set"]);
    repo.set_now("2026-11-21T10:04:05+00:00");
}

const D1: &str = "checkpoint-20261120_100405";
const D2: &str = "checkpoint-20261119_100405";
const D5: &str = "checkpoint-20261116_100405";
const D10: &str = "checkpoint-20261111_100405";

#[test]
fn prune_keep_deletes_all_but_the_newest_n() {
    let repo = TestRepo::with_commits();
    aged_checkpoints(&repo);
    let v = repo
        .tool_ok(&["--json", "checkpoint", "prune", "--keep", "2"])
        .json();
    assert_eq!(v["deleted"], serde_json::json!([D5, D10]));
    assert!(v["operation_id"].as_str().is_some());
    assert_eq!(tags(&repo), ["baseline", D2, D1, "v1.0"]);
    // Keeping more than there are deletes nothing.
    let v = repo
        .tool_ok(&["--json", "checkpoint", "prune", "--keep", "5"])
        .json();
    assert_eq!(v["deleted"], serde_json::json!([]));
    assert_eq!(tags(&repo).len(), 4);
}

#[test]
fn prune_older_than_and_both_limits() {
    let repo = TestRepo::with_commits();
    aged_checkpoints(&repo);
    let other = repo.copy();

    let v = repo
        .tool_ok(&["--json", "checkpoint", "prune", "--older-than", "3"])
        .json();
    assert_eq!(v["deleted"], serde_json::json!([D5, D10]));
    assert_eq!(tags(&repo), ["baseline", D2, D1, "v1.0"]);

    // Both: beyond the newest 1 AND older than 7 days: only D10.
    let v = other
        .tool_ok(&[
            "--json",
            "checkpoint",
            "prune",
            "--keep",
            "1",
            "--older-than",
            "7",
        ])
        .json();
    assert_eq!(v["deleted"], serde_json::json!([D10]));
    assert_eq!(tags(&other), ["baseline", D5, D2, D1, "v1.0"]);
    // The newest 3 are all that is left: nothing is beyond them.
    let v = other
        .tool_ok(&[
            "--json",
            "checkpoint",
            "prune",
            "--keep",
            "3",
            "--older-than",
            "1",
        ])
        .json();
    assert_eq!(v["deleted"], serde_json::json!([]));
    let v = other
        .tool_ok(&[
            "--json",
            "checkpoint",
            "prune",
            "--keep",
            "1",
            "--older-than",
            "1",
        ])
        .json();
    assert_eq!(v["deleted"], serde_json::json!([D2, D5]));
    assert_eq!(tags(&other), ["baseline", D1, "v1.0"]);
}

#[test]
fn prune_without_a_limit_is_a_usage_error() {
    let repo = TestRepo::with_commits();
    aged_checkpoints(&repo);
    let before = everything(&repo);
    let out = repo.tool(&["checkpoint", "prune"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--keep"), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn prune_with_a_huge_older_than_deletes_nothing_and_never_panics() {
    let repo = TestRepo::with_commits();
    aged_checkpoints(&repo);
    let before = everything(&repo);
    for days in [
        "18446744073709551615",
        "9223372036854775807",
        "200000000000000",
    ] {
        for dry in [true, false] {
            let mut args = vec!["--json", "checkpoint", "prune", "--older-than", days];
            if dry {
                args.insert(0, "-n");
            }
            let out = repo.tool(&args);
            assert!(
                !out.stderr.contains("panicked"),
                "--older-than {days}\n{out}"
            );
            // Either nothing is that old, or the number is refused.
            if out.code == 0 {
                assert_eq!(
                    out.json()["deleted"],
                    serde_json::json!([]),
                    "{days}\n{out}"
                );
            } else {
                out.assert_code(2);
            }
            assert_same_state(&before.0, &repo.capture());
        }
    }
}

#[test]
fn undo_of_prune_restores_the_same_tag_objects() {
    let repo = TestRepo::with_commits();
    aged_checkpoints(&repo);
    let objects: Vec<String> = [D1, D2, D5, D10]
        .iter()
        .map(|t| repo.rev(&format!("refs/tags/{t}")))
        .collect();
    dirty_everything(&repo);
    let before = repo.capture();
    repo.tool_ok(&["checkpoint", "prune", "--keep", "1"]);
    assert_eq!(tags(&repo), ["baseline", D1, "v1.0"]);
    let pruned = repo.capture();

    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    let restored: Vec<String> = [D1, D2, D5, D10]
        .iter()
        .map(|t| repo.rev(&format!("refs/tags/{t}")))
        .collect();
    assert_eq!(restored, objects, "the same annotated tag objects");
    assert_eq!(
        repo.git(&["tag", "-l", "--format=%(taggerdate:raw)", D10]),
        "1794391445 +0000",
        "with their original dates"
    );
    // Redo prunes again.
    repo.tool_ok(&["redo"]);
    assert_same_state(&pruned, &repo.capture());
}

// ----- undo of checkpoints --------------------------------------------------------

#[test]
fn undo_an_older_checkpoint_by_id_prefix_while_a_later_one_exists() {
    let repo = TestRepo::with_commits();
    let first = checkpoint_at(&repo, "2026-11-21T10:00:00+00:00", &["-m", "one"]);
    repo.write("work.txt", "more work\n");
    repo.commit_all("more work");
    repo.write("extra.txt", "x\n");
    let second = checkpoint_at(&repo, "2026-11-21T11:00:00+00:00", &["-m", "two"]);
    let first_id = first["operation_id"].as_str().unwrap();
    let second_tag = repo.rev("refs/tags/checkpoint-20261121_110000");

    // A unique prefix of the id.
    let prefix = &first_id[..first_id.len() - 2];
    repo.set_now("2026-11-21T12:00:00+00:00");
    let v = repo.tool_ok(&["--json", "undo", prefix]).json();
    assert_eq!(v["undoes"], first_id);
    assert_eq!(tags(&repo), ["checkpoint-20261121_110000"]);
    assert_eq!(repo.rev("refs/tags/checkpoint-20261121_110000"), second_tag);
    assert_eq!(repo.read_string("extra.txt"), "x\n", "work tree untouched");

    // A prefix that names several operations is refused.
    let out = repo.tool(&["undo", "2026"]);
    out.assert_code(1);
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_eq!(tags(&repo), ["checkpoint-20261121_110000"]);

    // The later one can still be undone on its own.
    repo.tool_ok(&["undo", second["operation_id"].as_str().unwrap()]);
    assert!(tags(&repo).is_empty());
}
