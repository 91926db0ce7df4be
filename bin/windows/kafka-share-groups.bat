@echo off
rem kafka-share-groups.bat: rafka's `share-groups` tool, with the flags of Kafka's script of this name.
call "%~dp0rafka-run.bat" share-groups %*
exit /b %ERRORLEVEL%
