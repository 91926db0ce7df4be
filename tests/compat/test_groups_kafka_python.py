"""Consumer groups through kafka-python: its own classic group protocol code (range and
roundrobin assignors, a heartbeat thread), its committed offsets, and KafkaAdminClient's
group APIs. Records are produced with confluent-kafka for speed; everything group-related
goes through kafka-python.

Every test has its own topic and group; states are awaited by polling the members
against a deadline, never by sleeping.
"""

from __future__ import annotations

import time

import pytest
from kafka import TopicPartition
from kafka import errors as Errors
from kafka.admin import KafkaAdminClient
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.structs import MemberState, OffsetAndMetadata

from compat_helpers import confluent_admin, wait_until
from groups_helpers import (PARTITIONS, SESSION_TIMEOUT_MS, SHORT_SESSION_TIMEOUT_MS, TIMEOUT_S,
                            KpMember, assert_each_record_once, assert_split, consume_all,
                            end_offsets, group_broker, members_of, new_topic, poll_until,
                            produce_keyed, split_covers)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from group_broker(tmp_path_factory.mktemp("rafka-groups-kp"))


@pytest.fixture
def fresh_broker(tmp_path):
    yield from group_broker(tmp_path)


def kp_admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)


@pytest.fixture(scope="module")
def admin(broker):
    client = kp_admin(broker.bootstrap)
    yield client
    client.close()


@pytest.fixture(scope="module")
def cf_admin(broker):
    return confluent_admin(broker.bootstrap)


@pytest.fixture
def members(broker):
    yield from members_of(KpMember, broker.bootstrap)


@pytest.fixture
def fresh_members(fresh_broker):
    yield from members_of(KpMember, fresh_broker.bootstrap)


def describe(admin, group: str) -> dict:
    return admin.describe_groups([group])[group]


def assigned_partitions(member_assignment, topic: str) -> set[int]:
    """Partitions of `topic` in a decoded ConsumerProtocolAssignment (a dict or a struct)."""
    if not member_assignment:
        return set()
    if isinstance(member_assignment, dict):
        topics = member_assignment["assigned_partitions"]
        return {p for t in topics if t["topic"] == topic for p in t["partitions"]}
    return {p for t in member_assignment.assigned_partitions if t.topic == topic
            for p in t.partitions}


def coordinator_view(admin, group: str, topic: str) -> dict[str, set[int]]:
    return {m["client_id"]: assigned_partitions(m["member_assignment"], topic)
            for m in describe(admin, group)["members"]}


def coordinator_agrees(admin, group: str, topic: str, ms) -> bool:
    d = describe(admin, group)
    if d["group_state"] != "Stable":
        return False
    return coordinator_view(admin, group, topic) == {m.name: m.partitions() for m in ms}


def committed_offsets(admin, group: str, topic: str) -> dict[int, int]:
    offsets = admin.list_group_offsets({group: None})[group]
    return {tp.partition: om.offset for tp, om in offsets.items()
            if tp.topic == topic and om.offset >= 0}


def high_watermarks(member: KpMember, topic: str, partitions) -> dict[int, int]:
    tps = [TopicPartition(topic, p) for p in partitions]
    return {tp.partition: o for tp, o in member.run(lambda c: c.end_offsets(tps)).items()}


def read_at_least(member: KpMember, n: int) -> None:
    """Let the member read n records and then stop reading (it stays in the group)."""
    poll_until([member], lambda: len(member.records) >= n, what=f"{n} records")


def commit_to(member: KpMember, topic: str, offsets: dict[int, int]) -> None:
    member.run(lambda c: c.commit(offsets={TopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
                                           for p, o in offsets.items()}))


def assert_committed_positions(committed: dict[int, int], records) -> None:
    """What KafkaConsumer.commit() stores: the position of every assigned partition,
    i.e. one past the last record read, or the reset position (0 here) for a partition
    nothing was read from yet."""
    seen = last_seen(records)
    assert set(seen) <= set(committed), f"committed {committed}, read up to {seen}"
    assert committed == {p: seen.get(p, -1) + 1 for p in committed}, \
        f"committed {committed}, read up to {seen}"


