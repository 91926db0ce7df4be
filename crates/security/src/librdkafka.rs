//! A Kafka client's security keys (`security.protocol`, `sasl.*`, `ssl.*`) as librdkafka's,
//! for the services and tools built on it (Connect, the REST proxy, the monitor, the
//! console and perf tools). librdkafka has no JAAS and no Java key stores, so:
//!
//! - a login module's `username`/`password` become `sasl.username`/`sasl.password`
//!   (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); OAUTHBEARER's `unsecuredLogin*` options become
//!   librdkafka's unsecured-JWT `sasl.oauthbearer.config` (`principal=… lifeSeconds=…`);
//! - PEM stores map onto librdkafka's PEM keys: `ssl.truststore.location` →
//!   `ssl.ca.location`, `ssl.truststore.certificates` → `ssl.ca.pem`,
//!   `ssl.keystore.location` (key and chain in one file: OpenSSL reads each from the same
//!   PEM file, skipping the other's blocks) → `ssl.certificate.location` +
//!   `ssl.key.location`, `ssl.keystore.certificate.chain`/`ssl.keystore.key` →
//!   `ssl.certificate.pem`/`ssl.key.pem`. JKS and PKCS12 stores are refused by name, as
//!   the broker refuses them; librdkafka's own `ssl.keystore.location` means PKCS#12, so a
//!   Kafka key is never passed on under its own name.
//! - `ssl.endpoint.identification.algorithm` empty is librdkafka's `none`.
//! - librdkafka has no key limiting the TLS versions (OpenSSL offers TLSv1.2 and TLSv1.3):
//!   `ssl.enabled.protocols` must name both. `ssl.cipher.suites` (Kafka's IANA names)
//!   becomes OpenSSL's names for the TLS 1.2 suites rafka's broker serves; librdkafka sets
//!   no TLS 1.3 suites, so a TLS 1.3 name is refused and TLS 1.3 uses OpenSSL's defaults.
//!
//! Errors name the client and the key, never a secret's value.

use crate::jaas;

/// The keys [`librdkafka_security`] reads besides Kafka's `ssl.*` ones
/// (`tls::KAFKA_SSL_KEYS`): a caller drops them all ([`is_security_key`]) from what it
/// passes to librdkafka as they are (librdkafka refuses `sasl.jaas.config` and Java's
/// store keys, and reads its own `ssl.keystore.location` as PKCS#12).
pub const SECURITY_KEYS: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "sasl.username",
    "sasl.password",
    "sasl.oauthbearer.config",
    // librdkafka's PEM keys, which rafka's own client accepts too.
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.certificate.pem",
    "ssl.key.pem",
];

/// Whether `key` is one of [`SECURITY_KEYS`] or Kafka's `ssl.*` keys.
pub fn is_security_key(key: &str) -> bool {
    SECURITY_KEYS.contains(&key) || crate::tls::KAFKA_SSL_KEYS.contains(&key)
}

