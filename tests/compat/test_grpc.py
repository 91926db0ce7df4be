"""The gRPC service rafka.v1 (`rafka grpc <config.properties>`) driven through a Python
client generated from `crates/rest-proxy/proto/rafka/v1/rafka.proto` with grpcio-tools
at test time (into pytest's tmp dir; generated code is never committed).

Covered: server reflection lists the services, grpc.health.v1 reports them serving; topic admin (create, describe, list,
delete) with its error codes; unary produce and fetch with keys, headers and
timestamps; NOT_FOUND / INVALID_ARGUMENT / OUT_OF_RANGE for unknown topics and bad
arguments; a client-streaming produce of 100k records with per-record acks; a group
subscription that reads them all and commits, then resumes after its commit; and a
group that commits part of the records, the service killed (SIGKILL) and started again,
whose next subscription gets exactly the rest.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from compat_helpers import wait_until
from conftest import free_port, rafka_bin

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "crates" / "rest-proxy" / "proto"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
RPC_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The generated `rafka_pb2` and `rafka_pb2_grpc` modules."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("grpc-generated")
    include = Path(protoc.__file__).parent / "_proto"
    status = protoc.main([
        "grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{include}",
        f"--python_out={out}", f"--grpc_python_out={out}", "rafka/v1/rafka.proto",
    ])
    assert status == 0, "protoc failed on rafka.proto"
    sys.path.insert(0, str(out))
    try:
        pb2 = importlib.import_module("rafka.v1.rafka_pb2")
        pb2_grpc = importlib.import_module("rafka.v1.rafka_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    return pb2, pb2_grpc


class GrpcService:
    """One `rafka grpc` process on a loopback port; restartable on the same port."""

    def __init__(self, workdir: Path, bootstrap: str, command: str = "grpc", extra: str = ""):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.command = command
        self.config = workdir / "grpc.properties"
        # A killed service's group members are only dropped when their session times
        # out: the broker's minimum keeps the restart test short.
        self.config.write_text(
            f"bootstrap.servers={bootstrap}\n"
            f"grpc.listener=127.0.0.1:{self.port}\n"
            "consumer.session.timeout.ms=6000\n"
            "consumer.heartbeat.interval.ms=1000\n" + extra)
        self.log_path = workdir / "grpc.log"
        self.proc: subprocess.Popen | None = None

    def start(self, pb) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(rafka_bin()), self.command, str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        pb2, pb2_grpc = pb

        def ready() -> bool:
            assert self.proc.poll() is None, f"rafka grpc exited:\n{self.log_tail()}"
            with grpc.insecure_channel(self.address) as channel:
                pb2_grpc.AdminStub(channel).ListTopics(pb2.ListTopicsRequest(), timeout=2)
            return True

        wait_until(ready, timeout_s=READY_TIMEOUT_S, what=f"rafka grpc on {self.address}")

    def stop(self) -> int:
        """SIGTERM: subscriptions end, their members leave their groups."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=STOP_TIMEOUT_S)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def service(broker, pb, tmp_path_factory):
    svc = GrpcService(tmp_path_factory.mktemp("grpc"), broker.bootstrap)
    svc.start(pb)
    yield svc
    if svc.proc.poll() is None:
        assert svc.stop() == 0, f"rafka grpc did not stop cleanly:\n{svc.log_tail()}"


@pytest.fixture
def stubs(service, pb):
    pb2, pb2_grpc = pb
    channel = grpc.insecure_channel(service.address)
    yield pb2, pb2_grpc.RafkaStub(channel), pb2_grpc.AdminStub(channel)
    channel.close()


def rpc_error(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, timeout=RPC_TIMEOUT_S, **kwargs)
    return info.value


def create_topic(pb2, admin, name: str, partitions: int = 1):
    return admin.CreateTopic(pb2.CreateTopicRequest(name=name, partitions=partitions),
                             timeout=RPC_TIMEOUT_S)


def unique(name: str) -> str:
    return f"{name}-{time.monotonic_ns()}"


def test_reflection_lists_the_services(service):
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.insecure_channel(service.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"rafka.v1.Rafka", "rafka.v1.Admin"} <= services, services
        rafka = DescriptorPool(database).FindServiceByName("rafka.v1.Rafka")
        methods = {m.name: m for m in rafka.methods}
        assert set(methods) == {"Produce", "ProduceStream", "Subscribe", "Commit", "Fetch"}
        assert methods["ProduceStream"].client_streaming
        assert methods["Subscribe"].server_streaming
        assert "grpc.health.v1.Health" in services, services

        # grpc.health.v1 by hand: HealthCheckRequest{service} in, HealthCheckResponse{status}
        # out, status 1 = SERVING.
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b,
                                    response_deserializer=lambda b: b)
        for name in ["", "rafka.v1.Rafka", "rafka.v1.Admin"]:
            encoded = name.encode()
            request = b"\x0a" + bytes([len(encoded)]) + encoded if name else b""
            assert check(request, timeout=RPC_TIMEOUT_S) == b"\x08\x01", name


