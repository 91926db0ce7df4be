"""Differential tests against Apache Kafka 4.1.1 for share groups (KIP-932): the same
request sequences to both brokers, answers compared field by field — ShareGroupHeartbeat,
ShareGroupDescribe, ShareFetch (acquired ranges, delivery counts, `batch_size`,
`max_records`, the wait for `min_bytes` up to `max_wait_ms`), ShareAcknowledge, DescribeShareGroupOffsets, AlterShareGroupOffsets,
DeleteShareGroupOffsets, and ListGroups/DescribeGroups/DeleteGroups with a share group,
with the bad inputs of KIP-932 (offsets not acquired, stale member epochs, share session
epochs out of order, unknown sessions, unknown topic ids, invalid group and member ids).

Kafka 4.1 serves share groups behind `group.share.enable=true` (an internal switch: its
KafkaApis.isShareGroupProtocolEnabled is that or the `share.version` feature at 1);
rafka always serves them. This module runs its own Kafka node with the switch on (the
session's shared oracle keeps Kafka's defaults, which other modules compare against).

What is timing-dependent in Kafka and therefore compared only once settled: a share
group's assignment (Kafka assigns a partition only after the share coordinator has
initialised its state, so the first heartbeats may carry none) and the first fetch of a
share-partition (Kafka loads its state asynchronously; a fetch may come back empty
before). The tests poll both brokers until the state is reached, then compare.
"""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import Broker
from oracle import (SHARED_CONFIG, KafkaOracle, Pair, RawClient, create_topic, decode_records,
                    running_pair, records, share_messages)  # noqa: F401 - share_messages is a fixture

GROUP = 32  # ConfigResource type of a group

NONE = 0
INVALID_REQUEST = 42
GROUP_ID_NOT_FOUND = 69
UNKNOWN_MEMBER_ID = 25
FENCED_MEMBER_EPOCH = 110
INVALID_RECORD_STATE = 121
SHARE_SESSION_NOT_FOUND = 122
INVALID_SHARE_SESSION_EPOCH = 123
UNKNOWN_TOPIC_ID = 100
NON_EMPTY_GROUP = 68
INVALID_GROUP_ID = 24

ACCEPT, RELEASE, REJECT = 1, 2, 3
SETTLE_TIMEOUT_S = 60.0


class ShareKafka(KafkaOracle):
    """The Kafka oracle with share groups served."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.config["group.share.enable"] = "true"
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))


@pytest.fixture(scope="module")
def share(tmp_path_factory, share_messages):
    kafka = ShareKafka(tmp_path_factory.mktemp("kafka-share"))
    rafka = Broker(tmp_path_factory.mktemp("rafka-share"), dict(SHARED_CONFIG))
    yield from running_pair(kafka, rafka)


def name(label: str) -> str:
    return f"share-{label}-{uuid.uuid4().hex[:8]}"


def member_uuid() -> str:
    """A member id as Kafka's share consumers make one (Uuid.toString: url-safe base64)."""
    import base64
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def topic_ids(pair: Pair, topic: str) -> dict[str, str]:
    ids = {}
    for side in ("kafka", "rafka"):
        md = pair.send(side, "Metadata", 12, topics=[{"name": topic}],
                       allow_auto_topic_creation=False)
        ids[side] = md["topics"][0]["topic_id"]
    return ids


def produce(pair: Pair, topic: str, batches: list[int], partition: int = 0) -> None:
    """One Produce (one record batch) per entry of `batches`, of that many records."""
    n = 0
    for size in batches:
        values = [f"v{n + i}".encode() for i in range(size)]
        n += size
        for side in ("kafka", "rafka"):
            answer = pair.send(side, "Produce", 9, transactional_id=None, acks=-1,
                               timeout_ms=10000, topic_data=[{"name": topic, "partition_data": [
                                   {"index": partition, "records": records(*values)}]}])
            code = answer["responses"][0]["partition_responses"][0]["error_code"]
            assert code == 0, f"{side}: Produce to {topic}: {answer}"


def earliest(pair: Pair, group: str) -> None:
    """share.auto.offset.reset=earliest for the group on both brokers."""
    set_group_config(pair, group, "share.auto.offset.reset", "earliest")


def set_group_config(pair: Pair, group: str, name: str, value: str) -> None:
    """The group config `name`=`value` on both brokers, once each describes it."""
    for side in ("kafka", "rafka"):
        answer = pair.send(side, "IncrementalAlterConfigs", 1,
                           resources=[{"resource_type": GROUP, "resource_name": group,
                                       "configs": [{"name": name, "config_operation": 0,
                                                    "value": value}]}],
                           validate_only=False)
        assert answer["responses"][0]["error_code"] == 0, f"{side}: {answer}"
    # Kafka applies group configs through its metadata log: wait until it describes it.
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    for side in ("kafka", "rafka"):
        while True:
            answer = pair.send(side, "DescribeConfigs", 4, resources=[
                {"resource_type": GROUP, "resource_name": group,
                 "configuration_keys": [name]}],
                include_synonyms=False, include_documentation=False)
            values = {c["name"]: c["value"] for c in answer["results"][0]["configs"]}
            if values.get(name) == value:
                break
            assert time.monotonic() < deadline, f"{side}: group config not applied: {answer}"
            time.sleep(0.05)


