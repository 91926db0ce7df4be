"""SASL authentication on a SASL_PLAINTEXT listener, against real clients and raw
requests: PLAIN (users from the listener's JAAS entry), SCRAM-SHA-256/512 (users created
with kafka-configs.sh or the AlterUserScramCredentials API, or at format time), the
unsecured OAUTHBEARER tokens of Kafka's default validator, and re-authentication across
`connections.max.reauth.ms` (KIP-368).

Failures follow Kafka's SaslServerAuthenticator: a request before the handshake closes
that connection only, an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM with the
enabled list, a wrong password SASL_AUTHENTICATION_FAILED with Kafka's message, and the
connection closes after either.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from conftest import Broker
from oracle import MESSAGES, RawClient, _build

PLAIN_JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required '
    'username="admin" password="admin-secret" '
    'user_admin="admin-secret" user_alice="alice-secret";'
)
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
OAUTH_JAAS = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
MECHANISMS = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER"
# As Kafka 4.1.1 lists them in SaslHandshake answers (its HashMap's order).
HANDSHAKE_MECHANISMS = ["PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256", "OAUTHBEARER"]
DEADLINE_S = 30.0


def sasl_config(port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A single node whose only client listener is SASL_PLAINTEXT."""
    listener = "listener.name.sasl_plaintext"
    config = {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": MECHANISMS,
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        f"{listener}.plain.sasl.jaas.config": PLAIN_JAAS,
        f"{listener}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        f"{listener}.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        f"{listener}.oauthbearer.sasl.jaas.config": OAUTH_JAAS,
        "log.segment.bytes": str(1024 * 1024),
    }
    config.update(extra or {})
    return config


class SaslBroker(Broker):
    """conftest's single node, listening on SASL_PLAINTEXT only."""

    def __init__(self, workdir, extra: dict[str, str] | None = None):
        super().__init__(workdir)
        self.config.update(sasl_config(self.port, extra))
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))
        self.client_config = plain_client("admin", "admin-secret")


def plain_client(user: str, password: str) -> dict[str, str]:
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": user,
        "sasl.password": password,
    }


def scram_client(mechanism: str, user: str, password: str) -> dict[str, str]:
    return {**plain_client(user, password), "sasl.mechanism": mechanism}


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    broker = SaslBroker(tmp_path_factory.mktemp("sasl"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def round_trip(bootstrap: str, client: dict[str, str], count: int = 20) -> list[bytes]:
    """Produces `count` records to a new topic with `client`'s settings and reads them
    back with a consumer using the same settings; the values read."""
    topic = f"sasl-{uuid.uuid4().hex[:8]}"
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **client,
                         "error_cb": errors.append})
    for i in range(count):
        producer.produce(topic, value=f"v{i}".encode())
    assert producer.flush(DEADLINE_S) == 0, f"undelivered records; errors: {errors}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                         "auto.offset.reset": "earliest", **client})
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            values.append(message.value())
    finally:
        consumer.close()
    return values


def expected(count: int = 20) -> list[bytes]:
    return [f"v{i}".encode() for i in range(count)]


def handshake(client: RawClient, mechanism: str, version: int = 1) -> dict:
    return client.request("SaslHandshake", version, mechanism=mechanism)


def send_only(client: RawClient, api: str, version: int, **fields) -> None:
    """Sends a request without waiting for an answer (the broker may close instead)."""
    client.correlation_id += 1
    message = _build(MESSAGES[f"{api}Request"], fields, version)
    message.with_header(correlation_id=client.correlation_id, client_id="t")
    client.sock.sendall(message.encode(header=True, framed=True))


def is_closed(client: RawClient, timeout_s: float = 5.0) -> bool:
    """Whether the broker closed the connection (a read sees EOF)."""
    client.sock.settimeout(timeout_s)
    try:
        return client.sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# -- PLAIN ---------------------------------------------------------------------------


def test_plain_users_of_the_jaas_entry_produce_and_consume(sasl_broker):
    values = round_trip(sasl_broker.bootstrap, plain_client("alice", "alice-secret"))
    assert values == expected()


