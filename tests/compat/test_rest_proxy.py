"""Confluent's REST Proxy (`rafka rest-proxy kafka-rest.properties`) against a real rafka
broker, over plain HTTP: API v2 produce in the binary and JSON formats read back with a
native confluent-kafka consumer, v2 metadata, v2 consumer instances (alone, in a group
with a native consumer, and expiring when idle), API v3 clusters/brokers/topics/configs
checked against `kafka-topics.sh --describe`, v3 produce (streamed and batch), consumer
group lags checked against `kafka-consumer-groups.sh --describe`, and the error answers
(status, `error_code`, message) for bad input.
"""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from compat_helpers import (confluent_admin, confluent_consume, confluent_create_topic,
                            wait_until)
from conftest import free_port, rafka_bin

ROOT = Path(__file__).resolve().parents[2]
V2 = "application/vnd.kafka.v2+json"
V2_BINARY = "application/vnd.kafka.binary.v2+json"
V2_JSON = "application/vnd.kafka.json.v2+json"
JSON = "application/json"


class Proxy:
    """One `rafka rest-proxy` process on a free loopback port."""

    def __init__(self, broker, workdir: Path, extra: dict[str, str] | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        props = {"bootstrap.servers": broker.bootstrap,
                 "listeners": f"http://127.0.0.1:{self.port}", **(extra or {})}
        config = workdir / "kafka-rest.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        self.log_path = workdir / "rest-proxy.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(rafka_bin()), "rest-proxy", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 30, "the REST proxy's port")

    def _ready(self):
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")
        return self.call("GET", "/v3/clusters")[0] == 200

    def call(self, method: str, path: str, body=None, content_type: str | None = None,
             accept: str | None = None, raw: bytes | None = None, timeout: float = 30):
        """(status, headers, parsed JSON or text) of one request."""
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            content_type = content_type or JSON
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if accept:
            request.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, headers, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            status, headers, text = e.code, e.headers, e.read()
        try:
            return status, headers, json.loads(text) if text else None
        except ValueError:
            return status, headers, text.decode()

    def stop(self) -> None:
        """SIGTERM: the proxy finishes its requests, closes its consumers and exits 0."""
        self.proc.terminate()
        code = self.proc.wait(30)
        self.log.close()
        assert code == 0, self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def proxy(broker, tmp_path_factory):
    p = Proxy(broker, tmp_path_factory.mktemp("rest-proxy"))
    yield p
    p.stop()


def new_topic(broker, prefix: str, partitions: int = 1, config: dict | None = None) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    confluent_create_topic(confluent_admin(broker.bootstrap), name, partitions, config)
    return name


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def script(name: str, *args: str) -> str:
    return subprocess.run([str(ROOT / "bin" / name), *args], capture_output=True, text=True,
                          timeout=120, check=True).stdout


def assert_error(answer, status: int, error_code: int, message: str | None = None) -> None:
    got_status, _, body = answer
    assert got_status == status, answer
    assert body["error_code"] == error_code, body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body


# ---- API v2: produce ----------------------------------------------------------------

def test_v2_produce_binary_and_json_reads_back_natively(proxy, broker):
    topic = new_topic(broker, "rest-v2", 2)
    records = [{"key": b64(b"k0"), "value": b64(b"\x00\x01binary"), "partition": 1},
               {"value": b64(b"no key"), "partition": 0},
               {"key": None, "value": None, "partition": 1}]
    status, headers, body = proxy.call("POST", f"/topics/{topic}", {"records": records},
                                       content_type=V2_BINARY)
    assert status == 200, body
    assert headers["Content-Type"] == V2
    assert body["key_schema_id"] is None and body["value_schema_id"] is None
    assert body["offsets"] == [
        {"partition": 1, "offset": 0, "error_code": None, "error": None},
        {"partition": 0, "offset": 0, "error_code": None, "error": None},
        {"partition": 1, "offset": 1, "error_code": None, "error": None},
    ]
    status, _, body = proxy.call("POST", f"/topics/{topic}/partitions/0",
                                 {"records": [{"key": {"id": 7}, "value": {"a": [1, "x"]}},
                                              {"value": "text"}]},
                                 content_type=V2_JSON)
    assert status == 200, body
    assert [(o["partition"], o["offset"]) for o in body["offsets"]] == [(0, 1), (0, 2)]
    got = {(r.partition, r.offset): (r.key, r.value)
           for r in confluent_consume(broker.bootstrap, topic, [0, 1])}
    assert got == {
        (1, 0): (b"k0", b"\x00\x01binary"),
        (0, 0): (None, b"no key"),
        (1, 1): (None, None),
        (0, 1): (b'{"id":7}', b'{"a":[1,"x"]}'),
        (0, 2): (None, b'"text"'),
    }


