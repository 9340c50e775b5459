//! Running the project's tests: which command, how, and what it said.
//!
//! The command comes from git config (`rollback.testCommand`) or is detected
//! from the files of the tree under test; it runs with `sh -c` in its own
//! process group (so a timeout stops all of it), with the variables that
//! would point git at another repository removed, its output captured to a
//! file. Passed and failed counts are read from the summaries of the common
//! runners (cargo test, pytest, jest/npm, go test, and the plain
//! "N passed, N failed" line).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd as _;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt as _;

use crate::error::{user, Exit};
use crate::git::{Oid, Repo};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestRun {
    pub command: String,
    pub exit_code: Option<i32>,
    pub passed: Option<u64>,
    pub failed: Option<u64>,
    pub timed_out: bool,
    pub duration_seconds: f64,
    #[serde(skip)]
    pub output: String,
}

impl TestRun {
    pub fn succeeded(&self) -> bool {
        !self.timed_out && self.exit_code == Some(0) && self.failed.unwrap_or(0) == 0
    }

    pub fn summary(&self) -> String {
        let counts = match (self.passed, self.failed) {
            (Some(p), Some(f)) => format!("{p} passed, {f} failed"),
            (Some(p), None) => format!("{p} passed"),
            (None, Some(f)) => format!("{f} failed"),
            (None, None) => "no counts reported".to_string(),
        };
        if self.timed_out {
            format!("timed out after {:.0} s ({counts})", self.duration_seconds)
        } else {
            match self.exit_code {
                Some(0) if self.failed.unwrap_or(0) > 0 => {
                    format!("failed: tests failed although the command exited 0 ({counts})")
                }
                Some(0) => format!("passed ({counts})"),
                Some(c) => format!("failed with exit code {c} ({counts})"),
                None => format!("stopped by a signal ({counts})"),
            }
        }
    }
}

/// The test command for a tree: the configured one, or one detected from
/// the tree's files.
pub fn test_command(repo: &Repo, configured: Option<&str>, tree: Oid) -> anyhow::Result<String> {
    if let Some(cmd) = configured {
        return Ok(cmd.to_string());
    }
    let detected = [
        ("Cargo.toml", "cargo test"),
        ("package.json", "npm test"),
        ("go.mod", "go test ./..."),
        ("pytest.ini", "pytest"),
        ("pyproject.toml", "pytest"),
        ("setup.py", "pytest"),
        ("setup.cfg", "pytest"),
        ("conftest.py", "pytest"),
        ("Makefile", "make test"),
    ]
    .iter()
    .find(|(file, _)| repo.tree_has_path(tree, file))
    .map(|(_, cmd)| cmd.to_string());
    detected.ok_or_else(|| {
        user("no test command is configured and none could be detected")
            .hint("set one: git config rollback.testCommand 'make check'")
            .into()
    })
}

/// Run `command` in `dir`, stopping it after `timeout`.
pub fn run_tests(command: &str, dir: &Path, timeout: Duration) -> anyhow::Result<TestRun> {
    let log =
        tempfile::NamedTempFile::new().context("could not create a file for the test output")?;
    let out: File = log
        .reopen()
        .context("could not open the test output file")?;
    let err = out
        .try_clone()
        .context("could not open the test output file")?;
    let mut run = run_with(
        command,
        dir,
        timeout,
        Stdio::from(out),
        Stdio::from(err),
        Stdio::null(),
    )?;
    run.output =
        String::from_utf8_lossy(&std::fs::read(log.path()).unwrap_or_default()).into_owned();
    (run.passed, run.failed) = parse_counts(&run.output);
    Ok(run)
}

