//! A broker node's part in the cluster, as loops beside the client listeners: registration
//! and heartbeats to the active controller, following the committed metadata image and
//! applying it, proposing ISR changes for this broker's leaderships (AlterPartition), and
//! the replica fetcher that makes followers of the others' partitions.

pub mod fetcher;

use std::sync::Arc;
use std::time::Duration;

use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use tokio::sync::watch;

use crate::broker::Broker;

/// Starts this node's cluster tasks: registration, heartbeats, image following,
/// ISR checks; returns when `stop` fires.
pub async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let Some(cluster) = broker.cluster.clone() else {
        return;
    };
    let config = broker.config.replication.clone();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(follow_image(broker.clone()));
    tasks.spawn(heartbeats(broker.clone(), stop.clone()));
    tasks.spawn(fetcher::run(broker.clone()));
    let isr_broker = broker.clone();
    tasks.spawn(async move {
        let period = Duration::from_millis((config.replica_lag_time_max_ms / 2).clamp(50, 1000));
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            check_isr(&isr_broker).await;
        }
    });
    let _ = stop.wait_for(|s| *s).await;
    // Controlled shutdown: give up leaderships before going.
    let epoch = cluster.broker_epoch();
    if epoch >= 0 {
        let request = BrokerRequest::Heartbeat {
            id: cluster.node_id,
            epoch,
            metadata_offset: cluster.image().offset,
            shutting_down: true,
        };
        let _ = cluster
            .call_controller(request, Duration::from_secs(3))
            .await;
    }
    tasks.abort_all();
}

/// Long-polls the controllers for newer images and applies each.
async fn follow_image(broker: Arc<Broker>) {
    let cluster = broker.cluster.clone().expect("cluster mode");
    loop {
        let request = BrokerRequest::FetchImage {
            after_offset: cluster.image().offset,
            wait_ms: 1_000,
        };
        // Any controller may answer: each serves its committed image.
        match cluster
            .call_controller(request, Duration::from_secs(5))
            .await
        {
            Ok(BrokerResponse::Image { image, controller }) => {
                if controller.is_some() {
                    cluster.set_controller(controller);
                }
                if let Some(image) = image {
                    let image = Arc::new(*image);
                    let applied = broker.clone();
                    let result =
                        tokio::task::spawn_blocking(move || applied.apply_image(image)).await;
                    if let Err(e) = result {
                        tracing::error!("applying the metadata image failed: {e}");
                    }
                }
            }
            Ok(other) => {
                tracing::debug!("unexpected FetchImage answer {other:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::debug!("cannot fetch metadata: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Registers, then heartbeats every `broker.heartbeat.interval.ms`; registers again
/// when the controller no longer knows this incarnation.
async fn heartbeats(broker: Arc<Broker>, stop: watch::Receiver<bool>) {
    let cluster = broker.cluster.clone().expect("cluster mode");
    let interval = Duration::from_millis(broker.config.replication.broker_heartbeat_interval_ms);
    let advertised = broker.config.registered_listeners();
    loop {
        if *stop.borrow() {
            return;
        }
        if cluster.broker_epoch() < 0 {
            let request = BrokerRequest::Register {
                id: cluster.node_id,
                incarnation_id: cluster.incarnation_id,
                listeners: advertised
                    .iter()
                    .map(|a| rafka_metadata::image::Endpoint {
                        name: a.name.clone(),
                        host: a.host.clone(),
                        port: a.port,
                    })
                    .collect(),
                rack: broker.config.broker_rack.clone(),
            };
            match cluster
                .call_controller(request, Duration::from_secs(5))
                .await
            {
                Ok(BrokerResponse::Registered { epoch }) => {
                    tracing::info!("registered with the controller, broker epoch {epoch}");
                    cluster.set_broker_epoch(epoch);
                }
                other => {
                    tracing::debug!("registration failed: {other:?}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        let request = BrokerRequest::Heartbeat {
            id: cluster.node_id,
            epoch: cluster.broker_epoch(),
            metadata_offset: cluster.image().offset,
            shutting_down: false,
        };
        match cluster.call_controller(request, interval * 2).await {
            Ok(BrokerResponse::Heartbeat) => {}
            Ok(BrokerResponse::Error { code, message }) => {
                tracing::warn!("heartbeat refused ({code}): {message}; registering again");
                cluster.set_broker_epoch(-1);
                continue;
            }
            other => tracing::debug!("heartbeat failed: {other:?}"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Proposes the ISR changes this broker's leaderships need (AlterPartition).
async fn check_isr(broker: &Arc<Broker>) {
    let cluster = broker.cluster.clone().expect("cluster mode");
    let now = broker.clock.now_ms() as u64;
    let lag = broker.config.replication.replica_lag_time_max_ms;
    for topic in broker.topics() {
        for partition in topic.local_partitions() {
            let Some((isr, leader_epoch, partition_epoch)) = partition.isr_change(now, lag) else {
                continue;
            };
            tracing::info!(
                "{}-{}: proposing ISR {isr:?} (epoch {leader_epoch})",
                topic.name,
                partition.index
            );
            // The ISR this proposal replaces, read before the controller commits it (the
            // image may bring the committed ISR before the answer does).
            let isr_before = topic.state(partition.index).map(|s| s.isr.len());
            let request = BrokerRequest::AlterPartition {
                broker_id: cluster.node_id,
                broker_epoch: cluster.broker_epoch(),
                topic: topic.name.to_string(),
                partition: partition.index,
                leader_epoch: leader_epoch.0,
                partition_epoch,
                new_isr: isr,
            };
            match cluster
                .call_controller(request, Duration::from_secs(5))
                .await
            {
                // A completed reassignment may have moved the leadership away: the
                // image brings the new role.
                Ok(BrokerResponse::Partition(state)) if state.leader == cluster.node_id => {
                    // Kafka's IsrShrinksPerSec/IsrExpandsPerSec count committed changes.
                    if let Some(before) = isr_before {
                        broker.metrics.record_isr_change(before, state.isr.len());
                    }
                    partition.become_leader(&state, broker.clock.now_ms() as u64)
                }
                Ok(refused) => {
                    tracing::info!(
                        "{}-{}: ISR change not accepted: {refused:?}",
                        topic.name,
                        partition.index
                    );
                    partition.clear_pending_isr();
                }
                // No answer: the change may have committed; keep it pending until the
                // metadata says (Kafka does not forget an unanswered proposal).
                Err(e) => tracing::info!(
                    "{}-{}: ISR change unanswered: {e}",
                    topic.name,
                    partition.index
                ),
            }
        }
    }
}
