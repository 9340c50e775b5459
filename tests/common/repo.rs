//! [`TestRepo`]: a real git repository in a temporary directory, driven by the
//! real `git` command line, plus a sandboxed way to run the tool against it.
//!
//! Each `TestRepo` owns one temporary root directory laid out as
//!
//! ```text
//! <root>/repo   the repository (work tree with .git, or the bare repository)
//! <root>/home   HOME, with an empty .gitconfig (GIT_CONFIG_GLOBAL) and XDG dirs
//! <root>/tmp    TMPDIR for every child process
//! ```
//!
//! Every git and tool process gets the same sandbox environment (see
//! [`TestRepo::env_pairs`]); inherited variables that could change git's or
//! the tool's behaviour are removed first (see [`scrub_env`]).
//!
//! Commit dates come from a per-repository clock that starts at
//! [`BASE_COMMIT_DATE`] and advances by one minute after every git command
//! that records a date (`commit`, `merge`, `stash`, `tag`, ...), so the same
//! sequence of harness calls always yields the same commit ids.
//!
//! The temporary roots are in memory (`/dev/shm`) where the machine has a
//! tmpfs there with room, else in the usual temporary directory; see
//! [`temp_base`]. Set `GRS_TEST_TMPDIR` to choose the directory, and
//! `GRS_TEST_KEEP=1` to keep the temporary directories for inspection.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use tempfile::TempDir;

use super::capture::{capture_repo, RepoState};
use super::tool::ToolOutput;

/// The binary under test.
pub const TOOL_BIN: &str = env!("CARGO_BIN_EXE_git-rollback-sprint");

/// Author and committer date of the first commit made through the harness.
pub const BASE_COMMIT_DATE: &str = "2026-11-20T09:00:00+00:00";
/// [`BASE_COMMIT_DATE`] as seconds since the Unix epoch.
const BASE_EPOCH: i64 = 1_795_165_200;

/// Default value of the tool's test clock, `GIT_ROLLBACK_SPRINT_NOW`.
pub const DEFAULT_NOW: &str = "2026-11-21T10:04:05+00:00";

/// Fixed identity used for the repository config and the git env vars.
pub const USER_NAME: &str = "Sprint Tester";
pub const USER_EMAIL: &str = "tester@example.com";

/// Git subcommands that record an author/committer date (or a reflog entry
/// worth keeping apart); the harness clock advances after each of them.
const DATED_SUBCOMMANDS: &[&str] = &[
    "am",
    "cherry-pick",
    "commit",
    "commit-tree",
    "merge",
    "notes",
    "pull",
    "rebase",
    "revert",
    "stash",
    "tag",
];

/// Exact names of inherited variables removed from every child process.
const SCRUBBED_VARS: &[&str] = &[
    // Repository discovery and layout; also covered by the GIT_ prefix, but
    // listed so they are removed even when set on a Command before
    // `apply_env` runs.
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CEILING_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_DIR",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_INDEX_FILE",
    "GIT_NAMESPACE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_WORK_TREE",
    // Locale, terminal, editors and pagers.
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "EDITOR",
    "EMAIL",
    "FORCE_COLOR",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LESS",
    "LINES",
    "NO_COLOR",
    "PAGER",
    "TERM",
    "TMPDIR",
    "TZ",
    "VISUAL",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
];

/// Prefixes of inherited variables removed from every child process. `GIT_`
/// covers GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY,
/// GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_CEILING_DIRECTORIES,
/// GIT_DISCOVERY_ACROSS_FILESYSTEM, GIT_CONFIG_*, GIT_TRACE*, and the tool's
/// own GIT_ROLLBACK_SPRINT_* settings.
const SCRUBBED_PREFIXES: &[&str] = &["GIT_", "LC_"];

/// Remove from `cmd` every inherited environment variable that could change
/// how git or the tool behaves. [`TestRepo::apply_env`] calls this before
/// setting the sandbox variables.
pub fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let Some(name) = key.to_str() else { continue };
        if SCRUBBED_VARS.contains(&name) || SCRUBBED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            cmd.env_remove(&key);
        }
    }
    for name in SCRUBBED_VARS {
        cmd.env_remove(name);
    }
}

/// A minimal sandbox for git processes that are not tied to a [`TestRepo`]
/// (used by [`capture_repo`]): no global or system config, C locale, UTC, no
/// optional locks. `dir` becomes the working directory.
pub fn plain_git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    scrub_env(&mut cmd);
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .env("TZ", "UTC");
    cmd
}

