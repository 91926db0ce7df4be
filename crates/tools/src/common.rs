//! What every tool shares: client configs from `--bootstrap-server` and
//! `--command-config`/`--producer.config` files, property parsing, and error printing.

use std::collections::BTreeMap;
use std::path::Path;

use crate::ToolError;

/// Reads a Java properties file (`--command-config`, `--producer.config`, …).
pub fn read_properties(path: &Path) -> Result<BTreeMap<String, String>, ToolError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ToolError::Usage(format!("Cannot read {}: {e}", path.display())))?;
    let props = java_properties::read(std::io::BufReader::new(file))
        .map_err(|e| ToolError::Usage(format!("Cannot parse {}: {e}", path.display())))?;
    Ok(props.into_iter().collect())
}

/// Parses `key=value` (as given to `--property`, `--producer-property`, `--config`).
pub fn parse_key_value(item: &str) -> Result<(String, String), ToolError> {
    match item.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(ToolError::Usage(format!(
            "Invalid property {item}: expected key=value"
        ))),
    }
}

/// A librdkafka client config with `bootstrap.servers` and any extra properties. Java-only
/// client properties librdkafka does not know are dropped rather than refused, so that
/// configs written for Kafka's tools keep working; the security keys become librdkafka's
/// ([`librdkafka_properties`]).
pub fn client_config(
    bootstrap: &str,
    extra: &BTreeMap<String, String>,
) -> Result<rdkafka::ClientConfig, ToolError> {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in librdkafka_properties(extra)? {
        if !JAVA_ONLY_PROPERTIES.contains(&k.as_str()) {
            config.set(k, v);
        }
    }
    Ok(config)
}

/// `props` with the client security keys (`security.protocol`, `sasl.*`, `ssl.*` as Kafka
/// spells them) replaced by librdkafka's: a JAAS entry's username and password, the PEM
/// stores' files or text. Settings librdkafka cannot honour fail here, naming the key.
pub fn librdkafka_properties(
    props: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ToolError> {
    let security =
        rafka_security::librdkafka::librdkafka_security("client config", |k| props.get(k).cloned())
            .map_err(ToolError::Failed)?;
    let mut out: BTreeMap<String, String> = props
        .iter()
        .filter(|(k, _)| !rafka_security::librdkafka::is_security_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.extend(security.into_iter().map(|(k, v)| (k.to_string(), v)));
    Ok(out)
}

/// The security settings of this tool's `--command-config`, once read.
static COMMAND_SECURITY: std::sync::OnceLock<rafka_client::ClientSecurity> =
    std::sync::OnceLock::new();

/// Takes a tool's `--command-config` properties: its own connections then authenticate
/// as they say (a tool runs one command per process).
pub fn use_command_config(props: &BTreeMap<String, String>) -> Result<(), ToolError> {
    let security = client_security(props)?;
    let _ = COMMAND_SECURITY.set(security);
    Ok(())
}

/// Connects to `bootstrap` within `timeout`, authenticating as the `--command-config`
/// says.
pub async fn connect(
    bootstrap: &str,
    timeout: std::time::Duration,
) -> Result<rafka_client::WireClient, rafka_client::ClientError> {
    let security = COMMAND_SECURITY.get().cloned().unwrap_or_default();
    rafka_client::connect_within_secured(bootstrap, timeout, &security).await
}

/// How the tools' own Kafka connections (`rafka-client`) authenticate, from a
/// `--command-config` file's `security.protocol`, `sasl.mechanism` and
/// `sasl.jaas.config`.
pub fn client_security(
    props: &BTreeMap<String, String>,
) -> Result<rafka_client::ClientSecurity, ToolError> {
    rafka_client::ClientSecurity::from_properties(props).map_err(ToolError::Failed)
}

/// Java client properties with no librdkafka equivalent.
const JAVA_ONLY_PROPERTIES: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "buffer.memory",
    "max.block.ms",
    "request.timeout.ms.config",
    "default.api.timeout.ms",
    "exclude.internal.topics",
];

/// A current-thread tokio runtime for a tool's async client calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, ToolError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ToolError::Failed(format!("cannot start the runtime: {e}")))
}

// ---- Shared by the admin tools (topics, configs, get-offsets, delete-records, log-dirs,
// broker-api-versions, dump-log, storage). ----

