"""Differential tests against Apache Kafka 4.1 run with its StandardAuthorizer: the ACL
APIs (CreateAcls, DescribeAcls, DeleteAcls) through confluent-kafka's AdminClient and raw
requests, and the answers of the protected APIs to a principal with and one without the
ACL. See oracle.py for the raw client and what is normalised.

Both brokers run `authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer`
with `allow.everyone.if.no.acl.found=true` and no super users: every connection on a
PLAINTEXT listener is `User:ANONYMOUS` (Kafka's own broker-to-controller requests too),
so a resource no ACL names is open, and a resource with ACLs is open to ANONYMOUS only
when one of them allows it. "Without the ACL" is therefore a resource whose ACLs name
another principal (`User:alice`), or a DENY for ANONYMOUS.

Each module gets its own authorizing Kafka (the session's shared oracle runs without
an authorizer) and rafka peer."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import admin as ck_admin

from compat_helpers import wait_until
from conftest import Broker
from oracle import (MESSAGES, SHARED_CONFIG, KafkaOracle, Pair, RawClient, create_topic,
                    records, running_pair, share_messages)  # noqa: F401 - share_messages is a fixture

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
AUTHORIZER_CONFIG = {
    "authorizer.class.name": AUTHORIZER,
    "allow.everyone.if.no.acl.found": "true",
}

# Kafka's wire codes.
TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID = 2, 3, 4, 5
ANY, MATCH, LITERAL, PREFIXED = 1, 2, 3, 4
OP_ANY, ALL, READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE = 1, 2, 3, 4, 5, 6, 7, 8
CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 9, 10, 11, 12
DENY, ALLOW = 2, 3

TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31
INVALID_REQUEST = 42
SECURITY_DISABLED = 54
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53

ANONYMOUS = "User:ANONYMOUS"
ALICE = "User:alice"


def name(label: str) -> str:
    return f"acl-{label}-{uuid.uuid4().hex[:8]}"


class AuthorizingKafka(KafkaOracle):
    """The Kafka oracle with the StandardAuthorizer on, and share groups (an internal
    switch in Kafka 4.1; rafka always serves them) for the share APIs' checks."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.config.update(AUTHORIZER_CONFIG)
        self.config["group.share.enable"] = "true"
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))


@pytest.fixture(scope="module")
def authz(tmp_path_factory):
    kafka = AuthorizingKafka(tmp_path_factory.mktemp("kafka-authz"))
    rafka = Broker(tmp_path_factory.mktemp("rafka-authz"), {**SHARED_CONFIG, **AUTHORIZER_CONFIG})
    yield from running_pair(kafka, rafka)


def acl(resource_type, resource_name, principal=ANONYMOUS, operation=READ,
        permission=ALLOW, pattern=LITERAL, host="*") -> dict:
    return {"resource_type": resource_type, "resource_name": resource_name,
            "resource_pattern_type": pattern, "principal": principal, "host": host,
            "operation": operation, "permission_type": permission}


def acl_filter(resource_type=ANY, resource_name=None, pattern=ANY, principal=None,
               host=None, operation=OP_ANY, permission=ANY) -> dict:
    return {"resource_type_filter": resource_type, "resource_name_filter": resource_name,
            "pattern_type_filter": pattern, "principal_filter": principal,
            "host_filter": host, "operation": operation, "permission_type": permission}


def not_authorized(message):
    """Kafka prints its whole request object in the message of a cluster authorization
    failure (`Request Request(processor=…, session=…@5b9744f7, …) needs DESCRIBE
    permission.`): compared by its shape and the operation it names."""
    import re
    if isinstance(message, str):
        m = re.fullmatch(r"Request Request\(.*\) needs (\w+) permission\.", message)
        if m:
            return f"<request> needs {m.group(1)} permission."
    return message


def sorted_describe(answer: dict) -> dict:
    """Kafka groups bindings in hash maps: the order carries no meaning."""
    for resource in answer.get("resources") or []:
        resource["acls"] = sorted(resource["acls"], key=lambda a: repr(sorted(a.items())))
    answer["resources"] = sorted(answer.get("resources") or [],
                                 key=lambda r: (r["resource_type"], r["resource_name"],
                                                r["pattern_type"]))
    return answer


