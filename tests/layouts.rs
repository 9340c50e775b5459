//! The repository git would use (docs/invariants.md, I10; issue 14): every
//! layout git knows — `.git` files (`--separate-git-dir`), `core.worktree`,
//! linked worktrees, submodules, `GIT_DIR`/`GIT_WORK_TREE`, ceilings, `-C`, a
//! subdirectory — is found exactly as `git rev-parse --show-toplevel
//! --absolute-git-dir` finds it in the same directory and environment, and an
//! `emergency` there and its `undo` give back the whole state while nothing
//! outside the work tree and the git directory is touched.
//!
//! Then what the environment brings: `git -c` / `GIT_CONFIG_PARAMETERS` /
//! `GIT_CONFIG_COUNT` for every `rollback.*` key, the identities and dates
//! of the commits and tags the tool writes, and the formats and
//! environment it refuses before anything changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{
    assert_same_dir, assert_same_except_reports, capture_dir, capture_repo_with_env, DirState,
    TestRepo, ToolOutput,
};

type Envs<'a> = &'a [(&'a str, &'a str)];

// ----- helpers -----------------------------------------------------------------

/// git in `dir`, in the sandbox plus `envs`; panics unless it succeeds.
#[track_caller]
fn git(repo: &TestRepo, dir: &Path, envs: Envs, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    cmd.envs(envs.iter().copied())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null());
    let out = cmd.output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    repo.tick();
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// The tool in `dir`, in the sandbox plus `envs`.
fn tool(repo: &TestRepo, dir: &Path, envs: Envs, args: &[&str]) -> ToolOutput {
    let mut cmd = repo.tool_command(args);
    cmd.current_dir(dir).envs(envs.iter().copied());
    ToolOutput::from_output(cmd.output().expect("run the tool"))
}

fn canonical(path: &str) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|e| panic!("canonicalize {path}: {e}"))
}

/// (work tree, git dir) as git sees them.
fn git_view(repo: &TestRepo, dir: &Path, envs: Envs) -> (PathBuf, PathBuf) {
    let out = git(
        repo,
        dir,
        envs,
        &["rev-parse", "--show-toplevel", "--absolute-git-dir"],
    );
    let mut lines = out.lines();
    let top = canonical(lines.next().expect("toplevel"));
    let git_dir = canonical(lines.next().expect("git dir"));
    (top, git_dir)
}

/// (work tree, git dir) as the tool sees them (`status --json`).
fn tool_view(repo: &TestRepo, dir: &Path, envs: Envs) -> (PathBuf, PathBuf) {
    let out = tool(repo, dir, envs, &["--json", "status"]);
    out.assert_ok();
    let v = out.json();
    let field = |k: &str| canonical(v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}")));
    (field("work_tree"), field("git_dir"))
}

#[track_caller]
fn assert_same_view(repo: &TestRepo, dir: &Path, envs: Envs) -> (PathBuf, PathBuf) {
    let git = git_view(repo, dir, envs);
    assert_eq!(
        tool_view(repo, dir, envs),
        git,
        "tool vs git in {}",
        dir.display()
    );
    git
}

/// Two commits in `work_tree` (the baseline tag on the first), then a
/// staged change, a modified file and an untracked file.
fn history_and_dirt(repo: &TestRepo, dir: &Path, work_tree: &Path, envs: Envs) {
    // Enough files that the rollback's writers read objects on handles of
    // their own, and staged edits in enough folders that the snapshot
    // packs the index's trees: both open the repository again, which must
    // be this layout's.
    let many = |d: usize, f: usize| work_tree.join(format!("many/d{d:02}/f{f}.txt"));
    let write_many = |text: &str| {
        for d in 0..20 {
            fs::create_dir_all(work_tree.join(format!("many/d{d:02}"))).unwrap();
            for f in 0..8 {
                fs::write(many(d, f), format!("{text} {d} {f}\n")).unwrap();
            }
        }
    };
    fs::create_dir_all(work_tree.join("src")).unwrap();
    fs::write(work_tree.join("README.md"), "v1\n").unwrap();
    fs::write(work_tree.join("src/lib.rs"), "lib v1\n").unwrap();
    write_many("v1");
    git(repo, dir, envs, &["add", "-A"]);
    git(repo, dir, envs, &["commit", "-q", "-m", "first"]);
    git(
        repo,
        dir,
        envs,
        &["tag", "-a", "baseline", "-m", "known good"],
    );
    fs::write(work_tree.join("README.md"), "v2\n").unwrap();
    fs::write(work_tree.join("src/new.rs"), "new\n").unwrap();
    write_many("v2");
    git(repo, dir, envs, &["add", "-A"]);
    git(repo, dir, envs, &["commit", "-q", "-m", "second"]);
    for d in 0..20 {
        fs::write(many(d, 0), format!("staged {d}\n")).unwrap();
    }
    git(repo, dir, envs, &["add", "-A"]);
    fs::write(work_tree.join("src/lib.rs"), "lib staged\n").unwrap();
    git(repo, dir, envs, &["add", "src/lib.rs"]);
    fs::write(work_tree.join("README.md"), "v3 edited\n").unwrap();
    fs::write(work_tree.join("untracked.txt"), "mine\n").unwrap();
}

/// The root's entries, without those under the given directories.
fn outside(root: &Path, inside: &[&Path]) -> DirState {
    let mut state = capture_dir(root);
    let prefixes: Vec<Vec<u8>> = inside
        .iter()
        .map(|p| {
            use std::os::unix::ffi::OsStrExt;
            let rel = p.strip_prefix(root).expect("under the root");
            rel.as_os_str().as_bytes().to_vec()
        })
        .collect();
    state.entries.retain(|k, _| {
        !prefixes
            .iter()
            .any(|p| k == p || (k.starts_with(p) && k.get(p.len()) == Some(&b'/')))
    });
    state
}

