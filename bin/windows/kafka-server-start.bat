@echo off
rem kafka-server-start.bat server.properties [--override property=value]*
IF [%1] EQU [] (
  echo USAGE: %0 server.properties [--override property=value]*
  exit /b 1
)
call "%~dp0rafka-run.bat" server start %*
exit /b %ERRORLEVEL%
