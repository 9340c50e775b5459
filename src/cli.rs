//! The command line: clap definitions, global flags, dispatch, and the mapping
//! of results to output and exit codes (README: Global flags, Exit codes, JSON
//! output).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueHint};
use serde_json::{json, Map, Value};

use crate::commands::{self, Context};
use crate::error::{describe, user, Exit};
use crate::git::Repo;
use crate::settings::Settings;
use crate::ui::{ColorChoice, Outcome, TerminalPrompter, Ui};

/// Get back to a known-good state in one command, and get the good work back
/// out afterwards, without losing a byte.
#[derive(Debug, Parser)]
#[command(
    name = "git-rollback-sprint",
    bin_name = "git rollback-sprint",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in <PATH> (like git -C)
    // A global flag's id is shared with every subcommand: named `dir`, it
    // would take the value of a subcommand's own `--dir`.
    #[arg(
        short = 'C',
        id = "chdir",
        value_name = "PATH",
        value_hint = ValueHint::DirPath,
        global = true
    )]
    pub dir: Option<PathBuf>,
    /// Machine output: exactly one JSON object on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print the plan and change nothing
    #[arg(short = 'n', long, global = true)]
    pub dry_run: bool,
    /// Answer yes to confirmations; never prompt
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Print only errors
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Colour: auto follows the terminal and NO_COLOR
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        global = true
    )]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set, show, verify and share the baseline tag
    Baseline(commands::baseline::Args),
    /// Tag the current state before a sprint; list and prune checkpoints
    Checkpoint(commands::checkpoint::Args),
    /// Level 1: stash everything and reset to the baseline now
    Emergency(commands::emergency::Args),
    /// Start, roll back (Level 2) or finish a sprint
    Sprint(commands::sprint::Args),
    /// Level 3: put chosen files back to their baseline content
    Files(commands::files::Args),
    /// Cherry-pick the good commits out of a failed branch
    Recover(commands::recover::Args),
    /// Find work plain git lost (reset, dropped stash, deleted branch) and bring it back
    Rescue(commands::rescue::Args),
    /// Pre-sprint safety checks (and the pre-commit hook's fast mode)
    Check(commands::check::Args),
    /// Run the project's tests; a pass becomes the last green state
    Test(commands::test::Args),
    /// Install or remove the pre-commit safety hook
    Hook(commands::hook::Args),
    /// Write a post-rollback analysis
    Analyze(commands::reports::AnalyzeArgs),
    /// Print the team notification for the latest rollback
    Notify(commands::reports::NotifyArgs),
    /// Decide which rollback level fits
    Triage(commands::reports::TriageArgs),
    /// Rollback statistics; record a manual entry
    Metrics(commands::metrics::Args),
    /// The operation journal, newest first
    Log(commands::log::Args),
    /// Undo the newest operation not undone yet (or ID), keeping what changed since
    Undo(commands::undo::Args),
    /// Re-apply the most recently undone operation
    Redo(commands::undo::RedoArgs),
    /// Baseline, checkpoints, sprint, operations in progress
    Status(commands::status::Args),
    /// Rehearse each rollback level on a copy, timed against the RTO
    Drill(commands::drill::Args),
    /// Run the whole tour in a sandbox repository
    Demo(commands::demo::Args),
    /// Print shell completions
    Completions(commands::completions::Args),
    /// Print or install the manual pages
    Man(commands::man::Args),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Baseline(_) => "baseline",
            Command::Checkpoint(_) => "checkpoint",
            Command::Emergency(_) => "emergency",
            Command::Sprint(_) => "sprint",
            Command::Files(_) => "files",
            Command::Recover(_) => "recover",
            Command::Rescue(_) => "rescue",
            Command::Check(_) => "check",
            Command::Hook(_) => "hook",
            Command::Analyze(_) => "analyze",
            Command::Notify(_) => "notify",
            Command::Triage(_) => "triage",
            Command::Metrics(_) => "metrics",
            Command::Log(_) => "log",
            Command::Undo(_) => "undo",
            Command::Redo(_) => "redo",
            Command::Status(_) => "status",
            Command::Drill(_) => "drill",
            Command::Demo(_) => "demo",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::Test(_) => "test",
        }
    }

    /// Commands that never need a repository.
    fn standalone(&self) -> bool {
        matches!(
            self,
            Command::Completions(_) | Command::Demo(_) | Command::Man(_)
        )
    }

    /// Commands that only read: they warn about an interrupted operation
    /// instead of refusing to run.
    fn reads_only(&self) -> bool {
        match self {
            Command::Baseline(a) => a.reads_only(),
            Command::Checkpoint(a) => a.reads_only(),
            Command::Log(a) => a.reads_only(),
            Command::Status(_) | Command::Notify(_) | Command::Triage(_) | Command::Analyze(_) => {
                true
            }
            Command::Metrics(a) => a.reads_only(),
            Command::Rescue(a) => a.reads_only(),
            _ => false,
        }
    }
}