def test_v2_bad_input_answers_confluents_errors_and_disturbs_nothing(proxy, broker):
    topic = new_topic(broker, "rest-bad", 1, {"max.message.bytes": "2000"})
    post = lambda path, raw, ct=V2_BINARY, accept=None: proxy.call(  # noqa: E731
        "POST", path, raw=raw, content_type=ct, accept=accept)
    ok = json.dumps({"records": [{"value": b64(b"fine")}]}).encode()
    assert_error(post(f"/topics/missing-{uuid.uuid4().hex[:6]}", ok), 404, 40401, "Topic not found.")
    assert_error(post(f"/topics/{topic}/partitions/3", ok), 404, 40402, "Partition not found.")
    assert_error(post(f"/topics/{topic}", b'{"records": [{"value": '), 400, 400)
    assert_error(post(f"/topics/{topic}", json.dumps({"records": [{"value": "%%%not base64"}]}).encode()),
                 422, 422)
    assert_error(post(f"/topics/{topic}", ok, ct="text/plain"), 415, 415, "HTTP 415 Unsupported Media Type")
    assert_error(post(f"/topics/{topic}", ok, accept="text/html"), 406, 406, "HTTP 406 Not Acceptable")
    assert_error(proxy.call("GET", "/no/such/route"), 404, 404, "HTTP 404 Not Found")
    assert_error(proxy.call("DELETE", "/topics"), 405, 405)
    # A record over the topic's max.message.bytes fails alone; its neighbours are written.
    big = b"x" * 5000
    status, _, body = post(f"/topics/{topic}", json.dumps({"records": [
        {"value": b64(b"before")}, {"value": b64(big)}, {"value": b64(b"after")}]}).encode())
    assert status == 200, body
    first, too_large, last = body["offsets"]
    assert (first["error_code"], last["error_code"]) == (None, None), body
    assert too_large["error_code"] == 50002 and too_large["offset"] is None, body
    assert "too large" in too_large["error"].lower(), body
    values = [r.value for r in confluent_consume(broker.bootstrap, topic, [0])]
    assert values == [b"before", b"after"]


# ---- API v2: metadata ---------------------------------------------------------------

def test_v2_topic_partition_and_broker_metadata(proxy, broker):
    topic = new_topic(broker, "rest-meta", 3, {"retention.ms": "123456"})
    status, headers, topics = proxy.call("GET", "/topics")
    assert status == 200 and topic in topics and headers["Content-Type"] == V2
    status, headers, _ = proxy.call("GET", "/topics", accept=JSON)
    assert status == 200 and headers["Content-Type"] == JSON
    status, _, body = proxy.call("GET", f"/topics/{topic}")
    assert status == 200
    assert body["name"] == topic and body["configs"]["retention.ms"] == "123456"
    assert [p["partition"] for p in body["partitions"]] == [0, 1, 2]
    replica = {"broker": broker.node_id, "leader": True, "in_sync": True}
    assert body["partitions"][0] == {"partition": 0, "leader": broker.node_id, "replicas": [replica]}
    status, _, partitions = proxy.call("GET", f"/topics/{topic}/partitions")
    assert status == 200 and partitions == body["partitions"]
    status, _, partition = proxy.call("GET", f"/topics/{topic}/partitions/2")
    assert status == 200 and partition["partition"] == 2 and partition["replicas"] == [replica]
    assert_error(proxy.call("GET", f"/topics/{topic}/partitions/9"), 404, 40402)
    assert_error(proxy.call("GET", f"/topics/nope-{uuid.uuid4().hex[:6]}"), 404, 40401)
    proxy.call("POST", f"/topics/{topic}/partitions/2", {"records": [{"value": b64(b"v")}] * 3},
               content_type=V2_BINARY)
    status, _, offsets = proxy.call("GET", f"/topics/{topic}/partitions/2/offsets")
    assert status == 200 and offsets == {"beginning_offset": 0, "end_offset": 3}
    status, _, brokers = proxy.call("GET", "/brokers")
    assert status == 200 and brokers == {"brokers": [broker.node_id]}


# ---- API v2: consumer instances -----------------------------------------------------

def poll_records(proxy, base: str, want: int, accept: str = V2_BINARY) -> list[dict]:
    got: list[dict] = []

    def more():
        status, headers, body = proxy.call("GET", f"{base}/records?timeout=500", accept=accept)
        assert status == 200, body
        assert headers["Content-Type"] == accept
        got.extend(body)
        assert len(got) <= want, got
        return len(got) == want
    wait_until(more, 30, f"{want} records through the REST consumer")
    return got


