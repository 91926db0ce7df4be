//! Replacing a file so that a crash leaves the old or the new contents, never a torn mix:
//! write a temp file beside it, fsync it, rename it over the target, fsync the directory.
//! Every checkpoint, vote and properties file of rafka is written this way.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What [`write_atomically`] appends to the target's file name for its temp file, in the
/// same directory: `leader-epoch-checkpoint` is written as `leader-epoch-checkpoint.tmp`,
/// as Kafka names its checkpoint temp files. Recovery code that removes leftovers of an
/// interrupted write (the cleaner's) finds them by this name.
pub const TEMP_FILE_SUFFIX: &str = ".tmp";

/// How much of a crash [`write_atomically_with`] guards against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the temp file before the rename and the directory after it: once the call
    /// returns, even a machine crash leaves the new contents.
    Synced,
    /// No fsync: the replacement is still atomic for readers and against a process
    /// crash, but a machine crash may lose it. For files that are only hints, and for
    /// simulations whose crashes drop a process, not the page cache.
    Unsynced,
}

/// Replaces `path` with `bytes` durably ([`Durability::Synced`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically_with(path, bytes, Durability::Synced)
}

/// Replaces `path` with `bytes` through `<path>`[`TEMP_FILE_SUFFIX`]. Every failure is
/// returned, the directory's fsync included. On a failure before the rename `path` is
/// untouched and the temp file is removed (best effort); after it, `path` holds the new
/// contents but their durability is unknown.
pub fn write_atomically_with(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let tmp = temp_path(path);
    if let Err(e) = write_temp_and_rename(&tmp, path, bytes, durability) {
        // The original error matters, not whether a half-written temp file could go.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if durability == Durability::Synced {
        File::open(directory_of(path))?.sync_all()?;
    }
    Ok(())
}

/// The directory whose entry for `path` the rename changed. A bare file name's parent
/// is "", which names no directory to open: it is the working directory.
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn write_temp_and_rename(
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> io::Result<()> {
    let mut file = File::create(tmp)?;
    file.write_all(bytes)?;
    if durability == Durability::Synced {
        file.sync_all()?;
    }
    drop(file);
    std::fs::rename(tmp, path)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(TEMP_FILE_SUFFIX);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        write_atomically(&path, b"old contents, longer than the new").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(files_in(dir.path()), vec!["checkpoint"]);
    }

    #[test]
    fn unsynced_replaces_the_contents_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("committed.json");
        write_atomically_with(&path, b"1", Durability::Unsynced).unwrap();
        write_atomically_with(&path, b"2", Durability::Unsynced).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2");
        assert_eq!(files_in(dir.path()), vec!["committed.json"]);
    }

    #[test]
    fn temp_file_is_the_name_with_tmp_appended() {
        assert_eq!(
            temp_path(Path::new("/data/meta.properties")),
            Path::new("/data/meta.properties.tmp")
        );
        assert_eq!(
            temp_path(Path::new(".kafka_cleanshutdown")),
            Path::new(".kafka_cleanshutdown.tmp")
        );
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("checkpoint");
        let err = write_atomically(&path, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_rename_keeps_the_target_and_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file, whoever runs the test
        // (root ignores permission bits, so a read-only directory would not fail).
        let path = dir.path().join("target");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"kept").unwrap();
        assert!(write_atomically(&path, b"x").is_err());
        assert_eq!(std::fs::read(path.join("inside")).unwrap(), b"kept");
        assert_eq!(files_in(dir.path()), vec!["target"]);
    }

    #[test]
    fn a_bare_file_name_lives_in_the_working_directory() {
        assert_eq!(directory_of(Path::new("checkpoint")), Path::new("."));
        assert_eq!(
            directory_of(Path::new("data/checkpoint")),
            Path::new("data")
        );
        assert_eq!(directory_of(Path::new("/checkpoint")), Path::new("/"));
    }
}
