//! Shell completions (`completions bash|zsh|fish`): each script loads in
//! its shell without a syntax error and completes commands and flags; bash
//! and fish are driven as a user's TAB would drive them.
//!
//! zsh and fish are optional on a developer's machine (CI installs them): a
//! test whose shell is missing says so on stderr and checks the script's
//! content instead.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{TestRepo, ToolOutput, TOOL_BIN};
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
    let complete = |typed: &str| zsh_tab(&repo, repo.path(), &fpath, typed).0;
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

// ----- values from the repository -------------------------------------------

/// A repository with branches `main` and `feature/x`, a tag, and two
/// journaled operations; returns it with the operations' ids, newest first.
fn repo_with_branches_and_operations() -> (TestRepo, Vec<String>) {
    let repo = TestRepo::with_commits();
    repo.git(&["branch", "feature/x"]);
    repo.git(&["tag", "v1.0"]);
    repo.tool_ok(&["checkpoint", "-m", "first"]);
    repo.tick();
    repo.tool_ok(&["checkpoint", "-m", "second"]);
    let log = repo.tool_ok(&["--json", "log"]).json();
    let ids: Vec<String> = log["operations"]
        .as_array()
        .expect("log lists operations")
        .iter()
        .map(|op| op["id"].as_str().expect("an id").to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{log}");
    (repo, ids)
}

/// `PATH` with the tool's directory first: the scripts run
/// `git-rollback-sprint __complete …` as a user's shell would find it.
fn path_with_tool() -> std::ffi::OsString {
    let bin_dir = Path::new(TOOL_BIN)
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a PATH")
}

/// Runs `program args…` in `dir` in the sandbox, with the tool on `PATH`.
fn shell_in(repo: &TestRepo, dir: &Path, program: &str, args: &[&str]) -> ToolOutput {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    repo.apply_env(&mut cmd);
    cmd.env("PATH", path_with_tool());
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    ToolOutput::from_output(out)
}

/// The shortest start of `id` that no other id shares.
fn unique_prefix(id: &str, ids: &[String]) -> String {
    (1..=id.len())
        .map(|n| &id[..n])
        .find(|p| ids.iter().filter(|i| i.starts_with(p)).count() == 1)
        .expect("ids differ")
        .to_string()
}

#[test]
fn complete_prints_candidates_from_the_repository_and_nothing_outside_one() {
    let (repo, ids) = repo_with_branches_and_operations();
    let lines = |out: ToolOutput| -> Vec<String> {
        out.assert_ok();
        assert!(out.stderr.is_empty(), "{out}");
        out.stdout.lines().map(str::to_string).collect()
    };
    assert_eq!(
        lines(repo.tool(&["__complete", "branches"])),
        ["feature/x", "main"]
    );
    let revisions = lines(repo.tool(&["__complete", "revisions"]));
    for name in ["feature/x", "main", "v1.0"] {
        assert!(revisions.iter().any(|r| r == name), "{name}: {revisions:?}");
    }
    assert_eq!(lines(repo.tool(&["__complete", "operations"])), ids);
    // From a subdirectory: the same repository.
    assert_eq!(
        lines(repo.tool_in(&repo.abs("src"), &["__complete", "operations"])),
        ids
    );

    // Outside a repository, or asked for something unknown: nothing, and
    // success, so a shell shows no noise.
    for kind in ["branches", "revisions", "operations", "no-such-kind"] {
        let out = repo.tool_in(repo.tmp_dir(), &["__complete", kind]);
        assert_eq!(lines(out), Vec::<String>::new(), "{kind}");
    }
    assert_eq!(lines(repo.tool(&["__complete"])), Vec::<String>::new());
    // Not a command: help does not list it.
    let help = repo.tool_ok(&["--help"]);
    assert!(!help.stdout.contains("__complete"), "{help}");
}

fn bash_complete_in(
    repo: &TestRepo,
    dir: &Path,
    script: &Path,
    extra: &str,
    line: &str,
) -> Vec<String> {
    let program = format!(
        "source {}\n{extra}\n{BASH_DRIVER}\ncomplete_line '{line}'",
        path_str(script)
    );
    let out = shell_in(
        repo,
        dir,
        "bash",
        &["--norc", "--noprofile", "-c", &program],
    );
    out.assert_ok();
    assert!(out.stderr.is_empty(), "completing {line:?}\n{out}");
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_branches_and_operations_from_the_repository() {
    let (repo, ids) = repo_with_branches_and_operations();
    let (_, path) = script(&repo, "bash");
    let complete = |line: &str| bash_complete_in(&repo, repo.path(), &path, "", line);
    assert_eq!(
        complete("git-rollback-sprint recover --onto fe"),
        ["feature/x"]
    );
    assert_eq!(complete("git-rollback-sprint recover fe"), ["feature/x"]);
    assert_eq!(
        complete("git-rollback-sprint recover --onto main fe"),
        ["feature/x"]
    );
    assert_eq!(complete("git-rollback-sprint emergency --to v"), ["v1.0"]);
    assert_eq!(
        complete("git-rollback-sprint files --from fe"),
        ["feature/x"]
    );
    // `--onto=v` reaches the function as bash splits it, at the `=`: a
    // revision (a tag here), not the failed branch.
    let program = format!(
        "source {}\nCOMP_WORDS=(git-rollback-sprint recover --onto = v)\nCOMP_CWORD=4\n\
         _git_rollback_sprint_complete git-rollback-sprint v =\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path_str(&path)
    );
    let split = shell_in(
        &repo,
        repo.path(),
        "bash",
        &["--norc", "--noprofile", "-c", &program],
    );
    split.assert_ok();
    assert_eq!(split.stdout, "v1.0\n", "{split}");
    // Newest first, as `log` lists them.
    assert_eq!(complete("git-rollback-sprint undo "), ids);
    assert_eq!(complete("git-rollback-sprint log show "), ids);
    assert_eq!(complete("git-rollback-sprint --json undo "), ids);
    // Flags and other options' values are as before.
    let flags = complete("git-rollback-sprint undo --");
    assert!(flags.iter().any(|f| f == "--force"), "{flags:?}");
    assert_eq!(
        complete("git-rollback-sprint undo --color "),
        ["auto", "always", "never"]
    );

    // Outside a repository: no candidates, no noise, the flags as before.
    let outside = bash_complete_in(
        &repo,
        repo.tmp_dir(),
        &path,
        "",
        "git-rollback-sprint undo ",
    );
    assert!(outside.iter().all(|w| w.starts_with('-')), "{outside:?}");
    let outside = bash_complete_in(
        &repo,
        repo.tmp_dir(),
        &path,
        "",
        "git-rollback-sprint recover --onto fe",
    );
    assert!(!outside.iter().any(|w| w == "feature/x"), "{outside:?}");
}

#[test]
fn bash_completes_repository_values_in_the_git_subcommand_form() {
    let (repo, ids) = repo_with_branches_and_operations();
    let (_, path) = script(&repo, "bash");
    let Some(git_completion) = git_bash_completion() else {
        crate::common::skip(
            "git's bash completion is not installed; not checking `git rollback-sprint <TAB>`",
            true,
        );
        return;
    };
    let extra = format!("source {}", path_str(git_completion));
    let complete = |line: &str| bash_complete_in(&repo, repo.path(), &path, &extra, line);
    assert_eq!(
        complete("git rollback-sprint recover --onto fe"),
        ["feature/x "]
    );
    let with_space: Vec<String> = ids.iter().map(|id| format!("{id} ")).collect();
    assert_eq!(complete("git rollback-sprint undo "), with_space);
    assert_eq!(complete("git rollback-sprint log show "), with_space);

    let outside = bash_complete_in(
        &repo,
        repo.tmp_dir(),
        &path,
        &extra,
        "git rollback-sprint undo ",
    );
    assert!(
        !outside.iter().any(|w| ids.contains(&w.trim().to_string())),
        "{outside:?}"
    );
}

fn git_bash_completion() -> Option<&'static Path> {
    [
        "/usr/share/bash-completion/completions/git",
        "/usr/share/git-core/contrib/completion/git-completion.bash",
        "/etc/bash_completion.d/git",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file())
}

/// Types `typed` into an interactive zsh (zsh's zpty) in `dir`, presses
/// TAB, and returns the line as completed, and everything zsh printed.
/// Types `typed` and TAB into an interactive zsh with the completion
/// script on its `fpath`, then goes to the start of the line and makes it
/// print itself; `DONE-$((1+1))` tells the output from the echo of the
/// input. Returns the completed line and the whole output.
fn zsh_tab(repo: &TestRepo, dir: &Path, fpath: &Path, typed: &str) -> (String, ToolOutput) {
    let driver = format!(
        r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; fpath=({fpath} $fpath); autoload -U compinit; compinit -u -d {dump}; setopt nobeep; unsetopt listambiguous'
zpty -w -n z '{typed}'$'\t\C-aprint -r -- DONE-$((1+1)) \n'
zpty -r z out "*DONE-2 *"$'\n'
zpty -d z
print -r -- "$out""#,
        fpath = path_str(fpath),
        dump = path_str(&repo.tmp_dir().join("zcompdump")),
    );
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "zsh", "-f", "-c", &driver])
        .current_dir(dir);
    repo.apply_env(&mut cmd);
    cmd.env("PATH", path_with_tool());
    let out = ToolOutput::from_output(cmd.stdin(Stdio::null()).output().expect("run zsh"));
    out.assert_ok();
    let all = out.stdout.trim_end();
    let line = all
        .rsplit_once("DONE-2 ")
        .map(|(_, rest)| rest.split('\r').next().unwrap_or("").to_string())
        .unwrap_or_default();
    (line, out)
}