/// Kafka's (IANA's) names of the TLS 1.2 suites rafka's broker serves, with OpenSSL's.
const TLS12_SUITES: &[(&str, &str)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

/// TLS 1.3's suites, which librdkafka cannot choose among.
const TLS13_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// librdkafka's settings for the client keys `get` returns (unset or blank: Kafka's
/// default, PLAINTEXT), or why librdkafka cannot connect so. `what` names the client in
/// the message (`producer`, `worker`, …).
pub fn librdkafka_security(
    what: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, String)>, String> {
    // Set but blank turns the name check off, as in Kafka; unset is `https`.
    let no_endpoint_check =
        get("ssl.endpoint.identification.algorithm").is_some_and(|v| v.trim().is_empty());
    let get = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let protocol = get("security.protocol")
        .unwrap_or_else(|| "PLAINTEXT".into())
        .to_ascii_uppercase();
    let (tls, sasl) = match protocol.as_str() {
        // Kafka reads no ssl.*/sasl.* key for PLAINTEXT, and neither does this.
        "PLAINTEXT" => return Ok(Vec::new()),
        "SSL" => (true, false),
        "SASL_PLAINTEXT" => (false, true),
        "SASL_SSL" => (true, true),
        other => {
            return Err(format!(
                "{what}: Invalid value {other} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
            ))
        }
    };
    let mut settings = vec![("security.protocol", protocol)];
    if tls {
        settings.extend(ssl_settings(&get, no_endpoint_check).map_err(|e| format!("{what}: {e}"))?);
    }
    if sasl {
        settings.extend(sasl_settings(&get).map_err(|e| format!("{what}: {e}"))?);
    }
    Ok(settings)
}

/// The `ssl.*` keys as librdkafka's (see the module's overview).
fn ssl_settings(
    get: &dyn Fn(&str) -> Option<String>,
    no_endpoint_check: bool,
) -> Result<Vec<(&'static str, String)>, String> {
    for store in ["keystore", "truststore"] {
        let key = format!("ssl.{store}.type");
        if let Some(kind) = get(&key).filter(|k| !k.eq_ignore_ascii_case("PEM")) {
            return Err(format!(
                "{key}={kind}: librdkafka reads PEM {store}s only, not JKS or PKCS12 (set {key}=PEM and give the certificates and keys in PEM)"
            ));
        }
    }
    if get("ssl.keystore.password").is_some() {
        return Err(
            "SSL key store password cannot be specified with PEM format, only key password may be specified"
                .into(),
        );
    }
    if get("ssl.truststore.password").is_some() {
        return Err("SSL trust store password cannot be specified for PEM format.".into());
    }
    let mut out: Vec<(&'static str, String)> = Vec::new();
    match (
        get("ssl.keystore.location"),
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
    ) {
        (Some(path), None, None) => {
            out.push(("ssl.certificate.location", path.clone()));
            out.push(("ssl.key.location", path));
        }
        (None, Some(chain), Some(key)) => {
            out.push(("ssl.certificate.pem", chain));
            out.push(("ssl.key.pem", key));
        }
        (None, None, None) => {
            // librdkafka's own keys, as written.
            for key in [
                "ssl.certificate.location",
                "ssl.key.location",
                "ssl.certificate.pem",
                "ssl.key.pem",
            ] {
                if let Some(value) = get(key) {
                    out.push((key, value));
                }
            }
        }
        (Some(_), _, _) => {
            return Err("Invalid PEM keystore configs: ssl.keystore.location cannot be used together with ssl.keystore.certificate.chain or ssl.keystore.key".into())
        }
        (None, _, _) => {
            return Err("Invalid PEM keystore configs: both ssl.keystore.certificate.chain and ssl.keystore.key must be set".into())
        }
    }
    if let Some(password) = get("ssl.key.password") {
        out.push(("ssl.key.password", password));
    }
    match (
        get("ssl.truststore.location"),
        get("ssl.truststore.certificates"),
    ) {
        (Some(_), Some(_)) => {
            return Err("Invalid PEM truststore configs: ssl.truststore.location cannot be used together with ssl.truststore.certificates".into())
        }
        (Some(path), None) => out.push(("ssl.ca.location", path)),
        (None, Some(text)) => out.push(("ssl.ca.pem", text)),
        (None, None) => {
            for key in ["ssl.ca.location", "ssl.ca.pem"] {
                if let Some(value) = get(key) {
                    out.push((key, value));
                }
            }
        }
    }
    let endpoint = get("ssl.endpoint.identification.algorithm");
    let algorithm = match endpoint.as_deref().map(str::to_ascii_lowercase) {
        Some(name) if name == "https" => "https",
        Some(name) if name == "none" => "none",
        Some(other) => {
            return Err(format!(
                "ssl.endpoint.identification.algorithm={other}: librdkafka knows https (check the broker's name) and the empty value (do not)"
            ))
        }
        None if no_endpoint_check => "none",
        None => "https",
    };
    out.push(("ssl.endpoint.identification.algorithm", algorithm.into()));
    if let Some(value) = get("ssl.enabled.protocols") {
        let protocols = crate::tls::list_setting(&value);
        crate::tls::check_protocols(&protocols).map_err(|e| e.to_string())?;
        if !(protocols.iter().any(|p| p == "TLSv1.2") && protocols.iter().any(|p| p == "TLSv1.3")) {
            return Err(format!(
                "ssl.enabled.protocols={value}: librdkafka has no setting to limit the TLS versions it offers (OpenSSL offers TLSv1.2 and TLSv1.3); leave it unset or set TLSv1.2,TLSv1.3"
            ));
        }
    }
    if let Some(value) = get("ssl.cipher.suites") {
        let mut names = Vec::new();
        for suite in crate::tls::list_setting(&value) {
            if TLS13_SUITES.contains(&suite.as_str()) {
                return Err(format!(
                    "ssl.cipher.suites: {suite} is a TLS 1.3 suite, which librdkafka cannot choose (it sets TLS 1.2's suites only; TLS 1.3 uses OpenSSL's defaults): list TLS 1.2 suites only"
                ));
            }
            let Some((_, openssl)) = TLS12_SUITES.iter().find(|(kafka, _)| *kafka == suite) else {
                let known: Vec<&str> = TLS12_SUITES.iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "ssl.cipher.suites: {suite} is not supported (supported: {})",
                    known.join(", ")
                ));
            };
            names.push(*openssl);
        }
        if !names.is_empty() {
            out.push(("ssl.cipher.suites", names.join(":")));
        }
    }
    Ok(out)
}

