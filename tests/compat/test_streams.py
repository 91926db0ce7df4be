"""Kafka Streams (org.apache.kafka:kafka-streams 4.1.1) with exactly_once_v2 on three
rafka nodes: a word count (tests/clients/streams, rafka.streams.WordCount, built by
scripts/setup-java.sh) is killed with SIGKILL mid-run, started again with the same
application.id and state dir, and the counts it ends with are exact.

The input arrives in three parts so that "mid-run" is a fact, not a timing guess:
  1. the first part, and the application starts; it has committed (a transaction with its
     consumed offsets) once the group's committed offsets reach that part's end;
  2. the second part; once the application reports (stdout `IN partition offset`) that it
     has processed a quarter of it, it is killed (its commits are a second apart, so
     usually in the middle of a transaction);
  3. the third part is written only after the kill, so the kill was before the end; the
     application starts again, the new instance's producer (same transactional.id) fences
     the killed one's transaction, its store is rebuilt from the changelog, and it redoes
     what the killed instance processed but did not commit.
Every count the application ever committed, in the output topic and in its store's
changelog, is read with read_committed: the last one per word must equal Python's count,
so nothing the killed instance did after its last commit was counted twice.

Nothing sleeps to wait: each step polls a condition with a deadline.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource

from compat_helpers import topic_name, wait_until
from test_cluster import COMBINED, NODE_IDS, _cluster, create_topic, wait_for_full_isr
from test_java_client import java_bin

ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIR = ROOT / "tests" / "clients" / "streams"
MAIN_CLASS = "rafka.streams.WordCount"
INPUT_PARTITIONS = 2
# Lines per part of the input (see the module's docstring).
PARTS = (1500, 1500, 1500)
# Generous: two JVM starts, Streams creating its internal topics, two rebalances and a
# store restore, on a loaded two-core machine.
STEP_TIMEOUT_S = 120.0

VOCABULARY = ("kafka stream broker topic partition offset record batch leader replica "
              "follower commit abort marker producer consumer group member epoch fence "
              "changelog repartition store count word exactly once transaction coordinator "
              "segment index").split()


@pytest.fixture
def streams_cluster(request, tmp_path):
    """Three combined nodes; an empty group's first rebalance does not wait 3 s."""
    yield from _cluster(request, tmp_path, COMBINED,
                        extra_config={"group.initial.rebalance.delay.ms": "0"})


def input_lines(count: int, seed: int = 20260101) -> list[str]:
    """Deterministic lines of 1-12 words, the first words of the vocabulary the most
    frequent (Zipf-like), so some counts are large and some small."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(VOCABULARY))]
    return [" ".join(rng.choices(VOCABULARY, weights, k=rng.randint(1, 12)))
            for _ in range(count)]


class StreamsApp:
    """The WordCount JVM; each start() is a run with its own stdout/stderr files."""

    def __init__(self, workdir: Path, bootstrap: str, application_id: str, source: str,
                 sink: str):
        jar = PROGRAM_DIR / "target" / "rafka-streams-compat.jar"
        classpath = PROGRAM_DIR / "target" / "classpath.txt"
        if not jar.is_file() or not classpath.is_file():
            pytest.fail(f"{jar} or {classpath} missing: run scripts/setup-java.sh", pytrace=False)
        self.workdir = workdir
        self.command = [java_bin(), "-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        "-cp", f"{jar}:{classpath.read_text().strip()}", MAIN_CLASS,
                        bootstrap, application_id, source, sink, str(workdir / "state")]
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.runs += 1
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=self.workdir)

    @property
    def stdout_path(self) -> Path:
        return self.workdir / f"wordcount-run{self.runs}.out"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"wordcount-run{self.runs}.err"

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def processed(self) -> dict[int, list[int]]:
        """The input offsets this run reported processing, per partition, in order."""
        seen: dict[int, list[int]] = collections.defaultdict(list)
        for line in self.output().splitlines():
            if line.startswith("IN "):
                _, partition, offset = line.split()
                seen[int(partition)].append(int(offset))
        return seen

    def check_running(self) -> None:
        if self.proc.poll() is not None or "FAIL" in self.output():
            self.fail(f"the application stopped or failed (exit {self.proc.poll()})")

    def kill9(self) -> None:
        self.check_running()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout_s: float = 90.0) -> int:
        """SIGTERM: the shutdown hook closes KafkaStreams (a last commit) and prints CLOSED."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.fail(f"did not exit {timeout_s:.0f}s after SIGTERM")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def fail(self, message: str) -> None:
        self.stop()
        err = self.stderr_path.read_text(errors="replace").splitlines()[-80:]
        out = [line for line in self.output().splitlines() if not line.startswith("IN ")]
        pytest.fail(f"WordCount run {self.runs}: {message}\n--- stdout (without IN lines) ---\n"
                    + "\n".join(out[-80:]) + "\n--- stderr tail ---\n" + "\n".join(err),
                    pytrace=False)


