//! Property tests: random repositories, a random command, then `undo`.
//!
//! Each case builds a real repository from a random description — a
//! baseline tree of files, executables and symlinks, a sprint branch and
//! commits on `main` that rename, delete, change modes and turn files into
//! directories or symlinks and back, then a random dirty state (staged,
//! unstaged, staged-then-changed, deleted, `git rm --cached`, intent-to-add,
//! untracked, ignored, empty directories). One command runs; `undo` (or
//! `recover --abort` after a conflict stop) must bring back the whole
//! repository capture. `files` is also compared with `git checkout` on a
//! copy.
//!
//! 256 cases per command by default; `PROPTEST_CASES` asks for more
//! (`scripts/properties.sh`). A failing case is shrunk and its seed kept in
//! `tests/properties.proptest-regressions`, which later runs replay first.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::common::without_reports;
use crate::common::{assert_same_state, TestRepo, ToolOutput};

/// Tracked paths are drawn from these: parents of one another so that files
/// become directories and back, a space and a non-ASCII name.
const PATHS: &[&str] = &[
    "a", "a/x", "a/y", "a/x/deep", "b", "b/x", "c/d/e", "c/d", "f.txt", "g", "g/h", "sp ace",
    "ünï/k",
];

/// Symlink targets: inside, dangling, outside the work tree, a directory.
const LINK_TARGETS: &[&str] = &["f.txt", "missing", "../outside", "a", "x/../b"];

const GITIGNORE: &[u8] = b"*.log\nignored/\n";

fn content(choice: u8, salt: usize) -> Vec<u8> {
    match choice % 8 {
        0 => b"one\n".to_vec(),
        1 => format!("version {salt}\n").into_bytes(),
        2 => Vec::new(),
        3 => vec![0, 1, 2, 0xff, b'b', b'i', b'n', 0],
        4 => b"crlf\r\nline\r\n".to_vec(),
        5 => "no newline at the end".into(),
        // Long enough for git's rename detection to pair it up.
        6 => (0..60)
            .map(|i| format!("line {i} of a long file\n"))
            .collect::<String>()
            .into_bytes(),
        _ => format!("{salt} two\nlines\n").into_bytes(),
    }
}

// ----- the tree model --------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Node {
    File { data: Vec<u8>, exec: bool },
    Link(String),
}

type Tree = BTreeMap<String, Node>;

/// One random change to a tree: `(kind, path, argument)`.
type TreeOp = (u8, u8, u8);

fn is_under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// Put `node` at `path`: a file in the way of a parent directory and a
/// directory in the way of the file are replaced, as a commit would.
fn insert(tree: &mut Tree, path: &str, node: Node) {
    let mut parent = path;
    while let Some(i) = parent.rfind('/') {
        parent = &parent[..i];
        tree.remove(parent);
    }
    tree.retain(|k, _| !is_under(k, path));
    tree.insert(path.to_string(), node);
}

fn remove(tree: &mut Tree, path: &str) {
    tree.retain(|k, _| k != path && !is_under(k, path));
}

fn apply_tree_op(tree: &mut Tree, (kind, p, arg): TreeOp, salt: usize) {
    let path = PATHS[p as usize % PATHS.len()];
    match kind % 7 {
        0 | 1 => insert(
            tree,
            path,
            Node::File {
                data: content(arg, salt),
                exec: kind % 7 == 1,
            },
        ),
        2 => insert(
            tree,
            path,
            Node::Link(LINK_TARGETS[arg as usize % LINK_TARGETS.len()].to_string()),
        ),
        3 => remove(tree, path),
        4 => {
            // A rename of a file, a symlink or a whole directory.
            let to = PATHS[arg as usize % PATHS.len()];
            if to == path || is_under(to, path) || is_under(path, to) {
                return;
            }
            let moved: Vec<(String, Node)> = tree
                .iter()
                .filter(|(k, _)| *k == path || is_under(k, path))
                .map(|(k, v)| (format!("{to}{}", &k[path.len()..]), v.clone()))
                .collect();
            remove(tree, path);
            for (k, v) in moved {
                insert(tree, &k, v);
            }
        }
        5 => {
            if let Some(Node::File { exec, .. }) = tree.get_mut(path) {
                *exec = !*exec;
            }
        }
        _ => {
            // An edit of whatever file is there.
            if let Some(Node::File { data, .. }) = tree.get_mut(path) {
                data.extend_from_slice(format!("edit {salt}\n").as_bytes());
            }
        }
    }
}

