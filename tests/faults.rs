//! Crash safety (docs/invariants.md, I4), systematically: every mutating
//! command is killed with SIGKILL at every step boundary it reaches, one run
//! per boundary.
//!
//! A test build of the tool names each boundary it reaches
//! (`GIT_ROLLBACK_SPRINT_FAULT=list:<file>`), and kills itself at the k-th
//! one (`GIT_ROLLBACK_SPRINT_FAULT=#<k>`). For each command the boundaries
//! are listed on a prepared repository, then, for every k, a fresh copy of
//! that repository is killed at k and the state it is left in is checked:
//!
//! * killed before the journal's `begin` record: nothing changed at all,
//!   no operation is reported, and the command runs again (its stale locks,
//!   `index.lock` included, are cleared) and is undone exactly;
//! * killed between `begin` and `end`: `status` reports the interrupted
//!   operation, a mutating command refuses with exit 3, `undo` restores the
//!   whole-repository capture (the reports folder excepted, which survives
//!   by design, I8) and leaves no `index.lock`;
//! * killed after `end`: the operation is complete and `undo` undoes it.
//!
//! The templates are built once per test and copied (`cp -a`) for each run.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{assert_same_state, dirty_everything, RepoState, TestRepo, ToolOutput};
use crate::common::{capture_after_early_kill, without_reports};

const FAULT: &str = "GIT_ROLLBACK_SPRINT_FAULT";

// ----- the state compared --------------------------------------------------------

/// The whole repository, plus the recovery's own state file (the list of
/// commits still to pick lives there, outside what git shows).
#[derive(Debug, Clone)]
struct State {
    repo: RepoState,
    recover_state: Option<Vec<u8>>,
}

impl State {
    fn of(repo: &TestRepo) -> State {
        State {
            repo: repo.capture(),
            recover_state: std::fs::read(recover_state_path(repo)).ok(),
        }
    }

    /// The state after a kill before the `begin` record (see
    /// [`capture_after_early_kill`]).
    #[track_caller]
    fn after_early_kill(repo: &TestRepo, _what: &str) -> State {
        let state = capture_after_early_kill(repo);
        State {
            repo: state,
            recover_state: std::fs::read(recover_state_path(repo)).ok(),
        }
    }
}

fn recover_state_path(repo: &TestRepo) -> PathBuf {
    repo.git_dir().join("rollback/recover.json")
}

#[track_caller]
fn assert_same(before: &State, after: &State, reports_too: bool, what: &str) {
    if reports_too {
        let diff = before.repo.diff(&after.repo);
        assert!(
            diff.is_empty(),
            "{what}: the state differs:\n{}",
            diff.join("\n")
        );
    } else {
        let (b, a) = (without_reports(&before.repo), without_reports(&after.repo));
        let diff = b.diff(&a);
        assert!(
            diff.is_empty(),
            "{what}: the state differs:\n{}",
            diff.join("\n")
        );
        assert_same_state(&b, &a);
    }
    assert_eq!(
        before.recover_state.as_deref().map(String::from_utf8_lossy),
        after.recover_state.as_deref().map(String::from_utf8_lossy),
        "{what}: the recovery state file differs"
    );
}

/// Metrics entries that still count (not marked undone).
fn counted_metrics(repo: &TestRepo) -> usize {
    let Ok(bytes) = std::fs::read(repo.abs("rollbacks/metrics.json")) else {
        return 0;
    };
    let doc: Value = serde_json::from_slice(&bytes).expect("metrics.json is JSON");
    doc["rollbacks"]
        .as_array()
        .expect("`rollbacks` is a list")
        .iter()
        .filter(|e| e["undone"] != true)
        .count()
}

// ----- enumerating and killing -------------------------------------------------------

