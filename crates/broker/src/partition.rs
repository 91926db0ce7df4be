//! One partition this broker hosts: its log, and a signal that fetchers waiting for data
//! (long polls) listen on.
//!
//! Single node for now: this broker is the only replica, so the high watermark is the log
//! end offset. The ISR machinery of issue 5 slots in here.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use rafka_log::{AppendInfo, Log, LogConfig, LogError, ReadResult};
use rafka_types::Offset;
use tokio::sync::watch;

/// Thread-safety: the log is behind a mutex held only for the duration of one append or
/// one index lookup; reads of the returned file slices happen outside it.
#[derive(Debug)]
pub struct Partition {
    pub topic: Arc<str>,
    pub index: i32,
    log: Mutex<Log>,
    /// The high watermark, published after every append so long polls wake up.
    high_watermark: watch::Sender<i64>,
}

impl Partition {
    pub fn new(topic: Arc<str>, index: i32, log: Log) -> Partition {
        let (high_watermark, _) = watch::channel(log.log_end_offset().0);
        Partition {
            topic,
            index,
            log: Mutex::new(log),
            high_watermark,
        }
    }

    pub fn append(&self, records: &[u8]) -> Result<AppendInfo, LogError> {
        let mut log = self.log.lock();
        let info = log.append_as_leader(records)?;
        let end = log.log_end_offset().0;
        drop(log);
        self.high_watermark.send_replace(end);
        Ok(info)
    }

    /// Reads whole batches from `offset` up to the high watermark.
    pub fn read(
        &self,
        offset: Offset,
        max_bytes: u64,
        min_one_batch: bool,
    ) -> Result<ReadResult, LogError> {
        let log = self.log.lock();
        let upper = log.log_end_offset();
        log.read(offset, max_bytes, upper, min_one_batch)
    }

    pub fn high_watermark(&self) -> i64 {
        *self.high_watermark.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.high_watermark.subscribe()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log.lock().log_start_offset().0
    }

    pub fn size_bytes(&self) -> u64 {
        self.log.lock().size_bytes()
    }

    pub fn recovery_point(&self) -> i64 {
        self.log.lock().recovery_point().0
    }

    pub fn dir(&self) -> PathBuf {
        self.log.lock().dir().to_path_buf()
    }

    /// Runs `f` with the log locked, for the rarer operations (retention, ListOffsets by
    /// timestamp, DeleteRecords, config changes).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut Log) -> R) -> R {
        let mut log = self.log.lock();
        let result = f(&mut log);
        let end = log.log_end_offset().0;
        drop(log);
        self.high_watermark.send_if_modified(|hw| {
            let changed = *hw != end;
            *hw = end;
            changed
        });
        result
    }

    pub fn update_config(&self, config: LogConfig) {
        self.log.lock().update_config(config);
    }
}
