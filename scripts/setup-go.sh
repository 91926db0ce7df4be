#!/usr/bin/env bash
# Download the Go compat clients' modules (tests/clients/go: franz-go and sarama, pinned
# in go.mod/go.sum) into Go's module cache.
#
# Idempotent and fast when nothing changed: `go mod download` only fetches what the
# module cache ($GOMODCACHE, default ~/go/pkg/mod) lacks, and checks every module
# against go.sum. Build and test caches stay in Go's defaults outside the clone
# (~/.cache/go-build). Needs only the go toolchain (on PATH or in /usr/local/go/bin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/tests/clients/go"

if ! command -v go >/dev/null; then
    if [[ -x /usr/local/go/bin/go ]]; then
        export PATH="/usr/local/go/bin:$PATH"
    else
        echo "setup-go: go not found (PATH or /usr/local/go/bin)" >&2
        exit 1
    fi
fi

cd "$DIR"
# -mod=readonly: a go.mod that needs changing is an error here, not an edit.
GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly" go mod download
pinned="$(go list -m -f '{{.Path}} {{.Version}}' \
    github.com/twmb/franz-go github.com/twmb/franz-go/pkg/kadm github.com/IBM/sarama)"
echo "setup-go: $(go version | cut -d' ' -f3), ${pinned//$'\n'/, }"
