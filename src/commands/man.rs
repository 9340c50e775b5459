//! The manual pages: `git-rollback-sprint(1)` and one page per subcommand
//! (`git-rollback-sprint-baseline(1)`, `git-rollback-sprint-baseline-set(1)`…).
//!
//! They are generated from the same clap definitions as `--help` and the
//! completions, so the three cannot drift apart; what clap does not know
//! (exit codes, settings, files) is added here from the constants the code
//! itself uses. The pages matter beyond `man`: git answers
//! `git rollback-sprint --help` with `git help rollback-sprint`, which opens
//! the page `git-rollback-sprint(1)`, so that form of help works only once
//! the pages are installed.
//!
//! Installing writes outside the repository, and only where asked: the
//! pages named in the plan, each written to a temporary file beside it and
//! renamed into place, so a reader never sees half a page and nothing else
//! in the directory is touched. A dry run prints the plan and writes nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueHint;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::error::{user, Exit};
use crate::settings;
use crate::ui::{Outcome, Ui};
use serde::Serialize;

/// The JSON fields of `man` printing a page.
#[derive(Serialize)]
struct Printed<'a> {
    page: &'a str,
}

/// The JSON fields of `man --install`.
#[derive(Serialize)]
struct Installed {
    dir: String,
    files: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write every page into the manual directory instead of printing the
    /// main page [default directory: $XDG_DATA_HOME/man/man1, or
    /// ~/.local/share/man/man1]
    #[arg(long)]
    pub install: bool,
    /// Write the pages into DIR (implies --install)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// The date in the pages' footer: when their text last changed. Not the
/// build date, so that the same source always renders the same pages.
const PAGES_DATE: &str = "2026-11-22";

/// One rendered page and the file name `man` looks it up by.
pub struct Page {
    pub file_name: String,
    pub roff: Vec<u8>,
}

pub fn run(args: &Args, ui: &Ui, command: clap::Command) -> anyhow::Result<Outcome> {
    let pages = pages(command)?;
    if !args.install && args.dir.is_none() {
        return Ok(print_main_page(&pages));
    }
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_dir()?,
    };
    install(ui, &pages, &dir)
}

fn print_main_page(pages: &[Page]) -> Outcome {
    let mut outcome = Outcome::new();
    // The main page comes first (see `pages`).
    let text = pages
        .first()
        .map(|p| String::from_utf8_lossy(&p.roff).into_owned())
        .unwrap_or_default();
    outcome.data(&Printed { page: &text });
    outcome.line(text.trim_end().to_string());
    outcome
}

/// `$XDG_DATA_HOME/man/man1`, or `~/.local/share/man/man1`: per user, no
/// root needed, and on man's search path whenever `~/.local/bin` is on
/// `PATH` (man-db looks in `<dir>/../share/man` for each `PATH` entry).
fn default_dir() -> anyhow::Result<PathBuf> {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        });
    match data_home {
        Some(data) => Ok(data.join("man").join("man1")),
        None => Err(
            user("cannot tell where to install the manual pages: HOME is not set")
                .hint("name the directory: git rollback-sprint man --dir DIR")
                .exit(Exit::Usage)
                .into(),
        ),
    }
}

fn install(ui: &Ui, pages: &[Page], dir: &Path) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new();
    let files: Vec<PathBuf> = pages.iter().map(|p| dir.join(&p.file_name)).collect();
    outcome.data(&Installed {
        dir: dir.display().to_string(),
        files: files.iter().map(|f| f.display().to_string()).collect(),
    });
    if ui.dry_run {
        outcome.line(format!(
            "would write {} manual pages to {}:",
            pages.len(),
            dir.display()
        ));
        for file in &files {
            let verb = if file.exists() { "replace" } else { "write" };
            outcome.line(format!("  {verb} {}", file.display()));
        }
        return Ok(outcome);
    }
    if dir.exists() && !dir.is_dir() {
        return Err(user(format!("{} is not a directory", dir.display()))
            .hint("pass --dir with a directory for the manual pages")
            .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        user(format!("cannot create {}: {e}", dir.display()))
            .hint("pass --dir with a directory you can write to")
    })?;
    for (page, file) in pages.iter().zip(&files) {
        write_page(file, &page.roff)?;
    }
    outcome.line(format!(
        "wrote {} manual pages to {}",
        pages.len(),
        dir.display()
    ));
    if let Some(hint) = manpath_hint(dir) {
        outcome.line(hint);
    }
    Ok(outcome)
}

