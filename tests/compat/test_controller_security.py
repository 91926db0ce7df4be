"""The controller listener secured as Kafka configures it: three combined broker+controller
nodes whose CONTROLLER listener is SSL with mTLS (`ssl.client.auth=required`), and three
whose CONTROLLER listener is SASL_SSL with SCRAM-SHA-256 (the controllers' credential
bootstrapped by `storage format --add-scram`, as Kafka requires). The quorum's Raft RPCs
and the brokers' requests to the controller all cross that listener: a topic created,
records produced and consumed, and the active controller killed with SIGKILL must leave a
quorum that elects another and keeps serving.

Peers that do not authenticate are refused: plain TCP on the TLS port, TLS without a
client certificate or with one from another CA, a frame before the SASL exchange, a
wrong password. The controller listener speaks rafka's own framing (a 4-byte length,
then JSON; see crates/metadata/src/rpc.rs), which these raw probes write by hand.
Certificates are made by test_tls's `Certificates` (Debian's openssl).
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import subprocess
from pathlib import Path

import pytest

from compat_helpers import confluent_consume, topic_name, wait_until
from conftest import rafka_bin
from test_cluster import (COMBINED, NODE_IDS, ClusterNode, _cluster, acks_all_producer,
                          create_topic, create_topic_after_failover, wait_for_full_isr)
from test_tls import Certificates

CONTROLLER = "listener.name.controller"
SCRAM_PASSWORD = "controller-secret"
SCRAM_JAAS = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
              f'username="controller" password="{SCRAM_PASSWORD}";')


def ssl_config(certs: Certificates) -> dict[str, str]:
    return {
        f"{CONTROLLER}.ssl.keystore.type": "PEM",
        f"{CONTROLLER}.ssl.keystore.location": str(certs.broker),
        f"{CONTROLLER}.ssl.truststore.type": "PEM",
        f"{CONTROLLER}.ssl.truststore.location": str(certs.ca),
    }


@pytest.fixture
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("controller-certs"))


@pytest.fixture
def ssl_controller_cluster(request, tmp_path, certs):
    config = {
        "listener.security.protocol.map": "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
        **ssl_config(certs),
        f"{CONTROLLER}.ssl.client.auth": "required",
    }
    for c in _cluster(request, tmp_path, COMBINED, extra_config=config):
        c.certs = certs
        yield c


def format_with_controller_scram(monkeypatch) -> None:
    """Every node's `storage format` bootstraps the controllers' SCRAM-SHA-256 user, as
    Kafka requires for a SCRAM controller listener (--add-scram)."""
    original = ClusterNode.format
    add_scram = ["--add-scram", f"SCRAM-SHA-256=[name=controller,password={SCRAM_PASSWORD}]"]
    monkeypatch.setattr(ClusterNode, "format",
                        lambda self, cluster_id, *extra: original(self, cluster_id, *extra,
                                                                  *add_scram))


@pytest.fixture
def scram_controller_cluster(request, tmp_path, certs, monkeypatch):
    format_with_controller_scram(monkeypatch)
    config = {
        "listener.security.protocol.map": "CONTROLLER:SASL_SSL,PLAINTEXT:PLAINTEXT",
        **ssl_config(certs),
        "sasl.mechanism.controller.protocol": "SCRAM-SHA-256",
        f"{CONTROLLER}.sasl.enabled.mechanisms": "SCRAM-SHA-256",
        f"{CONTROLLER}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
    }
    for c in _cluster(request, tmp_path, COMBINED, extra_config=config):
        c.certs = certs
        yield c


# -- raw frames on the controller listener ------------------------------------------------

def send_frame(sock, message) -> None:
    body = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


def read_frame(sock):
    """The next frame, or None when the peer closed (or reset) the connection."""
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            try:
                chunk = sock.recv(n - len(data))
            except (ConnectionResetError, ssl.SSLError, OSError):
                return None
            if not chunk:
                return None
            data += chunk
        return data
    header = exactly(4)
    if header is None:
        return None
    body = exactly(struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)


def tls_socket(port: int, certs: Certificates, keystore: Path | None) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(certs.ca))
    if keystore is not None:
        crt = keystore.with_name(keystore.name.replace(".keystore.pem", ".crt"))
        key = keystore.with_name(keystore.name.replace(".keystore.pem", ".key"))
        context.load_cert_chain(str(crt), str(key))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def describe_voters(sock):
    send_frame(sock, {"Broker": "DescribeVoters"})
    return read_frame(sock)


def refused(open_socket) -> bool:
    """Whether a connection made by `open_socket` gets no answer to DescribeVoters."""
    try:
        sock = open_socket()
    except (ssl.SSLError, OSError):
        return True
    with sock:
        try:
            answer = describe_voters(sock)
        except (ssl.SSLError, OSError):
            return True
        return answer is None


# -- the cluster's work ----------------------------------------------------------------

def exercise_quorum(cluster) -> None:
    """A topic and its records across the brokers, then the active controller killed:
    another is elected over the secured listener, and a new topic is created through
    it."""
    admin = cluster.admin()
    topic = topic_name("controller-secured")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    producer = acks_all_producer(cluster.bootstrap())
    delivered: list = []
    for i in range(100):
        producer.produce(topic, value=b"v%d" % i, partition=0,
                         on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0
    assert delivered == [None] * 100, set(map(str, delivered))
    records = confluent_consume(cluster.bootstrap(), topic, [0], end_offsets={0: 100},
                                timeout_s=30)
    assert [r.value for r in records] == [b"v%d" % i for i in range(100)]

    active = wait_until(cluster.quorum_leader, 30, "an active controller")
    cluster.nodes[active].kill9()
    survivors = {i for i in NODE_IDS if i != active}
    new_active = wait_until(lambda: cluster.quorum_leader() in survivors and cluster.quorum_leader(),
                            30, f"a new active controller among {sorted(survivors)}")
    assert new_active in survivors
    # The new controller commits metadata again: a topic created through a survivor.
    after = topic_name("after-failover")
    # Slow on a loaded machine: the dead node stays librdkafka's "controller" until fenced.
    create_topic_after_failover(cluster, after, 1, 2, 60,
                                f"create_topics after killing controller {active}")
    admin = cluster.admin()
    ps = wait_until(lambda: (lambda p: p if p and p[0].leader in survivors else None)(
        cluster.partitions(admin, after)), 30, f"a leader for {after} among the survivors")
    assert ps[0].leader in survivors


def test_three_nodes_run_their_quorum_over_an_mtls_controller_listener(ssl_controller_cluster):
    cluster = ssl_controller_cluster
    certs = cluster.certs
    port = cluster.nodes[1].controller_port
    # A peer with a certificate of the CA is served (the probes below can fail).
    with tls_socket(port, certs, certs.broker) as sock:
        answer = describe_voters(sock)
    voters = answer["Broker"]["Voters"]["voters"]
    assert sorted(int(v) for v in voters) == sorted(NODE_IDS)
    # Plain TCP on the TLS port: the "handshake" fails, the frame is never answered.
    assert refused(lambda: socket.create_connection(("127.0.0.1", port), timeout=10))
    # ssl.client.auth=required: no certificate, or one of another CA, is refused.
    assert refused(lambda: tls_socket(port, certs, None))
    stranger = certs.issue("stranger", "/CN=stranger", ca="other-ca")
    assert refused(lambda: tls_socket(port, certs, stranger))
    log = cluster.nodes[1].log_path.read_text(errors="replace")
    assert "Failed authentication with /127.0.0.1 (SSL handshake failed on listener CONTROLLER" \
        in log
    exercise_quorum(cluster)


def test_three_nodes_run_their_quorum_over_sasl_ssl_with_bootstrapped_scram(
        scram_controller_cluster):
    cluster = scram_controller_cluster
    certs = cluster.certs
    port = cluster.nodes[2].controller_port
    # Plain TCP on the SASL_SSL port is refused.
    assert refused(lambda: socket.create_connection(("127.0.0.1", port), timeout=10))
    # TLS, but a request before the SASL exchange: refused with a reason, then closed.
    with tls_socket(port, certs, None) as sock:
        answer = describe_voters(sock)
        assert "AuthenticationFailed" in answer, answer
        assert "authenticate first" in answer["AuthenticationFailed"]["message"]
        assert read_frame(sock) is None
    # An unknown mechanism: the listener's enabled ones, and a close.
    with tls_socket(port, certs, None) as sock:
        send_frame(sock, {"SaslHandshake": {"mechanism": "PLAIN"}})
        answer = read_frame(sock)
        assert answer["SaslHandshake"]["error"] == "Unsupported SASL mechanism PLAIN"
        assert answer["SaslHandshake"]["enabled_mechanisms"] == ["SCRAM-SHA-256"]
        assert read_frame(sock) is None
    # A SCRAM client-first for an unknown user: Kafka's generic failure, then a close.
    with tls_socket(port, certs, None) as sock:
        send_frame(sock, {"SaslHandshake": {"mechanism": "SCRAM-SHA-256"}})
        assert read_frame(sock)["SaslHandshake"]["error"] is None
        send_frame(sock, {"SaslAuthenticate": {"token": list(b"n,,n=mallory,r=abcdefgh")}})
        answer = read_frame(sock)
        assert answer == {"AuthenticationFailed": {"message": (
            "Authentication failed during authentication due to invalid credentials with "
            "SASL mechanism SCRAM-SHA-256")}}, answer
        assert read_frame(sock) is None
    log = cluster.nodes[2].log_path.read_text(errors="replace")
    assert "Failed authentication with /127.0.0.1 (Authentication failed during authentication" \
        in log
    assert SCRAM_PASSWORD not in log
    exercise_quorum(cluster)


def test_a_wrong_controller_password_keeps_a_broker_out(tmp_path, certs, monkeypatch):
    """A broker-only node whose JAAS entry has the wrong password never registers: the
    controller refuses it, and its log says so without the password."""
    format_with_controller_scram(monkeypatch)
    base = {
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "sasl.mechanism.controller.protocol": "SCRAM-SHA-256",
        f"{CONTROLLER}.sasl.enabled.mechanisms": "SCRAM-SHA-256",
        f"{CONTROLLER}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
    }
    from test_cluster import Cluster
    cluster = Cluster(tmp_path, {1: "controller", 2: "broker"}, extra_config=base)
    wrong = "not-the-password"
    broker = cluster.nodes[2]
    text = broker.config_path.read_text().replace(f'password="{SCRAM_PASSWORD}"',
                                                  f'password="{wrong}"')
    broker.config_path.write_text(text)
    try:
        cluster.nodes[1].spawn()
        broker.spawn()
        wait_until(lambda: "refused this node" in broker.log_path.read_text(errors="replace"),
                   30, "the broker's log to say the controller refused it")
        wait_until(lambda: "Failed authentication with /127.0.0.1" in
                   cluster.nodes[1].log_path.read_text(errors="replace"), 10,
                   "the controller's log to name the failed authentication")
        controller_log = cluster.nodes[1].log_path.read_text(errors="replace")
        assert wrong not in controller_log and SCRAM_PASSWORD not in controller_log
        assert wrong not in broker.log_path.read_text(errors="replace")
    finally:
        cluster.stop()


def start_fails(workdir: Path, extra: dict[str, str], broker_only: bool = False,
                voters: str = "1@127.0.0.1:19093") -> str:
    """Formats a combined node (or a broker-only one, a controller's client), then starts
    it with `extra` and returns its error output (it must fail)."""
    workdir.mkdir()
    config = {
        "process.roles": "broker" if broker_only else "broker,controller",
        "node.id": "2" if broker_only else "1",
        "controller.quorum.voters": voters,
        "listeners": "PLAINTEXT://127.0.0.1:0" + ("" if broker_only else
                                                    ",CONTROLLER://127.0.0.1:19093"),
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(workdir / "data"),
    }
    path = workdir / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
    out = subprocess.run([str(rafka_bin()), "storage", "format", "-t", "MkU3OEVBNTcwNTJENDM2Qk",
                          "-c", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    path.write_text("".join(f"{k}={v}\n" for k, v in {**config, **extra}.items()))
    proc = subprocess.run([str(rafka_bin()), "server", "start", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_bad_controller_security_settings_fail_start_up_with_the_key_named(tmp_path, certs):
    sasl_map = {"listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"{CONTROLLER}.sasl.enabled.mechanisms": "PLAIN",
                f"{CONTROLLER}.plain.sasl.jaas.config":
                    'org.apache.kafka.common.security.plain.PlainLoginModule required '
                    'username="c" password="c-secret" user_c="c-secret";'}
    cases = [
        # Kafka's default mechanism for the controllers is GSSAPI.
        (sasl_map, "sasl.mechanism.controller.protocol is GSSAPI (Kafka's default), which "
                   "rafka's controller listener CONTROLLER (SASL_PLAINTEXT) cannot use: set it "
                   "to one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
        ({**sasl_map, "sasl.mechanism.controller.protocol": "SCRAM-SHA-512"},
         "sasl.mechanism.controller.protocol (SCRAM-SHA-512) must be included in "
         "sasl.enabled.mechanisms of controller listener CONTROLLER (now PLAIN)"),
        ({"listener.security.protocol.map": "CONTROLLER:SASL_SSL,PLAINTEXT:PLAINTEXT",
          "sasl.mechanism.controller.protocol": "PLAIN",
          f"{CONTROLLER}.sasl.enabled.mechanisms": "PLAIN", **ssl_config(certs)},
         "Could not find a 'KafkaServer' or 'controller.KafkaServer' entry in the JAAS "
         "configuration (set listener.name.controller.plain.sasl.jaas.config)"),
        ({"listener.security.protocol.map": "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
          **ssl_config(certs), f"{CONTROLLER}.ssl.keystore.type": "JKS"},
         "listener CONTROLLER: listener.name.controller.ssl.keystore.type=JKS: rafka reads "
         "PEM keystores only"),
    ]
    for i, (extra, message) in enumerate(cases):
        out = start_fails(tmp_path / f"case-{i}", extra)
        assert message in out, out
    # SCRAM for the controllers needs the credential bootstrapped by storage format.
    out = start_fails(tmp_path / "no-bootstrap", {
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "sasl.mechanism.controller.protocol": "SCRAM-SHA-256",
        f"{CONTROLLER}.sasl.enabled.mechanisms": "SCRAM-SHA-256",
        f"{CONTROLLER}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS},
        # Two voters: a multi-node quorum (one combined voter is the single-node mode).
        voters="1@127.0.0.1:19093,2@127.0.0.1:19094")
    assert ("controller listener CONTROLLER authenticates with SCRAM-SHA-256 as user "
            "'controller', who has no bootstrapped SCRAM-SHA-256 credential") in out, out
    assert "--add-scram 'SCRAM-SHA-256=[name=controller,password=…]'" in out, out
    assert SCRAM_PASSWORD not in out
    # A broker's own client side: the store it would present to the controllers.
    out = start_fails(tmp_path / "broker-only", {
        "listener.security.protocol.map": "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
        **ssl_config(certs), f"{CONTROLLER}.ssl.keystore.location": str(tmp_path / "absent.pem")},
        broker_only=True)
    assert "controller listener CONTROLLER: ssl.keystore.location: cannot read" in out, out
