//! Bit tricks over the 64-bit path masks the data plane publishes.

/// The index of the lowest set bit of a non-zero mask.
#[inline]
pub(crate) fn lowest(mask: u64) -> usize {
    // trailing_zeros() <= 64 fits every usize the core builds for.
    #[allow(clippy::as_conversions)]
    let i = mask.trailing_zeros() as usize;
    i
}

/// A slot's shift amount. Slots are below 64 by construction (the data plane
/// asserts `N <= 64` at compile time); `NONE` (`usize::MAX`) maps to 63, which
/// makes "above NONE" empty so round-robin starts from the lowest slot.
#[inline]
fn shift(slot: usize) -> u32 {
    // `slot & 63` always fits; the fallback is never taken.
    u32::try_from(slot & 63).unwrap_or(63)
}

/// The single-bit mask for `slot` (`slot < 64`).
#[inline]
pub(crate) fn bit(slot: usize) -> u64 {
    1u64.wrapping_shl(shift(slot))
}

/// The bits of `mask` strictly above `slot`.
#[inline]
pub(crate) fn above(mask: u64, slot: usize) -> u64 {
    // Two shifts so that slot 63 gives an empty mask without a branch.
    mask & u64::MAX.wrapping_shl(shift(slot)).wrapping_shl(1)
}

/// The first set bit of `mask` after `slot`, wrapping around; `None` if the
/// mask is empty. This is the round-robin step.
#[inline]
pub(crate) fn next_after(mask: u64, slot: usize) -> Option<usize> {
    if mask == 0 {
        return None;
    }
    let hi = above(mask, slot);
    Some(lowest(if hi != 0 { hi } else { mask }))
}

/// Iterates the set bits of a mask starting after `start` and wrapping, so
/// that ties between equally good paths rotate instead of always going to
/// the lowest slot.
///
/// The mask is rotated once so that the slot after `start` becomes bit 0;
/// the scan is then one register, one `tzcnt` and one clear per path, with
/// no switch between a "high" and a "low" half.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rotated {
    rest: u64,
    /// Added to a rotated bit index to give the slot (mod 64).
    base: u32,
}

impl Rotated {
    #[inline]
    pub(crate) fn new(mask: u64, start: usize) -> Self {
        // `NONE` maps to 63, so the scan starts at slot 0.
        let base = shift(start).wrapping_add(1) & 63;
        Rotated {
            rest: mask.rotate_right(base),
            base,
        }
    }
}

impl Iterator for Rotated {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.rest == 0 {
            return None;
        }
        let i = self.rest.trailing_zeros();
        self.rest &= self.rest.wrapping_sub(1);
        // i < 64 and base < 64: the sum fits; `& 63` wraps it to a slot.
        #[allow(clippy::as_conversions)]
        let slot = (i.wrapping_add(self.base) & 63) as usize;
        Some(slot)
    }
}

/// Iterates the set bits of a mask from the lowest.
#[cfg(test)]
pub(crate) fn iter(mask: u64) -> Rotated {
    Rotated {
        rest: mask,
        base: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn next_after_wraps() {
        let cases = [
            (0b1011u64, 0usize, Some(1usize)),
            (0b1011, 1, Some(3)),
            (0b1011, 3, Some(0)),
            (0b1011, 63, Some(0)),
            (1 << 63, 62, Some(63)),
            (1 << 63, 63, Some(63)),
            (0, 5, None),
        ];
        for (mask, slot, want) in cases {
            assert_eq!(next_after(mask, slot), want, "{mask:b} after {slot}");
        }
    }

    #[test]
    fn rotated_visits_every_bit_once_starting_after() {
        let got: Vec<usize> = Rotated::new(0b1101_0110, 2).collect();
        assert_eq!(got, [4, 6, 7, 1, 2]);
        let got: Vec<usize> = Rotated::new(u64::MAX, 63).collect();
        assert_eq!(got.len(), 64);
        assert_eq!(got[0], 0);
        let got: Vec<usize> = iter(0b101).collect();
        assert_eq!(got, [0, 2]);
    }

    #[test]
    fn bit_and_above_handle_the_edges() {
        assert_eq!(bit(0), 1);
        assert_eq!(bit(63), 1 << 63);
        assert_eq!(above(u64::MAX, 63), 0);
        assert_eq!(above(u64::MAX, 62), 1 << 63);
    }
}