/// The names of the fault points an uninterrupted run of `args` reaches,
/// in order (the run is made on a copy and must exit with `exit`).
fn fault_points(template: &TestRepo, args: &[&str], exit: i32) -> Vec<String> {
    let repo = template.copy();
    let list = repo.tmp_dir().join("fault-points.txt");
    let out = repo.tool_with_env(args, &[(FAULT, &format!("list:{}", list.display()))]);
    out.assert_code(exit);
    let text = std::fs::read_to_string(&list).unwrap_or_default();
    let points: Vec<String> = text.lines().map(str::to_string).collect();
    eprintln!(
        "{args:?}: {} fault points: {}",
        points.len(),
        points.join(" ")
    );
    for needed in [
        "after-lock",
        "before-begin",
        "after-begin",
        "before-end",
        "after-end",
    ] {
        assert!(
            points.iter().any(|p| p == needed),
            "{args:?} never reached {needed}: {points:?}"
        );
    }
    points
}

/// Run `args` on a fresh copy, killed at the k-th fault point (1-based).
fn killed_at(template: &TestRepo, args: &[&str], k: usize, name: &str) -> (TestRepo, String) {
    let repo = template.copy();
    let what = format!("{args:?} killed at #{k} ({name})");
    let out = repo.tool_with_env(args, &[(FAULT, &format!("#{k}"))]);
    assert_eq!(out.code, -1, "{what}: expected a SIGKILL\n{out}");
    (repo, what)
}

/// Where in its single transaction a command was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    BeforeJournal,
    Interrupted,
    Complete,
}

fn phase(points: &[String], k: usize) -> Phase {
    let begun = points
        .iter()
        .position(|p| p == "after-begin")
        .expect("an after-begin point");
    let ended = points
        .iter()
        .rposition(|p| p == "after-end")
        .expect("an after-end point");
    match k - 1 {
        i if i < begun => Phase::BeforeJournal,
        i if i < ended => Phase::Interrupted,
        _ => Phase::Complete,
    }
}

#[track_caller]
fn assert_reports_interruption(repo: &TestRepo, what: &str) {
    let status = repo.tool(&["status"]);
    status.assert_ok();
    assert!(
        status.stderr.contains("interrupted"),
        "{what}: status does not report the interrupted operation\n{status}"
    );
    let refused = repo.tool(&["checkpoint"]);
    assert_eq!(
        refused.code, 3,
        "{what}: a mutating command must stop\n{refused}"
    );
    assert!(refused.stderr.contains("interrupted"), "{what}\n{refused}");
    assert!(
        refused.stderr.contains("undo"),
        "{what}: the message says how to restore\n{refused}"
    );
}

#[track_caller]
fn assert_no_interruption(repo: &TestRepo, what: &str) {
    let status = repo.tool(&["status"]);
    status.assert_ok();
    assert!(
        !status.stderr.contains("interrupted"),
        "{what}: nothing is interrupted\n{status}"
    );
}

#[track_caller]
fn assert_no_index_lock(repo: &TestRepo, what: &str) {
    assert!(
        !repo.git_dir().join("index.lock").exists(),
        "{what}: index.lock is left behind"
    );
    repo.git(&["status", "--porcelain"]);
}

#[track_caller]
fn undo(repo: &TestRepo, what: &str) -> ToolOutput {
    let out = repo.tool(&["undo"]);
    assert_eq!(out.code, 0, "{what}: undo failed\n{out}");
    out
}

/// Kill `args` at every fault point of a run on `template`, and check each
/// state as the module documentation says. Returns the fault points.
fn kill_at_every_point(template: &TestRepo, args: &[&str], exit: i32) -> Vec<String> {
    let points = fault_points(template, args, exit);
    let before = State::of(template);
    let counted = counted_metrics(template);
    for (i, name) in points.iter().enumerate() {
        let k = i + 1;
        let (repo, what) = killed_at(template, args, k, name);
        match phase(&points, k) {
            Phase::BeforeJournal => {
                assert_no_interruption(&repo, &what);
                assert_same(&before, &State::after_early_kill(&repo, &what), true, &what);
                let again = repo.tool(args);
                assert_eq!(again.code, exit, "{what}: the command runs again\n{again}");
                undo(&repo, &what);
            }
            Phase::Interrupted => {
                assert_reports_interruption(&repo, &what);
                undo(&repo, &what);
                assert_no_interruption(&repo, &what);
            }
            Phase::Complete => {
                assert_no_interruption(&repo, &what);
                undo(&repo, &what);
            }
        }
        assert_same(&before, &State::of(&repo), false, &what);
        assert_eq!(
            counted_metrics(&repo),
            counted,
            "{what}: a metrics entry of the undone operation still counts"
        );
        assert_no_index_lock(&repo, &what);
    }
    points
}

