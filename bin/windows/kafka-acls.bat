@echo off
rem kafka-acls.bat: rafka's `acls` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" acls %*
exit /b %ERRORLEVEL%
