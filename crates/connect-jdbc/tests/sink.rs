//! The JDBC sink engine against a real PostgreSQL: auto.create/auto.evolve, insert modes,
//! pk modes, deletes, batching, retries and the records it refuses.

mod common;

use std::collections::HashMap;

use common::{props, Postgres};
use rafka_connect_data::{ConnectRecord, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Value};
use rafka_connect_jdbc::{JdbcSinkConfig, JdbcSinkWriter};

fn sink(pg: &Postgres, extra: &[(&str, &str)]) -> JdbcSinkWriter {
    let mut p: HashMap<String, String> = props(&[
        ("name", "jdbc-sink"),
        ("connection.url", &pg.url()),
        ("topics", "my_topic_users"),
    ]);
    p.extend(props(extra));
    JdbcSinkWriter::new(JdbcSinkConfig::from_props(&p).unwrap())
}

fn users_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("users")
        .field("id", SchemaBuilder::int32().build())
        .unwrap()
        .field("user_id", SchemaBuilder::string().build())
        .unwrap()
        .field("name", SchemaBuilder::string().optional().build())
        .unwrap()
        .build()
}

fn user(schema: &SchemaRef, id: i32, name: Option<&str>) -> Value {
    let mut s = Struct::new(schema.clone()).unwrap();
    s.put("id", Value::Int32(id)).unwrap();
    s.put("user_id", Value::string(format!("user{id}")))
        .unwrap();
    s.put("name", name.map(Value::string).unwrap_or(Value::Null))
        .unwrap();
    Value::Struct(s)
}

fn record(offset: i64, key: SchemaAndValue, schema: &SchemaRef, value: Value) -> ConnectRecord {
    ConnectRecord::sink(
        "my_topic_users",
        0,
        offset,
        key,
        SchemaAndValue::new(Some(schema.clone()), value),
    )
}

fn no_key() -> SchemaAndValue {
    SchemaAndValue::new(None, Value::Null)
}

async fn rows(pg: &Postgres, sql: &str) -> Vec<Vec<String>> {
    let db = pg.client().await;
    db.simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL").to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

async fn columns(pg: &Postgres, table: &str) -> Vec<Vec<String>> {
    rows(pg, &format!("select column_name, data_type, is_nullable from information_schema.columns where table_name = '{table}' order by ordinal_position")).await
}

#[tokio::test]
async fn auto_create_writes_the_seeds_my_topic_users_table() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let mut writer = sink(&pg, &[("auto.create", "true"), ("auto.evolve", "true")]);
    writer
        .put(&[
            record(0, no_key(), &schema, user(&schema, 1, Some("one"))),
            record(1, no_key(), &schema, user(&schema, 5, None)),
        ])
        .await
        .unwrap();
    assert_eq!(
        columns(&pg, "my_topic_users").await,
        vec![
            vec!["id", "integer", "NO"],
            vec!["user_id", "text", "NO"],
            vec!["name", "text", "YES"],
        ]
    );
    assert_eq!(
        rows(&pg, "select * from my_topic_users order by id").await,
        vec![vec!["1", "user1", "one"], vec!["5", "user5", "NULL"]]
    );
}

#[tokio::test]
async fn a_missing_table_without_auto_create_is_an_error() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let err = sink(&pg, &[])
        .put(&[record(0, no_key(), &schema, user(&schema, 1, None))])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Table "my_topic_users" is missing and auto-creation is disabled"#
    );
}

