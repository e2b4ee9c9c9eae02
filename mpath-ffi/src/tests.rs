//! Host tests that drive the library through its exports, as C would.

extern crate std;

use crate::codes::*;
use crate::config::*;
use crate::control_io::*;
use crate::controller::*;
use crate::dataplane::*;
use crate::errno::*;
use crate::io::*;
use crate::layout::*;
use crate::reservation::*;
use crate::snapshot::*;
use core::mem::MaybeUninit;
use std::boxed::Box;

const MS: u64 = 1_000_000;

/// Caller-owned memory for one object, as C would reserve it.
fn mem<T>() -> &'static mut MaybeUninit<T> {
    Box::leak(Box::new(MaybeUninit::uninit()))
}

struct Rig {
    dp: &'static MpathDataPlane,
    dev: &'static mut MpathDevice,
    cursor: &'static mut MpathCursor,
}

fn rig_with(cfg: &MpathConfig) -> Rig {
    let dp: &'static MpathDataPlane = mpath_dataplane_init(Some(mem()), 0).unwrap();
    let mut err = 0;
    let dev = mpath_device_init(Some(mem()), Some(dp), Some(cfg), Some(&mut err)).unwrap();
    assert_eq!(err, 0);
    let cursor = mpath_cursor_init(Some(mem()), 0).unwrap();
    Rig { dp, dev, cursor }
}

fn rig() -> Rig {
    let mut cfg = MpathConfig::default();
    assert_eq!(mpath_config_default(Some(&mut cfg)), 0);
    rig_with(&cfg)
}

fn ticket() -> &'static mut MpathTicket {
    mpath_ticket_init(Some(mem())).unwrap()
}

fn spec(group: u32, nexus: u32) -> MpathPathSpec {
    MpathPathSpec {
        group,
        nexus,
        relative_throughput: 1,
        ..MpathPathSpec::default()
    }
}

fn add(r: &mut Rig, group: u32, nexus: u32, now: u64) -> u32 {
    let mut id = 0;
    assert_eq!(
        mpath_add_path(Some(r.dev), Some(&spec(group, nexus)), now, Some(&mut id)),
        0
    );
    id
}

fn io(tag: u64, kind: MpathIoKind) -> MpathIo {
    MpathIo {
        tag,
        bytes: 4096,
        kind: kind.code(),
        retries: 3,
        reserved: [0; 7],
    }
}

fn path_error(kind: MpathPathError) -> MpathCompletion {
    MpathCompletion {
        outcome: MpathOutcome::PathError.code(),
        detail: kind.code(),
        ..MpathCompletion::default()
    }
}

fn ticket_path(t: &MpathTicket) -> u32 {
    let mut info = MpathTicketInfo::default();
    assert_eq!(mpath_ticket_info(Some(t), Some(&mut info)), 0);
    info.path
}

