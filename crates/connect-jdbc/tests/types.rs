//! Type mapping both ways against a real PostgreSQL: every PostgreSQL type of the digest →
//! Connect schema and value (source), every Connect type → column type and back (sink, then
//! source).

mod common;

use std::collections::HashMap;
use std::str::FromStr;

use common::{poll_records, props, Postgres};
use rafka_connect_data::data::{DATE_NAME, DECIMAL_NAME, TIMESTAMP_NAME, TIME_NAME};
use rafka_connect_data::logical;
use rafka_connect_data::{
    ConnectRecord, Decimal, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value,
};
use rafka_connect_jdbc::{JdbcSinkConfig, JdbcSinkWriter, JdbcSourceConfig, JdbcSourceTask};

async fn bulk_read(
    pg: &Postgres,
    table: &str,
    extra: &[(&str, &str)],
    count: usize,
) -> Vec<ConnectRecord> {
    let mut p: HashMap<String, String> = props(&[
        ("connection.url", &pg.url()),
        ("mode", "bulk"),
        ("poll.interval.ms", "10"),
        ("tables", &format!("\"rafka\".\"public\".\"{table}\"")),
    ]);
    p.extend(props(extra));
    let mut task = JdbcSourceTask::start(JdbcSourceConfig::from_props(&p).unwrap(), &[])
        .await
        .unwrap();
    poll_records(&mut task, count).await
}

fn fields(record: &ConnectRecord) -> &Struct {
    match &record.value {
        Value::Struct(s) => s,
        other => panic!("{other:?}"),
    }
}

/// (type, logical name, optional) of a field.
fn shape(schema: &SchemaRef, field: &str) -> (Type, Option<String>, bool) {
    let s = schema
        .field(field)
        .unwrap_or_else(|| panic!("no field {field}"))
        .schema();
    (
        s.schema_type(),
        s.name().map(str::to_string),
        s.is_optional(),
    )
}

fn dec(text: &str) -> Value {
    Value::Decimal(Decimal::from_str(text).unwrap())
}

