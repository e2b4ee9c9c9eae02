//! Safe wrappers over the C reference in `c/reference.c`: a clean-room
//! model of the Linux kernel's per-I/O multipath work, built with `gcc -O2`
//! by `build.rs`, so the benches can time the kernel's way beside ours in
//! one run.
//!
//! - [`NvmeRef`]: NVMe native multipath. Round-robin walks the path list
//!   from the head's current path and stores the new one (shared by every
//!   CPU of the node); queue-depth walks every path reading its
//!   controller's `nr_active`, increments it at start and decrements it
//!   (compare-and-swap, "if positive") at completion.
//! - [`StRef`]: dm-multipath's `service-time` selector: the selector
//!   spinlock around a scan of every valid path, the chosen path moved to
//!   the list's tail, then the in-flight byte counter added at start and
//!   subtracted at end, each step through the selector's ops table.
//!
//! This is the only module of the crate with `unsafe` code: the `extern`
//! declarations and the calls through them. The C side allocates each
//! device (so the layout is the C compiler's) and every function checks
//! its path index against the array bound, so the wrappers below need
//! only keep the pointer valid (created non-null, freed once in `Drop`)
//! and take `&mut self` for the test hooks that write plain fields.
#![allow(unsafe_code)]

use std::ptr::NonNull;

/// Most paths the C reference holds (its arrays' size).
pub const MAX_PATHS: usize = 64;

mod ffi {
    use core::ffi::c_int;

    #[repr(C)]
    pub struct RefNvme {
        _opaque: [u8; 0],
    }

    #[repr(C)]
    pub struct RefSt {
        _opaque: [u8; 0],
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct RefReq {
        pub path: i32,
        pub flags: u32,
    }

    pub const NVME_NUMA: i32 = 0;
    pub const NVME_RR: i32 = 1;
    pub const NVME_QD: i32 = 2;

    extern "C" {
        pub fn ref_nvme_new(n: u32, policy: i32) -> *mut RefNvme;
        pub fn ref_nvme_free(h: *mut RefNvme);
        pub fn ref_nvme_select(h: *mut RefNvme) -> i32;
        pub fn ref_nvme_start(h: *mut RefNvme, rq: *mut RefReq, path: i32);
        pub fn ref_nvme_end(h: *mut RefNvme, rq: *mut RefReq);
        pub fn ref_nvme_io(h: *mut RefNvme) -> i32;
        pub fn ref_nvme_set_ana(h: *mut RefNvme, path: u32, ana_state: i32);
        pub fn ref_nvme_set_live(h: *mut RefNvme, path: u32, live: c_int);
        pub fn ref_nvme_nr_active(h: *const RefNvme, path: u32) -> i32;
        pub fn ref_nvme_set_nr_active(h: *mut RefNvme, path: u32, v: i32);
        pub fn ref_nvme_current(h: *const RefNvme) -> i32;

        pub fn ref_st_new(n: u32) -> *mut RefSt;
        pub fn ref_st_free(s: *mut RefSt);
        pub fn ref_st_select(s: *mut RefSt, nr_bytes: usize) -> i32;
        pub fn ref_st_start(s: *mut RefSt, path: i32, nr_bytes: usize);
        pub fn ref_st_end(s: *mut RefSt, path: i32, nr_bytes: usize);
        pub fn ref_st_io(s: *mut RefSt, nr_bytes: usize) -> i32;
        pub fn ref_st_set_throughput(s: *mut RefSt, path: u32, rt: u32);
        pub fn ref_st_in_flight(s: *const RefSt, path: u32) -> i32;
        pub fn ref_st_order(s: *const RefSt, out: *mut i32, cap: u32) -> u32;
    }
}

/// A C path index (`-1` for none) as an `Option`.
fn path(raw: i32) -> Option<usize> {
    usize::try_from(raw).ok()
}

/// `path` as the C side's index type, if it is one of its slots.
fn slot(path: usize) -> Option<u32> {
    if path < MAX_PATHS {
        u32::try_from(path).ok()
    } else {
        None
    }
}

/// NVMe iopolicies the reference models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NvmePolicy {
    /// `numa` (the kernel's default): the cached path while it is
    /// optimized. Only here so the dispatch has all its arms.
    Numa,
    /// `round-robin`.
    RoundRobin,
    /// `queue-depth`.
    QueueDepth,
}

