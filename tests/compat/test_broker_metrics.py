"""`/metrics` on `metrics.listener`: Prometheus text with the names the JMX exporter's
Kafka rules give Kafka's beans, scraped after a known workload (the counters equal what
was produced and fetched), and on a three-node cluster while a follower is down (the
leader's under-replicated partitions rise, then fall when it returns)."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Producer

from compat_helpers import confluent_consume, topic_name, wait_until
from conftest import _broker, free_port
from test_cluster import COMBINED, Cluster, _AttachClusterLogs, create_topic, wait_for_full_isr

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def scrape(port: int) -> dict[str, float]:
    """Every series of the scrape by its name and labels as written (`name{a="b"}`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        series[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return series


@pytest.fixture
def metrics_broker(tmp_path):
    port = free_port()
    for broker in _broker(tmp_path, {"metrics.listener": f"http://127.0.0.1:{port}"}):
        broker.metrics_port = port
        yield broker


def test_counters_equal_what_was_produced_and_fetched(metrics_broker):
    b = metrics_broker
    topic = topic_name("metrics")
    n, m, value = 20, 7, b"v" * 100
    producer = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
    # One record a request, so every batch has the same size.
    for i in range(n):
        producer.produce(topic, key=b"k%02d" % i, value=value, partition=0)
        assert producer.flush(10) == 0
    s = scrape(b.metrics_port)
    log_size = s[f'kafka_log_log_size{{topic="{topic}",partition="0"}}']
    assert log_size > n * len(value) and log_size % n == 0
    assert s[f'kafka_server_brokertopicmetrics_messagesin_total{{topic="{topic}"}}'] == n
    assert s[f'kafka_server_brokertopicmetrics_bytesin_total{{topic="{topic}"}}'] == log_size
    # The all-topics series, unlabelled as the JMX exporter gives it: only this topic
    # was produced to.
    assert s["kafka_server_brokertopicmetrics_messagesin_total"] == n
    assert s["kafka_server_brokertopicmetrics_bytesin_total"] == log_size
    assert s.get(f'kafka_server_brokertopicmetrics_bytesout_total{{topic="{topic}"}}', 0) == 0

    # The last m records, read once each: bytes out are their batches.
    records = confluent_consume(b.bootstrap, topic, [0], end_offsets={0: n}, start=n - m)
    assert [r.offset for r in records] == list(range(n - m, n))
    s = scrape(b.metrics_port)
    fetched = m * log_size // n
    assert s[f'kafka_server_brokertopicmetrics_bytesout_total{{topic="{topic}"}}'] == fetched
    assert s["kafka_server_brokertopicmetrics_bytesout_total"] == fetched
    assert s[f'kafka_server_brokertopicmetrics_messagesin_total{{topic="{topic}"}}'] == n

    produces = sum(v for k, v in s.items()
                   if k.startswith('kafka_network_requestmetrics_requests_total{request="Produce",'))
    assert produces == n
    consumer_fetches = sum(
        v for k, v in s.items()
        if k.startswith('kafka_network_requestmetrics_requests_total{request="FetchConsumer",'))
    fetches = sum(v for k, v in s.items()
                  if k.startswith('kafka_network_requestmetrics_requests_total{request="Fetch",'))
    assert consumer_fetches >= 1 and fetches == consumer_fetches
    assert s['kafka_network_requestmetrics_totaltimems_count{request="Produce"}'] == n
    # Kafka's 50thPercentile…999thPercentile, labelled as the JMX exporter labels them.
    quantiles = sorted(k.split('quantile="')[1].rstrip('"}') for k in s
                       if k.startswith('kafka_network_requestmetrics_totaltimems{request="Produce",'))
    assert quantiles == ["0.50", "0.75", "0.95", "0.98", "0.99", "0.999"]
    # One partition a produce request; fetches counted per partition read, none failed.
    assert s[f'kafka_server_brokertopicmetrics_totalproducerequests_total{{topic="{topic}"}}'] == n
    assert s["kafka_server_brokertopicmetrics_totalproducerequests_total"] == n
    assert s["kafka_server_brokertopicmetrics_failedproducerequests_total"] == 0
    assert s[f'kafka_server_brokertopicmetrics_totalfetchrequests_total{{topic="{topic}"}}'] >= 1
    assert s["kafka_server_brokertopicmetrics_failedfetchrequests_total"] == 0
    assert s["kafka_server_brokertopicmetrics_replicationbytesout_total"] == 0
    assert s["kafka_server_replicamanager_underreplicatedpartitions"] == 0
    assert s["kafka_controller_kafkacontroller_activecontrollercount"] == 1


def test_connection_count_follows_open_connections(metrics_broker):
    b = metrics_broker
    series = ('kafka_server_socket_server_metrics_connection_count'
              '{listener="PLAINTEXT",networkProcessor="0"}')
    before = scrape(b.metrics_port)[series]
    sockets = [socket.create_connection(("127.0.0.1", b.port), timeout=5) for _ in range(2)]
    wait_until(lambda: scrape(b.metrics_port)[series] == before + 2, 15, "two more connections")
    for s in sockets:
        s.close()
    wait_until(lambda: scrape(b.metrics_port)[series] == before, 15, "the connections closed")


def test_only_metrics_is_served(metrics_broker):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_broker.metrics_port}/nope", timeout=5)
    assert error.value.code == 404


@pytest.fixture
def metrics_cluster(request, tmp_path):
    """Three combined nodes, each serving /metrics on a port of its own."""
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("rafka-cluster-logs"):
        plugins.register(_AttachClusterLogs(), "rafka-cluster-logs")
    c = Cluster(tmp_path, COMBINED)
    for node in c.nodes.values():
        node.metrics_port = free_port()
        with open(node.config_path, "a") as config:
            config.write(f"metrics.listener=http://127.0.0.1:{node.metrics_port}\n")
    try:
        c.start()
        yield c
    finally:
        c.stop()


def test_under_replicated_partitions_rise_while_a_follower_is_down(metrics_cluster):
    c = metrics_cluster
    admin = c.admin()
    topic = topic_name("urp")
    create_topic(admin, topic, 1, 3)
    leader = wait_for_full_isr(c, admin, topic, 1, {1, 2, 3})[0].leader
    follower = next(i for i in (1, 2, 3) if i != leader)
    port = c.nodes[leader].metrics_port
    urp = "kafka_server_replicamanager_underreplicatedpartitions"
    assert scrape(port)[urp] == 0
    assert sum(scrape(n.metrics_port)["kafka_controller_kafkacontroller_activecontrollercount"]
               for n in c.nodes.values()) == 1
    before = scrape(port)

    c.nodes[follower].kill9()
    wait_until(lambda: scrape(port)[urp] == 1, 30, "the partition under-replicated")
    shrunk = scrape(port)
    # The ISR shrinks either by the leader's AlterPartition (IsrShrinksPerSec counts it)
    # or by the controller fencing the dead broker first (Kafka's leader does not count
    # that one): which comes first is a race, so the shrink count may only not drop.
    assert (shrunk["kafka_server_replicamanager_isrshrinks_total"]
            >= before["kafka_server_replicamanager_isrshrinks_total"])

    # What followers copied is replication traffic, counted apart from client bytes:
    # each live follower appended the leader's batches (their sizes as the leader's log).
    producer = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "linger.ms": 0})
    for i in range(5):
        producer.produce(topic, value=b"x" * 100, partition=0)
    assert producer.flush(30) == 0
    other = next(i for i in (1, 2, 3) if i not in (leader, follower))
    wait_until(lambda: scrape(c.nodes[other].metrics_port)
               ["kafka_server_brokertopicmetrics_replicationbytesin_total"] > 0,
               30, "the live follower's replication bytes in")
    assert scrape(port)["kafka_server_brokertopicmetrics_replicationbytesout_total"] > 0
    assert scrape(port).get("kafka_server_brokertopicmetrics_replicationbytesin_total", 0) == 0

    c.restart(c.nodes[follower])
    wait_until(lambda: scrape(port)[urp] == 0, 30, "the partition fully replicated again")
    assert (scrape(port)["kafka_server_replicamanager_isrexpands_total"]
            > shrunk["kafka_server_replicamanager_isrexpands_total"])
