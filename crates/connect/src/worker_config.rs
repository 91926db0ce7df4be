//! The worker's config (Kafka's `WorkerConfig` / `StandaloneConfig`): Kafka's keys from a
//! `.properties` file, with Kafka's defaults.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::RuntimeError;

/// A worker's parsed config. `props` keeps every key (converters and client overrides
/// read their prefixes from it).
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub props: HashMap<String, String>,
    pub bootstrap_servers: String,
    pub key_converter: String,
    pub value_converter: String,
    pub header_converter: String,
    /// Standalone only: where source offsets are kept.
    pub offset_storage_file: Option<PathBuf>,
    pub offset_flush_interval_ms: u64,
    pub task_shutdown_graceful_timeout_ms: u64,
    /// `listeners`: the REST server's `http://host:port` (Kafka's default `http://:8083`).
    pub listener_host: String,
    pub listener_port: u16,
    pub rest_advertised_host_name: Option<String>,
    pub rest_advertised_port: Option<u16>,
    /// `connector.client.config.override.policy`: `None`, `Principal` or `All`.
    pub client_config_override_policy: String,
    /// How the worker's own connections authenticate (the group membership, fencing
    /// and offset calls over rafka's client), from its top-level `security.protocol`,
    /// `sasl.mechanism` and `sasl.jaas.config`.
    pub security: rafka_client::ClientSecurity,
}

fn parse_u64(
    props: &HashMap<String, String>,
    key: &str,
    default: u64,
) -> Result<u64, RuntimeError> {
    match props.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            RuntimeError::Config(format!(
                "Invalid value {v} for configuration {key}: Not a number of type LONG"
            ))
        }),
    }
}

/// Splits `http://host:port` (host may be empty: every interface).
fn parse_listener(listener: &str) -> Result<(String, u16), RuntimeError> {
    let bad = || {
        RuntimeError::Config(format!(
            "Invalid value {listener} for configuration listeners: not a valid listener URL"
        ))
    };
    let rest = listener.trim().strip_prefix("http://").ok_or_else(|| {
        if listener.trim().starts_with("https://") {
            RuntimeError::Config("https listeners are not supported yet".into())
        } else {
            bad()
        }
    })?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port))
}

/// `exactly.once.source.support` (Kafka's `DistributedConfig.ExactlyOnceSourceSupport`).
/// Only distributed workers read it; a standalone worker never runs source tasks in
/// transactions (Kafka's `WorkerConfig.exactlyOnceSourceEnabled()` is `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSourceSupport {
    Disabled,
    /// The cluster is being upgraded: not yet transactional.
    Preparing,
    Enabled,
}

pub const EXACTLY_ONCE_SOURCE_SUPPORT: &str = "exactly.once.source.support";

impl WorkerConfig {
    /// `exactly.once.source.support`, `disabled` when absent; Kafka's `ConfigException`
    /// text for any other value than the three (matched exactly, as `ValidString.in`).
    pub fn exactly_once_source_support(&self) -> Result<ExactlyOnceSourceSupport, RuntimeError> {
        match self.props.get(EXACTLY_ONCE_SOURCE_SUPPORT).map(|v| v.trim()) {
            None | Some("disabled") => Ok(ExactlyOnceSourceSupport::Disabled),
            Some("preparing") => Ok(ExactlyOnceSourceSupport::Preparing),
            Some("enabled") => Ok(ExactlyOnceSourceSupport::Enabled),
            Some(other) => Err(RuntimeError::Config(format!(
                "Invalid value {other} for configuration {EXACTLY_ONCE_SOURCE_SUPPORT}: String must be one of: disabled, preparing, enabled"
            ))),
        }
    }

    /// Kafka's `exactlyOnceSourceEnabled()` of a distributed worker.
    pub fn exactly_once_source_enabled(&self) -> bool {
        matches!(
            self.exactly_once_source_support(),
            Ok(ExactlyOnceSourceSupport::Enabled)
        )
    }

