//! Kafka Connect's data layer, in Kafka's semantics: everything a Connect worker needs
//! between a connector's records and Kafka's bytes.
//!
//! - `data`, `logical`, `decimal`: the data model (`org.apache.kafka.connect.data`):
//!   `Schema`/`SchemaBuilder`, `Struct`, `Value`, the Date/Time/Timestamp/Decimal types;
//! - `connector`: the plugin interfaces (`SourceConnector`, `SinkConnector`, `SourceTask`,
//!   `SinkTask` and their contexts) the runtime drives;
//! - `record`: `ConnectRecord` with its headers, for source and sink records alike;
//! - `json`: JSON as Kafka's converter reads and writes it through Jackson;
//! - `config`: a `ConfigDef`-like description of plugin keys, and parsing of the string
//!   properties a connector's config gives;
//! - `converters`: JsonConverter, StringConverter, ByteArrayConverter, the number
//!   converters and SimpleHeaderConverter;
//! - `transforms`: Kafka's single message transforms and predicates, and the chain a
//!   connector's `transforms=`/`predicates=` config builds.
//!
//! Pure logic: no I/O, no threads, no tokio. It knows nothing of Kafka clients, the
//! worker or its REST API; they depend on it.

pub mod config;
pub mod connector;
pub mod converters;
pub mod data;
pub mod decimal;
pub mod error;
pub mod javafmt;
pub mod json;
pub mod logical;
pub mod record;
pub mod transforms;
pub mod values;

pub use data::{Field, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};
pub use decimal::Decimal;
pub use error::{ConfigError, ConnectError, DataError};
pub use record::{ConnectRecord, Header, RecordKind};
