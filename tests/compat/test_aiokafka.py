"""aiokafka 0.14 (asyncio, its own protocol code) against rafka, used as an application
would: AIOKafkaAdminClient for topics, partitions, configs and group offsets;
AIOKafkaProducer with every codec it has (none, gzip, snappy, lz4, zstd: the last three
through cramjam) and acks=1/-1; AIOKafkaConsumer reading from the beginning, in a group
that rebalances as members join and leave, committing and resuming, and seeking.

Each test is a coroutine run with asyncio.run; waits poll the consumers against a
deadline, never sleep. What is read is compared record by record (key, value, headers,
timestamp, partition, offset) with what was produced and with the produce acks.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import InvalidPartitionsError
from aiokafka.structs import OffsetAndMetadata

from compat_helpers import (Rec, check_records, confluent_consume, java_default_partition, now_ms,
                            record_headers, record_key, record_value, topic_name)

TIMEOUT_S = 30.0
SESSION_TIMEOUT_MS = 6000
# Kafka's error codes the tests expect.
NONE, TOPIC_ALREADY_EXISTS = 0, 36


def run_async(fn: Callable[..., Awaitable[None]]):
    """Run an `async def` test with asyncio.run (no pytest plugin needed)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), timeout=240))
    return wrapper


async def wait_until(check, what: str, timeout_s: float = TIMEOUT_S, interval_s: float = 0.02):
    """Await `check()` (sync or async) until truthy; returns its value."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - client errors while the broker catches up
            last_error = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}"
                                 + (f"; last error: {last_error!r}" if last_error else ""))
        await asyncio.sleep(interval_s)  # poll interval


class Admin:
    def __init__(self, bootstrap: str):
        self.client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)

    async def __aenter__(self) -> AIOKafkaAdminClient:
        await self.client.start()
        return self.client

    async def __aexit__(self, *exc):
        await self.client.close()


async def create_topic(admin: AIOKafkaAdminClient, topic: str, partitions: int,
                       configs: dict[str, str] | None = None) -> None:
    resp = await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
    assert [(t, code) for t, code, _ in resp.topic_errors] == [(topic, NONE)], resp
    await wait_for_leaders(admin, topic, partitions)


async def wait_for_leaders(admin: AIOKafkaAdminClient, topic: str, partitions: int) -> None:
    async def ready():
        [t] = await admin.describe_topics([topic])
        return (t["error_code"] == NONE and len(t["partitions"]) == partitions
                and all(p["leader"] == 1 and p["error_code"] == NONE for p in t["partitions"]))
    await wait_until(ready, f"leaders for the {partitions} partitions of {topic}")


async def produce(bootstrap: str, topic: str, prefix: str, start: int, end: int, base_ts: int,
                  **producer_config) -> list[Rec]:
    """Produce records start..end-1 (compat_helpers' keys/values/headers); return what each
    should be on the broker, with the partition and offset from its ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_config)
    await producer.start()
    try:
        futures = []
        for i in range(start, end):
            futures.append(await producer.send(topic, key=record_key(i),
                                               value=record_value(prefix, i),
                                               headers=record_headers(prefix, i),
                                               timestamp_ms=base_ts + i))
        metas = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    out = []
    for i, md in zip(range(start, end), metas):
        assert md.topic == topic
        out.append(Rec(md.partition, md.offset, record_key(i), record_value(prefix, i),
                       tuple(record_headers(prefix, i)), base_ts + i))
    return out


def as_rec(r) -> Rec:
    return Rec(r.partition, r.offset, r.key, r.value, tuple(r.headers), r.timestamp)


