"""Differential tests against Apache Kafka: Produce, ListOffsets and Fetch, with bad
offsets, partitions and sizes. See oracle.py for the fixtures and what is normalised."""

from __future__ import annotations

from compat_helpers import topic_name
from oracle import (create_topic, kafka_oracle, oracle, rafka_oracle_peer,  # noqa: F401
                    records)

EARLIEST, LATEST, MAX_TIMESTAMP = -2, -1, -3


def produce(oracle, version: int, name: str, partition: int, data: bytes, acks: int = -1) -> dict:
    return oracle.both("Produce", version, transactional_id=None, acks=acks, timeout_ms=10000,
                       topic_data=[{"name": name, "partition_data": [
                           {"index": partition, "records": data}]}])


def fetch_request(name: str, partition: int, offset: int, version: int = 12) -> dict:
    part = {"partition": partition, "fetch_offset": offset, "partition_max_bytes": 1 << 20,
            "current_leader_epoch": -1, "log_start_offset": -1, "last_fetched_epoch": -1}
    fields = {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
              "isolation_level": 0, "topics": [{"topic": name, "partitions": [part]}]}
    if version >= 7:
        fields.update(session_id=0, session_epoch=-1, forgotten_topics_data=[])
    if version >= 11:
        fields["rack_id"] = ""
    return fields


def list_offsets(name: str, partition: int, timestamp: int, version: int = 7) -> dict:
    fields = {"replica_id": -1, "isolation_level": 0,
              "topics": [{"name": name, "partitions": [
                  {"partition_index": partition, "current_leader_epoch": -1,
                   "timestamp": timestamp}]}]}
    if version >= 10:
        fields["timeout_ms"] = 10000
    return fields


def seeded_topic(oracle, prefix: str, partitions: int = 1, count: int = 3) -> str:
    name = topic_name(prefix)
    create_topic(oracle, name, partitions=partitions)
    batch = records(*[f"v{i}".encode() for i in range(count)],
                    keys=[f"k{i}".encode() for i in range(count)], timestamp_ms=1_700_000_000_000)
    answer = produce(oracle, 9, name, 0, batch)
    assert answer["responses"][0]["partition_responses"][0]["error_code"] == 0
    return name


# -- Produce ------------------------------------------------------------------------

def test_produce_answer(oracle):
    name = topic_name("oracle-produce")
    create_topic(oracle, name)
    for version in (3, 7, 8, 9, 11, 12):
        produce(oracle, version, name, 0, records(b"a", b"b", timestamp_ms=1_700_000_000_000))


def test_produce_unknown_partition(oracle):
    name = topic_name("oracle-produce-part")
    create_topic(oracle, name)
    for version in (3, 9, 12):
        answer = produce(oracle, version, name, 7, records(b"x"))
        assert answer["responses"][0]["partition_responses"][0]["error_code"] != 0


def test_produce_unknown_topic(oracle):
    # Produce never creates topics, whatever auto.create.topics.enable says.
    name = topic_name("oracle-produce-unknown")
    for version in (3, 9, 12):
        produce(oracle, version, name, 0, records(b"x"))


def test_produce_oversized_record(oracle):
    """A batch above message.max.bytes (Kafka's default, 1048588, on both)."""
    name = topic_name("oracle-produce-big")
    create_topic(oracle, name)
    big = records(b"x" * (1024 * 1024 + 100))
    for version in (3, 8, 9, 12):
        answer = produce(oracle, version, name, 0, big)
        assert answer["responses"][0]["partition_responses"][0]["error_code"] == 10
    # Nothing was appended.
    oracle.both("ListOffsets", 7, **list_offsets(name, 0, LATEST))


def test_produce_oversized_for_topic_max_message_bytes(oracle):
    name = topic_name("oracle-produce-topicmax")
    create_topic(oracle, name, configs={"max.message.bytes": "2000"})
    produce(oracle, 9, name, 0, records(b"y" * 3000))


def test_produce_invalid_topic_name(oracle):
    produce(oracle, 9, "..", 0, records(b"x"))


def test_produce_acks_invalid(oracle):
    name = topic_name("oracle-produce-acks")
    create_topic(oracle, name)
    produce(oracle, 9, name, 0, records(b"x"), acks=2)


# -- ListOffsets --------------------------------------------------------------------

def test_list_offsets_answer(oracle):
    name = seeded_topic(oracle, "oracle-lo")
    for version in (1, 2, 4, 6, 7, 8, 9, 10):
        for ts in (EARLIEST, LATEST, MAX_TIMESTAMP, 1_600_000_000_000, 1_800_000_000_000):
            if ts == MAX_TIMESTAMP and version < 7:
                continue
            oracle.both("ListOffsets", version, **list_offsets(name, 0, ts, version))


def test_list_offsets_unknown_partition(oracle):
    name = seeded_topic(oracle, "oracle-lo-part")
    for version in (1, 7, 10):
        answer = oracle.both("ListOffsets", version, **list_offsets(name, 5, LATEST, version))
        assert answer["topics"][0]["partitions"][0]["error_code"] == 3


def test_list_offsets_unknown_topic(oracle):
    for version in (1, 7):
        oracle.both("ListOffsets", version,
                    **list_offsets(topic_name("oracle-lo-unknown"), 0, LATEST, version))


def test_list_offsets_bad_timestamp(oracle):
    # -4 is EARLIEST_LOCAL (v8+), -5 LATEST_TIERED (v9+); -7 is nothing.
    name = seeded_topic(oracle, "oracle-lo-ts")
    for ts in (-4, -5, -7):
        oracle.both("ListOffsets", 9, **list_offsets(name, 0, ts, 9))


def test_list_offsets_stale_leader_epoch(oracle):
    name = seeded_topic(oracle, "oracle-lo-epoch")
    fields = list_offsets(name, 0, LATEST, 7)
    fields["topics"][0]["partitions"][0]["current_leader_epoch"] = 99
    oracle.both("ListOffsets", 7, **fields)


# -- Fetch --------------------------------------------------------------------------

def test_fetch_answer(oracle):
    name = seeded_topic(oracle, "oracle-fetch")
    for version in (4, 7, 11, 12):
        for offset in (0, 1, 3):
            oracle.both("Fetch", version, **fetch_request(name, 0, offset, version))


def test_fetch_out_of_range_offset(oracle):
    name = seeded_topic(oracle, "oracle-fetch-oor")
    for version in (4, 11, 12):
        for offset in (4, 100, -1):
            answer = oracle.both("Fetch", version, **fetch_request(name, 0, offset, version))
            assert answer["responses"][0]["partitions"][0]["error_code"] == 1


def test_fetch_unknown_partition(oracle):
    name = seeded_topic(oracle, "oracle-fetch-part")
    for version in (4, 12):
        oracle.both("Fetch", version, **fetch_request(name, 3, 0, version))


def test_fetch_unknown_topic(oracle):
    for version in (4, 12):
        oracle.both("Fetch", version,
                    **fetch_request(topic_name("oracle-fetch-unknown"), 0, 0, version))


def test_fetch_fenced_leader_epoch(oracle):
    name = seeded_topic(oracle, "oracle-fetch-epoch")
    fields = fetch_request(name, 0, 0, 12)
    fields["topics"][0]["partitions"][0]["current_leader_epoch"] = 99
    oracle.both("Fetch", 12, **fields)


def test_fetch_unknown_session(oracle):
    name = seeded_topic(oracle, "oracle-fetch-session")
    fields = fetch_request(name, 0, 0, 12)
    fields.update(session_id=12345, session_epoch=3)
    oracle.both("Fetch", 12, **fields)
