"""Apache Kafka as the oracle of the differential tests (tests/compat/test_oracle_*.py).

`kafka_oracle` runs one real single-node Apache Kafka 4.x (KRaft, combined broker +
controller, node id 1 like rafka's test broker) per pytest session; `rafka_oracle_peer`
runs a rafka broker with the same settings. `oracle` sends the same raw request, any API
at any version, to both, normalises the ids and times that legitimately differ between
two clusters, and asserts the answers are equal field by field with a readable diff.

Kafka's classpath comes from scripts/setup-kafka.sh (Maven resolves tests/oracle/pom.xml
into ~/.m2); the fixture runs that script itself when the classpath file is missing.
Requests are encoded and responses decoded by kafka-python 3's JSON-schema messages
(`kafka.protocol`), so a response is compared as the dict of all its fields.

A difference is a rafka bug unless the test says, in a comment, why Kafka's answer cannot
apply to rafka.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

import kafka.protocol.admin as _admin
import kafka.protocol.consumer as _consumer
import kafka.protocol.metadata as _metadata
import kafka.protocol.producer as _producer
import kafka.protocol.sasl as _sasl
from kafka.protocol.api_message import ApiMessage
from kafka.record.memory_records import MemoryRecords, MemoryRecordsBuilder

from conftest import Broker, free_port

ROOT = Path(__file__).resolve().parents[2]
KAFKA_READY_TIMEOUT_S = 120.0  # a cold JVM on a busy 2-core machine
KAFKA_STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0

# Settings both brokers get, so that the answers can be equal: rafka's test defaults
# (conftest.Broker) plus what the scenarios rely on. node.id and the listeners are set
# per broker.
SHARED_CONFIG = {
    "num.partitions": "1",
    "auto.create.topics.enable": "true",
    "log.segment.bytes": str(1024 * 1024),
    "group.initial.rebalance.delay.ms": "0",
}

# Kafka-only settings: a single node has one replica for its internal topics, and KRaft
# needs its controller quorum spelled out.
KAFKA_ONLY_CONFIG = {
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
}

LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


# -- the Kafka process ------------------------------------------------------------------

def kafka_classpath() -> str:
    explicit = os.environ.get("KAFKA_ORACLE_CLASSPATH_FILE")
    cache = os.environ.get("RAFKA_CACHE_DIR") or os.path.expanduser("~/.cache/rafka")
    path = Path(explicit) if explicit else Path(cache) / "kafka-oracle" / "classpath"
    if not path.is_file():
        # scripts/test.sh runs it before pytest; a bare `pytest` run gets it here.
        subprocess.run([str(ROOT / "scripts" / "setup-kafka.sh")], check=True)
    return path.read_text().strip()


def java_bin() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


class KafkaOracle:
    """One Apache Kafka node (KRaft, broker + controller, node id 1) on loopback ports."""

    node_id = 1

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.config_path = workdir / "server.properties"
        self.log_path = workdir / "kafka.log"
        self.classpath = kafka_classpath()
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None
        config = {
            "node.id": str(self.node_id),
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.data_dir),
        }
        config.update(KAFKA_ONLY_CONFIG)
        config.update(SHARED_CONFIG)
        self.config = config
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        (workdir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)

    def _java(self, main: str, *args: str, heap: str = "512m") -> list[str]:
        return [
            java_bin(), f"-Xmx{heap}", "-Xss1m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.workdir / 'logs'}",
            "-cp", self.classpath, main, *args,
        ]

    def start(self) -> None:
        began = time.monotonic()
        # kafka-storage.sh format --standalone: bin/kafka-storage.sh runs kafka.tools.StorageTool.
        # As Kafka's Uuid.randomUuid: never one starting with '-', which the storage
        # tool's argument parser would take for an option (1 start in 64 failed so).
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        with open(self.log_path, "ab") as log:
            log.write(b"===== kafka-storage format =====\n")
            log.flush()
            rc = subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id,
                           "-c", str(self.config_path), heap="256m"),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.workdir,
                timeout=KAFKA_READY_TIMEOUT_S,
            ).returncode
        if rc != 0:
            self._fail(f"kafka-storage format exited with {rc}")
        with open(self.log_path, "ab") as log:
            log.write(b"\n===== kafka-server-start =====\n")
            log.flush()
            self.proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.config_path)),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.workdir,
            )
        self.wait_ready(began + KAFKA_READY_TIMEOUT_S)
        self.startup_s = time.monotonic() - began

    def wait_ready(self, deadline: float) -> None:
        """Poll (raw Metadata v12) until node 1 is listed with its advertised port."""
        last: object = None
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                self._fail(f"Kafka exited with code {self.proc.returncode} while starting")
            try:
                with RawClient("127.0.0.1", self.port, timeout_s=2.0) as c:
                    md = c.request("Metadata", 12, topics=[], allow_auto_topic_creation=False)
                brokers = [(b["node_id"], b["port"]) for b in md["brokers"]]
                if (self.node_id, self.port) in brokers:
                    return
                last = md
            except (OSError, ConnectionError, struct.error) as e:
                last = e
            if time.monotonic() > deadline:
                self._fail(f"Kafka's Metadata did not list node {self.node_id} in time: {last!r}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=KAFKA_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no Kafka log)"
        return "\n".join(text.splitlines()[-lines:])

    def _fail(self, message: str) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError(f"{message}\n--- Kafka log tail ({self.log_path}) ---\n{self.log_tail()}")


_ORACLE_KEY = pytest.StashKey[Any]()


@pytest.fixture(scope="session")
def kafka_oracle(request, tmp_path_factory) -> KafkaOracle:
    """The session's one Kafka node. Test modules import this fixture, and pytest makes a
    fixture per importing module, so the process itself is kept in the config's stash and
    started only once; it is stopped when the session ends."""
    stash = request.config.stash
    state = stash.get(_ORACLE_KEY, None)
    if state is None:
        oracle = KafkaOracle(tmp_path_factory.mktemp("kafka-oracle"))
        try:
            oracle.start()
        except Exception as e:  # noqa: BLE001 - remember it: every later test gets the same error
            oracle.stop()
            stash[_ORACLE_KEY] = e
            raise
        request.config.add_cleanup(oracle.stop)
        stash[_ORACLE_KEY] = state = oracle
    if isinstance(state, Exception):
        pytest.fail(f"Kafka (the oracle) did not start: {state}", pytrace=False)
    return state


@pytest.fixture(scope="module")
def rafka_oracle_peer(tmp_path_factory):
    """A rafka broker with the settings the Kafka oracle has (SHARED_CONFIG)."""
    broker = Broker(tmp_path_factory.mktemp("rafka-peer"), dict(SHARED_CONFIG))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# -- a raw protocol client --------------------------------------------------------------

def _message_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for module in (_admin, _consumer, _metadata, _producer, _sasl):
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, ApiMessage) and obj is not ApiMessage:
                try:
                    obj.API_KEY  # noqa: B018 - only messages with a schema
                except Exception:  # noqa: BLE001
                    continue
                classes[name] = obj
    return classes


MESSAGES = _message_classes()


def _build(cls: type, values: dict[str, Any], version: int | None = None):
    kwargs = {}
    for name, value in values.items():
        field = cls.fields.get(name)
        if field is None:
            raise KeyError(f"{cls.__name__} has no field {name!r}; fields: {list(cls.fields)}")
        if value is not None and field.is_struct_array():
            value = [_build(field.data_class, v) if isinstance(v, dict) else v for v in value]
        elif value is not None and field.is_struct() and isinstance(value, dict):
            value = _build(field.data_class, value)
        kwargs[name] = value
    return cls[version](**kwargs) if version is not None else cls(**kwargs)


class RawClient:
    """One connection; `request(api, version, **fields)` returns the response as a dict
    (`{"_header": ...}` excluded). Nested structs are given as dicts, arrays as lists."""

    def __init__(self, host: str, port: int, timeout_s: float = REQUEST_TIMEOUT_S,
                 client_id: str = "rafka-oracle", source_host: str | None = None):
        source = (source_host, 0) if source_host else None
        self.sock = socket.create_connection((host, port), timeout=timeout_s,
                                             source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client_id = client_id
        self.correlation_id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.sock.close()

    def _read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return bytes(buf)

    def read_frame(self) -> bytes:
        (size,) = struct.unpack(">i", self._read(4))
        return self._read(size)

    def send_bytes(self, frame_body: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(frame_body)) + frame_body)

    def request_obj(self, api: str, version: int, **fields):
        req_cls = MESSAGES[f"{api}Request"]
        resp_cls = MESSAGES[f"{api}Response"]
        req = _build(req_cls, fields, version)
        self.correlation_id += 1
        req.with_header(correlation_id=self.correlation_id, client_id=self.client_id)
        self.sock.sendall(req.encode(header=True, framed=True))
        if not req.expect_response():
            return None
        payload = self.read_frame()
        resp = resp_cls.decode(payload, version=version, header=True)
        got = resp.header.correlation_id
        assert got == self.correlation_id, f"correlation id {got}, expected {self.correlation_id}"
        return resp

    def request(self, api: str, version: int, **fields) -> dict:
        resp = self.request_obj(api, version, **fields)
        return None if resp is None else plain(resp.to_dict(json=False))


def plain(obj: Any) -> Any:
    """A decoded answer as plain data: uuids as strings, bytes fields as bytes, bit fields
    (authorized operations) as sorted lists."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (memoryview, bytearray)):
        return bytes(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return obj


def records(*values: bytes | None, keys: list[bytes | None] | None = None,
            timestamp_ms: int | None = None) -> bytes:
    """A v2 record batch (magic 2, uncompressed) of the given values."""
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 30)
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    for i, value in enumerate(values):
        key = keys[i] if keys else None
        builder.append(timestamp=ts, key=key, value=value, headers=[])
    builder.close()
    return builder.buffer()


