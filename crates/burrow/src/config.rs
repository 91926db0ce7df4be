//! Burrow's configuration file (TOML), with Burrow's sections, keys and defaults
//! (`config/burrow.toml`, each module's `Configure`). Keys Burrow would ignore are ignored
//! here too; a key of the wrong type or an unknown `class-name` is an error naming it.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use toml::{Table, Value};

/// Why a configuration file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("[{section}] {key}: expected {expected}")]
    WrongType {
        section: String,
        key: String,
        expected: &'static str,
    },
    #[error("[{section}] class-name \"{class_name}\" is unknown (expected {expected})")]
    UnknownClassName {
        section: String,
        class_name: String,
        expected: &'static str,
    },
    #[error("[{section}] {key}: invalid regular expression: {source}")]
    BadRegex {
        section: String,
        key: String,
        source: regex::Error,
    },
    #[error("[{section}] {message}")]
    Invalid { section: String, message: String },
}

/// `[client-profile.NAME]` as a cluster or consumer module names it (`client-profile`):
/// the client id, and the TLS settings of its `[tls.NAME]` and SASL settings of its
/// `[sasl.NAME]` as librdkafka's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientProfile {
    pub client_id: Option<String>,
    /// librdkafka's settings (`security.protocol`, `ssl.*`, `sasl.*`); empty for PLAINTEXT.
    pub security: Vec<(&'static str, String)>,
}

/// `[cluster.NAME]`: a Kafka cluster whose topics and log-end offsets are polled.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub name: String,
    pub servers: Vec<String>,
    pub client: ClientProfile,
    pub topic_refresh_seconds: u64,
    pub offset_refresh_seconds: u64,
}

/// `[consumer.NAME]`: reads a cluster's `__consumer_offsets`.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub name: String,
    pub cluster: String,
    pub servers: Vec<String>,
    pub client: ClientProfile,
    pub offsets_topic: String,
    pub group_allowlist: Option<Regex>,
    pub group_denylist: Option<Regex>,
    pub start_latest: bool,
}

/// `[storage.default]` (class `inmemory`).
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub intervals: usize,
    pub min_distance_seconds: i64,
    pub expire_group_seconds: i64,
    pub group_allowlist: Option<Regex>,
}

/// `[evaluator.default]` (class `caching`).
#[derive(Debug, Clone)]
pub struct EvaluatorConfig {
    pub expire_cache_seconds: u64,
}

/// `[httpserver.NAME]`.
#[derive(Debug, Clone)]
pub struct HttpServerConfig {
    pub name: String,
    /// Go's listen syntax: `:8000` means every interface.
    pub address: String,
}

/// `[notifier.NAME]` (class `http`).
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub name: String,
    pub url_open: String,
    pub url_close: String,
    pub method_open: String,
    pub method_close: String,
    pub template_open: Option<String>,
    pub template_close: Option<String>,
    pub interval_seconds: u64,
    pub threshold: crate::status::Status,
    pub send_close: bool,
    pub group_allowlist: Option<Regex>,
    pub group_denylist: Option<Regex>,
    pub extras: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
}

/// `[logging]`: where the log goes and at which level.
#[derive(Debug, Clone)]
pub struct LoggingConfig {
    pub level: String,
    pub filename: Option<String>,
}

/// The whole file, each section with Burrow's defaults filled in.
#[derive(Debug, Clone)]
pub struct BurrowConfig {
    pub clusters: Vec<ClusterConfig>,
    pub consumers: Vec<ConsumerConfig>,
    pub storage: StorageConfig,
    pub evaluator: EvaluatorConfig,
    pub http_servers: Vec<HttpServerConfig>,
    pub notifiers: Vec<NotifierConfig>,
    pub logging: LoggingConfig,
    /// `[general] access-control-allow-origin`.
    pub access_control_allow_origin: Option<String>,
    /// The file as parsed, for `/v3/config`.
    pub raw: Table,
}