/// `emergency` and `undo` from `dir`: the work tree goes to the baseline,
/// undo gives back the whole state, and nothing outside the work tree and
/// the git directories changes at any point.
fn round_trip(repo: &TestRepo, dir: &Path, envs: Envs) {
    let (work_tree, git_dir) = assert_same_view(repo, dir, envs);
    let common = canonical(&git(
        repo,
        dir,
        envs,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    ));
    let inside = [work_tree.as_path(), git_dir.as_path(), common.as_path()];
    let root_before = outside(repo.root(), &inside);
    let before = capture_repo_with_env(dir, envs);

    let out = tool(repo, dir, envs, &["--yes", "--json", "emergency"]);
    out.assert_ok();
    let id = out.json()["operation_id"].as_str().unwrap().to_string();
    assert_eq!(
        fs::read_to_string(work_tree.join("README.md")).unwrap(),
        "v1\n"
    );
    assert!(!work_tree.join("untracked.txt").exists());
    assert!(!work_tree.join("src/new.rs").exists());
    assert_same_dir(&root_before, &outside(repo.root(), &inside));
    let rolled_back = capture_repo_with_env(dir, envs);

    tool(repo, dir, envs, &["--yes", "undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo_with_env(dir, envs));
    assert_same_dir(&root_before, &outside(repo.root(), &inside));

    // Redo and undo again, what the operation changed, read back from
    // this layout's journal, and releasing it: all in the same place.
    tool(repo, dir, envs, &["redo"]).assert_ok();
    assert_same_except_reports(&rolled_back, &capture_repo_with_env(dir, envs));
    tool(repo, dir, envs, &["undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo_with_env(dir, envs));
    let show = tool(repo, dir, envs, &["--json", "log", "show", &id[..6]]);
    show.assert_ok();
    let show = show.json();
    assert_eq!(show["operation"]["id"], id.as_str(), "{show}");
    assert!(
        show["paths"]["deleted"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p == "src/new.rs")),
        "{show}"
    );
    tool(repo, dir, envs, &["log", "prune", "--keep", "0"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo_with_env(dir, envs));
    assert_same_dir(&root_before, &outside(repo.root(), &inside));
    let log = tool(repo, dir, envs, &["--json", "log", "--all"]);
    log.assert_ok();
    assert!(
        log.json()["operations"]
            .as_array()
            .is_some_and(|ops| ops.iter().all(|o| o["id"] != id.as_str())),
        "the emergency was released: {log}"
    );

    // Rescue in this layout: staged work lost to a plain `git reset
    // --hard` is found in this layout's object store, brought back into
    // its reports folder, and the restore undone; nothing outside moves.
    // Content of its own for each call: a test may round-trip twice.
    let staged = format!("staged from {}, then lost", dir.display());
    fs::write(work_tree.join("README.md"), format!("{staged}\n")).unwrap();
    git(repo, dir, envs, &["add", ":/README.md"]);
    git(repo, dir, envs, &["reset", "-q", "--hard"]);
    let lost = capture_repo_with_env(dir, envs);
    let list = tool(repo, dir, envs, &["--json", "rescue"]);
    list.assert_ok();
    let list = list.json();
    assert_same_except_reports(&lost, &capture_repo_with_env(dir, envs));
    let item = list["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["kind"] == "file" && i["summary"] == staged.as_str())
        })
        .cloned()
        .unwrap_or_else(|| panic!("the lost staged file is not listed: {list}"));
    let id = item["id"].as_str().unwrap_or_default();
    let restored = tool(repo, dir, envs, &["--json", "rescue", "restore", id]);
    restored.assert_ok();
    let restored = restored.json();
    let path = restored["files"][0]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("no restored file: {restored}"));
    assert_eq!(
        fs::read_to_string(work_tree.join(path)).unwrap(),
        format!("{staged}\n"),
        "{restored}"
    );
    assert_same_dir(&root_before, &outside(repo.root(), &inside));
    tool(repo, dir, envs, &["undo"]).assert_ok();
    assert!(!work_tree.join(path).exists(), "{restored}");
    assert_same_except_reports(&lost, &capture_repo_with_env(dir, envs));
    assert_same_dir(&root_before, &outside(repo.root(), &inside));
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

// ----- layouts -----------------------------------------------------------------

#[test]
fn plain_repository_from_a_subdirectory_and_with_dash_c() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let sub = repo.path().join("src");
    assert_same_view(&repo, &sub, &[]);
    let out = tool(
        &repo,
        repo.root(),
        &[],
        &["-C", "repo/src", "--json", "status"],
    );
    out.assert_ok();
    assert_eq!(
        canonical(out.json()["work_tree"].as_str().unwrap()),
        canonical(s(repo.path()))
    );
    round_trip(&repo, &sub, &[]);
}

/// libgit2 keeps at most a quarter of the packs the repository can read
/// mapped, its alternates' included, between 8 and 128 MB: a small
/// repository's whole pack no longer stays in the command's memory, a
/// large one keeps the windows its writer threads share.
#[test]
fn pack_windows_are_fitted_to_the_packs_of_the_store_and_its_alternates() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    repo.git(&["gc", "-q"]);
    let mapped = |repo: &TestRepo| {
        let out = tool(
            repo,
            repo.path(),
            &[("GIT_ROLLBACK_SPRINT_TRACE", "1")],
            &["status"],
        );
        out.assert_ok();
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains("pack windows"))
            .unwrap_or_else(|| panic!("no pack windows in the trace: {out}"));
        line.split("at most ").nth(1).unwrap_or(line).to_string()
    };
    assert_eq!(mapped(&repo), "8 MB mapped");
    // A store it borrows from with 80 MB of packs (a sparse file: only
    // the size of a pack is read; without its index libgit2 skips it).
    let shared = repo.root().join("shared/objects");
    fs::create_dir_all(shared.join("pack")).unwrap();
    fs::File::create(shared.join("pack/pack-large.pack"))
        .and_then(|f| f.set_len(80 << 20))
        .unwrap();
    fs::create_dir_all(repo.git_dir().join("objects/info")).unwrap();
    fs::write(
        repo.git_dir().join("objects/info/alternates"),
        format!("{}\n", shared.display()),
    )
    .unwrap();
    assert_eq!(mapped(&repo), "20 MB mapped");
    fs::File::create(shared.join("pack/pack-large.pack"))
        .and_then(|f| f.set_len(2 << 30))
        .unwrap();
    assert_eq!(mapped(&repo), "128 MB mapped");
}

/// `git init --separate-git-dir`: the `.git` in the work tree is a file.
/// The work tree is the directory holding it, never the git directory's
/// parent (where libgit2 put it: a rollback there deleted files outside
/// the repository).
#[test]
fn separate_git_dir_init_is_the_directory_holding_the_git_file() {
    let repo = TestRepo::new();
    let store = repo.root().join("store");
    fs::create_dir_all(&store).unwrap();
    fs::write(store.join("outside.txt"), "not in any repository\n").unwrap();
    let git_dir = store.join("sep.git");
    let wt = init_separate_git_dir(&repo, &git_dir);
    assert!(wt.join(".git").is_file());
    history_and_dirt(&repo, &wt, &wt, &[]);
    assert_eq!(
        assert_same_view(&repo, &wt, &[]),
        (canonical(s(&wt)), canonical(s(&git_dir)))
    );

    let before = capture_dir(repo.root());
    let plan = tool(&repo, &wt, &[], &["--dry-run", "emergency"]);
    plan.assert_ok();
    assert!(
        plan.stdout
            .contains("1 staged, 1 modified, 0 deleted and 1 untracked path(s)"),
        "{plan}"
    );
    assert!(plan.stdout.contains("remove 1 untracked file(s)"), "{plan}");
    assert!(!plan.stdout.contains("outside"), "{plan}");
    assert_same_dir(&before, &capture_dir(repo.root()));

    round_trip(&repo, &wt, &[]);
    round_trip(&repo, &wt.join("src"), &[]);
}

#[test]
fn separate_git_dir_clone_round_trips() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    git(&repo, repo.path(), &[], &["stash", "-u", "-q"]);
    let git_dir = repo.root().join("clone.git");
    repo.git_in(
        repo.root(),
        &[
            "clone",
            "-q",
            "--separate-git-dir",
            s(&git_dir),
            "repo",
            "clone",
        ],
    );
    let wt = repo.root().join("clone");
    git(
        &repo,
        &wt,
        &[],
        &["fetch", "-q", "origin", "refs/tags/*:refs/tags/*"],
    );
    fs::write(wt.join("README.md"), "edited in the clone\n").unwrap();
    fs::write(wt.join("untracked.txt"), "mine\n").unwrap();
    round_trip(&repo, &wt, &[]);
}

