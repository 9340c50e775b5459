//! Undo after plain-git work (docs/invariants.md, I2): every mutating command,
//! followed by one thing a user does with git, followed by `undo`.
//!
//! The rule under test: for every thing an operation changed (HEAD, each
//! ref, each index entry by path and stage, each work-tree path, each stash
//! entry), undo puts the old value back only where the thing still holds
//! what the operation left; what changed since is kept; where the
//! operation's change and a later change meet on the same thing, undo
//! refuses, names the thing in one line, and changes nothing at all (same
//! capture, no new journal line) — unless `--force`, which first records the
//! current state so that undoing the forced undo (`undo <its id>`) brings
//! the later work back.
//! Things the operation did not change are never touched.
//!
//! Each cell of [`TABLE`] says which of the two outcomes the spec implies,
//! and why. The expectation is never written by hand: [`Oracle`] takes
//! three captures (before the command, after it, after the user's git
//! action), finds the things the command changed, and on a copy of the
//! repository puts back, with git commands (`update-ref`, `symbolic-ref`,
//! `update-index --cacheinfo`, `stash drop`, plain file writes), the old
//! value of each one the user left alone. The oracle also lists the things
//! where both changed; the table's verdict must agree with it, so a wrong
//! cell fails as a wrong test, not as a wrong engine.
//!
//! After a restoring undo, `redo` must bring back the state after the
//! user's action: the command re-applied three-way, the later work kept.
//!
//! "Commit on another branch" is done through a second worktree
//! (`git worktree add <root>/second other`), so the commit never passes
//! through this work tree: switching away from a dirty tree is a different
//! action ([`Action::Switch`]).
//!
//! The base repository is built once per command; each cell runs on a
//! `copy()` of it. A test runs all nine actions of its command and reports
//! every failing cell at once.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::common::{
    assert_same_except_reports, assert_unchanged_by, without_reports, EntryKind, FsEntry,
    IndexEntryState, RepoState, TestRepo, ToolOutput,
};

// ----- the table -----------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    /// `emergency --yes` from a tree with staged, unstaged and untracked
    /// changes, one commit past the baseline: pushes a stash entry, makes
    /// `backup/emergency-<ts>`, moves `main` to the baseline, resets the
    /// index and the work tree, removes `notes.txt`.
    Emergency,
    /// `sprint rollback --yes --no-tests` on `refactor/sprint-1` (made by
    /// `sprint start 1`) with a dirty tree: makes `backup/sprint-1-<ts>`
    /// (the WIP commit) and `refactor/sprint-1-retry` at the baseline,
    /// moves HEAD to the retry branch, resets the index and the work tree.
    SprintRollback,
    /// `files src/lib.rs --yes --no-tests` where `src/lib.rs` has a staged
    /// change of the user's: its index entry and file go back to the
    /// baseline. Nothing else.
    Files,
    /// `checkpoint --wip` on a dirty tree: one new tag, nothing else.
    CheckpointWip,
    /// `recover failed --all --no-tests --yes` from a clean `main`: makes
    /// `recovery/<ts>`, moves HEAD to it, picks the commit adding
    /// `src/recovered.rs` (index and work tree).
    Recover,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// New file `later.txt`, `git add`, `git commit -- later.txt` on the
    /// branch HEAD names (only that file goes into the commit).
    CommitSame,
    /// A commit on `other` made in a second worktree.
    CommitOther,
    /// New content in [`Setup::touched`], staged.
    StageTouched,
    /// New file `fresh.txt`, staged.
    StageUntouched,
    /// New content in [`Setup::written`], not staged.
    EditWritten,
    /// An edit of `config/settings.toml` (no command touches it), then
    /// `git stash push -m mine`.
    StashPush,
    /// `git stash pop` of whatever is on top (the base has a stash entry
    /// `theirs`, so there always is one).
    StashPop,
    /// `git switch other` (`other` is the baseline plus a commit adding
    /// `other.txt` and changing `src/main.rs`).
    Switch,
    /// `git gc --prune=now`.
    Gc,
    /// A new `debug.log` (ignored) where `--clean-ignored` moved one aside.
    /// Not in [`ACTIONS`]: only for [`emergency_clean_ignored_then_git_then_undo`].
    WriteIgnored,
}

