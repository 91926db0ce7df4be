"""Topic administration and offset queries through confluent-kafka's AdminClient."""

from __future__ import annotations

import pytest
from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, KafkaError, KafkaException,
                             TopicCollection, TopicPartition)
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                   NewPartitions, NewTopic, OffsetSpec, ResourceType)

from compat_helpers import (confluent_admin, confluent_consume, confluent_consumer,
                            confluent_create_topic, confluent_produce, now_ms, topic_name,
                            wait_for_leaders, wait_until)

TIMEOUT_S = 15


@pytest.fixture(scope="module")
def admin(broker):
    return confluent_admin(broker.bootstrap)


def create_error(admin, new_topic: NewTopic) -> KafkaError:
    future = admin.create_topics([new_topic], operation_timeout=TIMEOUT_S)[new_topic.topic]
    with pytest.raises(KafkaException) as info:
        future.result(timeout=TIMEOUT_S)
    return info.value.args[0]


def topic_config(admin, topic: str) -> dict:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(timeout=TIMEOUT_S)


def list_offset(admin, topic: str, partition: int, spec: OffsetSpec):
    tp = TopicPartition(topic, partition)
    return admin.list_offsets({tp: spec}, request_timeout=TIMEOUT_S)[tp].result(timeout=TIMEOUT_S)


def test_create_list_describe_delete_topics(broker, admin):
    names = {topic_name("cf-admin-a"): 1, topic_name("cf-admin-b"): 3, topic_name("cf-admin-c"): 5}
    futures = admin.create_topics([NewTopic(n, p, 1) for n, p in names.items()],
                                  operation_timeout=TIMEOUT_S)
    assert set(futures) == set(names)
    for f in futures.values():
        assert f.result(timeout=TIMEOUT_S) is None
    for n, p in names.items():
        wait_for_leaders(admin, n, p)

    metadata = admin.list_topics(timeout=TIMEOUT_S)
    for n, p in names.items():
        assert n in metadata.topics
        assert sorted(metadata.topics[n].partitions) == list(range(p))
        for part in metadata.topics[n].partitions.values():
            assert part.leader == broker.node_id
            assert part.replicas == [broker.node_id] and part.isrs == [broker.node_id]

    described = admin.describe_topics(TopicCollection(list(names)), request_timeout=TIMEOUT_S)
    for n, f in described.items():
        d = f.result(timeout=TIMEOUT_S)
        assert d.name == n and not d.is_internal
        assert [pi.id for pi in d.partitions] == list(range(names[n]))
        assert all(pi.leader.id == broker.node_id for pi in d.partitions)

    doomed = sorted(names)[:2]
    for f in admin.delete_topics(doomed, operation_timeout=TIMEOUT_S).values():
        assert f.result(timeout=TIMEOUT_S) is None
    remaining = admin.list_topics(timeout=TIMEOUT_S).topics
    assert not set(doomed) & set(remaining), "deleted topics still listed"
    assert sorted(names)[2] in remaining


def test_describe_cluster_shows_this_broker(broker, admin):
    cluster = admin.describe_cluster(request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S)
    assert [(n.id, n.host, n.port) for n in cluster.nodes] == [(broker.node_id, "127.0.0.1", broker.port)]
    assert cluster.controller is not None
    assert cluster.cluster_id
    assert admin.list_topics(timeout=TIMEOUT_S).cluster_id == cluster.cluster_id


def test_topic_configs_given_at_create_are_described(admin):
    topic = topic_name("cf-configs")
    wanted = {"retention.ms": "3600000", "cleanup.policy": "delete",
              "max.message.bytes": "2097152", "segment.bytes": "1048576"}
    confluent_create_topic(admin, topic, 1, wanted)
    configs = topic_config(admin, topic)
    for key, value in wanted.items():
        assert key in configs, f"{key} missing from DescribeConfigs"
        assert configs[key].value == value, f"{key}={configs[key].value}"
        source = getattr(configs[key].source, "value", configs[key].source)
        assert source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, f"{key} source {source}"
    # Unset keys are described with their defaults.
    assert configs["compression.type"].value == "producer"
    assert configs["compression.type"].is_default