#[tokio::test]
async fn auto_evolve_adds_a_missing_nullable_column_and_never_drops() {
    let pg = Postgres::start().await;
    let v1 = users_schema();
    let mut writer = sink(&pg, &[("auto.create", "true"), ("auto.evolve", "true")]);
    writer
        .put(&[record(0, no_key(), &v1, user(&v1, 1, Some("one")))])
        .await
        .unwrap();
    let v2 = SchemaBuilder::struct_()
        .name("users")
        .field("id", SchemaBuilder::int32().build())
        .unwrap()
        .field("email", SchemaBuilder::string().optional().build())
        .unwrap()
        .build();
    let mut s = Struct::new(v2.clone()).unwrap();
    s.put("id", Value::Int32(2)).unwrap();
    s.put("email", Value::string("two@example.com")).unwrap();
    // user_id is NOT NULL in the table: give the new schema's records a way in first.
    pg.client()
        .await
        .batch_execute("alter table my_topic_users alter column user_id drop not null")
        .await
        .unwrap();
    writer
        .put(&[record(1, no_key(), &v2, Value::Struct(s))])
        .await
        .unwrap();
    assert_eq!(
        columns(&pg, "my_topic_users").await,
        vec![
            vec!["id", "integer", "NO"],
            vec!["user_id", "text", "YES"],
            vec!["name", "text", "YES"],
            vec!["email", "text", "YES"],
        ]
    );
    assert_eq!(
        rows(
            &pg,
            "select id, user_id, email from my_topic_users order by id"
        )
        .await,
        vec![
            vec!["1", "user1", "NULL"],
            vec!["2", "NULL", "two@example.com"]
        ]
    );

    // Without auto.evolve, or for a required field, Confluent's messages.
    let v3 = SchemaBuilder::struct_()
        .field("id", SchemaBuilder::int32().build())
        .unwrap()
        .field("age", SchemaBuilder::int16().optional().build())
        .unwrap()
        .build();
    let mut s = Struct::new(v3.clone()).unwrap();
    s.put("id", Value::Int32(3)).unwrap();
    let err = sink(&pg, &[])
        .put(&[record(2, no_key(), &v3, Value::Struct(s.clone()))])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Table "my_topic_users" is missing fields ([SinkRecordField{schema=Schema{INT16}, name='age', isPrimaryKey=false}]) and auto-evolution is disabled"#
    );
    let v4 = SchemaBuilder::struct_()
        .field("id", SchemaBuilder::int32().build())
        .unwrap()
        .field("score", SchemaBuilder::float64().build())
        .unwrap()
        .build();
    let mut s = Struct::new(v4.clone()).unwrap();
    s.put("id", Value::Int32(4)).unwrap();
    s.put("score", Value::Float64(1.5)).unwrap();
    let err = sink(&pg, &[("auto.evolve", "true")])
        .put(&[record(3, no_key(), &v4, Value::Struct(s))])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Cannot ALTER TABLE "my_topic_users" to add missing field SinkRecordField{schema=Schema{FLOAT64}, name='score', isPrimaryKey=false}, as the field is not optional and does not have a default value"#
    );
}

#[tokio::test]
async fn upsert_is_idempotent_and_updates_by_key() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    let batch: Vec<ConnectRecord> = (1..=3)
        .map(|i| record(i64::from(i), no_key(), &schema, user(&schema, i, Some("x"))))
        .collect();
    writer.put(&batch).await.unwrap();
    writer.put(&batch).await.unwrap();
    let expected = vec![
        vec!["1", "user1", "x"],
        vec!["2", "user2", "x"],
        vec!["3", "user3", "x"],
    ];
    assert_eq!(
        rows(&pg, "select * from my_topic_users order by id").await,
        expected
    );
    assert_eq!(rows(&pg, "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) where i.indrelid = 'my_topic_users'::regclass and i.indisprimary").await, vec![vec!["id"]]);
    writer
        .put(&[record(
            9,
            no_key(),
            &schema,
            user(&schema, 2, Some("changed")),
        )])
        .await
        .unwrap();
    assert_eq!(
        rows(&pg, "select name from my_topic_users where id = 2").await,
        vec![vec!["changed"]]
    );
    assert_eq!(
        rows(&pg, "select count(*) from my_topic_users").await,
        vec![vec!["3"]]
    );
}

#[tokio::test]
async fn upsert_with_only_key_columns_does_nothing_on_conflict() {
    let pg = Postgres::start().await;
    let schema = SchemaBuilder::struct_()
        .field("id", SchemaBuilder::int64().build())
        .unwrap()
        .build();
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
        ],
    );
    let mut s = Struct::new(schema.clone()).unwrap();
    s.put("id", Value::Int64(7)).unwrap();
    let r = record(0, no_key(), &schema, Value::Struct(s));
    writer.put(&[r.clone(), r]).await.unwrap();
    assert_eq!(
        rows(&pg, "select id from my_topic_users").await,
        vec![vec!["7"]]
    );
}

