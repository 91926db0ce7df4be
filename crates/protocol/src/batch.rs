//! A zero-copy view of Kafka's v2 record batch (magic 2), the unit in which clients
//! produce, brokers store and consumers fetch records.
//!
//! The produce and fetch paths never decode a batch record by record: they read and patch
//! the fixed 61-byte header in place ([`Batch`], [`BatchMut`], [`BatchHeader`]) and walk
//! concatenated batches with [`batches`]. Only the rare paths that need exact per-record
//! offsets and timestamps (ListOffsets by timestamp, log dumps) decompress a batch, with
//! [`Batch::record_timestamps`] or [`Batch::decode_records`].
//!
//! On the wire and on disk (all integers big-endian):
//!
//! ```text
//! @0  baseOffset           i64
//! @8  batchLength          i32   bytes after this field; total size = 12 + batchLength
//! @12 partitionLeaderEpoch i32   not covered by the CRC
//! @16 magic                i8    2
//! @17 crc                  u32   CRC-32C (Castagnoli) of bytes 21..end
//! @21 attributes           i16   bits 0-2 compression, 3 timestamp type (1 = LogAppendTime),
//!                                4 transactional, 5 control, 6 delete horizon
//! @23 lastOffsetDelta      i32
//! @27 baseTimestamp        i64
//! @35 maxTimestamp         i64
//! @43 producerId           i64
//! @51 producerEpoch        i16
//! @53 baseSequence         i32
//! @57 recordsCount         i32
//! @61 records              (compressed as a whole when attributes say so)
//! ```

use bytes::{Bytes, BytesMut};
use kafka_protocol::compression::{self as codec, Compressor as _, Decompressor};
use kafka_protocol::records::{self as kp, RecordBatchDecoder};

/// `baseOffset` and `batchLength`: the bytes that precede what `batchLength` counts
/// (Kafka's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// Size of the v2 batch header, records excluded (Kafka's `RECORD_BATCH_OVERHEAD`).
pub const HEADER_SIZE_BYTES: usize = 61;
/// The smallest `batchLength` a v2 batch can carry: a header with no records.
pub const MIN_BATCH_LENGTH_BYTES: i32 = (HEADER_SIZE_BYTES - LOG_OVERHEAD_BYTES) as i32;
/// The only record format rafka reads or writes.
pub const MAGIC_V2: i8 = 2;
/// Kafka's value for "no producer id", "no epoch", "no sequence" and "no timestamp".
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;
pub const NO_SEQUENCE: i32 = -1;
pub const NO_TIMESTAMP: i64 = -1;

const BASE_OFFSET_OFFSET: usize = 0;
const LENGTH_OFFSET: usize = 8;
const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const BASE_TIMESTAMP_OFFSET: usize = 27;
const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
const RECORDS_COUNT_OFFSET: usize = 57;
/// Bytes needed before the magic byte can be checked.
const HEADER_SIZE_UP_TO_MAGIC_BYTES: usize = MAGIC_OFFSET + 1;

const COMPRESSION_CODEC_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_MASK: i16 = 0x08;
const TRANSACTIONAL_FLAG_MASK: i16 = 0x10;
const CONTROL_FLAG_MASK: i16 = 0x20;
const DELETE_HORIZON_FLAG_MASK: i16 = 0x40;

/// What is wrong with bytes that should hold a v2 batch. `Incomplete` means "need more
/// bytes" (the end of a fetch, a torn write); every other variant means the bytes present
/// are not a valid batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("incomplete record batch: need {need} bytes, have {have}")]
    Incomplete { need: usize, have: usize },
    #[error("record batch length {0} is below the v2 minimum of {MIN_BATCH_LENGTH_BYTES}")]
    InvalidLength(i32),
    #[error("record batch magic {0} is not supported (only magic {MAGIC_V2})")]
    InvalidMagic(i8),
    #[error(
        "record batch CRC-32C is {expected:#010x} in the header but {actual:#010x} over the bytes"
    )]
    CorruptCrc { expected: u32, actual: u32 },
    #[error("record batch uses unknown compression codec id {0}")]
    InvalidCompression(u8),
    #[error("record batch records could not be decoded: {0}")]
    InvalidRecords(String),
}

/// The codec of a batch's records (attributes bits 0-2), Kafka's `CompressionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The codec for an attributes id, `None` for the unassigned ids 5-7.
    pub fn from_id(id: u8) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Gzip),
            2 => Some(Compression::Snappy),
            3 => Some(Compression::Lz4),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }

    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's name, as in `compression.type`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    fn to_kafka_protocol(self) -> kp::Compression {
        match self {
            Compression::None => kp::Compression::None,
            Compression::Gzip => kp::Compression::Gzip,
            Compression::Snappy => kp::Compression::Snappy,
            Compression::Lz4 => kp::Compression::Lz4,
            Compression::Zstd => kp::Compression::Zstd,
        }
    }
}

/// What a batch's timestamps mean (attributes bit 3), Kafka's `TimestampType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// The producer's timestamps are kept.
    #[default]
    CreateTime,
    /// The broker overwrote `maxTimestamp` with its clock at append; every record's
    /// timestamp reads as `maxTimestamp`.
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's name, as in `message.timestamp.type`.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }

    /// Parses `CreateTime` / `LogAppendTime`.
    pub fn from_name(name: &str) -> Option<TimestampType> {
        match name {
            "CreateTime" => Some(TimestampType::CreateTime),
            "LogAppendTime" => Some(TimestampType::LogAppendTime),
            _ => None,
        }
    }
}

fn read_i16(buf: &[u8], at: usize) -> i16 {
    let mut raw = [0u8; 2];
    raw.copy_from_slice(&buf[at..at + 2]);
    i16::from_be_bytes(raw)
}

fn read_i32(buf: &[u8], at: usize) -> i32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&buf[at..at + 4]);
    i32::from_be_bytes(raw)
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&buf[at..at + 4]);
    u32::from_be_bytes(raw)
}

fn read_i64(buf: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&buf[at..at + 8]);
    i64::from_be_bytes(raw)
}

/// The total size (`12 + batchLength`) of the batch that starts `buf`, read from its first
/// bytes. Checks what the available bytes allow: the length once 12 bytes are present,
/// the magic once 17 are. Does not require the whole batch.
pub fn batch_size_bytes(buf: &[u8]) -> Result<usize, BatchError> {
    if buf.len() < LOG_OVERHEAD_BYTES {
        return Err(BatchError::Incomplete {
            need: HEADER_SIZE_BYTES,
            have: buf.len(),
        });
    }
    let batch_length = read_i32(buf, LENGTH_OFFSET);
    if batch_length < MIN_BATCH_LENGTH_BYTES {
        return Err(BatchError::InvalidLength(batch_length));
    }
    if buf.len() >= HEADER_SIZE_UP_TO_MAGIC_BYTES {
        let magic = buf[MAGIC_OFFSET] as i8;
        if magic != MAGIC_V2 {
            return Err(BatchError::InvalidMagic(magic));
        }
    }
    Ok(LOG_OVERHEAD_BYTES + batch_length as usize)
}