// ----- the repository --------------------------------------------------------

/// A random repository: the baseline's changes, commits on `main` after the
/// baseline, commits on `refactor/sprint-1`, and the dirty state.
#[derive(Clone, Debug)]
struct Scenario {
    base: Vec<TreeOp>,
    main: Vec<Vec<TreeOp>>,
    sprint: Vec<Vec<TreeOp>>,
    dirty: Vec<DirtyOp>,
    on_sprint: bool,
}

/// One random change to the checked-out repository: `(kind, path, arg)`.
type DirtyOp = (u8, u8, u8);

fn tree_ops(min: usize, max: usize) -> impl Strategy<Value = Vec<TreeOp>> {
    prop::collection::vec(any::<TreeOp>(), min..=max)
}

fn scenario(dirty_kinds: &'static [u8]) -> impl Strategy<Value = Scenario> {
    (
        tree_ops(2, 8),
        prop::collection::vec(tree_ops(1, 3), 0..=2),
        prop::collection::vec(tree_ops(1, 4), 1..=3),
        prop::collection::vec(
            (prop::sample::select(dirty_kinds), any::<u8>(), any::<u8>()),
            0..=8,
        ),
        any::<bool>(),
    )
        .prop_map(|(base, main, sprint, dirty, on_sprint)| Scenario {
            base,
            main,
            sprint,
            dirty,
            on_sprint,
        })
}

/// Every kind of dirty change.
const ALL_DIRTY: &[u8] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/// Changes that leave tracked files alone (what `recover` accepts).
const UNTRACKED_DIRTY: &[u8] = &[6, 8, 10];

struct Built {
    repo: TestRepo,
    baseline_tree: Tree,
}

fn fast_import_commit(
    out: &mut Vec<u8>,
    branch: &str,
    mark: usize,
    from: Option<usize>,
    when: usize,
    tree: &Tree,
) {
    let stamp = 1_700_000_000 + when * 60;
    let msg = format!("commit {mark}\n");
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
    for (path, node) in tree {
        match node {
            Node::File { data, exec } => entry(if *exec { "100755" } else { "100644" }, path, data),
            Node::Link(target) => entry("120000", path, target.as_bytes()),
        }
    }
}

