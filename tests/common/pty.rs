//! [`Pty`]: the tool in a real pseudo-terminal, for the prompts that only
//! appear on a terminal (dialoguer's Confirm, Select, MultiSelect).
//!
//! The terminal comes from `portable-pty`: the tool runs with the
//! [`TestRepo`]'s sandbox environment and stdin, stdout and stderr all on
//! the terminal's slave side, in a session of its own with the terminal as
//! its controlling terminal (as a shell would start it), in an 80×24
//! window. A thread reads everything the tool writes as it comes, so the
//! tool never blocks on a full terminal however slowly the test runs.
//!
//! The test plays the user on the master side: [`Pty::send`] types bytes —
//! keys as the terminal sends them, so raw escape sequences work:
//! `"\x1b[B"` is the down arrow, `" "` toggles a MultiSelect item, `"\r"`
//! is Enter — and [`Pty::expect`] waits for text to appear on the screen
//! stream, with ANSI escape sequences and carriage returns taken out.
//! [`Pty::wait`] collects the exit code, killing the tool when it does not
//! finish in time. Every failure shows the whole transcript.
//!
//! dialoguer reads keys in raw mode, one at a time, so a key sent before its
//! prompt is drawn may be echoed or read by an earlier prompt: wait for each
//! prompt with `expect` before answering it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, ChildKiller, CommandBuilder, MasterPty, PtySize};

use super::repo::{TestRepo, TOOL_BIN};

/// The window size the tool sees.
pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// The tool running on a pseudo-terminal. Dropping it kills the tool if it
/// is still running.
pub struct Pty {
    child: Box<dyn Child + Send + Sync>,
    /// Keys typed by the test.
    keys: Box<dyn Write + Send>,
    /// Kept open for the life of the tool.
    _master: Box<dyn MasterPty + Send>,
    /// What the reader thread reads; disconnected once every slave
    /// descriptor is closed.
    chunks: Receiver<Vec<u8>>,
    /// Everything the tool wrote, as written.
    raw: Vec<u8>,
    /// Position in the cleaned text up to which `expect` has matched.
    consumed: usize,
    /// The exit code, once collected.
    code: Option<i32>,
    eof: bool,
}

impl Pty {
    /// Start the tool with `args` in the repository.
    pub fn spawn(repo: &TestRepo, args: &[&str]) -> Pty {
        Self::spawn_with_env(repo, args, &[])
    }

    /// Start the tool with extra environment variables, set after the
    /// sandbox (so they can override it). `TERM` is `xterm-256color` unless
    /// given; `NO_COLOR` stays set.
    pub fn spawn_with_env(repo: &TestRepo, args: &[&str], envs: &[(&str, &str)]) -> Pty {
        Self::spawn_in(repo, repo.path(), args, envs)
    }

    /// Like [`Pty::spawn_with_env`], in another directory.
    pub fn spawn_in(repo: &TestRepo, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Pty {
        Self::spawn_without(repo, dir, args, envs, &[])
    }

    /// Like [`Pty::spawn_in`], with the sandbox's variables `remove` unset
    /// (`GIT_PAGER`, to reach the settings that come after it).
    pub fn spawn_without(
        repo: &TestRepo,
        dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        remove: &[&str],
    ) -> Pty {
        let mut argv = vec![TOOL_BIN];
        argv.extend_from_slice(args);
        Self::spawn_argv(repo, dir, &argv, envs, remove)
    }

    /// Like [`Pty::spawn`], with stderr going to the file `stderr` instead
    /// of the terminal (stdin and stdout stay on it). A shell opens the
    /// file and then becomes the tool (`exec`), so the tool is still the
    /// terminal's session leader.
    pub fn spawn_with_stderr(
        repo: &TestRepo,
        args: &[&str],
        envs: &[(&str, &str)],
        stderr: &Path,
    ) -> Pty {
        let Some(stderr) = stderr.to_str() else {
            panic!("the stderr file's path is not UTF-8: {stderr:?}");
        };
        let mut argv = vec!["/bin/sh", "-c", "exec \"$@\" 2>\"$0\"", stderr, TOOL_BIN];
        argv.extend_from_slice(args);
        Self::spawn_argv(repo, repo.path(), &argv, envs, &[])
    }

    fn spawn_argv(
        repo: &TestRepo,
        dir: &Path,
        argv: &[&str],
        envs: &[(&str, &str)],
        remove: &[&str],
    ) -> Pty {
        let size = PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        };
        let pair = native_pty_system()
            .openpty(size)
            .unwrap_or_else(|e| panic!("cannot open a pty: {e}"));
        let mut cmd = CommandBuilder::from_argv(argv.iter().map(Into::into).collect());
        cmd.cwd(dir);
        // The sandbox, as `TestRepo::apply_env` sets it on a command.
        let mut sandbox = Command::new(TOOL_BIN);
        repo.apply_env(&mut sandbox);
        for (name, value) in sandbox.get_envs() {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            }
        }
        cmd.env_remove("GIT_AUTHOR_DATE");
        cmd.env_remove("GIT_COMMITTER_DATE");
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLUMNS", COLS.to_string());
        cmd.env("LINES", ROWS.to_string());
        for name in remove {
            cmd.env_remove(name);
        }
        for (name, value) in envs {
            cmd.env(name, value);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("cannot spawn {argv:?} on a pty: {e}"));
        // Only the child holds the slave now, so its exit ends the stream.
        drop(pair.slave);
        let mut reader = pair
            .master
            .try_clone_reader()
            .unwrap_or_else(|e| panic!("cannot read the pty: {e}"));
        let keys = pair
            .master
            .take_writer()
            .unwrap_or_else(|e| panic!("cannot write to the pty: {e}"));
        let (tx, chunks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match reader.read(&mut buf) {
                    // End of the stream (EIO, every slave descriptor
                    // closed, reads as 0), or the test has gone.
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
        Pty {
            child,
            keys,
            _master: pair.master,
            chunks,
            raw: Vec::new(),
            consumed: 0,
            code: None,
            eof: false,
        }
    }

    /// Type `bytes` on the terminal (keys, escape sequences, text).
    #[track_caller]
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        if let Err(e) = self
            .keys
            .write_all(bytes.as_ref())
            .and_then(|()| self.keys.flush())
        {
            self.read_available(Duration::from_millis(100));
            panic!("cannot write to the pty: {e}\n{}", self.transcript());
        }
    }

