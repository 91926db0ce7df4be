//! `kafka-acls.sh`: add, list and remove ACLs (Kafka's `AclCommand`), with its flags
//! and its output, over CreateAcls, DescribeAcls and DeleteAcls.
//!
//! Kafka prints the entries of a resource from a Java `HashSet` (whose order follows
//! enum identity hashes, so it changes from run to run); rafka prints them sorted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{
    ApiKey, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_client::{connect_within, WireClient};
use rafka_security::acl::{
    supported_operations, AccessControlEntry, AclOperation, AclPermissionType, PatternType,
    ResourcePattern, ResourceType, WILDCARD_HOST,
};

use crate::common::{
    admin_timeout, java_exception_string, parse_tool_args, read_properties, runtime,
};
use crate::ToolError;

/// The name of the CLUSTER resource.
const CLUSTER_NAME: &str = "kafka-cluster";

#[derive(Debug, Parser)]
#[command(
    name = "kafka-acls.sh",
    about = "This tool helps to manage acls on kafka.",
    disable_version_flag = true
)]
struct Args {
    /// A list of host/port pairs to use for establishing the connection to the Kafka cluster.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// A list of host/port pairs of controllers (rafka's brokers answer for them).
    #[arg(long = "bootstrap-controller", value_name = "controller to connect to")]
    bootstrap_controller: Option<String>,
    /// A property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "command-config")]
    command_config: Option<PathBuf>,
    /// topic to which ACLs should be added or removed. A value of '*' indicates ACL should apply to all topics.
    #[arg(long)]
    topic: Vec<String>,
    /// Add/Remove cluster ACLs.
    #[arg(long)]
    cluster: bool,
    /// Consumer Group to which the ACLs should be added or removed.
    #[arg(long)]
    group: Vec<String>,
    /// The transactionalId to which ACLs should be added or removed.
    #[arg(long = "transactional-id")]
    transactional_id: Vec<String>,
    /// Enable idempotence for the producer (with --producer).
    #[arg(long)]
    idempotent: bool,
    /// Delegation token to which ACLs should be added or removed.
    #[arg(long = "delegation-token")]
    delegation_token: Vec<String>,
    /// The type of the resource pattern or pattern filter (literal, prefixed, any, match).
    #[arg(long = "resource-pattern-type", default_value = "LITERAL")]
    resource_pattern_type: String,
    /// Indicates you are trying to add ACLs.
    #[arg(long)]
    add: bool,
    /// Indicates you are trying to remove ACLs.
    #[arg(long)]
    remove: bool,
    /// List ACLs for the specified resource.
    #[arg(long)]
    list: bool,
    /// Operation that is being allowed or denied.
    #[arg(long)]
    operation: Vec<String>,
    /// principal is in principalType:name format.
    #[arg(long = "allow-principal")]
    allow_principal: Vec<String>,
    /// principal is in principalType:name format; deny rules take precedence.
    #[arg(long = "deny-principal")]
    deny_principal: Vec<String>,
    /// List ACLs for the specified principal.
    #[arg(long)]
    principal: Vec<String>,
    /// Host from which principals listed in --allow-principal will have access.
    #[arg(long = "allow-host")]
    allow_host: Vec<String>,
    /// Host from which principals listed in --deny-principal will be denied access.
    #[arg(long = "deny-host")]
    deny_host: Vec<String>,
    /// Convenience option to add/remove ACLs for producer role.
    #[arg(long)]
    producer: bool,
    /// Convenience option to add/remove ACLs for consumer role.
    #[arg(long)]
    consumer: bool,
    /// Assume Yes to all queries and do not prompt.
    #[arg(long)]
    force: bool,
    /// Specifies a user principal as a resource.
    #[arg(long = "user-principal")]
    user_principal: Vec<String>,
}

/// A resource pattern or pattern filter (Kafka's `ResourcePatternFilter`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Filter {
    resource_type: ResourceType,
    name: String,
    pattern_type: PatternType,
}

impl Filter {
    fn filter_string(&self) -> String {
        format!(
            "ResourcePatternFilter(resourceType={}, name={}, patternType={})",
            self.resource_type, self.name, self.pattern_type
        )
    }
}

