//! The fabric's ideal against the engine: no policy beats it on any
//! fabric, and where the oracle's placement is one a simple policy also
//! finds (one path; paths that differ only in bandwidth) the engine comes
//! within a few per cent of it, at the latency bound and at the capacity
//! bound alike. The bound is tight, so "% of ideal" means something.

use mpath_core::{Duration, Policy};
use mpath_sim::engine::{ideal, PathCfg, Scenario, Sim};
use proptest::prelude::*;

/// Throughput while the workload ran, as a fraction of the ideal.
fn fraction(s: &Scenario, seed: u64) -> f64 {
    let r = Sim::new(s.clone(), seed).unwrap().run();
    assert!(r.violation.is_none(), "{:?}", r.violation);
    ideal(s).fraction(r.iops())
}

fn one_path(p: PathCfg, qd: u32, reads: u8) -> Scenario {
    let mut s = Scenario::two_paths();
    s.paths = vec![p];
    s.workload.queue_depth = qd;
    s.workload.read_percent = reads;
    s.duration = Duration::from_millis(200);
    s
}

const POLICIES: [Policy; 4] = [
    Policy::RoundRobin,
    Policy::QueueDepth,
    Policy::ServiceTime,
    Policy::Adaptive,
];

#[test]
fn one_path_reaches_the_latency_bound() {
    // One I/O outstanding: one per round trip, jitter at its mean.
    let f = fraction(&one_path(PathCfg::fast(1), 1, 100), 1);
    assert!((0.98..=1.005).contains(&f), "{f}");
}

#[test]
fn one_path_reaches_the_port_bound() {
    let s = one_path(PathCfg::fast(1), 64, 70);
    assert_eq!(ideal(&s).paths[0].bottleneck, "port");
    let f = fraction(&s, 2);
    assert!((0.98..=1.005).contains(&f), "{f}");
}

#[test]
fn one_path_reaches_the_link_bound_either_way() {
    let slow_link = PathCfg {
        bandwidth: 100_000_000,
        ..PathCfg::fast(1)
    };
    for (reads, limit) in [(100, "link to host"), (0, "link to target")] {
        let s = one_path(slow_link, 64, reads);
        assert_eq!(ideal(&s).paths[0].bottleneck, limit);
        let f = fraction(&s, 3);
        assert!((0.98..=1.005).contains(&f), "{limit}: {f}");
    }
}

#[test]
fn queue_depth_fills_a_four_to_one_bandwidth_split() {
    let mut s = Scenario::two_paths();
    s.paths[0].bandwidth = 100_000_000;
    s.paths[1].bandwidth = 25_000_000;
    s.workload.queue_depth = 64;
    s.workload.read_percent = 100;
    s.duration = Duration::from_millis(200);
    s.policy = Policy::QueueDepth;
    let f = fraction(&s, 4);
    assert!((0.97..=1.005).contains(&f), "{f}");
    // Round-robin sends half to the slow link: its share is capped at
    // twice the slow link's capacity, 2/5 of the ideal.
    s.policy = Policy::RoundRobin;
    let f = fraction(&s, 4);
    assert!((0.35..=0.41).contains(&f), "{f}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// No policy beats the ideal, on any two-path fabric and workload.
    #[test]
    fn no_policy_beats_the_ideal(
        lat in proptest::array::uniform2(10u64..5_000),
        bw in proptest::array::uniform2(10u64..2_000),
        svc in proptest::array::uniform2(1u64..200),
        qd in 1u32..96,
        reads in 0u8..=100,
        blocks in 1u32..64,
        policy in 0usize..4,
        seed in 0u64..1000,
    ) {
        let mut s = Scenario::two_paths();
        for i in 0..2 {
            s.paths[i].latency = Duration::from_micros(lat[i]);
            s.paths[i].bandwidth = bw[i] * 1_000_000;
            s.paths[i].service = Duration::from_micros(svc[i]);
        }
        s.workload.queue_depth = qd;
        s.workload.read_percent = reads;
        s.workload.blocks = blocks;
        s.policy = POLICIES[policy];
        s.duration = Duration::from_millis(100);
        let f = fraction(&s, seed);
        // The ideal is for the workload's expected mix; a 100 ms window
        // draws its own (a few thousand I/Os, binomially), and one with
        // more of the kind that spares the bottleneck fits a little more
        // (seen: 1.0055 with 18 % reads on an 80 MB/s link). Two per cent
        // over is that noise; more would be a wrong bound.
        prop_assert!(f <= 1.02, "{:?} reached {f} of ideal", s.policy);
        prop_assert!(f > 0.0);
    }
}
