//! rafka's consumer-lag monitor, compatible with LinkedIn's Burrow: its TOML
//! configuration, its in-memory storage of commit windows, its evaluation rules, its v3
//! HTTP API, its HTTP notifier, and lag as Prometheus metrics in burrow-exporter's names.
//!
//! A Kafka client of the clusters it watches (rdkafka): it reads `__consumer_offsets` and
//! polls log-end offsets, and knows nothing of the broker's internals.

pub mod config;
pub mod evaluator;
pub mod offsets_topic;
pub mod storage;
