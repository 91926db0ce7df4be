@echo off
rem kafka-consumer-groups.bat: rafka's `consumer-groups` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" consumer-groups %*
exit /b %ERRORLEVEL%
