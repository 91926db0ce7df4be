//! A Kafka client's security keys (`security.protocol`, `sasl.mechanism`,
//! `sasl.jaas.config`) as librdkafka's, for the services built on it (Connect, the REST
//! proxy, the monitor). librdkafka has no JAAS: a login module's `username`/`password`
//! become `sasl.username`/`sasl.password`.
//!
//! The librdkafka bundled here is built without OpenSSL, so only PLAINTEXT and
//! SASL_PLAINTEXT with PLAIN work through it: SCRAM (its HMACs come from OpenSSL), TLS
//! and GSSAPI are refused with a message saying so, before any connection.

use crate::jaas;

/// The keys [`librdkafka_security`] reads: a caller drops them from what it passes to
/// librdkafka as they are (`sasl.jaas.config` would be refused there).
pub const SECURITY_KEYS: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "sasl.username",
    "sasl.password",
];

/// Whether `key` is one of [`SECURITY_KEYS`].
pub fn is_security_key(key: &str) -> bool {
    SECURITY_KEYS.contains(&key)
}

/// librdkafka's settings for the client keys `get` returns (unset or blank: Kafka's
/// default, PLAINTEXT), or why this build cannot connect so. `what` names the client in
/// the message (`producer`, `the worker`, …).
pub fn librdkafka_security(
    what: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, String)>, String> {
    let get = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let protocol = get("security.protocol")
        .unwrap_or_else(|| "PLAINTEXT".into())
        .to_ascii_uppercase();
    match protocol.as_str() {
        "PLAINTEXT" => return Ok(Vec::new()),
        "SASL_PLAINTEXT" => {}
        "SSL" | "SASL_SSL" => {
            return Err(format!(
                "{what}: security.protocol {protocol} is not supported: this build's librdkafka has no TLS (it is built without OpenSSL); use SASL_PLAINTEXT"
            ))
        }
        other => {
            return Err(format!(
                "{what}: Invalid value {other} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
            ))
        }
    }
    // Kafka's default mechanism is GSSAPI.
    let mechanism = get("sasl.mechanism")
        .unwrap_or_else(|| "GSSAPI".into())
        .to_ascii_uppercase();
    match mechanism.as_str() {
        "PLAIN" => {}
        "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
            return Err(format!(
                "{what}: sasl.mechanism {mechanism} is not supported: this build's librdkafka is built without OpenSSL, which SCRAM needs; use PLAIN"
            ))
        }
        other => {
            return Err(format!(
                "{what}: sasl.mechanism {other} is not supported through librdkafka here; use PLAIN"
            ))
        }
    }
    let (username, password) = match get("sasl.jaas.config") {
        Some(text) => {
            let mut modules = jaas::parse(&text).map_err(|e| format!("{what}: {e}"))?;
            if modules.len() != 1 {
                return Err(format!(
                    "{what}: JAAS config property contains {} login modules, should be 1 module",
                    modules.len()
                ));
            }
            let mut options = modules.remove(0).options;
            (options.remove("username"), options.remove("password"))
        }
        None => (get("sasl.username"), get("sasl.password")),
    };
    match (username, password) {
        (Some(username), Some(password)) => Ok(vec![
            ("security.protocol", "SASL_PLAINTEXT".into()),
            ("sasl.mechanism", "PLAIN".into()),
            ("sasl.username", username),
            ("sasl.password", password),
        ]),
        _ => Err(format!(
            "{what}: sasl.mechanism PLAIN needs a username and a password: set sasl.jaas.config (org.apache.kafka.common.security.plain.PlainLoginModule required username=\"…\" password=\"…\";)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn run(pairs: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, String> {
        let props: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        librdkafka_security("producer", |k| props.get(k).cloned())
    }

    #[test]
    fn plaintext_sets_nothing() {
        assert_eq!(run(&[]).unwrap(), vec![]);
        assert_eq!(run(&[("security.protocol", "plaintext")]).unwrap(), vec![]);
    }

    #[test]
    fn plain_from_jaas_or_librdkafka_keys() {
        let jaas = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a-secret";"#;
        let got = run(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", jaas),
        ])
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("security.protocol", "SASL_PLAINTEXT".to_string()),
                ("sasl.mechanism", "PLAIN".to_string()),
                ("sasl.username", "alice".to_string()),
                ("sasl.password", "a-secret".to_string()),
            ]
        );
        let got = run(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "b"),
        ])
        .unwrap();
        assert_eq!(got[2], ("sasl.username", "bob".to_string()));
    }

    #[test]
    fn what_this_build_cannot_do_is_refused_by_name() {
        let scram = run(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
        ])
        .unwrap_err();
        assert!(
            scram.contains("SCRAM-SHA-256") && scram.contains("OpenSSL"),
            "{scram}"
        );
        let tls = run(&[("security.protocol", "SASL_SSL")]).unwrap_err();
        assert!(tls.contains("SASL_SSL") && tls.contains("TLS"), "{tls}");
        let gssapi = run(&[("security.protocol", "SASL_PLAINTEXT")]).unwrap_err();
        assert!(gssapi.contains("GSSAPI"), "{gssapi}");
        let bad = run(&[("security.protocol", "TLS")]).unwrap_err();
        assert!(bad.contains("Invalid value TLS"), "{bad}");
        let no_password = run(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "alice"),
        ])
        .unwrap_err();
        assert!(no_password.contains("sasl.jaas.config"), "{no_password}");
    }
}
