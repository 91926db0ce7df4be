//! The leader's assignors: Kafka's `IncrementalCooperativeAssignor` (protocols
//! "compatible" and "sessioned") and `EagerAssignor` (protocol "default").
//!
//! The incremental assignor never moves running work in one step: it revokes what
//! should move (and what is deleted or duplicated), and hands it out in the follow-up
//! rebalance the revoking workers ask for. Work whose worker vanished is held back for
//! `scheduled.rebalance.max.delay.ms` (the worker may come back), then reassigned;
//! successive revoking rebalances back off exponentially up to the same bound.
//!
//! Member iteration is in member-id order (Kafka iterates a `HashMap`), so the
//! assignment is deterministic; which worker gives up which task can therefore differ
//! from a Kafka leader's choice, never the counts.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexSet;

use super::protocol::{ConnectProtocolCompatibility, ExtendedAssignment, ExtendedWorkerState};
use crate::herder::ConnectorTaskId;

/// What the leader knows of the config topic: its offset and each connector's task count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSnapshot {
    pub offset: i64,
    pub connectors: BTreeMap<String, usize>,
}

impl ConfigSnapshot {
    /// Every configured task, by connector then task id.
    fn all_tasks(&self) -> impl Iterator<Item = ConnectorTaskId> + '_ {
        self.connectors.iter().flat_map(|(connector, count)| {
            (0..*count).map(move |task| ConnectorTaskId {
                connector: connector.clone(),
                task,
            })
        })
    }
}

/// A set of connectors and a set of tasks, in insertion order (Kafka's `ConnectorsAndTasks`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorsAndTasks {
    pub connectors: IndexSet<String>,
    pub tasks: IndexSet<ConnectorTaskId>,
}

impl ConnectorsAndTasks {
    pub fn new(
        connectors: impl IntoIterator<Item = String>,
        tasks: impl IntoIterator<Item = ConnectorTaskId>,
    ) -> Self {
        ConnectorsAndTasks {
            connectors: connectors.into_iter().collect(),
            tasks: tasks.into_iter().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    fn add_all(&mut self, other: &ConnectorsAndTasks) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    fn remove_all(&mut self, other: &ConnectorsAndTasks) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }

    /// `self` minus each of `subtract`, sorted (Kafka's `diff` goes through a `TreeSet`).
    fn diff(&self, subtract: &[&ConnectorsAndTasks]) -> ConnectorsAndTasks {
        let mut connectors: BTreeSet<String> = self.connectors.iter().cloned().collect();
        let mut tasks: BTreeSet<ConnectorTaskId> = self.tasks.iter().cloned().collect();
        for other in subtract {
            connectors.retain(|c| !other.connectors.contains(c));
            tasks.retain(|t| !other.tasks.contains(t));
        }
        ConnectorsAndTasks::new(connectors, tasks)
    }
}

/// One worker's load while an assignment is computed (Kafka's `WorkerLoad`).
#[derive(Debug, Clone)]
struct WorkerLoad {
    worker: String,
    connectors: Vec<String>,
    tasks: Vec<ConnectorTaskId>,
}

impl WorkerLoad {
    fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }
}

/// The outcome of a round, per worker (Kafka's `ClusterAssignment`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterAssignment {
    pub newly_assigned_connectors: BTreeMap<String, Vec<String>>,
    pub newly_assigned_tasks: BTreeMap<String, Vec<ConnectorTaskId>>,
    pub newly_revoked_connectors: BTreeMap<String, Vec<String>>,
    pub newly_revoked_tasks: BTreeMap<String, Vec<ConnectorTaskId>>,
    /// What each worker runs once this round's revocations and assignments are applied.
    pub all_assigned_connectors: BTreeMap<String, Vec<String>>,
    pub all_assigned_tasks: BTreeMap<String, Vec<ConnectorTaskId>>,
}

impl ClusterAssignment {
    pub fn all_workers(&self) -> BTreeSet<String> {
        self.newly_assigned_connectors
            .keys()
            .chain(self.newly_assigned_tasks.keys())
            .chain(self.newly_revoked_connectors.keys())
            .chain(self.newly_revoked_tasks.keys())
            .chain(self.all_assigned_connectors.keys())
            .chain(self.all_assigned_tasks.keys())
            .cloned()
            .collect()
    }
}

/// The generations a round is computed in: the one being formed, and the last one this
/// worker completed (took an assignment in). The leader trusts its memory of the
/// previous assignment only if it computed it for the generation just completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generations {
    pub last_completed: i32,
    pub current: i32,
}

/// Kafka's `IncrementalCooperativeAssignor`, state kept between rounds. Time is passed
/// in (`now_ms`) so tests drive it.
#[derive(Debug)]
pub struct IncrementalCooperativeAssignor {
    /// `scheduled.rebalance.max.delay.ms`.
    max_delay_ms: i32,
    previous_assignment: ConnectorsAndTasks,
    previous_revocation: ConnectorsAndTasks,
    revoked_in_previous: bool,
    candidate_workers_for_reassignment: IndexSet<String>,
    scheduled_rebalance_ms: i64,
    delay_ms: i32,
    previous_generation_id: i32,
    previous_members: BTreeSet<String>,
    num_successive_revoking_rebalances: u32,
}

impl IncrementalCooperativeAssignor {
    pub fn new(max_delay_ms: i32) -> Self {
        IncrementalCooperativeAssignor {
            max_delay_ms,
            previous_assignment: ConnectorsAndTasks::default(),
            previous_revocation: ConnectorsAndTasks::default(),
            revoked_in_previous: false,
            candidate_workers_for_reassignment: IndexSet::new(),
            scheduled_rebalance_ms: 0,
            delay_ms: 0,
            previous_generation_id: -1,
            previous_members: BTreeSet::new(),
            num_successive_revoking_rebalances: 0,
        }
    }

    /// The delay the last round put in its assignments, in ms.
    pub fn delay_ms(&self) -> i32 {
        self.delay_ms
    }

