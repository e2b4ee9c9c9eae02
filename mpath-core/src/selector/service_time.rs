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
//! [`better`] shows why the four rules are one lexicographic comparison.

use crate::dataplane::{Cursor, PathHot, PathInfo};
use crate::io::Io;
use crate::sync::Ordering;

/// dm's relative throughput range.
pub(crate) const MAX_RELATIVE_THROUGHPUT: u8 = 100;

#[derive(Clone, Copy, Debug)]
struct Load {
    bytes: u64,
    rt: u64,
}

/// Whether `a` is a better path than `b` for an I/O of `incoming` bytes.
///
/// dm's four rules fold into one comparison of the cross products, ties
/// going to the higher throughput and then to fewer bytes:
/// - equal throughput `t > 0`: `(a + i) t < (b + i) t` is `a < b` (rule 1);
///   both 0: the products tie and the byte tie-break is rule 1;
/// - equal bytes, or one throughput 0: the products order by throughput,
///   or tie at 0 and the throughput tie-break decides (rule 2);
/// - otherwise the smaller product wins (rule 3), a tie to the higher
///   throughput (rule 4).
///
/// Written without early returns so the scan compiles to a few compares and
/// conditional moves per path.
#[inline]
fn better(a: Load, b: Load, incoming: u64) -> bool {
    // Equal loads (every path of an idle device) order by throughput alone,
    // without the multiplications.
    if a.bytes == b.bytes {
        return a.rt > b.rt;
    }
    let sa = a.bytes.saturating_add(incoming).saturating_mul(b.rt);
    let sb = b.bytes.saturating_add(incoming).saturating_mul(a.rt);
    // `(sa, b.rt, a.bytes) < (sb, a.rt, b.bytes)` with non-short-circuit
    // operators, so it compiles to flag arithmetic rather than branches.
    (sa < sb) | ((sa == sb) & ((a.rt > b.rt) | ((a.rt == b.rt) & (a.bytes < b.bytes))))
}

#[inline]
pub(crate) fn select<const N: usize>(
    info: &[PathInfo; N],
    hot: &[PathHot; N],
    mask: u64,
    cursor: &mut Cursor<N>,
    io: &Io,
) -> Option<usize> {
    let incoming = u64::from(io.bytes);
    let pending = &cursor.pending;
    // The control plane stores throughput already clamped to 0..=100.
    let load = |slot: usize| -> Option<Load> {
        let (i, h, p) = (info.get(slot)?, hot.get(slot)?, pending.get(slot)?);
        Some(Load {
            bytes: p.view_bytes(h),
            rt: u64::from(i.relative_throughput.load(Ordering::Relaxed)),
        })
    };
    super::best_of(mask, &mut cursor.last, load, |a, b| better(a, b, incoming))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::DataPlane;
    use crate::path::Locality;

    fn dp(paths: &[(u64, u8)]) -> DataPlane<8> {
        let dp = DataPlane::new();
        for (slot, &(bytes, rt)) in paths.iter().enumerate() {
            dp.hot[slot]
                .inflight_bytes
                .store(i64::try_from(bytes).unwrap(), Ordering::Relaxed);
            dp.info[slot]
                .relative_throughput
                .store(rt.min(MAX_RELATIVE_THROUGHPUT), Ordering::Relaxed);
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

    /// dm's `st_compare_load`, rule by rule, as the reference `better`
    /// must agree with wherever the products do not saturate.
    fn dm_compare(a: Load, b: Load, incoming: u64) -> core::cmp::Ordering {
        if a.rt == b.rt {
            return a.bytes.cmp(&b.bytes);
        }
        if a.bytes == b.bytes || a.rt == 0 || b.rt == 0 {
            return b.rt.cmp(&a.rt);
        }
        let sa = (a.bytes + incoming) * b.rt;
        let sb = (b.bytes + incoming) * a.rt;
        sa.cmp(&sb).then(b.rt.cmp(&a.rt))
    }

    #[test]
    fn one_comparison_equals_dm_rules() {
        let bytes = [0u64, 1, 2, 3, 512, 4096, 8192, 12288, 1 << 30];
        let rts = [0u64, 1, 2, 3, 50, 100];
        let mut checked = 0;
        for &ab in &bytes {
            for &ar in &rts {
                for &bb in &bytes {
                    for &br in &rts {
                        for inc in [0u64, 512, 4096] {
                            let (a, b) = (Load { bytes: ab, rt: ar }, Load { bytes: bb, rt: br });
                            let want = dm_compare(a, b, inc) == core::cmp::Ordering::Less;
                            assert_eq!(better(a, b, inc), want, "{a:?} vs {b:?} +{inc}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 9 * 6 * 9 * 6 * 3);
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
