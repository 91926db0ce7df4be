//! The transaction coordinator, Kafka's `TransactionCoordinator`: each transactional id's
//! producer id, epoch and state, kept as records of
//! `__transaction_state` (id → partition by Kafka's hash; the partition's leader
//! coordinates it, its leader epoch is the coordinator epoch) and replayed when this broker
//! comes to lead a partition.
//!
//! Every change is one record, applied to memory only once the ISR has it: a transition is
//! first marked pending (concurrent requests get CONCURRENT_TRANSACTIONS), written, then
//! completed. EndTxn answers once PrepareCommit/PrepareAbort is written; the markers then
//! go to every partition of the transaction (retried until written, or their partition is
//! gone) and CompleteCommit/CompleteAbort is written last.
//!
//! Transactions V2 (KIP-890 part 2, `transaction.version` 2 finalized and a client that
//! sends EndTxn v5): every EndTxn bumps the epoch, the markers carry the bumped epoch and
//! the client gets it back; when the epochs run out, the markers carry the last one and
//! the client gets a new producer id at epoch 0. Which protocol a transaction speaks is
//! kept in its record (ClientTransactionVersion), so a V1 client (EndTxn < v5) keeps V1's
//! rules whatever the cluster finalized.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rafka_config::transaction::TransactionConfig;
use rafka_protocol::batch::BatchBuilder;
use rafka_protocol::ErrorCode;
use rafka_types::SharedClock;

use super::records::{self, TxnLogValue, TxnState};
use super::version::TransactionVersion;
use crate::{append_error, CoordinatorLog};

pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// Kafka's `RecordBatch.NO_PRODUCER_EPOCH`.
const NO_EPOCH: i16 = -1;
/// Kafka's `RecordBatch.NO_PRODUCER_ID`.
const NO_PRODUCER_ID: i64 = -1;
/// A transactional id's epoch may go up to here; the next bump takes a new producer id
/// (Kafka keeps `Short.MAX_VALUE` for fencing).
const MAX_EPOCH: i16 = i16::MAX - 1;
/// Between rounds of markers that could not all be written yet.
const MARKER_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Expiry's tombstones go in batches of keys up to this size, well under any
/// `max.message.bytes` (Kafka fills batches up to the topic's limit).
const TOMBSTONE_BATCH_BYTES: usize = 256 * 1024;
/// How long expiry waits for its tombstones to count.
const TOMBSTONE_TIMEOUT: Duration = Duration::from_secs(30);

/// One partition of a transaction: (topic, partition).
pub type TopicPartition = (String, i32);

/// Each partition's outcome of a round of markers.
pub type MarkerResults = Vec<(TopicPartition, Result<(), ErrorCode>)>;
pub type MarkerFuture = Pin<Box<dyn Future<Output = MarkerResults> + Send>>;
pub type ProducerIdFuture = Pin<Box<dyn Future<Output = Result<i64, ErrorCode>> + Send>>;

/// What the transaction coordinator needs of the broker besides its own topic's
/// partitions: their leader epochs, and a way to write markers to any partition's leader.
pub trait TxnEnv: CoordinatorLog {
    /// The leader epoch of a partition this broker leads (the coordinator epoch of a
    /// `__transaction_state` partition).
    fn leader_epoch(&self, topic: &str, partition: i32) -> Option<i32>;

    /// Writes WriteTxnMarkers' markers to `partitions` through their leaders. Per
    /// partition: `Ok`; UNKNOWN_TOPIC_OR_PARTITION only when the partition no longer
    /// exists (the marker is not needed); INVALID_PRODUCER_EPOCH /
    /// TRANSACTION_COORDINATOR_FENCED when this coordinator is a zombie; any other error
    /// is retried.
    fn write_markers(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        partitions: Vec<TopicPartition>,
    ) -> MarkerFuture;

    /// A producer id never handed out before (the cluster's producer-id blocks), for a
    /// transactions-V2 EndTxn that exhausts its producer's epochs.
    fn new_producer_id(&self) -> ProducerIdFuture;
}

/// One transactional id's state (Kafka's `TransactionMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last transition (recognises a retried V2 EndTxn that
    /// rotated the producer id).
    pub previous_producer_id: i64,
    /// Set between a V2 PrepareCommit/PrepareAbort that exhausted the epochs and its
    /// Complete record, which makes it the producer id (-1 otherwise).
    pub next_producer_id: i64,
    /// The epoch before the last bump, to recognise a retried InitProducerId.
    pub last_producer_epoch: i16,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    /// When the open transaction began (-1: none).
    pub start_ms: i64,
    pub last_update_ms: i64,
    /// The protocol the client of the last transition speaks.
    pub client_version: TransactionVersion,
    /// A transition being written; other requests get CONCURRENT_TRANSACTIONS.
    pending: Option<TxnState>,
}

