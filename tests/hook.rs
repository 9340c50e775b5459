//! Tests of `hook install` and `hook uninstall` (README: `hook`).
//!
//! The pattern: capture the hooks directory byte for byte, install, check
//! what is there and that real `git commit` runs behave (a staged file with
//! conflict markers is refused, a clean commit passes, a hook that was there
//! before still runs), uninstall, and check that the capture is identical
//! again. `git commit` finds the tool through `PATH`, like a user's would:
//! the directory of the binary under test is put first on the `PATH` of the
//! git process, or left out to see what the hook does without it.

use crate::common::everything;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{
    assert_same_dir, assert_same_state, capture_dir, DirState, EntryKind, RepoState, TestRepo,
    ToolOutput, TOOL_BIN,
};

const MARKER: &str = "# git-rollback-sprint pre-commit hook";
const ORIGINAL: &str = "pre-commit.rollback-sprint-orig";

/// A pre-commit hook that records each run in `<tmp>/original-ran` and
/// exits with `$ORIGINAL_HOOK_EXIT` (0 when unset).
fn recording_hook(repo: &TestRepo) -> String {
    format!(
        "#!/bin/sh\n# the team's own pre-commit hook\necho \"ran with $# args\" >> '{}'\n\
         echo 'the original hook says no' >&2\nexit ${{ORIGINAL_HOOK_EXIT:-0}}\n",
        ran_file(repo).display()
    )
}

fn ran_file(repo: &TestRepo) -> PathBuf {
    repo.tmp_dir().join("original-ran")
}

/// How many times the recording hook ran.
fn original_runs(repo: &TestRepo) -> usize {
    fs::read_to_string(ran_file(repo)).map_or(0, |s| s.lines().count())
}

const CONFLICTED: &str =
    "fn merged() {}\n<<<<<<< HEAD\nlet a = 1;\n=======\nlet a = 2;\n>>>>>>> feature\n";

fn hooks_dir(repo: &TestRepo) -> PathBuf {
    repo.git_dir().join("hooks")
}

fn write_file(path: &Path, bytes: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// `PATH` with the directory of the binary under test first.
fn path_with_tool() -> OsString {
    let dir = Path::new(TOOL_BIN).parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

/// `PATH` without any directory holding a `git-rollback-sprint`.
fn path_without_tool() -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let tool_dir = Path::new(TOOL_BIN).parent().unwrap().to_path_buf();
    std::env::join_paths(
        std::env::split_paths(&rest)
            .filter(|d| *d != tool_dir && !d.join("git-rollback-sprint").exists()),
    )
    .unwrap()
}

/// A real `git commit -q -m msg` in `dir` (the sandbox env, `PATH` as given,
/// extra variables after it). Never asserts.
fn git_commit(
    repo: &TestRepo,
    dir: &Path,
    msg: &str,
    path: OsString,
    envs: &[(&str, &str)],
    extra: &[&str],
) -> ToolOutput {
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    cmd.args(["commit", "-q", "-m", msg])
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("PATH", path)
        .envs(envs.iter().copied());
    let out = cmd.output().expect("run git commit");
    repo.tick();
    ToolOutput::from_output(out)
}

fn commit(repo: &TestRepo, msg: &str) -> ToolOutput {
    git_commit(repo, repo.path(), msg, path_with_tool(), &[], &[])
}

/// A repository with two commits and a baseline.
fn setup() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["baseline", "set"]);
    repo
}

#[track_caller]
fn assert_unchanged(repo: &TestRepo, before: &(RepoState, DirState)) {
    assert_same_state(&before.0, &repo.capture());
    assert_same_dir(&before.1, &capture_dir(&repo.git_dir()));
}

#[track_caller]
fn assert_refusal(out: &ToolOutput, needle: &str) {
    out.assert_code(1);
    assert!(!out.stderr.contains("panicked"), "the tool panicked\n{out}");
    let err = out.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "expected a one-line error\n{out}");
    assert!(err.starts_with("error:"), "expected `error:`\n{out}");
    assert!(err.contains(" — "), "expected a hint\n{out}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "expected the error to mention {needle:?}\n{out}"
    );
}