/// A `.git` file pointing at a git directory whose `core.worktree`
/// (relative to the git directory) names the work tree.
#[test]
fn core_worktree_relative_to_the_git_directory() {
    let repo = TestRepo::new();
    let wt = repo.root().join("tree");
    fs::create_dir_all(&wt).unwrap();
    let git_dir = repo.root().join("meta/tree.git");
    repo.git_in(
        repo.root(),
        &["init", "-q", "-b", "main", "--bare", "meta/tree.git"],
    );
    repo.git_in(&git_dir, &["config", "core.bare", "false"]);
    repo.git_in(&git_dir, &["config", "core.worktree", "../../tree"]);
    fs::write(wt.join(".git"), "gitdir: ../meta/tree.git\n").unwrap();
    history_and_dirt(&repo, &wt, &wt, &[]);
    round_trip(&repo, &wt.join("src"), &[]);
    // The same through GIT_DIR, from outside the work tree.
    let envs = [("GIT_DIR", s(&git_dir))];
    assert_same_view(&repo, repo.root(), &envs);
}

/// A linked worktree `../linked` of the main one, on a new branch
/// `feature`: its path.
fn add_linked_worktree(repo: &TestRepo) -> PathBuf {
    git(
        repo,
        repo.path(),
        &[],
        &["worktree", "add", "-q", "../linked", "-b", "feature"],
    );
    repo.root().join("linked")
}

#[test]
fn linked_worktree_uses_its_own_git_dir_and_the_common_one() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    git(&repo, repo.path(), &[], &["stash", "-u", "-q"]);
    let wt = add_linked_worktree(&repo);
    fs::write(wt.join("README.md"), "edited in the linked worktree\n").unwrap();
    fs::write(wt.join("untracked.txt"), "mine\n").unwrap();
    let (_, git_dir) = assert_same_view(&repo, &wt, &[]);
    assert!(
        git_dir.ends_with(".git/worktrees/linked"),
        "{}",
        git_dir.display()
    );
    round_trip(&repo, &wt, &[]);
}

/// `files` of a whole folder from `dir`: its empty folder is looked for
/// on a handle of its own beside the status, which must be this layout's
/// (its ignore rules included); the folder goes back to the baseline, the
/// empty and the ignored folders stay, and undo gives back the whole state
/// without touching anything outside the work tree and the git folders.
fn files_of_a_folder_round_trip(repo: &TestRepo, dir: &Path, envs: Envs) {
    let (work_tree, git_dir) = assert_same_view(repo, dir, envs);
    let common = canonical(&git(
        repo,
        dir,
        envs,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    ));
    fs::create_dir_all(work_tree.join("many/d03/hollow")).unwrap();
    fs::create_dir_all(work_tree.join("many/d04/build")).unwrap();
    fs::write(work_tree.join("many/d04/build/out.o"), "object\n").unwrap();
    fs::write(work_tree.join("many/.gitignore"), "build/\n").unwrap();
    let inside = [work_tree.as_path(), git_dir.as_path(), common.as_path()];
    let root_before = outside(repo.root(), &inside);
    let before = capture_repo_with_env(dir, envs);

    // Named as git would take it from `dir`, which may be outside the
    // work tree: by its absolute path.
    let many = work_tree.join("many");
    tool(repo, dir, envs, &["files", "--no-tests", s(&many)]).assert_ok();
    assert_eq!(
        fs::read_to_string(work_tree.join("many/d01/f0.txt")).unwrap(),
        "v1 1 0\n"
    );
    assert!(work_tree.join("many/d03/hollow").is_dir());
    assert!(work_tree.join("many/d04/build/out.o").is_file());
    assert_same_dir(&root_before, &outside(repo.root(), &inside));

    tool(repo, dir, envs, &["--yes", "undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo_with_env(dir, envs));
    assert_same_dir(&root_before, &outside(repo.root(), &inside));
}

#[test]
fn files_of_a_folder_in_a_linked_worktree_and_from_outside_with_git_dir() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let elsewhere = repo.root().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let git_dir = repo.path().join(".git");
    let envs = [("GIT_DIR", s(&git_dir)), ("GIT_WORK_TREE", s(repo.path()))];
    files_of_a_folder_round_trip(&repo, &elsewhere, &envs);

    git(&repo, repo.path(), &[], &["stash", "-u", "-q"]);
    let wt = add_linked_worktree(&repo);
    fs::write(
        wt.join("many/d01/f0.txt"),
        "edited in the linked worktree\n",
    )
    .unwrap();
    files_of_a_folder_round_trip(&repo, &wt, &[]);
}

#[test]
fn submodule_git_file_points_into_the_superprojects_modules() {
    let repo = TestRepo::new();
    let lib = repo.root().join("lib");
    repo.git_in(repo.root(), &["init", "-q", "-b", "main", "lib"]);
    history_and_dirt(&repo, &lib, &lib, &[]);
    git(&repo, &lib, &[], &["stash", "-u", "-q"]);
    repo.write("top.txt", "top\n");
    repo.commit_all("top");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        s(&lib),
        "sub",
    ]);
    repo.commit_all("add sub");
    let sub = repo.path().join("sub");
    git(
        &repo,
        &sub,
        &[],
        &["fetch", "-q", "origin", "refs/tags/*:refs/tags/*"],
    );
    fs::write(sub.join("README.md"), "edited in the submodule\n").unwrap();
    fs::write(sub.join("untracked.txt"), "mine\n").unwrap();
    let (top, git_dir) = assert_same_view(&repo, &sub.join("src"), &[]);
    assert_eq!(top, canonical(s(&sub)));
    assert!(
        git_dir.ends_with(".git/modules/sub"),
        "{}",
        git_dir.display()
    );
    round_trip(&repo, &sub, &[]);
}

#[test]
fn git_dir_and_git_work_tree_from_outside_the_work_tree() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let elsewhere = repo.root().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("keep.txt"), "not the work tree\n").unwrap();
    let git_dir = repo.path().join(".git");
    let envs = [("GIT_DIR", s(&git_dir)), ("GIT_WORK_TREE", s(repo.path()))];
    round_trip(&repo, &elsewhere, &envs);
    // Relative values are relative to the current directory.
    let envs = [("GIT_DIR", "../repo/.git"), ("GIT_WORK_TREE", "../repo")];
    assert_same_view(&repo, &elsewhere, &envs);
}

/// `GIT_DIR` alone: the current directory is the top of the work tree.
#[test]
fn git_dir_alone_takes_the_current_directory_as_the_work_tree() {
    let repo = TestRepo::new();
    let store = repo.root().join("store.git");
    repo.git_in(
        repo.root(),
        &["init", "-q", "-b", "main", "--bare", "store.git"],
    );
    repo.git_in(&store, &["config", "core.bare", "false"]);
    let wt = repo.root().join("wt");
    fs::create_dir_all(&wt).unwrap();
    let envs = [("GIT_DIR", s(&store))];
    history_and_dirt(&repo, &wt, &wt, &envs);
    assert_eq!(assert_same_view(&repo, &wt, &envs).0, canonical(s(&wt)));
    round_trip(&repo, &wt, &envs);
}