def test_incremental_alter_configs_sets_and_deletes(admin):
    topic = topic_name("cf-incr")
    confluent_create_topic(admin, topic, 1, {"retention.ms": "3600000"})
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.bytes", "123456789", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
    ])
    admin.incremental_alter_configs([resource])[resource].result(timeout=TIMEOUT_S)
    configs = topic_config(admin, topic)
    assert configs["retention.bytes"].value == "123456789"
    assert configs["retention.ms"].value == "604800000" and configs["retention.ms"].is_default


# AlterConfigs is deprecated in favour of the incremental API, but clients still send it.
@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_alter_configs_replaces_the_topic_config(admin):
    topic = topic_name("cf-alter")
    confluent_create_topic(admin, topic, 1, {"retention.ms": "3600000"})
    resource = ConfigResource(ResourceType.TOPIC, topic, set_config={"cleanup.policy": "compact"})
    admin.alter_configs([resource])[resource].result(timeout=TIMEOUT_S)
    configs = topic_config(admin, topic)
    assert configs["cleanup.policy"].value == "compact"
    # AlterConfigs (non-incremental) replaces the whole set: retention.ms is back to default.
    assert configs["retention.ms"].is_default


@pytest.mark.parametrize("bad_name", ["bad name!", "a" * 250, "..", "with/slash"])
def test_invalid_topic_name_is_refused(admin, bad_name):
    err = create_error(admin, NewTopic(bad_name, 1, 1))
    assert err.code() == KafkaError.TOPIC_EXCEPTION, f"{bad_name!r}: {err}"


def test_creating_an_existing_topic_fails(admin):
    topic = topic_name("cf-exists")
    confluent_create_topic(admin, topic, 2)
    err = create_error(admin, NewTopic(topic, 2, 1))
    assert err.code() == KafkaError.TOPIC_ALREADY_EXISTS, str(err)


def test_zero_partitions_is_refused(admin):
    err = create_error(admin, NewTopic(topic_name("cf-zero"), 0, 1))
    assert err.code() == KafkaError.INVALID_PARTITIONS, str(err)


def test_replication_factor_above_broker_count_is_refused(admin):
    err = create_error(admin, NewTopic(topic_name("cf-rf3"), 1, 3))
    assert err.code() == KafkaError.INVALID_REPLICATION_FACTOR, str(err)


def test_unknown_topic_config_is_refused(admin):
    err = create_error(admin, NewTopic(topic_name("cf-badcfg"), 1, 1,
                                       config={"no.such.config": "1"}))
    assert err.code() == KafkaError.INVALID_CONFIG, str(err)


def test_list_offsets_earliest_latest_timestamp_and_max_timestamp(broker, admin):
    topic = topic_name("cf-listoff")
    confluent_create_topic(admin, topic, 1)
    base = now_ms() - 600_000
    timestamps = [base + i * 1000 for i in range(10)]
    timestamps[5] = base + 50_000  # the maximum sits in the middle of the log
    # One linger window, so all ten records share a batch: the broker must find the
    # exact record, not just the batch.
    reports = confluent_produce(broker.bootstrap, topic,
                                [dict(value=b"%d" % i, timestamp=ts) for i, ts in enumerate(timestamps)],
                                {"linger.ms": 200})
    assert sorted(off for _, _, _, off in reports) == list(range(10))

    assert list_offset(admin, topic, 0, OffsetSpec.earliest()).offset == 0
    assert list_offset(admin, topic, 0, OffsetSpec.latest()).offset == 10
    # First record whose timestamp is >= the target.
    assert list_offset(admin, topic, 0, OffsetSpec.for_timestamp(base + 2500)).offset == 3
    assert list_offset(admin, topic, 0, OffsetSpec.for_timestamp(base)).offset == 0
    # Offset 5 (timestamp base+50s) is the first one at or after base+6.5s, though
    # offsets 7.. have timestamps closer to it.
    hit = list_offset(admin, topic, 0, OffsetSpec.for_timestamp(base + 6500))
    assert (hit.offset, hit.timestamp) == (5, base + 50_000)
    assert list_offset(admin, topic, 0, OffsetSpec.for_timestamp(base + 100_000)).offset == -1
    top = list_offset(admin, topic, 0, OffsetSpec.max_timestamp())
    assert (top.offset, top.timestamp) == (5, base + 50_000)


