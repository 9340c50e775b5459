//! Shared harness for the integration tests.
//!
//! `git-rollback-sprint` promises never to lose a byte, so the tests must be
//! able to see every byte: they run the tool and the real `git` command line
//! against throw-away repositories in temporary directories ([`TestRepo`]),
//! capture a repository's whole state before and after ([`RepoState`]), and
//! print a readable list of every difference when something changed.
//!
//! Everything runs in a sandbox (temporary `HOME`, empty global config, no
//! system config, no inherited `GIT_*` variables, fixed identities, dates and
//! tool clock) so that results, including commit ids, are deterministic and
//! never depend on the developer's machine.
//!
//! Not every test file uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]
// Re-exports below are for test modules; not every one is used by each.
#![allow(unused_imports)]

pub mod capture;
pub mod fixtures;
pub mod lingering;
pub mod pty;
mod repo;
mod tool;

pub use capture::{
    assert_nothing_changed, assert_same_dir, assert_same_except_reports, assert_same_state,
    assert_unchanged_by, capture_after_early_kill, capture_dir, capture_repo,
    capture_repo_with_env, capture_repo_with_orphans, everything, is_reports, keep_entries,
    orphan_id, show_bytes, without_reports, DirState, EntryKind, FsEntry, IndexEntryState,
    IndexState, RepoState, IGNORED_REF_PREFIX, KEEP_REF_PREFIX,
};
pub use fixtures::{
    commit_history, dirty_everything, incompressible, odd_names, rescue_ids, set_object_times,
};
pub use repo::{
    on_disk, plain_git, scrub_env, TestRepo, BASE_COMMIT_DATE, DEFAULT_NOW, TOOL_BIN, USER_EMAIL,
    USER_NAME,
};
pub use tool::ToolOutput;

/// A test that cannot run here: says so on stderr (`skipped: …`, shown
/// with `--nocapture`) and returns, so the caller returns and passes.
/// When `.ci/run` installs what is missing (`ci_installs`), running under
/// it (`CI` set) makes the missing tool a failure instead: a test CI
/// should run is never skipped there unnoticed.
#[track_caller]
pub fn skip(reason: &str, ci_installs: bool) {
    if ci_installs && std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{reason}, although .ci/run installs it (CI is set)");
    }
    eprintln!("skipped: {reason}");
}