def test_v2_consumer_instance_subscribes_reads_commits_seeks_and_is_deleted(proxy, broker):
    topic = new_topic(broker, "rest-consume", 1)
    group = f"rest-group-{uuid.uuid4().hex[:6]}"
    proxy.call("POST", f"/topics/{topic}",
               {"records": [{"key": {"n": i}, "value": {"v": i}} for i in range(10)]},
               content_type=V2_JSON)
    status, _, created = proxy.call("POST", f"/consumers/{group}",
                                    {"name": "c1", "format": "json", "auto.offset.reset": "earliest",
                                     "auto.commit.enable": "false"}, content_type=V2)
    assert status == 200, created
    base = f"/consumers/{group}/instances/c1"
    assert created == {"instance_id": "c1", "base_uri": f"{proxy.base}{base}"}
    assert_error(proxy.call("POST", f"/consumers/{group}", {"name": "c1", "format": "json"},
                            content_type=V2), 409, 40902)
    assert proxy.call("POST", f"{base}/subscription", {"topics": [topic]}, content_type=V2)[0] == 204
    assert proxy.call("GET", f"{base}/subscription")[2] == {"topics": [topic]}
    # A binary Accept for a JSON instance is Confluent's format mismatch.
    assert_error(proxy.call("GET", f"{base}/records", accept=V2_BINARY), 406, 40601)
    records = poll_records(proxy, base, 10, accept=V2_JSON)
    assert records == [{"topic": topic, "key": {"n": i}, "value": {"v": i}, "partition": 0,
                        "offset": i} for i in range(10)]
    status, _, assigned = proxy.call("GET", f"{base}/assignments")
    assert assigned == {"partitions": [{"topic": topic, "partition": 0}]}
    # Commit all consumed (empty body): the group's committed offset is the next to read.
    assert proxy.call("POST", f"{base}/offsets", content_type=V2)[0] == 200
    status, _, committed = proxy.call("GET", f"{base}/offsets",
                                      {"partitions": [{"topic": topic, "partition": 0}]},
                                      content_type=V2)
    assert committed == {"offsets": [{"topic": topic, "partition": 0, "offset": 10, "metadata": ""}]}
    native = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    try:
        [tp] = native.committed([TopicPartition(topic, 0)], timeout=10)
        assert tp.offset == 10
    finally:
        native.close()
    # Explicit offsets commit offset + 1, as Confluent's do.
    assert proxy.call("POST", f"{base}/offsets",
                      {"offsets": [{"topic": topic, "partition": 0, "offset": 3}]},
                      content_type=V2)[0] == 200
    committed = proxy.call("GET", f"{base}/offsets", {"partitions": [{"topic": topic, "partition": 0}]},
                           content_type=V2)[2]
    assert committed["offsets"][0]["offset"] == 4
    # Seek to 7, to the beginning, to the end.
    assert proxy.call("POST", f"{base}/positions",
                      {"offsets": [{"topic": topic, "partition": 0, "offset": 7}]},
                      content_type=V2)[0] == 204
    assert [r["offset"] for r in poll_records(proxy, base, 3, V2_JSON)] == [7, 8, 9]
    assert proxy.call("POST", f"{base}/positions/beginning",
                      {"partitions": [{"topic": topic, "partition": 0}]}, content_type=V2)[0] == 204
    assert [r["offset"] for r in poll_records(proxy, base, 10, V2_JSON)] == list(range(10))
    assert proxy.call("POST", f"{base}/positions/end",
                      {"partitions": [{"topic": topic, "partition": 0}]}, content_type=V2)[0] == 204
    proxy.call("POST", f"/topics/{topic}", {"records": [{"value": {"v": "new"}}]}, content_type=V2_JSON)
    assert poll_records(proxy, base, 1, V2_JSON)[0]["value"] == {"v": "new"}
    # max_bytes keeps what does not fit for the next fetch.
    assert proxy.call("POST", f"{base}/positions/beginning",
                      {"partitions": [{"topic": topic, "partition": 0}]}, content_type=V2)[0] == 204
    first = wait_until(lambda: proxy.call("GET", f"{base}/records?timeout=500&max_bytes=20",
                                          accept=V2_JSON)[2], 30, "a capped fetch")
    assert 1 <= len(first) < 10 and first[0]["offset"] == 0
    assert proxy.call("DELETE", f"{base}/subscription")[0] == 204
    assert proxy.call("GET", f"{base}/subscription")[2] == {"topics": []}
    assert proxy.call("DELETE", base)[0] == 204
    for answer in (proxy.call("GET", f"{base}/records", accept=V2_JSON),
                   proxy.call("POST", f"{base}/subscription", {"topics": [topic]}, content_type=V2),
                   proxy.call("DELETE", base)):
        assert_error(answer, 404, 40403, "Consumer instance not found.")


def test_v2_manual_assignment_and_binary_format(proxy, broker):
    topic = new_topic(broker, "rest-assign", 2)
    proxy.call("POST", f"/topics/{topic}/partitions/1",
               {"records": [{"key": b64(b"k"), "value": b64(bytes(range(256)))}]},
               content_type=V2_BINARY)
    group = f"rest-assign-{uuid.uuid4().hex[:6]}"
    status, _, created = proxy.call("POST", f"/consumers/{group}",
                                    {"format": "binary", "auto.offset.reset": "earliest"},
                                    content_type=V2)
    assert status == 200 and created["instance_id"].startswith("rest-consumer-")
    base = f"/consumers/{group}/instances/{created['instance_id']}"
    assert proxy.call("POST", f"{base}/assignments",
                      {"partitions": [{"topic": topic, "partition": 1}]}, content_type=V2)[0] == 204
    # Kafka's consumer does not mix subscribing with manual assignment.
    assert_error(proxy.call("POST", f"{base}/subscription", {"topics": [topic]}, content_type=V2),
                 409, 40903)
    [record] = poll_records(proxy, base, 1)
    assert base64.b64decode(record["key"]) == b"k"
    assert base64.b64decode(record["value"]) == bytes(range(256))
    assert (record["partition"], record["offset"]) == (1, 0)
    assert proxy.call("DELETE", base)[0] == 204