    /// Reads a worker `.properties` file.
    pub fn from_file(path: &Path) -> Result<WorkerConfig, RuntimeError> {
        let file = std::fs::File::open(path)
            .map_err(|e| RuntimeError::Config(format!("cannot read {}: {e}", path.display())))?;
        let props = java_properties::read(std::io::BufReader::new(file))
            .map_err(|e| RuntimeError::Config(format!("cannot parse {}: {e}", path.display())))?;
        WorkerConfig::from_props(props)
    }

    pub fn from_props(props: HashMap<String, String>) -> Result<WorkerConfig, RuntimeError> {
        let get = |k: &str, default: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| default.to_string())
        };
        let listeners = get("listeners", "http://:8083");
        let first = listeners
            .split(',')
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("http://:8083");
        let (listener_host, listener_port) = parse_listener(first)?;
        let rest_advertised_port = match props.get("rest.advertised.port") {
            Some(p) => Some(p.trim().parse().map_err(|_| {
                RuntimeError::Config(format!(
                    "Invalid value {p} for configuration rest.advertised.port: Not a number of type INT"
                ))
            })?),
            None => None,
        };
        let policy = get("connector.client.config.override.policy", "All");
        if !["None", "Principal", "All"].contains(&policy.as_str()) {
            return Err(RuntimeError::Config(format!(
                "Invalid value {policy} for configuration connector.client.config.override.policy: Class {policy} could not be found."
            )));
        }
        // Every client's security settings, checked before anything connects: the
        // worker's own (top level), then the connectors' clients' (`producer.`,
        // `consumer.`, `admin.` over the top level for admin, as Kafka's Worker).
        let security = rafka_client::ClientSecurity::from_properties(
            &security_layer(&props, "").into_iter().collect(),
        )
        .map_err(|e| RuntimeError::Config(format!("worker: {e}")))?;
        for prefix in ["", "producer.", "consumer.", "admin."] {
            librdkafka_settings(&props, prefix, &HashMap::new()).map_err(RuntimeError::Config)?;
        }
        Ok(WorkerConfig {
            security,
            bootstrap_servers: get("bootstrap.servers", "localhost:9092"),
            key_converter: get(
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            value_converter: get(
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            header_converter: get(
                "header.converter",
                "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            ),
            offset_storage_file: props
                .get("offset.storage.file.filename")
                .map(|f| PathBuf::from(f.trim())),
            offset_flush_interval_ms: parse_u64(&props, "offset.flush.interval.ms", 60_000)?,
            task_shutdown_graceful_timeout_ms: parse_u64(
                &props,
                "task.shutdown.graceful.timeout.ms",
                5_000,
            )?,
            listener_host,
            listener_port,
            rest_advertised_host_name: props
                .get("rest.advertised.host.name")
                .map(|h| h.trim().to_string()),
            rest_advertised_port,
            client_config_override_policy: policy,
            props,
        })
    }

    /// The keys under `prefix`, prefix removed (Java's `originalsWithPrefix`).
    pub fn with_prefix(&self, prefix: &str) -> HashMap<String, String> {
        with_prefix(&self.props, prefix)
    }

    /// The worker id Kafka shows in statuses: the advertised `host:port`.
    pub fn worker_id(&self, bound_port: u16) -> String {
        let host = self
            .rest_advertised_host_name
            .clone()
            .or_else(|| Some(self.listener_host.clone()).filter(|h| !h.is_empty()))
            .unwrap_or_else(local_host_name);
        let port = self.rest_advertised_port.unwrap_or(bound_port);
        format!("{host}:{port}")
    }
}

fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The security keys (`rafka_security::librdkafka::is_security_key`) under `prefix`, prefix
/// removed.
fn security_layer(props: &HashMap<String, String>, prefix: &str) -> HashMap<String, String> {
    with_prefix(props, prefix)
        .into_iter()
        .filter(|(k, _)| rafka_security::librdkafka::is_security_key(k))
        .collect()
}

/// librdkafka's settings for a client whose keys are under `prefix` (`producer.`,
/// `consumer.`, `admin.`; `""` for the worker's own clients), with `overrides` (a
/// connector's `<prefix>override.` keys) over them: every non-security key as written,
/// the security keys translated (`sasl.jaas.config` → `sasl.username`/`sasl.password`).
/// Admin clients start from the worker's top-level security, as Kafka's
/// `Worker.adminConfigs`; producers and consumers see only their prefix.
pub(crate) fn librdkafka_settings(
    props: &HashMap<String, String>,
    prefix: &str,
    overrides: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    let mut merged = if prefix == "admin." {
        security_layer(props, "")
    } else {
        HashMap::new()
    };
    if prefix.is_empty() {
        merged.extend(security_layer(props, ""));
    } else {
        merged.extend(with_prefix(props, prefix));
    }
    merged.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let what = match prefix {
        "" => "worker".to_string(),
        p => p.trim_end_matches('.').to_string(),
    };
    let security =
        rafka_security::librdkafka::librdkafka_security(&what, |k| merged.get(k).cloned())?;
    let mut settings: Vec<(String, String)> = merged
        .into_iter()
        .filter(|(k, _)| !rafka_security::librdkafka::is_security_key(k))
        .collect();
    settings.sort();
    settings.extend(security.into_iter().map(|(k, v)| (k.to_string(), v)));
    Ok(settings)
}

impl WorkerConfig {
    /// [`librdkafka_settings`] of this worker's keys.
    pub(crate) fn client_settings(
        &self,
        prefix: &str,
        overrides: &HashMap<String, String>,
    ) -> Result<Vec<(String, String)>, String> {
        librdkafka_settings(&self.props, prefix, overrides)
    }
}

pub(crate) fn with_prefix(
    props: &HashMap<String, String>,
    prefix: &str,
) -> HashMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|r| (r.to_string(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_once_source_support_takes_kafkas_three_values() {
        let config = |value: &str| {
            let props: HashMap<String, String> =
                [(EXACTLY_ONCE_SOURCE_SUPPORT.to_string(), value.to_string())]
                    .into_iter()
                    .collect();
            WorkerConfig::from_props(props).unwrap()
        };
        assert!(config("enabled").exactly_once_source_enabled());
        assert!(!config("preparing").exactly_once_source_enabled());
        assert_eq!(
            WorkerConfig::from_props(HashMap::new())
                .unwrap()
                .exactly_once_source_support()
                .ok(),
            Some(ExactlyOnceSourceSupport::Disabled)
        );
        assert_eq!(
            config("ENABLED").exactly_once_source_support().unwrap_err().to_string(),
            "Invalid value ENABLED for configuration exactly.once.source.support: String must be one of: disabled, preparing, enabled"
        );
    }

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_kafkas() {
        let config = WorkerConfig::from_props(props(&[("bootstrap.servers", "h:1")])).unwrap();
        assert_eq!(config.bootstrap_servers, "h:1");
        assert_eq!(config.offset_flush_interval_ms, 60_000);
        assert_eq!(
            (config.listener_host.as_str(), config.listener_port),
            ("", 8083)
        );
        assert_eq!(
            config.key_converter,
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(config.client_config_override_policy, "All");
        assert!(config.offset_storage_file.is_none());
    }

    #[test]
    fn reads_a_properties_file_with_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.properties");
        std::fs::write(
            &path,
            "bootstrap.servers=localhost:9092\nkey.converter.schemas.enable=false\n\
             listeners=http://127.0.0.1:18083\noffset.flush.interval.ms=1000\n\
             offset.storage.file.filename=/tmp/x.offsets\nproducer.linger.ms=5\n\
             rest.advertised.host.name=worker1\nplugin.path=/usr/share/java\n",
        )
        .unwrap();
        let config = WorkerConfig::from_file(&path).unwrap();
        assert_eq!(config.offset_flush_interval_ms, 1000);
        assert_eq!(config.listener_host, "127.0.0.1");
        assert_eq!(config.listener_port, 18083);
        assert_eq!(
            config.with_prefix("key.converter."),
            props(&[("schemas.enable", "false")])
        );
        assert_eq!(
            config.with_prefix("producer."),
            props(&[("linger.ms", "5")])
        );
        assert_eq!(config.worker_id(18083), "worker1:18083");
        assert_eq!(
            config.offset_storage_file.as_deref(),
            Some(Path::new("/tmp/x.offsets"))
        );
    }

    #[test]
    fn rejects_bad_values_with_kafkas_message() {
        let err =
            WorkerConfig::from_props(props(&[("offset.flush.interval.ms", "soon")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value soon for configuration offset.flush.interval.ms: Not a number of type LONG"
        );
        assert!(WorkerConfig::from_props(props(&[("listeners", "ftp://x:1")])).is_err());
    }
}

#[cfg(test)]
mod security_tests {
    use super::*;

    #[test]
    fn prefixed_security_keys_become_librdkafkas() {
        let jaas = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";"#;
        let props: HashMap<String, String> = [
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", jaas),
            ("consumer.security.protocol", "SASL_PLAINTEXT"),
            ("consumer.sasl.mechanism", "PLAIN"),
            ("consumer.sasl.jaas.config", jaas),
            ("consumer.fetch.min.bytes", "1"),
            ("key.converter", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let expected = |extra: &[(&str, &str)]| {
            let mut all: Vec<(String, String)> = extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            for (k, v) in [
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.username", "alice"),
                ("sasl.password", "alice-secret"),
            ] {
                all.push((k.to_string(), v.to_string()));
            }
            all
        };
        let consumer = librdkafka_settings(&props, "consumer.", &HashMap::new()).unwrap();
        assert_eq!(consumer, expected(&[("fetch.min.bytes", "1")]));
        // A producer sees only its prefix: none here, so PLAINTEXT.
        assert_eq!(
            librdkafka_settings(&props, "producer.", &HashMap::new()).unwrap(),
            vec![]
        );
        assert_eq!(
            librdkafka_settings(&props, "", &HashMap::new()).unwrap(),
            expected(&[])
        );
        assert_eq!(
            librdkafka_settings(&props, "admin.", &HashMap::new()).unwrap(),
            expected(&[])
        );
    }

    #[test]
    fn tls_and_scram_keys_reach_each_client_as_librdkafkas() {
        let jaas = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";"#;
        let props: HashMap<String, String> = [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", jaas),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", "/etc/ca.pem"),
            ("producer.security.protocol", "SSL"),
            ("producer.ssl.truststore.location", "/etc/ca.pem"),
            ("producer.ssl.keystore.type", "PEM"),
            ("producer.ssl.keystore.location", "/etc/producer.pem"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let worker: HashMap<String, String> = librdkafka_settings(&props, "", &HashMap::new())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(worker["security.protocol"], "SASL_SSL");
        assert_eq!(worker["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(worker["sasl.password"], "alice-secret");
        assert_eq!(worker["ssl.ca.location"], "/etc/ca.pem");
        assert!(!worker.contains_key("ssl.truststore.location"));
        let producer: HashMap<String, String> =
            librdkafka_settings(&props, "producer.", &HashMap::new())
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(producer["security.protocol"], "SSL");
        assert_eq!(producer["ssl.certificate.location"], "/etc/producer.pem");
        assert_eq!(producer["ssl.key.location"], "/etc/producer.pem");
        assert!(!producer.contains_key("ssl.keystore.location"));
        assert!(!producer.contains_key("sasl.username"));
        // A connector's override is read the same way.
        let jks = librdkafka_settings(
            &props,
            "producer.",
            &[("ssl.keystore.type".to_string(), "JKS".to_string())].into(),
        )
        .unwrap_err();
        assert!(jks.starts_with("producer: ssl.keystore.type=JKS"), "{jks}");
    }
}
