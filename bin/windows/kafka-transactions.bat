@echo off
rem kafka-transactions.bat: rafka's `transactions` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" transactions %*
exit /b %ERRORLEVEL%
