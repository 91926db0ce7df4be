//! The classic protocol's requests and answers as the group state machines take and give
//! them (the handlers translate to and from the wire).

use bytes::Bytes;
use rafka_protocol::ErrorCode;
use tokio::sync::oneshot;

/// The JoinGroup answer; `members` is filled for the leader only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinResponse {
    pub error: Option<ErrorCode>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    pub member_id: String,
    pub members: Vec<(String, Option<String>, Bytes)>,
    /// JoinGroup v9+: the leader keeps the current assignment instead of computing one.
    pub skip_assignment: bool,
}

impl JoinResponse {
    pub(crate) fn error(error: ErrorCode, member_id: &str) -> JoinResponse {
        JoinResponse {
            error: Some(error),
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncResponse {
    pub error: Option<ErrorCode>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResponse {
    pub(crate) fn error(error: ErrorCode) -> SyncResponse {
        SyncResponse {
            error: Some(error),
            ..Default::default()
        }
    }
}

/// An answer now, or one the caller awaits.
#[derive(Debug)]
pub enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED and an id to rejoin with.
    pub require_known_member_id: bool,
    /// JoinGroup v9+ understands `skip_assignment`.
    pub supports_skip_assignment: bool,
}
