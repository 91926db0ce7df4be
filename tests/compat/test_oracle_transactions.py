"""Differential tests against Apache Kafka: the idempotent and transactional producer's
APIs (InitProducerId, Produce with producer ids, AddPartitionsToTxn, AddOffsetsToTxn,
TxnOffsetCommit, EndTxn, DescribeTransactions, ListTransactions, DescribeProducers),
mostly with bad inputs. See oracle.py for the fixtures and what is normalised.

Producer ids: both brokers hand them out from blocks that start at 0, but the Kafka node
is shared by the session's modules while each module has a rafka broker of its own, so
the absolute ids depend on which modules ran before. Each test therefore names the ids it
sees per side by placeholders in order of first appearance (`ProducerIds`): a new id on
one side must be a new id on the other, a repeated id a repeated one. Epochs are compared
as they are.

KIP-890 (Kafka 4.1 finalizes `transaction.version` 2 and verifies transactional produces
with the coordinator): the last section covers verification's refusals and transactions
V2's Produce v12 / TxnOffsetCommit v5 / EndTxn v5.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from compat_helpers import topic_name
from oracle import (MESSAGES, MemoryRecordsBuilder, _build, create_topic,  # noqa: F401
                    kafka_oracle, oracle, plain, rafka_oracle_peer, wait_both)

SIDES = ("kafka", "rafka")

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
INVALID_REQUEST = 42
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTIONAL_ID_NOT_FOUND = 105

RETRIABLE = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
             CONCURRENT_TRANSACTIONS)
SETUP_TIMEOUT_S = 60.0


def txn_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class ProducerIds:
    """Replaces each side's producer ids (>= 0) by `<pid-N>`, numbered per side in order
    of first appearance over the whole test (see the module's docstring)."""

    def __init__(self):
        self.maps: dict[str, dict[int, str]] = {side: {} for side in SIDES}

    def name(self, side: str, pid: int) -> str:
        m = self.maps[side]
        if pid not in m:
            m[pid] = f"<pid-{len(m) + 1}>"
        return m[pid]

    def normalise(self, side: str, obj: Any, key: str | None = None) -> Any:
        if isinstance(obj, dict):
            return {k: self.normalise(side, v, k) for k, v in obj.items()}
        if key == "partitions" and isinstance(obj, list) \
                and all(isinstance(v, int) for v in obj):
            # DescribeTransactions: a transaction's partitions are a set, which Kafka
            # lists in its hash set's order.
            return sorted(obj)
        if isinstance(obj, list):
            return [self.normalise(side, v, key) for v in obj]
        if key == "producer_id" and isinstance(obj, int) and obj >= 0:
            return self.name(side, obj)
        return obj


Fields = dict | Callable[[str], dict]


def fields_of(fields: Fields, side: str) -> dict:
    return fields(side) if callable(fields) else fields


def compare(oracle, ids: ProducerIds, k: dict, r: dict, what: str) -> dict:
    return oracle.compare(ids.normalise("kafka", k), ids.normalise("rafka", r), what)


def both(oracle, ids: ProducerIds, api: str, version: int, fields: Fields,
         what: str | None = None) -> dict:
    """The same request (per side's fields when `fields` is a function of the side) to
    both; the answers compared with the producer ids named; Kafka's normalised answer."""
    k = oracle.send("kafka", api, version, **fields_of(fields, "kafka"))
    r = oracle.send("rafka", api, version, **fields_of(fields, "rafka"))
    return compare(oracle, ids, k, r, what or f"{api} v{version}")


def until_settled(oracle, side: str, api: str, version: int, fields: dict,
                  error_of: Callable[[dict], int]) -> dict:
    """Setup, not a comparison: repeats a request while it answers a retriable
    coordinator error (a coordinator still loading, a transaction still completing)."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while True:
        answer = oracle.send(side, api, version, **fields)
        if error_of(answer) not in RETRIABLE:
            return answer
        assert time.monotonic() < deadline, f"{side}: {api} still answers {answer}"
        time.sleep(0.05)


def txn_coordinator_ready(oracle, transactional_id: str) -> None:
    """Kafka creates __transaction_state on the first FindCoordinator(TRANSACTION) and
    answers COORDINATOR_NOT_AVAILABLE until it is created, then NOT_COORDINATOR or
    COORDINATOR_LOAD_IN_PROGRESS for the id until its partition is loaded: poll both
    until DescribeTransactions answers for the id itself."""
    def ready(side):
        answer = oracle.send(side, "FindCoordinator", 4, key_type=1,
                             coordinator_keys=[transactional_id])
        if answer["coordinators"][0]["error_code"] != NONE:
            return False
        answer = oracle.send(side, "DescribeTransactions", 0,
                             transactional_ids=[transactional_id])
        return answer["transaction_states"][0]["error_code"] not in RETRIABLE
    wait_both(oracle, ready, f"the transaction coordinator of {transactional_id[:60]}",
              timeout_s=SETUP_TIMEOUT_S)


def group_coordinator_ready(oracle, group: str) -> None:
    """As txn_coordinator_ready, for a group: until OffsetFetch answers for the group."""
    def ready(side):
        answer = oracle.send(side, "FindCoordinator", 4, key_type=0, coordinator_keys=[group])
        if answer["coordinators"][0]["error_code"] != NONE:
            return False
        answer = oracle.send(side, "OffsetFetch", 8, require_stable=False,
                             groups=[{"group_id": group, "topics": None}])
        return answer["groups"][0]["error_code"] not in RETRIABLE
    wait_both(oracle, ready, f"the group coordinator of {group}", timeout_s=SETUP_TIMEOUT_S)


def init_fields(transactional_id: str | None, timeout_ms: int = 60000, version: int = 4,
                producer_id: int = -1, producer_epoch: int = -1) -> dict:
    fields: dict = {"transactional_id": transactional_id, "transaction_timeout_ms": timeout_ms}
    if version >= 3:
        fields.update(producer_id=producer_id, producer_epoch=producer_epoch)
    if version >= 6:
        fields.update(enable2_pc=False, keep_prepared_txn=False)
    return fields


class Producer:
    """A producer on both brokers: its producer id and epoch per side."""

    def __init__(self, oracle, ids: ProducerIds, transactional_id: str | None,
                 timeout_ms: int = 60000):
        self.oracle = oracle
        self.ids = ids
        self.transactional_id = transactional_id
        self.timeout_ms = timeout_ms
        self.pid: dict[str, int] = {}
        self.epoch: dict[str, int] = {}
        self.sequence = {side: 0 for side in SIDES}

    def init(self, version: int = 4, expected: bool = False) -> dict:
        """InitProducerId on both (retried while the coordinator loads or a fenced
        transaction aborts), the answers compared."""
        answers = {}
        for side in SIDES:
            fields = init_fields(self.transactional_id, self.timeout_ms, version,
                                 *((self.pid[side], self.epoch[side]) if expected else (-1, -1)))
            answers[side] = until_settled(self.oracle, side, "InitProducerId", version, fields,
                                          lambda a: a["error_code"])
            self.pid[side] = answers[side]["producer_id"]
            self.epoch[side] = answers[side]["producer_epoch"]
        answer = compare(self.oracle, self.ids, answers["kafka"], answers["rafka"],
                         f"InitProducerId v{version} of {self.transactional_id}")
        assert answer["error_code"] == NONE
        return answer

    def fields(self, **extra) -> Callable[[str], dict]:
        """The request fields naming this producer on each side."""
        return lambda side: {"transactional_id": self.transactional_id,
                             "producer_id": self.pid[side],
                             "producer_epoch": self.epoch[side], **extra}

    def add_partitions(self, topics: dict[str, list[int]], version: int = 3,
                       epoch: int | None = None, pid_offset: int = 0) -> dict:
        def fields(side):
            pid = self.pid[side] + pid_offset
            e = self.epoch[side] if epoch is None else epoch
            topic_list = [{"name": t, "partitions": ps} for t, ps in topics.items()]
            if version < 4:
                return {"v3_and_below_transactional_id": self.transactional_id,
                        "v3_and_below_producer_id": pid, "v3_and_below_producer_epoch": e,
                        "v3_and_below_topics": topic_list}
            return {"transactions": [{"transactional_id": self.transactional_id,
                                      "producer_id": pid, "producer_epoch": e,
                                      "verify_only": False, "topics": topic_list}]}
        return both(self.oracle, self.ids, "AddPartitionsToTxn", version, fields,
                    f"AddPartitionsToTxn v{version} {topics} epoch={epoch} pid+{pid_offset}")

    def end(self, commit: bool, version: int = 4, epoch: int | None = None,
            pid_offset: int = 0) -> dict:
        return both(self.oracle, self.ids, "EndTxn", version, lambda side: {
            "transactional_id": self.transactional_id,
            "producer_id": self.pid[side] + pid_offset,
            "producer_epoch": self.epoch[side] if epoch is None else epoch,
            "committed": commit}, f"EndTxn v{version} commit={commit} epoch={epoch}")

    def batch(self, side: str, *values: bytes, sequence: int | None = None,
              epoch: int | None = None, transactional: bool | None = None) -> bytes:
        seq = self.sequence[side] if sequence is None else sequence
        if sequence is None:
            self.sequence[side] += len(values)
        return producer_batch(self.pid[side], self.epoch[side] if epoch is None else epoch, seq,
                              *values, transactional=(self.transactional_id is not None
                                                      if transactional is None else transactional))

    def produce(self, topic: str, make_batch: Callable[[str], bytes], version: int = 9,
                partition: int = 0, what: str = "Produce") -> dict:
        return both(self.oracle, self.ids, "Produce", version, lambda side: produce_fields(
            topic, partition, make_batch(side), self.transactional_id), f"{what} v{version}")

    def describe(self) -> dict:
        return both(self.oracle, self.ids, "DescribeTransactions", 0,
                    {"transactional_ids": [self.transactional_id]},
                    f"DescribeTransactions of {self.transactional_id}")


def producer_batch(pid: int, epoch: int, sequence: int, *values: bytes,
                   transactional: bool = False) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 30,
                                   transactional=transactional, producer_id=pid,
                                   producer_epoch=epoch, base_sequence=sequence)
    # The clock's time: Kafka rolls a segment when a batch's timestamp is segment.ms past
    # the segment's first one, and a Fetch reads one segment, so a marker (stamped now)
    # after old-stamped batches would start a new segment in Kafka.
    now_ms = int(time.time() * 1000)
    for value in values:
        builder.append(timestamp=now_ms, key=None, value=value, headers=[])
    builder.close()
    return builder.buffer()


def produce_fields(topic: str, partition: int, data: bytes,
                   transactional_id: str | None = None) -> dict:
    return {"transactional_id": transactional_id, "acks": -1, "timeout_ms": 10000,
            "topic_data": [{"name": topic, "partition_data": [
                {"index": partition, "records": data}]}]}


def partition_error(answer: dict) -> int:
    return answer["responses"][0]["partition_responses"][0]["error_code"]


def fetch_fields(topic: str, isolation_level: int = 0, partition: int = 0) -> dict:
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
            "isolation_level": isolation_level, "session_id": 0, "session_epoch": -1,
            "forgotten_topics_data": [], "rack_id": "",
            "topics": [{"topic": topic, "partitions": [{
                "partition": partition, "fetch_offset": 0, "partition_max_bytes": 1 << 20,
                "current_leader_epoch": -1, "log_start_offset": -1,
                "last_fetched_epoch": -1}]}]}


def txn_topic(oracle, prefix: str, partitions: int = 1) -> str:
    """A new topic, once each broker hosts its partitions: Kafka's Metadata may name a
    leader a moment before its replica manager answers for the partition."""
    name = topic_name(prefix)
    create_topic(oracle, name, partitions=partitions)

    def hosted(side):
        answer = oracle.send(side, "DescribeProducers", 0, topics=[
            {"name": name, "partition_indexes": list(range(partitions))}])
        return all(p["error_code"] == NONE for p in answer["topics"][0]["partitions"])
    wait_both(oracle, hosted, f"the partitions of {name} hosted")
    return name


def ready_producer(oracle, ids: ProducerIds, prefix: str, timeout_ms: int = 60000) -> Producer:
    producer = Producer(oracle, ids, txn_id(prefix), timeout_ms)
    txn_coordinator_ready(oracle, producer.transactional_id)
    producer.init()
    return producer


def wait_state(oracle, producer: Producer, state: str, timeout_s: float = SETUP_TIMEOUT_S) -> None:
    def reached(side):
        answer = oracle.send(side, "DescribeTransactions", 0,
                             transactional_ids=[producer.transactional_id])
        return answer["transaction_states"][0]["transaction_state"] == state
    wait_both(oracle, reached, f"{producer.transactional_id} in {state}", timeout_s)


# -- InitProducerId -------------------------------------------------------------------

def test_init_producer_id_idempotent(oracle):
    """No transactional id: a new producer id at epoch 0 on every call, whatever producer
    id and epoch the request names (KIP-360's client bumps its own epoch)."""
    ids = ProducerIds()
    txn_coordinator_ready(oracle, txn_id("oracle-ipid-warmup"))
    # Kafka's first producer id waits for a block from the controller
    # (COORDINATOR_LOAD_IN_PROGRESS until then).
    for side in SIDES:
        until_settled(oracle, side, "InitProducerId", 4, init_fields(None),
                      lambda a: a["error_code"])
    for version in (0, 1, 2, 3, 4, 5):
        answer = both(oracle, ids, "InitProducerId", version, init_fields(None, version=version))
        assert answer["error_code"] == NONE and answer["producer_epoch"] == 0
    answer = both(oracle, ids, "InitProducerId", 4,
                  init_fields(None, producer_id=12345, producer_epoch=7))
    assert answer["error_code"] == NONE and answer["producer_epoch"] == 0
    # An id without an epoch, or an epoch without an id.
    for pid, epoch in ((12345, -1), (-1, 3)):
        for version in (3, 5):
            answer = both(oracle, ids, "InitProducerId", version,
                          init_fields(None, version=version, producer_id=pid, producer_epoch=epoch))
            assert answer["error_code"] == INVALID_REQUEST


def test_init_producer_id_bad_timeout(oracle):
    ids = ProducerIds()
    tid = txn_id("oracle-ipid-timeout")
    txn_coordinator_ready(oracle, tid)
    # transaction.max.timeout.ms is Kafka's default, 900000, on both.
    for timeout_ms in (900_001, 0, -1, -2**31, 2**31 - 1):
        for version in (0, 3, 4, 5):
            answer = both(oracle, ids, "InitProducerId", version,
                          init_fields(tid, timeout_ms, version))
            assert answer["error_code"] == INVALID_TRANSACTION_TIMEOUT
    # Nothing was created: the id is still unknown.
    answer = both(oracle, ids, "DescribeTransactions", 0, {"transactional_ids": [tid]})
    assert answer["transaction_states"][0]["error_code"] == TRANSACTIONAL_ID_NOT_FOUND
    # The largest timeout allowed works.
    answer = both(oracle, ids, "InitProducerId", 4, init_fields(tid, 900_000))
    assert answer["error_code"] == NONE and answer["producer_epoch"] == 0


def test_init_producer_id_empty_transactional_id(oracle):
    ids = ProducerIds()
    for version in (0, 3, 4, 5):
        for timeout_ms in (60000, 0, 900_001):
            answer = both(oracle, ids, "InitProducerId", version, init_fields("", timeout_ms, version))
            assert answer["error_code"] == INVALID_REQUEST


def test_init_producer_id_bumps_epoch(oracle):
    """A transactional id's producer keeps its id; each InitProducerId bumps its epoch."""
    ids = ProducerIds()
    producer = ready_producer(oracle, ids, "oracle-ipid-bump")
    assert producer.epoch["kafka"] == 0
    for version in (0, 2, 3, 4, 5):
        answer = producer.init(version)
        assert ids.normalise("kafka", {"producer_id": producer.pid["kafka"]}) == \
            {"producer_id": "<pid-1>"}
        assert answer["producer_epoch"] > 0
    producer.describe()


def test_init_producer_id_retry_with_producer_id_and_epoch(oracle):
    """KIP-360 (v3+): the producer names its id and epoch. The current ones bump the
    epoch; the epoch before the last bump is a retry of it (same answer); any other epoch,
    or another producer id, is fenced."""
    ids = ProducerIds()
    producer = ready_producer(oracle, ids, "oracle-ipid-kip360")
    for version in (3, 4, 5):
        before = dict(producer.epoch)
        answer = producer.init(version, expected=True)
        assert answer["producer_epoch"] == before["kafka"] + 1
        # A retry of that bump: the same producer id and epoch again.
        retry = both(oracle, ids, "InitProducerId", version, lambda side: init_fields(
            producer.transactional_id, 60000, version, producer.pid[side], before[side]))
        assert retry == answer
        for what, pid_offset, epoch in (("a wrong epoch", 0, before["kafka"] + 5),
                                        ("an older epoch", 0, 0 if before["kafka"] else None),
                                        ("another producer id", 1000, None)):
            if epoch is None and pid_offset == 0:
                continue
            refused = both(oracle, ids, "InitProducerId", version, lambda side: init_fields(
                producer.transactional_id, 60000, version, producer.pid[side] + pid_offset,
                producer.epoch[side] if epoch is None else epoch),
                f"InitProducerId v{version} with {what}")
            assert refused["error_code"] in (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH)
    producer.describe()


def test_init_producer_id_expected_for_unknown_transactional_id(oracle):
    """A producer id and epoch named for a transactional id the coordinator does not know
    (a producer recovering from UNKNOWN_PRODUCER_ID after the id expired): accepted."""
    ids = ProducerIds()
    tid = txn_id("oracle-ipid-unknown-expected")
    txn_coordinator_ready(oracle, tid)
    answer = both(oracle, ids, "InitProducerId", 4, init_fields(tid, 60000, 4, 424242, 3))
    assert answer["error_code"] == NONE and answer["producer_epoch"] == 0


def test_init_producer_id_fences_open_transaction(oracle):
    """InitProducerId while a transaction is open aborts it (CONCURRENT_TRANSACTIONS until
    it is aborted), then answers the epoch after the fencing one."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-ipid-fence")
    producer = ready_producer(oracle, ids, "oracle-ipid-fence")
    producer.add_partitions({topic: [0]})
    first = both(oracle, ids, "InitProducerId", 4,
                 init_fields(producer.transactional_id, 60000, 4))
    assert first["error_code"] == CONCURRENT_TRANSACTIONS
    answer = producer.init()
    assert answer["producer_epoch"] == 2
    producer.describe()


def closes_connection(oracle, side: str, api: str, version: int, fields: dict) -> bool:
    try:
        oracle.send(side, api, version, **fields)
    except (OSError, ConnectionError):
        return True
    return False


def test_long_transactional_id(oracle):
    """Kafka's strings have an int16 length even where they are sent as compact strings
    (its generated readers refuse a longer one), so a request with a transactional id
    longer than 32767 bytes is unreadable and Kafka closes the connection; 32767 bytes
    is the longest id, and __transaction_state's key holds it."""
    ids = ProducerIds()
    for api, version, fields in (
            ("InitProducerId", 4, init_fields("t" * 32768, 60000, 4)),
            ("DescribeTransactions", 0, {"transactional_ids": ["t" * 40000]}),
            ("FindCoordinator", 4, {"key_type": 1, "coordinator_keys": ["t" * 32768]})):
        closed = {side: closes_connection(oracle, side, api, version, fields) for side in SIDES}
        assert closed == {"kafka": True, "rafka": True}, f"{api} v{version}: {closed}"
    longest = "u" * 32767
    txn_coordinator_ready(oracle, longest)
    answer = both(oracle, ids, "InitProducerId", 4, init_fields(longest, 60000, 4),
                  "InitProducerId v4 with a 32767-byte transactional id")
    assert answer["error_code"] == NONE
    both(oracle, ids, "DescribeTransactions", 0, {"transactional_ids": [longest]},
         "DescribeTransactions of a 32767-byte transactional id")


# -- Produce with producer ids ----------------------------------------------------------

def idempotent_producer(oracle, ids: ProducerIds) -> Producer:
    producer = Producer(oracle, ids, None)
    for side in SIDES:
        answer = until_settled(oracle, side, "InitProducerId", 4, init_fields(None),
                               lambda a: a["error_code"])
        producer.pid[side] = answer["producer_id"]
        producer.epoch[side] = answer["producer_epoch"]
    return producer


def test_produce_idempotent_sequences(oracle):
    """Sequence gap, duplicate batch (the first offset again, nothing appended), next
    batch, a batch far ahead."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-idem-seq")
    producer = idempotent_producer(oracle, ids)
    for version in (3, 9):
        first = {side: producer.batch(side, b"a", b"b", b"c") for side in SIDES}
        answer = producer.produce(topic, first.get, version, what="first batch")
        assert partition_error(answer) == NONE
        answer = producer.produce(topic, lambda side: producer.batch(
            side, b"gap", sequence=producer.sequence[side] + 2), version, what="sequence gap")
        assert partition_error(answer) == OUT_OF_ORDER_SEQUENCE_NUMBER
        answer = producer.produce(topic, first.get, version, what="duplicate")
        assert partition_error(answer) == NONE
        answer = producer.produce(topic, lambda side: producer.batch(side, b"d"), version,
                                  what="next batch")
        assert partition_error(answer) == NONE
    both(oracle, ids, "Fetch", 12, fetch_fields(topic))
    both(oracle, ids, "DescribeProducers", 0,
         {"topics": [{"name": topic, "partition_indexes": [0]}]})


def test_produce_idempotent_older_duplicate_and_epoch(oracle):
    """An older batch than the last five, a batch at a lower epoch than the producer's
    last, and a new epoch that does not start at sequence 0."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-idem-old")
    producer = idempotent_producer(oracle, ids)
    batches = []
    for i in range(7):
        batch = {side: producer.batch(side, f"v{i}".encode()) for side in SIDES}
        batches.append(batch)
        producer.produce(topic, batch.get, what=f"batch {i}")
    producer.produce(topic, batches[0].get, what="duplicate of a batch older than five")
    producer.produce(topic, batches[5].get, what="duplicate of a recent batch")
    producer.produce(topic, lambda side: producer.batch(side, b"e1", sequence=3, epoch=1),
                     what="epoch 1 at sequence 3")
    producer.produce(topic, lambda side: producer.batch(side, b"e1", sequence=0, epoch=1),
                     what="epoch 1 at sequence 0")
    producer.produce(topic, lambda side: producer.batch(side, b"e0", sequence=8, epoch=0),
                     what="back at epoch 0")
    both(oracle, ids, "Fetch", 12, fetch_fields(topic))


def test_produce_unknown_producer_id_non_transactional(oracle):
    """A producer id the broker never handed out, a first batch at sequence 0 and at a
    later sequence (Kafka 4 accepts both for a producer it has no state of)."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-idem-stranger", partitions=2)
    for partition, sequence in ((0, 0), (1, 17)):
        answer = both(oracle, ids, "Produce", 9, produce_fields(
            topic, partition, producer_batch(987_654_321, 4, sequence, b"x")),
            f"Produce of a stranger at sequence {sequence}")
        assert partition_error(answer) == NONE
    both(oracle, ids, "DescribeProducers", 0,
         {"topics": [{"name": topic, "partition_indexes": [0, 1]}]})


def test_produce_stale_epoch_after_new_init(oracle):
    """The transactional id's producer is initialised again while its transaction is
    open: the coordinator aborts it with markers at the next epoch, after which batches
    at the old epoch are fenced."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-txn-stale-produce")
    producer = ready_producer(oracle, ids, "oracle-txn-stale-produce")
    producer.add_partitions({topic: [0]})
    answer = producer.produce(topic, lambda side: producer.batch(side, b"t0"),
                              what="transactional batch")
    assert partition_error(answer) == NONE
    old = dict(producer.epoch)
    producer.init()
    assert producer.epoch["kafka"] == old["kafka"] + 2
    for version in (3, 9):
        answer = producer.produce(topic, lambda side: producer.batch(
            side, b"t1", epoch=old[side], transactional=False), version,
            what="idempotent batch at the fenced epoch")
        assert partition_error(answer) == INVALID_PRODUCER_EPOCH
    # The new epoch starts its sequences at 0 again.
    answer = producer.produce(topic, lambda side: producer.batch(
        side, b"t2", sequence=0, transactional=False), what="idempotent batch at the new epoch")
    assert partition_error(answer) == NONE
    both(oracle, ids, "Fetch", 12, fetch_fields(topic))
    both(oracle, ids, "DescribeProducers", 0,
         {"topics": [{"name": topic, "partition_indexes": [0]}]})


