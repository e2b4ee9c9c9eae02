//! Unit attention conditions, queued per I_T nexus (SAM-5 5.14, SPC-4
//! 5.13, 5.15.2).
//!
//! A condition is reported as CHECK CONDITION, UNIT ATTENTION on the next
//! command of that nexus, except INQUIRY and REPORT LUNS (which neither
//! report nor clear it) and REQUEST SENSE (which returns it as its data and
//! clears it). One condition is reported per command, oldest first. The
//! queue keeps one entry per ASC/ASCQ: a second REGISTRATIONS PREEMPTED
//! before the first was seen tells the host nothing new. A power on or I_T
//! nexus loss replaces whatever was queued, since SAM-5 lets it supersede
//! every other condition.

/// Most conditions queued per nexus; there are fewer distinct codes than
/// this, so with deduplication the queue never overflows in practice.
const QUEUE_MAX: usize = 8;

/// The unit attentions pending for one I_T nexus, as ASC/ASCQ pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitAttentions {
    queue: Vec<(u8, u8)>,
}

impl UnitAttentions {
    /// Queue `code` unless it is already pending.
    pub fn establish(&mut self, code: (u8, u8)) {
        if !self.queue.contains(&code) && self.queue.len() < QUEUE_MAX {
            self.queue.push(code);
        }
    }

    /// Drop everything pending and queue `code` alone (power on, reset,
    /// I_T nexus loss).
    pub fn reset_to(&mut self, code: (u8, u8)) {
        self.queue.clear();
        self.queue.push(code);
    }

    /// The oldest pending condition, removed.
    pub fn pop(&mut self) -> Option<(u8, u8)> {
        if self.queue.is_empty() {
            None
        } else {
            Some(self.queue.remove(0))
        }
    }

    /// Whether anything is pending (the fast path asks this first).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The pending conditions, oldest first.
    pub fn pending(&self) -> &[(u8, u8)] {
        &self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_dedup_and_reset() {
        let mut q = UnitAttentions::default();
        q.establish((0x2A, 0x06));
        q.establish((0x2A, 0x05));
        q.establish((0x2A, 0x06));
        assert_eq!(q.pending(), &[(0x2A, 0x06), (0x2A, 0x05)]);
        assert_eq!(q.pop(), Some((0x2A, 0x06)));
        q.reset_to((0x29, 0x07));
        assert_eq!(q.pending(), &[(0x29, 0x07)]);
        assert_eq!(q.pop(), Some((0x29, 0x07)));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
        for i in 0..20 {
            q.establish((0x30, i));
        }
        assert_eq!(q.pending().len(), QUEUE_MAX);
    }
}