#[test]
fn zsh_completes_branches_and_operations_from_the_repository() {
    let (repo, ids) = repo_with_branches_and_operations();
    let (_, path) = script(&repo, "zsh");
    if !have("zsh") {
        crate::common::skip("zsh is not installed", true);
        return;
    }
    let fpath = repo.tmp_dir().join("zfunc");
    std::fs::create_dir_all(&fpath).expect("mkdir");
    std::fs::copy(&path, fpath.join("_git-rollback-sprint")).expect("copy the script");
    let complete = |typed: &str| zsh_tab(&repo, repo.path(), &fpath, typed).0;
    assert_eq!(
        complete("git rollback-sprint recover --onto fe"),
        "git rollback-sprint recover --onto feature/x"
    );
    assert_eq!(
        complete("git rollback-sprint recover fe"),
        "git rollback-sprint recover feature/x"
    );
    // Each id is offered: its shortest unique start completes to it.
    for id in &ids {
        let start = unique_prefix(id, &ids);
        assert_eq!(
            complete(&format!("git rollback-sprint undo {start}")),
            format!("git rollback-sprint undo {id}")
        );
        assert_eq!(
            complete(&format!("git rollback-sprint log show {start}")),
            format!("git rollback-sprint log show {id}")
        );
    }
    // Both at once: TAB on an empty word lists them, also when the ids
    // share a first character (TAB inserts it; the driver unsets
    // `listambiguous` so that the list comes with it).
    let (_, out) = zsh_tab(&repo, repo.path(), &fpath, "git rollback-sprint undo ");
    for id in &ids {
        assert!(
            out.stdout.contains(id.as_str()),
            "{id} is not listed\n{out}"
        );
    }

    // Outside a repository: nothing offered, no noise.
    let (line, out) = zsh_tab(
        &repo,
        repo.tmp_dir(),
        &fpath,
        "git rollback-sprint recover --onto fe",
    );
    assert_eq!(line, "git rollback-sprint recover --onto fe", "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    for noise in ["error", "not a git repository", "command not found"] {
        assert!(!out.stdout.contains(noise), "{noise}\n{out}");
    }
}

