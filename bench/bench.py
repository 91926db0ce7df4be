#!/usr/bin/env python3
"""Producer and consumer throughput of one rafka broker, measured with confluent-kafka.

Run through `bench/run.sh --python`, which builds the broker and the venv first. Starts a broker
on a free loopback port with a fresh data dir under bench/out/, then for each record
size: calibrates how many records take ~--seconds to produce, produces them
(acks=1, linger.ms=5, batch.size ~1 MB, no compression), reads them back, and records
throughput and the CPU time both the broker and this client process used. Rewrites the
python section of bench/RESULTS.md (unless --no-write).

The client is Python over librdkafka: the Python produce()/consume() loop costs CPU per
record and may be the bottleneck, especially for small records, so the client's own CPU
is reported next to the broker's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
import perf  # noqa: E402
from perf import (free_port, proc_cpu_seconds, replace_section, revision,  # noqa: E402
                  stop_process)

PARTITIONS = 4
LOAD_AT_START = 0.0

PRODUCER_CONF = {
    "acks": "1",
    "linger.ms": 5,
    "batch.size": 1_000_000,
    "compression.type": "none",
    "queue.buffering.max.messages": 2_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
}
CONSUMER_CONF = {
    "group.id": "rafka-bench",  # required by librdkafka; partitions are assigned, never committed
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 10_485_760,
    # librdkafka pauses fetching for fetch.queue.backoff.ms (default 1 s) whenever its
    # local queue holds queued.min.messages (default 100k) records; one 50 MB fetch of
    # 100-byte records overfills it, and the run then measures those pauses.
    "queued.min.messages": 1_000_000,
    "fetch.queue.backoff.ms": 10,
}


# -- broker process ------------------------------------------------------------------

class Broker:
    def __init__(self, binary: Path, workdir: Path):
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config_path = workdir / "server.properties"
        self.log_path = workdir / "broker.log"
        self.config_path.write_text(
            "node.id=1\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            f"log.dirs={self.data_dir}\n"
            "num.partitions=1\n"
            "auto.create.topics.enable=true\n")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(binary), "server", "start", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.wait_ready()

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"broker exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if 1 in admin.list_topics(timeout=1).brokers:
                    return
            except confluent_kafka.KafkaException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                sys.exit(f"broker not ready after {timeout_s}s; see {self.log_path}")
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_process(self.proc, 30)
        self.log.close()


def client_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


# -- workloads -----------------------------------------------------------------------

@dataclass
class Result:
    workload: str
    record_bytes: int
    records: int
    seconds: float
    broker_cpu_s: float
    client_cpu_s: float

    @property
    def payload_bytes(self) -> int:
        return self.records * self.record_bytes

    def row(self) -> str:
        gb = self.payload_bytes / 1e9
        return (f"| {self.workload} | {self.record_bytes} B | {self.records:,} | {self.seconds:.1f} "
                f"| {self.records / self.seconds:,.0f} | {self.payload_bytes / 1e6 / self.seconds:,.1f} "
                f"| {self.broker_cpu_s:.1f} | {self.broker_cpu_s / gb:.1f} "
                f"| {self.client_cpu_s:.1f} | {100 * self.client_cpu_s / self.seconds:.0f}% |")


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    deadline = time.monotonic() + 30
    while True:
        t = admin.list_topics(topic, timeout=5).topics.get(topic)
        if t and t.error is None and len(t.partitions) == PARTITIONS and \
                all(p.leader >= 0 for p in t.partitions.values()):
            return
        if time.monotonic() > deadline:
            sys.exit(f"topic {topic} has no leaders after 30s")
        time.sleep(0.05)


def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic])[topic].result(30)


def produce(bootstrap: str, topic: str, value: bytes, records: int | None, seconds: float | None) -> int:
    """Produce `records` copies of `value` (or as many as fit in `seconds`); return the count."""
    p = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONF})
    produce_ = p.produce
    sent = 0
    deadline = time.monotonic() + seconds if seconds else None
    while records is None or sent < records:
        try:
            produce_(topic, value)
            sent += 1
        except BufferError:
            p.poll(0.001)
        if sent % 10_000 == 0:
            p.poll(0)
            if deadline and time.monotonic() > deadline:
                break
    left = p.flush(120)
    if left:
        sys.exit(f"{left} records undelivered after 120s")
    return sent


def high_watermarks(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, **CONSUMER_CONF})
    try:
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                   for p in range(PARTITIONS))
    finally:
        c.close()


def consume(bootstrap: str, topic: str, records: int, record_bytes: int, timeout_s: float = 300) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, **CONSUMER_CONF})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = 0
    deadline = time.monotonic() + timeout_s
    try:
        while got < records:
            for m in c.consume(num_messages=10_000, timeout=1.0):
                if m.error():
                    sys.exit(f"consumer error: {m.error()}")
                if len(m.value()) != record_bytes:
                    sys.exit(f"record of {len(m.value())} bytes at {m.partition()}/{m.offset()}")
                got += 1
            if time.monotonic() > deadline:
                sys.exit(f"consumed {got}/{records} records in {timeout_s}s")
    finally:
        c.close()


def measure(broker: Broker, workload: str, record_bytes: int, records: int, fn) -> Result:
    cpu_broker, cpu_client, start = broker.cpu_seconds(), client_cpu_seconds(), time.monotonic()
    fn()
    seconds = time.monotonic() - start
    result = Result(workload, record_bytes, records, seconds,
                    broker.cpu_seconds() - cpu_broker, client_cpu_seconds() - cpu_client)
    print(result.row(), flush=True)
    return result


def run_size(broker: Broker, record_bytes: int, target_s: float, fixed_records: int | None) -> list[Result]:
    value = os.urandom(record_bytes)  # incompressible, and compression is off anyway
    if fixed_records:
        records = fixed_records
    else:
        warmup = f"warmup-{record_bytes}"
        create_topic(broker.bootstrap, warmup)
        start = time.monotonic()
        n = produce(broker.bootstrap, warmup, value, None, 3.0)
        rate = n / (time.monotonic() - start)
        delete_topic(broker.bootstrap, warmup)
        records = max(100_000, int(rate * target_s))
        print(f"calibration: {rate:,.0f} records/s of {record_bytes} B -> {records:,} records", flush=True)
    topic = f"bench-{record_bytes}"
    create_topic(broker.bootstrap, topic)
    produced = measure(broker, "produce", record_bytes, records,
                       lambda: produce(broker.bootstrap, topic, value, records, None))
    stored = high_watermarks(broker.bootstrap, topic)
    if stored != records:
        sys.exit(f"broker holds {stored} records of {records} produced")
    consumed = measure(broker, "consume", record_bytes, records,
                       lambda: consume(broker.bootstrap, topic, records, record_bytes))
    # Free the disk and page cache before the next size, so it does not pay for this one.
    delete_topic(broker.bootstrap, topic)
    return [produced, consumed]


# -- report --------------------------------------------------------------------------

def machine() -> str:
    return (perf.machine(LOAD_AT_START)
            + " (other work on the machine makes the figures noisy)")


def client_bound_note(results: list[Result]) -> str:
    bound = [f"{r.workload} {r.record_bytes} B" for r in results
             if r.client_cpu_s / r.seconds >= 0.9]
    if not bound:
        return "No phase had the client above 90% of a core."
    return (f"Client-bound (client process at >= 90% of a core): {', '.join(bound)}. "
            "For these the broker could go faster than shown; its CPU per GB is the "
            "figure to compare between runs.")


def write_results(path: Path, results: list[Result], command: str, args) -> None:
    header = ("| workload | record | records | seconds | records/s | MB/s "
              "| broker CPU s | broker CPU s/GB | client CPU s | client CPU |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    text = f"""- command: `{command}`