#[tokio::test]
async fn kafka_pk_mode_keys_rows_by_topic_partition_offset() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "kafka"),
        ],
    );
    let batch = vec![
        record(10, no_key(), &schema, user(&schema, 1, None)),
        record(11, no_key(), &schema, user(&schema, 1, Some("again"))),
    ];
    writer.put(&batch).await.unwrap();
    writer.put(&batch).await.unwrap();
    assert_eq!(
        columns(&pg, "my_topic_users").await,
        vec![
            vec!["__connect_topic", "text", "NO"],
            vec!["__connect_partition", "integer", "NO"],
            vec!["__connect_offset", "bigint", "NO"],
            vec!["id", "integer", "NO"],
            vec!["user_id", "text", "NO"],
            vec!["name", "text", "YES"],
        ]
    );
    assert_eq!(rows(&pg, "select __connect_topic, __connect_partition, __connect_offset, name from my_topic_users order by 3").await, vec![
        vec!["my_topic_users", "0", "10", "NULL"], vec!["my_topic_users", "0", "11", "again"],
    ]);
}

#[tokio::test]
async fn record_key_pk_mode_with_struct_and_primitive_keys_and_deletes() {
    let pg = Postgres::start().await;
    let value_schema = SchemaBuilder::struct_()
        .field("name", SchemaBuilder::string().optional().build())
        .unwrap()
        .build();
    let named = |name: &str| {
        let mut s = Struct::new(value_schema.clone()).unwrap();
        s.put("name", Value::string(name)).unwrap();
        Value::Struct(s)
    };
    // A primitive key needs exactly one pk.fields name.
    let key = |id: i64| SchemaAndValue::new(Some(SchemaBuilder::int64().build()), Value::Int64(id));
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("pk.fields", "uid"),
            ("delete.enabled", "true"),
        ],
    );
    writer
        .put(&[
            record(0, key(1), &value_schema, named("a")),
            record(1, key(2), &value_schema, named("b")),
        ])
        .await
        .unwrap();
    assert_eq!(
        rows(&pg, "select uid, name from my_topic_users order by uid").await,
        vec![vec!["1", "a"], vec!["2", "b"]]
    );
    let tombstone = ConnectRecord::sink(
        "my_topic_users",
        0,
        2,
        key(1),
        SchemaAndValue::new(None, Value::Null),
    );
    writer
        .put(&[tombstone, record(3, key(3), &value_schema, named("c"))])
        .await
        .unwrap();
    assert_eq!(
        rows(&pg, "select uid, name from my_topic_users order by uid").await,
        vec![vec!["2", "b"], vec!["3", "c"]]
    );

    let err = sink(&pg, &[("pk.mode", "record_key")])
        .put(&[record(0, key(1), &value_schema, named("a"))])
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: []");

    // A struct key: all its fields form the key.
    let key_schema = SchemaBuilder::struct_()
        .field("a", SchemaBuilder::int32().build())
        .unwrap()
        .field("b", SchemaBuilder::string().build())
        .unwrap()
        .build();
    let struct_key = |a: i32, b: &str| {
        let mut k = Struct::new(key_schema.clone()).unwrap();
        k.put("a", Value::Int32(a)).unwrap();
        k.put("b", Value::string(b)).unwrap();
        SchemaAndValue::new(Some(key_schema.clone()), Value::Struct(k))
    };
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("table.name.format", "kv_${topic}"),
        ],
    );
    writer
        .put(&[
            record(0, struct_key(1, "x"), &value_schema, named("first")),
            record(1, struct_key(1, "x"), &value_schema, named("second")),
        ])
        .await
        .unwrap();
    assert_eq!(
        rows(&pg, "select a, b, name from kv_my_topic_users").await,
        vec![vec!["1", "x", "second"]]
    );
}

