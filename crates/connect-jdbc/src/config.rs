//! Confluent's `JdbcSourceConnectorConfig` and `JdbcSinkConfig` as rafka-connect-data
//! `ConfigDef`s (keys, types, defaults, groups, documentation), and their parsed forms with
//! the checks Confluent makes beyond the `ConfigDef` (ranges, enumerators, the whitelist/
//! blacklist conflicts, `delete.enabled` needing `pk.mode=record_key`), with its messages.
//!
//! Keys Confluent defines for other databases or features this engine does not implement
//! (`dialect.name`, `transaction.isolation.mode`, `timestamp.granularity` other than
//! `connect_logical`, …) are defined, so that configs written for Confluent parse and the
//! REST API lists them, but are otherwise ignored.

use std::collections::HashMap;

use rafka_connect_data::config::{
    ConfigDef, ConfigType, DefaultValue, Importance, ParsedConfig, Validator,
};
use rafka_connect_data::ConfigError;

use crate::dialect::QuoteMethod;

pub const CONNECTION_URL: &str = "connection.url";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const MODE: &str = "mode";
pub const TABLES: &str = "tables";

const DEFAULT_CREDENTIALS_PROVIDER: &str =
    "io.confluent.connect.jdbc.util.DefaultJdbcCredentialsProvider";
const CONNECTION_URL_DOC: &str = "JDBC connection URL.\nFor example: ``jdbc:oracle:thin:@localhost:1521:orclpdb1``, ``jdbc:mysql://localhost/db_name``, ``jdbc:sqlserver://localhost;instance=SQLEXPRESS;databaseName=db_name``\nFor SQL Server (Driver 10.2.4+) - TLS encryption is recommended.Use ``encrypt=true;trustServerCertificate=false`` for secure connections, In order to bypass certificate validation (not recommended for production), use ``encrypt=true;trustServerCertificate=true`` and in order to disable  TLS encryption entirely, use ``encrypt=false`` (not recommended for production).";
const TOPIC_PREFIX_INVALID: &str =
    "Topic prefix must not contain any character other than ASCII alphanumerics, '.', '_' and '-'.";

fn s(text: &str) -> DefaultValue {
    DefaultValue::Text(text.to_string())
}

fn valid(values: &[&str]) -> Option<Validator> {
    Some(Validator::ValidString(
        values.iter().map(|v| v.to_string()).collect(),
    ))
}

fn described(text: &str) -> Option<Validator> {
    Some(Validator::Described(text.to_string()))
}

fn connection_keys(def: ConfigDef, group: &str, url_default: DefaultValue) -> ConfigDef {
    def.define(CONNECTION_URL, ConfigType::String, url_default, None, Importance::High, CONNECTION_URL_DOC)
        .in_group(group, 1, "JDBC URL")
        .define(CONNECTION_USER, ConfigType::String, DefaultValue::Null, None, Importance::High, "JDBC connection user.")
        .in_group(group, 2, "JDBC User")
        .define(CONNECTION_PASSWORD, ConfigType::Password, DefaultValue::Null, None, Importance::High, "JDBC connection password.")
        .in_group(group, 3, "JDBC Password")
        .define("jdbc.credentials.provider.class", ConfigType::Class, s(DEFAULT_CREDENTIALS_PROVIDER), None, Importance::Low,
            "Credentials provider or provider chain to use for authentication to database. By default the connector uses ``io.confluent.connect.jdbc.util.DefaultJdbcCredentialsProvider``.")
        .in_group(group, 4, "JDBC Credentials Provider Class")
        .define("connection.attempts", ConfigType::Int, s("3"), described("[1,...]"), Importance::Low,
            "Maximum number of attempts to retrieve a valid JDBC connection. Must be a positive integer.")
        .in_group(group, 5, "JDBC connection attempts")
        .define("connection.backoff.ms", ConfigType::Long, s("10000"), None, Importance::Low,
            "Backoff time in milliseconds between connection attempts.")
        .in_group(group, 6, "JDBC connection backoff in milliseconds")
}

