"""Differential tests against Apache Kafka: ApiVersions, unsupported versions, Metadata,
DescribeCluster. See oracle.py for the fixtures and what is normalised."""

from __future__ import annotations

import socket
import struct
import time

from compat_helpers import topic_name
from oracle import (MESSAGES, RawClient, assert_same, create_topic, wait_for_leaders, kafka_oracle, oracle,  # noqa: F401 - fixtures
                    rafka_oracle_peer)

API_VERSIONS = 18
METADATA = 3
UNSUPPORTED_VERSION = 35


def version_table(answer: dict) -> dict[int, tuple[int, int]]:
    return {k["api_key"]: (k["min_version"], k["max_version"]) for k in answer["api_keys"]}


def assert_same_versions(kafka: dict, rafka: dict) -> None:
    """rafka implements a subset of Kafka's APIs (no ACLs, quotas, share groups, ...), so
    only the APIs it advertises are compared; for those the advertised version range must
    be Kafka 4.1's (the README promises "versions as Kafka 4.1"). The order of the array
    carries no meaning, so it is compared as a map."""
    kt, rt = version_table(kafka), version_table(rafka)
    assert set(rt) <= set(kt), f"rafka advertises APIs Kafka does not: {sorted(set(rt) - set(kt))}"
    assert_same({k: kt[k] for k in sorted(rt)}, {k: rt[k] for k in sorted(rt)},
                "ApiVersions api_keys (api_key: [min, max]) of the APIs rafka advertises")


def features(answer: dict) -> dict:
    """Features of the answer, as maps. Kafka's `eligible.leader.replicas.version`
    describes ELR, which rafka does not implement, so it cannot apply; the epoch is an
    offset in each cluster's own metadata log."""
    not_applicable = {"eligible.leader.replicas.version"}
    return {
        "supported_features": {f["name"]: (f["min_version"], f["max_version"])
                               for f in answer.get("supported_features") or []
                               if f["name"] not in not_applicable},
        "finalized_features": {f["name"]: (f["min_version_level"], f["max_version_level"])
                               for f in answer.get("finalized_features") or []
                               if f["name"] not in not_applicable},
        "finalized_features_epoch": "<epoch>" if answer.get("finalized_features_epoch", -1) >= 0
        else answer.get("finalized_features_epoch"),
    }


def test_api_versions_v3_table(oracle):
    k, r = oracle.each("ApiVersions", 3, client_software_name="rafka-oracle",
                       client_software_version="1.0")
    assert (k["error_code"], r["error_code"]) == (0, 0)
    assert_same_versions(k, r)


def test_api_versions_v3_features(oracle):
    k, r = oracle.each("ApiVersions", 3, client_software_name="rafka-oracle",
                       client_software_version="1.0")
    assert_same(features(k), features(r), "ApiVersions v3 supported/finalized features")


def test_api_versions_v0(oracle):
    k, r = oracle.each("ApiVersions", 0)
    assert (k["error_code"], r["error_code"]) == (0, 0)
    assert_same_versions(k, r)


def raw_request(port: int, api_key: int, version: int, header_version: int, body: bytes,
                correlation_id: int = 42) -> bytes | None:
    """Send a hand-encoded request; the response frame, or None if the broker closed the
    connection without answering."""
    client_id = b"rafka-oracle"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    if header_version >= 2:
        header += b"\x00"  # no tagged fields
    frame = header + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None if not buf else buf
            buf += chunk
            if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                return buf[4:]
        raise AssertionError(f"no answer and no close within 10s (port {port})")


def compact_string(s: str) -> bytes:
    b = s.encode()
    return bytes([len(b) + 1]) + b


def test_api_versions_unsupported_version(oracle):
    """ApiVersions at a version above the broker's: KIP-511 says the broker answers with
    a v0 response carrying UNSUPPORTED_VERSION and its version table, so that the client
    can pick a version."""
    body = compact_string("rafka-oracle") + compact_string("1.0") + b"\x00"
    answers = {}
    for side in ("kafka", "rafka"):
        frame = raw_request(oracle.port(side), API_VERSIONS, 127, 2, body)
        assert frame is not None, f"{side} closed the connection instead of answering"
        (correlation_id,) = struct.unpack(">i", frame[:4])
        assert correlation_id == 42, f"{side}: correlation id {correlation_id}"
        answers[side] = MESSAGES["ApiVersionsResponse"].decode(frame[4:], version=0).to_dict()
    k, r = answers["kafka"], answers["rafka"]
    assert k["error_code"] == UNSUPPORTED_VERSION
    # Kafka lists only ApiVersions' own range in this answer (the one API the client must
    # get right next), so the whole answer is compared.
    assert_same(k, r, "ApiVersions v127 (unsupported version)")


