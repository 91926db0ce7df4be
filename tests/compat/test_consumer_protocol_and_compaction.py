"""The new consumer protocol (KIP-848, `group.protocol=consumer` in librdkafka) and log
compaction, through real clients against a real broker."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from compat_helpers import topic_name, wait_until
from conftest import _broker

SETTINGS = {
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "3",
    "group.consumer.heartbeat.interval.ms": "300",
    "group.consumer.session.timeout.ms": "6000",
    "log.cleaner.backoff.ms": "200",
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from _broker(tmp_path_factory.mktemp("rafka-kip848"), SETTINGS)


def create(bootstrap: str, name: str, partitions: int, config: dict[str, str] | None = None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, config=config or {})])
    for f in futures.values():
        f.result(timeout=15)


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)
    assert producer.flush(60) == 0


def consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })


def assigned(c: Consumer) -> set[int]:
    return {tp.partition for tp in c.assignment()}


def test_consumer_protocol_members_split_partitions_and_rebalance(broker):
    topic = topic_name("kip848")
    create(broker.bootstrap, topic, 6)
    members = [consumer(broker.bootstrap, "g-kip848") for _ in range(3)]
    for m in members:
        m.subscribe([topic])
    seen: dict[bytes, int] = {}

    def poll_all():
        for m in members:
            msg = m.poll(0.05)
            if msg is not None and msg.error() is None:
                seen[msg.value()] = seen.get(msg.value(), 0) + 1
        sets = [assigned(m) for m in members]
        disjoint = sum(len(s) for s in sets) == len(set().union(*sets))
        assert disjoint, f"a partition is assigned twice: {sets}"
        return sets

    wait_until(lambda: all(len(s) == 2 for s in poll_all()), timeout_s=60,
               what="three members with two partitions each")
    # Produced once the assignment is settled: with no commit yet, a record read before a
    # partition moved would legitimately be read again by its next owner.
    produce(broker.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(600)])
    wait_until(lambda: poll_all() and len(seen) == 600, timeout_s=60, what="all 600 records")
    assert all(count == 1 for count in seen.values()), "no record read twice"
    for m in members:
        m.commit(asynchronous=False)

    # One member leaves: the other two take over all six partitions.
    members.pop().close()

    def two_cover_all():
        for m in members:
            m.poll(0.05)
        sets = [assigned(m) for m in members]
        return set().union(*sets) == set(range(6)) and sum(len(s) for s in sets) == 6

    wait_until(two_cover_all, timeout_s=60, what="the remaining members to cover all partitions")
    for m in members:
        m.close()
    check = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g-kip848"})
    committed = check.committed([TopicPartition(topic, p) for p in range(6)], timeout=15)
    low_high = [check.get_watermark_offsets(TopicPartition(topic, p), timeout=15) for p in range(6)]
    assert [tp.offset for tp in committed] == [high for _, high in low_high]
    check.close()


def test_consumer_protocol_group_is_listed_as_consumer_type(broker):
    topic = topic_name("kip848-list")
    create(broker.bootstrap, topic, 2)
    member = consumer(broker.bootstrap, "g-kip848-list")
    member.subscribe([topic])
    wait_until(lambda: member.poll(0.05) is None and len(assigned(member)) == 2, timeout_s=30,
               what="the member to get both partitions")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    listed = {g.group_id: g for g in admin.list_consumer_groups().result(timeout=15).valid}
    assert "g-kip848-list" in listed
    assert str(listed["g-kip848-list"].type).lower().endswith("consumer")
    member.close()


def test_compaction_keeps_the_latest_value_per_key_and_drops_tombstones(broker):
    topic = topic_name("compacted")
    create(broker.bootstrap, topic, 1, {
        "cleanup.policy": "compact",
        "internal.segment.bytes": "16384",  # below segment.bytes's 1 MiB floor, as Kafka allows
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "500",
    })
    updates = [(f"key-{i % 1000}".encode(), f"value-{i}".encode()) for i in range(100_000)]
    # The last 100 keys end deleted (tombstones).
    deletes = [(f"key-{k}".encode(), None) for k in range(900, 1000)]
    produce(broker.bootstrap, topic, updates + deletes)
    # A few more records roll the segment holding the tombstones out of the active one.
    produce(broker.bootstrap, topic, [(b"filler", b"x" * 2000) for _ in range(20)])
    expected = {f"key-{k}".encode(): f"value-{99_000 + k}".encode() for k in range(900)}
    end = 100_000 + 100 + 20

    def read_all() -> list[tuple[int, bytes, bytes | None]]:
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                      "enable.auto.commit": False, "enable.partition.eof": True})
        c.assign([TopicPartition(topic, 0, 0)])
        out = []
        while True:
            msg = c.poll(5)
            assert msg is not None, "consumer stalled"
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                break
            out.append((msg.offset(), msg.key(), msg.value()))
        c.close()
        return out

    fillers = [20]

    def compacted_fully():
        records = read_all()
        keyed = [r for r in records if r[1] != b"filler"]
        tombstones = [r for r in keyed if r[2] is None]
        if len(keyed) == 900 and not tombstones:
            return records
        # A tombstone goes at a cleaning pass after its delete horizon, and passes run
        # when there is new dirty data (as in Kafka): keep writing a little.
        produce(broker.bootstrap, topic, [(b"filler", b"x" * 2000) for _ in range(10)])
        fillers[0] += 10
        return None

    records = wait_until(compacted_fully, timeout_s=90, interval_s=0.5,
                         what="the cleaner to keep one record per live key and drop tombstones")
    offsets = [r[0] for r in records]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    latest = {key: value for _, key, value in records if key != b"filler"}
    assert latest == expected
    # Offsets are preserved: each surviving value sits at the offset it was written at.
    for offset, key, value in records:
        if key != b"filler":
            assert value == f"value-{offset}".encode()
    low, high = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "u"}).get_watermark_offsets(
        TopicPartition(topic, 0), timeout=15)
    assert high == end - 20 + fillers[0]
