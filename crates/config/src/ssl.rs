//! The TLS listeners' keys (`ssl.*`, each overridable per listener as
//! `listener.name.<listener>.ssl.*`, as Kafka's listener-prefixed configs are): PEM key and
//! trust stores, `ssl.client.auth`, `ssl.enabled.protocols`, `ssl.cipher.suites`,
//! `ssl.principal.mapping.rules` and, for this broker's own connections,
//! `ssl.endpoint.identification.algorithm`.
//!
//! Kept in its own block (apart from `security`'s SASL keys) so that the two merge
//! cleanly. Only the settings are read here; the stores' files are loaded by the broker
//! when it binds its listeners, so a bad store fails start-up there.

use std::path::PathBuf;

use rafka_security::principal::SslPrincipalMapper;
use rafka_security::tls::{self, ClientAuth, KeyStore, PemSource, TlsSettings};

/// The broker-side `ssl.*` keys besides Kafka's shared ones (`tls::KAFKA_SSL_KEYS`).
const LISTENER_SSL_KEYS: &[&str] = &["ssl.client.auth", "ssl.principal.mapping.rules"];

/// Whether `key` is an `ssl.*` key rafka reads (besides its `listener.name.<l>.` forms).
pub fn is_ssl_key(key: &str) -> bool {
    tls::KAFKA_SSL_KEYS.contains(&key) || LISTENER_SSL_KEYS.contains(&key)
}

/// What an SSL or SASL_SSL listener serves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslListener {
    pub tls: TlsSettings,
    /// `ssl.principal.mapping.rules` (checked): an mTLS client's principal from its
    /// certificate's subject.
    pub principal_mapping_rules: String,
}

impl SslListener {
    pub fn principal_mapper(&self) -> SslPrincipalMapper {
        // Checked when the config was read.
        SslPrincipalMapper::new(&self.principal_mapping_rules)
            .unwrap_or_else(|_| SslPrincipalMapper::new("DEFAULT").expect("DEFAULT parses"))
    }
}

