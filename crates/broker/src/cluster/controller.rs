//! The controller role: answers brokers on the controller listener. The quorum leader
//! is the active controller; it turns each request into records with
//! `rafka_metadata::controller::Controller` (one decision at a time, against the latest
//! committed image), proposes them, and answers once they are committed. Other voters
//! answer NotController, except for FetchImage, which any voter serves from its own
//! committed image.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rafka_metadata::controller::{
    Controller, ControllerConfig, ElectionType, PartitionOutcome, Refusal,
};
use rafka_metadata::quorum::{ProposeError, Quorum};
use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use rafka_metadata::server::BrokerRpcHandler;
use rafka_metadata::{ClusterImage, MetadataRecord};
use rafka_types::SharedClock;

#[derive(Debug)]
pub struct ControllerService {
    quorum: Quorum,
    /// `controller.quorum.voters`, for brokers that know only bootstrap servers.
    voters: std::collections::BTreeMap<i32, String>,
    config: ControllerConfig,
    clock: SharedClock,
    /// The decision state while this node is the active controller, with the leadership
    /// it was built under; rebuilt when leadership changes.
    state: tokio::sync::Mutex<Option<(u64, Controller)>>,
    /// Counts leadership changes seen by `watch_leadership`.
    generation: std::sync::atomic::AtomicU64,
    /// The `storage format --add-scram` credentials, written once by the first active
    /// controller that has them.
    bootstrap_scram: Vec<MetadataRecord>,
}

impl ControllerService {
    pub fn new(
        quorum: Quorum,
        voters: std::collections::BTreeMap<i32, String>,
        config: ControllerConfig,
        clock: SharedClock,
        bootstrap_scram: Vec<MetadataRecord>,
    ) -> Arc<Self> {
        Arc::new(ControllerService {
            quorum,
            voters,
            config,
            clock,
            state: tokio::sync::Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
            bootstrap_scram,
        })
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms() as u64
    }

    fn image(&self) -> Arc<ClusterImage> {
        self.quorum.image().borrow().clone()
    }

