//! The listeners' security settings, with Kafka's keys: `listener.security.protocol.map`,
//! `sasl.enabled.mechanisms` and `connections.max.reauth.ms` (each overridable per
//! listener as `listener.name.<listener>.<key>`), the JAAS entry of each SASL mechanism
//! (`listener.name.<listener>.<mechanism>.sasl.jaas.config`), and how this broker talks to
//! the others (`inter.broker.listener.name` or `security.inter.broker.protocol`,
//! `sasl.mechanism.inter.broker.protocol`) and to the controllers (the first of
//! `controller.listener.names`, its protocol from the map, its `ssl.*` and JAAS entry, and
//! `sasl.mechanism.controller.protocol`).
//!
//! Kept apart from `server` so that the authorizer's keys (another block) merge cleanly.

use std::collections::BTreeMap;

use rafka_security::jaas::{self, LoginModule};
use rafka_security::sasl::SaslMechanism;

/// Kafka's `SecurityProtocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn from_name(name: &str) -> Option<SecurityProtocol> {
        match name.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are TLS (SSL, SASL_SSL).
    pub fn is_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn is_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// What a SASL listener serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslListener {
    /// `sasl.enabled.mechanisms`, in the configured order (the SaslHandshake answer
    /// lists them so).
    pub enabled_mechanisms: Vec<String>,
    /// Each enabled mechanism's JAAS login module.
    pub jaas: BTreeMap<String, LoginModule>,
    /// `connections.max.reauth.ms` per mechanism (0: sessions never expire).
    pub connections_max_reauth_ms: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityConfig {
    /// Each listener's security protocol.
    pub protocols: BTreeMap<String, SecurityProtocol>,
    /// The SASL listeners' settings, by listener name.
    pub sasl_listeners: BTreeMap<String, SaslListener>,
    /// The TLS listeners' settings (SSL, SASL_SSL), by listener name.
    pub ssl_listeners: BTreeMap<String, crate::ssl::SslListener>,
    /// The listener this broker connects to the other brokers on.
    pub inter_broker_listener: String,
    pub inter_broker_protocol: SecurityProtocol,
    /// `sasl.mechanism.inter.broker.protocol` (Kafka's default: GSSAPI).
    pub sasl_mechanism_inter_broker_protocol: String,
    /// How this node connects to the controllers; `None` without controller listeners.
    pub controller: Option<ControllerListenerSecurity>,
}

/// The controller listener as this node's connections to it see it (a controller's
/// quorum client, a broker's controller client), as Kafka's `RaftManager` and
/// `NodeToControllerChannelManager` build their channels: the first of
/// `controller.listener.names`, with that listener's `ssl.*` settings (its trust store
/// checks the controllers, its key store is the client certificate) and, on SASL, the
/// `username`/`password` of its JAAS entry for `sasl.mechanism.controller.protocol`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerListenerSecurity {
    pub listener: String,
    pub protocol: SecurityProtocol,
    pub ssl: Option<crate::ssl::SslListener>,
    /// `sasl.mechanism.controller.protocol`, with the login module it logs in with
    /// (SASL protocols only).
    pub sasl: Option<(String, LoginModule)>,
}

/// The mechanisms rafka's controller connections authenticate with. Kafka's default,
/// GSSAPI, needs Kerberos; OAUTHBEARER needs a token endpoint a controller cannot rely on
/// before the quorum is up.
const CONTROLLER_MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// The keys this module reads (besides `listener.name.*`).
pub const SECURITY_KEYS: &[&str] = &[
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "security.inter.broker.protocol",
    "sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.mechanism.controller.protocol",
    "sasl.jaas.config",
    "connections.max.reauth.ms",
];

/// Whether `key` is one of this module's (the per-listener overrides included).
pub fn is_security_key(key: &str) -> bool {
    SECURITY_KEYS.contains(&key) || crate::ssl::is_ssl_key(key) || key.starts_with("listener.name.")
}

