//! The data plane: per-I/O path selection and accounting, `&self` and
//! lock-free.
//!
//! # Concurrency contract
//!
//! A [`DataPlane`] is shared by every CPU that submits or completes I/O. Its
//! methods take `&self`, never block, never loop on contention, and touch only
//! atomics: the published selectable-path masks (one `AtomicU64` for reads
//! and one for writes, one load per selection), read-mostly per-path facts
//! (id, locality, relative throughput), and per-path shared load counters,
//! each path's on its own cache line, that the counting selectors read and
//! that a CPU writes only when it publishes its part of the load
//! ([`crate::load`]).
//!
//! Per-CPU (or per hardware queue) state lives in a [`Cursor`] the caller owns
//! and passes by `&mut`: the round-robin position, the locality cache, the
//! per-queue I/O statistics, and this CPU's unpublished part of each path's
//! load. No I/O ever writes memory another CPU's cursor uses, and a busy
//! CPU's I/O writes no shared line at all, which is why every policy scales
//! with CPUs. Park a cursor ([`DataPlane::park`]) when its CPU goes idle.
//!
//! Exactly one control plane ([`Controller`](crate::Controller)) writes the
//! published state, from `&mut self` under whatever serialisation the
//! embedder uses (a mutex in a kernel or daemon, nothing single-threaded). It
//! publishes a path's facts, id last, before setting its bit in the mask
//! (release stores), and clears the bit before retiring the id
//! (`DataPlane::withdraw_path`). A freed slot is reused at once by the next
//! path added, so a slot number alone names no path: a selection confirms
//! its choice by reading the slot's id (acquire), the mask again (acquire)
//! and the id again, and returns the path only if its bit is set and the id
//! did not change in between. Ids carry a generation and never repeat in a
//! slot (until 65 535 reuses), so the returned path's bit was set at the
//! moment of that second mask load: a selection never returns a path that
//! was never selectable. `tests/loom_select.rs` checks this against every
//! interleaving of a selection with the controller removing a path and
//! adding another in its slot. A selector can still pick a path that the
//! control plane fails a moment later; that dispatch comes back as a path
//! error and is failed over, exactly as in dm-multipath and NVMe multipath.
//!
//! Orderings: the mask and the ids are stored with `Release` and loaded
//! with `Acquire` where a selection relies on them; counters are `Relaxed`
//! (they are load estimates, not synchronisation).
//!
//! Every data plane has a [`DeviceId`], and every [`Ticket`] it issues
//! carries it: a ticket completed on another device is refused with
//! [`Error::ForeignTicket`], with nothing changed.

use crate::bits;
use crate::error::{Error, Rejected};
use crate::io::{Counted, Io, IoKind, Ticket};
use crate::load::{self, Pending};
use crate::path::{Locality, PathId, MAX_PATHS};
use crate::selector::{self, Policy, SelectorParams};
use crate::sync::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use crate::time::{Duration, Instant};
use core::fmt;
use core::mem::MaybeUninit;

/// A data plane's identity, carried by every ticket it issues so that a
/// completion handed to the wrong device is recognised. Drawn from a
/// process-wide counter when a data plane is created; ids repeat only after
/// 2^32 devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub u32);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dev{}", self.0)
    }
}

/// The next [`DeviceId`]. Not a loom atomic: identity is not part of the
/// concurrency model.
static NEXT_DEVICE: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);

impl DeviceId {
    fn next() -> DeviceId {
        DeviceId(NEXT_DEVICE.fetch_add(1, core::sync::atomic::Ordering::Relaxed))
    }
}

/// Read-mostly facts about a path, written by the control plane.
#[derive(Debug)]
pub(crate) struct PathInfo {
    /// `PathId::to_raw()`, or 0 for an empty slot (generations are never 0).
    pub(crate) id: AtomicU32,
    pub(crate) locality: AtomicU32,
    pub(crate) relative_throughput: AtomicU8,
}

/// A struct of atomics, all zero: a `const` item where the atomics allow
/// it (core's do), a function under `--cfg loom` (whose atomics are not
/// `const`), from the one field list.
macro_rules! zeroed_atomics {
    ($ty:ident { $($field:ident: $atomic:ident),* $(,)? }) => {
        impl $ty {
            #[cfg(not(loom))]
            #[allow(clippy::declare_interior_mutable_const)]
            const EMPTY: Self = $ty { $($field: $atomic::new(0)),* };

            #[cfg(loom)]
            fn new() -> Self {
                $ty { $($field: $atomic::new(0)),* }
            }
        }
    };
}

zeroed_atomics!(PathInfo {
    id: AtomicU32,
    locality: AtomicU32,
    relative_throughput: AtomicU8,
});

