"""Fixtures that run a real `rafka` broker process for the compat tests.

The broker binary comes from $RAFKA_BIN (scripts/test.sh exports it); otherwise the
release build in the shared target dir is used. Each broker gets a free loopback port
and its own data dir under pytest's tmp dir; its stderr goes to `broker.log` beside the
data, and the tail of that log is attached to the report of any failing test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def rafka_bin() -> Path:
    explicit = os.environ.get("RAFKA_BIN")
    if explicit:
        path = Path(explicit)
    else:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/rafka/target")
        path = Path(target) / "release" / "rafka"
    if not os.access(path, os.X_OK):
        pytest.exit(
            f"rafka binary not found at {path}: run `cargo build --release -p rafka-cli` "
            "or set RAFKA_BIN",
            returncode=2,
        )
    return path


# Every port free_port() has handed out in this session.
_HANDED_OUT: set[int] = set()


def _reserve_across_workers(port: int) -> bool:
    """Under pytest-xdist the workers are processes that pick ports independently:
    RAFKA_PORT_DIR (scripts/test.sh makes one per run) holds one file per port handed
    out, created exclusively, so two workers never get the same port."""
    directory = os.environ.get("RAFKA_PORT_DIR")
    if not directory:
        return True
    try:
        fd = os.open(os.path.join(directory, str(port)), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def connect_loopback(port: int, timeout_s: float) -> socket.socket:
    """A connection to 127.0.0.1:port, refused (ConnectionRefusedError) when nothing
    listens there. Test ports come from bind(0), in the ephemeral range: while nothing
    listens yet, the kernel may give a probe the very same port as its own source port, a
    TCP self-connect that succeeds with no server at all. That is not a server."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    if s.getsockname() == s.getpeername():
        s.close()
        raise ConnectionRefusedError(f"127.0.0.1:{port} connected to itself: nothing listens")
    return s


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port (see connect_loopback)."""
    try:
        connect_loopback(port, 0.5).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback port that is free now and was never handed out before in this run.
    The kernel may give a just-released port to the next bind(0): two nodes of one
    cluster then got the same port and one failed to start ("Address already in use")."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT and _reserve_across_workers(port):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no loopback port left that was not handed out already")


class Broker:
    """One single-node rafka broker (combined broker+controller) on a loopback port.

    The port, config and data dir stay the same across `restart()`/`kill9()`+`start()`,
    so a restarted broker recovers the data the previous process wrote.
    """

    node_id = 1

    def __init__(self, workdir: Path, extra_config: dict[str, str] | None = None):
        self.workdir = workdir
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.config_path = workdir / "server.properties"
        self.log_path = workdir / "broker.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        # What a client needs besides bootstrap.servers (a SASL listener's credentials).
        self.client_config: dict[str, str] = {}
        config = {
            "node.id": str(self.node_id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
        }
        config.update(extra_config or {})
        self.config = config
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== rafka start #{self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(rafka_bin()), "server", "start", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.workdir,
            )
        self.wait_ready()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll until the port accepts connections and a Metadata request succeeds."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive("while starting")
            if listening(self.port):
                break
            if time.monotonic() > deadline:
                self._fail(f"port {self.port} did not accept connections in {timeout_s:.0f}s")
            time.sleep(0.02)
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self.client_config})
        last_error: Exception | None = None
        while True:
            self._check_alive("while starting")
            try:
                metadata = admin.list_topics(timeout=1.0)
                if self.node_id in metadata.brokers:
                    broker = metadata.brokers[self.node_id]
                    assert (broker.host, broker.port) == ("127.0.0.1", self.port), (
                        f"Metadata advertises {broker.host}:{broker.port}, "
                        f"expected 127.0.0.1:{self.port}"
                    )
                    return
                last_error = AssertionError(f"node {self.node_id} missing from {metadata.brokers}")
            except AssertionError:
                raise
            except Exception as e:  # KafkaException while the broker comes up
                last_error = e
            if time.monotonic() > deadline:
                self._fail(f"Metadata did not succeed in {timeout_s:.0f}s: {last_error!r}")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, wait; SIGKILL if stuck. Returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== did not exit {STOP_TIMEOUT_S}s after SIGTERM; killed =====\n".encode())
            return None

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "broker not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        with open(self.log_path, "ab") as log:
            log.write(b"\n===== killed with SIGKILL =====\n")

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    # -- diagnostics -----------------------------------------------------------------

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    def _check_alive(self, context: str) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            self._fail(f"broker exited with code {self.proc.returncode} {context}")

    def _fail(self, message: str) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        pytest.fail(f"{message}\n--- broker log tail ({self.log_path}) ---\n{self.log_tail()}",
                    pytrace=False)

    def __repr__(self) -> str:
        return f"Broker({self.bootstrap}, data={self.data_dir})"


def _broker(workdir: Path, extra_config: dict[str, str] | None = None):
    broker = Broker(workdir, extra_config)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# Segments small enough that the bigger tests roll several of them.
SMALL_SEGMENTS = {"log.segment.bytes": str(1024 * 1024)}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A broker shared by the tests of one module (they use distinct topic names)."""
    yield from _broker(tmp_path_factory.mktemp("rafka"), SMALL_SEGMENTS)


@pytest.fixture
def fresh_broker(tmp_path):
    """A broker of its own, for tests that kill or restart it."""
    yield from _broker(tmp_path, SMALL_SEGMENTS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, Broker):
                report.sections.append(
                    (f"rafka broker log tail ({name}: {value.log_path})", value.log_tail())
                )