/// What the security keys are read against.
#[derive(Debug)]
pub struct Listeners<'a> {
    /// The names of `listeners` and of `advertised.listeners`.
    pub listeners: &'a [String],
    pub advertised: &'a [String],
    pub controller_listener_names: &'a [String],
    /// Whether this node serves clients (the broker role, or no roles at all).
    pub is_broker: bool,
}

impl SecurityConfig {
    /// Reads and checks the security keys with Kafka's messages, and refuses what rafka
    /// cannot serve (JKS stores, mechanisms it lacks, GSSAPI for the controllers).
    pub fn parse(
        get: &dyn Fn(&str) -> Option<String>,
        l: &Listeners<'_>,
    ) -> Result<SecurityConfig, String> {
        let protocols = protocol_map(get("listener.security.protocol.map").as_deref())?;
        let protocol_of = |name: &str| -> Result<SecurityProtocol, String> {
            if let Some(p) = protocols.get(name) {
                return Ok(*p);
            }
            // Without a map, controller listeners default to PLAINTEXT (Kafka's
            // effective map for KRaft).
            if l.controller_listener_names.iter().any(|c| c == name) {
                return Ok(SecurityProtocol::Plaintext);
            }
            Err(format!("No security protocol defined for listener {name}"))
        };
        let mut effective = BTreeMap::new();
        let mut sasl_listeners = BTreeMap::new();
        let mut ssl_listeners = BTreeMap::new();
        for listener in l.listeners.iter().chain(l.advertised) {
            let protocol = protocol_of(listener)?;
            effective.insert(listener.clone(), protocol);
            if protocol.is_sasl() && !sasl_listeners.contains_key(listener) {
                let sasl = sasl_listener(get, listener)?;
                sasl_listeners.insert(listener.clone(), sasl);
            }
            if protocol.is_tls() && !ssl_listeners.contains_key(listener) {
                let ssl = crate::ssl::ssl_listener(get, listener)
                    .map_err(|e| format!("listener {listener}: {e}"))?;
                ssl_listeners.insert(listener.clone(), ssl);
            }
        }
        let (inter_broker_listener, inter_broker_protocol) = match (
            get("inter.broker.listener.name"),
            get("security.inter.broker.protocol"),
        ) {
            (Some(_), Some(_)) => {
                return Err("Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.".into())
            }
            (Some(name), None) => {
                let name = name.trim().to_ascii_uppercase();
                let protocol = protocols.get(&name).copied().ok_or_else(|| {
                    format!("Listener with name {name} defined in inter.broker.listener.name not found in listener.security.protocol.map.")
                })?;
                (name, protocol)
            }
            (None, protocol) => {
                let name = protocol.unwrap_or_else(|| "PLAINTEXT".into());
                let protocol = SecurityProtocol::from_name(name.trim()).ok_or_else(|| {
                    format!("Invalid security protocol `{name}` defined in security.inter.broker.protocol")
                })?;
                (protocol.name().to_string(), protocol)
            }
        };
        let sasl_mechanism_inter_broker_protocol = get("sasl.mechanism.inter.broker.protocol")
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| "GSSAPI".into());
        if l.is_broker {
            let advertised: Vec<&str> = l
                .advertised
                .iter()
                .filter(|a| !l.controller_listener_names.contains(a))
                .map(String::as_str)
                .collect();
            if !advertised.contains(&inter_broker_listener.as_str()) {
                return Err(format!(
                    "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are {}",
                    advertised.join(",")
                ));
            }
            if inter_broker_protocol.is_sasl() {
                let enabled = sasl_listeners
                    .get(&inter_broker_listener)
                    .map(|s| s.enabled_mechanisms.clone())
                    .unwrap_or_default();
                if !enabled.contains(&sasl_mechanism_inter_broker_protocol) {
                    return Err("sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication".into());
                }
            }
        }
        let controller = match l.controller_listener_names.first() {
            Some(name) => Some(controller_listener(
                get,
                name,
                protocol_of(name)?,
                &sasl_listeners,
                &ssl_listeners,
            )?),
            None => None,
        };
        Ok(SecurityConfig {
            protocols: effective,
            sasl_listeners,
            ssl_listeners,
            inter_broker_listener,
            inter_broker_protocol,
            sasl_mechanism_inter_broker_protocol,
            controller,
        })
    }

    /// The SASL settings of `listener`, if it is a SASL listener.
    pub fn sasl(&self, listener: &str) -> Option<&SaslListener> {
        self.sasl_listeners.get(listener)
    }

    /// The TLS settings of `listener`, if it is an SSL or SASL_SSL listener.
    pub fn ssl(&self, listener: &str) -> Option<&crate::ssl::SslListener> {
        self.ssl_listeners.get(listener)
    }

    /// What this broker's own connections to the inter-broker listener use for TLS: the
    /// listener's own settings, its key store presented as the client certificate and
    /// its trust store checking the other brokers (as Kafka's inter-broker clients do).
    pub fn inter_broker_tls(&self) -> Option<rafka_security::tls::TlsSettings> {
        self.ssl(&self.inter_broker_listener).map(|s| s.tls.clone())
    }

    /// What this broker's own connections to the inter-broker listener authenticate with:
    /// the mechanism and the `sasl.jaas.config` text whose `username`/`password` (Kafka
    /// takes them from the listener's login module) it logs in with. `None` without SASL.
    pub fn inter_broker_sasl(&self) -> Option<(String, LoginModule)> {
        let listener = self.sasl(&self.inter_broker_listener)?;
        let mechanism = &self.sasl_mechanism_inter_broker_protocol;
        Some((mechanism.clone(), listener.jaas.get(mechanism)?.clone()))
    }
}

