#!/usr/bin/env python3
"""Issue 17's share-group benchmark: records/s delivered and acknowledged by 1, 4 and 16
share consumers on ONE partition (a classic group is capped at one consumer there), and
the broker's CPU per GB beside a classic consumer group reading the same data.

Both sides use Apache Kafka's own Java tools on Kafka's Java client, so the client is the
same: `ShareConsumerPerformance` (`kafka-share-consumer-perf-test.sh`, KafkaShareConsumer
in implicit acknowledgement mode: every delivered record is accepted with the next poll)
with `--threads N`, and `ConsumerPerformance` (`kafka-consumer-perf-test.sh`) for the
classic group. Each run reads the whole topic in a new group (share groups from
`share.auto.offset.reset=earliest`, set as a group config). Run through
bench/run-share.sh; the table is printed for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402

CLASSPATH = perf.ROOT / "tests" / "clients" / "kafka-tools" / "target" / "classpath.txt"
TOPIC = "share-bench"


def java(main: str, *args: str, timeout_s: float = 900) -> tuple[str, float]:
    """Runs one of Kafka's tool classes; returns its stdout and its own CPU seconds."""
    cmd = ["java", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
           CLASSPATH.read_text().strip(), main, *args]
    cpu = perf.children_cpu_seconds()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        sys.exit(f"{main} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout, perf.children_cpu_seconds() - cpu


def last_stats(out: str) -> list[str]:
    """The final stats line: start, end, MB, MB/s, nMsg/s, nMsg, fetch ms[, ...]."""
    lines = [line for line in out.splitlines() if line.count(",") >= 6
             and not line.startswith(("start.time", "Share consumer"))]
    if not lines:
        sys.exit(f"no stats line in:\n{out}")
    return [f.strip() for f in lines[-1].split(",")]


def share_run(bench, server, threads: int, records: int, record_bytes: int) -> perf.Run:
    group = f"share-bench-{uuid.uuid4().hex[:8]}"
    # (rafka's kafka-configs.sh does not alter group configs yet; Kafka's does.)
    java("kafka.admin.ConfigCommand", "--bootstrap-server", server.bootstrap, "--alter",
         "--entity-type", "groups", "--entity-name", group,
         "--add-config", "share.auto.offset.reset=earliest")
    perf.settle()
    load = perf.load_average()
    cpu = server.cpu_meter()
    out, client_cpu = java("org.apache.kafka.tools.ShareConsumerPerformance",
                           "--bootstrap-server", server.bootstrap, "--topic", TOPIC,
                           "--group", group, "--messages", str(records),
                           "--threads", str(threads), "--timeout", "30000")
    server_cpu = cpu.seconds()
    stats = last_stats(out)
    consumed, fetch_ms = int(stats[5]), float(stats[6])
    if consumed < records:
        sys.exit(f"{threads} share consumers got {consumed} of {records}:\n{out}")
    bench.commands.append(f"ShareConsumerPerformance --threads {threads} --messages {records}")
    result = perf.Run(f"share x{threads}", "rafka", record_bytes, records, fetch_ms / 1000,
                      server_cpu, client_cpu, load)
    print(result.row(), flush=True)
    return result


def classic_run(bench, server, records: int, record_bytes: int) -> perf.Run:
    perf.settle()
    load = perf.load_average()
    cpu = server.cpu_meter()
    out, client_cpu = java("org.apache.kafka.tools.ConsumerPerformance",
                           "--bootstrap-server", server.bootstrap, "--topic", TOPIC,
                           "--group", f"classic-bench-{uuid.uuid4().hex[:8]}",
                           "--messages", str(records), "--timeout", "30000")
    server_cpu = cpu.seconds()
    stats = last_stats(out)
    # start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
    consumed, fetch_ms = int(stats[4]), float(stats[7])
    if consumed < records:
        sys.exit(f"the classic consumer got {consumed} of {records}:\n{out}")
    bench.commands.append(f"ConsumerPerformance --messages {records}")
    result = perf.Run("classic x1", "rafka", record_bytes, records, fetch_ms / 1000,
                      server_cpu, client_cpu, load)
    print(result.row(), flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rafka", required=True, type=Path)
    ap.add_argument("--floor", type=Path, default=Path("unused"))
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--record-bytes", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", default="1,4,16")
    ap.add_argument("--command", default="bench/run-share.sh")
    args = ap.parse_args()
    out = perf.ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-share")
    out.mkdir(parents=True)
    bench = perf.Bench(args, out)
    server = bench.broker("share", extra="group.share.record.lock.duration.ms=30000\n")
    try:
        bench.create_topic(server, TOPIC, 1)
        perf.produce(bench, server, "rafka", TOPIC, args.record_bytes, args.records)
        threads = [int(t) for t in args.threads.split(",")]
        runs: dict[str, list[perf.Run]] = {}
        rows = []
        for round_ in range(args.repeat):
            for kind in ["classic"] + threads:
                run = (classic_run(bench, server, args.records, args.record_bytes)
                       if kind == "classic"
                       else share_run(bench, server, kind, args.records, args.record_bytes))
                runs.setdefault(run.workload, []).append(run)
                rows.append(run.row())
    finally:
        server.stop()
        shutil.rmtree(out / "share" / "data", ignore_errors=True)
    classic_cpu = statistics.median(r.server_cpu_s / r.gb for r in runs["classic x1"])
    for workload, rs in runs.items():
        rate = statistics.median(r.records / r.seconds for r in rs)
        cpu = statistics.median(r.server_cpu_s / r.gb for r in rs)
        rows.append(f"| **{workload} median** | | | | | **{rate:,.0f}** | | | **{cpu:.3f}** "
                    f"(x{cpu / classic_cpu:.2f} of classic) | | |")
    header = ("| workload | target | record | records | s | records/s | MB/s | server CPU s "
              "| CPU s per GB | client CPU | load |\n|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join([f"Command: `{args.command} --records {args.records} --repeat {args.repeat}`",
                     f"({dt.date.today()}, {perf.platform.node()})", "", header, *rows]))


if __name__ == "__main__":
    main()