fn pattern_string(p: &ResourcePattern) -> String {
    format!(
        "ResourcePattern(resourceType={}, name={}, patternType={})",
        p.resource_type, p.name, p.pattern_type
    )
}

fn entry_string(e: &AccessControlEntry) -> String {
    format!(
        "(principal={}, host={}, operation={}, permissionType={})",
        e.principal, e.host, e.operation, e.permission
    )
}

/// Kafka's block: `<title> `<resource>`: \n \t<entry>\n\t<entry> \n` and a blank line.
fn print_block(title: &str, resource: &str, entries: &BTreeSet<AccessControlEntry>) {
    let lines: Vec<String> = entries
        .iter()
        .map(|e| format!("\t{}", entry_string(e)))
        .collect();
    println!("{title} `{resource}`: \n {} \n", lines.join("\n"));
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-acls.sh", args)? else {
        return Ok(());
    };
    check_args(&args)?;
    let pattern_type = pattern_type_of(&args.resource_pattern_type)?;
    let bootstrap = args
        .bootstrap_server
        .clone()
        .or_else(|| args.bootstrap_controller.clone())
        .unwrap_or_default();
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    let timeout = admin_timeout(&props);
    // Resolve everything the command needs before connecting, as Kafka does.
    let plan = if args.list {
        None
    } else {
        Some(filters_to_acls(&args, pattern_type)?)
    };
    if args.add {
        if !matches!(pattern_type, PatternType::Literal | PatternType::Prefixed) {
            return Err(ToolError::Usage(format!(
                "A '--resource-pattern-type' value of '{pattern_type}' is not valid when adding acls."
            )));
        }
        if plan
            .as_ref()
            .is_some_and(|p| p.values().any(BTreeSet::is_empty))
        {
            return Err(ToolError::Usage(
                "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs."
                    .into(),
            ));
        }
    }
    let result = runtime()?.block_on(async {
        let mut client = connect_within(&bootstrap, timeout).await?;
        let mut service = Service {
            client: &mut client,
            timeout,
        };
        match plan {
            Some(plan) if args.add => service.add(plan).await,
            Some(plan) => service.remove(plan, args.force).await,
            None => service.list(&args, pattern_type).await,
        }
    });
    match result {
        Err(ToolError::Failed(message)) => {
            // Kafka prints this (and a stack trace) on stdout, and exits 1.
            println!("Error while executing ACL command: {message}");
            Err(ToolError::Reported(String::new()))
        }
        other => other,
    }
}

/// Kafka's `AclCommandOptions.checkArgs`.
fn check_args(args: &Args) -> Result<(), ToolError> {
    let usage = |m: &str| Err(ToolError::Usage(m.to_string()));
    if args.bootstrap_server.is_some() && args.bootstrap_controller.is_some() {
        return usage("Only one of --bootstrap-server or --bootstrap-controller must be specified");
    }
    if args.bootstrap_server.is_none() && args.bootstrap_controller.is_none() {
        return usage("One of --bootstrap-server or --bootstrap-controller must be specified");
    }
    if usize::from(args.add) + usize::from(args.remove) + usize::from(args.list) != 1 {
        return usage("Command must include exactly one action: --list, --add, --remove. ");
    }
    let with_list = [
        ("producer", args.producer),
        ("consumer", args.consumer),
        ("allow-host", !args.allow_host.is_empty()),
        ("allow-principal", !args.allow_principal.is_empty()),
        ("deny-host", !args.deny_host.is_empty()),
        ("deny-principal", !args.deny_principal.is_empty()),
    ];
    if args.list {
        if let Some((name, _)) = with_list.iter().find(|(_, given)| *given) {
            return usage(&format!(
                "Option \"[list]\" can't be used with option \"[{name}]\""
            ));
        }
    }
    for (role, given) in [("producer", args.producer), ("consumer", args.consumer)] {
        let conflicting = [
            ("operation", !args.operation.is_empty()),
            ("deny-principal", !args.deny_principal.is_empty()),
            ("deny-host", !args.deny_host.is_empty()),
        ];
        if let (true, Some((name, _))) = (given, conflicting.iter().find(|(_, g)| *g)) {
            return usage(&format!(
                "Option \"[{role}]\" can't be used with option \"[{name}]\""
            ));
        }
    }
    if !args.principal.is_empty() && !args.list {
        return usage("The --principal option is only available if --list is set");
    }
    if args.producer && args.topic.is_empty() {
        return usage("With --producer you must specify a --topic");
    }
    if args.idempotent && !args.producer {
        return usage("The --idempotent option is only available if --producer is set");
    }
    if args.consumer
        && (args.topic.is_empty()
            || args.group.is_empty()
            || (!args.producer && (args.cluster || !args.transactional_id.is_empty())))
    {
        return usage("With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.");
    }
    Ok(())
}

