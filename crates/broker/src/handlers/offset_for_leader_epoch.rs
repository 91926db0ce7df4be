//! OffsetForLeaderEpoch: the end offset of a leader epoch in the leader's log (the start
//! of the next epoch, or the log end for the current one). Followers truncate divergent
//! tails with it after a leader change; clients validate their position with it (KIP-320).

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use rafka_types::LeaderEpoch;

use crate::broker::Broker;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: OffsetForLeaderEpochRequest,
    session: &crate::session::Session,
) -> OffsetForLeaderEpochResponse {
    // Kafka: CLUSTER_ACTION (the followers) allows every topic, else DESCRIBE on each.
    let cluster_action =
        broker.authorize_cluster(session, rafka_security::acl::AclOperation::ClusterAction);
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let authorized = cluster_action
                || broker.authorize_topic(
                    session,
                    topic.topic.as_str(),
                    rafka_security::acl::AclOperation::Describe,
                );
            let partitions = topic
                .partitions
                .into_iter()
                .map(|wanted| {
                    let result = super::support::authorized_partition(
                        broker,
                        topic.topic.as_str(),
                        wanted.partition,
                        authorized,
                    )
                    .and_then(|p| {
                        p.check_leader_epoch(LeaderEpoch(wanted.current_leader_epoch))?;
                        Ok(p.end_offset_for_epoch(LeaderEpoch(wanted.leader_epoch)))
                    });
                    let answer = EpochEndOffset::default().with_partition(wanted.partition);
                    match result {
                        Ok((epoch, end)) => {
                            answer.with_leader_epoch(epoch.0).with_end_offset(end.0)
                        }
                        Err(e) => answer
                            .with_error_code(e.code.code())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
