//! git-rollback-sprint: a team's refactor-rollback runbook as one safe command.
//!
//! The library owns everything; `main.rs` only calls [`cli::main`]. Every
//! command that changes a repository goes through [`journal::Transaction`],
//! which snapshots what the command may touch before it touches it, so that
//! `undo`, `log`, crash recovery and dry runs all come from one mechanism;
//! the code that changes a repository is reachable from [`journal`] alone.
//! Reading a repository through libgit2 lives in [`git`], so it can be
//! audited in one place.

// Safe code only, but for two places, each allowed where it stands: the
// libgit2 filter call (`git::filter`), which must call C itself and is
// pinned to the libgit2-sys release its options struct was declared
// against, and libgit2's process-wide memory settings (`git::limit_memory`),
// set once at start-up.
#![deny(unsafe_code)]

// zlib's functions, as libgit2 and `flate2` call them, from zlib-rs: linked
// here, its exported `inflate`, `deflate`… come before the system's
// libz, and inflating blobs is most of a rollback's work on a real
// repository's packs (docs/design.md, Performance: "zlib").
use libz_rs_sys as _;

pub mod atomic;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod error;
pub mod fault;
pub mod git;
pub mod journal;
pub mod metrics;
pub mod pager;
pub mod plan;
pub mod reports_folder;
pub mod settings;
pub mod signals;
pub mod testrun;
pub mod trace;
pub mod trash;
pub mod ui;
pub mod walk;
