//! A cursor serves one data plane. Its admission credits are taken from
//! that data plane's pool: used with another, it would start I/O there
//! on credits the other's pool never gave (so that device could hold more
//! than its requeue depth and a failed completion could find no room) and
//! hand them back to the wrong pool. C cannot see which pool a cursor
//! draws on, and a daemon with many devices per CPU is the natural place
//! to share one by mistake: the first data-plane call binds a cursor, and
//! every other data plane refuses it with `-EXDEV`, nothing changed.

use super::*;
use crate::errno::*;

fn credits(c: &MpathCursor) -> u32 {
    let mut n = u32::MAX;
    assert_eq!(mpath_cursor_credits(Some(c), Some(&mut n)), 0);
    n
}

fn pool(dp: &MpathDataPlane) -> u32 {
    let mut n = u32::MAX;
    assert_eq!(mpath_dp_credits_available(Some(dp), Some(&mut n)), 0);
    n
}

#[test]
fn a_cursor_used_with_another_data_plane_is_refused_with_nothing_changed() {
    let mut r = rig();
    add(&mut r, 1, 10, 0);
    let mut other = rig();
    let theirs = add(&mut other, 1, 10, 0);
    let read = io(1, MpathIoKind::Read);

    // r's cursor takes a batch of credits from r's pool.
    let slot = ticket();
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), MS, Some(slot)),
        1
    );
    let kept = credits(r.cursor);
    assert!(kept > 0);
    let their_pool = pool(other.dp);

    let foreign_slot = ticket();
    assert_eq!(
        mpath_dp_submit(
            Some(other.dp),
            Some(r.cursor),
            Some(&read),
            MS,
            Some(foreign_slot)
        ),
        -EXDEV
    );
    assert_eq!(mpath_ticket_is_live(Some(foreign_slot)), 0);
    let mut chosen = u32::MAX;
    assert_eq!(
        mpath_dp_select(
            Some(other.dp),
            Some(r.cursor),
            Some(&read),
            MS,
            Some(&mut chosen)
        ),
        -EXDEV
    );
    assert_eq!(chosen, u32::MAX);
    assert_eq!(
        mpath_dp_start(
            Some(other.dp),
            Some(r.cursor),
            theirs,
            Some(&read),
            MS,
            Some(foreign_slot)
        ),
        -EXDEV
    );
    assert_eq!(mpath_ticket_is_live(Some(foreign_slot)), 0);
    assert_eq!(
        mpath_dp_release_credits(Some(other.dp), Some(r.cursor)),
        -EXDEV
    );
    // Neither pool moved: no I/O started on the other device on r's
    // credits, none of r's credits went into the other's pool.
    assert_eq!(pool(other.dp), their_pool);
    assert_eq!(credits(r.cursor), kept);
    // The other device's own ticket, completed with r's cursor.
    let their_slot = ticket();
    assert_eq!(
        mpath_dp_submit(
            Some(other.dp),
            Some(other.cursor),
            Some(&read),
            MS,
            Some(their_slot)
        ),
        1
    );
    let (their_pool, their_state) = (pool(other.dp), state(&other));
    let mut done = MpathIo::default();
    assert_eq!(
        mpath_dp_complete(
            Some(other.dp),
            Some(r.cursor),
            Some(their_slot),
            2 * MS,
            Some(&mut done)
        ),
        -EXDEV
    );
    assert_eq!(mpath_ticket_is_live(Some(their_slot)), 1, "handed back");
    assert_eq!(done, MpathIo::default());

    // Nothing moved: r's cursor keeps r's credits, the other pool its own.
    assert_eq!(credits(r.cursor), kept);
    assert_eq!(pool(other.dp), their_pool);
    assert_eq!(state(&other), their_state);
    // Each cursor still serves its own data plane.
    assert_eq!(
        mpath_dp_complete(
            Some(other.dp),
            Some(other.cursor),
            Some(their_slot),
            2 * MS,
            Some(&mut done)
        ),
        0
    );
    assert_eq!(
        mpath_dp_complete(
            Some(r.dp),
            Some(r.cursor),
            Some(slot),
            2 * MS,
            Some(&mut done)
        ),
        0
    );
}

/// A refused call does not bind a fresh cursor: it can still serve any
/// data plane until a call goes through.
#[test]
fn a_refused_call_does_not_bind_a_fresh_cursor() {
    let mut r = rig();
    add(&mut r, 1, 10, 0);
    let mut other = rig();
    add(&mut other, 1, 10, 0);
    let fresh = mpath_cursor_init(Some(mem()), 0).unwrap();
    let bad = MpathIo {
        kind: 2,
        ..io(1, MpathIoKind::Read)
    };
    let slot = ticket();
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(fresh), Some(&bad), MS, Some(slot)),
        -EINVAL
    );
    let mut done = MpathIo::default();
    assert_eq!(
        mpath_dp_complete(Some(r.dp), Some(fresh), Some(slot), MS, Some(&mut done)),
        -ENOENT
    );
    assert_eq!(mpath_dp_release_credits(Some(r.dp), Some(fresh)), 0);
    let read = io(2, MpathIoKind::Read);
    assert_eq!(
        mpath_dp_submit(Some(other.dp), Some(fresh), Some(&read), MS, Some(slot)),
        1,
        "not bound to r by the refusals"
    );
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(fresh), Some(&read), MS, Some(ticket())),
        -EXDEV,
        "bound to the other now"
    );
}
