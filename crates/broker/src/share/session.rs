//! Share sessions (Kafka's `ShareSessionCache`): one per (group, member), the partitions
//! a member's ShareFetch/ShareAcknowledge requests concern and the epoch the next one
//! must carry. Epoch 0 opens a session, -1 closes it, anything else must be the
//! session's next epoch.

use std::collections::{BTreeSet, HashMap};

use rafka_protocol::ErrorCode;

/// A partition by topic id.
pub type TopicIdPartition = (uuid::Uuid, i32);

#[derive(Debug, Default)]
struct ShareSession {
    next_epoch: i32,
    partitions: BTreeSet<TopicIdPartition>,
    /// The client connection that opened it (`Session::connection`): the session ends
    /// with it, as Kafka's ShareSessionCache ends a session when its connection drops.
    connection: Option<u64>,
}

#[derive(Debug, Default)]
pub struct ShareSessions {
    sessions: HashMap<(String, String), ShareSession>,
    /// The sessions each client connection opened (Kafka's `connectionIdToSessionMap`),
    /// so that a closing connection, share consumer or not, looks up only its own. An
    /// entry may outlive its session (closed, or opened again elsewhere): the session's
    /// own `connection` decides.
    by_connection: HashMap<u64, Vec<(String, String)>>,
}

/// What a request's epoch did to its member's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStep {
    /// Epoch 0: a new session (replacing any other of the member).
    Opened,
    /// The next epoch of a live session.
    Continued,
    /// Epoch -1: the session is gone; `partitions` were its partitions.
    Closed { partitions: Vec<TopicIdPartition> },
}

pub const FINAL_EPOCH: i32 = -1;

impl ShareSessions {
    /// Checks `epoch` against the member's session and moves it on, adding `added` and
    /// dropping `forgotten` partitions. Errors change nothing: SHARE_SESSION_NOT_FOUND
    /// without a session, INVALID_SHARE_SESSION_EPOCH for an epoch out of order.
    pub fn step(
        &mut self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
        added: &[TopicIdPartition],
        forgotten: &[TopicIdPartition],
    ) -> Result<SessionStep, ErrorCode> {
        let key = (group_id.to_string(), member_id.to_string());
        if epoch == 0 {
            let session = ShareSession {
                next_epoch: 1,
                partitions: added.iter().copied().collect(),
                connection: None,
            };
            self.sessions.insert(key, session);
            return Ok(SessionStep::Opened);
        }
        let Some(session) = self.sessions.get_mut(&key) else {
            return Err(ErrorCode::ShareSessionNotFound);
        };
        if epoch == FINAL_EPOCH {
            let session = self.sessions.remove(&key).expect("found above");
            return Ok(SessionStep::Closed {
                partitions: session.partitions.into_iter().collect(),
            });
        }
        if epoch != session.next_epoch {
            return Err(ErrorCode::InvalidShareSessionEpoch);
        }
        session.next_epoch = if epoch == i32::MAX { 1 } else { epoch + 1 };
        session.partitions.extend(added.iter().copied());
        for p in forgotten {
            session.partitions.remove(p);
        }
        Ok(SessionStep::Continued)
    }

