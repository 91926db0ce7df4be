"""The JDBC walkthrough of the seed, scripted against Kafka's shell scripts: a distributed
Connect worker (`bin/connect-distributed.sh`, whose internal topics `connect-configs`,
`connect-offsets` and `connect-status` `bin/kafka-topics.sh --list` shows), a throwaway
PostgreSQL (pg_helpers.py), Confluent's
JDBC source copying a `users` table into `my_topic_users` (read back with
`bin/kafka-console-consumer.sh --from-beginning`), then Confluent's JDBC sink writing that
topic into a `my_topic_users` table (read back with psql), and a JSON-with-schema record typed
into `bin/kafka-console-producer.sh` landing in that table.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from compat_helpers import wait_until
from conftest import rafka_bin
from connect_helpers import ConnectWorker, request
from pg_helpers import DATABASE, USER, Postgres

ROOT = Path(__file__).resolve().parents[2]

USERS_SCHEMA = {"type": "struct", "fields": [
    {"type": "int64", "optional": False, "field": "id"},
    {"type": "string", "optional": True, "field": "user_id"},
    {"type": "string", "optional": True, "field": "pwd"},
    {"type": "string", "optional": True, "field": "name"},
    {"type": "int32", "optional": True, "name": "org.apache.kafka.connect.data.Date",
     "version": 1, "field": "created_at"},
], "optional": False, "name": "users"}


# config/connect-distributed.properties' cluster keys, as the seed runs it.
DISTRIBUTED = {
    "group.id": "connect-cluster",
    "config.storage.topic": "connect-configs",
    "offset.storage.topic": "connect-offsets",
    "status.storage.topic": "connect-status",
    "config.storage.replication.factor": "1",
    "offset.storage.replication.factor": "1",
    "status.storage.replication.factor": "1",
}


def start_worker(workdir: Path, bootstrap: str) -> ConnectWorker:
    """A distributed Connect worker with JsonConverter (schemas on) and its REST API on a
    free port."""
    worker = ConnectWorker(workdir, bootstrap, command=[str(ROOT / "bin/connect-distributed.sh")],
                           distributed=DISTRIBUTED)
    worker.start()
    return worker


def script(name: str, *args: str, stdin: str | None = None, timeout_s: float = 60) -> str:
    done = subprocess.run([str(ROOT / "bin" / name), *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout_s)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def psql(pg: Postgres, sql: str) -> list[str]:
    out = subprocess.run([str(pg.bin / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", USER,
                          "-d", DATABASE, "-At", "-c", sql], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def wait_running(worker: ConnectWorker, name: str) -> None:
    def running():
        code, status = request(worker, "GET", f"/connectors/{name}/status")
        if code == 404:
            return False  # not published yet by the worker that runs it
        assert code == 200, status
        states = [status["connector"]["state"]] + [t["state"] for t in status["tasks"]]
        assert "FAILED" not in states, status
        return states == ["RUNNING", "RUNNING"]
    wait_until(running, timeout_s=60, what=f"{name} to run")


def test_jdbc_source_and_sink_walkthrough(broker, tmp_path, monkeypatch):
    monkeypatch.setenv("RAFKA_BIN", str(rafka_bin()))
    with Postgres.started() as pg:
        pg.execute("create table users(id bigserial primary key, user_id varchar, pwd varchar, "
                   "name varchar, created_at date default current_date)")
        worker = start_worker(tmp_path, broker.bootstrap)
        try:
            code, created = request(worker, "POST", "/connectors", {"name": "jdbc-source", "config": {
                "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
                "connection.url": f"jdbc:postgresql://localhost:{pg.port}/{DATABASE}",
                "connection.user": USER,
                "mode": "incrementing",
                "incrementing.column.name": "id",
                "topic.prefix": "my_topic_",
                "table.whitelist": "users",
                "poll.interval.ms": "500",
                "tasks.max": "1"}})
            assert code == 201, created
            # A distributed worker answers before the connector made its tasks (Kafka's too).
            assert created["type"] == "source" and created["tasks"] == []
            wait_running(worker, "jdbc-source")
            assert request(worker, "GET", "/connectors/jdbc-source/tasks")[1][0]["id"] == \
                {"connector": "jdbc-source", "task": 0}
            listed = script("kafka-topics.sh", "--bootstrap-server", broker.bootstrap, "--list")
            for internal in ("connect-configs", "connect-offsets", "connect-status"):
                assert internal in listed.splitlines(), listed
            pg.execute("insert into users(user_id, pwd, name) values ('user5', 'pwd5', 'User Five')")
            [(days, created_at)] = pg.execute(
                "select created_at - date '1970-01-01', created_at::text from users")

            out = script("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap,
                         "--topic", "my_topic_users", "--from-beginning", "--max-messages", "1",
                         "--timeout-ms", "60000")
            expected = {"schema": USERS_SCHEMA, "payload": {
                "id": 1, "user_id": "user5", "pwd": "pwd5", "name": "User Five",
                "created_at": days}}
            assert out.splitlines() == [json.dumps(expected, separators=(",", ":"))]

            code, created = request(worker, "POST", "/connectors", {"name": "jdbc-sink", "config": {
                "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
                "connection.url": f"jdbc:postgresql://localhost:{pg.port}/{DATABASE}",
                "connection.user": USER,
                "topics": "my_topic_users",
                "auto.create": "true",
                "auto.evolve": "true",
                "insert.mode": "upsert",
                "pk.mode": "record_value",
                "pk.fields": "id",
                "tasks.max": "1"}})
            assert code == 201, created
            wait_running(worker, "jdbc-sink")

            def copied(rows):
                def check():
                    try:
                        return psql(pg, "select * from my_topic_users order by id") == rows
                    except AssertionError:
                        return False  # the sink has not created the table yet
                return check
            wait_until(copied([f"1|user5|pwd5|User Five|{created_at}"]), timeout_s=60,
                       what="user5 in my_topic_users")

            typed = {"schema": USERS_SCHEMA, "payload": {
                "id": 100, "user_id": "typed", "pwd": "p", "name": "Typed In",
                "created_at": 19849}}
            script("kafka-console-producer.sh", "--bootstrap-server", broker.bootstrap,
                   "--topic", "my_topic_users", stdin=json.dumps(typed) + "\n")
            wait_until(copied([f"1|user5|pwd5|User Five|{created_at}",
                               "100|typed|p|Typed In|2024-05-06"]), timeout_s=60,
                       what="the typed record in my_topic_users")
            # Only there: the source table is untouched, and the sink stays healthy.
            assert pg.execute("select id, user_id from users") == [(1, "user5")]
            wait_running(worker, "jdbc-sink")
        finally:
            assert worker.stop() == 0, worker.log_tail()


def test_two_workers_killed_and_restarted_lose_nothing_and_upsert_once(broker, tmp_path):
    """Two distributed workers run a JDBC source and a JDBC sink (upsert); the worker
    running the source task is killed with SIGKILL while rows keep coming, its work moves
    to the other worker, then it comes back. Every source row reaches the topic (at least
    once) and the sink table holds each row exactly once, equal to the source table."""
    keys = {**DISTRIBUTED, "group.id": "connect-kill",
            "config.storage.topic": "kill-configs", "offset.storage.topic": "kill-offsets",
            "status.storage.topic": "kill-status", "scheduled.rebalance.max.delay.ms": "2000",
            "offset.flush.interval.ms": "300"}

    def worker(i: int) -> ConnectWorker:
        w = ConnectWorker(tmp_path / f"w{i}", broker.bootstrap, distributed=keys)
        w.start()
        return w

    with Postgres.started() as pg:
        pg.execute("create table events(id bigserial primary key, payload varchar not null)")

        def insert(n: int, tag: str) -> None:
            pg.execute("insert into events(payload) select %s || g from generate_series(1, %s) g",
                       (tag, n))

        insert(300, "before-")
        workers = [worker(0), worker(1)]
        try:
            url = f"jdbc:postgresql://localhost:{pg.port}/{DATABASE}"
            assert request(workers[0], "POST", "/connectors", {"name": "src", "config": {
                "connector.class": "JdbcSourceConnector", "connection.url": url,
                "connection.user": USER, "mode": "incrementing",
                "incrementing.column.name": "id", "topic.prefix": "kill_",
                "table.whitelist": "events", "poll.interval.ms": "200",
                "batch.max.rows": "50"}})[0] == 201
            # The second request goes to the other worker: a follower forwards it.
            assert request(workers[1], "POST", "/connectors", {"name": "sink", "config": {
                "connector.class": "JdbcSinkConnector", "connection.url": url,
                "connection.user": USER, "topics": "kill_events", "auto.create": "true",
                "insert.mode": "upsert", "pk.mode": "record_value", "pk.fields": "id",
                "table.name.format": "events_copy"}})[0] == 201

            def copied_at_least(n: int):
                def check():
                    try:
                        return pg.execute("select count(*) from events_copy")[0][0] >= n
                    except Exception:
                        return False  # not created yet
                return check
            wait_until(copied_at_least(300), timeout_s=90, what="the first rows copied")

            def owner_of_source_task() -> int:
                code, status = request(workers[0], "GET", "/connectors/src/status")
                assert code == 200, status
                # The status records carry the plugin's version (KIP-891), not Kafka's.
                assert status["connector"]["version"].endswith("-rafka"), status
                assert status["tasks"][0]["version"].endswith("-rafka"), status
                worker_id = status["tasks"][0]["worker_id"]
                return next(i for i, w in enumerate(workers) if worker_id == f"127.0.0.1:{w.port}")
            victim = owner_of_source_task()
            insert(200, "during-")
            workers[victim].kill()
            insert(200, "after-kill-")
            survivor = workers[1 - victim]

            def moved():
                code, status = request(survivor, "GET", "/connectors/src/status")
                return code == 200 and [(t["state"], t["worker_id"]) for t in status["tasks"]] \
                    == [("RUNNING", f"127.0.0.1:{survivor.port}")]
            wait_until(moved, timeout_s=90, what="the source task moved to the survivor")
            workers[victim] = worker(victim + 2)
            insert(100, "after-restart-")

            wait_until(copied_at_least(800), timeout_s=120, what="every row copied")
            source = pg.execute("select id, payload from events order by id")
            wait_until(lambda: pg.execute("select id, payload from events_copy order by id")
                       == source, timeout_s=60, what="the sink table equal to the source table")
            assert len(source) == 800
            records = consume_all(broker.bootstrap, "kill_events", 800)
            assert {r["payload"]["id"] for r in records} == {row[0] for row in source}
        finally:
            for w in workers:
                if w.proc is not None and w.proc.poll() is None:
                    w.stop()


def consume_all(bootstrap: str, topic: str, at_least: int) -> list[dict]:
    """Every record of `topic` (JSON with schema), once there are `at_least` of them."""
    out = script("kafka-console-consumer.sh", "--bootstrap-server", bootstrap, "--topic", topic,
                 "--from-beginning", "--timeout-ms", "10000", timeout_s=120)
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(records) >= at_least, len(records)
    return records


def test_distributed_source_picks_up_a_table_created_later(broker, tmp_path):
    """The JDBC source's table monitor asks a distributed worker for new task configs;
    the worker hands them to the leader, whose commit starts a task for the new table."""
    keys = {**DISTRIBUTED, "group.id": "connect-monitor",
            "config.storage.topic": "monitor-configs", "offset.storage.topic": "monitor-offsets",
            "status.storage.topic": "monitor-status"}
    with Postgres.started() as pg:
        pg.execute("create table first(id bigserial primary key, v varchar)")
        worker = ConnectWorker(tmp_path, broker.bootstrap, distributed=keys)
        worker.start()
        try:
            assert request(worker, "POST", "/connectors", {"name": "mon", "config": {
                "connector.class": "JdbcSourceConnector",
                "connection.url": f"jdbc:postgresql://localhost:{pg.port}/{DATABASE}",
                "connection.user": USER, "mode": "incrementing",
                "incrementing.column.name": "id", "topic.prefix": "mon_",
                "table.whitelist": "first,second", "table.poll.interval.ms": "300",
                "tasks.max": "2"}})[0] == 201
            wait_running(worker, "mon")
            pg.execute("create table second(id bigserial primary key, v varchar)")
            pg.execute("insert into second(v) values ('late')")

            def two_tasks():
                code, tasks = request(worker, "GET", "/connectors/mon/tasks")
                return code == 200 and sorted(t["config"]["tables"] for t in tasks) == [
                    '"rafka"."public"."first"', '"rafka"."public"."second"']
            wait_until(two_tasks, timeout_s=60, what="a task for the new table")
            [record] = consume_all(broker.bootstrap, "mon_second", 1)
            assert record["payload"] == {"id": 1, "v": "late"}
        finally:
            assert worker.stop() == 0, worker.log_tail()
