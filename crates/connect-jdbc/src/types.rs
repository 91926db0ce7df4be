//! PostgreSQL types ↔ Connect types, as Confluent's `GenericDatabaseDialect` and
//! `PostgreSqlDatabaseDialect` map them.
//!
//! Source side (a result column → a Connect field): int2 → INT16, int4 (and `serial`) →
//! INT32, int8 (and `bigserial`) → INT64, float4 → FLOAT32, float8 → FLOAT64, numeric →
//! Decimal with `connect.decimal.precision` (or an integer/FLOAT64 under `numeric.mapping`),
//! bool → BOOLEAN, bit(1) → BOOLEAN, bit(2..8) → INT8, longer bit strings → BYTES,
//! char/varchar/text/name/xml/json/jsonb/uuid → STRING, bytea → BYTES, date → Date,
//! time/timetz → Time, timestamp/timestamptz → Timestamp, one-dimensional arrays of those
//! → ARRAY (Confluent skips array columns on the source side; we map them, cheaply, so that
//! the sink's `elem[]` columns round-trip). Other types (interval, inet, money…) are skipped
//! with a warning, as Confluent skips types it does not support.
//!
//! Values are decoded from PostgreSQL's binary wire format directly, so that every type is
//! read the same way whatever its OID.
//!
//! Sink side (a Connect schema → a column type, and a Connect value → a bound parameter):
//! the digest's table (`sql_type`), and `SqlParam`, which encodes a value for whatever type
//! the server inferred for the parameter (so an INT32 field binds into a BIGINT column).

use std::error::Error;

use bytes::{BufMut, BytesMut};
use num_bigint::{BigInt, Sign};
use rafka_connect_data::data::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use rafka_connect_data::logical::{self, MILLIS_PER_DAY};
use rafka_connect_data::{Decimal, Schema, SchemaBuilder, SchemaRef, Type as ConnectType, Value};
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type};

use crate::config::NumericMapping;
use crate::error::JdbcError;

/// `GenericDatabaseDialect.PRECISION_FIELD`.
pub const PRECISION_PARAMETER: &str = "connect.decimal.precision";
/// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// How a column's values are read: its PostgreSQL type reduced to what decoding needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    /// A bit string of this many bits (typmod), 1 → boolean, ≤ 8 → int8, else bytes.
    Bit(i32),
    /// numeric(precision, scale); `None` when unconstrained. `target` is the Connect type
    /// `numeric.mapping` chose.
    Numeric {
        precision: i32,
        scale: i32,
        target: NumericTarget,
    },
    Text,
    Jsonb,
    Uuid,
    Bytes,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Array(Box<ColumnKind>),
}

/// The Connect type a numeric column maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericTarget {
    Decimal,
    Int8,
    Int16,
    Int32,
    Int64,
    Float64,
}

/// `GenericDatabaseDialect.integerSchema`'s choice by precision.
fn integer_target(precision: i32) -> NumericTarget {
    if precision > 9 {
        NumericTarget::Int64
    } else if precision > 4 {
        NumericTarget::Int32
    } else if precision > 2 {
        NumericTarget::Int16
    } else {
        NumericTarget::Int8
    }
}

/// The numeric mapping `GenericDatabaseDialect.addFieldToSchema` applies for NUMERIC.
pub fn numeric_target(mapping: NumericMapping, precision: i32, scale: i32) -> NumericTarget {
    const MAX_INTEGER_TYPE_PRECISION: i32 = 18;
    const NUMERIC_TYPE_SCALE_LOW: i32 = -84;
    let integral = (NUMERIC_TYPE_SCALE_LOW..1).contains(&scale);
    match mapping {
        NumericMapping::None => NumericTarget::Decimal,
        NumericMapping::PrecisionOnly if scale == 0 && precision <= MAX_INTEGER_TYPE_PRECISION => {
            integer_target(precision)
        }
        NumericMapping::BestFit if precision <= MAX_INTEGER_TYPE_PRECISION => {
            if integral {
                integer_target(precision)
            } else if scale > 0 {
                NumericTarget::Float64
            } else {
                NumericTarget::Decimal
            }
        }
        NumericMapping::BestFitEagerDouble => {
            if integral && precision <= MAX_INTEGER_TYPE_PRECISION {
                integer_target(precision)
            } else if scale > 0 {
                NumericTarget::Float64
            } else {
                NumericTarget::Decimal
            }
        }
        _ => NumericTarget::Decimal,
    }
}

