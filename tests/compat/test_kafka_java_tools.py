"""Apache Kafka's own command-line tools (the Java/Scala ones from Kafka 4.1.1) against rafka.

The tools come from Maven Central (org.apache.kafka:kafka-tools and kafka_2.13, see
tests/clients/kafka-tools/pom.xml); scripts/setup-java.sh resolves them into
tests/clients/kafka-tools/target/classpath.txt. Each is run the way Kafka's bin/*.sh
scripts run it, `java -cp <classpath> <main class> <args>`:

    kafka-topics.sh            org.apache.kafka.tools.TopicCommand
    kafka-console-producer.sh  org.apache.kafka.tools.ConsoleProducer
    kafka-console-consumer.sh  org.apache.kafka.tools.consumer.ConsoleConsumer
    kafka-consumer-groups.sh   org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
    kafka-configs.sh           kafka.admin.ConfigCommand   (still Scala, in kafka_2.13)
    kafka-get-offsets.sh       org.apache.kafka.tools.GetOffsetShell
    kafka-share-groups.sh      org.apache.kafka.tools.consumer.group.ShareGroupCommand

The tests assert on what the tools print, as a person at a terminal would read it.

The console producer runs with the Java producer's defaults: idempotent (InitProducerId).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from compat_helpers import java_default_partition, topic_name, wait_until

ROOT = Path(__file__).resolve().parents[2]
CLASSPATH = ROOT / "tests" / "clients" / "kafka-tools" / "target" / "classpath.txt"
TOOL_TIMEOUT_S = 120

TOPICS = "org.apache.kafka.tools.TopicCommand"
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
CONFIGS = "kafka.admin.ConfigCommand"
GET_OFFSETS = "org.apache.kafka.tools.GetOffsetShell"
SHARE_GROUPS = "org.apache.kafka.tools.consumer.group.ShareGroupCommand"



@pytest.fixture(scope="module")
def java_cmd() -> list[str]:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        pytest.fail("java not found: install a JDK 17+ or set JAVA_HOME", pytrace=False)
    if not CLASSPATH.is_file():
        pytest.fail(f"{CLASSPATH} missing: run scripts/setup-java.sh", pytrace=False)
    # The tools' client warnings go to stderr through slf4j-simple.
    return [java, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", CLASSPATH.read_text().strip()]


class Tools:
    def __init__(self, java_cmd: list[str], bootstrap: str):
        self.java_cmd = java_cmd
        self.bootstrap = bootstrap

    def run(self, main_class: str, *args: str, stdin: str | None = None,
            expect_rc: int | None = 0) -> subprocess.CompletedProcess:
        cmd = self.java_cmd + [main_class, "--bootstrap-server", self.bootstrap, *args]
        shown = f"{main_class.rsplit('.', 1)[1]} {' '.join(args)}"
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                                  timeout=TOOL_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"`{shown}` did not finish in {TOOL_TIMEOUT_S}s\n--- stdout ---\n"
                        f"{e.stdout or ''}\n--- stderr ---\n{e.stderr or ''}", pytrace=False)
        if expect_rc is not None and proc.returncode != expect_rc:
            pytest.fail(f"`{shown}` exited {proc.returncode}, expected {expect_rc}\n"
                        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
                        pytrace=False)
        return proc

    # -- the tools, as their bin/*.sh scripts --------------------------------------------

    def topics(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(TOPICS, *args, **kw)

    def create_topic(self, topic: str, partitions: int, *extra: str) -> None:
        out = self.topics("--create", "--topic", topic, "--partitions", str(partitions),
                          "--replication-factor", "1", *extra).stdout
        assert out.strip() == f"Created topic {topic}."

    def produce(self, topic: str, lines: list[str], *extra: str) -> None:
        self.run(CONSOLE_PRODUCER, "--topic", topic, *extra,
                 stdin="".join(f"{line}\n" for line in lines))

    def produce_keyed(self, topic: str, pairs: list[tuple[str, str]]) -> None:
        self.produce(topic, [f"{k}:{v}" for k, v in pairs],
                     "--property", "parse.key=true", "--property", "key.separator=:")

    def consume(self, topic: str, count: int, *extra: str) -> list[tuple[int, int, str, str]]:
        """(partition, offset, key, value) of `count` records, via --max-messages."""
        proc = self.run(CONSOLE_CONSUMER, "--topic", topic, "--max-messages", str(count),
                        "--timeout-ms", "60000",
                        "--property", "print.partition=true", "--property", "print.offset=true",
                        "--property", "print.key=true", *extra)
        assert f"Processed a total of {count} messages" in proc.stderr, proc.stderr
        records = []
        for line in proc.stdout.splitlines():
            m = re.fullmatch(r"Partition:(\d+)\tOffset:(\d+)\t(.*)\t(.*)", line)
            assert m, f"unexpected console consumer line {line!r}\n{proc.stdout}"
            records.append((int(m[1]), int(m[2]), m[3], m[4]))
        assert len(records) == count, proc.stdout
        return records

    def groups(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(CONSUMER_GROUPS, *args, **kw)

    def describe_group(self, group: str) -> dict[tuple[str, int], dict[str, str]]:
        """(topic, partition) -> the row of `kafka-consumer-groups --describe` by column name;
        empty while the group does not exist yet or is rebalancing (the tool says so on stderr)."""
        proc = self.groups("--describe", "--group", group)
        if not re.search(r"^GROUP\s", proc.stdout, re.M):
            # Kafka 4's DescribeGroups v6 answers GROUP_ID_NOT_FOUND for an unknown group (the
            # tool prints the exception); a classic group between generations is "rebalancing";
            # one whose first member is still between its two JoinGroups (MEMBER_ID_REQUIRED)
            # exists but is Empty: "has no active members".
            # A Stable group with no partition assigned yet and no offsets prints nothing at
            # all (Kafka's ConsumerGroupCommand.shouldPrintMemberState with 0 rows).
            if not (proc.stdout + proc.stderr).strip():
                return {}
            g = re.escape(group)
            assert re.search(rf"GroupIdNotFoundException: Group {g} not found"
                             rf"|Consumer group '{g}' (does not exist|is rebalancing|has no active members)",
                             proc.stdout + proc.stderr), proc.stdout + proc.stderr
            return {}
        return parse_table(proc.stdout, "GROUP", key=lambda row: (row["TOPIC"], int(row["PARTITION"])))

    def configs(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(CONFIGS, *args, **kw)

    def get_offsets(self, *args: str) -> dict[tuple[str, int], int]:
        out = self.run(GET_OFFSETS, *args).stdout
        offsets = {}
        for line in out.splitlines():
            m = re.fullmatch(r"(.+):(\d+):(-?\d+)", line)
            assert m, f"unexpected GetOffsetShell line {line!r}\n{out}"
            offsets[(m[1], int(m[2]))] = int(m[3])
        return offsets


def parse_table(out: str, first_column: str, key) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    header_at = next((i for i, line in enumerate(lines) if line.split()[:1] == [first_column]), None)
    assert header_at is not None, f"no table with a {first_column} column in:\n{out}"
    columns = lines[header_at].split()
    rows = {}
    for line in lines[header_at + 1:]:
        cells = line.split()
        assert len(cells) == len(columns), f"row {line!r} does not match columns {columns}"
        row = dict(zip(columns, cells))
        rows[key(row)] = row
    return rows


def describe_topic(tools: Tools, topic: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """kafka-topics --describe: the topic line's fields and one dict per partition line."""
    out = tools.topics("--describe", "--topic", topic).stdout
    lines = out.splitlines()
    fields = [dict(re.findall(r"(\w+): ?([^\t]*)", line)) for line in lines]
    assert fields and "PartitionCount" in fields[0], out
    return fields[0], fields[1:]