    /// One round as the leader runs it (Kafka's `performAssignment`): every member's
    /// assignment, `CONFIG_MISMATCH` for all when the leader's snapshot (`None`: could
    /// not read the config topic) is behind the newest offset a member reported.
    pub fn perform_assignment(
        &mut self,
        leader_id: &str,
        protocol: ConnectProtocolCompatibility,
        members: &BTreeMap<String, ExtendedWorkerState>,
        snapshot: Option<&ConfigSnapshot>,
        generations: Generations,
        now_ms: i64,
    ) -> BTreeMap<String, ExtendedAssignment> {
        let leader_url = leader_url(leader_id, members);
        let version = protocol.protocol_version();
        let (snapshot, offset) = match leader_config(members, snapshot) {
            Ok(found) => found,
            Err(max_offset) => {
                return config_mismatch(members, leader_id, &leader_url, max_offset, version)
            }
        };
        let member_assignments: BTreeMap<String, ConnectorsAndTasks> = members
            .iter()
            .map(|(member, state)| {
                let running = state
                    .allocation
                    .as_ref()
                    .map_or_else(Default::default, |a| {
                        ConnectorsAndTasks::new(
                            a.connectors.iter().cloned(),
                            a.tasks.iter().cloned(),
                        )
                    });
                (member.clone(), running)
            })
            .collect();
        let cluster =
            self.perform_task_assignment(snapshot, generations, &member_assignments, now_ms);
        members
            .keys()
            .map(|member| {
                let assignment = ExtendedAssignment {
                    connectors: cluster
                        .newly_assigned_connectors
                        .get(member)
                        .cloned()
                        .unwrap_or_default(),
                    tasks: cluster
                        .newly_assigned_tasks
                        .get(member)
                        .cloned()
                        .unwrap_or_default(),
                    revoked_connectors: cluster
                        .newly_revoked_connectors
                        .get(member)
                        .cloned()
                        .unwrap_or_default(),
                    revoked_tasks: cluster
                        .newly_revoked_tasks
                        .get(member)
                        .cloned()
                        .unwrap_or_default(),
                    delay_ms: self.delay_ms,
                    ..ExtendedAssignment::empty(version, leader_id, &leader_url, offset)
                };
                (member.clone(), assignment)
            })
            .collect()
    }

    /// The core of a round over what each member runs now (Kafka's package-private
    /// `performTaskAssignment`, which its tests drive).
    pub fn perform_task_assignment(
        &mut self,
        snapshot: &ConfigSnapshot,
        generations: Generations,
        member_assignments: &BTreeMap<String, ConnectorsAndTasks>,
        now_ms: i64,
    ) -> ClusterAssignment {
        // A leader that failed to sync its previous round (or was not the leader) cannot
        // trust its memory of what was assigned.
        if self.previous_generation_id != generations.last_completed {
            tracing::debug!(
                previous_generation = self.previous_generation_id,
                last_completed = generations.last_completed,
                "clearing the view of previous assignments after a generation mismatch"
            );
            self.previous_assignment = ConnectorsAndTasks::default();
        }
        let configured =
            ConnectorsAndTasks::new(snapshot.connectors.keys().cloned(), snapshot.all_tasks());
        let mut active = ConnectorsAndTasks::default();
        for running in member_assignments.values() {
            active.add_all(running);
        }
        // A revocation of the previous round that did not take effect: start over from
        // what actually runs.
        if !self.previous_revocation.is_empty() {
            let still_running = self
                .previous_revocation
                .connectors
                .iter()
                .any(|c| active.connectors.contains(c))
                || self
                    .previous_revocation
                    .tasks
                    .iter()
                    .any(|t| active.tasks.contains(t));
            if still_running {
                self.previous_assignment = active.clone();
            }
            self.previous_revocation = ConnectorsAndTasks::default();
        }

        let deleted = self.previous_assignment.diff(&[&configured]);
        let duplicated = duplicated_assignments(member_assignments);
        let lost = self.previous_assignment.diff(&[&active, &deleted]);
        let created = configured.diff(&[&self.previous_assignment, &active]);
        tracing::debug!(?deleted, ?lost, ?created, "assignment round");

        let current_worker_assignment = worker_loads(member_assignments, &deleted);
        let mut to_revoke: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
        let deleted_to_revoke = intersection(&deleted, member_assignments);
        add_all(&mut to_revoke, &deleted_to_revoke);
        // Work running on more than one worker is stopped everywhere, then reassigned.
        let duplicated_to_revoke = intersection(&duplicated, member_assignments);
        add_all(&mut to_revoke, &duplicated_to_revoke);

        let mut next_worker_assignment =
            worker_loads(member_assignments, &ConnectorsAndTasks::default());
        remove_all(&mut next_worker_assignment, &deleted_to_revoke);
        remove_all(&mut next_worker_assignment, &duplicated_to_revoke);

        let mut lost_to_reassign = ConnectorsAndTasks::default();
        self.handle_lost_assignments(
            &lost,
            &mut lost_to_reassign,
            &mut next_worker_assignment,
            now_ms,
        );

        // No load-balancing revocations while a delayed rebalance is pending.
        if self.delay_ms == 0 {
            let balancing = load_balancing_revocations(&configured, &next_worker_assignment);
            if self.revoked_in_previous && !balancing.is_empty() {
                self.num_successive_revoking_rebalances += 1;
                self.delay_ms = self.revoking_backoff_ms(self.num_successive_revoking_rebalances);
                if self.delay_ms != 0 {
                    self.scheduled_rebalance_ms = now_ms + i64::from(self.delay_ms);
                    tracing::debug!(
                        delay_ms = self.delay_ms,
                        "successive revoking rebalances: revocations held back"
                    );
                } else {
                    add_all(&mut to_revoke, &balancing);
                    remove_all(&mut next_worker_assignment, &balancing);
                }
            } else if !balancing.is_empty() {
                add_all(&mut to_revoke, &balancing);
                remove_all(&mut next_worker_assignment, &balancing);
                self.revoked_in_previous = true;
            } else if self.revoked_in_previous {
                // Balanced again: reset the backoff of successive revocations.
                self.revoked_in_previous = false;
                self.num_successive_revoking_rebalances = 0;
            }
        } else {
            self.revoked_in_previous = false;
        }

        let mut to_assign = created;
        to_assign.add_all(&lost_to_reassign);
        assign_connectors(&mut next_worker_assignment, &to_assign.connectors);
        assign_tasks(&mut next_worker_assignment, &to_assign.tasks);

        let next_connectors: BTreeMap<String, Vec<String>> = next_worker_assignment
            .iter()
            .map(|w| (w.worker.clone(), w.connectors.clone()))
            .collect();
        let next_tasks: BTreeMap<String, Vec<ConnectorTaskId>> = next_worker_assignment
            .iter()
            .map(|w| (w.worker.clone(), w.tasks.clone()))
            .collect();
        let current_connectors: BTreeMap<String, Vec<String>> = current_worker_assignment
            .iter()
            .map(|w| (w.worker.clone(), w.connectors.clone()))
            .collect();
        let current_tasks: BTreeMap<String, Vec<ConnectorTaskId>> = current_worker_assignment
            .iter()
            .map(|w| (w.worker.clone(), w.tasks.clone()))
            .collect();

        self.previous_assignment =
            self.compute_previous_assignment(&to_revoke, &next_connectors, &next_tasks, &lost);
        self.previous_generation_id = generations.current;
        self.previous_members = member_assignments.keys().cloned().collect();

        let revoked_connectors: BTreeMap<String, Vec<String>> = to_revoke
            .iter()
            .map(|(w, r)| (w.clone(), r.connectors.iter().cloned().collect()))
            .collect();
        let revoked_tasks: BTreeMap<String, Vec<ConnectorTaskId>> = to_revoke
            .iter()
            .map(|(w, r)| (w.clone(), r.tasks.iter().cloned().collect()))
            .collect();
        ClusterAssignment {
            newly_assigned_connectors: diff_per_worker(&next_connectors, &current_connectors),
            newly_assigned_tasks: diff_per_worker(&next_tasks, &current_tasks),
            all_assigned_connectors: diff_per_worker(&next_connectors, &revoked_connectors),
            all_assigned_tasks: diff_per_worker(&next_tasks, &revoked_tasks),
            newly_revoked_connectors: revoked_connectors,
            newly_revoked_tasks: revoked_tasks,
        }
    }

