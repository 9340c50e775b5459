//! Hostile input: paths that try to leave the work tree or reach into
//! `.git`, values that look like shell or markdown, names git would refuse,
//! a repository owned by someone else, configuration smuggled in through
//! tracked files, and journals that are corrupt or name things that are gone.
//!
//! Every refusal is checked the same way: a non-zero exit, one line on
//! stderr that starts with `error:`, and the whole repository unchanged.
//! Every value that could run a command names a marker file; no test may
//! leave one anywhere in the sandbox.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::common::{
    assert_same_state, capture_repo_with_orphans, keep_entries, TestRepo, ToolOutput,
};

// ----- helpers ---------------------------------------------------------------------

/// A refusal: exit `code`, one `error:` line, no panic.
#[track_caller]
fn assert_refused(out: &ToolOutput, code: i32, what: &str) {
    out.assert_code(code);
    assert!(!out.stderr.contains("panicked"), "{what}\n{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: one error line expected\n{out}");
    assert!(lines[0].starts_with("error: "), "{what}\n{out}");
}

/// The marker file a hostile value would create if it ran as a command.
fn marker(repo: &TestRepo) -> PathBuf {
    repo.root().join("pwned")
}

/// Values that run `touch <marker>` if anything hands them to a shell, and
/// break a report if anything pastes them into markdown unescaped.
fn hostile_values(repo: &TestRepo) -> Vec<String> {
    let m = marker(repo).display().to_string();
    vec![
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x; touch {m}"),
        format!("x && touch {m} #"),
        format!("x\ntouch {m}\n"),
        format!("x\nerror: forged second line | a | b |\n# Heading\n[link](http://e) ]( {m}"),
        "--help".to_string(),
        "-rf".to_string(),
    ]
}

/// No marker file (`pwned`, `pwned-<what>`) anywhere under the sandbox root.
#[track_caller]
fn assert_nothing_ran(repo: &TestRepo) {
    for entry in walkdir::WalkDir::new(repo.root()).into_iter().flatten() {
        let name = entry.file_name().to_string_lossy();
        assert!(
            name != "pwned" && !name.starts_with("pwned-"),
            "a hostile value ran a command: {}",
            entry.path().display()
        );
    }
}

fn journal_path(repo: &TestRepo) -> PathBuf {
    repo.git_dir().join("rollback/journal.jsonl")
}

fn read_or_empty(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_default()
}

/// A repository with a baseline two commits back and some dirty state.
fn repo_with_baseline() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "-m", "known good", "baseline"]);
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    );
    repo.write("app/a.txt", "a\n");
    repo.commit_all("sprint work");
    repo.write("notes.txt", "untracked notes\n");
    repo.write("README.md", "# Demo project\n\nedited\n");
    repo
}

// ----- paths -----------------------------------------------------------------------

#[test]
fn files_refuses_every_way_into_git_or_out_of_the_work_tree() {
    let repo = repo_with_baseline();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("f.txt"), "outside\n").unwrap();
    repo.symlink("escape", outside.path());
    repo.symlink("gitlink", ".git");
    repo.symlink("inner", "app");
    repo.mkdir("sub");
    repo.write("sub/keep.txt", "keep\n");
    repo.commit_all("symlinks out, into .git and inside");
    let before = repo.capture();
    let journal = read_or_empty(&journal_path(&repo));
    let git_dir = repo.git_dir();
    let config = fs::read(git_dir.join("config")).unwrap();
    let abs_git = git_dir.join("config").display().to_string();
    let abs_root = repo.path().join(".git").display().to_string();
    let outside_file = outside.path().join("f.txt").display().to_string();
    for bad in [
        ".git",
        ".git/",
        ".GIT",
        ".Git/config",
        "git~1",
        "GIT~1/HEAD",
        ".git/config",
        "sub/.git",
        "sub/.git/hooks/pre-commit",
        "./.git/../.git",
        "app/../.git/config",
        "../repo/.git/HEAD",
        abs_git.as_str(),
        abs_root.as_str(),
        "/",
        "/etc/passwd",
        outside_file.as_str(),
        "..",
        "../..",
        "../outside.txt",
        "sub/../../x",
        "escape/f.txt",
        "escape/",
        "gitlink/config",
        "gitlink/HEAD",
        "inner/a.txt",
    ] {
        let out = repo.tool(&["files", "--no-tests", "--", bad]);
        assert_refused(&out, 1, bad);
        assert_same_state(&before, &repo.capture());
        assert_eq!(read_or_empty(&journal_path(&repo)), journal, "{bad}");
    }
    // From a subdirectory, `..` is resolved against it: still refused.
    let out = repo.tool_in(&repo.abs("sub"), &["files", "--no-tests", "../.git/config"]);
    assert_refused(&out, 1, "../.git/config from sub/");
    // A good path next to a bad one: nothing at all is restored.
    let out = repo.tool(&["files", "--no-tests", "README.md", ".git/config"]);
    assert_refused(&out, 1, "README.md .git/config");
    assert_same_state(&before, &repo.capture());
    assert_eq!(fs::read(git_dir.join("config")).unwrap(), config);
    assert_eq!(
        fs::read_to_string(outside.path().join("f.txt")).unwrap(),
        "outside\n"
    );
}

