//! The server's side of one SASL exchange, whatever the mechanism, as Kafka's
//! `SaslServerAuthenticator` drives a `SaslServer`: the broker hands it each client token
//! and gets back the token to answer with, the authenticated user once the exchange is
//! complete, or the failure. Nothing here sees a socket or logs a credential.

use crate::jaas::LoginModule;
use crate::oauthbearer::{OAuthBearerServer, UnsecuredValidator};
use crate::scram::{ScramCredential, ScramMechanism, ScramServer};

/// A SASL mechanism rafka serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    Plain,
    Scram(ScramMechanism),
    OAuthBearer,
}

impl SaslMechanism {
    /// Every mechanism rafka serves, by Kafka's name. GSSAPI (Kafka's default) is not one.
    pub const SUPPORTED: [&'static str; 4] =
        ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

    pub fn from_name(name: &str) -> Option<SaslMechanism> {
        match name {
            "PLAIN" => Some(SaslMechanism::Plain),
            "OAUTHBEARER" => Some(SaslMechanism::OAuthBearer),
            other => ScramMechanism::from_name(other).map(SaslMechanism::Scram),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(m) => m.name(),
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// The enabled mechanisms in the order Kafka's SaslHandshake answer lists them: the
/// iteration order of the `HashMap` its channel builder keys them by (Java's
/// `String.hashCode`, spread and masked by a table that starts at 16 buckets and
/// doubles past three quarters full), not the configured order.
pub fn handshake_order(enabled: &[String]) -> Vec<String> {
    let java_hash = |s: &str| {
        let h = s.encode_utf16().fold(0i32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        }) as u32;
        h ^ (h >> 16)
    };
    let mut buckets = 16usize;
    while enabled.len() * 4 > buckets * 3 {
        buckets *= 2;
    }
    let mut ordered: Vec<(usize, usize, &String)> = enabled
        .iter()
        .enumerate()
        .map(|(inserted, m)| (java_hash(m) as usize & (buckets - 1), inserted, m))
        .collect();
    ordered.sort();
    ordered.into_iter().map(|(_, _, m)| m.clone()).collect()
}

/// Where the server finds SCRAM credentials (the broker's metadata image).
pub trait ScramCredentials {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;
}

/// Who an exchange authenticated, and until when its credential is good (OAUTHBEARER's
/// token expiry, epoch ms; `None` for passwords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user: String,
    pub credential_expiry_ms: Option<i64>,
}

/// One step of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this token and wait for the client's next one.
    Continue(Vec<u8>),
    /// Send this (possibly empty) token: the client is authenticated.
    Complete {
        response: Vec<u8>,
        authenticated: Authenticated,
    },
}

/// Why an exchange failed. `message` is the text Kafka sends the client as it is (a
/// `SaslAuthenticationException`'s); `None` is a failure whose detail Kafka keeps from
/// the client (a `SaslException`), answered with the generic message of
/// [`SaslFailure::client_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslFailure {
    pub message: Option<String>,
}

impl SaslFailure {
    /// What the client is told (`SaslServerAuthenticator.handleSaslToken`).
    pub fn client_message(&self, mechanism: SaslMechanism, reauthenticating: bool) -> String {
        match &self.message {
            Some(message) => message.clone(),
            None => format!(
                "Authentication failed during {} due to invalid credentials with SASL mechanism {}",
                if reauthenticating {
                    "re-authentication"
                } else {
                    "authentication"
                },
                mechanism.name()
            ),
        }
    }
}

#[derive(Debug)]
enum Exchange {
    Plain(LoginModule),
    Scram(ScramServer),
    OAuthBearer {
        server: OAuthBearerServer,
        validator: UnsecuredValidator,
    },
}

/// The server's side of one exchange.
#[derive(Debug)]
pub struct SaslServer {
    mechanism: SaslMechanism,
    exchange: Exchange,
}

impl SaslServer {
    /// A server for `mechanism` with the options of the listener's JAAS entry for it.
    pub fn new(mechanism: SaslMechanism, module: &LoginModule) -> Result<SaslServer, String> {
        let exchange = match mechanism {
            SaslMechanism::Plain => Exchange::Plain(module.clone()),
            SaslMechanism::Scram(m) => Exchange::Scram(ScramServer::new(m)),
            SaslMechanism::OAuthBearer => Exchange::OAuthBearer {
                server: OAuthBearerServer::new(),
                validator: UnsecuredValidator::from_options(&module.options)?,
            },
        };
        Ok(SaslServer {
            mechanism,
            exchange,
        })
    }

    pub fn mechanism(&self) -> SaslMechanism {
        self.mechanism
    }

