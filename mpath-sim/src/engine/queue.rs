//! The event queue: virtual time, and a sequence number that orders events
//! due at the same instant by when they were scheduled, so a run never
//! depends on a heap's tie-breaking.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use mpath_core::Instant;

/// Events ordered by (time, sequence).
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slots: Vec<Option<E>>,
    free: Vec<usize>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedule `e` at `at`.
    pub fn push(&mut self, at: Instant, e: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(e);
                s
            }
            None => {
                self.slots.push(Some(e));
                self.slots.len() - 1
            }
        };
        self.heap.push(Reverse((at.as_nanos(), self.seq, slot)));
        self.seq += 1;
    }

    /// The next event and its time.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        let Reverse((at, _, slot)) = self.heap.pop()?;
        let e = self.slots[slot].take()?;
        self.free.push(slot);
        Some((Instant::from_nanos(at), e))
    }

    /// When the next event is due.
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap
            .peek()
            .map(|Reverse((at, _, _))| Instant::from_nanos(*at))
    }

    /// Events scheduled and not yet popped.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_then_scheduling_order() {
        let mut q = EventQueue::default();
        q.push(Instant::from_nanos(20), 'c');
        q.push(Instant::from_nanos(10), 'a');
        q.push(Instant::from_nanos(20), 'd');
        q.push(Instant::from_nanos(10), 'b');
        assert_eq!(q.len(), 4);
        assert_eq!(q.peek_time(), Some(Instant::from_nanos(10)));
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ['a', 'b', 'c', 'd']);
        assert!(q.is_empty());
        // Slots are reused.
        q.push(Instant::from_nanos(5), 'e');
        assert_eq!(q.slots.len(), 4);
        assert_eq!(q.pop(), Some((Instant::from_nanos(5), 'e')));
    }
}