/// What to do so that `man` finds the pages just written to `dir`, when it
/// would not yet. man looks for section 1 in the `man1` directory of each
/// `MANPATH` entry, so the entry is `dir`'s parent, absolute (a hint is
/// run from anywhere). With no `MANPATH`, the hint ends in `:`: an empty
/// entry stands for man's own search path, which a `MANPATH` of one
/// directory would otherwise replace; with one, the hint puts the
/// directory in front of it.
fn manpath_hint(dir: &Path) -> Option<String> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if dir.file_name().is_none_or(|n| n != "man1") {
        return Some(format!(
            "man looks for these pages only in a directory named man1: to read them with \
             man, install them with --dir {}",
            shell_word(&dir.join("man1").to_string_lossy())
        ));
    }
    let root = dir.parent()?;
    if on_man_path(root) {
        return None;
    }
    let root_text = root.to_string_lossy();
    if root_text.contains(':') {
        // A MANPATH entry cannot hold the separator.
        return Some(format!(
            "man does not look in {} yet, and MANPATH cannot name a directory with a ':' in \
             its name: install the pages with --dir elsewhere",
            root.display()
        ));
    }
    let manpath_set = std::env::var_os("MANPATH").is_some_and(|m| !m.is_empty());
    Some(format!(
        "man does not look in {} yet: add it to MANPATH, for example\n  export MANPATH={}",
        root.display(),
        manpath_value(&root_text, manpath_set)
    ))
}

/// The shell word for `MANPATH`: `root` first, then the current value, or
/// an empty entry (man's own search path) when there is none. In double
/// quotes when `root` needs no escaping there, else `root` in single quotes.
fn manpath_value(root: &str, manpath_set: bool) -> String {
    let rest = if manpath_set { "$MANPATH" } else { "" };
    let plain = !root
        .chars()
        .any(|c| matches!(c, '"' | '$' | '`' | '\\' | '!') || c.is_control());
    if plain {
        format!("\"{root}:{rest}\"")
    } else if manpath_set {
        format!("{}\":$MANPATH\"", shell_word(root))
    } else {
        format!("{}:", shell_word(root))
    }
}

/// `text` as one shell word: as it is when it holds nothing a shell would
/// read specially, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Write through a temporary file in the same directory and rename, so a
/// page is either the old one or the new one, never half of either.
fn write_page(file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let cannot = |e: std::io::Error| {
        anyhow::Error::from(
            user(format!("cannot write {}: {e}", file.display()))
                .hint("pass --dir with a directory you can write to"),
        )
    };
    use crate::atomic::{write_atomic, Durability, Mode};
    // A manual page is for every reader.
    write_atomic(file, bytes, Durability::File, Mode::Exact(0o644)).map_err(cannot)
}

/// Whether man(1) searches `root` (a directory holding `man1/`): listed in
/// `MANPATH`, or, with no `MANPATH`, next to a `PATH` entry as man-db
/// derives it (`<bin>/../share/man`, `<bin>/../man`).
fn on_man_path(root: &Path) -> bool {
    let same = |p: &Path| p == root || p.canonicalize().ok() == root.canonicalize().ok();
    if let Some(manpath) = std::env::var_os("MANPATH").filter(|m| !m.is_empty()) {
        return std::env::split_paths(&manpath).any(|p| same(&p));
    }
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|bin| {
        bin.parent().is_some_and(|prefix| {
            same(&prefix.join("share").join("man")) || same(&prefix.join("man"))
        })
    })
}

