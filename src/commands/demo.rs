//! `demo`: the whole tour in a sandbox repository (README, introduction).
//!
//! The demo builds a small shell project with a baseline, then walks
//! through a failed sprint the way a user would: `check`, `sprint start`,
//! some work that breaks the tests, `emergency`, `undo`, `sprint
//! rollback`, `files`, `recover --all`, then staged work lost to a plain
//! `git reset --hard` and brought back by `rescue`, `metrics`, `log`.
//!
//! Each step runs this very binary as a child process, started in the
//! sandbox with the arguments the user would type (plus `--yes`), so the
//! demo shows the real commands and not a re-enactment of them. After
//! each step the sandbox is opened afresh and checked against what the
//! step promises (the work tree equals the baseline, the stash entry
//! exists, the files are back byte for byte, …); the demo succeeds only
//! when every check holds, and otherwise names the step that did not.
//!
//! The children run with their own `HOME`, an empty global git config, no
//! system config and their own `TMPDIR`, so the user's git setup cannot
//! change what the demo shows, and nothing is left behind but `--dir`.
//! The user's current repository is never opened.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{ensure, Context as _};
use serde::Serialize;
use serde_json::Value;

use crate::error::{user, Exit};
use crate::git::sample::Sample;
use crate::git::{self, snapshot, HeadState, Oid, Repo};
use crate::journal::{Journal, OpStatus};
use crate::settings;
use crate::ui::{Outcome, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the sandbox here and keep it (an empty or new directory)
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// Author of the sample's commits.
const DEV: (&str, &str) = ("Demo Dev", "demo@example.com");
const SPRINT_BRANCH: &str = "refactor/sprint-1";
const RETRY_BRANCH: &str = "refactor/sprint-1-retry";
const REASON: &str = "tests fail";

// ----- the sample project ------------------------------------------------------

const GITIGNORE: &str = "build/\n*.log\n";
const README: &str = "# Greeter\n\nA tiny shell project for the git-rollback-sprint demo.\nRun the tests with `sh tests/run.sh`.\n";
const GREET: &str = "greet() { printf 'Hello, %s!\\n' \"$1\"; }\n";
const SETTINGS: &str = "greeting = \"formal\"\n";
const TEST_RUNNER: &str = r#"# Runs the test files given (default: every tests/test_*.sh), prints
# "N passed, N failed", and fails when a check failed.
passed=0
failed=0
check() {
    if [ "$1" = "$2" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: expected '$1', got '$2'"
    fi
}
[ "$#" -gt 0 ] || set -- tests/test_*.sh
for t in "$@"; do
    . "./$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
"#;
const TEST_GREET: &str = ". ./src/greet.sh\ncheck \"Hello, Ada!\" \"$(greet Ada)\"\n";

/// The sprint's two good commits.
const FAREWELL: &str = "farewell() { printf 'Goodbye, %s!\\n' \"$1\"; }\n";
const TEST_FAREWELL: &str = ". ./src/farewell.sh\ncheck \"Goodbye, Ada!\" \"$(farewell Ada)\"\n";
const README_SPRINT: &str = "# Greeter\n\nA tiny shell project for the git-rollback-sprint demo.\nRun the tests with `sh tests/run.sh`.\n\n`greet NAME` says hello; `farewell NAME` says goodbye.\n";
const SPRINT_COMMITS: [&str; 2] = ["Add a farewell", "Document the farewell"];

/// The sprint's uncommitted work, which breaks the greeting test.
const GREET_BROKEN: &str = "greet() { printf 'Hey %s\\n' \"$1\"; }\n";
const SETTINGS_WIP: &str = "greeting = \"casual\"\n";
const TODO: &str = "- make the greeting casual\n- fix the greeting test\n";
const CACHE: &str = "cached build output\n";

/// A README change staged and then lost to `git reset --hard`.
const README_LOST: &str = "# Greeter\n\nA tiny shell project for the git-rollback-sprint demo.\nRun the tests with `sh tests/run.sh`.\n\n`greet NAME` says hello; `farewell NAME` says goodbye.\n\n## Ideas\n\n- greet in French: `greet --fr NAME`\n";

// ----- the tour's commands, as the user types them -----------------------------------

const CHECK: &[&str] = &["check"];
const SPRINT_START: &[&str] = &["sprint", "start", "1"];
const EMERGENCY: &[&str] = &["emergency", "--reason", "production is down"];
const UNDO: &[&str] = &["undo"];
const SPRINT_ROLLBACK: &[&str] = &["sprint", "rollback", "--reason", REASON];
const FILES: &[&str] = &["files", "src/greet.sh"];
const RECOVER: &[&str] = &["recover", SPRINT_BRANCH, "--all"];
const RESCUE: &[&str] = &["rescue"];
const METRICS: &[&str] = &["metrics"];
const LOG: &[&str] = &["log"];

/// `rescue restore <id>` of the lost README change: its id is that of its
/// content, known before the tour runs.
fn rescue_restore() -> anyhow::Result<Vec<String>> {
    let id = crate::git::lost::blob_id(README_LOST.as_bytes())?.to_string();
    Ok(vec![
        "rescue".into(),
        "restore".into(),
        id[..12].to_string(),
    ])
}

/// For `--dry-run`; [`Tour::walk`] runs them in this order.
fn tour() -> anyhow::Result<Vec<Vec<String>>> {
    let restore = rescue_restore()?;
    let mut commands: Vec<Vec<String>> = [
        CHECK,
        SPRINT_START,
        EMERGENCY,
        UNDO,
        SPRINT_ROLLBACK,
        FILES,
        RECOVER,
        RESCUE,
    ]
    .iter()
    .map(|a| a.iter().map(|w| w.to_string()).collect())
    .collect();
    commands.push(restore);
    commands.extend(
        [METRICS, LOG]
            .iter()
            .map(|a| a.iter().map(|w| w.to_string()).collect()),
    );
    Ok(commands)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dirt {
    Staged,
    Unstaged,
    Untracked,
    Ignored,
}

/// The dirty work tree the sprint leaves behind: every kind of change.
const DIRTY: [(&str, &str, Dirt); 4] = [
    ("src/greet.sh", GREET_BROKEN, Dirt::Staged),
    ("config/settings.toml", SETTINGS_WIP, Dirt::Unstaged),
    ("notes/todo.md", TODO, Dirt::Untracked),
    ("build/cache.log", CACHE, Dirt::Ignored),
];

// ----- the tour --------------------------------------------------------------------

/// The JSON fields of `demo`.
#[derive(Serialize)]
struct Toured<'a> {
    sandbox: String,
    kept: bool,
    steps: Vec<StepJson<'a>>,
    failed_step: Option<&'a str>,
    duration_seconds: f64,
}

/// The JSON field of `demo --dry-run`: the commands the tour would run.
#[derive(Serialize)]
struct Planned<'a> {
    plan: &'a [String],
}

/// One step of the tour in JSON.
#[derive(Serialize)]
struct StepJson<'a> {
    name: &'a str,
    title: &'a str,
    command: Option<&'a str>,
    exit_code: Option<i32>,
    ok: bool,
    verification: &'a str,
    output: &'a [String],
}

