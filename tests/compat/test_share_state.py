"""Durable share-group state (KIP-932's share coordinator, `__share_group_state`):
acknowledgements survive a `kill -9` of the broker, and of the partition's leader in a
three-node cluster.

A share consumer (confluent-kafka's ShareConsumer, implicit acknowledgement, in a
process of its own so that it can die with the broker) reads a first lot of records
and commits them (accepted); then a second lot is produced and it polls until it holds
some of them (acquired, not acknowledged: in implicit mode a record is acknowledged by
the next poll or commit, and there is none). Broker and consumer are killed. A new
share consumer of the group must then get every record of the second lot exactly once
and none of the first lot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from confluent_kafka import Producer, ShareConsumer

from compat_helpers import confluent_admin, confluent_create_topic, topic_name, wait_until
from test_cluster import NODE_IDS, cluster, create_topic, wait_for_full_isr  # noqa: F401
from test_share_groups import start_from_earliest

DEADLINE_S = 90.0

# The first member: reads and commits the first lot, then (after "go" on stdin) holds
# some of the second lot unacknowledged, and waits to be killed. It prints one JSON
# line after each phase.
MEMBER = r"""
import json, sys, time
from confluent_kafka import ShareConsumer
bootstrap, group, topic, first_lot = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group})
consumer.subscribe([topic])
deadline = time.monotonic() + 90

def poll():
    assert time.monotonic() < deadline, "the member timed out"
    out = []
    for m in consumer.poll(0.5):
        assert m.error() is None, m.error()
        out.append((m.value().decode(), m.delivery_count()))
    return out

committed = []
while len(committed) < first_lot:
    committed.extend(v for v, _ in poll())
consumer.commit_sync(30)
print(json.dumps({"committed": committed}), flush=True)
assert sys.stdin.readline().strip() == "go"
held = []
while not held:
    held = poll()
print(json.dumps({"held": held}), flush=True)
sys.stdin.readline()
"""


class Member:
    """The first member's process."""

    def __init__(self, bootstrap: str, group: str, topic: str, first_lot: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MEMBER, bootstrap, group, topic, str(first_lot)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        assert line, f"the member died (exit {self.proc.wait()})"
        return json.loads(line)

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def produce(bootstrap: str, topic: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for v in values:
        producer.produce(topic, value=v.encode(), partition=0)
    assert producer.flush(30) == 0


def run_until_crash(bootstrap: str, group: str, topic: str, crash) -> tuple[list, dict]:
    """The first member's two phases, then `crash()` (with the member still holding its
    records); returns the committed values and the held ones with their counts."""
    first = [f"a-{i:03d}" for i in range(30)]
    second = [f"b-{i:03d}" for i in range(30)]
    produce(bootstrap, topic, first)
    member = Member(bootstrap, group, topic, len(first))
    try:
        committed = member.read()["committed"]
        assert sorted(committed) == first, committed
        produce(bootstrap, topic, second)
        member.go()
        held = dict(member.read()["held"])
        assert held and set(held) <= set(second), held
        assert set(held.values()) == {1}, held
        crash()
    finally:
        member.kill()
    return committed, held


def read_after_crash(bootstrap: str, group: str, topic: str, committed: list,
                     held: dict) -> dict[str, int]:
    """A new member of the group reads until every record of the second lot came; then a
    marker shows that nothing else (no accepted record) is delivered."""
    consumer = ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group})
    consumer.subscribe([topic])
    got: list[tuple[str, int]] = []
    try:
        def poll() -> None:
            for m in consumer.poll(0.5):
                assert m.error() is None, f"share consumer error: {m.error()}"
                got.append((m.value().decode(), m.delivery_count()))

        def all_second_lot() -> bool:
            poll()
            return len({v for v, _ in got if v.startswith("b-")}) == 30

        wait_until(all_second_lot, timeout_s=DEADLINE_S, what="the unacknowledged records",
                   interval_s=0)
        produce(bootstrap, topic, ["marker"])
        wait_until(lambda: poll() or any(v == "marker" for v, _ in got), timeout_s=DEADLINE_S,
                   what="the marker", interval_s=0)
        consumer.commit_sync(30)
    finally:
        consumer.close()
    values = [v for v, _ in got]
    redelivered = sorted(set(values) & set(committed))
    assert not redelivered, f"accepted records delivered again: {redelivered}"
    assert len(values) == len(set(values)), f"delivered twice: {sorted(values)}"
    assert sorted(values) == sorted([f"b-{i:03d}" for i in range(30)] + ["marker"])
    counts = dict(got)
    # An acquisition is not written (as in Kafka: only acknowledgements, releases and
    # archiving are), so what the dead member held may come back as a first delivery.
    assert set(counts.values()) <= {1, 2}, counts
    return counts


