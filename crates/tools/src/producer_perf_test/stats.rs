//! Kafka's `ProducerPerformance.Stats`: running totals, a 5-second window, and a sample of
//! latencies for the percentiles.

/// How often a window line is printed, as in Kafka.
const REPORTING_INTERVAL_MS: u64 = 5000;

/// At most this many latencies are kept for the percentiles (Kafka's sample size).
const MAX_SAMPLES: i64 = 500_000;

/// Totals of delivered records. Times are milliseconds on the tool's monotonic clock.
/// Invariant: `index <= latencies.len()`.
#[derive(Debug)]
pub(super) struct Stats {
    start_ms: u64,
    latencies: Vec<i64>,
    /// Every `sampling`-th delivery goes into `latencies`.
    sampling: i64,
    iteration: i64,
    index: usize,
    count: i64,
    bytes: i64,
    max_latency_ms: i64,
    total_latency_ms: i64,
    window_count: i64,
    window_max_latency_ms: i64,
    window_total_latency_ms: i64,
    window_bytes: i64,
    window_start_ms: u64,
    is_steady_state: bool,
    suppress_print: bool,
}

impl Stats {
    pub(super) fn new(num_records: i64, is_steady_state: bool, now_ms: u64) -> Stats {
        let num_records = num_records.max(1);
        let sampling = num_records / num_records.min(MAX_SAMPLES);
        Stats {
            start_ms: now_ms,
            latencies: vec![0; (num_records / sampling + 1) as usize],
            sampling,
            iteration: 0,
            index: 0,
            count: 0,
            bytes: 0,
            max_latency_ms: 0,
            total_latency_ms: 0,
            window_count: 0,
            window_max_latency_ms: 0,
            window_total_latency_ms: 0,
            window_bytes: 0,
            window_start_ms: now_ms,
            is_steady_state,
            suppress_print: false,
        }
    }

    /// One delivered record; prints the window line when the window is over.
    pub(super) fn record(&mut self, latency_ms: i64, bytes: i64, now_ms: u64) {
        self.count += 1;
        self.bytes += bytes;
        self.total_latency_ms += latency_ms;
        self.max_latency_ms = self.max_latency_ms.max(latency_ms);
        self.window_count += 1;
        self.window_bytes += bytes;
        self.window_total_latency_ms += latency_ms;
        self.window_max_latency_ms = self.window_max_latency_ms.max(latency_ms);
        if self.iteration % self.sampling == 0 && self.index < self.latencies.len() {
            self.latencies[self.index] = latency_ms;
            self.index += 1;
        }
        if now_ms.saturating_sub(self.window_start_ms) >= REPORTING_INTERVAL_MS {
            if self.is_steady_state && self.count == self.window_count {
                println!("In steady state.");
            }
            if !self.suppress_print {
                println!("{}", self.window_line(now_ms));
            }
            self.new_window(now_ms);
        }
        self.iteration += 1;
    }

    pub(super) fn suppress_printing(&mut self) {
        self.suppress_print = true;
    }

    fn new_window(&mut self, now_ms: u64) {
        self.window_start_ms = now_ms;
        self.window_count = 0;
        self.window_max_latency_ms = 0;
        self.window_total_latency_ms = 0;
        self.window_bytes = 0;
    }

    /// `N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency.`
    pub(super) fn window_line(&self, now_ms: u64) -> String {
        let elapsed_ms = now_ms.saturating_sub(self.window_start_ms) as f64;
        let records_per_sec = 1000.0 * self.window_count as f64 / elapsed_ms;
        let mb_per_sec = 1000.0 * self.window_bytes as f64 / elapsed_ms / (1024.0 * 1024.0);
        format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency.",
            self.window_count,
            java_fixed(records_per_sec, 1),
            java_fixed(mb_per_sec, 2),
            java_fixed(
                self.window_total_latency_ms as f64 / self.window_count as f64,
                1
            ),
            java_fixed(self.window_max_latency_ms as f64, 1),
        )
    }

    /// Kafka's final line, with the 50th, 95th, 99th and 99.9th percentiles.
    pub(super) fn total_line(&self, now_ms: u64) -> String {
        let elapsed_ms = now_ms.saturating_sub(self.start_ms) as f64;
        let records_per_sec = 1000.0 * self.count as f64 / elapsed_ms;
        let mb_per_sec = 1000.0 * self.bytes as f64 / elapsed_ms / (1024.0 * 1024.0);
        let percentiles = self.percentiles(&[0.5, 0.95, 0.99, 0.999]);
        format!(
            "{}{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            if self.is_steady_state { " steady state" } else { "" },
            java_fixed(records_per_sec, 6),
            java_fixed(mb_per_sec, 2),
            java_fixed(self.total_latency_ms as f64 / self.count as f64, 2),
            java_fixed(self.max_latency_ms as f64, 2),
            percentiles[0],
            percentiles[1],
            percentiles[2],
            percentiles[3],
        )
    }

    /// The sampled latency at each fraction: `sorted[(int) (p * size)]`, as Kafka takes it.
    fn percentiles(&self, fractions: &[f64]) -> Vec<i64> {
        let size = self.index.min(self.latencies.len());
        let mut sorted = self.latencies[..size].to_vec();
        sorted.sort_unstable();
        fractions
            .iter()
            .map(|p| {
                let at = (p * size as f64) as usize;
                sorted.get(at).copied().unwrap_or(0)
            })
            .collect()
    }
}

/// Java's `%.<decimals>f`, including its spelling of the non-finite values.
pub(crate) fn java_fixed(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_line_follows_kafkas_format_and_percentiles() {
        let mut stats = Stats::new(1000, false, 0);
        for i in 0..1000 {
            stats.record(i % 100, 100, 10);
        }
        assert_eq!(
            stats.total_line(1000),
            "1000 records sent, 1000.000000 records/sec (0.10 MB/sec), 49.50 ms avg latency, 99.00 ms max latency, 50 ms 50th, 95 ms 95th, 99 ms 99th, 99 ms 99.9th."
        );
    }

    #[test]
    fn window_line_follows_kafkas_format() {
        let mut stats = Stats::new(10, false, 0);
        stats.record(3, 1024 * 1024, 100);
        stats.record(5, 1024 * 1024, 200);
        assert_eq!(
            stats.window_line(2000),
            "2 records sent, 1.0 records/sec (1.00 MB/sec), 4.0 ms avg latency, 5.0 ms max latency."
        );
    }

    #[test]
    fn large_runs_sample_at_most_half_a_million_latencies() {
        let stats = Stats::new(2_000_000, false, 0);
        assert_eq!(stats.sampling, 4);
        assert_eq!(stats.latencies.len(), 500_001);
    }

    #[test]
    fn non_finite_values_print_as_java_does() {
        assert_eq!(java_fixed(f64::NAN, 2), "NaN");
        assert_eq!(java_fixed(f64::INFINITY, 6), "Infinity");
        assert_eq!(java_fixed(1.0 / 3.0, 4), "0.3333");
    }
}
