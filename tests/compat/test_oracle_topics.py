"""Differential tests against Apache Kafka: CreateTopics, DeleteTopics, CreatePartitions,
DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, mostly with bad inputs.
See oracle.py for the fixtures and what is normalised."""

from __future__ import annotations

import uuid

import pytest

from compat_helpers import topic_name, wait_until
from oracle import (assert_same, create_topic, kafka_oracle, oracle,  # noqa: F401 - fixtures
                    rafka_oracle_peer)

TOPIC = 2   # ConfigResource types
BROKER = 4


def new_topic(name: str, partitions: int = 1, replication: int = 1,
              configs: dict[str, str | None] | None = None, assignments=None) -> dict:
    return {"name": name, "num_partitions": partitions, "replication_factor": replication,
            "assignments": assignments or [],
            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}


def by_name(configs):
    """Config entries as a list sorted by name: the order of a config array has no meaning
    (Kafka follows its own maps' order)."""
    return sorted(configs, key=lambda c: c["name"])


def sorted_configs(answer: dict) -> dict:
    for topic in answer.get("topics") or []:
        if topic.get("configs"):
            topic["configs"] = by_name(topic["configs"])
    for result in answer.get("results") or []:
        if result.get("configs"):
            result["configs"] = by_name(result["configs"])
    return answer


def min_insync_as_default(answer: dict) -> dict:
    """Kafka 4's `kafka-storage format` writes min.insync.replicas=1 as a cluster-wide
    dynamic default (source DYNAMIC_DEFAULT_BROKER_CONFIG, 3) because eligible leader
    replicas (KIP-966) are on; rafka has no ELR, so its default stays DEFAULT_CONFIG (5)
    with the same value. This one source is normalised; the value is still compared."""
    def fix(entry):
        if entry.get("name") == "min.insync.replicas" and entry.get("config_source") == 3:
            entry["config_source"] = 5
            if entry.get("synonyms"):
                entry["synonyms"] = [s for s in entry["synonyms"] if s.get("source") != 3]
        return entry
    for group in (answer.get("topics") or []) + (answer.get("results") or []):
        for entry in group.get("configs") or []:
            fix(entry)
    return answer


def common_entries_only(k: dict, r: dict) -> None:
    """Drop the config entries only one side lists. Which entries exist is compared by
    test_describe_configs_topic_config_names and test_create_topics_config_names; the other
    tests compare the values, sources, flags and synonyms of the entries both list, so that
    those are checked even while the set of names differs."""
    for key in ("topics", "results"):
        for gk, gr in zip(k.get(key) or [], r.get(key) or []):
            if gk.get("configs") and gr.get("configs"):
                names = {c["name"] for c in gk["configs"]} & {c["name"] for c in gr["configs"]}
                gk["configs"] = [c for c in gk["configs"] if c["name"] in names]
                gr["configs"] = [c for c in gr["configs"] if c["name"] in names]


def both_configs(oracle, api: str, version: int, all_entries: bool = False, **fields) -> dict:
    k, r = oracle.each(api, version, **fields)
    k, r = (min_insync_as_default(sorted_configs(a)) for a in (k, r))
    if not all_entries:
        common_entries_only(k, r)
    return oracle.compare(k, r, f"{api} v{version} {fields!r}"[:400])


# -- CreateTopics -------------------------------------------------------------------

BAD_NAMES = ["", ".", "..", "a/b", "x" * 250, "with space", "tab\there", "ümlaut", "a:b", "a\\b"]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_create_topics_invalid_name(oracle, bad):
    for version in (4, 7):
        answer = both_configs(oracle, "CreateTopics", version, topics=[new_topic(bad)],
                              timeout_ms=10000, validate_only=False)
        assert answer["topics"][0]["error_code"] == 17  # INVALID_TOPIC_EXCEPTION


def test_create_topics_longest_valid_name(oracle):
    name = ("oracle-249-" + uuid.uuid4().hex).ljust(249, "x")
    answer = both_configs(oracle, "CreateTopics", 7, topics=[new_topic(name)], timeout_ms=30000,
                          validate_only=True)
    assert answer["topics"][0]["error_code"] == 0


def test_create_topics_colliding_names(oracle):
    """a.b and a_b collide in metric names: Kafka refuses the second."""
    suffix = uuid.uuid4().hex[:8]
    create_topic(oracle, f"oracle.coll.{suffix}")
    for version in (4, 7):
        answer = both_configs(oracle, "CreateTopics", version,
                              topics=[new_topic(f"oracle_coll_{suffix}")], timeout_ms=10000,
                              validate_only=False)
        assert answer["topics"][0]["error_code"] == 17


