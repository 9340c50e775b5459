//! The workflow test: random sequences of the tool's commands mixed with
//! the plain git a user types between them, checked after every step.
//!
//! The seams between commands are where the promise of docs/invariants.md
//! breaks quietly: a stash entry that holds the reports folder, an `undo` that
//! assumes nobody touched the repository since, a `gc` that drops what only the
//! journal knew about. Each case builds a tiny repository (a `baseline` tag, a
//! commit or two on `main`, a sprint branch, a test command that is `true` or
//! `false`) and runs 5–20 [`Step`]s: the tool's `emergency`,
//! `sprint start/rollback/finish`, `files`, `recover` and its
//! `--continue/--skip/--abort`, `checkpoint --wip`, `undo` and `redo`, and the
//! user's edits, `add`, `commit`, `stash push/pop`, `switch` and `gc`.
//!
//! The model ([`World`]) remembers what the invariants need: the union of
//! every report and metrics entry seen, the state before and after every
//! operation (so an `undo` can be held to it), and the blobs the tool alone
//! keeps alive. After every step [`World::run`] checks:
//!
//! * nothing under `rollbacks/` ever seen is missing or changed, and a
//!   metrics entry only ever changes its `undone` flag, on an `undo` (I8);
//! * every file content in the work tree (tracked, untracked, ignored)
//!   before a tool command is still in the work tree, the object store or
//!   the journal's folder after it, and what only the object store holds
//!   survives a later `gc --prune=now` (I1, I3);
//! * `git fsck` is clean;
//! * a stash entry the tool makes has the W, I and U trees of `git stash
//!   push --include-untracked` on a copy made just before, and no reports
//!   folder (README: Level 1 — `emergency`; docs/invariants.md, I8);
//! * nothing outside the repository changed (the sandbox's `home/`, `tmp/`);
//! * a refused command (a non-zero exit naming no operation) changed
//!   nothing; a command that changed nothing recorded no operation (I11);
//! * the commits the tool makes (WIP commits, checkpoints, recovered
//!   commits) never add the reports folder (I8);
//! * `sprint finish` never moves the baseline while the tests fail (README:
//!   Level 2 — `sprint rollback`);
//! * `recover --abort` right after a stop restores the state before
//!   `recover` exactly (README: `recover`);
//! * `undo` (and `redo`, the undo of an undo) of an operation whose result
//!   nobody touched since restores the state before it exactly; otherwise
//!   it either refuses and changes nothing, or succeeds and loses nothing;
//!   and it never moves or deletes a ref the operation did not change (I2,
//!   three-way).
//!
//! A failure prints the steps as the commands they ran, then proptest's
//! shrunk `Vec<Step>`; the seed is kept in
//! `tests/workflow.proptest-regressions`. 256 cases in all by default, in
//! four tests with different step weightings so they run in parallel;
//! `WORKFLOW_CASES` asks for more (`scripts/workflow.sh`).
//!
//! Every failure it found is a deterministic test of its own at the end of
//! this file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::Value;

use crate::common::{
    capture_dir, is_reports, show_bytes, without_reports, DirState, EntryKind, RepoState, TestRepo,
    ToolOutput,
};

// ----- the repository ---------------------------------------------------------

/// Tracked paths: `d` and `d/e` turn a file into a directory and back.
const TRACKED: &[&str] = &[
    "a.txt",
    "src/lib.rs",
    "src/util.rs",
    "docs/guide.md",
    "d",
    "d/e",
];
/// Paths an edit may write: the tracked ones, new untracked ones, ignored ones.
const EDITABLE: &[&str] = &[
    "a.txt",
    "src/lib.rs",
    "src/util.rs",
    "docs/guide.md",
    "d",
    "d/e",
    "run.sh",
    "notes.txt",
    "new/thing.txt",
    "debug.log",
    "build/out.bin",
];
/// What `files` is asked to roll back: files, a directory, a new path.
const FILES_PATHS: &[&str] = &[
    "a.txt",
    "src",
    "src/lib.rs",
    "docs/guide.md",
    "d",
    "run.sh",
    "notes.txt",
];
const GITIGNORE: &[u8] = b"*.log\nbuild/\n";

fn content(choice: u8, salt: usize) -> Vec<u8> {
    match choice % 6 {
        0 => b"one\n".to_vec(),
        1 => b"two\nlines\n".to_vec(),
        2 => Vec::new(),
        3 => vec![0, 1, 2, 0xff, b'b', b'i', b'n', 0],
        // Unique, so that losing it cannot hide behind an equal copy.
        _ => format!("edit {salt}\n").into_bytes(),
    }
}

/// A change to a tree in the starting history: `(path, content)`.
type TreeOp = (u8, u8);

/// How a case starts: which commits exist and where HEAD is.
#[derive(Clone, Debug)]
pub struct Start {
    /// Commits on `main` after the baseline.
    main: Vec<Vec<TreeOp>>,
    /// Commits on `refactor/sprint-1`, from the baseline.
    sprint: Vec<Vec<TreeOp>>,
    on_sprint: bool,
    /// `rollback.testCommand` is `true` (else `false`).
    tests_pass: bool,
}

type Tree = BTreeMap<String, Vec<u8>>;

fn tree_put(tree: &mut Tree, path: &str, data: Vec<u8>) {
    // A file replaces a directory in its place and a file in its parent's.
    let mut parent = path;
    while let Some(i) = parent.rfind('/') {
        parent = &parent[..i];
        tree.remove(parent);
    }
    let dir = format!("{path}/");
    tree.retain(|k, _| !k.starts_with(&dir));
    tree.insert(path.to_string(), data);
}

fn baseline_tree() -> Tree {
    let mut tree = Tree::new();
    tree.insert("a.txt".into(), b"alpha\n".to_vec());
    tree.insert("src/lib.rs".into(), b"pub fn lib() {}\n".to_vec());
    tree.insert("src/util.rs".into(), b"pub fn util() {}\n".to_vec());
    tree.insert("docs/guide.md".into(), b"# Guide\n".to_vec());
    tree.insert("d".into(), b"d is a file\n".to_vec());
    tree
}

