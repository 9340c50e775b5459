//! Tests of `recover` (README: `recover`): cherry-picking the good commits of a
//! failed sprint onto a new recovery branch, with a sequencer that survives
//! conflicts (`--continue`, `--skip`, `--abort`), and of `undo` of it.
//!
//! The yardstick is git itself: every recovery is repeated on a copy of the
//! repository with `git cherry-pick` of the same commits, on a branch of the
//! same name, with the committer date set to the tool's clock. The new
//! commits must carry the same trees, authors and messages, and the index and
//! the work tree must be the same as git leaves them, conflicts included
//! (markers, stages). `--abort` and `undo` must give back the captured state
//! before `recover` exactly.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::pty::Pty;
use crate::common::{
    assert_nothing_changed, assert_same_state, everything, RepoState, TestRepo, ToolOutput,
    USER_EMAIL, USER_NAME,
};

/// `GIT_ROLLBACK_SPRINT_NOW` of the harness (`DEFAULT_NOW`) as a name stamp.
const RECOVERY: &str = "recovery/20261121_100405";
const RECOVERY_REF: &str = "refs/heads/recovery/20261121_100405";
/// The harness clock (`DEFAULT_NOW`, 2026-11-21T10:04:05+00:00) as git
/// prints it with `--date=raw`.
const NOW_RAW: &str = "1795255445 +0000";

const ALICE: &str = "Alice Sprinter <alice@sprint.example>";
const BOB: &str = "Bob Refactor <bob@sprint.example>";

/// A test command that passes.
const PASSING_TESTS: &str = "echo 'suite: all green'; echo '6 passed'";
/// A test command that fails.
const FAILING_TESTS: &str = "echo 'suite: test_parser FAILED'; echo '5 passed, 2 failed'; exit 1";

// ----- helpers -----------------------------------------------------------------

/// Tag `rev` as the baseline, the way a team would by hand.
fn tag_baseline(repo: &TestRepo, rev: &str) {
    repo.git(&["tag", "-a", "baseline", "-m", "known good", rev]);
}

/// `git add -A` and commit as `author` (name <email>); returns the commit.
fn commit_as(repo: &TestRepo, author: &str, msg: &str) -> String {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--author", author, "-m", msg]);
    repo.head()
}

/// Run git in `repo` like a user would at the moment the tool ran: the
/// sandbox environment, without the harness's author identity, and with
/// the committer date set to the tool's clock, so that `git cherry-pick`
/// makes the very commits the tool makes.
fn git_now(repo: &TestRepo, args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(repo.path()).stdin(Stdio::null());
    repo.apply_env(&mut cmd);
    cmd.env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_AUTHOR_DATE")
        .env("GIT_COMMITTER_DATE", repo.now());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"))
}

