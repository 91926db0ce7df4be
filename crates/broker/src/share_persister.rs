//! The share-partition leaders' persister (Kafka's `DefaultStatePersister`): each
//! share-group state request goes to the share coordinator of its key — this broker's
//! own when it leads the key's `__share_group_state` partition (single-node mode
//! always), otherwise the leading broker over the wire, as Kafka's
//! `PersisterStateManager` sends them. NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
//! COORDINATOR_LOAD_IN_PROGRESS and unreachable coordinators are retried with backoff
//! until [`PERSIST_TIMEOUT`], as the coordinator moves while brokers fail over.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{
    delete_share_group_state_request as delete_req,
    initialize_share_group_state_request as init_req, read_share_group_state_request as read_req,
    read_share_group_state_summary_request as summary_req,
    write_share_group_state_request as write_req, ApiKey, DeleteShareGroupStateRequest,
    DeleteShareGroupStateResponse, InitializeShareGroupStateRequest,
    InitializeShareGroupStateResponse, ReadShareGroupStateRequest, ReadShareGroupStateResponse,
    ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse,
    WriteShareGroupStateRequest, WriteShareGroupStateResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rafka_coordinator::share_state::coordinator::{StateSummary, SHARE_GROUP_STATE_TOPIC};
use rafka_coordinator::share_state::records::StateBatch;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::share::persister::{
    PersistFuture, Persister, StateError, StateKey, StateRead, StateWrite,
};
use crate::txn_env::BrokerTxnEnv;

/// How long one state request keeps retrying a coordinator that moves or is loading.
pub const PERSIST_TIMEOUT: Duration = Duration::from_secs(20);
/// The first wait between retries; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(1_000);
/// One request to another broker's coordinator.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The broker as a share-partition leader's persister.
#[derive(Debug, Clone)]
pub struct BrokerPersister {
    broker: Arc<Broker>,
}

impl BrokerPersister {
    pub fn new(broker: &Arc<Broker>) -> BrokerPersister {
        BrokerPersister {
            broker: broker.clone(),
        }
    }

    /// ReadShareGroupStateSummary (what the group coordinator's
    /// DescribeShareGroupOffsets and AlterShareGroupOffsets read; a share-partition
    /// leader never needs it).
    pub async fn read_summary(&self, key: StateKey) -> Result<StateSummary, StateError> {
        match persist(&self.broker, &key, &Op::ReadSummary).await? {
            Some(Answer::Summary(summary)) => Ok(summary),
            _ => Err(no_answer()),
        }
    }
}

/// What a state request answers beyond success.
#[derive(Debug)]
enum Answer {
    Read(StateRead),
    Summary(StateSummary),
}

/// One share-group state request.
#[derive(Debug, Clone)]
enum Op {
    Initialize { state_epoch: i32, start_offset: i64 },
    Read { leader_epoch: i32 },
    Write(StateWrite),
    Delete,
    ReadSummary,
}

impl Persister for BrokerPersister {
    fn initialize(&self, key: StateKey, state_epoch: i32, start_offset: i64) -> PersistFuture<()> {
        let broker = self.broker.clone();
        let op = Op::Initialize {
            state_epoch,
            start_offset,
        };
        Box::pin(async move { persist(&broker, &key, &op).await.map(|_| ()) })
    }

    fn read(&self, key: StateKey, leader_epoch: i32) -> PersistFuture<StateRead> {
        let broker = self.broker.clone();
        Box::pin(async move {
            match persist(&broker, &key, &Op::Read { leader_epoch }).await? {
                Some(Answer::Read(read)) => Ok(read),
                _ => Err(StateError {
                    code: ErrorCode::UnknownServerError,
                    message: "the coordinator answered no state".into(),
                }),
            }
        })
    }

    fn write(&self, key: StateKey, write: StateWrite) -> PersistFuture<()> {
        let broker = self.broker.clone();
        Box::pin(async move { persist(&broker, &key, &Op::Write(write)).await.map(|_| ()) })
    }

    fn delete(&self, key: StateKey) -> PersistFuture<()> {
        let broker = self.broker.clone();
        Box::pin(async move { persist(&broker, &key, &Op::Delete).await.map(|_| ()) })
    }
}