// ----- templates -------------------------------------------------------------------

/// A sprint branch two commits past the baseline, a few checkpoints, a
/// metrics file, and every kind of uncommitted change (`dirty_everything`).
fn sprint_template() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    for (n, day) in ["20261101_090000", "20261110_090000", "20261115_090000"]
        .iter()
        .enumerate()
    {
        repo.git(&[
            "tag",
            "-a",
            &format!("checkpoint-{day}"),
            "-m",
            &format!("cp {n}"),
        ]);
    }
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);
    repo.git(&["checkout", "-q", "-b", "refactor/sprint-3"]);
    repo.write("src/feature.rs", "pub fn feature() -> u8 {\n    7\n}\n");
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.commit_all("sprint: half-done refactor");
    repo.write("feature/flag.txt", "on\n");
    repo.remove("link");
    repo.commit_all("sprint: wire the feature in");
    repo.tool_ok(&[
        "metrics",
        "record",
        "--sprint",
        "2",
        "--severity",
        "low",
        "--cause",
        "flaky",
        "--minutes",
        "3",
    ]);
    dirty_everything(&repo);
    repo
}

/// A clean repository with a baseline, ready for `sprint start`.
fn clean_template() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);
    repo
}

/// `main` and a `failed` branch; with `conflict`, its second commit
/// conflicts with `main`. Untracked and ignored files lie around.
fn recover_template(conflict: bool) -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["tag", "-a", "baseline", "-m", "known good", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "failed"]);
    repo.write("src/a.rs", "pub const A: u8 = 1;\n");
    repo.commit_all("add a");
    repo.write("README.md", "# Demo project\n\nThe sprint's wording.\n");
    repo.commit_all("readme: the sprint's wording");
    repo.write("src/c.rs", "pub const C: u8 = 3;\n");
    repo.remove("docs/guide.md");
    repo.commit_all("add c, drop the guide");
    repo.git(&["checkout", "-q", "main"]);
    if conflict {
        repo.write("README.md", "# Demo project\n\nMain's wording.\n");
        repo.commit_all("main: wording");
    }
    repo.write("scratch/notes.txt", "my notes\n");
    repo.write("debug.log", "ignored log\n");
    repo.mkdir("empty/dir");
    repo
}

/// A recovery stopped at its conflict (exit 3).
fn stopped_recovery() -> TestRepo {
    let repo = recover_template(true);
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    repo
}

// ----- one test per command ------------------------------------------------------------

#[test]
fn emergency_killed_at_every_step() {
    let t = sprint_template();
    kill_at_every_point(&t, &["emergency", "--to", "baseline"], 0);
}

#[test]
fn emergency_clean_ignored_killed_at_every_step() {
    let t = sprint_template();
    let points = kill_at_every_point(&t, &["emergency", "--clean-ignored"], 0);
    assert!(points.iter().any(|p| p == "before-move"), "{points:?}");
}

#[test]
fn sprint_rollback_killed_at_every_step() {
    let t = sprint_template();
    let points = kill_at_every_point(&t, &["sprint", "rollback"], 0);
    assert!(points.iter().any(|p| p == "after-reports"), "{points:?}");
    assert!(points.iter().any(|p| p == "after-metrics"), "{points:?}");
}

#[test]
fn sprint_start_killed_at_every_step() {
    let t = clean_template();
    kill_at_every_point(&t, &["sprint", "start", "4", "--no-tests"], 0);
}

#[test]
fn sprint_finish_killed_at_every_step() {
    let t = clean_template();
    t.git(&["checkout", "-q", "-b", "refactor/sprint-5"]);
    t.write("src/feature.rs", "pub fn feature() {}\n");
    t.commit_all("sprint 5: the feature");
    kill_at_every_point(&t, &["sprint", "finish"], 0);
}

