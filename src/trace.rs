//! Phase timings on stderr with `GIT_ROLLBACK_SPRINT_TRACE=1`, for the
//! benchmark profiles in BENCHMARKS.md. Costs one env lookup per phase.

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<&'static Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    START
        .get_or_init(|| std::env::var_os("GIT_ROLLBACK_SPRINT_TRACE").map(|_| Instant::now()))
        .as_ref()
}

/// Whether phases are being traced: a child process of ours may then show
/// its own phases on the same stderr.
pub fn enabled() -> bool {
    start().is_some()
}

/// Print the time since the first phase, and this phase's name.
pub fn phase(name: &str) {
    if let Some(start) = start() {
        eprintln!(
            "[trace {:>8.1} ms] {name}",
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}