pub fn run(args: &Args, ui: &Ui) -> anyhow::Result<Outcome> {
    if ui.dry_run {
        return plan(args);
    }
    let started = Instant::now();
    // HOME, TMPDIR and (without --dir) the repository of the children;
    // removed when the demo ends.
    let scratch = tempfile::Builder::new()
        .prefix("git-rollback-sprint-demo-")
        .tempdir()
        .context("could not create a temporary directory for the demo")?;
    let (dir, kept) = match &args.dir {
        Some(dir) => (prepare_kept_dir(dir)?, true),
        None => {
            let dir = scratch.path().join("repo");
            fs::create_dir(&dir).with_context(|| format!("could not create {}", dir.display()))?;
            (dir, false)
        }
    };
    let mut tour = Tour::new(ui, &dir, scratch.path())?;
    let baseline = build_sample(&dir)?;
    let result = tour.walk(baseline);

    let seconds = started.elapsed().as_secs_f64();
    let mut outcome = Outcome::new();
    outcome.line(format!(
        "{} {}",
        ui.bold("Sandbox:"),
        if kept {
            format!("{} (kept for you to explore)", dir.display())
        } else {
            format!("{} (removed when the demo ends)", dir.display())
        }
    ));
    outcome.line(
        "A small shell project with tests (`sh tests/run.sh`), tagged `baseline` where they pass.",
    );
    for (n, step) in tour.steps.iter().enumerate() {
        step.render(ui, n + 1, &mut outcome);
    }
    outcome.line("");
    match &result {
        Ok(()) => {
            outcome.line(format!(
                "{} every one of the {} steps verified in {seconds:.1} s.",
                ui.good("✓ Done:"),
                tour.steps.len()
            ));
            if kept {
                outcome.line(format!(
                    "Explore it: cd {} && git log --oneline --graph --branches && git rollback-sprint log",
                    dir.display()
                ));
            }
        }
        Err(failure) => {
            outcome.line(format!("{} {failure}", ui.bad("✗ Demo failed:")));
            outcome.exit_with(Exit::Error);
        }
    }
    outcome.data(&Toured {
        sandbox: dir.display().to_string(),
        kept,
        steps: tour.steps.iter().map(Step::to_json).collect(),
        failed_step: result.as_ref().err().map(|f| f.step.as_str()),
        duration_seconds: crate::metrics::round2(seconds),
    });
    drop(scratch);
    Ok(outcome)
}

