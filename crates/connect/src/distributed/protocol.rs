//! Kafka Connect's group protocol: the metadata a worker puts in JoinGroup and the
//! assignment the leader hands out in SyncGroup, byte for byte as Kafka's
//! `ConnectProtocol` (v0, "default") and `IncrementalCooperativeConnectProtocol`
//! (v1 "compatible", v2 "sessioned") write them.
//!
//! On the wire (big-endian; `STRING` is an int16 length and UTF-8, never null; arrays
//! and bytes have an int32 length, -1 meaning null where the field is nullable):
//!
//! ```text
//! Metadata v0      => Version:int16 Url:STRING ConfigOffset:int64
//! Metadata v1, v2  => Version:int16 Url:STRING ConfigOffset:int64 Allocation:NULLABLE_BYTES
//!                     (Allocation: the worker's current assignment, encoded as below)
//! Assignment v0    => Version:int16 Error:int16 Leader:STRING LeaderUrl:STRING
//!                     ConfigOffset:int64 Assignment:[Connector:STRING Tasks:[int32]]
//! Assignment v1,v2 => … as v0 … Assignment:nullable [..] Revoked:nullable [..] Delay:int32
//! ```
//!
//! Tasks are grouped by connector; task id -1 (`CONNECTOR_TASK`) stands for the connector
//! instance itself. Like Kafka, a reader of v1+ fields takes a missing trailing field as
//! its default (null allocation, null arrays, delay 0), so v0 bytes decode with the v1
//! reader, and any version ≥ 0 is read as the newest layout it knows.

use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;

use crate::herder::ConnectorTaskId;

pub const CONNECT_PROTOCOL_V0: i16 = 0;
pub const CONNECT_PROTOCOL_V1: i16 = 1;
pub const CONNECT_PROTOCOL_V2: i16 = 2;
/// The task id that stands for the connector instance in an assignment.
pub const CONNECTOR_TASK: i32 = -1;
/// The group's `protocol_type` in JoinGroup.
pub const PROTOCOL_TYPE: &str = "connect";

/// `connect.protocol`: which group protocols a worker offers (Kafka's
/// `ConnectProtocolCompatibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectProtocolCompatibility {
    /// Protocol "default", v0: stop everything on every rebalance.
    Eager,
    /// Protocol "compatible", v1: incremental cooperative rebalancing.
    Compatible,
    /// Protocol "sessioned", v2: v1 plus session keys for internal REST requests (KIP-507).
    Sessioned,
}

impl ConnectProtocolCompatibility {
    /// The name in JoinGroup's protocol list.
    pub fn protocol(self) -> &'static str {
        match self {
            ConnectProtocolCompatibility::Eager => "default",
            ConnectProtocolCompatibility::Compatible => "compatible",
            ConnectProtocolCompatibility::Sessioned => "sessioned",
        }
    }

    pub fn protocol_version(self) -> i16 {
        match self {
            ConnectProtocolCompatibility::Eager => CONNECT_PROTOCOL_V0,
            ConnectProtocolCompatibility::Compatible => CONNECT_PROTOCOL_V1,
            ConnectProtocolCompatibility::Sessioned => CONNECT_PROTOCOL_V2,
        }
    }

    /// The mode whose protocol name is `name` (case-insensitive), as the coordinator
    /// chose it in JoinGroup's response.
    pub fn from_protocol(name: &str) -> Option<ConnectProtocolCompatibility> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.protocol().eq_ignore_ascii_case(name))
    }

    pub fn from_protocol_version(version: i16) -> Option<ConnectProtocolCompatibility> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.protocol_version() == version)
    }

    const ALL: [ConnectProtocolCompatibility; 3] = [
        ConnectProtocolCompatibility::Eager,
        ConnectProtocolCompatibility::Compatible,
        ConnectProtocolCompatibility::Sessioned,
    ];

    fn name(self) -> &'static str {
        match self {
            ConnectProtocolCompatibility::Eager => "eager",
            ConnectProtocolCompatibility::Compatible => "compatible",
            ConnectProtocolCompatibility::Sessioned => "sessioned",
        }
    }

    /// The protocols a worker offers in JoinGroup, most preferred first, each with its
    /// metadata (Kafka's `WorkerCoordinator.metadata()`): sessioned offers sessioned,
    /// compatible and default; compatible offers compatible and default; eager only default.
    pub fn join_protocols(self, state: &ExtendedWorkerState) -> Vec<(&'static str, Vec<u8>)> {
        let offered: &[ConnectProtocolCompatibility] = match self {
            ConnectProtocolCompatibility::Eager => &[ConnectProtocolCompatibility::Eager],
            ConnectProtocolCompatibility::Compatible => &[
                ConnectProtocolCompatibility::Compatible,
                ConnectProtocolCompatibility::Eager,
            ],
            ConnectProtocolCompatibility::Sessioned => &Self::ALL_BY_PREFERENCE,
        };
        offered
            .iter()
            .map(|mode| (mode.protocol(), encode_metadata(state, *mode)))
            .collect()
    }

    const ALL_BY_PREFERENCE: [ConnectProtocolCompatibility; 3] = [
        ConnectProtocolCompatibility::Sessioned,
        ConnectProtocolCompatibility::Compatible,
        ConnectProtocolCompatibility::Eager,
    ];
}

