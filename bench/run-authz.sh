#!/usr/bin/env bash
# Issue 18's benchmark (bench/authz.py): produce with and without the StandardAuthorizer.
# Arguments go to authz.py,
# e.g. a quick look: bench/run-authz.sh --produce-mib 64 --repeat 1
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli -p rafka-bench-floor
exec .venv/bin/python bench/authz.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --floor "$CARGO_TARGET_DIR/release/rafka-floor" --command "bench/run-authz.sh" "$@"
