@echo off
rem kafka-storage.bat: rafka's `storage` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" storage %*
exit /b %ERRORLEVEL%
