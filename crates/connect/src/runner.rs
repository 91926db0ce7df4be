//! What both herders do with a connector on this worker (Kafka's `Worker.startConnector`,
//! `startTask`, `stopAndAwaitTask`, `connectorTaskConfigs` and the sink offset admin):
//! the standalone herder runs everything here, the distributed herder what its
//! assignment gives it.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, OffsetDeleteRequest,
    OffsetDeleteResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rafka_connect_data::connector::{ConnectorContext, ConnectorError, Props};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::{json, Value as Json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connector_config::TASKS_MAX;
use crate::entities::ConnectorOffset;
use crate::error::RuntimeError;
use crate::offset_store;
use crate::plugins::{self, AnyConnector};
use crate::worker::{State, Status, StatusCell, TargetState, TaskSetup, Worker};

/// A task running on this worker.
pub struct RunningTask {
    pub status: StatusCell,
    pub control: watch::Sender<TargetState>,
    pub join: JoinHandle<()>,
}

impl std::fmt::Debug for RunningTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningTask")
            .field("status", &*self.status.lock())
            .finish()
    }
}

/// Kafka's task class for a connector class (`…SourceConnector` → `…SourceTask`).
pub fn task_class(class: &str) -> String {
    class
        .strip_suffix("Connector")
        .map(|c| format!("{c}Task"))
        .unwrap_or_else(|| class.to_string())
}

/// `tasks.max`, at least 1.
pub fn max_tasks(config: &Props) -> usize {
    config
        .get(TASKS_MAX)
        .and_then(|t| t.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

/// A started connector instance of `class`, initialized with its context first.
pub fn start_connector(
    class: &str,
    config: &Props,
    context: Arc<dyn ConnectorContext>,
) -> Result<AnyConnector, ConnectorError> {
    let mut connector = plugins::new_connector(class)
        .ok_or_else(|| ConnectorError::fatal(plugins::unknown_connector_message(class)))?;
    connector.as_connector_mut().initialize(context);
    connector.as_connector_mut().start(config)?;
    Ok(connector)
}

/// The connector's task configs, each with Kafka's `task.class`.
pub fn task_configs(connector: &AnyConnector, class: &str, config: &Props) -> Vec<Props> {
    connector
        .as_connector()
        .task_configs(max_tasks(config))
        .into_iter()
        .map(|mut props| {
            props.insert("task.class".into(), task_class(class));
            props
        })
        .collect()
}

/// Starts the task `setup` describes under `target`; the worker moves its status on
/// from UNASSIGNED.
pub fn start_task(
    worker: &Arc<Worker>,
    connector: &AnyConnector,
    setup: TaskSetup,
    target: TargetState,
) -> RunningTask {
    let status = setup.status.clone();
    *status.lock() = Status::new(State::Unassigned);
    let (control, receiver) = watch::channel(target);
    let worker = worker.clone();
    let join = match connector {
        AnyConnector::Source(c) => {
            tokio::spawn(worker.run_source_task(setup, c.create_task(), receiver))
        }
        AnyConnector::Sink(c) => {
            tokio::spawn(worker.run_sink_task(setup, c.create_task(), receiver))
        }
    };
    RunningTask {
        status,
        control,
        join,
    }
}

/// Stops a task, waiting `task.shutdown.graceful.timeout.ms` for it to flush before it
/// is aborted (Kafka's `stopAndAwaitTask`).
pub async fn stop_task(worker: &Worker, task: RunningTask) {
    let _ = task.control.send(TargetState::Stopped);
    let timeout = Duration::from_millis(worker.config.task_shutdown_graceful_timeout_ms);
    let abort = task.join.abort_handle();
    if tokio::time::timeout(timeout, task.join).await.is_err() {
        tracing::error!("Graceful stop of task failed.");
        abort.abort();
    }
}

/// The consumer of a sink connector's group (`connect-<name>`), for its offsets.
fn sink_consumer(worker: &Worker, name: &str) -> Result<BaseConsumer, RuntimeError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &worker.config.bootstrap_servers)
        .set("group.id", format!("connect-{name}"))
        .set("enable.auto.commit", "false");
    let settings = worker
        .config
        .client_settings("consumer.", &Default::default())
        .map_err(RuntimeError::Config)?;
    for (k, v) in settings {
        config.set(k, v);
    }
    config
        .create()
        .map_err(|e| RuntimeError::Internal(format!("Failed to create consumer: {e}")))
}