/// Per-path counters the counting selectors read on every I/O and write
/// when a cursor publishes its part of the load (see [`crate::load`]).
/// Aligned so that two paths' counters never share a cache line: a
/// publication would otherwise invalidate the neighbour's line.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct PathHot {
    /// Published outstanding I/Os; signed, since an I/O may end on a CPU
    /// that publishes before the one that started it.
    pub(crate) inflight: AtomicI32,
    /// Published outstanding bytes, signed for the same reason.
    pub(crate) inflight_bytes: AtomicI64,
    /// Service-time EWMA in nanoseconds (adaptive selector); 0 = no sample.
    pub(crate) latency_ewma: AtomicU64,
    /// When the last latency sample was taken, as `Instant` nanoseconds.
    pub(crate) last_sample: AtomicU64,
    /// Successful completions counted while the control plane samples the
    /// path's error rate (marginal detection).
    pub(crate) sampled_ok: AtomicU32,
}

zeroed_atomics!(PathHot {
    inflight: AtomicI32,
    inflight_bytes: AtomicI64,
    latency_ewma: AtomicU64,
    last_sample: AtomicU64,
    sampled_ok: AtomicU32,
});

/// Device-wide published state, on its own cache line: read by every
/// selection, written only by the control plane.
#[derive(Debug)]
#[repr(align(64))]
struct Header {
    /// Paths selection may use: the best non-empty tier, narrowed as the
    /// control plane decides (preferred bit, switched group, failback hold).
    selectable: AtomicU64,
    /// Paths writes may use: the same as `selectable` unless a reservation
    /// lets fewer nexuses write than read (Write Exclusive: only the
    /// holder's), then the best tier of those. A separate word, so a read
    /// never pays for the distinction.
    writable: AtomicU64,
    /// Paths whose successful completions are counted for marginal sampling.
    watched: AtomicU64,
    policy: AtomicU8,
    ewma_shift: AtomicU8,
    rr_switch_ios: AtomicU32,
    rr_switch_bytes: AtomicU64,
    stale_after: AtomicU64,
}

/// How many admission credits a cursor takes from the shared pool at once,
/// and half of how many it keeps before giving some back. A cursor whose
/// CPU submits and completes in turn touches the pool not at all; a burst
/// touches it once per `CREDIT_BATCH` I/Os.
pub const CREDIT_BATCH: u32 = BATCH.unsigned_abs();

/// [`CREDIT_BATCH`] for the signed pool.
const BATCH: i32 = 4;

/// The device's admission budget: credits not held by any cursor, ticket
/// or held I/O. On its own cache line: written only when a cursor refills
/// or gives back a batch.
#[derive(Debug)]
#[repr(align(64))]
struct Admission {
    /// Signed: a refill takes a batch first and gives back what was not
    /// there, so it never loops; the pool may dip below zero meanwhile.
    pool: AtomicI32,
}

/// The shared, lock-free half of a multipath device. See the module docs for
/// the concurrency contract.
#[derive(Debug)]
pub struct DataPlane<const N: usize> {
    header: Header,
    admission: Admission,
    device: DeviceId,
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
    /// The id (`PathId::to_raw`) of the local path the locality selector
    /// keeps using, 0 for none. An id, not a slot: a slot is reused by the
    /// next path added and may hold a remote path by the next I/O.
    pub(crate) local: u32,
    /// The path the adaptive selector checks for staleness next.
    pub(crate) stale_scan: usize,
    /// Admission credits this cursor keeps (see `DataPlane::take_credit`).
    pub(crate) credits: u32,
    /// When this cursor last counted a start, and an end (nanoseconds), to
    /// tell a busy CPU from an idle one (`load::PUBLISH_IDLE`). Apart,
    /// because a completion and the submission it frees come together.
    pub(crate) last_start: u64,
    pub(crate) last_end: u64,
    stats: [QueueStats; N],
    /// This CPU's unpublished part of each slot's load (see
    /// [`crate::load`]). Per slot, not per path: the shared counters are
    /// per slot too, and a part must be published even after its path
    /// left the slot so that the sums stay exact.
    pub(crate) pending: [Pending; N],
}

impl<const N: usize> Default for Cursor<N> {
    fn default() -> Self {
        Self::new(Locality(0))
    }
}

/// `Cursor::last` when no path has been chosen yet.
pub(crate) const NONE: usize = usize::MAX;

impl<const N: usize> Cursor<N> {
    /// Admission credits this cursor keeps for its next I/Os.
    pub const fn credits(&self) -> u32 {
        self.credits
    }

