//! Admin: the changes clients ask for — topics, partitions, topic, broker and group
//! configs, leader elections and reassignments. In a cluster each is forwarded to the
//! active controller and awaited (no request path blocks a runtime thread); in
//! single-node mode this broker is its own controller: the controller's rules decide, the
//! metadata is saved, and the logs are created or deleted here.

use std::collections::BTreeMap;
use std::sync::Arc;

use rafka_metadata::controller;
use rafka_metadata::image::TopicImage;
use rafka_metadata::rpc::BrokerRequest;
use rafka_metadata::ClusterImage;
use rafka_protocol::ErrorCode;
use rafka_types::TopicPartition;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::group::OFFSETS_TOPIC;
use crate::partition::Partition;
use crate::storage::{self, MetadataImage, TopicRecord};
use crate::topic::{validate_topic_name, Topic};
use crate::topic_config::{effective_topic_configs, log_config, validate_topic_configs};
use rafka_coordinator::share_state::coordinator::SHARE_GROUP_STATE_TOPIC;
use rafka_coordinator::txn::coordinator::TRANSACTION_STATE_TOPIC;

/// A partition's outcome of an election or a reassignment: `None` if it went through.
pub type PartitionOutcome = (TopicPartition, Option<controller::Refusal>);

/// A partition's reassignment: the target replicas, or `None` to cancel one in progress.
pub type ReassignmentRequest = (TopicPartition, Option<Vec<i32>>);

impl Broker {
    /// Replaces one group's config overrides (already validated).
    pub async fn set_group_configs(
        &self,
        group: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster
                .forward(BrokerRequest::SetGroupConfigs {
                    group: group.to_string(),
                    configs,
                })
                .await;
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        rafka_metadata::image::set_group_configs(&mut next.group_configs, group, configs);
        self.save_metadata(&mut image, next)?;
        Ok(())
    }

