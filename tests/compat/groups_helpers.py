"""Helpers for the consumer-group compat tests (test_groups_*.py): a broker configured for
fast rebalances, group members of both clients that record what they are given, and a
member that runs in a child process so a test can SIGKILL it.

Nothing here sleeps to wait for a state: every wait polls the consumers against a
deadline (`poll_until`).

Run as a script (`python groups_helpers.py confluent|kafka-python ...`) it is that child
member: it joins the group, prints `assigned <partitions>` on every assignment and polls
until it is killed.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Callable, Iterable

# The broker's group settings for these tests: no initial rebalance delay, a small
# offsets topic, and a low minimum session timeout so expiry tests run in seconds.
GROUP_BROKER_CONFIG = {
    "log.segment.bytes": str(1024 * 1024),
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "5",
    "group.min.session.timeout.ms": "1000",
}

# Members heartbeat often so they learn of a rebalance quickly; the rebalance timeout
# (max.poll.interval.ms) stays well above any test's poll gap.
SESSION_TIMEOUT_MS = 6_000
SHORT_SESSION_TIMEOUT_MS = 2_000
HEARTBEAT_INTERVAL_MS = 200
MAX_POLL_INTERVAL_MS = 30_000

TIMEOUT_S = 20.0

# Partitions of the tests' topics unless a test says otherwise.
PARTITIONS = 6


def group_broker(workdir):
    """Generator for a fixture: a started broker with GROUP_BROKER_CONFIG."""
    from conftest import _broker  # the same module pytest loaded (rootdir conftest)
    yield from _broker(workdir, GROUP_BROKER_CONFIG)


def poll_until(members: Iterable, check: Callable[[], object], timeout_s: float = TIMEOUT_S,
               what: str = "condition"):
    """Poll every member (which drives its rebalances) until `check()` is truthy."""
    members = list(members)
    deadline = time.monotonic() + timeout_s
    while True:
        for m in members:
            m.poll()
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            state = {m.name: sorted(m.partitions()) for m in members}
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; "
                                 f"assignments: {state}")
        # The polling interval (as wait_until's): members that poll in threads or
        # processes of their own return from poll() at once.
        time.sleep(0.01)


def split_covers(members: Iterable, num_partitions: int) -> bool:
    """True when the members' assignments are disjoint, each non-empty, and together
    cover partitions 0..num_partitions-1."""
    sets = [m.partitions() for m in members]
    if not all(sets):
        return False
    return (sum(len(s) for s in sets) == num_partitions
            and set().union(*sets) == set(range(num_partitions)))


def assert_split(members: Iterable, num_partitions: int) -> None:
    sets = {m.name: m.partitions() for m in members}
    every = [p for s in sets.values() for p in s]
    assert sorted(every) == list(range(num_partitions)), \
        f"assignments {sets} are not a disjoint cover of {num_partitions} partitions"
    assert all(sets.values()), f"a member got no partition: {sets}"


# -- records -----------------------------------------------------------------------------

def produce_keyed(bootstrap: str, topic: str, n: int, prefix: str) -> dict[tuple[int, int], bytes]:
    """Produce n keyed records (librdkafka's partitioner spreads them); return
    {(partition, offset): value} from the delivery reports."""
    from compat_helpers import confluent_produce
    reports = confluent_produce(
        bootstrap, topic,
        ({"key": f"key-{i}".encode(), "value": f"{prefix}-{i}".encode()} for i in range(n)),
        conf={"linger.ms": 5})
    assert len(reports) == n
    values = {}
    for idx, err, partition, offset in reports:
        assert err is None, f"record {idx}: delivery failed: {err}"
        values[(partition, offset)] = f"{prefix}-{idx}".encode()
    assert len(values) == n, "two records share a (partition, offset)"
    return values


def end_offsets(produced: dict[tuple[int, int], bytes], num_partitions: int) -> dict[int, int]:
    ends = {p: 0 for p in range(num_partitions)}
    for partition, offset in produced:
        ends[partition] = max(ends[partition], offset + 1)
    return ends


# -- confluent-kafka members -----------------------------------------------------------

def new_topic(admin, prefix: str, partitions: int = PARTITIONS) -> str:
    """A fresh topic of `partitions` partitions, created with a confluent AdminClient."""
    from compat_helpers import confluent_create_topic, topic_name
    name = topic_name(prefix)
    confluent_create_topic(admin, name, partitions)
    return name


def consume_all(ms, want: int, timeout_s: float = TIMEOUT_S) -> None:
    poll_until(ms, lambda: sum(len(m.records) for m in ms) >= want, timeout_s,
               f"{want} records")


def assert_each_record_once(seen, produced: dict[tuple[int, int], bytes]) -> None:
    """`seen` is (partition, offset, value) triples: each produced record exactly once."""
    counts = Counter((p, o) for p, o, _ in seen)
    twice = {k: n for k, n in counts.items() if n > 1}
    assert not twice, f"records read more than once: {sorted(twice)[:10]}"
    missing = set(produced) - set(counts)
    assert not missing, f"{len(missing)} records never read, e.g. {sorted(missing)[:10]}"
    extra = set(counts) - set(produced)
    assert not extra, f"records read that were not produced: {sorted(extra)[:10]}"
    for p, o, v in seen:
        assert v == produced[(p, o)], f"{p}@{o}: value {v!r}, produced {produced[(p, o)]!r}"


def members_of(member_class, bootstrap: str):
    """A fixture body: a `Members` of `member_class`, all closed afterwards."""
    made = Members(member_class, bootstrap)
    yield made
    made.close_all()


class CfMember:
    """A confluent-kafka consumer subscribed to one topic in a group. It keeps every
    record it is given (partition, offset, value) and its rebalance callbacks."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, subscribe=True,
                 **extra):
        from confluent_kafka import Consumer
        self.name = name
        self.topic = topic
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
            "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
            "topic.metadata.refresh.interval.ms": 1000,
        }
        conf.update(extra)
        self.stats: list[dict] = []
        if "statistics.interval.ms" in conf:
            conf["stats_cb"] = self._on_stats
        self.consumer = Consumer(conf)
        self.records: list[tuple[int, int, bytes]] = []
        self.errors: list = []
        self.assigned_events: list[set[int]] = []
        self.revoked_events: list[set[int]] = []
        self.closed = False
        if subscribe:
            self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_stats(self, text: str) -> None:
        import json
        self.stats.append(json.loads(text))

    def _on_assign(self, consumer, partitions):
        self.assigned_events.append({tp.partition for tp in partitions})

    def _on_revoke(self, consumer, partitions):
        self.revoked_events.append({tp.partition for tp in partitions})

    def poll(self, timeout_s: float = 0.05, keep_errors: bool = False,
             num_messages: int = 1000) -> None:
        if self.closed:
            return
        for m in self.consumer.consume(num_messages=num_messages, timeout=timeout_s):
            err = m.error()
            if err is not None:
                if keep_errors:
                    self.errors.append(err)
                    continue
                raise AssertionError(f"{self.name}: consumer error {err}")
            self.records.append((m.partition(), m.offset(), m.value()))

    def partitions(self) -> set[int]:
        if self.closed:
            return set()
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.consumer.close()