impl BurrowConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: Table = toml::from_str(text)?;
        let general = Section::new(&raw, "general", None)?;
        let access_control_allow_origin = general.opt_str("access-control-allow-origin")?;
        let logging_section = Section::new(&raw, "logging", None)?;
        let logging = LoggingConfig {
            level: logging_section
                .opt_str("level")?
                .unwrap_or_else(|| "info".to_owned()),
            filename: logging_section.opt_str("filename")?,
        };
        if crate::logging::parse_level(&logging.level).is_none() {
            return Err(logging_section.invalid(&format!(
                "level \"{}\" is unknown (expected debug, info, warn, error, panic or fatal)",
                logging.level
            )));
        }

        let mut clusters = Vec::new();
        for (name, section) in named(&raw, "cluster")? {
            section.class_name(&["kafka"])?;
            let servers = section.str_list("servers")?;
            if servers.is_empty() {
                return Err(section.invalid("servers must list at least one host:port"));
            }
            clusters.push(ClusterConfig {
                client: client_profile(&raw, &section)?,
                name,
                servers,
                topic_refresh_seconds: section.uint("topic-refresh", 60)?,
                offset_refresh_seconds: section.uint("offset-refresh", 10)?,
            });
        }

        let mut consumers = Vec::new();
        for (name, section) in named(&raw, "consumer")? {
            section.class_name(&["kafka"])?;
            let cluster = section
                .opt_str("cluster")?
                .ok_or_else(|| section.invalid("cluster is required"))?;
            if !clusters.iter().any(|c| c.name == cluster) {
                return Err(section.invalid(&format!(
                    "cluster \"{cluster}\" has no [cluster.{cluster}] section"
                )));
            }
            let mut servers = section.str_list("servers")?;
            if servers.is_empty() {
                servers = clusters
                    .iter()
                    .find(|c| c.name == cluster)
                    .map(|c| c.servers.clone())
                    .unwrap_or_default();
            }
            consumers.push(ConsumerConfig {
                client: client_profile(&raw, &section)?,
                name,
                cluster,
                servers,
                offsets_topic: section
                    .opt_str("offsets-topic")?
                    .unwrap_or_else(|| "__consumer_offsets".to_owned()),
                group_allowlist: section.regex(&["group-allowlist", "group-whitelist"])?,
                group_denylist: section.regex(&["group-denylist", "group-blacklist"])?,
                start_latest: section.bool("start-latest", false)?,
            });
        }

        let storage_sections = named(&raw, "storage")?;
        let storage = match storage_sections.first() {
            None => StorageConfig {
                intervals: 10,
                min_distance_seconds: 1,
                expire_group_seconds: 604_800,
                group_allowlist: None,
            },
            Some((_, section)) => {
                section.class_name(&["inmemory"])?;
                let intervals = section.uint("intervals", 10)?;
                if intervals == 0 {
                    return Err(section.invalid("intervals must be at least 1"));
                }
                StorageConfig {
                    intervals: intervals as usize,
                    min_distance_seconds: section.uint("min-distance", 1)? as i64,
                    expire_group_seconds: section.uint("expire-group", 604_800)? as i64,
                    group_allowlist: section.regex(&["group-allowlist", "group-whitelist"])?,
                }
            }
        };

        let evaluator = match named(&raw, "evaluator")?.first() {
            None => EvaluatorConfig {
                expire_cache_seconds: 10,
            },
            Some((_, section)) => {
                section.class_name(&["caching"])?;
                EvaluatorConfig {
                    expire_cache_seconds: section.uint("expire-cache", 10)?,
                }
            }
        };

        let mut http_servers = Vec::new();
        for (name, section) in named(&raw, "httpserver")? {
            http_servers.push(HttpServerConfig {
                name,
                address: section
                    .opt_str("address")?
                    .unwrap_or_else(|| ":8000".to_owned()),
            });
        }

        let mut notifiers = Vec::new();
        for (name, section) in named(&raw, "notifier")? {
            section.class_name(&["http"])?;
            let threshold = match section.value("threshold") {
                None => crate::status::Status::Warn,
                Some(Value::Integer(n)) => crate::status::Status::from_code(*n)
                    .ok_or_else(|| section.invalid("threshold must be 1 (OK) to 6 (REWIND)"))?,
                Some(Value::String(s)) => crate::status::Status::from_name(s)
                    .ok_or_else(|| section.invalid(&format!("threshold \"{s}\" is no status")))?,
                Some(_) => return Err(section.wrong("threshold", "an integer or a status name")),
            };
            notifiers.push(NotifierConfig {
                url_open: section
                    .opt_str("url-open")?
                    .ok_or_else(|| section.invalid("url-open is required"))?,
                url_close: section.opt_str("url-close")?.unwrap_or_default(),
                method_open: section
                    .opt_str("method-open")?
                    .unwrap_or_else(|| "POST".to_owned()),
                method_close: section
                    .opt_str("method-close")?
                    .unwrap_or_else(|| "DELETE".to_owned()),
                template_open: section.opt_str("template-open")?,
                template_close: section.opt_str("template-close")?,
                interval_seconds: section.uint("interval", 60)?,
                threshold,
                send_close: section.bool("send-close", false)?,
                group_allowlist: section.regex(&["group-allowlist", "group-whitelist"])?,
                group_denylist: section.regex(&["group-denylist", "group-blacklist"])?,
                extras: section.str_map("extras")?,
                headers: section.str_map("headers")?,
                name,
            });
        }

        Ok(Self {
            clusters,
            consumers,
            storage,
            evaluator,
            http_servers,
            notifiers,
            logging,
            access_control_allow_origin,
            raw,
        })
    }
}