    /// The partitions of the member's session.
    pub fn partitions(&self, group_id: &str, member_id: &str) -> Vec<TopicIdPartition> {
        self.sessions
            .get(&(group_id.to_string(), member_id.to_string()))
            .map(|s| s.partitions.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether any member of the group has a session here.
    pub fn has_group(&self, group_id: &str) -> bool {
        self.sessions.keys().any(|(g, _)| g == group_id)
    }

    /// Ties the member's session (just opened) to the client connection that opened it.
    pub fn opened_on(&mut self, group_id: &str, member_id: &str, connection: u64) {
        let key = (group_id.to_string(), member_id.to_string());
        if let Some(session) = self.sessions.get_mut(&key) {
            session.connection = Some(connection);
            self.by_connection.entry(connection).or_default().push(key);
        }
    }

    /// The client connection is gone: the sessions it opened end. Returns each one's
    /// group, member and partitions.
    pub fn connection_closed(
        &mut self,
        connection: u64,
    ) -> Vec<(String, String, Vec<TopicIdPartition>)> {
        let opened = self.by_connection.remove(&connection).unwrap_or_default();
        opened
            .into_iter()
            .filter_map(|key| {
                if self.sessions.get(&key)?.connection != Some(connection) {
                    return None;
                }
                let session = self.sessions.remove(&key)?;
                Some((key.0, key.1, session.partitions.into_iter().collect()))
            })
            .collect()
    }

    /// Drops the member's session (it left the group).
    pub fn remove(&mut self, group_id: &str, member_id: &str) {
        self.sessions
            .remove(&(group_id.to_string(), member_id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_opened_again_on_another_connection_outlives_the_first() {
        let mut sessions = ShareSessions::default();
        let tp = (uuid::Uuid::from_u128(7), 0);
        sessions.step("g", "a", 0, &[tp], &[]).unwrap();
        sessions.opened_on("g", "a", 1);
        sessions.step("g", "a", 0, &[tp], &[]).unwrap();
        sessions.opened_on("g", "a", 2);
        assert_eq!(sessions.connection_closed(1), vec![]);
        assert!(sessions.has_group("g"));
        assert_eq!(sessions.connection_closed(2).len(), 1);
        assert!(!sessions.has_group("g"));
    }

    #[test]
    fn a_closed_connection_ends_the_sessions_it_opened_only() {
        let mut sessions = ShareSessions::default();
        let tp = (uuid::Uuid::from_u128(7), 0);
        sessions.step("g", "a", 0, &[tp], &[]).unwrap();
        sessions.opened_on("g", "a", 1);
        sessions.step("g", "b", 0, &[tp], &[]).unwrap();
        sessions.opened_on("g", "b", 2);
        assert_eq!(sessions.connection_closed(3), vec![]);
        assert_eq!(
            sessions.connection_closed(1),
            vec![("g".to_string(), "a".to_string(), vec![tp])]
        );
        assert_eq!(
            sessions.step("g", "a", 1, &[], &[]),
            Err(ErrorCode::ShareSessionNotFound)
        );
        assert!(sessions.has_group("g"));
        assert_eq!(
            sessions.step("g", "b", 1, &[], &[]),
            Ok(SessionStep::Continued)
        );
        sessions.connection_closed(2);
        assert!(!sessions.has_group("g"));
    }

    #[test]
    fn epochs_open_continue_in_order_and_close() {
        let mut sessions = ShareSessions::default();
        let tp = (uuid::Uuid::from_u128(1), 0);
        assert_eq!(
            sessions.step("g", "m", 1, &[], &[]),
            Err(ErrorCode::ShareSessionNotFound)
        );
        assert_eq!(
            sessions.step("g", "m", 0, &[tp], &[]),
            Ok(SessionStep::Opened)
        );
        assert_eq!(
            sessions.step("g", "m", 1, &[], &[]),
            Ok(SessionStep::Continued)
        );
        // Out of order: refused, and the expected epoch stays 2.
        assert_eq!(
            sessions.step("g", "m", 5, &[], &[]),
            Err(ErrorCode::InvalidShareSessionEpoch)
        );
        assert_eq!(
            sessions.step("g", "m", 1, &[], &[]),
            Err(ErrorCode::InvalidShareSessionEpoch)
        );
        assert_eq!(sessions.partitions("g", "m"), vec![tp]);
        assert_eq!(
            sessions.step("g", "m", 2, &[], &[tp]),
            Ok(SessionStep::Continued)
        );
        assert!(sessions.partitions("g", "m").is_empty());
        // Another member's session is its own.
        assert_eq!(
            sessions.step("g", "other", 3, &[], &[]),
            Err(ErrorCode::ShareSessionNotFound)
        );
        assert_eq!(
            sessions.step("g", "m", FINAL_EPOCH, &[], &[]),
            Ok(SessionStep::Closed { partitions: vec![] })
        );
        assert_eq!(
            sessions.step("g", "m", 3, &[], &[]),
            Err(ErrorCode::ShareSessionNotFound)
        );
    }
}