def heartbeat(pair: Pair, side: str, group: str, member: str, epoch: int,
              topics: list[str] | None) -> dict:
    return pair.send(side, "ShareGroupHeartbeat", 1, group_id=group, member_id=member,
                     member_epoch=epoch, rack_id=None, subscribed_topic_names=topics)


def find_coordinator(pair: Pair, side: str, group: str) -> None:
    """FindCoordinator as a client sends it first: in Kafka it creates __consumer_offsets,
    without which every group request answers NOT_COORDINATOR."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        answer = pair.send(side, "FindCoordinator", 4, key_type=0, coordinator_keys=[group])
        if answer["coordinators"][0]["error_code"] == 0:
            return
        assert time.monotonic() < deadline, f"{side}: FindCoordinator {group}: {answer}"
        time.sleep(0.1)


def assigned(answer: dict) -> dict[str, list[int]]:
    a = answer.get("assignment") or {}
    return {t["topic_id"]: sorted(t["partitions"]) for t in a.get("topic_partitions") or []}


def join(pair: Pair, side: str, group: str, member: str, topics: list[str],
         partitions: int) -> dict:
    """Heartbeats until the member is assigned `partitions` partitions of `topics`; the
    settled answer, partitions sorted."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    find_coordinator(pair, side, group)
    answer = heartbeat(pair, side, group, member, 0, topics)
    # The group coordinator's partition may still be loading (__consumer_offsets is
    # created by the first group request): NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
    # / COORDINATOR_NOT_AVAILABLE, retried as a client does.
    while answer["error_code"] in (14, 15, 16) and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = heartbeat(pair, side, group, member, 0, topics)
    assert answer["error_code"] == 0, f"{side}: {answer}"
    join.first = settled(answer)
    while sum(len(p) for p in assigned(answer).values()) < partitions:
        assert time.monotonic() < deadline, f"{side}: no assignment: {answer}"
        time.sleep(0.1)
        answer = heartbeat(pair, side, group, member, answer["member_epoch"], topics)
        assert answer["error_code"] == 0, f"{side}: {answer}"
    return settled(answer)


def settled(answer: dict) -> dict:
    answer = dict(answer)
    if answer.get("assignment"):
        answer["assignment"] = {"topic_partitions": sorted(
            ({"topic_id": t["topic_id"], "partitions": sorted(t["partitions"])}
             for t in answer["assignment"]["topic_partitions"]),
            key=lambda t: t["topic_id"])}
    return answer


def fetch_fields(group: str, member: str, epoch: int, partitions: list[tuple[str, int, list]],
                 max_records: int = 100, batch_size: int = 100, max_wait_ms: int = 0,
                 min_bytes: int = 1, forgotten: list | None = None) -> dict:
    topics: dict[str, list] = {}
    for topic_id, index, acks in partitions:
        topics.setdefault(topic_id, []).append(
            {"partition_index": index, "acknowledgement_batches": acks})
    return {"group_id": group, "member_id": member, "share_session_epoch": epoch,
            "max_wait_ms": max_wait_ms, "min_bytes": min_bytes, "max_bytes": 1 << 20,
            "max_records": max_records, "batch_size": batch_size,
            "forgotten_topics_data": forgotten or [],
            "topics": [{"topic_id": t, "partitions": ps} for t, ps in topics.items()]}


def acks(first: int, last: int, *types: int) -> dict:
    return {"first_offset": first, "last_offset": last, "acknowledge_types": list(types)}


def acquired(answer: dict) -> list[tuple[int, int, int]]:
    return [(a["first_offset"], a["last_offset"], a["delivery_count"])
            for t in answer.get("responses") or [] for p in t["partitions"]
            for a in p["acquired_records"]]


def offsets(answer: dict) -> list[int]:
    return [r["offset"] for t in answer.get("responses") or [] for p in t["partitions"]
            for r in decode_records(p["records"])]


