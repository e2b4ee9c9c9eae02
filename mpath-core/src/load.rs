//! A path's outstanding load as the counting selectors see it: a shared
//! part every CPU reads, and each CPU's own part, kept in its cursor and
//! published in batches.
//!
//! Queue-depth, queue-bytes, service-time and adaptive pick the path with
//! the least outstanding work. Counting that work in one shared counter per
//! path, as NVMe's `nr_active` and dm's `in_flight_size` do, costs two
//! atomic read-modify-writes per I/O on a line every other CPU's scan reads
//! next: a miss on every CPU for every I/O, and two CPUs doing I/O on one
//! device did less in total than one alone (`benches/README.md`).
//!
//! Here a cursor counts its own starts and ends per path (`Pending`) and
//! adds them to the shared counter only:
//!
//! - when they reach [`PUBLISH_IOS`] I/Os or [`PUBLISH_BYTES`] bytes
//!   either way;
//! - at once when the cursor is not busy: its previous start (for a start)
//!   or end (for an end) was [`PUBLISH_IDLE`] or more ago. A CPU doing
//!   little I/O pays nothing worth saving for a shared write, and with
//!   many such CPUs the parts held back would otherwise be most of the
//!   load;
//! - when the cursor is parked ([`DataPlane::park`](crate::DataPlane::park)).
//!
//! A busy CPU that keeps a steady queue on a path (fewer than
//! `PUBLISH_IOS` outstanding there, or starts and ends in balance, which
//! the counting selectors themselves keep) writes no shared memory at all;
//! a burst writes once per `PUBLISH_IOS` I/Os.
//!
//! # Staleness bound
//!
//! For every path, at every moment: true outstanding = shared counter + the
//! sum of every cursor's pending count, and each cursor's pending count is
//! at most `PUBLISH_IOS - 1` I/Os and less than `PUBLISH_BYTES` bytes
//! either way. A selecting cursor adds its own pending part, so its view of
//! a path differs from the truth by at most `(PUBLISH_IOS - 1)` I/Os and
//! `PUBLISH_BYTES - 1` bytes per *other* cursor that has used the path since
//! it last published. With one cursor (the simulator's default, a
//! single-queue device) the view is exact. Park a cursor when its CPU goes
//! idle or offline; once every cursor is parked the shared counters are
//! exact.
//!
//! An I/O may end on another CPU than the one that started it: the starting
//! cursor's part stays positive and the ending one's goes negative until
//! either publishes, and the shared counter may dip below zero meanwhile.
//! It is signed, and a view below zero reads as zero.

use crate::dataplane::PathHot;
use crate::io::Counted;
use crate::sync::Ordering;
use crate::time::{Duration, Instant};

/// I/Os a cursor starts (or ends) on one path, net, before it adds them to
/// the path's shared count. Small, so the hidden load per CPU stays below
/// what any queue-depth decision turns on; a start-then-end CPU never gets
/// there, and a CPU with a deep queue publishes about once per
/// `PUBLISH_IOS^2` I/Os (a random walk's exit time from `(-4, 4)`), where
/// the shared counter took two writes per I/O.
pub const PUBLISH_IOS: u32 = IOS.unsigned_abs();

/// Bytes a cursor starts (or ends) on one path, net, before it adds them to
/// the path's shared byte count: sixteen 4 KiB I/Os; any I/O this size or
/// larger is published at once.
pub const PUBLISH_BYTES: u64 = BYTES.unsigned_abs();

/// A cursor whose previous counted start or end was at least this long ago
/// publishes at once: below 100,000 starts and ends a second the shared
/// writes cost nothing worth saving, and with many CPUs each doing little
/// I/O, the parts held back would otherwise be most of the load.
pub const PUBLISH_IDLE: Duration = Duration::from_micros(10);

const IDLE: u64 = PUBLISH_IDLE.as_nanos();

/// [`PUBLISH_IOS`] and [`PUBLISH_BYTES`], signed like the parts.
const IOS: i32 = 4;
const BYTES: i64 = 64 * 1024;

/// Whether a cursor whose previous counted start or end was at `last`
/// (nanoseconds) is busy at `now`: only a busy cursor holds its part back.
#[inline]
pub(crate) fn busy(last: &mut u64, now: Instant) -> bool {
    let now = now.as_nanos();
    // Wrapping: a clock read on another CPU may lag this one's; a `now`
    // before `last` reads as long idle, and the part is published.
    let busy = now.wrapping_sub(*last) < IDLE;
    *last = now;
    busy
}

