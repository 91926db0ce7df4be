"""The services and the librdkafka-based tools over TLS: one broker with a SASL_SSL
listener (PLAIN for the admin, SCRAM-SHA-512 for carol, whom kafka-configs creates) and an
SSL listener requiring client certificates (mTLS, the principal from the certificate's
subject, ACLs deciding). Each service takes Kafka's client keys as its own config spells
them (`ssl.truststore.location`, `ssl.keystore.location` as PEM, `sasl.jaas.config`) and
moves real records:

- Connect standalone: a file source -> topic -> file sink over SASL_SSL + SCRAM-SHA-512;
- the REST proxy: v2 produce and a v2 consumer over SSL (`client.ssl.*`);
- the monitor: a group's lag over SASL_SSL + SCRAM (`[tls.X]` + `[sasl.X]`);
- the console producer and consumer over SSL with a client certificate whose principal an
  ACL lets in (and another's it keeps out).

A wrong password or an untrusted broker certificate fails with a message naming the cause,
and no secret is logged. Certificates are made here with `openssl` (test_tls's helpers).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import admin as ck_admin

from compat_helpers import wait_until
from conftest import Broker, free_port, rafka_bin
from connect_helpers import ConnectWorker, request, schema_line
from test_rest_proxy import V2, Proxy
from test_services_sasl import (burrow_config, burrow_get, commit_once_the_topic_is_known,
                                connect_worker_refused, file_pipeline, lag_of, log_of,
                                rest_round_trip)
from test_services_sasl import consume as sasl_consume
from test_services_sasl import produce as sasl_produce
from test_tls import PLAIN_JAAS, SCRAM_JAAS, Certificates

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 60
CAROL_PASSWORD = "carol-scram-secret"


def scram_jaas(password: str) -> str:
    return ('org.apache.kafka.common.security.scram.ScramLoginModule required '
            f'username="carol" password="{password}";')


class ServicesBroker(Broker):
    """A SASL_SSL listener (the bootstrap) and an SSL listener with mTLS required."""

    def __init__(self, workdir: Path, certs: Certificates):
        super().__init__(workdir)
        self.ssl_port = free_port()
        self.ssl_bootstrap = f"127.0.0.1:{self.ssl_port}"
        listeners = f"SASL_SSL://127.0.0.1:{self.port},SSL://127.0.0.1:{self.ssl_port}"
        self.config.update({
            "listeners": listeners,
            "advertised.listeners": listeners,
            "inter.broker.listener.name": "SSL",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(certs.broker),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs.ca),
            "listener.name.ssl.ssl.client.auth": "required",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
            "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # Only the mTLS topics carry ACLs; the rest stays open to every principal.
            "allow.everyone.if.no.acl.found": "true",
            "super.users": "User:admin;User:CN=broker",
        })
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))
        self.client_config = {"security.protocol": "SASL_SSL", "ssl.ca.location": str(certs.ca),
                              "sasl.mechanism": "PLAIN", "sasl.username": "admin",
                              "sasl.password": "admin-secret"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


def write_properties(path: Path, props: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def tool(name: str, *args: str, stdin: str | None = None,
         timeout: float = 90) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAFKA_BIN": str(rafka_bin())}
    return subprocess.run([str(ROOT / "bin" / name), *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def broker(tmp_path_factory, certs):
    node = ServicesBroker(tmp_path_factory.mktemp("services-tls"), certs)
    node.start()
    try:
        # carol's SCRAM-SHA-512 credential, made with kafka-configs over SASL_SSL as admin.
        admin_config = write_properties(node.workdir / "admin.properties", {
            "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
            "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule '
                                'required username="admin" password="admin-secret";',
            "ssl.truststore.type": "PEM", "ssl.truststore.location": str(certs.ca)})
        out = tool("kafka-configs.sh", "--bootstrap-server", node.bootstrap, "--command-config",
                   str(admin_config), "--alter", "--add-config",
                   f"SCRAM-SHA-512=[iterations=8192,password={CAROL_PASSWORD}]",
                   "--entity-type", "users", "--entity-name", "carol")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Completed updating config for user carol." in out.stdout, out.stdout
        yield node
    finally:
        node.stop()


def carol(certs: Certificates, password: str = CAROL_PASSWORD) -> dict[str, str]:
    """Kafka's client keys for carol over SASL_SSL with SCRAM-SHA-512."""
    return {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.jaas.config": scram_jaas(password), "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs.ca)}


def carol_librdkafka(certs: Certificates) -> dict[str, str]:
    return {"security.protocol": "SASL_SSL", "ssl.ca.location": str(certs.ca),
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "carol",
            "sasl.password": CAROL_PASSWORD}


def produce(bootstrap: str, client: dict[str, str], topic: str, values: list[bytes]) -> None:
    sasl_produce(bootstrap, topic, values, client)


def consume(bootstrap: str, client: dict[str, str], topic: str, count: int) -> list[bytes]:
    return sasl_consume(bootstrap, topic, count, client)


