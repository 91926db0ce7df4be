"""Shared helpers for the compat tests: Kafka's partitioner, record generators, and
consume-until-the-end loops for both clients. Nothing here sleeps to wait: every wait
is a poll against a deadline."""

from __future__ import annotations

import itertools
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")

GROUP_ID = "rafka-compat-assign-only"  # librdkafka needs a group.id; we never join or commit


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


KAFKA_TOOLS_CLASSPATH = (Path(__file__).resolve().parents[2] / "tests" / "clients" / "kafka-tools"
                         / "target" / "classpath.txt")


def kafka_java_cmd() -> list[str]:
    """`java -cp <Apache Kafka 4.1.1's jars>`, to which a tool's main class and arguments
    are appended; fails the test when java or the classpath (scripts/setup-java.sh) is
    missing. The tools' warnings go to stderr through slf4j-simple."""
    import pytest
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        pytest.fail("java not found: install a JDK 17+ or set JAVA_HOME", pytrace=False)
    if not KAFKA_TOOLS_CLASSPATH.is_file():
        pytest.fail(f"{KAFKA_TOOLS_CLASSPATH} missing: run scripts/setup-java.sh", pytrace=False)
    return [java, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
            KAFKA_TOOLS_CLASSPATH.read_text().strip()]


def wait_until(check: Callable[[], T], timeout_s: float = 15.0, what: str = "condition",
               interval_s: float = 0.05) -> T:
    """Call `check` until it returns a truthy value (which is returned) or raise."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            raise  # a wrong answer is a failure, not "not yet"
        except Exception as e:  # noqa: BLE001 - client errors while the broker catches up
            last_error = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}"
                                 + (f"; last error: {last_error!r}" if last_error else ""))
        time.sleep(interval_s)


# -- Kafka's default partitioner -----------------------------------------------------

def murmur2(data: bytes) -> int:
    """org.apache.kafka.common.utils.Utils.murmur2, as a signed 32-bit int."""
    length = len(data)
    seed = 0x9747B28C
    m = 0x5BD1E995
    r = 24
    mask = 0xFFFFFFFF
    h = (seed ^ length) & mask
    for i in range(length // 4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = length & ~3
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_default_partition(key: bytes, num_partitions: int) -> int:
    """The partition Kafka's Java producer picks for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % num_partitions


# -- the records the produce/consume tests send --------------------------------------

@dataclass(frozen=True)
class Rec:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple
    timestamp: int


def record_key(i: int) -> bytes:
    # 997 distinct keys, so each key repeats ~100 times in 100k records.
    return f"key-{i % 997}".encode()


def record_value(prefix: str, i: int) -> bytes:
    # Compressible (repeats) but unique per record.
    return (f"{prefix}:{i:08d}|" * 8).encode()


def record_headers(prefix: str, i: int, with_null: bool = False) -> list[tuple[str, bytes | None]]:
    # Duplicate header keys are legal and keep their order. A null header value is
    # legal too, but only librdkafka round-trips it as None (kafka-python sends b"").
    headers = [("seq", str(i).encode()), ("prefix", prefix.encode()), ("dup", b"1"), ("dup", b"2")]
    if with_null:
        headers.append(("null", None))
    return headers


def seq_of(rec: Rec) -> int:
    for k, v in rec.headers:
        if k == "seq":
            return int(v)
    raise AssertionError(f"record without seq header: {rec}")


def check_records(records: list[Rec], prefix: str, n: int, num_partitions: int,
                  base_ts: int, expect_partition: Callable[[bytes], int] | None,
                  with_null_header: bool = False) -> None:
    """Assert that `records` are exactly records 0..n-1 as produced, keyed, in order."""
    assert len(records) == n, f"consumed {len(records)} records, produced {n}"
    by_partition: dict[int, list[Rec]] = {}
    for rec in records:
        by_partition.setdefault(rec.partition, []).append(rec)
    seen = set()
    key_partition: dict[bytes, int] = {}
    for partition, recs in by_partition.items():
        assert 0 <= partition < num_partitions
        offsets = [r.offset for r in recs]
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), \
            f"partition {partition}: offsets not contiguous"
        assert offsets[0] == 0, f"partition {partition} starts at offset {offsets[0]}"
        last_seq = -1
        for rec in recs:
            i = seq_of(rec)
            assert i > last_seq, f"partition {partition}: seq {i} after {last_seq} (order broken)"
            last_seq = i
            assert i not in seen, f"seq {i} consumed twice"
            seen.add(i)
            assert rec.key == record_key(i), f"seq {i}: key {rec.key!r}"
            assert rec.value == record_value(prefix, i), f"seq {i}: value {rec.value[:40]!r}..."
            assert list(rec.headers) == record_headers(prefix, i, with_null_header), \
                f"seq {i}: headers {rec.headers}"
            assert rec.timestamp == base_ts + i, f"seq {i}: timestamp {rec.timestamp} != {base_ts + i}"
            previous = key_partition.setdefault(rec.key, partition)
            assert previous == partition, f"key {rec.key!r} in partitions {previous} and {partition}"
            if expect_partition is not None:
                assert partition == expect_partition(rec.key), \
                    f"key {rec.key!r} in partition {partition}, Java's partitioner says {expect_partition(rec.key)}"
    assert seen == set(range(n))
    assert len(by_partition) == num_partitions, \
        f"only partitions {sorted(by_partition)} got records"


