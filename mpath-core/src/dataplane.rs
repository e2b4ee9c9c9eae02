//! The data plane: per-I/O path selection and accounting, `&self` and
//! lock-free.
//!
//! # Concurrency contract
//!
//! A [`DataPlane`] is shared by every CPU that submits or completes I/O. Its
//! methods take `&self`, never block, never loop on contention, and touch only
//! atomics: the published selectable-path mask (one `AtomicU64`, read with
//! one load per selection), read-mostly per-path facts (id, locality,
//! relative throughput), and per-path hot counters, each path's on its own
//! cache line, that only the counting selectors write.
//!
//! Per-CPU (or per hardware queue) state lives in a [`Cursor`] the caller owns
//! and passes by `&mut`: the round-robin position, the locality cache and the
//! per-queue I/O statistics. No I/O ever writes memory another CPU's cursor
//! uses, which is why round-robin scales with CPUs.
//!
//! Exactly one control plane ([`Controller`](crate::Controller)) writes the
//! published state, from `&mut self` under whatever serialisation the
//! embedder uses (a mutex in a kernel or daemon, nothing single-threaded). It
//! publishes a path's facts before setting its bit in the mask (release
//! store), and clears the bit before retiring the facts, so a selector that
//! sees a bit sees that path's facts. A selector can still pick a path that
//! the control plane fails a moment later; that dispatch comes back as a path
//! error and is failed over, exactly as in dm-multipath and NVMe multipath.
//!
//! Orderings: the mask is stored with `Release` and loaded with `Acquire`;
//! counters are `Relaxed` (they are load estimates, not synchronisation).

use crate::bits;
use crate::io::{Counted, Io, Ticket};
use crate::path::{Locality, PathId, MAX_PATHS};
use crate::selector::{self, Policy, SelectorParams};
use crate::time::{Duration, Instant};
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};
// Native on every 64-bit target; Cortex-M has no 64-bit atomics.
use portable_atomic::AtomicU64;

/// Read-mostly facts about a path, written by the control plane.
#[derive(Debug)]
pub(crate) struct PathInfo {
    /// `PathId::to_raw()`, or 0 for an empty slot (generations are never 0).
    pub(crate) id: AtomicU32,
    pub(crate) locality: AtomicU32,
    pub(crate) relative_throughput: AtomicU8,
}

impl PathInfo {
    const fn new() -> Self {
        PathInfo {
            id: AtomicU32::new(0),
            locality: AtomicU32::new(0),
            relative_throughput: AtomicU8::new(0),
        }
    }
}

/// Per-path counters written per I/O by the counting selectors. Aligned so
/// that two paths' counters never share a cache line: with queue-depth on
/// two CPUs, each increment would otherwise invalidate the neighbour's line.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct PathHot {
    pub(crate) inflight: AtomicU32,
    pub(crate) inflight_bytes: AtomicU64,
    /// Service-time EWMA in nanoseconds (adaptive selector); 0 = no sample.
    pub(crate) latency_ewma: AtomicU64,
    /// When the last latency sample was taken, as `Instant` nanoseconds.
    pub(crate) last_sample: AtomicU64,
    /// Successful completions counted while the control plane samples the
    /// path's error rate (marginal detection).
    pub(crate) sampled_ok: AtomicU32,
}

impl PathHot {
    const fn new() -> Self {
        PathHot {
            inflight: AtomicU32::new(0),
            inflight_bytes: AtomicU64::new(0),
            latency_ewma: AtomicU64::new(0),
            last_sample: AtomicU64::new(0),
            sampled_ok: AtomicU32::new(0),
        }
    }
}

/// Device-wide published state, on its own cache line: read by every
/// selection, written only by the control plane.
#[derive(Debug)]
#[repr(align(64))]
struct Header {
    /// Paths selection may use: the best non-empty tier, narrowed as the
    /// control plane decides (preferred bit, switched group, failback hold).
    selectable: AtomicU64,
    /// Paths whose successful completions are counted for marginal sampling.
    watched: AtomicU64,
    policy: AtomicU8,
    ewma_shift: AtomicU8,
    rr_switch_ios: AtomicU32,
    rr_switch_bytes: AtomicU64,
    stale_after: AtomicU64,
}

/// The shared, lock-free half of a multipath device. See the module docs for
/// the concurrency contract.
#[derive(Debug)]
pub struct DataPlane<const N: usize> {
    header: Header,
    pub(crate) info: [PathInfo; N],
    pub(crate) hot: [PathHot; N],
}

impl<const N: usize> Default for DataPlane<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-queue statistics for one path slot, kept in a [`Cursor`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    generation: u16,
    /// I/Os started on the path from this queue.
    pub started: u64,
    /// I/Os that completed successfully on this queue.
    pub completed: u64,
    /// Bytes of those successful completions.
    pub bytes: u64,
}

