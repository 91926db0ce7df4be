#!/usr/bin/env bash
# Issue 18's TLS benchmark (bench/tls.py): SASL_SSL against PLAINTEXT on one broker.
# Arguments go to tls.py, e.g. a quick look: bench/run-tls.sh --mib 64 --repeat 1
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
exec .venv/bin/python bench/tls.py --rafka "$CARGO_TARGET_DIR/release/rafka" \
    --command "bench/run-tls.sh" "$@"