#[test]
fn a_read_fails_over_to_the_other_path_at_once() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
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

    let mut tier = 0;
    assert_eq!(mpath_path_tier(Some(r.dev), first, Some(&mut tier)), 0);
    assert_eq!(tier, MpathTier::Ineligible.code());

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
fn codes_outside_their_tables_are_refused_with_nothing_changed() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    assert_eq!(mpath_handle_probe(Some(r.dev), a, 99, MS), -EINVAL);
    assert_eq!(mpath_handle_link(Some(r.dev), a, u32::MAX, MS), -EINVAL);
    assert_eq!(
        mpath_set_policy(Some(r.dev), 6, Some(&MpathSelectorParams::default()), MS),
        -EINVAL
    );
    assert_eq!(mpath_set_no_path_policy(Some(r.dev), 3, 0, MS), -EINVAL);
    assert_eq!(mpath_handle_notices(Some(r.dev), a, 1 << 8, MS), -EINVAL);
    assert_eq!(mpath_handle_refresh_result(Some(r.dev), a, 2, MS), -EINVAL);
    let bad_access = MpathGroupAccess {
        state: 10,
        ..MpathGroupAccess::default()
    };
    assert_eq!(
        mpath_handle_access_state(Some(r.dev), 1, Some(&bad_access), MS),
        -EINVAL
    );
    let preferred_two = MpathGroupAccess {
        preferred: 2,
        ..MpathGroupAccess::default()
    };
    assert_eq!(
        mpath_handle_access_state(Some(r.dev), 1, Some(&preferred_two), MS),
        -EINVAL
    );

    // A bad I/O kind or completion leaves the ticket where it was.
    let slot = ticket();
    let bad_io = MpathIo {
        kind: 2,
        ..io(1, MpathIoKind::Read)
    };
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&bad_io), MS, Some(slot)),
        -EINVAL
    );
    assert_eq!(mpath_ticket_is_live(Some(slot)), 0);
    let read = io(1, MpathIoKind::Read);
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), MS, Some(slot)),
        1
    );
    let mut d = MpathDisposition::default();
    for bad in [
        MpathCompletion {
            outcome: 5,
            ..MpathCompletion::default()
        },
        MpathCompletion {
            outcome: MpathOutcome::PathError.code(),
            detail: 6,
            ..MpathCompletion::default()
        },
        MpathCompletion {
            outcome: MpathOutcome::TargetError.code(),
            detail: 7,
            ..MpathCompletion::default()
        },
        MpathCompletion {
            outcome: MpathOutcome::Retry.code(),
            detail: 4,
            ..MpathCompletion::default()
        },
        MpathCompletion {
            notices: 0x1_0000,
            ..MpathCompletion::default()
        },
    ] {
        assert_eq!(
            mpath_handle_completion(Some(r.dev), Some(slot), Some(&bad), MS, Some(&mut d)),
            -EINVAL
        );
        assert_eq!(mpath_ticket_is_live(Some(slot)), 1);
    }
    let mut cfg = MpathConfig::default();
    assert_eq!(mpath_config_default(Some(&mut cfg)), 0);
    cfg.failback = 4;
    assert_eq!(mpath_config_validate(Some(&cfg)), -EINVAL);
    let mut err = 0;
    assert!(mpath_device_init(Some(mem()), Some(r.dp), Some(&cfg), Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL);
    assert!(mpath_pr_init(Some(mem()), 3, Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL);
    let mut layout = MpathLayout::default();
    assert_eq!(mpath_object_layout(5, Some(&mut layout)), -EINVAL);
    assert_eq!(mpath_io_error_errno(8, 0), -EINVAL);
    // Nothing moved: one path, optimized.
    let mut tier = 0;
    assert_eq!(mpath_path_tier(Some(r.dev), a, Some(&mut tier)), 0);
    assert_eq!(tier, MpathTier::Optimized.code());
}

#[test]
fn null_handles_are_refused_with_efault() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    assert_eq!(mpath_fail_path(None, a, MS), -EFAULT);
    assert_eq!(mpath_handle_timeout(None, MS), -EFAULT);
    assert_eq!(
        mpath_poll_action(Some(r.dev), None, Some(ticket())),
        -EFAULT
    );
    assert_eq!(
        mpath_submit(
            Some(r.dev),
            None,
            MS,
            Some(&mut MpathDisposition::default()),
            Some(ticket())
        ),
        -EFAULT
    );
    assert_eq!(
        mpath_dp_submit(
            None,
            Some(r.cursor),
            Some(&io(1, MpathIoKind::Read)),
            MS,
            Some(ticket())
        ),
        -EFAULT
    );
    assert_eq!(
        mpath_dp_select(
            Some(r.dp),
            None,
            Some(&io(1, MpathIoKind::Read)),
            MS,
            Some(&mut 0)
        ),
        -EFAULT
    );
    assert_eq!(
        mpath_add_path(Some(r.dev), Some(&spec(1, 11)), MS, None),
        -EFAULT
    );
    assert_eq!(mpath_pr_submit(None, Some(&MpathPrOp::default())), -EFAULT);
    assert_eq!(mpath_ticket_is_live(None), -EFAULT);
    assert!(mpath_ticket_init(None).is_none());
    assert!(mpath_dataplane_init(None, 0).is_none());
    let mut err = 0;
    assert!(mpath_device_init(
        Some(mem()),
        None,
        Some(&MpathConfig::default()),
        Some(&mut err)
    )
    .is_none());
    assert_eq!(err, -EFAULT);
    // The refused add left no path behind.
    let mut ids = [0u32; MPATH_MAX_PATHS];
    assert_eq!(mpath_path_ids(Some(r.dev), Some(&mut ids)), 1);
    assert_eq!(ids[0], a);
}

