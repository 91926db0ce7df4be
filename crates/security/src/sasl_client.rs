//! The client's side of a SASL exchange, configured as Kafka's clients are: a mechanism
//! (`sasl.mechanism`) and a `sasl.jaas.config` entry, whose `username`/`password` serve
//! PLAIN and SCRAM and whose `unsecuredLogin*` options make OAUTHBEARER's unsecured token
//! (Kafka's `OAuthBearerUnsecuredLoginCallbackHandler`). The broker uses it for its own
//! connections to other brokers, the tools for theirs.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::sasl::SaslMechanism;
use crate::scram::ScramClient;

#[derive(Debug)]
enum Exchange {
    /// The one message to send; `None` once sent.
    Single(Option<Vec<u8>>),
    Scram(ScramClient),
}

/// One client exchange. `respond` gives the next token to send, `None` when the exchange
/// is over on the client's side.
#[derive(Debug)]
pub struct SaslClient {
    mechanism: SaslMechanism,
    exchange: Exchange,
}

impl SaslClient {
    /// A client for `mechanism` with the options of a `sasl.jaas.config` value, at
    /// `now_ms` (an unsecured token's issue time).
    pub fn from_jaas(
        mechanism: &str,
        jaas_config: &str,
        now_ms: i64,
    ) -> Result<SaslClient, String> {
        let module = crate::jaas::parse(jaas_config)
            .map_err(|e| e.to_string())?
            .remove(0);
        SaslClient::new(mechanism, &module.options, now_ms)
    }

    /// A client for `mechanism` with a login module's options.
    pub fn new(
        mechanism: &str,
        options: &BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<SaslClient, String> {
        let mechanism = SaslMechanism::from_name(mechanism).ok_or_else(|| {
            format!(
                "Unsupported SASL mechanism {mechanism} (supported: {})",
                SaslMechanism::SUPPORTED.join(", ")
            )
        })?;
        let option = |key: &str| {
            options.get(key).cloned().ok_or_else(|| {
                format!(
                    "{key} not specified in the JAAS config of {}",
                    mechanism.name()
                )
            })
        };
        let exchange = match mechanism {
            SaslMechanism::Plain => Exchange::Single(Some(
                format!("\0{}\0{}", option("username")?, option("password")?).into_bytes(),
            )),
            SaslMechanism::Scram(m) => Exchange::Scram(ScramClient::new(
                m,
                &option("username")?,
                &option("password")?,
            )?),
            SaslMechanism::OAuthBearer => {
                let token = unsecured_token(options, now_ms)?;
                let extensions: String = options
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix("unsecuredLoginExtension_")
                            .map(|name| format!("{name}={v}\u{1}"))
                    })
                    .collect();
                Exchange::Single(Some(
                    format!("n,,\u{1}auth=Bearer {token}\u{1}{extensions}\u{1}").into_bytes(),
                ))
            }
        };
        Ok(SaslClient {
            mechanism,
            exchange,
        })
    }

    pub fn mechanism(&self) -> &'static str {
        self.mechanism.name()
    }

    /// The token to send after the server's `challenge` (empty at the start), or `None`
    /// when the client has nothing more to send; `Err` when the server's answer is not
    /// acceptable.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, String> {
        match &mut self.exchange {
            Exchange::Single(message) => match message.take() {
                Some(message) => Ok(Some(message)),
                // OAUTHBEARER answers a rejected token with its JSON error.
                None if !challenge.is_empty() => {
                    Err(String::from_utf8_lossy(challenge).into_owned())
                }
                None => Ok(None),
            },
            Exchange::Scram(client) if client.is_complete() => Ok(None),
            Exchange::Scram(client) => {
                let token = client.respond(challenge)?;
                Ok((!client.is_complete()).then_some(token))
            }
        }
    }
}

