//! `kafka-storage.sh`: `random-uuid`, `format` (write `meta.properties` into every log
//! directory of a KRaft config, refusing formatted ones unless `--ignore-formatted`) and
//! `info`. `meta.properties` is written by the `MetaProperties` the broker reads it with
//! (rafka-config), so what this tool writes is exactly what `rafka server` reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use rafka_config::storage::{random_kafka_uuid, MetaProperties, META_PROPERTIES};
use rafka_config::BrokerConfig;

use crate::common::{parse_tool_args, read_properties};
use crate::ToolError;

/// The metadata.version this release formats with by default (Kafka 4.1's latest
/// production version).
const LATEST_METADATA_VERSION: &str = "4.1-IV1";

/// Release versions `--release-version` accepts, with the metadata.version each stands for.
const RELEASE_VERSIONS: &[(&str, &str)] = &[
    ("3.3", "3.3-IV3"),
    ("3.4", "3.4-IV0"),
    ("3.5", "3.5-IV2"),
    ("3.6", "3.6-IV2"),
    ("3.7", "3.7-IV4"),
    ("3.8", "3.8-IV0"),
    ("3.9", "3.9-IV0"),
    ("4.0", "4.0-IV3"),
    ("4.1", "4.1-IV1"),
];

#[derive(Debug, Parser)]
#[command(
    name = "kafka-storage",
    about = "The Kafka storage tool.",
    disable_version_flag = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Get information about the Kafka log directories on this node.
    Info {
        /// The Kafka configuration file to use.
        #[arg(short = 'c', long)]
        config: Option<PathBuf>,
    },
    /// Format the Kafka log directories on this node.
    Format {
        /// The Kafka configuration file to use.
        #[arg(short = 'c', long)]
        config: Option<PathBuf>,
        /// The cluster ID to use.
        #[arg(short = 't', long = "cluster-id")]
        cluster_id: Option<String>,
        /// A SCRAM_CREDENTIAL to add to the __cluster_metadata log e.g.
        /// 'SCRAM-SHA-256=[name=alice,password=alice-secret]'.
        #[arg(short = 'S', long = "add-scram")]
        add_scram: Vec<String>,
        /// When this option is passed, the format command will skip over already
        /// formatted directories rather than failing.
        #[arg(short = 'g', long = "ignore-formatted")]
        ignore_formatted: bool,
        /// The release version to use for the initial feature settings.
        #[arg(short = 'r', long = "release-version")]
        release_version: Option<String>,
        /// The setting to use for a specific feature, in feature=level format.
        #[arg(short = 'f', long = "feature")]
        feature: Vec<String>,
        /// Used to initialize a controller as a single-node dynamic quorum.
        #[arg(short = 's', long)]
        standalone: bool,
        /// Used to initialize a server without a dynamic quorum topology.
        #[arg(short = 'N', long = "no-initial-controllers")]
        no_initial_controllers: bool,
        /// Used to initialize a server with a specific dynamic quorum topology.
        #[arg(short = 'I', long = "initial-controllers")]
        initial_controllers: Option<String>,
    },
    /// Print a random UUID.
    RandomUuid,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-storage", args)? else {
        return Ok(());
    };
    match args.command {
        None => Err(ToolError::Reported(
            "kafka-storage: error: too few arguments".into(),
        )),
        Some(Command::RandomUuid) => {
            println!("{}", random_uuid());
            Ok(())
        }
        Some(Command::Info { config }) => {
            let config = config.ok_or_else(|| required("--config/-c"))?;
            info(&config)
        }
        Some(Command::Format {
            config,
            cluster_id,
            ignore_formatted,
            release_version,
            standalone,
            no_initial_controllers,
            initial_controllers,
            add_scram,
            ..
        }) => {
            let config = config.ok_or_else(|| required("--config/-c"))?;
            let cluster_id = cluster_id.ok_or_else(|| required("--cluster-id/-t"))?;
            let add_scram = add_scram
                .iter()
                .map(|argument| {
                    rafka_security::scram::AddScram::parse(argument).map(|added| {
                        rafka_config::storage::BootstrapScram {
                            name: added.name,
                            mechanism: added.mechanism.name().to_string(),
                            credential: added.credential,
                        }
                    })
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(ToolError::Failed)?;
            let options = FormatOptions {
                cluster_id,
                ignore_formatted,
                release_version,
                standalone,
                no_initial_controllers,
                initial_controllers,
                add_scram,
            };
            format(&config, &options)
        }
    }
}

fn required(argument: &str) -> ToolError {
    ToolError::Usage(format!("argument {argument} is required"))
}

/// Kafka's `Uuid.randomUuid().toString()`: never one starting with `-`, which a shell
/// would take for an option.
fn random_uuid() -> String {
    loop {
        let id = random_kafka_uuid();
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// A cluster id must be a base64url-encoded 16-byte UUID, 22 characters, as Kafka's
/// `Uuid.fromString` requires.
fn validate_cluster_id(id: &str) -> Result<(), ToolError> {
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if id.len() != 22 || !valid_chars {
        let bytes = id.len() * 3 / 4;
        return Err(ToolError::Failed(format!(
            "Cluster ID string {id} does not appear to be a valid UUID: Input string `{id}` decoded as {bytes} bytes, which is not equal to the expected 16 bytes of a base64-encoded UUID"
        )));
    }
    Ok(())
}

#[derive(Debug)]
struct FormatOptions {
    cluster_id: String,
    ignore_formatted: bool,
    release_version: Option<String>,
    standalone: bool,
    no_initial_controllers: bool,
    initial_controllers: Option<String>,
    /// `--add-scram`: the credentials the metadata starts with.
    add_scram: Vec<rafka_config::storage::BootstrapScram>,
}

/// What `format` needs from the server config.
#[derive(Debug)]
struct StorageConfig {
    node_id: i32,
    process_roles: Vec<String>,
    log_dirs: Vec<PathBuf>,
    metadata_log_dir: PathBuf,
    quorum_voters: String,
    /// The first controller listener, `host:port` (`--standalone`'s voter address).
    controller_address: Option<String>,
}

fn load_config(path: &Path) -> Result<StorageConfig, ToolError> {
    let props = read_properties(path)?;
    let broker = BrokerConfig::load(path, &[]).map_err(|e| ToolError::Failed(e.to_string()))?;
    if broker.process_roles.is_empty() {
        return Err(ToolError::Failed(
            "The kafka configuration file appears to be for a legacy cluster. Formatting is only supported for clusters in KRaft mode.".into(),
        ));
    }
    let has = |k: &str| props.get(k).is_some_and(|v| !v.trim().is_empty());
    if !has("node.id") && !has("broker.id") {
        return Err(ToolError::Failed(
            "Missing required configuration \"node.id\" which has no default value.".into(),
        ));
    }
    let metadata_log_dir = props
        .get("metadata.log.dir")
        .map(|d| PathBuf::from(d.trim()))
        .filter(|d| !d.as_os_str().is_empty())
        .or_else(|| broker.log_dirs.first().cloned())
        .ok_or_else(|| {
            ToolError::Failed("No log directories found in the configuration.".into())
        })?;
    Ok(StorageConfig {
        node_id: broker.node_id,
        process_roles: broker.process_roles.clone(),
        log_dirs: broker.log_dirs.clone(),
        metadata_log_dir,
        quorum_voters: props
            .get("controller.quorum.voters")
            .cloned()
            .unwrap_or_default(),
        controller_address: broker
            .listeners
            .iter()
            .find(|l| broker.controller_listener_names.contains(&l.name))
            .map(|l| {
                let host = if l.host.is_empty() {
                    "localhost"
                } else {
                    &l.host
                };
                format!("{host}:{}", l.port)
            }),
    })
}

/// Every directory `format` writes: the log dirs and the metadata log dir, sorted and
/// without repeats, as Kafka's `MetaPropertiesEnsemble` holds them.
fn all_dirs(config: &StorageConfig) -> Vec<PathBuf> {
    let mut dirs = config.log_dirs.clone();
    dirs.push(config.metadata_log_dir.clone());
    dirs.sort();
    dirs.dedup();
    dirs
}

fn metadata_version(release: Option<&str>) -> Result<String, ToolError> {
    let Some(release) = release else {
        return Ok(LATEST_METADATA_VERSION.to_string());
    };
    RELEASE_VERSIONS
        .iter()
        .find(|(short, full)| *short == release || *full == release)
        .map(|(_, full)| full.to_string())
        .ok_or_else(|| {
            ToolError::Failed(format!(
                "Unknown release version '{release}'. Supported versions are: {} to {}",
                RELEASE_VERSIONS[0].1, LATEST_METADATA_VERSION
            ))
        })
}

fn format(config_path: &Path, options: &FormatOptions) -> Result<(), ToolError> {
    let config = load_config(config_path)?;
    validate_cluster_id(&options.cluster_id)?;
    let version = metadata_version(options.release_version.as_deref())?;
    let is_controller = config
        .process_roles
        .iter()
        .any(|r| r == rafka_config::server::CONTROLLER_ROLE);
    let dynamic_quorum = options.standalone || options.initial_controllers.is_some();
    if is_controller
        && config.quorum_voters.trim().is_empty()
        && !dynamic_quorum
        && !options.no_initial_controllers
    {
        return Err(ToolError::Failed(
            "Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers.".into(),
        ));
    }
    let dirs = all_dirs(&config);
    let mut formatted: Vec<(PathBuf, MetaProperties)> = Vec::new();
    let mut empty: Vec<PathBuf> = Vec::new();
    for dir in &dirs {
        match MetaProperties::read(dir) {
            Ok(Some(meta)) => formatted.push((dir.clone(), meta)),
            Ok(None) => empty.push(dir.clone()),
            Err(e) => println!(
                "I/O error trying to read log directory {}. Ignoring... ({e})",
                dir.display()
            ),
        }
    }
    for (dir, meta) in &formatted {
        if meta.cluster_id != options.cluster_id {
            return Err(ToolError::Failed(format!(
                "Invalid cluster.id in: {}. Expected {}, but read {}",
                dir.join(META_PROPERTIES).display(),
                options.cluster_id,
                meta.cluster_id
            )));
        }
        if meta.node_id != config.node_id {
            return Err(ToolError::Failed(format!(
                "Stored node id {} doesn't match previous node id {} in {}. If you moved your data, make sure your configured node id matches. If you intend to create a new node, you should remove all data in your data directories.",
                meta.node_id,
                config.node_id,
                dir.display()
            )));
        }
    }
    if let Some((first, _)) = formatted.first() {
        if !options.ignore_formatted {
            return Err(ToolError::Failed(format!(
                "Log directory {} is already formatted. Use --ignore-formatted to ignore this directory and format the others.",
                first.display()
            )));
        }
    }
    if empty.is_empty() {
        println!("All of the log directories are already formatted.");
        return Ok(());
    }
    let (voters, directory_ids) = initial_voters(&config, options)?;
    let own_directory_id = directory_ids.get(&config.node_id).cloned();
    for dir in empty {
        let description = if dir != config.metadata_log_dir {
            "data directory"
        } else if !dynamic_quorum {
            "metadata directory"
        } else if options.standalone
            || options.initial_controllers.as_deref().is_some_and(|c| {
                c.split(',')
                    .any(|v| v.split('@').next() == Some(&config.node_id.to_string()))
            })
        {
            "dynamic metadata voter directory"
        } else {
            "dynamic metadata directory"
        };
        println!(
            "Formatting {description} {} with metadata.version {version}.",
            dir.display()
        );
        let directory_id = match &own_directory_id {
            Some(id) if dir == config.metadata_log_dir => id.clone(),
            _ => random_uuid(),
        };
        MetaProperties {
            cluster_id: options.cluster_id.clone(),
            node_id: config.node_id,
            directory_id,
        }
        .write(&dir)
        .map_err(|e| {
            ToolError::Failed(format!(
                "Error while writing meta.properties file {}: {e}",
                dir.display()
            ))
        })?;
        if !options.add_scram.is_empty() && Some(&dir) == config.log_dirs.first() {
            rafka_config::storage::write_bootstrap_scram(&dir, &options.add_scram)
                .map_err(|e| ToolError::Failed(e.to_string()))?;
        }
        // Where the server looks for the quorum's voters (its first log dir).
        if is_controller && !voters.is_empty() && Some(&dir) == config.log_dirs.first() {
            let line: Vec<String> = voters.iter().map(|(id, a)| format!("{id}@{a}")).collect();
            let path = dir.join(rafka_config::server::BOOTSTRAP_VOTERS_FILE);
            std::fs::write(&path, line.join(",") + "\n").map_err(|e| {
                ToolError::Failed(format!("Error while writing {}: {e}", path.display()))
            })?;
        }
    }
    Ok(())
}

/// The voters `--standalone` (this controller alone) or `--initial-controllers` name,
/// with the directory ids given; none without either option.
fn initial_voters(
    config: &StorageConfig,
    options: &FormatOptions,
) -> Result<(rafka_config::server::ById, rafka_config::server::ById), ToolError> {
    if options.standalone {
        let address = config.controller_address.clone().ok_or_else(|| {
            ToolError::Failed(
                "--standalone needs a controller listener (controller.listener.names in listeners)"
                    .into(),
            )
        })?;
        return Ok((BTreeMap::from([(config.node_id, address)]), BTreeMap::new()));
    }
    match &options.initial_controllers {
        Some(list) => {
            rafka_config::server::parse_initial_controllers(list).map_err(ToolError::Failed)
        }
        None => Ok((BTreeMap::new(), BTreeMap::new())),
    }
}

/// Kafka's `info`: the log directories found, the metadata in them, and the problems.
/// Exits 1 when there is a problem, as Kafka does.
fn info(config_path: &Path) -> Result<(), ToolError> {
    let props: BTreeMap<String, String> = read_properties(config_path)?;
    let broker =
        BrokerConfig::load(config_path, &[]).map_err(|e| ToolError::Failed(e.to_string()))?;
    let mut dirs = broker.log_dirs.clone();
    if let Some(dir) = props
        .get("metadata.log.dir")
        .filter(|d| !d.trim().is_empty())
    {
        dirs.push(PathBuf::from(dir.trim()));
    }
    dirs.sort();
    dirs.dedup();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut metadata: Option<MetaProperties> = None;
    for dir in &dirs {
        if !dir.exists() {
            problems.push(format!("{} does not exist", dir.display()));
        } else if !dir.is_dir() {
            problems.push(format!("{} is not a directory", dir.display()));
        } else {
            found.push(dir.display().to_string());
            match MetaProperties::read(dir) {
                Ok(Some(meta)) => match &metadata {
                    Some(previous) if *previous != meta => problems.push(format!(
                        "Metadata for {} was {}, but other directories featured {}",
                        dir.join(META_PROPERTIES).display(),
                        describe_meta(&meta),
                        describe_meta(previous)
                    )),
                    Some(_) => {}
                    None => metadata = Some(meta),
                },
                Ok(None) => problems.push(format!("{} is not formatted.", dir.display())),
                Err(e) => problems.push(format!("{} is unreadable: {e}", dir.display())),
            }
        }
    }
    if !found.is_empty() {
        if found.len() == 1 {
            println!("Found log directory:");
        } else {
            println!("Found log directories:");
        }
        for dir in &found {
            println!("  {dir}");
        }
        println!();
    }
    if let Some(meta) = &metadata {
        println!("Found metadata: {}", describe_meta(meta));
        println!();
    }
    if problems.is_empty() {
        return Ok(());
    }
    if problems.len() == 1 {
        println!("Found problem:");
    } else {
        println!("Found problems:");
    }
    for problem in &problems {
        println!("  {problem}");
    }
    println!();
    Err(ToolError::Reported(String::new()))
}

/// Kafka's `MetaProperties.toString()`.
fn describe_meta(meta: &MetaProperties) -> String {
    let mut text = format!(
        "MetaProperties(version=1, clusterId={}, nodeId={}",
        meta.cluster_id, meta.node_id
    );
    if !meta.directory_id.is_empty() {
        text.push_str(&format!(", directoryId={}", meta.directory_id));
    }
    text.push(')');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_kafka_cluster_ids() {
        for _ in 0..100 {
            let id = random_uuid();
            assert!(validate_cluster_id(&id).is_ok(), "{id}");
            assert!(!id.starts_with('-'));
        }
        assert!(validate_cluster_id("not-a-uuid").is_err());
    }

    #[test]
    fn release_versions_map_to_metadata_versions() {
        assert_eq!(metadata_version(None).unwrap(), "4.1-IV1");
        assert_eq!(metadata_version(Some("3.9")).unwrap(), "3.9-IV0");
        assert_eq!(metadata_version(Some("4.0-IV3")).unwrap(), "4.0-IV3");
        assert!(metadata_version(Some("9.9")).is_err());
    }
}