def test_a_wrong_password_gets_kafkas_error_and_only_its_connection_closes(sasl_broker):
    good = RawClient("127.0.0.1", sasl_broker.port)
    assert handshake(good, "PLAIN")["error_code"] == 0
    answer = good.request("SaslAuthenticate", 2, auth_bytes=b"\0alice\0alice-secret")
    assert answer["error_code"] == 0
    with RawClient("127.0.0.1", sasl_broker.port) as bad:
        assert handshake(bad, "PLAIN")["mechanisms"] == HANDSHAKE_MECHANISMS
        answer = bad.request("SaslAuthenticate", 2, auth_bytes=b"\0alice\0wrong")
        assert answer["error_code"] == 58  # SASL_AUTHENTICATION_FAILED
        assert answer["error_message"] == "Authentication failed: Invalid username or password"
        assert is_closed(bad)
    # The authenticated connection opened before is untouched.
    metadata = good.request("Metadata", 12, topics=None)
    assert [b["node_id"] for b in metadata["brokers"]] == [1]
    good.close()
    # And librdkafka reports the failure as an authentication error.
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": sasl_broker.bootstrap,
                         **plain_client("alice", "nope"), "error_cb": errors.append})
    deadline = time.monotonic() + DEADLINE_S
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
    assert "Invalid username or password" in errors[0].str()


def test_a_request_before_the_handshake_closes_only_that_connection(sasl_broker):
    with RawClient("127.0.0.1", sasl_broker.port) as other:
        assert other.request("ApiVersions", 3, client_software_name="t",
                             client_software_version="1")["error_code"] == 0
        for api, version, fields in [
            ("Metadata", 12, {"topics": None}),
            ("SaslAuthenticate", 2, {"auth_bytes": b"\0alice\0alice-secret"}),
        ]:
            with RawClient("127.0.0.1", sasl_broker.port) as early:
                send_only(early, api, version, **fields)
                assert is_closed(early), f"{api} before SaslHandshake left the connection open"
        # The connection that is still handshaking goes on.
        assert handshake(other, "SCRAM-SHA-256")["error_code"] == 0


def test_an_unknown_mechanism_gets_the_enabled_list_then_the_connection_closes(sasl_broker):
    with RawClient("127.0.0.1", sasl_broker.port) as client:
        answer = handshake(client, "GSSAPI")
        assert answer["error_code"] == 33  # UNSUPPORTED_SASL_MECHANISM
        assert answer["mechanisms"] == HANDSHAKE_MECHANISMS
        assert is_closed(client)


def test_handshake_v0_exchanges_raw_tokens(sasl_broker):
    with RawClient("127.0.0.1", sasl_broker.port) as client:
        assert handshake(client, "PLAIN", version=0)["error_code"] == 0
        client.send_bytes(b"\0alice\0alice-secret")
        assert client.read_frame() == b""  # PLAIN's empty server token
        metadata = client.request("Metadata", 12, topics=None)
        assert metadata["brokers"][0]["port"] == sasl_broker.port
        # After authentication the SASL APIs belong to the handlers: ILLEGAL_SASL_STATE.
        answer = client.request("SaslAuthenticate", 1, auth_bytes=b"x")
        assert (answer["error_code"], answer["error_message"]) == (
            34, "SaslAuthenticate request received after successful authentication")


def test_a_plaintext_listener_answers_the_sasl_apis_illegal_sasl_state(broker):
    with RawClient("127.0.0.1", broker.port) as client:
        assert handshake(client, "PLAIN")["error_code"] == 34
        answer = client.request("SaslAuthenticate", 2, auth_bytes=b"\0a\0b")
        assert answer["error_code"] == 34


# -- re-authentication ---------------------------------------------------------------


@pytest.fixture(scope="module")
def reauth_broker(tmp_path_factory):
    broker = SaslBroker(tmp_path_factory.mktemp("reauth"),
                        {"connections.max.reauth.ms": "1500"})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def until(instant: float) -> None:
    """Waits until `time.monotonic()` reaches `instant`: for tests of time itself
    (session lifetimes), not for conditions, which are polled."""
    time.sleep(max(0.0, instant - time.monotonic()))