/// The whole program; returns the exit code.
pub fn main() -> i32 {
    crate::git::limit_memory();
    let args: Vec<OsString> = std::env::args_os().collect();
    run_with_args(args)
}

pub fn run_with_args(args: Vec<OsString>) -> i32 {
    // What a completion script asks when TAB is pressed.
    if args
        .get(1)
        .is_some_and(|a| a == commands::completions::COMPLETE)
    {
        return commands::completions::complete(&args[2..]);
    }
    let wants_json = args.iter().skip(1).any(|a| a == "--json");
    let args = log_count_args(args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, wants_json),
    };
    let ui = Ui::new(cli.json, cli.quiet, cli.yes, cli.dry_run, cli.color);
    let name = cli.command.name();
    let result = dispatch(&cli, &ui, &args);
    match result {
        Ok(outcome) => {
            crate::trace::phase("done");
            print_outcome(&ui, name, outcome)
        }
        Err(err) => print_error(&ui, name, &err),
    }
}

/// `log -n N`, `log -nN` and `log -N` as git log takes them, while `-n`
/// everywhere else is the global `--dry-run`: rewritten to `--max-count`
/// before parsing, after the `log` subcommand and before any `--`.
fn log_count_args(mut args: Vec<OsString>) -> Vec<OsString> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut n = 1;
    // Global flags before the subcommand; -C and --color take a value.
    while n < args.len() {
        let arg = args[n].to_string_lossy();
        if arg == "-C" || arg == "--color" {
            n += 2;
        } else if arg.starts_with('-') {
            n += 1;
        } else {
            break;
        }
    }
    if args.get(n).is_none_or(|a| a != "log") {
        return args;
    }
    n += 1;
    while n < args.len() {
        let arg = args[n].to_string_lossy().into_owned();
        if arg == "--" {
            break;
        }
        if arg == "-n"
            && args
                .get(n + 1)
                .is_some_and(|v| digits(&v.to_string_lossy()))
        {
            args[n] = OsString::from("--max-count");
        } else if let Some(count) = arg.strip_prefix("-n").filter(|c| digits(c)) {
            args[n] = OsString::from(format!("--max-count={count}"));
        } else if let Some(count) = arg.strip_prefix('-').filter(|c| digits(c)) {
            args[n] = OsString::from(format!("--max-count={count}"));
        }
        n += 1;
    }
    args
}

fn usage_error(e: clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return Exit::Usage.code();
    }
    if json {
        let message = e
            .to_string()
            .lines()
            .next()
            .unwrap_or("usage error")
            .trim_start_matches("error: ")
            .to_string();
        // clap's "did you mean" tip, as its text output gives it.
        let tips: Vec<String> = e
            .to_string()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("tip: "))
            .map(str::to_string)
            .collect();
        let mut error = json!({"message": message, "exit_code": Exit::Usage.code()});
        if !tips.is_empty() {
            error["hint"] = Value::String(tips.join("; "));
        }
        let obj = json!({"ok": false, "command": null, "error": error});
        // A closed or broken stdout is the reader's choice: no panic.
        let _ = writeln!(std::io::stdout(), "{obj}");
    } else {
        let _ = e.print();
    }
    Exit::Usage.code()
}

