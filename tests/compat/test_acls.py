"""ACLs as metadata: they survive a restart of a single node (rafka-acls.json), replicate
through the controller quorum to every broker of a three-node cluster, and the
authorizer then decides the same on every node; replication and transactions between
the nodes keep working with the authorizer on (the brokers' own requests come as
`User:ANONYMOUS` on PLAINTEXT: allowed here by `allow.everyone.if.no.acl.found`, as
Kafka's documentation asks for inter-broker principals). Without an authorizer the ACL
APIs answer SECURITY_DISABLED."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka import admin as ck_admin

from compat_helpers import topic_name, wait_until
from conftest import Broker
from oracle import RawClient
from test_cluster import _cluster, COMBINED

AUTHORIZER_CONFIG = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "true",
}


def binding(topic: str, principal: str, operation=ck_admin.AclOperation.ALL,
            permission=ck_admin.AclPermissionType.ALLOW) -> ck_admin.AclBinding:
    return ck_admin.AclBinding(ck_admin.ResourceType.TOPIC, topic,
                               ck_admin.ResourcePatternType.LITERAL, principal, "*",
                               operation, permission)


def topic_filter(topic: str) -> ck_admin.AclBindingFilter:
    return ck_admin.AclBindingFilter(ck_admin.ResourceType.TOPIC, topic,
                                     ck_admin.ResourcePatternType.ANY, None, None,
                                     ck_admin.AclOperation.ANY, ck_admin.AclPermissionType.ANY)


def described(bootstrap: str, topic: str) -> list:
    admin = ck_admin.AdminClient({"bootstrap.servers": bootstrap})
    return sorted(admin.describe_acls(topic_filter(topic)).result(timeout=30),
                  key=lambda b: (b.principal, str(b.operation)))


def produce_error(bootstrap: str, topic: str) -> str | None:
    """The error of one acks=all produce to partition 0, or None."""
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 10000})
    p.produce(topic, b"v", partition=0, on_delivery=lambda e, m: errors.append(e))
    p.flush(15)
    assert errors, "no delivery report"
    return None if errors[0] is None else errors[0].name()


def create(bootstrap: str, *bindings: ck_admin.AclBinding) -> None:
    admin = ck_admin.AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_acls(list(bindings)).values():
        assert future.result(timeout=30) is None


def test_acls_survive_a_restart(tmp_path):
    broker = Broker(tmp_path, AUTHORIZER_CONFIG)
    broker.start()
    try:
        topic = topic_name("acl-restart")
        admin = ck_admin.AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([ck_admin.NewTopic(topic, 1, 1)])[topic].result(timeout=30)
        create(broker.bootstrap, binding(topic, "User:alice"))
        assert produce_error(broker.bootstrap, topic) == "TOPIC_AUTHORIZATION_FAILED"
        before = described(broker.bootstrap, topic)
        assert [b.principal for b in before] == ["User:alice"]
        broker.restart()
        assert described(broker.bootstrap, topic) == before
        assert produce_error(broker.bootstrap, topic) == "TOPIC_AUTHORIZATION_FAILED", \
            "the restarted broker forgot the ACL"
        create(broker.bootstrap, binding(topic, "User:ANONYMOUS", ck_admin.AclOperation.WRITE))
        wait_until(lambda: produce_error(broker.bootstrap, topic) is None, timeout_s=30,
                   what="the new grant applied")
    finally:
        broker.stop()


def test_without_an_authorizer_the_acl_apis_are_disabled(broker):
    """Kafka's answers (AclApis) with no authorizer; librdkafka's describe_acls turns
    this one into an empty list, so the raw answers are checked."""
    any_filter = {"resource_type_filter": 1, "resource_name_filter": None,
                  "pattern_type_filter": 1, "principal_filter": None, "host_filter": None,
                  "operation": 1, "permission_type": 1}
    with RawClient("127.0.0.1", broker.port) as c:
        described = c.request("DescribeAcls", 3, **any_filter)
        created = c.request("CreateAcls", 3, creations=[{
            "resource_type": 2, "resource_name": "t", "resource_pattern_type": 3,
            "principal": "User:a", "host": "*", "operation": 3, "permission_type": 3}])
        deleted = c.request("DeleteAcls", 3, filters=[any_filter])
    assert (described["error_code"], described["error_message"]) == \
        (54, "No Authorizer is configured on the broker")
    assert [(r["error_code"], r["error_message"]) for r in created["results"]] == \
        [(54, "No Authorizer is configured.")]
    assert [(r["error_code"], r["error_message"]) for r in deleted["filter_results"]] == \
        [(54, "No Authorizer is configured.")]
    admin = ck_admin.AdminClient({"bootstrap.servers": broker.bootstrap})
    with pytest.raises(KafkaException) as e:
        list(admin.create_acls([binding("t", "User:a")]).values())[0].result(timeout=30)
    assert e.value.args[0].name() == "SECURITY_DISABLED"


@pytest.fixture
def authz_cluster(request, tmp_path):
    yield from _cluster(request, tmp_path, COMBINED, extra_config=AUTHORIZER_CONFIG)


def test_acls_replicate_to_every_node_of_a_cluster(authz_cluster):
    c = authz_cluster
    admin = c.admin()
    topic = topic_name("acl-cluster")
    open_topic = topic_name("acl-open")
    futures = admin.create_topics([ck_admin.NewTopic(topic, 1, 3),
                                   ck_admin.NewTopic(open_topic, 1, 3)])
    for f in futures.values():
        f.result(timeout=60)
    nodes = c.alive_brokers()
    create(nodes[0].bootstrap, binding(topic, "User:alice"))
    for node in nodes:
        wait_until(lambda: [b.principal for b in described(node.bootstrap, topic)] == ["User:alice"],
                   timeout_s=30, what=f"node {node.node_id} lists the ACL")
        wait_until(lambda: produce_error(node.bootstrap, topic) == "TOPIC_AUTHORIZATION_FAILED",
                   timeout_s=30, what=f"node {node.node_id} refuses ANONYMOUS")
    # Replication (follower fetches as ANONYMOUS, allowed by allow.everyone) still works.
    assert produce_error(c.bootstrap(), open_topic) is None