#[test]
fn fish_completes_branches_and_operations_from_the_repository() {
    let (repo, ids) = repo_with_branches_and_operations();
    let (_, path) = script(&repo, "fish");
    if !have("fish") {
        crate::common::skip("fish is not installed", true);
        return;
    }
    let complete_in = |dir: &Path, line: &str| -> Vec<String> {
        let program = format!("source {}; complete -C '{line}'", path_str(&path));
        let out = shell_in(&repo, dir, "fish", &["--no-config", "-c", &program]);
        out.assert_ok();
        assert!(out.stderr.is_empty(), "completing {line:?}\n{out}");
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect()
    };
    let complete = |line: &str| complete_in(repo.path(), line);
    assert_eq!(
        complete("git-rollback-sprint recover --onto fe"),
        ["feature/x"]
    );
    assert_eq!(
        complete("git-rollback-sprint recover --onto=fe"),
        ["--onto=feature/x"]
    );
    assert_eq!(complete("git-rollback-sprint recover fe"), ["feature/x"]);
    assert_eq!(complete("git-rollback-sprint emergency --to v"), ["v1.0"]);
    // Newest first (fish keeps the order given).
    assert_eq!(complete("git-rollback-sprint undo "), ids);
    assert_eq!(complete("git-rollback-sprint log show "), ids);
    let rollback = complete("git-rollback-sprint undo --f");
    assert_eq!(rollback, ["--force"]);

    // Outside a repository: nothing, and no noise.
    assert_eq!(
        complete_in(repo.tmp_dir(), "git-rollback-sprint undo "),
        Vec::<String>::new()
    );
    assert_eq!(
        complete_in(repo.tmp_dir(), "git-rollback-sprint recover --onto fe"),
        Vec::<String>::new()
    );
}