/// A real git repository in a temporary directory. See the module docs.
pub struct TestRepo {
    /// Owns the temporary root; removed on drop.
    _root: TempDir,
    root: PathBuf,
    path: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
    bare: bool,
    /// Number of dated git commands run so far (minutes after the base date).
    ticks: AtomicU32,
    /// Current value of GIT_ROLLBACK_SPRINT_NOW.
    now: Mutex<String>,
}

impl std::fmt::Debug for TestRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRepo")
            .field("path", &self.path)
            .field("bare", &self.bare)
            .field("ticks", &self.ticks.load(Ordering::SeqCst))
            .finish()
    }
}

/// Create the temporary root with `home/` (empty .gitconfig, .config) and
/// `tmp/`; returns (tempdir, canonical root, home, tmp).
fn make_root() -> (TempDir, PathBuf, PathBuf, PathBuf) {
    let keep = std::env::var_os("GRS_TEST_KEEP").is_some_and(|v| !v.is_empty() && v != "0");
    let dir = tempfile::Builder::new()
        .prefix("grs-test-")
        .disable_cleanup(keep)
        .tempdir_in(temp_base())
        .expect("create temporary directory");
    let root = fs::canonicalize(dir.path()).expect("canonicalize temporary directory");
    if keep {
        eprintln!("GRS_TEST_KEEP: keeping {}", root.display());
    }
    let home = root.join("home");
    let tmp = root.join("tmp");
    for d in [
        home.join(".config"),
        home.join(".local/share"),
        home.join(".local/state"),
        home.join(".cache"),
        tmp.clone(),
    ] {
        fs::create_dir_all(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
    }
    fs::write(home.join(".gitconfig"), b"").expect("write empty global gitconfig");
    (dir, root, home, tmp)
}

thread_local! {
    static ON_DISK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `build` with every temporary root it makes in the usual temporary
/// directory (on disk), not in memory: for the tests of the tool's reading
/// of its file system's usage, which an almost empty tmpfs would not trip.
pub fn on_disk<T>(build: impl FnOnce() -> T) -> T {
    ON_DISK.with(|d| d.set(true));
    let built = build();
    ON_DISK.with(|d| d.set(false));
    built
}

/// Where the temporary roots go: `GRS_TEST_TMPDIR` when set; else
/// `/dev/shm` when it is a tmpfs with 4 GiB free (the suite holds a few
/// hundred MB at a time); else the usual temporary directory.
///
/// Memory first because of what a disk costs the suite on some machines:
/// on ext4 without a journal (as on the machines CI runs on), creating a file
/// skips, one buffer lookup each, every free inode of its block group freed
/// in the last minute (five when not yet written back), and on a `discard`
/// mount every removal waits for the device. With each test removing its
/// repository while the next ones create theirs, those two were most of the
/// suite's time there (570 s against about 230 s in memory, same machine).
fn temp_base() -> PathBuf {
    if ON_DISK.with(std::cell::Cell::get) {
        return std::env::temp_dir();
    }
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        if let Some(dir) = std::env::var_os("GRS_TEST_TMPDIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        memory_dir().unwrap_or_else(std::env::temp_dir)
    })
    .clone()
}

/// `/dev/shm` when it is a writable tmpfs with 4 GiB free.
#[cfg(target_os = "linux")]
fn memory_dir() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let shm = Path::new("/dev/shm");
    let c_path = std::ffi::CString::new(shm.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statfs` writes only into `stat`, a plain C struct for which
    // all zeroes is a valid value; `c_path` is a NUL-terminated string.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let free = stat
        .f_bavail
        .saturating_mul(u64::try_from(stat.f_bsize).ok()?);
    let writable = tempfile::Builder::new()
        .prefix("grs-test-probe-")
        .tempdir_in(shm)
        .is_ok();
    (stat.f_type == libc::TMPFS_MAGIC && free >= 4 << 30 && writable).then(|| shm.to_path_buf())
}

#[cfg(not(target_os = "linux"))]
fn memory_dir() -> Option<PathBuf> {
    None
}

fn path_str(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("temporary path is not UTF-8: {}", p.display()))
}

/// ISO-8601 date `minutes` after [`BASE_COMMIT_DATE`].
fn date_after(minutes: u32) -> String {
    let secs = BASE_EPOCH + i64::from(minutes) * 60;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The git subcommand in `args` (first argument that is not an option or
/// the value of `-c`/`-C`).
fn subcommand<S: AsRef<OsStr>>(args: &[S]) -> Option<&str> {
    let mut it = args.iter().map(|a| a.as_ref().to_str().unwrap_or(""));
    while let Some(a) = it.next() {
        match a {
            "-c" | "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" => {
                it.next();
            }
            _ if a.starts_with('-') => {}
            _ => return Some(a),
        }
    }
    None
}

fn show_args<S: AsRef<OsStr>>(args: &[S]) -> String {
    let v: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    format!("{v:?}")
}

impl TestRepo {
    /// `git init -b main` in a fresh sandbox, with `user.name`, `user.email`
    /// and `core.autocrlf=false` in the repository config. No commits.
    pub fn new() -> TestRepo {
        Self::init(false, "repo")
    }

    /// Like [`Self::new`], in a work tree directory called `name` (for
    /// examples that `cd` into a named project).
    pub fn named(name: &str) -> TestRepo {
        Self::init(false, name)
    }

    /// A bare repository (`git init --bare -b main`); `path()` is the bare
    /// repository itself and `capture()` records no work-tree files.
    pub fn new_bare() -> TestRepo {
        Self::init(true, "repo")
    }

    fn init(bare: bool, name: &str) -> TestRepo {
        let (dir, root, home, tmp) = make_root();
        let path = root.join(name);
        let repo = TestRepo {
            _root: dir,
            root: root.clone(),
            path,
            home,
            tmp,
            bare,
            ticks: AtomicU32::new(0),
            now: Mutex::new(DEFAULT_NOW.to_string()),
        };
        let mut args = vec!["init", "-q", "-b", "main"];
        if bare {
            args.push("--bare");
        }
        args.push(name);
        repo.git_in(&root, &args);
        repo.git(&["config", "user.name", USER_NAME]);
        repo.git(&["config", "user.email", USER_EMAIL]);
        repo.git(&["config", "core.autocrlf", "false"]);
        repo
    }

    /// `new()` plus two commits:
    ///
    /// 1. "initial commit": `README.md`, `.gitignore` (ignores `*.log`,
    ///    `target/`, `.env`).
    /// 2. "add sources": `src/lib.rs`, `src/main.rs`,
    ///    `tests/unit/test_lib.py`, executable `bin/run.sh`, symlink
    ///    `link -> README.md`, `docs/guide.md`, `config/settings.toml`.
    pub fn with_commits() -> TestRepo {
        let repo = Self::new();
        repo.write("README.md", "# Demo project\n\nA repository for tests.\n");
        repo.write(".gitignore", "*.log\ntarget/\n.env\n");
        repo.commit_all("initial commit");

        repo.write(
            "src/lib.rs",
            "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
        );
        repo.write(
            "src/main.rs",
            "fn main() {\n    println!(\"{}\", demo::add(1, 2));\n}\n",
        );
        repo.write(
            "tests/unit/test_lib.py",
            "def test_add():\n    assert 1 + 2 == 3\n",
        );
        repo.write_exec("bin/run.sh", "#!/bin/sh\nset -e\necho running\n");
        repo.symlink("link", "README.md");
        repo.write("docs/guide.md", "# Guide\n\nStep one.\n");
        repo.write("config/settings.toml", "[server]\nport = 8080\n");
        repo.commit_all("add sources");
        repo
    }

    /// A full copy (`cp -a`) of the repository, including `.git`, in a new
    /// sandbox. The copy's clock and tool clock continue from this one's, so
    /// the same later commands give the same ids in both.
    pub fn copy(&self) -> TestRepo {
        let (dir, root, home, tmp) = make_root();
        let path = root.join("repo");
        let out = Command::new("cp")
            .arg("-a")
            .arg("--")
            .arg(&self.path)
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .expect("run cp -a");
        assert!(
            out.status.success(),
            "cp -a {} {} failed: {}",
            self.path.display(),
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        TestRepo {
            _root: dir,
            root,
            path,
            home,
            tmp,
            bare: self.bare,
            ticks: AtomicU32::new(self.ticks.load(Ordering::SeqCst)),
            now: Mutex::new(self.now()),
        }
    }

    // ----- locations -------------------------------------------------------

    /// The work tree (or the bare repository).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary root holding `repo/`, `home/` and `tmp/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The sandbox HOME.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The sandbox TMPDIR.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    pub fn is_bare(&self) -> bool {
        self.bare
    }

    /// `git rev-parse --absolute-git-dir`.
    pub fn git_dir(&self) -> PathBuf {
        PathBuf::from(self.git(&["rev-parse", "--absolute-git-dir"]))
    }

    /// The names of the packs in the object store, sorted.
    pub fn packs(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.git_dir().join("objects/pack"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".pack"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// How many loose objects the object store holds.
    pub fn loose_objects(&self) -> usize {
        let objects = self.git_dir().join("objects");
        fs::read_dir(&objects)
            .expect("the object store")
            .filter_map(Result::ok)
            .filter(|d| {
                let name = d.file_name();
                let name = name.to_string_lossy();
                name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(|d| fs::read_dir(d.path()).map_or(0, |files| files.count()))
            .sum()
    }

    /// Absolute path of `rel` inside the work tree. Panics on absolute or
    /// `..`-escaping paths so that a typo can never touch files elsewhere.
    #[track_caller]
    pub fn abs(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        assert!(
            rel.is_relative()
                && !rel
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir)),
            "TestRepo paths must be relative and stay inside the repo: {}",
            rel.display()
        );
        self.path.join(rel)
    }

    // ----- environment and clocks ------------------------------------------

    /// The sandbox environment set on every git and tool process (after
    /// [`scrub_env`] removed inherited variables).
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        let home = path_str(&self.home);
        let date = self.commit_date();
        let pairs: Vec<(&str, String)> = vec![
            ("HOME", home.to_string()),
            (
                "GIT_CONFIG_GLOBAL",
                path_str(&self.home.join(".gitconfig")).to_string(),
            ),
            ("GIT_CONFIG_SYSTEM", "/dev/null".to_string()),
            ("GIT_CONFIG_NOSYSTEM", "1".to_string()),
            (
                "XDG_CONFIG_HOME",
                path_str(&self.home.join(".config")).to_string(),
            ),
            (
                "XDG_DATA_HOME",
                path_str(&self.home.join(".local/share")).to_string(),
            ),
            (
                "XDG_STATE_HOME",
                path_str(&self.home.join(".local/state")).to_string(),
            ),
            (
                "XDG_CACHE_HOME",
                path_str(&self.home.join(".cache")).to_string(),
            ),
            ("TMPDIR", path_str(&self.tmp).to_string()),
            // Discovery never walks above the sandbox root.
            ("GIT_CEILING_DIRECTORIES", path_str(&self.root).to_string()),
            ("LC_ALL", "C".to_string()),
            ("LANG", "C".to_string()),
            ("TZ", "UTC".to_string()),
            ("NO_COLOR", "1".to_string()),
            ("TERM", "dumb".to_string()),
            ("COLUMNS", "100".to_string()),
            ("GIT_AUTHOR_NAME", USER_NAME.to_string()),
            ("GIT_AUTHOR_EMAIL", USER_EMAIL.to_string()),
            ("GIT_COMMITTER_NAME", USER_NAME.to_string()),
            ("GIT_COMMITTER_EMAIL", USER_EMAIL.to_string()),
            ("GIT_AUTHOR_DATE", date.clone()),
            ("GIT_COMMITTER_DATE", date),
            ("GIT_TERMINAL_PROMPT", "0".to_string()),
            ("GIT_EDITOR", "true".to_string()),
            ("GIT_PAGER", "cat".to_string()),
            ("PAGER", "cat".to_string()),
            ("GIT_ADVICE", "0".to_string()),
            ("GIT_ROLLBACK_SPRINT_NOW", self.now()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Scrub inherited variables from `cmd` and set [`Self::env_pairs`].
    pub fn apply_env(&self, cmd: &mut Command) {
        scrub_env(cmd);
        for (k, v) in self.env_pairs() {
            cmd.env(k, v);
        }
    }

    /// Set the tool's clock (`GIT_ROLLBACK_SPRINT_NOW`) for later tool runs.
    pub fn set_now(&self, now: &str) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = now.to_string();
    }

    /// Current value of the tool's clock.
    pub fn now(&self) -> String {
        self.now.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The author/committer date the next dated git command will use.
    pub fn commit_date(&self) -> String {
        date_after(self.ticks.load(Ordering::SeqCst))
    }

    /// Advance the commit clock by one minute.
    pub fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }

    // ----- git --------------------------------------------------------------

    fn git_command<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(dir).stdin(Stdio::null());
        self.apply_env(&mut cmd);
        cmd
    }

    fn run_git<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> Output {
        let out = self
            .git_command(dir, args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run git {}: {e}", show_args(args)));
        if subcommand(args).is_some_and(|s| DATED_SUBCOMMANDS.contains(&s)) {
            self.tick();
        }
        out
    }

    /// Run git in the repository; panics (showing stdout and stderr) unless
    /// it succeeds. Returns stdout with trailing whitespace removed (leading
    /// whitespace is kept: it is significant in e.g. `status --porcelain`).
    #[track_caller]
    pub fn git<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        self.git_in(&self.path, args)
    }

    /// Like [`Self::git`], in another directory (same sandbox).
    #[track_caller]
    pub fn git_in<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> String {
        let out = self.run_git(dir, args);
        check_git(dir, args, &out);
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Run git in the repository and return its raw stdout (for `-z`
    /// output and non-UTF-8 names); panics unless it succeeds.
    #[track_caller]
    pub fn git_bytes<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<u8> {
        let out = self.run_git(&self.path, args);
        check_git(&self.path, args, &out);
        out.stdout
    }

    /// Run git in the repository with `input` on stdin (e.g. `fast-import`);
    /// panics unless it succeeds. Returns stdout like [`Self::git`].
    #[track_caller]
    pub fn git_with_stdin<S: AsRef<OsStr>>(&self, args: &[S], input: &[u8]) -> String {
        use std::io::Write;
        let mut child = self
            .git_command(&self.path, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run git {}: {e}", show_args(args)));
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(input).expect("write git's stdin");
        drop(stdin);
        let out = child.wait_with_output().expect("wait for git");
        check_git(&self.path, args, &out);
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Run git in the repository without checking the exit status.
    pub fn git_output<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.run_git(&self.path, args)
    }

    /// `git add -A && git commit -q -m msg`; returns the new HEAD oid.
    #[track_caller]
    pub fn commit_all(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.commit_staged(msg)
    }

    /// `git commit -q -m msg` (index as it is); returns the new HEAD oid.
    #[track_caller]
    pub fn commit_staged(&self, msg: &str) -> String {
        self.git(&["commit", "-q", "-m", msg]);
        self.head()
    }

    /// Full oid of HEAD.
    #[track_caller]
    pub fn head(&self) -> String {
        self.rev("HEAD")
    }

    /// `git rev-parse --verify <rev>`.
    #[track_caller]
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", rev])
    }

    // ----- files ------------------------------------------------------------

    /// Write `bytes` to `rel`, creating parent directories. If `rel` is a
    /// symlink it is replaced (never written through).
    #[track_caller]
    pub fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) {
        let p = self.abs(rel);
        self.make_parent(&p);
        if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&p).unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
        }
        fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// [`Self::write`] then `chmod 0755`.
    #[track_caller]
    pub fn write_exec(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) {
        let rel = rel.as_ref();
        self.write(rel, bytes);
        self.chmod(rel, 0o755);
    }

    /// Create (or replace) the symlink `rel -> target`, creating parents.
    #[track_caller]
    pub fn symlink(&self, rel: impl AsRef<Path>, target: impl AsRef<Path>) {
        let p = self.abs(rel);
        self.make_parent(&p);
        if let Ok(m) = fs::symlink_metadata(&p) {
            if m.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            }
            .unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
        }
        std::os::unix::fs::symlink(target.as_ref(), &p)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", p.display()));
    }

    /// Remove a file, a symlink (not its target) or a whole directory.
    /// Panics if nothing is there.
    #[track_caller]
    pub fn remove(&self, rel: impl AsRef<Path>) {
        let p = self.abs(rel);
        let m = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
        if m.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        }
        .unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
    }

    /// `mkdir -p`.
    #[track_caller]
    pub fn mkdir(&self, rel: impl AsRef<Path>) {
        let p = self.abs(rel);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir -p {}: {e}", p.display()));
    }

    /// `chmod mode rel` (follows symlinks, like chmod(1)).
    #[track_caller]
    pub fn chmod(&self, rel: impl AsRef<Path>, mode: u32) {
        let p = self.abs(rel);
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", p.display()));
    }

    /// Permission bits (`mode & 0o7777`) of `rel`, without following a
    /// symlink.
    #[track_caller]
    pub fn mode(&self, rel: impl AsRef<Path>) -> u32 {
        let p = self.abs(rel);
        let m = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
        m.permissions().mode() & 0o7777
    }

    /// Content of the file `rel` (follows symlinks).
    #[track_caller]
    pub fn read(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        let p = self.abs(rel);
        fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    }

    /// Content of the file `rel` as (lossy) UTF-8.
    #[track_caller]
    pub fn read_string(&self, rel: impl AsRef<Path>) -> String {
        String::from_utf8_lossy(&self.read(rel)).into_owned()
    }

    /// Target of the symlink `rel`.
    #[track_caller]
    pub fn read_link(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.abs(rel);
        fs::read_link(&p).unwrap_or_else(|e| panic!("readlink {}: {e}", p.display()))
    }

    /// Whether anything (file, dir, symlink even if dangling) is at `rel`.
    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        fs::symlink_metadata(self.abs(rel)).is_ok()
    }

    #[track_caller]
    fn make_parent(&self, p: &Path) {
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir -p {}: {e}", parent.display()));
        }
    }

    // ----- state ------------------------------------------------------------

    /// Capture the whole repository state (see [`RepoState`]).
    #[track_caller]
    pub fn capture(&self) -> RepoState {
        capture_repo(&self.path)
    }

    // ----- the tool ---------------------------------------------------------

    /// A configured, not yet spawned command running the tool with `args`
    /// in the repository, sandbox env, stdin = null (for tests that spawn,
    /// signal or kill it; append non-UTF-8 arguments with `.arg()`).
    pub fn tool_command(&self, args: &[&str]) -> Command {
        self.tool_command_in(&self.path, args)
    }

    fn tool_command_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(TOOL_BIN);
        cmd.args(args).current_dir(dir).stdin(Stdio::null());
        self.apply_env(&mut cmd);
        // The commit clock is git's; the tool dates what it writes by its
        // own clock (GIT_ROLLBACK_SPRINT_NOW) unless a test sets
        // GIT_AUTHOR_DATE / GIT_COMMITTER_DATE on purpose.
        cmd.env_remove("GIT_AUTHOR_DATE")
            .env_remove("GIT_COMMITTER_DATE");
        cmd
    }

    /// Run the tool in the repository; never asserts.
    pub fn tool(&self, args: &[&str]) -> ToolOutput {
        run_tool(self.tool_command(args), args)
    }

    /// Run the tool and assert it exited 0.
    #[track_caller]
    pub fn tool_ok(&self, args: &[&str]) -> ToolOutput {
        let out = self.tool(args);
        out.assert_ok();
        out
    }

    /// Run the tool in another directory (same sandbox).
    pub fn tool_in(&self, dir: &Path, args: &[&str]) -> ToolOutput {
        run_tool(self.tool_command_in(dir, args), args)
    }

    /// Run the tool with extra environment variables (set after the
    /// sandbox, so they can override it).
    pub fn tool_with_env(&self, args: &[&str], envs: &[(&str, &str)]) -> ToolOutput {
        let mut cmd = self.tool_command(args);
        cmd.envs(envs.iter().copied());
        run_tool(cmd, args)
    }

    /// Run the tool with `input` on stdin (a pipe, not a terminal).
    pub fn tool_with_stdin(&self, args: &[&str], input: &[u8]) -> ToolOutput {
        let mut cmd = self.tool_command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {TOOL_BIN} {}: {e}", show_args(args)));
        if let Some(mut stdin) = child.stdin.take() {
            // The tool may exit without reading; a broken pipe is fine.
            let _ = stdin.write_all(input);
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait for {TOOL_BIN}: {e}"));
        ToolOutput::from_output(out)
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

fn run_tool(mut cmd: Command, args: &[&str]) -> ToolOutput {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {TOOL_BIN} {}: {e}", show_args(args)));
    ToolOutput::from_output(out)
}

#[track_caller]
fn check_git<S: AsRef<OsStr>>(dir: &Path, args: &[S], out: &Output) {
    if !out.status.success() {
        panic!(
            "git {} in {} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            show_args(args),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
