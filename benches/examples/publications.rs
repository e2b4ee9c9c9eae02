//! Shared writes per I/O of the counting selectors' load accounting
//! (`mpath_core::load`): one CPU (one cursor) keeping a number of I/Os
//! outstanding on a number of paths, counting how often a step changes a path's
//! published load (each change is one atomic add to a shared line that
//! every other CPU's scan reads). Before issue 14 this was 2 per I/O for
//! every counting policy.
//!
//! `cargo run --release -p mpath-benches --example publications`

use mpath_benches::{Cursor, DataPlane, DeepQueue, Device, Locality, Policy, CAP, DEEP};

const STEPS: u64 = 1_000_000;

fn published(dp: &DataPlane<CAP>) -> Vec<(i32, i64)> {
    (0..8).map(|s| dp.published_load(s)).collect()
}

fn count(changes: &mut u64, before: &[(i32, i64)], after: &[(i32, i64)]) {
    for (b, a) in before.iter().zip(after) {
        // A publication moves the I/O count, the byte count or both; one
        // atomic add each.
        *changes += u64::from(b.0 != a.0) + u64::from(b.1 != a.1);
    }
}

fn main() {
    // (paths, in flight, completions in random order)
    let setups = [
        (8usize, 1usize, false),
        (8, DEEP, false),
        (2, 32, false),
        (8, DEEP, true),
        (2, 32, true),
    ];
    println!(
        "| one CPU, shared writes per I/O | 8 paths, 1 in flight | 8 paths, {DEEP} in flight \
         | 2 paths, 32 in flight | 8 paths, {DEEP} in flight, completed in random order \
         | 2 paths, 32 in flight, random order | 8 paths, 8 in flight, completed on another CPU |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (policy, name) in [
        (Policy::QueueDepth, "queue-depth"),
        (Policy::QueueBytes, "queue-bytes"),
        (Policy::ServiceTime, "service-time"),
        (Policy::Adaptive, "adaptive"),
    ] {
        let rates: Vec<String> = setups
            .iter()
            .map(|&(paths, depth, random)| format!("{:.4}", rate(policy, paths, depth, random)))
            .collect();
        println!(
            "| {name} | {} | {:.4} |",
            rates.join(" | "),
            rate_across(policy, 8, DEEP)
        );
    }
}

/// Shared writes per I/O for one CPU keeping `depth` I/Os outstanding on
/// `paths` paths, completing the oldest or (`random`) any.
fn rate(policy: Policy, paths: usize, depth: usize, random: bool) -> f64 {
    let dp: DataPlane<CAP> = DataPlane::new();
    let _dev = Device::new(&dp, policy, paths);
    let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
    let mut writes = 0u64;
    let mut q = DeepQueue::new(&dp, &mut cursor, 1 << 40, depth);
    let mut before = published(&dp);
    let mut lcg = 0x2545_f491_4f6c_dd1du64;
    for seq in 1..=STEPS {
        lcg = lcg
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let k = if random {
            (lcg >> 33) as usize % depth
        } else {
            0
        };
        q.step_at(&dp, &mut cursor, seq, k);
        let after = published(&dp);
        count(&mut writes, &before, &after);
        before = after;
    }
    q.drain(&dp, &mut cursor);
    writes as f64 / STEPS as f64
}

/// As `rate`, with every I/O completed on a second CPU's cursor (an
/// interrupt steered away from the submitter): the worst case, each
/// cursor's part only grows one way.
fn rate_across(policy: Policy, paths: usize, depth: usize) -> f64 {
    use mpath_benches::{Instant, Io};
    let dp: DataPlane<CAP> = DataPlane::new();
    let _dev = Device::new(&dp, policy, paths);
    let (mut submitter, mut completer): (Cursor<CAP>, Cursor<CAP>) =
        (Cursor::new(Locality(0)), Cursor::new(Locality(0)));
    let now = |seq: u64| Instant::from_nanos(seq * 100);
    let mut ring: std::collections::VecDeque<_> = (0..depth as u64)
        .map(|k| {
            dp.submit(&mut submitter, Io::read(k, 4096, 0), now(k))
                .unwrap()
        })
        .collect();
    let mut writes = 0u64;
    let mut before = published(&dp);
    for seq in depth as u64..depth as u64 + STEPS {
        let t = ring.pop_front().unwrap();
        dp.complete(&mut completer, t, now(seq)).unwrap();
        ring.push_back(
            dp.submit(&mut submitter, Io::read(seq, 4096, 0), now(seq))
                .unwrap(),
        );
        let after = published(&dp);
        count(&mut writes, &before, &after);
        before = after;
    }
    writes as f64 / STEPS as f64
}