/// Read accessors shared by every view; each view provides `raw()`, its header bytes.
macro_rules! header_accessors {
    () => {
        /// Offset of the first record (Kafka rewrites it on append).
        pub fn base_offset(&self) -> i64 {
            read_i64(self.raw(), BASE_OFFSET_OFFSET)
        }

        /// Bytes after the `batchLength` field.
        pub fn batch_length(&self) -> i32 {
            read_i32(self.raw(), LENGTH_OFFSET)
        }

        pub fn partition_leader_epoch(&self) -> i32 {
            read_i32(self.raw(), PARTITION_LEADER_EPOCH_OFFSET)
        }

        pub fn magic(&self) -> i8 {
            self.raw()[MAGIC_OFFSET] as i8
        }

        /// The CRC-32C stored in the header.
        pub fn crc(&self) -> u32 {
            read_u32(self.raw(), CRC_OFFSET)
        }

        pub fn attributes(&self) -> i16 {
            read_i16(self.raw(), ATTRIBUTES_OFFSET)
        }

        pub fn last_offset_delta(&self) -> i32 {
            read_i32(self.raw(), LAST_OFFSET_DELTA_OFFSET)
        }

        /// Timestamp of the first record; record timestamps are deltas from it.
        pub fn base_timestamp(&self) -> i64 {
            read_i64(self.raw(), BASE_TIMESTAMP_OFFSET)
        }

        /// Largest record timestamp, or the log append time under LogAppendTime.
        pub fn max_timestamp(&self) -> i64 {
            read_i64(self.raw(), MAX_TIMESTAMP_OFFSET)
        }

        pub fn producer_id(&self) -> i64 {
            read_i64(self.raw(), PRODUCER_ID_OFFSET)
        }

        pub fn producer_epoch(&self) -> i16 {
            read_i16(self.raw(), PRODUCER_EPOCH_OFFSET)
        }

        pub fn base_sequence(&self) -> i32 {
            read_i32(self.raw(), BASE_SEQUENCE_OFFSET)
        }

        pub fn records_count(&self) -> i32 {
            read_i32(self.raw(), RECORDS_COUNT_OFFSET)
        }

        /// Offset of the last record: `baseOffset + lastOffsetDelta`.
        pub fn last_offset(&self) -> i64 {
            self.base_offset() + i64::from(self.last_offset_delta())
        }

        /// The offset after this batch.
        pub fn next_offset(&self) -> i64 {
            self.last_offset() + 1
        }

        /// The codec, or `InvalidCompression` for the unassigned ids 5-7.
        pub fn compression(&self) -> Result<Compression, BatchError> {
            let id = (self.attributes() & COMPRESSION_CODEC_MASK) as u8;
            Compression::from_id(id).ok_or(BatchError::InvalidCompression(id))
        }

        pub fn timestamp_type(&self) -> TimestampType {
            if self.attributes() & TIMESTAMP_TYPE_MASK != 0 {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            }
        }

        pub fn is_transactional(&self) -> bool {
            self.attributes() & TRANSACTIONAL_FLAG_MASK != 0
        }

        pub fn is_control(&self) -> bool {
            self.attributes() & CONTROL_FLAG_MASK != 0
        }

        pub fn has_delete_horizon(&self) -> bool {
            self.attributes() & DELETE_HORIZON_FLAG_MASK != 0
        }

        /// Total size of the batch: `12 + batchLength`.
        pub fn size_bytes(&self) -> usize {
            LOG_OVERHEAD_BYTES + self.batch_length() as usize
        }
    };
}

/// An owned copy of a batch's 61-byte header, for callers that read headers without the
/// records (a log scanning a segment file).
///
/// Invariant: `batchLength >= 49` and `magic == 2` (checked by [`BatchHeader::parse`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    bytes: [u8; HEADER_SIZE_BYTES],
}

impl std::fmt::Debug for BatchHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchHeader")
            .field("base_offset", &self.base_offset())
            .field("batch_length", &self.batch_length())
            .field("last_offset_delta", &self.last_offset_delta())
            .field("records_count", &self.records_count())
            .field("max_timestamp", &self.max_timestamp())
            .field("attributes", &self.attributes())
            .finish()
    }
}

impl BatchHeader {
    /// Parses the header at the start of `buf`; the records need not be present.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, BatchError> {
        let size = batch_size_bytes(buf)?;
        if buf.len() < HEADER_SIZE_BYTES {
            return Err(BatchError::Incomplete {
                need: size,
                have: buf.len(),
            });
        }
        let mut bytes = [0u8; HEADER_SIZE_BYTES];
        bytes.copy_from_slice(&buf[..HEADER_SIZE_BYTES]);
        Ok(BatchHeader { bytes })
    }

    fn raw(&self) -> &[u8] {
        &self.bytes
    }

    header_accessors!();
}

/// A read-only view of exactly one complete v2 batch.
///
/// Invariant: the slice is exactly `12 + batchLength` bytes, `batchLength >= 49` and
/// `magic == 2`. The CRC is not checked on construction: call [`Batch::verify_crc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch<'a> {
    bytes: &'a [u8],
}

impl<'a> Batch<'a> {
    /// Views the batch at the start of `buf` (trailing bytes beyond it are ignored).
    pub fn new(buf: &'a [u8]) -> Result<Batch<'a>, BatchError> {
        let size = complete_batch_size_bytes(buf)?;
        Ok(Batch {
            bytes: &buf[..size],
        })
    }

    fn raw(&self) -> &[u8] {
        self.bytes
    }

    header_accessors!();

    /// The batch's bytes, header included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The (possibly compressed) records section after the header.
    pub fn records_bytes(&self) -> &'a [u8] {
        &self.bytes[HEADER_SIZE_BYTES..]
    }

    /// An owned copy of the header.
    pub fn header(&self) -> BatchHeader {
        let mut bytes = [0u8; HEADER_SIZE_BYTES];
        bytes.copy_from_slice(&self.bytes[..HEADER_SIZE_BYTES]);
        BatchHeader { bytes }
    }

    /// CRC-32C over bytes 21..end (attributes through the last record).
    pub fn compute_crc(&self) -> u32 {
        crc32c::crc32c(&self.bytes[ATTRIBUTES_OFFSET..])
    }

    /// Checks the stored CRC against the bytes (Kafka's `ensureValid`).
    pub fn verify_crc(&self) -> Result<(), BatchError> {
        let expected = self.crc();
        let actual = self.compute_crc();
        if expected == actual {
            Ok(())
        } else {
            Err(BatchError::CorruptCrc { expected, actual })
        }
    }

    /// The records section, decompressed. Reads both snappy framings: xerial (the Java
    /// client; only its 8 magic bytes are checked) and plain (librdkafka).
    pub fn decompressed_records(&self) -> Result<Bytes, BatchError> {
        let compression = self.compression()?;
        let mut records = Bytes::copy_from_slice(self.records_bytes());
        decompress(&mut records, compression.to_kafka_protocol()).map_err(|e| {
            BatchError::InvalidRecords(format!("{} records: {e:#}", compression.name()))
        })
    }

    /// The offset and timestamp of every record, in order, as Kafka reports them: under
    /// LogAppendTime every record's timestamp is the batch's `maxTimestamp`.
    pub fn record_timestamps(&self) -> Result<Vec<RecordTimestamp>, BatchError> {
        self.verify_crc()?;
        let records = self.decompressed_records()?;
        let count = self.records_count();
        if count < 0 {
            return Err(BatchError::InvalidRecords(format!(
                "negative records count {count}"
            )));
        }
        let base_offset = self.base_offset();
        let base_timestamp = self.base_timestamp();
        let log_append_time = match self.timestamp_type() {
            TimestampType::LogAppendTime => Some(self.max_timestamp()),
            TimestampType::CreateTime => None,
        };
        // A record is at least 7 bytes; never trust the count for the reservation.
        let mut out = Vec::with_capacity((count as usize).min(records.len() / 7 + 1));
        let mut cursor = VarintCursor {
            buf: &records,
            position: 0,
        };
        for index in 0..count {
            let record = cursor.record(index)?;
            out.push(RecordTimestamp {
                offset: base_offset + i64::from(record.offset_delta),
                timestamp_ms: log_append_time
                    .unwrap_or_else(|| base_timestamp.wrapping_add(record.timestamp_delta)),
            });
        }
        Ok(out)
    }