/// `JdbcSourceConnectorConfig.CONFIG_DEF`, in Confluent's order and groups.
pub fn source_config_def() -> ConfigDef {
    let db = "Database";
    let mode = "Mode";
    let connector = "Connector";
    let regex_list = described("a valid comma-separated list of Java regular expressions");
    let def = connection_keys(ConfigDef::new(), db, s(""));
    def.define("table.whitelist", ConfigType::List, s(""), None, Importance::Medium,
            "List of tables to include in copying. If specified, ``table.blacklist`` may not be set. Use a comma-separated list to specify multiple tables (for example, ``table.whitelist: \"User, Address, Email\"``).")
        .in_group(db, 7, "Table Whitelist")
        .define("table.blacklist", ConfigType::List, s(""), None, Importance::Medium,
            "List of tables to exclude from copying. If specified, ``table.whitelist`` may not be set. Use a comma-separated list to specify multiple tables (for example, ``table.blacklist: \"User, Address, Email\"``).")
        .in_group(db, 8, "Table Blacklist")
        .define("table.include.list", ConfigType::List, s(""), regex_list.clone(), Importance::Medium,
            "A comma-separated list of regular expressions that match the fully-qualified names of tables to be copied. Use a comma-separated list to specify multiple regular expressions. Table names are case-sensitive. For example, ``table.include.list: \"schema1.customer.*,schema2.order.*\"``. If specified, the legacy configs of ``table.whitelist``, and ``table.blacklist`` cannot be set.")
        .in_group(db, 9, "Tables Included (Regex)")
        .define("table.exclude.list", ConfigType::List, s(""), regex_list, Importance::Medium,
            "A comma-separated list of regular expressions that match the fully-qualified names of tables not to be copied. This only applies to tables that match the include list. REQUIRES ``table.include.list`` to be specified. Use a comma-separated list to specify multiple regular expressions. Table names are case-sensitive. For example, ``table.exclude.list: \".*.temp.*,.*.staging.*\"``. If specified, ``table.whitelist`` and ``table.blacklist`` cannot not be set.")
        .in_group(db, 10, "Tables Excluded (Regex)")
        .define("catalog.pattern", ConfigType::String, DefaultValue::Null, None, Importance::Medium,
            "Catalog pattern to fetch table metadata from the database.\n  * ``\"\"`` retrieves those without a catalog \n  * null (default) indicates that the schema name is not used to narrow the search and that all table metadata is fetched, regardless of the catalog.")
        .in_group(db, 11, "Schema pattern")
        .define("schema.pattern", ConfigType::String, DefaultValue::Null, None, Importance::High,
            "Schema pattern to fetch table metadata from the database.\n  * ``\"\"`` retrieves those without a schema.\n  * null (default) indicates that the schema name is not used to narrow the search and that all table metadata is fetched, regardless of the schema.")
        .in_group(db, 12, "Schema pattern")
        .define("numeric.precision.mapping", ConfigType::Boolean, s("false"), None, Importance::Low,
            "Whether or not to attempt mapping NUMERIC values by precision to integral types. This option is now deprecated. A future version may remove it completely. Please use ``numeric.mapping`` instead.")
        .in_group(db, 13, "Map Numeric Values By Precision (deprecated)")
        .define("numeric.mapping", ConfigType::String, DefaultValue::Null, described("[none, precision_only, best_fit, best_fit_eager_double]"), Importance::Low,
            "Map NUMERIC values by precision and optionally scale to integral or decimal types.\n  * Use ``none`` if all NUMERIC columns are to be represented by Connect's DECIMAL logical type.\n  * Use ``best_fit`` if NUMERIC columns should be cast to Connect's INT8, INT16, INT32, INT64, or FLOAT64 based upon the column's precision and scale. This option may still represent the NUMERIC value as Connect DECIMAL if it cannot be cast to a native type without losing precision. For example, a NUMERIC(20) type with precision 20 would not be able to fit in a native INT64 without overflowing and thus would be retained as DECIMAL.\n  * Use ``best_fit_eager_double`` if in addition to the properties of ``best_fit`` described above, it is desirable to always cast NUMERIC columns with scale to Connect FLOAT64 type, despite potential of loss in accuracy.\n  * Use ``precision_only`` to map NUMERIC columns based only on the column's precision assuming that column's scale is 0.\n  * The ``none`` option is the default, but may lead to serialization issues with Avro since Connect's DECIMAL type is mapped to its binary representation, and ``best_fit`` will often be preferred since it maps to the most appropriate primitive type.")
        .in_group(db, 14, "Map Numeric Values, Integral or Decimal, By Precision and Scale")
        .define("dialect.name", ConfigType::String, s(""), None, Importance::Low,
            "The name of the database dialect that should be used for this connector. By default this is empty, and the connector automatically determines the dialect based upon the JDBC connection URL. Use this if you want to override that behavior and use a specific dialect. All properly-packaged dialects in the JDBC connector plugin can be used.")
        .in_group(db, 15, "Database Dialect")
        .define("date.calendar.system", ConfigType::String, s("LEGACY"), valid(&["LEGACY", "PROLEPTIC_GREGORIAN"]), Importance::Low,
            "The time elapsed from epoch populated in the end table topic for DATE or TIMESTAMP type columns can have two different values based upon the Calendar used to interpret it.")
        .in_group(db, 16, "Date Calendar System")
        .define(MODE, ConfigType::String, s(""), valid(&["", "bulk", "timestamp", "incrementing", "timestamp+incrementing"]), Importance::High,
            "The mode for updating a table each time it is polled. Options include:\n  * bulk: perform a bulk load of the entire table each time it is polled\n  * incrementing: use a strictly incrementing column on each table to detect only new rows. Note that this will not detect modifications or deletions of existing rows.\n  * timestamp: use a timestamp (or timestamp-like) column to detect new and modified rows. This assumes the column is updated with each write, and that values are monotonically incrementing, but not necessarily unique.\n  * timestamp+incrementing: use two columns, a timestamp column that detects new and modified rows and a strictly incrementing column which provides a globally unique ID for updates so each row can be assigned a unique stream offset.")
        .in_group(mode, 1, "Table Loading Mode")
        .define("incrementing.column.name", ConfigType::String, s(""), None, Importance::Medium,
            "The name of the strictly incrementing column to use to detect new rows. Any empty value indicates the column should be autodetected by looking for an auto-incrementing column. This column may not be nullable.")
        .in_group(mode, 2, "Incrementing Column Name")
        .define("timestamp.column.name", ConfigType::List, s(""), None, Importance::Medium,
            "Comma separated list of one or more timestamp columns to detect new or modified rows using the COALESCE SQL function. Rows whose first non-null timestamp value is greater than the largest previous timestamp value seen will be discovered with each poll. At least one column should not be nullable.")
        .in_group(mode, 3, "Timestamp Column Name")
        .define("timestamp.columns.mapping", ConfigType::List, s(""), described("a list of mappings in the format 'regex:[col1|col2|...]' where regex is a valid Java regular expression and columns are valid column names"), Importance::Medium,
            "A comma separated list of table regex to timestamp columns mappings. On specifying multiple timestamp columns, COALESCE SQL function would be used to find out the effective timestamp for a row. Expected format is ``regex1:[col1|col2],regex2:[col3]``. Regexes would be matched against the fully-qualified table names of tables. Every table included for capture should match exactly one of the provided mappings. An example for a valid input would be ``SCHEMA1.EMPLOYEES.SALARY.*:[UPDATED_AT|MODIFIED_AT],ACCOUNTS.*:[CHANGED_AT]``")
        .in_group(mode, 4, "Table to timestamp columns mappings")
        .define("incrementing.column.mapping", ConfigType::List, s(""), described("a list of mappings in the format 'regex:columnName' where regex is a valid Java regular expression and columnName is a valid column name"), Importance::Medium,
            "A comma separated list of table regex to incrementing column mappings. Expected format is ``regex1:col2,regex2:col1``. Regexes would be matched against the fully-qualified table names of tables. Every table included for capture should match exactly one of the provided mappings. An example for a valid input would be ``SCHEMA1.EMPLOYEES.SALARY*:EMP_ID,ACCOUNTS.*:ID``")
        .in_group(mode, 5, "Table to incrementing column mappings")
        .define("timestamp.initial", ConfigType::Long, DefaultValue::Null, None, Importance::Low,
            "The epoch timestamp used for initial queries that use timestamp criteria. Use -1 to use the current time. If not specified, all data will be retrieved.")
        .in_group(mode, 6, "Unix time value of initial timestamp")
        .define("validate.non.null", ConfigType::Boolean, s("true"), None, Importance::Low,
            "By default, the JDBC connector will validate that all incrementing and timestamp tables have NOT NULL set for the columns being used as their ID/timestamp. If the tables don't, JDBC connector will fail to start. Setting this to false will disable these checks.")
        .in_group(mode, 7, "Validate Non Null")
        .define("query", ConfigType::String, s(""), None, Importance::Medium,
            "If specified, the query to perform to select new or updated rows. Use this setting if you want to join tables, select subsets of columns in a table, or filter data. If used, this connector will only copy data using this query -- whole-table copying will be disabled. Different query modes may still be used for incremental updates, but in order to properly construct the incremental query, it must be possible to append a WHERE clause to this query (i.e. no WHERE clauses may be used). If you use a WHERE clause, it must handle incremental queries itself.")
        .in_group(mode, 8, "Query")
        .define("query.masked", ConfigType::Password, s(""), None, Importance::Medium,
            "Same as 'query' configuration but the query string is maskedUse this config to prevent sensitive information from being logged.")
        .in_group(mode, 9, "Query (Masked)")
        .define("quote.sql.identifiers", ConfigType::String, s("ALWAYS"), None, Importance::Medium,
            "When to quote table names, column names, and other identifiers in SQL statements. For backward compatibility, the default is ``always``.")
        .in_group(mode, 10, "Quote Identifiers")
        .define("query.suffix", ConfigType::String, s(""), None, Importance::Low,
            "Suffix to append at the end of the generated query.")
        .in_group(mode, 11, "Query suffix")
        .define("transaction.isolation.mode", ConfigType::String, s("DEFAULT"), None, Importance::Low,
            "Mode to control which transaction isolation level is used when running queries against the database.")
        .in_group(mode, 12, "Transaction Isolation Mode")
        .define("query.retry.attempts", ConfigType::Int, s("-1"), None, Importance::Low,
            "Number of times to retry SQL exceptions encountered when executing queries.")
        .in_group(mode, 13, "Query Retry Attempts")
        .define("table.types", ConfigType::List, s("TABLE"), None, Importance::Low,
            "By default, the JDBC connector will only detect tables with type TABLE from the source Database. This config allows a command separated list of table types to extract. Options include:\n  * TABLE\n  * VIEW\n  * SYSTEM TABLE\n  * GLOBAL TEMPORARY\n  * LOCAL TEMPORARY\n  * ALIAS\n  * SYNONYM\n  In most cases it only makes sense to have either TABLE or VIEW.")
        .in_group(connector, 1, "Table Types")
        .define("poll.interval.ms", ConfigType::Int, s("5000"), None, Importance::High,
            "Frequency in ms to poll for new data in each table.")
        .in_group(connector, 2, "Poll Interval (ms)")
        .define("batch.max.rows", ConfigType::Int, s("1000"), None, Importance::Low,
            "Maximum number of rows to include in a single batch when polling for new data. This setting can be used to limit the amount of data buffered internally in the connector.")
        .in_group(connector, 3, "Max Rows Per Batch")
        .define("max.buffer.size", ConfigType::Int, s("0"), None, Importance::Low,
            "The maximum number of records from the source database that can be buffered into memory. The default of 0 means a buffer size will be based on the maximum batch size.")
        .in_group(connector, 4, "Maximum Buffer Size")
        .define("poll.linger.ms", ConfigType::Long, s("5000"), None, Importance::Low,
            "The maximum time to wait for a record before returning an empty batch. The default is 5 seconds.")
        .in_group(connector, 5, "Poll Linger Milliseconds")
        .define("table.poll.interval.ms", ConfigType::Long, s("60000"), None, Importance::Low,
            "Frequency in ms to poll for new or removed tables, which may result in updated task configurations to start polling for data in added tables or stop polling for data in removed tables.")
        .in_group(connector, 6, "Metadata Change Monitoring Interval (ms)")
        .define("topic.prefix", ConfigType::String, s(""), described("ASCII alphanumerics, '.', '_' and '-', at most 249 chars"), Importance::High,
            "Prefix to prepend to table names to generate the name of the Kafka topic to publish data to, or in the case of a custom query, the full name of the topic to publish to.")
        .in_group(connector, 7, "Topic Prefix")
        .define("timestamp.delay.interval.ms", ConfigType::Long, s("0"), None, Importance::High,
            "How long to wait after a row with certain timestamp appears before we include it in the result. You may choose to add some delay to allow transactions with earlier timestamp to complete. The first execution will fetch all available records (i.e. starting at timestamp 0) until current time minus the delay. Every following execution will get data from the last time we fetched until current time minus the delay.")
        .in_group(connector, 8, "Delay Interval (ms)")
        .define("db.timezone", ConfigType::String, s("UTC"), described("a time zone"), Importance::Medium,
            "Name of the JDBC timezone used in the connector when querying with time-based criteria. Defaults to UTC.")
        .in_group(connector, 9, "DB time zone")
        .define("timestamp.granularity", ConfigType::String, s("connect_logical"), described("[connect_logical, micros_long, micros_string, micros_iso_datetime_string, nanos_long, nanos_string, nanos_iso_datetime_string]"), Importance::Low,
            "Define the granularity of the Timestamp column.")
        .in_group(connector, 10, "Timestamp granularity for timestamp columns")
}