def authenticate_plain(client: RawClient, user: str, password: str) -> dict:
    assert handshake(client, "PLAIN")["error_code"] == 0
    answer = client.request("SaslAuthenticate", 2,
                            auth_bytes=f"\0{user}\0{password}".encode())
    assert answer["error_code"] == 0, answer
    return answer


def test_sessions_last_connections_max_reauth_ms_and_can_be_renewed(reauth_broker):
    with RawClient("127.0.0.1", reauth_broker.port) as client:
        started = time.monotonic()
        answer = authenticate_plain(client, "alice", "alice-secret")
        assert answer["session_lifetime_ms"] == 1500
        # Re-authenticating on the open connection renews the session. The passing of
        # time is what is tested: the waits are to instants measured around the
        # authentications (a slow machine only makes everything later, not out of order).
        until(started + 1.0)
        answer = authenticate_plain(client, "alice", "alice-secret")
        renewed = time.monotonic()
        assert answer["session_lifetime_ms"] == 1500
        # Past the first session's end and a second after the renewal (Kafka takes at
        # most one re-authentication a second), within the renewed session.
        until(renewed + 1.05)
        assert client.request("Metadata", 12, topics=None)["brokers"]
        # Another principal may not take over the connection.
        assert handshake(client, "PLAIN")["error_code"] == 0
        answer = client.request("SaslAuthenticate", 2, auth_bytes=b"\0admin\0admin-secret")
        assert answer["error_code"] == 58
        assert answer["error_message"] == (
            "Cannot change principals during re-authentication from User.alice: User.admin")
        assert is_closed(client)
    with RawClient("127.0.0.1", reauth_broker.port) as client:
        authenticated = time.monotonic()
        authenticate_plain(client, "alice", "alice-secret")
        until(authenticated + 1.6)  # past the session's end, without re-authenticating
        send_only(client, "Metadata", 12, topics=None)
        assert is_closed(client), "a request after the session expired must close it"
    assert EXPIRED in reauth_broker.log_path.read_text(errors="replace")


def test_librdkafka_reauthenticates_across_connections_max_reauth_ms(reauth_broker):
    """A producer and a consumer that live several sessions long keep working."""
    client = plain_client("alice", "alice-secret")
    log_offset = log_size(reauth_broker)
    topic = f"reauth-{uuid.uuid4().hex[:8]}"
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": reauth_broker.bootstrap, **client,
                         "error_cb": errors.append})
    consumer = Consumer({"bootstrap.servers": reauth_broker.bootstrap, "group.id": topic,
                         "auto.offset.reset": "earliest", **client})
    consumer.subscribe([topic])
    sent: list[bytes] = []
    got: list[bytes] = []
    deadline = time.monotonic() + 5.0  # more than three sessions of 1.5 s
    i = 0
    while time.monotonic() < deadline:
        value = f"r{i}".encode()
        producer.produce(topic, value=value)
        assert producer.flush(10) == 0, errors
        sent.append(value)
        i += 1
        message = consumer.poll(0.3)
        if message is not None and not message.error():
            got.append(message.value())
    end = time.monotonic() + DEADLINE_S
    while len(got) < len(sent) and time.monotonic() < end:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            got.append(message.value())
    consumer.close()
    assert got == sent
    assert not [e for e in errors if e.code() == KafkaError._AUTHENTICATION], errors
    log = reauth_broker.log_path.read_text(errors="replace")
    assert "alice-secret" not in log, "a password reached the broker's log"
    assert_reauthenticated_in_time(reauth_broker, log_offset)


EXPIRED = "its SASL session expired"


def log_size(broker: Broker) -> int:
    return len(broker.log_path.read_text(errors="replace"))


