#!/usr/bin/env python3
"""The gRPC service's produce throughput and CPU, next to a native librdkafka producer.

Run through bench/run-grpc.sh (which builds `rafka` first). One broker; per repeat:
  - native: `rafka producer-perf-test` (librdkafka, C) writes --produce-mib of
    --record-bytes records; its own CPU is the producer side's cost;
  - grpc: a Python grpcio client streams the same bytes through `ProduceStream` of a
    `rafka grpc` service (requests of --per-request records, one ack per record back);
    the service's CPU (gRPC decoding plus its librdkafka producer) is the producer side's
    cost, the Python client's CPU is shown apart.
Both producers use the same librdkafka settings (perf.py's PRODUCER_PROPS). The report
goes to bench/RESULTS.md between the `grpc` markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402  (the harness's processes, CPU meters and report helpers)

ROOT = perf.ROOT
PROTO_ROOT = ROOT / "crates" / "rest-proxy" / "proto"


@dataclass
class Row:
    producer: str
    record_bytes: int
    records: int
    seconds: float
    producer_cpu_s: float  # the service's, or producer-perf-test's
    broker_cpu_s: float
    client_cpu_s: float | None  # the Python gRPC client's
    load: float

    @property
    def gb(self) -> float:
        return self.records * self.record_bytes / 1e9

    def line(self) -> str:
        client = f"{self.client_cpu_s:.2f}" if self.client_cpu_s is not None else "-"
        return (f"| {self.producer} | {self.record_bytes} B | {self.records:,} | {self.seconds:.1f} "
                f"| {self.records / self.seconds:,.0f} | {self.gb * 1e3 / self.seconds:,.1f} "
                f"| {self.producer_cpu_s:.2f} | {self.producer_cpu_s / self.gb:.3f} "
                f"| {self.broker_cpu_s / self.gb:.3f} | {client} | {self.load:.2f} |")


def generate_client(out: Path):
    from grpc_tools import protoc

    include = Path(protoc.__file__).parent / "_proto"
    status = protoc.main(["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{include}",
                          f"--python_out={out}", f"--grpc_python_out={out}", "rafka/v1/rafka.proto"])
    if status != 0:
        sys.exit("protoc failed on rafka.proto")
    sys.path.insert(0, str(out))
    return (importlib.import_module("rafka.v1.rafka_pb2"),
            importlib.import_module("rafka.v1.rafka_pb2_grpc"))


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_service(bench: perf.Bench, broker: perf.Server, workdir: Path, pb) -> perf.Server:
    import grpc

    port = perf.free_port()
    config = workdir / "grpc.properties"
    config.write_text(f"bootstrap.servers={broker.bootstrap}\ngrpc.listener=127.0.0.1:{port}\n"
                      + "".join(f"producer.{prop}\n" for prop in perf.PRODUCER_PROPS))
    bench.commands.append(f"rafka grpc {config.name}")
    service = perf.Server([bench.rafka, "grpc", str(config)], port, workdir / "grpc.log", wait=False)
    pb2, pb2_grpc = pb
    deadline = time.monotonic() + 60
    while True:
        if service.proc.poll() is not None:
            sys.exit(f"rafka grpc exited; see {service.log_path}")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                pb2_grpc.AdminStub(channel).ListTopics(pb2.ListTopicsRequest(), timeout=2)
            return service
        except grpc.RpcError:
            if time.monotonic() > deadline:
                sys.exit(f"rafka grpc not ready after 60 s; see {service.log_path}")
            time.sleep(0.05)


def produce_grpc(service: perf.Server, broker: perf.Server, pb, topic: str, record_bytes: int,
                 records: int, per_request: int) -> Row:
    import grpc

    pb2, pb2_grpc = pb
    value = bytes(range(256)) * (record_bytes // 256) + b"x" * (record_bytes % 256)
    request = pb2.ProduceRequest(topic=topic, records=[pb2.Record(value=value)] * per_request)
    last = pb2.ProduceRequest(topic=topic,
                              records=[pb2.Record(value=value)] * (records % per_request))

    def requests():
        for _ in range(records // per_request):
            yield request
        if last.records:
            yield last

    perf.settle()
    load = perf.load_average()
    options = [("grpc.max_receive_message_length", 256 << 20)]
    with grpc.insecure_channel(f"127.0.0.1:{service.port}", options=options) as channel:
        stub = pb2_grpc.RafkaStub(channel)
        service_cpu, broker_cpu = service.cpu_meter(), broker.cpu_meter()
        client_cpu, start = self_cpu_seconds(), time.monotonic()
        response = stub.ProduceStream(requests(), timeout=1800)
        seconds = time.monotonic() - start
        row = Row("grpc ProduceStream (rafka grpc)", record_bytes, records, seconds,
                  service_cpu.seconds(), broker_cpu.seconds(), self_cpu_seconds() - client_cpu, load)
    if len(response.acks) != records or response.failed:
        sys.exit(f"{len(response.acks)} acks, {response.failed} failed, for {records} records")
    print(row.line(), flush=True)
    return row


def produce_native(bench: perf.Bench, broker: perf.Server, topic: str, record_bytes: int,
                   records: int) -> Row:
    perf.settle()
    load = perf.load_average()
    broker_cpu = broker.cpu_meter()
    out, wall, client_cpu = bench.tool([
        "producer-perf-test", "--topic", topic, "--num-records", str(records),
        "--record-size", str(record_bytes), "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={broker.bootstrap}", *perf.PRODUCER_PROPS])
    m = perf.PERF_TOTAL.search(out)
    if not m or int(m.group(1)) != records:
        sys.exit(f"unexpected producer-perf-test output:\n{out}")
    row = Row("native librdkafka (producer-perf-test)", record_bytes, records,
              records / float(m.group(2)), client_cpu, broker_cpu.seconds(), None, load)
    print(row.line(), flush=True)
    return row


def report(args, bench: perf.Bench, rows: list[Row], load: float) -> str:
    def median(producer: str, what) -> float:
        return statistics.median(what(r) for r in rows if r.producer.startswith(producer))

    grpc_cpu = median("grpc", lambda r: r.producer_cpu_s / r.gb)
    native_cpu = median("native", lambda r: r.producer_cpu_s / r.gb)
    grpc_rate = median("grpc", lambda r: r.records / r.seconds)
    native_rate = median("native", lambda r: r.records / r.seconds)
    lines = [
        f"- command: `{' '.join(['bench/run-grpc.sh', *args.passthrough])}`",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {perf.machine(load)}",
        f"- rafka: `{bench.rafka}` built from {perf.revision()} (release profile)",
        f"- workload: one topic of {perf.PARTITIONS} partitions per producer, {args.produce_mib} MiB "
        f"of {args.record_bytes} B values per run, producer settings `{' '.join(perf.PRODUCER_PROPS)}` "
        f"for both; gRPC requests of {args.per_request} records from one Python grpcio client "
        "(same machine, loopback); producer-side CPU is the sum of the process's threads' "
        "schedstat run time (the service's, or producer-perf-test's)",
        "",
        "| producer | record | records | seconds | records/s | MB/s | producer-side CPU s "
        "| producer-side CPU s/GB | broker CPU s/GB | Python client CPU s | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[r.line() for r in rows],
        "",
        f"- **gRPC service / native librdkafka producer, CPU per GB: "
        f"{grpc_cpu / native_cpu:.2f}x** (medians {grpc_cpu:.3f} / {native_cpu:.3f} CPU s/GB)",
        f"- **records/s: gRPC {grpc_rate:,.0f}, native {native_rate:,.0f}** (medians)",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rafka", type=Path, required=True)
    parser.add_argument("--produce-mib", type=int, default=256)
    parser.add_argument("--record-bytes", type=int, default=1024)
    parser.add_argument("--per-request", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, leave RESULTS.md alone")
    args = parser.parse_args()
    # What the caller of run-grpc.sh passed (the script puts --rafka first).
    args.passthrough = sys.argv[3:] if sys.argv[1:2] == ["--rafka"] else sys.argv[1:]
    args.floor = None
    out = ROOT / "bench" / "out" / f"grpc-{dt.datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True)
    bench = perf.Bench(args, out)
    load = perf.load_average()
    records = args.produce_mib * 1024 * 1024 // args.record_bytes
    pb = generate_client(Path(tempfile.mkdtemp(prefix="rafka-grpc-bench-")))
    broker = bench.broker("broker")
    service = start_service(bench, broker, out, pb)
    rows = []
    try:
        for i in range(args.repeat):
            for kind in ("native", "grpc"):
                topic = f"{kind}-{i}"
                bench.create_topic(broker, topic, perf.PARTITIONS)
                if kind == "native":
                    rows.append(produce_native(bench, broker, topic, args.record_bytes, records))
                else:
                    rows.append(produce_grpc(service, broker, pb, topic, args.record_bytes,
                                             records, args.per_request))
    finally:
        service.stop()
        broker.stop()
    text = report(args, bench, rows, load)
    print(text)
    if not args.no_write:
        perf.replace_section(ROOT / "bench" / "RESULTS.md", "grpc", text)


if __name__ == "__main__":
    main()