#[test]
fn stage_groups_from_git_config_cannot_reach_git_or_leave_the_work_tree() {
    let repo = repo_with_baseline();
    repo.symlink("gitlink", ".git");
    repo.commit_all("a symlink into .git");
    let before = repo.capture();
    for bad in [
        ".git",
        ".git/config",
        "./.git/../.git",
        "sub/.git",
        "GIT~1",
        "/etc/passwd",
        "../x",
        "gitlink/config",
    ] {
        repo.git_output(&["config", "--unset-all", "rollback.stage.trap.path"]);
        repo.git(&["config", "--add", "rollback.stage.trap.path", "README.md"]);
        repo.git(&["config", "--add", "rollback.stage.trap.path", bad]);
        let mut before = before.clone();
        before.git_files = repo.capture().git_files;
        let out = repo.tool(&["files", "--no-tests", "--stage", "trap"]);
        assert_refused(&out, 1, bad);
        assert_same_state(&before, &repo.capture());
    }
}

// ----- values that look like shell or markdown ------------------------------------

#[test]
fn hostile_values_in_refused_arguments_run_nothing_and_stay_on_one_line() {
    let repo = repo_with_baseline();
    let before = repo.capture();
    for v in hostile_values(&repo) {
        let runs: Vec<Vec<String>> = vec![
            vec!["baseline".into(), "set".into(), "--".into(), v.clone()],
            vec!["baseline".into(), "push".into(), "--".into(), v.clone()],
            vec!["baseline".into(), "pull".into(), "--".into(), v.clone()],
            vec!["emergency".into(), "--yes".into(), format!("--to={v}")],
            vec![
                "files".into(),
                "--no-tests".into(),
                format!("--from={v}"),
                "README.md".into(),
            ],
            vec!["files".into(), "--no-tests".into(), "--".into(), v.clone()],
            vec!["files".into(), format!("--stage={v}")],
            vec!["recover".into(), "--all".into(), "--".into(), v.clone()],
            vec![
                "recover".into(),
                "main".into(),
                "--all".into(),
                format!("--onto={v}"),
            ],
            vec![
                "recover".into(),
                "main".into(),
                "--no-tests".into(),
                format!("--pick={v}"),
            ],
            vec!["undo".into(), "--".into(), v.clone()],
            vec!["triage".into(), format!("--severity={v}")],
            vec![
                "metrics".into(),
                "record".into(),
                format!("--severity={v}"),
                "--cause=c".into(),
                "--minutes=1".into(),
            ],
            vec![
                "sprint".into(),
                "rollback".into(),
                "--no-tests".into(),
                format!("--reason={v}"),
            ],
        ];
        for args in runs {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = repo.tool(&args);
            assert!(out.code > 0, "{args:?} should be refused\n{out}");
            assert_refused(&out, out.code, &format!("{args:?}"));
            assert_same_state(&before, &repo.capture());
        }
    }
    assert_nothing_ran(&repo);
}

#[test]
fn remotes_that_smuggle_options_or_transports_reach_git_as_plain_names() {
    let repo = repo_with_baseline();
    let m = marker(&repo).display().to_string();
    let before = repo.capture();
    for remote in [
        format!("--receive-pack=touch {m}"),
        format!("--upload-pack=touch {m}"),
        format!("ext::sh -c touch% {m}"),
        format!("-oProxyCommand=touch {m}:x"),
    ] {
        for verb in ["push", "pull"] {
            let out = repo.tool(&["baseline", verb, "--", &remote]);
            assert!(out.code > 0, "{verb} {remote}\n{out}");
            assert!(!out.stderr.contains("panicked"), "{out}");
            assert_same_state(&before, &repo.capture());
        }
    }
    assert_nothing_ran(&repo);
}

