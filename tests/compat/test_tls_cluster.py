"""Three combined broker+controller nodes whose only broker listener is SASL_SSL: the
brokers replicate to each other over TLS (their listener's trust store checks the
leader's certificate and its name, 127.0.0.1) and authenticate with PLAIN; the controller
listener stays PLAINTEXT. Certificates are made by test_tls's `Certificates`.
"""

from __future__ import annotations

import pytest

from compat_helpers import confluent_consume, topic_name, wait_until
from test_cluster import (COMBINED, NODE_IDS, _cluster, acks_all_producer, create_topic,
                          wait_for_full_isr)
from test_tls import PLAIN_JAAS, Certificates, sasl_ssl_client


@pytest.fixture
def sasl_ssl_cluster(request, tmp_path_factory, tmp_path):
    certs = Certificates(tmp_path_factory.mktemp("cluster-certs"))
    config = {
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": str(certs.broker),
        "listener.name.sasl_ssl.ssl.truststore.type": "PEM",
        "listener.name.sasl_ssl.ssl.truststore.location": str(certs.ca),
    }
    client = sasl_ssl_client(certs, "PLAIN", "admin", "admin-secret")
    for c in _cluster(request, tmp_path, COMBINED, extra_config=config,
                      listener="SASL_SSL", client_config=client):
        c.client = client
        yield c


def test_brokers_replicate_over_sasl_ssl_and_a_follower_takes_over(sasl_ssl_cluster):
    cluster = sasl_ssl_cluster
    admin = cluster.admin()
    topic = topic_name("sasl-ssl-replicated")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    # Full ISR: both followers fetched from the leader over TLS.
    ps = wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    producer = acks_all_producer(cluster.bootstrap(), **cluster.client)
    delivered: list = []
    for i in range(300):
        producer.produce(topic, value=b"%d-" % i + b"x" * 1000, partition=0,
                         on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0
    assert delivered == [None] * 300, set(map(str, delivered))
    leader = cluster.nodes[ps[0].leader]
    leader.kill9()
    survivors = {i for i in NODE_IDS if i != leader.node_id}
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader in survivors, 20,
               f"a new leader among {sorted(survivors)}")
    # Up to offset 300, not the high watermark of the moment: the new leader advances it
    # once the dead broker leaves the ISR.
    records = confluent_consume(cluster.bootstrap(), topic, [0], end_offsets={0: 300},
                                timeout_s=30, **cluster.client)
    assert [r.value for r in records] == [b"%d-" % i + b"x" * 1000 for i in range(300)]
