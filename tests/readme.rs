//! Every command the README shows being typed runs here.
//!
//! The README's example sessions are ```` ```console ```` blocks: lines that
//! start with `$ ` are typed (a trailing `\` continues one), the lines after
//! one are what it prints. A comment line `<!-- test: SETUP -->` right
//! before a block names the repository it runs in (see [`setup`]); every
//! block starts in the directory that holds `my-project/`, in a sandbox with
//! its own HOME and git config and the tool on PATH as `git-rollback-sprint`
//! (so `git rollback-sprint …` works as it does for a user).
//!
//! Each command must exit 0, or the code its `# exit N` comment names, and
//! each printed line shown must appear in what it printed, in order, where
//! `…` stands for anything. Blocks of `sh` are the two commands at the top:
//! `.ci/run` runs those very lines (`<!-- test: ci -->`).
//!
//! `README_SHOW=1` prints what each command printed, for writing examples.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::common::{TestRepo, TOOL_BIN};

const README: &str = include_str!("../README.md");

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    setup: String,
    steps: Vec<Step>,
}

#[derive(Debug)]
struct Step {
    command: String,
    exit: i32,
    shown: Vec<String>,
}

/// A shell block: its line, its info string and its test marker.
type ShellBlock = (usize, String, Option<String>);

/// The fenced blocks of the README: console blocks with their steps, and
/// every other fence that looks like a shell.
fn parse(readme: &str) -> (Vec<Block>, Vec<ShellBlock>) {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut shells = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let info = info.trim().to_string();
        let marker = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().strip_prefix("<!-- test:"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(|l| l.trim().to_string());
        let start = i;
        i += 1;
        let mut body = Vec::new();
        while i < lines.len() && !lines[i].starts_with("```") {
            body.push(lines[i]);
            i += 1;
        }
        i += 1;
        match info.as_str() {
            "console" => blocks.push(Block {
                line: start + 1,
                setup: marker.unwrap_or_default(),
                steps: steps(&body),
            }),
            "sh" | "bash" | "shell" | "zsh" | "fish" => shells.push((start + 1, info, marker)),
            _ => {}
        }
    }
    (blocks, shells)
}

fn steps(body: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for line in body {
        if continuing {
            if let Some(step) = steps.last_mut() {
                step.command.push('\n');
                step.command.push_str(line);
                continuing = line.ends_with('\\');
            }
        } else if let Some(command) = line.strip_prefix("$ ") {
            let exit = command
                .rsplit_once("# exit ")
                .and_then(|(_, n)| n.trim().parse().ok())
                .unwrap_or(0);
            steps.push(Step {
                command: command.to_string(),
                exit,
                shown: Vec::new(),
            });
            continuing = command.ends_with('\\');
        } else if !line.trim().is_empty() {
            if let Some(step) = steps.last_mut() {
                step.shown.push(line.trim().to_string());
            }
        }
    }
    steps
}

/// Whether `actual` holds the pieces of `shown` (split at `…`) in order.
fn line_matches(shown: &str, actual: &str) -> bool {
    let mut rest = actual;
    for piece in shown.split('…').map(str::trim).filter(|p| !p.is_empty()) {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Each shown line in `output`, in order; the first one missing.
fn first_missing<'a>(shown: &'a [String], output: &str) -> Option<&'a str> {
    let mut lines = output.lines();
    'shown: for want in shown {
        for line in lines.by_ref() {
            if line_matches(want, line) {
                continue 'shown;
            }
        }
        return Some(want);
    }
    None
}

// ----- the repositories the examples start from -------------------------------

const APP_V1: &str = "def parse(text):\n    return text.split(\",\")\n";
const APP_BROKEN: &str = "def parse(text):\n    return text.split(\";\")  # new format\n";
const TEST_SH: &str = "#!/bin/sh\n# The project's tests: the parser splits on commas.\ngrep -q 'split(\",\")' src/app.py && echo \"1 passed\" || { echo \"1 failed\"; exit 1; }\n";

/// `project`: a small project with two commits and its tests configured
/// (`rollback.testCommand = sh test.sh` in the user's git config).
/// `sprint`: that project with a `baseline` tag, the failed sprint
/// `refactor/sprint-3` checked out (a good commit, then one that breaks the
/// tests), and a dirty work tree: a staged change, an unstaged one, an
/// untracked file and an ignored `.env`.
fn setup(name: &str) -> TestRepo {
    let repo = TestRepo::named("my-project");
    repo.git(&["config", "--global", "rollback.testCommand", "sh test.sh"]);
    repo.write(".gitignore", ".env\n*.log\nbuild/\n");
    repo.write("README.md", "# my-project\n");
    repo.write("test.sh", TEST_SH);
    repo.commit_all("Initial commit");
    repo.write("src/app.py", APP_V1);
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit_all("Add the parser");
    match name {
        "project" => {}
        "sprint" => {
            repo.git(&["tag", "-a", "baseline", "-m", "last green build"]);
            repo.git(&["switch", "-q", "-c", "refactor/sprint-3"]);
            repo.write("src/util.py", "def strip(s):\n    return s.strip()\n");
            repo.commit_all("Add a strip helper");
            repo.write("src/app.py", APP_BROKEN);
            repo.commit_all("Switch the parser to semicolons");
            repo.write("docs/guide.md", "# Guide\n\nSemicolons now.\n");
            repo.git(&["add", "docs/guide.md"]);
            repo.write("src/util.py", "def strip(s):\n    return s.strip(\" \")\n");
            repo.write("notes.txt", "try the other tokenizer\n");
            repo.write(".env", "API_KEY=do-not-lose-me\n");
        }
        other => panic!("README block: unknown setup `{other}`"),
    }
    repo
}

