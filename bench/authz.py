#!/usr/bin/env python3
"""Issue 18's authorization cost: produce throughput and broker CPU per GB with no
authorizer and with Kafka's StandardAuthorizer (200 ACLs of another principal on other
topics; ANONYMOUS allowed on the benchmark topic by a prefixed ACL, so each produce
request looks up literal, wildcard and prefix entries and decides by that ALLOW).
`allow.everyone.if.no.acl.found=true` lets the unauthenticated tool add the ACLs; it
does not decide for the benchmark topic, which has an ACL.
One broker, 4 partitions, acks=1. Run through bench/run-authz.sh; the table is printed
for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402

PROPS = ["linger.ms=5", "batch.size=1000000", "compression.type=none",
         "queue.buffering.max.kbytes=1048576", "acks=1"]
AUTHORIZER = ("authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n"
              "allow.everyone.if.no.acl.found=true\n")
MODES = {"no-authorizer": "", "authorizer": AUTHORIZER}


def acls(rafka: str, bootstrap: str, *args: str) -> None:
    subprocess.run([rafka, "acls", "--bootstrap-server", bootstrap, "--add", *args],
                   check=True, capture_output=True, timeout=60)


def grant(bench, server) -> None:
    # Creating the topic needs CREATE, the perf tool's metadata DESCRIBE: ALL on the prefix.
    acls(bench.rafka, server.bootstrap, "--allow-principal", "User:ANONYMOUS",
         "--resource-pattern-type", "prefixed", "--topic", "ben")
    topics = [f"--topic=other-{i}" for i in range(100)]
    acls(bench.rafka, server.bootstrap, "--allow-principal", "User:alice", "--operation", "Write",
         "--operation", "Read", *topics)


def run(bench, size: int, records: int, repeat: int) -> list[str]:
    by_mode: dict[str, list[perf.Run]] = {m: [] for m in MODES}
    rows = []
    for round_ in range(repeat):
        order = list(MODES) if round_ % 2 == 0 else list(reversed(MODES))
        for mode in order:
            name = f"{mode}-{size}-{round_}"
            server = bench.broker(name, extra=MODES[mode])
            if MODES[mode]:
                grant(bench, server)
            bench.create_topic(server, "bench", perf.PARTITIONS)
            result = perf.produce(bench, server, mode, "bench", size, records, PROPS)
            server.stop()
            shutil.rmtree(bench.out / name / "data", ignore_errors=True)
            by_mode[mode].append(result)
            rows.append(result.row())
    rate = {m: statistics.median(r.records / r.seconds for r in rs) for m, rs in by_mode.items()}
    cpu = {m: statistics.median(r.server_cpu_s / r.gb for r in rs) for m, rs in by_mode.items()}
    rows.append(f"| **{size} B medians: authorizer / none** | | | | | "
                f"{rate['authorizer']:,.0f} / {rate['no-authorizer']:,.0f} = "
                f"**{rate['authorizer'] / rate['no-authorizer']:.3f}** | | | "
                f"{cpu['authorizer']:.3f} / {cpu['no-authorizer']:.3f} = "
                f"**{cpu['authorizer'] / cpu['no-authorizer']:.3f}** | | |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rafka", required=True, type=Path)
    ap.add_argument("--floor", required=True, type=Path)
    ap.add_argument("--produce-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--command", default="bench/run-authz.sh")
    args = ap.parse_args()
    out = perf.ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-authz")
    out.mkdir(parents=True)
    bench = perf.Bench(args, out)
    rows = []
    for size in (100, 1024):
        rows += run(bench, size, args.produce_mib * 1024 * 1024 // size, args.repeat)
    header = ("| workload | target | record | records | s | records/s | MB/s | server CPU s "
              "| CPU s per GB | client CPU | load |\n|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join([f"Command: `{args.command} --produce-mib {args.produce_mib} --repeat {args.repeat}`",
                     f"({dt.date.today()}, {perf.platform.node()})", "", header, *rows]))


if __name__ == "__main__":
    main()
