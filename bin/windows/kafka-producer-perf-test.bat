@echo off
rem kafka-producer-perf-test.bat: rafka's `producer-perf-test` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" producer-perf-test %*
exit /b %ERRORLEVEL%
