//! Topic and broker configs: `…/topics/{topic_name}/configs` and
//! `…/brokers/{broker_id}/configs` (list, one, `PUT` set, `DELETE` reset, `:alter` batch)
//! through DescribeConfigs and IncrementalAlterConfigs.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::clusters::broker;
use super::resource::{self, Ctx};
use super::topics::topic;
use crate::rest::admin::{
    config_source_name, ConfigEntry, CONFIG_DELETE, CONFIG_SET, RESOURCE_BROKER, RESOURCE_TOPIC,
};
use crate::rest::errors::RestError;

type Result<T> = std::result::Result<T, RestError>;

/// Whose configs a route is about: a topic's, a broker's, or the cluster-wide dynamic
/// broker defaults (`…/broker-configs`, Kafka's broker resource with an empty name).
enum Scope {
    Topic(String),
    Broker(i32),
    Cluster,
}

impl Scope {
    /// The topic or broker the path names (404 when it does not exist).
    fn of(ctx: &Ctx) -> Result<Scope> {
        if !ctx.param("topic_name").is_empty() {
            Ok(Scope::Topic(topic(ctx)?.name.clone()))
        } else if !ctx.param("broker_id").is_empty() {
            Ok(Scope::Broker(broker(ctx)?.id))
        } else {
            Ok(Scope::Cluster)
        }
    }

    fn resource_type(&self) -> i8 {
        match self {
            Scope::Topic(_) => RESOURCE_TOPIC,
            Scope::Broker(_) | Scope::Cluster => RESOURCE_BROKER,
        }
    }

    fn resource_name(&self) -> String {
        match self {
            Scope::Topic(name) => name.clone(),
            Scope::Broker(id) => id.to_string(),
            Scope::Cluster => String::new(),
        }
    }

    fn path(&self) -> String {
        match self {
            Scope::Topic(name) => format!("/topics/{name}/configs"),
            Scope::Broker(id) => format!("/brokers/{id}/configs"),
            Scope::Cluster => "/broker-configs".to_string(),
        }
    }

    /// The resource name of config `name`, after the cluster's segment.
    fn crn(&self, name: &str) -> String {
        match self {
            Scope::Topic(topic) => format!("/topic={topic}/config={name}"),
            Scope::Broker(id) => format!("/broker={id}/config={name}"),
            Scope::Cluster => format!("/broker-config={name}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "KafkaTopicConfig",
            Scope::Broker(_) => "KafkaBrokerConfig",
            Scope::Cluster => "KafkaClusterConfig",
        }
    }

    fn owner(&self) -> (&'static str, Value) {
        match self {
            Scope::Topic(name) => ("topic_name", json!(name)),
            Scope::Broker(id) => ("broker_id", json!(id)),
            Scope::Cluster => ("config_type", json!("BROKER")),
        }
    }

    fn not_found(&self, name: &str) -> RestError {
        let owner = match self {
            Scope::Topic(topic) => format!("topic {topic}"),
            Scope::Broker(id) => format!("broker {id}"),
            Scope::Cluster => "the cluster".to_string(),
        };
        RestError::http(
            StatusCode::NOT_FOUND,
            format!("Config {name} cannot be found for {owner}."),
        )
    }
}

fn config_json(ctx: &Ctx, scope: &Scope, entry: &ConfigEntry) -> Value {
    let (owner_field, owner) = scope.owner();
    let fields = json!({
        "cluster_id": ctx.cluster_id(),
        owner_field: owner,
        "name": entry.name,
        "value": if entry.is_sensitive { None } else { entry.value.clone() },
        "is_default": entry.is_default(),
        "is_read_only": entry.is_read_only,
        "is_sensitive": entry.is_sensitive,
        "source": config_source_name(entry.source),
        "synonyms": entry.synonyms.iter().map(|(name, value, source)| json!({
            "name": name,
            "value": value,
            "source": config_source_name(*source),
        })).collect::<Vec<_>>(),
    });
    ctx.resource(
        scope.kind(),
        &format!("{}/{}", scope.path(), entry.name),
        &scope.crn(&entry.name),
        fields,
    )
}

async fn describe(ctx: &Ctx, scope: &Scope) -> Result<Vec<ConfigEntry>> {
    ctx.proxy
        .admin
        .describe_configs(scope.resource_type(), &scope.resource_name())
        .await
}

pub async fn list_configs(ctx: Ctx) -> Result<Json<Value>> {
    let scope = Scope::of(&ctx)?;
    let data = describe(&ctx, &scope)
        .await?
        .iter()
        .map(|e| config_json(&ctx, &scope, e))
        .collect();
    Ok(Json(ctx.list(
        &format!("{}List", scope.kind()),
        &scope.path(),
        data,
    )))
}

pub async fn get_config(ctx: Ctx) -> Result<Json<Value>> {
    let scope = Scope::of(&ctx)?;
    let name = ctx.param("name");
    let entries = describe(&ctx, &scope).await?;
    let entry = entries
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| scope.not_found(name))?;
    Ok(Json(config_json(&ctx, &scope, entry)))
}

#[derive(Debug, Deserialize)]
struct SetConfigRequest {
    value: Option<String>,
}

/// `PUT …/configs/{name}` `{"value"}`: sets one config.
pub async fn set_config(ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let scope = Scope::of(&ctx)?;
    let request: SetConfigRequest = resource::body(&headers, &body)?;
    let change = (ctx.param("name").to_string(), CONFIG_SET, request.value);
    alter(&ctx, &scope, &[change], false).await
}

/// `DELETE …/configs/{name}`: back to the default.
pub async fn reset_config(ctx: Ctx) -> Result<StatusCode> {
    let scope = Scope::of(&ctx)?;
    let change = (ctx.param("name").to_string(), CONFIG_DELETE, None);
    alter(&ctx, &scope, &[change], false).await
}

#[derive(Debug, Deserialize)]
struct AlterEntry {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    operation: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AlterRequest {
    data: Vec<AlterEntry>,
    #[serde(default)]
    validate_only: bool,
}

/// `POST …/configs:alter` `{"data":[{"name","value","operation":"SET|DELETE"}]}`.
pub async fn alter_configs(ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let scope = Scope::of(&ctx)?;
    let request: AlterRequest = resource::body(&headers, &body)?;
    let mut changes = Vec::with_capacity(request.data.len());
    for entry in request.data {
        let operation = match entry
            .operation
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("SET") => CONFIG_SET,
            Some("DELETE") => CONFIG_DELETE,
            Some(other) => {
                return Err(RestError::bad_request(format!(
                    "operation {other} of config {} is not SET or DELETE",
                    entry.name
                )))
            }
        };
        changes.push((entry.name, operation, entry.value));
    }
    alter(&ctx, &scope, &changes, request.validate_only).await
}

async fn alter(
    ctx: &Ctx,
    scope: &Scope,
    changes: &[(String, i8, Option<String>)],
    validate_only: bool,
) -> Result<StatusCode> {
    ctx.proxy
        .admin
        .alter_configs(
            scope.resource_type(),
            &scope.resource_name(),
            changes,
            validate_only,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