def test_v2_topic_pattern_subscription_reads_every_matching_topic(proxy, broker):
    prefix = f"rest-pat-{uuid.uuid4().hex[:6]}"
    admin = confluent_admin(broker.bootstrap)
    matching = [f"{prefix}-a", f"{prefix}-b"]
    for name in matching + [f"other-{prefix}"]:
        confluent_create_topic(admin, name, 1)
        proxy.call("POST", f"/topics/{name}", {"records": [{"value": name}]}, content_type=V2_JSON)
    group = f"rest-pat-{uuid.uuid4().hex[:6]}"
    base = f"/consumers/{group}/instances/p"
    assert proxy.call("POST", f"/consumers/{group}", {"name": "p", "format": "json",
                                                       "auto.offset.reset": "earliest"},
                      content_type=V2)[0] == 200
    assert_error(proxy.call("POST", f"{base}/subscription", {"topic_pattern": "("}, content_type=V2),
                 422, 422)
    assert proxy.call("POST", f"{base}/subscription", {"topic_pattern": f"{prefix}-.*"},
                      content_type=V2)[0] == 204
    records = poll_records(proxy, base, 2, V2_JSON)
    assert sorted((r["topic"], r["value"]) for r in records) == [(t, t) for t in matching]
    assert proxy.call("GET", f"{base}/subscription")[2] == {"topics": matching}
    assert proxy.call("DELETE", base)[0] == 204


def test_v2_instance_shares_a_group_with_a_native_consumer(proxy, broker):
    topic = new_topic(broker, "rest-share", 4)
    group = f"rest-share-{uuid.uuid4().hex[:6]}"
    base = f"/consumers/{group}/instances/rest"
    assert proxy.call("POST", f"/consumers/{group}", {"name": "rest", "format": "binary",
                                                       "auto.offset.reset": "earliest"},
                      content_type=V2)[0] == 200
    assert proxy.call("POST", f"{base}/subscription", {"topics": [topic]}, content_type=V2)[0] == 204
    native = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                       "auto.offset.reset": "earliest", "enable.auto.commit": False})
    native.subscribe([topic])
    try:
        def split():
            native.poll(0.2)
            proxy.call("GET", f"{base}/records?timeout=200")
            rest = {p["partition"] for p in proxy.call("GET", f"{base}/assignments")[2]["partitions"]}
            mine = {tp.partition for tp in native.assignment()}
            return (rest, mine) if rest and mine and len(rest) + len(mine) == 4 else None
        rest_parts, native_parts = wait_until(split, 60, "the group to split four partitions")
        assert rest_parts.isdisjoint(native_parts) and rest_parts | native_parts == {0, 1, 2, 3}
        proxy.call("POST", f"/topics/{topic}",
                   {"records": [{"value": b64(f"v{i}".encode()), "partition": i % 4}
                                for i in range(40)]}, content_type=V2_BINARY)
        seen: dict[str, int] = {}

        def all_read():
            for m in native.consume(100, 0.2):
                if m.error() is None:
                    seen[m.value().decode()] = m.partition()
            for r in proxy.call("GET", f"{base}/records?timeout=200")[2]:
                seen[base64.b64decode(r["value"]).decode()] = r["partition"]
            return len(seen) == 40
        wait_until(all_read, 60, "both members to read their partitions")
        assert {v: p for v, p in seen.items()} == {f"v{i}": i % 4 for i in range(40)}
        by_member = {p for v, p in seen.items()}
        assert by_member == {0, 1, 2, 3}
        # Deleting the instance leaves the group: the native consumer gets every partition.
        assert proxy.call("DELETE", base)[0] == 204

        def all_mine():
            native.poll(0.2)
            return len(native.assignment()) == 4
        wait_until(all_mine, 60, "the native consumer to take over all partitions")
    finally:
        native.close()


def joined_member(proxy, group: str, name: str, topic: str) -> None:
    """Creates instance `name` in `group`, subscribed to `topic`, and waits until the group
    has given it the topic's partition."""
    base = f"/consumers/{group}/instances/{name}"
    assert proxy.call("POST", f"/consumers/{group}", {"name": name}, content_type=V2)[0] == 200
    assert proxy.call("POST", f"{base}/subscription", {"topics": [topic]}, content_type=V2)[0] == 204

    def assigned():
        proxy.call("GET", f"{base}/records?timeout=200")
        return proxy.call("GET", f"{base}/assignments")[2]["partitions"]
    wait_until(assigned, 30, f"{name} to join {group}")


def group_members(broker, group: str) -> int:
    admin = confluent_admin(broker.bootstrap)
    described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return len(described.members)