    /// Checks that the compressed records start as their codec's stream must, as Kafka's
    /// readers check on the way in: a gzip or zstd magic number, and an LZ4 frame of
    /// Kafka's kind (LZ4 frame magic, version 1, independent blocks: Kafka's
    /// KafkaLZ4BlockInputStream refuses dependent-block streams). Snappy has two framings
    /// (xerial and plain) with no common magic, and is not checked here. The check reads
    /// only the first bytes, so the append path stays free of decompression; a batch
    /// stored past it would make every consumer fail.
    pub fn check_compression_frame(&self) -> Result<(), BatchError> {
        let records = self.records_bytes();
        let refuse = |why: &str| {
            Err(BatchError::InvalidRecords(format!(
                "{} records: {why}",
                self.compression().map_or("unknown", |c| c.name())
            )))
        };
        match self.compression()? {
            Compression::None | Compression::Snappy => Ok(()),
            Compression::Gzip if records.starts_with(&[0x1f, 0x8b]) => Ok(()),
            Compression::Gzip => refuse("Not in GZIP format"),
            Compression::Zstd if records.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) => Ok(()),
            Compression::Zstd => refuse("Unknown frame descriptor"),
            Compression::Lz4 => {
                if !records.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
                    return refuse("Stream unsupported (invalid magic bytes)");
                }
                let flags = records.get(4).copied().unwrap_or(0);
                if flags >> 6 != 1 {
                    return refuse("Version Unsupported");
                }
                if flags & 0x20 == 0 {
                    return refuse("Dependent block stream is unsupported");
                }
                Ok(())
            }
        }
    }

    /// The index (within this batch) of every record whose key is null, as Kafka's
    /// LogValidator counts them for a compacted topic's `INVALID_RECORD`.
    pub fn records_without_key(&self) -> Result<Vec<i32>, BatchError> {
        let records = self.decompressed_records()?;
        let mut cursor = VarintCursor {
            buf: &records,
            position: 0,
        };
        let mut out = Vec::new();
        for index in 0..self.records_count().max(0) {
            if !cursor.record(index)?.has_key {
                out.push(index);
            }
        }
        Ok(out)
    }

    /// Every record, decoded by `kafka_protocol`'s decoder (owned keys, values, headers).
    /// Beware: its headers are a map, so duplicate header keys collapse; never re-encode
    /// client batches from this. Under LogAppendTime timestamps read as `maxTimestamp`.
    pub fn decode_records(&self) -> Result<Vec<kp::Record>, BatchError> {
        self.verify_crc()?;
        self.compression()?;
        let mut buf = Bytes::copy_from_slice(self.bytes);
        let decoded = RecordBatchDecoder::decode_with_custom_compression(
            &mut buf,
            Some(|records: &mut Bytes, compression: kp::Compression| {
                decompress(records, compression)
            }),
        )
        .map_err(|e| BatchError::InvalidRecords(format!("{e:#}")))?;
        let mut records = decoded.records;
        if self.timestamp_type() == TimestampType::LogAppendTime {
            let max_timestamp = self.max_timestamp();
            for record in &mut records {
                record.timestamp = max_timestamp;
            }
        }
        Ok(records)
    }
}

/// One record's position in the log and its timestamp, as ListOffsets reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordTimestamp {
    pub offset: i64,
    pub timestamp_ms: i64,
}

fn complete_batch_size_bytes(buf: &[u8]) -> Result<usize, BatchError> {
    let size = batch_size_bytes(buf)?;
    if buf.len() < size {
        return Err(BatchError::Incomplete {
            need: size,
            have: buf.len(),
        });
    }
    Ok(size)
}

/// A mutable view of exactly one complete v2 batch, for the fields a broker rewrites.
///
/// Invariant: as for [`Batch`]; every mutator leaves a batch whose CRC was valid, valid.
#[derive(Debug, PartialEq, Eq)]
pub struct BatchMut<'a> {
    bytes: &'a mut [u8],
}

/// Writes a batch's base offset into `header`, the start of a v2 batch (a copy of the
/// header alone will do: the field is outside the CRC).
pub fn stamp_base_offset(header: &mut [u8], base_offset: i64) {
    header[BASE_OFFSET_OFFSET..BASE_OFFSET_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Writes a batch's partition leader epoch into `header` (outside the CRC too).
pub fn stamp_partition_leader_epoch(header: &mut [u8], partition_leader_epoch: i32) {
    header[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4]
        .copy_from_slice(&partition_leader_epoch.to_be_bytes());
}

/// The partition leader epoch in `header`, the start of a v2 batch.
pub fn partition_leader_epoch_of(header: &[u8]) -> i32 {
    let mut bytes = [0u8; 4];
    bytes
        .copy_from_slice(&header[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4]);
    i32::from_be_bytes(bytes)
}

impl<'a> BatchMut<'a> {
    /// Views the batch at the start of `buf` (trailing bytes beyond it are ignored).
    pub fn new(buf: &'a mut [u8]) -> Result<BatchMut<'a>, BatchError> {
        let size = complete_batch_size_bytes(buf)?;
        Ok(BatchMut {
            bytes: &mut buf[..size],
        })
    }

    fn raw(&self) -> &[u8] {
        self.bytes
    }

    header_accessors!();

    /// A read-only view of the same bytes.
    pub fn as_batch(&self) -> Batch<'_> {
        Batch { bytes: self.bytes }
    }

    /// Assigns the batch its offsets. Not covered by the CRC.
    pub fn set_base_offset(&mut self, base_offset: i64) {
        stamp_base_offset(self.bytes, base_offset);
    }

    /// Stamps the leader's epoch. Not covered by the CRC.
    pub fn set_partition_leader_epoch(&mut self, partition_leader_epoch: i32) {
        stamp_partition_leader_epoch(self.bytes, partition_leader_epoch);
    }

    /// What Kafka's LogValidator does to a magic 2 batch under
    /// `message.timestamp.type=LogAppendTime`: set attributes bit 3, write `maxTimestamp`
    /// and recompute the CRC. The records are untouched (readers take every record's
    /// timestamp from `maxTimestamp`), so compressed batches need no re-compression.
    pub fn set_log_append_time(&mut self, log_append_time_ms: i64) {
        let attributes = self.attributes();
        if attributes & TIMESTAMP_TYPE_MASK != 0 && self.max_timestamp() == log_append_time_ms {
            return;
        }
        self.bytes[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2]
            .copy_from_slice(&(attributes | TIMESTAMP_TYPE_MASK).to_be_bytes());
        self.bytes[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8]
            .copy_from_slice(&log_append_time_ms.to_be_bytes());
        self.write_crc();
    }

    /// Recomputes and stores the CRC.
    pub fn write_crc(&mut self) {
        let crc = self.as_batch().compute_crc();
        self.bytes[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

/// Walks a buffer of concatenated batches: yields each complete batch, then at most one
/// error, for the tail that is `Incomplete` or for the first invalid bytes, and stops.
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    buf: &'a [u8],
    position: usize,
    done: bool,
}

/// Iterates the batches in `buf`; see [`Batches`].
pub fn batches(buf: &[u8]) -> Batches<'_> {
    Batches {
        buf,
        position: 0,
        done: false,
    }
}

impl<'a> Batches<'a> {
    /// Bytes of `buf` covered by the batches yielded so far; after an error, where the
    /// incomplete or invalid bytes start.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<Batch<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.position == self.buf.len() {
            return None;
        }
        match Batch::new(&self.buf[self.position..]) {
            Ok(batch) => {
                self.position += batch.size_bytes();
                Some(Ok(batch))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Batches<'_> {}

/// The xerial snappy stream header the Java client writes: 8 magic bytes, then a version
/// and a compatible-version field.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";

fn take(buf: &mut Bytes) -> anyhow::Result<Bytes> {
    Ok(std::mem::take(buf))
}

fn decompress(records: &mut Bytes, compression: kp::Compression) -> anyhow::Result<Bytes> {
    match compression {
        kp::Compression::None => Ok(std::mem::take(records)),
        kp::Compression::Gzip => <codec::Gzip as Decompressor<Bytes>>::decompress(records, take),
        kp::Compression::Lz4 => <codec::Lz4 as Decompressor<Bytes>>::decompress(records, take),
        kp::Compression::Zstd => <codec::Zstd as Decompressor<Bytes>>::decompress(records, take),
        kp::Compression::Snappy => {
            // kafka_protocol recognises xerial framing only by the full 16-byte header;
            // some writers put other (even little-endian) version fields there. Only the
            // magic matters, so normalise the version fields before handing it over.
            if records.len() >= XERIAL_HEADER.len()
                && records[..XERIAL_MAGIC.len()] == XERIAL_MAGIC[..]
                && records[..XERIAL_HEADER.len()] != XERIAL_HEADER[..]
            {
                let mut normalised = BytesMut::from(&records[..]);
                normalised[..XERIAL_HEADER.len()].copy_from_slice(XERIAL_HEADER);
                *records = normalised.freeze();
            }
            <codec::Snappy as Decompressor<Bytes>>::decompress(records, take)
        }
    }
}

/// Compresses an uncompressed records section with `compression`'s codec (snappy in
/// xerial framing, as the Java client writes it).
pub fn compress_records(records: &[u8], compression: Compression) -> Result<Vec<u8>, BatchError> {
    let mut out = BytesMut::new();
    let fill = |buf: &mut BytesMut| {
        buf.extend_from_slice(records);
        Ok(())
    };
    let result = match compression {
        Compression::None => {
            out.extend_from_slice(records);
            Ok(())
        }
        Compression::Gzip => codec::Gzip::compress(&mut out, fill),
        Compression::Snappy => codec::Snappy::compress(&mut out, fill),
        Compression::Lz4 => codec::Lz4::compress(&mut out, fill),
        Compression::Zstd => codec::Zstd::compress(&mut out, fill),
    };
    result.map_err(|e| {
        BatchError::InvalidRecords(format!("{} compression: {e:#}", compression.name()))
    })?;
    Ok(out.to_vec())
}

struct DecodedRecordPrefix {
    timestamp_delta: i64,
    offset_delta: i32,
    has_key: bool,
}

/// Reads the start of each record (length, attributes, timestamp delta, offset delta, key
/// length) and skips the rest by the record's length: keys, values and headers are never
/// parsed.
struct VarintCursor<'b> {
    buf: &'b [u8],
    position: usize,
}

impl VarintCursor<'_> {
    fn invalid(&self, index: i32, what: &str) -> BatchError {
        BatchError::InvalidRecords(format!("record {index}: {what} at byte {}", self.position))
    }

    fn varlong(&mut self, index: i32) -> Result<i64, BatchError> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let Some(&byte) = self.buf.get(self.position) else {
                return Err(self.invalid(index, "truncated varint"));
            };
            self.position += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                // Zig-zag decoding.
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(self.invalid(index, "varint longer than 10 bytes"))
    }

    fn varint(&mut self, index: i32) -> Result<i32, BatchError> {
        let value = self.varlong(index)?;
        i32::try_from(value).map_err(|_| self.invalid(index, "varint out of i32 range"))
    }

    fn record(&mut self, index: i32) -> Result<DecodedRecordPrefix, BatchError> {
        let length = self.varint(index)?;
        if length < 0 {
            return Err(self.invalid(index, "negative record length"));
        }
        let end = self.position + length as usize;
        if end > self.buf.len() {
            return Err(self.invalid(index, "record past the end of the records"));
        }
        // attributes (unused by magic 2)
        self.position += 1;
        let timestamp_delta = self.varlong(index)?;
        let offset_delta = self.varint(index)?;
        // The key length: -1 for a null key.
        let key_length = self.varint(index)?;
        if self.position > end {
            return Err(self.invalid(index, "record fields overrun its length"));
        }
        self.position = end;
        Ok(DecodedRecordPrefix {
            timestamp_delta,
            offset_delta,
            has_key: key_length >= 0,
        })
    }
}

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8 & 0x7f) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            put_varlong(out, bytes.len() as i64);
            out.extend_from_slice(bytes);
        }
        None => put_varlong(out, -1),
    }
}

