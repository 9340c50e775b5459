//! What every command prints, pinned: one realistic sequence of the tool's
//! commands on a fixed-date repository, run twice — once for the human
//! output (`--color never`, stdout and stderr), once with `--json` — and
//! each command's output compared with its snapshot in `snapshots/`.
//!
//! The sandbox makes the runs reproducible: commit dates and names are
//! fixed by the harness, and the tool's clock (`GIT_ROLLBACK_SPRINT_NOW`)
//! advances one minute per step. Only what truly varies is replaced:
//! the temporary directory (`[ROOT]`), operation ids, which are random
//! (`[op N]`, numbered in journal order), measured durations
//! (`[duration]`), the size of saved files, which hold such durations
//! (`[size]`), and how full the machine's disk is (`disk [N]% used`).
//! The demo's sandbox is a repository of its own whose ids differ from
//! run to run, so its commit and operation ids are `[id]`, and the recovery
//! time it measures is `[minutes]`; the manual page is pinned from its
//! NAME section, after the header's date.
//!
//! A changed output fails here with a diff; `INSTA_UPDATE=always` (or
//! `cargo insta review`) writes the new snapshots to commit with the
//! change. The README's list of JSON fields is checked against the same
//! `--json` runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::common::{TestRepo, TOOL_BIN};

/// The tool's clock at the first step, in minutes after midnight on
/// 2026-11-21 (UTC); each step is a minute later.
const START_MINUTE: u32 = 10 * 60;

/// Keys whose values are measured times. (`freed_bytes`, the size of
/// saved files that record such times, is replaced too.)
const DURATION_KEYS: &[&str] = &[
    "duration_ms",
    "duration_seconds",
    // drill's times, and the slowest of them in `metrics`.
    "rollback_seconds",
    "verify_seconds",
    "undo_seconds",
    "copy_seconds",
    "seconds",
];

/// One command run of the JSON sequence, kept for the README check.
#[derive(Clone, Debug)]
struct JsonRun {
    /// The README row it belongs to (`baseline set`, `check --hook`, …).
    doc: &'static str,
    args: Vec<String>,
    stdout: Value,
    /// It wrote an operation to the journal.
    journaled: bool,
    dry_run: bool,
}

/// How a run's output is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Human,
    Json,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Human => "human",
            Mode::Json => "json",
        }
    }
}

struct Sequence {
    repo: TestRepo,
    /// PATH for the tool.
    path: String,
    mode: Mode,
    step: u32,
    /// Operation ids in journal order.
    ids: Vec<String>,
    runs: Vec<JsonRun>,
    /// Keep only the first lines of stdout (of `script` or `page` in
    /// JSON), from the first line that starts with `brief_from` when set.
    brief: bool,
    brief_from: Option<&'static str>,
    /// Output made in a repository of its own (`demo`): its commit and
    /// operation ids, which the sequence never sees, become `[id]`, and the
    /// recovery minutes it measures on the real clock `[minutes]`.
    own_repo: bool,
}

/// How many lines of a long output a brief snapshot keeps.
const BRIEF_LINES: usize = 3;

/// The first lines of `text`, from the first that starts with `from`.
fn first_lines(text: &str, from: Option<&str>) -> String {
    let skipped = match from {
        Some(from) => text.lines().take_while(|l| !l.starts_with(from)).count(),
        None => 0,
    };
    let mut kept: String = text
        .lines()
        .skip(skipped)
        .take(BRIEF_LINES)
        .map(|l| format!("{l}\n"))
        .collect();
    if text.lines().count() > skipped + BRIEF_LINES {
        kept.push_str("…\n");
    }
    kept
}

