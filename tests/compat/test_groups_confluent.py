"""Consumer groups through confluent-kafka: librdkafka's classic group protocol (eager
range/roundrobin assignors), its committed offsets, and the AdminClient's group APIs.

Every test has its own topic and group. Members heartbeat every 200 ms, so a rebalance
settles in well under a second; tests wait for states by polling the members against a
deadline, never by sleeping.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError,
                             KafkaException, TopicPartition)

from compat_helpers import confluent_admin, wait_until
from groups_helpers import (PARTITIONS, SESSION_TIMEOUT_MS, SHORT_SESSION_TIMEOUT_MS, TIMEOUT_S,
                            CfMember, assert_each_record_once, assert_split, consume_all,
                            end_offsets, group_broker, members_of, new_topic, poll_until,
                            produce_keyed, split_covers)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from group_broker(tmp_path_factory.mktemp("rafka-groups-cf"))


@pytest.fixture
def fresh_broker(tmp_path):
    yield from group_broker(tmp_path)


@pytest.fixture(scope="module")
def admin(broker):
    return confluent_admin(broker.bootstrap)


@pytest.fixture
def members(broker):
    yield from members_of(CfMember, broker.bootstrap)


@pytest.fixture
def fresh_members(fresh_broker):
    yield from members_of(CfMember, fresh_broker.bootstrap)


def describe(admin, group: str):
    return admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)


def coordinator_view(admin, group: str, topic: str) -> dict[str, set[int]]:
    """client id -> partitions of `topic`, as DescribeGroups reports the assignment."""
    d = describe(admin, group)
    return {m.client_id: {tp.partition for tp in m.assignment.topic_partitions
                          if tp.topic == topic} for m in d.members}


def coordinator_agrees(admin, group: str, topic: str, ms) -> bool:
    """The group is Stable and DescribeGroups shows exactly the clients' assignments."""
    d = describe(admin, group)
    if d.state != ConsumerGroupState.STABLE:
        return False
    return coordinator_view(admin, group, topic) == {m.name: m.partitions() for m in ms}


def committed_offsets(admin, group: str, topic: str) -> dict[int, int]:
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request, request_timeout=10)[group].result(timeout=15)
    assert result.group_id == group
    return {tp.partition: tp.offset for tp in result.topic_partitions
            if tp.topic == topic and tp.offset >= 0}


def high_watermark(member: CfMember, topic: str, partition: int) -> int:
    low, high = member.consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                      timeout=10, cached=False)
    return high


def commit_to(member: CfMember, topic: str, offsets: dict[int, int]) -> None:
    committed = member.consumer.commit(
        offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    assert {tp.partition: tp.offset for tp in committed} == offsets
    assert all(tp.error is None for tp in committed), committed


# -- assignment and rebalances -------------------------------------------------------

def test_three_consumers_split_six_partitions(broker, admin, members):
    topic = new_topic(admin, "cf-grp-three")
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
        read_from = {p for p, _, _ in m.records}
        assert read_from <= m.partitions(), \
            f"{m.name} read partitions {read_from}, owns {m.partitions()}"


def test_fourth_consumer_joins_and_the_load_spreads(broker, admin, members):
    topic = new_topic(admin, "cf-grp-four")
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
    assert all(m.partitions() for m in ms)
    assert {m.name: m.partitions() for m in ms[:3]} != before, "nobody gave anything up"
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms),
               what="DescribeGroups to match the clients")

    # The new owners resume at the committed offsets: only the second batch is read.
    for m in ms:
        m.records.clear()
    second = produce_keyed(broker.bootstrap, topic, 120, "four-b")
    consume_all(ms, len(second))
    assert_each_record_once([r for m in ms for r in m.records], second)
    for m in ms:
        assert {p for p, _, _ in m.records} <= m.partitions()


def test_closed_consumer_partitions_move_to_the_rest(admin, members):
    topic = new_topic(admin, "cf-grp-close")
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
    # A leave rebalances at once: it must not wait for the session to expire.
    assert took < SESSION_TIMEOUT_MS / 1000, f"took {took:.1f}s after LeaveGroup"
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms),
               what="DescribeGroups to show the 2 members")


