//! `rafka`: the one binary. `rafka server` runs a broker; the Kafka tools become
//! subcommands here too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use rafka_broker::{Broker, BrokerConfig, Server};
use rafka_types::SystemClock;

#[derive(Debug, Parser)]
#[command(
    name = "rafka",
    version,
    about = "An event streaming platform that speaks Kafka's protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node (broker, controller or both, by `process.roles`). With no arguments: one
    /// node, data in ./data, PLAINTEXT://localhost:9092.
    Server(ServerArgs),
}

#[derive(Debug, clap::Args)]
struct ServerArgs {
    #[command(subcommand)]
    action: Option<ServerAction>,
}

#[derive(Debug, Subcommand)]
enum ServerAction {
    /// Run a node configured by a server.properties file (Kafka's keys).
    Start {
        /// Path to server.properties.
        config: PathBuf,
        /// Override a property of the file, as `key=value` (repeatable).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match std::env::args().nth(1).as_deref() {
        Some("connect-standalone") => {
            return rafka_connect::standalone::main(args.skip(1).collect())
        }
        Some("burrow") => return rafka_burrow::main(args.skip(1).collect()),
        Some("rest-proxy") => return rafka_rest_proxy::rest_main(args.skip(1).collect()),
        Some("grpc") => return rafka_rest_proxy::grpc_main(args.skip(1).collect()),
        Some("connect-distributed") => {
            return rafka_connect::distributed::command::main(args.skip(1).collect())
        }
        _ => {}
    }
    if let Some(tool) = args
        .next()
        .filter(|a| rafka_tools::TOOLS.contains(&a.as_str()))
    {
        return rafka_tools::run(&tool, args.collect());
    }
    init_logging();
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => run_server(args),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFKA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn run_server(args: ServerArgs) -> ExitCode {
    let config = match args.action {
        None => Ok(BrokerConfig::embedded()),
        Some(ServerAction::Start { config, overrides }) => {
            let mut pairs = Vec::new();
            for item in overrides {
                let Some((k, v)) = item.split_once('=') else {
                    eprintln!("Invalid --override {item}: expected key=value");
                    return ExitCode::from(1);
                };
                pairs.push((k.trim().to_string(), v.trim().to_string()));
            }
            BrokerConfig::load(&config, &pairs)
        }
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ERROR {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ERROR cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let clock: rafka_types::SharedClock = Arc::new(SystemClock);
        let mut config = config;
        if let Err(e) = rafka_broker::cluster::resolve_voters(&mut config).await {
            eprintln!("ERROR {e}");
            return ExitCode::from(1);
        }
        if config.is_controller_only() {
            return match rafka_broker::cluster::run_controller(&config, clock, shutdown_signal())
                .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ERROR {e}");
                    ExitCode::from(1)
                }
            };
        }
        let cluster = if config.is_cluster() {
            match rafka_broker::cluster::start(&config, clock.clone()).await {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("ERROR {e}");
                    return ExitCode::from(1);
                }
            }
        } else {
            None
        };
        let broker =
            match tokio::task::spawn_blocking(move || Broker::open_with(config, clock, cluster))
                .await
            {
                Ok(Ok(b)) => Arc::new(b),
                Ok(Err(e)) => {
                    eprintln!("ERROR {e}");
                    return ExitCode::from(1);
                }
                Err(e) => {
                    eprintln!("ERROR start-up failed: {e}");
                    return ExitCode::from(1);
                }
            };
        let server = match Server::bind(broker.clone()).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ERROR {e}");
                return ExitCode::from(1);
            }
        };
        let dirs: Vec<String> = broker
            .config
            .log_dirs
            .iter()
            .map(|d| {
                std::fs::canonicalize(d)
                    .unwrap_or(d.clone())
                    .display()
                    .to_string()
            })
            .collect();
        let listening: Vec<String> = server
            .local_addresses()
            .iter()
            .map(|a| a.to_string())
            .collect();
        tracing::info!(
            "rafka node {} of cluster {} listening on {} (advertised as {}), data in {}",
            broker.config.node_id,
            broker.cluster_id,
            listening.join(", "),
            broker.config.advertised(),
            dirs.join(", ")
        );
        server.serve(shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
