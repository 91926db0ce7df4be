@echo off
rem kafka-metadata-quorum.bat: rafka's `metadata-quorum` tool, with the arguments of Kafka's script of this name.
call "%~dp0rafka-run.bat" metadata-quorum %*
exit /b %ERRORLEVEL%
