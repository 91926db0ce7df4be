//! ListTransactions: the transactional ids this broker coordinates, filtered by state,
//! producer id, how long they have been open (v1) and id pattern (v2).

use std::sync::Arc;

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use rafka_coordinator::txn::records::TxnState;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ListTransactionsRequest,
    session: &crate::session::Session,
) -> ListTransactionsResponse {
    let pattern = match request
        .transactional_id_pattern
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => Some(re),
            Err(_) => {
                return ListTransactionsResponse::default()
                    .with_error_code(ErrorCode::InvalidRegularExpression.code())
            }
        },
        None => None,
    };
    let mut unknown = Vec::new();
    let mut states = Vec::new();
    for filter in &request.state_filters {
        match TxnState::from_name(filter.as_str()) {
            Some(state) => states.push(state),
            None => unknown.push(filter.clone()),
        }
    }
    let filtering_states = !request.state_filters.is_empty();
    let now_ms = broker.clock.now_ms();
    let listed = broker
        .txns
        .all()
        .into_iter()
        .filter(|t| broker.txns_coordinates(&t.transactional_id))
        // Kafka lists the transactional ids the principal may describe.
        .filter(|t| {
            broker.authorize_transactional_id(
                session,
                &t.transactional_id,
                rafka_security::acl::AclOperation::Describe,
            )
        })
        .filter(|t| !filtering_states || states.contains(&t.state))
        .filter(|t| {
            request.producer_id_filters.is_empty()
                || request
                    .producer_id_filters
                    .contains(&ProducerId(t.producer_id))
        })
        .filter(|t| request.duration_filter < 0 || now_ms - t.start_ms > request.duration_filter)
        .filter(|t| {
            pattern
                .as_ref()
                .is_none_or(|re| re.is_match(&t.transactional_id))
        })
        .map(|t| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(t.transactional_id)))
                .with_producer_id(ProducerId(t.producer_id))
                .with_transaction_state(StrBytes::from_static_str(t.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(listed)
}