/// Every page: the main page first, then one per subcommand, depth first.
pub fn pages(command: clap::Command) -> anyhow::Result<Vec<Page>> {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    pages.push(Page {
        file_name: Man::new(command.clone()).get_filename(),
        roff: render(&command, true)?,
    });
    add_subcommand_pages(&command, &mut pages)?;
    Ok(pages)
}

fn add_subcommand_pages(parent: &clap::Command, pages: &mut Vec<Page>) -> anyhow::Result<()> {
    for sub in parent.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(Page {
            file_name: Man::new(sub.clone()).get_filename(),
            roff: render(sub, false)?,
        });
        add_subcommand_pages(sub, pages)?;
    }
    Ok(())
}

/// One page, in the usual order of sections (man-pages(7)).
fn render(command: &clap::Command, main: bool) -> anyhow::Result<Vec<u8>> {
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_string();
    let man = Man::new(command.clone())
        .title(name.to_uppercase())
        .date(PAGES_DATE)
        .source(format!("git-rollback-sprint {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut sections: Vec<Vec<u8>> = Vec::new();
    let mut section = |f: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| -> anyhow::Result<()> {
        let mut buf = Vec::new();
        f(&mut buf).context("rendering the manual page")?;
        sections.push(buf);
        Ok(())
    };
    section(&|w| man.render_title(w))?;
    section(&|w| man.render_name_section(w))?;
    section(&|w| man.render_synopsis_section(w))?;
    if main {
        section(&|w| description(command).to_writer(w))?;
    } else {
        section(&|w| man.render_description_section(w))?;
    }
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        section(&|w| man.render_options_section(w))?;
    }
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        section(&|w| man.render_subcommands_section(w))?;
    }
    if main {
        section(&|w| exit_status().to_writer(w))?;
        section(&|w| configuration().to_writer(w))?;
        section(&|w| environment().to_writer(w))?;
        section(&|w| files().to_writer(w))?;
    }
    section(&|w| man.render_version_section(w))?;
    section(&|w| see_also(main).to_writer(w))?;
    Ok(join_sections(sections))
}

/// Each rendered part starts with the same preamble (it makes `'` print
/// as an apostrophe); keep the first. clap_mangen separates an option's
/// help from its possible values with a break, a blank line and a break,
/// which linters flag; one `.sp` is the same space, said plainly.
fn join_sections(sections: Vec<Vec<u8>>) -> Vec<u8> {
    let preamble = Roff::new().render();
    let mut out = String::new();
    for (i, part) in sections.into_iter().enumerate() {
        let part = String::from_utf8_lossy(&part);
        match part.strip_prefix(preamble.as_str()) {
            Some(rest) if i > 0 => out.push_str(rest),
            _ => out.push_str(&part),
        }
    }
    ascii(&out.replace("\n.br\n\n.br\n", "\n.sp\n")).into_bytes()
}

/// Non-ASCII text (an en dash in a help line) as roff's `\[uXXXX]`
/// escapes: groff without a preprocessor reads bytes, not UTF-8.
fn ascii(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

fn paragraph(roff: &mut Roff, text: &str) {
    roff.control("PP", []).text([roman(text)]);
}

/// A tagged paragraph: `tag` in bold, then its explanation.
fn item(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []).text([bold(tag)]).text([roman(text)]);
}

fn description(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    if let Some(about) = command.get_about() {
        roff.text([roman(about.to_string())]);
    }
    paragraph(
        &mut roff,
        "It turns a rollback runbook into commands: a baseline tag to return to, \
         checkpoints before each sprint, three levels of rollback (emergency: stash \
         everything and reset to the baseline now; sprint rollback: back up the failed \
         sprint and start a retry branch; files: put chosen files back), recovery of \
         the good commits from a failed branch, pre-sprint checks, a pre-commit hook, \
         reports and metrics.",
    );
    paragraph(
        &mut roff,
        "Nothing is lost. Before a command changes HEAD, a ref, the index, the stash \
         or a file, it records the state it is about to change in the operation \
         journal, with a snapshot of the work tree, and undo restores that state \
         byte for byte. Ignored files are moved aside, never deleted. A dry run \
         (-n) prints the plan and changes nothing.",
    );
    roff.control("PP", []).text([
        roman("With the binary on PATH, git runs it as "),
        bold("git rollback-sprint"),
        roman("; "),
        bold("git rollback-sprint --help"),
        roman(" opens this page once it is installed with "),
        bold("git rollback-sprint man --install"),
        roman("."),
    ]);
    roff
}