#[track_caller]
fn assert_is_our_hook(path: &Path) {
    let meta =
        fs::symlink_metadata(path).unwrap_or_else(|e| panic!("no hook at {}: {e}", path.display()));
    assert!(meta.is_file(), "{} is not a file", path.display());
    assert_eq!(mode(path), 0o755, "{}", path.display());
    let text = fs::read_to_string(path).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(text.lines().any(|l| l.starts_with(MARKER)), "{text}");
    assert!(text.contains("check --hook"), "{text}");
}

// ----- install -----------------------------------------------------------------

#[test]
fn install_in_a_fresh_repository_writes_an_executable_marked_hook() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    let before = capture_dir(&hooks);
    let out = repo.tool_ok(&["--json", "hook", "install"]);
    let v = out.json();
    assert_eq!(v["ok"], true, "{out}");
    assert_eq!(v["command"], "hook");
    assert_eq!(v["hooks_dir"], hooks.display().to_string());
    assert_eq!(v["hook"], hooks.join("pre-commit").display().to_string());
    assert_eq!(v["chained"], serde_json::Value::Null);
    assert_eq!(v["already_installed"], false);
    assert_is_our_hook(&hooks.join("pre-commit"));
    // Only the hook was added.
    let after = capture_dir(&hooks);
    assert_eq!(before.diff(&after).len(), 1, "{:#?}", before.diff(&after));
    assert!(!hooks.join(ORIGINAL).exists());
}

#[test]
fn install_creates_a_missing_hooks_directory() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    if hooks.exists() {
        fs::remove_dir_all(&hooks).unwrap();
    }
    repo.tool_ok(&["hook", "install"]);
    assert_is_our_hook(&hooks.join("pre-commit"));
    assert_eq!(mode(&hooks) & 0o700, 0o700);
    // Uninstall removes what install created, and only that.
    repo.tool_ok(&["hook", "uninstall"]);
    assert!(
        !hooks.exists(),
        "the hooks directory install created is gone"
    );
}

#[test]
fn commit_with_conflict_markers_is_refused_and_a_clean_commit_passes() {
    let repo = setup();
    repo.tool_ok(&["hook", "install"]);
    let head = repo.head();

    repo.write("src/merged.rs", CONFLICTED);
    repo.git(&["add", "src/merged.rs"]);
    let out = commit(&repo, "with conflict markers");
    assert!(!out.success(), "the commit must be refused\n{out}");
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("src/merged.rs"), "names the file\n{out}");
    assert_eq!(repo.head(), head, "nothing was committed");

    repo.write("src/merged.rs", "fn merged() {}\nlet a = 2;\n");
    repo.git(&["add", "src/merged.rs"]);
    let out = commit(&repo, "resolved");
    assert!(out.success(), "a clean commit passes\n{out}");
    assert_ne!(repo.head(), head);
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "resolved");
}

#[test]
fn commit_all_checks_what_it_is_about_to_commit() {
    // `git commit -a` stages into a temporary index (GIT_INDEX_FILE) that
    // the hook must read: the markers are not in `.git/index` yet.
    let repo = setup();
    repo.tool_ok(&["hook", "install"]);
    repo.write("src/lib.rs", CONFLICTED);
    let head = repo.head();
    let out = git_commit(&repo, repo.path(), "all", path_with_tool(), &[], &["-a"]);
    assert!(!out.success(), "the commit must be refused\n{out}");
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("src/lib.rs"),
        "{out}"
    );
    assert_eq!(repo.head(), head);
}