    /// Wait until `text` appears in the output after the previous match;
    /// returns the output from the previous match up to and including
    /// `text`. Panics, showing the transcript, after `timeout`.
    #[track_caller]
    pub fn expect(&mut self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.output();
            if let Some(at) = screen[self.consumed..].find(text) {
                let end = self.consumed + at + text.len();
                let seen = screen[self.consumed..end].to_string();
                self.consumed = end;
                return seen;
            }
            let now = Instant::now();
            if now >= deadline || (self.eof && self.code.is_some()) {
                panic!(
                    "expected {text:?} on the terminal within {timeout:?}{}\n{}",
                    if self.eof {
                        " (the tool has exited)"
                    } else {
                        ""
                    },
                    self.transcript()
                );
            }
            self.read_available((deadline - now).min(Duration::from_millis(50)));
            if self.eof {
                self.try_collect();
            }
        }
    }

    /// Wait for the tool to exit and return its exit code (-1 for a
    /// signal), reading its output meanwhile. After `timeout` the tool is
    /// killed and the test fails.
    #[track_caller]
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            self.read_available(Duration::from_millis(20));
            self.try_collect();
            if let Some(code) = self.code {
                // The rest of what it wrote: the stream ends once every
                // slave descriptor is closed, which on a loaded machine
                // can come well after the exit status.
                let drain = Instant::now()
                    + Duration::from_secs(10)
                        .max(deadline.saturating_duration_since(Instant::now()));
                while !self.eof && Instant::now() < drain {
                    self.read_available(Duration::from_millis(20));
                }
                return code;
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!(
                    "the tool did not exit within {timeout:?}; it was killed\n{}",
                    self.transcript()
                );
            }
        }
    }

    /// Everything the tool wrote so far, without ANSI escape sequences and
    /// carriage returns.
    pub fn output(&self) -> String {
        strip_ansi(&String::from_utf8_lossy(&self.raw))
    }

    /// The output (cleaned and raw) for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- terminal output (cleaned)\n{}\n--- raw\n{:?}",
            self.output().trim_end(),
            String::from_utf8_lossy(&self.raw)
        )
    }

    fn try_collect(&mut self) {
        if self.code.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                // -1 for a signal, as `std::process::ExitStatus::code`
                // gives none.
                self.code = Some(match status.signal() {
                    Some(_) => -1,
                    None => i32::try_from(status.exit_code()).unwrap_or(-1),
                });
            }
        }
    }

    /// Take what the tool has written, waiting up to `wait` for the first
    /// bytes.
    fn read_available(&mut self, wait: Duration) {
        if self.eof {
            std::thread::sleep(wait.min(Duration::from_millis(5)));
            return;
        }
        match self.chunks.recv_timeout(wait) {
            Ok(chunk) => self.raw.extend_from_slice(&chunk),
            Err(RecvTimeoutError::Timeout) => return,
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                return;
            }
        }
        loop {
            match self.chunks.try_recv() {
                Ok(chunk) => self.raw.extend_from_slice(&chunk),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.eof = true;
                    return;
                }
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.code.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// The text without ANSI escape sequences (CSI, OSC, and the other
/// sequences a terminal interprets) and carriage returns.
pub fn strip_ansi(text: &str) -> String {
    anstream::adapter::strip_str(text)
        .to_string()
        .replace('\r', "")
}