# -- kafka-python members --------------------------------------------------------------

class KpMember:
    """The kafka-python counterpart of CfMember. A subscribed member polls in a thread of
    its own; everything else the test does with its consumer goes through `run()`, on
    that thread (KafkaConsumer is not thread-safe).

    Why a thread: kafka-python 3.0.12 drops the result of a JoinGroup that outlives a
    poll() call. The next poll sees the finished join task and sends a new JoinGroup
    (base.py join_group_async: `if self._join_task is None or self._join_task.is_done`).
    For a group's leader that is a fresh rebalance (as Kafka does for a leader's
    JoinGroup in Stable), whose JoinGroup again outlives the poll... Polling several
    members in turn from one thread with short timeouts makes that storm likely; a
    thread per member with a longer poll lets each join finish inside one poll()."""

    POLL_TIMEOUT_MS = 500

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, subscribe=True,
                 limit: int | None = None, **extra):
        import queue
        import threading
        from kafka import KafkaConsumer
        from kafka.consumer.subscription_state import ConsumerRebalanceListener
        self.name = name
        self.topic = topic
        conf = dict(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            metadata_max_age_ms=1000,
            max_poll_records=1000,
            # A member polling through a broker restart backs off its reconnects; keep
            # that under a second so it is back soon after the broker.
            reconnect_backoff_max_ms=1000,
        )
        conf.update(extra)
        self.consumer = KafkaConsumer(**conf)
        self.records: list[tuple[int, int, bytes]] = []
        self.assigned_events: list[set[int]] = []
        self.revoked_events: list[set[int]] = []
        self.closed = False
        # Stop reading records once this many were read (None: no limit).
        self.limit = limit
        self._assigned: set[int] = set()
        self._error: BaseException | None = None
        self._ops: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = None
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_assigned(self, assigned):
                member.assigned_events.append({tp.partition for tp in assigned})

            def on_partitions_revoked(self, revoked):
                member.revoked_events.append({tp.partition for tp in revoked})

        if subscribe:
            self.consumer.subscribe([topic], listener=Listener())
            # Load the topic's metadata before the first JoinGroup (see kp_load_metadata).
            kp_load_metadata(self.consumer, topic)
            self._thread = threading.Thread(target=self._loop, name=f"member-{name}",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        import queue
        while not self._stop.is_set():
            # Past the limit only requests are served; heartbeats go on in kafka-python's
            # own IO thread.
            read_enough = self.limit is not None and len(self.records) >= self.limit
            try:
                fn, done = self._ops.get(timeout=0.05 if read_enough else 0)
            except queue.Empty:
                pass
            else:
                try:
                    done.set_result(fn(self.consumer))
                except BaseException as e:  # noqa: BLE001 - handed to the caller
                    done.set_exception(e)
                continue
            if read_enough:
                continue
            try:
                self._poll_once()
            except BaseException as e:  # noqa: BLE001 - raised by poll() in the test
                self._error = e
                return

    def _poll_once(self) -> None:
        want = None if self.limit is None else self.limit - len(self.records)
        batches = self.consumer.poll(timeout_ms=self.POLL_TIMEOUT_MS, max_records=want)
        for tp, records in batches.items():
            for r in records:
                self.records.append((tp.partition, r.offset, r.value))
        self._assigned = {tp.partition for tp in self.consumer.assignment()
                          if tp.topic == self.topic}

    def run(self, fn: Callable, timeout_s: float = 30.0):
        """fn(consumer), on the polling thread; its result or exception."""
        from concurrent.futures import Future
        if self._thread is None:
            return fn(self.consumer)
        self.poll()
        done: Future = Future()
        self._ops.put((fn, done))
        return done.result(timeout=timeout_s)

    def poll(self) -> None:
        """Raises what the polling thread hit (a subscribed member polls by itself)."""
        if self._error is not None:
            raise self._error
        if self._thread is None and not self.closed:
            self.consumer.poll(timeout_ms=50)

    def partitions(self) -> set[int]:
        if self.closed:
            return set()
        if self._thread is None:
            return {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}
        return set(self._assigned)

    def close(self, **kwargs) -> None:
        if self.closed:
            return
        self.closed = True
        if self._thread is None:
            self.consumer.close(**kwargs)
            return
        try:
            if self._error is None:
                self.run(lambda c: c.close(**kwargs))
        finally:
            self._stop.set()
            self._thread.join(timeout=10)
            self._assigned = set()
        if self._error is not None:  # the thread is gone: close here
            self.consumer.close(**kwargs)


def kp_load_metadata(consumer, topic: str) -> None:
    """Fetch metadata after subscribe() so kafka-python's group leader knows the topic's
    partitions at the first JoinGroup.

    Otherwise, against a coordinator that answers at once (no initial rebalance delay),
    the leader assigns with an empty metadata snapshot (nobody gets anything), rejoins
    when the metadata lands, and kafka-python 3.0.12 can lose that rejoin: if a short
    poll() times out while the JoinGroup is in flight, the next poll re-checks
    need_rejoin(), now False because the in-flight assignment refreshed the snapshot,
    and never runs on_join_complete, so the member keeps no assignment, stays
    REBALANCING with heartbeats disabled, and its session expires. A client race."""
    consumer.topics()  # a blocking metadata update; the coordinator's listener sees it
    snapshot = consumer._coordinator._metadata_snapshot  # noqa: SLF001 - verify the fix
    assert topic in snapshot, f"no metadata for {topic} after topics(): {snapshot}"


class Members(list):
    """The members a test made, closed at its end whatever happened (a fixture)."""

    def __init__(self, cls, bootstrap: str):
        super().__init__()
        self.cls = cls
        self.bootstrap = bootstrap

    def new(self, group: str, topic: str, name: str, **extra):
        m = self.cls(self.bootstrap, group, topic, name, **extra)
        self.append(m)
        return m

    def child(self, client: str, group: str, topic: str, name: str, session_timeout_ms: int):
        m = ChildMember(client, self.bootstrap, group, topic, name, session_timeout_ms)
        self.append(m)
        return m

    def close_all(self) -> None:
        for m in reversed(self):
            try:
                m.close()
            except Exception as e:  # noqa: BLE001 - cleanup must reach every member
                print(f"(closing {m.name}: {e!r})")


# -- a member in a child process, for SIGKILL ------------------------------------------

class ChildMember:
    """A group member in its own process. `poll()` reads what it printed; `kill9()`
    abandons it without any goodbye to the broker."""

    def __init__(self, client: str, bootstrap: str, group: str, topic: str, name: str,
                 session_timeout_ms: int):
        import subprocess
        import threading
        self.name = name
        self._assigned: set[int] = set()
        self._lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, __file__, client, bootstrap, group, topic, name,
             str(session_timeout_ms)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self._lines.append(line.rstrip("\n"))
                if line.startswith("assigned"):
                    parts = line.split()[1:]
                    self._assigned = {int(p) for p in parts[0].split(",") if p} if parts else set()

    def poll(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"child member {self.name} exited {self.proc.returncode}: "
                                 + "\n".join(self._lines[-20:]))

    def partitions(self) -> set[int]:
        with self._lock:
            return set(self._assigned)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()
        with self._lock:
            self._assigned = set()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill9()

    def output(self) -> str:
        with self._lock:
            return "\n".join(self._lines)


def _child_main(argv: list[str]) -> None:
    client, bootstrap, group, topic, name, session_timeout_ms = argv
    session_timeout_ms = int(session_timeout_ms)

    def report(partitions: set[int]) -> None:
        print("assigned " + ",".join(str(p) for p in sorted(partitions)), flush=True)

    if client == "confluent":
        from confluent_kafka import Consumer
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest",
                      "session.timeout.ms": session_timeout_ms,
                      "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
                      "max.poll.interval.ms": MAX_POLL_INTERVAL_MS})
        c.subscribe([topic],
                    on_assign=lambda _c, ps: report({tp.partition for tp in ps}),
                    on_revoke=lambda _c, ps: report(set()))
        while True:
            c.consume(num_messages=1000, timeout=0.1)
    else:
        from kafka import KafkaConsumer
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id=name,
                          enable_auto_commit=False, auto_offset_reset="earliest",
                          session_timeout_ms=session_timeout_ms,
                          heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                          max_poll_interval_ms=MAX_POLL_INTERVAL_MS)
        c.subscribe([topic])
        kp_load_metadata(c, topic)
        last = None
        while True:
            c.poll(timeout_ms=100)
            now = {tp.partition for tp in c.assignment()}
            if now != last:
                report(now)
                last = now


if __name__ == "__main__":
    _child_main(sys.argv[1:])
