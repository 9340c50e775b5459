//! git's checkout conversions (end-of-line, `ident`) for content written
//! from a commit, through libgit2's `git_blob_filter`, which git2 does not
//! wrap. Snapshot content is never filtered (P8): only files that come from
//! a commit, as `git reset --hard` would write them.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;

use anyhow::Context as _;
use git2::Binding;
use libgit2_sys as raw;

use super::{Repo, RepoPath};

/// `git_blob_filter_options` as `include/git2/blob.h` of libgit2 1.9.7
/// declares it (options version 1). libgit2-sys does not declare it, so it
/// is declared here against the exact libgit2-sys (and so libgit2) that
/// Cargo.toml pins; `tests::declared_against_the_linked_libgit2` fails when
/// either changes.
#[repr(C)]
struct BlobFilterOptions {
    version: libc::c_int,
    flags: u32,
    commit_id: *mut raw::git_oid,
    attr_commit_id: raw::git_oid,
}

/// The libgit2 release whose header the struct above was copied from, and
/// the libgit2-sys release that builds it.
#[cfg(test)]
const DECLARED_FOR_LIBGIT2: (u32, u32, u32) = (1, 9, 7);
#[cfg(test)]
const DECLARED_FOR_LIBGIT2_SYS: &str = "0.18.8+1.9.7";

const GIT_BLOB_FILTER_OPTIONS_VERSION: libc::c_uint = 1;
const GIT_BLOB_FILTER_CHECK_FOR_BINARY: u32 = 1;

extern "C" {
    fn git_blob_filter_options_init(
        opts: *mut BlobFilterOptions,
        version: libc::c_uint,
    ) -> libc::c_int;
    fn git_blob_filter(
        out: *mut raw::git_buf,
        blob: *mut raw::git_blob,
        as_path: *const libc::c_char,
        opts: *mut BlobFilterOptions,
    ) -> libc::c_int;
}

/// The blob's content as git would write it at `path`.
// The one libgit2 call git2 does not wrap (see the module documentation).
#[allow(unsafe_code)]
pub fn smudge<'b>(
    _repo: &Repo,
    blob: &'b git2::Blob<'_>,
    path: &RepoPath,
) -> anyhow::Result<Cow<'b, [u8]>> {
    let c_path = CString::new(path.as_bytes()).context("a path contains a NUL byte")?;
    // SAFETY:
    // * `BlobFilterOptions` has the layout of libgit2's
    //   `git_blob_filter_options` for the linked version (see its
    //   documentation and the test below), with libgit2-sys's `git_oid` (20
    //   bytes: libgit2 is built without experimental SHA-256). All zeroes is
    //   a valid value of it (a null pointer, zero integers), and
    //   `git_blob_filter_options_init` then fills it in, or fails and we
    //   return.
    // * `buf` starts empty (null, 0, 0), as libgit2 expects of an output
    //   buffer. On success it is either untouched (the blob is binary and
    //   `CHECK_FOR_BINARY` is set: no conversion) or points at `size` bytes
    //   that libgit2 allocated and we own until `git_buf_dispose`, which is
    //   called once on every path after the bytes are copied out, and which
    //   accepts a null pointer.
    // * `blob.raw()` is valid for the call: `blob` is borrowed for `'b`,
    //   which outlives this function. `c_path` is NUL-terminated and lives
    //   to the end of the block. libgit2 keeps no pointer to `opts`,
    //   `c_path` or `buf` after it returns.
    unsafe {
        let mut opts: BlobFilterOptions = std::mem::zeroed();
        if git_blob_filter_options_init(&mut opts, GIT_BLOB_FILTER_OPTIONS_VERSION) != 0 {
            anyhow::bail!("could not initialise libgit2's filter options");
        }
        opts.flags = GIT_BLOB_FILTER_CHECK_FOR_BINARY;
        let mut buf = raw::git_buf {
            ptr: std::ptr::null_mut(),
            reserved: 0,
            size: 0,
        };
        let rc = git_blob_filter(&mut buf, blob.raw(), c_path.as_ptr(), &mut opts);
        if rc != 0 {
            raw::git_buf_dispose(&mut buf);
            anyhow::bail!("could not convert {path} for checkout (libgit2 error {rc})");
        }
        if buf.ptr.is_null() {
            // Untouched: a binary blob, written as it is.
            raw::git_buf_dispose(&mut buf);
            return Ok(Cow::Borrowed(blob.content()));
        }
        let out = std::slice::from_raw_parts(buf.ptr as *const u8, buf.size).to_vec();
        raw::git_buf_dispose(&mut buf);
        if out == blob.content() {
            Ok(Cow::Borrowed(blob.content()))
        } else {
            Ok(Cow::Owned(out))
        }
    }
}