#[test]
fn ceiling_directories_stop_the_search_like_git() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let deep = repo.path().join("src/deep");
    fs::create_dir_all(&deep).unwrap();
    let ceiling = s(&repo.path().join("src")).to_string();
    let envs = [("GIT_CEILING_DIRECTORIES", ceiling.as_str())];
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    let git_out = cmd
        .envs(envs)
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(&deep)
        .output()
        .expect("run git");
    assert!(
        !git_out.status.success(),
        "git found a repository above the ceiling"
    );
    let before = repo.capture();
    let out = tool(&repo, &deep, &envs, &["--yes", "emergency"]);
    out.assert_code(1);
    assert!(out.stderr.contains("not a git repository"), "{out}");
    crate::common::assert_same_state(&before, &repo.capture());
    // A ceiling at the work tree's own parent still lets it be found.
    let envs = [("GIT_CEILING_DIRECTORIES", s(repo.root()))];
    assert_same_view(&repo, &deep, &envs);
}

/// A `.git` directory that is not a repository is passed over (as git
/// does), and a `.git` file that names nothing is a one-line error.
#[test]
fn a_broken_git_file_is_refused_in_one_line() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let nested = repo.path().join("nested");
    fs::create_dir_all(&nested).unwrap();
    fs::write(nested.join(".git"), "gitdir: ../nowhere\n").unwrap();
    let before = repo.capture();
    let out = tool(&repo, &nested, &[], &["--yes", "emergency"]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("not a git repository"), "{out}");
    crate::common::assert_same_state(&before, &repo.capture());
}

// ----- the scan cache of `test` ---------------------------------------------------

/// `test` in `dir` with `envs`, traced: it passes, and says whether the
/// scan came from the cache. Returns (from the cache, the green snapshot).
fn test_run(repo: &TestRepo, dir: &Path, envs: Envs) -> (bool, String) {
    // A cache is written only for files older than the scan's start.
    std::thread::sleep(std::time::Duration::from_millis(30));
    let mut traced = envs.to_vec();
    traced.push(("GIT_ROLLBACK_SPRINT_TRACE", "1"));
    let out = tool(repo, dir, &traced, &["--json", "test"]);
    assert_eq!(out.code, 0, "{out}");
    let snapshot = out.json()["last_green"]["snapshot"]
        .as_str()
        .unwrap_or_else(|| panic!("no green snapshot: {out}"))
        .to_string();
    (
        out.stderr.contains("test: unchanged since the cached scan"),
        snapshot,
    )
}

/// A second `test` on an unchanged tree comes from the cache; after `edit`
/// (which writes `file` with `content`) it does not, and the new green
/// state holds the edit: the cache and the scan are this work tree's.
fn assert_cache_sees_edit(
    repo: &TestRepo,
    dir: &Path,
    envs: Envs,
    work_tree: &Path,
    file: &str,
    content: &str,
) {
    test_run(repo, dir, envs);
    let (cached, before) = test_run(repo, dir, envs);
    assert!(
        cached,
        "an unchanged {} was scanned again",
        work_tree.display()
    );
    fs::write(work_tree.join(file), content).unwrap();
    let (cached, after) = test_run(repo, dir, envs);
    assert!(!cached, "an edit in {} was not seen", work_tree.display());
    assert_ne!(before, after);
    let green = git(repo, dir, envs, &["show", &format!("{after}:{file}")]);
    assert_eq!(format!("{green}\n"), content);
}

/// The scan cache lives in the git directory of the work tree it stamps,
/// and stamps that work tree's files and index, in every layout: behind a
/// `.git` file, in a linked worktree beside the main one, and through
/// `GIT_DIR`/`GIT_WORK_TREE` from outside the work tree.
#[test]
fn the_scan_cache_of_test_is_the_work_trees_own_in_every_layout() {
    // A `.git` file.
    let repo = TestRepo::new();
    let git_dir = repo.root().join("store/sep.git");
    fs::create_dir_all(repo.root().join("store")).unwrap();
    let wt = init_separate_git_dir(&repo, &git_dir);
    history_and_dirt(&repo, &wt, &wt, &[]);
    git(&repo, &wt, &[], &["config", "rollback.testCommand", "true"]);
    assert_cache_sees_edit(&repo, &wt.join("src"), &[], &wt, "README.md", "v4\n");
    assert!(git_dir.join("rollback/scan-cache").is_file());
    assert!(!wt.join("rollback").exists());

    // A linked worktree and the main one: each has its own cache, and an
    // edit in one is not the other's.
    let repo = TestRepo::new();
    let main = repo.path().to_path_buf();
    history_and_dirt(&repo, &main, &main, &[]);
    git(
        &repo,
        &main,
        &[],
        &["config", "rollback.testCommand", "true"],
    );
    let linked = add_linked_worktree(&repo);
    fs::write(linked.join("untracked.txt"), "linked's own\n").unwrap();
    assert_cache_sees_edit(&repo, &linked, &[], &linked, "README.md", "linked v4\n");
    assert!(main
        .join(".git/worktrees/linked/rollback/scan-cache")
        .is_file());
    assert_cache_sees_edit(&repo, &main, &[], &main, "README.md", "main v4\n");
    let (cached, _) = test_run(&repo, &linked, &[]);
    assert!(
        cached,
        "an edit in the main work tree changed the linked one's"
    );
    fs::write(linked.join("src/lib.rs"), "lib in linked\n").unwrap();
    let (cached, _) = test_run(&repo, &linked, &[]);
    assert!(!cached, "an edit in the linked work tree was not seen");
    let (cached, _) = test_run(&repo, &main, &[]);
    assert!(
        cached,
        "an edit in the linked work tree changed the main one's"
    );

    // GIT_DIR and GIT_WORK_TREE from outside the work tree.
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    repo.git(&["config", "rollback.testCommand", "true"]);
    let elsewhere = repo.root().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let git_dir = repo.path().join(".git");
    let envs = [("GIT_DIR", s(&git_dir)), ("GIT_WORK_TREE", s(repo.path()))];
    assert_cache_sees_edit(
        &repo,
        &elsewhere,
        &envs,
        repo.path(),
        "src/new.rs",
        "newer\n",
    );
    assert!(!elsewhere.join(".git").exists());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

// ----- settings from git's command line and environment ------------------------

/// The tool in `dir` with `envs` set and `removed` unset.
fn tool_without(
    repo: &TestRepo,
    dir: &Path,
    envs: Envs,
    removed: &[&str],
    args: &[&str],
) -> ToolOutput {
    let mut cmd = repo.tool_command(args);
    cmd.current_dir(dir).envs(envs.iter().copied());
    for name in removed {
        cmd.env_remove(name);
    }
    ToolOutput::from_output(cmd.output().expect("run the tool"))
}

/// `git config <args>` in the repository with `envs`; `None` when unset.
fn git_config(repo: &TestRepo, envs: Envs, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    let out = cmd
        .envs(envs.iter().copied())
        .arg("config")
        .args(args)
        .current_dir(repo.path())
        .output()
        .expect("run git config");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

fn settings(repo: &TestRepo, envs: Envs) -> serde_json::Value {
    let out = tool(repo, repo.path(), envs, &["--json", "status"]);
    out.assert_ok();
    out.json()["settings"].clone()
}

/// For every `rollback.*` key, what the tool uses is what `git config
/// --get` (`--get-all`) says under the same environment, or the default.
#[track_caller]
fn assert_settings_like_git(repo: &TestRepo, envs: Envs) {
    let v = settings(repo, envs);
    let strings = [
        ("rollback.baseline", Some("baseline")),
        ("rollback.checkpointPrefix", Some("checkpoint-")),
        ("rollback.reportsDir", Some("rollbacks")),
        ("rollback.testCommand", None),
        ("rollback.fileTestCommand", None),
        ("rollback.stopCommand", None),
        ("rollback.startCommand", None),
        ("rollback.setupCommand", None),
    ];
    for (key, default) in strings {
        let git = git_config(repo, envs, &["--get", key]).filter(|v| !v.is_empty());
        let expected = git.as_deref().or(default);
        assert_eq!(v[key].as_str(), expected, "{key} with {envs:?}: {v}");
    }
    let threshold = git_config(
        repo,
        envs,
        &["--type=int", "--get", "rollback.diskThreshold"],
    );
    assert_eq!(
        v["rollback.diskThreshold"].as_u64(),
        Some(threshold.map_or(90, |t| t.parse().unwrap())),
        "diskThreshold: {v}"
    );
    let hook = git_config(repo, envs, &["--type=bool", "--get", "rollback.hookTests"]);
    assert_eq!(
        v["rollback.hookTests"].as_bool(),
        Some(hook.as_deref() == Some("true")),
        "hookTests: {v}"
    );
    let patterns: Vec<String> = git_config(repo, envs, &["--get-all", "rollback.testPattern"])
        .map(|all| all.lines().map(str::to_string).collect())
        .unwrap_or_else(|| vec!["tests/unit/test_{name}".to_string()]);
    let tool_patterns: Vec<String> = v["rollback.testPattern"]
        .as_array()
        .expect("patterns")
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tool_patterns, patterns, "testPattern with {envs:?}");
}

#[test]
fn git_dash_c_and_config_count_outrank_the_config_files_like_git() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    repo.git(&["config", "rollback.baseline", "from-file"]);
    repo.git(&["config", "rollback.testPattern", "file/{name}"]);
    repo.git(&["config", "rollback.diskThreshold", "80"]);
    fs::write(
        repo.home().join(".gitconfig"),
        "[rollback]\n\tcheckpointPrefix = global-\n\ttestPattern = global/{name}\n",
    )
    .unwrap();
    assert_settings_like_git(&repo, &[]);
    // New-style quoting, case rules, a key without a value, and the
    // counted pairs (read first, so the parameters win).
    let params = "'ROLLBACK.Baseline'='from-params' 'rollback.hooktests' \
                  'rollback.testpattern'='params/{stem}' 'rollback.testCommand'='echo '\\''it'\\''s'";
    let envs = [
        ("GIT_CONFIG_PARAMETERS", params),
        ("GIT_CONFIG_COUNT", "3"),
        ("GIT_CONFIG_KEY_0", "rollback.baseline"),
        ("GIT_CONFIG_VALUE_0", "from-count"),
        ("GIT_CONFIG_KEY_1", "Rollback.DiskThreshold"),
        ("GIT_CONFIG_VALUE_1", "1k"),
        ("GIT_CONFIG_KEY_2", "rollback.setupCommand"),
        ("GIT_CONFIG_VALUE_2", "make deps"),
    ];
    // 1k is over 100: the tool refuses it as git config --type=int reads it.
    let out = tool(&repo, repo.path(), &envs, &["--json", "status"]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("rollback.diskThreshold is 1024"),
        "{out}"
    );
    let envs = [
        ("GIT_CONFIG_PARAMETERS", params),
        ("GIT_CONFIG_COUNT", "3"),
        ("GIT_CONFIG_KEY_0", "rollback.baseline"),
        ("GIT_CONFIG_VALUE_0", "from-count"),
        ("GIT_CONFIG_KEY_1", "Rollback.DiskThreshold"),
        ("GIT_CONFIG_VALUE_1", "75"),
        ("GIT_CONFIG_KEY_2", "rollback.setupCommand"),
        ("GIT_CONFIG_VALUE_2", "make deps"),
    ];
    assert_settings_like_git(&repo, &envs);
    assert_eq!(settings(&repo, &envs)["rollback.baseline"], "from-params");
    // The old one-word form.
    let envs = [(
        "GIT_CONFIG_PARAMETERS",
        "'rollback.baseline=old-style' 'rollback.reportsDir=out'",
    )];
    assert_settings_like_git(&repo, &envs);
    assert_eq!(settings(&repo, &envs)["rollback.reportsDir"], "out");
}