# -- Connect ----------------------------------------------------------------------------

def connect_security(certs: Certificates, password: str = CAROL_PASSWORD) -> dict[str, str]:
    keys = carol(certs, password)
    out = dict(keys)
    for prefix in ("producer.", "consumer."):
        out.update({f"{prefix}{k}": v for k, v in keys.items()})
    return out


def test_connect_standalone_moves_data_over_sasl_ssl_with_scram(broker, certs, tmp_path):
    topic = f"connect-tls-{uuid.uuid4().hex[:8]}"
    source, sink, files = file_pipeline(tmp_path, topic)
    worker = ConnectWorker(tmp_path / "worker", broker.bootstrap, files)
    with open(worker.config_path, "a") as f:
        f.writelines(f"{k}={v}\n" for k, v in connect_security(certs).items())
    worker.start()
    try:
        wait_until(lambda: sink.exists() and sink.read_text() == "one\ntwo\n", DEADLINE_S,
                   "the sink file")
        with open(source, "a") as f:
            f.write("three\n")
        wait_until(lambda: sink.read_text() == "one\ntwo\nthree\n", DEADLINE_S, "the third line")
        assert consume(broker.bootstrap, carol_librdkafka(certs), topic, 3) == [
            schema_line(t).encode() for t in ("one", "two", "three")]
        code, status = request(worker, "GET", "/connectors/sasl-sink/status")
        assert code == 200 and status["tasks"][0]["state"] == "RUNNING", status
    finally:
        assert worker.stop() == 0, worker.log_tail()
    assert CAROL_PASSWORD not in log_of(worker.log_path)