/// The client profile a module's `client-profile` names (none: Burrow's defaults,
/// PLAINTEXT). As Burrow: an unknown profile is an error; `tls = "NAME"` names a
/// `[tls.NAME]` with `certfile`/`keyfile` (a client certificate, both or neither),
/// `cafile` (the brokers' CA; unset: the system's) and `noverify` (true: neither the
/// certificate nor the name is checked, as Go's `InsecureSkipVerify`); `sasl = "NAME"`
/// names a `[sasl.NAME]` with `username`, `password`, `mechanism` (PLAIN when unset;
/// SCRAM-SHA-256, SCRAM-SHA-512) and `handshake-first` (librdkafka always handshakes).
/// Both together are SASL_SSL.
fn client_profile(raw: &Table, module: &Section<'_>) -> Result<ClientProfile, ConfigError> {
    let Some(name) = module.opt_str("client-profile")? else {
        return Ok(ClientProfile::default());
    };
    let profiles = named(raw, "client-profile")?;
    let Some((_, profile)) = profiles.iter().find(|(n, _)| *n == name) else {
        return Err(module.invalid(&format!("unknown client-profile '{name}'")));
    };
    // Kafka's client keys, then translated as every service's are.
    let mut settings: BTreeMap<&str, String> = BTreeMap::new();
    let mut no_verify = false;
    let mut section_name = profile.name.clone();
    let tls = profile.opt_str("tls")?;
    if let Some(tls) = &tls {
        let sections = named(raw, "tls")?;
        let Some((_, section)) = sections.iter().find(|(n, _)| n == tls) else {
            return Err(profile.invalid(&format!("tls \"{tls}\" has no [tls.{tls}] section")));
        };
        match (section.opt_str("certfile")?, section.opt_str("keyfile")?) {
            (Some(cert), Some(key)) => {
                settings.insert("ssl.certificate.location", cert);
                settings.insert("ssl.key.location", key);
            }
            (None, None) => {}
            _ => {
                return Err(section.invalid(
                    "certfile and keyfile go together (a client certificate and its key)",
                ))
            }
        }
        if let Some(ca) = section.opt_str("cafile")? {
            settings.insert("ssl.ca.location", ca);
        }
        no_verify = section.bool("noverify", false)?;
        if no_verify {
            settings.insert("ssl.endpoint.identification.algorithm", String::new());
        }
        section_name = section.name.clone();
    }
    let sasl = profile.opt_str("sasl")?;
    if let Some(sasl) = &sasl {
        let sasls = named(raw, "sasl")?;
        let Some((_, section)) = sasls.iter().find(|(n, _)| n == sasl) else {
            return Err(profile.invalid(&format!("sasl \"{sasl}\" has no [sasl.{sasl}] section")));
        };
        section.bool("handshake-first", true)?;
        settings.insert(
            "sasl.mechanism",
            section
                .opt_str("mechanism")?
                .unwrap_or_else(|| "PLAIN".to_owned()),
        );
        settings.insert(
            "sasl.username",
            section.opt_str("username")?.unwrap_or_default(),
        );
        settings.insert(
            "sasl.password",
            section.opt_str("password")?.unwrap_or_default(),
        );
        section_name = section.name.clone();
    }
    let protocol = match (&tls, &sasl) {
        (None, None) => "PLAINTEXT",
        (Some(_), None) => "SSL",
        (None, Some(_)) => "SASL_PLAINTEXT",
        (Some(_), Some(_)) => "SASL_SSL",
    };
    settings.insert("security.protocol", protocol.to_owned());
    let mut security = rafka_security::librdkafka::librdkafka_security(&section_name, |k| {
        settings.get(k).cloned()
    })
    .map_err(|message| ConfigError::Invalid {
        section: section_name.clone(),
        message,
    })?;
    if no_verify {
        security.push(("enable.ssl.certificate.verification", "false".to_owned()));
    }
    Ok(ClientProfile {
        client_id: profile.opt_str("client-id")?,
        security,
    })
}