#[test]
fn a_stage_subsection_is_case_sensitive_and_gets_command_line_paths_appended() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    repo.git(&["config", "rollback.stage.Api.path", "README.md"]);
    repo.git(&["config", "rollback.stage.api.path", "src/new.rs"]);
    let stage = |name: &str, envs: Envs| -> Vec<String> {
        let out = tool(
            &repo,
            repo.path(),
            envs,
            &[
                "--json",
                "--dry-run",
                "files",
                "--no-tests",
                "--stage",
                name,
            ],
        );
        out.assert_ok();
        let mut v: Vec<String> = out.json()["restored"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(stage("Api", &[]), vec!["README.md"]);
    let envs = [(
        "GIT_CONFIG_PARAMETERS",
        "'ROLLBACK.Api.x=1' 'Rollback.stage.Api.PATH'='src/lib.rs'",
    )];
    assert_eq!(
        git_config(&repo, &envs, &["--get-all", "rollback.stage.Api.path"]).unwrap(),
        "README.md\nsrc/lib.rs"
    );
    assert_eq!(stage("Api", &envs), vec!["README.md", "src/lib.rs"]);
}

/// `git -c key=value rollback-sprint …`: the encoding the installed git
/// really produces.
#[test]
fn real_git_dash_c_reaches_the_tool() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let bin = Path::new(crate::common::TOOL_BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let envs = [("PATH", path.as_str())];
    let out = git(
        &repo,
        repo.path(),
        &envs,
        &[
            "-c",
            "rollback.baseline=other",
            "-c",
            "Rollback.hookTests",
            "-c",
            "rollback.testCommand=echo 'quoted' \"and\" !bang",
            "-c",
            "rollback.testPattern=",
            "rollback-sprint",
            "--json",
            "status",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let s = &v["settings"];
    assert_eq!(s["rollback.baseline"], "other", "{v}");
    assert_eq!(s["rollback.hookTests"], true, "{v}");
    assert_eq!(
        s["rollback.testCommand"], "echo 'quoted' \"and\" !bang",
        "{v}"
    );
    assert_eq!(s["rollback.testPattern"], serde_json::json!([""]), "{v}");
}

#[test]
fn git_config_global_system_and_nosystem_are_honoured() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    fs::write(
        repo.home().join(".gitconfig"),
        "[rollback]\n\tcheckpointPrefix = home-\n",
    )
    .unwrap();
    let global = repo.root().join("other-global");
    fs::write(&global, "[rollback]\n\tcheckpointPrefix = other-\n").unwrap();
    let system = repo.root().join("system");
    fs::write(&system, "[rollback]\n\tsetupCommand = from-system\n").unwrap();
    let envs = [
        ("GIT_CONFIG_GLOBAL", s(&global)),
        ("GIT_CONFIG_SYSTEM", s(&system)),
        ("GIT_CONFIG_NOSYSTEM", "0"),
    ];
    assert_settings_like_git(&repo, &envs);
    let v = settings(&repo, &envs);
    assert_eq!(v["rollback.checkpointPrefix"], "other-");
    assert_eq!(v["rollback.setupCommand"], "from-system");
    let envs = [
        ("GIT_CONFIG_GLOBAL", s(&global)),
        ("GIT_CONFIG_SYSTEM", s(&system)),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ];
    assert_settings_like_git(&repo, &envs);
    assert_eq!(
        settings(&repo, &envs)["rollback.setupCommand"],
        serde_json::Value::Null
    );
}

#[test]
fn bogus_command_line_config_is_one_line_and_changes_nothing() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    for envs in [
        [
            ("GIT_CONFIG_PARAMETERS", "'unterminated"),
            ("GIT_CONFIG_COUNT", "0"),
        ],
        [("GIT_CONFIG_PARAMETERS", ""), ("GIT_CONFIG_COUNT", "2")],
        [
            ("GIT_CONFIG_PARAMETERS", "'nodot=1'"),
            ("GIT_CONFIG_COUNT", ""),
        ],
    ] {
        let before = repo.capture();
        let out = tool(&repo, repo.path(), &envs, &["--yes", "emergency"]);
        out.assert_code(1);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
        crate::common::assert_same_state(&before, &repo.capture());
    }
}

// ----- identities and dates ------------------------------------------------------

/// The `author …` and `committer …` lines of a commit (or `tagger …` of a tag).
fn ident_lines(repo: &TestRepo, object: &str) -> Vec<String> {
    repo.git(&["cat-file", "-p", object])
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| {
            l.starts_with("author ") || l.starts_with("committer ") || l.starts_with("tagger ")
        })
        .map(str::to_string)
        .collect()
}