def by_position(records) -> list[Rec]:
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def read_assigned(bootstrap: str, topic: str, partitions: int, until: Callable,
                        **extra) -> list[Rec]:
    """Read the topic without a group from the beginning until `until(records)`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest", **extra)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[Rec] = []

        async def more():
            for recs in (await consumer.getmany(timeout_ms=100)).values():
                out.extend(as_rec(r) for r in recs)
            return until(out)
        await wait_until(more, f"records of {topic}")
        return out
    finally:
        await consumer.stop()


# -- admin ------------------------------------------------------------------------------

@run_async
async def test_admin_topics_partitions_configs(broker):
    a, b = topic_name("aio-admin-a"), topic_name("aio-admin-b")
    async with Admin(broker.bootstrap) as admin:
        cluster = await admin.describe_cluster()
        assert [(n["node_id"], n["host"], n["port"]) for n in cluster["brokers"]] == \
            [(1, "127.0.0.1", broker.port)]
        assert cluster["controller_id"] == 1 and cluster["cluster_id"]

        resp = await admin.create_topics([
            NewTopic(a, 3, 1),
            NewTopic(b, 2, 1, topic_configs={"cleanup.policy": "compact", "retention.ms": "3600000"}),
        ])
        assert sorted((t, code) for t, code, _ in resp.topic_errors) == sorted([(a, NONE), (b, NONE)])
        await wait_for_leaders(admin, a, 3)
        await wait_for_leaders(admin, b, 2)
        again = await admin.create_topics([NewTopic(a, 3, 1)])
        assert [(t, code) for t, code, _ in again.topic_errors] == [(a, TOPIC_ALREADY_EXISTS)]

        names = await admin.list_topics()
        assert a in names and b in names
        described = {t["topic"]: t for t in await admin.describe_topics([a, b])}
        for name, count in ((a, 3), (b, 2)):
            t = described[name]
            assert t["error_code"] == NONE and not t["is_internal"]
            parts = sorted(t["partitions"], key=lambda p: p["partition"])
            assert [p["partition"] for p in parts] == list(range(count))
            for p in parts:
                assert (p["error_code"], p["leader"], p["replicas"], p["isr"]) == (NONE, 1, [1], [1])

        [configs] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, b, {"cleanup.policy": None, "retention.ms": None})])
        [res] = configs.to_object()["resources"]
        assert (res["error_code"], res["resource_name"]) == (NONE, b)
        assert {e["config_names"]: e["config_value"] for e in res["config_entries"]} == \
            {"cleanup.policy": "compact", "retention.ms": "3600000"}

        # 3 -> 5 partitions; the new ones take records at once.
        await admin.create_partitions({a: NewPartitions(5)})
        await wait_for_leaders(admin, a, 5)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=-1)
        await producer.start()
        try:
            metas = [await producer.send_and_wait(a, f"p{p}".encode(), partition=p) for p in range(5)]
        finally:
            await producer.stop()
        assert [(m.partition, m.offset) for m in metas] == [(p, 0) for p in range(5)]
        with pytest.raises(InvalidPartitionsError):
            await admin.create_partitions({a: NewPartitions(2)})

        resp = await admin.delete_topics([a, b])
        assert sorted(resp.topic_error_codes) == sorted([(a, NONE), (b, NONE)])

        async def gone():
            names = await admin.list_topics()
            return a not in names and b not in names
        await wait_until(gone, "deleted topics to leave list_topics")
        # (Not describe_topics([a]): its Metadata request allows auto-creation, which the
        # broker fixture enables, so that would create the topic again.)


# -- produce and consume -----------------------------------------------------------------

@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
@run_async
async def test_produce_consume_codec(broker, codec):
    topic = topic_name(f"aio-codec-{codec or 'none'}")
    partitions, n = 3, 300
    base_ts = now_ms() - 60_000
    prefix = f"aio-{codec}"
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
    produced = await produce(broker.bootstrap, topic, prefix, 0, n, base_ts,
                             acks=-1, compression_type=codec, linger_ms=5)
    consumed = await read_assigned(broker.bootstrap, topic, partitions, lambda out: len(out) >= n)
    check_records(consumed, prefix, n, partitions, base_ts,
                  lambda key: java_default_partition(key, partitions))
    assert by_position(consumed) == by_position(produced), "consumed records differ from the acks"
    # A second decoder: librdkafka reads aiokafka's batches the same.
    assert by_position(confluent_consume(broker.bootstrap, topic, range(partitions))) == \
        by_position(produced)


@run_async
async def test_produce_acks_1_and_all(broker):
    topic = topic_name("aio-acks")
    partitions = 2
    base_ts = now_ms() - 60_000
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
    produced: list[Rec] = []
    for round_, acks in enumerate([1, -1, 1, -1]):
        produced += await produce(broker.bootstrap, topic, "acks", 50 * round_, 50 * (round_ + 1),
                                  base_ts, acks=acks)
    # Offsets are consecutive per partition across producers with either acks.
    ends = {}
    for r in produced:
        assert r.offset == ends.get(r.partition, 0), f"offset {r.offset} in partition {r.partition}"
        ends[r.partition] = r.offset + 1

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        assert await consumer.end_offsets(tps) == {tp: ends[tp.partition] for tp in tps}
        assert await consumer.beginning_offsets(tps) == {tp: 0 for tp in tps}
    finally:
        await consumer.stop()
    consumed = await read_assigned(broker.bootstrap, topic, partitions,
                                   lambda out: len(out) >= len(produced))
    check_records(consumed, "acks", len(produced), partitions, base_ts,
                  lambda key: java_default_partition(key, partitions))
    assert by_position(consumed) == by_position(produced)


# -- consumer groups ---------------------------------------------------------------------

class Member:
    """A subscribed group member; `poll()` reads what it is given."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, **extra):
        self.name = name
        self.topic = topic
        self.records: list[Rec] = []
        self.assignments: list[set[int]] = []  # what each rebalance gave it
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, client_id=name,
            auto_offset_reset="earliest", session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=200, max_poll_interval_ms=30000, **extra)
        self.stopped = False

    async def start(self) -> "Member":
        member = self

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                pass

            async def on_partitions_assigned(self, assigned):
                member.assignments.append({tp.partition for tp in assigned})

        await self.consumer.start()
        self.consumer.subscribe([self.topic], listener=Listener())
        return self

    async def poll(self) -> None:
        if self.stopped:
            return
        for tp, recs in (await self.consumer.getmany(timeout_ms=20)).items():
            assert tp.topic == self.topic
            self.records.extend(as_rec(r) for r in recs)

    def partitions(self) -> set[int]:
        return set() if self.stopped else {tp.partition for tp in self.consumer.assignment()}

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.consumer.stop()


