"""SASL answers compared with Apache Kafka 4.1.1 configured the same way: a
SASL_PLAINTEXT listener with PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER, users in the
PLAIN JAAS entry, `connections.max.reauth.ms`. The same raw exchanges go to both; the
answers (error codes, messages, mechanism lists, session lifetimes, whether the
connection closed) must be equal.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from oracle import KafkaOracle, RawClient
from test_sasl import (MECHANISMS, OAUTH_JAAS, PLAIN_JAAS, SCRAM_JAAS, SaslBroker, handshake,
                       is_closed, send_only, unsecured_jws)
from conftest import free_port

REAUTH_MS = "600000"


def sasl_keys() -> dict[str, str]:
    listener = "listener.name.sasl_plaintext"
    return {
        "sasl.enabled.mechanisms": MECHANISMS,
        f"{listener}.plain.sasl.jaas.config": PLAIN_JAAS,
        f"{listener}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        f"{listener}.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        f"{listener}.oauthbearer.sasl.jaas.config": OAUTH_JAAS,
        "connections.max.reauth.ms": REAUTH_MS,
    }


class SaslKafka(KafkaOracle):
    """Kafka with a SASL_PLAINTEXT listener beside its PLAINTEXT one (which the harness
    polls for readiness)."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.sasl_port = free_port()
        self.config.update({
            "listeners": self.config["listeners"]
            + f",SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "advertised.listeners": self.config["advertised.listeners"]
            + f",SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "listener.security.protocol.map":
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            **sasl_keys(),
        })
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(Kafka's SASL port, rafka's SASL port)."""
    kafka = SaslKafka(tmp_path_factory.mktemp("kafka-sasl"))
    rafka = SaslBroker(tmp_path_factory.mktemp("rafka-sasl"),
                       {"connections.max.reauth.ms": REAUTH_MS})
    rafka.start()
    try:
        kafka.start()
        try:
            yield kafka.sasl_port, rafka.port
        finally:
            kafka.stop()
    finally:
        rafka.stop()


def both(pair, scenario):
    """Runs `scenario(client)` against each broker; asserts the answers are equal."""
    answers = []
    for port in pair:
        with RawClient("127.0.0.1", port) as client:
            answers.append(scenario(client))
    kafka, rafka = answers
    assert rafka == kafka, f"rafka answered {rafka!r}, Kafka {kafka!r}"
    return kafka


def authenticate(client, user: bytes, password: bytes, version: int = 2) -> dict:
    assert handshake(client, "PLAIN")["error_code"] == 0
    return client.request("SaslAuthenticate", version, auth_bytes=b"\0" + user + b"\0" + password)


def test_failures_match_kafka(pair):
    def wrong_password(client):
        answer = authenticate(client, b"alice", b"wrong")
        return answer["error_code"], answer["error_message"], is_closed(client)
    assert both(pair, wrong_password)[0] == 58

    def unknown_mechanism(client):
        answer = handshake(client, "GSSAPI")
        return answer["error_code"], answer["mechanisms"], is_closed(client)
    assert both(pair, unknown_mechanism)[0] == 33

    def metadata_first(client):
        send_only(client, "Metadata", 12, topics=None)
        return is_closed(client)
    assert both(pair, metadata_first) is True

    def authenticate_first(client):
        send_only(client, "SaslAuthenticate", 2, auth_bytes=b"\0alice\0alice-secret")
        return is_closed(client)
    assert both(pair, authenticate_first) is True

    def bad_scram_user(client):
        assert handshake(client, "SCRAM-SHA-256")["error_code"] == 0
        answer = client.request("SaslAuthenticate", 2, auth_bytes=b"n,,n=nobody,r=abcdefgh")
        return answer["error_code"], answer["error_message"], is_closed(client)
    assert both(pair, bad_scram_user)[0] == 58


def try_authenticate(client, user: bytes, password: bytes, version: int = 2):
    """SaslHandshake(PLAIN) then SaslAuthenticate, whatever they answer."""
    hs = handshake(client, "PLAIN")["error_code"]
    answer = client.request("SaslAuthenticate", version,
                            auth_bytes=b"\0" + user + b"\0" + password)
    return hs, answer["error_code"], answer["error_message"], answer.get("session_lifetime_ms")


def test_sessions_and_reauthentication_match_kafka(pair):
    import time

    def session(client):
        first = try_authenticate(client, b"alice", b"alice-secret")
        again = try_authenticate(client, b"alice", b"alice-secret")
        # Within a second of the last re-authentication: the handlers answer.
        too_soon = try_authenticate(client, b"admin", b"admin-secret")
        time.sleep(1.1)  # the one-second rule is what is compared
        other = try_authenticate(client, b"admin", b"admin-secret")
        return [first, again, too_soon, other], is_closed(client)
    answers, closed = both(pair, session)
    assert answers[0] == (0, 0, "", int(REAUTH_MS)) and closed

    def after_authentication(client):
        first = try_authenticate(client, b"alice", b"alice-secret", version=0)
        second = try_authenticate(client, b"alice", b"x", version=1)
        return first, second, is_closed(client)
    both(pair, after_authentication)

    def oauth_expired(client):
        assert handshake(client, "OAUTHBEARER")["error_code"] == 0
        token = unsecured_jws({"sub": "grace", "iat": 1_000_000, "exp": 1_000_060})
        first = client.request("SaslAuthenticate", 2,
                               auth_bytes=f"n,,\x01auth=Bearer {token}\x01\x01".encode())
        last = client.request("SaslAuthenticate", 2, auth_bytes=b"\x01")
        return (first["error_code"], first["auth_bytes"], last["error_code"],
                last["error_message"], is_closed(client))
    assert both(pair, oauth_expired)[2] == 58


def test_scram_credential_apis_match_kafka(pair):
    salted = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 4096)
    upsert = {"name": "oscar", "mechanism": 1, "iterations": 4096, "salt": b"salt",
              "salted_password": salted}

    def alter(client, deletions=(), upsertions=()):
        answer = client.request("AlterUserScramCredentials", 0, deletions=list(deletions),
                                upsertions=list(upsertions))
        return sorted((r["user"], r["error_code"], r["error_message"]) for r in answer["results"])

    def scenario(client):
        authenticate(client, b"admin", b"admin-secret")
        out = [
            alter(client, upsertions=[{**upsert, "iterations": 100}]),
            alter(client, upsertions=[{**upsert, "iterations": 20000}]),
            alter(client, upsertions=[{**upsert, "mechanism": 7}]),
            alter(client, upsertions=[{**upsert, "name": ""}]),
            alter(client, deletions=[{"name": "oscar", "mechanism": 2}]),
            alter(client, upsertions=[upsert, {**upsert, "mechanism": 2}]),
            alter(client, upsertions=[upsert], deletions=[{"name": "peggy", "mechanism": 1}]),
        ]
        # Kafka answers an alter once its controller committed it; the broker describes
        # from its metadata image, which applies the record a moment later: poll.
        deadline = time.monotonic() + 30
        while True:
            described = client.request("DescribeUserScramCredentials", 0,
                                       users=[{"name": "oscar"}, {"name": "nobody"}])
            oscar = [r for r in described["results"] if r["user"] == "oscar"]
            if (oscar and oscar[0]["error_code"] == 0) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        out.append(sorted((r["user"], r["error_code"], r["error_message"],
                           [(c["mechanism"], c["iterations"]) for c in r["credential_infos"]])
                          for r in described["results"]))
        # The new user authenticates at once.
        with RawClient("127.0.0.1", client.sock.getpeername()[1]) as fresh:
            assert handshake(fresh, "SCRAM-SHA-256")["error_code"] == 0
            first = fresh.request("SaslAuthenticate", 2, auth_bytes=b"n,,n=oscar,r=nonce123")
            out.append((first["error_code"], first["auth_bytes"].startswith(b"r=nonce123")))
        alter(client, deletions=[{"name": "oscar", "mechanism": 1}])
        return out
    answers = both(pair, scenario)
    assert answers[-1] == (0, True)
