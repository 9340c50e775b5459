//! Tests of `sprint start`, `sprint rollback` and `sprint finish` (README:
//! Level 2 — `sprint rollback`, with `check` and `metrics`), and of `undo`
//! (README: `log`, `undo`, `redo`, `status`) of each.
//!
//! The pattern: build a repository with a baseline and a sprint branch, capture
//! everything, run the command, check the new state against what git itself
//! gives for the same job (`git add -A && git write-tree` for the
//! work-in-progress commit, `git checkout -f` + `git clean -fd` for the retry
//! branch), then `undo` and check that the capture is identical again.
//! `rollbacks/` (reports and metrics) survives rollbacks and undo by design
//! (docs/invariants.md, I8), so the round-trip comparisons of `sprint rollback`
//! leave it out.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{
    assert_nothing_changed, assert_same_except_reports, everything, is_reports, without_reports,
};
use crate::common::{
    assert_same_state, commit_history, dirty_everything, odd_names, RepoState, TestRepo, ToolOutput,
};

/// `GIT_ROLLBACK_SPRINT_NOW` of the harness (`DEFAULT_NOW`) as a name stamp.
const STAMP: &str = "20261121_100405";
const CHECKPOINT: &str = "checkpoint-20261121_100405";
const SPRINT3: &str = "refactor/sprint-3";
const BACKUP3: &str = "backup/sprint-3-20261121_100405";
const RETRY3: &str = "refactor/sprint-3-retry";
const FAULT_ENV: &str = "GIT_ROLLBACK_SPRINT_FAULT";

/// A test command whose output says 5 passed and 17 failed, exit code 1.
const FAILING_TESTS: &str =
    "echo 'suite: test_feature FAILED (expected 3, got 4)'; echo '5 passed, 17 failed'; exit 1";
/// A test command that passes.
const PASSING_TESTS: &str = "echo 'suite: all green'; echo '6 passed'";

// ----- helpers -----------------------------------------------------------------

fn heads(name: &str) -> String {
    format!("refs/heads/{name}")
}

fn tags(name: &str) -> String {
    format!("refs/tags/{name}")
}

/// Only what a checkout of the baseline + `git clean -fd` decide: HEAD (and
/// the branch it names), the index and the work tree (reports left out).
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

fn journal_path(repo: &TestRepo) -> PathBuf {
    repo.git_dir().join("rollback/journal.jsonl")
}

/// A file outside the repository where a test command counts its runs.
fn runs_file(repo: &TestRepo) -> PathBuf {
    repo.tmp_dir().join("runs.txt")
}

/// A test command that appends a line to [`runs_file`], then runs `then`.
fn counting_command(repo: &TestRepo, then: &str) -> String {
    format!("echo run >> '{}'; {then}", runs_file(repo).display())
}

fn runs(repo: &TestRepo) -> usize {
    fs::read_to_string(runs_file(repo))
        .unwrap_or_default()
        .lines()
        .count()
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

/// Assert a clean refusal: exit `code`, one line on stderr starting
/// `error:` with a hint after ` — `, mentioning `needle`, no panic.
#[track_caller]
fn assert_refusal(out: &ToolOutput, code: i32, needle: &str) {
    out.assert_code(code);
    assert!(!out.stderr.contains("panicked"), "the tool panicked\n{out}");
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected a one-line error\n{out}");
    assert!(lines[0].starts_with("error:"), "expected `error:`\n{out}");
    assert!(
        lines[0].contains(" — "),
        "expected a hint after the message\n{out}"
    );
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "expected the error to mention {needle:?}\n{out}"
    );
}

/// Whether `text` holds `word` as a word of its own.
fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

fn op_id(v: &Value) -> String {
    let id = v["operation_id"]
        .as_str()
        .expect("operation_id")
        .to_string();
    assert!(!id.is_empty(), "empty operation_id: {v}");
    id
}

/// Run `--json undo`, assert success, return the JSON.
#[track_caller]
fn undo(repo: &TestRepo) -> Value {
    let out = repo.tool(&["--json", "undo"]);
    out.assert_ok();
    out.json()
}

// ----- sprint start: helpers ------------------------------------------------------

/// `with_commits()`, the baseline at the first commit (so HEAD, "add
/// sources", is one commit ahead of it), and a passing test command.
fn start_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD~1");
    repo.git(&["config", "rollback.testCommand", "echo '4 passed'"]);
    repo
}

/// Run `--json sprint start <args>`, assert success, return the JSON.
#[track_caller]
fn start(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["--json", "sprint", "start"];
    all.extend_from_slice(args);
    let out = repo.tool(&all);
    out.assert_ok();
    out.json()
}

/// What a successful `sprint start` must leave: `before` plus the branch at
/// the old HEAD, HEAD on it, and the checkpoint tag; nothing else.
#[track_caller]
fn assert_started(repo: &TestRepo, before: &RepoState, branch: &str, checkpoint: &str) {
    let old_head = match before.head.strip_prefix("ref: ") {
        Some(branch) => before.refs[branch].clone(),
        None => before.head.clone(),
    };
    assert_eq!(
        repo.rev(&format!("{}^{{commit}}", tags(checkpoint))),
        old_head,
        "the checkpoint is at the old HEAD"
    );
    let after = repo.capture();
    assert_eq!(after.head, format!("ref: {}", heads(branch)));
    assert_eq!(
        repo.git(&["cat-file", "-t", &tags(checkpoint)]),
        "tag",
        "the checkpoint is an annotated tag"
    );
    let mut want = before.clone();
    want.head = format!("ref: {}", heads(branch));
    want.refs.insert(heads(branch), old_head);
    want.refs
        .insert(tags(checkpoint), repo.rev(&tags(checkpoint)));
    assert_same_state(&want, &after);
}

/// Run a `sprint start` that must fail a pre-sprint check: exit 4, a ✗ in
/// the checklist, `needle` somewhere in the output, and nothing changed.
#[track_caller]
fn assert_check_fails(repo: &TestRepo, args: &[&str], needle: &str) -> ToolOutput {
    let before = repo.capture();
    let out = repo.tool(args);
    out.assert_code(4);
    assert!(!out.stderr.contains("panicked"), "the tool panicked\n{out}");
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(all.contains('✗'), "expected a ✗ in the checklist\n{out}");
    assert!(
        all.to_lowercase().contains(&needle.to_lowercase()),
        "expected the output to mention {needle:?}\n{out}"
    );
    assert_same_state(&before, &repo.capture());
    out
}

// ----- sprint start ------------------------------------------------------------------

