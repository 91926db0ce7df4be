"""rafka's own CLI tools and Apache Kafka 4.1.1's print the same output for the same cluster.

One broker and one cluster state for the module: topics with partitions and configs,
records (keys, null keys and values, headers, timestamps), a consumer group with committed
offsets and lag and no members, and a group with an active member. Each test runs one
command with rafka's tool (`$RAFKA_BIN <tool>`, what bin/kafka-<tool>.sh runs) and with
Kafka's Java tool (`java -cp <classpath> <main class>`, as in test_kafka_java_tools.py),
and compares the exit codes and standard output line by line. Standard error is not
compared: Kafka's tools log stack traces there.

Nothing is normalised: every value both tools print comes from the same broker answers
(topic ids, the live member's id and host, sizes), so it is the same on both sides. The
only variable is the time the state was made, and the records carry fixed timestamps.

Kafka's tools print many tables in the iteration order of Java `HashMap`s (topics of
`kafka-topics --describe`, partitions of `kafka-consumer-groups` and `kafka-log-dirs`,
config entries); rafka's tools reproduce that order (crates/tools/src/java_order.rs), so
the comparison is of the lines in order, not of sorted lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, ShareConsumer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewTopic, ResourceType)

from compat_helpers import wait_until
from conftest import rafka_bin

ROOT = Path(__file__).resolve().parents[2]
CLASSPATH = ROOT / "tests" / "clients" / "kafka-tools" / "target" / "classpath.txt"
TOOL_TIMEOUT_S = 60

JAVA_TOOLS = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "configs": "kafka.admin.ConfigCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-share-consumer": "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
    "share-groups": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
    "broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
}

ORDERS = "parity-orders"      # 3 partitions, retention.ms and cleanup.policy overridden
EVENTS = "parity-events"      # 2 partitions, no overrides; the live group reads it
LOGS = "parity-logs"          # 1 partition: null keys and values, headers
IDLE_GROUP = "parity-idle"    # committed offsets with lag, no members
LIVE_GROUP = "parity-live"    # one active member, caught up
LIVE_CLIENT = "parity-live-client"

# Timestamps close to now (older records would fall to the 7-day retention), the same for
# both tools since they read the same records.
BASE_TS = (int(time.time() * 1000) // 1000) * 1000 - 3_600_000


@pytest.fixture(scope="module")
def java_cmd() -> list[str]:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        pytest.fail("java not found: install a JDK 17+ or set JAVA_HOME", pytrace=False)
    if not CLASSPATH.is_file():
        pytest.fail(f"{CLASSPATH} missing: run scripts/setup-java.sh", pytrace=False)
    return [java, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
            CLASSPATH.read_text().strip()]


class Tools:
    def __init__(self, java_cmd: list[str], bootstrap: str):
        self.java_cmd = java_cmd
        self.bootstrap = bootstrap

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"`{' '.join(cmd[-8:])}` did not finish in {TOOL_TIMEOUT_S}s\n"
                        f"{e.stdout or ''}\n{e.stderr or ''}", pytrace=False)

    def rafka(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        return self._run([str(rafka_bin()), tool, "--bootstrap-server", self.bootstrap, *args])

    def kafka(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        return self._run(self.java_cmd + [JAVA_TOOLS[tool], "--bootstrap-server",
                                          self.bootstrap, *args])

    def same(self, tool: str, *args: str, rc: int = 0) -> list[str]:
        """Runs both; asserts equal exit codes (`rc`) and equal stdout lines; returns them."""
        ours, theirs = self.rafka(tool, *args), self.kafka(tool, *args)
        shown = f"{tool} {' '.join(args)}"
        assert theirs.returncode == rc, \
            f"Kafka's `{shown}` exited {theirs.returncode}\n{theirs.stdout}\n{theirs.stderr}"
        assert ours.returncode == theirs.returncode, \
            f"`{shown}`: rafka exited {ours.returncode}, Kafka {theirs.returncode}\n" \
            f"--- rafka stdout/stderr ---\n{ours.stdout}\n{ours.stderr}"
        assert ours.stdout.splitlines() == theirs.stdout.splitlines(), \
            f"`{shown}` prints differently\n--- rafka ---\n{ours.stdout}\n--- Kafka ---\n" \
            f"{theirs.stdout}\n--- rafka stderr ---\n{ours.stderr}"
        return theirs.stdout.splitlines()


def _create_state(bootstrap: str) -> Consumer:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([
        NewTopic(ORDERS, 3, 1, config={"retention.ms": "3600000", "cleanup.policy": "compact"}),
        NewTopic(EVENTS, 2, 1),
        NewTopic(LOGS, 1, 1),
    ])
    for f in futures.values():
        f.result(30)

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(30):
        producer.produce(ORDERS, key=f"order-{i}".encode(), value=f"total={i * 10}".encode(),
                         partition=i % 3, timestamp=BASE_TS + i)
    for i in range(7):
        producer.produce(EVENTS, key=f"e{i}".encode(), value=f"event {i}".encode(),
                         partition=i % 2, timestamp=BASE_TS + 100 + i)
    for i in range(6):
        producer.produce(LOGS,
                         key=None if i == 3 else f"k{i}".encode(),
                         value=None if i == 4 else f"line {i}".encode(),
                         headers=[("h1", b"x"), ("h2", None)] if i % 2 == 0 else None,
                         partition=0, timestamp=BASE_TS + 200 + i)
    assert producer.flush(30) == 0

    # The idle group: offsets committed from outside (no member), behind the log end.
    idle = Consumer({"bootstrap.servers": bootstrap, "group.id": IDLE_GROUP,
                     "enable.auto.commit": False})
    idle.commit(offsets=[TopicPartition(ORDERS, 0, 3), TopicPartition(ORDERS, 1, 10),
                         TopicPartition(ORDERS, 2, 0), TopicPartition(EVENTS, 1, 1)],
                asynchronous=False)
    idle.close()

    # The live group: one member that read everything of EVENTS and committed it.
    live = Consumer({"bootstrap.servers": bootstrap, "group.id": LIVE_GROUP,
                     "client.id": LIVE_CLIENT, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False})
    live.subscribe([EVENTS])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 7:
        assert time.monotonic() < deadline, f"the live member read {seen} of 7 records"
        m = live.poll(0.2)
        if m is not None and not m.error():
            seen += 1
    live.commit(asynchronous=False)
    return live


@pytest.fixture(scope="module")
def tools(broker, java_cmd):
    live = _create_state(broker.bootstrap)
    tools = Tools(java_cmd, broker.bootstrap)

    def live_is_stable():
        out = tools.rafka("consumer-groups", "--describe", "--group", LIVE_GROUP,
                          "--state").stdout
        live.poll(0)  # serve the member's callbacks while waiting
        return "Stable" in out

    wait_until(live_is_stable, timeout_s=30, what=f"{LIVE_GROUP} stable")
    yield tools
    live.close()


# -- kafka-topics ---------------------------------------------------------------------

def test_topics_list(tools):
    lines = tools.same("topics", "--list")
    assert {ORDERS, EVENTS, LOGS, "__consumer_offsets"} <= set(lines)
    assert tools.same("topics", "--list", "--exclude-internal") == sorted([ORDERS, EVENTS, LOGS])


def test_topics_describe_one_topic(tools):
    lines = tools.same("topics", "--describe", "--topic", ORDERS)
    assert lines[0].startswith(f"Topic: {ORDERS}\tTopicId: ")
    assert "Configs: cleanup.policy=compact,retention.ms=3600000" in lines[0]
    assert len(lines) == 4


def test_topics_describe_all_and_by_regex(tools):
    # All topics, __consumer_offsets included: their order is Kafka's HashMap order.
    lines = tools.same("topics", "--describe")
    assert sum(line.startswith("Topic: ") for line in lines) == 4
    tools.same("topics", "--describe", "--exclude-internal")
    tools.same("topics", "--describe", "--topic", "parity-.*")


@pytest.mark.parametrize("report", ["--under-replicated-partitions", "--unavailable-partitions",
                                    "--under-min-isr-partitions", "--at-min-isr-partitions"])
def test_topics_describe_partition_reports(tools, report):
    lines = tools.same("topics", "--describe", report)
    if report == "--at-min-isr-partitions":  # min.insync.replicas=1 = the ISR of every one
        assert len(lines) == 3 + 2 + 1 + 50
    else:
        assert lines == []


def test_topics_describe_topics_with_overrides(tools):
    lines = tools.same("topics", "--describe", "--topics-with-overrides")
    # Every topic has one: the broker's static log.segment.bytes (conftest's small segments).
    assert any(line.startswith(f"Topic: {ORDERS}\t") for line in lines)
    assert all("\tPartition: " not in line for line in lines)


def test_topics_errors(tools):
    assert tools.same("topics", "--describe", "--topic", "parity-missing", rc=1) == [
        "Error while executing topic command : Topic 'parity-missing' does not exist as expected"]
    assert tools.same("topics", "--create", "--topic", ORDERS, "--partitions", "1", rc=1) == [
        f"Error while executing topic command : Topic '{ORDERS}' already exists."]
    assert tools.same("topics", "--create", "--topic", "parity-none", "--partitions", "0",
                      rc=1) == [
        "Error while executing topic command : The partitions must be greater than 0"]
    assert tools.same("topics", "--alter", "--topic", EVENTS, "--partitions", "1", rc=1) == [
        f"Error while executing topic command : The topic {EVENTS} currently has 2 "
        "partition(s); 1 would not be an increase."]
    tools.same("topics", "--create", "--topic", "parity-rf", "--partitions", "1",
               "--replication-factor", "3", rc=1)
    tools.same("topics", "--create", "--topic", "parity-cfg", "--config", "no.such=1", rc=1)


# -- kafka-configs --------------------------------------------------------------------

def test_configs_describe_a_topic(tools):
    entity = ["--entity-type", "topics", "--entity-name", ORDERS]
    lines = tools.same("configs", "--describe", *entity)
    assert lines[0] == f"Dynamic configs for topic {ORDERS} are:"
    assert len(lines) == 3
    lines = tools.same("configs", "--describe", "--all", *entity)
    assert lines[0] == f"All configs for topic {ORDERS} are:"
    tools.same("configs", "--describe", "--entity-type", "topics")


def test_configs_describe_an_unknown_topic(tools):
    assert tools.same("configs", "--describe", "--entity-type", "topics", "--entity-name",
                      "parity-missing") == [
        "The topic 'parity-missing' doesn't exist and doesn't have dynamic config."]


def test_configs_describe_a_broker(tools):
    tools.same("configs", "--describe", "--entity-type", "brokers", "--entity-name", "1")
    lines = tools.same("configs", "--describe", "--all", "--entity-type", "brokers",
                       "--entity-name", "1")
    assert lines[0] == "All configs for broker 1 are:"
    assert len(lines) > 50
    tools.same("configs", "--describe", "--entity-type", "brokers", "--entity-default")
    tools.same("configs", "--describe", "--entity-type", "brokers")


def test_configs_broker_levels(tools):
    """A broker's own dynamic config and the cluster-wide one: stored apart, described
    with their sources, the broker's value first."""
    broker = ["--entity-type", "brokers", "--entity-name", "1"]
    default = ["--entity-type", "brokers", "--entity-default"]
    try:
        assert tools.same("configs", "--alter", *broker, "--add-config",
                          "log.retention.ms=5400000") == ["Completed updating config for broker 1."]
        tools.same("configs", "--alter", *default, "--add-config", "log.retention.ms=7200000")
        own = "\n".join(tools.same("configs", "--describe", *broker))
        assert "DYNAMIC_BROKER_CONFIG:log.retention.ms=5400000, " \
               "DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000" in own, own
        cluster = "\n".join(tools.same("configs", "--describe", *default))
        assert "log.retention.ms=7200000" in cluster and "5400000" not in cluster, cluster
        tools.same("configs", "--describe", "--all", *broker)
    finally:
        tools.rafka("configs", "--alter", *broker, "--delete-config", "log.retention.ms")
        tools.rafka("configs", "--alter", *default, "--delete-config", "log.retention.ms")
    assert "log.retention.ms" not in "\n".join(tools.same("configs", "--describe", *broker))