/// A sink connector's committed offsets, as `GET …/offsets` shows them.
pub async fn sink_offsets(
    worker: &Worker,
    name: &str,
    config: &Props,
) -> Result<Vec<ConnectorOffset>, RuntimeError> {
    let consumer = sink_consumer(worker, name)?;
    let topics: Vec<String> = config
        .get("topics")
        .map(|t| rafka_connect_data::config::parse_list(t))
        .unwrap_or_default();
    let regex = config
        .get("topics.regex")
        .filter(|r| !r.trim().is_empty())
        .and_then(|r| regex::Regex::new(&format!("^(?:{})$", r.trim())).ok());
    tokio::task::spawn_blocking(move || {
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| RuntimeError::Internal(format!("Failed to fetch metadata: {e}")))?;
        let mut list = rdkafka::TopicPartitionList::new();
        for topic in metadata.topics() {
            let wanted = topics.iter().any(|t| t == topic.name())
                || regex.as_ref().is_some_and(|r| r.is_match(topic.name()));
            if wanted {
                for partition in topic.partitions() {
                    list.add_partition(topic.name(), partition.id());
                }
            }
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .map_err(|e| RuntimeError::Internal(format!("Failed to fetch offsets: {e}")))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                rdkafka::Offset::Offset(o) => Some(ConnectorOffset {
                    partition: json!({"kafka_topic": e.topic(), "kafka_partition": e.partition()}),
                    offset: Some(json!({"kafka_offset": o})),
                }),
                _ => None,
            })
            .collect())
    })
    .await
    .map_err(|e| RuntimeError::Internal(e.to_string()))?
}

/// Alters (`Some`) or resets (`None`: the group is deleted) a sink connector's offsets.
pub async fn modify_sink_offsets(
    worker: &Worker,
    name: &str,
    offsets: Option<Vec<ConnectorOffset>>,
) -> Result<(), RuntimeError> {
    let Some(offsets) = offsets else {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &worker.config.bootstrap_servers);
        let settings = worker
            .config
            .client_settings("admin.", &Default::default())
            .map_err(RuntimeError::Config)?;
        for (k, v) in settings {
            config.set(k, v);
        }
        let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> = config
            .create()
            .map_err(|e| RuntimeError::Internal(format!("Failed to create admin client: {e}")))?;
        let group = format!("connect-{name}");
        let results = admin
            .delete_groups(&[&group], &rdkafka::admin::AdminOptions::new())
            .await
            .map_err(|e| RuntimeError::Internal(format!("Failed to reset offsets: {e}")))?;
        for result in results {
            if let Err((_, code)) = result {
                if code != rdkafka::types::RDKafkaErrorCode::GroupIdNotFound {
                    return Err(RuntimeError::Internal(format!(
                        "Failed to reset offsets: {code}"
                    )));
                }
            }
        }
        return Ok(());
    };
    let mut to_alter = rdkafka::TopicPartitionList::new();
    let mut to_reset: Vec<(String, i32)> = Vec::new();
    for entry in &offsets {
        let topic = entry.partition.get("kafka_topic").and_then(Json::as_str);
        let partition = entry
            .partition
            .get("kafka_partition")
            .and_then(Json::as_i64);
        let (Some(topic), Some(partition)) = (topic, partition) else {
            return Err(RuntimeError::BadRequest(
                "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'".into(),
            ));
        };
        match &entry.offset {
            None | Some(Json::Null) => to_reset.push((topic.to_string(), partition as i32)),
            Some(o) => {
                let offset = o.get("kafka_offset").and_then(Json::as_i64).ok_or_else(|| {
                    RuntimeError::BadRequest(
                        "The offset for a sink connector should either be null or contain the key 'kafka_offset'".into(),
                    )
                })?;
                to_alter
                    .add_partition_offset(topic, partition as i32, rdkafka::Offset::Offset(offset))
                    .map_err(|e| RuntimeError::BadRequest(e.to_string()))?;
            }
        }
    }
    let failed = || format!("Failed to alter consumer group offsets for connector {name}");
    if to_alter.count() > 0 {
        let consumer = sink_consumer(worker, name)?;
        tokio::task::spawn_blocking(move || {
            consumer.commit(&to_alter, rdkafka::consumer::CommitMode::Sync)
        })
        .await
        .map_err(|e| RuntimeError::Internal(e.to_string()))?
        .map_err(|e| {
            RuntimeError::Internal(match e.rdkafka_error_code() {
                Some(rdkafka::types::RDKafkaErrorCode::UnknownMemberId) => {
                    zombie_tasks_message(name)
                }
                _ => format!("{}: {e}", failed()),
            })
        })?;
    }
    if !to_reset.is_empty() {
        delete_group_offsets(
            &worker.config.bootstrap_servers,
            &worker.config.security,
            &format!("connect-{name}"),
            &to_reset,
        )
        .await
        .map_err(|error| {
            RuntimeError::Internal(match error {
                GroupOffsetsError::Kafka(code)
                    if code == ResponseError::GroupSubscribedToTopic.code()
                        || code == ResponseError::UnknownMemberId.code() =>
                {
                    zombie_tasks_message(name)
                }
                other => format!("{}: {other}", failed()),
            })
        })?;
    }
    Ok(())
}