#[test]
fn start_tags_a_checkpoint_creates_the_branch_and_switches_to_it() {
    let repo = start_repo();
    // Ignored files do not make the tree dirty and are left alone.
    repo.write(".env", "SECRET=1\n");
    repo.write("build.log", "ignored log\n");
    let head = repo.head();
    let before = repo.capture();

    let v = start(&repo, &["3"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["command"], "sprint");
    op_id(&v);
    assert_eq!(v["branch"], SPRINT3);
    assert_eq!(v["checkpoint"], CHECKPOINT);
    let checks = v["checks"].as_array().expect("checks is a list");
    assert!(checks.len() >= 5, "expected at least 5 checks: {v}");
    for c in checks {
        assert!(c["name"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
        assert!(c["detail"].is_string(), "{c}");
        assert_ne!(
            c["ok"], false,
            "a check failed although start succeeded: {c}"
        );
    }
    assert!(
        checks.iter().filter(|c| c["ok"] == true).count() >= 5,
        "baseline, tests, clean tree, no operation and disk all pass: {v}"
    );

    assert_eq!(repo.rev(&heads(SPRINT3)), head);
    assert_eq!(repo.rev(&format!("{CHECKPOINT}^{{commit}}")), head);
    assert_ne!(
        repo.rev("baseline^{commit}"),
        head,
        "setup: HEAD is not the baseline"
    );
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
    assert_eq!(repo.read(".env"), b"SECRET=1\n");
}

#[test]
fn start_prints_a_checklist_the_branch_and_the_checkpoint() {
    let repo = start_repo();
    let out = repo.tool_ok(&["sprint", "start", "3"]);
    let ticks = out.stdout.lines().filter(|l| l.contains('✓')).count();
    assert!(ticks >= 5, "expected a ✓ line per passing check\n{out}");
    assert!(!out.stdout.contains('✗'), "{out}");
    assert!(out.stdout.contains(SPRINT3), "{out}");
    assert!(out.stdout.contains(CHECKPOINT), "{out}");
}

#[test]
fn start_undo_is_exact() {
    let repo = start_repo();
    repo.write(".env", "SECRET=1\n");
    let before = repo.capture();
    let v = start(&repo, &["3"]);
    let u = undo(&repo);
    assert_eq!(u["undoes"], v["operation_id"]);
    assert_same_state(&before, &repo.capture());
    repo.tool_ok(&["redo"]);
    assert_eq!(repo.capture().head, format!("ref: {}", heads(SPRINT3)));
    undo(&repo);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn start_from_a_detached_head_and_undo() {
    let repo = start_repo();
    repo.git(&["checkout", "-q", "--detach", "HEAD"]);
    let before = repo.capture();
    start(&repo, &["3"]);
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
    undo(&repo);
    let restored = repo.capture();
    assert_eq!(restored.head, repo.head(), "HEAD detached again");
    assert_same_state(&before, &restored);
}

#[test]
fn start_runs_the_baseline_tests_on_the_baseline_tree_not_the_work_tree() {
    let repo = start_repo();
    let seen = repo.tmp_dir().join("pwd.txt");
    // The baseline (first commit) has no src/; HEAD and the work tree do.
    repo.git(&[
        "config",
        "rollback.testCommand",
        &format!(
            "pwd > '{}'; test -f README.md && test ! -e src/lib.rs && echo '1 passed'",
            seen.display()
        ),
    ]);
    let before = repo.capture();
    start(&repo, &["3"]);
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
    let dir = fs::read_to_string(&seen).expect("the test command ran");
    let dir = Path::new(dir.trim_end());
    assert!(
        !dir.starts_with(repo.path()),
        "the baseline tests ran in the work tree ({dir:?})"
    );
    assert!(!dir.exists(), "the export {dir:?} was left behind");
}

#[test]
fn failing_baseline_tests_stop_the_start_with_exit_4() {
    let repo = start_repo();
    // Passes in the work tree (which has src/lib.rs), fails on the baseline.
    repo.git(&[
        "config",
        "rollback.testCommand",
        "test -f src/lib.rs && echo '1 passed' || { echo '0 passed, 1 failed'; exit 1; }",
    ]);
    assert_check_fails(&repo, &["sprint", "start", "3"], "test");
    assert!(repo.git(&["tag", "-l", "checkpoint-*"]).is_empty());

    let out = repo.tool(&["--json", "sprint", "start", "3"]);
    out.assert_code(4);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "sprint");
    assert_eq!(v["error"]["exit_code"], 4);
}

#[test]
fn baseline_test_result_is_cached_by_tree() {
    let repo = start_repo();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, "echo '2 passed'"),
    ]);
    start(&repo, &["1"]);
    assert_eq!(runs(&repo), 1);
    // From the clean sprint-1 branch: the same baseline, no second run.
    let v = start(&repo, &["2"]);
    assert_eq!(runs(&repo), 1, "the cached result was not used");
    assert_eq!(v["checkpoint"], format!("{CHECKPOINT}-2"));
    assert_eq!(v["branch"], "refactor/sprint-2");
    // After an undo, still cached.
    undo(&repo);
    let v = start(&repo, &["3"]);
    assert_eq!(runs(&repo), 1, "the cached result was not used after undo");
    assert_eq!(v["checkpoint"], format!("{CHECKPOINT}-2"));
    // A new baseline (another tree) runs them again.
    commit_history(&repo, 1);
    repo.git(&["tag", "-a", "-f", "baseline", "-m", "newer", "HEAD"]);
    start(&repo, &["4"]);
    assert_eq!(runs(&repo), 2, "a new baseline tree must be tested");
}

#[test]
fn no_tests_skips_the_baseline_tests() {
    let repo = start_repo();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, "exit 1"),
    ]);
    let before = repo.capture();
    let v = start(&repo, &["3", "--no-tests"]);
    assert_eq!(runs(&repo), 0, "--no-tests ran the tests");
    for c in v["checks"].as_array().expect("checks") {
        assert_ne!(c["ok"], false, "{c}");
    }
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
}

/// Makes one kind of local change.
type MakeChange = fn(&TestRepo);

#[test]
fn uncommitted_changes_of_every_kind_stop_the_start() {
    let cases: &[(&str, MakeChange)] = &[
        ("unstaged edit", |r| {
            r.write("src/main.rs", "fn main() {}\n")
        }),
        ("staged edit", |r| {
            r.write("src/lib.rs", "// staged\n");
            r.git(&["add", "src/lib.rs"]);
            r.write(
                "src/lib.rs",
                "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
            );
        }),
        ("untracked file", |r| r.write("notes.txt", "mine\n")),
        ("deleted file", |r| r.remove("docs/guide.md")),
        ("exec bit", |r| r.chmod("bin/run.sh", 0o644)),
    ];
    for (what, make) in cases {
        let repo = start_repo();
        make(&repo);
        assert!(!porcelain(&repo).is_empty(), "setup: {what} is a change");
        let out = assert_check_fails(&repo, &["sprint", "start", "3"], "uncommitted");
        assert!(
            repo.git(&["branch", "--list", SPRINT3]).is_empty(),
            "{what}: branch created\n{out}"
        );
    }
}

#[test]
fn ignored_files_do_not_stop_the_start() {
    let repo = start_repo();
    repo.write(".env", "SECRET=1\n");
    repo.write("newdir/x.log", "log\n");
    repo.write_exec("target/debug/app", "bin\n");
    let before = repo.capture();
    start(&repo, &["3"]);
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
}

#[test]
fn a_merge_in_progress_stops_the_start() {
    let repo = start_repo();
    repo.git(&["checkout", "-q", "-b", "other", "HEAD~1"]);
    repo.write("README.md", "# other side\n");
    repo.commit_all("other side");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "# main side\n");
    repo.commit_all("main side");
    let out = repo.git_output(&["merge", "other"]);
    assert!(!out.status.success(), "expected a merge conflict");
    assert!(repo.git_dir().join("MERGE_HEAD").exists());
    assert_check_fails(&repo, &["sprint", "start", "3"], "merge");
}

#[test]
fn a_rebase_in_progress_stops_the_start() {
    let repo = start_repo();
    commit_history(&repo, 2);
    // Stops after the first picked commit with a clean work tree.
    let out = repo.git_output(&["rebase", "-q", "--exec", "false", "HEAD~2"]);
    assert!(!out.status.success(), "expected the rebase to stop");
    assert!(repo.git_dir().join("rebase-merge").exists());
    assert!(porcelain(&repo).is_empty(), "setup: the work tree is clean");
    assert_check_fails(&repo, &["sprint", "start", "3"], "rebase");
}

#[test]
fn a_cherry_pick_in_progress_stops_the_start() {
    let repo = start_repo();
    repo.git(&["checkout", "-q", "-b", "other", "HEAD~1"]);
    repo.write("README.md", "# conflicting\n");
    let pick = repo.commit_all("conflicting change");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("README.md", "# main side\n");
    repo.commit_all("main side");
    let out = repo.git_output(&["cherry-pick", &pick]);
    assert!(!out.status.success(), "expected a cherry-pick conflict");
    assert_check_fails(&repo, &["sprint", "start", "3"], "cherry-pick");
}

#[test]
fn an_interrupted_operation_stops_the_start() {
    let repo = start_repo();
    let out = repo.tool_with_env(&["checkpoint"], &[(FAULT_ENV, "after-begin")]);
    assert_eq!(out.code, -1, "expected a SIGKILL\n{out}");
    let before = repo.capture();
    let out = repo.tool(&["sprint", "start", "3"]);
    assert!(
        out.code == 3 || out.code == 4,
        "expected exit 3 or 4 for an interrupted operation\n{out}"
    );
    assert!(
        out.stderr.contains("interrupted") || out.stdout.contains("interrupted"),
        "{out}"
    );
    assert_same_state(&before, &repo.capture());
}

