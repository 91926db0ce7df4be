#!/usr/bin/env bash
# zookeeper-server-stop.sh: rafka runs without ZooKeeper, so there is none to stop.
echo "rafka needs no ZooKeeper, so there is no ZooKeeper server to stop; stop the server with $(dirname "$0")/kafka-server-stop.sh" >&2
exit 1
