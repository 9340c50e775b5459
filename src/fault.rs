//! Test-only fault injection at the step boundaries of every command.
//!
//! Crash safety (docs/invariants.md, I4) is only as good as the crashes it was
//! tested against, so every step boundary calls [`point`] with a name, and a
//! build with the `fault-injection` feature reads two variables there:
//!
//! * `GIT_ROLLBACK_SPRINT_FAULT` —
//!   `<name>` kills the process with SIGKILL at the first point of that name,
//!   `<name>#<k>` at its k-th hit, `#<k>` at the k-th point reached whatever
//!   its name, and `list:<file>` appends the name of every point reached to
//!   `<file>`, one a line, so a test can enumerate them and then kill at each.
//! * `GIT_ROLLBACK_SPRINT_FAULT_EXEC=<name>[#<k>]:<shell command>` runs the
//!   command with `sh -c` at that point and waits for it: another process
//!   acting at an exact moment (a file changed between the snapshot and the
//!   reset) instead of a race the test could lose.
//!
//! All of it is compiled only with the `fault-injection` feature, which the
//! test build turns on (a dev-dependency of the package on itself, see
//! docs/design.md) in debug and release profiles alike. A build for users
//! leaves it off: its binary has no kill points and never reads these
//! variables.

/// A step boundary: see the module documentation. Free without the
/// `fault-injection` feature.
#[inline]
pub fn point(name: &str) {
    #[cfg(feature = "fault-injection")]
    injection::reached(name);
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}

#[cfg(feature = "fault-injection")]
mod injection {
    use std::collections::HashMap;
    use std::io::Write as _;
    use std::sync::Mutex;

    const FAULT: &str = "GIT_ROLLBACK_SPRINT_FAULT";
    const EXEC: &str = "GIT_ROLLBACK_SPRINT_FAULT_EXEC";

    #[derive(Default)]
    struct Counts {
        total: u64,
        by_name: HashMap<String, u64>,
    }

    static COUNTS: Mutex<Option<Counts>> = Mutex::new(None);

    /// `<name>`, `<name>#<k>` or `#<k>` against this hit.
    fn matches(spec: &str, name: &str, nth_of_name: u64, total: u64) -> bool {
        match spec.rsplit_once('#') {
            Some(("", k)) => k.parse() == Ok(total),
            Some((wanted, k)) => wanted == name && k.parse() == Ok(nth_of_name),
            None => spec == name && nth_of_name == 1,
        }
    }

    pub(super) fn reached(name: &str) {
        let fault = std::env::var(FAULT).ok();
        let exec = std::env::var(EXEC).ok();
        if fault.is_none() && exec.is_none() {
            return;
        }
        let (total, nth) = {
            let mut guard = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
            let counts = guard.get_or_insert_with(Counts::default);
            counts.total += 1;
            let nth = counts.by_name.entry(name.to_string()).or_insert(0);
            *nth += 1;
            (counts.total, *nth)
        };
        if let Some(exec) = exec {
            if let Some((spec, command)) = exec.split_once(':') {
                if matches(spec, name, nth, total) {
                    let _ = std::process::Command::new("sh")
                        .arg("-c")
                        .arg(command)
                        .status();
                }
            }
        }
        let Some(fault) = fault else {
            return;
        };
        if let Some(file) = fault.strip_prefix("list:") {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
            {
                let _ = writeln!(f, "{name}");
            }
        } else if matches(&fault, name, nth, total) {
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            );
        }
    }

    #[cfg(test)]
    mod tests {
        use super::matches;

        #[test]
        fn specs_select_the_hit() {
            assert!(matches("after-ref", "after-ref", 1, 7));
            assert!(!matches("after-ref", "after-ref", 2, 8));
            assert!(matches("after-ref#2", "after-ref", 2, 8));
            assert!(!matches("after-ref#2", "after-index", 2, 8));
            assert!(matches("#8", "after-index", 2, 8));
            assert!(!matches("#8", "after-index", 2, 7));
        }
    }
}