def decode_records(data: bytes | None) -> list[dict]:
    """The records of a fetched record set, without their (clock-dependent) timestamps."""
    out = []
    if not data:
        return out
    batches = MemoryRecords(data)
    while batches.has_next():
        batch = batches.next_batch()
        if batch is None:
            break
        for rec in batch:
            out.append({"offset": rec.offset, "key": rec.key, "value": rec.value,
                        "headers": list(rec.headers)})
    return out


# -- the share APIs' messages ---------------------------------------------------------

SHARE_MESSAGES = ("ShareGroupHeartbeat", "ShareGroupDescribe", "ShareFetch", "ShareAcknowledge",
                  "InitializeShareGroupState", "ReadShareGroupState", "WriteShareGroupState",
                  "DeleteShareGroupState", "ReadShareGroupStateSummary",
                  "DescribeShareGroupOffsets", "AlterShareGroupOffsets",
                  "DeleteShareGroupOffsets")


def load_share_messages(root: Path) -> dict[str, type]:
    """kafka-python has no schemas of the share APIs: Kafka 4.1.1's own JSON schemas, read
    from the kafka-clients jar on the oracle's classpath, become raw-client messages
    (registered in MESSAGES for this session). `root` is a scratch directory."""
    import importlib
    import sys
    import types
    import zipfile
    if all(f"{api}Request" in MESSAGES for api in SHARE_MESSAGES):
        return MESSAGES
    jar = next(p for p in kafka_classpath().split(":") if "/kafka-clients-" in p)
    package = root / "rafka_share_schemas"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    with zipfile.ZipFile(jar) as z:
        for api in SHARE_MESSAGES:
            for kind in ("Request", "Response"):
                name = f"{api}{kind}"
                (package / f"{name}.json").write_bytes(z.read(f"common/message/{name}.json"))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    for api in SHARE_MESSAGES:
        for kind in ("Request", "Response"):
            name = f"{api}{kind}"
            if name not in MESSAGES:
                MESSAGES[name] = types.new_class(
                    name, (ApiMessage,), {"load_json": "rafka_share_schemas"})
    return MESSAGES