def test_delete_records_advances_the_log_start_offset(broker, admin):
    topic = topic_name("cf-delrec")
    confluent_create_topic(admin, topic, 2)
    confluent_produce(broker.bootstrap, topic,
                      [dict(value=b"%d" % i, partition=i % 2) for i in range(200)])
    futures = admin.delete_records([TopicPartition(topic, 0, 40), TopicPartition(topic, 1, OFFSET_END)],
                                   operation_timeout=TIMEOUT_S)
    results = {tp.partition: f.result(timeout=TIMEOUT_S).low_watermark for tp, f in futures.items()}
    assert results == {0: 40, 1: 100}

    c = confluent_consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False) == (40, 100)
        assert c.get_watermark_offsets(TopicPartition(topic, 1), timeout=10, cached=False) == (100, 100)
    finally:
        c.close()
    assert list_offset(admin, topic, 0, OffsetSpec.earliest()).offset == 40
    records = confluent_consume(broker.bootstrap, topic, [0], {0: 100}, start=OFFSET_BEGINNING)
    assert [(r.offset, r.value) for r in records] == [(o, b"%d" % (2 * o)) for o in range(40, 100)]

    # Deleting below the current start is a no-op; past the high watermark is an error.
    tp = TopicPartition(topic, 0, 10)
    assert admin.delete_records([tp])[tp].result(timeout=TIMEOUT_S).low_watermark == 40
    tp = TopicPartition(topic, 0, 1000)
    with pytest.raises(KafkaException) as info:
        admin.delete_records([tp])[tp].result(timeout=TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE


def test_create_partitions_increases_the_count(broker, admin):
    topic = topic_name("cf-parts")
    confluent_create_topic(admin, topic, 2)
    futures = admin.create_partitions([NewPartitions(topic, 5)], operation_timeout=TIMEOUT_S)
    assert futures[topic].result(timeout=TIMEOUT_S) is None
    wait_for_leaders(admin, topic, 5)
    reports = confluent_produce(broker.bootstrap, topic, [dict(value=b"p4", partition=4)])
    assert [(err, p, off) for _, err, p, off in reports] == [(None, 4, 0)]
    assert [r.value for r in confluent_consume(broker.bootstrap, topic, [4], {4: 1})] == [b"p4"]

    for total in (3, 5):  # fewer or the same is refused
        f = admin.create_partitions([NewPartitions(topic, total)])[topic]
        with pytest.raises(KafkaException) as info:
            f.result(timeout=TIMEOUT_S)
        assert info.value.args[0].code() == KafkaError.INVALID_PARTITIONS, str(info.value)


def test_delete_then_recreate_at_once_gives_an_empty_topic(broker, admin):
    topic = topic_name("cf-recreate")
    confluent_create_topic(admin, topic, 1)
    confluent_produce(broker.bootstrap, topic, [dict(value=b"old-%d" % i) for i in range(100)])
    admin.delete_topics([topic], operation_timeout=TIMEOUT_S)[topic].result(timeout=TIMEOUT_S)
    # No retry: Kafka (KRaft) allows the name again as soon as DeleteTopics returned.
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=TIMEOUT_S)[topic].result(timeout=TIMEOUT_S)
    wait_for_leaders(admin, topic, 1)

    wait_until(lambda: list_offset(admin, topic, 0, OffsetSpec.latest()).offset == 0,
               TIMEOUT_S, "latest offset 0 of the recreated topic")
    reports = confluent_produce(broker.bootstrap, topic, [dict(value=b"new")])
    assert [(err, off) for _, err, _, off in reports] == [(None, 0)]
    records = confluent_consume(broker.bootstrap, topic, [0], {0: 1})
    assert [(r.offset, r.value) for r in records] == [(0, b"new")]


def test_delete_unknown_topic_reports_unknown_topic(admin):
    name = topic_name("cf-never")
    with pytest.raises(KafkaException) as info:
        admin.delete_topics([name], operation_timeout=TIMEOUT_S)[name].result(timeout=TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
