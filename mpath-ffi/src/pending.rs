//! Commands an adapter handed to C and awaits the response of, by tag.
//!
//! The adapters' commands (`ScsiCommand`, `NvmeCommand`) cannot be
//! rebuilt from the bytes C sends: they carry what the response is for
//! (which action, which send of a PERSISTENT RESERVE command, which
//! purpose of a log read). So the adapter object keeps each command it
//! gave out, and C names it in the response by the tag it came with, as a
//! SCSI initiator matches a response to its task tag and an NVMe host a
//! completion to its command identifier.
//!
//! A tag is `(sequence << 16) | slot`: the slot finds the entry at once and
//! the sequence (never reused while the library runs: 2^48 commands)
//! makes a tag whose command was answered, or cancelled, unknown for good,
//! so a late or duplicated response cannot land on the slot's next
//! command.

use crate::errno::{ENOSPC, EPROTO};
use core::ffi::c_int;

/// Bits of a tag that name the slot.
const SLOT_BITS: u32 = 16;

/// Up to `N` commands awaiting a response (`N` at most 2^16).
#[derive(Debug)]
pub(crate) struct Pending<C: Copy, const N: usize> {
    slots: [Option<(u64, C)>; N],
    /// Commands given out so far: the next tag's sequence number.
    issued: u64,
}

impl<C: Copy, const N: usize> Pending<C, N> {
    const EMPTY: Option<(u64, C)> = None;
    const FITS: () = assert!(N <= 1 << SLOT_BITS);

    pub(crate) const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::FITS;
        Pending {
            slots: [Self::EMPTY; N],
            issued: 0,
        }
    }

    /// A free slot, or `-ENOSPC` with nothing changed: check before the
    /// adapter does anything, so a refusal changes nothing.
    pub(crate) fn free_slot(&self) -> Result<usize, c_int> {
        self.slots.iter().position(Option::is_none).ok_or(-ENOSPC)
    }

    fn next_tag(&mut self, slot: usize) -> u64 {
        self.issued = self.issued.wrapping_add(1);
        let slot = u64::try_from(slot).unwrap_or(0);
        self.issued.wrapping_shl(SLOT_BITS) | slot
    }

    /// Keep `cmd` in `slot` (from [`free_slot`](Self::free_slot)); its tag.
    pub(crate) fn insert(&mut self, slot: usize, cmd: C) -> u64 {
        let tag = self.next_tag(slot);
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some((tag, cmd));
        }
        tag
    }

    fn slot_of(tag: u64) -> usize {
        usize::try_from(tag & ((1 << SLOT_BITS) - 1)).unwrap_or(usize::MAX)
    }

    /// The command `tag` names; `-EPROTO` if none awaits a response.
    pub(crate) fn get(&self, tag: u64) -> Result<C, c_int> {
        match self.slots.get(Self::slot_of(tag)) {
            Some(Some((t, cmd))) if *t == tag => Ok(*cmd),
            _ => Err(-EPROTO),
        }
    }

    /// Forget the command `tag` names; `-EPROTO` if none awaits a response.
    pub(crate) fn remove(&mut self, tag: u64) -> Result<C, c_int> {
        let cmd = self.get(tag)?;
        if let Some(s) = self.slots.get_mut(Self::slot_of(tag)) {
            *s = None;
        }
        Ok(cmd)
    }

    /// Put `next` where the command `tag` was (it is to be sent instead:
    /// a resend, a reissue), under a new tag.
    pub(crate) fn replace(&mut self, tag: u64, next: C) -> u64 {
        let slot = Self::slot_of(tag);
        self.insert(slot, next)
    }

    /// Forget every command for which `stale` says so.
    pub(crate) fn forget(&mut self, stale: impl Fn(&C) -> bool) {
        for s in self.slots.iter_mut() {
            if s.as_ref().is_some_and(|(_, c)| stale(c)) {
                *s = None;
            }
        }
    }

    /// Commands awaiting a response.
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_names_its_command_until_answered_and_never_again() {
        let mut p = Pending::<u32, 2>::new();
        let s = p.free_slot().unwrap();
        let a = p.insert(s, 10);
        let b = p.insert(p.free_slot().unwrap(), 11);
        assert_ne!(a, b);
        assert_eq!(p.free_slot(), Err(-ENOSPC));
        assert_eq!((p.get(a), p.get(b), p.len()), (Ok(10), Ok(11), 2));
        assert_eq!(p.remove(a), Ok(10));
        assert_eq!(p.get(a), Err(-EPROTO));
        assert_eq!(p.remove(a), Err(-EPROTO));
        // The slot comes back under a new tag: the old one stays unknown.
        let c = p.insert(p.free_slot().unwrap(), 12);
        assert_eq!(c & 0xffff, a & 0xffff);
        assert_ne!(c, a);
        assert_eq!(p.get(a), Err(-EPROTO));
        let d = p.replace(c, 13);
        assert_eq!((p.get(c), p.get(d)), (Err(-EPROTO), Ok(13)));
        p.forget(|&x| x == 13);
        assert_eq!((p.get(d), p.get(b), p.len()), (Err(-EPROTO), Ok(11), 1));
        // Tag 0 and tags past the table name nothing.
        assert_eq!(p.get(0), Err(-EPROTO));
        assert_eq!(p.get((1 << 16) | 5), Err(-EPROTO));
    }
}
