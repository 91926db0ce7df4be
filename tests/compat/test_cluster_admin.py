"""Cluster administration on three nodes: preferred and unclean leader elections
(confluent-kafka's AdminClient.elect_leaders and `rafka leader-election`), and moving
replicas (`rafka reassign-partitions`). Uses test_cluster's three-node fixture."""

from __future__ import annotations

from confluent_kafka import ElectionType, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import NewTopic

from compat_helpers import topic_name, wait_until
from test_cluster import NODE_IDS, cluster, wait_for_full_isr  # noqa: F401 - the fixture

__all__ = ["cluster"]


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

    assert elect(admin, ElectionType.PREFERRED, tp) == {(topic, 0): None}
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader == 1, 10,
               "the preferred replica leading again")
    # All partitions: nothing needs an election, so nothing is listed (as in Kafka).
    assert elect(admin, ElectionType.PREFERRED, None) == {}
    # Unclean election is only for partitions without a leader.
    assert elect(admin, ElectionType.UNCLEAN, tp) == {(topic, 0): KafkaError.ELECTION_NOT_NEEDED}
    unknown = [TopicPartition(topic, 7)]
    assert elect(admin, ElectionType.PREFERRED, unknown) == {
        (topic, 7): KafkaError.UNKNOWN_TOPIC_OR_PART}