/// The controller listener's client side, checked as far as a config can be: a SASL
/// protocol needs `sasl.mechanism.controller.protocol` set to a mechanism rafka's
/// controller connections use, the listener's JAAS entry for it, and (on a controller,
/// whose listener it is) that mechanism among the listener's enabled ones.
fn controller_listener(
    get: &dyn Fn(&str) -> Option<String>,
    listener: &str,
    protocol: SecurityProtocol,
    sasl_listeners: &BTreeMap<String, SaslListener>,
    ssl_listeners: &BTreeMap<String, crate::ssl::SslListener>,
) -> Result<ControllerListenerSecurity, String> {
    let ssl = match (protocol.is_tls(), ssl_listeners.get(listener)) {
        (false, _) => None,
        (true, Some(ssl)) => Some(ssl.clone()),
        // A broker-only node: the listener is not its own, its settings are still how it
        // connects.
        (true, None) => Some(
            crate::ssl::ssl_listener(get, listener)
                .map_err(|e| format!("controller listener {listener}: {e}"))?,
        ),
    };
    let sasl = if protocol.is_sasl() {
        let mechanism = get("sasl.mechanism.controller.protocol")
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| "GSSAPI".into());
        if !CONTROLLER_MECHANISMS.contains(&mechanism.as_str()) {
            return Err(format!(
                "sasl.mechanism.controller.protocol is {mechanism}{}, which rafka's controller listener {listener} ({}) cannot use: set it to one of {}",
                if get("sasl.mechanism.controller.protocol").is_none() { " (Kafka's default)" } else { "" },
                protocol.name(),
                CONTROLLER_MECHANISMS.join(", ")
            ));
        }
        if let Some(served) = sasl_listeners.get(listener) {
            if !served.enabled_mechanisms.contains(&mechanism) {
                return Err(format!(
                    "sasl.mechanism.controller.protocol ({mechanism}) must be included in sasl.enabled.mechanisms of controller listener {listener} (now {}) when SASL is used for controller communication",
                    served.enabled_mechanisms.join(",")
                ));
            }
        }
        let key = format!(
            "listener.name.{}.{}.sasl.jaas.config",
            listener.to_ascii_lowercase(),
            mechanism.to_ascii_lowercase()
        );
        let module = match sasl_listeners
            .get(listener)
            .and_then(|s| s.jaas.get(&mechanism))
        {
            Some(module) => module.clone(),
            None => {
                let text = get(&key).ok_or_else(|| {
                    format!(
                        "Could not find a 'KafkaServer' or '{}.KafkaServer' entry in the JAAS configuration (set {key}). System property 'java.security.auth.login.config' is not set",
                        listener.to_ascii_lowercase()
                    )
                })?;
                let mut modules = jaas::parse(&text).map_err(|e| format!("{key}: {e}"))?;
                if modules.len() != 1 {
                    return Err(format!(
                        "{key}: JAAS config property contains {} login modules, should be 1 module",
                        modules.len()
                    ));
                }
                modules.remove(0)
            }
        };
        for option in ["username", "password"] {
            if !module.options.contains_key(option) {
                return Err(format!(
                    "{key}: {option} not specified: controller connections with {mechanism} log in with the entry's username and password"
                ));
            }
        }
        Some((mechanism, module))
    } else {
        None
    };
    Ok(ControllerListenerSecurity {
        listener: listener.to_string(),
        protocol,
        ssl,
        sasl,
    })
}

