//! `demo` (README, introduction): the whole tour in a sandbox, every step
//! verified, nothing left behind and nothing outside the sandbox touched.

use std::fs;
use std::path::Path;

use crate::common::{assert_same_dir, assert_unchanged_by, capture_dir, plain_git, TestRepo};

/// What the user types at each step of the tour, in order.
const TOUR: &[&str] = &[
    "$ git rollback-sprint check",
    "$ git rollback-sprint sprint start 1",
    "$ git rollback-sprint emergency --reason \"production is down\"",
    "$ git rollback-sprint undo",
    "$ git rollback-sprint sprint rollback --reason \"tests fail\"",
    "$ git rollback-sprint files src/greet.sh",
    "$ git rollback-sprint recover refactor/sprint-1 --all",
    "$ git rollback-sprint rescue",
    // The lost README change's id: that of its content, fixed by the demo.
    "$ git rollback-sprint rescue restore 6c80609e3bd1",
    "$ git rollback-sprint metrics",
    "$ git rollback-sprint log",
];

/// The steps' names in `--json`, the demo's own edits included.
const STEP_NAMES: &[&str] = &[
    "check",
    "sprint start",
    "work",
    "emergency",
    "undo",
    "sprint rollback",
    "experiment",
    "files",
    "recover",
    "lose",
    "rescue",
    "rescue restore",
    "metrics",
    "log",
];

/// `git <args>` in `dir`, sandboxed; panics unless it succeeds.
#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = plain_git(dir).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read directory")
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn the_tour_runs_every_step_and_verifies_each() {
    let repo = TestRepo::new();
    let out = repo.tool_in(repo.home(), &["demo"]);
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    // Each command is shown as typed, in order, and followed by its ✓.
    let mut from = 0;
    for command in TOUR {
        let at = lines[from..]
            .iter()
            .position(|l| l == command)
            .unwrap_or_else(|| panic!("`{command}` missing or out of order\n{out}"));
        from += at + 1;
        let verified = lines[from..]
            .iter()
            .find(|l| l.starts_with("✓ ") || l.starts_with("✗ "))
            .unwrap_or_else(|| panic!("no verification after `{command}`\n{out}"));
        assert!(verified.starts_with("✓ "), "`{command}`: {verified}\n{out}");
    }
    let verifications = lines.iter().filter(|l| l.starts_with("✓ ")).count();
    assert_eq!(
        verifications,
        STEP_NAMES.len() + 1,
        "one ✓ per step and the summary\n{out}"
    );
    assert!(!out.stdout.contains('✗'), "{out}");
    for promise in [
        "the work tree equals the baseline; stash@{0} is \"On refactor/sprint-1: EMERGENCY: State before rollback",
        "the 4 dirty files are back byte for byte",
        "HEAD is on refactor/sprint-1-retry at the baseline",
        "src/greet.sh equals the baseline's",
        "good commits on the baseline",
        "marked undone",
        "the journal lists all 8 operations",
        "the lost change is listed as",
        "holds the lost change byte for byte",
    ] {
        assert!(out.stdout.contains(promise), "missing {promise:?}\n{out}");
    }
    assert!(
        out.stdout
            .contains("✓ Done: every one of the 14 steps verified"),
        "{out}"
    );
    assert!(out.stdout.contains("(removed when the demo ends)"), "{out}");
}

#[test]
fn without_dir_the_sandbox_is_removed() {
    let repo = TestRepo::new();
    assert!(entries(repo.tmp_dir()).is_empty());
    repo.tool_in(repo.home(), &["demo"]).assert_ok();
    assert_eq!(
        entries(repo.tmp_dir()),
        Vec::<String>::new(),
        "TMPDIR is left with files"
    );
}

#[test]
fn dir_keeps_a_sandbox_to_explore_with_git() {
    let repo = TestRepo::new();
    let dir = repo.root().join("tour");
    let out = repo.tool_in(repo.home(), &["demo", "--dir", "../tour"]);
    out.assert_ok();
    assert!(out.stdout.contains("(kept for you to explore)"), "{out}");

    let log = git(&dir, &["log", "--format=%s"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "Document the farewell",
            "Add a farewell",
            "Test the greeting",
            "Start the greeter"
        ],
        "HEAD is the recovery branch: the good commits on the baseline"
    );
    git(&dir, &["stash", "list"]);
    let branches = git(&dir, &["branch", "--format=%(refname:short)"]);
    for prefix in ["recovery/", "backup/sprint-1-", "refactor/sprint-1-retry"] {
        assert!(
            branches.lines().any(|b| b.starts_with(prefix)),
            "no {prefix}… branch in\n{branches}"
        );
    }
    assert_eq!(
        git(&dir, &["symbolic-ref", "--short", "HEAD"])
            .trim_end()
            .split_once('/')
            .map(|p| p.0),
        Some("recovery")
    );
    // Nothing is uncommitted: the tool's reports folder keeps itself out of
    // `git status` (docs/invariants.md, I8); the ignored file survived.
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    assert!(git(&dir, &["status", "--porcelain", "--ignored"]).contains("!! rollbacks/\n"));
    assert_eq!(
        fs::read_to_string(dir.join("build/cache.log")).expect("read"),
        "cached build output\n"
    );
    assert_eq!(
        git(&dir, &["config", "user.email"]).trim_end(),
        "demo@example.com"
    );
    assert!(
        entries(repo.tmp_dir()).is_empty(),
        "the scratch space is removed all the same"
    );
}

