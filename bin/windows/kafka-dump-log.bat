@echo off
rem kafka-dump-log.bat: rafka's `dump-log` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" dump-log %*
exit /b %ERRORLEVEL%