#[test]
fn disk_usage_over_the_threshold_stops_the_start() {
    let repo = crate::common::on_disk(start_repo);
    repo.git(&["config", "rollback.diskThreshold", "1"]);
    assert_check_fails(&repo, &["sprint", "start", "3"], "disk");
    repo.git(&["config", "rollback.diskThreshold", "100"]);
    let before = repo.capture();
    start(&repo, &["3"]);
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
}

#[test]
fn setup_command_runs_and_a_failing_one_stops_the_start() {
    let repo = start_repo();
    repo.git(&[
        "config",
        "rollback.setupCommand",
        "echo 'missing dependency'; exit 1",
    ]);
    assert_check_fails(&repo, &["sprint", "start", "3"], "setup");

    let marker = repo.tmp_dir().join("setup-ran.txt");
    repo.git(&[
        "config",
        "rollback.setupCommand",
        &format!("echo ok > '{}'", marker.display()),
    ]);
    let before = repo.capture();
    let v = start(&repo, &["3"]);
    assert!(marker.exists(), "the setup command did not run");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] != false),
        "{v}"
    );
    assert_started(&repo, &before, SPRINT3, CHECKPOINT);
}

#[test]
fn a_missing_baseline_stops_the_start() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);
    assert_check_fails(&repo, &["sprint", "start", "3"], "baseline");
}

#[test]
fn an_existing_sprint_branch_is_refused() {
    let repo = start_repo();
    repo.git(&["branch", SPRINT3, "HEAD~1"]);
    let before = repo.capture();
    let out = repo.tool(&["sprint", "start", "3"]);
    assert_refusal(&out, 1, SPRINT3);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn a_taken_checkpoint_name_gets_a_suffix() {
    let repo = start_repo();
    repo.git(&["tag", "-a", CHECKPOINT, "-m", "someone else's", "HEAD~1"]);
    let old = repo.rev(&tags(CHECKPOINT));
    let before = repo.capture();
    let v = start(&repo, &["3"]);
    let second = format!("{CHECKPOINT}-2");
    assert_eq!(v["checkpoint"], second);
    assert_eq!(
        repo.rev(&tags(CHECKPOINT)),
        old,
        "an existing tag was moved"
    );
    assert_started(&repo, &before, SPRINT3, &second);
}

#[test]
fn checkpoint_prefix_comes_from_git_config() {
    let repo = start_repo();
    repo.git(&["config", "rollback.checkpointPrefix", "cp-"]);
    let before = repo.capture();
    let v = start(&repo, &["3"]);
    let name = format!("cp-{STAMP}");
    assert_eq!(v["checkpoint"], name);
    assert_started(&repo, &before, SPRINT3, &name);
}

#[test]
fn start_dry_run_changes_nothing_at_all() {
    let repo = start_repo();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, "echo '1 passed'"),
    ]);
    let before = everything(&repo);
    let out = repo.tool(&["-n", "sprint", "start", "3"]);
    out.assert_ok();
    assert!(
        out.stdout.contains(SPRINT3),
        "the plan names the branch\n{out}"
    );
    assert!(
        out.stdout.contains(CHECKPOINT),
        "the plan names the tag\n{out}"
    );
    assert_nothing_changed(&repo, &before);
    assert!(!journal_path(&repo).exists(), "a dry run wrote a journal");
    assert_eq!(runs(&repo), 0, "a dry run ran the tests");
}

#[test]
fn start_needs_a_sprint_number() {
    let repo = start_repo();
    let before = repo.capture();
    for args in [&["sprint", "start"][..], &["sprint", "start", "three"]] {
        let out = repo.tool(args);
        out.assert_code(2);
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn start_killed_part_way_is_reported_and_undone() {
    for point in ["after-begin", "after-ref", "before-end"] {
        let repo = start_repo();
        let before = repo.capture();
        let out = repo.tool_with_env(&["sprint", "start", "3"], &[(FAULT_ENV, point)]);
        assert_eq!(out.code, -1, "{point}: expected a SIGKILL\n{out}");
        let status = repo.tool_ok(&["status"]);
        assert!(status.stderr.contains("interrupted"), "{point}\n{status}");
        repo.tool_ok(&["undo"]);
        assert_same_state(&before, &repo.capture());
    }
}

// ----- sprint rollback: helpers ----------------------------------------------------

struct Sprint {
    repo: TestRepo,
    /// The baseline commit ("add sources").
    base: String,
    /// The sprint branch's commits, newest first.
    commits: Vec<String>,
}

impl Sprint {
    fn head(&self) -> &str {
        &self.commits[0]
    }
}

/// `with_commits()`, the baseline at its HEAD, a failing test command, and
/// the branch `refactor/sprint-<n>` with two commits that change, add and
/// delete files (keeping every path `dirty_everything` needs). HEAD is on
/// the sprint branch, the work tree clean.
fn sprint_repo(n: u32) -> Sprint {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    repo.git(&["config", "rollback.testCommand", FAILING_TESTS]);
    repo.git(&["checkout", "-q", "-b", &format!("refactor/sprint-{n}")]);
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.write(
        "docs/guide.md",
        "# Guide\n\nStep one.\nStep two (sprint).\n",
    );
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.write("feature/flag.txt", "on\n");
    repo.remove("link");
    let c1 = repo.commit_all("sprint: half-done refactor");
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    8\n}\n");
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b + 0\n}\n",
    );
    let c2 = repo.commit_all("sprint: wire the feature in");
    Sprint {
        repo,
        base,
        commits: vec![c2, c1],
    }
}

/// Run `--json sprint rollback <extra>`, assert success, return the JSON.
#[track_caller]
fn rollback(repo: &TestRepo, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "sprint", "rollback"];
    args.extend_from_slice(extra);
    let out = repo.tool(&args);
    out.assert_ok();
    out.json()
}

/// The tree `git add -A && git write-tree` makes of the work tree now (on a
/// copy, so the repository itself is not touched).
fn tree_of_work_tree(repo: &TestRepo) -> String {
    let copy = repo.copy();
    copy.git(&["add", "-A"]);
    copy.git(&["write-tree"])
}

/// [`tree_of_work_tree`] with the reports folder as the index has it.
fn tree_of_work_tree_without_reports(repo: &TestRepo) -> String {
    let copy = repo.copy();
    copy.git(&["add", "-A", "--", ".", ":(exclude)rollbacks"]);
    copy.git(&["write-tree"])
}

/// What git gives for "switch to a new branch `retry` at the baseline,
/// dropping every change, and remove untracked files": on a copy.
fn git_reference(repo: &TestRepo, retry: &str) -> TestRepo {
    let reference = repo.copy();
    reference.git(&["checkout", "-q", "-f", "-b", retry, "baseline"]);
    reference.git(&["clean", "-q", "-fd"]);
    reference
}

/// Paths changed between two commits, without rename detection.
fn changed_paths(repo: &TestRepo, from: &str, to: &str) -> Vec<String> {
    repo.git(&["diff", "--name-only", "--no-renames", from, to])
        .lines()
        .map(str::to_string)
        .collect()
}

// ----- sprint rollback ---------------------------------------------------------------

