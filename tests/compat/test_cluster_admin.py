"""Cluster administration on three nodes: preferred and unclean leader elections
(confluent-kafka's AdminClient.elect_leaders and `rafka leader-election`), and moving
replicas (`rafka reassign-partitions`). Uses test_cluster's three-node fixture."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import time

from confluent_kafka import ElectionType, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import NewTopic

from compat_helpers import confluent_consume, confluent_consumer, topic_name, wait_until
from conftest import rafka_bin
from oracle import share_messages  # noqa: F401 - a fixture
from test_cluster import (NODE_IDS, acks_all_producer, cluster,  # noqa: F401 - the fixture
                          wait_for_full_isr)

__all__ = ["cluster", "share_messages"]


def create_assigned(admin, topic: str, assignment: list[list[int]]) -> None:
    futures = admin.create_topics([NewTopic(topic, len(assignment), replica_assignment=assignment)],
                                  operation_timeout=15)
    futures[topic].result(timeout=15)


def elect(admin, election: ElectionType, partitions):
    """elect_leaders' per-partition outcome: None, or the KafkaError's code."""
    results = admin.elect_leaders(election, partitions).result(timeout=20)
    return {(tp.topic, tp.partition): (err.code() if err is not None else None)
            for tp, err in results.items()}


def test_preferred_leader_election_moves_leadership_back(cluster):
    admin = cluster.admin()
    topic = topic_name("preferred")
    create_assigned(admin, topic, [[1, 2, 3]])
    wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    tp = [TopicPartition(topic, 0)]
    assert elect(admin, ElectionType.PREFERRED, tp) == {(topic, 0): KafkaError.ELECTION_NOT_NEEDED}

    # The preferred leader dies: leadership moves. It comes back and catches up, but
    # stays a follower (automatic rebalancing checks only every 300 s by default).
    cluster.nodes[1].kill9()
    admin = cluster.admin()
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader in (2, 3), 15,
               "a new leader after the preferred one died")
    # Down, out of the ISR: the preferred replica cannot be elected.
    wait_for_full_isr(cluster, admin, topic, 1, {2, 3})
    assert elect(admin, ElectionType.PREFERRED, tp) == {
        (topic, 0): KafkaError.PREFERRED_LEADER_NOT_AVAILABLE}
    cluster.restart(cluster.nodes[1])
    admin = cluster.admin()
    wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    assert cluster.partitions(admin, topic)[0].leader != 1

    # kafka-leader-election.sh does the election.
    out = run_tool("leader-election", "--bootstrap-server", cluster.bootstrap(),
                   "--election-type", "preferred", "--topic", topic, "--partition", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == (
        f"Successfully completed leader election (PREFERRED) for partitions {topic}-0")
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader == 1, 10,
               "the preferred replica leading again")
    # All partitions: nothing needs an election, so nothing is listed (as in Kafka).
    assert elect(admin, ElectionType.PREFERRED, None) == {}
    # Unclean election is only for partitions without a leader.
    assert elect(admin, ElectionType.UNCLEAN, tp) == {(topic, 0): KafkaError.ELECTION_NOT_NEEDED}
    unknown = [TopicPartition(topic, 7)]
    assert elect(admin, ElectionType.PREFERRED, unknown) == {
        (topic, 7): KafkaError.UNKNOWN_TOPIC_OR_PART}
    out = run_tool("leader-election", "--bootstrap-server", cluster.bootstrap(),
                   "--election-type", "PREFERRED", "--topic", topic, "--partition", "7")
    assert out.returncode == 1
    assert out.stdout.startswith(
        f"Error completing leader election (PREFERRED) for partition: {topic}-7: "
        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "), out.stdout
    assert "1 replica(s) could not be elected" in out.stderr
    out = run_tool("leader-election", "--bootstrap-server", cluster.bootstrap(),
                   "--election-type", "preferred", "--topic", topic, "--partition", "0")
    assert out.stdout.strip() == f"Valid replica already elected for partitions {topic}-0"


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(rafka_bin()), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def test_reassign_partitions_moves_replicas_and_data(cluster, tmp_path):
    admin = cluster.admin()
    topic = topic_name("reassign")
    create_assigned(admin, topic, [[1, 2], [2, 3]])
    wait_for_full_isr(cluster, admin, topic, 2, {0: {1, 2}, 1: {2, 3}})
    producer = acks_all_producer(cluster.bootstrap())
    values = {0: [b"p0-%d" % i for i in range(1500)], 1: [b"p1-%d" % i for i in range(1500)]}
    for p, vs in values.items():
        for v in vs:
            producer.produce(topic, value=v, partition=p)
    assert producer.flush(30) == 0

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic, "partition": 0, "replicas": [2, 3]},
        {"topic": topic, "partition": 1, "replicas": [3, 1]}]}))
    bootstrap = cluster.bootstrap()
    out = run_tool("reassign-partitions", "--bootstrap-server", bootstrap,
                   "--reassignment-json-file", str(plan), "--execute")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Current partition replica assignment" in out.stdout
    # The rollback plan lists the replicas before the move.
    rollback = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    assert sorted((p["partition"], p["replicas"]) for p in rollback["partitions"]) == [
        (0, [1, 2]), (1, [2, 3])]
    assert f"Successfully started partition reassignments for {topic}-0,{topic}-1" in out.stdout \
        or f"Successfully started partition reassignment for {topic}-0" in out.stdout, out.stdout

    def verified():
        v = run_tool("reassign-partitions", "--bootstrap-server", bootstrap,
                     "--reassignment-json-file", str(plan), "--verify")
        return v.returncode == 0 and all(
            f"Reassignment of partition {topic}-{p} is completed." in v.stdout for p in (0, 1)) and v
    done = wait_until(verified, 30, "--verify reporting both moves completed", interval_s=0.3)
    assert "Status of partition reassignment:" in done.stdout
    listed = run_tool("reassign-partitions", "--bootstrap-server", bootstrap, "--list")
    assert listed.returncode == 0 and topic not in listed.stdout, listed.stdout

    ps = wait_for_full_isr(cluster, admin, topic, 2, {0: {2, 3}, 1: {3, 1}})
    assert ps[0].replicas == [2, 3] and ps[1].replicas == [3, 1]
    assert ps[0].leader in (2, 3), "the removed replica no longer leads"
    # The replica moved away is deleted from its old broker; the new one holds a copy.
    wait_until(lambda: not (cluster.nodes[1].data_dir / f"{topic}-0").exists(), 10,
               f"{topic}-0 deleted from node 1")
    assert (cluster.nodes[3].data_dir / f"{topic}-0").is_dir()
    records = confluent_consume(cluster.bootstrap(), topic, [0, 1], timeout_s=30)
    for p, vs in values.items():
        assert [r.value for r in sorted(records, key=lambda r: r.offset) if r.partition == p] == vs

    # Node 3 alone can serve partition 0 now: everything was copied to it.
    cluster.nodes[2].kill9()
    admin = cluster.admin()
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader == 3, 15,
               f"node 3 leading {topic}-0 after node 2 died")
    records = confluent_consume(cluster.bootstrap(), topic, [0], timeout_s=30)
    assert [r.value for r in sorted(records, key=lambda r: r.offset)] == values[0]


def test_committed_offsets_survive_the_coordinator_kill9(cluster):
    from confluent_kafka import ConsumerGroupTopicPartitions
    admin = cluster.admin()
    topic, group = topic_name("commits"), topic_name("group")
    create_assigned(admin, topic, [[1, 2, 3]])
    producer = acks_all_producer(cluster.bootstrap())
    for i in range(10):
        producer.produce(topic, value=b"%d" % i, partition=0)
    assert producer.flush(20) == 0
    consumer = confluent_consumer(cluster.bootstrap(), **{"group.id": group})
    consumer.subscribe([topic])
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 10 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(msg.value())
    assert seen == [b"%d" % i for i in range(10)]
    committed = consumer.commit(offsets=[TopicPartition(topic, 0, 10)], asynchronous=False)
    assert [(tp.partition, tp.offset) for tp in committed] == [(0, 10)]
    coordinator = admin.describe_consumer_groups([group])[group].result(timeout=10).coordinator.id
    consumer.close()

    cluster.nodes[coordinator].kill9()
    admin = cluster.admin()

    def offsets_from_new_coordinator():
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])]
        result = admin.list_consumer_group_offsets(request)[group].result(timeout=5)
        return [(tp.partition, tp.offset) for tp in result.topic_partitions]
    # (A coordinator still loading answers an offset of -1001: poll for the real one.)
    wait_until(lambda: offsets_from_new_coordinator() == [(0, 10)], 30,
               "the committed offset 10 read from the new coordinator")
    moved = admin.describe_consumer_groups([group])[group].result(timeout=10).coordinator.id
    assert moved != coordinator


def kafka_call(address: str, api_key: int, body: bytes, version: int = 0) -> bytes:
    """One request (header v1, client id "t") over a fresh connection; the body of the
    answer (after its correlation id)."""
    header = struct.pack(">hhih", api_key, version, 7, 1) + b"t"
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        size = struct.unpack(">i", recv_exactly(s, 4))[0]
        answer = recv_exactly(s, size)
    assert struct.unpack(">i", answer[:4])[0] == 7
    return answer[4:]


def recv_exactly(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def kafka_string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


def test_only_the_coordinator_answers_for_a_group(cluster):
    group = topic_name("coordinated")
    bootstrap = cluster.nodes[1].bootstrap
    # FindCoordinator v0 (key 10) creates __consumer_offsets and names the leader of the
    # group's partition.
    def coordinator():
        body = kafka_call(bootstrap, 10, kafka_string(group))
        error, node = struct.unpack(">hi", body[:6])
        return node if error == 0 else None
    coordinator_id = wait_until(coordinator, 20, f"a coordinator for {group}")
    heartbeat = kafka_string(group) + struct.pack(">i", 1) + kafka_string("member")

    # OffsetFetch v1 (key 9) of one partition, DescribeGroups v0 (key 15) of the group.
    offset_fetch = kafka_string(group) + struct.pack(">i", 1) + kafka_string("t") \
        + struct.pack(">ii", 1, 0)
    describe = struct.pack(">i", 1) + kafka_string(group)

    def errors():
        out = {}
        for i in NODE_IDS:
            address = cluster.nodes[i].bootstrap
            beat = struct.unpack(">h", kafka_call(address, 12, heartbeat)[:2])[0]
            fetched = kafka_call(address, 9, offset_fetch, version=1)
            # topics[1]: name "t", partitions[1]: index, offset, metadata, error_code
            offset = struct.unpack(">q", fetched[4 + 3 + 4 + 4:][:8])[0]
            metadata_len = struct.unpack(">h", fetched[4 + 3 + 4 + 4 + 8:][:2])[0]
            fetch_error = struct.unpack(">h", fetched[4 + 3 + 4 + 4 + 8 + 2
                                                      + max(metadata_len, 0):][:2])[0]
            described = struct.unpack(">h", kafka_call(address, 15, describe)[4:6])[0]
            out[i] = (beat, fetch_error, offset, described)
        return out
    # The coordinator does not know the member (UNKNOWN_MEMBER_ID, 25), has no commit
    # (offset -1) and describes a Dead group; the others are not the coordinator
    # (NOT_COORDINATOR, 16), so a client looks it up again.
    want = {i: (25, 0, -1, 0) if i == coordinator_id else (16, 16, -1, 16) for i in NODE_IDS}
    seen = []
    try:
        wait_until(lambda: seen.append(errors()) or seen[-1] == want, 10,
                   f"Heartbeat answers {want}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last answers {seen[-3:]}") from None


def java_partition_for(key: str, partitions: int) -> int:
    """Kafka's `Utils.abs(key.hashCode()) % partitions`: the __consumer_offsets partition
    of a group."""
    h = 0
    data = key.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    signed = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if signed == -(1 << 31) else abs(signed)) % partitions


def test_a_coordinator_that_loses_its_partition_forgets_its_groups(cluster, share_messages):
    """Kafka's onResignation: a broker that no longer leads a __consumer_offsets partition
    drops its groups, and the new leader replays them. A share group's coordinator dies
    (kill -9): the partition's new leader has the group from the log (member, epoch) and
    a second member joins there. The first broker comes back and a preferred election
    hands the partition back to it: it replays the second member too, and the broker that
    led in between no longer lists the group (before, it kept listing it from memory, so
    a cluster-wide ListGroups showed it twice)."""
    from oracle import RawClient

    admin = cluster.admin()
    topic, group = topic_name("resign"), topic_name("resign-share")
    create_assigned(admin, topic, [[1, 2, 3]])

    def coordinator():
        body = kafka_call(cluster.alive_brokers()[0].bootstrap, 10, kafka_string(group))
        error, node = struct.unpack(">hi", body[:6])
        return node if error == 0 else None
    wait_until(coordinator, 20, f"a coordinator for {group}")
    count = len(wait_until(lambda: cluster.partitions(admin, "__consumer_offsets"), 30,
                           "__consumer_offsets created"))
    offsets = wait_for_full_isr(cluster, admin, "__consumer_offsets", count, timeout_s=60)
    index = java_partition_for(group, count)
    tp = [TopicPartition("__consumer_offsets", index)]
    preferred = offsets[index].replicas[0]
    elect(admin, ElectionType.PREFERRED, tp)
    wait_until(lambda: cluster.partitions(admin, "__consumer_offsets")[index].leader
               == preferred, 20, f"node {preferred} leading __consumer_offsets-{index}")
    wait_until(lambda: coordinator() == preferred, 20, f"node {preferred} coordinating")

    def call(node: int, api: str, **fields) -> dict:
        with RawClient("127.0.0.1", cluster.nodes[node].port) as raw:
            return raw.request(api, 1, **fields)

    def beat(node: int, member: str, epoch: int, topics=None) -> dict:
        return call(node, "ShareGroupHeartbeat", group_id=group, member_id=member,
                    member_epoch=epoch, rack_id=None, subscribed_topic_names=topics)

    def members(node: int) -> dict[str, int] | None:
        """The group's members by epoch; None while the node is not (yet) its coordinator
        (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR)."""
        described = call(node, "ShareGroupDescribe", group_ids=[group],
                         include_authorized_operations=False)["groups"][0]
        if described["error_code"] in (14, 15, 16):
            return None
        assert described["error_code"] == 0, described
        return {m["member_id"]: m["member_epoch"] for m in described["members"]}

    def listed(node: int) -> bool:
        with RawClient("127.0.0.1", cluster.nodes[node].port) as raw:
            answer = raw.request("ListGroups", 5, states_filter=[], types_filter=["share"])
        return group in [g["group_id"] for g in answer["groups"]]

    assert beat(preferred, "a", 0, [topic])["member_epoch"] == 1
    assert beat(preferred, "a", 1)["member_epoch"] == 2

    cluster.nodes[preferred].kill9()
    admin = cluster.admin()
    interim = wait_until(lambda: (c := coordinator()) not in (None, preferred) and c, 30,
                         "a new coordinator after the kill")
    # The new leader replayed the group: "a" carries on with its epoch.
    assert wait_until(lambda: members(interim), 30, "the group replayed") == {"a": 2}
    assert beat(interim, "a", 2)["error_code"] == 0
    assert beat(interim, "b", 0, [topic])["error_code"] == 0

    cluster.restart(cluster.nodes[preferred])
    admin = cluster.admin()
    wait_for_full_isr(cluster, admin, "__consumer_offsets", count, timeout_s=60)
    assert elect(admin, ElectionType.PREFERRED, tp) == {("__consumer_offsets", index): None}
    wait_until(lambda: coordinator() == preferred, 20, f"node {preferred} coordinating again")

    assert wait_until(lambda: listed(preferred), 20, "the group listed by its coordinator")
    assert set(wait_until(lambda: members(preferred), 20, "the group described")) == {
        "a", "b"}, "b, written by the interim leader, replayed"
    assert not listed(interim), "the former coordinator forgot the group"
    others = [n for n in NODE_IDS if n != preferred]
    assert [n for n in others if listed(n)] == []
