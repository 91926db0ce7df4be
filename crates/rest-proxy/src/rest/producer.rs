//! The proxy's one producer (librdkafka through rdkafka), shared by every produce request
//! of v2 and v3, configured from `producer.*`/`client.*`.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer};
use rdkafka::ClientConfig;

use crate::kafka::{future_record, RecordParts};

/// One record to produce; absent fields are librdkafka's defaults (partitioner, now).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub partition: Option<i32>,
    pub timestamp_ms: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Where a record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
}

/// Why a record was not written: Kafka's error code (librdkafka's for local errors,
/// which are negative) and the client's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProduceError {
    pub code: RDKafkaErrorCode,
    pub message: String,
}

impl ProduceError {
    fn from_kafka(e: &KafkaError) -> ProduceError {
        ProduceError {
            code: e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
            message: e.to_string(),
        }
    }

    /// Whether Kafka's client would call this a `RetriableException`.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self.code,
            RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotEnoughReplicas
                | RDKafkaErrorCode::NotEnoughReplicasAfterAppend
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::QueueFull
                | RDKafkaErrorCode::UnknownTopicOrPartition
        )
    }

    /// Confluent's `error_code` for it (`Errors.codeFromProducerException`).
    pub fn error_code(&self) -> u32 {
        if self.is_retriable() {
            super::errors::KAFKA_RETRIABLE_ERROR_ERROR_CODE
        } else {
            super::errors::KAFKA_ERROR_ERROR_CODE
        }
    }

    /// Confluent's answer to it in API v3, where the exception mapper decides
    /// (rest-utils' `KafkaExceptionMapper`): a record too large is 413, an unknown
    /// topic or partition 40403, an authorization failure 40301, the rest as in v2.
    pub fn v3_error_code(&self) -> u32 {
        match self.code {
            _ if self.is_record_too_large() => 413,
            RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => 40403,
            RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed => 40301,
            RDKafkaErrorCode::SaslAuthenticationFailed => 40101,
            _ => self.error_code(),
        }
    }

    pub fn is_record_too_large(&self) -> bool {
        matches!(
            self.code,
            RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize
        )
    }
}

pub struct Producer {
    inner: FutureProducer,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Producer")
    }
}

/// How long a record may wait for room in librdkafka's queue.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(5);

impl Producer {
    pub fn new(settings: &BTreeMap<String, String>) -> Result<Producer, KafkaError> {
        let mut config = ClientConfig::new();
        for (k, v) in settings {
            config.set(k, v);
        }
        Ok(Producer {
            inner: config.create()?,
        })
    }

    /// Produces `records` to `topic`, answering one result per record in order. Records
    /// are queued together (so librdkafka batches them).
    pub async fn send_all(
        &self,
        topic: &str,
        records: &[OutgoingRecord],
    ) -> Vec<Result<Delivered, ProduceError>> {
        let mut queued = Vec::with_capacity(records.len());
        for record in records {
            queued.push(self.enqueue(topic, record).await);
        }
        let mut results = Vec::with_capacity(records.len());
        for (record, queued) in records.iter().zip(queued) {
            results.push(self.deliver(topic, record, queued).await);
        }
        results
    }

    /// Waits for a queued record. One the broker refused as too large — the batch it was
    /// in may have been refused for its size — is sent again alone, as Kafka's Java
    /// producer splits such a batch, so that it fails alone.
    pub async fn deliver(
        &self,
        topic: &str,
        record: &OutgoingRecord,
        queued: Result<DeliveryFuture, ProduceError>,
    ) -> Result<Delivered, ProduceError> {
        let result = match queued {
            Ok(future) => Self::delivered(future).await,
            Err(e) => Err(e),
        };
        match result {
            Err(e) if e.is_record_too_large() => {
                Self::delivered(self.enqueue(topic, record).await?).await
            }
            other => other,
        }
    }

    /// Hands `record` to librdkafka (waiting for room in its queue).
    pub async fn enqueue(
        &self,
        topic: &str,
        record: &OutgoingRecord,
    ) -> Result<DeliveryFuture, ProduceError> {
        loop {
            let headers: Vec<(&str, Option<&[u8]>)> = record
                .headers
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_deref()))
                .collect();
            let parts = RecordParts {
                key: record.key.as_deref(),
                value: record.value.as_deref(),
                partition: record.partition,
                timestamp_ms: record.timestamp_ms,
            };
            let future_record = future_record(topic, parts, &headers);
            match self.inner.send_result(future_record) {
                Ok(future) => return Ok(future),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's own thread drains the queue; wait for room.
                    tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
                }
                Err((e, _)) => return Err(ProduceError::from_kafka(&e)),
            }
        }
    }

    async fn delivered(future: DeliveryFuture) -> Result<Delivered, ProduceError> {
        match future.await {
            Ok(Ok(delivery)) => Ok(Delivered {
                partition: delivery.partition,
                offset: delivery.offset,
                timestamp_ms: delivery.timestamp.to_millis(),
            }),
            Ok(Err((e, _))) => Err(ProduceError::from_kafka(&e)),
            Err(_) => Err(ProduceError {
                code: RDKafkaErrorCode::Fail,
                message: "the producer was closed before the record was delivered".to_string(),
            }),
        }
    }
}
