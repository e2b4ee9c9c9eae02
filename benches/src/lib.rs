//! Shared setup for the `mpath-core` benchmarks in `benches/` and the
//! instruction-count example in `examples/`.
//!
//! Two things live here:
//!
//! - [`Device`]: a [`DataPlane`] with `n` paths added through a real
//!   [`Controller`], and [`io`], one `submit` + successful `complete`
//!   pair, the unit every data-plane bench measures.
//! - [`floor`]: the bare atomic work each selector cannot avoid, written with
//!   plain std atomics laid out like the core's (a header line holding the
//!   mask, 64-byte-aligned per-path hot counters), so a selector's time can
//!   be compared with the cost of the memory operations its policy needs.

use std::hint::black_box;

pub use mpath_core::selector::fixed;
pub use mpath_core::{
    Config, Controller, Cursor, DataPlane, FixedPolicy, GroupId, Instant, Io, Locality, NexusId,
    PathId, PathSpec, Policy, Ticket,
};

/// Path capacity of every benched device (the core's maximum).
pub const CAP: usize = 64;

/// The path counts the issue asks for.
pub const PATH_COUNTS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Virtual nanoseconds between two I/O starts (the adaptive selector needs a
/// clock that moves so latency samples are non-zero).
pub const STEP_NS: u64 = 100;

/// Virtual service time of every benched I/O.
pub const LATENCY_NS: u64 = 50;

/// I/O size used throughout.
pub const IO_BYTES: u32 = 4096;

/// A data plane with `n` paths published by a controller.
///
/// The controller owns nothing but bookkeeping after setup; it is kept so
/// the paths stay registered for the device's lifetime.
#[derive(Debug)]
pub struct Device<'a> {
    /// The shared data plane.
    pub dp: &'a DataPlane<CAP>,
    /// The control plane that added the paths.
    pub ctl: Controller<&'a DataPlane<CAP>, CAP>,
}

impl<'a> Device<'a> {
    /// Add `n` paths in one group to `dp` under `policy`. Path `i` has
    /// relative throughput `1 + i % 3` and locality `i % 2`.
    ///
    /// # Panics
    /// If the configuration or a path is refused (a bench setup bug).
    pub fn new(dp: &'a DataPlane<CAP>, policy: Policy, n: usize) -> Self {
        let mut cfg = Config::DEFAULT;
        cfg.policy = policy;
        let mut ctl: Controller<&DataPlane<CAP>, CAP> =
            Controller::new(dp, cfg).expect("valid config");
        for i in 0..n {
            let i32 = u32::try_from(i).expect("at most 64 paths");
            let spec = PathSpec::new(GroupId(1), NexusId(i32))
                .with_relative_throughput(1 + (i % 3) as u8)
                .with_locality(Locality(i32 % 2));
            ctl.add_path(spec, Instant::from_nanos(0))
                .expect("path accepted");
        }
        assert_eq!(
            dp.selectable().count_ones() as usize,
            n,
            "every path selectable"
        );
        Device { dp, ctl }
    }

    /// Start one I/O directly on every path (bypassing selection), so every
    /// path has one I/O outstanding. The counting selectors then see no idle
    /// path and scan the whole mask. Complete them with [`Device::drain`].
    pub fn load_every_path(&self, cursor: &mut Cursor<CAP>) -> Vec<Ticket> {
        let ids: Vec<PathId> = self.ctl.path_ids().collect();
        ids.into_iter()
            .enumerate()
            .map(|(k, p)| {
                match self.dp.start(
                    cursor,
                    p,
                    Io::read(u64::MAX - k as u64, IO_BYTES, 3),
                    Instant::from_nanos(0),
                ) {
                    Ok(t) => t,
                    Err(_) => panic!("admission budget spent (a bench setup bug)"),
                }
            })
            .collect()
    }

    /// Complete tickets from [`Device::load_every_path`].
    pub fn drain(&self, cursor: &mut Cursor<CAP>, tickets: Vec<Ticket>) {
        for t in tickets {
            let done = self.dp.complete(cursor, t, Instant::from_nanos(1));
            assert!(black_box(done).is_ok(), "a ticket of this device");
        }
    }
}

/// One `submit` (select + start) and its successful `complete`, with I/O
/// number `seq`: started at `seq * STEP_NS`, completed `LATENCY_NS` later.
///
/// # Panics
/// If no path is selectable (a bench setup bug).
#[inline(always)]
pub fn io(dp: &DataPlane<CAP>, cursor: &mut Cursor<CAP>, seq: u64) -> Io {
    let start = Instant::from_nanos(seq.wrapping_mul(STEP_NS));
    let end = Instant::from_nanos(seq.wrapping_mul(STEP_NS).wrapping_add(LATENCY_NS));
    let t = match dp.submit(
        cursor,
        black_box(Io::read(seq, IO_BYTES, 3)),
        black_box(start),
    ) {
        Ok(t) => t,
        Err(_) => panic!("no selectable path"),
    };
    match dp.complete(cursor, t, black_box(end)) {
        Ok(io) => io,
        Err(_) => panic!("a ticket of another device"),
    }
}

