//! Shell completions (`completions bash|zsh|fish`): each script loads in
//! its shell without a syntax error and completes commands and flags; bash
//! and fish are driven as a user's TAB would drive them.
//!
//! zsh and fish are optional on a developer's machine (CI installs them): a
//! test whose shell is missing says so on stderr and checks the script's
//! content instead.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{TestRepo, ToolOutput};
use crate::man::listed_commands;

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Generates the script for `shell` and writes it into the sandbox.
fn script(repo: &TestRepo, shell: &str) -> (String, std::path::PathBuf) {
    let out = repo.tool_ok(&["completions", shell]);
    let path = repo.tmp_dir().join(format!("completion.{shell}"));
    std::fs::write(&path, &out.stdout).expect("write the script");
    (out.stdout, path)
}

/// Runs `program args…` in the sandbox (temporary HOME, no user config).
fn shell(repo: &TestRepo, program: &str, args: &[&str]) -> ToolOutput {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(repo.path());
    repo.apply_env(&mut cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    ToolOutput::from_output(out)
}

/// Every command appears in the script (the check that stands in for
/// loading it when the shell is missing).
#[track_caller]
fn assert_names_every_command(repo: &TestRepo, text: &str) {
    for cmd in listed_commands(repo, &[]) {
        assert!(text.contains(&cmd), "the script does not name {cmd}");
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Completes the words of `line` (the last one being completed; end the
/// line with a space to complete a new word) with the function bash would
/// call, and prints the candidates, one per line.
const BASH_DRIVER: &str = r#"
complete_line() {
    read -r -a COMP_WORDS <<<"$1"
    [[ $1 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$1
    COMP_POINT=${#1}
    COMPREPLY=()
    local spec func
    spec=$(complete -p "${COMP_WORDS[0]}")
    func=${spec##*-F }
    func=${func%% *}
    "$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}"
}
"#;

fn bash_complete(repo: &TestRepo, script: &Path, extra: &str, line: &str) -> Vec<String> {
    let program = format!(
        "source {}\n{extra}\n{BASH_DRIVER}\ncomplete_line '{line}'",
        path_str(script)
    );
    let out = shell(repo, "bash", &["--norc", "--noprofile", "-c", &program]);
    out.assert_ok();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn bash_script_loads_and_completes_commands_flags_and_values() {
    let repo = TestRepo::new();
    let (text, path) = script(&repo, "bash");
    assert_names_every_command(&repo, &text);
    shell(&repo, "bash", &["-n", path_str(&path)]).assert_ok();
    let spec = shell(
        &repo,
        "bash",
        &[
            "--norc",
            "--noprofile",
            "-c",
            &format!(
                "source {} && complete -p git-rollback-sprint",
                path_str(&path)
            ),
        ],
    );
    spec.assert_ok()
        .assert_stdout_contains("-F ")
        .assert_stdout_contains(" git-rollback-sprint");

    let complete = |line: &str| bash_complete(&repo, &path, "", line);
    assert_eq!(complete("git-rollback-sprint sp"), ["sprint"]);
    let top = complete("git-rollback-sprint ");
    for cmd in listed_commands(&repo, &[]) {
        assert!(top.contains(&cmd), "{cmd} is not offered: {top:?}");
    }
    // Below a command: its subcommands, its flags, the global flags.
    let sprint = complete("git-rollback-sprint sprint ");
    for word in ["start", "rollback", "finish", "--dry-run", "--json"] {
        assert!(sprint.iter().any(|w| w == word), "{word}: {sprint:?}");
    }
    let rollback = complete("git-rollback-sprint sprint rollback --re");
    assert!(rollback.contains(&"--reason".to_string()), "{rollback:?}");
    assert!(
        rollback.contains(&"--recovery-minutes".to_string()),
        "{rollback:?}"
    );
    assert_eq!(
        complete("git-rollback-sprint baseline set --me"),
        ["--message"]
    );
    assert_eq!(
        complete("git-rollback-sprint --color "),
        ["auto", "always", "never"]
    );
    assert_eq!(complete("git-rollback-sprint completions f"), ["fish"]);
    assert_eq!(complete("git-rollback-sprint man --i"), ["--install"]);
}

/// git's bash completion calls `_git_rollback_sprint` for
/// `git rollback-sprint …`, which the script defines.
#[test]
fn bash_script_completes_the_git_subcommand_form() {
    let repo = TestRepo::new();
    let (_, path) = script(&repo, "bash");
    let git_completion = [
        "/usr/share/bash-completion/completions/git",
        "/usr/share/git-core/contrib/completion/git-completion.bash",
        "/etc/bash_completion.d/git",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file());
    let Some(git_completion) = git_completion else {
        crate::common::skip(
            "git's bash completion is not installed; not checking `git rollback-sprint <TAB>`",
            true,
        );
        return;
    };
    let extra = format!("source {}", path_str(git_completion));
    let complete = |line: &str| bash_complete(&repo, &path, &extra, line);
    assert_eq!(complete("git rollback-sprint sp"), ["sprint "]);
    assert_eq!(
        complete("git -C . rollback-sprint sprint ro"),
        ["rollback "]
    );
    assert_eq!(complete("git rollback-sprint --color al"), ["always "]);
}

#[test]
fn zsh_script_loads_and_registers_its_function() {
    let repo = TestRepo::new();
    let (text, path) = script(&repo, "zsh");
    assert_names_every_command(&repo, &text);
    assert!(text.starts_with("#compdef git-rollback-sprint"), "{text}");
    assert!(
        text.contains("_git-rollback-sprint()"),
        "the function git's zsh completion calls"
    );
    if !have("zsh") {
        crate::common::skip(
            "zsh is not installed; checked the script's content only",
            true,
        );
        return;
    }
    shell(&repo, "zsh", &["-n", path_str(&path)]).assert_ok();
    let dump = repo.tmp_dir().join("zcompdump");
    let program = format!(
        "autoload -U compinit && compinit -u -d {} && source {} && print -r -- $_comps[git-rollback-sprint]",
        path_str(&dump),
        path_str(&path)
    );
    let out = shell(&repo, "zsh", &["-f", "-c", &program]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "_git-rollback-sprint", "{out}");
    // Paths complete as paths: -C a directory, `files` any file.
    assert!(text.contains("'-C+[Run as if started in <PATH> (like git -C)]:PATH:_files -/'"));
}

/// zsh's own git completion calls `_git-rollback-sprint` for
/// `git rollback-sprint …`: typed into an interactive zsh in a
/// pseudo-terminal (zsh's zpty), TAB completes through the script.
#[test]
fn zsh_completes_the_git_subcommand_form() {
    let repo = TestRepo::new();
    let (_, path) = script(&repo, "zsh");
    if !have("zsh") {
        crate::common::skip("zsh is not installed", true);
        return;
    }
    let fpath = repo.tmp_dir().join("zfunc");
    std::fs::create_dir_all(&fpath).expect("mkdir");
    std::fs::copy(&path, fpath.join("_git-rollback-sprint")).expect("copy the script");
    let complete = |typed: &str| -> String {
        // TAB, then go to the start of the line and make it print itself;
        // `DONE-$((1+1))` tells the output from the echo of the input.
        let driver = format!(
            r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; fpath=({fpath} $fpath); autoload -U compinit; compinit -u -d {dump}; setopt nobeep'
zpty -w -n z '{typed}'$'\t\C-aprint -r -- DONE-$((1+1)) \n'
zpty -r z out "*DONE-2 *"$'\n'
zpty -d z
print -r -- "${{${{out##*DONE-2 }}%%$'\r'*}}""#,
            fpath = path_str(&fpath),
            dump = path_str(&repo.tmp_dir().join("zcompdump")),
        );
        let mut cmd = Command::new("timeout");
        cmd.args(["60", "zsh", "-f", "-c", &driver])
            .current_dir(repo.path());
        repo.apply_env(&mut cmd);
        let out = ToolOutput::from_output(cmd.stdin(Stdio::null()).output().expect("run zsh"));
        out.assert_ok();
        out.stdout.trim_end().to_string()
    };
    assert_eq!(
        complete("git rollback-sprint spr"),
        "git rollback-sprint sprint"
    );
    assert_eq!(
        complete("git rollback-sprint sprint rollback --rea"),
        "git rollback-sprint sprint rollback --reason"
    );
    assert_eq!(
        complete("git rollback-sprint --color al"),
        "git rollback-sprint --color always"
    );
}

#[test]
fn fish_script_loads_and_completes_commands_and_flags() {
    let repo = TestRepo::new();
    let (text, path) = script(&repo, "fish");
    assert_names_every_command(&repo, &text);
    if !have("fish") {
        crate::common::skip(
            "fish is not installed; checked the script's content only",
            true,
        );
        return;
    }
    shell(&repo, "fish", &["--no-execute", path_str(&path)]).assert_ok();
    let complete = |line: &str| -> Vec<String> {
        let program = format!("source {}; complete -C '{line}'", path_str(&path));
        let out = shell(&repo, "fish", &["--no-config", "-c", &program]);
        out.assert_ok();
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(complete("git-rollback-sprint sp"), ["sprint"]);
    let top = complete("git-rollback-sprint ");
    for cmd in listed_commands(&repo, &[]) {
        assert!(top.contains(&cmd), "{cmd} is not offered: {top:?}");
    }
    let rollback = complete("git-rollback-sprint sprint rollback --re");
    assert!(rollback.contains(&"--reason".to_string()), "{rollback:?}");
    assert_eq!(
        complete("git-rollback-sprint --color=al"),
        ["--color=always"]
    );
}