/// One cursor's unpublished part of one path's load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    ios: i32,
    bytes: i64,
}

impl Pending {
    /// Nothing pending.
    pub(crate) const ZERO: Pending = Pending { ios: 0, bytes: 0 };

    /// Count an I/O's start on the path: whichever counters the ticket
    /// declares.
    #[inline]
    pub(crate) fn start(&mut self, hot: &PathHot, counted: Counted, bytes: u32, busy: bool) {
        self.add(hot, counted, 1, i64::from(bytes), busy);
    }

    /// Uncount an I/O's end: exactly what its start counted.
    #[inline]
    pub(crate) fn end(&mut self, hot: &PathHot, counted: Counted, bytes: u32, busy: bool) {
        self.add(hot, counted, -1, i64::from(bytes).wrapping_neg(), busy);
    }

    #[inline]
    fn add(&mut self, hot: &PathHot, counted: Counted, ios: i32, bytes: i64, busy: bool) {
        if counted.count() {
            self.ios = self.ios.wrapping_add(ios);
        }
        if counted.bytes() {
            self.bytes = self.bytes.wrapping_add(bytes);
        }
        let within = (1 - IOS..IOS).contains(&self.ios) && (1 - BYTES..BYTES).contains(&self.bytes);
        if !(busy && within) {
            self.publish(hot);
        }
    }

