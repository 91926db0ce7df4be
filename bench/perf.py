#!/usr/bin/env python3
"""rafka's benchmark harness on Kafka's perf tools (librdkafka), side by side with the floor.

Run through bench/run.sh, which builds `rafka` and `rafka-floor` (bench/floor) first. The
load comes from `rafka producer-perf-test`, `rafka consumer-perf-test` and
`rafka e2e-latency` (Kafka's tools over librdkafka, C, not Python), and this script only
starts processes, reads /proc and writes the report. Standard library only.

Phases, each with a fresh broker (data under bench/out/<timestamp>/) unless noted:
  1. produce: 100 B and 1 KiB records, acks=1, against the broker and against the floor,
     with the CPU seconds of the server process per GB produced;
  2. consume: --consume-passes reads of a --consume-mib topic of 1 KiB records from the
     beginning with consumer-perf-test, from the broker and from the floor (each written
     by phase 1's first 1 KiB run), with the server's CPU per GB fetched;
  3. latency at a fixed rate (--latency-rate, acks=1, one node): producer-perf-test
     --throughput (produce -> ack, whole ms) against the broker and the floor;
     `e2e-latency --throughput` (produce -> consumed by a consumer in the same process,
     microseconds); and Kafka's e2e-latency (one record at a time, not at the rate);
  4. cluster: three local brokers (combined broker+controller, controller quorum of 3),
     a topic of RF=3 with min.insync.replicas=2, and the paced e2e-latency and
     producer-perf-test at --latency-rate with acks=all;
  5. start-up (empty) and recovery after kill -9 of a broker holding --recovery-mib,
     as time from exec to the first Metadata answer;
  6. RSS: idle broker, and with --partitions-rss partitions in topics of 1000.

Every measured row carries the 1-minute load average when it started: two cores are
shared with whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PARTITIONS = 4
PRODUCER_PROPS = ["acks=1", "linger.ms=5", "batch.size=1000000", "compression.type=none",
                  "queue.buffering.max.kbytes=1048576"]
# librdkafka pauses fetching for fetch.queue.backoff.ms (1 s) whenever its queue holds
# queued.min.messages (100k) records; one big fetch overfills it and the run measures pauses.
CONSUMER_PROPS = {"fetch.max.bytes": "52428800", "max.partition.fetch.bytes": "10485760",
                  "queued.min.messages": "1000000", "fetch.queue.backoff.ms": "10"}


# -- processes -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_runtimes_ns(pid: int) -> dict[int, int]:
    """Each thread's CPU time so far, in ns, from /proc/<pid>/task/<tid>/schedstat."""
    runtimes = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            runtimes[int(tid)] = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass  # the thread ended meanwhile
    return runtimes


class CpuMeter:
    """CPU time a process spends from now on, from its threads' schedstat: the scheduler's
    own nanosecond sums, where /proc/<pid>/stat counts 10 ms ticks (a consume of 1 GiB costs
    the broker only ~10 of them). A thread that ends in between takes its time since the
    start with it; when the ticks say more was spent than that, the ticks are used."""

    def __init__(self, pid: int):
        self.pid = pid
        self.start_threads = thread_runtimes_ns(pid)
        self.start_ticks = proc_cpu_seconds(pid)

    def seconds(self) -> float:
        end = thread_runtimes_ns(self.pid)
        precise = sum(ns - self.start_threads.get(tid, 0) for tid, ns in end.items()) / 1e9
        ticks = proc_cpu_seconds(self.pid) - self.start_ticks
        if ticks > precise + 0.02 + 0.05 * ticks:
            print(f"pid {self.pid}: {ticks:.2f} CPU s by ticks, {precise:.3f} s by the live threads "
                  "(a thread ended); using the ticks", flush=True)
            return ticks
        return precise


def proc_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def metadata_brokers(port: int, timeout_s: float = 1.0) -> int | None:
    """Sends Metadata v1 for no topics; the number of brokers in the answer (of the same
    correlation id), or None when there is no answer."""
    client_id = b"rafka-bench"
    body = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            # size, correlation id, then the brokers array's length.
            head = s.recv(12, socket.MSG_WAITALL)
            if len(head) != 12:
                return None
            _, correlation_id, brokers = struct.unpack(">iii", head)
            return brokers if correlation_id == 7 else None
    except OSError:
        return None


