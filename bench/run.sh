#!/usr/bin/env bash
# One command for rafka's benchmarks: build the release broker and the floor (bench/floor),
# then run bench/perf.py, which drives Kafka's perf tools (`rafka producer-perf-test`,
# `consumer-perf-test`, `e2e-latency`, on librdkafka) against the broker, a local 3-node
# cluster and the floor, and rewrites the measured section of bench/RESULTS.md. Extra
# arguments go to perf.py (`bench/run.sh --help`), e.g. a quick look that leaves
# RESULTS.md alone:
#   bench/run.sh --no-write --produce-mib 64 --consume-mib 64 --consume-passes 2 \
#       --recovery-mib 64 --latency-seconds 3 --e2e-records 500 --partitions-rss 1000
# `bench/run.sh --python [bench.py args]` runs the older Python-client harness
# (bench/bench.py, confluent-kafka) instead and rewrites its own section.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
COMMAND="bench/run.sh${*:+ $*}"
if [[ "${1:-}" == "--python" ]]; then
    shift
    cargo build --release -p rafka-cli
    scripts/setup-python.sh
    exec .venv/bin/python bench/bench.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
        --command "$COMMAND" "$@"
fi
cargo build --release -p rafka-cli -p rafka-bench-floor
RESULTS=(--results bench/RESULTS.md)
ARGS=()
for arg in "$@"; do
    if [[ "$arg" == "--no-write" ]]; then RESULTS=(); else ARGS+=("$arg"); fi
done
exec python3 bench/perf.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --floor "$CARGO_TARGET_DIR/release/rafka-floor" --command "$COMMAND" \
    ${RESULTS[@]+"${RESULTS[@]}"} ${ARGS[@]+"${ARGS[@]}"}
