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
    /// TLS (SSL, SASL_SSL): the trust store, an optional client certificate.
    pub tls: Option<crate::transport::ClientTls>,
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
        let (tls, sasl) = match protocol.as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            other => {
                return Err(format!(
                    "Invalid value {other} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
                ))
            }
        };
        let tls = if tls {
            Some(crate::transport::ClientTls::new(client_tls_settings(
                props,
            )?)?)
        } else {
            None
        };
        if !sasl {
            return Ok(ClientSecurity { sasl: None, tls });
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
            tls,
        })
    }
}

/// A client config's TLS keys, as the Java client reads them (PEM stores only), with
/// librdkafka's `ssl.ca.location` / `ssl.certificate.location` / `ssl.key.location`
/// accepted too.
fn client_tls_settings(
    props: &BTreeMap<String, String>,
) -> Result<rafka_security::tls::TlsSettings, String> {
    use rafka_security::tls::{KeyStore, PemSource, TlsSettings};
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    for key in ["ssl.keystore.type", "ssl.truststore.type"] {
        if let Some(kind) = get(key).filter(|k| !k.eq_ignore_ascii_case("PEM")) {
            return Err(format!(
                "{key}={kind}: rafka's clients read PEM stores only (set {key}=PEM)"
            ));
        }
    }
    let read =
        |path: &str| std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"));
    let keystore = match (
        get("ssl.keystore.location"),
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
        get("ssl.certificate.location"),
        get("ssl.key.location"),
    ) {
        (Some(path), ..) => Some(KeyStore::File(path.into())),
        (None, Some(chain), Some(key), ..) => Some(KeyStore::Inline {
            certificate_chain: chain.to_string(),
            key: key.to_string(),
        }),
        (None, _, _, Some(cert), Some(key)) => Some(KeyStore::Inline {
            certificate_chain: read(cert)?,
            key: read(key)?,
        }),
        _ => None,
    };
    let truststore = match (
        get("ssl.truststore.location").or(get("ssl.ca.location")),
        get("ssl.truststore.certificates"),
    ) {
        (Some(path), _) => Some(PemSource::File(path.into())),
        (None, Some(text)) => Some(PemSource::Inline(text.to_string())),
        (None, None) => None,
    };
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let defaults = TlsSettings::default();
    Ok(TlsSettings {
        keystore,
        key_password: get("ssl.key.password").map(str::to_string),
        truststore,
        enabled_protocols: get("ssl.enabled.protocols")
            .map(list)
            .unwrap_or(defaults.enabled_protocols),
        cipher_suites: get("ssl.cipher.suites").map(list).unwrap_or_default(),
        // Set but empty turns the name check off, as in Kafka.
        endpoint_identification: props
            .get("ssl.endpoint.identification.algorithm")
            .is_none_or(|v| !v.trim().is_empty()),
        ..defaults
    })
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