@pytest.mark.parametrize("partitions,replication", [(0, 1), (-2, 1), (1, 2), (1, 0), (1, -2),
                                                    (-1, -1), (1, 3)])
def test_create_topics_bad_counts(oracle, partitions, replication):
    name = topic_name("oracle-counts")
    both_configs(oracle, "CreateTopics", 7, topics=[new_topic(name, partitions, replication)],
                 timeout_ms=10000, validate_only=True)


def test_create_topics_assignment_to_unknown_broker(oracle):
    name = topic_name("oracle-assign")
    both_configs(oracle, "CreateTopics", 7,
                 topics=[new_topic(name, -1, -1, assignments=[
                     {"partition_index": 0, "broker_ids": [7]}])],
                 timeout_ms=10000, validate_only=True)


@pytest.mark.parametrize("configs", [
    {"no.such.config": "1"},
    {"retention.ms": "abc"},
    {"cleanup.policy": "bogus"},
    {"compression.type": "brotli"},
    {"min.insync.replicas": "0"},
    {"segment.bytes": "10"},
    {"max.message.bytes": "-5"},
    {"retention.ms": None},
    {"message.timestamp.type": "WallClock"},
], ids=lambda c: repr(c)[:40])
def test_create_topics_bad_configs(oracle, configs):
    name = topic_name("oracle-badcfg")
    for validate_only in (True, False):
        answer = both_configs(oracle, "CreateTopics", 7, topics=[new_topic(name, configs=configs)],
                              timeout_ms=10000, validate_only=validate_only)
        assert answer["topics"][0]["error_code"] != 0


def test_create_topics_validate_only_lists_configs(oracle):
    name = topic_name("oracle-validate")
    both_configs(oracle, "CreateTopics", 7,
                 topics=[new_topic(name, 2, configs={"retention.ms": "3600000",
                                                     "cleanup.policy": "compact"})],
                 timeout_ms=10000, validate_only=True)
    # validate_only creates nothing.
    oracle.both("Metadata", 12, topics=[{"name": name}], allow_auto_topic_creation=False)


def test_create_topics_answer(oracle):
    name = topic_name("oracle-create")
    for version in (2, 4, 5, 7):
        both_configs(oracle, "CreateTopics", version,
                     topics=[new_topic(f"{name}-v{version}", 2,
                                       configs={"retention.ms": "3600000"})],
                     timeout_ms=30000, validate_only=False)


def test_create_existing_topic(oracle):
    name = topic_name("oracle-exists")
    create_topic(oracle, name)
    for version in (2, 7):
        answer = both_configs(oracle, "CreateTopics", version, topics=[new_topic(name)],
                              timeout_ms=10000, validate_only=False)
        assert answer["topics"][0]["error_code"] == 36  # TOPIC_ALREADY_EXISTS


def test_create_topics_duplicate_in_one_request(oracle):
    name = topic_name("oracle-dup")
    both_configs(oracle, "CreateTopics", 7, topics=[new_topic(name), new_topic(name)],
                 timeout_ms=10000, validate_only=True)


# -- DeleteTopics -------------------------------------------------------------------

def test_delete_unknown_topic(oracle):
    name = topic_name("oracle-del-unknown")
    for version in (1, 4, 5):
        answer = oracle.both("DeleteTopics", version, topic_names=[name], timeout_ms=10000)
        assert answer["responses"][0]["error_code"] == 3
    oracle.both("DeleteTopics", 6, topics=[{"name": name, "topic_id": None}], timeout_ms=10000)


def test_delete_unknown_topic_id(oracle):
    random_id = uuid.uuid4()
    oracle.both("DeleteTopics", 6, topics=[{"name": None, "topic_id": random_id}], timeout_ms=10000)


def test_delete_topic_invalid_name(oracle):
    oracle.both("DeleteTopics", 5, topic_names=[".."], timeout_ms=10000)


def test_delete_topic(oracle):
    name = topic_name("oracle-del")
    create_topic(oracle, name)
    oracle.both("DeleteTopics", 6, topics=[{"name": name, "topic_id": None}], timeout_ms=30000)


# -- CreatePartitions ---------------------------------------------------------------

