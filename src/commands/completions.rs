//! Shell completions, generated from the same clap definitions as `--help`
//! and the manual pages.
//!
//! The scripts complete `git-rollback-sprint …`. For `git rollback-sprint …`
//! each shell's git completion looks for something of ours: bash's calls a
//! function `_git_rollback_sprint` (emitted below), zsh's calls
//! `_git-rollback-sprint` (the function clap names after the binary), and
//! fish's asks for the completions of `git-rollback-sprint`.
//!
//! Most of what the scripts complete is fixed when they are generated. The
//! values that name things in the repository — branches and tags where a
//! revision is taken, operation ids where an operation is — come from the
//! repository in the current directory when TAB is pressed: each script
//! asks the binary, `git-rollback-sprint __complete KIND`, for the
//! candidates (see [`DYNAMIC`] and [`complete`]).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use crate::git::Repo;
use crate::journal::Journal;
use crate::ui::Outcome;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

const BIN: &str = "git-rollback-sprint";

/// The hidden first argument that asks for candidates instead of running a
/// command. Not a clap subcommand, so that no help, manual page or
/// completion lists it.
pub const COMPLETE: &str = "__complete";

/// What a value names, and so where its candidates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Local branches.
    Branches,
    /// Local branches, then tags: what a revision is usually given as.
    Revisions,
    /// `last-green` when a test run passed, then branches and tags: what
    /// a rollback's target is given as.
    Targets,
    /// Operation ids from the journal, newest first.
    Operations,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Branches => "branches",
            Kind::Revisions => "revisions",
            Kind::Targets => "targets",
            Kind::Operations => "operations",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::Branches,
            Kind::Revisions,
            Kind::Targets,
            Kind::Operations,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// One argument whose values complete from the repository: the path of
/// subcommands to it and its clap id.
pub struct Dynamic {
    pub path: &'static [&'static str],
    pub arg: &'static str,
    pub kind: Kind,
}

pub const DYNAMIC: &[Dynamic] = &[
    Dynamic {
        path: &["baseline", "set"],
        arg: "rev",
        kind: Kind::Revisions,
    },
    Dynamic {
        path: &["emergency"],
        arg: "to",
        kind: Kind::Targets,
    },
    Dynamic {
        path: &["files"],
        arg: "from",
        kind: Kind::Targets,
    },
    Dynamic {
        path: &["recover"],
        arg: "failed_branch",
        kind: Kind::Branches,
    },
    Dynamic {
        path: &["recover"],
        arg: "onto",
        kind: Kind::Targets,
    },
    Dynamic {
        path: &["log", "show"],
        arg: "id",
        kind: Kind::Operations,
    },
    Dynamic {
        path: &["undo"],
        arg: "id",
        kind: Kind::Operations,
    },
];

/// `__complete KIND`: the candidates, one a line, from the repository git
/// would use here. Silent and successful whatever happens (no repository,
/// an unreadable journal, a closed pipe): a shell shows a completion's
/// stderr in the middle of the line being typed, and a candidate missing
/// is better than noise.
pub fn complete(args: &[OsString]) -> i32 {
    let kind = args
        .first()
        .and_then(|a| a.to_str())
        .and_then(Kind::from_name);
    let Some(kind) = kind else { return 0 };
    let Ok(cwd) = std::env::current_dir() else {
        return 0;
    };
    let mut out = std::io::stdout().lock();
    for candidate in candidates(kind, &cwd) {
        if writeln!(out, "{candidate}").is_err() {
            break;
        }
    }
    0
}

/// The candidates of `kind` for the repository found from `cwd`; none
/// outside a repository.
pub fn candidates(kind: Kind, cwd: &Path) -> Vec<String> {
    let Ok(repo) = Repo::discover(cwd) else {
        return Vec::new();
    };
    let names = |prefixes: &[&str]| -> Vec<String> {
        prefixes
            .iter()
            .flat_map(|prefix| {
                repo.refs_with_prefix(prefix)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(move |(name, _)| name.strip_prefix(prefix).map(str::to_string))
            })
            .collect()
    };
    match kind {
        Kind::Branches => names(&["refs/heads/"]),
        Kind::Revisions => names(&["refs/heads/", "refs/tags/"]),
        Kind::Targets => {
            let runs = crate::journal::green::runs(&repo).unwrap_or_default();
            crate::journal::green::last_green(&runs)
                .map(|_| crate::journal::green::REV.to_string())
                .into_iter()
                .chain(names(&["refs/heads/", "refs/tags/"]))
                .collect()
        }
        // The journal as `log` reads it, newest first: the ids, without
        // looking at what the operations saved.
        Kind::Operations => Journal::for_repo(&repo)
            .history()
            .map(|h| h.ops().iter().rev().map(|op| op.id().to_string()).collect())
            .unwrap_or_default(),
    }
}

