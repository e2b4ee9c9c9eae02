//! The counting selectors' per-CPU load over the C ABI: a cursor's
//! unpublished part, `mpath_dp_park`, and the fixed-policy submits.

use super::*;
use crate::errno::*;
use core::ffi::c_int;

fn qd_rig() -> Rig {
    let mut cfg = default_config();
    cfg.policy = MpathPolicy::QueueDepth.code();
    rig_with(&cfg, MpathRegistrationScope::Nexus)
}

fn unpublished(c: &MpathCursor, slot: u32) -> (i32, i64) {
    let (mut ios, mut bytes) = (i32::MIN, i64::MIN);
    assert_eq!(
        mpath_cursor_unpublished(Some(c), slot, Some(&mut ios), Some(&mut bytes)),
        0
    );
    (ios, bytes)
}

fn inflight(dp: &MpathDataPlane, slot: u32) -> u32 {
    let mut n = u32::MAX;
    assert_eq!(mpath_dp_inflight(Some(dp), slot, Some(&mut n)), 0);
    n
}

/// Three queue-depth I/Os started at one instant: the first from an idle
/// CPU is published at once, the two after it (a busy CPU) stay in the
/// cursor; parking publishes them.
#[test]
fn park_publishes_what_a_cursor_holds_back() {
    let mut r = qd_rig();
    let p = add(&mut r, 1, 10, 0);
    let slot = p & 0xffff;
    let slots: Vec<&mut MpathTicket> = (0..3).map(|_| ticket()).collect();
    for (k, t) in slots.into_iter().enumerate() {
        let read = io(k as u64, MpathIoKind::Read);
        assert_eq!(
            mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), MS, Some(t)),
            1
        );
    }
    assert_eq!(unpublished(r.cursor, slot), (2, 0));
    assert_eq!(inflight(r.dp, slot), 1, "two held back");
    assert_eq!(mpath_dp_park(Some(r.dp), Some(r.cursor)), 0);
    assert_eq!(unpublished(r.cursor, slot), (0, 0));
    assert_eq!(inflight(r.dp, slot), 3, "published");
    let mut credits = u32::MAX;
    assert_eq!(mpath_cursor_credits(Some(r.cursor), Some(&mut credits)), 0);
    assert_eq!(credits, 0, "and the credits went back");
}

#[test]
fn park_and_unpublished_refuse_what_they_must() {
    let r = qd_rig();
    let other = qd_rig();
    let (mut ios, mut bytes) = (7, 7);
    assert_eq!(mpath_dp_park(None, Some(r.cursor)), -EFAULT);
    assert_eq!(mpath_dp_park(Some(r.dp), None), -EFAULT);
    assert_eq!(
        mpath_cursor_unpublished(Some(r.cursor), 64, Some(&mut ios), Some(&mut bytes)),
        -EINVAL
    );
    assert_eq!(
        mpath_cursor_unpublished(None, 0, Some(&mut ios), Some(&mut bytes)),
        -EFAULT
    );
    assert_eq!(
        mpath_cursor_unpublished(Some(r.cursor), 0, None, Some(&mut bytes)),
        -EFAULT
    );
    assert_eq!(
        mpath_cursor_unpublished(Some(r.cursor), 0, Some(&mut ios), None),
        -EFAULT
    );
    assert_eq!((ios, bytes), (7, 7), "nothing written on a refusal");
    // Bound to r by a submit, the cursor is refused by the other device.
    let mut r = r;
    add(&mut r, 1, 10, 0);
    // Two at one instant: the second is held back (a busy CPU).
    for k in 0..2 {
        let read = io(k, MpathIoKind::Read);
        let t = ticket();
        assert_eq!(
            mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), MS, Some(t)),
            1
        );
    }
    assert_eq!(mpath_dp_park(Some(other.dp), Some(r.cursor)), -EXDEV);
    assert_eq!(
        unpublished(r.cursor, 0).0,
        1,
        "nothing published by the refusal"
    );
}

type Submit = extern "C" fn(
    Option<&MpathDataPlane>,
    Option<&mut MpathCursor>,
    Option<&MpathIo>,
    u64,
    Option<&mut MpathTicket>,
) -> c_int;

/// Each fixed-policy submit places I/O exactly as `mpath_dp_submit` does
/// on a device of its policy, and on a device of another policy too (it
/// falls back to the general path).
#[test]
fn fixed_policy_submits_place_io_as_the_general_one() {
    let fixed: [(MpathPolicy, Submit); 6] = [
        (MpathPolicy::RoundRobin, mpath_dp_submit_round_robin),
        (MpathPolicy::QueueDepth, mpath_dp_submit_queue_depth),
        (MpathPolicy::QueueBytes, mpath_dp_submit_queue_bytes),
        (MpathPolicy::ServiceTime, mpath_dp_submit_service_time),
        (MpathPolicy::Adaptive, mpath_dp_submit_adaptive),
        (MpathPolicy::Locality, mpath_dp_submit_locality),
    ];
    for (fixed_policy, submit) in fixed {
        for device_policy in [fixed_policy, MpathPolicy::QueueBytes] {
            let placed = |via: Submit| {
                let mut cfg = default_config();
                cfg.policy = device_policy.code();
                let mut r = rig_with(&cfg, MpathRegistrationScope::Nexus);
                for n in 0..4 {
                    add(&mut r, 1, 10 + n, 0);
                }
                let mut live: Vec<&mut MpathTicket> = Vec::new();
                let mut paths = Vec::new();
                for k in 0..40u64 {
                    let mut read = io(k, MpathIoKind::Read);
                    read.bytes = 512 << (k % 5);
                    let t = ticket();
                    assert_eq!(
                        via(Some(r.dp), Some(r.cursor), Some(&read), MS + k, Some(t)),
                        1
                    );
                    paths.push(ticket_path(t));
                    live.push(t);
                    if k % 3 == 2 {
                        let t = live.remove(0);
                        let mut done = MpathIo::default();
                        let rc = mpath_dp_complete(
                            Some(r.dp),
                            Some(r.cursor),
                            Some(t),
                            MS + k,
                            Some(&mut done),
                        );
                        assert_eq!(rc, 0);
                    }
                }
                paths
            };
            assert_eq!(
                placed(submit),
                placed(mpath_dp_submit),
                "built for {fixed_policy:?}, device at {device_policy:?}"
            );
        }
    }
    // The refusals are the general one's.
    let r = qd_rig();
    assert_eq!(
        mpath_dp_submit_queue_depth(None, Some(r.cursor), None, MS, None),
        -EFAULT
    );
}