    /// Kafka's `ExponentialBackoff(1, 40, maxDelay, 0)`: 40, 1600, 64000, … ms, capped.
    fn revoking_backoff_ms(&self, attempts: u32) -> i32 {
        if self.max_delay_ms == 0 {
            return 0;
        }
        let (initial, multiplier, max) = (1.0f64, 40.0f64, f64::from(self.max_delay_ms));
        let exp_max = if max > initial {
            (max / initial).ln() / multiplier.ln()
        } else {
            0.0
        };
        if exp_max == 0.0 {
            return initial as i32;
        }
        let term = initial * multiplier.powf(f64::from(attempts).min(exp_max));
        (term as i64).min(i64::from(self.max_delay_ms)) as i32
    }

    fn compute_previous_assignment(
        &mut self,
        revoked: &BTreeMap<String, ConnectorsAndTasks>,
        connectors: &BTreeMap<String, Vec<String>>,
        tasks: &BTreeMap<String, Vec<ConnectorTaskId>>,
        lost: &ConnectorsAndTasks,
    ) -> ConnectorsAndTasks {
        let mut previous = ConnectorsAndTasks::new(
            connectors.values().flatten().cloned(),
            tasks.values().flatten().cloned(),
        );
        for revoked in revoked.values() {
            previous.remove_all(revoked);
            self.previous_revocation.add_all(revoked);
        }
        previous.add_all(lost);
        previous
    }

    /// Work of workers that left: reassigned at once when no worker seems to have left
    /// (a member missed its assignment) or delays are off; else held back until the
    /// scheduled rebalance, then given to the workers that joined empty meanwhile (the
    /// returning worker, likely) or spread as new work.
    fn handle_lost_assignments(
        &mut self,
        lost: &ConnectorsAndTasks,
        lost_to_reassign: &mut ConnectorsAndTasks,
        complete_worker_assignment: &mut [WorkerLoad],
        now_ms: i64,
    ) {
        if lost.is_empty() && !self.revoked_in_previous {
            self.reset_delay();
            return;
        }
        let active_members: BTreeSet<&str> = complete_worker_assignment
            .iter()
            .map(|w| w.worker.as_str())
            .collect();
        if self.scheduled_rebalance_ms <= 0
            && self
                .previous_members
                .iter()
                .all(|m| active_members.contains(m.as_str()))
        {
            tracing::debug!("no worker left: reassigning missing work as new work");
            lost_to_reassign.add_all(lost);
            return;
        } else if self.max_delay_ms == 0 {
            lost_to_reassign.add_all(lost);
            return;
        }

        if self.scheduled_rebalance_ms > 0 && now_ms >= self.scheduled_rebalance_ms {
            let candidates: Vec<usize> = self
                .candidate_workers_for_reassignment
                .iter()
                .filter_map(|c| {
                    complete_worker_assignment
                        .iter()
                        .position(|w| &w.worker == c)
                })
                .collect();
            if candidates.is_empty() {
                lost_to_reassign.add_all(lost);
            } else {
                for (i, connector) in lost.connectors.iter().enumerate() {
                    complete_worker_assignment[candidates[i % candidates.len()]]
                        .connectors
                        .push(connector.clone());
                }
                for (i, task) in lost.tasks.iter().enumerate() {
                    complete_worker_assignment[candidates[i % candidates.len()]]
                        .tasks
                        .push(task.clone());
                }
            }
            self.reset_delay();
            // The full delay went by: successive revoking rebalances are allowed again.
            self.revoked_in_previous = false;
        } else {
            self.candidate_workers_for_reassignment.extend(
                complete_worker_assignment
                    .iter()
                    .filter(|w| w.is_empty())
                    .map(|w| w.worker.clone()),
            );
            self.delay_ms = if now_ms < self.scheduled_rebalance_ms {
                (self.scheduled_rebalance_ms - now_ms).min(i64::from(self.max_delay_ms)) as i32
            } else {
                self.max_delay_ms
            };
            self.scheduled_rebalance_ms = now_ms + i64::from(self.delay_ms);
        }
    }

    fn reset_delay(&mut self) {
        self.candidate_workers_for_reassignment.clear();
        self.scheduled_rebalance_ms = 0;
        self.delay_ms = 0;
    }
}

fn leader_url(leader_id: &str, members: &BTreeMap<String, ExtendedWorkerState>) -> String {
    members
        .get(leader_id)
        .map(|m| m.url.clone())
        .unwrap_or_default()
}