def test_killed_consumer_partitions_move_after_its_session_times_out(admin, members):
    topic = new_topic(admin, "cf-grp-kill")
    group = topic
    ms = [members.new(group, topic, f"kill-{i}") for i in range(2)]
    victim = members.child("confluent", group, topic, "kill-child", SHORT_SESSION_TIMEOUT_MS)
    everyone = [*ms, victim]
    poll_until(everyone, lambda: split_covers(everyone, PARTITIONS), what="3-way split")
    orphaned = victim.partitions()
    assert coordinator_view(admin, group, topic)["kill-child"] == orphaned

    started = time.monotonic()
    victim.kill9()  # no LeaveGroup: the coordinator must notice the silence
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

def test_commit_then_restart_reads_every_record_exactly_once(broker, admin, members):
    topic = new_topic(admin, "cf-grp-resume", 4)
    group = topic
    produced = produce_keyed(broker.bootstrap, topic, 400, "resume")

    first = members.new(group, topic, "resume-1")
    wait = time.monotonic() + TIMEOUT_S
    while len(first.records) < 200:
        assert time.monotonic() < wait, f"read only {len(first.records)} records"
        first.poll(num_messages=200 - len(first.records))
    committed = first.consumer.commit(asynchronous=False)
    last_seen: dict[int, int] = {}
    for p, o, _ in first.records:
        last_seen[p] = max(last_seen.get(p, -1), o)
    assert {tp.partition: tp.offset for tp in committed if tp.offset >= 0} == \
        {p: o + 1 for p, o in last_seen.items()}
    first.close()
    assert committed_offsets(admin, group, topic) == {p: o + 1 for p, o in last_seen.items()}

    second = members.new(group, topic, "resume-2")
    consume_all([second], len(produced) - len(first.records))
    starts: dict[int, int] = {}
    for p, o, _ in second.records:
        starts.setdefault(p, o)
    for p in range(4):
        if p in starts:
            assert starts[p] == last_seen.get(p, -1) + 1, \
                f"partition {p}: resumed at {starts[p]}, committed {last_seen.get(p, -1) + 1}"
    assert_each_record_once(first.records + second.records, produced)