# -- AddPartitionsToTxn -----------------------------------------------------------------

def partition_codes(answer: dict, version: int) -> set[int]:
    """AddPartitionsToTxn: every partition's error code (of the first transaction, v4+)."""
    results = (answer["results_by_topic_v3_and_below"] if version < 4
               else answer["results_by_transaction"][0]["topic_results"])
    return {p["partition_error_code"] for t in results for p in t["results_by_partition"]}


def fenced(version: int, fenced_from: int = 2) -> int:
    """PRODUCER_FENCED is new in a version of each API; older clients get
    INVALID_PRODUCER_EPOCH."""
    return PRODUCER_FENCED if version >= fenced_from else INVALID_PRODUCER_EPOCH


def test_add_partitions_without_init(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-apt-noinit")
    producer = Producer(oracle, ids, txn_id("oracle-apt-noinit"))
    txn_coordinator_ready(oracle, producer.transactional_id)
    producer.pid = {side: 4242 for side in SIDES}
    producer.epoch = {side: 0 for side in SIDES}
    for version in (0, 3, 4, 5):
        answer = producer.add_partitions({topic: [0]}, version)
        assert partition_codes(answer, version) == {INVALID_PRODUCER_ID_MAPPING}


def test_add_partitions_empty_transactional_id(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-apt-empty")
    producer = Producer(oracle, ids, "")
    producer.pid = {side: 4242 for side in SIDES}
    producer.epoch = {side: 0 for side in SIDES}
    for version in (3, 4):
        answer = producer.add_partitions({topic: [0]}, version)
        assert partition_codes(answer, version) == {INVALID_REQUEST}


def test_add_partitions_wrong_producer_and_stale_epoch(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-apt-fenced")
    producer = ready_producer(oracle, ids, "oracle-apt-fenced")
    producer.init()  # epoch 1: epoch 0 is now stale
    for version in (0, 1, 2, 3, 4, 5):
        answer = producer.add_partitions({topic: [0]}, version, pid_offset=1000)
        assert partition_codes(answer, version) == {INVALID_PRODUCER_ID_MAPPING}
        for epoch in (0, 5):
            answer = producer.add_partitions({topic: [0]}, version, epoch=epoch)
            assert partition_codes(answer, version) == {fenced(version)}
    assert producer.describe()["transaction_states"][0]["transaction_state"] == "Empty"


def test_add_partitions_unknown_topic_or_partition(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-apt-unknown", partitions=2)
    producer = ready_producer(oracle, ids, "oracle-apt-unknown")
    missing = topic_name("oracle-apt-missing")
    for version in (1, 3, 4, 5):
        producer.add_partitions({topic: [0, 1, 7], missing: [0]}, version)
        producer.add_partitions({missing: [0]}, version)
    producer.describe()
    # Unknown partitions with a wrong epoch: which error wins.
    producer.add_partitions({topic: [0, 9]}, 3, epoch=5)
    producer.add_partitions({topic: [0, 1]}, 3)
    producer.describe()


def test_add_partitions_batched_two_transactions(oracle):
    """v4+: several transactional ids in one request, each answered on its own."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-apt-batched")
    good = ready_producer(oracle, ids, "oracle-apt-batched-good")
    stranger = txn_id("oracle-apt-batched-stranger")
    txn_coordinator_ready(oracle, stranger)
    for version in (4, 5):
        both(oracle, ids, "AddPartitionsToTxn", version, lambda side: {"transactions": [
            {"transactional_id": good.transactional_id, "producer_id": good.pid[side],
             "producer_epoch": good.epoch[side], "verify_only": False,
             "topics": [{"name": topic, "partitions": [0]}]},
            {"transactional_id": stranger, "producer_id": 777, "producer_epoch": 0,
             "verify_only": False, "topics": [{"name": topic, "partitions": [0]}]}]})
    good.describe()


def pipelined(oracle, side: str, first: tuple[str, int, dict], second: tuple[str, int, dict]):
    """Two requests written in one go: the second reaches the broker as soon as the first
    is answered, before a transaction's markers can be written."""
    client = oracle.client(side)
    answers = []
    frames = b""
    expected = []
    for api, version, fields in (first, second):
        req = _build(MESSAGES[f"{api}Request"], fields, version)
        client.correlation_id += 1
        req.with_header(correlation_id=client.correlation_id, client_id=client.client_id)
        frames += req.encode(header=True, framed=True)
        expected.append((api, version, client.correlation_id))
    client.sock.sendall(frames)
    for api, version, correlation_id in expected:
        payload = client.read_frame()
        resp = MESSAGES[f"{api}Response"].decode(payload, version=version, header=True)
        assert resp.header.correlation_id == correlation_id
        answers.append(plain(resp.to_dict(json=False)))
    return answers


def test_add_partitions_and_end_txn_during_pending_commit(oracle):
    """Right after EndTxn(commit) is answered the transaction is PrepareCommit until its
    markers are written: AddPartitionsToTxn and EndTxn then answer CONCURRENT_TRANSACTIONS.
    The request is pipelined behind EndTxn to catch that window; a broker that wrote the
    markers first answers as for a completed transaction, so the scenario is repeated
    until both brokers were caught in the window."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-apt-pending")
    seen: dict[tuple[str, str], bool] = {}
    for attempt in range(20):
        producer = ready_producer(oracle, ids, "oracle-apt-pending")
        producer.add_partitions({topic: [0]})
        answers = {}
        for side in SIDES:
            end = ("EndTxn", 3, {"transactional_id": producer.transactional_id,
                                 "producer_id": producer.pid[side],
                                 "producer_epoch": producer.epoch[side], "committed": True})
            add = ("AddPartitionsToTxn", 3, {
                "v3_and_below_transactional_id": producer.transactional_id,
                "v3_and_below_producer_id": producer.pid[side],
                "v3_and_below_producer_epoch": producer.epoch[side],
                "v3_and_below_topics": [{"name": topic, "partitions": [0]}]})
            answers[side] = pipelined(oracle, side, end, add)
        compare(oracle, ids, answers["kafka"][0], answers["rafka"][0], "EndTxn v3 commit")
        codes = {side: answers[side][1]["results_by_topic_v3_and_below"][0]
                 ["results_by_partition"][0]["partition_error_code"] for side in SIDES}
        for side in SIDES:
            assert codes[side] in (NONE, CONCURRENT_TRANSACTIONS), (side, answers[side][1])
        if all(c == CONCURRENT_TRANSACTIONS for c in codes.values()):
            compare(oracle, ids, answers["kafka"][1], answers["rafka"][1],
                    "AddPartitionsToTxn v3 during PrepareCommit")
            break
    else:
        raise AssertionError(f"never caught both brokers in PrepareCommit: {codes}")


def test_requests_during_pending_abort(oracle):
    """Right behind EndTxn(abort), while its markers are written, the completion is a
    pending transition: EndTxn(commit), EndTxn(abort) again and an InitProducerId naming
    another producer id all answer CONCURRENT_TRANSACTIONS. A broker that completed the
    abort first answers INVALID_TXN_STATE, success and PRODUCER_FENCED, so the scenario is
    repeated until both brokers were caught in the window."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-end-pending")
    # The answer once the abort is complete.
    after_complete = {"commit": INVALID_TXN_STATE, "abort": NONE, "init": PRODUCER_FENCED}
    for follow in ("commit", "abort", "init"):
        for attempt in range(20):
            producer = ready_producer(oracle, ids, "oracle-end-pending")
            producer.add_partitions({topic: [0]})
            answers = {}
            for side in SIDES:
                end = {"transactional_id": producer.transactional_id,
                       "producer_id": producer.pid[side], "producer_epoch": producer.epoch[side]}
                second = {
                    "commit": ("EndTxn", 3, {**end, "committed": True}),
                    "abort": ("EndTxn", 3, {**end, "committed": False}),
                    "init": ("InitProducerId", 4, init_fields(
                        producer.transactional_id, 60000, 4, producer.pid[side] + 1000,
                        producer.epoch[side])),
                }[follow]
                answers[side] = pipelined(oracle, side, ("EndTxn", 3, {**end, "committed": False}),
                                          second)
            compare(oracle, ids, answers["kafka"][0], answers["rafka"][0], "EndTxn v3 abort")
            codes = {side: answers[side][1]["error_code"] for side in SIDES}
            for side in SIDES:
                assert codes[side] in (CONCURRENT_TRANSACTIONS, after_complete[follow]), \
                    (follow, side, codes)
            wait_state(oracle, producer, "CompleteAbort")
            if all(c == CONCURRENT_TRANSACTIONS for c in codes.values()):
                compare(oracle, ids, answers["kafka"][1], answers["rafka"][1],
                        f"{follow} right behind EndTxn(abort)")
                break
        else:
            raise AssertionError(f"{follow}: never caught both brokers completing: {codes}")


# -- AddOffsetsToTxn ------------------------------------------------------------------

def test_add_offsets_to_txn(oracle):
    ids = ProducerIds()
    group = txn_id("oracle-aot-group")
    stranger = Producer(oracle, ids, txn_id("oracle-aot-stranger"))
    txn_coordinator_ready(oracle, stranger.transactional_id)
    stranger.pid = {side: 4242 for side in SIDES}
    stranger.epoch = {side: 0 for side in SIDES}
    for version in (0, 2, 3, 4):
        answer = both(oracle, ids, "AddOffsetsToTxn", version, stranger.fields(group_id=group))
        assert answer["error_code"] == INVALID_PRODUCER_ID_MAPPING
    producer = ready_producer(oracle, ids, "oracle-aot")
    producer.init()
    for version in (0, 1, 2, 3, 4):
        for what, change in (("stale epoch", {"producer_epoch": 0}),
                             ("future epoch", {"producer_epoch": 9})):
            both(oracle, ids, "AddOffsetsToTxn", version,
                 lambda side: {**producer.fields(group_id=group)(side), **change},
                 f"AddOffsetsToTxn v{version} {what}")
        both(oracle, ids, "AddOffsetsToTxn", version, lambda side: {
            **producer.fields(group_id=group)(side), "producer_id": producer.pid[side] + 1000},
            f"AddOffsetsToTxn v{version} wrong producer id")
    for version in (0, 3):
        answer = both(oracle, ids, "AddOffsetsToTxn", version, producer.fields(group_id=group))
        assert answer["error_code"] == NONE
    both(oracle, ids, "AddOffsetsToTxn", 3, producer.fields(group_id=""))
    producer.describe()


# -- TxnOffsetCommit ----------------------------------------------------------------

def txn_commit_fields(producer: Producer, group: str, topic: str, version: int,
                      generation: int = -1, member: str = "", partition: int = 0,
                      epoch: int | None = None) -> Callable[[str], dict]:
    def fields(side):
        f = {"transactional_id": producer.transactional_id, "group_id": group,
             "producer_id": producer.pid[side],
             "producer_epoch": producer.epoch[side] if epoch is None else epoch,
             "topics": [{"name": topic, "partitions": [{
                 "partition_index": partition, "committed_offset": 5,
                 "committed_metadata": "m",
                 **({"committed_leader_epoch": -1} if version >= 2 else {})}]}]}
        if version >= 3:
            f.update(generation_id=generation, member_id=member, group_instance_id=None)
        return f
    return fields


def test_txn_offset_commit(oracle):
    from test_oracle_groups import Formed
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-toc", partitions=2)
    group = txn_id("oracle-toc-group")
    group_coordinator_ready(oracle, group)
    producer = ready_producer(oracle, ids, "oracle-toc")
    for version in (0, 2, 3, 4):
        answer = both(oracle, ids, "AddOffsetsToTxn", 3, producer.fields(group_id=group))
        assert answer["error_code"] == NONE
        both(oracle, ids, "TxnOffsetCommit", version, txn_commit_fields(producer, group, topic, version))
        both(oracle, ids, "TxnOffsetCommit", version,
             txn_commit_fields(producer, group, topic, version, partition=9),
             f"TxnOffsetCommit v{version} unknown partition")
        both(oracle, ids, "TxnOffsetCommit", version,
             txn_commit_fields(producer, group, topic_name("oracle-toc-missing"), version),
             f"TxnOffsetCommit v{version} unknown topic")
        both(oracle, ids, "TxnOffsetCommit", version,
             txn_commit_fields(producer, "", topic, version),
             f"TxnOffsetCommit v{version} empty group id")
    producer.end(commit=True)
    wait_state(oracle, producer, "CompleteCommit")
    both(oracle, ids, "OffsetFetch", 7, {"group_id": group, "require_stable": True,
                                         "topics": [{"name": topic, "partition_indexes": [0]}]})
    # A formed group: generation and member are checked from v3.
    formed = Formed(oracle, txn_id("oracle-toc-formed"))
    for version in (3, 4):
        answer = both(oracle, ids, "AddOffsetsToTxn", 3, producer.fields(group_id=formed.group))
        assert answer["error_code"] == NONE
        for what, generation, member in (
                ("wrong generation", 99, formed.member),
                ("unknown member", formed.generation, {"kafka": "nobody", "rafka": "nobody"}),
                ("no member, generation -1", -1, {"kafka": "", "rafka": ""}),
                ("the member", formed.generation, formed.member)):
            both(oracle, ids, "TxnOffsetCommit", version, lambda side: txn_commit_fields(
                producer, formed.group, topic, version,
                generation[side] if isinstance(generation, dict) else generation,
                member[side])(side), f"TxnOffsetCommit v{version} {what}")
        producer.end(commit=False)
        wait_state(oracle, producer, "CompleteAbort")


# -- EndTxn -------------------------------------------------------------------------

def test_end_txn_without_open_transaction(oracle):
    ids = ProducerIds()
    producer = ready_producer(oracle, ids, "oracle-end-empty")
    for version in (0, 2, 3, 4):
        for commit in (True, False):
            assert producer.end(commit, version)["error_code"] == INVALID_TXN_STATE
    producer.describe()


def test_end_txn_wrong_producer_and_stale_epoch(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-end-fenced")
    producer = ready_producer(oracle, ids, "oracle-end-fenced")
    producer.init()
    producer.add_partitions({topic: [0]})
    unknown = Producer(oracle, ids, txn_id("oracle-end-unknown"))
    txn_coordinator_ready(oracle, unknown.transactional_id)
    unknown.pid = {side: 4242 for side in SIDES}
    unknown.epoch = {side: 0 for side in SIDES}
    empty = Producer(oracle, ids, "")
    empty.pid, empty.epoch = unknown.pid, unknown.epoch
    for version in (0, 1, 2, 3, 4):
        for commit in (True, False):
            codes = [producer.end(commit, version, pid_offset=1000)["error_code"],
                     producer.end(commit, version, epoch=0)["error_code"],
                     producer.end(commit, version, epoch=7)["error_code"],
                     unknown.end(commit, version)["error_code"],
                     empty.end(commit, version)["error_code"]]
            assert codes == [INVALID_PRODUCER_ID_MAPPING, fenced(version), fenced(version),
                             INVALID_PRODUCER_ID_MAPPING, INVALID_REQUEST]
    assert producer.describe()["transaction_states"][0]["transaction_state"] == "Ongoing"


def test_end_txn_after_completion(oracle):
    """A retried EndTxn of the same kind succeeds; the opposite one is refused."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-end-retry")
    producer = ready_producer(oracle, ids, "oracle-end-retry")
    for commit in (True, False):
        producer.add_partitions({topic: [0]})
        producer.end(commit)
        wait_state(oracle, producer, "CompleteCommit" if commit else "CompleteAbort")
        for version in (0, 3, 4):
            producer.end(commit, version)
            producer.end(not commit, version)
        producer.describe()


def test_end_txn_after_timeout(oracle):
    """A transaction older than its timeout is aborted by the coordinator (which bumps the
    epoch); the producer's commit is then fenced."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-end-timeout")
    producer = ready_producer(oracle, ids, "oracle-end-timeout", timeout_ms=1)
    producer.add_partitions({topic: [0]})
    producer.produce(topic, lambda side: producer.batch(side, b"late"), what="transactional batch")
    # transaction.abort.timed.out.transaction.cleanup.interval.ms: 10 s on both.
    wait_state(oracle, producer, "CompleteAbort")
    producer.describe()
    for version in (0, 2, 3, 4):
        answer = producer.end(True, version)
        assert answer["error_code"] in (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED)
        producer.end(False, version)
    both(oracle, ids, "Fetch", 12, fetch_fields(topic, isolation_level=1))
    both(oracle, ids, "Fetch", 12, fetch_fields(topic, isolation_level=0))


# -- DescribeTransactions / ListTransactions / DescribeProducers -------------------------

def test_describe_transactions(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-dt", partitions=3)
    unknown = txn_id("oracle-dt-unknown")
    txn_coordinator_ready(oracle, unknown)
    answer = both(oracle, ids, "DescribeTransactions", 0, {"transactional_ids": [unknown]})
    assert answer["transaction_states"][0]["error_code"] == TRANSACTIONAL_ID_NOT_FOUND
    both(oracle, ids, "DescribeTransactions", 0, {"transactional_ids": [""]})
    both(oracle, ids, "DescribeTransactions", 0, {"transactional_ids": []})
    producer = ready_producer(oracle, ids, "oracle-dt")
    producer.describe()
    producer.add_partitions({topic: [2, 0]})
    producer.add_partitions({topic: [1]})
    both(oracle, ids, "DescribeTransactions", 0,
         {"transactional_ids": [producer.transactional_id, unknown, ""]})
    producer.end(commit=True)
    wait_state(oracle, producer, "CompleteCommit")
    producer.describe()


def only(answer: dict, transactional_ids: set[str]) -> dict:
    """The Kafka node is shared by the session's modules: keep this test's ids."""
    answer["transaction_states"] = sorted(
        (t for t in answer["transaction_states"] if t["transactional_id"] in transactional_ids),
        key=lambda t: t["transactional_id"])
    return answer


def test_list_transactions(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-lt")
    ongoing = ready_producer(oracle, ids, "oracle-lt-ongoing")
    ongoing.add_partitions({topic: [0]})
    committed = ready_producer(oracle, ids, "oracle-lt-committed")
    committed.add_partitions({topic: [0]})
    committed.end(commit=True)
    wait_state(oracle, committed, "CompleteCommit")
    empty = ready_producer(oracle, ids, "oracle-lt-empty")
    mine = {p.transactional_id for p in (ongoing, committed, empty)}

    def listed(version: int, what: str, **fields) -> dict:
        def make(side):
            f = dict(fields)
            f.setdefault("state_filters", [])
            pids = f.get("producer_id_filters")
            f["producer_id_filters"] = [pid[side] if isinstance(pid, dict) else pid
                                        for pid in (pids or [])]
            if version >= 1:
                f.setdefault("duration_filter", -1)
            if version >= 2:
                f.setdefault("transactional_id_pattern", None)
            return f
        k = only(oracle.send("kafka", "ListTransactions", version, **make("kafka")), mine)
        r = only(oracle.send("rafka", "ListTransactions", version, **make("rafka")), mine)
        return compare(oracle, ids, k, r, f"ListTransactions v{version} {what}")

    for version in (0, 1):
        listed(version, "everything")
        for states in (["Ongoing"], ["CompleteCommit", "Empty"], ["PrepareCommit"],
                       ["Bogus", "ongoing", "Ongoing"], ["Dead"], ["PrepareEpochFence"]):
            listed(version, f"states {states}", state_filters=states)
        listed(version, "producer id", producer_id_filters=[ongoing.pid])
        listed(version, "producer id and state",
               producer_id_filters=[ongoing.pid, committed.pid], state_filters=["Ongoing"])
        listed(version, "unknown producer id", producer_id_filters=[987_654_321])
    for duration_ms in (0, 1, 3_600_000, -5):
        listed(1, f"duration {duration_ms}", duration_filter=duration_ms)


def test_describe_producers(oracle):
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-dp", partitions=2)
    missing = topic_name("oracle-dp-missing")
    both(oracle, ids, "DescribeProducers", 0, {"topics": [
        {"name": topic, "partition_indexes": [0, 1, 5]},
        {"name": missing, "partition_indexes": [0, 1]},
        {"name": "..", "partition_indexes": [0]}, {"name": "a b", "partition_indexes": [0]},
        {"name": "", "partition_indexes": [0]}, {"name": "x" * 250, "partition_indexes": [0]}]})
    idempotent = idempotent_producer(oracle, ids)
    idempotent.produce(topic, lambda side: idempotent.batch(side, b"a", b"b"), what="idempotent")
    txn = ready_producer(oracle, ids, "oracle-dp-txn")
    txn.add_partitions({topic: [0, 1]})
    txn.produce(topic, lambda side: txn.batch(side, b"t"), what="transactional", partition=1)
    both(oracle, ids, "DescribeProducers", 0,
         {"topics": [{"name": topic, "partition_indexes": [0, 1]}]})
    txn.end(commit=True)
    wait_state(oracle, txn, "CompleteCommit")
    both(oracle, ids, "DescribeProducers", 0,
         {"topics": [{"name": topic, "partition_indexes": [0, 1]}]})


# -- KIP-890: verification and transactions V2 -------------------------------------------

def test_produce_to_a_partition_not_in_the_transaction(oracle):
    """Before Produce v12 the leader only verifies with the coordinator: a partition never
    added is refused (INVALID_TXN_STATE; TRANSACTION_ABORTABLE from v11), and so is a
    producer id the coordinator never handed out."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-verify", partitions=2)
    producer = ready_producer(oracle, ids, "oracle-verify")
    producer.add_partitions({topic: [0]})
    for version in (3, 9, 11):
        answer = producer.produce(topic, lambda side: producer.batch(side, b"x", sequence=0),
                                  version, partition=1, what="partition not added")
        assert partition_error(answer) != NONE
    answer = producer.produce(topic, lambda side: producer.batch(side, b"y"), 9,
                              what="the added partition")
    assert partition_error(answer) == NONE
    stranger = Producer(oracle, ids, producer.transactional_id)
    stranger.pid = {side: producer.pid[side] + 1000 for side in SIDES}
    stranger.epoch = dict(producer.epoch)
    answer = stranger.produce(topic, lambda side: stranger.batch(side, b"z"), 9, partition=1,
                              what="a producer id the coordinator never handed out")
    assert partition_error(answer) != NONE
    both(oracle, ids, "Fetch", 12, fetch_fields(topic, partition=1))


def test_txn_offset_commit_is_verified(oracle):
    """Before TxnOffsetCommit v5 the group coordinator verifies that AddOffsetsToTxn
    added the offsets partition, and the producer's epoch."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-toc-verify")
    group = txn_id("oracle-toc-verify-group")
    group_coordinator_ready(oracle, group)
    producer = ready_producer(oracle, ids, "oracle-toc-verify")
    for version in (0, 3, 4):
        answer = both(oracle, ids, "TxnOffsetCommit", version,
                      txn_commit_fields(producer, group, topic, version),
                      f"TxnOffsetCommit v{version} without AddOffsetsToTxn")
        assert answer["topics"][0]["partitions"][0]["error_code"] != NONE
    assert both(oracle, ids, "AddOffsetsToTxn", 3,
                producer.fields(group_id=group))["error_code"] == NONE
    for version in (0, 3, 4):
        stale = {side: producer.epoch[side] - 1 for side in SIDES}
        both(oracle, ids, "TxnOffsetCommit", version,
             lambda side: txn_commit_fields(producer, group, topic, version,
                                            epoch=stale[side])(side),
             f"TxnOffsetCommit v{version} at a stale epoch")


def test_transactions_v2_produce_commit_and_bump(oracle):
    """A transactions V2 client: Produce v12 adds the partition itself, TxnOffsetCommit v5
    the offsets partition, EndTxn v5 bumps the epoch and answers it; the next transaction
    runs at the new epoch from sequence 0."""
    ids = ProducerIds()
    topic = txn_topic(oracle, "oracle-tv2")
    group = txn_id("oracle-tv2-group")
    group_coordinator_ready(oracle, group)
    producer = ready_producer(oracle, ids, "oracle-tv2")
    for round_ in range(2):
        answer = producer.produce(topic, lambda side: producer.batch(side, b"v%d" % round_),
                                  12, what=f"Produce v12, transaction {round_}")
        assert partition_error(answer) == NONE
        answer = both(oracle, ids, "TxnOffsetCommit", 5,
                      txn_commit_fields(producer, group, topic, 5),
                      f"TxnOffsetCommit v5, transaction {round_}")
        assert answer["topics"][0]["partitions"][0]["error_code"] == NONE
        answer = producer.end(commit=round_ == 0, version=5)
        assert answer["error_code"] == NONE
        for side in SIDES:
            producer.epoch[side] += 1
            producer.sequence[side] = 0
        assert answer["producer_epoch"] == producer.epoch["kafka"]
        wait_state(oracle, producer, "CompleteCommit" if round_ == 0 else "CompleteAbort")
    producer.describe()
    both(oracle, ids, "Fetch", 12, fetch_fields(topic, isolation_level=1))
    both(oracle, ids, "OffsetFetch", 7, {"group_id": group, "require_stable": True,
                                         "topics": [{"name": topic, "partition_indexes": [0]}]})
