#!/usr/bin/env bash
# Confluent's JDBC connectors on rafka's Connect worker (bench/connect_jdbc.py): source and
# sink rows/s of 1 KiB rows and the worker's CPU seconds per 1M rows, beside PostgreSQL's
# own COPY out of / into the same table. Rewrites its section of bench/RESULTS.md.
# A few minutes with the default 200k rows; e.g. a quick look: bench/run-connect-jdbc.sh --rows 20000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
scripts/setup-postgres.sh >/dev/null
exec .venv/bin/python bench/connect_jdbc.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --command "bench/run-connect-jdbc.sh" "$@"