/// Run `command` in `dir` with its output streamed as it comes (`test`):
/// to this process's stdout and stderr, or both to stderr when stdout is
/// for JSON. Their input is empty: the tests run in a process group of
/// their own, which may not read the terminal. No counts are read.
pub fn run_streamed(
    command: &str,
    dir: &Path,
    timeout: Duration,
    stdout_to_stderr: bool,
) -> anyhow::Result<TestRun> {
    let out = if stdout_to_stderr {
        Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?)
    } else {
        Stdio::inherit()
    };
    run_with(command, dir, timeout, out, Stdio::inherit(), Stdio::null())
}

fn run_with(
    command: &str,
    dir: &Path,
    timeout: Duration,
    out: Stdio,
    err: Stdio,
    input: Stdio,
) -> anyhow::Result<TestRun> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(input)
        .stdout(out)
        .stderr(err)
        .process_group(0);
    for var in crate::git::cli::REPO_ENV {
        cmd.env_remove(var);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not run `{command}`"))?;
    // The process group the tests were started in (its id is the child's).
    let group = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let interrupts = match Interrupts::watch(group) {
        Ok(watch) => watch,
        Err(e) => {
            stop_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
            return Err(e);
        }
    };
    let waited = child.wait_timeout(timeout);
    let timed_out = matches!(waited, Ok(None));
    let status = match &waited {
        Ok(Some(status)) => Some(*status),
        Ok(None) | Err(_) => {
            stop_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
            None
        }
    };
    // Whatever the tests left running in their group goes with them.
    stop_group(group, rustix::process::Signal::KILL);
    if let Some(signal) = interrupts.finish() {
        return Err(user(format!(
            "interrupted by {signal} while `{}` ran: it was stopped, and nothing further was changed",
            crate::ui::one_line(command)
        ))
        .exit(Exit::Stopped)
        .into());
    }
    if status.is_none() && !timed_out {
        waited.context("could not wait for the tests")?;
    }
    Ok(TestRun {
        command: command.to_string(),
        exit_code: status.and_then(|s| s.code()),
        passed: None,
        failed: None,
        timed_out,
        duration_seconds: started.elapsed().as_secs_f64(),
        output: String::new(),
    })
}

/// Whether `error` is a test run ended by Ctrl-C or SIGTERM (see
/// [`run_tests`]): the command stops there, not after a warning.
pub fn interrupted(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<crate::error::UserError>()
        .is_some_and(|e| e.exit == Exit::Stopped)
}

/// Send `signal` to the tests' process group; one that is gone already is
/// not an error.
fn stop_group(group: Option<rustix::process::Pid>, signal: rustix::process::Signal) {
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, signal);
    }
}

/// Ctrl-C (SIGINT) or SIGTERM while the tests run: the whole process group
/// of the tests is stopped (SIGTERM, then SIGKILL for what is left after a
/// grace period), and the run ends as interrupted. Outside a test run both
/// signals do what they did before (end this process).
struct Interrupts {
    handle: signal_hook::iterator::Handle,
    watcher: Option<std::thread::JoinHandle<Option<i32>>>,
    held: Option<crate::signals::Held>,
}

/// How long the tests get to end after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

impl Interrupts {
    fn watch(group: Option<rustix::process::Pid>) -> anyhow::Result<Interrupts> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let held = crate::signals::Held::new(&[SIGINT, SIGTERM])?;
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
            .context("could not watch for Ctrl-C")?;
        let handle = signals.handle();
        let watcher = std::thread::spawn(move || {
            let first = signals.forever().next()?;
            stop_group(group, rustix::process::Signal::TERM);
            // A test runner that ignores SIGTERM still ends: SIGKILL after
            // the grace period, unless the run is over before it.
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline && !signals.is_closed() {
                std::thread::sleep(Duration::from_millis(50));
            }
            if !signals.is_closed() {
                stop_group(group, rustix::process::Signal::KILL);
            }
            Some(first)
        });
        Ok(Interrupts {
            handle,
            watcher: Some(watcher),
            held: Some(held),
        })
    }

    /// The run is over: the signal that interrupted it, if one did.
    fn finish(mut self) -> Option<&'static str> {
        self.close().map(|n| {
            if n == signal_hook::consts::SIGINT {
                "Ctrl-C"
            } else {
                "SIGTERM"
            }
        })
    }

    fn close(&mut self) -> Option<i32> {
        self.handle.close();
        let first = self.watcher.take().and_then(|w| w.join().ok()).flatten();
        drop(self.held.take());
        first
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.close();
    }
}

