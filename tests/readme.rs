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
//! The sessions are shell sessions (`cd`, redirections, pipes, `$HOME`),
//! and one file's blocks each need a repository of their own, which
//! trycmd's own reading of markdown cannot give. So a block is set up
//! here and run by trycmd as one case ([`write_case`]): bash runs the
//! block's commands in one shell, printing each command, what it printed
//! and `? CODE`; the expected transcript is the block in trycmd's
//! patterns, and trycmd does the matching and shows the difference.
//! trycmd reads a `\` as `/` on both sides (its filter for Windows
//! paths), so output that differs only there goes unseen.
//!
//! `README_SHOW=1` prints each passing block's whole transcript, for
//! writing examples; a failing block's difference shows it anyway.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
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

/// A shown line as a trycmd pattern: `…` and either end match anything
/// within the line (`[..]`).
fn pattern(shown: &str) -> String {
    let pieces: Vec<&str> = shown
        .split('…')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    format!("[..]{}[..]", pieces.join("[..]"))
}

/// What the block must print: each command as typed, then its shown lines
/// among any others (`...` stands for any lines), then `? CODE`.
fn expected(block: &Block) -> String {
    let mut out = String::new();
    for step in &block.steps {
        out.push_str(&format!("$ {}\n...\n", step.command));
        for shown in &step.shown {
            out.push_str(&format!("{}\n...\n", pattern(shown)));
        }
        out.push_str(&format!("? {}\n", step.exit));
    }
    out
}

/// The shell script that prints the block's transcript: each command as
/// typed, what it printed (stdout and stderr, ending in a newline) and
/// `? CODE`, in one shell so that `cd` and `export` carry over; the
/// transcript is also kept in `$README_ROOT/transcript`.
fn script(block: &Block) -> String {
    let mut script = String::from("cd \"$README_ROOT\" || exit 99\n{\n");
    for step in &block.steps {
        script.push_str(&format!(
            "printf '%s\\n' {}\n{{\n{}\n}} >\"$README_OUT\" 2>&1 </dev/null\n\
             code=$?\ncat \"$README_OUT\"\n\
             [ -z \"$(tail -c 1 \"$README_OUT\")\" ] || echo\n\
             echo \"? $code\"\n",
            quote(&format!("$ {}", step.command)),
            step.command
        ));
    }
    script.push_str("} | tee \"$README_ROOT/transcript\"\n");
    script
}

/// `text` in single quotes, for the shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Set up `block`'s repository and write its trycmd case into the
/// sandbox: `case.toml` runs bash on `case.sh`, which takes the sandbox's
/// environment and runs the block; `case.stdout` is what it must print.
fn write_case(repo: &TestRepo, block: &Block) -> PathBuf {
    let root = repo.root();
    let bin = root.join("bin");
    let case = root.join("case");
    for dir in [&bin, &case] {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }
    symlink(TOOL_BIN, bin.join("git-rollback-sprint")).expect("put the tool on PATH");
    // The sandbox, as `TestRepo::apply_env` sets it on a command, with
    // the tool on PATH.
    let mut sandbox = Command::new("bash");
    repo.apply_env(&mut sandbox);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sandbox
        .env("PATH", path)
        .env("README_ROOT", root)
        .env("README_OUT", root.join("command-output"));
    let mut sh = String::new();
    for (name, value) in sandbox.get_envs() {
        let name = name.to_string_lossy();
        match value {
            Some(value) => {
                let value = quote(&value.to_string_lossy());
                sh.push_str(&format!("export {name}={value}\n"));
            }
            None => sh.push_str(&format!("unset {name}\n")),
        }
    }
    sh.push_str(&script(block));
    // A path, not a name: trycmd skips, and so passes, a case whose
    // program it cannot find by name. (JSON's string escapes are TOML's.)
    let toml_str = |path: &Path| serde_json::Value::from(path.display().to_string()).to_string();
    let toml = format!(
        "bin.path = {}\nargs = [\"--norc\", \"--noprofile\", {}]\n",
        toml_str(&bash()),
        toml_str(&case.join("case.sh"))
    );
    for (file, text) in [
        ("case.toml", toml),
        ("case.sh", sh),
        ("case.stdout", expected(block)),
    ] {
        fs::write(case.join(file), text).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }
    case.join("case.toml")
}

/// bash, from PATH.
fn bash() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("bash"))
        .find(|bash| bash.is_file())
        .expect("bash on PATH")
}

/// Run `block` in its sandbox; trycmd fails the test, showing the
/// difference, when a command printed other than the README says.
fn run_block(block: &Block) {
    // The README is the snapshot: trycmd's overwrite would rewrite only
    // the copy made here, and pass.
    assert!(
        std::env::var_os("TRYCMD").is_none_or(|mode| mode != "overwrite"),
        "TRYCMD=overwrite cannot update the README: edit README.md"
    );
    let repo = setup(&block.setup);
    let case = write_case(&repo, block);
    trycmd::TestCases::new().case(&case).run();
    if std::env::var_os("README_SHOW").is_some() {
        eprintln!("{}", read(&repo.root().join("transcript")));
    }
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
fn a_shown_line_matches_its_pieces_in_order_within_one_line() {
    assert_eq!(
        pattern("Stashed … as stash@{0}"),
        "[..]Stashed[..]as stash@{0}[..]"
    );
    assert_eq!(pattern("…"), "[..][..]");
    let block = Block {
        line: 1,
        setup: "project".to_string(),
        steps: steps(&["$ git x   # exit 4", "one", "two"]),
    };
    assert_eq!(
        expected(&block),
        "$ git x   # exit 4\n...\n[..]one[..]\n...\n[..]two[..]\n...\n? 4\n"
    );
}

/// A block the tool does not print as shown fails: a line it does not
/// print, lines out of order, another exit code. The same block as
/// printed passes.
#[test]
fn a_block_fails_when_the_output_or_the_exit_code_differs() {
    let block = |lines: &[&str]| Block {
        line: 0,
        setup: "project".to_string(),
        steps: steps(lines),
    };
    let passes = |block: &Block| std::panic::catch_unwind(|| run_block(block)).is_ok();
    let typed = "$ git rollback-sprint --version";
    assert!(passes(&block(&[typed, "git-rollback-sprint …"])));
    for lines in [
        &[typed, "git-rollback-sprint 9.9.9"][..],
        &[typed, "git-rollback-sprint", "git-rollback-sprint"],
        &["$ git rollback-sprint --version   # exit 2"],
        &["$ git rollback-sprint --no-such-flag"],
    ] {
        assert!(!passes(&block(lines)), "{lines:?} passed");
    }
}

macro_rules! readme_blocks {
    ($($name:ident: $index:expr,)*) => {$(
        #[test]
        fn $name() {
            let (blocks, _) = parse(README);
            let Some(block) = blocks.get($index) else {
                panic!("the README has no console block #{}", $index + 1);
            };
            eprintln!("README.md:{} (setup `{}`)", block.line, block.setup);
            run_block(block);
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
    readme_block_12: 11,
    readme_block_13: 12,
}

#[test]
fn no_block_is_left_without_a_test() {
    let (blocks, _) = parse(README);
    assert!(
        blocks.len() <= 13,
        "the README has {} console blocks: add readme_block_{} to tests/readme.rs",
        blocks.len(),
        blocks.len()
    );
}
