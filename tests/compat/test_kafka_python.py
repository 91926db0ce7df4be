"""The same checks through kafka-python, a pure-Python client with its own protocol code.

API version detection is left to the client (no `api_version=` pin): it picks the broker
version from our ApiVersions answer, which is part of what is tested.

Producers keep kafka-python 3's default: idempotence on (InitProducerId), as the Java
client since Kafka 3.0.
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient, OffsetSpec,
                         OffsetTimestamp)
from kafka import errors as Errors

from compat_helpers import (Rec, check_records, confluent_consume, confluent_produce,
                            java_default_partition, kp_consume, now_ms, random_bytes,
                            record_headers, record_key, record_value, topic_name, wait_until)

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]
# kafka-python encodes and decodes every record in Python (~20k records/s each way on a
# 2-core machine): 100k per codec, as librdkafka gets, costs ~10 s per codec, so it gets
# half that to keep the compat run to a couple of minutes.
RECORDS_PER_CODEC = 50_000
PARTITIONS = 3


@pytest.fixture(scope="module")
def admin(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15_000)
    yield client
    client.close()


def create(admin, name: str, partitions: int = 1, configs: dict | None = None) -> None:
    admin.create_topics({name: {"num_partitions": partitions, "replication_factor": 1,
                                "configs": configs or {}}})
    admin.wait_for_topics([name], timeout_ms=15_000)


def producer(broker, **conf) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=broker.bootstrap, **conf)


def send_all(p: KafkaProducer, topic: str, items) -> list:
    """Send `items` (kwargs for send); return RecordMetadata in item order."""
    futures = [p.send(topic, **item) for item in items]
    p.flush(timeout=120)
    return [f.get(timeout=30) for f in futures]


def partition_counts(admin, topic: str) -> int:
    (t,) = admin.describe_topics([topic])
    return len(t["partitions"])


def test_client_detects_a_recent_broker_version(broker):
    p = producer(broker)  # bootstraps and resolves the version in the constructor
    try:
        version = p.config["api_version"]
    finally:
        p.close()
    # Kafka 4.x API ranges are advertised, so detection must land on a 3.x/4.x broker
    # (record-batch v2, headers, zstd); anything older means ApiVersions is off.
    assert tuple(version) >= (2, 1), f"kafka-python detected broker version {version}"


def test_create_list_describe_delete_topics(broker, admin):
    names = {topic_name("kp-admin-a"): 1, topic_name("kp-admin-b"): 4}
    result = admin.create_topics({n: {"num_partitions": p, "replication_factor": 1}
                                  for n, p in names.items()})
    assert sorted(t["name"] for t in result["topics"]) == sorted(names)
    assert all(t["error_code"] == 0 for t in result["topics"])
    admin.wait_for_topics(list(names), timeout_ms=15_000)

    assert set(names) <= set(admin.list_topics())
    described = {t["name"]: t for t in admin.describe_topics(list(names))}
    for n, p in names.items():
        assert described[n]["error_code"] == 0
        parts = sorted(described[n]["partitions"], key=lambda x: x["partition_index"])
        assert [x["partition_index"] for x in parts] == list(range(p))
        assert all(x["leader_id"] == broker.node_id for x in parts)
        assert all(x["replica_nodes"] == [broker.node_id] and x["isr_nodes"] == [broker.node_id]
                   for x in parts)

    doomed = sorted(names)[0]
    result = admin.delete_topics([doomed])
    assert [(t["name"], t["error_code"]) for t in result["topics"]] == [(doomed, 0)]
    wait_until(lambda: doomed not in admin.list_topics(), 15, f"{doomed} gone from metadata")
    assert sorted(names)[1] in admin.list_topics()


def test_describe_cluster_and_log_dirs(broker, admin):
    cluster = admin.describe_cluster()
    assert [(b["broker_id"], b["host"], b["port"]) for b in cluster["brokers"]] == \
        [(broker.node_id, "127.0.0.1", broker.port)]
    assert cluster["cluster_id"]

    topic = topic_name("kp-logdirs")
    create(admin, topic, 2)
    p = producer(broker)
    try:
        send_all(p, topic, [dict(value=b"x" * 1000, partition=0) for _ in range(10)])
    finally:
        p.close()
    (answer,) = admin.describe_log_dirs({topic: [0, 1]})
    assert answer["broker"] == broker.node_id
    (log_dir,) = answer["log_dirs"]
    assert log_dir["error_code"] == 0
    assert log_dir["log_dir"] == str(broker.data_dir)
    (t,) = [t for t in log_dir["topics"] if t["name"] == topic]
    sizes = {p["partition_index"]: p["partition_size"] for p in t["partitions"]}
    assert sizes[1] == 0 and sizes[0] > 10 * 1000, sizes


def test_topic_configs_given_at_create_are_described(admin):
    topic = topic_name("kp-configs")
    wanted = {"retention.ms": "7200000", "cleanup.policy": "delete", "max.message.bytes": "3000000"}
    create(admin, topic, 1, wanted)
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    configs = described["topic"][topic]
    # The default filter keeps only modified (non-default) entries: exactly ours.
    assert {k: v["value"] for k, v in configs.items()} == wanted
    assert all(v["config_source"] == "DYNAMIC_TOPIC_CONFIG" for v in configs.values())


@pytest.mark.parametrize("bad_name,error", [
    ("bad name!", Errors.InvalidTopicError),
    ("x" * 250, Errors.InvalidTopicError),
])
def test_invalid_topic_names_are_refused(admin, bad_name, error):
    with pytest.raises(error):
        admin.create_topics({bad_name: {"num_partitions": 1, "replication_factor": 1}})


def test_existing_topic_and_zero_partitions_are_refused(admin):
    topic = topic_name("kp-exists")
    create(admin, topic, 1)
    with pytest.raises(Errors.TopicAlreadyExistsError):
        admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    with pytest.raises(Errors.InvalidPartitionsError):
        admin.create_topics({topic_name("kp-zero"): {"num_partitions": 0, "replication_factor": 1}})


@pytest.mark.parametrize("codec", CODECS)
def test_keyed_records_with_headers_round_trip_per_codec(broker, admin, codec):
    name = codec or "none"
    topic = topic_name(f"kp-{name}")
    create(admin, topic, PARTITIONS)
    base_ts = now_ms() - 3_600_000
    p = producer(broker, compression_type=codec, linger_ms=10, batch_size=256 * 1024, acks="all")
    try:
        metadata = send_all(p, topic, (
            dict(key=record_key(i), value=record_value(name, i), headers=record_headers(name, i),
                 timestamp_ms=base_ts + i) for i in range(RECORDS_PER_CODEC)))
    finally:
        p.close()
    ends: dict[int, int] = {}
    for md in metadata:
        ends[md.partition] = max(ends.get(md.partition, 0), md.offset + 1)
    assert sum(ends.values()) == RECORDS_PER_CODEC, ends

    records = kp_consume(broker.bootstrap, topic, range(PARTITIONS), ends)
    # kafka-python's DefaultPartitioner is Kafka's murmur2 partitioner.
    check_records(records, name, RECORDS_PER_CODEC, PARTITIONS, base_ts,
                  lambda key: java_default_partition(key, PARTITIONS))
    where = {(rec.partition, rec.offset): int(rec.headers[0][1]) for rec in records}
    assert all(where[(md.partition, md.offset)] == i for i, md in enumerate(metadata))


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_each_acks_level_delivers(broker, admin, acks):
    topic = topic_name(f"kp-acks{acks}")
    create(admin, topic, 1)
    n = 2_000
    p = producer(broker, acks=acks, linger_ms=5)
    try:
        metadata = send_all(p, topic, (dict(key=b"k%d" % i, value=b"v%d" % i) for i in range(n)))
    finally:
        p.close()
    if acks != 0:
        assert [md.offset for md in metadata] == list(range(n))
    records = kp_consume(broker.bootstrap, topic, [0], {0: n})
    assert [(r.offset, r.key, r.value) for r in records] == [(i, b"k%d" % i, b"v%d" % i) for i in range(n)]


def test_message_larger_than_topic_max_message_bytes_is_rejected(broker, admin):
    topic = topic_name("kp-too-large")
    create(admin, topic, 1, {"max.message.bytes": "10000"})
    p = producer(broker, max_request_size=1_000_000, retries=0)
    try:
        with pytest.raises(Errors.MessageSizeTooLargeError):
            p.send(topic, value=random_bytes(20_000)).get(timeout=30)
        assert p.send(topic, value=b"y" * 5_000).get(timeout=30).offset == 0
    finally:
        p.close()


def test_fetch_past_the_end(broker, admin):
    topic = topic_name("kp-oor")
    create(admin, topic, 1)
    p = producer(broker)
    try:
        send_all(p, topic, [dict(value=b"v%d" % i) for i in range(10)])
    finally:
        p.close()
    tp = TopicPartition(topic, 0)

    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        c.assign([tp])
        c.seek(tp, 1_000)
        got: list = []
        wait_until(lambda: got.extend(c.poll(timeout_ms=500).get(tp, [])) or len(got) >= 10,
                   30, "records after the offset reset")
        assert [(r.offset, r.value) for r in got] == [(i, b"v%d" % i) for i in range(10)]
    finally:
        c.close()

    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, auto_offset_reset="none")
    try:
        c.assign([tp])
        c.seek(tp, 1_000)
        deadline = time.monotonic() + 15
        with pytest.raises(Errors.OffsetOutOfRangeError):
            while time.monotonic() < deadline:
                assert not c.poll(timeout_ms=500), "records fetched from offset 1000 of 10"
    finally:
        c.close()


def test_list_offsets_delete_records_and_create_partitions(broker, admin):
    topic = topic_name("kp-offsets")
    create(admin, topic, 1)
    base = now_ms() - 600_000
    p = producer(broker, linger_ms=100)
    try:
        send_all(p, topic, [dict(value=b"%d" % i, timestamp_ms=base + i * 1000) for i in range(50)])
    finally:
        p.close()
    tp = TopicPartition(topic, 0)

    def offset(spec):
        return admin.list_partition_offsets({tp: spec})[tp].offset
    assert offset(OffsetSpec.EARLIEST) == 0
    assert offset(OffsetSpec.LATEST) == 50
    assert offset(OffsetSpec.MAX_TIMESTAMP) == 49
    assert offset(OffsetTimestamp(base + 20_500)) == 21

    result = admin.delete_records({tp: 30})
    assert result[tp]["low_watermark"] == 30
    assert offset(OffsetSpec.EARLIEST) == 30
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        assert c.beginning_offsets([tp])[tp] == 30 and c.end_offsets([tp])[tp] == 50
    finally:
        c.close()
    records = kp_consume(broker.bootstrap, topic, [0], {0: 50})
    assert [r.offset for r in records] == list(range(30, 50))

    admin.create_partitions({topic: 3})
    wait_until(lambda: partition_counts(admin, topic) == 3, 15, "3 partitions")
    p = producer(broker)
    try:
        assert send_all(p, topic, [dict(value=b"p2", partition=2)])[0].offset == 0
    finally:
        p.close()
    with pytest.raises(Errors.InvalidPartitionsError):
        admin.create_partitions({topic: 2})


def test_records_cross_between_clients(broker, admin):
    """Bytes written by one client implementation are read intact by the other."""
    topic = topic_name("kp-cross")
    create(admin, topic, 2)
    base_ts = now_ms() - 1000
    n = 5_000
    p = producer(broker, compression_type="zstd")
    try:
        send_all(p, topic, (dict(key=record_key(i), value=record_value("kp", i),
                                 headers=record_headers("kp", i), timestamp_ms=base_ts + i)
                            for i in range(n)))
    finally:
        p.close()
    from_confluent = confluent_consume(broker.bootstrap, topic, [0, 1])
    check_records(from_confluent, "kp", n, 2, base_ts, lambda k: java_default_partition(k, 2))

    topic2 = topic_name("cf-cross")
    create(admin, topic2, 2)
    confluent_produce(broker.bootstrap, topic2, (
        dict(key=record_key(i), value=record_value("cf", i), headers=record_headers("cf", i),
             timestamp=base_ts + i) for i in range(n)),
        {"compression.type": "snappy", "partitioner": "murmur2_random"})
    from_kafka_python = kp_consume(broker.bootstrap, topic2, [0, 1])
    check_records(from_kafka_python, "cf", n, 2, base_ts, lambda k: java_default_partition(k, 2))
    assert isinstance(from_kafka_python[0], Rec)
