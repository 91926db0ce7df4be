"""Share groups (KIP-932, "Kafka as a queue") with confluent-kafka's ShareConsumer
(librdkafka 2.16): several consumers of one share group split a topic's records, each
record delivered once while all accept; a released record comes back with a higher
delivery count, a rejected one never does, and one released too often is archived.

Absence is checked without sleeping: records are fetched lowest offset first, so once a
record produced after the one in question arrives, a redelivery would have come first."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import AcknowledgeType, Producer, ShareConsumer
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ResourceType)

from compat_helpers import (confluent_admin, confluent_create_topic, topic_name,
                            wait_until)
from oracle import RawClient, share_messages  # noqa: F401 - share_messages is a fixture

DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def admin(broker):
    return confluent_admin(broker.bootstrap)


def start_from_earliest(admin, group: str, reset: str = "earliest", **more: str) -> None:
    """share.auto.offset.reset (and `more` share.* keys, `_` for `.`), as group configs
    (Kafka's only place for them)."""
    configs = {"share.auto.offset.reset": reset,
               **{k.replace("_", "."): v for k, v in more.items()}}
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
        for k, v in configs.items()])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=15)


def produce(bootstrap: str, topic: str, values: list[bytes], partition: int | None = None):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for v in values:
        if partition is None:
            producer.produce(topic, value=v, key=v)
        else:
            producer.produce(topic, value=v, key=v, partition=partition)
    assert producer.flush(15) == 0


def share_consumer(bootstrap: str, group: str, topic: str, explicit: bool = False):
    config = {"bootstrap.servers": bootstrap, "group.id": group}
    if explicit:
        config["share.acknowledgement.mode"] = "explicit"
    consumer = ShareConsumer(config)
    consumer.subscribe([topic])
    return consumer


def poll_messages(consumer, timeout_s: float = 0.5):
    out = []
    for m in consumer.poll(timeout_s):
        assert m.error() is None, f"share consumer error: {m.error()}"
        out.append(m)
    return out


def test_consumers_of_a_share_group_split_the_records_none_twice(broker, admin):
    topic = topic_name("share-split")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=2)
    start_from_earliest(admin, group)
    consumers = [share_consumer(broker.bootstrap, group, topic) for _ in range(3)]
    try:
        expected: list[bytes] = []
        seen: list[bytes] = []
        by_consumer = [0, 0, 0]

        def poll_all():
            for i, c in enumerate(consumers):
                got = poll_messages(c, 0.2)
                by_consumer[i] += len(got)
                seen.extend(m.value() for m in got)
                for m in got:
                    assert m.delivery_count() == 1, f"redelivered: {m.value()!r}"

        # The members join one by one and a first member holds both partitions until
        # the others are assigned theirs: records keep coming, 50 at a time, until the
        # group's split shows (two partitions, three members: at least two consume).
        def split_shows():
            batch = [b"rec-%04d" % (len(expected) + i) for i in range(50)]
            produce(broker.bootstrap, topic, batch)
            expected.extend(batch)
            poll_all()
            return sum(1 for n in by_consumer if n > 0) >= 2

        wait_until(split_shows, timeout_s=DEADLINE_S, what="two members consuming",
                   interval_s=0)
        wait_until(lambda: poll_all() or len(seen) >= len(expected), timeout_s=DEADLINE_S,
                   what="every record, once", interval_s=0)
        assert sorted(seen) == sorted(expected), "records lost or delivered twice"
        # Acknowledge the last poll, then nothing more comes.
        for c in consumers:
            c.commit_sync(15)
        produce(broker.bootstrap, topic, [b"marker"], partition=0)
        extra: list[bytes] = []

        def marker_seen():
            for c in consumers:
                extra.extend(m.value() for m in poll_messages(c, 0.2))
            return b"marker" in extra

        wait_until(marker_seen, timeout_s=DEADLINE_S, what="the marker", interval_s=0)
        assert extra == [b"marker"], f"redelivered after acceptance: {extra}"
    finally:
        for c in consumers:
            c.close()


