//! [`Pty`]: the tool in a real pseudo-terminal, for the prompts that only
//! appear on a terminal (dialoguer's Confirm, Select, MultiSelect).
//!
//! The tool runs with the [`TestRepo`]'s sandbox environment and stdin,
//! stdout and stderr all on the terminal's slave side, detached by
//! `setsid(2)` and given the terminal as its controlling terminal (as a
//! shell would start it), in an 80×24 window. The test plays the user on the master side:
//! [`Pty::send`] types bytes — keys as the terminal sends them, so raw
//! escape sequences work: `"\x1b[B"` is the down arrow, `" "` toggles a
//! MultiSelect item, `"\r"` is Enter — and [`Pty::expect`] waits for text to
//! appear on the screen stream, with ANSI escape sequences and carriage
//! returns taken out. [`Pty::wait`] collects the exit code, killing the tool
//! when it does not finish in time. Every failure shows the whole
//! transcript.
//!
//! dialoguer reads keys in raw mode, one at a time, so a key sent before its
//! prompt is drawn may be echoed or read by an earlier prompt: wait for each
//! prompt with `expect` before answering it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::repo::{TestRepo, TOOL_BIN};

/// The window size the tool sees.
pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// The tool running on a pseudo-terminal. Dropping it kills the tool if it
/// is still running.
pub struct Pty {
    master: File,
    child: Child,
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
        Self::spawn_full(repo, dir, args, envs, remove, None)
    }

    /// Like [`Pty::spawn`], with stderr going to `stderr` instead of the
    /// terminal (stdin and stdout stay on it).
    pub fn spawn_with_stderr(
        repo: &TestRepo,
        args: &[&str],
        envs: &[(&str, &str)],
        stderr: File,
    ) -> Pty {
        Self::spawn_full(repo, repo.path(), args, envs, &[], Some(stderr))
    }

    fn spawn_full(
        repo: &TestRepo,
        dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        remove: &[&str],
        stderr: Option<File>,
    ) -> Pty {
        let (master, slave) = open_pty();
        let mut cmd = Command::new(TOOL_BIN);
        cmd.args(args).current_dir(dir);
        repo.apply_env(&mut cmd);
        cmd.env_remove("GIT_AUTHOR_DATE")
            .env_remove("GIT_COMMITTER_DATE");
        cmd.env("TERM", "xterm-256color")
            .env("COLUMNS", COLS.to_string())
            .env("LINES", ROWS.to_string());
        for name in remove {
            cmd.env_remove(name);
        }
        cmd.envs(envs.iter().copied());
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("duplicate the pty slave"));
        cmd.stdin(stdio(&slave)).stdout(stdio(&slave));
        match stderr {
            Some(file) => cmd.stderr(Stdio::from(file)),
            None => cmd.stderr(stdio(&slave)),
        };
        // SAFETY: only async-signal-safe calls between fork and exec:
        // setsid, and the terminal on stdin as the controlling terminal.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {TOOL_BIN} {args:?} on a pty: {e}"));
        // Only the child holds the slave now, so its exit ends the stream.
        drop(slave);
        drop(cmd);
        Pty {
            master: File::from(master),
            child,
            raw: Vec::new(),
            consumed: 0,
            code: None,
            eof: false,
        }
    }

    /// Type `bytes` on the terminal (keys, escape sequences, text).
    #[track_caller]
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut written = 0;
        while written < bytes.len() {
            match self.master.write(&bytes[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        panic!(
                            "the terminal accepted no input for 10 s\n{}",
                            self.transcript()
                        );
                    }
                    // The tool is not reading: keep its output flowing.
                    self.read_available(Duration::from_millis(20));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("cannot write to the pty: {e}\n{}", self.transcript()),
            }
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
                // The rest of what it wrote.
                let drain = Instant::now() + Duration::from_secs(2);
                while !self.eof && Instant::now() < drain {
                    self.read_available(Duration::from_millis(20));
                }
                return code;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
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
                self.code = Some(status.code().unwrap_or(-1));
            }
        }
    }

    /// Read what is there, waiting up to `wait` for the first byte.
    fn read_available(&mut self, wait: Duration) {
        if self.eof {
            std::thread::sleep(wait.min(Duration::from_millis(5)));
            return;
        }
        let mut pfd = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = wait.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready <= 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        loop {
            match self.master.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => self.raw.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // EIO: every slave descriptor is closed — the tool is gone.
                Err(_) => {
                    self.eof = true;
                    return;
                }
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.code.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A master (non-blocking) and a slave, both close-on-exec so that no
/// other child of the test process inherits them.
fn open_pty() -> (OwnedFd, OwnedFd) {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the ints we own; the
    // name and termios pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty failed: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two open descriptors that nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFD);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flags | libc::FD_CLOEXEC);
        }
    }
    // SAFETY: as above.
    unsafe {
        let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    (master, slave)
}

/// The text without ANSI escape sequences (CSI `ESC [ … final`, OSC
/// `ESC ] … BEL|ESC \`, and two-character `ESC x`) and carriage returns.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    // Parameters and intermediates, then one final byte.
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