/// `--dry-run`: where the sandbox would be and what would run in it.
fn plan(args: &Args) -> anyhow::Result<Outcome> {
    let place = match &args.dir {
        Some(dir) => {
            refuse_non_empty(dir)?;
            format!("{} (kept)", dir.display())
        }
        None => "a temporary directory (removed afterwards)".to_string(),
    };
    let commands: Vec<String> = tour()?
        .iter()
        .map(|a| shown_command(&a.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    let mut outcome = Outcome::new();
    outcome.line(format!(
        "Would build a sample repository in {place}, commit some sprint work and dirty its work tree along the way, and run in it:"
    ));
    for command in &commands {
        outcome.line(format!("  $ {command}"));
    }
    outcome.data(&Planned { plan: &commands });
    Ok(outcome)
}

/// A `--dir` that exists and holds something is the user's, not ours.
fn refuse_non_empty(dir: &Path) -> anyhow::Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(user(format!("{} is not empty", dir.display()))
                .hint("pass a new or empty directory to --dir")
                .into()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(user(format!("{} is not a directory", dir.display()))
                .hint("pass a new or empty directory to --dir")
                .into())
        }
        Err(e) => Err(user(format!("cannot read {}: {e}", dir.display()))
            .hint("pass a new or empty directory to --dir")
            .into()),
    }
}

/// `--dir`: created when missing, used when empty, refused otherwise.
fn prepare_kept_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    refuse_non_empty(dir)?;
    fs::create_dir_all(dir).map_err(|e| {
        user(format!("cannot create {}: {e}", dir.display()))
            .hint("pass a directory you can write to --dir")
    })?;
    fs::canonicalize(dir).with_context(|| format!("could not resolve {}", dir.display()))
}

/// The sample project at its baseline; returns the baseline commit.
fn build_sample(dir: &Path) -> anyhow::Result<Oid> {
    let sample = Sample::init(dir, "main")?;
    for (key, value) in [
        ("user.name", DEV.0),
        ("user.email", DEV.1),
        ("core.autocrlf", "false"),
        // Which tests run is git config's to say, never a tracked file's.
        (settings::TEST_COMMAND, "sh tests/run.sh"),
        (settings::TEST_PATTERN, "tests/test_{stem}.sh"),
        // The sandbox is tiny; a nearly full disk is not what it shows.
        (settings::DISK_THRESHOLD, "100"),
    ] {
        sample.set_config(key, value)?;
    }
    write_files(
        dir,
        &[
            (".gitignore", GITIGNORE),
            ("README.md", README),
            ("src/greet.sh", GREET),
            ("config/settings.toml", SETTINGS),
        ],
    )?;
    sample.stage(&[".gitignore", "README.md", "src", "config"])?;
    sample.commit("Start the greeter", DEV)?;
    write_files(
        dir,
        &[
            ("tests/run.sh", TEST_RUNNER),
            ("tests/test_greet.sh", TEST_GREET),
        ],
    )?;
    sample.stage(&["tests"])?;
    let baseline = sample.commit("Test the greeting", DEV)?;
    sample.tag_head("baseline", "Known good: the tests pass", DEV)?;
    Ok(baseline)
}

fn write_files(dir: &Path, files: &[(&str, &str)]) -> anyhow::Result<()> {
    for (rel, content) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        fs::write(&path, content).with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}

/// Why the tour stopped.
#[derive(Debug)]
struct Failure {
    step: String,
    message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step `{}`: {}", self.step, self.message)
    }
}

/// One step as shown to the user.
struct Step {
    name: String,
    title: String,
    /// What the user would type; `None` for the demo's own edits.
    command: Option<String>,
    /// What the demo did itself, for steps without a command.
    narration: Vec<String>,
    exit_code: Option<i32>,
    output: Vec<String>,
    ok: bool,
    verification: String,
}

impl Step {
    fn render(&self, ui: &Ui, n: usize, outcome: &mut Outcome) {
        outcome.line("");
        outcome.line(ui.bold(&format!("{n}. {}", self.title)));
        if let Some(command) = &self.command {
            outcome.line(format!("$ {command}"));
        }
        for line in &self.narration {
            outcome.line(format!("# {line}"));
        }
        for line in &self.output {
            outcome.line(format!("    {line}"));
        }
        let mark = if self.ok {
            ui.good("✓")
        } else {
            ui.bad("✗")
        };
        outcome.line(format!("{mark} {}", self.verification));
    }

    fn to_json(&self) -> StepJson<'_> {
        StepJson {
            name: &self.name,
            title: &self.title,
            command: self.command.as_deref(),
            exit_code: self.exit_code,
            ok: self.ok,
            verification: &self.verification,
            output: &self.output,
        }
    }
}

/// The running tour: where the sandbox is, how to run the tool in it, and
/// the steps so far.
struct Tour {
    dir: PathBuf,
    exe: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
    color: bool,
    steps: Vec<Step>,
}

