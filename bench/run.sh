#!/usr/bin/env bash
# One command for the throughput benchmark: build the release broker, set up the Python
# venv, run bench/bench.py (producer then consumer, 100 B and 1 KiB records) and write
# bench/RESULTS.md. Extra arguments go to bench.py (see `bench/run.sh --help`), e.g.
# `bench/run.sh --seconds 5 --no-write` for a quick look.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
scripts/setup-python.sh
exec .venv/bin/python bench/bench.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --command "bench/run.sh${*:+ $*}" "$@"