class Member:
    """One member of a share group on one broker: its member id, member epoch and share
    session epoch."""

    def __init__(self, pair: Pair, side: str, group: str, member: str | None = None):
        self.pair, self.side, self.group = pair, side, group
        self.first: dict = {}
        self.joined: dict = {}
        self.member = member or member_uuid()
        self.epoch = 0
        self.session_epoch = 0

    def next_session_epoch(self) -> int:
        epoch = self.session_epoch
        self.session_epoch += 1
        return epoch

    def fetch(self, partitions, **kw) -> dict:
        return self.pair.send(self.side, "ShareFetch", 1, **fetch_fields(
            self.group, self.member, self.next_session_epoch(), partitions, **kw))

    def acknowledge(self, topic_id: str, batches: list[dict], partition: int = 0) -> dict:
        return self.pair.send(self.side, "ShareAcknowledge", 1, group_id=self.group,
                              member_id=self.member,
                              share_session_epoch=self.next_session_epoch(),
                              topics=[{"topic_id": topic_id, "partitions": [
                                  {"partition_index": partition,
                                   "acknowledgement_batches": batches}]}])

    def fetch_until_acquired(self, partitions, want: int, **kw) -> dict:
        """Fetches until something is acquired: Kafka loads a share-partition's state
        asynchronously, and its first fetches may come back empty."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            answer = self.fetch(partitions, **kw)
            assert answer["error_code"] == 0, f"{self.side}: {answer}"
            if sum(b - a + 1 for a, b, _ in acquired(answer)) >= want or \
                    time.monotonic() > deadline:
                return answer
            partitions = [(t, i, []) for t, i, _ in partitions]
            time.sleep(0.05)

    def close(self) -> None:
        """The final ShareAcknowledge of the session, then leaving the group."""
        if self.session_epoch:
            self.pair.send(self.side, "ShareAcknowledge", 1, group_id=self.group,
                           member_id=self.member, share_session_epoch=-1, topics=[])
            self.session_epoch = 0
        left = heartbeat(self.pair, self.side, self.group, self.member, -1, None)
        assert left["error_code"] == 0, f"{self.side}: leaving {self.group}: {left}"


def members(pair: Pair, group: str, topic: str, partitions: int = 1) -> dict[str, Member]:
    out = {}
    member = member_uuid()  # one id on both brokers: error messages name it
    for side in ("kafka", "rafka"):
        m = Member(pair, side, group, member)
        answer = join(pair, side, group, m.member, [topic], partitions)
        m.first = join.first
        m.epoch = answer["member_epoch"]
        m.joined = answer
        out[side] = m
    return out


# -- ShareGroupHeartbeat and ShareGroupDescribe ------------------------------------------

def test_heartbeat_join_and_describe_answer_as_kafka(share):
    topic, group = name("hb"), name("g")
    create_topic(share, topic, partitions=2)
    m = members(share, group, topic, partitions=2)
    share.compare(m["kafka"].first, m["rafka"].first, "ShareGroupHeartbeat join")
    share.compare(m["kafka"].joined, m["rafka"].joined, "ShareGroupHeartbeat settled join")
    # A heartbeat at the member's epoch: the same epoch, no assignment change (null).
    answers = {side: heartbeat(share, side, group, m[side].member, m[side].epoch, None)
               for side in ("kafka", "rafka")}
    share.compare(answers["kafka"], answers["rafka"], "ShareGroupHeartbeat steady")
    describe = {side: share.send(side, "ShareGroupDescribe", 1, group_ids=[group],
                                 include_authorized_operations=True)
                for side in ("kafka", "rafka")}
    for d in describe.values():
        for g in d["groups"]:
            for member in g["members"]:
                member["assignment"] = settled({"assignment": member["assignment"]})["assignment"]
                member["client_host"] = "<host>"
    share.compare(describe["kafka"], describe["rafka"], "ShareGroupDescribe",
                  extra={"authorized_operations": lambda v: v})
    for side in ("kafka", "rafka"):
        m[side].close()


def test_the_simple_assignor_spreads_and_sticks_as_kafka(share):
    """Kafka's SimpleAssignor over one topic of four partitions, members joining and
    leaving one by one (ids "a", "b", "c": Java hashes 97, 98, 99): each member hashed to
    a partition, the rest round-robin, a joining member taking only what balance asks,
    a leaving member's partition handed to the first member under the bound. Each step
    is compared once every member has heartbeat its way to the group's assignment."""
    topic, group = name("assign"), name("g")
    create_topic(share, topic, partitions=4)

    def beat(side: str, member: str, epoch: int, topics: list[str] | None) -> dict:
        """A heartbeat, retried while the coordinator loads (14, 15, 16) as a client does."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            answer = heartbeat(share, side, group, member, epoch, topics)
            if answer["error_code"] not in (14, 15, 16) or time.monotonic() > deadline:
                assert answer["error_code"] == 0, f"{side}: {answer}"
                return answer
            time.sleep(0.1)

    def settle(side: str, epochs: dict[str, int]) -> dict[str, list[int]]:
        """Heartbeats each member until all are at the group's assignment epoch; their
        assignments, by member."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            described = share.send(side, "ShareGroupDescribe", 1, group_ids=[group],
                                   include_authorized_operations=False)["groups"][0]
            target = described["assignment_epoch"]
            owned = {m["member_id"]: sorted(p for t in m["assignment"]["topic_partitions"]
                                            for p in t["partitions"])
                     for m in described["members"]}
            if set(owned) == set(epochs) and all(
                    m["member_epoch"] == target for m in described["members"]) and \
                    sum(map(len, owned.values())) >= 4:
                return owned
            assert time.monotonic() < deadline, f"{side}: not settled: {described}"
            for member, epoch in epochs.items():
                epochs[member] = beat(side, member, epoch, None)["member_epoch"]
            time.sleep(0.05)

    steps = []
    epochs = {side: {} for side in ("kafka", "rafka")}
    for step in (["a"], ["b"], ["c"], ["-c"]):
        seen = {}
        for side in ("kafka", "rafka"):
            find_coordinator(share, side, group)
            for member in step:
                if member.startswith("-"):
                    beat(side, member[1:], -1, None)
                    del epochs[side][member[1:]]
                    continue
                epochs[side][member] = beat(side, member, 0, [topic])["member_epoch"]
            seen[side] = settle(side, epochs[side])
        steps.append(seen)
        assert seen["rafka"] == seen["kafka"], f"after {step}: {seen}"
    # What the rules give: b is hashed to 2 and a keeps 0 (its own, under the bound of
    # 2) besides its hashed 1, then takes 3 round-robin (one past the bound); c is hashed
    # to 3 and a keeps 0 and 1; when c leaves, 3 goes round-robin to a again.
    assert [s["rafka"] for s in steps] == [
        {"a": [0, 1, 2, 3]},
        {"a": [0, 1, 3], "b": [2]},
        {"a": [0, 1], "b": [2], "c": [3]},
        {"a": [0, 1, 3], "b": [2]},
    ]


