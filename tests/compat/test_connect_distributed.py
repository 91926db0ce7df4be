"""Kafka Connect in distributed mode (`rafka connect-distributed`) against a real broker:
the three internal topics in Kafka's formats, connectors spread over two workers of one
group, writes to a follower forwarded to the leader, a worker killed with SIGKILL whose
work moves to the survivor after `scheduled.rebalance.max.delay.ms`, and a restarted
cluster resuming from its topics. Clients are confluent-kafka, the shipped tools and
plain HTTP (urllib).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from compat_helpers import wait_until
from conftest import rafka_bin
from connect_helpers import ConnectWorker, request, schema_line
from test_connect_standalone import consume_values
from test_connect_standalone import wait_state as standalone_wait_state

ROOT = Path(__file__).resolve().parents[2]


def wait_state(worker, name, connector_state, task_states=None, timeout_s=60.0):
    return standalone_wait_state(worker, name, connector_state, task_states, timeout_s,
                                 allow_missing=True)


def cluster_keys(group: str, **extra: str) -> dict[str, str]:
    keys = {
        "group.id": group,
        "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets",
        "status.storage.topic": f"{group}-status",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1",
        "scheduled.rebalance.max.delay.ms": "3000",
    }
    keys.update(extra)
    return keys


def start_workers(broker, tmp_path: Path, group: str, count: int, **extra: str):
    workers = [ConnectWorker(tmp_path / f"w{i}", broker.bootstrap,
                             distributed=cluster_keys(group, **extra)) for i in range(count)]
    for w in workers:
        w.start()
    return workers


def read_topic(bootstrap: str, topic: str, partitions: int) -> list[tuple[str, dict | None]]:
    """Every (key, JSON value) of an internal topic, in offset order per partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    out = []
    try:
        for p in range(partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high == 0:
                continue
            consumer.assign([TopicPartition(topic, p, 0)])
            seen = 0
            while seen < high:
                msg = consumer.poll(5)
                assert msg is not None, f"{topic}-{p}: read {seen} of {high}"
                if msg.error():
                    continue
                seen = msg.offset() + 1
                value = msg.value()
                out.append((msg.key().decode(), None if value is None else json.loads(value)))
    finally:
        consumer.close()
    return out


def file_source(topic: str, path: Path, tasks: int = 1) -> dict:
    return {"connector.class": "FileStreamSource", "tasks.max": str(tasks),
            "file": str(path), "topic": topic}


def create_file_sources(workers, tmp_path: Path, topic: str, name: str, line: str,
                        lines: int) -> list[Path]:
    """Four one-task FileStreamSource connectors `<name>0..3` reading files of `lines`
    lines `<line><i>-<n>`; every second request goes to the next worker (a follower
    forwards it to the leader)."""
    files = []
    for i in range(4):
        path = tmp_path / f"in{i}.txt"
        path.write_text("".join(f"{line}{i}-{n}\n" for n in range(lines)))
        files.append(path)
        code, info = request(workers[i % len(workers)], "POST", "/connectors",
                             {"name": f"{name}{i}", "config": file_source(topic, path)})
        assert code == 201, info
        assert info["name"] == f"{name}{i}"
    return files


def stop_all(workers):
    for w in workers:
        if w.proc is not None and w.proc.poll() is None:
            w.stop()


def test_internal_topics_and_record_formats_are_kafkas(broker, tmp_path):
    group = f"connect-{uuid.uuid4().hex[:6]}"
    [worker] = start_workers(broker, tmp_path, group, 1)
    try:
        listed = subprocess.run([str(ROOT / "bin/kafka-topics.sh"), "--bootstrap-server",
                                 broker.bootstrap, "--list"], capture_output=True, text=True,
                                timeout=60, check=True).stdout.split()
        for suffix in ("configs", "offsets", "status"):
            assert f"{group}-{suffix}" in listed, listed
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        metadata = admin.list_topics(timeout=10).topics
        assert len(metadata[f"{group}-configs"].partitions) == 1
        assert len(metadata[f"{group}-offsets"].partitions) == 25
        assert len(metadata[f"{group}-status"].partitions) == 5
        resources = [ConfigResource("topic", f"{group}-{s}") for s in ("configs", "offsets", "status")]
        for resource, future in admin.describe_configs(resources).items():
            assert future.result()["cleanup.policy"].value == "compact", resource

        source = tmp_path / "in.txt"
        source.write_text("a\nb\n")
        topic = f"out-{uuid.uuid4().hex[:6]}"
        code, info = request(worker, "POST", "/connectors",
                             {"name": "src", "config": file_source(topic, source)})
        assert code == 201, info
        assert info == {"name": "src", "config": {**file_source(topic, source), "name": "src"},
                        "tasks": [], "type": "source"}
        status = wait_state(worker, "src", "RUNNING", ["RUNNING"])
        assert status["connector"]["worker_id"] == f"127.0.0.1:{worker.port}"
        assert [v for _, v in consume_values(broker.bootstrap, topic, 2)] == \
            [schema_line("a").encode(), schema_line("b").encode()]

        def offsets_flushed():
            records = read_topic(broker.bootstrap, f"{group}-offsets", 25)
            return records if any(v == {"position": 4} for _, v in records) else None
        offsets = wait_until(offsets_flushed, timeout_s=30, what="the source offset")
        assert offsets[-1] == (json.dumps(["src", {"filename": str(source)}],
                                          separators=(",", ":")), {"position": 4})

        configs = read_topic(broker.bootstrap, f"{group}-configs", 1)
        keys = [k for k, _ in configs]
        assert ("connector-src", {"properties": {**file_source(topic, source), "name": "src"}}) \
            in configs
        assert keys.index("connector-src") < keys.index("task-src-0") < keys.index("commit-src")
        task = dict(configs)["task-src-0"]["properties"]
        assert task["task.class"] == "org.apache.kafka.connect.file.FileStreamSourceTask"
        assert dict(configs)["commit-src"] == {"tasks": 1}

        def running_status():
            records = dict(read_topic(broker.bootstrap, f"{group}-status", 5))
            value = records.get("status-task-src-0")
            return records if value and value["state"] == "RUNNING" else None
        statuses = wait_until(running_status, timeout_s=30, what="the task's status record")
        assert statuses["status-connector-src"]["state"] == "RUNNING"
        assert statuses["status-task-src-0"]["worker_id"] == f"127.0.0.1:{worker.port}"
        assert isinstance(statuses["status-task-src-0"]["generation"], int)

        assert request(worker, "PUT", "/connectors/src/pause")[0] == 202
        wait_state(worker, "src", "PAUSED", ["PAUSED"])
        assert dict(read_topic(broker.bootstrap, f"{group}-configs", 1))["target-state-src"] \
            == {"state": "PAUSED", "state.v2": "PAUSED"}
        assert request(worker, "PUT", "/connectors/src/stop")[0] == 204
        wait_state(worker, "src", "STOPPED", [])
        assert request(worker, "GET", "/connectors/src/tasks") == (200, [])
        assert request(worker, "DELETE", "/connectors/src")[0] == 204
        wait_until(lambda: request(worker, "GET", "/connectors")[1] == [], timeout_s=30,
                   what="the connector gone")
        assert dict(read_topic(broker.bootstrap, f"{group}-configs", 1))["connector-src"] is None
    finally:
        stop_all([worker])


def test_two_workers_share_forward_and_survive_a_kill(broker, tmp_path):
    group = f"connect-{uuid.uuid4().hex[:6]}"
    workers = start_workers(broker, tmp_path, group, 2)
    try:
        topic = f"out-{uuid.uuid4().hex[:6]}"
        # Four one-task connectors: the assignor gives each worker two.
        files = create_file_sources(workers, tmp_path, topic, "src", "c", 50)
        code, body = request(workers[0], "POST", "/connectors",
                             {"name": "src0", "config": file_source(topic, files[0])})
        assert (code, body) == (409, {"error_code": 409, "message": "Connector src0 already exists"})

        def spread():
            owners = {}
            for i in range(4):
                code, status = request(workers[0], "GET", f"/connectors/src{i}/status")
                if code != 200 or [t["state"] for t in status["tasks"]] != ["RUNNING"]:
                    return None
                owners[f"src{i}"] = status["tasks"][0]["worker_id"]
            return owners if len(set(owners.values())) == 2 else None
        owners = wait_until(spread, timeout_s=60, what="the tasks spread over both workers")
        # Both workers answer the same (reads from the config and status topics).
        assert sorted(request(workers[1], "GET", "/connectors")[1]) == [f"src{i}" for i in range(4)]
        assert all(request(w, "GET", "/connectors/src2/status")[1]["tasks"][0]["worker_id"]
                   == owners["src2"] for w in workers)
        assert len(consume_values(broker.bootstrap, topic, 200)) == 200

        victim, survivor = workers[1], workers[0]
        victim_id = f"127.0.0.1:{victim.port}"
        victim_connectors = [c for c, w in owners.items() if w == victim_id]
        assert victim_connectors
        victim.kill()
        for path, i in zip(files, range(4)):
            with open(path, "a") as f:
                f.write("".join(f"c{i}-late{n}\n" for n in range(10)))

        def moved():
            for i in range(4):
                code, status = request(survivor, "GET", f"/connectors/src{i}/status")
                tasks = status["tasks"] if code == 200 else []
                if [(t["state"], t["worker_id"]) for t in tasks] != \
                        [("RUNNING", f"127.0.0.1:{survivor.port}")]:
                    return None
            return True
        # The lost worker's work waits out the 3 s delay (and the session timeout).
        wait_until(moved, timeout_s=90, what=f"{victim_connectors} moved to the survivor")
        records = consume_values(broker.bootstrap, topic, 240, timeout_s=60)
        lines = sorted(json.loads(v)["payload"] for _, v in records)
        expected = sorted([f"c{i}-{n}" for i in range(4) for n in range(50)]
                          + [f"c{i}-late{n}" for i in range(4) for n in range(10)])
        # At least once: every line is there (a killed worker may have sent a few lines
        # whose offsets it never flushed, which its successor sends again).
        assert set(lines) == set(expected)
        assert len(lines) >= 240
    finally:
        stop_all(workers)


def test_restarted_cluster_resumes_from_its_topics(broker, tmp_path):
    group = f"connect-{uuid.uuid4().hex[:6]}"
    topic = f"out-{uuid.uuid4().hex[:6]}"
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\n")
    [worker] = start_workers(broker, tmp_path, group, 1)
    try:
        assert request(worker, "POST", "/connectors",
                       {"name": "src", "config": file_source(topic, source)})[0] == 201
        wait_state(worker, "src", "RUNNING", ["RUNNING"])
        assert len(consume_values(broker.bootstrap, topic, 2)) == 2
    finally:
        assert worker.stop() == 0  # SIGTERM: offsets flushed, statuses UNASSIGNED
    with open(source, "a") as f:
        f.write("three\n")
    [worker] = start_workers(broker, tmp_path / "again", group, 1)
    try:
        wait_state(worker, "src", "RUNNING", ["RUNNING"], timeout_s=60)
        values = [json.loads(v)["payload"] for _, v in consume_values(broker.bootstrap, topic, 3)]
        assert values == ["one", "two", "three"]
    finally:
        stop_all([worker])


def test_missing_required_keys_stop_the_worker(tmp_path):
    config = tmp_path / "w.properties"
    config.write_text("bootstrap.servers=127.0.0.1:1\ngroup.id=g\n")
    out = subprocess.run([str(rafka_bin()), "connect-distributed", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert 'Missing required configuration "config.storage.topic" which has no default value.' \
        in out.stderr


def test_shipped_distributed_config_and_scripts():
    props = (ROOT / "config/connect-distributed.properties").read_text()
    for line in ("group.id=connect-cluster", "config.storage.topic=connect-configs",
                 "offset.storage.topic=connect-offsets", "status.storage.topic=connect-status"):
        assert line in props.splitlines()
    assert os.access(ROOT / "bin/connect-distributed.sh", os.X_OK)
    assert (ROOT / "bin/windows/connect-distributed.bat").exists()
    out = subprocess.run([str(ROOT / "bin/connect-distributed.sh")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert "Usage: ConnectDistributed worker.properties" in out.stderr



def test_a_kafka_worker_and_a_rafka_worker_form_one_cluster(broker, tmp_path):
    """Kafka's own ConnectDistributed (connect-runtime 4.1.1) and `rafka
    connect-distributed` in one group on the same three topics: they agree on the group
    protocol, the assignments and the records, so they share the connectors, each
    answers for the whole cluster, and a request to either is served."""
    from compat_helpers import KAFKA_TOOLS_CLASSPATH, kafka_java_cmd
    if "connect-file" not in KAFKA_TOOLS_CLASSPATH.read_text():
        raise AssertionError(f"{KAFKA_TOOLS_CLASSPATH} lacks connect-file: run scripts/setup-java.sh")
    group = f"mixed-{uuid.uuid4().hex[:6]}"
    kafka = ConnectWorker(tmp_path / "kafka", broker.bootstrap,
                          command=[*kafka_java_cmd(),
                                   "org.apache.kafka.connect.cli.ConnectDistributed"],
                          distributed=cluster_keys(group))
    rafka = ConnectWorker(tmp_path / "rafka", broker.bootstrap, distributed=cluster_keys(group))
    kafka.start()
    rafka.start()
    workers = [kafka, rafka]
    try:
        topic = f"out-{uuid.uuid4().hex[:6]}"
        create_file_sources(workers, tmp_path, topic, "m", "m", 20)
        ids = {f"127.0.0.1:{w.port}" for w in workers}

        def shared():
            owners = set()
            for i in range(4):
                for w in workers:
                    code, status = request(w, "GET", f"/connectors/m{i}/status")
                    if code != 200 or [t["state"] for t in status["tasks"]] != ["RUNNING"]:
                        return None
                    owners.add(status["tasks"][0]["worker_id"])
            return owners if owners == ids else None
        wait_until(shared, timeout_s=90, what="both workers running tasks, seen alike by both")
        assert sorted(request(kafka, "GET", "/connectors")[1]) == \
            sorted(request(rafka, "GET", "/connectors")[1]) == [f"m{i}" for i in range(4)]
        lines = sorted(json.loads(v)["payload"] for _, v in consume_values(broker.bootstrap, topic, 80))
        assert lines == sorted(f"m{i}-{n}" for i in range(4) for n in range(20))
        # A delete sent to either worker reaches the leader, whichever it is.
        assert request(rafka, "DELETE", "/connectors/m0")[0] == 204
        assert request(kafka, "DELETE", "/connectors/m1")[0] == 204
        wait_until(lambda: all(sorted(request(w, "GET", "/connectors")[1]) == ["m2", "m3"]
                               for w in workers), timeout_s=60, what="the deletes seen by both")
    finally:
        stop_all(workers)