const ACTIONS: [Action; 9] = [
    Action::CommitSame,
    Action::CommitOther,
    Action::StageTouched,
    Action::StageUntouched,
    Action::EditWritten,
    Action::StashPush,
    Action::StashPop,
    Action::Switch,
    Action::Gc,
];

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// (a) undo restores what the command changed and keeps the later work.
    Restore,
    /// (b) undo refuses, naming (at least) these things on stderr.
    Refuse(&'static [&'static str]),
}

use Action as A;
use Cmd as C;
use Expect::{Refuse, Restore};

/// Command × action → expected outcome, and why.
const TABLE: &[(Cmd, Action, Expect, &str)] = &[
    // ----- emergency ---------------------------------------------------------------
    (C::Emergency, A::CommitSame, Refuse(&["main"]),
        "emergency moved main to the baseline; the commit moved it again"),
    (C::Emergency, A::CommitOther, Restore,
        "emergency never touched `other`: its new commit stays"),
    (C::Emergency, A::StageTouched, Refuse(&["README.md"]),
        "emergency reset README.md's index entry and file; the user staged new content over both"),
    (C::Emergency, A::StageUntouched, Restore,
        "fresh.txt is not the emergency's: it stays staged"),
    (C::Emergency, A::EditWritten, Refuse(&["src/main.rs"]),
        "emergency wrote src/main.rs (back to the baseline); the user edited it since"),
    (C::Emergency, A::StashPush, Restore,
        "undo drops only the emergency's stash entry (now stash@{1}); `mine` stays on top"),
    (C::Emergency, A::StashPop, Refuse(&["stash entry"]),
        "the pop removed the emergency's own entry (its files are back as before, nothing to do there)"),
    (C::Emergency, A::Switch, Refuse(&["src/main.rs"]),
        "`other` has its own src/main.rs, which the switch wrote over the emergency's"),
    (C::Emergency, A::Gc, Restore,
        "gc changes nothing the user can see; the saved state survives it"),
    // ----- sprint rollback ---------------------------------------------------------
    (C::SprintRollback, A::CommitSame, Refuse(&["refactor/sprint-1-retry"]),
        "the rollback created the retry branch; the commit moved it"),
    (C::SprintRollback, A::CommitOther, Restore,
        "the rollback never touched `other`"),
    (C::SprintRollback, A::StageTouched, Refuse(&["README.md"]),
        "the rollback reset README.md (staged in the sprint's WIP); the user staged new content"),
    (C::SprintRollback, A::StageUntouched, Restore,
        "fresh.txt is not the rollback's: it stays staged on the sprint branch"),
    (C::SprintRollback, A::EditWritten, Refuse(&["src/main.rs"]),
        "the rollback wrote src/main.rs; the user edited it since"),
    (C::SprintRollback, A::StashPush, Restore,
        "the rollback pushed no stash entry; `mine` stays, and the file it took is back as the rollback left it"),
    (C::SprintRollback, A::StashPop, Restore,
        "the pop took the user's own entry and wrote docs/guide.md, neither of them the rollback's"),
    (C::SprintRollback, A::Switch, Refuse(&["HEAD"]),
        "the rollback moved HEAD to the retry branch; the switch moved it again"),
    (C::SprintRollback, A::Gc, Restore,
        "gc changes nothing the user can see"),
    // ----- files -----------------------------------------------------------------------
    (C::Files, A::CommitSame, Restore,
        "files did not move main; the commit holds only later.txt, and src/lib.rs is as files left it"),
    (C::Files, A::CommitOther, Restore,
        "files never touched `other`"),
    (C::Files, A::StageTouched, Refuse(&["src/lib.rs"]),
        "files wrote src/lib.rs's index entry; the user staged new content"),
    (C::Files, A::StageUntouched, Restore,
        "fresh.txt is not the files command's"),
    (C::Files, A::EditWritten, Refuse(&["src/lib.rs"]),
        "files wrote src/lib.rs; the user edited it since"),
    (C::Files, A::StashPush, Refuse(&["src/lib.rs"]),
        "the stash took the staged src/lib.rs that files wrote and reset it to HEAD's"),
    (C::Files, A::StashPop, Restore,
        "the pop took the user's entry and wrote docs/guide.md, not files' path"),
    (C::Files, A::Switch, Restore,
        "files did not change HEAD; the switch kept src/lib.rs as files left it (it is other's content)"),
    (C::Files, A::Gc, Restore,
        "gc changes nothing the user can see"),
    // ----- checkpoint --wip --------------------------------------------------------
    (C::CheckpointWip, A::CommitSame, Restore,
        "the checkpoint made only its tag; main's new commit stays"),
    (C::CheckpointWip, A::CommitOther, Restore,
        "the checkpoint made only its tag"),
    (C::CheckpointWip, A::StageTouched, Restore,
        "the WIP commit holds README.md but the checkpoint changed neither index nor file"),
    (C::CheckpointWip, A::StageUntouched, Restore,
        "the checkpoint made only its tag"),
    (C::CheckpointWip, A::EditWritten, Restore,
        "the WIP commit holds tests/unit/test_lib.py but the checkpoint wrote no file"),
    (C::CheckpointWip, A::StashPush, Restore,
        "the checkpoint made only its tag; the user's stash of the dirty tree stays"),
    (C::CheckpointWip, A::StashPop, Restore,
        "the checkpoint made only its tag; the pop stays"),
    (C::CheckpointWip, A::Switch, Restore,
        "the checkpoint did not change HEAD; the switch (dirty tree carried) stays"),
    (C::CheckpointWip, A::Gc, Restore,
        "gc changes nothing the user can see"),
    // ----- recover -------------------------------------------------------------------
    (C::Recover, A::CommitSame, Refuse(&["recovery/20261121_100405"]),
        "recover created the recovery branch; the commit moved it"),
    (C::Recover, A::CommitOther, Restore,
        "recover never touched `other`"),
    (C::Recover, A::StageTouched, Refuse(&["src/recovered.rs"]),
        "recover added src/recovered.rs to the index; the user staged new content"),
    (C::Recover, A::StageUntouched, Restore,
        "fresh.txt is not recover's"),
    (C::Recover, A::EditWritten, Refuse(&["src/recovered.rs"]),
        "recover wrote src/recovered.rs; the user edited it since"),
    (C::Recover, A::StashPush, Restore,
        "recover pushed no stash entry; the stash took only config/settings.toml, which is back as recover left it"),
    (C::Recover, A::StashPop, Restore,
        "the pop took the user's entry and wrote docs/guide.md, not recover's"),
    (C::Recover, A::Switch, Refuse(&["HEAD"]),
        "recover moved HEAD to the recovery branch; the switch moved it again"),
    (C::Recover, A::Gc, Restore,
        "gc changes nothing the user can see"),
];

