@echo off
rem kafka-rest-start.bat: Confluent's REST Proxy (kafka-rest-start.bat config\kafka-rest.properties).
call "%~dp0rafka-run.bat" rest-proxy %*
exit /b %ERRORLEVEL%