/// How long an admin tool waits for the broker, like the Java admin client's
/// `default.api.timeout.ms` (which `--command-config` may set; librdkafka ignores it).
pub fn admin_timeout(props: &BTreeMap<String, String>) -> std::time::Duration {
    let ms = props
        .get("default.api.timeout.ms")
        .or_else(|| props.get("request.timeout.ms"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(30_000);
    std::time::Duration::from_millis(ms.max(1))
}

/// Parses a tool's arguments. `--help` prints the usage to stdout and yields `None` (exit
/// 0, as Kafka's tools do); any other problem becomes one `Usage` line, never clap's
/// multi-line report.
pub fn parse_tool_args<T: clap::Parser>(
    script: &str,
    args: Vec<String>,
) -> Result<Option<T>, ToolError> {
    Ok(parse_tool_matches::<T>(script, args)?.map(|(parsed, _)| parsed))
}

/// `parse_tool_args`, also giving clap's matches, for a tool whose checks depend on where
/// each option stood on the command line (as joptsimple's `OptionSet.specs()` does).
pub fn parse_tool_matches<T: clap::Parser>(
    script: &str,
    args: Vec<String>,
) -> Result<Option<(T, clap::ArgMatches)>, ToolError> {
    use clap::error::{ContextKind, ErrorKind};
    let parsed = T::command()
        .try_get_matches_from(std::iter::once(script.to_string()).chain(args))
        .and_then(|matches| T::from_arg_matches(&matches).map(|parsed| (parsed, matches)));
    match parsed {
        Ok(parsed) => Ok(Some(parsed)),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                print!("{}", e.render());
                Ok(None)
            }
            ErrorKind::UnknownArgument => {
                let arg = e
                    .get(ContextKind::InvalidArg)
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let arg = arg.trim_start_matches('-');
                Err(ToolError::Usage(format!(
                    "{arg} is not a recognized option"
                )))
            }
            _ => {
                let rendered = e.render().to_string();
                let line = rendered
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                Err(ToolError::Usage(line))
            }
        },
    }
}

/// A failure Kafka's tool prints bare on stderr (`System.err.println(e.getMessage())`),
/// without the `Error: ` prefix.
pub fn bare(message: impl Into<String>) -> ToolError {
    ToolError::Reported(message.into())
}

/// Kafka's `Missing required argument "[name]"` for a required option not given.
pub fn missing_argument(name: &str) -> ToolError {
    ToolError::Usage(format!("Missing required argument \"[{name}]\""))
}

/// A topic id as Kafka prints it: 16 bytes, URL-safe base64 without padding.
pub fn kafka_uuid_string(id: &uuid::Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Kafka's internal topics (`Topic.isInternal`).
pub fn is_internal_topic(name: &str) -> bool {
    matches!(
        name,
        "__consumer_offsets" | "__transaction_state" | "__share_group_state"
    )
}

/// Kafka's `IncludeList` topic filter: the `--topic` value is a regular expression that
/// must match the whole name; commas separate alternatives and surrounding quotes are
/// dropped, as in Kafka.
#[derive(Debug, Clone)]
pub struct TopicFilter {
    regex: regex::Regex,
}

impl TopicFilter {
    pub fn new(raw: &str) -> Result<TopicFilter, ToolError> {
        let cleaned = raw.trim().replace(',', "|").replace(' ', "");
        let cleaned = cleaned.trim_start_matches(['"', '\'']);
        let cleaned = cleaned.trim_end_matches(['"', '\'']);
        let regex = regex::Regex::new(&format!("^(?:{cleaned})$"))
            .map_err(|_| ToolError::Usage(format!("{raw} is an invalid regex.")))?;
        Ok(TopicFilter { regex })
    }

    pub fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }
}

/// The Java client's message for a Kafka error (the client crate owns it: its
/// DescribeCluster call reports errors the same way).
pub use rafka_client::kafka_error_message;

// ---- Java's own renderings, where Kafka's tools print them (leader-election,
// reassign-partitions, log-dirs): exception class names, collection `toString`, the
// iteration order of `HashMap`/`HashSet`, and Jackson/`DecodeJson` messages. ----