/// An unsecured JWS (`alg` none, no signature) with the `unsecuredLogin*` claims.
fn unsecured_token(options: &BTreeMap<String, String>, now_ms: i64) -> Result<String, String> {
    let principal_claim = options
        .get("unsecuredLoginPrincipalClaimName")
        .map_or("sub", String::as_str);
    let lifetime_seconds: f64 = match options.get("unsecuredLoginLifetimeSeconds") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("Invalid unsecuredLoginLifetimeSeconds: {v}"))?,
        None => 3600.0,
    };
    let issued_at = now_ms as f64 / 1000.0;
    let mut claims = serde_json::Map::new();
    claims.insert("iat".into(), serde_json::json!(issued_at));
    claims.insert(
        "exp".into(),
        serde_json::json!(issued_at + lifetime_seconds),
    );
    for (key, value) in options {
        if let Some(name) = key.strip_prefix("unsecuredLoginStringClaim_") {
            claims.insert(name.into(), serde_json::Value::String(value.clone()));
        } else if let Some(name) = key.strip_prefix("unsecuredLoginNumberClaim_") {
            let number: f64 = value
                .parse()
                .map_err(|_| format!("Invalid number claim {name}: {value}"))?;
            claims.insert(name.into(), serde_json::json!(number));
        } else if let Some(name) = key.strip_prefix("unsecuredLoginListClaim_") {
            let mut chars = value.chars();
            let separator = chars.next().unwrap_or(',');
            let items: Vec<serde_json::Value> = chars
                .as_str()
                .split(separator)
                .filter(|s| !s.is_empty())
                .map(|s| serde_json::Value::String(s.to_string()))
                .collect();
            claims.insert(name.into(), serde_json::Value::Array(items));
        }
    }
    if !claims.contains_key(principal_claim) {
        return Err(format!(
            "Required claim missing: {principal_claim} (set unsecuredLoginStringClaim_{principal_claim})"
        ));
    }
    let claims = serde_json::Value::Object(claims).to_string();
    Ok(format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaas;
    use crate::oauthbearer::UnsecuredValidator;
    use crate::sasl::{SaslServer, SaslStep, ScramCredentials};
    use crate::scram::{ScramCredential, ScramMechanism};

    struct Store;

    impl ScramCredentials for Store {
        fn scram_credential(&self, user: &str, m: ScramMechanism) -> Option<ScramCredential> {
            (user == "alice").then(|| ScramCredential::generate(m, b"alice-secret", b"s", 4096))
        }
    }

    /// Runs a client against a server; the authenticated user or the failure.
    fn run(mechanism: &str, client_jaas: &str, server_jaas: &str) -> Result<String, String> {
        let now_ms = 1_700_000_000_000;
        let mut client = SaslClient::from_jaas(mechanism, client_jaas, now_ms)?;
        let module = jaas::parse(server_jaas).unwrap().remove(0);
        let mechanism = SaslMechanism::from_name(mechanism).unwrap();
        let mut server = SaslServer::new(mechanism, &module)?;
        let mut challenge = Vec::new();
        let mut user = None;
        while let Some(token) = client.respond(&challenge)? {
            match server.evaluate(&token, &Store, now_ms) {
                Ok(SaslStep::Continue(next)) => challenge = next,
                Ok(SaslStep::Complete {
                    response,
                    authenticated,
                }) => {
                    challenge = response;
                    user = Some(authenticated.user);
                }
                Err(e) => return Err(e.client_message(mechanism, false)),
            }
        }
        user.ok_or_else(|| "not complete".to_string())
    }

    #[test]
    fn each_mechanism_authenticates_against_its_server() {
        let plain_server = r#"p.PlainLoginModule required user_alice="alice-secret";"#;
        let alice = r#"m required username="alice" password="alice-secret";"#;
        assert_eq!(run("PLAIN", alice, plain_server), Ok("alice".into()));
        assert_eq!(
            run("SCRAM-SHA-256", alice, "s.ScramLoginModule required;"),
            Ok("alice".into())
        );
        assert_eq!(
            run("SCRAM-SHA-512", alice, "s.ScramLoginModule required;"),
            Ok("alice".into())
        );
        let oauth = r#"o.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="bob";"#;
        assert_eq!(
            run("OAUTHBEARER", oauth, "o.OAuthBearerLoginModule required;"),
            Ok("bob".into())
        );
        let wrong = r#"m required username="alice" password="nope";"#;
        assert_eq!(
            run("PLAIN", wrong, plain_server),
            Err("Authentication failed: Invalid username or password".into())
        );
        assert!(run("SCRAM-SHA-256", wrong, "s.S required;")
            .unwrap_err()
            .contains("invalid credentials with SASL mechanism SCRAM-SHA-256"));
    }

    #[test]
    fn an_unsecured_token_passes_kafkas_validator() {
        let options = BTreeMap::from([
            (
                "unsecuredLoginStringClaim_sub".to_string(),
                "carol".to_string(),
            ),
            (
                "unsecuredLoginLifetimeSeconds".to_string(),
                "60".to_string(),
            ),
        ]);
        let token = unsecured_token(&options, 1_000_000).unwrap();
        let valid = UnsecuredValidator::default()
            .validate(&token, 1_000_000)
            .unwrap();
        assert_eq!(
            (valid.principal.as_str(), valid.lifetime_ms),
            ("carol", 1_060_000)
        );
        assert!(unsecured_token(&BTreeMap::new(), 0).is_err());
    }
}
