//! Output: human text or one JSON object, colour, progress bars and prompts.
//!
//! Commands never print directly. They return an [`Outcome`] (human lines and
//! JSON fields built side by side), report warnings through [`Ui::warn`], and
//! show progress through [`Ui::progress`], which is hidden unless stderr is a
//! terminal and the output is human. Prompts go through the [`Prompter`]
//! trait, and only when stdin and stderr are terminals and `--yes` was not
//! given (docs/invariants.md, I6).

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use crate::error::{user, Exit};

/// Text for one line of the terminal, control characters escaped (`\n`,
/// `\u{1b}`): messages quote what the user typed or the repository holds (a
/// path, a revision, a cause), and a newline or a terminal escape in it must
/// not forge another line or repaint the screen.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One word of a shell command, quoted (by `shlex`) only when the shell
/// would act on it: `backup/sprint-3` as it is, `'a$(b)'`, `"it's"`. Words
/// made of letters, digits and `-_./=:@,+` stay bare, as they always were
/// here. A shell word cannot hold a NUL byte: one is dropped.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c));
    if plain {
        return word.to_string();
    }
    let word = word.replace('\0', "");
    match shlex::try_quote(&word) {
        Ok(quoted) => quoted.into_owned(),
        // Unreachable: the only error is a NUL byte, removed above.
        Err(_) => String::from("''"),
    }
}

/// A repository path, ref name or commit subject as human output shows it:
/// unchanged when it is plain, otherwise C-quoted as git quotes paths
/// (`core.quotePath`): `"a\nb"`, `"tab\there"`, `"\033[31m"`. A name
/// can hold any byte but `/` and NUL, so a newline in it must not forge
/// another line, nor an escape sequence repaint the terminal. Printable
/// non-ASCII text stays readable (as git with `core.quotePath=false`);
/// bytes that are not UTF-8, and C1 controls, are written in octal. JSON
/// output keeps the raw name: JSON escapes it itself.
pub fn quote(text: &str) -> std::borrow::Cow<'_, str> {
    quote_bytes(text.as_bytes())
}

/// [`quote`] for a name that may not be UTF-8.
pub fn quote_bytes(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    use std::fmt::Write as _;
    let plain = |c: char| !(c.is_control() || c == '"' || c == '\\');
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.chars().all(plain) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\x0b' => out.push_str("\\v"),
                '\x0c' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\{b:03o}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\{b:03o}");
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// The styles of human output (`--color`).
pub mod style {
    use super::{AnsiColor, Style};

    pub const GOOD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
    pub const BAD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
    pub const BOLD: Style = Style::new().bold();
    pub const DIM: Style = Style::new().dimmed();
    pub const WARNING: Style = BOLD.fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
    pub const ERROR: Style = BOLD.fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
    /// The unique prefix of an operation id.
    pub const ID: Style = WARNING;
}

/// `text` in `style`, or plain.
fn styled(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// `text` without terminal escape sequences (colour, cursor, title).
pub fn strip_escapes(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How this invocation talks to the user.
#[derive(Debug, Clone)]
pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    pub yes: bool,
    pub dry_run: bool,
    /// Colour on stdout, and on stderr: each stream is asked on its own
    /// whether it is a terminal (`2>err.log` gets no escape codes).
    color: bool,
    color_err: bool,
    interactive: bool,
    progress: bool,
}

impl Ui {
    pub fn new(json: bool, quiet: bool, yes: bool, dry_run: bool, color: ColorChoice) -> Ui {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let wants = |tty: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color && !json,
        };
        let (color, color_err) = (wants(stdout_tty), wants(stderr_tty));
        Ui {
            json,
            quiet,
            yes,
            dry_run,
            color,
            color_err,
            interactive: std::io::stdin().is_terminal() && stderr_tty && !yes,
            progress: stderr_tty && !quiet && !json,
        }
    }

    /// A warning on stderr (kept out of stdout so `--json` stays one object).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let label = self.paint_err("warning:", style::WARNING);
            let _ = writeln!(std::io::stderr(), "{label} {}", one_line(message));
        }
    }

    /// A note on stderr while work is under way.
    pub fn note(&self, message: &str) {
        if !self.quiet && !self.json {
            let _ = writeln!(std::io::stderr(), "{}", one_line(message));
        }
    }

    pub fn progress(&self, len: u64, message: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        bar
    }

    pub fn can_prompt(&self) -> bool {
        self.interactive
    }

    /// Ask for a yes/no confirmation; `--yes` answers yes, no terminal is an
    /// error naming the flag.
    pub fn confirm(&self, prompter: &dyn Prompter, question: &str) -> anyhow::Result<bool> {
        if self.yes {
            return Ok(true);
        }
        if !self.interactive {
            return Err(user(format!(
                "{question} needs an answer and there is no terminal"
            ))
            .hint("pass --yes to confirm")
            .exit(Exit::Usage)
            .into());
        }
        prompter.confirm(question)
    }

    /// `text` in `style` when stdout gets colour.
    pub fn paint(&self, text: &str, style: Style) -> String {
        styled(text, style, self.color)
    }

    /// [`Ui::paint`] for text written to stderr.
    pub fn paint_err(&self, text: &str, style: Style) -> String {
        styled(text, style, self.color_err)
    }

    pub fn good(&self, text: &str) -> String {
        self.paint(text, style::GOOD)
    }

    pub fn bad(&self, text: &str) -> String {
        self.paint(text, style::BAD)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(text, style::BOLD)
    }

    pub fn color_enabled(&self) -> bool {
        self.color
    }
}