@pytest.mark.parametrize("count", [1, 2, 0, -1])
def test_create_partitions_not_increasing(oracle, count):
    name = topic_name("oracle-cp")
    create_topic(oracle, name, partitions=2)
    for version in (0, 3):
        answer = oracle.both("CreatePartitions", version,
                             topics=[{"name": name, "count": count, "assignments": None}],
                             timeout_ms=10000, validate_only=False)
        assert answer["results"][0]["error_code"] == 37  # INVALID_PARTITIONS


def test_create_partitions_unknown_topic(oracle):
    oracle.both("CreatePartitions", 3,
                topics=[{"name": topic_name("oracle-cp-unknown"), "count": 3, "assignments": None}],
                timeout_ms=10000, validate_only=False)


def test_create_partitions_increase(oracle):
    name = topic_name("oracle-cp-inc")
    create_topic(oracle, name, partitions=1)
    oracle.both("CreatePartitions", 3, topics=[{"name": name, "count": 3, "assignments": None}],
                timeout_ms=10000, validate_only=True)
    oracle.both("CreatePartitions", 3, topics=[{"name": name, "count": 3, "assignments": None}],
                timeout_ms=10000, validate_only=False)


def test_create_partitions_bad_assignment(oracle):
    name = topic_name("oracle-cp-assign")
    create_topic(oracle, name, partitions=1)
    oracle.both("CreatePartitions", 3,
                topics=[{"name": name, "count": 2, "assignments": [{"broker_ids": [9]}]}],
                timeout_ms=10000, validate_only=True)


# -- DescribeConfigs ----------------------------------------------------------------

def describe_topic(name: str, keys=None, synonyms=True) -> dict:
    return {"resources": [{"resource_type": TOPIC, "resource_name": name,
                           "configuration_keys": keys}],
            "include_synonyms": synonyms, "include_documentation": False}


def config_names(answer: dict, key: str) -> list[str]:
    return sorted(c["name"] for group in answer[key] for c in group["configs"] or [])


def test_describe_configs_topic_config_names(oracle):
    """Every topic config Kafka 4.1 lists for a topic, rafka must list too (with its
    default where it has no use for it, e.g. remote.storage.enable=false)."""
    name = topic_name("oracle-dc-names")
    create_topic(oracle, name)
    k, r = oracle.each("DescribeConfigs", 4, **describe_topic(name))
    assert_same(config_names(k, "results"), config_names(r, "results"),
                "DescribeConfigs v4 of a topic: config names")


def test_create_topics_config_names(oracle):
    k, r = oracle.each("CreateTopics", 7, topics=[new_topic(topic_name("oracle-ct-names"))],
                       timeout_ms=10000, validate_only=True)
    assert_same(config_names(k, "topics"), config_names(r, "topics"),
                "CreateTopics v7 (validate_only) answer: config names")


def test_describe_configs_topic(oracle):
    name = topic_name("oracle-dc")
    create_topic(oracle, name, configs={"retention.ms": "3600000", "cleanup.policy": "compact"})
    for version in (1, 2, 3, 4):
        both_configs(oracle, "DescribeConfigs", version, **describe_topic(name))


def test_describe_configs_topic_selected_keys(oracle):
    name = topic_name("oracle-dc-keys")
    create_topic(oracle, name, configs={"retention.ms": "3600000"})
    both_configs(oracle, "DescribeConfigs", 4,
                 **describe_topic(name, ["retention.ms", "segment.bytes", "no.such.key"]))


def test_describe_configs_unknown_topic(oracle):
    for version in (1, 4):
        both_configs(oracle, "DescribeConfigs", version,
                     **describe_topic(topic_name("oracle-dc-unknown")))


def test_describe_configs_invalid_topic_name(oracle):
    both_configs(oracle, "DescribeConfigs", 4, **describe_topic(".."))


def test_describe_configs_unknown_broker(oracle):
    both_configs(oracle, "DescribeConfigs", 4,
                 resources=[{"resource_type": BROKER, "resource_name": "7",
                             "configuration_keys": ["log.retention.ms"]}],
                 include_synonyms=True, include_documentation=False)


def test_describe_configs_broker_selected_keys(oracle):
    keys = ["log.retention.ms", "log.retention.hours", "num.partitions", "log.segment.bytes",
            "message.max.bytes", "auto.create.topics.enable", "min.insync.replicas"]
    answer = oracle.each("DescribeConfigs", 4,
                         resources=[{"resource_type": BROKER, "resource_name": "1",
                                     "configuration_keys": keys}],
                         include_synonyms=True, include_documentation=False)
    k, r = (min_insync_as_default(sorted_configs(a)) for a in answer)
    oracle.compare(k, r, "DescribeConfigs v4 broker 1 selected keys")