def test_heartbeat_bad_input_answers_as_kafka(share):
    topic, group = name("hbbad"), name("g")
    create_topic(share, topic)
    m = members(share, group, topic)
    stranger, nogroup = member_uuid(), name("nogroup")
    cases = [
        ("stale member epoch", lambda side: heartbeat(share, side, group, m[side].member,
                                                      m[side].epoch + 5, [topic])),
        ("unknown member", lambda side: heartbeat(share, side, group, stranger, 3,
                                                  [topic])),
        ("empty group id", lambda side: heartbeat(share, side, "", member_uuid(), 0, [topic])),
        ("empty member id", lambda side: heartbeat(share, side, group, "", 0, [topic])),
        ("join without topics", lambda side: heartbeat(share, side, group, member_uuid(), 0,
                                                       None)),
        ("bad epoch", lambda side: heartbeat(share, side, group, member_uuid(), -5, [topic])),
        ("leave unknown member", lambda side: heartbeat(share, side, group, stranger, -1,
                                                        None)),
        ("leave unknown group", lambda side: heartbeat(share, side, nogroup, stranger, -1,
                                                       None)),
        # The request is checked before the group is looked up: INVALID_REQUEST, not
        # GROUP_ID_NOT_FOUND, and no group is created by a refused first heartbeat.
        ("bad epoch, unknown group", lambda side: heartbeat(share, side, nogroup, stranger,
                                                            -5, [topic])),
        ("join an unknown group without topics",
         lambda side: heartbeat(share, side, nogroup, stranger, 0, None)),
    ]
    failures = []
    for what, send in cases:
        k, r = send("kafka"), send("rafka")
        try:
            share.compare(k, r, f"ShareGroupHeartbeat {what}")
        except AssertionError as e:
            failures.append(str(e))
    unknown = name("unknown")
    describe = {side: share.send(side, "ShareGroupDescribe", 1,
                                 group_ids=["", unknown, nogroup],
                                 include_authorized_operations=False)
                for side in ("kafka", "rafka")}
    try:
        share.compare(describe["kafka"], describe["rafka"], "ShareGroupDescribe unknown groups")
    except AssertionError as e:
        failures.append(str(e))
    for side in ("kafka", "rafka"):
        m[side].close()
    assert not failures, "\n\n".join(failures)


# -- ShareFetch and ShareAcknowledge -----------------------------------------------------

def test_fetch_acknowledge_and_redelivery_answer_as_kafka(share):
    topic, group = name("fetch"), name("g")
    create_topic(share, topic)
    produce(share, topic, [5, 3, 2])
    earliest(share, group)
    ids = topic_ids(share, topic)
    m = members(share, group, topic)
    first = {side: m[side].fetch_until_acquired([(ids[side], 0, [])], 10)
             for side in ("kafka", "rafka")}
    share.compare(first["kafka"], first["rafka"], "ShareFetch first acquisition")
    assert acquired(first["rafka"]) == [(0, 9, 1)]
    assert offsets(first["rafka"]) == list(range(10))
    # Release 0-4, accept 5-7, reject 8-9 (ShareAcknowledge answers once the state is
    # written), then fetch: 0-4 come back with delivery count 2. (Piggy-backed on a
    # ShareFetch, Kafka runs the acknowledgements and the fetch side by side
    # (KafkaApis.handleShareFetchRequest): whether that same answer already redelivers
    # them is a race there; rafka applies the acknowledgements first.)
    answers = {side: m[side].acknowledge(ids[side], [acks(0, 4, RELEASE), acks(5, 7, ACCEPT),
                                                     acks(8, 9, REJECT)])
               for side in ("kafka", "rafka")}
    share.compare(answers["kafka"], answers["rafka"], "ShareAcknowledge release/accept/reject")
    again = {side: m[side].fetch_until_acquired([(ids[side], 0, [])], 5)
             for side in ("kafka", "rafka")}
    share.compare(again["kafka"], again["rafka"], "ShareFetch redelivery")
    # The in-flight batch 0-9 was acknowledged in parts: Kafka tracks it per offset
    # now, and redelivers offset by offset.
    assert acquired(again["rafka"]) == [(o, o, 2) for o in range(5)]
    # Offsets not acquired (done already, and never delivered): INVALID_RECORD_STATE.
    # Past the acquired records Kafka answers INVALID_REQUEST ("Batch record not found.
    # The first offset in request is past acquired records.").
    for what, batch, code in (("accepted offsets", [acks(5, 7, ACCEPT)], INVALID_RECORD_STATE),
                              ("offsets past the end", [acks(20, 21, ACCEPT)], INVALID_REQUEST)):
        answers = {side: m[side].acknowledge(ids[side], batch) for side in ("kafka", "rafka")}
        share.compare(answers["kafka"], answers["rafka"], f"ShareAcknowledge {what}")
        part = answers["rafka"]["responses"][0]["partitions"][0]
        assert part["error_code"] == code, part
    # Accept what is acquired: the start offset moves to 10.
    answers = {side: m[side].acknowledge(ids[side], [acks(0, 4, ACCEPT)])
               for side in ("kafka", "rafka")}
    share.compare(answers["kafka"], answers["rafka"], "ShareAcknowledge accept")
    for side in ("kafka", "rafka"):
        m[side].close()
    # Kafka's share-partition writes the start offset it had before an acknowledgement
    # and moves it once written: with nothing written after the last one, Kafka's
    # summary still says 0 here (its next write would carry 10). rafka writes the start
    # the acknowledgement leads to. Compared without the start offset.
    k, r = share.each("DescribeShareGroupOffsets", 0, groups=[
        {"group_id": group, "topics": [{"topic_name": topic, "partitions": [0]}]}])
    share.compare(k, r, "DescribeShareGroupOffsets after the acknowledgements",
                  extra={"start_offset": lambda v: "<start>"})
    part = r["groups"][0]["topics"][0]["partitions"][0]
    assert (part["start_offset"], part["error_code"]) == (10, 0)