fn pattern_type_of(value: &str) -> Result<PatternType, ToolError> {
    match PatternType::from_name(value) {
        Some(p) if p != PatternType::Unknown => Ok(p),
        _ => Err(ToolError::Usage(format!(
            "Unknown resource-pattern-type: {value}"
        ))),
    }
}

/// Kafka's `SecurityUtils.operation`: `Read`, `DescribeConfigs`, `describe-configs` or
/// `DESCRIBE_CONFIGS`.
fn operation_of(name: &str) -> Result<AclOperation, ToolError> {
    let name = name.trim();
    let mut snake = String::new();
    let mixed = name.chars().any(|c| c.is_ascii_lowercase());
    for (i, c) in name.chars().enumerate() {
        if mixed && i > 0 && c.is_ascii_uppercase() {
            snake.push('_');
        }
        snake.push(c);
    }
    match AclOperation::from_name(&snake) {
        Some(op) if !matches!(op, AclOperation::Unknown | AclOperation::Any) => Ok(op),
        _ => Err(ToolError::Usage(format!("Unknown operation: {name}"))),
    }
}

fn principal_of(value: &str) -> Result<String, ToolError> {
    let value = value.trim();
    match value.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(value.to_string()),
        _ => Err(ToolError::Usage(format!(
            "expected a string in format principalType:principalName but got {value}"
        ))),
    }
}

/// Kafka's `getResourceFilter`: every resource the options name.
fn resource_filters(args: &Args, pattern_type: PatternType) -> Vec<Filter> {
    let mut filters = BTreeSet::new();
    let mut add = |resource_type, name: &str| {
        filters.insert(Filter {
            resource_type,
            name: name.trim().to_string(),
            pattern_type,
        });
    };
    for t in &args.topic {
        add(ResourceType::Topic, t);
    }
    for g in &args.group {
        add(ResourceType::Group, g);
    }
    for t in &args.transactional_id {
        add(ResourceType::TransactionalId, t);
    }
    for t in &args.delegation_token {
        add(ResourceType::DelegationToken, t);
    }
    for u in &args.user_principal {
        add(ResourceType::User, u);
    }
    let mut filters: Vec<Filter> = filters.into_iter().collect();
    if pattern_type == PatternType::Literal && (args.cluster || args.idempotent) {
        filters.push(cluster_filter());
    }
    filters
}

fn cluster_filter() -> Filter {
    Filter {
        resource_type: ResourceType::Cluster,
        name: CLUSTER_NAME.to_string(),
        pattern_type: PatternType::Literal,
    }
}

