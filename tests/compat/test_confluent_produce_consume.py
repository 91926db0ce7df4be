"""Produce and consume with confluent-kafka (librdkafka), checking every record that
comes back. Consumers assign partitions explicitly and never commit: consumer groups
are not implemented yet, so nothing here may need a group coordinator."""

from __future__ import annotations

import pytest
from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, KafkaError, Producer,
                             TopicPartition)

from compat_helpers import (Rec, check_records, confluent_admin, confluent_consume,
                            confluent_consumer, confluent_create_topic, confluent_produce,
                            java_default_partition, now_ms, random_bytes, record_headers,
                            record_key, record_value, topic_name, wait_until)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
RECORDS_PER_CODEC = 100_000
PARTITIONS = 3


@pytest.fixture(scope="module")
def admin(broker):
    return confluent_admin(broker.bootstrap)


def keyed_items(prefix: str, n: int, base_ts: int, with_null_header: bool = True):
    for i in range(n):
        yield dict(key=record_key(i), value=record_value(prefix, i),
                   headers=record_headers(prefix, i, with_null_header), timestamp=base_ts + i)


def end_offsets_from(reports) -> dict[int, int]:
    ends: dict[int, int] = {}
    for _, err, partition, offset in reports:
        assert err is None, f"delivery failed: {err}"
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends


@pytest.mark.parametrize("codec", CODECS)
def test_keyed_records_with_headers_round_trip_per_codec(broker, admin, codec):
    topic = topic_name(f"cf-{codec}")
    confluent_create_topic(admin, topic, PARTITIONS)
    base_ts = now_ms() - 3_600_000
    reports = confluent_produce(
        broker.bootstrap, topic, keyed_items(codec, RECORDS_PER_CODEC, base_ts),
        # murmur2_random is librdkafka's name for the Java client's default partitioner.
        {"compression.type": codec, "partitioner": "murmur2_random", "linger.ms": 10,
         "acks": "all"})
    assert len(reports) == RECORDS_PER_CODEC
    ends = end_offsets_from(reports)
    assert sum(ends.values()) == RECORDS_PER_CODEC, f"offsets in delivery reports: {ends}"

    records = confluent_consume(broker.bootstrap, topic, range(PARTITIONS), ends)
    check_records(records, codec, RECORDS_PER_CODEC, PARTITIONS, base_ts,
                  lambda key: java_default_partition(key, PARTITIONS), with_null_header=True)
    # The offsets the broker acknowledged are where the records are.
    where = {seq: (partition, offset) for seq, _, partition, offset in reports}
    for rec in records[:: 97]:
        assert where[int(rec.headers[0][1])] == (rec.partition, rec.offset)


def test_second_reader_sees_the_same_records(broker, admin):
    topic = topic_name("cf-two-readers")
    confluent_create_topic(admin, topic, PARTITIONS)
    base_ts = now_ms() - 60_000
    n = 20_000
    reports = confluent_produce(broker.bootstrap, topic, keyed_items("twice", n, base_ts),
                                {"partitioner": "murmur2_random", "compression.type": "lz4"})
    ends = end_offsets_from(reports)
    first = confluent_consume(broker.bootstrap, topic, range(PARTITIONS), ends)
    second = confluent_consume(broker.bootstrap, topic, range(PARTITIONS), ends,
                               **{"group.id": "another-reader"})
    check_records(first, "twice", n, PARTITIONS, base_ts, None, with_null_header=True)
    assert sorted(second, key=lambda r: (r.partition, r.offset)) == \
        sorted(first, key=lambda r: (r.partition, r.offset))
    c = confluent_consumer(broker.bootstrap)
    try:
        for p in range(PARTITIONS):
            assert c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) == (0, ends[p])
    finally:
        c.close()


