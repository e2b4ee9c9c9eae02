//! What the fabric could carry at best, for `compare`'s "% of ideal".

use crate::engine::Scenario;

/// The scenario's ideal IOPS: what a perfect selector would get from this
/// fabric and workload. `None` until the engine's `ideal` throughput
/// module is wired in here (the one place `compare` asks); until then the
/// column reads "n/a".
pub fn ideal_iops(_scenario: &Scenario) -> Option<f64> {
    None
}