@pytest.fixture(scope="module")
def tools(broker, java_cmd) -> Tools:
    return Tools(java_cmd, broker.bootstrap)


def test_topics_create_list_describe_alter_delete(tools):
    topic = topic_name("tools-topics")
    tools.create_topic(topic, 3, "--config", "retention.ms=3600000")

    listed = tools.topics("--list").stdout.split()
    assert topic in listed

    head, partitions = describe_topic(tools, topic)
    assert head["Topic"] == topic
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", head["TopicId"]), head
    assert (head["PartitionCount"], head["ReplicationFactor"]) == ("3", "1")
    configs = dict(c.split("=", 1) for c in head["Configs"].split(","))
    assert configs["retention.ms"] == "3600000"
    assert configs["segment.bytes"] == "1048576"  # the broker's log.segment.bytes
    assert [(p["Partition"], p["Leader"], p["Replicas"], p["Isr"]) for p in partitions] == \
        [(str(i), "1", "1", "1") for i in range(3)]

    again = tools.topics("--create", "--topic", topic, "--partitions", "1", expect_rc=1)
    assert f"Topic '{topic}' already exists." in again.stdout

    tools.topics("--alter", "--topic", topic, "--partitions", "5")
    def five_partitions():
        head, partitions = describe_topic(tools, topic)
        return (head, partitions) if head["PartitionCount"] == "5" else None

    head, partitions = wait_until(five_partitions, what="5 partitions after --alter")
    assert [(p["Partition"], p["Leader"]) for p in partitions] == [(str(i), "1") for i in range(5)]
    fewer = tools.topics("--alter", "--topic", topic, "--partitions", "2", expect_rc=1)
    assert "InvalidPartitionsException" in fewer.stdout + fewer.stderr

    tools.topics("--delete", "--topic", topic)
    wait_until(lambda: topic not in tools.topics("--list").stdout.split(), what="topic deleted")
    gone = tools.topics("--describe", "--topic", topic, expect_rc=1)
    assert f"Topic '{topic}' does not exist as expected" in gone.stdout


