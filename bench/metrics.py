#!/usr/bin/env python3
"""Issue 15's benchmark: the broker CPU per GB produced with `/metrics` on (a
`metrics.listener`, scraped once a second during the run, as Prometheus would) against
off, 100 B records on one broker, alternating the order each round. Run through
bench/run-metrics.sh; paste the table into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import threading
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402

MODES = ("off", "on")


def scraper(port: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            response.read()


def one_run(bench, name: str, mode: str, size: int, records: int) -> perf.Run:
    """A fresh broker, metrics `mode`, one produce run; its data removed after."""
    port = perf.free_port()
    extra = f"metrics.listener=http://127.0.0.1:{port}\n" if mode == "on" else ""
    server = bench.broker(name, extra=extra)
    bench.create_topic(server, "bench", perf.PARTITIONS)
    stop = threading.Event()
    scraping = threading.Thread(target=scraper, args=(port, stop), daemon=True)
    if mode == "on":
        scraping.start()
    try:
        return perf.produce(bench, server, f"metrics {mode}", "bench", size, records)
    finally:
        stop.set()
        if scraping.is_alive():
            scraping.join()
        server.stop()
        shutil.rmtree(bench.out / name / "data", ignore_errors=True)


def cpu_per_gb(bench, size: int, records: int, repeat: int) -> list[str]:
    runs: dict[str, list[perf.Run]] = {m: [] for m in MODES}
    for round_ in range(repeat):
        for mode in MODES if round_ % 2 == 0 else tuple(reversed(MODES)):
            runs[mode].append(one_run(bench, f"metrics-{mode}-{size}-{round_}", mode, size, records))
    median = {m: statistics.median(r.server_cpu_s / r.gb for r in rs) for m, rs in runs.items()}
    ratio = median["on"] / median["off"]
    return [run.row() for rs in runs.values() for run in rs] + [
        f"| **{size} B: metrics on / off, server CPU per GB (medians)** | | | | | | | "
        f"| {median['on']:.3f} / {median['off']:.3f} = **{ratio:.3f}** | | |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rafka", required=True, type=Path)
    ap.add_argument("--floor", default=Path("unused"), type=Path)
    ap.add_argument("--produce-mib", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--command", default="bench/run-metrics.sh")
    args = ap.parse_args()
    out = perf.ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-metrics")
    out.mkdir(parents=True)
    bench = perf.Bench(args, out)
    rows = cpu_per_gb(bench, 100, args.produce_mib * 1024 * 1024 // 100, args.repeat)
    header = ("| workload | target | record | records | s | records/s | MB/s | server CPU s "
              "| CPU s per GB | client CPU | load |\n|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join([f"Command: `{args.command} --produce-mib {args.produce_mib} "
                     f"--repeat {args.repeat}` ({dt.date.today()}, {perf.platform.node()})",
                     "", header, *rows]))


if __name__ == "__main__":
    main()