/// The ident lines `git commit-tree` writes under `envs` (with `removed`
/// unset and `config` given with -c).
fn git_ident_lines(repo: &TestRepo, envs: Envs, removed: &[&str], config: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    cmd.envs(envs.iter().copied());
    for name in removed {
        cmd.env_remove(name);
    }
    for c in config {
        cmd.args(["-c", c]);
    }
    let tree = repo.rev("HEAD^{tree}");
    let out = cmd
        .args(["commit-tree", &tree, "-m", "compare"])
        .current_dir(repo.path())
        .output()
        .expect("run git commit-tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    ident_lines(repo, &id)
}

fn wip_commit_lines(
    repo: &TestRepo,
    envs: Envs,
    removed: &[&str],
    args: &[&str],
) -> (Vec<String>, Vec<String>) {
    let out = tool_without(repo, repo.path(), envs, removed, args);
    out.assert_ok();
    let tag = out.json()["tag"].as_str().expect("tag").to_string();
    let commit = ident_lines(repo, &format!("{tag}^{{commit}}"));
    let tagger = ident_lines(repo, &tag);
    (commit, tagger)
}

#[test]
fn wip_commits_and_tags_take_identities_and_dates_from_the_environment_like_git() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    for (author_date, committer_date) in [
        ("@1795000000 +0130", "1795003600 -0230"),
        (
            "Thu, 19 Nov 2026 10:00:00 +0100",
            "2026-11-25T08:00:00-05:00",
        ),
        ("2026-11-25 08:00:00 -0500", "2026-11-25T08:00:00Z"),
    ] {
        let envs = [
            ("GIT_AUTHOR_NAME", "Ann Author"),
            ("GIT_AUTHOR_EMAIL", "ann@example.com"),
            ("GIT_AUTHOR_DATE", author_date),
            ("GIT_COMMITTER_NAME", "Cid Committer"),
            ("GIT_COMMITTER_EMAIL", "cid@example.com"),
            ("GIT_COMMITTER_DATE", committer_date),
        ];
        let (commit, tagger) =
            wip_commit_lines(&repo, &envs, &[], &["--json", "checkpoint", "--wip"]);
        let git = git_ident_lines(&repo, &envs, &[], &[]);
        assert_eq!(commit, git, "dates {author_date:?} / {committer_date:?}");
        // A tag is by the committer.
        assert_eq!(tagger, vec![git[1].replacen("committer ", "tagger ", 1)]);
    }
}

#[test]
fn identities_from_config_and_email_like_git() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    repo.git(&["config", "author.name", "Config Author"]);
    repo.git(&["config", "--unset", "user.email"]);
    // (git leaves the author's email empty when committer.email is set and
    // user.email is not; this tool asks for an email instead.)
    let envs = [
        ("EMAIL", "from-env@example.com"),
        ("GIT_CONFIG_PARAMETERS", "'committer.name'='Cli Committer'"),
    ];
    let removed = [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ];
    let (commit, _) = wip_commit_lines(&repo, &envs, &removed, &["--json", "checkpoint", "--wip"]);
    // Dates differ (the tool's clock, git's commit clock): compare who.
    let who = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l[..l.find('>').expect("an email") + 1].to_string())
            .collect()
    };
    let git = git_ident_lines(
        &repo,
        &[("EMAIL", "from-env@example.com")],
        &removed,
        &["committer.name=Cli Committer"],
    );
    assert_eq!(who(&commit), who(&git));
    assert_eq!(
        who(&commit),
        vec![
            "author Config Author <from-env@example.com>",
            "committer Cli Committer <from-env@example.com>"
        ]
    );
}

#[test]
fn the_emergency_stash_commit_takes_the_environments_identities() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let envs = [
        ("GIT_AUTHOR_NAME", "Ann Author"),
        ("GIT_AUTHOR_EMAIL", "ann@example.com"),
        ("GIT_AUTHOR_DATE", "@1795000000 +0130"),
        ("GIT_COMMITTER_NAME", "Cid Committer"),
        ("GIT_COMMITTER_EMAIL", "cid@example.com"),
        ("GIT_COMMITTER_DATE", "@1795003600 -0230"),
    ];
    tool(&repo, repo.path(), &envs, &["--yes", "emergency"]).assert_ok();
    assert_eq!(
        ident_lines(&repo, "refs/stash"),
        git_ident_lines(&repo, &envs, &[], &[])
    );
}

#[test]
fn an_unreadable_date_is_refused_in_one_line_before_anything_changes() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    for args in [&["checkpoint", "--wip"][..], &["--yes", "emergency"][..]] {
        let before = capture_dir(repo.root());
        let out = tool(
            &repo,
            repo.path(),
            &[("GIT_COMMITTER_DATE", "next blue moon")],
            args,
        );
        out.assert_code(1);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
        assert!(out.stderr.contains("GIT_COMMITTER_DATE"), "{out}");
        assert_same_dir(&before, &capture_dir(repo.root()));
    }
}

// ----- refused before anything changes --------------------------------------------

/// A clean refusal: exit 1, one line on stderr naming `needle`, no raw
/// libgit2 text, and not one byte changed under the sandbox root.
#[track_caller]
fn assert_refused(repo: &TestRepo, dir: &Path, envs: Envs, args: &[&str], needle: &str) {
    let before = capture_dir(repo.root());
    let out = tool(repo, dir, envs, args);
    out.assert_code(1);
    let err = out.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "expected one line\n{out}");
    assert!(err.contains(needle), "expected {needle:?}\n{out}");
    assert!(
        !err.contains("class=") && !err.contains("code="),
        "raw libgit2 text\n{out}"
    );
    assert_same_dir(&before, &capture_dir(repo.root()));
}

/// A repository made by `git init <extra>` in `<root>/<name>`, with
/// history and a dirty tree; `None` when the installed git cannot.
fn made_with(repo: &TestRepo, name: &str, extra: &[&str]) -> Option<PathBuf> {
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    let out = cmd
        .args(["init", "-q", "-b", "main"])
        .args(extra)
        .arg(name)
        .current_dir(repo.root())
        .output()
        .expect("run git init");
    if !out.status.success() {
        return None;
    }
    let dir = repo.root().join(name);
    history_and_dirt(repo, &dir, &dir, &[]);
    Some(dir)
}

