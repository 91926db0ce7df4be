//! What `rafka rest-proxy` and `rafka grpc` share as processes: reading the one
//! argument (the properties file), logging to stderr (`RAFKA_LOG`), the runtime, and
//! SIGTERM/Ctrl-C as the signal to stop.

use std::path::Path;
use std::process::ExitCode;

use crate::config::ProxyConfig;

/// A started process: its config, the file it came from, and a runtime to run on.
#[derive(Debug)]
pub struct Started {
    pub config: ProxyConfig,
    pub path: String,
    pub runtime: tokio::runtime::Runtime,
}

/// Reads `<file>` from `args` (or answers `--help`), sets up logging, loads the config
/// and builds the runtime; the exit code when any of it fails.
pub fn start(args: &[String], usage: &str) -> Result<Started, ExitCode> {
    let path = match args {
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{usage}");
            return Err(ExitCode::SUCCESS);
        }
        [path] => path.clone(),
        _ => {
            eprintln!("{usage}");
            return Err(ExitCode::from(2));
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFKA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let config = ProxyConfig::load(Path::new(&path)).map_err(|err| {
        eprintln!("{path}: {err}");
        ExitCode::FAILURE
    })?;
    let runtime = tokio::runtime::Runtime::new().map_err(|err| {
        eprintln!("cannot start the runtime: {err}");
        ExitCode::FAILURE
    })?;
    Ok(Started {
        config,
        path,
        runtime,
    })
}

/// The exit code of a run that returned `result`.
pub fn exit<E: std::fmt::Display>(path: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{path}: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM (`kafka-rest-stop.sh`) or Ctrl-C.
pub async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut sigterm) => {
            tokio::select! {
                _ = sigterm.recv() => {}
                _ = ctrl_c => {}
            }
        }
        Err(err) => {
            tracing::warn!("cannot watch SIGTERM: {err}");
            let _ = ctrl_c.await;
        }
    }
}