async def poll_until(members, check, what: str, timeout_s: float = TIMEOUT_S):
    async def step():
        for m in members:
            await m.poll()
        return check()
    try:
        return await wait_until(step, what, timeout_s, interval_s=0.005)
    except AssertionError as e:
        raise AssertionError(f"{e}; assignments {({m.name: sorted(m.partitions()) for m in members})}") \
            from None


def split_between(members, partitions: int) -> bool:
    owned = [m.partitions() for m in members]
    return (all(owned) and sum(len(o) for o in owned) == partitions
            and set().union(*owned) == set(range(partitions)))


async def describe_group(admin: AIOKafkaAdminClient, group: str) -> dict:
    [resp] = await admin.describe_consumer_groups([group])
    [g] = resp.to_object()["groups"]
    assert g["error_code"] == NONE, g
    return g


def coordinator_view(g: dict, topic: str) -> dict[str, set[int]]:
    view = {}
    for m in g["members"]:
        assignment = ConsumerProtocolMemberAssignment.decode(m["member_assignment"])
        view[m["client_id"]] = {p for t, ps in assignment.assignment if t == topic for p in ps}
    return view


async def committed_offsets(admin: AIOKafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic}


def end_offsets_of(records) -> dict[int, int]:
    ends: dict[int, int] = {}
    for r in records:
        ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
    return ends


@run_async
async def test_group_rebalances_as_members_join_and_leave(broker):
    topic = topic_name("aio-rebalance")
    group = topic
    partitions = 4
    base_ts = now_ms() - 60_000
    members: list[Member] = []
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
        try:
            a = await Member(broker.bootstrap, group, topic, "member-a").start()
            members.append(a)
            await poll_until([a], lambda: a.partitions() == set(range(partitions)), "a to own everything")
            one = await produce(broker.bootstrap, topic, "one", 0, 80, base_ts, acks=-1)
            await poll_until([a], lambda: len(a.records) >= len(one), "a to read phase 1")
            assert by_position(a.records) == by_position(one)
            await a.consumer.commit()
            assert await committed_offsets(admin, group, topic) == end_offsets_of(one)

            # b joins: the four partitions are split between a and b.
            b = await Member(broker.bootstrap, group, topic, "member-b").start()
            members.append(b)
            both = [a, b]
            await poll_until(both, lambda: split_between(both, partitions), "a and b to split")

            async def coordinator_agrees():
                for m in both:
                    await m.poll()
                g = await describe_group(admin, group)
                return (g["state"] == "Stable" and g["protocol_type"] == "consumer"
                        and split_between(both, partitions)
                        and coordinator_view(g, topic) == {m.name: m.partitions() for m in both})
            await wait_until(coordinator_agrees, "DescribeGroups to show a's and b's assignments")

            a.records.clear()
            two = await produce(broker.bootstrap, topic, "two", 80, 160, base_ts, acks=-1)
            await poll_until(both, lambda: len(a.records) + len(b.records) >= len(two), "phase 2")
            for m in both:
                assert {r.partition for r in m.records} <= m.partitions(), m.name
            # b started from a's commits: nothing from phase 1 again, phase 2 exactly once.
            assert by_position(a.records + b.records) == by_position(two)

            # a leaves (LeaveGroup): b gets all four back.
            await a.stop()
            await poll_until([b], lambda: b.partitions() == set(range(partitions)),
                             "b to own everything again")

            async def only_b():
                await b.poll()
                g = await describe_group(admin, group)
                return g["state"] == "Stable" and coordinator_view(g, topic) == \
                    {"member-b": set(range(partitions))}
            await wait_until(only_b, "DescribeGroups to show only b")
            b.records.clear()
            three = await produce(broker.bootstrap, topic, "three", 160, 240, base_ts, acks=1)
            await poll_until([b], lambda: len(b.records) >= len(three), "b to read phase 3")
            assert by_position(b.records) == by_position(three)
        finally:
            for m in members:
                await m.stop()