#[test]
fn a_non_empty_dir_is_refused_and_left_alone() {
    let repo = TestRepo::new();
    let dir = repo.root().join("mine");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("notes.txt"), "mine\n").expect("write");
    let before = capture_dir(&dir);
    let out = repo.tool_in(
        repo.home(),
        &["demo", "--dir", dir.to_str().expect("utf-8")],
    );
    out.assert_code(1);
    assert_eq!(out.stdout, "", "{out}");
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 1, "one line\n{out}");
    assert!(
        errors[0].starts_with("error: ") && errors[0].contains("is not empty"),
        "{out}"
    );
    assert_same_dir(&before, &capture_dir(&dir));

    let file = dir.join("notes.txt");
    let out = repo.tool_in(
        repo.home(),
        &["demo", "--dir", file.to_str().expect("utf-8")],
    );
    out.assert_code(1);
    out.assert_stderr_contains("is not a directory");
    assert_same_dir(&before, &capture_dir(&dir));
}

#[test]
fn json_is_one_object_with_every_step() {
    let repo = TestRepo::new();
    let out = repo.tool_in(repo.home(), &["--json", "demo"]);
    out.assert_ok();
    assert_eq!(out.stdout.trim_end().lines().count(), 1, "{out}");
    let v = out.json();
    assert_eq!(v["ok"], true, "{out}");
    assert_eq!(v["command"], "demo");
    assert_eq!(v["kept"], false);
    assert!(v["failed_step"].is_null());
    let steps = v["steps"].as_array().expect("steps");
    let names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, STEP_NAMES);
    for step in steps {
        assert_eq!(step["ok"], true, "{step}");
        assert!(
            !step["verification"].as_str().unwrap_or("").is_empty(),
            "{step}"
        );
    }
    let commands: Vec<String> = steps
        .iter()
        .filter_map(|s| s["command"].as_str())
        .map(|c| format!("$ {c}"))
        .collect();
    assert_eq!(commands, TOUR);
    assert_eq!(steps[3]["exit_code"], 0);
}

#[test]
fn quiet_prints_nothing_and_dry_run_builds_nothing() {
    let repo = TestRepo::new();
    let out = repo.tool_in(repo.home(), &["-q", "demo"]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "{out}");

    let dir = repo.root().join("later");
    let out = repo.tool_in(
        repo.home(),
        &["--dry-run", "demo", "--dir", dir.to_str().expect("utf-8")],
    );
    out.assert_ok();
    for command in TOUR {
        out.assert_stdout_contains(command.trim_start_matches("$ "));
    }
    assert!(!dir.exists(), "a dry run created {}", dir.display());
    assert!(entries(repo.tmp_dir()).is_empty());
}

#[test]
fn inside_another_repository_that_repository_is_untouched() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo.write("src/lib.rs", "// uncommitted\n");
    repo.write("scratch.txt", "untracked\n");
    repo.write("debug.log", "ignored\n");
    let out = assert_unchanged_by(&repo, || repo.tool(&["demo"]));
    out.assert_ok();
    let inner = repo.path().join("sub");
    fs::create_dir(&inner).expect("mkdir");
    let out = assert_unchanged_by(&repo, || repo.tool_in(&inner, &["demo"]));
    out.assert_ok();
}

#[test]
fn a_step_that_fails_stops_the_tour_with_exit_1_naming_it() {
    let repo = TestRepo::new();
    // The sprint rollback is killed after writing its reports.
    let mut cmd = repo.tool_command(&["demo"]);
    cmd.current_dir(repo.home())
        .env("GIT_ROLLBACK_SPRINT_FAULT", "after-reports");
    let out = crate::common::ToolOutput::from_output(cmd.output().expect("run the demo"));
    out.assert_code(1);
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ Demo failed: step `sprint rollback`: was killed by signal 9"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("$ git rollback-sprint files"),
        "the tour stops\n{out}"
    );

    // The command succeeds, but the work tree is not what it promised.
    let mut cmd = repo.tool_command(&["--json", "demo"]);
    cmd.current_dir(repo.home()).env(
        "GIT_ROLLBACK_SPRINT_FAULT_EXEC",
        "after-reports:echo tampered > config/settings.toml",
    );
    let out = crate::common::ToolOutput::from_output(cmd.output().expect("run the demo"));
    out.assert_code(1);
    let v = out.json();
    assert_eq!(v["ok"], false, "{out}");
    assert_eq!(v["failed_step"], "sprint rollback", "{out}");
    let steps = v["steps"].as_array().expect("steps");
    let failed = steps.last().expect("a step");
    assert_eq!(failed["exit_code"], 0, "{out}");
    assert_eq!(failed["ok"], false, "{out}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("sprint rollback") && message.contains("not clean"),
        "{out}"
    );
    assert!(
        entries(repo.tmp_dir()).is_empty(),
        "removed after a failure too"
    );
}
