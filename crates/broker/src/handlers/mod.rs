//! One file per Kafka API. `handle` checks that the API and version are ones rafka serves,
//! decodes the body, runs the handler and encodes its response.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};
use rafka_protocol::request::{encode_response, RequestError, RequestFrame};

use crate::acl_store::not_authorized_message;
use crate::broker::Broker;
use crate::metrics::FetchFrom;
use crate::session::Session;
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod alter_partition_reassignments;
mod alter_replica_log_dirs;
mod alter_share_group_offsets;
mod alter_user_scram_credentials;
mod api_versions;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_share_group_offsets;
mod delete_share_group_state;
mod delete_topics;
mod describe_acls;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_quorum;
mod describe_share_group_offsets;
mod describe_topic_partitions;
mod describe_transactions;
mod describe_user_scram_credentials;
mod elect_leaders;
mod end_txn;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod initialize_share_group_state;
mod join_group;
mod leave_group;
mod list_config_resources;
mod list_groups;
mod list_offsets;
mod list_partition_reassignments;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod read_share_group_state;
mod read_share_group_state_summary;
mod sasl_authenticate;
mod sasl_handshake;
mod share_acknowledge;
mod share_fetch;
mod share_group_describe;
mod share_group_heartbeat;
mod share_state_support;
mod support;
mod sync_group;
mod transactions;
mod txn_offset_commit;
mod write_share_group_state;
mod write_txn_markers;

pub use api_versions::{supported_versions, SUPPORTED_APIS};
pub(crate) use support::{
    authorized_operations, by_topic, message, outcome_error, str_bytes, Resource,
    OPERATIONS_OMITTED,
};

/// ApiVersions' answer, for the SASL authenticator (which answers it before the
/// handlers see any request).
pub(crate) fn api_versions_answer(
    broker: &Broker,
    request: &RequestFrame,
) -> Result<Bytes, RequestError> {
    api_versions::handle(broker, request)
}

/// A response ready to write: one buffer, or a Fetch frame whose record data is sent
/// straight from the log files.
#[derive(Debug)]
pub enum Response {
    Bytes(Bytes),
    Fetch {
        parts: Vec<rafka_protocol::fetch_frame::Part>,
        records: Vec<rafka_log::ReadResult>,
    },
}

