#!/usr/bin/env bash
# kafka-server-start.sh [-daemon] server.properties [--override property=value]*
# Runs `rafka server start`. With -daemon it runs in the background, detached from the
# terminal, its output in $LOG_DIR/kafkaServer.out (LOG_DIR defaults to <install>/logs),
# as Kafka's kafka-run-class.sh does.
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
  exit 1
fi
# Follow symlinks to the directory this script really lives in.
source_path=${BASH_SOURCE[0]}
while [ -L "$source_path" ]; do
  link_dir=$(cd -P "$(dirname "$source_path")" && pwd)
  source_path=$(readlink "$source_path")
  case $source_path in /*) ;; *) source_path=$link_dir/$source_path ;; esac
done
bin_dir=$(cd -P "$(dirname "$source_path")" && pwd)
# shellcheck source=rafka-run.sh
. "$bin_dir/rafka-run.sh"
rafka_binary=$(rafka_find_binary) || exit 1

daemon=false
while [ $# -gt 0 ]; do
  case $1 in
    -daemon) daemon=true; shift ;;
    # Accepted for Kafka's kafka-run-class.sh habits; rafka has no GC log or process name.
    -loggc) shift ;;
    -name) shift 2 ;;
    *) break ;;
  esac
done

if [ "$daemon" = true ]; then
  LOG_DIR=${LOG_DIR:-$(cd "$bin_dir/.." && pwd)/logs}
  mkdir -p "$LOG_DIR" || exit 1
  nohup "$rafka_binary" server start "$@" > "$LOG_DIR/kafkaServer.out" 2>&1 < /dev/null &
  exit 0
fi
exec "$rafka_binary" server start "$@"
