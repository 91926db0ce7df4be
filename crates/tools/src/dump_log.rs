//! `kafka-dump-log.sh`: print the batches and records of `.log` segments (and of KRaft
//! `.checkpoint` snapshots, which are record batches too), the entries of `.index` /
//! `.timeindex` files, the producers of `.snapshot` files and the aborted transactions of
//! `.txnindex` files, read straight from disk, in Kafka 4.1's `DumpLogSegments` format.
//!
//! On disk (Kafka's formats, big-endian): a `.log` is concatenated v2 record batches; an
//! `.index` entry is a 4-byte offset relative to the segment's base offset and a 4-byte
//! byte position in the `.log`; a `.timeindex` entry is an 8-byte timestamp and a 4-byte
//! relative offset. The base offset is the file name. The producer snapshots and
//! transaction indexes are described in their modules.
//!
//! Where Kafka's tool dies of an exception (a file that cannot be read, a name that is
//! not an offset, a transaction index of a newer version), this one stops with exit
//! status 1 and the exception's message; where Kafka's tool reports and goes on (a
//! corrupt producer snapshot), so does this one, on stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use rafka_log::increment_sequence;
use rafka_protocol::batch::{batches, Batch, TimestampType, NO_SEQUENCE};

use crate::common::{missing_argument, parse_tool_args};
use crate::ToolError;

mod control;
mod producer_snapshot;
mod txn_index;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-dump-log.sh",
    about = "This tool helps to parse a log file and dump its contents to the console, useful for debugging a seemingly corrupt log segment.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// If set, printing the messages content when dumping data logs. Automatically set if
    /// any decoder option is specified.
    #[arg(long = "print-data-log")]
    print_data_log: bool,
    /// If set, just verify the index log without printing its content.
    #[arg(long = "verify-index-only")]
    verify_index_only: bool,
    /// If set, just checks the index sanity without printing its content.
    #[arg(long = "index-sanity-check")]
    index_sanity_check: bool,
    /// REQUIRED: The comma separated list of data and index log files to be dumped.
    #[arg(long, value_name = "file1, file2, ...")]
    files: Option<String>,
    /// Size of largest message.
    #[arg(long = "max-message-size", default_value_t = 5 * 1024 * 1024)]
    max_message_size: i32,
    /// Limit the amount of total batches read in bytes avoiding reading the whole .log
    /// file(s).
    #[arg(long = "max-bytes", default_value_t = i32::MAX)]
    max_bytes: i32,
    /// If set, uses deep instead of shallow iteration. Automatically set if
    /// print-data-log is enabled.
    #[arg(long = "deep-iteration")]
    deep_iteration: bool,
    /// Accepted for compatibility; values are printed as UTF-8 strings.
    #[arg(long = "value-decoder-class", num_args = 0..=1, default_missing_value = "")]
    value_decoder_class: Option<String>,
    /// Accepted for compatibility; keys are printed as UTF-8 strings.
    #[arg(long = "key-decoder-class", num_args = 0..=1, default_missing_value = "")]
    key_decoder_class: Option<String>,
    /// If set, log data will be parsed as offset data from the __consumer_offsets topic.
    #[arg(long = "offsets-decoder")]
    offsets_decoder: bool,
    /// If set, log data will be parsed as transaction metadata from the
    /// __transaction_state topic.
    #[arg(long = "transaction-log-decoder")]
    transaction_log_decoder: bool,
    /// If set, log data will be parsed as cluster metadata records.
    #[arg(long = "cluster-metadata-decoder")]
    cluster_metadata_decoder: bool,
    /// If set, log data will be parsed as remote log metadata records.
    #[arg(long = "remote-log-metadata-decoder")]
    remote_log_metadata_decoder: bool,
    /// If set, log data will be parsed as share group state data.
    #[arg(long = "share-group-state-decoder")]
    share_group_state_decoder: bool,
    /// Skip metadata when printing records. This flag also skips control records.
    #[arg(long = "skip-record-metadata")]
    skip_record_metadata: bool,
}