fn exit_status() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (exit, meaning) in [
        (Exit::Success, "Success."),
        (
            Exit::Error,
            "An error: nothing was changed, or what was changed can be undone.",
        ),
        (
            Exit::Usage,
            "A usage error: an unknown command, flag or value.",
        ),
        (
            Exit::Stopped,
            "Stopped for the user: a conflict to resolve, or an interrupted operation \
             to undo or dismiss.",
        ),
        (Exit::SafetyCheck, "A safety check failed."),
    ] {
        item(&mut roff, &exit.code().to_string(), meaning);
    }
    roff
}

// Long because it is one entry a setting, in the order `git config` users
// look them up: the section reads as the page it renders, which split
// functions would hide.
fn configuration() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["CONFIGURATION"]);
    roff.text([roman(
        "Settings are read from git config (repository, global, system), never from a \
         tracked file, so a cloned repository cannot make this tool run a command. \
         Set them with git config.",
    )]);
    let disk = settings::DEFAULT_DISK_THRESHOLD.to_string();
    let timeout = settings::DEFAULT_TEST_TIMEOUT_SECS.to_string();
    let failures = settings::DEFAULT_TRIGGER_FAILURES.to_string();
    let rto = settings::DEFAULT_RTO_SECS.to_string();
    let interval = settings::DEFAULT_DRILL_INTERVAL_DAYS.to_string();
    let rows: [(&str, &str, &str); 17] = [
        (
            settings::BASELINE,
            settings::DEFAULT_BASELINE,
            "The baseline: a tag name, or any revision.",
        ),
        (
            settings::CHECKPOINT_PREFIX,
            settings::DEFAULT_CHECKPOINT_PREFIX,
            "Prefix of checkpoint tags.",
        ),
        (
            settings::REPORTS_DIR,
            settings::DEFAULT_REPORTS_DIR,
            "Where reports and metrics.json live, relative to the root of the work tree.",
        ),
        (
            settings::TEST_COMMAND,
            "detected",
            "The test command, run with sh -c. Detected when unset: cargo test, npm \
             test, pytest, go test ./..., make test.",
        ),
        (
            settings::TEST_PATTERN,
            settings::DEFAULT_TEST_PATTERN,
            "Maps a source file to its test files; placeholders {path} {dir} {name} \
             {stem} {ext}; globs allowed; may be given more than once.",
        ),
        (
            settings::FILE_TEST_COMMAND,
            "the test command followed by the test files",
            "Runs the tests of selected files; {tests} stands for them.",
        ),
        (
            settings::STOP_COMMAND,
            "none",
            "Run before an emergency rollback (stop services).",
        ),
        (
            settings::START_COMMAND,
            "none",
            "Run after an emergency rollback (restart services, reinstall dependencies).",
        ),
        (
            settings::SETUP_COMMAND,
            "none",
            "Dependency check run by check.",
        ),
        (
            settings::DISK_THRESHOLD,
            &disk,
            "Percent used on the work tree's file system above which check fails.",
        ),
        (
            "rollback.stage.<name>.path",
            "none",
            "Paths of a group for files --stage <name>; may be given more than once.",
        ),
        (
            settings::HOOK_TESTS,
            "false",
            "Whether the pre-commit hook runs the tests mapped from staged files.",
        ),
        (
            settings::TEST_TIMEOUT,
            &timeout,
            "Seconds a test run may take before it is stopped.",
        ),
        (
            settings::TRIGGER_FAILURES,
            &failures,
            "Failing test runs in a row since the last green state after which test \
             recommends returning to it (and acts, see rollback.trigger.action); 0 \
             turns the trigger off.",
        ),
        (
            settings::TRIGGER_ACTION,
            "suggest",
            "What test does when the trigger fires: suggest (print the command that \
             returns to the last green state), checkpoint (also take a WIP checkpoint) \
             or emergency (roll back to the last green state; undo takes it back).",
        ),
        (
            settings::RTO,
            &rto,
            "The recovery time objective drill holds each level's time to roll back and verify against, in seconds.",
        ),
        (
            settings::DRILL_INTERVAL,
            &interval,
            "Days after which check and status say a drill is due; 0 turns that off.",
        ),
    ];
    for (key, default, meaning) in rows {
        roff.control("TP", []).text([bold(key)]).text([
            roman(meaning),
            roman(" Default: "),
            italic(default),
            roman("."),
        ]);
    }
    roff
}