def test_admin_creates_describes_lists_and_deletes_topics(stubs):
    pb2, _, admin = stubs
    name = unique("grpc-admin")
    created = admin.CreateTopic(
        pb2.CreateTopicRequest(name=name, partitions=3, replication_factor=1,
                               configs={"cleanup.policy": "compact"}),
        timeout=RPC_TIMEOUT_S)
    assert created.name == name
    assert [p.partition for p in created.partitions] == [0, 1, 2]
    assert all(p.leader == 1 and list(p.replicas) == [1] and list(p.isr) == [1]
               for p in created.partitions), created

    described = admin.DescribeTopic(pb2.DescribeTopicRequest(name=name), timeout=RPC_TIMEOUT_S)
    assert described.name == name and len(described.partitions) == 3 and not described.internal

    again = rpc_error(admin.CreateTopic, pb2.CreateTopicRequest(name=name, partitions=1))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS, again.details()
    assert name in again.details()

    listed = admin.ListTopics(pb2.ListTopicsRequest(), timeout=RPC_TIMEOUT_S)
    names = [t.name for t in listed.topics]
    assert name in names and names == sorted(names)
    assert not any(n.startswith("__") for n in names), names

    admin.DeleteTopic(pb2.DeleteTopicRequest(name=name), timeout=RPC_TIMEOUT_S)

    def gone() -> bool:
        err = rpc_error(admin.DescribeTopic, pb2.DescribeTopicRequest(name=name))
        return err.code() == grpc.StatusCode.NOT_FOUND

    wait_until(gone, what=f"{name} to be deleted")
    missing = rpc_error(admin.DeleteTopic, pb2.DeleteTopicRequest(name=name))
    assert missing.code() == grpc.StatusCode.NOT_FOUND, missing.details()


def test_admin_rejects_bad_arguments(stubs):
    pb2, _, admin = stubs
    for request in [
        pb2.CreateTopicRequest(name=""),
        pb2.CreateTopicRequest(name=unique("grpc-zero"), partitions=0),
        pb2.CreateTopicRequest(name=unique("grpc-zero-rf"), replication_factor=0),
        pb2.CreateTopicRequest(name="bad/name", partitions=1),
        pb2.CreateTopicRequest(name=unique("grpc-too-many-replicas"), partitions=1,
                               replication_factor=3),
    ]:
        err = rpc_error(admin.CreateTopic, request)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, err.details())
        assert err.details(), request


def test_unary_produce_then_fetch(stubs):
    pb2, rafka, admin = stubs
    topic = unique("grpc-unary")
    create_topic(pb2, admin, topic)
    records = [
        pb2.Record(key=b"k0", value=b"v0", headers=[pb2.Header(key="h", value=b"x")],
                   timestamp_ms=1_700_000_000_000),
        pb2.Record(value=b"v1"),
        pb2.Record(key=b"k2", partition=0),
    ]
    produced = rafka.Produce(pb2.ProduceRequest(topic=topic, records=records),
                             timeout=RPC_TIMEOUT_S)
    assert produced.failed == 0
    assert [(a.partition, a.offset, a.error_code) for a in produced.acks] == [
        (0, 0, 0), (0, 1, 0), (0, 2, 0)]

    fetched = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=0, offset=0),
                          timeout=RPC_TIMEOUT_S)
    assert fetched.high_watermark == 3 and fetched.log_start_offset == 0
    assert [r.offset for r in fetched.records] == [0, 1, 2]
    first, second, third = fetched.records
    assert (first.key, first.value, first.timestamp_ms) == (b"k0", b"v0", 1_700_000_000_000)
    assert [(h.key, h.value) for h in first.headers] == [("h", b"x")]
    assert not second.HasField("key") and second.value == b"v1"
    assert third.key == b"k2" and not third.HasField("value")
    assert all(r.topic == topic and r.partition == 0 for r in fetched.records)

    limited = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=0, offset=1, max_records=1),
                          timeout=RPC_TIMEOUT_S)
    assert [r.value for r in limited.records] == [b"v1"]

    at_end = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=0, offset=3, max_wait_ms=100),
                         timeout=RPC_TIMEOUT_S)
    assert list(at_end.records) == [] and at_end.high_watermark == 3

    beyond = rpc_error(rafka.Fetch, pb2.FetchRequest(topic=topic, partition=0, offset=10))
    assert beyond.code() == grpc.StatusCode.OUT_OF_RANGE, beyond.details()
    assert "[0, 3]" in beyond.details(), beyond.details()