def test_configs_of_an_unknown_broker(tools):
    assert tools.same("configs", "--describe", "--entity-type", "brokers", "--entity-name",
                      "7") == ["The broker '7' doesn't exist and doesn't have dynamic config."]


def test_configs_of_a_group(tools):
    """Group configs (KIP-848/KIP-932) through --entity-type groups: alter, describe the
    dynamic and all configs, an unknown group, and deleting what is not set."""
    group = ["--entity-type", "groups", "--entity-name", IDLE_GROUP]
    try:
        assert tools.same("configs", "--alter", *group, "--add-config",
                          "consumer.session.timeout.ms=50000,share.auto.offset.reset=earliest") \
            == [f"Completed updating config for group {IDLE_GROUP}."]
        lines = tools.same("configs", "--describe", *group)
        assert lines[0] == f"Dynamic configs for group {IDLE_GROUP} are:"
        assert any(line.startswith("  consumer.session.timeout.ms=50000 ") for line in lines), lines
        lines = tools.same("configs", "--describe", "--all", *group)
        assert len(lines) > 5 and lines[0] == f"All configs for group {IDLE_GROUP} are:"
    finally:
        tools.rafka("configs", "--alter", *group, "--delete-config",
                    "consumer.session.timeout.ms,share.auto.offset.reset")
    assert tools.same("configs", "--describe", *group) == [
        f"Dynamic configs for group {IDLE_GROUP} are:"]
    tools.same("configs", "--alter", *group, "--delete-config", "share.auto.offset.reset", rc=1)
    assert tools.same("configs", "--describe", "--entity-type", "groups", "--entity-name",
                      "parity-no-group") == [
        "The group 'parity-no-group' doesn't exist and doesn't have dynamic config."]


