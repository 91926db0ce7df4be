#!/usr/bin/env python3
"""Issue 18's TLS cost: produce and consume throughput and broker CPU per GB over
SASL_SSL (PLAIN, TLS 1.3) against PLAINTEXT on the same broker, with confluent-kafka
(librdkafka with OpenSSL) as the client for both. One broker with both listeners,
4 partitions, acks=1, 1 KiB records. The client is Python's librdkafka binding, so the
figures compare the two listeners under one client; they are not the broker's ceiling.
Certificates are made with `openssl` in the output directory. Run through
bench/run-tls.sh; the table is printed for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="admin" password="admin-secret" user_admin="admin-secret";')
PARTITIONS = 4


def openssl(out: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=out, check=True, capture_output=True)


def certificates(out: Path) -> tuple[Path, Path]:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"]
    openssl(out, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=ca")
    openssl(out, "req", "-x509", *ec, "-keyout", "b.key", "-out", "b.crt", "-subj", "/CN=b",
            "-CA", "ca.pem", "-CAkey", "ca.key", "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "subjectAltName=IP:127.0.0.1")
    keystore = out / "broker.pem"
    keystore.write_text((out / "b.key").read_text() + (out / "b.crt").read_text())
    return keystore, out / "ca.pem"


def produce(bootstrap: str, client: dict, topic: str, size: int, records: int) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5,
                         "batch.size": 1000000, "compression.type": "none",
                         "queue.buffering.max.kbytes": 1048576, **client})
    value = os.urandom(size)
    start = time.monotonic()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, value=value, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.01)
    assert producer.flush(300) == 0
    return time.monotonic() - start


def consume(bootstrap: str, client: dict, topic: str, records: int) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{time.time()}",
                         "enable.auto.commit": False, "fetch.max.bytes": 52428800, **client})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    start = time.monotonic()
    got = 0
    while got < records:
        batch = consumer.consume(10000, 1.0)
        got += sum(1 for m in batch if not m.error())
    elapsed = time.monotonic() - start
    consumer.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rafka", required=True, type=Path)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--command", default="bench/run-tls.sh")
    args = ap.parse_args()
    out = perf.ROOT / "bench" / "out" / dt.datetime.now().strftime("%Y%m%d-%H%M%S-tls")
    out.mkdir(parents=True)
    keystore, ca = certificates(out)
    plain_port, tls_port = perf.free_port(), perf.free_port()
    (out / "data").mkdir()
    config = out / "server.properties"
    config.write_text(
        "node.id=1\n"
        f"listeners=PLAINTEXT://127.0.0.1:{plain_port},SASL_SSL://127.0.0.1:{tls_port}\n"
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{plain_port},SASL_SSL://127.0.0.1:{tls_port}\n"
        f"log.dirs={out / 'data'}\nnum.partitions=1\nauto.create.topics.enable=false\n"
        "sasl.enabled.mechanisms=PLAIN\n"
        f"listener.name.sasl_ssl.plain.sasl.jaas.config={JAAS}\n"
        f"ssl.keystore.type=PEM\nssl.keystore.location={keystore}\n")
    server = perf.Server([str(args.rafka), "server", "start", str(config)], plain_port,
                         out / "broker.log")
    modes = {
        "PLAINTEXT": (f"127.0.0.1:{plain_port}", {}),
        "SASL_SSL": (f"127.0.0.1:{tls_port}", {
            "security.protocol": "SASL_SSL", "ssl.ca.location": str(ca),
            "sasl.mechanism": "PLAIN", "sasl.username": "admin",
            "sasl.password": "admin-secret"}),
    }
    size = 1024
    records = args.mib * 1024 * 1024 // size
    gb = records * size / 1e9
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{plain_port}"})
    try:
        for round_ in range(args.repeat):
            order = list(modes) if round_ % 2 == 0 else list(reversed(modes))
            for mode in order:
                bootstrap, client = modes[mode]
                topic = f"bench-{mode.lower()}-{round_}"
                admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(60)
                for what in ("produce", "consume"):
                    meter = server.cpu_meter()
                    if what == "produce":
                        seconds = produce(bootstrap, client, topic, size, records)
                    else:
                        seconds = consume(bootstrap, client, topic, records)
                    results.setdefault((mode, what), []).append((seconds, meter.seconds()))
    finally:
        server.stop()
    rows = [f"Command: `{args.command} --mib {args.mib} --repeat {args.repeat}` "
            f"({dt.date.today()}, {perf.platform.node()}; confluent-kafka clients, 1 KiB records, "
            f"{PARTITIONS} partitions, acks=1; medians of {args.repeat})", "",
            "| listener | workload | MB/s | broker CPU s per GB |", "|---|---|---|---|"]
    for (mode, what), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        mbs = statistics.median(records * size / 1e6 / s for s, _ in runs)
        cpu = statistics.median(c / gb for _, c in runs)
        rows.append(f"| {mode} | {what} | {mbs:,.1f} | {cpu:.2f} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