// ----- fixtures --------------------------------------------------------------------

/// The base every command starts from:
///
/// * `with_commits()`, tagged `baseline`; `rollback.testCommand` passes;
/// * `other`: the baseline plus a commit adding `other.txt` and changing
///   `src/main.rs`;
/// * `failed`: the baseline plus a commit adding `src/recovered.rs`;
/// * `main` (checked out): one commit past the baseline changing
///   `src/lib.rs` and adding `src/feature.rs`;
/// * a stash entry `theirs` changing `docs/guide.md`.
fn base() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);

    repo.git(&["switch", "-q", "-c", "other"]);
    repo.write("other.txt", "on the other branch\n");
    repo.write("src/main.rs", "fn main() {\n    println!(\"other\");\n}\n");
    repo.commit_all("other: its own work");

    repo.git(&["switch", "-q", "-c", "failed", "baseline"]);
    repo.write("src/recovered.rs", "pub const GOOD: u8 = 1;\n");
    repo.commit_all("failed: the one good commit");

    repo.git(&["switch", "-q", "main"]);
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // sprint\n}\n",
    );
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.commit_all("sprint work");

    repo.write(
        "docs/guide.md",
        "# Guide\n\nStep one, stashed by the user.\n",
    );
    repo.git(&["stash", "push", "-q", "-m", "theirs"]);
    repo
}

/// Staged, unstaged and untracked changes: README.md staged, `unstaged`
/// changed and not staged, notes.txt untracked.
fn dirty(repo: &TestRepo, unstaged: &str) {
    repo.write(
        "README.md",
        "# Demo project\n\nA repository for tests.\nStaged line.\n",
    );
    repo.git(&["add", "--", "README.md"]);
    repo.write(unstaged, "changed in the work tree, not staged\n");
    repo.write("notes.txt", "untracked notes\n");
}