#[tokio::test]
async fn every_postgresql_type_maps_to_confluents_connect_type() {
    let pg = Postgres::start().await;
    let db = pg.client().await;
    db.batch_execute(
        "create table everything(
            c_int2 int2 not null, c_int4 int4, c_int8 int8, c_float4 float4, c_float8 float8,
            c_numeric numeric(10,2), c_numeric_free numeric, c_bool bool, c_bit1 bit(1), c_bit4 bit(4), c_bit16 bit(16),
            c_char char(3), c_varchar varchar(10), c_text text, c_json json, c_jsonb jsonb, c_uuid uuid, c_xml xml,
            c_bytea bytea, c_date date, c_time time, c_timetz timetz, c_ts timestamp, c_tstz timestamptz,
            c_int_arr int4[], c_text_arr text[], c_interval interval);
         insert into everything values (1, -2147483648, 9223372036854775807, 1.5, -2.25,
            12345678.91, 4.000, true, B'1', B'1010', B'1000000000000001',
            'ab', 'hello', 'wörld', '{\"b\": 1, \"a\": [1,2]}', '{\"b\": 1, \"a\": 2}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '<a/>',
            '\\xdeadbeef', '2024-05-04', '12:34:56.789', '12:00:00+02', '2024-05-04 12:00:00.123456', '2024-05-04 12:00:00+02',
            '{1,NULL,3}', '{a,b}', '1 day');
         insert into everything(c_int2) values (2);",
    )
    .await
    .unwrap();
    let records = bulk_read(&pg, "everything", &[], 2).await;
    let schema = records[0].value_schema.clone().unwrap();
    assert_eq!(schema.name(), Some("everything"));
    let expect = [
        ("c_int2", Type::Int16, None, false),
        ("c_int4", Type::Int32, None, true),
        ("c_int8", Type::Int64, None, true),
        ("c_float4", Type::Float32, None, true),
        ("c_float8", Type::Float64, None, true),
        ("c_numeric", Type::Bytes, Some(DECIMAL_NAME), true),
        ("c_numeric_free", Type::Bytes, Some(DECIMAL_NAME), true),
        ("c_bool", Type::Boolean, None, true),
        ("c_bit1", Type::Boolean, None, true),
        ("c_bit4", Type::Int8, None, true),
        ("c_bit16", Type::Bytes, None, true),
        ("c_char", Type::String, None, true),
        ("c_varchar", Type::String, None, true),
        ("c_text", Type::String, None, true),
        ("c_json", Type::String, None, true),
        ("c_jsonb", Type::String, None, true),
        ("c_uuid", Type::String, None, true),
        ("c_xml", Type::String, None, true),
        ("c_bytea", Type::Bytes, None, true),
        ("c_date", Type::Int32, Some(DATE_NAME), true),
        ("c_time", Type::Int32, Some(TIME_NAME), true),
        ("c_timetz", Type::Int32, Some(TIME_NAME), true),
        ("c_ts", Type::Int64, Some(TIMESTAMP_NAME), true),
        ("c_tstz", Type::Int64, Some(TIMESTAMP_NAME), true),
        ("c_int_arr", Type::Array, None, true),
        ("c_text_arr", Type::Array, None, true),
    ];
    for (field, ty, name, optional) in expect {
        assert_eq!(
            shape(&schema, field),
            (ty, name.map(str::to_string), optional),
            "{field}"
        );
    }
    // interval has no Connect mapping: Confluent leaves such columns out.
    assert!(schema.field("c_interval").is_none());
    assert_eq!(schema.fields().len(), expect.len());
    let numeric = schema.field("c_numeric").unwrap().schema();
    assert_eq!(
        numeric
            .parameters()
            .unwrap()
            .get("scale")
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(
        numeric
            .parameters()
            .unwrap()
            .get("connect.decimal.precision")
            .map(String::as_str),
        Some("10")
    );
    let array = schema
        .field("c_int_arr")
        .unwrap()
        .schema()
        .value_schema()
        .unwrap()
        .clone();
    assert_eq!(
        (array.schema_type(), array.is_optional()),
        (Type::Int32, true)
    );

    let row = fields(&records[0]);
    let values = [
        ("c_int2", Value::Int16(1)),
        ("c_int4", Value::Int32(i32::MIN)),
        ("c_int8", Value::Int64(i64::MAX)),
        ("c_float4", Value::Float32(1.5)),
        ("c_float8", Value::Float64(-2.25)),
        ("c_numeric", dec("12345678.91")),
        // An unconstrained numeric has scale 0 (as the JDBC driver reports it); 4.000 fits.
        ("c_numeric_free", dec("4")),
        ("c_bool", Value::Boolean(true)),
        ("c_bit1", Value::Boolean(true)),
        ("c_bit4", Value::Int8(10)),
        ("c_bit16", Value::Bytes(vec![0x80, 0x01])),
        ("c_char", Value::string("ab ")),
        ("c_varchar", Value::string("hello")),
        ("c_text", Value::string("wörld")),
        ("c_json", Value::string(r#"{"b": 1, "a": [1,2]}"#)),
        ("c_jsonb", Value::string(r#"{"a": 2, "b": 1}"#)),
        (
            "c_uuid",
            Value::string("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ),
        ("c_xml", Value::string("<a/>")),
        ("c_bytea", Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
        ("c_date", Value::Date(19847 * 86_400_000)),
        ("c_time", Value::Date(45_296_789)),
        ("c_timetz", Value::Date(36_000_000)),
        ("c_ts", Value::Date(1_714_824_000_123)),
        ("c_tstz", Value::Date(1_714_816_800_000)),
        (
            "c_int_arr",
            Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)]),
        ),
        (
            "c_text_arr",
            Value::Array(vec![Value::string("a"), Value::string("b")]),
        ),
    ];
    for (field, value) in &values {
        assert_eq!(row.get(field).unwrap(), value, "{field}");
    }
    let nulls = fields(&records[1]);
    for (field, _) in values.iter().skip(1) {
        assert_eq!(nulls.get(field).unwrap(), &Value::Null, "{field}");
    }
}

#[tokio::test]
async fn an_unconstrained_numeric_with_a_fraction_is_refused_not_rounded() {
    let pg = Postgres::start().await;
    pg.client()
        .await
        .batch_execute("create table free(v numeric); insert into free values (3.7)")
        .await
        .unwrap();
    let mut p: HashMap<String, String> = props(&[
        ("connection.url", &pg.url()),
        ("mode", "bulk"),
        ("tables", "\"rafka\".\"public\".\"free\""),
    ]);
    p.insert("poll.interval.ms".into(), "10".into());
    let mut task = JdbcSourceTask::start(JdbcSourceConfig::from_props(&p).unwrap(), &[])
        .await
        .unwrap();
    let err = task.poll().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "BigDecimal has mismatching scale value for given Decimal schema"
    );
}

#[tokio::test]
async fn numeric_mapping_best_fit_and_precision_only() {
    let pg = Postgres::start().await;
    pg.client().await.batch_execute("create table n(a numeric(5,0), b numeric(10,2), c numeric(18,0), d numeric(20,0), e numeric(2)); insert into n values (12345, 1.25, 123456789012345678, 1, 42)").await.unwrap();
    let best = bulk_read(&pg, "n", &[("numeric.mapping", "best_fit")], 1).await;
    let row = fields(&best[0]);
    assert_eq!(row.get("a").unwrap(), &Value::Int32(12345));
    assert_eq!(row.get("b").unwrap(), &Value::Float64(1.25));
    assert_eq!(row.get("c").unwrap(), &Value::Int64(123456789012345678));
    assert_eq!(row.get("d").unwrap(), &dec("1"));
    assert_eq!(row.get("e").unwrap(), &Value::Int8(42));
    let precision = bulk_read(&pg, "n", &[("numeric.mapping", "precision_only")], 1).await;
    let row = fields(&precision[0]);
    assert_eq!(row.get("a").unwrap(), &Value::Int32(12345));
    assert_eq!(row.get("b").unwrap(), &dec("1.25"));
}

#[tokio::test]
async fn every_connect_type_round_trips_through_an_auto_created_table() {
    let pg = Postgres::start().await;
    let schema = SchemaBuilder::struct_()
        .field("i8", SchemaBuilder::int8().build())
        .unwrap()
        .field("i16", SchemaBuilder::int16().build())
        .unwrap()
        .field("i32", SchemaBuilder::int32().build())
        .unwrap()
        .field("i64", SchemaBuilder::int64().build())
        .unwrap()
        .field("f32", SchemaBuilder::float32().build())
        .unwrap()
        .field("f64", SchemaBuilder::float64().build())
        .unwrap()
        .field("flag", SchemaBuilder::bool().build())
        .unwrap()
        .field("text", SchemaBuilder::string().build())
        .unwrap()
        .field("blob", SchemaBuilder::bytes().build())
        .unwrap()
        .field("amount", logical::decimal(0).build())
        .unwrap()
        .field("day", logical::date().build())
        .unwrap()
        .field("clock", logical::time().build())
        .unwrap()
        .field("at", logical::timestamp().build())
        .unwrap()
        .field(
            "ints",
            SchemaBuilder::array(SchemaBuilder::int32().optional().build()).build(),
        )
        .unwrap()
        .field(
            "words",
            SchemaBuilder::array(SchemaBuilder::string().optional().build()).build(),
        )
        .unwrap()
        .field("maybe", SchemaBuilder::string().optional().build())
        .unwrap()
        .build();
    let values = [
        ("i8", Value::Int8(-8)),
        ("i16", Value::Int16(-16)),
        ("i32", Value::Int32(32)),
        ("i64", Value::Int64(-64_000_000_000)),
        ("f32", Value::Float32(3.25)),
        ("f64", Value::Float64(6.5e100)),
        ("flag", Value::Boolean(true)),
        ("text", Value::string("it's \"quoted\"; drop table x")),
        ("blob", Value::Bytes(vec![0, 1, 255])),
        ("amount", dec("-12345678901234567890")),
        ("day", Value::Date(19847 * 86_400_000)),
        ("clock", Value::Date(45_296_789)),
        ("at", Value::Date(1_714_824_000_123)),
        ("ints", Value::Array(vec![Value::Int32(1), Value::Null])),
        (
            "words",
            Value::Array(vec![Value::string("x"), Value::string("y,z")]),
        ),
        ("maybe", Value::Null),
    ];
    let mut s = Struct::new(schema.clone()).unwrap();
    for (field, value) in &values {
        s.put(field, value.clone()).unwrap();
    }
    let mut p = props(&[("connection.url", &pg.url()), ("auto.create", "true")]);
    p.insert("name".into(), "sink".into());
    let mut writer = JdbcSinkWriter::new(JdbcSinkConfig::from_props(&p).unwrap());
    writer
        .put(&[ConnectRecord::sink(
            "roundtrip",
            0,
            0,
            SchemaAndValue::new(None, Value::Null),
            SchemaAndValue::new(Some(schema.clone()), Value::Struct(s)),
        )])
        .await
        .unwrap();

    let column_types: Vec<String> = pg
        .client()
        .await
        .query("select format_type(atttypid, atttypmod) from pg_attribute where attrelid = 'roundtrip'::regclass and attnum > 0 order by attnum", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        column_types,
        vec![
            "smallint",
            "smallint",
            "integer",
            "bigint",
            "real",
            "double precision",
            "boolean",
            "text",
            "bytea",
            "numeric",
            "date",
            "time without time zone",
            "timestamp without time zone",
            "integer[]",
            "text[]",
            "text",
        ]
    );

    let back = bulk_read(&pg, "roundtrip", &[], 1).await;
    let row = fields(&back[0]);
    for (field, value) in &values {
        // INT8 has no PostgreSQL type of its own: it comes back from SMALLINT as INT16.
        let expected = match value {
            Value::Int8(v) => Value::Int16(i16::from(*v)),
            other => other.clone(),
        };
        assert_eq!(row.get(field).unwrap(), &expected, "{field}");
    }
}

#[tokio::test]
async fn decimals_bind_into_an_existing_numeric_column_exactly() {
    let pg = Postgres::start().await;
    pg.client()
        .await
        .batch_execute(
            "create table prices(id int primary key, price numeric(10,2) not null, ts timestamptz)",
        )
        .await
        .unwrap();
    let schema = SchemaBuilder::struct_()
        .field("id", SchemaBuilder::int32().build())
        .unwrap()
        .field("price", logical::decimal(2).build())
        .unwrap()
        .field("ts", logical::timestamp().optional().build())
        .unwrap()
        .build();
    let mut s = Struct::new(schema.clone()).unwrap();
    s.put("id", Value::Int32(1)).unwrap();
    s.put("price", dec("-99999999.99")).unwrap();
    s.put("ts", Value::Date(1_714_816_800_000)).unwrap();
    let p = props(&[("connection.url", &pg.url()), ("name", "s")]);
    JdbcSinkWriter::new(JdbcSinkConfig::from_props(&p).unwrap())
        .put(&[ConnectRecord::sink(
            "prices",
            0,
            0,
            SchemaAndValue::new(None, Value::Null),
            SchemaAndValue::new(Some(schema), Value::Struct(s)),
        )])
        .await
        .unwrap();
    let text: String = pg
        .client()
        .await
        .query_one(
            "select price::text || ' ' || (ts at time zone 'UTC')::text from prices",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(text, "-99999999.99 2024-05-04 10:00:00");
    let back = bulk_read(&pg, "prices", &[], 1).await;
    assert_eq!(fields(&back[0]).get("price").unwrap(), &dec("-99999999.99"));
    assert_eq!(
        fields(&back[0]).get("ts").unwrap(),
        &Value::Date(1_714_816_800_000)
    );
}