# -- AlterConfigs / IncrementalAlterConfigs -----------------------------------------

def broker_ops(name: str, ops) -> dict:
    return {"resources": [{"resource_type": BROKER, "resource_name": name,
                           "configs": [{"name": n, "config_operation": op, "value": v}
                                       for n, op, v in ops]}], "validate_only": False}


def broker_config_settles(oracle, name: str, key: str, value) -> None:
    """Waits until both brokers describe `key` of BROKER `name` with `value`: Kafka's
    broker applies a committed config change after IncrementalAlterConfigs answers, and a
    describe during the update can see the new synonym with the old value."""
    def settled():
        answers = oracle.each("DescribeConfigs", 4,
                              resources=[{"resource_type": BROKER, "resource_name": name,
                                          "configuration_keys": [key]}],
                              include_synonyms=False, include_documentation=False)
        return all([c["value"] for c in a["results"][0]["configs"] if c["name"] == key]
                   == ([value] if value is not None else []) for a in answers)
    wait_until(settled, timeout_s=30, what=f"{key}={value} on broker {name!r}")


def test_broker_config_levels(oracle):
    """A broker's own dynamic config (resource "1") overrides the cluster-wide one
    (resource ""): each level is stored and described apart, with Kafka's sources
    (DYNAMIC_BROKER_CONFIG 2 over DYNAMIC_DEFAULT_BROKER_CONFIG 3) and synonyms, and a
    topic lists both among its synonyms."""
    keys = ["log.retention.ms", "log.segment.bytes", "log.cleaner.threads"]
    topic = topic_name("oracle-levels")
    create_topic(oracle, topic)
    try:
        oracle.both("IncrementalAlterConfigs", 1, **broker_ops("", [
            ("log.retention.ms", SET, "7200000"), ("log.segment.bytes", SET, "2097152")]))
        oracle.both("IncrementalAlterConfigs", 1, **broker_ops("1", [
            ("log.retention.ms", SET, "5400000")]))
        broker_config_settles(oracle, "", "log.segment.bytes", "2097152")
        broker_config_settles(oracle, "1", "log.retention.ms", "5400000")
        for name in ("1", ""):
            k, r = oracle.each("DescribeConfigs", 4,
                               resources=[{"resource_type": BROKER, "resource_name": name,
                                           "configuration_keys": None if name == "" else keys}],
                               include_synonyms=True, include_documentation=False)
            k, r = (sorted_configs(a) for a in (k, r))
            if name == "":
                # Kafka 4's storage format writes min.insync.replicas as a dynamic default
                # (see min_insync_as_default); rafka does not.
                k["results"][0]["configs"] = [c for c in k["results"][0]["configs"]
                                              if c["name"] != "min.insync.replicas"]
            answer = oracle.compare(k, r, f"DescribeConfigs v4 broker {name!r}")
            listed = {c["name"]: (c["value"], c["config_source"])
                      for c in answer["results"][0]["configs"]}
            if name == "":
                assert listed == {"log.retention.ms": ("7200000", 3),
                                  "log.segment.bytes": ("2097152", 3)}, listed
            else:
                assert listed["log.retention.ms"] == ("5400000", 2), listed
        answer = both_configs(oracle, "DescribeConfigs", 4,
                              **describe_topic(topic, ["retention.ms", "segment.bytes"]))
        [retention] = [c for c in answer["results"][0]["configs"] if c["name"] == "retention.ms"]
        assert [(s["value"], s["source"]) for s in retention["synonyms"]][:2] == \
            [("5400000", 2), ("7200000", 3)], retention
        # Deleting the broker's own value uncovers the cluster-wide one.
        oracle.both("IncrementalAlterConfigs", 1, **broker_ops("1", [
            ("log.retention.ms", DELETE, None)]))
        broker_config_settles(oracle, "1", "log.retention.ms", "7200000")
        k, r = oracle.each("DescribeConfigs", 4,
                           resources=[{"resource_type": BROKER, "resource_name": "1",
                                       "configuration_keys": ["log.retention.ms"]}],
                           include_synonyms=True, include_documentation=False)
        answer = oracle.compare(k, r, "DescribeConfigs v4 broker 1 after DELETE")
        [entry] = answer["results"][0]["configs"]
        assert (entry["value"], entry["config_source"]) == ("7200000", 3), entry
    finally:
        oracle.both("IncrementalAlterConfigs", 1, **broker_ops("1", [
            ("log.retention.ms", DELETE, None)]))
        oracle.both("IncrementalAlterConfigs", 1, **broker_ops("", [
            ("log.retention.ms", DELETE, None), ("log.segment.bytes", DELETE, None)]))