def test_connect_with_a_wrong_password_or_a_jks_store_says_why(broker, certs, tmp_path):
    text = connect_worker_refused(tmp_path / "wrong", broker.bootstrap,
                                  connect_security(certs, "not-it"), "not-it")
    assert "Authentication failed" in text, text[-2000:]
    jks = ConnectWorker(tmp_path / "jks", broker.bootstrap)
    with open(jks.config_path, "a") as f:
        f.writelines(f"{k}={v}\n" for k, v in connect_security(certs).items())
        f.write("producer.ssl.keystore.type=JKS\n")
    proc = subprocess.run([str(rafka_bin()), "connect-standalone", str(jks.config_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "producer: ssl.keystore.type=JKS" in proc.stdout + proc.stderr, proc.stderr


# -- the REST proxy ---------------------------------------------------------------------

def test_rest_proxy_produces_and_consumes_over_ssl(broker, certs, tmp_path):
    # The SSL listener requires a certificate: the proxy's is CN=rest-proxy.
    keystore = certs.issue("rest-proxy", "/CN=rest-proxy")
    ssl_keys = {"security.protocol": "SSL", "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(certs.ca), "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(keystore)}
    topic = f"rest-tls-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, carol_librdkafka(certs), topic, [b"seed"])
    ssl_broker = type("B", (), {"bootstrap": broker.ssl_bootstrap})()
    proxy = Proxy(ssl_broker, tmp_path, {f"client.{k}": v for k, v in ssl_keys.items()})
    try:
        base = rest_round_trip(proxy, broker.bootstrap, topic, carol_librdkafka(certs))
        # v3: the admin calls (rafka's own client) go over SSL with the certificate too.
        status, _, clusters = proxy.call("GET", "/v3/clusters")
        assert status == 200, clusters
        cluster = clusters["data"][0]["cluster_id"]
        status, _, topics = proxy.call("GET", f"/v3/clusters/{cluster}/topics")
        assert status == 200 and topic in {t["topic_name"] for t in topics["data"]}
        proxy.call("DELETE", base, content_type=V2)
    finally:
        proxy.stop()


def test_rest_proxy_refuses_a_jks_truststore_by_name(broker, certs, tmp_path):
    config = write_properties(tmp_path / "kafka-rest.properties", {
        "bootstrap.servers": broker.ssl_bootstrap,
        "listeners": f"http://127.0.0.1:{free_port()}",
        "client.security.protocol": "SSL", "client.ssl.truststore.type": "JKS",
        "client.ssl.truststore.location": "/nowhere/truststore.jks",
        "client.ssl.truststore.password": "changeit"})
    proc = subprocess.run([str(rafka_bin()), "rest-proxy", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "ssl.truststore.type=JKS" in proc.stderr and "PEM" in proc.stderr, proc.stderr
    assert "changeit" not in proc.stderr + proc.stdout


# -- the monitor ------------------------------------------------------------------------

def burrow_tls_config(path: Path, port: int, bootstrap: str, cafile: Path,
                      password: str) -> None:
    """`[tls.ca]` + `[sasl.carol]` (SCRAM-SHA-512): SASL_SSL."""
    burrow_config(path, port, bootstrap, password, user="carol", mechanism="SCRAM-SHA-512",
                  cafile=cafile)


def start_burrow(config: Path, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")
    try:
        return subprocess.Popen([str(rafka_bin()), "burrow", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


def test_monitor_reports_a_groups_lag_over_sasl_ssl(broker, certs, tmp_path):
    topic = f"burrow-tls-{uuid.uuid4().hex[:8]}"
    group = f"burrow-tls-{uuid.uuid4().hex[:6]}"
    client = carol_librdkafka(certs)
    produce(broker.bootstrap, client, topic, [f"v{i}".encode() for i in range(10)])
    port = free_port()
    config = tmp_path / "burrow.toml"
    burrow_tls_config(config, port, broker.bootstrap, certs.ca, CAROL_PASSWORD)
    log_path = tmp_path / "burrow.log"
    proc = start_burrow(config, log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        commit_once_the_topic_is_known(proc, log_path, base, topic, group,
                                       {"bootstrap.servers": broker.bootstrap, **client})
        partitions = wait_until(lambda: lag_of(proc, log_path, base, group, 6), DEADLINE_S,
                                f"{group}'s lag of 6")
        assert partitions[0]["topic"] == topic and partitions[0]["end"]["offset"] == 4
    finally:
        stop(proc)
    assert CAROL_PASSWORD not in log_of(log_path)


def test_monitor_with_a_wrong_password_or_an_untrusted_ca_says_why(broker, certs, tmp_path):
    for name, cafile, password, cause in (
            ("wrong-password", certs.ca, "not-it", "Authentication failed"),
            ("untrusted", certs.other_ca, CAROL_PASSWORD, "certificate verify failed")):
        port = free_port()
        config = tmp_path / f"{name}.toml"
        burrow_tls_config(config, port, broker.bootstrap, cafile, password)
        log_path = tmp_path / f"{name}.log"
        proc = start_burrow(config, log_path)
        try:
            # The line names librdkafka's reason for the failed connection.
            wait_until(lambda: any("cannot list the cluster's topics" in line and cause in line
                                   for line in log_of(log_path).splitlines()),
                       DEADLINE_S, f"the failure logged with its cause ({name})")
        finally:
            stop(proc)
        text = log_of(log_path)
        assert "not-it" not in text and CAROL_PASSWORD not in text


# -- the console tools ------------------------------------------------------------------

def test_console_producer_and_consumer_over_ssl_with_an_mtls_principal(broker, certs,
                                                                      tmp_path):
    alice = certs.issue("console-alice", "/O=rafka/CN=console-alice")
    bob = certs.issue("console-bob", "/O=rafka/CN=console-bob")
    topic = f"mtls-console-{uuid.uuid4().hex[:8]}"
    admin = ck_admin.AdminClient({"bootstrap.servers": broker.bootstrap,
                                  **broker.client_config})
    admin.create_topics([ck_admin.NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    bindings = [
        ck_admin.AclBinding(ck_admin.ResourceType.TOPIC, topic,
                            ck_admin.ResourcePatternType.LITERAL, "User:CN=console-alice,O=rafka",
                            "*", ck_admin.AclOperation.ALL, ck_admin.AclPermissionType.ALLOW),
    ]
    for future in admin.create_acls(bindings).values():
        assert future.result(timeout=30) is None

    def client_config(name: str, keystore: Path) -> Path:
        return write_properties(tmp_path / f"{name}.properties", {
            "security.protocol": "SSL", "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs.ca), "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore)})

    lines = [f"line-{i}" for i in range(5)]
    out = tool("kafka-console-producer.sh", "--bootstrap-server", broker.ssl_bootstrap,
               "--topic", topic, "--producer.config", str(client_config("alice", alice)),
               stdin="".join(f"{line}\n" for line in lines))
    assert out.returncode == 0, out.stderr
    assert consume(broker.bootstrap, broker.client_config, topic, 5) == \
        [line.encode() for line in lines]
    out = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.ssl_bootstrap,
               "--topic", topic, "--from-beginning", "--max-messages", "5",
               "--consumer.config", str(client_config("alice-consumer", alice)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == lines
    # bob's certificate is trusted, but no ACL lets him write to the topic.
    out = tool("kafka-console-producer.sh", "--bootstrap-server", broker.ssl_bootstrap,
               "--topic", topic, "--producer.config", str(client_config("bob", bob)),
               stdin="not-allowed\n")
    assert "Error when sending message to topic" in out.stderr, out.stderr
    assert "topic authorization failed" in out.stderr.lower(), out.stderr
    assert consume(broker.bootstrap, broker.client_config, topic, 5) == \
        [line.encode() for line in lines]


def test_console_consumer_refuses_an_untrusted_broker_certificate(broker, certs, tmp_path):
    alice = certs.issue("untrusting-alice", "/O=rafka/CN=untrusting-alice")
    config = write_properties(tmp_path / "untrusting.properties", {
        "security.protocol": "SSL", "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs.other_ca), "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(alice)})
    out = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.ssl_bootstrap,
               "--topic", "anything", "--timeout-ms", "5000",
               "--consumer.config", str(config))
    assert out.returncode != 0
    assert "certificate verify failed" in out.stderr, out.stderr