/// `JdbcSinkConfig.CONFIG_DEF`, in Confluent's order and groups.
pub fn sink_config_def() -> ConfigDef {
    let writes = "Writes";
    let mapping = "Data Mapping";
    let ddl = "DDL Support";
    let retries = "Retries";
    let non_negative = described("[0,...]");
    let def = connection_keys(ConfigDef::new(), "Connection", DefaultValue::Required);
    def.define("dialect.name", ConfigType::String, s(""), None, Importance::Low,
            "The name of the database dialect that should be used for this connector. By default this is empty, and the connector automatically determines the dialect based upon the JDBC connection URL. Use this if you want to override that behavior and use a specific dialect. All properly-packaged dialects in the JDBC connector plugin can be used.")
        .in_group("Connection", 7, "Database Dialect")
        .define("insert.mode", ConfigType::String, s("insert"), described("[insert, upsert, update]"), Importance::High,
            "The insertion mode to use. Supported modes are:\n``insert``\n    Use standard SQL ``INSERT`` statements.\n``upsert``\n    Use the appropriate upsert semantics for the target database if it is supported by the connector, e.g. ``INSERT OR IGNORE``.\n``update``\n    Use the appropriate update semantics for the target database if it is supported by the connector, e.g. ``UPDATE``.")
        .in_group(writes, 1, "Insert Mode")
        .define("batch.size", ConfigType::Int, s("3000"), non_negative.clone(), Importance::Medium,
            "Specifies how many records to attempt to batch together for insertion into the destination table, when possible.")
        .in_group(writes, 2, "Batch Size")
        .define("delete.enabled", ConfigType::Boolean, s("false"), None, Importance::Medium,
            "Whether to treat ``null`` record values as deletes. Requires ``pk.mode`` to be ``record_key``.")
        .in_group(writes, 3, "Enable deletes")
        .define("table.types", ConfigType::List, s("TABLE"), described("[TABLE, VIEW]"), Importance::Low,
            "The comma-separated types of database tables to which the sink connector can write. By default this is ``TABLE``, but any combination of ``TABLE`` and ``VIEW`` is allowed.")
        .in_group(writes, 4, "Table Types")
        .define("table.name.format", ConfigType::String, s("${topic}"), None, Importance::Medium,
            "A format string for the destination table name, which may contain '${topic}' as a placeholder for the originating topic name.\nFor example, ``kafka_${topic}`` for the topic 'orders' will map to the table name 'kafka_orders'.")
        .in_group(mapping, 1, "Table Name Format")
        .define("pk.mode", ConfigType::String, s("none"), described("[none, kafka, record_key, record_value]"), Importance::High,
            "The primary key mode, also refer to ``pk.fields`` documentation for interplay. Supported modes are:\n``none``\n    No keys utilized.\n``kafka``\n    Kafka coordinates are used as the PK.\n``record_key``\n    Field(s) from the record key are used, which may be a primitive or a struct.\n``record_value``\n    Field(s) from the record value are used, which must be a struct.")
        .in_group(mapping, 2, "Primary Key Mode")
        .define("pk.fields", ConfigType::List, s(""), None, Importance::Medium,
            "List of comma-separated primary key field names. The runtime interpretation of this config depends on the ``pk.mode``:\n``none``\n    Ignored as no fields are used as primary key in this mode.\n``kafka``\n    Must be a trio representing the Kafka coordinates, defaults to ``__connect_topic,__connect_partition,__connect_offset`` if empty.\n``record_key``\n    If empty, all fields from the key struct will be used, otherwise used to extract the desired fields - for primitive key only a single field name must be configured.\n``record_value``\n    If empty, all fields from the value struct will be used, otherwise used to extract the desired fields.")
        .in_group(mapping, 3, "Primary Key Fields")
        .define("fields.whitelist", ConfigType::List, s(""), None, Importance::Medium,
            "List of comma-separated record value field names. If empty, all fields from the record value are utilized, otherwise used to filter to the desired fields.\nNote that ``pk.fields`` is applied independently in the context of which field(s) form the primary key columns in the destination database, while this configuration is applicable for the other columns.")
        .in_group(mapping, 4, "Fields Whitelist")
        .define("db.timezone", ConfigType::String, s("UTC"), described("a time zone"), Importance::Medium,
            "Name of the JDBC timezone that should be used in the connector when inserting time-based values. Defaults to UTC.")
        .in_group(mapping, 5, "DB Time Zone")
        .define("auto.create", ConfigType::Boolean, s("false"), None, Importance::Medium,
            "Whether to automatically create the destination table based on record schema if it is found to be missing by issuing ``CREATE``.")
        .in_group(ddl, 1, "Auto-Create")
        .define("auto.evolve", ConfigType::Boolean, s("false"), None, Importance::Medium,
            "Whether to automatically add columns in the table schema when found to be missing relative to the record schema by issuing ``ALTER``.")
        .in_group(ddl, 2, "Auto-Evolve")
        .define("quote.sql.identifiers", ConfigType::String, s("ALWAYS"), None, Importance::Medium,
            "When to quote table names, column names, and other identifiers in SQL statements. For backward compatibility, the default is ``always``.")
        .in_group(ddl, 3, "Quote Identifiers")
        .define("max.retries", ConfigType::Int, s("10"), non_negative.clone(), Importance::Medium,
            "The maximum number of times to retry on errors before failing the task.")
        .in_group(retries, 1, "Maximum Retries")
        .define("retry.backoff.ms", ConfigType::Int, s("3000"), non_negative, Importance::Medium,
            "The time in milliseconds to wait following an error before a retry attempt is made.")
        .in_group(retries, 2, "Retry Backoff (millis)")
}

