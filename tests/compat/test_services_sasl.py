"""The services built on the broker, against a SASL_PLAINTEXT-only broker (PLAIN, and
OAUTHBEARER's unsecured token): each takes the clients' security settings as its own config
spells them and moves real data, and a wrong password or a mechanism librdkafka cannot do
here (GSSAPI: no Kerberos) is refused with a message that says so. TLS and SCRAM are
test_services_tls.py's.

- Connect (standalone and distributed): the worker's top-level `security.protocol`,
  `sasl.mechanism`, `sasl.jaas.config` for its own clients, and the `producer.`,
  `consumer.` prefixed ones for the connectors' (Kafka Connect's keys); a file source →
  topic → file sink.
- The REST proxy: `client.security.protocol`, `client.sasl.mechanism`,
  `client.sasl.jaas.config` (Confluent's keys); v2 produce and a v2 consumer instance,
  v3 admin calls; OAUTHBEARER with `unsecuredLoginStringClaim_sub`.
- The monitor: Burrow's `[client-profile.NAME] sasl = "…"` and `[sasl.NAME]` with
  `username`/`password`/`mechanism`; a group's lag, and its refusals.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from compat_helpers import wait_until
from conftest import free_port, rafka_bin
from connect_helpers import ConnectWorker, request, schema_line
from test_rest_proxy import V2, V2_BINARY, Proxy
from test_sasl import plain_client, sasl_broker  # noqa: F401 - the broker fixture

PLAIN_CLIENT_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                     'username="alice" password="{password}";')


def java_security(password: str = "alice-secret", mechanism: str = "PLAIN") -> dict[str, str]:
    """A Java client's security keys for alice."""
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.jaas.config": PLAIN_CLIENT_JAAS.format(password=password)}


def prefixed(prefix: str, keys: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in keys.items()}


def alice() -> dict[str, str]:
    return plain_client("alice", "alice-secret")


def produce(bootstrap: str, topic: str, values: list[bytes],
            client: dict[str, str] | None = None) -> None:
    """Produces `values` to partition 0 as `client` (alice by default)."""
    producer = Producer({"bootstrap.servers": bootstrap, **(client or alice())})
    for value in values:
        producer.produce(topic, value=value, partition=0)
    assert producer.flush(30) == 0


def consume(bootstrap: str, topic: str, count: int,
            client: dict[str, str] | None = None) -> list[bytes]:
    """The first `count` values of partition 0, read as `client` (alice by default)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", **(client or alice())})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values: list[bytes] = []
    try:
        def read():
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                values.append(message.value())
            return len(values) >= count
        wait_until(read, 30, f"{count} records of {topic}")
    finally:
        consumer.close()
    return values


def log_of(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


# -- Connect ----------------------------------------------------------------------------

def connect_security(password: str = "alice-secret", mechanism: str = "PLAIN") -> dict:
    keys = java_security(password, mechanism)
    return {**keys, **prefixed("producer.", keys), **prefixed("consumer.", keys)}


def file_pipeline(tmp_path: Path, topic: str) -> tuple[Path, Path, list[Path]]:
    source, sink = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("one\ntwo\n")
    source_props = tmp_path / "source.properties"
    source_props.write_text("name=sasl-source\nconnector.class=FileStreamSource\n"
                            f"tasks.max=1\nfile={source}\ntopic={topic}\n")
    sink_props = tmp_path / "sink.properties"
    sink_props.write_text("name=sasl-sink\nconnector.class=FileStreamSink\n"
                          f"tasks.max=1\nfile={sink}\ntopics={topic}\n")
    return source, sink, [source_props, sink_props]


def test_connect_standalone_moves_data_over_sasl(sasl_broker, tmp_path):
    topic = f"connect-sasl-{uuid.uuid4().hex[:8]}"
    source, sink, files = file_pipeline(tmp_path, topic)
    worker = ConnectWorker(tmp_path / "worker", sasl_broker.bootstrap, files)
    with open(worker.config_path, "a") as f:
        f.writelines(f"{k}={v}\n" for k, v in connect_security().items())
    worker.start()
    try:
        wait_until(lambda: sink.exists() and sink.read_text() == "one\ntwo\n", 60,
                   "the sink file", )
        with open(source, "a") as f:
            f.write("three\n")
        wait_until(lambda: sink.read_text() == "one\ntwo\nthree\n", 60, "the third line")
        assert consume(sasl_broker.bootstrap, topic, 3) == [
            schema_line(t).encode() for t in ("one", "two", "three")]
        code, status = request(worker, "GET", "/connectors/sasl-sink/status")
        assert code == 200 and status["tasks"][0]["state"] == "RUNNING", status
    finally:
        assert worker.stop() == 0, worker.log_tail()


def connect_worker_refused(workdir: Path, bootstrap: str, security: dict[str, str],
                           secret: str) -> str:
    """Starts a standalone worker with `security` that the broker refuses: it exits in
    Kafka Connect's own words, never logging `secret`. Returns its log."""
    worker = ConnectWorker(workdir, bootstrap)
    with open(worker.config_path, "a") as f:
        f.writelines(f"{k}={v}\n" for k, v in security.items())
    with open(worker.log_path, "ab") as log:
        proc = subprocess.run([str(rafka_bin()), "connect-standalone", str(worker.config_path)],
                              stdout=log, stderr=log, timeout=120)
    assert proc.returncode != 0
    text = log_of(worker.log_path)
    assert "Failed to connect to and describe Kafka cluster. Check worker's broker " \
        "connection and security properties." in text, text[-2000:]
    assert secret not in text
    return text


