"""Transactions through librdkafka (confluent-kafka): commit and abort as read_committed
and read_uncommitted consumers see them, zombie fencing by a second producer with the
same transactional.id, and a hanging transaction aborted by its timeout.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from compat_helpers import confluent_admin, confluent_create_topic, topic_name, wait_until
from conftest import SMALL_SEGMENTS, _broker


@pytest.fixture(scope="module")
def txn_broker(tmp_path_factory):
    """Timed-out transactions are looked for every 200 ms, not every 10 s."""
    config = {**SMALL_SEGMENTS,
              "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
              "transaction.state.log.num.partitions": "5"}
    yield from _broker(tmp_path_factory.mktemp("rafka-txn"), config)


def txn_producer(bootstrap: str, transactional_id: str, **extra) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "linger.ms": 5, **extra})
    producer.init_transactions(30)
    return producer


def values(bootstrap: str, topic: str, isolation: str) -> list[str]:
    """Partition 0 from the beginning until the consumer's position passes its end (aborted
    records and markers move the position without being returned)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name("reader"),
                         "enable.auto.commit": False, "isolation.level": isolation})
    try:
        _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out: list[str] = []
        deadline = time.monotonic() + 30
        while consumer.position([TopicPartition(topic, 0)])[0].offset < end:
            assert time.monotonic() < deadline, f"stuck at {consumer.position([TopicPartition(topic, 0)])}, end {end}"
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                out.append(message.value().decode())
        return out
    finally:
        consumer.close()


def test_committed_records_are_seen_once_and_aborted_ones_only_uncommitted(txn_broker):
    bootstrap = txn_broker.bootstrap
    topic = topic_name("txn")
    confluent_create_topic(confluent_admin(bootstrap), topic, 1)
    producer = txn_producer(bootstrap, topic_name("txn-id"))
    expected_committed, expected_all = [], []
    for t in range(6):
        producer.begin_transaction()
        batch = [f"t{t}-{i}" for i in range(50)]
        for value in batch:
            producer.produce(topic, value=value.encode(), partition=0)
        producer.flush(30)  # sent, so an abort leaves them in the log
        expected_all += batch
        if t % 3 == 2:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
            expected_committed += batch
    committed = values(bootstrap, topic, "read_committed")
    assert committed == expected_committed
    assert values(bootstrap, topic, "read_uncommitted") == expected_all


def test_a_second_producer_with_the_same_id_fences_the_first(txn_broker):
    bootstrap = txn_broker.bootstrap
    topic = topic_name("fenced")
    confluent_create_topic(confluent_admin(bootstrap), topic, 1)
    transactional_id = topic_name("zombie")
    zombie = txn_producer(bootstrap, transactional_id)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"from the zombie", partition=0)
    zombie.flush(30)
    # The new incarnation aborts the zombie's open transaction and bumps the epoch.
    successor = txn_producer(bootstrap, transactional_id)
    with pytest.raises(KafkaException) as failed:
        zombie.commit_transaction(30)
    assert failed.value.args[0].fatal() or failed.value.args[0].code() in (
        KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)
    successor.begin_transaction()
    successor.produce(topic, value=b"from the successor", partition=0)
    successor.commit_transaction(30)
    assert values(bootstrap, topic, "read_committed") == ["from the successor"]
    assert values(bootstrap, topic, "read_uncommitted") == ["from the zombie", "from the successor"]


def test_a_hanging_transaction_is_aborted_by_its_timeout(txn_broker):
    bootstrap = txn_broker.bootstrap
    topic = topic_name("hanging")
    confluent_create_topic(confluent_admin(bootstrap), topic, 1)
    hanging = txn_producer(bootstrap, topic_name("hanging-id"),
                           **{"transaction.timeout.ms": 1000})
    hanging.begin_transaction()
    for i in range(10):
        hanging.produce(topic, value=b"h%d" % i, partition=0)
    hanging.flush(30)
    started = time.monotonic()
    # Without the coordinator's abort the last stable offset would stay at 0 for ever.
    lso = wait_until(lambda: high_lso(bootstrap, topic) == 11 or None, 30,
                     "the timed-out transaction's abort marker")
    assert lso and time.monotonic() - started >= 0.5
    assert values(bootstrap, topic, "read_committed") == []
    with pytest.raises(KafkaException):
        hanging.commit_transaction(10)


def high_lso(bootstrap: str, topic: str) -> int:
    """The partition's end offset as a read_committed consumer sees it (its LSO)."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lso-probe",
                         "isolation.level": "read_committed"})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
        return high
    finally:
        consumer.close()
