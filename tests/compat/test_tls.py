"""TLS listeners (SSL, SASL_SSL, mTLS) against confluent-kafka (librdkafka with OpenSSL).

Certificates are made here with Debian's `openssl` (never committed): a CA, a broker
certificate for 127.0.0.1/localhost, client certificates from the CA, and one client
certificate from another CA that the broker must refuse. Every test moves real records
and compares them byte for byte.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka import admin as ck_admin

from conftest import Broker, rafka_bin

DEADLINE_S = 30.0
PLAIN_JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required '
    'username="admin" password="admin-secret" '
    'user_admin="admin-secret" user_alice="alice-secret";'
)
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl not found: install Debian's openssl (apt-get install openssl)",
                    pytrace=False)
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


class Certificates:
    """A CA and the certificates it issued, as PEM files in `dir`."""

    def __init__(self, dir: Path):
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        self.ca = self._ca("ca", "rafka-test-ca")
        self.other_ca = self._ca("other-ca", "someone-else")
        self.broker = self.issue("broker", "/CN=broker", san="IP:127.0.0.1,DNS:localhost")

    def _ca(self, name: str, cn: str) -> Path:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
                "-subj", f"/CN={cn}", cwd=self.dir)
        return self.dir / f"{name}.pem"

    def issue(self, name: str, subject: str, san: str | None = None, ca: str = "ca",
              password: str | None = None) -> Path:
        """A PEM keystore (key, then certificate) signed by `ca`; the key encrypted
        PKCS#8 when `password` is given."""
        args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", subject, "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                # `req -x509` marks certificates CA:TRUE by default; rustls refuses a CA
                # certificate as a peer's own (CaUsedAsEndEntity), as it should.
                "-addext", "basicConstraints=critical,CA:FALSE"]
        if san:
            args += ["-addext", f"subjectAltName={san}"]
        openssl(*args, cwd=self.dir)
        key = self.dir / f"{name}.key"
        if password:
            openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", f"{name}.key",
                    "-out", f"{name}.enc.key", "-passout", f"pass:{password}", cwd=self.dir)
            key = self.dir / f"{name}.enc.key"
        keystore = self.dir / f"{name}.keystore.pem"
        keystore.write_text(key.read_text() + (self.dir / f"{name}.crt").read_text())
        return keystore

    def client(self, keystore: Path | None = None) -> dict[str, str]:
        """librdkafka's settings for an SSL client trusting the CA (with a certificate)."""
        config = {"security.protocol": "SSL", "ssl.ca.location": str(self.ca)}
        if keystore is not None:
            crt = keystore.with_name(keystore.name.replace(".keystore.pem", ".crt"))
            key = keystore.with_name(keystore.name.replace(".keystore.pem", ".key"))
            config["ssl.certificate.location"] = str(crt)
            config["ssl.key.location"] = str(key)
        return config


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


class TlsBroker(Broker):
    """conftest's single node with one client listener of `protocol` (SSL or SASL_SSL)."""

    def __init__(self, workdir: Path, certs: Certificates, protocol: str = "SSL",
                 extra: dict[str, str] | None = None,
                 client: dict[str, str] | None = None):
        super().__init__(workdir)
        prefix = f"listener.name.{protocol.lower()}"
        self.config.update({
            "listeners": f"{protocol}://127.0.0.1:{self.port}",
            "advertised.listeners": f"{protocol}://127.0.0.1:{self.port}",
            "inter.broker.listener.name": protocol,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(certs.broker),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs.ca),
            "log.segment.bytes": str(1024 * 1024),
        })
        if protocol == "SASL_SSL":
            self.config.update({
                "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol": "PLAIN",
                f"{prefix}.plain.sasl.jaas.config": PLAIN_JAAS,
                f"{prefix}.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
            })
        self.config.update(extra or {})
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))
        self.client_config = client if client is not None else certs.client()