/// Passed and failed counts from a test runner's output.
pub fn parse_counts(output: &str) -> (Option<u64>, Option<u64>) {
    // cargo test: one "test result:" line per test binary; add them up.
    let cargo: Vec<&str> = output
        .lines()
        .filter(|l| l.trim_start().starts_with("test result:"))
        .collect();
    if !cargo.is_empty() {
        let mut passed = 0;
        let mut failed = 0;
        for line in cargo {
            let counts = counts_in_line(line);
            passed += counts.get("passed").copied().unwrap_or(0);
            failed += counts.get("failed").copied().unwrap_or(0);
        }
        return (Some(passed), Some(failed));
    }
    // go test -v: one line per test.
    let go_pass = output
        .lines()
        .filter(|l| l.trim_start().starts_with("--- PASS"))
        .count() as u64;
    let go_fail = output
        .lines()
        .filter(|l| l.trim_start().starts_with("--- FAIL"))
        .count() as u64;
    if go_pass + go_fail > 0 {
        return (Some(go_pass), Some(go_fail));
    }
    // pytest, jest ("Tests: 1 failed, 5 passed, 6 total"), and the plain
    // "N passed, N failed" line: the last line that has such counts.
    for line in output.lines().rev() {
        let counts = counts_in_line(line);
        if counts.contains_key("passed") || counts.contains_key("failed") {
            let failed = counts.get("failed").copied().or(Some(0));
            return (Some(counts.get("passed").copied().unwrap_or(0)), failed);
        }
    }
    // go test without -v: package lines.
    let ok_pkgs = output.lines().filter(|l| l.starts_with("ok ")).count() as u64;
    let fail_pkgs = output
        .lines()
        .filter(|l| l.starts_with("FAIL\t") || l.starts_with("FAIL "))
        .count() as u64;
    if ok_pkgs + fail_pkgs > 0 {
        return (Some(ok_pkgs), Some(fail_pkgs));
    }
    (None, None)
}

/// "3 passed; 1 failed" → {passed: 3, failed: 1}.
fn counts_in_line(line: &str) -> BTreeMap<&'static str, u64> {
    let words: Vec<String> = line
        .split(|c: char| c.is_whitespace() || ",;:=()[]".contains(c))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut counts = BTreeMap::new();
    for pair in words.windows(2) {
        let Ok(n) = pair[0].parse::<u64>() else {
            continue;
        };
        let key = match pair[1].as_str() {
            "passed" | "passing" => "passed",
            "failed" | "failing" | "failures" | "errors" | "error" => "failed",
            _ => continue,
        };
        *counts.entry(key).or_insert(0) += n;
    }
    counts
}

/// Results of baseline test runs, by tree and command, shared by all work
/// trees (`<common-dir>/rollback/verify-cache.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct VerifyCache {
    #[serde(default)]
    pub entries: BTreeMap<String, CachedRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedRun {
    pub tree: String,
    pub run: TestRun,
    pub time: String,
}

impl VerifyCache {
    fn path(repo: &Repo) -> std::path::PathBuf {
        repo.common_dir().join("rollback").join("verify-cache.json")
    }

    fn key(tree: Oid, command: &str) -> String {
        format!("{tree} {command}")
    }