/// A command ready to run: the repository just before it, its arguments,
/// and the paths the actions aim at.
struct Setup {
    repo: TestRepo,
    args: &'static [&'static str],
    /// A path whose index entry (and file) the command changed.
    touched: &'static str,
    /// A path whose file the command wrote.
    written: &'static str,
}

fn setup(cmd: Cmd) -> Setup {
    let repo = base();
    match cmd {
        Cmd::Emergency => {
            dirty(&repo, "src/main.rs");
            Setup {
                repo,
                args: &["emergency", "--yes"],
                touched: "README.md",
                written: "src/main.rs",
            }
        }
        Cmd::SprintRollback => {
            repo.tool_ok(&["sprint", "start", "1", "--no-tests"]);
            repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    8\n}\n");
            repo.commit_all("sprint 1: more of it");
            dirty(&repo, "src/main.rs");
            Setup {
                repo,
                args: &["sprint", "rollback", "--yes", "--no-tests"],
                touched: "README.md",
                written: "src/main.rs",
            }
        }
        Cmd::Files => {
            repo.write(
                "src/lib.rs",
                "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // staged by the user\n}\n",
            );
            repo.git(&["add", "--", "src/lib.rs"]);
            Setup {
                repo,
                args: &["files", "src/lib.rs", "--yes", "--no-tests"],
                touched: "src/lib.rs",
                written: "src/lib.rs",
            }
        }
        Cmd::CheckpointWip => {
            // Not src/main.rs: `other` changes it, and the switch must
            // carry the dirty tree over.
            dirty(&repo, "tests/unit/test_lib.py");
            Setup {
                repo,
                args: &["checkpoint", "--wip"],
                touched: "README.md",
                written: "tests/unit/test_lib.py",
            }
        }
        Cmd::Recover => Setup {
            repo,
            args: &["recover", "failed", "--all", "--no-tests", "--yes"],
            touched: "src/recovered.rs",
            written: "src/recovered.rs",
        },
    }
}

/// Do `action` with git, as a user would.
fn act(s: &Setup, repo: &TestRepo, action: Action) {
    match action {
        Action::CommitSame => {
            repo.write("later.txt", "committed after the command\n");
            repo.git(&["add", "--", "later.txt"]);
            repo.git(&["commit", "-q", "-m", "later work", "--", "later.txt"]);
        }
        Action::CommitOther => {
            let second = repo.root().join("second");
            let second_str = second.to_str().expect("UTF-8 temporary path");
            repo.git(&["worktree", "add", "-q", second_str, "other"]);
            fs::write(
                second.join("other2.txt"),
                "committed in the second worktree\n",
            )
            .expect("write in the second worktree");
            repo.git_in(&second, &["add", "--", "other2.txt"]);
            repo.git_in(&second, &["commit", "-q", "-m", "other: more"]);
        }
        Action::StageTouched => {
            repo.write(s.touched, "staged after the command\n");
            repo.git(&["add", "--", s.touched]);
        }
        Action::StageUntouched => {
            repo.write("fresh.txt", "staged after the command\n");
            repo.git(&["add", "--", "fresh.txt"]);
        }
        Action::EditWritten => repo.write(s.written, "edited after the command\n"),
        Action::StashPush => {
            repo.write("config/settings.toml", "[server]\nport = 9999\n");
            repo.git(&["stash", "push", "-q", "-m", "mine"]);
        }
        Action::StashPop => {
            if !repo.git(&["stash", "list"]).is_empty() {
                repo.git(&["stash", "pop", "-q"]);
            }
        }
        Action::Switch => {
            repo.git(&["switch", "-q", "other"]);
        }
        Action::Gc => {
            repo.git(&["gc", "-q", "--prune=now"]);
        }
        Action::WriteIgnored => repo.write("debug.log", "a new log, written since\n"),
    }
}

// ----- the oracle --------------------------------------------------------------------

/// Three captures: before the command (`old`), after it (`left`), after the
/// user's action (`now`).
struct Oracle<'a> {
    old: &'a RepoState,
    left: &'a RepoState,
    now: &'a RepoState,
}

type IndexKey = (Vec<u8>, u8);
/// A stash entry as captured: (oid, reflog subject).
type StashEntry = (String, String);