/// ANA states the selection distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnaState {
    /// Optimized: preferred.
    Optimized,
    /// Non-optimized: used when no optimized path is usable.
    NonOptimized,
    /// Inaccessible: never selected.
    Inaccessible,
}

/// An NVMe namespace head with its paths, as the C reference lays it out.
#[derive(Debug)]
pub struct NvmeRef {
    head: NonNull<ffi::RefNvme>,
}

// SAFETY: the C functions reachable through `&self` only read fields
// written before the value was shared (`&mut self` hooks) or use C11
// atomics; the allocation is owned and freed once.
unsafe impl Send for NvmeRef {}
// SAFETY: as for `Send`: shared access is atomics and immutable fields.
unsafe impl Sync for NvmeRef {}

/// A request's multipath bookkeeping between [`NvmeRef::start`] and
/// [`NvmeRef::end`].
#[derive(Debug)]
pub struct NvmeRequest(ffi::RefReq);

impl NvmeRequest {
    /// The path the request was started on.
    pub fn path(&self) -> Option<usize> {
        path(self.0.path)
    }
}

impl NvmeRef {
    /// `paths` live, optimized paths (1 to [`MAX_PATHS`]) under `policy`;
    /// `None` when the count is out of range or C's allocation failed.
    pub fn new(paths: usize, policy: NvmePolicy) -> Option<Self> {
        let n = u32::try_from(paths).ok()?;
        let p = match policy {
            NvmePolicy::Numa => ffi::NVME_NUMA,
            NvmePolicy::RoundRobin => ffi::NVME_RR,
            NvmePolicy::QueueDepth => ffi::NVME_QD,
        };
        // SAFETY: no preconditions; a null return is handled.
        let head = NonNull::new(unsafe { ffi::ref_nvme_new(n, p) })?;
        Some(NvmeRef { head })
    }

    /// `nvme_find_path`: the chosen path.
    pub fn select(&self) -> Option<usize> {
        // SAFETY: `head` is live; selection only touches atomics and
        // fields the `&mut` hooks wrote.
        path(unsafe { ffi::ref_nvme_select(self.head.as_ptr()) })
    }

    /// Start a request on `path` (`nvme_mpath_start_request`).
    ///
    /// # Panics
    /// If `path` is not below [`MAX_PATHS`].
    pub fn start(&self, path: usize) -> NvmeRequest {
        let i = slot(path).expect("a path index of the reference");
        let mut rq = ffi::RefReq::default();
        // SAFETY: `head` is live; `i < MAX_PATHS` bounds the C index.
        unsafe { ffi::ref_nvme_start(self.head.as_ptr(), &mut rq, i as i32) };
        NvmeRequest(rq)
    }

    /// Complete a request (`nvme_mpath_end_request`).
    pub fn end(&self, mut rq: NvmeRequest) {
        // SAFETY: `head` is live; requests are only made by `start`, so
        // the path index is in bounds.
        unsafe { ffi::ref_nvme_end(self.head.as_ptr(), &mut rq.0) }
    }

    /// One I/O: select, start, end, in one C call.
    #[inline]
    pub fn io(&self) -> Option<usize> {
        // SAFETY: as `select`; start and end use the selected index.
        path(unsafe { ffi::ref_nvme_io(self.head.as_ptr()) })
    }

    /// Set a path's ANA state.
    pub fn set_ana(&mut self, path: usize, state: AnaState) {
        let code = match state {
            AnaState::Optimized => 1,
            AnaState::NonOptimized => 2,
            AnaState::Inaccessible => 3,
        };
        if let Some(i) = slot(path) {
            // SAFETY: `head` is live and `&mut self` excludes readers.
            unsafe { ffi::ref_nvme_set_ana(self.head.as_ptr(), i, code) }
        }
    }

