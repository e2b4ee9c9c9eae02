//! The I/O path through the device: failover of reads and writes, the
//! events a failed path raises, configuration, topology and layouts.

use super::*;
use crate::errno::*;
use crate::layout::*;
use crate::snapshot::*;

fn events(r: &mut Rig) -> Vec<MpathEvent> {
    let mut out = Vec::new();
    let mut e = MpathEvent::default();
    while mpath_poll_event(Some(r.dev), Some(&mut e)) == 1 {
        out.push(e);
    }
    out
}

fn reinstated(path: u32, tier: u32) -> MpathEvent {
    MpathEvent {
        kind: MpathEventKind::PathReinstated.code(),
        path,
        tier,
        ..MpathEvent::default()
    }
}

fn active(tier: u32) -> MpathEvent {
    MpathEvent {
        kind: MpathEventKind::ActiveTier.code(),
        tier,
        ..MpathEvent::default()
    }
}

#[test]
fn a_read_fails_over_to_the_other_path_at_once() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
    // New paths are reported usable, then the tier selection uses.
    let optimized = MpathTier::Optimized.code();
    assert_eq!(
        events(&mut r),
        [
            reinstated(a, optimized),
            reinstated(b, optimized),
            active(optimized)
        ]
    );
    let slot = ticket();
    let read = io(7, MpathIoKind::Read);
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), MS, Some(slot)),
        1
    );
    let first = ticket_path(slot);
    assert!(first == a || first == b);
    let other = if first == a { b } else { a };

    let mut d = MpathDisposition::default();
    let rc = mpath_handle_completion(
        Some(r.dev),
        Some(slot),
        Some(&path_error(MpathPathError::Transport)),
        2 * MS,
        Some(&mut d),
    );
    assert_eq!(rc, 0);
    assert_eq!(d.kind, MpathDispositionKind::Dispatch.code());
    assert_eq!(d.path, other);
    assert_eq!(d.io.tag, 7);
    // The new ticket is in the same slot, for the other path.
    assert_eq!(mpath_ticket_is_live(Some(slot)), 1);
    assert_eq!(ticket_path(slot), other);

    assert_eq!(tier_of(&r, first), MpathTier::Ineligible.code());
    // One event: the other path keeps the optimized tier in use.
    let failed = MpathEvent {
        kind: MpathEventKind::PathFailed.code(),
        path: first,
        ..MpathEvent::default()
    };
    assert_eq!(events(&mut r), [failed]);

    let mut done = MpathIo::default();
    assert_eq!(
        mpath_dp_complete(
            Some(r.dp),
            Some(r.cursor),
            Some(slot),
            3 * MS,
            Some(&mut done)
        ),
        0
    );
    assert_eq!(done, read);
    assert_eq!(mpath_ticket_is_live(Some(slot)), 0);
    // A ticket completes once.
    assert_eq!(
        mpath_dp_complete(
            Some(r.dp),
            Some(r.cursor),
            Some(slot),
            3 * MS,
            Some(&mut done)
        ),
        -ENOENT
    );
}

#[test]
fn a_write_waits_for_the_quiesce_time_then_goes_out_on_the_other_path() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
    let slot = ticket();
    let mut d = MpathDisposition::default();
    let write = io(9, MpathIoKind::Write);
    assert_eq!(
        mpath_submit(Some(r.dev), Some(&write), MS, Some(&mut d), Some(slot)),
        0
    );
    assert_eq!(d.kind, MpathDispositionKind::Dispatch.code());
    let first = ticket_path(slot);
    let other = if first == a { b } else { a };

    assert_eq!(
        mpath_handle_completion(
            Some(r.dev),
            Some(slot),
            Some(&path_error(MpathPathError::Timeout)),
            2 * MS,
            Some(&mut d),
        ),
        0
    );
    assert_eq!(d.kind, MpathDispositionKind::Queued.code());
    assert_eq!(mpath_ticket_is_live(Some(slot)), 0);

    let mut wake = 0;
    assert_eq!(mpath_poll_timeout(Some(r.dev), Some(&mut wake)), 1);
    assert!(wake > 2 * MS);
    assert_eq!(mpath_handle_timeout(Some(r.dev), wake), 0);
    let mut action = MpathAction::default();
    let mut dispatched = false;
    let mut probed = false;
    while mpath_poll_action(Some(r.dev), Some(&mut action), Some(slot)) == 1 {
        if action.kind == MpathActionKind::Dispatch.code() {
            assert_eq!(action.io, write);
            assert_eq!(action.path, other);
            assert_eq!(ticket_path(slot), other);
            let mut done = MpathIo::default();
            assert_eq!(
                mpath_dp_complete(
                    Some(r.dp),
                    Some(r.cursor),
                    Some(slot),
                    wake,
                    Some(&mut done)
                ),
                0
            );
            dispatched = true;
        } else if action.kind == MpathActionKind::Probe.code() {
            assert_eq!(action.path, first);
            probed = true;
        }
    }
    assert!(dispatched && probed);
    let mut snap = MpathDeviceSnapshot::default();
    assert_eq!(mpath_device_snapshot(Some(r.dev), Some(&mut snap)), 0);
    assert_eq!(snap.counters.failovers, 1);
    assert_eq!(snap.paths, 2);
    assert_eq!(snap.selectable, 1);
}