fn index_map(s: &RepoState) -> std::collections::BTreeMap<IndexKey, IndexEntryState> {
    s.index
        .entries
        .iter()
        .map(|e| ((e.path.clone(), e.stage), e.clone()))
        .collect()
}

fn files_map(s: &RepoState) -> std::collections::BTreeMap<Vec<u8>, FsEntry> {
    without_reports(s).files.entries
}

fn show(bytes: &[u8]) -> String {
    crate::common::show_bytes(bytes)
}

impl Oracle<'_> {
    /// The refs the command changed (the stash ref is the stash's).
    fn refs(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<&String> =
            self.old.refs.keys().chain(self.left.refs.keys()).collect();
        names
            .into_iter()
            .filter(|n| n.as_str() != "refs/stash")
            .filter(|n| self.old.refs.get(*n) != self.left.refs.get(*n))
            .cloned()
            .collect()
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        let (o, l) = (index_map(self.old), index_map(self.left));
        let keys: std::collections::BTreeSet<&IndexKey> = o.keys().chain(l.keys()).collect();
        keys.into_iter()
            .filter(|k| o.get(*k) != l.get(*k))
            .cloned()
            .collect()
    }

    fn paths(&self) -> Vec<Vec<u8>> {
        let (o, l) = (files_map(self.old), files_map(self.left));
        let keys: std::collections::BTreeSet<&Vec<u8>> = o.keys().chain(l.keys()).collect();
        keys.into_iter()
            .filter(|k| o.get(*k) != l.get(*k))
            .cloned()
            .collect()
    }

    /// Stash entries the command pushed and removed.
    fn stash(&self) -> (Vec<StashEntry>, Vec<StashEntry>) {
        let pushed = self
            .left
            .stash
            .iter()
            .filter(|e| !self.old.stash.contains(e))
            .cloned()
            .collect();
        let removed = self
            .old
            .stash
            .iter()
            .filter(|e| !self.left.stash.contains(e))
            .cloned()
            .collect();
        (pushed, removed)
    }

    /// Every thing the command changed and the user changed since to
    /// something else than it was before the command (a change back to the
    /// old value meets nothing: undo has nothing left to do there).
    fn conflicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.old.head != self.left.head
            && self.now.head != self.left.head
            && self.now.head != self.old.head
        {
            out.push("HEAD".to_string());
        }
        for r in self.refs() {
            let now = self.now.refs.get(&r);
            if now != self.left.refs.get(&r) && now != self.old.refs.get(&r) {
                out.push(r);
            }
        }
        let (o, l, n) = (
            index_map(self.old),
            index_map(self.left),
            index_map(self.now),
        );
        for k in self.index_keys() {
            if l.get(&k) != n.get(&k) && o.get(&k) != n.get(&k) {
                out.push(format!("index {}", show(&k.0)));
            }
        }
        let (o, l, n) = (
            files_map(self.old),
            files_map(self.left),
            files_map(self.now),
        );
        for p in self.paths() {
            if l.get(&p) != n.get(&p) && o.get(&p) != n.get(&p) {
                out.push(format!("file {}", show(&p)));
            }
        }
        let (pushed, removed) = self.stash();
        for e in pushed {
            if !self.now.stash.contains(&e) {
                out.push(format!("{} ({}): stash entry", e.1, e.0));
            }
        }
        for e in removed {
            if self.now.stash.contains(&e) {
                out.push(format!("{} ({}): stash entry", e.1, e.0));
            }
        }
        out
    }

    /// On `copy` (a copy of the repository in the `now` state), put back
    /// with git the old value of every thing the command changed.
    fn undo_with_git(&self, copy: &TestRepo) {
        if self.old.head != self.left.head {
            match self.old.head.strip_prefix("ref: ") {
                Some(branch) => copy.git(&["symbolic-ref", "HEAD", branch]),
                None => copy.git(&["update-ref", "--no-deref", "HEAD", &self.old.head]),
            };
        }
        for r in self.refs() {
            match self.old.refs.get(&r) {
                Some(oid) => copy.git(&["update-ref", &r, oid]),
                None => copy.git(&["update-ref", "-d", &r]),
            };
        }
        let (pushed, removed) = self.stash();
        for e in pushed {
            let list = copy.capture().stash;
            if let Some(i) = list.iter().position(|x| *x == e) {
                copy.git(&["stash", "drop", "-q", &format!("stash@{{{i}}}")]);
            }
        }
        for e in removed {
            copy.git(&["stash", "store", "-m", &e.1, &e.0]);
        }
        let old = index_map(self.old);
        for k in self.index_keys() {
            assert_eq!(k.1, 0, "the oracle puts back stage-0 entries only");
            let path = OsStr::from_bytes(&k.0);
            match old.get(&k) {
                Some(e) => {
                    assert!(!e.intent_to_add && !e.skip_worktree && !e.assume_valid);
                    let info = format!("{:o},{},{}", e.mode, e.oid, String::from_utf8_lossy(&k.0));
                    copy.git(&[
                        OsStr::new("update-index"),
                        OsStr::new("--add"),
                        OsStr::new("--cacheinfo"),
                        OsStr::new(&info),
                    ]);
                }
                None => {
                    copy.git(&[
                        OsStr::new("update-index"),
                        OsStr::new("--force-remove"),
                        OsStr::new("--"),
                        path,
                    ]);
                }
            }
        }
        let old = files_map(self.old);
        let paths = self.paths();
        // Remove what was not there, deepest first; then write what was,
        // parents first.
        for p in paths.iter().rev() {
            if old.contains_key(p) {
                continue;
            }
            let abs = copy.path().join(OsStr::from_bytes(p));
            match fs::symlink_metadata(&abs) {
                Ok(m) if m.is_dir() => {
                    let _ = fs::remove_dir(&abs);
                }
                Ok(_) => fs::remove_file(&abs).expect("remove a file the command made"),
                Err(_) => {}
            }
        }
        for p in &paths {
            let Some(e) = old.get(p) else { continue };
            let abs = copy.path().join(OsStr::from_bytes(p));
            if let Ok(m) = fs::symlink_metadata(&abs) {
                let same_kind = match e.kind {
                    EntryKind::Dir => m.is_dir(),
                    EntryKind::File => m.is_file(),
                    _ => false,
                };
                if !same_kind {
                    if m.is_dir() {
                        fs::remove_dir_all(&abs).expect("remove a directory in the way");
                    } else {
                        fs::remove_file(&abs).expect("remove a file in the way");
                    }
                }
            }
            match e.kind {
                EntryKind::Dir => fs::create_dir_all(&abs).expect("mkdir"),
                EntryKind::File => fs::write(&abs, &e.data).expect("write"),
                EntryKind::Symlink => {
                    std::os::unix::fs::symlink(OsStr::from_bytes(&e.data), &abs).expect("symlink")
                }
                EntryKind::Other => panic!("the oracle cannot make {}", show(p)),
            }
            if e.kind != EntryKind::Symlink {
                fs::set_permissions(&abs, fs::Permissions::from_mode(e.mode)).expect("chmod");
            }
        }
    }
}

