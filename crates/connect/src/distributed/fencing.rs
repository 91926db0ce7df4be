//! Zombie fencing for exactly-once source tasks: Kafka's `Admin.fenceProducers`, which
//! rdkafka does not offer, as raw requests through `rafka-client`.
//!
//! For each transactional id: FindCoordinator (key type TRANSACTION) on the bootstrap
//! servers, then InitProducerId with that id and no producer id or epoch at the
//! coordinator. The coordinator bumps the id's epoch, so a producer still holding the old
//! epoch (a zombie task) is fenced, and it aborts the zombie's open transaction first
//! (answering CONCURRENT_TRANSACTIONS meanwhile). Retries follow Kafka's
//! `FenceProducersHandler`: CONCURRENT_TRANSACTIONS and COORDINATOR_LOAD_IN_PROGRESS retry
//! at the same coordinator, NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE look it up
//! again, anything else fails the round.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use rafka_client::{connect_within_secured, ClientSecurity, WireClient};
use tokio::time::Instant;

use super::member::coordinator_address;
use crate::error::RuntimeError;

/// FindCoordinator's key type for transactional ids.
const KEY_TYPE_TRANSACTION: i8 = 1;
/// `FenceProducersOptions`' default transaction timeout (the producer default).
const TRANSACTION_TIMEOUT_MS: i32 = 60_000;
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why one attempt did not fence the id.
enum Attempt {
    /// Try again at the same coordinator.
    Retry(String),
    /// Find the coordinator again.
    Rediscover(String),
    Fatal(String),
}

/// Fences every id in `transactional_ids` within `timeout` (Kafka's worker uses its
/// REST request timeout).
pub async fn fence_producers(
    bootstrap_servers: &str,
    security: &ClientSecurity,
    transactional_ids: &[String],
    timeout: Duration,
) -> Result<(), RuntimeError> {
    let deadline = Instant::now() + timeout;
    for id in transactional_ids {
        fence_one(bootstrap_servers, security, id, deadline).await?;
        tracing::debug!("Fenced transactional id {id}");
    }
    Ok(())
}

async fn fence_one(
    bootstrap: &str,
    security: &ClientSecurity,
    id: &str,
    deadline: Instant,
) -> Result<(), RuntimeError> {
    let mut coordinator: Option<WireClient> = None;
    loop {
        let attempt = match coordinator.as_mut() {
            None => match find_coordinator(bootstrap, security, id).await {
                Ok(found) => {
                    coordinator = Some(found);
                    continue;
                }
                Err(e) => Attempt::Rediscover(e),
            },
            Some(client) => match init_producer_id(client, id).await {
                Ok(()) => return Ok(()),
                Err(attempt) => attempt,
            },
        };
        let last = match attempt {
            Attempt::Fatal(message) => return Err(RuntimeError::Internal(message)),
            Attempt::Retry(message) => message,
            Attempt::Rediscover(message) => {
                coordinator = None;
                message
            }
        };
        if Instant::now() + RETRY_BACKOFF >= deadline {
            return Err(RuntimeError::Internal(format!(
                "Timed out while fencing out producer with transactional id {id}: {last}"
            )));
        }
        tokio::time::sleep(RETRY_BACKOFF).await;
    }
}

fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(error) => format!("{error:?}"),
        None => format!("error code {code}"),
    }
}

async fn find_coordinator(
    bootstrap: &str,
    security: &ClientSecurity,
    id: &str,
) -> Result<WireClient, String> {
    let address = coordinator_address(
        bootstrap,
        security,
        id,
        KEY_TYPE_TRANSACTION,
        CALL_TIMEOUT,
        CALL_TIMEOUT,
    )
    .await
    .map_err(|e| format!("FindCoordinator for transactional id {id}: {e}"))?;
    connect_within_secured(&address, CALL_TIMEOUT, security)
        .await
        .map_err(|e| e.to_string())
}

async fn init_producer_id(client: &mut WireClient, id: &str) -> Result<(), Attempt> {
    let version = client
        .version_for(ApiKey::InitProducerId, 4)
        .map_err(|e| Attempt::Fatal(e.to_string()))?;
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_string(id.to_string()))))
        .with_transaction_timeout_ms(TRANSACTION_TIMEOUT_MS)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let response: InitProducerIdResponse = client
        .call_within(ApiKey::InitProducerId, version, &request, CALL_TIMEOUT)
        .await
        .map_err(|e| Attempt::Rediscover(e.to_string()))?;
    let code = response.error_code;
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(ResponseError::CoordinatorLoadInProgress | ResponseError::ConcurrentTransactions) => {
            Err(Attempt::Retry(error_name(code)))
        }
        Some(ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable) => {
            Err(Attempt::Rediscover(error_name(code)))
        }
        Some(_) => Err(Attempt::Fatal(format!(
            "InitProducerId request for transactionalId `{id}` failed due to unexpected error: {}",
            error_name(code)
        ))),
    }
}
