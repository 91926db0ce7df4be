//! The admin calls `kafka-transactions.sh` makes, over rafka's protocol client, routed
//! and retried as the Java admin client's handlers do (`ListTransactionsHandler`,
//! `DescribeTransactionsHandler`, `DescribeProducersHandler`, `AbortTransactionHandler`,
//! `FenceProducersHandler`, with `AllBrokersStrategy`, `CoordinatorStrategy`,
//! `PartitionLeaderStrategy` and `StaticBrokerStrategy` to find where each goes).
//!
//! A failed call is a [`Failure`] whose text is the message of the exception Java's
//! client would raise. What Java retries (a coordinator still loading, a partition
//! without a leader, …) is retried here too, every `retry.backoff.ms` (100 ms) until the
//! call's deadline (`default.api.timeout.ms`), and then fails as Java's does:
//! `Call(callName=<call>, deadlineMs=…, tries=…, nextAllowedTryMs=…) timed out at … after
//! N attempt(s)`, or `Timed out waiting for a node assignment. Call: <call>` when there
//! never was a broker to send to. (Java prints either for a metadata lookup that keeps
//! failing, by the timing of its threads; the first is the usual one. The times and
//! counts are this run's.) One difference: a bootstrap broker that cannot be reached
//! fails at once (`could not connect to the broker: …`), as every rafka tool does,
//! instead of after the whole timeout.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, FindCoordinatorRequest, FindCoordinatorResponse,
    InitProducerIdRequest, InitProducerIdResponse, ListTransactionsRequest,
    ListTransactionsResponse, MetadataResponse, ProducerId, TopicName, TransactionalId,
    WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rafka_client::{ClientError, WireClient};
use rafka_protocol::ErrorCode;

/// Java's `retry.backoff.ms` default.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// `FindCoordinatorRequest.CoordinatorType.TRANSACTION`.
const TRANSACTION_KEY_TYPE: i8 = 1;

/// A call that failed: the message of the exception Java's admin client would raise,
/// and the Kafka error it came from, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub message: String,
    pub code: Option<i16>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: None,
        }
    }

    fn kafka(error: ErrorCode, message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: Some(error.code()),
        }
    }

    pub(super) fn is(&self, error: ErrorCode) -> bool {
        self.code == Some(error.code())
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        if error.is_unreachable() {
            Failure::new(format!("could not connect to the broker: {error}"))
        } else {
            Failure::new(error.to_string())
        }
    }
}

/// `TopicPartition`, printed as Kafka prints it: `topic-partition`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A broker as the cluster advertises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    pub id: i32,
    pub address: String,
}

/// One transaction as ListTransactions names it (`TransactionListing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listing {
    pub transactional_id: String,
    pub producer_id: i64,
    pub state: String,
}

/// What DescribeTransactions says of one transactional id (`TransactionDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Description {
    pub coordinator_id: i32,
    pub state: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    /// `None` when the coordinator sent -1 (no transaction started).
    pub start_time_ms: Option<i64>,
    /// In the coordinator's order (topic by topic).
    pub partitions: Vec<TopicPartition>,
}

/// One producer of a partition as DescribeProducers reports it (`ProducerState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProducerState {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    /// `None` when the broker sent a negative epoch.
    pub coordinator_epoch: Option<i32>,
    /// `None` when the producer has no open transaction there.
    pub current_transaction_start_offset: Option<i64>,
}

/// Kafka's `AbortTransactionSpec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AbortSpec {
    pub partition: TopicPartition,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
}

impl std::fmt::Display for AbortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AbortTransactionSpec(topicPartition={}, producerId={}, producerEpoch={}, coordinatorEpoch={})",
            self.partition, self.producer_id, self.producer_epoch, self.coordinator_epoch
        )
    }
}

/// A topic as Metadata describes it: its partitions (sorted, as `TopicDescription`'s)
/// with their replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TopicDescription {
    pub name: String,
    pub partitions: Vec<(i32, Vec<i32>)>,
}

/// Kafka's `TransactionState.parse`: a state this client does not know is `Unknown`.
fn transaction_state(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "Ongoing",
        "PrepareAbort",
        "PrepareCommit",
        "CompleteAbort",
        "CompleteCommit",
        "Empty",
        "PrepareEpochFence",
    ];
    if KNOWN.contains(&name) {
        name.to_string()
    } else {
        "Unknown".to_string()
    }
}

