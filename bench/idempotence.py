#!/usr/bin/env python3
"""Issue 13's benchmarks: the broker CPU an idempotent producer costs over a plain one (both
acks=all, 100 B and 1 KiB records, one broker), transactional throughput at 100 records
per transaction, and how long after EndTxn a committed record reaches a read_committed
consumer, on one broker and on three nodes. Run through bench/run-idempotence.sh; results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402

BASE = ["linger.ms=5", "batch.size=1000000", "compression.type=none",
        "queue.buffering.max.kbytes=1048576", "acks=all"]
MODES = {"plain": BASE + ["enable.idempotence=false"],
         "idempotent": BASE + ["enable.idempotence=true"]}


def cpu_per_gb(bench, size: int, records: int, repeat: int) -> list[str]:
    by_mode: dict[str, list[float]] = {m: [] for m in MODES}
    rows = []
    for round_ in range(repeat):
        order = list(MODES) if round_ % 2 == 0 else list(reversed(MODES))
        for mode in order:
            name = f"{mode}-{size}-{round_}"
            server = bench.broker(name)
            bench.create_topic(server, "bench", perf.PARTITIONS)
            run = perf.produce(bench, server, mode, "bench", size, records, MODES[mode])
            server.stop()
            shutil.rmtree(bench.out / name / "data", ignore_errors=True)
            by_mode[mode].append(run.server_cpu_s / run.gb)
            rows.append(run.row())
    plain, idem = statistics.median(by_mode["plain"]), statistics.median(by_mode["idempotent"])
    rows.append(f"| **{size} B: idempotent / plain server CPU per GB (medians)** | | | | | | | "
                f"| {idem:.3f} / {plain:.3f} = **{idem / plain:.3f}** | | |")
    return rows


def transactions(bench, txns: int, per_txn: int, visibility_samples: int,
                 three_nodes: bool = False) -> list[str]:
    """On one broker, or on three nodes (RF=3, min.insync.replicas=2, the transaction
    coordinator, the partition leader and the group coordinator wherever the cluster put
    them, so markers usually cross brokers)."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    if three_nodes:
        nodes = bench.cluster("transactions-3")
        server = nodes[0]
        for topic in ("txn", "visible"):
            bench.create_topic(server, topic, 1, 3, ("min.insync.replicas=2",))
            bench.wait_in_sync(server, topic, 3)
        bootstrap = ",".join(n.bootstrap for n in nodes)
        where = "3 nodes, RF=3, min.insync.replicas=2"
    else:
        nodes = [bench.broker("transactions")]
        server = nodes[0]
        bench.create_topic(server, "txn", 1)
        bench.create_topic(server, "visible", 1)
        bootstrap = server.bootstrap
        where = "1 node"
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "bench",
                         "linger.ms": 5})
    producer.init_transactions(30)
    value = b"x" * 1024
    start = time.monotonic()
    for _ in range(txns):
        producer.begin_transaction()
        for _ in range(per_txn):
            producer.produce("txn", value=value, partition=0)
        producer.commit_transaction(30)
    seconds = time.monotonic() - start
    rate = txns * per_txn / seconds

    # Time from the EndTxn call to the record reaching a read_committed consumer.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "visible",
                         "isolation.level": "read_committed", "fetch.wait.max.ms": 10})
    consumer.assign([TopicPartition("visible", 0, 0)])
    seen: dict[int, float] = {}
    stop = threading.Event()

    def read():
        while not stop.is_set():
            m = consumer.poll(0.05)
            if m is not None and m.error() is None:
                seen[int(m.value())] = time.monotonic()

    reader = threading.Thread(target=read)
    reader.start()
    sent: dict[int, float] = {}
    for i in range(visibility_samples):
        producer.begin_transaction()
        producer.produce("visible", value=b"%d" % i, partition=0)
        producer.flush(30)
        sent[i] = time.monotonic()
        producer.commit_transaction(30)
        deadline = time.monotonic() + 10
        while i not in seen and time.monotonic() < deadline:
            time.sleep(0.001)
    stop.set()
    reader.join()
    consumer.close()
    # All told to stop at once, so that none waits for a quorum the others have left.
    for node in nodes:
        node.proc.send_signal(signal.SIGTERM)
    for node in nodes:
        node.stop()
    latencies = sorted((seen[i] - sent[i]) * 1000 for i in sent if i in seen)
    if len(latencies) != visibility_samples:
        sys.exit(f"only {len(latencies)} of {visibility_samples} committed records became visible")
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return [f"| {where}: transactional produce, {per_txn} × 1 KiB records per transaction "
            f"| {txns} transactions | {seconds:.1f} s | {rate:,.0f} records/s ({rate / 1024:,.1f} MiB/s) |",
            f"| {where}: EndTxn → visible to read_committed, 1 record per transaction "
            f"| {visibility_samples} | p50 {p50:.1f} ms | p99 {p99:.1f} ms |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rafka", required=True, type=Path)
    ap.add_argument("--floor", required=True, type=Path)
    ap.add_argument("--produce-mib", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--transactions", type=int, default=200)
    ap.add_argument("--visibility-samples", type=int, default=300)
    ap.add_argument("--command", default="bench/run-idempotence.sh")
    ap.add_argument("--only-transactions", action="store_true",
                    help="skip the CPU-per-GB runs")
    args = ap.parse_args()
    out = perf.ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-idempotence")
    out.mkdir(parents=True)
    bench = perf.Bench(args, out)
    rows = []
    if not args.only_transactions:
        for size in (100, 1024):
            rows += cpu_per_gb(bench, size, args.produce_mib * 1024 * 1024 // size, args.repeat)
    txn_rows = [*transactions(bench, args.transactions, 100, args.visibility_samples),
                *transactions(bench, args.transactions, 100, args.visibility_samples,
                              three_nodes=True)]
    header = ("| workload | target | record | records | s | records/s | MB/s | server CPU s "
              "| CPU s per GB | client CPU | load |\n|---|---|---|---|---|---|---|---|---|---|---|")
    text = "\n".join([f"Command: `{args.command} --produce-mib {args.produce_mib} --repeat {args.repeat}`",
                      f"({dt.date.today()}, {perf.platform.node()})", "", header, *rows, "",
                      "| transactions | runs | time | result |", "|---|---|---|---|", *txn_rows])
    print(text)


if __name__ == "__main__":
    main()