/// The JSON fields of `completions`.
#[derive(Serialize)]
struct Script<'a> {
    shell: String,
    script: &'a str,
}

pub fn run(args: &Args, command: clap::Command) -> anyhow::Result<Outcome> {
    // Built (global flags copied to each subcommand) to be read; the
    // generators are given it unbuilt, to build under the name they use.
    let mut built = command.clone();
    built.build();
    let targets = targets(&built);
    let script = match args.shell {
        Shell::Bash => bash(command, &targets),
        Shell::Zsh => zsh(generate(clap_complete::Shell::Zsh, command, BIN), &targets),
        Shell::Fish => fish(generate(clap_complete::Shell::Fish, command, BIN), &targets),
    };
    let mut outcome = Outcome::new();
    outcome.data(&Script {
        shell: format!("{:?}", args.shell).to_lowercase(),
        script: &script,
    });
    outcome.line(script.trim_end().to_string());
    Ok(outcome)
}

fn generate(shell: clap_complete::Shell, mut command: clap::Command, bin: &str) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, bin, &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// A [`Dynamic`] argument as the built clap command defines it.
#[derive(Debug)]
struct Target {
    path: Vec<String>,
    kind: Kind,
    /// `--onto`; `None` for a positional argument.
    long: Option<String>,
    /// The positional argument's id, as the zsh script names it.
    id: String,
    /// Every option of the same subcommand that takes a value (`-C`,
    /// `--color`, `--onto` …): a word after one of them is its value, not
    /// a positional argument.
    takes_value: Vec<String>,
}

/// Every entry of [`DYNAMIC`] that the command defines.
fn targets(command: &clap::Command) -> Vec<Target> {
    DYNAMIC
        .iter()
        .filter_map(|d| {
            let mut sub = command;
            for name in d.path {
                sub = sub.find_subcommand(name)?;
            }
            let arg = sub.get_arguments().find(|a| a.get_id() == d.arg)?;
            let mut takes_value = Vec::new();
            for a in sub.get_arguments() {
                if a.is_positional() || !a.get_action().takes_values() {
                    continue;
                }
                takes_value.extend(a.get_short().map(|c| format!("-{c}")));
                takes_value.extend(a.get_long().map(|l| format!("--{l}")));
            }
            Some(Target {
                path: d.path.iter().map(|p| p.to_string()).collect(),
                kind: d.kind,
                long: if arg.is_positional() {
                    None
                } else {
                    arg.get_long().map(str::to_string)
                },
                id: arg.get_id().to_string(),
                takes_value,
            })
        })
        .collect()
}

/// clap_complete's bash script cannot complete past the subcommand when the
/// binary name has a hyphen (clap-rs/clap#6421: the dispatch loop and the
/// `case` labels spell the state differently). Generated for a name without
/// one, its function renamed and `complete` pointed at the real binary,
/// it works; the completion tests drive it through bash to keep it so.
///
/// In the state of each subcommand with a [`Dynamic`] argument, a call to
/// `_git_rollback_sprint_values` comes first: it completes the argument
/// from the repository, or leaves the word to the generated code.
fn bash(command: clap::Command, targets: &[Target]) -> String {
    const STAND_IN: &str = "git_rollback_sprint";
    let script = generate(clap_complete::Shell::Bash, command, STAND_IN);
    let mut fixed = String::with_capacity(script.len() + GIT_BRIDGE.len() + BASH_VALUES.len());
    let mut state: Option<String> = None;
    for line in script.lines() {
        let line = line.replace(&format!("_{STAND_IN}"), "_git_rollback_sprint_complete");
        match line.strip_suffix(&format!(" {STAND_IN}")) {
            Some(head) if line.trim_start().starts_with("complete ") => {
                fixed.push_str(head);
                fixed.push(' ');
                fixed.push_str(BIN);
            }
            _ => fixed.push_str(&line),
        }
        fixed.push('\n');
        if let Some(label) = state.take() {
            if line.trim_start().starts_with("opts=") {
                if let Some(call) = bash_values_call(&label, targets, STAND_IN) {
                    fixed.push_str(&call);
                }
            }
        }
        if let Some(label) = line.trim().strip_suffix(')') {
            state = Some(label.to_string());
        }
    }
    fixed.push_str(BASH_VALUES);
    fixed.push_str(GIT_BRIDGE);
    fixed
}

