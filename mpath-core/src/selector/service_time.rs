//! Service-time: least estimated time to finish, dm `service-time` style.
//!
//! A path's estimated service time for an incoming I/O is
//! `(outstanding bytes + incoming bytes) / relative throughput`. Comparisons
//! cross-multiply instead of dividing, as dm does, and follow dm's
//! tie-breaks (`st_compare_load`):
//!
//! 1. equal relative throughput: fewer outstanding bytes wins;
//! 2. equal load, or either throughput 0: higher throughput wins, so a
//!    throughput-0 path is used only when nothing else is selectable;
//! 3. otherwise the smaller cross product wins;
//! 4. equal service time: higher throughput wins.
//!
//! dm shifts sizes down before multiplying to avoid overflow; here the
//! products are saturating `u64` (throughput is at most 100, so saturation
//! needs more than 1.8e17 outstanding bytes). Remaining exact ties rotate from
//! the caller's last choice instead of going to the first path in list order.

use crate::bits::Rotated;
use crate::dataplane::{Cursor, PathHot, PathInfo};
use crate::io::Io;
use core::cmp::Ordering as Cmp;
use core::sync::atomic::Ordering;

/// dm's relative throughput range.
pub(crate) const MAX_RELATIVE_THROUGHPUT: u8 = 100;

#[derive(Clone, Copy, Debug)]
struct Load {
    bytes: u64,
    rt: u64,
}

/// `Less` when `a` is the better path for an I/O of `incoming` bytes.
fn compare(a: Load, b: Load, incoming: u64) -> Cmp {
    if a.rt == b.rt {
        return a.bytes.cmp(&b.bytes);
    }
    if a.bytes == b.bytes || a.rt == 0 || b.rt == 0 {
        return b.rt.cmp(&a.rt);
    }
    let sa = a.bytes.saturating_add(incoming).saturating_mul(b.rt);
    let sb = b.bytes.saturating_add(incoming).saturating_mul(a.rt);
    match sa.cmp(&sb) {
        Cmp::Equal => b.rt.cmp(&a.rt),
        other => other,
    }
}

#[inline]
pub(crate) fn select<const N: usize>(
    info: &[PathInfo],
    hot: &[PathHot],
    mask: u64,
    cursor: &mut Cursor<N>,
    io: &Io,
) -> Option<usize> {
    let incoming = u64::from(io.bytes);
    let mut best: Option<(usize, Load)> = None;
    for slot in Rotated::new(mask, cursor.last) {
        let (Some(i), Some(h)) = (info.get(slot), hot.get(slot)) else {
            continue;
        };
        let load = Load {
            bytes: h.inflight_bytes.load(Ordering::Relaxed),
            rt: u64::from(
                i.relative_throughput
                    .load(Ordering::Relaxed)
                    .min(MAX_RELATIVE_THROUGHPUT),
            ),
        };
        match best {
            Some((_, b)) if compare(load, b, incoming) != Cmp::Less => {}
            _ => best = Some((slot, load)),
        }
    }
    let (slot, _) = best?;
    cursor.last = slot;
    Some(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::DataPlane;
    use crate::path::Locality;

    fn dp(paths: &[(u64, u8)]) -> DataPlane<8> {
        let dp = DataPlane::new();
        for (slot, &(bytes, rt)) in paths.iter().enumerate() {
            dp.hot[slot].inflight_bytes.store(bytes, Ordering::Relaxed);
            dp.info[slot]
                .relative_throughput
                .store(rt, Ordering::Relaxed);
        }
        dp
    }

    #[test]
    fn dm_tie_break_table() {
        // (paths as (outstanding bytes, relative throughput), io size, expected)
        type Case = (&'static [(u64, u8)], u32, usize, &'static str);
        let cases: &[Case] = &[
            (&[(8192, 1), (4096, 1)], 4096, 1, "same rt: less loaded"),
            (&[(4096, 1), (4096, 2)], 4096, 1, "same load: higher rt"),
            (
                &[(0, 0), (1 << 30, 1)],
                4096,
                1,
                "rt 0 only if nothing else",
            ),
            (&[(0, 0), (0, 0)], 4096, 0, "all rt 0: still a path"),
            // (8K+4K)/2 = 6K vs (2K+4K)/1 = 6K: equal service time, higher rt.
            (&[(8192, 2), (2048, 1)], 4096, 0, "equal st: higher rt"),
            // (16K+4K)/2 = 10K vs (4K+4K)/1 = 8K.
            (&[(16384, 2), (4096, 1)], 4096, 1, "lower service time"),
            (&[(4096, 200), (0, 100)], 4096, 1, "rt clamped to 100"),
        ];
        for &(paths, size, want, why) in cases {
            let dp = dp(paths);
            let mut c: Cursor<8> = Cursor::new(Locality(0));
            let mask = (1u64 << paths.len()) - 1;
            let got = select(&dp.info, &dp.hot, mask, &mut c, &Io::read(0, size, 0));
            assert_eq!(got, Some(want), "{why}");
        }
    }

    #[test]
    fn exact_ties_rotate() {
        let dp = dp(&[(0, 1), (0, 1), (0, 1)]);
        let mut c: Cursor<8> = Cursor::new(Locality(0));
        let io = Io::read(0, 512, 0);
        let picks: [usize; 4] =
            core::array::from_fn(|_| select(&dp.info, &dp.hot, 0b111, &mut c, &io).unwrap());
        assert_eq!(picks, [0, 1, 2, 0]);
    }
}
