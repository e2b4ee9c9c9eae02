//! Persistent reservations through the device: operations in, commands
//! out of `mpath_poll_action` answered by a model target, results, moves
//! and fences out of `mpath_poll_event`, the coordinator's view through
//! the `mpath_pr_*` getters.

use super::target::OURS;
use super::*;
use crate::errno::*;

fn selectable(r: &Rig) -> u64 {
    let mut mask = 0;
    assert_eq!(mpath_dp_selectable(Some(r.dp), Some(&mut mask)), 0);
    mask
}

fn holder(r: &Rig) -> Option<u32> {
    let mut h = 0;
    match mpath_pr_holder(Some(r.dev), Some(&mut h)) {
        1 => Some(h),
        0 => None,
        rc => panic!("{rc}"),
    }
}

fn reg_state(r: &Rig, path: u32) -> MpathRegState {
    let mut s = u32::MAX;
    assert_eq!(mpath_pr_state(Some(r.dev), path, Some(&mut s)), 0);
    MpathRegState::from_code(s).unwrap()
}

fn reservation_event(kind: MpathPrEventKind, holder: u32) -> MpathEvent {
    MpathEvent {
        kind: MpathEventKind::Reservation.code(),
        pr: MpathPrEvent {
            kind: kind.code(),
            holder,
            ..MpathPrEvent::default()
        },
        ..MpathEvent::default()
    }
}