def test_v2_idle_instances_expire_and_leave_their_group(broker, tmp_path):
    topic = new_topic(broker, "rest-expire", 1)
    short = Proxy(broker, tmp_path, {"consumer.instance.timeout.ms": "1000"})
    try:
        group = f"rest-expire-{uuid.uuid4().hex[:6]}"
        joined_member(short, group, "idle", topic)
        assert group_members(broker, group) == 1
        # Any request to the instance would keep it alive: watch the proxy's log instead.
        wait_until(lambda: "consumer instance expired" in short.log_path.read_text(errors="replace"),
                   30, "the idle instance to expire")
        # Closed, not abandoned: it left the group well before its 45 s session timeout.
        wait_until(lambda: group_members(broker, group) == 0, 10, "the expired member to leave")
        assert_error(short.call("GET", f"/consumers/{group}/instances/idle/assignments"), 404, 40403)
    finally:
        short.stop()


def test_v2_instances_leave_their_groups_when_the_proxy_stops(broker, tmp_path):
    topic = new_topic(broker, "rest-stop", 1)
    proxy = Proxy(broker, tmp_path)
    group = f"rest-stop-{uuid.uuid4().hex[:6]}"
    try:
        joined_member(proxy, group, "member", topic)
        assert group_members(broker, group) == 1
    finally:
        proxy.stop()
    wait_until(lambda: group_members(broker, group) == 0, 10, "the member to leave at shutdown")


# ---- API v3 --------------------------------------------------------------------------

def cluster_id(broker) -> str:
    admin = confluent_admin(broker.bootstrap)  # kept alive until its future resolves
    return admin.describe_cluster().result(timeout=10).cluster_id


def test_v3_clusters_and_brokers(proxy, broker):
    cid = cluster_id(broker)
    status, headers, body = proxy.call("GET", "/v3/clusters")
    assert status == 200 and headers["Content-Type"] == JSON
    assert body["kind"] == "KafkaClusterList"
    assert body["metadata"]["self"] == f"{proxy.base}/v3/clusters"
    [cluster] = body["data"]
    assert cluster["cluster_id"] == cid and cluster["kind"] == "KafkaCluster"
    assert cluster["metadata"] == {"self": f"{proxy.base}/v3/clusters/{cid}",
                                   "resource_name": f"crn:///kafka={cid}"}
    assert cluster["topics"] == {"related": f"{proxy.base}/v3/clusters/{cid}/topics"}
    assert cluster["controller"]["related"].endswith(f"/brokers/{broker.node_id}")
    assert proxy.call("GET", f"/v3/clusters/{cid}")[2] == cluster
    status, _, brokers = proxy.call("GET", f"/v3/clusters/{cid}/brokers")
    assert status == 200 and brokers["kind"] == "KafkaBrokerList"
    [b] = brokers["data"]
    assert (b["broker_id"], b["host"], b["port"]) == (broker.node_id, "127.0.0.1", broker.port)
    assert proxy.call("GET", f"/v3/clusters/{cid}/brokers/{broker.node_id}")[2] == b
    assert_error(proxy.call("GET", f"/v3/clusters/{cid}/brokers/99"), 404, 404)
    assert_error(proxy.call("GET", "/v3/clusters/not-this-one/topics"), 404, 404,
                 "Cluster not-this-one cannot be found.")
    assert_error(proxy.call("GET", "/v3/clusters", accept="text/html"), 406, 406)
    status, _, configs = proxy.call("GET", f"/v3/clusters/{cid}/brokers/{broker.node_id}/configs")
    assert status == 200 and configs["kind"] == "KafkaBrokerConfigList"
    names = {c["name"]: c for c in configs["data"]}
    assert names["log.retention.hours"]["broker_id"] == broker.node_id
    # One broker's dynamic config: set, seen by kafka-configs.sh, removed by a batch.
    mine = f"/v3/clusters/{cid}/brokers/{broker.node_id}/configs"
    broker_configs = ("kafka-configs.sh", "--bootstrap-server", broker.bootstrap, "--describe",
                      "--entity-type", "brokers", "--entity-name", str(broker.node_id), "--all")
    assert proxy.call("PUT", f"{mine}/log.retention.ms", {"value": "5400000"})[0] == 204
    try:
        status, _, one = proxy.call("GET", f"{mine}/log.retention.ms")
        assert (one["kind"], one["value"], one["broker_id"], one["source"]) == \
            ("KafkaBrokerConfig", "5400000", broker.node_id, "DYNAMIC_BROKER_CONFIG"), one
        assert "log.retention.ms=5400000" in script(*broker_configs)
        # A broker's own config is not the cluster-wide default.
        assert "log.retention.ms" not in script("kafka-configs.sh", "--bootstrap-server",
                                                broker.bootstrap, "--describe", "--entity-type",
                                                "brokers", "--entity-default")
    finally:
        assert proxy.call("POST", f"{mine}:alter",
                          {"data": [{"name": "log.retention.ms", "operation": "DELETE"}]})[0] == 204
    assert "log.retention.ms=5400000" not in script(*broker_configs)
    assert_error(proxy.call("POST", f"{mine}:alter", {"data": [{"name": "x", "operation": "APPEND"}]}),
                 400, 400)
    # Cluster-wide dynamic broker defaults (`kafka-configs.sh --entity-default`).
    defaults = f"/v3/clusters/{cid}/broker-configs"
    assert proxy.call("PUT", f"{defaults}/log.retention.ms", {"value": "7200000"})[0] == 204
    try:
        status, _, listed = proxy.call("GET", defaults)
        assert status == 200 and listed["kind"] == "KafkaClusterConfigList"
        status, _, one = proxy.call("GET", f"{defaults}/log.retention.ms")
        assert (one["kind"], one["config_type"], one["value"], one["source"]) == \
            ("KafkaClusterConfig", "BROKER", "7200000", "DYNAMIC_DEFAULT_BROKER_CONFIG"), one
        assert one["metadata"]["resource_name"] == f"crn:///kafka={cid}/broker-config=log.retention.ms"
        described = script("kafka-configs.sh", "--bootstrap-server", broker.bootstrap, "--describe",
                           "--entity-type", "brokers", "--entity-default")
        assert "log.retention.ms=7200000" in described, described
    finally:
        assert proxy.call("DELETE", f"{defaults}/log.retention.ms")[0] == 204
    assert "log.retention.ms" not in script("kafka-configs.sh", "--bootstrap-server", broker.bootstrap,
                                            "--describe", "--entity-type", "brokers",
                                            "--entity-default")


