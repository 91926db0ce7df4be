//! SASL/PLAIN (RFC 4616) as Kafka's `PlainSaslServer` with its default
//! `PlainServerCallbackHandler`: `[authzid] NUL user NUL password`, checked against the
//! `user_<name>="<password>"` options of the listener's `PlainLoginModule` JAAS entry.
//! The messages are Kafka's, sent to the client as they are.

use subtle::ConstantTimeEq;

use crate::jaas::LoginModule;

/// Why a PLAIN exchange failed (Kafka's `SaslAuthenticationException` messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlainError(pub String);

/// Checks one PLAIN message; the authenticated user on success.
pub fn authenticate(message: &[u8], module: &LoginModule) -> Result<String, PlainError> {
    let fail = |m: &str| Err(PlainError(m.to_string()));
    let text = String::from_utf8_lossy(message);
    let tokens: Vec<&str> = text.splitn(4, '\0').collect();
    if tokens.len() != 3 {
        return Err(PlainError(format!(
            "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
            tokens.len()
        )));
    }
    let (authzid, user, password) = (tokens[0], tokens[1], tokens[2]);
    if user.is_empty() {
        return fail("Authentication failed: username not specified");
    }
    if password.is_empty() {
        return fail("Authentication failed: password not specified");
    }
    let expected = module.options.get(&format!("user_{user}"));
    let matches = expected.is_some_and(|e| bool::from(e.as_bytes().ct_eq(password.as_bytes())));
    if !matches {
        return fail("Authentication failed: Invalid username or password");
    }
    if !authzid.is_empty() && authzid != user {
        return fail(
            "Authentication failed: Client requested an authorization id that is different from username",
        );
    }
    Ok(user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaas;

    fn module() -> LoginModule {
        jaas::parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#,
        )
        .unwrap()
        .remove(0)
    }

    #[test]
    fn users_of_the_jaas_entry_authenticate() {
        assert_eq!(
            authenticate(b"\0alice\0alice-secret", &module()),
            Ok("alice".into())
        );
        assert_eq!(
            authenticate(b"admin\0admin\0admin-secret", &module()),
            Ok("admin".into())
        );
    }

    #[test]
    fn failures_carry_kafkas_messages() {
        let err = |m: &[u8]| authenticate(m, &module()).unwrap_err().0;
        assert_eq!(
            err(b"\0alice\0wrong"),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            err(b"\0mallory\0x"),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            err(b"\0\0x"),
            "Authentication failed: username not specified"
        );
        assert_eq!(
            err(b"\0alice\0"),
            "Authentication failed: password not specified"
        );
        assert_eq!(
            err(b"alice"),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 1"
        );
        assert_eq!(
            err(b"admin\0alice\0alice-secret"),
            "Authentication failed: Client requested an authorization id that is different from username"
        );
    }
}
