"""Differential tests against Apache Kafka 4.1: the GROUP config resource (type 32) through
DescribeConfigs, IncrementalAlterConfigs and AlterConfigs, and ListConfigResources (API 74).
See oracle.py for the fixtures and what is normalised.

The Kafka oracle lives for the whole pytest session while each module gets its own rafka
peer, so Kafka may know topics and groups that other modules created. ListConfigResources
answers are therefore compared on the resources this module names (prefix `ogc-`) and the
brokers; everything else is compared whole."""

from __future__ import annotations

import time
import uuid

import pytest

from compat_helpers import wait_until
from conftest import Broker
from oracle import (SHARED_CONFIG, RawClient, kafka_oracle, oracle,  # noqa: F401 - fixtures
                    rafka_oracle_peer)
from test_cluster import cluster  # noqa: F401 - the three-node fixture

TOPIC = 2   # ConfigResource types
BROKER = 4
BROKER_LOGGER = 8
CLIENT_METRICS = 16
GROUP = 32

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3

PREFIX = "ogc-"


def group_name(label: str) -> str:
    return f"{PREFIX}{label}-{uuid.uuid4().hex[:8]}"


def sorted_configs(answer: dict) -> dict:
    """Kafka lists a group's configs in its hash map's order; the order has no meaning."""
    for result in answer.get("results") or []:
        if result.get("configs"):
            result["configs"] = sorted(result["configs"], key=lambda c: c["name"])
    return answer


def describe(oracle, group: str, version: int = 4, keys=None, synonyms: bool = True,
             documentation: bool = False) -> dict:
    fields = {"resources": [{"resource_type": GROUP, "resource_name": group,
                             "configuration_keys": keys}],
              "include_synonyms": synonyms}
    if version >= 3:
        fields["include_documentation"] = documentation
    k, r = oracle.each("DescribeConfigs", version, **fields)
    return oracle.compare(sorted_configs(k), sorted_configs(r),
                          f"DescribeConfigs v{version} group {group!r} keys={keys}")


def incremental(oracle, group: str, ops, validate_only: bool = False, version: int = 1) -> dict:
    answer = oracle.both("IncrementalAlterConfigs", version, resources=[
        {"resource_type": GROUP, "resource_name": group,
         "configs": [{"name": n, "config_operation": op, "value": v} for n, op, v in ops]}],
        validate_only=validate_only)
    settle(oracle, group)
    return answer


def alter(oracle, group: str, configs: dict, validate_only: bool = False,
          version: int = 2) -> dict:
    answer = oracle.both("AlterConfigs", version, resources=[
        {"resource_type": GROUP, "resource_name": group,
         "configs": [{"name": n, "value": v} for n, v in configs.items()]}],
        validate_only=validate_only)
    settle(oracle, group)
    return answer


def settle(oracle, group: str, timeout_s: float = 15.0) -> None:
    """Kafka's controller answers a config change once it is committed; its broker applies
    it from the metadata log a moment later (under load, after the next DescribeConfigs).
    rafka applies a change before answering. Wait until Kafka's broker describes the group
    as rafka does; a real difference is left to the comparison that follows, which shows
    it."""
    fields = {"resources": [{"resource_type": GROUP, "resource_name": group,
                             "configuration_keys": None}],
              "include_synonyms": False, "include_documentation": False}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        k, r = oracle.each("DescribeConfigs", 4, **fields)
        if (oracle.normalised("kafka", sorted_configs(k))
                == oracle.normalised("rafka", sorted_configs(r))):
            return
        time.sleep(0.05)


def error_of(answer: dict) -> int:
    return answer["responses"][0]["error_code"]


def value_of(answer: dict, name: str):
    entry = next(c for c in answer["results"][0]["configs"] if c["name"] == name)
    return entry["value"], entry["config_source"]


# -- DescribeConfigs ----------------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_describe_group_without_configs(oracle, version):
    """Every group config at the broker's defaults, for a group that does not exist."""
    answer = describe(oracle, group_name("none"), version)
    names = [c["name"] for c in answer["results"][0]["configs"]]
    assert "consumer.session.timeout.ms" in names and "share.auto.offset.reset" in names
    describe(oracle, group_name("nosyn"), version, synonyms=False)


def test_describe_group_documentation(oracle):
    describe(oracle, group_name("doc"), 4, documentation=True)