    /// ElectLeaders: the active controller's outcome per partition (`None`: every
    /// partition needing an election).
    pub async fn elect_leaders(
        &self,
        election: controller::ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<PartitionOutcome>, ApiError> {
        // The metadata crate (and its requests to the controller) name partitions by
        // (topic, index) pairs.
        let partitions: Option<Vec<(String, i32)>> =
            partitions.map(|all| all.into_iter().map(Into::into).collect());
        let outcomes = if let Some(cluster) = &self.cluster {
            cluster
                .forward_for_outcomes(BrokerRequest::ElectLeaders {
                    election,
                    partitions,
                })
                .await?
        } else {
            let image = self.single_node_image();
            let decider = self.single_node_controller(&image);
            decider
                .elect_leaders(&image, election, partitions.as_deref())
                .1
        };
        Ok(outcomes_from_metadata(outcomes))
    }

    /// AlterPartitionReassignments: a target replica list per partition, or `None` to
    /// cancel; the active controller's outcome per partition.
    pub async fn alter_reassignments(
        &self,
        allow_replication_factor_change: bool,
        partitions: Vec<ReassignmentRequest>,
    ) -> Result<Vec<PartitionOutcome>, ApiError> {
        let partitions: Vec<controller::ReassignmentRequest> = partitions
            .into_iter()
            .map(|(partition, replicas)| (partition.into(), replicas))
            .collect();
        let outcomes = if let Some(cluster) = &self.cluster {
            cluster
                .forward_for_outcomes(BrokerRequest::AlterReassignments {
                    allow_replication_factor_change,
                    partitions,
                })
                .await?
        } else {
            let image = self.single_node_image();
            let decider = self.single_node_controller(&image);
            decider
                .alter_reassignments(&image, allow_replication_factor_change, &partitions)
                .1
        };
        Ok(outcomes_from_metadata(outcomes))
    }

    /// Single-node mode seen as a cluster of this one broker, so that the controller's
    /// own rules answer ElectLeaders and reassignments (with nothing to change: every
    /// partition has its only replica here, leading).
    fn single_node_image(&self) -> ClusterImage {
        let me = self.config.node_id;
        let mut image = ClusterImage::default();
        image.brokers.insert(
            me,
            rafka_metadata::image::BrokerInfo {
                id: me,
                epoch: 0,
                incarnation_id: uuid::Uuid::nil(),
                listeners: Vec::new(),
                rack: self.config.broker_rack.clone(),
                fenced: false,
            },
        );
        for topic in self.topics() {
            image.topics.insert(
                topic.name.to_string(),
                TopicImage {
                    name: topic.name.to_string(),
                    topic_id: topic.topic_id,
                    configs: topic.configs.clone(),
                    partitions: topic.states.clone(),
                },
            );
        }
        image
    }

    fn single_node_controller(&self, image: &ClusterImage) -> controller::Controller {
        let config = controller::ControllerConfig {
            session_timeout_ms: self.config.replication.broker_session_timeout_ms,
            unclean_leader_election: self.config.replication.unclean_leader_election,
        };
        controller::Controller::new(config, image, self.clock.now_ms() as u64)
    }

    /// CreateTopics' checks and, unless `validate_only`, the creation itself.
    pub async fn create_topic(
        &self,
        name: &str,
        num_partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, ApiError> {
        self.create_topic_with(
            name,
            num_partitions,
            replication_factor,
            None,
            configs,
            validate_only,
        )
        .await
    }

    /// `create_topic`, with CreateTopics' manual replica assignment (one broker list per
    /// partition, already checked for shape) if the client gave one.
    pub async fn create_topic_with(
        &self,
        name: &str,
        num_partitions: i32,
        replication_factor: i16,
        assignments: Option<Vec<Vec<i32>>>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, ApiError> {
        validate_topic_name(name)
            .map_err(|m| ApiError::new(ErrorCode::InvalidTopicException, m))?;
        let num_partitions = if num_partitions == -1 {
            self.config.num_partitions
        } else {
            num_partitions
        };
        if num_partitions <= 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value.",
            ));
        }
        let replication_factor = if replication_factor == -1 {
            self.config.default_replication_factor
        } else {
            replication_factor
        };
        if replication_factor <= 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            ));
        }
        controller::check_replication_factor(
            replication_factor as usize,
            self.live_broker_count(),
        )?;
        validate_topic_configs(&configs, &self.broker_log_defaults())
            .map_err(|m| ApiError::new(ErrorCode::InvalidConfig, m))?;
        if let Some(cluster) = &self.cluster {
            cluster
                .forward(BrokerRequest::CreateTopic {
                    name: name.to_string(),
                    num_partitions,
                    replication_factor,
                    assignments,
                    configs: configs.clone(),
                    validate_only,
                })
                .await?;
            return match self.topic(name) {
                Some(topic) if !validate_only => Ok(topic),
                _ => Ok(Arc::new(Topic {
                    name: name.into(),
                    topic_id: uuid::Uuid::nil(),
                    replication_factor,
                    partitions: (0..num_partitions).map(|_| None).collect(),
                    states: Vec::new(),
                    configs,
                })),
            };
        }

        let mut image = self.image.lock();
        controller::check_topic_absent(name, image.topics.keys().map(String::as_str))?;
        let record = TopicRecord {
            name: name.to_string(),
            topic_id: uuid::Uuid::new_v4(),
            partitions: num_partitions,
            replication_factor,
            configs,
        };
        if validate_only {
            return Ok(Arc::new(Topic {
                name: name.into(),
                topic_id: record.topic_id,
                replication_factor,
                partitions: Vec::new(),
                states: Vec::new(),
                configs: record.configs,
            }));
        }
        let mut next = image.clone();
        next.topics.insert(name.to_string(), record.clone());
        self.save_metadata(&mut image, next)?;
        let mut partitions = Vec::new();
        for index in 0..num_partitions {
            partitions.push(Some(self.create_partition(&image, &record, index)?));
        }
        let topic = self.replicas.put(Topic {
            name: name.into(),
            topic_id: record.topic_id,
            replication_factor,
            partitions,
            states: self.local_states(num_partitions),
            configs: record.configs,
        });
        tracing::info!(
            "created topic {name} with {num_partitions} partition(s), id {}",
            storage::base64_url(topic.topic_id.as_bytes())
        );
        Ok(topic)
    }

    /// Removes a topic and, before returning, its partition directories.
    pub async fn delete_topic(&self, topic: &Arc<Topic>) -> Result<(), ApiError> {
        if !self.config.delete_topic_enable {
            return Err(ApiError::new(
                ErrorCode::TopicDeletionDisabled,
                "Topic deletion is disabled.",
            ));
        }
        if let Some(cluster) = &self.cluster {
            return cluster
                .forward(BrokerRequest::DeleteTopic {
                    name: topic.name.to_string(),
                })
                .await;
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        if next.topics.remove(&*topic.name).is_none() {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        }
        self.save_metadata(&mut image, next)?;
        self.replicas.remove(topic);
        for partition in topic.local_partitions() {
            self.logs.delete(partition);
        }
        tracing::info!("deleted topic {}", topic.name);
        Ok(())
    }

    pub async fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster
                .forward(BrokerRequest::CreatePartitions {
                    name: name.to_string(),
                    count,
                    assignments,
                    validate_only,
                })
                .await;
        }
        let mut image = self.image.lock();
        let Some(topic) = self.topic(name) else {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        };
        let current = topic.partitions.len() as i32;
        controller::check_partition_increase(name, current, count)?;
        if validate_only {
            return Ok(());
        }
        let mut next = image.clone();
        let Some(record) = next.topics.get_mut(name) else {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        };
        record.partitions = count;
        let record = record.clone();
        self.save_metadata(&mut image, next)?;
        let mut partitions = topic.partitions.clone();
        for index in current..count {
            partitions.push(Some(self.create_partition(&image, &record, index)?));
        }
        self.replicas.put(Topic {
            name: topic.name.clone(),
            topic_id: topic.topic_id,
            replication_factor: topic.replication_factor,
            partitions,
            states: self.local_states(count),
            configs: topic.configs.clone(),
        });
        Ok(())
    }

    /// Replaces a topic's overrides (already validated) and applies them to its logs.
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster
                .forward(BrokerRequest::SetTopicConfigs {
                    name: name.to_string(),
                    configs,
                })
                .await;
        }
        let mut image = self.image.lock();
        let Some(topic) = self.topic(name) else {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        };
        let mut next = image.clone();
        if let Some(record) = next.topics.get_mut(name) {
            record.configs = configs.clone();
        }
        self.save_metadata(&mut image, next)?;
        drop(image);
        let log = log_config(&effective_topic_configs(
            &configs,
            &self.broker_log_defaults(),
        ));
        for partition in topic.local_partitions() {
            partition.update_config(log.clone());
        }
        self.replicas.put(Topic {
            name: topic.name.clone(),
            topic_id: topic.topic_id,
            replication_factor: topic.replication_factor,
            partitions: topic.partitions.clone(),
            states: topic.states.clone(),
            configs,
        });
        Ok(())
    }

    /// Replaces the dynamic broker configs, this broker's own (`per_broker`) or the
    /// cluster-wide ones, and re-applies every topic's effective config.
    pub async fn set_broker_configs(
        &self,
        per_broker: bool,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            let node = per_broker.then_some(self.config.node_id);
            return cluster
                .forward(BrokerRequest::SetBrokerConfigs { node, configs })
                .await;
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        if per_broker {
            next.node_broker_configs = configs;
        } else {
            next.broker_configs = configs;
        }
        self.save_metadata(&mut image, next)?;
        drop(image);
        let defaults = self.broker_log_defaults();
        for topic in self.topics() {
            let log = log_config(&effective_topic_configs(&topic.configs, &defaults));
            for partition in topic.local_partitions() {
                partition.update_config(log.clone());
            }
        }
        Ok(())
    }

    /// Creates `__consumer_offsets` on first use, as Kafka does.
    pub async fn ensure_offsets_topic(&self) -> Result<(), ErrorCode> {
        let settings = &self.groups.topic_config;
        let configs = BTreeMap::from([
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("compression.type".to_string(), "producer".to_string()),
            (
                "segment.bytes".to_string(),
                settings.segment_bytes.to_string(),
            ),
        ]);
        self.ensure_internal_topic(
            OFFSETS_TOPIC,
            settings.partitions,
            settings.replication_factor,
            configs,
        )
        .await
    }

    /// Creates `__transaction_state` if it does not exist yet (Kafka creates it at the first
    /// FindCoordinator for a transactional id): compacted, uncompressed, its
    /// `min.insync.replicas` and segment size from the `transaction.state.log.*` keys.
    pub async fn ensure_transaction_topic(&self) -> Result<(), ErrorCode> {
        let settings = &self.txns.config;
        let replication = self.internal_replication(settings.replication_factor);
        let configs = BTreeMap::from([
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("compression.type".to_string(), "uncompressed".to_string()),
            (
                "unclean.leader.election.enable".to_string(),
                "false".to_string(),
            ),
            (
                "min.insync.replicas".to_string(),
                settings.min_isr.min(i32::from(replication)).to_string(),
            ),
            (
                "segment.bytes".to_string(),
                settings.segment_bytes.to_string(),
            ),
        ]);
        self.ensure_internal_topic(
            TRANSACTION_STATE_TOPIC,
            settings.partitions,
            settings.replication_factor,
            configs,
        )
        .await
    }

    /// Creates `__share_group_state` if it does not exist yet (at the first
    /// FindCoordinator for a share-partition, or its leader's first read): as Kafka's
    /// `ShareCoordinatorService.shareGroupStateTopicConfigs`, records deleted by the share
    /// coordinator's pruning rather than by time (`cleanup.policy=delete`,
    /// `retention.ms=-1`), compression as the producer's, and its `min.insync.replicas`
    /// and segment size from the `share.coordinator.state.topic.*` keys.
    pub async fn ensure_share_state_topic(&self) -> Result<(), ErrorCode> {
        let settings = &self.share_states.config;
        let replication = self.internal_replication(settings.replication_factor);
        let configs = BTreeMap::from([
            ("cleanup.policy".to_string(), "delete".to_string()),
            ("compression.type".to_string(), "producer".to_string()),
            ("retention.ms".to_string(), "-1".to_string()),
            (
                "min.insync.replicas".to_string(),
                settings.min_isr.min(i32::from(replication)).to_string(),
            ),
            (
                "segment.bytes".to_string(),
                settings.segment_bytes.to_string(),
            ),
        ]);
        self.ensure_internal_topic(
            SHARE_GROUP_STATE_TOPIC,
            settings.partitions,
            settings.replication_factor,
            configs,
        )
        .await
    }

    /// The replication factor an internal topic gets: its setting, capped by the live
    /// brokers (as a single node creates them with one replica).
    fn internal_replication(&self, configured: i16) -> i16 {
        (configured as usize).min(self.live_broker_count()).max(1) as i16
    }

    /// Creates an internal topic unless it exists; COORDINATOR_NOT_AVAILABLE when it
    /// cannot be created (its coordinator has nothing to write to).
    async fn ensure_internal_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ErrorCode> {
        if self.topic(name).is_some() {
            return Ok(());
        }
        let replication = self.internal_replication(replication_factor);
        match self
            .create_topic(name, partitions, replication, configs, false)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == ErrorCode::TopicAlreadyExists => Ok(()),
            Err(e) => {
                tracing::error!("cannot create {name}: {e:?}");
                Err(ErrorCode::CoordinatorNotAvailable)
            }
        }
    }

    /// Saves the single-node metadata and makes it the current image (`image`, locked by
    /// the caller, which serialises metadata changes).
    pub(crate) fn save_metadata(
        &self,
        image: &mut MetadataImage,
        next: MetadataImage,
    ) -> Result<(), ApiError> {
        next.save(self.metadata_dir())
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        Ok(())
    }

    /// Creates the log of a new partition of `record` (single-node mode), with the
    /// metadata `image` the caller holds locked.
    fn create_partition(
        &self,
        image: &MetadataImage,
        record: &TopicRecord,
        index: i32,
    ) -> Result<Arc<Partition>, ApiError> {
        let log = self
            .logs
            .create(&self.log_to_open(image, record, index))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        Ok(Arc::new(Partition::new(
            record.name.as_str().into(),
            index,
            log,
        )))
    }
}

/// The controller's outcomes, which name partitions by (topic, index) pairs.
fn outcomes_from_metadata(outcomes: Vec<controller::PartitionOutcome>) -> Vec<PartitionOutcome> {
    outcomes
        .into_iter()
        .map(|(partition, refusal)| (partition.into(), refusal))
        .collect()
}