/// `Errors.forCode(code)` as an `ErrorCode`; an unknown code is `UNKNOWN_SERVER_ERROR`.
fn error_of(code: i16) -> Option<ErrorCode> {
    if code == 0 {
        return None;
    }
    Some(ErrorCode::try_from_code(code).unwrap_or(ErrorCode::UnknownServerError))
}

/// One call's time: its deadline (`default.api.timeout.ms` from its start) and the
/// tries it made, which a timeout reports as Java's `Call.toString()` does.
#[derive(Debug)]
struct Deadline {
    at: Instant,
    at_ms: i64,
    tries: Cell<u32>,
}

impl Deadline {
    fn new(timeout: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + timeout,
            at_ms: now_ms().saturating_add(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX)),
            tries: Cell::new(0),
        }
    }

    fn remaining(&self) -> Duration {
        self.at
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }

    /// After a try Java would retry: waits `retry.backoff.ms`, or, when the deadline
    /// comes first, waits for it and fails as Java's `Call.fail` does:
    /// `Call(callName=…, deadlineMs=…, tries=…, nextAllowedTryMs=…) timed out at …`.
    async fn retry(&self, call: &str) -> Result<(), Failure> {
        let tries = self.tries.get() + 1;
        self.tries.set(tries);
        if Instant::now() + RETRY_BACKOFF >= self.at {
            tokio::time::sleep_until(self.at.into()).await;
            let now = now_ms();
            return Err(Failure::new(format!(
                "Call(callName={call}, deadlineMs={}, tries={tries}, nextAllowedTryMs={}) timed out at {now} after {tries} attempt(s)",
                self.at_ms,
                now + RETRY_BACKOFF.as_millis() as i64,
            )));
        }
        tokio::time::sleep(RETRY_BACKOFF).await;
        Ok(())
    }

    /// While no broker to send to is known: waits, or fails as Java's admin client
    /// fails a call it never could send: `Timed out waiting for a node assignment`.
    async fn wait_for_node(&self, call: &str) -> Result<(), Failure> {
        if Instant::now() + RETRY_BACKOFF >= self.at {
            tokio::time::sleep_until(self.at.into()).await;
            return Err(Failure::new(format!(
                "Timed out waiting for a node assignment. Call: {call}"
            )));
        }
        tokio::time::sleep(RETRY_BACKOFF).await;
        Ok(())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Connections to the cluster, opened on demand and kept for the run.
#[derive(Debug)]
pub(super) struct Admin {
    bootstrap: String,
    /// Each call's time (`default.api.timeout.ms`).
    pub timeout: Duration,
    /// `request.timeout.ms`: the transaction timeout `forceTerminateTransaction` sends.
    request_timeout_ms: i32,
    /// By `host:port`; the bootstrap connection is under the address it reached.
    connections: BTreeMap<String, WireClient>,
    bootstrap_address: Option<String>,
}

impl Admin {
    pub(super) fn new(bootstrap: &str, timeout: Duration, request_timeout_ms: i32) -> Admin {
        Admin {
            bootstrap: bootstrap.to_string(),
            timeout,
            request_timeout_ms,
            connections: BTreeMap::new(),
            bootstrap_address: None,
        }
    }

    fn deadline(&self) -> Deadline {
        Deadline::new(self.timeout)
    }

    /// The connection to the bootstrap list (the first broker that answers).
    async fn bootstrap(&mut self, deadline: &Deadline) -> Result<&mut WireClient, Failure> {
        if self.bootstrap_address.is_none() {
            let client = crate::common::connect(&self.bootstrap, deadline.remaining()).await?;
            let address = client.address.clone();
            self.connections.insert(address.clone(), client);
            self.bootstrap_address = Some(address);
        }
        let address = self.bootstrap_address.clone().unwrap_or_default();
        self.connections
            .get_mut(&address)
            .ok_or_else(|| Failure::new("the bootstrap connection was lost"))
    }

    /// The connection to `node`, opened if need be.
    async fn node(&mut self, node: &Node, deadline: &Deadline) -> Result<&mut WireClient, Failure> {
        if !self.connections.contains_key(&node.address) {
            let client = crate::common::connect(&node.address, deadline.remaining()).await?;
            self.connections.insert(node.address.clone(), client);
        }
        self.connections
            .get_mut(&node.address)
            .ok_or_else(|| Failure::new(format!("the connection to {} was lost", node.address)))
    }

    /// One request to `node`; a connection that broke is dropped, so that the next try
    /// opens a new one.
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        node: &Node,
        api_key: ApiKey,
        ours: i16,
        request: impl FnOnce(i16) -> Req,
        deadline: &Deadline,
    ) -> Result<Resp, Failure> {
        let client = self.node(node, deadline).await?;
        let version = client.version_for(api_key, ours)?;
        let result = client
            .call_within(api_key, version, &request(version), deadline.remaining())
            .await;
        if result.is_err() {
            self.connections.remove(&node.address);
            if self.bootstrap_address.as_deref() == Some(node.address.as_str()) {
                self.bootstrap_address = None;
            }
        }
        Ok(result?)
    }

    async fn metadata(
        &mut self,
        topics: Option<&[String]>,
        deadline: &Deadline,
    ) -> Result<MetadataResponse, Failure> {
        let timeout = deadline.remaining();
        let client = self.bootstrap(deadline).await?;
        Ok(client.metadata(topics, timeout).await?)
    }

    /// The cluster's brokers, as Metadata lists them.
    async fn brokers(&mut self, deadline: &Deadline) -> Result<Vec<Node>, Failure> {
        let metadata = self.metadata(Some(&[]), deadline).await?;
        Ok(nodes_of(&metadata))
    }

    // ---- ListTransactions: every broker (`AllBrokersStrategy`). ----

    /// Each broker's transactions, in the order Metadata lists the brokers.
    pub(super) async fn list_transactions(
        &mut self,
        producer_ids: &[i64],
        duration_filter_ms: i64,
        transactional_id_pattern: Option<&str>,
    ) -> Result<Vec<(i32, Vec<Listing>)>, Failure> {
        let deadline = &self.deadline();
        let brokers = self.brokers(deadline).await?;
        let mut result = Vec::new();
        for broker in &brokers {
            let listings = self
                .list_transactions_at(
                    broker,
                    producer_ids,
                    duration_filter_ms,
                    transactional_id_pattern,
                    deadline,
                )
                .await?;
            result.push((broker.id, listings));
        }
        Ok(result)
    }

    async fn list_transactions_at(
        &mut self,
        broker: &Node,
        producer_ids: &[i64],
        duration_filter_ms: i64,
        transactional_id_pattern: Option<&str>,
        deadline: &Deadline,
    ) -> Result<Vec<Listing>, Failure> {
        loop {
            let client = self.node(broker, deadline).await?;
            let version = client.version_for(ApiKey::ListTransactions, 2)?;
            // `ListTransactionsRequest.Builder.build`: filters the broker's version cannot
            // carry are refused, not dropped.
            if version < 1 && duration_filter_ms >= 0 {
                return Err(Failure::new("Duration filter can be set only when using API version 1 or higher. If client is connected to an older broker, do not specify duration filter or set duration filter to -1."));
            }
            if version < 2 && transactional_id_pattern.is_some_and(|p| !p.is_empty()) {
                return Err(Failure::new("Transactional ID pattern filter can be set only when using API version 2 or higher. If client is connected to an older broker, do not specify the pattern filter."));
            }
            let request = ListTransactionsRequest::default()
                .with_producer_id_filters(producer_ids.iter().map(|id| ProducerId(*id)).collect())
                .with_duration_filter(duration_filter_ms)
                .with_transactional_id_pattern(
                    transactional_id_pattern.map(|p| StrBytes::from_string(p.to_string())),
                );
            let response: ListTransactionsResponse = self
                .call(broker, ApiKey::ListTransactions, 2, |_| request, deadline)
                .await?;
            match error_of(response.error_code) {
                None => {
                    return Ok(response
                        .transaction_states
                        .iter()
                        .map(|t| Listing {
                            transactional_id: t.transactional_id.0.to_string(),
                            producer_id: t.producer_id.0,
                            state: transaction_state(&t.transaction_state),
                        })
                        .collect())
                }
                Some(ErrorCode::CoordinatorLoadInProgress) => {
                    deadline.retry("listTransactions(api=LIST_TRANSACTIONS)")
                        .await?
                }
                Some(ErrorCode::CoordinatorNotAvailable) => {
                    return Err(Failure::kafka(
                        ErrorCode::CoordinatorNotAvailable,
                        format!(
                            "ListTransactions request sent to broker {} failed because the coordinator is shutting down",
                            broker.id
                        ),
                    ))
                }
                Some(error) => {
                    return Err(Failure::kafka(
                        error,
                        format!(
                            "ListTransactions request sent to broker {} failed with an unexpected exception",
                            broker.id
                        ),
                    ))
                }
            }
        }
    }

    // ---- Transaction coordinators (`CoordinatorStrategy`). ----

    /// The coordinator of `transactional_id`, by FindCoordinator (key type 1).
    async fn find_coordinator(
        &mut self,
        transactional_id: &str,
        call: &str,
        deadline: &Deadline,
    ) -> Result<Node, Failure> {
        let key = format!("CoordinatorKey(idValue='{transactional_id}', type=TRANSACTION)");
        loop {
            let timeout = deadline.remaining();
            let client = self.bootstrap(deadline).await?;
            let version = client.version_for(ApiKey::FindCoordinator, 4)?;
            let id = StrBytes::from_string(transactional_id.to_string());
            let request = if version >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![id])
            } else {
                FindCoordinatorRequest::default().with_key(id)
            }
            .with_key_type(TRANSACTION_KEY_TYPE);
            let response: FindCoordinatorResponse = client
                .call_within(ApiKey::FindCoordinator, version, &request, timeout)
                .await?;
            let (code, node_id, host, port) = match response.coordinators.first() {
                Some(c) if version >= 4 => (c.error_code, c.node_id.0, c.host.to_string(), c.port),
                _ => (
                    response.error_code,
                    response.node_id.0,
                    response.host.to_string(),
                    response.port,
                ),
            };
            match error_of(code) {
                None => {
                    return Ok(Node {
                        id: node_id,
                        address: format!("{host}:{port}"),
                    })
                }
                Some(ErrorCode::CoordinatorNotAvailable | ErrorCode::CoordinatorLoadInProgress) => {
                    deadline.retry(call).await?
                }
                Some(ErrorCode::TransactionalIdAuthorizationFailed) => {
                    return Err(Failure::kafka(
                        ErrorCode::TransactionalIdAuthorizationFailed,
                        format!("FindCoordinator request for transactionalId `{key}` failed due to authorization failure"),
                    ))
                }
                Some(error) => {
                    return Err(Failure::kafka(
                        error,
                        format!("FindCoordinator request for key `{key}` failed due to an unexpected error"),
                    ))
                }
            }
        }
    }

    /// DescribeTransactions of one transactional id at its coordinator.
    pub(super) async fn describe_transaction(
        &mut self,
        transactional_id: &str,
    ) -> Result<Description, Failure> {
        const CALL: &str = "describeTransactions(api=FIND_COORDINATOR)";
        let deadline = &self.deadline();
        loop {
            let coordinator = self
                .find_coordinator(transactional_id, CALL, deadline)
                .await?;
            let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![
                TransactionalId(StrBytes::from_string(transactional_id.to_string())),
            ]);
            let response: DescribeTransactionsResponse = self
                .call(
                    &coordinator,
                    ApiKey::DescribeTransactions,
                    0,
                    |_| request,
                    deadline,
                )
                .await?;
            let Some(state) = response
                .transaction_states
                .iter()
                .find(|s| s.transactional_id.0.as_str() == transactional_id)
            else {
                deadline.retry(CALL).await?;
                continue;
            };
            match error_of(state.error_code) {
                None => {
                    return Ok(Description {
                        coordinator_id: coordinator.id,
                        state: transaction_state(&state.transaction_state),
                        producer_id: state.producer_id.0,
                        producer_epoch: state.producer_epoch,
                        timeout_ms: state.transaction_timeout_ms,
                        start_time_ms: (state.transaction_start_time_ms >= 0)
                            .then_some(state.transaction_start_time_ms),
                        partitions: state
                            .topics
                            .iter()
                            .flat_map(|t| {
                                t.partitions.iter().map(|p| TopicPartition {
                                    topic: t.topic.0.to_string(),
                                    partition: *p,
                                })
                            })
                            .collect(),
                    })
                }
                Some(ErrorCode::TransactionalIdAuthorizationFailed) => {
                    return Err(Failure::kafka(
                        ErrorCode::TransactionalIdAuthorizationFailed,
                        format!("DescribeTransactions request for transactionalId `{transactional_id}` failed due to authorization failure"),
                    ))
                }
                Some(ErrorCode::TransactionalIdNotFound) => {
                    return Err(Failure::kafka(
                        ErrorCode::TransactionalIdNotFound,
                        format!("DescribeTransactions request for transactionalId `{transactional_id}` failed because the ID could not be found"),
                    ))
                }
                Some(
                    ErrorCode::CoordinatorLoadInProgress
                    | ErrorCode::NotCoordinator
                    | ErrorCode::CoordinatorNotAvailable,
                ) => deadline.retry(CALL).await?,
                Some(error) => {
                    return Err(Failure::kafka(
                        error,
                        format!("DescribeTransactions request for transactionalId `{transactional_id}` failed due to unexpected error"),
                    ))
                }
            }
        }
    }

    /// `fenceProducers`, which `forceTerminateTransaction` is: InitProducerId for the
    /// transactional id at its coordinator, which bumps the epoch and aborts what is open.
    pub(super) async fn fence_producer(&mut self, transactional_id: &str) -> Result<(), Failure> {
        const CALL: &str = "fenceProducer(api=FIND_COORDINATOR)";
        let deadline = &self.deadline();
        loop {
            let coordinator = self
                .find_coordinator(transactional_id, CALL, deadline)
                .await?;
            let request = InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
                    transactional_id.to_string(),
                ))))
                .with_transaction_timeout_ms(self.request_timeout_ms)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            let response: InitProducerIdResponse = self
                .call(
                    &coordinator,
                    ApiKey::InitProducerId,
                    5,
                    |_| request,
                    deadline,
                )
                .await?;
            let id = transactional_id;
            match error_of(response.error_code) {
                None => return Ok(()),
                Some(ErrorCode::ClusterAuthorizationFailed) => {
                    return Err(Failure::kafka(
                        ErrorCode::ClusterAuthorizationFailed,
                        format!("InitProducerId request for transactionalId `{id}` failed due to cluster authorization failure"),
                    ))
                }
                Some(ErrorCode::TransactionalIdAuthorizationFailed) => {
                    return Err(Failure::kafka(
                        ErrorCode::TransactionalIdAuthorizationFailed,
                        format!("InitProducerId request for transactionalId `{id}` failed due to transactional ID authorization failure"),
                    ))
                }
                Some(
                    ErrorCode::CoordinatorLoadInProgress
                    | ErrorCode::ConcurrentTransactions
                    | ErrorCode::NotCoordinator
                    | ErrorCode::CoordinatorNotAvailable,
                ) => deadline.retry(CALL).await?,
                Some(error) => {
                    return Err(Failure::kafka(
                        error,
                        format!("InitProducerId request for transactionalId `{id}` failed due to unexpected error"),
                    ))
                }
            }
        }
    }

    // ---- Partition leaders (`PartitionLeaderStrategy`) and DescribeProducers. ----

    /// The leaders of those of `partitions` Metadata knows one for; a partition left out
    /// is retried (unknown topic, no leader yet); an error Java does not retry fails.
    async fn leaders(
        &mut self,
        partitions: &[TopicPartition],
        deadline: &Deadline,
    ) -> Result<Vec<(Node, TopicPartition)>, Failure> {
        let mut topics: Vec<String> = partitions.iter().map(|p| p.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let metadata = self.metadata(Some(&topics), deadline).await?;
        let nodes = nodes_of(&metadata);
        let mut mapped = Vec::new();
        for topic in &metadata.topics {
            let name = topic
                .name
                .as_ref()
                .map(|n| n.0.to_string())
                .unwrap_or_default();
            let requested: Vec<&TopicPartition> =
                partitions.iter().filter(|p| p.topic == name).collect();
            if let Some(error) = error_of(topic.error_code) {
                let fail = |message: &dyn Fn(&TopicPartition) -> String| {
                    Err(Failure::kafka(error, message(requested[0])))
                };
                match error {
                    // `tolerateUnknownTopics`: retried.
                    ErrorCode::UnknownTopicOrPartition
                    | ErrorCode::LeaderNotAvailable
                    | ErrorCode::BrokerNotAvailable => continue,
                    _ if requested.is_empty() => continue,
                    ErrorCode::TopicAuthorizationFailed => {
                        return fail(&|tp| {
                            format!("Failed to fetch metadata for partition {tp} due to topic authorization failure")
                        })
                    }
                    ErrorCode::InvalidTopicException => {
                        return fail(&|tp| {
                            format!("Failed to fetch metadata for partition {tp} due to invalid topic `{name}`")
                        })
                    }
                    _ => {
                        return fail(&|tp| {
                            format!("Failed to fetch metadata for partition {tp} due to unexpected error for topic `{name}`")
                        })
                    }
                }
            }
            for partition in &topic.partitions {
                let tp = TopicPartition {
                    topic: name.clone(),
                    partition: partition.partition_index,
                };
                if !requested.contains(&&tp) {
                    continue;
                }
                match error_of(partition.error_code) {
                    None => {}
                    Some(
                        ErrorCode::NotLeaderOrFollower
                        | ErrorCode::ReplicaNotAvailable
                        | ErrorCode::LeaderNotAvailable
                        | ErrorCode::BrokerNotAvailable
                        | ErrorCode::KafkaStorageError
                        | ErrorCode::UnknownTopicOrPartition,
                    ) => continue,
                    Some(error) => {
                        return Err(Failure::kafka(
                            error,
                            format!("Unexpected error during metadata lookup for {tp}"),
                        ))
                    }
                }
                let leader = partition.leader_id.0;
                if let Some(node) = nodes.iter().find(|n| n.id == leader) {
                    mapped.push((node.clone(), tp));
                }
            }
        }
        Ok(mapped)
    }

    /// The producers of each of `partitions`, asked of its leader, or of `broker_id`
    /// (`DescribeProducersOptions.brokerId`). The answers come in `partitions`' order.
    pub(super) async fn describe_producers(
        &mut self,
        partitions: &[TopicPartition],
        broker_id: Option<i32>,
    ) -> Result<Vec<(TopicPartition, Vec<ProducerState>)>, Failure> {
        let deadline = &self.deadline();
        let mut pending: Vec<TopicPartition> = Vec::new();
        for tp in partitions {
            if !pending.contains(tp) {
                pending.push(tp.clone());
            }
        }
        let mut done: BTreeMap<TopicPartition, Vec<ProducerState>> = BTreeMap::new();
        while !pending.is_empty() {
            let mapped: Vec<(Node, TopicPartition)> = match broker_id {
                // `StaticBrokerStrategy`: the broker must be in the cluster.
                Some(id) => match self
                    .brokers(deadline)
                    .await?
                    .into_iter()
                    .find(|n| n.id == id)
                {
                    Some(node) => pending
                        .iter()
                        .map(|tp| (node.clone(), tp.clone()))
                        .collect(),
                    None => {
                        deadline
                            .wait_for_node("describeProducers(api=DESCRIBE_PRODUCERS)")
                            .await?;
                        continue;
                    }
                },
                None => self.leaders(&pending, deadline).await?,
            };
            // Partitions no broker answered for are still looking for their leader.
            let call = if broker_id.is_none() && mapped.len() < pending.len() {
                "describeProducers(api=METADATA)"
            } else {
                "describeProducers(api=DESCRIBE_PRODUCERS)"
            };
            let mut by_node: Vec<(Node, Vec<TopicPartition>)> = Vec::new();
            for (node, tp) in mapped {
                match by_node.iter_mut().find(|(n, _)| n.id == node.id) {
                    Some((_, tps)) => tps.push(tp),
                    None => by_node.push((node, vec![tp])),
                }
            }
            for (node, tps) in by_node {
                let answers = match self.describe_producers_at(&node, &tps, deadline).await {
                    Ok(answers) => answers,
                    // A broker that cannot be reached now may be later: retried.
                    Err(_) => continue,
                };
                for (tp, answer) in answers {
                    match answer {
                        Ok(producers) => {
                            pending.retain(|p| p != &tp);
                            done.insert(tp, producers);
                        }
                        Err(error) => {
                            if let Some(failure) = producer_error(&tp, error, broker_id) {
                                return Err(failure);
                            }
                        }
                    }
                }
            }
            if !pending.is_empty() {
                deadline.retry(call).await?;
            }
        }
        Ok(partitions
            .iter()
            .filter_map(|tp| done.remove(tp).map(|producers| (tp.clone(), producers)))
            .collect())
    }

    /// One DescribeProducers request: each partition's producers, or its error.
    async fn describe_producers_at(
        &mut self,
        node: &Node,
        partitions: &[TopicPartition],
        deadline: &Deadline,
    ) -> Result<
        Vec<(
            TopicPartition,
            Result<Vec<ProducerState>, (ErrorCode, Option<String>)>,
        )>,
        Failure,
    > {
        let mut topics: Vec<TopicRequest> = Vec::new();
        for tp in partitions {
            match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
                Some(topic) => topic.partition_indexes.push(tp.partition),
                None => topics.push(
                    TopicRequest::default()
                        .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                        .with_partition_indexes(vec![tp.partition]),
                ),
            }
        }
        let request = DescribeProducersRequest::default().with_topics(topics);
        let response: DescribeProducersResponse = self
            .call(node, ApiKey::DescribeProducers, 0, |_| request, deadline)
            .await?;
        let mut answers = Vec::new();
        for topic in &response.topics {
            for partition in &topic.partitions {
                let tp = TopicPartition {
                    topic: topic.name.0.to_string(),
                    partition: partition.partition_index,
                };
                let answer = match error_of(partition.error_code) {
                    Some(error) => Err((
                        error,
                        partition.error_message.as_ref().map(|m| m.to_string()),
                    )),
                    None => Ok(partition
                        .active_producers
                        .iter()
                        .map(|p| ProducerState {
                            producer_id: p.producer_id.0,
                            producer_epoch: p.producer_epoch,
                            last_sequence: p.last_sequence,
                            last_timestamp: p.last_timestamp,
                            coordinator_epoch: (p.coordinator_epoch >= 0)
                                .then_some(p.coordinator_epoch),
                            current_transaction_start_offset: (p.current_txn_start_offset >= 0)
                                .then_some(p.current_txn_start_offset),
                        })
                        .collect()),
                };
                answers.push((tp, answer));
            }
        }
        Ok(answers)
    }

    // ---- WriteTxnMarkers (`AbortTransactionHandler`). ----

    /// Writes the ABORT marker of `spec` at its partition's leader.
    pub(super) async fn abort_transaction(&mut self, spec: &AbortSpec) -> Result<(), Failure> {
        const CALL: &str = "abortTransaction(api=METADATA)";
        let deadline = &self.deadline();
        loop {
            let leaders = self
                .leaders(std::slice::from_ref(&spec.partition), deadline)
                .await?;
            let Some((leader, _)) = leaders.into_iter().next() else {
                deadline.retry(CALL).await?;
                continue;
            };
            let request =
                WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
                    .with_producer_id(ProducerId(spec.producer_id))
                    .with_producer_epoch(spec.producer_epoch)
                    .with_transaction_result(false)
                    .with_coordinator_epoch(spec.coordinator_epoch)
                    .with_topics(vec![WritableTxnMarkerTopic::default()
                        .with_name(TopicName(StrBytes::from_string(
                            spec.partition.topic.clone(),
                        )))
                        .with_partition_indexes(vec![spec.partition.partition])])]);
            let response: WriteTxnMarkersResponse = match self
                .call(&leader, ApiKey::WriteTxnMarkers, 1, |_| request, deadline)
                .await
            {
                Ok(response) => response,
                Err(_) => {
                    deadline.retry(CALL).await?;
                    continue;
                }
            };
            match marker_result(&response, spec)? {
                None => return Ok(()),
                Some(
                    ErrorCode::NotLeaderOrFollower
                    | ErrorCode::ReplicaNotAvailable
                    | ErrorCode::BrokerNotAvailable
                    | ErrorCode::UnknownTopicOrPartition,
                ) => deadline.retry(CALL).await?,
                Some(ErrorCode::ClusterAuthorizationFailed) => {
                    return Err(Failure::kafka(
                        ErrorCode::ClusterAuthorizationFailed,
                        format!("WriteTxnMarkers request with {spec} failed due to cluster authorization error"),
                    ))
                }
                Some(ErrorCode::InvalidProducerEpoch) => {
                    return Err(Failure::kafka(
                        ErrorCode::InvalidProducerEpoch,
                        format!("WriteTxnMarkers request with {spec} failed due an invalid producer epoch"),
                    ))
                }
                Some(ErrorCode::TransactionCoordinatorFenced) => {
                    return Err(Failure::kafka(
                        ErrorCode::TransactionCoordinatorFenced,
                        format!(
                            "WriteTxnMarkers request with {spec} failed since the provided coordinator epoch {} has been fenced by the active coordinator",
                            spec.coordinator_epoch
                        ),
                    ))
                }
                Some(error) => {
                    return Err(Failure::kafka(
                        error,
                        format!(
                            "WriteTxnMarkers request with {spec} failed due to unexpected error: {}",
                            error.description()
                        ),
                    ))
                }
            }
        }
    }

    // ---- Topics (`listTopics`, `describeTopics`). ----

    /// Every topic's name, internal ones included, in Metadata's order.
    pub(super) async fn list_topics(&mut self) -> Result<Vec<String>, Failure> {
        let deadline = &self.deadline();
        let metadata = self.metadata(None, deadline).await?;
        Ok(metadata
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect())
    }

    /// `topics` as Metadata describes them, in `topics`' order; a topic Metadata answers
    /// with an error fails the call with that error's exception message.
    pub(super) async fn describe_topics(
        &mut self,
        topics: &[String],
    ) -> Result<Vec<TopicDescription>, Failure> {
        let deadline = &self.deadline();
        let metadata = self.metadata(Some(topics), deadline).await?;
        let mut described = Vec::new();
        for name in topics {
            let Some(topic) = metadata
                .topics
                .iter()
                .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == name))
            else {
                return Err(Failure::kafka(
                    ErrorCode::UnknownTopicOrPartition,
                    ErrorCode::UnknownTopicOrPartition.description(),
                ));
            };
            if let Some(error) = error_of(topic.error_code) {
                return Err(Failure::kafka(error, error.description()));
            }
            let mut partitions: Vec<(i32, Vec<i32>)> = topic
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.replica_nodes.iter().map(|r| r.0).collect(),
                    )
                })
                .collect();
            partitions.sort_by_key(|(index, _)| *index);
            described.push(TopicDescription {
                name: name.clone(),
                partitions,
            });
        }
        Ok(described)
    }
}

