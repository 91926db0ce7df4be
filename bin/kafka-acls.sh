#!/usr/bin/env bash
# kafka-acls.sh: rafka's `acls` tool, with the flags of Kafka's script of this name.
# Follow symlinks to the directory this script really lives in.
source_path=${BASH_SOURCE[0]}
while [ -L "$source_path" ]; do
  link_dir=$(cd -P "$(dirname "$source_path")" && pwd)
  source_path=$(readlink "$source_path")
  case $source_path in /*) ;; *) source_path=$link_dir/$source_path ;; esac
done
bin_dir=$(cd -P "$(dirname "$source_path")" && pwd)
exec "$bin_dir/rafka-run.sh" acls "$@"