def last_seen(records) -> dict[int, int]:
    last: dict[int, int] = {}
    for p, o, _ in records:
        last[p] = max(last.get(p, -1), o)
    return last


# -- assignment and rebalances -------------------------------------------------------

def test_three_consumers_split_six_partitions(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-three")
    group = topic
    ms = [members.new(group, topic, f"three-{i}") for i in range(3)]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="3-way split")
    assert_split(ms, PARTITIONS)
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms),
               what="DescribeGroups to match the clients")

    produced = produce_keyed(broker.bootstrap, topic, 120, "three")
    consume_all(ms, len(produced))
    assert_each_record_once([r for m in ms for r in m.records], produced)
    for m in ms:
        assert {p for p, _, _ in m.records} <= m.partitions()


def test_fourth_consumer_joins_and_the_load_spreads(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-four")
    group = topic
    ms = [members.new(group, topic, f"four-{i}") for i in range(3)]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="3-way split")
    first = produce_keyed(broker.bootstrap, topic, 120, "four-a")
    consume_all(ms, len(first))
    ends = end_offsets(first, PARTITIONS)
    for m in ms:
        commit_to(m, topic, {p: ends[p] for p in m.partitions()})
    before = {m.name: m.partitions() for m in ms}

    ms.append(members.new(group, topic, "four-3"))
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="4-way split")
    assert_split(ms, PARTITIONS)
    assert {m.name: m.partitions() for m in ms[:3]} != before, "nobody gave anything up"
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms),
               what="DescribeGroups to match the clients")

    for m in ms:
        m.records.clear()
    second = produce_keyed(broker.bootstrap, topic, 120, "four-b")
    consume_all(ms, len(second))
    assert_each_record_once([r for m in ms for r in m.records], second)
    for m in ms:
        assert {p for p, _, _ in m.records} <= m.partitions()


def test_closed_consumer_partitions_move_to_the_rest(admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-close")
    group = topic
    ms = [members.new(group, topic, f"close-{i}") for i in range(3)]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="3-way split")
    leaving = ms.pop()
    orphaned = leaving.partitions()
    started = time.monotonic()
    leaving.close()  # LeaveGroup
    poll_until(ms, lambda: split_covers(ms, PARTITIONS),
               SESSION_TIMEOUT_MS / 1000 + 5, "the 2 others to take over")
    took = time.monotonic() - started
    assert_split(ms, PARTITIONS)
    assert orphaned <= set().union(*(m.partitions() for m in ms))
    assert took < SESSION_TIMEOUT_MS / 1000, f"took {took:.1f}s after LeaveGroup"
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms),
               what="DescribeGroups to show the 2 members")


def test_killed_consumer_partitions_move_after_its_session_times_out(admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-kill")
    group = topic
    ms = [members.new(group, topic, f"kill-{i}") for i in range(2)]
    victim = members.child("kafka-python", group, topic, "kill-child", SHORT_SESSION_TIMEOUT_MS)
    everyone = [*ms, victim]
    poll_until(everyone, lambda: split_covers(everyone, PARTITIONS), what="3-way split")
    orphaned = victim.partitions()
    assert coordinator_view(admin, group, topic)["kill-child"] == orphaned

    started = time.monotonic()
    victim.kill9()
    poll_until(ms, lambda: split_covers(ms, PARTITIONS),
               SHORT_SESSION_TIMEOUT_MS / 1000 + 8, "the 2 survivors to take over")
    took = time.monotonic() - started
    assert_split(ms, PARTITIONS)
    assert orphaned <= set().union(*(m.partitions() for m in ms))
    print(f"partitions moved {took:.1f}s after SIGKILL "
          f"(session timeout {SHORT_SESSION_TIMEOUT_MS} ms)")
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms),
               what="DescribeGroups to show the 2 survivors")


