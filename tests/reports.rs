//! Tests of the reports: `analyze`, `notify` and `triage` (README: the
//! reports).
//!
//! Each test makes its rollbacks with the real tool (`emergency`, `sprint
//! rollback`) in a real repository, then reads what the report says. None
//! of the three changes the repository: `analyze` writes only its own folder
//! (and leaves no journal entry), the other two write nothing, so the tests
//! compare whole captures around them. The interactive `triage` runs in a
//! real pseudo-terminal ([`Pty`]) and answers dialoguer's prompts key by key.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::pty::{strip_ansi, Pty};
use crate::common::{
    assert_nothing_changed, assert_same_dir, assert_same_state, capture_dir, commit_history,
    everything, DirState, RepoState, TestRepo, ToolOutput,
};

/// `GIT_ROLLBACK_SPRINT_NOW` of the harness (`DEFAULT_NOW`) as a name stamp.
const ANALYSIS: &str = "rollbacks/analysis-20261121_100405";
const BACKUP_SPRINT: &str = "backup/sprint-3-20261121_100405";
const BACKUP_EMERGENCY: &str = "backup/emergency-20261121_100405";
const RETRY: &str = "refactor/sprint-3-retry";
const STASH_MESSAGE: &str = "EMERGENCY: State before rollback 20261121_100405";
/// A test command whose output says 5 passed and 17 failed, exit code 1.
const FAILING_TESTS: &str =
    "echo 'suite: test_feature FAILED (expected 3, got 4)'; echo '5 passed, 17 failed'; exit 1";
const PROMPT_TIMEOUT: Duration = Duration::from_secs(15);

// ----- helpers -----------------------------------------------------------------

fn short(id: &str) -> &str {
    &id[..8]
}

/// Tag `rev` as the baseline, the way a team would by hand.
fn tag_baseline(repo: &TestRepo, rev: &str) {
    repo.git(&["tag", "-a", "baseline", "-m", "known good", rev]);
}

/// `with_commits()`, the baseline at its HEAD, a failing test command, and
/// the branch `refactor/sprint-3` with two commits (one changes the
/// configuration). Returns the repository and the baseline commit.
fn sprint_repo() -> (TestRepo, String) {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    repo.git(&["config", "rollback.testCommand", FAILING_TESTS]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-3"]);
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.commit_all("sprint: half-done refactor");
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    8\n}\n");
    repo.commit_all("sprint: wire the feature in");
    (repo, base)
}

/// `with_commits()`, the baseline at its HEAD, one newer commit on `main`
/// and uncommitted work (a change and an untracked file).
fn emergency_repo() -> (TestRepo, String) {
    let repo = TestRepo::with_commits();
    let base = repo.head();
    tag_baseline(&repo, &base);
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.commit_all("hotfix attempt");
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    );
    repo.write("notes.txt", "what I tried\n");
    (repo, base)
}

/// Run the tool with `--json`, assert success, return the object.
#[track_caller]
fn json_ok(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = repo.tool(&all);
    out.assert_ok();
    out.json()
}

/// The state without the analysis folders, which is all `analyze` writes.
fn without_analyses(state: &(RepoState, DirState)) -> (RepoState, DirState) {
    let mut s = state.clone();
    s.0.files
        .entries
        .retain(|k, _| !k.starts_with(b"rollbacks/analysis-"));
    s
}

#[track_caller]
fn assert_one_line_error(out: &ToolOutput, code: i32, needle: &str) {
    out.assert_code(code).assert_one_line_error();
    assert!(
        out.stderr.contains(needle),
        "expected {needle:?} in the error\n{out}"
    );
}

/// Graph rows of `git_graph.txt`: lines whose graph part holds a `*`.
fn graph_rows(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            l.chars()
                .take_while(|c| " |/\\*".contains(*c))
                .any(|c| c == '*')
        })
        .collect()
}

