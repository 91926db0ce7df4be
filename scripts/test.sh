#!/usr/bin/env bash
# The project's test command (the README's `./scripts/test.sh`; `.ci/run` calls it).
#
# Builds the release broker, checks formatting, the crate borders, module cycles and lints, runs the
# Rust tests, then the compat tests with real Kafka clients (Python confluent-kafka and
# kafka-python) against the freshly built `rafka` binary.
#
# Needs: rustup's cargo (with rustfmt and clippy), python3, and OpenSSL's development
# files with pkg-config (scripts/setup-openssl.sh installs them with apt-get when
# missing). cargo-nextest is used when installed. Python packages go into ./.venv
# (scripts/setup-python.sh); nothing else is installed system-wide.
#
# Extra arguments are passed to pytest, e.g. `./scripts/test.sh -k acks -x`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# A shared target dir so CI on a fresh clone reuses earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
export RAFKA_BIN="$CARGO_TARGET_DIR/release/rafka"

started=$SECONDS
section() {
    printf '\n==== %s  [+%ds] ====\n' "$*" "$((SECONDS - started))"
}
trap 'rc=$?; if ((rc != 0)); then printf "\n==== FAILED (exit %d) after %ds ====\n" "$rc" "$((SECONDS - started))"; fi' EXIT

section "build dependencies (libssl-dev, pkg-config)"
scripts/setup-openssl.sh

section "cargo build --release -p rafka-cli"
cargo build --release -p rafka-cli
test -x "$RAFKA_BIN" || { echo "expected broker binary at $RAFKA_BIN" >&2; exit 1; }

section "cargo fmt --check"
cargo fmt --all -- --check

section "crate borders"
# Only rafka-cli depends on the broker, protocol has no tokio, dependencies point down
# DESIGN.md's crate list; the self-test first shows that each rule can fail.
python3 scripts/check-crate-borders.py --self-test
python3 scripts/check-crate-borders.py

section "module cycles"
# No module of a crate reaches, through the others, back to itself; the self-test first
# shows that a cycle is found.
python3 scripts/check-module-cycles.py --self-test
python3 scripts/check-module-cycles.py

section "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
    section "cargo nextest run --workspace"
    cargo nextest run --workspace --no-tests=warn --no-fail-fast
    # nextest does not run doctests.
    section "cargo test --doc --workspace"
    cargo test --workspace --doc
else
    section "cargo test --workspace"
    # Every test binary runs even when one fails, so one run shows every failure.
    cargo test --workspace --no-fail-fast
fi

section "python venv (scripts/setup-python.sh)"
scripts/setup-python.sh

section "Apache Kafka for the differential tests (scripts/setup-kafka.sh)"; scripts/setup-kafka.sh
section "KafkaJS for the compat tests (scripts/setup-node.sh)"; scripts/setup-node.sh
section "Go clients for the compat tests (scripts/setup-go.sh)"; scripts/setup-go.sh
section "Java client, Kafka Streams and Kafka's Java tools for the compat tests (scripts/setup-java.sh)"; scripts/setup-java.sh
section "Connect's internal topics against Kafka's own stores (needs the jars of setup-java.sh)"
# `--workspace` (not `-p rafka-connect`): the same feature set as the workspace's test
# build above, so nothing is compiled again (with `-p`, rustls, ring, rdkafka-sys and the
# connect crates were rebuilt for this one test: ~70 s).
cargo test --workspace --test kafka_oracle_storage -- --ignored
section "PostgreSQL for the Connect tests (scripts/setup-postgres.sh)"; scripts/setup-postgres.sh >/dev/null
section "compat tests (pytest tests/compat, 2 workers) against $RAFKA_BIN"
# Two workers, each running whole test files (module fixtures stay in one process); the
# ports they hand out are reserved in one directory so they never collide (conftest.py).
RAFKA_PORT_DIR="$(mktemp -d)"
export RAFKA_PORT_DIR
trap 'rc=$?; rm -rf "$RAFKA_PORT_DIR"; if ((rc != 0)); then printf "\n==== FAILED (exit %d) after %ds ====\n" "$rc" "$((SECONDS - started))"; fi' EXIT
.venv/bin/pytest tests/compat -q -n "${RAFKA_TEST_WORKERS:-2}" --dist loadfile --durations=30 "$@"

section "all tests passed"