/// The call for the bash state `label`
/// (`git_rollback_sprint__subcmd__log__subcmd__show`), if that is a
/// subcommand with [`Dynamic`] arguments.
fn bash_values_call(label: &str, targets: &[Target], stand_in: &str) -> Option<String> {
    let here: Vec<&Target> = targets
        .iter()
        .filter(|t| {
            let mut name = stand_in.to_string();
            for p in &t.path {
                name.push_str("__subcmd__");
                name.push_str(&p.replace('-', "_"));
            }
            name == label
        })
        .collect();
    let first = here.first()?;
    let positional = here
        .iter()
        .find(|t| t.long.is_none())
        .map_or("", |t| t.kind.name());
    let takes_value = format!(" {} ", first.takes_value.join(" "));
    let mut call = format!(
        "            _git_rollback_sprint_values \"${{cur}}\" \"${{prev}}\" '{positional}' '{takes_value}'"
    );
    for t in &here {
        if let Some(long) = &t.long {
            call.push_str(&format!(" '--{long}={}'", t.kind.name()));
        }
    }
    call.push_str(" && return 0\n");
    Some(call)
}

/// `_git_rollback_sprint_values CUR PREV POSITIONAL TAKES_VALUE
/// [--OPTION=KIND]…`: when PREV is one of the options, or CUR is a
/// positional argument (not a flag, not the value of an option in
/// TAKES_VALUE) and POSITIONAL names a kind, complete CUR from
/// `git-rollback-sprint __complete KIND`. Returns 1, leaving the word to
/// the generated code, when it does not apply or there is nothing to offer
/// (outside a repository, say).
const BASH_VALUES: &str = r#"
# Values that name things in the repository: branches, tags, operations.
_git_rollback_sprint_values() {
    local cur=$1 prev=$2 positional=$3 takes_value=$4 kind= option= spec
    shift 4
    # `--onto=fe`: bash splits the word at `=`.
    if [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi
    for spec in "$@"; do
        if [[ $prev == "${spec%%=*}" ]]; then
            kind=${spec#*=}
            option=1
        fi
    done
    if [[ -z $kind ]]; then
        [[ -n $positional && $cur != -* && $takes_value != *" $prev "* ]] || return 1
        kind=$positional
    fi
    local values value
    values=$(command git-rollback-sprint __complete "$kind" 2>/dev/null)
    [[ -n $values ]] || return 1
    # Not compgen -W, which expands `$(…)` in its words: a tag fetched
    # from elsewhere may be named so. Inserted quoted, for the same reason.
    COMPREPLY=()
    while IFS= read -r value; do
        if [[ $value == "$cur"* ]]; then
            printf -v value %q "$value"
            COMPREPLY+=("$value")
        fi
    done <<<"$values"
    # An option's value is only ever one of these; a word where a
    # positional argument may go could still be a flag.
    [[ -n $option || ${#COMPREPLY[@]} -gt 0 ]]
}
"#;

/// The zsh script names each argument's action; a [`Dynamic`] one's
/// (`_default` as generated) becomes `_git-rollback-sprint_values KIND`.
fn zsh(script: String, targets: &[Target]) -> String {
    let mut out = String::with_capacity(script.len() + ZSH_VALUES.len());
    for line in script.lines() {
        let target = targets.iter().find(|t| zsh_spec_of(line, t));
        match (target, line.strip_suffix(":_default' \\")) {
            (Some(t), Some(head)) => {
                out.push_str(&format!(
                    "{head}:_git-rollback-sprint_values {}' \\",
                    t.kind.name()
                ));
            }
            _ => {
                if line.starts_with("if [ \"$funcstack[1]\" = ") {
                    out.push_str(ZSH_VALUES);
                }
                out.push_str(line);
            }
        }
        out.push('\n');
    }
    out
}

/// Whether `line` is the zsh script's `_arguments` spec of `target`:
/// `'--onto=[…]:REV:_default' \` or `'::id -- …:_default' \`.
fn zsh_spec_of(line: &str, target: &Target) -> bool {
    match &target.long {
        Some(long) => line.starts_with(&format!("'--{long}=[")),
        None => {
            let rest = line.trim_start_matches('\'').trim_start_matches(':');
            line.starts_with("':") && rest.starts_with(&format!("{} -- ", target.id))
        }
    }
}

const ZSH_VALUES: &str = r#"(( $+functions[_git-rollback-sprint_values] )) ||
_git-rollback-sprint_values() {
    # _arguments passes compadd's options first, the kind last.
    local kind=${@[-1]}
    local -a opts values
    opts=("${@[1,-2]}")
    values=(${(f)"$(command git-rollback-sprint __complete $kind 2>/dev/null)"})
    if [[ $kind == operations && ${opts[(I)-J]} -gt 0 ]]; then
        # Newest first, as `log` lists them: a group kept unsorted.
        opts[${opts[(I)-J]}]=-V
    fi
    compadd "${opts[@]}" -a values
}

"#;

/// fish merges the completions given for the same command and condition:
/// one more line per [`Dynamic`] argument adds its candidates.
fn fish(mut script: String, targets: &[Target]) -> String {
    script.push_str("\n# Values that name things in the repository: branches, tags, operations.\n");
    for t in targets {
        let mut condition = format!("__fish_git_rollback_sprint_using_subcommand {}", t.path[0]);
        for p in &t.path[1..] {
            condition.push_str(&format!("; and __fish_seen_subcommand_from {p}"));
        }
        let values = format!(
            "(command git-rollback-sprint __complete {} 2>/dev/null)",
            t.kind.name()
        );
        let what = match &t.long {
            Some(long) => format!("-l {long} -x"),
            None => "-f".to_string(),
        };
        let order = if t.kind == Kind::Operations {
            " -k"
        } else {
            ""
        };
        script.push_str(&format!(
            "complete -c {BIN} -n \"{condition}\" {what}{order} -a \"{values}\"\n"
        ));
    }
    script
}

/// git's bash completion calls `_git_rollback_sprint` for
/// `git [OPTIONS] rollback-sprint …`: complete the words after
/// `rollback-sprint` as if typed after `git-rollback-sprint`. git registers
/// its completion with `-o nospace`, so add the space (or the slash after a
/// directory) that the completion would otherwise get from bash.
const GIT_BRIDGE: &str = r#"
# `git rollback-sprint …`: git's own completion calls this function.
_git_rollback_sprint() {
    local i start=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == rollback-sprint ]]; then
            start=$i
            break
        fi
    done
    ((start > 0)) || return 0
    local -a words=(git-rollback-sprint "${COMP_WORDS[@]:start+1}")
    local -a COMP_WORDS=("${words[@]}")
    local COMP_CWORD=$((COMP_CWORD - start))
    _git_rollback_sprint_complete git-rollback-sprint "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    local j
    for j in "${!COMPREPLY[@]}"; do
        if [[ -d ${COMPREPLY[j]} ]]; then
            COMPREPLY[j]+=/
        else
            COMPREPLY[j]+=" "
        fi
    done
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn built() -> clap::Command {
        let mut command = crate::cli::Cli::command();
        command.build();
        command
    }

    /// A renamed or removed argument fails here, not silently in a shell.
    #[test]
    fn every_dynamic_argument_exists() {
        let targets = targets(&built());
        assert_eq!(targets.len(), DYNAMIC.len(), "{targets:?}");
        let onto = targets
            .iter()
            .find(|t| t.long.as_deref() == Some("onto"))
            .expect("recover --onto");
        assert!(onto.takes_value.iter().any(|o| o == "-C"), "{onto:?}");
        assert!(onto.takes_value.iter().any(|o| o == "--pick"), "{onto:?}");
    }

    fn script(shell: Shell) -> String {
        let out = run(&Args { shell }, crate::cli::Cli::command()).expect("a script");
        out.lines.join("\n")
    }

    #[test]
    fn each_script_completes_every_dynamic_argument_once() {
        let bash = script(Shell::Bash);
        let paths: std::collections::BTreeSet<_> = DYNAMIC.iter().map(|d| d.path).collect();
        assert_eq!(
            bash.matches("_git_rollback_sprint_values \"${cur}\"")
                .count(),
            paths.len()
        );
        for d in DYNAMIC.iter().filter(|d| d.arg == "onto") {
            assert!(bash.contains(&format!("'--{}={}'", d.arg, d.kind.name())));
        }
        let zsh = script(Shell::Zsh);
        for kind in [
            Kind::Branches,
            Kind::Revisions,
            Kind::Targets,
            Kind::Operations,
        ] {
            let wanted = DYNAMIC.iter().filter(|d| d.kind == kind).count();
            let action = format!(":_git-rollback-sprint_values {}' \\", kind.name());
            assert_eq!(zsh.matches(&action).count(), wanted, "{}", kind.name());
            let fish = script(Shell::Fish);
            let call = format!("__complete {} 2>/dev/null", kind.name());
            assert_eq!(fish.matches(&call).count(), wanted, "{}", kind.name());
        }
        assert!(zsh.contains("_git-rollback-sprint_values() {"));
    }
}