fn dispatch(cli: &Cli, ui: &Ui, args: &[OsString]) -> anyhow::Result<Outcome> {
    crate::trace::phase("start");
    if let Some(dir) = &cli.dir {
        std::env::set_current_dir(dir).map_err(|e| {
            user(format!("cannot change to {}: {e}", dir.display()))
                .hint("-C takes an existing directory")
                .exit(Exit::Usage)
        })?;
    }
    match &cli.command {
        Command::Completions(a) => return commands::completions::run(a, Cli::command()),
        Command::Demo(a) => return commands::demo::run(a, ui),
        Command::Man(a) => return commands::man::run(a, ui, Cli::command()),
        _ => {}
    }
    debug_assert!(!cli.command.standalone());
    let cwd = std::env::current_dir()
        .map_err(|e| user(format!("cannot read the current directory: {e}")))?;
    let repo = Repo::discover(&cwd)?;
    crate::git::fit_pack_windows(&repo);
    if matches!(&cli.command, Command::Files(_)) {
        crate::git::keep_parsed_folders();
    }
    let settings = Settings::load(&repo)?;
    // Read-only commands (and `check --hook`, which reads the index git is
    // about to commit) work with GIT_INDEX_FILE; nothing that changes the
    // repository runs with an index it cannot handle exactly.
    let hook_check = matches!(&cli.command, Command::Check(a) if a.hook);
    if !cli.command.reads_only() {
        if !hook_check {
            repo.refuse_foreign_index()?;
        }
        repo.refuse_split_index()?;
        crate::git::ident::check_dates()?;
    }
    crate::trace::phase("repository and settings loaded");
    // `check` reports an interrupted operation itself, as a failed check
    // (the pre-commit hook too): read once, there.
    let reports_it = matches!(&cli.command, Command::Check(_));
    if let Some(op) = (!reports_it)
        .then(|| crate::journal::interrupted(&repo))
        .transpose()?
        .flatten()
    {
        let message = crate::journal::interrupted_message(&op);
        if cli.command.reads_only() {
            ui.warn(&message);
        } else if !matches!(
            cli.command,
            // `log prune` releases old operations, never the interrupted one.
            Command::Undo(_) | Command::Log(_)
        ) {
            // Before the command's own checks: an interrupted operation can
            // leave what they look at half-done (HEAD naming a branch the
            // operation had deleted), and their error would hide the cause.
            return Err(user(message).exit(Exit::Stopped).into());
        }
    }
    let ctx = Context {
        repo,
        settings,
        ui: ui.clone(),
        command_line: command_line(args),
        prompter: Box::new(TerminalPrompter),
    };
    match &cli.command {
        Command::Baseline(a) => commands::baseline::run(&ctx, a),
        Command::Checkpoint(a) => commands::checkpoint::run(&ctx, a),
        Command::Emergency(a) => commands::emergency::run(&ctx, a),
        Command::Sprint(a) => commands::sprint::run(&ctx, a),
        Command::Files(a) => commands::files::run(&ctx, a),
        Command::Recover(a) => commands::recover::run(&ctx, a),
        Command::Rescue(a) => commands::rescue::run(&ctx, a),
        Command::Check(a) => commands::check::run(&ctx, a),
        Command::Hook(a) => commands::hook::run(&ctx, a),
        Command::Analyze(a) => commands::reports::analyze(&ctx, a),
        Command::Notify(a) => commands::reports::notify(&ctx, a),
        Command::Triage(a) => commands::reports::triage(&ctx, a),
        Command::Metrics(a) => commands::metrics::run(&ctx, a),
        Command::Log(a) => commands::log::run(&ctx, a),
        Command::Undo(a) => commands::undo::run(&ctx, a),
        Command::Redo(a) => commands::undo::redo(&ctx, a),
        Command::Status(a) => commands::status::run(&ctx, a),
        Command::Test(a) => commands::test::run(&ctx, a),
        Command::Drill(a) => commands::drill::run(&ctx, a),
        Command::Demo(_) | Command::Completions(_) | Command::Man(_) => {
            unreachable!("handled above")
        }
    }
}