/// A ref name may hold `$(…)` (a tag fetched from elsewhere, say):
/// completing it runs nothing, and bash inserts it quoted.
#[test]
fn a_ref_named_like_a_command_substitution_is_offered_never_run() {
    let (repo, _) = repo_with_branches_and_operations();
    let name = "t$(touch${IFS}ran)";
    repo.git(&["tag", name]);
    let (_, bash) = script(&repo, "bash");
    let offered = bash_complete_in(
        &repo,
        repo.path(),
        &bash,
        "",
        "git-rollback-sprint emergency --to t",
    );
    assert_eq!(offered, [r"t\$\(touch\$\{IFS\}ran\)"]);
    assert!(!repo.abs("ran").exists(), "completion ran a command");
    if have("fish") {
        let (_, fish) = script(&repo, "fish");
        let program = format!(
            "source {}; complete -C 'git-rollback-sprint emergency --to t'",
            path_str(&fish)
        );
        let out = shell_in(&repo, repo.path(), "fish", &["--no-config", "-c", &program]);
        out.assert_ok();
        assert_eq!(out.stdout.trim(), name, "{out}");
        assert!(!repo.abs("ran").exists(), "completion ran a command");
    }
    if have("zsh") {
        let (_, zsh) = script(&repo, "zsh");
        let fpath = repo.tmp_dir().join("zfunc");
        std::fs::create_dir_all(&fpath).expect("mkdir");
        std::fs::copy(&zsh, fpath.join("_git-rollback-sprint")).expect("copy the script");
        let (line, out) = zsh_tab(
            &repo,
            repo.path(),
            &fpath,
            "git rollback-sprint emergency --to t",
        );
        // The driver has zsh run the completed line as `print`'s
        // arguments: quoted, it prints the name as it is; unquoted, it
        // would have run `touch`.
        assert_eq!(
            line,
            format!("git rollback-sprint emergency --to {name}"),
            "{out}"
        );
        assert!(!repo.abs("ran").exists(), "completion ran a command");
    }
}