@pytest.mark.parametrize("who", ["leader", "follower"])
@run_async
async def test_static_member_restart_keeps_its_partitions(broker, who):
    """KIP-345: a member with group_instance_id sends no LeaveGroup when it stops; back
    within its session, it gets its partitions again with no rebalance of the others."""
    topic = topic_name(f"aio-static-{who}")
    group = topic
    partitions = 4
    members: list[Member] = []
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
        try:
            # The first to join leads the group.
            a = await Member(broker.bootstrap, group, topic, "static-a",
                             group_instance_id="instance-a").start()
            members.append(a)
            await poll_until([a], lambda: a.partitions() == set(range(partitions)), "a to own everything")
            b = await Member(broker.bootstrap, group, topic, "static-b",
                             group_instance_id="instance-b").start()
            members.append(b)
            both = [a, b]
            await poll_until(both, lambda: split_between(both, partitions), "a and b to split")

            async def stable(ms):
                for m in ms:
                    await m.poll()
                g = await describe_group(admin, group)
                return (g["state"] == "Stable" and split_between(ms, partitions)
                        and coordinator_view(g, topic) == {m.name: m.partitions() for m in ms})
            await wait_until(lambda: stable(both), "a Stable group of a and b")
            restarting, staying = (a, b) if who == "leader" else (b, a)
            kept = restarting.partitions()
            staying_rebalances = len(staying.assignments)

            started = time.monotonic()
            await restarting.stop()
            back = await Member(broker.bootstrap, group, topic, restarting.name,
                                group_instance_id=f"instance-{restarting.name[-1]}").start()
            members.append(back)
            now = [staying, back]
            await poll_until(now, lambda: back.partitions(), "the static member's rejoin",
                             SESSION_TIMEOUT_MS / 1000)
            assert time.monotonic() - started < SESSION_TIMEOUT_MS / 1000
            assert back.partitions() == kept
            await wait_until(lambda: stable(now), "a Stable group again")
            assert len(staying.assignments) == staying_rebalances, \
                f"{staying.name} went through a rebalance: {staying.assignments}"
        finally:
            for m in members:
                await m.stop()


@run_async
async def test_commit_and_resume_in_the_same_group(broker):
    topic = topic_name("aio-commit")
    group = topic
    partitions = 2
    base_ts = now_ms() - 60_000
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
        produced = await produce(broker.bootstrap, topic, "commit", 0, 60, base_ts, acks=-1)
        ends = end_offsets_of(produced)
        assert set(ends) == {0, 1} and min(ends.values()) > 5, ends
        commit_at = {0: 3, 1: ends[1] - 2}

        first = await Member(broker.bootstrap, group, topic, "first", enable_auto_commit=False).start()
        try:
            await poll_until([first], lambda: len(first.records) >= len(produced), "first run")
            assert by_position(first.records) == by_position(produced)
            await first.consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, f"m{p}")
                                         for p, o in commit_at.items()})
            for p, o in commit_at.items():
                assert await first.consumer.committed(TopicPartition(topic, p)) == o
        finally:
            await first.stop()

        offsets = await admin.list_consumer_group_offsets(group)
        assert {tp: (om.offset, om.metadata) for tp, om in offsets.items()} == \
            {TopicPartition(topic, p): (o, f"m{p}") for p, o in commit_at.items()}
        g = await describe_group(admin, group)
        assert (g["state"], g["members"]) == ("Empty", [])
        groups = await admin.list_consumer_groups()
        assert (group, "consumer") in [tuple(x) for x in groups], groups

        # Same group again: it resumes right after the commits (not at the reset position).
        second = await Member(broker.bootstrap, group, topic, "second", enable_auto_commit=False).start()
        try:
            want = [r for r in produced if r.offset >= commit_at[r.partition]]
            await poll_until([second], lambda: len(second.records) >= len(want), "second run")
            assert by_position(second.records) == by_position(want)
            for p in range(partitions):
                assert await second.consumer.position(TopicPartition(topic, p)) == ends[p]
            await second.consumer.commit()  # the positions: the ends
        finally:
            await second.stop()
        assert await committed_offsets(admin, group, topic) == ends


