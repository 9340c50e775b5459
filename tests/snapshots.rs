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
//!
//! A changed output fails here with a diff; `INSTA_UPDATE=always` (or
//! `cargo insta review`) writes the new snapshots to commit with the
//! change.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::common::{TestRepo, TOOL_BIN};

/// The tool's clock at the first step, in minutes after midnight on
/// 2026-11-21 (UTC); each step is a minute later.
const START_MINUTE: u32 = 10 * 60;

/// Keys whose values are measured times. (`freed_bytes`, the size of
/// saved files that record such times, is replaced too.)
const DURATION_KEYS: &[&str] = &["duration_ms", "duration_seconds"];

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
    /// Keep only the first lines of stdout (of `script` in JSON).
    brief: bool,
}

/// How many lines of a long output a brief snapshot keeps.
const BRIEF_LINES: usize = 3;

fn first_lines(text: &str) -> String {
    let mut kept: String = text
        .lines()
        .take(BRIEF_LINES)
        .map(|l| format!("{l}\n"))
        .collect();
    if text.lines().count() > BRIEF_LINES {
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
            brief: false,
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

    /// The full id of the newest operation in the journal.
    fn newest_id(&self) -> String {
        self.journal_ids()
            .pop()
            .unwrap_or_else(|| panic!("the journal holds no operation"))
    }

    /// Run `args` as the step `label` (README row `doc`) and compare its
    /// output with the snapshot.
    #[track_caller]
    fn run(&mut self, label: &str, _doc: &'static str, args: &[&str]) {
        self.step += 1;
        let minutes = START_MINUTE + self.step;
        self.repo.set_now(&format!(
            "2026-11-21T{:02}:{:02}:00+00:00",
            minutes / 60,
            minutes % 60
        ));
        let mut full: Vec<&str> = match self.mode {
            Mode::Human => vec!["--color", "never"],
            Mode::Json => vec!["--json"],
        };
        full.extend_from_slice(args);
        let out = self.repo.tool_with_env(&full, &[("PATH", &self.path)]);
        let now = self.journal_ids();
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
                    first_lines(&out.stdout)
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
                    if let Some(Value::String(script)) = stdout.get_mut("script") {
                        *script = first_lines(script);
                    }
                }
                let stderr = self.redact(&out.stderr);
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
        let text = replace_id_prefixes(&text, &self.ids);
        redact_measured(&redact_machine(&text))
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

/// Unique prefixes (4 characters or more) of operation ids, standing alone
/// as a word, become `[op N]` too.
fn replace_id_prefixes(text: &str, ids: &[String]) -> String {
    let is_hex = |c: char| c.is_ascii_hexdigit();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_hex) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let len = from.find(|c: char| !is_hex(c)).unwrap_or(from.len());
        let (word, after) = from.split_at(len);
        let boundary_before = !out.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let boundary_after = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let op = ids
            .iter()
            .position(|id| id.len() > len && id.starts_with(word));
        match op {
            Some(n) if len >= 4 && boundary_before && boundary_after => {
                out.push_str(&format!("[op {}]", n + 1));
            }
            _ => out.push_str(word),
        }
        rest = after;
    }
    out.push_str(rest);
    out
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
    let backup = s
        .repo
        .git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
        .lines()
        .find(|b| b.contains("backup"))
        .unwrap_or_else(|| panic!("sprint rollback made no backup branch"))
        .to_string();
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
    s.repo.git(&[
        "merge",
        "-q",
        "--ff-only",
        "backup/emergency-20261121_102300",
    ]);
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
    s
}

#[test]
fn human_output_of_every_command() {
    sequence(Mode::Human);
}

#[test]
fn json_output_of_every_command() {
    sequence(Mode::Json);
}
