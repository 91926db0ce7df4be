"""Go's two major Kafka clients against rafka: franz-go (kgo + kadm) and sarama.

tests/clients/go is a Go module (versions pinned in go.mod/go.sum) whose `go test` tests
use each client as an application does, and assert on the exact data they get back:
- admin: create (with configs) / list / describe topics, create partitions, describe and
  alter configs (incremental and legacy), delete topics;
- produce with every codec at acks=all and acks=1, consume from the beginning asserting
  keys/values/headers/partitions/offsets (each client also reads the other's records,
  and franz-go checks the codec of the stored batches); records near message.max.bytes
  with small fetch limits, MESSAGE_TOO_LARGE past it, auto-created topics;
- consumer groups: rebalances when a second member joins and the first leaves (franz-go:
  cooperative-sticky, eager range, KIP-848 broker-side assignment; sarama: range,
  roundrobin, cooperative-sticky), commits and resume, static membership, group admin
  (committed offsets, lag, list/describe, offset reset, delete);
- seeks, ListOffsets (earliest/latest, after DeleteRecords, by timestamp, max
  timestamp), and sarama's data path at the protocol versions applications configure
  (Kafka 1.0 to 4.1).
Each Go test runs as its own process against the module's broker, one pytest test each,
so a failure names the scenario and shows the Go test's output.

The test binary is compiled once per session (`go test -c`); scripts/setup-go.sh
downloads the modules beforehand (scripts/test.sh calls it). Go's module and build caches
stay in their defaults outside the clone. By hand, against any broker:
`cd tests/clients/go && RAFKA_BOOTSTRAP=127.0.0.1:9092 go test -count=1 -v ./...`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GO_DIR = ROOT / "tests" / "clients" / "go"
# Compiling franz-go, sarama and their dependencies from an empty build cache takes about
# a minute on this project's machines; with a warm cache, a few seconds.
COMPILE_TIMEOUT_S = 280
# A deadline for one Go test's process (its own waits are 30 s each).
TEST_TIMEOUT_S = 240

GO_TESTS = [
    "TestFranzAdmin",
    "TestFranzProduceConsumeCodecs",
    "TestFranzConsumerGroupRebalance",
    "TestFranzConsumerGroupCommitResume",
    "TestFranzSeekAndListOffsets",
    "TestFranzTimestamps",
    "TestFranzStaticMembership",
    "TestFranzLargeRecords",
    "TestSaramaAdmin",
    "TestSaramaProduceConsumeCodecs",
    "TestSaramaConsumerGroupRebalance",
    "TestSaramaConsumerGroupCommitResume",
    "TestSaramaSeekAndListOffsets",
    "TestSaramaTimestamps",
    "TestSaramaIdempotentProducer",
    "TestSaramaLargeRecords",
    "TestSaramaProtocolVersions",
]


def go_tool() -> str:
    path = shutil.which("go")
    if path is None and os.access("/usr/local/go/bin/go", os.X_OK):
        path = "/usr/local/go/bin/go"  # Go's official tarball, not on every PATH
    assert path, "go not found on PATH or in /usr/local/go/bin (the Go client tests need it)"
    return path


def _output(e: subprocess.TimeoutExpired) -> str:
    return e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")


@pytest.fixture(scope="session")
def go_test_binary(tmp_path_factory) -> Path:
    """`go test -c` once: every Go test then runs from this binary in well under a second
    of start-up."""
    binary = tmp_path_factory.mktemp("go-clients") / "rafka-go-clients.test"
    cmd = [go_tool(), "test", "-c", "-mod=readonly", "-o", str(binary), "."]
    try:
        proc = subprocess.run(cmd, cwd=GO_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`{' '.join(cmd)}` still running after {COMPILE_TIMEOUT_S}s:\n{_output(e)}",
                    pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"`{' '.join(cmd)}` in {GO_DIR} exited {proc.returncode} "
                    f"(run scripts/setup-go.sh first?):\n{proc.stdout}", pytrace=False)
    # Every Go test must have its pytest test here: none is silently left out.
    listed = subprocess.run([str(binary), "-test.list", ".*"], cwd=GO_DIR, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, check=True)
    names = sorted(line for line in listed.stdout.splitlines() if line.startswith("Test"))
    assert names == sorted(GO_TESTS), f"Go tests {names} != GO_TESTS {sorted(GO_TESTS)}"
    return binary


@pytest.mark.parametrize("name", GO_TESTS)
def test_go_client(go_test_binary, broker, name):
    # The same as `go test -count=1 -run '^NAME$' -v .` in tests/clients/go, from the
    # precompiled binary.
    # -test.parallel: subtests that mark themselves parallel all run at once (Go's default
    # is GOMAXPROCS, 2 here, though they mostly wait on the broker).
    cmd = [str(go_test_binary), "-test.run", f"^{name}$", "-test.count=1", "-test.v",
           "-test.parallel=8", f"-test.timeout={TEST_TIMEOUT_S - 10}s"]
    env = {**os.environ, "RAFKA_BOOTSTRAP": broker.bootstrap}
    try:
        proc = subprocess.run(cmd, cwd=GO_DIR, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=TEST_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"Go test {name} still running after {TEST_TIMEOUT_S}s (killed); its output:\n"
                    f"{_output(e)}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"Go test {name} exited {proc.returncode}; its output:\n{proc.stdout}",
                    pytrace=False)
    lines = proc.stdout.splitlines()
    # It really ran (a -run pattern matching nothing also exits 0).
    assert any(line.startswith(f"--- PASS: {name} ") for line in lines), proc.stdout
    assert "PASS" in lines, proc.stdout