/// `git rollback-sprint checkpoint -m "before sprint 3"`, quoted as a shell would need.
fn command_line(args: &[OsString]) -> String {
    let mut words = vec!["git rollback-sprint".to_string()];
    for arg in args.iter().skip(1) {
        let text = arg.to_string_lossy();
        if text.chars().any(char::is_control) {
            words.push(ansi_c_quote(&text));
        } else {
            words.push(crate::ui::shell_word(&text));
        }
    }
    words.join(" ")
}

/// A word with control characters as the shell's `$'…'` quoting writes it
/// (`$'a\nb'`): the command line is shown by `log`, `status` and `undo`
/// and kept in reflogs, so a path typed with a newline or an escape
/// sequence must not reach a terminal raw, and the line stays one to paste.
fn ansi_c_quote(text: &str) -> String {
    let mut out = String::from("$'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn print_outcome(ui: &Ui, name: &str, outcome: Outcome) -> i32 {
    let exit = outcome.exit.unwrap_or(Exit::Success);
    let code = outcome.exit_code.unwrap_or(exit.code());
    let mut out = std::io::stdout().lock();
    if ui.json {
        let mut obj = Map::new();
        obj.insert("ok".into(), Value::Bool(code == 0));
        obj.insert("command".into(), Value::String(name.to_string()));
        if ui.dry_run {
            obj.insert("dry_run".into(), Value::Bool(true));
        }
        let lines = outcome.lines.clone();
        for (k, v) in outcome.into_fields() {
            obj.insert(k, v);
        }
        if code != 0 && !obj.contains_key("error") {
            let message = lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
                .unwrap_or_default();
            obj.insert(
                "error".into(),
                json!({"message": crate::ui::strip_escapes(&message), "exit_code": code}),
            );
        }
        let _ = writeln!(out, "{}", Value::Object(obj));
    } else if let Some(pager) = outcome.pager.as_deref().filter(|_| !ui.quiet) {
        drop(out);
        crate::pager::page_lines(pager, &outcome.lines);
    } else if !ui.quiet || code != 0 {
        for line in &outcome.lines {
            // A closed pipe (`| head`) is not an error.
            if writeln!(out, "{line}").is_err() {
                break;
            }
        }
    }
    code
}

fn print_error(ui: &Ui, name: &str, err: &anyhow::Error) -> i32 {
    let (exit, message) = describe(err);
    if ui.json {
        let obj = json!({"ok": false, "command": name,
            "error": {"message": message, "exit_code": exit.code()}});
        let _ = writeln!(std::io::stdout(), "{obj}");
    } else {
        let label = ui.paint_err("error:", crate::ui::style::ERROR);
        let _ = writeln!(std::io::stderr(), "{label} {message}");
    }
    exit.code()
}

#[cfg(test)]
mod tests {
    use super::log_count_args;
    use std::ffi::OsString;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        log_count_args(args)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn log_counts_become_max_count() {
        assert_eq!(
            rewrite(&["grs", "log", "-n", "3"]),
            ["grs", "log", "--max-count", "3"]
        );
        assert_eq!(
            rewrite(&["grs", "log", "-n3"]),
            ["grs", "log", "--max-count=3"]
        );
        assert_eq!(
            rewrite(&["grs", "log", "-3"]),
            ["grs", "log", "--max-count=3"]
        );
        assert_eq!(
            rewrite(&["grs", "--json", "-C", "dir", "--color", "never", "log", "-7"]),
            [
                "grs",
                "--json",
                "-C",
                "dir",
                "--color",
                "never",
                "log",
                "--max-count=7"
            ]
        );
    }

    #[test]
    fn dry_run_and_other_commands_are_left_alone() {
        for args in [
            &["grs", "-n", "emergency"][..],
            &["grs", "emergency", "-n"],
            &["grs", "log", "-n"],
            &["grs", "log", "-n", "x"],
            &["grs", "log", "--", "-3"],
            &["grs", "files", "-3"],
            &["grs", "-C", "log", "status", "-3"],
        ] {
            assert_eq!(rewrite(args), args, "{args:?}");
        }
    }
}
