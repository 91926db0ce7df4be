#!/usr/bin/env bash
# Issue 17's benchmark (bench/share.py): 1, 4 and 16 share consumers on one partition
# beside a classic consumer group, on Apache Kafka's own perf tools (scripts/setup-java.sh).
# Arguments go to share.py, e.g. a quick look: bench/run-share.sh --records 100000 --repeat 1
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
scripts/setup-java.sh >/dev/null
exec .venv/bin/python bench/share.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --command "bench/run-share.sh" "$@"