def test_describe_group_selected_keys(oracle):
    describe(oracle, group_name("keys"), 4,
             keys=["consumer.heartbeat.interval.ms", "no.such.config"])


def test_describe_group_empty_name(oracle):
    answer = describe(oracle, "", 4)
    assert answer["results"][0]["error_code"] == 42  # INVALID_REQUEST


# -- IncrementalAlterConfigs and AlterConfigs -----------------------------------------

@pytest.mark.parametrize("ops", [
    [("consumer.session.timeout.ms", SET, "70000")],
    [("consumer.session.timeout.ms", SET, "40000")],
    [("consumer.session.timeout.ms", SET, "abc")],
    [("consumer.session.timeout.ms", SET, "0")],
    [("consumer.heartbeat.interval.ms", SET, "16000")],
    [("consumer.heartbeat.interval.ms", SET, "4000")],
    [("share.session.timeout.ms", SET, "15001")],
    [("share.heartbeat.interval.ms", SET, "15001")],
    [("share.record.lock.duration.ms", SET, "500")],
    [("share.record.lock.duration.ms", SET, "70000")],
    [("share.auto.offset.reset", SET, "bogus")],
    [("share.auto.offset.reset", SET, "none")],
    [("share.auto.offset.reset", SET, "by_duration:-PT1H")],
    [("share.auto.offset.reset", SET, "by_duration:PT")],
    [("share.isolation.level", SET, "READ_COMMITTED")],
    [("streams.session.timeout.ms", SET, "61000")],
    [("streams.heartbeat.interval.ms", SET, "15001")],
    [("streams.num.standby.replicas", SET, "3")],
    [("streams.num.standby.replicas", SET, "-1")],
    [("no.such.config", SET, "1")],
    [("consumer.session.timeout.ms", APPEND, "1")],
    [("consumer.session.timeout.ms", SUBTRACT, "1")],
    [("consumer.session.timeout.ms", 7, "1")],
    [("consumer.session.timeout.ms", SET, None)],
    [("consumer.session.timeout.ms", SET, "50000"), ("consumer.session.timeout.ms", SET, "1")],
    # Kafka parses in its definition order: the first bad key in that order is named.
    [("streams.num.standby.replicas", SET, "x"), ("consumer.heartbeat.interval.ms", SET, "y")],
], ids=lambda ops: repr(ops)[:60])
def test_incremental_alter_group_configs_refused(oracle, ops):
    group = group_name("bad")
    for validate_only in (True, False):
        answer = incremental(oracle, group, ops, validate_only)
        assert error_of(answer) != 0
    # Nothing was stored: every config is still at its default.
    answer = describe(oracle, group)
    assert all(c["config_source"] == 5 for c in answer["results"][0]["configs"])


def test_incremental_alter_group_empty_name(oracle):
    answer = incremental(oracle, "", [("consumer.session.timeout.ms", SET, "50000")])
    assert error_of(answer) == 42


def test_incremental_alter_group_configs_set_and_delete(oracle):
    group = group_name("set")
    ops = [("consumer.session.timeout.ms", SET, " 050000 "),
           ("consumer.heartbeat.interval.ms", SET, "6000"),
           ("share.auto.offset.reset", SET, "by_duration:P1DT2.5S"),
           ("share.isolation.level", SET, "read_committed"),
           ("share.record.lock.duration.ms", SET, "20000"),
           ("streams.num.standby.replicas", SET, "2")]
    for version in (0, 1):
        assert error_of(incremental(oracle, group, ops, validate_only=True,
                                    version=version)) == 0
    assert value_of(describe(oracle, group), "consumer.session.timeout.ms") == ("45000", 5)
    assert error_of(incremental(oracle, group, ops)) == 0
    answer = describe(oracle, group)
    assert value_of(answer, "consumer.session.timeout.ms") == ("50000", 8)
    describe(oracle, group, 2)
    # A change checks the whole new set: a heartbeat above the stored session timeout.
    assert error_of(incremental(oracle, group,
                                [("consumer.heartbeat.interval.ms", SET, "15000")])) == 0
    assert error_of(incremental(oracle, group,
                                [("consumer.session.timeout.ms", SET, "14000")])) != 0
    # Deleting a key that is not set (or does not exist) is no change.
    assert error_of(incremental(oracle, group, [("consumer.session.timeout.ms", DELETE, None),
                                                ("no.such.config", DELETE, None)])) == 0
    answer = describe(oracle, group)
    assert value_of(answer, "consumer.session.timeout.ms") == ("45000", 5)
    assert value_of(answer, "consumer.heartbeat.interval.ms") == ("15000", 8)


