//! A client's security settings, read from Kafka's client keys (`security.protocol`,
//! `sasl.mechanism`, `sasl.jaas.config`), and the SASL exchange a new connection makes
//! before its first request: SaslHandshake v1, then SaslAuthenticate until the mechanism
//! is done (Kafka's `SaslClientAuthenticator`).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_security::sasl_client::SaslClient;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::exchange::{exchange, ExchangeError, DEFAULT_MAX_RESPONSE_BYTES};

/// How a client authenticates: nothing (PLAINTEXT), or a SASL mechanism with the
/// options of its login module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSecurity {
    pub sasl: Option<SaslSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslSettings {
    pub mechanism: String,
    /// The login module's options (`username`, `password`, `unsecuredLogin…`).
    pub options: BTreeMap<String, String>,
}

impl ClientSecurity {
    /// Reads a client config's security keys. librdkafka's `sasl.username` /
    /// `sasl.password` stand in for a JAAS entry's `username` / `password`.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<ClientSecurity, String> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let protocol = get("security.protocol")
            .unwrap_or("PLAINTEXT")
            .to_ascii_uppercase();
        match protocol.as_str() {
            "PLAINTEXT" => return Ok(ClientSecurity::default()),
            "SASL_PLAINTEXT" => {}
            "SSL" | "SASL_SSL" => {
                return Err(format!(
                    "security.protocol {protocol} is not supported by rafka's clients yet (TLS is not implemented)"
                ))
            }
            other => {
                return Err(format!(
                    "Invalid value {other} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
                ))
            }
        }
        let mechanism = get("sasl.mechanism").unwrap_or("GSSAPI").to_string();
        let options = match get("sasl.jaas.config") {
            Some(text) => {
                let mut modules = rafka_security::jaas::parse(text).map_err(|e| e.to_string())?;
                if modules.len() != 1 {
                    return Err(format!(
                        "JAAS config property contains {} login modules, should be 1 module",
                        modules.len()
                    ));
                }
                modules.remove(0).options
            }
            None => match (get("sasl.username"), get("sasl.password")) {
                (Some(user), Some(password)) => BTreeMap::from([
                    ("username".to_string(), user.to_string()),
                    ("password".to_string(), password.to_string()),
                ]),
                _ => return Err(
                    "Could not find a 'KafkaClient' entry in the JAAS configuration. System property 'java.security.auth.login.config' is not set"
                        .into(),
                ),
            },
        };
        // Refuse an unusable mechanism (GSSAPI, a typo) before any connection.
        SaslClient::new(&mechanism, &options, 0)?;
        Ok(ClientSecurity {
            sasl: Some(SaslSettings { mechanism, options }),
        })
    }
}

/// Why authentication failed: the broker's words, or the exchange's failure.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticationError {
    #[error("{0}")]
    Exchange(#[from] ExchangeError),
    /// The broker refused (UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED) or
    /// its answer did not verify; Kafka's client message.
    #[error("{0}")]
    Failed(String),
}

/// Authenticates a new connection with `settings`. `correlation_id` is the connection's
/// counter, advanced for each request sent.
pub async fn authenticate<S>(
    stream: &mut S,
    client_id: &str,
    correlation_id: &mut i32,
    settings: &SaslSettings,
) -> Result<(), AuthenticationError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut client = SaslClient::new(&settings.mechanism, &settings.options, now_ms)
        .map_err(AuthenticationError::Failed)?;
    *correlation_id += 1;
    let handshake: SaslHandshakeResponse = exchange(
        stream,
        client_id,
        *correlation_id,
        ApiKey::SaslHandshake,
        1,
        &SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_string(settings.mechanism.clone())),
        DEFAULT_MAX_RESPONSE_BYTES,
    )
    .await?;
    if handshake.error_code != 0 {
        let enabled: Vec<String> = handshake.mechanisms.iter().map(|m| m.to_string()).collect();
        return Err(AuthenticationError::Failed(format!(
            "Client SASL mechanism '{}' not enabled in the server, enabled mechanisms are [{}]",
            settings.mechanism,
            enabled.join(", ")
        )));
    }
    let mut challenge = Vec::new();
    while let Some(token) = client
        .respond(&challenge)
        .map_err(AuthenticationError::Failed)?
    {
        *correlation_id += 1;
        let answer: SaslAuthenticateResponse = exchange(
            stream,
            client_id,
            *correlation_id,
            ApiKey::SaslAuthenticate,
            1,
            &SaslAuthenticateRequest::default().with_auth_bytes(token.into()),
            DEFAULT_MAX_RESPONSE_BYTES,
        )
        .await?;
        if answer.error_code != 0 {
            return Err(AuthenticationError::Failed(
                crate::kafka_error_message(
                    answer.error_code,
                    answer.error_message.as_ref().map(|m| m.as_str()),
                )
                .unwrap_or_default(),
            ));
        }
        challenge = answer.auth_bytes.to_vec();
    }
    Ok(())
}
