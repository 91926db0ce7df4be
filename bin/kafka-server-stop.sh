#!/usr/bin/env bash
# kafka-server-stop.sh [--process-role=broker|controller | --node-id=N]
# Sends SIGTERM to the running `rafka server` processes (a clean shutdown: logs flushed),
# or to those whose configuration has the given role or node id (KIP-979's options).
usage() {
  echo "USAGE: $0 [--process-role=broker|controller | --node-id=N]" >&2
  exit 1
}
role=""
node_id=""
for arg in "$@"; do
  case $arg in
    --process-role=*) role=${arg#*=} ;;
    --node-id=*) node_id=${arg#*=} ;;
    *) usage ;;
  esac
done
if [ -n "$role" ] && [ -n "$node_id" ]; then
  echo "Only one of --process-role or --node-id may be given" >&2
  exit 1
fi

# The value of `key` for a server started with these arguments, in process `pid`'s
# directory: a later --override wins over the file; the embedded default is node 1
# with both roles.
server_property() {
  local pid=$1 key=$2 value="" config="" previous="" word
  shift 2
  for word in "$@"; do
    if [ "$previous" = start ] && [ -z "$config" ]; then
      config=$word
    fi
    if [ "$previous" = --override ]; then
      case $word in "$key"=*) value=${word#*=} ;; esac
    fi
    case $word in --override="$key"=*) value=${word#*=*=} ;; esac
    previous=$word
  done
  if [ -z "$value" ] && [ -n "$config" ]; then
    case $config in
      /*) ;;
      *) config=/proc/$pid/cwd/$config ;;
    esac
    if [ -r "$config" ]; then
      value=$(sed -n "s/^[[:space:]]*$key[[:space:]]*[=:][[:space:]]*//p" "$config" | tail -n 1)
    fi
  fi
  if [ -z "$value" ] && [ -z "$config" ]; then
    case $key in
      node.id | broker.id) value=1 ;;
      process.roles) value=broker,controller ;;
    esac
  fi
  printf '%s' "${value%"${value##*[![:space:]]}"}"
}

set -f # process arguments are words, not globs
pids=()
while read -r pid command rest; do
  [ "${command##*/}" = rafka ] || continue
  # shellcheck disable=SC2086 # the arguments, word by word
  set -- $rest
  [ "${1:-}" = server ] || continue
  if [ -n "$node_id" ]; then
    id=$(server_property "$pid" node.id "$@")
    [ -n "$id" ] || id=$(server_property "$pid" broker.id "$@")
    [ "$id" = "$node_id" ] || continue
  fi
  if [ -n "$role" ]; then
    roles=$(server_property "$pid" process.roles "$@")
    case ",${roles// /}," in *",$role,"*) ;; *) continue ;; esac
  fi
  pids+=("$pid")
done < <(ps axww -o pid=,args=)

if [ ${#pids[@]} -eq 0 ]; then
  echo "No kafka server to stop"
  exit 1
fi
kill -s TERM "${pids[@]}"
