//! Test commands that leave processes behind, for the tests of Ctrl-C and
//! SIGTERM: every process of the test command's group must end.

use std::path::Path;
use std::time::{Duration, Instant};

/// A test command that starts a child in the background and one in the
/// foreground, and waits: it writes the pid of its shell and of both
/// children to `pids` (outside the repository).
pub fn lingering(pids: &Path) -> String {
    let file = pids.display();
    format!(
        "echo $$ >> '{file}'; sleep 300 & echo $! >> '{file}'; \
         sh -c 'echo $$ >> \"$0\"; exec sleep 300' '{file}'; wait"
    )
}

/// The three pids once the test command has written them.
pub fn started(pids: &Path) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(pids).unwrap_or_default();
        let found: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if found.len() == 3 && text.ends_with('\n') {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the test command never started: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` ends within a few seconds. A process sent SIGKILL is
/// gone only once the kernel has torn it down, which can finish a moment
/// after the tool that sent the signal has exited.
pub fn ends(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Whether `pid` still runs (a zombie waiting for its parent has ended).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