def sasl_ssl_client(certs: Certificates, mechanism: str, user: str, password: str) -> dict:
    return {"security.protocol": "SASL_SSL", "ssl.ca.location": str(certs.ca),
            "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}


def values(count: int, size: int) -> list[bytes]:
    """Records that cannot compress away, so the fetches move real bytes."""
    return [os.urandom(size) for _ in range(count)]


def round_trip(bootstrap: str, client: dict[str, str], sent: list[bytes],
               topic: str | None = None) -> list[bytes]:
    """Produces `sent` to a topic and consumes them back with the same settings."""
    topic = topic or f"tls-{uuid.uuid4().hex[:8]}"
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **client,
                         "error_cb": errors.append})
    for value in sent:
        producer.produce(topic, value=value)
    assert producer.flush(DEADLINE_S) == 0, f"undelivered records; errors: {errors}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                         "auto.offset.reset": "earliest", **client})
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(got) < len(sent) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            got.append(message.value())
    finally:
        consumer.close()
    return got


def produce_error(bootstrap: str, client: dict[str, str], topic: str) -> str | None:
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 10000,
                  **client})
    p.produce(topic, b"v", partition=0, on_delivery=lambda e, m: errors.append(e))
    p.flush(15)
    assert errors, "no delivery report"
    return None if errors[0] is None else errors[0].name()


def test_ssl_listener_moves_records_byte_exact(tmp_path, certs):
    broker = TlsBroker(tmp_path, certs)
    broker.start()
    try:
        # Enough data for fetches that span many batches and TLS records.
        sent = values(400, 5000)
        assert round_trip(broker.bootstrap, certs.client(), sent) == sent
        # A plain-TCP client gets no Kafka answer from a TLS port.
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
            s.sendall(b"\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00")
            s.settimeout(5)
            try:
                answer = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                answer = b""
            assert not answer.startswith(b"\x00\x00\x00"), answer
        # A client that does not trust the broker's CA fails its handshake; the broker
        # goes on serving the others.
        untrusted = {"security.protocol": "SSL", "ssl.ca.location": str(certs.other_ca)}
        errors: list[KafkaError] = []
        p = Producer({"bootstrap.servers": broker.bootstrap, **untrusted,
                      "error_cb": errors.append})
        deadline = time.monotonic() + DEADLINE_S
        while not errors and time.monotonic() < deadline:
            p.poll(0.2)
        assert errors and errors[0].code() in (KafkaError._SSL, KafkaError._TRANSPORT,
                                               KafkaError._ALL_BROKERS_DOWN), errors
        sent = values(10, 100)
        assert round_trip(broker.bootstrap, certs.client(), sent) == sent
        log = broker.log_path.read_text()
        assert "Failed authentication with /127.0.0.1 (SSL handshake failed" in log
    finally:
        broker.stop()


def test_sasl_ssl_plain_and_scram_sha_512(tmp_path, certs):
    admin_client = sasl_ssl_client(certs, "PLAIN", "admin", "admin-secret")
    broker = TlsBroker(tmp_path, certs, "SASL_SSL", client=admin_client)
    broker.start()
    try:
        sent = values(100, 2000)
        assert round_trip(broker.bootstrap, admin_client, sent) == sent
        admin = ck_admin.AdminClient({"bootstrap.servers": broker.bootstrap, **admin_client})
        upsert = ck_admin.UserScramCredentialUpsertion(
            "erin", ck_admin.ScramCredentialInfo(ck_admin.ScramMechanism.SCRAM_SHA_512, 8192),
            b"erin-secret")
        for future in admin.alter_user_scram_credentials([upsert]).values():
            assert future.result(timeout=DEADLINE_S) is None
        scram = sasl_ssl_client(certs, "SCRAM-SHA-512", "erin", "erin-secret")
        sent = values(100, 2000)
        assert round_trip(broker.bootstrap, scram, sent) == sent
        # A wrong password fails authentication over TLS as over plain TCP.
        errors: list[KafkaError] = []
        p = Producer({"bootstrap.servers": broker.bootstrap,
                      **sasl_ssl_client(certs, "SCRAM-SHA-512", "erin", "wrong"),
                      "error_cb": errors.append})
        deadline = time.monotonic() + DEADLINE_S
        while not errors and time.monotonic() < deadline:
            p.poll(0.2)
        assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
    finally:
        broker.stop()


