@echo off
rem kafka-leader-election.bat: rafka's `leader-election` tool, with the arguments of Kafka's script of this name.
call "%~dp0rafka-run.bat" leader-election %*
exit /b %ERRORLEVEL%
