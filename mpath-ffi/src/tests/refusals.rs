//! Refused inputs: `NULL` pointers, codes outside their tables, the
//! core's typed errors as errno, foreign and stale handles, time going
//! backwards. Each is refused with nothing changed.

use super::*;
use crate::errno::*;
use crate::layout::*;
use target::OURS;

#[test]
fn codes_outside_their_tables_are_refused_with_nothing_changed() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let added = state(&r);
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
    assert_eq!(state(&r), added);

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
    let before = state(&r);
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
    assert!(mpath_device_init(Some(mem()), Some(r.dp), Some(&cfg), 0, Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL);
    err = 0;
    let good = default_config();
    assert!(mpath_device_init(Some(mem()), Some(r.dp), Some(&good), 3, Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL, "a registration scope outside its table");
    let mut layout = MpathLayout::default();
    assert_eq!(mpath_object_layout(7, Some(&mut layout)), -EINVAL);
    assert_eq!(mpath_io_error_errno(8, 0), -EINVAL);

    // Reservation operations and replies with a code or flag outside its
    // table.
    for bad in [
        MpathPrOp {
            kind: 9,
            ..MpathPrOp::default()
        },
        // REGISTER AND MOVE needs its TransportID: mpath_reservation_move_to.
        MpathPrOp {
            kind: MpathPrOpKind::RegisterAndMove.code(),
            key: 0xb2,
            relative_target_port: 1,
            ..MpathPrOp::default()
        },
        MpathPrOp {
            kind: MpathPrOpKind::Reserve.code(),
            rtype: 6,
            ..MpathPrOp::default()
        },
        MpathPrOp {
            kind: MpathPrOpKind::Preempt.code(),
            abort: 2,
            ..MpathPrOp::default()
        },
    ] {
        assert_eq!(mpath_reservation(Some(r.dev), Some(&bad), MS), -EINVAL);
    }
    for bad in [
        MpathPrReply {
            kind: 6,
            ..MpathPrReply::default()
        },
        MpathPrReply {
            kind: MpathPrReplyKind::Reservation.code(),
            has_reservation: 2,
            ..MpathPrReply::default()
        },
        MpathPrReply {
            kind: MpathPrReplyKind::Reservation.code(),
            has_reservation: 1,
            rtype: 6,
            ..MpathPrReply::default()
        },
        MpathPrReply {
            kind: MpathPrReplyKind::Keys.code(),
            ours: 1,
            total: 1,
            here: 3,
            ..MpathPrReply::default()
        },
    ] {
        assert_eq!(
            mpath_handle_reservation_reply(Some(r.dev), a, Some(&bad), MS),
            -EINVAL
        );
    }
    // Nothing moved: one path, optimized, no key; the ticket still out.
    assert_eq!(tier_of(&r, a), MpathTier::Optimized.code());
    assert_eq!(mpath_pr_key(Some(r.dev), Some(&mut 0)), 0);
    assert_eq!(state(&r), before);
}

#[test]
fn null_handles_are_refused_with_efault() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 0);
    let before = state(&r);
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
        mpath_add_path(Some(r.dev), Some(&spec(1, 11)), 11, MS, None),
        -EFAULT
    );
    let register = register_op(OURS);
    assert_eq!(mpath_reservation(None, Some(&register), MS), -EFAULT);
    assert_eq!(mpath_reservation(Some(r.dev), None, MS), -EFAULT);
    assert_eq!(
        mpath_handle_reservation_reply(Some(r.dev), a, None, MS),
        -EFAULT
    );
    assert_eq!(mpath_poll_event(Some(r.dev), None), -EFAULT);
    assert_eq!(
        mpath_poll_event(None, Some(&mut MpathEvent::default())),
        -EFAULT
    );
    assert_eq!(mpath_pr_holder(Some(r.dev), None), -EFAULT);
    assert_eq!(mpath_pr_is_fenced(None), -EFAULT);
    assert_eq!(mpath_pr_admitted(None, a), -EFAULT);
    assert_eq!(mpath_pr_state(Some(r.dev), a, None), -EFAULT);
    assert_eq!(mpath_nexus_replaced(None, a, 1, MS), -EFAULT);
    assert_eq!(mpath_ticket_is_live(None), -EFAULT);
    assert!(mpath_ticket_init(None).is_none());
    assert!(mpath_dataplane_init(None, 0).is_none());
    let mut err = 0;
    assert!(mpath_device_init(
        Some(mem()),
        None,
        Some(&MpathConfig::default()),
        MpathRegistrationScope::Nexus.code(),
        Some(&mut err)
    )
    .is_none());
    assert_eq!(err, -EFAULT);
    // The refused add left no path behind; nothing else moved either.
    let mut ids = [0u32; MPATH_MAX_PATHS];
    assert_eq!(mpath_path_ids(Some(r.dev), Some(&mut ids)), 1);
    assert_eq!(ids[0], a);
    assert_eq!(state(&r), before);
}

