//! Connect's logical types (Kafka's `Date`, `Time`, `Timestamp`, `Decimal` classes): named
//! schemas over a primitive type, with the conversions between the logical value (a
//! `Value::Date` or `Value::Decimal`) and the primitive one, and Kafka's messages.

use crate::data::{Schema, SchemaBuilder};
use crate::decimal::Decimal;
use crate::error::DataError;

pub use crate::data::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
pub const DECIMAL_SCALE_PARAMETER: &str = "scale";

pub const MILLIS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

/// `Date.builder()`: int32 days since the epoch, version 1.
pub fn date() -> SchemaBuilder {
    SchemaBuilder::int32().name(DATE_NAME).version(1)
}

/// `Time.builder()`: int32 milliseconds since midnight, version 1.
pub fn time() -> SchemaBuilder {
    SchemaBuilder::int32().name(TIME_NAME).version(1)
}

/// `Timestamp.builder()`: int64 milliseconds since the epoch, version 1.
pub fn timestamp() -> SchemaBuilder {
    SchemaBuilder::int64().name(TIMESTAMP_NAME).version(1)
}

/// `Decimal.builder(scale)`: bytes holding the unscaled value, `scale` as a parameter.
pub fn decimal(scale: i32) -> SchemaBuilder {
    SchemaBuilder::bytes()
        .name(DECIMAL_NAME)
        .parameter(DECIMAL_SCALE_PARAMETER, scale.to_string())
        .version(1)
}

fn require_name(schema: &Schema, name: &str, what: &str) -> Result<(), DataError> {
    if schema.name() != Some(name) {
        return Err(DataError::new(format!(
            "Requested conversion of {what} object but the schema does not match."
        )));
    }
    Ok(())
}

/// `Date.fromLogical`: the day number of a midnight-UTC instant.
pub fn date_from_logical(schema: &Schema, epoch_ms: i64) -> Result<i32, DataError> {
    require_name(schema, DATE_NAME, "Date")?;
    if epoch_ms.rem_euclid(MILLIS_PER_DAY) != 0 {
        return Err(DataError::new(
            "Kafka Connect Date type should not have any time fields set to non-zero values.",
        ));
    }
    Ok((epoch_ms / MILLIS_PER_DAY) as i32)
}

/// `Date.toLogical`.
pub fn date_to_logical(schema: &Schema, days: i32) -> Result<i64, DataError> {
    require_name(schema, DATE_NAME, "Date")?;
    Ok(i64::from(days) * MILLIS_PER_DAY)
}

/// `Time.fromLogical`: the instant must lie on the epoch's day.
pub fn time_from_logical(schema: &Schema, epoch_ms: i64) -> Result<i32, DataError> {
    require_name(schema, TIME_NAME, "Time")?;
    if !(0..=MILLIS_PER_DAY).contains(&epoch_ms) {
        return Err(DataError::new(
            "Kafka Connect Time type should not have any date fields set to non-zero values.",
        ));
    }
    Ok(epoch_ms as i32)
}

/// `Time.toLogical` (Kafka's message says "Date object" here; kept).
pub fn time_to_logical(schema: &Schema, millis: i32) -> Result<i64, DataError> {
    require_name(schema, TIME_NAME, "Date")?;
    if millis < 0 || i64::from(millis) > MILLIS_PER_DAY {
        return Err(DataError::new(
            "Time values must use number of milliseconds greater than 0 and less than 86400000",
        ));
    }
    Ok(i64::from(millis))
}

/// `Timestamp.fromLogical`.
pub fn timestamp_from_logical(schema: &Schema, epoch_ms: i64) -> Result<i64, DataError> {
    require_name(schema, TIMESTAMP_NAME, "Timestamp")?;
    Ok(epoch_ms)
}

/// `Timestamp.toLogical`.
pub fn timestamp_to_logical(schema: &Schema, epoch_ms: i64) -> Result<i64, DataError> {
    require_name(schema, TIMESTAMP_NAME, "Timestamp")?;
    Ok(epoch_ms)
}

/// The `scale` parameter of a Decimal schema.
pub fn decimal_scale(schema: &Schema) -> Result<i32, DataError> {
    let scale = schema
        .parameters()
        .and_then(|p| p.get(DECIMAL_SCALE_PARAMETER))
        .ok_or_else(|| DataError::new("Invalid Decimal schema: scale parameter not found."))?;
    scale
        .parse()
        .map_err(|_| DataError::new("Invalid scale parameter found in Decimal schema: "))
}

/// `Decimal.fromLogical`: the unscaled bytes; the value's scale must be the schema's.
pub fn decimal_from_logical(schema: &Schema, value: &Decimal) -> Result<Vec<u8>, DataError> {
    let scale = decimal_scale(schema)?;
    if value.scale() != scale {
        return Err(DataError::new(format!(
            "Decimal value has mismatching scale for given Decimal schema. Schema has scale {scale}, value has scale {}.",
            value.scale()
        )));
    }
    Ok(value.unscaled_bytes())
}

/// `Decimal.toLogical`.
pub fn decimal_to_logical(schema: &Schema, bytes: &[u8]) -> Result<Decimal, DataError> {
    let scale = decimal_scale(schema)?;
    Decimal::from_unscaled_bytes(bytes, scale)
        .ok_or_else(|| DataError::new("Zero length BigInteger"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_days() {
        let schema = date().build();
        assert_eq!(
            date_from_logical(&schema, 19847 * MILLIS_PER_DAY),
            Ok(19847)
        );
        assert_eq!(date_from_logical(&schema, -MILLIS_PER_DAY), Ok(-1));
        assert_eq!(
            date_from_logical(&schema, 1).unwrap_err().message,
            "Kafka Connect Date type should not have any time fields set to non-zero values."
        );
        assert_eq!(
            date_from_logical(&time().build(), 0).unwrap_err().message,
            "Requested conversion of Date object but the schema does not match."
        );
        assert_eq!(date_to_logical(&schema, 2), Ok(2 * MILLIS_PER_DAY));
    }

    #[test]
    fn times_lie_within_the_first_day() {
        let schema = time().build();
        assert_eq!(time_from_logical(&schema, 1000), Ok(1000));
        assert!(time_from_logical(&schema, MILLIS_PER_DAY + 1).is_err());
        assert!(time_to_logical(&schema, -1).is_err());
    }

    #[test]
    fn decimals_check_the_scale() {
        let schema = decimal(2).build();
        let value: Decimal = "1.56".parse().unwrap();
        assert_eq!(decimal_from_logical(&schema, &value), Ok(vec![0, 156]));
        let wrong: Decimal = "1.5".parse().unwrap();
        assert_eq!(
            decimal_from_logical(&schema, &wrong).unwrap_err().message,
            "Decimal value has mismatching scale for given Decimal schema. Schema has scale 2, value has scale 1."
        );
        assert_eq!(decimal_to_logical(&schema, &[0, 156]), Ok(value));
        assert_eq!(
            schema
                .parameters()
                .unwrap()
                .get("scale")
                .map(String::as_str),
            Some("2")
        );
    }
}