#[test]
fn rollback_round_trip_with_every_kind_of_change() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    // A stash entry of the user's own, which the rollback must leave alone.
    repo.write("README.md", "# stashed edit\n");
    repo.git(&["stash", "push", "-q", "-m", "user's own stash"]);
    dirty_everything(repo);
    // An untracked executable and an untracked symlink too.
    repo.write_exec("scripts/new.sh", "#!/bin/sh\necho new\n");
    repo.symlink("newlink", "src/lib.rs");
    let env_bytes = repo.read(".env");
    let before = repo.capture();
    let wip_tree = tree_of_work_tree(repo);
    let reference = git_reference(repo, RETRY3);

    let v = rollback(repo, &["--reason", "the refactor broke the parser"]);
    let id = op_id(&v);
    assert_eq!(v["ok"], true);
    assert_eq!(v["command"], "sprint");
    assert_eq!(v["sprint"], 3);
    assert_eq!(v["backup_branch"], BACKUP3);
    assert_eq!(v["retry_branch"], RETRY3);
    assert_eq!(v["reports_dir"], "rollbacks/sprint-3");
    assert_eq!(v["undo_command"], format!("git rollback-sprint undo {id}"));
    assert_eq!(v["tests"]["passed"], 5, "{v}");
    assert_eq!(v["tests"]["failed"], 17, "{v}");
    assert_eq!(v["tests"]["exit_code"], 1, "{v}");
    assert!(
        v["files_changed"].as_u64().expect("files_changed") > 0,
        "{v}"
    );

    // The WIP commit: parent the old HEAD, tree exactly `git add -A`'s.
    let wip = repo.rev(&heads(BACKUP3));
    assert_eq!(v["wip_commit"], wip.as_str());
    assert_eq!(
        repo.git(&["rev-list", "--parents", "-n", "1", &wip]),
        format!("{wip} {}", s.head()),
        "the WIP commit has exactly one parent, the old HEAD"
    );
    assert!(
        repo.git(&["log", "-1", "--format=%B", &wip])
            .starts_with("WIP: Sprint 3 before rollback"),
        "{}",
        repo.git(&["log", "-1", "--format=%B", &wip])
    );
    assert_eq!(repo.rev(&format!("{wip}^{{tree}}")), wip_tree);
    assert!(
        !repo
            .git(&["ls-tree", "-r", "--name-only", &wip])
            .contains("rollbacks/"),
        "this rollback's reports are in the WIP commit"
    );

    // Refs: exactly the backup and the retry branch are new; the sprint
    // branch and everything else are where they were.
    let after = repo.capture();
    let mut want_refs = before.refs.clone();
    want_refs.insert(heads(BACKUP3), wip.clone());
    want_refs.insert(heads(RETRY3), s.base.clone());
    assert_eq!(after.refs, want_refs);
    assert_eq!(after.head, format!("ref: {}", heads(RETRY3)));
    assert_eq!(after.stash, before.stash, "the stash list changed");
    // Index and work tree: what git's checkout -f + clean -fd give.
    assert_same_state(&reset_view(&reference.capture()), &reset_view(&after));
    assert_eq!(porcelain(repo), Vec::<String>::new());
    assert_eq!(repo.read(".env"), env_bytes);
    assert_eq!(repo.read("newdir/sub/x.log"), b"ignored log line\n");
    assert_eq!(repo.mode("target/debug/app") & 0o111, 0o111);
    for f in [
        "git_log.txt",
        "changes.txt",
        "test_failures.txt",
        "report.md",
    ] {
        assert!(
            repo.exists(format!("rollbacks/sprint-3/{f}")),
            "rollbacks/sprint-3/{f} is missing"
        );
    }
    let report = repo.read("rollbacks/sprint-3/report.md");

    let u = undo(repo);
    assert_eq!(u["undoes"], id.as_str());
    assert_same_except_reports(&before, &repo.capture());
    // The reports and the metrics entry stay; the entry is marked undone.
    assert_eq!(repo.read("rollbacks/sprint-3/report.md"), report);
    let entries = metrics_entries(repo);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["operation_id"], id.as_str());
    assert_eq!(entries[0]["undone"], true);
}

#[test]
fn reports_document_the_failure() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.write("src/main.rs", "fn main() {\n    println!(\"wip\");\n}\n");
    repo.write("notes.txt", "one\ntwo\nthree\n");
    let reason = "parser tests fail after the refactor";
    let v = rollback(repo, &["--reason", reason]);
    let wip = repo.rev(&heads(BACKUP3));

    // git_log.txt: baseline..HEAD, newest first, short id and subject.
    let log = repo.read_string("rollbacks/sprint-3/git_log.txt");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), s.commits.len(), "one line per commit:\n{log}");
    for (line, commit) in lines.iter().zip(&s.commits) {
        let (short, subject) = line.split_once(' ').expect("`<id> <subject>`");
        assert!(
            short.len() >= 7 && commit.starts_with(short),
            "{line:?} does not start with a short id of {commit}"
        );
        assert_eq!(subject, repo.git(&["log", "-1", "--format=%s", commit]));
    }

    // changes.txt: git's diff stat of the baseline against the WIP.
    let changes = repo.read_string("rollbacks/sprint-3/changes.txt");
    let numstat = repo.git(&["diff", "--numstat", "--no-renames", "baseline", &wip]);
    let mut paths = 0;
    for row in numstat.lines() {
        let mut f = row.split('\t');
        let added: u64 = f.next().unwrap().parse().unwrap();
        let deleted: u64 = f.next().unwrap().parse().unwrap();
        let path = f.next().unwrap();
        paths += 1;
        let line = changes
            .lines()
            .find(|l| l.split_once('|').is_some_and(|(p, _)| p.trim() == path))
            .unwrap_or_else(|| panic!("no ` {path} | …` line in changes.txt:\n{changes}"));
        let count = line.split_once('|').unwrap().1.split_whitespace().next();
        assert_eq!(
            count,
            Some((added + deleted).to_string().as_str()),
            "{line:?}"
        );
    }
    let summary = changes
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap();
    assert_eq!(
        summary.trim(),
        repo.git(&["diff", "--shortstat", "--no-renames", "baseline", &wip])
            .trim(),
        "summary line of changes.txt:\n{changes}"
    );
    assert_eq!(paths, changed_paths(repo, "baseline", &wip).len());
    assert_eq!(v["files_changed"], paths);

    // test_failures.txt: the test command's output.
    let failures = repo.read_string("rollbacks/sprint-3/test_failures.txt");
    assert!(
        failures.contains("suite: test_feature FAILED (expected 3, got 4)"),
        "{failures}"
    );

    // report.md: date, branch, reason, failing count, files changed, branches.
    let report = repo.read_string("rollbacks/sprint-3/report.md");
    assert!(report.contains("2026-11-21"), "the date:\n{report}");
    assert!(report.contains(SPRINT3), "the branch:\n{report}");
    assert!(report.contains(reason), "the reason:\n{report}");
    assert!(
        report
            .lines()
            .any(|l| l.to_lowercase().contains("fail") && has_word(l, "17")),
        "the number of failing tests (17):\n{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.to_lowercase().contains("file") && has_word(l, &paths.to_string())),
        "the number of files changed ({paths}):\n{report}"
    );
    assert!(report.contains(BACKUP3), "the backup branch:\n{report}");
    assert!(report.contains(RETRY3), "the retry branch:\n{report}");
}

#[test]
fn human_output_names_the_backup_and_retry_branches_and_the_undo_command() {
    let s = sprint_repo(3);
    s.repo.write("notes.txt", "wip\n");
    let out = s.repo.tool_ok(&["sprint", "rollback"]);
    assert!(out.stdout.contains(BACKUP3), "{out}");
    assert!(out.stdout.contains(RETRY3), "{out}");
    assert!(out.stdout.contains("git rollback-sprint undo "), "{out}");
}

#[test]
fn tests_run_in_the_work_tree_before_anything_changes() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    let seen = repo.tmp_dir().join("seen.txt");
    repo.git(&[
        "config",
        "rollback.testCommand",
        &format!(
            "{{ pwd; cat marker.txt; git symbolic-ref HEAD; \
             if [ -e rollbacks ]; then echo REPORTS; else echo NO-REPORTS; fi; }} > '{}'; \
             echo 'MARKER-OUTPUT'; echo '1 passed'",
            seen.display()
        ),
    ]);
    repo.write("marker.txt", "uncommitted marker\n");
    let v = rollback(repo, &[]);
    let seen = fs::read_to_string(&seen).expect("the test command ran");
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines,
        [
            repo.path().to_str().unwrap(),
            "uncommitted marker",
            "refs/heads/refactor/sprint-3",
            "NO-REPORTS"
        ],
        "the tests ran in the untouched work tree, first"
    );
    assert_eq!(v["tests"]["passed"], 1);
    assert_eq!(v["tests"]["failed"], 0);
    assert_eq!(v["tests"]["exit_code"], 0);
    let failures = repo.read_string("rollbacks/sprint-3/test_failures.txt");
    assert!(failures.contains("MARKER-OUTPUT"), "{failures}");
}

