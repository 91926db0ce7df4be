@echo off
rem kafka-reassign-partitions.bat: rafka's `reassign-partitions` tool, with the arguments of Kafka's script of this name.
call "%~dp0rafka-run.bat" reassign-partitions %*
exit /b %ERRORLEVEL%