RUNNING: list["Server"] = []


def kill_all() -> None:
    """On any exit (sys.exit on a failed phase included), leaves no server behind."""
    for server in RUNNING:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


atexit.register(kill_all)


class Server:
    """A `rafka` broker or the floor, with its pid, port and log."""

    def __init__(self, argv: list[str], port: int, log_path: Path, wait: bool = True,
                 env: dict[str, str] | None = None):
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     env={**os.environ, **(env or {})})
        RUNNING.append(self)
        self.ready_s = self.wait_ready() if wait else 0.0

    def wait_ready(self, timeout_s: float = 600, brokers: int = 1) -> float:
        """Seconds from exec to the first Metadata answer that lists `brokers` brokers."""
        deadline = self.started + timeout_s
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"{self.proc.args[0]} exited with {self.proc.returncode}; see {self.log_path}")
            if (metadata_brokers(self.port) or 0) >= brokers:
                return time.monotonic() - self.started
            if time.monotonic() > deadline:
                self.kill()
                sys.exit(f"not ready after {timeout_s}s; see {self.log_path}")
            time.sleep(0.005)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_meter(self) -> CpuMeter:
        return CpuMeter(self.pid)

    def rss_mib(self) -> float:
        return proc_rss_mib(self.pid)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        stop_process(self.proc, 60)
        self.log.close()


