@echo off
rem kafka-console-consumer.bat: rafka's `console-consumer` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" console-consumer %*
exit /b %ERRORLEVEL%
