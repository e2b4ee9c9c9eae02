//! A map keyed by ids the engine hands out in increasing order (command
//! ids, I/O tags), for the commands in flight and the I/Os outstanding.
//!
//! Both are a few dozen entries, inserted at the top (a new id is larger
//! than every one before it) and removed mostly near the bottom (the
//! oldest finish first). A `BTreeMap` paid for that in node rebalancing
//! (`bulk_steal_right` on almost every remove from the front); a sorted
//! double-ended queue appends, finds by binary search, and shifts the
//! shorter side on a remove. Iteration is in id order, as a `BTreeMap`'s:
//! the engine walks the commands of a path in that order when a link
//! fails or a controller resets, and the order of what it schedules then
//! is part of the trace.

use std::collections::VecDeque;

/// Values by id, in id order.
#[derive(Clone, Debug)]
pub(crate) struct IdMap<V> {
    entries: VecDeque<(u64, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            entries: VecDeque::new(),
        }
    }
}

impl<V> IdMap<V> {
    /// Where `id` is, or where it would go.
    fn find(&self, id: u64) -> Result<usize, usize> {
        // The newest is the likeliest to be asked for by the engine's
        // next step (a command just sent arrives), so look there first.
        match self.entries.back() {
            Some((k, _)) if *k == id => Ok(self.entries.len() - 1),
            Some((k, _)) if *k < id => Err(self.entries.len()),
            _ => self.entries.binary_search_by_key(&id, |(k, _)| *k),
        }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `id`.
    pub fn get(&self, id: &u64) -> Option<&V> {
        let i = self.find(*id).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value of `id`, to change.
    pub fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        let i = self.find(*id).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Set the value of `id`; the value it had, if any.
    pub fn insert(&mut self, id: u64, v: V) -> Option<V> {
        match self.find(id) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, old)| std::mem::replace(old, v)),
            Err(i) if i == self.entries.len() => {
                self.entries.push_back((id, v));
                None
            }
            Err(i) => {
                self.entries.insert(i, (id, v));
                None
            }
        }
    }

    /// Take `id` out.
    pub fn remove(&mut self, id: &u64) -> Option<V> {
        let i = self.find(*id).ok()?;
        self.entries.remove(i).map(|(_, v)| v)
    }

    /// Entries in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries in id order, values to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&u64, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Against `BTreeMap`: the same answers and the same order for any
    /// sequence of operations, ids mostly increasing as the engine's are.
    #[test]
    fn behaves_as_a_btree_map() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut m = IdMap::default();
        let mut r = BTreeMap::new();
        let mut top = 0u64;
        for step in 0..50_000u64 {
            let id = match next() % 4 {
                0 => {
                    top += 1 + next() % 3;
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
            if step % 1000 == 0 {
                assert!(m.iter().eq(r.iter()));
                assert!(m
                    .iter_mut()
                    .map(|(k, v)| (*k, *v))
                    .eq(r.iter().map(|(k, v)| (*k, *v))));
            }
        }
        assert!(m.iter().eq(r.iter()));
    }
}