# -- kafka-consumer-groups ------------------------------------------------------------

def test_consumer_groups_list(tools):
    assert tools.same("consumer-groups", "--list") == [IDLE_GROUP, LIVE_GROUP]
    tools.same("consumer-groups", "--list", "--state")
    tools.same("consumer-groups", "--list", "--state", "Stable")


@pytest.mark.parametrize("group", [IDLE_GROUP, LIVE_GROUP])
@pytest.mark.parametrize("view", [[], ["--offsets"], ["--members"], ["--members", "--verbose"],
                                  ["--state"], ["--state", "--verbose"], ["--offsets",
                                                                          "--verbose"]])
def test_consumer_groups_describe(tools, group, view):
    lines = tools.same("consumer-groups", "--describe", "--group", group, *view)
    if not view or view[0] == "--offsets":
        columns = lines[1].split()
        rows = [dict(zip(columns, line.split())) for line in lines[2:]]
        # The lag of the idle group; the live member's id, host and client id.
        if group == IDLE_GROUP:
            assert [r["LAG"] for r in rows if (r["TOPIC"], r["PARTITION"]) == (ORDERS, "0")] \
                == ["7"]
        else:
            assert {r["CLIENT-ID"] for r in rows} == {LIVE_CLIENT}


def test_consumer_groups_describe_all_groups(tools):
    tools.same("consumer-groups", "--describe", "--all-groups")
    tools.same("consumer-groups", "--describe", "--all-groups", "--members")
    tools.same("consumer-groups", "--describe", "--all-groups", "--state")