impl Tour {
    fn new(ui: &Ui, dir: &Path, scratch: &Path) -> anyhow::Result<Tour> {
        let exe = std::env::current_exe()
            .context("could not find this program's own executable to run the steps")?;
        let home = scratch.join("home");
        let tmp = scratch.join("tmp");
        for d in [home.join(".config"), tmp.clone()] {
            fs::create_dir_all(&d).with_context(|| format!("could not create {}", d.display()))?;
        }
        fs::write(home.join(".gitconfig"), "")
            .context("could not write the demo's empty global git config")?;
        Ok(Tour {
            dir: dir.to_path_buf(),
            exe,
            home,
            tmp,
            // JSON carries the steps' output as plain text.
            color: ui.color_enabled() && !ui.json,
            steps: Vec::new(),
        })
    }

    /// The steps of the tour, in order; stops at the first that fails.
    fn walk(&mut self, baseline: Oid) -> Result<(), Failure> {
        self.tool("check", "Pre-sprint safety checks", CHECK, |r| {
            verify_check(r, baseline)
        })?;
        self.tool(
            "sprint start",
            "Start sprint 1 from the baseline",
            SPRINT_START,
            |r| verify_sprint_started(r, baseline),
        )?;
        let tip = self.edit(
            "work",
            "Work on the sprint: two good commits, then a change that breaks the tests",
            vec![
                format!(
                    "commit \"{}\" and \"{}\" on {SPRINT_BRANCH}",
                    SPRINT_COMMITS[0], SPRINT_COMMITS[1]
                ),
                "stage a new greeting in src/greet.sh (it breaks the greeting test)".into(),
                "edit config/settings.toml, add notes/todo.md, write the ignored build/cache.log"
                    .into(),
            ],
            do_sprint_work,
            |r, tip| verify_sprint_work(r, baseline, tip),
        )?;
        self.tool(
            "emergency",
            "Level 1: emergency rollback to the baseline",
            EMERGENCY,
            |r| verify_emergency(r, baseline, tip),
        )?;
        self.tool("undo", "Undo it, exactly", UNDO, |r| verify_undo(r, tip))?;
        self.tool(
            "sprint rollback",
            "Level 2: roll the sprint back, keeping the work",
            SPRINT_ROLLBACK,
            |r| verify_sprint_rollback(r, baseline, tip),
        )?;
        self.edit(
            "experiment",
            "Try the new greeting again on the retry branch",
            vec!["edit src/greet.sh (the broken greeting once more)".into()],
            |dir| write_files(dir, &[("src/greet.sh", GREET_BROKEN)]),
            |r, ()| verify_experiment(r, baseline),
        )?;
        self.tool("files", "Level 3: put that one file back", FILES, |r| {
            verify_files(r, baseline)
        })?;
        self.tool(
            "recover",
            "Cherry-pick the sprint's good commits",
            RECOVER,
            |r| verify_recover(r, baseline),
        )?;
        let lost = self.edit(
            "lose",
            "Lose staged work with plain git, outside the tool",
            vec![
                "edit README.md and stage it (`git add README.md`)".into(),
                "then `git reset --hard`: the staged change is gone from the index and the work tree".into(),
            ],
            lose_staged_work,
            verify_lost,
        )?;
        self.tool_seeing(
            "rescue",
            "Find the work git still holds",
            RESCUE,
            |r, out| verify_rescue_listed(r, out, lost),
        )?;
        let restore = rescue_restore().map_err(|e| Failure {
            step: "rescue restore".to_string(),
            message: format!("{e:#}"),
        })?;
        let restore: Vec<&str> = restore.iter().map(String::as_str).collect();
        self.tool(
            "rescue restore",
            "Bring the lost README change back, beside the work tree's files",
            &restore,
            verify_rescued,
        )?;
        self.tool("metrics", "Rollback metrics", METRICS, verify_metrics)?;
        self.tool("log", "The operation journal", LOG, verify_log)?;
        Ok(())
    }

    /// Run `git rollback-sprint <args>` in the sandbox, then `verify` it.
    fn tool(
        &mut self,
        name: &str,
        title: &str,
        args: &[&str],
        verify: impl FnOnce(&Repo) -> anyhow::Result<String>,
    ) -> Result<(), Failure> {
        self.tool_seeing(name, title, args, |repo, _| verify(repo))
    }

    /// [`Tour::tool`] for a step that only shows something: `verify` also
    /// reads what it printed.
    fn tool_seeing(
        &mut self,
        name: &str,
        title: &str,
        args: &[&str],
        verify: impl FnOnce(&Repo, &str) -> anyhow::Result<String>,
    ) -> Result<(), Failure> {
        let mut step = Step {
            name: name.to_string(),
            title: title.to_string(),
            command: Some(shown_command(args)),
            narration: Vec::new(),
            exit_code: None,
            output: Vec::new(),
            ok: false,
            verification: String::new(),
        };
        let ran = self.spawn(args);
        let checked = ran.and_then(|ran| {
            step.exit_code = ran.code;
            step.output = ran.stdout.lines().map(str::to_string).collect();
            if ran.code != Some(0) {
                let why = ran
                    .stderr
                    .lines()
                    .chain(ran.stdout.lines())
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output");
                anyhow::bail!("{}: {why}", ran.ended);
            }
            verify(&self.open()?, &ran.stdout)
        });
        self.finish(step, checked)
    }