    /// Mark a path's controller live or not (not live: disabled).
    pub fn set_live(&mut self, path: usize, live: bool) {
        if let Some(i) = slot(path) {
            // SAFETY: `head` is live and `&mut self` excludes readers.
            unsafe { ffi::ref_nvme_set_live(self.head.as_ptr(), i, i32::from(live)) }
        }
    }

    /// A path's controller's `nr_active`.
    pub fn nr_active(&self, path: usize) -> Option<i32> {
        let i = slot(path)?;
        // SAFETY: `head` is live; an atomic load.
        Some(unsafe { ffi::ref_nvme_nr_active(self.head.as_ptr(), i) })
    }

    /// Overwrite a path's controller's `nr_active`.
    pub fn set_nr_active(&mut self, path: usize, v: i32) {
        if let Some(i) = slot(path) {
            // SAFETY: `head` is live; an atomic store.
            unsafe { ffi::ref_nvme_set_nr_active(self.head.as_ptr(), i, v) }
        }
    }

    /// The head's cached current path.
    pub fn current(&self) -> Option<usize> {
        // SAFETY: `head` is live; an atomic load.
        path(unsafe { ffi::ref_nvme_current(self.head.as_ptr()) })
    }
}

impl Drop for NvmeRef {
    fn drop(&mut self) {
        // SAFETY: allocated by `ref_nvme_new`, freed only here.
        unsafe { ffi::ref_nvme_free(self.head.as_ptr()) }
    }
}

/// A dm-multipath `service-time` selector with its valid paths; path `i`
/// has relative throughput `1 + i % 3`, as the Rust benches' paths.
#[derive(Debug)]
pub struct StRef {
    sel: NonNull<ffi::RefSt>,
}

// SAFETY: selection runs under the C selector's spinlock; the counters are
// C11 atomics; the `&mut self` hooks write the rest.
unsafe impl Send for StRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for StRef {}

impl StRef {
    /// `paths` valid paths (1 to [`MAX_PATHS`]); `None` when out of range
    /// or C's allocation failed.
    pub fn new(paths: usize) -> Option<Self> {
        let n = u32::try_from(paths).ok()?;
        // SAFETY: no preconditions; a null return is handled.
        let sel = NonNull::new(unsafe { ffi::ref_st_new(n) })?;
        Some(StRef { sel })
    }

    /// `st_select_path` for an I/O of `bytes`.
    pub fn select(&self, bytes: usize) -> Option<usize> {
        // SAFETY: `sel` is live; the C side takes its lock.
        path(unsafe { ffi::ref_st_select(self.sel.as_ptr(), bytes) })
    }

    /// `st_start_io`: add `bytes` to the path's in-flight size.
    pub fn start(&self, path: usize, bytes: usize) {
        if let Some(i) = slot(path) {
            // SAFETY: `sel` is live; the index is bounded; an atomic add.
            unsafe { ffi::ref_st_start(self.sel.as_ptr(), i as i32, bytes) }
        }
    }

    /// `st_end_io`: subtract `bytes` from the path's in-flight size.
    pub fn end(&self, path: usize, bytes: usize) {
        if let Some(i) = slot(path) {
            // SAFETY: `sel` is live; the index is bounded; an atomic sub.
            unsafe { ffi::ref_st_end(self.sel.as_ptr(), i as i32, bytes) }
        }
    }

    /// One I/O of `bytes`: select, start, end, in one C call.
    #[inline]
    pub fn io(&self, bytes: usize) -> Option<usize> {
        // SAFETY: as `select`; start and end use the selected index.
        path(unsafe { ffi::ref_st_io(self.sel.as_ptr(), bytes) })
    }

    /// Set a path's relative throughput (clamped to 100, as dm's range).
    pub fn set_throughput(&mut self, path: usize, rt: u32) {
        if let Some(i) = slot(path) {
            // SAFETY: `sel` is live and `&mut self` excludes readers.
            unsafe { ffi::ref_st_set_throughput(self.sel.as_ptr(), i, rt) }
        }
    }