def describe_topic(broker, topic: str) -> str:
    return script("kafka-topics.sh", "--bootstrap-server", broker.bootstrap, "--describe",
                  "--topic", topic)


def test_v3_topic_and_config_admin_agrees_with_kafka_topics(proxy, broker):
    cid = cluster_id(broker)
    topics = f"/v3/clusters/{cid}/topics"
    topic = f"rest-v3-{uuid.uuid4().hex[:8]}"
    request = {"topic_name": topic, "partitions_count": 3, "replication_factor": 1,
               "configs": [{"name": "retention.ms", "value": "4321000"}]}
    status, _, body = proxy.call("POST", topics, {**request, "validate_only": True})
    assert status == 200 and body["partitions_count"] == 3, body
    assert topic not in script("kafka-topics.sh", "--bootstrap-server", broker.bootstrap, "--list").split()
    status, _, body = proxy.call("POST", topics, request)
    assert status == 201, body
    assert (body["kind"], body["topic_name"], body["partitions_count"], body["replication_factor"]) == \
        ("KafkaTopic", topic, 3, 1)
    assert body["metadata"]["self"] == f"{proxy.base}{topics}/{topic}"
    described = describe_topic(broker, topic)
    assert "PartitionCount: 3" in described and "retention.ms=4321000" in described, described
    assert_error(proxy.call("POST", topics, request), 400, 40002)
    assert_error(proxy.call("POST", topics, raw=b"{", content_type=JSON), 400, 400)
    assert_error(proxy.call("POST", topics, raw=json.dumps(request).encode(), content_type="text/plain"),
                 415, 415)
    wait_until(lambda: proxy.call("GET", f"{topics}/{topic}")[0] == 200, 15, "the topic in metadata")
    status, _, listed = proxy.call("GET", topics)
    assert status == 200 and topic in [t["topic_name"] for t in listed["data"]]
    status, _, body = proxy.call("PATCH", f"{topics}/{topic}", {"partitions_count": 5})
    assert status == 200 and body["partitions_count"] == 5, body
    assert "PartitionCount: 5" in describe_topic(broker, topic)
    status, _, partitions = proxy.call("GET", f"{topics}/{topic}/partitions")
    assert [p["partition_id"] for p in partitions["data"]] == [0, 1, 2, 3, 4]
    status, _, p4 = proxy.call("GET", f"{topics}/{topic}/partitions/4")
    assert status == 200 and p4["leader"]["related"].endswith(f"/partitions/4/replicas/{broker.node_id}")
    status, _, replicas = proxy.call("GET", f"{topics}/{topic}/partitions/4/replicas")
    assert [(r["broker_id"], r["is_leader"], r["is_in_sync"]) for r in replicas["data"]] == \
        [(broker.node_id, True, True)]
    status, _, replica = proxy.call("GET", f"{topics}/{topic}/partitions/4/replicas/{broker.node_id}")
    assert status == 200 and replica == replicas["data"][0]
    assert_error(proxy.call("GET", f"{topics}/{topic}/partitions/4/replicas/77"), 404, 404)
    status, _, held = proxy.call("GET", f"/v3/clusters/{cid}/brokers/{broker.node_id}/partition-replicas")
    assert status == 200 and held["kind"] == "KafkaReplicaList"
    assert sorted(r["partition_id"] for r in held["data"] if r["topic_name"] == topic) == [0, 1, 2, 3, 4]
    assert_error(proxy.call("GET", f"{topics}/{topic}/partitions/9"), 404, 40402)
    # Configs: list, one, set, reset, batch.
    configs = f"{topics}/{topic}/configs"
    status, _, listed = proxy.call("GET", configs)
    by_name = {c["name"]: c for c in listed["data"]}
    assert by_name["retention.ms"]["value"] == "4321000"
    assert by_name["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert by_name["retention.ms"]["is_default"] is False
    assert by_name["cleanup.policy"]["is_default"] is True
    assert proxy.call("PUT", f"{configs}/cleanup.policy", {"value": "compact"})[0] == 204
    status, _, one = proxy.call("GET", f"{configs}/cleanup.policy")
    assert (one["kind"], one["value"], one["source"], one["topic_name"]) == \
        ("KafkaTopicConfig", "compact", "DYNAMIC_TOPIC_CONFIG", topic)
    assert "cleanup.policy=compact" in describe_topic(broker, topic)
    assert proxy.call("DELETE", f"{configs}/retention.ms")[0] == 204
    assert "retention.ms" not in describe_topic(broker, topic)
    assert proxy.call("POST", f"{configs}:alter", {"data": [
        {"name": "segment.ms", "value": "600000"},
        {"name": "cleanup.policy", "operation": "DELETE"}]})[0] == 204
    described = describe_topic(broker, topic)
    assert "segment.ms=600000" in described and "cleanup.policy" not in described, described
    assert_error(proxy.call("GET", f"{configs}/no.such.config"), 404, 404)
    assert_error(proxy.call("PUT", f"{configs}/retention.ms", {"value": "soon"}), 400, 40002)
    assert proxy.call("DELETE", f"{topics}/{topic}")[0] == 204
    wait_until(lambda: topic not in script("kafka-topics.sh", "--bootstrap-server", broker.bootstrap,
                                           "--list").split(), 15, "the topic to be deleted")
    assert_error(proxy.call("GET", f"{topics}/{topic}"), 404, 40403)
    assert_error(proxy.call("DELETE", f"{topics}/{topic}"), 404, 40403)


def test_v3_produce_stream_and_batch_read_back_natively(proxy, broker):
    cid = cluster_id(broker)
    topic = new_topic(broker, "rest-v3-produce", 2)
    path = f"/v3/clusters/{cid}/topics/{topic}/records"
    stream = b"".join(json.dumps(r).encode() for r in [
        {"partition_id": 1, "key": {"type": "BINARY", "data": b64(b"\x00k")},
         "value": {"type": "JSON", "data": {"x": 1}}},
        {"partition_id": 1, "value": {"type": "STRING", "data": "hello"},
         "headers": [{"name": "h", "value": b64(b"hv")}], "timestamp": "2021-02-05T19:14:42Z"},
        {"partition_id": 0, "value": {"type": "BINARY", "data": "***"}},
        {"partition_id": 0, "value": {"data": [1, 2]}},
    ])
    status, headers, text = proxy.call("POST", path, raw=stream, content_type=JSON)
    assert status == 200 and headers["Content-Type"] == JSON
    results = [json.loads(line) for line in text.splitlines()]
    assert len(results) == 4, text
    first, second, bad, fourth = results
    assert first == {"error_code": 200, "cluster_id": cid, "topic_name": topic, "partition_id": 1,
                     "offset": 0, "timestamp": first["timestamp"],
                     "key": {"type": "BINARY", "size": 2}, "value": {"type": "JSON", "size": 7}}
    assert second["timestamp"] == "2021-02-05T19:14:42Z" and second["offset"] == 1
    assert second["key"] is None and second["value"] == {"type": "STRING", "size": 5}
    assert bad["error_code"] == 400 and "base64" in bad["message"]
    assert (fourth["partition_id"], fourth["offset"]) == (0, 0)
    recs = {(r.partition, r.offset): r for r in confluent_consume(broker.bootstrap, topic, [0, 1])}
    assert (recs[(1, 0)].key, recs[(1, 0)].value) == (b"\x00k", b'{"x":1}')
    assert recs[(1, 1)].value == b"hello" and recs[(1, 1)].headers == (("h", b"hv"),)
    assert recs[(1, 1)].timestamp == 1612552482000
    assert recs[(0, 0)].value == b"[1,2]" and len(recs) == 3
    status, _, batch = proxy.call("POST", f"{path}:batch", {"entries": [
        {"id": "a", "partition_id": 0, "value": {"type": "STRING", "data": "one"}},
        {"id": "b", "value": {"type": "BINARY", "data": "!!"}},
        {"id": "c", "partition_id": 0, "value": {"type": "STRING", "data": "two"}}]})
    assert status == 207, batch
    assert [(s["id"], s["partition_id"], s["offset"]) for s in batch["successes"]] == \
        [("a", 0, 1), ("c", 0, 2)]
    assert [(f["id"], f["error_code"]) for f in batch["failures"]] == [("b", 400)]
    # A record over the topic's max.message.bytes fails alone, with rest-utils' 413.
    small = new_topic(broker, "rest-v3-small", 1, {"max.message.bytes": "2000"})
    stream = b"".join(json.dumps({"value": {"type": "BINARY", "data": b64(v)}}).encode()
                      for v in (b"ok", b"x" * 5000, b"ok2"))
    status, _, text = proxy.call("POST", f"/v3/clusters/{cid}/topics/{small}/records",
                                 raw=stream, content_type=JSON)
    codes = [json.loads(line)["error_code"] for line in text.splitlines()]
    assert status == 200 and codes == [200, 413, 200], text
    assert_error(proxy.call("POST", f"/v3/clusters/{cid}/topics/none-{uuid.uuid4().hex[:6]}/records",
                            {"value": {"data": 1}}), 404, 40403)
    status, _, answer = proxy.call("POST", path, {"value": {"type": "AVRO", "data": 1}})
    assert status == 200 and answer["error_code"] == 400 and "schema registry" in answer["message"]


def test_v3_records_stream_is_answered_while_it_is_still_being_sent(proxy, broker):
    cid = cluster_id(broker)
    topic = new_topic(broker, "rest-v3-stream", 1)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    conn.putrequest("POST", f"/v3/clusters/{cid}/topics/{topic}/records")
    conn.putheader("Content-Type", JSON)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()

    def chunk(data: bytes) -> None:
        conn.send(b"%x\r\n%s\r\n" % (len(data), data))
    chunk(json.dumps({"value": {"type": "STRING", "data": "first"}}).encode())
    response = conn.getresponse()
    assert response.status == 200
    # The first answer comes while the request is still open.
    first = json.loads(response.readline())
    assert (first["error_code"], first["offset"]) == (200, 0), first
    # A record split across chunks, then a broken one: answered, then the stream ends.
    second = json.dumps({"value": {"type": "STRING", "data": "second"}}).encode()
    chunk(second[:7])
    chunk(second[7:])
    assert json.loads(response.readline())["offset"] == 1
    chunk(b'{"value": oops}')
    bad = json.loads(response.readline())
    assert bad["error_code"] == 400, bad
    chunk(b"")
    assert response.read() == b""
    conn.close()
    values = [r.value for r in confluent_consume(broker.bootstrap, topic, [0])]
    assert values == [b"first", b"second"]


def consumer_groups_describe(broker, group: str) -> dict[tuple[str, int], tuple[int, int, int]]:
    """(topic, partition) → (current offset, log-end offset, lag) from the tool's table."""
    text = script("kafka-consumer-groups.sh", "--bootstrap-server", broker.bootstrap, "--describe",
                  "--group", group)
    rows = {}
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0] == group and cols[3].isdigit():
            rows[(cols[1], int(cols[2]))] = (int(cols[3]), int(cols[4]), int(cols[5]))
    return rows