// ----- running a cell --------------------------------------------------------------

fn journal(repo: &TestRepo) -> Vec<u8> {
    fs::read(repo.git_dir().join("rollback/journal.jsonl")).unwrap_or_default()
}

/// Run `f`; if it panics, panic again with `label` in front of the message.
#[track_caller]
fn in_context(label: &str, f: impl FnOnce()) {
    if let Err(e) = catch_unwind(AssertUnwindSafe(f)) {
        panic!("{label}: {}", panic_message(&*e));
    }
}

fn panic_message(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// `state` with the stash list sorted and the stash ref (its top) left
/// out: the same entries, in any order.
fn stash_as_set(state: &RepoState) -> RepoState {
    let mut s = state.clone();
    s.stash.sort();
    s.refs.remove("refs/stash");
    s
}

/// Whether `text` names `name` as a whole word: `main` in "main moved" or
/// "refs/heads/main", not in "src/main.rs" or "On main-2".
fn names_thing(text: &str, name: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || "-_/".contains(c);
    text.match_indices(name).any(|(at, _)| {
        let before = &text[..at];
        let after = &text[at + name.len()..];
        let starts = match before.chars().next_back() {
            None => true,
            Some('/') => ["refs/heads/", "refs/tags/"]
                .iter()
                .any(|p| before.ends_with(p)),
            Some(c) => !part(c) && c != '.',
        };
        let mut next = after.chars();
        let ends = match next.next() {
            None => true,
            Some('.') => next.next().is_none_or(|c| !c.is_alphanumeric()),
            Some(c) => !part(c),
        };
        starts && ends
    })
}

#[test]
fn names_thing_takes_whole_names_only() {
    assert!(names_thing("error: main moved since", "main"));
    assert!(names_thing("refs/heads/main changed.", "main"));
    assert!(names_thing("`src/main.rs` was edited", "src/main.rs"));
    assert!(!names_thing("src/main.rs was edited", "main"));
    assert!(!names_thing("On main-2: x", "main"));
    assert!(!names_thing("ORIG_HEAD", "HEAD"));
}

/// Run one cell; panics with a message saying what went wrong.
fn run_cell(s: &Setup, action: Action, expect: Expect) {
    let repo = s.repo.copy();
    let old = repo.capture();
    repo.tool(s.args).assert_ok();
    let left = repo.capture();
    act(s, &repo, action);
    let now = repo.capture();
    let oracle = Oracle {
        old: &old,
        left: &left,
        now: &now,
    };
    let conflicts = oracle.conflicts();

    match expect {
        Expect::Restore => {
            assert!(
                conflicts.is_empty(),
                "TEST DEFECT: the table says Restore but the command's and the user's changes meet on {conflicts:?}"
            );
            let copy = repo.copy();
            oracle.undo_with_git(&copy);
            let want = copy.capture();
            assert!(
                !want.diff(&now).is_empty(),
                "TEST DEFECT: undo would have nothing to do"
            );
            let out = repo.tool(&["undo"]);
            out.assert_ok();
            let got = repo.capture();
            assert_same_except_reports(&want, &got);
            // redo re-applies the command, three-way again: back to the
            // state after the user's action. Where the command pushed a
            // stash entry, where redo puts it back in the list is not
            // specified, so the stash is compared as a set there.
            in_context("after redo", || {
                repo.tool(&["redo"]).assert_ok();
                assert_same_except_reports(&stash_as_set(&now), &stash_as_set(&repo.capture()));
            });
        }
        Expect::Refuse(names) => {
            for name in names {
                assert!(
                    conflicts.iter().any(|c| c.ends_with(name)),
                    "TEST DEFECT: the table says {name} conflicts; the oracle finds {conflicts:?}"
                );
            }
            let journal_before = journal(&repo);
            let out: ToolOutput = assert_unchanged_by(&repo, || repo.tool(&["undo"]));
            assert_eq!(
                journal(&repo),
                journal_before,
                "a refusal writes no journal line"
            );
            out.assert_code(1);
            assert_eq!(
                out.stderr.trim_end().lines().count(),
                1,
                "a one-line refusal\n{out}"
            );
            for name in names {
                assert!(
                    names_thing(&out.stderr, name),
                    "the refusal names {name}\n{out}"
                );
            }
            // --force records the current state first: undoing the forced
            // undo brings the later work back.
            let before_force = repo.capture();
            let forced = repo.tool(&["--json", "undo", "--force"]);
            forced.assert_ok();
            let id = forced.json()["operation_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no operation_id\n{forced}"))
                .to_string();
            // By id: a plain `undo` would walk further back (README: `undo`).
            repo.tool(&["undo", &id]).assert_ok();
            assert_same_except_reports(&before_force, &repo.capture());
        }
    }
}

