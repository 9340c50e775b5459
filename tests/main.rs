//! The integration tests: one test binary, a file per command, and the
//! shared harness in `common/`.

mod common;

mod attributes;
mod baseline;
mod check;
mod checkpoint;
mod cli;
mod completions;
mod demo;
mod drill;
mod emergency;
mod faults;
mod files;
mod green;
mod harness;
mod hook;
mod hostile;
mod indexfile;
mod interleave;
mod journal;
mod keepalive;
mod layouts;
mod lifecycle;
mod log;
mod man;
mod metrics;
mod odd;
mod packfile;
mod properties;
mod readme;
mod recover;
mod reports;
mod reports_folder;
mod reports_truth;
mod rescue;
mod seams;
mod signals;
mod snapshots;
mod sprint;
mod undo_sequence;
mod verify;
mod workflow;