/// Caller-owned per-CPU (or per-queue) selector state and statistics.
///
/// Keep one per CPU or hardware queue; never share one between threads. Its
/// size is about `32 * N` bytes.
#[derive(Clone, Debug)]
pub struct Cursor<const N: usize> {
    /// Round-robin position: the slot last used, or `NONE`.
    pub(crate) last: usize,
    /// I/Os and bytes sent to `last` since the cursor moved there.
    pub(crate) run_ios: u32,
    pub(crate) run_bytes: u64,
    /// The submitting CPU's node, for the locality selector.
    pub(crate) node: Locality,
    /// Whether `last` was chosen because it is local (locality selector).
    pub(crate) last_is_local: bool,
    /// The path the adaptive selector checks for staleness next.
    pub(crate) stale_scan: usize,
    stats: [QueueStats; N],
}

impl<const N: usize> Default for Cursor<N> {
    fn default() -> Self {
        Self::new(Locality(0))
    }
}

/// `Cursor::last` when no path has been chosen yet.
pub(crate) const NONE: usize = usize::MAX;

impl<const N: usize> Cursor<N> {
    /// A fresh cursor for a CPU on `node`.
    pub const fn new(node: Locality) -> Self {
        Cursor {
            last: NONE,
            // Not below any switch limit: the first I/O moves to a path.
            run_ios: u32::MAX,
            run_bytes: 0,
            node,
            last_is_local: false,
            stale_scan: NONE,
            stats: [QueueStats {
                generation: 0,
                started: 0,
                completed: 0,
                bytes: 0,
            }; N],
        }
    }

    /// The node this cursor's CPU is on.
    pub const fn node(&self) -> Locality {
        self.node
    }

    /// This queue's statistics for `path`, or `None` if it has seen no I/O
    /// for this generation of the path.
    pub fn stats(&self, path: PathId) -> Option<&QueueStats> {
        self.stats
            .get(path.slot())
            .filter(|s| s.generation == path.generation())
    }

    /// The slot's entry for `path`'s generation, reset if it held an older one.
    fn entry(&mut self, path: PathId) -> Option<&mut QueueStats> {
        let e = self.stats.get_mut(path.slot())?;
        if e.generation != path.generation() {
            *e = QueueStats {
                generation: path.generation(),
                ..QueueStats::default()
            };
        }
        Some(e)
    }
}

impl<const N: usize> DataPlane<N> {
    /// Compile-time capacity check: one mask word holds every path.
    const CAPACITY_OK: () = assert!(N > 0 && N <= MAX_PATHS, "1..=64 paths per device");

    /// An empty data plane: no path selectable, round-robin policy.
    #[allow(clippy::let_unit_value)]
    pub const fn new() -> Self {
        let () = Self::CAPACITY_OK;
        DataPlane {
            header: Header {
                selectable: AtomicU64::new(0),
                watched: AtomicU64::new(0),
                policy: AtomicU8::new(Policy::RoundRobin.to_u8()),
                ewma_shift: AtomicU8::new(SelectorParams::DEFAULT.ewma_shift),
                // The default is 1, which needs no clamping (see `publish_policy`).
                rr_switch_ios: AtomicU32::new(SelectorParams::DEFAULT.rr_switch_ios),
                rr_switch_bytes: AtomicU64::new(SelectorParams::DEFAULT.rr_switch_bytes),
                stale_after: AtomicU64::new(SelectorParams::DEFAULT.stale_after.as_nanos()),
            },
            info: [const { PathInfo::new() }; N],
            hot: [const { PathHot::new() }; N],
        }
    }

    /// The mask of paths selection may use right now.
    #[inline]
    pub fn selectable(&self) -> u64 {
        self.header.selectable.load(Ordering::Acquire)
    }

