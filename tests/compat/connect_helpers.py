"""Helpers for the Connect tests: a standalone worker process (rafka's, or Kafka's own
for the oracle tests) and plain-HTTP requests to its REST API."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from compat_helpers import wait_until
from conftest import free_port, rafka_bin


def schema_line(text: str) -> str:
    return json.dumps({"schema": {"type": "string", "optional": False}, "payload": text},
                      separators=(",", ":"))


class ConnectWorker:
    """One `rafka connect-standalone` process with its REST port and offsets file."""

    def __init__(self, workdir: Path, bootstrap: str, connector_files: list[Path] = (),
                 command: list[str] | None = None, distributed: dict[str, str] | None = None):
        """`command` runs another worker (Kafka's own, for the oracle tests); it gets the
        worker config path and connector files appended. `distributed` makes it a
        `connect-distributed` worker with these extra keys (`group.id`, topics…)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.offsets_file = workdir / "connect.offsets"
        self.config_path = workdir / "connect-standalone.properties"
        self.log_path = workdir / "connect.log"
        self.connector_files = [str(f) for f in connector_files]
        self.command = command or [str(rafka_bin()), "connect-standalone"]
        if distributed is not None:
            self.config_path = workdir / "connect-distributed.properties"
            self.command = command or [str(rafka_bin()), "connect-distributed"]
        self.config_path.write_text(
            f"bootstrap.servers={bootstrap}\n"
            "key.converter=org.apache.kafka.connect.json.JsonConverter\n"
            "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
            "key.converter.schemas.enable=true\n"
            "value.converter.schemas.enable=true\n"
            + ("" if distributed is not None else f"offset.storage.file.filename={self.offsets_file}\n") +
            "offset.flush.interval.ms=500\n"
            f"listeners=http://127.0.0.1:{self.port}\n"
        )
        if command is None:
            with open(self.config_path, "a") as f:
                f.write("plugin.path=/usr/share/java\n")  # accepted and ignored
        if distributed is not None:
            with open(self.config_path, "a") as f:
                f.write("rest.advertised.host.name=127.0.0.1\n")
                for key, value in distributed.items():
                    f.write(f"{key}={value}\n")
        self.distributed = distributed is not None
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*self.command, str(self.config_path), *self.connector_files],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.workdir)

        def up():
            assert self.proc.poll() is None, f"worker exited:\n{self.log_tail()}"
            # A distributed worker is ready once it joined its cluster (`/health`,
            # Kafka 3.9+'s readiness check); a standalone one once it answers.
            return request(self, "GET", "/health" if self.distributed else "/")[0] == 200
        wait_until(up, timeout_s=60, what="the Connect REST API")

    def stop(self) -> int:
        """SIGTERM and the exit code. Kafka's own distributed worker may take its herder's
        whole shutdown budget (worker.sync.timeout.ms + task and connector graceful
        timeouts + 10 s, ~23 s) and more on a loaded machine: 90 s."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=90)

    def kill(self) -> None:
        """SIGKILL: no flush, no LeaveGroup, as a crashed worker."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-60:])


def request(worker: ConnectWorker, method: str, path: str, body=None, headers_out=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(worker.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw, code = resp.read(), resp.status
            if headers_out is not None:
                headers_out.update({k.lower(): v for k, v in resp.headers.items()})
    except urllib.error.HTTPError as e:
        raw, code = e.read(), e.code
    except (ConnectionError, urllib.error.URLError):
        return 0, None
    return code, (json.loads(raw) if raw else None)