impl Repo {
    /// Whether checkouts in this repository convert content at all: end of
    /// line settings or attribute files. Without them, filtering is skipped
    /// (libgit2's attribute lookup costs a `realpath` per file).
    pub fn has_checkout_filters(&self, tree: git2::Oid) -> anyhow::Result<bool> {
        if self.has_filter_settings()? {
            return Ok(true);
        }
        let tree = self
            .inner
            .find_tree(tree)
            .context("could not read a tree")?;
        let mut found = false;
        // Stopped at the first one found (the walk's error, not reported).
        let _ = super::each_tree_entry(&self.inner, &tree, &mut |_, entry| {
            if entry.name_bytes() == b".gitattributes" {
                found = true;
                anyhow::bail!("found");
            }
            Ok(())
        });
        Ok(found)
    }

    /// A path of `tree` whose `filter` attribute names a filter driver
    /// configured in git config (`filter.<name>.clean`, `.smudge` or
    /// `.process`), with that driver's name. git runs such a command when
    /// it writes or reads the file; libgit2 cannot, so a command that would
    /// write the file refuses instead of writing it unfiltered. Without a
    /// configured driver the tree is not walked.
    pub fn filter_driver_in(&self, tree: git2::Oid) -> anyhow::Result<Option<(String, RepoPath)>> {
        let drivers = self.filter_drivers()?;
        if drivers.is_empty() {
            return Ok(None);
        }
        let tree = self
            .inner
            .find_tree(tree)
            .context("could not read a tree")?;
        let mut found = None;
        // Stopped at the first one found (the walk's error, not reported).
        let _ = super::each_tree_entry(&self.inner, &tree, &mut |path, entry| {
            if entry.kind() != Some(git2::ObjectType::Blob) {
                return Ok(());
            }
            let path = RepoPath::from_bytes(path);
            let attr = self.inner.get_attr_bytes(
                std::path::Path::new(path.as_os_str()),
                "filter",
                git2::AttrCheckFlags::FILE_THEN_INDEX,
            );
            if let Ok(Some(name)) = attr {
                if let Some(driver) = drivers.iter().find(|d| d.as_bytes() == name) {
                    found = Some((driver.clone(), path));
                    anyhow::bail!("found");
                }
            }
            Ok(())
        });
        Ok(found)
    }

    /// The names of the filter drivers git config defines a command for.
    fn filter_drivers(&self) -> anyhow::Result<Vec<String>> {
        let config = self.inner.config().context("could not read git config")?;
        let mut entries = config
            .entries(Some(r"^filter\..*\.(clean|smudge|process)$"))
            .context("could not read git config")?;
        let mut names = Vec::new();
        while let Some(entry) = entries.next() {
            let entry = entry.context("could not read git config")?;
            let Ok(name) = entry.name() else { continue };
            let driver = name
                .strip_prefix("filter.")
                .and_then(|rest| rest.rsplit_once('.'))
                .map(|(driver, _)| driver.to_string());
            if let Some(driver) = driver {
                if !names.contains(&driver) {
                    names.push(driver);
                }
            }
        }
        // And those given with `git -c filter.<name>.smudge=…`.
        for driver in self.command_line_filter_drivers() {
            if !names.contains(&driver) {
                names.push(driver);
            }
        }
        Ok(names)
    }

