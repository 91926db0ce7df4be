"""Subscriptions that change while a group consumes, and the online upgrade of a classic
group to a consumer group, with the Java client 4.1.1 (KIP-848's reference client).

The scenarios are rafka.compat.GroupSubscriptions (tests/clients/java, built by
scripts/setup-java.sh). Each runs against Apache Kafka 4.1.1 (the `kafka_oracle` fixture),
which proves that the expectations written in the program are Kafka's answers, and then
against rafka: a regex subscription follows topics created and deleted, re-subscribing
(regex → regex → list → regex → client-side regex, the same list repeatedly) converges
to the assignment Kafka gives, two members with different subscriptions split what each
may take, and a consumer-protocol member joining a running classic group shares its
partitions with the classic member without a record consumed twice.
"""

from __future__ import annotations

import pytest

from oracle import kafka_oracle  # noqa: F401 - the session's Kafka, a fixture
from test_java_client import java_cmd, run_program  # noqa: F401 - java_cmd is a fixture

MAIN_CLASS = "rafka.compat.GroupSubscriptions"
SCENARIOS = ["regex-topics-come-and-go", "resubscribe", "two-subscriptions", "online-upgrade"]


@pytest.fixture(scope="module")
def program(java_cmd):  # noqa: F811
    return java_cmd[:-1] + [MAIN_CLASS]


def test_program_lists_the_scenarios_run_here(program):
    proc = run_program(program, ["--list"], timeout_s=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == SCENARIOS


def run_scenario(program, scenario: str, bootstrap: str, who: str) -> None:
    proc = run_program(program, [scenario], bootstrap=bootstrap)
    if proc.returncode != 0 or f"PASS {scenario}" not in proc.stdout:
        pytest.fail(f"{who}: scenario {scenario} failed (exit {proc.returncode})\n"
                    f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr[-6000:]}",
                    pytrace=False)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_kafka_gives_the_expected_assignments(kafka_oracle, program, scenario):  # noqa: F811
    run_scenario(program, scenario, kafka_oracle.bootstrap, "Apache Kafka")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rafka_gives_kafkas_assignments(broker, program, scenario):
    run_scenario(program, scenario, broker.bootstrap, "rafka")
