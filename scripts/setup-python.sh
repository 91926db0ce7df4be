#!/usr/bin/env bash
# Create or refresh the compat-test virtualenv at <repo>/.venv.
#
# Idempotent and fast when nothing changed: the venv is rebuilt only when
# tests/compat/requirements.txt (or the interpreter) differs from the stamp written by
# the last successful install.
#
# Needs only python3 and access to PyPI. Debian's python3 ships without ensurepip
# unless python3-venv is installed; in that case pip is bootstrapped from its wheel
# on PyPI instead of installing anything system-wide.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/tests/compat/requirements.txt"
STAMP="$VENV/.rafka-requirements.sha256"
PYTHON="${PYTHON:-python3}"
# pip used only when the interpreter has no ensurepip (see bootstrap_pip).
BOOTSTRAP_PIP_VERSION="25.3"

command -v "$PYTHON" >/dev/null || { echo "setup-python: $PYTHON not found" >&2; exit 1; }

want_stamp="$( { "$PYTHON" -c 'import sys; print(sys.version)'; cat "$REQUIREMENTS"; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] \
    && "$VENV/bin/python" -c 'import confluent_kafka, kafka, pytest' 2>/dev/null; then
    echo "setup-python: $VENV is up to date"
    exit 0
fi

bootstrap_pip() {
    # Fetch pip's wheel from PyPI (the project's JSON gives its URL and sha256) and let the
    # wheel install itself: a pip wheel is runnable as `python pip.whl/pip`.
    local tmp
    tmp="$(mktemp -d)"
    "$VENV/bin/python" - "$BOOTSTRAP_PIP_VERSION" "$tmp" <<'PY'
import hashlib, json, sys, urllib.parse, urllib.request
version, out = sys.argv[1], sys.argv[2]
index = "https://pypi.org/pypi/pip/json"
meta = json.load(urllib.request.urlopen(index))
wheel = next(u for u in meta["releases"][version] if u["packagetype"] == "bdist_wheel")
# Mirrors may answer with URLs relative to the JSON document.
data = urllib.request.urlopen(urllib.parse.urljoin(index, wheel["url"])).read()
if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
    sys.exit("pip wheel sha256 mismatch")
with open(f"{out}/{wheel['filename']}", "wb") as f:
    f.write(data)
PY
    local wheel
    wheel="$(ls "$tmp"/pip-*.whl)"
    "$VENV/bin/python" "$wheel/pip" install --quiet --no-index "$wheel"
    rm -rf "$tmp"
}

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    echo "setup-python: creating $VENV"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        "$PYTHON" -m venv --without-pip "$VENV"
    fi
fi
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "setup-python: no pip in the venv; bootstrapping pip $BOOTSTRAP_PIP_VERSION from PyPI"
    bootstrap_pip
fi

echo "setup-python: installing $REQUIREMENTS"
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary=:all: -r "$REQUIREMENTS"
"$VENV/bin/python" - <<'PY'
# Fail here, not halfway through the compat run, if a codec is missing.
import confluent_kafka, kafka.codec as c
assert c.has_gzip() and c.has_snappy() and c.has_lz4() and c.has_zstd(), "kafka-python codecs missing"
print(f"setup-python: confluent-kafka {confluent_kafka.__version__} "
      f"(librdkafka {confluent_kafka.libversion()[0]}), kafka-python {__import__('kafka').__version__}")
PY
echo "$want_stamp" >"$STAMP"