/// Run one block in its sandbox; the first failure, described.
fn run_block(block: &Block) -> Result<(), String> {
    let repo = setup(&block.setup);
    let root = repo.root();
    let bin = root.join("bin");
    fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    symlink(TOOL_BIN, bin.join("git-rollback-sprint")).map_err(|e| e.to_string())?;
    let out_dir = root.join("readme-out");
    fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    // One shell for the block, so `cd` carries over; each command's output
    // and exit code go to files of their own.
    let mut script = String::from("cd \"$README_ROOT\" || exit 99\n");
    for (n, step) in block.steps.iter().enumerate() {
        script.push_str(&format!(
            "{{\n{}\n}} >\"$README_OUT/{n}\" 2>&1 </dev/null\necho $? >\"$README_OUT/{n}.code\"\n",
            step.command
        ));
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("--norc").arg("--noprofile").arg("-c").arg(&script);
    repo.apply_env(&mut cmd);
    cmd.env("PATH", path)
        .env("README_ROOT", root)
        .env("README_OUT", &out_dir);
    let status = cmd.status().map_err(|e| format!("cannot run bash: {e}"))?;
    if !status.success() {
        return Err(format!("the block's shell failed: {status}"));
    }
    for (n, step) in block.steps.iter().enumerate() {
        let output = read(&out_dir.join(n.to_string()));
        let code: i32 = read(&out_dir.join(format!("{n}.code")))
            .trim()
            .parse()
            .unwrap_or(-1);
        if std::env::var_os("README_SHOW").is_some() {
            eprintln!("$ {}\n{output}[exit {code}]\n", step.command);
        }
        if code != step.exit {
            return Err(format!(
                "`{}` exited {code}, the README says {}:\n{output}",
                step.command, step.exit
            ));
        }
        if let Some(missing) = first_missing(&step.shown, &output) {
            return Err(format!(
                "`{}` did not print the README's line\n  {missing}\nit printed:\n{output}",
                step.command
            ));
        }
    }
    Ok(())
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned()
}

#[test]
fn every_console_block_names_its_setup_and_every_shell_block_is_run_by_ci() {
    let (blocks, shells) = parse(README);
    assert!(
        blocks.len() >= 7,
        "the README has {} example sessions",
        blocks.len()
    );
    for b in &blocks {
        assert!(
            !b.setup.is_empty(),
            "README.md:{}: a console block needs `<!-- test: SETUP -->` before it",
            b.line
        );
        assert!(!b.steps.is_empty(), "README.md:{}: no `$ ` command", b.line);
    }
    for (line, info, marker) in &shells {
        assert_eq!(
            marker.as_deref(),
            Some("ci"),
            "README.md:{line}: a ```{info} block must be a console session or run by .ci/run"
        );
    }
}

#[test]
fn the_ci_script_runs_the_readmes_two_commands() {
    let ci = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
        .expect("read .ci/run");
    assert!(
        ci.contains("readme_commands"),
        ".ci/run should take its commands from the README"
    );
    let (_, shells) = parse(README);
    assert_eq!(
        shells.len(),
        1,
        "one sh block at the top: install + demo, and the tests"
    );
}

#[test]
fn the_matcher_wants_each_piece_in_order() {
    assert!(line_matches(
        "Stashed … as stash@{0}",
        "Stashed 4 files as stash@{0}"
    ));
    assert!(!line_matches(
        "as stash@{0} … Stashed",
        "Stashed 4 files as stash@{0}"
    ));
    assert!(line_matches("…", "anything"));
    let shown = vec!["one".to_string(), "three".to_string()];
    assert_eq!(first_missing(&shown, "one\ntwo\nthree\n"), None);
    assert_eq!(first_missing(&shown, "three\none\n"), Some("three"));
}

macro_rules! readme_blocks {
    ($($name:ident: $index:expr,)*) => {$(
        #[test]
        fn $name() {
            let (blocks, _) = parse(README);
            let Some(block) = blocks.get($index) else {
                panic!("the README has no console block #{}", $index + 1);
            };
            if let Err(e) = run_block(block) {
                panic!("README.md:{} (setup `{}`): {e}", block.line, block.setup);
            }
        }
    )*};
}

// One test per block, so they run in parallel and fail one by one.
readme_blocks! {
    readme_block_1: 0,
    readme_block_2: 1,
    readme_block_3: 2,
    readme_block_4: 3,
    readme_block_5: 4,
    readme_block_6: 5,
    readme_block_7: 6,
    readme_block_8: 7,
    readme_block_9: 8,
    readme_block_10: 9,
    readme_block_11: 10,
}

#[test]
fn no_block_is_left_without_a_test() {
    let (blocks, _) = parse(README);
    assert!(
        blocks.len() <= 11,
        "the README has {} console blocks: add readme_block_{} to tests/readme.rs",
        blocks.len(),
        blocks.len()
    );
}