/// Reads `listener`'s TLS settings with Kafka's messages for what Kafka refuses, and a
/// clear one for what rafka does not read (JKS and PKCS12 stores).
pub(crate) fn ssl_listener(
    get: &dyn Fn(&str) -> Option<String>,
    listener: &str,
) -> Result<SslListener, String> {
    let prefix = format!("listener.name.{}.", listener.to_ascii_lowercase());
    // The value and the key it came from (the listener's override, or the plain key).
    let lookup = |key: &str| -> Option<(String, String)> {
        let prefixed = format!("{prefix}{key}");
        if let Some(v) = get(&prefixed) {
            return Some((prefixed, v));
        }
        get(key).map(|v| (key.to_string(), v))
    };
    let value = |key: &str| {
        lookup(key)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    for store in ["keystore", "truststore"] {
        if let Some((key, kind)) = lookup(&format!("ssl.{store}.type")) {
            if !kind.trim().eq_ignore_ascii_case("PEM") {
                return Err(format!(
                    "{key}={}: rafka reads PEM {store}s only (set {key}=PEM and give the certificates and keys in PEM)",
                    kind.trim()
                ));
            }
        }
    }
    if value("ssl.keystore.password").is_some() {
        return Err(
            "SSL key store password cannot be specified with PEM format, only key password may be specified"
                .into(),
        );
    }
    if value("ssl.truststore.password").is_some() {
        return Err("SSL trust store password cannot be specified for PEM format.".into());
    }
    let location = value("ssl.keystore.location");
    let chain = value("ssl.keystore.certificate.chain");
    let key = value("ssl.keystore.key");
    let keystore = match (location, chain, key) {
        (Some(path), None, None) => Some(KeyStore::File(PathBuf::from(path))),
        (None, Some(certificate_chain), Some(key)) => Some(KeyStore::Inline {
            certificate_chain,
            key,
        }),
        (None, None, None) => None,
        (Some(_), _, _) => {
            return Err("Invalid PEM keystore configs: ssl.keystore.location cannot be used together with ssl.keystore.certificate.chain or ssl.keystore.key".into())
        }
        (None, _, _) => {
            return Err("Invalid PEM keystore configs: both ssl.keystore.certificate.chain and ssl.keystore.key must be set".into())
        }
    };
    let truststore = match (
        value("ssl.truststore.location"),
        value("ssl.truststore.certificates"),
    ) {
        (Some(_), Some(_)) => {
            return Err("Invalid PEM truststore configs: ssl.truststore.location cannot be used together with ssl.truststore.certificates".into())
        }
        (Some(path), None) => Some(PemSource::File(PathBuf::from(path))),
        (None, Some(text)) => Some(PemSource::Inline(text)),
        (None, None) => None,
    };
    let client_auth = match value("ssl.client.auth") {
        None => ClientAuth::None,
        Some(v) => ClientAuth::from_name(&v).ok_or_else(|| {
            format!("Invalid value {v} for configuration ssl.client.auth: String must be one of: required, requested, none")
        })?,
    };
    let enabled_protocols = tls::list_setting(
        &value("ssl.enabled.protocols").unwrap_or_else(|| "TLSv1.2,TLSv1.3".into()),
    );
    tls::check_protocols(&enabled_protocols).map_err(|e| e.to_string())?;
    let cipher_suites = tls::list_setting(&value("ssl.cipher.suites").unwrap_or_default());
    tls::check_cipher_suites(&cipher_suites).map_err(|e| e.to_string())?;
    let principal_mapping_rules =
        value("ssl.principal.mapping.rules").unwrap_or_else(|| "DEFAULT".into());
    SslPrincipalMapper::new(&principal_mapping_rules).map_err(|e| {
        format!(
            "Invalid value {principal_mapping_rules} for configuration ssl.principal.mapping.rules: {e}"
        )
    })?;
    // Set but empty disables the check, as in Kafka; unset is `https`.
    let endpoint_identification = match lookup("ssl.endpoint.identification.algorithm") {
        None => true,
        Some((key, v)) => match v.trim().to_ascii_lowercase().as_str() {
            "" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "{key}={other}: rafka knows https (check the name) and the empty value (do not)"
                ))
            }
        },
    };
    Ok(SslListener {
        tls: TlsSettings {
            keystore,
            key_password: value("ssl.key.password"),
            truststore,
            client_auth,
            enabled_protocols,
            cipher_suites,
            endpoint_identification,
        },
        principal_mapping_rules,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<SslListener, String> {
        let props: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ssl_listener(&|k| props.get(k).cloned(), "SSL")
    }

    #[test]
    fn listener_overrides_win_over_the_plain_keys() {
        let ssl = read(&[
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", "/plain.pem"),
            ("listener.name.ssl.ssl.keystore.location", "/listener.pem"),
            ("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----"),
            ("listener.name.ssl.ssl.client.auth", "required"),
            ("ssl.enabled.protocols", "TLSv1.3"),
            ("ssl.cipher.suites", "TLS_AES_256_GCM_SHA384"),
            (
                "ssl.principal.mapping.rules",
                "RULE:^CN=(.*?),.*$/$1/L,DEFAULT",
            ),
            ("ssl.endpoint.identification.algorithm", ""),
        ])
        .unwrap();
        assert_eq!(
            ssl.tls.keystore,
            Some(KeyStore::File("/listener.pem".into()))
        );
        assert_eq!(ssl.tls.client_auth, ClientAuth::Required);
        assert_eq!(ssl.tls.enabled_protocols, ["TLSv1.3"]);
        assert!(!ssl.tls.endpoint_identification);
        assert_eq!(
            ssl.principal_mapper().name("CN=Alice,O=x").unwrap(),
            "alice"
        );
    }

    #[test]
    fn what_kafka_or_rafka_refuses_is_named() {
        let err = |pairs: &[(&str, &str)]| read(pairs).unwrap_err();
        assert_eq!(
            err(&[("listener.name.ssl.ssl.keystore.type", "JKS")]),
            "listener.name.ssl.ssl.keystore.type=JKS: rafka reads PEM keystores only (set listener.name.ssl.ssl.keystore.type=PEM and give the certificates and keys in PEM)"
        );
        assert!(err(&[("ssl.truststore.type", "PKCS12")]).starts_with("ssl.truststore.type=PKCS12"));
        assert_eq!(
            err(&[("ssl.client.auth", "always")]),
            "Invalid value always for configuration ssl.client.auth: String must be one of: required, requested, none"
        );
        assert!(err(&[("ssl.cipher.suites", "TLS_RSA_WITH_NULL_MD5")])
            .starts_with("ssl.cipher.suites: TLS_RSA_WITH_NULL_MD5 is not supported"));
        assert!(
            err(&[("ssl.enabled.protocols", "TLSv1")]).starts_with("ssl.enabled.protocols: TLSv1 ")
        );
        assert!(err(&[("ssl.principal.mapping.rules", "RULE:oops")])
            .starts_with("Invalid value RULE:oops for configuration ssl.principal.mapping.rules"));
        assert_eq!(
            err(&[("ssl.keystore.password", "x")]),
            "SSL key store password cannot be specified with PEM format, only key password may be specified"
        );
        assert!(err(&[("ssl.keystore.key", "k")]).starts_with("Invalid PEM keystore configs"));
    }
}