def test_connect_worker_with_a_wrong_password_or_gssapi_says_why(sasl_broker, tmp_path):
    # A wrong password: the worker cannot describe the cluster and exits, saying so.
    connect_worker_refused(tmp_path / "wrong", sasl_broker.bootstrap,
                           connect_security("not-it"), "not-it")
    # GSSAPI (no Kerberos here): refused at start-up, by name.
    gssapi = ConnectWorker(tmp_path / "gssapi", sasl_broker.bootstrap)
    with open(gssapi.config_path, "a") as f:
        f.writelines(f"{k}={v}\n" for k, v in connect_security(mechanism="GSSAPI").items())
    proc = subprocess.run([str(rafka_bin()), "connect-standalone", str(gssapi.config_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "GSSAPI" in proc.stderr + proc.stdout, proc.stderr


def test_connect_distributed_moves_data_over_sasl(sasl_broker, tmp_path):
    topic = f"connect-dsasl-{uuid.uuid4().hex[:8]}"
    source, sink, files = file_pipeline(tmp_path, topic)
    group = f"connect-sasl-{uuid.uuid4().hex[:6]}"
    worker = ConnectWorker(tmp_path / "worker", sasl_broker.bootstrap, distributed={
        "group.id": group, "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets", "status.storage.topic": f"{group}-status",
        "config.storage.replication.factor": "1", "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1", **connect_security()})
    worker.start()
    try:
        for path in files:
            props = dict(line.split("=", 1) for line in path.read_text().splitlines())
            code, body = request(worker, "POST", "/connectors",
                                 {"name": props["name"], "config": props})
            assert code == 201, body
        wait_until(lambda: sink.exists() and sink.read_text() == "one\ntwo\n", 60,
                   "the sink file")
        assert consume(sasl_broker.bootstrap, topic, 2) == [
            schema_line(t).encode() for t in ("one", "two")]
    finally:
        assert worker.stop() == 0, worker.log_tail()


# -- the REST proxy ---------------------------------------------------------------------

def rest_security(password: str = "alice-secret", mechanism: str = "PLAIN") -> dict:
    return prefixed("client.", java_security(password, mechanism))


def rest_round_trip(proxy: Proxy, bootstrap: str, topic: str,
                    client: dict[str, str] | None = None) -> str:
    """Through the proxy: v2 produce "one", "two" after a seed record (read back with
    `client`), then a v2 consumer instance reads all three. The instance's path."""
    status, _, body = proxy.call("POST", f"/topics/{topic}", content_type=V2_BINARY, body={
        "records": [{"value": "b25l"}, {"value": "dHdv"}]})  # "one", "two"
    assert status == 200 and [o["error_code"] for o in body["offsets"]] == [None, None], body
    assert consume(bootstrap, topic, 3, client) == [b"seed", b"one", b"two"]
    group = f"rest-{uuid.uuid4().hex[:6]}"
    status, _, created = proxy.call("POST", f"/consumers/{group}", content_type=V2, body={
        "name": "c1", "format": "binary", "auto.offset.reset": "earliest"})
    assert status == 200, created
    base = f"/consumers/{group}/instances/c1"
    status, _, _ = proxy.call("POST", f"{base}/subscription", content_type=V2,
                              body={"topics": [topic]})
    assert status == 204
    seen: list[str] = []

    def fetched():
        status, _, records = proxy.call("GET", f"{base}/records", accept=V2_BINARY)
        assert status == 200, records
        seen.extend(r["value"] for r in records)
        return len(seen) >= 3
    wait_until(fetched, 60, "the records through the v2 consumer")
    assert seen == ["c2VlZA==", "b25l", "dHdv"]
    return base


def test_rest_proxy_produces_and_consumes_over_sasl(sasl_broker, tmp_path):
    topic = f"rest-sasl-{uuid.uuid4().hex[:8]}"
    produce(sasl_broker.bootstrap, topic, [b"seed"])
    proxy = Proxy(sasl_broker, tmp_path, rest_security())
    try:
        base = rest_round_trip(proxy, sasl_broker.bootstrap, topic)
        # v3: the admin calls (rafka's own client) authenticate too.
        status, _, topics = proxy.call("GET", f"/v3/clusters/{cluster_id(proxy)}/topics")
        assert status == 200 and topic in {t["topic_name"] for t in topics["data"]}
        proxy.call("DELETE", base, content_type=V2)
    finally:
        proxy.stop()


def test_rest_proxy_produces_with_oauthbearers_unsecured_token(sasl_broker, tmp_path):
    """Kafka's `unsecuredLoginStringClaim_sub` becomes librdkafka's unsecured JWT."""
    topic = f"rest-oauth-{uuid.uuid4().hex[:8]}"
    produce(sasl_broker.bootstrap, topic, [b"seed"])
    jaas = ("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
            'unsecuredLoginStringClaim_sub="alice";')
    proxy = Proxy(sasl_broker, tmp_path, {
        "client.security.protocol": "SASL_PLAINTEXT", "client.sasl.mechanism": "OAUTHBEARER",
        "client.sasl.jaas.config": jaas})
    try:
        status, _, body = proxy.call("POST", f"/topics/{topic}", content_type=V2_BINARY, body={
            "records": [{"value": "b25l"}]})  # "one"
        assert status == 200 and [o["error_code"] for o in body["offsets"]] == [None], body
        assert consume(sasl_broker.bootstrap, topic, 2) == [b"seed", b"one"]
    finally:
        proxy.stop()


def cluster_id(proxy: Proxy) -> str:
    status, _, body = proxy.call("GET", "/v3/clusters")
    assert status == 200, body
    return body["data"][0]["cluster_id"]


def test_rest_proxy_with_a_wrong_password_or_gssapi_says_why(sasl_broker, tmp_path):
    port = free_port()
    config = tmp_path / "kafka-rest.properties"
    props = {"bootstrap.servers": sasl_broker.bootstrap, "listeners": f"http://127.0.0.1:{port}",
             **rest_security(mechanism="GSSAPI")}
    config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    proc = subprocess.run([str(rafka_bin()), "rest-proxy", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "GSSAPI" in proc.stderr, proc.stderr
    # A wrong password: the proxy starts, its Kafka calls fail with the broker's reason.
    (tmp_path / "wrong").mkdir()
    props = rest_security("not-it")
    proxy = Proxy.__new__(Proxy)
    proxy.port = free_port()
    proxy.base = f"http://127.0.0.1:{proxy.port}"
    path = tmp_path / "wrong" / "kafka-rest.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in {
        "bootstrap.servers": sasl_broker.bootstrap,
        "listeners": f"http://127.0.0.1:{proxy.port}", **props}.items()))
    proxy.log_path = tmp_path / "wrong" / "rest-proxy.log"
    proxy.log = open(proxy.log_path, "wb")
    proxy.proc = subprocess.Popen([str(rafka_bin()), "rest-proxy", str(path)],
                                  stdout=proxy.log, stderr=subprocess.STDOUT)
    try:
        def answered():
            status, _, body = proxy.call("GET", "/v3/clusters")
            return (status, body) if status != 200 else None
        status, body = wait_until(answered, 60, "an error answer")
        assert status >= 500, body
        assert "Authentication failed" in json.dumps(body), body
    finally:
        proxy.stop()
    assert "not-it" not in log_of(proxy.log_path)


# -- the monitor ------------------------------------------------------------------------

def burrow_config(path: Path, port: int, bootstrap: str, password: str, user: str = "alice",
                  mechanism: str = "PLAIN", cafile: Path | None = None) -> None:
    """A monitor of one cluster through a client profile with `[sasl.USER]` (and, with
    `cafile`, a `[tls.ca]` trusting it: SASL_SSL)."""
    tls = f'tls = "ca"\n\n[tls.ca]\ncafile = "{cafile}"\n' if cafile else ""
    path.write_text(f"""
[httpserver.default]
address = "127.0.0.1:{port}"

[client-profile.secured]
client-id = "burrow-sasl"
sasl = "{user}"
{tls}
[sasl.{user}]
username = "{user}"
password = "{password}"
handshake-first = true
mechanism = "{mechanism}"

[cluster.local]
class-name = "kafka"
client-profile = "secured"
servers = ["{bootstrap}"]
topic-refresh = 1
offset-refresh = 1

[consumer.local]
class-name = "kafka"
cluster = "local"
client-profile = "secured"

[storage.default]
class-name = "inmemory"
intervals = 3
min-distance = 0

[evaluator.default]
class-name = "caching"
expire-cache = 0
""")


def burrow_get(base: str, path: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(base + path, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def lag_of(proc: subprocess.Popen, log_path: Path, base: str, group: str,
           lag: int) -> list | None:
    """The group's partitions once the monitor reports `lag` on the first; otherwise
    raises what it answered (wait_until keeps the last exception for its timeout message:
    a stale "Connection refused" from before the monitor listened misled once)."""
    # A monitor that died is a failure with its log.
    assert proc.poll() is None, log_of(log_path)
    status, body = burrow_get(base, f"/v3/kafka/local/consumer/{group}/lag")
    partitions = body.get("status", {}).get("partitions") if status == 200 else None
    if partitions and partitions[0]["end"]["lag"] == lag:
        return partitions
    raise LookupError(f"HTTP {status}: {json.dumps(body)[:500]}")


def commit_once_the_topic_is_known(proc: subprocess.Popen, log_path: Path, base: str,
                                   topic: str, group: str, client: dict[str, str]) -> None:
    """Commits offset 4 of `topic` for `group` after the monitor's cluster module lists
    the topic. As Burrow's storage, the monitor drops a commit for a partition its cluster
    module does not know yet, and a group that committed once is never seen again: the
    lag test committed before starting the monitor, and passed only when the cluster
    module happened to win that race."""
    def listed():
        assert proc.poll() is None, log_of(log_path)
        status, body = burrow_get(base, "/v3/kafka/local/topic")
        return status == 200 and topic in body["topics"]
    wait_until(listed, 60, f"{topic} in the monitor's topic list")
    consumer = Consumer({**client, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
    consumer.close()


def test_monitor_reports_a_groups_lag_over_sasl(sasl_broker, tmp_path):
    topic = f"burrow-sasl-{uuid.uuid4().hex[:8]}"
    group = f"burrow-sasl-{uuid.uuid4().hex[:6]}"
    produce(sasl_broker.bootstrap, topic, [f"v{i}".encode() for i in range(10)])
    port = free_port()
    config = tmp_path / "burrow.toml"
    burrow_config(config, port, sasl_broker.bootstrap, "alice-secret")
    log_path = tmp_path / "burrow.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(rafka_bin()), "burrow", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        commit_once_the_topic_is_known(proc, log_path, base, topic, group,
                                       {"bootstrap.servers": sasl_broker.bootstrap, **alice()})
        partitions = wait_until(lambda: lag_of(proc, log_path, base, group, 6), 60,
                                f"{group}'s lag of 6")
        assert partitions[0]["topic"] == topic and partitions[0]["end"]["offset"] == 4
    finally:
        proc.terminate()
        proc.wait(10)
    assert "alice-secret" not in log_of(log_path)


def test_monitor_with_a_wrong_password_or_gssapi_says_why(sasl_broker, tmp_path):
    port = free_port()
    config = tmp_path / "burrow.toml"
    burrow_config(config, port, sasl_broker.bootstrap, "not-it")
    log_path = tmp_path / "burrow.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([str(rafka_bin()), "burrow", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        # (librdkafka at log level 3 reports it as a transport failure: the monitor's
        # log names the cluster, not the authentication.)
        wait_until(lambda: "cannot list the cluster's topics" in log_of(log_path), 60,
                   "the failure logged")
        status, body = burrow_get(f"http://127.0.0.1:{port}", "/v3/kafka/local/topic")
        assert status == 200 and body["topics"] == [], body
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    assert "not-it" not in log_of(log_path)
    gssapi = config.read_text().replace('mechanism = "PLAIN"', 'mechanism = "GSSAPI"')
    config.write_text(gssapi)
    proc = subprocess.run([str(rafka_bin()), "burrow", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "[sasl.alice]" in out and "GSSAPI" in out, out