def test_acknowledged_records_survive_a_broker_kill9(fresh_broker):
    admin = confluent_admin(fresh_broker.bootstrap)
    topic = topic_name("share-durable")
    group = topic_name("share-durable-group")
    confluent_create_topic(admin, topic, partitions=1)
    start_from_earliest(admin, group)
    committed, held = run_until_crash(fresh_broker.bootstrap, group, topic, fresh_broker.kill9)
    fresh_broker.start()
    read_after_crash(fresh_broker.bootstrap, group, topic, committed, held)


def test_a_new_leader_serves_the_share_partition_from_the_persisted_state(cluster):  # noqa: F811
    admin = cluster.admin()
    topic = topic_name("share-failover")
    group = topic_name("share-failover-group")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    partitions = wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    start_from_earliest(admin, group)
    victim = cluster.nodes[partitions[0].leader]
    committed, held = run_until_crash(cluster.bootstrap(), group, topic, victim.kill9)
    survivors = {i for i in NODE_IDS if i != victim.node_id}
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader in survivors, 30,
               f"a leader among {sorted(survivors)}")
    read_after_crash(cluster.bootstrap(), group, topic, committed, held)
    cluster.restart(victim)


def test_reset_offsets_reach_a_leader_on_another_broker(cluster):  # noqa: F811
    """The partition's leader keeps the share-partition in memory while the group
    consumes. Once the group is empty (its last share session on the leader closed),
    Kafka's SharePartitionManager drops it (onGroupEmpty), so offsets reset with
    kafka-share-groups.sh --reset-offsets while the group is empty are what the next
    consumer gets — whichever broker leads the partition, coordinates the group or
    holds its share state."""
    from types import SimpleNamespace

    from test_share_groups import (consume_all, share_consumer, share_groups_tool, start_offsets,
                                   wait_share_group_empty)

    admin = cluster.admin()
    topic = topic_name("share-reset-3")
    group = topic_name("share-reset-3-group")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    start_from_earliest(admin, group)
    values = [f"rec-{i}".encode() for i in range(5)]
    produce(cluster.bootstrap(), topic, [v.decode() for v in values])
    tool_target = SimpleNamespace(bootstrap=cluster.bootstrap())
    first = share_consumer(cluster.bootstrap(), group, topic)
    try:
        assert sorted(consume_all(first, 5)) == values
        first.commit_sync(15)
        wait_until(lambda: start_offsets(tool_target, group) == {(topic, 0): "5"},
                   timeout_s=DEADLINE_S, what="start offset 5")
    finally:
        first.close()

    wait_share_group_empty(tool_target, group)
    done = share_groups_tool(tool_target, "--reset-offsets", "--group", group, "--topic",
                             topic, "--to-earliest", "--execute")
    assert done.returncode == 0, done.stderr
    assert start_offsets(tool_target, group) == {(topic, 0): "0"}
    second = share_consumer(cluster.bootstrap(), group, topic)
    try:
        again = consume_all(second, 5)
        assert sorted(again) == values, f"after the reset: {again}"
        second.commit_sync(15)
    finally:
        second.close()
