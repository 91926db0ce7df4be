@echo off
rem kafka-consumer-perf-test.bat: rafka's `consumer-perf-test` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" consumer-perf-test %*
exit /b %ERRORLEVEL%