#[test]
fn sha256_repositories_are_refused() {
    let repo = TestRepo::new();
    let dir = made_with(&repo, "sha256", &["--object-format=sha256"]).expect("git supports sha256");
    for args in [
        &["--yes", "emergency"][..],
        &["checkpoint", "--wip"],
        &["status"],
    ] {
        assert_refused(&repo, &dir, &[], args, "sha256 object names");
    }
}

#[test]
fn reftable_repositories_are_refused() {
    let repo = TestRepo::new();
    let Some(dir) = made_with(&repo, "reftable", &["--ref-format=reftable"]) else {
        crate::common::skip("this git cannot create a reftable repository", false);
        return;
    };
    for args in [
        &["--yes", "emergency"][..],
        &["sprint", "rollback", "1"],
        &["status"],
    ] {
        assert_refused(
            &repo,
            &dir,
            &[],
            args,
            "git refs migrate --ref-format=files",
        );
    }
}

/// A split index is refused by every command that changes the repository
/// or reads the index; read-only commands still work.
#[test]
fn a_split_index_is_refused_with_the_command_that_joins_it() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    repo.git(&["update-index", "--split-index"]);
    fs::write(repo.path().join("src/lib.rs"), "split\n").unwrap();
    repo.git(&["add", "src/lib.rs"]);
    for args in [
        &["--yes", "emergency"][..],
        &["checkpoint", "--wip"],
        &["files", "--no-tests", "README.md"],
        &["check", "--hook"],
    ] {
        assert_refused(
            &repo,
            repo.path(),
            &[],
            args,
            "git update-index --no-split-index",
        );
    }
    tool(&repo, repo.path(), &[], &["status"]).assert_ok();
    repo.git(&["update-index", "--no-split-index"]);
    tool(&repo, repo.path(), &[], &["checkpoint", "--wip"]).assert_ok();
}

#[test]
fn git_index_file_elsewhere_is_read_by_read_only_commands_and_refused_by_changes() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let other = repo.root().join("other-index");
    fs::copy(repo.path().join(".git/index"), &other).unwrap();
    let envs = [("GIT_INDEX_FILE", s(&other))];
    for args in [
        &["--yes", "emergency"][..],
        &["checkpoint", "--wip"],
        &["files", "--no-tests", "README.md"],
    ] {
        assert_refused(&repo, repo.path(), &envs, args, "GIT_INDEX_FILE");
    }
    tool(&repo, repo.path(), &envs, &["status"]).assert_ok();
    let hook = tool(&repo, repo.path(), &envs, &["check", "--hook"]);
    assert!(!hook.stderr.contains("GIT_INDEX_FILE"), "{hook}");
    // Naming the repository's own index, even relatively, is no redirect.
    let envs = [("GIT_INDEX_FILE", ".git/index")];
    tool(
        &repo,
        repo.path(),
        &envs,
        &["--json", "checkpoint", "--wip"],
    )
    .assert_ok();
}

#[test]
fn git_namespace_object_directory_and_common_dir_are_refused() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let objects = repo.path().join(".git/objects");
    for (name, value) in [
        ("GIT_NAMESPACE", "team"),
        ("GIT_OBJECT_DIRECTORY", s(&objects)),
        ("GIT_COMMON_DIR", s(&repo.path().join(".git"))),
    ] {
        assert_refused(
            &repo,
            repo.path(),
            &[(name, value)],
            &["--yes", "emergency"],
            name,
        );
    }
}

/// Failures inside libgit2 reach the user as its plain message.
#[test]
fn no_raw_libgit2_message_reaches_the_user() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    // A config file libgit2 cannot parse.
    let config = repo.path().join(".git/config");
    let saved = fs::read(&config).unwrap();
    fs::write(&config, "[core\n\tbroken = \n").unwrap();
    assert_refused(&repo, repo.path(), &[], &["status"], "config");
    fs::write(&config, &saved).unwrap();
    // A loose ref that is not an object id.
    fs::write(repo.path().join(".git/refs/tags/baseline"), "not an id\n").unwrap();
    for args in [&["--yes", "emergency"][..], &["status"], &["log"]] {
        let out = tool(&repo, repo.path(), &[], args);
        assert!(
            !out.stderr.contains("class=") && !out.stdout.contains("class="),
            "{out}"
        );
    }
}

#[test]
fn a_partial_clone_missing_the_baselines_files_is_refused() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    git(&repo, repo.path(), &[], &["stash", "-u", "-q"]);
    repo.git(&["config", "uploadpack.allowFilter", "true"]);
    let url = format!("file://{}", repo.path().display());
    repo.git_in(
        repo.root(),
        &[
            "clone",
            "-q",
            "--filter=blob:none",
            "--no-checkout",
            &url,
            "partial",
        ],
    );
    let clone = repo.root().join("partial");
    git(&repo, &clone, &[], &["checkout", "-q", "main"]);
    git(
        &repo,
        &clone,
        &[],
        &["fetch", "-q", "origin", "refs/tags/*:refs/tags/*"],
    );
    fs::write(clone.join("untracked.txt"), "mine\n").unwrap();
    // Any command makes the tool's own folder in the git dir; from here
    // on, nothing may change.
    tool(&repo, &clone, &[], &["status"]).assert_ok();
    for args in [
        &["--yes", "emergency"][..],
        &["sprint", "rollback", "1", "--no-tests"],
        &["files", "--no-tests", "README.md"],
    ] {
        assert_refused(&repo, &clone, &[], args, "partial clone lacks");
    }
    // Once git has fetched them, the rollback runs (and undoes).
    git(
        &repo,
        &clone,
        &[],
        &["checkout", "-q", "baseline", "--", "."],
    );
    git(&repo, &clone, &[], &["reset", "-q", "--hard"]);
    fs::write(clone.join("untracked.txt"), "mine\n").unwrap();
    let before = capture_repo_with_env(&clone, &[]);
    tool(&repo, &clone, &[], &["--yes", "emergency"]).assert_ok();
    tool(&repo, &clone, &[], &["--yes", "undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo_with_env(&clone, &[]));
}

#[test]
fn a_replace_ref_on_the_baselines_files_is_refused_unless_replacements_are_off() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let original = repo.rev("baseline:README.md");
    let other = repo.git_with_stdin(&["hash-object", "-w", "--stdin"], b"replaced\n");
    repo.git(&["replace", &original, &other]);
    tool(&repo, repo.path(), &[], &["status"]).assert_ok();
    for args in [
        &["--yes", "emergency"][..],
        &["files", "--no-tests", "README.md"],
    ] {
        assert_refused(&repo, repo.path(), &[], args, "replace ref");
    }
    // With replacements off, git and libgit2 read the same objects.
    let envs = [("GIT_NO_REPLACE_OBJECTS", "1")];
    let before = capture_repo_with_env(repo.path(), &envs);
    tool(&repo, repo.path(), &envs, &["--yes", "emergency"]).assert_ok();
    assert_eq!(
        fs::read_to_string(repo.path().join("README.md")).unwrap(),
        "v1\n"
    );
    tool(&repo, repo.path(), &envs, &["--yes", "undo"]).assert_ok();
    assert_same_except_reports(&before, &capture_repo_with_env(repo.path(), &envs));
    // A replacement of a commit by one with the same tree (git replace
    // --graft) changes nothing a reset writes.
    repo.git(&["replace", "-d", &original]);
    let head = repo.head();
    repo.git(&["replace", "--graft", &head]);
    let out = tool(
        &repo,
        repo.path(),
        &[],
        &["--dry-run", "emergency", "--to", &head],
    );
    out.assert_ok();
}