impl Scenario {
    fn build(&self) -> Built {
        let repo = TestRepo::new();
        let mut stream = Vec::new();
        let mut base = Tree::new();
        for (i, op) in self.base.iter().enumerate() {
            apply_tree_op(&mut base, *op, i);
        }
        let mut mark = 1;
        fast_import_commit(&mut stream, "main", mark, None, mark, &base);
        stream.extend_from_slice(
            b"tag baseline\nfrom :1\n\
              tagger Sprint Dev <dev@example.com> 1700000000 +0000\ndata 9\nbaseline\n",
        );
        for (branch, commits) in [("main", &self.main), ("refactor/sprint-1", &self.sprint)] {
            let mut tree = base.clone();
            let mut parent = 1;
            for ops in commits {
                for op in ops {
                    apply_tree_op(&mut tree, *op, mark);
                }
                mark += 1;
                fast_import_commit(&mut stream, branch, mark, Some(parent), mark, &tree);
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
        self.dirty(&repo);
        Built {
            repo,
            baseline_tree: base,
        }
    }

    /// Make the work tree and the index dirty. Changes meant to be staged
    /// come first and are added; the others come after, so a path can be
    /// staged and then changed again.
    fn dirty(&self, repo: &TestRepo) {
        let mut staged = BTreeSet::new();
        let mut rm_cached = BTreeSet::new();
        let mut intent = BTreeSet::new();
        let ops = || self.dirty.iter().enumerate();
        let first = ops().filter(|(_, op)| matches!(op.0, 1 | 3 | 7 | 9));
        let second = ops().filter(|(_, op)| !matches!(op.0, 1 | 3 | 7));
        for (i, &(kind, p, arg)) in first {
            let path = PATHS[p as usize % PATHS.len()];
            match kind {
                1 | 9 => {
                    put_file(repo.path(), path, &content(arg, 100 + i), arg % 3 == 0);
                    staged.insert(path.to_string());
                }
                3 => {
                    rm_cached.insert(path.to_string());
                }
                _ => {
                    let path = format!("new-{}", PATHS[p as usize % PATHS.len()].replace('/', "-"));
                    put_file(repo.path(), &path, &content(arg, 100 + i), false);
                    intent.insert(path);
                }
            }
        }
        if !rm_cached.is_empty() {
            let mut args = vec!["rm", "-q", "-r", "-f", "--cached", "--ignore-unmatch", "--"];
            args.extend(rm_cached.iter().map(String::as_str));
            repo.git(&args);
        }
        let staged: Vec<&str> = staged
            .iter()
            .map(String::as_str)
            .filter(|p| is_file_or_link(&repo.path().join(p)))
            .collect();
        if !staged.is_empty() {
            let mut args = vec!["add", "-A", "--"];
            args.extend(staged);
            repo.git(&args);
        }
        let intent: Vec<&str> = intent
            .iter()
            .map(String::as_str)
            .filter(|p| is_file_or_link(&repo.path().join(p)))
            .collect();
        if !intent.is_empty() {
            let mut args = vec!["add", "-N", "--"];
            args.extend(intent);
            repo.git(&args);
        }
        for (i, &(kind, p, arg)) in second {
            let path = PATHS[p as usize % PATHS.len()];
            let abs = repo.path().join(path);
            match kind {
                0 | 9 => put_file(repo.path(), path, &content(arg, 200 + i), false),
                2 => remove_any(&abs),
                4 => {
                    if let Ok(meta) = fs::symlink_metadata(&abs) {
                        if meta.is_file() {
                            let mode = meta.permissions().mode() ^ 0o111;
                            fs::set_permissions(&abs, fs::Permissions::from_mode(mode))
                                .expect("chmod");
                        }
                    }
                }
                5 => put_link(
                    repo.path(),
                    path,
                    LINK_TARGETS[arg as usize % LINK_TARGETS.len()],
                ),
                6 => {
                    let ignored = if arg % 2 == 0 {
                        format!("{path}.log")
                    } else {
                        format!("ignored/{}", path.replace('/', "-"))
                    };
                    put_file(repo.path(), &ignored, &content(arg, 300 + i), arg % 3 == 0);
                }
                8 => {
                    let dir = format!("{path}-empty/{}", arg % 3);
                    if !abs.parent().is_some_and(|p| p.is_file()) {
                        let _ = fs::create_dir_all(repo.path().join(dir));
                    }
                }
                _ => {
                    // An untracked file at a path no branch has.
                    let path = format!("untracked/{}", path.replace('/', "-"));
                    put_file(repo.path(), &path, &content(arg, 400 + i), arg % 2 == 0);
                }
            }
        }
    }
}

fn is_file_or_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir())
}

fn remove_any(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).expect("remove dir"),
        Ok(_) => fs::remove_file(path).expect("remove file"),
        Err(_) => {}
    }
}

