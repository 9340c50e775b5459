//! Reading a loose object's content straight from its file, on any thread.
//!
//! A `git2::Repository` is not shared between threads, and opening a
//! second one (its config, its object folders) costs more than reading a
//! few hundred small objects. The objects `git add` just wrote are loose:
//! one zlib stream each, `<kind> <size>\0<content>`
//! (`Documentation/gitformat-loose.txt` in git). An object that is not
//! loose here (packed, or in an alternate) is `None`, for the caller to
//! read through libgit2.

use std::io::Read as _;
use std::path::Path;

use git2::Oid;

/// The content of the loose object `id` under `objects` (the repository's
/// `objects` folder), or `None` when there is no such file. A file that is
/// there but does not read as an object of `kind` is an error.
pub fn read(objects: &Path, id: Oid, kind: &str) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(
        read_unless(objects, id, kind, 0, |_| false)?.map(|read| match read {
            Read::Whole(bytes) => bytes,
            Read::Stopped => Vec::new(),
        }),
    )
}

/// A loose object's content, or where reading it stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Whole(Vec<u8>),
    /// The first bytes made the caller stop: the rest was not inflated.
    Stopped,
}

/// As [`read`], but once the first `first` bytes of the content (or all
/// of it, when shorter) are inflated, `stop` looks at them; when it says
/// so the rest is left unread. A binary file's first bytes say it is one
/// (a NUL, git's test), and a megabyte of it need not be inflated to
/// know it holds no text to look at.
pub fn read_unless(
    objects: &Path,
    id: Oid,
    kind: &str,
    first: usize,
    stop: impl Fn(&[u8]) -> bool,
) -> anyhow::Result<Option<Read>> {
    let hex = id.to_string();
    let path = objects.join(&hex[..2]).join(&hex[2..]);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("could not read the object {hex}: {e}")),
    };
    let failed = |e: std::io::Error| anyhow::anyhow!("could not read the object {hex}: {e}");
    let bad = || anyhow::anyhow!("the object {hex} is damaged: run `git fsck`");
    let mut stream = flate2::read::ZlibDecoder::new(std::io::BufReader::new(file));
    // The header (`<kind> <size>`, at most a few dozen bytes) and the
    // first bytes of the content.
    const HEADER_MOST: usize = 64;
    let mut raw = Vec::new();
    (&mut stream)
        .take((HEADER_MOST + first) as u64)
        .read_to_end(&mut raw)
        .map_err(failed)?;
    let nul = raw.iter().position(|&b| b == 0).ok_or_else(bad)?;
    let header = std::str::from_utf8(&raw[..nul]).map_err(|_| bad())?;
    let (found, size) = header.split_once(' ').ok_or_else(bad)?;
    let size: usize = size.parse().map_err(|_| bad())?;
    if found != kind {
        return Err(anyhow::anyhow!(
            "the object {hex} is a {found}, not a {kind}"
        ));
    }
    let content = &raw[nul + 1..];
    if stop(&content[..content.len().min(first)]) {
        return Ok(Some(Read::Stopped));
    }
    // The rest straight into a buffer of the size the header gives (a
    // damaged header's size is not trusted beyond 64 MB), reading at most
    // one byte more, to see a stream longer than it says.
    const RESERVE_AT_MOST: usize = 64 << 20;
    let limit = size.saturating_add(1);
    let mut whole = Vec::with_capacity(limit.min(RESERVE_AT_MOST).max(content.len()));
    whole.extend_from_slice(content);
    (&mut stream)
        .take(limit.saturating_sub(whole.len()) as u64)
        .read_to_end(&mut whole)
        .map_err(failed)?;
    if whole.len() != size {
        return Err(bad());
    }
    Ok(Some(Read::Whole(whole)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_git_wrote_loose_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str], input: Option<&[u8]>| {
            use std::io::Write as _;
            let mut child = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            if let Some(bytes) = input {
                child.stdin.take().unwrap().write_all(bytes).unwrap();
            }
            drop(child.stdin.take());
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        git(&["init", "-q"], None);
        let objects = dir.path().join(".git/objects");
        for content in [&b""[..], b"one line\n", &[0u8, 255, 10, 0, 7][..]] {
            let id = git(&["hash-object", "-w", "--stdin"], Some(content));
            let id = Oid::from_str(&id).unwrap();
            assert_eq!(
                read(&objects, id, "blob").unwrap().as_deref(),
                Some(content)
            );
            let err = read(&objects, id, "tree").unwrap_err().to_string();
            assert!(err.contains("is a blob, not a tree"), "{err}");
        }
        // Stopped after the first bytes, or read whole when `stop` says no;
        // content shorter than `first` is looked at whole.
        let big: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
        for content in [&big[..], b"short\n"] {
            let id = git(&["hash-object", "-w", "--stdin"], Some(content));
            let id = Oid::from_str(&id).unwrap();
            let seen = std::cell::RefCell::new(Vec::new());
            let stopped = read_unless(&objects, id, "blob", 8000, |first| {
                seen.borrow_mut().extend_from_slice(first);
                true
            })
            .unwrap();
            assert_eq!(stopped, Some(Read::Stopped));
            assert_eq!(&seen.borrow()[..], &content[..content.len().min(8000)]);
            let whole = read_unless(&objects, id, "blob", 8000, |_| false).unwrap();
            assert_eq!(whole, Some(Read::Whole(content.to_vec())));
        }
        let missing = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(read(&objects, missing, "blob").unwrap().is_none());
        let hex = missing.to_string();
        std::fs::create_dir_all(objects.join(&hex[..2])).unwrap();
        std::fs::write(objects.join(&hex[..2]).join(&hex[2..]), b"not zlib").unwrap();
        assert!(read(&objects, missing, "blob").is_err());
    }
}