def test_alter_configs_replaces_a_groups_configs(oracle):
    group = group_name("alter")
    assert error_of(incremental(oracle, group,
                                [("consumer.session.timeout.ms", SET, "50000")])) == 0
    for version in (0, 1, 2):
        alter(oracle, group, {"consumer.heartbeat.interval.ms": "7000"}, validate_only=True,
              version=version)
    assert error_of(alter(oracle, group, {"consumer.heartbeat.interval.ms": "7000"})) == 0
    answer = describe(oracle, group)
    assert value_of(answer, "consumer.session.timeout.ms") == ("45000", 5)
    assert value_of(answer, "consumer.heartbeat.interval.ms") == ("7000", 8)
    for bad in ({"consumer.heartbeat.interval.ms": "70000"}, {"no.such.config": "1"},
                {"share.isolation.level": None}):
        assert error_of(alter(oracle, group, bad)) != 0
    assert error_of(alter(oracle, "", {"consumer.heartbeat.interval.ms": "7000"})) == 42
    describe(oracle, group)


def test_group_and_topic_resources_in_one_request(oracle):
    group = group_name("mixed")
    oracle.both("IncrementalAlterConfigs", 1, resources=[
        {"resource_type": GROUP, "resource_name": group,
         "configs": [{"name": "consumer.session.timeout.ms", "config_operation": SET,
                      "value": "55000"}]},
        {"resource_type": GROUP, "resource_name": group + "-bad",
         "configs": [{"name": "consumer.session.timeout.ms", "config_operation": SET,
                      "value": "5"}]},
        {"resource_type": TOPIC, "resource_name": PREFIX + "no-such-topic",
         "configs": [{"name": "retention.ms", "config_operation": SET, "value": "1000"}]},
    ], validate_only=False)
    describe(oracle, group)


# -- ListConfigResources ----------------------------------------------------------------

def ours(answer: dict) -> dict:
    """The resources this module named, and the brokers, in a fixed order."""
    kept = [r for r in answer["config_resources"]
            if r["resource_type"] in (BROKER, BROKER_LOGGER)
            or r["resource_name"].startswith(PREFIX)]
    answer["config_resources"] = sorted(kept, key=lambda r: (r["resource_type"],
                                                             r["resource_name"]))
    return answer


def list_resources(oracle, version: int, types=None) -> dict:
    fields = {} if version == 0 else {"resource_types": types or []}
    k, r = oracle.each("ListConfigResources", version, **fields)
    return oracle.compare(ours(k), ours(r), f"ListConfigResources v{version} {types}")


def test_list_config_resources(oracle):
    group = group_name("listed")
    emptied = group_name("emptied")
    topic = group_name("topic")
    # (test_oracle_topics compares CreateTopics answers.)
    created = oracle.each("CreateTopics", 7, topics=[{"name": topic, "num_partitions": 1,
                                                      "replication_factor": 1, "assignments": [],
                                                      "configs": []}],
                          timeout_ms=30000, validate_only=False)
    assert [a["topics"][0]["error_code"] for a in created] == [0, 0]
    assert error_of(incremental(oracle, group,
                                [("consumer.session.timeout.ms", SET, "50000")])) == 0
    assert error_of(incremental(oracle, emptied,
                                [("consumer.session.timeout.ms", SET, "50000")])) == 0
    assert error_of(incremental(oracle, emptied,
                                [("consumer.session.timeout.ms", DELETE, None)])) == 0
    # Validated only, or set to nothing: never listed.
    incremental(oracle, group_name("validated"), [("consumer.session.timeout.ms", SET, "50000")],
                validate_only=True)
    alter(oracle, group_name("nothing"), {})

    # v0 (ListClientMetricsResources) lists client-metrics subscriptions: none here.
    assert list_resources(oracle, 0)["config_resources"] == []
    everything = list_resources(oracle, 1)
    listed = {(r["resource_type"], r["resource_name"]) for r in everything["config_resources"]}
    assert (GROUP, group) in listed and (GROUP, emptied) in listed and (TOPIC, topic) in listed
    assert (BROKER, "1") in listed and (BROKER_LOGGER, "1") in listed
    for types in ([GROUP], [TOPIC], [BROKER], [BROKER_LOGGER], [CLIENT_METRICS], [TOPIC, GROUP],
                  [TOPIC, TOPIC]):
        list_resources(oracle, 1, types)