impl TxnMetadata {
    fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now_ms: i64) -> TxnMetadata {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            last_producer_epoch: NO_EPOCH,
            producer_epoch: NO_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            client_version: TransactionVersion::TV_0,
            pending: None,
        }
    }

    fn from_record(transactional_id: String, value: TxnLogValue) -> TxnMetadata {
        TxnMetadata {
            transactional_id,
            producer_id: value.producer_id,
            previous_producer_id: value.previous_producer_id,
            next_producer_id: value.next_producer_id,
            last_producer_epoch: NO_EPOCH,
            producer_epoch: value.producer_epoch,
            timeout_ms: value.timeout_ms,
            state: value.state,
            partitions: value
                .partitions
                .into_iter()
                .flat_map(|(topic, ids)| ids.into_iter().map(move |p| (topic.clone(), p)))
                .collect(),
            start_ms: value.start_ms,
            last_update_ms: value.last_update_ms,
            client_version: TransactionVersion(value.client_transaction_version),
            pending: None,
        }
    }

    fn to_record(&self) -> TxnLogValue {
        let mut by_topic: Vec<(String, Vec<i32>)> = Vec::new();
        for (topic, partition) in &self.partitions {
            match by_topic.last_mut() {
                Some((t, ids)) if t == topic => ids.push(*partition),
                _ => by_topic.push((topic.clone(), vec![*partition])),
            }
        }
        TxnLogValue {
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            timeout_ms: self.timeout_ms,
            state: self.state,
            partitions: by_topic,
            last_update_ms: self.last_update_ms,
            start_ms: self.start_ms,
            previous_producer_id: self.previous_producer_id,
            next_producer_id: self.next_producer_id,
            client_transaction_version: self.client_version.0,
        }
    }

    /// The producer id and epoch the client has once this transaction's markers are
    /// written: a V2 transaction that exhausted its epochs hands over its next producer id.
    fn completed_producer(&self) -> (i64, i16) {
        if self.client_version.supports_epoch_bump() && self.next_producer_id != NO_PRODUCER_ID {
            (self.next_producer_id, 0)
        } else {
            (self.producer_id, self.producer_epoch)
        }
    }
}

/// What EndTxn found under the transactional id's lock.
enum EndTxnStep {
    /// Answered without a write (a retry).
    Answer((i64, i16)),
    /// V2 ran out of epochs: take a new producer id, then look again.
    NeedProducerId,
    /// Write this PrepareCommit/PrepareAbort.
    Prepare(TxnMetadata),
}

/// A transactional id's entry: its metadata behind its own lock.
type Entry = Arc<Mutex<TxnMetadata>>;

/// The transaction coordinator of the `__transaction_state` partitions this broker leads.
#[derive(Debug)]
pub struct TransactionCoordinator {
    pub config: TransactionConfig,
    clock: SharedClock,
    /// Loaded partitions: partition → the coordinator epoch they were loaded at.
    loaded: Mutex<HashMap<i32, i32>>,
    txns: Mutex<HashMap<String, Entry>>,
}

