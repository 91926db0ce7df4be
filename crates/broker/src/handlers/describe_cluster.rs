//! DescribeCluster: the cluster id, the brokers and, as KRaft brokers name it, a
//! "controller" that is one of those brokers.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;

const ENDPOINT_TYPE_BROKER: i8 = 1;
const ENDPOINT_TYPE_CONTROLLER: i8 = 2;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeClusterRequest,
    version: i16,
    session: &Session,
) -> DescribeClusterResponse {
    // Kafka's AuthHelper.computeDescribeClusterResponse: v0 has no endpoint type error.
    let refuse = |code: ErrorCode, text: String| {
        let code = if version == 0 {
            ErrorCode::InvalidRequest
        } else {
            code
        };
        DescribeClusterResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(text)))
    };
    match request.endpoint_type {
        ENDPOINT_TYPE_BROKER => {}
        ENDPOINT_TYPE_CONTROLLER => {
            return refuse(
                ErrorCode::MismatchedEndpointType,
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint \
                 of type CONTROLLER"
                    .into(),
            )
        }
        other => {
            return refuse(
                ErrorCode::UnsupportedEndpointType,
                format!("Unsupported endpoint type {other}"),
            )
        }
    }
    let live_brokers = broker.live_brokers_on(&session.listener);
    DescribeClusterResponse::default()
        .with_endpoint_type(ENDPOINT_TYPE_BROKER)
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
        .with_cluster_authorized_operations(
            // Kafka's computeDescribeClusterResponse: 0 without DESCRIBE on the cluster.
            if request.include_cluster_authorized_operations
                && !broker.authorize_cluster(session, rafka_security::acl::AclOperation::Describe)
            {
                0
            } else {
                super::authorized_operations(
                    broker,
                    session,
                    super::Resource::Cluster,
                    crate::acl_store::CLUSTER_NAME,
                    request.include_cluster_authorized_operations,
                )
            },
        )
}
