//! A map keyed by ids the engine hands out in increasing order (command
//! ids, I/O tags), for the commands in flight and the I/Os outstanding.
//!
//! Both are a few dozen entries, inserted at the top (a new id is larger
//! than every one before it) and removed mostly near the bottom (the
//! oldest finish first). A `BTreeMap` paid for that in node rebalancing
//! (`bulk_steal_right` on almost every remove from the front), and a
//! binary search on every look-up was still a tenth of the engine's time.
//! Here the recent ids index a ring directly (`id - base`); an entry that
//! outlives a window of ids (an NVMe Asynchronous Event Request held for
//! the whole run, a command hanging on a zombie path) moves to a
//! `BTreeMap` of old entries, so the ring stays short. Iteration is in
//! id order, as a `BTreeMap`'s: the engine walks the commands of a path
//! in that order when a link fails or a controller resets, and the order
//! of what it schedules then is part of the trace.

use std::collections::{BTreeMap, VecDeque};

/// Ids the ring spans at most before its oldest entries move out.
const WINDOW: usize = 4096;

/// Values by id, in id order.
#[derive(Clone, Debug)]
pub(crate) struct IdMap<V> {
    /// Ids `base..base + ring.len()`, each with its entry if it has one.
    /// The front is always an entry (or the ring is empty).
    ring: VecDeque<Option<(u64, V)>>,
    base: u64,
    /// Entries in the ring.
    in_ring: usize,
    /// Entries with ids below `base`.
    old: BTreeMap<u64, V>,
    window: usize,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap::with_window(WINDOW)
    }
}

impl<V> IdMap<V> {
    fn with_window(window: usize) -> Self {
        IdMap {
            ring: VecDeque::new(),
            base: 0,
            in_ring: 0,
            old: BTreeMap::new(),
            window: window.max(1),
        }
    }

    /// Where `id` is in the ring, if it is in the ring's span.
    fn slot(&self, id: u64) -> Option<usize> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        (i < self.ring.len()).then_some(i)
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.in_ring + self.old.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `id`.
    pub fn get(&self, id: &u64) -> Option<&V> {
        match self.slot(*id) {
            Some(i) => self.ring.get(i)?.as_ref().map(|(_, v)| v),
            None => self.old.get(id),
        }
    }

    /// The value of `id`, to change.
    pub fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        match self.slot(*id) {
            Some(i) => self.ring.get_mut(i)?.as_mut().map(|(_, v)| v),
            None => self.old.get_mut(id),
        }
    }

    /// Set the value of `id`; the value it had, if any.
    pub fn insert(&mut self, id: u64, v: V) -> Option<V> {
        if let Some(i) = self.slot(id) {
            let slot = self.ring.get_mut(i)?;
            let old = slot.replace((id, v)).map(|(_, old)| old);
            if old.is_none() {
                self.in_ring += 1;
            }
            return old;
        }
        if self.ring.is_empty() && id >= self.base {
            // Old entries stay below `base`: it never goes down.
            self.base = id;
        }
        if id < self.base {
            return self.old.insert(id, v);
        }
        // Past the ring's end: ids skipped on the way have no entry.
        let gap = usize::try_from(id - self.base)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.ring.len());
        if gap >= self.window {
            // Too far to span: what the ring holds is old now.
            while !self.ring.is_empty() {
                self.evict_front();
            }
            self.base = id;
        } else {
            self.ring.extend(std::iter::repeat_with(|| None).take(gap));
        }
        self.ring.push_back(Some((id, v)));
        self.in_ring += 1;
        while self.ring.len() > self.window {
            self.evict_front();
        }
        self.trim();
        None
    }

    /// Take `id` out.
    pub fn remove(&mut self, id: &u64) -> Option<V> {
        let Some(i) = self.slot(*id) else {
            return self.old.remove(id);
        };
        let (_, v) = self.ring.get_mut(i)?.take()?;
        self.in_ring -= 1;
        self.trim();
        Some(v)
    }

    /// Move the ring's first id out (to the old entries if it has one).
    fn evict_front(&mut self) {
        if let Some(Some((id, v))) = self.ring.pop_front() {
            self.in_ring -= 1;
            self.old.insert(id, v);
        }
        self.base += 1;
    }

    /// Drop the ids without entries at the ring's front.
    fn trim(&mut self) {
        while matches!(self.ring.front(), Some(None)) {
            self.ring.pop_front();
            self.base += 1;
        }
    }

    /// Entries in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &V)> {
        self.old.iter().chain(
            self.ring
                .iter()
                .filter_map(|e| e.as_ref().map(|(k, v)| (k, v))),
        )
    }

    /// Entries in id order, values to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&u64, &mut V)> {
        self.old.iter_mut().chain(
            self.ring
                .iter_mut()
                .filter_map(|e| e.as_mut().map(|(k, v)| (&*k, v))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against `BTreeMap`: the same answers and the same order for any
    /// sequence of operations, ids mostly increasing as the engine's are,
    /// with jumps and entries that outlive the window.
    #[test]
    fn behaves_as_a_btree_map() {
        for window in [1, 3, 16, WINDOW] {
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let mut m = IdMap::with_window(window);
            let mut r = BTreeMap::new();
            let mut top = 0u64;
            for step in 0..30_000u64 {
                let id = match next() % 8 {
                    0..=2 => {
                        top += 1 + next() % 3;
                        top
                    }
                    3 if next() % 50 == 0 => {
                        top += next() % 10_000;
                        top
                    }
                    _ => top.saturating_sub(next() % 40),
                };
                match next() % 5 {
                    0 | 1 => assert_eq!(m.insert(id, step), r.insert(id, step)),
                    2 => assert_eq!(m.remove(&id), r.remove(&id)),
                    3 => {
                        if let (Some(a), Some(b)) = (m.get_mut(&id), r.get_mut(&id)) {
                            *a += 1;
                            *b += 1;
                        }
                    }
                    _ => assert_eq!(m.get(&id), r.get(&id)),
                }
                assert_eq!(m.len(), r.len());
                assert_eq!(m.is_empty(), r.is_empty());
                assert!(m.ring.len() <= window);
                assert!(!matches!(m.ring.front(), Some(None)));
                if step % 500 == 0 {
                    assert!(m.iter().eq(r.iter()), "window {window} step {step}");
                    assert!(m
                        .iter_mut()
                        .map(|(k, v)| (*k, *v))
                        .eq(r.iter().map(|(k, v)| (*k, *v))));
                }
            }
            assert!(m.iter().eq(r.iter()));
        }
    }

    /// An entry held for long (an Asynchronous Event Request) does not
    /// keep the ring long.
    #[test]
    fn a_long_lived_entry_moves_out_of_the_ring() {
        let mut m = IdMap::with_window(8);
        m.insert(1, 'a');
        for id in 2..100 {
            m.insert(id, 'x');
            m.remove(&id);
        }
        assert!(m.ring.is_empty());
        assert_eq!(m.old.len(), 1);
        assert_eq!(m.get(&1), Some(&'a'));
        m.insert(100, 'b');
        assert!(m.iter().map(|(k, _)| *k).eq([1, 100]));
    }
}