/// `eager`, `compatible`, `sessioned`: the values of `connect.protocol`.
impl fmt::Display for ConnectProtocolCompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `connect.protocol` (case-insensitive), with Kafka's message for anything else.
impl FromStr for ConnectProtocolCompatibility {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.name().eq_ignore_ascii_case(value))
            .ok_or_else(|| format!("Unknown Connect protocol compatibility mode: {value}"))
    }
}

/// A worker's JoinGroup metadata under the eager protocol (Kafka's `WorkerState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerState {
    /// The worker's advertised REST URL.
    pub url: String,
    /// The newest config topic offset the worker has read.
    pub config_offset: i64,
}

/// A worker's JoinGroup metadata under the cooperative protocols: what it runs now too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedWorkerState {
    pub url: String,
    pub config_offset: i64,
    /// `None` before the worker's first assignment (null on the wire).
    pub allocation: Option<ExtendedAssignment>,
}

/// An assignment (Kafka's `ExtendedAssignment`, which v0's `Assignment` is a part of).
/// Under the cooperative protocols `connectors`/`tasks` are what to start and
/// `revoked_*` what to stop; under eager they are everything the worker runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedAssignment {
    /// The protocol version of the header it was read with or will be written with.
    pub version: i16,
    /// `NO_ERROR` or `CONFIG_MISMATCH`.
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    pub leader_url: String,
    /// The config topic offset the assignment was computed at.
    pub config_offset: i64,
    pub connectors: Vec<String>,
    pub tasks: Vec<ConnectorTaskId>,
    pub revoked_connectors: Vec<String>,
    pub revoked_tasks: Vec<ConnectorTaskId>,
    /// How long until the leader wants a rebalance again (lost work held back), in ms.
    pub delay_ms: i32,
}

impl ExtendedAssignment {
    pub const NO_ERROR: i16 = 0;
    /// The leader could not reach the config offset some member reported: read the
    /// config topic to the end and rejoin.
    pub const CONFIG_MISMATCH: i16 = 1;

    pub fn failed(&self) -> bool {
        self.error != Self::NO_ERROR
    }

    /// An assignment of nothing, from `leader`.
    pub fn empty(version: i16, leader: &str, leader_url: &str, config_offset: i64) -> Self {
        ExtendedAssignment {
            version,
            error: Self::NO_ERROR,
            leader: leader.to_string(),
            leader_url: leader_url.to_string(),
            config_offset,
            connectors: Vec::new(),
            tasks: Vec::new(),
            revoked_connectors: Vec::new(),
            revoked_tasks: Vec::new(),
            delay_ms: 0,
        }
    }
}