/// The Java exception class Kafka's client raises for error `code` (`Errors.exception`),
/// fully qualified, e.g. `org.apache.kafka.common.errors.NotControllerException`. An
/// unknown code is an `UnknownServerException`, as `Errors.forCode` makes it.
pub fn java_exception_class(code: i16) -> String {
    use rafka_protocol::error_code::ErrorCode;
    // Where Kafka's class is not the error's name with `Exception` appended.
    const RENAMED: &[(i16, &str)] = &[
        (-1, "UnknownServerException"),
        (2, "CorruptRecordException"),
        (7, "TimeoutException"),
        (10, "RecordTooLargeException"),
        (11, "ControllerMovedException"),
        (12, "OffsetMetadataTooLarge"),
        (18, "RecordBatchTooLargeException"),
        (29, "TopicAuthorizationException"),
        (30, "GroupAuthorizationException"),
        (31, "ClusterAuthorizationException"),
        (36, "TopicExistsException"),
        (40, "InvalidConfigurationException"),
        (45, "OutOfOrderSequenceException"),
        (46, "DuplicateSequenceException"),
        (49, "InvalidPidMappingException"),
        (50, "InvalidTxnTimeoutException"),
        (53, "TransactionalIdAuthorizationException"),
        (56, "KafkaStorageException"),
        (58, "SaslAuthenticationException"),
        (61, "DelegationTokenDisabledException"),
        (64, "UnsupportedByAuthenticationException"),
        (65, "DelegationTokenAuthorizationException"),
        (68, "GroupNotEmptyException"),
        (97, "PrincipalDeserializationException"),
        (106, "FetchSessionTopicIdException"),
        (128, "InvalidRegularExpression"),
    ];
    if code == ErrorCode::InvalidRecord.code() {
        // The one error class outside the `errors` package.
        return "org.apache.kafka.common.InvalidRecordException".to_string();
    }
    let name = match RENAMED.iter().find(|(c, _)| *c == code) {
        Some((_, name)) => name.to_string(),
        None => match ErrorCode::try_from_code(code) {
            Some(ErrorCode::Unknown(_)) | None => "UnknownServerException".to_string(),
            Some(error) => {
                let variant = format!("{error:?}");
                if variant.ends_with("Exception") {
                    variant
                } else {
                    format!("{variant}Exception")
                }
            }
        },
    };
    format!("org.apache.kafka.common.errors.{name}")
}

/// A Kafka error as Java's `Throwable.toString` prints the client's exception for it:
/// `org.apache.kafka.common.errors.XxxException: message`.
pub fn java_exception_string(code: i16, message: Option<&str>) -> String {
    format!(
        "{}: {}",
        java_exception_class(code),
        kafka_error_message(code, message).unwrap_or_default()
    )
}

/// A Java collection's `toString`: `[a, b, c]`.
pub fn java_collection_string<T: std::fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(T::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// Java's `String.hashCode`: `31 * h + c` over the UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Kafka's `TopicPartition.hashCode`.
pub fn java_topic_partition_hash(topic: &str, partition: i32) -> i32 {
    31i32
        .wrapping_mul(31i32.wrapping_add(partition))
        .wrapping_add(java_string_hash(topic))
}

/// `java_topic_partition_hash` of a [`rafka_types::TopicPartition`].
pub fn java_tp_hash(tp: &rafka_types::TopicPartition) -> i32 {
    java_topic_partition_hash(&tp.topic, tp.partition)
}

/// The capacity of `new HashMap<>()` / `new HashSet<>()` / `Collectors.toSet()`.
pub const JAVA_HASH_MAP_DEFAULT_CAPACITY: usize = 16;

/// The order in which a `java.util.HashMap` (or `HashSet`) created with
/// `initial_capacity` iterates `items` after they were inserted in the given order, so
/// that a tool prints a set in the order Kafka's tool does. `items` must be distinct.
///
/// Java's table has a power-of-two size that doubles whenever it holds more than 3/4 of
/// it; an entry's bucket is the low bits of `h ^ (h >>> 16)`; iteration walks the buckets
/// in turn, each in insertion order (a resize keeps that order). Not modelled: a bucket of
/// 8 or more colliding entries, which Java turns into a tree.
pub fn java_hash_order<T>(
    items: Vec<T>,
    initial_capacity: usize,
    hash: impl Fn(&T) -> i32,
) -> Vec<T> {
    let mut capacity = initial_capacity.max(1).next_power_of_two();
    while items.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    let mut keyed: Vec<(u32, T)> = items
        .into_iter()
        .map(|item| {
            let h = hash(&item) as u32;
            ((h ^ (h >> 16)) & mask, item)
        })
        .collect();
    // Stable: items of one bucket keep their insertion order.
    keyed.sort_by_key(|(bucket, _)| *bucket);
    keyed.into_iter().map(|(_, item)| item).collect()
}

/// Jackson's `JsonMappingException` raised by Kafka's `JsonValue`/`DecodeJson` when a
/// JSON file has the wrong shape; the text is Kafka's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonMappingError(pub String);

impl JsonMappingError {
    /// `Throwable.toString`, as a tool that wraps the exception prints it.
    pub fn java_string(&self) -> String {
        format!(
            "com.fasterxml.jackson.databind.JsonMappingException: {}",
            self.0
        )
    }
}

fn expected(what: &str, value: &serde_json::Value) -> JsonMappingError {
    JsonMappingError(format!("Expected {what}, received {value}"))
}

/// `JsonValue.asJsonObject`.
pub fn json_object(
    value: &serde_json::Value,
) -> Result<&serde_json::Map<String, serde_json::Value>, JsonMappingError> {
    value
        .as_object()
        .ok_or_else(|| expected("JSON object", value))
}

/// `JsonValue.asJsonArray` (and `DecodeJson.decodeList`).
pub fn json_array(value: &serde_json::Value) -> Result<&[serde_json::Value], JsonMappingError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| expected("JSON array", value))
}

