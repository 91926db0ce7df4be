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
    return values_of(bootstrap, topic, 0, isolation)


def values_of(bootstrap: str, topic: str, partition: int, isolation: str) -> list[str]:
    """A partition from the beginning until the consumer's position passes its end (aborted
    records and markers move the position without being returned)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name("reader"),
                         "enable.auto.commit": False, "isolation.level": isolation})
    try:
        tp = TopicPartition(topic, partition)
        _, end = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        out: list[str] = []
        deadline = time.monotonic() + 30
        while consumer.position([tp])[0].offset < end:
            assert time.monotonic() < deadline, f"stuck at {consumer.position([tp])}, end {end}"
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


def consume_transform_produce(bootstrap: str, source: str, sink: str, group: str,
                              transactional_id: str, total: int, per_txn: int = 20,
                              on_transaction=None) -> tuple[int, int]:
    """librdkafka's exactly-once loop: read `source` (read_committed) in `group`, write each
    value upper-cased to `sink` and the consumed offsets into the same transaction; every
    fifth transaction is aborted and its input re-read. Survives a broker kill: an
    abortable error aborts and rewinds to the committed offsets, a fatal one starts a new
    producer. `on_transaction(n)` runs before the n-th transaction. Returns (committed,
    aborted) transaction counts."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed"})
    consumer.subscribe([source])
    producer = txn_producer(bootstrap, transactional_id)
    committed_txns = aborted_txns = transactions = 0
    done = 0
    deadline = time.monotonic() + 240

    def committed():
        # After a kill the group's coordinator may have moved: librdkafka answers
        # NOT_COORDINATOR (retriable) while it looks the new one up.
        until = time.monotonic() + 60
        while True:
            try:
                return consumer.committed(consumer.assignment(), timeout=30)
            except KafkaException as e:
                if not e.args[0].retriable() or time.monotonic() > until:
                    raise
                consumer.poll(0.1)

    def rewind():
        for tp in committed():
            consumer.seek(TopicPartition(tp.topic, tp.partition,
                                         tp.offset if tp.offset >= 0 else 0))

    try:
        while done < total:
            assert time.monotonic() < deadline, f"stuck after {done} of {total} records"
            messages = [m for m in consumer.consume(per_txn, timeout=1.0) if m.error() is None]
            if not messages:
                continue
            transactions += 1
            if on_transaction:
                on_transaction(transactions)
            try:
                producer.begin_transaction()
                for m in messages:
                    producer.produce(sink, value=m.value().upper(), partition=m.partition())
                positions = consumer.position(consumer.assignment())
                producer.send_offsets_to_transaction(positions,
                                                     consumer.consumer_group_metadata(), 30)
                if transactions % 5 == 0:
                    producer.flush(30)
                    producer.abort_transaction(30)
                    aborted_txns += 1
                    rewind()
                else:
                    producer.commit_transaction(30)
                    committed_txns += 1
                    done += len(messages)
            except KafkaException as e:
                error = e.args[0]
                if error.txn_requires_abort():
                    producer.abort_transaction(30)
                elif error.fatal() or not error.retriable():
                    producer = txn_producer(bootstrap, transactional_id)
                rewind()
        return committed_txns, aborted_txns
    finally:
        consumer.close()


def test_consume_transform_produce_writes_each_input_once(txn_broker):
    bootstrap = txn_broker.bootstrap
    source, sink = topic_name("eos-in"), topic_name("eos-out")
    admin = confluent_admin(bootstrap)
    confluent_create_topic(admin, source, 2)
    confluent_create_topic(admin, sink, 2)
    total = 400
    feeder = Producer({"bootstrap.servers": bootstrap})
    for i in range(total):
        feeder.produce(source, value=b"v%04d" % i, partition=i % 2)
    assert feeder.flush(30) == 0
    committed, aborted = consume_transform_produce(bootstrap, source, sink, topic_name("eos-group"),
                                                   topic_name("eos-id"), total)
    assert committed > 0 and aborted > 0
    out = []
    for p in (0, 1):
        out += values_of(bootstrap, sink, p, "read_committed")
    assert sorted(out) == sorted(f"V{i:04d}" for i in range(total)), "each input exactly once"
    everything = values_of(bootstrap, sink, 0, "read_uncommitted") + values_of(bootstrap, sink, 1, "read_uncommitted")
    assert len(everything) > len(out), "the aborted transactions' records are in the log"