#[test]
fn no_tests_does_not_run_them_and_says_so() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(repo, "exit 1"),
    ]);
    repo.write("notes.txt", "wip\n");
    let v = rollback(repo, &["--no-tests"]);
    assert_eq!(runs(repo), 0, "--no-tests ran the tests");
    assert!(v["tests"].is_null(), "{v}");
    let failures = repo
        .read_string("rollbacks/sprint-3/test_failures.txt")
        .to_lowercase();
    assert!(
        failures.contains("not run") || failures.contains("skipped"),
        "test_failures.txt should say the tests were not run:\n{failures}"
    );
    assert_eq!(metrics_entries(repo)[0]["cause"], "sprint rollback");
}

#[test]
fn a_reason_with_shell_and_markdown_is_inert_and_stays_on_its_line() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.write("notes.txt", "wip\n");
    let reason = "broke $(touch pwned) `touch pwned2` ; touch pwned3\n# Injected heading\n| a | b |\n<b>bold</b>";
    let v = rollback(repo, &["--reason", reason]);
    for dir in [repo.path(), repo.root(), repo.tmp_dir(), repo.home()] {
        for name in ["pwned", "pwned2", "pwned3"] {
            assert!(
                !dir.join(name).exists(),
                "the reason ran a command: {dir:?}/{name}"
            );
        }
    }
    let report = repo.read_string("rollbacks/sprint-3/report.md");
    let line = report
        .lines()
        .find(|l| l.contains("touch pwned"))
        .unwrap_or_else(|| panic!("the reason is not in report.md:\n{report}"));
    assert!(
        line.contains("Injected heading") && line.contains("bold"),
        "the reason was split over several lines:\n{report}"
    );
    assert!(
        !report
            .lines()
            .any(|l| l.trim_start().starts_with("# Injected")),
        "the reason made a heading:\n{report}"
    );
    assert_eq!(metrics_entries(repo)[0]["cause"], reason);
    assert_eq!(v["ok"], true);
}

#[test]
fn wip_commit_keeps_odd_file_names_and_undo_restores_them() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    let names = odd_names(repo);
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let before = repo.capture();
    let wip_tree = tree_of_work_tree(repo);
    rollback(repo, &[]);
    let wip = repo.rev(&heads(BACKUP3));
    assert_eq!(repo.rev(&format!("{wip}^{{tree}}")), wip_tree);
    for name in &names {
        assert!(!repo.exists(name), "{} not removed", name.display());
    }
    undo(repo);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn clean_work_tree_makes_no_wip_commit() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    let before = repo.capture();
    let v = rollback(repo, &[]);
    assert!(v["wip_commit"].is_null(), "{v}");
    assert_eq!(repo.rev(&heads(BACKUP3)), s.head(), "backup at HEAD itself");
    assert_eq!(repo.rev(&heads(RETRY3)), s.base);
    assert_eq!(repo.rev(&heads(SPRINT3)), s.head());
    assert_eq!(repo.capture().head, format!("ref: {}", heads(RETRY3)));
    assert_eq!(porcelain(repo), Vec::<String>::new());
    undo(repo);
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn metrics_entry_of_a_sprint_rollback() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.write("notes.txt", "wip\n");
    let v = rollback(repo, &[]);
    let id = op_id(&v);
    let entries = metrics_entries(repo);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["kind"], "sprint");
    assert_eq!(e["sprint"], 3);
    assert_eq!(e["severity"], "high");
    assert_eq!(e["cause"], "tests failing", "tests failed, no reason given");
    assert_eq!(e["backup_ref"], heads(BACKUP3));
    assert_eq!(e["operation_id"], id.as_str());
    assert_eq!(e["undone"], false);
    assert!(e["timestamp"].is_string(), "{e}");
    assert!(e["recovery_time_minutes"].is_number(), "{e}");
    let m = read_metrics(repo);
    assert_eq!(m["statistics"]["total_rollbacks"], 1);
    assert_eq!(m["statistics"]["by_cause"]["tests failing"], 1);
}

#[test]
fn metrics_severity_reason_and_recovery_minutes_from_flags() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.write("notes.txt", "wip\n");
    rollback(
        repo,
        &[
            "--severity",
            "P2",
            "--reason",
            "flaky build",
            "--recovery-minutes",
            "12.5",
        ],
    );
    let e = &metrics_entries(repo)[0];
    assert_eq!(e["severity"], "medium");
    assert_eq!(e["cause"], "flaky build");
    assert_eq!(e["recovery_time_minutes"], 12.5);
}

#[test]
fn metrics_cause_is_sprint_rollback_when_the_tests_pass() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&["config", "rollback.testCommand", PASSING_TESTS]);
    repo.write("notes.txt", "wip\n");
    let v = rollback(repo, &["--severity", "P0"]);
    assert_eq!(v["tests"]["passed"], 6);
    assert_eq!(v["tests"]["failed"], 0);
    let e = &metrics_entries(repo)[0];
    assert_eq!(e["cause"], "sprint rollback");
    assert_eq!(e["severity"], "critical");
}

#[test]
fn bad_severity_changes_nothing() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    dirty_everything(repo);
    let before = repo.capture();
    let out = repo.tool(&["sprint", "rollback", "--severity", "apocalyptic"]);
    assert!(
        out.code == 2 || out.code == 1,
        "expected exit 2 (or 1)\n{out}"
    );
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert!(out.stderr.starts_with("error:"), "{out}");
    assert_same_state(&before, &repo.capture());
    assert!(!journal_path(repo).exists(), "a refusal wrote a journal");
}

/// A metrics entry as the team's own script writes it.
fn team_entry(n: u32) -> Value {
    json!({
        "timestamp": format!("2026-10-0{n}T09:00:00+00:00"),
        "sprint": n,
        "severity": "high",
        "cause": format!("cause {n}"),
        "recovery_time_minutes": n as f64,
    })
}

