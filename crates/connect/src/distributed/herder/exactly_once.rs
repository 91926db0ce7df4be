//! The distributed herder's part of exactly-once source support (KIP-618): the round of
//! zombie fencing before a new generation of a connector's tasks writes (Kafka's
//! `fenceZombieSourceTasks` / `ZombieFencing`), and the checks an exactly-once task runs
//! around the initialization of its transactional producer (Kafka's `startTask` for
//! exactly-once and `verifyTaskGenerationAndOwnership`).
//!
//! Fencing happens on the leader. A task on another worker asks for it with the
//! internal `PUT /connectors/{name}/fence`, signed with the session key under
//! `sessioned`. The leader fences the transactional ids `0..n` of the last
//! `tasks-fencing-<connector>` record (the generation that may still run somewhere), then
//! writes a record with the current task count; a connector without a record yet (first
//! started with exactly-once support) or going from one task to one task needs no
//! fencing, only the record (the new producer fences its predecessor itself).

use std::sync::Arc;

use rafka_connect_data::connector::{ConnectorError, Props};

use super::{
    kind_of, sign, DistributedHerder, Inner, REQUEST_TIMEOUT, SIGNATURE_ALGORITHM, SYNC_TIMEOUT,
};
use crate::distributed::fencing;
use crate::error::RuntimeError;
use crate::forward;
use crate::herder::ConnectorTaskId;
use crate::plugins::PluginType;
use crate::worker::{task_transactional_id, ExactlyOnce, TaskCheck};

fn task_name(id: &ConnectorTaskId) -> String {
    format!("{}-{}", id.connector, id.task)
}

impl DistributedHerder {
    /// The checks of an exactly-once source task, `None` for any other task (sink
    /// tasks, or a worker without `exactly.once.source.support=enabled`).
    pub(super) fn exactly_once_checks(
        &self,
        inner: &Inner,
        id: &ConnectorTaskId,
        connector_config: &Props,
    ) -> Option<ExactlyOnce> {
        if !self.worker.config.exactly_once_source_enabled()
            || kind_of(connector_config) != PluginType::Source
        {
            return None;
        }
        let generation = inner
            .snapshot
            .task_config_generations
            .get(&id.connector)
            .copied()
            .unwrap_or(-1);
        let check = |verify: bool| -> TaskCheck {
            let herder = self.me.clone();
            let id = id.clone();
            Arc::new(move || {
                let herder = herder.clone();
                let id = id.clone();
                Box::pin(async move {
                    let Some(herder) = herder.upgrade() else {
                        return Err(ConnectorError::fatal("The worker is shutting down"));
                    };
                    let result = if verify {
                        herder
                            .verify_task_generation_and_ownership(&id, generation)
                            .await
                    } else {
                        herder.fence_for_task(&id).await.map_err(|e| {
                            RuntimeError::Internal(format!(
                                "Failed to perform round of zombie fencing: {e}"
                            ))
                        })
                    };
                    result.map_err(|e| ConnectorError::fatal(e.to_string()))
                })
            })
        };
        Some(ExactlyOnce {
            transactional_id: task_transactional_id(&self.group_id, &id.connector, id.task),
            pre_producer_check: check(false),
            post_producer_check: check(true),
        })
    }

