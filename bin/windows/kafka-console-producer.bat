@echo off
rem kafka-console-producer.bat: rafka's `console-producer` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" console-producer %*
exit /b %ERRORLEVEL%
