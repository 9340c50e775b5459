//! Every object id in the repository's own object store, with when it was
//! written, found without reading a single object: the names of the loose
//! objects' files and the id tables of the packs' `.idx` files.
//!
//! `git fsck` reads and hashes every object to find the unreachable ones;
//! for `rescue` the ids are enough, so the cost here follows the number of
//! objects (a directory listing and 20 bytes an object), not their size
//! (docs/design.md, Rescue). Objects in alternates belong to another
//! repository and are not listed.
//!
//! The time of an object is the best git keeps: a loose object's file
//! modification time (when it was written, or last written again: git
//! freshens an object it would have written anew), a cruft pack's own
//! per-object time (its `.mtimes` file, which `git gc` writes for the
//! unreachable objects it keeps), else its pack file's modification time.

use std::fs;
use std::path::Path;

use anyhow::Context as _;
use git2::Oid;

use super::OidMap;

/// Where an object's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stamp {
    /// The pack file's modification time: when the pack was written.
    Pack,
    /// A cruft pack's `.mtimes` entry for the object.
    CruftPack,
    /// The loose object file's modification time.
    Loose,
}

impl Stamp {
    pub fn key(self) -> &'static str {
        match self {
            Stamp::Loose => "loose_object_mtime",
            Stamp::CruftPack => "cruft_pack_mtime",
            Stamp::Pack => "pack_mtime",
        }
    }
}

/// When an object was written, as far as the store says.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub time: i64,
    pub stamp: Stamp,
}

/// Every object of the store at `objects` (the `objects/` folder), with
/// its time. An object both loose and packed keeps the newer time.
pub fn list_objects(objects: &Path) -> anyhow::Result<OidMap<Written>> {
    let mut found: OidMap<Written> = OidMap::default();
    let mut add = |oid: Oid, written: Written| {
        found
            .entry(oid)
            .and_modify(|w| {
                if written.time > w.time {
                    *w = written;
                }
            })
            .or_insert(written);
    };
    list_loose(objects, &mut add)?;
    list_packed(&objects.join("pack"), &mut add)?;
    Ok(found)
}

fn mtime(meta: &fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
}

/// `objects/xx/<38 hex digits>`.
fn list_loose(objects: &Path, add: &mut impl FnMut(Oid, Written)) -> anyhow::Result<()> {
    let Some(entries) = read_dir_if_any(objects)? else {
        return Ok(());
    };
    for dir in entries.flatten() {
        let name = dir.file_name();
        let Some(prefix) = name.to_str().filter(|n| is_hex(n, 2)) else {
            continue;
        };
        let Ok(files) = fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            let rest = file.file_name();
            let Some(rest) = rest.to_str().filter(|n| is_hex(n, 38)) else {
                continue;
            };
            let Ok(oid) = Oid::from_str(&format!("{prefix}{rest}")) else {
                continue;
            };
            let Ok(meta) = file.metadata() else {
                // Gone since the listing (a concurrent prune or repack).
                continue;
            };
            add(
                oid,
                Written {
                    time: mtime(&meta),
                    stamp: Stamp::Loose,
                },
            );
        }
    }
    Ok(())
}

/// A folder's entries; `None` when there is no such folder (a new
/// repository has no `pack/`).
fn read_dir_if_any(dir: &Path) -> anyhow::Result<Option<fs::ReadDir>> {
    match fs::read_dir(dir) {
        Ok(e) => Ok(Some(e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not list {}", dir.display())),
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The ids of every `pack-*.idx` in `pack_dir`.
fn list_packed(pack_dir: &Path, add: &mut impl FnMut(Oid, Written)) -> anyhow::Result<()> {
    let Some(entries) = read_dir_if_any(pack_dir)? else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "idx") {
            continue;
        }
        // A pack without its data file is being written or removed.
        let Ok(pack_meta) = fs::metadata(path.with_extension("pack")) else {
            continue;
        };
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let ids = idx_ids(&bytes)
            .with_context(|| format!("{} is not a pack index git 2 writes", path.display()))?;
        let mtimes = fs::read(path.with_extension("mtimes"))
            .ok()
            .and_then(|m| cruft_mtimes(&m, ids.len()));
        for (n, oid) in ids.into_iter().enumerate() {
            let written = match &mtimes {
                Some(times) => Written {
                    time: i64::from(times[n]),
                    stamp: Stamp::CruftPack,
                },
                None => Written {
                    time: mtime(&pack_meta),
                    stamp: Stamp::Pack,
                },
            };
            add(oid, written);
        }
    }
    Ok(())
}

/// The object ids of a pack index, in its order (version 2, or the
/// original format without a header).
fn idx_ids(bytes: &[u8]) -> anyhow::Result<Vec<Oid>> {
    const FANOUT: usize = 256 * 4;
    let be32 = |at: usize| -> anyhow::Result<u32> {
        let b = bytes.get(at..at + 4).context("the file ends too early")?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (fanout_at, names_at, stride, skip) = if bytes.starts_with(b"\xfftOc") {
        let version = be32(4)?;
        anyhow::ensure!(version == 2, "pack index version {version}");
        (8, 8 + FANOUT, 20, 0)
    } else {
        // Version 1: after the fan-out, each entry is a 4-byte offset and
        // the id.
        (0, FANOUT, 24, 4)
    };
    let count = be32(fanout_at + 255 * 4)? as usize;
    let end = names_at + count * stride;
    anyhow::ensure!(bytes.len() >= end, "the file ends too early");
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let at = names_at + n * stride + skip;
        ids.push(Oid::from_bytes(&bytes[at..at + 20]).context("a malformed object id")?);
    }
    Ok(ids)
}

/// A cruft pack's `.mtimes`: `MTME`, version 1, the hash id, then one
/// 32-bit time an object in the index's order.
fn cruft_mtimes(bytes: &[u8], count: usize) -> Option<Vec<u32>> {
    if !bytes.starts_with(b"MTME") || bytes.len() < 12 + count * 4 {
        return None;
    }
    Some(
        (0..count)
            .map(|n| {
                let at = 12 + n * 4;
                u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_2_index_lists_its_ids_in_order() {
        let a = [0x11u8; 20];
        let b = [0xabu8; 20];
        let mut bytes = b"\xfftOc".to_vec();
        bytes.extend_from_slice(&2u32.to_be_bytes());
        for n in 0..256u32 {
            let below = u32::from(n >= 0x11) + u32::from(n >= 0xab);
            bytes.extend_from_slice(&below.to_be_bytes());
        }
        bytes.extend_from_slice(&a);
        bytes.extend_from_slice(&b);
        let ids = idx_ids(&bytes).expect("parses");
        assert_eq!(
            ids,
            [Oid::from_bytes(&a).unwrap(), Oid::from_bytes(&b).unwrap()]
        );
        assert!(idx_ids(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn a_cruft_packs_times_are_read_in_index_order() {
        let mut bytes = b"MTME".to_vec();
        bytes.extend_from_slice(&1u32.to_be_bytes());
        bytes.extend_from_slice(&1u32.to_be_bytes());
        bytes.extend_from_slice(&7u32.to_be_bytes());
        bytes.extend_from_slice(&9u32.to_be_bytes());
        assert_eq!(cruft_mtimes(&bytes, 2), Some(vec![7, 9]));
        assert_eq!(cruft_mtimes(&bytes, 3), None);
    }
}