    /// The active policy.
    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.header.policy.load(Ordering::Relaxed))
    }

    /// The selector parameters in force.
    pub fn params(&self) -> SelectorParams {
        SelectorParams {
            rr_switch_ios: self.header.rr_switch_ios.load(Ordering::Relaxed),
            rr_switch_bytes: self.header.rr_switch_bytes.load(Ordering::Relaxed),
            ewma_shift: self.header.ewma_shift.load(Ordering::Relaxed),
            stale_after: Duration::from_nanos(self.header.stale_after.load(Ordering::Relaxed)),
        }
    }

    /// Choose a path for `io`, or `None` when no path is selectable (then the
    /// control plane decides: queue, fail, or a path appeared meanwhile).
    #[inline]
    pub fn select(&self, cursor: &mut Cursor<N>, io: &Io, now: Instant) -> Option<PathId> {
        self.select_with(self.policy(), cursor, io, now)
    }

    #[inline]
    fn select_with(
        &self,
        policy: Policy,
        cursor: &mut Cursor<N>,
        io: &Io,
        now: Instant,
    ) -> Option<PathId> {
        let mask = self.selectable();
        if mask == 0 {
            return None;
        }
        let slot = match policy {
            Policy::RoundRobin => selector::round_robin::select(
                mask,
                cursor,
                io,
                self.header.rr_switch_ios.load(Ordering::Relaxed),
                self.header.rr_switch_bytes.load(Ordering::Relaxed),
            ),
            Policy::QueueDepth => selector::queue_depth::select_count(&self.hot, mask, cursor),
            Policy::QueueBytes => selector::queue_depth::select_bytes(&self.hot, mask, cursor),
            Policy::ServiceTime => {
                selector::service_time::select(&self.info, &self.hot, mask, cursor, io)
            }
            Policy::Adaptive => selector::adaptive::select(
                &self.hot,
                mask,
                cursor,
                now,
                Duration::from_nanos(self.header.stale_after.load(Ordering::Relaxed)),
            ),
            Policy::Locality => selector::locality::select(&self.info, mask, cursor),
        }?;
        let raw = self.info.get(slot)?.id.load(Ordering::Relaxed);
        // Zero: the slot was retired after we loaded the mask. Let the
        // control plane's slow path decide rather than dispatch blind.
        (raw != 0).then(|| PathId::from_raw(raw))
    }

    /// Account the start of `io` on `path` and return the ticket its
    /// completion must hand back.
    #[inline]
    pub fn start(&self, cursor: &mut Cursor<N>, path: PathId, io: Io, now: Instant) -> Ticket {
        self.start_with(self.policy().counts(), cursor, path, io, now)
    }

    #[inline]
    fn start_with(
        &self,
        counted: Counted,
        cursor: &mut Cursor<N>,
        path: PathId,
        io: Io,
        now: Instant,
    ) -> Ticket {
        if counted.any_counter() {
            if let Some(hot) = self.hot.get(path.slot()) {
                if counted.count() {
                    hot.inflight.fetch_add(1, Ordering::Relaxed);
                }
                if counted.bytes() {
                    hot.inflight_bytes
                        .fetch_add(u64::from(io.bytes), Ordering::Relaxed);
                }
            }
        }
        if let Some(e) = cursor.entry(path) {
            e.started = e.started.wrapping_add(1);
        }
        Ticket {
            io,
            path,
            started: now,
            counted,
        }
    }

    /// [`select`](Self::select) then [`start`](Self::start); hands the I/O
    /// back when no path is selectable.
    #[inline]
    pub fn submit(&self, cursor: &mut Cursor<N>, io: Io, now: Instant) -> Result<Ticket, Io> {
        // One policy load for both halves, so a concurrent switch cannot
        // select under one policy and count under another.
        let policy = self.policy();
        match self.select_with(policy, cursor, &io, now) {
            Some(path) => Ok(self.start_with(policy.counts(), cursor, path, io, now)),
            None => Err(io),
        }
    }

    /// Account a successful completion and return the I/O.
    ///
    /// Completions cannot be refused, so this takes no errors: a `now`
    /// earlier than the start (clock skew between CPUs) only skips the
    /// latency sample. Failed completions go to
    /// [`Controller::handle_completion`](crate::Controller::handle_completion).
    #[inline]
    pub fn complete(&self, cursor: &mut Cursor<N>, ticket: Ticket, now: Instant) -> Io {
        let path = ticket.path;
        let watched = self.header.watched.load(Ordering::Relaxed) & bits::bit(path.slot()) != 0;
        // Round-robin and locality I/O on an unsampled path writes no
        // shared memory here. (Folding `end` into the branch below, with
        // one "anything counted?" test first, measured 70% slower for
        // round-robin on Zen 1: keep the two tests apart.)
        self.end(&ticket);
        if ticket.counted.latency() || watched {
            self.complete_shared(&ticket, watched, now);
        }
        if let Some(e) = cursor.entry(path) {
            e.completed = e.completed.wrapping_add(1);
            e.bytes = e.bytes.wrapping_add(u64::from(ticket.io.bytes));
        }
        ticket.io
    }

    /// The rarer shared writes of a successful completion: the adaptive
    /// selector's latency sample and the marginal sampler's success count.
    #[inline]
    fn complete_shared(&self, ticket: &Ticket, watched: bool, now: Instant) {
        let path = ticket.path;
        let Some(hot) = self.hot.get(path.slot()) else {
            return;
        };
        // A path removed (and its slot perhaps reused) while the I/O ran
        // must not feed the new path's estimate or error rate.
        if !self.is_current(path) {
            return;
        }
        if ticket.counted.latency() {
            if let Ok(latency) = now.checked_duration_since(ticket.started) {
                selector::adaptive::record(
                    hot,
                    latency,
                    now,
                    self.header.ewma_shift.load(Ordering::Relaxed),
                    Duration::from_nanos(self.header.stale_after.load(Ordering::Relaxed)),
                );
            }
        }
        if watched {
            hot.sampled_ok.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Undo exactly the counters the ticket's start incremented.
    #[inline]
    pub(crate) fn end(&self, ticket: &Ticket) {
        if !ticket.counted.any_counter() {
            return;
        }
        let Some(hot) = self.hot.get(ticket.path.slot()) else {
            return;
        };
        if ticket.counted.count() {
            hot.inflight.fetch_sub(1, Ordering::Relaxed);
        }
        if ticket.counted.bytes() {
            hot.inflight_bytes
                .fetch_sub(u64::from(ticket.io.bytes), Ordering::Relaxed);
        }
    }

    /// Whether `path` is the path currently published in its slot.
    pub fn is_current(&self, path: PathId) -> bool {
        self.info
            .get(path.slot())
            .is_some_and(|i| i.id.load(Ordering::Relaxed) == path.to_raw())
    }

    /// Outstanding I/Os on a path's slot as counted by the counting
    /// selectors (zero under round-robin and locality, which count nothing
    /// shared).
    pub fn inflight(&self, slot: usize) -> u32 {
        self.hot
            .get(slot)
            .map_or(0, |h| h.inflight.load(Ordering::Relaxed))
    }

    /// Outstanding bytes on a path's slot (service-time and queue-bytes).
    pub fn inflight_bytes(&self, slot: usize) -> u64 {
        self.hot
            .get(slot)
            .map_or(0, |h| h.inflight_bytes.load(Ordering::Relaxed))
    }

    /// The adaptive selector's latency estimate for a slot, if sampled.
    pub fn latency_estimate(&self, slot: usize) -> Option<Duration> {
        self.hot
            .get(slot)
            .map(|h| h.latency_ewma.load(Ordering::Relaxed))
            .filter(|&v| v != 0)
            .map(Duration::from_nanos)
    }

    // ----- control-plane writers (crate-private; `&self` because they are
    // atomics, but only the one controller calls them) -----

    pub(crate) fn publish_selectable(&self, mask: u64) {
        self.header.selectable.store(mask, Ordering::Release);
    }

    pub(crate) fn publish_watched(&self, mask: u64) {
        self.header.watched.store(mask, Ordering::Relaxed);
    }

    pub(crate) fn publish_policy(&self, policy: Policy, params: &SelectorParams) {
        let h = &self.header;
        // 0 means 1; stored so the selector need not check.
        h.rr_switch_ios
            .store(params.rr_switch_ios.max(1), Ordering::Relaxed);
        h.rr_switch_bytes
            .store(params.rr_switch_bytes, Ordering::Relaxed);
        h.ewma_shift.store(params.ewma_shift, Ordering::Relaxed);
        h.stale_after
            .store(params.stale_after.as_nanos(), Ordering::Relaxed);
        h.policy.store(policy.to_u8(), Ordering::Release);
    }

    pub(crate) fn publish_path(&self, id: PathId, locality: Locality, relative_throughput: u8) {
        if let (Some(info), Some(hot)) = (self.info.get(id.slot()), self.hot.get(id.slot())) {
            info.locality.store(locality.0, Ordering::Relaxed);
            // Clamped here so the service-time scan need not.
            info.relative_throughput.store(
                relative_throughput.min(selector::service_time::MAX_RELATIVE_THROUGHPUT),
                Ordering::Relaxed,
            );
            // A new path starts with no latency history of its own.
            hot.latency_ewma.store(0, Ordering::Relaxed);
            hot.last_sample.store(0, Ordering::Relaxed);
            hot.sampled_ok.store(0, Ordering::Relaxed);
            info.id.store(id.to_raw(), Ordering::Release);
        }
    }

    pub(crate) fn retire_path(&self, slot: usize) {
        if let Some(info) = self.info.get(slot) {
            info.id.store(0, Ordering::Release);
        }
    }

    pub(crate) fn take_sampled_ok(&self, slot: usize) -> u32 {
        self.hot
            .get(slot)
            .map_or(0, |h| h.sampled_ok.swap(0, Ordering::Relaxed))
    }
}

/// What a counting policy increments per I/O.
impl Policy {
    pub(crate) const fn counts(self) -> Counted {
        match self {
            Policy::RoundRobin | Policy::Locality => Counted::NOTHING,
            Policy::QueueDepth => Counted::COUNT,
            Policy::Adaptive => Counted::COUNT.with(Counted::LATENCY),
            Policy::QueueBytes | Policy::ServiceTime => Counted::BYTES,
        }
    }
}