def test_a_refused_record_fails_alone_and_big_records_split_fetches(stubs):
    pb2, rafka, admin = stubs
    topic = unique("grpc-sizes")
    create_topic(pb2, admin, topic)
    # 2 MiB is over the producer's message.max.bytes (1 MB): that record fails, alone.
    produced = rafka.Produce(pb2.ProduceRequest(topic=topic, records=[
        pb2.Record(value=b"a"), pb2.Record(value=b"x" * (2 << 20)), pb2.Record(value=b"c")]),
        timeout=RPC_TIMEOUT_S)
    assert produced.failed == 1
    ok, refused, after = produced.acks
    assert (ok.error_code, ok.offset, after.error_code, after.offset) == (0, 0, 0, 1)
    assert refused.error_code == grpc.StatusCode.INVALID_ARGUMENT.value[0], refused
    assert topic in refused.error_message and "too large" in refused.error_message.lower()

    big = b"b" * 400_000
    produced = rafka.Produce(pb2.ProduceRequest(topic=topic, records=[
        pb2.Record(value=big) for _ in range(6)]), timeout=RPC_TIMEOUT_S)
    assert produced.failed == 0 and [a.offset for a in produced.acks] == [2, 3, 4, 5, 6, 7]
    # A fetch stops once its records reach max_bytes (default 1 MiB).
    default = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=0, offset=2),
                          timeout=RPC_TIMEOUT_S)
    assert [r.offset for r in default.records] == [2, 3, 4]
    assert all(r.value == big for r in default.records)
    smaller = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=0, offset=2, max_bytes=500_000),
                          timeout=RPC_TIMEOUT_S)
    assert [r.offset for r in smaller.records] == [2, 3]


def test_unknown_topics_and_bad_arguments_have_their_codes(stubs):
    pb2, rafka, admin = stubs
    missing = unique("grpc-missing")
    calls = [
        (rafka.Produce, pb2.ProduceRequest(topic=missing, records=[pb2.Record(value=b"x")])),
        (rafka.Fetch, pb2.FetchRequest(topic=missing, partition=0, offset=0)),
        (admin.DescribeTopic, pb2.DescribeTopicRequest(name=missing)),
    ]
    for call, request in calls:
        err = rpc_error(call, request)
        assert err.code() == grpc.StatusCode.NOT_FOUND, (request, err.details())
        assert missing in err.details()
    subscription = rafka.Subscribe(pb2.SubscribeRequest(group=unique("g"), topics=[missing]),
                                   timeout=RPC_TIMEOUT_S)
    with pytest.raises(grpc.RpcError) as info:
        next(subscription)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND, info.value.details()
    # The service never creates a topic by asking about it (the broker would allow it).
    err = rpc_error(admin.DescribeTopic, pb2.DescribeTopicRequest(name=missing))
    assert err.code() == grpc.StatusCode.NOT_FOUND

    topic = unique("grpc-args")
    create_topic(pb2, admin, topic)
    no_partition = rpc_error(rafka.Produce, pb2.ProduceRequest(
        topic=topic, records=[pb2.Record(value=b"x", partition=5)]))
    assert no_partition.code() == grpc.StatusCode.NOT_FOUND, no_partition.details()
    assert "partition 5" in no_partition.details()
    for call, request in [
        (rafka.Produce, pb2.ProduceRequest(topic="", records=[pb2.Record(value=b"x")])),
        (rafka.Produce, pb2.ProduceRequest(topic=topic, records=[pb2.Record(partition=-2)])),
        (rafka.Fetch, pb2.FetchRequest(topic=topic, partition=0, offset=-1)),
        (rafka.Fetch, pb2.FetchRequest(topic=topic, partition=-1, offset=0)),
        (rafka.Commit, pb2.CommitRequest(offsets=[
            pb2.PartitionOffset(topic=topic, partition=0, offset=1)])),
        (rafka.Commit, pb2.CommitRequest(group="g", offsets=[])),
    ]:
        err = rpc_error(call, request)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, err.details())
    for request in [pb2.SubscribeRequest(group="", topics=[topic]),
                    pb2.SubscribeRequest(group="g", topics=[])]:
        with pytest.raises(grpc.RpcError) as info:
            next(rafka.Subscribe(request, timeout=RPC_TIMEOUT_S))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
    gone = rpc_error(rafka.Commit, pb2.CommitRequest(
        subscription_id="no-such-subscription",
        offsets=[pb2.PartitionOffset(topic=topic, partition=0, offset=0)]))
    assert gone.code() == grpc.StatusCode.NOT_FOUND, gone.details()
    # Nothing was written by the refused produces.
    fetched = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=0, offset=0, max_wait_ms=50),
                          timeout=RPC_TIMEOUT_S)
    assert fetched.high_watermark == 0


