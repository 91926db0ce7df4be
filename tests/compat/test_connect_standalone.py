"""Kafka Connect in standalone mode (`rafka connect-standalone`) against a real broker:
Kafka's quickstart (FileStreamSource → topic with JsonConverter → FileStreamSink), source
offsets and sink commits surviving a worker restart, and every REST endpoint with Kafka's
status codes and error bodies. Clients are confluent-kafka and plain HTTP (urllib).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from compat_helpers import wait_until
from conftest import rafka_bin
from connect_helpers import ConnectWorker, request, schema_line

ROOT = Path(__file__).resolve().parents[2]


def consume_values(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0,
                   settle_s: float = 1.0, extra: dict[str, str] | None = None,
                   ) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of `topic` from the start: waits for `expected`, then reads on a
    little to catch any extra (duplicate) record. `extra`: more consumer keys."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         **(extra or {})})
    consumer.subscribe([topic])
    records: list[tuple[bytes | None, bytes | None]] = []
    deadline = time.monotonic() + timeout_s
    settle_until = None
    try:
        while time.monotonic() < deadline:
            if len(records) >= expected:
                settle_until = settle_until or time.monotonic() + settle_s
                if time.monotonic() > settle_until:
                    break
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            records.append((msg.key(), msg.value()))
    finally:
        consumer.close()
    return records


def wait_for_file(path: Path, lines: list[str], timeout_s: float = 30.0) -> None:
    def check():
        return path.exists() and path.read_text().splitlines() == lines
    try:
        wait_until(check, timeout_s=timeout_s, what=f"{path} to hold {lines}")
    except AssertionError:
        raise AssertionError(f"{path}: {path.read_text() if path.exists() else None!r} != {lines}")


def wait_state(worker, name, connector_state, task_states=None, timeout_s=30.0,
               allow_missing=False):
    """`allow_missing`: a status not written yet (404) is waited out, as distributed
    workers answer until the worker running the connector publishes it."""
    def check():
        code, status = request(worker, "GET", f"/connectors/{name}/status")
        if code == 404 and allow_missing:
            return None
        assert code == 200, status
        tasks = [t["state"] for t in status["tasks"]]
        ok = status["connector"]["state"] == connector_state and (
            task_states is None or tasks == task_states)
        return status if ok else None
    return wait_until(check, timeout_s=timeout_s,
                      what=f"{name} to be {connector_state} with tasks {task_states}")


def test_quickstart_file_source_to_sink_survives_restart(broker, tmp_path):
    topic = f"connect-test-{uuid.uuid4().hex[:8]}"
    source_file = tmp_path / "test.txt"
    sink_file = tmp_path / "test.sink.txt"
    source_file.write_text("foo\nbar\n")
    source_props = tmp_path / "connect-file-source.properties"
    source_props.write_text("name=local-file-source\nconnector.class=FileStreamSource\n"
                            f"tasks.max=1\nfile={source_file}\ntopic={topic}\n")
    # The sink as a JSON file, as Kafka 3.5+ accepts.
    sink_json = tmp_path / "connect-file-sink.json"
    sink_json.write_text(json.dumps({"name": "local-file-sink", "config": {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "tasks.max": "1", "file": str(sink_file), "topics": topic}}))
    worker = ConnectWorker(tmp_path, broker.bootstrap, [source_props, sink_json])
    worker.start()
    try:
        records = consume_values(broker.bootstrap, topic, 2)
        assert records == [(None, schema_line("foo").encode()), (None, schema_line("bar").encode())]
        wait_for_file(sink_file, ["foo", "bar"])

        with open(source_file, "a") as f:
            f.write("baz\n")
        wait_for_file(sink_file, ["foo", "bar", "baz"])

        # The source offset is flushed (offset.flush.interval.ms=500) into Kafka's file format.
        def flushed():
            code, body = request(worker, "GET", "/connectors/local-file-source/offsets")
            assert code == 200, body
            return body == {"offsets": [{"partition": {"filename": str(source_file)},
                                         "offset": {"position": 12}}]}
        wait_until(flushed, what="the source offset of 12 bytes")
        raw = worker.offsets_file.read_bytes()
        assert raw.startswith(b"\xac\xed\x00\x05sr\x00\x11java.util.HashMap")
        assert (b'["local-file-source",{"filename":"' + str(source_file).encode() + b'"}]') in raw
    finally:
        assert worker.stop() == 0, worker.log_tail()

    with open(source_file, "a") as f:
        f.write("qux\n")
    worker.start()
    try:
        wait_for_file(sink_file, ["foo", "bar", "baz", "qux"])
        records = consume_values(broker.bootstrap, topic, 4, settle_s=2.0)
        assert [v for _, v in records] == [schema_line(t).encode()
                                           for t in ["foo", "bar", "baz", "qux"]]
        # The sink committed its offsets at stop: nothing written twice after the restart.
        assert sink_file.read_text() == "foo\nbar\nbaz\nqux\n"
        sink_offsets = {"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0},
                                     "offset": {"kafka_offset": 4}}]}
        wait_until(lambda: request(worker, "GET", "/connectors/local-file-sink/offsets")
                   == (200, sink_offsets), what="the sink's committed offset 4")
    finally:
        assert worker.stop() == 0, worker.log_tail()


@pytest.fixture(scope="module")
def worker(broker, tmp_path_factory):
    w = ConnectWorker(tmp_path_factory.mktemp("connect"), broker.bootstrap)
    w.start()
    yield w
    w.stop()


def test_root_and_plugins(worker):
    code, root = request(worker, "GET", "/")
    assert code == 200
    assert root["version"].startswith("4.") and root["commit"]
    assert root["kafka_cluster_id"]
    code, plugins = request(worker, "GET", "/connector-plugins")
    assert code == 200
    # Confluent's JDBC connectors are built in too; they report rafka's version, as
    # rafka's rewrite rather than Confluent's code.
    jdbc_version = plugins[0]["version"]
    assert jdbc_version.endswith("-rafka"), plugins
    assert plugins == [
        {"class": "io.confluent.connect.jdbc.JdbcSinkConnector", "type": "sink",
         "version": jdbc_version},
        {"class": "io.confluent.connect.jdbc.JdbcSourceConnector", "type": "source",
         "version": jdbc_version},
        {"class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "type": "sink",
         "version": root["version"]},
        {"class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "type": "source",
         "version": root["version"]},
    ]
    code, everything = request(worker, "GET", "/connector-plugins?connectorsOnly=false")
    types = {p["type"] for p in everything}
    assert types == {"sink", "source", "converter", "header_converter", "transformation",
                     "predicate"}
    assert {"class": "org.apache.kafka.connect.transforms.Filter", "type": "transformation",
            "version": root["version"]} in everything
    code, keys = request(worker, "GET", "/connector-plugins/FileStreamSourceConnector/config")
    assert code == 200
    # The connector's keys, then the framework's (as Kafka 4.1 lists them).
    names = [k["name"] for k in keys]
    assert names[:5] == ["file", "topic", "batch.size", "name", "connector.class"]
    assert "exactly.once.support" in names and "topics" not in names
    assert keys[2]["default_value"] == "2000" and keys[2]["type"] == "INT"
    assert keys[4]["group"] == "Common" and keys[4]["width"] == "LONG" and keys[4]["order"] == 2
    assert request(worker, "GET", "/connector-plugins/NoSuch/config")[0] == 404

    code, result = request(worker, "PUT", "/connector-plugins/FileStreamSource/config/validate",
                           {"connector.class": "FileStreamSource", "name": "v"})
    assert code == 200
    assert result["name"] == "FileStreamSource"  # as given, as Kafka names it
    assert result["error_count"] == 1
    assert "Common" in result["groups"]
    topic = next(c for c in result["configs"] if c["definition"]["name"] == "topic")
    assert topic["value"]["errors"] == [
        'Missing required configuration "topic" which has no default value.']
    code, body = request(worker, "PUT", "/connector-plugins/FileStreamSink/config/validate",
                         {"connector.class": "FileStreamSource"})
    assert code == 400 and body["error_code"] == 400
    assert "does not match request type FileStreamSink" in body["message"]


def test_connector_errors(worker, tmp_path):
    code, body = request(worker, "POST", "/connectors",
                         {"name": "bad", "config": {"connector.class": "com.example.Nope"}})
    assert code == 400
    assert body["error_code"] == 400
    assert body["message"].startswith(
        "Failed to find any class that implements Connector and which name matches "
        "com.example.Nope, available connectors are: ")
    assert "FileStreamSourceConnector" in body["message"]

    code, body = request(worker, "POST", "/connectors",
                         {"name": "bad", "config": {"connector.class": "FileStreamSource",
                                                    "tasks.max": "0"}})
    assert code == 400
    assert body["message"] == (
        "Connector configuration is invalid and contains the following 2 error(s):\n"
        "Invalid value 0 for configuration tasks.max: Value must be at least 1\n"
        'Missing required configuration "topic" which has no default value.\n'
        "You can also find the above list of errors at the endpoint "
        "`/connector-plugins/{connectorType}/config/validate`")
    code, body = request(worker, "POST", "/connectors",
                         {"config": {"connector.class": "FileStreamSink", "topics": "t"}})
    assert (code, body["message"]) == (400, (
        "Connector configuration is invalid and contains the following 1 error(s):\n"
        "Invalid value  for configuration name: String may not be empty\n"
        "You can also find the above list of errors at the endpoint "
        "`/connector-plugins/{connectorType}/config/validate`"))
    assert request(worker, "GET", "/connectors/bad")[1] == {
        "error_code": 404, "message": "Connector bad not found"}
    for method, path in [("GET", "/connectors/none/status"), ("GET", "/connectors/none/config"),
                         ("GET", "/connectors/none/tasks"), ("PUT", "/connectors/none/pause"),
                         ("PUT", "/connectors/none/resume"), ("PUT", "/connectors/none/stop"),
                         ("POST", "/connectors/none/restart"), ("DELETE", "/connectors/none"),
                         ("GET", "/connectors/none/offsets"), ("GET", "/connectors/none/topics"),
                         ("PATCH", "/connectors/none/config")]:
        code, body = request(worker, method, path, {} if method == "PATCH" else None)
        message = ("No status found for connector none" if path.endswith("/status")
                   else "Connector none not found")
        assert (code, body) == (404, {"error_code": 404, "message": message}), (method, path)
    assert request(worker, "GET", "/no/such/route")[0] == 404


def test_lifecycle_offsets_and_topics(worker, broker, tmp_path):
    topic = f"rest-{uuid.uuid4().hex[:8]}"
    source_file = tmp_path / "in.txt"
    source_file.write_text("one\ntwo\nthree\n")
    config = {"connector.class": "FileStreamSource", "tasks.max": "1",
              "file": str(source_file), "topic": topic}
    headers: dict = {}
    code, info = request(worker, "POST", "/connectors", {"name": "src", "config": config},
                         headers)
    assert code == 201, info
    assert headers["location"].endswith("/connectors/src")
    assert info == {"name": "src", "config": {**config, "name": "src"},
                    "tasks": [{"connector": "src", "task": 0}], "type": "source"}
    assert request(worker, "POST", "/connectors", {"name": "src", "config": config}) == (
        409, {"error_code": 409, "message": "Connector src already exists"})
    assert "src" in request(worker, "GET", "/connectors")[1]

    status = wait_state(worker, "src", "RUNNING", ["RUNNING"])
    assert status["type"] == "source"
    assert status["connector"]["worker_id"] == f"127.0.0.1:{worker.port}"
    assert "trace" not in status["connector"]
    assert request(worker, "GET", "/connectors/src/tasks/0/status")[1] == {
        "id": 0, "state": "RUNNING", "worker_id": f"127.0.0.1:{worker.port}", "version": "4.1.1"}
    assert request(worker, "GET", "/connectors/src/tasks/5/status") == (
        404, {"error_code": 404, "message": "No status found for task src-5"})
    code, tasks = request(worker, "GET", "/connectors/src/tasks")
    assert tasks[0]["id"] == {"connector": "src", "task": 0}
    assert tasks[0]["config"]["task.class"] == \
        "org.apache.kafka.connect.file.FileStreamSourceTask"
    assert tasks[0]["config"]["topic"] == topic
    code, expanded = request(worker, "GET", "/connectors?expand=status&expand=info")
    assert expanded["src"]["info"]["type"] == "source"
    assert expanded["src"]["status"]["connector"]["state"] == "RUNNING"

    assert len(consume_values(broker.bootstrap, topic, 3)) == 3
    assert request(worker, "GET", "/connectors/src/topics") == (200, {"src": {"topics": [topic]}})
    assert request(worker, "PUT", "/connectors/src/topics/reset")[0] == 202
    assert request(worker, "GET", "/connectors/src/topics") == (200, {"src": {"topics": []}})

    assert request(worker, "PUT", "/connectors/src/pause")[0] == 202
    wait_state(worker, "src", "PAUSED", ["PAUSED"])
    assert request(worker, "PUT", "/connectors/src/resume")[0] == 202
    wait_state(worker, "src", "RUNNING", ["RUNNING"])
    assert request(worker, "POST", "/connectors/src/restart")[0] == 204
    code, plan = request(worker, "POST", "/connectors/src/restart?includeTasks=true")
    assert code == 202
    assert plan["connector"]["state"] == "RESTARTING"
    assert [t["state"] for t in plan["tasks"]] == ["RESTARTING"]
    wait_state(worker, "src", "RUNNING", ["RUNNING"])
    assert request(worker, "POST", "/connectors/src/tasks/0/restart")[0] == 204
    assert request(worker, "POST", "/connectors/src/tasks/7/restart")[0] == 404

    # Offsets (KIP-875): readable while running, changed only when STOPPED.
    position = {"partition": {"filename": str(source_file)}, "offset": {"position": 14}}
    wait_until(lambda: request(worker, "GET", "/connectors/src/offsets")[1] ==
               {"offsets": [position]}, what="the flushed offset")
    code, body = request(worker, "DELETE", "/connectors/src/offsets")
    assert code == 400
    assert body["message"].startswith(
        "Connectors must be in the STOPPED state before their offsets can be modified.")
    assert request(worker, "PUT", "/connectors/src/stop")[0] == 204
    status = wait_state(worker, "src", "STOPPED", [])
    assert request(worker, "GET", "/connectors/src/tasks")[1] == []
    patched = {"partition": {"filename": str(source_file)}, "offset": {"position": 4}}
    assert request(worker, "PATCH", "/connectors/src/offsets", {"offsets": [patched]}) == (
        200, {"message": "The offsets for this connector have been altered successfully"})
    assert request(worker, "GET", "/connectors/src/offsets")[1] == {"offsets": [patched]}
    # Resumed from position 4: "two" and "three" again, not "one".
    assert request(worker, "PUT", "/connectors/src/resume")[0] == 202
    wait_state(worker, "src", "RUNNING", ["RUNNING"])
    values = [json.loads(v)["payload"] for _, v in consume_values(broker.bootstrap, topic, 5)]
    assert values == ["one", "two", "three", "two", "three"]
    assert request(worker, "PUT", "/connectors/src/stop")[0] == 204
    wait_state(worker, "src", "STOPPED", [])
    assert request(worker, "DELETE", "/connectors/src/offsets") == (
        200, {"message": "The offsets for this connector have been reset successfully"})
    assert request(worker, "GET", "/connectors/src/offsets")[1] == {"offsets": []}

    # Config PUT (200 on update, 201 on create) and PATCH (null removes a key).
    code, info = request(worker, "PUT", "/connectors/src/config", {**config, "batch.size": "1"})
    assert code == 200 and info["config"]["batch.size"] == "1"
    code, info = request(worker, "PATCH", "/connectors/src/config", {"batch.size": None})
    assert code == 200 and "batch.size" not in info["config"]
    assert request(worker, "GET", "/connectors/src/config")[1] == {**config, "name": "src"}
    code, info = request(worker, "PUT", "/connectors/src2/config", {**config, "topic": topic + "-2"})
    assert code == 201
    code, body = request(worker, "PUT", "/connectors/src3/config", {**config, "name": "other"})
    assert code == 400 and "doesn't match connector name in the URL (src3)" in body["message"]
    for name in ["src", "src2"]:
        assert request(worker, "DELETE", f"/connectors/{name}")[0] == 204
        assert request(worker, "GET", f"/connectors/{name}")[0] == 404


def test_failed_task_has_a_trace_and_runs_again_after_restart(worker, broker, tmp_path):
    topic = f"fail-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "later.txt"
    path.mkdir()  # a directory: reading it fails the task
    code, _ = request(worker, "POST", "/connectors", {"name": "failing", "config": {
        "connector.class": "FileStreamSource", "file": str(path), "topic": topic}})
    assert code == 201
    status = wait_state(worker, "failing", "RUNNING", ["FAILED"])
    assert status["tasks"][0]["trace"].startswith(
        "org.apache.kafka.connect.errors.ConnectException: Error while reading from file")
    path.rmdir()
    path.write_text("now\n")
    code, plan = request(worker, "POST",
                         "/connectors/failing/restart?includeTasks=true&onlyFailed=true")
    assert code == 202
    assert plan["connector"]["state"] == "RUNNING"  # only the failed task restarts
    assert plan["tasks"][0]["state"] == "RESTARTING"
    wait_state(worker, "failing", "RUNNING", ["RUNNING"])
    assert [json.loads(v)["payload"] for _, v in consume_values(broker.bootstrap, topic, 1)] == \
        ["now"]
    assert request(worker, "DELETE", "/connectors/failing")[0] == 204


def test_sink_error_tolerance_and_dead_letter_queue(worker, broker, tmp_path):
    topic = f"sink-in-{uuid.uuid4().hex[:8]}"
    dlq = f"dlq-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for value in [schema_line("good1").encode(), b"not json", schema_line("good2").encode()]:
        producer.produce(topic, value=value)
    producer.flush(10)

    strict_file = tmp_path / "strict.txt"
    code, _ = request(worker, "POST", "/connectors", {"name": "strict", "config": {
        "connector.class": "FileStreamSink", "topics": topic, "file": str(strict_file)}})
    assert code == 201
    status = wait_state(worker, "strict", "RUNNING", ["FAILED"])
    assert "Tolerance exceeded in error handler" in status["tasks"][0]["trace"]
    assert request(worker, "DELETE", "/connectors/strict")[0] == 204

    tolerant_file = tmp_path / "tolerant.txt"
    code, _ = request(worker, "POST", "/connectors", {"name": "tolerant", "config": {
        "connector.class": "FileStreamSink", "topics": topic, "file": str(tolerant_file),
        "errors.tolerance": "all", "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true"}})
    assert code == 201
    wait_for_file(tolerant_file, ["good1", "good2"])
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"d-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([dlq])
    msg = wait_until(lambda: (lambda m: m if m is not None and not m.error() else None)(
        consumer.poll(0.5)), timeout_s=30, what="the DLQ record")
    consumer.close()
    assert msg.value() == b"not json"
    headers = {k: v for k, v in msg.headers()}
    assert headers["__connect.errors.topic"] == topic.encode()
    assert headers["__connect.errors.offset"] == b"1"
    assert headers["__connect.errors.stage"] == b"VALUE_CONVERTER"
    assert headers["__connect.errors.connector.name"] == b"tolerant"
    assert headers["__connect.errors.exception.class.name"] == \
        b"org.apache.kafka.connect.errors.DataException"
    assert request(worker, "DELETE", "/connectors/tolerant")[0] == 204


def test_loggers(worker):
    code, loggers = request(worker, "GET", "/admin/loggers")
    assert code == 200 and loggers["root"]["level"] == "INFO"
    code, changed = request(worker, "PUT", "/admin/loggers/org.apache.kafka.connect",
                            {"level": "DEBUG"})
    assert (code, changed) == (200, ["org.apache.kafka.connect"])
    code, one = request(worker, "GET", "/admin/loggers/org.apache.kafka.connect")
    assert code == 200 and one["level"] == "DEBUG" and one["last_modified"] > 0
    assert request(worker, "GET", "/admin/loggers/no.such.logger")[0] == 404
    assert request(worker, "PUT", "/admin/loggers/x", {})[1] == {
        "error_code": 400, "message": "Desired 'level' parameter was not specified in request."}


def test_shipped_configs_and_scripts_are_kafkas():
    props = (ROOT / "config/connect-standalone.properties").read_text()
    assert "offset.storage.file.filename=/tmp/connect.offsets" in props
    assert "name=local-file-source" in (ROOT / "config/connect-file-source.properties").read_text()
    assert "topics=connect-test" in (ROOT / "config/connect-file-sink.properties").read_text()
    assert os.access(ROOT / "bin/connect-standalone.sh", os.X_OK)
    out = subprocess.run([str(ROOT / "bin/connect-standalone.sh")], capture_output=True,
                         env={**os.environ, "RAFKA_BIN": str(rafka_bin())}, text=True)
    assert out.returncode != 0 and "Usage: ConnectStandalone worker.properties" in out.stderr