impl ColumnKind {
    /// The kind for a column of type `ty` with type modifier `typmod`; `None` for types
    /// Confluent does not support (the column is then left out of the schema).
    pub fn of(ty: &Type, typmod: i32, mapping: NumericMapping) -> Option<ColumnKind> {
        Some(match *ty {
            Type::INT2 => ColumnKind::Int16,
            Type::INT4 => ColumnKind::Int32,
            Type::INT8 => ColumnKind::Int64,
            Type::FLOAT4 => ColumnKind::Float32,
            Type::FLOAT8 => ColumnKind::Float64,
            Type::BOOL => ColumnKind::Boolean,
            Type::BIT => ColumnKind::Bit(typmod.max(1)),
            Type::NUMERIC => {
                // typmod = ((precision << 16) | scale) + 4; -1 when unconstrained, which the
                // PostgreSQL JDBC driver reports as precision 0, scale 0.
                let (precision, scale) = if typmod >= 4 {
                    (((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0xffff)
                } else {
                    (0, 0)
                };
                ColumnKind::Numeric {
                    precision,
                    scale,
                    target: numeric_target(mapping, precision, scale),
                }
            }
            Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::XML
            | Type::JSON
            | Type::CHAR => ColumnKind::Text,
            Type::JSONB => ColumnKind::Jsonb,
            Type::UUID => ColumnKind::Uuid,
            Type::BYTEA => ColumnKind::Bytes,
            Type::DATE => ColumnKind::Date,
            Type::TIME => ColumnKind::Time,
            Type::TIMETZ => ColumnKind::TimeTz,
            Type::TIMESTAMP => ColumnKind::Timestamp,
            Type::TIMESTAMPTZ => ColumnKind::TimestampTz,
            _ => match ty.kind() {
                Kind::Array(element) => {
                    let element = ColumnKind::of(element, -1, mapping)?;
                    if matches!(element, ColumnKind::Array(_)) {
                        return None;
                    }
                    ColumnKind::Array(Box::new(element))
                }
                Kind::Domain(base) => ColumnKind::of(base, typmod, mapping)?,
                _ => return None,
            },
        })
    }

    /// The Connect schema of a field of this kind.
    pub fn schema(&self, optional: bool) -> SchemaRef {
        let builder = match self {
            ColumnKind::Int16 => SchemaBuilder::int16(),
            ColumnKind::Int32 => SchemaBuilder::int32(),
            ColumnKind::Int64 => SchemaBuilder::int64(),
            ColumnKind::Float32 => SchemaBuilder::float32(),
            ColumnKind::Float64 => SchemaBuilder::float64(),
            ColumnKind::Boolean => SchemaBuilder::bool(),
            ColumnKind::Bit(1) => SchemaBuilder::bool(),
            ColumnKind::Bit(n) if *n <= 8 => SchemaBuilder::int8(),
            ColumnKind::Bit(_) => SchemaBuilder::bytes(),
            ColumnKind::Numeric {
                precision,
                scale,
                target,
            } => match target {
                NumericTarget::Decimal => {
                    logical::decimal(*scale).parameter(PRECISION_PARAMETER, precision.to_string())
                }
                NumericTarget::Int8 => SchemaBuilder::int8(),
                NumericTarget::Int16 => SchemaBuilder::int16(),
                NumericTarget::Int32 => SchemaBuilder::int32(),
                NumericTarget::Int64 => SchemaBuilder::int64(),
                NumericTarget::Float64 => SchemaBuilder::float64(),
            },
            ColumnKind::Text | ColumnKind::Jsonb | ColumnKind::Uuid => SchemaBuilder::string(),
            ColumnKind::Bytes => SchemaBuilder::bytes(),
            ColumnKind::Date => logical::date(),
            ColumnKind::Time | ColumnKind::TimeTz => logical::time(),
            ColumnKind::Timestamp | ColumnKind::TimestampTz => logical::timestamp(),
            ColumnKind::Array(element) => SchemaBuilder::array(element.schema(true)),
        };
        builder.set_optional(optional).build()
    }

    /// Decodes a value of this kind from PostgreSQL's binary format (`None` is SQL NULL).
    /// `zone_offset_seconds` is `db.timezone`: a `timestamp` (without time zone) is read as
    /// wall-clock time there, as the JDBC driver does with Confluent's calendar.
    pub fn decode(&self, raw: Option<&[u8]>, zone_offset_seconds: i32) -> Result<Value, JdbcError> {
        let Some(raw) = raw else {
            return Ok(Value::Null);
        };
        let bad = || JdbcError::connect(format!("Malformed {self:?} value from PostgreSQL"));
        let be = |n: usize| -> Result<&[u8], JdbcError> { raw.get(..n).ok_or_else(bad) };
        Ok(match self {
            ColumnKind::Int16 => {
                Value::Int16(i16::from_be_bytes(be(2)?.try_into().map_err(|_| bad())?))
            }
            ColumnKind::Int32 => {
                Value::Int32(i32::from_be_bytes(be(4)?.try_into().map_err(|_| bad())?))
            }
            ColumnKind::Int64 => {
                Value::Int64(i64::from_be_bytes(be(8)?.try_into().map_err(|_| bad())?))
            }
            ColumnKind::Float32 => {
                Value::Float32(f32::from_be_bytes(be(4)?.try_into().map_err(|_| bad())?))
            }
            ColumnKind::Float64 => {
                Value::Float64(f64::from_be_bytes(be(8)?.try_into().map_err(|_| bad())?))
            }
            ColumnKind::Boolean => Value::Boolean(be(1)?[0] != 0),
            ColumnKind::Bit(bits) => {
                let data = raw.get(4..).ok_or_else(bad)?;
                match *bits {
                    1 => Value::Boolean(data.first().is_some_and(|b| b & 0x80 != 0)),
                    n if n <= 8 => {
                        Value::Int8((data.first().copied().unwrap_or(0) >> (8 - n)) as i8)
                    }
                    _ => Value::Bytes(data.to_vec()),
                }
            }
            ColumnKind::Numeric { scale, target, .. } => {
                let decimal = decode_numeric(raw).ok_or_else(bad)?;
                match target {
                    NumericTarget::Decimal => {
                        // The schema's scale is the column's; an unconstrained numeric has
                        // scale 0 and its values may not fit. Confluent fails on any scale
                        // mismatch (Kafka's Decimal.fromLogical); we accept the lossless ones.
                        let rescaled = rescale(&decimal, *scale);
                        if rescale(&rescaled, decimal.scale()) != decimal {
                            return Err(JdbcError::Data(rafka_connect_data::DataError::new(
                                "BigDecimal has mismatching scale value for given Decimal schema",
                            )));
                        }
                        Value::Decimal(rescaled)
                    }
                    NumericTarget::Int8 => Value::Int8(decimal.to_i64_wrapping() as i8),
                    NumericTarget::Int16 => Value::Int16(decimal.to_i64_wrapping() as i16),
                    NumericTarget::Int32 => Value::Int32(decimal.to_i64_wrapping() as i32),
                    NumericTarget::Int64 => Value::Int64(decimal.to_i64_wrapping()),
                    NumericTarget::Float64 => Value::Float64(decimal.to_f64()),
                }
            }
            ColumnKind::Text => Value::String(String::from_utf8_lossy(raw).into_owned()),
            ColumnKind::Jsonb => {
                Value::String(String::from_utf8_lossy(raw.get(1..).ok_or_else(bad)?).into_owned())
            }
            ColumnKind::Uuid => Value::String(
                uuid::Uuid::from_slice(raw)
                    .map_err(|_| bad())?
                    .hyphenated()
                    .to_string(),
            ),
            ColumnKind::Bytes => Value::Bytes(raw.to_vec()),
            ColumnKind::Date => {
                let days = i32::from_be_bytes(be(4)?.try_into().map_err(|_| bad())?);
                Value::Date((i64::from(days) + PG_EPOCH_DAYS) * MILLIS_PER_DAY)
            }
            ColumnKind::Time => {
                let micros = i64::from_be_bytes(be(8)?.try_into().map_err(|_| bad())?);
                Value::Date(micros.div_euclid(1000))
            }
            ColumnKind::TimeTz => {
                let micros = i64::from_be_bytes(be(8)?.try_into().map_err(|_| bad())?);
                // The zone is stored in seconds west of UTC.
                let west = i32::from_be_bytes(
                    raw.get(8..12)
                        .ok_or_else(bad)?
                        .try_into()
                        .map_err(|_| bad())?,
                );
                let utc = micros + i64::from(west) * 1_000_000;
                Value::Date(utc.rem_euclid(MICROS_PER_DAY).div_euclid(1000))
            }
            ColumnKind::Timestamp | ColumnKind::TimestampTz => {
                Value::Date(timestamp_micros(self, raw, zone_offset_seconds)?.div_euclid(1000))
            }
            ColumnKind::Array(element) => {
                Value::Array(decode_array(element, raw, zone_offset_seconds)?)
            }
        })
    }
}

/// A timestamp column's value as microseconds since the Unix epoch (UTC), the precision the
/// source's offsets keep (`timestamp` + `timestamp_nanos`).
pub fn timestamp_micros(
    kind: &ColumnKind,
    raw: &[u8],
    zone_offset_seconds: i32,
) -> Result<i64, JdbcError> {
    let bad = || JdbcError::connect("Malformed timestamp value from PostgreSQL");
    let micros = i64::from_be_bytes(
        raw.get(..8)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    if micros == i64::MAX || micros == i64::MIN {
        return Err(JdbcError::connect(
            "Cannot map an infinite timestamp to a Connect Timestamp",
        ));
    }
    let shift = match kind {
        ColumnKind::Timestamp => i64::from(zone_offset_seconds) * 1_000_000,
        _ => 0,
    };
    Ok(micros + PG_EPOCH_MICROS - shift)
}

fn decode_array(element: &ColumnKind, raw: &[u8], zone: i32) -> Result<Vec<Value>, JdbcError> {
    let bad = || JdbcError::connect("Malformed array value from PostgreSQL");
    let int = |at: usize| -> Result<i32, JdbcError> {
        Ok(i32::from_be_bytes(
            raw.get(at..at + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    let dims = int(0)?;
    if dims == 0 {
        return Ok(Vec::new());
    }
    if dims != 1 {
        return Err(JdbcError::connect(
            "Only one-dimensional arrays map to Connect arrays",
        ));
    }
    let len = int(12)?;
    let mut at = 20;
    let mut values = Vec::with_capacity(len.max(0) as usize);
    for _ in 0..len {
        let size = int(at)?;
        at += 4;
        if size < 0 {
            values.push(Value::Null);
        } else {
            let end = at + size as usize;
            values.push(element.decode(Some(raw.get(at..end).ok_or_else(bad)?), zone)?);
            at = end;
        }
    }
    Ok(values)
}

/// PostgreSQL's binary numeric: ndigits, weight, sign, dscale (all 16-bit), then ndigits
/// base-10000 digits; value = Σ digit[i] × 10000^(weight − i).
fn decode_numeric(raw: &[u8]) -> Option<Decimal> {
    let word = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes(
            raw.get(i * 2..i * 2 + 2)?.try_into().ok()?,
        ))
    };
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i16 as i64;
    let sign = word(2)?;
    let dscale = word(3)? as i64;
    if sign == 0xC000 {
        return None; // NaN has no BigDecimal
    }
    let mut unscaled = BigInt::from(0);
    for i in 0..ndigits {
        unscaled = unscaled * 10_000 + BigInt::from(word(4 + i)?);
    }
    // unscaled × 10000^(weight − ndigits + 1) = unscaled × 10^(4·(weight − ndigits + 1))
    let exponent = 4 * (weight - ndigits as i64 + 1);
    let decimal = if exponent >= 0 {
        Decimal::new(unscaled * BigInt::from(10).pow(exponent as u32), 0)
    } else {
        Decimal::new(unscaled, (-exponent) as i32)
    };
    let decimal = rescale(&decimal, dscale as i32);
    Some(if sign == 0x4000 {
        Decimal::new(-decimal.unscaled().clone(), decimal.scale())
    } else {
        decimal
    })
}

/// Java's `setScale(scale, RoundingMode.HALF_EVEN)`.
pub fn rescale(value: &Decimal, scale: i32) -> Decimal {
    let from = value.scale();
    if scale >= from {
        let factor = BigInt::from(10).pow((scale - from) as u32);
        return Decimal::new(value.unscaled() * factor, scale);
    }
    let divisor = BigInt::from(10).pow((from - scale) as u32);
    let (quotient, remainder) = (value.unscaled() / &divisor, value.unscaled() % &divisor);
    let twice = remainder.magnitude() * 2u32;
    let half = divisor.magnitude();
    let away = twice > *half || (twice == *half && (&quotient % 2u32) != BigInt::from(0));
    let quotient = if away {
        if value.unscaled().sign() == Sign::Minus {
            quotient - 1
        } else {
            quotient + 1
        }
    } else {
        quotient
    };
    Decimal::new(quotient, scale)
}

fn encode_numeric(value: &Decimal, out: &mut BytesMut) {
    let (unscaled, scale) = if value.scale() < 0 {
        let d = rescale(value, 0);
        (d.unscaled().clone(), 0usize)
    } else {
        (value.unscaled().clone(), value.scale() as usize)
    };
    let negative = unscaled.sign() == Sign::Minus;
    let digits = unscaled.magnitude().to_string();
    let digits = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (int_part, frac_part) = digits.split_at(digits.len() - scale);
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let int_text = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_text = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let mut groups: Vec<u16> = int_text
        .as_bytes()
        .chunks(4)
        .chain(frac_text.as_bytes().chunks(4))
        .map(|c| std::str::from_utf8(c).unwrap_or("0").parse().unwrap_or(0))
        .collect();
    let mut weight = (int_text.len() / 4) as i32 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_u16(groups.len() as u16);
    out.put_i16(weight as i16);
    out.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(scale as u16);
    for g in groups {
        out.put_u16(g);
    }
}

/// Raw bytes of any column, so that every type decodes through `ColumnKind::decode`.
#[derive(Debug)]
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The column type `PostgreSqlDatabaseDialect.getSqlType` gives a field's schema, for
/// CREATE TABLE and ALTER TABLE ADD.
pub fn sql_type(schema: &Schema) -> Result<String, JdbcError> {
    if let Some(name) = schema.name() {
        match name {
            DECIMAL_NAME => return Ok("DECIMAL".into()),
            DATE_NAME => return Ok("DATE".into()),
            TIME_NAME => return Ok("TIME".into()),
            TIMESTAMP_NAME => return Ok("TIMESTAMP".into()),
            _ => {}
        }
    }
    Ok(match schema.schema_type() {
        ConnectType::Int8 | ConnectType::Int16 => "SMALLINT".into(),
        ConnectType::Int32 => "INT".into(),
        ConnectType::Int64 => "BIGINT".into(),
        ConnectType::Float32 => "REAL".into(),
        ConnectType::Float64 => "DOUBLE PRECISION".into(),
        ConnectType::Boolean => "BOOLEAN".into(),
        ConnectType::String => "TEXT".into(),
        ConnectType::Bytes => "BYTEA".into(),
        ConnectType::Array => {
            let element = schema
                .value_schema()
                .ok_or_else(|| JdbcError::connect("Array schema without element schema"))?;
            format!("{}[]", sql_type(element)?)
        }
        other => {
            return Err(JdbcError::connect(format!(
                "{} (type {other}) type doesn't have a mapping to the SQL database column type",
                schema.name().unwrap_or("")
            )))
        }
    })
}

/// A Connect value bound as a statement parameter, encoded for the parameter's type as the
/// server inferred it from the column (never spliced into SQL text).
#[derive(Debug, Clone)]
pub struct SqlParam {
    pub value: Value,
    /// The field's schema name, telling a Date/Time/Timestamp `Value::Date` apart.
    pub logical: Option<String>,
    pub zone_offset_seconds: i32,
}

type BoxError = Box<dyn Error + Sync + Send>;

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    format!(
        "cannot bind a {} value to a parameter of type {ty}",
        value.java_class()
    )
    .into()
}

impl SqlParam {
    fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int8(v) => Some(i64::from(*v)),
            Value::Int16(v) => Some(i64::from(*v)),
            Value::Int32(v) => Some(i64::from(*v)),
            Value::Int64(v) => Some(*v),
            Value::Boolean(b) => Some(i64::from(*b)),
            Value::Decimal(d) => Some(d.to_i64_wrapping()),
            Value::Float32(f) => Some(*f as i64),
            Value::Float64(f) => Some(*f as i64),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match &self.value {
            Value::Float32(f) => Some(f64::from(*f)),
            Value::Float64(f) => Some(*f),
            Value::Decimal(d) => Some(d.to_f64()),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    fn as_decimal(&self) -> Option<Decimal> {
        match &self.value {
            Value::Decimal(d) => Some(d.clone()),
            Value::Float32(f) => Decimal::from_f64(f64::from(*f)),
            Value::Float64(f) => Decimal::from_f64(*f),
            Value::String(s) => s.parse().ok(),
            _ => self.as_i64().map(Decimal::from_i64),
        }
    }

    fn text(&self) -> Option<String> {
        Some(match &self.value {
            Value::String(s) => s.clone(),
            Value::Boolean(b) => b.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Float32(_)
            | Value::Float64(_)
            | Value::Int8(_)
            | Value::Int16(_)
            | Value::Int32(_)
            | Value::Int64(_) => self.value.java_to_string(),
            _ => return None,
        })
    }

    fn element(&self, value: Value) -> SqlParam {
        SqlParam {
            value,
            logical: None,
            zone_offset_seconds: self.zone_offset_seconds,
        }
    }

    /// The epoch milliseconds of a Date/Time/Timestamp value.
    fn millis(&self) -> Option<i64> {
        match &self.value {
            Value::Date(ms) => Some(*ms),
            Value::Int64(ms) if self.logical.as_deref() == Some(TIMESTAMP_NAME) => Some(*ms),
            _ => None,
        }
    }
}

impl ToSql for SqlParam {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if self.value.is_null() {
            return Ok(IsNull::Yes);
        }
        let range = |v: i64, bits: u32| -> Result<i64, BoxError> {
            let max = (1i64 << (bits - 1)) - 1;
            if v > max || v < -max - 1 {
                Err(format!("value {v} out of range for {ty}").into())
            } else {
                Ok(v)
            }
        };
        let err = || mismatch(&self.value, ty);
        match *ty {
            Type::INT2 => out.put_i16(range(self.as_i64().ok_or_else(err)?, 16)? as i16),
            Type::INT4 => out.put_i32(range(self.as_i64().ok_or_else(err)?, 32)? as i32),
            Type::INT8 => out.put_i64(self.as_i64().ok_or_else(err)?),
            Type::FLOAT4 => out.put_f32(self.as_f64().ok_or_else(err)? as f32),
            Type::FLOAT8 => out.put_f64(self.as_f64().ok_or_else(err)?),
            Type::NUMERIC => encode_numeric(&self.as_decimal().ok_or_else(err)?, out),
            Type::BOOL => match &self.value {
                Value::Boolean(b) => out.put_u8(u8::from(*b)),
                _ => out.put_u8(u8::from(self.as_i64().ok_or_else(err)? != 0)),
            },
            Type::BYTEA => match &self.value {
                Value::Bytes(b) => out.put_slice(b),
                _ => return Err(err()),
            },
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::XML => {
                out.put_slice(self.text().ok_or_else(err)?.as_bytes())
            }
            Type::JSONB => {
                out.put_u8(1);
                out.put_slice(self.text().ok_or_else(err)?.as_bytes());
            }
            Type::UUID => {
                let text = self.text().ok_or_else(err)?;
                out.put_slice(uuid::Uuid::parse_str(&text)?.as_bytes());
            }
            Type::DATE => {
                let ms = self.millis().ok_or_else(err)?;
                out.put_i32((ms.div_euclid(MILLIS_PER_DAY) - PG_EPOCH_DAYS) as i32);
            }
            Type::TIME => {
                let ms = self.millis().ok_or_else(err)?;
                out.put_i64(ms.rem_euclid(MILLIS_PER_DAY) * 1000);
            }
            Type::TIMESTAMP => {
                // Written as wall-clock time in db.timezone.
                let ms = self.millis().ok_or_else(err)?;
                out.put_i64(
                    ms * 1000 - PG_EPOCH_MICROS + i64::from(self.zone_offset_seconds) * 1_000_000,
                );
            }
            Type::TIMESTAMPTZ => {
                let ms = self.millis().ok_or_else(err)?;
                out.put_i64(ms * 1000 - PG_EPOCH_MICROS);
            }
            _ => match (ty.kind(), &self.value) {
                (Kind::Array(element), Value::Array(items)) => {
                    out.put_i32(1);
                    out.put_i32(i32::from(items.iter().any(Value::is_null)));
                    out.put_u32(element.oid());
                    out.put_i32(items.len() as i32);
                    out.put_i32(1);
                    for item in items {
                        let param = self.element(item.clone());
                        let mut buf = BytesMut::new();
                        match param.to_sql(element, &mut buf)? {
                            IsNull::Yes => out.put_i32(-1),
                            IsNull::No => {
                                out.put_i32(buf.len() as i32);
                                out.put_slice(&buf);
                            }
                        }
                    }
                }
                (Kind::Domain(base), _) => return self.to_sql(base, out),
                _ => return Err(err()),
            },
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A timestamp parameter for the source's criteria, in microseconds since the Unix epoch
/// (UTC), encoded for a `timestamp` (wall-clock in db.timezone) or `timestamptz` column.
#[derive(Debug, Clone, Copy)]
pub struct TimestampParam {
    pub micros: i64,
    pub zone_offset_seconds: i32,
}

impl ToSql for TimestampParam {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match *ty {
            Type::TIMESTAMP => out.put_i64(
                self.micros - PG_EPOCH_MICROS + i64::from(self.zone_offset_seconds) * 1_000_000,
            ),
            Type::DATE => {
                out.put_i32(((self.micros - PG_EPOCH_MICROS).div_euclid(MICROS_PER_DAY)) as i32)
            }
            _ => out.put_i64(self.micros - PG_EPOCH_MICROS),
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_round_trip(text: &str) {
        let d: Decimal = text.parse().unwrap();
        let mut buf = BytesMut::new();
        encode_numeric(&d, &mut buf);
        let back = decode_numeric(&buf).unwrap();
        assert_eq!(back, d, "{text}");
    }

    #[test]
    fn numerics_round_trip_through_the_binary_format() {
        for text in [
            "0",
            "1",
            "-1",
            "12345.6789",
            "0.0001",
            "-0.50",
            "10000",
            "123456789012345678901234.5",
            "0.00",
            "99.990",
        ] {
            numeric_round_trip(text);
        }
    }

    #[test]
    fn rescale_rounds_half_even() {
        let d = |t: &str| t.parse::<Decimal>().unwrap();
        assert_eq!(rescale(&d("2.5"), 0), d("2"));
        assert_eq!(rescale(&d("3.5"), 0), d("4"));
        assert_eq!(rescale(&d("-2.51"), 1), d("-2.5"));
        assert_eq!(rescale(&d("-2.56"), 1), d("-2.6"));
        assert_eq!(rescale(&d("1.2"), 3), d("1.200"));
    }

    #[test]
    fn numeric_mapping_follows_precision_and_scale() {
        use NumericMapping::*;
        assert_eq!(numeric_target(None, 5, 0), NumericTarget::Decimal);
        assert_eq!(numeric_target(BestFit, 5, 0), NumericTarget::Int32);
        assert_eq!(numeric_target(BestFit, 2, 0), NumericTarget::Int8);
        assert_eq!(numeric_target(BestFit, 10, 2), NumericTarget::Float64);
        assert_eq!(numeric_target(BestFit, 20, 0), NumericTarget::Decimal);
        assert_eq!(numeric_target(PrecisionOnly, 18, 0), NumericTarget::Int64);
        assert_eq!(numeric_target(PrecisionOnly, 10, 2), NumericTarget::Decimal);
    }
}