def test_commit_without_subscription_sets_where_a_group_starts(stubs):
    """A group with no active member takes commits without a subscription (as Kafka's
    admin tools do); its first subscription then starts there."""
    pb2, rafka, admin = stubs
    topic, group = unique("grpc-admin-commit"), unique("grpc-admin-commit")
    create_topic(pb2, admin, topic)
    rafka.Produce(pb2.ProduceRequest(topic=topic, records=[
        pb2.Record(value=b"r%d" % i) for i in range(5)]), timeout=RPC_TIMEOUT_S)
    rafka.Commit(pb2.CommitRequest(group=group, offsets=[
        pb2.PartitionOffset(topic=topic, partition=0, offset=3)]), timeout=RPC_TIMEOUT_S)
    subscription = rafka.Subscribe(pb2.SubscribeRequest(
        group=group, topics=[topic], offset_reset=pb2.OFFSET_RESET_EARLIEST), timeout=60)
    _, records = read(subscription, 2)
    subscription.cancel()
    assert [(r.offset, r.value) for r in records] == [(3, b"r3"), (4, b"r4")]


RECORDS = 100_000
PARTITIONS = 3


def value_of(i: int) -> bytes:
    return f"value-{i:06d}".encode()


def produce_stream(pb2, rafka, topic: str, first: int, count: int, per_request: int = 1000):
    def requests():
        for start in range(first, first + count, per_request):
            end = min(start + per_request, first + count)
            yield pb2.ProduceRequest(topic=topic, records=[
                pb2.Record(key=f"key-{i}".encode(), value=value_of(i)) for i in range(start, end)])

    return rafka.ProduceStream(requests(), timeout=120)


@pytest.fixture(scope="module")
def streamed_topic(service, pb):
    """A 3-partition topic holding 100k records written by one ProduceStream call."""
    pb2, pb2_grpc = pb
    with grpc.insecure_channel(service.address) as channel:
        rafka, admin = pb2_grpc.RafkaStub(channel), pb2_grpc.AdminStub(channel)
        topic = unique("grpc-stream")
        create_topic(pb2, admin, topic, partitions=PARTITIONS)
        response = produce_stream(pb2, rafka, topic, 0, RECORDS)
    return topic, response


def test_streaming_produce_acks_every_record(streamed_topic, stubs):
    pb2, rafka, _ = stubs
    topic, response = streamed_topic
    assert response.failed == 0
    assert len(response.acks) == RECORDS
    assert all(a.error_code == 0 for a in response.acks)
    by_partition: dict[int, list[int]] = {}
    for ack in response.acks:
        by_partition.setdefault(ack.partition, []).append(ack.offset)
    assert set(by_partition) == set(range(PARTITIONS)), "the keys spread over every partition"
    for partition, offsets in by_partition.items():
        assert offsets == list(range(len(offsets))), f"partition {partition} has gaps"
    # An ack names where its record is: fetch a few back by the ack.
    for i in (0, 4242, RECORDS - 1):
        ack = response.acks[i]
        fetched = rafka.Fetch(pb2.FetchRequest(topic=topic, partition=ack.partition,
                                               offset=ack.offset, max_records=1),
                              timeout=RPC_TIMEOUT_S)
        assert [(r.key, r.value) for r in fetched.records] == [(f"key-{i}".encode(), value_of(i))]


def read(subscription, count: int) -> tuple[str, list]:
    """The subscription id and the first `count` records of a Subscribe stream."""
    first = next(subscription)
    assert first.subscription_id and not first.records
    records = []
    for message in subscription:
        assert message.subscription_id == first.subscription_id
        records.extend(message.records)
        if len(records) >= count:
            break
    return first.subscription_id, records


def next_offsets(pb2, topic: str, records) -> list:
    """What a client commits after processing `records`: each partition's last offset + 1."""
    last: dict[int, int] = {}
    for record in records:
        last[record.partition] = max(last.get(record.partition, -1), record.offset)
    return [pb2.PartitionOffset(topic=topic, partition=p, offset=o + 1) for p, o in last.items()]


