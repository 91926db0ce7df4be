//! FindCoordinator (v0–3 one key, v4+ batched): the leader of the key's partition of
//! `__consumer_offsets` (groups), `__transaction_state` (transactional ids) or, from v6,
//! `__share_group_state` (share-partitions, keyed `groupId:topicId:partition`), each
//! topic created at its first lookup; this node itself in single-node mode.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use rafka_coordinator::share_state::coordinator::SHARE_GROUP_STATE_TOPIC;
use rafka_coordinator::share_state::records::StateKey;
use rafka_coordinator::txn::coordinator::TRANSACTION_STATE_TOPIC;
use rafka_security::acl::AclOperation;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;
const KEY_TYPE_SHARE: i8 = 2;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: FindCoordinatorRequest,
    version: i16,
    session: &Session,
) -> FindCoordinatorResponse {
    let keys: Vec<StrBytes> = if version >= 4 {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    if !matches!(
        request.key_type,
        KEY_TYPE_GROUP | KEY_TYPE_TRANSACTION | KEY_TYPE_SHARE
    ) {
        // Kafka's CoordinatorType.forId throws for the whole request: every key gets
        // INVALID_REQUEST with the error's own text (FindCoordinatorRequest.getErrorResponse).
        let refused = keys
            .into_iter()
            .map(|key| {
                refusal(
                    Coordinator::default().with_key(key),
                    ErrorCode::InvalidRequest,
                )
            })
            .collect();
        return answer(version, refused);
    }
    // In a cluster the coordinator is the leader of the group's partition, among these.
    // At the addresses of the listener the request came in on (this node alone in
    // single-node mode).
    let live = broker.live_brokers_on(&session.listener);
    let mut coordinators: Vec<Coordinator> = Vec::with_capacity(keys.len());
    for key in keys {
        {
            // Kafka's getCoordinator: DESCRIBE on the group or the transactional id.
            let found = if request.key_type == KEY_TYPE_TRANSACTION
                && !broker.authorize_transactional_id(session, key.as_str(), AclOperation::Describe)
            {
                Err(ErrorCode::TransactionalIdAuthorizationFailed)
            } else if request.key_type == KEY_TYPE_GROUP
                && !broker.authorize_group(session, key.as_str(), AclOperation::Describe)
            {
                Err(ErrorCode::GroupAuthorizationFailed)
            } else if request.key_type == KEY_TYPE_SHARE {
                // Share coordinator keys are for brokers: CLUSTER_ACTION, as Kafka checks.
                if broker.authorize_cluster(session, AclOperation::ClusterAction) {
                    share_coordinator(broker, key.as_str(), version, &live).await
                } else {
                    Err(ErrorCode::ClusterAuthorizationFailed)
                }
            } else if request.key_type == KEY_TYPE_TRANSACTION {
                transaction_coordinator(broker, key.as_str(), &live).await
            } else if broker.ensure_offsets_topic().await.is_err() {
                Err(ErrorCode::CoordinatorNotAvailable)
            } else {
                let partition = broker.groups.partition_for(key.as_str());
                leader_of(broker, crate::group::OFFSETS_TOPIC, partition, &live)
            };
            let base = Coordinator::default().with_key(key);
            coordinators.push(match found {
                Ok((id, host, port)) => base
                    .with_node_id(BrokerId(id))
                    .with_host(str_bytes(host))
                    .with_port(i32::from(port)),
                // Kafka's batched answer (v4+) carries no message for these.
                Err(code) if version >= 4 => base
                    .with_node_id(BrokerId(-1))
                    .with_host(str_bytes(""))
                    .with_port(-1)
                    .with_error_code(code.code()),
                Err(code) => refusal(base, code),
            });
        }
    }
    answer(version, coordinators)
}

/// The leader of the transactional id's `__transaction_state` partition (created at the
/// first lookup, as Kafka's auto-creation does); COORDINATOR_NOT_AVAILABLE until it has
/// a live leader.
async fn transaction_coordinator(
    broker: &Arc<Broker>,
    transactional_id: &str,
    live: &[crate::broker::BrokerEndpoint],
) -> Result<(i32, String, u16), ErrorCode> {
    broker.ensure_transaction_topic().await?;
    let partition = broker.txns.partition_for(transactional_id);
    leader_of(broker, TRANSACTION_STATE_TOPIC, partition, live)
}

/// The leader of the share-partition's `__share_group_state` partition: INVALID_REQUEST
/// below v6 (share keys came with it) or for a key not of the form
/// `groupId:topicId:partition`.
async fn share_coordinator(
    broker: &Arc<Broker>,
    key: &str,
    version: i16,
    live: &[crate::broker::BrokerEndpoint],
) -> Result<(i32, String, u16), ErrorCode> {
    let key = StateKey::parse_coordinator_key(key)
        .filter(|_| version >= 6)
        .ok_or(ErrorCode::InvalidRequest)?;
    broker.ensure_share_state_topic().await?;
    let partition = broker.share_states.partition_for(&key);
    leader_of(broker, SHARE_GROUP_STATE_TOPIC, partition, live)
}

/// The coordinator of an internal topic's partition: its leader among the live brokers
/// (COORDINATOR_NOT_AVAILABLE while it has none), this node in single-node mode.
fn leader_of(
    broker: &Broker,
    topic: &str,
    partition: i32,
    live: &[crate::broker::BrokerEndpoint],
) -> Result<(i32, String, u16), ErrorCode> {
    let leader = match broker.cluster {
        None => Some(broker.config.node_id),
        Some(_) => broker
            .topic(topic)
            .and_then(|t| t.state(partition).map(|s| s.leader)),
    };
    live.iter()
        .find(|b| Some(b.id) == leader)
        .map(|b| (b.id, b.host.clone(), b.port))
        .ok_or(ErrorCode::CoordinatorNotAvailable)
}

/// A key refused with `code`, as Kafka's `prepareErrorResponse`: no node, and the
/// error's own text as the message.
fn refusal(base: Coordinator, code: ErrorCode) -> Coordinator {
    base.with_node_id(BrokerId(-1))
        .with_host(str_bytes(""))
        .with_port(-1)
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_static_str(code.description())))
}

fn answer(version: i16, coordinators: Vec<Coordinator>) -> FindCoordinatorResponse {
    if version >= 4 {
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let first = coordinators.into_iter().next().unwrap_or_default();
    // Before v4 Kafka sends `Errors.message()`, which is "NONE" for success.
    let message = if first.error_code == 0 {
        Some(StrBytes::from_static_str("NONE"))
    } else {
        first.error_message
    };
    FindCoordinatorResponse::default()
        .with_error_code(first.error_code)
        .with_error_message(message)
        .with_node_id(first.node_id)
        .with_host(first.host)
        .with_port(first.port)
}