#[test]
fn configuration_round_trips_and_zero_intervals_are_refused() {
    let mut cfg = MpathConfig::default();
    assert_eq!(mpath_config_default(Some(&mut cfg)), 0);
    assert_eq!(cfg.decode().unwrap(), mpath_core::Config::DEFAULT);
    assert_eq!(mpath_config_validate(Some(&cfg)), 0);
    cfg.failback = MpathFailback::Delayed.code();
    cfg.failback_delay_ns = 0;
    assert_eq!(mpath_config_validate(Some(&cfg)), -EINVAL);
    cfg.failback_delay_ns = 5 * MS;
    cfg.no_path = MpathNoPath::Fail.code();
    cfg.no_path_queue_for_ns = 0;
    cfg.policy = MpathPolicy::ServiceTime.code();
    let r = rig_with(&cfg, MpathRegistrationScope::Nexus);
    let mut back = MpathConfig::default();
    assert_eq!(mpath_config(Some(r.dev), Some(&mut back)), 0);
    assert_eq!(back, cfg);
    let mut policy = 0;
    assert_eq!(mpath_dp_policy(Some(r.dp), Some(&mut policy)), 0);
    assert_eq!(policy, MpathPolicy::ServiceTime.code());
}

#[test]
fn the_topology_fits_a_fixed_buffer_and_says_when_it_was_cut() {
    let mut r = rig();
    for n in 0..8 {
        add(&mut r, n % 2, 100 + n, 0);
    }
    let mut name = MpathName {
        bytes: [0; MPATH_NAME_CAPACITY],
    };
    name.bytes[..5].copy_from_slice(b"mpath");
    let text = Box::leak(Box::new(MpathText {
        len: 0,
        truncated: 0,
        reserved: [0; 3],
        bytes: [0; MPATH_TEXT_CAPACITY],
    }));
    assert_eq!(mpath_topology(Some(r.dev), Some(&name), Some(text)), 0);
    let s = core::str::from_utf8(&text.bytes[..text.len as usize]).unwrap();
    assert!(
        s.starts_with("mpath waiting") || s.starts_with("mpath live"),
        "{s}"
    );
    assert_eq!(s.matches("nexus=").count(), 8);
    assert_eq!(text.truncated, 0);

    // A buffer too small for it: cut, flagged, still UTF-8.
    let mut long = MpathName {
        bytes: [b'x'; MPATH_NAME_CAPACITY],
    };
    long.bytes[0] = 0xff;
    assert_eq!(
        mpath_topology(Some(r.dev), Some(&long), Some(text)),
        -EINVAL
    );
    for n in 8..64 {
        add(&mut r, n % 16, 100 + n, 0);
    }
    assert_eq!(mpath_topology(Some(r.dev), Some(&name), Some(text)), 0);
    assert_eq!(text.truncated, 1);
    assert!(text.len as usize <= MPATH_TEXT_CAPACITY);
    assert!(core::str::from_utf8(&text.bytes[..text.len as usize]).is_ok());

    let mut snap = MpathPathSnapshot::default();
    let mut ids = [0u32; MPATH_MAX_PATHS];
    assert_eq!(mpath_path_ids(Some(r.dev), Some(&mut ids)), 64);
    assert_eq!(mpath_path_snapshot(Some(r.dev), ids[3], Some(&mut snap)), 0);
    assert_eq!(snap.id, ids[3]);
    assert_eq!(snap.nexus, 103);
    let mut id = 0;
    assert_eq!(
        mpath_add_path(Some(r.dev), Some(&spec(1, 999)), 999, 0, Some(&mut id)),
        -ENOSPC
    );
}

#[test]
fn layouts_fit_the_reserved_sizes() {
    for object in [
        MpathObject::DataPlane,
        MpathObject::Cursor,
        MpathObject::Device,
        MpathObject::Ticket,
        MpathObject::ScsiAdapter,
        MpathObject::NvmeAdapter,
    ] {
        let mut l = MpathLayout::default();
        assert_eq!(mpath_object_layout(object.code(), Some(&mut l)), 0);
        assert!(
            l.size <= l.reserve && l.align <= l.reserve_align,
            "{object:?}: {l:?}"
        );
    }
    // The retired coordinator's code is not reused.
    let mut l = MpathLayout::default();
    assert_eq!(mpath_object_layout(3, Some(&mut l)), -EINVAL);
    assert_eq!(l, MpathLayout::default());
}

/// Every kind of path event crosses: marginal, a tier change from an
/// access-state change, the active tier following it, and reinstatement.
#[test]
fn path_events_follow_marks_and_access_states() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 2, 11, 0);
    let (opt, nonopt) = (MpathTier::Optimized.code(), MpathTier::NonOptimized.code());
    assert_eq!(events(&mut r).len(), 3);
    assert_eq!(mpath_set_marginal(Some(r.dev), a, MS), 0);
    let marginal = MpathEvent {
        kind: MpathEventKind::PathMarginal.code(),
        path: a,
        ..MpathEvent::default()
    };
    assert_eq!(events(&mut r), [marginal]);
    let nonoptimized = MpathGroupAccess {
        state: MpathAccessState::NonOptimized.code(),
        ..MpathGroupAccess::default()
    };
    assert_eq!(
        mpath_handle_access_state(Some(r.dev), 2, Some(&nonoptimized), 2 * MS),
        0
    );
    let moved = MpathEvent {
        kind: MpathEventKind::PathTier.code(),
        path: b,
        tier: nonopt,
        ..MpathEvent::default()
    };
    assert_eq!(events(&mut r), [moved, active(nonopt)]);
    let mut in_use = u32::MAX;
    assert_eq!(mpath_active_tier(Some(r.dev), Some(&mut in_use)), 0);
    assert_eq!(in_use, nonopt);
    assert_eq!(mpath_clear_marginal(Some(r.dev), a, 3 * MS), 0);
    assert_eq!(events(&mut r), [reinstated(a, opt), active(opt)]);
    // Polled again: nothing new.
    assert_eq!(events(&mut r), []);
}