    /// Settings that may make checkouts convert content: end-of-line
    /// settings, or attribute files outside the work tree.
    fn has_filter_settings(&self) -> anyhow::Result<bool> {
        if self
            .config_string("core.autocrlf")?
            .is_some_and(|v| v != "false")
            || self.config_string("core.eol")?.is_some()
        {
            return Ok(true);
        }
        Ok(self.attribute_files()?.iter().any(|f| f.exists()))
    }

    /// End-of-line settings under which checkout converts every text file.
    fn converts_every_text_file(&self) -> anyhow::Result<bool> {
        let autocrlf = self.config_string("core.autocrlf")?;
        let autocrlf = autocrlf.as_deref().map(str::to_ascii_lowercase);
        let no = ["false", "input", "no", "off", "0"];
        Ok(autocrlf.is_some_and(|v| !no.contains(&v.as_str()))
            || self
                .config_string("core.eol")?
                .is_some_and(|v| v.eq_ignore_ascii_case("crlf")))
    }

    /// The attribute files outside the work tree that git and libgit2
    /// read: `core.attributesFile` (else `$XDG_CONFIG_HOME/git/attributes`
    /// or `~/.config/git/attributes`), the repository's `info/attributes`,
    /// and the system's `/etc/gitattributes`.
    fn attribute_files(&self) -> anyhow::Result<Vec<std::path::PathBuf>> {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let mut files = Vec::new();
        let global = match self.command_line_config("core.attributesFile") {
            Some(value) => value.map(|v| match (v.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => std::path::PathBuf::from(v),
            }),
            None => {
                let config = self.inner.config().context("could not read git config")?;
                config.get_path("core.attributesFile").ok()
            }
        };
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| home.map(|h| h.join(".config")))
            .map(|d| d.join("git").join("attributes"));
        files.extend(global.or(xdg));
        files.push(self.common_dir().join("info").join("attributes"));
        files.push(std::path::PathBuf::from("/etc/gitattributes"));
        Ok(files)
    }

    /// Which of `paths`, written from a commit, checkout may convert: the
    /// attribute files of the folders above each (on disk, in each of
    /// `trees`, and in the index when `with_index`) and those outside the
    /// work tree are read, and a path no converting rule can apply to is
    /// written as its blob without asking libgit2 (src/git/attributes.rs).
    pub fn checkout_conversions<'p>(
        &self,
        trees: &[git2::Oid],
        with_index: bool,
        paths: impl IntoIterator<Item = &'p RepoPath>,
    ) -> anyhow::Result<Smudge> {
        if self.converts_every_text_file()? {
            return Ok(Smudge::All);
        }
        let paths: Vec<&RepoPath> = paths.into_iter().collect();
        let ignore_case = self.config_bool("core.ignoreCase")?.unwrap_or(false);
        let mut rules = super::attributes::ConvertingRules::new(ignore_case);
        for file in self.attribute_files()? {
            if let Ok(content) = std::fs::read(&file) {
                rules.add_file(b"", &content);
            }
        }
        let mut dirs: Vec<&[u8]> = paths
            .iter()
            .flat_map(|p| super::attributes::dirs_above(p.as_bytes()))
            .collect();
        dirs.sort_unstable();
        dirs.dedup();
        let mut in_trees = attribute_blobs_in_trees(&self.inner, trees, &dirs)?;
        let index = if with_index {
            Some(self.inner.index().context("could not read the index")?)
        } else {
            None
        };
        for dir in dirs {
            let file = if dir.is_empty() {
                RepoPath::from_bytes(b".gitattributes")
            } else {
                RepoPath::from_bytes(dir).join(b".gitattributes")
            };
            if let Ok(content) = std::fs::read(file.under(self.workdir())) {
                rules.add_file(dir, &content);
            }
            let mut ids: Vec<git2::Oid> = in_trees.remove(dir).unwrap_or_default();
            if let Some(index) = &index {
                let as_path = std::path::Path::new(file.as_os_str());
                ids.extend(index.get_path(as_path, 0).map(|e| e.id));
            }
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if let Ok(blob) = self.inner.find_blob(id) {
                    rules.add_file(dir, blob.content());
                }
            }
        }
        Ok(if rules.everything {
            Smudge::All
        } else if rules.is_empty() {
            Smudge::Never
        } else {
            let set: std::collections::HashSet<Vec<u8>> = paths
                .iter()
                .filter(|p| rules.may_convert(p.as_bytes()))
                .map(|p| p.as_bytes().to_vec())
                .collect();
            if set.is_empty() {
                Smudge::Never
            } else {
                Smudge::Paths(std::sync::Arc::new(set))
            }
        })
    }
}

