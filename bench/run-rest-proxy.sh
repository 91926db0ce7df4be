#!/usr/bin/env bash
# The REST proxy's benchmark (bench/rest_proxy.py): REST v2 JSON produce through
# `rafka rest-proxy` against librdkafka's producer-perf-test, records/s and CPU per GB.
# Arguments go to rest_proxy.py, e.g. a quick look:
#   bench/run-rest-proxy.sh --produce-mib 64
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}"
cargo build --release -p rafka-cli
exec python3 bench/rest_proxy.py --rafka "$CARGO_TARGET_DIR/release/rafka" "$@"
