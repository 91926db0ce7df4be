//! DescribeTransactions: the coordinator's state of each transactional id.

use std::sync::Arc;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};

use super::transactions::coordinator;
use crate::broker::Broker;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DescribeTransactionsRequest,
    session: &crate::session::Session,
) -> DescribeTransactionsResponse {
    let (env, txns) = coordinator(broker);
    let states = request
        .transactional_ids
        .into_iter()
        .map(|id| {
            let base = TransactionState::default().with_transactional_id(id.clone());
            // Kafka: DESCRIBE on the transactional id.
            if !broker.authorize_transactional_id(
                session,
                id.as_str(),
                rafka_security::acl::AclOperation::Describe,
            ) {
                return base.with_error_code(
                    rafka_protocol::ErrorCode::TransactionalIdAuthorizationFailed.code(),
                );
            }
            match txns.describe(&env, id.as_str()) {
                Ok(txn) => {
                    let mut topics: Vec<TopicData> = Vec::new();
                    for (topic, partition) in &txn.partitions {
                        match topics.iter_mut().find(|t| t.topic.as_str() == topic) {
                            Some(t) => t.partitions.push(*partition),
                            None => topics.push(
                                TopicData::default()
                                    .with_topic(TopicName(topic.clone().into()))
                                    .with_partitions(vec![*partition]),
                            ),
                        }
                    }
                    base.with_transaction_state(txn.state.name().into())
                        .with_transaction_timeout_ms(txn.timeout_ms)
                        .with_transaction_start_time_ms(txn.start_ms)
                        .with_producer_id(ProducerId(txn.producer_id))
                        .with_producer_epoch(txn.producer_epoch)
                        .with_topics(topics)
                }
                Err(e) => base.with_error_code(e.code()),
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