impl TransactionCoordinator {
    pub fn new(config: TransactionConfig, clock: SharedClock) -> TransactionCoordinator {
        TransactionCoordinator {
            config,
            clock,
            loaded: Mutex::new(HashMap::new()),
            txns: Mutex::new(HashMap::new()),
        }
    }

    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        crate::partition_for(transactional_id, self.config.partitions)
    }

    /// The cluster's finalized `transaction.version`.
    pub fn finalized_version(&self) -> TransactionVersion {
        TransactionVersion(self.config.finalized_version)
    }

    /// The protocol a request's client speaks, as far as the cluster allows: below a
    /// finalized 2 every client is held to V1.
    fn client_version(&self, requested: TransactionVersion) -> TransactionVersion {
        if self.finalized_version().supports_epoch_bump() {
            requested
        } else {
            TransactionVersion::TV_0
        }
    }

    /// The partition and coordinator epoch of `transactional_id`, loading the partition
    /// first when this broker has just come to lead it: NOT_COORDINATOR when another
    /// broker does.
    fn owner(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
    ) -> Result<(i32, i32), ErrorCode> {
        let partition = self.partition_for(transactional_id);
        if !env.is_leader(TRANSACTION_STATE_TOPIC, partition) {
            return Err(ErrorCode::NotCoordinator);
        }
        let epoch = env
            .leader_epoch(TRANSACTION_STATE_TOPIC, partition)
            .ok_or(ErrorCode::NotCoordinator)?;
        if self.loaded.lock().get(&partition) != Some(&epoch) {
            self.load_partition(env, partition);
        }
        Ok((partition, epoch))
    }

    /// The partition, coordinator epoch and entry of a transactional id the APIs after
    /// InitProducerId name: INVALID_REQUEST for an empty id, INVALID_PRODUCER_ID_MAPPING
    /// for one never initialized.
    fn existing(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
    ) -> Result<(i32, i32, Entry), ErrorCode> {
        if transactional_id.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        let (partition, coordinator_epoch) = self.owner(env, transactional_id)?;
        let entry = self
            .entry(transactional_id)
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        Ok((partition, coordinator_epoch, entry))
    }

    fn entry(&self, transactional_id: &str) -> Option<Entry> {
        self.txns.lock().get(transactional_id).cloned()
    }

    /// Replays one partition of `__transaction_state` (this broker now leads it at its
    /// current leader epoch), then finishes the transactions it left in PrepareCommit or
    /// PrepareAbort by sending their markers again.
    pub fn load_partition(self: &Arc<Self>, env: &Arc<dyn TxnEnv>, partition: i32) {
        let Some(epoch) = env.leader_epoch(TRANSACTION_STATE_TOPIC, partition) else {
            return;
        };
        let mut found: HashMap<String, Option<TxnLogValue>> = HashMap::new();
        crate::replay_records(env.as_ref(), TRANSACTION_STATE_TOPIC, partition, |record| {
            let Some(key) = record.key else { return };
            let id = match records::decode_key(&key) {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!("skipping a {TRANSACTION_STATE_TOPIC} record: {e}");
                    return;
                }
            };
            let value = match record.value.as_deref().map(records::decode_value) {
                None => None,
                Some(Ok(value)) => Some(value),
                Some(Err(e)) => {
                    tracing::error!("unreadable state of transactional id {id}: {e}");
                    return;
                }
            };
            found.insert(id, value);
        });
        let mut unfinished = Vec::new();
        {
            let mut txns = self.txns.lock();
            txns.retain(|id, _| self.partition_for(id) != partition);
            for (id, value) in found {
                let Some(value) = value else { continue };
                let mut metadata = TxnMetadata::from_record(id.clone(), value);
                if let Some(complete) = completion_of(metadata.state) {
                    metadata.pending = Some(complete);
                    unfinished.push(id.clone());
                }
                txns.insert(id, Arc::new(Mutex::new(metadata)));
            }
            self.loaded.lock().insert(partition, epoch);
        }
        tracing::info!(
            "loaded {TRANSACTION_STATE_TOPIC}-{partition} at coordinator epoch {epoch}; {} transaction(s) to complete",
            unfinished.len()
        );
        for id in unfinished {
            self.spawn_markers(env, &id, partition, epoch);
        }
    }

    /// Loads the partitions this broker has come to lead (or leads at a new epoch) and
    /// forgets those it no longer leads; called every second, so a new coordinator
    /// finishes its predecessor's prepared transactions without waiting for a request.
    pub fn follow_leaderships(self: &Arc<Self>, env: &Arc<dyn TxnEnv>) {
        for partition in 0..self.config.partitions {
            let epoch = env.leader_epoch(TRANSACTION_STATE_TOPIC, partition);
            let loaded = self.loaded.lock().get(&partition).copied();
            match (epoch, loaded) {
                (Some(epoch), loaded) if loaded != Some(epoch) => {
                    self.load_partition(env, partition);
                }
                (None, Some(_)) => {
                    self.loaded.lock().remove(&partition);
                    self.txns
                        .lock()
                        .retain(|id, _| self.partition_for(id) != partition);
                }
                _ => {}
            }
        }
    }

    /// InitProducerId with a transactional id (Kafka's `handleInitProducerId`): a new
    /// producer id (`fresh_producer_id`, taken by the caller) or the next epoch of the
    /// current one; an open transaction is aborted first (fencing its producer) and the
    /// caller retries on CONCURRENT_TRANSACTIONS.
    pub async fn init_producer_id(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        fresh_producer_id: i64,
    ) -> Result<(i64, i16), ErrorCode> {
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return Err(ErrorCode::InvalidTransactionTimeout);
        }
        let (partition, coordinator_epoch) = self.owner(env, transactional_id)?;
        let now_ms = self.clock.now_ms();
        let entry = self
            .txns
            .lock()
            .entry(transactional_id.to_string())
            .or_insert_with(|| {
                Arc::new(Mutex::new(TxnMetadata::new(
                    transactional_id,
                    fresh_producer_id,
                    timeout_ms,
                    now_ms,
                )))
            })
            .clone();
        let (next, fence) = {
            let mut txn = entry.lock();
            if txn.pending.is_some() {
                return Err(ErrorCode::ConcurrentTransactions);
            }
            if let Some((pid, _)) = expected {
                if txn.producer_epoch != NO_EPOCH && pid != txn.producer_id {
                    return Err(ErrorCode::ProducerFenced);
                }
            }
            match txn.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => {
                    return Err(ErrorCode::ConcurrentTransactions)
                }
                TxnState::Ongoing => {
                    // Fence the producer: abort its transaction at the next epoch.
                    txn.pending = Some(TxnState::PrepareAbort);
                    (fenced_abort(&txn, now_ms), true)
                }
                _ => {
                    let mut next = txn.clone();
                    match expected {
                        Some((_, epoch))
                            if txn.producer_epoch != NO_EPOCH
                                && epoch != txn.producer_epoch
                                && epoch == txn.last_producer_epoch =>
                        {
                            // A retry of the bump that already happened: same answer.
                            return Ok((txn.producer_id, txn.producer_epoch));
                        }
                        Some((_, epoch))
                            if txn.producer_epoch != NO_EPOCH && epoch != txn.producer_epoch =>
                        {
                            return Err(ErrorCode::ProducerFenced);
                        }
                        _ => {}
                    }
                    if txn.producer_epoch >= MAX_EPOCH {
                        next.producer_id = fresh_producer_id;
                        next.producer_epoch = 0;
                        next.last_producer_epoch = NO_EPOCH;
                    } else {
                        next.producer_epoch = txn.producer_epoch + 1;
                        next.last_producer_epoch = if expected.is_some() {
                            txn.producer_epoch
                        } else {
                            NO_EPOCH
                        };
                    }
                    next.timeout_ms = timeout_ms;
                    next.next_producer_id = NO_PRODUCER_ID;
                    next.client_version = TransactionVersion::TV_0;
                    next.state = TxnState::Empty;
                    next.partitions.clear();
                    next.start_ms = -1;
                    next.last_update_ms = now_ms;
                    txn.pending = Some(TxnState::Empty);
                    (next, false)
                }
            }
        };
        self.write(env, &entry, partition, coordinator_epoch, next.clone())
            .await?;
        if fence {
            self.spawn_markers(env, transactional_id, partition, coordinator_epoch);
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok((next.producer_id, next.producer_epoch))
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the partitions join the producer's
    /// transaction (starting one if none is open). `version` is the client's protocol:
    /// V2 when a partition leader or the group coordinator adds for a V2 client.
    pub async fn add_partitions(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
        version: TransactionVersion,
    ) -> Result<(), ErrorCode> {
        let (partition, coordinator_epoch, entry) = self.existing(env, transactional_id)?;
        let next = {
            let mut txn = entry.lock();
            check_producer(&txn, producer_id, producer_epoch)?;
            if txn.pending.is_some()
                || matches!(txn.state, TxnState::PrepareCommit | TxnState::PrepareAbort)
            {
                return Err(ErrorCode::ConcurrentTransactions);
            }
            if txn.state == TxnState::Ongoing
                && partitions.iter().all(|p| txn.partitions.contains(p))
            {
                return Ok(());
            }
            let now_ms = self.clock.now_ms();
            let mut next = txn.clone();
            if txn.state != TxnState::Ongoing {
                next.partitions.clear();
                next.start_ms = now_ms;
            }
            next.partitions.extend(partitions.iter().cloned());
            next.state = TxnState::Ongoing;
            next.last_update_ms = now_ms;
            next.client_version = self.client_version(version);
            txn.pending = Some(TxnState::Ongoing);
            next
        };
        self.write(env, &entry, partition, coordinator_epoch, next)
            .await
    }

    /// AddPartitionsToTxn v4+ with `verify_only` (a partition leader checking a
    /// transactional produce): each partition is NONE when it is in the open transaction,
    /// TRANSACTION_ABORTABLE when not.
    pub fn verify_partitions(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, Option<ErrorCode>)>, ErrorCode> {
        let (_, _, entry) = self.existing(env, transactional_id)?;
        let txn = entry.lock();
        check_producer(&txn, producer_id, producer_epoch)?;
        if matches!(txn.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok(partitions
            .iter()
            .map(|p| {
                let added = txn.state == TxnState::Ongoing && txn.partitions.contains(p);
                (
                    p.clone(),
                    (!added).then_some(ErrorCode::TransactionAbortable),
                )
            })
            .collect())
    }

    /// EndTxn: PrepareCommit or PrepareAbort is written and answered; the markers and
    /// the CompleteCommit/CompleteAbort follow in the background. Answers the producer id
    /// and epoch the client goes on with (EndTxn v5): under V2 the bumped epoch, or a new
    /// producer id at epoch 0 once the epochs ran out; under V1 the unchanged ones.
    pub async fn end_txn(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        version: TransactionVersion,
    ) -> Result<(i64, i16), ErrorCode> {
        let version = self.client_version(version);
        let (partition, coordinator_epoch, entry) = self.existing(env, transactional_id)?;
        let mut fresh_producer_id = None;
        loop {
            let step = {
                let mut txn = entry.lock();
                let step = self.end_txn_step(
                    &txn,
                    producer_id,
                    producer_epoch,
                    commit,
                    version,
                    fresh_producer_id,
                )?;
                if let EndTxnStep::Prepare(next) = &step {
                    txn.pending = Some(next.state);
                }
                step
            };
            match step {
                EndTxnStep::Answer(answer) => return Ok(answer),
                // Taken outside the lock (it may ask the controller), then checked again.
                EndTxnStep::NeedProducerId => {
                    fresh_producer_id = Some(env.new_producer_id().await?);
                }
                EndTxnStep::Prepare(next) => {
                    let answer = next.completed_producer();
                    self.write(env, &entry, partition, coordinator_epoch, next)
                        .await?;
                    self.spawn_markers(env, transactional_id, partition, coordinator_epoch);
                    return Ok(answer);
                }
            }
        }
    }

    /// Kafka's `endTransaction` checks, in its order. Under V2 (the transaction's last
    /// client spoke V2) an EndTxn at the transaction's epoch is the next one, and a retry
    /// of one that went through names the epoch before the bump (or, after a rotation,
    /// the previous producer id at the last epoch).
    fn end_txn_step(
        &self,
        txn: &TxnMetadata,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        version: TransactionVersion,
        fresh_producer_id: Option<i64>,
    ) -> Result<EndTxnStep, ErrorCode> {
        let v2 = txn.client_version.supports_epoch_bump();
        let retry_on_overflow = v2
            && txn.previous_producer_id == producer_id
            && producer_epoch == MAX_EPOCH
            && txn.producer_epoch == 0;
        let retry_on_bump = v2 && i32::from(txn.producer_epoch) == i32::from(producer_epoch) + 1;
        let valid_epoch = if v2 {
            match txn.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
                TxnState::CompleteCommit | TxnState::CompleteAbort => {
                    retry_on_bump || retry_on_overflow
                }
                _ => producer_epoch == txn.producer_epoch,
            }
        } else {
            producer_epoch == txn.producer_epoch
        };
        if txn.producer_id != producer_id && !retry_on_overflow {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if !valid_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if txn.pending.is_some() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        let (same, preparing) = if commit {
            (TxnState::CompleteCommit, TxnState::PrepareCommit)
        } else {
            (TxnState::CompleteAbort, TxnState::PrepareAbort)
        };
        match txn.state {
            TxnState::Ongoing => {}
            // A retry of an EndTxn that went through.
            s if s == same => return Ok(EndTxnStep::Answer((txn.producer_id, txn.producer_epoch))),
            s if s == preparing => return Err(ErrorCode::ConcurrentTransactions),
            _ => return Err(ErrorCode::InvalidTxnState),
        }
        let mut next = txn.clone();
        next.state = preparing;
        next.last_update_ms = self.clock.now_ms();
        next.client_version = version;
        if version.supports_epoch_bump() {
            if txn.producer_epoch >= MAX_EPOCH {
                let Some(fresh) = fresh_producer_id else {
                    return Ok(EndTxnStep::NeedProducerId);
                };
                next.next_producer_id = fresh;
            }
            // At most i16::MAX: an epoch of MAX_EPOCH or more rotates the producer id.
            next.producer_epoch = txn.producer_epoch + 1;
            next.last_producer_epoch = txn.producer_epoch;
        }
        Ok(EndTxnStep::Prepare(next))
    }

    /// Aborts the open transactions older than their timeout, fencing their producers
    /// (Kafka's `abortTimedOutTransactions`); called every
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
    pub async fn abort_timed_out(self: &Arc<Self>, env: &Arc<dyn TxnEnv>) {
        let now_ms = self.clock.now_ms();
        let entries: Vec<Entry> = self.txns.lock().values().cloned().collect();
        for entry in entries {
            let (id, next) = {
                let mut txn = entry.lock();
                let timed_out = txn.state == TxnState::Ongoing
                    && txn.pending.is_none()
                    && txn.start_ms + i64::from(txn.timeout_ms) < now_ms;
                if !timed_out {
                    continue;
                }
                txn.pending = Some(TxnState::PrepareAbort);
                (txn.transactional_id.clone(), fenced_abort(&txn, now_ms))
            };
            tracing::info!(
                "aborting the transaction of {id} (producer {}): older than its timeout of {} ms",
                next.producer_id,
                next.timeout_ms
            );
            let (partition, coordinator_epoch) = match self.owner(env, &id) {
                Ok(owner) => owner,
                Err(_) => {
                    entry.lock().pending = None;
                    continue;
                }
            };
            match self
                .write(env, &entry, partition, coordinator_epoch, next)
                .await
            {
                Ok(()) => self.spawn_markers(env, &id, partition, coordinator_epoch),
                Err(e) => tracing::debug!("cannot abort the timed-out transaction of {id}: {e:?}"),
            }
        }
    }

    /// Forgets the transactional ids idle for `transactional.id.expiration.ms` (Kafka's
    /// `removeExpiredTransactionalIds`): an id with no open transaction whose state has not
    /// changed for that long gets a tombstone in `__transaction_state` and, once the
    /// tombstone counts, leaves the cache; its next InitProducerId starts afresh with a new
    /// producer id. Called every `transaction.remove.expired.transaction.cleanup.interval.ms`.
    pub async fn remove_expired(self: &Arc<Self>, env: &Arc<dyn TxnEnv>) {
        let now_ms = self.clock.now_ms();
        let horizon_ms = now_ms.saturating_sub(self.config.id_expiration_ms);
        let mut per_partition: HashMap<i32, Vec<(Entry, String, i16)>> = HashMap::new();
        let entries: Vec<Entry> = self.txns.lock().values().cloned().collect();
        for entry in entries {
            let mut txn = entry.lock();
            let expirable = matches!(
                txn.state,
                TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
            );
            if !expirable || txn.pending.is_some() || txn.last_update_ms > horizon_ms {
                continue;
            }
            txn.pending = Some(TxnState::Dead);
            let id = txn.transactional_id.clone();
            let epoch = txn.producer_epoch;
            drop(txn);
            per_partition
                .entry(self.partition_for(&id))
                .or_default()
                .push((entry, id, epoch));
        }
        for (partition, expired) in per_partition {
            self.write_tombstones(env, partition, expired, now_ms).await;
        }
    }

    /// Writes one partition's tombstones (in batches of at most [`TOMBSTONE_BATCH_BYTES`])
    /// and removes the ids whose tombstone counts and that nothing changed meanwhile.
    async fn write_tombstones(
        &self,
        env: &Arc<dyn TxnEnv>,
        partition: i32,
        expired: Vec<(Entry, String, i16)>,
        now_ms: i64,
    ) {
        let coordinator_epoch = env.leader_epoch(TRANSACTION_STATE_TOPIC, partition);
        let mut rest = expired.as_slice();
        while !rest.is_empty() {
            let mut builder = BatchBuilder::new(0);
            let mut bytes = 0;
            let mut taken = 0;
            for (_, id, _) in rest {
                let Ok(key) = records::encode_key(id) else {
                    break;
                };
                if taken > 0 && bytes + key.len() > TOMBSTONE_BATCH_BYTES {
                    break;
                }
                bytes += key.len();
                builder.append(now_ms, Some(&key), None, &[]);
                taken += 1;
            }
            let (chunk, next) = rest.split_at(taken.max(1));
            rest = next;
            let written = match builder.build() {
                Ok(batch) if taken > 0 && coordinator_epoch.is_some() => {
                    match env.append(
                        TRANSACTION_STATE_TOPIC,
                        partition,
                        &batch,
                        TOMBSTONE_TIMEOUT,
                    ) {
                        Ok(pending) => pending.await,
                        Err(e) => Err(e),
                    }
                }
                _ => Err(ErrorCode::UnknownServerError),
            };
            let still_owner = written.is_ok()
                && env.leader_epoch(TRANSACTION_STATE_TOPIC, partition) == coordinator_epoch;
            let mut txns = self.txns.lock();
            for (entry, id, epoch) in chunk {
                let mut txn = entry.lock();
                let unchanged = txn.pending == Some(TxnState::Dead) && txn.producer_epoch == *epoch;
                txn.pending = None;
                if still_owner && unchanged {
                    txn.state = TxnState::Dead;
                    txns.remove(id);
                    tracing::info!(
                        "transactional id {id} expired (producer {})",
                        txn.producer_id
                    );
                } else if let Err(e) = written {
                    tracing::warn!(
                        "cannot expire transactional id {id}: tombstone not written: {e:?}"
                    );
                }
            }
        }
    }

    /// The state of one transactional id (DescribeTransactions).
    pub fn describe(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
    ) -> Result<TxnMetadata, ErrorCode> {
        if transactional_id.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        self.owner(env, transactional_id)?;
        let entry = self
            .entry(transactional_id)
            .ok_or(ErrorCode::TransactionalIdNotFound)?;
        let txn = entry.lock().clone();
        if txn.state == TxnState::Dead {
            return Err(ErrorCode::TransactionalIdNotFound);
        }
        Ok(txn)
    }

    /// Every transactional id this broker coordinates (ListTransactions).
    pub fn all(&self) -> Vec<TxnMetadata> {
        let mut all: Vec<TxnMetadata> = self
            .txns
            .lock()
            .values()
            .map(|e| e.lock().clone())
            .filter(|t| t.state != TxnState::Dead)
            .collect();
        all.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        all
    }

    /// Writes `next` as the transactional id's record and, once it counts, makes it the
    /// state; a failed write clears the pending transition and answers Kafka's
    /// coordinator error.
    async fn write(
        &self,
        env: &Arc<dyn TxnEnv>,
        entry: &Entry,
        partition: i32,
        coordinator_epoch: i32,
        mut next: TxnMetadata,
    ) -> Result<(), ErrorCode> {
        // Kafka cannot write an id longer than an int16 length says either.
        let key = records::encode_key(&next.transactional_id)
            .map_err(|_| ErrorCode::UnknownServerError)?;
        // As Kafka's transitions: the producer id before this one.
        next.previous_producer_id = entry.lock().producer_id;
        let value = records::encode_value(
            &next.to_record(),
            self.finalized_version().log_value_version(),
        );
        let mut builder = BatchBuilder::new(0);
        builder.append(self.clock.now_ms(), Some(&key), Some(&value), &[]);
        let batch = builder.build().map_err(|_| ErrorCode::UnknownServerError)?;
        let timeout = Duration::from_millis(u64::try_from(next.timeout_ms).unwrap_or(0).max(1000));
        let written = match env.append(TRANSACTION_STATE_TOPIC, partition, &batch, timeout) {
            Ok(pending) => pending.await,
            Err(e) => Err(e),
        };
        let still_owner =
            env.leader_epoch(TRANSACTION_STATE_TOPIC, partition) == Some(coordinator_epoch);
        let mut txn = entry.lock();
        txn.pending = None;
        match written {
            Ok(()) if still_owner => {
                *txn = TxnMetadata {
                    pending: completion_of(next.state),
                    ..next
                };
                Ok(())
            }
            Ok(()) => Err(ErrorCode::NotCoordinator),
            Err(e) => Err(append_error(e)),
        }
    }

    /// Sends the markers of a prepared transaction until every partition has them (or is
    /// gone), then writes CompleteCommit/CompleteAbort. Gives up when this broker stops
    /// coordinating the id (the next coordinator finishes it after its load).
    fn spawn_markers(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
        partition: i32,
        coordinator_epoch: i32,
    ) {
        let this = self.clone();
        let env = env.clone();
        let id = transactional_id.to_string();
        tokio::spawn(async move {
            this.complete(&env, &id, partition, coordinator_epoch).await;
        });
    }

    async fn complete(
        self: &Arc<Self>,
        env: &Arc<dyn TxnEnv>,
        transactional_id: &str,
        partition: i32,
        coordinator_epoch: i32,
    ) {
        let owner = |env: &Arc<dyn TxnEnv>| {
            env.leader_epoch(TRANSACTION_STATE_TOPIC, partition) == Some(coordinator_epoch)
        };
        let Some(entry) = self.entry(transactional_id) else {
            return;
        };
        let (producer_id, epoch, commit, mut remaining) = {
            let txn = entry.lock();
            let commit = match txn.state {
                TxnState::PrepareCommit => true,
                TxnState::PrepareAbort => false,
                _ => return,
            };
            let partitions: Vec<TopicPartition> = txn.partitions.iter().cloned().collect();
            (txn.producer_id, txn.producer_epoch, commit, partitions)
        };
        while !remaining.is_empty() {
            if !owner(env) {
                return;
            }
            let results = env
                .write_markers(producer_id, epoch, commit, coordinator_epoch, remaining)
                .await;
            remaining = Vec::new();
            for (tp, result) in results {
                match result {
                    Ok(()) | Err(ErrorCode::UnknownTopicOrPartition) => {}
                    Err(ErrorCode::UnsupportedForMessageFormat | ErrorCode::UnsupportedVersion) => {
                    }
                    Err(
                        e @ (ErrorCode::InvalidProducerEpoch
                        | ErrorCode::TransactionCoordinatorFenced),
                    ) => {
                        tracing::warn!(
                            "markers of {transactional_id} refused ({e:?}): a newer coordinator or producer took over"
                        );
                        entry.lock().pending = None;
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(
                            "marker of {transactional_id} for {}-{}: {e:?}; retrying",
                            tp.0,
                            tp.1
                        );
                        remaining.push(tp);
                    }
                }
            }
            if !remaining.is_empty() {
                tokio::time::sleep(MARKER_RETRY_BACKOFF).await;
            }
        }
        loop {
            if !owner(env) {
                return;
            }
            let next = {
                let mut txn = entry.lock();
                let Some(complete) = completion_of(txn.state) else {
                    return;
                };
                if txn.pending.is_some_and(|p| p != complete) {
                    return;
                }
                let mut next = txn.clone();
                next.state = complete;
                next.partitions.clear();
                next.last_update_ms = self.clock.now_ms();
                next.last_producer_epoch = txn.producer_epoch;
                (next.producer_id, next.producer_epoch) = txn.completed_producer();
                next.next_producer_id = NO_PRODUCER_ID;
                txn.pending = Some(next.state);
                next
            };
            match self
                .write(env, &entry, partition, coordinator_epoch, next)
                .await
            {
                Ok(()) => return,
                Err(ErrorCode::CoordinatorNotAvailable) => {
                    // Still completing: the write cleared the pending transition.
                    {
                        let mut txn = entry.lock();
                        if txn.pending.is_none() {
                            txn.pending = completion_of(txn.state);
                        }
                    }
                    tokio::time::sleep(MARKER_RETRY_BACKOFF).await;
                }
                Err(e) => {
                    tracing::warn!("cannot complete the transaction of {transactional_id}: {e:?}");
                    return;
                }
            }
        }
    }
}

/// The request's producer must be the transactional id's current one.
fn check_producer(
    txn: &TxnMetadata,
    producer_id: i64,
    producer_epoch: i16,
) -> Result<(), ErrorCode> {
    if txn.producer_id != producer_id {
        return Err(ErrorCode::InvalidProducerIdMapping);
    }
    if txn.producer_epoch != producer_epoch {
        return Err(ErrorCode::ProducerFenced);
    }
    Ok(())
}

/// The state a prepared transaction completes to. Kafka's `prepareComplete` makes it the
/// pending transition as soon as PrepareCommit/PrepareAbort is written (or loaded), so
/// every request until CompleteCommit/CompleteAbort is written gets
/// CONCURRENT_TRANSACTIONS — an EndTxn of the opposite kind and an InitProducerId naming
/// another producer id included.
fn completion_of(state: TxnState) -> Option<TxnState> {
    match state {
        TxnState::PrepareCommit => Some(TxnState::CompleteCommit),
        TxnState::PrepareAbort => Some(TxnState::CompleteAbort),
        _ => None,
    }
}

/// Kafka's `prepareFenceProducerEpoch` + abort: the open transaction of `txn` aborts at the
/// next epoch, so its producer's later writes are fenced everywhere. A V2 transaction's
/// abort then bumps once more, as every V2 end does (its markers carry that epoch); at
/// the last epoch there is no room for the second bump, and InitProducerId rotates the
/// producer id next.
fn fenced_abort(txn: &TxnMetadata, now_ms: i64) -> TxnMetadata {
    let mut next = txn.clone();
    next.producer_epoch = txn.producer_epoch.saturating_add(1);
    next.last_producer_epoch = NO_EPOCH;
    if txn.client_version.supports_epoch_bump() && next.producer_epoch < i16::MAX {
        next.last_producer_epoch = next.producer_epoch;
        next.producer_epoch += 1;
    }
    next.next_producer_id = NO_PRODUCER_ID;
    next.state = TxnState::PrepareAbort;
    next.last_update_ms = now_ms;
    next
}