/// `listener.security.protocol.map`: `NAME:PROTOCOL,…`. Kafka's default maps each
/// protocol's own name (and rafka's CONTROLLER to PLAINTEXT, as before).
fn protocol_map(value: Option<&str>) -> Result<BTreeMap<String, SecurityProtocol>, String> {
    let value = value.unwrap_or(
        "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    );
    let mut map = BTreeMap::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, protocol) = item.split_once(':').ok_or_else(|| {
            format!("Error parsing configuration property 'listener.security.protocol.map': Malformed key-value pair: {item}")
        })?;
        let protocol = SecurityProtocol::from_name(protocol.trim()).ok_or_else(|| {
            format!(
                "Invalid security protocol `{}` defined in listener.security.protocol.map",
                protocol.trim()
            )
        })?;
        map.insert(name.trim().to_ascii_uppercase(), protocol);
    }
    Ok(map)
}

/// A key's value for `listener`: `listener.name.<listener>.<key>` over `<key>`.
fn for_listener(get: &dyn Fn(&str) -> Option<String>, listener: &str, key: &str) -> Option<String> {
    get(&format!(
        "listener.name.{}.{key}",
        listener.to_ascii_lowercase()
    ))
    .or_else(|| get(key))
}

fn sasl_listener(
    get: &dyn Fn(&str) -> Option<String>,
    listener: &str,
) -> Result<SaslListener, String> {
    let enabled_mechanisms: Vec<String> = for_listener(get, listener, "sasl.enabled.mechanisms")
        .unwrap_or_else(|| "GSSAPI".into())
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    let prefix = format!("listener.name.{}", listener.to_ascii_lowercase());
    let mut jaas_modules = BTreeMap::new();
    let mut reauth = BTreeMap::new();
    for mechanism in &enabled_mechanisms {
        if SaslMechanism::from_name(mechanism).is_none() {
            return Err(format!(
                "sasl.enabled.mechanisms of listener {listener} contains {mechanism}, which rafka does not support (supported: {})",
                SaslMechanism::SUPPORTED.join(", ")
            ));
        }
        let lower = mechanism.to_ascii_lowercase();
        let key = format!("{prefix}.{lower}.sasl.jaas.config");
        let text = match get(&key) {
            Some(text) => text,
            None => {
                if get("sasl.jaas.config").is_some() {
                    tracing::warn!("Server config sasl.jaas.config should be prefixed with SASL mechanism name, ignoring config");
                }
                return Err(format!(
                    "Could not find a 'KafkaServer' or '{}.KafkaServer' entry in the JAAS configuration (set {key}). System property 'java.security.auth.login.config' is not set",
                    listener.to_ascii_lowercase()
                ));
            }
        };
        let mut modules = jaas::parse(&text).map_err(|e| format!("{key}: {e}"))?;
        if modules.len() != 1 {
            return Err(format!(
                "{key}: JAAS config property contains {} login modules, should be 1 module",
                modules.len()
            ));
        }
        jaas_modules.insert(mechanism.clone(), modules.remove(0));
        let reauth_ms = get(&format!("{prefix}.{lower}.connections.max.reauth.ms"))
            .or_else(|| for_listener(get, listener, "connections.max.reauth.ms"));
        let reauth_ms = match reauth_ms {
            None => 0,
            Some(v) => v.trim().parse::<i64>().map_err(|_| {
                format!("Invalid value {v} for configuration connections.max.reauth.ms: Not a number of type LONG")
            })?,
        };
        reauth.insert(mechanism.clone(), reauth_ms);
    }
    Ok(SaslListener {
        enabled_mechanisms,
        jaas: jaas_modules,
        connections_max_reauth_ms: reauth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)], listeners: &str) -> Result<SecurityConfig, String> {
        let props: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let listeners: Vec<String> = listeners.split(',').map(str::to_string).collect();
        let controllers = vec!["CONTROLLER".to_string()];
        let data: Vec<String> = listeners
            .iter()
            .filter(|l| *l != "CONTROLLER")
            .cloned()
            .collect();
        SecurityConfig::parse(
            &|k| props.get(k).cloned(),
            &Listeners {
                listeners: &listeners,
                advertised: &data,
                controller_listener_names: &controllers,
                is_broker: true,
            },
        )
    }

    const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";"#;

    #[test]
    fn a_sasl_listener_reads_its_mechanisms_jaas_and_reauth() {
        let config = parse(
            &[
                ("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256"),
                (
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                    PLAIN_JAAS,
                ),
                (
                    "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                ),
                ("connections.max.reauth.ms", "5000"),
                ("inter.broker.listener.name", "SASL_PLAINTEXT"),
                ("sasl.mechanism.inter.broker.protocol", "PLAIN"),
            ],
            "SASL_PLAINTEXT,CONTROLLER",
        )
        .unwrap();
        let sasl = config.sasl("SASL_PLAINTEXT").unwrap();
        assert_eq!(sasl.enabled_mechanisms, ["PLAIN", "SCRAM-SHA-256"]);
        assert_eq!(sasl.connections_max_reauth_ms["PLAIN"], 5000);
        let (mechanism, module) = config.inter_broker_sasl().unwrap();
        assert_eq!(
            (mechanism.as_str(), module.options["username"].as_str()),
            ("PLAIN", "admin")
        );
        assert_eq!(config.protocols["CONTROLLER"], SecurityProtocol::Plaintext);
    }

    #[test]
    fn kafkas_checks_and_what_rafka_cannot_serve_yet_fail_start_up() {
        let sasl = "SASL_PLAINTEXT,CONTROLLER";
        let jaas = (
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            PLAIN_JAAS,
        );
        let err = |pairs: &[(&str, &str)], listeners| parse(pairs, listeners).unwrap_err();
        assert!(
            err(&[("inter.broker.listener.name", "SASL_PLAINTEXT")], sasl)
                .contains("contains GSSAPI, which rafka does not support")
        );
        assert_eq!(
            err(&[("sasl.enabled.mechanisms", "PLAIN"), jaas], sasl),
            "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are SASL_PLAINTEXT"
        );
        assert_eq!(
            err(
                &[
                    ("sasl.enabled.mechanisms", "PLAIN"),
                    jaas,
                    ("inter.broker.listener.name", "SASL_PLAINTEXT")
                ],
                sasl
            ),
            "sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication"
        );
        assert!(err(&[("sasl.enabled.mechanisms", "PLAIN")], sasl)
            .starts_with("Could not find a 'KafkaServer' or 'sasl_plaintext.KafkaServer' entry"));
        assert_eq!(
            err(&[("ssl.keystore.type", "JKS")], "SSL"),
            "listener SSL: ssl.keystore.type=JKS: rafka reads PEM keystores only (set ssl.keystore.type=PEM and give the certificates and keys in PEM)"
        );
        let ssl = parse(
            &[
                ("ssl.client.auth", "required"),
                ("inter.broker.listener.name", "SSL"),
            ],
            "SSL",
        )
        .unwrap();
        assert_eq!(
            ssl.ssl("SSL").unwrap().tls.client_auth,
            rafka_security::tls::ClientAuth::Required
        );
        assert_eq!(
            err(
                &[
                    ("inter.broker.listener.name", "PLAINTEXT"),
                    ("security.inter.broker.protocol", "PLAINTEXT")
                ],
                "PLAINTEXT"
            ),
            "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set."
        );
        assert_eq!(
            err(
                &[("listener.security.protocol.map", "PLAINTEXT:TLS")],
                "PLAINTEXT"
            ),
            "Invalid security protocol `TLS` defined in listener.security.protocol.map"
        );
        assert_eq!(
            err(
                &[("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT")],
                "CLIENT"
            ),
            "No security protocol defined for listener CLIENT"
        );
        assert!(parse(&[], "PLAINTEXT").is_ok());
    }

    #[test]
    fn the_controller_listener_may_be_ssl_or_sasl_with_a_password_mechanism() {
        let ssl = parse(
            &[
                (
                    "listener.security.protocol.map",
                    "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
                ),
                ("listener.name.controller.ssl.keystore.location", "/c.pem"),
                ("listener.name.controller.ssl.client.auth", "required"),
            ],
            "PLAINTEXT,CONTROLLER",
        )
        .unwrap();
        let controller = ssl.controller.as_ref().unwrap();
        assert_eq!(controller.protocol, SecurityProtocol::Ssl);
        assert_eq!(
            controller.ssl.as_ref().unwrap().tls.client_auth,
            rafka_security::tls::ClientAuth::Required
        );
        assert!(controller.sasl.is_none());

        let jaas = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="c" password="c-secret";"#;
        let sasl = [
            (
                "listener.security.protocol.map",
                "CONTROLLER:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ),
            (
                "listener.name.controller.sasl.enabled.mechanisms",
                "SCRAM-SHA-256",
            ),
            (
                "listener.name.controller.scram-sha-256.sasl.jaas.config",
                jaas,
            ),
        ];
        let err = parse(&sasl, "PLAINTEXT,CONTROLLER").unwrap_err();
        assert_eq!(err, "sasl.mechanism.controller.protocol is GSSAPI (Kafka's default), which rafka's controller listener CONTROLLER (SASL_PLAINTEXT) cannot use: set it to one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
        let mut with_mechanism = sasl.to_vec();
        with_mechanism.push(("sasl.mechanism.controller.protocol", "SCRAM-SHA-512"));
        assert!(parse(&with_mechanism, "PLAINTEXT,CONTROLLER")
            .unwrap_err()
            .starts_with("sasl.mechanism.controller.protocol (SCRAM-SHA-512) must be included in sasl.enabled.mechanisms of controller listener CONTROLLER (now SCRAM-SHA-256)"));
        with_mechanism.pop();
        with_mechanism.push(("sasl.mechanism.controller.protocol", "SCRAM-SHA-256"));
        let config = parse(&with_mechanism, "PLAINTEXT,CONTROLLER").unwrap();
        let (mechanism, module) = config.controller.unwrap().sasl.unwrap();
        assert_eq!(
            (mechanism.as_str(), module.options["username"].as_str()),
            ("SCRAM-SHA-256", "c")
        );
        // A broker-only node: the listener is not its own, its JAAS entry still is how
        // it logs in; without one, start-up fails with the key to set.
        let broker_only = |pairs: &[(&str, &str)]| {
            let props: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let listeners = vec!["PLAINTEXT".to_string()];
            SecurityConfig::parse(
                &|k| props.get(k).cloned(),
                &Listeners {
                    listeners: &listeners,
                    advertised: &listeners,
                    controller_listener_names: &["CONTROLLER".to_string()],
                    is_broker: true,
                },
            )
        };
        let config = broker_only(&with_mechanism).unwrap();
        assert_eq!(config.controller.unwrap().sasl.unwrap().0, "SCRAM-SHA-256");
        let without_jaas: Vec<(&str, &str)> = with_mechanism
            .iter()
            .filter(|(k, _)| !k.ends_with("jaas.config"))
            .copied()
            .collect();
        assert!(broker_only(&without_jaas)
            .unwrap_err()
            .contains("(set listener.name.controller.scram-sha-256.sasl.jaas.config)"));
    }
}
