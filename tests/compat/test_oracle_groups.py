"""Differential tests against Apache Kafka: the classic group protocol and committed
offsets (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch,
ListGroups, DescribeGroups, DeleteGroups), mostly with strangers and bad inputs.
See oracle.py for the fixtures and what is normalised.

The groups use a protocol type of their own ("oracle"), so the brokers treat the member
metadata and assignments as opaque bytes."""

from __future__ import annotations

import uuid

import pytest

from compat_helpers import topic_name
from oracle import (create_topic, kafka_oracle, oracle, rafka_oracle_peer,  # noqa: F401
                    wait_both)

PROTOCOL_TYPE = "oracle"


def group_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def coordinator_ready(oracle, group: str) -> None:
    """Kafka creates __consumer_offsets on the first FindCoordinator and answers
    COORDINATOR_NOT_AVAILABLE until it is loaded: poll both until they name a coordinator."""
    def ready(side):
        answer = oracle.send(side, "FindCoordinator", 4, key_type=0, coordinator_keys=[group])
        return answer["coordinators"][0]["error_code"] == 0
    wait_both(oracle, ready, f"the coordinator of {group}", timeout_s=60)


def join(oracle, side: str, group: str, member_id: str = "", session_timeout_ms: int = 30000,
         version: int = 5) -> dict:
    fields = {"group_id": group, "session_timeout_ms": session_timeout_ms,
              "rebalance_timeout_ms": 30000, "member_id": member_id, "protocol_type": PROTOCOL_TYPE,
              "protocols": [{"name": "range", "metadata": b"\x00\x01meta"}]}
    if version >= 5:
        fields["group_instance_id"] = None
    if version >= 8:
        fields["reason"] = None
    return oracle.send(side, "JoinGroup", version, **fields)


class Formed:
    """A one-member group formed on both brokers (JoinGroup, rejoin with the member id,
    SyncGroup); the answers of each step are compared."""

    def __init__(self, oracle, group: str):
        self.group = group
        coordinator_ready(oracle, group)
        first = {side: join(oracle, side, group) for side in ("kafka", "rafka")}
        oracle.compare(first["kafka"], first["rafka"], "JoinGroup v5 (no member id)")
        assert first["kafka"]["error_code"] == 79  # MEMBER_ID_REQUIRED
        self.member = {side: first[side]["member_id"] for side in first}
        joined = {side: join(oracle, side, group, self.member[side]) for side in first}
        oracle.compare(joined["kafka"], joined["rafka"], "JoinGroup v5 (rejoin with member id)")
        self.generation = {side: joined[side]["generation_id"] for side in first}
        synced = {side: oracle.send(side, "SyncGroup", 5, group_id=group,
                                    generation_id=self.generation[side],
                                    member_id=self.member[side], group_instance_id=None,
                                    protocol_type=PROTOCOL_TYPE, protocol_name="range",
                                    assignments=[{"member_id": self.member[side],
                                                  "assignment": b"\x00\x02assigned"}])
                  for side in first}
        oracle.compare(synced["kafka"], synced["rafka"], "SyncGroup v5 (leader)")


def commit(oracle, side: str, group: str, generation: int, member: str, topic: str,
           partition: int = 0, offset: int = 1, version: int = 8) -> dict:
    fields = {"group_id": group, "generation_id_or_member_epoch": generation, "member_id": member,
              "topics": [{"name": topic, "partitions": [
                  {"partition_index": partition, "committed_offset": offset,
                   "committed_leader_epoch": -1, "committed_metadata": "m"}]}]}
    if version >= 7:
        fields["group_instance_id"] = None
    if 2 <= version <= 4:
        fields["retention_time_ms"] = -1
    return oracle.send(side, "OffsetCommit", version, **fields)


def commit_both(oracle, group, generation, member, topic, partition=0, version=8,
                what="OffsetCommit"):
    k = commit(oracle, "kafka", group, generation if not isinstance(generation, dict)
               else generation["kafka"], member if not isinstance(member, dict)
               else member["kafka"], topic, partition, version=version)
    r = commit(oracle, "rafka", group, generation if not isinstance(generation, dict)
               else generation["rafka"], member if not isinstance(member, dict)
               else member["rafka"], topic, partition, version=version)
    return oracle.compare(k, r, f"{what} v{version}")


# -- FindCoordinator ----------------------------------------------------------------

def test_find_coordinator(oracle):
    group = group_name("oracle-fc")
    coordinator_ready(oracle, group)
    for version in (0, 1, 2, 3):
        oracle.both("FindCoordinator", version, key=group, **({"key_type": 0} if version else {}))
    oracle.both("FindCoordinator", 4, key_type=0, coordinator_keys=[group, group + "-2"])


def test_find_coordinator_bad_key_type(oracle):
    oracle.both("FindCoordinator", 4, key_type=5, coordinator_keys=["x"])


