#!/usr/bin/env bash
# Install the KafkaJS compat client's packages into tests/clients/kafkajs/node_modules.
#
# Idempotent and fast when nothing changed: `npm ci` runs only when package-lock.json
# (or the Node.js version) differs from the stamp written by the last successful install.
# npm's cache lives outside the clone ($HOME/.cache/rafka/npm), so a fresh clone reinstalls
# from it without the registry.
#
# Needs only node and npm. Every package in the lockfile is plain JavaScript or wasm:
# install scripts are not run (--ignore-scripts), so nothing is compiled.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/tests/clients/kafkajs"
STAMP="$DIR/node_modules/.rafka-lockfile.sha256"
CACHE="${RAFKA_NPM_CACHE:-$HOME/.cache/rafka/npm}"

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "setup-node: $tool not found" >&2; exit 1; }
done

want_stamp="$( { node --version; cat "$DIR/package.json" "$DIR/package-lock.json"; } | sha256sum | cut -d' ' -f1)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] \
    && (cd "$DIR" && node -e 'require("kafkajs"); require("kafkajs-snappy"); require("lz4js"); require("@bokuweb/zstd-wasm")') 2>/dev/null; then
    echo "setup-node: $DIR/node_modules is up to date"
    exit 0
fi

echo "setup-node: npm ci in $DIR"
rm -f "$STAMP"
mkdir -p "$CACHE"
(cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --cache "$CACHE")
(cd "$DIR" && node -e '
const { version } = require("kafkajs/package.json");
if (version !== "2.2.4") { console.error(`setup-node: kafkajs ${version}, want 2.2.4`); process.exit(1) }
require("kafkajs-snappy"); require("lz4js"); require("@bokuweb/zstd-wasm")
console.log(`setup-node: kafkajs ${version} (node ${process.version})`)')
echo "$want_stamp" >"$STAMP"