    /// Add the pending part to the shared counters.
    #[cold]
    #[inline(never)]
    pub(crate) fn publish(&mut self, hot: &PathHot) {
        let ios = core::mem::take(&mut self.ios);
        if ios != 0 {
            hot.inflight.fetch_add(ios, Ordering::Relaxed);
        }
        let bytes = core::mem::take(&mut self.bytes);
        if bytes != 0 {
            hot.inflight_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Pending I/Os (net starts minus ends).
    pub(crate) const fn ios(&self) -> i32 {
        self.ios
    }

    /// Pending bytes.
    pub(crate) const fn bytes(&self) -> i64 {
        self.bytes
    }

    /// The path's outstanding I/Os as this cursor sees them: shared plus its
    /// own part, never below zero.
    #[inline]
    pub(crate) fn view_ios(&self, hot: &PathHot) -> u64 {
        // Wrapping: the sum is a count of I/Os the device admitted, far
        // from either end of an `i64`.
        let shared = i64::from(hot.inflight.load(Ordering::Relaxed));
        shared
            .wrapping_add(i64::from(self.ios))
            .max(0)
            .unsigned_abs()
    }

    /// The path's outstanding bytes as this cursor sees them.
    #[inline]
    pub(crate) fn view_bytes(&self, hot: &PathHot) -> u64 {
        let shared = hot.inflight_bytes.load(Ordering::Relaxed);
        shared.wrapping_add(self.bytes).max(0).unsigned_abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::DataPlane;
    use crate::selector::Policy;
    use crate::time::Instant;

    /// A cursor publishes when its part reaches the bound either way, and
    /// not before; the shared counter plus the part is always the truth.
    #[test]
    fn publishes_at_the_bound_and_not_before() {
        let dp: DataPlane<1> = DataPlane::new();
        let hot = &dp.hot[0];
        let counted = Policy::QueueDepth.counts();
        let mut p = Pending::ZERO;
        for k in 1..IOS {
            p.start(hot, counted, 512, true);
            assert_eq!((p.ios(), hot.inflight.load(Ordering::Relaxed)), (k, 0));
            assert_eq!(p.view_ios(hot), u64::try_from(k).unwrap());
        }
        p.start(hot, counted, 512, true);
        assert_eq!((p.ios(), hot.inflight.load(Ordering::Relaxed)), (0, IOS));
        assert_eq!(p.bytes(), 0, "queue-depth counts no bytes");
        // Ends on another cursor: its part goes negative, the view of the
        // first cursor still counts the shared four.
        let mut q = Pending::ZERO;
        for k in 1..IOS {
            q.end(hot, counted, 512, true);
            assert_eq!(q.ios(), -k);
            assert_eq!(q.view_ios(hot), u64::try_from(IOS - k).unwrap());
        }
        q.end(hot, counted, 512, true);
        assert_eq!((q.ios(), hot.inflight.load(Ordering::Relaxed)), (0, 0));
    }

    /// Bytes publish at `PUBLISH_BYTES`; a large I/O at once; a view below
    /// zero reads as zero.
    #[test]
    fn bytes_publish_and_negative_views_clamp() {
        let dp: DataPlane<1> = DataPlane::new();
        let hot = &dp.hot[0];
        let counted = Policy::ServiceTime.counts();
        let mut p = Pending::ZERO;
        p.start(hot, counted, 60 * 1024, true);
        assert_eq!(hot.inflight_bytes.load(Ordering::Relaxed), 0);
        p.start(hot, counted, 4 * 1024 - 1, true);
        assert_eq!(hot.inflight_bytes.load(Ordering::Relaxed), 0, "one short");
        p.end(hot, counted, 4 * 1024 - 1, true);
        p.start(hot, counted, 4 * 1024, true);
        assert_eq!(hot.inflight_bytes.load(Ordering::Relaxed), BYTES);
        assert_eq!((p.ios(), p.bytes()), (0, 0), "bytes policies count no I/Os");
        let mut q = Pending::ZERO;
        q.start(hot, counted, 1 << 20, true);
        assert_eq!(
            hot.inflight_bytes.load(Ordering::Relaxed),
            BYTES + (1 << 20)
        );
        // An end elsewhere before the start is published: the other view
        // goes below zero and reads as zero.
        let mut r = Pending::ZERO;
        r.end(hot, counted, 4096, true);
        assert_eq!(r.bytes(), -4096, "an end is held back as a start is");
        r.end(hot, counted, 60 * 1024 - 1, true);
        assert_eq!(r.bytes(), -(64 * 1024 - 1), "one byte short of the bound");
        r.end(hot, counted, 1, true);
        assert_eq!(r.bytes(), 0, "published at the bound");
        r.end(hot, counted, 4096, true);
        hot.inflight_bytes.store(0, Ordering::Relaxed);
        assert_eq!(r.view_bytes(hot), 0);
        hot.inflight.store(-3, Ordering::Relaxed);
        assert_eq!(Pending::ZERO.view_ios(hot), 0);
        let mut s = Pending::ZERO;
        s.start(hot, Policy::QueueDepth.counts(), 0, true);
        s.start(hot, Policy::QueueDepth.counts(), 0, true);
        s.start(hot, Policy::QueueDepth.counts(), 0, true);
        assert_eq!(s.view_ios(hot), 0, "-3 + 3");
        s.start(hot, Policy::QueueDepth.counts(), 0, true);
        assert_eq!(s.view_ios(hot), 1);
    }

    /// A busy cursor holds its part back; one whose previous start (or
    /// end) was `PUBLISH_IDLE` or more ago publishes at once. Starts and
    /// ends are timed apart.
    #[test]
    fn an_idle_cursor_publishes_at_once() {
        let at = |us: u64| Instant::from_nanos(1_000_000 + us * 1000);
        let mut last = 0;
        assert!(!busy(&mut last, at(0)), "the first ever");
        assert!(busy(&mut last, at(9)), "9 µs later");
        assert!(busy(&mut last, at(18)), "9 µs after that");
        assert!(!busy(&mut last, at(28)), "exactly 10 µs later");
        assert!(!busy(&mut last, at(5)), "a clock behind reads as idle");
        assert_eq!(last, at(5).as_nanos());
        let dp: DataPlane<1> = DataPlane::new();
        let hot = &dp.hot[0];
        let qd = Policy::QueueDepth.counts();
        let mut p = Pending::ZERO;
        p.start(hot, qd, 512, false);
        assert_eq!((p.ios(), hot.inflight.load(Ordering::Relaxed)), (0, 1));
        p.start(hot, qd, 512, true);
        assert_eq!((p.ios(), hot.inflight.load(Ordering::Relaxed)), (1, 1));
        p.end(hot, qd, 512, false);
        assert_eq!((p.ios(), hot.inflight.load(Ordering::Relaxed)), (0, 1));
    }

    /// Round-robin and locality tickets count nothing, here either.
    #[test]
    fn uncounted_tickets_change_nothing() {
        let dp: DataPlane<1> = DataPlane::new();
        let hot = &dp.hot[0];
        let mut p = Pending::ZERO;
        for _ in 0..10 {
            p.start(hot, Policy::RoundRobin.counts(), 1 << 20, true);
        }
        assert_eq!(p, Pending::ZERO);
        assert_eq!(hot.inflight_bytes.load(Ordering::Relaxed), 0);
    }
}