#[test]
fn files_killed_at_every_step() {
    let t = sprint_template();
    kill_at_every_point(&t, &["files", "src", "docs", "bin", "--no-tests"], 0);
}

#[test]
fn files_delete_new_killed_at_every_step() {
    let t = sprint_template();
    kill_at_every_point(
        &t,
        &["files", "src", "feature", "--delete-new", "--no-tests"],
        0,
    );
}

#[test]
fn checkpoints_killed_at_every_step() {
    let t = sprint_template();
    kill_at_every_point(&t, &["checkpoint", "-m", "before lunch"], 0);
    kill_at_every_point(&t, &["checkpoint", "--wip"], 0);
    kill_at_every_point(&t, &["checkpoint", "prune", "--keep", "1"], 0);
}

#[test]
fn baseline_set_killed_at_every_step() {
    let t = sprint_template();
    kill_at_every_point(&t, &["baseline", "set", "--force"], 0);
}

/// `metrics record` changes nothing but `metrics.json`, which it replaces
/// atomically (temporary file, then rename) and which no undo reverts (I8):
/// killed anywhere, the file holds the old entries or the new one, never a
/// torn document, and nothing else changed.
#[test]
fn metrics_record_killed_at_every_step() {
    let t = sprint_template();
    let args = [
        "metrics",
        "record",
        "--sprint",
        "3",
        "--severity",
        "high",
        "--cause",
        "tests",
        "--minutes",
        "5",
    ];
    let before = State::of(&t);
    let list = t.tmp_dir().join("metrics-points.txt");
    let probe = t.copy();
    probe
        .tool_with_env(&args, &[(FAULT, &format!("list:{}", list.display()))])
        .assert_ok();
    let points: Vec<String> = std::fs::read_to_string(&list)
        .expect("the fault points were listed")
        .lines()
        .map(str::to_string)
        .collect();
    assert!(points.iter().any(|p| p == "after-metrics"), "{points:?}");
    for (i, name) in points.iter().enumerate() {
        let (repo, what) = killed_at(&t, &args, i + 1, name);
        assert_no_interruption(&repo, &what);
        assert_same(&before, &State::of(&repo), false, &what);
        let n = counted_metrics(&repo);
        assert!(n == 1 || n == 2, "{what}: {n} entries");
        let leftovers: Vec<_> = std::fs::read_dir(repo.abs("rollbacks"))
            .expect("the reports folder")
            .filter_map(|e| e.ok())
            // The tool's own `.gitignore` keeps the folder out of `git
            // status`: not a leftover of an interrupted write.
            .filter(|e| e.file_name() != "metrics.json" && e.file_name() != ".gitignore")
            .map(|e| e.file_name())
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
    }
}

#[test]
fn recover_killed_at_every_step() {
    let t = recover_template(false);
    let points = kill_at_every_point(&t, &["recover", "failed", "--all", "--no-tests"], 0);
    assert!(
        points.iter().filter(|p| *p == "after-ref").count() >= 3,
        "one ref move per pick: {points:?}"
    );
}

/// `rescue restore` of a staged file lost to `reset --hard`, a dropped
/// stash entry (put back on the list) and a deleted branch, into a folder
/// of the work tree (compared, unlike the reports folder).
#[test]
fn rescue_restore_killed_at_every_step() {
    let t = clean_template();
    t.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    b + a\n}\n",
    );
    t.git(&["add", "-A"]);
    t.git(&["reset", "-q", "--hard"]);
    t.write("docs/guide.md", "# Guide\n\nStep two.\n");
    t.git(&["stash", "-q"]);
    t.git(&["stash", "drop", "-q"]);
    t.git(&["switch", "-q", "-c", "feature"]);
    t.write("feature.txt", "a feature\n");
    t.commit_all("feature");
    t.git(&["switch", "-q", "main"]);
    t.git(&["branch", "-q", "-D", "feature"]);
    let ids = crate::common::rescue_ids(&t);
    assert_eq!(ids.len(), 3, "{ids:?}");
    let mut args = vec!["rescue", "restore"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--to", "rescued", "--as-stash"]);
    let points = kill_at_every_point(&t, &args, 0);
    assert!(points.iter().any(|p| p == "after-write"), "{points:?}");
}

