//! AlterUserScramCredentials: deletions and upsertions (the client sends the salted
//! password, never the password) checked as Kafka's `ScramControlManager` checks them —
//! one alteration per user per request (DUPLICATE_RESOURCE), a known mechanism
//! (UNSUPPORTED_SASL_MECHANISM), a non-empty name and 4096..=16384 iterations
//! (UNACCEPTABLE_CREDENTIAL), deleting only what exists (RESOURCE_NOT_FOUND) — then
//! committed as one batch of metadata records.

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_metadata::MetadataRecord;
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;
use rafka_security::scram::{ScramCredential, ScramMechanism};

use crate::acl_store::not_authorized_message;
use crate::broker::Broker;
use crate::session::Session;

type Outcome = Result<MetadataRecord, (ErrorCode, &'static str)>;

pub(super) async fn handle(
    broker: &Broker,
    request: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let existing = broker.scram_credentials();
    // In request order, one entry per user: its record, or why it is refused.
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    let mut alter =
        |user: String, outcome: Outcome| match outcomes.iter_mut().find(|(u, _)| *u == user) {
            Some((_, earlier)) => {
                *earlier = Err((
                    ErrorCode::DuplicateResource,
                    "A user credential cannot be altered twice in the same request",
                ))
            }
            None => outcomes.push((user, outcome)),
        };
    let check = |name: &str, mechanism: i8| -> Result<ScramMechanism, (ErrorCode, &'static str)> {
        if name.is_empty() {
            return Err((
                ErrorCode::UnacceptableCredential,
                "Username must not be empty",
            ));
        }
        ScramMechanism::from_code(mechanism).ok_or((
            ErrorCode::UnsupportedSaslMechanism,
            "Unknown SCRAM mechanism",
        ))
    };
    for deletion in request.deletions {
        let name = deletion.name.to_string();
        let outcome = check(&name, deletion.mechanism).and_then(|mechanism| {
            let exists = existing
                .get(&name)
                .is_some_and(|m| m.contains_key(mechanism.name()));
            if !exists {
                return Err((
                    ErrorCode::ResourceNotFound,
                    "Attempt to delete a user credential that does not exist",
                ));
            }
            Ok(MetadataRecord::RemoveUserScramCredential {
                name: name.clone(),
                mechanism: mechanism.name().to_string(),
            })
        });
        alter(name, outcome);
    }
    for upsertion in request.upsertions {
        let name = upsertion.name.to_string();
        let outcome = check(&name, upsertion.mechanism).and_then(|mechanism| {
            if upsertion.iterations < ScramMechanism::MIN_ITERATIONS as i32 {
                return Err((ErrorCode::UnacceptableCredential, "Too few iterations"));
            }
            if upsertion.iterations > ScramMechanism::MAX_ITERATIONS as i32 {
                return Err((ErrorCode::UnacceptableCredential, "Too many iterations"));
            }
            Ok(MetadataRecord::UserScramCredential {
                name: name.clone(),
                mechanism: mechanism.name().to_string(),
                credential: ScramCredential::from_salted_password(
                    mechanism,
                    &upsertion.salted_password,
                    &upsertion.salt,
                    upsertion.iterations as u32,
                ),
            })
        });
        alter(name, outcome);
    }
    let records: Vec<MetadataRecord> = outcomes
        .iter()
        .filter_map(|(_, o)| o.as_ref().ok().cloned())
        .collect();
    let committed = broker.alter_scram_credentials(records).await;
    let results = outcomes
        .into_iter()
        .map(|(user, outcome)| {
            // Kafka leaves the message null unless there is an error.
            let result = AlterUserScramCredentialsResult::default()
                .with_user(StrBytes::from_string(user))
                .with_error_message(None);
            match (outcome, &committed) {
                (Err((code, message)), _) => result
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_static_str(message))),
                (Ok(_), Err(e)) => result
                    .with_error_code(e.code.code())
                    .with_error_message(e.message.clone().map(StrBytes::from_string)),
                (Ok(_), Ok(())) => result,
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}

/// The answer without ALTER on the cluster, as Kafka's `getErrorResponse` of the
/// controller's refusal: each user named (deletions and upsertions, once, sorted) with
/// CLUSTER_AUTHORIZATION_FAILED and the "needs ALTER permission" message.
pub(super) fn refuse(
    request: &AlterUserScramCredentialsRequest,
    session: &Session,
) -> AlterUserScramCredentialsResponse {
    let users: std::collections::BTreeSet<&str> = request
        .deletions
        .iter()
        .map(|d| d.name.as_str())
        .chain(request.upsertions.iter().map(|u| u.name.as_str()))
        .collect();
    let message = not_authorized_message(session, AclOperation::Alter);
    let results = users.into_iter().map(|user| {
        AlterUserScramCredentialsResult::default()
            .with_user(StrBytes::from_string(user.to_string()))
            .with_error_code(ErrorCode::ClusterAuthorizationFailed.code())
            .with_error_message(Some(StrBytes::from_string(message.clone())))
    });
    AlterUserScramCredentialsResponse::default().with_results(results.collect())
}
