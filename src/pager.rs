//! The pager, as git runs it (README: `log`, `undo`, `redo`, `status`): long
//! read-only output (`log`, `log show`) goes through it when stdout is a
//! terminal.
//!
//! The command is `GIT_PAGER`, else git config `core.pager` (`git -c`
//! included), else `PAGER`, else `less`; an empty value or `cat` means no
//! pager. It runs with `sh -c`, with `LESS=FRX` and `LV=-c` unless they are
//! set, so that short output is printed as it is and colours pass through.
//! A pager the user quits before the end is not an error.

use std::io::{IsTerminal, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::git::Repo;
use crate::ui::Ui;

/// The pager when nothing else is configured.
pub const DEFAULT: &str = "less";

/// The pager command the settings name, whether or not stdout is a
/// terminal; `None` when it is disabled (empty or `cat`).
pub fn configured(repo: &Repo) -> Option<String> {
    let from_env = |name: &str| std::env::var(name).ok();
    let command = from_env("GIT_PAGER")
        .or_else(|| repo.config_string("core.pager").ok().flatten())
        .or_else(|| from_env("PAGER"))
        .unwrap_or_else(|| DEFAULT.to_string());
    let trimmed = command.trim();
    (!trimmed.is_empty() && trimmed != "cat").then_some(command)
}

/// The pager for this command's output: only for human output on a
/// terminal (never with `--json` or `--quiet`).
pub fn for_output(repo: &Repo, ui: &Ui) -> Option<String> {
    if ui.json || ui.quiet || !std::io::stdout().is_terminal() {
        return None;
    }
    configured(repo)
}

/// A running pager: write into [`Pager::input`], then [`Pager::finish`].
pub struct Pager {
    child: Child,
    input: Option<ChildStdin>,
    /// Ctrl-C reaches the pager, which decides what it means; this process
    /// waits for it, so the shell's prompt never comes back under it.
    _interrupts: Option<crate::signals::Held>,
}

impl Pager {
    /// Start `command` with `sh -c`; `None` when it cannot be started (the
    /// output is then printed directly, as git does).
    pub fn spawn(command: &str) -> Option<Pager> {
        if !startable(command) {
            return None;
        }
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(command).stdin(Stdio::piped());
        for (name, value) in [("LESS", "FRX"), ("LV", "-c")] {
            if std::env::var_os(name).is_none() {
                cmd.env(name, value);
            }
        }
        cmd.env("GIT_PAGER_IN_USE", "true");
        let mut child = cmd.spawn().ok()?;
        let input = child.stdin.take();
        Some(Pager {
            child,
            input,
            // SIGINT and SIGQUIT are held off once the pager has started
            // (so the pager itself still gets them), as git does.
            _interrupts: crate::signals::Held::new(&[
                signal_hook::consts::SIGINT,
                signal_hook::consts::SIGQUIT,
            ])
            .ok(),
        })
    }

    /// Where the output goes (`None` once finished).
    pub fn input(&mut self) -> Option<&mut ChildStdin> {
        self.input.as_mut()
    }

    /// Close the pager's input and wait until the user leaves it.
    pub fn finish(mut self) {
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

/// Whether `command` can start: a single word (no shell syntax) must name
/// a program on `PATH`, as git checks by running it directly; anything else
/// is left to the shell.
fn startable(command: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let word = command.trim();
    let plain = word
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./+".contains(&b));
    if !plain {
        return true;
    }
    let runnable = |path: &std::path::Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if word.contains('/') {
        return runnable(std::path::Path::new(word));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| runnable(&dir.join(word))))
}

/// Write `lines` through the pager `command` (or to stdout when it cannot
/// start). A pager quit early closes its input: the rest is dropped, not
/// reported as an error.
pub fn page_lines(command: &str, lines: &[String]) {
    match Pager::spawn(command) {
        Some(mut pager) => {
            if let Some(input) = pager.input() {
                for line in lines {
                    if writeln!(input, "{line}").is_err() {
                        break;
                    }
                }
                let _ = input.flush();
            }
            pager.finish();
        }
        None => {
            let mut out = std::io::stdout().lock();
            for line in lines {
                if writeln!(out, "{line}").is_err() {
                    break;
                }
            }
        }
    }
}
