//! Writing a pack of whole objects and its index (version 2), for the
//! batches of new objects a snapshot writes (`git/batch.rs`).
//!
//! libgit2's pack builder walks every tag of the repository before it
//! writes a pack (a thousand lookups on git's own repository), compresses
//! on one thread, and its indexer then inflates and hashes every object
//! again to name them. Here the objects' ids are known, so each object is
//! compressed once, on every thread, and the index is written from the
//! offsets and checksums taken while writing. No deltas: `git gc` makes
//! them later, as it does for loose objects. The format is git's
//! `Documentation/gitformat-pack.txt`; tests read the packs back with
//! `git verify-pack` and `git fsck`.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use git2::{ObjectType, Oid};
use sha1::{Digest, Sha1};

/// One object to pack: its id, kind and content.
pub struct Object {
    pub id: Oid,
    pub kind: ObjectType,
    pub data: Vec<u8>,
}

/// Write the objects `chunks` yields (`count` in all, no two with the
/// same id) as one pack and its index in `dir` (an `objects/pack` folder);
/// returns the pack's name, the hex of its checksum, as git and libgit2
/// name packs. Each chunk is compressed on every thread and written before
/// the next is taken, so only one chunk's objects are in memory beside
/// their source. The index is renamed into place last: readers find a pack
/// by its index.
pub fn write(
    dir: &Path,
    count: usize,
    chunks: impl Iterator<Item = anyhow::Result<Vec<Object>>>,
) -> anyhow::Result<String> {
    let mut pack = tempfile::Builder::new()
        .prefix("tmp_pack_")
        .tempfile_in(dir)
        .context("could not write a pack")?;
    let mut hash = Sha1::new();
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(b"PACK");
    header.extend_from_slice(&2u32.to_be_bytes());
    let count_field = u32::try_from(count).context("too many objects for one pack")?;
    header.extend_from_slice(&count_field.to_be_bytes());
    let mut out = std::io::BufWriter::with_capacity(1 << 20, pack.as_file_mut());
    out.write_all(&header).context("could not write a pack")?;
    hash.update(&header);
    let mut offset = header.len() as u64;
    let mut index: Vec<(Oid, u32, u64)> = Vec::with_capacity(count);
    for chunk in chunks {
        let objects = chunk?;
        let entries = crate::walk::map(&objects, crate::walk::threads(), entry)?;
        for (object, (bytes, crc)) in objects.iter().zip(&entries) {
            out.write_all(bytes).context("could not write a pack")?;
            hash.update(bytes);
            index.push((object.id, *crc, offset));
            offset += bytes.len() as u64;
        }
    }
    anyhow::ensure!(
        index.len() == count,
        "internal error: {} objects packed, {count} announced",
        index.len()
    );
    let checksum: [u8; 20] = hash.finalize().into();
    out.write_all(&checksum).context("could not write a pack")?;
    out.flush().context("could not write a pack")?;
    drop(out);
    let name: String = checksum.iter().map(|b| format!("{b:02x}")).collect();
    let idx = index_bytes(&mut index, &checksum);
    let pack_path = dir.join(format!("pack-{name}.pack"));
    let idx_path = dir.join(format!("pack-{name}.idx"));
    if idx_path.exists() {
        // The same objects, packed before: nothing new to add.
        return Ok(name);
    }
    let mut idx_file = tempfile::Builder::new()
        .prefix("tmp_idx_")
        .tempfile_in(dir)
        .context("could not write a pack index")?;
    idx_file
        .write_all(&idx)
        .context("could not write a pack index")?;
    for file in [pack.as_file(), idx_file.as_file()] {
        // Read-only, as git and libgit2 leave pack files.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o444))
            .context("could not write a pack")?;
    }
    pack.persist(&pack_path).context("could not write a pack")?;
    idx_file
        .persist(&idx_path)
        .context("could not write a pack index")?;
    Ok(name)
}

/// An object as it is stored in a pack (its type and size header, then
/// its zlib-compressed content), and the CRC-32 of those bytes.
fn entry(object: &Object) -> anyhow::Result<(Vec<u8>, u32)> {
    let kind: u8 = match object.kind {
        ObjectType::Commit => 1,
        ObjectType::Tree => 2,
        ObjectType::Blob => 3,
        ObjectType::Tag => 4,
        other => anyhow::bail!("internal error: cannot pack an object of kind {other}"),
    };
    let mut bytes = Vec::with_capacity(object.data.len() / 2 + 32);
    let mut size = object.data.len() as u64;
    let mut first = (kind << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        bytes.push(first | 0x80);
        first = (size & 0x7f) as u8;
        size >>= 7;
    }
    bytes.push(first);
    // The fastest level: the pack lives until `git gc` repacks it.
    let mut z = flate2::write::ZlibEncoder::new(bytes, flate2::Compression::fast());
    z.write_all(&object.data)
        .context("could not compress an object")?;
    let bytes = z.finish().context("could not compress an object")?;
    let crc = crc32fast::hash(&bytes);
    Ok((bytes, crc))
}

/// The index (version 2) of a pack: `index` holds each object's id, CRC
/// and offset, and is sorted here.
fn index_bytes(index: &mut [(Oid, u32, u64)], pack_checksum: &[u8; 20]) -> Vec<u8> {
    index.sort_unstable_by_key(|e| e.0);
    let mut out = Vec::with_capacity(8 + 1024 + index.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in index.iter() {
        fanout[id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0u32;
    for n in fanout {
        total += n;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in index.iter() {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in index.iter() {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // Offsets of 2 GiB and more go to a table of 64-bit offsets, each
    // named by its position there with the high bit set.
    let mut large = Vec::new();
    for (_, _, offset) in index.iter() {
        let small = match u32::try_from(*offset) {
            Ok(o) if o < 0x8000_0000 => o,
            _ => {
                let at = (large.len() / 8) as u32;
                large.extend_from_slice(&offset.to_be_bytes());
                0x8000_0000 | at
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    out.extend_from_slice(&large);
    out.extend_from_slice(pack_checksum);
    let own: [u8; 20] = Sha1::digest(&out).into();
    out.extend_from_slice(&own);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_in_git_s_variable_length_header() {
        let object = |n: usize| Object {
            id: Oid::ZERO_SHA1,
            kind: ObjectType::Blob,
            data: vec![b'x'; n],
        };
        // Type 3 (blob) in bits 4-6, the low four bits of the size, then
        // seven bits a byte, least significant first.
        assert_eq!(entry(&object(5)).unwrap().0[0], 0x35);
        let (bytes, _) = entry(&object(0x12345)).unwrap();
        assert_eq!(&bytes[..3], &[0xb5, 0xb4, 0x24]);
    }

    #[test]
    fn large_offsets_go_to_the_64_bit_table() {
        let id = |b: u8| Oid::from_bytes(&[b; 20]).unwrap();
        let mut index = vec![(id(2), 7, 5u64 << 31), (id(1), 9, 12)];
        let bytes = index_bytes(&mut index, &[0; 20]);
        let offsets = 8 + 1024 + 2 * 20 + 2 * 4;
        assert_eq!(&bytes[offsets..offsets + 4], &12u32.to_be_bytes());
        assert_eq!(
            &bytes[offsets + 4..offsets + 8],
            &0x8000_0000u32.to_be_bytes()
        );
        assert_eq!(
            &bytes[offsets + 8..offsets + 16],
            &(5u64 << 31).to_be_bytes()
        );
    }
}