    /// A change the demo makes itself, as the user would with an editor
    /// and git; `verify` gets what `act` returned.
    fn edit<T>(
        &mut self,
        name: &str,
        title: &str,
        narration: Vec<String>,
        act: impl FnOnce(&Path) -> anyhow::Result<T>,
        verify: impl FnOnce(&Repo, &T) -> anyhow::Result<String>,
    ) -> Result<T, Failure> {
        let step = Step {
            name: name.to_string(),
            title: title.to_string(),
            command: None,
            narration,
            exit_code: None,
            output: Vec::new(),
            ok: false,
            verification: String::new(),
        };
        let mut value = None;
        let checked = act(&self.dir).and_then(|v| {
            let message = verify(&self.open()?, &v)?;
            value = Some(v);
            Ok(message)
        });
        self.finish(step, checked)?;
        value.ok_or_else(|| Failure {
            step: name.to_string(),
            message: "the step produced nothing to go on with".to_string(),
        })
    }

    /// The sandbox, opened afresh, and only the sandbox: discovery must
    /// not find a repository around it.
    fn open(&self) -> anyhow::Result<Repo> {
        let repo = Repo::open_ignoring_env(&self.dir)?;
        ensure!(
            fs::canonicalize(repo.workdir()).ok() == fs::canonicalize(&self.dir).ok(),
            "the sandbox {} is no longer a repository",
            self.dir.display()
        );
        Ok(repo)
    }

    fn finish(&mut self, mut step: Step, checked: anyhow::Result<String>) -> Result<(), Failure> {
        let name = step.name.clone();
        let result = match checked {
            Ok(message) => {
                step.ok = true;
                step.verification = message;
                Ok(())
            }
            Err(e) => {
                let message = format!("{e:#}");
                step.verification = message.clone();
                Err(Failure {
                    step: name,
                    message,
                })
            }
        };
        self.steps.push(step);
        result
    }