#[test]
fn hostile_messages_and_reasons_are_stored_literally_and_reports_stay_intact() {
    let repo = repo_with_baseline();
    let values = hostile_values(&repo);
    for (i, v) in values.iter().enumerate() {
        repo.set_now(&format!("2026-11-21T10:{:02}:05+00:00", i + 10));
        let out = repo.tool_ok(&["--json", "checkpoint", &format!("--message={v}")]);
        let tag = out.json()["tag"].as_str().unwrap().to_string();
        let body = repo.git(&["cat-file", "tag", &tag]);
        assert!(body.contains(v.trim_end()), "{tag}: {body}");
        repo.tool_ok(&[
            "metrics",
            "record",
            "--severity=low",
            &format!("--cause={v}"),
            "--minutes=1",
        ]);
    }
    let metrics: serde_json::Value =
        serde_json::from_slice(&repo.read("rollbacks/metrics.json")).unwrap();
    let causes: Vec<&str> = metrics["rollbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cause"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes,
        values.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // The table shows each cause on its own line.
    let table = repo.tool_ok(&["metrics"]).stdout;
    assert_no_line_starts_with_injected(&table);

    // An emergency whose reason is markdown and shell: the notice keeps
    // every field on its line.
    let reason = values[5].clone();
    repo.tool_ok(&["baseline", "set", "--force", &format!("--message={reason}")]);
    let body = repo.git(&["cat-file", "tag", "baseline"]);
    assert!(body.contains(reason.trim_end()), "{body}");
    repo.tool_ok(&["emergency", "--yes", &format!("--reason={reason}")]);
    let notice = repo.tool_ok(&["notify"]).stdout;
    assert_no_line_starts_with_injected(&notice);
    let what = notice
        .lines()
        .find(|l| l.contains("What happened"))
        .unwrap_or_else(|| panic!("{notice}"));
    assert!(what.contains("forged second line"), "{notice}");
    assert_nothing_ran(&repo);
}

/// Lines a value with newlines would have forged.
#[track_caller]
fn assert_no_line_starts_with_injected(text: &str) {
    for line in text.lines() {
        let l = line.trim_start();
        for forged in ["touch ", "error: forged", "# Heading", "[link]"] {
            assert!(
                !l.starts_with(forged),
                "a value broke out of its line:\n{text}"
            );
        }
    }
}

#[test]
fn branch_and_tag_names_with_shell_characters_are_used_literally() {
    let repo = repo_with_baseline();
    let m = marker(&repo).display().to_string();
    // Valid git refnames: no space, `~ ^ : ? * [ \`, `..` or `@{`.
    let branch = format!("refactor/sprint-3-$(touch${{IFS}}{m})-`id`");
    repo.git(&["check-ref-format", "--branch", &branch]);
    repo.git(&["checkout", "-q", "-b", &branch]);
    repo.write("wip.txt", "work in progress\n");
    repo.commit_all("sprint 3 work");
    repo.write("dirty.txt", "dirty\n");
    let v = repo
        .tool_ok(&["--json", "sprint", "rollback", "--no-tests", "--reason=r"])
        .json();
    assert_eq!(v["sprint"], 3, "{v}");
    let report = repo.read_string("rollbacks/sprint-3/report.md");
    assert!(
        report
            .lines()
            .any(|l| l.contains("touch${IFS}") && l.contains("`id`")),
        "the branch name is not on one line of report.md:\n{report}"
    );
    // The sprint branch itself is untouched and still resolvable by name.
    repo.rev(&format!("refs/heads/{branch}"));

    // recover takes the branch by its literal name.
    repo.tool_ok(&["recover", "--all", "--no-tests", &branch]);
    assert!(repo
        .git(&["symbolic-ref", "HEAD"])
        .starts_with("refs/heads/recovery/"));

    // A checkpoint prefix from git config with shell characters.
    repo.git(&[
        "config",
        "rollback.checkpointPrefix",
        &format!("cp-$(touch${{IFS}}{m})-"),
    ]);
    let v = repo.tool_ok(&["--json", "checkpoint"]).json();
    let tag = v["tag"].as_str().unwrap().to_string();
    assert!(tag.starts_with("cp-$(touch${IFS}"), "{tag}");
    repo.rev(&format!("refs/tags/{tag}"));
    assert_nothing_ran(&repo);
}

#[test]
fn names_git_refuses_are_refused_clearly_and_nothing_changes() {
    let repo = repo_with_baseline();
    let before = repo.capture();
    for prefix in [
        "bad prefix-",
        "cp..",
        "-x",
        "cp~",
        "cp^",
        "cp:",
        "cp?",
        "cp[",
        "cp\\",
        "@{x",
    ] {
        repo.git(&["config", "rollback.checkpointPrefix", prefix]);
        let out = repo.tool(&["checkpoint"]);
        assert_refused(&out, out.code.max(1), prefix);
        let mut before = before.clone();
        before.git_files = repo.capture().git_files;
        assert_same_state(&before, &repo.capture());
    }
    repo.git(&["config", "--unset", "rollback.checkpointPrefix"]);
    for name in ["a..b", "-evil", "with space", "x.lock", "/abs"] {
        repo.git(&["config", "rollback.baseline", name]);
        let out = repo.tool(&["baseline", "set", "--force"]);
        assert_refused(&out, out.code.max(1), name);
        let mut before = before.clone();
        before.git_files = repo.capture().git_files;
        assert_same_state(&before, &repo.capture());
    }
}

// ----- someone else's repository ---------------------------------------------------

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    for entry in walkdir::WalkDir::new(path).into_iter().flatten() {
        std::os::unix::fs::lchown(entry.path(), Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", entry.path().display()));
    }
}

#[test]
fn a_repository_owned_by_another_user_is_refused_like_git_refuses_it() {
    if !rustix::process::geteuid().is_root() {
        crate::common::skip("changing a repository's owner needs root", false);
        return;
    }
    let repo = repo_with_baseline();
    let before = repo.capture();
    let meta = fs::metadata(repo.path()).unwrap();
    chown_tree(repo.path(), 65534, 65534);
    let mut outs = Vec::new();
    for args in [
        &["status"][..],
        &["checkpoint"],
        &["emergency", "--yes"],
        &["files", "--no-tests", "README.md"],
        &["undo"],
    ] {
        let out = repo.tool(args);
        outs.push((args, out));
    }
    let journal_exists = repo.path().join(".git/rollback").exists();
    // git itself refuses it the same way.
    let git = repo.git_output(&["status"]);
    chown_tree(repo.path(), meta.uid(), meta.gid());
    for (args, out) in &outs {
        assert_refused(out, 1, &format!("{args:?}"));
        assert!(out.stderr.contains("safe.directory"), "{args:?}\n{out}");
        assert!(out.stderr.contains("owned"), "{args:?}\n{out}");
    }
    assert!(!git.status.success());
    assert!(!journal_exists, "the tool wrote its journal");
    assert_same_state(&before, &repo.capture());

    // `safe.directory` in the user's global config lets both in.
    chown_tree(repo.path(), 65534, 65534);
    repo.git_in(
        repo.root(),
        &[
            "config",
            "--global",
            "--add",
            "safe.directory",
            repo.path().to_str().unwrap(),
        ],
    );
    let out = repo.tool(&["--json", "checkpoint"]);
    chown_tree(repo.path(), meta.uid(), meta.gid());
    out.assert_ok();
}

// ----- configuration from tracked files --------------------------------------------

#[test]
fn tracked_config_and_hooks_never_make_the_tool_run_anything() {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "-m", "known good", "baseline"]);
    let m = marker(&repo).display().to_string();
    let config = format!(
        "[rollback]\n\ttestCommand = touch {m}-test\n\tfileTestCommand = touch {m}-filetest {{tests}}\n\
         \tstopCommand = touch {m}-stop\n\tstartCommand = touch {m}-start\n\
         \tsetupCommand = touch {m}-setup\n\thookTests = true\n\
         [core]\n\thooksPath = .githooks\n\tfsmonitor = touch {m}-fsmonitor\n\
         [filter \"evil\"]\n\tsmudge = touch {m}-smudge\n\tclean = touch {m}-clean\n\trequired = true\n\
         [include]\n\tpath = included.cfg\n"
    );
    for name in [
        ".gitconfig",
        ".git-rollback-sprint",
        ".rollback",
        "rollback.toml",
        ".config/git/config",
        "included.cfg",
    ] {
        repo.write(name, &config);
    }
    repo.write(".gitattributes", "* filter=evil\n");
    for hook in [
        "pre-commit",
        "post-checkout",
        "post-commit",
        "reference-transaction",
        "pre-push",
    ] {
        repo.write_exec(
            format!(".githooks/{hook}"),
            format!("#!/bin/sh\ntouch {m}-{hook}\n"),
        );
    }
    repo.write("tests/unit/test_lib.rs", "// mapped test\n");
    repo.commit_all("a hostile clone");
    repo.git(&["tag", "-f", "-a", "-m", "known good", "baseline"]);
    repo.write("src/lib.rs", "// broken\n");
    repo.commit_all("sprint 1");
    repo.write("src/lib.rs", "// dirty\n");

    repo.tool_ok(&["emergency", "--yes", "--reason=r"]);
    repo.tool_ok(&["undo"]);
    let out = repo.tool(&["files", "src/lib.rs"]);
    assert!(!out.stderr.contains("panicked"), "{out}");
    repo.tool(&["check", "--no-checkpoint"]);
    repo.tool(&["check", "--hook"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-1"]);
    repo.tool(&["sprint", "rollback", "--reason=r"]);
    assert!(repo.exists("rollbacks/sprint-1/report.md"));
    repo.tool(&["baseline", "verify"]);
    assert_nothing_ran(&repo);
}

// ----- corrupt journals ------------------------------------------------------------

/// A repository whose journal holds a few operations.
fn repo_with_journal() -> TestRepo {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint", "-m", "one"]);
    repo.tool_ok(&["emergency", "--yes", "--reason=r"]);
    repo.tool_ok(&["undo"]);
    repo
}

#[test]
fn every_shape_of_corrupt_journal_is_refused_and_left_byte_for_byte() {
    let template = repo_with_journal();
    let original = fs::read(journal_path(&template)).unwrap();
    let lines: Vec<&[u8]> = original.split_inclusive(|b| *b == b'\n').collect();
    assert!(lines.len() >= 4, "{}", String::from_utf8_lossy(&original));
    let splice = |at: usize, middle: &[u8]| -> Vec<u8> {
        let mut out: Vec<u8> = lines[..at].concat();
        out.extend_from_slice(middle);
        out.extend_from_slice(&lines[at..].concat());
        out
    };
    let half = &lines[1][..lines[1].len() / 2];
    let mut huge = b"{\"type\":\"begin\",\"v\":1,\"id\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 8 << 20));
    huge.extend_from_slice(b"\n");
    let mut deep = b"{\"type\":\"end\",\"v\":1,\"id\":\"x\",\"details\":{\"a\":".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend_from_slice(b"\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a truncated middle line",
            splice(1, &[half, b"\n"].concat()),
            "corrupt at line 2",
        ),
        (
            "invalid JSON in the middle",
            splice(2, b"{\"type\": begin,,}\n"),
            "corrupt at line 3",
        ),
        (
            "a JSON line of the wrong shape",
            splice(1, b"{\"type\":\"begin\",\"v\":1}\n"),
            "corrupt at line 2",
        ),
        ("a JSON array", splice(1, b"[1,2,3]\n"), "corrupt at line 2"),
        (
            "an unknown record type",
            splice(1, b"{\"type\":\"teleport\",\"v\":1,\"id\":\"x\"}\n"),
            "corrupt at line 2",
        ),
        (
            "non-UTF-8 bytes in a line",
            splice(1, b"{\"type\":\"end\",\"v\":1,\"id\":\"\xff\xfe\"}\n"),
            "corrupt at line 2",
        ),
        (
            "a NUL-filled line",
            splice(1, &[0u8; 512]),
            "corrupt at line 2",
        ),
        ("a huge line", splice(1, &huge), "corrupt at line 2"),
        ("deeply nested JSON", splice(1, &deep), "corrupt at line 2"),
        (
            "a newer version",
            splice(1, b"{\"type\":\"begin\",\"v\":2,\"id\":\"future\"}\n"),
            "newer git-rollback-sprint (format 2",
        ),
        (
            "a version beyond 32 bits",
            splice(
                1,
                b"{\"type\":\"begin\",\"v\":4294967297,\"id\":\"future\"}\n",
            ),
            "newer git-rollback-sprint (format 4294967297",
        ),
    ];
    for (what, bytes, needle) in cases {
        let repo = template.copy();
        let path = journal_path(&repo);
        fs::write(&path, &bytes).unwrap();
        let before = repo.capture();
        for args in [
            &["undo"][..],
            &["log"],
            &["checkpoint"],
            &["emergency", "--yes"],
        ] {
            let out = repo.tool(args);
            assert_refused(&out, 1, &format!("{what}: {args:?}"));
            assert!(out.stderr.contains(needle), "{what}: {args:?}\n{out}");
            assert!(
                out.stderr.contains("nothing was changed"),
                "{what}: the message says what to do\n{out}"
            );
            assert!(
                fs::read(&path).unwrap() == bytes,
                "{what}: the journal was changed"
            );
            assert_same_state(&before, &repo.capture());
        }
    }
}