    /// Kafka's `fenceZombieSourceTasks(ConnectorTaskId, …)`: fence here when leader,
    /// else ask the leader.
    async fn fence_for_task(&self, id: &ConnectorTaskId) -> Result<(), RuntimeError> {
        tracing::trace!(
            "Performing preflight zombie check for task {}",
            task_name(id)
        );
        let leader = match self.fence_zombie_source_tasks(&id.connector).await {
            Err(RuntimeError::Forward { url: Some(url), .. }) => url,
            other => return other,
        };
        let session_key = {
            let inner = self.inner.lock().await;
            inner
                .snapshot
                .session_key
                .as_ref()
                .filter(|_| self.sessioned(&inner))
                .map(|k| k.key.clone())
        };
        let url = format!(
            "{}/connectors/{}/fence",
            leader.trim_end_matches('/'),
            id.connector
        );
        tracing::trace!(
            "Forwarding zombie fencing request for connector {} to leader at {url}",
            id.connector
        );
        let mut headers = forward::json_headers();
        if let Some(signature) = session_key.as_deref().and_then(|k| sign(k, b"")) {
            if let (Ok(sig), Ok(alg)) = (signature.parse(), SIGNATURE_ALGORITHM.parse()) {
                headers.insert(forward::SIGNATURE_HEADER, sig);
                headers.insert(forward::SIGNATURE_ALGORITHM_HEADER, alg);
            }
        }
        let response = tokio::time::timeout(
            REQUEST_TIMEOUT,
            forward::send(axum::http::Method::PUT, &url, &headers, Default::default()),
        )
        .await
        .map_err(|_| {
            RuntimeError::Internal(format!(
                "Forwarding zombie fencing request to the leader at {leader} timed out"
            ))
        })?
        .map_err(RuntimeError::Internal)?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        Err(RuntimeError::Internal(format!(
            "Zombie fencing request to the leader at {leader} failed: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        )))
    }

    /// Kafka's `doFenceZombieSourceTasks` with its `ZombieFencing`, on the leader.
    pub(super) async fn fence_zombie_source_tasks(&self, name: &str) -> Result<(), RuntimeError> {
        let _round = self.fencing.lock().await;
        {
            let inner = self.inner.lock().await;
            self.require_leader(&inner, "Only the leader may perform zombie fencing.")?;
        }
        self.configs.refresh(SYNC_TIMEOUT).await.map_err(|_| {
            RuntimeError::Internal(
                "Failed to read to end of config topic before performing zombie fencing".into(),
            )
        })?;
        let snapshot = self.configs.snapshot();
        let config = snapshot
            .connector_configs
            .get(name)
            .ok_or_else(|| RuntimeError::NotFound(format!("Connector {name} not found")))?;
        if kind_of(config) != PluginType::Source {
            return Err(RuntimeError::BadRequest(format!(
                "Connector {name} is not a source connector"
            )));
        }
        if !snapshot.pending_fencing.contains(name) {
            tracing::debug!("Skipping zombie fencing round for connector {name} as all old task generations have already been fenced out");
            return Ok(());
        }
        let task_count = snapshot.task_count(name);
        let generation = snapshot
            .task_config_generations
            .get(name)
            .copied()
            .unwrap_or(-1);
        match snapshot.task_count_records.get(name).copied() {
            Some(record) if record != 1 || task_count != 1 => {
                let ids: Vec<String> = (0..record.max(0) as usize)
                    .map(|task| task_transactional_id(&self.group_id, name, task))
                    .collect();
                tracing::debug!("Fencing out {record} task producers for source connector {name}");
                fencing::fence_producers(
                    &self.worker.config.bootstrap_servers,
                    &self.worker.config.security,
                    &ids,
                    REQUEST_TIMEOUT,
                )
                .await?;
                tracing::debug!("Finished fencing out {record} task producers for source connector {name}");
                self.configs.refresh(SYNC_TIMEOUT).await.map_err(|_| {
                    RuntimeError::Internal("Failed to read to end of config topic".into())
                })?;
                let current = self.configs.snapshot();
                if current
                    .task_config_generations
                    .get(name)
                    .is_some_and(|g| generation < *g)
                {
                    return Err(RuntimeError::Conflict(
                        "Fencing failed because new task configurations were generated for the connector".into(),
                    ));
                }
            }
            Some(_) => tracing::debug!("Skipping zombie fencing round but writing task count record for connector {name} as both the most recent and the current generation of task configs only contain one task"),
            None => tracing::debug!("Skipping zombie fencing round but writing task count record for connector {name} as it is being brought up for the first time with exactly-once source support"),
        }
        {
            let inner = self.inner.lock().await;
            self.require_leader(&inner, "Only the leader may write task count records.")?;
        }
        self.configs
            .put_task_count_record(name, task_count as i32)
            .await
    }

    /// Kafka's `verifyTaskGenerationAndOwnership`: after its producer fenced older ones,
    /// a task starts only if its task configs are still the latest and it is still
    /// assigned here.
    async fn verify_task_generation_and_ownership(
        &self,
        id: &ConnectorTaskId,
        initial_generation: i32,
    ) -> Result<(), RuntimeError> {
        tracing::debug!("Reading to end of config topic to ensure it is still safe to bring up source task {} with exactly-once support", task_name(id));
        self.configs
            .refresh(SYNC_TIMEOUT)
            .await
            .map_err(|_| RuntimeError::Internal("Failed to read to end of config topic".into()))?;
        let current = self
            .configs
            .snapshot()
            .task_config_generations
            .get(&id.connector)
            .copied()
            .unwrap_or(-1);
        if current != initial_generation {
            return Err(RuntimeError::Internal(format!(
                "Cannot start source task {} with exactly-once support as the connector has already generated a new set of task configs",
                task_name(id)
            )));
        }
        if !self.inner.lock().await.assigned_tasks().contains(id) {
            return Err(RuntimeError::Internal(format!(
                "Cannot start source task {} as it has already been revoked from this worker",
                task_name(id)
            )));
        }
        Ok(())
    }
}
