//! `mpath-core` data-plane benchmarks: one `submit` (select + start) and its
//! successful `complete` per iteration, per policy and path count; the bare
//! atomic floors each selector is compared with; one vs two threads on one
//! device; the cost of false sharing; and the C reference of the kernel's
//! per-I/O work (`reference/...`), timed in the same run. See
//! `benches/README.md`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mpath_benches::floor::{self, Floor, Packed, Padded, Padded128};
use mpath_benches::reference::{NvmePolicy, NvmeRef, StRef};
use mpath_benches::{
    fixed, io, io_as, Cursor, DataPlane, DeepQueue, Device, FixedPolicy, Locality, Policy, CAP,
    DEEP, IO_BYTES, PATH_COUNTS,
};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::Duration;

/// Policies in table order, with the group name used in criterion's ids.
const POLICIES: [(Policy, &str); 6] = [
    (Policy::RoundRobin, "round-robin"),
    (Policy::QueueDepth, "queue-depth"),
    (Policy::QueueBytes, "queue-bytes"),
    (Policy::ServiceTime, "service-time"),
    (Policy::Adaptive, "adaptive"),
    (Policy::Locality, "numa"),
];

/// select + complete, idle device: one I/O in flight at a time.
fn select_complete(c: &mut Criterion) {
    for (policy, name) in POLICIES {
        let mut g = c.benchmark_group(format!("select_complete/{name}"));
        for n in PATH_COUNTS {
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                let dp: DataPlane<CAP> = DataPlane::new();
                let _dev = Device::new(&dp, policy, n);
                let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
                let mut seq = 0u64;
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    black_box(io(black_box(&dp), &mut cursor, seq))
                });
            });
        }
        g.finish();
    }
}

/// select + complete through `submit_as::<P>` (the policy fixed at build
/// time), 1, 8 and 64 paths.
fn select_complete_fixed(c: &mut Criterion) {
    fixed_group::<fixed::RoundRobin>(c, "round-robin");
    fixed_group::<fixed::QueueDepth>(c, "queue-depth");
    fixed_group::<fixed::QueueBytes>(c, "queue-bytes");
    fixed_group::<fixed::ServiceTime>(c, "service-time");
    fixed_group::<fixed::Adaptive>(c, "adaptive");
    fixed_group::<fixed::Locality>(c, "numa");
}

fn fixed_group<P: FixedPolicy>(c: &mut Criterion, name: &str) {
    let mut g = c.benchmark_group(format!("select_complete_fixed/{name}"));
    for n in [1usize, 8, 64] {
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let dp: DataPlane<CAP> = DataPlane::new();
            let _dev = Device::new(&dp, P::POLICY, n);
            let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
            let mut seq = 0u64;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                black_box(io_as::<P>(black_box(&dp), &mut cursor, seq))
            });
        });
    }
    g.finish();
}

/// `DataPlane::select` alone (no start, no completion), round-robin at 1, 8
/// and 64 paths: what compares with the round-robin floor and the
/// reference's selection.
fn select_only(c: &mut Criterion) {
    let mut g = c.benchmark_group("select_only/round-robin");
    for n in [1usize, 8, 64] {
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let dp: DataPlane<CAP> = DataPlane::new();
            let _dev = Device::new(&dp, Policy::RoundRobin, n);
            let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
            let io = mpath_benches::Io::read(1, IO_BYTES, 3);
            let now = mpath_benches::Instant::from_nanos(1);
            b.iter(|| black_box(black_box(&dp).select(&mut cursor, black_box(&io), now)));
        });
    }
    g.finish();
}

/// select + complete with one I/O outstanding on every path, so the counting
/// selectors cannot stop their scan at an idle path.
fn select_complete_loaded(c: &mut Criterion) {
    for (policy, name) in [
        (Policy::QueueDepth, "queue-depth"),
        (Policy::QueueBytes, "queue-bytes"),
    ] {
        let mut g = c.benchmark_group(format!("select_complete_loaded/{name}"));
        for n in PATH_COUNTS {
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                let dp: DataPlane<CAP> = DataPlane::new();
                let dev = Device::new(&dp, policy, n);
                let mut bg: Cursor<CAP> = Cursor::new(Locality(1));
                let held = dev.load_every_path(&mut bg);
                let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
                let mut seq = 0u64;
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    black_box(io(black_box(&dp), &mut cursor, seq))
                });
                dev.drain(&mut bg, held);
            });
        }
        g.finish();
    }
}

/// The bare atomic work per policy, same path counts.
fn floors(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor/inc_dec");
    let counter = floor::Line::default();
    g.bench_function("pair", |b| {
        b.iter(|| floor::inc_dec(black_box(&counter.0)));
    });
    g.finish();

    floor_group(c, "round-robin", |f, last, _| f.round_robin(last));
    floor_group(c, "queue-depth", |f, _, _| f.queue_depth());
    floor_group(c, "service-time", |f, _, _| f.service_time(4096));
    floor_group(c, "adaptive", |f, _, seq| f.adaptive(seq));
}