/// Two paths register our key and one reserves; a path error on the
/// holder's path (the completion of a write in flight on it) takes it
/// down for both halves of the device, which moves the reservation to the
/// other path's nexus (preempting our own key there) and then sends the
/// held write out on the new holder.
#[test]
fn a_path_error_on_the_holder_moves_the_reservation() {
    let mut r = rig();
    let mut t = Target::default();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    assert_eq!(mpath_pr_key_active(Some(r.dev)), 0);
    assert_eq!(mpath_pr_admitted(Some(r.dev), a), 1, "no key: all admitted");

    let register = register_op(OURS);
    let done = op(&mut r, &mut t, register, MS);
    assert_eq!(done.result, 0);
    assert_eq!(done.op, register);
    assert_eq!(done.report.registered.count_ones(), 2);
    assert_eq!(done.report.failed, 0);
    let mut key = 0;
    assert_eq!(mpath_pr_key(Some(r.dev), Some(&mut key)), 1);
    assert_eq!(key, OURS);
    assert_eq!(mpath_pr_key_active(Some(r.dev)), 1);
    for p in [a, b] {
        assert_eq!(reg_state(&r, p), MpathRegState::Registered);
        assert_eq!(mpath_pr_admitted(Some(r.dev), p), 1);
        assert!(t.regs.contains(&(p, OURS)));
    }
    assert_eq!(selectable(&r).count_ones(), 2);

    let we = MpathPrType::WriteExclusive;
    let done = op(&mut r, &mut t, reserve_op(we), 2 * MS);
    assert_eq!(done.result, 0);
    let old = holder(&r).expect("a single holder");
    assert_eq!(t.resv, Some((old, OURS, we.code())));
    let mut rtype = u32::MAX;
    assert_eq!(mpath_pr_reservation(Some(r.dev), Some(&mut rtype)), 1);
    assert_eq!(rtype, we.code());
    let new = if old == a { b } else { a };

    // A write in flight on the holder's path when its link dies.
    let slot = ticket();
    let write = io(9, MpathIoKind::Write);
    loop {
        assert_eq!(
            mpath_dp_submit(
                Some(r.dp),
                Some(r.cursor),
                Some(&write),
                10 * MS,
                Some(slot)
            ),
            1
        );
        if ticket_path(slot) == old {
            break;
        }
        let mut io_done = MpathIo::default();
        assert_eq!(
            mpath_dp_complete(
                Some(r.dp),
                Some(r.cursor),
                Some(slot),
                10 * MS,
                Some(&mut io_done)
            ),
            0
        );
    }
    t.down.push(old);
    let mut d = MpathDisposition::default();
    let failed = path_error(MpathPathError::Transport);
    assert_eq!(
        mpath_handle_completion(
            Some(r.dev),
            Some(slot),
            Some(&failed),
            20 * MS,
            Some(&mut d)
        ),
        0
    );
    assert_eq!(
        d.kind,
        MpathDispositionKind::Queued.code(),
        "held: the write waits for its quiesce time"
    );
    let sent_before = t.log.len();
    let drained = drive(&mut r, &mut t, 20 * MS);

    // The reservation moved: read, then our own key preempted from the
    // live nexus, which holds it now.
    assert_eq!(holder(&r), Some(new));
    assert_eq!(t.resv, Some((new, OURS, we.code())));
    let read = MpathPrCommand::ReadReservation.code();
    let preempt = MpathPrCommand::Preempt.code();
    assert!(t.log[sent_before..].contains(&(new, read)), "{:?}", t.log);
    assert!(
        t.log[sent_before..].contains(&(new, preempt)),
        "{:?}",
        t.log
    );
    let sent: Vec<MpathPrAction> = drained
        .actions
        .iter()
        .filter(|a| a.kind == MpathActionKind::Reservation.code())
        .map(|a| a.pr)
        .collect();
    assert!(
        sent.iter().any(|p| p.command == preempt
            && p.via == new
            && p.key == OURS
            && p.victim == OURS
            && p.rtype == we.code()
            && p.abort == 0),
        "{sent:?}"
    );
    let path_failed = MpathEvent {
        kind: MpathEventKind::PathFailed.code(),
        path: old,
        ..MpathEvent::default()
    };
    assert!(drained.events.contains(&path_failed), "{drained:?}");
    let moved = reservation_event(MpathPrEventKind::Moved, new);
    assert!(drained.events.contains(&moved), "{drained:?}");
    // The dead nexus may still hold the old registration: not admitted.
    assert_eq!(mpath_pr_admitted(Some(r.dev), old), 0);
    assert_eq!(mpath_pr_is_up(Some(r.dev), old), 0);
    assert_eq!(reg_state(&r, old), MpathRegState::Stale);
    assert_eq!(mpath_pr_admitted(Some(r.dev), new), 1);
    assert_eq!(mpath_pr_is_quiesced(Some(r.dev)), 0);
    assert_eq!(mpath_pr_is_fenced(Some(r.dev)), 0);

    // After the quiesce time the held write goes out on the new holder.
    let mut wake = 0;
    assert_eq!(mpath_poll_timeout(Some(r.dev), Some(&mut wake)), 1);
    assert!(wake > 20 * MS);
    assert_eq!(mpath_handle_timeout(Some(r.dev), wake), 0);
    let drained = drive(&mut r, &mut t, wake);
    let dispatched: Vec<&MpathAction> = drained
        .actions
        .iter()
        .filter(|a| a.kind == MpathActionKind::Dispatch.code())
        .collect();
    assert_eq!(dispatched.len(), 1, "{drained:?}");
    assert_eq!(dispatched[0].path, new);
    assert_eq!(dispatched[0].io, write);
    let mut queued = u32::MAX;
    assert_eq!(mpath_queued(Some(r.dev), Some(&mut queued)), 0);
    assert_eq!(queued, 0);
}

