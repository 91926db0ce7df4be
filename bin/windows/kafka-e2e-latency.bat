@echo off
rem kafka-e2e-latency.bat: rafka's `e2e-latency` tool, with the arguments of Kafka's script of this name.
call "%~dp0rafka-run.bat" e2e-latency %*
exit /b %ERRORLEVEL%
