"""Differential test of the Connect REST API: Kafka's own worker (connect-runtime 4.1.1
with connect-file, from tests/clients/kafka-tools's classpath) and rafka's, both on one
rafka broker, get the same requests; status codes and bodies must match after the worker
ids are normalised. Both modes: `ConnectStandalone` against `rafka connect-standalone`,
and `ConnectDistributed` against `rafka connect-distributed` (each its own one-worker
cluster: group and internal topics of its own).

Left out, with why: Kafka answers 500 to a task restart of an unknown connector and to a
POST without `config` (NullPointerExceptions), and `GET /` differs in `commit`. rafka also has Confluent's JDBC connectors
built in, which Kafka's worker here lacks: they are taken out of rafka's plugin lists (and of
its unknown-class message, which lists the available connectors) before comparing.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from compat_helpers import (KAFKA_TOOLS_CLASSPATH, confluent_admin, confluent_create_topic,
                            confluent_produce, kafka_java_cmd, topic_name, wait_until)
from connect_helpers import ConnectWorker, request


def distributed_keys(group: str) -> dict[str, str]:
    return {"group.id": group, "config.storage.topic": f"{group}-configs",
            "offset.storage.topic": f"{group}-offsets",
            "status.storage.topic": f"{group}-status",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1"}


@pytest.fixture(scope="module", params=["standalone", "distributed"])
def workers(request, broker, tmp_path_factory):
    if not KAFKA_TOOLS_CLASSPATH.is_file() or "connect-file" not in KAFKA_TOOLS_CLASSPATH.read_text():
        pytest.fail(f"{KAFKA_TOOLS_CLASSPATH} lacks connect-file: run scripts/setup-java.sh",
                    pytrace=False)
    mode = request.param
    main_class = {"standalone": "org.apache.kafka.connect.cli.ConnectStandalone",
                  "distributed": "org.apache.kafka.connect.cli.ConnectDistributed"}[mode]
    keys = (lambda group: distributed_keys(group)) if mode == "distributed" else (lambda _: None)
    kafka = ConnectWorker(tmp_path_factory.mktemp(f"kafka-connect-{mode}"), broker.bootstrap,
                          command=[*kafka_java_cmd(), main_class],
                          distributed=keys("oracle-kafka"))
    rafka = ConnectWorker(tmp_path_factory.mktemp(f"rafka-connect-{mode}"), broker.bootstrap,
                          distributed=keys("oracle-rafka"))
    kafka.start()
    rafka.start()
    yield kafka, rafka
    rafka.stop()
    kafka.stop()


RAFKA_ONLY_PLUGIN = "io.confluent.connect.jdbc."


def without_rafka_only_plugins(answer):
    """rafka's answer as a worker without the JDBC connectors would give it."""
    code, body = answer
    if isinstance(body, list):
        body = [p for p in body
                if not (isinstance(p, dict) and str(p.get("class", "")).startswith(RAFKA_ONLY_PLUGIN))]
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        body = {**body, "message": re.sub(r"PluginDesc\{klass=class io\.confluent\.connect\.jdbc\.[^}]*\}, ",
                                          "", body["message"])}
    return code, body


def normalised(worker: ConnectWorker, answer):
    text = json.dumps(answer, sort_keys=True)
    text = text.replace(f"127.0.0.1:{worker.port}", "WORKER")
    return json.loads(re.sub(r'"last_modified": \d+', '"last_modified": 0', text))


def same(workers, method, path, body=None):
    kafka, rafka = workers
    expected = normalised(kafka, request(kafka, method, path, body))
    actual = normalised(rafka, without_rafka_only_plugins(request(rafka, method, path, body)))
    assert actual == expected, f"{method} {path}:\nkafka: {expected}\nrafka: {actual}"
    return actual


def same_validation(workers, plugin, body):
    """`config/validate`, compared on what it decides: the error count, groups, and each
    key's errors and given value (`same_validation_answer` compares the whole answer)."""
    def essence(worker):
        code, answer = request(worker, "PUT", f"/connector-plugins/{plugin}/config/validate",
                               body)
        if code != 200:
            return code, answer
        return code, {"name": answer["name"], "error_count": answer["error_count"],
                      "groups": answer["groups"],
                      "configs": [(c["definition"]["name"], c["value"]["errors"],
                                   c["value"]["value"] if c["definition"]["name"] in body
                                   else None)
                                  for c in answer["configs"]]}
    kafka, rafka = workers
    assert essence(rafka) == essence(kafka)