/// The snapshot to assign from and its offset, or (`Err`) the newest offset a member
/// reported when the leader's snapshot is behind it (Kafka's `ensureLeaderConfig`, with
/// the snapshot already read fresh).
fn leader_config<'a>(
    members: &BTreeMap<String, ExtendedWorkerState>,
    snapshot: Option<&'a ConfigSnapshot>,
) -> Result<(&'a ConfigSnapshot, i64), i64> {
    let max_offset = members
        .values()
        .map(|m| m.config_offset)
        .max()
        .unwrap_or(-1);
    match snapshot {
        Some(snapshot) if snapshot.offset >= max_offset => Ok((snapshot, snapshot.offset)),
        _ => {
            tracing::info!(
                max_offset,
                "selected to perform assignments without the latest config: asking every member to re-sync"
            );
            Err(max_offset)
        }
    }
}

fn config_mismatch(
    members: &BTreeMap<String, ExtendedWorkerState>,
    leader_id: &str,
    leader_url: &str,
    max_offset: i64,
    version: i16,
) -> BTreeMap<String, ExtendedAssignment> {
    members
        .keys()
        .map(|member| {
            let assignment = ExtendedAssignment {
                error: ExtendedAssignment::CONFIG_MISMATCH,
                ..ExtendedAssignment::empty(version, leader_id, leader_url, max_offset)
            };
            (member.clone(), assignment)
        })
        .collect()
}

fn duplicated_assignments(members: &BTreeMap<String, ConnectorsAndTasks>) -> ConnectorsAndTasks {
    let mut connectors: BTreeMap<&String, usize> = BTreeMap::new();
    let mut tasks: BTreeMap<&ConnectorTaskId, usize> = BTreeMap::new();
    for running in members.values() {
        for c in &running.connectors {
            *connectors.entry(c).or_default() += 1;
        }
        for t in &running.tasks {
            *tasks.entry(t).or_default() += 1;
        }
    }
    ConnectorsAndTasks::new(
        connectors
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(c, _)| c.clone()),
        tasks
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(t, _)| t.clone()),
    )
}

/// Per member, what of `of` it runs.
fn intersection(
    of: &ConnectorsAndTasks,
    members: &BTreeMap<String, ConnectorsAndTasks>,
) -> BTreeMap<String, ConnectorsAndTasks> {
    members
        .iter()
        .map(|(member, running)| {
            let common = ConnectorsAndTasks::new(
                running
                    .connectors
                    .iter()
                    .filter(|c| of.connectors.contains(*c))
                    .cloned(),
                running
                    .tasks
                    .iter()
                    .filter(|t| of.tasks.contains(*t))
                    .cloned(),
            );
            (member.clone(), common)
        })
        .collect()
}

fn add_all(
    base: &mut BTreeMap<String, ConnectorsAndTasks>,
    to_add: &BTreeMap<String, ConnectorsAndTasks>,
) {
    for (worker, assignment) in to_add {
        base.entry(worker.clone()).or_default().add_all(assignment);
    }
}

fn remove_all(loads: &mut [WorkerLoad], to_remove: &BTreeMap<String, ConnectorsAndTasks>) {
    for load in loads {
        if let Some(removed) = to_remove.get(&load.worker) {
            load.connectors.retain(|c| !removed.connectors.contains(c));
            load.tasks.retain(|t| !removed.tasks.contains(t));
        }
    }
}

fn worker_loads(
    members: &BTreeMap<String, ConnectorsAndTasks>,
    exclude: &ConnectorsAndTasks,
) -> Vec<WorkerLoad> {
    members
        .iter()
        .map(|(worker, running)| WorkerLoad {
            worker: worker.clone(),
            connectors: running
                .connectors
                .iter()
                .filter(|c| !exclude.connectors.contains(*c))
                .cloned()
                .collect(),
            tasks: running
                .tasks
                .iter()
                .filter(|t| !exclude.tasks.contains(*t))
                .cloned()
                .collect(),
        })
        .collect()
}

/// Per worker of `base`, its values not in `subtract`'s entry for it.
fn diff_per_worker<T: PartialEq + Clone>(
    base: &BTreeMap<String, Vec<T>>,
    subtract: &BTreeMap<String, Vec<T>>,
) -> BTreeMap<String, Vec<T>> {
    base.iter()
        .map(|(worker, values)| {
            let removed = subtract.get(worker);
            let kept = values
                .iter()
                .filter(|v| removed.is_none_or(|r| !r.contains(v)))
                .cloned()
                .collect();
            (worker.clone(), kept)
        })
        .collect()
}

/// What to take from each worker so that, with what is still to be assigned, every
/// worker ends with the minimum or one more (connectors and tasks counted apart).
fn load_balancing_revocations(
    configured: &ConnectorsAndTasks,
    workers: &[WorkerLoad],
) -> BTreeMap<String, ConnectorsAndTasks> {
    if workers.iter().all(WorkerLoad::is_empty) || configured.is_empty() {
        return BTreeMap::new();
    }
    let mut result: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
    for (worker, revoked) in revocations_of(configured.connectors.len(), workers, |w| &w.connectors)
    {
        result.entry(worker).or_default().connectors.extend(revoked);
    }
    for (worker, revoked) in revocations_of(configured.tasks.len(), workers, |w| &w.tasks) {
        result.entry(worker).or_default().tasks.extend(revoked);
    }
    result
}

fn revocations_of<E: Clone>(
    total_to_allocate: usize,
    workers: &[WorkerLoad],
    allocation: impl Fn(&WorkerLoad) -> &Vec<E>,
) -> BTreeMap<String, Vec<E>> {
    let total_workers = workers.len();
    let min_per_worker = total_to_allocate / total_workers;
    let workers_with_extra = total_to_allocate % total_workers;
    let at_minimum = workers
        .iter()
        .filter(|w| allocation(w).len() == min_per_worker)
        .count();
    let at_one_extra = workers
        .iter()
        .filter(|w| allocation(w).len() == min_per_worker + 1)
        .count();
    if at_one_extra == workers_with_extra && at_minimum + at_one_extra == total_workers {
        return BTreeMap::new();
    }
    let mut result = BTreeMap::new();
    let mut extras_allocated = 0;
    for worker in workers {
        let current = allocation(worker).len();
        if current <= min_per_worker {
            continue;
        }
        let max_for_worker = if extras_allocated < workers_with_extra {
            extras_allocated += 1;
            if current == min_per_worker + 1 {
                continue;
            }
            min_per_worker + 1
        } else {
            min_per_worker
        };
        let revoked: Vec<E> = allocation(worker)
            .iter()
            .take(current - max_for_worker)
            .cloned()
            .collect();
        result.insert(worker.worker.clone(), revoked);
    }
    result
}