/// The `sasl.*` keys as librdkafka's.
fn sasl_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, String)>, String> {
    // Kafka's default mechanism is GSSAPI.
    let mechanism = get("sasl.mechanism")
        .unwrap_or_else(|| "GSSAPI".into())
        .to_ascii_uppercase();
    let module_class = match mechanism.as_str() {
        "PLAIN" => "org.apache.kafka.common.security.plain.PlainLoginModule",
        "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        }
        "OAUTHBEARER" => return oauthbearer_settings(get),
        other => {
            return Err(format!(
                "sasl.mechanism {other} is not supported through librdkafka here (no Kerberos); use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
            ))
        }
    };
    let (username, password) = match login_options(get)? {
        Some(mut options) => (options.remove("username"), options.remove("password")),
        None => (get("sasl.username"), get("sasl.password")),
    };
    match (username, password) {
        (Some(username), Some(password)) => Ok(vec![
            ("sasl.mechanism", mechanism),
            ("sasl.username", username),
            ("sasl.password", password),
        ]),
        _ => Err(format!(
            "sasl.mechanism {mechanism} needs a username and a password: set sasl.jaas.config ({module_class} required username=\"…\" password=\"…\";)"
        )),
    }
}

/// The options of `sasl.jaas.config`'s one login module, if it is set.
fn login_options(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<std::collections::BTreeMap<String, String>>, String> {
    let Some(text) = get("sasl.jaas.config") else {
        return Ok(None);
    };
    let mut modules = jaas::parse(&text).map_err(|e| e.to_string())?;
    if modules.len() != 1 {
        return Err(format!(
            "JAAS config property contains {} login modules, should be 1 module",
            modules.len()
        ));
    }
    Ok(Some(modules.remove(0).options))
}

/// OAUTHBEARER with an unsecured token (Kafka's `unsecuredLogin*` options, or librdkafka's
/// own `sasl.oauthbearer.config`): librdkafka's built-in unsecured JWT.
fn oauthbearer_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, String)>, String> {
    let config = match login_options(get)? {
        Some(options) => {
            let principal_claim = options
                .get("unsecuredLoginPrincipalClaimName")
                .cloned()
                .unwrap_or_else(|| "sub".into());
            let principal = options
                .get(&format!("unsecuredLoginStringClaim_{principal_claim}"))
                .ok_or_else(|| {
                    format!(
                        "sasl.mechanism OAUTHBEARER: Required claim missing: {principal_claim} (set unsecuredLoginStringClaim_{principal_claim} in sasl.jaas.config)"
                    )
                })?;
            let mut parts = vec![
                format!("principalClaimName={principal_claim}"),
                format!("principal={principal}"),
            ];
            if let Some(seconds) = options.get("unsecuredLoginLifetimeSeconds") {
                parts.push(format!("lifeSeconds={seconds}"));
            }
            for (key, value) in &options {
                if let Some(name) = key.strip_prefix("unsecuredLoginExtension_") {
                    parts.push(format!("extension_{name}={value}"));
                }
            }
            // librdkafka splits its config at spaces.
            if parts.iter().any(|p| p.contains(char::is_whitespace)) {
                return Err("sasl.mechanism OAUTHBEARER: librdkafka's unsecured token cannot carry a claim or extension with whitespace".into());
            }
            parts.join(" ")
        }
        None => get("sasl.oauthbearer.config").ok_or_else(|| {
            "sasl.mechanism OAUTHBEARER needs a token: set sasl.jaas.config (org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"…\";)".to_string()
        })?,
    };
    Ok(vec![
        ("sasl.mechanism", "OAUTHBEARER".into()),
        ("enable.sasl.oauthbearer.unsecure.jwt", "true".into()),
        ("sasl.oauthbearer.config", config),
    ])
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

    /// The settings as a map, for looking keys up.
    fn map(pairs: &[(&str, &str)]) -> BTreeMap<&'static str, String> {
        run(pairs).unwrap().into_iter().collect()
    }

    fn owned(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a-secret";"#;
    const SCRAM_JAAS: &str = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a-secret";"#;

    #[test]
    fn plaintext_sets_nothing() {
        assert_eq!(run(&[]).unwrap(), vec![]);
        assert_eq!(run(&[("security.protocol", "plaintext")]).unwrap(), vec![]);
        // Kafka reads no ssl.* key for PLAINTEXT.
        assert_eq!(
            run(&[
                ("ssl.keystore.type", "JKS"),
                ("ssl.truststore.location", "/ca.pem")
            ])
            .unwrap(),
            vec![]
        );
    }

    #[test]
    fn plain_from_jaas_or_librdkafka_keys() {
        let got = run(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", PLAIN_JAAS),
        ])
        .unwrap();
        assert_eq!(
            got,
            owned(&[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.username", "alice"),
                ("sasl.password", "a-secret"),
            ])
        );
        let got = map(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "b"),
        ]);
        assert_eq!(got["sasl.username"], "bob");
        assert_eq!(got["security.protocol"], "SASL_PLAINTEXT");
    }

    #[test]
    fn scram_takes_the_login_modules_username_and_password() {
        for mechanism in ["SCRAM-SHA-256", "scram-sha-512"] {
            let got = run(&[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", mechanism),
                ("sasl.jaas.config", SCRAM_JAAS),
            ])
            .unwrap();
            assert_eq!(
                got,
                owned(&[
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", &mechanism.to_ascii_uppercase()),
                    ("sasl.username", "alice"),
                    ("sasl.password", "a-secret"),
                ])
            );
        }
    }

    #[test]
    fn oauthbearer_unsecured_login_becomes_librdkafkas_unsecured_jwt() {
        let jaas = r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginLifetimeSeconds="600" unsecuredLoginExtension_traceId="123";"#;
        let got = map(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", jaas),
        ]);
        assert_eq!(got["sasl.mechanism"], "OAUTHBEARER");
        assert_eq!(got["enable.sasl.oauthbearer.unsecure.jwt"], "true");
        assert_eq!(
            got["sasl.oauthbearer.config"],
            "principalClaimName=sub principal=alice lifeSeconds=600 extension_traceId=123"
        );
        let direct = map(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.config", "principal=bob"),
        ]);
        assert_eq!(direct["sasl.oauthbearer.config"], "principal=bob");
        let no_sub = run(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
            ),
        ])
        .unwrap_err();
        assert!(no_sub.contains("unsecuredLoginStringClaim_sub"), "{no_sub}");
    }

    #[test]
    fn pem_truststore_file_or_inline_becomes_the_ca() {
        let got = run(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", "/etc/ca.pem"),
        ])
        .unwrap();
        assert_eq!(
            got,
            owned(&[
                ("security.protocol", "SSL"),
                ("ssl.ca.location", "/etc/ca.pem"),
                ("ssl.endpoint.identification.algorithm", "https"),
            ])
        );
        let inline = map(&[
            ("security.protocol", "SSL"),
            (
                "ssl.truststore.certificates",
                "-----BEGIN CERTIFICATE-----\nMII…",
            ),
        ]);
        assert_eq!(inline["ssl.ca.pem"], "-----BEGIN CERTIFICATE-----\nMII…");
        assert!(!inline.contains_key("ssl.ca.location"));
        // librdkafka's own key, as rafka's client also reads it.
        let native = map(&[("security.protocol", "SSL"), ("ssl.ca.location", "/ca.pem")]);
        assert_eq!(native["ssl.ca.location"], "/ca.pem");
        let both = run(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", "/ca.pem"),
            ("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----"),
        ])
        .unwrap_err();
        assert!(both.contains("Invalid PEM truststore configs"), "{both}");
    }

    #[test]
    fn pem_keystore_file_is_both_certificate_and_key_and_inline_is_pem() {
        let got = map(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", PLAIN_JAAS),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", "/etc/client.pem"),
            ("ssl.key.password", "key-secret"),
        ]);
        assert_eq!(got["ssl.certificate.location"], "/etc/client.pem");
        assert_eq!(got["ssl.key.location"], "/etc/client.pem");
        assert_eq!(got["ssl.key.password"], "key-secret");
        assert_eq!(got["sasl.username"], "alice");
        // Kafka's keystore key never reaches librdkafka, which reads it as PKCS#12.
        let keys: Vec<&str> = run(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.location", "/etc/client.pem"),
        ])
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
        assert!(!keys.contains(&"ssl.keystore.location"), "{keys:?}");
        let inline = map(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.certificate.chain", "CHAIN"),
            ("ssl.keystore.key", "KEY"),
        ]);
        assert_eq!(inline["ssl.certificate.pem"], "CHAIN");
        assert_eq!(inline["ssl.key.pem"], "KEY");
        let half = run(&[("security.protocol", "SSL"), ("ssl.keystore.key", "KEY")]).unwrap_err();
        assert!(
            half.contains("both ssl.keystore.certificate.chain and ssl.keystore.key"),
            "{half}"
        );
        let mixed = run(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.location", "/k.pem"),
            ("ssl.keystore.key", "KEY"),
        ])
        .unwrap_err();
        assert!(
            mixed.contains("ssl.keystore.location cannot be used together"),
            "{mixed}"
        );
        let native = map(&[
            ("security.protocol", "SSL"),
            ("ssl.certificate.location", "/c.pem"),
            ("ssl.key.location", "/k.pem"),
        ]);
        assert_eq!(native["ssl.certificate.location"], "/c.pem");
        assert_eq!(native["ssl.key.location"], "/k.pem");
    }

    #[test]
    fn endpoint_identification_empty_disables_it() {
        let check = |value: Option<&str>| {
            let mut pairs = vec![("security.protocol", "SSL")];
            if let Some(v) = value {
                pairs.push(("ssl.endpoint.identification.algorithm", v));
            }
            map(&pairs)["ssl.endpoint.identification.algorithm"].clone()
        };
        assert_eq!(check(None), "https");
        assert_eq!(check(Some("HTTPS")), "https");
        assert_eq!(check(Some("")), "none");
        assert_eq!(check(Some("  ")), "none");
        let bad = run(&[
            ("security.protocol", "SSL"),
            ("ssl.endpoint.identification.algorithm", "ldaps"),
        ])
        .unwrap_err();
        assert!(
            bad.contains("ssl.endpoint.identification.algorithm=ldaps"),
            "{bad}"
        );
    }

    #[test]
    fn protocols_and_cipher_suites_as_far_as_librdkafka_goes() {
        let ok = map(&[
            ("security.protocol", "SSL"),
            ("ssl.enabled.protocols", "TLSv1.3, TLSv1.2"),
            (
                "ssl.cipher.suites",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            ),
        ]);
        assert_eq!(
            ok["ssl.cipher.suites"],
            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
        );
        assert!(!ok.contains_key("ssl.enabled.protocols"));
        let only13 = run(&[
            ("security.protocol", "SSL"),
            ("ssl.enabled.protocols", "TLSv1.3"),
        ])
        .unwrap_err();
        assert!(
            only13.contains("no setting to limit the TLS versions"),
            "{only13}"
        );
        let old = run(&[
            ("security.protocol", "SSL"),
            ("ssl.enabled.protocols", "TLSv1.1"),
        ])
        .unwrap_err();
        assert!(old.contains("TLSv1.1"), "{old}");
        let tls13 = run(&[
            ("security.protocol", "SSL"),
            ("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256"),
        ])
        .unwrap_err();
        assert!(tls13.contains("TLS 1.3 suite"), "{tls13}");
        let unknown = run(&[
            ("security.protocol", "SSL"),
            ("ssl.cipher.suites", "TLS_RSA_WITH_NULL_SHA"),
        ])
        .unwrap_err();
        assert!(
            unknown.contains("TLS_RSA_WITH_NULL_SHA is not supported"),
            "{unknown}"
        );
    }

    #[test]
    fn java_stores_are_refused_by_name() {
        for (key, kind) in [
            ("ssl.keystore.type", "JKS"),
            ("ssl.truststore.type", "PKCS12"),
        ] {
            let err = run(&[("security.protocol", "SSL"), (key, kind)]).unwrap_err();
            assert!(
                err.starts_with("producer: ")
                    && err.contains(&format!("{key}={kind}"))
                    && err.contains("PEM"),
                "{err}"
            );
        }
        let password = run(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.password", "changeit"),
        ])
        .unwrap_err();
        assert!(
            password.contains("SSL trust store password cannot be specified"),
            "{password}"
        );
        assert!(!password.contains("changeit"), "{password}");
    }

    #[test]
    fn what_librdkafka_cannot_do_is_refused_by_name() {
        let gssapi = run(&[("security.protocol", "SASL_SSL")]).unwrap_err();
        assert!(gssapi.contains("GSSAPI"), "{gssapi}");
        let bad = run(&[("security.protocol", "TLS")]).unwrap_err();
        assert!(bad.contains("Invalid value TLS"), "{bad}");
        let no_password = run(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
        ])
        .unwrap_err();
        assert!(
            no_password.contains("sasl.jaas.config") && no_password.contains("ScramLoginModule"),
            "{no_password}"
        );
    }

    #[test]
    fn every_key_read_is_a_security_key() {
        // A caller drops SECURITY_KEYS and adds these settings: a Kafka-only key passed on
        // would make librdkafka refuse the config.
        for key in [
            "ssl.truststore.location",
            "ssl.keystore.location",
            "ssl.keystore.type",
            "sasl.jaas.config",
            "ssl.endpoint.identification.algorithm",
        ] {
            assert!(is_security_key(key), "{key}");
        }
        assert!(!is_security_key("acks"));
    }
}