def test_consumer_groups_describe_an_unknown_group(tools):
    # Kafka prints the exception and exits 0.
    assert tools.same("consumer-groups", "--describe", "--group", "parity-missing") == [
        "", "Error: Executing consumer group command failed due to "
        "org.apache.kafka.common.errors.GroupIdNotFoundException: Group parity-missing not found."]
    tools.same("consumer-groups", "--describe", "--group", "parity-missing", "--group",
               IDLE_GROUP)


@pytest.mark.parametrize("scenario", [
    ["--topic", ORDERS, "--to-earliest"],
    ["--topic", ORDERS, "--to-latest"],
    ["--all-topics", "--to-offset", "2"],
    ["--topic", f"{ORDERS}:1", "--shift-by", "-3"],
    ["--all-topics", "--to-current"],
    ["--all-topics", "--to-latest", "--export"],
])
def test_consumer_groups_reset_offsets_dry_run(tools, scenario):
    tools.same("consumer-groups", "--reset-offsets", "--group", IDLE_GROUP, *scenario,
               "--dry-run")


def test_consumer_groups_reset_offsets_of_an_active_group(tools):
    lines = tools.same("consumer-groups", "--reset-offsets", "--group", LIVE_GROUP,
                       "--group", IDLE_GROUP, "--topic", ORDERS, "--to-earliest", "--dry-run")
    assert f"Error: Assignments can only be reset if the group '{LIVE_GROUP}' is inactive, " \
        "but the current state is Stable." in lines


# -- kafka-get-offsets ----------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["--topic", ORDERS], ["--topic", ORDERS, "--time", "-2"],
    ["--topic", ORDERS, "--time", "earliest"], ["--topic", ORDERS, "--time", "-3"],
    ["--topic", ORDERS, "--time", "max-timestamp"],
    ["--topic", ORDERS, "--time", str(BASE_TS + 5)], ["--topic", ORDERS, "--partitions", "0,2"],
    ["--topic-partitions", f"{ORDERS}:1,{EVENTS}"], ["--topic", "parity-.*"],
    ["--exclude-internal-topics"],
])
def test_get_offsets(tools, args):
    assert tools.same("get-offsets", *args)