def sorted_delete(answer: dict) -> dict:
    for result in answer.get("filter_results") or []:
        result["matching_acls"] = sorted(result.get("matching_acls") or [],
                                         key=lambda a: repr(sorted(a.items())))
    return answer


def create_acls(pair: Pair, *bindings: dict, version: int = 3) -> dict:
    return pair.both("CreateAcls", version, creations=list(bindings),
                     extra={"error_message": not_authorized})


def describe_acls(pair: Pair, version: int = 3, **filter_fields) -> dict:
    fields = acl_filter(**filter_fields)
    k, r = pair.each("DescribeAcls", version, **fields)
    return pair.compare(sorted_describe(k), sorted_describe(r), f"DescribeAcls {fields}",
                        extra={"error_message": not_authorized})


def delete_acls(pair: Pair, *filters: dict, version: int = 3) -> dict:
    k, r = pair.each("DeleteAcls", version, filters=list(filters))
    return pair.compare(sorted_delete(k), sorted_delete(r), f"DeleteAcls {filters}",
                        extra={"error_message": not_authorized})


def wait_acls(pair: Pair, count: int, **filter_fields) -> None:
    """Kafka applies an ACL change once its metadata log commits it: wait until each
    broker lists `count` bindings for the filter."""
    for side in ("kafka", "rafka"):
        def listed():
            answer = pair.send(side, "DescribeAcls", 3, **acl_filter(**filter_fields))
            return sum(len(r["acls"]) for r in answer["resources"]) == count
        wait_until(listed, timeout_s=30, what=f"{side}: {count} ACLs for {filter_fields}")


# -- the ACL APIs -----------------------------------------------------------------------

def test_create_describe_delete_acls_answer_as_kafka(authz):
    topic = name("t")
    answer = create_acls(
        authz,
        acl(TOPIC, topic, ALICE, READ),
        acl(TOPIC, topic[:8], ALICE, WRITE, pattern=PREFIXED),
        acl(GROUP, "*", ALICE, READ, permission=DENY, host="10.0.0.1"),
        acl(TOPIC, topic, ALICE, READ),  # a duplicate
    )
    assert [r["error_code"] for r in answer["results"]] == [0, 0, 0, 0]
    wait_acls(authz, 2, resource_type=TOPIC, resource_name=topic, pattern=MATCH)
    described = describe_acls(authz, resource_type=TOPIC, resource_name=topic, pattern=MATCH)
    assert {(r["resource_name"], r["pattern_type"]) for r in described["resources"]} == {
        (topic, LITERAL), (topic[:8], PREFIXED)}
    describe_acls(authz, resource_type=TOPIC, resource_name=topic, pattern=LITERAL)
    describe_acls(authz, principal=ALICE, operation=READ)
    describe_acls(authz, resource_type=GROUP, permission=DENY)
    deleted = delete_acls(
        authz,
        acl_filter(resource_type=TOPIC, resource_name=topic, pattern=MATCH),
        acl_filter(resource_type=TOPIC, principal=ALICE),  # the same ones: listed again
        acl_filter(resource_type=GROUP, resource_name="*", pattern=LITERAL),
    )
    assert [len(r["matching_acls"]) for r in deleted["filter_results"]] == [2, 2, 1]
    wait_acls(authz, 0, resource_type=TOPIC, resource_name=topic, pattern=MATCH)


def test_invalid_bindings_are_refused_with_kafkas_messages(authz):
    answer = create_acls(
        authz,
        acl(CLUSTER, "other-cluster", ALICE, ALTER),
        acl(TOPIC, "", ALICE, READ),
        acl(TOPIC, "t", "alice", READ),
        acl(TOPIC, name("ok"), ALICE, READ),
    )
    codes = [r["error_code"] for r in answer["results"]]
    assert codes == [INVALID_REQUEST] * 3 + [0], answer
    assert answer["results"][0]["error_message"] == \
        "The only valid name for the CLUSTER resource is kafka-cluster"
    # A binding Kafka cannot even build (ANY or MATCH in it) fails the whole request.
    for bad in (acl(ANY, "t", ALICE, READ), acl(TOPIC, "t", ALICE, OP_ANY),
                acl(TOPIC, "t", ALICE, READ, permission=ANY),
                acl(TOPIC, "t", ALICE, READ, pattern=MATCH)):
        answer = create_acls(authz, acl(TOPIC, name("fine"), ALICE, READ), bad)
        assert [r["error_code"] for r in answer["results"]] == [-1, -1], answer