def test_subscription_reads_everything_commits_and_resumes(streamed_topic, stubs):
    pb2, rafka, _ = stubs
    topic, _ = streamed_topic
    group = unique("grpc-all")
    request = pb2.SubscribeRequest(group=group, topics=[topic],
                                   offset_reset=pb2.OFFSET_RESET_EARLIEST)
    subscription = rafka.Subscribe(request, timeout=120)
    subscription_id, records = read(subscription, RECORDS)
    assert len(records) == RECORDS
    assert sorted(r.value for r in records) == [value_of(i) for i in range(RECORDS)]
    rafka.Commit(pb2.CommitRequest(subscription_id=subscription_id, group=group,
                                   offsets=next_offsets(pb2, topic, records)),
                 timeout=RPC_TIMEOUT_S)
    subscription.cancel()

    produce_stream(pb2, rafka, topic, RECORDS, 5, per_request=5)
    again = rafka.Subscribe(request, timeout=120)
    _, rest = read(again, 5)
    again.cancel()
    assert sorted(r.value for r in rest) == [value_of(RECORDS + i) for i in range(5)]


def test_subscription_resumes_from_its_commit_after_the_service_is_killed(
        streamed_topic, stubs, service, pb):
    pb2, rafka, _ = stubs
    topic, _ = streamed_topic
    group = unique("grpc-restart")
    request = pb2.SubscribeRequest(group=group, topics=[topic],
                                   offset_reset=pb2.OFFSET_RESET_EARLIEST, max_records=100)
    subscription = rafka.Subscribe(request, timeout=120)
    subscription_id, processed = read(subscription, 30_000)
    rafka.Commit(pb2.CommitRequest(subscription_id=subscription_id,
                                   offsets=next_offsets(pb2, topic, processed)),
                 timeout=RPC_TIMEOUT_S)
    service.kill9()
    with pytest.raises(grpc.RpcError):
        for _ in subscription:
            pass

    service.start(pb)
    pb2_grpc = pb[1]
    with grpc.insecure_channel(service.address) as channel:
        restarted = pb2_grpc.RafkaStub(channel)
        # Every record of the topic (an earlier test may have added a few past RECORDS).
        total = sum(restarted.Fetch(pb2.FetchRequest(topic=topic, partition=p, offset=0,
                                                     max_records=1),
                                    timeout=RPC_TIMEOUT_S).high_watermark
                    for p in range(PARTITIONS))
        assert total >= RECORDS
        resumed = restarted.Subscribe(request, timeout=120)
        _, rest = read(resumed, total - len(processed))
        resumed.cancel()
    expected = sorted(set(value_of(i) for i in range(total)) - {r.value for r in processed})
    assert len(rest) == total - len(processed)
    assert sorted(r.value for r in rest) == expected


def test_sigterm_ends_open_subscriptions_then_the_service(streamed_topic, stubs, service):
    """Runs last in this module: it stops the service."""
    pb2, rafka, _ = stubs
    topic, _ = streamed_topic
    subscription = rafka.Subscribe(pb2.SubscribeRequest(
        group=unique("grpc-sigterm"), topics=[topic], offset_reset=pb2.OFFSET_RESET_LATEST),
        timeout=120)
    assert next(subscription).subscription_id
    assert service.stop() == 0, f"rafka grpc did not stop cleanly:\n{service.log_tail()}"
    with pytest.raises(grpc.RpcError) as info:
        for _ in subscription:
            pass
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value.details()
    assert "shutting down" in info.value.details()
    assert "subscription ended" in service.log_path.read_text()


def test_the_rest_proxy_process_serves_grpc_on_grpc_listener(broker, pb, tmp_path):
    """`grpc.listener` in kafka-rest.properties: one process answers both APIs, and
    SIGTERM stops both."""
    http_port = free_port()
    proxy = GrpcService(tmp_path, broker.bootstrap, command="rest-proxy",
                        extra=f"listeners=http://127.0.0.1:{http_port}\n")
    proxy.start(pb)
    try:
        pb2, pb2_grpc = pb
        name = unique("grpc-on-rest")
        with grpc.insecure_channel(proxy.address) as channel:
            create_topic(pb2, pb2_grpc.AdminStub(channel), name, partitions=3)
        base = f"http://127.0.0.1:{http_port}/v3/clusters"
        with urllib.request.urlopen(base, timeout=10) as response:
            cluster = json.load(response)["data"][0]["cluster_id"]
        with urllib.request.urlopen(f"{base}/{cluster}/topics/{name}", timeout=10) as response:
            topic = json.load(response)
        assert (topic["topic_name"], topic["partitions_count"]) == (name, 3)
    finally:
        assert proxy.stop() == 0, f"the REST proxy did not stop cleanly:\n{proxy.log_tail()}"