impl Args {
    fn print_data_log(&self) -> bool {
        self.print_data_log
            || self.offsets_decoder
            || self.transaction_log_decoder
            || self.cluster_metadata_decoder
            || self.remote_log_metadata_decoder
            || self.share_group_state_decoder
            || self.value_decoder_class.is_some()
            || self.key_decoder_class.is_some()
    }

    fn deep_iteration(&self) -> bool {
        self.deep_iteration || self.print_data_log()
    }
}

/// What went wrong across all files, reported on stderr at the end as Kafka does.
#[derive(Debug, Default)]
struct Findings {
    /// Per `.index` file: index offset → the log's last offset of the batch found there.
    index_mismatches: BTreeMap<String, Vec<(i64, i64)>>,
    /// Per `.log` file: (previous offset, next offset) pairs that are not consecutive.
    non_consecutive: BTreeMap<String, Vec<(i64, i64)>>,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-dump-log.sh", args)? else {
        return Ok(());
    };
    let Some(files) = args.files.clone() else {
        return Err(missing_argument("files"));
    };
    let mut findings = Findings::default();
    for file in files.split(',') {
        let path = PathBuf::from(file);
        println!("Dumping {file}");
        let name = file_name(&path);
        // Kafka takes the suffix from the last dot, and fails on a name without one.
        let Some(dot) = name.rfind('.') else {
            return Err(ToolError::Failed(format!(
                "begin -1, end {len}, length {len}",
                len = name.encode_utf16().count()
            )));
        };
        match &name[dot..] {
            ".log" => {
                println!("Log starting offset: {}", base_offset(&path)?);
                dump_log(&path, &args, &mut findings)?
            }
            ".checkpoint" => {
                println!("{}", kraft_snapshot_heading(&name)?);
                dump_log(&path, &args, &mut findings)?
            }
            ".index" => dump_index(&path, &args, &mut findings)?,
            ".timeindex" => dump_time_index(&path, &args)?,
            ".snapshot" => dump_producer_snapshot(&path)?,
            ".txnindex" => dump_txn_index(&path)?,
            _ => eprintln!("Ignoring unknown file {file}"),
        }
    }
    for (file, mismatches) in &findings.index_mismatches {
        eprintln!("Mismatches in :{file}");
        for (index_offset, log_offset) in mismatches {
            eprintln!("  Index offset: {index_offset}, log offset: {log_offset}");
        }
    }
    for (file, pairs) in &findings.non_consecutive {
        eprintln!("Non-consecutive offsets in {file}");
        for (previous, next) in pairs {
            eprintln!("  {previous} is followed by {next}");
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, ToolError> {
    std::fs::read(path).map_err(|e| ToolError::Failed(format!("{}: {e}", path.display())))
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The segment's base offset: the file name before its first dot.
fn base_offset(path: &Path) -> Result<i64, ToolError> {
    let name = file_name(path);
    let stem = name.split('.').next().unwrap_or_default();
    stem.parse::<i64>()
        .map_err(|_| ToolError::Failed(format!("For input string: \"{stem}\"")))
}

fn timestamp_type_name(batch: &Batch<'_>) -> &'static str {
    match batch.timestamp_type() {
        TimestampType::CreateTime => "CreateTime",
        TimestampType::LogAppendTime => "LogAppendTime",
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// The line before a KRaft snapshot's batches: its end offset and epoch, from a name
/// `<20-digit offset>-<10-digit epoch>.checkpoint`, or the bootstrap file's own line.
fn kraft_snapshot_heading(name: &str) -> Result<String, ToolError> {
    if name == "bootstrap.checkpoint" {
        return Ok("KRaft bootstrap snapshot".into());
    }
    let number = |range: std::ops::Range<usize>| {
        let digits = name.get(range.clone()).ok_or_else(|| {
            ToolError::Failed(format!(
                "begin {}, end {}, length {}",
                range.start,
                range.end,
                name.len()
            ))
        })?;
        digits
            .parse::<i64>()
            .map_err(|_| ToolError::Failed(format!("For input string: \"{digits}\"")))
    };
    let end_offset = number(0..20)?;
    let epoch = number(21..31)?;
    Ok(format!("Snapshot end offset: {end_offset}, epoch: {epoch}"))
}

fn dump_log(path: &Path, args: &Args, findings: &mut Findings) -> Result<(), ToolError> {
    let mut bytes = read(path)?;
    let file_size = bytes.len();
    let limit = usize::try_from(args.max_bytes).unwrap_or(0);
    bytes.truncate(limit);
    let mut valid_bytes = 0usize;
    let mut last_offset = -1i64;
    for batch in batches(&bytes) {
        let Ok(batch) = batch else {
            break;
        };
        print_batch(&batch, valid_bytes);
        if args.deep_iteration() {
            dump_records(path, &batch, args, &mut last_offset, findings)?;
        }
        valid_bytes += batch.size_bytes();
    }
    let trailing = file_size.saturating_sub(valid_bytes);
    if trailing > 0 && args.max_bytes == i32::MAX {
        println!(
            "Found {trailing} invalid bytes at the end of {}",
            file_name(path)
        );
    }
    Ok(())
}

fn print_batch(batch: &Batch<'_>, position: usize) {
    let base_sequence = batch.base_sequence();
    let last_sequence = if base_sequence == NO_SEQUENCE {
        NO_SEQUENCE
    } else {
        increment_sequence(base_sequence, batch.last_offset_delta())
    };
    let delete_horizon = if batch.has_delete_horizon() {
        format!("OptionalLong[{}]", batch.base_timestamp())
    } else {
        "OptionalLong.empty".to_string()
    };
    let codec = batch
        .compression()
        .map(|c| c.name().to_string())
        .unwrap_or_else(|_| format!("unknown({})", batch.attributes() & 0x07));
    println!(
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} deleteHorizonMs: {} position: {} {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: {}",
        batch.base_offset(),
        batch.last_offset(),
        batch.records_count(),
        base_sequence,
        last_sequence,
        batch.producer_id(),
        batch.producer_epoch(),
        batch.partition_leader_epoch(),
        batch.is_transactional(),
        batch.is_control(),
        delete_horizon,
        position,
        timestamp_type_name(batch),
        batch.max_timestamp(),
        batch.size_bytes(),
        batch.magic(),
        codec,
        batch.crc(),
        batch.verify_crc().is_ok()
    );
}

fn dump_records(
    path: &Path,
    batch: &Batch<'_>,
    args: &Args,
    last_offset: &mut i64,
    findings: &mut Findings,
) -> Result<(), ToolError> {
    let records = match batch.decode_records() {
        Ok(records) => records,
        Err(e) => {
            eprintln!(
                "Cannot read the records of the batch at offset {}: {e}",
                batch.base_offset()
            );
            return Ok(());
        }
    };
    let timestamp_type = timestamp_type_name(batch);
    for record in records {
        // As Kafka: the file's first record follows nothing, whatever its offset.
        if *last_offset != -1 && record.offset != *last_offset + 1 {
            findings
                .non_consecutive
                .entry(absolute(path))
                .or_default()
                .push((*last_offset, record.offset));
        }
        *last_offset = record.offset;
        let mut line = String::new();
        if !args.skip_record_metadata {
            let offset_delta = (record.offset - batch.base_offset()) as i32;
            let sequence = if batch.base_sequence() == NO_SEQUENCE {
                NO_SEQUENCE
            } else {
                increment_sequence(batch.base_sequence(), offset_delta)
            };
            let header_keys: Vec<String> = record.headers.keys().map(|k| k.to_string()).collect();
            line.push_str(&format!(
                "| offset: {} {timestamp_type}: {} keySize: {} valueSize: {} sequence: {sequence} headerKeys: [{}]",
                record.offset,
                record.timestamp,
                record.key.as_ref().map_or(-1, |k| k.len() as i64),
                record.value.as_ref().map_or(-1, |v| v.len() as i64),
                header_keys.join(",")
            ));
            if batch.is_control() {
                match control::describe(record.key.as_deref(), record.value.as_deref()) {
                    Ok(described) => line.push_str(&described),
                    Err(why) => {
                        // Kafka's tool dies here with the record's line half printed.
                        print!("{line}");
                        let _ = std::io::stdout().flush();
                        return Err(ToolError::Failed(why));
                    }
                }
            }
        }
        if args.print_data_log() && !batch.is_control() {
            // Only the key takes the record indent when the metadata is skipped: Kafka
            // prints the payload after a space even when no key came before it.
            let prefix = if args.skip_record_metadata { "| " } else { " " };
            if let Some(key) = &record.key {
                line.push_str(&format!("{prefix}key: {}", String::from_utf8_lossy(key)));
            }
            if let Some(value) = &record.value {
                line.push_str(&format!(" payload: {}", String::from_utf8_lossy(value)));
            }
        }
        println!("{line}");
    }
    Ok(())
}

fn dump_index(path: &Path, args: &Args, findings: &mut Findings) -> Result<(), ToolError> {
    let base = base_offset(path)?;
    let bytes = read(path)?;
    let entries: Vec<(i64, u32)> = bytes
        .chunks_exact(8)
        .map(|e| {
            let relative = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let position = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            (base + i64::from(relative), position)
        })
        .collect();
    if entries.is_empty() {
        println!("{} is empty.", path.display());
        return Ok(());
    }
    if args.index_sanity_check {
        if bytes.len() % 8 != 0 {
            return Err(ToolError::Failed(format!(
                "Index file {} is corrupt, found {} bytes which is neither positive nor a multiple of 8.",
                path.display(),
                bytes.len()
            )));
        }
        println!("{} passed sanity check.", path.display());
        return Ok(());
    }
    let log_path = path.with_extension("log");
    let log = std::fs::read(&log_path).unwrap_or_default();
    for (i, (offset, position)) in entries.into_iter().enumerate() {
        // A crash can leave zeroed entries at the end of a preallocated index: stop there.
        if offset == base && i > 0 {
            break;
        }
        let at = usize::try_from(position).unwrap_or(usize::MAX);
        let found = log.get(at..).and_then(|rest| Batch::new(rest).ok());
        let log_offset = found.map_or(-1, |b| b.last_offset());
        if log_offset != offset {
            findings
                .index_mismatches
                .entry(absolute(path))
                .or_default()
                .push((offset, log_offset));
        }
        if !args.verify_index_only {
            println!("offset: {offset} position: {position}");
        }
    }
    Ok(())
}

/// A corrupt snapshot is reported on stderr and the dump goes on, as Kafka catches its
/// `CorruptSnapshotException`; a file that cannot be read stops the tool.
fn dump_producer_snapshot(path: &Path) -> Result<(), ToolError> {
    match producer_snapshot::read(&read(path)?) {
        Ok(entries) => {
            for entry in entries {
                println!("{}", entry.line());
            }
        }
        Err(corrupt) => eprintln!("{corrupt}"),
    }
    Ok(())
}

/// A missing index is an empty one, as Kafka's `TransactionIndex` opens no file that is
/// not there (a segment without aborts has none).
fn dump_txn_index(path: &Path) -> Result<(), ToolError> {
    base_offset(path)?;
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(ToolError::Failed(format!("{}: {e}", path.display()))),
    };
    let entries = txn_index::read(&bytes, &absolute(path)).map_err(ToolError::Failed)?;
    for entry in entries {
        println!("{}", entry.line());
    }
    Ok(())
}

fn dump_time_index(path: &Path, args: &Args) -> Result<(), ToolError> {
    let base = base_offset(path)?;
    let bytes = read(path)?;
    if args.index_sanity_check {
        println!("{} passed sanity check.", path.display());
        return Ok(());
    }
    for (i, entry) in bytes.chunks_exact(12).enumerate() {
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&entry[..8]);
        let timestamp = i64::from_be_bytes(timestamp);
        let offset = base
            + i64::from(u32::from_be_bytes([
                entry[8], entry[9], entry[10], entry[11],
            ]));
        if offset == base && i > 0 {
            break;
        }
        if !args.verify_index_only {
            println!("timestamp: {timestamp} offset: {offset}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(increment_sequence(5, 2), 7);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }
}
