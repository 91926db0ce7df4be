@echo off
rem connect-standalone.bat: a standalone Kafka Connect worker, as Kafka's script of this name runs it.
call "%~dp0rafka-run.bat" connect-standalone %*
exit /b %ERRORLEVEL%