def test_mtls_principal_from_the_certificate_decides_acls(tmp_path, certs):
    admin_cert = certs.issue("admin", "/O=rafka/OU=ops/CN=admin")
    alice = certs.issue("alice", "/O=rafka/OU=eng/CN=alice")
    bob = certs.issue("bob", "/O=rafka/OU=eng/CN=bob")
    mallory = certs.issue("mallory", "/CN=mallory", ca="other-ca")
    extra = {
        "ssl.client.auth": "required",
        # CN=alice,OU=eng,O=rafka -> alice; anything else as the whole subject.
        "ssl.principal.mapping.rules": "RULE:^CN=([a-z]+),OU=eng,O=rafka$/$1/L,DEFAULT",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:CN=admin,OU=ops,O=rafka;User:CN=broker",
    }
    admin_client = certs.client(admin_cert)
    broker = TlsBroker(tmp_path, certs, extra=extra, client=admin_client)
    broker.start()
    try:
        topic = f"mtls-{uuid.uuid4().hex[:8]}"
        admin = ck_admin.AdminClient({"bootstrap.servers": broker.bootstrap, **admin_client})
        admin.create_topics([ck_admin.NewTopic(topic, 1, 1)])[topic].result(timeout=DEADLINE_S)
        bindings = [
            ck_admin.AclBinding(ck_admin.ResourceType.TOPIC, "mtls-",
                                ck_admin.ResourcePatternType.PREFIXED, "User:alice", "*",
                                ck_admin.AclOperation.ALL, ck_admin.AclPermissionType.ALLOW),
            ck_admin.AclBinding(ck_admin.ResourceType.GROUP, "*",
                                ck_admin.ResourcePatternType.LITERAL, "User:alice", "*",
                                ck_admin.AclOperation.ALL, ck_admin.AclPermissionType.ALLOW),
        ]
        for future in admin.create_acls(bindings).values():
            assert future.result(timeout=DEADLINE_S) is None
        sent = values(50, 1000)
        assert round_trip(broker.bootstrap, certs.client(alice), sent, topic) == sent
        assert produce_error(broker.bootstrap, certs.client(bob), topic) \
            == "TOPIC_AUTHORIZATION_FAILED"
        # No certificate, or one from another CA: the handshake fails (required).
        for client in (certs.client(), certs.client(mallory)):
            errors: list[KafkaError] = []
            p = Producer({"bootstrap.servers": broker.bootstrap, **client,
                          "error_cb": errors.append})
            deadline = time.monotonic() + DEADLINE_S
            while not errors and time.monotonic() < deadline:
                p.poll(0.2)
            assert errors, "an unauthenticated client was let in"
        # The others carry on.
        more = values(5, 100)
        again = f"mtls-{uuid.uuid4().hex[:8]}"
        assert round_trip(broker.bootstrap, certs.client(alice), more, again) == more
        log = broker.log_path.read_text()
        assert "Failed authentication with /127.0.0.1 (SSL handshake failed" in log
    finally:
        broker.stop()


def test_encrypted_key_and_a_replaced_keystore_file(tmp_path, certs):
    keystore = certs.issue("broker-enc", "/CN=broker", san="IP:127.0.0.1,DNS:localhost",
                           password="key-secret")
    live = tmp_path / "live-keystore.pem"
    live.write_text(keystore.read_text())
    broker = TlsBroker(tmp_path, certs, extra={"ssl.keystore.location": str(live),
                                               "ssl.key.password": "key-secret"})
    broker.start()
    try:
        sent = values(10, 100)
        assert round_trip(broker.bootstrap, certs.client(), sent) == sent
        # The store is replaced by one from another CA: new handshakes use it (clients
        # trusting only the first CA now fail; those trusting the other CA succeed).
        other = certs.issue("broker-other", "/CN=broker", san="IP:127.0.0.1,DNS:localhost",
                            ca="other-ca")
        live.write_text(other.read_text())
        # The new key is not encrypted: the password goes with the old one. rafka keeps
        # the previous store until the new one loads, and says why.
        deadline = time.monotonic() + DEADLINE_S
        while "cannot reload its stores" not in broker.log_path.read_text():
            assert time.monotonic() < deadline, "no reload attempt logged"
            round_trip(broker.bootstrap, certs.client(), values(1, 10))
        assert "ssl.key.password is set but the private key is not encrypted" \
            in broker.log_path.read_text()
        sent = values(5, 100)
        assert round_trip(broker.bootstrap, certs.client(), sent) == sent
    finally:
        broker.stop()


