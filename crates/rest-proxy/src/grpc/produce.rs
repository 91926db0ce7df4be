//! `Produce` and `ProduceStream`: records handed to the shared librdkafka producer, one
//! ack per record in the order the client sent them.
//!
//! Records are enqueued without waiting for their acks (librdkafka batches them); when
//! its queue is full the oldest outstanding ack is awaited first, so memory stays bounded
//! by the producer's `queue.buffering.max.*` and the client's sending is held back by
//! HTTP/2 flow control while the stream is not read.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::DeliveryFuture;
use tonic::Code;

use super::clients::{blocking, require_topic, Clients};
use super::error::{kafka_code, ServiceError};
use super::pb::{ProduceRequest, ProduceResponse, RecordAck};
use crate::kafka::{future_record, RecordParts};

/// How long to back off when the producer's queue is full of other calls' records.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(5);

/// The records of one call, from the first enqueued to the last ack.
pub(super) struct Produced {
    clients: Arc<Clients>,
    /// Partition counts of the topics seen so far (checked once per topic per call).
    partitions: HashMap<String, usize>,
    acks: Vec<RecordAck>,
    /// Records enqueued whose acks are outstanding, oldest first, by index into `acks`.
    in_flight: VecDeque<(usize, DeliveryFuture)>,
}

impl std::fmt::Debug for Produced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Produced")
            .field("records", &self.acks.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Produced {
    pub(super) fn new(clients: Arc<Clients>) -> Produced {
        Produced {
            clients,
            partitions: HashMap::new(),
            acks: Vec::new(),
            in_flight: VecDeque::new(),
        }
    }

    /// Checks `request` (topic exists, explicit partitions exist) and enqueues its records.
    /// Fails without enqueuing any of them when the request is wrong.
    pub(super) async fn enqueue(&mut self, request: ProduceRequest) -> Result<(), ServiceError> {
        require_topic(&request.topic)?;
        let partitions = match self.partitions.get(&request.topic) {
            Some(count) => *count,
            None => {
                let (clients, topic) = (self.clients.clone(), request.topic.clone());
                let count = blocking(move || clients.partition_count(&topic)).await?;
                self.partitions.insert(request.topic.clone(), count);
                count
            }
        };
        for (index, record) in request.records.iter().enumerate() {
            if let Some(partition) = record.partition {
                if partition < 0 {
                    return Err(ServiceError::InvalidArgument(format!(
                        "record {index}: partition {partition} is negative"
                    )));
                }
                if partition as usize >= partitions {
                    return Err(ServiceError::UnknownPartition {
                        topic: request.topic.clone(),
                        partition,
                        partitions,
                    });
                }
            }
        }
        for record in &request.records {
            let index = self.acks.len();
            self.acks.push(RecordAck {
                partition: record.partition.unwrap_or(-1),
                offset: -1,
                error_code: Code::Unknown as i32,
                error_message: String::new(),
            });
            let headers: Vec<(&str, Option<&[u8]>)> = record
                .headers
                .iter()
                .map(|h| (h.key.as_str(), Some(h.value.as_slice())))
                .collect();
            let parts = RecordParts {
                key: record.key.as_deref(),
                value: record.value.as_deref(),
                partition: record.partition,
                timestamp_ms: record.timestamp_ms,
            };
            let mut future_record = future_record(&request.topic, parts, &headers);
            loop {
                match self.clients.producer.send_result(future_record) {
                    Ok(delivery) => {
                        self.in_flight.push_back((index, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        future_record = back;
                        match self.in_flight.pop_front() {
                            Some((oldest, delivery)) => self.settle(oldest, delivery).await,
                            None => tokio::time::sleep(QUEUE_FULL_BACKOFF).await,
                        }
                    }
                    Err((err, _)) => {
                        self.fail(index, &request.topic, &err);
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Waits for every outstanding ack.
    pub(super) async fn finish(mut self) -> ProduceResponse {
        while let Some((index, delivery)) = self.in_flight.pop_front() {
            self.settle(index, delivery).await;
        }
        let failed = self
            .acks
            .iter()
            .filter(|ack| ack.error_code != Code::Ok as i32)
            .count() as u64;
        ProduceResponse {
            acks: self.acks,
            failed,
        }
    }

    async fn settle(&mut self, index: usize, delivery: DeliveryFuture) {
        match delivery.await {
            Ok(Ok(delivered)) => {
                let ack = &mut self.acks[index];
                ack.partition = delivered.partition;
                ack.offset = delivered.offset;
                ack.error_code = Code::Ok as i32;
            }
            Ok(Err((err, message))) => {
                let topic = rdkafka::Message::topic(&message).to_string();
                self.fail(index, &topic, &err);
            }
            Err(_canceled) => {
                let ack = &mut self.acks[index];
                ack.error_code = Code::Unavailable as i32;
                ack.error_message =
                    "the producer stopped before the record was acknowledged".to_string();
            }
        }
    }

    fn fail(&mut self, index: usize, topic: &str, err: &KafkaError) {
        let ack = &mut self.acks[index];
        ack.error_code = kafka_code(err) as i32;
        ack.error_message = format!("produce to topic {topic}: {err}");
    }
}
