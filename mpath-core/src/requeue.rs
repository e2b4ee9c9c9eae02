//! The bounded requeue: I/O held by the control plane after a failover, a
//! delayed retry, or while no path is usable.

use crate::io::{Io, IoTag};
use crate::path::PathId;
use crate::time::Instant;

/// One held I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queued {
    pub(crate) io: Io,
    /// Not to be dispatched before this (write quiesce, retry delay).
    pub(crate) not_before: Instant,
    /// Retry on this path if it is still selectable (same-path retries).
    pub(crate) prefer: Option<PathId>,
}

/// FIFO of held I/O with a fixed capacity. A full requeue hands the I/O
/// back; nothing is ever dropped.
#[derive(Debug)]
pub(crate) struct Requeue<const Q: usize> {
    entries: heapless::Vec<Queued, Q>,
}

impl<const Q: usize> Requeue<Q> {
    pub(crate) const fn new() -> Self {
        Requeue {
            entries: heapless::Vec::new(),
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub(crate) fn push(&mut self, q: Queued) -> Result<(), Queued> {
        self.entries.push(q)
    }
    /// The oldest entry that may go out at `now`.
    /// The oldest entry that is due and `can_go` accepts (a write waits
    /// while only reads have a path, without holding up the reads behind
    /// it).
    pub(crate) fn take_ready_where(
        &mut self,
        now: Instant,
        can_go: impl Fn(&Queued) -> bool,
    ) -> Option<Queued> {
        let i = self
            .entries
            .iter()
            .position(|q| q.not_before <= now && can_go(q))?;
        // `position` is in range, but the object-code gate showed the
        // optimiser cannot see that through the closure: the check keeps
        // `remove`'s bounds panic out of the kernel build.
        if i >= self.entries.len() {
            return None;
        }
        Some(self.entries.remove(i))
    }
    /// The oldest entry regardless of readiness (for failing everything).
    pub(crate) fn take_first(&mut self) -> Option<Queued> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.entries.remove(0))
        }
    }
    /// Remove the entry with `tag`.
    pub(crate) fn take_tag(&mut self, tag: IoTag) -> Option<Queued> {
        let i = self.entries.iter().position(|q| q.io.tag == tag)?;
        Some(self.entries.remove(i))
    }
    /// The earliest `not_before` still in the future.
    pub(crate) fn next_ready_after(&self, now: Instant) -> Option<Instant> {
        self.entries
            .iter()
            .map(|q| q.not_before)
            .filter(|&t| t > now)
            .min()
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(tag: u64, at: u64) -> Queued {
        Queued {
            io: Io::read(tag, 512, 0),
            not_before: Instant::from_nanos(at),
            prefer: None,
        }
    }

    #[test]
    fn full_hands_back_and_fifo_respects_readiness() {
        let mut r: Requeue<3> = Requeue::new();
        assert!(r.push(q(1, 50)).is_ok());
        assert!(r.push(q(2, 0)).is_ok());
        assert!(r.push(q(3, 0)).is_ok());
        assert_eq!(r.push(q(4, 0)), Err(q(4, 0)));
        assert_eq!(r.len(), 3);
        let now = Instant::from_nanos(10);
        assert_eq!(r.next_ready_after(now), Some(Instant::from_nanos(50)));
        assert_eq!(r.take_ready_where(now, |_| true).unwrap().io.tag, IoTag(2));
        assert_eq!(r.take_ready_where(now, |_| true).unwrap().io.tag, IoTag(3));
        assert_eq!(r.take_ready_where(now, |_| true), None);
        assert_eq!(r.take_tag(IoTag(9)), None);
        assert_eq!(r.take_tag(IoTag(1)).unwrap().io.tag, IoTag(1));
        assert!(r.is_empty());
        assert_eq!(r.take_first(), None);
    }
}
