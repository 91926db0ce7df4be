"""Three combined broker+controller nodes whose only broker listener is SASL_PLAINTEXT:
clients and the brokers' own replication (follower fetches, the transaction markers)
authenticate on it with `sasl.mechanism.inter.broker.protocol`, the controller listener
stays PLAINTEXT. SCRAM users come from `storage format --add-scram` (replicated by the
metadata quorum) and from AlterUserScramCredentials on any broker.
"""

from __future__ import annotations

import pytest

from compat_helpers import confluent_consume, topic_name, wait_until
from test_cluster import (COMBINED, NODE_IDS, ClusterNode, _cluster, acks_all_producer,
                          create_topic, wait_for_full_isr)
from test_sasl import MECHANISMS, OAUTH_JAAS, PLAIN_JAAS, SCRAM_JAAS, plain_client, scram_client

LISTENER = "listener.name.sasl_plaintext"
SASL_CONFIG = {
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    "inter.broker.listener.name": "SASL_PLAINTEXT",
    "sasl.enabled.mechanisms": MECHANISMS,
    "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
    f"{LISTENER}.plain.sasl.jaas.config": PLAIN_JAAS,
    f"{LISTENER}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
    # The brokers log in to each other as `broker`, a SCRAM user of --add-scram.
    f"{LISTENER}.scram-sha-512.sasl.jaas.config":
        'org.apache.kafka.common.security.scram.ScramLoginModule required '
        'username="broker" password="broker-secret";',
    f"{LISTENER}.oauthbearer.sasl.jaas.config": OAUTH_JAAS,
}
ADD_SCRAM = ["--add-scram", "SCRAM-SHA-512=[name=broker,password=broker-secret]",
             "--add-scram", "SCRAM-SHA-256=[name=alice,iterations=8192,password=alice-secret]"]


@pytest.fixture
def sasl_cluster(request, tmp_path, monkeypatch):
    # Every node is formatted with the same bootstrap SCRAM users.
    original = ClusterNode.format
    monkeypatch.setattr(ClusterNode, "format",
                        lambda self, cluster_id, *extra: original(self, cluster_id, *extra, *ADD_SCRAM))
    yield from _cluster(request, tmp_path, COMBINED, extra_config=SASL_CONFIG,
                        listener="SASL_PLAINTEXT", client_config=plain_client("admin", "admin-secret"))


def test_brokers_replicate_over_sasl_and_a_follower_takes_over(sasl_cluster):
    cluster = sasl_cluster
    admin = cluster.admin()
    topic = topic_name("sasl-replicated")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    # Full ISR means both followers fetched from the leader, authenticated as `broker`.
    ps = wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    alice = scram_client("SCRAM-SHA-256", "alice", "alice-secret")
    producer = acks_all_producer(cluster.bootstrap(), **alice)
    delivered: list = []
    for i in range(200):
        producer.produce(topic, value=b"%d" % i, partition=0,
                         on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0
    assert delivered == [None] * 200, set(map(str, delivered))

    leader = cluster.nodes[ps[0].leader]
    leader.kill9()
    survivors = {i for i in NODE_IDS if i != leader.node_id}
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader in survivors, 20,
               f"a new leader among {sorted(survivors)}")
    # Up to offset 200, not the high watermark of the moment: the new leader advances it
    # once the dead broker leaves the ISR.
    records = confluent_consume(cluster.bootstrap(), topic, [0], end_offsets={0: 200},
                                timeout_s=30, **alice)
    assert [int(r.value) for r in records] == list(range(200))


def test_a_scram_user_added_on_one_broker_authenticates_on_another(sasl_cluster):
    from oracle import RawClient
    from test_sasl import handshake
    import hashlib
    import os

    cluster = sasl_cluster
    first, second = cluster.nodes[1], cluster.nodes[2]
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha512", b"dave-secret", salt, 4096)
    with RawClient("127.0.0.1", first.port) as client:
        assert handshake(client, "PLAIN")["error_code"] == 0
        assert client.request("SaslAuthenticate", 2,
                              auth_bytes=b"\0admin\0admin-secret")["error_code"] == 0
        answer = client.request("AlterUserScramCredentials", 0, deletions=[], upsertions=[{
            "name": "dave", "mechanism": 2, "iterations": 4096, "salt": salt,
            "salted_password": salted}])
        assert answer["results"] == [{"user": "dave", "error_code": 0, "error_message": None}]
    dave = scram_client("SCRAM-SHA-512", "dave", "dave-secret")
    topic = topic_name("sasl-dave")
    admin = cluster.admin()
    create_topic(admin, topic, 1, 3)
    wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))

    def produced_via_second():
        producer = acks_all_producer(second.bootstrap, **dave)
        errors: list = []
        producer.produce(topic, value=b"from-dave", partition=0,
                         on_delivery=lambda err, msg: errors.append(err))
        producer.flush(10)
        return errors == [None]
    # The record reaches every broker through the quorum; poll until the second has it.
    wait_until(produced_via_second, 30, "dave authenticated on node 2")
    records = confluent_consume(second.bootstrap, topic, [0], timeout_s=30, **dave)
    assert b"from-dave" in [r.value for r in records]