    pub fn load(repo: &Repo) -> VerifyCache {
        std::fs::read(Self::path(repo))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn get(&self, tree: Oid, command: &str) -> Option<&CachedRun> {
        self.entries.get(&Self::key(tree, command))
    }

    /// Remember a run (written atomically: temp file and rename).
    pub fn store(repo: &Repo, tree: Oid, run: &TestRun) -> anyhow::Result<()> {
        let mut cache = Self::load(repo);
        cache.entries.insert(
            Self::key(tree, &run.command),
            CachedRun {
                tree: tree.to_string(),
                run: run.clone(),
                time: crate::clock::rfc3339(&crate::clock::now()),
            },
        );
        let path = Self::path(repo);
        let dir = path.parent().context("cache path has no folder")?;
        std::fs::create_dir_all(dir).context("could not create the cache folder")?;
        let text = serde_json::to_vec_pretty(&cache).context("could not write the cache")?;
        use crate::atomic::{write_atomic, Durability, Mode};
        write_atomic(&path, &text, Durability::None, Mode::Private)
            .context("could not write the cache")?;
        Ok(())
    }
}

/// Run a tree's tests in a temporary directory holding its files; the
/// user's work tree is never touched.
pub fn verify_tree(
    repo: &Repo,
    tree: Oid,
    command: &str,
    timeout: Duration,
) -> anyhow::Result<TestRun> {
    crate::trace::phase("verify: exporting the tree");
    let export = crate::git::export::Export::new(repo, tree, false)?;
    run_exported(command, export.path(), timeout)
}

fn run_exported(
    command: &str,
    dir: &std::path::Path,
    timeout: Duration,
) -> anyhow::Result<TestRun> {
    crate::trace::phase("verify: running the tests");
    let run = run_tests(command, dir, timeout);
    crate::trace::phase("verify: tests run");
    run
}

/// [`verify_tree`] in `export`: a directory exported before is brought to
/// `tree` (only what differs, and what the earlier tests changed, is
/// written), and kept there for the next tree.
pub fn verify_tree_in(
    export: &mut Option<crate::git::export::Export>,
    repo: &Repo,
    tree: Oid,
    command: &str,
    timeout: Duration,
) -> anyhow::Result<TestRun> {
    crate::trace::phase("verify: exporting the tree");
    // What the earlier tests did may keep the directory from being
    // brought to the tree (a folder they made unwritable): a new one then.
    if let Some(e) = export {
        if let Err(e) = e.switch_to(repo, tree) {
            crate::trace::phase(&format!("verify: exported anew: {e:#}"));
            *export = None;
        }
    }
    let dir = match export {
        Some(e) => e.path().to_path_buf(),
        None => export
            .insert(crate::git::export::Export::new(repo, tree, true)?)
            .path()
            .to_path_buf(),
    };
    run_exported(command, &dir, timeout)
}

#[cfg(test)]
mod tests {
    use super::parse_counts;

    #[test]
    fn cargo_results_are_added_up() {
        let out = "test result: ok. 5 passed; 0 failed; 1 ignored\n\ntest result: FAILED. 2 passed; 3 failed; 0 ignored\n";
        assert_eq!(parse_counts(out), (Some(7), Some(3)));
    }

    #[test]
    fn pytest_and_jest_summaries() {
        assert_eq!(
            parse_counts("==== 2 failed, 10 passed in 0.31s ====\n"),
            (Some(10), Some(2))
        );
        assert_eq!(
            parse_counts("Tests:       1 failed, 5 passed, 6 total\nTime: 1s\n"),
            (Some(5), Some(1))
        );
        assert_eq!(
            parse_counts("===== 4 passed in 0.1s =====\n"),
            (Some(4), Some(0))
        );
    }

    #[test]
    fn go_test_verbose_and_packages() {
        let v = "=== RUN A\n--- PASS: A (0.00s)\n--- FAIL: B (0.00s)\nFAIL\n";
        assert_eq!(parse_counts(v), (Some(1), Some(1)));
        let p = "ok  \texample.com/a\t0.01s\nFAIL\texample.com/b\t0.02s\n";
        assert_eq!(parse_counts(p), (Some(1), Some(1)));
    }

    #[test]
    fn no_counts_is_none() {
        assert_eq!(parse_counts("all good\n"), (None, None));
    }
}