fn at_least(config: &ParsedConfig, name: &str, min: i32) -> Result<i32, ConfigError> {
    let value = config.int(name).unwrap_or(min);
    if value < min {
        return Err(ConfigError::invalid(
            name,
            value.to_string(),
            format!("Value must be at least {min}"),
        ));
    }
    Ok(value)
}

/// `EnumRecommender`/`EnumValidator`: the lowercase or uppercase spelling of a constant.
fn enumerator(
    config: &ParsedConfig,
    name: &str,
    values: &[&str],
) -> Result<Option<String>, ConfigError> {
    match config.string(name) {
        None => Ok(None),
        Some(text) => {
            let lower = text.to_lowercase();
            if values.contains(&lower.as_str()) && (text == lower || text == text.to_uppercase()) {
                Ok(Some(lower))
            } else {
                Err(ConfigError::invalid(name, text, "Invalid enumerator"))
            }
        }
    }
}

/// `TimeZoneValidator`, for the zones this engine can apply: `UTC`/`GMT`/`Z` and fixed offsets
/// (`+02:00`, `UTC+2`). Named zones with rules (`Europe/Paris`) would need a zone database.
fn zone_offset_seconds(name: &str, zone: &str) -> Result<i32, ConfigError> {
    let invalid = || {
        ConfigError::invalid(name, zone, "Invalid time zone. See the list of valid time zones at https://docs.oracle.com/javase/8/docs/api/java/time/ZoneId.html#shortIds")
    };
    let rest = ["UTC", "GMT", "UT", "Z"]
        .iter()
        .find_map(|p| zone.strip_prefix(p))
        .unwrap_or(zone);
    if rest.is_empty() {
        return Ok(0);
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return Err(invalid()),
    };
    let (hours, minutes) = digits.split_once(':').unwrap_or((digits, "0"));
    let hours: i32 = hours.parse().map_err(|_| invalid())?;
    let minutes: i32 = minutes.parse().map_err(|_| invalid())?;
    if hours > 18 || minutes > 59 {
        return Err(invalid());
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

/// The source's `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceMode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

/// `numeric.mapping` (with the deprecated `numeric.precision.mapping=true` meaning
/// `precision_only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericMapping {
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

/// A parsed source connector (or task) configuration.
#[derive(Debug, Clone)]
pub struct JdbcSourceConfig {
    pub connection_url: String,
    pub connection_user: Option<String>,
    pub connection_password: Option<String>,
    pub connection_attempts: u32,
    pub connection_backoff_ms: u64,
    pub mode: SourceMode,
    pub incrementing_column_name: String,
    pub timestamp_column_names: Vec<String>,
    pub timestamp_initial: Option<i64>,
    pub timestamp_delay_interval_ms: i64,
    pub poll_interval_ms: u64,
    pub batch_max_rows: usize,
    pub table_poll_interval_ms: i64,
    pub table_whitelist: Vec<String>,
    pub table_blacklist: Vec<String>,
    pub table_include_list: Vec<String>,
    pub table_exclude_list: Vec<String>,
    pub table_types: Vec<String>,
    pub catalog_pattern: Option<String>,
    pub schema_pattern: Option<String>,
    pub query: Option<String>,
    pub query_suffix: String,
    pub topic_prefix: String,
    pub numeric_mapping: NumericMapping,
    pub validate_non_null: bool,
    /// `db.timezone` as an offset east of UTC, in seconds.
    pub db_timezone_offset_seconds: i32,
    pub quote: QuoteMethod,
    /// A task's `tables` (JdbcSourceTaskConfig): the tables assigned to it, as
    /// `TableId::to_sql(Always)` strings. Empty for a connector config or in query mode.
    pub tables: Vec<String>,
}

impl JdbcSourceConfig {
    /// A connection per `connection.*`, tried `connection.attempts` times.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, crate::JdbcError> {
        crate::dialect::connect_with_retries(
            &self.connection_url,
            self.connection_user.as_deref(),
            self.connection_password.as_deref(),
            self.connection_attempts,
            self.connection_backoff_ms,
        )
        .await
    }

    pub fn config_def() -> ConfigDef {
        source_config_def().define(
            TABLES,
            ConfigType::List,
            s(""),
            None,
            Importance::High,
            "List of tables for this task to watch for changes.",
        )
    }

    /// Parses and validates `props` as Confluent's connector does when it starts.
    pub fn from_props(props: &HashMap<String, String>) -> Result<JdbcSourceConfig, ConfigError> {
        let config = JdbcSourceConfig::config_def().parse(props)?;
        let mode = match config.string(MODE).unwrap_or("") {
            "bulk" => SourceMode::Bulk,
            "incrementing" => SourceMode::Incrementing,
            "timestamp" => SourceMode::Timestamp,
            "timestamp+incrementing" => SourceMode::TimestampIncrementing,
            _ => return Err(ConfigError::other("Query mode must be specified")),
        };
        let topic_prefix = config
            .string("topic.prefix")
            .unwrap_or("")
            .trim()
            .to_string();
        if topic_prefix.len() > 249 {
            return Err(ConfigError::invalid(
                "topic.prefix",
                &topic_prefix,
                "Topic prefix length must not exceed max topic name length, 249 chars",
            ));
        }
        if topic_prefix
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(ConfigError::invalid(
                "topic.prefix",
                &topic_prefix,
                TOPIC_PREFIX_INVALID,
            ));
        }
        let whitelist = config.list("table.whitelist");
        let blacklist = config.list("table.blacklist");
        if !whitelist.is_empty() && !blacklist.is_empty() {
            // JdbcSourceConnector.start's message.
            return Err(ConfigError::other(
                "table.whitelist and table.blacklist are exclusive.",
            ));
        }
        let include = config.list("table.include.list");
        let exclude = config.list("table.exclude.list");
        if (!include.is_empty() || !exclude.is_empty())
            && (!whitelist.is_empty() || !blacklist.is_empty())
        {
            return Err(ConfigError::other("Cannot mix legacy and new configuration approaches. Legacy configurations (table.whitelist, table.blacklist, timestamp.column.name, incrementing.column.name) cannot be used together with new configurations (table.include.list, table.exclude.list, timestamp.columns.mapping, incrementing.column.mapping)."));
        }
        if !exclude.is_empty() && include.is_empty() {
            return Err(ConfigError::invalid(
                "table.exclude.list",
                format!("[{}]", exclude.join(", ")),
                "table.exclude.list requires table.include.list to be specified",
            ));
        }
        for regex in include.iter().chain(&exclude) {
            if let Err(e) = regex::Regex::new(regex.trim()) {
                let name = if include.contains(regex) {
                    "table.include.list"
                } else {
                    "table.exclude.list"
                };
                return Err(ConfigError::invalid(
                    name,
                    regex,
                    format!(
                        "Must be a valid comma-separated list of regular expression patterns: {e}"
                    ),
                ));
            }
        }
        let query = config
            .string("query")
            .map(str::to_string)
            .filter(|q| !q.is_empty());
        if query.is_some()
            && (!whitelist.is_empty() || !blacklist.is_empty() || !include.is_empty())
        {
            return Err(ConfigError::other(
                "query may not be combined with whole-table copying settings.",
            ));
        }
        let mut numeric_mapping = match enumerator(
            &config,
            "numeric.mapping",
            &[
                "none",
                "precision_only",
                "best_fit",
                "best_fit_eager_double",
            ],
        )?
        .as_deref()
        {
            Some("precision_only") => NumericMapping::PrecisionOnly,
            Some("best_fit") => NumericMapping::BestFit,
            Some("best_fit_eager_double") => NumericMapping::BestFitEagerDouble,
            Some(_) => NumericMapping::None,
            None if config.boolean("numeric.precision.mapping") => NumericMapping::PrecisionOnly,
            None => NumericMapping::None,
        };
        if numeric_mapping == NumericMapping::None
            && config.string("numeric.mapping").is_none()
            && config.boolean("numeric.precision.mapping")
        {
            numeric_mapping = NumericMapping::PrecisionOnly;
        }
        let zone = config.string("db.timezone").unwrap_or("UTC");
        Ok(JdbcSourceConfig {
            connection_url: config.string(CONNECTION_URL).unwrap_or("").to_string(),
            connection_user: config.string(CONNECTION_USER).map(str::to_string),
            connection_password: config.string(CONNECTION_PASSWORD).map(str::to_string),
            connection_attempts: at_least(&config, "connection.attempts", 1)? as u32,
            connection_backoff_ms: config.long("connection.backoff.ms").unwrap_or(10000).max(0)
                as u64,
            mode,
            incrementing_column_name: config
                .string("incrementing.column.name")
                .unwrap_or("")
                .trim()
                .to_string(),
            timestamp_column_names: config
                .list("timestamp.column.name")
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect(),
            timestamp_initial: config.long("timestamp.initial"),
            timestamp_delay_interval_ms: config.long("timestamp.delay.interval.ms").unwrap_or(0),
            poll_interval_ms: config.int("poll.interval.ms").unwrap_or(5000).max(0) as u64,
            batch_max_rows: config.int("batch.max.rows").unwrap_or(1000).max(1) as usize,
            table_poll_interval_ms: config.long("table.poll.interval.ms").unwrap_or(60000),
            table_whitelist: whitelist,
            table_blacklist: blacklist,
            table_include_list: include,
            table_exclude_list: exclude,
            table_types: config.list("table.types"),
            catalog_pattern: config.string("catalog.pattern").map(str::to_string),
            schema_pattern: config.string("schema.pattern").map(str::to_string),
            query,
            query_suffix: config
                .string("query.suffix")
                .unwrap_or("")
                .trim()
                .to_string(),
            topic_prefix,
            numeric_mapping,
            validate_non_null: config.boolean("validate.non.null"),
            db_timezone_offset_seconds: zone_offset_seconds("db.timezone", zone)?,
            quote: QuoteMethod::parse(config.string("quote.sql.identifiers").unwrap_or("ALWAYS")),
            tables: config
                .list(TABLES)
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect(),
        })
    }
}

