//! `.txnindex` files: the aborted transactions of a segment, read and printed as Kafka's
//! `DumpLogSegments` does through `TransactionIndex.allAbortedTxns`.
//!
//! On disk (Kafka's `AbortedTxn`, 34 bytes an entry, big-endian): version (int16, 0),
//! producer id, first offset, last offset (the ABORT marker's) and the last stable offset
//! when it was aborted (int64 each). Kafka reads whole entries only (a torn tail is not
//! shown) and takes the version from the entry's first byte alone (`ByteBuffer.get(0)`),
//! so that byte is what is checked and printed here too.

const ENTRY_BYTES: usize = 34;
const CURRENT_VERSION: i8 = 0;

/// One aborted transaction as Kafka's `AbortedTxn` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AbortedTxnEntry {
    pub(super) version: i8,
    pub(super) producer_id: i64,
    pub(super) first_offset: i64,
    pub(super) last_offset: i64,
    pub(super) last_stable_offset: i64,
}

impl AbortedTxnEntry {
    pub(super) fn line(&self) -> String {
        format!(
            "version: {} producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
            self.version,
            self.producer_id,
            self.first_offset,
            self.last_offset,
            self.last_stable_offset
        )
    }
}

/// Every whole entry of the index, or the message of the `KafkaException` Kafka throws at
/// an entry of a newer version than it knows (before printing any: Kafka reads them all
/// first). `shown_path` is the file's absolute path, as in Kafka's message.
pub(super) fn read(bytes: &[u8], shown_path: &str) -> Result<Vec<AbortedTxnEntry>, String> {
    let i64_at = |raw: &[u8], at: usize| {
        let mut field = [0u8; 8];
        field.copy_from_slice(&raw[at..at + 8]);
        i64::from_be_bytes(field)
    };
    let mut entries = Vec::with_capacity(bytes.len() / ENTRY_BYTES);
    for raw in bytes.chunks_exact(ENTRY_BYTES) {
        let version = raw[0] as i8;
        if version > CURRENT_VERSION {
            return Err(format!(
                "Unexpected aborted transaction version {version} in transaction index {shown_path}, current version is {CURRENT_VERSION}"
            ));
        }
        entries.push(AbortedTxnEntry {
            version,
            producer_id: i64_at(raw, 2),
            first_offset: i64_at(raw, 10),
            last_offset: i64_at(raw, 18),
            last_stable_offset: i64_at(raw, 26),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: i16, producer_id: i64, first: i64, last: i64, lso: i64) -> Vec<u8> {
        let mut out = version.to_be_bytes().to_vec();
        for field in [producer_id, first, last, lso] {
            out.extend_from_slice(&field.to_be_bytes());
        }
        out
    }

    #[test]
    fn entries_print_as_kafka_prints_them() {
        let mut bytes = entry(0, 1000, 5, 9, 5);
        bytes.extend(entry(0, 1001, 12, 20, 10));
        let lines: Vec<String> = read(&bytes, "/d/0.txnindex")
            .unwrap()
            .iter()
            .map(AbortedTxnEntry::line)
            .collect();
        assert_eq!(
            lines,
            [
                "version: 0 producerId: 1000 firstOffset: 5 lastOffset: 9 lastStableOffset: 5",
                "version: 0 producerId: 1001 firstOffset: 12 lastOffset: 20 lastStableOffset: 10",
            ]
        );
    }

    #[test]
    fn a_torn_entry_at_the_end_is_not_shown() {
        let mut bytes = entry(0, 1000, 5, 9, 5);
        bytes.extend(&entry(0, 1001, 12, 20, 10)[..20]);
        assert_eq!(read(&bytes, "/d/0.txnindex").unwrap().len(), 1);
        assert_eq!(read(&[], "/d/0.txnindex").unwrap(), []);
    }

    #[test]
    fn the_version_is_the_first_byte_as_kafka_reads_it() {
        // 0x0001 is version 0 to Kafka (it reads one byte); 0xff00 is -1, printed as is.
        let mut bytes = entry(1, 7, 1, 2, 1);
        bytes.extend(entry(-256, 8, 3, 4, 3));
        let entries = read(&bytes, "/d/0.txnindex").unwrap();
        assert_eq!(entries[0].version, 0);
        assert!(entries[1].line().starts_with("version: -1 producerId: 8 "));

        let mut newer = entry(0, 1000, 5, 9, 5);
        newer.extend(entry(0x0100, 1001, 12, 20, 10));
        assert_eq!(
            read(&newer, "/d/0.txnindex").unwrap_err(),
            "Unexpected aborted transaction version 1 in transaction index /d/0.txnindex, current version is 0"
        );
    }
}