def test_a_dropped_connection_gives_its_sessions_records_back_as_kafka(share):
    """A share consumer whose connection drops (killed, or a network failure) holding
    acquired records: its share session ends with the connection (Kafka's
    ShareSessionCache listens for disconnects) and the records go back at once, long before
    their locks (60 s here) would run out. Another member acquires them; their delivery
    count goes back to 1, as Kafka's releaseAcquiredRecords decrements it for a member
    that leaves."""
    topic, group = name("drop"), name("g")
    create_topic(share, topic)
    produce(share, topic, [4])
    earliest(share, group)
    set_group_config(share, group, "share.record.lock.duration.ms", "60000")
    ids = topic_ids(share, topic)
    first = members(share, group, topic)
    held = {side: first[side].fetch_until_acquired([(ids[side], 0, [])], 4)
            for side in ("kafka", "rafka")}
    share.compare(held["kafka"], held["rafka"], "ShareFetch of the member to drop")
    assert acquired(held["rafka"]) == [(0, 3, 1)]
    second = members(share, group, topic)
    for side in ("kafka", "rafka"):
        # The connection that opened the first member's share session goes; the next
        # requests go over a new one.
        share.reconnect(side)
    started = time.monotonic()
    again = {side: second[side].fetch_until_acquired([(ids[side], 0, [])], 4)
             for side in ("kafka", "rafka")}
    took = time.monotonic() - started
    share.compare(again["kafka"], again["rafka"], "ShareFetch after the drop")
    assert acquired(again["rafka"]) == [(0, 3, 1)]
    assert took < 30, f"the records came back after {took:.1f} s: their locks ran out first"
    for side in ("kafka", "rafka"):
        second[side].close()


