//! Confluent's source partitions (`OffsetProtocols`, `JdbcSourceConnectorConstants`) and
//! offsets (`TimestampIncrementingOffset`) as Connect map values.

use rafka_connect_data::Value;

use crate::dialect::TableId;

pub const INCREMENTING_FIELD: &str = "incrementing";
pub const TIMESTAMP_FIELD: &str = "timestamp";
pub const TIMESTAMP_NANOS_FIELD: &str = "timestamp_nanos";

/// `{"protocol":"1","table":"db.schema.table"}`: the partition of an incremental table.
pub fn partition_v1(table: &TableId) -> Value {
    Value::string_map([
        ("table", Value::string(table.unquoted())),
        ("protocol", Value::string("1")),
    ])
}

/// `{"table":"name"}`: the partition offsets were stored under before protocol 1, and the
/// partition of a bulk table.
pub fn partition_v0(table: &TableId) -> Value {
    Value::string_map([("table", Value::string(table.table.clone()))])
}

/// `{"query":"query"}`: the partition in query mode.
pub fn query_partition() -> Value {
    Value::string_map([("query", Value::string("query"))])
}

/// `TimestampIncrementingOffset`: the last incrementing value and timestamp read. The
/// timestamp is kept in microseconds (PostgreSQL's precision); the map holds Java's
/// `Timestamp.getTime()` (ms) and `getNanos()` (the fraction of its second, in ns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimestampIncrementingOffset {
    pub incrementing: Option<i64>,
    pub timestamp_micros: Option<i64>,
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Int8(v) => Some(i64::from(*v)),
        Value::Int16(v) => Some(i64::from(*v)),
        Value::Int32(v) => Some(i64::from(*v)),
        Value::Int64(v) => Some(*v),
        _ => None,
    }
}

impl TimestampIncrementingOffset {
    /// `getIncrementingOffset()`: -1 when none was read yet.
    pub fn incrementing_or_start(&self) -> i64 {
        self.incrementing.unwrap_or(-1)
    }

    /// `getTimestampOffset()`: the epoch when none was read yet.
    pub fn timestamp_or_epoch(&self) -> i64 {
        self.timestamp_micros.unwrap_or(0)
    }

    pub fn from_map(map: &Value) -> TimestampIncrementingOffset {
        let incrementing = as_i64(map.map_get(INCREMENTING_FIELD));
        let timestamp_micros = as_i64(map.map_get(TIMESTAMP_FIELD)).map(|ms| {
            let seconds = ms.div_euclid(1000);
            match as_i64(map.map_get(TIMESTAMP_NANOS_FIELD)) {
                Some(nanos) => seconds * 1_000_000 + nanos / 1000,
                None => ms * 1000,
            }
        });
        TimestampIncrementingOffset {
            incrementing,
            timestamp_micros,
        }
    }

    pub fn to_map(&self) -> Value {
        let mut entries = Vec::new();
        if let Some(inc) = self.incrementing {
            entries.push((INCREMENTING_FIELD, Value::Int64(inc)));
        }
        if let Some(micros) = self.timestamp_micros {
            entries.push((TIMESTAMP_FIELD, Value::Int64(micros.div_euclid(1000))));
            entries.push((
                TIMESTAMP_NANOS_FIELD,
                Value::Int64(micros.rem_euclid(1_000_000) * 1000),
            ));
        }
        Value::string_map(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_with_microseconds() {
        let offset = TimestampIncrementingOffset {
            incrementing: Some(7),
            timestamp_micros: Some(1_700_000_000_123_456),
        };
        let map = offset.to_map();
        assert_eq!(map.map_get("timestamp"), &Value::Int64(1_700_000_000_123));
        assert_eq!(map.map_get("timestamp_nanos"), &Value::Int64(123_456_000));
        assert_eq!(map.map_get("incrementing"), &Value::Int64(7));
        assert_eq!(TimestampIncrementingOffset::from_map(&map), offset);
        assert_eq!(
            TimestampIncrementingOffset::from_map(&Value::Null),
            TimestampIncrementingOffset::default()
        );
    }

    #[test]
    fn partitions_are_confluents() {
        let t = TableId::new(Some("db"), Some("public"), "users");
        assert_eq!(
            partition_v1(&t),
            Value::string_map([
                ("protocol", Value::string("1")),
                ("table", Value::string("db.public.users"))
            ])
        );
        assert_eq!(
            partition_v0(&t),
            Value::string_map([("table", Value::string("users"))])
        );
    }
}
