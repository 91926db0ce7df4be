"""The Burrow-compatible lag monitor (`rafka burrow --config burrow.toml`) against real
rafka brokers: consumer groups driven by confluent-kafka to OK (keeping up), WARN
(falling behind), STOP (the group stops committing while producers continue; the group
reads ERR), STALL (committing one offset while lag grows) and REWIND (an offset reset
backwards), on two clusters at once beside one that cannot be reached; the
HTTP responses checked field by field, the HTTP notifier received by a local server.

The windows are small (intervals = 3, min-distance = 0) so that three commits fill one.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from compat_helpers import wait_until
from conftest import _broker, free_port, rafka_bin


def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(topic, value=f"v{i}".encode(), partition=0)
    assert producer.flush(15) == 0


def commit(bootstrap: str, group: str, topic: str, offsets: list[int]) -> None:
    """Commits each offset in turn, as a consumer that owns no partition (generation -1)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        for offset in offsets:
            consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        consumer.close()


class Notifications(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        Notifications.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_POST = _record
    do_DELETE = _record

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def second_broker(tmp_path_factory):
    yield from _broker(tmp_path_factory.mktemp("rafka-second"))


@pytest.fixture(scope="module")
def notifications():
    server = HTTPServer(("127.0.0.1", 0), Notifications)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def burrow(broker, second_broker, notifications, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("burrow")
    port = free_port()
    unreachable = free_port()
    # Burrow's own config/default-http-post.tmpl, as shipped: `if`, `eq` on a status,
    # `.Start.Format`, `index .Extras`, `jsonencoder`.
    (workdir / "default-http-post.tmpl").write_text(
        '{"api_key":"{{index .Extras "api_key"}}","app":"{{index .Extras "app"}}","block":false,'
        '"events":[{"id":"{{.ID}}","event":{"severity":"{{if eq .Result.Status 2}}WARN{{else}}ERR{{end}}",'
        '"tier":"{{index .Extras "tier"}}","group":"{{.Result.Group}}",'
        '"start":"{{.Start.Format "Jan 02, 2006 15:04:05 UTC"}}","complete":{{.Result.Complete}},'
        '"partitions":{{.Result.Partitions | jsonencoder}}}}]}\n')
    config = workdir / "burrow.toml"
    config.write_text(f"""
[general]
access-control-allow-origin = "*"

[httpserver.default]
address = "127.0.0.1:{port}"

[cluster.local]
class-name = "kafka"
servers = ["{broker.bootstrap}"]
topic-refresh = 1
offset-refresh = 1

[cluster.second]
class-name = "kafka"
servers = ["{second_broker.bootstrap}"]
topic-refresh = 1
offset-refresh = 1

[cluster.down]
class-name = "kafka"
servers = ["127.0.0.1:{unreachable}"]

[consumer.local]
class-name = "kafka"
cluster = "local"
servers = ["{broker.bootstrap}"]
group-denylist = "^ignored-"

[consumer.second]
class-name = "kafka"
cluster = "second"

[consumer.down]
class-name = "kafka"
cluster = "down"

[storage.default]
class-name = "inmemory"
intervals = 3
min-distance = 0
expire-group = 604800

[evaluator.default]
class-name = "caching"
expire-cache = 0

[notifier.test]
class-name = "http"
url-open = "http://127.0.0.1:{notifications.server_port}/open"
url-close = "http://127.0.0.1:{notifications.server_port}/close"
interval = 1
threshold = 3
send-close = true
group-allowlist = "^stopped-"

[notifier.templated]
class-name = "http"
url-open = "http://127.0.0.1:{notifications.server_port}/burrow/{{{{.Cluster}}}}/{{{{.Group}}}}"
template-open = "{workdir / "default-http-post.tmpl"}"
interval = 1
threshold = 3
group-allowlist = "^stopped-"
extras = {{ api_key = "key-1", app = "billing", tier = "2" }}
""")
    log = open(workdir / "burrow.log", "wb")
    proc = subprocess.Popen([str(rafka_bin()), "burrow", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: get(base, "/burrow/admin")[0] == 200 or None, 30, "burrow's HTTP port")
    yield base
    # The unreachable cluster is logged by name (once its client gives up connecting).
    wait_until(lambda: "down" in (workdir / "burrow.log").read_text(errors="replace") or None,
               60, "the unreachable cluster logged by name")
    proc.terminate()
    proc.wait(10)
    log.close()


def get(base: str, path: str, method: str = "GET") -> tuple[int, dict | str]:
    request = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def wait_topic_offset(base: str, cluster: str, topic: str, offset: int) -> None:
    def check():
        status, body = get(base, f"/v3/kafka/{cluster}/topic/{topic}")
        return status == 200 and body["offsets"] == [offset]
    wait_until(check, 30, f"log-end offset {offset} of {cluster}/{topic}")


def wait_partition_status(base: str, cluster: str, group: str, wanted: str) -> dict:
    def check():
        status, body = get(base, f"/v3/kafka/{cluster}/consumer/{group}/lag")
        if status != 200:
            return None
        partitions = body["status"]["partitions"]
        return body if partitions and partitions[0]["status"] == wanted else None
    return wait_until(check, 30, f"{group} on {cluster} to be {wanted}")


def check_envelope(body: dict, path: str, message: str, error: bool = False) -> None:
    assert body["error"] is error
    assert body["message"] == message
    assert body["request"]["url"] == path
    assert body["request"]["host"].startswith("127.0.0.1:")


def test_consumer_keeping_up_is_ok(broker, burrow):
    topic, group = f"ok-{uuid.uuid4().hex[:8]}", f"ok-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, topic, 10)
    wait_topic_offset(burrow, "local", topic, 10)
    commit(broker.bootstrap, group, topic, [10, 10, 10])

    def full_window():
        status, body = get(burrow, f"/v3/kafka/local/consumer/{group}/lag")
        return body if status == 200 and body["status"]["partitions"][0]["complete"] == 1.0 else None
    body = wait_until(full_window, 30, "a full window of commits")
    path = f"/v3/kafka/local/consumer/{group}/lag"
    check_envelope(body, path, "consumer status returned")
    status = body["status"]
    assert status["cluster"] == "local"
    assert status["group"] == group
    assert status["status"] == "OK"
    assert status["complete"] == 1.0
    assert status["partition_count"] == 1
    assert status["totallag"] == 0
    partition = status["partitions"][0]
    assert partition["topic"] == topic
    assert partition["partition"] == 0
    assert partition["status"] == "OK"
    assert partition["current_lag"] == 0
    assert partition["start"]["offset"] == 10
    assert partition["end"]["offset"] == 10
    assert partition["end"]["lag"] == 0
    assert status["maxlag"]["topic"] == topic

    # /status lists only partitions worse than OK.
    code, body = get(burrow, f"/v3/kafka/local/consumer/{group}/status")
    assert code == 200 and body["status"]["status"] == "OK"
    assert body["status"]["partitions"] == []

    code, body = get(burrow, f"/v3/kafka/local/consumer/{group}")
    assert code == 200
    check_envelope(body, f"/v3/kafka/local/consumer/{group}", "consumer detail returned")
    window = body["topics"][topic][0]
    assert [o["offset"] for o in window["offsets"]] == [10, 10, 10]
    assert window["current-lag"] == 0

    code, body = get(burrow, f"/v3/kafka/local/topic/{topic}/consumers")
    assert code == 200 and body["consumers"] == [group]
    code, body = get(burrow, "/v3/kafka/local/consumer")
    assert code == 200 and group in body["consumers"]


def test_stopped_consumer_is_stop_and_group_err_and_notified(broker, burrow):
    topic, group = f"stop-{uuid.uuid4().hex[:8]}", f"stopped-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, topic, 10)
    wait_topic_offset(burrow, "local", topic, 10)
    commit(broker.bootstrap, group, topic, [2, 4, 6])
    produce(broker.bootstrap, topic, 10)  # producers go on, the group does not
    wait_topic_offset(burrow, "local", topic, 20)

    body = wait_partition_status(burrow, "local", group, "STOP")
    status = body["status"]
    assert status["status"] == "ERR"
    assert status["totallag"] == 14
    partition = status["partitions"][0]
    assert partition["current_lag"] == 14
    assert [partition["start"]["offset"], partition["end"]["offset"]] == [2, 6]
    assert [partition["start"]["lag"], partition["end"]["lag"]] == [8, 4]

    code, body = get(burrow, f"/v3/kafka/local/consumer/{group}/status")
    assert code == 200 and [p["status"] for p in body["status"]["partitions"]] == ["STOP"]

    # Sent every `interval` while the group stays at or above the threshold (ERR); the
    # first may predate the second batch of records, so look for one that has it.
    def opened():
        return [b for (m, p, b) in Notifications.received
                if m == "POST" and p == "/open" and b["group"] == group and b["totallag"] == 14]
    sent = wait_until(opened, 30, "the notifier's open message")
    assert sent[0]["cluster"] == "local"
    assert sent[0]["status"] == "ERR"
    assert sent[0]["result"]["partitions"][0]["status"] == "STOP"

    # Burrow's shipped template, to a URL that is a template too.
    def templated():
        return [b for (m, p, b) in Notifications.received
                if m == "POST" and p == f"/burrow/local/{group}"
                and b["events"][0]["event"]["partitions"][0]["current_lag"] == 14]
    event = wait_until(templated, 30, "the templated open message")[0]
    assert (event["api_key"], event["app"], event["block"]) == ("key-1", "billing", False)
    assert event["events"][0]["event"]["severity"] == "ERR"
    assert event["events"][0]["event"]["tier"] == "2"
    assert event["events"][0]["event"]["group"] == group
    assert event["events"][0]["event"]["complete"] == 1
    assert event["events"][0]["event"]["partitions"][0]["status"] == "STOP"
    started = datetime.datetime.strptime(event["events"][0]["event"]["start"], "%b %d, %Y %H:%M:%S UTC")
    assert abs(datetime.datetime.utcnow() - started) < datetime.timedelta(minutes=10)
    assert len(event["events"][0]["id"]) == 36, "a UUID, as Burrow's incident ids"

    # Metrics in burrow-exporter's names.
    with urllib.request.urlopen(burrow + "/metrics", timeout=5) as response:
        text = response.read().decode()
    labels = f'cluster="local",group="{group}",topic="{topic}",partition="0"'
    assert f"burrow_kafka_consumer_partition_lag{{{labels}}} 14\n" in text
    assert f"burrow_kafka_consumer_partition_status{{{labels}}} 4\n" in text
    assert f'burrow_kafka_consumer_total_lag{{cluster="local",group="{group}"}} 14\n' in text
    assert f'burrow_kafka_consumer_status{{cluster="local",group="{group}"}} 3\n' in text

    # The group catches up: the notifier sends the close message.
    commit(broker.bootstrap, group, topic, [20, 20, 20])
    def closed():
        return [b for (m, p, b) in Notifications.received
                if m == "DELETE" and p == "/close" and b["group"] == group]
    sent = wait_until(closed, 30, "the notifier's close message")
    assert sent[0]["status"] == "OK"


def test_group_under_the_new_consumer_protocol_is_tracked(broker, burrow):
    """A KIP-848 member (group.protocol=consumer) subscribes, reads and commits: its
    commits are offset records like a classic group's, so Burrow follows it. (Burrow
    reads owners from classic group metadata only; KIP-848 groups have none.)"""
    topic, group = f"kip848-{uuid.uuid4().hex[:8]}", f"kip848-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, topic, 10)
    wait_topic_offset(burrow, "local", topic, 10)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                         "group.protocol": "consumer", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        seen = []
        def read_all():
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                seen.append(message.offset())
                consumer.commit(message=message, asynchronous=False)
            return len(seen) == 10 or None
        wait_until(read_all, 60, "the KIP-848 member to read the ten records")
    finally:
        consumer.close()
    assert seen == list(range(10))

    def tracked():
        status, body = get(burrow, f"/v3/kafka/local/consumer/{group}/lag")
        if status != 200 or not body["status"]["partitions"]:
            return None
        partition = body["status"]["partitions"][0]
        return body if partition["end"] and partition["end"]["offset"] == 10 else None
    body = wait_until(tracked, 30, "burrow to see the KIP-848 group's last commit")
    partition = body["status"]["partitions"][0]
    assert (partition["topic"], partition["current_lag"]) == (topic, 0)
    code, listing = get(burrow, "/v3/kafka/local/consumer")
    assert code == 200 and group in listing["consumers"]


def test_reset_to_earliest_is_rewind(broker, burrow):
    topic, group = f"rewind-{uuid.uuid4().hex[:8]}", f"rewind-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, topic, 20)
    wait_topic_offset(burrow, "local", topic, 20)
    commit(broker.bootstrap, group, topic, [10, 15, 0])

    body = wait_partition_status(burrow, "local", group, "REWIND")
    status = body["status"]
    assert status["status"] == "ERR"  # a group's status is capped at ERR
    partition = status["partitions"][0]
    assert partition["current_lag"] == 20
    assert [partition["start"]["offset"], partition["end"]["offset"]] == [10, 0]


def drive_until(broker, burrow, group: str, topic: str, offsets, wanted: str) -> dict:
    """One step per offset: produce 5 records, wait until the monitor has polled the new
    log-end offset, commit the offset; after each step look for `wanted`. Commits keep
    coming, so the window never goes quiet long enough to read STOP."""
    end = 0
    for offset in offsets:
        produce(broker.bootstrap, topic, 5)
        end += 5
        wait_topic_offset(burrow, "local", topic, end)
        commit(broker.bootstrap, group, topic, [offset])

        def seen():
            code, body = get(burrow, f"/v3/kafka/local/consumer/{group}/lag")
            if code != 200 or body["status"]["partitions"][0]["end"] is None:
                return None
            partition = body["status"]["partitions"][0]
            return body if partition["end"]["offset"] == offset else None
        body = wait_until(seen, 30, f"commit {offset} of {group}")
        if body["status"]["partitions"][0]["status"] == wanted:
            return body
    raise AssertionError(f"{group} never read {wanted}: last {body['status']}")


def test_commits_of_one_offset_while_lag_grows_are_stall(broker, burrow):
    topic, group = f"stall-{uuid.uuid4().hex[:8]}", f"stall-{uuid.uuid4().hex[:8]}"
    body = drive_until(broker, burrow, group, topic, [2] * 8, "STALL")
    status = body["status"]
    assert status["status"] == "ERR"  # STALL is capped at ERR for the group
    partition = status["partitions"][0]
    assert partition["start"]["offset"] == partition["end"]["offset"] == 2
    assert partition["end"]["lag"] > partition["start"]["lag"] > 0


def test_consumer_falling_behind_is_warn(broker, burrow):
    topic, group = f"warn-{uuid.uuid4().hex[:8]}", f"warn-{uuid.uuid4().hex[:8]}"
    body = drive_until(broker, burrow, group, topic, range(1, 9), "WARN")
    status = body["status"]
    assert status["status"] == "WARN"
    partition = status["partitions"][0]
    assert partition["end"]["offset"] > partition["start"]["offset"]
    assert partition["end"]["lag"] > partition["start"]["lag"] > 0


def test_two_clusters_are_kept_apart_and_delete_and_not_found(broker, second_broker, burrow):
    topic, group = f"second-{uuid.uuid4().hex[:8]}", f"second-{uuid.uuid4().hex[:8]}"
    produce(second_broker.bootstrap, topic, 5)
    wait_topic_offset(burrow, "second", topic, 5)
    commit(second_broker.bootstrap, group, topic, [5, 5, 5])
    wait_partition_status(burrow, "second", group, "OK")

    code, body = get(burrow, "/v3/kafka")
    assert code == 200 and body["clusters"] == ["down", "local", "second"]
    check_envelope(body, "/v3/kafka", "cluster list returned")
    code, body = get(burrow, "/v3/kafka/second")
    assert code == 200 and body["module"]["servers"] == [second_broker.bootstrap]
    code, body = get(burrow, f"/v3/kafka/local/consumer/{group}/lag")
    assert code == 404  # Burrow: NOTFOUND with `error` false
    check_envelope(body, f"/v3/kafka/local/consumer/{group}/lag", "consumer status returned")
    assert body["status"]["status"] == "NOTFOUND"
    assert body["status"]["partitions"] == []

    code, body = get(burrow, f"/v3/kafka/second/consumer/{group}", method="DELETE")
    assert code == 200 and body["message"] == "consumer group removed"
    code, body = get(burrow, f"/v3/kafka/second/consumer/{group}")
    assert code == 404 and body["error"] is True
    assert body["message"] == "cluster or consumer not found"

    # Burrow's catch-all answers a fixed body through Go's http.Error.
    try:
        urllib.request.urlopen(burrow + "/v3/no/such/route", timeout=5)
        raise AssertionError("an unknown route answered")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert e.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert e.read() == b'{"error":true,"message":"invalid request type","result":{}}\n'
    code, body = get(burrow, "/v3/kafka/down/consumer")
    assert code == 200 and body["consumers"] == []
    code, body = get(burrow, "/v3/config/cluster")
    assert code == 200 and body["modules"] == ["down", "local", "second"]


def post(base: str, path: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_log_level_is_read_and_set_at_run_time(burrow):
    code, body = get(burrow, "/v3/admin/loglevel")
    assert code == 200 and body["message"] == "log level returned" and body["level"] == "info"
    code, body = post(burrow, "/v3/admin/loglevel", b'{"level": "debug"}')
    assert code == 200 and body["message"] == "set log level" and body["error"] is False
    assert get(burrow, "/v3/admin/loglevel")[1]["level"] == "debug"
    code, body = post(burrow, "/v3/admin/loglevel", b'{"level": "loud"}')
    assert code == 404 and body["message"] == "unknown log level"
    code, body = post(burrow, "/v3/admin/loglevel", b"not json")
    assert code == 400 and body["message"] == "could not decode message body"
    assert post(burrow, "/v3/admin/loglevel", b'{"level": "warning"}')[0] == 200
    assert get(burrow, "/v3/admin/loglevel")[1]["level"] == "warn"
    assert post(burrow, "/v3/admin/loglevel", b'{"level": "info"}')[0] == 200
    assert get(burrow, "/burrow/admin/ready") == (200, "READY")


def test_denylisted_groups_are_not_tracked(broker, burrow):
    topic, group = f"deny-{uuid.uuid4().hex[:8]}", f"ignored-{uuid.uuid4().hex[:8]}"
    ok_group = f"ok-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, topic, 3)
    wait_topic_offset(burrow, "local", topic, 3)
    commit(broker.bootstrap, group, topic, [3])
    commit(broker.bootstrap, ok_group, topic, [3])  # read after the denied one
    wait_until(lambda: get(burrow, f"/v3/kafka/local/consumer/{ok_group}")[0] == 200, 30,
               "the allowed group")
    assert get(burrow, f"/v3/kafka/local/consumer/{group}")[0] == 404


def test_unknown_class_name_is_refused_by_name(tmp_path):
    config = tmp_path / "burrow.toml"
    config.write_text('[cluster.local]\nclass-name = "zookeeper"\nservers = ["127.0.0.1:1"]\n')
    result = subprocess.run([str(rafka_bin()), "burrow", "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert 'class-name "zookeeper" is unknown' in result.stderr
