//! DescribeAcls (Kafka's `AclApis.handleDescribeAcls`): cluster DESCRIBE, then the
//! bindings the filter matches, grouped by resource pattern.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use rafka_protocol::ErrorCode;
use rafka_security::acl::{
    AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourcePattern, ResourceType,
};

use super::str_bytes;
use crate::acl_store::not_authorized_message;
use crate::broker::Broker;
use crate::session::Session;

/// The filter of a request; `Err` when it names a code Kafka does not know
/// (`DescribeAclsRequest.normalizeAndValidate` refuses to parse it: the connection
/// closes).
pub(super) fn filter_of(request: &DescribeAclsRequest) -> Result<AclBindingFilter, String> {
    let filter = AclBindingFilter {
        resource_type: ResourceType::from_code(request.resource_type_filter),
        name: request.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(request.pattern_type_filter),
        principal: request.principal_filter.as_ref().map(|s| s.to_string()),
        host: request.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(request.operation),
        permission: AclPermissionType::from_code(request.permission_type),
    };
    if filter.validate().is_err() {
        return Err("DescribeAclsRequest contains UNKNOWN elements".into());
    }
    Ok(filter)
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeAclsRequest,
    session: &Session,
) -> DescribeAclsResponse {
    let refuse = |code: ErrorCode, message: String| {
        DescribeAclsResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(message)))
    };
    if !broker.authorize_cluster(session, AclOperation::Describe) {
        return refuse(
            ErrorCode::ClusterAuthorizationFailed,
            not_authorized_message(session, AclOperation::Describe),
        );
    }
    if !broker.authorizer_enabled() {
        return refuse(
            ErrorCode::SecurityDisabled,
            "No Authorizer is configured on the broker".into(),
        );
    }
    let filter = match filter_of(&request) {
        Ok(filter) => filter,
        Err(message) => return refuse(ErrorCode::InvalidRequest, message),
    };
    let mut by_pattern: BTreeMap<ResourcePattern, Vec<AclDescription>> = BTreeMap::new();
    for (_, binding) in broker.acl_bindings() {
        if !filter.matches(&binding) {
            continue;
        }
        let entry = &binding.entry;
        by_pattern.entry(binding.pattern.clone()).or_default().push(
            AclDescription::default()
                .with_principal(str_bytes(entry.principal.clone()))
                .with_host(str_bytes(entry.host.clone()))
                .with_operation(entry.operation.code())
                .with_permission_type(entry.permission.code()),
        );
    }
    let resources = by_pattern
        .into_iter()
        .map(|(pattern, acls)| {
            DescribeAclsResource::default()
                .with_resource_type(pattern.resource_type.code())
                .with_resource_name(str_bytes(pattern.name))
                .with_pattern_type(pattern.pattern_type.code())
                .with_acls(acls)
        })
        .collect();
    DescribeAclsResponse::default()
        .with_error_code(0)
        .with_resources(resources)
}