#[test]
fn an_existing_hook_is_kept_and_still_runs() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    let theirs = recording_hook(&repo);
    write_file(&hooks.join("pre-commit"), &theirs, 0o750);

    let v = repo.tool_ok(&["--json", "hook", "install"]).json();
    let kept = hooks.join(ORIGINAL);
    assert_eq!(v["chained"], kept.display().to_string());
    assert_eq!(v["already_installed"], false);
    assert_is_our_hook(&hooks.join("pre-commit"));
    assert_eq!(
        fs::read_to_string(&kept).unwrap(),
        theirs,
        "kept byte for byte"
    );
    assert_eq!(mode(&kept), 0o750, "with its mode");

    // A clean commit: the original runs, then the check, and it passes.
    repo.write("docs/more.md", "more\n");
    repo.git(&["add", "docs/more.md"]);
    let head = repo.head();
    let out = commit(&repo, "clean");
    assert!(out.success(), "{out}");
    assert_eq!(original_runs(&repo), 1, "the original hook ran\n{out}");
    assert_ne!(repo.head(), head);

    // The original failing still fails the commit.
    repo.write("docs/more.md", "even more\n");
    repo.git(&["add", "docs/more.md"]);
    let head = repo.head();
    let out = git_commit(
        &repo,
        repo.path(),
        "refused by the original",
        path_with_tool(),
        &[("ORIGINAL_HOOK_EXIT", "1")],
        &[],
    );
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("the original hook says no"), "{out}");
    assert_eq!(original_runs(&repo), 2);
    assert_eq!(repo.head(), head);

    // And conflict markers are refused even though the original passes.
    repo.write("src/merged.rs", CONFLICTED);
    repo.git(&["add", "src/merged.rs"]);
    let out = commit(&repo, "markers");
    assert!(!out.success(), "{out}");
    assert_eq!(original_runs(&repo), 3);
    assert_eq!(repo.head(), head);
}

#[test]
fn a_failing_original_hook_fails_the_commit_before_the_check() {
    // Independent of the check itself: the original runs first.
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o700);
    repo.tool_ok(&["hook", "install"]);
    repo.write("docs/more.md", "more\n");
    repo.git(&["add", "docs/more.md"]);
    let head = repo.head();
    let out = git_commit(
        &repo,
        repo.path(),
        "no",
        path_without_tool(),
        &[("ORIGINAL_HOOK_EXIT", "7")],
        &[],
    );
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("the original hook says no"), "{out}");
    assert!(
        !out.stderr.contains("not on PATH"),
        "our part did not run after the failure\n{out}"
    );
    assert_eq!(original_runs(&repo), 1);
    assert_eq!(repo.head(), head);
}

#[test]
fn a_non_executable_hook_is_kept_and_still_not_run() {
    // git ignores a hook that is not executable; chaining it changes nothing.
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o644);
    let before = capture_dir(&hooks);
    repo.tool_ok(&["hook", "install"]);
    assert_eq!(mode(&hooks.join(ORIGINAL)), 0o644);
    repo.write("docs/more.md", "more\n");
    repo.git(&["add", "docs/more.md"]);
    let out = git_commit(
        &repo,
        repo.path(),
        "clean",
        path_with_tool(),
        &[("ORIGINAL_HOOK_EXIT", "1")],
        &[],
    );
    assert!(out.success(), "{out}");
    assert_eq!(original_runs(&repo), 0);
    repo.tool_ok(&["hook", "uninstall"]);
    assert_same_dir(&before, &capture_dir(&hooks));
}

#[test]
fn install_twice_changes_nothing() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o750);
    repo.tool_ok(&["hook", "install"]);
    let before = everything(&repo);
    let hooks_before = capture_dir(&hooks);

    let out = repo.tool_ok(&["hook", "install"]);
    out.assert_stdout_contains("already installed");
    assert_same_dir(&hooks_before, &capture_dir(&hooks));
    assert_unchanged(&repo, &before);

    let v = repo.tool_ok(&["--json", "hook", "install"]).json();
    assert_eq!(v["already_installed"], true);
    assert_eq!(v["chained"], hooks.join(ORIGINAL).display().to_string());
    assert_same_dir(&hooks_before, &capture_dir(&hooks));

    // --force on an untouched hook changes nothing either.
    repo.tool_ok(&["hook", "install", "--force"]);
    assert_same_dir(&hooks_before, &capture_dir(&hooks));
}

// ----- uninstall ---------------------------------------------------------------