def same_validation_answer(workers, body):
    """The whole `config/validate` answer: definitions, values, recommended values,
    errors, groups and the order of the keys."""
    path = f"/connector-plugins/{body['connector.class']}/config/validate"
    kafka, rafka = workers
    expected = request(kafka, "PUT", path, body)
    actual = request(rafka, "PUT", path, body)
    assert actual == expected, f"PUT {path} {body}:\n" + "\n".join(
        f"kafka: {k}\nrafka: {r}" for k, r in zip(expected[1]["configs"], actual[1]["configs"])
        if k != r)


def settle(workers, name, connector_state, task_states):
    for worker in workers:
        def check():
            code, status = request(worker, "GET", f"/connectors/{name}/status")
            return code == 200 and status["connector"]["state"] == connector_state and \
                [t["state"] for t in status["tasks"]] == task_states
        wait_until(check, timeout_s=30, what=f"{name} {connector_state} {task_states}")


def test_rest_answers_match_kafkas_worker(workers, tmp_path):
    source_file = tmp_path / "in.txt"
    source_file.write_text("a\nb\n")
    topic = f"oracle-{int(time.time() * 1000)}"
    source = {"connector.class": "FileStreamSource", "file": str(source_file), "topic": topic}
    same(workers, "GET", "/connectors")
    same(workers, "GET", "/health")
    same(workers, "GET", "/connector-plugins")
    same(workers, "GET", "/connector-plugins/FileStreamSink/config")
    same(workers, "POST", "/connectors", {"name": "x", "config": {"connector.class": "Nope"}})
    same(workers, "POST", "/connectors",
         {"name": "x", "config": {"connector.class": "FileStreamSource", "tasks.max": "0"}})
    same(workers, "POST", "/connectors", {"config": {"connector.class": "FileStreamSink",
                                                     "topics": "t"}})
    same(workers, "GET", "/connectors/x")
    same(workers, "GET", "/connectors/x/status")
    same(workers, "GET", "/connectors/x/tasks/0/status")
    same(workers, "GET", "/no/such/route")
    same(workers, "PUT", "/connector-plugins/FileStreamSink/config/validate",
         {"connector.class": "FileStreamSource"})
    same_validation(workers, "FileStreamSink",
                    {"connector.class": "FileStreamSink", "name": "k", "topics": "a",
                     "topics.regex": "b", "errors.tolerance": "some"})
    same_validation(workers, "FileStreamSource",
                    {"connector.class": "FileStreamSource", "name": "s", "batch.size": "x",
                     "tasks.max": "many"})

    same(workers, "GET", "/connector-plugins?connectorsOnly=false")
    same(workers, "GET", "/connector-plugins/BooleanConverter/config")
    same(workers, "GET", "/connector-plugins/StringConverter/config")
    sink = {"connector.class": "FileStreamSink", "name": "k", "topics": "a"}
    same_validation_answer(workers, sink)
    same_validation_answer(workers, {
        **sink, "transforms": "f,r",
        "transforms.f.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.f.predicate": "p",
        "transforms.r.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.r.regex": "x", "transforms.r.replacement": "y", "predicates": "p,h",
        "predicates.p.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.p.pattern": "a.*",
        "predicates.h.type": "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        "predicates.h.name": "x"})
    same_validation_answer(workers, {**sink, "transforms": "f,g", "transforms.g.type": "Nope",
                                     "predicates": "p"})
    same_validation_answer(workers, {
        **source, "name": "s",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "nope",
        "header.converter": "org.apache.kafka.connect.converters.BooleanConverter"})
    same_validation_answer(workers, {**source, "name": "s", "key.converter": "x.Y",
                                     "value.converter": "IntegerConverter"})

    same(workers, "POST", "/connectors", {"name": "s", "config": source})
    same(workers, "POST", "/connectors", {"name": "s", "config": source})
    settle(workers, "s", "RUNNING", ["RUNNING"])
    same(workers, "GET", "/connectors/s")
    same(workers, "GET", "/connectors/s/status")
    same(workers, "GET", "/connectors/s/tasks")
    same(workers, "GET", "/connectors/s/tasks/0/status")
    same(workers, "GET", "/connectors/s/tasks/5/status")
    same(workers, "GET", "/connectors?expand=status&expand=info")
    offsets = {"offsets": [{"partition": {"filename": str(source_file)},
                            "offset": {"position": 4}}]}
    for worker in workers:
        wait_until(lambda: request(worker, "GET", "/connectors/s/offsets")[1] == offsets,
                   timeout_s=30, what="the source offset")
    same(workers, "GET", "/connectors/s/topics")
    same(workers, "DELETE", "/connectors/s/offsets")
    same(workers, "PATCH", "/connectors/s/offsets", {"offsets": []})
    same(workers, "PUT", "/connectors/s/pause")
    settle(workers, "s", "PAUSED", ["PAUSED"])
    same(workers, "GET", "/connectors/s/status")
    same(workers, "PUT", "/connectors/s/resume")
    settle(workers, "s", "RUNNING", ["RUNNING"])
    same(workers, "PUT", "/connectors/s/stop")
    settle(workers, "s", "STOPPED", [])
    same(workers, "GET", "/connectors/s/status")
    same(workers, "GET", "/connectors/s/tasks")
    same(workers, "PATCH", "/connectors/s/offsets",
         {"offsets": [{"partition": {"filename": str(source_file)}, "offset": {"position": 2}}]})
    same(workers, "GET", "/connectors/s/offsets")
    same(workers, "DELETE", "/connectors/s/offsets")
    same(workers, "GET", "/connectors/s/offsets")
    same(workers, "PATCH", "/connectors/s/config", {"batch.size": "5"})
    same(workers, "PUT", "/connectors/s/config", {**source, "name": "q"})
    same(workers, "GET", "/admin/loggers/no.such.logger")
    same(workers, "PUT", "/admin/loggers/x", {})
    same(workers, "PUT", "/admin/loggers/org.apache.kafka.connect", {"level": "DEBUG"})
    same(workers, "DELETE", "/connectors/s")
    same(workers, "DELETE", "/connectors/s")


def test_sink_offsets_reset_one_partition_as_kafkas_worker_does(broker, workers, tmp_path):
    """PATCH with a null offset deletes that partition's committed offset
    (DeleteConsumerGroupOffsets). Both workers share the broker and the sink's group
    (`connect-k`), so they take turns: each runs the whole scenario, then resets the group."""
    topic = topic_name("oracle-sink")
    confluent_create_topic(confluent_admin(broker.bootstrap), topic, partitions=2)
    confluent_produce(broker.bootstrap, topic,
                      [{"value": b'"a"', "partition": 0}, {"value": b'"b"', "partition": 0},
                       {"value": b'"c"', "partition": 1}])

    def partition(p):
        return {"kafka_topic": topic, "kafka_partition": p}

    def scenario(worker):
        sink = {"connector.class": "FileStreamSink", "topics": topic,
                "file": str(tmp_path / f"{worker.port}.txt"),
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false"}
        answers = [request(worker, "POST", "/connectors", {"name": "k", "config": sink})[0]]
        both = {"offsets": [{"partition": partition(0), "offset": {"kafka_offset": 2}},
                            {"partition": partition(1), "offset": {"kafka_offset": 1}}]}

        def committed():
            code, body = request(worker, "GET", "/connectors/k/offsets")
            return code == 200 and sorted(body["offsets"], key=json.dumps) == both["offsets"]
        wait_until(committed, timeout_s=60, what="the sink's committed offsets")
        answers.append(request(worker, "PUT", "/connectors/k/stop"))
        settle([worker], "k", "STOPPED", [])
        answers.append(request(worker, "PATCH", "/connectors/k/offsets",
                               {"offsets": [{"partition": partition(0), "offset": None}]}))
        answers.append(request(worker, "GET", "/connectors/k/offsets"))
        answers.append(request(worker, "PATCH", "/connectors/k/offsets",
                               {"offsets": [{"partition": partition(0), "offset": {"kafka_offset": 1}},
                                            {"partition": partition(1), "offset": None}]}))
        answers.append(request(worker, "GET", "/connectors/k/offsets"))
        answers.append(request(worker, "DELETE", "/connectors/k/offsets"))
        answers.append(request(worker, "DELETE", "/connectors/k"))
        return answers

    kafka, rafka = workers
    expected = scenario(kafka)
    assert expected[3] == (200, {"offsets": [{"partition": partition(1),
                                              "offset": {"kafka_offset": 1}}]})
    assert scenario(rafka) == expected
