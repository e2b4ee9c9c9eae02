//! Queue-depth: the path with the fewest outstanding I/Os (or bytes).
//!
//! Matches dm's `queue-length` and NVMe's `queue-depth` iopolicy. Two
//! improvements: ties rotate from the caller's last choice instead of always
//! going to the first path in list order (at low load, when every count is
//! zero, the kernel versions send everything to one path), and a path with
//! nothing outstanding ends the scan at once.

use crate::bits::Rotated;
use crate::dataplane::{Cursor, PathHot};
use crate::load::Pending;

/// The least-loaded path by `load`: the published count plus this
/// cursor's own part (see [`crate::load`]).
#[inline]
fn least<const N: usize>(
    hot: &[PathHot; N],
    mask: u64,
    cursor: &mut Cursor<N>,
    load: impl Fn(&Pending, &PathHot) -> u64,
) -> Option<usize> {
    let mut best = None;
    let mut best_load = u64::MAX;
    for slot in Rotated::new(mask, cursor.last) {
        let (Some(h), Some(p)) = (hot.get(slot), cursor.pending.get(slot)) else {
            continue;
        };
        let l = load(p, h);
        if best.is_none() || l < best_load {
            best = Some(slot);
            best_load = l;
            if l == 0 {
                break;
            }
        }
    }
    if let Some(s) = best {
        cursor.last = s;
    }
    best
}

#[inline]
pub(crate) fn select_count<const N: usize>(
    hot: &[PathHot; N],
    mask: u64,
    cursor: &mut Cursor<N>,
) -> Option<usize> {
    least(hot, mask, cursor, Pending::view_ios)
}

#[inline]
pub(crate) fn select_bytes<const N: usize>(
    hot: &[PathHot; N],
    mask: u64,
    cursor: &mut Cursor<N>,
) -> Option<usize> {
    least(hot, mask, cursor, Pending::view_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::DataPlane;
    use crate::path::Locality;
    use crate::sync::Ordering;

    #[test]
    fn picks_least_loaded_and_rotates_ties() {
        let dp: DataPlane<4> = DataPlane::new();
        let mut c: Cursor<4> = Cursor::new(Locality(0));
        for (slot, n) in [(0, 3), (1, 1), (2, 1), (3, 0)] {
            dp.hot[slot].inflight.store(n, Ordering::Relaxed);
        }
        assert_eq!(select_count(&dp.hot, 0b1111, &mut c), Some(3));
        // Without path 3: 1 and 2 tie, and the choice alternates.
        assert_eq!(select_count(&dp.hot, 0b0111, &mut c), Some(1));
        assert_eq!(select_count(&dp.hot, 0b0111, &mut c), Some(2));
        assert_eq!(select_count(&dp.hot, 0b0111, &mut c), Some(1));
        assert_eq!(select_count(&dp.hot, 0b0001, &mut c), Some(0));
        assert_eq!(select_count(&dp.hot, 0, &mut c), None);
    }

    #[test]
    fn bytes_variant_reads_bytes() {
        let dp: DataPlane<2> = DataPlane::new();
        let mut c: Cursor<2> = Cursor::new(Locality(0));
        dp.hot[0].inflight.store(0, Ordering::Relaxed);
        dp.hot[0].inflight_bytes.store(1 << 20, Ordering::Relaxed);
        dp.hot[1].inflight.store(9, Ordering::Relaxed);
        dp.hot[1].inflight_bytes.store(4096, Ordering::Relaxed);
        assert_eq!(select_bytes(&dp.hot, 0b11, &mut c), Some(1));
        assert_eq!(select_count(&dp.hot, 0b11, &mut c), Some(0));
        // And the other way round.
        dp.hot[1].inflight_bytes.store(1 << 21, Ordering::Relaxed);
        assert_eq!(select_bytes(&dp.hot, 0b11, &mut c), Some(0));
    }
}