#[test]
fn a_torn_last_line_cut_inside_a_character_is_only_a_torn_line() {
    let repo = repo_with_journal();
    let path = journal_path(&repo);
    let mut bytes = fs::read(&path).unwrap();
    // A crash while appending a record that holds a non-ASCII path, cut
    // between the two bytes of `é`.
    bytes.extend_from_slice(
        b"{\"type\":\"moved\",\"v\":1,\"id\":\"x\",\"from\":{\"worktree\":\"caf\xc3",
    );
    fs::write(&path, &bytes).unwrap();
    let log = repo.tool_ok(&["--json", "log"]).json();
    assert_eq!(log["operations"].as_array().unwrap().len(), 3, "{log}");
    repo.tool_ok(&["checkpoint"]);
    let repaired = fs::read(&path).unwrap();
    assert!(std::str::from_utf8(&repaired).is_ok());
    assert!(!repaired.windows(4).any(|w| w == b"caf\xc3"));
}

#[test]
fn undo_chains_that_loop_are_refused_not_followed() {
    let repo = repo_with_journal();
    let path = journal_path(&repo);
    let original = fs::read_to_string(&path).unwrap();
    let records: Vec<serde_json::Value> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first_id = records[0]["id"].as_str().unwrap().to_string();
    // An operation that claims to undo itself, and one whose id repeats an
    // earlier one's: either would send the undo chain round in a circle.
    let mut self_undo = records[0].clone();
    self_undo["undoes"] = first_id.clone().into();
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    lines[0] = self_undo.to_string();
    let looped = lines.join("\n") + "\n";
    let mut dup = original.clone();
    dup.push_str(&records[0].to_string());
    dup.push('\n');
    for (what, text) in [("self-undo", looped), ("duplicate id", dup)] {
        let copy = repo.copy();
        let path = journal_path(&copy);
        fs::write(&path, &text).unwrap();
        let before = copy.capture();
        for args in [&["undo"][..], &["log"], &["status"]] {
            let out = copy.tool(args);
            assert_refused(&out, 1, &format!("{what}: {args:?}"));
            assert!(out.stderr.contains("corrupt at line"), "{what}\n{out}");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        assert_same_state(&before, &copy.capture());
    }
}

#[test]
fn undo_names_the_refs_and_objects_a_journal_points_at_that_are_gone() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["emergency", "--yes", "--reason=r"]);
    let ops: Vec<String> = repo
        .git(&["for-each-ref", "--format=%(refname)", "refs/rollback/"])
        .lines()
        .map(str::to_string)
        .collect();
    assert!(!ops.is_empty());
    let path = journal_path(&repo);
    let original = fs::read_to_string(&path).unwrap();
    // The journal names an object that does not exist (hand edit, or a
    // journal copied from another clone).
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let begin: serde_json::Value = serde_json::from_str(original.lines().next().unwrap()).unwrap();
    let snapshot = begin["worktree"]["snapshot"].as_str().unwrap().to_string();
    let edited = original.replace(&snapshot, missing);
    assert_ne!(edited, original);
    fs::write(&path, &edited).unwrap();
    for r in &ops {
        repo.git(&["update-ref", "-d", r]);
    }
    let before = repo.capture();
    let out = repo.tool(&["undo"]);
    assert_refused(&out, 1, "undo");
    assert!(out.stderr.contains("missing"), "{out}");
    assert!(
        out.stderr.contains(&missing[..7]),
        "names what is missing\n{out}"
    );
    assert_same_state(&before, &repo.capture());
    assert_eq!(fs::read_to_string(&path).unwrap(), edited);
}