def test_metadata_unsupported_version_closes_connection(oracle):
    """A request other than ApiVersions at a version the broker does not know: Kafka
    cannot parse it and closes the connection without an answer."""
    # Metadata v14 does not exist in Kafka 4.1 (13 is the newest). Body of a v13 request:
    # topics=null, allow_auto_topic_creation, include_topic_authorized_operations, tags.
    body = b"\x00" + b"\x00" + b"\x00" + b"\x00"
    answers = {side: raw_request(oracle.port(side), METADATA, 14, 2, body)
               for side in ("kafka", "rafka")}
    assert answers["kafka"] is None
    assert_same(answers["kafka"], answers["rafka"],
                "Metadata v14 (unknown version): answer frame, None = connection closed")


def test_metadata_unsupported_old_version_produce_v2(oracle):
    """Produce v2 (removed in Kafka 4.0, KIP-896). Kafka still lists Produce from v0 in
    ApiVersions (for librdkafka, KAFKA-18659) but answers a v0-v2 Produce with..."""
    # Produce v2 body: acks=1, timeout=1000, one topic with one partition and no records.
    name = topic_name("oracle-produce-v2").encode()
    body = (struct.pack(">hi", 1, 1000) + struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
            + struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", -1))
    answers = {side: raw_request(oracle.port(side), 0, 2, 1, body)
               for side in ("kafka", "rafka")}
    assert_same(answers["kafka"], answers["rafka"],
                "Produce v2 (removed in Kafka 4): answer frame, None = connection closed")


def test_metadata_describe_topic(oracle):
    name = topic_name("oracle-md")
    create_topic(oracle, name, partitions=3)
    for version in (0, 1, 4, 7, 9, 10, 12, 13):
        fields = {"topics": [{"name": name}]}
        if version >= 4:
            fields["allow_auto_topic_creation"] = False
        if 8 <= version <= 10:
            fields["include_cluster_authorized_operations"] = False
        if version >= 8:
            fields["include_topic_authorized_operations"] = False
        oracle.both("Metadata", version, **fields)


def test_metadata_authorized_operations(oracle):
    """Without an authorizer Kafka grants every operation and lists them when asked."""
    name = topic_name("oracle-md-ops")
    create_topic(oracle, name)
    oracle.both("Metadata", 10, topics=[{"name": name}], allow_auto_topic_creation=False,
                include_cluster_authorized_operations=True, include_topic_authorized_operations=True)
    oracle.both("Metadata", 12, topics=[{"name": name}], allow_auto_topic_creation=False,
                include_topic_authorized_operations=True)


def test_metadata_unknown_topic_auto_create_off(oracle):
    name = topic_name("oracle-md-unknown")
    for version in (4, 9, 12):
        answer = oracle.both("Metadata", version, topics=[{"name": name}],
                             allow_auto_topic_creation=False)
        assert answer["topics"][0]["error_code"] == 3  # UNKNOWN_TOPIC_OR_PARTITION


def test_metadata_invalid_topic_name(oracle):
    for bad in ("", ".", "..", "a/b", "x" * 250, "with space"):
        for version in (4, 12):
            oracle.both("Metadata", version, topics=[{"name": bad}],
                        allow_auto_topic_creation=True)


def test_metadata_auto_create(oracle):
    name = topic_name("oracle-md-auto")
    k, r = oracle.each("Metadata", 12, topics=[{"name": name}], allow_auto_topic_creation=True)
    # Kafka creates the topic asynchronously (through its controller) and answers the first
    # request with UNKNOWN_TOPIC_OR_PARTITION; rafka creates it before answering. Both tell
    # the client the same thing in the end, so the first answer is only checked to be one of
    # the two; the settled answers are compared.
    assert k["topics"][0]["error_code"] in (0, 3), k
    assert r["topics"][0]["error_code"] in (0, 3), r
    wait_for_leaders(oracle, name, 1)
    oracle.both("Metadata", 12, topics=[{"name": name}], allow_auto_topic_creation=True)


def test_metadata_all_topics_null_and_empty(oracle):
    # An empty list asks for no topic; both must answer with brokers and no topics.
    oracle.both("Metadata", 12, topics=[], allow_auto_topic_creation=False)


def test_describe_cluster(oracle):
    for version in (0, 1, 2):
        fields = {"include_cluster_authorized_operations": True}
        if version >= 1:
            fields["endpoint_type"] = 1
        if version >= 2:
            fields["include_fenced_brokers"] = True
        oracle.both("DescribeCluster", version, **fields)


def test_describe_cluster_controllers_endpoint_type(oracle):
    # endpoint_type 2 (controllers) is for clients bootstrapping to the controller
    # quorum; sent to a broker it is refused.
    oracle.both("DescribeCluster", 1, include_cluster_authorized_operations=False, endpoint_type=2)