- date: {dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
- machine: {machine()}
- rafka: `{args.rafka}` built from {revision()} (release profile)
- client: Python {platform.python_version()}, confluent-kafka {confluent_kafka.__version__},
  librdkafka {confluent_kafka.libversion()[0]}, client and broker on the same machine over loopback
- workload: one broker, one topic of {PARTITIONS} partitions per record size, no compression,
  random (incompressible) values without keys; producer `acks=1`, `linger.ms=5`,
  `batch.size=1000000`; the consumer assigns all partitions and reads from the beginning
  (no consumer group), with `fetch.max.bytes=52428800`, `max.partition.fetch.bytes=10485760`,
  `queued.min.messages=1000000`, `fetch.queue.backoff.ms=10` (librdkafka's defaults
  pause fetching for 1 s each time its queue fills, which small records do at once).
  The record count was calibrated so that producing takes ~{args.seconds:.0f} s; each
  size's topic is deleted before the next size runs.

{header}
{chr(10).join(r.row() for r in results)}

{client_bound_note(results)}

How to read it:
- MB/s and GB count record values only (1 MB = 10^6 bytes), not keys, headers or
  protocol overhead.
- broker CPU s = user+system time of the `rafka` process during the phase (from
  `/proc/<pid>/stat`); broker CPU s/GB divides it by the GB of values moved.
- **The client is Python confluent-kafka (librdkafka) and may itself be the bottleneck**:
  every record costs a Python call on each side. client CPU is this Python process
  (librdkafka's threads included) as a share of one core; near or above 100% means the
  figures measure the client more than the broker. Client and broker share
  {os.cpu_count()} cores.
"""
    # Only this harness's section is rewritten; the rest of RESULTS.md belongs to others.
    replace_section(path, "python", text)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rafka", required=True, type=Path, help="the rafka binary")
    ap.add_argument("--seconds", type=float, default=15.0, help="target duration of each produce phase")
    ap.add_argument("--sizes", default="100,1024", help="record sizes in bytes, comma-separated")
    ap.add_argument("--records", type=int, help="fixed record count instead of calibrating")
    ap.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    ap.add_argument("--command", default="bench/run.sh --python", help="command line to record in RESULTS.md")
    args = ap.parse_args()

    global LOAD_AT_START
    LOAD_AT_START = os.getloadavg()[0]
    out = ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    broker = Broker(args.rafka, out)
    print(f"broker pid {broker.proc.pid} on {broker.bootstrap}, data in {broker.data_dir}", flush=True)
    results: list[Result] = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            results += run_size(broker, size, args.seconds, args.records)
    finally:
        broker.stop()
        shutil.rmtree(broker.data_dir, ignore_errors=True)  # keep server.properties and broker.log
    if not args.no_write:
        write_results(ROOT / "bench" / "RESULTS.md", results, args.command, args)


if __name__ == "__main__":
    main()
