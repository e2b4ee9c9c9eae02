//! The simulator driven by fuzzer bytes: the first byte picks the mode,
//! the next eight the run's seed, the rest the scenario (topology, links,
//! selector, workload, reservation, fault schedule). Any invariant broken
//! is a crash, with the bytes that replay it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_sim::engine::sweep::{scenario_from_bytes, Mode};
use mpath_sim::engine::Sim;

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = match data.split_first() {
        Some((m, rest)) if m & 1 == 1 => (Mode::Liveness, rest),
        Some((_, rest)) => (Mode::Safety, rest),
        None => (Mode::Safety, data),
    };
    let mut seed = [0u8; 8];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = rest.get(i).copied().unwrap_or(0);
    }
    let scenario = scenario_from_bytes(rest.get(8..).unwrap_or(&[]), mode);
    let Ok(sim) = Sim::new(scenario, u64::from_le_bytes(seed)) else {
        panic!("a scenario from bytes did not set up");
    };
    let report = sim.run();
    if let Some(v) = report.violation {
        panic!("{mode} run broke an invariant: {v}");
    }
});
