@echo off
rem kafka-topics.bat: rafka's `topics` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" topics %*
exit /b %ERRORLEVEL%