#[test]
fn core_errors_come_back_as_errno() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 5 * MS);
    let mut id = 0;
    assert_eq!(
        mpath_add_path(Some(r.dev), Some(&spec(1, 10)), 5 * MS, Some(&mut id)),
        -EEXIST
    );
    assert_eq!(mpath_fail_path(Some(r.dev), a, MS), -ERANGE);
    assert_eq!(mpath_fail_path(Some(r.dev), a ^ 0x1_0000, 5 * MS), -EINVAL);
    assert_eq!(mpath_switch_group(Some(r.dev), Some(&7), 5 * MS), -ENOENT);
    assert_eq!(
        mpath_cancel(Some(r.dev), 42, 5 * MS, Some(&mut MpathIo::default())),
        -ENOENT
    );
    assert_eq!(
        mpath_handle_refresh_result(Some(r.dev), a, 1, 5 * MS),
        -EPROTO
    );
    let b = add(&mut r, 2, 11, 5 * MS);
    assert_eq!(mpath_remove_path(Some(r.dev), a, 6 * MS), 0);
    assert_eq!(mpath_fail_path(Some(r.dev), a, 6 * MS), -ESTALE);
    assert_eq!(mpath_fail_path(Some(r.dev), b, 6 * MS), 0);

    // A slot that holds a started I/O is never overwritten.
    let slot = ticket();
    assert_eq!(mpath_reinstate_path(Some(r.dev), b, 6 * MS), 0);
    let mut action = MpathAction::default();
    let scratch = ticket();
    while mpath_poll_action(Some(r.dev), Some(&mut action), Some(scratch)) == 1 {
        if action.kind == MpathActionKind::Probe.code() {
            assert_eq!(
                mpath_handle_probe(
                    Some(r.dev),
                    action.path,
                    MpathProbeResult::Up.code(),
                    6 * MS
                ),
                0
            );
        }
    }
    let read = io(3, MpathIoKind::Read);
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), 6 * MS, Some(slot)),
        1
    );
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), 6 * MS, Some(slot)),
        -EEXIST
    );
    let mut d = MpathDisposition::default();
    assert_eq!(
        mpath_submit(Some(r.dev), Some(&read), 6 * MS, Some(&mut d), Some(slot)),
        -EEXIST
    );
    assert_eq!(mpath_ticket_move(Some(scratch), Some(slot)), 0);
    assert_eq!(mpath_ticket_is_live(Some(slot)), 0);
    assert_eq!(mpath_ticket_move(Some(ticket()), Some(slot)), -ENOENT);
    assert_eq!(mpath_ticket_move(Some(scratch), Some(ticket())), -EEXIST);

    // A ticket from another device is handed back untouched.
    let other = rig();
    let mut done = MpathIo::default();
    assert_eq!(
        mpath_dp_complete(
            Some(other.dp),
            Some(other.cursor),
            Some(scratch),
            7 * MS,
            Some(&mut done)
        ),
        -EXDEV
    );
    assert_eq!(mpath_ticket_is_live(Some(scratch)), 1);
    assert_eq!(
        mpath_dp_complete(
            Some(r.dp),
            Some(r.cursor),
            Some(scratch),
            7 * MS,
            Some(&mut done)
        ),
        0
    );
    assert_eq!(done, read);
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
    let r = rig_with(&cfg);
    let mut back = MpathConfig::default();
    assert_eq!(mpath_config(Some(r.dev), Some(&mut back)), 0);
    assert_eq!(back, cfg);
    let mut policy = 0;
    assert_eq!(mpath_dp_policy(Some(r.dp), Some(&mut policy)), 0);
    assert_eq!(policy, MpathPolicy::ServiceTime.code());
}