fn metrics_doc(entries: &[Value]) -> String {
    let total: f64 = entries
        .iter()
        .map(|e| e["recovery_time_minutes"].as_f64().unwrap())
        .sum();
    let doc = json!({
        "rollbacks": entries,
        "statistics": {
            "total_rollbacks": entries.len(),
            "by_cause": {},
            "by_severity": {"high": entries.len()},
            "average_recovery_time": total / entries.len() as f64,
        },
    });
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

fn causes(repo: &TestRepo) -> Vec<String> {
    metrics_entries(repo)
        .iter()
        .map(|e| e["cause"].as_str().unwrap_or("<none>").to_string())
        .collect()
}

#[test]
fn tracked_metrics_lose_no_entry_through_two_rollbacks() {
    let repo = TestRepo::with_commits();
    repo.write("rollbacks/metrics.json", metrics_doc(&[team_entry(1)]));
    let base = repo.commit_all("metrics with one entry");
    tag_baseline(&repo, &base);
    repo.git(&["config", "rollback.testCommand", FAILING_TESTS]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-2"]);
    repo.write(
        "rollbacks/metrics.json",
        metrics_doc(&[team_entry(1), team_entry(2)]),
    );
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint 2: feature, and a metrics entry");
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let before_first = repo.capture();

    // First rollback, from the sprint branch.
    let v1 = rollback(&repo, &["--reason", "first rollback"]);
    let id1 = op_id(&v1);
    assert_eq!(v1["sprint"], 2);
    assert_eq!(v1["retry_branch"], "refactor/sprint-2-retry");
    assert_eq!(causes(&repo), ["cause 1", "cause 2", "first rollback"]);
    let entries = metrics_entries(&repo);
    assert_eq!(
        entries[..2],
        [team_entry(1), team_entry(2)],
        "team entries reshaped"
    );
    // Outside rollbacks/, index and work tree are the baseline's.
    repo.git(&[
        "diff",
        "--cached",
        "--quiet",
        "baseline",
        "--",
        ".",
        ":(exclude)rollbacks",
    ]);
    repo.git(&[
        "diff",
        "--quiet",
        "baseline",
        "--",
        ".",
        ":(exclude)rollbacks",
    ]);
    assert_eq!(porcelain(&repo), Vec::<String>::new());
    let first_report = repo.read("rollbacks/sprint-2/report.md");

    // Second rollback, from the retry branch, at another time.
    repo.set_now("2026-11-21T11:30:00+00:00");
    repo.write("src/lib.rs", "// retry attempt\n");
    let wip_tree = tree_of_work_tree_without_reports(&repo);
    let before_second = repo.capture();
    let v2 = rollback(&repo, &["--reason", "second rollback"]);
    let id2 = op_id(&v2);
    assert_eq!(v2["sprint"], 2, "N from refactor/sprint-2-retry");
    assert_eq!(v2["backup_branch"], "backup/sprint-2-20261121_113000");
    assert_eq!(v2["retry_branch"], "refactor/sprint-2-retry-2");
    assert_eq!(v2["reports_dir"], "rollbacks/sprint-2-2");
    assert_eq!(
        repo.capture().head,
        "ref: refs/heads/refactor/sprint-2-retry-2"
    );
    // The second WIP holds the user's work only: the reports folder is the
    // tool's, so the WIP commit has it as its parent has it
    // (docs/invariants.md, I8).
    let wip = repo.rev("refs/heads/backup/sprint-2-20261121_113000");
    assert_eq!(repo.rev(&format!("{wip}^{{tree}}")), wip_tree);
    assert_eq!(
        repo.rev(&format!("{wip}:rollbacks")),
        repo.rev(&format!("{wip}^:rollbacks"))
    );

    assert_eq!(
        causes(&repo),
        ["cause 1", "cause 2", "first rollback", "second rollback"]
    );
    let entries = metrics_entries(&repo);
    assert_eq!(entries[..2], [team_entry(1), team_entry(2)]);
    assert_eq!(entries[2]["operation_id"], id1.as_str());
    assert_eq!(entries[3]["operation_id"], id2.as_str());
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 4);
    assert_eq!(repo.read("rollbacks/sprint-2/report.md"), first_report);
    assert!(repo.exists("rollbacks/sprint-2-2/report.md"));

    // Undo the second, then the first: every entry is still there. The
    // first never touched src/lib.rs, so the retry attempt written on the
    // retry branch since stays in the work tree (three-way, I2).
    undo(&repo);
    assert_same_except_reports(&before_second, &repo.capture());
    undo_by_id(&repo, &id1);
    let mut expected = before_first.clone();
    expected.files.entries.insert(
        b"src/lib.rs".to_vec(),
        before_second.files.get("src/lib.rs").unwrap().clone(),
    );
    assert_same_except_reports(&expected, &repo.capture());
    let entries = metrics_entries(&repo);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert_eq!(entries[..2], [team_entry(1), team_entry(2)]);
    assert_eq!(entries[2]["undone"], true);
    assert_eq!(entries[3]["undone"], true);
    assert_eq!(read_metrics(&repo)["statistics"]["total_rollbacks"], 2);
}

#[track_caller]
fn undo_by_id(repo: &TestRepo, id: &str) {
    let out = repo.tool(&["undo", id]);
    out.assert_ok();
}

#[test]
fn n_comes_from_the_branch_name() {
    for (branch, n) in [
        ("refactor/sprint-12", 12),
        ("refactor/sprint-7-retry", 7),
        ("team/sprint-4-parser", 4),
    ] {
        let repo = TestRepo::with_commits();
        tag_baseline(&repo, "HEAD");
        repo.git(&["checkout", "-q", "-b", branch]);
        commit_history(&repo, 1);
        repo.write("notes.txt", "wip\n");
        let v = rollback(&repo, &["--no-tests"]);
        assert_eq!(v["sprint"], n, "{branch}");
        assert_eq!(v["backup_branch"], format!("backup/sprint-{n}-{STAMP}"));
        assert_eq!(v["reports_dir"], format!("rollbacks/sprint-{n}"));
        assert!(repo.exists(format!("rollbacks/sprint-{n}/report.md")));
        assert_eq!(metrics_entries(&repo)[0]["sprint"], n);
    }
}

#[test]
fn explicit_n_on_another_branch() {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    let main = commit_history(&repo, 2).pop().unwrap();
    repo.write("notes.txt", "wip\n");
    let v = rollback(&repo, &["5", "--no-tests"]);
    assert_eq!(v["sprint"], 5);
    assert_eq!(v["retry_branch"], "refactor/sprint-5-retry");
    assert_eq!(repo.rev("refs/heads/main"), main, "main was moved");
    assert_eq!(repo.rev("refs/heads/refactor/sprint-5-retry"), base);
    let wip = repo.rev(&heads(&format!("backup/sprint-5-{STAMP}")));
    assert_eq!(repo.rev(&format!("{wip}^")), main);
}

#[test]
fn without_n_and_without_a_number_in_the_branch_it_refuses() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    commit_history(&repo, 1);
    repo.write("notes.txt", "wip\n");
    for detach in [false, true] {
        if detach {
            repo.git(&["checkout", "-q", "--detach", "HEAD"]);
        }
        let before = repo.capture();
        let out = repo.tool(&["sprint", "rollback"]);
        out.assert_code(1);
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert!(out.stderr.starts_with("error:"), "{out}");
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line\n{out}");
        assert!(
            has_word(&out.stderr, "N") || out.stderr.to_lowercase().contains("number"),
            "the error names the missing argument\n{out}"
        );
        assert_same_state(&before, &repo.capture());
        assert!(!repo.exists("rollbacks"));
    }
}

#[test]
fn refuses_an_unborn_head() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "--orphan", SPRINT3]);
    repo.write("notes.txt", "wip\n");
    let before = repo.capture();
    let out = repo.tool(&["sprint", "rollback"]);
    out.assert_failure();
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn refuses_a_missing_baseline() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&["tag", "-d", "baseline"]);
    repo.write("notes.txt", "wip\n");
    let before = repo.capture();
    let out = repo.tool(&["sprint", "rollback"]);
    assert_refusal(&out, 1, "baseline");
    assert_same_state(&before, &repo.capture());
    assert!(!journal_path(repo).exists());
}

#[test]
fn refuses_in_the_middle_of_a_merge() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&["checkout", "-q", "-b", "other", &s.base]);
    repo.write("src/lib.rs", "// other side\n");
    repo.commit_all("other side");
    repo.git(&["checkout", "-q", SPRINT3]);
    let out = repo.git_output(&["merge", "other"]);
    assert!(!out.status.success(), "expected a merge conflict");
    let before = repo.capture();
    let out = repo.tool(&["sprint", "rollback"]);
    out.assert_failure();
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert!(out.stderr.to_lowercase().contains("merge"), "{out}");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn rollback_dry_run_changes_nothing_at_all() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(repo, "exit 1"),
    ]);
    dirty_everything(repo);
    let before = everything(repo);
    let out = repo.tool(&["-n", "sprint", "rollback", "--reason", "x"]);
    out.assert_ok();
    assert!(
        out.stdout.contains(BACKUP3),
        "the plan names the backup\n{out}"
    );
    assert!(
        out.stdout.contains(RETRY3),
        "the plan names the retry\n{out}"
    );
    assert!(
        out.stdout.contains("rollbacks/sprint-3"),
        "the plan names the reports folder\n{out}"
    );
    assert_nothing_changed(repo, &before);
    assert!(!repo.exists("rollbacks"), "a dry run wrote reports");
    assert!(!journal_path(repo).exists(), "a dry run wrote a journal");
    assert_eq!(runs(repo), 0, "a dry run ran the tests");
}

#[test]
fn a_non_empty_reports_folder_is_never_reused() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.write("rollbacks/sprint-3/old-notes.md", "from an earlier try\n");
    repo.write("notes.txt", "wip\n");
    let v = rollback(repo, &["--no-tests"]);
    assert_eq!(v["reports_dir"], "rollbacks/sprint-3-2");
    assert!(repo.exists("rollbacks/sprint-3-2/report.md"));
    assert!(!repo.exists("rollbacks/sprint-3/report.md"));
    assert_eq!(
        repo.read_string("rollbacks/sprint-3/old-notes.md"),
        "from an earlier try\n"
    );
    // Again, from the retry branch: the next free name.
    repo.write("notes.txt", "more wip\n");
    let v = rollback(repo, &["--no-tests"]);
    assert_eq!(v["reports_dir"], "rollbacks/sprint-3-3");
    assert!(repo.exists("rollbacks/sprint-3-3/report.md"));
}

