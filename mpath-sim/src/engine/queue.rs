//! The event queue: virtual time, and a sequence number that orders events
//! due at the same instant by when they were scheduled, so a run never
//! depends on a heap's tie-breaking.
//!
//! Most of what a run schedules is near (a link's latency, a port's
//! service time), but every command also schedules its timeout far ahead
//! (the command timeout, 100 ms to 30 s), and almost none of those fire:
//! a single heap held one per command the run had sent in the last
//! command timeout, hundreds of thousands, and every pop sifted through
//! them (a third of the engine's time, most of it cache misses). Far
//! events are scheduled in time order (now plus a fixed timeout, and now
//! only moves forward), so they go to a few sorted runs, appended at the
//! back and popped at the front, and the heap keeps only what is near.
//! Which container holds an event changes nothing of the order: every
//! pop takes the least (time, sequence) of the heap's top and the runs'
//! fronts, and sequence numbers are unique.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use mpath_core::Instant;

/// Events due at least this far past the last one popped are far: they
/// go to a sorted run when one takes them. 2^24 ns, about 17 ms: well past
/// a link's round trip and a port's service time, well short of the
/// shortest command timeout the sweep draws (100 ms).
const FAR_NS: u64 = 1 << 24;

/// Sorted runs kept at most: one for the command timeouts, and room for
/// the events a run schedules at its start (faults, the end of the
/// workload, the end of the run), which are far and not in time order.
const RUNS: usize = 4;

/// Near events kept sorted at most: inserting shifts up to half of
/// them, so past this many the heap takes the rest.
const SOON_MAX: usize = 64;

