@echo off
rem kafka-console-share-consumer.bat: rafka's `console-share-consumer` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" console-share-consumer %*
exit /b %ERRORLEVEL%
