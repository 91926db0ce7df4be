"""Cluster mode on loopback: three rafka processes that are each a combined
broker+controller, or (KRaft's separated layout) a controller-only node with three
broker-only nodes.

Each test starts a cluster of its own under its tmp dir (the tests kill nodes) and
stops every process at teardown; the log tails of all nodes are attached to the report
of a failing test. Nothing sleeps to wait: every wait polls a condition with a deadline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewTopic)

from compat_helpers import confluent_consume, topic_name, wait_until
from conftest import (READY_TIMEOUT_S, STOP_TIMEOUT_S, connect_loopback, free_port, listening,
                      rafka_bin)

NODE_IDS = (1, 2, 3)
COMBINED = {i: "broker,controller" for i in NODE_IDS}
# KRaft's separated layout: node 1 is the quorum (of one), nodes 2-4 are the brokers.
SEPARATED = {1: "controller", 2: "broker", 3: "broker", 4: "broker"}

# What a voter logs when it learns the quorum's leader (no client is ever told: Metadata
# and DescribeCluster name a random live broker as the controller, as in KRaft).
QUORUM_LEADER_LOG = re.compile(r"the active controller is now node (\d+)|no active controller")


class ClusterNode:
    """One rafka process with `roles` (process.roles). Ports, config and data dir stay
    the same across kill9()/stop() and start(), so a restarted node recovers its data."""

    def __init__(self, workdir: Path, node_id: int, roles: str, listener: str = "PLAINTEXT"):
        self.workdir = workdir
        # The client (and inter-broker) listener's name and security protocol.
        self.listener = listener
        self.node_id = node_id
        self.roles = roles
        self.is_broker = "broker" in roles.split(",")
        self.is_voter = "controller" in roles.split(",")
        # A controller-only node has no client port; a broker-only node no controller port.
        self.port = free_port() if self.is_broker else None
        self.controller_port = free_port() if self.is_voter else None
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data_dir = workdir / f"n{node_id}"
        self.config_path = workdir / f"n{node_id}.properties"
        self.log_path = workdir / f"n{node_id}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def write_config(self, voters: str, bootstrap_servers: str | None = None,
                     extra_config: dict[str, str] | None = None) -> None:
        """With `bootstrap_servers`, the node is given only
        controller.quorum.bootstrap.servers (Kafka 4's dynamic-quorum form);
        `extra_config` adds to (or overrides) the keys below."""
        listeners = []
        if self.is_broker:
            listeners.append(f"{self.listener}://127.0.0.1:{self.port}")
        if self.is_voter:
            listeners.append(f"CONTROLLER://127.0.0.1:{self.controller_port}")
        config = {
            "process.roles": self.roles,
            "node.id": str(self.node_id),
            **({"controller.quorum.bootstrap.servers": bootstrap_servers} if bootstrap_servers
               else {"controller.quorum.voters": voters}),
            "listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "log.dirs": str(self.data_dir),
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            "replica.lag.time.max.ms": "5000",
            "offsets.topic.replication.factor": "3",
            "num.partitions": "1",
            **(extra_config or {}),
        }
        if self.is_broker:
            config["advertised.listeners"] = f"{self.listener}://127.0.0.1:{self.port}"
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))

    def format(self, cluster_id: str, *extra: str) -> None:
        out = subprocess.run(
            [str(rafka_bin()), "storage", "format", "-t", cluster_id, "-c", str(self.config_path),
             *extra],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (f"storage format of node {self.node_id} failed: "
                                     f"{out.stdout}{out.stderr}")

    # -- lifecycle -------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        """Start the process without waiting (a node needs a quorum to become ready)."""
        assert not self.alive, f"node {self.node_id} already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== rafka node {self.node_id} start #{self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(rafka_bin()), "server", "start", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.workdir,
                # openraft's info lines, and its warning every 200 ms about a killed peer,
                # would push rafka's own lines out of the log tails.
                env={**os.environ, "RAFKA_LOG": os.environ.get("RAFKA_LOG", "info,openraft=error")},
            )

    def accepts_connections(self) -> bool:
        """Whether the node's own port (the client one, else the controller one) is open."""
        port = self.port if self.is_broker else self.controller_port
        return listening(port)

    def quorum_leader(self) -> int | None:
        """The quorum leader this voter logged last in its current run (None: unknown)."""
        text = self.log_path.read_text(errors="replace")
        current_run = text.rsplit(f"===== rafka node {self.node_id} start #", 1)[-1]
        seen = QUORUM_LEADER_LOG.findall(current_run)
        return int(seen[-1]) if seen and seen[-1] else None

    def kill9(self) -> None:
        assert self.alive, f"node {self.node_id} not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        with open(self.log_path, "ab") as log:
            log.write(b"\n===== killed with SIGKILL =====\n")

    def log_tail(self, lines: int = 120) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"ClusterNode({self.node_id}, {self.bootstrap}, alive={self.alive})"


class Cluster:
    """Nodes with the process.roles of `layout` (node id -> roles); the nodes with the
    controller role form the controller quorum."""

    def __init__(self, workdir: Path, layout: dict[int, str], dynamic: bool = False,
                 extra_config: dict[str, str] | None = None, listener: str = "PLAINTEXT",
                 client_config: dict[str, str] | None = None):
        """`dynamic`: configs name only controller.quorum.bootstrap.servers; the
        controllers are formatted with --initial-controllers, the brokers find them.
        `extra_config`: more server.properties keys for every node. `listener`: the
        brokers' listener (SASL_PLAINTEXT with `client_config`'s credentials for the
        harness's own clients)."""
        self.workdir = workdir
        self.client_config = client_config or {}
        self.nodes = {i: ClusterNode(workdir, i, roles, listener) for i, roles in layout.items()}
        controllers = {i: n for i, n in self.nodes.items() if n.is_voter}
        voters = ",".join(f"{i}@127.0.0.1:{n.controller_port}" for i, n in controllers.items())
        self.cluster_id = random_uuid()
        bootstrap = ",".join(f"127.0.0.1:{n.controller_port}" for n in controllers.values())
        initial = ",".join(f"{i}@127.0.0.1:{n.controller_port}:{random_uuid()}"
                           for i, n in controllers.items())
        for node in self.nodes.values():
            node.write_config(voters, bootstrap if dynamic else None, extra_config)
            extra = ("--initial-controllers", initial) if dynamic and node.is_voter else ()
            node.format(self.cluster_id, *extra)

    # -- clients ---------------------------------------------------------------------

    def alive_nodes(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.alive]

    def alive_brokers(self) -> list[ClusterNode]:
        return [n for n in self.alive_nodes() if n.is_broker]

    def bootstrap(self) -> str:
        """The PLAINTEXT addresses of the brokers that are running."""
        return ",".join(n.bootstrap for n in self.alive_brokers())

    def quorum_leader(self) -> int | None:
        """The active controller, once every running voter names the same running one."""
        seen = {n.quorum_leader() for n in self.alive_nodes() if n.is_voter}
        leader = seen.pop() if len(seen) == 1 else None
        return leader if leader is not None and self.nodes[leader].alive else None

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap(), **self.client_config})

    def partitions(self, admin: AdminClient, topic: str):
        md = admin.list_topics(topic=topic, timeout=2)
        t = md.topics[topic]
        if t.error is not None:
            raise RuntimeError(f"metadata error for {topic}: {t.error}")
        return t.partitions

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        for node in self.nodes.values():
            node.spawn()
        for node in self.nodes.values():
            self.wait_ready(node)

    def restart(self, node: ClusterNode) -> None:
        node.spawn()
        self.wait_ready(node)

    def wait_ready(self, node: ClusterNode, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll until the node's port accepts connections and, for a broker, its Metadata
        lists every running broker, itself at its advertised address."""
        deadline = time.monotonic() + timeout_s
        while not node.accepts_connections():
            self._check_alive(node, "while starting")
            if time.monotonic() > deadline:
                self.fail(f"node {node.node_id}: its port did not accept "
                          f"connections in {timeout_s:.0f}s")
            time.sleep(0.02)
        if not node.is_broker:
            return
        admin = AdminClient({"bootstrap.servers": node.bootstrap, **self.client_config})
        want = {n.node_id for n in self.alive_brokers()}
        last: object = None
        while True:
            self._check_alive(node, "while starting")
            try:
                md = admin.list_topics(timeout=1.0)
                brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
                if set(brokers) == want:
                    for i in want:
                        assert brokers[i] == ("127.0.0.1", self.nodes[i].port), (
                            f"node {i} advertised as {brokers[i]}, expected port {self.nodes[i].port}")
                    return
                last = f"brokers {sorted(brokers)}, want {sorted(want)}"
            except AssertionError:
                raise
            except Exception as e:  # noqa: BLE001 - KafkaException while the quorum forms
                last = repr(e)
            if time.monotonic() > deadline:
                self.fail(f"node {node.node_id}: Metadata did not list nodes {sorted(want)} "
                          f"in {timeout_s:.0f}s: {last}")
            time.sleep(0.05)

    def stop(self) -> dict[int, int | None]:
        """SIGTERM every running node at once (stopping them one by one would take the
        quorum away from the last ones), wait, SIGKILL what is stuck."""
        running = self.alive_nodes()
        for node in running:
            node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        codes: dict[int, int | None] = {}
        for node in running:
            try:
                codes[node.node_id] = node.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
                codes[node.node_id] = None
                with open(node.log_path, "ab") as log:
                    log.write(f"\n===== did not exit {STOP_TIMEOUT_S}s after SIGTERM; "
                              "killed =====\n".encode())
        return codes

    # -- diagnostics -----------------------------------------------------------------

    def log_sections(self) -> list[tuple[str, str]]:
        return [(f"rafka node {i} log tail ({n.log_path})", n.log_tail())
                for i, n in self.nodes.items()]

    def _check_alive(self, node: ClusterNode, context: str) -> None:
        if node.proc is not None and node.proc.poll() is not None:
            self.fail(f"node {node.node_id} exited with code {node.proc.returncode} {context}")

    def fail(self, message: str) -> None:
        self.stop()
        logs = "\n".join(f"--- {title} ---\n{text}" for title, text in self.log_sections())
        pytest.fail(f"{message}\n{logs}", pytrace=False)


class _AttachClusterLogs:
    """Adds the log tails of every node of a `Cluster` fixture to a failing report
    (conftest's hook only knows the single-node `Broker`)."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed:
            for value in getattr(item, "funcargs", {}).values():
                if isinstance(value, Cluster):
                    report.sections.extend(value.log_sections())


def random_uuid() -> str:
    out = subprocess.run([str(rafka_bin()), "storage", "random-uuid"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _cluster(request, tmp_path, layout: dict[int, str], dynamic: bool = False,
             extra_config: dict[str, str] | None = None, **cluster_options):
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("rafka-cluster-logs"):
        plugins.register(_AttachClusterLogs(), "rafka-cluster-logs")
    c = Cluster(tmp_path, layout, dynamic, extra_config, **cluster_options)
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def cluster(request, tmp_path):
    """Three combined broker+controller nodes, 1-3."""
    yield from _cluster(request, tmp_path, COMBINED)


@pytest.fixture
def separated_cluster(request, tmp_path):
    """A controller-only node, 1, and three broker-only nodes, 2-4."""
    yield from _cluster(request, tmp_path, SEPARATED)


@pytest.fixture
def bootstrap_servers_cluster(request, tmp_path):
    """Three combined nodes, 1-3, and a broker-only node, 4, all configured with
    controller.quorum.bootstrap.servers only (no controller.quorum.voters)."""
    yield from _cluster(request, tmp_path, {**COMBINED, 4: "broker"}, dynamic=True)


def create_topic_after_failover(cluster, topic: str, partitions: int, rf: int,
                                timeout_s: float, what: str) -> None:
    """Creates `topic` once a node was killed, retrying with a new client each time:
    librdkafka keeps sending admin requests to the "controller" (a random live broker) of
    its Metadata, which may be the dead node until it is fenced."""
    def created():
        fresh = cluster.admin()  # (kept referenced: a collected client fails its futures)
        futures = fresh.create_topics([NewTopic(topic, partitions, rf)], operation_timeout=3)
        try:
            futures[topic].result(timeout=4)
        except Exception as e:  # noqa: BLE001
            err = e.args[0] if e.args else None
            # A retry of a creation that did go through but whose answer was lost.
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise
        return True
    wait_until(created, timeout_s, what, interval_s=0.2)


def create_topic(admin: AdminClient, topic: str, partitions: int, rf: int,
                 config: dict[str, str] | None = None, timeout_s: float = 15.0) -> None:
    futures = admin.create_topics([NewTopic(topic, partitions, rf, config=config or {})],
                                  operation_timeout=timeout_s)
    futures[topic].result(timeout=timeout_s)


def wait_for_full_isr(cluster: Cluster, admin: AdminClient, topic: str, partitions: int,
                      want: set[int] | dict[int, set[int]] | None = None,
                      timeout_s: float = 30.0):
    """Poll until `topic` has `partitions` partitions, each with a leader and ISR == `want`:
    one set for all; per partition (a dict, whose replica sets must be the same); or, with
    None, each partition's own replicas. Returns the partitions."""
    def expected(index, p) -> set[int]:
        if want is None:
            return set(p.replicas)
        return want[index] if isinstance(want, dict) else want

    def ready():
        ps = cluster.partitions(admin, topic)
        if len(ps) == partitions and all(
                p.error is None and p.leader in expected(i, p) and set(p.isrs) == expected(i, p)
                and (not isinstance(want, dict) or set(p.replicas) == want[i])
                for i, p in ps.items()):
            return ps
        return None
    return wait_until(ready, timeout_s, f"ISR {want} for every partition of {topic}")


def acks_all_producer(bootstrap: str, **extra) -> Producer:
    conf = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        # Deliberately not idempotent: without retries each record is sent at most once,
        # so "exactly once in the log" checks the log itself, not the producer's dedup
        # (test_idempotent_producer_... covers that).
        "enable.idempotence": False,
        "retries": 0,
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 5,
        "request.timeout.ms": 10_000,
        "message.timeout.ms": 15_000,
        "reconnect.backoff.max.ms": 200,
        "topic.metadata.refresh.interval.ms": 1_000,
    }
    conf.update(extra)
    return Producer(conf)


def produce_one(producer: Producer, topic: str, value: bytes, timeout_s: float = 20.0):
    """Produce one record and wait for its delivery report; returns the error (or None)."""
    result: list = []
    producer.produce(topic, value=value, partition=0,
                     on_delivery=lambda err, msg: result.append(err))
    producer.flush(timeout_s)
    assert result, f"no delivery report for {value!r} within {timeout_s}s"
    return result[0]


# -- tests ---------------------------------------------------------------------------


def metadata_v1_brokers(port: int, timeout_s: float) -> tuple[set[int], int]:
    """Sends one Metadata v1 request (all topics) on a fresh connection and returns the
    broker ids and the controller id of the first answer, whenever it comes."""
    client_id = b"rafka-ready-test"
    request = (struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id
               + struct.pack(">i", -1))  # topics: null, every topic
    with connect_loopback(port, timeout_s) as s:
        s.sendall(struct.pack(">i", len(request)) + request)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = s.recv(65536)
            assert chunk, "the node closed the connection instead of answering"
            buf += chunk
    body = memoryview(buf)[8:]  # size, correlation id
    (count,) = struct.unpack_from(">i", body, 0)
    at, ids = 4, set()
    for _ in range(count):
        (node_id,) = struct.unpack_from(">i", body, at)
        (host_len,) = struct.unpack_from(">h", body, at + 4)
        at += 4 + 2 + host_len + 4
        (rack_len,) = struct.unpack_from(">h", body, at)
        at += 2 + max(rack_len, 0)
        ids.add(node_id)
    (controller,) = struct.unpack_from(">i", body, at)
    return ids, controller


def test_clients_are_answered_only_once_the_node_is_ready(tmp_path, request):
    """A node binds its client port at start but answers no request before it has
    registered and applied the metadata that says so, as Kafka's broker enables request
    processing only after its initial catch-up. The very first request sent to a node
    that was just started must therefore see a cluster with this node in it, not an
    empty one (a CreateTopics there used to hang until the client's timeout)."""
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("rafka-cluster-logs"):
        plugins.register(_AttachClusterLogs(), "rafka-cluster-logs")
    c = Cluster(tmp_path, COMBINED)
    try:
        for node in c.nodes.values():
            node.spawn()
        node = c.nodes[2]
        wait_until(node.accepts_connections, READY_TIMEOUT_S, "node 2's port to be bound")
        brokers, controller = metadata_v1_brokers(node.port, READY_TIMEOUT_S)
        assert node.node_id in brokers, f"first answer lists brokers {sorted(brokers)}"
        assert controller in brokers, f"controller {controller} not among {sorted(brokers)}"
        # And an admin request right away succeeds at its first try.
        admin = AdminClient({"bootstrap.servers": node.bootstrap})
        topic = topic_name("first-request")
        admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=20)[topic].result(25)
    finally:
        c.stop()


def test_acks_all_survives_leader_kill9(cluster):
    admin = cluster.admin()
    topic = topic_name("kill-leader")
    partitions, n, kill_after_acks, max_backlog = 3, 20_000, 5_000, 600
    create_topic(admin, topic, partitions, 3, {"min.insync.replicas": "2"})
    ps = wait_for_full_isr(cluster, admin, topic, partitions, set(NODE_IDS))
    victim = cluster.nodes[ps[0].leader]

    acked: dict[int, list[int]] = {}  # partition -> acknowledged values in ack order
    acked_values: set[int] = set()
    failed: dict[int, str] = {}
    acked_at_kill = None

    def on_delivery(err, msg):
        value = int(msg.value())
        if err is None:
            acked.setdefault(msg.partition(), []).append(value)
            acked_values.add(value)
        else:
            failed[value] = err.name()

    producer = acks_all_producer(cluster.bootstrap(), **{"queue.buffering.max.messages": n})
    deadline = time.monotonic() + 60
    for i in range(n):
        producer.produce(topic, value=b"%d" % i, partition=i % partitions, on_delivery=on_delivery)
        # Keep a bounded backlog, so that producing is still going on when the kill
        # lands (with everything queued at once rafka acknowledges it all at once).
        while len(producer) > max_backlog:
            producer.poll(0.005)
            assert time.monotonic() < deadline, f"stuck at record {i}: {len(producer)} unsent"
        if acked_at_kill is None and len(acked_values) >= kill_after_acks:
            acked_at_kill = len(acked_values)
            victim.kill9()
    assert producer.flush(60) == 0, "producer could not drain after the leader was killed"
    assert len(acked_values) + len(failed) == n
    assert acked_at_kill is not None and acked_at_kill < n, "the leader was not killed mid-stream"
    assert len(acked_values) > acked_at_kill, (
        f"no record was acknowledged after the kill; failures: "
        f"{sorted(set(failed.values()))}")

    survivors = {i for i in NODE_IDS if i != victim.node_id}
    wait_until(lambda: all(p.leader in survivors for p in cluster.partitions(admin, topic).values()),
               15, f"leaders on surviving nodes {sorted(survivors)}")
    records = confluent_consume(cluster.bootstrap(), topic, range(partitions), timeout_s=30)
    consumed = [int(r.value) for r in records]
    assert len(consumed) == len(set(consumed)), "some value is in the log twice"
    missing = acked_values - set(consumed)
    assert not missing, (f"{len(missing)} acknowledged values lost, e.g. {sorted(missing)[:10]}")
    for p in range(partitions):
        in_log = [int(r.value) for r in sorted(records, key=lambda r: r.offset) if r.partition == p]
        assert all(v % partitions == p for v in in_log), f"partition {p} holds foreign values"
        assert in_log == sorted(in_log), f"partition {p} is out of order"
        # One request in flight per connection: acknowledgements come in log order.
        acked_in_log = [v for v in in_log if v in acked_values]
        assert acked_in_log == acked.get(p, []), f"partition {p}: acknowledged out of log order"
    print(f"acked {len(acked_values)} of {n} ({acked_at_kill} before the kill of node "
          f"{victim.node_id}), {len(failed)} failed: {sorted(set(failed.values()))}, "
          f"{len(consumed)} in the log")

    cluster.restart(victim)
    wait_for_full_isr(cluster, admin, topic, partitions, set(NODE_IDS), timeout_s=30)


def test_not_enough_replicas_with_two_brokers_down(cluster):
    # Killing two of three combined nodes would also take the controller quorum away,
    # and with it the ISR changes (the separated layout below kills two brokers). So:
    # one follower down (ISR 2), then raise min.insync.replicas to 3, which the ISR of 2
    # cannot satisfy.
    admin = cluster.admin()
    topic = topic_name("min-isr")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    ps = wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS))
    leader = ps[0].leader
    controller = wait_until(cluster.quorum_leader, 10, "the quorum leader in the voters' logs")
    followers = [i for i in ps[0].replicas if i != leader]
    victim = cluster.nodes[next((i for i in followers if i != controller), followers[0])]
    victim.kill9()
    survivors = {i for i in NODE_IDS if i != victim.node_id}
    admin = cluster.admin()
    wait_for_full_isr(cluster, admin, topic, 1, survivors, timeout_s=20)

    producer = acks_all_producer(cluster.bootstrap())
    assert produce_one(producer, topic, b"isr-2-min-2") is None

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("min.insync.replicas", "3", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([resource])[resource].result(timeout=15)

    def rejected():
        err = produce_one(producer, topic, b"isr-2-min-3")
        if err is None:
            return False  # the new config has not reached the leader yet
        if err.code() == KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
            return False  # appended under min.insync 2, checked after the change to 3
        assert err.code() == KafkaError.NOT_ENOUGH_REPLICAS, f"unexpected error {err}"
        return True
    wait_until(rejected, 15, "NOT_ENOUGH_REPLICAS for acks=all with ISR 2 < min.insync 3",
               interval_s=0.2)
    # acks=1 does not care about min.insync.replicas.
    acks1 = acks_all_producer(cluster.bootstrap(), acks=1)
    assert produce_one(acks1, topic, b"acks-1") is None

    cluster.restart(victim)
    wait_for_full_isr(cluster, admin, topic, 1, set(NODE_IDS), timeout_s=30)

    def accepted():
        err = produce_one(producer, topic, b"isr-3-min-3")
        if err is None:
            return True
        assert err.code() == KafkaError.NOT_ENOUGH_REPLICAS, f"unexpected error {err}"
        return False
    wait_until(accepted, 15, "acks=all accepted once the follower is back in the ISR",
               interval_s=0.2)


def test_per_broker_dynamic_config(cluster):
    """A dynamic config set on one broker (the BROKER resource "<id>") stays that broker's:
    the others keep their value, and it outlives the broker's restart (a metadata record)."""
    admin = cluster.admin()
    target = NODE_IDS[1]

    def retention(node: int) -> tuple[str, int]:
        resource = ConfigResource(ConfigResource.Type.BROKER, str(node))
        entry = admin.describe_configs([resource])[resource].result(timeout=15)["log.retention.ms"]
        return entry.value, getattr(entry.source, "value", entry.source)

    resource = ConfigResource(ConfigResource.Type.BROKER, str(target), incremental_configs=[
        ConfigEntry("log.retention.ms", "5400000", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([resource])[resource].result(timeout=15)
    dynamic_broker = 2  # Kafka's ConfigSource.DYNAMIC_BROKER_CONFIG
    wait_until(lambda: retention(target) == ("5400000", dynamic_broker), 15,
               f"log.retention.ms on broker {target}")
    for other in NODE_IDS:
        if other != target:
            assert retention(other)[0] is None, (other, retention(other))
    cluster.nodes[target].kill9()
    cluster.restart(cluster.nodes[target])
    admin = cluster.admin()
    wait_until(lambda: retention(target) == ("5400000", dynamic_broker), 30,
               f"log.retention.ms on broker {target} after its restart")


def test_controller_failover(cluster):
    old = wait_until(cluster.quorum_leader, 10, "the quorum leader in the voters' logs")
    cluster.nodes[old].kill9()
    survivors = {i for i in NODE_IDS if i != old}
    admin = cluster.admin()  # bootstrap only the surviving nodes
    topic = topic_name("after-failover")
    started = time.monotonic()

    create_topic_after_failover(cluster, topic, 2, 2, 15,
                                f"create_topics after killing controller {old}")
    took = time.monotonic() - started

    new = wait_until(cluster.quorum_leader, 10, "a new quorum leader in the voters' logs")
    assert new in survivors
    # Metadata names a live broker as the controller, the one clients send admin
    # requests to (it forwards them to the active controller).
    md = wait_until(lambda: (lambda m: set(m.brokers) == survivors and m)(admin.list_topics(timeout=2)),
                    10, f"the killed node {old} fenced")
    assert md.controller_id in survivors
    ps = wait_until(lambda: (lambda ps: len(ps) == 2 and all(p.leader in survivors for p in ps.values())
                             and ps)(cluster.partitions(admin, topic)),
                    15, f"leaders for {topic}")
    for p in ps.values():
        # The new controller may still count the killed node as alive (it is fenced a
        # session timeout after the failover), so a replica may land on it; not the leader.
        assert len(set(p.replicas)) == 2 and p.leader in p.isrs, (p.replicas, p.isrs)
    print(f"controller {old} -> {new}; topic created {took:.1f}s after the kill")


def test_controller_only_node_and_broker_only_nodes(separated_cluster):
    cluster = separated_cluster
    controller = cluster.nodes[1]
    brokers = {i for i, n in cluster.nodes.items() if n.is_broker}
    admin = cluster.admin()
    # Clients see the brokers only; the "controller" they are told is a live broker
    # (a random one per answer, as KRaft brokers answer), never the controller-only node.
    for _ in range(10):
        md = admin.list_topics(timeout=5)
        assert set(md.brokers) == brokers, md.brokers
        assert md.controller_id in brokers, md.controller_id
        described = admin.describe_cluster(request_timeout=5).result(timeout=10)
        assert {n.id for n in described.nodes} == brokers
        assert described.controller.id in brokers

    topic = topic_name("separated")
    create_topic(admin, topic, 1, 3, {"min.insync.replicas": "2"})
    ps = wait_for_full_isr(cluster, admin, topic, 1, brokers)
    # The controller-only node holds the metadata log only: no partition of any topic.
    assert sorted(p.name for p in controller.data_dir.iterdir()) == [
        "__cluster_metadata-0", "meta.properties"]

    in_log: list[bytes] = []  # what must be in the log, in order: every acked record
    rejected: list[bytes] = []  # refused before the append: must not be in the log

    def produce_acked(producer: Producer, prefix: str, count: int) -> None:
        for i in range(count):
            value = b"%s-%d" % (prefix.encode(), i)
            err = produce_one(producer, topic, value)
            assert err is None, f"{value!r} not acknowledged: {err}"
            in_log.append(value)

    produce_acked(acks_all_producer(cluster.bootstrap()), "isr-3", 50)

    leader = ps[0].leader
    victims = [leader, min(brokers - {leader})]
    (survivor,) = brokers - set(victims)
    for victim in victims:
        cluster.nodes[victim].kill9()
    admin = cluster.admin()  # bootstrap only the survivor

    def fenced():
        md = admin.list_topics(topic=topic, timeout=2)
        p = md.topics[topic].partitions[0]
        return set(md.brokers) == {survivor} and p.leader == survivor and p.isrs == [survivor]
    wait_until(fenced, 20, f"brokers {victims} fenced, {survivor} leading with ISR [{survivor}]")

    producer = acks_all_producer(cluster.bootstrap())

    def not_enough_replicas():
        value = b"isr-1-%d" % len(rejected)
        err = produce_one(producer, topic, value)
        assert err is not None, "acks=all acknowledged with ISR 1 < min.insync.replicas 2"
        rejected.append(value)
        if err.code() in (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE):
            return False  # the survivor has not applied its leadership yet
        assert err.code() == KafkaError.NOT_ENOUGH_REPLICAS, f"unexpected error {err}"
        return True
    wait_until(not_enough_replicas, 15, "NOT_ENOUGH_REPLICAS for acks=all with ISR 1",
               interval_s=0.2)
    # acks=1 does not wait for the ISR: records the restarted broker must catch up on.
    produce_acked(acks_all_producer(cluster.bootstrap(), acks=1), "acks-1", 50)

    returning = cluster.nodes[leader]
    cluster.restart(returning)
    wait_for_full_isr(cluster, admin, topic, 1, {survivor, leader}, timeout_s=30)

    def accepted():
        value = b"isr-2-try-%d" % len(rejected)
        err = produce_one(producer, topic, value)
        if err is None:
            in_log.append(value)
            return True
        assert err.code() == KafkaError.NOT_ENOUGH_REPLICAS, f"unexpected error {err}"
        rejected.append(value)
        return False
    wait_until(accepted, 15, "acks=all accepted once the restarted broker is in the ISR",
               interval_s=0.2)
    produce_acked(producer, "isr-2", 50)

    def consumed_values(**kwargs) -> list[bytes]:
        records = confluent_consume(cluster.bootstrap(), topic, [0], timeout_s=30, **kwargs)
        return [r.value for r in sorted(records, key=lambda r: r.offset)]
    # Exactly the acknowledged records, each once, in the order they were acknowledged.
    assert consumed_values() == in_log
    assert not set(rejected) & set(in_log)

    # The restarted broker holds them all: it alone serves them once the survivor is gone.
    cluster.nodes[survivor].kill9()
    admin = cluster.admin()
    wait_until(lambda: cluster.partitions(admin, topic)[0].leader == leader, 20,
               f"the restarted broker {leader} leading")
    assert consumed_values(end_offsets={0: len(in_log)}) == in_log
    print(f"{len(in_log)} records acknowledged and consumed, {len(rejected)} refused; "
          f"brokers {victims} killed, {leader} restarted")


def test_quorum_from_bootstrap_servers_and_initial_controllers(bootstrap_servers_cluster):
    cluster = bootstrap_servers_cluster
    # storage format --initial-controllers recorded the voters on each controller.
    for i in NODE_IDS:
        recorded = (cluster.nodes[i].data_dir / "bootstrap-voters").read_text().strip()
        assert recorded == ",".join(f"{j}@127.0.0.1:{cluster.nodes[j].controller_port}"
                                    for j in NODE_IDS)
    assert not (cluster.nodes[4].data_dir / "bootstrap-voters").exists()
    # The broker-only node found the quorum through a bootstrap server and registered.
    admin = cluster.admin()
    md = admin.list_topics(timeout=5)
    assert set(md.brokers) == {1, 2, 3, 4}
    topic = topic_name("bootstrap-servers")
    create_topic(admin, topic, 4, 3, {"min.insync.replicas": "2"})
    ps = wait_for_full_isr(cluster, admin, topic, 4)
    assert any(4 in p.replicas for p in ps.values()), "no replica placed on the broker-only node"
    producer = acks_all_producer(cluster.bootstrap())
    values = [b"v%d" % i for i in range(200)]
    for i, v in enumerate(values):
        producer.produce(topic, value=v, partition=i % 4)
    assert producer.flush(20) == 0
    records = confluent_consume(cluster.bootstrap(), topic, range(4), timeout_s=20)
    assert sorted(r.value for r in records) == sorted(values)

    # kafka-metadata-quorum.sh through a broker (DescribeQuorum, forwarded to the leader).
    def quorum(*args: str) -> str:
        out = subprocess.run([str(rafka_bin()), "metadata-quorum", "--bootstrap-server",
                              cluster.nodes[4].bootstrap, "describe", *args],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout
    status = dict(line.split(":", 1) for line in quorum("--status").splitlines())
    assert status["ClusterId"].strip() == cluster.cluster_id
    assert int(status["LeaderId"]) in NODE_IDS
    assert int(status["HighWatermark"]) > 0
    for i in NODE_IDS:
        assert f'"endpoints": ["CONTROLLER://127.0.0.1:{cluster.nodes[i].controller_port}"]' \
            in status["CurrentVoters"]
    assert '"id": 4' in status["CurrentObservers"]

    def replication_rows():
        rows = [line.split() for line in quorum("--replication").splitlines()[1:]]
        kinds = sorted((int(r[0]), r[-1]) for r in rows)
        leader = int(status["LeaderId"])
        want = sorted([(i, "Leader" if i == leader else "Follower") for i in NODE_IDS]
                      + [(4, "Observer")])
        return kinds == want and rows
    wait_until(replication_rows, 10, "the leader, two followers and broker 4 as an observer")


def test_idempotent_producer_writes_each_record_once_through_stalls_and_kills(cluster):
    """librdkafka's producer (five requests in flight, endless retries) while, on partition
    0, the followers stall (SIGSTOP: acks=all appends wait unanswered until the client's
    request timeout, then it retries them) and the leader is `kill -9`ed and restarted,
    twice: every record is in the log exactly once, in order per partition.

    That a retry without idempotence is written twice (what makes this check meaningful)
    is shown deterministically at the wire level (crates/cli/tests/idempotent_producer.rs):
    a control run of this scenario without idempotence wrote 300 duplicates on a quiet
    machine but none, twice, under stress-ng, so it could not be a test."""
    admin = cluster.admin()
    topic = topic_name("idempotent")
    partitions, n, max_backlog = 2, 20_000, 600
    create_topic(admin, topic, partitions, 3, {"min.insync.replicas": "2"})
    wait_for_full_isr(cluster, admin, topic, partitions, set(NODE_IDS))

    acked: set[int] = set()
    failed: dict[int, str] = {}

    def on_delivery(err, msg):
        if err is None:
            acked.add(int(msg.value()))
        else:
            failed[int(msg.value())] = err.name()

    producer = Producer({
        "bootstrap.servers": cluster.bootstrap(),
        "enable.idempotence": True,
        "acks": "all",
        "max.in.flight.requests.per.connection": 5,
        "linger.ms": 5,
        "request.timeout.ms": 1_000,
        "message.timeout.ms": 120_000,
        "reconnect.backoff.max.ms": 200,
        "queue.buffering.max.messages": n,
    })

    def stall_the_followers():
        # Both, so that whichever is in the ISR, appends wait; for less than the 3 s
        # broker session timeout, so that neither is fenced meanwhile.
        p0 = cluster.partitions(admin, topic)[0]
        followers = [cluster.nodes[r] for r in p0.replicas if r != p0.leader]
        for follower in followers:
            follower.proc.send_signal(signal.SIGSTOP)
        try:
            until = time.monotonic() + 2.5  # past the request timeout: retries happen
            while time.monotonic() < until:
                producer.poll(0.05)
        finally:
            for follower in followers:
                follower.proc.send_signal(signal.SIGCONT)

    def kill_the_leader():
        victim = cluster.nodes[cluster.partitions(admin, topic)[0].leader]
        victim.kill9()
        cluster.restart(victim)
        return victim.node_id

    steps = [(n // 5, stall_the_followers), (2 * n // 5, kill_the_leader),
             (3 * n // 5, kill_the_leader)]
    kills = []
    deadline = time.monotonic() + 180
    for i in range(n):
        producer.produce(topic, value=b"%d" % i, partition=i % partitions, on_delivery=on_delivery)
        while len(producer) > max_backlog:
            producer.poll(0.005)
            assert time.monotonic() < deadline, f"stuck at record {i}: {len(producer)} unsent"
        if steps and len(acked) >= steps[0][0]:
            killed = steps.pop(0)[1]()
            if killed is not None:
                kills.append(killed)
                admin = cluster.admin()
                wait_for_full_isr(cluster, admin, topic, partitions, set(NODE_IDS), timeout_s=60)
    assert producer.flush(120) == 0, "the producer could not drain"
    assert not steps and len(kills) == 2, f"steps left {steps}, kills {kills}"
    assert not failed, f"{len(failed)} records failed: {sorted(set(failed.values()))}"
    assert len(acked) == n

    records = confluent_consume(cluster.bootstrap(), topic, range(partitions), timeout_s=60)
    values = [int(r.value) for r in records]
    duplicated = len(values) - len(set(values))
    assert set(values) == set(range(n)), f"{n - len(set(values))} records are missing"
    assert duplicated == 0, f"{duplicated} records are in the log more than once"
    for p in range(partitions):
        in_log = [int(r.value) for r in sorted(records, key=lambda r: r.offset) if r.partition == p]
        assert in_log == list(range(p, n, partitions)), f"partition {p} is out of order"
    print(f"{n} records once each through stalled followers and kills of nodes {kills}")


def java_string_hash_partition(key: str, partitions: int) -> int:
    """Kafka's `Utils.abs(key.hashCode()) % partitions` (the transaction coordinator's
    partition of a transactional id)."""
    h = 0
    for unit in struct.unpack(f">{len(key.encode('utf-16-be')) // 2}H", key.encode("utf-16-be")):
        h = (31 * h + unit) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def eos_topics(cluster: Cluster, prefix: str, total: int) -> tuple[str, str]:
    """An input topic holding `total` values v0000… over its two partitions and an empty
    output topic, both RF 3 with min.insync.replicas 2: (input, output)."""
    admin = cluster.admin()
    source, sink = topic_name(f"{prefix}-in"), topic_name(f"{prefix}-out")
    for topic in (source, sink):
        create_topic(admin, topic, 2, 3, {"min.insync.replicas": "2"})
        wait_for_full_isr(cluster, admin, topic, 2, set(NODE_IDS))
    feeder = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all"})
    for i in range(total):
        feeder.produce(source, value=b"v%04d" % i, partition=i % 2)
    assert feeder.flush(30) == 0
    return source, sink


def assert_each_input_once(cluster: Cluster, sink: str, total: int, context: str = "") -> None:
    """read_committed sees each input upper-cased exactly once in `sink`;
    read_uncommitted also the aborted transactions' records."""
    from test_transactions import values_of
    bootstrap = cluster.bootstrap()
    out = values_of(bootstrap, sink, 0, "read_committed") + values_of(bootstrap, sink, 1, "read_committed")
    assert sorted(out) == sorted(f"V{i:04d}" for i in range(total)), (
        f"{len(out)} committed outputs for {total} inputs, {len(set(out))} distinct\n{context}")
    everything = (values_of(bootstrap, sink, 0, "read_uncommitted")
                  + values_of(bootstrap, sink, 1, "read_uncommitted"))
    assert len(everything) > len(out), "the aborted transactions' records are in the log"


def coordinators_apart(cluster: Cluster, sink: str) -> tuple[str, str, int]:
    """A transactional id whose coordinator is not the leader of `sink`'s partition 0,
    and a group id whose coordinator is neither: (transactional id, group, the id's
    `__transaction_state` partition). Creates both internal topics first."""
    from confluent_kafka import Consumer, TopicPartition
    from test_transactions import txn_producer
    txn_producer(cluster.bootstrap(), topic_name("eos-warmup")).flush(10)
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": topic_name("warmup")})
    try:
        # The first group request creates __consumer_offsets; until the coordinator named
        # has applied the metadata that makes it leader it answers NOT_COORDINATOR, which
        # librdkafka's committed() may hand back instead of retrying: ask again.
        deadline = time.monotonic() + 30
        while True:
            try:
                consumer.committed([TopicPartition(sink, 0)], timeout=10)
                break
            except KafkaException as e:
                retriable = e.args[0].code() in (KafkaError.NOT_COORDINATOR,
                                                 KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                                                 KafkaError.COORDINATOR_NOT_AVAILABLE)
                if not retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        consumer.close()

    def leaders(topic: str) -> dict[int, int]:
        deadline = time.monotonic() + 30
        while True:
            try:
                found = {i: p.leader for i, p in cluster.partitions(cluster.admin(), topic).items()}
                if found and all(leader >= 0 for leader in found.values()):
                    return found
            except RuntimeError:
                pass
            assert time.monotonic() < deadline, f"{topic} has no leaders"
            time.sleep(0.2)

    first_victim = leaders(sink)[0]
    txn_leaders, group_leaders = leaders("__transaction_state"), leaders("__consumer_offsets")
    while True:
        transactional_id = topic_name("eos-id")
        partition = java_string_hash_partition(transactional_id, len(txn_leaders))
        if txn_leaders[partition] != first_victim:
            break
    while True:
        group = topic_name("eos-group")
        coordinator = group_leaders[java_string_hash_partition(group, len(group_leaders))]
        if coordinator not in (first_victim, txn_leaders[partition]):
            return transactional_id, group, partition


def test_exactly_once_through_a_leader_and_a_coordinator_kill(cluster):
    """librdkafka's consume-transform-produce loop on three nodes while the leader of an
    output partition and then the transaction coordinator are `kill -9`ed and restarted:
    read_committed sees each input once in the output, read_uncommitted also the aborted
    transactions' records."""
    from test_transactions import consume_transform_produce
    total = 600
    source, sink = eos_topics(cluster, "eos", total)
    # The group's coordinator must survive: librdkafka 2.16's send_offsets_to_transaction
    # can hang past its timeout when the group coordinator it cached dies and drops out
    # of Metadata (confluentinc/librdkafka#5456, #5511; Kafka's brokers trigger it too).
    # So: a transactional id coordinated away from the first victim (the leader of the
    # sink's partition 0), and a group coordinated by the one node killed by neither.
    transactional_id, group, coordinator_partition = coordinators_apart(cluster, sink)
    killed = []

    def kill(topic: str, partition: int) -> None:
        victim = cluster.nodes[cluster.partitions(cluster.admin(), topic)[partition].leader]
        victim.kill9()
        killed.append((topic, victim.node_id))
        cluster.restart(victim)

    def on_transaction(n: int) -> None:
        if n == 4:
            kill(sink, 0)
        elif n == 11:
            kill("__transaction_state", coordinator_partition)

    committed, aborted = consume_transform_produce(
        cluster.bootstrap(), source, sink, group, transactional_id, total,
        per_txn=20, on_transaction=on_transaction)
    assert len(killed) == 2, killed
    assert committed > 0 and aborted > 0
    assert_each_input_once(cluster, sink, total)
    print(f"{total} inputs once each through kills {killed}; {committed} committed, "
          f"{aborted} aborted transactions")


def test_java_exactly_once_through_a_leader_and_a_coordinator_kill(cluster):
    """The Java client's consume-transform-produce loop (tests/clients/java EosLoop) on
    three nodes while the leader of an output partition and then the transaction
    coordinator are `kill -9`ed and restarted, each before a chosen transaction:
    read_committed sees each input once in the output."""
    from test_java_client import PROGRAM_DIR, java_program
    total = 400
    source, sink = eos_topics(cluster, "jeos", total)
    transactional_id, group, coordinator_partition = coordinators_apart(cluster, sink)
    loop = subprocess.Popen(
        java_program("rafka.compat.EosLoop")
        + [cluster.bootstrap(), source, sink, group, transactional_id, str(total)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=PROGRAM_DIR)
    killed, output = [], []
    try:
        for line in loop.stdout:
            output.append(line.rstrip())
            if line.startswith("BEFORE "):
                n = int(line.split()[1])
                if n in (4, 11):
                    topic, partition = (sink, 0) if n == 4 else ("__transaction_state", coordinator_partition)
                    victim = cluster.nodes[cluster.partitions(cluster.admin(), topic)[partition].leader]
                    victim.kill9()
                    killed.append((topic, victim.node_id))
                    cluster.restart(victim)
                loop.stdin.write("go\n")
                loop.stdin.flush()
        assert loop.wait(timeout=60) == 0, "\n".join(output)
    finally:
        if loop.poll() is None:
            loop.kill()
    assert len(killed) == 2, killed
    done = [line for line in output if line.startswith("DONE ")]
    assert done, "\n".join(output)
    committed, aborted = map(int, done[0].split()[1:])
    assert committed > 0 and aborted > 0, done
    assert_each_input_once(cluster, sink, total, "\n".join(output))
