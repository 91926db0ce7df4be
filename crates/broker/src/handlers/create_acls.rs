//! CreateAcls (Kafka's `AclApis.handleCreateAcls`): cluster ALTER, then each binding
//! checked (the CLUSTER resource's one name, a non-empty name, then the controller's
//! `validateNewAcl`) and the valid ones added through the controller.

use std::sync::Arc;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use rafka_protocol::ErrorCode;
use rafka_security::acl::{
    AccessControlEntry, AclBinding, AclOperation, AclPermissionType, PatternType, ResourcePattern,
    ResourceType,
};

use super::str_bytes;
use crate::acl_store::CLUSTER_NAME;
use crate::broker::Broker;
use crate::session::Session;

/// Kafka refuses to parse a request naming a code it does not know
/// (`CreateAclsRequest.validate`), which closes the connection.
pub(super) fn check(request: &CreateAclsRequest) -> Result<(), String> {
    match request.creations.iter().find(|c| has_unknown(c)) {
        Some(_) => Err("CreatableAcls contain unknown elements".to_string()),
        None => Ok(()),
    }
}

fn has_unknown(c: &AclCreation) -> bool {
    ResourceType::from_code(c.resource_type) == ResourceType::Unknown
        || PatternType::from_code(c.resource_pattern_type) == PatternType::Unknown
        || AclOperation::from_code(c.operation) == AclOperation::Unknown
        || AclPermissionType::from_code(c.permission_type) == AclPermissionType::Unknown
}

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: CreateAclsRequest,
    session: &Session,
) -> CreateAclsResponse {
    let all_fail = |code: ErrorCode, message: Option<String>| {
        let results = request
            .creations
            .iter()
            .map(|_| {
                AclCreationResult::default()
                    .with_error_code(code.code())
                    .with_error_message(message.clone().map(str_bytes))
            })
            .collect();
        CreateAclsResponse::default().with_results(results)
    };
    if let Some((code, message)) = broker.acl_change_refusal(session) {
        return all_fail(code, Some(message));
    }
    // Kafka builds every binding before checking any: a pattern or entry of ANY (or
    // MATCH) cannot be built, and the whole request fails with UNKNOWN_SERVER_ERROR and
    // no message.
    if request.creations.iter().any(|c| {
        ResourceType::from_code(c.resource_type) == ResourceType::Any
            || matches!(
                PatternType::from_code(c.resource_pattern_type),
                PatternType::Any | PatternType::Match
            )
            || AclOperation::from_code(c.operation) == AclOperation::Any
            || AclPermissionType::from_code(c.permission_type) == AclPermissionType::Any
    }) {
        return all_fail(ErrorCode::UnknownServerError, None);
    }
    // Each creation's refusal, or its binding to add.
    let checked: Vec<Result<AclBinding, String>> = request
        .creations
        .iter()
        .map(|c| {
            let binding = binding_of(c);
            let pattern = &binding.pattern;
            if pattern.resource_type == ResourceType::Cluster && pattern.name != CLUSTER_NAME {
                return Err(format!(
                    "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
                ));
            }
            if pattern.name.is_empty() {
                return Err("Invalid empty resource name".into());
            }
            binding.validate().map_err(|e| e.0)?;
            Ok(binding)
        })
        .collect();
    let valid: Vec<AclBinding> = checked.iter().filter_map(|c| c.clone().ok()).collect();
    let stored = if valid.is_empty() {
        Ok(())
    } else {
        broker.create_acls(&valid).await
    };
    let results = checked
        .into_iter()
        .map(|c| match (c, &stored) {
            (Err(message), _) => AclCreationResult::default()
                .with_error_code(ErrorCode::InvalidRequest.code())
                .with_error_message(Some(str_bytes(message))),
            (Ok(_), Err(e)) => AclCreationResult::default()
                .with_error_code(e.code.code())
                .with_error_message(e.message.clone().map(str_bytes)),
            (Ok(_), Ok(())) => AclCreationResult::default(),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

fn binding_of(c: &AclCreation) -> AclBinding {
    AclBinding {
        pattern: ResourcePattern {
            resource_type: ResourceType::from_code(c.resource_type),
            name: c.resource_name.to_string(),
            pattern_type: PatternType::from_code(c.resource_pattern_type),
        },
        entry: AccessControlEntry {
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: AclOperation::from_code(c.operation),
            permission: AclPermissionType::from_code(c.permission_type),
        },
    }
}
