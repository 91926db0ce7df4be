//! `kafka-configs.sh`: describe and alter the dynamic configs of topics, brokers and groups.
//!
//! Built on rafka's protocol client: Kafka's tool prints each config's synonyms (which
//! librdkafka's Rust binding does not expose) and alters through
//! IncrementalAlterConfigs, so that `--add-config a=1` leaves the other overrides alone
//! (librdkafka's binding only has the legacy AlterConfigs, which replaces them all).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, ListConfigResourcesRequest, ListConfigResourcesResponse,
    ListGroupsRequest, ListGroupsResponse, MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_client::{connect_within_secured, WireClient};

use crate::common::{
    admin_timeout, client_security, kafka_error_message, parse_tool_args, read_properties, runtime,
};
use crate::consumer_groups::admin::Admin;
use crate::java_order::{self, Capacity};

mod users;
use crate::ToolError;

/// DescribeConfigs / IncrementalAlterConfigs resource types.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const RESOURCE_BROKER_LOGGER: i8 = 8;
const RESOURCE_GROUP: i8 = 32;

/// IncrementalAlterConfigs operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;

/// Kafka's `ConfigEntry.ConfigSource` names, by wire code.
fn source_name(code: i8) -> &'static str {
    match code {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "DYNAMIC_CLIENT_METRICS_CONFIG",
        8 => "DYNAMIC_GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "kafka-configs.sh",
    about = "This tool helps to manipulate and describe entity config for a topic, client, user, broker, ip or client-metrics",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// The Kafka servers to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// The Kafka controllers to connect to (rafka's brokers answer for them).
    #[arg(long = "bootstrap-controller", value_name = "controller to connect to")]
    bootstrap_controller: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "command config property file")]
    command_config: Option<PathBuf>,
    /// List configs for the given entity.
    #[arg(long)]
    describe: bool,
    /// Alter the configuration for the entity.
    #[arg(long)]
    alter: bool,
    /// List all configs for the given entity, including static and default ones.
    #[arg(long)]
    all: bool,
    /// Type of entity (topics/clients/users/brokers/broker-loggers/ips/client-metrics/groups).
    #[arg(long = "entity-type")]
    entity_type: Vec<String>,
    /// Name of entity (topic name/client id/user principal name/broker id/ip/...).
    #[arg(long = "entity-name")]
    entity_name: Vec<String>,
    /// Default entity name for clients/users/brokers/ips.
    #[arg(long = "entity-default")]
    entity_default: bool,
    /// Key Value pairs of configs to add: 'k1=v1,k2=[v1,v2,v2],k3=v3'.
    #[arg(long = "add-config")]
    add_config: Option<String>,
    /// Path to a properties file with configs to add.
    #[arg(long = "add-config-file")]
    add_config_file: Option<PathBuf>,
    /// Config keys to remove: 'k1,k2'.
    #[arg(long = "delete-config", value_delimiter = ',')]
    delete_config: Vec<String>,
    /// The topic's name.
    #[arg(long)]
    topic: Option<String>,
    /// The broker's ID.
    #[arg(long)]
    broker: Option<String>,
    /// The config defaults for all brokers.
    #[arg(long = "broker-defaults")]
    broker_defaults: bool,
    /// The broker's ID for its logger config.
    #[arg(long = "broker-logger")]
    broker_logger: Option<String>,
    /// The client's ID.
    #[arg(long)]
    client: Option<String>,
    /// The config defaults for all clients.
    #[arg(long = "client-defaults")]
    client_defaults: bool,
    /// The user's principal name.
    #[arg(long)]
    user: Option<String>,
    /// The config defaults for all users.
    #[arg(long = "user-defaults")]
    user_defaults: bool,
    /// The IP address.
    #[arg(long)]
    ip: Option<String>,
    /// The config defaults for all IPs.
    #[arg(long = "ip-defaults")]
    ip_defaults: bool,
    /// The group's ID.
    #[arg(long)]
    group: Option<String>,
    /// The client metrics config resource name.
    #[arg(long = "client-metrics")]
    client_metrics: Option<String>,
    /// Suppress console prompts.
    #[arg(long)]
    force: bool,
}