def committed_offsets(reader: Consumer, topic: str, partitions: int) -> list[int]:
    """The committed offsets (-1: none) of `reader`'s group, which it never joins. Its
    isolation level is read_uncommitted, so librdkafka does not set require_stable: a
    transaction's offsets count once its commit marker is written, and pending ones (a
    killed instance's) do not hold the answer back. (Not AdminClient's
    list_consumer_group_offsets: the test process segfaulted in it once, with
    confluent-kafka 2.16.1, while the group was forming; confluent-kafka's tracker has
    segfaults in that call's error paths.)"""
    from confluent_kafka import KafkaException
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = reader.committed([TopicPartition(topic, p) for p in range(partitions)],
                                      timeout=15)
            break
        except KafkaException as e:
            # The group's coordinator may be loading or moving: retriable, ask again.
            if not e.args[0].retriable() or time.monotonic() > deadline:
                raise
    by_partition = {tp.partition: tp for tp in answer}
    for tp in by_partition.values():
        assert tp.error is None, f"committed offset of {topic}[{tp.partition}]: {tp.error}"
    return [max(by_partition[p].offset, -1) for p in range(partitions)]


def latest_counts(bootstrap: str, topic: str) -> tuple[dict[str, int], int]:
    """Every partition of `topic` read with read_committed up to its last stable offset:
    the last count per word (values are Streams' big-endian longs), and how many records."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name("reader"),
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10,
                                                  cached=False)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        counts: dict[str, int] = {}
        records = 0
        deadline = time.monotonic() + 60

        def behind() -> bool:
            positions = consumer.position([TopicPartition(topic, p) for p in partitions])
            return any(tp.offset < ends[tp.partition] for tp in positions)

        while behind():
            assert time.monotonic() < deadline, f"reading {topic} stuck before {ends}"
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            (count,) = struct.unpack(">q", message.value())
            counts[message.key().decode()] = count
            records += 1
        return counts, records
    finally:
        consumer.close()


def low_watermark(bootstrap: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name("probe")})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10,
                                              cached=False)[0]
    finally:
        consumer.close()


def test_word_count_exactly_once_v2_survives_a_kill_of_the_instance(streams_cluster, tmp_path):
    cluster = streams_cluster
    bootstrap = cluster.bootstrap()
    admin = cluster.admin()
    source, sink = topic_name("wc-lines"), topic_name("wc-counts")
    application_id = topic_name("wordcount")
    for topic in (source, sink):
        create_topic(admin, topic, INPUT_PARTITIONS, 3, {"min.insync.replicas": "2"})
        wait_for_full_isr(cluster, admin, topic, INPUT_PARTITIONS, set(NODE_IDS))

    lines = input_lines(sum(PARTS))
    expected = collections.Counter(word for line in lines for word in line.split())
    feeder = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    written = [0] * INPUT_PARTITIONS  # per partition: the end offset of what was written

    def feed(first: int, count: int) -> list[int]:
        for i in range(first, first + count):
            feeder.produce(source, value=lines[i].encode(), partition=i % INPUT_PARTITIONS)
            written[i % INPUT_PARTITIONS] += 1
        assert feeder.flush(30) == 0
        return list(written)

    offsets_reader = Consumer({"bootstrap.servers": bootstrap, "group.id": application_id,
                               "enable.auto.commit": False,
                               "isolation.level": "read_uncommitted"})

    def committed() -> list[int]:
        return committed_offsets(offsets_reader, source, INPUT_PARTITIONS)

    app = StreamsApp(tmp_path, bootstrap, application_id, source, sink)
    started = time.monotonic()
    try:
        # 1. The first part, processed and committed.
        first_end = feed(0, PARTS[0])
        app.start()

        def first_part_committed():
            app.check_running()
            return committed() == first_end
        wait_until(first_part_committed, STEP_TIMEOUT_S, f"committed offsets {first_end}",
                   interval_s=0.2)
        first_committed_s = time.monotonic() - started

        # 2. The second part; kill once the instance is a quarter into it.
        second_end = feed(PARTS[0], PARTS[1])

        def processing_second_part():
            app.check_running()
            seen = app.processed()
            return sum(len([o for o in seen[p] if o >= first_end[p]])
                       for p in range(INPUT_PARTITIONS)) >= PARTS[1] // 4
        wait_until(processing_second_part, STEP_TIMEOUT_S, "the second part being processed",
                   interval_s=0.01)
        app.kill9()
        killed_run = app.processed()
        committed_at_kill = committed()
        # At least one commit before the kill, and the kill before the end (the third
        # part was not even written yet).
        assert all(c >= f for c, f in zip(committed_at_kill, first_end)), (
            f"committed {committed_at_kill} at the kill, below the first part's {first_end}")
        assert all(c <= s for c, s in zip(committed_at_kill, second_end)), committed_at_kill

        # 3. The third part, and the same instance (application.id, state dir) again.
        total_end = feed(PARTS[0] + PARTS[1], PARTS[2])
        app.start()

        def all_input_committed():
            app.check_running()
            return committed() == total_end
        wait_until(all_input_committed, STEP_TIMEOUT_S, f"committed offsets {total_end}",
                   interval_s=0.2)

        def all_words_counted():
            app.check_running()
            return sum(latest_counts(bootstrap, sink)[0].values()) >= expected.total()
        wait_until(all_words_counted, STEP_TIMEOUT_S, f"{expected.total()} words counted",
                   interval_s=0.5)
        # The JVM exits with 128 + SIGTERM once its shutdown hook has closed KafkaStreams.
        assert app.terminate() == 128 + signal.SIGTERM and "CLOSED" in app.output(), (
            "a clean close after SIGTERM")
        assert "FAIL" not in app.output()
        restarted_run = app.processed()
        assert committed() == total_end
    finally:
        app.stop()
        offsets_reader.close()
    elapsed_s = time.monotonic() - started

    counts, output_records = latest_counts(bootstrap, sink)
    wrong = {w: (counts.get(w), n) for w, n in expected.items() if counts.get(w) != n}
    assert not wrong and set(counts) == set(expected), (
        f"(counted, expected) per wrong word: {wrong}; unexpected words "
        f"{set(counts) - set(expected)}")
    changelog = f"{application_id}-counts-changelog"
    stored, changelog_records = latest_counts(bootstrap, changelog)
    assert stored == dict(expected), "the store's changelog ends with the exact counts"

    # Streams created its internal topics through CreateTopics, with its configs and
    # replication.factor 3, one partition per input partition.
    repartition = f"{application_id}-words-repartition"
    purged = [low_watermark(bootstrap, repartition, p) for p in range(INPUT_PARTITIONS)]
    admin = cluster.admin()
    for topic, policy in ((changelog, "compact"), (repartition, "delete")):
        partitions = cluster.partitions(admin, topic)
        assert len(partitions) == INPUT_PARTITIONS
        assert all(sorted(p.replicas) == list(NODE_IDS) for p in partitions.values()), topic
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        configs = admin.describe_configs([resource])[resource].result(timeout=15)
        assert configs["cleanup.policy"].value == policy, (topic, configs["cleanup.policy"])
        if topic == repartition:
            assert configs["retention.ms"].value == "-1", configs["retention.ms"]

    # The restarted instance began at the last offsets the killed one committed (a commit
    # already on its way at the kill may still have completed after it was read): what the
    # killed one processed after its last commit it processed again, and counted once.
    for p in range(INPUT_PARTITIONS):
        assert restarted_run[p] and (committed_at_kill[p] <= restarted_run[p][0]
                                     <= killed_run[p][-1] + 1), (
            f"partition {p}: restarted at {restarted_run[p][:1]}, committed "
            f"{committed_at_kill[p]} at the kill, processed up to {killed_run[p][-1]}")
    redone = sum(len(set(killed_run[p]) & set(restarted_run[p])) for p in range(INPUT_PARTITIONS))
    print(f"{len(lines)} lines, {expected.total()} words, {len(expected)} distinct; killed "
          f"after committing {committed_at_kill} of {total_end}; {redone} input records "
          f"processed by both instances; {output_records} output and {changelog_records} "
          f"changelog records; repartition topic purged up to {purged}; first commit after {first_committed_s:.1f}s, "
          f"all done in {elapsed_s:.1f}s")
