#!/usr/bin/env bash
# zookeeper-server-start.sh: rafka runs without ZooKeeper; says so and how to start it.
bin=$(dirname "$0")
echo "rafka needs no ZooKeeper: it runs in KRaft mode, with its own metadata quorum. Start the server instead: $bin/kafka-storage.sh format --standalone -t \"\$($bin/kafka-storage.sh random-uuid)\" -c config/server.properties && $bin/kafka-server-start.sh config/server.properties" >&2
exit 1
