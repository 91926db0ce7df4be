#!/usr/bin/env bash
# Runs one rafka tool: `rafka-run.sh <tool> [args...]` execs `rafka <tool> [args...]`.
# Sourced instead (by kafka-server-start.sh), it only defines `rafka_find_binary`.
#
# The binary is, in this order: $RAFKA_BIN; <this checkout>/target/release/rafka;
# ${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}/release/rafka (where the project's
# build puts it); `rafka` on the PATH.

# The directory a script really lives in, following symlinks (so that a link in
# /usr/local/bin, or `$KAFKA_HOME/bin/...` from any directory, finds its siblings).
rafka_script_dir() {
  local source_path=$1 dir
  while [ -L "$source_path" ]; do
    dir=$(cd -P "$(dirname "$source_path")" && pwd)
    source_path=$(readlink "$source_path")
    case $source_path in
      /*) ;;
      *) source_path=$dir/$source_path ;;
    esac
  done
  cd -P "$(dirname "$source_path")" && pwd
}

rafka_find_binary() {
  local base candidate
  base=$(cd "$(rafka_script_dir "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -n "${RAFKA_BIN:-}" ]; then
    if [ ! -x "$RAFKA_BIN" ]; then
      echo "RAFKA_BIN is set to $RAFKA_BIN, which is not an executable file" >&2
      return 1
    fi
    echo "$RAFKA_BIN"
    return 0
  fi
  for candidate in "$base/target/release/rafka" \
    "${CARGO_TARGET_DIR:-$HOME/.cache/rafka/target}/release/rafka"; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  if candidate=$(command -v rafka 2>/dev/null); then
    echo "$candidate"
    return 0
  fi
  echo "Cannot find the rafka binary: run 'cargo build --release' in $base, or set RAFKA_BIN to its path" >&2
  return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ $# -lt 1 ]; then
    echo "USAGE: $0 <tool> [options]" >&2
    exit 1
  fi
  rafka_binary=$(rafka_find_binary) || exit 1
  exec "$rafka_binary" "$@"
fi
