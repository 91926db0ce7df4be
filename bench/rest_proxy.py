#!/usr/bin/env python3
"""The REST proxy's produce benchmark: REST v2 produce in the JSON embedded format (1 KiB
values, 100 records a request, several persistent HTTP connections) through
`rafka rest-proxy`, next to librdkafka's producer-perf-test straight to the broker, both
against one fresh rafka broker. Reports records/s, the proxy's CPU seconds per GB of values
(the native producer's own CPU per GB beside it) and the broker's. Run through
bench/run-rest-proxy.sh; paste the table into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402

RECORD_BYTES = 1024
BATCH = 100


def start_proxy(bench, broker: perf.Server) -> tuple[subprocess.Popen, int]:
    workdir = bench.out / "rest-proxy"
    workdir.mkdir(exist_ok=True)
    port = perf.free_port()
    config = workdir / "kafka-rest.properties"
    config.write_text(f"bootstrap.servers={broker.bootstrap}\nlisteners=http://127.0.0.1:{port}\n"
                      # The producer settings producer-perf-test gets, for a like comparison.
                      "producer.linger.ms=5\nproducer.batch.size=1000000\nproducer.acks=1\n")
    log = open(workdir / "rest-proxy.log", "wb")
    proc = subprocess.Popen([bench.rafka, "rest-proxy", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            sys.exit(f"the REST proxy exited; see {workdir / 'rest-proxy.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/brokers", timeout=1) as answer:
                if answer.status == 200:
                    return proc, port
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit("the REST proxy did not answer in 60 s")
        time.sleep(0.05)


def rest_produce(port: int, topic: str, requests: int, connections: int) -> float:
    """Sends `requests` produce requests over `connections` keep-alive connections; returns
    the wall seconds. Every record of every answer must have an offset."""
    value = "x" * (RECORD_BYTES - 2)  # a JSON string: 1 KiB with its quotes
    body = json.dumps({"records": [{"value": value}] * BATCH}).encode()
    headers = {"Content-Type": "application/vnd.kafka.json.v2+json"}
    failures: list[str] = []
    share = [requests // connections + (1 if i < requests % connections else 0)
             for i in range(connections)]

    def worker(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(count):
            conn.request("POST", f"/topics/{topic}", body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read()
            if answer.status != 200 or b'"error_code":5' in text:
                failures.append(text[:300].decode(errors="replace"))
                return
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in share]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    if failures:
        sys.exit(f"REST produce failed: {failures[0]}")
    return seconds


def row(what: str, records: int, seconds: float, client: str, client_cpu: float,
        broker_cpu: float, load: float) -> str:
    gb = records * RECORD_BYTES / 1e9
    return (f"| {what} | {records:,} | {seconds:.1f} | {records / seconds:,.0f} "
            f"| {gb * 1e3 / seconds:,.1f} | {client} | {client_cpu:.2f} | {client_cpu / gb:.2f} "
            f"| {broker_cpu / gb:.2f} | {load:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rafka", required=True, type=Path)
    ap.add_argument("--floor", default=Path("unused"), type=Path)
    ap.add_argument("--produce-mib", type=int, default=256)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--command", default="bench/run-rest-proxy.sh")
    args = ap.parse_args()
    out = perf.ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-rest-proxy")
    out.mkdir(parents=True)
    bench = perf.Bench(args, out)
    records = args.produce_mib * 1024 * 1024 // RECORD_BYTES // BATCH * BATCH
    broker = bench.broker("broker")
    rows = []
    try:
        bench.create_topic(broker, "native", perf.PARTITIONS)
        native = perf.produce(bench, broker, "rafka", "native", RECORD_BYTES, records)
        rows.append(row("native librdkafka (producer-perf-test)", records, native.seconds,
                        "producer", native.client_cpu_s, native.server_cpu_s, native.load))
        bench.create_topic(broker, "rest", perf.PARTITIONS)
        proxy, port = start_proxy(bench, broker)
        try:
            rest_produce(port, "rest", 20, args.connections)  # warm-up: connections, metadata
            perf.settle()
            load = perf.load_average()
            proxy_cpu, broker_cpu = perf.CpuMeter(proxy.pid), broker.cpu_meter()
            seconds = rest_produce(port, "rest", records // BATCH, args.connections)
            rows.append(row(f"REST v2 JSON, {BATCH} records/request, {args.connections} connections",
                            records, seconds, "proxy", proxy_cpu.seconds(), broker_cpu.seconds(), load))
        finally:
            perf.stop_process(proxy, 30)
    finally:
        broker.stop()
    header = ("| producer | records | s | records/s | MB/s | client process | its CPU s "
              "| its CPU s per GB | broker CPU s per GB | load |\n"
              "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    print("\n".join([f"Command: `{args.command} --produce-mib {args.produce_mib} "
                     f"--connections {args.connections}` ({dt.date.today()}, "
                     f"{perf.revision()})", "", header, *rows]))


if __name__ == "__main__":
    main()