#[test]
fn uninstall_restores_the_original_byte_for_byte_with_its_mode() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o750);
    let before = capture_dir(&hooks);
    repo.tool_ok(&["hook", "install"]);
    assert_ne!(before, capture_dir(&hooks));
    let v = repo.tool_ok(&["--json", "hook", "uninstall"]).json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["restored"], true);
    assert_same_dir(&before, &capture_dir(&hooks));
    assert_eq!(mode(&hooks.join("pre-commit")), 0o750);
}

#[test]
fn uninstall_removes_the_hook_when_there_was_none() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    let before = capture_dir(&hooks);
    repo.tool_ok(&["hook", "install"]);
    let v = repo.tool_ok(&["--json", "hook", "uninstall"]).json();
    assert_eq!(v["restored"], false);
    assert!(!hooks.join("pre-commit").exists());
    assert_same_dir(&before, &capture_dir(&hooks));
    // Installing and uninstalling again round-trips too.
    repo.tool_ok(&["hook", "install"]);
    repo.tool_ok(&["hook", "uninstall"]);
    assert_same_dir(&before, &capture_dir(&hooks));
}

#[test]
fn uninstall_without_install_is_an_error_and_changes_nothing() {
    let repo = setup();
    let before = everything(&repo);
    let out = repo.tool(&["hook", "uninstall"]);
    assert_refusal(&out, "not installed");
    assert_unchanged(&repo, &before);

    let out = repo.tool(&["--json", "hook", "uninstall"]);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "hook");
    assert_eq!(v["error"]["exit_code"], 1);
    assert_unchanged(&repo, &before);

    // Someone else's hook is not ours to remove.
    write_file(
        &hooks_dir(&repo).join("pre-commit"),
        &recording_hook(&repo),
        0o755,
    );
    let before = everything(&repo);
    assert_refusal(&repo.tool(&["hook", "uninstall"]), "not installed");
    assert_unchanged(&repo, &before);
}

#[test]
fn uninstall_refuses_an_edited_hook_without_force() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o750);
    let original = capture_dir(&hooks);
    repo.tool_ok(&["hook", "install"]);
    let hook = hooks.join("pre-commit");
    let mut text = fs::read_to_string(&hook).unwrap();
    text.push_str("# my local tweak\n");
    fs::write(&hook, text).unwrap();

    // install notices and leaves it alone
    let before = everything(&repo);
    let out = repo.tool_ok(&["hook", "install"]);
    out.assert_stdout_contains("already installed");
    out.assert_stderr_contains("--force");
    assert_unchanged(&repo, &before);

    assert_refusal(&repo.tool(&["hook", "uninstall"]), "changed");
    assert_unchanged(&repo, &before);

    repo.tool_ok(&["hook", "uninstall", "--force"]);
    assert_same_dir(&original, &capture_dir(&hooks));
}

#[test]
fn install_force_rewrites_an_edited_hook_and_keeps_the_chain() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o750);
    let original = capture_dir(&hooks);
    repo.tool_ok(&["hook", "install"]);
    let installed = capture_dir(&hooks);
    let hook = hooks.join("pre-commit");
    fs::write(&hook, fs::read_to_string(&hook).unwrap() + "# tweak\n").unwrap();
    repo.tool_ok(&["hook", "install", "--force"]);
    assert_same_dir(&installed, &capture_dir(&hooks));
    repo.tool_ok(&["hook", "uninstall"]);
    assert_same_dir(&original, &capture_dir(&hooks));
}

// ----- where the hooks are -----------------------------------------------------