def test_share_session_bad_input_answers_as_kafka(share):
    topic, group = name("sess"), name("g")
    create_topic(share, topic)
    produce(share, topic, [2])
    earliest(share, group)
    ids = topic_ids(share, topic)
    m = members(share, group, topic)
    for side in ("kafka", "rafka"):
        m[side].fetch_until_acquired([(ids[side], 0, [])], 2)
    failures = []

    def check(what: str, send) -> None:
        k, r = send("kafka"), send("rafka")
        try:
            share.compare(k, r, what)
        except AssertionError as e:
            failures.append(str(e))

    def fetch(side, epoch, parts, member=None, group_id=group):
        return share.send(side, "ShareFetch", 1, **fetch_fields(
            group_id, member or m[side].member, epoch, parts))

    # A topic id nobody knows added to the session: Kafka 4.1.1 fails the whole request
    # (error -1, UNKNOWN_SERVER_ERROR, no partitions: its share fetch throws on the
    # topic's missing name) where its ShareSessionContext means UNKNOWN_TOPIC_ID for the
    # partition; rafka answers the latter, the member's other partitions untouched.
    unknown_topic = str(uuid.uuid4())
    kafka_answer = fetch("kafka", m["kafka"].next_session_epoch(), [(unknown_topic, 0, [])])
    assert kafka_answer["error_code"] in (-1, 0), kafka_answer
    rafka_answer = fetch("rafka", m["rafka"].next_session_epoch(), [(unknown_topic, 0, [])])
    assert rafka_answer["error_code"] == 0, rafka_answer
    assert [(t["topic_id"], [p["error_code"] for p in t["partitions"]])
            for t in rafka_answer["responses"]] == [(unknown_topic, [UNKNOWN_TOPIC_ID])]
    if kafka_answer["error_code"] == -1:
        # Kafka's failed request did not move its session's epoch: realign.
        m["kafka"].session_epoch -= 1
    stranger = member_uuid()
    check("ShareFetch session epoch out of order",
          lambda side: fetch(side, m[side].session_epoch + 3, [(ids[side], 0, [])]))
    check("ShareFetch unknown session",
          lambda side: fetch(side, 1, [(ids[side], 0, [])], member=stranger))
    check("ShareAcknowledge session epoch out of order",
          lambda side: share.send(side, "ShareAcknowledge", 1, group_id=group,
                                  member_id=m[side].member,
                                  share_session_epoch=m[side].session_epoch + 7, topics=[]))
    check("ShareAcknowledge unknown session",
          lambda side: share.send(side, "ShareAcknowledge", 1, group_id=group,
                                  member_id=stranger, share_session_epoch=1, topics=[]))
    check("ShareFetch acknowledgements on the initial epoch",
          lambda side: fetch(side, 0, [(ids[side], 0, [acks(0, 0, ACCEPT)])],
                             member=stranger))
    check("ShareFetch empty group id",
          lambda side: fetch(side, 0, [(ids[side], 0, [])], group_id=""))
    check("ShareFetch empty member id",
          lambda side: fetch(side, 0, [(ids[side], 0, [])], member=""))
    # Acknowledging offsets another member holds: this member did not acquire them.
    others = {}
    other_id = member_uuid()
    for side in ("kafka", "rafka"):
        other = Member(share, side, group, other_id)
        join(share, side, group, other.member, [topic], 0)
        other.fetch([(ids[side], 0, [])])
        others[side] = other
    check("ShareAcknowledge of records another member holds",
          lambda side: others[side].acknowledge(ids[side], [acks(0, 1, ACCEPT)]))
    for side in ("kafka", "rafka"):
        others[side].close()
        m[side].close()
    assert not failures, "\n\n".join(failures)


def test_batch_size_and_max_records_shape_acquisitions_as_kafka(share):
    """Kafka acquires whole log batches (max_records is a soft limit: the batch holding
    the last wanted offset is acquired to its end), and splits what it acquires into
    AcquiredRecords at batch boundaries once a range would exceed batch_size."""
    failures = []
    for label, batches, max_records, batch_size in (
            ("split by batch_size", [4, 4, 4], 100, 5),
            ("max_records inside a batch", [4, 4, 4], 6, 100),
            ("both", [3, 3, 3, 3], 7, 2),
            ("one batch larger than batch_size", [10], 100, 3)):
        topic, group = name("bs"), name("g")
        create_topic(share, topic)
        produce(share, topic, batches)
        earliest(share, group)
        ids = topic_ids(share, topic)
        m = members(share, group, topic)
        answers = {side: m[side].fetch_until_acquired(
            [(ids[side], 0, [])], 1, max_records=max_records, batch_size=batch_size)
            for side in ("kafka", "rafka")}
        try:
            share.compare(answers["kafka"], answers["rafka"], f"ShareFetch {label}")
        except AssertionError as e:
            failures.append(str(e))
        for side in ("kafka", "rafka"):
            m[side].close()
    assert not failures, "\n\n".join(failures)


# -- min_bytes and max_wait_ms -----------------------------------------------------------

MIN_BYTES = 1000
VALUE = b"x" * 100  # a one-record batch of it is ~170 bytes, ten of them ~1100


def produce_values(pair: Pair, side: str, topic: str, count: int) -> None:
    """One Produce (one batch) of `count` records of VALUE to partition 0 of one side."""
    answer = pair.send(side, "Produce", 9, transactional_id=None, acks=-1, timeout_ms=10000,
                       topic_data=[{"name": topic, "partition_data": [
                           {"index": 0, "records": records(*[VALUE] * count)}]}])
    code = answer["responses"][0]["partition_responses"][0]["error_code"]
    assert code == 0, f"{side}: Produce to {topic}: {answer}"


class WaitingFetch:
    """A ShareFetch of `member` on a connection of its own, answered in a thread; `done`
    is the monotonic time the answer came."""

    def __init__(self, member: Member, topic_id: str, acknowledgements: list, **kw):
        import threading
        fields = fetch_fields(member.group, member.member, member.next_session_epoch(),
                              [(topic_id, 0, acknowledgements)], **kw)
        self.client = RawClient("127.0.0.1", member.pair.port(member.side))
        self.answer: dict | None = None
        self.error: BaseException | None = None
        self.done: float | None = None
        self.sent = time.monotonic()

        def run():
            try:
                self.answer = self.client.request("ShareFetch", 1, **fields)
            except BaseException as e:  # noqa: BLE001 - reported by result()
                self.error = e
            self.done = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def answered_within(self, seconds: float) -> bool:
        self.thread.join(seconds)
        return not self.thread.is_alive()

    def result(self, timeout_s: float = SETTLE_TIMEOUT_S) -> dict:
        self.thread.join(timeout_s)
        self.client.close()
        assert not self.thread.is_alive(), "the ShareFetch never answered"
        assert self.error is None, f"the ShareFetch failed: {self.error!r}"
        return self.answer