@pytest.mark.parametrize("types", [[0], [1], [99], [-1], [TOPIC, 99]])
def test_list_config_resources_unsupported_type(oracle, types):
    answer = oracle.both("ListConfigResources", 1, resource_types=types)
    assert answer["error_code"] == 35  # UNSUPPORTED_VERSION


# -- rafka only: persistence --------------------------------------------------------------

def test_group_configs_survive_a_restart(tmp_path):
    """What Kafka keeps in its metadata log, rafka keeps in its metadata file."""
    broker = Broker(tmp_path, dict(SHARED_CONFIG))
    broker.start()
    try:
        with RawClient("127.0.0.1", broker.port) as c:
            answer = c.request("IncrementalAlterConfigs", 1, resources=[
                {"resource_type": GROUP, "resource_name": "kept",
                 "configs": [{"name": "consumer.heartbeat.interval.ms",
                              "config_operation": SET, "value": "6000"}]},
                {"resource_type": GROUP, "resource_name": "emptied",
                 "configs": [{"name": "consumer.heartbeat.interval.ms",
                              "config_operation": SET, "value": "6000"}]}],
                validate_only=False)
            assert [r["error_code"] for r in answer["responses"]] == [0, 0]
            c.request("IncrementalAlterConfigs", 1, resources=[
                {"resource_type": GROUP, "resource_name": "emptied",
                 "configs": [{"name": "consumer.heartbeat.interval.ms",
                              "config_operation": DELETE, "value": None}]}],
                validate_only=False)
        broker.stop()
        broker.start()
        with RawClient("127.0.0.1", broker.port) as c:
            answer = c.request("DescribeConfigs", 4, resources=[
                {"resource_type": GROUP, "resource_name": "kept",
                 "configuration_keys": ["consumer.heartbeat.interval.ms"]}],
                include_synonyms=False, include_documentation=False)
            entry = answer["results"][0]["configs"][0]
            assert (entry["value"], entry["config_source"]) == ("6000", 8)
            listed = c.request("ListConfigResources", 1, resource_types=[GROUP])
            # After a restart Kafka's image no longer holds the emptied group.
            assert [r["resource_name"] for r in listed["config_resources"]] == ["kept"]
    finally:
        broker.stop()


def group_config_on(port: int, group: str, key: str):
    with RawClient("127.0.0.1", port) as c:
        answer = c.request("DescribeConfigs", 4, resources=[
            {"resource_type": GROUP, "resource_name": group, "configuration_keys": [key]}],
            include_synonyms=False, include_documentation=False)
    entry = answer["results"][0]["configs"][0]
    return entry["value"], entry["config_source"]


def test_group_configs_replicate_through_the_controller(cluster):  # noqa: F811 - fixture
    """Set on one node, seen by every node (the metadata log carries it), and after a
    restart."""
    nodes = list(cluster.nodes.values())
    with RawClient("127.0.0.1", nodes[0].port) as c:
        answer = c.request("IncrementalAlterConfigs", 1, resources=[
            {"resource_type": GROUP, "resource_name": "replicated",
             "configs": [{"name": "consumer.session.timeout.ms", "config_operation": SET,
                          "value": "55000"}]}], validate_only=False)
        assert answer["responses"][0]["error_code"] == 0
    key = "consumer.session.timeout.ms"
    for node in nodes:
        wait_until(lambda n=node: group_config_on(n.port, "replicated", key) == ("55000", 8),
                   15, f"node {node.node_id} sees the group config")
    with RawClient("127.0.0.1", nodes[-1].port) as c:
        listed = c.request("ListConfigResources", 1, resource_types=[GROUP, BROKER])
    assert sorted((r["resource_type"], r["resource_name"]) for r in listed["config_resources"]) \
        == [(BROKER, str(n.node_id)) for n in sorted(nodes, key=lambda n: n.node_id)] \
        + [(GROUP, "replicated")]
    nodes[1].kill9()
    cluster.restart(nodes[1])
    assert group_config_on(nodes[1].port, "replicated", key) == ("55000", 8)