    /// Run the tool in the sandbox, isolated from the user's git setup.
    fn spawn(&self, args: &[&str]) -> anyhow::Result<Ran> {
        let mut cmd = Command::new(&self.exe);
        // Started in the sandbox rather than with `-C`, so that the journal,
        // `log` and `undo` show the command as the user would type it.
        cmd.current_dir(&self.dir).arg("--yes");
        if self.color {
            cmd.args(["--color", "always"]);
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in git::cli::REPO_ENV.iter().chain(CONFIG_ENV) {
            cmd.env_remove(var);
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("TMPDIR", &self.tmp);
        if let Some(parent) = self.dir.parent() {
            cmd.env("GIT_CEILING_DIRECTORIES", parent);
        }
        let out = cmd
            .output()
            .with_context(|| format!("could not run {}", self.exe.display()))?;
        let ended = match (out.status.code(), out.status.signal()) {
            (Some(code), _) => format!("exited with {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended without an exit code".to_string(),
        };
        Ok(Ran {
            code: out.status.code(),
            ended,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// How one run of the tool ended.
struct Ran {
    code: Option<i32>,
    /// "exited with 4", "was killed by signal 9".
    ended: String,
    stdout: String,
    stderr: String,
}

/// Variables that would bring the user's git config into the sandbox.
const CONFIG_ENV: &[&str] = &[
    "GIT_CONFIG",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_SYSTEM",
];

/// `git rollback-sprint sprint rollback --reason "tests fail"`.
fn shown_command(args: &[&str]) -> String {
    let mut words = vec!["git rollback-sprint".to_string()];
    for arg in args {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c));
        if plain {
            words.push(arg.to_string());
        } else {
            words.push(format!("\"{arg}\""));
        }
    }
    words.join(" ")
}

// ----- the demo's own edits ------------------------------------------------------

/// Two good commits on the sprint branch, then the dirty work tree of
/// [`DIRTY`]; returns the sprint's last commit.
fn do_sprint_work(dir: &Path) -> anyhow::Result<Oid> {
    let sample = Sample::open(dir)?;
    write_files(
        dir,
        &[
            ("src/farewell.sh", FAREWELL),
            ("tests/test_farewell.sh", TEST_FAREWELL),
        ],
    )?;
    sample.stage(&["src/farewell.sh", "tests/test_farewell.sh"])?;
    sample.commit(SPRINT_COMMITS[0], DEV)?;
    write_files(dir, &[("README.md", README_SPRINT)])?;
    sample.stage(&["README.md"])?;
    let tip = sample.commit(SPRINT_COMMITS[1], DEV)?;
    for (path, content, dirt) in DIRTY {
        write_files(dir, &[(path, content)])?;
        if dirt == Dirt::Staged {
            sample.stage(&[path])?;
        }
    }
    Ok(tip)
}

/// Stage a README change, then `git reset --hard` as plain git does;
/// returns the lost content's blob id.
fn lose_staged_work(dir: &Path) -> anyhow::Result<Oid> {
    let sample = Sample::open(dir)?;
    write_files(dir, &[("README.md", README_LOST)])?;
    sample.stage(&["README.md"])?;
    sample.reset_hard()?;
    crate::git::lost::blob_id(README_LOST.as_bytes())
}

// ----- verifications -----------------------------------------------------------------

/// Nothing uncommitted (the tool's reports folder aside).
fn ensure_clean(repo: &Repo) -> anyhow::Result<()> {
    let reports = settings::reports_path(settings::DEFAULT_REPORTS_DIR);
    let p = snapshot::preview(repo, false, Some(&reports))?;
    ensure!(
        !p.is_dirty(),
        "the work tree is not clean: {} staged, {} modified, {} deleted, {} untracked",
        p.staged,
        p.modified,
        p.deleted,
        p.untracked
    );
    Ok(())
}

/// HEAD is on `branch`, which points at `at`.
fn ensure_on(repo: &Repo, branch: &str, at: Oid) -> anyhow::Result<()> {
    let head = repo.head_state()?;
    let wanted = format!("refs/heads/{branch}");
    ensure!(
        head == HeadState::Symbolic(wanted.clone()),
        "HEAD is on {}, not on {branch}",
        head.describe()
    );
    let target = repo.ref_target(&wanted)?;
    ensure!(
        target == Some(at),
        "{branch} is at {}, not at {}",
        target.map_or("nothing".to_string(), |t| repo.short_id(t)),
        repo.short_id(at)
    );
    Ok(())
}

fn read_worktree(repo: &Repo, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match fs::read(repo.workdir().join(path)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not read {path}")),
    }
}

/// The one branch under `prefix` (`backup/emergency-`), with its commit.
fn only_branch(repo: &Repo, prefix: &str) -> anyhow::Result<(String, Oid)> {
    let mut found = repo.refs_with_prefix(&format!("refs/heads/{prefix}"))?;
    ensure!(
        found.len() == 1,
        "expected one branch {prefix}…, found {}",
        found.len()
    );
    let (name, id) = found.remove(0);
    Ok((name.trim_start_matches("refs/heads/").to_string(), id))
}

fn ignored_file_untouched(repo: &Repo) -> anyhow::Result<()> {
    ensure!(
        read_worktree(repo, "build/cache.log")?.as_deref() == Some(CACHE.as_bytes()),
        "the ignored file build/cache.log was changed or removed"
    );
    Ok(())
}

fn verify_check(repo: &Repo, baseline: Oid) -> anyhow::Result<String> {
    let tags = repo.tags_with_prefix(settings::DEFAULT_CHECKPOINT_PREFIX)?;
    ensure!(
        tags.len() == 1,
        "expected one checkpoint tag, found {}",
        tags.len()
    );
    ensure!(
        tags[0].commit == baseline,
        "the checkpoint {} is not at the baseline",
        tags[0].name
    );
    Ok(format!(
        "every check passed and `{}` tags the baseline ({})",
        tags[0].name,
        repo.short_id(baseline)
    ))
}

fn verify_sprint_started(repo: &Repo, baseline: Oid) -> anyhow::Result<String> {
    ensure_on(repo, SPRINT_BRANCH, baseline)?;
    ensure_clean(repo)?;
    let tags = repo.tags_with_prefix(settings::DEFAULT_CHECKPOINT_PREFIX)?;
    ensure!(
        tags.len() == 2,
        "expected a second checkpoint tag, found {} in all",
        tags.len()
    );
    Ok(format!(
        "HEAD is on {SPRINT_BRANCH} at the baseline, behind a new checkpoint"
    ))
}

fn verify_sprint_work(repo: &Repo, baseline: Oid, tip: &Oid) -> anyhow::Result<String> {
    ensure_on(repo, SPRINT_BRANCH, *tip)?;
    let ahead = repo.count_commits(baseline, *tip)?;
    ensure!(
        ahead == 2,
        "{SPRINT_BRANCH} is {ahead} commits ahead of the baseline, not 2"
    );
    let reports = settings::reports_path(settings::DEFAULT_REPORTS_DIR);
    let p = snapshot::preview(repo, true, Some(&reports))?;
    ensure!(
        p.staged == 1 && p.modified == 1 && p.untracked >= 1 && !p.ignored.is_empty(),
        "the work tree is not dirty in every way: {} staged, {} modified, {} untracked, {} ignored",
        p.staged,
        p.modified,
        p.untracked,
        p.ignored.len()
    );
    Ok(format!(
        "{SPRINT_BRANCH} is 2 commits ahead of the baseline; 1 staged, 1 unstaged, {} untracked and {} ignored path(s)",
        p.untracked,
        p.ignored.len()
    ))
}

fn verify_emergency(repo: &Repo, baseline: Oid, tip: Oid) -> anyhow::Result<String> {
    ensure_on(repo, SPRINT_BRANCH, baseline)?;
    ensure_clean(repo)?;
    let stashes = repo.stash_messages()?;
    let top = stashes.first().map(String::as_str).unwrap_or_default();
    ensure!(
        top.contains("EMERGENCY: State before rollback"),
        "the stash list has no EMERGENCY entry on top (it has {} entries)",
        stashes.len()
    );
    let (backup, at) = only_branch(repo, "backup/emergency-")?;
    ensure!(at == tip, "{backup} is not at the sprint's last commit");
    ignored_file_untouched(repo)?;
    Ok(format!(
        "the work tree equals the baseline; stash@{{0}} is \"{}\"; {backup} holds the sprint's commits; the ignored build/cache.log is untouched",
        top.trim()
    ))
}

fn verify_undo(repo: &Repo, tip: Oid) -> anyhow::Result<String> {
    ensure_on(repo, SPRINT_BRANCH, tip)?;
    for (path, content, dirt) in DIRTY {
        ensure!(
            read_worktree(repo, path)?.as_deref() == Some(content.as_bytes()),
            "{path} is not back byte for byte"
        );
        let staged = repo.file_in_index(path)?;
        let committed = repo.file_in_commit(tip, path)?;
        let as_before = match dirt {
            Dirt::Staged => staged.as_deref() == Some(content.as_bytes()),
            Dirt::Unstaged => staged.is_some() && staged == committed,
            Dirt::Untracked | Dirt::Ignored => staged.is_none(),
        };
        ensure!(as_before, "the index entry of {path} is not as before");
    }
    let stashes = repo.stash_messages()?;
    ensure!(
        stashes.is_empty(),
        "the stash list still has {} entries",
        stashes.len()
    );
    Ok(format!(
        "HEAD is back on {SPRINT_BRANCH}; the {} dirty files are back byte for byte (src/greet.sh staged again) and the stash list is as before",
        DIRTY.len()
    ))
}

fn verify_sprint_rollback(repo: &Repo, baseline: Oid, tip: Oid) -> anyhow::Result<String> {
    ensure_on(repo, RETRY_BRANCH, baseline)?;
    ensure_clean(repo)?;
    ensure!(
        repo.ref_target(&format!("refs/heads/{SPRINT_BRANCH}"))? == Some(tip),
        "{SPRINT_BRANCH} moved"
    );
    let (backup, wip) = only_branch(repo, "backup/sprint-1-")?;
    ensure!(
        repo.parents(wip)? == vec![tip],
        "{backup} is not one WIP commit on top of {SPRINT_BRANCH}"
    );
    for (path, content, dirt) in DIRTY {
        let saved = repo.file_in_commit(wip, path)?;
        let wanted = (dirt != Dirt::Ignored).then_some(content.as_bytes());
        ensure!(
            saved.as_deref() == wanted,
            "{backup} does not hold {path} as it was"
        );
    }
    ignored_file_untouched(repo)?;
    let report = repo.workdir().join("rollbacks/sprint-1/report.md");
    ensure!(
        report.is_file(),
        "rollbacks/sprint-1/report.md was not written"
    );
    Ok(format!(
        "{backup} holds the work in progress; HEAD is on {RETRY_BRANCH} at the baseline; rollbacks/sprint-1/report.md written"
    ))
}

fn verify_experiment(repo: &Repo, baseline: Oid) -> anyhow::Result<String> {
    let ours = read_worktree(repo, "src/greet.sh")?;
    ensure!(
        ours != repo.file_in_commit(baseline, "src/greet.sh")?,
        "src/greet.sh still equals the baseline's"
    );
    Ok("src/greet.sh differs from the baseline".to_string())
}

fn verify_files(repo: &Repo, baseline: Oid) -> anyhow::Result<String> {
    let theirs = repo.file_in_commit(baseline, "src/greet.sh")?;
    ensure!(
        read_worktree(repo, "src/greet.sh")? == theirs,
        "src/greet.sh in the work tree differs from the baseline's"
    );
    ensure!(
        repo.file_in_index("src/greet.sh")? == theirs,
        "src/greet.sh in the index differs from the baseline's"
    );
    ensure_on(repo, RETRY_BRANCH, baseline)?;
    ensure_clean(repo)?;
    Ok("src/greet.sh equals the baseline's, in the work tree and the index".to_string())
}

fn verify_recover(repo: &Repo, baseline: Oid) -> anyhow::Result<String> {
    let (branch, head) = match repo.head_state()? {
        HeadState::Symbolic(name) if name.starts_with("refs/heads/recovery/") => {
            let at = repo
                .ref_target(&name)?
                .with_context(|| format!("{name} points at nothing"))?;
            (name.trim_start_matches("refs/heads/").to_string(), at)
        }
        other => anyhow::bail!(
            "HEAD is on {}, not on a recovery/… branch",
            other.describe()
        ),
    };
    // Newest first: the picked commits, then the baseline.
    let mut summaries = Vec::new();
    let mut at = head;
    while at != baseline {
        ensure!(
            summaries.len() < SPRINT_COMMITS.len(),
            "{branch} does not sit on the baseline"
        );
        summaries.push(repo.commit_info(at)?.summary);
        let parents = repo.parents(at)?;
        ensure!(parents.len() == 1, "{branch} has a merge or a root commit");
        at = parents[0];
    }
    summaries.reverse();
    ensure!(
        summaries == SPRINT_COMMITS,
        "{branch} holds {summaries:?}, not the sprint's commits"
    );
    ensure!(
        repo.file_in_commit(head, "src/greet.sh")?
            == repo.file_in_commit(baseline, "src/greet.sh")?,
        "the broken greeting came along"
    );
    ensure_clean(repo)?;
    Ok(format!(
        "{branch} holds the sprint's {} good commits on the baseline; the broken greeting stayed behind",
        SPRINT_COMMITS.len()
    ))
}

fn verify_lost(repo: &Repo, lost: &Oid) -> anyhow::Result<String> {
    let head = repo.head_commit()?.context("HEAD has no commit")?;
    let committed = repo.file_in_commit(head, "README.md")?;
    ensure!(
        read_worktree(repo, "README.md")? == committed
            && repo.file_in_index("README.md")? == committed,
        "README.md is not back to HEAD's in the work tree and the index"
    );
    ensure!(
        repo.has_object(*lost),
        "the staged content {} is not in the object store",
        repo.short_id(*lost)
    );
    Ok(format!(
        "README.md is HEAD's again; the staged content ({}) is an object no ref, index or stash reaches",
        repo.short_id(*lost)
    ))
}

fn verify_rescue_listed(repo: &Repo, out: &str, lost: Oid) -> anyhow::Result<String> {
    let short = repo.short_id(lost);
    let line = out
        .lines()
        .find(|l| l.contains(&short))
        .with_context(|| format!("the lost README change {short} is not listed"))?;
    ensure!(
        line.contains("README.md"),
        "the lost README change is listed without its path: {line}"
    );
    Ok(format!(
        "the lost change is listed as {short}, its path guessed: README.md"
    ))
}

fn verify_rescued(repo: &Repo) -> anyhow::Result<String> {
    let reports = repo.workdir().join(settings::DEFAULT_REPORTS_DIR);
    let folder = fs::read_dir(&reports)
        .context("could not read the reports folder")?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("rescued-"))
        .context("no rescued-… folder in the reports folder")?;
    let path = format!("{}/{folder}/README.md", settings::DEFAULT_REPORTS_DIR);
    ensure!(
        read_worktree(repo, &path)?.as_deref() == Some(README_LOST.as_bytes()),
        "{path} does not hold the lost change byte for byte"
    );
    ensure_clean(repo)?;
    Ok(format!(
        "{path} holds the lost change byte for byte; README.md itself is untouched"
    ))
}

fn verify_metrics(repo: &Repo) -> anyhow::Result<String> {
    let path = repo.workdir().join("rollbacks/metrics.json");
    let text = fs::read_to_string(&path).context("could not read rollbacks/metrics.json")?;
    let doc: Value = serde_json::from_str(&text).context("rollbacks/metrics.json is not JSON")?;
    let entries = doc["rollbacks"].as_array().cloned().unwrap_or_default();
    let emergency = entries
        .iter()
        .any(|e| e["kind"] == "emergency" && e["undone"] == true);
    let sprint = entries
        .iter()
        .any(|e| e["kind"] == "sprint" && e["cause"] == REASON && e["undone"] == false);
    ensure!(emergency, "no undone emergency in rollbacks/metrics.json");
    ensure!(
        sprint,
        "no sprint rollback \"{REASON}\" in rollbacks/metrics.json"
    );
    ensure!(
        doc["statistics"]["total_rollbacks"] == 1,
        "the statistics do not count exactly the one rollback that stands"
    );
    Ok(format!(
        "rollbacks/metrics.json records the sprint rollback (\"{REASON}\") and the emergency, marked undone"
    ))
}

fn verify_log(repo: &Repo) -> anyhow::Result<String> {
    let ops = Journal::for_repo(repo).operations()?;
    let expected = [
        "checkpoint",
        "sprint start",
        "emergency",
        "undo",
        "sprint rollback",
        "files",
        "recover",
        crate::journal::RESCUE_KIND,
    ];
    let mut wanted = expected.iter().peekable();
    for op in &ops {
        ensure!(
            op.status(None) == OpStatus::Done,
            "operation {} ({}) did not finish",
            op.id(),
            op.begin.kind
        );
        if wanted.peek().is_some_and(|k| **k == op.begin.kind) {
            wanted.next();
        }
    }
    if let Some(missing) = wanted.next() {
        anyhow::bail!("the journal has no `{missing}` operation where expected");
    }
    Ok(format!(
        "the journal lists all {} operations, each done: {}",
        ops.len(),
        expected.join(", ")
    ))
}