#[test]
fn core_hooks_path_absolute_is_honoured() {
    let repo = setup();
    let default_before = capture_dir(&hooks_dir(&repo));
    let shared = repo.root().join("shared-hooks");
    repo.git(&["config", "core.hooksPath", shared.to_str().unwrap()]);

    let v = repo.tool_ok(&["--json", "hook", "install"]).json();
    assert_eq!(v["hooks_dir"], shared.display().to_string());
    assert_is_our_hook(&shared.join("pre-commit"));
    assert_same_dir(&default_before, &capture_dir(&hooks_dir(&repo)));

    // git runs it from there: without the tool on PATH the commit stops.
    repo.write("docs/more.md", "more\n");
    repo.git(&["add", "docs/more.md"]);
    let head = repo.head();
    let out = git_commit(&repo, repo.path(), "x", path_without_tool(), &[], &[]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("not on PATH"), "{out}");
    assert_eq!(repo.head(), head);

    // Uninstall removes the directory install created.
    repo.tool_ok(&["hook", "uninstall"]);
    assert!(!shared.exists());
    assert_same_dir(&default_before, &capture_dir(&hooks_dir(&repo)));
}

#[test]
fn core_hooks_path_with_a_tilde_is_expanded() {
    let repo = setup();
    repo.git(&["config", "core.hooksPath", "~/my-hooks"]);
    let v = repo.tool_ok(&["--json", "hook", "install"]).json();
    let expected = repo.home().join("my-hooks");
    assert_eq!(v["hooks_dir"], expected.display().to_string());
    assert_is_our_hook(&expected.join("pre-commit"));
}

#[test]
fn core_hooks_path_relative_is_the_work_tree_root() {
    let repo = setup();
    repo.write(".gitignore", "*.log\ntarget/\n.env\nlocal-hooks/\n");
    repo.commit_all("ignore local hooks");
    let default_before = capture_dir(&hooks_dir(&repo));
    repo.git(&["config", "core.hooksPath", "local-hooks"]);

    // From a subdirectory too: relative to the root, as git runs hooks there.
    let out = repo.tool_in(&repo.abs("src"), &["--json", "hook", "install"]);
    out.assert_ok();
    let v = out.json();
    let dir = repo.path().join("local-hooks");
    assert_eq!(v["hooks_dir"], dir.display().to_string());
    assert_is_our_hook(&dir.join("pre-commit"));
    assert!(!repo.exists("src/local-hooks"));
    assert_same_dir(&default_before, &capture_dir(&hooks_dir(&repo)));

    repo.write("src/merged.rs", CONFLICTED);
    repo.git(&["add", "src/merged.rs"]);
    let head = repo.head();
    let out = git_commit(&repo, repo.path(), "x", path_without_tool(), &[], &[]);
    assert!(
        out.stderr.contains("not on PATH"),
        "git ran our hook\n{out}"
    );
    assert_eq!(repo.head(), head);
    let out = commit(&repo, "markers");
    assert!(!out.success(), "{out}");
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("src/merged.rs"),
        "{out}"
    );
    assert_eq!(repo.head(), head);

    repo.tool_ok(&["hook", "uninstall"]);
    assert!(!dir.exists());
}

#[test]
fn a_hooks_directory_in_the_work_tree_needs_force() {
    let repo = setup();
    repo.write_exec(".githooks/pre-commit", "#!/bin/sh\nexit 0\n");
    repo.commit_all("shared hooks");
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let before = everything(&repo);
    assert_refusal(&repo.tool(&["hook", "install"]), "--force");
    assert_unchanged(&repo, &before);

    repo.tool_ok(&["hook", "install", "--force"]);
    assert_is_our_hook(&repo.abs(".githooks/pre-commit"));
    repo.tool_ok(&["hook", "uninstall"]);
    assert_unchanged(&repo, &before);
}

