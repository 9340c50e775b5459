//! Replacing a file whole: written to a temporary file in the same folder
//! and renamed over it, so a reader (or a crash) sees the old file or the
//! new one, never half of either.

use std::fs::Permissions;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// How far the new file is synced before (and after) it replaces the old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Not synced: a cache, or a report made durable by what follows it.
    None,
    /// The file's bytes synced before the rename.
    File,
    /// The bytes synced, and the folder after the rename, so the new name
    /// survives a crash too.
    Full,
}

/// The permission bits of the new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `0600`: readable by the owner alone.
    Private,
    /// These bits less the umask, as `File::create` (`0o666`) gives.
    Umask(u32),
    /// Exactly these bits, whatever the umask.
    Exact(u32),
}

/// Replace `path` with `bytes`. The temporary file is named after `path`
/// (`.<name>.XXXXXX`) and removed if anything fails.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
    mode: Mode,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    let create_mode = match mode {
        Mode::Private => None,
        Mode::Umask(bits) | Mode::Exact(bits) => Some(Permissions::from_mode(bits)),
    };
    if let Some(perms) = create_mode {
        // Applied at creation, so the umask applies as for any new file.
        builder.permissions(perms);
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Mode::Exact(bits) = mode {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(bits))?;
    }
    if durability != Durability::None {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if durability == Durability::Full {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{write_atomic, Durability, Mode};
    use std::os::unix::fs::PermissionsExt as _;

    fn mode_of(path: &std::path::Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    }

    #[test]
    fn replaces_the_file_with_the_mode_asked_for_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("state.json");
        std::fs::write(&path, "old").expect("the old file");
        // The umask of this process, read back from a file created as
        // `File::create` creates them.
        let probe = dir.path().join("probe");
        std::fs::write(&probe, "").expect("a probe");
        let umasked = mode_of(&probe);
        std::fs::remove_file(&probe).expect("the probe removed");
        for (durability, mode, want) in [
            (Durability::None, Mode::Private, 0o600),
            (Durability::File, Mode::Umask(0o666), umasked),
            (Durability::Full, Mode::Exact(0o755), 0o755),
        ] {
            write_atomic(&path, b"new", durability, mode).expect("written");
            assert_eq!(std::fs::read(&path).expect("read back"), b"new");
            assert_eq!(mode_of(&path), want, "{mode:?}");
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .expect("listed")
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect();
            assert_eq!(names, ["state.json"], "no temporary file is left");
        }
    }

    #[test]
    fn a_failed_rename_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).expect("a folder in the way");
        std::fs::write(path.join("inside"), "x").expect("a file in it");
        assert!(write_atomic(&path, b"new", Durability::Full, Mode::Private).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listed")
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, ["taken"]);
        assert!(path.join("inside").is_file());
    }
}
