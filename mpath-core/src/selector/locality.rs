//! Locality: keep I/O on a path close to the submitting CPU.
//!
//! Matches NVMe's `numa` iopolicy: among the selectable paths, use one whose
//! locality hint equals the CPU's node and keep using it (NVMe caches
//! `current_path[node]`; here the cache is the caller's cursor, so nothing is
//! written shared). With no local path, fall back to rotating over all
//! selectable paths, re-checking for a local one on every I/O so that a local
//! path that comes back is used again at once. NVMe measures SLIT distance;
//! the core has no distance table, so a hint is either local or not, and
//! embedders wanting a nearest-node order can map nodes onto hints.

use crate::bits::{self, Rotated};
use crate::dataplane::{Cursor, PathInfo, NONE};
use core::sync::atomic::Ordering;

#[inline]
pub(crate) fn select<const N: usize>(
    info: &[PathInfo],
    mask: u64,
    cursor: &mut Cursor<N>,
) -> Option<usize> {
    let last = cursor.last;
    if cursor.last_is_local && last != NONE && mask & bits::bit(last) != 0 {
        return Some(last);
    }
    let node = cursor.node.0;
    for slot in Rotated::new(mask, last) {
        if info
            .get(slot)
            .is_some_and(|i| i.locality.load(Ordering::Relaxed) == node)
        {
            cursor.last = slot;
            cursor.last_is_local = true;
            return Some(slot);
        }
    }
    let next = bits::next_after(mask, last)?;
    cursor.last = next;
    cursor.last_is_local = false;
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::DataPlane;
    use crate::path::Locality;

    #[test]
    fn sticks_to_local_and_falls_back() {
        let dp: DataPlane<4> = DataPlane::new();
        for (slot, node) in [(0, 0u32), (1, 1), (2, 1), (3, 0)] {
            dp.info[slot].locality.store(node, Ordering::Relaxed);
        }
        let mut c: Cursor<4> = Cursor::new(Locality(1));
        assert_eq!(select(&dp.info, 0b1111, &mut c), Some(1));
        assert_eq!(select(&dp.info, 0b1111, &mut c), Some(1));
        // Local path 1 gone: the other local path.
        assert_eq!(select(&dp.info, 0b1101, &mut c), Some(2));
        // No local path: rotate over the rest.
        assert_eq!(select(&dp.info, 0b1001, &mut c), Some(3));
        assert_eq!(select(&dp.info, 0b1001, &mut c), Some(0));
        // A local path returns: used at once.
        assert_eq!(select(&dp.info, 0b1011, &mut c), Some(1));
    }
}