/// A graph line without its decoration: `* 1a2b3c4d (HEAD -> main) s` →
/// `* 1a2b3c4d s`.
fn undecorated(line: &str) -> String {
    let graph_len = line
        .find(|c: char| !" |/\\*".contains(c))
        .unwrap_or(line.len());
    let (graph, rest) = line.split_at(graph_len);
    match rest.get(8..).and_then(|r| r.strip_prefix(" (")) {
        Some(after) => match after.find(") ") {
            Some(end) => format!("{graph}{} {}", &rest[..8], &after[end + 2..]),
            None => line.to_string(),
        },
        None => line.to_string(),
    }
}

/// The text with its code spans (`` `…` ``, ``` ``…`` ```) left out.
fn outside_code_spans(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('`') {
        out.push_str(&rest[..at]);
        if rest[..at].ends_with('\\') {
            // An escaped backtick opens nothing.
            out.push('`');
            rest = &rest[at + 1..];
            continue;
        }
        let run = rest[at..].len() - rest[at..].trim_start_matches('`').len();
        let fence = &rest[at..at + run];
        let body = &rest[at + run..];
        // The span ends at the next run of exactly as many backticks.
        let mut end = None;
        let mut from = 0;
        while let Some(i) = body[from..].find(fence) {
            let i = from + i;
            let after = body[i + run..].starts_with('`');
            let before = i > 0 && body.as_bytes()[i - 1] == b'`';
            if !after && !before {
                end = Some(i);
                break;
            }
            from = i + 1;
        }
        match end {
            Some(i) => rest = &body[i + run..],
            None => {
                out.push_str(fence);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

// ----- analyze -----------------------------------------------------------------

#[test]
fn analyze_writes_every_file_after_a_sprint_rollback() {
    let (repo, base) = sprint_repo();
    repo.tool_ok(&["sprint", "rollback", "--reason", "tests failing"]);
    let before = everything(&repo);

    let v = json_ok(&repo, &["analyze"]);
    assert_eq!(v["command"], "analyze");
    assert_eq!(v["dir"], ANALYSIS);
    assert_eq!(v["baseline"]["commit"], base.as_str());
    assert_eq!(v["failed_branch"]["name"], BACKUP_SPRINT);
    assert_eq!(v["tests"]["passed"], 5);
    assert_eq!(v["tests"]["failed"], 17);
    for file in [
        "analysis.md",
        "git_reflog.txt",
        "git_graph.txt",
        "test_results.txt",
        "environment.txt",
    ] {
        assert!(
            repo.exists(format!("{ANALYSIS}/{file}")),
            "{file} is missing"
        );
    }
    // Only the folder was written: no ref, no index, no journal entry.
    assert_same_state(&before.0, &without_analyses(&everything(&repo)).0);
    assert_same_dir(&before.1, &capture_dir(&repo.git_dir()));

    // The reflog: every entry of `git reflog`, newest first.
    let reflog = repo.read_string(format!("{ANALYSIS}/git_reflog.txt"));
    let git_reflog = repo.git(&["log", "-g", "--format=%H%x09%gs", "HEAD"]);
    let ours: Vec<&str> = reflog.lines().filter(|l| l.contains(" HEAD@{")).collect();
    assert_eq!(ours.len(), git_reflog.lines().count(), "{reflog}");
    for (n, (line, theirs)) in ours.iter().zip(git_reflog.lines()).enumerate() {
        let (id, subject) = theirs.split_once('\t').unwrap();
        assert!(
            line.starts_with(&format!("{} HEAD@{{{n}}}: ", short(id))),
            "{line:?} vs {theirs:?}"
        );
        assert!(line.ends_with(subject), "{line:?} vs {theirs:?}");
    }
    assert!(reflog.contains("sprint rollback --reason"), "{reflog}");

    // The graph: the four commits, the branches and tags on them.
    let graph = repo.read_string(format!("{ANALYSIS}/git_graph.txt"));
    assert_eq!(graph_rows(&graph).len(), 4, "{graph}");
    assert!(
        graph.contains(&format!(
            "(HEAD -> {RETRY}, tag: baseline, main) add sources"
        )),
        "{graph}"
    );
    assert!(
        graph.contains(&format!(
            "({BACKUP_SPRINT}, refactor/sprint-3) sprint: wire"
        )),
        "{graph}"
    );

    // The tests, run on the work tree as it is now.
    let tests = repo.read_string(format!("{ANALYSIS}/test_results.txt"));
    assert!(
        tests.starts_with(&format!("$ {FAILING_TESTS}\n")),
        "{tests}"
    );
    assert!(tests.contains("5 passed, 17 failed\n"), "{tests}");
    assert!(
        tests.contains("\npassed: 5\nfailed: 17\nexit code: 1\n"),
        "{tests}"
    );

    let env = repo.read_string(format!("{ANALYSIS}/environment.txt"));
    assert!(
        env.contains(&format!(
            "git-rollback-sprint {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{env}"
    );
    for needle in [
        "[disk",
        "used: ",
        "available: ",
        "[memory",
        "uname: ",
        "os: ",
    ] {
        assert!(env.contains(needle), "{needle}\n{env}");
    }
    if Path::new("/proc/meminfo").exists() {
        assert!(env.contains("MemTotal: "), "{env}");
    }

    let md = repo.read_string(format!("{ANALYSIS}/analysis.md"));
    for needle in [
        format!("| Last good commit | the baseline `baseline` at {}: add sources |", short(&base)),
        format!("| Failed branch | `{BACKUP_SPRINT}` at"),
        "| Failed work | 2 commit(s), 2 file(s) beyond the last good commit |".to_string(),
        "5 passed, 17 failed".to_string(),
        "Level 2 sprint rollback, high: tests failing".to_string(),
        "`git rollback-sprint sprint rollback --reason 'tests failing'`".to_string(),
        "- [x] Failing tests: 17 failed in the failed sprint (`rollbacks/sprint-3/test_failures.txt`)"
            .to_string(),
        "- [x] Configuration changed: `config/settings.toml`".to_string(),
        "- [ ] Dependencies changed: nothing found".to_string(),
        // The same advice as the console and report.md: the sprint branch.
        "`git rollback-sprint recover refactor/sprint-3`".to_string(),
        format!("`git log --oneline baseline..{BACKUP_SPRINT}`"),
        "`git rollback-sprint notify`".to_string(),
    ] {
        assert!(md.contains(&needle), "expected {needle:?} in analysis.md\n{md}");
    }
}

#[test]
fn the_graph_shows_at_most_20_commits() {
    let (repo, _) = sprint_repo();
    commit_history(&repo, 25);
    repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    repo.tool_ok(&["analyze", "--no-tests"]);
    let graph = repo.read_string(format!("{ANALYSIS}/git_graph.txt"));
    let rows = graph_rows(&graph);
    assert_eq!(rows.len(), 20, "{graph}");
    assert!(
        rows[0].contains(&format!(
            "({BACKUP_SPRINT}, refactor/sprint-3) history: add file 24"
        )),
        "{graph}"
    );
}

#[test]
fn the_graph_draws_branches_as_git_does() {
    let (repo, _) = sprint_repo();
    repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    repo.write("src/retry.rs", "// a smaller step\n");
    repo.commit_all("retry: a smaller step");
    repo.tool_ok(&["analyze", "--no-tests"]);
    let graph = repo.read_string(format!("{ANALYSIS}/git_graph.txt"));
    let ours: Vec<String> = graph.lines().map(undecorated).collect();
    let args = [
        "log",
        "--graph",
        "--date-order",
        "--abbrev=8",
        "--format=%h %s",
        "--branches",
        "--tags",
        "HEAD",
        "-20",
    ];
    let git = repo.git(&args);
    let theirs: Vec<String> = git.lines().map(|l| l.trim_end().to_string()).collect();
    assert_eq!(ours, theirs, "ours:\n{graph}\ngit:\n{git}");
    assert!(graph.contains("|/"), "{graph}");

    // A merge opens a lane.
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "merge the sprint",
        BACKUP_SPRINT,
    ]);
    repo.tool_ok(&["analyze", "--no-tests"]);
    let graph = repo.read_string(format!("{ANALYSIS}-2/git_graph.txt"));
    let ours: Vec<String> = graph.lines().map(undecorated).collect();
    let git = repo.git(&args);
    let theirs: Vec<String> = git.lines().map(|l| l.trim_end().to_string()).collect();
    assert_eq!(ours, theirs, "ours:\n{graph}\ngit:\n{git}");
    assert!(graph.contains("|\\"), "{graph}");
}

#[test]
fn analyze_after_an_emergency_names_the_backup_and_the_stash() {
    let (repo, base) = emergency_repo();
    repo.tool_ok(&["emergency", "--reason", "prod down"]);
    let v = json_ok(&repo, &["analyze", "--no-tests"]);
    assert_eq!(v["failed_branch"]["name"], BACKUP_EMERGENCY);
    assert!(v["tests"].is_null());
    let reflog = repo.read_string(format!("{ANALYSIS}/git_reflog.txt"));
    assert!(reflog.contains("stash@{0}: "), "{reflog}");
    assert!(reflog.contains(STASH_MESSAGE), "{reflog}");
    let tests = repo.read_string(format!("{ANALYSIS}/test_results.txt"));
    assert!(tests.contains("not run: --no-tests"), "{tests}");
    let md = repo.read_string(format!("{ANALYSIS}/analysis.md"));
    for needle in [
        format!("the baseline `baseline` at {}", short(&base)),
        format!("| Failed branch | `{BACKUP_EMERGENCY}` at"),
        "Level 1 emergency rollback, critical: prod down".to_string(),
        "`git stash list`".to_string(),
        "not run (`--no-tests`)".to_string(),
    ] {
        assert!(md.contains(&needle), "expected {needle:?}\n{md}");
    }
}

#[test]
fn analyze_dry_run_prints_the_plan_and_changes_nothing() {
    let (repo, _) = sprint_repo();
    repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    let runs = repo.tmp_dir().join("runs.txt");
    repo.git(&[
        "config",
        "rollback.testCommand",
        &format!("echo run >> '{}'", runs.display()),
    ]);
    let before = everything(&repo);
    let out = repo.tool_ok(&["analyze", "--dry-run"]);
    assert_nothing_changed(&repo, &before);
    assert!(!repo.exists(ANALYSIS));
    assert!(!runs.exists(), "a dry run ran the tests");
    for needle in [
        "Would:",
        &format!("create the folder {ANALYSIS}/"),
        "git_reflog.txt",
        "git_graph.txt",
        "run `echo run >> ",
        "environment.txt",
        &format!("failed branch {BACKUP_SPRINT}"),
    ] {
        assert!(out.stdout.contains(needle), "{needle}\n{out}");
    }
    let v = json_ok(&repo, &["analyze", "-n"]);
    assert_eq!(v["dry_run"], true);
    assert!(v["plan"].as_array().is_some_and(|p| p.len() == 6), "{v}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn analyze_twice_never_overwrites_a_folder() {
    let (repo, _) = sprint_repo();
    repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    let first = json_ok(&repo, &["analyze", "--no-tests"]);
    assert_eq!(first["dir"], ANALYSIS);
    let kept = capture_dir(&repo.path().join(ANALYSIS));
    let second = json_ok(&repo, &["analyze", "--no-tests"]);
    assert_eq!(second["dir"], format!("{ANALYSIS}-2"));
    assert!(repo.exists(format!("{ANALYSIS}-2/analysis.md")));
    assert_same_dir(&kept, &capture_dir(&repo.path().join(ANALYSIS)));
    let out = repo.tool_ok(&["analyze", "--no-tests"]);
    assert!(out.stdout.contains(&format!("{ANALYSIS}-3/")), "{out}");
}

#[test]
fn analyze_output_goes_where_asked_relative_to_the_current_directory() {
    let (repo, _) = sprint_repo();
    repo.tool_ok(&["sprint", "rollback", "--no-tests"]);
    let out = repo.tool_in(
        &repo.path().join("docs"),
        &[
            "analyze",
            "--no-tests",
            "--output",
            "../../elsewhere/analysis",
        ],
    );
    out.assert_ok();
    let dir: PathBuf = repo.root().join("elsewhere/analysis");
    for file in ["analysis.md", "git_graph.txt", "environment.txt"] {
        assert!(dir.join(file).is_file(), "{file}\n{out}");
    }
    assert!(out.stdout.contains("../../elsewhere/analysis"), "{out}");
    assert!(!repo.exists(ANALYSIS));

    // Never over an earlier analysis.
    let before = everything(&repo);
    let kept = capture_dir(&dir);
    let again = repo.tool(&["analyze", "--no-tests", "--output", dir.to_str().unwrap()]);
    assert_one_line_error(&again, 1, "already holds an analysis");
    assert_same_dir(&kept, &capture_dir(&dir));
    assert_nothing_changed(&repo, &before);
}

#[test]
fn reasons_cannot_break_out_of_the_markdown() {
    let (repo, _) = emergency_repo();
    let reason = "oops\n# Injected heading\n<img src=x onerror=alert(1)> [link](http://x) `code`";
    repo.tool_ok(&["emergency", "--reason", reason]);
    repo.tool_ok(&["analyze", "--no-tests"]);
    let md = repo.read_string(format!("{ANALYSIS}/analysis.md"));
    let notice = repo.tool_ok(&["notify"]).stdout;
    for text in [&md, &notice] {
        assert!(!text.lines().any(|l| l.starts_with("# Injected")), "{text}");
        // The command line as typed is shown in a code span, where
        // markdown and HTML are inert; everywhere else they are escaped.
        let prose = outside_code_spans(text);
        assert!(!prose.replace("\\<", "").contains("<img"), "{prose}");
        assert!(!prose.contains("[link](http"), "{prose}");
        assert!(text.contains("oops # Injected heading \\<img"), "{text}");
    }
}

// ----- notify ------------------------------------------------------------------

#[test]
fn notify_after_an_emergency() {
    let (repo, base) = emergency_repo();
    let emergency = json_ok(&repo, &["emergency", "--reason", "prod down"]);
    let id = emergency["operation_id"].as_str().unwrap().to_string();
    let before = everything(&repo);
    let out = repo.tool_ok(&["notify"]);
    assert_nothing_changed(&repo, &before);
    let expected = [
        "## Rollback notice".to_string(),
        "* **Sprint:** none (outside a sprint)".to_string(),
        "* **Time:** 2026-11-21T10:04:05+00:00".to_string(),
        "* **Severity:** critical".to_string(),
        "* **What happened:** Level 1 emergency rollback — cause: prod down".to_string(),
        format!(
            "* Uncommitted work (untracked files included) stashed as `stash@{{0}}`: `{STASH_MESSAGE}`"
        ),
        format!("* Old HEAD kept on the backup branch `{BACKUP_EMERGENCY}`"),
        format!("* `main` hard-reset to the baseline `baseline` ({})", short(&base)),
        format!("`git rollback-sprint undo {id}`"),
        format!("* **Safe:** the baseline `baseline` at {}", short(&base)),
        format!(
            "* **Failed:** `{BACKUP_EMERGENCY}` at {}",
            short(&repo.rev(BACKUP_EMERGENCY))
        ),
        format!(
            "* **Recovery:** none yet — bring the good commits back with `git rollback-sprint recover {BACKUP_EMERGENCY}`"
        ),
    ];
    for needle in &expected {
        assert!(out.stdout.contains(needle.as_str()), "{needle}\n{out}");
    }

    let v = json_ok(&repo, &["notify"]);
    assert_eq!(v["command"], "notify");
    assert_eq!(v["kind"], "emergency");
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["cause"], "prod down");
    assert!(v["sprint"].is_null());
    assert_eq!(v["operation_id"], id.as_str());
    assert_eq!(v["stash"], "stash@{0}");
    assert_eq!(v["stash_message"], STASH_MESSAGE);
    assert_eq!(v["backup_branch"], BACKUP_EMERGENCY);
    assert_eq!(v["branches"]["safe"]["commit"], base.as_str());
    assert_eq!(v["branches"]["failed"]["name"], BACKUP_EMERGENCY);
    assert!(v["branches"]["recovery"].is_null());
    assert_eq!(v["markdown"].as_str().unwrap(), out.stdout);

    // A recovery branch shows up in the branch status.
    repo.git(&["branch", "recovery/20261121_110000", "baseline"]);
    let out = repo.tool_ok(&["notify"]);
    assert!(
        out.stdout.contains(&format!(
            "* **Recovery:** `recovery/20261121_110000` at {}",
            short(&base)
        )),
        "{out}"
    );
}

#[test]
fn notify_after_a_sprint_rollback() {
    let (repo, base) = sprint_repo();
    repo.tool_ok(&[
        "sprint",
        "rollback",
        "--severity",
        "P1",
        "--reason",
        "tests failing",
    ]);
    let out = repo.tool_ok(&["notify"]);
    for needle in [
        "## Rollback notice: sprint 3".to_string(),
        "* **Sprint:** 3".to_string(),
        "* **Severity:** high".to_string(),
        "* **What happened:** Level 2 sprint rollback — cause: tests failing".to_string(),
        format!(
            "* Work in progress committed on the backup branch `{BACKUP_SPRINT}` (the sprint branch `refactor/sprint-3` did not move)"
        ),
        format!("* Switched to the retry branch `{RETRY}` at the baseline"),
        "* Failure report: `rollbacks/sprint-3/report.md`".to_string(),
        "* 2 file(s) changed".to_string(),
        format!("* **Safe:** the baseline `baseline` at {}", short(&base)),
        format!("* **Failed:** `{BACKUP_SPRINT}` at"),
    ] {
        assert!(out.stdout.contains(&needle), "{needle}\n{out}");
    }
    let v = json_ok(&repo, &["notify"]);
    assert_eq!(v["sprint"], 3);
    assert_eq!(v["kind"], "sprint");
    assert_eq!(v["retry_branch"], RETRY);
    assert_eq!(v["reports_dir"], "rollbacks/sprint-3");
    assert!(v["stash"].is_null());
}

#[test]
fn notify_skips_undone_rollbacks() {
    let (repo, _) = sprint_repo();
    let first = json_ok(
        &repo,
        &["sprint", "rollback", "--no-tests", "--reason", "first"],
    );
    // On the retry branch, at the baseline: an emergency stashes the work.
    repo.write("scratch.txt", "panic\n");
    repo.set_now("2026-11-21T11:00:00+00:00");
    repo.tool_ok(&["emergency", "--reason", "second"]);
    assert_eq!(json_ok(&repo, &["notify"])["cause"], "second");

    repo.tool_ok(&["undo"]);
    let v = json_ok(&repo, &["notify"]);
    assert_eq!(v["cause"], "first");
    assert_eq!(v["kind"], "sprint");

    repo.tool_ok(&["undo", first["operation_id"].as_str().unwrap()]);
    let before = everything(&repo);
    let out = repo.tool(&["notify"]);
    assert_one_line_error(&out, 1, "no rollback is recorded in rollbacks/metrics.json");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn notify_without_a_rollback_is_a_one_line_error() {
    let repo = TestRepo::with_commits();
    let before = everything(&repo);
    let out = repo.tool(&["notify"]);
    assert_one_line_error(&out, 1, "no rollback is recorded");
    let v = repo.tool(&["--json", "notify"]).json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "notify");
    assert_eq!(v["error"]["exit_code"], 1);
    assert_nothing_changed(&repo, &before);
}

#[test]
fn notify_reads_entries_of_the_team_script() {
    let repo = TestRepo::with_commits();
    repo.write(
        "rollbacks/metrics.json",
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/team-metrics.json"))
            .unwrap(),
    );
    let out = repo.tool_ok(&["notify"]);
    for needle in [
        "## Rollback notice: sprint 2",
        "* **Time:** 2026-10-19T09:12:55+02:00",
        "* **Severity:** critical",
        "rollback recorded in the metrics — cause: production outage",
        "* None recorded: this rollback was not made with git-rollback-sprint.",
    ] {
        assert!(out.stdout.contains(needle), "{needle}\n{out}");
    }
}

#[test]
fn a_corrupt_metrics_file_is_reported_and_left_alone() {
    let (repo, _) = emergency_repo();
    repo.tool_ok(&["emergency"]);
    repo.write("rollbacks/metrics.json", "{ not json");
    let before = everything(&repo);
    let out = repo.tool(&["notify"]);
    assert_one_line_error(&out, 1, "metrics.json is corrupt");
    assert_nothing_changed(&repo, &before);

    // The analysis goes on without the metrics, and says why.
    let out = repo.tool_ok(&["analyze", "--no-tests"]);
    assert!(out.stderr.contains("metrics.json is corrupt"), "{out}");
    assert_eq!(repo.read_string("rollbacks/metrics.json"), "{ not json");
    let md = repo.read_string(format!("{ANALYSIS}/analysis.md"));
    assert!(md.contains("| Latest rollback | none recorded |"), "{md}");
    assert!(md.contains("`git rollback-sprint emergency`"), "{md}");
}

// ----- triage ------------------------------------------------------------------

#[test]
fn triage_with_a_severity_recommends_the_level_and_the_command() {
    let (repo, _) = sprint_repo();
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "critical",
            "critical",
            Value::from(1),
            "git rollback-sprint emergency --severity critical --reason \"<what broke>\"",
        ),
        (
            "P0",
            "critical",
            Value::from(1),
            "git rollback-sprint emergency --severity critical",
        ),
        (
            "high",
            "high",
            Value::from(2),
            "git rollback-sprint sprint rollback --severity high --reason \"<what failed>\"",
        ),
        (
            "p1",
            "high",
            Value::from(2),
            "git rollback-sprint sprint rollback --severity high",
        ),
        (
            "Medium",
            "medium",
            Value::from(3),
            "git rollback-sprint files <path>…",
        ),
        ("P2", "medium", Value::from(3), "git rollback-sprint files"),
        (
            "low",
            "low",
            Value::Null,
            "fix forward: commit the fix and run the tests",
        ),
        ("P3", "low", Value::Null, "fix forward"),
    ];
    let before = everything(&repo);
    for (given, severity, level, command) in cases {
        let out = repo.tool_ok(&["triage", "--severity", given]);
        assert!(out.stdout.contains(command), "{given}: {command}\n{out}");
        assert!(
            out.stdout.contains(&format!("Severity: {severity}")),
            "{out}"
        );
        let v = json_ok(&repo, &["triage", "--severity", given]);
        assert_eq!(v["command"], "triage");
        assert_eq!(v["severity"], *severity, "{given}");
        assert_eq!(v["level"], *level, "{given}");
        assert!(v["answers"].is_null());
        assert!(
            v["recommended_command"]
                .as_str()
                .unwrap()
                .starts_with(command),
            "{given}: {v}"
        );
    }
    assert_nothing_changed(&repo, &before);

    // Off a sprint branch, the sprint number has to be given.
    repo.git(&["checkout", "-q", "main"]);
    let out = repo.tool_ok(&["triage", "--severity", "high"]);
    assert!(
        out.stdout.contains("sprint rollback <N> --severity high"),
        "{out}"
    );
}

#[test]
fn triage_refuses_an_unknown_severity() {
    let repo = TestRepo::with_commits();
    let before = everything(&repo);
    let out = repo.tool(&["triage", "--severity", "P7"]);
    assert_one_line_error(&out, 2, "unknown severity `p7`");
    assert!(
        out.stderr.contains("critical, high, medium or low"),
        "{out}"
    );
    assert_nothing_changed(&repo, &before);
}

#[test]
fn triage_without_a_terminal_names_the_flag_at_once() {
    let repo = TestRepo::with_commits();
    let before = everything(&repo);
    for out in [
        {
            let started = Instant::now();
            let out = repo.tool(&["triage"]);
            assert!(started.elapsed() < Duration::from_secs(5), "it waited");
            out
        },
        repo.tool_with_stdin(&["triage"], b"n\ny\n"),
        repo.tool(&["--yes", "triage"]),
    ] {
        assert_one_line_error(&out, 2, "--severity");
    }
    let v = repo.tool(&["--json", "triage"]).json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["exit_code"], 2);
    assert_nothing_changed(&repo, &before);
}

/// Answer the triage questions on a terminal: `keys[i]` for question `i`.
fn triage_on_a_terminal(repo: &TestRepo, args: &[&str], keys: &[&str]) -> (i32, String) {
    const QUESTIONS: [&str; 4] = [
        "Can it be fixed forward in 30 minutes? [y/N]",
        "Is data at risk? [y/N]",
        "Are users affected? [y/N]",
        "Is it just test failures? [y/N]",
    ];
    let mut pty = Pty::spawn(repo, args);
    for (question, key) in QUESTIONS.iter().zip(keys) {
        pty.expect(question, PROMPT_TIMEOUT);
        pty.send(key);
    }
    let code = pty.wait(PROMPT_TIMEOUT);
    (code, pty.output())
}

#[test]
fn triage_asks_on_a_terminal_data_at_risk_is_critical() {
    let (repo, _) = sprint_repo();
    let before = everything(&repo);
    let (code, screen) = triage_on_a_terminal(&repo, &["triage"], &["n", "y"]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("Can it be fixed forward in 30 minutes? no"),
        "{screen}"
    );
    assert!(screen.contains("Is data at risk? yes"), "{screen}");
    assert!(
        !screen.contains("Are users affected?"),
        "asked too much\n{screen}"
    );
    assert!(screen.contains("Severity: critical (P0)"), "{screen}");
    assert!(
        screen.contains(
            "git rollback-sprint emergency --severity critical --reason \"<what broke>\""
        ),
        "{screen}"
    );
    assert_nothing_changed(&repo, &before);
}

#[test]
fn triage_asks_on_a_terminal_every_path_of_the_matrix() {
    let (repo, _) = sprint_repo();
    // Enter takes the default, no.
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["y"],
            "low",
            "fix forward: commit the fix and run the tests",
        ),
        (
            &["n", "n", "y"],
            "high",
            "git rollback-sprint sprint rollback --severity high",
        ),
        (
            &["\r", "N", "n", "Y"],
            "medium",
            "git rollback-sprint files <path>…",
        ),
        (
            &["n", "n", "n", "n"],
            "high",
            "git rollback-sprint sprint rollback --severity high",
        ),
    ];
    for (keys, severity, command) in cases {
        let (code, screen) = triage_on_a_terminal(&repo, &["triage"], keys);
        assert_eq!(code, 0, "{keys:?}\n{screen}");
        assert!(
            screen.contains(&format!("Severity: {severity}")),
            "{keys:?}\n{screen}"
        );
        assert!(screen.contains(command), "{keys:?}\n{screen}");
    }

    // --json on a terminal: the answers, in the order asked.
    let (code, screen) = triage_on_a_terminal(&repo, &["--json", "triage"], &["n", "n", "y"]);
    assert_eq!(code, 0, "{screen}");
    let line = screen
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["severity"], "high");
    assert_eq!(v["level"], 2);
    assert_eq!(
        v["answers"],
        serde_json::json!({
            "fix_forward_in_30_minutes": false,
            "data_at_risk": false,
            "users_affected": true,
        })
    );
    let keys: Vec<&String> = v["answers"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "fix_forward_in_30_minutes",
            "data_at_risk",
            "users_affected"
        ]
    );
}

#[test]
fn the_pty_harness_strips_escape_sequences() {
    assert_eq!(
        strip_ansi("\x1b[?25l\x1b[1mQ?\x1b[0m [y/N] \r\x1b[2Kdone\r\n\x1b]0;title\x07ok"),
        "Q? [y/N] done\nok"
    );
}
