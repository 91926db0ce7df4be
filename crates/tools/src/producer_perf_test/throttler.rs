//! Kafka's `ThroughputThrottler`: sleeps, on average, `1 / target` seconds per record sent
//! whenever the rate so far is above the target, in sleeps of at least 2 ms.

use std::time::{Duration, Instant};

const NS_PER_SEC: f64 = 1_000_000_000.0;
const MIN_SLEEP_NS: u64 = 2_000_000;

#[derive(Debug)]
pub(super) struct ThroughputThrottler {
    start_ms: u64,
    /// Records per second; negative disables throttling, zero blocks forever.
    target: f64,
    sleep_time_ns: u64,
    sleep_deficit_ns: u64,
}

impl ThroughputThrottler {
    pub(super) fn new(target: f64, start_ms: u64) -> ThroughputThrottler {
        let sleep_time_ns = if target > 0.0 {
            (NS_PER_SEC / target) as u64
        } else {
            u64::MAX
        };
        ThroughputThrottler {
            start_ms,
            target,
            sleep_time_ns,
            sleep_deficit_ns: 0,
        }
    }

    /// Whether `amount_so_far` records by `send_start_ms` is faster than the target.
    pub(super) fn should_throttle(&self, amount_so_far: i64, send_start_ms: u64) -> bool {
        if self.target < 0.0 {
            return false;
        }
        let elapsed_sec = send_start_ms.saturating_sub(self.start_ms) as f32 / 1000.0;
        elapsed_sec > 0.0 && (amount_so_far as f64 / f64::from(elapsed_sec)) > self.target
    }

    /// Waits off the accumulated deficit once it reaches 2 ms. `wait` is called with the
    /// time left and must block about that long (the producer's poll, so deliveries are
    /// served meanwhile). A target of zero waits forever, as Kafka's does.
    pub(super) fn throttle(&mut self, mut wait: impl FnMut(Duration)) {
        if self.target == 0.0 {
            loop {
                wait(Duration::from_secs(1));
            }
        }
        self.sleep_deficit_ns = self.sleep_deficit_ns.saturating_add(self.sleep_time_ns);
        if self.sleep_deficit_ns >= MIN_SLEEP_NS {
            let started = Instant::now();
            let deficit = Duration::from_nanos(self.sleep_deficit_ns);
            while let Some(remaining) = deficit.checked_sub(started.elapsed()) {
                if remaining.is_zero() {
                    break;
                }
                wait(remaining);
            }
            self.sleep_deficit_ns = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_throttles() {
        let throttler = ThroughputThrottler::new(-1.0, 0);
        assert!(!throttler.should_throttle(1_000_000, 1));
    }

    #[test]
    fn throttles_only_above_the_target_rate() {
        let throttler = ThroughputThrottler::new(100.0, 0);
        assert!(!throttler.should_throttle(50, 1000));
        assert!(throttler.should_throttle(150, 1000));
        // No time has passed yet: Kafka does not throttle the first millisecond.
        assert!(!throttler.should_throttle(150, 0));
    }

    #[test]
    fn sleeps_accumulate_until_two_milliseconds() {
        // 1000 records/s: 1 ms per record, so every second call sleeps 2 ms.
        let mut throttler = ThroughputThrottler::new(1000.0, 0);
        let mut waited = Duration::ZERO;
        throttler.throttle(|d| waited += d);
        assert_eq!(waited, Duration::ZERO);
        throttler.throttle(std::thread::sleep);
        assert_eq!(throttler.sleep_deficit_ns, 0);
    }
}