/// Handles one request. `Ok(None)` means no response is sent (Produce with acks=0);
/// `Err` closes the connection, which is what Kafka does for a request it cannot parse.
///
/// A Fetch sets `fetch_from`: whether a consumer or a follower sent it, the request name
/// Kafka's request metrics count it under.
pub async fn handle(
    broker: &Arc<Broker>,
    request: RequestFrame,
    session: &Session,
    fetch_from: &mut Option<FetchFrom>,
) -> Result<Option<Response>, RequestError> {
    let version = request.api_version();
    if request.api_key == ApiKey::ApiVersions {
        return api_versions::handle(broker, &request).map(|b| Some(Response::Bytes(b)));
    }
    match supported_versions(request.api_key) {
        Some((min, max)) if (min..=max).contains(&version) => {}
        _ => {
            return Err(RequestError::InvalidBody {
                api_key: request.api_key,
                api_version: version,
                reason: "unsupported API or version".into(),
            })
        }
    }
    match request.api_key {
        ApiKey::Produce => {
            let body = request.decode_body()?;
            match produce::handle(broker, body, version, session).await {
                Some(response) => respond(&request, &response).map(|b| Some(Response::Bytes(b))),
                None => Ok(None),
            }
        }
        ApiKey::Fetch => {
            let body: kafka_protocol::messages::FetchRequest = request.decode_body()?;
            *fetch_from = Some(if fetch::replica_id(&body, version) >= 0 {
                FetchFrom::Follower
            } else {
                FetchFrom::Consumer
            });
            let (response, records) = fetch::handle(broker, body, version, session).await;
            let lens: Vec<usize> = records.iter().map(|r| r.size_bytes as usize).collect();
            let parts = rafka_protocol::fetch_frame::encode_fetch_response(
                version,
                request.correlation_id(),
                response,
                &lens,
            )?;
            Ok(Some(Response::Fetch { parts, records }))
        }
        ApiKey::ListOffsets => run_sync(&request, |b| {
            list_offsets::handle(broker, b, version, session)
        }),
        ApiKey::OffsetForLeaderEpoch => run_sync(&request, |b| {
            offset_for_leader_epoch::handle(broker, b, session)
        }),
        ApiKey::Metadata => run(&request, |b| metadata::handle(broker, b, version, session)).await,
        ApiKey::CreateTopics => {
            run(&request, |b| {
                create_topics::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::DeleteTopics => {
            run(&request, |b| {
                delete_topics::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::DeleteRecords => run_sync(&request, |b| delete_records::handle(broker, b, session)),
        ApiKey::DescribeConfigs => run_sync(&request, |b| {
            describe_configs::handle(broker, b, version, session)
        }),
        ApiKey::AlterConfigs => run(&request, |b| alter_configs::handle(broker, b, session)).await,
        // Kafka answers no log dirs without DESCRIBE on the cluster.
        ApiKey::DescribeLogDirs if !broker.authorize_cluster(session, AclOperation::Describe) => {
            run_sync(
                &request,
                |_: kafka_protocol::messages::DescribeLogDirsRequest| {
                    kafka_protocol::messages::DescribeLogDirsResponse::default()
                        .with_error_code(ErrorCode::ClusterAuthorizationFailed.code())
                },
            )
        }
        ApiKey::DescribeLogDirs => {
            run_sync(&request, |b| describe_log_dirs::handle(broker, b, version))
        }
        // Kafka moves no replica without ALTER on the cluster.
        ApiKey::AlterReplicaLogDirs if !broker.authorize_cluster(session, AclOperation::Alter) => {
            run_sync(&request, |b| alter_replica_log_dirs::refuse(&b))
        }
        ApiKey::AlterReplicaLogDirs => {
            run_sync(&request, |b| alter_replica_log_dirs::handle(broker, b))
        }
        ApiKey::CreatePartitions => {
            run(&request, |b| create_partitions::handle(broker, b, session)).await
        }
        ApiKey::IncrementalAlterConfigs => {
            run(&request, |b| {
                incremental_alter_configs::handle(broker, b, session)
            })
            .await
        }
        ApiKey::DescribeCluster => run_sync(&request, |b| {
            describe_cluster::handle(broker, b, version, session)
        }),
        ApiKey::ElectLeaders => {
            if !broker.authorize_cluster(session, AclOperation::Alter) {
                return run_sync(&request, |b| {
                    elect_leaders::refuse_all(&b, ErrorCode::ClusterAuthorizationFailed, session)
                });
            }
            run(&request, |b| elect_leaders::handle(broker, b)).await
        }
        ApiKey::DescribeQuorum => {
            if !broker.authorize_cluster(session, AclOperation::Describe) {
                return run_sync(
                    &request,
                    |_: kafka_protocol::messages::DescribeQuorumRequest| {
                        kafka_protocol::messages::DescribeQuorumResponse::default()
                            .with_error_code(ErrorCode::ClusterAuthorizationFailed.code())
                            .with_error_message(Some(str_bytes(not_authorized_message(
                                session,
                                AclOperation::Describe,
                            ))))
                    },
                );
            }
            run(&request, |b| describe_quorum::handle(broker, b)).await
        }
        ApiKey::DescribeTopicPartitions => run_sync(&request, |b| {
            describe_topic_partitions::handle(broker, b, session)
        }),
        ApiKey::AlterPartitionReassignments => {
            if !broker.authorize_cluster(session, AclOperation::Alter) {
                return run_sync(
                    &request,
                    |_: kafka_protocol::messages::AlterPartitionReassignmentsRequest| {
                        kafka_protocol::messages::AlterPartitionReassignmentsResponse::default()
                            .with_error_code(ErrorCode::ClusterAuthorizationFailed.code())
                            .with_error_message(Some(str_bytes(not_authorized_message(
                                session,
                                AclOperation::Alter,
                            ))))
                    },
                );
            }
            run(&request, |b| {
                alter_partition_reassignments::handle(broker, b, version)
            })
            .await
        }
        ApiKey::ListPartitionReassignments
            if !broker.authorize_cluster(session, AclOperation::Describe) =>
        {
            run_sync(
                &request,
                |_: kafka_protocol::messages::ListPartitionReassignmentsRequest| {
                    kafka_protocol::messages::ListPartitionReassignmentsResponse::default()
                        .with_error_code(ErrorCode::ClusterAuthorizationFailed.code())
                        .with_error_message(Some(str_bytes(not_authorized_message(
                            session,
                            AclOperation::Describe,
                        ))))
                },
            )
        }
        ApiKey::ListPartitionReassignments => run_sync(&request, |b| {
            list_partition_reassignments::handle(broker, b)
        }),
        ApiKey::FindCoordinator => {
            run(&request, |b| {
                find_coordinator::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::JoinGroup => {
            let client_id = request.client_id().to_string();
            run(&request, |b| {
                join_group::handle(broker, b, version, client_id, session)
            })
            .await
        }
        ApiKey::SyncGroup => run(&request, |b| sync_group::handle(broker, b, session)).await,
        ApiKey::Heartbeat => run_sync(&request, |b| heartbeat::handle(broker, b, session)),
        ApiKey::LeaveGroup => {
            run(&request, |b| {
                leave_group::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::OffsetCommit => {
            run(&request, |b| {
                offset_commit::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::OffsetFetch => run_sync(&request, |b| {
            offset_fetch::handle(broker, b, version, session)
        }),
        ApiKey::ListGroups => run_sync(&request, |b| list_groups::handle(broker, b, session)),
        ApiKey::DescribeGroups => run_sync(&request, |b| {
            describe_groups::handle(broker, b, version, session)
        }),
        ApiKey::DeleteGroups => run(&request, |b| delete_groups::handle(broker, b, session)).await,
        ApiKey::OffsetDelete => run(&request, |b| offset_delete::handle(broker, b, session)).await,
        ApiKey::ConsumerGroupHeartbeat => {
            let client_id = request.client_id().to_string();
            run(&request, |b| {
                consumer_group_heartbeat::handle(broker, b, version, client_id, session)
            })
            .await
        }
        ApiKey::ConsumerGroupDescribe => run_sync(&request, |b| {
            consumer_group_describe::handle(broker, b, session)
        }),
        ApiKey::ShareGroupHeartbeat => {
            let client_id = request.client_id().to_string();
            run(&request, |b| {
                share_group_heartbeat::handle(broker, b, client_id, session)
            })
            .await
        }
        ApiKey::ShareGroupDescribe => run_sync(&request, |b| {
            share_group_describe::handle(broker, b, session)
        }),
        ApiKey::DescribeShareGroupOffsets => {
            run(&request, |b| {
                describe_share_group_offsets::handle(broker, b, session)
            })
            .await
        }
        ApiKey::AlterShareGroupOffsets => {
            run(&request, |b| {
                alter_share_group_offsets::handle(broker, b, session)
            })
            .await
        }
        ApiKey::DeleteShareGroupOffsets => {
            run(&request, |b| {
                delete_share_group_offsets::handle(broker, b, session)
            })
            .await
        }
        ApiKey::ShareFetch => run(&request, |b| share_fetch::handle(broker, b, session)).await,
        ApiKey::ShareAcknowledge => {
            run(&request, |b| share_acknowledge::handle(broker, b, session)).await
        }
        // The share-state APIs come from share-partition leaders: Kafka asks CLUSTER_ACTION
        // on the cluster before anything else.
        ApiKey::InitializeShareGroupState
        | ApiKey::ReadShareGroupState
        | ApiKey::WriteShareGroupState
        | ApiKey::DeleteShareGroupState
        | ApiKey::ReadShareGroupStateSummary
            if !broker.authorize_cluster(session, AclOperation::ClusterAction) =>
        {
            match request.api_key {
                ApiKey::InitializeShareGroupState => {
                    run_sync(&request, |b| initialize_share_group_state::refuse(&b))
                }
                ApiKey::ReadShareGroupState => {
                    run_sync(&request, |b| read_share_group_state::refuse(&b))
                }
                ApiKey::WriteShareGroupState => {
                    run_sync(&request, |b| write_share_group_state::refuse(&b))
                }
                ApiKey::DeleteShareGroupState => {
                    run_sync(&request, |b| delete_share_group_state::refuse(&b))
                }
                _ => run_sync(&request, |b| read_share_group_state_summary::refuse(&b)),
            }
        }
        ApiKey::InitializeShareGroupState => {
            run(&request, |b| {
                initialize_share_group_state::handle(broker, b)
            })
            .await
        }
        ApiKey::ReadShareGroupState => {
            run(&request, |b| read_share_group_state::handle(broker, b)).await
        }
        ApiKey::WriteShareGroupState => {
            run(&request, |b| write_share_group_state::handle(broker, b)).await
        }
        ApiKey::DeleteShareGroupState => {
            run(&request, |b| delete_share_group_state::handle(broker, b)).await
        }
        ApiKey::ReadShareGroupStateSummary => run_sync(&request, |b| {
            read_share_group_state_summary::handle(broker, b)
        }),
        ApiKey::AddPartitionsToTxn => {
            run(&request, |b| {
                add_partitions_to_txn::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::AddOffsetsToTxn => {
            run(&request, |b| {
                add_offsets_to_txn::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::EndTxn => run(&request, |b| end_txn::handle(broker, b, version, session)).await,
        ApiKey::DescribeTransactions => {
            run(&request, |b| {
                describe_transactions::handle(broker, b, session)
            })
            .await
        }
        ApiKey::ListTransactions => {
            run_sync(&request, |b| list_transactions::handle(broker, b, session))
        }
        ApiKey::DescribeProducers => {
            run_sync(&request, |b| describe_producers::handle(broker, b, session))
        }
        ApiKey::WriteTxnMarkers => {
            run(&request, |b| write_txn_markers::handle(broker, b, session)).await
        }
        ApiKey::TxnOffsetCommit => {
            run(&request, |b| {
                txn_offset_commit::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::InitProducerId => {
            run(&request, |b| {
                init_producer_id::handle(broker, b, version, session)
            })
            .await
        }
        ApiKey::SaslHandshake => run_sync(&request, sasl_handshake::handle),
        // Kafka: DESCRIBE on the cluster to list credentials, ALTER to change them (the
        // controller's check, with the request in its message).
        ApiKey::DescribeUserScramCredentials
            if !broker.authorize_cluster(session, AclOperation::Describe) =>
        {
            run_sync(&request, |b| describe_user_scram_credentials::refuse(&b))
        }
        ApiKey::DescribeUserScramCredentials => run_sync(&request, |b| {
            describe_user_scram_credentials::handle(broker, b)
        }),
        ApiKey::AlterUserScramCredentials
            if !broker.authorize_cluster(session, AclOperation::Alter) =>
        {
            run_sync(&request, |b| {
                alter_user_scram_credentials::refuse(&b, session)
            })
        }
        ApiKey::AlterUserScramCredentials => {
            run(&request, |b| {
                alter_user_scram_credentials::handle(broker, b)
            })
            .await
        }
        ApiKey::SaslAuthenticate => run_sync(&request, sasl_authenticate::handle),
        // Kafka lists no config resources without DESCRIBE_CONFIGS on the cluster.
        ApiKey::ListConfigResources
            if !broker.authorize_cluster(session, AclOperation::DescribeConfigs) =>
        {
            run_sync(
                &request,
                |_: kafka_protocol::messages::ListConfigResourcesRequest| {
                    kafka_protocol::messages::ListConfigResourcesResponse::default()
                        .with_error_code(ErrorCode::ClusterAuthorizationFailed.code())
                },
            )
        }
        ApiKey::ListConfigResources => run_sync(&request, |b| {
            list_config_resources::handle(broker, b, version)
        }),
        // ACLs: a request naming codes Kafka does not know fails to parse there, which
        // closes the connection.
        ApiKey::CreateAcls => {
            let body: kafka_protocol::messages::CreateAclsRequest = request.decode_body()?;
            create_acls::check(&body).map_err(|reason| invalid_body(&request, reason))?;
            let response = create_acls::handle(broker, body, session).await;
            respond(&request, &response).map(|b| Some(Response::Bytes(b)))
        }
        ApiKey::DescribeAcls => {
            let body: kafka_protocol::messages::DescribeAclsRequest = request.decode_body()?;
            describe_acls::filter_of(&body).map_err(|reason| invalid_body(&request, reason))?;
            let response = describe_acls::handle(broker, body, session);
            respond(&request, &response).map(|b| Some(Response::Bytes(b)))
        }
        ApiKey::DeleteAcls => {
            let body: kafka_protocol::messages::DeleteAclsRequest = request.decode_body()?;
            delete_acls::check(&body).map_err(|reason| invalid_body(&request, reason))?;
            let response = delete_acls::handle(broker, body, session).await;
            respond(&request, &response).map(|b| Some(Response::Bytes(b)))
        }
        other => Err(RequestError::InvalidBody {
            api_key: other,
            api_version: version,
            reason: "unsupported API".into(),
        }),
    }
}

fn invalid_body(request: &RequestFrame, reason: String) -> RequestError {
    RequestError::InvalidBody {
        api_key: request.api_key,
        api_version: request.api_version(),
        reason,
    }
}

fn respond<R: Encodable>(request: &RequestFrame, body: &R) -> Result<Bytes, RequestError> {
    encode_response(
        request.api_key,
        request.api_version(),
        request.correlation_id(),
        body,
    )
}

fn run_sync<Req: Decodable, Resp: Encodable>(
    request: &RequestFrame,
    handler: impl FnOnce(Req) -> Resp,
) -> Result<Option<Response>, RequestError> {
    let body = request.decode_body()?;
    respond(request, &handler(body)).map(|b| Some(Response::Bytes(b)))
}

async fn run<Req: Decodable, Resp: Encodable, F: std::future::Future<Output = Resp>>(
    request: &RequestFrame,
    handler: impl FnOnce(Req) -> F,
) -> Result<Option<Response>, RequestError> {
    let body = request.decode_body()?;
    respond(request, &handler(body).await).map(|b| Some(Response::Bytes(b)))
}
