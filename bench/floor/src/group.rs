//! The consumer-group calls of a group of one, which is all `consumer-perf-test` needs:
//! the floor is every group's coordinator, each joining member is told it leads alone, the
//! assignment it computes comes back to it, and commits are acknowledged and forgotten
//! (so a committed-offset fetch finds none and the consumer starts from
//! `auto.offset.reset`). These calls come once per rebalance or commit interval, not per
//! record, so they cost the benchmark nothing measurable.

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FindCoordinatorResponse, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::request::{encode_response, RequestFrame};

use crate::{Floor, NODE_ID};

/// The member id given to a member joining without one.
const MEMBER_ID: &str = "rafka-floor-member";

/// The response frame to a group call; `None` for any other API.
pub(crate) fn handle(floor: &Floor, request: &RequestFrame) -> anyhow::Result<Option<Bytes>> {
    let version = request.api_version();
    let correlation_id = request.correlation_id();
    let key = request.api_key;
    let frame = match key {
        ApiKey::FindCoordinator => {
            let response = FindCoordinatorResponse::default()
                .with_node_id(BrokerId(NODE_ID))
                .with_host(StrBytes::from_string(floor.host.clone()))
                .with_port(floor.port);
            encode_response(key, version, correlation_id, &response)?
        }
        ApiKey::JoinGroup => {
            let body: JoinGroupRequest = request.decode_body()?;
            encode_response(key, version, correlation_id, &join_group(body))?
        }
        ApiKey::SyncGroup => {
            let body: SyncGroupRequest = request.decode_body()?;
            let assignment = body
                .assignments
                .into_iter()
                .find(|a| a.member_id == body.member_id)
                .map(|a| a.assignment)
                .unwrap_or_default();
            let response = SyncGroupResponse::default()
                .with_protocol_type(body.protocol_type)
                .with_protocol_name(body.protocol_name)
                .with_assignment(assignment);
            encode_response(key, version, correlation_id, &response)?
        }
        ApiKey::Heartbeat => {
            encode_response(key, version, correlation_id, &HeartbeatResponse::default())?
        }
        ApiKey::LeaveGroup => {
            let body: LeaveGroupRequest = request.decode_body()?;
            let members = body
                .members
                .into_iter()
                .map(|m| {
                    MemberResponse::default()
                        .with_member_id(m.member_id)
                        .with_group_instance_id(m.group_instance_id)
                })
                .collect();
            let response = LeaveGroupResponse::default().with_members(members);
            encode_response(key, version, correlation_id, &response)?
        }
        ApiKey::OffsetCommit => {
            let body: OffsetCommitRequest = request.decode_body()?;
            encode_response(key, version, correlation_id, &offset_commit(body))?
        }
        ApiKey::OffsetFetch => {
            let body: OffsetFetchRequest = request.decode_body()?;
            encode_response(key, version, correlation_id, &offset_fetch(body))?
        }
        _ => return Ok(None),
    };
    Ok(Some(frame))
}

/// The joining member leads a group of itself, with the first protocol it offers.
fn join_group(request: JoinGroupRequest) -> JoinGroupResponse {
    let member_id = if request.member_id.is_empty() {
        StrBytes::from_static_str(MEMBER_ID)
    } else {
        request.member_id
    };
    let protocol = request.protocols.into_iter().next().unwrap_or_default();
    JoinGroupResponse::default()
        .with_generation_id(1)
        .with_protocol_type(Some(request.protocol_type))
        .with_protocol_name(Some(protocol.name))
        .with_leader(member_id.clone())
        .with_member_id(member_id.clone())
        .with_members(vec![JoinGroupResponseMember::default()
            .with_member_id(member_id)
            .with_group_instance_id(request.group_instance_id)
            .with_metadata(protocol.metadata)])
}

/// Every commit succeeds, and is forgotten.
fn offset_commit(request: OffsetCommitRequest) -> OffsetCommitResponse {
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let partitions = topic.partitions.iter().map(|p| {
            OffsetCommitResponsePartition::default().with_partition_index(p.partition_index)
        });
        topics.push(
            OffsetCommitResponseTopic::default()
                .with_name(topic.name)
                .with_partitions(partitions.collect()),
        );
    }
    OffsetCommitResponse::default().with_topics(topics)
}

/// No committed offset (-1) for every partition asked about.
fn offset_fetch(request: OffsetFetchRequest) -> OffsetFetchResponse {
    let topics = request
        .topics
        .unwrap_or_default()
        .into_iter()
        .map(|topic| {
            OffsetFetchResponseTopic::default()
                .with_name(topic.name)
                .with_partitions(
                    topic
                        .partition_indexes
                        .iter()
                        .map(|&index| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(index)
                                .with_committed_offset(-1)
                                .with_committed_leader_epoch(-1)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}
