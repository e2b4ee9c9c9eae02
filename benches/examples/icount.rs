//! Instruction counts per submit + complete, for `valgrind --tool=callgrind`.
//!
//! `icount POLICY PATHS IOS` sets up a device like the criterion benches and
//! runs `IOS` submit + complete pairs. Run it twice with different `IOS` and
//! divide the difference in collected instructions by the difference in
//! I/Os to cancel setup: `benches/scripts/icount.sh` does that for every
//! policy and floor at 8 paths. Floors are named `floor-POLICY`; the C
//! reference of the kernel's per-I/O work is `ref-round-robin`,
//! `ref-queue-depth` (NVMe) and `ref-service-time` (dm), one select + start +
//! end per I/O.

use mpath_benches::floor::Floor;
use mpath_benches::reference::{NvmePolicy, NvmeRef, StRef};
use mpath_benches::{
    fixed, io, io_as, Cursor, DataPlane, DeepQueue, Device, FixedPolicy, Locality, Policy, CAP,
    DEEP,
};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(policy), Some(paths), Some(ios)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: icount POLICY PATHS IOS");
        std::process::exit(2);
    };
    let paths: usize = paths.parse().expect("PATHS is a number");
    let ios: u64 = ios.parse().expect("IOS is a number");
    if let Some(kind) = policy.strip_prefix("floor-") {
        let f = Floor::new(paths);
        let mut last = 63u32;
        let f = &*f;
        match kind {
            "round-robin" => (0..ios).for_each(|_| {
                black_box(black_box(f).round_robin(&mut last));
            }),
            "queue-depth" => (0..ios).for_each(|_| {
                black_box(black_box(f).queue_depth());
            }),
            "service-time" => (0..ios).for_each(|_| {
                black_box(black_box(f).service_time(4096));
            }),
            "adaptive" => (0..ios).for_each(|seq| {
                black_box(black_box(f).adaptive(seq));
            }),
            _ => panic!("unknown floor {kind}"),
        }
        return;
    }
    if let Some(kind) = policy.strip_prefix("ref-") {
        let nvme = |p| NvmeRef::new(paths, p).expect("1 to 64 paths");
        match kind {
            "round-robin" => {
                let h = nvme(NvmePolicy::RoundRobin);
                (0..ios).for_each(|_| {
                    black_box(black_box(&h).io());
                });
            }
            "queue-depth" => {
                let h = nvme(NvmePolicy::QueueDepth);
                (0..ios).for_each(|_| {
                    black_box(black_box(&h).io());
                });
            }
            "service-time" => {
                let s = StRef::new(paths).expect("1 to 64 paths");
                (0..ios).for_each(|_| {
                    black_box(black_box(&s).io(4096));
                });
            }
            _ => panic!("unknown reference {kind}"),
        }
        return;
    }
    if let Some(kind) = policy.strip_prefix("fixed-") {
        let dp: DataPlane<CAP> = DataPlane::new();
        let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
        macro_rules! run {
            ($p:ty) => {{
                let _dev = Device::new(&dp, <$p>::POLICY, paths);
                for seq in 1..=ios {
                    black_box(io_as::<$p>(black_box(&dp), &mut cursor, seq));
                }
            }};
        }
        match kind {
            "round-robin" => run!(fixed::RoundRobin),
            "queue-depth" => run!(fixed::QueueDepth),
            "queue-bytes" => run!(fixed::QueueBytes),
            "service-time" => run!(fixed::ServiceTime),
            "adaptive" => run!(fixed::Adaptive),
            "numa" => run!(fixed::Locality),
            other => panic!("unknown policy {other}"),
        }
        return;
    }
    if policy == "select-round-robin" {
        let dp: DataPlane<CAP> = DataPlane::new();
        let _dev = Device::new(&dp, Policy::RoundRobin, paths);
        let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
        let io = mpath_benches::Io::read(1, mpath_benches::IO_BYTES, 3);
        let now = mpath_benches::Instant::from_nanos(1);
        for _ in 0..ios {
            black_box(black_box(&dp).select(&mut cursor, black_box(&io), now));
        }
        return;
    }
    if let Some(kind) = policy.strip_prefix("deep-") {
        let policy = match kind {
            "queue-depth" => Policy::QueueDepth,
            "queue-bytes" => Policy::QueueBytes,
            "service-time" => Policy::ServiceTime,
            "adaptive" => Policy::Adaptive,
            other => panic!("unknown policy {other}"),
        };
        let dp: DataPlane<CAP> = DataPlane::new();
        let _dev = Device::new(&dp, policy, paths);
        let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
        let mut q = DeepQueue::new(&dp, &mut cursor, 1 << 40, DEEP);
        for seq in 1..=ios {
            black_box(q.step(black_box(&dp), &mut cursor, seq));
        }
        return;
    }
    let policy = match policy.as_str() {
        "round-robin" => Policy::RoundRobin,
        "queue-depth" => Policy::QueueDepth,
        "queue-bytes" => Policy::QueueBytes,
        "service-time" => Policy::ServiceTime,
        "adaptive" => Policy::Adaptive,
        "numa" => Policy::Locality,
        other => panic!("unknown policy {other}"),
    };
    let dp: DataPlane<CAP> = DataPlane::new();
    let _dev = Device::new(&dp, policy, paths);
    let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
    for seq in 1..=ios {
        black_box(io(black_box(&dp), &mut cursor, seq));
    }
}