/// The brokers of a Metadata answer.
fn nodes_of(metadata: &MetadataResponse) -> Vec<Node> {
    metadata
        .brokers
        .iter()
        .map(|b| Node {
            id: b.node_id.0,
            address: format!("{}:{}", b.host, b.port),
        })
        .collect()
}

/// `DescribeProducersHandler.handlePartitionError`: `None` when the partition is to be
/// retried, else the failure.
fn producer_error(
    tp: &TopicPartition,
    (error, message): (ErrorCode, Option<String>),
    broker_id: Option<i32>,
) -> Option<Failure> {
    match error {
        ErrorCode::NotLeaderOrFollower => broker_id.map(|id| {
            Failure::kafka(
                error,
                format!("Failed to describe active producers for partition {tp} on brokerId {id}"),
            )
        }),
        ErrorCode::UnknownTopicOrPartition => None,
        ErrorCode::InvalidTopicException => Some(Failure::kafka(
            error,
            format!(
                "Failed to fetch metadata for partition {tp} due to invalid topic error: {}",
                message
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| error.description().to_string())
            ),
        )),
        ErrorCode::TopicAuthorizationFailed => Some(Failure::kafka(
            error,
            format!(
                "Failed to describe active producers for partition {tp} due to authorization failure on topic `{}`",
                tp.topic
            ),
        )),
        _ => Some(Failure::kafka(
            error,
            format!("Failed to describe active producers for partition {tp} due to unexpected error"),
        )),
    }
}