// ----- the readers on mutated bytes ------------------------------------------------

mod readers {
    //! The journal and metrics readers fed real files, cut, flipped and
    //! spliced: they answer with operations or a clear error, never a panic.
    //! `fuzz/` runs the same readers for as long as one likes; these cases
    //! run on every test run.

    use std::sync::OnceLock;

    use git_rollback_sprint::journal::{self, JournalError};
    use git_rollback_sprint::metrics;
    use proptest::prelude::*;

    use crate::common::TestRepo;

    /// A real journal and real metrics files, written by the tool.
    struct Samples {
        journals: Vec<Vec<u8>>,
        metrics: Vec<Vec<u8>>,
    }

    fn samples() -> &'static Samples {
        static SAMPLES: OnceLock<Samples> = OnceLock::new();
        SAMPLES.get_or_init(|| {
            let repo = TestRepo::with_commits();
            repo.tool_ok(&["baseline", "set"]);
            repo.write("src/lib.rs", "// sprint\n");
            repo.write("café/naïve.txt", "non-ASCII names\n");
            repo.write("build.log", "ignored\n");
            repo.tool_ok(&["checkpoint", "-m", "before | the # sprint — ü"]);
            repo.tool_ok(&["emergency", "--yes", "--clean-ignored", "--reason=r"]);
            repo.tool_ok(&["undo"]);
            repo.tool_ok(&["redo"]);
            repo.tool_ok(&["undo"]);
            repo.tool_ok(&["files", "--no-tests", "src/lib.rs"]);
            repo.tool_ok(&[
                "metrics",
                "record",
                "--sprint=2",
                "--severity=P1",
                "--cause=c",
                "--minutes=3",
            ]);
            let journal = std::fs::read(repo.git_dir().join("rollback/journal.jsonl")).unwrap();
            let ops = journal::parse_operations(&journal).expect("the tool's journal reads back");
            assert!(ops.len() >= 6, "{}", String::from_utf8_lossy(&journal));
            let team = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/team-metrics.json"
            ))
            .unwrap();
            Samples {
                journals: vec![journal],
                metrics: vec![repo.read("rollbacks/metrics.json"), team],
            }
        })
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Truncate(usize),
        Flip(usize, u8),
        Insert(usize, Vec<u8>),
        Remove(usize, usize),
        RepeatLine(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let interesting = prop::sample::select(vec![
            b"\n".to_vec(),
            b"\xff\xfe".to_vec(),
            b"\"".to_vec(),
            b"{".to_vec(),
            b"[[[[[[[[".to_vec(),
            b"\"v\":99,".to_vec(),
            b"\"undoes\":\"x\",".to_vec(),
            b"\0".to_vec(),
            b"}\n{".to_vec(),
        ]);
        prop_oneof![
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
            (
                any::<usize>(),
                prop_oneof![interesting, prop::collection::vec(any::<u8>(), 1..16)]
            )
                .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
            (any::<usize>(), 1usize..64).prop_map(|(at, n)| Mutation::Remove(at, n)),
            any::<usize>().prop_map(Mutation::RepeatLine),
        ]
    }

    fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
        for m in mutations {
            let len = bytes.len().max(1);
            match m {
                Mutation::Truncate(at) => bytes.truncate(at % len),
                Mutation::Flip(at, bits) => {
                    if let Some(b) = bytes.get_mut(at % len) {
                        *b ^= bits;
                    }
                }
                Mutation::Insert(at, more) => {
                    let at = (at % len).min(bytes.len());
                    bytes.splice(at..at, more.iter().copied());
                }
                Mutation::Remove(at, n) => {
                    let at = (at % len).min(bytes.len());
                    let end = (at + n).min(bytes.len());
                    bytes.drain(at..end);
                }
                Mutation::RepeatLine(at) => {
                    let lines: Vec<Vec<u8>> = bytes
                        .split_inclusive(|b| *b == b'\n')
                        .map(<[u8]>::to_vec)
                        .collect();
                    if !lines.is_empty() {
                        let line = lines[at % lines.len()].clone();
                        bytes.extend_from_slice(&line);
                    }
                }
            }
        }
        bytes
    }

    /// The journal reader's answer is operations or an error a user can act
    /// on: a corrupt line that exists, or a newer format.
    fn check_journal(bytes: &[u8]) -> Result<(), TestCaseError> {
        match journal::parse_operations(bytes) {
            Ok(ops) => {
                let history = journal::History::new(ops);
                for op in history.ops() {
                    let _ = history.undone_by(op);
                    let _ = history.original_of(op);
                }
                let _ = history.pending_interrupted(None);
                let _ = history.undo_target(None);
                let _ = history.redo_target();
                let _ = history.unique_prefixes();
            }
            Err(JournalError::Corrupt { line, detail }) => {
                let lines = bytes.split(|b| *b == b'\n').count();
                prop_assert!(line >= 1 && line <= lines, "line {line} of {lines}");
                prop_assert!(!detail.is_empty());
            }
            Err(JournalError::Newer { version }) => {
                prop_assert!(version > u64::from(journal::VERSION));
            }
        }
        Ok(())
    }

    /// The metrics reader accepts a document it can extend and write back,
    /// or says why not.
    fn check_metrics(bytes: &[u8]) -> Result<(), TestCaseError> {
        match metrics::parse(bytes) {
            Ok(mut doc) => {
                prop_assert!(doc.is_object());
                metrics::recompute_statistics(&mut doc);
                metrics::append(&mut doc, serde_json::Map::new());
                let text = serde_json::to_vec(&doc).unwrap();
                prop_assert!(metrics::parse(&text).is_ok());
            }
            Err(corrupt) => prop_assert!(!corrupt.reason.is_empty()),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn mutated_journals_are_read_or_refused(
            mutations in prop::collection::vec(mutation(), 1..5),
        ) {
            check_journal(&apply(samples().journals[0].clone(), &mutations))?;
        }

        #[test]
        fn a_journal_cut_anywhere_loses_at_most_its_torn_last_record(cut in any::<usize>()) {
            let journal = &samples().journals[0];
            let all = journal::parse_operations(journal).unwrap();
            let ops = journal::parse_operations(&journal[..cut % (journal.len() + 1)])
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert!(ops.len() <= all.len());
            for (op, original) in ops.iter().zip(&all) {
                prop_assert_eq!(op.id(), original.id());
            }
        }

        #[test]
        fn mutated_metrics_files_are_read_or_refused(
            which in any::<prop::sample::Index>(),
            mutations in prop::collection::vec(mutation(), 1..5),
        ) {
            let sample = which.get(&samples().metrics).clone();
            check_metrics(&apply(sample, &mutations))?;
        }

        #[test]
        fn random_bytes_never_panic_either_reader(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            check_journal(&bytes)?;
            check_metrics(&bytes)?;
        }
    }
}

