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
use crate::sync::Ordering;

#[inline]
pub(crate) fn select<const N: usize>(
    info: &[PathInfo; N],
    mask: u64,
    cursor: &mut Cursor<N>,
) -> Option<usize> {
    let last = cursor.last;
    // The cached path is kept only while its slot still holds it: a freed
    // slot is reused at once, perhaps by a remote path.
    if cursor.local != 0
        && last != NONE
        && mask & bits::bit(last) != 0
        && info
            .get(last)
            .is_some_and(|i| i.id.load(Ordering::Relaxed) == cursor.local)
    {
        return Some(last);
    }
    let node = cursor.node.0;
    for slot in Rotated::new(mask, last) {
        if let Some(i) = info
            .get(slot)
            .filter(|i| i.locality.load(Ordering::Relaxed) == node)
        {
            cursor.last = slot;
            cursor.local = i.id.load(Ordering::Relaxed);
            return Some(slot);
        }
    }
    let next = bits::next_after(mask, last)?;
    cursor.last = next;
    cursor.local = 0;
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::DataPlane;
    use crate::path::{Locality, PathId};

    #[test]
    fn sticks_to_local_and_falls_back() {
        let dp: DataPlane<4> = DataPlane::new();
        for (slot, node) in [(0u16, 0u32), (1, 1), (2, 1), (3, 0)] {
            let info = &dp.info[usize::from(slot)];
            info.locality.store(node, Ordering::Relaxed);
            info.id
                .store(PathId::new(slot, 1).to_raw(), Ordering::Relaxed);
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