/// The error of the one marker WriteTxnMarkers was asked to write, checked as
/// `AbortTransactionHandler` checks the answer's shape.
fn marker_result(
    response: &WriteTxnMarkersResponse,
    spec: &AbortSpec,
) -> Result<Option<ErrorCode>, Failure> {
    let unexpected = |what: &str, expected: String| {
        Failure::new(format!(
            "WriteTxnMarkers response included unexpected {what} entries: {:?}(expected to find exactly one entry with {expected})",
            response.markers
        ))
    };
    let [marker] = response.markers.as_slice() else {
        return Err(unexpected(
            "marker",
            format!("producerId {}", spec.producer_id),
        ));
    };
    if marker.producer_id.0 != spec.producer_id {
        return Err(unexpected(
            "marker",
            format!("producerId {}", spec.producer_id),
        ));
    }
    let [topic] = marker.topics.as_slice() else {
        return Err(unexpected(
            "topic",
            format!("topic partition {}", spec.partition),
        ));
    };
    if topic.name.0.as_str() != spec.partition.topic {
        return Err(unexpected(
            "topic",
            format!("topic partition {}", spec.partition),
        ));
    }
    match topic.partitions.as_slice() {
        [partition] if partition.partition_index == spec.partition.partition => {
            Ok(error_of(partition.error_code))
        }
        _ => Err(Failure::new(format!(
            "WriteTxnMarkers response included unexpected partition entries for topic {}: {:?}(expected to find exactly one entry with partition {})",
            spec.partition.topic, response.markers, spec.partition.partition
        ))),
    }
}
