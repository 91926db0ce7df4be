"""KafkaJS 2.2.4 (Node.js) against rafka: tests/clients/kafkajs/compat.js is a small program
that uses KafkaJS as an application does (admin, producers with every codec and acks=1/-1,
group consumers with rebalances, commits and seeks) and asserts on the exact records it
reads back. Each scenario runs as its own `node` process, one pytest test each, so a
failure names the scenario; the program's output is shown when it fails.

scripts/setup-node.sh installs the packages (scripts/test.sh calls it, and so does the
`node` fixture, which costs nothing when they are installed). The records the
codec scenarios produce are also read back with confluent-kafka (librdkafka), so the
batches KafkaJS compressed are checked by a second, independent decoder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compat_helpers import confluent_consume, java_default_partition

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "tests" / "clients" / "kafkajs"
PROGRAM = CLIENT_DIR / "compat.js"
# A deadline for one scenario's `node` process (its own waits are 30 s each).
SCENARIO_TIMEOUT_S = 240

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
SCENARIOS = ["admin", *(f"produce-consume-{c}" for c in CODECS), "acks", "auto-create",
             "timestamps-and-delete-records", "batch-pattern-pause", "group-rebalance",
             "group-member-killed", "group-commit", "seek"]


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    assert path, "node not found on PATH (KafkaJS needs Node.js >= 18)"
    # scripts/test.sh runs it before pytest; it returns at once when the packages are
    # installed, and a bare `pytest` run on a fresh clone gets them here.
    subprocess.run([str(ROOT / "scripts" / "setup-node.sh")], check=True, timeout=600)
    return path


def run_scenario(node: str, broker, scenario: str) -> str:
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap}
    try:
        proc = subprocess.run([node, str(PROGRAM), scenario], cwd=CLIENT_DIR, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=SCENARIO_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"kafkajs scenario {scenario} still running after {SCENARIO_TIMEOUT_S}s "
                    f"(killed); its output:\n{out}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"kafkajs scenario {scenario} exited {proc.returncode}; its output:\n"
                    f"{proc.stdout}", pytrace=False)
    assert "1 passed, 0 failed" in proc.stdout.splitlines(), proc.stdout
    return proc.stdout


def test_every_scenario_has_a_test(node):
    listed = subprocess.run([node, str(PROGRAM), "--list"], cwd=CLIENT_DIR, check=True,
                            stdout=subprocess.PIPE, text=True, timeout=60).stdout.split()
    assert sorted(listed) == sorted(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_kafkajs(node, broker, scenario):
    out = run_scenario(node, broker, scenario)
    if scenario.startswith("produce-consume-"):
        produced = [json.loads(line[len("PRODUCED "):]) for line in out.splitlines()
                    if line.startswith("PRODUCED ")]
        assert len(produced) == 1, out
        check_with_librdkafka(broker, produced[0])


def check_with_librdkafka(broker, produced: dict) -> None:
    """Read what KafkaJS produced with confluent-kafka and compare record by record with
    what compat.js sent (see its `messages()`)."""
    topic, codec, partitions = produced["topic"], produced["codec"], produced["partitions"]
    base_ts, n = produced["baseTs"], produced["n"]
    records = confluent_consume(broker.bootstrap, topic, range(partitions))
    assert len(records) == n, f"librdkafka read {len(records)} records, KafkaJS produced {n}"
    next_offset = dict.fromkeys(range(partitions), 0)
    for i, rec in enumerate(sorted(records, key=lambda r: int(dict(r.headers)["seq"]))):
        key = f"key-{i % 7}".encode()
        assert rec.key == key
        assert rec.value == (f"{codec}:{i:06d}|" * 8).encode()
        assert list(rec.headers) == [("seq", str(i).encode()), ("prefix", codec.encode()),
                                     ("dup", b"1"), ("dup", b"2")]
        assert rec.timestamp == base_ts + i
        assert rec.partition == java_default_partition(key, partitions)
        assert rec.offset == next_offset[rec.partition], f"record {i}: {rec}"
        next_offset[rec.partition] += 1
