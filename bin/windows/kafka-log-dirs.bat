@echo off
rem kafka-log-dirs.bat: rafka's `log-dirs` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" log-dirs %*
exit /b %ERRORLEVEL%