def stop_process(proc: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `timeout_s`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Bench:
    def __init__(self, args, out: Path):
        self.args = args
        self.out = out
        self.rafka = str(args.rafka)
        self.floor = str(args.floor)
        self.commands: list[str] = []

    def broker(self, name: str, port: int | None = None, extra: str = "") -> Server:
        workdir = self.out / name
        workdir.mkdir(exist_ok=True)
        port = port or free_port()
        config = workdir / "server.properties"
        config.write_text(
            "node.id=1\n"
            f"listeners=PLAINTEXT://127.0.0.1:{port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
            f"log.dirs={workdir / 'data'}\n"
            "num.partitions=1\n"
            "auto.create.topics.enable=false\n" + extra)
        return Server([self.rafka, "server", "start", str(config)], port, workdir / "broker.log")

    def floor_server(self, name: str, partitions: int = PARTITIONS) -> Server:
        workdir = self.out / name
        workdir.mkdir(exist_ok=True)
        port = free_port()
        return Server([self.floor, "--listen", f"127.0.0.1:{port}", "--dir", str(workdir / "data"),
                       "--partitions", str(partitions)], port, workdir / "floor.log")

    def tool(self, argv: list[str], timeout_s: float = 1800) -> tuple[str, float, float]:
        """Runs `rafka <tool> …`; returns its stdout, wall seconds and CPU seconds."""
        shown = " ".join(["rafka"] + argv)
        self.commands.append(shown)
        print(f"$ {shown}", flush=True)
        cpu, start = children_cpu_seconds(), time.monotonic()
        done = subprocess.run([self.rafka] + argv, capture_output=True, text=True, timeout=timeout_s)
        wall, cpu = time.monotonic() - start, children_cpu_seconds() - cpu
        if done.returncode != 0:
            sys.exit(f"{shown} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout, wall, cpu

    def cluster(self, name: str) -> list[Server]:
        """Three combined broker+controller nodes with a controller quorum of three, as
        tests/compat/test_cluster.py runs them; returns once each lists all three."""
        workdir = self.out / name
        workdir.mkdir(exist_ok=True)
        ports = {i: (free_port(), free_port()) for i in (1, 2, 3)}
        voters = ",".join(f"{i}@127.0.0.1:{controller}" for i, (_, controller) in ports.items())
        cluster_id = subprocess.run([self.rafka, "storage", "random-uuid"], capture_output=True,
                                    text=True, check=True).stdout.strip()
        configs = {}
        for i, (port, controller) in ports.items():
            configs[i] = workdir / f"n{i}.properties"
            configs[i].write_text(
                "process.roles=broker,controller\n"
                f"node.id={i}\n"
                f"controller.quorum.voters={voters}\n"
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n"
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
                "controller.listener.names=CONTROLLER\n"
                f"log.dirs={workdir / f'n{i}'}\n"
                "offsets.topic.replication.factor=3\n"
                "num.partitions=1\n"
                "auto.create.topics.enable=false\n")
            self.commands.append(f"rafka storage format -t {cluster_id} -c {configs[i].name}")
            subprocess.run([self.rafka, "storage", "format", "-t", cluster_id, "-c", str(configs[i])],
                           capture_output=True, check=True)
        nodes = [Server([self.rafka, "server", "start", str(configs[i])], port, workdir / f"n{i}.log",
                        wait=False, env={"RAFKA_LOG": "info,openraft=error"})
                 for i, (port, _) in ports.items()]
        for node in nodes:
            node.ready_s = node.wait_ready(timeout_s=120, brokers=3)
        return nodes

    def create_topic(self, server: Server, topic: str, partitions: int, replication: int = 1,
                     configs: tuple[str, ...] = ()) -> float:
        start = time.monotonic()
        self.tool(["topics", "--bootstrap-server", server.bootstrap, "--create", "--topic", topic,
                   "--partitions", str(partitions), "--replication-factor", str(replication)]
                  + [arg for config in configs for arg in ("--config", config)])
        return time.monotonic() - start

    def wait_in_sync(self, server: Server, topic: str, replicas: int, timeout_s: float = 60) -> None:
        """Polls `topics --describe` until every partition lists `replicas` in-sync replicas."""
        deadline = time.monotonic() + timeout_s
        while True:
            done = subprocess.run([self.rafka, "topics", "--bootstrap-server", server.bootstrap,
                                   "--describe", "--topic", topic], capture_output=True, text=True)
            isrs = re.findall(r"Isr: ([\d,]+)", done.stdout)
            if isrs and all(len(isr.split(",")) == replicas for isr in isrs):
                return
            if time.monotonic() > deadline:
                sys.exit(f"{topic} not in sync after {timeout_s}s:\n{done.stdout}{done.stderr}")
            time.sleep(0.1)

    def end_offsets(self, server: Server, topic: str) -> int:
        out, _, _ = self.tool(["get-offsets", "--bootstrap-server", server.bootstrap, "--topic", topic])
        return sum(int(line.rsplit(":", 1)[1]) for line in out.split() if line.count(":") >= 2)


# -- phases --------------------------------------------------------------------------

PERF_TOTAL = re.compile(
    r"(\d+)(?: steady state)? records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")


@dataclass
class Run:
    """One measured produce or consume run."""
    workload: str  # "produce" or "consume"
    target: str  # "rafka" or "floor"
    record_bytes: int
    records: int
    seconds: float
    server_cpu_s: float
    client_cpu_s: float
    load: float  # 1-minute load average when the run started

    @property
    def gb(self) -> float:
        return self.records * self.record_bytes / 1e9

    def row(self) -> str:
        return (f"| {self.workload} | {self.target} | {self.record_bytes} B | {self.records:,} "
                f"| {self.seconds:.1f} | {self.records / self.seconds:,.0f} "
                f"| {self.gb * 1e3 / self.seconds:,.1f} | {self.server_cpu_s:.2f} "
                f"| {self.server_cpu_s / self.gb:.3f} | {100 * self.client_cpu_s / self.seconds:.0f}% "
                f"| {self.load:.2f} |")


def load_average() -> float:
    return os.getloadavg()[0]


def settle() -> None:
    """Writes back dirty pages left by earlier phases, so a run does not pay for them."""
    os.sync()
    time.sleep(0.5)


def produce(bench: Bench, server: Server, target: str, topic: str, record_bytes: int, records: int,
            props: list[str] | None = None) -> Run:
    settle()
    load = load_average()
    cpu = server.cpu_meter()
    out, wall, client_cpu = bench.tool([
        "producer-perf-test", "--topic", topic, "--num-records", str(records),
        "--record-size", str(record_bytes), "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={server.bootstrap}", *(props or PRODUCER_PROPS)])
    server_cpu = cpu.seconds()
    m = PERF_TOTAL.search(out)
    if not m or int(m.group(1)) != records:
        sys.exit(f"unexpected producer-perf-test output:\n{out}")
    seconds = records / float(m.group(2))
    result = Run("produce", target, record_bytes, records, seconds, server_cpu, client_cpu, load)
    print(result.row(), flush=True)
    return result


def consume(bench: Bench, server: Server, target: str, topic: str, record_bytes: int,
            records: int) -> Run:
    """Reads `topic` from the beginning in a new group (consumer-perf-test's default)."""
    config = bench.out / "consumer.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in CONSUMER_PROPS.items()))
    settle()
    load = load_average()
    cpu = server.cpu_meter()
    out, wall, client_cpu = bench.tool([
        "consumer-perf-test", "--bootstrap-server", server.bootstrap, "--topic", topic,
        "--messages", str(records), "--consumer.config", str(config), "--timeout", "30000"])
    server_cpu = cpu.seconds()
    last = [line for line in out.splitlines() if line.count(",") >= 9][-1].split(",")
    consumed = int(last[4])
    if consumed != records:
        sys.exit(f"consumed {consumed} of {records}:\n{out}")
    fetch_ms = float(last[7])
    # Client CPU over the whole run (group join included) per fetch second: an upper bound.
    result = Run("consume", target, record_bytes, records, fetch_ms / 1000, server_cpu,
                 client_cpu, load)
    print(result.row(), flush=True)
    return result


@dataclass
class Latency:
    what: str
    setup: str  # "1 node, acks=1" or "3 nodes, RF=3, acks=all"
    unit: str
    records: int
    rate: str
    p50: str
    p99: str
    p999: str
    avg: str
    max: str
    load: float

    def row(self) -> str:
        return (f"| {self.what} | {self.setup} | {self.unit} | {self.records:,} | {self.rate} "
                f"| {self.p50} | {self.p99} | {self.p999} | {self.avg} | {self.max} | {self.load:.2f} |")


def latency_at_rate(bench: Bench, server: Server, target: str, setup: str, topic: str, acks: str,
                    rate: int, seconds: float) -> Latency:
    """producer-perf-test at `rate` records/s: produce -> ack, whole milliseconds."""
    records = int(rate * (seconds + 1))
    settle()
    load = load_average()
    out, _, _ = bench.tool([
        "producer-perf-test", "--topic", topic, "--num-records", str(records),
        "--record-size", "100", "--throughput", str(rate), "--warmup-records", str(rate),
        "--producer-props", f"bootstrap.servers={server.bootstrap}", f"acks={acks}", "linger.ms=0"])
    # The last total line is the steady state one: the first second (connection, metadata)
    # is left out, as Kafka's --warmup-records does.
    matches = list(PERF_TOTAL.finditer(out))
    m = matches[-1] if matches else None
    if not m or "steady state" not in m.group(0):
        sys.exit(f"unexpected producer-perf-test output:\n{out}")
    return Latency(f"{target}: produce -> ack (producer-perf-test, after 1 s warm-up)", setup, "ms",
                   records - rate, f"{float(m.group(2)):,.0f}/s", m.group(6), m.group(8), m.group(9),
                   m.group(4), m.group(5), load)


PACED = re.compile(r"Paced at [\d.]+ records/s: (\d+) records measured after \d+ warm-up records, "
                   r"sent at ([\d.]+) records/s\n"
                   r"End-to-end latency \(us\): avg = ([\d.]+), 50th = ([\d.]+), 99th = ([\d.]+), "
                   r"99.9th = ([\d.]+), max = ([\d.]+)")


# librdkafka pipelines up to 1,000,000 produce requests per connection by default, and at
# linger.ms=0 each paced record leaves as a request of its own. A broker answers one
# request per connection at a time (Kafka too: it mutes the connection until the answer),
# so with acks=all the records queue behind one replication round trip each. One request
# in flight lets the producer batch what arrives meanwhile, as the Java producer's
# max.in.flight.requests.per.connection=5 partly does.
ONE_IN_FLIGHT = "max.in.flight.requests.per.connection=1"


def paced_end_to_end(bench: Bench, server: Server, setup: str, topic: str, acks: str, rate: int,
                     seconds: float, client_props: str = "") -> Latency:
    """`e2e-latency --throughput`: produce -> consumed in the same process, microseconds.
    `client_props` (k=v) go to both clients through the tool's properties file."""
    records = int(rate * (seconds + 1))
    props = bench.out / "e2e.properties"
    props.write_text(client_props + "\n")
    settle()
    load = load_average()
    out, _, _ = bench.tool(["e2e-latency", server.bootstrap, topic, str(records), acks, "100",
                            str(props), "--throughput", str(rate), "--warmup-records", str(rate)])
    m = PACED.search(out)
    if not m:
        sys.exit(f"unexpected e2e-latency output:\n{out}")
    what = "rafka: produce -> consumed (e2e-latency --throughput, after 1 s warm-up)"
    if client_props:
        what += f", `{client_props}`"
    return Latency(what, setup, "us", int(m.group(1)), f"{float(m.group(2)):,.0f}/s",
                   *m.group(4, 5, 6, 3, 7), load)


def end_to_end(bench: Bench, server: Server, records: int) -> Latency:
    """Kafka's e2e-latency: one record at a time, produce -> ack -> fetched, whole ms."""
    start = time.monotonic()
    load = load_average()
    out, _, _ = bench.tool(["e2e-latency", server.bootstrap, "e2e", str(records), "1", "100"])
    seconds = time.monotonic() - start
    avg = re.search(r"Avg latency: ([\d.]+) ms", out)
    pct = re.search(r"Percentiles: 50th = (\d+), 99th = (\d+), 99.9th = (\d+)", out)
    if not avg or not pct:
        sys.exit(f"unexpected e2e-latency output:\n{out}")
    return Latency("rafka: produce -> ack -> fetched (Kafka's e2e-latency, one at a time)",
                   "1 node, acks=1", "ms", records, f"~{records / seconds:,.0f}/s (serial)",
                   pct.group(1), pct.group(2), pct.group(3), f"{float(avg.group(1)):.3f}", "-", load)


@dataclass
class Lifecycle:
    startup_empty_s: float = 0.0
    recovery_mib: int = 0
    recovery_records: int = 0
    recovery_s: float = 0.0
    recovered_records: int = 0
    rss_idle_mib: float = 0.0
    partitions: int = 0
    create_partitions_s: float = 0.0
    rss_partitions_mib: float = 0.0
    restart_partitions_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def lifecycle(bench: Bench) -> Lifecycle:
    life = Lifecycle()
    # Start-up of an empty broker, and its idle RSS once a client has connected.
    b = bench.broker("lifecycle-empty")
    life.startup_empty_s = b.ready_s
    time.sleep(1.0)  # let start-up allocations settle; RSS is a level, not an event
    life.rss_idle_mib = b.rss_mib()
    b.stop()

    # Recovery after kill -9 of a broker holding --recovery-mib of 1 KiB records (0: skip).
    if bench.args.recovery_mib:
        record_bytes = 1024
        records = bench.args.recovery_mib * 1024 * 1024 // record_bytes
        b = bench.broker("lifecycle-recovery")
        bench.create_topic(b, "big", PARTITIONS)
        produce(bench, b, "rafka", "big", record_bytes, records)
        port = b.port
        b.kill()
        b = bench.broker("lifecycle-recovery", port=port)
        life.recovery_mib, life.recovery_records, life.recovery_s = bench.args.recovery_mib, records, b.ready_s
        life.recovered_records = bench.end_offsets(b, "big")
        b.stop()
        shutil.rmtree(bench.out / "lifecycle-recovery" / "data", ignore_errors=True)

    # Many partitions: create them, RSS, then restart (clean) and time it.
    n = bench.args.partitions_rss
    # rafka holds one file open per segment (its .log; the indexes are opened only when
    # written); past the open-files limit CreateTopics fails with EMFILE, so ask only for
    # what fits, with 1000 files to spare for sockets and the metadata.
    fits = (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1000) // 1000 * 1000
    if n > fits:
        life.notes.append(f"asked for {n:,} partitions, used {fits:,}: the open-files limit "
                          f"({resource.getrlimit(resource.RLIMIT_NOFILE)[0]}) allows about one file per partition")
        print(life.notes[-1], flush=True)
        n = fits
    b = bench.broker("lifecycle-partitions")
    life.partitions = n
    # One CreateTopics of 10k partitions outlasts the tool's 30 s request timeout, so the
    # partitions come as topics of at most 1000 each; each creation is timed.
    left, index = n, 0
    while left > 0:
        chunk = min(1000, left)
        load = load_average()
        took = bench.create_topic(b, f"many-{index}", chunk)
        life.create_partitions_s += took
        life.notes.append(f"many-{index}: {chunk} partitions in {took:.1f} s (RSS {b.rss_mib():.1f} MiB, "
                          f"{len(os.listdir(f'/proc/{b.pid}/fd')):,} open files, load {load:.2f})")
        print(life.notes[-1], flush=True)
        left, index = left - chunk, index + 1
    time.sleep(1.0)
    life.rss_partitions_mib = b.rss_mib()
    port = b.port
    b.stop()
    b = bench.broker("lifecycle-partitions", port=port)
    life.restart_partitions_s = b.ready_s
    b.stop()
    shutil.rmtree(bench.out / "lifecycle-partitions" / "data", ignore_errors=True)
    return life


# -- report --------------------------------------------------------------------------

def machine(load: float) -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
            f"{mem_kb / 1024 / 1024:.0f} GiB RAM, Linux {platform.release()}; "
            f"load average {load:.2f} when the run started")


def revision() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "crates"],
                               capture_output=True, text=True).stdout.strip()
        return rev + (" (crates/ modified)" if dirty else "")
    except subprocess.CalledProcessError:
        return "no commit yet"


