"""Exactly-once source support (KIP-618) of `rafka connect-distributed` against a real
broker: with `exactly.once.source.support=enabled`, a FileStreamSource task writes its
records and its source offsets in one transaction per poll; a read_committed consumer
sees every line exactly once even after the worker running the task is killed with
SIGKILL mid-stream and the task restarts on the other worker; the offsets topic holds
transactional records; the leader writes the `tasks-fencing-*` record and fences the
transactional ids of the previous generation (a producer holding one is fenced); and
validation answers as Kafka's distributed herder does. Clients: confluent-kafka and
plain HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from compat_helpers import wait_until
from connect_helpers import ConnectWorker, request
from test_connect_distributed import cluster_keys, file_source, read_topic, stop_all, wait_state
from test_connect_standalone import consume_values

EOS = {"exactly.once.source.support": "enabled"}


def start_workers(broker, tmp_path: Path, group: str, count: int, **extra: str):
    keys = cluster_keys(group, **{**EOS, **extra})
    workers = [ConnectWorker(tmp_path / f"w{i}", broker.bootstrap, distributed=keys)
               for i in range(count)]
    for w in workers:
        w.start()
    return workers


def committed_payloads(bootstrap: str, topic: str, expected: int, timeout_s: float = 60.0,
                       settle_s: float = 2.0) -> list[str]:
    """Every committed line of `topic` (read_committed), duplicates included."""
    records = consume_values(bootstrap, topic, expected, timeout_s, settle_s,
                             extra={"isolation.level": "read_committed"})
    return [json.loads(value)["payload"] for _, value in records]


def zombie(bootstrap: str, transactional_id: str, topic: str) -> Producer:
    """A transactional producer with `transactional_id` and an open transaction holding
    one record (`zombie-<id>`), as a task of an older generation would leave behind."""
    # A long transaction timeout: only fencing, not the broker's timeout, may end it.
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "transaction.timeout.ms": 600000})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, value=f"zombie-{transactional_id}".encode())
    assert producer.flush(30) == 0
    return producer


def assert_fenced(producer: Producer) -> None:
    with pytest.raises(KafkaException) as raised:
        producer.commit_transaction(30)
    error = raised.value.args[0]
    assert error.fatal() or "fenc" in error.str().lower(), error


def test_validation_is_kafkas_distributed_herders(broker, tmp_path):
    group = f"connect-{uuid.uuid4().hex[:6]}"
    [plain] = [ConnectWorker(tmp_path / "plain", broker.bootstrap,
                             distributed=cluster_keys(group))]
    plain.start()
    try:
        config = {**file_source("t", tmp_path / "in.txt"), "name": "v",
                  "exactly.once.support": "required"}

        def errors(worker, cfg):
            code, body = request(worker, "PUT", "/connector-plugins/FileStreamSource/config/validate",
                                 cfg)
            assert code == 200, body
            return {c["value"]["name"]: c["value"]["errors"] for c in body["configs"]
                    if c["value"]["errors"]}
        assert errors(plain, config) == {
            "exactly.once.support": ["This worker does not have exactly-once source support enabled."]}
        assert errors(plain, {**config, "exactly.once.support": "requested",
                              "transaction.boundary": "connector"}) == {
            "transaction.boundary": ["The connector does not support connector-defined transaction "
                                     "boundaries with the given configuration. Please reconfigure "
                                     "it to use a different transaction boundary definition."]}
        assert list(errors(plain, {**config, "exactly.once.support": "sometimes",
                                   "transaction.boundary": "poll"})) == ["exactly.once.support"]
        code, body = request(plain, "POST", "/connectors", {"name": "v", "config": config})
        assert code == 400 and "This worker does not have exactly-once source support enabled." \
            in body["message"], body
    finally:
        stop_all([plain])

    [enabled] = start_workers(broker, tmp_path / "eos", f"{group}-eos", 1)
    try:
        assert errors(enabled, config) == {}
        # JDBC does not say whether it supports exactly-once (Kafka's null answer).
        jdbc = {"connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector", "name": "j",
                "connection.url": "jdbc:postgresql://127.0.0.1:1/x", "mode": "bulk",
                "topic.prefix": "p-", "exactly.once.support": "required"}
        code, body = request(enabled, "PUT",
                             "/connector-plugins/JdbcSourceConnector/config/validate", jdbc)
        eos = [c["value"]["errors"] for c in body["configs"]
               if c["value"]["name"] == "exactly.once.support"]
        assert eos[0][0].startswith("The connector does not implement the API required for "
                                    "preflight validation of exactly-once source support."), eos
        # The internal fencing request must be signed under `sessioned`, as Kafka's.
        assert request(enabled, "PUT", "/connectors/nope/fence") == (
            400, {"error_code": 400, "message": "Internal request missing required signature"})
    finally:
        stop_all([enabled])


def test_leader_fences_the_previous_generation_and_records_the_task_count(broker, tmp_path):
    group = f"connect-{uuid.uuid4().hex[:6]}"
    topic = f"out-{uuid.uuid4().hex[:6]}"
    workers = start_workers(broker, tmp_path, group, 2)
    zombies = []
    try:
        # A previous generation of `src` had two tasks (as a reconfigured connector's
        # would), and both transactional ids still have open transactions.
        seed = Producer({"bootstrap.servers": broker.bootstrap})
        seed.produce(f"{group}-configs", key=b"tasks-fencing-src", value=b'{"task-count":2}')
        assert seed.flush(30) == 0
        # (Their records go to another topic: an open transaction on `topic` would hold
        # read_committed readers of it back until it ends.)
        zombies = [zombie(broker.bootstrap, f"{group}-src-{task}", f"{topic}-zombie")
                   for task in (0, 1)]

        source = tmp_path / "in.txt"
        source.write_text("".join(f"line-{n}\n" for n in range(100)))
        code, info = request(workers[1], "POST", "/connectors",
                             {"name": "src", "config": file_source(topic, source)})
        assert code == 201, info
        wait_state(workers[0], "src", "RUNNING", ["RUNNING"])
        lines = committed_payloads(broker.bootstrap, topic, 100)
        assert lines == [f"line-{n}" for n in range(100)]

        # Task 1 of the old generation no longer exists: only the leader's round of
        # fencing (InitProducerId for ids 0..2) can have fenced its producer.
        for producer in zombies:
            assert_fenced(producer)
        configs = read_topic(broker.bootstrap, f"{group}-configs", 1)
        keys = [k for k, _ in configs]
        assert dict(configs)["tasks-fencing-src"] == {"task-count": 1}
        # The new count is written after the task configs it fences for.
        assert keys.index("commit-src") < len(keys) - 1 - keys[::-1].index("tasks-fencing-src")
    finally:
        stop_all(workers)


def test_exactly_once_through_a_sigkill_of_the_tasks_worker(broker, tmp_path):
    group = f"connect-{uuid.uuid4().hex[:6]}"
    topic = f"out-{uuid.uuid4().hex[:6]}"
    workers = start_workers(broker, tmp_path, group, 2)
    appending = threading.Event()
    try:
        source = tmp_path / "in.txt"
        source.write_text("".join(f"early-{n}\n" for n in range(20000)))
        code, info = request(workers[0], "POST", "/connectors",
                             {"name": "eos", "config": {**file_source(topic, source),
                                                        "batch.size": "200"}})
        assert code == 201, info
        status = wait_state(workers[0], "eos", "RUNNING", ["RUNNING"])
        owner = status["tasks"][0]["worker_id"]
        victim = next(w for w in workers if f"127.0.0.1:{w.port}" == owner)
        survivor = next(w for w in workers if w is not victim)

        # Lines keep coming while the task's worker dies: the task has records and
        # transactions in flight when it is killed.
        written = []

        def append():
            n = 0
            with open(source, "a") as f:
                while appending.is_set() or n < 3000:
                    f.write("".join(f"late-{n + i}\n" for i in range(50)))
                    f.flush()
                    written.extend(f"late-{n + i}" for i in range(50))
                    n += 50
                    time.sleep(0.01)
        appending.set()
        writer = threading.Thread(target=append)
        writer.start()
        wait_until(lambda: len(committed_payloads(broker.bootstrap, topic, 1, timeout_s=10,
                                                  settle_s=0)) > 0,
                   timeout_s=60, what="the first committed transaction")
        victim.kill()
        appending.clear()
        writer.join(timeout=60)

        def moved():
            code, status = request(survivor, "GET", "/connectors/eos/status")
            tasks = status["tasks"] if code == 200 else []
            return [(t["state"], t["worker_id"]) for t in tasks] == \
                [("RUNNING", f"127.0.0.1:{survivor.port}")]
        wait_until(moved, timeout_s=90, what="the task moved to the survivor")

        expected = [f"early-{n}" for n in range(20000)] + written
        lines = committed_payloads(broker.bootstrap, topic, len(expected), timeout_s=120)
        assert len(lines) == len(expected), (len(lines), len(expected))
        assert lines == expected  # one partition: in order, none twice, none lost

        # The offsets went in the same transactions: every offset record of the task is
        # followed by a transaction marker (read_committed offsets leave gaps).
        offsets = []
        consumer = Consumer({"bootstrap.servers": broker.bootstrap,
                             "group.id": f"check-{uuid.uuid4()}",
                             "isolation.level": "read_committed", "enable.auto.commit": False})
        try:
            for p in range(25):
                _, high = consumer.get_watermark_offsets(TopicPartition(f"{group}-offsets", p),
                                                         timeout=10)
                if high == 0:
                    continue
                consumer.assign([TopicPartition(f"{group}-offsets", p, 0)])
                while True:
                    msg = consumer.poll(2)
                    if msg is None:
                        break
                    if not msg.error():
                        offsets.append((msg.offset(), json.loads(msg.key()), json.loads(msg.value())))
                break
        finally:
            consumer.close()
        assert offsets, "no offset record"
        assert offsets[-1][1] == ["eos", {"filename": str(source)}]
        assert offsets[-1][2] == {"position": source.stat().st_size}
        positions = [o for o, _, _ in offsets]
        assert all(b - a >= 2 for a, b in zip(positions, positions[1:])), positions[:20]
    finally:
        appending.clear()
        stop_all(workers)