def assert_reauthenticated_in_time(broker: Broker, since: int) -> None:
    """No connection was closed for an expired session after `since` (a log offset): the
    clients re-authenticated on their open connections."""
    log = broker.log_path.read_text(errors="replace")[since:]
    assert EXPIRED not in log, "a client's connection was closed instead of re-authenticated"


# -- SCRAM ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def kafka_configs(broker: Broker, *args: str) -> subprocess.CompletedProcess:
    """Our kafka-configs.sh, authenticated as admin through --command-config."""
    config = broker.workdir / "admin.properties"
    config.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
        f"sasl.jaas.config={PLAIN_JAAS.split(' user_')[0]};\n")
    from conftest import rafka_bin
    return subprocess.run(
        [str(ROOT / "bin" / "kafka-configs.sh"), "--bootstrap-server", broker.bootstrap,
         "--command-config", str(config), *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "RAFKA_BIN": str(rafka_bin())})


def test_scram_users_made_with_kafka_configs_authenticate_at_once(sasl_broker):
    for mechanism, user in [("SCRAM-SHA-256", "carol"), ("SCRAM-SHA-512", "erin")]:
        out = kafka_configs(sasl_broker, "--alter", "--add-config",
                            f"{mechanism}=[iterations=8192,password={user}-secret]",
                            "--entity-type", "users", "--entity-name", user)
        assert out.returncode == 0, out.stderr
        assert out.stdout == f"Completed updating config for user {user}.\n"
        assert round_trip(sasl_broker.bootstrap, scram_client(mechanism, user, f"{user}-secret")) \
            == expected()
    out = kafka_configs(sasl_broker, "--describe", "--entity-type", "users", "--entity-name", "carol")
    assert out.stdout == ("SCRAM credential configs for user-principal 'carol' are "
                          "SCRAM-SHA-256=iterations=8192\n"), out.stderr
    out = kafka_configs(sasl_broker, "--describe", "--entity-type", "users")
    assert "SCRAM credential configs for user-principal 'erin' are SCRAM-SHA-512=iterations=8192" \
        in out.stdout
    # A wrong password, and a mechanism the user has no credential for, fail.
    with RawClient("127.0.0.1", sasl_broker.port) as client:
        assert handshake(client, "SCRAM-SHA-512")["error_code"] == 0
        answer = client.request("SaslAuthenticate", 2, auth_bytes=b"n,,n=carol,r=abcdef")
        assert answer["error_code"] == 58
        assert answer["error_message"] == ("Authentication failed during authentication due to "
                                           "invalid credentials with SASL mechanism SCRAM-SHA-512")
    # Deleted, the credential no longer authenticates.
    out = kafka_configs(sasl_broker, "--alter", "--delete-config", "SCRAM-SHA-256",
                        "--entity-type", "users", "--entity-name", "carol")
    assert out.returncode == 0, out.stderr
    errors: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": sasl_broker.bootstrap,
                         **scram_client("SCRAM-SHA-256", "carol", "carol-secret"),
                         "error_cb": errors.append})
    deadline = time.monotonic() + DEADLINE_S
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
    out = kafka_configs(sasl_broker, "--alter", "--add-config", "SCRAM-SHA-256=[iterations=10,password=x]",
                        "--entity-type", "users", "--entity-name", "carol")
    assert out.returncode != 0
    assert "Iterations 10 is less than the minimum 4096 required for SCRAM-SHA-256" in out.stderr


def authenticated(broker: Broker) -> RawClient:
    client = RawClient("127.0.0.1", broker.port)
    authenticate_plain(client, "admin", "admin-secret")
    return client


