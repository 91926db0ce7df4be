@echo off
rem Runs one rafka tool: rafka-run.bat <tool> [args...] runs rafka.exe <tool> [args...].
rem The binary is %RAFKA_BIN% if set, else <install>\target\release\rafka.exe, else
rem %CARGO_TARGET_DIR%\release\rafka.exe, else rafka.exe on the PATH.
setlocal
set "RAFKA_EXE=%RAFKA_BIN%"
if not defined RAFKA_EXE if exist "%~dp0..\..\target\release\rafka.exe" set "RAFKA_EXE=%~dp0..\..\target\release\rafka.exe"
if not defined RAFKA_EXE if defined CARGO_TARGET_DIR if exist "%CARGO_TARGET_DIR%\release\rafka.exe" set "RAFKA_EXE=%CARGO_TARGET_DIR%\release\rafka.exe"
if not defined RAFKA_EXE for %%i in (rafka.exe) do if not "%%~$PATH:i"=="" set "RAFKA_EXE=%%~$PATH:i"
if not defined RAFKA_EXE (
  echo Cannot find rafka.exe: run 'cargo build --release', or set RAFKA_BIN to its path 1>&2
  exit /b 1
)
"%RAFKA_EXE%" %*
exit /b %ERRORLEVEL%
