//! `kafka-configs.sh --entity-type users`: SCRAM credentials, as Kafka's `ConfigCommand`
//! alters and describes them over the AlterUserScramCredentials and
//! DescribeUserScramCredentials APIs. The password never leaves the tool: it sends the
//! salted password (PBKDF2 over a fresh random salt), as Kafka's admin client does.
//! User quotas are not served by rafka yet.

use std::time::Duration;

use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_client::WireClient;
use rafka_protocol::ErrorCode;
use rafka_security::scram::{random_salt, ScramMechanism};

use crate::common::java_exception_class;
use crate::ToolError;

/// Kafka's default when `iterations` is not given.
const DEFAULT_ITERATIONS: i32 = 4096;

/// Prints each user's SCRAM mechanisms and iterations (all users when `user` is `None`).
pub(super) async fn describe(
    client: &mut WireClient,
    user: Option<&str>,
    timeout: Duration,
) -> Result<(), ToolError> {
    let request = DescribeUserScramCredentialsRequest::default().with_users(Some(
        user.into_iter()
            .map(|u| UserName::default().with_name(StrBytes::from_string(u.to_string())))
            .collect(),
    ));
    let response: DescribeUserScramCredentialsResponse = client
        .call_within(ApiKey::DescribeUserScramCredentials, 0, &request, timeout)
        .await?;
    if response.error_code != 0 {
        return Err(ToolError::Failed(failure(
            response.error_code,
            response.error_message.as_ref().map(|m| m.as_str()),
        )));
    }
    for result in &response.results {
        // The admin client's `users()` leaves out the users that have no credentials.
        if result.error_code == ErrorCode::ResourceNotFound.code() {
            continue;
        }
        if result.error_code != 0 {
            let class = java_exception_class(result.error_code);
            println!(
                "Error retrieving SCRAM credential configs for user-principal '{}': {}: {}",
                result.user,
                class.rsplit('.').next().unwrap_or(&class),
                result.error_message.as_deref().unwrap_or("")
            );
            continue;
        }
        let infos: Vec<String> = result
            .credential_infos
            .iter()
            .map(|info| {
                let name =
                    ScramMechanism::from_code(info.mechanism).map_or("UNKNOWN", |m| m.name());
                format!("{name}=iterations={}", info.iterations)
            })
            .collect();
        println!(
            "SCRAM credential configs for user-principal '{}' are {}",
            result.user,
            infos.join(", ")
        );
    }
    Ok(())
}

/// Adds (`SCRAM-SHA-256=[iterations=8192,password=…]`) and deletes (`SCRAM-SHA-512`)
/// `user`'s credentials in one AlterUserScramCredentials request.
pub(super) async fn alter(
    client: &mut WireClient,
    user: &str,
    to_add: &[(String, String)],
    to_delete: &[String],
    timeout: Duration,
) -> Result<(), ToolError> {
    refuse_unknown(to_add.iter().map(|(k, _)| k.as_str()), "added", "Set")?;
    refuse_unknown(to_delete.iter().map(String::as_str), "deleted", "List")?;
    let deletions = to_delete
        .iter()
        .filter_map(|m| ScramMechanism::from_name(m))
        .map(|m| {
            ScramCredentialDeletion::default()
                .with_name(StrBytes::from_string(user.to_string()))
                .with_mechanism(m.code())
        })
        .collect();
    let mut upsertions = Vec::new();
    for (name, value) in to_add {
        let Some(mechanism) = ScramMechanism::from_name(name) else {
            continue;
        };
        let (iterations, password) = iterations_and_password(mechanism, value)?;
        let salt =
            random_salt().map_err(|e| ToolError::Failed(format!("cannot make a salt: {e}")))?;
        let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations as u32);
        upsertions.push(
            ScramCredentialUpsertion::default()
                .with_name(StrBytes::from_string(user.to_string()))
                .with_mechanism(mechanism.code())
                .with_iterations(iterations)
                .with_salt(salt.into())
                .with_salted_password(salted.into()),
        );
    }
    let request = AlterUserScramCredentialsRequest::default()
        .with_deletions(deletions)
        .with_upsertions(upsertions);
    let response: AlterUserScramCredentialsResponse = client
        .call_within(ApiKey::AlterUserScramCredentials, 0, &request, timeout)
        .await?;
    if let Some(failed) = response.results.iter().find(|r| r.error_code != 0) {
        return Err(ToolError::Failed(failure(
            failed.error_code,
            failed.error_message.as_ref().map(|m| m.as_str()),
        )));
    }
    Ok(())
}

/// Kafka's refusal of config names that are not SCRAM mechanisms (`collection` is the
/// Scala collection its message prints them as).
fn refuse_unknown<'a>(
    names: impl Iterator<Item = &'a str>,
    verb: &str,
    collection: &str,
) -> Result<(), ToolError> {
    let unknown: Vec<&str> = names
        .filter(|k| ScramMechanism::from_name(k).is_none())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ToolError::Failed(format!(
        "Only quota and SCRAM credential configs can be {verb} for 'users' using --bootstrap-server (rafka serves no user quotas yet). Unexpected config names: {collection}({})",
        unknown.join(", ")
    )))
}

/// Kafka's `(?:iterations=(-?[0-9]*),)?password=(.*)`.
fn iterations_and_password(
    mechanism: ScramMechanism,
    value: &str,
) -> Result<(i32, String), ToolError> {
    let invalid = || {
        ToolError::Failed(format!(
            "Invalid credential property {}={value}",
            mechanism.name().replace('-', "_")
        ))
    };
    let (iterations, rest) = match value.strip_prefix("iterations=") {
        Some(rest) => {
            let (number, rest) = rest.split_once(',').ok_or_else(invalid)?;
            let valid = number.strip_prefix('-').unwrap_or(number);
            if !valid.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            let iterations = match number {
                "" | "-1" => DEFAULT_ITERATIONS,
                n => n.parse().map_err(|_| invalid())?,
            };
            (iterations, rest)
        }
        None => (DEFAULT_ITERATIONS, value),
    };
    let password = rest.strip_prefix("password=").ok_or_else(invalid)?;
    if iterations < ScramMechanism::MIN_ITERATIONS as i32 {
        return Err(ToolError::Failed(format!(
            "Iterations {iterations} is less than the minimum {} required for {}",
            ScramMechanism::MIN_ITERATIONS,
            mechanism.name()
        )));
    }
    Ok((iterations, password.to_string()))
}

/// The Java admin client's rendering of a failed result.
fn failure(code: i16, message: Option<&str>) -> String {
    let message = rafka_client::kafka_error_message(code, message).unwrap_or_default();
    format!("{}: {message}", java_exception_class(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_values_parse_as_kafkas_config_command_reads_them() {
        let m = ScramMechanism::Sha256;
        assert_eq!(
            iterations_and_password(m, "iterations=8192,password=alice-secret").unwrap(),
            (8192, "alice-secret".to_string())
        );
        assert_eq!(
            iterations_and_password(m, "password=a,b").unwrap(),
            (4096, "a,b".to_string())
        );
        assert_eq!(
            iterations_and_password(m, "iterations=10,password=x")
                .unwrap_err()
                .to_string(),
            ToolError::Failed(
                "Iterations 10 is less than the minimum 4096 required for SCRAM-SHA-256".into()
            )
            .to_string()
        );
        assert!(iterations_and_password(m, "secret").is_err());
    }
}