def test_scram_credential_apis_answer_kafkas_errors(sasl_broker):
    upsert = {"name": "frank", "mechanism": 1, "iterations": 4096, "salt": b"salt",
              "salted_password": b"x" * 32}
    with authenticated(sasl_broker) as client:
        def alter(deletions=(), upsertions=()):
            answer = client.request("AlterUserScramCredentials", 0, deletions=list(deletions),
                                    upsertions=list(upsertions))
            return {r["user"]: (r["error_code"], r["error_message"]) for r in answer["results"]}
        assert alter(upsertions=[{**upsert, "iterations": 100}]) == {
            "frank": (93, "Too few iterations")}
        assert alter(upsertions=[{**upsert, "iterations": 16385}]) == {
            "frank": (93, "Too many iterations")}
        assert alter(upsertions=[{**upsert, "mechanism": 9}]) == {
            "frank": (33, "Unknown SCRAM mechanism")}
        assert alter(upsertions=[{**upsert, "name": ""}]) == {
            "": (93, "Username must not be empty")}
        assert alter(deletions=[{"name": "frank", "mechanism": 1}]) == {
            "frank": (91, "Attempt to delete a user credential that does not exist")}
        assert alter(upsertions=[upsert, {**upsert, "mechanism": 2}]) == {
            "frank": (92, "A user credential cannot be altered twice in the same request")}
        assert alter(upsertions=[upsert]) == {"frank": (0, None)}
        answer = client.request("DescribeUserScramCredentials", 0,
                                users=[{"name": "frank"}, {"name": "nobody"}, {"name": "frank"}])
        results = {r["user"]: r for r in answer["results"]}
        assert (results["frank"]["error_code"], results["frank"]["error_message"]) == (
            92, "Cannot describe SCRAM credentials for the same user twice in a single request: frank")
        assert (results["nobody"]["error_code"], results["nobody"]["error_message"]) == (
            91, "Attempt to describe a user credential that does not exist: nobody")
        answer = client.request("DescribeUserScramCredentials", 0, users=[{"name": "frank"}])
        assert answer["results"][0]["credential_infos"] == [{"mechanism": 1, "iterations": 4096}]


# -- OAUTHBEARER ---------------------------------------------------------------------


def unsecured_jws(claims: dict) -> str:
    import base64
    import json

    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part(claims)}."


def test_oauthbearer_unsecured_tokens_authenticate_their_subject(sasl_broker):
    client = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
              "enable.sasl.oauthbearer.unsecure.jwt": True,
              "sasl.oauthbearer.config": "principal=grace"}
    assert round_trip(sasl_broker.bootstrap, client) == expected()
    now = time.time()
    with RawClient("127.0.0.1", sasl_broker.port) as raw:
        assert handshake(raw, "OAUTHBEARER")["error_code"] == 0
        token = unsecured_jws({"sub": "grace", "iat": now - 120, "exp": now - 60})
        answer = raw.request("SaslAuthenticate", 2,
                             auth_bytes=f"n,,\x01auth=Bearer {token}\x01\x01".encode())
        assert answer["error_code"] == 0
        assert answer["auth_bytes"] == b'{"status":"invalid_token"}'
        answer = raw.request("SaslAuthenticate", 2, auth_bytes=b"\x01")
        assert (answer["error_code"], answer["error_message"]) == (58, '{"status":"invalid_token"}')
        assert is_closed(raw)
    with RawClient("127.0.0.1", sasl_broker.port) as raw:
        assert handshake(raw, "OAUTHBEARER")["error_code"] == 0
        token = unsecured_jws({"sub": "grace", "iat": now, "exp": now + 3600})
        answer = raw.request("SaslAuthenticate", 2,
                             auth_bytes=f"n,,\x01auth=Bearer {token}\x01\x01".encode())
        assert answer["error_code"] == 0
        # Without connections.max.reauth.ms the session lasts as long as the token.
        assert 3_590_000 < answer["session_lifetime_ms"] <= 3_600_000


# -- storage format --add-scram ------------------------------------------------------