#[test]
fn a_linked_worktree_installs_into_the_common_hooks_directory() {
    let repo = setup();
    repo.git(&["worktree", "add", "-q", "-b", "wt", "../wt", "HEAD"]);
    let wt = repo.root().join("wt");
    let hooks = hooks_dir(&repo);
    let before = capture_dir(&hooks);

    let out = repo.tool_in(&wt, &["--json", "hook", "install"]);
    out.assert_ok();
    assert_eq!(out.json()["hooks_dir"], hooks.display().to_string());
    assert_is_our_hook(&hooks.join("pre-commit"));
    assert!(!repo.git_dir().join("worktrees/wt/hooks").exists());

    // A commit in the linked worktree runs it.
    fs::write(wt.join("merged.rs"), CONFLICTED).unwrap();
    repo.git_in(&wt, &["add", "merged.rs"]);
    let head = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    let out = git_commit(&repo, &wt, "x", path_without_tool(), &[], &[]);
    assert!(out.stderr.contains("not on PATH"), "{out}");
    let out = git_commit(&repo, &wt, "markers", path_with_tool(), &[], &[]);
    assert!(!out.success(), "{out}");
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("merged.rs"),
        "{out}"
    );
    assert_eq!(repo.git_in(&wt, &["rev-parse", "HEAD"]), head);

    // Installed from the main work tree it is already there.
    repo.tool_ok(&["hook", "install"])
        .assert_stdout_contains("already installed");
    repo.tool_in(&wt, &["hook", "uninstall"]).assert_ok();
    assert_same_dir(&before, &capture_dir(&hooks));
}

// ----- dry run, odd hooks, the missing binary ------------------------------------

#[test]
fn dry_run_changes_nothing() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o750);
    let before = everything(&repo);

    let out = repo.tool_ok(&["--dry-run", "hook", "install"]);
    out.assert_stdout_contains("Would:");
    out.assert_stdout_contains(ORIGINAL);
    assert_unchanged(&repo, &before);

    let v = repo.tool_ok(&["--json", "-n", "hook", "install"]).json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["already_installed"], false);
    assert_eq!(v["chained"], hooks.join(ORIGINAL).display().to_string());
    assert!(v["plan"].as_array().is_some_and(|p| !p.is_empty()), "{v}");
    assert_unchanged(&repo, &before);

    repo.tool_ok(&["hook", "install"]);
    let installed = everything(&repo);
    let out = repo.tool_ok(&["--dry-run", "hook", "uninstall"]);
    out.assert_stdout_contains("Would:");
    assert_unchanged(&repo, &installed);
}

#[test]
fn a_symlinked_hook_is_kept_as_the_same_link_and_still_runs() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    // A team script kept in the repository, linked as the hook.
    repo.write_exec(
        "scripts/pre-commit.sh",
        "#!/bin/sh\necho 'the team script says no' >&2\nexit 1\n",
    );
    repo.commit_all("team hook script");
    fs::create_dir_all(&hooks).unwrap();
    std::os::unix::fs::symlink("../../scripts/pre-commit.sh", hooks.join("pre-commit")).unwrap();
    let before = capture_dir(&hooks);

    let v = repo.tool_ok(&["--json", "hook", "install"]).json();
    assert_eq!(v["chained"], hooks.join(ORIGINAL).display().to_string());
    let kept = capture_dir(&hooks);
    let link = kept.get(ORIGINAL).expect("the link is kept");
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.data, b"../../scripts/pre-commit.sh");
    assert_is_our_hook(&hooks.join("pre-commit"));

    repo.write("docs/more.md", "more\n");
    repo.git(&["add", "docs/more.md"]);
    let head = repo.head();
    let out = commit(&repo, "x");
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("the team script says no"), "{out}");
    assert_eq!(repo.head(), head);

    repo.tool_ok(&["hook", "uninstall"]);
    assert_same_dir(&before, &capture_dir(&hooks));
}

#[test]
fn a_hook_that_is_a_directory_needs_force_and_is_kept() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join("pre-commit/notes.txt"), "odd\n", 0o644);
    let before = everything(&repo);
    let hooks_before = capture_dir(&hooks);
    assert_refusal(&repo.tool(&["hook", "install"]), "directory");
    assert_unchanged(&repo, &before);

    repo.tool_ok(&["hook", "install", "--force"]);
    assert_is_our_hook(&hooks.join("pre-commit"));
    assert!(hooks.join(ORIGINAL).join("notes.txt").exists());
    repo.tool_ok(&["hook", "uninstall"]);
    assert_same_dir(&hooks_before, &capture_dir(&hooks));
}