/// Encodes a v2 batch record by record, as Kafka's `MemoryRecordsBuilder` does, for
/// batches the broker writes itself (and for tests). Records are appended with
/// consecutive offsets from the base offset.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    base_offset: i64,
    partition_leader_epoch: i32,
    compression: Compression,
    timestamp_type: TimestampType,
    transactional: bool,
    control: bool,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    records_count: i32,
    records: Vec<u8>,
}

impl BatchBuilder {
    /// An empty, uncompressed, non-transactional CreateTime batch with no producer id.
    pub fn new(base_offset: i64) -> BatchBuilder {
        BatchBuilder {
            base_offset,
            partition_leader_epoch: -1,
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            transactional: false,
            control: false,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            base_timestamp: None,
            max_timestamp: NO_TIMESTAMP,
            records_count: 0,
            records: Vec::new(),
        }
    }

    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    pub fn partition_leader_epoch(mut self, partition_leader_epoch: i32) -> Self {
        self.partition_leader_epoch = partition_leader_epoch;
        self
    }

    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    pub fn timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.timestamp_type = timestamp_type;
        self
    }

    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Appends a record with the next offset. `headers` keep their order and duplicates.
    pub fn append(
        &mut self,
        timestamp_ms: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&[u8], Option<&[u8]>)],
    ) -> &mut Self {
        let base_timestamp = *self.base_timestamp.get_or_insert(timestamp_ms);
        self.max_timestamp = self.max_timestamp.max(timestamp_ms);
        let mut body = Vec::new();
        body.push(0); // attributes
        put_varlong(&mut body, timestamp_ms.wrapping_sub(base_timestamp));
        put_varlong(&mut body, i64::from(self.records_count));
        put_bytes(&mut body, key);
        put_bytes(&mut body, value);
        put_varlong(&mut body, headers.len() as i64);
        for (header_key, header_value) in headers {
            put_bytes(&mut body, Some(header_key));
            put_bytes(&mut body, *header_value);
        }
        put_varlong(&mut self.records, body.len() as i64);
        self.records.extend_from_slice(&body);
        self.records_count += 1;
        self
    }

    /// Records appended so far.
    pub fn len(&self) -> usize {
        self.records_count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.records_count == 0
    }

    /// The encoded batch, CRC included.
    pub fn build(&self) -> Result<Vec<u8>, BatchError> {
        assert!(!self.is_empty(), "a record batch needs at least one record");
        let records = compress_records(&self.records, self.compression)?;
        let mut attributes = i16::from(self.compression.id());
        if self.timestamp_type == TimestampType::LogAppendTime {
            attributes |= TIMESTAMP_TYPE_MASK;
        }
        if self.transactional {
            attributes |= TRANSACTIONAL_FLAG_MASK;
        }
        if self.control {
            attributes |= CONTROL_FLAG_MASK;
        }
        let batch_length = MIN_BATCH_LENGTH_BYTES as usize + records.len();
        let batch_length = i32::try_from(batch_length)
            .map_err(|_| BatchError::InvalidRecords(format!("batch of {batch_length} bytes")))?;
        let mut out = Vec::with_capacity(HEADER_SIZE_BYTES + records.len());
        out.extend_from_slice(&self.base_offset.to_be_bytes());
        out.extend_from_slice(&batch_length.to_be_bytes());
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(MAGIC_V2 as u8);
        out.extend_from_slice(&0u32.to_be_bytes()); // CRC, written below
        out.extend_from_slice(&attributes.to_be_bytes());
        out.extend_from_slice(&(self.records_count - 1).to_be_bytes());
        out.extend_from_slice(&self.base_timestamp.unwrap_or(NO_TIMESTAMP).to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&self.records_count.to_be_bytes());
        out.extend_from_slice(&records);
        BatchMut::new(&mut out)?.write_crc();
        Ok(out)
    }
}

/// One record of an uncompressed v2 records section, with its key, value and headers
/// borrowed as encoded: what a log cleaner needs to filter records and write the kept
/// ones back without a decode/re-encode round trip through `kafka_protocol` (whose
/// header map would collapse duplicate header keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// The record's attributes byte (unused by magic 2, kept as written).
    pub attributes: i8,
    /// Relative to the batch's `baseTimestamp`.
    pub timestamp_delta: i64,
    /// Relative to the batch's `baseOffset`.
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    /// `None` is a tombstone on a compacted topic.
    pub value: Option<&'a [u8]>,
    /// The headers count and the headers, exactly as encoded.
    pub headers: &'a [u8],
}

impl RawRecord<'_> {
    /// Appends the record, length prefix included, to a records section.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut body = Vec::with_capacity(
            16 + self.key.map_or(0, <[u8]>::len)
                + self.value.map_or(0, <[u8]>::len)
                + self.headers.len(),
        );
        body.push(self.attributes as u8);
        put_varlong(&mut body, self.timestamp_delta);
        put_varlong(&mut body, i64::from(self.offset_delta));
        put_bytes(&mut body, self.key);
        put_bytes(&mut body, self.value);
        body.extend_from_slice(self.headers);
        put_varlong(out, body.len() as i64);
        out.extend_from_slice(&body);
    }
}

