@echo off
rem kafka-delete-records.bat: rafka's `delete-records` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" delete-records %*
exit /b %ERRORLEVEL%
