//! Shell completions, generated from the same clap definitions as `--help`.

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

pub fn run(args: &Args, mut command: clap::Command) -> anyhow::Result<Outcome> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "git-rollback-sprint", &mut script);
    let mut outcome = Outcome::new();
    outcome.field("shell", format!("{:?}", args.shell).to_lowercase());
    outcome.field("script", String::from_utf8_lossy(&script).into_owned());
    outcome.line(String::from_utf8_lossy(&script).trim_end().to_string());
    Ok(outcome)
}