def test_fetch_waits_for_min_bytes_and_answers_after_max_wait_as_kafka(share):
    """Kafka's DelayedShareFetch: with min_bytes above what the partition holds from the
    fetch offset on, a ShareFetch acquires nothing and waits — a produce that brings the
    bytes up to min_bytes completes it before max_wait_ms, with everything; otherwise it
    answers when max_wait_ms runs out with what it can acquire then (at once for 0).
    Acknowledgements it carries are applied while it waits."""
    topic, group = name("minb"), name("g")
    create_topic(share, topic)
    earliest(share, group)
    ids = topic_ids(share, topic)
    m = members(share, group, topic)
    answers: dict[str, dict[str, dict]] = {"kafka": {}, "rafka": {}}
    for side in ("kafka", "rafka"):
        member, tid, got = m[side], ids[side], answers[side]
        # The share-partition loaded and its first record delivered and accepted: the
        # fetch offset is at the log end (1).
        produce_values(share, side, topic, 1)
        first = member.fetch_until_acquired([(tid, 0, [])], 1)
        assert acquired(first) == [(0, 0, 1)], f"{side}: {first}"
        ack = member.acknowledge(tid, [acks(0, 0, ACCEPT)])
        assert ack["error_code"] == 0, f"{side}: {ack}"

        # One small batch (offset 1): below min_bytes, so the fetch waits for more.
        produce_values(share, side, topic, 1)
        waiting = WaitingFetch(member, tid, [], max_wait_ms=30000, min_bytes=MIN_BYTES)
        assert not waiting.answered_within(0.5), \
            f"{side}: answered below min_bytes before max_wait_ms: {waiting.answer}"
        # Ten more records (offsets 2-11) bring it past min_bytes: the answer comes now,
        # after that produce and long before max_wait_ms, with both batches.
        produced_at = time.monotonic()
        produce_values(share, side, topic, 10)
        got["satisfied"] = waiting.result()
        took = waiting.done - waiting.sent
        assert waiting.done >= produced_at, side
        assert took < 20, f"{side}: the answer took {took:.1f} s"
        assert acquired(got["satisfied"]) == [(1, 11, 1)], f"{side}: {got['satisfied']}"
        assert offsets(got["satisfied"]) == list(range(1, 12)), side
        ack = member.acknowledge(tid, [acks(1, 11, ACCEPT)])
        assert ack["error_code"] == 0, f"{side}: {ack}"

        # Never enough: the answer comes after max_wait_ms, with the record there is
        # (offset 12) acquired then.
        produce_values(share, side, topic, 1)
        waiting = WaitingFetch(member, tid, [], max_wait_ms=1500, min_bytes=MIN_BYTES)
        got["expired"] = waiting.result()
        took = waiting.done - waiting.sent
        assert took >= 1.4, f"{side}: answered after {took:.2f} s, before max_wait_ms"
        assert acquired(got["expired"]) == [(12, 12, 1)], f"{side}: {got['expired']}"

        # Acknowledgements on a fetch that waits: applied at once (rafka's described start
        # offset moves past them while the fetch still waits; Kafka's lags a write behind,
        # see above), their result in the answer after max_wait_ms, nothing new acquired.
        waiting = WaitingFetch(member, tid, [acks(12, 12, ACCEPT)], max_wait_ms=3000,
                               min_bytes=MIN_BYTES)
        if side == "rafka":
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while True:
                d = share.send(side, "DescribeShareGroupOffsets", 0, groups=[
                    {"group_id": group, "topics": [{"topic_name": topic, "partitions": [0]}]}])
                if d["groups"][0]["topics"][0]["partitions"][0]["start_offset"] == 13:
                    break
                assert time.monotonic() < deadline, f"acknowledgement not applied: {d}"
                time.sleep(0.05)
            assert waiting.thread.is_alive(), \
                f"the fetch answered before max_wait_ms: {waiting.answer}"
        got["acknowledged"] = waiting.result()
        assert time.monotonic() - waiting.sent >= 2.9, side
        assert acquired(got["acknowledged"]) == [], f"{side}: {got['acknowledged']}"

        # max_wait_ms 0: at once, with what there is, min_bytes or not.
        produce_values(share, side, topic, 1)
        got["no wait"] = member.fetch([(tid, 0, [])], max_wait_ms=0, min_bytes=MIN_BYTES)
        assert acquired(got["no wait"]) == [(13, 13, 1)], f"{side}: {got['no wait']}"
    for what in ("satisfied", "expired", "acknowledged", "no wait"):
        share.compare(answers["kafka"][what], answers["rafka"][what],
                      f"ShareFetch min_bytes {MIN_BYTES}: {what}")
    for side in ("kafka", "rafka"):
        m[side].close()


# -- offsets of a share group ------------------------------------------------------------