/// Kafka's message when a group's offsets cannot change because it still has members.
fn zombie_tasks_message(name: &str) -> String {
    format!(
        "Failed to alter consumer group offsets for connector {name} either because its tasks haven't stopped completely yet or the connector was resumed before the request to alter its offsets could be successfully completed. If the connector is in a stopped state, this operation can be safely retried. If it doesn't eventually succeed, the Connect cluster may need to be restarted to get rid of the zombie sink tasks."
    )
}

/// Why a group's offsets could not be deleted.
#[derive(Debug, thiserror::Error)]
enum GroupOffsetsError {
    #[error("{0}")]
    Client(#[from] rafka_client::ClientError),
    #[error("{}", kafka_error_name(*.0))]
    Kafka(i16),
}

fn kafka_error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(error) => format!("{error:?} ({code})"),
        None => format!("error code {code}"),
    }
}

/// Deletes `group`'s committed offsets of `partitions` (Kafka's
/// `Admin.deleteConsumerGroupOffsets`: an OffsetDelete to the group's coordinator, which
/// rdkafka's admin API lacks). A group still subscribed to a topic keeps its offsets
/// (`GROUP_SUBSCRIBED_TO_TOPIC`).
async fn delete_group_offsets(
    bootstrap: &str,
    security: &rafka_client::ClientSecurity,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<(), GroupOffsetsError> {
    let timeout = Duration::from_secs(30);
    let mut client = rafka_client::connect_within_secured(bootstrap, timeout, security).await?;
    let version = client.version_for(ApiKey::FindCoordinator, 4)?;
    let key = StrBytes::from_string(group.to_string());
    let mut request = FindCoordinatorRequest::default().with_key_type(0);
    request = if version >= 4 {
        request.with_coordinator_keys(vec![key])
    } else {
        request.with_key(key)
    };
    let found: FindCoordinatorResponse = client
        .call_within(ApiKey::FindCoordinator, version, &request, timeout)
        .await?;
    let (error, host, port) = match found.coordinators.first() {
        Some(c) if version >= 4 => (c.error_code, c.host.to_string(), c.port),
        _ => (found.error_code, found.host.to_string(), found.port),
    };
    if error != 0 {
        return Err(GroupOffsetsError::Kafka(error));
    }
    let mut coordinator =
        rafka_client::connect_within_secured(&format!("{host}:{port}"), timeout, security).await?;
    let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
    for (topic, partition) in partitions {
        let name = TopicName(StrBytes::from_string(topic.clone()));
        let index = match topics.iter().position(|t| t.name == name) {
            Some(index) => index,
            None => {
                topics.push(OffsetDeleteRequestTopic::default().with_name(name));
                topics.len() - 1
            }
        };
        topics[index]
            .partitions
            .push(OffsetDeleteRequestPartition::default().with_partition_index(*partition));
    }
    let request = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_topics(topics);
    let version = coordinator.version_for(ApiKey::OffsetDelete, 0)?;
    let response: OffsetDeleteResponse = coordinator
        .call_within(ApiKey::OffsetDelete, version, &request, timeout)
        .await?;
    if response.error_code != 0 {
        return Err(GroupOffsetsError::Kafka(response.error_code));
    }
    let failed = response
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .find(|p| p.error_code != 0);
    match failed {
        Some(p) => Err(GroupOffsetsError::Kafka(p.error_code)),
        None => Ok(()),
    }
}

/// The message `PATCH`/`DELETE …/offsets` answer with.
pub fn offsets_modified_message(altered: bool) -> String {
    if altered {
        "The offsets for this connector have been altered successfully".into()
    } else {
        "The offsets for this connector have been reset successfully".into()
    }
}

/// Kafka's message when offsets are modified while the connector is not STOPPED.
pub fn not_stopped_message(name: &str) -> String {
    format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    )
}