#[test]
fn recover_stopping_at_a_conflict_killed_at_every_step() {
    let t = recover_template(true);
    let points = kill_at_every_point(&t, &["recover", "failed", "--all", "--no-tests"], 3);
    assert!(points.iter().any(|p| p == "after-state"), "{points:?}");
}

#[test]
fn recover_continue_and_skip_killed_at_every_step() {
    let t = stopped_recovery();
    kill_at_every_point(&t, &["recover", "--skip", "--no-tests"], 0);
    t.write("README.md", "# Demo project\n\nBoth wordings.\n");
    t.git(&["add", "README.md"]);
    kill_at_every_point(&t, &["recover", "--continue", "--no-tests"], 0);
}

/// `recover --abort` undoes the recovery's operations. Killed, it leaves an
/// interrupted undo: `undo` puts back the state the abort started from (the
/// conflict, the state file), and `recover --abort` again finishes the job
/// (or, killed after its last undo, finds nothing left to abort).
#[test]
fn recover_abort_killed_at_every_step() {
    let t = recover_template(true);
    let before_recover = State::of(&t);
    t.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    let stopped = State::of(&t);
    let points = fault_points(&t, &["recover", "--abort"], 0);
    for (i, name) in points.iter().enumerate() {
        let (repo, what) = killed_at(&t, &["recover", "--abort"], i + 1, name);
        match phase(&points, i + 1) {
            Phase::BeforeJournal => {
                assert_no_interruption(&repo, &what);
                assert_same(
                    &stopped,
                    &State::after_early_kill(&repo, &what),
                    true,
                    &what,
                );
            }
            Phase::Interrupted => {
                assert_reports_interruption(&repo, &what);
                undo(&repo, &what);
                assert_same(&stopped, &State::of(&repo), false, &what);
            }
            Phase::Complete => assert_no_interruption(&repo, &what),
        }
        let again = repo.tool(&["recover", "--abort"]);
        assert!(
            again.code == 0 || again.stderr.contains("no recovery is in progress"),
            "{what}: abort again\n{again}"
        );
        assert_same(&before_recover, &State::of(&repo), false, &what);
        assert_no_index_lock(&repo, &what);
    }
}

/// A killed `undo` is an interrupted operation like any other: the next
/// `undo` undoes it, which puts back the state the killed undo started from
/// (the rollback still in place, exactly). Undoing the rollback is then
/// `undo <its id>` (a plain `undo` would now undo the latest operation, the
/// undo of the killed undo, which is a redo of the half-done state).
#[test]
fn undo_killed_at_every_step() {
    assert_eq!(undo_killed_at_every_step_of(sprint_template()), 0);
}

/// The same with an undo that writes back more paths than a journal line
/// holds: its list of paths is in a file of its own (`ops/<id>/paths`),
/// and the undo of the killed undo reads it back to put those paths back.
#[test]
fn undo_of_many_paths_killed_at_every_step() {
    let t = sprint_template();
    for n in 0..40 {
        t.write(
            format!("wide/committed-{n:02}.txt"),
            format!("sprint {n}\n"),
        );
    }
    t.commit_all("sprint: many files");
    for n in 0..40 {
        t.write(format!("wide/untracked-{n:02}.txt"), format!("new {n}\n"));
        t.write(
            format!("wide/committed-{n:02}.txt"),
            format!("edited {n}\n"),
        );
    }
    let listed = undo_killed_at_every_step_of(t);
    assert!(
        listed > 64,
        "the undo's paths are in a file of their own ({listed} listed)"
    );
}

