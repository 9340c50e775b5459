//! Shell completions, generated from the same clap definitions as `--help`
//! and the manual pages.
//!
//! The scripts complete `git-rollback-sprint …`. For `git rollback-sprint …`
//! each shell's git completion looks for something of ours: bash's calls a
//! function `_git_rollback_sprint` (emitted below), zsh's calls
//! `_git-rollback-sprint` (the function clap names after the binary), and
//! fish's asks for the completions of `git-rollback-sprint`.

use crate::ui::Outcome;

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

pub fn run(args: &Args, command: clap::Command) -> anyhow::Result<Outcome> {
    let script = match args.shell {
        Shell::Bash => bash(command),
        Shell::Zsh => generate(clap_complete::Shell::Zsh, command, BIN),
        Shell::Fish => generate(clap_complete::Shell::Fish, command, BIN),
    };
    let mut outcome = Outcome::new();
    outcome.field("shell", format!("{:?}", args.shell).to_lowercase());
    outcome.field("script", script.clone());
    outcome.line(script.trim_end().to_string());
    Ok(outcome)
}

fn generate(shell: clap_complete::Shell, mut command: clap::Command, bin: &str) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, bin, &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// clap_complete's bash script cannot complete past the subcommand when the
/// binary name has a hyphen (clap-rs/clap#6421: the dispatch loop and the
/// `case` labels spell the state differently). Generated for a name without
/// one, its function renamed and `complete` pointed at the real binary,
/// it works; the completion tests drive it through bash to keep it so.
fn bash(command: clap::Command) -> String {
    const STAND_IN: &str = "git_rollback_sprint";
    let script = generate(clap_complete::Shell::Bash, command, STAND_IN);
    let mut fixed = String::with_capacity(script.len() + GIT_BRIDGE.len());
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
    }
    fixed.push_str(GIT_BRIDGE);
    fixed
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