def test_get_offsets_of_an_unknown_topic(tools):
    assert tools.same("get-offsets", "--topic", "parity-missing", rc=1) == []


# -- kafka-console-consumer -----------------------------------------------------------

@pytest.mark.parametrize("props", [
    [],
    ["--property", "print.key=true"],
    ["--property", "print.key=true", "--property", "print.partition=true",
     "--property", "print.offset=true", "--property", "print.timestamp=true"],
    ["--property", "print.headers=true", "--property", "print.key=true",
     "--property", "headers.separator=|"],
    ["--property", "print.key=true", "--property", "key.separator=::",
     "--property", "line.separator=;", "--property", "print.value=false"],
    ["--property", "print.timestamp=true", "--property", "print.key=true",
     "--property", "null.literal=NIL"],
    ["--property", "print.delivery=true", "--property", "print.offset=true"],
    ["--formatter", "org.apache.kafka.tools.consumer.DefaultMessageFormatter",
     "--property", "print.partition=true"],
    ["--formatter", "org.apache.kafka.tools.consumer.LoggingMessageFormatter"],
    ["--formatter", "org.apache.kafka.tools.consumer.NoOpMessageFormatter"],
])
def test_console_consumer(tools, props):
    # One partition, so both read the records in the same order.
    tools.same("console-consumer", "--topic", LOGS, "--from-beginning", "--max-messages", "6",
               "--timeout-ms", "30000", *props)


def test_console_consumer_one_partition_from_an_offset(tools):
    lines = tools.same("console-consumer", "--topic", ORDERS, "--partition", "1", "--offset",
                       "4", "--max-messages", "3", "--timeout-ms", "30000",
                       "--property", "print.offset=true", "--property", "print.key=true")
    assert lines == ["Offset:4\torder-13\ttotal=130", "Offset:5\torder-16\ttotal=160",
                     "Offset:6\torder-19\ttotal=190"]


# -- kafka-console-share-consumer ------------------------------------------------------

def _share_group_from_earliest(bootstrap: str, group: str) -> None:
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[
        ConfigEntry("share.auto.offset.reset", "earliest",
                    incremental_operation=AlterConfigOpType.SET)])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)


def test_console_share_consumer(tools):
    """rafka's kafka-console-share-consumer.sh (with 4.2's --formatter-property) and Kafka
    4.1.1's (--property), each in a share group of its own over LOGS (one partition, six
    records), step by step on the same data: print and release all six; print and accept
    them again (delivery count 2); then, after one more record is produced, read one
    record: the new one, delivered once, so nothing accepted came back (records are
    delivered lowest offset first). Both print the same lines at every step."""
    groups = {"rafka": "parity-share-rafka", "kafka": "parity-share-kafka"}
    for group in groups.values():
        _share_group_from_earliest(tools.bootstrap, group)
    props = ["print.offset=true", "print.delivery=true", "print.key=true",
             "print.headers=true"]

    def run(side: str, *args: str) -> list[str]:
        flag = "--formatter-property" if side == "rafka" else "--property"
        runner = tools.rafka if side == "rafka" else tools.kafka
        out = runner("console-share-consumer", "--topic", LOGS, "--group", groups[side],
                     "--timeout-ms", "30000", *args,
                     *[x for p in props for x in (flag, p)])
        assert out.returncode == 0, f"{side}: {out.stderr}"
        return out.stdout.splitlines()

    def both(*args: str) -> list[str]:
        ours, theirs = run("rafka", *args), run("kafka", *args)
        assert ours == theirs, f"--- rafka ---\n{ours}\n--- Kafka ---\n{theirs}"
        return ours

    released = both("--max-messages", "6", "--release")
    assert [line.split("\t")[:2] for line in released] == \
        [[f"Offset:{i}", "Delivery:1"] for i in range(6)], released
    assert released[3] == "Offset:3\tDelivery:1\tNO_HEADERS\tnull\tline 3"
    accepted = both("--max-messages", "6")
    assert [line.split("\t")[:2] for line in accepted] == \
        [[f"Offset:{i}", "Delivery:2"] for i in range(6)], accepted
    producer = Producer({"bootstrap.servers": tools.bootstrap})
    producer.produce(LOGS, key=b"after", value=b"more", partition=0, timestamp=BASE_TS + 300)
    assert producer.flush(30) == 0
    assert both("--max-messages", "1") == ["Offset:6\tDelivery:1\tNO_HEADERS\tafter\tmore"]


