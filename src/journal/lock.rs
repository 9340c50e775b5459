//! One operation at a time (docs/invariants.md, I7).
//!
//! `<git-dir>/rollback/lock` is created exclusively and names its holder.
//! A lock whose process is gone (checked by pid and, on Linux, the process's
//! start time, so a reused pid is not mistaken for the holder) is stale and
//! is replaced; its operation shows up as interrupted in the journal.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::user;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    #[serde(default)]
    pub start: Option<u64>,
    pub host: String,
    pub command: String,
    pub since: String,
    /// Whether this process holds git's `index.lock` too.
    #[serde(default)]
    pub holds_index_lock: bool,
}

pub struct Holder {
    pub info: LockInfo,
    pub alive: bool,
}

/// The held lock; released when dropped.
pub struct Lock {
    path: PathBuf,
    info: LockInfo,
}

impl Lock {
    /// Record (durably) whether we hold git's index lock.
    pub fn mark_index_lock(&mut self, held: bool) -> anyhow::Result<()> {
        self.info.holds_index_lock = held;
        let text = serde_json::to_string(&self.info)?;
        use crate::atomic::{write_atomic, Durability, Mode};
        write_atomic(
            &self.path,
            text.as_bytes(),
            Durability::File,
            Mode::Umask(0o666),
        )
        .context("could not update the lock")?;
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join("lock")
}

/// Who holds the lock, if anyone, and whether that process is alive.
pub fn lock_holder(dir: &Path) -> Option<Holder> {
    let text = fs::read_to_string(lock_path(dir)).ok()?;
    let info: LockInfo = match serde_json::from_str(&text) {
        Ok(info) => info,
        // Written but not yet filled in: the holder is starting right now.
        Err(_) => {
            return Some(Holder {
                info: LockInfo {
                    pid: 0,
                    start: None,
                    host: String::new(),
                    command: "another git-rollback-sprint".to_string(),
                    since: String::new(),
                    holds_index_lock: false,
                },
                alive: true,
            })
        }
    };
    let alive = info.host != hostname() || process_alive(info.pid, info.start);
    Some(Holder { info, alive })
}

/// The refusal when a live `holder` has the lock at `path`.
fn busy(h: &Holder, path: &Path) -> anyhow::Error {
    let who = if h.info.pid == 0 {
        "another git-rollback-sprint is starting".to_string()
    } else {
        format!(
            "git-rollback-sprint (pid {}{}, `{}`, since {}) is running",
            h.info.pid,
            if h.info.host == hostname() {
                String::new()
            } else {
                format!(" on {}", h.info.host)
            },
            h.info.command,
            h.info.since
        )
    };
    user(format!("{who} in this repository"))
        .hint(format!(
            "wait for it to finish; if it is not running, remove {}",
            path.display()
        ))
        .into()
}

/// Refuse when a live process holds the lock, without taking it: for a
/// command that acts before its transaction begins (emergency's stop
/// command), so that it does not act and then find it cannot go on.
pub fn check_not_held(dir: &Path) -> anyhow::Result<()> {
    match lock_holder(dir) {
        Some(h) if h.alive => Err(busy(&h, &lock_path(dir))),
        _ => Ok(()),
    }
}

/// Take the lock, replacing a stale one. Returns the stale holder, if any.
pub fn acquire(dir: &Path, command: &str) -> anyhow::Result<(Lock, Option<LockInfo>)> {
    super::create_dir_durable(dir)?;
    let path = lock_path(dir);
    let mut stale = None;
    for _ in 0..2 {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let pid = std::process::id();
                let info = LockInfo {
                    pid,
                    start: process_start(pid),
                    host: hostname(),
                    command: command.to_string(),
                    since: crate::clock::rfc3339(&crate::clock::now()),
                    holds_index_lock: false,
                };
                let text = serde_json::to_string(&info)?;
                file.write_all(text.as_bytes())
                    .and_then(|_| file.sync_all())
                    .with_context(|| format!("could not write {}", path.display()))?;
                return Ok((Lock { path, info }, stale));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let holder = lock_holder(dir);
                match holder {
                    Some(h) if h.alive => return Err(busy(&h, &path)),
                    Some(h) => {
                        stale = Some(h.info);
                        let _ = fs::remove_file(&path);
                    }
                    None => {}
                }
            }
            Err(e) => {
                return Err(e).with_context(|| format!("could not create {}", path.display()))
            }
        }
    }
    Err(user("could not take the lock of this repository")
        .hint("another git-rollback-sprint is starting; try again")
        .into())
}

pub fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// The start time of a process (Linux: field 22 of /proc/<pid>/stat).
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after
    // the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn process_alive(pid: u32, start: Option<u64>) -> bool {
    // A pid beyond pid_t would wrap to a negative number, which kill(2)
    // reads as a process group (-1: every process), never as the holder.
    let Some(pid_t) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // Signal 0 only asks whether the process exists (EPERM: it does).
    let exists = match rustix::process::test_kill_process(pid_t) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    };
    if !exists {
        return false;
    }
    match (start, process_start(pid)) {
        (Some(recorded), Some(now)) => recorded == now,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_that_is_no_process_is_not_alive() {
        assert!(process_alive(std::process::id(), None));
        for pid in [0, u32::MAX, 1 << 31] {
            assert!(!process_alive(pid, None), "pid {pid}");
        }
    }
}