@run_async
async def test_seek(broker):
    topic = topic_name("aio-seek")
    partitions = 2
    base_ts = now_ms() - 60_000
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
    produced = await produce(broker.bootstrap, topic, "seek", 0, 80, base_ts, acks=-1)
    ends = end_offsets_of(produced)
    assert min(ends.values()) > 10, ends
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    out: list[Rec] = []

    async def read(n: int, what: str):
        async def more():
            for recs in (await consumer.getmany(timeout_ms=50)).values():
                out.extend(as_rec(r) for r in recs)
            return len(out) >= n
        await wait_until(more, what)

    try:
        consumer.assign([tp0, tp1])
        consumer.seek(tp0, 7)
        consumer.seek(tp1, ends[1] - 3)
        want = [r for r in produced if r.offset >= (7 if r.partition == 0 else ends[1] - 3)]
        await read(len(want), "records after the first seek")
        assert by_position(out) == by_position(want)
        assert await consumer.position(tp0) == ends[0]

        # Back to 4 on partition 0 only.
        out.clear()
        consumer.seek(tp0, 4)
        want = [r for r in produced if r.partition == 0 and r.offset >= 4]
        await read(len(want), "records after seeking back")
        assert by_position(out) == by_position(want)

        # seek_to_beginning / seek_to_end resolve through ListOffsets.
        await consumer.seek_to_end(tp0, tp1)
        assert (await consumer.position(tp0), await consumer.position(tp1)) == (ends[0], ends[1])
        await consumer.seek_to_beginning(tp1)
        assert await consumer.position(tp1) == 0
        out.clear()
        want = [r for r in produced if r.partition == 1]
        await read(len(want), "partition 1 from the beginning")
        assert by_position(out) == by_position(want)

        # offsets_for_times: the first record at or after a timestamp.
        target = produced[40]
        found = await consumer.offsets_for_times({TopicPartition(topic, target.partition): target.timestamp})
        got = found[TopicPartition(topic, target.partition)]
        assert (got.offset, got.timestamp) == (target.offset, target.timestamp)
    finally:
        await consumer.stop()


@run_async
async def test_delete_records_moves_the_log_start(broker):
    topic = topic_name("aio-delrec")
    partitions = 2
    base_ts = now_ms() - 60_000
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
        produced = await produce(broker.bootstrap, topic, "delrec", 0, 60, base_ts, acks=-1)
        ends = end_offsets_of(produced)
        assert min(ends.values()) > 5, ends
        tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        assert await admin.delete_records({tp0: RecordsToDelete(5)}) == {tp0: 5}

    remaining = [r for r in produced if r.partition == 1 or r.offset >= 5]
    consumed = await read_assigned(broker.bootstrap, topic, partitions,
                                   lambda out: len(out) >= len(remaining))
    assert by_position(consumed) == by_position(remaining)

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        assert await consumer.beginning_offsets([tp0, tp1]) == {tp0: 5, tp1: 0}
        assert await consumer.end_offsets([tp0, tp1]) == {tp0: ends[0], tp1: ends[1]}
        # A position below the log start is OFFSET_OUT_OF_RANGE: the consumer resets to
        # the earliest offset, now 5.
        consumer.assign([tp0])
        consumer.seek(tp0, 2)
        out: list[Rec] = []
        want = [r for r in produced if r.partition == 0 and r.offset >= 5]

        async def more():
            for recs in (await consumer.getmany(timeout_ms=50)).values():
                out.extend(as_rec(r) for r in recs)
            return len(out) >= len(want)
        await wait_until(more, "records after the out-of-range reset")
        assert by_position(out) == by_position(want)
    finally:
        await consumer.stop()