/// An operation the coordinator refuses does not start: `-EAGAIN` while
/// another runs or its result is unpolled, `-ENOKEY` with no key. It
/// changes nothing at a time already seen.
#[test]
fn operations_the_coordinator_refuses_do_not_start() {
    let mut r = rig();
    let mut t = Target::default();
    add(&mut r, 1, 10, 0);
    add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    let reserve = reserve_op(MpathPrType::ExclusiveAccess);
    let before = state(&r);
    assert_eq!(mpath_reservation(Some(r.dev), Some(&reserve), 0), -ENOKEY);
    assert_eq!(state(&r), before);

    assert_eq!(
        mpath_reservation(Some(r.dev), Some(&register_op(OURS)), MS),
        0
    );
    let running = state(&r);
    assert_eq!(mpath_reservation(Some(r.dev), Some(&reserve), MS), -EAGAIN);
    assert_eq!(state(&r), running);

    // Finished but not polled: still busy, and the result is kept.
    let slot = ticket();
    let mut a = MpathAction::default();
    while mpath_poll_action(Some(r.dev), Some(&mut a), Some(slot)) == 1 {
        let reply = t.exec(&a.pr);
        assert_eq!(
            mpath_handle_reservation_reply(Some(r.dev), a.path, Some(&reply), MS),
            0
        );
    }
    let unpolled = state(&r);
    assert_eq!(mpath_reservation(Some(r.dev), Some(&reserve), MS), -EAGAIN);
    assert_eq!(state(&r), unpolled);
    let mut e = MpathEvent::default();
    let mut finished = None;
    while mpath_poll_event(Some(r.dev), Some(&mut e)) == 1 {
        if e.kind == MpathEventKind::Reservation.code() {
            finished = Some(e.pr);
        }
    }
    let finished = finished.expect("the register result");
    assert_eq!(finished.kind, MpathPrEventKind::Finished.code());
    assert_eq!(finished.op, register_op(OURS));
    assert_eq!(finished.result, 0);
    assert_eq!(mpath_reservation(Some(r.dev), Some(&reserve), MS), 0);
}

/// A refused operation still acts on the deadlines up to its time, as
/// `mpath_handle_timeout` would, and leaves both halves in step: a probe
/// that timed out is down for the controller and the coordinator alike.
#[test]
fn a_refused_operation_leaves_both_halves_in_step() {
    const S: u64 = 1_000 * MS;
    let mut r = rig();
    let mut t = Target::default();
    let a = add(&mut r, 1, 10, 0);
    let b = add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    // The probes go out at 5 s; the one on `a` never comes back.
    assert_eq!(mpath_handle_timeout(Some(r.dev), 5 * S), 0);
    let slot = ticket();
    let mut action = MpathAction::default();
    let mut probed = Vec::new();
    while mpath_poll_action(Some(r.dev), Some(&mut action), Some(slot)) == 1 {
        assert_eq!(action.kind, MpathActionKind::Probe.code());
        probed.push(action.path);
    }
    assert!(probed.contains(&a) && probed.contains(&b), "{probed:?}");
    let up = MpathProbeResult::Up.code();
    assert_eq!(mpath_handle_probe(Some(r.dev), b, up, 5 * S), 0);
    assert_eq!(mpath_pr_is_up(Some(r.dev), a), 1);

    let reserve = reserve_op(MpathPrType::WriteExclusive);
    assert_eq!(
        mpath_reservation(Some(r.dev), Some(&reserve), 35 * S),
        -ENOKEY
    );
    assert_eq!(tier_of(&r, a), MpathTier::Ineligible.code());
    assert_eq!(mpath_pr_is_up(Some(r.dev), a), 0, "the coordinator knows");
    assert_eq!(mpath_pr_is_up(Some(r.dev), b), 1);
}

/// A preemption notice on a completion reaches the coordinator, which
/// reads the keys, finds ours gone and fences the device: nothing is
/// selectable and new I/O ends with `Fenced`.
#[test]
fn a_preemption_notice_in_a_completion_fences_the_device() {
    let mut r = rig();
    let mut t = Target::default();
    add(&mut r, 1, 10, 0);
    add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    assert_eq!(op(&mut r, &mut t, register_op(OURS), MS).result, 0);
    let slot = ticket();
    let write = io(1, MpathIoKind::Write);
    let mut d = MpathDisposition::default();
    assert_eq!(
        mpath_submit(Some(r.dev), Some(&write), 2 * MS, Some(&mut d), Some(slot)),
        0
    );
    assert_eq!(d.kind, MpathDispositionKind::Dispatch.code());
    // Another host preempts us; the write's status carries the notice.
    t.regs.retain(|reg| reg.1 != OURS);
    let conflict = MpathCompletion {
        outcome: MpathOutcome::ReservationConflict.code(),
        notices: notice::REGISTRATIONS_PREEMPTED,
        ..MpathCompletion::default()
    };
    assert_eq!(
        mpath_handle_completion(
            Some(r.dev),
            Some(slot),
            Some(&conflict),
            3 * MS,
            Some(&mut d)
        ),
        0
    );
    let drained = drive(&mut r, &mut t, 3 * MS);
    let fenced = reservation_event(MpathPrEventKind::Fenced, 0);
    assert!(drained.events.contains(&fenced), "{drained:?}");
    assert_eq!(mpath_pr_is_fenced(Some(r.dev)), 1);
    assert_eq!(selectable(&r), 0, "nothing goes out");
    assert_eq!(
        mpath_submit(Some(r.dev), Some(&write), 4 * MS, Some(&mut d), Some(slot)),
        0
    );
    assert_eq!(d.kind, MpathDispositionKind::Done.code());
    assert_eq!(d.io_error, MpathIoError::Fenced.code());
    assert_eq!(d.errno_code, -EBADE);
}