#[test]
fn taken_backup_and_retry_names_get_a_suffix() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&["branch", BACKUP3, &s.base]);
    repo.git(&["branch", RETRY3, "HEAD~1"]);
    let old_retry = repo.rev(&heads(RETRY3));
    repo.write("notes.txt", "wip\n");
    let v = rollback(repo, &[]);
    assert_eq!(v["backup_branch"], format!("{BACKUP3}-2"));
    assert_eq!(v["retry_branch"], format!("{RETRY3}-2"));
    assert_eq!(
        repo.rev(&heads(BACKUP3)),
        s.base,
        "an existing branch was moved"
    );
    assert_eq!(
        repo.rev(&heads(RETRY3)),
        old_retry,
        "an existing branch was moved"
    );
    assert_eq!(repo.rev(&heads(&format!("{RETRY3}-2"))), s.base);
    assert_eq!(
        repo.rev(&heads(&format!("{BACKUP3}-2^"))),
        s.head(),
        "the WIP commit's parent is the old HEAD"
    );
    assert_eq!(
        repo.capture().head,
        format!("ref: {}", heads(&format!("{RETRY3}-2")))
    );
}

#[test]
fn runs_from_a_subdirectory() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    dirty_everything(repo);
    let before = repo.capture();
    repo.tool_in(&repo.abs("src"), &["sprint", "rollback", "--no-tests"])
        .assert_ok();
    assert!(repo.exists("rollbacks/sprint-3/report.md"));
    assert!(!repo.exists("src/rollbacks"));
    assert_eq!(repo.head(), s.base);
    repo.tool_in(&repo.abs("src"), &["undo"]).assert_ok();
    assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn everything_under_rollbacks_is_left_as_it_was() {
    // The baseline tracks an older metrics file and a report; the sprint
    // branch changed that report and tracks a report the baseline lacks;
    // an untracked and an ignored file sit there too. None of it may be
    // reverted or deleted, by the rollback or by its undo (I8).
    let repo = TestRepo::with_commits();
    repo.write("rollbacks/metrics.json", metrics_doc(&[team_entry(1)]));
    repo.write(
        "rollbacks/sprint-1/report.md",
        "# sprint 1, as of the baseline\n",
    );
    let base = repo.commit_all("reports of sprint 1");
    tag_baseline(&repo, &base);
    repo.git(&["config", "rollback.testCommand", FAILING_TESTS]);
    repo.git(&["checkout", "-q", "-b", SPRINT3]);
    repo.write(
        "rollbacks/metrics.json",
        metrics_doc(&[team_entry(1), team_entry(2)]),
    );
    repo.write(
        "rollbacks/sprint-1/report.md",
        "# sprint 1, amended later\n",
    );
    repo.write(
        "rollbacks/sprint-2/report.md",
        "# sprint 2, only on the branch\n",
    );
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    repo.commit_all("sprint 3 work and older reports");
    repo.write("rollbacks/notes.txt", "untracked notes\n");
    repo.write("rollbacks/debug.log", "ignored log\n");
    repo.write("src/main.rs", "fn main() { /* wip */ }\n");
    let reports = |state: &RepoState| -> Vec<(Vec<u8>, crate::common::FsEntry)> {
        state
            .files
            .entries
            .iter()
            .filter(|(k, _)| is_reports(k) && k.as_slice() != b"rollbacks/metrics.json")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let before = repo.capture();

    let v = rollback(&repo, &[]);
    assert_eq!(repo.head(), base);
    let after = repo.capture();
    let mut kept = reports(&after);
    kept.retain(|(k, _)| !k.starts_with(b"rollbacks/sprint-3"));
    assert_eq!(
        kept,
        reports(&before),
        "a file under rollbacks/ was reverted, deleted or added"
    );
    assert!(repo.exists("rollbacks/sprint-3/report.md"));
    assert_eq!(causes(&repo), ["cause 1", "cause 2", "tests failing"]);
    assert!(
        !repo.exists("src/feature.rs"),
        "the sprint's work is rolled back"
    );

    undo(&repo);
    let restored = repo.capture();
    assert_same_except_reports(&before, &restored);
    let mut kept = reports(&restored);
    kept.retain(|(k, _)| !k.starts_with(b"rollbacks/sprint-3"));
    assert_eq!(kept, reports(&before), "undo changed rollbacks/");
    let entries = metrics_entries(&repo);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["operation_id"], v["operation_id"]);
    assert_eq!(entries[2]["undone"], true);
}

#[test]
fn reports_dir_comes_from_git_config() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    repo.git(&["config", "rollback.reportsDir", "ops/reports"]);
    repo.write("notes.txt", "wip\n");
    let v = rollback(repo, &["--no-tests"]);
    assert_eq!(v["reports_dir"], "ops/reports/sprint-3");
    assert!(repo.exists("ops/reports/sprint-3/report.md"));
    assert!(repo.exists("ops/reports/metrics.json"));
    assert!(!repo.exists("rollbacks"));
}

/// Kill `sprint rollback` at `point`; the next command reports it and
/// `undo` restores the state before it.
fn rollback_crash_at(point: &str) {
    let s = sprint_repo(3);
    let repo = &s.repo;
    dirty_everything(repo);
    let before = repo.capture();
    let out = repo.tool_with_env(&["sprint", "rollback"], &[(FAULT_ENV, point)]);
    assert_eq!(out.code, -1, "expected a SIGKILL at {point}\n{out}");
    let status = repo.tool_ok(&["status"]);
    assert!(status.stderr.contains("interrupted"), "{point}\n{status}");
    repo.tool(&["checkpoint"]).assert_code(3);
    repo.tool_ok(&["undo"]);
    assert_same_except_reports(&before, &repo.capture());
    if repo.exists("rollbacks/metrics.json") {
        for e in metrics_entries(repo) {
            assert_eq!(e["undone"], true, "{point}: {e}");
        }
    }
    assert!(!repo.git_dir().join("index.lock").exists());
}

#[test]
fn rollback_killed_after_begin() {
    rollback_crash_at("after-begin");
}

#[test]
fn rollback_killed_after_ref() {
    rollback_crash_at("after-ref");
}

#[test]
fn rollback_killed_after_index() {
    rollback_crash_at("after-index");
}

#[test]
fn rollback_killed_before_end() {
    rollback_crash_at("before-end");
}

// ----- sprint finish -------------------------------------------------------------------

/// A baseline at `with_commits()`'s HEAD, the branch `refactor/sprint-3`
/// with two commits on top, clean, and a test command that passes (finish
/// runs it on HEAD's tree).
fn finish_repo() -> (TestRepo, String) {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", PASSING_TESTS]);
    tag_baseline(&repo, "HEAD");
    let old = repo.rev("refs/tags/baseline");
    repo.git(&["checkout", "-q", "-b", SPRINT3]);
    commit_history(&repo, 2);
    (repo, old)
}

/// `before` plus the moved baseline, the kept old one and the done tag.
#[track_caller]
fn assert_finished(repo: &TestRepo, before: &RepoState, old: &str, prev: &str, done: &str) {
    let head = repo.head();
    assert_eq!(repo.git(&["cat-file", "-t", "refs/tags/baseline"]), "tag");
    assert_eq!(repo.rev("baseline^{commit}"), head);
    assert_ne!(repo.rev("refs/tags/baseline"), old);
    assert_eq!(repo.rev(&tags(prev)), old, "the old tag object is kept");
    assert_eq!(repo.git(&["cat-file", "-t", &tags(done)]), "tag");
    assert_eq!(repo.rev(&format!("{}^{{commit}}", tags(done))), head);
    let mut want = before.clone();
    want.refs
        .insert(tags("baseline"), repo.rev("refs/tags/baseline"));
    want.refs.insert(tags(prev), old.to_string());
    want.refs.insert(tags(done), repo.rev(&tags(done)));
    assert_same_state(&want, &repo.capture());
}

