//! Kafka's ISR protocol, leader side and follower side, as pure state: no locks, no I/O,
//! no clock of its own. `Partition` drives it with real log offsets and real time; the
//! replication simulation drives it with simulated ones.
//!
//! Leader: it learns each follower's log end offset from the offset the follower fetches
//! at, keeps the time each follower was last caught up, and from that
//! - advances the high watermark to the smallest log end offset in the ISR (never back);
//! - proposes shrinking the ISR by followers not caught up for `replica.lag.time.max.ms`;
//! - proposes expanding it by followers that reached the high watermark and this leader
//!   epoch's start offset.
//!
//! While an ISR change is in flight to the controller, the high watermark is computed over
//! the union of the old and proposed ISRs (Kafka's "maximal ISR"), so that neither an
//! expansion nor a shrink lets it move past a record some member of either ISR lacks.

use std::collections::BTreeMap;

use rafka_types::{LeaderEpoch, Offset};

/// What the leader knows of one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's log end offset (the offset of its last fetch); -1 until it fetches.
    pub log_end: Offset,
    /// When the follower was last known to have every record the leader had.
    pub last_caught_up_ms: u64,
    /// The leader's log end offset and time at the follower's previous fetch.
    last_fetch_leader_end: Offset,
    last_fetch_ms: u64,
}

