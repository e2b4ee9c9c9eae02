//! What a run measured.

use hdrhistogram::Histogram;
use mpath_core::Duration;

use super::check::Violation;

/// Per path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathReport {
    /// I/O attempts that completed successfully on this path.
    pub ios: u64,
    /// Bytes they moved.
    pub bytes: u64,
    /// Attempts that failed on this path (and were failed over, or
    /// failed upward).
    pub failed: u64,
}

/// One slice of virtual time: what completed in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Successful I/O attempts per path completed in the slice.
    pub ios: Vec<u64>,
    /// Their data bytes per path.
    pub bytes: Vec<u64>,
    /// I/O completed upward successfully in the slice.
    pub completed: u64,
    /// Sum of their latencies, µs (the mean is `latency_sum_us /
    /// completed`).
    pub latency_sum_us: u64,
    /// The longest of them, µs.
    pub latency_max_us: u64,
    /// I/O failed upward in the slice.
    pub failed: u64,
}

/// What completed when: the run cut into equal slices of virtual time,
/// for plots of throughput and latency over time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Each slice's length.
    pub slice: Duration,
    /// The slices from time 0, up to the last one anything completed in.
    pub samples: Vec<Sample>,
}

impl Timeline {
    /// Slices for a workload of `duration`: 200 of them, none shorter
    /// than 100 µs.
    pub(crate) fn for_duration(duration: Duration) -> Timeline {
        let ns = (duration.as_nanos() / 200).max(100_000);
        Timeline {
            slice: Duration::from_nanos(ns),
            samples: Vec::new(),
        }
    }

    /// The slice `at` falls in, made if need be (at most one per slice
    /// length of the run: a run's drain can be long, and slices past a
    /// million are folded into the last).
    pub(crate) fn at(&mut self, at: mpath_core::Instant, paths: usize) -> &mut Sample {
        let k = usize::try_from(at.as_nanos() / self.slice.as_nanos().max(1))
            .unwrap_or(usize::MAX)
            .min(1 << 20);
        if self.samples.len() <= k {
            self.samples.resize_with(k + 1, || Sample {
                ios: vec![0; paths],
                bytes: vec![0; paths],
                ..Sample::default()
            });
        }
        &mut self.samples[k]
    }
}

/// One host's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostReport {
    /// I/Os its application submitted.
    pub submitted: u64,
    /// I/Os that completed successfully.
    pub completed: u64,
    /// I/Os failed upward.
    pub failed: u64,
    /// I/Os still outstanding at the end.
    pub outstanding: u64,
    /// Its device ended fenced (its key gone from the target).
    pub fenced: bool,
}

/// A run's results: host 0's figures, and every host's in
/// [`hosts`](Self::hosts).
#[derive(Clone, Debug)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The trace hash: the same scenario, seed and code give the same one.
    pub trace: u64,
    /// Engine steps (events handled).
    pub steps: u64,
    /// Virtual time the run covered.
    pub elapsed: Duration,
    /// I/Os the application submitted.
    pub submitted: u64,
    /// I/Os that completed successfully.
    pub completed: u64,
    /// The workload's virtual duration (the measurement window).
    pub window: Duration,
    /// I/Os that completed successfully while the workload ran (the
    /// drain after it is not in throughput figures).
    pub window_completed: u64,
    /// The data bytes those moved.
    pub window_bytes: u64,
    /// I/Os failed upward.
    pub failed: u64,
    /// I/Os still outstanding at the end.
    pub outstanding: u64,
    /// I/O attempts sent again after a failed attempt.
    pub retried: u64,
    /// Controller (session) resets: [`Fault::Reset`](super::Fault::Reset)
    /// and the engine's answer to an ANA transition timeout.
    pub resets: u64,
    /// Target restarts ([`Fault::TargetRestart`](super::Fault::TargetRestart)).
    pub restarts: u64,
    /// Per path, in path order, over the whole run (drain included).
    pub paths: Vec<PathReport>,
    /// Per path, in path order, while the workload ran: what per-path
    /// throughput is reckoned from.
    pub window_paths: Vec<PathReport>,
    /// Throughput and latency over virtual time.
    pub timeline: Timeline,
    /// Completion latency of successful I/O, in microseconds.
    pub latency_us: Histogram<u64>,
    /// For each fault, how long until the next successful completion
    /// (`None`: none after it).
    pub resume: Vec<Option<Duration>>,
    /// Every host's figures, host 0 first.
    pub hosts: Vec<HostReport>,
    /// The first invariant broken, if any.
    pub violation: Option<Violation>,
}

impl Report {
    /// I/O completed per second of virtual time while the workload ran.
    pub fn iops(&self) -> f64 {
        self.per_second(self.window_completed)
    }

    /// Data bytes moved per second of virtual time while the workload
    /// ran.
    pub fn bytes_per_sec(&self) -> f64 {
        self.per_second(self.window_bytes)
    }

    fn per_second(&self, n: u64) -> f64 {
        let secs = self.window.as_nanos() as f64 / 1e9;
        if secs == 0.0 {
            0.0
        } else {
            n as f64 / secs
        }
    }

    /// A latency percentile in microseconds (0 without samples).
    pub fn latency(&self, percentile: f64) -> u64 {
        if self.latency_us.is_empty() {
            0
        } else {
            self.latency_us.value_at_percentile(percentile)
        }
    }
}
