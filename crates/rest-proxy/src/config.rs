//! The proxy's configuration: Confluent REST Proxy's keys from a `.properties` file, with
//! its defaults, plus `grpc.listener` for the gRPC service.
//!
//! `producer.*`, `consumer.*` and `client.*` keys pass through (prefix stripped) to the
//! underlying clients; `client.*` applies to all of them, the specific prefix wins.
//! Their security keys (`client.security.protocol`, `client.sasl.mechanism`,
//! `client.sasl.jaas.config`, as Confluent's REST Proxy reads them) become librdkafka's
//! (`rafka_security::librdkafka`) and the admin calls' `ClientSecurity`, checked at
//! start-up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

/// A configuration that cannot be used, named as Confluent names it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {message}")]
    Parse { path: String, message: String },
    #[error("Invalid value {value} for configuration {key}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("Missing required configuration \"bootstrap.servers\" which has no default value.")]
    MissingBootstrap,
    /// Security settings the clients cannot use (GSSAPI, JKS stores, …), or a bad JAAS.
    #[error("{0}")]
    Security(String),
}

/// `listeners`' default in Confluent's REST Proxy.
pub const DEFAULT_LISTENER: &str = "http://0.0.0.0:8082";
/// The gRPC service's default address for `rafka grpc`.
pub const DEFAULT_GRPC_LISTENER: &str = "0.0.0.0:9095";

/// The parsed configuration. `props` keeps every key as written.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub props: BTreeMap<String, String>,
    pub bootstrap_servers: String,
    /// `listeners`: the HTTP addresses (only `http://` today).
    pub listeners: Vec<SocketAddr>,
    /// `id`: this instance's id (Confluent's default: empty).
    pub id: String,
    /// `consumer.request.timeout.ms`: the longest a v2 records fetch waits (default 1000).
    pub consumer_request_timeout_ms: u64,
    /// `consumer.request.max.bytes`: a v2 records fetch's default byte cap (64 MiB).
    pub consumer_request_max_bytes: u64,
    /// `consumer.instance.timeout.ms`: an idle v2 consumer instance expires (default 300000).
    pub consumer_instance_timeout_ms: u64,
    /// `grpc.listener`: where the REST proxy process also serves gRPC (off when absent).
    pub grpc_listener: Option<SocketAddr>,
    /// How the admin calls (rafka's own client) authenticate: `client.*`, then `admin.*`.
    pub admin_security: rafka_client::ClientSecurity,
}

impl ProxyConfig {
    /// Reads a `.properties` file.
    pub fn load(path: &Path) -> Result<ProxyConfig, ConfigError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: name.clone(),
            source,
        })?;
        let props = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
            ConfigError::Parse {
                path: name,
                message: e.to_string(),
            }
        })?;
        ProxyConfig::from_props(props.into_iter().collect())
    }

    /// Parses already-read properties.
    pub fn from_props(props: BTreeMap<String, String>) -> Result<ProxyConfig, ConfigError> {
        let bootstrap_servers = props
            .get("bootstrap.servers")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::MissingBootstrap)?;
        let listeners = props
            .get("listeners")
            .map(String::as_str)
            .unwrap_or(DEFAULT_LISTENER)
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| parse_http_listener("listeners", l))
            .collect::<Result<Vec<_>, _>>()?;
        let grpc_listener = props
            .get("grpc.listener")
            .map(|l| parse_address("grpc.listener", l.trim()))
            .transpose()?;
        // Every kind of client's security, checked before anything starts.
        for kind in ["producer", "consumer", "admin"] {
            let raw = raw_client_settings(&props, kind);
            rafka_security::librdkafka::librdkafka_security(kind, |k| raw.get(k).cloned())
                .map_err(ConfigError::Security)?;
        }
        let admin_security =
            rafka_client::ClientSecurity::from_properties(&raw_client_settings(&props, "admin"))
                .map_err(|e| ConfigError::Security(format!("admin: {e}")))?;
        Ok(ProxyConfig {
            admin_security,
            id: props.get("id").cloned().unwrap_or_default(),
            consumer_request_timeout_ms: parse_ms(&props, "consumer.request.timeout.ms", 1000)?,
            consumer_request_max_bytes: parse_ms(&props, "consumer.request.max.bytes", 67108864)?,
            consumer_instance_timeout_ms: parse_ms(
                &props,
                "consumer.instance.timeout.ms",
                300_000,
            )?,
            bootstrap_servers,
            listeners,
            grpc_listener,
            props,
        })
    }

    /// The librdkafka settings for one kind of client: `client.*`, then `<kind>.*` over
    /// them (prefixes stripped), with `bootstrap.servers` set and the security keys as
    /// librdkafka's.
    pub fn client_settings(&self, kind: &str) -> BTreeMap<String, String> {
        let mut settings = raw_client_settings(&self.props, kind);
        // Checked in from_props: it cannot fail here.
        let security =
            rafka_security::librdkafka::librdkafka_security(kind, |k| settings.get(k).cloned())
                .unwrap_or_default();
        settings.retain(|k, _| !rafka_security::librdkafka::is_security_key(k));
        for (key, value) in security {
            settings.insert(key.to_string(), value);
        }
        settings.insert(
            "bootstrap.servers".to_string(),
            self.bootstrap_servers.clone(),
        );
        settings
    }
}