impl Sequence {
    fn new(mode: Mode) -> Sequence {
        let repo = TestRepo::with_commits();
        repo.git(&["config", "rollback.testCommand", "echo '3 passed'"]);
        repo.git(&[
            "config",
            "rollback.stopCommand",
            "echo stopping the services",
        ]);
        repo.git(&[
            "config",
            "rollback.startCommand",
            "echo starting the services",
        ]);
        // The disk check passes on any machine; how full the disk is
        // still varies and is redacted.
        repo.git(&["config", "rollback.diskThreshold", "100"]);
        let remote = repo.root().join("team.git");
        repo.git_in(
            repo.root(),
            &["init", "-q", "--bare", "-b", "main", "team.git"],
        );
        let remote = remote
            .to_str()
            .unwrap_or_else(|| panic!("temporary path is not UTF-8: {}", remote.display()))
            .to_string();
        repo.git(&["remote", "add", "origin", &remote]);
        // Installed as a user would have it: the tool first on PATH, so the
        // pre-commit hook finds it.
        let tool_dir = Path::new(TOOL_BIN)
            .parent()
            .unwrap_or_else(|| panic!("{TOOL_BIN} has no directory"));
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(tool_dir.to_path_buf()).chain(std::env::split_paths(&rest)),
        )
        .unwrap_or_else(|e| panic!("cannot put {} on PATH: {e}", tool_dir.display()));
        let path = path
            .into_string()
            .unwrap_or_else(|p| panic!("PATH is not UTF-8: {p:?}"));
        Sequence {
            repo,
            path,
            mode,
            step: 0,
            ids: Vec::new(),
            runs: Vec::new(),
            brief: false,
            brief_from: None,
            own_repo: false,
        }
    }

    /// Operation ids from the journal's `begin` records, oldest first.
    fn journal_ids(&self) -> Vec<String> {
        let path = self.repo.git_dir().join("rollback/journal.jsonl");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|record| record["type"] == "begin")
            .filter_map(|record| record["id"].as_str().map(str::to_string))
            .collect()
    }

    /// The one branch whose name starts with `prefix`.
    #[track_caller]
    fn branch(&self, prefix: &str) -> String {
        let names = self
            .repo
            .git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"]);
        let found: Vec<&str> = names.lines().filter(|b| b.starts_with(prefix)).collect();
        match found[..] {
            [name] => name.to_string(),
            _ => panic!("expected one branch named {prefix}…, found {found:?}"),
        }
    }

    /// The full id of the newest operation in the journal.
    fn newest_id(&self) -> String {
        self.journal_ids()
            .pop()
            .unwrap_or_else(|| panic!("the journal holds no operation"))
    }

    /// Run `args` as the step `label` (README row `doc`) and compare its
    /// output with the snapshot.
    #[track_caller]
    fn run(&mut self, label: &str, doc: &'static str, args: &[&str]) {
        self.step += 1;
        let minutes = START_MINUTE + self.step;
        self.repo.set_now(&format!(
            "2026-11-21T{:02}:{:02}:00+00:00",
            minutes / 60,
            minutes % 60
        ));
        let before = self.journal_ids().len();
        let mut full: Vec<&str> = match self.mode {
            Mode::Human => vec!["--color", "never"],
            Mode::Json => vec!["--json"],
        };
        full.extend_from_slice(args);
        let out = self.repo.tool_with_env(&full, &[("PATH", &self.path)]);
        let now = self.journal_ids();
        let journaled = now.len() > before;
        // `log prune` drops records: an id once seen keeps its number.
        for id in now {
            if !self.ids.contains(&id) {
                self.ids.push(id);
            }
        }

        let name = format!("{}_{:02}_{label}", self.mode.name(), self.step);
        let command = format!("git rollback-sprint {}", self.redact(&full.join(" ")));
        let mut settings = insta::Settings::clone_current();
        settings.set_description(command);
        settings.set_omit_expression(true);
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        match self.mode {
            Mode::Human => {
                let stdout = if self.brief {
                    first_lines(&out.stdout, self.brief_from)
                } else {
                    out.stdout.clone()
                };
                let text = format!(
                    "exit code: {}\n--- stdout\n{}--- stderr\n{}",
                    out.code,
                    self.redact(&stdout),
                    self.redact(&out.stderr)
                );
                settings.bind(|| insta::assert_snapshot!(name, text));
            }
            Mode::Json => {
                let mut stdout = self.redact_json(None, &out.json());
                if self.brief {
                    for key in ["script", "page"] {
                        if let Some(Value::String(text)) = stdout.get_mut(key) {
                            *text = first_lines(text, self.brief_from);
                        }
                    }
                }
                let stderr = self.redact(&out.stderr);
                self.runs.push(JsonRun {
                    doc,
                    args: args.iter().map(|a| a.to_string()).collect(),
                    stdout: stdout.clone(),
                    journaled,
                    dry_run: args.contains(&"--dry-run"),
                });
                let shown = json!({"exit_code": out.code, "stdout": stdout, "stderr": stderr});
                settings.bind(|| insta::assert_json_snapshot!(name, shown));
            }
        }
    }

    /// Text with the temporary root, operation ids and measured times
    /// replaced.
    fn redact(&self, text: &str) -> String {
        let root = self.repo.root().to_string_lossy().into_owned();
        let mut text = text.replace(&root, "[ROOT]");
        for (n, id) in self.ids.iter().enumerate() {
            text = text.replace(id.as_str(), &format!("[op {}]", n + 1));
        }
        let text = redact_measured(&redact_machine(&text));
        if self.own_repo {
            redact_ids(&redact_minutes(&redact_file_times(&text)))
        } else {
            text
        }
    }

    fn redact_json(&self, key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::String(s) => {
                if key == Some("short_id") {
                    if let Some(n) = self.ids.iter().position(|id| id.starts_with(s.as_str())) {
                        return Value::String(format!("[op {}]", n + 1));
                    }
                }
                Value::String(self.redact(s))
            }
            Value::Number(_) if key.is_some_and(|k| DURATION_KEYS.contains(&k)) => {
                Value::String("[duration]".to_string())
            }
            Value::Number(_) if key == Some("freed_bytes") => Value::String("[size]".to_string()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(key, v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.redact_json(Some(k), v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }
}

/// Measured times (`in 0.18 s`, `took 145 ms`) become `[duration]`, and
/// the sizes of saved files (`8.6 KiB`), which hold measured times, `[size]`.
fn redact_measured(text: &str) -> String {
    const UNITS: &[(&str, &str)] = &[
        (" ms", "[duration]"),
        (" s", "[duration]"),
        (" B", "[size]"),
        (" KiB", "[size]"),
        (" MiB", "[size]"),
        (" GiB", "[size]"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let len = from
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(from.len());
        let (number, after) = from.split_at(len);
        let unit = UNITS.iter().find(|(u, _)| {
            after.starts_with(u)
                && !after[u.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
        });
        let boundary = !out.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        match unit {
            Some((unit, shown)) if boundary => {
                out.push_str(shown);
                rest = &after[unit.len()..];
            }
            _ => {
                out.push_str(number);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// In the demo's own repository, the time `rescue` shows for a lost
/// file is when its object was written, on the real clock
/// (`2026-12-04 12:31` → `[time]`); the times its tool clock pins
/// (`2026-11-21 10:45:00`, with seconds) stay.
fn redact_file_times(text: &str) -> String {
    let shape = |w: &[u8]| {
        w.len() == 16
            && w.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                10 => *b == b' ',
                13 => *b == b':',
                _ => b.is_ascii_digit(),
            })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let seconds_follow = bytes.get(i + 16) == Some(&b':');
        if i + 16 <= bytes.len() && shape(&bytes[i..i + 16]) && !seconds_follow {
            out.push_str("[time]");
            i += 16;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Commit and operation ids (words of 7 to 40 lowercase hex digits)
/// become `[id]`; a timestamp such as `20261121_101300` is one word with
/// its `_`, so it stays.
fn redact_ids(text: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(word) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let len = from.find(|c: char| !word(c)).unwrap_or(from.len());
        let (w, after) = from.split_at(len);
        let hex = w
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex && (7..=40).contains(&w.len()) {
            out.push_str("[id]");
        } else {
            out.push_str(w);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Minutes measured on the clock (`0.0 min`, `0.1 min` on a slow
/// machine) become `[minutes]`.
fn redact_minutes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" min") {
        let (before, from) = rest.split_at(at);
        let number = before
            .rfind(|c: char| !c.is_ascii_digit() && c != '.')
            .map_or(0, |i| i + 1);
        let ends = !from[" min".len()..].starts_with(|c: char| c.is_ascii_alphanumeric());
        if number < before.len() && ends {
            out.push_str(&before[..number]);
            out.push_str("[minutes]");
        } else {
            out.push_str(before);
            out.push_str(" min");
        }
        rest = &from[" min".len()..];
    }
    out.push_str(rest);
    out
}

/// What the machine decides: the disk's use (`disk 42% used`).
fn redact_machine(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("disk ") {
        let (before, from) = rest.split_at(at + "disk ".len());
        out.push_str(before);
        let digits = from
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(from.len());
        if digits > 0 && from[digits..].starts_with("% used") {
            out.push_str("[N]");
            rest = &from[digits..];
        } else {
            rest = from;
        }
    }
    out.push_str(rest);
    out
}

/// The whole sequence: every command, in the order a team would use them.
/// Long because it is that story, step by step: splitting it would hide
/// the state each step starts from.
fn sequence(mode: Mode) -> Sequence {
    let mut s = Sequence::new(mode);
    s.run("status_before_anything", "status", &["status"]);
    s.run(
        "baseline_set",
        "baseline set",
        &["baseline", "set", "-m", "known good"],
    );
    s.run(
        "baseline_set_again_is_refused",
        "baseline set",
        &["baseline", "set", "-m", "again"],
    );
    s.run("baseline_show", "baseline show", &["baseline", "show"]);
    s.run(
        "baseline_verify",
        "baseline verify",
        &["baseline", "verify"],
    );
    s.run(
        "baseline_verify_cached",
        "baseline verify",
        &["baseline", "verify"],
    );
    s.run("baseline_push", "baseline push", &["baseline", "push"]);
    s.run("baseline_pull", "baseline pull", &["baseline", "pull"]);
    s.run("check", "check", &["check"]);
    s.run(
        "checkpoint",
        "checkpoint",
        &["checkpoint", "-m", "before sprint 1"],
    );
    s.run(
        "checkpoint_list",
        "checkpoint list",
        &["checkpoint", "list"],
    );
    s.run(
        "sprint_start_without_a_number",
        "sprint start",
        &["sprint", "start"],
    );
    s.run("sprint_start", "sprint start", &["sprint", "start", "1"]);

    // The sprint: one good commit, one bad, and work in progress.
    let repo = &s.repo;
    repo.write("src/feature.rs", "pub fn feature() -> u32 {\n    42\n}\n");
    let good = repo.commit_all("add feature");
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    );
    repo.commit_all("rewrite add");
    repo.write("src/main.rs", "fn main() {}\n");
    repo.git(&["add", "src/main.rs"]);
    repo.write("notes.txt", "half-done idea\n");
    s.run("hook_install", "hook install", &["hook", "install"]);
    s.run("check_hook", "check --hook", &["check", "--hook"]);
    // A leftover conflict marker stops the commit.
    s.repo.write(
        "docs/guide.md",
        "# Guide\n\n<<<<<<< HEAD\nStep one.\n=======\nStep 1.\n>>>>>>> theirs\n",
    );
    s.repo.git(&["add", "docs/guide.md"]);
    s.run(
        "check_hook_stops_a_conflict_marker",
        "check --hook",
        &["check", "--hook"],
    );
    s.repo
        .git(&["restore", "--staged", "--worktree", "docs/guide.md"]);
    s.run("status_in_sprint", "status", &["status"]);
    s.run("triage", "triage", &["triage", "--severity", "high"]);
    s.run(
        "sprint_rollback",
        "sprint rollback",
        &[
            "sprint",
            "rollback",
            "--reason",
            "tests fail after the rewrite",
            "--recovery-minutes",
            "12",
        ],
    );
    s.run("notify", "notify", &["notify"]);
    s.run("analyze", "analyze", &["analyze"]);
    let backup = s.branch("backup/sprint-1-");
    s.run("recover", "recover", &["recover", "--pick", &good, &backup]);
    s.repo
        .write("config/settings.toml", "[server]\nport = 9090\n");
    s.run("files", "files", &["files", "config/settings.toml"]);

    // An emergency: the tree is dirty again.
    s.repo.write("src/lib.rs", "broken\n");
    s.repo.write("scratch.txt", "untracked\n");
    s.run(
        "emergency_dry_run",
        "emergency",
        &["--dry-run", "emergency"],
    );
    s.run(
        "emergency",
        "emergency",
        &[
            "emergency",
            "--reason",
            "production is down",
            "--recovery-minutes",
            "5",
        ],
    );
    let emergency = s.newest_id();
    s.run("undo", "undo", &["undo"]);
    s.run("redo", "redo", &["redo"]);
    s.run("log", "log", &["log"]);
    s.run("log_show", "log show", &["log", "show", &emergency]);
    s.run(
        "metrics_record",
        "metrics record",
        &[
            "metrics",
            "record",
            "--sprint",
            "2",
            "--severity",
            "low",
            "--cause",
            "flaky test",
            "--minutes",
            "3",
        ],
    );
    s.run("metrics", "metrics", &["metrics"]);
    s.run(
        "checkpoint_prune",
        "checkpoint prune",
        &["checkpoint", "prune", "--keep", "1"],
    );
    // The retry succeeds with the recovered commit.
    s.repo.git(&["switch", "-q", "refactor/sprint-1-retry"]);
    let saved = s.branch("backup/emergency-");
    s.repo.git(&["merge", "-q", "--ff-only", &saved]);
    s.run("sprint_finish", "sprint finish", &["sprint", "finish"]);
    s.run(
        "baseline_push_the_new_one",
        "baseline push",
        &["baseline", "push", "--force"],
    );
    // A teammate fixes something on top and shares that as the baseline.
    let hotfix = s.repo.git(&[
        "commit-tree",
        "HEAD^{tree}",
        "-p",
        "HEAD",
        "-m",
        "hotfix from a teammate",
    ]);
    s.repo.git(&[
        "push",
        "-q",
        "--force",
        "origin",
        &format!("{hotfix}:refs/tags/baseline"),
    ]);
    s.run(
        "baseline_pull_the_teammates",
        "baseline pull",
        &["baseline", "pull", "--force"],
    );
    s.run("log_prune", "log prune", &["log", "prune", "--keep", "3"]);
    s.run("hook_uninstall", "hook uninstall", &["hook", "uninstall"]);
    s.run("status_at_the_end", "status", &["status"]);
    // A completion script is long and generated by clap: its first lines.
    s.brief = true;
    s.run("completions", "completions", &["completions", "bash"]);
    s.brief = false;
    more_paths(&mut s);
    unjournaled_dry_runs(&mut s);
    // The tests pass: the state becomes the last green state.
    s.run("test_dry_run", "test", &["--dry-run", "test"]);
    s.run("test", "test", &["test"]);
    s.run("status_after_a_green_run", "status", &["status"]);
    s
}

/// The paths the sequence above does not take: a recovery stopped by a
/// conflict and aborted, an interrupted operation dismissed, a checkpoint
/// of work in progress, the manual page and the demo.
fn more_paths(s: &mut Sequence) {
    // A hotfix and the retry reword the README differently.
    s.repo.git(&["switch", "-q", "-c", "hotfix/readme"]);
    s.repo
        .write("README.md", "# Demo project\n\nThe hotfix's wording.\n");
    s.repo
        .git(&["commit", "-q", "-am", "readme: the hotfix's wording"]);
    s.repo.git(&["switch", "-q", "refactor/sprint-1-retry"]);
    s.repo
        .write("README.md", "# Demo project\n\nThe retry's wording.\n");
    s.repo
        .git(&["commit", "-q", "-am", "readme: the retry's wording"]);
    s.run(
        "recover_stops_at_a_conflict",
        "recover",
        &["recover", "hotfix/readme", "--all", "--no-tests"],
    );
    s.run("recover_abort", "recover", &["recover", "--abort"]);

    // A checkpoint killed before its end record: an interrupted operation.
    let killed = s.repo.tool_with_env(
        &["checkpoint", "-m", "cut short"],
        &[
            ("PATH", s.path.as_str()),
            ("GIT_ROLLBACK_SPRINT_FAULT", "before-end"),
        ],
    );
    assert_eq!(killed.code, -1, "the checkpoint was to be killed\n{killed}");
    s.run("undo_dismiss", "undo", &["undo", "--dismiss"]);

    // Work in progress, tracked and untracked, tagged without touching it.
    s.repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    b + a\n}\n",
    );
    s.repo.write("ideas.txt", "an idea, not committed\n");
    s.run(
        "checkpoint_wip",
        "checkpoint",
        &["checkpoint", "--wip", "-m", "half-done retry"],
    );

    // The manual page's header holds the date its text last changed: the
    // page is pinned from its NAME section on.
    s.brief = true;
    s.brief_from = Some(".SH NAME");
    s.run("man", "man", &["man"]);
    s.brief = false;
    s.brief_from = None;

    // The demo builds a repository of its own, with ids of its own.
    let sandbox = s.repo.root().join("demo-sandbox");
    let sandbox = sandbox
        .to_str()
        .unwrap_or_else(|| panic!("temporary path is not UTF-8: {}", sandbox.display()))
        .to_string();
    s.own_repo = true;
    s.run("demo", "demo", &["demo", "--dir", &sandbox]);
    s.own_repo = false;
}

/// Dry runs of the commands that change what the journal does not save:
/// their plan is the steps they carry out.
fn unjournaled_dry_runs(s: &mut Sequence) {
    s.run(
        "hook_install_dry_run",
        "hook install",
        &["--dry-run", "hook", "install"],
    );
    s.run(
        "analyze_dry_run",
        "analyze",
        &["--dry-run", "analyze", "--no-tests"],
    );
    s.run(
        "metrics_record_dry_run",
        "metrics record",
        &[
            "--dry-run",
            "metrics",
            "record",
            "--severity",
            "high",
            "--cause",
            "bad merge",
            "--minutes",
            "7",
        ],
    );
    s.run(
        "log_prune_dry_run",
        "log prune",
        &["--dry-run", "log", "prune", "--keep", "1"],
    );
}

/// `drill`, and what it adds to `metrics` and `status`, on a repository
/// mid-sprint: a sequence of its own, so that the main one keeps its
/// numbering.
fn drill_sequence(mode: Mode) -> Sequence {
    let mut s = Sequence::new(mode);
    s.run(
        "drill_baseline_set",
        "baseline set",
        &["baseline", "set", "-m", "known good"],
    );
    s.run(
        "drill_sprint_start",
        "sprint start",
        &["sprint", "start", "1", "--no-tests"],
    );
    let repo = &s.repo;
    repo.write("src/feature.rs", "pub fn feature() -> u32 {\n    42\n}\n");
    repo.commit_all("add feature");
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    );
    repo.commit_all("rewrite add");
    repo.write("src/main.rs", "fn main() {}\n");
    repo.git(&["add", "src/main.rs"]);
    repo.write("notes.txt", "half-done idea\n");
    s.run("drill_dry_run", "drill", &["--dry-run", "drill"]);
    // One level first: which level of several is the slowest varies.
    s.run(
        "drill_emergency",
        "drill",
        &["drill", "--level", "emergency"],
    );
    s.run("drill_metrics", "metrics", &["metrics"]);
    s.run("drill", "drill", &["drill"]);
    s.run("drill_status", "status", &["status"]);
    s
}

#[test]
fn human_output_of_drill() {
    drill_sequence(Mode::Human);
}

/// `drill`'s JSON, and what it adds to `metrics` and `status`, held to the
/// README's table as the main sequence's is.
#[test]
fn json_output_of_drill_and_its_readme_rows() {
    assert_rows_of(&drill_sequence(Mode::Json).runs, &["drill"]);
}

/// The README's rows of the commands a sequence of its own ran, held to
/// what they printed; each of `names` must have its row.
#[track_caller]
fn assert_rows_of(runs: &[JsonRun], names: &[&str]) {
    let rows: Vec<Row> = readme_rows()
        .into_iter()
        .filter(|row| {
            row.names
                .iter()
                .any(|n| n == MUTATING_ROW || runs.iter().any(|r| r.doc == n))
        })
        .collect();
    for name in names {
        assert!(
            rows.iter().any(|r| r.names.iter().any(|n| n == name)),
            "the README has no row for `{name}`"
        );
    }
    assert_eq!(readme_mismatches(&rows, runs), Vec::<String>::new());
}

/// `rescue` and `rescue restore` after plain git lost work three ways (a
/// staged change reset away, a stash entry dropped, a branch deleted): a
/// sequence of its own, so that the main one keeps its numbering. The lost
/// objects' files get a fixed time, which the listing shows.
fn rescue_sequence(mode: Mode) -> Sequence {
    let mut s = Sequence::new(mode);
    let repo = &s.repo;
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["reset", "-q", "--hard"]);
    repo.write("docs/guide.md", "# Guide\n\nStep one.\nStep two.\n");
    repo.git(&["stash", "push", "-q", "-m", "guide, half done"]);
    repo.git(&["stash", "drop", "-q"]);
    repo.git(&["switch", "-q", "-c", "spike"]);
    repo.write("src/spike.rs", "pub fn spike() {}\n");
    repo.commit_all("try a spike");
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "spike"]);
    crate::common::set_object_times(repo, "2026-11-21T09:30:00Z");
    let ids: Vec<String> = crate::common::rescue_ids(repo)
        .iter()
        .map(|id| id[..8].to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    s.run("rescue", "rescue", &["rescue"]);
    s.run(
        "rescue_since",
        "rescue",
        &["rescue", "--since", "2026-11-21 10:00"],
    );
    let mut restore = vec!["rescue", "restore"];
    restore.extend(ids.iter().map(String::as_str));
    restore.push("--as-stash");
    let mut dry = vec!["--dry-run"];
    dry.extend_from_slice(&restore);
    s.run("rescue_restore_dry_run", "rescue restore", &dry);
    s.run("rescue_restore", "rescue restore", &restore);
    s.run("rescue_after_restore", "rescue", &["rescue"]);
    s
}

#[test]
fn human_output_of_rescue() {
    rescue_sequence(Mode::Human);
}

/// `rescue`'s and `rescue restore`'s JSON, held to the README's table as
/// the main sequence's is.
#[test]
fn json_output_of_rescue_and_its_readme_rows() {
    assert_rows_of(
        &rescue_sequence(Mode::Json).runs,
        &["rescue", "rescue restore"],
    );
}

#[test]
fn human_output_of_every_command() {
    sequence(Mode::Human);
}

/// The JSON sequence runs once; both tests below read it.
fn json_runs() -> &'static [JsonRun] {
    static RUNS: OnceLock<Vec<JsonRun>> = OnceLock::new();
    RUNS.get_or_init(|| sequence(Mode::Json).runs)
}

#[test]
fn json_output_of_every_command() {
    assert!(!json_runs().is_empty());
}

// ----- the README's list of JSON fields ----------------------------------------

const README: &str = include_str!("../README.md");

/// Fields every command's object may carry (the section's introduction).
const COMMON_FIELDS: &[&str] = &["ok", "command", "dry_run", "plan", "error"];

/// The README row whose fields every mutating command adds.
const MUTATING_ROW: &str = "every mutating command";

/// Flags whose output replaces the command's fields with the ones the
/// README's row names after the flag (`` `--abort`: `undoes`, … ``).
const VARIANT_FLAGS: &[&str] = &["--abort", "--dismiss"];

/// README rows this sequence does not run: `drill` and `rescue` have a
/// sequence of their own, whose test holds their rows
/// (`json_output_of_drill_and_its_readme_rows`,
/// `json_output_of_rescue_and_its_readme_rows`).
const ROWS_NOT_RUN: &[&str] = &["drill", "rescue", "rescue restore"];

/// Where the README and the real output disagree, as the check below words
/// it. Each is a README fix to make; once made, its line goes.
const KNOWN_README_MISMATCHES: &[&str] = &[];

/// One row of the README's table: the commands it names and their fields.
#[derive(Debug, Default)]
struct Row {
    names: Vec<String>,
    /// Top-level fields before the first `;`: always present.
    always: BTreeSet<String>,
    /// Top-level fields after it: present with a flag or in a case named.
    sometimes: BTreeSet<String>,
    /// `field`: `[{a, b}]` or `field` (`{a, b}` …): the object's fields.
    nested: BTreeMap<String, BTreeSet<String>>,
    /// A later segment that begins with a flag (`` `--abort`: `a`, `b` ``,
    /// `` with `--dismiss`: `c` ``): the flag and the fields it names.
    flagged: BTreeMap<String, BTreeSet<String>>,
}

/// The table under `## JSON output`.
fn readme_rows() -> Vec<Row> {
    let section = README
        .split("\n## JSON output\n")
        .nth(1)
        .unwrap_or_else(|| panic!("README.md has no `## JSON output` section"));
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows: Vec<Row> = section
        .lines()
        .skip_while(|l| !l.starts_with("| command | fields |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(parse_row)
        .collect();
    assert!(
        !rows.is_empty(),
        "no table of fields under `## JSON output`"
    );
    rows
}

fn parse_row(line: &str) -> Row {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let (names, fields) = inner
        .split_once(" | ")
        .unwrap_or_else(|| panic!("not a two-column row: {line}"));
    let mut row = Row {
        names: parse_names(names.trim()),
        ..Row::default()
    };
    // Backticked words at the top level (outside parentheses) are fields;
    // the first `;` ends the ones always present.
    let mut depth = 0usize;
    let mut segment = 0usize;
    let mut last_field: Option<String> = None;
    // The flag that begins the current segment, if one does.
    let mut flag: Option<String> = None;
    let mut segment_start = true;
    let mut rest = fields.trim();
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            let body_end = rest[1..]
                .find('`')
                .unwrap_or_else(|| panic!("unclosed ` in README row: {line}"));
            let body = &rest[1..1 + body_end];
            rest = &rest[body_end + 2..];
            if let Some(fields) = object_fields(body) {
                if let Some(field) = &last_field {
                    row.nested.entry(field.clone()).or_insert(fields);
                }
                continue;
            }
            if depth > 0 {
                continue;
            }
            if segment > 0 && segment_start && body.starts_with("--") {
                flag = Some(body.to_string());
            }
            segment_start = false;
            // `"changed": false` names the field `changed`.
            let name = body
                .split_once(':')
                .map_or(body, |(k, _)| k.trim_matches('"'));
            if is_field_name(name) {
                if segment == 0 {
                    row.always.insert(name.to_string());
                } else {
                    row.sometimes.insert(name.to_string());
                }
                if let Some(flag) = &flag {
                    row.flagged
                        .entry(flag.clone())
                        .or_default()
                        .insert(name.to_string());
                }
                last_field = Some(name.to_string());
            }
            continue;
        }
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                segment += 1;
                segment_start = true;
                flag = None;
            }
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    row
}

/// `{a, b}` or `[{a, b}]` (one level, no nested objects): `a`, `b`.
fn object_fields(body: &str) -> Option<BTreeSet<String>> {
    let inner = body
        .strip_prefix("[{")
        .and_then(|b| b.strip_suffix("}]"))
        .or_else(|| body.strip_prefix('{').and_then(|b| b.strip_suffix('}')))?;
    let names: BTreeSet<String> = inner.split(',').map(|n| n.trim().to_string()).collect();
    names.iter().all(|n| is_field_name(n)).then_some(names)
}

fn is_field_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `` `baseline push`/`pull` `` names `baseline push` and `baseline pull`;
/// `` `undo`, `redo` `` names both; text without backticks is one name.
fn parse_names(cell: &str) -> Vec<String> {
    let words: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
    let Some(first) = words.first() else {
        return vec![cell.to_string()];
    };
    let prefix = first.rsplit_once(' ').map(|(p, _)| p);
    words
        .iter()
        .enumerate()
        .map(|(n, w)| match prefix {
            Some(p) if n > 0 && cell.contains("`/`") => format!("{p} {w}"),
            _ => w.to_string(),
        })
        .collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every disagreement between the README's table and the `--json` runs.
fn readme_mismatches(rows: &[Row], runs: &[JsonRun]) -> Vec<String> {
    let row_of = |name: &str| rows.iter().find(|r| r.names.iter().any(|n| n == name));
    let mutating =
        row_of(MUTATING_ROW).unwrap_or_else(|| panic!("README has no `{MUTATING_ROW}` row"));
    let mut found = Vec::new();
    for row in rows {
        for name in &row.names {
            let run = name == MUTATING_ROW
                || ROWS_NOT_RUN.contains(&name.as_str())
                || runs.iter().any(|r| r.doc == name);
            assert!(run, "the README documents `{name}`, which no step runs");
        }
    }
    for run in runs {
        let Some(row) = row_of(run.doc) else {
            found.push(format!("the README has no row for `{}`", run.doc));
            continue;
        };
        let shown = format!("`{}` ({})", run.doc, run.args.join(" "));
        let ok = run.stdout["ok"] == true;
        let has = keys(&run.stdout);
        let mut documented: BTreeSet<String> = row.always.union(&row.sometimes).cloned().collect();
        documented.extend(COMMON_FIELDS.iter().map(|f| f.to_string()));
        // A mutating command: one that wrote an operation in some run.
        let mutates = runs.iter().any(|r| r.doc == run.doc && r.journaled);
        if mutates {
            documented.extend(mutating.always.union(&mutating.sometimes).cloned());
        }
        for field in has.difference(&documented) {
            found.push(format!("{shown}: field `{field}` is not documented"));
        }
        // "A dry run adds `"dry_run": true` and a `plan` list."
        if run.dry_run {
            for field in ["dry_run", "plan"] {
                if ok && !has.contains(field) {
                    found.push(format!("{shown}: documented field `{field}` is missing"));
                }
            }
        } else if has.contains("dry_run") {
            found.push(format!("{shown}: field `dry_run` outside a dry run"));
        }
        if !ok || run.dry_run {
            continue;
        }
        // A flag whose output is a result of its own (`recover --abort`,
        // `undo --dismiss`): the fields the README names after it.
        let variant = VARIANT_FLAGS
            .iter()
            .find(|f| run.args.iter().any(|a| a == *f));
        if let Some(flag) = variant {
            match row.flagged.get(*flag) {
                Some(fields) => {
                    for field in fields.difference(&has) {
                        found.push(format!("{shown}: documented field `{field}` is missing"));
                    }
                }
                None => found.push(format!("{shown}: the README names no fields for `{flag}`")),
            }
            continue;
        }
        let mut required = row.always.clone();
        if run.journaled {
            required.extend(mutating.always.iter().cloned());
        } else if mutates {
            // Nothing to do: `"changed": false` and a null `operation_id`.
            required.extend(mutating.always.union(&mutating.sometimes).cloned());
        }
        for field in required.difference(&has) {
            found.push(format!("{shown}: documented field `{field}` is missing"));
        }
        for (field, sub) in &row.nested {
            let objects: Vec<&Value> = match &run.stdout[field.as_str()] {
                Value::Array(items) => items.iter().collect(),
                v @ Value::Object(_) => vec![v],
                _ => continue,
            };
            for object in objects {
                let has = keys(object);
                for f in has.difference(sub) {
                    found.push(format!("{shown}: field `{field}.{f}` is not documented"));
                }
                for f in sub.difference(&has) {
                    found.push(format!(
                        "{shown}: documented field `{field}.{f}` is missing"
                    ));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn readme_lists_every_json_field() {
    let found = readme_mismatches(&readme_rows(), json_runs());
    let known: Vec<String> = KNOWN_README_MISMATCHES
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(
        found, known,
        "the README's JSON fields (## JSON output) and the real output differ; \
         fix the README, or the output, and KNOWN_README_MISMATCHES with it"
    );
}

/// The table is read as a reader reads it: names split, flags' fields
/// apart, and the fields of listed objects.
#[test]
fn readme_table_is_read_as_written() {
    let row = parse_row(
        "| `a b`/`c` | `x`, `y` (`{p, q}` or null), `z`: `[{r}]`, \
         `\"w\": false` (`not`, `fields`); with `--flag`: `v` |",
    );
    assert_eq!(row.names, ["a b", "a c"]);
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(row.always, set(&["x", "y", "z", "w"]));
    assert_eq!(row.sometimes, set(&["v"]));
    assert_eq!(row.nested["y"], set(&["p", "q"]));
    assert_eq!(row.nested["z"], set(&["r"]));
    assert_eq!(row.nested.len(), 2);
    assert_eq!(row.flagged["--flag"], set(&["v"]));
    assert_eq!(row.flagged.len(), 1);
    let row = parse_row("| `a` | `x`; `--b`/`--c` add `y`; `--d`: `z`, `w`; with `--e`: `v` |");
    assert_eq!(row.flagged["--b"], set(&["y"]));
    assert_eq!(row.flagged["--d"], set(&["z", "w"]));
    assert_eq!(row.flagged["--e"], set(&["v"]));
    assert_eq!(row.flagged.len(), 3);
    assert_eq!(
        parse_row("| `undo`, `redo` | `plan` |").names,
        ["undo", "redo"]
    );
    let rows = readme_rows();
    assert!(rows.iter().any(|r| r.names == [MUTATING_ROW]));
    assert!(rows.len() > 20, "{} rows", rows.len());
}
