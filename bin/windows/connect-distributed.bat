@echo off
rem connect-distributed.bat: a distributed Kafka Connect worker, as Kafka's script of this name runs it.
call "%~dp0rafka-run.bat" connect-distributed %*
exit /b %ERRORLEVEL%