/// Fills the least-loaded workers first, levelling them up together (Kafka's
/// `assignConnectors`/`assignTasks`).
fn assign_level<E: Clone>(
    workers: &mut [WorkerLoad],
    items: &IndexSet<E>,
    size: impl Fn(&WorkerLoad) -> usize,
    push: impl Fn(&mut WorkerLoad, E),
) {
    if workers.is_empty() {
        return;
    }
    workers.sort_by(|a, b| size(a).cmp(&size(b)).then_with(|| a.worker.cmp(&b.worker)));
    let mut items = items.iter().peekable();
    while items.peek().is_some() {
        let first_load = size(&workers[0]);
        let up_to = workers
            .iter()
            .position(|w| size(w) > first_load)
            .unwrap_or(workers.len());
        for worker in &mut workers[..up_to] {
            let Some(item) = items.next() else { break };
            push(worker, item.clone());
        }
    }
}

fn assign_connectors(workers: &mut [WorkerLoad], connectors: &IndexSet<String>) {
    assign_level(
        workers,
        connectors,
        |w| w.connectors.len(),
        |w, c| w.connectors.push(c),
    );
}

fn assign_tasks(workers: &mut [WorkerLoad], tasks: &IndexSet<ConnectorTaskId>) {
    assign_level(workers, tasks, |w| w.tasks.len(), |w, t| w.tasks.push(t));
}

