//! DeleteTopics by name (v0-5) or by name or id (v6+). The partition directories are gone
//! from disk when the answer is sent, so the name can be re-created at once.

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use rafka_protocol::ErrorCode;

use super::{message, str_bytes};
use crate::broker::{ApiError, Broker};

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let wanted: Vec<(Option<TopicName>, uuid::Uuid)> = if version >= 6 {
        request
            .topics
            .into_iter()
            .map(|t| (t.name, t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|n| (Some(n), uuid::Uuid::nil()))
            .collect()
    };
    let responses = wanted
        .into_iter()
        .map(|(name, topic_id)| {
            let topic = match &name {
                Some(n) => broker.topic(n.as_str()),
                None => broker.topic_by_id(&topic_id),
            };
            let result = match &topic {
                Some(topic) if topic.is_internal() => Err(ApiError::new(
                    ErrorCode::InvalidTopicException,
                    format!("Topic {} is internal and cannot be deleted", topic.name),
                )),
                Some(topic) => broker.delete_topic(topic),
                None if name.is_none() => Err(ApiError::code(ErrorCode::UnknownTopicId)),
                None => Err(ApiError::new(
                    ErrorCode::UnknownTopicOrPartition,
                    "This server does not host this topic-partition.",
                )),
            };
            let response = DeletableTopicResult::default()
                .with_name(name.or_else(|| {
                    topic
                        .as_ref()
                        .map(|t| TopicName(str_bytes(t.name.to_string())))
                }))
                .with_topic_id(topic.as_ref().map_or(topic_id, |t| t.topic_id));
            match result {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}
