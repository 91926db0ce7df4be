"""Confluent's JDBC connectors on rafka's Connect worker: rows/s and worker CPU per 1M rows,
beside the floor PostgreSQL sets alone (COPY out of / into the same table).

- source: `JdbcSourceConnector` (mode incrementing, default `batch.max.rows`) copies a table
  of N rows with a 1 KiB text column into a topic (JsonConverter with schemas), timed from
  the worker's start until the topic holds N records;
- sink: `JdbcSinkConnector` (default `batch.size`, insert mode, auto.create) writes that
  topic into a new table, timed from the worker's start until the table holds N rows;
- floor: `COPY (SELECT …) TO STDOUT` of the same table and `COPY … FROM STDIN` of those
  bytes into an empty table of the same shape, through psycopg.

Worker CPU is utime+stime of the worker process from /proc/<pid>/stat (whole process life,
start-up included). One broker (the release `rafka`), one PostgreSQL (pg_helpers.py, fsync
off), all on this machine over loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compat"))

from pg_helpers import DATABASE, USER, Postgres  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def wait(check, timeout_s: float, what: str, interval_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval_s)


def start_broker(rafka: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = workdir / "server.properties"
    config.write_text(f"node.id=1\nlisteners=PLAINTEXT://127.0.0.1:{port}\n"
                      f"log.dirs={workdir / 'broker-data'}\n")
    proc = subprocess.Popen([rafka, "server", "start", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(workdir / "broker.log", "ab"))
    import socket

    def up():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    wait(up, 30, "the broker")
    return proc, f"127.0.0.1:{port}"


def run_worker(rafka: str, workdir: Path, bootstrap: str, name: str, connector: dict,
               done, timeout_s: float) -> tuple[float, float]:
    """Runs a worker with one connector until `done()`; returns (seconds, CPU seconds)."""
    worker_props = workdir / f"{name}-worker.properties"
    worker_props.write_text(
        f"bootstrap.servers={bootstrap}\n"
        "key.converter=org.apache.kafka.connect.json.JsonConverter\n"
        "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
        f"offset.storage.file.filename={workdir / (name + '.offsets')}\n"
        f"listeners=http://127.0.0.1:{free_port()}\n")
    connector_file = workdir / f"{name}.json"
    connector_file.write_text(json.dumps({"name": name, "config": connector}))
    started = time.monotonic()
    proc = subprocess.Popen([rafka, "connect-standalone", str(worker_props), str(connector_file)],
                            stdout=subprocess.DEVNULL, stderr=open(workdir / f"{name}.log", "ab"))
    try:
        wait(lambda: proc.poll() is not None or done(), timeout_s, name, interval_s=0.1)
        assert proc.poll() is None, f"worker exited: {(workdir / (name + '.log')).read_text()[-3000:]}"
        seconds = time.monotonic() - started
        cpu = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rafka", required=True)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--command", default="bench/run-connect-jdbc.sh")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    from confluent_kafka import Consumer, TopicPartition

    rows = args.rows
    load = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="rafka-jdbc-bench-"))
    broker, bootstrap = start_broker(args.rafka, workdir)
    try:
        with Postgres.started() as pg:
            url = f"jdbc:postgresql://127.0.0.1:{pg.port}/{DATABASE}"
            pg.execute("create table bench(id bigserial primary key, payload text not null)")
            # 1 KiB of hex per row, different in every row.
            pg.execute("insert into bench(payload) select repeat(md5(g::text), 32) "
                       "from generate_series(1, %s) g", (rows,))
            pg.execute("vacuum analyze bench")

            with pg.connect() as conn:
                started = time.monotonic()
                data = bytearray()
                with conn.cursor().copy("copy bench to stdout") as copy:
                    for chunk in copy:
                        data += chunk
                copy_out_s = time.monotonic() - started
                conn.execute("create table bench_copy(id bigint primary key, payload text not null)")
                started = time.monotonic()
                with conn.cursor().copy("copy bench_copy from stdin") as copy:
                    copy.write(bytes(data))
                copy_in_s = time.monotonic() - started

            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watch"})

            def topic_full():
                try:
                    _, high = consumer.get_watermark_offsets(TopicPartition("bench_bench", 0),
                                                             timeout=2)
                except Exception:  # noqa: BLE001 - the topic does not exist yet
                    return False
                return high >= rows
            source_s, source_cpu = run_worker(args.rafka, workdir, bootstrap, "jdbc-source", {
                "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
                "connection.url": url, "connection.user": USER, "mode": "incrementing",
                "incrementing.column.name": "id", "table.whitelist": "bench",
                "topic.prefix": "bench_"}, topic_full, 600)
            consumer.close()
            _, high = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-count"}) \
                .get_watermark_offsets(TopicPartition("bench_bench", 0), timeout=5)
            assert high == rows, f"{high} records in the topic, {rows} rows"

            def table_full():
                try:
                    return pg.execute("select count(*) from bench_sink")[0][0] >= rows
                except Exception:  # noqa: BLE001 - not created yet
                    return False
            sink_s, sink_cpu = run_worker(args.rafka, workdir, bootstrap, "jdbc-sink", {
                "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
                "connection.url": url, "connection.user": USER, "topics": "bench_bench",
                "table.name.format": "bench_sink", "auto.create": "true"}, table_full, 600)
            [(same,)] = pg.execute("select count(*) from bench b join bench_sink s "
                                   "on s.id = b.id and s.payload = b.payload")
            assert same == rows, f"{same} of {rows} rows copied intact"
            pg_version = pg.execute("show server_version")[0][0]
    finally:
        broker.terminate()
        broker.wait(timeout=60)

    per_million = 1_000_000 / rows
    table = [
        ("source: table → topic (JdbcSourceConnector)", source_s, source_cpu),
        ("floor: `COPY bench TO STDOUT`", copy_out_s, None),
        ("sink: topic → table (JdbcSinkConnector)", sink_s, sink_cpu),
        ("floor: `COPY bench_copy FROM STDIN`", copy_in_s, None),
    ]
    lines = [
        f"- command: `{args.command} --rows {rows}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {os.cpu_count()} CPUs, load average {load:.2f} when the run started "
        "(shared with other builds and tests)",
        f"- rafka: `{args.rafka}`; PostgreSQL {pg_version} (fsync off), loopback",
        f"- rows: {rows:,} of `id bigserial, payload text` with 1 KiB of hex per row; "
        "JsonConverter with schemas; connectors at their default batch sizes "
        "(source `batch.max.rows=100`, the worker's sink batches of up to 500, "
        "sink `batch.size=3000`); seconds from the worker's start (connector start included)",
        "",
        "| what | seconds | rows/s | worker CPU s | worker CPU s per 1M rows |",
        "|---|---:|---:|---:|---:|",
    ]
    for what, seconds, cpu in table:
        cpu_text = "-" if cpu is None else f"{cpu:.2f}"
        per_m = "-" if cpu is None else f"{cpu * per_million:.1f}"
        lines.append(f"| {what} | {seconds:.2f} | {rows / seconds:,.0f} | {cpu_text} | {per_m} |")
    section = "\n".join(lines)
    print(section)
    results = Path(args.results)
    text = results.read_text()
    begin, end = "<!-- connect-jdbc:begin -->", "<!-- connect-jdbc:end -->"
    block = f"{begin}\n{section}\n{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + (
            "\n\n## Kafka Connect: Confluent's JDBC connectors against PostgreSQL\n\n"
            "`bench/run-connect-jdbc.sh` rewrites the section between the `connect-jdbc` "
            "markers.\n\n" + block + "\n")
    results.write_text(text)


if __name__ == "__main__":
    main()
