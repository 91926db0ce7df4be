//! `.snapshot` files: the producer-state snapshots beside a partition's segments, read
//! and printed as Kafka's `DumpLogSegments` does through `ProducerStateManager.readSnapshot`.
//!
//! On disk (Kafka's `ProducerSnapshot` schema, version 1, big-endian): version (int16),
//! CRC-32C (uint32) of every byte after it, an entry count (int32), then per producer its
//! id (int64), epoch (int16), last sequence (int32), last offset (int64), offset delta
//! (int32), timestamp (int64), coordinator epoch (int32) and the first offset of its open
//! transaction (int64, -1 for none). The broker's own reader is `rafka_log`'s; this one
//! keeps the file's entry order and fails with the words of Kafka's
//! `CorruptSnapshotException`, which the tool prints.

use rafka_log::decrement_sequence;

const SNAPSHOT_VERSION: i16 = 1;
/// version (2) + crc (4): the CRC covers everything after them.
const CRC_COVERS_FROM: usize = 6;

/// One producer's entry, with the fields Kafka's `ProducerStateEntry` is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SnapshotEntry {
    pub(super) producer_id: i64,
    pub(super) producer_epoch: i16,
    pub(super) last_sequence: i32,
    pub(super) last_offset: i64,
    pub(super) offset_delta: i32,
    pub(super) timestamp: i64,
    pub(super) coordinator_epoch: i32,
    pub(super) current_txn_first_offset: i64,
}

impl SnapshotEntry {
    /// The line `DumpLogSegments` prints: the producer, then its last batch when the entry
    /// has one (a last offset of -1 means none, and the line keeps its trailing space).
    pub(super) fn line(&self) -> String {
        let current_txn_first_offset = if self.current_txn_first_offset >= 0 {
            format!("OptionalLong[{}]", self.current_txn_first_offset)
        } else {
            "OptionalLong.empty".to_string()
        };
        let mut line = format!(
            "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: {current_txn_first_offset} lastTimestamp: {} ",
            self.producer_id, self.producer_epoch, self.coordinator_epoch, self.timestamp
        );
        if self.last_offset >= 0 {
            // Kafka's `BatchMetadata.firstSeq`: computed even from a last sequence of -1.
            let first_sequence = decrement_sequence(self.last_sequence, self.offset_delta);
            line.push_str(&format!(
                "firstSequence: {first_sequence} lastSequence: {} lastOffset: {} offsetDelta: {} timestamp: {}",
                self.last_sequence, self.last_offset, self.offset_delta, self.timestamp
            ));
        }
        line
    }
}