def test_storage_format_add_scram_users_authenticate_on_the_new_node(tmp_path):
    from conftest import free_port, rafka_bin
    broker = SaslBroker(tmp_path)
    controller_port = free_port()
    broker.config.update({
        "process.roles": "broker,controller",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{broker.port},"
                     f"CONTROLLER://127.0.0.1:{controller_port}",
    })
    broker.config_path.write_text("".join(f"{k}={v}\n" for k, v in broker.config.items()))
    out = subprocess.run(
        [str(rafka_bin()), "storage", "format", "-t", "MkU3OEVBNTcwNTJENDM2Qk", "-c",
         str(broker.config_path),
         "--add-scram", "SCRAM-SHA-256=[name=heidi,password=heidi-secret]",
         "--add-scram", "SCRAM-SHA-512=[name=ivan,iterations=5000,password=ivan-secret]"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    broker.start()
    try:
        assert round_trip(broker.bootstrap,
                          scram_client("SCRAM-SHA-256", "heidi", "heidi-secret")) == expected()
        assert round_trip(broker.bootstrap,
                          scram_client("SCRAM-SHA-512", "ivan", "ivan-secret")) == expected()
        with authenticated(broker) as client:
            answer = client.request("DescribeUserScramCredentials", 0, users=None)
            described = {r["user"]: r["credential_infos"] for r in answer["results"]}
        assert described == {"heidi": [{"mechanism": 1, "iterations": 4096}],
                             "ivan": [{"mechanism": 2, "iterations": 5000}]}
        # The users survive a restart (they are in the metadata, not re-read from format).
        broker.restart()
        assert round_trip(broker.bootstrap,
                          scram_client("SCRAM-SHA-256", "heidi", "heidi-secret"), 3) == expected(3)
    finally:
        broker.stop()


# -- the Java client -----------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_the_java_client_authenticates_and_reauthenticates(reauth_broker, mechanism, tmp_path,
                                                          monkeypatch):
    from test_java_client import java_program, run_program
    if mechanism.startswith("SCRAM"):
        out = kafka_configs(reauth_broker, "--alter", "--add-config",
                            f"{mechanism}=[password=judy-secret]",
                            "--entity-type", "users", "--entity-name", "judy")
        assert out.returncode == 0, out.stderr
        module = "org.apache.kafka.common.security.scram.ScramLoginModule"
    else:
        module = "org.apache.kafka.common.security.plain.PlainLoginModule"
    user, password = ("judy", "judy-secret") if mechanism != "PLAIN" else ("alice", "alice-secret")
    config = tmp_path / "client.properties"
    config.write_text(f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism={mechanism}\n"
                      f'sasl.jaas.config={module} required username="{user}" '
                      f'password="{password}";\n')
    monkeypatch.setenv("RAFKA_CLIENT_CONFIG", str(config))
    log_offset = log_size(reauth_broker)
    result = run_program(java_program(), ["produce-consume-across-sessions"],
                         reauth_broker.bootstrap)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS produce-consume-across-sessions" in result.stdout, result.stdout
    assert_reauthenticated_in_time(reauth_broker, log_offset)


def test_kafkas_own_config_command_creates_a_scram_user(sasl_broker, tmp_path):
    """Apache Kafka 4.1.1's kafka-configs.sh (ConfigCommand), authenticated over SASL."""
    import shutil
    from test_kafka_java_tools import CLASSPATH, CONFIGS, Tools
    if not CLASSPATH.is_file():
        pytest.fail(f"{CLASSPATH} missing: run scripts/setup-java.sh", pytrace=False)
    java = shutil.which("java")
    assert java, "java not found"
    config = tmp_path / "admin.properties"
    config.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                      "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                      'required username="admin" password="admin-secret";\n')
    tools = Tools([java, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
                   CLASSPATH.read_text().strip()], sasl_broker.bootstrap)
    out = tools.run(CONFIGS, "--command-config", str(config), "--alter", "--add-config",
                    "SCRAM-SHA-256=[iterations=8192,password=kate-secret]",
                    "--entity-type", "users", "--entity-name", "kate")
    assert out.stdout.strip() == "Completed updating config for user kate."
    assert round_trip(sasl_broker.bootstrap,
                      scram_client("SCRAM-SHA-256", "kate", "kate-secret"), 5) == expected(5)
    out = kafka_configs(sasl_broker, "--describe", "--entity-type", "users", "--entity-name", "kate")
    assert out.stdout == ("SCRAM credential configs for user-principal 'kate' are "
                          "SCRAM-SHA-256=iterations=8192\n")
