"""kafka-dump-log.sh: rafka's tool and Apache Kafka 4.1.1's `kafka.tools.DumpLogSegments`
print the same for the same files of a partition rafka wrote. Kafka's tool is the oracle.

One broker, with segments of 4 KiB (indexed every 512 bytes), writes one partition with everything the dump shows:
batches of an idempotent producer (producer id, epoch, sequences, keys, null keys and
values, headers), transactions committed and aborted (COMMIT and ABORT control batches),
records of the idempotent producer written while a transaction was open, segment rolls
(each takes a producer-state snapshot) and the aborted transaction in a `.txnindex`.
The broker is then stopped cleanly, which takes the last snapshot at the log end, and both
tools dump every file of the partition, with and without `--print-data-log`.

Each comparison runs `$RAFKA_BIN dump-log …` (what bin/kafka-dump-log.sh runs) and
`java -cp <classpath> kafka.tools.DumpLogSegments …` and compares the exit codes and
standard output line by line; nothing is normalised, as both read the same bytes. Standard
error is compared only for the messages the tools print there on purpose (a corrupt
snapshot, an unknown file): Kafka's tool also prints JVM and logging noise there, and its
fatal errors as stack traces.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from compat_helpers import confluent_admin, confluent_create_topic, kafka_java_cmd, topic_name
from conftest import Broker, rafka_bin

TOOL_TIMEOUT_S = 60
DUMP_LOG_SEGMENTS = "kafka.tools.DumpLogSegments"
# Records close to now, so that retention leaves them alone while the broker runs.
BASE_TS = (int(time.time() * 1000) // 1000) * 1000 - 3_600_000


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`{' '.join(cmd[-6:])}` did not finish in {TOOL_TIMEOUT_S}s\n"
                    f"{e.stdout or ''}\n{e.stderr or ''}", pytrace=False)


class DumpTools:
    def __init__(self, java_cmd: list[str]):
        self.java_cmd = java_cmd

    def rafka(self, *args: str) -> subprocess.CompletedProcess:
        return run([str(rafka_bin()), "dump-log", *args])

    def kafka(self, *args: str) -> subprocess.CompletedProcess:
        return run(self.java_cmd + [DUMP_LOG_SEGMENTS, *args])

    def same(self, *args: str, rc: int = 0) -> tuple[subprocess.CompletedProcess,
                                                     subprocess.CompletedProcess]:
        """Runs both; asserts Kafka's exit code is `rc`, rafka's is the same and the standard
        outputs are equal line by line; returns (rafka's run, Kafka's run)."""
        ours, theirs = self.rafka(*args), self.kafka(*args)
        shown = " ".join(args)
        assert theirs.returncode == rc, \
            f"Kafka's `{shown}` exited {theirs.returncode}\n{theirs.stdout}\n{theirs.stderr}"
        assert ours.returncode == theirs.returncode, \
            f"`{shown}`: rafka exited {ours.returncode}, Kafka {theirs.returncode}\n" \
            f"--- rafka stdout/stderr ---\n{ours.stdout}\n{ours.stderr}"
        assert ours.stdout.splitlines() == theirs.stdout.splitlines(), \
            f"`{shown}` prints differently\n--- rafka ---\n{ours.stdout}\n--- Kafka ---\n" \
            f"{theirs.stdout}\n--- rafka stderr ---\n{ours.stderr}"
        return ours, theirs


def _write_partition(bootstrap: str, topic: str) -> None:
    confluent_create_topic(confluent_admin(bootstrap), topic, 1)
    idempotent = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                           "linger.ms": 5})
    txn = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic_name("dump-txn"),
                    "linger.ms": 5})
    txn.init_transactions(30)

    def plain(prefix: str, count: int) -> None:
        for i in range(count):
            idempotent.produce(topic, partition=0, timestamp=BASE_TS + i,
                               key=None if i % 7 == 3 else f"{prefix}-key-{i}".encode(),
                               value=None if i % 11 == 5 else f"{prefix} value {i} ".encode() * 4,
                               headers=[("h1", b"x"), ("h2", None)] if i % 4 == 0 else None)
            if i % 10 == 9:
                idempotent.flush(30)  # several batches, so sequences advance batch by batch
        assert idempotent.flush(30) == 0

    def transaction(prefix: str, count: int, commit: bool, interleave: int = 0) -> None:
        txn.begin_transaction()
        for i in range(count):
            txn.produce(topic, partition=0, key=f"{prefix}-{i}".encode(),
                        value=f"{prefix} txn value {i}".encode() * 3)
        assert txn.flush(30) == 0  # in the log, so an abort leaves them there
        # The idempotent producer writes while the transaction is open: the last stable
        # offset stays at the transaction's start, and a roll now snapshots an open one.
        plain(f"{prefix}-during", interleave)
        if commit:
            txn.commit_transaction(30)
        else:
            txn.abort_transaction(30)

    plain("first", 40)
    transaction("committed", 20, commit=True)
    transaction("aborted", 20, commit=False, interleave=15)
    transaction("second", 10, commit=True, interleave=5)
    plain("last", 12)


@pytest.fixture(scope="module")
def partition(tmp_path_factory) -> Path:
    """The directory of a partition written as the module docstring says, by a broker that
    has been stopped cleanly."""
    workdir = tmp_path_factory.mktemp("rafka-dump")
    # Index entries every 512 bytes, so that the small segments have some.
    broker = Broker(workdir, {"log.segment.bytes": "4096", "log.index.interval.bytes": "512"})
    broker.start()
    topic = topic_name("dump")
    try:
        _write_partition(broker.bootstrap, topic)
    finally:
        exit_code = broker.stop()
    assert exit_code == 0, f"the broker did not stop cleanly ({exit_code})\n{broker.log_tail()}"
    directory = broker.data_dir / f"{topic}-0"
    assert directory.is_dir(), sorted(p.name for p in broker.data_dir.iterdir())
    return directory


@pytest.fixture(scope="module")
def tools() -> DumpTools:
    return DumpTools(kafka_java_cmd())


def files(directory: Path, suffix: str) -> list[Path]:
    found = sorted(directory.glob(f"*{suffix}"))
    assert found, f"no {suffix} file in {sorted(p.name for p in directory.iterdir())}"
    return found


def joined(paths: list[Path]) -> str:
    return ",".join(str(p) for p in paths)


# -- the partition as written -------------------------------------------------------------

@pytest.mark.parametrize("flags", [[], ["--deep-iteration"], ["--print-data-log"],
                                   ["--print-data-log", "--skip-record-metadata"]],
                         ids=["batches", "deep", "data", "data-without-metadata"])
def test_segments(tools, partition, flags):
    segments = files(partition, ".log")
    assert len(segments) >= 3, f"expected rolled segments, got {[p.name for p in segments]}"
    _, kafka = tools.same("--files", joined(segments), *flags)
    out = kafka.stdout
    assert "isTransactional: true isControl: true" in out
    assert "isTransactional: false isControl: false" in out
    if flags and flags[-1] != "--skip-record-metadata":
        assert "endTxnMarker: COMMIT coordinatorEpoch:" in out
        assert "endTxnMarker: ABORT coordinatorEpoch:" in out
    if "--print-data-log" in flags:
        assert "payload: aborted txn value 0" in out
        assert "key: first-key-0" in out


def test_producer_snapshots(tools, partition):
    snapshots = files(partition, ".snapshot")
    assert len(snapshots) >= 2, "one snapshot per roll and one at shutdown"
    _, kafka = tools.same("--files", joined(snapshots))
    producers = [line for line in kafka.stdout.splitlines() if line.startswith("producerId: ")]
    assert producers, kafka.stdout
    # The snapshot at the log end knows both producers, with their last batches.
    last = tools.same("--files", str(snapshots[-1]))[1].stdout.splitlines()
    entries = [line for line in last if line.startswith("producerId: ")]
    assert len(entries) == 2, last
    assert all(" firstSequence: " in line for line in entries), last
    assert {line.split(" coordinatorEpoch: ")[0].endswith("producerEpoch: 0")
            for line in entries} == {True}, last


def test_transaction_index(tools, partition):
    indexes = files(partition, ".txnindex")
    _, kafka = tools.same("--files", joined(indexes))
    aborted = [line for line in kafka.stdout.splitlines() if line.startswith("version: ")]
    assert len(aborted) == 1, kafka.stdout
    assert aborted[0].startswith("version: 0 producerId: ")


@pytest.mark.parametrize("suffix", [".index", ".timeindex"])
def test_indexes(tools, partition, suffix):
    _, kafka = tools.same("--files", joined(files(partition, suffix)))
    assert "offset: " in kafka.stdout


def test_every_file_at_once(tools, partition):
    everything = [p for suffix in (".log", ".index", ".timeindex", ".snapshot", ".txnindex")
                  for p in files(partition, suffix)]
    _, kafka = tools.same("--files", joined(everything), "--print-data-log")
    assert kafka.stdout.count("Dumping ") == len(everything)


# -- damaged and unexpected files ---------------------------------------------------------

def _stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_corrupt_snapshots_are_reported_and_the_dump_goes_on(tools, partition, tmp_path):
    good = files(partition, ".snapshot")[-1]
    data = good.read_bytes()
    flipped = tmp_path / good.name
    flipped.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    truncated = tmp_path / "00000000000000000001.snapshot"
    truncated.write_bytes(data[:3])
    newer = tmp_path / "00000000000000000002.snapshot"
    newer.write_bytes(b"\x00\x02" + data[2:])
    for damaged, message in [(flipped, "Snapshot is corrupt (CRC is no longer valid)."),
                             (truncated, "Snapshot failed schema validation: null"),
                             (newer, "Snapshot failed schema validation: Snapshot contained "
                                     "an unknown file version 2")]:
        ours, theirs = tools.same("--files", f"{damaged},{good}")
        # The good file after the damaged one is still dumped.
        assert "producerId: " in theirs.stdout
        kafka_says = [line for line in _stderr_lines(theirs) if line.startswith(message)]
        assert len(kafka_says) == 1, theirs.stderr
        assert kafka_says[0] in _stderr_lines(ours), ours.stderr


def test_damaged_transaction_indexes(tools, partition, tmp_path):
    good = files(partition, ".txnindex")[0]
    data = good.read_bytes()
    torn = tmp_path / good.name
    torn.write_bytes(data + data[:20])
    ours, theirs = tools.same("--files", str(torn))
    assert theirs.stdout.count("version: 0 ") == len(data) // 34

    # A file that is not there is an index without entries to Kafka.
    tools.same("--files", str(tmp_path / "00000000000000099999.txnindex"))

    newer = tmp_path / "00000000000000000007.txnindex"
    newer.write_bytes(b"\x01" + data[1:])
    ours, theirs = tools.same("--files", str(newer), rc=1)
    message = (f"Unexpected aborted transaction version 1 in transaction index {newer}, "
               "current version is 0")
    assert message in theirs.stderr
    assert message in ours.stderr


def test_unknown_files(tools, partition):
    metadata = partition / "partition.metadata"
    assert metadata.is_file()
    ours, theirs = tools.same("--files", str(metadata))
    assert f"Ignoring unknown file {metadata}" in _stderr_lines(theirs)
    assert f"Ignoring unknown file {metadata}" in _stderr_lines(ours)



def test_a_name_without_a_suffix_stops_the_dump(tools, partition, tmp_path):
    # As leader-epoch-checkpoint: Kafka's tool takes the suffix from the last dot and dies
    # when there is none, after naming the file.
    no_suffix = tmp_path / "leader-epoch-checkpoint"
    shutil.copy(partition / "partition.metadata", no_suffix)
    _, theirs = tools.same("--files", str(no_suffix), rc=1)
    assert theirs.stdout.splitlines() == [f"Dumping {no_suffix}"]


# -- control records rafka does not write: KRaft's, in a log and in a KRaft snapshot -------

def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _varint(n: int) -> bytes:
    """Zig-zag varint, as record fields are written."""
    return _uvarint((n << 1) ^ (n >> 63))


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _control_batch(base_offset: int, records: list[tuple[bytes, bytes]]) -> bytes:
    """A v2 control batch (not transactional, as KRaft writes them) of (key, value)s."""
    body = bytearray()
    for delta, (key, value) in enumerate(records):
        record = (b"\x00" + _varint(0) + _varint(delta) + _varint(len(key)) + key
                  + _varint(len(value)) + value + _varint(0))
        body += _varint(len(record)) + record
    timestamp = BASE_TS.to_bytes(8, "big", signed=True)
    after_crc = (
        (0x20).to_bytes(2, "big")                               # attributes: control
        + (len(records) - 1).to_bytes(4, "big")                 # last offset delta
        + timestamp + timestamp
        + (-1).to_bytes(8, "big", signed=True)                  # producer id
        + (-1).to_bytes(2, "big", signed=True)                  # producer epoch
        + (-1).to_bytes(4, "big", signed=True)                  # base sequence
        + len(records).to_bytes(4, "big") + bytes(body))
    after_length = ((5).to_bytes(4, "big")                      # partition leader epoch
                    + b"\x02" + _crc32c(after_crc).to_bytes(4, "big") + after_crc)
    return base_offset.to_bytes(8, "big") + len(after_length).to_bytes(4, "big") + after_length


def _key(type_id: int) -> bytes:
    return (0).to_bytes(2, "big") + type_id.to_bytes(2, "big")


def _compact_string(text: str) -> bytes:
    data = text.encode()
    return _uvarint(len(data) + 1) + data


NO_TAGS = b"\x00"
LEADER_CHANGE = ((0).to_bytes(2, "big") + (3).to_bytes(4, "big")
                 + _uvarint(3) + (1).to_bytes(4, "big") + NO_TAGS + (3).to_bytes(4, "big") + NO_TAGS
                 + _uvarint(2) + (3).to_bytes(4, "big") + NO_TAGS + NO_TAGS)
SNAPSHOT_HEADER = (0).to_bytes(2, "big") + (BASE_TS + 7).to_bytes(8, "big") + NO_TAGS
SNAPSHOT_FOOTER = (0).to_bytes(2, "big") + NO_TAGS
KRAFT_VERSION = (0).to_bytes(2, "big") + (1).to_bytes(2, "big") + NO_TAGS
VOTERS = ((0).to_bytes(2, "big") + _uvarint(2)
          + (1).to_bytes(4, "big") + bytes(range(16))
          + _uvarint(2) + _compact_string("CONTROLLER") + _compact_string('h"\\q\x01')
          + (9093).to_bytes(2, "big") + NO_TAGS
          + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") + NO_TAGS   # kraft.version range
          + NO_TAGS + NO_TAGS)
COMMIT = (0).to_bytes(2, "big") + (4).to_bytes(4, "big")


@pytest.mark.parametrize("name", ["00000000000000000100.log",
                                  "00000000000000000100-0000000004.checkpoint",
                                  "bootstrap.checkpoint"])
def test_kraft_control_records(tools, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(
        _control_batch(100, [(_key(3), SNAPSHOT_HEADER), (_key(5), KRAFT_VERSION),
                             (_key(6), VOTERS)])
        + _control_batch(103, [(_key(2), LEADER_CHANGE), (_key(1), COMMIT),
                               (_key(9), b"")])
        + _control_batch(106, [(_key(4), SNAPSHOT_FOOTER)]))
    _, kafka = tools.same("--files", str(path), "--deep-iteration")
    for shown in ("SnapshotHeader {", "KRaftVersion {", "KRaftVoters {", "LeaderChange: {",
                  "endTxnMarker: COMMIT coordinatorEpoch: 4", "controlType: UNKNOWN(9)",
                  "SnapshotFooter {"):
        assert shown in kafka.stdout, kafka.stdout


def test_a_malformed_control_record_stops_the_dump(tools, tmp_path):
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(_control_batch(0, [(_key(1), COMMIT)])
                     + _control_batch(1, [(b"\x00\x00\x01", COMMIT)]))
    tools.same("--files", str(path), "--deep-iteration", rc=1)
