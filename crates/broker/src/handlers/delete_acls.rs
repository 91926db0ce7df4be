//! DeleteAcls (Kafka's `AclApis.handleDeleteAcls` and the controller's
//! `AclControlManager.deleteAcls`): cluster ALTER, then for each filter the bindings it
//! matches (a binding two filters match is listed under both, as Kafka 4.1 answers), all
//! removed through the controller.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use rafka_protocol::ErrorCode;
use rafka_security::acl::{
    AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourceType,
};

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;

fn filter_of(f: &DeleteAclsFilter) -> AclBindingFilter {
    AclBindingFilter {
        resource_type: ResourceType::from_code(f.resource_type_filter),
        name: f.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(f.pattern_type_filter),
        principal: f.principal_filter.as_ref().map(|s| s.to_string()),
        host: f.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(f.operation),
        permission: AclPermissionType::from_code(f.permission_type),
    }
}

/// Kafka refuses to parse filters naming a code it does not know
/// (`DeleteAclsRequest.normalizeAndValidate`), which closes the connection.
pub(super) fn check(request: &DeleteAclsRequest) -> Result<(), String> {
    match request
        .filters
        .iter()
        .find(|f| filter_of(f).validate().is_err())
    {
        Some(_) => Err("Filters contain UNKNOWN elements".into()),
        None => Ok(()),
    }
}

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DeleteAclsRequest,
    session: &Session,
) -> DeleteAclsResponse {
    let all_fail = |code: ErrorCode, message: Option<String>| {
        let results = request
            .filters
            .iter()
            .map(|_| {
                DeleteAclsFilterResult::default()
                    .with_error_code(code.code())
                    .with_error_message(message.clone().map(str_bytes))
            })
            .collect();
        DeleteAclsResponse::default().with_filter_results(results)
    };
    if let Some((code, message)) = broker.acl_change_refusal(session) {
        return all_fail(code, Some(message));
    }
    let bindings = broker.acl_bindings();
    let mut deleted: HashSet<uuid::Uuid> = HashSet::new();
    let mut matched: Vec<Result<Vec<DeleteAclsMatchingAcl>, String>> = Vec::new();
    for f in &request.filters {
        let filter = filter_of(f);
        if let Err(e) = filter.validate() {
            matched.push(Err(e.0));
            continue;
        }
        let mut acls = Vec::new();
        for (id, binding) in &bindings {
            if !filter.matches(binding) {
                continue;
            }
            deleted.insert(*id);
            acls.push(
                DeleteAclsMatchingAcl::default()
                    .with_error_code(0)
                    .with_error_message(None)
                    .with_resource_type(binding.pattern.resource_type.code())
                    .with_resource_name(str_bytes(binding.pattern.name.clone()))
                    .with_pattern_type(binding.pattern.pattern_type.code())
                    .with_principal(str_bytes(binding.entry.principal.clone()))
                    .with_host(str_bytes(binding.entry.host.clone()))
                    .with_operation(binding.entry.operation.code())
                    .with_permission_type(binding.entry.permission.code()),
            );
        }
        matched.push(Ok(acls));
    }
    let removed = broker.delete_acls(deleted.into_iter().collect()).await;
    let results = matched
        .into_iter()
        .map(|m| match (m, &removed) {
            (Err(message), _) => DeleteAclsFilterResult::default()
                .with_error_code(ErrorCode::InvalidRequest.code())
                .with_error_message(Some(str_bytes(message))),
            (Ok(_), Err(e)) => DeleteAclsFilterResult::default()
                .with_error_code(e.code.code())
                .with_error_message(e.message.clone().map(str_bytes)),
            (Ok(acls), Ok(())) => DeleteAclsFilterResult::default()
                .with_error_code(0)
                .with_error_message(None)
                .with_matching_acls(acls),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}
