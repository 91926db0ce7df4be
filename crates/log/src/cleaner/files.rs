//! The cleaner's files in a partition directory: its checkpoint, and the `.cleaned` and
//! `.swap` files of a pass, which opening the log completes or rolls back. Apart from
//! the cleaning itself (an `impl Log`) so that opening the log, which runs this recovery,
//! does not depend on the cleaner that depends on the log.

use std::fs::File;
use std::path::{Path, PathBuf};

use rafka_types::TEMP_FILE_SUFFIX;

use crate::error::LogError;
use crate::segment::{
    parse_segment_file_name, scan_next_offset, segment_file_name, INDEX_SUFFIX, LOG_SUFFIX,
    TIME_INDEX_SUFFIX,
};

/// The cleaner checkpoint of one partition, in its directory: the first dirty offset,
/// below which the log has been cleaned. Kafka keeps one such file per log directory
/// listing every partition; here each partition has its own.
///
/// Format (text, like Kafka's checkpoint files): a version line `0`, then the offset as
/// a decimal line. Written by [`rafka_types::write_atomically`] (through `<name>.tmp`,
/// removed on open if a crash left it), so a crash leaves the old or the new checkpoint,
/// never a torn one.
pub const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
const CHECKPOINT_VERSION: &str = "0";

/// Suffix of a cleaned segment's files while it is being written.
pub(super) const CLEANED_FILE_SUFFIX: &str = ".cleaned";
/// Suffix of a cleaned segment's files once complete, before it replaces the old ones.
pub(super) const SWAP_FILE_SUFFIX: &str = ".swap";
/// Suffix of segment files pending deletion (Kafka renames before deleting; this log
/// deletes at once, but removes such files left by anyone on open).
const DELETED_FILE_SUFFIX: &str = ".deleted";

/// Reads the checkpoint; `None` when absent or unreadable (the log is then treated as
/// all dirty, which is always safe).
pub(crate) fn read_checkpoint(dir: &Path) -> Result<Option<i64>, LogError> {
    let path = dir.join(CLEANER_CHECKPOINT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(&path, e)),
    };
    let mut lines = text.lines();
    match (lines.next(), lines.next().map(str::parse::<i64>)) {
        (Some(CHECKPOINT_VERSION), Some(Ok(offset))) if offset >= 0 => Ok(Some(offset)),
        _ => {
            tracing::warn!(path = %path.display(), "ignoring a malformed cleaner checkpoint");
            Ok(None)
        }
    }
}

pub(super) fn write_checkpoint(dir: &Path, offset: i64) -> Result<(), LogError> {
    let path = dir.join(CLEANER_CHECKPOINT_FILE);
    let text = format!("{CHECKPOINT_VERSION}\n{offset}\n");
    rafka_types::write_atomically(&path, text.as_bytes()).map_err(|e| LogError::io(&path, e))
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogError::io(dir, e))
}

pub(super) fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

/// Kafka's `LogLoader.removeTempFilesAndCollectSwapFiles` + swap completion, run on open
/// before the segments are listed. Returns the base offsets of segments completed from
/// `.swap` files, which the caller must load with full recovery (rebuilt indexes).
///
/// - `*.deleted` and `cleaner-offset-checkpoint.tmp` are removed.
/// - `*.cleaned` files are an unfinished clean: removed. So are `*.swap` files at or
///   above the lowest `.cleaned` base offset: [`Log::clean`](crate::Log::clean) renames `.cleaned` → `.swap`
///   with the `.log` last, so such a swap was not complete (roll back).
/// - A remaining `<base>.log.swap` is a complete cleaned segment covering
///   `base..next` (its last batch's next offset): every `.log`, `.index` and
///   `.timeindex` with a base offset in `[min base, max next)` over all swaps is an old
///   segment it replaces and is removed; then the swap's indexes and `.log` lose their
///   `.swap` suffix (roll forward). Index `.swap` files without their `.log.swap` are
///   removed (their `.log` was already renamed).
pub(crate) fn complete_or_roll_back_swaps(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut cleaned: Vec<PathBuf> = Vec::new();
    let mut swaps: Vec<(i64, String, PathBuf)> = Vec::new();
    let mut segment_files: Vec<(i64, PathBuf)> = Vec::new();
    let mut min_cleaned_base = i64::MAX;
    for entry in std::fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name == format!("{CLEANER_CHECKPOINT_FILE}{TEMP_FILE_SUFFIX}") {
            remove_if_exists(&path)?;
            continue;
        }
        let Some((base_offset, suffix)) = parse_segment_file_name(&name) else {
            continue;
        };
        if suffix.ends_with(DELETED_FILE_SUFFIX) {
            tracing::info!(path = %path.display(), "removing a segment file pending deletion");
            remove_if_exists(&path)?;
        } else if suffix.ends_with(CLEANED_FILE_SUFFIX) {
            min_cleaned_base = min_cleaned_base.min(base_offset);
            cleaned.push(path);
        } else if let Some(kind) = suffix.strip_suffix(SWAP_FILE_SUFFIX) {
            swaps.push((base_offset, kind.to_owned(), path));
        } else if matches!(suffix, LOG_SUFFIX | INDEX_SUFFIX | TIME_INDEX_SUFFIX) {
            segment_files.push((base_offset, path));
        }
    }
    for path in &cleaned {
        tracing::warn!(path = %path.display(), "removing the output of an unfinished clean");
        remove_if_exists(path)?;
    }
    let (rolled_back, swaps): (Vec<_>, Vec<_>) = swaps
        .into_iter()
        .partition(|(base_offset, _, _)| *base_offset >= min_cleaned_base);
    for (_, _, path) in &rolled_back {
        tracing::warn!(path = %path.display(), "rolling back an unfinished segment swap");
        remove_if_exists(path)?;
    }
    let log_swaps: Vec<i64> = swaps
        .iter()
        .filter(|(_, kind, _)| kind == LOG_SUFFIX)
        .map(|(base_offset, _, _)| *base_offset)
        .collect();
    let mut replaced = (i64::MAX, i64::MIN);
    for &base_offset in &log_swaps {
        let path = dir.join(segment_file_name(base_offset, LOG_SUFFIX) + SWAP_FILE_SUFFIX);
        let next_offset = scan_next_offset(&path, base_offset)?;
        replaced = (replaced.0.min(base_offset), replaced.1.max(next_offset));
    }
    if log_swaps.is_empty() && swaps.is_empty() && cleaned.is_empty() && rolled_back.is_empty() {
        return Ok(Vec::new());
    }
    for (base_offset, path) in &segment_files {
        if (replaced.0..replaced.1).contains(base_offset) {
            tracing::warn!(path = %path.display(), "removing a segment replaced by an interrupted swap");
            remove_if_exists(path)?;
        }
    }
    // Indexes first, each `.log` last, as in `change_file_suffix`.
    let mut ordered = swaps;
    ordered.sort_by_key(|(_, kind, _)| kind == LOG_SUFFIX);
    for (base_offset, kind, path) in ordered {
        if kind != LOG_SUFFIX && !log_swaps.contains(&base_offset) {
            remove_if_exists(&path)?;
            continue;
        }
        let target = dir.join(segment_file_name(base_offset, &kind));
        tracing::warn!(path = %path.display(), "completing an interrupted segment swap");
        std::fs::rename(&path, &target).map_err(|e| LogError::io(&path, e))?;
    }
    sync_dir(dir)?;
    Ok(log_swaps)
}