fn fast_import_commit(
    out: &mut Vec<u8>,
    branch: &str,
    mark: usize,
    from: Option<usize>,
    tree: &Tree,
) {
    let stamp = 1_700_000_000 + mark * 60;
    let msg = format!("commit {mark} on {branch}\n");
    out.extend_from_slice(
        format!(
            "commit refs/heads/{branch}\nmark :{mark}\n\
             author Sprint Dev <dev@example.com> {stamp} +0000\n\
             committer Sprint Dev <dev@example.com> {stamp} +0000\n\
             data {}\n{msg}",
            msg.len()
        )
        .as_bytes(),
    );
    if let Some(from) = from {
        out.extend_from_slice(format!("from :{from}\n").as_bytes());
    }
    out.extend_from_slice(b"deleteall\n");
    let mut entry = |mode: &str, path: &str, data: &[u8]| {
        out.extend_from_slice(format!("M {mode} inline {path}\ndata {}\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.push(b'\n');
    };
    entry("100644", ".gitignore", GITIGNORE);
    entry("100755", "run.sh", b"#!/bin/sh\necho run\n");
    entry("120000", "link", b"a.txt");
    for (path, data) in tree {
        entry("100644", path, data);
    }
}

impl Start {
    fn build(&self) -> TestRepo {
        let repo = TestRepo::new();
        let base = baseline_tree();
        let mut stream = Vec::new();
        fast_import_commit(&mut stream, "main", 1, None, &base);
        stream.extend_from_slice(
            b"tag baseline\nfrom :1\n\
              tagger Sprint Dev <dev@example.com> 1700000000 +0000\ndata 9\nbaseline\n",
        );
        let mut mark = 1;
        for (branch, commits) in [("main", &self.main), ("refactor/sprint-1", &self.sprint)] {
            let mut tree = base.clone();
            let mut parent = 1;
            for ops in commits {
                mark += 1;
                for &(p, c) in ops {
                    tree_put(
                        &mut tree,
                        TRACKED[p as usize % TRACKED.len()],
                        content(c, mark),
                    );
                }
                fast_import_commit(&mut stream, branch, mark, Some(parent), &tree);
                parent = mark;
            }
        }
        repo.git_with_stdin(&["fast-import", "--quiet"], &stream);
        let branch = if self.on_sprint {
            "refactor/sprint-1"
        } else {
            "main"
        };
        repo.git(&["checkout", "-q", "-f", branch]);
        let command = if self.tests_pass { "true" } else { "false" };
        repo.git(&["config", "rollback.testCommand", command]);
        repo
    }
}

// ----- the steps --------------------------------------------------------------

/// One thing the user does: a command of the tool, or plain git.
#[derive(Clone, Debug)]
pub enum Step {
    Emergency {
        clean_ignored: bool,
    },
    SprintStart(u8),
    SprintRollback,
    SprintFinish,
    Files {
        picks: Vec<u8>,
        delete_new: bool,
    },
    /// `recover <branch> --all`, or `--pick` of some of its commits.
    Recover {
        branch: u8,
        pick: Option<Vec<u8>>,
    },
    RecoverContinue,
    RecoverSkip,
    RecoverAbort,
    CheckpointWip,
    Undo,
    Redo,
    /// Write a file (tracked, untracked or ignored).
    Edit {
        path: u8,
        content: u8,
    },
    Remove {
        path: u8,
    },
    AddAll,
    Commit,
    StashPush,
    StashPop {
        index: bool,
    },
    Switch {
        branch: u8,
    },
    Gc,
}

/// Relative weights of the kinds of step, in [`Step`]'s order.
type Weights = [u32; 20];

fn step(weights: Weights) -> impl Strategy<Value = Step> {
    let small = || prop::collection::vec(any::<u8>(), 1..=3);
    let arms: Vec<BoxedStrategy<Step>> = vec![
        any::<bool>()
            .prop_map(|clean_ignored| Step::Emergency { clean_ignored })
            .boxed(),
        (1u8..=3).prop_map(Step::SprintStart).boxed(),
        Just(Step::SprintRollback).boxed(),
        Just(Step::SprintFinish).boxed(),
        (small(), any::<bool>())
            .prop_map(|(picks, delete_new)| Step::Files { picks, delete_new })
            .boxed(),
        (any::<u8>(), prop::option::of(small()))
            .prop_map(|(branch, pick)| Step::Recover { branch, pick })
            .boxed(),
        Just(Step::RecoverContinue).boxed(),
        Just(Step::RecoverSkip).boxed(),
        Just(Step::RecoverAbort).boxed(),
        Just(Step::CheckpointWip).boxed(),
        Just(Step::Undo).boxed(),
        Just(Step::Redo).boxed(),
        (any::<u8>(), any::<u8>())
            .prop_map(|(path, content)| Step::Edit { path, content })
            .boxed(),
        any::<u8>().prop_map(|path| Step::Remove { path }).boxed(),
        Just(Step::AddAll).boxed(),
        Just(Step::Commit).boxed(),
        Just(Step::StashPush).boxed(),
        any::<bool>()
            .prop_map(|index| Step::StashPop { index })
            .boxed(),
        any::<u8>()
            .prop_map(|branch| Step::Switch { branch })
            .boxed(),
        Just(Step::Gc).boxed(),
    ];
    Union::new_weighted(
        weights
            .iter()
            .copied()
            .zip(arms)
            .filter(|(w, _)| *w > 0)
            .collect(),
    )
}

fn start() -> impl Strategy<Value = Start> {
    let ops = || prop::collection::vec((any::<u8>(), any::<u8>()), 1..=3);
    (
        prop::collection::vec(ops(), 0..=2),
        prop::collection::vec(ops(), 1..=3),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(main, sprint, on_sprint, tests_pass)| Start {
            main,
            sprint,
            on_sprint,
            tests_pass,
        })
}

fn case(weights: Weights) -> impl Strategy<Value = (Start, Vec<Step>)> {
    (start(), prop::collection::vec(step(weights), 5..=20))
}

impl Step {
    fn is_tool(&self) -> bool {
        matches!(
            self,
            Step::Emergency { .. }
                | Step::SprintStart(_)
                | Step::SprintRollback
                | Step::SprintFinish
                | Step::Files { .. }
                | Step::Recover { .. }
                | Step::RecoverContinue
                | Step::RecoverSkip
                | Step::RecoverAbort
                | Step::CheckpointWip
                | Step::Undo
                | Step::Redo
        )
    }
}

// ----- the model and its checks ----------------------------------------------

/// The state before and after one operation of the tool, without the
/// reports folder.
struct OpRecord {
    before: RepoState,
    after: RepoState,
}

/// A `recover` that stopped on a conflict: the state before it and the
/// state it stopped in (updated by a `--continue`/`--skip` that stops again).
struct Stopped {
    before: RepoState,
    stopped: RepoState,
}

struct World {
    repo: TestRepo,
    /// Every file ever seen under `rollbacks/` but `metrics.json`.
    reports: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Every metrics entry ever seen, by operation id (or position).
    metrics: BTreeMap<String, Value>,
    ops: BTreeMap<String, OpRecord>,
    stopped: Option<Stopped>,
    /// Blobs that, right after a tool command, only the object store held:
    /// the journal's snapshots keep them, through any `gc`.
    kept: BTreeMap<String, String>,
    /// The steps so far as the commands they ran, for the failure message.
    transcript: Vec<String>,
    /// Whether `rollback.testCommand` passes.
    tests_pass: bool,
}

type Check = Result<(), TestCaseError>;

fn fail(what: impl fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

fn git2_repo(path: &Path) -> git2::Repository {
    git2::Repository::open(path).expect("open the repository with libgit2")
}

fn blob_id(data: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, data)
        .expect("hash a blob")
        .to_string()
}

/// Every file and symlink of a directory capture as blob id -> path.
fn contents(state: &DirState, skip_reports: bool) -> BTreeMap<String, String> {
    state
        .entries
        .iter()
        .filter(|(k, e)| {
            matches!(e.kind, EntryKind::File | EntryKind::Symlink)
                && !(skip_reports && is_reports(k))
        })
        .map(|(k, e)| (blob_id(&e.data), show_bytes(k)))
        .collect()
}

/// Path -> (mode, blob id) of every entry of a tree, recursively; empty for
/// a missing commit or parent.
fn listing(repo: &git2::Repository, rev: &str) -> BTreeMap<String, (i32, String)> {
    let mut out = BTreeMap::new();
    let Ok(tree) = repo.revparse_single(rev).and_then(|o| o.peel_to_tree()) else {
        return out;
    };
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(git2::ObjectType::Tree) {
            let name = String::from_utf8_lossy(entry.name_bytes());
            out.insert(
                format!("{dir}{name}"),
                (entry.filemode(), entry.id().to_string()),
            );
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk a tree");
    out
}

fn strip_reports(mut l: BTreeMap<String, (i32, String)>) -> BTreeMap<String, (i32, String)> {
    l.retain(|k, _| !is_reports(k.as_bytes()));
    l
}

fn has_reports(l: &BTreeMap<String, (i32, String)>) -> bool {
    l.keys().any(|k| is_reports(k.as_bytes()))
}

fn diff_listing(
    what: &str,
    ours: &BTreeMap<String, (i32, String)>,
    git: &BTreeMap<String, (i32, String)>,
) -> Vec<String> {
    let keys: BTreeSet<&String> = ours.keys().chain(git.keys()).collect();
    keys.into_iter()
        .filter(|k| ours.get(*k) != git.get(*k))
        .map(|k| format!("{what} {k}: tool {:?}, git {:?}", ours.get(k), git.get(k)))
        .collect()
}

impl World {
    fn new(start: &Start) -> World {
        World {
            repo: start.build(),
            reports: BTreeMap::new(),
            metrics: BTreeMap::new(),
            ops: BTreeMap::new(),
            stopped: None,
            kept: BTreeMap::new(),
            transcript: Vec::new(),
            tests_pass: start.tests_pass,
        }
    }

    fn fail(&self, what: impl fmt::Display) -> TestCaseError {
        let mut msg = String::from("steps (a reproduction):\n");
        for line in &self.transcript {
            msg.push_str("  ");
            msg.push_str(line);
            msg.push('\n');
        }
        msg.push_str(&format!("failed: {what}"));
        fail(msg)
    }

    fn branches(&self) -> Vec<String> {
        self.repo
            .git(&["for-each-ref", "--format=%(refname:short)", "refs/heads"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    // ----- running a step -----

    fn run(&mut self, step: &Step) -> Check {
        if step.is_tool() {
            self.run_tool_step(step)
        } else {
            self.run_git_step(step)
        }?;
        self.check_fsck()?;
        self.check_kept()
    }

    fn tool_args(&self, step: &Step) -> Vec<String> {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        match step {
            Step::Emergency { clean_ignored } => {
                let mut a = s(&["emergency"]);
                if *clean_ignored {
                    a.push("--clean-ignored".into());
                }
                a
            }
            Step::SprintStart(n) => s(&["sprint", "start", &n.to_string()]),
            Step::SprintRollback => s(&["sprint", "rollback"]),
            Step::SprintFinish => s(&["sprint", "finish"]),
            Step::Files { picks, delete_new } => {
                let mut a = s(&["files"]);
                if *delete_new {
                    a.push("--delete-new".into());
                }
                let paths: BTreeSet<&str> = picks
                    .iter()
                    .map(|p| FILES_PATHS[*p as usize % FILES_PATHS.len()])
                    .collect();
                a.extend(paths.into_iter().map(String::from));
                a
            }
            Step::Recover { branch, pick } => {
                let branches = self.branches();
                let name = branches[*branch as usize % branches.len()].clone();
                let mut a = vec!["recover".to_string(), name.clone()];
                let commits: Vec<String> = self
                    .repo
                    .git_output(&["rev-list", "--reverse", &format!("baseline..{name}")])
                    .stdout
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| String::from_utf8_lossy(&l[..12.min(l.len())]).into_owned())
                    .collect();
                match pick {
                    Some(picks) if !commits.is_empty() => {
                        let chosen: BTreeSet<usize> =
                            picks.iter().map(|p| *p as usize % commits.len()).collect();
                        a.push("--pick".into());
                        a.extend(chosen.into_iter().map(|i| commits[i].clone()));
                    }
                    _ => a.push("--all".into()),
                }
                a
            }
            Step::RecoverContinue => s(&["recover", "--continue"]),
            Step::RecoverSkip => s(&["recover", "--skip"]),
            Step::RecoverAbort => s(&["recover", "--abort"]),
            Step::CheckpointWip => s(&["checkpoint", "--wip"]),
            Step::Undo => s(&["undo"]),
            Step::Redo => s(&["redo"]),
            _ => unreachable!("not a tool step: {step:?}"),
        }
    }

    fn run_tool_step(&mut self, step: &Step) -> Check {
        let args = self.tool_args(step);
        let repo = &self.repo;
        let before_full = repo.capture();
        let before = without_reports(&before_full);
        let outside = (capture_dir(repo.home()), capture_dir(repo.tmp_dir()));
        let stash_by_git = matches!(step, Step::Emergency { .. }).then(|| git_stash_on_copy(repo));

        let mut argv = vec!["--json"];
        argv.extend(args.iter().map(String::as_str));
        let out = repo.tool(&argv);
        self.transcript.push(format!(
            "git rollback-sprint {}   # exit {}",
            args.join(" "),
            out.code
        ));
        let after_full = self.repo.capture();
        let after = without_reports(&after_full);

        let outside_after = (
            capture_dir(self.repo.home()),
            capture_dir(self.repo.tmp_dir()),
        );
        let changed: Vec<String> = outside
            .0
            .diff(&outside_after.0)
            .into_iter()
            .map(|l| format!("home/{l}"))
            .chain(
                outside
                    .1
                    .diff(&outside_after.1)
                    .into_iter()
                    .map(|l| format!("tmp/{l}")),
            )
            .collect();
        if !changed.is_empty() {
            return Err(self.fail(format!(
                "changed outside the repository:\n{}\n{out}",
                changed.join("\n")
            )));
        }

        if matches!(step, Step::SprintFinish) && out.code == 0 && !self.tests_pass {
            return Err(self.fail(format!(
                "sprint finish moved the baseline with failing tests (README: Level 2)\n{out}"
            )));
        }
        let op_id = serde_json::from_str::<Value>(&out.stdout)
            .ok()
            .and_then(|j| j.get("operation_id")?.as_str().map(str::to_string));
        // Exit 1 and 4 also end commands whose changes stand and are
        // undoable (`recover` whose tests fail): they name the operation.
        if !matches!(out.code, 0 | 3) && op_id.is_none() {
            // A refusal changes nothing at all, reports included.
            let diff = before_full.diff(&after_full);
            if !diff.is_empty() {
                return Err(self.fail(format!(
                    "a refused command changed the repository:\n{}\n{out}",
                    diff.join("\n")
                )));
            }
            if out.stdout.trim().is_empty() && out.stderr.trim().is_empty() {
                return Err(self.fail(format!("a refusal says nothing\n{out}")));
            }
        }

        self.check_nothing_lost(&before_full, &after_full, &out)?;
        self.check_reports_not_committed(&before_full, &after_full, &out)?;
        if let Some(by_git) = stash_by_git {
            self.check_stash(&before_full, &after_full, by_git, &out)?;
        }
        self.check_reports(matches!(step, Step::Undo | Step::Redo), &out)?;
        if matches!(step, Step::Undo | Step::Redo) {
            self.check_undo(&before, &after, &out)?;
        }
        if let Step::RecoverAbort = step {
            self.check_abort(&before, &after, &out)?;
        }
        self.model_recover(step, &before, &after, &out);

        if out.code == 0
            && before.diff(&after).is_empty()
            // `--continue`/`--skip` end a recovery the user started: their
            // operation records the sequencer's end, which undo puts back.
            && !matches!(
                step,
                Step::Undo | Step::Redo | Step::RecoverContinue | Step::RecoverSkip
            )
            && out.stdout.contains("\"operation_id\"")
        {
            return Err(self.fail(format!(
                "a command that changed nothing recorded an operation (I11)\n{out}"
            )));
        }
        if let Some(id) = op_id {
            self.ops.insert(id, OpRecord { before, after });
        }
        Ok(())
    }

    fn run_git_step(&mut self, step: &Step) -> Check {
        let repo = &self.repo;
        let line = match step {
            Step::Edit { path, content: c } => {
                let rel = EDITABLE[*path as usize % EDITABLE.len()];
                let data = content(*c, self.transcript.len());
                put_file(repo.path(), rel, &data, rel == "run.sh");
                format!("printf {:?} > {rel}", show_bytes(&data))
            }
            Step::Remove { path } => {
                let rel = EDITABLE[*path as usize % EDITABLE.len()];
                remove_any(&repo.path().join(rel));
                format!("rm -rf {rel}")
            }
            _ => {
                let args: Vec<String> = match step {
                    Step::AddAll => vec!["add".into(), "-A".into()],
                    Step::Commit => vec![
                        "commit".into(),
                        "-q".into(),
                        "-m".into(),
                        "user commit".into(),
                    ],
                    Step::StashPush => {
                        vec!["stash".into(), "push".into(), "-q".into(), "-u".into()]
                    }
                    Step::StashPop { index } => {
                        let mut a = vec!["stash".to_string(), "pop".into(), "-q".into()];
                        if *index {
                            a.push("--index".into());
                        }
                        a
                    }
                    Step::Switch { branch } => {
                        let branches = self.branches();
                        let name = branches[*branch as usize % branches.len()].clone();
                        vec!["switch".into(), "-q".into(), name]
                    }
                    Step::Gc => vec!["gc".into(), "-q".into(), "--prune=now".into()],
                    _ => unreachable!("not a git step: {step:?}"),
                };
                let out = repo.git_output(&args);
                format!(
                    "git {}   # exit {}",
                    args.join(" "),
                    out.status.code().unwrap_or(-1)
                )
            }
        };
        self.transcript.push(line);
        let none = ToolOutput {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        };
        self.check_reports(false, &none)
    }

    // ----- the checks -----

    /// Reports and metrics entries are never lost or changed (I8), by the
    /// tool or by the user's plain git (the folder keeps itself ignored).
    fn check_reports(&mut self, undo: bool, out: &ToolOutput) -> Check {
        let files = capture_dir(&self.repo.path().join("rollbacks"));
        let now: BTreeMap<Vec<u8>, Vec<u8>> = files
            .entries
            .iter()
            .filter(|(_, e)| e.kind == EntryKind::File)
            .map(|(k, e)| (k.clone(), e.data.clone()))
            .collect();
        let metrics = now
            .get(b"metrics.json".as_slice())
            .map(|m| serde_json::from_slice::<Value>(m));
        let entries: Vec<Value> = match metrics {
            Some(Ok(doc)) => doc
                .get("rollbacks")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            Some(Err(e)) => return Err(self.fail(format!("metrics.json is not JSON: {e}\n{out}"))),
            _ => Vec::new(),
        };
        let keyed: BTreeMap<String, Value> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let key = e
                    .get("operation_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("#{i}"));
                (key, e.clone())
            })
            .collect();
        let mut problems = Vec::new();
        for (path, data) in &self.reports {
            match now.get(path) {
                None => problems.push(format!("report rollbacks/{} is gone", show_bytes(path))),
                Some(d) if d != data => {
                    problems.push(format!("report rollbacks/{} changed", show_bytes(path)))
                }
                _ => {}
            }
        }
        for (id, entry) in &self.metrics {
            match keyed.get(id) {
                None => problems.push(format!("metrics entry {id} is gone")),
                Some(e) => {
                    let mut a = entry.clone();
                    let mut b = e.clone();
                    if undo {
                        for v in [&mut a, &mut b] {
                            if let Some(o) = v.as_object_mut() {
                                o.remove("undone");
                            }
                        }
                    }
                    if a != b {
                        problems.push(format!("metrics entry {id} changed: {entry} -> {e}"));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(self.fail(format!("{}\n{out}", problems.join("\n"))));
        }
        for (path, data) in now {
            if path != b"metrics.json" {
                self.reports.insert(path, data);
            }
        }
        self.metrics.extend(keyed);
        Ok(())
    }

    /// Every file content of the work tree before a tool command can still be
    /// found after it: in the work tree, the journal's folder or the object
    /// store (I1, I3).
    fn check_nothing_lost(
        &mut self,
        before: &RepoState,
        after: &RepoState,
        out: &ToolOutput,
    ) -> Check {
        let wanted = contents(&before.files, true);
        let mut found: BTreeSet<String> = contents(&after.files, false).into_keys().collect();
        let journal = self.repo.git_dir().join("rollback");
        found.extend(contents(&capture_dir(&journal), false).into_keys());
        let ask: Vec<&String> = wanted.keys().filter(|id| !found.contains(*id)).collect();
        let missing = self.missing_objects(ask.iter().map(|s| s.as_str()));
        if !missing.is_empty() {
            let lost: Vec<String> = missing
                .iter()
                .map(|id| format!("{} (blob {id})", wanted[id]))
                .collect();
            return Err(self.fail(format!("content lost: {}\n{out}", lost.join(", "))));
        }
        for id in ask {
            self.kept.insert(id.clone(), wanted[id].clone());
        }
        Ok(())
    }

    /// The commits a tool command adds to branches and tags (WIP commits,
    /// checkpoints, recovered commits) never add or change the reports
    /// folder (I8): each one's `rollbacks` is its first parent's.
    fn check_reports_not_committed(
        &self,
        before: &RepoState,
        after: &RepoState,
        out: &ToolOutput,
    ) -> Check {
        let new: Vec<&String> = after
            .refs
            .iter()
            .filter(|(name, oid)| *name != "refs/stash" && before.refs.get(*name) != Some(*oid))
            .map(|(_, oid)| oid)
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let mut args: Vec<String> = vec!["rev-list".into()];
        args.extend(new.iter().map(|o| o.to_string()));
        args.push("--not".into());
        args.extend(
            before
                .refs
                .values()
                .map(|v| v.split(' ').next().unwrap_or_default().to_string()),
        );
        let commits = self.repo.git(&args);
        let r = git2_repo(self.repo.path());
        let reports = |rev: &str| -> Option<git2::Oid> {
            let tree = r.revparse_single(rev).ok()?.peel_to_tree().ok()?;
            tree.get_name("rollbacks").map(|e| e.id())
        };
        for commit in commits.lines() {
            if reports(commit) != reports(&format!("{commit}^")) {
                return Err(self.fail(format!(
                    "commit {commit} made by the tool adds or changes the reports folder\n{out}"
                )));
            }
        }
        Ok(())
    }

    /// Blob ids among `ids` that the object store does not have.
    fn missing_objects<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
        let input: String = ids.map(|id| format!("{id}\n")).collect();
        if input.is_empty() {
            return Vec::new();
        }
        let out = self
            .repo
            .git_with_stdin(&["cat-file", "--batch-check"], input.as_bytes());
        out.lines()
            .filter_map(|l| l.strip_suffix(" missing"))
            .map(str::to_string)
            .collect()
    }

    /// What only the object store held after a tool command survives every
    /// later step, `gc --prune=now` included (docs/journal.md).
    fn check_kept(&self) -> Check {
        let missing = self.missing_objects(self.kept.keys().map(String::as_str));
        if missing.is_empty() {
            return Ok(());
        }
        let lost: Vec<String> = missing
            .iter()
            .map(|id| format!("{} (blob {id})", self.kept[id]))
            .collect();
        Err(self.fail(format!(
            "content the tool kept is gone: {}",
            lost.join(", ")
        )))
    }

    fn check_fsck(&self) -> Check {
        let out = self
            .repo
            .git_output(&["fsck", "--no-progress", "--no-dangling"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && stdout.trim().is_empty() {
            return Ok(());
        }
        Err(self.fail(format!(
            "git fsck: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }

    /// The tool's stash entry is the one `git stash push -u` makes from the
    /// same state, without the reports folder (docs/invariants.md, I8).
    fn check_stash(
        &self,
        before: &RepoState,
        after: &RepoState,
        by_git: GitStash,
        out: &ToolOutput,
    ) -> Check {
        let old: BTreeSet<&String> = before.stash.iter().map(|(oid, _)| oid).collect();
        let new: Vec<&String> = after
            .stash
            .iter()
            .map(|(oid, _)| oid)
            .filter(|oid| !old.contains(oid))
            .collect();
        if new.len() > 1 {
            return Err(self.fail(format!("{} new stash entries\n{out}", new.len())));
        }
        let ours = new.first().map(|oid| {
            let r = git2_repo(self.repo.path());
            [
                listing(&r, &format!("{oid}^1")),
                listing(&r, &format!("{oid}^{{tree}}")),
                listing(&r, &format!("{oid}^2")),
                listing(&r, &format!("{oid}^3")),
            ]
        });
        if let Some(ours) = &ours {
            if ours[1..].iter().any(has_reports) {
                return Err(self.fail(format!(
                    "the tool's stash entry holds the reports folder\n{out}"
                )));
            }
        }
        let strip =
            |l: &[BTreeMap<String, (i32, String)>; 4]| -> [BTreeMap<String, (i32, String)>; 4] {
                [
                    l[0].clone(),
                    strip_reports(l[1].clone()),
                    strip_reports(l[2].clone()),
                    strip_reports(l[3].clone()),
                ]
            };
        match (ours, by_git) {
            // git refuses to stash an index with conflicts ("needs merge");
            // the tool refuses too or keeps more: its entry is checked by
            // the content check, not against git's.
            (_, GitStash::Refused) => Ok(()),
            (Some(ours), GitStash::Entry(theirs)) => {
                let (ours, mut theirs) = (strip(&ours), strip(&theirs));
                // Where git's own stash loses, the tool keeps more: a path
                // gone from the work tree (deleted, or a file replaced by a
                // directory of untracked files) that the index still has
                // stays in git's W tree with the index's version, because
                // git only records work-tree changes against HEAD and
                // `update-index --remove` skips a directory. `git stash
                // pop` then brings the deleted file back, or fails on the
                // directory's files. The tool records the deletion.
                for path in git_keeps_the_index_version_of_a_path_gone(before, &theirs) {
                    theirs[1].remove(&path);
                }
                let mut diff = Vec::new();
                for (i, what) in ["parent", "W", "I", "U"].iter().enumerate() {
                    diff.extend(diff_listing(what, &ours[i], &theirs[i]));
                }
                if diff.is_empty() {
                    Ok(())
                } else {
                    Err(self.fail(format!(
                        "the tool's stash entry differs from git stash push -u:\n{}\n{out}",
                        diff.join("\n")
                    )))
                }
            }
            (Some(_), GitStash::Nothing) => Err(self.fail(format!(
                "the tool made a stash entry where git had nothing to stash\n{out}"
            ))),
            (None, GitStash::Entry(theirs)) => {
                // Nothing to stash but the reports folder is nothing.
                let theirs = strip(&theirs);
                let empty =
                    theirs[1] == theirs[0] && theirs[2] == theirs[0] && theirs[3].is_empty();
                if empty || out.code != 0 {
                    Ok(())
                } else {
                    Err(self.fail(format!(
                        "git stash push -u had work to stash, the tool made no entry\n{out}"
                    )))
                }
            }
            (None, GitStash::Nothing) => Ok(()),
        }
    }

    /// `undo`: exact when what it undoes was left as it was; otherwise a
    /// refusal that changed nothing (checked with every refusal) or a
    /// success that lost nothing (checked with every tool command).
    fn check_undo(&self, before: &RepoState, after: &RepoState, out: &ToolOutput) -> Check {
        if out.code != 0 {
            return Ok(());
        }
        let json: Value = serde_json::from_str(&out.stdout)
            .map_err(|e| self.fail(format!("undo --json printed no JSON: {e}\n{out}")))?;
        let Some(target) = json.get("undoes").and_then(Value::as_str) else {
            return Err(self.fail(format!("undo --json names no operation\n{out}")));
        };
        let Some(op) = self.ops.get(target) else {
            return Ok(());
        };
        // Three-way (I2): a ref the operation did not change is never
        // touched by its undo, whatever happened since.
        for (name, now) in &after.refs {
            let untouched_by_op = op.before.refs.get(name) == op.after.refs.get(name);
            if untouched_by_op && before.refs.get(name) != Some(now) {
                return Err(self.fail(format!(
                    "undo of {target} moved {name}, which the operation did not change\n{out}"
                )));
            }
        }
        for (name, was) in &before.refs {
            let untouched_by_op = op.before.refs.get(name) == op.after.refs.get(name);
            if untouched_by_op && !after.refs.contains_key(name) {
                return Err(self.fail(format!(
                    "undo of {target} deleted {name} ({was}), which the operation did not change\n{out}"
                )));
            }
        }
        if op.after.diff(before).is_empty() {
            let diff = op.before.diff(after);
            if !diff.is_empty() {
                return Err(self.fail(format!(
                    "undo of {target}, untouched since, did not restore the state before it:\n{}\n{out}",
                    diff.join("\n")
                )));
            }
        }
        Ok(())
    }

    /// `recover --abort` right after a stop goes back to exactly the state
    /// before `recover` (README: `recover`).
    fn check_abort(&self, before: &RepoState, after: &RepoState, out: &ToolOutput) -> Check {
        let (Some(stop), 0) = (&self.stopped, out.code) else {
            return Ok(());
        };
        if !stop.stopped.diff(before).is_empty() {
            return Ok(()); // the user worked since the stop
        }
        let diff = stop.before.diff(after);
        if diff.is_empty() {
            return Ok(());
        }
        Err(self.fail(format!(
            "recover --abort did not restore the state before recover:\n{}\n{out}",
            diff.join("\n")
        )))
    }

    fn model_recover(
        &mut self,
        step: &Step,
        before: &RepoState,
        after: &RepoState,
        out: &ToolOutput,
    ) {
        match (step, out.code) {
            (Step::Recover { .. }, 3) => {
                self.stopped = Some(Stopped {
                    before: before.clone(),
                    stopped: after.clone(),
                })
            }
            // Stopped again: still "right after a stop" only when the user
            // changed nothing in between. Work done before the `--continue`
            // is the user's: undo (and so `--abort`) keeps what the
            // recovery did not change (I2), so the exact check no longer
            // applies to this recovery.
            (Step::RecoverContinue | Step::RecoverSkip, 3) => {
                if let Some(s) = &mut self.stopped {
                    if s.stopped.diff(before).is_empty() {
                        s.stopped = after.clone();
                    }
                }
            }
            (
                Step::Recover { .. }
                | Step::RecoverContinue
                | Step::RecoverSkip
                | Step::RecoverAbort,
                0,
            ) => self.stopped = None,
            _ => {}
        }
    }
}

/// Paths of git's W tree (`listings[1]`) that hold the index's version
/// (`listings[2]`) while the work tree `before` has no file there.
fn git_keeps_the_index_version_of_a_path_gone(
    before: &RepoState,
    listings: &[BTreeMap<String, (i32, String)>; 4],
) -> Vec<String> {
    listings[1]
        .iter()
        .filter(|(path, entry)| {
            listings[2].get(*path) == Some(entry)
                && before
                    .files
                    .get(path)
                    .is_none_or(|e| e.kind == EntryKind::Dir)
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// What `git stash push -u` made on a copy: the listings of the parent, W,
/// I and U.
enum GitStash {
    Entry([BTreeMap<String, (i32, String)>; 4]),
    Nothing,
    Refused,
}

fn git_stash_on_copy(repo: &TestRepo) -> GitStash {
    let copy = repo.copy();
    let count = |r: &TestRepo| r.git(&["stash", "list"]).lines().count();
    let n = count(&copy);
    let out = copy.git_output(&["stash", "push", "-q", "--include-untracked"]);
    if !out.status.success() {
        return GitStash::Refused;
    }
    if count(&copy) == n {
        return GitStash::Nothing;
    }
    let r = git2_repo(copy.path());
    GitStash::Entry([
        listing(&r, "stash@{0}^1"),
        listing(&r, "stash@{0}^{tree}"),
        listing(&r, "stash@{0}^2"),
        listing(&r, "stash@{0}^3"),
    ])
}

fn remove_any(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).expect("remove dir"),
        Ok(_) => fs::remove_file(path).expect("remove file"),
        Err(_) => {}
    }
}

/// Write a file at `rel`: files in the way of its parents and whatever is
/// at `rel` itself go, as an editor saving a new file would need.
fn put_file(root: &Path, rel: &str, data: &[u8], exec: bool) {
    let mut at = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(&at).expect("remove a file in the way");
        }
    }
    let abs = root.join(rel);
    if let Some(parent) = abs.parent() {
        fs::create_dir_all(parent).expect("create parents");
    }
    remove_any(&abs);
    fs::write(&abs, data).expect("write file");
    let mode = if exec { 0o755 } else { 0o644 };
    fs::set_permissions(&abs, fs::Permissions::from_mode(mode)).expect("chmod");
}

// ----- the properties --------------------------------------------------------

/// `WORKFLOW_CASES` cases in all (default 256), shared by the four tests.
fn config() -> Config {
    let total: u32 = std::env::var("WORKFLOW_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases: total.div_ceil(4).max(1),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 300,
        ..Config::default()
    }
}

fn run_case(start: &Start, steps: &[Step]) -> Check {
    let mut world = World::new(start);
    world.check_reports(
        false,
        &ToolOutput {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        },
    )?;
    for step in steps {
        world.run(step)?;
    }
    Ok(())
}

// Weights in `Step`'s order: each test leans on one part of the workflow.
//                          Emer Start Rb Fin Files Rec Cont Skip Abort WIP Undo Redo Edit Rm Add Commit Push Pop Switch Gc
#[rustfmt::skip]
const EMERGENCY: Weights = [6,   1,    1, 1,  1,    1,  1,   1,   1,    2,  5,   2,   6,   2, 2,  2,     3,   3,  2,     2];
#[rustfmt::skip]
const SPRINT: Weights =    [2,   4,    4, 4,  1,    1,  0,   0,   0,    2,  4,   2,   5,   1, 3,  3,     1,   1,  3,     1];
#[rustfmt::skip]
const RECOVER: Weights =   [1,   1,    1, 1,  1,    6,  3,   3,   3,    1,  4,   1,   4,   1, 4,  2,     1,   1,  2,     1];
#[rustfmt::skip]
const MIXED: Weights =     [3,   2,    2, 2,  4,    2,  1,   1,   1,    2,  4,   2,   5,   2, 2,  2,     2,   2,  2,     2];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn workflow_emergency_and_undo((start, steps) in case(EMERGENCY)) {
        run_case(&start, &steps)?;
    }

    #[test]
    fn workflow_sprints((start, steps) in case(SPRINT)) {
        run_case(&start, &steps)?;
    }

    #[test]
    fn workflow_recover((start, steps) in case(RECOVER)) {
        run_case(&start, &steps)?;
    }

    #[test]
    fn workflow_mixed((start, steps) in case(MIXED)) {
        run_case(&start, &steps)?;
    }
}

// ----- the failures it found, as plain tests ---------------------------------

/// The property's starting repository with one sprint commit, on `main`.
fn small_repo() -> TestRepo {
    Start {
        main: Vec::new(),
        sprint: vec![vec![(0, 4)]],
        on_sprint: false,
        tests_pass: true,
    }
    .build()
}

/// Paths under `rollbacks/` in the tree of `rev` (none when `rev` does
/// not exist).
fn reports_in(repo: &TestRepo, rev: &str) -> Vec<String> {
    let r = git2_repo(repo.path());
    listing(&r, rev)
        .into_keys()
        .filter(|k| is_reports(k.as_bytes()))
        .collect()
}

#[test]
fn emergency_keeps_reports_out_of_its_stash() {
    let repo = small_repo();
    repo.write("a.txt", "first\n");
    repo.tool_ok(&["emergency"]);
    repo.write("a.txt", "second\n");
    repo.tool_ok(&["emergency"]);
    for rev in ["stash@{0}^{tree}", "stash@{0}^2", "stash@{0}^3"] {
        assert_eq!(reports_in(&repo, rev), Vec::<String>::new(), "{rev}");
    }
}

#[test]
fn reports_survive_the_users_stash() {
    let repo = small_repo();
    repo.write("a.txt", "first\n");
    repo.tool_ok(&["emergency"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    repo.write("notes.txt", "mine\n");
    repo.git(&["stash", "push", "-q", "-u"]);
    assert!(repo.exists("rollbacks/metrics.json"));
}

#[test]
fn sprint_rollback_keeps_reports_out_of_its_wip_commit() {
    let repo = small_repo();
    repo.write("a.txt", "first\n");
    repo.tool_ok(&["emergency"]);
    repo.git(&["switch", "-q", "refactor/sprint-1"]);
    repo.write("a.txt", "sprint work\n");
    repo.tool_ok(&["sprint", "rollback"]);
    let backup = repo.git(&["for-each-ref", "--format=%(refname)", "refs/heads/backup/"]);
    assert_eq!(reports_in(&repo, &backup), Vec::<String>::new());
    repo.write("a.txt", "retry work\n");
    repo.tool_ok(&["checkpoint", "--wip"]);
    let tag = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/tags/checkpoint-*",
    ]);
    for tag in tag.lines() {
        assert_eq!(reports_in(&repo, tag), Vec::<String>::new(), "{tag}");
    }
}

#[test]
fn files_that_change_nothing_record_nothing() {
    let repo = small_repo();
    let out = repo.tool_ok(&["--json", "files", "a.txt"]);
    assert!(out.json().get("operation_id").is_none(), "{out}");
    repo.tool(&["undo"]).assert_failure();
}

/// Found as: a new file staged, deleted from the work tree, then `files`
/// of it. Not in the baseline and without `--delete-new`, it is left as it
/// is; the command changed nothing, yet recorded an operation (I11).
#[test]
fn files_of_a_staged_new_file_deleted_since_records_nothing() {
    let repo = small_repo();
    repo.write("notes.txt", "one\n");
    repo.git(&["add", "-A"]);
    repo.remove("notes.txt");
    let before = repo.capture();
    let out = repo.tool_ok(&["--json", "files", "notes.txt"]);
    assert_eq!(out.json()["changed"], false, "{out}");
    assert!(out.json()["operation_id"].is_null(), "{out}");
    out.assert_stderr_contains("notes.txt does not exist in baseline");
    crate::common::assert_same_state(&before, &repo.capture());
}

#[test]
fn recover_keeps_a_staged_reports_folder() {
    let repo = small_repo();
    repo.write("a.txt", "first\n");
    repo.tool_ok(&["emergency"]);
    repo.git(&["add", "-A"]);
    let out = repo.tool(&["recover", "refactor/sprint-1", "--all"]);
    assert!(repo.exists("rollbacks/metrics.json"), "{out}");
}

#[test]
fn sprint_finish_refuses_when_tests_fail() {
    let repo = small_repo();
    repo.git(&["config", "rollback.testCommand", "false"]);
    repo.git(&["switch", "-q", "refactor/sprint-1"]);
    let before = repo.capture();
    repo.tool(&["sprint", "finish"]).assert_code(4);
    crate::common::assert_same_state(&before, &repo.capture());
}

/// `recover` stopped at a conflict in `a.txt`: `main` and the sprint branch
/// both changed it.
fn stopped_recovery() -> TestRepo {
    let repo = Start {
        main: vec![vec![(0, 1)]],
        sprint: vec![vec![(0, 2)]],
        on_sprint: false,
        tests_pass: true,
    }
    .build();
    repo.tool(&["recover", "refactor/sprint-1", "--all"])
        .assert_code(3);
    repo
}

/// Found as: recover (stops at a conflict), emergency, recover --continue.
/// The emergency reset the recovery branch under the stopped sequencer, and
/// `--continue` then "skipped" the commit as already there, when it was not.
#[test]
fn rollbacks_refuse_while_a_recovery_is_stopped() {
    let repo = stopped_recovery();
    let before = repo.capture();
    for args in [
        &["emergency"][..],
        &["emergency", "--clean-ignored"],
        &["sprint", "rollback", "1"],
        &["files", "a.txt"],
    ] {
        let out = repo.tool(args);
        out.assert_code(1)
            .assert_stderr_contains("a recovery onto recovery/");
        crate::common::assert_same_state(&before, &repo.capture());
    }
    repo.tool_ok(&["recover", "--abort"]);
}

/// Replay a sequence with every check of the property.
#[track_caller]
fn replay(start: Start, steps: &[Step]) {
    if let Err(e) = run_case(&start, steps) {
        panic!("{e}");
    }
}

/// Found as: sprint start 2, sprint finish (the baseline now has `d/e`),
/// a file `d` in the directory's place, emergency, undo, undo. Emergency
/// set the untracked `d` aside and its snapshot held it too; the undo put
/// `d` back twice, setting the restored copy aside to make room, and the
/// redo then moved the restored `d/` out of the work tree again.
#[test]
fn redo_of_an_emergency_that_set_an_untracked_file_aside() {
    use Step::*;
    replay(
        Start {
            main: vec![vec![(5, 0)]],
            sprint: vec![vec![(0, 0)]],
            on_sprint: false,
            tests_pass: true,
        },
        &[
            SprintStart(2),
            Edit {
                path: 0,
                content: 0,
            },
            SprintFinish,
            Edit {
                path: 4,
                content: 0,
            },
            Emergency {
                clean_ignored: false,
            },
            Undo,
            Redo,
            Undo,
        ],
    );
}

#[test]
fn recover_of_a_wip_commit_keeps_the_metrics() {
    let repo = small_repo();
    repo.git(&["switch", "-q", "refactor/sprint-1"]);
    repo.tool_ok(&["sprint", "rollback"]);
    repo.tool_ok(&["sprint", "rollback"]);
    let entries = |repo: &TestRepo| {
        let doc: Value = serde_json::from_slice(&repo.read("rollbacks/metrics.json")).unwrap();
        doc["rollbacks"].as_array().map_or(0, Vec::len)
    };
    let before = entries(&repo);
    let backup = repo.git(&[
        "for-each-ref",
        "--format=%(refname:short)",
        "refs/heads/backup/",
    ]);
    let backup = backup.lines().last().unwrap_or_default().to_string();
    repo.tool(&["recover", &backup, "--all"]);
    assert!(entries(&repo) >= before, "metrics entries were lost");
}

/// Found as: a new file staged, then deleted; emergency. git's own stash
/// keeps the staged file in its W tree (pop would bring it back); the
/// tool's records the deletion. The property compares the two knowing so.
#[test]
fn emergency_stash_of_a_staged_file_deleted_since() {
    use Step::*;
    let start = || Start {
        main: Vec::new(),
        sprint: vec![vec![(0, 0)]],
        on_sprint: false,
        tests_pass: true,
    };
    let emergency = Emergency {
        clean_ignored: false,
    };
    // notes.txt staged then removed; d staged then replaced by d/e.
    replay(
        start(),
        &[
            Edit {
                path: 7,
                content: 0,
            },
            AddAll,
            Remove { path: 7 },
            emergency.clone(),
            Undo,
        ],
    );
    replay(
        start(),
        &[
            Edit {
                path: 4,
                content: 0,
            },
            AddAll,
            Edit {
                path: 5,
                content: 0,
            },
            emergency,
            Undo,
        ],
    );
}

/// Found as: a tracked file `d` replaced by `d/e`, sprint rollback, undo,
/// redo. The rollback set the directory `d/` aside to write the file `d`;
/// the undo restored `d/e` from its snapshot and then moved the aside
/// `d/e` back over it, setting the restored one aside, so the redo
/// moved files into `d/` after it had become a file again:
/// "could not create d: File exists".
#[test]
fn redo_of_a_sprint_rollback_over_a_file_turned_directory() {
    let repo = Start {
        main: Vec::new(),
        sprint: vec![vec![(0, 0)]],
        on_sprint: true,
        tests_pass: true,
    }
    .build();
    repo.remove("d");
    repo.write("d/e", "one\n");
    let before = without_reports(&repo.capture());
    repo.tool_ok(&["sprint", "rollback"]);
    let rolled_back = without_reports(&repo.capture());
    repo.tool_ok(&["undo"]);
    crate::common::assert_same_state(&before, &without_reports(&repo.capture()));
    repo.tool_ok(&["redo"]);
    crate::common::assert_same_state(&rolled_back, &without_reports(&repo.capture()));
}

/// The same, with `d/e` written again (new content) after the rollback,
/// where the rollback wrote the file `d`: the same thing changed on both
/// sides, so undo refuses, naming it, and changes nothing; forced, it puts
/// back the `d/e` the rollback took, and the redo brings back the edited
/// one, not the older copy the rollback had set aside.
#[test]
fn redo_of_a_sprint_rollback_brings_back_a_file_turned_directory_edited_since() {
    let repo = Start {
        main: Vec::new(),
        sprint: vec![vec![(0, 0)]],
        on_sprint: true,
        tests_pass: true,
    }
    .build();
    repo.remove("d");
    repo.write("d/e", "one\n");
    let before = without_reports(&repo.capture());
    repo.tool_ok(&["sprint", "rollback"]);
    repo.remove("d");
    repo.write("d/e", "edited since the rollback\n");
    let edited = without_reports(&repo.capture());
    let out = repo.tool(&["undo"]);
    out.assert_code(1);
    assert!(out.stderr.contains("d/e"), "{out}");
    crate::common::assert_same_state(&edited, &without_reports(&repo.capture()));
    repo.tool_ok(&["undo", "--force"]);
    crate::common::assert_same_state(&before, &without_reports(&repo.capture()));
    repo.tool_ok(&["redo"]);
    crate::common::assert_same_state(&edited, &without_reports(&repo.capture()));
    assert_eq!(repo.read_string("d/e"), "edited since the rollback\n");
}
