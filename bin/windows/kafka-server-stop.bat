@echo off
rem kafka-server-stop.bat: stops the running rafka servers.
wmic process where "name='rafka.exe' and commandline like '%% server%%'" call terminate > nul 2>&1
if errorlevel 1 (
  echo No kafka server to stop
  exit /b 1
)