def test_two_groups_read_independently_and_lag_is_per_group(broker, admin, members):
    topic = new_topic(admin, "cf-grp-lag", 3)
    produced = produce_keyed(broker.bootstrap, topic, 300, "lag")
    ends = end_offsets(produced, 3)
    caught_up = members.new(f"{topic}-a", topic, "lag-a")
    halfway = members.new(f"{topic}-b", topic, "lag-b")
    consume_all([caught_up], len(produced))
    consume_all([halfway], len(produced))
    assert_each_record_once(caught_up.records, produced)
    assert_each_record_once(halfway.records, produced)

    commit_to(caught_up, topic, ends)
    commit_to(halfway, topic, {p: ends[p] // 2 for p in range(3)})
    for group, want in [(f"{topic}-a", ends), (f"{topic}-b", {p: ends[p] // 2 for p in range(3)})]:
        committed = committed_offsets(admin, group, topic)
        assert committed == want, f"{group}: committed {committed}, want {want}"
        lag = {p: high_watermark(caught_up, topic, p) - committed[p] for p in range(3)}
        assert lag == {p: ends[p] - want[p] for p in range(3)}, f"{group}: lag {lag}"
    assert any(ends[p] - ends[p] // 2 > 0 for p in range(3))


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_groups_resume_after_broker_restart(fresh_broker, fresh_members, how):
    bootstrap = fresh_broker.bootstrap
    admin = confluent_admin(bootstrap)
    topic = new_topic(admin, f"cf-grp-restart-{how}", 3)
    produced = produce_keyed(bootstrap, topic, 300, "restart")
    closed_group, live_group = f"{topic}-closed", f"{topic}-live"

    first = fresh_members.new(closed_group, topic, "restart-first")
    wait = time.monotonic() + TIMEOUT_S
    while len(first.records) < 150:
        assert time.monotonic() < wait
        first.poll(num_messages=150 - len(first.records))
    first.consumer.commit(asynchronous=False)
    first.close()
    committed_before = committed_offsets(admin, closed_group, topic)

    live = fresh_members.new(live_group, topic, "restart-live")
    consume_all([live], len(produced))
    commit_to(live, topic, end_offsets(produced, 3))

    if how == "sigterm":
        fresh_broker.restart()
    else:
        fresh_broker.kill9()
        fresh_broker.start()

    # A new AdminClient: librdkafka's old one re-bootstraps after losing its only broker
    # and its group lookups then hang until the request timeout (a client quirk: the
    # old broker handle never finishes terminating while the topic it created holds it).
    admin = confluent_admin(bootstrap)
    listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
    assert not listed.errors, listed.errors
    states = {g.group_id: g.state for g in listed.valid}
    assert states.get(closed_group) == ConsumerGroupState.EMPTY, states
    assert live_group in states, states
    assert describe(admin, closed_group).state == ConsumerGroupState.EMPTY
    assert committed_offsets(admin, closed_group, topic) == committed_before

    # The live member carries on with its session; its group is still Stable with it.
    poll_until([live], lambda: coordinator_agrees(admin, live_group, topic, [live]),
               what="the live member's group to be Stable with it after the restart")

    second = fresh_members.new(closed_group, topic, "restart-second")
    consume_all([second], len(produced) - len(first.records))
    assert_each_record_once(first.records + second.records, produced)

    live.records.clear()  # everything produced so far was read above
    more = produce_keyed(bootstrap, topic, 30, "restart-more")
    consume_all([live], len(more))
    assert_each_record_once(live.records, more)


# -- auto.offset.reset without a committed offset --------------------------------------

def test_auto_offset_reset_earliest_starts_at_the_log_start(broker, admin, members):
    topic = new_topic(admin, "cf-grp-earliest", 1)
    produced = produce_keyed(broker.bootstrap, topic, 10, "earliest")
    m = members.new(topic, topic, "earliest", **{"auto.offset.reset": "earliest"})
    consume_all([m], 10)
    assert [o for _, o, _ in m.records] == list(range(10))
    assert_each_record_once(m.records, produced)


def test_auto_offset_reset_latest_skips_what_was_there(broker, admin, members):
    topic = new_topic(admin, "cf-grp-latest", 1)
    produce_keyed(broker.bootstrap, topic, 10, "old")
    m = members.new(topic, topic, "latest", **{"auto.offset.reset": "latest"})
    poll_until([m], lambda: m.partitions() == {0}, what="assignment")
    # The reset to the end happens after the assignment, asynchronously: keep producing
    # one record at a time until one arrives; none of the first 10 may ever show.
    new: dict[tuple[int, int], bytes] = {}
    deadline = time.monotonic() + TIMEOUT_S
    while not m.records:
        assert time.monotonic() < deadline, "no record arrived"
        new.update(produce_keyed(broker.bootstrap, topic, 1, f"new{len(new)}"))
        m.poll(timeout_s=0.3)
    offsets = [o for _, o, _ in m.records]
    assert offsets[0] >= 10, f"latest started at {offsets[0]}, below the end (10)"
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    for p, o, v in m.records:
        assert v == new[(p, o)]


def test_auto_offset_reset_none_fails_without_a_committed_offset(broker, admin, members):
    topic = new_topic(admin, "cf-grp-none", 1)
    produce_keyed(broker.bootstrap, topic, 10, "none")
    # librdkafka spells Kafka's `none` as `error`.
    m = members.new(topic, topic, "none", **{"auto.offset.reset": "error"})
    deadline = time.monotonic() + TIMEOUT_S
    while not m.errors:
        assert time.monotonic() < deadline, "no error for a partition without an offset"
        m.poll(keep_errors=True)
    assert m.errors[0].code() == KafkaError._AUTO_OFFSET_RESET, m.errors[0]
    assert m.records == []
    m.close()

    # With a committed offset `none` has nothing to reset: it starts there.
    commit_to(members.new(topic, topic, "none-commit", subscribe=False), topic, {0: 4})
    resumed = members.new(topic, topic, "none-resumed", **{"auto.offset.reset": "error"})
    consume_all([resumed], 6)
    assert [o for _, o, _ in resumed.records] == list(range(4, 10))


# -- AdminClient -----------------------------------------------------------------------

def test_list_consumer_groups_filters_by_state(broker, admin, members):
    topic = new_topic(admin, "cf-grp-list", 2)
    stable, empty = f"{topic}-stable", f"{topic}-empty"
    commit_to(members.new(empty, topic, "list-empty", subscribe=False), topic, {0: 0})
    m = members.new(stable, topic, "list-stable")
    poll_until([m], lambda: m.partitions() == {0, 1}, what="assignment")
    poll_until([m], lambda: coordinator_agrees(admin, stable, topic, [m]), what="Stable")

    def listed(states=None):
        kwargs = {"states": states} if states is not None else {}
        result = admin.list_consumer_groups(request_timeout=10, **kwargs).result(timeout=15)
        assert not result.errors, result.errors
        return {g.group_id: g for g in result.valid if g.group_id in (stable, empty)}

    every = listed()
    assert set(every) == {stable, empty}
    assert every[stable].state == ConsumerGroupState.STABLE
    assert every[empty].state == ConsumerGroupState.EMPTY
    assert not every[stable].is_simple_consumer_group
    assert set(listed({ConsumerGroupState.STABLE})) == {stable}
    assert set(listed({ConsumerGroupState.EMPTY})) == {empty}
    assert set(listed({ConsumerGroupState.EMPTY, ConsumerGroupState.STABLE})) == {stable, empty}
    assert set(listed({ConsumerGroupState.PREPARING_REBALANCING})) == set()


def test_describe_consumer_groups_shows_members_and_assignments(broker, admin, members):
    topic = new_topic(admin, "cf-grp-describe")
    group = topic
    ms = [members.new(group, topic, f"describe-{i}") for i in range(2)]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="2-way split")
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms), what="Stable")

    d = describe(admin, group)
    assert d.group_id == group
    assert d.state == ConsumerGroupState.STABLE
    assert not d.is_simple_consumer_group
    assert d.partition_assignor in ("range", "roundrobin")
    assert d.coordinator.id == broker.node_id
    assert (d.coordinator.host, d.coordinator.port) == ("127.0.0.1", broker.port)
    by_client = {m.client_id: m for m in d.members}
    assert set(by_client) == {"describe-0", "describe-1"}
    assert len({m.member_id for m in d.members}) == 2
    for m in ms:
        described = by_client[m.name]
        assert described.host.lstrip("/") == "127.0.0.1", described.host
        assert described.member_id.startswith(m.name), described.member_id
        assert described.group_instance_id is None
        assert {(tp.topic, tp.partition) for tp in described.assignment.topic_partitions} == \
            {(topic, p) for p in m.partitions()}

    unknown = describe(admin, f"{group}-unknown")
    assert unknown.state == ConsumerGroupState.DEAD
    assert unknown.members == []


def test_delete_consumer_groups_refuses_an_active_group(broker, admin, members):
    topic = new_topic(admin, "cf-grp-delete", 2)
    group = topic
    m = members.new(group, topic, "delete")
    poll_until([m], lambda: m.partitions() == {0, 1}, what="assignment")
    commit_to(m, topic, {0: 0, 1: 0})

    with pytest.raises(KafkaException) as info:
        admin.delete_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    assert info.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, info.value
    assert describe(admin, group).state == ConsumerGroupState.STABLE
    assert committed_offsets(admin, group, topic) == {0: 0, 1: 0}

    m.close()
    wait_until(lambda: describe(admin, group).state == ConsumerGroupState.EMPTY, TIMEOUT_S,
               "the group to be Empty after its only member left")
    assert admin.delete_consumer_groups([group], request_timeout=10)[group].result(timeout=15) is None
    assert committed_offsets(admin, group, topic) == {}
    listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
    assert group not in {g.group_id for g in listed.valid}
    assert describe(admin, group).state == ConsumerGroupState.DEAD

    with pytest.raises(KafkaException) as info:
        admin.delete_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    assert info.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, info.value


def test_alter_consumer_group_offsets_then_a_consumer_starts_there(broker, admin, members):
    topic = new_topic(admin, "cf-grp-alter", 2)
    group = topic
    produced = produce_keyed(broker.bootstrap, topic, 100, "alter")
    ends = end_offsets(produced, 2)
    target = {0: ends[0] // 3, 1: ends[1] - 1}
    request = [ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, p, o) for p, o in target.items()])]
    result = admin.alter_consumer_group_offsets(request, request_timeout=10)[group].result(timeout=15)
    assert {tp.partition: tp.offset for tp in result.topic_partitions} == target
    assert all(tp.error is None for tp in result.topic_partitions)
    assert committed_offsets(admin, group, topic) == target

    m = members.new(group, topic, "alter")
    consume_all([m], sum(ends[p] - target[p] for p in range(2)))
    for p in range(2):
        offsets = [o for q, o, _ in m.records if q == p]
        assert offsets == list(range(target[p], ends[p])), f"partition {p}: {offsets[:5]}..."
        for q, o, v in m.records:
            assert v == produced[(q, o)]


# -- static membership -----------------------------------------------------------------

# Kafka (GroupMetadataManager.updateStaticMemberThenRebalanceOrCompleteJoin) answers a
# static member that rejoins a Stable group at once, with no rebalance, unless the
# group's selected protocol would change; it does not compare the subscription bytes,
# which a restarted cooperative-sticky member always changes (no owned partitions).


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
@pytest.mark.parametrize("who", ["leader", "follower"])
def test_static_member_restart_keeps_its_partitions(broker, admin, members, who, assignor):
    """KIP-345: a member with group.instance.id that comes back within its session gets
    its partitions back with no rebalance, so the other member is not disturbed."""
    topic = new_topic(admin, f"cf-grp-static-{who}")
    group = topic
    # Statistics every 100 ms carry librdkafka's count of the rebalances a member saw.
    strategy = {"partition.assignment.strategy": assignor, "statistics.interval.ms": 100}
    # The first member to join leads the group.
    first = members.new(group, topic, "static-a", **{"group.instance.id": "instance-a"},
                        **strategy)
    poll_until([first], lambda: first.partitions() == set(range(PARTITIONS)), what="first join")
    second = members.new(group, topic, "static-b", **{"group.instance.id": "instance-b"},
                         **strategy)
    ms = [first, second]
    poll_until(ms, lambda: split_covers(ms, PARTITIONS), what="2-way split")
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms), what="Stable")
    restarting, staying = (first, second) if who == "leader" else (second, first)
    kept = restarting.partitions()
    staying_rebalances = settled_rebalance_count(staying)
    staying_events = (len(staying.assigned_events), len(staying.revoked_events))
    old_member_id = {m.client_id: m.member_id for m in describe(admin, group).members}

    started = time.monotonic()
    restarting.close()  # a static member sends no LeaveGroup
    back = members.new(group, topic, restarting.name,
                       **{"group.instance.id": f"instance-{restarting.name[-1]}"}, **strategy)
    ms = [staying, back]
    poll_until(ms, lambda: back.partitions(), SESSION_TIMEOUT_MS / 1000, "the rejoin")
    assert time.monotonic() - started < SESSION_TIMEOUT_MS / 1000
    assert back.partitions() == kept
    # Had the coordinator rebalanced, `staying` would have rejoined before `back` got
    # its assignment; its count, once steady again, shows it.
    assert settled_rebalance_count(staying, [back]) == staying_rebalances, \
        f"{staying.name} went through a rebalance when {restarting.name} came back"
    assert (len(staying.assigned_events), len(staying.revoked_events)) == staying_events, \
        f"{staying.name} went through a rebalance: assigned {staying.assigned_events}, " \
        f"revoked {staying.revoked_events}"
    poll_until(ms, lambda: coordinator_agrees(admin, group, topic, ms), what="Stable")
    d = describe(admin, group)
    instances = {m.client_id: m.group_instance_id for m in d.members}
    assert instances == {"static-a": "instance-a", "static-b": "instance-b"}
    new_member_id = {m.client_id: m.member_id for m in d.members}
    assert new_member_id[restarting.name] != old_member_id[restarting.name]
    assert new_member_id[staying.name] == old_member_id[staying.name]