def ratio_lines(runs: list[Run], workload: str, what: str) -> list[str]:
    """broker/floor CPU per GB for each record size that both served: the ratio of the
    medians, and of the totals (all runs' CPU over all runs' GB)."""
    lines = []
    for size in sorted({r.record_bytes for r in runs if r.workload == workload}):
        mine = {t: [r for r in runs if r.workload == workload and r.record_bytes == size
                    and r.target == t] for t in ("rafka", "floor")}
        if not mine["rafka"] or not mine["floor"]:
            continue
        median = {t: statistics.median(r.server_cpu_s / r.gb for r in rs) for t, rs in mine.items()}
        total = {t: sum(r.server_cpu_s for r in rs) / sum(r.gb for r in rs) for t, rs in mine.items()}
        least_ms = min(r.server_cpu_s for rs in mine.values() for r in rs) * 1e3
        lines.append(
            f"- **broker/floor CPU per GB {what}, {size} B records: {median['rafka'] / median['floor']:.2f}x** "
            f"(median of {len(mine['rafka'])} / {len(mine['floor'])} runs: {median['rafka']:.3f} / "
            f"{median['floor']:.3f} CPU s/GB; all runs together {total['rafka'] / total['floor']:.2f}x; "
            f"the smallest run used {least_ms:.0f} ms of CPU; target <= 1.5x)")
    return lines