# -- confluent-kafka -----------------------------------------------------------------

def confluent_admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


def confluent_create_topic(admin, name: str, partitions: int = 1,
                           config: dict[str, str] | None = None, timeout_s: float = 15.0) -> None:
    from confluent_kafka.admin import NewTopic
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})],
                                  operation_timeout=timeout_s)
    futures[name].result(timeout=timeout_s)
    wait_for_leaders(admin, name, partitions)


def wait_for_leaders(admin, name: str, partitions: int, timeout_s: float = 15.0) -> None:
    def ready():
        md = admin.list_topics(topic=name, timeout=2)
        t = md.topics.get(name)
        return (t is not None and t.error is None and len(t.partitions) == partitions
                and all(p.leader >= 0 and p.error is None for p in t.partitions.values()))
    wait_until(ready, timeout_s, f"leaders for all {partitions} partitions of {name}")


def confluent_consumer(bootstrap: str, **extra):
    from confluent_kafka import Consumer
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": GROUP_ID,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
    }
    conf.update(extra)
    return Consumer(conf)


def high_watermarks(consumer, topic: str, partitions: Iterable[int]) -> dict[int, tuple[int, int]]:
    from confluent_kafka import TopicPartition
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
            for p in partitions}


def confluent_consume(bootstrap: str, topic: str, partitions: Iterable[int],
                      end_offsets: dict[int, int] | None = None, start=None,
                      timeout_s: float = 60.0, consumer=None, **extra) -> list[Rec]:
    """Read `partitions` of `topic` from `start` (default: the beginning) up to
    `end_offsets` (default: the high watermarks when called), without a group."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition
    partitions = list(partitions)
    own = consumer is None
    c = consumer or confluent_consumer(bootstrap, **extra)
    try:
        if end_offsets is None:
            end_offsets = {p: hw for p, (_, hw) in high_watermarks(c, topic, partitions).items()}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING if start is None else start)
                  for p in partitions])
        position = {p: -1 for p in partitions}
        out: list[Rec] = []
        deadline = time.monotonic() + timeout_s
        while any(position[p] + 1 < end_offsets[p] for p in partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out consuming {topic}: at {position}, want {end_offsets}")
            for m in c.consume(num_messages=10000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.fatal() or m.topic() == topic:
                        raise AssertionError(f"consumer error on {m.topic()}[{m.partition()}]: {err}")
                    print(f"(ignored consumer event: {err})")
                    continue
                p = m.partition()
                position[p] = m.offset()
                out.append(Rec(p, m.offset(), m.key(), m.value(), tuple(m.headers() or ()),
                               m.timestamp()[1]))
        return out
    finally:
        if own:
            c.close()


def confluent_produce(bootstrap: str, topic: str, items: Iterable[dict], conf: dict | None = None,
                      flush_timeout_s: float = 60.0):
    """Produce `items` (kwargs for Producer.produce); return the delivery reports
    as a list of (item index, error, partition, offset) in delivery order."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, **(conf or {})})
    reports = []

    def on_delivery_for(idx):
        def cb(err, msg):
            reports.append((idx, err, msg.partition(), msg.offset()))
        return cb

    for idx, item in enumerate(items):
        while True:
            try:
                p.produce(topic, on_delivery=on_delivery_for(idx), **item)
                break
            except BufferError:
                p.poll(0.05)
        if idx % 1000 == 0:
            p.poll(0)
    remaining = p.flush(flush_timeout_s)
    assert remaining == 0, f"{remaining} records still undelivered after {flush_timeout_s}s"
    return reports


# -- kafka-python --------------------------------------------------------------------

def kp_consume(bootstrap: str, topic: str, partitions: Iterable[int],
               end_offsets: dict[int, int] | None = None, timeout_s: float = 120.0,
               **extra) -> list[Rec]:
    from kafka import KafkaConsumer, TopicPartition
    partitions = list(partitions)
    conf = dict(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                auto_offset_reset="earliest", max_poll_records=10000)
    conf.update(extra)
    c = KafkaConsumer(**conf)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        if end_offsets is None:
            end_offsets = {tp.partition: off for tp, off in c.end_offsets(tps).items()}
        c.seek_to_beginning(*tps)
        position = {p: -1 for p in partitions}
        out: list[Rec] = []
        deadline = time.monotonic() + timeout_s
        while any(position[p] + 1 < end_offsets[p] for p in partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out consuming {topic}: at {position}, want {end_offsets}")
            for tp, records in c.poll(timeout_ms=500).items():
                for r in records:
                    position[tp.partition] = r.offset
                    out.append(Rec(tp.partition, r.offset, r.key, r.value,
                                   tuple((k, v) for k, v in r.headers), r.timestamp))
        return out
    finally:
        c.close()


def chunks(it: Iterable[T], n: int):
    it = iter(it)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def now_ms() -> int:
    return int(time.time() * 1000)


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