/// The attribute files (`.gitattributes` blobs) of `trees` in the folders
/// `dirs` (sorted, each with the folders above it). A folder's tree is
/// read once per id: where the trees share a folder, as a commit and the
/// index mostly do, the second costs nothing (a look at each tree's
/// folders in turn reads 3,000 trees for 1,500 folders).
fn attribute_blobs_in_trees<'d>(
    repo: &git2::Repository,
    trees: &[git2::Oid],
    dirs: &[&'d [u8]],
) -> anyhow::Result<HashMap<&'d [u8], Vec<git2::Oid>>> {
    let mut children: HashMap<&[u8], Vec<&[u8]>> = HashMap::new();
    for &dir in dirs.iter().filter(|d| !d.is_empty()) {
        children
            .entry(super::snapshot::split_last(dir).0)
            .or_default()
            .push(dir);
    }
    let mut found: HashMap<&[u8], Vec<git2::Oid>> = HashMap::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(&[u8], git2::Oid)> = trees.iter().map(|&t| (&b""[..], t)).collect();
    while let Some((dir, id)) = stack.pop() {
        // The same folder at the same place has the same files below it.
        if !seen.insert((dir, id)) {
            continue;
        }
        let tree = match repo.find_tree(id) {
            Ok(tree) => tree,
            Err(e) if dir.is_empty() => return Err(e).context("could not read a tree"),
            // A folder below the top that cannot be read gives no rules:
            // reporting a damaged tree is not this lookup's job.
            Err(_) => continue,
        };
        if let Some(entry) = tree.get_name_bytes(b".gitattributes") {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                found.entry(dir).or_default().push(entry.id());
            }
        }
        for &child in children.get(dir).map(Vec::as_slice).unwrap_or_default() {
            let name = super::snapshot::split_last(child).1;
            if let Some(entry) = tree.get_name_bytes(name) {
                if entry.kind() == Some(git2::ObjectType::Tree) {
                    stack.push((child, entry.id()));
                }
            }
        }
    }
    Ok(found)
}

/// Which files written from a commit go through git's checkout
/// conversions (snapshots are always written raw).
#[derive(Debug, Default, Clone)]
pub enum Smudge {
    /// None: nothing in this repository converts them.
    #[default]
    Never,
    /// Every one (an end-of-line setting, or an attribute macro).
    All,
    /// These paths, which a converting attribute rule may apply to.
    Paths(std::sync::Arc<std::collections::HashSet<Vec<u8>>>),
}

impl Smudge {
    pub fn applies(&self, path: &RepoPath) -> bool {
        match self {
            Smudge::Never => false,
            Smudge::All => true,
            Smudge::Paths(set) => set.contains(path.as_bytes()),
        }
    }

    pub fn is_never(&self) -> bool {
        matches!(self, Smudge::Never)
    }
}

#[cfg(test)]
mod tests {
    use super::{smudge, DECLARED_FOR_LIBGIT2, DECLARED_FOR_LIBGIT2_SYS};
    use crate::git::{Repo, RepoPath};

    const RECHECK: &str = "re-check `BlobFilterOptions` in src/git/filter.rs against \
        `git_blob_filter_options` in libgit2's include/git2/blob.h of the new \
        version, then update the versions it was declared against";

