//! DescribeCluster: the cluster id, the brokers and, as KRaft brokers name it, a
//! "controller" that is one of those brokers.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;

const ENDPOINT_TYPE_BROKERS: i8 = 1;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    if request.endpoint_type != ENDPOINT_TYPE_BROKERS && request.endpoint_type != 0 {
        return DescribeClusterResponse::default()
            .with_error_code(ErrorCode::UnsupportedEndpointType.code())
            .with_error_message(Some(str_bytes("Only brokers endpoints are served here")))
            .with_endpoint_type(request.endpoint_type);
    }
    let live_brokers = broker.live_brokers();
    DescribeClusterResponse::default()
        .with_endpoint_type(ENDPOINT_TYPE_BROKERS)
        .with_cluster_id(str_bytes(broker.cluster_id.clone()))
        // As Metadata: a random live broker, not the quorum leader (Kafka's KafkaApis).
        .with_controller_id(BrokerId(broker.controller_id_for_clients(&live_brokers)))
        .with_brokers(
            live_brokers
                .into_iter()
                .map(|b| {
                    DescribeClusterBroker::default()
                        .with_broker_id(BrokerId(b.id))
                        .with_host(str_bytes(b.host))
                        .with_port(i32::from(b.port))
                        .with_rack(b.rack.map(str_bytes))
                })
                .collect(),
        )
        .with_cluster_authorized_operations(i32::MIN)
}