/// The `[kind.NAME]` sections of one kind, in the file's order of names.
fn named<'a>(raw: &'a Table, kind: &str) -> Result<Vec<(String, Section<'a>)>, ConfigError> {
    let Some(value) = raw.get(kind) else {
        return Ok(Vec::new());
    };
    let Value::Table(table) = value else {
        return Err(ConfigError::WrongType {
            section: kind.to_owned(),
            key: String::new(),
            expected: "a table of named sections",
        });
    };
    table
        .iter()
        .map(|(name, _)| Ok((name.clone(), Section::new(table, name, Some(kind))?)))
        .collect()
}

/// One section's table, with typed getters that name the section in their errors.
struct Section<'a> {
    name: String,
    table: Option<&'a Table>,
}

impl<'a> Section<'a> {
    fn new(parent: &'a Table, key: &str, kind: Option<&str>) -> Result<Self, ConfigError> {
        let name = match kind {
            Some(kind) => format!("{kind}.{key}"),
            None => key.to_owned(),
        };
        match parent.get(key) {
            None => Ok(Self { name, table: None }),
            Some(Value::Table(table)) => Ok(Self {
                name,
                table: Some(table),
            }),
            Some(_) => Err(ConfigError::WrongType {
                section: name,
                key: String::new(),
                expected: "a table",
            }),
        }
    }