def describe_offsets(pair: Pair, group: str, topic: str | None, version: int = 0) -> dict:
    topics = None if topic is None else [{"topic_name": topic, "partitions": [0]}]
    k, r = pair.each("DescribeShareGroupOffsets", version,
                     groups=[{"group_id": group, "topics": topics}])
    return pair.compare(k, r, f"DescribeShareGroupOffsets {group} {topic}",
                        extra={"lag": lambda v: v})


def test_share_group_offsets_apis_answer_as_kafka(share):
    topic, group = name("offs"), name("g")
    create_topic(share, topic)
    produce(share, topic, [4])
    earliest(share, group)
    ids = topic_ids(share, topic)
    failures = []

    def check(what, api, version, **fields):
        k, r = share.each(api, version, **fields)
        try:
            share.compare(k, r, what)
        except AssertionError as e:
            failures.append(str(e))
        return r

    # Unknown group, unknown topic.
    check("DescribeShareGroupOffsets unknown group", "DescribeShareGroupOffsets", 0,
          groups=[{"group_id": name("nogroup"), "topics": [
              {"topic_name": topic, "partitions": [0]}]}])
    m = members(share, group, topic)
    for side in ("kafka", "rafka"):
        answer = m[side].fetch_until_acquired([(ids[side], 0, [])], 4)
        m[side].fetch([(ids[side], 0, [acks(0, 1, ACCEPT)])])
    # While the group consumes, Kafka's written start offset lags: its share-partition
    # writes the start offset it had before the acknowledgement and moves it once the
    # write succeeded, so the summary shows 0 until the next write (the session's close
    # below). rafka writes the start the acknowledgement leads to. Compared without it.
    no_start = {"start_offset": lambda v: "<start>"}
    for topics in ([{"topic_name": topic, "partitions": [0]}], None):
        k, r = share.each("DescribeShareGroupOffsets", 0,
                          groups=[{"group_id": group, "topics": topics}])
        try:
            share.compare(k, r, f"DescribeShareGroupOffsets live group {topics}", extra=no_start)
        except AssertionError as e:
            failures.append(str(e))
        part = r["groups"][0]["topics"][0]["partitions"][0]
        assert part["start_offset"] == 2, r
    # Altering offsets of a group with members: rafka answers NON_EMPTY_GROUP, as
    # Kafka's group coordinator decides; Kafka 4.1.1's KafkaApis then loses that error
    # (AlterShareGroupOffsetsResponse.Builder.merge copies the partitions only) and
    # answers error 0 with no partitions, altering nothing.
    k, r = share.each("AlterShareGroupOffsets", 0, group_id=group, topics=[
        {"topic_name": topic, "partitions": [{"partition_index": 0, "start_offset": 3}]}])
    assert (k["error_code"], k["responses"]) == (0, []), k
    assert (r["error_code"], r["responses"]) == (NON_EMPTY_GROUP, []), r
    check("DeleteShareGroupOffsets non-empty group", "DeleteShareGroupOffsets", 0,
          group_id=group, topics=[{"topic_name": topic}])
    check("DeleteGroups non-empty share group", "DeleteGroups", 2, groups_names=[group])
    check("DescribeGroups of a share group", "DescribeGroups", 5, groups=[group],
          include_authorized_operations=False)
    k, r = share.each("ListGroups", 5, states_filter=[], types_filter=["share"])
    for answer in (k, r):
        answer["groups"] = [g for g in answer["groups"] if g["group_id"] == group]
    try:
        share.compare(k, r, "ListGroups types=share")
    except AssertionError as e:
        failures.append(str(e))
    for side in ("kafka", "rafka"):
        m[side].close()
    # Empty now: the offsets can be altered, then deleted. (Kafka 4.1.1 answers this
    # alter with the unknown topic's error only and alters nothing — its coordinator
    # refused the request and KafkaApis dropped the error, see above — though the
    # member left with error 0. Not understood yet; rafka's answer is checked alone.)
    missing = name("missing")
    r = share.send("rafka", "AlterShareGroupOffsets", 0, group_id=group, topics=[
        {"topic_name": topic, "partitions": [{"partition_index": 0, "start_offset": 3}]},
        {"topic_name": missing, "partitions": [{"partition_index": 0, "start_offset": 0}]}])
    assert r["error_code"] == 0, r
    assert sorted((t["topic_name"], p["error_code"]) for t in r["responses"]
                  for p in t["partitions"]) == sorted([(topic, 0), (missing, 3)]), r
    r = share.send("rafka", "DescribeShareGroupOffsets", 0, groups=[
        {"group_id": group, "topics": [{"topic_name": topic, "partitions": [0]}]}])
    assert r["groups"][0]["topics"][0]["partitions"][0]["start_offset"] == 3, r
    check("DeleteShareGroupOffsets empty group", "DeleteShareGroupOffsets", 0,
          group_id=group, topics=[{"topic_name": topic}, {"topic_name": name("missing")}])
    check("DescribeShareGroupOffsets after delete", "DescribeShareGroupOffsets", 0,
          groups=[{"group_id": group, "topics": [{"topic_name": topic, "partitions": [0]}]}])
    check("DeleteGroups empty share group", "DeleteGroups", 2, groups_names=[group])
    assert not failures, "\n\n".join(failures)
