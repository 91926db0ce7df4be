#!/usr/bin/env bash
# kafka-rest-stop.sh: sends SIGTERM to the running REST proxies (`rafka rest-proxy`), as
# Confluent's script stops its KafkaRestMain processes.
pids=$(pgrep -f 'rafka rest-proxy( |$)' || true)
if [ -z "$pids" ]; then
  echo "No REST proxy to stop" >&2
  exit 1
fi
kill -TERM $pids