# -- kafka-share-groups ----------------------------------------------------------------

SHARE_LIVE = "parity-share-live"


@pytest.fixture(scope="module")
def share_member(tools):
    """A share group with one active member (confluent-kafka's ShareConsumer) on EVENTS,
    and two share groups whose only member has left (empty)."""
    def joined(group: str) -> ShareConsumer:
        consumer = ShareConsumer({"bootstrap.servers": tools.bootstrap, "group.id": group,
                                  "client.id": f"{group}-client"})
        consumer.subscribe([EVENTS])
        return consumer

    def stable(group: str, consumer: ShareConsumer) -> bool:
        consumer.poll(0.1)
        out = tools.rafka("share-groups", "--describe", "--group", group, "--members").stdout
        return "parity-events:0,1" in out

    live = joined(SHARE_LIVE)
    wait_until(lambda: stable(SHARE_LIVE, live), timeout_s=30, what=f"{SHARE_LIVE} assigned")
    # The live member has read both partitions (their start offsets are known), not only
    # been assigned them.
    wait_until(lambda: live.poll(0.1) is not None and
               all(row[-1] != "-" for row in _share_offset_rows(tools, SHARE_LIVE)) and
               len(_share_offset_rows(tools, SHARE_LIVE)) == 2,
               timeout_s=30, what=f"{SHARE_LIVE}'s start offsets")
    for group in ("parity-share-empty-a", "parity-share-empty-b",
                  "parity-share-offsets-a", "parity-share-offsets-b"):
        gone = joined(group)
        wait_until(lambda: stable(group, gone), timeout_s=30, what=f"{group} assigned")
        gone.close()
    yield live
    live.close()


def _share_offset_rows(tools, group: str) -> list[list[str]]:
    out = tools.rafka("share-groups", "--describe", "--group", group).stdout
    return [line.split() for line in out.splitlines() if line.split()[:1] == [group]]


@pytest.mark.parametrize("args", [
    ["--describe", "--group", SHARE_LIVE],
    ["--describe", "--group", SHARE_LIVE, "--offsets", "--verbose"],
    ["--describe", "--group", "parity-share-offsets-a", "--offsets"],
    ["--describe", "--group", "parity-share-missing"],
    ["--delete-offsets", "--group", SHARE_LIVE, "--topic", EVENTS],
    ["--delete-offsets", "--group", "parity-share-missing", "--topic", EVENTS],
    ["--delete-offsets", "--group", "parity-share-offsets-a", "--topic", "parity-no-topic"],
    ["--list"],
    ["--list", "--state"],
    ["--list", "--state", "Stable"],
    ["--list", "--state", "empty"],
    ["--describe", "--group", SHARE_LIVE, "--members"],
    ["--describe", "--group", SHARE_LIVE, "--members", "--verbose"],
    ["--describe", "--group", SHARE_LIVE, "--state"],
    ["--describe", "--group", SHARE_LIVE, "--state", "--verbose"],
    ["--describe", "--group", "parity-share-empty-a", "--members"],
    ["--describe", "--all-groups", "--state"],
    ["--describe", "--group", "parity-share-missing", "--state"],
    ["--delete", "--group", SHARE_LIVE],
    ["--delete", "--group", "parity-share-missing"],
    ["--delete", "--group", LIVE_GROUP],
])
def test_share_groups(tools, share_member, args):
    lines = tools.same("share-groups", *args)
    if args == ["--describe", "--group", SHARE_LIVE]:
        assert lines[1].split() == ["GROUP", "TOPIC", "PARTITION", "START-OFFSET"], lines
        assert [row.split()[:3] for row in lines[2:]] == \
            [[SHARE_LIVE, EVENTS, "0"], [SHARE_LIVE, EVENTS, "1"]], lines
    if args == ["--describe", "--group", SHARE_LIVE, "--members"]:
        assert lines[1].split()[:1] == ["GROUP"] and lines[2].split()[0] == SHARE_LIVE, lines
        assert lines[2].split()[-2:] == ["2", "parity-events:0,1"], lines


