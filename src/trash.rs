//! Removing a large folder without waiting for it.
//!
//! Deleting a folder is one `unlink` a file: for a drill's copy or a tree
//! exported for a test run on a large repository, as long as a rollback.
//! Nothing reported depends on it, so a process of its own, detached,
//! removes it and outlives the command. That process keeps the command's
//! stderr, to say if it could not remove something, so whoever reads the
//! command's errors to their end (a test, a CI log) finds the folder gone.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Start removing `dir`, then each of `then` in order while they are empty.
/// False when the remover could not start: the folder is then still there.
pub fn remove_detached(dir: &Path, then: &[&Path]) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(r#"rm -rf -- "$1" && { shift; for d do rmdir -- "$d" 2>/dev/null || break; done; }; exit 0"#)
        .arg("sh")
        .arg(dir)
        .args(then)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .is_ok()
}