/// The entries of the principal and host options for `operations`.
fn entries(
    args: &Args,
    operations: &[AclOperation],
) -> Result<BTreeSet<AccessControlEntry>, ToolError> {
    let hosts = |hosts: &[String], principals: &[String]| -> Vec<String> {
        if !hosts.is_empty() {
            hosts.iter().map(|h| h.trim().to_string()).collect()
        } else if !principals.is_empty() {
            vec![WILDCARD_HOST.to_string()]
        } else {
            Vec::new()
        }
    };
    let mut out = BTreeSet::new();
    for (principals, hosts, permission) in [
        (
            &args.allow_principal,
            hosts(&args.allow_host, &args.allow_principal),
            AclPermissionType::Allow,
        ),
        (
            &args.deny_principal,
            hosts(&args.deny_host, &args.deny_principal),
            AclPermissionType::Deny,
        ),
    ] {
        for principal in principals {
            let principal = principal_of(principal)?;
            for &operation in operations {
                for host in &hosts {
                    out.insert(AccessControlEntry {
                        principal: principal.clone(),
                        host: host.clone(),
                        operation,
                        permission,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Kafka's `getResourceFilterToAcls`: the entries to add or remove per resource,
/// `--producer` and `--consumer` expanded.
fn filters_to_acls(
    args: &Args,
    pattern_type: PatternType,
) -> Result<BTreeMap<Filter, BTreeSet<AccessControlEntry>>, ToolError> {
    use AclOperation::*;
    let filters = resource_filters(args, pattern_type);
    if filters.is_empty() {
        return Err(ToolError::Usage(
            "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>".into(),
        ));
    }
    let mut out: BTreeMap<Filter, BTreeSet<AccessControlEntry>> = BTreeMap::new();
    if !args.producer && !args.consumer {
        let operations = if args.operation.is_empty() {
            vec![All]
        } else {
            args.operation
                .iter()
                .map(|o| operation_of(o))
                .collect::<Result<Vec<_>, _>>()?
        };
        let acls = entries(args, &operations)?;
        for f in &filters {
            out.insert(f.clone(), acls.clone());
        }
    }
    if args.producer {
        for f in &filters {
            match f.resource_type {
                ResourceType::Topic => {
                    out.insert(f.clone(), entries(args, &[Write, Describe, Create])?);
                }
                ResourceType::TransactionalId => {
                    out.insert(f.clone(), entries(args, &[Write, Describe])?);
                }
                _ => {}
            }
        }
        if args.idempotent {
            out.insert(cluster_filter(), entries(args, &[IdempotentWrite])?);
        }
    }
    if args.consumer {
        for f in &filters {
            let operations: &[AclOperation] = match f.resource_type {
                ResourceType::Topic => &[Read, Describe],
                ResourceType::Group => &[Read],
                _ => continue,
            };
            let acls = entries(args, operations)?;
            out.entry(f.clone()).or_default().extend(acls);
        }
    }
    for (f, acls) in &out {
        let valid = supported_operations(f.resource_type);
        if acls
            .iter()
            .any(|a| a.operation != All && !valid.contains(&a.operation))
        {
            let names: Vec<&str> = valid
                .iter()
                .chain(std::iter::once(&All))
                .map(|o| o.name())
                .collect();
            return Err(ToolError::Usage(format!(
                "ResourceType {} only supports operations {}",
                f.resource_type,
                names.join(", ")
            )));
        }
    }
    Ok(out)
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

struct Service<'a> {
    client: &'a mut WireClient,
    timeout: Duration,
}

impl Service<'_> {
    async fn add(
        &mut self,
        plan: BTreeMap<Filter, BTreeSet<AccessControlEntry>>,
    ) -> Result<(), ToolError> {
        for (f, acls) in plan {
            let pattern = ResourcePattern {
                resource_type: f.resource_type,
                name: f.name.clone(),
                pattern_type: f.pattern_type,
            };
            print_block("Adding ACLs for resource", &pattern_string(&pattern), &acls);
            let creations = acls
                .iter()
                .map(|a| {
                    AclCreation::default()
                        .with_resource_type(f.resource_type.code())
                        .with_resource_name(s(&f.name))
                        .with_resource_pattern_type(f.pattern_type.code())
                        .with_principal(s(&a.principal))
                        .with_host(s(&a.host))
                        .with_operation(a.operation.code())
                        .with_permission_type(a.permission.code())
                })
                .collect();
            let version = self.client.version_for(ApiKey::CreateAcls, 3)?;
            let response: CreateAclsResponse = self
                .client
                .call_within(
                    ApiKey::CreateAcls,
                    version,
                    &CreateAclsRequest::default().with_creations(creations),
                    self.timeout,
                )
                .await?;
            if let Some(r) = response.results.iter().find(|r| r.error_code != 0) {
                return Err(ToolError::Failed(java_exception_string(
                    r.error_code,
                    r.error_message.as_ref().map(|m| m.as_str()),
                )));
            }
        }
        Ok(())
    }

    async fn remove(
        &mut self,
        plan: BTreeMap<Filter, BTreeSet<AccessControlEntry>>,
        force: bool,
    ) -> Result<(), ToolError> {
        for (f, acls) in plan {
            let question = if acls.is_empty() {
                format!(
                    "Are you sure you want to delete all ACLs for resource filter `{}`? (y/n)",
                    f.filter_string()
                )
            } else {
                let lines: Vec<String> = acls
                    .iter()
                    .map(|a| format!("\t{}", entry_string(a)))
                    .collect();
                format!(
                    "Are you sure you want to remove ACLs: \n {} \n from resource filter `{}`? (y/n)",
                    lines.join("\n"),
                    f.filter_string()
                )
            };
            if !force && !confirm(&question) {
                continue;
            }
            let base = DeleteAclsFilter::default()
                .with_resource_type_filter(f.resource_type.code())
                .with_resource_name_filter(Some(s(&f.name)))
                .with_pattern_type_filter(f.pattern_type.code());
            let filters: Vec<DeleteAclsFilter> = if acls.is_empty() {
                vec![base
                    .with_principal_filter(None)
                    .with_host_filter(None)
                    .with_operation(AclOperation::Any.code())
                    .with_permission_type(AclPermissionType::Any.code())]
            } else {
                acls.iter()
                    .map(|a| {
                        base.clone()
                            .with_principal_filter(Some(s(&a.principal)))
                            .with_host_filter(Some(s(&a.host)))
                            .with_operation(a.operation.code())
                            .with_permission_type(a.permission.code())
                    })
                    .collect()
            };
            let version = self.client.version_for(ApiKey::DeleteAcls, 3)?;
            let response: DeleteAclsResponse = self
                .client
                .call_within(
                    ApiKey::DeleteAcls,
                    version,
                    &DeleteAclsRequest::default().with_filters(filters),
                    self.timeout,
                )
                .await?;
            if let Some(r) = response.filter_results.iter().find(|r| r.error_code != 0) {
                return Err(ToolError::Failed(java_exception_string(
                    r.error_code,
                    r.error_message.as_ref().map(|m| m.as_str()),
                )));
            }
        }
        Ok(())
    }

    async fn describe(
        &mut self,
        filter: Option<&Filter>,
    ) -> Result<Vec<(ResourcePattern, AccessControlEntry)>, ToolError> {
        let request = match filter {
            None => DescribeAclsRequest::default()
                .with_resource_type_filter(ResourceType::Any.code())
                .with_resource_name_filter(None)
                .with_pattern_type_filter(PatternType::Any.code()),
            Some(f) => DescribeAclsRequest::default()
                .with_resource_type_filter(f.resource_type.code())
                .with_resource_name_filter(Some(s(&f.name)))
                .with_pattern_type_filter(f.pattern_type.code()),
        }
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(AclOperation::Any.code())
        .with_permission_type(AclPermissionType::Any.code());
        let version = self.client.version_for(ApiKey::DescribeAcls, 3)?;
        let response: DescribeAclsResponse = self
            .client
            .call_within(ApiKey::DescribeAcls, version, &request, self.timeout)
            .await?;
        if response.error_code != 0 {
            return Err(ToolError::Failed(java_exception_string(
                response.error_code,
                response.error_message.as_ref().map(|m| m.as_str()),
            )));
        }
        let mut out = Vec::new();
        for r in response.resources {
            let pattern = ResourcePattern {
                resource_type: ResourceType::from_code(r.resource_type),
                name: r.resource_name.to_string(),
                pattern_type: PatternType::from_code(r.pattern_type),
            };
            for a in r.acls {
                out.push((
                    pattern.clone(),
                    AccessControlEntry {
                        principal: a.principal.to_string(),
                        host: a.host.to_string(),
                        operation: AclOperation::from_code(a.operation),
                        permission: AclPermissionType::from_code(a.permission_type),
                    },
                ));
            }
        }
        Ok(out)
    }

    async fn list(&mut self, args: &Args, pattern_type: PatternType) -> Result<(), ToolError> {
        let filters = resource_filters(args, pattern_type);
        let mut bindings = Vec::new();
        if filters.is_empty() {
            bindings = self.describe(None).await?;
        } else {
            for f in &filters {
                bindings.extend(self.describe(Some(f)).await?);
            }
        }
        let mut by_resource: BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>> =
            BTreeMap::new();
        for (pattern, entry) in bindings {
            by_resource.entry(pattern).or_default().insert(entry);
        }
        let print = |by_resource: &BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>| {
            for (pattern, acls) in by_resource {
                print_block("Current ACLs for resource", &pattern_string(pattern), acls);
            }
        };
        if args.principal.is_empty() {
            print(&by_resource);
            return Ok(());
        }
        for principal in &args.principal {
            let principal = principal_of(principal)?;
            println!("ACLs for principal `{principal}`");
            let mine: BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>> = by_resource
                .iter()
                .map(|(p, acls)| {
                    let acls: BTreeSet<AccessControlEntry> = acls
                        .iter()
                        .filter(|a| a.principal == principal)
                        .cloned()
                        .collect();
                    (p.clone(), acls)
                })
                .filter(|(_, acls)| !acls.is_empty())
                .collect();
            print(&mine);
        }
        Ok(())
    }
}

/// Kafka's `confirmAction`: the question, then a `y` (any case) on stdin.
fn confirm(question: &str) -> bool {
    println!("{question}");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().eq_ignore_ascii_case("y")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("kafka-acls.sh").chain(line.iter().copied())).unwrap()
    }

    #[test]
    fn producer_and_consumer_expand_as_kafkas_tool_does() {
        let args = parse(&[
            "--bootstrap-server",
            "x:9092",
            "--add",
            "--allow-principal",
            "User:alice",
            "--producer",
            "--consumer",
            "--topic",
            "t",
            "--group",
            "g",
            "--idempotent",
        ]);
        check_args(&args).unwrap();
        let plan = filters_to_acls(&args, PatternType::Literal).unwrap();
        let ops = |rt: ResourceType| -> Vec<&str> {
            plan.iter()
                .find(|(f, _)| f.resource_type == rt)
                .map(|(_, acls)| acls.iter().map(|a| a.operation.name()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            ops(ResourceType::Topic),
            ["READ", "WRITE", "CREATE", "DESCRIBE"]
        );
        assert_eq!(ops(ResourceType::Group), ["READ"]);
        assert_eq!(ops(ResourceType::Cluster), ["IDEMPOTENT_WRITE"]);
        assert!(plan
            .values()
            .flatten()
            .all(|a| a.host == "*" && a.principal == "User:alice"));
    }

    #[test]
    fn output_and_names_are_kafkas() {
        let pattern = ResourcePattern {
            resource_type: ResourceType::Topic,
            name: "t".into(),
            pattern_type: PatternType::Prefixed,
        };
        assert_eq!(
            pattern_string(&pattern),
            "ResourcePattern(resourceType=TOPIC, name=t, patternType=PREFIXED)"
        );
        let entry = AccessControlEntry {
            principal: "User:a".into(),
            host: "*".into(),
            operation: AclOperation::DescribeConfigs,
            permission: AclPermissionType::Deny,
        };
        assert_eq!(
            entry_string(&entry),
            "(principal=User:a, host=*, operation=DESCRIBE_CONFIGS, permissionType=DENY)"
        );
        assert_eq!(
            operation_of("DescribeConfigs").unwrap(),
            AclOperation::DescribeConfigs
        );
        assert_eq!(operation_of("read").unwrap(), AclOperation::Read);
        assert!(operation_of("Any").is_err());
        assert!(principal_of("alice").is_err());
        let bad = parse(&["--bootstrap-server", "x", "--add", "--list"]);
        assert!(check_args(&bad).is_err());
        let ops = parse(&[
            "--bootstrap-server",
            "x",
            "--add",
            "--allow-principal",
            "User:a",
            "--group",
            "g",
            "--operation",
            "Write",
        ]);
        let e = filters_to_acls(&ops, PatternType::Literal).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("ResourceType GROUP only supports operations"),
            "{e}"
        );
    }
}