/// A source connector's offsets from the worker's store (read to its end first).
pub async fn source_offsets(
    worker: &Worker,
    name: &str,
) -> Result<Vec<ConnectorOffset>, RuntimeError> {
    worker.offsets.refresh().await?;
    Ok(worker
        .offsets
        .connector_offsets(name)
        .into_iter()
        .filter_map(|(partition, offset)| {
            Some(ConnectorOffset {
                partition: value_to_json(&partition)?,
                offset: Some(value_to_json(&offset)?),
            })
        })
        .collect())
}

/// Alters (`Some`: a `null` offset removes that partition's) or resets (`None`) a
/// source connector's offsets.
pub async fn modify_source_offsets(
    worker: &Worker,
    name: &str,
    offsets: Option<Vec<ConnectorOffset>>,
) -> Result<(), RuntimeError> {
    let entries = match offsets {
        Some(offsets) => offsets
            .iter()
            .map(|o| {
                let partition = json_to_value(&o.partition);
                if !matches!(partition, rafka_connect_data::Value::Map(_)) {
                    return Err(RuntimeError::BadRequest(
                        "Source partitions may not be null".into(),
                    ));
                }
                let value = match &o.offset {
                    None | Some(Json::Null) => None,
                    Some(offset) => offset_store::encode_value(&json_to_value(offset)),
                };
                Ok((offset_store::offset_key(name, &partition), value))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => {
            worker.offsets.refresh().await?;
            worker
                .offsets
                .connector_offsets(name)
                .into_iter()
                .map(|(partition, _)| (offset_store::offset_key(name, &partition), None))
                .collect()
        }
    };
    worker.offsets.set(entries).await
}

/// A Connect value (from the offset store) as plain JSON.
fn value_to_json(value: &rafka_connect_data::Value) -> Option<Json> {
    let bytes = offset_store::encode_value(value)?;
    serde_json::from_slice(&bytes).ok()
}

/// Plain JSON (from a request) as a Connect value, as Kafka's schemaless JsonConverter
/// reads it.
fn json_to_value(json: &Json) -> rafka_connect_data::Value {
    let bytes = serde_json::to_vec(json).unwrap_or_default();
    offset_store::decode_value(&bytes).unwrap_or(rafka_connect_data::Value::Null)
}