/// Sends `op` to the key's coordinator until it answers something other than "not
/// here (yet)", or [`PERSIST_TIMEOUT`] runs out. A read answers its state.
async fn persist(
    broker: &Arc<Broker>,
    key: &StateKey,
    op: &Op,
) -> Result<Option<Answer>, StateError> {
    let deadline = tokio::time::Instant::now() + PERSIST_TIMEOUT;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let answer = match coordinator_of(broker, key).await {
            Ok(None) => local(broker, key, op).await,
            Ok(Some(address)) => remote(broker, &address, key, op).await,
            Err(code) => Err(StateError {
                code,
                message: code.description().to_string(),
            }),
        };
        let retriable = matches!(
            &answer,
            Err(StateError {
                code: ErrorCode::NotCoordinator
                    | ErrorCode::CoordinatorNotAvailable
                    | ErrorCode::CoordinatorLoadInProgress
                    | ErrorCode::NetworkException
                    | ErrorCode::RequestTimedOut,
                ..
            })
        );
        if !retriable || tokio::time::Instant::now() + backoff >= deadline {
            return answer;
        }
        tracing::debug!(
            "share state of {}: {answer:?}; retrying",
            key.coordinator_key()
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Where the key's coordinator is: `None` for this broker, else the leader's address;
/// COORDINATOR_NOT_AVAILABLE while the state topic's partition has no live leader.
async fn coordinator_of(broker: &Arc<Broker>, key: &StateKey) -> Result<Option<String>, ErrorCode> {
    broker.ensure_share_state_topic().await?;
    if broker.cluster.is_none() {
        return Ok(None);
    }
    let partition = broker.share_states.partition_for(key);
    let leader = broker
        .topic(SHARE_GROUP_STATE_TOPIC)
        .and_then(|t| t.state(partition).map(|s| s.leader));
    if leader == Some(broker.config.node_id) {
        return Ok(None);
    }
    broker
        .live_brokers()
        .into_iter()
        .find(|b| Some(b.id) == leader)
        .map(|b| Some(format!("{}:{}", b.host, b.port)))
        .ok_or(ErrorCode::CoordinatorNotAvailable)
}

async fn local(
    broker: &Arc<Broker>,
    key: &StateKey,
    op: &Op,
) -> Result<Option<Answer>, StateError> {
    let env = BrokerTxnEnv::new(broker);
    let coordinator = &broker.share_states;
    match op {
        Op::Initialize {
            state_epoch,
            start_offset,
        } => coordinator
            .initialize(&env, key, *state_epoch, *start_offset)
            .await
            .map(|()| None),
        Op::Read { leader_epoch } => coordinator
            .read(&env, key, *leader_epoch)
            .await
            .map(|r| Some(Answer::Read(r))),
        Op::Write(write) => coordinator.write(&env, key, write).await.map(|()| None),
        Op::Delete => coordinator.delete(&env, key).await.map(|()| None),
        Op::ReadSummary => coordinator
            .read_summary(&env, key)
            .map(|s| Some(Answer::Summary(s))),
    }
}

/// The request for `op` to another broker's coordinator, and its one partition's answer.
async fn remote(
    broker: &Arc<Broker>,
    address: &str,
    key: &StateKey,
    op: &Op,
) -> Result<Option<Answer>, StateError> {
    let group_id = StrBytes::from_string(key.group_id.clone());
    match op {
        Op::Initialize {
            state_epoch,
            start_offset,
        } => {
            let request = InitializeShareGroupStateRequest::default()
                .with_group_id(group_id)
                .with_topics(vec![init_req::InitializeStateData::default()
                    .with_topic_id(key.topic_id)
                    .with_partitions(vec![init_req::PartitionData::default()
                        .with_partition(key.partition)
                        .with_state_epoch(*state_epoch)
                        .with_start_offset(*start_offset)])]);
            let response: InitializeShareGroupStateResponse =
                call(broker, address, ApiKey::InitializeShareGroupState, &request).await?;
            let p = response
                .results
                .into_iter()
                .flat_map(|t| t.partitions)
                .next();
            answer(p.map(|p| (p.error_code, p.error_message)))?;
            Ok(None)
        }
        Op::Read { leader_epoch } => {
            let request = ReadShareGroupStateRequest::default()
                .with_group_id(group_id)
                .with_topics(vec![read_req::ReadStateData::default()
                    .with_topic_id(key.topic_id)
                    .with_partitions(vec![read_req::PartitionData::default()
                        .with_partition(key.partition)
                        .with_leader_epoch(*leader_epoch)])]);
            let response: ReadShareGroupStateResponse =
                call(broker, address, ApiKey::ReadShareGroupState, &request).await?;
            let Some(p) = response
                .results
                .into_iter()
                .flat_map(|t| t.partitions)
                .next()
            else {
                return Err(no_answer());
            };
            answer(Some((p.error_code, p.error_message)))?;
            Ok(Some(Answer::Read(StateRead {
                state_epoch: p.state_epoch,
                start_offset: p.start_offset,
                state_batches: p
                    .state_batches
                    .iter()
                    .map(|b| {
                        StateBatch::new(
                            b.first_offset,
                            b.last_offset,
                            b.delivery_state,
                            b.delivery_count,
                        )
                    })
                    .collect(),
            })))
        }
        Op::ReadSummary => {
            let request = ReadShareGroupStateSummaryRequest::default()
                .with_group_id(group_id)
                .with_topics(vec![summary_req::ReadStateSummaryData::default()
                    .with_topic_id(key.topic_id)
                    .with_partitions(vec![
                        summary_req::PartitionData::default().with_partition(key.partition)
                    ])]);
            let response: ReadShareGroupStateSummaryResponse = call(
                broker,
                address,
                ApiKey::ReadShareGroupStateSummary,
                &request,
            )
            .await?;
            let Some(p) = response
                .results
                .into_iter()
                .flat_map(|t| t.partitions)
                .next()
            else {
                return Err(no_answer());
            };
            answer(Some((p.error_code, p.error_message)))?;
            Ok(Some(Answer::Summary(StateSummary {
                state_epoch: p.state_epoch,
                leader_epoch: p.leader_epoch,
                start_offset: p.start_offset,
            })))
        }
        Op::Write(write) => {
            let request = WriteShareGroupStateRequest::default()
                .with_group_id(group_id)
                .with_topics(vec![write_req::WriteStateData::default()
                    .with_topic_id(key.topic_id)
                    .with_partitions(vec![write_req::PartitionData::default()
                        .with_partition(key.partition)
                        .with_state_epoch(write.state_epoch)
                        .with_leader_epoch(write.leader_epoch)
                        .with_start_offset(write.start_offset)
                        .with_state_batches(
                            write
                                .state_batches
                                .iter()
                                .map(|b| {
                                    write_req::StateBatch::default()
                                        .with_first_offset(b.first_offset)
                                        .with_last_offset(b.last_offset)
                                        .with_delivery_state(b.delivery_state)
                                        .with_delivery_count(b.delivery_count)
                                })
                                .collect(),
                        )])]);
            let response: WriteShareGroupStateResponse =
                call(broker, address, ApiKey::WriteShareGroupState, &request).await?;
            let p = response
                .results
                .into_iter()
                .flat_map(|t| t.partitions)
                .next();
            answer(p.map(|p| (p.error_code, p.error_message)))?;
            Ok(None)
        }
        Op::Delete => {
            let request = DeleteShareGroupStateRequest::default()
                .with_group_id(group_id)
                .with_topics(vec![delete_req::DeleteStateData::default()
                    .with_topic_id(key.topic_id)
                    .with_partitions(vec![
                        delete_req::PartitionData::default().with_partition(key.partition)
                    ])]);
            let response: DeleteShareGroupStateResponse =
                call(broker, address, ApiKey::DeleteShareGroupState, &request).await?;
            let p = response
                .results
                .into_iter()
                .flat_map(|t| t.partitions)
                .next();
            answer(p.map(|p| (p.error_code, p.error_message)))?;
            Ok(None)
        }
    }
}

async fn call<Req: Encodable, Resp: Decodable>(
    broker: &Broker,
    address: &str,
    api_key: ApiKey,
    request: &Req,
) -> Result<Resp, StateError> {
    broker
        .peers
        .call(
            address,
            api_key,
            0,
            request,
            Duration::from_secs(5),
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(|e| StateError {
            code: ErrorCode::NetworkException,
            message: e.to_string(),
        })
}

/// A partition's (error code, message) as a result; no partition at all is an error.
fn answer(partition: Option<(i16, Option<StrBytes>)>) -> Result<(), StateError> {
    let Some((code, message)) = partition else {
        return Err(no_answer());
    };
    if code == 0 {
        return Ok(());
    }
    let code = ErrorCode::try_from_code(code).unwrap_or(ErrorCode::UnknownServerError);
    Err(StateError {
        code,
        message: message
            .map(|m| m.to_string())
            .unwrap_or_else(|| code.description().to_string()),
    })
}

fn no_answer() -> StateError {
    StateError {
        code: ErrorCode::UnknownServerError,
        message: "the share coordinator answered no partition".into(),
    }
}