/// What a command produced: human lines and JSON fields, built together.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<String>,
    /// Filled only from typed results ([`Outcome::data`]).
    fields: Map<String, Value>,
    pub exit: Option<Exit>,
    /// An exit code passed through from a command the tool ran (`test`),
    /// in place of `exit`'s.
    pub exit_code: Option<i32>,
    /// The pager the human lines go through (see [`crate::pager`]); set
    /// only for output on a terminal.
    pub pager: Option<String>,
}

impl Outcome {
    pub fn new() -> Outcome {
        Outcome::default()
    }

    pub fn line(&mut self, line: impl Into<String>) -> &mut Self {
        self.lines.push(line.into());
        self
    }

    /// The JSON fields, in the order the results gave them.
    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    /// Add every field of a command's typed result to the JSON object, in
    /// the struct's order. A command's JSON output is the fields of the
    /// structs it passes here, one after the other; README lists them.
    pub fn data(&mut self, data: &impl serde::Serialize) -> &mut Self {
        match serde_json::to_value(data) {
            Ok(Value::Object(map)) => self.fields.extend(map),
            Ok(other) => debug_assert!(false, "command output is not an object: {other}"),
            Err(e) => debug_assert!(false, "command output does not serialize: {e}"),
        }
        self
    }

    /// The command would change nothing, so it records nothing
    /// (docs/invariants.md, I11): says so in one line, and `"changed": false`
    /// in JSON. A dry run says the same.
    pub fn nothing_to_do(&mut self, why: impl AsRef<str>) -> &mut Self {
        #[derive(serde::Serialize)]
        struct Nothing {
            changed: bool,
        }
        self.data(&Nothing { changed: false });
        self.line(format!("Nothing to do: {}.", why.as_ref()))
    }

    /// Show the human lines through this pager (`None`: print them).
    pub fn paged(&mut self, pager: Option<String>) -> &mut Self {
        self.pager = pager;
        self
    }

    /// Finish with a non-zero exit that is not an error (a failed check).
    pub fn exit_with(&mut self, exit: Exit) -> &mut Self {
        self.exit = Some(exit);
        self
    }

    /// Finish with the exit code of a command the tool ran (`test` passes
    /// its tests' code through); 0 is success.
    pub fn exit_with_code(&mut self, code: i32) -> &mut Self {
        self.exit_code = Some(code);
        self
    }
}

/// Interactive questions; dialoguer on a terminal.
pub trait Prompter {
    fn confirm(&self, question: &str) -> anyhow::Result<bool>;
    fn multi_select(&self, prompt: &str, items: &[String]) -> anyhow::Result<Vec<usize>>;
    fn select(&self, prompt: &str, items: &[String]) -> anyhow::Result<usize>;
}

/// The terminal prompter.
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn confirm(&self, question: &str) -> anyhow::Result<bool> {
        answered(|| {
            dialoguer::Confirm::new()
                .with_prompt(question)
                .default(false)
                .interact_opt()
        })
    }

    fn multi_select(&self, prompt: &str, items: &[String]) -> anyhow::Result<Vec<usize>> {
        answered(|| {
            dialoguer::MultiSelect::new()
                .with_prompt(prompt)
                .items(items)
                .interact_opt()
        })
    }

    fn select(&self, prompt: &str, items: &[String]) -> anyhow::Result<usize> {
        answered(|| {
            dialoguer::Select::new()
                .with_prompt(prompt)
                .items(items)
                .default(0)
                .interact_opt()
        })
    }
}

/// While it lives, Ctrl-C typed at the terminal is a key the prompt reads,
/// not a SIGINT from the terminal: console reads each key in raw mode, but
/// between two reads (while it redraws) the terminal is in its usual mode,
/// and a Ctrl-C typed then would be a signal the prompt never sees, held
/// off and lost, leaving the prompt waiting. With the terminal's `ISIG`
/// off for the whole prompt, that Ctrl-C waits in the input for the next
/// read, which cancels.
struct CtrlCIsAKey {
    saved: rustix::termios::Termios,
}