#[test]
fn a_lock_naming_an_impossible_pid_is_stale_not_held_forever() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["checkpoint"]);
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let lock = repo.git_dir().join("rollback/lock");
    for pid in ["4294967295", "2147483648"] {
        fs::write(
            &lock,
            format!(r#"{{"pid":{pid},"host":"{host}","command":"x","since":"t"}}"#),
        )
        .unwrap();
        repo.set_now(&format!("2026-11-21T11:{}:05+00:00", &pid[..2]));
        repo.tool_ok(&["checkpoint"]);
        assert!(
            !lock.exists(),
            "the lock of a finished command stays behind"
        );
    }
}

#[test]
fn mapped_test_files_with_shell_characters_reach_the_test_command_as_operands() {
    let repo = TestRepo::with_commits();
    // One path component each: the test command runs in the work tree,
    // where `touch pwned` would leave the marker.
    let m = "pwned";
    let names = [
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x; touch {m}"),
        format!("it's \"quoted\" {m}"),
        format!("new\nline {m}"),
        "-rf".to_string(),
        "--version".to_string(),
    ];
    for name in &names {
        repo.write(format!("app/{name}"), "v1\n");
        repo.write(format!("tests/unit/test_{name}"), "a test\n");
    }
    repo.commit_all("names that look like shell");
    repo.git(&["tag", "-a", "-m", "known good", "baseline"]);
    for name in &names {
        repo.write(format!("app/{name}"), "v2\n");
    }
    repo.commit_all("sprint");
    let ran = repo.root().join("ran.txt");
    repo.git(&[
        "config",
        "rollback.fileTestCommand",
        &format!("printf '[%s]\\n' {{tests}} > {}", ran.display()),
    ]);
    repo.git(&[
        "config",
        "--add",
        "rollback.testPattern",
        "tests/unit/test_{name}",
    ]);
    repo.git(&["config", "--add", "rollback.testPattern", "{name}"]);
    for name in ["-rf", "--version"] {
        repo.write(name, "a file at the top whose name looks like an option\n");
    }
    repo.commit_all("top-level files");
    let paths: Vec<String> = names.iter().map(|n| format!("app/{n}")).collect();
    let mut args = vec!["--json", "files", "--"];
    args.extend(paths.iter().map(String::as_str));
    let v = repo.tool_ok(&args).json();
    assert_eq!(v["tests"]["succeeded"], true, "{v}");
    let printed = fs::read_to_string(&ran).unwrap();
    let mut expected: Vec<String> = names
        .iter()
        .map(|n| format!("[tests/unit/test_{n}]"))
        .collect();
    expected.push("[./-rf]".into());
    expected.push("[./--version]".into());
    let mut got: Vec<String> = printed
        .split_inclusive("]\n")
        .map(|s| s.trim_end_matches('\n').to_string())
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{printed}");
    assert_nothing_ran(&repo);
}

