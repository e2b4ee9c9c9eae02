//! What the fabric could carry at best, for "% of ideal".

use crate::engine::{ideal, Scenario};

/// The scenario's ideal IOPS: what an oracle placing each outstanding I/O
/// on the path where it does most would get from this fabric and workload
/// ([`ideal`]). `None` when the fabric sets no finite bound (every rate
/// and time zero).
pub fn ideal_iops(scenario: &Scenario) -> Option<f64> {
    let i = ideal(scenario).iops;
    i.is_finite().then_some(i)
}