# -- OffsetCommit / OffsetFetch without members -------------------------------------

def test_offset_fetch_unknown_group(oracle):
    group = group_name("oracle-of-unknown")
    coordinator_ready(oracle, group)
    name = topic_name("oracle-of-topic")
    create_topic(oracle, name)
    for version in (1, 3, 5, 7):
        oracle.both("OffsetFetch", version, group_id=group,
                    topics=[{"name": name, "partition_indexes": [0]}],
                    **({"require_stable": False} if version >= 7 else {}))
    for version in (2, 7):
        oracle.both("OffsetFetch", version, group_id=group, topics=None,
                    **({"require_stable": False} if version >= 7 else {}))
    oracle.both("OffsetFetch", 8, groups=[{"group_id": group, "topics": None}],
                require_stable=False)


def test_offset_commit_simple_then_fetch(oracle):
    """An admin-style commit (generation -1, no member) to an empty group works."""
    group = group_name("oracle-oc-simple")
    coordinator_ready(oracle, group)
    name = topic_name("oracle-oc-topic")
    create_topic(oracle, name)
    for version in (2, 5, 8, 9):
        commit_both(oracle, group, -1, "", name, version=version)
    oracle.both("OffsetFetch", 7, group_id=group, topics=[{"name": name, "partition_indexes": [0, 5]}],
                require_stable=True)
    oracle.both("OffsetFetch", 8, groups=[{"group_id": group, "topics": None}], require_stable=False)


def test_offset_commit_stranger_to_empty_group(oracle):
    group = group_name("oracle-oc-stranger")
    coordinator_ready(oracle, group)
    name = topic_name("oracle-oc-stranger-t")
    create_topic(oracle, name)
    for version in (2, 8):
        commit_both(oracle, group, 3, "stranger-member", name, version=version,
                    what="OffsetCommit from a stranger to an empty group")


def test_offset_commit_unknown_topic(oracle):
    group = group_name("oracle-oc-unknown-topic")
    coordinator_ready(oracle, group)
    for version in (2, 8):
        commit_both(oracle, group, -1, "", topic_name("oracle-oc-no-such-topic"), version=version,
                    what="OffsetCommit for a topic that does not exist")


def test_offset_commit_unknown_partition(oracle):
    group = group_name("oracle-oc-unknown-part")
    coordinator_ready(oracle, group)
    name = topic_name("oracle-oc-part")
    create_topic(oracle, name)
    commit_both(oracle, group, -1, "", name, partition=9, version=8,
                what="OffsetCommit for a partition that does not exist")


def test_offset_commit_invalid_group_id(oracle):
    name = topic_name("oracle-oc-badgroup")
    create_topic(oracle, name)
    commit_both(oracle, "", -1, "", name, version=8, what="OffsetCommit with an empty group id")


# -- JoinGroup with bad inputs -------------------------------------------------------

@pytest.mark.parametrize("session_timeout_ms", [1, 5999, 1_800_001, 100_000_000])
def test_join_group_bad_session_timeout(oracle, session_timeout_ms):
    group = group_name("oracle-jg-timeout")
    coordinator_ready(oracle, group)
    for version in (0, 5, 9):
        k = join(oracle, "kafka", group, session_timeout_ms=session_timeout_ms, version=version)
        r = join(oracle, "rafka", group, session_timeout_ms=session_timeout_ms, version=version)
        answer = oracle.compare(k, r, f"JoinGroup v{version} session_timeout_ms={session_timeout_ms}")
        assert answer["error_code"] == 26  # INVALID_SESSION_TIMEOUT


def test_join_group_unknown_member(oracle):
    group = group_name("oracle-jg-unknown")
    coordinator_ready(oracle, group)
    k = join(oracle, "kafka", group, member_id="no-such-member")
    r = join(oracle, "rafka", group, member_id="no-such-member")
    oracle.compare(k, r, "JoinGroup v5 with an unknown member id")


def test_join_group_empty_protocols(oracle):
    group = group_name("oracle-jg-noproto")
    coordinator_ready(oracle, group)
    oracle.both("JoinGroup", 5, group_id=group, session_timeout_ms=30000, rebalance_timeout_ms=30000,
                member_id="", group_instance_id=None, protocol_type=PROTOCOL_TYPE, protocols=[])


def test_heartbeat_unknown_group(oracle):
    group = group_name("oracle-hb-unknown")
    coordinator_ready(oracle, group)
    for version in (0, 4):
        oracle.both("Heartbeat", version, group_id=group, generation_id=1, member_id="m",
                    **({"group_instance_id": None} if version >= 3 else {}))


# -- a formed group ------------------------------------------------------------------

@pytest.fixture(scope="module")
def formed(oracle):
    return Formed(oracle, group_name("oracle-group"))


def test_group_forms_identically(formed):
    assert formed.generation["kafka"] == formed.generation["rafka"]