def report(bench: Bench, load: float, runs: list[Run], latencies: list[Latency],
           life: Lifecycle | None) -> str:
    a = bench.args
    lines = [
        f"- command: `{a.command}`",
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine(load)}",
        f"- rafka: `{a.rafka}` built from {revision()} (release profile); floor: `{a.floor}`",
        "- load generator: `rafka producer-perf-test` / `consumer-perf-test` / `e2e-latency` "
        "(librdkafka, same machine, loopback); open files limit "
        f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]}; `sync` before every measured run; "
        "server CPU is the sum of its threads' schedstat run time (ns), not 10 ms ticks",
        f"- produce workload: one topic of {PARTITIONS} partitions, no compression, "
        f"`{' '.join(PRODUCER_PROPS)}`, `--throughput -1`; "
        f"{a.produce_mib} MiB of values per record size; consume reads the "
        f"{a.consume_mib} MiB topic of 1 KiB records from the beginning, {a.consume_passes} times per "
        f"server, each time in a new group (the topic written by the first round's 1 KiB produce run) "
        f"(`{' '.join(f'{k}={v}' for k, v in CONSUMER_PROPS.items())}`).",
        "",
        "### Throughput and CPU per GB",
        "",
        "Consume seconds are consumer-perf-test's fetch.time.ms (group join excluded); its client "
        "CPU is over the whole run, so an upper bound. The last column is the 1-minute load "
        "average when the run started.",
        "",
        "| workload | server | record | records | seconds | records/s | MB/s | server CPU s "
        "| server CPU s/GB | client CPU | load |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [r.row() for r in runs]
    lines.append("")
    lines += ratio_lines(runs, "produce", "produced")
    lines += ratio_lines(runs, "consume", "fetched")
    if latencies:
        lines += ["", "### Latency at a fixed rate (100 B records)", "",
                  "producer-perf-test's latencies are produce -> ack in whole milliseconds (Kafka's "
                  "measure); `e2e-latency --throughput` measures produce -> consumed by a consumer in "
                  "the same process, from one monotonic clock, in microseconds.",
                  "",
                  "| what | setup | unit | records | rate | p50 | p99 | p99.9 | avg | max | load |",
                  "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
        lines += [x.row() for x in latencies]
    if life:
        lines += ["", "### Start-up, recovery, memory", "",
                  "| measure | value |", "|---|---:|",
                  f"| start-up, empty data dir, exec -> first Metadata answer | {life.startup_empty_s * 1e3:,.0f} ms |"]
        if life.recovery_mib:
            lines += [
                f"| recovery after kill -9 holding {life.recovery_mib:,} MiB ({life.recovery_records:,} records "
                f"of 1 KiB in {PARTITIONS} partitions), exec -> first Metadata answer | {life.recovery_s * 1e3:,.0f} ms |",
                f"| records found after that recovery (sum of end offsets) | {life.recovered_records:,} |"]
        lines += [
            f"| RSS, idle broker (VmRSS, 1 s after start) | {life.rss_idle_mib:.1f} MiB |",
            f"| create {life.partitions:,} partitions (topics --create, topics of <= 1000) | {life.create_partitions_s:.1f} s |",
            f"| RSS with {life.partitions:,} partitions | {life.rss_partitions_mib:.1f} MiB |",
            f"| restart (clean) with {life.partitions:,} partitions, exec -> first Metadata answer | {life.restart_partitions_s * 1e3:,.0f} ms |"]
    if life and life.notes:
        lines += ["", "Partitions: " + "; ".join(life.notes) + "."]
    lines += ["", "Commands run, in order:", "", "```"] + bench.commands + ["```"]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, name: str, text: str) -> None:
    """Replaces what lies between `<!-- name:begin -->` and `<!-- name:end -->` in `path`
    (appending the section if it is missing), so hand-written notes around it stay."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    old = path.read_text() if path.exists() else ""
    section = f"{begin}\n{text}{end}"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + section + rest.split(end, 1)[1]
    else:
        new = old + ("\n" if old else "") + section + "\n"
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rafka", required=True, type=Path, help="the rafka binary")
    ap.add_argument("--floor", required=True, type=Path, help="the rafka-floor binary (bench/floor)")
    ap.add_argument("--produce-mib", type=int, default=1024, help="MiB of values per produce run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of each broker/floor produce pair")
    ap.add_argument("--consume-mib", type=int, default=1024, help="MiB topic to consume from the beginning")
    ap.add_argument("--consume-passes", type=int, default=5, help="reads of that topic per server")
    ap.add_argument("--latency-rate", type=int, default=10_000, help="records/s of the latency run")
    ap.add_argument("--latency-seconds", type=float, default=15, help="length of the latency run")
    ap.add_argument("--e2e-records", type=int, default=5_000, help="records of the e2e-latency run")
    ap.add_argument("--recovery-mib", type=int, default=10240, help="log size for the kill -9 recovery test (0: skip it)")
    ap.add_argument("--partitions-rss", type=int, default=10_000, help="partitions for the RSS measure (capped by the open-files limit)")
    ap.add_argument("--skip", default="", help="comma-separated phases to skip: produce,consume,latency,cluster,lifecycle")
    ap.add_argument("--results", type=Path,
                    help="markdown file whose <!-- perf:begin -->…<!-- perf:end --> section gets the report")
    ap.add_argument("--command", default="bench/run.sh", help="command line to record in the report")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    # Every partition holds an open file (its segment); 10k partitions need more than
    # the usual soft limit of 1024, as Kafka's docs say of its own brokers. Children inherit it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"open files limit for the servers: {hard} (soft was {soft})", flush=True)
    load = os.getloadavg()[0]
    out = ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-perf")
    out.mkdir(parents=True)
    bench = Bench(args, out)
    runs: list[Run] = []
    latencies: list[Latency] = []
    life = None

    def consume_passes(server: Server, target: str, records: int) -> None:
        stored = bench.end_offsets(server, "bench") if target == "rafka" else records
        if stored != records:
            sys.exit(f"{target} holds {stored} of {records} records")
        for _ in range(args.consume_passes):
            runs.append(consume(bench, server, target, "bench", 1024, records))

    if "produce" not in skip or "consume" not in skip:
        sizes = [100, 1024] if "produce" not in skip else [1024]
        for size in sizes:
            mib = args.consume_mib if size == 1024 and "consume" not in skip else args.produce_mib
            records = mib * 1024 * 1024 // size
            repeats = args.repeat if "produce" not in skip else 1
            for round_ in range(repeats):
                consume_here = size == 1024 and round_ == 0 and "consume" not in skip
                # Alternate which server goes first, so that neither always inherits the
                # other's page-cache writeback.
                order = ["rafka", "floor"] if round_ % 2 == 0 else ["floor", "rafka"]
                for target in order:
                    name = f"produce-{size}-{round_}" if target == "rafka" else f"floor-{size}-{round_}"
                    server = bench.broker(name) if target == "rafka" else bench.floor_server(name)
                    if target == "rafka":
                        bench.create_topic(server, "bench", PARTITIONS)
                    run = produce(bench, server, target, "bench", size, records)
                    if "produce" not in skip:
                        runs.append(run)
                    if consume_here:
                        consume_passes(server, target, records)
                    server.stop()
                    shutil.rmtree(out / name / "data", ignore_errors=True)

    rate, seconds = args.latency_rate, args.latency_seconds
    if "latency" not in skip:
        one = "1 node, acks=1"
        b = bench.broker("latency")
        bench.create_topic(b, "latency", 1)
        latencies.append(latency_at_rate(bench, b, "rafka", one, "latency", "1", rate, seconds))
        bench.create_topic(b, "e2e-paced", 1)
        latencies.append(paced_end_to_end(bench, b, one, "e2e-paced", "1", rate, seconds))
        latencies.append(paced_end_to_end(bench, b, one, "e2e-paced", "1", rate, seconds,
                                          ONE_IN_FLIGHT))
        bench.create_topic(b, "e2e", 1)
        latencies.append(end_to_end(bench, b, args.e2e_records))
        b.stop()
        shutil.rmtree(out / "latency" / "data", ignore_errors=True)
        # The same paced run against the floor: what the client and loopback cost alone.
        f = bench.floor_server("floor-latency", partitions=1)
        latencies.insert(1, latency_at_rate(bench, f, "floor", one, "latency", "1", rate, seconds))
        f.stop()
        shutil.rmtree(out / "floor-latency" / "data", ignore_errors=True)
        for x in latencies:
            print(x.row(), flush=True)

    if "cluster" not in skip:
        three = "3 nodes, RF=3, min.insync.replicas=2, acks=all"
        nodes = bench.cluster("cluster")
        first = nodes[0]
        for topic in ("latency-rf3", "e2e-rf3"):
            bench.create_topic(first, topic, 1, 3, ("min.insync.replicas=2",))
            bench.wait_in_sync(first, topic, 3)
        latencies.append(latency_at_rate(bench, first, "rafka", three, "latency-rf3", "all", rate, seconds))
        latencies.append(paced_end_to_end(bench, first, three, "e2e-rf3", "all", rate, seconds))
        latencies.append(paced_end_to_end(bench, first, three, "e2e-rf3", "all", rate, seconds,
                                          ONE_IN_FLIGHT))
        for node in nodes:
            node.proc.send_signal(signal.SIGTERM)
        for node in nodes:
            node.stop()
        shutil.rmtree(out / "cluster", ignore_errors=True)
        for x in latencies[-3:]:
            print(x.row(), flush=True)

    if "lifecycle" not in skip:
        life = lifecycle(bench)
        print(life, flush=True)

    text = report(bench, load, runs, latencies, life)
    print(text)
    if args.results:
        replace_section(args.results, "perf", text)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