def test_console_producer_and_consumer_with_keys(tools):
    topic = topic_name("tools-console")
    tools.create_topic(topic, 2)
    pairs = [(f"key-{i % 7}", f"value-{i}") for i in range(30)]
    tools.produce_keyed(topic, pairs)

    records = tools.consume(topic, len(pairs), "--from-beginning")
    # Each key lands where Kafka's partitioner puts it; offsets follow the input order.
    expected = []
    next_offset = Counter()
    for key, value in pairs:
        p = java_default_partition(key.encode(), 2)
        expected.append((p, next_offset[p], key, value))
        next_offset[p] += 1
    assert sorted(records) == sorted(expected)
    for p in (0, 1):  # each partition is read in offset order
        assert [r for r in records if r[0] == p] == [r for r in expected if r[0] == p]

    # Values without keys (the producer's default line reader), read back without keys.
    plain = topic_name("tools-console-plain")
    tools.create_topic(plain, 1)
    tools.produce(plain, [f"line {i}" for i in range(5)])
    out = tools.run(CONSOLE_CONSUMER, "--topic", plain, "--from-beginning", "--max-messages", "5",
                    "--timeout-ms", "60000").stdout
    assert out.splitlines() == [f"line {i}" for i in range(5)]


def test_consumer_groups_list_describe_and_reset(tools):
    topic = topic_name("tools-groups")
    group = topic_name("tools-group")
    tools.create_topic(topic, 2)
    pairs = [(f"k{i}", f"v{i}") for i in range(12)]
    tools.produce_keyed(topic, pairs)
    per_partition = Counter(java_default_partition(k.encode(), 2) for k, _ in pairs)
    assert set(per_partition) == {0, 1}, "both partitions get records"

    first = tools.consume(topic, len(pairs), "--from-beginning", "--group", group)
    assert sorted(v for *_, v in first) == sorted(v for _, v in pairs)

    assert group in tools.groups("--list").stdout.split()
    rows = tools.describe_group(group)
    assert set(rows) == {(topic, 0), (topic, 1)}
    for (_, p), row in rows.items():
        n = str(per_partition[p])
        assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == (n, n, "0"), row
        assert row["CONSUMER-ID"] == "-"  # the console consumer has left

    more = [(f"k{i}", f"v{i}") for i in range(12, 20)]
    tools.produce_keyed(topic, more)
    added = Counter(java_default_partition(k.encode(), 2) for k, _ in more)
    rows = tools.describe_group(group)
    for (_, p), row in rows.items():
        assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == \
            (str(per_partition[p]), str(per_partition[p] + added[p]), str(added[p])), row

    # The group resumes at its committed offsets: only the new records.
    second = tools.consume(topic, len(more), "--group", group)
    assert sorted(v for *_, v in second) == sorted(v for _, v in more)

    reset = tools.groups("--reset-offsets", "--group", group, "--topic", topic,
                         "--to-earliest", "--execute").stdout
    reset_rows = parse_table(reset, "GROUP", key=lambda row: (row["TOPIC"], int(row["PARTITION"])))
    assert {k: row["NEW-OFFSET"] for k, row in reset_rows.items()} == {(topic, 0): "0", (topic, 1): "0"}
    rows = tools.describe_group(group)
    for (_, p), row in rows.items():
        end = str(per_partition[p] + added[p])
        assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == ("0", end, end), row

    # After the reset the group reads everything again.
    total = len(pairs) + len(more)
    third = tools.consume(topic, total, "--group", group)
    assert sorted(v for *_, v in third) == sorted(v for _, v in pairs + more)
    rows = tools.describe_group(group)
    assert all(row["LAG"] == "0" for row in rows.values()), rows


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_consumer_groups_describe_an_active_member(tools, tmp_path, protocol):
    """A console consumer left running in a group: --describe, --members and --state show it."""
    topic = topic_name(f"tools-live-{protocol}")
    group = topic_name(f"tools-live-group-{protocol}")
    client_id = f"live-{protocol}"
    tools.create_topic(topic, 2)
    pairs = [(f"k{i}", f"v{i}") for i in range(10)]
    tools.produce_keyed(topic, pairs)
    per_partition = Counter(java_default_partition(k.encode(), 2) for k, _ in pairs)

    out_path = tmp_path / "console-consumer.out"
    with open(out_path, "w") as out:
        live = subprocess.Popen(
            tools.java_cmd + [CONSOLE_CONSUMER, "--bootstrap-server", tools.bootstrap,
                              "--topic", topic, "--group", group, "--from-beginning",
                              "--consumer-property", f"group.protocol={protocol}",
                              "--consumer-property", f"client.id={client_id}",
                              "--consumer-property", "auto.commit.interval.ms=200"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def caught_up():
            rows = tools.describe_group(group)
            done = set(rows) == {(topic, 0), (topic, 1)} and all(
                row["CONSUMER-ID"] != "-" and row["LAG"] == "0" for row in rows.values())
            return rows if done else None

        rows = wait_until(caught_up, timeout_s=60, what=f"{group} consumed everything")
        for (_, p), row in rows.items():
            n = str(per_partition[p])
            assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"]) == (n, n), row
            assert (row["HOST"], row["CLIENT-ID"]) == ("/127.0.0.1", client_id), row
        (member_id,) = {row["CONSUMER-ID"] for row in rows.values()}

        members = parse_table(tools.groups("--describe", "--group", group, "--members").stdout,
                              "GROUP", key=lambda row: row["CONSUMER-ID"])
        assert list(members) == [member_id]
        assert (members[member_id]["CLIENT-ID"], members[member_id]["#PARTITIONS"]) == (client_id, "2")

        state = tools.groups("--describe", "--group", group, "--state").stdout
        m = re.search(rf"^{re.escape(group)}\s+(\S+)\s+\((\d+)\)\s+(\S+)\s+(\S+)\s+(\d+)\s*$", state, re.M)
        assert m, state
        assert m[1] == tools.bootstrap and m[2] == "1", state  # COORDINATOR (ID)
        # The Java consumer's first classic assignor is range; the broker's default is uniform.
        assert m[3] == {"classic": "range", "consumer": "uniform"}[protocol], state
        assert (m[4], m[5]) == ("Stable", "1"), state
    finally:
        live.send_signal(signal.SIGTERM)  # the console consumer leaves the group on SIGTERM
        try:
            live.wait(timeout=30)
        except subprocess.TimeoutExpired:
            live.kill()
            live.wait()
    consumed = [line for line in out_path.read_text().splitlines() if line.startswith("v")]
    assert sorted(consumed) == sorted(v for _, v in pairs), out_path.read_text()

    def left():
        rows = tools.describe_group(group)
        return rows if all(row["CONSUMER-ID"] == "-" for row in rows.values()) else None

    rows = wait_until(left, timeout_s=60, what=f"the member left {group}")
    assert {p: row["CURRENT-OFFSET"] for (_, p), row in rows.items()} == \
        {p: str(per_partition[p]) for p in (0, 1)}


def test_configs_describe_and_alter_a_topic(tools):
    topic = topic_name("tools-configs")
    tools.create_topic(topic, 1, "--config", "retention.ms=3600000")
    entity = ["--entity-type", "topics", "--entity-name", topic]

    def dynamic_configs() -> dict[str, str]:
        out = tools.configs("--describe", *entity).stdout
        lines = out.splitlines()
        assert lines[0] == f"Dynamic configs for topic {topic} are:", out
        return dict(re.match(r"\s+([^=]+)=(\S*) sensitive=false", line).groups() for line in lines[1:])

    assert dynamic_configs() == {"retention.ms": "3600000"}

    out = tools.configs("--alter", *entity,
                        "--add-config", "retention.ms=7200000,max.message.bytes=65536").stdout
    assert out.strip() == f"Completed updating config for topic {topic}."
    assert dynamic_configs() == {"retention.ms": "7200000", "max.message.bytes": "65536"}

    # kafka-topics reads the same configs back.
    head, _ = describe_topic(tools, topic)
    configs = dict(c.split("=", 1) for c in head["Configs"].split(","))
    assert (configs["retention.ms"], configs["max.message.bytes"]) == ("7200000", "65536")

    tools.configs("--alter", *entity, "--delete-config", "retention.ms")
    assert dynamic_configs() == {"max.message.bytes": "65536"}

    everything = tools.configs("--describe", "--all", *entity).stdout
    assert everything.splitlines()[0] == f"All configs for topic {topic} are:"
    assert re.search(r"^\s+retention\.ms=604800000 ", everything, re.M), everything
    assert re.search(r"^\s+segment\.bytes=1048576 ", everything, re.M), everything
    assert re.search(r"^\s+cleanup\.policy=delete ", everything, re.M), everything


def test_get_offsets(tools):
    topic = topic_name("tools-offsets")
    tools.create_topic(topic, 3)
    pairs = [(f"key-{i}", f"value-{i}") for i in range(40)]
    tools.produce_keyed(topic, pairs)
    counts = Counter(java_default_partition(k.encode(), 3) for k, _ in pairs)

    latest = {(topic, p): counts[p] for p in range(3)}
    assert tools.get_offsets("--topic", topic) == latest
    assert tools.get_offsets("--topic", topic, "--time", "-1") == latest
    assert tools.get_offsets("--topic", topic, "--time", "latest") == latest
    assert tools.get_offsets("--topic", topic, "--time", "-2") == {(topic, p): 0 for p in range(3)}
    assert tools.get_offsets("--topic", topic, "--partitions", "0,2") == \
        {(topic, 0): counts[0], (topic, 2): counts[2]}
    # --topic is a regular expression over all topics.
    other = topic_name("tools-offsets-other")
    tools.create_topic(other, 1)
    tools.produce(other, ["a", "b"])
    both = tools.get_offsets("--topic", f"{topic}|{other}")
    assert both == {**latest, (other, 0): 2}


def test_share_groups_listed_and_described_by_kafkas_tool(tools):
    """Kafka's kafka-share-groups.sh (ShareGroupCommand) reads a rafka share group through
    Kafka's Admin client: ListGroups with the share type, ShareGroupDescribe."""
    from confluent_kafka import ShareConsumer

    topic, group = topic_name("java-share-tool"), topic_name("share-group")
    tools.create_topic(topic, 1)
    consumer = ShareConsumer({"bootstrap.servers": tools.bootstrap, "group.id": group})
    consumer.subscribe([topic])
    try:
        def member_listed():
            consumer.poll(0.2)
            out = tools.run(SHARE_GROUPS, "--describe", "--group", group, "--members",
                            expect_rc=None).stdout
            # As in Kafka, the member's first heartbeat carries no partitions (their
            # share state is initialized first); the next one assigns them.
            pattern = rf"^{re.escape(group)}\s.*\s{re.escape(topic)}:0\s*$"
            return out if re.search(pattern, out, re.M) else None

        members = wait_until(member_listed, 60, "the share group's member described")
        rows = parse_table(members, "GROUP", key=lambda row: row["GROUP"])
        assert rows[group]["ASSIGNMENT"] == f"{topic}:0", members
        assert rows[group]["CLIENT-ID"] and rows[group]["CONSUMER-ID"], members

        listed = tools.run(SHARE_GROUPS, "--list").stdout.split()
        assert group in listed, listed
        state = tools.run(SHARE_GROUPS, "--describe", "--group", group, "--state").stdout
        # GROUP  COORDINATOR (ID)  STATE  #MEMBERS: the coordinator column has a space.
        assert re.search(r"^GROUP\s+COORDINATOR \(ID\)\s+STATE\s+#MEMBERS\s*$", state, re.M), state
        assert re.search(rf"^{re.escape(group)}\s+127\.0\.0\.1:\d+\s+\(1\)\s+Stable\s+1\s*$",
                         state, re.M), state
    finally:
        consumer.close()


def test_share_group_state_reads_as_kafkas_records(tools):
    """`__share_group_state` holds Kafka's ShareSnapshot/ShareUpdate records: Kafka's own
    ShareGroupStateMessageFormatter (kafka-console-consumer.sh) decodes what a rafka share
    group's acknowledgements wrote."""
    import json

    from confluent_kafka import ShareConsumer

    topic, group = topic_name("java-share-state"), topic_name("share-group")
    tools.create_topic(topic, 1)
    tools.run(CONFIGS, "--alter", "--entity-type", "groups", "--entity-name", group,
              "--add-config", "share.auto.offset.reset=earliest")
    tools.produce(topic, ["one", "two", "three"])
    consumer = ShareConsumer({"bootstrap.servers": tools.bootstrap, "group.id": group})
    consumer.subscribe([topic])
    try:
        got: list[str] = []
        wait_until(lambda: got.extend(m.value().decode() for m in consumer.poll(0.5)) or
                   len(got) >= 3, 60, "the three records")
        consumer.commit_sync(30)
    finally:
        consumer.close()
    proc = tools.run(CONSOLE_CONSUMER, "--topic", "__share_group_state", "--from-beginning",
                     "--timeout-ms", "10000", "--formatter",
                     "org.apache.kafka.tools.consumer.group.share.ShareGroupStateMessageFormatter",
                     expect_rc=None)
    # The formatter writes one JSON object per record, without separators.
    decoder, text, records = json.JSONDecoder(), proc.stdout.strip(), []
    while text:
        record, end = decoder.raw_decode(text)
        records.append(record)
        text = text[end:].lstrip()
    ours = [r for r in records if r["key"]["data"]["groupId"] == group]
    assert ours, proc.stdout + proc.stderr
    # The first is the initializing snapshot (type 0), at the earliest offset, no batches.
    first = ours[0]
    assert first["key"]["type"] == 0, first
    assert first["value"]["data"]["startOffset"] == 0, first
    # The last says all three are done: the start offset moved past them.
    last = ours[-1]["value"]["data"]
    assert last["startOffset"] == 3, ours