/// Run the nine cells of `cmd`; panic listing every failing one.
fn run_row(cmd: Cmd) {
    run_row_on(cmd, &setup(cmd));
}

fn run_row_on(cmd: Cmd, s: &Setup) {
    let cells: Vec<(Action, Expect, &str)> = ACTIONS
        .iter()
        .map(|&action| {
            let (_, _, expect, reason) = TABLE
                .iter()
                .find(|(c, a, _, _)| *c == cmd && *a == action)
                .unwrap_or_else(|| panic!("no table cell for {cmd:?} × {action:?}"));
            (action, *expect, *reason)
        })
        .collect();
    run_cells(s, &format!("{cmd:?}"), &cells);
}

/// Run `cells` on copies of `s`; panic listing every failing one.
fn run_cells(s: &Setup, what: &str, cells: &[(Action, Expect, &str)]) {
    let mut failures = Vec::new();
    for &(action, expect, reason) in cells {
        let result = catch_unwind(AssertUnwindSafe(|| run_cell(s, action, expect)));
        if let Err(e) = result {
            let msg = panic_message(&*e);
            failures.push(format!(
                "{what} × {action:?} (expected {expect:?}: {reason}):\n{msg}"
            ));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} cells failed:\n\n{}",
            failures.len(),
            cells.len(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn the_table_has_one_cell_per_command_and_action() {
    for cmd in [
        Cmd::Emergency,
        Cmd::SprintRollback,
        Cmd::Files,
        Cmd::CheckpointWip,
        Cmd::Recover,
    ] {
        for action in ACTIONS {
            let n = TABLE
                .iter()
                .filter(|(c, a, _, _)| *c == cmd && *a == action)
                .count();
            assert_eq!(n, 1, "{cmd:?} × {action:?}");
        }
    }
}

#[test]
fn emergency_then_git_then_undo() {
    run_row(Cmd::Emergency);
}

/// The same row with checkout filters on (`core.autocrlf=input`, which
/// converts nothing on the way out): what the emergency wrote is known
/// from the filters' output instead of being read back, and every cell
/// holds all the same.
#[test]
fn emergency_with_checkout_filters_then_git_then_undo() {
    let s = setup(Cmd::Emergency);
    s.repo.git(&["config", "core.autocrlf", "input"]);
    run_row_on(Cmd::Emergency, &s);
}

#[test]
fn sprint_rollback_then_git_then_undo() {
    run_row(Cmd::SprintRollback);
}

#[test]
fn files_then_git_then_undo() {
    run_row(Cmd::Files);
}

#[test]
fn checkpoint_wip_then_git_then_undo() {
    run_row(Cmd::CheckpointWip);
}

#[test]
fn recover_then_git_then_undo() {
    run_row(Cmd::Recover);
}

// ----- ignored files moved aside (I3) ---------------------------------------------

/// `emergency --clean-ignored` also moves the ignored `debug.log` aside:
/// one more thing the operation changed, by path.
#[test]
fn emergency_clean_ignored_then_git_then_undo() {
    let mut s = setup(Cmd::Emergency);
    s.repo.write("debug.log", "an ignored log\n");
    s.args = &["emergency", "--yes", "--clean-ignored"];
    run_cells(
        &s,
        "Emergency --clean-ignored",
        &[
            (
                Action::WriteIgnored,
                Refuse(&["debug.log"]),
                "the emergency moved debug.log aside; a new one is there now",
            ),
            (
                Action::StageUntouched,
                Restore,
                "nothing is where debug.log was: it comes back, and fresh.txt stays staged",
            ),
        ],
    );
}

// ----- two worktrees, one stash ----------------------------------------------------

/// The stash is shared by every worktree of a repository: an emergency in
/// worktree A pushes an entry, a `git stash push` in worktree B pushes one
/// on top of it; undo in A drops only A's entry and keeps B's.
#[test]
fn undo_drops_only_its_own_stash_entry_when_another_worktree_pushed_one() {
    let s = setup(Cmd::Emergency);
    let repo = s.repo.copy();
    let b = repo.root().join("b");
    let b_str = b.to_str().expect("UTF-8 temporary path").to_string();
    repo.git(&["worktree", "add", "-q", &b_str, "other"]);

    let old = repo.capture();
    repo.tool(s.args).assert_ok();
    let left = repo.capture();
    fs::write(b.join("other.txt"), "stashed in worktree B\n").expect("write in B");
    repo.git_in(&b, &["stash", "push", "-q", "-m", "from B"]);
    let now = repo.capture();
    assert_eq!(now.stash.len(), left.stash.len() + 1, "B's entry is on top");
    assert!(now.stash[0].1.contains("from B"), "{:?}", now.stash);

    let oracle = Oracle {
        old: &old,
        left: &left,
        now: &now,
    };
    assert!(oracle.conflicts().is_empty(), "{:?}", oracle.conflicts());
    let copy = repo.copy();
    oracle.undo_with_git(&copy);
    let want = copy.capture();

    repo.tool(&["undo"]).assert_ok();
    let got = repo.capture();
    assert_same_except_reports(&want, &got);
    let subjects: Vec<&str> = got.stash.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[0].contains("from B"), "{subjects:?}");
    assert!(subjects[1].contains("theirs"), "{subjects:?}");
    // B's work tree is B's: the undo in A leaves it as the stash left it.
    assert_eq!(
        fs::read(b.join("other.txt")).expect("read in B"),
        b"on the other branch\n"
    );
}