@run_async
async def test_small_fetch_limits_and_read_committed(broker):
    """Many compressed batches read with fetch limits far below a batch's size (Kafka
    still returns the first batch whole, KIP-74) by a read_committed consumer (without
    transactions the last stable offset is the high watermark)."""
    topic = topic_name("aio-limits")
    partitions, n = 2, 3000
    base_ts = now_ms() - 60_000
    async with Admin(broker.bootstrap) as admin:
        await create_topic(admin, topic, partitions)
    produced = await produce(broker.bootstrap, topic, "limits", 0, n, base_ts, acks=-1,
                             compression_type="lz4", linger_ms=20, max_batch_size=16384)
    ends = end_offsets_of(produced)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                isolation_level="read_committed", max_partition_fetch_bytes=1024,
                                fetch_max_bytes=2048, max_poll_records=50)
    await consumer.start()
    out: list[Rec] = []
    polls = 0
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)

        async def more():
            nonlocal polls
            polls += 1
            for recs in (await consumer.getmany(timeout_ms=100)).values():
                out.extend(as_rec(r) for r in recs)
            return len(out) >= n
        await wait_until(more, f"{n} records through small fetches", timeout_s=120)
        for tp in tps:
            assert consumer.highwater(tp) == ends[tp.partition]
            assert consumer.last_stable_offset(tp) == ends[tp.partition]
    finally:
        await consumer.stop()
    check_records(out, "limits", n, partitions, base_ts,
                  lambda key: java_default_partition(key, partitions))
    assert by_position(out) == by_position(produced)
    assert polls > n // 50 // 2, f"only {polls} polls: the fetch limits were not applied"


@run_async
async def test_pattern_subscription_batches_and_auto_commit(broker):
    """A group member subscribed by pattern to two topics, one filled with the producer's
    batch API (create_batch/send_batch), committing automatically every 100 ms."""
    prefix = topic_name("aio-pattern")
    topics = [f"{prefix}-x", f"{prefix}-y"]
    group = prefix
    base_ts = now_ms() - 60_000
    async with Admin(broker.bootstrap) as admin:
        for t in topics:
            await create_topic(admin, t, 2)
        expected: dict[tuple[str, int, int], tuple] = {}
        x = await produce(broker.bootstrap, topics[0], "pattern", 0, 40, base_ts, acks=-1)
        for r in x:
            expected[(topics[0], r.partition, r.offset)] = (r.key, r.value, r.headers, r.timestamp)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=-1,
                                    compression_type="gzip")
        await producer.start()
        try:
            for partition in (0, 1):
                batch = producer.create_batch()
                for i in range(25):
                    key, value = f"b{partition}-{i}".encode(), f"batch value {i}".encode()
                    assert batch.append(key=key, value=value, timestamp=base_ts + i,
                                        headers=[("i", str(i).encode())]) is not None
                    expected[(topics[1], partition, i)] = (key, value, (("i", str(i).encode()),),
                                                           base_ts + i)
                batch.close()
                await (await producer.send_batch(batch, topics[1], partition=partition))
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=True,
                                    auto_commit_interval_ms=100, metadata_max_age_ms=1000)
        await consumer.start()
        got: dict[tuple[str, int, int], tuple] = {}
        try:
            consumer.subscribe(pattern=f"^{prefix}-.*")

            async def more():
                for tp, recs in (await consumer.getmany(timeout_ms=100)).items():
                    for r in recs:
                        k = (tp.topic, tp.partition, r.offset)
                        assert k not in got, f"{k} read twice"
                        got[k] = (r.key, r.value, tuple(r.headers), r.timestamp)
                return len(got) >= len(expected)
            await wait_until(more, "both topics' records")
            assert consumer.subscription() == set(topics)
            assert got == expected

            ends: dict[tuple[str, int], int] = {}
            for t, p, o in expected:
                ends[(t, p)] = max(ends.get((t, p), 0), o + 1)

            async def auto_committed():
                await consumer.getmany(timeout_ms=50)
                offsets = await admin.list_consumer_group_offsets(group)
                return {(tp.topic, tp.partition): om.offset for tp, om in offsets.items()} == ends
            await wait_until(auto_committed, "the auto-commit of everything read")
        finally:
            await consumer.stop()
