#!/usr/bin/env bash
# Issue 15's benchmark (bench/metrics.py): broker CPU per GB produced with /metrics on and
# scraped against off. Arguments go to metrics.py, e.g. a quick look:
#   bench/run-metrics.sh --produce-mib 64 --repeat 1
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
exec python3 bench/metrics.py --rafka "$CARGO_TARGET_DIR/release/rafka" "$@"