def settled_rebalance_count(member: CfMember, others=()) -> int:
    """The member's rebalance count from librdkafka's statistics, read from the second
    report that arrives from now on (so it was taken after anything already answered)
    and in which the member is steady."""
    start = len(member.stats)

    def steady():
        fresh = member.stats[start:]
        if len(fresh) < 2 or fresh[-1]["cgrp"]["join_state"] != "steady":
            return None
        return fresh[-1]["cgrp"]

    cgrp = poll_until([member, *others], steady, what=f"fresh statistics from {member.name}")
    return cgrp["rebalance_cnt"]


# -- offset metadata -------------------------------------------------------------------

def test_committed_offset_metadata_round_trips(broker, admin, members):
    topic = new_topic(admin, "cf-grp-metadata", 2)
    group = topic
    m = members.new(group, topic, "metadata", subscribe=False)
    committed = m.consumer.commit(offsets=[
        TopicPartition(topic, 0, 7, "checkpoint {\"batch\": 7} ünïcode"),
        TopicPartition(topic, 1, 3, ""),
    ], asynchronous=False)
    assert all(tp.error is None for tp in committed), committed

    got = {tp.partition: tp for tp in
           m.consumer.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)}
    assert (got[0].offset, got[0].metadata) == (7, "checkpoint {\"batch\": 7} ünïcode")
    assert got[1].offset == 3 and got[1].metadata in ("", None)
    request = [ConsumerGroupTopicPartitions(group)]
    listed = admin.list_consumer_group_offsets(request, request_timeout=10)[group].result(timeout=15)
    by_partition = {tp.partition: tp for tp in listed.topic_partitions}
    assert by_partition[0].metadata == "checkpoint {\"batch\": 7} ünïcode"
    assert by_partition[0].offset == 7
