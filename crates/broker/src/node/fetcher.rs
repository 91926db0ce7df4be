//! Follower replication: one fetcher per leader broker, fetching every partition this
//! broker follows from it in one Fetch request (with this broker's replica id), as Kafka's
//! replica fetcher threads do.
//!
//! After a leader or epoch change a partition first truncates: it asks the leader for the
//! end of its own latest epoch (OffsetForLeaderEpoch) and cuts any divergent tail
//! (`replica::truncation_offset`), then fetches from its log end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rafka_client::{exchange, ClientStream, DEFAULT_MAX_RESPONSE_BYTES};
use rafka_protocol::ErrorCode;
use rafka_types::{LeaderEpoch, NodeId, Offset};

use crate::broker::Broker;
use crate::partition::Partition;
use crate::replica::truncation_offset;

const FETCH_VERSION: i16 = 12;
const EPOCH_VERSION: i16 = 4;

/// What the fetcher tracks per followed partition: the epoch it last truncated at.
type Truncated = HashMap<(Arc<str>, i32), LeaderEpoch>;

/// Runs the fetchers: every 100 ms (or sooner when a fetch returns) regroups the
/// followed partitions by leader and keeps one task per leader.
pub async fn run(broker: Arc<Broker>) {
    let mut tasks: HashMap<NodeId, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        let leaders = followed_by_leader(&broker);
        tasks.retain(|leader, task| {
            let keep = leaders.contains_key(leader) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for leader in leaders.keys() {
            tasks
                .entry(*leader)
                .or_insert_with(|| tokio::spawn(fetch_from(broker.clone(), *leader)));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn followed_by_leader(broker: &Broker) -> BTreeMap<NodeId, Vec<Arc<Partition>>> {
    let mut out: BTreeMap<NodeId, Vec<Arc<Partition>>> = BTreeMap::new();
    for topic in broker.topics() {
        for partition in topic.local_partitions() {
            if let Some(leader) = partition.followed_leader() {
                out.entry(leader).or_default().push(partition.clone());
            }
        }
    }
    out
}

/// The client id of the follower's requests.
const FETCHER_CLIENT_ID: &str = "rafka-replica-fetcher";

/// Fetches from one leader until it leads nothing this broker follows.
async fn fetch_from(broker: Arc<Broker>, leader: NodeId) {
    let mut truncated = Truncated::new();
    let mut correlation = 0;
    loop {
        let Some(address) = broker_address(&broker, leader) else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let security = broker.peers.security().clone();
        let mut stream = match tokio::time::timeout(
            Duration::from_secs(2),
            ClientStream::connect(&address, security.tls.as_ref()),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) if security.tls.is_some() => {
                // A refused handshake is a configuration matter: say so.
                tracing::warn!("cannot connect to broker {leader} at {address}: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if let Some(sasl) = &security.sasl {
            let authenticating =
                rafka_client::authenticate(&mut stream, FETCHER_CLIENT_ID, &mut correlation, sasl);
            match tokio::time::timeout(Duration::from_secs(10), authenticating).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!("cannot authenticate to broker {leader} at {address}: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        loop {
            let partitions: Vec<Arc<Partition>> = followed_by_leader(&broker)
                .remove(&leader)
                .unwrap_or_default();
            if partitions.is_empty() {
                return;
            }
            let result = fetch_once(
                &broker,
                leader,
                &mut stream,
                &mut correlation,
                &partitions,
                &mut truncated,
            )
            .await;
            if let Err(e) = result {
                tracing::debug!("fetching from broker {leader} at {address}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                break;
            }
        }
    }
}

/// The leader's address on the inter-broker listener (its first listener if it
/// registered none of that name).
fn broker_address(broker: &Broker, id: NodeId) -> Option<String> {
    let image = broker.cluster.as_ref()?.image();
    let listeners = &image.brokers.get(&id.0)?.listeners;
    let inter_broker = &broker.config.security.inter_broker_listener;
    let endpoint = listeners
        .iter()
        .find(|e| &e.name == inter_broker)
        .or(listeners.first())?
        .clone();
    Some(format!("{}:{}", endpoint.host, endpoint.port))
}

async fn fetch_once(
    broker: &Broker,
    leader: NodeId,
    stream: &mut ClientStream,
    correlation: &mut i32,
    partitions: &[Arc<Partition>],
    truncated: &mut Truncated,
) -> Result<(), String> {
    let node_id = broker.config.node_id;
    // Truncate first where the epoch changed since the last truncation.
    let needing: Vec<&Arc<Partition>> = partitions
        .iter()
        .filter(|p| truncated.get(&(p.topic.clone(), p.index)) != Some(&p.leader_epoch()))
        .collect();
    if !needing.is_empty() {
        truncate(stream, correlation, node_id, leader, &needing, truncated).await?;
    }
    let ready: Vec<&Arc<Partition>> = partitions
        .iter()
        .filter(|p| truncated.get(&(p.topic.clone(), p.index)) == Some(&p.leader_epoch()))
        .collect();
    if ready.is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        return Ok(());
    }
    let config = &broker.config.replication;
    let mut by_topic: BTreeMap<Arc<str>, Vec<FetchPartition>> = BTreeMap::new();
    for p in &ready {
        by_topic.entry(p.topic.clone()).or_default().push(
            FetchPartition::default()
                .with_partition(p.index)
                .with_current_leader_epoch(p.leader_epoch().0)
                .with_fetch_offset(p.log_end_offset().0)
                .with_log_start_offset(p.log_start_offset().0)
                .with_last_fetched_epoch(-1)
                .with_partition_max_bytes(config.replica_fetch_max_bytes),
        );
    }
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(node_id))
        .with_max_wait_ms(config.replica_fetch_wait_max_ms as i32)
        .with_min_bytes(1)
        .with_max_bytes(i32::MAX)
        .with_session_epoch(-1)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(name, partitions)| {
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                        .with_partitions(partitions)
                })
                .collect(),
        );
    *correlation += 1;
    let timeout = Duration::from_millis(config.replica_fetch_wait_max_ms + 10_000);
    let response: FetchResponse = tokio::time::timeout(
        timeout,
        exchange(
            stream,
            FETCHER_CLIENT_ID,
            *correlation,
            ApiKey::Fetch,
            FETCH_VERSION,
            &request,
            fetch_response_max_bytes(ready.len(), config.replica_fetch_max_bytes),
        ),
    )
    .await
    .map_err(|_| "fetch timed out".to_string())?
    .map_err(|e| e.to_string())?;
    if response.error_code != 0 {
        return Err(format!("fetch error {}", response.error_code));
    }
    let by_name = by_topic_partition(&ready);
    for topic in response.responses {
        for data in topic.partitions {
            let Some(partition) = by_name.get(&(topic.topic.as_str(), data.partition_index)) else {
                continue;
            };
            match data.error_code {
                0 => {
                    let records = data.records.as_deref().unwrap_or(&[]);
                    broker.metrics.record_replicated(records.len() as u64);
                    if let Err(e) =
                        partition.append_as_follower(records, Offset(data.high_watermark))
                    {
                        tracing::warn!(
                            "{}-{}: cannot append fetched records: {e}",
                            partition.topic,
                            partition.index
                        );
                        truncated.remove(&(partition.topic.clone(), partition.index));
                    }
                }
                1 => {
                    // OFFSET_OUT_OF_RANGE: behind the leader's log start (retention), or
                    // ahead of its end (truncate through the epoch exchange again).
                    let leader_log_start = Offset(data.log_start_offset);
                    if partition.log_end_offset() < leader_log_start {
                        let _ = partition.truncate_fully_and_start_at(leader_log_start);
                    } else {
                        truncated.remove(&(partition.topic.clone(), partition.index));
                    }
                }
                code => {
                    tracing::debug!(
                        "{}-{}: fetch from {leader} failed with {code}",
                        partition.topic,
                        partition.index
                    );
                    if code == ErrorCode::FencedLeaderEpoch.code() {
                        truncated.remove(&(partition.topic.clone(), partition.index));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The largest Fetch response taken from a leader: what `partitions` partitions of
/// `replica.fetch.max.bytes` each can hold, plus the usual bound for the headers and a
/// first batch larger than the per-partition limit (which Kafka returns whole). The
/// request itself asks for up to `i32::MAX` bytes, so the bound comes from here.
fn fetch_response_max_bytes(partitions: usize, replica_fetch_max_bytes: i32) -> usize {
    let per_partition = usize::try_from(replica_fetch_max_bytes).unwrap_or(0);
    partitions
        .saturating_mul(per_partition)
        .saturating_add(DEFAULT_MAX_RESPONSE_BYTES)
}

/// The partitions of a request by (topic, index), to match the answers to.
fn by_topic_partition<'a>(
    partitions: &[&'a Arc<Partition>],
) -> HashMap<(&'a str, i32), &'a Arc<Partition>> {
    partitions
        .iter()
        .map(|p| ((&*p.topic, p.index), *p))
        .collect()
}

/// OffsetForLeaderEpoch for the partitions that changed epoch, and the truncation.
async fn truncate(
    stream: &mut ClientStream,
    correlation: &mut i32,
    node_id: i32,
    leader: NodeId,
    partitions: &[&Arc<Partition>],
    truncated: &mut Truncated,
) -> Result<(), String> {
    let mut by_topic: BTreeMap<Arc<str>, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
    for p in partitions {
        by_topic.entry(p.topic.clone()).or_default().push(
            OffsetForLeaderPartition::default()
                .with_partition(p.index)
                .with_current_leader_epoch(p.leader_epoch().0)
                .with_leader_epoch(p.latest_epoch().unwrap_or(LeaderEpoch::UNKNOWN).0),
        );
    }
    let request = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(node_id))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(name, partitions)| {
                    OffsetForLeaderTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                        .with_partitions(partitions)
                })
                .collect(),
        );
    *correlation += 1;
    let response: OffsetForLeaderEpochResponse = tokio::time::timeout(
        Duration::from_secs(10),
        exchange(
            stream,
            FETCHER_CLIENT_ID,
            *correlation,
            ApiKey::OffsetForLeaderEpoch,
            EPOCH_VERSION,
            &request,
            DEFAULT_MAX_RESPONSE_BYTES,
        ),
    )
    .await
    .map_err(|_| "OffsetForLeaderEpoch timed out".to_string())?
    .map_err(|e| e.to_string())?;
    let by_name = by_topic_partition(partitions);
    for topic in response.topics {
        for answer in topic.partitions {
            let Some(partition) = by_name.get(&(topic.topic.as_str(), answer.partition)) else {
                continue;
            };
            if answer.error_code != 0 {
                tracing::debug!(
                    "{}-{}: OffsetForLeaderEpoch from {leader} failed with {}",
                    partition.topic,
                    partition.index,
                    answer.error_code
                );
                continue;
            }
            let (to, complete) = truncation_offset(
                (LeaderEpoch(answer.leader_epoch), Offset(answer.end_offset)),
                partition.log_end_offset(),
                partition.high_watermark(),
                |epoch| {
                    let (e, end) = partition.end_offset_for_epoch(epoch);
                    (e.0 >= 0).then_some((e, end))
                },
            );
            partition
                .truncate_to(to)
                .map_err(|e| format!("cannot truncate: {e}"))?;
            if complete {
                truncated.insert(
                    (partition.topic.clone(), partition.index),
                    partition.leader_epoch(),
                );
            }
        }
    }
    Ok(())
}