/// [`io`] through `DataPlane::submit_as::<P>`: the entry point for a
/// policy fixed when the embedder is built.
///
/// Written out rather than sharing a body with [`io`] through a closure:
/// that version measured 4-5 ns slower per I/O for the same instructions
/// (round-robin 14.1 ns against 9.4 ns, queue-depth 16.9 against 12.7,
/// same run), code layout again (`docs/ARCHITECTURE.md`, "Data-plane
/// performance notes").
///
/// # Panics
/// If no path is selectable (a bench setup bug).
#[inline(always)]
pub fn io_as<P: FixedPolicy>(dp: &DataPlane<CAP>, cursor: &mut Cursor<CAP>, seq: u64) -> Io {
    let start = Instant::from_nanos(seq.wrapping_mul(STEP_NS));
    let end = Instant::from_nanos(seq.wrapping_mul(STEP_NS).wrapping_add(LATENCY_NS));
    let t = match dp.submit_as::<P>(
        cursor,
        black_box(Io::read(seq, IO_BYTES, 3)),
        black_box(start),
    ) {
        Ok(t) => t,
        Err(_) => panic!("no selectable path"),
    };
    match dp.complete(cursor, t, black_box(end)) {
        Ok(io) => io,
        Err(_) => panic!("a ticket of another device"),
    }
}

/// A CPU that keeps `DEEP` I/Os outstanding: each step completes the
/// oldest and submits one more, as a closed-loop workload at queue depth
/// `DEEP` does, so the counting selectors see this CPU's own queue and
/// publish their part of the load as it crosses the bounds.
pub const DEEP: usize = 8;

/// State of one deep-queue CPU (see [`DEEP`]).
#[derive(Debug)]
pub struct DeepQueue {
    ring: std::collections::VecDeque<Ticket>,
}

impl DeepQueue {
    /// Fill the queue: `depth` I/Os submitted.
    ///
    /// # Panics
    /// If no path is selectable (a bench setup bug).
    pub fn new(dp: &DataPlane<CAP>, cursor: &mut Cursor<CAP>, base: u64, depth: usize) -> Self {
        let ring = (0..depth as u64)
            .map(|k| {
                let now = Instant::from_nanos((base | k).wrapping_mul(STEP_NS));
                dp.submit(cursor, Io::read(base | k, IO_BYTES, 3), now)
                    .unwrap_or_else(|_| panic!("no selectable path"))
            })
            .collect();
        DeepQueue { ring }
    }

    /// Complete the oldest I/O and submit I/O `seq`.
    ///
    /// # Panics
    /// If no path is selectable or the queue is empty (bench setup bugs).
    #[inline(always)]
    pub fn step(&mut self, dp: &DataPlane<CAP>, cursor: &mut Cursor<CAP>, seq: u64) -> Io {
        self.step_at(dp, cursor, seq, 0)
    }

    /// Complete the `k`-th oldest I/O (out of order) and submit I/O `seq`.
    ///
    /// # Panics
    /// If no path is selectable or `k` is past the queue (bench setup bugs).
    #[inline(always)]
    pub fn step_at(
        &mut self,
        dp: &DataPlane<CAP>,
        cursor: &mut Cursor<CAP>,
        seq: u64,
        k: usize,
    ) -> Io {
        let now = Instant::from_nanos(seq.wrapping_mul(STEP_NS));
        let old = self.ring.remove(k).expect("an I/O at k");
        let done = match dp.complete(cursor, old, black_box(now)) {
            Ok(io) => io,
            Err(_) => panic!("a ticket of another device"),
        };
        let t = dp
            .submit(
                cursor,
                black_box(Io::read(seq, IO_BYTES, 3)),
                black_box(now),
            )
            .unwrap_or_else(|_| panic!("no selectable path"));
        self.ring.push_back(t);
        done
    }

    /// Complete every I/O left, at its start time (a far-off completion
    /// time would feed the adaptive selector's estimate a huge sample).
    pub fn drain(self, dp: &DataPlane<CAP>, cursor: &mut Cursor<CAP>) {
        for t in self.ring {
            let at = t.started();
            assert!(dp.complete(cursor, t, at).is_ok());
        }
    }
}

/// Bare atomic floors, laid out like `mpath_core::DataPlane`.
pub mod floor {
    use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

    /// Device-wide published state on its own cache line.
    #[derive(Debug, Default)]
    #[repr(align(64))]
    pub struct Header {
        /// Selectable-path mask.
        pub mask: AtomicU64,
    }

    /// Per-path hot counters, one cache line per path (as `PathHot`).
    #[derive(Debug, Default)]
    #[repr(align(64))]
    pub struct Hot {
        /// Outstanding I/Os (queue-depth, adaptive).
        pub inflight: AtomicU32,
        /// Outstanding bytes (service-time, queue-bytes).
        pub bytes: AtomicU64,
        /// Latency EWMA (adaptive).
        pub ewma: AtomicU64,
    }

    /// A bare device: header, read-mostly relative throughputs, hot lines.
    #[derive(Debug)]
    pub struct Floor {
        /// Mask line.
        pub header: Header,
        /// Relative throughput per path (read-mostly, like `PathInfo`).
        pub rt: [AtomicU8; 64],
        /// Hot counters.
        pub hot: [Hot; 64],
    }