def test_acls_through_confluent_admin_client(authz):
    topic = name("ck")
    results = {}
    for side in ("kafka", "rafka"):
        client = ck_admin.AdminClient({"bootstrap.servers": f"127.0.0.1:{authz.port(side)}"})
        binding = ck_admin.AclBinding(
            ck_admin.ResourceType.TOPIC, topic, ck_admin.ResourcePatternType.LITERAL,
            ALICE, "*", ck_admin.AclOperation.READ, ck_admin.AclPermissionType.ALLOW)
        for future in client.create_acls([binding]).values():
            assert future.result(timeout=30) is None
        bfilter = ck_admin.AclBindingFilter(
            ck_admin.ResourceType.TOPIC, topic, ck_admin.ResourcePatternType.ANY,
            None, None, ck_admin.AclOperation.ANY, ck_admin.AclPermissionType.ANY)
        wait_until(lambda: len(client.describe_acls(bfilter).result(timeout=30)) == 1,
                   timeout_s=30, what=f"{side}: the created binding listed")
        described = client.describe_acls(bfilter).result(timeout=30)
        deleted = [b for f in client.delete_acls([bfilter]).values()
                   for b in f.result(timeout=30)]
        results[side] = (described, deleted)
    assert results["kafka"] == results["rafka"]
    assert [b.principal for b in results["rafka"][0]] == [ALICE]


# -- the protected APIs: ANONYMOUS with and without the ACL -------------------------------

def produce_fields(topic: str) -> dict:
    return {"transactional_id": None, "acks": -1, "timeout_ms": 10000,
            "topic_data": [{"name": topic, "partition_data": [
                {"index": 0, "records": records(b"v")}]}]}


def fetch_fields(topic: str) -> dict:
    part = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20,
            "current_leader_epoch": -1, "log_start_offset": -1, "last_fetched_epoch": -1}
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
            "isolation_level": 0, "session_id": 0, "session_epoch": -1,
            "forgotten_topics_data": [], "rack_id": "",
            "topics": [{"topic": topic, "partitions": [part]}]}


def metadata_names(pair: Pair, side: str) -> set[str]:
    answer = pair.send(side, "Metadata", 12, topics=None, allow_auto_topic_creation=False,
                       include_topic_authorized_operations=False)
    return {t["name"] for t in answer["topics"]}


@pytest.fixture(scope="module")
def protected(authz):
    """Topics and a group with ACLs: `open` allows ANONYMOUS everything, `closed` and
    group `closed` name only alice; `denied` allows everyone but denies ANONYMOUS WRITE."""
    names = {k: name(k) for k in ("open", "closed", "denied", "group", "free")}
    for label in ("open", "closed", "denied", "free"):
        create_topic(authz, names[label])
    create_acls(
        authz,
        acl(TOPIC, names["open"], ANONYMOUS, ALL),
        acl(TOPIC, names["closed"], ALICE, ALL),
        acl(TOPIC, names["denied"], "User:*", ALL),
        acl(TOPIC, names["denied"], ANONYMOUS, WRITE, permission=DENY),
        acl(GROUP, names["group"], ALICE, ALL),
    )
    for label, count in (("open", 1), ("closed", 1), ("denied", 2)):
        wait_acls(authz, count, resource_type=TOPIC, resource_name=names[label], pattern=LITERAL)
    wait_acls(authz, 1, resource_type=GROUP, resource_name=names["group"], pattern=LITERAL)
    return names


def test_produce_needs_write_on_the_topic(authz, protected):
    for label, code in (("open", 0), ("free", 0), ("closed", TOPIC_AUTHORIZATION_FAILED),
                        ("denied", TOPIC_AUTHORIZATION_FAILED)):
        answer = authz.both("Produce", 9, **produce_fields(protected[label]))
        got = answer["responses"][0]["partition_responses"][0]["error_code"]
        assert got == code, f"{label}: {answer}"