impl VarintCursor<'_> {
    /// The range of a varint-length-prefixed nullable byte string ending by `end`.
    fn nullable_bytes(
        &mut self,
        index: i32,
        end: usize,
    ) -> Result<Option<std::ops::Range<usize>>, BatchError> {
        let length = self.varint(index)?;
        if length < 0 {
            return Ok(None);
        }
        let start = self.position;
        let stop = start + length as usize;
        if stop > end {
            return Err(self.invalid(index, "key or value past the end of the record"));
        }
        self.position = stop;
        Ok(Some(start..stop))
    }
}

/// Splits an uncompressed records section (see [`Batch::decompressed_records`]) into its
/// `count` records. Every record must lie within its length prefix and the section must
/// hold exactly `count` records.
pub fn raw_records(records: &[u8], count: i32) -> Result<Vec<RawRecord<'_>>, BatchError> {
    if count < 0 {
        return Err(BatchError::InvalidRecords(format!(
            "negative records count {count}"
        )));
    }
    let mut out = Vec::with_capacity((count as usize).min(records.len() / 7 + 1));
    let mut cursor = VarintCursor {
        buf: records,
        position: 0,
    };
    for index in 0..count {
        let length = cursor.varint(index)?;
        if length < 1 {
            return Err(cursor.invalid(index, "record length below 1"));
        }
        let end = cursor.position + length as usize;
        if end > records.len() {
            return Err(cursor.invalid(index, "record past the end of the records"));
        }
        let attributes = records[cursor.position] as i8;
        cursor.position += 1;
        let timestamp_delta = cursor.varlong(index)?;
        let offset_delta = cursor.varint(index)?;
        let key = cursor.nullable_bytes(index, end)?;
        let value = cursor.nullable_bytes(index, end)?;
        if cursor.position > end {
            return Err(cursor.invalid(index, "record fields overrun its length"));
        }
        out.push(RawRecord {
            attributes,
            timestamp_delta,
            offset_delta,
            key: key.map(|range| &records[range]),
            value: value.map(|range| &records[range]),
            headers: &records[cursor.position..end],
        });
        cursor.position = end;
    }
    if cursor.position != records.len() {
        return Err(BatchError::InvalidRecords(format!(
            "{} bytes after the last of {count} records",
            records.len() - cursor.position
        )));
    }
    Ok(out)
}

/// Writes the header of a batch whose records are replaced: base offset,
/// `lastOffsetDelta`, partition leader epoch, producer id/epoch/base sequence and the
/// attribute flags of `original`, with the given codec, timestamps, count and records.
fn write_rewritten_batch(
    original: &Batch<'_>,
    attributes: i16,
    base_timestamp: i64,
    max_timestamp: i64,
    records_count: i32,
    records: &[u8],
) -> Result<Vec<u8>, BatchError> {
    let batch_length = MIN_BATCH_LENGTH_BYTES as usize + records.len();
    let batch_length = i32::try_from(batch_length)
        .map_err(|_| BatchError::InvalidRecords(format!("batch of {batch_length} bytes")))?;
    let mut out = Vec::with_capacity(HEADER_SIZE_BYTES + records.len());
    out.extend_from_slice(&original.base_offset().to_be_bytes());
    out.extend_from_slice(&batch_length.to_be_bytes());
    out.extend_from_slice(&original.partition_leader_epoch().to_be_bytes());
    out.push(MAGIC_V2 as u8);
    out.extend_from_slice(&0u32.to_be_bytes()); // CRC, written below
    out.extend_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&original.last_offset_delta().to_be_bytes());
    out.extend_from_slice(&base_timestamp.to_be_bytes());
    out.extend_from_slice(&max_timestamp.to_be_bytes());
    out.extend_from_slice(&original.producer_id().to_be_bytes());
    out.extend_from_slice(&original.producer_epoch().to_be_bytes());
    out.extend_from_slice(&original.base_sequence().to_be_bytes());
    out.extend_from_slice(&records_count.to_be_bytes());
    out.extend_from_slice(records);
    BatchMut::new(&mut out)?.write_crc();
    Ok(out)
}

/// Kafka's `MemoryRecords.filterTo` output for a batch that keeps only some of its
/// records: the same base offset, `lastOffsetDelta`, producer id/epoch/base sequence,
/// partition leader epoch, attributes and codec, with `records` (taken from `original`,
/// in order, offset deltas unchanged, so offsets may now have gaps) recompressed.
///
/// `set_delete_horizon_ms` stamps a delete horizon (attributes bit 6) the way Kafka's
/// cleaner does on the first pass over a batch holding tombstones: `baseTimestamp`
/// becomes the horizon and every record's timestamp delta is rebased onto it, so record
/// timestamps read the same. A horizon already in `original` is kept. `maxTimestamp` is
/// recomputed from the kept records under CreateTime and kept under LogAppendTime.
pub fn rewrite_batch(
    original: &Batch<'_>,
    records: &[RawRecord<'_>],
    set_delete_horizon_ms: Option<i64>,
) -> Result<Vec<u8>, BatchError> {
    assert!(
        !records.is_empty(),
        "use empty_batch for a batch with no records"
    );
    let compression = original.compression()?;
    let original_base = original.base_timestamp();
    let (base_timestamp, mut attributes) = match set_delete_horizon_ms {
        Some(horizon) => (horizon, original.attributes() | DELETE_HORIZON_FLAG_MASK),
        None => (original_base, original.attributes()),
    };
    attributes = (attributes & !COMPRESSION_CODEC_MASK) | i16::from(compression.id());
    let mut max_timestamp = NO_TIMESTAMP;
    let mut section = Vec::new();
    for record in records {
        let timestamp = original_base.wrapping_add(record.timestamp_delta);
        max_timestamp = max_timestamp.max(timestamp);
        let rebased = RawRecord {
            timestamp_delta: timestamp.wrapping_sub(base_timestamp),
            ..*record
        };
        rebased.encode_into(&mut section);
    }
    if original.timestamp_type() == TimestampType::LogAppendTime {
        max_timestamp = original.max_timestamp();
    }
    let compressed = compress_records(&section, compression)?;
    write_rewritten_batch(
        original,
        attributes,
        base_timestamp,
        max_timestamp,
        records.len() as i32,
        &compressed,
    )
}

/// Kafka's `DefaultRecordBatch.writeEmptyHeader`: a batch with no records that keeps
/// `original`'s offsets (`baseOffset`, `lastOffsetDelta`), producer id/epoch/base
/// sequence, partition leader epoch and timestamp-type/transactional/control flags, with
/// no codec and both timestamps set to `original`'s `maxTimestamp`. A cleaner keeps one
/// to preserve a producer's last sequence or the last offset of a cleaned range.
pub fn empty_batch(original: &Batch<'_>) -> Vec<u8> {
    let flags = TIMESTAMP_TYPE_MASK | TRANSACTIONAL_FLAG_MASK | CONTROL_FLAG_MASK;
    let attributes = original.attributes() & flags;
    let max_timestamp = original.max_timestamp();
    match write_rewritten_batch(original, attributes, max_timestamp, max_timestamp, 0, &[]) {
        Ok(bytes) => bytes,
        // A 61-byte batch always fits an i32 length and is a complete batch.
        Err(e) => unreachable!("empty batch header: {e}"),
    }
}

/// A transaction marker (Kafka's `EndTransactionMarker`): the one record of a control
/// batch that ends a producer's transaction in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    /// COMMIT (control type 1) or ABORT (0).
    pub commit: bool,
    pub coordinator_epoch: i32,
}

const CONTROL_TYPE_ABORT: i16 = 0;
const CONTROL_TYPE_COMMIT: i16 = 1;

impl EndTxnMarker {
    /// The marker batch Kafka's `MemoryRecords.withEndTransactionMarker` writes: magic 2,
    /// uncompressed, transactional and control, base sequence -1, one record whose key is
    /// (version 0, type) and value (version 0, coordinator epoch), stamped `timestamp_ms`.
    pub fn batch(&self, producer_id: i64, producer_epoch: i16, timestamp_ms: i64) -> Vec<u8> {
        let kind = if self.commit {
            CONTROL_TYPE_COMMIT
        } else {
            CONTROL_TYPE_ABORT
        };
        let mut key = Vec::with_capacity(4);
        key.extend_from_slice(&0i16.to_be_bytes());
        key.extend_from_slice(&kind.to_be_bytes());
        let mut value = Vec::with_capacity(6);
        value.extend_from_slice(&0i16.to_be_bytes());
        value.extend_from_slice(&self.coordinator_epoch.to_be_bytes());
        let mut builder = BatchBuilder::new(0)
            .producer(producer_id, producer_epoch, NO_SEQUENCE)
            .transactional(true)
            .control(true);
        builder.append(timestamp_ms, Some(&key), Some(&value), &[]);
        builder
            .build()
            .expect("an uncompressed marker batch always encodes")
    }

