#!/usr/bin/env bash
# librdkafka (the tools' and services' Kafka client, built by rdkafka-sys) is built with
# TLS and SCRAM against the system's OpenSSL 3, found through pkg-config and linked
# dynamically: building needs Debian's `libssl-dev` and `pkg-config` (vendoring OpenSSL
# instead costs ~6 minutes of every clean build). This checks for them and, when they are
# missing, installs them with apt-get (as root, or with sudo), as setup-postgres.sh does.
set -euo pipefail

if command -v pkg-config >/dev/null && pkg-config --exists openssl; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "setup-openssl: building rafka needs OpenSSL's development files and pkg-config (Debian: apt-get install libssl-dev pkg-config); neither apt-get nor 'pkg-config openssl' found" >&2
    exit 1
fi
sudo=()
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup-openssl: libssl-dev/pkg-config are missing and this is not root and has no sudo: install them (apt-get install libssl-dev pkg-config)" >&2; exit 1; }
    sudo=(sudo)
fi
echo "setup-openssl: installing Debian's libssl-dev and pkg-config (librdkafka's TLS and SCRAM)" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq libssl-dev pkg-config >/dev/null
pkg-config --exists openssl || { echo "setup-openssl: libssl-dev installed but pkg-config does not find openssl" >&2; exit 1; }