/// One floor at every path count. Generic over the closure so the floor is
/// inlined into criterion's loop, as the data plane's methods are.
fn floor_group<F>(c: &mut Criterion, name: &str, kind: F)
where
    F: Fn(&Floor, &mut u32, u64) -> u32 + Copy,
{
    let mut g = c.benchmark_group(format!("floor/{name}"));
    for n in PATH_COUNTS {
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let f = Floor::new(n);
            let mut last = 63u32;
            let mut seq = 0u64;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                black_box(kind(black_box(&f), &mut last, seq))
            });
        });
    }
    g.finish();
}

/// Run `iters` I/Os on each of `threads` threads sharing `dp`, each with its
/// own cursor, started together; the slowest thread's time.
fn run_threads(dp: &DataPlane<CAP>, threads: usize, iters: u64) -> Duration {
    run_threads_with(
        dp,
        threads,
        iters,
        |_, _| (),
        |(), cursor, seq| io(dp, cursor, seq),
        |(), _| {},
    )
}

/// `run_threads` with per-thread state: `setup` before the clock starts
/// (given the thread's cursor and its I/O number base), `step` per I/O,
/// `finish` after the clock stops.
fn run_threads_with<S>(
    dp: &DataPlane<CAP>,
    threads: usize,
    iters: u64,
    setup: impl Fn(&mut Cursor<CAP>, u64) -> S + Sync,
    step: impl Fn(&mut S, &mut Cursor<CAP>, u64) -> mpath_benches::Io + Sync,
    finish: impl Fn(S, &mut Cursor<CAP>) + Sync,
) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (barrier, setup, step, finish) = (&barrier, &setup, &step, &finish);
                s.spawn(move || {
                    let mut cursor: Cursor<CAP> = Cursor::new(Locality(0));
                    let base = (k as u64) << 48;
                    let mut state = setup(&mut cursor, base);
                    barrier.wait();
                    let t0 = std::time::Instant::now();
                    for i in 0..iters {
                        black_box(step(&mut state, &mut cursor, base | i));
                    }
                    let spent = t0.elapsed();
                    finish(state, &mut cursor);
                    dp.park(&mut cursor);
                    spent
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

/// One vs two threads on one device at 8 paths. Reported time is per I/O
/// per thread; aggregate scaling is `2 * t(1 thread) / t(2 threads)`.
fn threads(c: &mut Criterion) {
    for (policy, name) in [
        (Policy::RoundRobin, "round-robin"),
        (Policy::QueueDepth, "queue-depth"),
        (Policy::QueueBytes, "queue-bytes"),
        (Policy::ServiceTime, "service-time"),
        (Policy::Adaptive, "adaptive"),
    ] {
        let mut g = c.benchmark_group(format!("threads_8_paths/{name}"));
        for t in [1usize, 2] {
            g.bench_with_input(BenchmarkId::from_parameter(t), &t, |b, &t| {
                let dp: DataPlane<CAP> = DataPlane::new();
                let _dev = Device::new(&dp, policy, 8);
                b.iter_custom(|iters| run_threads(&dp, t, iters));
            });
        }
        g.finish();
    }
}

/// As `threads`, with each thread keeping `DEEP` I/Os outstanding (each
/// step completes its oldest and submits one more).
fn threads_deep(c: &mut Criterion) {
    for (policy, name) in [
        (Policy::QueueDepth, "queue-depth"),
        (Policy::QueueBytes, "queue-bytes"),
        (Policy::ServiceTime, "service-time"),
        (Policy::Adaptive, "adaptive"),
    ] {
        let mut g = c.benchmark_group(format!("threads_deep_8_paths/{name}"));
        for t in [1usize, 2] {
            g.bench_with_input(BenchmarkId::from_parameter(t), &t, |b, &t| {
                let dp: DataPlane<CAP> = DataPlane::new();
                let _dev = Device::new(&dp, policy, 8);
                b.iter_custom(|iters| run_threads_deep(&dp, t, iters));
            });
        }
        g.finish();
    }
}

fn run_threads_deep(dp: &DataPlane<CAP>, threads: usize, iters: u64) -> Duration {
    run_threads_with(
        dp,
        threads,
        iters,
        |cursor, base| DeepQueue::new(dp, cursor, base | (1 << 40), DEEP),
        |q, cursor, seq| q.step(dp, cursor, seq),
        |q, cursor| q.drain(dp, cursor),
    )
}

/// Run `work` on `threads` threads started together, `iters` times each,
/// thread `k` getting argument `k`; the slowest thread's time.
fn hammer<F: Fn(usize) + Sync>(threads: usize, iters: u64, work: F) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let t0 = std::time::Instant::now();
                    for _ in 0..iters {
                        work(k);
                    }
                    t0.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

/// Two threads each doing `fetch_add` + `fetch_sub` on a counter of its own:
/// same cache line vs separate lines, plus both on one counter (what
/// queue-depth does when two CPUs pick the same path). A control with no
/// shared writes (the round-robin floor) shows what two threads can gain on
/// this machine at all.
fn sharing(c: &mut Criterion) {
    let mut g = c.benchmark_group("sharing/control_rr_floor");
    let f = Floor::new(8);
    for t in [1usize, 2] {
        g.bench_with_input(BenchmarkId::from_parameter(t), &t, |b, &t| {
            b.iter_custom(|iters| {
                let f = &*f;
                hammer(t, iters, |k| {
                    // Per-thread position; the mask line is only read.
                    let mut last = k as u32;
                    black_box(black_box(f).round_robin(&mut last));
                })
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sharing/inc_dec");
    let packed = Packed::default();
    let padded = Padded::default();
    let padded128 = Padded128::default();
    g.bench_function("1_thread", |b| {
        b.iter_custom(|iters| hammer(1, iters, |_| floor::inc_dec(black_box(&padded.a.0))));
    });
    g.bench_function("2_threads_separate_lines", |b| {
        b.iter_custom(|iters| {
            hammer(2, iters, |k| {
                floor::inc_dec(black_box(if k == 0 { &padded.a.0 } else { &padded.b.0 }))
            })
        });
    });
    g.bench_function("2_threads_128_bytes_apart", |b| {
        b.iter_custom(|iters| {
            hammer(2, iters, |k| {
                floor::inc_dec(black_box(if k == 0 {
                    &padded128.a.0
                } else {
                    &padded128.b.0
                }))
            })
        });
    });
    g.bench_function("2_threads_same_line", |b| {
        b.iter_custom(|iters| {
            hammer(2, iters, |k| {
                floor::inc_dec(black_box(if k == 0 { &packed.a } else { &packed.b }))
            })
        });
    });
    g.bench_function("2_threads_same_counter", |b| {
        b.iter_custom(|iters| hammer(2, iters, |_| floor::inc_dec(black_box(&padded.a.0))));
    });
    g.finish();
}

/// The kernel's policies, as the C reference models them, in table order.
#[derive(Clone, Copy)]
enum RefPolicy {
    RoundRobin,
    QueueDepth,
    ServiceTime,
}

const REF_POLICIES: [(RefPolicy, &str); 3] = [
    (RefPolicy::RoundRobin, "round-robin"),
    (RefPolicy::QueueDepth, "queue-depth"),
    (RefPolicy::ServiceTime, "service-time"),
];

/// A C reference device: an NVMe head or a dm service-time selector.
enum RefDevice {
    Nvme(NvmeRef),
    St(StRef),
}

impl RefDevice {
    fn new(policy: RefPolicy, n: usize) -> Self {
        match policy {
            RefPolicy::RoundRobin => {
                RefDevice::Nvme(NvmeRef::new(n, NvmePolicy::RoundRobin).expect("paths"))
            }
            RefPolicy::QueueDepth => {
                RefDevice::Nvme(NvmeRef::new(n, NvmePolicy::QueueDepth).expect("paths"))
            }
            RefPolicy::ServiceTime => RefDevice::St(StRef::new(n).expect("paths")),
        }
    }

    /// One I/O: select, start, end (one call into C).
    #[inline(always)]
    fn io(&self) -> Option<usize> {
        match self {
            RefDevice::Nvme(h) => h.io(),
            RefDevice::St(s) => s.io(IO_BYTES as usize),
        }
    }
}

/// The C reference, one I/O at a time, at every path count: the kernel's
/// per-I/O work for the same policies as `select_complete`.
fn reference(c: &mut Criterion) {
    for (policy, name) in REF_POLICIES {
        let mut g = c.benchmark_group(format!("reference/{name}"));
        for n in PATH_COUNTS {
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                let dev = RefDevice::new(policy, n);
                b.iter(|| black_box(black_box(&dev).io()));
            });
        }
        g.finish();
    }
    // Queue-depth with one request held on every path, as
    // `select_complete_loaded`: the walk cannot stop at an idle path.
    let mut g = c.benchmark_group("reference_loaded/queue-depth");
    for n in PATH_COUNTS {
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let h = NvmeRef::new(n, NvmePolicy::QueueDepth).expect("paths");
            let held: Vec<_> = (0..n).map(|p| h.start(p)).collect();
            b.iter(|| black_box(black_box(&h).io()));
            held.into_iter().for_each(|rq| h.end(rq));
        });
    }
    g.finish();
}

/// One vs two threads on one C reference device at 8 paths, measured as
/// `threads_8_paths`.
fn reference_threads(c: &mut Criterion) {
    for (policy, name) in REF_POLICIES {
        let mut g = c.benchmark_group(format!("reference_threads_8_paths/{name}"));
        for t in [1usize, 2] {
            g.bench_with_input(BenchmarkId::from_parameter(t), &t, |b, &t| {
                let dev = RefDevice::new(policy, 8);
                b.iter_custom(|iters| {
                    let dev = &dev;
                    hammer(t, iters, |_| {
                        black_box(black_box(dev).io());
                    })
                });
            });
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = select_complete, select_complete_fixed, select_only, select_complete_loaded, floors, threads,
        threads_deep, sharing, reference, reference_threads
}
criterion_main!(benches);