/// Kill `undo` of an emergency at every point; returns how many paths the
/// undo listed in `ops/<id>/paths` (0: none, they fit its journal line).
fn undo_killed_at_every_step_of(t: TestRepo) -> usize {
    let before_rollback = State::of(&t);
    let emergency = t
        .tool_ok(&["--json", "emergency", "--to", "baseline"])
        .json();
    let emergency = emergency["operation_id"]
        .as_str()
        .expect("an operation id")
        .to_string();
    let rolled_back = State::of(&t);
    let points = fault_points(&t, &["undo"], 0);
    let undone_paths = {
        let repo = t.copy();
        let out = repo.tool_ok(&["--json", "undo"]).json();
        let id = out["operation_id"]
            .as_str()
            .expect("an operation id")
            .to_string();
        let paths = repo.git_dir().join("rollback/ops").join(&id).join("paths");
        std::fs::read(paths).map_or(0, |b| {
            b.split(|c| *c == 0).filter(|p| !p.is_empty()).count()
        })
    };

    for (i, name) in points.iter().enumerate() {
        let (repo, what) = killed_at(&t, &["undo"], i + 1, name);
        match phase(&points, i + 1) {
            Phase::BeforeJournal => {
                assert_no_interruption(&repo, &what);
                assert_same(
                    &rolled_back,
                    &State::after_early_kill(&repo, &what),
                    true,
                    &what,
                );
                undo(&repo, &what);
            }
            Phase::Interrupted => {
                assert_reports_interruption(&repo, &what);
                undo(&repo, &what);
                assert_no_interruption(&repo, &what);
                assert_same(&rolled_back, &State::of(&repo), false, &what);
                assert_eq!(counted_metrics(&repo), counted_metrics(&t), "{what}");
                let out = repo.tool(&["undo", &emergency]);
                assert_eq!(out.code, 0, "{what}: undo of the rollback\n{out}");
            }
            Phase::Complete => assert_no_interruption(&repo, &what),
        }
        assert_same(&before_rollback, &State::of(&repo), false, &what);
        assert_eq!(
            counted_metrics(&repo),
            counted_metrics(&t) - 1,
            "{what}: the emergency's metrics entry is marked undone"
        );
        assert_no_index_lock(&repo, &what);
    }
    undone_paths
}

// ----- a full or read-only object store while snapshotting -------------------------

/// A small tmpfs mounted over `.git/objects`, holding a copy of the
/// objects, unmounted (objects copied back) on drop. `None` where mounting
/// is not allowed.
struct SmallObjectStore {
    objects: PathBuf,
}

impl SmallObjectStore {
    fn mount(repo: &TestRepo) -> Option<SmallObjectStore> {
        let objects = repo.git_dir().join("objects");
        let saved = repo.git_dir().join("objects.saved");
        std::fs::rename(&objects, &saved).expect("move the objects");
        std::fs::create_dir(&objects).expect("a mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&objects)
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            std::fs::remove_dir(&objects).expect("remove the mount point");
            std::fs::rename(&saved, &objects).expect("put the objects back");
            return None;
        }
        let cp = std::process::Command::new("cp")
            .arg("-a")
            .arg(saved.join("."))
            .arg(&objects)
            .status()
            .expect("cp");
        assert!(cp.success());
        std::fs::remove_dir_all(&saved).expect("remove the copy");
        Some(SmallObjectStore { objects })
    }

    /// Fill the store up to `spare` bytes.
    fn fill(&self, spare: u64) {
        use std::io::Write as _;
        let path = self.objects.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0x5au8; 16 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let len = f.metadata().expect("filler size").len();
        f.set_len(len.saturating_sub(spare))
            .expect("truncate the filler");
    }

    fn remount(&self, option: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.objects)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {option}");
    }
}

impl Drop for SmallObjectStore {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.objects)
            .status();
    }
}

/// The snapshot cannot be written: the command stops before anything is
/// changed, with one line saying why, and leaves no operation to undo, no
/// lock and no `index.lock`.
#[track_caller]
fn assert_refused_before_anything(repo: &TestRepo, before: &State, args: &[&str], cause: &str) {
    let out = repo.tool(args);
    assert_eq!(out.code, 1, "{args:?}: {cause}\n{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {out}");
    assert!(lines[0].starts_with("error:"), "{out}");
    assert!(
        out.stderr.contains(cause),
        "{args:?}: the error names the cause ({cause})\n{out}"
    );
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_same(
        before,
        &State::of(repo),
        true,
        &format!("{args:?} ({cause})"),
    );
    assert_no_interruption(repo, cause);
    assert!(!repo.git_dir().join("index.lock").exists());
    let journal =
        std::fs::read_to_string(repo.git_dir().join("rollback/journal.jsonl")).unwrap_or_default();
    assert!(
        !journal.contains("\"emergency\"") && !journal.contains("\"sprint rollback\""),
        "no journal entry was begun: {journal}"
    );
}

