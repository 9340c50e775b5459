//! Ctrl-C and SIGTERM while `sprint rollback` runs the tests: the whole
//! process group of the test command ends, and nothing else changes.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::lingering::{ends, lingering, started};
use crate::common::pty::Pty;
use crate::common::{assert_nothing_changed, everything, TestRepo};

/// A sprint branch ahead of the baseline, and a test command that starts
/// a child in the background and one in the foreground, writing the pid
/// of its shell and of both children to `pids` (outside the repository).
fn repo_with_lingering_tests(pids: &Path) -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-3"]);
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.commit_all("sprint: half-done refactor");
    repo.write("notes.txt", "work in progress\n");
    repo.git(&["config", "rollback.testCommand", &lingering(pids)]);
    repo
}

fn interrupt_the_tests(signal: rustix::process::Signal, name: &str) {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let pids = scratch.path().join("pids");
    let repo = repo_with_lingering_tests(&pids);
    interrupt(&repo, &["sprint", "rollback"], &pids, signal, name);
}

/// Run the tool with `args`, send it `signal` once the command writing
/// `pids` runs; it must stop that command's whole group, end in one line
/// with exit 3, and change nothing.
fn interrupt(
    repo: &TestRepo,
    args: &[&str],
    pids: &Path,
    signal: rustix::process::Signal,
    name: &str,
) {
    let before = everything(repo);
    let tool = repo
        .tool_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool starts");
    let group = started(pids);
    let pid = rustix::process::Pid::from_raw(tool.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, signal).expect("the signal is sent");
    let out = tool.wait_with_output().expect("the tool ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{name}: exit code\n{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: interrupted by")
            && last.contains("it was stopped, and nothing further was changed"),
        "{name}: the error is one line\n{stderr}"
    );
    for p in &group {
        assert!(ends(*p), "{name}: process {p} of the tests still runs");
    }
    assert_nothing_changed(repo, &before);
}

#[test]
fn ctrl_c_during_the_stop_command_of_an_emergency_stops_it_before_anything_changes() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let pids = scratch.path().join("pids");
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD~1"]);
    repo.write("notes.txt", "work in progress\n");
    repo.git(&["config", "rollback.stopCommand", &lingering(&pids)]);
    let name = "SIGINT in the stop command";
    interrupt(
        &repo,
        &["emergency"],
        &pids,
        rustix::process::Signal::INT,
        name,
    );
}

#[test]
fn ctrl_c_during_the_tests_ends_their_whole_group_and_changes_nothing() {
    interrupt_the_tests(rustix::process::Signal::INT, "SIGINT");
}

#[test]
fn sigterm_during_the_tests_ends_their_whole_group_and_changes_nothing() {
    interrupt_the_tests(rustix::process::Signal::TERM, "SIGTERM");
}

/// Ctrl-C while the pager shows `log` reaches the pager, which decides
/// what it means; the tool waits for it and ends normally.
#[test]
fn ctrl_c_in_the_pager_is_the_pagers_to_handle() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["checkpoint"]);
    // The shell's `read` may or may not be interrupted by the signal:
    // read until "bye" either way.
    let pager = "trap 'echo pager-saw-ctrl-c' INT; cat > /dev/null; echo pager-ready; \
                 line=; until [ \"$line\" = bye ]; do read line < /dev/tty; done; \
                 echo \"pager-done $line\"";
    let mut pty = Pty::spawn_with_env(&repo, &["log"], &[("GIT_PAGER", pager)]);
    pty.expect("pager-ready", Duration::from_secs(20));
    pty.send("\x03");
    // The shell runs its trap when `read` returns: at once when the signal
    // interrupts it, or only once the line is read when it restarts.
    pty.send("bye\n");
    pty.expect("pager-done bye", Duration::from_secs(20));
    assert_eq!(pty.wait(Duration::from_secs(20)), 0, "{}", pty.transcript());
    assert!(
        pty.transcript().contains("pager-saw-ctrl-c"),
        "the pager never saw Ctrl-C:\n{}",
        pty.transcript()
    );
}