fn environment() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    item(
        &mut roff,
        "NO_COLOR",
        "When set and not empty, --color auto prints no colour.",
    );
    roff
}

fn files() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["FILES"]);
    item(
        &mut roff,
        "<git-dir>/rollback/journal.jsonl",
        "The operation journal that log lists and undo reads.",
    );
    item(
        &mut roff,
        "<git-dir>/rollback/",
        "Locks, copies of the index, and files moved aside by an operation.",
    );
    item(
        &mut roff,
        "<git-dir>/rollback/drill/",
        "The disposable copy a drill rehearses on, removed when it ends (or by the next drill, after a crash).",
    );
    item(
        &mut roff,
        "refs/rollback/keep/<name>",
        "One ref per work tree's journal, pointing at the empty tree, whose reflog keeps the journal's snapshots alive: git gc never drops them and git log --all never shows them. log prune releases them.",
    );
    item(
        &mut roff,
        "<git-dir>/rollback/tests.jsonl",
        "The test runs test remembers, and the last green state each passing run left.",
    );
    item(
        &mut roff,
        "refs/rollback/green/<name>",
        "Like the keep ref, for the green states test keeps: last-green names the newest. log prune releases the older ones.",
    );
    item(
        &mut roff,
        "rollbacks/metrics.json, rollbacks/",
        "Rollback metrics and reports (see rollback.reportsDir).",
    );
    roff
}

fn see_also(main: bool) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    let pages: &[&str] = if main {
        &[
            "git(1)",
            "git-config(1)",
            "git-stash(1)",
            "git-reset(1)",
            "git-cherry-pick(1)",
            "githooks(5)",
        ]
    } else {
        &["git-rollback-sprint(1)", "git(1)"]
    };
    let mut inlines = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            inlines.push(roman(", "));
        }
        let (name, section) = page.split_once('(').unwrap_or((page, ""));
        inlines.push(bold(name));
        inlines.push(roman(format!("({section}")));
    }
    roff.text(inlines);
    roff
}

#[cfg(test)]
mod tests {
    use super::{manpath_value, shell_word};

    #[test]
    fn the_manpath_value_keeps_mans_own_path_and_quotes_the_directory() {
        assert_eq!(manpath_value("/home/a/man", false), "\"/home/a/man:\"");
        assert_eq!(
            manpath_value("/home/a b/man", true),
            "\"/home/a b/man:$MANPATH\""
        );
        assert_eq!(manpath_value("/x/$HOME/man", false), "'/x/$HOME/man':");
        assert_eq!(manpath_value("/it's/man", true), "\"/it's/man:$MANPATH\"");
        assert_eq!(
            manpath_value("/it's $x/man", true),
            r#"'/it'\''s $x/man'":$MANPATH""#
        );
        assert_eq!(shell_word("/plain/man1"), "/plain/man1");
        assert_eq!(shell_word("/a b/man1"), "'/a b/man1'");
    }
}
