#!/usr/bin/env bash
# The gRPC service's client-streaming produce (bench/grpc_produce.py): records/s of 1 KiB values
# and the service's CPU per GB, next to a native librdkafka producer. Needs the compat
# venv's grpcio-tools (scripts/setup-python.sh). Arguments go to grpc_produce.py, e.g. a quick look:
#   bench/run-grpc.sh --produce-mib 64 --repeat 1 --no-write
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
scripts/setup-python.sh >/dev/null
exec .venv/bin/python bench/grpc_produce.py --rafka "$CARGO_TARGET_DIR/release/rafka" "$@"