/// The sink's `insert.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

/// The sink's `pk.mode`; `Display` is the Java enum constant (`RECORD_KEY`), as
/// `FieldsMetadata`'s messages print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

impl PkMode {
    pub fn java_name(self) -> &'static str {
        match self {
            PkMode::None => "NONE",
            PkMode::Kafka => "KAFKA",
            PkMode::RecordKey => "RECORD_KEY",
            PkMode::RecordValue => "RECORD_VALUE",
        }
    }
}

/// `JdbcSinkConfig.DEFAULT_KAFKA_PK_NAMES`.
pub const DEFAULT_KAFKA_PK_NAMES: [&str; 3] =
    ["__connect_topic", "__connect_partition", "__connect_offset"];

/// A parsed sink configuration.
#[derive(Debug, Clone)]
pub struct JdbcSinkConfig {
    /// The connector's `name` (Confluent's `ConfigUtils.connectorName`), for messages.
    pub connector_name: String,
    pub connection_url: String,
    pub connection_user: Option<String>,
    pub connection_password: Option<String>,
    pub connection_attempts: u32,
    pub connection_backoff_ms: u64,
    pub table_name_format: String,
    pub batch_size: usize,
    pub delete_enabled: bool,
    pub max_retries: u32,
    pub retry_backoff_ms: u64,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: Vec<String>,
    pub db_timezone_offset_seconds: i32,
    pub quote: QuoteMethod,
    pub table_types: Vec<String>,
}