def test_record_timestamps_and_types(broker, admin):
    """Explicit CreateTime timestamps come back exactly; without one the client's clock is used."""
    topic = topic_name("cf-ts")
    confluent_create_topic(admin, topic, 1)
    before = now_ms()
    confluent_produce(broker.bootstrap, topic, [
        dict(key=b"a", value=b"explicit", timestamp=1_600_000_000_123),
        dict(key=b"b", value=b"implicit"),
        dict(key=None, value=None),  # null key and a tombstone value
    ])
    after = now_ms()
    c = confluent_consumer(broker.bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = []
        wait_until(lambda: msgs.extend(m for m in c.consume(10, timeout=0.5) if not m.error())
                   or len(msgs) >= 3, 30, "3 records")
    finally:
        c.close()
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == \
        [(0, b"a", b"explicit"), (1, b"b", b"implicit"), (2, None, None)]
    assert msgs[0].timestamp() == (TIMESTAMP_CREATE_TIME, 1_600_000_000_123)
    ts_type, ts = msgs[1].timestamp()
    assert ts_type == TIMESTAMP_CREATE_TIME and before <= ts <= after


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_each_acks_level_delivers(broker, admin, acks):
    topic = topic_name(f"cf-acks{acks}")
    confluent_create_topic(admin, topic, 1)
    n = 5_000
    reports = confluent_produce(
        broker.bootstrap, topic,
        (dict(key=b"k%d" % i, value=b"acks-%s-%d" % (acks.encode(), i)) for i in range(n)),
        {"acks": acks, "linger.ms": 5})
    assert len(reports) == n and all(err is None for _, err, _, _ in reports)
    if acks == "0":
        # No response, so no offsets; the data must still become readable.
        c = confluent_consumer(broker.bootstrap)
        try:
            wait_until(lambda: c.get_watermark_offsets(TopicPartition(topic, 0), timeout=5,
                                                       cached=False)[1] >= n,
                       30, f"high watermark {n} after acks=0 produce")
        finally:
            c.close()
    else:
        assert sorted(off for _, _, _, off in reports) == list(range(n))
    records = confluent_consume(broker.bootstrap, topic, [0], {0: n})
    assert [(r.offset, r.key, r.value) for r in records] == \
        [(i, b"k%d" % i, b"acks-%s-%d" % (acks.encode(), i)) for i in range(n)]


def test_message_larger_than_topic_max_message_bytes_is_rejected(broker, admin):
    topic = topic_name("cf-too-large")
    confluent_create_topic(admin, topic, 1, {"max.message.bytes": "10000"})
    # The client's own limit is far above the topic's, so the broker has to refuse.
    reports = confluent_produce(
        broker.bootstrap, topic, [dict(value=random_bytes(20_000))],
        {"message.max.bytes": 1_000_000, "compression.type": "none", "retries": 0})
    (_, err, _, _), = reports
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, f"got {err}"
    # A record under the limit still goes through, at offset 0.
    reports = confluent_produce(broker.bootstrap, topic, [dict(value=b"x" * 5_000)],
                                {"compression.type": "none"})
    assert [(err, off) for _, err, _, off in reports] == [(None, 0)]


def test_fetch_past_the_end_resets_to_earliest(broker, admin):
    topic = topic_name("cf-oor")
    confluent_create_topic(admin, topic, 1)
    confluent_produce(broker.bootstrap, topic, (dict(value=b"v%d" % i) for i in range(10)))
    records = confluent_consume(broker.bootstrap, topic, [0], {0: 10}, start=1_000,
                                **{"auto.offset.reset": "earliest"})
    assert [(r.offset, r.value) for r in records] == [(i, b"v%d" % i) for i in range(10)]


def test_fetch_past_the_end_with_reset_error_reports_out_of_range(broker, admin):
    topic = topic_name("cf-oor-err")
    confluent_create_topic(admin, topic, 1)
    confluent_produce(broker.bootstrap, topic, (dict(value=b"v%d" % i) for i in range(10)))
    c = confluent_consumer(broker.bootstrap, **{"auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, 0, 1_000)])
        errors = []

        def got_error():
            for m in c.consume(10, timeout=0.5):
                assert m.error() is not None, f"unexpected record at offset {m.offset()}"
                errors.append(m.error())
            return any(e.code() == KafkaError._AUTO_OFFSET_RESET for e in errors)
        wait_until(got_error, 30, "an auto.offset.reset error")
    finally:
        c.close()
    err = next(e for e in errors if e.code() == KafkaError._AUTO_OFFSET_RESET)
    assert "out of range" in err.str().lower() or "OFFSET_OUT_OF_RANGE" in err.str(), err.str()


def test_consume_from_a_middle_offset(broker, admin):
    topic = topic_name("cf-mid")
    confluent_create_topic(admin, topic, 1)
    confluent_produce(broker.bootstrap, topic, (dict(value=b"v%d" % i) for i in range(1000)),
                      {"linger.ms": 50})
    records = confluent_consume(broker.bootstrap, topic, [0], {0: 1000}, start=567)
    assert [(r.offset, r.value) for r in records] == [(i, b"v%d" % i) for i in range(567, 1000)]


def test_produce_to_unknown_topic_auto_creates_it(broker):
    topic = topic_name("cf-auto")
    p = Producer({"bootstrap.servers": broker.bootstrap})
    reports = []
    p.produce(topic, b"auto", on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    assert p.flush(30) == 0
    assert reports == [(None, 0)]
    records = confluent_consume(broker.bootstrap, topic, [0], {0: 1})
    assert [r.value for r in records] == [b"auto"]
    assert isinstance(records[0], Rec)
