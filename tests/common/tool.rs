//! [`ToolOutput`]: the result of one run of the tool, with assertions that
//! show everything the tool printed when they fail.

use std::fmt;
use std::process::Output;

/// Exit code and (lossily decoded) output of one tool run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutput {
    /// Exit code; -1 when the process was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    pub fn from_output(out: Output) -> ToolOutput {
        ToolOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Panics, showing stdout and stderr, unless the exit code is 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        if self.code != 0 {
            panic!(
                "expected the tool to succeed, got exit code {}\n{self}",
                self.code
            );
        }
        self
    }

    /// Panics, showing stdout and stderr, unless the exit code is `n`.
    #[track_caller]
    pub fn assert_code(&self, n: i32) -> &Self {
        if self.code != n {
            panic!("expected exit code {n}, got {}\n{self}", self.code);
        }
        self
    }

    /// Panics unless the tool exited with a non-zero code (a signal does
    /// not count as a clean failure).
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        if self.code == 0 || self.code == -1 {
            panic!("expected a non-zero exit code, got {}\n{self}", self.code);
        }
        self
    }

    /// Panics unless the run failed (a non-zero exit, not a signal) with
    /// exactly one `error: …` line on stderr, nothing on stdout, and no
    /// panic.
    #[track_caller]
    pub fn assert_one_line_error(&self) -> &Self {
        self.assert_failure();
        assert!(
            !self.stderr.contains("panicked"),
            "the tool panicked\n{self}"
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "expected a one-line error\n{self}");
        assert!(
            lines[0].starts_with("error: "),
            "expected the line to start with `error: `\n{self}"
        );
        assert_eq!(self.stdout, "", "errors go to stderr only\n{self}");
        self
    }

    /// Panics unless stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            panic!("expected stdout to contain {needle:?}\n{self}");
        }
        self
    }

    /// Panics unless stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            panic!("expected stderr to contain {needle:?}\n{self}");
        }
        self
    }

    /// stdout parsed as JSON; panics (showing the output) unless stdout is
    /// exactly one JSON object, surrounding whitespace aside.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str::<serde_json::Value>(&self.stdout) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            Ok(other) => panic!(
                "expected stdout to be one JSON object, got a {}\n{self}",
                json_kind(&other)
            ),
            Err(e) => panic!("expected stdout to be one JSON object: {e}\n{self}"),
        }
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

impl fmt::Display for ToolOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- exit code: {}", self.code)?;
        writeln!(f, "--- stdout ({} bytes)", self.stdout.len())?;
        writeln!(f, "{}", self.stdout.trim_end())?;
        writeln!(f, "--- stderr ({} bytes)", self.stderr.len())?;
        write!(f, "{}", self.stderr.trim_end())
    }
}