    impl Floor {
        /// `n` paths selectable, path `i` with relative throughput
        /// `1 + i % 3`.
        pub fn new(n: usize) -> Box<Self> {
            let f = Box::new(Floor {
                header: Header::default(),
                rt: std::array::from_fn(|i| AtomicU8::new(1 + (i % 3) as u8)),
                hot: std::array::from_fn(|_| Hot::default()),
            });
            let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
            f.header.mask.store(mask, Ordering::Release);
            f
        }

        #[inline(always)]
        fn hot(&self, slot: u32) -> &Hot {
            &self.hot[(slot & 63) as usize]
        }

        /// Round-robin floor: one `Acquire` load of the mask and the
        /// next-set-bit step after `*last` (per-CPU state).
        #[inline(always)]
        pub fn round_robin(&self, last: &mut u32) -> u32 {
            let mask = self.header.mask.load(Ordering::Acquire);
            let above = mask & u64::MAX.checked_shl(*last + 1).unwrap_or(0);
            let next = if above != 0 { above } else { mask }.trailing_zeros();
            *last = next;
            next
        }

        /// Relaxed scan of every selectable path's in-flight count; the
        /// first least-loaded slot.
        #[inline(always)]
        fn scan_count(&self) -> u32 {
            let mut m = self.header.mask.load(Ordering::Acquire);
            let (mut best, mut best_load) = (0, u32::MAX);
            while m != 0 {
                let i = m.trailing_zeros();
                m &= m - 1;
                let l = self.hot(i).inflight.load(Ordering::Relaxed);
                if l < best_load {
                    best = i;
                    best_load = l;
                }
            }
            best
        }

        /// Queue-depth floor: mask load, Relaxed scan of the in-flight
        /// counters, one `fetch_add` and one `fetch_sub` on the chosen path.
        #[inline(always)]
        pub fn queue_depth(&self) -> u32 {
            let s = self.scan_count();
            let h = self.hot(s);
            h.inflight.fetch_add(1, Ordering::Relaxed);
            h.inflight.fetch_sub(1, Ordering::Relaxed);
            s
        }

        /// Service-time floor: as queue-depth with a `u64` byte counter and
        /// one multiply per path (outstanding + incoming bytes times the
        /// relative throughput).
        #[inline(always)]
        pub fn service_time(&self, bytes: u64) -> u32 {
            let mut m = self.header.mask.load(Ordering::Acquire);
            let (mut best, mut best_load) = (0, u64::MAX);
            while m != 0 {
                let i = m.trailing_zeros();
                m &= m - 1;
                let b = self.hot(i).bytes.load(Ordering::Relaxed);
                let rt = u64::from(self.rt[(i & 63) as usize].load(Ordering::Relaxed));
                let l = b.wrapping_add(bytes).wrapping_mul(rt);
                if l < best_load {
                    best = i;
                    best_load = l;
                }
            }
            let h = self.hot(best);
            h.bytes.fetch_add(bytes, Ordering::Relaxed);
            h.bytes.fetch_sub(bytes, Ordering::Relaxed);
            best
        }

        /// Adaptive floor: the queue-depth floor plus a load and a store of
        /// the chosen path's EWMA word.
        #[inline(always)]
        pub fn adaptive(&self, sample: u64) -> u32 {
            let s = self.queue_depth();
            let e = &self.hot(s).ewma;
            let old = e.load(Ordering::Relaxed);
            e.store(old - (old >> 3) + (sample >> 3), Ordering::Relaxed);
            s
        }
    }

    /// One uncontended `fetch_add` + `fetch_sub` pair.
    #[inline(always)]
    pub fn inc_dec(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
        c.fetch_sub(1, Ordering::Relaxed);
    }

    /// Two counters in one cache line (no padding): what `PathHot` would be
    /// without `repr(align(64))`.
    #[derive(Debug, Default)]
    #[repr(C, align(64))]
    pub struct Packed {
        /// Thread 0's counter.
        pub a: AtomicU64,
        /// Thread 1's counter, 8 bytes further on the same line.
        pub b: AtomicU64,
    }

    /// One counter per cache line.
    #[derive(Debug, Default)]
    #[repr(align(64))]
    pub struct Line(pub AtomicU64);

    /// Two counters on adjacent cache lines (64 bytes apart, like two
    /// paths' `PathHot`).
    #[derive(Debug, Default)]
    pub struct Padded {
        /// Thread 0's counter.
        pub a: Line,
        /// Thread 1's counter.
        pub b: Line,
    }

    /// One counter per 128-byte pair of cache lines (what crossbeam's
    /// `CachePadded` uses on x86_64, against the adjacent-line prefetcher).
    #[derive(Debug, Default)]
    #[repr(align(128))]
    pub struct Line128(pub AtomicU64);

    /// Two counters 128 bytes apart.
    #[derive(Debug, Default)]
    pub struct Padded128 {
        /// Thread 0's counter.
        pub a: Line128,
        /// Thread 1's counter.
        pub b: Line128,
    }
}

pub mod reference;
