//! The authorizer's store as the broker runs it (`authorizer.class.name` = Kafka's
//! `StandardAuthorizer`): the ACL bindings of the metadata loaded for the decision.
//! What the handlers call is on `Broker`, in `acls`.
//!
//! In a cluster the bindings are metadata records (`AccessControlEntry`,
//! `RemoveAccessControlEntry`) committed by the controller quorum; every broker loads
//! them into its store as it applies an image. A single node is its own controller and
//! keeps them in `rafka-acls.json` beside its metadata file.
//!
//! Thread-safety: the store is behind a read-write lock; a decision takes the read lock
//! and allocates nothing, so the produce path pays one uncontended lock per topic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use parking_lot::{Mutex, RwLock};
use rafka_metadata::image::AccessControlEntryRecord;
use rafka_security::acl::{
    AccessControlEntry, AclBinding, AclOperation, AclPermissionType, PatternType, ResourcePattern,
    ResourceType,
};
use rafka_security::authorizer::{Action, Authorizer, Caller};

use crate::session::Session;

/// The name of the one CLUSTER resource (Kafka's `Resource.CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The single-node ACL file, in the first log directory.
const ACLS_FILE: &str = "rafka-acls.json";

/// The authorizer's state on this broker.
#[derive(Debug)]
pub struct Acls {
    pub(crate) authorizer: RwLock<Authorizer>,
    /// The bindings loaded into the store, by id: the image's in a cluster, the saved
    /// set on a single node (whose changes this lock serialises).
    pub(crate) applied: Mutex<BTreeMap<uuid::Uuid, AccessControlEntryRecord>>,
    /// Single-node mode: where the bindings are saved.
    pub(crate) file: Option<PathBuf>,
}

impl Acls {
    /// The authorizer of `config` (none when `authorizer.class.name` is empty); a single
    /// node loads its saved bindings.
    pub fn open(
        config: &rafka_config::authorizer::AuthorizerConfig,
        metadata_dir: &Path,
        cluster: bool,
    ) -> Result<Option<Acls>, String> {
        if !config.enabled {
            return Ok(None);
        }
        let acls = Acls {
            authorizer: RwLock::new(Authorizer {
                super_users: config.super_users.iter().cloned().collect(),
                allow_if_no_acl: config.allow_everyone_if_no_acl_found,
                ..Authorizer::default()
            }),
            applied: Mutex::new(BTreeMap::new()),
            file: (!cluster).then(|| metadata_dir.join(ACLS_FILE)),
        };
        if let Some(path) = &acls.file {
            let saved: Vec<AccessControlEntryRecord> = match std::fs::read(path) {
                Ok(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|e| format!("cannot parse {}: {e}", path.display()))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            };
            acls.apply(&saved.into_iter().map(|a| (a.id, a)).collect());
        }
        Ok(Some(acls))
    }

    /// Makes the store hold exactly `bindings` (a no-op when it already does).
    pub fn apply(&self, bindings: &BTreeMap<uuid::Uuid, AccessControlEntryRecord>) {
        let mut applied = self.applied.lock();
        if *applied == *bindings {
            return;
        }
        let mut authorizer = self.authorizer.write();
        for (id, record) in applied.iter() {
            if bindings.get(id) != Some(record) {
                authorizer.acls.remove(&binding_of(record));
            }
        }
        for (id, record) in bindings {
            if applied.get(id) != Some(record) {
                authorizer.acls.add(binding_of(record));
            }
        }
        *applied = bindings.clone();
    }

    /// The bindings with their ids, in a stable order.
    pub fn bindings(&self) -> Vec<(uuid::Uuid, AclBinding)> {
        let mut all: Vec<(uuid::Uuid, AclBinding)> = self
            .applied
            .lock()
            .iter()
            .map(|(id, r)| (*id, binding_of(r)))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1));
        all
    }

    pub(crate) fn authorize(&self, session: &Session, action: Action<'_>) -> bool {
        with_caller(session, |caller| {
            self.authorizer.read().authorize(caller, action)
        })
    }
}

