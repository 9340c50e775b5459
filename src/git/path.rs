//! Repository-relative paths as bytes.
//!
//! Git paths are bytes, not UTF-8 (`docs/libgit2-pitfalls.md` P10). In the journal
//! a path is a JSON string when it is valid UTF-8, and `{"bytes": [..]}`
//! otherwise, so every name survives the round trip.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoPath(Vec<u8>);

impl RepoPath {
    pub fn from_bytes(bytes: &[u8]) -> RepoPath {
        RepoPath(bytes.to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    /// The absolute path under a work tree root.
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(self.as_os_str())
    }

    /// The parent directories, outermost first (`a`, `a/b` for `a/b/c`).
    pub fn ancestors(&self) -> Vec<RepoPath> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| RepoPath(self.0[..i].to_vec()))
            .collect()
    }

    /// Whether this path is `prefix` or inside it (the empty prefix is the
    /// whole tree).
    pub fn is_at_or_under(&self, prefix: &RepoPath) -> bool {
        bytes_at_or_under(&self.0, &prefix.0)
    }

    /// `self/name`.
    pub fn join(&self, name: &[u8]) -> RepoPath {
        let mut bytes = self.0.clone();
        if !bytes.is_empty() {
            bytes.push(b'/');
        }
        bytes.extend_from_slice(name);
        RepoPath(bytes)
    }

    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// The path for human output, C-quoted when it holds a control
    /// character, a quote or a byte that is not UTF-8 (`crate::ui::quote`).
    pub fn quoted(&self) -> String {
        crate::ui::quote_bytes(&self.0).into_owned()
    }
}

impl fmt::Debug for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.display())
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Encoded {
    Text(String),
    Bytes { bytes: Vec<u8> },
}

impl Serialize for RepoPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => Encoded::Text(text.to_string()).serialize(s),
            Err(_) => Encoded::Bytes {
                bytes: self.0.clone(),
            }
            .serialize(s),
        }
    }
}

/// A path read back (from the journal, a saved plan) is used under a root
/// folder to restore, move and chmod files: one that is absolute or climbs
/// out with `..` is refused as it is read, never followed.
impl<'de> Deserialize<'de> for RepoPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let path = match Encoded::deserialize(d)? {
            Encoded::Text(text) => RepoPath(text.into_bytes()),
            Encoded::Bytes { bytes } => RepoPath(bytes),
        };
        let escapes = path.0.starts_with(b"/") || path.0.split(|b| *b == b'/').any(|c| c == b"..");
        if escapes {
            return Err(serde::de::Error::custom(format!(
                "the path `{path}` leaves its folder"
            )));
        }
        Ok(path)
    }
}

/// [`RepoPath::is_at_or_under`] for a path as bytes, without copying it.
pub fn bytes_at_or_under(path: &[u8], prefix: &[u8]) -> bool {
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_paths_survive_json() {
        let path = RepoPath::from_bytes(b"dir/\xff\xfe name");
        let json = serde_json::to_string(&path).unwrap();
        assert_eq!(serde_json::from_str::<RepoPath>(&json).unwrap(), path);
        let text = RepoPath::from_bytes("dir/ünï".as_bytes());
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"dir/ünï\"");
    }

    #[test]
    fn paths_that_leave_their_folder_are_not_read_back() {
        for json in [
            r#""/etc/passwd""#,
            r#""../x""#,
            r#""a/../../x""#,
            r#"{"bytes":[46,46]}"#,
        ] {
            assert!(serde_json::from_str::<RepoPath>(json).is_err(), "{json}");
        }
        for json in [r#""a/..b""#, r#""...""#, r#""a/b""#] {
            assert!(serde_json::from_str::<RepoPath>(json).is_ok(), "{json}");
        }
    }

    #[test]
    fn ancestors_are_outermost_first() {
        let path = RepoPath::from_bytes(b"a/b/c");
        let names: Vec<String> = path.ancestors().iter().map(|p| p.display()).collect();
        assert_eq!(names, ["a", "a/b"]);
    }
}
