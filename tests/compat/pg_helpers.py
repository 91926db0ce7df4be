"""A throwaway PostgreSQL server for the Kafka Connect JDBC tests: `initdb` in a temporary
directory, `postgres` on a free loopback port (fsync off: the data is thrown away), stopped
and removed afterwards. The server programs come from scripts/setup-postgres.sh (Debian's
package); as root the server runs as the `postgres` OS user, because PostgreSQL refuses
to run as root.

    with Postgres.started() as pg:
        pg.execute("create table users(id serial primary key, name text)")
        url = pg.jdbc_url  # jdbc:postgresql://127.0.0.1:<port>/rafka
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
DATABASE = "rafka"
USER = "rafka"


def server_bin() -> Path:
    """The directory of initdb/pg_ctl/postgres, installing them when missing."""
    done = subprocess.run([str(ROOT / "scripts" / "setup-postgres.sh")], capture_output=True,
                          text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


class Postgres:
    def __init__(self, bin_dir: Path, workdir: Path):
        self.bin = bin_dir
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.log = workdir / "postgres.log"

    def _run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + argv, capture_output=True, text=True, **kwargs)

    @classmethod
    @contextlib.contextmanager
    def started(cls) -> Iterator["Postgres"]:
        # Not under pytest's tmp_path: as root that is a 0700 directory the postgres user
        # cannot enter.
        workdir = Path(tempfile.mkdtemp(prefix="rafka-pg-"))
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres", "postgres")
        pg = cls(server_bin(), workdir)
        try:
            pg.start()
            yield pg
        finally:
            pg.stop()
            shutil.rmtree(workdir, ignore_errors=True)

    def start(self) -> None:
        init = self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", USER,
                          "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
        options = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        start = self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                           "-o", options, "-w", "-t", str(int(READY_TIMEOUT_S)), "start"])
        assert start.returncode == 0, f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n{self.log_tail()}"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with self.connect("postgres") as conn:
                    conn.execute(f"create database {DATABASE}")
                return
            except Exception as e:  # noqa: BLE001 - the server may still be starting
                if time.monotonic() > deadline:
                    raise AssertionError(f"PostgreSQL did not accept connections: {e}\n{self.log_tail()}")
                time.sleep(0.1)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                       "-w", "stop"])

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{DATABASE}"

    def connect(self, database: str = DATABASE):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname=database,
                               autocommit=True, connect_timeout=10)

    def execute(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        """Runs one statement; returns its rows (none for statements without any)."""
        with self.connect() as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
