@echo off
rem rafka-grpc.bat: the gRPC service rafka.v1 for publishers and consumers (rafka-grpc.bat config\grpc.properties).
call "%~dp0rafka-run.bat" grpc %*
exit /b %ERRORLEVEL%