/// Kafka's `EagerAssignor` (protocol "default"): every rebalance starts from nothing;
/// connectors round-robin over the members in id order, then tasks continuing the same
/// rotation.
pub fn eager_assignment(
    leader_id: &str,
    members: &BTreeMap<String, ExtendedWorkerState>,
    snapshot: Option<&ConfigSnapshot>,
) -> BTreeMap<String, ExtendedAssignment> {
    let leader_url = leader_url(leader_id, members);
    let version = ConnectProtocolCompatibility::Eager.protocol_version();
    let (snapshot, offset) = match leader_config(members, snapshot) {
        Ok(found) => found,
        Err(max_offset) => {
            return config_mismatch(members, leader_id, &leader_url, max_offset, version)
        }
    };
    let mut assignments: BTreeMap<String, ExtendedAssignment> = members
        .keys()
        .map(|m| {
            let empty = ExtendedAssignment::empty(version, leader_id, &leader_url, offset);
            (m.clone(), empty)
        })
        .collect();
    let order: Vec<String> = members.keys().cloned().collect();
    if order.is_empty() {
        return assignments;
    }
    let mut next = order.iter().cycle();
    for connector in snapshot.connectors.keys() {
        let member = next.next().expect("cycle over members");
        if let Some(a) = assignments.get_mut(member) {
            a.connectors.push(connector.clone());
        }
    }
    for task in snapshot.all_tasks() {
        let member = next.next().expect("cycle over members");
        if let Some(a) = assignments.get_mut(member) {
            a.tasks.push(task);
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    //! Ports of Kafka's `IncrementalCooperativeAssignorTest`: the same scenarios with the
    //! same expected per-worker counts and delays.

    use super::*;

    const DEFAULT_MAX_DELAY_MS: i32 = 300_000;

    struct Cluster {
        connectors: BTreeMap<String, usize>,
        members: BTreeMap<String, ConnectorsAndTasks>,
        assignor: IncrementalCooperativeAssignor,
        generation: i32,
        now_ms: i64,
        returned: ClusterAssignment,
    }

    impl Cluster {
        /// Kafka's setup: connector1 and connector2 of 4 tasks each, worker1 empty.
        fn new(max_delay_ms: i32) -> Cluster {
            let mut cluster = Cluster {
                connectors: BTreeMap::new(),
                members: BTreeMap::new(),
                assignor: IncrementalCooperativeAssignor::new(max_delay_ms),
                generation: 1000,
                now_ms: 1_700_000_000_000,
                returned: ClusterAssignment::default(),
            };
            cluster.assignor.previous_generation_id = cluster.generation;
            cluster.add_connector("connector1", 4);
            cluster.add_connector("connector2", 4);
            cluster.add_empty_workers(&["worker1"]);
            cluster
        }

        /// A new leader: an assignor with no memory.
        fn new_leader(&mut self, max_delay_ms: i32) {
            self.assignor = IncrementalCooperativeAssignor::new(max_delay_ms);
            self.assignor.previous_generation_id = self.generation;
        }

        fn add_connector(&mut self, name: &str, tasks: usize) {
            assert!(self.connectors.insert(name.into(), tasks).is_none());
        }

        fn remove_connector(&mut self, name: &str) {
            assert!(self.connectors.remove(name).is_some());
        }

        fn add_empty_workers(&mut self, workers: &[&str]) {
            for worker in workers {
                self.add_worker(worker, ConnectorsAndTasks::default());
            }
        }

        fn add_worker(&mut self, worker: &str, running: ConnectorsAndTasks) {
            assert!(self.members.insert(worker.to_string(), running).is_none());
        }

        fn remove_workers(&mut self, workers: &[&str]) {
            for worker in workers {
                assert!(self.members.remove(*worker).is_some());
            }
        }

        fn sleep(&mut self, ms: i32) {
            self.now_ms += i64::from(ms);
        }

        fn rebalance(&mut self) {
            self.perform(false, false);
        }

        fn failed_rebalance(&mut self) {
            self.perform(true, false);
        }

        fn rebalance_with_mismatched_generation(&mut self) {
            self.perform(false, true);
        }

        fn perform(&mut self, assignment_fails: bool, generation_mismatch: bool) {
            self.generation += 1;
            let last_completed = if generation_mismatch {
                self.generation - 2
            } else {
                self.generation - 1
            };
            let snapshot = ConfigSnapshot {
                offset: 618,
                connectors: self.connectors.clone(),
            };
            self.returned = self.assignor.perform_task_assignment(
                &snapshot,
                Generations {
                    last_completed,
                    current: self.generation,
                },
                &self.members,
                self.now_ms,
            );
            self.assert_no_redundant_assignments();
            if !assignment_fails {
                self.apply();
            }
        }

        fn apply(&mut self) {
            for worker in self.returned.all_workers() {
                let running = self.members.entry(worker.clone()).or_default();
                let get =
                    |m: &BTreeMap<String, Vec<String>>| m.get(&worker).cloned().unwrap_or_default();
                let get_tasks = |m: &BTreeMap<String, Vec<ConnectorTaskId>>| {
                    m.get(&worker).cloned().unwrap_or_default()
                };
                running.remove_all(&ConnectorsAndTasks::new(
                    get(&self.returned.newly_revoked_connectors),
                    get_tasks(&self.returned.newly_revoked_tasks),
                ));
                running.add_all(&ConnectorsAndTasks::new(
                    get(&self.returned.newly_assigned_connectors),
                    get_tasks(&self.returned.newly_assigned_tasks),
                ));
                let expected_connectors: BTreeSet<String> =
                    get(&self.returned.all_assigned_connectors)
                        .into_iter()
                        .collect();
                let expected_tasks: BTreeSet<ConnectorTaskId> =
                    get_tasks(&self.returned.all_assigned_tasks)
                        .into_iter()
                        .collect();
                assert_eq!(
                    running.connectors.iter().cloned().collect::<BTreeSet<_>>(),
                    expected_connectors,
                    "complete connector assignment of {worker}"
                );
                assert_eq!(
                    running.tasks.iter().cloned().collect::<BTreeSet<_>>(),
                    expected_tasks,
                    "complete task assignment of {worker}"
                );
            }
        }

        fn assert_no_redundant_assignments(&self) {
            let new_connectors: Vec<&String> = self
                .returned
                .newly_assigned_connectors
                .values()
                .flatten()
                .collect();
            let new_tasks: Vec<&ConnectorTaskId> = self
                .returned
                .newly_assigned_tasks
                .values()
                .flatten()
                .collect();
            let unique: BTreeSet<_> = new_connectors.iter().collect();
            assert_eq!(
                unique.len(),
                new_connectors.len(),
                "duplicate new connectors"
            );
            let unique: BTreeSet<_> = new_tasks.iter().collect();
            assert_eq!(unique.len(), new_tasks.len(), "duplicate new tasks");
            for running in self.members.values() {
                for c in &new_connectors {
                    assert!(
                        !running.connectors.contains(*c),
                        "{c} assigned while running"
                    );
                }
                for t in &new_tasks {
                    assert!(!running.tasks.contains(*t), "{t:?} assigned while running");
                }
            }
        }

        fn assert_delay(&self, expected: i32) {
            assert_eq!(self.assignor.delay_ms, expected, "rebalance delay");
        }

        fn assert_workers(&self, workers: &[&str]) {
            let expected: BTreeSet<String> = workers.iter().map(|w| w.to_string()).collect();
            assert_eq!(self.returned.all_workers(), expected);
        }

        fn counts(&self, of: impl Fn(&ConnectorsAndTasks) -> usize) -> Vec<usize> {
            let mut counts: Vec<usize> = self.members.values().map(of).collect();
            counts.sort();
            counts
        }

        /// These counts, balanced, and every connector and task running exactly once.
        fn assert_balanced(&self, connectors: &[usize], tasks: &[usize]) {
            self.assert_allocations(connectors, tasks);
            self.assert_balanced_and_complete();
        }

        /// One more rebalance changes nothing.
        fn assert_stable(&mut self) {
            self.rebalance();
            self.assert_delay(0);
            self.assert_empty_assignment();
        }

        /// The sorted per-worker counts of connectors and of tasks.
        fn assert_allocations(&self, connectors: &[usize], tasks: &[usize]) {
            self.assert_connector_allocations(connectors);
            self.assert_task_allocations(tasks);
        }

        fn assert_connector_allocations(&self, expected: &[usize]) {
            let mut expected = expected.to_vec();
            expected.sort();
            assert_eq!(
                self.counts(|m| m.connectors.len()),
                expected,
                "connector counts"
            );
        }

        fn assert_task_allocations(&self, expected: &[usize]) {
            let mut expected = expected.to_vec();
            expected.sort();
            assert_eq!(self.counts(|m| m.tasks.len()), expected, "task counts");
        }

        fn assert_no_revocations(&self) {
            assert!(
                self.returned
                    .newly_revoked_connectors
                    .values()
                    .all(Vec::is_empty)
                    && self
                        .returned
                        .newly_revoked_tasks
                        .values()
                        .all(Vec::is_empty),
                "unexpected revocations: {:?}",
                self.returned
            );
        }

        fn assert_empty_assignment(&self) {
            self.assert_no_revocations();
            assert!(
                self.returned
                    .newly_assigned_connectors
                    .values()
                    .all(Vec::is_empty)
                    && self
                        .returned
                        .newly_assigned_tasks
                        .values()
                        .all(Vec::is_empty),
                "unexpected assignments: {:?}",
                self.returned
            );
        }

        fn assert_balanced_and_complete(&self) {
            for counts in [
                self.counts(|m| m.connectors.len()),
                self.counts(|m| m.tasks.len()),
            ] {
                assert!(
                    counts[counts.len() - 1] - counts[0] <= 1,
                    "imbalanced: {counts:?}"
                );
            }
            let connectors: BTreeSet<String> = self
                .members
                .values()
                .flat_map(|m| m.connectors.iter().cloned())
                .collect();
            assert_eq!(connectors, self.connectors.keys().cloned().collect());
            let tasks: Vec<ConnectorTaskId> = self
                .members
                .values()
                .flat_map(|m| m.tasks.iter().cloned())
                .collect();
            let expected: BTreeSet<ConnectorTaskId> = ConfigSnapshot {
                offset: 0,
                connectors: self.connectors.clone(),
            }
            .all_tasks()
            .collect();
            assert_eq!(tasks.len(), expected.len(), "every task exactly once");
            assert_eq!(tasks.into_iter().collect::<BTreeSet<_>>(), expected);
        }
    }

    fn task(connector: &str, task: usize) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: connector.into(),
            task,
        }
    }

    #[test]
    fn worker_joins_balanced_by_revocation_then_reassignment() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.rebalance();
        c.assert_delay(0);
        c.assert_workers(&["worker1"]);
        c.assert_balanced(&[2], &[8]);

        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.assert_delay(0);
        c.assert_workers(&["worker1", "worker2"]);
        c.assert_allocations(&[0, 1], &[0, 4]);

        c.rebalance();
        c.assert_no_revocations();
        c.assert_delay(0);
        c.assert_balanced(&[1, 1], &[4, 4]);

        c.assert_stable();
    }

    #[test]
    fn successive_revoking_rebalances_back_off() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_connector("connector3", 4);
        c.rebalance();
        c.assert_balanced(&[3], &[12]);

        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.assert_allocations(&[0, 2], &[0, 6]);

        // A successive revoking rebalance: no revocations, a delay instead.
        c.add_empty_workers(&["worker3"]);
        c.rebalance();
        assert!(c.assignor.delay_ms > 0);
        c.assert_workers(&["worker1", "worker2", "worker3"]);
        c.assert_allocations(&[0, 1, 2], &[3, 3, 6]);

        let delay = c.assignor.delay_ms;
        c.sleep(delay);
        c.add_empty_workers(&["worker4"]);
        c.rebalance();
        c.assert_allocations(&[0, 0, 1, 1], &[0, 3, 3, 3]);

        c.add_empty_workers(&["worker5"]);
        c.rebalance();
        assert!(
            c.assignor.delay_ms > 40,
            "backoff grows: {}",
            c.assignor.delay_ms
        );
        c.assert_allocations(&[0, 0, 1, 1, 1], &[1, 2, 3, 3, 3]);

        let delay = c.assignor.delay_ms;
        c.sleep(delay);
        c.add_empty_workers(&["worker6"]);
        c.rebalance();
        c.assert_delay(0);
        c.assert_allocations(&[0, 0, 0, 1, 1, 1], &[0, 1, 2, 2, 2, 2]);

        c.rebalance();
        c.assert_balanced(&[0, 0, 0, 1, 1, 1], &[2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn revocations_are_immediate_when_max_delay_is_zero() {
        let mut c = Cluster::new(0);
        c.add_connector("connector3", 4);
        c.rebalance();
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.assert_allocations(&[0, 2], &[0, 6]);

        c.add_empty_workers(&["worker3"]);
        c.rebalance();
        c.assert_delay(0);
        c.assert_allocations(&[0, 1, 1], &[3, 3, 4]);

        c.rebalance();
        c.assert_no_revocations();
        c.assert_balanced(&[1, 1, 1], &[4, 4, 4]);
    }

    #[test]
    fn max_delay_equal_to_the_initial_backoff_delays_by_it() {
        let mut c = Cluster::new(1);
        c.add_connector("connector3", 4);
        c.rebalance();
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.add_empty_workers(&["worker3"]);
        c.rebalance();
        c.assert_delay(1);
        c.assert_allocations(&[0, 1, 2], &[3, 3, 6]);
    }

    #[test]
    fn worker_joining_during_a_delayed_rebalance_waits_for_it() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_connector("connector3", 4);
        c.rebalance();
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.add_empty_workers(&["worker3"]);
        c.rebalance();
        assert!(c.assignor.delay_ms > 0);
        c.assert_no_revocations();
        c.assert_allocations(&[0, 1, 2], &[3, 3, 6]);

        let half = c.assignor.delay_ms / 2;
        c.sleep(half);
        c.add_empty_workers(&["worker4"]);
        c.rebalance();
        assert!(c.assignor.delay_ms > 0);
        c.assert_no_revocations();
        c.assert_allocations(&[0, 0, 1, 2], &[0, 3, 3, 6]);

        let delay = c.assignor.delay_ms;
        c.sleep(delay);
        c.add_empty_workers(&["worker5"]);
        c.rebalance();
        c.assert_delay(0);
        c.assert_allocations(&[0, 0, 0, 1, 1], &[0, 0, 2, 3, 3]);

        c.rebalance();
        c.assert_delay(0);
        c.assert_no_revocations();
        c.assert_balanced(&[0, 0, 1, 1, 1], &[2, 2, 2, 3, 3]);
    }

    #[test]
    fn lost_worker_work_is_held_back_for_the_delay_then_reassigned() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.assert_balanced(&[1, 1], &[4, 4]);

        c.remove_workers(&["worker2"]);
        c.rebalance();
        c.assert_delay(DEFAULT_MAX_DELAY_MS);
        c.assert_workers(&["worker1"]);
        c.assert_empty_assignment();

        c.sleep(DEFAULT_MAX_DELAY_MS / 2);
        c.rebalance();
        c.assert_delay(DEFAULT_MAX_DELAY_MS / 2);
        c.assert_empty_assignment();

        c.sleep(DEFAULT_MAX_DELAY_MS / 2 + 1);
        c.rebalance();
        c.assert_delay(0);
        c.assert_balanced(&[2], &[8]);
    }

    #[test]
    fn worker_returning_within_the_delay_gets_its_work_back() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.remove_workers(&["worker2"]);
        c.rebalance();
        c.assert_delay(DEFAULT_MAX_DELAY_MS);
        c.sleep(DEFAULT_MAX_DELAY_MS / 2);
        c.rebalance();
        c.assert_delay(DEFAULT_MAX_DELAY_MS / 2);
        c.assert_empty_assignment();

        c.sleep(DEFAULT_MAX_DELAY_MS / 4);
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.assert_delay(DEFAULT_MAX_DELAY_MS / 4);
        c.assert_workers(&["worker1", "worker2"]);
        c.assert_empty_assignment();

        c.sleep(DEFAULT_MAX_DELAY_MS / 4);
        c.rebalance();
        c.assert_delay(0);
        c.assert_no_revocations();
        c.assert_balanced(&[1, 1], &[4, 4]);
        // All of the lost work went to the returning (empty) worker.
        assert_eq!(c.returned.newly_assigned_tasks["worker2"].len(), 4);
    }

    #[test]
    fn new_leader_without_memory_spreads_the_work_at_once() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_empty_workers(&["worker2", "worker3"]);
        c.rebalance();
        c.assert_balanced(&[0, 1, 1], &[2, 3, 3]);

        c.remove_workers(&["worker1"]);
        c.new_leader(DEFAULT_MAX_DELAY_MS);
        c.rebalance();
        c.assert_delay(0);
        c.assert_balanced(&[1, 1], &[4, 4]);

        c.assert_stable();
    }

    #[test]
    fn assignment_that_never_arrived_is_handed_out_again() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_empty_workers(&["worker2"]);
        c.failed_rebalance();
        c.assert_delay(0);
        c.assert_connector_allocations(&[0, 0]);
        c.rebalance();
        c.assert_delay(0);
        c.assert_balanced(&[1, 1], &[4, 4]);
    }

    #[test]
    fn failed_sync_outside_the_assignor_clears_its_memory() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.add_empty_workers(&["worker3"]);
        c.failed_rebalance();
        c.assert_allocations(&[0, 1, 1], &[0, 4, 4]);

        c.rebalance_with_mismatched_generation();
        assert!(c.assignor.delay_ms > 0);
        c.assert_allocations(&[0, 1, 1], &[0, 4, 4]);

        let delay = c.assignor.delay_ms;
        c.sleep(delay);
        c.rebalance();
        c.assert_allocations(&[0, 1, 1], &[0, 3, 3]);

        c.rebalance();
        c.assert_balanced(&[0, 1, 1], &[2, 3, 3]);
    }

    #[test]
    fn deleted_connectors_are_revoked_and_added_ones_assigned() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.add_connector("connector3", 4);
        c.add_empty_workers(&["worker2"]);
        c.rebalance();
        c.assert_balanced(&[1, 2], &[6, 6]);

        c.remove_connector("connector3");
        c.rebalance();
        c.assert_delay(0);
        c.assert_balanced(&[1, 1], &[4, 4]);
        let revoked: Vec<&ConnectorTaskId> =
            c.returned.newly_revoked_tasks.values().flatten().collect();
        assert!(
            revoked.iter().all(|t| t.connector == "connector3"),
            "{revoked:?}"
        );

        c.add_connector("connector4", 2);
        c.rebalance();
        c.assert_no_revocations();
        c.assert_balanced(&[1, 2], &[5, 5]);
    }

    #[test]
    fn duplicated_work_is_revoked_everywhere_then_reassigned_once() {
        let mut c = Cluster::new(DEFAULT_MAX_DELAY_MS);
        c.rebalance();
        c.assert_connector_allocations(&[2]);
        c.add_worker(
            "worker2",
            ConnectorsAndTasks::new(
                ["connector1".to_string()],
                (0..4).map(|t| task("connector1", t)),
            ),
        );
        c.rebalance();
        c.assert_delay(0);
        c.assert_allocations(&[0, 1], &[0, 4]);

        c.rebalance();
        c.assert_delay(0);
        c.assert_no_revocations();
        c.assert_balanced(&[1, 1], &[4, 4]);

        c.rebalance();
        c.assert_empty_assignment();
    }

    fn member(url: &str, offset: i64) -> ExtendedWorkerState {
        ExtendedWorkerState {
            url: url.into(),
            config_offset: offset,
            allocation: None,
        }
    }

    #[test]
    fn leader_behind_a_member_answers_config_mismatch_to_all() {
        let members = BTreeMap::from([
            ("m1".to_string(), member("http://m1/", 5)),
            ("m2".to_string(), member("http://m2/", 9)),
        ]);
        let snapshot = ConfigSnapshot {
            offset: 5,
            connectors: BTreeMap::from([("c".to_string(), 1)]),
        };
        let mut assignor = IncrementalCooperativeAssignor::new(DEFAULT_MAX_DELAY_MS);
        let generations = Generations {
            last_completed: -1,
            current: 1,
        };
        for snapshot in [Some(&snapshot), None] {
            let out = assignor.perform_assignment(
                "m1",
                ConnectProtocolCompatibility::Sessioned,
                &members,
                snapshot,
                generations,
                0,
            );
            assert_eq!(out.len(), 2);
            for a in out.values() {
                assert!(a.failed());
                assert_eq!((a.config_offset, a.version), (9, 2));
                assert_eq!(
                    (a.leader.as_str(), a.leader_url.as_str()),
                    ("m1", "http://m1/")
                );
                assert!(a.connectors.is_empty() && a.tasks.is_empty());
            }
        }
        // Caught up: a real assignment at the snapshot's offset.
        let fresh = ConfigSnapshot {
            offset: 9,
            ..snapshot
        };
        let out = assignor.perform_assignment(
            "m1",
            ConnectProtocolCompatibility::Compatible,
            &members,
            Some(&fresh),
            generations,
            0,
        );
        assert!(out
            .values()
            .all(|a| !a.failed() && a.config_offset == 9 && a.version == 1));
        let connectors: Vec<&String> = out.values().flat_map(|a| &a.connectors).collect();
        let tasks: Vec<&ConnectorTaskId> = out.values().flat_map(|a| &a.tasks).collect();
        assert_eq!(
            (connectors, tasks),
            (vec![&"c".to_string()], vec![&task("c", 0)])
        );
    }

    #[test]
    fn eager_assignment_round_robins_connectors_then_tasks() {
        let members = BTreeMap::from([
            ("b".to_string(), member("http://b/", 3)),
            ("a".to_string(), member("http://a/", 3)),
        ]);
        let snapshot = ConfigSnapshot {
            offset: 3,
            connectors: BTreeMap::from([("c1".to_string(), 1), ("c2".to_string(), 2)]),
        };
        let out = eager_assignment("b", &members, Some(&snapshot));
        assert_eq!(out["a"].connectors, ["c1"]);
        assert_eq!(out["b"].connectors, ["c2"]);
        assert_eq!(out["a"].tasks, [task("c1", 0), task("c2", 1)]);
        assert_eq!(out["b"].tasks, [task("c2", 0)]);
        assert!(out
            .values()
            .all(|a| a.version == 0 && a.leader_url == "http://b/"));
        let behind = ConfigSnapshot {
            offset: 2,
            ..snapshot
        };
        assert!(eager_assignment("b", &members, Some(&behind))
            .values()
            .all(ExtendedAssignment::failed));
    }
}