impl FollowerState {
    /// A follower not heard from yet, counted as caught up as of `now_ms` (Kafka gives
    /// every follower of a new leadership a fresh start).
    fn fresh(now_ms: u64) -> FollowerState {
        FollowerState {
            log_end: Offset::UNKNOWN,
            last_caught_up_ms: now_ms,
            last_fetch_leader_end: Offset::UNKNOWN,
            last_fetch_ms: now_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderState {
    pub leader_id: i32,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: i32,
    pub replicas: Vec<i32>,
    /// The ISR as the controller last committed it.
    pub isr: Vec<i32>,
    /// An ISR proposed to the controller and not yet answered.
    pub pending_isr: Option<Vec<i32>>,
    pub followers: BTreeMap<i32, FollowerState>,
    pub high_watermark: Offset,
    /// The leader's log end offset when it became leader in this epoch: a follower joins
    /// the ISR only once it has everything from before this leadership.
    pub epoch_start_offset: Offset,
}

impl LeaderState {
    /// Becomes leader with the controller's replicas and ISR. Every follower gets a fresh
    /// caught-up time, as Kafka does, so none is dropped for lag it had under the
    /// previous leader.
    #[allow(clippy::too_many_arguments)] // the controller's state plus the log's offsets
    pub fn new(
        leader_id: i32,
        leader_epoch: LeaderEpoch,
        partition_epoch: i32,
        replicas: &[i32],
        isr: &[i32],
        log_end: Offset,
        high_watermark: Offset,
        now_ms: u64,
    ) -> LeaderState {
        let followers = replicas
            .iter()
            .filter(|r| **r != leader_id)
            .map(|r| (*r, FollowerState::fresh(now_ms)))
            .collect();
        let mut state = LeaderState {
            leader_id,
            leader_epoch,
            partition_epoch,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            pending_isr: None,
            followers,
            high_watermark: high_watermark.min(log_end),
            epoch_start_offset: log_end,
        };
        state.maybe_advance_high_watermark(log_end);
        state
    }

    /// A follower fetched at `fetch_offset` (its log end) while the leader's log ended at
    /// `leader_log_end`. Returns the new high watermark if it moved.
    pub fn on_follower_fetch(
        &mut self,
        replica: i32,
        fetch_offset: Offset,
        leader_log_end: Offset,
        now_ms: u64,
    ) -> Option<Offset> {
        let follower = self.followers.get_mut(&replica)?;
        // Kafka's rule: caught up now if it has everything the leader has; caught up as
        // of the previous fetch if it has everything the leader had then.
        if fetch_offset >= leader_log_end {
            follower.last_caught_up_ms = now_ms;
        } else if fetch_offset >= follower.last_fetch_leader_end {
            follower.last_caught_up_ms = follower.last_caught_up_ms.max(follower.last_fetch_ms);
        }
        follower.log_end = fetch_offset;
        follower.last_fetch_leader_end = leader_log_end;
        follower.last_fetch_ms = now_ms;
        self.maybe_advance_high_watermark(leader_log_end)
    }

    /// Moves the high watermark up to the smallest log end offset in the maximal ISR.
    pub fn maybe_advance_high_watermark(&mut self, leader_log_end: Offset) -> Option<Offset> {
        let mut candidate = leader_log_end;
        // The maximal ISR, without building it (a member counted twice changes no minimum).
        let maximal = self.isr.iter().chain(self.pending_isr.iter().flatten());
        for &r in maximal {
            if r == self.leader_id {
                continue;
            }
            let end = self
                .followers
                .get(&r)
                .map_or(Offset::UNKNOWN, |f| f.log_end);
            candidate = candidate.min(end);
        }
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            Some(candidate)
        } else {
            None
        }
    }

    /// An ISR to propose, if any: followers out of sync for longer than `lag_max_ms`
    /// leave it; followers caught up to the high watermark and this epoch's start join
    /// it. None while another change is in flight.
    pub fn isr_change(&self, now_ms: u64, lag_max_ms: u64) -> Option<Vec<i32>> {
        if self.pending_isr.is_some() {
            return None;
        }
        let mut next: Vec<i32> =
            self.isr
                .iter()
                .copied()
                .filter(|r| {
                    *r == self.leader_id
                        || self.followers.get(r).is_some_and(|f| {
                            now_ms.saturating_sub(f.last_caught_up_ms) <= lag_max_ms
                        })
                })
                .collect();
        for r in &self.replicas {
            if next.contains(r) || *r == self.leader_id {
                continue;
            }
            let Some(f) = self.followers.get(r) else {
                continue;
            };
            let caught_up = now_ms.saturating_sub(f.last_caught_up_ms) <= lag_max_ms;
            if caught_up && f.log_end >= self.high_watermark && f.log_end >= self.epoch_start_offset
            {
                next.push(*r);
            }
        }
        (next != self.isr).then_some(next)
    }

    /// Marks `isr` as proposed to the controller.
    pub fn propose_isr(&mut self, isr: Vec<i32>) {
        self.pending_isr = Some(isr);
    }

    /// The controller refused or lost the proposal: forget it (the next check retries).
    pub fn clear_pending(&mut self) {
        self.pending_isr = None;
    }

    /// The controller committed a new state for this leadership (an ISR change, ours or
    /// not). Returns the new high watermark if the smaller ISR let it move.
    pub fn on_committed(
        &mut self,
        partition_epoch: i32,
        replicas: &[i32],
        isr: &[i32],
        leader_log_end: Offset,
        now_ms: u64,
    ) -> Option<Offset> {
        self.partition_epoch = partition_epoch;
        self.isr = isr.to_vec();
        self.pending_isr = None;
        for r in replicas {
            if *r != self.leader_id && !self.followers.contains_key(r) {
                self.followers.insert(*r, FollowerState::fresh(now_ms));
            }
        }
        self.followers.retain(|r, _| replicas.contains(r));
        self.replicas = replicas.to_vec();
        self.maybe_advance_high_watermark(leader_log_end)
    }
}

/// How a request's leader epoch disagrees with the leader's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochMismatch {
    /// Older than the leader's: the sender is behind (FENCED_LEADER_EPOCH).
    Fenced,
    /// Newer than the leader's: this leader has not heard yet (UNKNOWN_LEADER_EPOCH).
    Unknown,
}

/// Kafka's leader epoch check of a request: -1 (not given) skips it.
pub fn check_leader_epoch(
    requested: LeaderEpoch,
    current: LeaderEpoch,
) -> Result<(), EpochMismatch> {
    if requested.0 < 0 || requested == current {
        Ok(())
    } else if requested < current {
        Err(EpochMismatch::Fenced)
    } else {
        Err(EpochMismatch::Unknown)
    }
}

/// Kafka's follower truncation after OffsetForLeaderEpoch. `leader_answer` is the
/// leader's (epoch, end offset) for the follower's latest epoch; `local_end_for` gives the
/// follower's own end offset for an epoch. Returns the offset to truncate to and whether
/// truncation is complete (if not, the follower asks again with the epoch it now has).
pub fn truncation_offset(
    leader_answer: (LeaderEpoch, Offset),
    log_end: Offset,
    high_watermark: Offset,
    local_end_for: impl Fn(LeaderEpoch) -> Option<(LeaderEpoch, Offset)>,
) -> (Offset, bool) {
    let (leader_epoch, leader_end) = leader_answer;
    if leader_end.0 < 0 {
        // The leader knows nothing of our epochs (an old log): fall back to the HW.
        return (high_watermark.min(log_end), true);
    }
    if leader_epoch.0 < 0 {
        return (leader_end.min(log_end), true);
    }
    match local_end_for(leader_epoch) {
        Some((local_epoch, local_end)) if local_epoch != leader_epoch => {
            (local_end.min(log_end), false)
        }
        // Both have the epoch: it ends where the earlier of the two ends it (Kafka's
        // `min(leaderEnd, followerEnd)`), so later-epoch records of ours there go.
        Some((_, local_end)) => (leader_end.min(local_end).min(log_end), true),
        None => (leader_end.min(log_end), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leader() -> LeaderState {
        LeaderState::new(
            1,
            LeaderEpoch(5),
            0,
            &[1, 2, 3],
            &[1, 2, 3],
            Offset(10),
            Offset(10),
            0,
        )
    }

    #[test]
    fn high_watermark_is_the_smallest_isr_log_end_and_never_goes_back() {
        let mut s = leader();
        assert_eq!(s.high_watermark, Offset(10));
        assert_eq!(s.on_follower_fetch(2, Offset(12), Offset(15), 1), None);
        assert_eq!(
            s.on_follower_fetch(3, Offset(14), Offset(15), 1),
            Some(Offset(12))
        );
        assert_eq!(
            s.on_follower_fetch(2, Offset(15), Offset(15), 2),
            Some(Offset(14))
        );
        // A follower fetching from an older offset (after truncation) never lowers it.
        assert_eq!(s.on_follower_fetch(3, Offset(11), Offset(15), 3), None);
        assert_eq!(s.high_watermark, Offset(14));
    }

    #[test]
    fn a_lagging_follower_leaves_the_isr_and_then_the_high_watermark_moves() {
        let mut s = leader();
        s.on_follower_fetch(2, Offset(20), Offset(20), 100);
        s.on_follower_fetch(3, Offset(10), Offset(20), 100);
        assert_eq!(s.high_watermark, Offset(10));
        assert_eq!(s.isr_change(20_000, 30_000), None);
        s.on_follower_fetch(2, Offset(20), Offset(20), 30_050);
        let shrunk = s.isr_change(30_100, 30_000).unwrap();
        assert_eq!(shrunk, vec![1, 2]);
        s.propose_isr(shrunk.clone());
        // In flight: the maximal ISR still holds follower 3 back.
        assert_eq!(s.maybe_advance_high_watermark(Offset(20)), None);
        assert_eq!(
            s.on_committed(1, &[1, 2, 3], &shrunk, Offset(20), 30_200),
            Some(Offset(20))
        );
    }

    #[test]
    fn a_follower_rejoins_once_it_reaches_the_high_watermark_and_epoch_start() {
        let mut s = LeaderState::new(
            1,
            LeaderEpoch(5),
            0,
            &[1, 2, 3],
            &[1, 2],
            Offset(30),
            Offset(30),
            0,
        );
        s.on_follower_fetch(2, Offset(30), Offset(30), 1);
        s.on_follower_fetch(3, Offset(25), Offset(30), 1);
        assert_eq!(s.isr_change(2, 30_000), None);
        s.on_follower_fetch(3, Offset(30), Offset(30), 3);
        assert_eq!(s.isr_change(4, 30_000), Some(vec![1, 2, 3]));
    }

    #[test]
    fn caught_up_as_of_the_previous_fetch_counts() {
        let mut s = leader();
        // The leader kept appending: the follower is never at the very end, but each
        // fetch has what the leader had at the previous one.
        s.on_follower_fetch(2, Offset(10), Offset(20), 1_000);
        s.on_follower_fetch(2, Offset(20), Offset(30), 20_000);
        s.on_follower_fetch(2, Offset(30), Offset(40), 40_000);
        s.on_follower_fetch(3, Offset(40), Offset(40), 40_000);
        assert_eq!(s.followers[&2].last_caught_up_ms, 20_000);
        assert_eq!(s.isr_change(40_000, 30_000), None);
    }

    /// `truncation_offset` in plain numbers, for a table of cases.
    fn truncate(
        (leader_epoch, leader_end): (i32, i64),
        log_end: i64,
        high_watermark: i64,
        local_end_for: impl Fn(i32) -> Option<(i32, i64)>,
    ) -> (i64, bool) {
        let (to, complete) = truncation_offset(
            (LeaderEpoch(leader_epoch), Offset(leader_end)),
            Offset(log_end),
            Offset(high_watermark),
            |epoch| local_end_for(epoch.0).map(|(e, end)| (LeaderEpoch(e), Offset(end))),
        );
        (to.0, complete)
    }

    #[test]
    fn truncation_follows_kafka() {
        let local = |e: i32| match e {
            3 => Some((3, 50)),
            4 => Some((3, 50)),
            _ => None,
        };
        // Leader has our epoch and ends it earlier: truncate to its end.
        assert_eq!(truncate((3, 40), 60, 30, local), (40, true));
        // Leader's epoch 3 goes beyond ours, which ends at 50 (a later epoch of ours
        // follows): cut at our end of it.
        assert_eq!(truncate((3, 70), 60, 30, local), (50, true));
        // Leader answers with an epoch we never had: truncate to our end of the largest
        // epoch below it and ask again.
        assert_eq!(truncate((4, 55), 60, 30, local), (50, false));
        // We have a later epoch inside the leader's range of epoch 3: cut at our end of 3.
        assert_eq!(
            truncate((3, 70), 77, 30, |e| (e == 3).then_some((3, 50))),
            (50, true)
        );
        // Leader has no epochs: the high watermark.
        assert_eq!(truncate((-1, -1), 60, 30, local), (30, true));
    }
}