    /// The libgit2-sys release Cargo.lock builds, e.g. `0.18.8+1.9.7`.
    fn locked_libgit2_sys() -> Option<String> {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).ok()?;
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line == "name = \"libgit2-sys\"" {
                let version = lines.next()?.strip_prefix("version = \"")?;
                return Some(version.trim_end_matches('"').to_string());
            }
        }
        None
    }

    #[test]
    fn declared_against_the_linked_libgit2() {
        let linked = git2::Version::get().libgit2_version();
        assert_eq!(
            linked, DECLARED_FOR_LIBGIT2,
            "libgit2 {linked:?} is linked, the filter options were declared for \
             {DECLARED_FOR_LIBGIT2:?}: {RECHECK}"
        );
        let locked = locked_libgit2_sys();
        assert_eq!(
            locked.as_deref(),
            Some(DECLARED_FOR_LIBGIT2_SYS),
            "libgit2-sys {locked:?} is built, the filter options were declared for \
             {DECLARED_FOR_LIBGIT2_SYS}: {RECHECK}"
        );
    }

    #[test]
    fn binary_content_is_written_as_it_is() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let git = git2::Repository::init(dir.path()).expect("git init");
        git.config()
            .and_then(|mut c| c.set_str("core.autocrlf", "true"))
            .expect("set core.autocrlf");
        let binary: &[u8] = b"\x00\x01line\nline\n\xff";
        let text: &[u8] = b"one\ntwo\n";
        let repo = Repo::open_ignoring_env(dir.path()).expect("open");
        for (content, expected) in [(binary, binary), (text, b"one\r\ntwo\r\n".as_slice())] {
            let id = git.blob(content).expect("write a blob");
            let blob = git.find_blob(id).expect("read the blob");
            let out = smudge(&repo, &blob, &RepoPath::from_bytes(b"file")).expect("smudge");
            assert_eq!(&*out, expected, "{content:?}");
        }
    }

    /// The attribute files found in several trees at once are those a
    /// look at each tree's folders one by one finds, shared folders and
    /// all: a folder the trees share, one they differ in, a file where
    /// the other has a folder, and folders not asked for.
    #[test]
    fn attribute_files_of_several_trees_are_each_trees_own() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let git = git2::Repository::init(dir.path()).expect("git init");
        let tree = |files: &[(&str, &str)]| {
            let mut update = git2::build::TreeUpdateBuilder::new();
            for (path, text) in files {
                let blob = git.blob(text.as_bytes()).expect("a blob");
                update.upsert(*path, blob, git2::FileMode::Blob);
            }
            let empty = git.treebuilder(None).and_then(|b| b.write()).expect("tree");
            let empty = git.find_tree(empty).expect("tree");
            update.create_updated(&git, &empty).expect("a tree")
        };
        let shared = [
            (".gitattributes", "* text\n"),
            ("a/.gitattributes", "*.c ident\n"),
            ("a/b/.gitattributes", "*.h eol=crlf\n"),
            ("a/b/f.h", "x"),
        ];
        let mut first = shared.to_vec();
        first.extend([
            ("c/.gitattributes", "*.x text\n"),
            ("c/d/g", "y"),
            ("e", "f"),
        ]);
        let mut second = shared.to_vec();
        second.extend([
            ("c/.gitattributes", "*.y text\n"),
            ("c/d/.gitattributes", "* -text\n"),
            ("e/.gitattributes", "* text\n"),
            ("n/.gitattributes", "* text\n"),
        ]);
        let trees = [tree(&first), tree(&second)];
        let dirs: Vec<&[u8]> = vec![b"", b"a", b"a/b", b"c", b"c/d", b"e", b"z"];
        let mut found = super::attribute_blobs_in_trees(&git, &trees, &dirs).expect("found");
        for &d in &dirs {
            let mut expected: Vec<git2::Oid> = trees
                .iter()
                .filter_map(|t| {
                    let t = git.find_tree(*t).expect("tree");
                    let path = if d.is_empty() {
                        ".gitattributes".to_string()
                    } else {
                        format!("{}/.gitattributes", String::from_utf8_lossy(d))
                    };
                    t.get_path(std::path::Path::new(&path)).ok().map(|e| e.id())
                })
                .collect();
            let mut got = found.remove(d).unwrap_or_default();
            expected.sort();
            expected.dedup();
            got.sort();
            got.dedup();
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(d));
        }
        assert!(found.is_empty(), "only the folders asked for: {found:?}");
    }
}
