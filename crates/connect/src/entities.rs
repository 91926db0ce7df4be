//! The REST API's entities (Kafka's `runtime.rest.entities`): what the herders answer
//! and the REST layer serializes, shared by the herders and what runs connectors.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use crate::worker::State;

/// `{"connector","task"}`. Ordered by connector, then task, as Kafka's `ConnectorTaskId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: usize,
}

/// Kafka's `ConnectorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// One entry of `ConnectorStateInfo` (`trace` omitted when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<usize>,
    pub state: State,
    pub worker_id: String,
    /// The plugin's version (Kafka 4.1, KIP-891).
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// Kafka's `ConnectorStateInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: StateInfo,
    pub tasks: Vec<StateInfo>,
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// `{"id":{…},"config":{…}}` of `GET /connectors/{n}/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: BTreeMap<String, String>,
}

/// One partition's offset (`null` offset: reset that partition).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ConnectorOffset {
    pub partition: Json,
    pub offset: Option<Json>,
}

/// `GET /health`'s answer (Kafka's `WorkerStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Still joining its cluster (503).
    Starting,
    /// Started, but its herder did not answer in time (500).
    Unhealthy,
}

impl Health {
    /// The HTTP status and Kafka's `{"status","message"}` body.
    pub fn answer(self) -> (u16, serde_json::Value) {
        let (code, status, message) = match self {
            Health::Healthy => (
                200,
                "healthy",
                "Worker has completed startup and is ready to handle requests.",
            ),
            Health::Starting => (503, "starting", "Worker is still starting up."),
            Health::Unhealthy => (
                500,
                "unhealthy",
                "Worker was unable to handle this request and may be unable to handle other requests.",
            ),
        };
        (
            code,
            serde_json::json!({"status": status, "message": message}),
        )
    }
}

/// Kafka's `InternalRequestSignature`: the headers of a signed internal request, with
/// the body they sign.
#[derive(Debug, Clone)]
pub struct RequestSignature {
    pub algorithm: String,
    /// Base64 of the HMAC.
    pub signature: String,
    pub body: Vec<u8>,
}