def test_fetch_and_list_offsets_need_read_and_describe(authz, protected):
    for label, code in (("open", 0), ("closed", TOPIC_AUTHORIZATION_FAILED),
                        ("denied", 0)):
        answer = authz.both("Fetch", 12, **fetch_fields(protected[label]))
        assert answer["responses"][0]["partitions"][0]["error_code"] == code, label
        answer = authz.both("ListOffsets", 7, replica_id=-1, isolation_level=0, topics=[
            {"name": protected[label], "partitions": [
                {"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]}])
        assert answer["topics"][0]["partitions"][0]["error_code"] == code, label


def test_metadata_hides_topics_the_principal_may_not_describe(authz, protected):
    for side in ("kafka", "rafka"):
        listed = metadata_names(authz, side)
        assert protected["open"] in listed and protected["free"] in listed, side
        assert protected["denied"] in listed, f"{side}: DENY WRITE leaves DESCRIBE"
        assert protected["closed"] not in listed, f"{side}: the closed topic is listed"
    answer = authz.both("Metadata", 12, allow_auto_topic_creation=False,
                        include_topic_authorized_operations=True,
                        topics=[{"name": protected["closed"], "topic_id": None},
                                {"name": protected["open"], "topic_id": None}])
    codes = {t["name"]: t["error_code"] for t in answer["topics"]}
    assert codes == {protected["closed"]: TOPIC_AUTHORIZATION_FAILED, protected["open"]: 0}
    # Auto-creation needs CREATE: a name under alice's prefix may not be created.
    create_acls(authz, acl(TOPIC, "acl-alice-", ALICE, ALL, pattern=PREFIXED))
    wait_acls(authz, 1, resource_type=TOPIC, resource_name="acl-alice-", pattern=PREFIXED)
    answer = authz.both("Metadata", 12, allow_auto_topic_creation=True,
                        include_topic_authorized_operations=False,
                        topics=[{"name": "acl-alice-new", "topic_id": None}])
    assert answer["topics"][0]["error_code"] == TOPIC_AUTHORIZATION_FAILED


def test_groups_need_read_and_describe_on_the_group(authz, protected):
    group = protected["group"]
    answer = authz.both("FindCoordinator", 4, key_type=0, coordinator_keys=[group])
    assert answer["coordinators"][0]["error_code"] == GROUP_AUTHORIZATION_FAILED
    answer = authz.both("JoinGroup", 5, group_id=group, session_timeout_ms=10000,
                        rebalance_timeout_ms=10000, member_id="", group_instance_id=None,
                        protocol_type="consumer",
                        protocols=[{"name": "range", "metadata": b""}])
    assert answer["error_code"] == GROUP_AUTHORIZATION_FAILED
    answer = authz.both("OffsetCommit", 8, group_id=group, generation_id_or_member_epoch=-1,
                        member_id="", group_instance_id=None, topics=[
                            {"name": protected["open"], "partitions": [
                                {"partition_index": 0, "committed_offset": 0,
                                 "committed_leader_epoch": -1, "committed_metadata": ""}]}])
    assert answer["topics"][0]["partitions"][0]["error_code"] == GROUP_AUTHORIZATION_FAILED
    # An open group with a closed topic: the topic is refused, not the group.
    answer = authz.both("OffsetCommit", 8, group_id=name("g"), generation_id_or_member_epoch=-1,
                        member_id="", group_instance_id=None, topics=[
                            {"name": protected["closed"], "partitions": [
                                {"partition_index": 0, "committed_offset": 0,
                                 "committed_leader_epoch": -1, "committed_metadata": ""}]}])
    assert answer["topics"][0]["partitions"][0]["error_code"] == TOPIC_AUTHORIZATION_FAILED
    answer = authz.both("DescribeGroups", 5, groups=[group],
                        include_authorized_operations=True)
    assert answer["groups"][0]["error_code"] == GROUP_AUTHORIZATION_FAILED
    for side in ("kafka", "rafka"):
        listed = authz.send(side, "ListGroups", 4, states_filter=[])
        assert group not in {g["group_id"] for g in listed["groups"]}, side


def test_admin_apis_need_their_operations(authz, protected):
    answer = authz.both("CreateTopics", 7, topics=[{
        "name": "acl-alice-topic", "num_partitions": 1, "replication_factor": 1,
        "assignments": [], "configs": []}], timeout_ms=30000, validate_only=True)
    # No ACL names the cluster: CREATE on it is everyone's, so the topic may be created;
    # alice's prefix hides its configs (DESCRIBE_CONFIGS).
    created = answer["topics"][0]
    assert (created["error_code"], created["topic_config_error_code"],
            created["num_partitions"]) == (0, TOPIC_AUTHORIZATION_FAILED, -1)
    answer = authz.both("DescribeConfigs", 4, include_synonyms=False,
                        include_documentation=False, resources=[
                            {"resource_type": 2, "resource_name": protected["closed"],
                             "configuration_keys": None}])
    assert answer["results"][0]["error_code"] == TOPIC_AUTHORIZATION_FAILED
    # DELETE on the cluster (everyone's here) deletes any topic, as Kafka's controller
    # decides; CreatePartitions asks ALTER of the topic itself.
    answer = authz.both("CreatePartitions", 3, timeout_ms=30000, validate_only=True, topics=[
        {"name": protected["closed"], "count": 2, "assignments": None}])
    assert answer["results"][0]["error_code"] == TOPIC_AUTHORIZATION_FAILED
    answer = authz.both("DeleteTopics", 6, timeout_ms=30000, topics=[
        {"name": protected["closed"], "topic_id": None}])
    assert answer["responses"][0]["error_code"] == 0
    txn = name("txn")
    create_acls(authz, acl(TRANSACTIONAL_ID, txn, ALICE, ALL))
    wait_acls(authz, 1, resource_type=TRANSACTIONAL_ID, resource_name=txn, pattern=LITERAL)
    answer = authz.both("InitProducerId", 4, transactional_id=txn,
                        transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1)
    assert answer["error_code"] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    answer = authz.both("FindCoordinator", 4, key_type=1, coordinator_keys=[txn])
    assert answer["coordinators"][0]["error_code"] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED


def test_cluster_acls_gate_the_acl_apis(authz):
    """A DENY of DESCRIBE on the cluster next to an ALLOW of ALL: DescribeAcls is
    refused, CreateAcls (ALTER) still works, and removing the DENY restores it."""
    create_acls(authz, acl(CLUSTER, "kafka-cluster", ANONYMOUS, ALL),
                acl(CLUSTER, "kafka-cluster", ANONYMOUS, DESCRIBE, permission=DENY))
    try:
        for side in ("kafka", "rafka"):
            def refused():
                answer = authz.send(side, "DescribeAcls", 3, **acl_filter())
                return answer["error_code"] == CLUSTER_AUTHORIZATION_FAILED
            wait_until(refused, timeout_s=30, what=f"{side}: DescribeAcls refused")
        describe_acls(authz)
        answer = authz.both("Metadata", 10, topics=[], allow_auto_topic_creation=False,
                            include_cluster_authorized_operations=True,
                            include_topic_authorized_operations=False)
        # kafka-python names the cluster's field `authorized_operations`, decoded as the
        # list of operations the bits allow: none without DESCRIBE on the cluster.
        assert answer["authorized_operations"] in (0, [])
        authz.both("DescribeCluster", 1, include_cluster_authorized_operations=True,
                   endpoint_type=1)
    finally:
        for side in ("kafka", "rafka"):
            authz.send(side, "DeleteAcls", 3, filters=[acl_filter(resource_type=CLUSTER)])
    wait_acls(authz, 0, resource_type=CLUSTER)


# -- kafka-acls.sh: Kafka's tool against both, ours against rafka ------------------------

def acl_blocks(text: str) -> set[tuple[str, frozenset[str]]]:
    """The tool's blocks as (header, entries): Kafka prints a resource's entries from a
    HashSet, in an order that changes from run to run."""
    blocks = set()
    for block in text.strip().split("\n\n"):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if lines:
            blocks.add((lines[0], frozenset(lines[1:])))
    return blocks


def test_kafka_acls_tool_answers_the_same(authz, tmp_path):
    from compat_helpers import kafka_java_cmd
    import subprocess
    from conftest import rafka_bin
    java = kafka_java_cmd()
    topic = name("tool")

    def kafka_tool(side: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(java + ["org.apache.kafka.tools.AclCommand", "--bootstrap-server",
                                      f"127.0.0.1:{authz.port(side)}", *args],
                              capture_output=True, text=True, timeout=120)

    def ours(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(rafka_bin()), "acls", "--bootstrap-server",
                               f"127.0.0.1:{authz.port('rafka')}", *args],
                              capture_output=True, text=True, timeout=120)

    add = ("--add", "--allow-principal", ALICE, "--allow-principal", "User:bob",
           "--operation", "Read", "--operation", "Describe", "--topic", topic)
    outputs = {}
    for side in ("kafka", "rafka"):
        proc = kafka_tool(side, *add)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs[side] = acl_blocks(proc.stdout)
    assert outputs["kafka"] == outputs["rafka"]
    assert len(next(iter(outputs["rafka"]))[1]) == 4
    wait_acls(authz, 4, resource_type=TOPIC, resource_name=topic, pattern=LITERAL)
    listed = {side: kafka_tool(side, "--list", "--topic", topic) for side in ("kafka", "rafka")}
    assert acl_blocks(listed["kafka"].stdout) == acl_blocks(listed["rafka"].stdout)
    ours_listed = ours("--list", "--topic", topic)
    assert ours_listed.returncode == 0, ours_listed.stderr
    assert acl_blocks(ours_listed.stdout) == acl_blocks(listed["kafka"].stdout)
    # Our --producer add on rafka lists as Kafka's does on Kafka.
    ptopic = name("prod")
    kafka_tool("kafka", "--add", "--allow-principal", ALICE, "--producer", "--topic", ptopic)
    proc = ours("--add", "--allow-principal", ALICE, "--producer", "--topic", ptopic)
    assert proc.returncode == 0, proc.stderr
    wait_acls(authz, 3, resource_type=TOPIC, resource_name=ptopic, pattern=LITERAL)
    assert acl_blocks(ours("--list", "--topic", ptopic).stdout) == \
        acl_blocks(kafka_tool("kafka", "--list", "--topic", ptopic).stdout)
    for side in ("kafka", "rafka"):
        proc = kafka_tool(side, "--remove", "--force", "--topic", topic)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = ours("--remove", "--force", "--topic", ptopic)
    assert proc.returncode == 0, proc.stderr
    kafka_tool("kafka", "--remove", "--force", "--topic", ptopic)
    wait_acls(authz, 0, resource_type=TOPIC, resource_name=topic, pattern=LITERAL)
    wait_acls(authz, 0, resource_type=TOPIC, resource_name=ptopic, pattern=LITERAL)


# -- the share APIs and the cluster-level checks ----------------------------------------

def created_topic_ids(pair: Pair, topic: str) -> dict[str, str]:
    """Creates `topic` on both brokers: each one's id of it (CreateTopics answers it even
    to a principal that may not describe the topic once an ACL closes it)."""
    ids = {}
    for side in ("kafka", "rafka"):
        answer = pair.send(side, "CreateTopics", 7, topics=[{
            "name": topic, "num_partitions": 1, "replication_factor": 1, "assignments": [],
            "configs": []}], timeout_ms=30000, validate_only=False)
        assert answer["topics"][0]["error_code"] == 0, answer
        ids[side] = answer["topics"][0]["topic_id"]
    return ids


def kafka_member_id() -> str:
    """A member id as Kafka's clients make one (Uuid.toString: url-safe base64)."""
    import base64
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def share_fetch_fields(group: str, member: str, epoch: int, topics: list[tuple[str, list]]):
    """topics: (topic id, acknowledgement batches of partition 0)."""
    return {"group_id": group, "member_id": member, "share_session_epoch": epoch,
            "max_wait_ms": 0, "min_bytes": 1, "max_bytes": 1 << 20, "max_records": 100,
            "batch_size": 100, "forgotten_topics_data": [],
            "topics": [{"topic_id": t, "partitions": [
                {"partition_index": 0, "acknowledgement_batches": acks}]} for t, acks in topics]}


def partition_codes(answer: dict, ids: dict[str, str], field: str = "error_code") -> dict:
    names = {v: k for k, v in ids.items()}
    return {names[t["topic_id"]]: t["partitions"][0][field] for t in answer["responses"]}


def test_share_apis_need_read_on_the_group_and_the_topics(authz, protected, share_messages):
    """Kafka's handleShareGroupHeartbeat/handleShareFetchRequest/handleShareAcknowledgeRequest:
    READ on the group first (the whole answer GROUP_AUTHORIZATION_FAILED), then READ on
    each topic (that partition TOPIC_AUTHORIZATION_FAILED, its acknowledgements too) —
    DESCRIBE on the subscribed topics for the heartbeat."""
    closed_group, free_group = protected["group"], name("share")
    heartbeat = {"member_id": str(uuid.uuid4()), "member_epoch": 0, "rack_id": None}
    answer = authz.both("ShareGroupHeartbeat", 1, group_id=closed_group,
                        subscribed_topic_names=[protected["open"]], **heartbeat)
    assert answer["error_code"] == GROUP_AUTHORIZATION_FAILED
    answer = authz.both("ShareGroupHeartbeat", 1, group_id=free_group,
                        subscribed_topic_names=[protected["open"], protected["closed"]],
                        **heartbeat)
    assert answer["error_code"] == TOPIC_AUTHORIZATION_FAILED
    member = kafka_member_id()
    answer = authz.both("ShareFetch", 1, **share_fetch_fields(closed_group, member, 0, []))
    assert answer["error_code"] == GROUP_AUTHORIZATION_FAILED
    answer = authz.both("ShareAcknowledge", 1, group_id=closed_group, member_id=member,
                        share_session_epoch=1, topics=[])
    assert answer["error_code"] == GROUP_AUTHORIZATION_FAILED
    # A group it may read, a topic it may read and one it may not.
    opened_topic, closed = name("so"), name("sc")
    open_ids, closed_ids = created_topic_ids(authz, opened_topic), created_topic_ids(authz, closed)
    create_acls(authz, acl(TOPIC, closed, ALICE, ALL))
    wait_acls(authz, 1, resource_type=TOPIC, resource_name=closed, pattern=LITERAL)
    answers = {}
    for side in ("kafka", "rafka"):
        ids = {"open": open_ids[side], "closed": closed_ids[side]}
        opened = authz.send(side, "ShareFetch", 1, **share_fetch_fields(
            free_group, member, 0, [(ids["open"], []), (ids["closed"], [])]))
        batch = [{"first_offset": 0, "last_offset": 0, "acknowledge_types": [1]}]
        acked = authz.send(side, "ShareFetch", 1, **share_fetch_fields(
            free_group, member, 1, [(ids["closed"], batch)]))
        acknowledged = authz.send(side, "ShareAcknowledge", 1, group_id=free_group,
                                  member_id=member, share_session_epoch=2, topics=[
                                      {"topic_id": ids["closed"], "partitions": [
                                          {"partition_index": 0,
                                           "acknowledgement_batches": batch}]}])
        answers[side] = [without_idle(a) for a in (opened, acked, acknowledged)]
        # The session's final request closes it.
        authz.send(side, "ShareAcknowledge", 1, group_id=free_group, member_id=member,
                   share_session_epoch=-1, topics=[])
    for what, k, r in zip(("ShareFetch opening", "ShareFetch acknowledging",
                           "ShareAcknowledge"), answers["kafka"], answers["rafka"]):
        authz.compare(k, r, what)
    opened, acked, acknowledged = answers["rafka"]
    ids = {"closed": closed_ids["rafka"]}
    assert partition_codes(opened, ids) == {"closed": TOPIC_AUTHORIZATION_FAILED}
    assert partition_codes(acked, ids, "acknowledge_error_code") == \
        {"closed": TOPIC_AUTHORIZATION_FAILED}
    assert partition_codes(acknowledged, ids) == {"closed": TOPIC_AUTHORIZATION_FAILED}


def without_idle(answer: dict) -> dict:
    """Kafka leaves a partition with nothing to give and no error out of a share
    session's answer; rafka lists it (a difference of the share fetch, not of
    authorization): compared without them."""
    def busy(p: dict) -> bool:
        return bool(p["error_code"] or p.get("acknowledge_error_code") or p.get("records")
                    or p.get("acquired_records"))
    topics = [{**t, "partitions": [p for p in t["partitions"] if busy(p)]}
              for t in answer["responses"]]
    return {**answer, "responses": [t for t in topics if t["partitions"]]}


# A second loopback address: ACLs whose host is it refuse only the test's own connections,
# never the brokers' (Kafka's broker-to-controller requests come as ANONYMOUS too) nor
# the connection that removes them.
TEST_HOST = "127.0.0.2"


def share_state_fields(api: str, group: str, topic: str) -> dict:
    partition = {"partition": 0}
    if api == "InitializeShareGroupState":
        partition.update(state_epoch=1, start_offset=0)
    elif api == "WriteShareGroupState":
        partition.update(state_epoch=1, leader_epoch=0, start_offset=0, state_batches=[])
    elif api in ("ReadShareGroupState", "ReadShareGroupStateSummary"):
        partition.update(leader_epoch=0)
    return {"group_id": group, "topics": [{"topic_id": topic, "partitions": [partition]}]}


def test_cluster_operations_gate_the_cluster_apis(authz, share_messages):
    """DENY for ANONYMOUS from TEST_HOST of CLUSTER_ACTION (the share-state APIs 83–87),
    ALTER (AlterReplicaLogDirs, AlterUserScramCredentials), DESCRIBE
    (DescribeUserScramCredentials) and DESCRIBE_CONFIGS (ListConfigResources) on the
    cluster, beside an ALLOW of ALL: each answers as Kafka's refusal; from 127.0.0.1 the
    same requests pass the check."""
    denied = [CLUSTER_ACTION, ALTER, DESCRIBE, DESCRIBE_CONFIGS]
    create_acls(authz, acl(CLUSTER, "kafka-cluster", ANONYMOUS, ALL),
                *[acl(CLUSTER, "kafka-cluster", ANONYMOUS, op, permission=DENY, host=TEST_HOST)
                  for op in denied])
    clients = {side: RawClient("127.0.0.1", authz.port(side), source_host=TEST_HOST)
               for side in ("kafka", "rafka")}
    try:
        wait_acls(authz, 1 + len(denied), resource_type=CLUSTER)

        def both(api: str, version: int, **fields) -> dict:
            k = clients["kafka"].request(api, version, **fields)
            r = clients["rafka"].request(api, version, **fields)
            return authz.compare(k, r, f"{api} v{version} from {TEST_HOST}",
                                 extra={"error_message": not_authorized})

        topic = str(uuid.uuid4())
        for api in ("InitializeShareGroupState", "ReadShareGroupState", "WriteShareGroupState",
                    "DeleteShareGroupState", "ReadShareGroupStateSummary"):
            answer = both(api, 0, **share_state_fields(api, "g", topic))
            partition = answer["results"][0]["partitions"][0]
            assert (partition["error_code"], partition["error_message"]) == \
                (CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed."), api
        answer = both("AlterReplicaLogDirs", 2, dirs=[
            {"path": "/nowhere", "topics": [{"name": "t", "partitions": [0, 1]},
                                            {"name": "u", "partitions": [0]}]}])
        assert [p["error_code"] for t in answer["results"] for p in t["partitions"]] == \
            [CLUSTER_AUTHORIZATION_FAILED] * 3
        answer = both("ListConfigResources", 1, resource_types=[])
        assert answer["error_code"] == CLUSTER_AUTHORIZATION_FAILED
        answer = both("DescribeUserScramCredentials", 0, users=[{"name": "alice"}])
        assert answer["error_code"] == CLUSTER_AUTHORIZATION_FAILED
        assert [r["error_code"] for r in answer["results"]] == [CLUSTER_AUTHORIZATION_FAILED]
        # (All users, `users` null, refused: Kafka 4.1.1's getErrorResponse throws and it
        # never answers; rafka answers the error with no results.)
        answer = clients["rafka"].request("DescribeUserScramCredentials", 0, users=None)
        assert (answer["error_code"], answer["results"]) == (CLUSTER_AUTHORIZATION_FAILED, [])
        answer = both("AlterUserScramCredentials", 0, deletions=[
            {"name": "bob", "mechanism": 1}], upsertions=[
            {"name": "alice", "mechanism": 1, "iterations": 4096, "salt": b"s",
             "salted_password": b"p"}])
        assert [(r["user"], r["error_code"], r["error_message"]) for r in answer["results"]] \
            == [(u, CLUSTER_AUTHORIZATION_FAILED, "<request> needs ALTER permission.")
                for u in ("alice", "bob")]
        # From 127.0.0.1 the checks pass: the APIs' own answers.
        for side in ("kafka", "rafka"):  # (which topics they list differs: internal ones)
            answer = authz.send(side, "ListConfigResources", 1, resource_types=[2])
            assert answer["error_code"] == 0, side
        answer = authz.both("DescribeUserScramCredentials", 0, users=[{"name": "nobody"}])
        assert answer["results"][0]["error_code"] != CLUSTER_AUTHORIZATION_FAILED
    finally:
        for client in clients.values():
            client.close()
        for side in ("kafka", "rafka"):
            authz.send(side, "DeleteAcls", 3, filters=[acl_filter(resource_type=CLUSTER)])
    wait_acls(authz, 0, resource_type=CLUSTER)