@pytest.mark.parametrize("name", ["7", "abc", "-1"])
def test_alter_configs_other_broker(oracle, name):
    """AlterConfigs on a BROKER resource that is not this broker: Kafka's
    ConfigAdminManager messages (not DescribeConfigs' wording)."""
    oracle.both("IncrementalAlterConfigs", 1, **broker_ops(name, [
        ("log.retention.ms", SET, "5400000")]))
    oracle.both("AlterConfigs", 2, resources=[{
        "resource_type": BROKER, "resource_name": name,
        "configs": [{"name": "log.retention.ms", "value": "5400000"}]}], validate_only=False)
    both_configs(oracle, "DescribeConfigs", 4,
                 resources=[{"resource_type": BROKER, "resource_name": name,
                             "configuration_keys": ["log.retention.ms"]}],
                 include_synonyms=True, include_documentation=False)



@pytest.mark.parametrize("configs", [
    {"no.such.config": "1"},
    {"retention.ms": "abc"},
    {"cleanup.policy": "bogus"},
    {"min.insync.replicas": "0"},
], ids=lambda c: repr(c)[:40])
def test_alter_configs_bad(oracle, configs):
    name = topic_name("oracle-ac")
    create_topic(oracle, name)
    for version in (0, 2):
        for validate_only in (True, False):
            oracle.both("AlterConfigs", version, resources=[{
                "resource_type": TOPIC, "resource_name": name,
                "configs": [{"name": k, "value": v} for k, v in configs.items()]}],
                validate_only=validate_only)
    both_configs(oracle, "DescribeConfigs", 4, **describe_topic(name, synonyms=False))


def test_alter_configs_unknown_topic(oracle):
    oracle.both("AlterConfigs", 2, resources=[{
        "resource_type": TOPIC, "resource_name": topic_name("oracle-ac-unknown"),
        "configs": [{"name": "retention.ms", "value": "1000"}]}], validate_only=False)


SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


@pytest.mark.parametrize("ops", [
    [("no.such.config", SET, "1")],
    [("retention.ms", SET, "abc")],
    [("retention.ms", SET, None)],
    [("cleanup.policy", SET, "bogus")],
    [("retention.ms", APPEND, "5")],
    [("retention.ms", 7, "5")],
    [("no.such.config", DELETE, None)],
    [("retention.ms", SET, "1000"), ("retention.ms", DELETE, None)],
], ids=lambda o: repr(o)[:50])
def test_incremental_alter_configs_bad(oracle, ops):
    name = topic_name("oracle-iac")
    create_topic(oracle, name)
    for version in (0, 1):
        for validate_only in (True, False):
            oracle.both("IncrementalAlterConfigs", version, resources=[{
                "resource_type": TOPIC, "resource_name": name,
                "configs": [{"name": n, "config_operation": op, "value": v} for n, op, v in ops]}],
                validate_only=validate_only)
    both_configs(oracle, "DescribeConfigs", 4, **describe_topic(name, synonyms=False))


def test_incremental_alter_configs_unknown_topic(oracle):
    oracle.both("IncrementalAlterConfigs", 1, resources=[{
        "resource_type": TOPIC, "resource_name": topic_name("oracle-iac-unknown"),
        "configs": [{"name": "retention.ms", "config_operation": SET, "value": "1000"}]}],
        validate_only=False)


def test_incremental_alter_configs_list_ops(oracle):
    name = topic_name("oracle-iac-list")
    create_topic(oracle, name)
    for ops in ([("cleanup.policy", APPEND, "compact")],
                [("cleanup.policy", SUBTRACT, "delete")],
                [("cleanup.policy", SUBTRACT, "compact")],
                [("retention.ms", SET, "60000")],
                [("retention.ms", DELETE, None)]):
        oracle.both("IncrementalAlterConfigs", 1, resources=[{
            "resource_type": TOPIC, "resource_name": name,
            "configs": [{"name": n, "config_operation": op, "value": v} for n, op, v in ops]}],
            validate_only=False)
        both_configs(oracle, "DescribeConfigs", 4,
                     **describe_topic(name, ["cleanup.policy", "retention.ms"]))