#[test]
fn finish_moves_the_baseline_and_tags_the_sprint_done() {
    let (repo, old) = finish_repo();
    let head = repo.head();
    let before = repo.capture();
    let out = repo.tool(&["--json", "sprint", "finish"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["command"], "sprint");
    let id = op_id(&v);
    assert_eq!(v["sprint"], 3);
    assert_eq!(v["tag"], "sprint-3-done");
    assert_eq!(v["previous"], format!("baseline-prev-{STAMP}"));
    assert!(
        v["baseline"] == "baseline" || v["baseline"] == head.as_str(),
        "baseline: the tag name or the commit: {v}"
    );
    assert_finished(
        &repo,
        &before,
        &old,
        &format!("baseline-prev-{STAMP}"),
        "sprint-3-done",
    );

    let u = undo(&repo);
    assert_eq!(u["undoes"], id.as_str());
    assert_same_state(&before, &repo.capture());
}

#[test]
fn finish_with_explicit_n_on_main() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", PASSING_TESTS]);
    tag_baseline(&repo, "HEAD~1");
    let old = repo.rev("refs/tags/baseline");
    let before = repo.capture();
    let v = repo.tool_ok(&["--json", "sprint", "finish", "5"]).json();
    assert_eq!(v["sprint"], 5);
    assert_eq!(v["tag"], "sprint-5-done");
    assert_finished(
        &repo,
        &before,
        &old,
        &format!("baseline-prev-{STAMP}"),
        "sprint-5-done",
    );
}

#[test]
fn finish_at_the_baseline_keeps_no_previous() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", PASSING_TESTS]);
    tag_baseline(&repo, "HEAD");
    let old = repo.rev("refs/tags/baseline");
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-4"]);
    let before = repo.capture();
    let v = repo.tool_ok(&["--json", "sprint", "finish"]).json();
    assert_eq!(v["sprint"], 4);
    assert!(v["previous"].is_null(), "{v}");
    assert_eq!(v["tag"], "sprint-4-done");
    assert_eq!(
        repo.rev("refs/tags/baseline"),
        old,
        "the baseline tag was replaced"
    );
    assert!(repo.git(&["tag", "-l", "baseline-prev-*"]).is_empty());
    let mut want = before.clone();
    want.refs
        .insert(tags("sprint-4-done"), repo.rev(&tags("sprint-4-done")));
    assert_same_state(&want, &repo.capture());
    assert_eq!(repo.rev("sprint-4-done^{commit}"), repo.head());
    undo(&repo);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn finish_without_a_sprint_number_is_refused() {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", PASSING_TESTS]);
    tag_baseline(&repo, "HEAD~1");
    for detach in [false, true] {
        if detach {
            repo.git(&["checkout", "-q", "--detach", "HEAD"]);
        }
        let before = repo.capture();
        let out = repo.tool(&["sprint", "finish"]);
        out.assert_code(1);
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert!(out.stderr.starts_with("error:"), "{out}");
        assert!(
            has_word(&out.stderr, "N") || out.stderr.to_lowercase().contains("number"),
            "the error names the missing argument\n{out}"
        );
        assert_same_state(&before, &repo.capture());
    }
}

#[test]
fn finish_twice_is_refused() {
    let (repo, _) = finish_repo();
    repo.git(&["tag", "-a", "sprint-3-done", "-m", "done already", "HEAD~1"]);
    let before = repo.capture();
    let out = repo.tool(&["sprint", "finish"]);
    assert_refusal(&out, 1, "sprint-3-done");
    assert_same_state(&before, &repo.capture());
}

#[test]
fn finish_with_uncommitted_changes_only_warns() {
    let (repo, old) = finish_repo();
    dirty_everything(&repo);
    let before = repo.capture();
    let out = repo.tool(&["sprint", "finish"]);
    out.assert_ok();
    assert!(out.stderr.contains("warning:"), "expected a warning\n{out}");
    assert!(out.stderr.to_lowercase().contains("uncommitted"), "{out}");
    assert_finished(
        &repo,
        &before,
        &old,
        &format!("baseline-prev-{STAMP}"),
        "sprint-3-done",
    );
    undo(&repo);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn finish_prev_name_taken_gets_a_suffix() {
    let (repo, old) = finish_repo();
    let prev = format!("baseline-prev-{STAMP}");
    repo.git(&["tag", "-a", &prev, "-m", "an older one", "HEAD~2"]);
    let older = repo.rev(&tags(&prev));
    let before = repo.capture();
    let v = repo.tool_ok(&["--json", "sprint", "finish"]).json();
    assert_eq!(v["previous"], format!("{prev}-2"));
    assert_eq!(repo.rev(&tags(&prev)), older, "an existing tag was moved");
    assert_finished(&repo, &before, &old, &format!("{prev}-2"), "sprint-3-done");
}

#[test]
fn finish_dry_run_changes_nothing_at_all() {
    let (repo, _) = finish_repo();
    let before = everything(&repo);
    let out = repo.tool(&["-n", "sprint", "finish"]);
    out.assert_ok();
    assert!(out.stdout.contains("sprint-3-done"), "{out}");
    assert_nothing_changed(&repo, &before);
    assert!(!journal_path(&repo).exists(), "a dry run wrote a journal");
}

// ----- the whole lifecycle -------------------------------------------------------------------

#[test]
fn start_rollback_retry_finish() {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    let base = repo.head();
    repo.git(&["config", "rollback.testCommand", PASSING_TESTS]);

    start(&repo, &["3"]);
    assert_eq!(repo.capture().head, format!("ref: {}", heads(SPRINT3)));
    repo.write("src/feature.rs", "pub fn broken() {}\n");
    let failed = repo.commit_all("sprint 3: a broken attempt");
    repo.write("src/feature.rs", "pub fn broken() { /* more */ }\n");

    let v = rollback(&repo, &[]);
    assert_eq!(v["sprint"], 3);
    assert_eq!(repo.capture().head, format!("ref: {}", heads(RETRY3)));
    assert_eq!(repo.head(), base);
    assert!(!repo.exists("src/feature.rs"));
    let wip = repo.rev(&heads(BACKUP3));
    assert_eq!(repo.rev(&format!("{wip}^")), failed);
    assert_eq!(
        repo.git(&["show", &format!("{wip}:src/feature.rs")]),
        "pub fn broken() { /* more */ }"
    );

    repo.write("src/feature.rs", "pub fn fixed() {}\n");
    repo.git(&["add", "src/feature.rs"]);
    let good = repo.commit_staged("sprint 3: the retry works");
    let old = repo.rev("refs/tags/baseline");
    let v = repo.tool_ok(&["--json", "sprint", "finish"]).json();
    assert_eq!(v["sprint"], 3, "N from refactor/sprint-3-retry");
    assert_eq!(repo.rev("baseline^{commit}"), good);
    assert_eq!(repo.rev(&format!("baseline-prev-{STAMP}")), old);
    assert_eq!(repo.rev("sprint-3-done^{commit}"), good);
}

/// Enough changed files that the snapshot's blobs and trees are written as
/// one pack (from 64 on): the WIP tree is still git's, every object is on
/// disk for git, and undo is exact.
#[test]
fn a_large_dirty_tree_is_packed_and_matches_git() {
    let s = sprint_repo(3);
    let repo = &s.repo;
    for d in 0..12 {
        for f in 0..10 {
            repo.write(
                format!("many/d{d:02}/sub/f{f:02}.txt"),
                format!("file {d} {f}\n"),
            );
        }
    }
    repo.git(&["add", "many/d00", "many/d01"]);
    repo.write("many/d00/sub/f00.txt", "changed after staging\n");
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    b + a\n}\n",
    );
    let before = repo.capture();
    let wip_tree = tree_of_work_tree(repo);

    rollback(repo, &["--no-tests"]);
    assert_eq!(
        repo.rev(&format!("{BACKUP3}^{{tree}}")),
        wip_tree,
        "the WIP commit is not the dirty tree"
    );
    let fsck = repo.git_output(&["fsck", "--full", "--strict"]);
    assert!(fsck.status.success(), "{fsck:?}");
    assert!(!repo.exists("many"), "untracked files were left behind");

    undo(repo);
    assert_same_except_reports(&before, &repo.capture());
}