#[test]
fn the_coordinator_registers_every_path_and_opens_the_gate() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
    let pr = mpath_pr_init(Some(mem()), MpathRegistrationScope::Nexus.code(), None).unwrap();
    assert_eq!(mpath_pr_path_added(Some(pr), a, 1, 1), 0);
    assert_eq!(mpath_pr_path_added(Some(pr), b, 2, 1), 0);
    let op = MpathPrOp {
        kind: MpathPrOpKind::Register.code(),
        key: 0xa1,
        ..MpathPrOp::default()
    };
    assert_eq!(mpath_pr_submit(Some(pr), Some(&op)), 0);
    assert_eq!(mpath_pr_submit(Some(pr), Some(&op)), -EAGAIN);
    assert_eq!(mpath_apply_reservation(Some(r.dev), Some(pr), MS), 0);
    assert_eq!(mpath_reservation_key_active(Some(r.dev)), 1);
    let mut selectable = u64::MAX;
    assert_eq!(mpath_dp_selectable(Some(r.dp), Some(&mut selectable)), 0);
    assert_eq!(selectable, 0, "unregistered paths carry no I/O");

    let mut action = MpathPrAction::default();
    let mut sent = 0;
    while mpath_pr_poll_action(Some(pr), Some(&mut action)) == 1 {
        let reply = match MpathPrCommand::from_code(action.command).unwrap() {
            MpathPrCommand::Register => {
                assert_eq!(action.key, 0xa1);
                MpathPrReply::default()
            }
            MpathPrCommand::ReadKeys => MpathPrReply {
                kind: MpathPrReplyKind::Keys.code(),
                ours: 2,
                total: 2,
                ..MpathPrReply::default()
            },
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(mpath_pr_reply(Some(pr), action.via, Some(&reply)), 1);
        sent += 1;
    }
    assert!(sent >= 2);
    let mut event = MpathPrEvent::default();
    assert_eq!(mpath_pr_poll_event(Some(pr), Some(&mut event)), 1);
    assert_eq!(event.kind, MpathPrEventKind::Finished.code());
    assert_eq!(event.result, 0);
    assert_eq!(event.op, op);
    assert_eq!(event.report.registered.count_ones(), 2);
    let mut state = 0;
    assert_eq!(mpath_pr_state(Some(pr), a, Some(&mut state)), 0);
    assert_eq!(state, MpathRegState::Registered.code());
    assert_eq!(mpath_pr_state(Some(pr), 63, Some(&mut state)), -ENOENT);
    assert_eq!(mpath_pr_is_up(Some(pr), a), 1);
    assert_eq!(mpath_pr_is_up(Some(pr), 63), -ENOENT);
    assert_eq!(mpath_pr_awaiting_reply(Some(pr), a), 0);

    assert_eq!(mpath_apply_reservation(Some(r.dev), Some(pr), 2 * MS), 0);
    assert_eq!(mpath_dp_selectable(Some(r.dp), Some(&mut selectable)), 0);
    assert_eq!(selectable.count_ones(), 2);
    let mut key = 0;
    assert_eq!(mpath_pr_key(Some(pr), Some(&mut key)), 1);
    assert_eq!(key, 0xa1);
    let bad = MpathPrReply {
        kind: 6,
        ..MpathPrReply::default()
    };
    assert_eq!(mpath_pr_reply(Some(pr), a, Some(&bad)), -EINVAL);
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
        mpath_add_path(Some(r.dev), Some(&spec(1, 999)), 0, Some(&mut id)),
        -ENOSPC
    );
}

#[test]
fn layouts_fit_the_reserved_sizes() {
    for code in 0..5 {
        let mut l = MpathLayout::default();
        assert_eq!(mpath_object_layout(code, Some(&mut l)), 0);
        assert!(
            l.size <= l.reserve && l.align <= l.reserve_align,
            "{code}: {l:?}"
        );
    }
}