#[test]
fn a_reports_folder_outside_the_work_tree_or_in_git_is_refused() {
    let repo = repo_with_baseline();
    let before = repo.capture();
    let git_dir = repo.git_dir();
    let outside = repo.root().join("outside");
    for dir in [
        "../outside",
        "rollbacks/../../outside",
        outside.to_str().unwrap(),
        ".git",
        ".GIT/reports",
        "sub/.git",
        "git~1",
    ] {
        repo.git(&["config", "rollback.reportsDir", dir]);
        let mut before = before.clone();
        before.git_files = repo.capture().git_files;
        for args in [
            &[
                "metrics",
                "record",
                "--severity=low",
                "--cause=c",
                "--minutes=1",
            ][..],
            &["emergency", "--yes"],
        ] {
            let out = repo.tool(args);
            assert_refused(&out, 1, dir);
            assert!(out.stderr.contains("rollback.reportsDir"), "{out}");
            assert_same_state(&before, &repo.capture());
        }
        assert!(!outside.exists(), "{dir}: wrote outside the work tree");
        assert!(!git_dir.join("metrics.json").exists(), "{dir}");
        assert!(!git_dir.join("reports").exists(), "{dir}");
    }
    // A folder below the top is fine.
    repo.git(&["config", "rollback.reportsDir", "ops/reports/"]);
    repo.tool_ok(&[
        "metrics",
        "record",
        "--severity=low",
        "--cause=c",
        "--minutes=1",
    ]);
    assert!(repo.exists("ops/reports/metrics.json"));
}

