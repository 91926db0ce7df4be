#!/usr/bin/env bash
# Issue 13's benchmarks (bench/idempotence.py): idempotent vs plain produce CPU per GB,
# transactional throughput, EndTxn-to-visible latency. Arguments go to idempotence.py,
# e.g. a quick look: bench/run-idempotence.sh --produce-mib 64 --repeat 1 --transactions 20
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli -p rafka-bench-floor
exec .venv/bin/python bench/idempotence.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --floor "$CARGO_TARGET_DIR/release/rafka-floor" --command "bench/run-idempotence.sh" "$@"
