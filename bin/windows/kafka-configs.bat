@echo off
rem kafka-configs.bat: rafka's `configs` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" configs %*
exit /b %ERRORLEVEL%