/// `client.*`, then `<kind>.*` over them, prefixes stripped, as written.
fn raw_client_settings(props: &BTreeMap<String, String>, kind: &str) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    for prefix in ["client.", &format!("{kind}.")] {
        for (key, value) in props {
            if let Some(rest) = key.strip_prefix(prefix) {
                if !PROXY_KEYS.contains(&key.as_str()) {
                    settings.insert(rest.to_string(), value.clone());
                }
            }
        }
    }
    settings
}

/// The proxy's own keys that share a client prefix and so never pass through.
const PROXY_KEYS: &[&str] = &[
    "consumer.request.timeout.ms",
    "consumer.request.max.bytes",
    "consumer.instance.timeout.ms",
    "consumer.iterator.backoff.ms",
    "consumer.iterator.timeout.ms",
    "consumer.threads",
];

fn parse_ms(props: &BTreeMap<String, String>, key: &str, default: u64) -> Result<u64, ConfigError> {
    match props.get(key) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
            key: key.to_string(),
            value: value.clone(),
            reason: "Not a number of type LONG".to_string(),
        }),
    }
}

/// `http://host:port`; an empty host or `0.0.0.0` listens on every interface.
fn parse_http_listener(key: &str, listener: &str) -> Result<SocketAddr, ConfigError> {
    let address = listener
        .strip_prefix("http://")
        .ok_or_else(|| ConfigError::Invalid {
            key: key.to_string(),
            value: listener.to_string(),
            reason: if listener.starts_with("https://") {
                "https listeners are not supported yet".to_string()
            } else {
                "not a listener URL of the form http://host:port".to_string()
            },
        })?;
    parse_address(key, address.trim_end_matches('/'))
}

fn parse_address(key: &str, address: &str) -> Result<SocketAddr, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        key: key.to_string(),
        value: address.to_string(),
        reason: reason.to_string(),
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(|| invalid("no port"))?;
    let port: u16 = port.parse().map_err(|_| invalid("not a port number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    host.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| invalid("not an IP address (use 0.0.0.0, 127.0.0.1 or a literal address)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_confluents() {
        let config = ProxyConfig::from_props(props(&[("bootstrap.servers", "b:9092")])).unwrap();
        assert_eq!(config.listeners, vec!["0.0.0.0:8082".parse().unwrap()]);
        assert_eq!(config.consumer_request_timeout_ms, 1000);
        assert_eq!(config.consumer_instance_timeout_ms, 300_000);
        assert_eq!(config.consumer_request_max_bytes, 67_108_864);
        assert_eq!(config.grpc_listener, None);
        assert_eq!(config.id, "");
    }

    #[test]
    fn client_prefixes_pass_through_the_specific_one_winning() {
        let config = ProxyConfig::from_props(props(&[
            ("bootstrap.servers", "b:9092"),
            ("client.client.id", "all"),
            ("producer.client.id", "p"),
            ("producer.linger.ms", "5"),
            ("consumer.instance.timeout.ms", "1000"),
            ("consumer.fetch.min.bytes", "7"),
        ]))
        .unwrap();
        let producer = config.client_settings("producer");
        assert_eq!(producer["client.id"], "p");
        assert_eq!(producer["linger.ms"], "5");
        assert_eq!(producer["bootstrap.servers"], "b:9092");
        let consumer = config.client_settings("consumer");
        assert_eq!(consumer["client.id"], "all");
        assert_eq!(consumer["fetch.min.bytes"], "7");
        assert!(!consumer.contains_key("instance.timeout.ms"));
    }

    #[test]
    fn client_ssl_keys_are_checked_for_every_kind_of_client() {
        let err = ProxyConfig::from_props(props(&[
            ("bootstrap.servers", "b:9093"),
            ("client.security.protocol", "SSL"),
            ("client.ssl.truststore.location", "/etc/ca.pem"),
            ("consumer.ssl.keystore.type", "PKCS12"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("consumer: ssl.keystore.type=PKCS12"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let missing = ProxyConfig::from_props(props(&[])).unwrap_err();
        assert!(missing.to_string().contains("bootstrap.servers"));
        let err = ProxyConfig::from_props(props(&[
            ("bootstrap.servers", "b:9092"),
            ("listeners", "ftp://x:1"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("configuration listeners"), "{err}");
        let err = ProxyConfig::from_props(props(&[
            ("bootstrap.servers", "b:9092"),
            ("consumer.request.timeout.ms", "soon"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value soon for configuration consumer.request.timeout.ms: Not a number of type LONG"
        );
    }
}