    /// A path's in-flight bytes.
    pub fn in_flight(&self, path: usize) -> Option<i32> {
        let i = slot(path)?;
        // SAFETY: `sel` is live; an atomic load.
        Some(unsafe { ffi::ref_st_in_flight(self.sel.as_ptr(), i) })
    }

    /// The valid paths in list order (the next scan's order).
    pub fn order(&mut self) -> Vec<usize> {
        let mut out = [0i32; MAX_PATHS];
        // SAFETY: `sel` is live, `&mut self` excludes a concurrent move,
        // and `out` has room for `MAX_PATHS` entries.
        let n = unsafe { ffi::ref_st_order(self.sel.as_ptr(), out.as_mut_ptr(), 64) };
        out.iter()
            .take(n as usize)
            .filter_map(|&p| path(p))
            .collect()
    }
}

impl Drop for StRef {
    fn drop(&mut self) {
        // SAFETY: allocated by `ref_st_new`, freed only here.
        unsafe { ffi::ref_st_free(self.sel.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvme_round_robin_rotates_and_publishes() {
        let h = NvmeRef::new(4, NvmePolicy::RoundRobin).unwrap();
        assert_eq!(h.current(), None);
        let picks: Vec<_> = (0..6).map(|_| h.io().unwrap()).collect();
        // No cached path: the first optimized one; then the next each time.
        assert_eq!(picks, [0, 1, 2, 3, 0, 1]);
        assert_eq!(h.current(), Some(1));
        // Round-robin counts nothing.
        assert!((0..4).all(|p| h.nr_active(p) == Some(0)));
    }

    #[test]
    fn nvme_round_robin_prefers_optimized_and_skips_disabled() {
        let mut h = NvmeRef::new(4, NvmePolicy::RoundRobin).unwrap();
        h.set_ana(1, AnaState::NonOptimized);
        h.set_live(2, false);
        let picks: Vec<_> = (0..4).map(|_| h.select().unwrap()).collect();
        assert_eq!(picks, [0, 3, 0, 3]);
        // Every other path non-optimized: the optimized current path stays.
        h.set_ana(2, AnaState::NonOptimized);
        h.set_live(2, true);
        h.set_ana(3, AnaState::NonOptimized);
        assert_eq!(h.select(), Some(0));
        assert_eq!(h.select(), Some(0));
        // Current path inaccessible: the last non-optimized path walked.
        h.set_ana(0, AnaState::Inaccessible);
        assert_eq!(h.select(), Some(3));
        // A single path is returned while usable.
        let one = NvmeRef::new(1, NvmePolicy::RoundRobin).unwrap();
        assert_eq!([one.io(), one.io()], [Some(0), Some(0)]);
    }

    #[test]
    fn nvme_queue_depth_picks_least_active_and_counts() {
        let mut h = NvmeRef::new(4, NvmePolicy::QueueDepth).unwrap();
        // Idle: the first path every time (no rotation, as the kernel).
        assert_eq!([h.io(), h.io()], [Some(0), Some(0)]);
        for (p, n) in [(0, 3), (1, 1), (2, 1), (3, 2)] {
            h.set_nr_active(p, n);
        }
        assert_eq!(h.select(), Some(1), "first of the least active");
        // An idle non-optimized path loses to a busy optimized one.
        h.set_ana(0, AnaState::NonOptimized);
        h.set_nr_active(0, 0);
        assert_eq!(h.select(), Some(1));
        // Start counts on the chosen controller, end uncounts it.
        let rq = h.start(2);
        assert_eq!(rq.path(), Some(2));
        assert_eq!(h.nr_active(2), Some(2));
        h.end(rq);
        assert_eq!(h.nr_active(2), Some(1));
        // The end never takes a count below zero.
        let rq = h.start(3);
        h.set_nr_active(3, 0);
        h.end(rq);
        assert_eq!(h.nr_active(3), Some(0));
        // Under round-robin, start counts nothing.
        let rr = NvmeRef::new(2, NvmePolicy::RoundRobin).unwrap();
        let rq = rr.start(1);
        assert_eq!(rr.nr_active(1), Some(0));
        rr.end(rq);
        assert_eq!(rr.nr_active(1), Some(0));
    }

    /// dm's `st_compare_load` as its comment states the rules, transcribed
    /// independently of the C: `Less` when `a` is the better path.
    fn dm_compare(a: (u64, u64), b: (u64, u64), incoming: u64) -> std::cmp::Ordering {
        let ((ab, ar), (bb, br)) = (a, b);
        if ar == br {
            return ab.cmp(&bb);
        }
        if ab == bb || ar == 0 || br == 0 {
            return br.cmp(&ar);
        }
        ((ab + incoming) * br)
            .cmp(&((bb + incoming) * ar))
            .then(br.cmp(&ar))
    }

    #[test]
    fn dm_service_time_follows_dms_comparison() {
        let bytes = [0u64, 512, 4096, 8192, 12288, 1 << 20];
        let rts = [0u64, 1, 2, 3, 100];
        let mut checked = 0;
        for &ab in &bytes {
            for &ar in &rts {
                for &bb in &bytes {
                    for &br in &rts {
                        for inc in [512u64, 4096] {
                            let mut s = StRef::new(2).unwrap();
                            s.set_throughput(0, ar as u32);
                            s.set_throughput(1, br as u32);
                            s.start(0, ab as usize);
                            s.start(1, bb as usize);
                            // The scan keeps the first path unless the second
                            // compares strictly better.
                            let want = if dm_compare((bb, br), (ab, ar), inc).is_lt() {
                                1
                            } else {
                                0
                            };
                            assert_eq!(
                                s.select(inc as usize),
                                Some(want),
                                "({ab},{ar}) vs ({bb},{br}) +{inc}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 5 * 6 * 5 * 2);
    }

    #[test]
    fn dm_service_time_cases_and_accounting() {
        // (in-flight bytes, relative throughput) per path, I/O size, expected.
        type Case = (&'static [(usize, u32)], usize, usize);
        let cases: &[Case] = &[
            (&[(8192, 1), (4096, 1)], 4096, 1),
            (&[(4096, 1), (4096, 2)], 4096, 1),
            (&[(0, 0), (1 << 30, 1)], 4096, 1),
            (&[(8192, 2), (2048, 1)], 4096, 0),
            (&[(16384, 2), (4096, 1)], 4096, 1),
        ];
        for &(paths, size, want) in cases {
            let mut s = StRef::new(paths.len()).unwrap();
            for (i, &(b, rt)) in paths.iter().enumerate() {
                s.set_throughput(i, rt);
                s.start(i, b);
            }
            assert_eq!(s.select(size), Some(want), "{paths:?} +{size}");
        }
        // Equal paths take turns: the chosen one moves to the list's tail.
        let mut s = StRef::new(3).unwrap();
        for p in 0..3 {
            s.set_throughput(p, 1);
        }
        let picks: Vec<_> = (0..4).map(|_| s.io(4096).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        assert_eq!(s.order(), [1, 2, 0]);
        s.start(1, 4096);
        assert_eq!(s.in_flight(1), Some(4096));
        assert_eq!(s.select(4096), Some(2));
        s.end(1, 4096);
        assert_eq!(s.in_flight(1), Some(0));
        // The default paths (throughput 1 + i % 3), idle: path 2, the first
        // with throughput 3.
        let s = StRef::new(8).unwrap();
        assert_eq!(s.io(4096), Some(2));
    }

    #[test]
    fn out_of_range_path_counts_are_refused() {
        assert!(NvmeRef::new(0, NvmePolicy::RoundRobin).is_none());
        assert!(NvmeRef::new(65, NvmePolicy::QueueDepth).is_none());
        assert!(StRef::new(0).is_none());
        assert!(StRef::new(65).is_none());
    }
}