def test_bad_tls_settings_fail_start_up_with_the_key_named(tmp_path, certs):
    cases = [
        ({"ssl.keystore.type": "JKS"}, "ssl.keystore.type=JKS: rafka reads PEM keystores only"),
        ({"ssl.keystore.location": str(tmp_path / "absent.pem")},
         "ssl.keystore.location: cannot read"),
        ({"ssl.cipher.suites": "TLS_RSA_WITH_AES_128_CBC_SHA"},
         "ssl.cipher.suites: TLS_RSA_WITH_AES_128_CBC_SHA is not supported by rafka"),
    ]
    for i, (extra, message) in enumerate(cases):
        workdir = tmp_path / f"case-{i}"
        workdir.mkdir()
        broker = TlsBroker(workdir, certs, extra=extra)
        proc = subprocess.run([str(rafka_bin()), "server", "start", str(broker.config_path)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert message in proc.stderr + proc.stdout, proc.stderr


def test_each_listener_advertises_its_own_endpoints(tmp_path, certs):
    """PLAINTEXT and SSL on one broker: Metadata, DescribeCluster and FindCoordinator
    answer with the address of the listener the request came in on."""
    broker = Broker(tmp_path)
    ssl_port = broker.port
    from conftest import free_port
    plain_port = free_port()
    broker.port = plain_port
    broker.bootstrap = f"127.0.0.1:{plain_port}"
    broker.config.update({
        "listeners": f"PLAINTEXT://127.0.0.1:{plain_port},SSL://127.0.0.1:{ssl_port}",
        "advertised.listeners":
            f"PLAINTEXT://127.0.0.1:{plain_port},SSL://127.0.0.1:{ssl_port}",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs.broker),
    })
    broker.config_path.write_text("".join(f"{k}={v}\n" for k, v in broker.config.items()))
    broker.start()
    try:
        for port, client in ((plain_port, {}), (ssl_port, certs.client())):
            bootstrap = f"127.0.0.1:{port}"
            admin = ck_admin.AdminClient({"bootstrap.servers": bootstrap, **client})
            metadata = admin.list_topics(timeout=DEADLINE_S)
            assert [(b.host, b.port) for b in metadata.brokers.values()] \
                == [("127.0.0.1", port)]
            cluster = admin.describe_cluster().result(timeout=DEADLINE_S)
            assert [(n.host, n.port) for n in cluster.nodes] == [("127.0.0.1", port)]
            # The group coordinator is found at this listener's port: the consumer
            # commits through it.
            sent = values(20, 300)
            assert round_trip(bootstrap, client, sent) == sent
    finally:
        broker.stop()


def test_the_java_client_over_ssl_with_a_pem_truststore(tmp_path, certs, monkeypatch):
    """Kafka's own client (4.1.1), `ssl.truststore.type=PEM`, producing and consuming
    with every codec's scenario of tests/clients/java over an SSL listener."""
    from test_java_client import java_program, run_program
    broker = TlsBroker(tmp_path, certs)
    broker.start()
    try:
        config = tmp_path / "client.properties"
        config.write_text("security.protocol=SSL\n"
                          "ssl.truststore.type=PEM\n"
                          f"ssl.truststore.location={certs.ca}\n")
        monkeypatch.setenv("RAFKA_CLIENT_CONFIG", str(config))
        for scenario in ("admin", "produce-consume-zstd"):
            result = run_program(java_program(), [scenario], bootstrap=broker.bootstrap)
            assert f"PASS {scenario}" in result.stdout, result.stdout + result.stderr
    finally:
        broker.stop()


def test_the_java_client_over_sasl_ssl_with_each_mechanism(tmp_path, certs, monkeypatch):
    """Kafka's own client (4.1.1) over SASL_SSL with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    (users made through the Admin API first) and OAUTHBEARER's unsecured token, each
    producing and consuming records of every codec's scenario."""
    from test_java_client import java_program, run_program
    admin_client = sasl_ssl_client(certs, "PLAIN", "admin", "admin-secret")
    prefix = "listener.name.sasl_ssl"
    broker = TlsBroker(tmp_path, certs, "SASL_SSL", client=admin_client, extra={
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
        f"{prefix}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        f"{prefix}.oauthbearer.sasl.jaas.config":
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
    })
    broker.start()
    try:
        admin = ck_admin.AdminClient({"bootstrap.servers": broker.bootstrap, **admin_client})
        upserts = [ck_admin.UserScramCredentialUpsertion(
            "ivan", ck_admin.ScramCredentialInfo(mechanism, 4096), b"ivan-secret")
            for mechanism in (ck_admin.ScramMechanism.SCRAM_SHA_256,
                              ck_admin.ScramMechanism.SCRAM_SHA_512)]
        for upsert in upserts:  # one credential of a user per request, as Kafka requires
            for future in admin.alter_user_scram_credentials([upsert]).values():
                assert future.result(timeout=DEADLINE_S) is None
        scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required ' \
                'username="ivan" password="ivan-secret";'
        logins = {
            "PLAIN": 'org.apache.kafka.common.security.plain.PlainLoginModule required '
                     'username="alice" password="alice-secret";',
            "SCRAM-SHA-256": scram,
            "SCRAM-SHA-512": scram,
            "OAUTHBEARER": 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule '
                           'required unsecuredLoginStringClaim_sub="judy";',
        }
        for mechanism, jaas in logins.items():
            config = tmp_path / f"client-{mechanism}.properties"
            config.write_text("security.protocol=SASL_SSL\n"
                              "ssl.truststore.type=PEM\n"
                              f"ssl.truststore.location={certs.ca}\n"
                              f"sasl.mechanism={mechanism}\n"
                              f"sasl.jaas.config={jaas}\n")
            monkeypatch.setenv("RAFKA_CLIENT_CONFIG", str(config))
            result = run_program(java_program(), ["produce-consume-zstd"],
                                 bootstrap=broker.bootstrap)
            assert "PASS produce-consume-zstd" in result.stdout, \
                f"{mechanism}: {result.stdout}{result.stderr}"
    finally:
        broker.stop()


def test_rafka_client_tools_connect_over_ssl_with_command_config(tmp_path, certs):
    """The tools built on rafka's own client take security.protocol=SSL and the PEM trust
    store from --command-config (and with a client certificate, mTLS)."""
    root = Path(__file__).resolve().parents[2]
    alice = certs.issue("tool-alice", "/CN=tool-alice")
    broker = TlsBroker(tmp_path, certs, extra={"ssl.client.auth": "required"},
                       client=certs.client(alice))
    broker.start()
    try:
        sent = values(3, 100)
        topic = f"tools-{uuid.uuid4().hex[:8]}"
        assert round_trip(broker.bootstrap, certs.client(alice), sent, topic) == sent
        config = tmp_path / "tool.properties"
        config.write_text("security.protocol=SSL\nssl.truststore.type=PEM\n"
                          f"ssl.truststore.location={certs.ca}\n"
                          "ssl.keystore.type=PEM\n"
                          f"ssl.keystore.location={alice}\n")
        env = {**os.environ, "RAFKA_BIN": str(rafka_bin())}

        def tool(name: str, *args: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(root / "bin" / name), "--bootstrap-server",
                                   broker.bootstrap, "--command-config", str(config), *args],
                                  capture_output=True, text=True, timeout=60, env=env)

        out = tool("kafka-broker-api-versions.sh")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"127.0.0.1:{broker.port} (id: 1 rack: null isFenced: false) -> ("), \
            out.stdout
        out = tool("kafka-log-dirs.sh", "--describe", "--topic-list", topic)
        assert out.returncode == 0, out.stderr
        assert f'"partition":"{topic}-0"' in out.stdout, out.stdout
        # Without the client certificate the broker refuses the handshake.
        config.write_text("security.protocol=SSL\n"
                          f"ssl.truststore.location={certs.ca}\n")
        out = tool("kafka-broker-api-versions.sh")
        assert out.returncode != 0
    finally:
        broker.stop()