@pytest.fixture(scope="module")
def share_messages(tmp_path_factory):
    return load_share_messages(tmp_path_factory.mktemp("share-schemas"))


# -- normalising and comparing -------------------------------------------------------

ZERO_UUID = str(uuid.UUID(int=0))


class Normaliser:
    """Replaces the values that legitimately differ between two clusters by placeholders
    numbered in order of appearance, so that equal ids stay equal and distinct stay distinct.

    - `port`: each broker listens on its own free port.
    - `cluster_id`: random per cluster.
    - `topic_id`: random per topic creation (the zero uuid, "no id", is kept).
    - `member_id`: Kafka's and rafka's are `<client.id>-<uuid>`: the uuid is random.
    - `throttle_time_ms`: quotas are not part of these scenarios; both should say 0 but
      a busy JVM may throttle, so the value is not compared.
    - timestamps (`*timestamp*`, `*_time_ms` other than timeouts): wall-clock dependent;
      -1 ("none") is kept.
    - arrays of partitions: a set, listed by partition index (Kafka follows its hash maps).
    - `records`: raw record-set bytes hold clock-dependent timestamps and CRCs; they are
      compared as decoded (offset, key, value, headers) lists.
    """

    def __init__(self, port: int, extra: dict[str, Callable[[Any], Any]] | None = None):
        self.port = port
        self.maps: dict[str, dict[Any, str]] = {}
        self.extra = extra or {}

    def _placeholder(self, kind: str, value: Any) -> str:
        m = self.maps.setdefault(kind, {})
        if value not in m:
            m[value] = f"<{kind}-{len(m) + 1}>"
        return m[value]

    def __call__(self, obj: Any, key: str | None = None) -> Any:
        if isinstance(obj, dict):
            return {k: self(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            items = [self(v, key) for v in obj]
            if items and all(isinstance(v, dict) for v in items):
                # Partitions of a topic are a set: Kafka lists them in its hash maps' order.
                for order_key in ("partition_index", "partition"):
                    if all(order_key in v for v in items):
                        items.sort(key=lambda v: v[order_key])
                        break
            return items
        if key is None:
            return obj
        if key in self.extra:
            return self.extra[key](obj)
        if key == "port" and obj == self.port:
            return "<port>"
        if key == "cluster_id" and obj is not None:
            return "<cluster-id>"
        if key == "topic_id" and obj not in (None, ZERO_UUID):
            return self._placeholder("topic-id", obj)
        if key == "member_id" and obj:
            return self._placeholder("member", obj)
        if key == "leader" and isinstance(obj, str) and obj:
            return self._placeholder("member", obj)
        if key == "throttle_time_ms":
            return "<throttle>"
        if key == "records":
            return decode_records(obj)
        if ("timestamp" in key or key.endswith("_time_ms") or key.endswith("_timestamp")) \
                and isinstance(obj, int) and obj not in (-1, 0):
            return "<time>"
        return obj


def _dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=False, ensure_ascii=False,
                      default=lambda o: o.decode("latin-1") if isinstance(o, bytes) else repr(o))


# Arrays whose elements are identified by one of these fields are keyed by it in diffs
# (`configs[name=retention.ms].value` rather than `configs[17].value`).
_ID_FIELDS = ("name", "partition_index", "api_key", "group_id", "member_id", "resource_name",
              "topic_name", "node_id", "broker_id")


def _id_field(k: list, r: list) -> str | None:
    both = k + r
    if not both or not all(isinstance(v, dict) for v in both):
        return None
    for f in _ID_FIELDS:
        if all(f in v for v in both) and all(
                len({repr(v[f]) for v in side}) == len(side) for side in (k, r)):
            return f
    return None


def _short_value(v: Any, n: int = 60) -> str:
    text = str(v)
    return text if len(text) <= n else text[:n] + "…"


def _diff(k: Any, r: Any, path: str, out: list[str]) -> None:
    if isinstance(k, dict) and isinstance(r, dict):
        for key in list(k) + [x for x in r if x not in k]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in r or key not in k:
                out.append(f"  {sub}: kafka={_dump(k.get(key, '<absent>'))} "
                           f"rafka={_dump(r.get(key, '<absent>'))}")
            else:
                _diff(k[key], r[key], sub, out)
    elif isinstance(k, list) and isinstance(r, list) and (f := _id_field(k, r)):
        km = {repr(v[f]): v for v in k}
        rm = {repr(v[f]): v for v in r}
        for ident in list(km) + [x for x in rm if x not in km]:
            ref = (km.get(ident) or rm.get(ident))[f]
            sub = f"{path}[{f}={_short_value(ref)}]"
            if ident not in km or ident not in rm:
                out.append(f"  {sub}: kafka={_dump(km.get(ident, '<absent>'))} "
                           f"rafka={_dump(rm.get(ident, '<absent>'))}")
            else:
                _diff(km[ident], rm[ident], sub, out)
    elif isinstance(k, list) and isinstance(r, list) and len(k) == len(r) and k != r:
        for i, (a, b) in enumerate(zip(k, r)):
            _diff(a, b, f"{path}[{i}]", out)
    elif k != r:
        out.append(f"  {path or '.'}: kafka={_dump(k)} rafka={_dump(r)}")


def describe_diff(kafka_answer: Any, rafka_answer: Any, limit: int = 60) -> str:
    """One line per difference: `path: kafka=… rafka=…`; array elements are keyed by
    their name/partition/... where they have one; <absent> marks a missing field or element."""
    lines: list[str] = []
    _diff(kafka_answer, rafka_answer, "", lines)
    if len(lines) > limit:
        lines = lines[:limit] + [f"  … and {len(lines) - limit} more"]
    return "\n".join(lines)


def assert_same(kafka_answer: Any, rafka_answer: Any, what: str) -> None:
    """Equal field by field. Arrays whose elements carry an identity (a name, partition,
    group id, member id, ...) are compared as maps by it: per-topic, per-group and
    per-partition results are sets, and Kafka lists them in its hash maps' order."""
    if kafka_answer == rafka_answer:
        return
    if not describe_diff(kafka_answer, rafka_answer):
        return
    raise AssertionError(f"{what}: rafka's answer differs from Kafka's\n"
                         f"{describe_diff(kafka_answer, rafka_answer)}\n"
                         f"kafka: {_dump(kafka_answer)[:2000]}\n"
                         f"rafka: {_dump(rafka_answer)[:2000]}")


class Pair:
    """The same raw request to Kafka and to rafka."""

    def __init__(self, kafka: KafkaOracle, rafka: Broker):
        self.kafka_broker = kafka
        self.rafka_broker = rafka
        self._conns: dict[str, RawClient] = {}

    def client(self, side: str) -> RawClient:
        conn = self._conns.get(side)
        if conn is None:
            port = self.kafka_broker.port if side == "kafka" else self.rafka_broker.port
            conn = self._conns[side] = RawClient("127.0.0.1", port)
        return conn

    def reconnect(self, side: str) -> None:
        conn = self._conns.pop(side, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for side in list(self._conns):
            self.reconnect(side)

    def port(self, side: str) -> int:
        return self.kafka_broker.port if side == "kafka" else self.rafka_broker.port

    def send(self, side: str, api: str, version: int, **fields) -> dict:
        try:
            return self.client(side).request(api, version, **fields)
        except (OSError, ConnectionError):
            self.reconnect(side)
            raise

    def each(self, api: str, version: int, **fields) -> tuple[dict, dict]:
        return (self.send("kafka", api, version, **fields),
                self.send("rafka", api, version, **fields))

    def normalised(self, side: str, answer: Any, extra=None) -> Any:
        return Normaliser(self.port(side), extra)(answer)

    def both(self, api: str, version: int, *, extra=None, **fields) -> dict:
        """Send to both, assert the normalised answers are equal, return Kafka's (normalised)."""
        k, r = self.each(api, version, **fields)
        nk = self.normalised("kafka", k, extra)
        nr = self.normalised("rafka", r, extra)
        assert_same(nk, nr, f"{api} v{version} {_short(fields)}")
        return nk

    def compare(self, k: Any, r: Any, what: str, extra=None) -> Any:
        nk = self.normalised("kafka", k, extra)
        nr = self.normalised("rafka", r, extra)
        assert_same(nk, nr, what)
        return nk


def _short(fields: dict) -> str:
    text = repr(fields)
    return text if len(text) <= 300 else text[:300] + "…"


@pytest.fixture(scope="module")
def oracle(kafka_oracle, rafka_oracle_peer):
    pair = Pair(kafka_oracle, rafka_oracle_peer)
    yield pair
    pair.close()


def running_pair(kafka: KafkaOracle, rafka: Broker):
    """For a module fixture of its own configuration: starts both brokers, yields their
    Pair, and stops both."""
    try:
        kafka.start()
        rafka.start()
        pair = Pair(kafka, rafka)
        yield pair
        pair.close()
    finally:
        rafka.stop()
        kafka.stop()


def wait_both(pair: Pair, check: Callable[[str], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll `check(side)` for both brokers until it is true (no sleeps-as-waits)."""
    for side in ("kafka", "rafka"):
        deadline = time.monotonic() + timeout_s
        last: object = None
        while True:
            try:
                if check(side):
                    break
            except AssertionError:
                raise
            except Exception as e:  # noqa: BLE001
                last = e
                pair.reconnect(side)
            if time.monotonic() > deadline:
                raise AssertionError(f"{side}: timed out after {timeout_s}s waiting for {what}"
                                     + (f"; last error {last!r}" if last else ""))
            time.sleep(0.05)


def re_sub(pattern: str, repl: str) -> Callable[[Any], Any]:
    rx = re.compile(pattern)
    return lambda v: rx.sub(repl, v) if isinstance(v, str) else v


def create_topic(pair: Pair, name: str, partitions: int = 1, configs: dict[str, str] | None = None,
                 timeout_s: float = 30.0) -> None:
    """Create `name` on both brokers (not a comparison: the tests compare what follows) and
    wait until every partition has a leader in both brokers' Metadata."""
    for side in ("kafka", "rafka"):
        answer = pair.send(side, "CreateTopics", 7, topics=[{
            "name": name, "num_partitions": partitions, "replication_factor": 1, "assignments": [],
            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}],
            timeout_ms=30000, validate_only=False)
        assert answer["topics"][0]["error_code"] == 0, f"{side}: CreateTopics {name}: {answer}"
    wait_for_leaders(pair, name, partitions, timeout_s)


def wait_for_leaders(pair: Pair, name: str, partitions: int, timeout_s: float = 30.0) -> None:
    def ready(side: str) -> bool:
        md = pair.send(side, "Metadata", 12, topics=[{"name": name}], allow_auto_topic_creation=False)
        parts = md["topics"][0]["partitions"]
        return (md["topics"][0]["error_code"] == 0 and len(parts) == partitions
                and all(p["leader_id"] >= 0 and p["error_code"] == 0 for p in parts))
    wait_both(pair, ready, f"leaders of {name}", timeout_s)