def test_share_groups_delete(tools, share_member):
    """Each tool deletes one empty share group; both print the same, and the groups are gone."""
    ours = tools.rafka("share-groups", "--delete", "--group", "parity-share-empty-a")
    theirs = tools.kafka("share-groups", "--delete", "--group", "parity-share-empty-b")
    assert (ours.returncode, theirs.returncode) == (0, 0), f"{ours.stderr}\n{theirs.stderr}"
    assert ours.stdout.replace("empty-a", "empty-b") == theirs.stdout
    assert ours.stdout.strip() == \
        "Deletion of requested share groups ('parity-share-empty-a') was successful."
    listed = tools.rafka("share-groups", "--list").stdout.split()
    assert "parity-share-empty-a" not in listed and "parity-share-empty-b" not in listed
    assert SHARE_LIVE in listed


def test_share_groups_delete_offsets(tools, share_member):
    """Each tool deletes the offsets of EVENTS of one empty share group (rafka's of -a,
    Kafka's of -b): both print the same, and neither group has offsets left to show."""
    ours = tools.rafka("share-groups", "--delete-offsets", "--group", "parity-share-offsets-a",
                       "--topic", EVENTS)
    theirs = tools.kafka("share-groups", "--delete-offsets", "--group",
                         "parity-share-offsets-b", "--topic", EVENTS)
    assert (ours.returncode, theirs.returncode) == (0, 0), f"{ours.stderr}\n{theirs.stderr}"
    assert ours.stdout.splitlines() == theirs.stdout.splitlines() == \
        ["", f"{'TOPIC':<15} STATUS", f"{EVENTS:<15} Successful"], \
        f"--- rafka ---\n{ours.stdout}\n--- Kafka ---\n{theirs.stdout}"
    for group in ("parity-share-offsets-a", "parity-share-offsets-b"):
        assert _share_offset_rows(tools, group) == []
    # Nothing left: the same error from both.
    lines = tools.same("share-groups", "--delete-offsets", "--group", "parity-share-offsets-a",
                       "--topic", EVENTS)
    assert lines[-1].split(None, 1) == [EVENTS, "Error: There is no offset information to delete."]


# -- kafka-broker-api-versions, kafka-log-dirs ----------------------------------------

def test_broker_api_versions(tools):
    # Both print what the broker advertises in ApiVersions; no version may differ.
    lines = tools.same("broker-api-versions")
    assert lines[0] == f"{tools.bootstrap} (id: 1 rack: null isFenced: false) -> ("


def test_log_dirs_describe(tools):
    lines = tools.same("log-dirs", "--describe")
    assert lines[:2] == ["Querying brokers for log directories information",
                         "Received log directory information from brokers 1"]
    shape = json.loads(lines[2])
    assert shape["version"] == 1 and [b["broker"] for b in shape["brokers"]] == [1]
    lines = tools.same("log-dirs", "--describe", "--topic-list", f"{ORDERS},{EVENTS}")
    partitions = json.loads(lines[2])["brokers"][0]["logDirs"][0]["partitions"]
    assert sorted(p["partition"] for p in partitions) == \
        sorted([f"{ORDERS}-{i}" for i in range(3)] + [f"{EVENTS}-{i}" for i in range(2)])


def test_metadata_quorum_describe(tools):
    """The single node is the whole quorum: its leader, epoch, high watermark and the one
    voter, as Kafka's tool reads them from DescribeQuorum (it looks the leader up among the
    voters, so a node without a CONTROLLER listener must still list itself)."""
    lines = tools.same("metadata-quorum", "describe", "--status")
    assert lines[1:3] == ["LeaderId:               1", "LeaderEpoch:            1"], lines
    assert lines[-2:] == ['CurrentVoters:          [{"id": 1}]', "CurrentObservers:       []"]
    # --replication prints the voter's fetch times, read once by each tool: compared
    # without those two columns.
    ours = tools.rafka("metadata-quorum", "describe", "--replication")
    theirs = tools.kafka("metadata-quorum", "describe", "--replication")
    assert (ours.returncode, theirs.returncode) == (0, 0), f"{ours.stderr}\n{theirs.stderr}"

    def without_times(text: str) -> list[list[str]]:
        rows = [line.split() for line in text.splitlines()]
        return [row[:4] + row[6:] for row in rows]

    assert without_times(ours.stdout) == without_times(theirs.stdout), \
        f"--- rafka ---\n{ours.stdout}\n--- Kafka ---\n{theirs.stdout}"
    assert without_times(theirs.stdout)[1][0] == "1"
