//! DeleteTopics by name (v0-5) or by name or id (v6+). The partition directories are gone
//! from disk when the answer is sent, so the name can be re-created at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use rafka_protocol::ErrorCode;

use super::{message, str_bytes};
use crate::broker::Broker;
use crate::error::ApiError;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DeleteTopicsRequest,
    version: i16,
    session: &Session,
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
    // Kafka's ControllerApis: malformed entries are answered first, then each name or id
    // given twice once, then the rest.
    let mut responses = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids: BTreeMap<uuid::Uuid, usize> = BTreeMap::new();
    for (name, topic_id) in &wanted {
        match name {
            Some(n) if topic_id.is_nil() => *names.entry(n.to_string()).or_insert(0) += 1,
            None if !topic_id.is_nil() => *ids.entry(*topic_id).or_insert(0) += 1,
            _ => {}
        }
    }
    let on_cluster = broker.authorize_cluster(session, AclOperation::Delete);
    let mut valid = Vec::new();
    for (name, topic_id) in wanted {
        let refusal = match (&name, topic_id.is_nil()) {
            (None, true) => Some("Neither topic name nor id were specified."),
            (Some(_), false) => Some("You may not specify both topic name and topic id."),
            _ => None,
        };
        match refusal {
            Some(text) => responses.push(result(
                name,
                topic_id,
                Err(ApiError::new(ErrorCode::InvalidRequest, text)),
            )),
            None => valid.push((name, topic_id)),
        }
    }
    for (name, count) in &names {
        if *count > 1 {
            responses.push(result(
                Some(TopicName(str_bytes(name.clone()))),
                uuid::Uuid::nil(),
                Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "Duplicate topic name.",
                )),
            ));
        }
    }
    for (id, count) in &ids {
        if *count > 1 {
            responses.push(result(
                None,
                *id,
                Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "Duplicate topic id.",
                )),
            ));
        }
    }
    for (name, topic_id) in valid {
        let repeated = match &name {
            Some(n) => names[n.as_str()] > 1,
            None => ids[&topic_id] > 1,
        };
        if repeated {
            continue;
        }
        let topic = match &name {
            Some(n) => broker.topic(n.as_str()),
            None => broker.topic_by_id(&topic_id),
        };
        // Kafka's ControllerApis.deleteTopics: DELETE on the cluster, or on the topic.
        let topic_name = match (&name, &topic) {
            (Some(n), _) => Some(n.to_string()),
            (None, Some(t)) => Some(t.name.to_string()),
            (None, None) => None,
        };
        let authorized = on_cluster
            || topic_name
                .as_ref()
                .is_none_or(|n| broker.authorize_topic(session, n, AclOperation::Delete));
        let outcome = match &topic {
            _ if !authorized => Err(ApiError::code(ErrorCode::TopicAuthorizationFailed)),
            Some(topic) if topic.is_internal() => Err(ApiError::new(
                ErrorCode::InvalidTopicException,
                format!("Topic {} is internal and cannot be deleted", topic.name),
            )),
            Some(topic) => broker.delete_topic(topic).await,
            None if name.is_none() => Err(ApiError::new(
                ErrorCode::UnknownTopicId,
                "This server does not host this topic ID.",
            )),
            None => Err(ApiError::new(
                ErrorCode::UnknownTopicOrPartition,
                "This server does not host this topic-partition.",
            )),
        };
        let name = name.or_else(|| {
            topic
                .as_ref()
                .map(|t| TopicName(str_bytes(t.name.to_string())))
        });
        let topic_id = topic.as_ref().map_or(topic_id, |t| t.topic_id);
        responses.push(result(name, topic_id, outcome));
    }
    DeleteTopicsResponse::default().with_responses(responses)
}

fn result(
    name: Option<TopicName>,
    topic_id: uuid::Uuid,
    outcome: Result<(), ApiError>,
) -> DeletableTopicResult {
    let response = DeletableTopicResult::default()
        .with_name(name)
        .with_topic_id(topic_id);
    match outcome {
        Ok(()) => response.with_error_message(None),
        Err(e) => response
            .with_error_code(e.code.code())
            .with_error_message(message(e.message)),
    }
}