def test_v3_consumer_groups_and_lags_agree_with_kafka_consumer_groups(proxy, broker):
    cid = cluster_id(broker)
    topic = new_topic(broker, "rest-lag", 2)
    proxy.call("POST", f"/topics/{topic}", {"records": [
        {"value": b64(b"v"), "partition": i % 2} for i in range(30)]}, content_type=V2_BINARY)
    group = f"rest-lag-{uuid.uuid4().hex[:6]}"
    native = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                       "client.id": "lagging-client", "auto.offset.reset": "earliest",
                       "enable.auto.commit": False})
    native.subscribe([topic])
    try:
        def assigned():
            native.poll(0.2)
            return len(native.assignment()) == 2
        wait_until(assigned, 30, "an assignment")
        native.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 11)],
                      asynchronous=False)
        groups = f"/v3/clusters/{cid}/consumer-groups"
        status, _, listed = proxy.call("GET", groups)
        assert status == 200 and group in [g["consumer_group_id"] for g in listed["data"]]
        status, _, body = proxy.call("GET", f"{groups}/{group}")
        assert (body["kind"], body["state"], body["is_simple"], body["partition_assignor"]) == \
            ("KafkaConsumerGroup", "STABLE", False, "range"), body
        status, _, consumers = proxy.call("GET", f"{groups}/{group}/consumers")
        [member] = consumers["data"]
        assert member["client_id"] == "lagging-client"
        status, _, one = proxy.call("GET", f"{groups}/{group}/consumers/{member['consumer_id']}")
        assert one == member
        status, _, assignments = proxy.call(
            "GET", f"{groups}/{group}/consumers/{member['consumer_id']}/assignments")
        assert sorted(a["partition_id"] for a in assignments["data"]) == [0, 1]
        tool = consumer_groups_describe(broker, group)
        status, _, lags = proxy.call("GET", f"{groups}/{group}/lags")
        assert status == 200 and lags["kind"] == "KafkaConsumerLagList"
        ours = {(l["topic_name"], l["partition_id"]): (l["current_offset"], l["log_end_offset"], l["lag"])
                for l in lags["data"]}
        assert ours == tool == {(topic, 0): (4, 15, 11), (topic, 1): (11, 15, 4)}
        assert all(l["client_id"] == "lagging-client" for l in lags["data"])
        status, _, lag = proxy.call("GET", f"{groups}/{group}/lags/{topic}/partitions/0")
        assert (lag["lag"], lag["consumer_id"]) == (11, member["consumer_id"])
        status, _, summary = proxy.call("GET", f"{groups}/{group}/lag-summary")
        assert (summary["max_lag"], summary["total_lag"], summary["max_lag_topic_name"],
                summary["max_lag_partition_id"], summary["max_lag_client_id"]) == \
            (11, 15, topic, 0, "lagging-client")
        assert_error(proxy.call("GET", f"{groups}/nope-{uuid.uuid4().hex[:6]}"), 404, 404)
    finally:
        native.close()
