//! The log's error type.

use std::path::PathBuf;

use rafka_protocol::batch::BatchError;
use rafka_types::Offset;

/// Everything a log operation can fail with. Client-visible variants map one-to-one to
/// Kafka error codes (noted on each); the broker does that mapping at its border.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A disk operation failed. After a failed write the log is offline (`KAFKA_STORAGE_ERROR`).
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The records are well-formed bytes but break a rule (`INVALID_RECORD`).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Records of one batch break a per-record rule (`INVALID_RECORD` with the record
    /// errors of KIP-467): (index of the record in its batch, why).
    #[error("{message}")]
    RecordErrors {
        message: String,
        record_errors: Vec<(i32, String)>,
    },
    /// A compressed batch whose records its codec cannot read. Kafka fails such a produce
    /// with UNKNOWN_SERVER_ERROR (its decompression exception is no API error).
    #[error("{0}")]
    UndecodableRecords(String),
    /// The records are damaged: truncated, inconsistent lengths, bad CRC (`CORRUPT_MESSAGE`).
    #[error("corrupt record: {0}")]
    CorruptRecord(String),
    /// A batch is larger than `max.message.bytes` (`MESSAGE_TOO_LARGE`).
    #[error("record batch of {size} bytes exceeds max.message.bytes ({max})")]
    RecordTooLarge { size: usize, max: u32 },
    /// The offset is outside `[log_start, log_end]` (`OFFSET_OUT_OF_RANGE`).
    #[error("offset {requested} is out of range: log start offset {log_start}, log end offset {log_end}")]
    OffsetOutOfRange {
        requested: Offset,
        log_start: Offset,
        log_end: Offset,
    },
    /// A follower append does not continue the log: its first offset is below the log end
    /// offset, or its batches' offsets do not increase (Kafka's
    /// `UnexpectedAppendOffsetException` / `OffsetsOutOfOrderException`).
    #[error("append of offsets from {first_offset} does not follow log end offset {log_end}")]
    UnexpectedAppendOffset {
        first_offset: Offset,
        log_end: Offset,
    },
    /// Data already in a segment is not a valid batch where one must be.
    #[error("segment {path} is corrupt at position {position}: {source}")]
    CorruptSegment {
        path: PathBuf,
        position: u64,
        #[source]
        source: BatchError,
    },
    /// A producer's batch does not continue its sequence (`OUT_OF_ORDER_SEQUENCE_NUMBER`).
    #[error("{0}")]
    OutOfOrderSequence(String),
    /// A producer's batch carries an epoch older than the producer's latest
    /// (`INVALID_PRODUCER_EPOCH`).
    #[error("{0}")]
    InvalidProducerEpoch(String),
    /// A producer's non-transactional batch in the middle of its open transaction
    /// (`INVALID_TXN_STATE`).
    #[error("{0}")]
    InvalidTxnState(String),
    /// A transaction marker from a coordinator older than the producer's last
    /// (`TRANSACTION_COORDINATOR_FENCED`).
    #[error("{0}")]
    CoordinatorFenced(String),
    /// An earlier I/O failure took this log offline; it must be reopened (`KAFKA_STORAGE_ERROR`).
    #[error("log {dir} is offline after an I/O failure")]
    Offline { dir: PathBuf },
}

impl LogError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> LogError {
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}
