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
    let hex = id.to_string();
    let path = objects.join(&hex[..2]).join(&hex[2..]);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("could not read the object {hex}: {e}")),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut raw)
        .map_err(|e| anyhow::anyhow!("could not read the object {hex}: {e}"))?;
    let bad = || anyhow::anyhow!("the object {hex} is damaged: run `git fsck`");
    let nul = raw.iter().position(|&b| b == 0).ok_or_else(bad)?;
    let header = std::str::from_utf8(&raw[..nul]).map_err(|_| bad())?;
    let (found, size) = header.split_once(' ').ok_or_else(bad)?;
    let size: usize = size.parse().map_err(|_| bad())?;
    if found != kind {
        return Err(anyhow::anyhow!(
            "the object {hex} is a {found}, not a {kind}"
        ));
    }
    if raw.len() - nul - 1 != size {
        return Err(bad());
    }
    raw.drain(..=nul);
    Ok(Some(raw))
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
        let missing = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(read(&objects, missing, "blob").unwrap().is_none());
        let hex = missing.to_string();
        std::fs::create_dir_all(objects.join(&hex[..2])).unwrap();
        std::fs::write(objects.join(&hex[..2]).join(&hex[2..]), b"not zlib").unwrap();
        assert!(read(&objects, missing, "blob").is_err());
    }
}