impl JdbcSinkConfig {
    pub fn from_props(props: &HashMap<String, String>) -> Result<JdbcSinkConfig, ConfigError> {
        let config = sink_config_def().parse(props)?;
        let batch_size = at_least(&config, "batch.size", 0)?;
        let max_retries = at_least(&config, "max.retries", 0)?;
        let retry_backoff_ms = at_least(&config, "retry.backoff.ms", 0)?;
        let insert_mode =
            match enumerator(&config, "insert.mode", &["insert", "upsert", "update"])?.as_deref() {
                Some("upsert") => InsertMode::Upsert,
                Some("update") => InsertMode::Update,
                _ => InsertMode::Insert,
            };
        let pk_mode = match enumerator(
            &config,
            "pk.mode",
            &["none", "kafka", "record_key", "record_value"],
        )?
        .as_deref()
        {
            Some("kafka") => PkMode::Kafka,
            Some("record_key") => PkMode::RecordKey,
            Some("record_value") => PkMode::RecordValue,
            _ => PkMode::None,
        };
        let delete_enabled = config.boolean("delete.enabled");
        if delete_enabled && pk_mode != PkMode::RecordKey {
            return Err(ConfigError::other(
                "Primary key mode must be 'record_key' when delete support is enabled",
            ));
        }
        Ok(JdbcSinkConfig {
            connector_name: props.get("name").cloned().unwrap_or_default(),
            connection_url: config.string(CONNECTION_URL).unwrap_or("").to_string(),
            connection_user: config.string(CONNECTION_USER).map(str::to_string),
            connection_password: config.string(CONNECTION_PASSWORD).map(str::to_string),
            connection_attempts: at_least(&config, "connection.attempts", 1)? as u32,
            connection_backoff_ms: config.long("connection.backoff.ms").unwrap_or(10000).max(0)
                as u64,
            table_name_format: config
                .string("table.name.format")
                .unwrap_or("${topic}")
                .trim()
                .to_string(),
            batch_size: batch_size.max(1) as usize,
            delete_enabled,
            max_retries: max_retries as u32,
            retry_backoff_ms: retry_backoff_ms as u64,
            auto_create: config.boolean("auto.create"),
            auto_evolve: config.boolean("auto.evolve"),
            insert_mode,
            pk_mode,
            pk_fields: config
                .list("pk.fields")
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect(),
            fields_whitelist: config
                .list("fields.whitelist")
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect(),
            db_timezone_offset_seconds: zone_offset_seconds(
                "db.timezone",
                config.string("db.timezone").unwrap_or("UTC"),
            )?,
            quote: QuoteMethod::parse(config.string("quote.sql.identifiers").unwrap_or("ALWAYS")),
            table_types: config.list("table.types"),
        })
    }

