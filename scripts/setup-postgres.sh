#!/usr/bin/env bash
# PostgreSQL's server programs for the Kafka Connect JDBC tests (tests/compat/pg_helpers.py):
# Debian's `postgresql` package, installed only when no initdb/pg_ctl is found. The tests
# start their own server on a free loopback port in a temporary directory and stop it
# afterwards; as root they run it as the `postgres` OS user (the server refuses root),
# which the package creates. The cluster Debian's package starts on port 5432 is stopped:
# nothing depends on it.
#
# Prints the directory of the server programs. Needs apt-get (as root, or sudo) only on the
# first run.
set -euo pipefail

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/pg_ctl" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then
            echo "$dir"
        fi
    done | sort -V | tail -1
}

bin="$(find_bin)"
if [[ -z "$bin" ]]; then
    sudo=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "setup-postgres: not root and no sudo: cannot install postgresql" >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "setup-postgres: installing Debian's postgresql" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql >/dev/null
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters --no-header 2>/dev/null | while read -r version name _; do
            "${sudo[@]}" pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
        done
    fi
    bin="$(find_bin)"
    [[ -n "$bin" ]] || { echo "setup-postgres: postgresql installed but no server programs found" >&2; exit 1; }
fi
if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    echo "setup-postgres: running as root needs the postgres OS user (Debian's package creates it)" >&2
    exit 1
fi
echo "setup-postgres: $("$bin/postgres" --version) in $bin" >&2
echo "$bin"