#[test]
fn a_leftover_kept_hook_is_never_overwritten() {
    let repo = setup();
    let hooks = hooks_dir(&repo);
    write_file(&hooks.join(ORIGINAL), "#!/bin/sh\nexit 0\n", 0o755);
    write_file(&hooks.join("pre-commit"), &recording_hook(&repo), 0o755);
    let before = everything(&repo);
    for args in [&["hook", "install"][..], &["hook", "install", "--force"]] {
        assert_refusal(&repo.tool(args), ORIGINAL);
        assert_unchanged(&repo, &before);
    }
}

#[test]
fn without_the_tool_on_path_the_hook_stops_the_commit_and_says_how_to_bypass() {
    let repo = setup();
    let out = repo.tool_with_env(&["hook", "install"], &[("PATH", "/usr/bin:/bin")]);
    out.assert_ok();
    out.assert_stderr_contains("not on PATH");
    repo.write("docs/more.md", "more\n");
    repo.git(&["add", "docs/more.md"]);
    let head = repo.head();
    let out = git_commit(&repo, repo.path(), "x", path_without_tool(), &[], &[]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("not on PATH"), "{out}");
    assert!(out.stderr.contains("git commit --no-verify"), "{out}");
    assert!(out.stderr.contains("hook uninstall"), "{out}");
    assert_eq!(repo.head(), head);

    let out = git_commit(
        &repo,
        repo.path(),
        "bypassed",
        path_without_tool(),
        &[],
        &["--no-verify"],
    );
    assert!(out.success(), "{out}");
    assert_ne!(repo.head(), head);
}

#[test]
fn conflict_markers_are_found_in_every_one_of_many_staged_files() {
    // Many staged files are read on two threads: the markers of a file in
    // the first half and of one in the second are all reported, in order,
    // each with its line.
    let repo = setup();
    for n in 0..120 {
        let text = if n == 3 || n == 117 {
            CONFLICTED.to_string()
        } else {
            format!("fn f{n}() {{}}\n")
        };
        repo.write(format!("src/many/f{n:03}.rs"), text);
    }
    repo.git(&["add", "src/many"]);
    let before = crate::common::everything(&repo);
    let out = repo.tool(&["--json", "check", "--hook"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let v = out.json();
    let markers: Vec<&str> = v["conflict_markers"]
        .as_array()
        .expect("a list of markers")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert_eq!(
        markers,
        [
            "src/many/f003.rs:2",
            "src/many/f003.rs:4",
            "src/many/f003.rs:6",
            "src/many/f117.rs:2",
            "src/many/f117.rs:4",
            "src/many/f117.rs:6"
        ],
        "{}",
        out.stdout
    );
    crate::common::assert_nothing_changed(&repo, &before);
}

#[test]
fn conflict_markers_are_found_in_staged_files_packed_or_loose() {
    // Blobs staged long ago may sit in a pack (after `git gc`), those just
    // added are loose files: both are read, on both threads.
    let repo = setup();
    let write = |range: std::ops::Range<usize>| {
        for n in range {
            let text = if n % 40 == 3 {
                CONFLICTED.to_string()
            } else {
                format!("fn f{n}() {{}}\n")
            };
            repo.write(format!("src/many/f{n:03}.rs"), text);
        }
    };
    write(0..60);
    repo.git(&["add", "src/many"]);
    repo.git(&["repack", "-a", "-d", "-q"]);
    let loose = repo.git(&["count-objects", "-v"]);
    write(60..120);
    repo.git(&["add", "src/many"]);
    let before = crate::common::everything(&repo);
    let out = repo.tool(&["--json", "check", "--hook"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let v = out.json();
    let files: Vec<&str> = v["conflict_markers"]
        .as_array()
        .expect("a list of markers")
        .iter()
        .filter_map(|m| m.as_str()?.split(':').next())
        .collect();
    let mut expected: Vec<String> = [3, 43, 83]
        .iter()
        .flat_map(|n| std::iter::repeat_n(format!("src/many/f{n:03}.rs"), 3))
        .collect();
    expected.sort();
    assert_eq!(files, expected, "{}", out.stdout);
    assert!(loose.contains("count: 0"), "{loose}");
    crate::common::assert_nothing_changed(&repo, &before);
}