    /// Takes the client's next token.
    pub fn evaluate(
        &mut self,
        token: &[u8],
        credentials: &dyn ScramCredentials,
        now_ms: i64,
    ) -> Result<SaslStep, SaslFailure> {
        match &mut self.exchange {
            Exchange::Plain(module) => match crate::plain::authenticate(token, module) {
                Ok(user) => Ok(SaslStep::Complete {
                    response: Vec::new(),
                    authenticated: Authenticated {
                        user,
                        credential_expiry_ms: None,
                    },
                }),
                Err(e) => Err(SaslFailure { message: Some(e.0) }),
            },
            Exchange::Scram(server) => {
                let mechanism = match self.mechanism {
                    SaslMechanism::Scram(m) => m,
                    _ => unreachable!("a SCRAM exchange has a SCRAM mechanism"),
                };
                let response = server
                    .respond(token, |user| credentials.scram_credential(user, mechanism))
                    .map_err(|_| SaslFailure { message: None })?;
                match server.authenticated_user() {
                    Some(user) => Ok(SaslStep::Complete {
                        response,
                        authenticated: Authenticated {
                            user: user.to_string(),
                            credential_expiry_ms: None,
                        },
                    }),
                    None => Ok(SaslStep::Continue(response)),
                }
            }
            Exchange::OAuthBearer { server, validator } => {
                let response = server.respond(token, validator, now_ms).map_err(|e| {
                    // Kafka sends its own words for the token's rejection (the JSON the
                    // client saw) and for a mismatched authorization id; a malformed
                    // message is a `SaslException`, answered generically.
                    let shown = e.0.starts_with('{') || e.0.starts_with("Authentication failed");
                    SaslFailure {
                        message: shown.then_some(e.0),
                    }
                })?;
                match server.token() {
                    Some(token) => Ok(SaslStep::Complete {
                        response,
                        authenticated: Authenticated {
                            user: token.principal.clone(),
                            credential_expiry_ms: Some(token.lifetime_ms),
                        },
                    }),
                    None => Ok(SaslStep::Continue(response)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaas;

    struct One(ScramCredential);

    impl ScramCredentials for One {
        fn scram_credential(&self, user: &str, _: ScramMechanism) -> Option<ScramCredential> {
            (user == "alice").then(|| self.0.clone())
        }
    }

    fn module(text: &str) -> LoginModule {
        jaas::parse(text).unwrap().remove(0)
    }

    #[test]
    fn plain_completes_in_one_step_and_fails_with_kafkas_words() {
        let module = module(r#"x.PlainLoginModule required user_alice="s";"#);
        let none = One(ScramCredential::generate(
            ScramMechanism::Sha256,
            b"x",
            b"y",
            4096,
        ));
        let mut server = SaslServer::new(SaslMechanism::Plain, &module).unwrap();
        let step = server.evaluate(b"\0alice\0s", &none, 0).unwrap();
        assert!(
            matches!(step, SaslStep::Complete { authenticated, .. } if authenticated.user == "alice")
        );
        let mut server = SaslServer::new(SaslMechanism::Plain, &module).unwrap();
        let failure = server.evaluate(b"\0alice\0x", &none, 0).unwrap_err();
        assert_eq!(
            failure.client_message(SaslMechanism::Plain, false),
            "Authentication failed: Invalid username or password"
        );
    }

    #[test]
    fn scram_failures_are_generic_and_name_re_authentication() {
        let module = module("x.ScramLoginModule required;");
        let store = One(ScramCredential::generate(
            ScramMechanism::Sha512,
            b"p",
            b"salt",
            4096,
        ));
        let mechanism = SaslMechanism::from_name("SCRAM-SHA-512").unwrap();
        let mut server = SaslServer::new(mechanism, &module).unwrap();
        let failure = server.evaluate(b"n,,n=bob,r=x", &store, 0).unwrap_err();
        assert_eq!(
            failure.client_message(mechanism, true),
            "Authentication failed during re-authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
        );
        let mut server = SaslServer::new(mechanism, &module).unwrap();
        assert!(matches!(
            server.evaluate(b"n,,n=alice,r=x", &store, 0),
            Ok(SaslStep::Continue(_))
        ));
        assert_eq!(SaslMechanism::from_name("GSSAPI"), None);
    }

    #[test]
    fn handshake_lists_mechanisms_in_kafkas_hash_order() {
        let enabled: Vec<String> = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
            .map(String::from)
            .to_vec();
        // What Kafka 4.1.1 answers for this configuration.
        assert_eq!(
            handshake_order(&enabled),
            ["PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256", "OAUTHBEARER"]
        );
    }
}