/// A real ENOSPC: the object store is a 4 MiB tmpfs, filled so that the
/// snapshot of a 1 MiB untracked file cannot be written; then the same
/// store read-only (EROFS: an unwritable git directory, which root's
/// bypassing of permission bits cannot hide). Skipped, saying so, where
/// the sandbox does not allow mounting.
#[test]
fn snapshot_that_cannot_be_written_changes_nothing() {
    let t = sprint_template();
    let repo = t.copy();
    repo.write(
        "assets/big.bin",
        crate::common::incompressible(1, 1024 * 1024),
    );
    let Some(store) = SmallObjectStore::mount(&repo) else {
        crate::common::skip("mounting a tmpfs is not allowed here", false);
        return;
    };
    store.fill(64 * 1024);
    let before = State::of(&repo);
    for args in [
        &["emergency"][..],
        &["sprint", "rollback", "--no-tests"][..],
    ] {
        assert_refused_before_anything(&repo, &before, args, "No space left on device");
    }
    store.remount("ro");
    for args in [
        &["emergency"][..],
        &["sprint", "rollback", "--no-tests"][..],
    ] {
        assert_refused_before_anything(&repo, &before, args, "Read-only file system");
    }
    store.remount("rw");
    std::fs::remove_file(store.objects.join("filler")).expect("free the store");
    repo.tool_ok(&["emergency"]);
    repo.tool_ok(&["undo"]);
    assert_same(
        &before,
        &State::of(&repo),
        false,
        "after the store has room again",
    );
}

// ----- a file changed by another process between the snapshot and the reset ----------

/// The edits of "another process": a modified file the reset overwrites, a
/// clean tracked file it deletes, an untracked file it removes.
const LATE_EDITS: &str = "printf 'late edit\\n' > src/main.rs && printf 'late feature\\n' > src/feature.rs && printf 'late notes\\n' > notes/private.txt";

/// The edits run at an exact moment, after the snapshot and before the
/// work tree is touched (`GIT_ROLLBACK_SPRINT_FAULT_EXEC`), so the race is
/// deterministic. Nothing is lost: each changed file is moved aside instead
/// of being overwritten or removed, a warning names it, and `undo` brings
/// the new content back, the rest exactly as before.
#[test]
fn files_changed_during_a_rollback_are_kept_and_reported() {
    let t = sprint_template();
    let expected = t.copy();
    let out = std::process::Command::new("sh")
        .args(["-c", LATE_EDITS])
        .current_dir(expected.path())
        .status()
        .expect("sh");
    assert!(out.success());
    let expected = State::of(&expected);
    for args in [
        &["emergency", "--to", "baseline"][..],
        &["sprint", "rollback", "--no-tests"][..],
    ] {
        let repo = t.copy();
        let exec = format!("after-begin:{LATE_EDITS}");
        let out = repo.tool_with_env(args, &[("GIT_ROLLBACK_SPRINT_FAULT_EXEC", &exec)]);
        assert_eq!(out.code, 0, "{args:?}\n{out}");
        for path in ["src/main.rs", "src/feature.rs", "notes/private.txt"] {
            assert!(
                out.stderr
                    .lines()
                    .any(|l| l.contains(path) && l.contains("changed while")),
                "{args:?}: {path} is reported\n{out}"
            );
        }
        assert!(
            !repo.exists("src/feature.rs"),
            "{args:?}: the reset went on"
        );
        assert!(!repo.exists("notes/private.txt"), "{args:?}");
        undo(&repo, &format!("{args:?}"));
        assert_eq!(repo.read_string("src/main.rs"), "late edit\n");
        assert_eq!(repo.read_string("src/feature.rs"), "late feature\n");
        assert_eq!(repo.read_string("notes/private.txt"), "late notes\n");
        assert_same(&expected, &State::of(&repo), false, &format!("{args:?}"));
    }
}
