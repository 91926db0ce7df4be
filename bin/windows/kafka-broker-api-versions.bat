@echo off
rem kafka-broker-api-versions.bat: rafka's `broker-api-versions` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" broker-api-versions %*
exit /b %ERRORLEVEL%