/// One scheduled event.
#[derive(Debug)]
struct Entry<E> {
    at: u64,
    seq: u64,
    e: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (u64, u64) {
        (self.at, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap`'s greatest is the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// Where the earliest event is.
#[derive(Clone, Copy)]
enum Source {
    Soon,
    Heap,
    Run(usize),
}

/// Events ordered by (time, sequence).
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Near events, sorted by (time, sequence) front to back: a pop
    /// takes the front, a push finds its place by binary search. Most of
    /// a run's events are here (a few dozen).
    soon: VecDeque<Entry<E>>,
    /// Near events past [`SOON_MAX`], and far ones no run took.
    near: BinaryHeap<Entry<E>>,
    /// Far events, each run sorted by (time, sequence) front to back.
    runs: Vec<VecDeque<Entry<E>>>,
    /// The least (time, sequence) at the runs' fronts and its run, kept
    /// so that a pop looks at one key for all the runs.
    runs_first: Option<((u64, u64), usize)>,
    /// Time of the last event popped.
    now: u64,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            soon: VecDeque::new(),
            near: BinaryHeap::new(),
            runs: Vec::new(),
            runs_first: None,
            now: 0,
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedule `e` at `at`.
    pub fn push(&mut self, at: Instant, e: E) {
        let entry = Entry {
            at: at.as_nanos(),
            seq: self.seq,
            e,
        };
        self.seq += 1;
        if entry.at >= self.now.saturating_add(FAR_NS) {
            // The run whose last event is the latest not after this one
            // (its sequence number is larger than any already scheduled,
            // so the run stays sorted); an empty run takes anything.
            let mut fit: Option<(usize, Option<u64>)> = None;
            for (k, r) in self.runs.iter().enumerate() {
                let back = r.back().map(|b| b.at);
                if back.is_some_and(|b| b > entry.at) {
                    continue;
                }
                if fit.map_or(true, |(_, best)| back > best) {
                    fit = Some((k, back));
                }
            }
            let k = match fit {
                Some((k, _)) => Some(k),
                None if self.runs.len() < RUNS => {
                    self.runs.push(VecDeque::new());
                    Some(self.runs.len() - 1)
                }
                None => None,
            };
            if let Some((k, r)) = k.and_then(|k| self.runs.get_mut(k).map(|r| (k, r))) {
                let key = entry.key();
                r.push_back(entry);
                // The runs' least front changes only if this run was
                // empty: otherwise this goes after its front.
                if self.runs_first.map_or(true, |(first, _)| key < first) {
                    self.runs_first = Some((key, k));
                }
                return;
            }
        }
        if self.soon.len() < SOON_MAX {
            // After every event due at the same time: they were
            // scheduled before this one.
            // Most go last (a link's latency ahead) or first (the next
            // submission, due now): look there before searching.
            match (self.soon.front(), self.soon.back()) {
                (_, Some(b)) if b.at <= entry.at => self.soon.push_back(entry),
                (Some(f), _) if f.at > entry.at => self.soon.push_front(entry),
                (None, _) => self.soon.push_back(entry),
                _ => {
                    let i = self.soon.partition_point(|x| x.at <= entry.at);
                    self.soon.insert(i, entry);
                }
            }
        } else {
            self.near.push(entry);
        }
    }

    /// Where the earliest event is, and its time.
    fn earliest(&self) -> Option<(Source, u64)> {
        let mut best = self.soon.front().map(|e| (Source::Soon, e.key()));
        if let Some(h) = self.near.peek() {
            if best.map_or(true, |(_, b)| h.key() < b) {
                best = Some((Source::Heap, h.key()));
            }
        }
        if let Some((r, k)) = self.runs_first {
            if best.map_or(true, |(_, b)| r < b) {
                best = Some((Source::Run(k), r));
            }
        }
        best.map(|(s, (at, _))| (s, at))
    }

    /// The next event and its time.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        let (source, _) = self.earliest()?;
        let entry = match source {
            Source::Soon => self.soon.pop_front(),
            Source::Heap => self.near.pop(),
            Source::Run(k) => {
                let e = self.runs.get_mut(k).and_then(VecDeque::pop_front);
                self.runs_first = self
                    .runs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, r)| r.front().map(|f| (f.key(), k)))
                    .min();
                e
            }
        }?;
        self.now = entry.at;
        Some((Instant::from_nanos(entry.at), entry.e))
    }

    /// When the next event is due.
    pub fn peek_time(&self) -> Option<Instant> {
        self.earliest().map(|(_, at)| Instant::from_nanos(at))
    }

    /// Events scheduled and not yet popped.
    pub fn len(&self) -> usize {
        self.soon.len() + self.near.len() + self.runs.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        q.push(Instant::from_nanos(5), 'e');
        assert_eq!(q.pop(), Some((Instant::from_nanos(5), 'e')));
    }

    #[test]
    fn far_events_keep_time_then_scheduling_order() {
        let far = |n: u64| Instant::from_nanos(FAR_NS * n);
        let mut q = EventQueue::default();
        // Out of order at the start (the faults, the end of the run), then
        // a run of timeouts in order, ties with near and far events.
        q.push(far(100), 'z');
        q.push(far(3), 'e');
        q.push(far(50), 'y');
        q.push(far(7), 'f');
        q.push(far(2), 'c');
        q.push(far(2), 'd');
        q.push(Instant::from_nanos(1), 'a');
        q.push(far(2), 'x');
        assert!(q.runs.len() <= RUNS);
        assert!(!q.runs.is_empty());
        assert_eq!(q.len(), 8);
        assert_eq!(q.pop(), Some((Instant::from_nanos(1), 'a')));
        // Near now: scheduled after 'c' and 'd' at the same time.
        q.push(far(2), 'w');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ['c', 'd', 'x', 'w', 'e', 'f', 'y', 'z']);
        assert!(q.is_empty());
        assert_eq!(q.peek_time(), None);
    }

    /// Against a sorted reference: any schedule comes out by (time,
    /// sequence), whichever container each event went to.
    #[test]
    fn any_schedule_pops_in_order() {
        // A fixed linear congruential sequence: the test is deterministic.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut popped: Vec<(u64, u64)> = Vec::new();
        let mut now = 0u64;
        let mut seq = 0u64;
        for _ in 0..20_000 {
            if next() % 3 == 0 {
                if let Some((at, s)) = q.pop() {
                    now = at.as_nanos();
                    popped.push((now, s));
                }
            } else {
                let ahead = match next() % 4 {
                    0 => next() % 1_000,
                    1 => FAR_NS * 30 + next() % 50,
                    2 => next() % (FAR_NS * 40),
                    _ => 0,
                };
                q.push(Instant::from_nanos(now + ahead), seq);
                reference.push((now + ahead, seq));
                seq += 1;
            }
        }
        while let Some((at, s)) = q.pop() {
            popped.push((at.as_nanos(), s));
        }
        reference.sort_unstable();
        let mut sorted = popped.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, reference, "every event popped once");
        assert!(popped.windows(2).all(|w| w[0] < w[1]), "in order");
    }
}