    /// Reads the marker of a control batch: `None` for an empty control batch (the cleaner
    /// emptied it) or a control record of another type (KRaft's); `Err` for a malformed
    /// key or value.
    pub fn of(batch: &Batch<'_>) -> Result<Option<EndTxnMarker>, BatchError> {
        let section = batch.decompressed_records()?;
        let records = raw_records(&section, batch.records_count())?;
        let Some(record) = records.first() else {
            return Ok(None);
        };
        let key = record.key.unwrap_or(&[]);
        if key.len() < 4 || i16::from_be_bytes([key[0], key[1]]) < 0 {
            return Err(BatchError::InvalidRecords(format!(
                "invalid control record key of {} bytes",
                key.len()
            )));
        }
        let commit = match i16::from_be_bytes([key[2], key[3]]) {
            CONTROL_TYPE_COMMIT => true,
            CONTROL_TYPE_ABORT => false,
            _ => return Ok(None),
        };
        let value = record.value.unwrap_or(&[]);
        if value.len() < 6 || i16::from_be_bytes([value[0], value[1]]) < 0 {
            return Err(BatchError::InvalidRecords(format!(
                "invalid end transaction marker of {} bytes",
                value.len()
            )));
        }
        Ok(Some(EndTxnMarker {
            commit,
            coordinator_epoch: i32::from_be_bytes([value[2], value[3], value[4], value[5]]),
        }))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_end_txn_marker_batch_is_kafkas_78_bytes_and_reads_back() {
        for commit in [true, false] {
            let marker = EndTxnMarker {
                commit,
                coordinator_epoch: 7,
            };
            let bytes = marker.batch(42, 3, 1_700_000_000_000);
            assert_eq!(bytes.len(), 78);
            let batch = Batch::new(&bytes).unwrap();
            batch.verify_crc().unwrap();
            assert_eq!(batch.attributes(), 0x30);
            assert!(batch.is_control() && batch.is_transactional());
            assert_eq!((batch.producer_id(), batch.producer_epoch()), (42, 3));
            assert_eq!(batch.base_sequence(), NO_SEQUENCE);
            assert_eq!((batch.records_count(), batch.last_offset_delta()), (1, 0));
            assert_eq!(EndTxnMarker::of(&batch).unwrap(), Some(marker));
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn batch_with(base_offset: i64, timestamps: &[i64]) -> Vec<u8> {
        let mut builder = BatchBuilder::new(base_offset);
        for (i, ts) in timestamps.iter().enumerate() {
            let value = format!("value-{i}");
            builder.append(*ts, Some(b"key"), Some(value.as_bytes()), &[]);
        }
        builder.build().unwrap()
    }

    /// Re-encodes `batch` with its records section compressed by `records` (raw bytes).
    fn with_records_section(batch: &[u8], compression: Compression, records: &[u8]) -> Vec<u8> {
        let mut out = batch[..HEADER_SIZE_BYTES].to_vec();
        out.extend_from_slice(records);
        let batch_length = (out.len() - LOG_OVERHEAD_BYTES) as i32;
        out[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&batch_length.to_be_bytes());
        let attributes = (read_i16(&out, ATTRIBUTES_OFFSET) & !COMPRESSION_CODEC_MASK)
            | i16::from(compression.id());
        out[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
        BatchMut::new(&mut out).unwrap().write_crc();
        out
    }

    #[test]
    fn builder_writes_every_header_field() {
        let mut builder = BatchBuilder::new(42)
            .producer(7, 3, 100)
            .partition_leader_epoch(5)
            .transactional(true);
        builder.append(1_000, Some(b"a"), Some(b"1"), &[]);
        builder.append(900, None, Some(b"2"), &[]);
        builder.append(1_500, Some(b"c"), None, &[(b"h", Some(b"v"))]);
        let bytes = builder.build().unwrap();
        let batch = Batch::new(&bytes).unwrap();
        assert_eq!(batch.base_offset(), 42);
        assert_eq!(batch.size_bytes(), bytes.len());
        assert_eq!(batch.batch_length() as usize, bytes.len() - 12);
        assert_eq!(batch.partition_leader_epoch(), 5);
        assert_eq!(batch.magic(), 2);
        assert_eq!(batch.last_offset_delta(), 2);
        assert_eq!(batch.last_offset(), 44);
        assert_eq!(batch.next_offset(), 45);
        assert_eq!(batch.base_timestamp(), 1_000);
        assert_eq!(batch.max_timestamp(), 1_500);
        assert_eq!(batch.producer_id(), 7);
        assert_eq!(batch.producer_epoch(), 3);
        assert_eq!(batch.base_sequence(), 100);
        assert_eq!(batch.records_count(), 3);
        assert_eq!(batch.compression(), Ok(Compression::None));
        assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
        assert!(batch.is_transactional());
        assert!(!batch.is_control());
        assert!(!batch.has_delete_horizon());
        assert_eq!(batch.verify_crc(), Ok(()));
        let header = BatchHeader::parse(&bytes[..HEADER_SIZE_BYTES]).unwrap();
        assert_eq!(header, batch.header());
        assert_eq!(header.last_offset(), 44);
        assert_eq!(header.size_bytes(), bytes.len());
    }

    #[test]
    fn builder_output_decodes_with_kafka_protocol() {
        let mut builder = BatchBuilder::new(10);
        builder.append(5, Some(b"k1"), Some(b"v1"), &[(b"h1", Some(b"x"))]);
        builder.append(3, None, None, &[]);
        let bytes = builder.build().unwrap();
        let records = Batch::new(&bytes).unwrap().decode_records().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].offset, 10);
        assert_eq!(records[0].timestamp, 5);
        assert_eq!(records[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(records[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(records[0].headers.len(), 1);
        assert_eq!(records[1].offset, 11);
        assert_eq!(records[1].timestamp, 3);
        assert_eq!(records[1].key, None);
        assert_eq!(records[1].value, None);
    }

    #[test]
    fn kafka_protocol_encoded_batches_are_read_for_every_codec() {
        for compression in [
            kp::Compression::None,
            kp::Compression::Gzip,
            kp::Compression::Snappy,
            kp::Compression::Lz4,
            kp::Compression::Zstd,
        ] {
            let records: Vec<kp::Record> = (0..5)
                .map(|i| kp::Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 0,
                    producer_id: -1,
                    producer_epoch: -1,
                    timestamp_type: kp::TimestampType::Creation,
                    offset: 100 + i,
                    sequence: 100 + i as i32,
                    timestamp: 1_000 + 10 * i,
                    key: None,
                    value: Some(Bytes::from(vec![b'x'; 200])),
                    headers: Default::default(),
                })
                .collect();
            let mut buf = BytesMut::new();
            kp::RecordBatchEncoder::encode(
                &mut buf,
                records.iter(),
                &kp::RecordEncodeOptions {
                    version: 2,
                    compression,
                },
            )
            .unwrap();
            let all: Vec<_> = batches(&buf).collect::<Result<_, _>>().unwrap();
            assert_eq!(all.len(), 1, "{compression:?}");
            let batch = all[0];
            assert_eq!(
                batch.compression().unwrap().to_kafka_protocol(),
                compression
            );
            assert_eq!(batch.verify_crc(), Ok(()));
            assert_eq!(batch.base_offset(), 100);
            assert_eq!(batch.last_offset(), 104);
            assert_eq!(batch.max_timestamp(), 1_040);
            let timestamps = batch.record_timestamps().unwrap();
            let expected: Vec<_> = (0..5)
                .map(|i| RecordTimestamp {
                    offset: 100 + i,
                    timestamp_ms: 1_000 + 10 * i,
                })
                .collect();
            assert_eq!(timestamps, expected, "{compression:?}");
            assert_eq!(batch.decode_records().unwrap().len(), 5);
        }
    }

    /// Kafka's readers refuse these streams at produce time; so does the frame check.
    #[test]
    fn compression_frames_are_checked_as_kafka_reads_them() {
        for compression in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut builder = BatchBuilder::new(0).compression(compression);
            builder.append(0, Some(b"k"), Some(&[b'y'; 100]), &[]);
            let mut bytes = builder.build().unwrap();
            assert_eq!(
                Batch::new(&bytes).unwrap().check_compression_frame(),
                Ok(()),
                "{compression:?}"
            );
            // The records replaced by garbage of the same length (CRC recomputed).
            let records_start = bytes.len() - Batch::new(&bytes).unwrap().records_bytes().len();
            for b in &mut bytes[records_start..] {
                *b = b'x';
            }
            let crc = Batch::new(&bytes).unwrap().compute_crc();
            bytes[17..21].copy_from_slice(&crc.to_be_bytes());
            let checked = Batch::new(&bytes).unwrap().check_compression_frame();
            assert_eq!(
                checked.is_err(),
                compression != Compression::Snappy,
                "{checked:?}"
            );
        }
        // An LZ4 frame with dependent blocks (FLG 0x40: version 1, no B.Indep).
        let mut builder = BatchBuilder::new(0).compression(Compression::Lz4);
        builder.append(0, Some(b"k"), Some(b"v"), &[]);
        let mut bytes = builder.build().unwrap();
        let records_start = bytes.len() - Batch::new(&bytes).unwrap().records_bytes().len();
        bytes[records_start + 4] &= !0x20;
        let crc = Batch::new(&bytes).unwrap().compute_crc();
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let checked = Batch::new(&bytes).unwrap().check_compression_frame();
        assert!(
            matches!(&checked, Err(BatchError::InvalidRecords(why)) if why.contains("Dependent block stream is unsupported")),
            "{checked:?}"
        );
    }

    #[test]
    fn builder_compresses_with_every_codec() {
        for compression in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut builder = BatchBuilder::new(0).compression(compression);
            for i in 0..20 {
                builder.append(i, None, Some(&[b'y'; 100]), &[]);
            }
            let bytes = builder.build().unwrap();
            let batch = Batch::new(&bytes).unwrap();
            assert_eq!(batch.compression(), Ok(compression));
            assert!(bytes.len() < 20 * 100, "{compression:?} did not compress");
            let timestamps = batch.record_timestamps().unwrap();
            assert_eq!(timestamps.len(), 20);
            assert_eq!(
                timestamps[19],
                RecordTimestamp {
                    offset: 19,
                    timestamp_ms: 19
                }
            );
        }
    }

    #[test]
    fn snappy_is_read_in_xerial_plain_and_odd_version_framings() {
        let plain = batch_with(0, &[10, 20, 30]);
        let records = &plain[HEADER_SIZE_BYTES..];
        let xerial = compress_records(records, Compression::Snappy).unwrap();
        assert_eq!(&xerial[..16], XERIAL_HEADER);
        // One block: [u32 length][raw snappy]; the raw block is what librdkafka writes.
        let block_length = read_u32(&xerial, 16) as usize;
        assert_eq!(xerial.len(), 20 + block_length);
        let raw = &xerial[20..];
        let mut little_endian_versions = xerial.clone();
        little_endian_versions[8..16].copy_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
        let expected: Vec<_> = [10, 20, 30]
            .iter()
            .enumerate()
            .map(|(i, ts)| RecordTimestamp {
                offset: i as i64,
                timestamp_ms: *ts,
            })
            .collect();
        for section in [&xerial[..], raw, &little_endian_versions[..]] {
            let bytes = with_records_section(&plain, Compression::Snappy, section);
            let batch = Batch::new(&bytes).unwrap();
            assert_eq!(batch.record_timestamps().unwrap(), expected);
            assert_eq!(batch.decode_records().unwrap().len(), 3);
        }
    }

    #[test]
    fn set_log_append_time_rewrites_timestamps_and_keeps_crc_valid() {
        let mut bytes = batch_with(0, &[100, 300, 200]);
        let mut batch = BatchMut::new(&mut bytes).unwrap();
        batch.set_log_append_time(9_999);
        assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(batch.max_timestamp(), 9_999);
        assert_eq!(batch.base_timestamp(), 100);
        let batch = batch.as_batch();
        assert_eq!(batch.verify_crc(), Ok(()));
        let timestamps: Vec<i64> = batch
            .record_timestamps()
            .unwrap()
            .iter()
            .map(|r| r.timestamp_ms)
            .collect();
        assert_eq!(timestamps, vec![9_999; 3]);
        assert!(batch
            .decode_records()
            .unwrap()
            .iter()
            .all(|r| r.timestamp == 9_999));
    }

    #[test]
    fn base_offset_and_leader_epoch_are_outside_the_crc() {
        let mut bytes = batch_with(0, &[1, 2]);
        let crc = Batch::new(&bytes).unwrap().crc();
        let mut batch = BatchMut::new(&mut bytes).unwrap();
        batch.set_base_offset(1 << 40);
        batch.set_partition_leader_epoch(17);
        assert_eq!(batch.base_offset(), 1 << 40);
        assert_eq!(batch.partition_leader_epoch(), 17);
        assert_eq!(batch.crc(), crc);
        assert_eq!(batch.as_batch().verify_crc(), Ok(()));
        let offsets: Vec<i64> = batch
            .as_batch()
            .record_timestamps()
            .unwrap()
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(offsets, vec![1 << 40, (1 << 40) + 1]);
    }

    #[test]
    fn invalid_headers_are_told_apart_from_incomplete_ones() {
        let bytes = batch_with(0, &[1]);
        assert_eq!(
            Batch::new(&bytes[..5]),
            Err(BatchError::Incomplete { need: 61, have: 5 })
        );
        assert_eq!(
            Batch::new(&bytes[..30]),
            Err(BatchError::Incomplete {
                need: bytes.len(),
                have: 30
            })
        );
        let mut bad_magic = bytes.clone();
        bad_magic[MAGIC_OFFSET] = 1;
        assert_eq!(
            Batch::new(&bad_magic[..20]),
            Err(BatchError::InvalidMagic(1))
        );
        let mut bad_length = bytes.clone();
        bad_length[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&48i32.to_be_bytes());
        assert_eq!(Batch::new(&bad_length), Err(BatchError::InvalidLength(48)));
        let mut bad_codec = bytes.clone();
        bad_codec[ATTRIBUTES_OFFSET + 1] |= 0x07;
        assert_eq!(
            Batch::new(&bad_codec).unwrap().compression(),
            Err(BatchError::InvalidCompression(7))
        );
    }

    #[test]
    fn iterator_reports_garbage_after_valid_batches() {
        let mut buf = batch_with(0, &[1, 2]);
        buf.extend_from_slice(&batch_with(2, &[3]));
        let valid_len = buf.len();
        buf.extend_from_slice(&[0u8; 70]);
        let mut iter = batches(&buf);
        assert_eq!(iter.next().unwrap().unwrap().base_offset(), 0);
        assert_eq!(iter.next().unwrap().unwrap().base_offset(), 2);
        assert_eq!(iter.next(), Some(Err(BatchError::InvalidLength(0))));
        assert_eq!(iter.position(), valid_len);
        assert_eq!(iter.next(), None);
    }

    #[test]
    fn record_reader_rejects_records_past_the_section() {
        let mut bytes = batch_with(0, &[1, 2]);
        // Claim three records where there are two.
        bytes[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&3i32.to_be_bytes());
        BatchMut::new(&mut bytes).unwrap().write_crc();
        let err = Batch::new(&bytes).unwrap().record_timestamps().unwrap_err();
        assert!(matches!(err, BatchError::InvalidRecords(_)), "{err:?}");
    }

    /// (timestamp, key, value) of one test record.
    type TestRecord = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

    fn arb_batch() -> impl Strategy<Value = (i64, i32, i64, Vec<TestRecord>)> {
        (
            0i64..i64::MAX / 2,
            any::<i32>(),
            any::<i64>(),
            prop::collection::vec(
                (
                    0i64..1_000_000_000_000,
                    prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
                    prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
                ),
                1..20,
            ),
        )
    }

    proptest! {
        #[test]
        fn builder_round_trips_fields_and_records((base_offset, epoch, producer_id, records) in arb_batch()) {
            let mut builder = BatchBuilder::new(base_offset)
                .partition_leader_epoch(epoch)
                .producer(producer_id, 1, 0);
            for (ts, key, value) in &records {
                builder.append(*ts, key.as_deref(), value.as_deref(), &[]);
            }
            let bytes = builder.build().unwrap();
            let batch = Batch::new(&bytes).unwrap();
            prop_assert_eq!(batch.size_bytes(), bytes.len());
            prop_assert_eq!(batch.base_offset(), base_offset);
            prop_assert_eq!(batch.partition_leader_epoch(), epoch);
            prop_assert_eq!(batch.producer_id(), producer_id);
            prop_assert_eq!(batch.records_count() as usize, records.len());
            prop_assert_eq!(batch.last_offset(), base_offset + records.len() as i64 - 1);
            prop_assert_eq!(batch.max_timestamp(), records.iter().map(|r| r.0).max().unwrap());
            prop_assert_eq!(batch.verify_crc(), Ok(()));
            let timestamps = batch.record_timestamps().unwrap();
            let decoded = batch.decode_records().unwrap();
            for (i, (ts, key, value)) in records.iter().enumerate() {
                prop_assert_eq!(timestamps[i], RecordTimestamp { offset: base_offset + i as i64, timestamp_ms: *ts });
                prop_assert_eq!(decoded[i].key.as_deref(), key.as_deref());
                prop_assert_eq!(decoded[i].value.as_deref(), value.as_deref());
            }
        }

        #[test]
        fn crc_detects_any_flipped_bit_it_covers(
            timestamps in prop::collection::vec(0i64..1_000_000, 1..10),
            position_seed in any::<usize>(),
            bit in 0u8..8,
        ) {
            let mut bytes = batch_with(0, &timestamps);
            // The CRC field itself and everything after it.
            let position = CRC_OFFSET + position_seed % (bytes.len() - CRC_OFFSET);
            bytes[position] ^= 1 << bit;
            let batch = Batch::new(&bytes).unwrap();
            let corrupt = matches!(batch.verify_crc(), Err(BatchError::CorruptCrc { .. }));
            prop_assert!(corrupt);
        }

        #[test]
        fn set_log_append_time_always_leaves_a_valid_crc(
            timestamps in prop::collection::vec(any::<i64>(), 1..10),
            now in any::<i64>(),
        ) {
            let mut bytes = batch_with(3, &timestamps);
            let mut batch = BatchMut::new(&mut bytes).unwrap();
            batch.set_log_append_time(now);
            prop_assert_eq!(batch.as_batch().verify_crc(), Ok(()));
            prop_assert_eq!(batch.max_timestamp(), now);
            prop_assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
        }

        #[test]
        fn truncated_buffers_yield_complete_batches_then_incomplete(
            sizes in prop::collection::vec(1usize..6, 1..6),
            cut_seed in any::<usize>(),
        ) {
            let mut buf = Vec::new();
            let mut ends = Vec::new();
            let mut next_offset = 0;
            for size in &sizes {
                let timestamps: Vec<i64> = (0..*size as i64).collect();
                buf.extend_from_slice(&batch_with(next_offset, &timestamps));
                next_offset += *size as i64;
                ends.push(buf.len());
            }
            let cut = cut_seed % (buf.len() + 1);
            let truncated = &buf[..cut];
            let results: Vec<_> = batches(truncated).collect();
            let complete = ends.iter().filter(|end| **end <= cut).count();
            let oks = results.iter().filter(|r| r.is_ok()).count();
            prop_assert_eq!(oks, complete);
            let consumed = if complete == 0 { 0 } else { ends[complete - 1] };
            if consumed == cut {
                prop_assert_eq!(results.len(), complete);
            } else {
                prop_assert_eq!(results.len(), complete + 1);
                let is_incomplete = matches!(results[complete], Err(BatchError::Incomplete { .. }));
                prop_assert!(is_incomplete);
            }
        }
    }
}

#[cfg(test)]
mod rewrite_tests {
    use super::*;

    fn sample(compression: Compression) -> Vec<u8> {
        let mut builder = BatchBuilder::new(100)
            .producer(9, 2, 40)
            .partition_leader_epoch(3)
            .compression(compression);
        builder.append(
            1_000,
            Some(b"a"),
            Some(b"1"),
            &[(b"h", Some(b"x")), (b"h", None)],
        );
        builder.append(1_200, Some(b"b"), None, &[]);
        builder.append(900, None, Some(b"3"), &[]);
        builder.build().unwrap()
    }

    #[test]
    fn raw_records_reencode_byte_identical() {
        let bytes = sample(Compression::None);
        let batch = Batch::new(&bytes).unwrap();
        let section = batch.decompressed_records().unwrap();
        let records = raw_records(&section, batch.records_count()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].key, Some(&b"a"[..]));
        assert_eq!(records[1].value, None);
        assert_eq!(records[2].key, None);
        assert_eq!(records[2].offset_delta, 2);
        assert_eq!(records[2].timestamp_delta, -100);
        let mut out = Vec::new();
        for record in &records {
            record.encode_into(&mut out);
        }
        assert_eq!(out, &section[..]);
        assert!(raw_records(&section, 2).is_err());
        assert!(raw_records(&section[..section.len() - 1], 3).is_err());
    }

    #[test]
    fn rewrite_keeps_offsets_producer_and_codec_and_rebases_on_a_horizon() {
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let bytes = sample(compression);
            let batch = Batch::new(&bytes).unwrap();
            let section = batch.decompressed_records().unwrap();
            let records = raw_records(&section, batch.records_count()).unwrap();
            let kept = [records[1]];
            let out = rewrite_batch(&batch, &kept, Some(50_000)).unwrap();
            let rewritten = Batch::new(&out).unwrap();
            assert_eq!(rewritten.verify_crc(), Ok(()));
            assert_eq!(rewritten.base_offset(), 100);
            assert_eq!(rewritten.last_offset_delta(), 2);
            assert_eq!(rewritten.records_count(), 1);
            assert_eq!(rewritten.producer_id(), 9);
            assert_eq!(rewritten.producer_epoch(), 2);
            assert_eq!(rewritten.base_sequence(), 40);
            assert_eq!(rewritten.partition_leader_epoch(), 3);
            assert_eq!(rewritten.compression(), Ok(compression));
            assert!(rewritten.has_delete_horizon());
            assert_eq!(rewritten.base_timestamp(), 50_000);
            assert_eq!(rewritten.max_timestamp(), 1_200);
            let decoded = rewritten.decode_records().unwrap();
            assert_eq!(decoded.len(), 1);
            assert_eq!(decoded[0].offset, 101);
            assert_eq!(decoded[0].timestamp, 1_200);
            assert_eq!(decoded[0].key.as_deref(), Some(&b"b"[..]));
            assert_eq!(decoded[0].value, None);

            let plain = rewrite_batch(&batch, &[records[0], records[2]], None).unwrap();
            let plain = Batch::new(&plain).unwrap();
            assert!(!plain.has_delete_horizon());
            assert_eq!(plain.base_timestamp(), 1_000);
            assert_eq!(plain.max_timestamp(), 1_000);
            let offsets: Vec<i64> = plain
                .decode_records()
                .unwrap()
                .iter()
                .map(|r| r.offset)
                .collect();
            assert_eq!(offsets, vec![100, 102]);
        }
    }

    #[test]
    fn empty_batch_keeps_offsets_and_producer_state() {
        let bytes = sample(Compression::Gzip);
        let batch = Batch::new(&bytes).unwrap();
        let out = empty_batch(&batch);
        let empty = Batch::new(&out).unwrap();
        assert_eq!(out.len(), HEADER_SIZE_BYTES);
        assert_eq!(empty.verify_crc(), Ok(()));
        assert_eq!(empty.base_offset(), 100);
        assert_eq!(empty.last_offset(), 102);
        assert_eq!(empty.records_count(), 0);
        assert_eq!(empty.base_sequence(), 40);
        assert_eq!(empty.compression(), Ok(Compression::None));
        assert_eq!(empty.base_timestamp(), 1_200);
        assert!(empty.decode_records().unwrap().is_empty());
    }
}