def test_describe_groups(oracle, formed):
    for version in (0, 3, 5, 6):
        fields = {"groups": [formed.group]}
        if version >= 3:
            fields["include_authorized_operations"] = False
        oracle.both("DescribeGroups", version, **fields)


def test_describe_groups_unknown(oracle):
    group = group_name("oracle-dg-unknown")
    coordinator_ready(oracle, group)
    for version in (0, 5, 6):
        fields = {"groups": [group]}
        if version >= 3:
            fields["include_authorized_operations"] = False
        oracle.both("DescribeGroups", version, **fields)


def test_list_groups(oracle, formed):
    """Only this module's formed group is compared: the Kafka node is shared by the
    session's modules, so it also lists their groups."""
    for version in (0, 3, 4, 5):
        fields = {}
        if version >= 4:
            fields["states_filter"] = []
        if version >= 5:
            fields["types_filter"] = []
        k, r = oracle.each("ListGroups", version, **fields)
        for answer in (k, r):
            answer["groups"] = [g for g in answer["groups"] if g["group_id"] == formed.group]
        oracle.compare(k, r, f"ListGroups v{version} (the formed group)")


def test_offset_commit_stranger_to_active_group(oracle, formed):
    name = topic_name("oracle-oc-active")
    create_topic(oracle, name)
    commit_both(oracle, formed.group, formed.generation, "stranger-member", name,
                what="OffsetCommit from an unknown member to an active group")
    commit_both(oracle, formed.group, 999, formed.member, name,
                what="OffsetCommit with a wrong generation to an active group")
    commit_both(oracle, formed.group, -1, "", name,
                what="OffsetCommit without member (admin) to an active group")
    commit_both(oracle, formed.group, formed.generation, formed.member, name,
                what="OffsetCommit from the member")


def test_heartbeat_stranger_and_member(oracle, formed):
    for member, generation, what in (("stranger", formed.generation["kafka"], "stranger"),
                                     (formed.member, 999, "wrong generation"),
                                     (formed.member, formed.generation, "member")):
        k = oracle.send("kafka", "Heartbeat", 4, group_id=formed.group,
                        generation_id=generation["kafka"] if isinstance(generation, dict) else generation,
                        member_id=member["kafka"] if isinstance(member, dict) else member,
                        group_instance_id=None)
        r = oracle.send("rafka", "Heartbeat", 4, group_id=formed.group,
                        generation_id=generation["rafka"] if isinstance(generation, dict) else generation,
                        member_id=member["rafka"] if isinstance(member, dict) else member,
                        group_instance_id=None)
        oracle.compare(k, r, f"Heartbeat v4 ({what})")


def test_delete_groups(oracle, formed):
    unknown = group_name("oracle-del-unknown")
    coordinator_ready(oracle, unknown)
    for version in (0, 2):
        oracle.both("DeleteGroups", version, groups_names=[unknown, formed.group])


def test_group_is_empty_as_soon_as_its_last_member_leaves(oracle):
    """A Stable classic group whose last member leaves goes PreparingRebalance, completes
    the join with no members and is Empty at once (Kafka's
    `maybePrepareRebalanceOrCompleteJoin`): an admin commit (generation -1) and
    DeleteGroups right after the LeaveGroup succeed on both brokers, with no window of
    UNKNOWN_MEMBER_ID or NON_EMPTY_GROUP (as a stopped sink connector's offset reset needs)."""
    group = group_name("oracle-leave-last")
    coordinator_ready(oracle, group)

    def serving(side):
        # Kafka answers NOT_COORDINATOR for a moment after FindCoordinator names it.
        answer = oracle.send(side, "DescribeGroups", 5, groups=[group],
                             include_authorized_operations=False)
        return answer["groups"][0]["error_code"] == 0
    wait_both(oracle, serving, f"the coordinator of {group} to serve it")
    formed = Formed(oracle, group)
    name = topic_name("oracle-leave-last")
    create_topic(oracle, name)
    commit_both(oracle, formed.group, formed.generation, formed.member, name,
                what="OffsetCommit from the member")
    k, r = (oracle.send(side, "LeaveGroup", 4, group_id=formed.group,
                        members=[{"member_id": formed.member[side], "group_instance_id": None}])
            for side in ("kafka", "rafka"))
    oracle.compare(k, r, "LeaveGroup v4 (the last member)")
    described = oracle.both("DescribeGroups", 5, groups=[formed.group],
                            include_authorized_operations=False)
    assert described["groups"][0]["group_state"] == "Empty"
    answer = commit_both(oracle, formed.group, -1, "", name,
                         what="OffsetCommit without member right after the leave")
    assert answer["topics"][0]["partitions"][0]["error_code"] == 0
    deleted = oracle.both("DeleteGroups", 2, groups_names=[formed.group])
    assert deleted["results"][0]["error_code"] == 0