/// READ KEYS and READ RESERVATION results come back in the report.
#[test]
fn read_operations_report_what_the_target_holds() {
    let mut r = rig();
    let mut t = Target::default();
    add(&mut r, 1, 10, 0);
    add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    assert_eq!(op(&mut r, &mut t, register_op(OURS), MS).result, 0);
    let ea = MpathPrType::ExclusiveAccessRegistrantsOnly;
    assert_eq!(op(&mut r, &mut t, reserve_op(ea), 2 * MS).result, 0);
    let read_keys = MpathPrOp {
        kind: MpathPrOpKind::ReadKeys.code(),
        ..MpathPrOp::default()
    };
    let keys = op(&mut r, &mut t, read_keys, 3 * MS);
    assert_eq!(keys.result, 0);
    assert_eq!(keys.report.has_keys, 1);
    assert_eq!((keys.report.keys_ours, keys.report.keys_total), (2, 2));
    let read_resv = MpathPrOp {
        kind: MpathPrOpKind::ReadReservation.code(),
        ..MpathPrOp::default()
    };
    let resv = op(&mut r, &mut t, read_resv, 4 * MS);
    assert_eq!(resv.result, 0);
    assert_eq!(resv.report.has_reservation, 1);
    assert_eq!(resv.report.reservation_key, OURS);
    assert_eq!(resv.report.reservation_type, ea.code());
    // The target lost our registrations: the preempt conflicts, and the
    // error comes in the result.
    let preempt_other = MpathPrOp {
        kind: MpathPrOpKind::Preempt.code(),
        victim: 0xb2,
        rtype: ea.code(),
        ..MpathPrOp::default()
    };
    t.regs.clear();
    let refused = op(&mut r, &mut t, preempt_other, 5 * MS);
    assert_eq!(refused.result, -EBADE);
    assert_eq!(refused.report, MpathPrReport::default());
}

/// A path whose I_T nexus was replaced (a new session) is registered
/// again, and probed, before it carries I/O.
#[test]
fn a_replaced_nexus_is_registered_again_before_it_carries_io() {
    let mut r = rig();
    let mut t = Target::default();
    let a = add(&mut r, 1, 10, 0);
    add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    assert_eq!(op(&mut r, &mut t, register_op(OURS), MS).result, 0);
    assert_eq!(selectable(&r).count_ones(), 2);
    let sent_before = t.log.len();
    assert_eq!(mpath_nexus_replaced(Some(r.dev), a, 10, 2 * MS), 0);
    assert_eq!(mpath_pr_admitted(Some(r.dev), a), 0);
    assert_eq!(
        selectable(&r).count_ones(),
        1,
        "not before it is registered"
    );
    let drained = drive(&mut r, &mut t, 2 * MS);
    let register = MpathPrCommand::Register.code();
    assert!(t.log[sent_before..].contains(&(a, register)), "{:?}", t.log);
    assert!(drained
        .actions
        .iter()
        .any(|x| x.kind == MpathActionKind::Probe.code() && x.path == a));
    assert_eq!(reg_state(&r, a), MpathRegState::Registered);
    assert_eq!(mpath_pr_admitted(Some(r.dev), a), 1);
    assert_eq!(selectable(&r).count_ones(), 2);
}