    /// A fresh cursor on node 0, as a constant: writing it into memory
    /// copies read-only data instead of building 3 KiB (at 64 paths) on
    /// the stack first, which a kernel stack cannot spare (then
    /// [`set_node`](Self::set_node)).
    pub const FRESH: Self = Self::new(Locality(0));

    /// Set the node this cursor's CPU is on: for a cursor written from
    /// [`FRESH`](Self::FRESH) in place. The locality selector prefers the
    /// new node's paths from the next I/O on.
    pub fn set_node(&mut self, node: Locality) {
        self.node = node;
        self.local = 0;
    }

    /// A fresh cursor for a CPU on `node`.
    pub const fn new(node: Locality) -> Self {
        Cursor {
            last: NONE,
            // Not below any switch limit: the first I/O moves to a path.
            run_ios: u32::MAX,
            run_bytes: 0,
            node,
            local: 0,
            stale_scan: NONE,
            credits: 0,
            last_start: 0,
            last_end: 0,
            stats: [QueueStats {
                generation: 0,
                started: 0,
                completed: 0,
                bytes: 0,
            }; N],
            pending: [Pending::ZERO; N],
        }
    }

    /// This cursor's unpublished outstanding I/Os and bytes on `slot`
    /// (net: negative when it ended more I/Os there than it started).
    /// Below [`PUBLISH_IOS`](crate::load::PUBLISH_IOS) and
    /// [`PUBLISH_BYTES`](crate::load::PUBLISH_BYTES) either way.
    pub fn unpublished(&self, slot: usize) -> (i32, i64) {
        self.pending
            .get(slot)
            .map_or((0, 0), |p| (p.ios(), p.bytes()))
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

/// An empty data plane's fields around the given path arrays, for the
/// constant and for the loom build (`DataPlane::empty`).
macro_rules! empty_data_plane {
    ($info:expr, $hot:expr) => {
        DataPlane {
            device: DeviceId(0),
            header: Header {
                selectable: AtomicU64::new(0),
                writable: AtomicU64::new(0),
                watched: AtomicU64::new(0),
                policy: AtomicU8::new(Policy::RoundRobin.to_u8()),
                ewma_shift: AtomicU8::new(SelectorParams::DEFAULT.ewma_shift),
                // The default is 1, which needs no clamping (see `publish_policy`).
                rr_switch_ios: AtomicU32::new(SelectorParams::DEFAULT.rr_switch_ios),
                rr_switch_bytes: AtomicU64::new(SelectorParams::DEFAULT.rr_switch_bytes),
                stale_after: AtomicU64::new(SelectorParams::DEFAULT.stale_after.as_nanos()),
            },
            admission: Admission {
                pool: AtomicI32::new(0),
            },
            info: $info,
            hot: $hot,
        }
    };
}

impl<const N: usize> DataPlane<N> {
    /// Compile-time capacity check: one mask word holds every path.
    const CAPACITY_OK: () = assert!(N > 0 && N <= MAX_PATHS, "1..=64 paths per device");

    /// An empty data plane with a fresh [`DeviceId`]: no path selectable,
    /// round-robin policy.
    pub fn new() -> Self {
        Self::with_device_id(DeviceId::next())
    }

    /// An empty data plane with an id the embedder chose (one it keeps
    /// unique among the devices whose tickets could be confused).
    #[allow(clippy::let_unit_value)]
    pub fn with_device_id(device: DeviceId) -> Self {
        let () = Self::CAPACITY_OK;
        let mut dp = Self::empty();
        dp.device = device;
        dp
    }

    /// An empty data plane, device id 0 (the constructors set it): the
    /// constant [`EMPTY`](Self::EMPTY), so that writing it into caller
    /// memory copies read-only data rather than a value built on the
    /// stack; under `--cfg loom`, whose atomics are not `const`, built.
    #[inline(always)]
    fn empty() -> Self {
        #[cfg(not(loom))]
        {
            Self::EMPTY
        }
        #[cfg(loom)]
        {
            empty_data_plane!(
                core::array::from_fn(|_| PathInfo::new()),
                core::array::from_fn(|_| PathHot::new())
            )
        }
    }

    #[cfg(not(loom))]
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Self = empty_data_plane!([PathInfo::EMPTY; N], [PathHot::EMPTY; N]);

    /// [`with_device_id`](Self::with_device_id), built in `slot` (caller
    /// memory) inside a type of the caller's (`wrap` builds it around the
    /// data plane, `inner` finds it again; identity closures for a bare
    /// one), as [`Device::new_in_wrapped`](crate::Device::new_in_wrapped)
    /// does for the device: at 64 paths the data plane is 5 KiB, and
    /// `with_device_id` builds it on the stack first (over 9 KiB of frames
    /// with the move), more than half a kernel stack.
    #[allow(clippy::let_unit_value)]
    #[inline(always)]
    pub fn new_in_wrapped<T>(
        slot: &mut MaybeUninit<T>,
        wrap: impl FnOnce(Self) -> T,
        inner: impl FnOnce(&mut T) -> &mut Self,
        device: DeviceId,
    ) -> &mut T {
        let () = Self::CAPACITY_OK;
        let made = slot.write(wrap(Self::empty()));
        inner(made).device = device;
        made
    }

    /// A fresh [`DeviceId`], as [`new`](Self::new) takes, for
    /// [`new_in_wrapped`](Self::new_in_wrapped).
    pub fn next_device_id() -> DeviceId {
        DeviceId::next()
    }

    /// This device's identity, carried by its tickets.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// The mask of paths selection may use right now.
    #[inline]
    pub fn selectable(&self) -> u64 {
        self.header.selectable.load(Ordering::Acquire)
    }

    /// The mask of paths writes may use right now.
    #[inline]
    pub fn writable(&self) -> u64 {
        self.header.writable.load(Ordering::Acquire)
    }

    /// The mask an I/O of `kind` selects from.
    #[inline]
    pub fn selectable_for(&self, kind: IoKind) -> u64 {
        match kind {
            IoKind::Read => self.selectable(),
            IoKind::Write => self.writable(),
        }
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

    #[inline(always)]
    fn select_with(
        &self,
        policy: Policy,
        cursor: &mut Cursor<N>,
        io: &Io,
        now: Instant,
    ) -> Option<PathId> {
        let mask = self.selectable_for(io.kind);
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
        self.confirm(slot, io.kind)
    }

    /// The path in `slot`, if its bit is set in the mask while the slot
    /// holds it (see the module docs for why this order of loads proves
    /// it). `None` when the slot was retired or reused since the mask was
    /// read: the control plane's slow path decides then.
    #[inline]
    fn confirm(&self, slot: usize, kind: IoKind) -> Option<PathId> {
        let info = self.info.get(slot)?;
        let raw = info.id.load(Ordering::Acquire);
        let selectable = self.selectable_for(kind) & bits::bit(slot) != 0;
        if raw == 0 || !selectable || info.id.load(Ordering::Relaxed) != raw {
            return None;
        }
        Some(PathId::from_raw(raw))
    }

    /// Account the start of `io` on `path` and return the ticket its
    /// completion must hand back. The I/O takes one admission credit; with
    /// none left (the device's outstanding-I/O budget, its requeue depth,
    /// is spent) it is handed back unstarted: back-pressure, before
    /// dispatch.
    #[inline]
    pub fn start(
        &self,
        cursor: &mut Cursor<N>,
        path: PathId,
        io: Io,
        now: Instant,
    ) -> Result<Ticket, Io> {
        if !self.take_credit(cursor) {
            return Err(io);
        }
        Ok(self.start_with(self.policy().counts(), cursor, path, io, now))
    }

    /// Start an I/O that already holds a credit (a held I/O the controller
    /// dispatches again).
    #[inline]
    pub(crate) fn start_held(
        &self,
        cursor: &mut Cursor<N>,
        path: PathId,
        io: Io,
        now: Instant,
    ) -> Ticket {
        self.start_with(self.policy().counts(), cursor, path, io, now)
    }

    // ----- admission -----
    //
    // The device admits at most its requeue depth `Q` of I/O at once,
    // started or held: every ticket and every held I/O owns one credit, so
    // a failed completion always finds room in the requeue, and
    // back-pressure happens at submit, before dispatch, never at failover.
    // Credits not in use sit in the shared pool or, a few at a time, in
    // the cursors, so that a CPU's start and completion touch no shared
    // memory for admission.

    /// Take one credit for an I/O this cursor starts.
    #[inline]
    pub(crate) fn take_credit(&self, cursor: &mut Cursor<N>) -> bool {
        if cursor.credits == 0 && !self.refill(cursor) {
            return false;
        }
        cursor.credits = cursor.credits.saturating_sub(1);
        true
    }

    #[cold]
    #[inline(never)]
    fn refill(&self, cursor: &mut Cursor<N>) -> bool {
        let before = self.admission.pool.fetch_sub(BATCH, Ordering::Relaxed);
        let got = before.clamp(0, BATCH);
        if got < BATCH {
            self.admission
                .pool
                .fetch_add(BATCH.saturating_sub(got), Ordering::Relaxed);
        }
        cursor.credits = cursor.credits.saturating_add(got.unsigned_abs());
        got > 0
    }

    /// Give back the credit of an I/O that ended.
    #[inline]
    pub(crate) fn give_credit(&self, cursor: &mut Cursor<N>) {
        cursor.credits = cursor.credits.saturating_add(1);
        if cursor.credits > CREDIT_BATCH.saturating_mul(2) {
            self.give_back_batch(cursor);
        }
    }

    #[cold]
    #[inline(never)]
    fn give_back_batch(&self, cursor: &mut Cursor<N>) {
        cursor.credits = cursor.credits.saturating_sub(CREDIT_BATCH);
        self.admission.pool.fetch_add(BATCH, Ordering::Relaxed);
    }

    /// Return every credit `cursor` keeps to the shared pool: call it for
    /// a CPU that goes idle or offline, so the credits it kept (at most
    /// `2 * CREDIT_BATCH`) serve the others.
    pub fn release_credits(&self, cursor: &mut Cursor<N>) {
        let kept = core::mem::take(&mut cursor.credits);
        self.admission
            .pool
            .fetch_add(i32::try_from(kept).unwrap_or(i32::MAX), Ordering::Relaxed);
    }

    /// Credits in the shared pool now (not counting those the cursors
    /// keep): how many more I/Os the device admits before back-pressure,
    /// give or take the cursors' few.
    pub fn credits_available(&self) -> u32 {
        u32::try_from(self.admission.pool.load(Ordering::Relaxed)).unwrap_or(0)
    }

    #[inline(always)]
    fn start_with(
        &self,
        counted: Counted,
        cursor: &mut Cursor<N>,
        path: PathId,
        io: Io,
        now: Instant,
    ) -> Ticket {
        if counted.any_counter() {
            if let (Some(hot), Some(p)) = (
                self.hot.get(path.slot()),
                cursor.pending.get_mut(path.slot()),
            ) {
                p.start(
                    hot,
                    counted,
                    io.bytes,
                    load::busy(&mut cursor.last_start, now),
                );
            }
        }
        if let Some(e) = cursor.entry(path) {
            e.started = e.started.wrapping_add(1);
        }
        Ticket {
            io,
            path,
            device: self.device,
            started: now,
            counted,
        }
    }

    /// [`select`](Self::select) then [`start`](Self::start); hands the I/O
    /// back when no path is selectable.
    #[inline(always)]
    pub fn submit(&self, cursor: &mut Cursor<N>, io: Io, now: Instant) -> Result<Ticket, Io> {
        // One policy load for both halves, so a concurrent switch cannot
        // select under one policy and count under another.
        self.submit_with(self.policy(), cursor, io, now)
    }

    /// [`submit`](Self::submit) compiled for one policy `P` fixed when the
    /// embedder is built (see [`selector::fixed`]): no dispatch over the
    /// policies. When the device's policy is not `P` (the control plane
    /// switched it) this is `submit`.
    #[inline(always)]
    pub fn submit_as<P: selector::FixedPolicy>(
        &self,
        cursor: &mut Cursor<N>,
        io: Io,
        now: Instant,
    ) -> Result<Ticket, Io> {
        if self.policy() != P::POLICY {
            return self.submit_switched(cursor, io, now);
        }
        self.submit_with(P::POLICY, cursor, io, now)
    }

    /// `submit` out of line, for `submit_as` after a policy switch.
    #[cold]
    #[inline(never)]
    fn submit_switched(&self, cursor: &mut Cursor<N>, io: Io, now: Instant) -> Result<Ticket, Io> {
        self.submit(cursor, io, now)
    }

    #[inline(always)]
    fn submit_with(
        &self,
        policy: Policy,
        cursor: &mut Cursor<N>,
        io: Io,
        now: Instant,
    ) -> Result<Ticket, Io> {
        match self.select_with(policy, cursor, &io, now) {
            Some(path) if self.take_credit(cursor) => {
                Ok(self.start_with(policy.counts(), cursor, path, io, now))
            }
            _ => Err(io),
        }
    }

    /// Account a successful completion and return the I/O.
    ///
    /// A `now` earlier than the start (clock skew between CPUs) only skips
    /// the latency sample. The one refusal is a ticket another device
    /// issued ([`Error::ForeignTicket`]): it is handed back and nothing
    /// changes. Failed completions go to
    /// [`Controller::handle_completion`](crate::Controller::handle_completion).
    #[inline(always)]
    pub fn complete(
        &self,
        cursor: &mut Cursor<N>,
        ticket: Ticket,
        now: Instant,
    ) -> Result<Io, Rejected<Ticket>> {
        let ticket = self.check_ticket(ticket)?;
        Ok(self.complete_own(cursor, ticket, now))
    }

    /// Refuse a ticket another device issued, handing it back.
    #[inline]
    pub(crate) fn check_ticket(&self, ticket: Ticket) -> Result<Ticket, Rejected<Ticket>> {
        if ticket.device == self.device {
            Ok(ticket)
        } else {
            Err(Rejected {
                error: Error::ForeignTicket {
                    issued_by: ticket.device,
                    device: self.device,
                },
                item: ticket,
            })
        }
    }

    /// [`complete`](Self::complete) for a ticket already checked.
    #[inline(always)]
    pub(crate) fn complete_own(&self, cursor: &mut Cursor<N>, ticket: Ticket, now: Instant) -> Io {
        let path = ticket.path;
        let watched = self.header.watched.load(Ordering::Relaxed) & bits::bit(path.slot()) != 0;
        // Round-robin and locality I/O on an unsampled path writes no
        // shared memory here. (Folding `end` into the branch below, with
        // one "anything counted?" test first, measured 70% slower for
        // round-robin on Zen 1: keep the two tests apart.)
        self.end(cursor, &ticket, now);
        if ticket.counted.latency() || watched {
            self.complete_shared(&ticket, watched, now);
        }
        if let Some(e) = cursor.entry(path) {
            e.completed = e.completed.wrapping_add(1);
            e.bytes = e.bytes.wrapping_add(u64::from(ticket.io.bytes));
        }
        self.give_credit(cursor);
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

    /// Undo exactly the counters the ticket's start incremented, in the
    /// ending cursor's part of the load.
    #[inline(always)]
    pub(crate) fn end(&self, cursor: &mut Cursor<N>, ticket: &Ticket, now: Instant) {
        if !ticket.counted.any_counter() {
            return;
        }
        let slot = ticket.path.slot();
        if let (Some(hot), Some(p)) = (self.hot.get(slot), cursor.pending.get_mut(slot)) {
            p.end(
                hot,
                ticket.counted,
                ticket.io.bytes,
                load::busy(&mut cursor.last_end, now),
            );
        }
    }

    /// Publish `cursor`'s part of every path's load and return the
    /// admission credits it keeps: call it for a CPU that goes idle or
    /// offline, so other CPUs see its outstanding I/O exactly and its
    /// credits serve them. The cursor stays usable.
    pub fn park(&self, cursor: &mut Cursor<N>) {
        for (p, hot) in cursor.pending.iter_mut().zip(&self.hot) {
            p.publish(hot);
        }
        self.release_credits(cursor);
    }

    /// Whether `path` is the path currently published in its slot.
    pub fn is_current(&self, path: PathId) -> bool {
        self.info
            .get(path.slot())
            .is_some_and(|i| i.id.load(Ordering::Relaxed) == path.to_raw())
    }

    /// Outstanding I/Os on a path's slot as published by the cursors of
    /// the counting selectors (zero under round-robin and locality, which
    /// count nothing shared). Each cursor may hold back fewer than
    /// [`PUBLISH_IOS`](crate::load::PUBLISH_IOS) either way
    /// ([`Cursor::unpublished`]); exact once every cursor is
    /// [parked](Self::park). A published count below zero reads as zero.
    pub fn inflight(&self, slot: usize) -> u32 {
        u32::try_from(self.published_load(slot).0).unwrap_or(0)
    }

    /// Outstanding bytes on a path's slot (service-time and queue-bytes),
    /// as published: see [`inflight`](Self::inflight).
    pub fn inflight_bytes(&self, slot: usize) -> u64 {
        u64::try_from(self.published_load(slot).1).unwrap_or(0)
    }

    /// The published outstanding I/Os and bytes of `slot`, signed (below
    /// zero while an I/O's end is published before its start). Published
    /// plus every cursor's [`unpublished`](Cursor::unpublished) part is the
    /// exact outstanding load.
    pub fn published_load(&self, slot: usize) -> (i32, i64) {
        self.hot.get(slot).map_or((0, 0), |h| {
            (
                h.inflight.load(Ordering::Relaxed),
                h.inflight_bytes.load(Ordering::Relaxed),
            )
        })
    }

    /// Outstanding I/Os and bytes on `slot` as `cursor` sees them: the
    /// published count plus its own part (what its selections compare).
    pub fn load_seen_by(&self, cursor: &Cursor<N>, slot: usize) -> (u64, u64) {
        match (self.hot.get(slot), cursor.pending.get(slot)) {
            (Some(h), Some(p)) => (p.view_ios(h), p.view_bytes(h)),
            _ => (0, 0),
        }
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

    /// Publish one mask for reads and writes alike.
    pub(crate) fn publish_selectable(&self, mask: u64) {
        self.publish_masks(mask, mask);
    }

    /// Publish the masks reads and writes select from.
    pub(crate) fn publish_masks(&self, read: u64, write: u64) {
        self.header.selectable.store(read, Ordering::Release);
        self.header.writable.store(write, Ordering::Release);
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

    /// A published path's new relative throughput (at most 100, checked
    /// by the caller). Selections racing the store see the old or the new
    /// value; either is a valid weight.
    pub(crate) fn set_relative_throughput(&self, slot: usize, relative_throughput: u8) {
        if let Some(info) = self.info.get(slot) {
            info.relative_throughput
                .store(relative_throughput, Ordering::Relaxed);
        }
    }

    /// Take a path out of selection for good: publish `mask` (which no
    /// longer has the slot's bit) first, then retire the slot's id, so a
    /// selection that still sees the id also sees the bit cleared.
    pub(crate) fn withdraw_path(&self, slot: usize, mask: u64) {
        let bit = bits::bit(slot);
        self.publish_masks(mask & !bit, self.writable() & !bit);
        if let Some(info) = self.info.get(slot) {
            info.id.store(0, Ordering::Release);
        }
    }

    /// Put `credits` into the admission pool (the controller, once, with
    /// its requeue depth).
    pub(crate) fn add_credits(&self, credits: u32) {
        let c = i32::try_from(credits).unwrap_or(i32::MAX);
        self.admission.pool.fetch_add(c, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    fn dp_with(paths: &[(u16, u16)], mask: u64) -> DataPlane<4> {
        let dp: DataPlane<4> = DataPlane::new();
        for &(slot, gen) in paths {
            dp.publish_path(PathId::new(slot, gen), Locality(0), 1);
        }
        dp.publish_selectable(mask);
        dp
    }

    /// `confirm` returns the slot's path only while its bit is set and the
    /// slot holds a path: the states a selection can meet mid-race, set up
    /// by hand (`tests/loom_select.rs` reaches them by interleaving).
    #[test]
    fn confirm_needs_the_bit_and_a_path() {
        let dp = dp_with(&[(0, 1), (1, 1)], 0b01);
        for kind in [IoKind::Read, IoKind::Write] {
            assert_eq!(dp.confirm(0, kind), Some(PathId::new(0, 1)));
            assert_eq!(dp.confirm(1, kind), None, "in the table, bit not set");
        }
        dp.withdraw_path(0, 0b01);
        assert_eq!(dp.selectable(), 0, "the bit goes with the path");
        assert_eq!(dp.writable(), 0, "from both masks");
        assert_eq!(dp.confirm(0, IoKind::Read), None, "retired");
        assert!(!dp.is_current(PathId::new(0, 1)));
        dp.publish_selectable(0b11);
        assert_eq!(
            dp.confirm(0, IoKind::Read),
            None,
            "bit set on an empty slot"
        );
        assert_eq!(dp.confirm(1, IoKind::Read), Some(PathId::new(1, 1)));
        assert_eq!(dp.confirm(9, IoKind::Read), None, "out of range");
        // Withdrawing one path leaves the others' bits, in both masks.
        dp.withdraw_path(0, 0b11);
        assert_eq!(dp.selectable(), 0b10);
        assert_eq!(dp.writable(), 0b10);
    }

    /// Reads and writes confirm against their own mask: a path that may
    /// read but not write (Write Exclusive, not the holder) is never
    /// confirmed for a write.
    #[test]
    fn writes_confirm_against_the_write_mask() {
        let dp = dp_with(&[(0, 1), (1, 1)], 0);
        dp.publish_masks(0b11, 0b10);
        assert_eq!(dp.confirm(0, IoKind::Read), Some(PathId::new(0, 1)));
        assert_eq!(dp.confirm(0, IoKind::Write), None);
        assert_eq!(dp.confirm(1, IoKind::Write), Some(PathId::new(1, 1)));
        let mut cursor = Cursor::default();
        let now = Instant::from_nanos(1);
        for _ in 0..4 {
            let w = dp.select(&mut cursor, &Io::write(1, 4096, 0), now);
            assert_eq!(w, Some(PathId::new(1, 1)));
        }
        let reads: u64 = (0..4)
            .filter_map(|_| dp.select(&mut cursor, &Io::read(2, 4096, 0), now))
            .fold(0, |a, p| a | bits::bit(p.slot()));
        assert_eq!(reads, 0b11, "reads use both");
        dp.publish_masks(0b11, 0);
        assert_eq!(dp.select(&mut cursor, &Io::write(1, 4096, 0), now), None);
    }

    /// A cursor keeps up to two batches of credits: the ninth completion
    /// in a row on an empty cursor gives one batch back, not the eighth.
    #[test]
    fn a_cursor_gives_back_a_batch_past_two() {
        let dp = dp_with(&[(0, 1)], 0b1);
        dp.add_credits(16);
        let mut c: Cursor<4> = Cursor::new(Locality(0));
        for k in 1..=2 * CREDIT_BATCH {
            dp.give_credit(&mut c);
            assert_eq!(c.credits(), k);
        }
        dp.give_credit(&mut c);
        assert_eq!(c.credits(), CREDIT_BATCH + 1);
        assert_eq!(dp.credits_available(), 16 + CREDIT_BATCH);
        // Refill takes a whole batch while the pool has one, less when not.
        let mut d: Cursor<4> = Cursor::new(Locality(0));
        let pool = dp.credits_available();
        assert!(dp.take_credit(&mut d));
        assert_eq!(d.credits(), CREDIT_BATCH - 1);
        assert_eq!(dp.credits_available(), pool - CREDIT_BATCH);
        let dp2 = dp_with(&[(0, 1)], 0b1);
        dp2.add_credits(2);
        let mut e: Cursor<4> = Cursor::new(Locality(0));
        assert!(dp2.take_credit(&mut e));
        assert!(dp2.take_credit(&mut e));
        assert!(!dp2.take_credit(&mut e));
        assert_eq!(dp2.credits_available(), 0);
    }

    /// The adaptive selector's estimate follows completions on a current
    /// path; a completion for a path no longer in its slot feeds nothing.
    #[test]
    fn latency_samples_feed_only_the_current_path() {
        let dp = dp_with(&[(0, 1)], 0b1);
        dp.add_credits(8);
        dp.publish_policy(Policy::Adaptive, &SelectorParams::DEFAULT);
        let mut c: Cursor<4> = Cursor::new(Locality(0));
        assert_eq!(dp.latency_estimate(0), None);
        let t = dp
            .submit(&mut c, Io::read(1, 512, 0), Instant::from_nanos(1_000))
            .unwrap();
        dp.complete(&mut c, t, Instant::from_nanos(51_000)).unwrap();
        assert_eq!(dp.latency_estimate(0), Some(Duration::from_nanos(50_000)));
        let t = dp
            .submit(&mut c, Io::read(2, 512, 0), Instant::from_nanos(60_000))
            .unwrap();
        dp.withdraw_path(0, 0b1);
        dp.publish_path(PathId::new(0, 2), Locality(0), 1);
        dp.complete(&mut c, t, Instant::from_nanos(900_000))
            .unwrap();
        assert_eq!(dp.latency_estimate(0), None, "the new path starts clean");
        assert_eq!(dp.latency_estimate(7), None);
    }

    /// A cursor written from `FRESH` is `new(Locality(0))`; moved to
    /// another node, its locality cache follows at once.
    #[test]
    fn a_fresh_cursor_takes_its_node() {
        let mut c: Cursor<4> = Cursor::FRESH;
        assert_eq!(
            format!("{c:?}"),
            format!("{:?}", Cursor::<4>::new(Locality(0)))
        );
        let dp: DataPlane<4> = DataPlane::new();
        dp.publish_path(PathId::new(0, 1), Locality(0), 1);
        dp.publish_path(PathId::new(1, 1), Locality(1), 1);
        dp.publish_selectable(0b11);
        dp.publish_policy(Policy::Locality, &SelectorParams::DEFAULT);
        let io = Io::read(1, 512, 0);
        let now = Instant::from_nanos(1);
        assert_eq!(dp.select(&mut c, &io, now), Some(PathId::new(0, 1)));
        c.set_node(Locality(1));
        assert_eq!(c.node(), Locality(1));
        assert_eq!(
            dp.select(&mut c, &io, now),
            Some(PathId::new(1, 1)),
            "the cache follows"
        );
        c.set_node(Locality(1));
        assert_eq!(dp.select(&mut c, &io, now), Some(PathId::new(1, 1)));
    }

    #[test]
    fn params_and_device_ids_read_back() {
        let dp: DataPlane<4> = DataPlane::with_device_id(DeviceId(42));
        assert_eq!(dp.device_id(), DeviceId(42));
        assert_eq!(format!("{}", dp.device_id()), "dev42");
        let p = SelectorParams {
            rr_switch_ios: 7,
            rr_switch_bytes: 8192,
            ewma_shift: 3,
            stale_after: Duration::from_millis(9),
        };
        dp.publish_policy(Policy::ServiceTime, &p);
        assert_eq!(dp.params(), p);
        assert_eq!(dp.policy(), Policy::ServiceTime);
        assert_ne!(
            DataPlane::<4>::new().device_id(),
            DataPlane::<4>::new().device_id()
        );
    }
}
