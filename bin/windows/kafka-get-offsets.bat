@echo off
rem kafka-get-offsets.bat: rafka's `get-offsets` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" get-offsets %*
exit /b %ERRORLEVEL%