#[test]
fn core_errors_come_back_as_errno() {
    let mut r = rig();
    let a = add(&mut r, 1, 10, 5 * MS);
    let mut id = 0;
    assert_eq!(
        mpath_add_path(Some(r.dev), Some(&spec(1, 10)), 10, 5 * MS, Some(&mut id)),
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

/// After `now` has reached 10 ms, every input and command carrying an
/// earlier time is refused with `-ERANGE`, and the device is unchanged:
/// including the answer to a reservation command that is awaited. (The
/// ends of re-reads and activations check that one is pending first: with
/// none pending they are `-EPROTO`, tested with the foreign inputs.)
#[test]
fn time_going_backwards_is_refused_everywhere_with_nothing_changed() {
    let mut r = rig();
    let mut t = Target::default();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 2, 11, 0);
    drive(&mut r, &mut t, 0);
    // A live ticket, and a reservation command sent and not yet answered.
    let slot = ticket();
    let read = io(1, MpathIoKind::Read);
    assert_eq!(
        mpath_dp_submit(Some(r.dp), Some(r.cursor), Some(&read), MS, Some(slot)),
        1
    );
    assert_eq!(
        mpath_reservation(Some(r.dev), Some(&register_op(OURS)), MS),
        0
    );
    let mut pending = MpathAction::default();
    assert_eq!(
        mpath_poll_action(Some(r.dev), Some(&mut pending), Some(ticket())),
        1
    );
    assert_eq!(pending.kind, MpathActionKind::Reservation.code());
    assert_eq!(mpath_pr_awaiting_reply(Some(r.dev), pending.path), 1);
    // And a held I/O: no path is admitted before it is registered.
    let mut d = MpathDisposition::default();
    let held = io(2, MpathIoKind::Write);
    assert_eq!(
        mpath_submit(Some(r.dev), Some(&held), MS, Some(&mut d), Some(ticket())),
        0
    );
    assert_eq!(d.kind, MpathDispositionKind::Queued.code());
    assert_eq!(mpath_handle_timeout(Some(r.dev), 10 * MS), 0);
    let before = state(&r);

    let past = 5 * MS;
    let done = MpathPrReply::default();
    let access = MpathGroupAccess::default();
    let params = MpathSelectorParams::default();
    let mut id = 0;
    let up = MpathLinkEvent::Up.code();
    let probe_up = MpathProbeResult::Up.code();
    let rr = MpathPolicy::RoundRobin.code();
    let queue = MpathNoPath::Queue.code();
    let refused = [
        mpath_handle_timeout(Some(r.dev), past),
        mpath_add_path(Some(r.dev), Some(&spec(1, 12)), 12, past, Some(&mut id)),
        mpath_remove_path(Some(r.dev), b, past),
        mpath_nexus_replaced(Some(r.dev), a, 10, past),
        mpath_handle_link(Some(r.dev), a, up, past),
        mpath_handle_completion(
            Some(r.dev),
            Some(slot),
            Some(&success()),
            past,
            Some(&mut d),
        ),
        mpath_handle_probe(Some(r.dev), a, probe_up, past),
        mpath_handle_notices(Some(r.dev), a, notice::RESET_OCCURRED, past),
        mpath_handle_access_state(Some(r.dev), 1, Some(&access), past),
        mpath_handle_reservation_reply(Some(r.dev), pending.path, Some(&done), past),
        mpath_submit(Some(r.dev), Some(&read), past, Some(&mut d), Some(ticket())),
        mpath_cancel(Some(r.dev), 2, past, Some(&mut MpathIo::default())),
        mpath_reservation(Some(r.dev), Some(&register_op(OURS)), past),
        mpath_fail_path(Some(r.dev), a, past),
        mpath_reinstate_path(Some(r.dev), a, past),
        mpath_set_marginal(Some(r.dev), a, past),
        mpath_clear_marginal(Some(r.dev), a, past),
        mpath_set_relative_throughput(Some(r.dev), a, 2, past),
        mpath_switch_group(Some(r.dev), Some(&1), past),
        mpath_failback(Some(r.dev), past),
        mpath_move_path_to_group(Some(r.dev), a, 2, None, past),
        mpath_set_policy(Some(r.dev), rr, Some(&params), past),
        mpath_set_no_path_policy(Some(r.dev), queue, 0, past),
    ];
    for (i, rc) in refused.into_iter().enumerate() {
        assert_eq!(rc, -ERANGE, "input {i}");
    }
    assert_eq!(mpath_ticket_is_live(Some(slot)), 1, "the ticket stays");
    assert_eq!(state(&r), before);
    // The awaited answer still goes in at a time not in the past.
    assert_eq!(
        mpath_handle_reservation_reply(Some(r.dev), pending.path, Some(&done), 10 * MS),
        0
    );
    assert_eq!(mpath_pr_awaiting_reply(Some(r.dev), pending.path), 0);
}

/// A ticket, a path id or a reservation answer that is not this device's
/// (another device's, a removed path's, one never asked for) is refused
/// with nothing changed.
#[test]
fn foreign_and_stale_inputs_are_refused_with_nothing_changed() {
    let mut r = rig();
    let mut t = Target::default();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
    let gone = add(&mut r, 1, 12, 0);
    assert_eq!(mpath_remove_path(Some(r.dev), gone, 0), 0);
    drive(&mut r, &mut t, 0);

    // Another device with a started I/O on its own first path.
    let mut other = rig();
    add(&mut other, 1, 10, 0);
    let foreign = ticket();
    let read = io(1, MpathIoKind::Read);
    assert_eq!(
        mpath_dp_submit(
            Some(other.dp),
            Some(other.cursor),
            Some(&read),
            MS,
            Some(foreign)
        ),
        1
    );
    let before = state(&r);
    let mut d = MpathDisposition::default();
    let failed = path_error(MpathPathError::Transport);
    assert_eq!(
        mpath_handle_completion(Some(r.dev), Some(foreign), Some(&failed), MS, Some(&mut d)),
        -EXDEV
    );
    assert_eq!(mpath_ticket_is_live(Some(foreign)), 1, "handed back");

    // A removed path's id, and an id no path of this device ever had.
    let never = 63;
    let done = MpathPrReply::default();
    for (p, errno) in [(gone, -ESTALE), (never, -EINVAL)] {
        assert_eq!(mpath_fail_path(Some(r.dev), p, MS), errno);
        assert_eq!(
            mpath_handle_reservation_reply(Some(r.dev), p, Some(&done), MS),
            errno
        );
        assert_eq!(mpath_pr_admitted(Some(r.dev), p), errno);
        assert_eq!(mpath_pr_state(Some(r.dev), p, Some(&mut 0)), errno);
        assert_eq!(mpath_pr_is_up(Some(r.dev), p), errno);
        assert_eq!(mpath_path_tier(Some(r.dev), p, Some(&mut 0)), errno);
        assert_eq!(mpath_set_relative_throughput(Some(r.dev), p, 2, MS), errno);
    }
    // dm's range: a weight past 100 is refused, not clamped.
    assert_eq!(
        mpath_set_relative_throughput(Some(r.dev), a, 101, MS),
        -EINVAL
    );
    assert_eq!(mpath_set_relative_throughput(None, a, 1, MS), -EFAULT);
    // An answer for a command the device never sent.
    assert_eq!(
        mpath_handle_reservation_reply(Some(r.dev), a, Some(&done), MS),
        -EPROTO
    );
    assert_eq!(mpath_handle_refresh_result(Some(r.dev), b, 1, MS), -EPROTO);
    assert_eq!(
        mpath_handle_activation_result(Some(r.dev), 1, 0, MS),
        -EPROTO
    );
    assert_eq!(state(&r), before);
    assert!(t.log.is_empty(), "no reservation command went out");
}

/// REGISTER AND MOVE's input: a destination that is not one (no bytes,
/// more than the buffer, a reserved field set) or key 0 is `-EINVAL` and
/// changes nothing, not even the deadlines up to its time; `NULL` is
/// `-EFAULT`; the coordinator's refusals are its errno.
#[test]
fn register_and_move_input_is_checked_before_anything_moves() {
    let mut r = rig();
    add(&mut r, 1, 10, 0);
    let mut dest = MpathPrDestination {
        transport_id_len: 24,
        relative_target_port: 1,
        ..MpathPrDestination::default()
    };
    let before = state(&r);
    // A probe falls due at 5 s: a refusal at 10 s must not run it.
    const S: u64 = 1_000 * MS;
    for bad in [
        MpathPrDestination {
            transport_id_len: 0,
            ..dest
        },
        MpathPrDestination {
            transport_id_len: 257,
            ..dest
        },
        MpathPrDestination {
            transport_id_len: u32::MAX,
            ..dest
        },
        MpathPrDestination {
            reserved: 1,
            ..dest
        },
    ] {
        assert_eq!(
            mpath_reservation_move_to(Some(r.dev), Some(&bad), 0xb2, 10 * S),
            -EINVAL,
            "{}",
            bad.transport_id_len
        );
    }
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), Some(&dest), 0, 10 * S),
        -EINVAL
    );
    assert_eq!(
        mpath_reservation_move_to(None, Some(&dest), 0xb2, 10 * S),
        -EFAULT
    );
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), None, 0xb2, 10 * S),
        -EFAULT
    );
    assert_eq!(mpath_pr_move_destination(Some(r.dev), None), -EFAULT);
    assert_eq!(mpath_pr_move_destination(None, Some(&mut dest)), -EFAULT);
    assert_eq!(state(&r), before);
    // Well formed: the coordinator's word. No key yet; time going back.
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), Some(&dest), 0xb2, MS),
        -ENOKEY
    );
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), Some(&dest), 0xb2, 0),
        -ERANGE
    );
    // The whole buffer may be used.
    dest.transport_id_len = 256;
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), Some(&dest), 0xb2, MS),
        -ENOKEY
    );
}