def test_release_redelivers_with_a_higher_delivery_count(broker, admin):
    topic = topic_name("share-release")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group)
    produce(broker.bootstrap, topic, [b"a", b"b", b"c"])
    consumer = share_consumer(broker.bootstrap, group, topic, explicit=True)
    try:
        first: list = []
        wait_until(lambda: first.extend(poll_messages(consumer)) or len(first) == 3,
                   timeout_s=DEADLINE_S, what="three records", interval_s=0)
        assert [(m.value(), m.delivery_count()) for m in first] == \
            [(b"a", 1), (b"b", 1), (b"c", 1)]
        consumer.acknowledge(first[0], AcknowledgeType.ACCEPT)
        consumer.acknowledge(first[1], AcknowledgeType.RELEASE)
        consumer.acknowledge(first[2], AcknowledgeType.ACCEPT)
        consumer.commit_sync(15)
        again: list = []
        wait_until(lambda: again.extend(poll_messages(consumer)) or again,
                   timeout_s=DEADLINE_S, what="the released record", interval_s=0)
        assert [(m.value(), m.offset(), m.delivery_count()) for m in again] == \
            [(b"b", first[1].offset(), 2)]
        consumer.acknowledge(again[0], AcknowledgeType.ACCEPT)
        consumer.commit_sync(15)
    finally:
        consumer.close()


def test_reject_archives_the_record(broker, admin):
    topic = topic_name("share-reject")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group)
    produce(broker.bootstrap, topic, [b"bad", b"good"])
    consumer = share_consumer(broker.bootstrap, group, topic, explicit=True)
    try:
        first: list = []
        wait_until(lambda: first.extend(poll_messages(consumer)) or len(first) == 2,
                   timeout_s=DEADLINE_S, what="two records", interval_s=0)
        consumer.acknowledge(first[0], AcknowledgeType.REJECT)
        consumer.acknowledge(first[1], AcknowledgeType.ACCEPT)
        consumer.commit_sync(15)
        produce(broker.bootstrap, topic, [b"marker"])
        later: list = []

        def marker_seen():
            got = poll_messages(consumer)
            later.extend(got)
            for m in got:
                consumer.acknowledge(m, AcknowledgeType.ACCEPT)
            return any(m.value() == b"marker" for m in later)

        wait_until(marker_seen, timeout_s=DEADLINE_S, what="the marker", interval_s=0)
        assert [m.value() for m in later] == [b"marker"]
        consumer.commit_sync(15)
    finally:
        consumer.close()


def test_delivery_count_limit_archives_a_poison_record(broker, admin):
    """group.share.delivery.count.limit is 5 by default: released for the fifth time,
    the record is archived instead of delivered a sixth time."""
    topic = topic_name("share-poison")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group)
    produce(broker.bootstrap, topic, [b"poison"])
    consumer = share_consumer(broker.bootstrap, group, topic, explicit=True)
    try:
        counts = []
        for attempt in range(1, 6):
            got: list = []
            wait_until(lambda: got.extend(poll_messages(consumer)) or got,
                       timeout_s=DEADLINE_S, what=f"delivery {attempt}", interval_s=0)
            assert [m.value() for m in got] == [b"poison"]
            counts.append(got[0].delivery_count())
            consumer.acknowledge(got[0], AcknowledgeType.RELEASE)
            consumer.commit_sync(15)
        assert counts == [1, 2, 3, 4, 5]
        produce(broker.bootstrap, topic, [b"marker"])
        later: list = []

        def marker_seen():
            got = poll_messages(consumer)
            later.extend(got)
            for m in got:
                consumer.acknowledge(m, AcknowledgeType.ACCEPT)
            return any(m.value() == b"marker" for m in later)

        wait_until(marker_seen, timeout_s=DEADLINE_S, what="the marker", interval_s=0)
        assert [m.value() for m in later] == [b"marker"]
        consumer.commit_sync(15)
    finally:
        consumer.close()