/// `JsonObject.apply`: a field that must be there.
pub fn json_field<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<&'a serde_json::Value, JsonMappingError> {
    object
        .get(name)
        .ok_or_else(|| JsonMappingError(format!("No such field exists: `{name}`")))
}

/// `DecodeJson.DecodeInteger`: a JSON integer within Java's `int`.
pub fn json_int(value: &serde_json::Value) -> Result<i32, JsonMappingError> {
    value
        .as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| expected("`Integer` value", value))
}

/// `DecodeJson.DecodeString`.
pub fn json_string(value: &serde_json::Value) -> Result<String, JsonMappingError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| expected("`String` value", value))
}

/// Kafka's `Json.encodeAsString` of a string: Jackson's quoting and escapes.
pub fn json_quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// An I/O failure as the Java exception Kafka's `Utils.readFileAsString` would raise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JavaIoError {
    /// The exception's class, e.g. `java.nio.file.NoSuchFileException`.
    pub class: &'static str,
    /// `getMessage()`: for the `java.nio.file` exceptions, the path alone.
    pub message: String,
}

impl JavaIoError {
    /// `Throwable.toString`, as a tool that wraps the exception prints it.
    pub fn java_string(&self) -> String {
        format!("{}: {}", self.class, self.message)
    }
}

/// Reads a tool's input file as Kafka's `Utils.readFileAsString` does (bytes that are not
/// UTF-8 become U+FFFD, as Java's decoder makes them).
pub fn read_file_as_string(path: &Path) -> Result<String, JavaIoError> {
    let shown = path.display().to_string();
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => JavaIoError {
                class: "java.nio.file.NoSuchFileException",
                message: shown,
            },
            std::io::ErrorKind::PermissionDenied => JavaIoError {
                class: "java.nio.file.AccessDeniedException",
                message: shown,
            },
            _ => JavaIoError {
                class: "java.io.IOException",
                message: e.to_string(),
            },
        })
}