/// Runs `f` with the session as the authorizer's caller; the host (`127.0.0.1`, as ACLs
/// name hosts) is written on the stack, so a decision allocates nothing.
pub(crate) fn with_caller<R>(session: &Session, f: impl FnOnce(Caller<'_>) -> R) -> R {
    let mut host = HostBuf::default();
    let _ = write!(host, "{}", session.peer.ip());
    f(Caller {
        principal: &session.principal,
        host: host.as_str(),
    })
}

/// An IP address's text: at most 45 bytes (an IPv4-mapped IPv6 address).
#[derive(Debug)]
struct HostBuf {
    bytes: [u8; 64],
    len: usize,
}

impl Default for HostBuf {
    fn default() -> HostBuf {
        HostBuf {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl HostBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for HostBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A stored record as the authorizer's binding.
pub fn binding_of(record: &AccessControlEntryRecord) -> AclBinding {
    AclBinding {
        pattern: ResourcePattern {
            resource_type: ResourceType::from_code(record.resource_type),
            name: record.resource_name.clone(),
            pattern_type: PatternType::from_code(record.pattern_type),
        },
        entry: AccessControlEntry {
            principal: record.principal.clone(),
            host: record.host.clone(),
            operation: AclOperation::from_code(record.operation),
            permission: AclPermissionType::from_code(record.permission_type),
        },
    }
}

/// A binding as the record that stores it (the controller gives the id).
pub fn record_of(binding: &AclBinding) -> AccessControlEntryRecord {
    AccessControlEntryRecord {
        id: uuid::Uuid::nil(),
        resource_type: binding.pattern.resource_type.code(),
        resource_name: binding.pattern.name.clone(),
        pattern_type: binding.pattern.pattern_type.code(),
        principal: binding.entry.principal.clone(),
        host: binding.entry.host.clone(),
        operation: binding.entry.operation.code(),
        permission_type: binding.entry.permission.code(),
    }
}

/// What Kafka answers a request the principal may not make on the cluster
/// (`AuthHelper.authorizeClusterOperation`): `Request Request(…) needs DESCRIBE
/// permission.` Kafka prints its whole request object (processor, connection id, a
/// session object's identity hash); rafka names the parts that identify the caller.
pub fn not_authorized_message(session: &Session, operation: AclOperation) -> String {
    format!(
        "Request Request(session=Session({},/{}), listenerName=ListenerName({})) needs {} permission.",
        session.principal,
        session.peer.ip(),
        session.listener,
        operation
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(principal: &str) -> Session {
        Session {
            principal: principal.to_string(),
            peer: "127.0.0.1:5555".parse().unwrap(),
            listener: "PLAINTEXT".to_string(),
            connection: 1,
        }
    }

    fn record(id: u128, topic: &str, operation: AclOperation) -> AccessControlEntryRecord {
        AccessControlEntryRecord {
            id: uuid::Uuid::from_u128(id),
            resource_type: ResourceType::Topic.code(),
            resource_name: topic.into(),
            pattern_type: PatternType::Literal.code(),
            principal: "User:ANONYMOUS".into(),
            host: "127.0.0.1".into(),
            operation: operation.code(),
            permission_type: AclPermissionType::Allow.code(),
        }
    }

    #[test]
    fn applied_images_add_and_remove_grants_and_hosts_match_the_peer() {
        let config = rafka_config::authorizer::AuthorizerConfig {
            enabled: true,
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let acls = Acls::open(&config, dir.path(), true).unwrap().unwrap();
        let anonymous = session("User:ANONYMOUS");
        let can = |acls: &Acls, topic: &str, operation| {
            acls.authorize(
                &anonymous,
                Action {
                    resource_type: ResourceType::Topic,
                    name: topic,
                    operation,
                },
            )
        };
        let mut image = BTreeMap::new();
        image.insert(
            uuid::Uuid::from_u128(1),
            record(1, "t", AclOperation::Write),
        );
        acls.apply(&image);
        assert!(can(&acls, "t", AclOperation::Write));
        assert!(
            can(&acls, "t", AclOperation::Describe),
            "WRITE implies DESCRIBE"
        );
        assert!(!can(&acls, "t", AclOperation::Read));
        assert!(!can(&acls, "u", AclOperation::Write));
        image.insert(
            uuid::Uuid::from_u128(2),
            record(2, "u", AclOperation::Write),
        );
        image.remove(&uuid::Uuid::from_u128(1));
        acls.apply(&image);
        assert!(!can(&acls, "t", AclOperation::Write), "the removed binding");
        assert!(can(&acls, "u", AclOperation::Write));
        let mut other_host = record(3, "v", AclOperation::Read);
        other_host.host = "10.1.1.1".into();
        image.insert(other_host.id, other_host);
        acls.apply(&image);
        assert!(
            !can(&acls, "v", AclOperation::Read),
            "a grant to another host"
        );
        assert_eq!(acls.bindings().len(), 2);
    }

    #[test]
    fn single_node_acls_survive_a_reopen() {
        let config = rafka_config::authorizer::AuthorizerConfig {
            enabled: true,
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let acls = Acls::open(&config, dir.path(), false).unwrap().unwrap();
        let mut image = BTreeMap::new();
        image.insert(uuid::Uuid::from_u128(7), record(7, "t", AclOperation::Read));
        let saved: Vec<&AccessControlEntryRecord> = image.values().collect();
        std::fs::write(
            dir.path().join(ACLS_FILE),
            serde_json::to_vec(&saved).unwrap(),
        )
        .unwrap();
        drop(acls);
        let reopened = Acls::open(&config, dir.path(), false).unwrap().unwrap();
        assert_eq!(reopened.bindings().len(), 1);
        assert_eq!(
            reopened.bindings()[0].1,
            binding_of(&image[&uuid::Uuid::from_u128(7)])
        );
    }
}