    /// Runs the active controller's periodic work: fencing silent brokers and, if
    /// enabled, moving leaderships back to preferred replicas.
    pub async fn run(self: Arc<Self>, auto_rebalance: bool, rebalance_interval_ms: u64) {
        let mut leader = self.quorum.leader_watch();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut last_rebalance = self.now_ms();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = leader.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // Clients are never told the quorum leader (Metadata names a random
                    // broker), so this line is where operators find it.
                    match *leader.borrow() {
                        Some(id) => tracing::info!("the active controller is now node {id}"),
                        None => tracing::info!("no active controller: the quorum is electing"),
                    }
                    continue;
                }
            }
            if !self.quorum.is_leader() {
                continue;
            }
            let rebalance = auto_rebalance
                && self.now_ms().saturating_sub(last_rebalance) >= rebalance_interval_ms;
            let result = self
                .decide(|controller, image, now| {
                    if !image.scram_bootstrapped && !self.bootstrap_scram.is_empty() {
                        let mut records = self.bootstrap_scram.clone();
                        records.push(MetadataRecord::ScramBootstrapped);
                        return Ok((records, ()));
                    }
                    let mut records = controller.tick(image, now);
                    if rebalance && records.is_empty() {
                        records = controller
                            .elect_leaders(image, ElectionType::Preferred, None)
                            .0;
                    }
                    Ok((records, ()))
                })
                .await;
            if rebalance {
                last_rebalance = self.now_ms();
            }
            if let Err(e) = result {
                tracing::debug!("controller tick: {e:?}");
            }
        }
    }

    /// Makes one decision against the latest image and commits its records.
    async fn decide<T>(
        &self,
        f: impl FnOnce(&mut Controller, &ClusterImage, u64) -> Result<(Vec<MetadataRecord>, T), Refusal>,
    ) -> Result<(u64, T), BrokerResponse> {
        if !self.quorum.is_leader() {
            return Err(BrokerResponse::NotController {
                leader: self.quorum.leader(),
            });
        }
        let mut state = self.state.lock().await;
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if state.as_ref().is_none_or(|(g, _)| *g != generation) {
            // A new leadership: decide on an image holding everything committed so far.
            match self.quorum.ensure_applied().await {
                Ok(()) => {}
                Err(ProposeError::NotLeader { leader }) => {
                    return Err(BrokerResponse::NotController { leader })
                }
                Err(e) => {
                    return Err(BrokerResponse::Error {
                        code: rafka_protocol::ErrorCode::NotController.code(),
                        message: format!("{e}"),
                    })
                }
            }
            *state = Some((
                generation,
                Controller::new(self.config.clone(), &self.image(), self.now_ms()),
            ));
        }
        let image = self.image();
        let now = self.now_ms();
        let (_, controller) = state.as_mut().expect("just set");
        let (records, value) = f(controller, &image, now).map_err(|r| BrokerResponse::Error {
            code: r.code,
            message: r.message,
        })?;
        if records.is_empty() {
            return Ok((image.offset, value));
        }
        match self.quorum.propose(records).await {
            Ok(offset) => Ok((offset, value)),
            Err(ProposeError::NotLeader { leader }) => {
                Err(BrokerResponse::NotController { leader })
            }
            Err(e) => Err(BrokerResponse::Error {
                code: rafka_protocol::ErrorCode::NotController.code(),
                message: format!("{e}"),
            }),
        }
    }

    async fn fetch_image(&self, after_offset: u64, wait_ms: u64) -> BrokerResponse {
        let mut images = self.quorum.image();
        let newer = images.wait_for(|i| i.offset > after_offset);
        let image = match tokio::time::timeout(Duration::from_millis(wait_ms), newer).await {
            Ok(Ok(image)) => Some(Box::new((**image).clone())),
            _ => None,
        };
        BrokerResponse::Image {
            image,
            controller: self.quorum.leader(),
        }
    }

    async fn handle_request(&self, request: BrokerRequest) -> BrokerResponse {
        let done = |r: Result<(u64, ()), BrokerResponse>| match r {
            Ok((offset, ())) => BrokerResponse::Done { offset },
            Err(e) => e,
        };
        let outcomes = |r: Result<(u64, Vec<PartitionOutcome>), BrokerResponse>| match r {
            Ok((offset, outcomes)) => BrokerResponse::Outcomes { offset, outcomes },
            Err(e) => e,
        };
        match request {
            BrokerRequest::FetchImage {
                after_offset,
                wait_ms,
            } => self.fetch_image(after_offset, wait_ms).await,
            BrokerRequest::QuorumStatus => {
                if !self.quorum.is_leader() {
                    return BrokerResponse::NotController {
                        leader: self.quorum.leader(),
                    };
                }
                let observers = match self.state.lock().await.as_ref() {
                    Some((_, c)) => c.broker_progress(),
                    None => Vec::new(),
                };
                BrokerResponse::QuorumStatus {
                    status: self.quorum.status(self.clock.now_ms()),
                    voters: self.voters.clone(),
                    observers,
                }
            }
            BrokerRequest::DescribeVoters => BrokerResponse::Voters {
                voters: self.voters.clone(),
            },
            BrokerRequest::Register {
                id,
                incarnation_id,
                listeners,
                rack,
            } => {
                let result = self
                    .decide(|c, image, now| {
                        let (epoch, records) =
                            c.register(image, id, incarnation_id, listeners, rack, now);
                        Ok((records, epoch))
                    })
                    .await;
                match result {
                    Ok((offset, epoch)) => {
                        if let Some((_, c)) = self.state.lock().await.as_mut() {
                            c.registered(id, offset);
                        }
                        BrokerResponse::Registered { epoch }
                    }
                    Err(e) => e,
                }
            }
            BrokerRequest::Heartbeat {
                id,
                epoch,
                metadata_offset,
                shutting_down,
            } => {
                let result = self
                    .decide(|c, image, now| {
                        let records =
                            c.heartbeat(image, id, epoch, metadata_offset, shutting_down, now)?;
                        Ok((records, ()))
                    })
                    .await;
                match result {
                    Ok(_) => BrokerResponse::Heartbeat,
                    Err(e) => e,
                }
            }
            BrokerRequest::AlterPartition {
                broker_id,
                broker_epoch,
                topic,
                partition,
                leader_epoch,
                partition_epoch,
                new_isr,
            } => {
                let result = self
                    .decide(|c, image, _| {
                        let (state, records) = c.alter_partition(
                            image,
                            broker_id,
                            broker_epoch,
                            &topic,
                            partition,
                            leader_epoch,
                            partition_epoch,
                            &new_isr,
                        )?;
                        Ok((records, state))
                    })
                    .await;
                match result {
                    Ok((_, state)) => BrokerResponse::Partition(state),
                    Err(e) => e,
                }
            }
            BrokerRequest::AllocateProducerIds {
                broker_id,
                broker_epoch,
            } => {
                let result = self
                    .decide(|c, image, _| c.allocate_producer_ids(image, broker_id, broker_epoch))
                    .await;
                match result {
                    Ok((_, (first, len))) => BrokerResponse::ProducerIds { first, len },
                    Err(e) => e,
                }
            }
            BrokerRequest::CreateTopic {
                name,
                num_partitions,
                replication_factor,
                assignments,
                configs,
                validate_only,
            } => done(
                self.decide(|c, image, _| {
                    let records = c.create_topic(
                        image,
                        &name,
                        num_partitions,
                        replication_factor,
                        assignments.as_deref(),
                        configs,
                    )?;
                    Ok((if validate_only { Vec::new() } else { records }, ()))
                })
                .await,
            ),
            BrokerRequest::DeleteTopic { name } => done(
                self.decide(|_, image, _| {
                    if !image.topics.contains_key(&name) {
                        return Err(Refusal {
                            code: rafka_protocol::ErrorCode::UnknownTopicOrPartition.code(),
                            message: format!("Topic {name} does not exist"),
                        });
                    }
                    Ok((vec![MetadataRecord::DeleteTopic { name }], ()))
                })
                .await,
            ),
            BrokerRequest::CreatePartitions {
                name,
                count,
                assignments,
                validate_only,
            } => done(
                self.decide(|c, image, _| {
                    let records =
                        c.create_partitions(image, &name, count, assignments.as_deref())?;
                    Ok((if validate_only { Vec::new() } else { records }, ()))
                })
                .await,
            ),
            BrokerRequest::SetTopicConfigs { name, configs } => done(
                self.decide(|_, _, _| {
                    Ok((vec![MetadataRecord::SetTopicConfigs { name, configs }], ()))
                })
                .await,
            ),
            BrokerRequest::SetBrokerConfigs { node, configs } => done(
                self.decide(|_, _, _| {
                    Ok((vec![MetadataRecord::SetBrokerConfigs { node, configs }], ()))
                })
                .await,
            ),
            BrokerRequest::AlterScramCredentials { records } => done(
                self.decide(|_, _, _| {
                    let scram_only = records.iter().all(|r| {
                        matches!(
                            r,
                            MetadataRecord::UserScramCredential { .. }
                                | MetadataRecord::RemoveUserScramCredential { .. }
                        )
                    });
                    if !scram_only {
                        return Err(Refusal::new(
                            rafka_protocol::ErrorCode::InvalidRequest,
                            "AlterScramCredentials carries SCRAM records only",
                        ));
                    }
                    Ok((records, ()))
                })
                .await,
            ),
            BrokerRequest::SetGroupConfigs { group, configs } => done(
                self.decide(|_, _, _| {
                    Ok((vec![MetadataRecord::SetGroupConfigs { group, configs }], ()))
                })
                .await,
            ),
            BrokerRequest::ElectLeaders {
                election,
                partitions,
            } => outcomes(
                self.decide(|c, image, _| {
                    Ok(c.elect_leaders(image, election, partitions.as_deref()))
                })
                .await,
            ),
            BrokerRequest::AlterReassignments {
                allow_replication_factor_change,
                partitions,
            } => outcomes(
                self.decide(|c, image, _| {
                    Ok(c.alter_reassignments(image, allow_replication_factor_change, &partitions))
                })
                .await,
            ),
            BrokerRequest::CreateAcls { acls } => done(
                self.decide(|_, image, _| {
                    Ok((
                        rafka_metadata::acl_control::create_acls(&image.acls, acls),
                        (),
                    ))
                })
                .await,
            ),
            BrokerRequest::DeleteAcls { ids } => done(
                self.decide(|_, image, _| {
                    Ok((
                        rafka_metadata::acl_control::delete_acls(&image.acls, &ids),
                        (),
                    ))
                })
                .await,
            ),
        }
    }
}

impl BrokerRpcHandler for ControllerService {
    fn handle(
        &self,
        req: BrokerRequest,
    ) -> Pin<Box<dyn Future<Output = BrokerResponse> + Send + '_>> {
        Box::pin(self.handle_request(req))
    }
}