    /// `table.name.format` with `${topic}` replaced (Confluent's `destinationTable`).
    pub fn table_name(&self, topic: &str) -> String {
        self.table_name_format.replace("${topic}", topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn source_defaults_are_confluents() {
        let config = JdbcSourceConfig::from_props(&props(&[
            ("connection.url", "jdbc:postgresql://localhost:5432/db"),
            ("mode", "incrementing"),
        ]))
        .unwrap();
        assert_eq!(config.poll_interval_ms, 5000);
        assert_eq!(config.batch_max_rows, 1000);
        assert_eq!(config.table_poll_interval_ms, 60000);
        assert_eq!(config.timestamp_delay_interval_ms, 0);
        assert_eq!(config.timestamp_initial, None);
        assert_eq!(config.table_types, vec!["TABLE"]);
        assert_eq!(config.numeric_mapping, NumericMapping::None);
        assert_eq!(config.quote, QuoteMethod::Always);
        assert!(config.validate_non_null);
        assert_eq!(config.topic_prefix, "");
    }

    #[test]
    fn source_rejects_what_confluent_rejects() {
        let base = [("connection.url", "jdbc:postgresql://h/db")];
        let err = |extra: &[(&str, &str)]| {
            let mut p = props(&base);
            p.extend(props(extra));
            JdbcSourceConfig::from_props(&p).unwrap_err().to_string()
        };
        assert_eq!(err(&[]), "Query mode must be specified");
        assert_eq!(err(&[("mode", "sometimes")]), "Invalid value sometimes for configuration mode: String must be one of: , bulk, timestamp, incrementing, timestamp+incrementing");
        assert_eq!(
            err(&[("mode", "bulk"), ("topic.prefix", "a b")]),
            format!("Invalid value a b for configuration topic.prefix: {TOPIC_PREFIX_INVALID}")
        );
        assert_eq!(
            err(&[
                ("mode", "bulk"),
                ("table.whitelist", "a"),
                ("table.blacklist", "b")
            ]),
            "table.whitelist and table.blacklist are exclusive."
        );
        assert_eq!(
            err(&[("mode", "bulk"), ("numeric.mapping", "Best_Fit")]),
            "Invalid value Best_Fit for configuration numeric.mapping: Invalid enumerator"
        );
        assert_eq!(
            err(&[("mode", "bulk"), ("batch.max.rows", "x")]),
            "Invalid value x for configuration batch.max.rows: Not a number of type INT"
        );
        assert!(
            err(&[("mode", "bulk"), ("db.timezone", "Mars/Base")]).contains("Invalid time zone.")
        );
    }

    #[test]
    fn sink_defaults_and_delete_rule() {
        let config =
            JdbcSinkConfig::from_props(&props(&[("connection.url", "jdbc:postgresql://h/db")]))
                .unwrap();
        assert_eq!(config.table_name("orders"), "orders");
        assert_eq!(config.batch_size, 3000);
        assert_eq!(config.max_retries, 10);
        assert_eq!(config.retry_backoff_ms, 3000);
        assert_eq!(config.insert_mode, InsertMode::Insert);
        assert_eq!(config.pk_mode, PkMode::None);
        assert!(!config.auto_create && !config.auto_evolve && !config.delete_enabled);
        let err = JdbcSinkConfig::from_props(&props(&[
            ("connection.url", "u"),
            ("delete.enabled", "true"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Primary key mode must be 'record_key' when delete support is enabled"
        );
        let err = JdbcSinkConfig::from_props(&props(&[
            ("connection.url", "u"),
            ("pk.mode", "sometimes"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value sometimes for configuration pk.mode: Invalid enumerator"
        );
        let err =
            JdbcSinkConfig::from_props(&props(&[("connection.url", "u"), ("batch.size", "-1")]))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value -1 for configuration batch.size: Value must be at least 0"
        );
        let err = JdbcSinkConfig::from_props(&props(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Missing required configuration \"connection.url\" which has no default value."
        );
    }
}
