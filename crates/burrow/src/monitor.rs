//! The shared state the HTTP API, the metrics and the notifiers read: storage, the
//! configuration, and the caching evaluator (`expire-cache`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::BurrowConfig;
use crate::evaluator::{evaluate_group, GroupStatus};
use crate::kafka::now_ms;
use crate::storage::Storage;

/// What every reader of the monitor shares.
#[derive(Debug)]
pub struct Monitor {
    pub config: BurrowConfig,
    pub storage: Arc<Storage>,
    expire_cache: Duration,
    cache: Mutex<HashMap<(String, String), (Instant, GroupStatus)>>,
}

impl Monitor {
    pub fn new(config: BurrowConfig) -> Self {
        let storage = Arc::new(Storage::new(
            &config.storage,
            config.clusters.iter().map(|c| c.name.clone()),
        ));
        Self {
            expire_cache: Duration::from_secs(config.evaluator.expire_cache_seconds),
            config,
            storage,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The group's evaluation, from the cache while younger than `expire-cache`; `None`
    /// for a group storage does not know (Burrow's NOTFOUND).
    pub fn group_status(&self, cluster: &str, group: &str) -> Option<GroupStatus> {
        let key = (cluster.to_owned(), group.to_owned());
        if let Some((at, status)) = self.cache.lock().get(&key) {
            if at.elapsed() < self.expire_cache {
                return Some(status.clone());
            }
        }
        let now = now_ms();
        let topics = self.storage.consumer(cluster, group, now)?;
        let status = evaluate_group(cluster, group, &topics, now);
        self.cache
            .lock()
            .insert(key, (Instant::now(), status.clone()));
        Some(status)
    }

    /// Forgets a group in storage and in the cache.
    pub fn delete_group(&self, cluster: &str, group: &str) -> bool {
        self.cache
            .lock()
            .remove(&(cluster.to_owned(), group.to_owned()));
        self.storage.delete_group(cluster, group)
    }
}