impl CtrlCIsAKey {
    fn on_stdin() -> Option<CtrlCIsAKey> {
        use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut keys = saved.clone();
        keys.local_modes.remove(LocalModes::ISIG);
        tcsetattr(&stdin, OptionalActions::Drain, &keys).ok()?;
        Some(CtrlCIsAKey { saved })
    }
}

impl Drop for CtrlCIsAKey {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ = rustix::termios::tcsetattr(
            &stdin,
            rustix::termios::OptionalActions::Drain,
            &self.saved,
        );
    }
}

/// A prompt's answer. Esc (or `q`) and Ctrl-C cancel: the terminal is put
/// back as it was (dialoguer leaves the cursor hidden when Ctrl-C stops a
/// list, console takes it out of raw mode after each key) and the
/// command stops in one line, before it has changed anything.
fn answered<T>(ask: impl FnOnce() -> dialoguer::Result<Option<T>>) -> anyhow::Result<T> {
    // console reads a key in raw mode and, for Ctrl-C, raises SIGINT once
    // the terminal is back in its mode; held off here, the read returns
    // "interrupted" instead of ending the process with the cursor hidden.
    let held = crate::signals::Held::new(&[signal_hook::consts::SIGINT])?;
    let keys = CtrlCIsAKey::on_stdin();
    let answer = ask();
    drop(keys);
    drop(held);
    let interrupted = match answer {
        Ok(Some(value)) => return Ok(value),
        Ok(None) => false,
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => true,
        Err(e) => {
            let _ = console::Term::stderr().show_cursor();
            return Err(e.into());
        }
    };
    let term = console::Term::stderr();
    let _ = term.show_cursor();
    if interrupted {
        // Ctrl-C leaves the cursor after the prompt: the message goes on a
        // line of its own.
        let _ = term.write_line("");
    }
    Err(user("cancelled: nothing was changed")
        .exit(Exit::Stopped)
        .into())
}

#[cfg(test)]
mod tests {
    use super::{quote, quote_bytes, shell_word, strip_escapes, style, styled};

    #[test]
    fn styles_are_the_sgr_codes_of_before_and_strip_back_to_the_text() {
        assert_eq!(styled("ok", style::GOOD, true), "\x1b[32mok\x1b[0m");
        assert_eq!(styled("no", style::BAD, true), "\x1b[31mno\x1b[0m");
        assert_eq!(styled("x", style::ERROR, true), "\x1b[1m\x1b[31mx\x1b[0m");
        assert_eq!(styled("x", style::ERROR, false), "x");
        for s in [
            style::GOOD,
            style::BAD,
            style::BOLD,
            style::DIM,
            style::WARNING,
            style::ID,
        ] {
            assert_eq!(strip_escapes(&styled("a b", s, true)), "a b");
        }
        assert_eq!(strip_escapes("\x1b[?25lQ\x1b[1K\x1b]0;t\x07!"), "Q!");
    }

    #[test]
    fn shell_words_read_back_as_themselves() {
        for word in [
            "it's",
            "a$(b)",
            "two words",
            "",
            "x\"y",
            "ünï",
            "a'b\"c$d",
            "-n",
        ] {
            let quoted = shell_word(word);
            assert_eq!(
                shlex::split(&quoted),
                Some(vec![word.to_string()]),
                "{quoted}"
            );
        }
        assert_eq!(shell_word("backup/sprint-3"), "backup/sprint-3");
        assert_eq!(shell_word("key=a,b:c@d+e"), "key=a,b:c@d+e");
        assert_eq!(shell_word("nul\0byte"), "nulbyte");
    }

    #[test]
    fn plain_names_are_left_alone() {
        for name in ["src/lib.rs", "dir with space/ünï.txt", "feature/x-1", ""] {
            assert_eq!(quote(name), name);
        }
    }

    #[test]
    fn control_characters_are_c_quoted_as_git_does() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        assert_eq!(quote("tab\there"), r#""tab\there""#);
        assert_eq!(quote("\x1b[31mred"), r#""\033[31mred""#);
        assert_eq!(quote("q\"uote\\d"), r#""q\"uote\\d""#);
        assert_eq!(quote("del\x7f"), r#""del\177""#);
        assert_eq!(quote("c1\u{9b}"), r#""c1\302\233""#);
        assert_eq!(quote_bytes(b"bad\xff.txt"), r#""bad\377.txt""#);
    }

    #[test]
    fn quoted_text_holds_no_control_character() {
        let q = quote("x\x1b]0;title\x07\r\n");
        assert!(!q.chars().any(char::is_control), "{q}");
    }
}
