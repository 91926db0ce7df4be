//! Burrow's `[logging]` (`level`, `filename`) and its run-time log level
//! (`GET`/`POST /v3/admin/loglevel`): one process-wide level, changed in place.
//!
//! `RAFKA_LOG` (a `tracing` filter) overrides the level at start-up, as for every rafka
//! process. Burrow's rotation keys (`maxsize`, `maxbackups`, `maxage`,
//! `use-localtime`, `use-compression`) are read but the file is not rotated.

use std::sync::OnceLock;

use parking_lot::Mutex;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

/// The level handle of this process (set once logging is up).
static LEVEL: OnceLock<Level> = OnceLock::new();

struct Level {
    handle: reload::Handle<LevelFilter, tracing_subscriber::Registry>,
    name: Mutex<&'static str>,
}

/// Burrow's (zap's) name for a level it accepts, and its `tracing` filter.
pub fn parse_level(name: &str) -> Option<(&'static str, LevelFilter)> {
    Some(match name.to_ascii_lowercase().as_str() {
        "debug" | "trace" => ("debug", LevelFilter::DEBUG),
        "info" => ("info", LevelFilter::INFO),
        "warning" | "warn" => ("warn", LevelFilter::WARN),
        "error" => ("error", LevelFilter::ERROR),
        "panic" => ("panic", LevelFilter::ERROR),
        "fatal" => ("fatal", LevelFilter::ERROR),
        _ => return None,
    })
}

/// Starts logging to stderr, or to `[logging] filename` (appended), at `level`.
pub fn init(level: &str, filename: Option<&str>) -> Result<(), std::io::Error> {
    let (name, level) = parse_level(level).unwrap_or(("info", LevelFilter::INFO));
    let (filter, handle) = reload::Layer::new(level);
    let env = tracing_subscriber::EnvFilter::try_from_env("RAFKA_LOG").ok();
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let result = match filename {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            registry
                .with(env)
                .with(
                    fmt.with_ansi(false)
                        .with_writer(std::sync::Mutex::new(file)),
                )
                .try_init()
        }
        None => registry
            .with(env)
            .with(fmt.with_writer(std::io::stderr))
            .try_init(),
    };
    if result.is_ok() {
        let _ = LEVEL.set(Level {
            handle,
            name: Mutex::new(name),
        });
    }
    Ok(())
}

/// The level now, by Burrow's name (`info` when logging was not set up here).
pub fn level() -> &'static str {
    LEVEL.get().map_or("info", |l| *l.name.lock())
}

/// Sets the level by one of Burrow's names; `false` for a name Burrow does not know.
pub fn set_level(name: &str) -> bool {
    let Some((name, filter)) = parse_level(name) else {
        return false;
    };
    if let Some(level) = LEVEL.get() {
        if level.handle.reload(filter).is_ok() {
            *level.name.lock() = name;
        }
    }
    true
}
