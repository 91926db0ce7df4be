"""The Java client (org.apache.kafka:kafka-clients 4.1.1) against rafka.

The client code is tests/clients/java (rafka.compat.Main), built by scripts/setup-java.sh;
each scenario of that program is one test here, run as its own JVM against the module's
broker. A scenario prints what it checked and ends with `PASS <name>`; on a failed check
or a client exception it prints `FAIL <name>: ...` with the stack trace and exits 1, and
the test fails showing the program's whole output (and the broker log tail, from
conftest.py).

Producers keep the client's defaults: idempotence on (Kafka 3.0+), acks=all. The
transactions-exactly-once scenario adds a transactional.id: a consume-transform-produce loop
(sendOffsetsToTransaction, every fifth transaction aborted and the group rewound to its
committed offsets) writes each input once as read_committed consumers see it, and a second
producer with the same transactional.id fences the first. The client speaks transactions
V2 (rafka finalizes `transaction.version` 2): its epoch grows by one per transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIR = ROOT / "tests" / "clients" / "java"
MAIN_CLASS = "rafka.compat.Main"
# A scenario's own waits are bounded (30 s each); this only stops a hung JVM.
SCENARIO_TIMEOUT_S = 240

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
SCENARIOS = (
    ["admin"]
    + [f"produce-consume-{codec}" for codec in CODECS]
    + [f"group-{what}-{protocol}" for protocol in ("classic", "consumer")
       for what in ("rebalance", "commits")]
    + ["seek-and-offsets", "transactions-exactly-once", "share-groups",
       "share-groups-min-bytes"]
)
# Scenarios of the program that other test files run, with brokers of their own:
# re-authentication over SASL (test_sasl.py).
RUN_ELSEWHERE = ["produce-consume-across-sessions"]


def java_bin() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        pytest.fail("java not found: install a JDK 17+ or set JAVA_HOME", pytrace=False)
    return java


def java_program(main_class: str = MAIN_CLASS) -> list[str]:
    """The command running `main_class` of tests/clients/java."""
    jar = PROGRAM_DIR / "target" / "rafka-java-compat.jar"
    classpath = PROGRAM_DIR / "target" / "classpath.txt"
    if not jar.is_file() or not classpath.is_file():
        pytest.fail(f"{jar} or {classpath} missing: run scripts/setup-java.sh", pytrace=False)
    return [java_bin(), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", f"{jar}:{classpath.read_text().strip()}", main_class]


@pytest.fixture(scope="module")
def java_cmd() -> list[str]:
    return java_program()


def run_program(java_cmd: list[str], args: list[str], bootstrap: str | None = None,
                timeout_s: float = SCENARIO_TIMEOUT_S) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if bootstrap is not None:
        env["RAFKA_BOOTSTRAP"] = bootstrap
    try:
        return subprocess.run(java_cmd + args, env=env, capture_output=True, text=True,
                              timeout=timeout_s, cwd=PROGRAM_DIR)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(args)} did not finish in {timeout_s}s\n"
                    f"--- stdout ---\n{e.stdout or ''}\n--- stderr ---\n{e.stderr or ''}",
                    pytrace=False)


def test_program_lists_the_scenarios_run_here(java_cmd):
    """The program's scenarios are the tests below and those run elsewhere."""
    proc = run_program(java_cmd, ["--list"], timeout_s=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == SCENARIOS + RUN_ELSEWHERE


def log_bytes(broker, topic: str) -> int:
    """Bytes of record data the broker stored for `topic` (all partitions, all segments)."""
    dirs = [d for d in broker.data_dir.iterdir() if re.fullmatch(re.escape(topic) + r"-\d+", d.name)]
    assert dirs, f"no partition directories for {topic} in {broker.data_dir}"
    return sum(f.stat().st_size for d in dirs for f in d.glob("*.log"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_java_client(broker, java_cmd, scenario):
    proc = run_program(java_cmd, [scenario], bootstrap=broker.bootstrap)
    output = f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    if proc.returncode != 0 or f"PASS {scenario}" not in proc.stdout:
        pytest.fail(f"scenario {scenario} failed (exit {proc.returncode})\n{output}", pytrace=False)

    if scenario == "transactions-exactly-once":
        # Transactions V2 (KIP-890): the client saw `transaction.version` 2 finalized and
        # sent EndTxn v5, so its epoch grew by one per transaction (the program checked
        # DescribeTransactions' epoch against its count of transactions).
        bumped = re.search(r"^transactions V2: the producer epoch is (\d+) after (\d+) transactions$",
                           proc.stdout, re.M)
        assert bumped, f"no transactions V2 epoch line\n{output}"
        assert int(bumped.group(1)) == int(bumped.group(2)) > 0, bumped.group(0)

    if scenario.startswith("produce-consume-"):
        # The program checked every record; here the stored batches show the codec was used:
        # rafka keeps the producer's batches as sent, so compressed ones take far less room
        # than the (repetitive) values they carry, and uncompressed ones more.
        codec = scenario.removeprefix("produce-consume-")
        topic = re.search(r"^TOPIC (\S+)$", proc.stdout, re.M).group(1)
        value_bytes = int(re.search(r"^VALUE_BYTES (\d+)$", proc.stdout, re.M).group(1))
        stored = log_bytes(broker, topic)
        if codec == "none":
            assert stored > value_bytes, f"{topic}: {stored} bytes stored for {value_bytes} bytes of values"
        else:
            assert stored < value_bytes / 3, (
                f"{topic}: {stored} bytes stored for {value_bytes} bytes of values: not {codec}-compressed?")