def test_share_group_is_listed_with_its_type(broker, admin):
    topic = topic_name("share-list")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    consumer = share_consumer(broker.bootstrap, group, topic)
    try:
        # confluent-kafka 2.16's admin knows no SHARE group type (list_consumer_groups
        # keeps consumer-protocol groups, list_groups reads protocol types from
        # DescribeGroups, which answers a share group "not a classic group" as Kafka
        # 4.1 does): ListGroups v5 is asked directly, as Kafka's kafka-groups.sh does.
        def listed():
            poll_messages(consumer, 0.2)
            with RawClient("127.0.0.1", broker.port) as raw:
                answer = raw.request("ListGroups", 5, states_filter=[], types_filter=["share"])
            return [g for g in answer["groups"] if g["group_id"] == group]

        groups = wait_until(listed, timeout_s=DEADLINE_S, what="the share group listed")
        assert (groups[0]["group_type"], groups[0]["protocol_type"]) == ("share", "share")
        assert groups[0]["group_state"] in ("Empty", "Stable"), groups[0]
        with RawClient("127.0.0.1", broker.port) as raw:
            consumer_groups = raw.request("ListGroups", 5, states_filter=[],
                                          types_filter=["consumer", "classic"])
        assert group not in [g["group_id"] for g in consumer_groups["groups"]]
        classic = admin.list_consumer_groups().result(timeout=15)
        assert group not in [g.group_id for g in classic.valid], "not a consumer group"
        # A classic member cannot join a share group's id (GROUP_ID_NOT_FOUND, as Kafka).
        with RawClient("127.0.0.1", broker.port) as raw:
            joined = raw.request("JoinGroup", 9, group_id=group, session_timeout_ms=10000,
                                 rebalance_timeout_ms=10000, member_id="",
                                 group_instance_id=None, protocol_type="consumer",
                                 protocols=[{"name": "range", "metadata": b""}], reason=None)
        assert joined["error_code"] == 69, joined
    finally:
        consumer.close()


def test_read_committed_never_delivers_aborted_records(broker, admin):
    topic = topic_name("share-txn")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group, share_isolation_level="read_committed")
    producer = Producer({"bootstrap.servers": broker.bootstrap,
                         "transactional.id": topic_name("share-txn-producer")})
    producer.init_transactions(15)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, value=b"aborted-%d" % i, partition=0)
    producer.flush(15)
    producer.abort_transaction(15)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, value=b"committed-%d" % i, partition=0)
    producer.commit_transaction(15)
    consumer = share_consumer(broker.bootstrap, group, topic)
    try:
        seen: list[bytes] = []

        def committed_seen():
            seen.extend(m.value() for m in poll_messages(consumer))
            return len(seen) >= 5

        wait_until(committed_seen, timeout_s=DEADLINE_S, what="the committed records",
                   interval_s=0)
        assert seen == [b"committed-%d" % i for i in range(5)], seen
        # Nothing of the aborted transaction comes later either: a marker produced after
        # them all arrives alone.
        produce(broker.bootstrap, topic, [b"marker"], partition=0)
        later: list[bytes] = []

        def marker_seen():
            later.extend(m.value() for m in poll_messages(consumer))
            return b"marker" in later

        wait_until(marker_seen, timeout_s=DEADLINE_S, what="the marker", interval_s=0)
        assert later == [b"marker"], later
        consumer.commit_sync(15)
    finally:
        consumer.close()


def test_by_duration_starts_at_the_first_record_of_the_window(broker, admin):
    topic = topic_name("share-duration")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group, reset="by_duration:PT1H")
    now_ms = int(time.time() * 1000)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(3):
        producer.produce(topic, value=b"old-%d" % i, partition=0, timestamp=now_ms - 7_200_000)
    for i in range(3):
        producer.produce(topic, value=b"new-%d" % i, partition=0, timestamp=now_ms)
    assert producer.flush(15) == 0
    consumer = share_consumer(broker.bootstrap, group, topic)
    try:
        seen: list[bytes] = []

        def recent_seen():
            seen.extend(m.value() for m in poll_messages(consumer))
            return len(seen) >= 3

        wait_until(recent_seen, timeout_s=DEADLINE_S, what="the records of the last hour",
                   interval_s=0)
        assert seen == [b"new-0", b"new-1", b"new-2"], seen
        consumer.commit_sync(15)
    finally:
        consumer.close()


