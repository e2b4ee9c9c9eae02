//! Path selectors: which path of the selectable set an I/O takes.
//!
//! All arithmetic is integer. Each selector reads only the published mask,
//! per-path atomics and the caller's [`Cursor`](crate::Cursor); none takes a
//! lock or writes shared memory except the counters its policy declares
//! (see [`Policy`]). The policy is switchable at run time, like NVMe's
//! `iopolicy` sysfs attribute and dm's table reload, and I/Os started under
//! the old policy are unwound correctly because each ticket records what its
//! start counted.

pub(crate) mod adaptive;
pub mod fixed;
pub(crate) mod locality;
pub(crate) mod queue_depth;
pub(crate) mod round_robin;
pub(crate) mod service_time;

pub use fixed::FixedPolicy;

use crate::bits::Rotated;
use crate::time::Duration;
use core::fmt;

/// The slot of `mask`, scanned from the one after `*last`, whose `value`
/// `better` prefers to every other's, and `*last` set to it. The first
/// slot with a value is the one to beat, whatever that value (a score may
/// saturate and must still choose a path), and a later one replaces it
/// only when strictly better, so ties rotate with `*last`. The full scan
/// of service-time and adaptive.
#[inline(always)]
pub(crate) fn best_of<T: Copy>(
    mask: u64,
    last: &mut usize,
    value: impl Fn(usize) -> Option<T>,
    better: impl Fn(T, T) -> bool,
) -> Option<usize> {
    let mut slots = Rotated::new(mask, *last);
    let (mut best_slot, mut best) = slots.find_map(|s| Some((s, value(s)?)))?;
    for slot in slots {
        if let Some(v) = value(slot) {
            if better(v, best) {
                (best_slot, best) = (slot, v);
            }
        }
    }
    *last = best_slot;
    Some(best_slot)
}

/// Which selector the data plane runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Policy {
    /// Stick to a path local to the submitting CPU's node; NVMe's `numa`
    /// iopolicy. No shared writes per I/O.
    Locality,
    /// Rotate through the selectable paths, switching after
    /// [`SelectorParams::rr_switch_ios`] I/Os or
    /// [`SelectorParams::rr_switch_bytes`] bytes; dm's `round-robin` with
    /// `rr_min_io_rq`, NVMe's `round-robin`, VMware's iops/bytes limits. No
    /// shared writes per I/O: the position is per CPU.
    RoundRobin,
    /// Fewest outstanding I/Os; dm's `queue-length`, NVMe's `queue-depth`.
    QueueDepth,
    /// Fewest outstanding bytes.
    QueueBytes,
    /// Least (outstanding bytes + this I/O) / relative throughput, with
    /// dm `service-time`'s tie-breaks.
    ServiceTime,
    /// Least EWMA service time x (outstanding I/Os + 1), re-sampling paths
    /// whose estimate went stale.
    Adaptive,
}

impl Policy {
    /// Every policy, for tests and tables.
    pub const ALL: [Policy; 6] = [
        Policy::Locality,
        Policy::RoundRobin,
        Policy::QueueDepth,
        Policy::QueueBytes,
        Policy::ServiceTime,
        Policy::Adaptive,
    ];

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            Policy::Locality => 0,
            Policy::RoundRobin => 1,
            Policy::QueueDepth => 2,
            Policy::QueueBytes => 3,
            Policy::ServiceTime => 4,
            Policy::Adaptive => 5,
        }
    }

    pub(crate) const fn from_u8(v: u8) -> Policy {
        match v {
            0 => Policy::Locality,
            2 => Policy::QueueDepth,
            3 => Policy::QueueBytes,
            4 => Policy::ServiceTime,
            5 => Policy::Adaptive,
            _ => Policy::RoundRobin,
        }
    }

    /// The name as dm tables and NVMe sysfs spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::Locality => "numa",
            Policy::RoundRobin => "round-robin",
            Policy::QueueDepth => "queue-depth",
            Policy::QueueBytes => "queue-bytes",
            Policy::ServiceTime => "service-time",
            Policy::Adaptive => "adaptive",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Tunables of the selectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectorParams {
    /// Round-robin: I/Os sent to one path before moving on (dm
    /// `rr_min_io_rq`, default 1). 0 is taken as 1.
    pub rr_switch_ios: u32,
    /// Round-robin: bytes sent to one path before moving on; 0 = no byte
    /// limit (VMware's `bytes` limit).
    pub rr_switch_bytes: u64,
    /// Adaptive: EWMA weight of a new sample is `1 / 2^ewma_shift`
    /// (default 3, i.e. 1/8).
    pub ewma_shift: u8,
    /// Adaptive: a path not sampled for this long gets the next I/O so its
    /// estimate follows the path's real latency again.
    pub stale_after: Duration,
}

impl SelectorParams {
    /// The defaults.
    pub const DEFAULT: SelectorParams = SelectorParams {
        rr_switch_ios: 1,
        rr_switch_bytes: 0,
        ewma_shift: 3,
        stale_after: Duration::from_millis(100),
    };
}

impl Default for SelectorParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_codes_round_trip_and_unknown_codes_mean_round_robin() {
        let all = [
            Policy::RoundRobin,
            Policy::Locality,
            Policy::QueueDepth,
            Policy::QueueBytes,
            Policy::ServiceTime,
            Policy::Adaptive,
        ];
        for p in all {
            assert_eq!(Policy::from_u8(p.to_u8()), p, "{}", p.name());
        }
        assert_eq!(Policy::from_u8(200), Policy::RoundRobin);
    }
}