#[tokio::test]
async fn update_mode_updates_existing_rows_only() {
    let pg = Postgres::start().await;
    pg.client().await.batch_execute("create table my_topic_users(id int primary key, user_id text, name text); insert into my_topic_users values (1, 'user1', 'old')").await.unwrap();
    let schema = users_schema();
    let mut writer = sink(
        &pg,
        &[
            ("insert.mode", "update"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    );
    writer
        .put(&[
            record(0, no_key(), &schema, user(&schema, 1, Some("new"))),
            record(1, no_key(), &schema, user(&schema, 2, Some("absent"))),
        ])
        .await
        .unwrap();
    assert_eq!(
        rows(&pg, "select * from my_topic_users").await,
        vec![vec!["1", "user1", "new"]]
    );
}

#[tokio::test]
async fn schemaless_values_are_refused_with_confluents_message() {
    let pg = Postgres::start().await;
    let mut r = ConnectRecord::sink(
        "my_topic_users",
        3,
        42,
        no_key(),
        SchemaAndValue::new(None, Value::string_map([("id", Value::Int64(1))])),
    );
    r.timestamp = Some(1700000000000);
    let err = sink(&pg, &[("auto.create", "true")])
        .put(&[r])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Sink connector 'jdbc-sink' is configured with 'delete.enabled=false' and 'pk.mode=none' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='my_topic_users',partition=3,offset=42,timestamp=1700000000000) with a HashMap value and null value schema."
    );
    let tombstone = ConnectRecord::sink(
        "my_topic_users",
        0,
        1,
        no_key(),
        SchemaAndValue::new(None, Value::Null),
    );
    let err = sink(
        &pg,
        &[
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("delete.enabled", "true"),
        ],
    )
    .put(&[tombstone])
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Sink connector 'jdbc-sink' is configured with 'delete.enabled=true' and 'pk.mode=record_key' and therefore requires records with a non-null key and non-null Struct or primitive key schema, but found record at (topic='my_topic_users',partition=0,offset=1,timestamp=null) with a null key and null key schema."
    );
}

#[tokio::test]
async fn small_batches_write_every_record() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let mut writer = sink(&pg, &[("auto.create", "true"), ("batch.size", "2")]);
    let batch: Vec<ConnectRecord> = (1..=5)
        .map(|i| record(i64::from(i), no_key(), &schema, user(&schema, i, None)))
        .collect();
    writer.put(&batch).await.unwrap();
    assert_eq!(
        rows(
            &pg,
            "select string_agg(id::text, ',' order by id) from my_topic_users"
        )
        .await,
        vec![vec!["1,2,3,4,5"]]
    );
}

#[tokio::test]
async fn a_failing_put_is_retried_then_rolled_back_whole() {
    let pg = Postgres::start().await;
    pg.client().await.batch_execute("create table my_topic_users(id int primary key, user_id text, name text); insert into my_topic_users values (2, 'user2', 'existing')").await.unwrap();
    let schema = users_schema();
    let mut writer = sink(&pg, &[("max.retries", "2"), ("retry.backoff.ms", "1")]);
    let batch = vec![
        record(0, no_key(), &schema, user(&schema, 1, None)),
        record(1, no_key(), &schema, user(&schema, 2, None)),
    ];
    let err = writer.put(&batch).await.unwrap_err();
    assert!(err.is_sql(), "{err}");
    assert!(format!("{:?}", err).contains("duplicate key"), "{err:?}");
    // Nothing of the batch was committed: row 1 is absent.
    assert_eq!(
        rows(&pg, "select id from my_topic_users order by id").await,
        vec![vec!["2"]]
    );
    // Once the conflict is gone, the same writer succeeds.
    pg.client()
        .await
        .batch_execute("delete from my_topic_users")
        .await
        .unwrap();
    writer.put(&batch).await.unwrap();
    assert_eq!(
        rows(&pg, "select id from my_topic_users order by id").await,
        vec![vec!["1"], vec!["2"]]
    );
}

#[tokio::test]
async fn fields_whitelist_and_unquoted_identifiers() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("fields.whitelist", "id,name"),
            ("quote.sql.identifiers", "never"),
            ("table.name.format", "Folded_${topic}"),
        ],
    );
    writer
        .put(&[record(0, no_key(), &schema, user(&schema, 1, Some("one")))])
        .await
        .unwrap();
    // Unquoted, PostgreSQL folds the name to lower case.
    assert_eq!(
        columns(&pg, "folded_my_topic_users").await,
        vec![vec!["id", "integer", "NO"], vec!["name", "text", "YES"]]
    );
    assert_eq!(
        rows(&pg, "select * from folded_my_topic_users").await,
        vec![vec!["1", "one"]]
    );
}

#[tokio::test]
async fn a_writer_outlives_a_database_restart() {
    let pg = Postgres::start().await;
    let schema = users_schema();
    let mut writer = sink(
        &pg,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("retry.backoff.ms", "100"),
        ],
    );
    writer
        .put(&[record(0, no_key(), &schema, user(&schema, 1, None))])
        .await
        .unwrap();
    pg.restart();
    writer
        .put(&[record(1, no_key(), &schema, user(&schema, 2, None))])
        .await
        .unwrap();
    assert_eq!(
        rows(&pg, "select id from my_topic_users order by id").await,
        vec![vec!["1"], vec!["2"]]
    );
}