def test_records_of_a_silent_member_come_back_when_their_lock_runs_out(broker, admin):
    """A member that acquired records and never acknowledges them (stuck or killed) loses
    them when share.record.lock.duration.ms runs out; another member gets them, with
    delivery count 2, from a fetch that was already waiting."""
    topic = topic_name("share-lock")
    group = topic_name("share-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group, share_record_lock_duration_ms="15000")
    produce(broker.bootstrap, topic, [b"locked-%d" % i for i in range(3)], partition=0)
    silent = share_consumer(broker.bootstrap, group, topic, explicit=True)
    other = share_consumer(broker.bootstrap, group, topic)
    try:
        held: list[bytes] = []

        def silent_holds_them():
            held.extend(m.value() for m in poll_messages(silent))
            return len(held) >= 3

        wait_until(silent_holds_them, timeout_s=DEADLINE_S, what="the silent member's records",
                   interval_s=0)
        started = time.monotonic()
        again = []

        def redelivered():
            again.extend(poll_messages(other))
            return len(again) >= 3

        wait_until(redelivered, timeout_s=DEADLINE_S, what="the records after their locks ran out",
                   interval_s=0)
        assert sorted(m.value() for m in again) == sorted(held)
        assert {m.delivery_count() for m in again} == {2}
        assert time.monotonic() - started >= 10, "redelivered before the lock ran out"
    finally:
        other.close()
        silent.close()


# -- share-group offsets: DescribeShareGroupOffsets, AlterShareGroupOffsets,
# DeleteShareGroupOffsets through rafka's kafka-share-groups.sh ------------------------

def share_groups_tool(broker, *args: str):
    import subprocess

    from conftest import rafka_bin
    return subprocess.run([str(rafka_bin()), "share-groups", "--bootstrap-server",
                           broker.bootstrap, *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def wait_share_group_empty(broker, group: str) -> None:
    """Until kafka-share-groups.sh --describe --state says the group is Empty."""
    def empty():
        out = share_groups_tool(broker, "--describe", "--group", group, "--state").stdout
        return any(line.split()[:1] == [group] and "Empty" in line.split()
                   for line in out.splitlines())

    wait_until(empty, timeout_s=DEADLINE_S, what=f"share group {group} empty")


def start_offsets(broker, group: str) -> dict[tuple[str, int], str]:
    """`--describe` (the offsets view): START-OFFSET by (topic, partition)."""
    out = share_groups_tool(broker, "--describe", "--group", group)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
    assert rows and rows[0] == ["GROUP", "TOPIC", "PARTITION", "START-OFFSET"], out.stdout
    return {(r[1], int(r[2])): r[3] for r in rows[1:] if r[0] == group}


def consume_all(consumer, want: int) -> list[bytes]:
    got: list[bytes] = []
    wait_until(lambda: got.extend(m.value() for m in poll_messages(consumer)) or
               len(got) >= want, timeout_s=DEADLINE_S, what=f"{want} records", interval_s=0)
    return got


def consume_and_leave(bootstrap: str, group: str, topic: str, want: int) -> list[bytes]:
    """A share consumer of the group accepts `want` records, commits and leaves."""
    consumer = share_consumer(bootstrap, group, topic)
    try:
        got = consume_all(consumer, want)
        consumer.commit_sync(15)
        return got
    finally:
        consumer.close()


def test_share_group_offsets_described_reset_and_deleted(broker, admin):
    """A share consumer accepts five records: the start offset moves to 5. While it is a
    member the offsets cannot be reset (the tool says the group is not empty, and the
    offsets stay); once it left, --reset-offsets --to-earliest --execute sets them to 0
    and a new share consumer of the group gets the five records again. --delete-offsets
    then deletes the group's state for the topic: nothing left to describe, nothing to
    delete a second time."""
    topic, group = topic_name("share-offsets"), topic_name("share-offsets-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group)
    values = [b"rec-%d" % i for i in range(5)]
    produce(broker.bootstrap, topic, values)
    first = share_consumer(broker.bootstrap, group, topic)
    try:
        assert sorted(consume_all(first, 5)) == values
        first.commit_sync(15)
        wait_until(lambda: start_offsets(broker, group) == {(topic, 0): "5"},
                   timeout_s=DEADLINE_S, what="start offset 5")
        refused = share_groups_tool(broker, "--reset-offsets", "--group", group, "--topic",
                                    topic, "--to-earliest", "--execute")
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.strip() == f"Share group '{group}' is not empty."
        refused = share_groups_tool(broker, "--delete-offsets", "--group", group,
                                    "--topic", topic)
        assert refused.stdout.splitlines() == [
            "", "Error: The group is not empty.", "",
            f"{'TOPIC':<{max(15, len(topic))}} STATUS",
            f"{topic:<{max(15, len(topic))}} Error: The group is not empty."], refused.stdout
        assert start_offsets(broker, group) == {(topic, 0): "5"}
    finally:
        first.close()

    wait_share_group_empty(broker, group)
    width = max(15, len(group)), max(15, len(topic))
    plan = ["", f"{'GROUP':<{width[0]}} {'TOPIC':<{width[1]}} {'PARTITION':<10} NEW-OFFSET",
            f"{group:<{width[0]}} {topic:<{width[1]}} {'0':<10} 0"]
    dry = share_groups_tool(broker, "--reset-offsets", "--group", group, "--all-topics",
                            "--to-earliest", "--dry-run")
    assert (dry.returncode, dry.stdout.splitlines()) == (0, plan), dry.stderr
    assert start_offsets(broker, group) == {(topic, 0): "5"}, "a dry run changed nothing"
    done = share_groups_tool(broker, "--reset-offsets", "--group", group, "--topic", topic,
                             "--to-earliest", "--execute")
    assert (done.returncode, done.stdout.splitlines()) == (0, plan), done.stderr
    assert start_offsets(broker, group) == {(topic, 0): "0"}

    again = consume_and_leave(broker.bootstrap, group, topic, 5)
    assert sorted(again) == values, f"after the reset: {again}"
    wait_share_group_empty(broker, group)

    deleted = share_groups_tool(broker, "--delete-offsets", "--group", group, "--topic", topic)
    assert deleted.stdout.splitlines() == [
        "", f"{'TOPIC':<{width[1]}} STATUS", f"{topic:<{width[1]}} Successful"], deleted.stdout
    assert start_offsets(broker, group) == {}
    again = share_groups_tool(broker, "--delete-offsets", "--group", group, "--topic", topic)
    assert again.stdout.splitlines() == [
        "", f"{'TOPIC':<{width[1]}} STATUS",
        f"{topic:<{width[1]}} Error: There is no offset information to delete."], again.stdout


# -- durable membership: a share group's records in __consumer_offsets ------------------

def share_heartbeat(port: int, group: str, member: str, epoch: int,
                    topics: list[str] | None = None) -> dict:
    with RawClient("127.0.0.1", port) as raw:
        return raw.request("ShareGroupHeartbeat", 1, group_id=group, member_id=member,
                           member_epoch=epoch, rack_id=None, subscribed_topic_names=topics)


def share_describe(port: int, group: str) -> dict:
    with RawClient("127.0.0.1", port) as raw:
        answer = raw.request("ShareGroupDescribe", 1, group_ids=[group],
                             include_authorized_operations=False)
    return answer["groups"][0]


def listed_share_groups(port: int) -> dict[str, str]:
    with RawClient("127.0.0.1", port) as raw:
        answer = raw.request("ListGroups", 5, states_filter=[], types_filter=["share"])
    return {g["group_id"]: g["group_state"] for g in answer["groups"]}


def test_share_groups_and_their_members_outlive_a_broker_kill(tmp_path, share_messages):
    """Kafka keeps share groups in __consumer_offsets: after `kill -9` and a restart an
    idle group is still listed (Empty, its epochs kept) and can be deleted; a member
    that was in a group when the broker died is still there with its epoch and
    assignment, carries on heartbeating without joining again, and a member that never
    comes back expires after the session timeout. (Before, the groups were in memory:
    the idle group was gone, and every member had to join a new group.)"""
    from conftest import Broker

    broker = Broker(tmp_path, {"group.share.session.timeout.ms": "6000",
                               "group.share.heartbeat.interval.ms": "1000"})
    broker.start()
    try:
        admin = confluent_admin(broker.bootstrap)
        topic = topic_name("share-durable")
        idle, busy = topic_name("share-idle"), topic_name("share-busy")
        confluent_create_topic(admin, topic, partitions=2)
        start_from_earliest(admin, idle)
        values = [b"d-%d" % i for i in range(4)]
        produce(broker.bootstrap, topic, values)
        assert sorted(consume_and_leave(broker.bootstrap, idle, topic, 4)) == values
        wait_share_group_empty(broker, idle)
        idle_before = share_describe(broker.port, idle)
        assert idle_before["group_epoch"] >= 2, idle_before

        # Two members by raw heartbeats: "stays" keeps heartbeating across the kill,
        # "vanishes" never heartbeats again.
        share_heartbeat(broker.port, busy, "stays", 0, [topic])
        share_heartbeat(broker.port, busy, "vanishes", 0, [topic])

        def settled():
            a = share_heartbeat(broker.port, busy, "stays", epoch_of("stays"))
            assert a["error_code"] == 0, a
            group = share_describe(broker.port, busy)
            members = {m["member_id"]: m for m in group["members"]}
            done = (members["stays"]["member_epoch"] == group["assignment_epoch"]
                    and members["stays"]["assignment"]["topic_partitions"])
            return group if done else None

        def epoch_of(member: str) -> int:
            group = share_describe(broker.port, busy)
            return {m["member_id"]: m["member_epoch"] for m in group["members"]}[member]

        busy_before = wait_until(settled, timeout_s=DEADLINE_S, what="an assignment")
        stays_before = {m["member_id"]: m for m in busy_before["members"]}["stays"]

        broker.kill9()
        broker.start()

        listed = listed_share_groups(broker.port)
        assert listed.get(idle) == "Empty", listed
        assert listed.get(busy) == "Stable", listed
        tool_list = share_groups_tool(broker, "--list")
        assert {idle, busy} <= set(tool_list.stdout.split()), tool_list.stdout
        idle_after = share_describe(broker.port, idle)
        assert (idle_after["group_state"], idle_after["group_epoch"],
                idle_after["assignment_epoch"]) == (
                    "Empty", idle_before["group_epoch"], idle_before["assignment_epoch"])

        busy_after = share_describe(broker.port, busy)
        assert busy_after["group_epoch"] == busy_before["group_epoch"], busy_after
        stays_after = {m["member_id"]: m for m in busy_after["members"]}["stays"]
        assert (stays_after["member_epoch"], stays_after["assignment"]) == (
            stays_before["member_epoch"], stays_before["assignment"]), stays_after
        assert {m["member_id"] for m in busy_after["members"]} == {"stays", "vanishes"}
        # "stays" goes on with its epoch: no UNKNOWN_MEMBER_ID, nothing to join again.
        beat = share_heartbeat(broker.port, busy, "stays", stays_before["member_epoch"])
        assert (beat["error_code"], beat["member_epoch"]) == (
            0, stays_before["member_epoch"]), beat

        # "vanishes" is out once its session (6 s, from the restart) runs out; "stays"
        # heartbeats meanwhile and gets the whole topic.
        def vanished():
            epoch = epoch_of("stays")
            beat = share_heartbeat(broker.port, busy, "stays", epoch)
            assert beat["error_code"] == 0, beat
            members = [m["member_id"] for m in share_describe(broker.port, busy)["members"]]
            return members == ["stays"]

        wait_until(vanished, timeout_s=DEADLINE_S, what="the silent member expired",
                   interval_s=0.5)

        deleted = share_groups_tool(broker, "--delete", "--group", idle)
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
        assert f"Deletion of requested share groups ('{idle}') was successful." in \
            deleted.stdout, deleted.stdout
        broker.restart()
        listed = listed_share_groups(broker.port)
        assert idle not in listed, f"deleted for good: {listed}"
        assert busy in listed, listed
    finally:
        broker.stop()


def kafka_uuid(text: str) -> str:
    """A topic id as Kafka prints a Uuid: URL-safe base64 of its 16 bytes, unpadded."""
    import base64
    import uuid
    return base64.urlsafe_b64encode(uuid.UUID(text).bytes).rstrip(b"=").decode()


def test_kafkas_dump_log_reads_the_share_group_records(tmp_path, share_messages):
    """Apache Kafka 4.1.1's `kafka-dump-log.sh --offsets-decoder` (DumpLogSegments over
    its GroupCoordinatorRecordSerde) is the oracle of the records' bytes: it decodes every
    share-group record rafka wrote to __consumer_offsets — a member joining, being
    assigned both partitions, and leaving — into the fields rafka meant, with no record
    it cannot read."""
    import json
    import re
    import subprocess

    from compat_helpers import kafka_java_cmd
    from conftest import Broker

    broker = Broker(tmp_path)
    broker.start()
    try:
        topic, group = topic_name("share-records"), topic_name("share-records-group")
        confluent_create_topic(confluent_admin(broker.bootstrap), topic, partitions=2)
        assert share_heartbeat(broker.port, group, "m1", 0, [topic])["member_epoch"] == 1
        joined = share_heartbeat(broker.port, group, "m1", 1)
        assert joined["member_epoch"] == 2, joined
        member = share_describe(broker.port, group)["members"][0]
        topic_id = kafka_uuid(str(member["assignment"]["topic_partitions"][0]["topic_id"]))
        assert share_heartbeat(broker.port, group, "m1", -1)["member_epoch"] == -1
    finally:
        assert broker.stop() == 0, broker.log_tail()

    segments = sorted(broker.data_dir.glob("__consumer_offsets-*/*.log"))
    dumped = subprocess.run(
        kafka_java_cmd() + ["kafka.tools.DumpLogSegments", "--offsets-decoder", "--files",
                            ",".join(str(s) for s in segments)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert dumped.returncode == 0, dumped.stderr
    assert "Error at offset" not in dumped.stdout and "Unknown record type" not in \
        dumped.stdout, dumped.stdout
    records = []
    for line in dumped.stdout.splitlines():
        found = re.search(r" key: (\{.*\}) payload: (.*)$", line)
        if found:
            key = json.loads(found.group(1))
            if key["data"].get("groupId") == group:
                value = found.group(2)
                records.append((key["type"], key["data"].get("memberId"),
                                None if value == "<DELETE>" else json.loads(value)["data"]))
    assert {r[0] for r in records} == {"10", "11", "12", "13", "14", "15"}, records

    def last(record_type: str):
        return [r[2] for r in records if r[0] == record_type][-1]

    def written(record_type: str):
        return [r[2] for r in records if r[0] == record_type and r[2] is not None]

    assert written("10")[-1] == {
        "rackId": None, "clientId": member["client_id"], "clientHost": member["client_host"],
        "subscribedTopicNames": [topic]}
    assert [v["epoch"] for v in written("11")] == [1, 2, 3]
    assert [v["assignmentEpoch"] for v in written("12")] == [1, 2, 3]
    assert written("13")[-1] == {"topicPartitions": [{"topicId": topic_id,
                                                      "partitions": [0, 1]}]}
    assert written("14")[-1] == {"memberEpoch": 2, "previousMemberEpoch": 1, "state": 0,
                                 "assignedPartitions": [{"topicId": topic_id,
                                                         "partitions": [0, 1]}]}
    assert last("15") == {"initializingTopics": [], "deletingTopics": [],
                          "initializedTopics": [{"topicId": topic_id, "topicName": topic,
                                                 "partitions": [0, 1]}]}
    # The member left: tombstones for its three records; the group stays.
    assert [last(t) for t in ("10", "13", "14")] == [None, None, None]
    assert last("11") == {"epoch": 3, "metadataHash": last("11")["metadataHash"]}
