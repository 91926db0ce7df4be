//! FindCoordinator (v0–3 one key, v4+ batched): this node coordinates every group until
//! there is a cluster; transactions have no coordinator yet.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;

const KEY_TYPE_GROUP: i8 = 0;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let keys: Vec<StrBytes> = if version >= 4 {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    let advertised = broker.config.advertised();
    // In a cluster the coordinator is the leader of the group's partition, among these.
    let live = match &broker.cluster {
        Some(_) => broker.live_brokers(),
        None => Vec::new(),
    };
    let not_available = (
        ErrorCode::CoordinatorNotAvailable,
        "The coordinator is not available.",
    );
    let coordinators: Vec<Coordinator> = keys
        .into_iter()
        .map(|key| {
            let found = if request.key_type != KEY_TYPE_GROUP {
                Err((
                    ErrorCode::CoordinatorNotAvailable,
                    "Transactions are not supported yet",
                ))
            } else if key.is_empty() {
                Err((ErrorCode::InvalidRequest, "The group id must not be empty"))
            } else if broker.groups.ensure_offsets_topic(broker).is_err() {
                Err(not_available)
            } else if broker.cluster.is_some() {
                let partition = broker.groups.partition_for(key.as_str());
                let leader = broker
                    .topic(crate::group::OFFSETS_TOPIC)
                    .and_then(|t| t.state(partition).map(|s| s.leader));
                live.iter()
                    .find(|b| Some(b.id) == leader)
                    .map(|b| (b.id, b.host.clone(), b.port))
                    .ok_or(not_available)
            } else {
                Ok((
                    broker.config.node_id,
                    advertised.host.clone(),
                    advertised.port,
                ))
            };
            let base = Coordinator::default().with_key(key);
            match found {
                Ok((id, host, port)) => base
                    .with_node_id(BrokerId(id))
                    .with_host(str_bytes(host))
                    .with_port(i32::from(port)),
                Err((code, message)) => base
                    .with_node_id(BrokerId(-1))
                    .with_host(str_bytes(""))
                    .with_port(-1)
                    .with_error_code(code.code())
                    .with_error_message(Some(str_bytes(message))),
            }
        })
        .collect();
    if version >= 4 {
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let first = coordinators.into_iter().next().unwrap_or_default();
    FindCoordinatorResponse::default()
        .with_error_code(first.error_code)
        .with_error_message(first.error_message)
        .with_node_id(first.node_id)
        .with_host(first.host)
        .with_port(first.port)
}