/// Make room for an entry at `rel`: files or symlinks in the way of its
/// parents and whatever is at `rel` itself go.
fn make_room(root: &Path, rel: &str) {
    let mut at = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(&at).expect("remove a file in the way");
        }
    }
    if let Some(parent) = root.join(rel).parent() {
        fs::create_dir_all(parent).expect("create parents");
    }
    remove_any(&root.join(rel));
}

fn put_file(root: &Path, rel: &str, data: &[u8], exec: bool) {
    make_room(root, rel);
    let abs = root.join(rel);
    fs::write(&abs, data).expect("write file");
    let mode = if exec { 0o755 } else { 0o644 };
    fs::set_permissions(&abs, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn put_link(root: &Path, rel: &str, target: &str) {
    make_room(root, rel);
    symlink(target, root.join(rel)).expect("symlink");
}

// ----- the properties --------------------------------------------------------

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 400,
        ..Config::default()
    }
}

fn check(cond: bool, what: &str, out: &ToolOutput) -> Result<(), TestCaseError> {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!("{what}\n{out}")))
    }
}

/// Run `args`, then `undo`, and demand the state from before. A refusal
/// must change nothing and say why in one line.
fn round_trip(repo: &TestRepo, args: &[&str]) -> Result<ToolOutput, TestCaseError> {
    let before = repo.capture();
    let out = repo.tool(args);
    match out.code {
        // Nothing for nothing (docs/invariants.md, I11): nothing recorded,
        // nothing to undo.
        0 if out.stdout.contains("Nothing to do") => {}
        0 => {
            let undone = repo.tool(&["undo"]);
            check(undone.success(), "undo failed", &undone)?;
        }
        3 if args[0] == "recover" => {
            let aborted = repo.tool(&["recover", "--abort"]);
            check(aborted.success(), "recover --abort failed", &aborted)?;
        }
        _ => {
            check(
                out.stderr.trim_end().lines().count() == 1,
                "a refusal is one line",
                &out,
            )?;
        }
    }
    let after = repo.capture();
    let diff = without_reports(&before).diff(&without_reports(&after));
    if !diff.is_empty() {
        return Err(TestCaseError::fail(format!(
            "`{}` then undo changed the repository:\n{}\n{out}",
            args.join(" "),
            diff.join("\n")
        )));
    }
    Ok(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn emergency_then_undo_restores_everything(s in scenario(ALL_DIRTY)) {
        let built = s.build();
        let out = round_trip(&built.repo, &["emergency"])?;
        prop_assert_eq!(out.code, 0, "{}", out);
    }

    #[test]
    fn emergency_clean_ignored_then_undo_restores_everything(s in scenario(ALL_DIRTY)) {
        let built = s.build();
        let out = round_trip(&built.repo, &["emergency", "--clean-ignored"])?;
        prop_assert_eq!(out.code, 0, "{}", out);
    }

    #[test]
    fn sprint_rollback_then_undo_restores_everything(s in scenario(ALL_DIRTY)) {
        let built = s.build();
        let out = round_trip(&built.repo, &["sprint", "rollback", "1", "--no-tests"])?;
        prop_assert_eq!(out.code, 0, "{}", out);
    }

    #[test]
    fn checkpoint_wip_then_undo_restores_everything(s in scenario(ALL_DIRTY)) {
        let built = s.build();
        let before = built.repo.capture();
        let out = built.repo.tool(&["checkpoint", "--wip"]);
        prop_assert_eq!(out.code, 0, "{}", out);
        // The work tree, the index and HEAD are not touched; one tag more.
        let mut after = built.repo.capture();
        let tag = after
            .refs
            .keys()
            .find(|r| r.starts_with("refs/tags/checkpoint-"))
            .cloned();
        prop_assert!(tag.is_some(), "no checkpoint tag\n{}", out);
        after.refs.remove(&tag.unwrap_or_default());
        prop_assert!(before.diff(&after).is_empty(), "{}", before.diff(&after).join("\n"));
        let undone = built.repo.tool(&["undo"]);
        prop_assert!(undone.success(), "{}", undone);
        assert_same_state(&before, &built.repo.capture());
    }

    #[test]
    fn recover_all_then_undo_restores_everything(s in scenario(UNTRACKED_DIRTY)) {
        // On `main`, recovering the sprint branch's commits.
        let built = Scenario { on_sprint: false, ..s }.build();
        // An ignored file inside what was a tracked file's place makes a
        // tracked change, which recover refuses.
        let tracked_changes = !built
            .repo
            .git(&["status", "--porcelain", "--untracked-files=no"])
            .is_empty();
        let out = round_trip(
            &built.repo,
            &["recover", "refactor/sprint-1", "--all", "--no-tests"],
        )?;
        if tracked_changes {
            prop_assert!(out.code == 1 && out.stderr.contains("uncommitted changes"), "{}", out);
        } else if out.code == 0 && out.stdout.contains("nothing to recover") {
            // Every sprint commit made the same change as one on main.
            let cherry = built.repo.git(&["cherry", "main", "refactor/sprint-1"]);
            prop_assert!(cherry.lines().all(|l| l.starts_with('-')), "{}\n{}", cherry, out);
        } else {
            prop_assert!(matches!(out.code, 0 | 3), "{}", out);
        }
    }

    #[test]
    fn files_is_git_checkout_and_undo_restores_everything(
        s in scenario(ALL_DIRTY),
        picks in prop::collection::vec(any::<u8>(), 1..=3),
    ) {
        let built = s.build();
        let repo = &built.repo;
        // Paths the baseline has: its files, symlinks and directories.
        let mut known: BTreeSet<String> = BTreeSet::new();
        for path in built.baseline_tree.keys() {
            known.insert(path.clone());
            let mut dir = path.as_str();
            while let Some(i) = dir.rfind('/') {
                dir = &dir[..i];
                known.insert(dir.to_string());
            }
        }
        let known: Vec<String> = known.into_iter().collect();
        prop_assume!(!known.is_empty());
        let paths: BTreeSet<&str> =
            picks.iter().map(|i| known[*i as usize % known.len()].as_str()).collect();
        let paths: Vec<&str> = paths.into_iter().collect();

        let by_git = repo.copy();
        let mut git_args = vec!["checkout", "baseline", "--"];
        git_args.extend(&paths);
        let git_out = by_git.git_output(&git_args);

        let before = repo.capture();
        let mut args = vec!["files", "--no-tests"];
        args.extend(&paths);
        let out = repo.tool(&args);
        // Unlike git, a path whose parent is a symlink in the work tree is
        // refused (README: Level 3 — `files`), whatever the symlink points at.
        let through_link = paths.iter().any(|p| {
            p.match_indices('/')
                .any(|(i, _)| repo.path().join(&p[..i]).is_symlink())
        });
        if through_link {
            prop_assert!(out.code == 1 && out.stderr.contains("through a symlink"), "{}", out);
        } else if git_out.status.success() {
            prop_assert_eq!(out.code, 0, "{}", out);
            let ours = without_reports(&repo.capture());
            let theirs = without_reports(&by_git.capture());
            let diff = theirs.diff(&ours);
            prop_assert!(
                diff.is_empty(),
                "files {:?} differs from git checkout:\n{}\n{}",
                paths,
                diff.join("\n"),
                out
            );
            // Paths that already match: nothing recorded, nothing to undo.
            if !out.stdout.contains("Nothing to do") {
                let undone = repo.tool(&["undo"]);
                prop_assert!(undone.success(), "{}", undone);
            }
        } else {
            // git refused (e.g. an unmerged path): so do we, changing nothing.
            prop_assert_ne!(out.code, 0, "git refused: {}\n{}",
                String::from_utf8_lossy(&git_out.stderr), out);
        }
        let diff = without_reports(&before).diff(&without_reports(&repo.capture()));
        prop_assert!(diff.is_empty(), "files then undo:\n{}\n{}", diff.join("\n"), out);
    }
}