# -- committed offsets ---------------------------------------------------------------

def test_commit_then_restart_reads_every_record_exactly_once(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-resume", 4)
    group = topic
    produced = produce_keyed(broker.bootstrap, topic, 400, "resume")

    first = members.new(group, topic, "resume-1", limit=200)
    read_at_least(first, 200)
    first.run(lambda c: c.commit())  # the consumed positions
    seen = last_seen(first.records)
    first.close()
    assert_committed_positions(committed_offsets(admin, group, topic), first.records)

    second = members.new(group, topic, "resume-2")
    consume_all([second], len(produced) - len(first.records))
    starts: dict[int, int] = {}
    for p, o, _ in second.records:
        starts.setdefault(p, o)
    for p, start in starts.items():
        assert start == seen.get(p, -1) + 1, \
            f"partition {p}: resumed at {start}, committed {seen.get(p, -1) + 1}"
    assert_each_record_once(first.records + second.records, produced)


def test_two_groups_read_independently_and_lag_is_per_group(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-lag", 3)
    produced = produce_keyed(broker.bootstrap, topic, 300, "lag")
    ends = end_offsets(produced, 3)
    caught_up = members.new(f"{topic}-a", topic, "lag-a")
    halfway = members.new(f"{topic}-b", topic, "lag-b")
    consume_all([caught_up], len(produced))
    consume_all([halfway], len(produced))
    assert_each_record_once(caught_up.records, produced)
    assert_each_record_once(halfway.records, produced)

    commit_to(caught_up, topic, ends)
    half = {p: ends[p] // 2 for p in range(3)}
    commit_to(halfway, topic, half)
    hw = high_watermarks(caught_up, topic, range(3))
    assert hw == ends
    for group, want in [(f"{topic}-a", ends), (f"{topic}-b", half)]:
        committed = committed_offsets(admin, group, topic)
        assert committed == want, f"{group}: committed {committed}, want {want}"
        lag = {p: hw[p] - committed[p] for p in range(3)}
        assert lag == {p: ends[p] - want[p] for p in range(3)}, f"{group}: lag {lag}"


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_groups_resume_after_broker_restart(fresh_broker, fresh_members, how):
    bootstrap = fresh_broker.bootstrap
    cf_admin = confluent_admin(bootstrap)
    topic = new_topic(cf_admin, f"kp-grp-restart-{how}", 3)
    produced = produce_keyed(bootstrap, topic, 300, "restart")
    closed_group, live_group = f"{topic}-closed", f"{topic}-live"

    first = fresh_members.new(closed_group, topic, "restart-first", limit=150)
    read_at_least(first, 150)
    first.run(lambda c: c.commit())
    first.close()
    admin = kp_admin(bootstrap)
    try:
        committed_before = committed_offsets(admin, closed_group, topic)
        assert_committed_positions(committed_before, first.records)

        live = fresh_members.new(live_group, topic, "restart-live")
        consume_all([live], len(produced))
        commit_to(live, topic, end_offsets(produced, 3))
    finally:
        admin.close()

    if how == "sigterm":
        fresh_broker.restart()
    else:
        fresh_broker.kill9()
        fresh_broker.start()

    admin = kp_admin(bootstrap)
    try:
        states = {g["group_id"]: g["group_state"] for g in admin.list_groups()}
        assert states.get(closed_group) == "Empty", states
        assert live_group in states, states
        assert describe(admin, closed_group)["group_state"] == "Empty"
        assert committed_offsets(admin, closed_group, topic) == committed_before
        poll_until([live], lambda: coordinator_agrees(admin, live_group, topic, [live]),
                   what="the live member's group to be Stable with it after the restart")
    finally:
        admin.close()

    second = fresh_members.new(closed_group, topic, "restart-second")
    consume_all([second], len(produced) - len(first.records))
    assert_each_record_once(first.records + second.records, produced)

    live.records.clear()  # everything produced so far was read above
    more = produce_keyed(bootstrap, topic, 30, "restart-more")
    consume_all([live], len(more))
    assert_each_record_once(live.records, more)


# -- auto_offset_reset without a committed offset --------------------------------------

def test_auto_offset_reset_earliest_starts_at_the_log_start(broker, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-earliest", 1)
    produced = produce_keyed(broker.bootstrap, topic, 10, "earliest")
    m = members.new(topic, topic, "earliest", auto_offset_reset="earliest")
    consume_all([m], 10)
    assert [o for _, o, _ in m.records] == list(range(10))
    assert_each_record_once(m.records, produced)


def test_auto_offset_reset_latest_skips_what_was_there(broker, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-latest", 1)
    produce_keyed(broker.bootstrap, topic, 10, "old")
    m = members.new(topic, topic, "latest", auto_offset_reset="latest")
    poll_until([m], lambda: m.partitions() == {0}, what="assignment")
    # kafka-python resolves the position in position(): it must be the end, 10.
    assert m.run(lambda c: c.position(TopicPartition(topic, 0), timeout_ms=10_000)) == 10
    new = produce_keyed(broker.bootstrap, topic, 5, "new")
    consume_all([m], 5)
    assert [o for _, o, _ in m.records] == list(range(10, 15))
    assert_each_record_once(m.records, new)


def test_auto_offset_reset_none_fails_without_a_committed_offset(broker, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-none", 1)
    produce_keyed(broker.bootstrap, topic, 10, "none")
    m = members.new(topic, topic, "none", auto_offset_reset="none")
    with pytest.raises(Errors.NoOffsetForPartitionError):
        poll_until([m], lambda: m.records, what="NoOffsetForPartitionError")
    assert m.records == []
    m.close()

    commit_to(members.new(topic, topic, "none-commit", subscribe=False), topic, {0: 4})
    resumed = members.new(topic, topic, "none-resumed", auto_offset_reset="none")
    consume_all([resumed], 6)
    assert [o for _, o, _ in resumed.records] == list(range(4, 10))


# -- KafkaAdminClient ------------------------------------------------------------------

def test_list_groups_filters_by_state(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-list", 2)
    stable, empty = f"{topic}-stable", f"{topic}-empty"
    commit_to(members.new(empty, topic, "list-empty", subscribe=False), topic, {0: 0})
    m = members.new(stable, topic, "list-stable")
    poll_until([m], lambda: m.partitions() == {0, 1}, what="assignment")
    poll_until([m], lambda: coordinator_agrees(admin, stable, topic, [m]), what="Stable")

    def listed(states=None):
        return {g["group_id"]: g for g in admin.list_groups(states_filter=states)
                if g["group_id"] in (stable, empty)}

    every = listed()
    assert set(every) == {stable, empty}
    assert every[stable]["group_state"] == "Stable"
    assert every[stable]["protocol_type"] == "consumer"
    assert every[empty]["group_state"] == "Empty"
    assert set(listed(["Stable"])) == {stable}
    assert set(listed(["Empty"])) == {empty}
    assert set(listed(["Stable", "Empty"])) == {stable, empty}
    assert set(listed(["preparing-rebalance"])) == set()


def test_describe_groups_shows_members_and_assignments(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-describe")
    group = topic
    ms = [members.new(group, topic, f"describe-{i}") for i in range(2)]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="2-way split")
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms), what="Stable")

    d = describe(admin, group)
    assert d["error"] is None
    assert d["group_state"] == "Stable"
    assert d["protocol_type"] == "consumer"
    assert d["protocol_data"] in ("range", "roundrobin")
    by_client = {m["client_id"]: m for m in d["members"]}
    assert set(by_client) == {"describe-0", "describe-1"}
    for m in ms:
        described = by_client[m.name]
        assert described["client_host"].lstrip("/") == "127.0.0.1"
        assert described["member_id"].startswith(m.name)
        assert assigned_partitions(described["member_assignment"], topic) == m.partitions()

    unknown = describe(admin, f"{group}-unknown")
    assert unknown["group_state"] == "Dead"
    assert unknown["members"] == []


def test_delete_groups_refuses_an_active_group(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-delete", 2)
    group = topic
    m = members.new(group, topic, "delete")
    poll_until([m], lambda: m.partitions() == {0, 1}, what="assignment")
    commit_to(m, topic, {0: 0, 1: 0})

    assert admin.delete_groups([group]) == {group: "NonEmptyGroupError"}
    assert describe(admin, group)["group_state"] == "Stable"
    assert committed_offsets(admin, group, topic) == {0: 0, 1: 0}

    m.close()
    wait_until(lambda: describe(admin, group)["group_state"] == "Empty", TIMEOUT_S,
               "the group to be Empty after its only member left")
    assert admin.delete_groups([group]) == {group: "OK"}
    assert committed_offsets(admin, group, topic) == {}
    assert group not in {g["group_id"] for g in admin.list_groups()}
    assert admin.delete_groups([group]) == {group: "GroupIdNotFoundError"}


def test_alter_group_offsets_then_a_consumer_starts_there(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-alter", 2)
    group = topic
    produced = produce_keyed(broker.bootstrap, topic, 100, "alter")
    ends = end_offsets(produced, 2)
    target = {0: ends[0] // 3, 1: ends[1] - 1}
    result = admin.alter_group_offsets(
        group, {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in target.items()})
    assert result == {TopicPartition(topic, p): Errors.NoError for p in target}
    assert committed_offsets(admin, group, topic) == target

    m = members.new(group, topic, "alter")
    consume_all([m], sum(ends[p] - target[p] for p in range(2)))
    for p in range(2):
        offsets = [o for q, o, _ in m.records if q == p]
        assert offsets == list(range(target[p], ends[p])), f"partition {p}: {offsets[:5]}..."
    for q, o, v in m.records:
        assert v == produced[(q, o)]


def test_delete_group_offsets(broker, admin, cf_admin, members):
    """OffsetDelete (KIP-496): refused for a topic the active group subscribes to,
    allowed for one it does not, and for any topic once the group is empty."""
    topic = new_topic(cf_admin, "kp-grp-offdel", 2)
    other = new_topic(cf_admin, "kp-grp-offdel-other", 1)
    group = topic
    m = members.new(group, topic, "offdel")
    poll_until([m], lambda: m.partitions() == {0, 1}, what="assignment")
    commit_to(m, topic, {0: 1, 1: 2})
    m.run(lambda c: c.commit(offsets={TopicPartition(other, 0): OffsetAndMetadata(3, "", -1)}))

    subscribed = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    assert admin.delete_group_offsets(group, subscribed) == \
        {tp: Errors.GroupSubscribedToTopicError for tp in subscribed}
    assert admin.delete_group_offsets(group, [TopicPartition(other, 0)]) == \
        {TopicPartition(other, 0): Errors.NoError}
    assert committed_offsets(admin, group, other) == {}
    assert committed_offsets(admin, group, topic) == {0: 1, 1: 2}

    m.close()
    wait_until(lambda: describe(admin, group)["group_state"] == "Empty", TIMEOUT_S, "Empty")
    assert admin.delete_group_offsets(group, [TopicPartition(topic, 0)]) == \
        {TopicPartition(topic, 0): Errors.NoError}
    assert committed_offsets(admin, group, topic) == {1: 2}
    with pytest.raises(Errors.GroupIdNotFoundError):
        admin.delete_group_offsets(f"{group}-unknown", [TopicPartition(topic, 0)])


# -- static membership -----------------------------------------------------------------

# Range only: with kafka-python's cooperative-sticky assignor the same scenario also
# shows the broker rebalancing on a static rejoin (see STATIC_REJOIN_REBALANCES in
# test_groups_confluent.py), but kafka-python 3.0.12's cooperative rejoin loop is itself
# racy under short polls (members sometimes never settle), so it cannot be pinned here.
@pytest.mark.parametrize("who", ["leader", "follower"])
def test_static_member_restart_keeps_its_partitions(broker, admin, cf_admin, members, who):
    topic = new_topic(cf_admin, f"kp-grp-static-{who}")
    group = topic
    strategy = {"partition_assignment_strategy": (RangePartitionAssignor,)}
    first = members.new(group, topic, "static-a", group_instance_id="instance-a", **strategy)
    poll_until([first], lambda: first.partitions() == set(range(PARTITIONS)), what="first join")
    second = members.new(group, topic, "static-b", group_instance_id="instance-b", **strategy)
    ms = [first, second]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="2-way split")
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms), what="Stable")
    restarting, staying = (first, second) if who == "leader" else (second, first)
    kept = restarting.partitions()
    staying_generation = settled_generation(staying)
    staying_events = (len(staying.assigned_events), len(staying.revoked_events))
    old_member_id = {m["client_id"]: m["member_id"] for m in describe(admin, group)["members"]}

    started = time.monotonic()
    restarting.close()  # a static member sends no LeaveGroup
    back = members.new(group, topic, restarting.name,
                       group_instance_id=f"instance-{restarting.name[-1]}", **strategy)
    ms = [staying, back]
    poll_until(ms, lambda: back.partitions(), SESSION_TIMEOUT_MS / 1000, "the rejoin")
    assert time.monotonic() - started < SESSION_TIMEOUT_MS / 1000
    assert back.partitions() == kept
    # Had the coordinator rebalanced, `staying` would have sent its JoinGroup before
    # `back` got its assignment: once it is stable again its generation shows it.
    assert settled_generation(staying, [back]) == staying_generation, \
        f"{staying.name} went through a rebalance when {restarting.name} came back"
    assert back.run(lambda c: c.group_metadata()).generation_id == staying_generation
    assert (len(staying.assigned_events), len(staying.revoked_events)) == staying_events, \
        f"{staying.name} went through a rebalance: assigned {staying.assigned_events}, " \
        f"revoked {staying.revoked_events}"
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms), what="Stable")
    d = describe(admin, group)
    instances = {m["client_id"]: m["group_instance_id"] for m in d["members"]}
    assert instances == {"static-a": "instance-a", "static-b": "instance-b"}
    new_member_id = {m["client_id"]: m["member_id"] for m in d["members"]}
    assert new_member_id[restarting.name] != old_member_id[restarting.name]
    assert new_member_id[staying.name] == old_member_id[staying.name]


def settled_generation(member: KpMember, others=()) -> int:
    """The member's group generation once it is stable (not mid-rebalance)."""
    def stable():
        metadata = member.run(lambda c: c.group_metadata())
        return metadata.state == MemberState.STABLE and metadata
    return poll_until([member, *others], stable, what=f"{member.name} stable").generation_id


# -- offset metadata -------------------------------------------------------------------

def test_committed_offset_metadata_round_trips(broker, admin, cf_admin, members):
    topic = new_topic(cf_admin, "kp-grp-metadata", 2)
    group = topic
    m = members.new(group, topic, "metadata", subscribe=False)
    text = "checkpoint {\"batch\": 7} ünïcode"
    m.consumer.commit(offsets={TopicPartition(topic, 0): OffsetAndMetadata(7, text, -1),
                               TopicPartition(topic, 1): OffsetAndMetadata(3, "", -1)})
    got = m.consumer.committed(TopicPartition(topic, 0), metadata=True)
    assert (got.offset, got.metadata) == (7, text)
    assert m.consumer.committed(TopicPartition(topic, 1)) == 3
    listed = admin.list_group_offsets({group: None})[group]
    assert listed[TopicPartition(topic, 0)].offset == 7
    assert listed[TopicPartition(topic, 0)].metadata == text