/// The `timeout_ms` an admin request gives the broker: half of the tool's own wait, so
/// that the broker's answer (a timed-out one too) arrives before the tool gives up, as
/// Kafka's leader-election tool sets `request.timeout.ms` to half its API timeout.
pub fn broker_timeout_ms(timeout: std::time::Duration) -> i32 {
    i32::try_from(timeout.as_millis() / 2).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected orders were printed by a JVM (OpenJDK 17) iterating `HashSet`s
    /// filled in the same order, with Kafka's `TopicPartition.hashCode`.
    #[test]
    fn java_hash_order_matches_the_jvm() {
        let tps = |topics: &[&str], partitions: i32| -> Vec<(String, i32)> {
            topics
                .iter()
                .flat_map(|t| (0..partitions).map(move |p| (t.to_string(), p)))
                .collect()
        };
        let order = |items: Vec<(String, i32)>| -> String {
            java_hash_order(items, JAVA_HASH_MAP_DEFAULT_CAPACITY, |(t, p)| {
                java_topic_partition_hash(t, *p)
            })
            .iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect::<Vec<_>>()
            .join(", ")
        };
        assert_eq!(order(tps(&["t"], 5)), "t-4, t-3, t-2, t-1, t-0");
        // 36 entries: the table grew to 64 buckets; two topics share buckets.
        assert_eq!(
            order(tps(&["orders", "payments", "é-topic"], 12)),
            "payments-4, orders-8, payments-6, orders-10, payments-0, é-topic-3, payments-2, é-topic-1, é-topic-7, é-topic-5, payments-8, é-topic-11, payments-10, é-topic-9, orders-1, orders-3, orders-5, orders-7, é-topic-0, payments-3, orders-9, payments-5, orders-11, é-topic-4, é-topic-2, payments-1, é-topic-8, payments-11, é-topic-6, payments-7, é-topic-10, payments-9, orders-0, orders-2, orders-4, orders-6"
        );
        // "Aa" and "BB" collide: they keep their insertion order.
        let names = [
            "foo",
            "bar",
            "baz",
            "quux",
            "events",
            "__consumer_offsets",
            "a",
            "Aa",
            "BB",
        ];
        let names = java_hash_order(names.to_vec(), JAVA_HASH_MAP_DEFAULT_CAPACITY, |s| {
            java_string_hash(s)
        });
        assert_eq!(
            names,
            [
                "Aa",
                "BB",
                "a",
                "bar",
                "quux",
                "foo",
                "baz",
                "events",
                "__consumer_offsets"
            ]
        );
        let ids = java_hash_order(
            vec![17, 1, 33, 2, 100, 5, -3],
            JAVA_HASH_MAP_DEFAULT_CAPACITY,
            |id| *id,
        );
        assert_eq!(ids, [17, 1, 33, 2, -3, 100, 5]);
        assert_eq!(java_string_hash("hello"), 99162322);
        assert_eq!(java_string_hash("é-topic"), 2028785483);
        assert_eq!(java_collection_string(&ids[..2]), "[17, 1]");
    }

    #[test]
    fn kafka_errors_name_their_java_exception_classes() {
        let class = |code| java_exception_class(code);
        assert_eq!(
            class(84),
            "org.apache.kafka.common.errors.ElectionNotNeededException"
        );
        assert_eq!(
            class(83),
            "org.apache.kafka.common.errors.EligibleLeadersNotAvailableException"
        );
        assert_eq!(
            class(80),
            "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException"
        );
        assert_eq!(
            class(3),
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException"
        );
        assert_eq!(
            class(41),
            "org.apache.kafka.common.errors.NotControllerException"
        );
        assert_eq!(class(7), "org.apache.kafka.common.errors.TimeoutException");
        assert_eq!(
            class(56),
            "org.apache.kafka.common.errors.KafkaStorageException"
        );
        assert_eq!(class(87), "org.apache.kafka.common.InvalidRecordException");
        assert_eq!(
            class(-1),
            "org.apache.kafka.common.errors.UnknownServerException"
        );
        assert_eq!(
            class(9999),
            "org.apache.kafka.common.errors.UnknownServerException"
        );
        assert_eq!(
            java_exception_string(
                rafka_protocol::ErrorCode::NotController.code(),
                Some("not the controller")
            ),
            "org.apache.kafka.common.errors.NotControllerException: not the controller"
        );
    }

    #[test]
    fn json_decoding_speaks_kafkas_messages() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"n":1,"s":"x","big":3000000000,"f":1.5,"a":[1]}"#).unwrap();
        let object = json_object(&value).unwrap();
        assert_eq!(json_int(json_field(object, "n").unwrap()).unwrap(), 1);
        assert_eq!(json_string(json_field(object, "s").unwrap()).unwrap(), "x");
        assert_eq!(
            json_int(&object["big"]).unwrap_err().to_string(),
            "Expected `Integer` value, received 3000000000"
        );
        assert_eq!(
            json_int(&object["f"]).unwrap_err().to_string(),
            "Expected `Integer` value, received 1.5"
        );
        assert_eq!(
            json_string(&object["n"]).unwrap_err().to_string(),
            "Expected `String` value, received 1"
        );
        assert_eq!(
            json_field(object, "missing").unwrap_err().java_string(),
            "com.fasterxml.jackson.databind.JsonMappingException: No such field exists: `missing`"
        );
        assert_eq!(
            json_object(&object["a"]).unwrap_err().to_string(),
            "Expected JSON object, received [1]"
        );
        assert_eq!(
            json_array(&object["s"]).unwrap_err().to_string(),
            "Expected JSON array, received \"x\""
        );
    }

    #[test]
    fn missing_files_read_as_javas_exceptions() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let error = read_file_as_string(&missing).unwrap_err();
        assert_eq!(error.class, "java.nio.file.NoSuchFileException");
        assert_eq!(error.message, missing.display().to_string());
        let present = dir.path().join("p.json");
        std::fs::write(&present, b"{\"a\":\xff}").unwrap();
        assert_eq!(read_file_as_string(&present).unwrap(), "{\"a\":\u{fffd}}");
    }
}