/// Why bytes are not a Connect metadata or assignment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Error reading field '{field}': need {need} bytes, have {have}")]
    Truncated {
        field: &'static str,
        need: usize,
        have: usize,
    },
    #[error("Error reading field '{field}': {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("Unsupported subscription version: {0}")]
    UnsupportedVersion(i16),
}

// ---- Encoding ----

/// The JoinGroup metadata for `protocol` (v0's layout for eager, which has no allocation).
pub fn encode_metadata(
    state: &ExtendedWorkerState,
    protocol: ConnectProtocolCompatibility,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&protocol.protocol_version().to_be_bytes());
    put_string(&mut out, &state.url);
    out.extend_from_slice(&state.config_offset.to_be_bytes());
    if protocol != ConnectProtocolCompatibility::Eager {
        match &state.allocation {
            // The allocation carries the header of the protocol it is offered under, not
            // the version it was received with (as Kafka writes it).
            Some(allocation) => {
                let bytes = encode_assignment(allocation, protocol);
                put_len(&mut out, bytes.len());
                out.extend_from_slice(&bytes);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    out
}

/// The SyncGroup assignment for `protocol`: v0's layout (no revocations, no delay) for
/// eager, v1's with a v1 or v2 header otherwise.
pub fn encode_assignment(
    assignment: &ExtendedAssignment,
    protocol: ConnectProtocolCompatibility,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&protocol.protocol_version().to_be_bytes());
    out.extend_from_slice(&assignment.error.to_be_bytes());
    put_string(&mut out, &assignment.leader);
    put_string(&mut out, &assignment.leader_url);
    out.extend_from_slice(&assignment.config_offset.to_be_bytes());
    put_connector_assignments(&mut out, &assignment.connectors, &assignment.tasks);
    if protocol != ConnectProtocolCompatibility::Eager {
        put_connector_assignments(
            &mut out,
            &assignment.revoked_connectors,
            &assignment.revoked_tasks,
        );
        out.extend_from_slice(&assignment.delay_ms.to_be_bytes());
    }
    out
}

fn put_string(out: &mut Vec<u8>, value: &str) {
    // Kafka's STRING cannot carry more than i16::MAX bytes; a URL or member id never
    // comes near it, and the broker would reject such metadata anyway.
    assert!(
        value.len() <= i16::MAX as usize,
        "string of {} bytes",
        value.len()
    );
    out.extend_from_slice(&(value.len() as i16).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = i32::try_from(len).expect("length fits in int32");
    out.extend_from_slice(&len.to_be_bytes());
}

/// Connectors first (each with task -1), then tasks, grouped by connector in order of
/// first appearance, as Kafka's `asMap`.
fn put_connector_assignments(out: &mut Vec<u8>, connectors: &[String], tasks: &[ConnectorTaskId]) {
    let mut grouped: IndexMap<&str, Vec<i32>> = IndexMap::new();
    for connector in connectors {
        let ids = grouped.entry(connector.as_str()).or_default();
        if !ids.contains(&CONNECTOR_TASK) {
            ids.push(CONNECTOR_TASK);
        }
    }
    for task in tasks {
        let id = i32::try_from(task.task).expect("task id fits in int32");
        grouped.entry(task.connector.as_str()).or_default().push(id);
    }
    put_len(out, grouped.len());
    for (connector, ids) in grouped {
        put_string(out, connector);
        put_len(out, ids.len());
        for id in ids {
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
}

// ---- Decoding ----

/// Reads JoinGroup metadata of any version (v0 has no allocation).
pub fn decode_metadata(bytes: &[u8]) -> Result<ExtendedWorkerState, ProtocolError> {
    let mut reader = Reader { bytes, position: 0 };
    read_version(&mut reader)?;
    let url = reader.string("url")?;
    let config_offset = reader.i64("config-offset")?;
    let allocation = if reader.remaining() == 0 {
        None
    } else {
        match reader.nullable_bytes("allocation")? {
            Some(nested) => Some(decode_assignment(nested)?),
            None => None,
        }
    };
    Ok(ExtendedWorkerState {
        url,
        config_offset,
        allocation,
    })
}

/// Reads an assignment of any version; fields v0 lacks take their defaults.
pub fn decode_assignment(bytes: &[u8]) -> Result<ExtendedAssignment, ProtocolError> {
    let mut reader = Reader { bytes, position: 0 };
    let version = read_version(&mut reader)?;
    let error = reader.i16("error")?;
    let leader = reader.string("leader")?;
    let leader_url = reader.string("leader-url")?;
    let config_offset = reader.i64("config-offset")?;
    let (connectors, tasks) = read_connector_assignments(&mut reader, "assignment")?;
    let (revoked_connectors, revoked_tasks) = read_connector_assignments(&mut reader, "revoked")?;
    let delay_ms = if reader.remaining() == 0 {
        0
    } else {
        reader.i32("delay")?
    };
    Ok(ExtendedAssignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        connectors,
        tasks,
        revoked_connectors,
        revoked_tasks,
        delay_ms,
    })
}

fn read_version(reader: &mut Reader<'_>) -> Result<i16, ProtocolError> {
    let version = reader.i16("version")?;
    if version < CONNECT_PROTOCOL_V0 {
        return Err(ProtocolError::UnsupportedVersion(version));
    }
    Ok(version)
}

/// A missing or null array is empty (the field's default).
fn read_connector_assignments(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<(Vec<String>, Vec<ConnectorTaskId>), ProtocolError> {
    let mut connectors = Vec::new();
    let mut tasks = Vec::new();
    if reader.remaining() == 0 {
        return Ok((connectors, tasks));
    }
    let Some(count) = reader.array_len(field, true)? else {
        return Ok((connectors, tasks));
    };
    for _ in 0..count {
        let connector = reader.string("connector")?;
        let ids = reader
            .array_len("tasks", false)?
            .expect("non-nullable arrays are never null");
        for _ in 0..ids {
            match reader.i32("tasks")? {
                CONNECTOR_TASK => connectors.push(connector.clone()),
                id if id >= 0 => tasks.push(ConnectorTaskId {
                    connector: connector.clone(),
                    task: id as usize,
                }),
                id => {
                    return Err(ProtocolError::Invalid {
                        field: "tasks",
                        reason: format!("task id {id} of connector {connector} is negative"),
                    })
                }
            }
        }
    }
    Ok((connectors, tasks))
}

/// A cursor over bytes that never reads past the end: every length is checked against
/// what is left before anything is allocated for it.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    fn take(&mut self, field: &'static str, need: usize) -> Result<&'a [u8], ProtocolError> {
        if self.remaining() < need {
            return Err(ProtocolError::Truncated {
                field,
                need,
                have: self.remaining(),
            });
        }
        let slice = &self.bytes[self.position..self.position + need];
        self.position += need;
        Ok(slice)
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ProtocolError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, ProtocolError> {
        Ok(i16::from_be_bytes(self.fixed(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, ProtocolError> {
        Ok(i32::from_be_bytes(self.fixed(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, ProtocolError> {
        Ok(i64::from_be_bytes(self.fixed(field)?))
    }

    /// Kafka's STRING: never null. Invalid UTF-8 is replaced, as Java's decoder does.
    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(field)?;
        if len < 0 {
            return Err(ProtocolError::Invalid {
                field,
                reason: format!("String length {len} cannot be negative"),
            });
        }
        let bytes = self.take(field, len as usize)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, ProtocolError> {
        let len = self.i32(field)?;
        if len < 0 {
            return Ok(None);
        }
        self.take(field, len as usize).map(Some)
    }

    /// An array's element count; `None` for a null array where `nullable`. A count larger
    /// than the bytes left cannot be honest (every element is at least one byte).
    fn array_len(
        &mut self,
        field: &'static str,
        nullable: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let len = self.i32(field)?;
        if len < 0 {
            if nullable {
                return Ok(None);
            }
            return Err(ProtocolError::Invalid {
                field,
                reason: format!("Array size {len} cannot be negative"),
            });
        }
        if len as usize > self.remaining() {
            return Err(ProtocolError::Invalid {
                field,
                reason: format!(
                    "Error reading array of size {len}, only {} bytes available",
                    self.remaining()
                ),
            });
        }
        Ok(Some(len as usize))
    }
}

#[cfg(test)]
mod tests {
    //! The byte vectors are what Kafka 4.1.1's own classes write for the same values:
    //! `testdata/ConnectProtocolVectors.java` prints them (see its header to regenerate).

    use super::*;

    const METADATA_V0: &str = "0000000f687474703a2f2f77313a383038332f000000000000002a";
    const METADATA_V1_NO_ALLOCATION: &str =
        "0001000f687474703a2f2f77323a383038332fffffffffffffffffffffffff";
    const JOIN_PROTOCOL_SESSIONED: &str = "0002000f687474703a2f2f77323a383038332f000000000000002a0000005000020000000d776f726b65722d312d75756964000f687474703a2f2f77313a383038332f000000000000002a000000010006636f6e6e2d6100000003ffffffff00000000000000010000000000000000";
    const JOIN_PROTOCOL_COMPATIBLE: &str = "0001000f687474703a2f2f77323a383038332f000000000000002a0000005000010000000d776f726b65722d312d75756964000f687474703a2f2f77313a383038332f000000000000002a000000010006636f6e6e2d6100000003ffffffff00000000000000010000000000000000";
    const JOIN_PROTOCOL_DEFAULT: &str = "0000000f687474703a2f2f77323a383038332f000000000000002a";
    const ASSIGNMENT_V1_REVOCATIONS: &str = "0001000000096c65616465722d69640013687474703a2f2f6c65616465723a383038332f00000000000000070000000200016100000002ffffffff0000000000016200000001000000010000000100016200000002ffffffff00000000000005dc";
    const ASSIGNMENT_V2_CONFIG_MISMATCH: &str = "0002000100096c65616465722d69640013687474703a2f2f6c65616465723a383038332f0000000000000009000000000000000000000000";
    const ASSIGNMENT_V0: &str = "0000000000096c65616465722d69640013687474703a2f2f6c65616465723a383038332f0000000000000003000000020002633100000002ffffffff0000000000026332000000020000000000000001";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn task(connector: &str, task: usize) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: connector.to_string(),
            task,
        }
    }

    fn running() -> ExtendedAssignment {
        ExtendedAssignment {
            connectors: vec!["conn-a".into()],
            tasks: vec![task("conn-a", 0), task("conn-a", 1)],
            ..ExtendedAssignment::empty(2, "worker-1-uuid", "http://w1:8083/", 42)
        }
    }

    fn with_revocations() -> ExtendedAssignment {
        ExtendedAssignment {
            connectors: vec!["a".into()],
            tasks: vec![task("a", 0), task("b", 1)],
            revoked_connectors: vec!["b".into()],
            revoked_tasks: vec![task("b", 0)],
            delay_ms: 1500,
            ..ExtendedAssignment::empty(1, "leader-id", "http://leader:8083/", 7)
        }
    }

    #[test]
    fn metadata_is_written_as_kafka_writes_it() {
        let v0 = ExtendedWorkerState {
            url: "http://w1:8083/".into(),
            config_offset: 42,
            allocation: None,
        };
        assert_eq!(
            hex(&encode_metadata(&v0, ConnectProtocolCompatibility::Eager)),
            METADATA_V0
        );
        let fresh = ExtendedWorkerState {
            url: "http://w2:8083/".into(),
            config_offset: -1,
            allocation: None,
        };
        assert_eq!(
            hex(&encode_metadata(
                &fresh,
                ConnectProtocolCompatibility::Compatible
            )),
            METADATA_V1_NO_ALLOCATION
        );
    }

    #[test]
    fn sessioned_worker_offers_three_protocols_in_kafkas_order() {
        let state = ExtendedWorkerState {
            url: "http://w2:8083/".into(),
            config_offset: 42,
            allocation: Some(running()),
        };
        let offered: Vec<(&str, String)> = ConnectProtocolCompatibility::Sessioned
            .join_protocols(&state)
            .into_iter()
            .map(|(name, bytes)| (name, hex(&bytes)))
            .collect();
        assert_eq!(
            offered,
            vec![
                ("sessioned", JOIN_PROTOCOL_SESSIONED.to_string()),
                ("compatible", JOIN_PROTOCOL_COMPATIBLE.to_string()),
                ("default", JOIN_PROTOCOL_DEFAULT.to_string()),
            ]
        );
        let names: Vec<&str> = ConnectProtocolCompatibility::Compatible
            .join_protocols(&state)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["compatible", "default"]);
        let names: Vec<&str> = ConnectProtocolCompatibility::Eager
            .join_protocols(&state)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["default"]);
    }

    #[test]
    fn assignments_are_written_as_kafka_writes_them() {
        assert_eq!(
            hex(&encode_assignment(
                &with_revocations(),
                ConnectProtocolCompatibility::Compatible
            )),
            ASSIGNMENT_V1_REVOCATIONS
        );
        let mismatch = ExtendedAssignment {
            error: ExtendedAssignment::CONFIG_MISMATCH,
            ..ExtendedAssignment::empty(2, "leader-id", "http://leader:8083/", 9)
        };
        assert_eq!(
            hex(&encode_assignment(
                &mismatch,
                ConnectProtocolCompatibility::Sessioned
            )),
            ASSIGNMENT_V2_CONFIG_MISMATCH
        );
        let eager = ExtendedAssignment {
            connectors: vec!["c1".into()],
            tasks: vec![task("c1", 0), task("c2", 0), task("c2", 1)],
            ..ExtendedAssignment::empty(0, "leader-id", "http://leader:8083/", 3)
        };
        assert_eq!(
            hex(&encode_assignment(
                &eager,
                ConnectProtocolCompatibility::Eager
            )),
            ASSIGNMENT_V0
        );
    }

    #[test]
    fn kafkas_bytes_decode_to_the_values_they_were_written_from() {
        let state = decode_metadata(&unhex(JOIN_PROTOCOL_SESSIONED)).expect("decode");
        assert_eq!(state.url, "http://w2:8083/");
        assert_eq!(state.config_offset, 42);
        assert_eq!(state.allocation, Some(running()));
        // The compatible copy carries a v1 header on the same allocation.
        let state = decode_metadata(&unhex(JOIN_PROTOCOL_COMPATIBLE)).expect("decode");
        assert_eq!(state.allocation.map(|a| a.version), Some(1));
        // v0 metadata has no allocation; neither has a fresh worker's v1.
        let state = decode_metadata(&unhex(METADATA_V0)).expect("decode");
        assert_eq!(
            (state.url.as_str(), state.config_offset),
            ("http://w1:8083/", 42)
        );
        assert_eq!(state.allocation, None);
        let state = decode_metadata(&unhex(METADATA_V1_NO_ALLOCATION)).expect("decode");
        assert_eq!((state.config_offset, state.allocation), (-1, None));

        assert_eq!(
            decode_assignment(&unhex(ASSIGNMENT_V1_REVOCATIONS)).expect("decode"),
            with_revocations()
        );
        let mismatch = decode_assignment(&unhex(ASSIGNMENT_V2_CONFIG_MISMATCH)).expect("decode");
        assert!(mismatch.failed());
        assert_eq!((mismatch.version, mismatch.config_offset), (2, 9));
        // v0 bytes read with the v1 reader: no revocations, delay 0.
        let eager = decode_assignment(&unhex(ASSIGNMENT_V0)).expect("decode");
        assert_eq!(eager.connectors, ["c1"]);
        assert_eq!(eager.tasks, [task("c1", 0), task("c2", 0), task("c2", 1)]);
        assert!(eager.revoked_connectors.is_empty() && eager.revoked_tasks.is_empty());
        assert_eq!(eager.delay_ms, 0);
    }

    #[test]
    fn round_trips_keep_every_field() {
        for protocol in [
            ConnectProtocolCompatibility::Compatible,
            ConnectProtocolCompatibility::Sessioned,
        ] {
            let mut assignment = with_revocations();
            assignment.version = protocol.protocol_version();
            let bytes = encode_assignment(&assignment, protocol);
            assert_eq!(decode_assignment(&bytes), Ok(assignment.clone()));
            let state = ExtendedWorkerState {
                url: "http://x:1/".into(),
                config_offset: i64::MAX,
                allocation: Some(assignment),
            };
            assert_eq!(
                decode_metadata(&encode_metadata(&state, protocol)),
                Ok(state)
            );
        }
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let valid = unhex(JOIN_PROTOCOL_SESSIONED);
        // Every strict prefix that cuts a required field fails; none panics.
        for len in 0..valid.len() {
            let _ = decode_metadata(&valid[..len]);
        }
        assert!(matches!(
            decode_metadata(&valid[..5]),
            Err(ProtocolError::Truncated { field: "url", .. })
        ));
        let valid = unhex(ASSIGNMENT_V1_REVOCATIONS);
        for len in 0..valid.len() {
            let _ = decode_assignment(&valid[..len]);
        }
        assert_eq!(
            decode_assignment(&[0xff, 0xff]),
            Err(ProtocolError::UnsupportedVersion(-1))
        );
        // A huge array count is refused before anything is allocated for it.
        let mut huge = unhex(ASSIGNMENT_V2_CONFIG_MISMATCH);
        let at = huge.len() - 12;
        huge[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(
            decode_assignment(&huge),
            Err(ProtocolError::Invalid {
                field: "assignment",
                ..
            })
        ));
        // A negative string length, a negative task id.
        assert!(matches!(
            decode_metadata(&[0, 1, 0xff, 0xfe]),
            Err(ProtocolError::Invalid { field: "url", .. })
        ));
        let mut negative = unhex(ASSIGNMENT_V0);
        let at = negative.len() - 4;
        negative[at..].copy_from_slice(&(-7i32).to_be_bytes());
        assert!(matches!(
            decode_assignment(&negative),
            Err(ProtocolError::Invalid { field: "tasks", .. })
        ));
        // Seeded random bytes.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8).collect();
            let _ = decode_metadata(&bytes);
            let _ = decode_assignment(&bytes);
        }
    }

    #[test]
    fn protocol_names_and_modes() {
        assert_eq!(
            ConnectProtocolCompatibility::from_protocol("DEFAULT"),
            Some(ConnectProtocolCompatibility::Eager)
        );
        assert_eq!(ConnectProtocolCompatibility::from_protocol("eager"), None);
        assert_eq!(
            "Sessioned".parse::<ConnectProtocolCompatibility>(),
            Ok(ConnectProtocolCompatibility::Sessioned)
        );
        assert_eq!(
            "x".parse::<ConnectProtocolCompatibility>(),
            Err("Unknown Connect protocol compatibility mode: x".to_string())
        );
        assert_eq!(
            ConnectProtocolCompatibility::Compatible.to_string(),
            "compatible"
        );
        assert_eq!(
            ConnectProtocolCompatibility::from_protocol_version(2),
            Some(ConnectProtocolCompatibility::Sessioned)
        );
    }
}