/// git's ownership rule applies to the work tree it finds (libgit2 checks
/// the git directory, and the work tree it guesses): another user's work
/// tree is refused unless `safe.directory` lists it.
#[test]
fn a_work_tree_owned_by_someone_else_needs_safe_directory() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    if std::os::unix::fs::chown(repo.path(), Some(65534), None).is_err() {
        crate::common::skip(
            "cannot give the work tree to another user (not root)",
            false,
        );
        return;
    }
    let git_refuses = {
        let mut cmd = Command::new("git");
        repo.apply_env(&mut cmd);
        !cmd.args(["status"])
            .current_dir(repo.path())
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(git_refuses, "git accepted another user's work tree");
    for args in [&["status"][..], &["--yes", "emergency"]] {
        assert_refused(&repo, repo.path(), &[], args, "safe.directory");
    }
    let global = format!("[safe]\n\tdirectory = {}\n", s(repo.path()));
    fs::write(repo.home().join(".gitconfig"), global).unwrap();
    tool(&repo, repo.path(), &[], &["status"]).assert_ok();
}

/// `git init --separate-git-dir=<git_dir> sep` under the sandbox root: the
/// work tree `sep` holds a `.git` file. Returns the work tree.
fn init_separate_git_dir(repo: &TestRepo, git_dir: &Path) -> PathBuf {
    repo.git_in(
        repo.root(),
        &[
            "init",
            "-q",
            "-b",
            "main",
            "--separate-git-dir",
            s(git_dir),
            "sep",
        ],
    );
    repo.root().join("sep")
}

/// The same for a `.git` file layout, where libgit2 checks the git
/// directory's parent, not the work tree: the tool checks the work tree.
#[test]
fn a_separate_git_dirs_work_tree_owned_by_someone_else_is_refused() {
    let repo = TestRepo::new();
    let git_dir = repo.root().join("store/sep.git");
    fs::create_dir_all(repo.root().join("store")).unwrap();
    let wt = init_separate_git_dir(&repo, &git_dir);
    history_and_dirt(&repo, &wt, &wt, &[]);
    if std::os::unix::fs::chown(&wt, Some(65534), None).is_err() {
        crate::common::skip(
            "cannot give the work tree to another user (not root)",
            false,
        );
        return;
    }
    assert_refused(&repo, &wt, &[], &["--yes", "emergency"], "safe.directory");
}

#[test]
fn hook_install_uses_a_hooks_path_given_with_git_dash_c() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    let hooks = repo.root().join("myhooks");
    let param = format!("'core.hooksPath'='{}'", s(&hooks));
    let envs = [("GIT_CONFIG_PARAMETERS", param.as_str())];
    let git_hooks = git(
        &repo,
        repo.path(),
        &envs,
        &["rev-parse", "--git-path", "hooks"],
    );
    assert_eq!(Path::new(&git_hooks), hooks);
    tool(&repo, repo.path(), &envs, &["hook", "install"]).assert_ok();
    assert!(hooks.join("pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
}

#[test]
fn inside_the_git_directory_is_not_a_work_tree() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    tool(&repo, repo.path(), &[], &["status"]).assert_ok();
    assert_refused(
        &repo,
        &repo.path().join(".git"),
        &[],
        &["--yes", "emergency"],
        "inside a git directory",
    );
}

/// A filter driver given with `git -c` is one git would run: refused like
/// one from the config files.
#[test]
fn a_filter_driver_given_with_git_dash_c_is_refused() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    fs::write(repo.path().join(".gitattributes"), "*.md filter=crypt\n").unwrap();
    git(&repo, repo.path(), &[], &["add", ".gitattributes"]);
    git(
        &repo,
        repo.path(),
        &[],
        &["commit", "-q", "-m", "attributes"],
    );
    git(
        &repo,
        repo.path(),
        &[],
        &["tag", "-f", "-a", "baseline", "-m", "known good"],
    );
    tool(&repo, repo.path(), &[], &["status"]).assert_ok();
    let envs = [("GIT_CONFIG_PARAMETERS", "'filter.crypt.smudge'='cat'")];
    assert_refused(
        &repo,
        repo.path(),
        &envs,
        &["--yes", "emergency"],
        "filter driver `crypt`",
    );
}

/// Without GIT_DISCOVERY_ACROSS_FILESYSTEM the search stops where the file
/// system changes, as git's does; with it, it goes on. Needs a directory
/// on another file system than its parent (`/dev/shm` usually is).
#[test]
fn discovery_stops_at_a_file_system_boundary_unless_told_otherwise() {
    use std::os::unix::fs::MetadataExt;
    let shm = Path::new("/dev/shm");
    let separate = fs::metadata(shm)
        .and_then(|m| Ok(m.dev() != fs::metadata("/dev")?.dev()))
        .unwrap_or(false);
    let Ok(dir) = tempfile::Builder::new().prefix("grs-fs-").tempdir_in(shm) else {
        crate::common::skip("no writable /dev/shm", false);
        return;
    };
    if !separate {
        crate::common::skip("/dev/shm is not a file system of its own here", false);
        return;
    }
    let repo = TestRepo::new();
    let out = tool(&repo, dir.path(), &[], &["status"]);
    out.assert_code(1);
    assert!(out.stderr.contains("mount point /dev"), "{out}");
    let out = tool(
        &repo,
        dir.path(),
        &[("GIT_DISCOVERY_ACROSS_FILESYSTEM", "1")],
        &["status"],
    );
    out.assert_code(1);
    assert!(!out.stderr.contains("mount point"), "{out}");
    assert!(out.stderr.contains("not a git repository"), "{out}");
}

#[test]
fn the_sprint_rollback_wip_commit_takes_the_environments_identities() {
    let repo = TestRepo::new();
    history_and_dirt(&repo, repo.path(), repo.path(), &[]);
    git(
        &repo,
        repo.path(),
        &[],
        &["checkout", "-q", "-b", "refactor/sprint-2"],
    );
    let envs = [
        ("GIT_AUTHOR_NAME", "Ann Author"),
        ("GIT_AUTHOR_EMAIL", "ann@example.com"),
        ("GIT_AUTHOR_DATE", "2026-11-25 08:00:00 +0530"),
        ("GIT_COMMITTER_NAME", "Cid Committer"),
        ("GIT_COMMITTER_EMAIL", "cid@example.com"),
        ("GIT_COMMITTER_DATE", "Wed, 25 Nov 2026 09:30:00 -0800"),
    ];
    let out = tool(
        &repo,
        repo.path(),
        &envs,
        &["--json", "sprint", "rollback", "--no-tests"],
    );
    out.assert_ok();
    let wip = out.json()["wip_commit"]
        .as_str()
        .expect("a WIP commit")
        .to_string();
    assert_eq!(
        ident_lines(&repo, &wip),
        git_ident_lines(&repo, &envs, &[], &[])
    );
}
