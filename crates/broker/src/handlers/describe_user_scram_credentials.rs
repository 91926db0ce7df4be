//! DescribeUserScramCredentials: each user's mechanisms and iteration counts (never the
//! salts or keys), as Kafka's `ScramImage.describe` answers: every user when none is
//! named, RESOURCE_NOT_FOUND for a user without credentials, DUPLICATE_RESOURCE for a
//! user named twice.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::ErrorCode;
use rafka_security::scram::ScramMechanism;

use crate::broker::Broker;

pub(super) fn handle(
    broker: &Broker,
    request: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let credentials = broker.scram_credentials();
    // User -> named more than once.
    let mut users: BTreeMap<String, bool> = BTreeMap::new();
    match request.users.filter(|u| !u.is_empty()) {
        None => users.extend(credentials.keys().map(|u| (u.clone(), false))),
        Some(named) => {
            for user in named {
                users
                    .entry(user.name.to_string())
                    .and_modify(|duplicate| *duplicate = true)
                    .or_insert(false);
            }
        }
    }
    let results = users
        .into_iter()
        .map(|(user, duplicate)| {
            // Kafka answers a described user with an empty (not null) message.
            let result = DescribeUserScramCredentialsResult::default()
                .with_user(StrBytes::from_string(user.clone()));
            let failed = |code: ErrorCode, message: String| {
                result
                    .clone()
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(message)))
            };
            if duplicate {
                return failed(
                    ErrorCode::DuplicateResource,
                    format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}"),
                );
            }
            let infos: Vec<CredentialInfo> = credentials
                .get(&user)
                .into_iter()
                .flatten()
                .filter_map(|(mechanism, credential)| {
                    Some(
                        CredentialInfo::default()
                            .with_mechanism(ScramMechanism::from_name(mechanism)?.code())
                            .with_iterations(credential.iterations as i32),
                    )
                })
                .collect();
            if infos.is_empty() {
                return failed(
                    ErrorCode::ResourceNotFound,
                    format!("Attempt to describe a user credential that does not exist: {user}"),
                );
            }
            result.with_credential_infos(infos)
        })
        .collect();
    DescribeUserScramCredentialsResponse::default().with_results(results)
}

/// The answer without DESCRIBE on the cluster, as Kafka's `getErrorResponse`: the error
/// at the top and once per user named (a result without the user's name), without a
/// message (`ApiError` drops the error's default one).
pub(super) fn refuse(
    request: &DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let code = ErrorCode::ClusterAuthorizationFailed.code();
    let results = request.users.iter().flatten().map(|_| {
        DescribeUserScramCredentialsResult::default()
            .with_error_code(code)
            .with_error_message(None)
    });
    DescribeUserScramCredentialsResponse::default()
        .with_error_code(code)
        .with_error_message(None)
        .with_results(results.collect())
}