#[test]
fn a_journal_that_points_outside_its_folders_is_refused_before_undo_moves_anything() {
    let repo = repo_with_baseline();
    repo.write("build.log", "ignored output\n");
    repo.tool_ok(&["emergency", "--yes", "--clean-ignored"]);
    let path = journal_path(&repo);
    let original = fs::read_to_string(&path).unwrap();
    let moved = original
        .lines()
        .find(|l| l.contains("\"type\":\"moved\""))
        .unwrap_or_else(|| panic!("no moved record:\n{original}"))
        .to_string();
    let secret = repo.root().join("secret.txt");
    fs::write(&secret, "not the repository's\n").unwrap();
    let record: serde_json::Value = serde_json::from_str(&moved).unwrap();
    let id = record["id"].as_str().unwrap().to_string();
    let aside = record["to"]["aside"].as_str().unwrap().to_string();
    // `<repo>/.git/rollback/../../../secret.txt` is the sandbox's secret.
    let cases = [
        (
            "an aside path that climbs out",
            moved.replace(&aside, "../../../secret.txt"),
        ),
        (
            "an absolute aside path",
            moved.replace(&aside, secret.to_str().unwrap()),
        ),
        (
            "a work-tree path that climbs out",
            moved.replace(
                "\"worktree\":\"build.log\"",
                "\"worktree\":\"../escaped.log\"",
            ),
        ),
        ("an id that is a path", original.replace(&id, "../../../x")),
    ];
    for (what, replacement) in cases {
        let copy = repo.copy();
        let text = if replacement.contains("\"type\":\"begin\"") {
            replacement.clone()
        } else {
            original.replace(&moved, &replacement)
        };
        assert_ne!(text, original, "{what}");
        let journal = journal_path(&copy);
        fs::write(&journal, &text).unwrap();
        let secret = copy.root().join("secret.txt");
        fs::write(&secret, "not the repository's\n").unwrap();
        // The edited journal may no longer name the operation whose
        // keep-alive refs remain: they are orphans by construction here.
        let capture = || capture_repo_with_orphans(copy.path()).0;
        let before = capture();
        let out = copy.tool(&["undo"]);
        assert_refused(&out, 1, what);
        assert!(out.stderr.contains("corrupt at line"), "{what}\n{out}");
        assert_same_state(&before, &capture());
        assert_eq!(
            fs::read_to_string(&secret).unwrap(),
            "not the repository's\n",
            "{what}"
        );
        assert!(!copy.root().join("escaped.log").exists(), "{what}");
        assert_eq!(fs::read_to_string(&journal).unwrap(), text, "{what}");
    }
}

#[test]
fn a_journal_whose_head_or_refs_git_could_not_have_written_is_refused() {
    let repo = repo_with_baseline();
    repo.tool_ok(&["emergency", "--yes"]);
    let path = journal_path(&repo);
    let original = fs::read_to_string(&path).unwrap();
    let cases = [
        // Cut inside a character when shown as `detached at <8 bytes>`.
        (
            "{\"symbolic\":\"refs/heads/main\"}",
            "{\"detached\":\"aéééé\"}",
        ),
        (
            "{\"symbolic\":\"refs/heads/main\"}",
            "{\"symbolic\":\"../../config\"}",
        ),
        (
            "{\"symbolic\":\"refs/heads/main\"}",
            "{\"symbolic\":\"refs/heads/a..b\"}",
        ),
        ("\"name\":\"refs/heads/main\"", "\"name\":\"HEAD/../../x\""),
        (
            "\"name\":\"refs/heads/main\"",
            "\"name\":\"refs/heads/with space\"",
        ),
    ];
    for (from, to) in cases {
        assert!(original.contains(from), "{from}\n{original}");
        let text = original.replacen(from, to, 1);
        let copy = repo.copy();
        let journal = journal_path(&copy);
        fs::write(&journal, &text).unwrap();
        let before = copy.capture();
        for args in [&["undo"][..], &["log"], &["status"], &["notify"]] {
            let out = copy.tool(args);
            assert_refused(&out, 1, &format!("{to}: {args:?}"));
            assert!(out.stderr.contains("corrupt at line 1"), "{to}\n{out}");
        }
        assert_same_state(&before, &copy.capture());
        assert_eq!(fs::read_to_string(&journal).unwrap(), text);
    }
}

/// A conflicted index entry `a/x/deep` while `a` is a symlink: the entry is
/// not in the work tree (git never follows a symlink to a tracked path), so
/// no snapshot reads through the link, whether it leads out of the work tree
/// or to a name too long to resolve; the round trip is exact.
#[test]
fn a_conflicted_entry_under_a_symlink_is_never_read_through_it() {
    let long_target = "y".repeat(300);
    for target in ["outside", long_target.as_str()] {
        let repo = repo_with_baseline();
        let outside = repo.tmp_dir().join("outside");
        fs::create_dir_all(outside.join("x")).unwrap();
        fs::write(outside.join("x/deep"), "OUTSIDE\n").unwrap();
        let one = repo.git_with_stdin(&["hash-object", "-w", "--stdin"], b"one\n");
        let two = repo.git_with_stdin(&["hash-object", "-w", "--stdin"], b"two\n");
        let stages = format!(
            "100644 {one} 1\ta/x/deep\n100644 {two} 2\ta/x/deep\n100644 {one} 3\ta/x/deep\n"
        );
        repo.git_with_stdin(&["update-index", "--index-info"], stages.as_bytes());
        let link = if target == "outside" {
            outside.display().to_string()
        } else {
            target.to_string()
        };
        repo.symlink("a", &link);
        let before = repo.capture();

        let out = repo.tool(&["--json", "emergency"]);
        out.assert_ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let id = v["operation_id"].as_str().unwrap().to_string();
        let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
        let snapshot = keep_entries(std::path::Path::new(&common))
            .into_iter()
            .find(|(_, op, what, _)| *op == id && what == "worktree")
            .map(|(_, _, _, oid)| oid)
            .expect("the snapshot is kept");
        let saved = repo.git(&["ls-tree", "-r", &snapshot]);
        assert!(
            !saved.contains("a/x/deep"),
            "{target}: read through the link\n{saved}"
        );
        assert_eq!(fs::read(outside.join("x/deep")).unwrap(), b"OUTSIDE\n");

        repo.tool(&["undo"]).assert_ok();
        crate::common::assert_same_except_reports(&before, &repo.capture());
    }
}
