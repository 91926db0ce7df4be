@echo off
rem burrow.bat: the consumer-lag monitor, Burrow-compatible (burrow.bat --config burrow.toml).
call "%~dp0rafka-run.bat" burrow %*
exit /b %ERRORLEVEL%