/// [`git_now`], asserting success.
#[track_caller]
fn git_now_ok(repo: &TestRepo, args: &[&str]) {
    let out = git_now(repo, args);
    assert!(
        out.status.success(),
        "git {args:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// On a copy: create the recovery branch at `onto` and switch to it, as
/// `recover` does, then `git cherry-pick` the commits. Returns git's output.
fn git_recover(copy: &TestRepo, onto: &str, commits: &[String]) -> Output {
    copy.git(&["checkout", "-q", "-b", RECOVERY, onto]);
    let mut args = vec!["cherry-pick"];
    args.extend(commits.iter().map(String::as_str));
    git_now(copy, &args)
}

/// [`git_recover`], asserting that git picked everything.
#[track_caller]
fn git_recover_ok(copy: &TestRepo, onto: &str, commits: &[String]) {
    let out = git_recover(copy, onto, commits);
    assert!(
        out.status.success(),
        "git cherry-pick failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The commits of `range`, oldest first.
fn commits_of(repo: &TestRepo, range: &str) -> Vec<String> {
    repo.git(&["log", "--reverse", "--format=%H", range])
        .lines()
        .map(str::to_string)
        .collect()
}

/// What a recovered commit must keep, one block per commit of `range`,
/// oldest first: tree, author name, email and date, committer name and
/// email, message.
fn describe(repo: &TestRepo, range: &str) -> String {
    repo.git(&[
        "log",
        "--reverse",
        "--format=%T%n%an%n%ae%n%ad%n%cn%n%ce%n%B%x00",
        range,
    ])
}

/// Author (name, email, date) and raw message of each commit.
fn authorship(repo: &TestRepo, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| repo.git(&["log", "-1", "--format=%an%n%ae%n%ad%n%B", id]))
        .collect()
}

/// A commit's message and author, as `git log` gives them.
fn message_and_author(repo: &TestRepo, rev: &str) -> String {
    repo.git(&["log", "-1", "--format=%an <%ae> %ad%n%B", rev])
}

/// The state without the git-dir files of git's sequencer
/// (`CHERRY_PICK_HEAD`, `MERGE_MSG`, `sequencer/`), which the tool keeps in
/// its own place.
fn without_git_files(state: &RepoState) -> RepoState {
    let mut s = state.clone();
    s.git_files.retain(|name, _| name == "config");
    s
}

/// The tool's repository and git's copy are in the same state: HEAD, refs,
/// index (with conflict stages) and work tree.
#[track_caller]
fn assert_same_as_git(tool: &TestRepo, git: &TestRepo) {
    assert_same_state(
        &without_git_files(&git.capture()),
        &without_git_files(&tool.capture()),
    );
    assert_eq!(
        git.git(&["ls-files", "-s"]),
        tool.git(&["ls-files", "-s"]),
        "the index differs from git's"
    );
}

fn state_file(repo: &TestRepo) -> PathBuf {
    repo.git_dir().join("rollback").join("recover.json")
}

fn json_of(out: &ToolOutput) -> Value {
    out.json()
}

/// The `from` commits of a JSON `picked` list.
fn picked_from(v: &Value) -> Vec<String> {
    v["picked"]
        .as_array()
        .unwrap_or_else(|| panic!("no picked list in {v}"))
        .iter()
        .map(|p| p["from"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The `to` commits of a JSON `picked` list.
fn picked_to(v: &Value) -> Vec<String> {
    v["picked"]
        .as_array()
        .unwrap_or_else(|| panic!("no picked list in {v}"))
        .iter()
        .map(|p| p["to"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

// ----- fixtures ----------------------------------------------------------------

/// A repository with a baseline, a failed sprint branch `failed` of five
/// commits by two other authors (a new file, a change with a message body,
/// a rename, an exec-bit and symlink change, a binary file), and `main`
/// (checked out) one unrelated commit past the baseline. Returns the
/// sprint's commits, oldest first.
fn sprint_fixture() -> (TestRepo, Vec<String>) {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    let mut c = Vec::new();
    repo.write(
        "src/parser.rs",
        "pub fn parse(s: &str) -> usize {\n    s.len()\n}\n",
    );
    c.push(commit_as(&repo, ALICE, "parser: first cut"));
    repo.write("docs/guide.md", "# Guide\n\nStep one.\nStep two: parse.\n");
    // An author date in another time zone, kept as it is.
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "--author",
        BOB,
        "--date",
        "2026-11-19T08:30:00+05:30",
        "-m",
        "docs: the parser step\n\nExplain what the parser does,\nin two lines.",
    ]);
    c.push(repo.head());
    repo.git(&["mv", "src/main.rs", "src/app.rs"]);
    c.push(commit_as(&repo, ALICE, "rename main.rs to app.rs"));
    repo.chmod("bin/run.sh", 0o644);
    repo.symlink("link", "docs/guide.md");
    c.push(commit_as(
        &repo,
        BOB,
        "run.sh is sourced; link to the guide",
    ));
    let bytes: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    repo.write("assets/logo.bin", bytes);
    c.push(commit_as(&repo, ALICE, "add the logo"));
    repo.git(&["checkout", "-q", "main"]);
    repo.write("config/settings.toml", "[server]\nport = 9090\n");
    repo.write("NOTES.md", "Notes from main.\n");
    repo.commit_all("main: unrelated fix");
    (repo, c)
}

/// A failed branch of five commits A..E where B conflicts with `main` in
/// README.md and D in docs/guide.md; A, C and E add files. `main` is
/// checked out. Returns [A, B, C, D, E].
fn conflict_fixture() -> (TestRepo, Vec<String>) {
    let repo = TestRepo::with_commits();
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    let mut c = Vec::new();
    repo.write("src/a.rs", "pub const A: u8 = 1;\n");
    c.push(commit_as(&repo, ALICE, "add a"));
    repo.write(
        "README.md",
        "# Demo project\n\nA repository for the sprint.\n",
    );
    c.push(commit_as(&repo, BOB, "readme: the sprint's wording"));
    repo.write("src/c.rs", "pub const C: u8 = 3;\n");
    c.push(commit_as(&repo, ALICE, "add c"));
    repo.write("docs/guide.md", "# Guide\n\nStep one (sprint).\n");
    c.push(commit_as(&repo, BOB, "guide: the sprint's step"));
    repo.write("src/e.rs", "pub const E: u8 = 5;\n");
    c.push(commit_as(&repo, ALICE, "add e"));
    repo.git(&["checkout", "-q", "main"]);
    repo.write(
        "README.md",
        "# Demo project\n\nA repository for tests, on main.\n",
    );
    repo.write("docs/guide.md", "# Guide\n\nStep one (main).\n");
    repo.commit_all("main: wording");
    (repo, c)
}

/// Untracked and ignored files that must survive every recovery.
fn add_untracked(repo: &TestRepo) {
    repo.write("scratch/notes.txt", "my notes, not committed\n");
    repo.write("todo.txt", "untracked at the top\n");
    repo.write("debug.log", "ignored log\n");
    repo.write(".env", "SECRET=1\n");
    repo.mkdir("empty/dir");
}

// ----- recover --all and --pick: the same as git cherry-pick ---------------------

#[test]
fn all_gives_what_git_cherry_pick_of_the_range_gives() {
    let (repo, commits) = sprint_fixture();
    let main = repo.head();
    let copy = repo.copy();

    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(v["ok"], true, "{out}");
    assert_eq!(v["command"], "recover", "{out}");
    assert!(
        v["operation_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{out}"
    );
    assert_eq!(v["branch"], RECOVERY, "{out}");
    assert_eq!(v["onto"], main.as_str(), "{out}");
    assert_eq!(v["failed_branch"], "failed", "{out}");
    assert_eq!(
        picked_from(&v),
        commits,
        "every commit, oldest first\n{out}"
    );
    assert_eq!(v["skipped"], json!([]), "{out}");
    assert_eq!(v["remaining"], 0, "{out}");
    assert_eq!(v["conflict"], Value::Null, "{out}");
    assert_eq!(v["tests"], Value::Null, "--no-tests\n{out}");

    // On the recovery branch, made at main.
    assert_eq!(repo.git(&["symbolic-ref", "HEAD"]), RECOVERY_REF);
    let new = commits_of(&repo, &format!("{main}..HEAD"));
    assert_eq!(picked_to(&v), new, "{out}");
    assert_eq!(repo.rev(&format!("{}~5", new[4])), main);
    assert_eq!(repo.rev("main"), main, "main does not move");

    // Authors, author dates and messages kept; the committer is the user, now.
    assert_eq!(
        authorship(&repo, &new),
        authorship(&repo, &commits),
        "authors and messages"
    );
    for id in &new {
        assert_eq!(
            repo.git(&["log", "-1", "--date=raw", "--format=%cn <%ce> %cd", id]),
            format!("{USER_NAME} <{USER_EMAIL}> {NOW_RAW}")
        );
    }

    // git cherry-pick of the same range on the copy gives the same commits,
    // the same index and the same work tree.
    git_recover_ok(&copy, "main", &[String::from("baseline..failed")]);
    assert_eq!(
        describe(&copy, "main..HEAD"),
        describe(&repo, "main..HEAD"),
        "trees, authors, messages"
    );
    assert_eq!(
        commits_of(&copy, "main..HEAD"),
        new,
        "the very same commits as git's"
    );
    assert_same_as_git(&repo, &copy);
    assert!(!state_file(&repo).exists(), "no sequencer state is left");
}

#[test]
fn pick_takes_the_commits_in_history_order_like_git() {
    let (repo, c) = sprint_fixture();
    let main = repo.head();
    let copy = repo.copy();

    // Given out of order, one of them abbreviated.
    let out = repo.tool(&[
        "--json",
        "recover",
        "failed",
        "--no-tests",
        "--pick",
        &c[3],
        &c[0][..10],
        &c[1],
    ]);
    out.assert_ok();
    let v = json_of(&out);
    let want = vec![c[0].clone(), c[1].clone(), c[3].clone()];
    assert_eq!(picked_from(&v), want, "in history order\n{out}");
    assert_eq!(v["skipped"], json!([]), "{out}");
    let new = commits_of(&repo, &format!("{main}..HEAD"));
    assert_eq!(picked_to(&v), new, "{out}");
    assert_eq!(authorship(&repo, &new), authorship(&repo, &want));

    git_recover_ok(&copy, "main", &want);
    assert_eq!(
        describe(&copy, "main..HEAD"),
        describe(&repo, "main..HEAD"),
        "trees, authors, messages"
    );
    assert_eq!(commits_of(&copy, "main..HEAD"), new);
    assert_same_as_git(&repo, &copy);
}

#[test]
fn all_skips_merges_and_changes_already_on_the_target() {
    let (repo, c) = sprint_fixture();
    // A side branch merged into the failed branch: its commit is picked,
    // the merge is not.
    repo.git(&["checkout", "-q", "-b", "side", &c[1]]);
    repo.write("side.txt", "from the side branch\n");
    let side = commit_as(&repo, BOB, "side: a file");
    repo.git(&["checkout", "-q", "failed"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let merge = repo.head();
    // c[2] (the rename) is already on main, cherry-picked by hand.
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["cherry-pick", &c[2]]);
    let main = repo.head();
    let copy = repo.copy();

    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    let v = json_of(&out);
    let picked = picked_from(&v);
    assert!(!picked.contains(&merge), "the merge is not picked\n{out}");
    assert!(!picked.contains(&c[2]), "already on main\n{out}");
    assert!(picked.contains(&side), "{out}");
    assert_eq!(picked.len(), 5, "{out}");
    assert_eq!(v["skipped"], json!([]), "{out}");
    // The same commits as git's revision walk without merges, parents
    // before children.
    let mut want: Vec<String> = copy
        .git(&["rev-list", "--no-merges", "baseline..failed"])
        .lines()
        .filter(|id| *id != c[2])
        .map(str::to_string)
        .collect();
    want.sort();
    let mut got = picked.clone();
    got.sort();
    assert_eq!(got, want, "{out}");
    let pos = |id: &str| picked.iter().position(|p| p == id).unwrap();
    assert!(pos(&c[0]) < pos(&c[1]) && pos(&c[1]) < pos(&side), "{out}");
    assert!(pos(&c[1]) < pos(&c[3]) && pos(&c[3]) < pos(&c[4]), "{out}");

    git_recover_ok(&copy, &main, &picked);
    assert_eq!(describe(&copy, "main..HEAD"), describe(&repo, "main..HEAD"));
    assert_same_as_git(&repo, &copy);

    // Naming the merge is refused.
    let other = copy.copy();
    other.git(&["checkout", "-q", "main"]);
    other.git(&["branch", "-D", "-q", RECOVERY]);
    let before = everything(&other);
    let out = other.tool(&["recover", "failed", "--no-tests", "--pick", &merge]);
    out.assert_code(1);
    assert!(out.stderr.contains("merge"), "{out}");
    assert_nothing_changed(&other, &before);
}

#[test]
fn pick_of_a_change_already_on_the_target_is_listed_as_skipped() {
    let (repo, c) = sprint_fixture();
    repo.git(&["cherry-pick", &c[0]]);
    let main = repo.head();
    let out = repo.tool(&[
        "--json",
        "recover",
        "failed",
        "--no-tests",
        "--pick",
        &c[0],
        &c[4],
    ]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(picked_from(&v), vec![c[4].clone()], "{out}");
    assert_eq!(strings(&v["skipped"]), vec![c[0].clone()], "{out}");
    assert_eq!(commits_of(&repo, &format!("{main}..HEAD")).len(), 1);
    let human = repo.copy();
    human.git(&["checkout", "-q", "main"]);
    human.git(&["branch", "-D", "-q", RECOVERY]);
    let out = human.tool(&["recover", "failed", "--no-tests", "--pick", &c[0], &c[4]]);
    out.assert_ok();
    assert!(
        out.stdout.contains("skipped") && out.stdout.contains(&c[0][..7]),
        "{out}"
    );
}

#[test]
fn onto_makes_the_branch_at_another_commit() {
    let (repo, c) = sprint_fixture();
    // An older commit: the baseline's parent is not the default HEAD.
    repo.git(&["tag", "release", "main~1"]);
    let release = repo.rev("release^{commit}");
    let copy = repo.copy();

    let out = repo.tool(&[
        "--json",
        "recover",
        "failed",
        "--all",
        "--no-tests",
        "--onto",
        "release",
    ]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(v["onto"], release.as_str(), "{out}");
    assert_eq!(repo.git(&["symbolic-ref", "HEAD"]), RECOVERY_REF);
    let new = commits_of(&repo, &format!("{release}..HEAD"));
    assert_eq!(new.len(), 5);
    assert_eq!(repo.rev(&format!("{}~5", new[4])), release);

    git_recover_ok(&copy, "release", &c);
    assert_eq!(
        describe(&copy, "release..HEAD"),
        describe(&repo, "release..HEAD")
    );
    assert_same_as_git(&repo, &copy);
}

// ----- refusals --------------------------------------------------------------------

#[test]
fn refusals_change_nothing() {
    let (repo, c) = sprint_fixture();
    let main = repo.head();
    repo.git(&["branch", "nothing-new", "baseline"]);

    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "recover".into(),
                "failed".into(),
                "--pick".into(),
                "0123456789abcdef".into(),
            ],
            "0123456789abcdef",
        ),
        (
            vec![
                "recover".into(),
                "failed".into(),
                "--pick".into(),
                main.clone(),
            ],
            &main[..7],
        ),
        (
            vec![
                "recover".into(),
                "failed".into(),
                "--pick".into(),
                "baseline".into(),
            ],
            "baseline",
        ),
        (
            vec!["recover".into(), "no-such-branch".into(), "--all".into()],
            "no-such-branch",
        ),
        (
            vec![
                "recover".into(),
                "failed".into(),
                "--all".into(),
                "--onto".into(),
                "nope".into(),
            ],
            "nope",
        ),
    ];
    for (args, named) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = everything(&repo);
        let out = repo.tool(&args);
        out.assert_code(1);
        assert!(
            out.stderr.contains(named),
            "{args:?}: the error names {named}\n{out}"
        );
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert_nothing_changed(&repo, &before);

        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(&args);
        let out = repo.tool(&json_args);
        let v = json_of(&out);
        assert_eq!(v["ok"], false, "{args:?}\n{out}");
        assert_eq!(v["command"], "recover", "{args:?}\n{out}");
        assert_eq!(v["error"]["exit_code"], 1, "{args:?}\n{out}");
        assert_nothing_changed(&repo, &before);
    }
    assert_eq!(c.len(), 5);
    // A branch with nothing new is not a mistake: nothing to do
    // (docs/invariants.md, I11).
    let before = everything(&repo);
    let out = repo.tool(&["recover", "nothing-new", "--all"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("Nothing to do") && out.stdout.contains("nothing-new"),
        "{out}"
    );
    assert_nothing_changed(&repo, &before);
}

#[test]
fn a_missing_baseline_is_refused() {
    let (repo, _) = sprint_fixture();
    repo.git(&["tag", "-d", "baseline"]);
    let before = everything(&repo);
    let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_code(1);
    assert!(out.stderr.contains("baseline"), "{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn uncommitted_changes_to_tracked_files_are_refused() {
    for case in ["modified", "staged", "deleted"] {
        let (repo, _) = sprint_fixture();
        match case {
            "modified" => repo.write("README.md", "changed, not committed\n"),
            "staged" => {
                repo.write("src/new.rs", "pub const NEW: u8 = 1;\n");
                repo.git(&["add", "src/new.rs"]);
            }
            _ => repo.remove("docs/guide.md"),
        }
        let before = everything(&repo);
        let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
        out.assert_code(1);
        assert!(out.stderr.contains("uncommitted"), "{case}\n{out}");
        assert_nothing_changed(&repo, &before);
    }
}

#[test]
fn without_a_terminal_or_a_choice_it_names_the_flags_at_once() {
    let (repo, _) = sprint_fixture();
    let before = everything(&repo);
    let started = Instant::now();
    let out = repo.tool(&["recover", "failed"]);
    let took = started.elapsed();
    out.assert_code(2);
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: it must not wait for input"
    );
    assert!(
        out.stderr.contains("--all") && out.stderr.contains("--pick"),
        "the error names --all and --pick\n{out}"
    );
    assert_nothing_changed(&repo, &before);

    // Input on a pipe is not a terminal either.
    let out = repo.tool_with_stdin(&["recover", "failed"], b"y\n \n\n");
    out.assert_code(2);
    assert_nothing_changed(&repo, &before);

    let out = repo.tool(&["--json", "recover", "failed"]);
    let v = json_of(&out);
    assert_eq!(v["ok"], false, "{out}");
    assert_eq!(v["error"]["exit_code"], 2, "{out}");
    assert_nothing_changed(&repo, &before);
}

// ----- dry run, untracked files, undo --------------------------------------------

#[test]
fn dry_run_changes_nothing() {
    let (repo, c) = sprint_fixture();
    add_untracked(&repo);
    let before = everything(&repo);
    for flag in ["-n", "--dry-run"] {
        let out = repo.tool(&[flag, "recover", "failed", "--all", "--no-tests"]);
        out.assert_ok();
        assert!(
            out.stdout.contains(RECOVERY),
            "the plan names the branch\n{out}"
        );
        for id in &c {
            assert!(out.stdout.contains(&id[..7]), "the plan lists {id}\n{out}");
        }
        assert_nothing_changed(&repo, &before);
    }
    let out = repo.tool(&["--json", "-n", "recover", "failed", "--pick", &c[1]]);
    out.assert_ok();
    let v = json_of(&out);
    assert!(v["plan"].is_array(), "{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn untracked_and_ignored_files_survive_a_recovery_and_its_undo() {
    let (repo, _) = sprint_fixture();
    add_untracked(&repo);
    let before = repo.capture();
    let copy = repo.copy();
    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    let after = repo.capture();
    for path in [
        "scratch/notes.txt",
        "todo.txt",
        "debug.log",
        ".env",
        "empty/dir",
    ] {
        assert_eq!(
            before.files.get(path),
            after.files.get(path),
            "{path} is kept as it was"
        );
    }
    git_recover_ok(&copy, "main", &[String::from("baseline..failed")]);
    assert_same_as_git(&repo, &copy);

    let id = json_of(&out)["operation_id"].as_str().unwrap().to_string();
    repo.tool_ok(&["undo", &id]);
    assert_same_state(&before, &repo.capture());
}

#[test]
fn undo_of_a_completed_recovery_is_exact() {
    let (repo, _) = sprint_fixture();
    let before = repo.capture();
    repo.tool_ok(&["recover", "failed", "--all", "--no-tests"]);
    assert_eq!(repo.git(&["symbolic-ref", "HEAD"]), RECOVERY_REF);
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

// ----- tests after the picks ------------------------------------------------------

/// A file outside the repository where a test command counts its runs.
fn runs_file(repo: &TestRepo) -> PathBuf {
    repo.tmp_dir().join("runs.txt")
}

fn counting_command(repo: &TestRepo, then: &str) -> String {
    format!("echo run >> '{}'; {then}", runs_file(repo).display())
}

fn runs(repo: &TestRepo) -> usize {
    fs::read_to_string(runs_file(repo))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn tests_run_after_the_last_pick() {
    let (repo, _) = sprint_fixture();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, PASSING_TESTS),
    ]);
    let out = repo.tool(&["--json", "recover", "failed", "--all"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(runs(&repo), 1, "once, after the last pick\n{out}");
    assert_eq!(v["tests"]["succeeded"], true, "{out}");
    assert_eq!(v["tests"]["passed"], 6, "{out}");
}

#[test]
fn no_tests_runs_no_tests() {
    let (repo, _) = sprint_fixture();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, PASSING_TESTS),
    ]);
    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    assert_eq!(runs(&repo), 0, "{out}");
    assert_eq!(json_of(&out)["tests"], Value::Null, "{out}");
}

#[test]
fn failing_tests_exit_4_and_the_commits_stay() {
    let (repo, c) = sprint_fixture();
    let main = repo.head();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, FAILING_TESTS),
    ]);
    let out = repo.tool(&["--json", "recover", "failed", "--all"]);
    out.assert_code(4);
    let v = json_of(&out);
    assert_eq!(v["tests"]["succeeded"], false, "{out}");
    assert_eq!(v["tests"]["failed"], 2, "{out}");
    assert_eq!(runs(&repo), 1, "{out}");
    assert_eq!(repo.git(&["symbolic-ref", "HEAD"]), RECOVERY_REF);
    assert_eq!(commits_of(&repo, &format!("{main}..HEAD")).len(), c.len());
    assert_eq!(repo.git(&["status", "--porcelain"]), "", "a clean tree");
}

// ----- conflicts: stop, --continue, --skip, --abort --------------------------------

/// README.md as git leaves it when B of [`conflict_fixture`] conflicts.
fn readme_conflict(repo: &TestRepo, b: &str) -> String {
    let short = repo.git(&["rev-parse", "--short", b]);
    assert_eq!(short.len(), 7, "a small repository abbreviates to 7");
    format!(
        "# Demo project\n\n<<<<<<< HEAD\nA repository for tests, on main.\n=======\nA repository for the sprint.\n>>>>>>> {short} (readme: the sprint's wording)\n"
    )
}

/// Resolve the conflict of B (README.md) or of D (docs/guide.md) the
/// same way in any repository, and stage it.
fn resolve(repo: &TestRepo, path: &str) {
    match path {
        "README.md" => repo.write(
            "README.md",
            "# Demo project\n\nA repository for tests and for the sprint.\n",
        ),
        _ => repo.write("docs/guide.md", "# Guide\n\nStep one (main and sprint).\n"),
    }
    repo.git(&["add", "--", path]);
}

#[track_caller]
fn assert_git_stopped(out: &Output) {
    assert!(
        !out.status.success(),
        "git cherry-pick was expected to stop at a conflict\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_conflict_stops_with_exit_3_and_is_left_as_git_leaves_it() {
    let (repo, c) = conflict_fixture();
    let human = repo.copy();
    let copy = repo.copy();

    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_code(3);
    let v = json_of(&out);
    assert_eq!(v["command"], "recover", "{out}");
    assert_eq!(v["branch"], RECOVERY, "{out}");
    assert_eq!(v["conflict"]["commit"], c[1].as_str(), "{out}");
    assert_eq!(v["conflict"]["paths"], json!(["README.md"]), "{out}");
    assert_eq!(picked_from(&v), vec![c[0].clone()], "{out}");
    assert_eq!(v["remaining"], 3, "C, D and E are left\n{out}");
    assert_eq!(v["tests"], Value::Null, "{out}");

    // Without --json the message names the file and the way on.
    let out = human.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_code(3);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("README.md"), "{out}");
    assert!(text.contains("--continue"), "{out}");

    // git cherry-pick stops at the same commit, the same way.
    assert_git_stopped(&git_recover(&copy, "main", &c));
    assert_eq!(repo.read_string("README.md"), readme_conflict(&repo, &c[1]));
    assert_eq!(repo.read("README.md"), copy.read("README.md"));
    let stages = repo.git(&["ls-files", "-s", "README.md"]);
    let stages: Vec<&str> = stages.lines().map(|l| &l[48..49]).collect();
    assert_eq!(stages, ["1", "2", "3"], "conflict stages in the index");
    assert_same_as_git(&repo, &copy);
    assert_eq!(repo.git(&["symbolic-ref", "HEAD"]), RECOVERY_REF);

    // The list of what is left is kept in the git dir ...
    let state = fs::read(state_file(&repo)).expect("recover.json is written");
    let text = String::from_utf8_lossy(&state);
    for id in &c[1..] {
        assert!(
            text.contains(id.as_str()),
            "{id} is in recover.json:\n{text}"
        );
    }
    // ... and survives other commands.
    let before = repo.capture();
    repo.tool_ok(&["status"]);
    repo.tool_ok(&["log"]);
    assert_eq!(fs::read(state_file(&repo)).unwrap(), state);
    assert_same_state(&before, &repo.capture());

    // A second recovery is refused while this one is stopped.
    let before = everything(&repo);
    let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_code(1);
    assert!(out.stderr.contains("in progress"), "{out}");
    assert_nothing_changed(&repo, &before);
}

#[test]
fn continue_after_resolving_picks_the_rest_like_git() {
    let (repo, c) = conflict_fixture();
    add_untracked(&repo);
    let copy = repo.copy();

    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    assert_git_stopped(&git_recover(&copy, "main", &c));

    // Other commands in between; the state survives.
    repo.tool_ok(&["status"]);
    repo.tool_ok(&["log"]);

    resolve(&repo, "README.md");
    resolve(&copy, "README.md");
    let out = repo.tool(&["--json", "recover", "--continue"]);
    out.assert_code(3);
    let v = json_of(&out);
    assert_eq!(v["conflict"]["commit"], c[3].as_str(), "{out}");
    assert_eq!(v["conflict"]["paths"], json!(["docs/guide.md"]), "{out}");
    assert_eq!(picked_from(&v), c[..3].to_vec(), "{out}");
    assert_eq!(v["remaining"], 1, "{out}");
    assert_git_stopped(&git_now(&copy, &["cherry-pick", "--continue"]));
    assert_same_as_git(&repo, &copy);
    // The resolution is committed with B's author and message.
    let resolved = &picked_to(&v)[1];
    assert_eq!(
        message_and_author(&repo, resolved),
        message_and_author(&repo, &c[1])
    );

    repo.tool_ok(&["log"]);
    resolve(&repo, "docs/guide.md");
    resolve(&copy, "docs/guide.md");
    let out = repo.tool(&["--json", "recover", "--continue", "--no-tests"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(picked_from(&v), c, "{out}");
    assert_eq!(v["conflict"], Value::Null, "{out}");
    assert_eq!(v["remaining"], 0, "{out}");
    git_now_ok(&copy, &["cherry-pick", "--continue"]);

    assert_eq!(
        describe(&copy, "main..HEAD"),
        describe(&repo, "main..HEAD"),
        "trees, authors, messages"
    );
    let new = commits_of(&repo, "main..HEAD");
    assert_eq!(picked_to(&v), new, "{out}");
    assert_eq!(authorship(&repo, &new), authorship(&repo, &c));
    assert_same_as_git(&repo, &copy);
    assert!(
        !state_file(&repo).exists(),
        "the sequencer state is removed"
    );
    // Nothing left to continue.
    let before = everything(&repo);
    repo.tool(&["recover", "--continue"]).assert_code(1);
    assert_nothing_changed(&repo, &before);
}

#[test]
fn continue_with_the_conflict_unresolved_refuses_and_changes_nothing() {
    let (repo, _) = conflict_fixture();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    for edit in [false, true] {
        if edit {
            // Edited but not staged: still a conflict in the index.
            repo.write("README.md", "# Demo project\n\nResolved, not added.\n");
        }
        let before = everything(&repo);
        let out = repo.tool(&["recover", "--continue"]);
        out.assert_code(3);
        assert!(out.stderr.contains("README.md"), "names the file\n{out}");
        assert_nothing_changed(&repo, &before);
        let out = repo.tool(&["--json", "recover", "--continue"]);
        let v = json_of(&out);
        assert_eq!(v["ok"], false, "{out}");
        assert_eq!(v["error"]["exit_code"], 3, "{out}");
        assert_nothing_changed(&repo, &before);
    }
}

#[test]
fn skip_says_skipped_not_already_applied() {
    let (repo, c) = conflict_fixture();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    let out = repo.tool(&["recover", "--skip"]);
    out.assert_code(3);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&c[1][..7]))
        .unwrap_or_else(|| panic!("no line names the skipped commit\n{out}"));
    assert!(
        line.contains("skipped") && line.contains("recover --skip"),
        "{out}"
    );
    assert!(!line.contains("already"), "{out}");
    let v = json_of(&repo.tool(&["--json", "recover", "--abort"]));
    assert_eq!(v["ok"], true);
}

#[test]
fn skip_drops_the_conflicting_commit_like_git() {
    let (repo, c) = conflict_fixture();
    let copy = repo.copy();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    assert_git_stopped(&git_recover(&copy, "main", &c));

    let out = repo.tool(&["--json", "recover", "--skip"]);
    out.assert_code(3);
    let v = json_of(&out);
    assert_eq!(v["conflict"]["commit"], c[3].as_str(), "{out}");
    assert_eq!(strings(&v["skipped"]), vec![c[1].clone()], "{out}");
    assert_git_stopped(&git_now(&copy, &["cherry-pick", "--skip"]));
    assert_same_as_git(&repo, &copy);

    repo.tool_ok(&["status"]);
    let out = repo.tool(&["--json", "recover", "--skip"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(
        picked_from(&v),
        vec![c[0].clone(), c[2].clone(), c[4].clone()],
        "{out}"
    );
    assert_eq!(
        strings(&v["skipped"]),
        vec![c[1].clone(), c[3].clone()],
        "{out}"
    );
    git_now_ok(&copy, &["cherry-pick", "--skip"]);
    assert_eq!(describe(&copy, "main..HEAD"), describe(&repo, "main..HEAD"));
    assert_same_as_git(&repo, &copy);
    assert!(!state_file(&repo).exists());
}

#[test]
fn abort_goes_back_to_exactly_the_state_before_recover() {
    let (repo, _) = conflict_fixture();
    add_untracked(&repo);
    let before = repo.capture();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    repo.tool_ok(&["status"]);
    let out = repo.tool(&["--json", "recover", "--abort"]);
    out.assert_ok();
    assert_same_state(&before, &repo.capture());
    assert!(!state_file(&repo).exists());
    assert!(repo.git(&["branch", "--list", RECOVERY]).trim().is_empty());
    // Nothing left to abort.
    let again = everything(&repo);
    repo.tool(&["recover", "--abort"]).assert_code(1);
    assert_nothing_changed(&repo, &again);
}

#[test]
fn abort_after_a_continue_that_stopped_again_is_exact() {
    let (repo, _) = conflict_fixture();
    add_untracked(&repo);
    let before = repo.capture();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    resolve(&repo, "README.md");
    repo.write("scratch/more.txt", "written while resolving\n");
    repo.remove("scratch/more.txt");
    repo.tool(&["recover", "--continue"]).assert_code(3);
    repo.tool_ok(&["log"]);
    repo.tool_ok(&["recover", "--abort"]);
    assert_same_state(&before, &repo.capture());
    assert!(!state_file(&repo).exists());
}

#[test]
fn dry_runs_of_continue_skip_and_abort_change_nothing() {
    let (repo, _) = conflict_fixture();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    resolve(&repo, "README.md");
    let before = everything(&repo);
    for args in [
        &["-n", "recover", "--continue"][..],
        &["-n", "recover", "--skip"],
        &["-n", "recover", "--abort"],
        &["--json", "--dry-run", "recover", "--abort"],
    ] {
        let out = repo.tool(args);
        out.assert_ok();
        assert_nothing_changed(&repo, &before);
    }
}

// ----- a long generated history --------------------------------------------------

/// A small linear congruential generator: the same history on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Exec,
    Link,
    Binary,
}

/// The files of one area of the generated work tree (`a/` or `b/`), by
/// path relative to the repository.
struct Area {
    root: &'static str,
    files: BTreeMap<String, Kind>,
}

impl Area {
    fn dirs(&self) -> Vec<String> {
        let mut dirs = std::collections::BTreeSet::new();
        for path in self.files.keys() {
            let mut p = path.as_str();
            while let Some(i) = p.rfind('/') {
                p = &p[..i];
                if p == self.root {
                    break;
                }
                dirs.insert(p.to_string());
            }
        }
        dirs.into_iter().collect()
    }

    fn of_kind(&self, kinds: &[Kind]) -> Vec<String> {
        self.files
            .iter()
            .filter(|(_, k)| kinds.contains(k))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// A directory for a new file: the area's top, one that exists, or a
    /// new one (possibly inside one that exists).
    fn place(&self, rng: &mut Lcg, serial: usize) -> String {
        let mut dirs = self.dirs();
        dirs.push(self.root.to_string());
        let dir = rng.pick(&dirs).clone();
        if rng.below(4) == 0 {
            format!("{dir}/d{serial}")
        } else {
            dir
        }
    }
}

fn text_content(rng: &mut Lcg, serial: usize) -> String {
    let lines = 3 + rng.below(8);
    (0..lines)
        .map(|i| format!("line {i} of text {serial}: {}\n", rng.next() % 1000))
        .collect()
}

fn binary_content(rng: &mut Lcg) -> Vec<u8> {
    let len = 64 + rng.below(512);
    let mut bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
    bytes[0] = 0;
    bytes
}

/// Remove the directories of `root` that became empty.
fn prune_empty_dirs(repo: &TestRepo, root: &str) {
    let top = repo.abs(root);
    for entry in walkdir::WalkDir::new(&top)
        .min_depth(1)
        .contents_first(true)
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_dir() {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

/// One random change to `area` on disk and in the model; returns its name.
fn random_change(repo: &TestRepo, rng: &mut Lcg, area: &mut Area, serial: usize) -> &'static str {
    let texts = area.of_kind(&[Kind::Text, Kind::Exec]);
    let links = area.of_kind(&[Kind::Link]);
    let all: Vec<String> = area.files.keys().cloned().collect();
    let dirs = area.dirs();
    let what = match rng.below(12) {
        0 | 1 => "add",
        2 | 3 if !texts.is_empty() => "edit",
        4 if all.len() > 6 => "delete",
        5 => "rename",
        6 if !texts.is_empty() => "chmod",
        7 => "symlink",
        8 => "binary",
        9 => "file-to-dir",
        10 if !dirs.is_empty() => "dir-to-file",
        11 if !links.is_empty() => "retarget",
        _ => "add",
    };
    match what {
        "add" => {
            let path = format!("{}/f{serial}.txt", area.place(rng, serial));
            repo.write(&path, text_content(rng, serial));
            area.files.insert(path, Kind::Text);
        }
        "edit" => {
            let path = rng.pick(&texts).clone();
            let old = repo.read_string(&path);
            let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
            let new = format!("edited in change {serial}");
            match rng.below(3) {
                0 => lines.push(new),
                1 if lines.len() > 1 => {
                    let i = rng.below(lines.len());
                    lines.remove(i);
                }
                _ => {
                    let i = rng.below(lines.len().max(1));
                    if lines.is_empty() {
                        lines.push(new);
                    } else {
                        lines[i] = new;
                    }
                }
            }
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            repo.write(&path, text);
        }
        "delete" => {
            let path = rng.pick(&all).clone();
            repo.remove(&path);
            area.files.remove(&path);
        }
        "rename" => {
            let from = rng.pick(&all).clone();
            let kind = area.files[&from];
            let to = format!("{}/moved{serial}", area.place(rng, serial));
            fs::create_dir_all(repo.abs(&to).parent().unwrap()).unwrap();
            fs::rename(repo.abs(&from), repo.abs(&to)).unwrap();
            area.files.remove(&from);
            area.files.insert(to.clone(), kind);
            if kind == Kind::Text && rng.below(2) == 0 {
                let mut text = repo.read_string(&to);
                text.push_str(&format!("renamed in change {serial}\n"));
                repo.write(&to, text);
            }
        }
        "chmod" => {
            let path = rng.pick(&texts).clone();
            let kind = if area.files[&path] == Kind::Text {
                repo.chmod(&path, 0o755);
                Kind::Exec
            } else {
                repo.chmod(&path, 0o644);
                Kind::Text
            };
            area.files.insert(path, kind);
        }
        "symlink" => {
            // A new link, or a file replaced by a link.
            let path = if rng.below(2) == 0 && !texts.is_empty() {
                rng.pick(&texts).clone()
            } else {
                format!("{}/l{serial}", area.place(rng, serial))
            };
            let target = match rng.pick(&all) {
                t if rng.below(3) > 0 => format!("../{t}"),
                _ => format!("dangling-{serial}"),
            };
            repo.symlink(&path, target);
            area.files.insert(path, Kind::Link);
        }
        "retarget" => {
            let path = rng.pick(&links).clone();
            repo.symlink(&path, format!("target-{serial}"));
        }
        "binary" => {
            let bins = area.of_kind(&[Kind::Binary]);
            let path = if !bins.is_empty() && rng.below(2) == 0 {
                rng.pick(&bins).clone()
            } else {
                format!("{}/b{serial}.bin", area.place(rng, serial))
            };
            repo.write(&path, binary_content(rng));
            area.files.insert(path, Kind::Binary);
        }
        "file-to-dir" => {
            let path = rng.pick(&all).clone();
            repo.remove(&path);
            area.files.remove(&path);
            let inner = format!("{path}/inner{serial}.txt");
            repo.write(&inner, text_content(rng, serial));
            area.files.insert(inner, Kind::Text);
        }
        "dir-to-file" => {
            let dir = rng.pick(&dirs).clone();
            let prefix = format!("{dir}/");
            let inside: Vec<String> = area
                .files
                .keys()
                .filter(|p| p.starts_with(&prefix))
                .cloned()
                .collect();
            if area.files.len() - inside.len() < 4 {
                let path = format!("{}/f{serial}.txt", area.root);
                repo.write(&path, text_content(rng, serial));
                area.files.insert(path, Kind::Text);
                return "add";
            }
            repo.remove(&dir);
            for p in &inside {
                area.files.remove(p);
            }
            repo.write(&dir, text_content(rng, serial));
            area.files.insert(dir, Kind::Text);
        }
        _ => unreachable!(),
    }
    prune_empty_dirs(repo, area.root);
    what
}

/// The starting files of an area: text, executable, symlink, binary,
/// nested directories.
fn seed_area(repo: &TestRepo, rng: &mut Lcg, root: &'static str) -> Area {
    let mut area = Area {
        root,
        files: BTreeMap::new(),
    };
    for (i, rel) in [
        "one.txt",
        "d0/x.txt",
        "d0/sub/y.txt",
        "d1/z.txt",
        "d1/w.txt",
    ]
    .iter()
    .enumerate()
    {
        let path = format!("{root}/{rel}");
        repo.write(&path, text_content(rng, 1000 + i));
        area.files.insert(path, Kind::Text);
    }
    let run = format!("{root}/run.sh");
    repo.write_exec(&run, "#!/bin/sh\necho run\n");
    area.files.insert(run, Kind::Exec);
    let link = format!("{root}/link");
    repo.symlink(&link, "one.txt");
    area.files.insert(link, Kind::Link);
    let bin = format!("{root}/data.bin");
    repo.write(&bin, binary_content(rng));
    area.files.insert(bin, Kind::Binary);
    area
}

/// A baseline, then a branch `failed` of `n` generated commits that take
/// turns between the areas `a/` and `b/` (so the commits of one area apply
/// without those of the other), by three authors; `main` (checked out) has
/// a few unrelated commits past the baseline. Returns the failed branch's
/// commits, oldest first.
fn generated_history(n: usize, seed: u64) -> (TestRepo, Vec<String>) {
    let repo = TestRepo::new();
    let mut rng = Lcg(seed);
    repo.write("README.md", "# Generated\n");
    let mut areas = [
        seed_area(&repo, &mut rng, "a"),
        seed_area(&repo, &mut rng, "b"),
    ];
    repo.commit_all("generated: the starting tree");
    tag_baseline(&repo, "HEAD");

    repo.git(&["checkout", "-q", "-b", "failed"]);
    let authors = [
        "Ada Lovelace <ada@example.com>",
        "Grace Hopper <grace@example.org>",
        "Edsger Dijkstra <ewd@example.net>",
    ];
    for i in 0..n {
        let area = &mut areas[i % 2];
        let mut names = Vec::new();
        for _ in 0..1 + rng.below(3) {
            names.push(random_change(&repo, &mut rng, area, i * 10 + names.len()));
        }
        let mut msg = format!("gen {i} in {}: {}", area.root, names.join(", "));
        if i % 7 == 0 {
            msg.push_str(&format!("\n\nThe body of change {i}.\nA second line."));
        }
        let author = authors[rng.below(authors.len())];
        repo.git(&["add", "-A"]);
        let commit = ["commit", "-q", "--author", author, "-m", &msg];
        if !repo.git_output(&commit).status.success() {
            // The changes cancelled out: make one that does not.
            let path = format!("{}/f{}.txt", area.root, i * 10 + 9);
            repo.write(&path, text_content(&mut rng, i));
            area.files.insert(path, Kind::Text);
            repo.git(&["add", "-A"]);
            repo.git(&commit);
        }
    }
    let commits = commits_of(&repo, "baseline..failed");
    assert_eq!(commits.len(), n);

    repo.git(&["checkout", "-q", "main"]);
    for i in 0..3 {
        repo.write(
            format!("other/unrelated-{i}.txt"),
            format!("unrelated {i}\n"),
        );
        repo.commit_all(&format!("main: unrelated change {i}"));
    }
    assert_eq!(
        repo.git(&[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all"
        ]),
        "",
        "the generated repository starts clean"
    );
    (repo, commits)
}

#[test]
fn a_long_generated_history_is_recovered_as_git_would() {
    let started = Instant::now();
    let (repo, commits) = generated_history(200, 0x5eed_2026);
    let generated = started.elapsed();
    let main = repo.head();

    // Every kind of change is in the history.
    let stat = repo.git(&["log", "--format=", "--summary", "-M", "baseline..failed"]);
    for what in [
        "rename ",
        "delete mode",
        "create mode 120000",
        "mode change 100644 => 100755",
        "mode change 100755 => 100644",
    ] {
        assert!(stat.contains(what), "the history has `{what}`");
    }
    let raw = repo.git(&[
        "log",
        "--format=",
        "--raw",
        "--no-renames",
        "baseline..failed",
    ]);
    assert!(
        raw.lines()
            .any(|l| l.contains(" 120000 ") && l.contains(" 100644 "))
            || raw.lines().any(|l| l.starts_with(":100644 120000")),
        "a file becomes a symlink"
    );
    let numstat = repo.git(&["log", "--format=", "--numstat", "baseline..failed"]);
    assert!(
        numstat.lines().any(|l| l.starts_with("-\t-\t")),
        "binary files"
    );

    // The commits of area a/: every other one, 100 in all.
    let chosen: Vec<String> = commits.iter().step_by(2).cloned().collect();
    assert_eq!(chosen.len(), 100);
    let copy = repo.copy();
    let all_copy = repo.copy();

    let mut args = vec!["--json", "recover", "failed", "--no-tests", "--pick"];
    // Given newest first: the order of history wins.
    args.extend(chosen.iter().rev().map(String::as_str));
    let t = Instant::now();
    let out = repo.tool(&args);
    let took = t.elapsed();
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(picked_from(&v), chosen, "{}", out.stderr);
    assert_eq!(v["skipped"], json!([]));

    git_recover_ok(&copy, &main, &chosen);
    let mine = commits_of(&repo, &format!("{main}..HEAD"));
    let gits = commits_of(&copy, &format!("{main}..HEAD"));
    assert_eq!(mine.len(), 100);
    let (a, b) = (
        describe(&repo, &format!("{main}..HEAD")),
        describe(&copy, &format!("{main}..HEAD")),
    );
    for (i, (x, y)) in a.split('\0').zip(b.split('\0')).enumerate() {
        assert_eq!(x, y, "recovered commit {i} differs from git's");
    }
    assert_eq!(mine, gits, "the same commits as git's");
    assert_same_as_git(&repo, &copy);

    // --all of the whole branch: each recovered commit is its original
    // with main's unrelated files added.
    let out = all_copy.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(picked_from(&v), commits);
    let new = picked_to(&v);
    assert_eq!(commits_of(&all_copy, &format!("{main}..HEAD")), new);
    let mut revs = Vec::new();
    for (old, new) in commits.iter().zip(&new) {
        for part in ["a", "b", "README.md"] {
            revs.push(format!("{old}:{part}"));
            revs.push(format!("{new}:{part}"));
        }
        revs.push(format!("{main}:other"));
        revs.push(format!("{new}:other"));
    }
    let mut args = vec!["rev-parse"];
    args.extend(revs.iter().map(String::as_str));
    let ids = all_copy.git(&args);
    let ids: Vec<&str> = ids.lines().collect();
    for (i, pair) in ids.chunks(2).enumerate() {
        assert_eq!(
            pair[0],
            pair[1],
            "{} and {} differ",
            revs[2 * i],
            revs[2 * i + 1]
        );
    }
    assert_eq!(
        authorship(&all_copy, &new[..20]),
        authorship(&all_copy, &commits[..20])
    );
    assert_eq!(
        all_copy.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the work tree and the index are the last commit's"
    );

    eprintln!(
        "generated 200 commits in {generated:?}; recovered 100 in {took:?}; whole test {:?}",
        started.elapsed()
    );
}

// ----- the picker on a terminal ----------------------------------------------------

#[test]
fn the_picker_on_a_terminal_recovers_exactly_the_chosen_commits() {
    let (repo, c) = sprint_fixture();
    let main = repo.head();
    let copy = repo.copy();
    let wait = Duration::from_secs(20);
    let last = "add the logo";

    let mut pty = Pty::spawn(&repo, &["recover", "failed", "--no-tests"]);
    pty.expect("Commits to recover", wait);
    pty.expect(last, wait);
    // Each key redraws the list; wait for the redraw before the next key.
    for key in [" ", "\x1b[B", "\x1b[B", " "] {
        pty.send(key);
        pty.expect(last, wait);
    }
    pty.send("\r");
    pty.expect(&format!("Recover 2 commit(s) onto {RECOVERY}?"), wait);
    pty.send("y");
    let code = pty.wait(Duration::from_secs(60));
    assert_eq!(code, 0, "{}", pty.transcript());

    let want = vec![c[0].clone(), c[2].clone()];
    let new = commits_of(&repo, &format!("{main}..HEAD"));
    assert_eq!(
        authorship(&repo, &new),
        authorship(&repo, &want),
        "the 1st and the 3rd commit\n{}",
        pty.transcript()
    );
    assert_eq!(repo.git(&["symbolic-ref", "HEAD"]), RECOVERY_REF);
    git_recover_ok(&copy, "main", &want);
    assert_eq!(describe(&copy, "main..HEAD"), describe(&repo, "main..HEAD"));
    assert_same_as_git(&repo, &copy);
}

#[test]
fn answering_no_on_the_terminal_changes_nothing() {
    let (repo, _) = sprint_fixture();
    let before = everything(&repo);
    let wait = Duration::from_secs(20);
    let mut pty = Pty::spawn(&repo, &["recover", "failed", "--no-tests"]);
    pty.expect("add the logo", wait);
    pty.send(" ");
    pty.expect("add the logo", wait);
    pty.send("\r");
    pty.expect("Recover 1 commit(s)", wait);
    pty.send("n");
    let code = pty.wait(Duration::from_secs(60));
    assert_eq!(code, 0, "{}", pty.transcript());
    assert_nothing_changed(&repo, &before);
}

/// Ctrl-C and Esc in the picker and at the confirmation: the cursor shown
/// again, one line saying so, exit 3, nothing changed.
#[test]
fn ctrl_c_or_esc_in_a_prompt_cancels_and_changes_nothing() {
    let (repo, _) = sprint_fixture();
    let before = everything(&repo);
    let wait = Duration::from_secs(20);
    for (at_confirmation, key, name) in [
        (false, "\x03", "Ctrl-C in the picker"),
        (false, "\x1b", "Esc in the picker"),
        (true, "\x03", "Ctrl-C at the confirmation"),
        (true, "\x1b", "Esc at the confirmation"),
    ] {
        let mut pty = Pty::spawn(&repo, &["recover", "failed", "--no-tests"]);
        pty.expect("add the logo", wait);
        if at_confirmation {
            pty.send(" ");
            pty.expect("add the logo", wait);
            pty.send("\r");
            pty.expect("Recover 1 commit(s)", wait);
        }
        pty.send(key);
        let code = pty.wait(Duration::from_secs(60));
        let transcript = pty.transcript();
        assert_eq!(code, 3, "{name}\n{transcript}");
        // The raw bytes, as the transcript shows them (escaped).
        let raw = transcript.split_once("--- raw").map_or("", |(_, raw)| raw);
        let shown = raw.rfind(r"\u{1b}[?25h");
        let hidden = raw.rfind(r"\u{1b}[?25l");
        assert!(
            shown.is_some() && shown > hidden,
            "{name}: the cursor is shown again\n{transcript}"
        );
        assert!(
            pty.output().contains("cancelled: nothing was changed"),
            "{name}\n{transcript}"
        );
        assert_nothing_changed(&repo, &before);
    }
}

// ----- more conflicts, --test-each, busy repositories, crashes ---------------------

/// A baseline with a binary file, a failed branch of three commits where
/// the second adds src/b.rs and conflicts with `main` on each of `kinds` ("modify/delete":
/// docs/guide.md changed there and deleted on main; "binary":
/// assets/data.bin changed on both sides; "add/add": new.txt added on both
/// sides with different content). Recovers them with the tool and with git
/// on a copy, compares the stops, resolves both the same way, continues
/// both and compares the end.
fn conflict_like_git(kinds: &[&str]) {
    let repo = TestRepo::with_commits();
    let bin: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    repo.write("assets/data.bin", &bin);
    repo.commit_all("add data");
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    repo.write("src/ok.rs", "pub const OK: u8 = 1;\n");
    let a = commit_as(&repo, ALICE, "a clean change");
    let mut sprint_bin = bin.clone();
    sprint_bin[10] = 0xaa;
    let mut main_bin = bin.clone();
    main_bin[10] = 0xbb;
    let mut paths = Vec::new();
    for kind in kinds {
        match *kind {
            "modify/delete" => {
                repo.write("docs/guide.md", "# Guide\n\nStep one, changed.\n");
                paths.push("docs/guide.md");
            }
            "binary" => {
                repo.write("assets/data.bin", &sprint_bin);
                paths.push("assets/data.bin");
            }
            "symlink" => {
                repo.remove("link");
                repo.symlink("link", "docs/sprint.md");
                paths.push("link");
            }
            _ => {
                repo.write("new.txt", "sprint's new file\nsame line\n");
                paths.push("new.txt");
            }
        }
    }
    paths.sort();
    // And a change that applies cleanly, so the commit is never empty.
    repo.write("src/b.rs", "pub const B: u8 = 2;\n");
    let b = commit_as(&repo, BOB, "conflicting change");
    repo.write("src/after.rs", "pub const AFTER: u8 = 2;\n");
    let c = commit_as(&repo, ALICE, "after the conflict");
    repo.git(&["checkout", "-q", "main"]);
    for kind in kinds {
        match *kind {
            "modify/delete" => repo.remove("docs/guide.md"),
            "binary" => repo.write("assets/data.bin", &main_bin),
            "symlink" => {
                repo.remove("link");
                repo.symlink("link", "docs/main.md");
            }
            _ => repo.write("new.txt", "main's new file\nsame line\n"),
        }
    }
    repo.commit_all("main: the other side");
    let copy = repo.copy();
    let commits = vec![a, b.clone(), c];

    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_code(3);
    let v = json_of(&out);
    assert_eq!(v["conflict"]["commit"], b.as_str(), "{out}");
    let mut named = strings(&v["conflict"]["paths"]);
    named.sort();
    assert_eq!(named, paths, "{out}");

    assert_git_stopped(&git_recover(&copy, "main", &commits));
    for path in &paths {
        if *path == "link" {
            assert_eq!(
                repo.read_link(path),
                copy.read_link(path),
                "{path} in the work tree is as git leaves it"
            );
            continue;
        }
        assert_eq!(
            repo.read(path),
            copy.read(path),
            "{path} in the work tree is as git leaves it"
        );
    }
    assert_same_as_git(&repo, &copy);

    // Resolved the same way in both: the rest is picked the same way.
    for r in [&repo, &copy] {
        for kind in kinds {
            match *kind {
                "modify/delete" => r.git(&["rm", "-q", "docs/guide.md"]),
                "binary" => {
                    r.write("assets/data.bin", &sprint_bin);
                    r.git(&["add", "assets/data.bin"])
                }
                "symlink" => {
                    r.remove("link");
                    r.symlink("link", "docs/both.md");
                    r.git(&["add", "link"])
                }
                _ => {
                    r.write("new.txt", "both new files\nsame line\n");
                    r.git(&["add", "new.txt"])
                }
            };
        }
    }
    repo.tool(&["recover", "--continue"]).assert_ok();
    git_now_ok(&copy, &["cherry-pick", "--continue"]);
    assert_eq!(describe(&copy, "main..HEAD"), describe(&repo, "main..HEAD"));
    assert_same_as_git(&repo, &copy);
}

#[test]
fn a_modify_delete_conflict_is_left_as_git_leaves_it() {
    conflict_like_git(&["modify/delete"]);
}

#[test]
fn an_add_add_conflict_is_left_as_git_leaves_it() {
    conflict_like_git(&["add/add"]);
}

#[test]
fn a_binary_conflict_is_left_as_git_leaves_it() {
    conflict_like_git(&["binary"]);
}

#[test]
fn a_symlink_conflict_is_left_as_git_leaves_it() {
    // Two symlinks cannot be merged: git keeps ours, with the three stages.
    conflict_like_git(&["symlink"]);
}

/// A file on one side and a symlink on the other ("distinct types"): git
/// moves the regular file aside to `path~HEAD` or `path~<short> (<subject>)`
/// with its stage. Compared with `git cherry-pick` on a copy at the stop,
/// after `--continue` with the same resolution, and `--abort` is exact.
fn distinct_types_like_git(ours_is_link: bool, in_baseline: bool) {
    let repo = TestRepo::with_commits();
    if in_baseline {
        repo.symlink("kind", "README.md");
        repo.commit_all("base");
    }
    tag_baseline(&repo, "HEAD");
    let side = |r: &TestRepo, link: bool, name: &str| {
        if link {
            r.symlink("kind", name);
        } else {
            r.write("kind", format!("{name}\n"));
        }
    };
    repo.git(&["checkout", "-q", "-b", "failed"]);
    side(&repo, !ours_is_link, "theirs/target");
    repo.write("src/b.rs", "pub const B: u8 = 2;\n");
    let b = commit_as(&repo, BOB, "their kind/of change");
    repo.git(&["checkout", "-q", "main"]);
    side(&repo, ours_is_link, "ours");
    repo.commit_all("main: our kind");
    let before = repo.capture();
    let copy = repo.copy();

    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_code(3);
    assert_git_stopped(&git_recover(&copy, "main", std::slice::from_ref(&b)));
    assert_same_as_git(&repo, &copy);
    let v = json_of(&out);
    let named = strings(&v["conflict"]["paths"]);
    let aside = if ours_is_link {
        format!("kind~{} (their kind_of change)", &b[..7])
    } else {
        "kind~HEAD".to_string()
    };
    assert_eq!(named, vec!["kind".to_string(), aside.clone()], "{out}");

    // Undone exactly.
    let undo_copy = repo.copy();
    undo_copy.tool(&["recover", "--abort"]).assert_ok();
    crate::common::assert_same_except_reports(&before, &undo_copy.capture());

    // Resolved the same way in both: keep the symlink, drop the file.
    for r in [&repo, &copy] {
        r.git(&["rm", "-q", "--cached", &aside]);
        r.remove(&aside);
        r.git(&["add", "kind"]);
    }
    repo.tool(&["recover", "--continue"]).assert_ok();
    git_now_ok(&copy, &["cherry-pick", "--continue"]);
    assert_eq!(describe(&copy, "main..HEAD"), describe(&repo, "main..HEAD"));
    assert_same_as_git(&repo, &copy);
}

#[test]
fn our_symlink_against_their_file_is_left_as_git_leaves_it() {
    distinct_types_like_git(true, true);
}

#[test]
fn our_file_against_their_symlink_is_left_as_git_leaves_it() {
    distinct_types_like_git(false, true);
}

#[test]
fn a_file_and_a_symlink_added_on_each_side_are_left_as_git_leaves_them() {
    distinct_types_like_git(false, false);
    distinct_types_like_git(true, false);
}

/// A conflicted `c/d` (deleted on both sides: main moved it, the sprint
/// made it a directory) next to the picked `c/d/e`: the index holds both,
/// and `--abort` must remove `c/d/e` too.
#[test]
fn a_file_that_became_a_directory_in_a_conflict_is_aborted_exactly() {
    let repo = TestRepo::with_commits();
    repo.write("c/d", "same\n");
    repo.commit_all("c/d is a file");
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    repo.remove("c/d");
    repo.write("moved.txt", "sprint\n");
    repo.write("c/d/e", "sprint\n");
    commit_as(&repo, ALICE, "c/d becomes a directory");
    repo.git(&["checkout", "-q", "main"]);
    repo.remove("c/d");
    repo.write("moved.txt", "same\n");
    repo.commit_all("main: c/d moved");
    let before = repo.capture();

    let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_code(3);
    assert!(repo.exists("c/d/e"), "{out}");
    repo.tool(&["recover", "--abort"]).assert_ok();
    crate::common::assert_same_except_reports(&before, &repo.capture());
}

#[test]
fn three_conflicts_in_one_commit_are_left_as_git_leaves_them() {
    conflict_like_git(&["modify/delete", "binary", "add/add"]);
}

#[test]
fn all_keeps_a_binary_change_that_is_not_on_the_target() {
    // main changed data.bin X -> Y; the failed branch made the same change
    // (already applied) and then Y -> Z (not applied: git cherry says +).
    let repo = TestRepo::with_commits();
    let x: Vec<u8> = (0..=255u8).collect();
    let mut y = x.clone();
    y[1] = 0xee;
    let mut z = y.clone();
    z[2] = 0xdd;
    repo.write("assets/data.bin", &x);
    repo.commit_all("add data");
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    repo.write("assets/data.bin", &y);
    let same = commit_as(&repo, ALICE, "data: Y");
    repo.write("assets/data.bin", &z);
    let next = commit_as(&repo, ALICE, "data: Z");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("assets/data.bin", &y);
    repo.commit_all("main: data Y");
    let cherry = repo.git(&["cherry", "main", "failed"]);
    assert_eq!(cherry, format!("- {same}\n+ {next}"), "git's view");
    let copy = repo.copy();

    let out = repo.tool(&["--json", "recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    let v = json_of(&out);
    assert_eq!(
        picked_from(&v),
        vec![next.clone()],
        "only the change already on main is left out\n{out}"
    );
    assert_eq!(repo.read("assets/data.bin"), z);
    git_recover_ok(&copy, "main", &[next]);
    assert_same_as_git(&repo, &copy);
}

#[test]
fn a_resolution_that_changes_nothing_is_listed_as_skipped() {
    let (repo, c) = conflict_fixture();
    repo.tool(&["recover", "failed", "--all", "--no-tests"])
        .assert_code(3);
    // Keep main's README: B brings nothing.
    repo.git(&["checkout", "HEAD", "--", "README.md"]);
    let out = repo.tool(&["--json", "recover", "--continue"]);
    out.assert_code(3);
    let v = json_of(&out);
    assert_eq!(strings(&v["skipped"]), vec![c[1].clone()], "{out}");
    assert_eq!(picked_from(&v), vec![c[0].clone(), c[2].clone()], "{out}");
    assert_eq!(v["conflict"]["commit"], c[3].as_str(), "{out}");
}

#[test]
fn test_each_runs_the_tests_after_every_pick() {
    let (repo, c) = sprint_fixture();
    repo.git(&[
        "config",
        "rollback.testCommand",
        &counting_command(&repo, PASSING_TESTS),
    ]);
    let out = repo.tool(&["--json", "recover", "failed", "--all", "--test-each"]);
    out.assert_ok();
    let n = runs(&repo);
    assert!(
        n == c.len() || n == c.len() + 1,
        "after each of the {} picks (and after the last): {n} runs\n{out}",
        c.len()
    );
    assert_eq!(json_of(&out)["tests"]["succeeded"], true, "{out}");
    assert_eq!(repo.git(&["status", "--porcelain"]), "", "{out}");
}

#[test]
fn a_busy_repository_is_refused_and_nothing_changes() {
    // git's own cherry-pick stopped at a conflict.
    let (repo, c) = conflict_fixture();
    assert_git_stopped(&git_now(&repo, &["cherry-pick", &c[1]]));
    let before = everything(&repo);
    let out = repo.tool(&["recover", "failed", "--pick", &c[0], "--no-tests"]);
    out.assert_code(1);
    assert!(out.stderr.contains("cherry-pick"), "{out}");
    assert_nothing_changed(&repo, &before);

    // Another git process holds the index.
    let (repo, _) = sprint_fixture();
    let lock = repo.git_dir().join("index.lock");
    fs::write(&lock, b"").unwrap();
    let before = everything(&repo);
    let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_code(1);
    assert!(out.stderr.contains("index.lock"), "{out}");
    assert_nothing_changed(&repo, &before);
}

/// Kill `recover` at `point`; the next command reports it and `undo`
/// restores the state before it.
fn recover_crash_at(point: &str, conflict: bool) {
    let (repo, _) = if conflict {
        conflict_fixture()
    } else {
        sprint_fixture()
    };
    add_untracked(&repo);
    let before = repo.capture();
    let out = repo.tool_with_env(
        &["recover", "failed", "--all", "--no-tests"],
        &[("GIT_ROLLBACK_SPRINT_FAULT", point)],
    );
    assert_eq!(out.code, -1, "expected a SIGKILL at {point}\n{out}");
    let status = repo.tool_ok(&["status"]);
    assert!(status.stderr.contains("interrupted"), "{point}\n{status}");
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    assert!(!repo.git_dir().join("index.lock").exists());
    // And a new recovery works.
    let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_code(if conflict { 3 } else { 0 });
}

#[test]
fn recover_killed_at_any_point_is_undone_exactly() {
    for point in ["after-begin", "after-ref", "after-index", "before-end"] {
        recover_crash_at(point, false);
    }
}

#[test]
fn recover_killed_while_stopping_at_a_conflict_is_undone_exactly() {
    for point in ["after-ref", "after-index", "before-end"] {
        recover_crash_at(point, true);
    }
}

/// A recovery that puts a symlink to a folder where a folder was (`b/`
/// becomes `b -> a`, and `a/x` is the same symlink `b/x` was): after it,
/// `b/x` resolves through the symlink to `a/x`, which looks like the old
/// `b/x`. Undo must see `b/x` as gone, not as already back, and make the
/// folder and its symlink again.
#[test]
fn undo_puts_back_a_folder_a_recovery_replaced_with_a_symlink() {
    let repo = TestRepo::new();
    repo.symlink("b/x", "x/../b");
    repo.write("c/d/e", "one\n");
    repo.commit_all("base");
    tag_baseline(&repo, "HEAD");
    repo.git(&["checkout", "-q", "-b", "failed"]);
    repo.git(&["rm", "-q", "-r", "b"]);
    repo.symlink("b", "a");
    repo.commit_all("b is a link now");
    repo.remove("b");
    repo.symlink("a/x", "x/../b");
    repo.symlink("b", "a");
    repo.commit_all("a/x as b/x was");
    repo.git(&["checkout", "-q", "main"]);
    let before = repo.capture();
    let out = repo.tool(&["recover", "failed", "--all", "--no-tests"]);
    out.assert_ok();
    assert!(
        repo.read_link("b").ends_with("a"),
        "the recovery made b a link"
    );
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
    assert_eq!(repo.read_link("b/x"), std::path::PathBuf::from("x/../b"));
}