/// Reads a big-endian field as Kafka's `ByteBufferAccessor` does; running out of bytes is
/// Java's `BufferUnderflowException`, whose message is `null`.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let field = self
            .bytes
            .get(self.at..self.at + N)
            .ok_or_else(|| "null".to_string())?;
        self.at += N;
        let mut out = [0u8; N];
        out.copy_from_slice(field);
        Ok(out)
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn i16(&mut self) -> Result<i16, String> {
        self.take().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32, String> {
        self.take().map(i32::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.take().map(u32::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64, String> {
        self.take().map(i64::from_be_bytes)
    }
}

/// The entries of a snapshot in file order, or the message of the
/// `CorruptSnapshotException` Kafka's `readSnapshot` throws for these bytes. As there,
/// the schema is read before the CRC is checked, and bytes after the last entry are
/// covered by the CRC but otherwise ignored.
pub(super) fn read(bytes: &[u8]) -> Result<Vec<SnapshotEntry>, String> {
    let (stored_crc, entries) =
        read_schema(bytes).map_err(|why| format!("Snapshot failed schema validation: {why}"))?;
    let computed_crc = crc32c::crc32c(&bytes[CRC_COVERS_FROM..]);
    if stored_crc != computed_crc {
        return Err(format!(
            "Snapshot is corrupt (CRC is no longer valid). Stored crc: {stored_crc}. Computed crc: {computed_crc}"
        ));
    }
    Ok(entries)
}

fn read_schema(bytes: &[u8]) -> Result<(u32, Vec<SnapshotEntry>), String> {
    let mut reader = Reader { bytes, at: 0 };
    let version = reader.i16()?;
    if version != SNAPSHOT_VERSION {
        return Err(format!(
            "Snapshot contained an unknown file version {version}"
        ));
    }
    let crc = reader.u32()?;
    let count = reader.i32()?;
    if count < 0 {
        return Err("non-nullable field producerEntries was serialized as null".into());
    }
    // The generated reader's guard against a huge count: each entry takes at least a
    // byte, so a count above the bytes left cannot be real.
    if count as usize > reader.remaining() {
        return Err(format!(
            "Tried to allocate a collection of size {count}, but there are only {} bytes remaining.",
            reader.remaining()
        ));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        entries.push(SnapshotEntry {
            producer_id: reader.i64()?,
            producer_epoch: reader.i16()?,
            last_sequence: reader.i32()?,
            last_offset: reader.i64()?,
            offset_delta: reader.i32()?,
            timestamp: reader.i64()?,
            coordinator_epoch: reader.i32()?,
            current_txn_first_offset: reader.i64()?,
        });
    }
    Ok((crc, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(entries: &[SnapshotEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as i32).to_be_bytes());
        for e in entries {
            out.extend_from_slice(&e.producer_id.to_be_bytes());
            out.extend_from_slice(&e.producer_epoch.to_be_bytes());
            out.extend_from_slice(&e.last_sequence.to_be_bytes());
            out.extend_from_slice(&e.last_offset.to_be_bytes());
            out.extend_from_slice(&e.offset_delta.to_be_bytes());
            out.extend_from_slice(&e.timestamp.to_be_bytes());
            out.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            out.extend_from_slice(&e.current_txn_first_offset.to_be_bytes());
        }
        let crc = crc32c::crc32c(&out[CRC_COVERS_FROM..]);
        out[2..6].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn idempotent() -> SnapshotEntry {
        SnapshotEntry {
            producer_id: 1000,
            producer_epoch: 0,
            last_sequence: 9,
            last_offset: 42,
            offset_delta: 4,
            timestamp: 1_700_000_000_123,
            coordinator_epoch: -1,
            current_txn_first_offset: -1,
        }
    }

    #[test]
    fn entries_print_with_their_last_batch_in_file_order() {
        let open_txn = SnapshotEntry {
            producer_id: 7,
            producer_epoch: 3,
            coordinator_epoch: 2,
            current_txn_first_offset: 40,
            ..idempotent()
        };
        let entries = read(&encode(&[idempotent(), open_txn])).unwrap();
        let lines: Vec<String> = entries.iter().map(SnapshotEntry::line).collect();
        assert_eq!(
            lines,
            [
                "producerId: 1000 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1700000000123 firstSequence: 5 lastSequence: 9 lastOffset: 42 offsetDelta: 4 timestamp: 1700000000123",
                "producerId: 7 producerEpoch: 3 coordinatorEpoch: 2 currentTxnFirstOffset: OptionalLong[40] lastTimestamp: 1700000000123 firstSequence: 5 lastSequence: 9 lastOffset: 42 offsetDelta: 4 timestamp: 1700000000123",
            ]
        );
    }

    #[test]
    fn an_entry_without_a_batch_keeps_the_trailing_space() {
        let no_batch = SnapshotEntry {
            last_offset: -1,
            last_sequence: -1,
            offset_delta: 0,
            ..idempotent()
        };
        assert_eq!(
            no_batch.line(),
            "producerId: 1000 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1700000000123 "
        );
    }

    #[test]
    fn first_sequence_wraps_below_zero_as_kafka_computes_it() {
        let wrapped = SnapshotEntry {
            last_sequence: 1,
            offset_delta: 3,
            ..idempotent()
        };
        assert!(wrapped
            .line()
            .contains("firstSequence: 2147483646 lastSequence: 1 "));
        // Kafka decrements even the "no sequence" -1.
        let unsequenced = SnapshotEntry {
            last_sequence: -1,
            offset_delta: 0,
            ..idempotent()
        };
        assert!(unsequenced
            .line()
            .contains("firstSequence: 2147483647 lastSequence: -1 "));
    }

    #[test]
    fn an_empty_snapshot_has_no_entries() {
        assert_eq!(read(&encode(&[])).unwrap(), []);
    }

    #[test]
    fn corrupt_snapshots_fail_with_kafkas_messages() {
        let good = encode(&[idempotent()]);

        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let stored = u32::from_be_bytes([good[2], good[3], good[4], good[5]]);
        let computed = crc32c::crc32c(&flipped[CRC_COVERS_FROM..]);
        assert_eq!(
            read(&flipped).unwrap_err(),
            format!("Snapshot is corrupt (CRC is no longer valid). Stored crc: {stored}. Computed crc: {computed}")
        );

        let mut version_two = good.clone();
        version_two[1] = 2;
        assert_eq!(
            read(&version_two).unwrap_err(),
            "Snapshot failed schema validation: Snapshot contained an unknown file version 2"
        );

        assert_eq!(
            read(&good[..good.len() - 1]).unwrap_err(),
            "Snapshot failed schema validation: null"
        );
        assert_eq!(
            read(&[]).unwrap_err(),
            "Snapshot failed schema validation: null"
        );

        let mut too_many = good[..10].to_vec();
        too_many[6..10].copy_from_slice(&100i32.to_be_bytes());
        too_many.extend_from_slice(&[0; 46]);
        assert_eq!(
            read(&too_many).unwrap_err(),
            "Snapshot failed schema validation: Tried to allocate a collection of size 100, but there are only 46 bytes remaining."
        );

        let mut negative = good[..10].to_vec();
        negative[6..10].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            read(&negative).unwrap_err(),
            "Snapshot failed schema validation: non-nullable field producerEntries was serialized as null"
        );
    }

    #[test]
    fn bytes_after_the_entries_count_only_for_the_crc() {
        let mut trailing = encode(&[idempotent()]);
        trailing.push(0);
        assert!(read(&trailing)
            .unwrap_err()
            .starts_with("Snapshot is corrupt (CRC is no longer valid)."));
        let crc = crc32c::crc32c(&trailing[CRC_COVERS_FROM..]);
        trailing[2..6].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(read(&trailing).unwrap(), [idempotent()]);
    }
}