fn destination(tid: &[u8], port: u16) -> MpathPrDestination {
    let mut d = MpathPrDestination {
        transport_id_len: u32::try_from(tid.len()).unwrap(),
        relative_target_port: port,
        ..MpathPrDestination::default()
    };
    d.transport_id[..tid.len()].copy_from_slice(tid);
    d
}

/// The other host's initiator port as a TransportID (the core keeps the
/// bytes without reading them).
const DEST_TID: &[u8] = b"\x45\x00\x00\x14iqn.x:other,i,0x1\0\0\0";

/// REGISTER AND MOVE through the C ABI: the command comes out on the
/// holder's path with our key, the destination's key in `victim`, the
/// type and the relative target port; `mpath_pr_move_destination` gives
/// its TransportID while it runs; the result is a `Finished` event for the
/// `RegisterAndMove` operation, after which we hold no reservation and
/// stay registered.
#[test]
fn register_and_move_hands_the_reservation_over() {
    let mut r = rig();
    let mut t = Target {
        move_dest: Some(900),
        ..Target::default()
    };
    add(&mut r, 1, 10, 0);
    add(&mut r, 1, 11, 0);
    drive(&mut r, &mut t, 0);
    assert_eq!(op(&mut r, &mut t, register_op(OURS), MS).result, 0);
    let we = MpathPrType::WriteExclusive;
    assert_eq!(op(&mut r, &mut t, reserve_op(we), 2 * MS).result, 0);
    let h = holder(&r).unwrap();
    let mut out = MpathPrDestination::default();
    assert_eq!(mpath_pr_move_destination(Some(r.dev), Some(&mut out)), 0);
    let dest = destination(DEST_TID, 3);
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), Some(&dest), 0xb2, 3 * MS),
        0
    );
    assert_eq!(mpath_pr_move_destination(Some(r.dev), Some(&mut out)), 1);
    assert_eq!(out, dest);
    let slot = ticket();
    let mut a = MpathAction::default();
    assert_eq!(mpath_poll_action(Some(r.dev), Some(&mut a), Some(slot)), 1);
    assert_eq!(a.kind, MpathActionKind::Reservation.code());
    assert_eq!(
        a.pr,
        MpathPrAction {
            via: h,
            command: MpathPrCommand::RegisterAndMove.code(),
            key: OURS,
            victim: 0xb2,
            rtype: we.code(),
            relative_target_port: 3,
            ..MpathPrAction::default()
        }
    );
    let reply = t.exec(&a.pr);
    assert_eq!(
        mpath_handle_reservation_reply(Some(r.dev), h, Some(&reply), 3 * MS),
        0
    );
    let drained = drive(&mut r, &mut t, 3 * MS);
    let finished = drained
        .events
        .iter()
        .find(|e| e.kind == MpathEventKind::Reservation.code())
        .map(|e| e.pr)
        .unwrap();
    assert_eq!(finished.kind, MpathPrEventKind::Finished.code());
    assert_eq!(finished.result, 0);
    assert_eq!(
        finished.op,
        MpathPrOp {
            kind: MpathPrOpKind::RegisterAndMove.code(),
            key: 0xb2,
            relative_target_port: 3,
            ..MpathPrOp::default()
        }
    );
    assert_eq!(finished.report.has_reservation, 0);
    assert_eq!(t.resv, Some((900, 0xb2, we.code())));
    assert_eq!(t.regs.iter().filter(|r| r.1 == OURS).count(), 2);
    let mut rtype = 0;
    assert_eq!(mpath_pr_reservation(Some(r.dev), Some(&mut rtype)), 0);
    assert_eq!(holder(&r), None);
    assert_eq!(mpath_pr_move_destination(Some(r.dev), Some(&mut out)), 0);
    // Nothing of ours left to move.
    assert_eq!(
        mpath_reservation_move_to(Some(r.dev), Some(&dest), 0xb2, 4 * MS),
        -EPERM
    );
}