/// The entity a command is about: `name` is empty for the cluster-wide default.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    entity_type: String,
    name: Option<String>,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let raw = args.join(" ");
    let Some(args) = parse_tool_args::<Args>("kafka-configs.sh", args)? else {
        return Ok(());
    };
    // Kafka prints its argument errors bare (`System.err.println(e.getMessage())`).
    let entity = check_args(&args).map_err(bare)?;
    let bootstrap = args
        .bootstrap_server
        .clone()
        .or_else(|| args.bootstrap_controller.clone())
        .unwrap_or_default();
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    let security = client_security(&props)?;
    let result = runtime()?.block_on(async {
        let mut client = connect_within_secured(&bootstrap, timeout, &security).await?;
        let mut service = ConfigService {
            client: &mut client,
            bootstrap: &bootstrap,
            timeout,
        };
        if args.alter {
            service.alter(&args, &entity).await
        } else {
            service.describe(&entity, args.all).await
        }
    });
    result.map_err(|e| match e {
        ToolError::Failed(message) => ToolError::Reported(format!(
            "Error while executing config command with args '{raw}': {message}"
        )),
        other => other,
    })
}

/// Kafka's `ConfigCommandOptions.checkArgs`, for the entity types rafka serves.
fn check_args(args: &Args) -> Result<Entity, ToolError> {
    if usize::from(args.alter) + usize::from(args.describe) != 1 {
        return Err(ToolError::Usage(
            "Command must include exactly one action: --describe, --alter".into(),
        ));
    }
    if args.describe && (args.add_config.is_some() || !args.delete_config.is_empty()) {
        let option = if args.add_config.is_some() {
            "add-config"
        } else {
            "delete-config"
        };
        return Err(ToolError::Usage(format!(
            "Option \"[describe]\" can't be used with option \"[{option}]\""
        )));
    }
    let flags: Vec<(&str, Option<String>)> = [
        ("topics", args.topic.clone()),
        ("clients", args.client.clone()),
        ("users", args.user.clone()),
        ("brokers", args.broker.clone()),
        ("broker-loggers", args.broker_logger.clone()),
        ("ips", args.ip.clone()),
        ("client-metrics", args.client_metrics.clone()),
        ("groups", args.group.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .collect();
    let defaults: Vec<&str> = [
        ("clients", args.client_defaults),
        ("users", args.user_defaults),
        ("brokers", args.broker_defaults),
        ("ips", args.ip_defaults),
    ]
    .into_iter()
    .filter(|(_, given)| *given)
    .map(|(t, _)| t)
    .collect();
    let mut types: Vec<String> = args.entity_type.clone();
    types.extend(flags.iter().map(|(t, _)| t.to_string()));
    types.extend(defaults.iter().map(|t| t.to_string()));
    let mut distinct = types.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != types.len() {
        return Err(ToolError::Usage(format!(
            "Duplicate entity type(s) specified: {}",
            types.join(",")
        )));
    }
    if args.bootstrap_server.is_none() && args.bootstrap_controller.is_none() {
        return Err(ToolError::Usage(
            "Either --bootstrap-server or --bootstrap-controller must be specified.".into(),
        ));
    }
    if args.bootstrap_server.is_some() && args.bootstrap_controller.is_some() {
        return Err(ToolError::Usage(
            "Only one of --bootstrap-server or --bootstrap-controller can be specified".into(),
        ));
    }
    const ALLOWED: &[&str] = &[
        "topics",
        "clients",
        "users",
        "brokers",
        "ips",
        "groups",
        "broker-loggers",
        "client-metrics",
    ];
    for t in &types {
        if !ALLOWED.contains(&t.as_str()) {
            return Err(ToolError::Usage(format!(
                "Invalid entity type {t}, the entity type must be one of {} with a --bootstrap-server or --bootstrap-controller argument",
                ALLOWED.join(", ")
            )));
        }
    }
    if types.is_empty() {
        return Err(ToolError::Usage(
            "At least one entity type must be specified".into(),
        ));
    }
    if types.len() > 1 {
        return Err(ToolError::Usage(
            "Only 'users' and 'clients' entity types may be specified together".into(),
        ));
    }
    let specific_flags = !flags.is_empty() || !defaults.is_empty();
    if (!args.entity_name.is_empty() || !args.entity_type.is_empty() || args.entity_default)
        && specific_flags
    {
        return Err(ToolError::Usage(
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags".into(),
        ));
    }
    let entity_type = types[0].clone();
    let name = if let Some(n) = args.entity_name.first() {
        Some(n.clone())
    } else if let Some((_, n)) = flags.first() {
        n.clone()
    } else if args.entity_default || !defaults.is_empty() {
        Some(String::new())
    } else {
        None
    };
    if matches!(entity_type.as_str(), "brokers" | "broker-loggers") {
        if let Some(n) = name.as_deref().filter(|n| !n.is_empty()) {
            if n.parse::<i32>().is_err() {
                return Err(ToolError::Usage(format!(
                    "The entity name for {entity_type} must be a valid integer broker id, but it is: {n}"
                )));
            }
        }
    }
    let has_name = name.as_deref().is_some_and(|n| !n.is_empty());
    let has_default = name.as_deref() == Some("");
    if args.describe {
        if args.entity_default
            && !matches!(
                entity_type.as_str(),
                "users" | "clients" | "brokers" | "ips"
            )
        {
            return Err(ToolError::Usage(format!(
                "--entity-default must not be specified with --describe of {entity_type}"
            )));
        }
        if entity_type == "broker-loggers" && !has_name {
            return Err(ToolError::Usage(format!(
                "An entity name must be specified with --describe of {entity_type}"
            )));
        }
    }
    if args.alter {
        if matches!(
            entity_type.as_str(),
            "users" | "clients" | "brokers" | "ips"
        ) {
            if !has_name && !has_default {
                return Err(ToolError::Usage(
                    "An entity-name or default entity must be specified with --alter of users, clients, brokers or ips".into(),
                ));
            }
        } else if !has_name {
            return Err(ToolError::Usage(format!(
                "An entity name must be specified with --alter of {entity_type}"
            )));
        }
        if args.add_config.is_some() && args.add_config_file.is_some() {
            return Err(ToolError::Usage(
                "Only one of --add-config or --add-config-file must be specified".into(),
            ));
        }
        if args.add_config.is_none()
            && args.add_config_file.is_none()
            && args.delete_config.is_empty()
        {
            return Err(ToolError::Usage(
                "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter".into(),
            ));
        }
    }
    if !matches!(
        entity_type.as_str(),
        "topics" | "brokers" | "broker-loggers" | "users" | "groups"
    ) || types.len() > 1
    {
        return Err(ToolError::Usage(format!(
            "rafka does not support {entity_type} configs yet (only topics, brokers, broker-loggers, groups and users' SCRAM credentials)"
        )));
    }
    if entity_type == "users" && has_default {
        return Err(ToolError::Usage(
            "The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.".into(),
        ));
    }
    Ok(Entity { entity_type, name })
}

/// Kafka's `--add-config` syntax: `k1=v1,k2=[v1,v2],k3=v3`. Commas inside brackets
/// belong to the value; the brackets are dropped.
fn parse_add_config(text: &str) -> Result<Vec<(String, String)>, ToolError> {
    let invalid = || {
        ToolError::Usage(
            "requirement failed: Invalid entity config: all configs to be added must be in the format \"key=val\".".into(),
        )
    };
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    let mut out = Vec::new();
    for item in items {
        if item.trim().is_empty() && text.trim().is_empty() {
            continue;
        }
        let (key, value) = item.split_once('=').ok_or_else(invalid)?;
        // A second `=` outside brackets makes the pair ambiguous, as in Kafka.
        let outside: String = {
            let mut depth = 0usize;
            value
                .chars()
                .filter(|c| {
                    match c {
                        '[' => depth += 1,
                        ']' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    depth == 0
                })
                .collect()
        };
        if outside.contains('=') || key.trim().is_empty() {
            return Err(invalid());
        }
        let value: String = value.chars().filter(|c| *c != '[' && *c != ']').collect();
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// One described config.
#[derive(Debug, Clone)]
struct Described {
    name: String,
    value: Option<String>,
    source: i8,
    sensitive: bool,
    synonyms: Vec<(String, Option<String>, i8)>,
}

impl Described {
    fn from_wire(c: &DescribeConfigsResourceResult) -> Described {
        Described {
            name: c.name.to_string(),
            value: c.value.as_ref().map(|v| v.to_string()),
            source: c.config_source,
            sensitive: c.is_sensitive,
            synonyms: c
                .synonyms
                .iter()
                .map(|s| {
                    (
                        s.name.to_string(),
                        s.value.as_ref().map(|v| v.to_string()),
                        s.source,
                    )
                })
                .collect(),
        }
    }
}

struct ConfigService<'c> {
    client: &'c mut WireClient,
    bootstrap: &'c str,
    timeout: Duration,
}

impl ConfigService<'_> {
    async fn metadata(&mut self) -> Result<MetadataResponse, ToolError> {
        Ok(self.client.metadata(None, self.timeout).await?)
    }

    /// The groups `--entity-type groups` knows, as Kafka's ConfigCommand collects them:
    /// every broker's ListGroups (all types), then the groups with configs
    /// (ListConfigResources), each once. (Kafka makes a Scala `Set` of them: insertion
    /// order for up to four groups, its hash order beyond.)
    async fn group_names(&mut self) -> Result<Vec<String>, ToolError> {
        let mut admin = Admin::connect(self.bootstrap, self.timeout).await?;
        let mut names: Vec<String> = Vec::new();
        for id in admin.broker_ids() {
            let response: ListGroupsResponse = admin
                .call_node(id, ApiKey::ListGroups, 5, |_| ListGroupsRequest::default())
                .await?;
            if let Some(message) = kafka_error_message(response.error_code, None) {
                return Err(ToolError::Failed(message));
            }
            names.extend(response.groups.iter().map(|g| g.group_id.to_string()));
        }
        let version = self.client.version_for(ApiKey::ListConfigResources, 1)?;
        let response: ListConfigResourcesResponse = self
            .client
            .call_within(
                ApiKey::ListConfigResources,
                version,
                &ListConfigResourcesRequest::default().with_resource_types(vec![RESOURCE_GROUP]),
                self.timeout,
            )
            .await?;
        if let Some(message) = kafka_error_message(response.error_code, None) {
            return Err(ToolError::Failed(message));
        }
        names.extend(
            response
                .config_resources
                .iter()
                .map(|r| r.resource_name.to_string()),
        );
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        Ok(names)
    }

    /// Kafka's `describeResourceConfig`.
    async fn describe(&mut self, entity: &Entity, all: bool) -> Result<(), ToolError> {
        if entity.entity_type == "users" {
            return users::describe(self.client, entity.name.as_deref(), self.timeout).await;
        }
        let names: Vec<String> = match &entity.name {
            Some(name) if entity.entity_type == "topics" => {
                // Kafka checks the topic list first and says so, exiting 0.
                let metadata = self.metadata().await?;
                let exists = metadata
                    .topics
                    .iter()
                    .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == name));
                if !exists {
                    println!("The topic '{name}' doesn't exist and doesn't have dynamic config.");
                    return Ok(());
                }
                vec![name.clone()]
            }
            Some(name) if entity.entity_type == "groups" => {
                if !all && !self.group_names().await?.contains(name) {
                    println!("The group '{name}' doesn't exist and doesn't have dynamic config.");
                    return Ok(());
                }
                vec![name.clone()]
            }
            Some(name) if !all && !name.is_empty() => {
                // Brokers and broker loggers: a broker the cluster does not list.
                let metadata = self.metadata().await?;
                if !metadata
                    .brokers
                    .iter()
                    .any(|b| b.node_id.0.to_string() == *name)
                {
                    println!(
                        "The {} '{name}' doesn't exist and doesn't have dynamic config.",
                        singular(&entity.entity_type)
                    );
                    return Ok(());
                }
                vec![name.clone()]
            }
            Some(name) => vec![name.clone()],
            None if entity.entity_type == "groups" => self.group_names().await?,
            None => {
                let metadata = self.metadata().await?;
                match entity.entity_type.as_str() {
                    "topics" => {
                        // `listTopics().names()`: a `HashMap`'s keys, in its order.
                        let names: Vec<String> = metadata
                            .topics
                            .iter()
                            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                            .collect();
                        java_order::hash_map_order(names, Capacity::Default, |n| {
                            java_order::string_hash(n)
                        })
                    }
                    _ => {
                        let mut ids: Vec<i32> =
                            metadata.brokers.iter().map(|b| b.node_id.0).collect();
                        ids.sort_unstable();
                        let mut names: Vec<String> = ids.iter().map(i32::to_string).collect();
                        names.push(String::new());
                        names
                    }
                }
            }
        };
        for name in names {
            if name.is_empty() {
                println!(
                    "Default configs for {} in the cluster are:",
                    entity.entity_type
                );
            } else {
                let kind = if all { "All" } else { "Dynamic" };
                println!(
                    "{kind} configs for {} {name} are:",
                    singular(&entity.entity_type)
                );
            }
            for entry in self
                .resource_config(&entity.entity_type, &name, all)
                .await?
            {
                let synonyms: Vec<String> = entry
                    .synonyms
                    .iter()
                    .map(|(n, v, s)| {
                        format!("{}:{n}={}", source_name(*s), v.as_deref().unwrap_or("null"))
                    })
                    .collect();
                println!(
                    "  {}={} sensitive={} synonyms={{{}}}",
                    entry.name,
                    entry.value.as_deref().unwrap_or("null"),
                    entry.sensitive,
                    synonyms.join(", ")
                );
            }
        }
        Ok(())
    }

    /// Kafka's `getResourceConfig`: the entity's configs (with synonyms), only those set
    /// dynamically at this entity's level unless `all`, sorted by name.
    async fn resource_config(
        &mut self,
        entity_type: &str,
        name: &str,
        all: bool,
    ) -> Result<Vec<Described>, ToolError> {
        let (resource_type, dynamic_source) = match entity_type {
            "topics" => (RESOURCE_TOPIC, Some(1)),
            "brokers" if name.is_empty() => (RESOURCE_BROKER, Some(3)),
            "brokers" => (RESOURCE_BROKER, Some(2)),
            "groups" => (RESOURCE_GROUP, Some(8)),
            _ => (RESOURCE_BROKER_LOGGER, None),
        };
        let request = DescribeConfigsRequest::default()
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(name.to_string()))
                .with_configuration_keys(None)])
            .with_include_synonyms(true);
        let version = self.client.version_for(ApiKey::DescribeConfigs, 4)?;
        let response: DescribeConfigsResponse = self
            .client
            .call_within(ApiKey::DescribeConfigs, version, &request, self.timeout)
            .await?;
        let mut out = Vec::new();
        for result in &response.results {
            if let Some(message) = kafka_error_message(
                result.error_code,
                result.error_message.as_ref().map(|m| m.as_str()),
            ) {
                return Err(ToolError::Failed(message));
            }
            for config in &result.configs {
                let described = Described::from_wire(config);
                if all || dynamic_source.is_none_or(|s| s == described.source) {
                    out.push(described);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Kafka's `alterConfig` for topics and brokers: IncrementalAlterConfigs with a SET
    /// per added config and a DELETE per deleted one.
    async fn alter(&mut self, args: &Args, entity: &Entity) -> Result<(), ToolError> {
        let name = entity.name.clone().unwrap_or_default();
        let mut to_add = match (&args.add_config, &args.add_config_file) {
            (Some(text), _) => parse_add_config(text)?,
            (None, Some(path)) => read_properties(path)?.into_iter().collect(),
            (None, None) => Vec::new(),
        };
        let to_delete: Vec<String> = args
            .delete_config
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        let added: Vec<&str> = to_add.iter().map(|(k, _)| k.as_str()).collect();
        let both: Vec<&str> = to_delete
            .iter()
            .map(String::as_str)
            .filter(|k| added.contains(k))
            .collect();
        if !both.is_empty() {
            return Err(ToolError::Usage(format!(
                "Invalid entity config: all configs to be added must be in the format \"key=val\". Cannot add and delete the same config: {}",
                both.join(",")
            )));
        }
        if entity.entity_type == "users" {
            users::alter(self.client, &name, &to_add, &to_delete, self.timeout).await?;
            println!("Completed updating config for user {name}.");
            return Ok(());
        }
        if entity.entity_type != "broker-loggers" {
            // Kafka refuses to delete what is not set at this level.
            let existing = self
                .resource_config(&entity.entity_type, &name, false)
                .await?;
            let invalid: Vec<&str> = to_delete
                .iter()
                .map(String::as_str)
                .filter(|k| !existing.iter().any(|e| e.name == *k))
                .collect();
            if !invalid.is_empty() {
                return Err(ToolError::Reported(format!(
                    "Invalid config(s): {}",
                    invalid.join(",")
                )));
            }
        }
        let resource_type = match entity.entity_type.as_str() {
            "topics" => RESOURCE_TOPIC,
            "brokers" => RESOURCE_BROKER,
            "groups" => RESOURCE_GROUP,
            _ => RESOURCE_BROKER_LOGGER,
        };
        let mut configs: Vec<AlterableConfig> = to_add
            .drain(..)
            .map(|(k, v)| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(k))
                    .with_config_operation(OP_SET)
                    .with_value(Some(StrBytes::from_string(v)))
            })
            .collect();
        configs.extend(to_delete.into_iter().map(|k| {
            AlterableConfig::default()
                .with_name(StrBytes::from_string(k))
                .with_config_operation(OP_DELETE)
                .with_value(None)
        }));
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(name.clone()))
                .with_configs(configs),
        ]);
        let version = self
            .client
            .version_for(ApiKey::IncrementalAlterConfigs, 1)?;
        let response: IncrementalAlterConfigsResponse = self
            .client
            .call_within(
                ApiKey::IncrementalAlterConfigs,
                version,
                &request,
                self.timeout,
            )
            .await?;
        for result in &response.responses {
            if let Some(message) = kafka_error_message(
                result.error_code,
                result.error_message.as_ref().map(|m| m.as_str()),
            ) {
                return Err(ToolError::Failed(message));
            }
        }
        if name.is_empty() {
            println!(
                "Completed updating default config for {} in the cluster.",
                entity.entity_type
            );
        } else {
            println!(
                "Completed updating config for {} {name}.",
                singular(&entity.entity_type)
            );
        }
        Ok(())
    }
}

/// `topics` → `topic`, as Kafka's `entityType.dropRight(1)`.
fn singular(entity_type: &str) -> &str {
    entity_type.strip_suffix('s').unwrap_or(entity_type)
}

/// An argument error as Kafka prints it: the message alone.
fn bare(error: ToolError) -> ToolError {
    match error {
        ToolError::Usage(message) => ToolError::Reported(message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_keeps_bracketed_lists_together() {
        assert_eq!(
            parse_add_config("retention.ms=1000,cleanup.policy=[compact,delete], a = b").unwrap(),
            vec![
                ("retention.ms".into(), "1000".into()),
                ("cleanup.policy".into(), "compact,delete".into()),
                ("a".into(), "b".into()),
            ]
        );
        assert!(parse_add_config("novalue").is_err());
        assert!(parse_add_config("a=b=c").is_err());
    }

    #[test]
    fn entity_type_names_lose_their_plural() {
        assert_eq!(singular("topics"), "topic");
        assert_eq!(singular("brokers"), "broker");
        assert_eq!(singular("broker-loggers"), "broker-logger");
    }
}
