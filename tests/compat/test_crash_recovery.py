"""Broker restarts: a clean SIGTERM, and SIGKILL in the middle of an acks=all produce.
Each test has a broker of its own (`fresh_broker`) because it kills it."""

from __future__ import annotations

from confluent_kafka import Producer

from compat_helpers import (confluent_admin, confluent_consume, confluent_create_topic,
                            confluent_produce, topic_name, wait_until)


def test_sigterm_exits_zero_and_restart_keeps_the_data(fresh_broker):
    broker = fresh_broker
    topic = topic_name("restart")
    confluent_create_topic(confluent_admin(broker.bootstrap), topic, 2)
    n = 10_000
    reports = confluent_produce(broker.bootstrap, topic,
                                (dict(key=b"%d" % i, value=b"v%d" % i, partition=i % 2) for i in range(n)))
    assert all(err is None for _, err, _, _ in reports)

    assert broker.stop() == 0, "rafka must exit 0 on SIGTERM"
    broker.start()

    records = confluent_consume(broker.bootstrap, topic, [0, 1], {0: n // 2, 1: n // 2})
    got = sorted((r.partition, r.offset, r.value) for r in records)
    assert got == sorted((i % 2, i // 2, b"v%d" % i) for i in range(n))
    # And the restarted broker takes new writes after the recovered ones.
    reports = confluent_produce(broker.bootstrap, topic, [dict(value=b"after", partition=0)])
    assert [(err, off) for _, err, _, off in reports] == [(None, n // 2)]


def test_sigkill_during_acks_all_produce_loses_no_acknowledged_record(fresh_broker):
    broker = fresh_broker
    topic = topic_name("kill9")
    confluent_create_topic(confluent_admin(broker.bootstrap), topic, 1)
    total, kill_after_acks = 300_000, 30_000
    acked: dict[int, int] = {}  # seq -> offset, for deliveries without error
    failed: dict[int, str] = {}

    def on_delivery(err, msg):
        seq = int(msg.key())
        if err is None:
            acked[seq] = msg.offset()
        else:
            failed[seq] = str(err)

    producer = Producer({
        "bootstrap.servers": broker.bootstrap,
        "acks": "all",
        "linger.ms": 5,
        # One request in flight: without idempotence that is what makes retried
        # batches keep their order, so "in order" below is a guarantee we may test.
        "max.in.flight.requests.per.connection": 1,
        "message.timeout.ms": 60_000,
        "reconnect.backoff.max.ms": 200,
        # Queue everything at once, so that the kill lands with a request in flight
        # and most records still waiting behind it.
        "queue.buffering.max.messages": total,
    })
    for seq in range(total):
        producer.produce(topic, key=b"%d" % seq, value=b"kill9-%08d" % seq,
                         on_delivery=on_delivery)
        if seq % 1000 == 0:
            producer.poll(0)
            if len(acked) >= kill_after_acks and broker.proc.poll() is None:
                broker.kill9()
    if broker.proc.poll() is None:
        wait_until(lambda: (producer.poll(0.05), len(acked) >= kill_after_acks)[1],
                   60, f"{kill_after_acks} acknowledgements")
        broker.kill9()
    acked_at_kill = len(acked)
    assert acked_at_kill < total, "nothing was in flight when the broker died"

    broker.start()
    assert producer.flush(90) == 0, "producer could not drain after the restart"
    assert len(acked) + len(failed) == total

    records = confluent_consume(broker.bootstrap, topic, [0], timeout_s=90)
    offsets = [r.offset for r in records]
    assert offsets == list(range(len(records))), "gap or disorder in the recovered log"
    log = {r.offset: int(r.key) for r in records}
    for r in records:
        assert r.value == b"kill9-%08d" % int(r.key)
    lost = [(seq, off) for seq, off in acked.items() if log.get(off) != seq]
    assert not lost, (f"{len(lost)} acknowledged records missing or moved, first: "
                      f"{sorted(lost)[:5]} (log has {len(records)} records)")
    # Acknowledged records are in the order they were produced.
    acked_offsets = [acked[seq] for seq in sorted(acked)]
    assert acked_offsets == sorted(acked_offsets), "acknowledged records out of order"
    # Retries after the crash may duplicate a batch that was written but not acknowledged,
    # but every record the log holds was produced by us.
    assert set(log.values()) <= set(range(total))
    print(f"produced {total}, acked before kill {acked_at_kill}, acked {len(acked)}, "
          f"failed {len(failed)}, log {len(records)}")


def test_restart_after_sigkill_of_idle_broker_recovers_all_segments(fresh_broker):
    """Several rolled segments (1 MiB each here) plus an active one, then SIGKILL."""
    broker = fresh_broker
    topic = topic_name("kill9-idle")
    confluent_create_topic(confluent_admin(broker.bootstrap), topic, 1)
    n = 40_000
    reports = confluent_produce(broker.bootstrap, topic,
                                (dict(value=b"%08d" % i + b"." * 92) for i in range(n)),
                                {"compression.type": "none"})
    assert sorted(off for _, _, _, off in reports) == list(range(n))
    partition_dir = broker.data_dir / f"{topic}-0"
    if partition_dir.is_dir():  # Kafka's layout: <log.dirs>/<topic>-<partition>/<base offset>.log
        segments = sorted(p.name for p in partition_dir.glob("*.log"))
        assert len(segments) >= 3, f"expected several 1 MiB segments for ~4 MB, found {segments}"
    broker.kill9()
    broker.start()
    records = confluent_consume(broker.bootstrap, topic, [0], {0: n})
    assert [(r.offset, r.value[:8]) for r in records] == [(i, b"%08d" % i) for i in range(n)]
