//! How many simulated I/Os per second of wall time the engine runs, on
//! SCSI (`two-paths`) and on NVMe (`two-nvme-paths`).

use std::time::Instant;

use mpath_sim::engine::{Scenario, Sim};

fn main() {
    for mut s in [Scenario::two_paths(), Scenario::two_nvme_paths()] {
        s.duration = mpath_core::Duration::from_secs(2);
        let name = s.name.clone();
        let t = Instant::now();
        let r = Sim::new(s, 1).expect("scenario").run();
        let wall = t.elapsed().as_secs_f64();
        println!(
            "{name}: completed {} I/O in {:.3} s wall, {} steps: {:.0} simulated I/O per wall second; p50 {} µs p99 {} µs; per path {:?}",
            r.completed,
            wall,
            r.steps,
            r.completed as f64 / wall,
            r.latency(50.0),
            r.latency(99.0),
            r.paths
        );
    }
}
