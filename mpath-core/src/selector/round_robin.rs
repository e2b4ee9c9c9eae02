//! Round-robin.
//!
//! Matches dm-multipath's `round-robin` (move to the next path after
//! `rr_min_io_rq` requests) and NVMe's `round-robin` iopolicy, and adds
//! VMware-style byte limits. Improvement over both: the position is per CPU
//! (in the caller's cursor), so no I/O writes shared memory; dm keeps one
//! list under a spinlock and NVMe writes `current_path` per node on every
//! I/O.

use crate::bits;
use crate::dataplane::Cursor;
use crate::io::Io;

/// `switch_ios` is at least 1 (the data plane publishes it so).
#[inline]
pub(crate) fn select<const N: usize>(
    mask: u64,
    cursor: &mut Cursor<N>,
    io: &Io,
    switch_ios: u32,
    switch_bytes: u64,
) -> Option<usize> {
    let bytes = u64::from(io.bytes);
    let last = cursor.last;
    // Cheapest test first: with the default of one I/O per path it fails
    // and the rest is skipped. A fresh cursor's `run_ios` is `u32::MAX`,
    // so `last` is never `NONE` past this point.
    if cursor.run_ios < switch_ios
        && (switch_bytes == 0 || cursor.run_bytes < switch_bytes)
        && mask & bits::bit(last) != 0
    {
        cursor.run_ios = cursor.run_ios.saturating_add(1);
        cursor.run_bytes = cursor.run_bytes.saturating_add(bytes);
        return Some(last);
    }
    let next = bits::next_after(mask, last)?;
    cursor.last = next;
    cursor.run_ios = 1;
    cursor.run_bytes = bytes;
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Locality;
    extern crate std;
    use std::vec::Vec;

    fn run(mask: u64, n: usize, ios: u32, bytes: u64, size: u32) -> Vec<usize> {
        let mut c: Cursor<8> = Cursor::new(Locality(0));
        let io = Io::read(0, size, 0);
        (0..n)
            .map(|_| select(mask, &mut c, &io, ios, bytes).unwrap())
            .collect()
    }

    #[test]
    fn rotates_and_honours_switch_limits() {
        assert_eq!(run(0b111, 6, 1, 0, 4096), [0, 1, 2, 0, 1, 2]);
        assert_eq!(run(0b101, 4, 1, 0, 4096), [0, 2, 0, 2]);
        assert_eq!(run(0b11, 6, 3, 0, 4096), [0, 0, 0, 1, 1, 1]);
        // Byte limit 8 KiB with 4 KiB I/Os: two per path.
        assert_eq!(run(0b11, 6, 1000, 8192, 4096), [0, 0, 1, 1, 0, 0]);
        // A fresh cursor starts at the lowest slot even when slot 63 is
        // selectable (NONE must not alias it).
        assert_eq!(run(1 << 63 | 1, 3, 5, 0, 512), [0, 0, 0]);
    }

    #[test]
    fn leaves_a_path_that_left_the_mask() {
        let mut c: Cursor<8> = Cursor::new(Locality(0));
        let io = Io::read(0, 512, 0);
        assert_eq!(select(0b11, &mut c, &io, 100, 0), Some(0));
        assert_eq!(select(0b10, &mut c, &io, 100, 0), Some(1));
        assert_eq!(select(0, &mut c, &io, 100, 0), None);
    }
}
