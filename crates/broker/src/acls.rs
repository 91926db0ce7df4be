//! The authorizer as the handlers ask it (`authorizer.class.name` = Kafka's
//! `StandardAuthorizer`): the decisions, the authorized-operations bit fields, and the
//! changes CreateAcls and DeleteAcls make — through the controller quorum in a cluster,
//! saved beside the metadata file on a single node.

use std::collections::BTreeMap;

use rafka_metadata::image::AccessControlEntryRecord;
use rafka_metadata::rpc::BrokerRequest;
use rafka_protocol::ErrorCode;
use rafka_security::acl::{AclBinding, AclOperation, ResourceType};
use rafka_security::authorizer::Action;

use crate::acl_store::{record_of, with_caller, Acls, CLUSTER_NAME};
use crate::broker::Broker;
use crate::error::ApiError;
use crate::session::Session;

/// A topic as a request names it: by name (older versions) or by id.
#[derive(Debug, Clone, Copy)]
pub enum TopicRef<'a> {
    Name(&'a str),
    Id(&'a uuid::Uuid),
}

impl Broker {
    /// Whether an authorizer is configured (`authorizer.class.name`).
    pub fn authorizer_enabled(&self) -> bool {
        self.acls.is_some()
    }

    /// Whether the session may do `operation` on a resource; always, without an
    /// authorizer.
    pub fn authorize(
        &self,
        session: &Session,
        resource_type: ResourceType,
        name: &str,
        operation: AclOperation,
    ) -> bool {
        match &self.acls {
            None => true,
            Some(acls) => acls.authorize(
                session,
                Action {
                    resource_type,
                    name,
                    operation,
                },
            ),
        }
    }

    /// [`authorize`](Self::authorize) on the cluster resource.
    pub fn authorize_cluster(&self, session: &Session, operation: AclOperation) -> bool {
        self.authorize(session, ResourceType::Cluster, CLUSTER_NAME, operation)
    }

    /// `authorize` on a topic.
    pub fn authorize_topic(&self, session: &Session, topic: &str, operation: AclOperation) -> bool {
        self.authorize(session, ResourceType::Topic, topic, operation)
    }

    /// One flag per topic of a request, in order: whether the session may do
    /// `operation` on it (all true without an authorizer). A topic named by an id this
    /// broker does not know counts as allowed: Kafka answers it UNKNOWN_TOPIC_ID before
    /// authorizing. Borrows the names; allocates only the flags.
    pub fn authorize_topics<'a>(
        &self,
        session: &Session,
        topics: impl ExactSizeIterator<Item = TopicRef<'a>>,
        operation: AclOperation,
    ) -> Vec<bool> {
        if !self.authorizer_enabled() {
            return vec![true; topics.len()];
        }
        topics
            .map(|topic| match topic {
                TopicRef::Name(name) => self.authorize_topic(session, name, operation),
                TopicRef::Id(id) => self
                    .topic_by_id(id)
                    .is_none_or(|t| self.authorize_topic(session, &t.name, operation)),
            })
            .collect()
    }

    /// Why this session may not change ACLs (CreateAcls, DeleteAcls), as Kafka checks it:
    /// ALTER on the cluster first, then an authorizer to change. The refusal answers every
    /// entry of the request.
    pub fn acl_change_refusal(&self, session: &Session) -> Option<(ErrorCode, String)> {
        if !self.authorize_cluster(session, AclOperation::Alter) {
            return Some((
                ErrorCode::ClusterAuthorizationFailed,
                crate::acl_store::not_authorized_message(session, AclOperation::Alter),
            ));
        }
        if !self.authorizer_enabled() {
            return Some((
                ErrorCode::SecurityDisabled,
                "No Authorizer is configured.".into(),
            ));
        }
        None
    }

    /// `authorize` on a group.
    pub fn authorize_group(&self, session: &Session, group: &str, operation: AclOperation) -> bool {
        self.authorize(session, ResourceType::Group, group, operation)
    }

    /// `authorize` on a transactional id.
    pub fn authorize_transactional_id(
        &self,
        session: &Session,
        transactional_id: &str,
        operation: AclOperation,
    ) -> bool {
        self.authorize(
            session,
            ResourceType::TransactionalId,
            transactional_id,
            operation,
        )
    }

    /// Kafka's check of a config resource (DescribeConfigs with `describe`, else the
    /// AlterConfigs APIs): DESCRIBE_CONFIGS or ALTER_CONFIGS on the topic or group, on
    /// the cluster for brokers, broker loggers and client metrics; the refusal carries
    /// the error's own text.
    pub fn authorize_config_resource(
        &self,
        session: &Session,
        resource_type: i8,
        name: &str,
        describe: bool,
    ) -> Result<(), ApiError> {
        // ConfigResource.Type ids.
        const TOPIC: i8 = 2;
        const GROUP: i8 = 32;
        let operation = if describe {
            AclOperation::DescribeConfigs
        } else {
            AclOperation::AlterConfigs
        };
        let (allowed, code) = match resource_type {
            TOPIC => (
                self.authorize_topic(session, name, operation),
                ErrorCode::TopicAuthorizationFailed,
            ),
            GROUP => (
                self.authorize_group(session, name, operation),
                ErrorCode::GroupAuthorizationFailed,
            ),
            _ => (
                self.authorize_cluster(session, operation),
                ErrorCode::ClusterAuthorizationFailed,
            ),
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::new(code, code.description()))
        }
    }

    /// Kafka's `authorizeByResourceType`: the operation on at least one resource of the
    /// type.
    pub fn authorize_by_resource_type(
        &self,
        session: &Session,
        resource_type: ResourceType,
        operation: AclOperation,
    ) -> bool {
        match &self.acls {
            None => true,
            Some(acls) => with_caller(session, |caller| {
                acls.authorizer
                    .read()
                    .authorize_by_resource_type(caller, resource_type, operation)
            }),
        }
    }

    /// The authorized-operations bit field of one resource: the operations of
    /// `supported` the session may do (all of them without an authorizer).
    pub fn authorized_operations_of(
        &self,
        session: &Session,
        resource_type: ResourceType,
        name: &str,
        supported: &[AclOperation],
    ) -> i32 {
        match &self.acls {
            None => supported.iter().fold(0, |bits, op| bits | 1 << op.code()),
            Some(acls) => with_caller(session, |caller| {
                acls.authorizer
                    .read()
                    .authorized_operations(caller, resource_type, name, supported)
            }),
        }
    }

    /// Loads the ACLs of a cluster image into the store.
    pub(crate) fn apply_acls(&self, image: &rafka_metadata::ClusterImage) {
        if let Some(acls) = &self.acls {
            acls.apply(&image.acls);
        }
    }

    /// The bindings and their ids (none without an authorizer).
    pub fn acl_bindings(&self) -> Vec<(uuid::Uuid, AclBinding)> {
        self.acls.as_ref().map(Acls::bindings).unwrap_or_default()
    }

    /// Adds validated bindings: through the controller in a cluster, saved here on a
    /// single node. A binding already stored is kept once.
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<(), ApiError> {
        let records: Vec<AccessControlEntryRecord> = bindings.iter().map(record_of).collect();
        if let Some(cluster) = &self.cluster {
            return cluster
                .forward(BrokerRequest::CreateAcls { acls: records })
                .await;
        }
        self.change_single_node_acls(|stored| {
            rafka_metadata::acl_control::create_acls(stored, records)
        })
    }

    /// Removes bindings by id.
    pub async fn delete_acls(&self, ids: Vec<uuid::Uuid>) -> Result<(), ApiError> {
        if ids.is_empty() {
            return Ok(());
        }
        if let Some(cluster) = &self.cluster {
            return cluster.forward(BrokerRequest::DeleteAcls { ids }).await;
        }
        self.change_single_node_acls(|stored| {
            rafka_metadata::acl_control::delete_acls(stored, &ids)
        })
    }

    /// Single-node mode: the controller's records for a change, applied to the saved
    /// bindings, saved, then loaded into the store. Nothing changes if saving fails.
    fn change_single_node_acls(
        &self,
        decide: impl FnOnce(
            &BTreeMap<uuid::Uuid, AccessControlEntryRecord>,
        ) -> Vec<rafka_metadata::MetadataRecord>,
    ) -> Result<(), ApiError> {
        let Some(acls) = &self.acls else {
            return Err(ApiError::new(
                ErrorCode::SecurityDisabled,
                "No Authorizer is configured.",
            ));
        };
        let mut next = acls.applied.lock().clone();
        let mut image = rafka_metadata::ClusterImage {
            acls: std::mem::take(&mut next),
            ..Default::default()
        };
        let records = decide(&image.acls);
        if records.is_empty() {
            return Ok(());
        }
        for record in &records {
            image.apply(record);
        }
        if let Some(path) = &acls.file {
            let saved: Vec<&AccessControlEntryRecord> = image.acls.values().collect();
            let bytes = serde_json::to_vec_pretty(&saved)
                .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
            rafka_types::write_atomically(path, &bytes).map_err(|e| {
                ApiError::new(
                    ErrorCode::KafkaStorageError,
                    format!("cannot save {}: {e}", path.display()),
                )
            })?;
        }
        acls.apply(&image.acls);
        Ok(())
    }
}