    fn value(&self, key: &str) -> Option<&'a Value> {
        self.table.and_then(|t| t.get(key))
    }

    fn wrong(&self, key: &str, expected: &'static str) -> ConfigError {
        ConfigError::WrongType {
            section: self.name.clone(),
            key: key.to_owned(),
            expected,
        }
    }

    fn invalid(&self, message: &str) -> ConfigError {
        ConfigError::Invalid {
            section: self.name.clone(),
            message: message.to_owned(),
        }
    }

    fn class_name(&self, known: &[&'static str]) -> Result<(), ConfigError> {
        let class_name = self
            .opt_str("class-name")?
            .unwrap_or_else(|| known[0].to_owned());
        if known.contains(&class_name.as_str()) {
            Ok(())
        } else {
            Err(ConfigError::UnknownClassName {
                section: self.name.clone(),
                class_name,
                expected: known[0],
            })
        }
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    fn uint(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.value(key) {
            None => Ok(default),
            Some(Value::Integer(n)) if *n >= 0 => Ok(*n as u64),
            Some(_) => Err(self.wrong(key, "a non-negative integer")),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.value(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(self.wrong(key, "true or false")),
        }
    }

    fn str_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.value(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.split(',').map(|s| s.trim().to_owned()).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.wrong(key, "a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.wrong(key, "a list of strings")),
        }
    }

    fn str_map(&self, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        match self.value(key) {
            None => Ok(BTreeMap::new()),
            Some(Value::Table(t)) => t
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(self.wrong(key, "a table of strings")),
                })
                .collect(),
            Some(_) => Err(self.wrong(key, "a table of strings")),
        }
    }

    /// The first of `keys` present (Burrow accepts the old `*-whitelist` spellings too).
    fn regex(&self, keys: &[&str]) -> Result<Option<Regex>, ConfigError> {
        for key in keys {
            if let Some(pattern) = self.opt_str(key)? {
                return Regex::new(&pattern)
                    .map(Some)
                    .map_err(|source| ConfigError::BadRegex {
                        section: self.name.clone(),
                        key: (*key).to_owned(),
                        source,
                    });
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_burrow() {
        let config = BurrowConfig::parse(
            r#"
[httpserver.default]
[cluster.local]
class-name = "kafka"
servers = ["localhost:9092"]
[consumer.local]
class-name = "kafka"
cluster = "local"
"#,
        )
        .unwrap();
        assert_eq!(config.http_servers[0].address, ":8000");
        assert_eq!(config.clusters[0].topic_refresh_seconds, 60);
        assert_eq!(config.clusters[0].offset_refresh_seconds, 10);
        assert_eq!(config.consumers[0].offsets_topic, "__consumer_offsets");
        assert_eq!(config.consumers[0].servers, vec!["localhost:9092"]);
        assert!(!config.consumers[0].start_latest);
        assert_eq!(config.storage.intervals, 10);
        assert_eq!(config.storage.min_distance_seconds, 1);
        assert_eq!(config.storage.expire_group_seconds, 604_800);
        assert_eq!(config.evaluator.expire_cache_seconds, 10);
    }

    #[test]
    fn unknown_class_name_is_named_in_the_error() {
        let err = BurrowConfig::parse(
            "[cluster.local]\nclass-name = \"zookeeper\"\nservers = [\"a:1\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "[cluster.local] class-name \"zookeeper\" is unknown (expected kafka)"
        );
    }

    #[test]
    fn logging_level_and_file_are_read_and_checked() {
        let config =
            BurrowConfig::parse("[logging]\nlevel = \"warn\"\nfilename = \"b.log\"\n").unwrap();
        assert_eq!(config.logging.level, "warn");
        assert_eq!(config.logging.filename.as_deref(), Some("b.log"));
        assert_eq!(BurrowConfig::parse("").unwrap().logging.level, "info");
        let err = BurrowConfig::parse("[logging]\nlevel = \"loud\"\n").unwrap_err();
        assert!(
            err.to_string().contains("level \"loud\" is unknown"),
            "{err}"
        );
    }

    #[test]
    fn notifier_keys_are_read() {
        let config = BurrowConfig::parse(
            r#"
[notifier.ops]
class-name = "http"
url-open = "http://h/open"
url-close = "http://h/close"
template-open = "open.tmpl"
interval = 5
threshold = 3
send-close = true
group-allowlist = "^app-"
"#,
        )
        .unwrap();
        let n = &config.notifiers[0];
        assert_eq!(n.name, "ops");
        assert_eq!(n.threshold, crate::status::Status::Err);
        assert_eq!(n.interval_seconds, 5);
        assert!(n.send_close);
        assert!(n.group_allowlist.as_ref().unwrap().is_match("app-1"));
        assert_eq!(n.method_open, "POST");
        assert_eq!(n.method_close, "DELETE");
    }

    #[test]
    fn consumer_of_an_unknown_cluster_is_refused() {
        let err = BurrowConfig::parse("[consumer.c]\ncluster = \"nowhere\"\n").unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
    }

    fn profile_security(profile: &str) -> Result<BTreeMap<&'static str, String>, String> {
        let text = format!(
            "[cluster.local]\nservers = [\"localhost:9093\"]\nclient-profile = \"p\"\n{profile}"
        );
        BurrowConfig::parse(&text)
            .map(|c| c.clusters[0].client.security.iter().cloned().collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_tls_profile_is_librdkafkas_ssl_keys() {
        let got = profile_security(
            r#"
[client-profile.p]
tls = "t"
[tls.t]
certfile = "/etc/burrow/client.pem"
keyfile = "/etc/burrow/client.key"
cafile = "/etc/burrow/ca.pem"
"#,
        )
        .unwrap();
        assert_eq!(got["security.protocol"], "SSL");
        assert_eq!(got["ssl.certificate.location"], "/etc/burrow/client.pem");
        assert_eq!(got["ssl.key.location"], "/etc/burrow/client.key");
        assert_eq!(got["ssl.ca.location"], "/etc/burrow/ca.pem");
        assert_eq!(got["ssl.endpoint.identification.algorithm"], "https");
        assert!(!got.contains_key("enable.ssl.certificate.verification"));
    }

    #[test]
    fn noverify_checks_neither_certificate_nor_name() {
        let got = profile_security("[client-profile.p]\ntls = \"t\"\n[tls.t]\nnoverify = true\n")
            .unwrap();
        assert_eq!(got["enable.ssl.certificate.verification"], "false");
        assert_eq!(got["ssl.endpoint.identification.algorithm"], "none");
    }

    #[test]
    fn tls_and_sasl_together_are_sasl_ssl_with_scram() {
        let got = profile_security(
            r#"
[client-profile.p]
tls = "t"
sasl = "s"
[tls.t]
cafile = "/ca.pem"
[sasl.s]
username = "alice"
password = "a-secret"
mechanism = "SCRAM-SHA-512"
"#,
        )
        .unwrap();
        assert_eq!(got["security.protocol"], "SASL_SSL");
        assert_eq!(got["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(got["sasl.username"], "alice");
        assert_eq!(got["ssl.ca.location"], "/ca.pem");
    }

    #[test]
    fn a_profile_naming_a_missing_section_or_half_a_certificate_is_refused() {
        let missing = profile_security("[client-profile.p]\ntls = \"t\"\n").unwrap_err();
        assert!(missing.contains("[tls.t]"), "{missing}");
        let half =
            profile_security("[client-profile.p]\ntls = \"t\"\n[tls.t]\ncertfile = \"/c.pem\"\n")
                .unwrap_err();
        assert!(half.contains("certfile and keyfile"), "{half}");
        let gssapi = profile_security(
            "[client-profile.p]\nsasl = \"s\"\n[sasl.s]\nmechanism = \"GSSAPI\"\n",
        )
        .unwrap_err();
        assert!(gssapi.contains("GSSAPI"), "{gssapi}");
    }
}
