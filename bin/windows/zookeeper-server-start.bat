@echo off
rem zookeeper-server-start.bat: rafka runs without ZooKeeper; says so and how to start it.
echo rafka needs no ZooKeeper: it runs in KRaft mode, with its own metadata quorum. Start the server instead: %~dp0kafka-storage.bat random-uuid, then %~dp0kafka-storage.bat format --standalone -t ^<uuid^> -c config\server.properties, then %~dp0kafka-server-start.bat config\server.properties 1>&2
exit /b 1
