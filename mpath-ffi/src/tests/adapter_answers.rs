//! What `mpath_*_apply` reports with a reservation answer (the reason a
//! reply's data was unusable, the notices the reply carried) and the NVMe
//! Reservation Notification log read that follows an asynchronous event,
//! page after page.

use super::nvme::{nvme_lab, NvmeLab, NSID};
use super::scsi::{scsi_lab, ScsiLab};
use super::*;
use crate::adapter::MpathApplied;
use crate::errno::EBADMSG;
use crate::nvme::mpath_nvme_apply_aen;
use crate::nvme_wire::{MpathNvmeCommand, MpathNvmeResponse};
use crate::scsi_wire::{MpathScsiCommand, MpathScsiResponse};
use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::ana::AnaState;
use mpath_nvme::identify::Nqn;
use mpath_nvme::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationType,
};
use mpath_scsi::AluaState;
use mpath_sim::nvme_target::sqe::io_opcode;
use mpath_sim::nvme_target::{
    HostConfig, HostIdentifier, Queue, SubmissionEntry, Submitted, Subsystem, TargetEvent,
};

const KEY: u64 = 0xa45e_0001;

/// Carry out every action at `now` as `ScsiLab::drive` does, each
/// response passed through `tamper` before it is applied; what each apply
/// did.
fn scsi_drive_tampered(
    l: &mut ScsiLab,
    now: u64,
    mut tamper: impl FnMut(&MpathScsiCommand, &mut MpathScsiResponse),
) -> Vec<MpathApplied> {
    let (slot, mut a, mut done) = (ticket(), MpathAction::default(), Vec::new());
    for n in 0.. {
        assert!(n < 200, "the device keeps asking at {now}: {done:?}");
        if mpath_poll_action(Some(l.r.dev), Some(&mut a), Some(slot)) != 1 {
            break;
        }
        if a.kind == MpathActionKind::Dispatch.code() {
            complete_dispatched(&mut l.r, slot, now);
            continue;
        }
        let Some(mut cmd) = l.map(&a) else { continue };
        loop {
            let mut resp = l.exec(&cmd);
            tamper(&cmd, &mut resp);
            let (rc, applied, next) = l.apply(&resp, now);
            done.push(applied);
            match rc {
                0 => break,
                1 => cmd = next,
                rc => panic!("apply: {rc} for {cmd:?}"),
            }
        }
    }
    done
}

/// As `scsi_drive_tampered`, on the NVMe lab.
fn nvme_drive_tampered(
    l: &mut NvmeLab,
    now: u64,
    mut tamper: impl FnMut(&mut Subsystem, &MpathNvmeCommand, Option<&mut MpathNvmeResponse>),
) -> Vec<MpathApplied> {
    let (slot, mut a, mut done) = (ticket(), MpathAction::default(), Vec::new());
    for n in 0.. {
        assert!(n < 200, "the device keeps asking at {now}: {done:?}");
        if mpath_poll_action(Some(l.r.dev), Some(&mut a), Some(slot)) != 1 {
            break;
        }
        if a.kind == MpathActionKind::Dispatch.code() {
            complete_dispatched(&mut l.r, slot, now);
            continue;
        }
        let Some(mut cmd) = l.map(&a) else { continue };
        loop {
            tamper(&mut l.sub, &cmd, None);
            let mut resp = l.exec(&cmd);
            tamper(&mut l.sub, &cmd, Some(&mut resp));
            let (rc, applied, next) = l.apply(&resp, now);
            done.push(applied);
            match rc {
                0 => break,
                1 => cmd = next,
                rc => panic!("apply: {rc} for {cmd:?}"),
            }
        }
    }
    done
}

fn answers_in(done: &[MpathApplied]) -> Vec<MpathApplied> {
    let answer = MpathAppliedKind::Reservation.code();
    done.iter().filter(|a| a.kind == answer).copied().collect()
}

/// A READ KEYS whose data-in is cut to 4 bytes (less than the 8-byte
/// header, SPC-4 6.16.2) is answered `Refused` to the device, and
/// `result` says the data was malformed.
#[test]
fn a_malformed_persistent_reserve_in_answer_says_why() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    l.clear_unit_attentions();
    l.drive(MS);
    assert_eq!(
        mpath_reservation(Some(l.r.dev), Some(&register_op(KEY)), 2 * MS),
        0
    );
    let mut cut = 0;
    let done = scsi_drive_tampered(&mut l, 2 * MS, |cmd, resp| {
        // PERSISTENT RESERVE IN, READ KEYS: only the first one.
        if cmd.cdb[0] == 0x5e && cmd.cdb[1] & 0x1f == 0 && cut == 0 {
            resp.data_in_len = 4;
            cut += 1;
        }
    });
    assert_eq!(cut, 1, "the device checked its registration");
    let answers = answers_in(&done);
    let refused = answers
        .iter()
        .find(|a| a.pr.kind == MpathPrReplyKind::Refused.code())
        .unwrap_or_else(|| panic!("{answers:?}"));
    assert_eq!(refused.result, -EBADMSG);
    // The well-formed answers carry no reason.
    assert!(answers
        .iter()
        .filter(|a| a.pr.kind != MpathPrReplyKind::Refused.code())
        .all(|a| a.result == 0));
}

/// A PERSISTENT RESERVE OUT that meets a fresh unit attention on each of
/// its three sends (the group's state changes between them) is answered
/// `PathFailed`, and the answer reports the last send's notice: the
/// access state changed.
#[test]
fn a_reservation_answer_reports_the_notices_it_carried() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    l.clear_unit_attentions();
    l.drive(MS);
    assert_eq!(
        mpath_reservation(Some(l.r.dev), Some(&register_op(KEY)), 2 * MS),
        0
    );
    let (slot, mut a) = (ticket(), MpathAction::default());
    assert_eq!(
        mpath_poll_action(Some(l.r.dev), Some(&mut a), Some(slot)),
        1
    );
    assert_eq!(a.kind, MpathActionKind::Reservation.code());
    let mut cmd = l.map(&a).unwrap();
    let states = [AluaState::ActiveNonOptimized, AluaState::ActiveOptimized];
    let mut sends = Vec::new();
    let last = loop {
        l.lu.set_group_state(1, states[sends.len() % 2]).unwrap();
        let resp = l.exec(&cmd);
        let (rc, applied, next) = l.apply(&resp, 2 * MS);
        sends.push(applied.kind);
        match rc {
            0 => break applied,
            1 => cmd = next,
            rc => panic!("apply: {rc}"),
        }
    };
    let resend = MpathAppliedKind::ReservationResend.code();
    assert_eq!(sends[..2], [resend, resend]);
    assert_eq!(last.kind, MpathAppliedKind::Reservation.code());
    assert_eq!(last.pr.kind, MpathPrReplyKind::PathFailed.code());
    assert_eq!(last.notices, notice::ACCESS_STATE_CHANGED);
    assert_eq!(last.result, 0);
}

/// The NVMe side: a Reservation Report cut to 4 bytes (less than its
/// 24-byte header) is answered `Refused`, with the reason; a Reservation
/// Register through a controller whose group went inaccessible completes
/// with ANA Inaccessible and is answered `PathFailed`, with its notice.
#[test]
fn nvme_reservation_answers_report_the_reason_and_the_notices() {
    let mut l = nvme_lab(&[AnaState::Optimized]);
    l.drive(MS);
    assert_eq!(
        mpath_reservation(Some(l.r.dev), Some(&register_op(KEY)), 2 * MS),
        0
    );
    let mut cut = 0;
    let done = nvme_drive_tampered(&mut l, 2 * MS, |_, cmd, resp| {
        if let (Some(resp), 0x0e, 0) = (resp, cmd.sqe[0], cut) {
            resp.data_in_len = 4;
            cut += 1;
        }
    });
    assert_eq!(cut, 1, "the device checked its registration");
    let answers = answers_in(&done);
    let refused = answers
        .iter()
        .find(|a| a.pr.kind == MpathPrReplyKind::Refused.code())
        .unwrap_or_else(|| panic!("{answers:?}"));
    assert_eq!((refused.result, refused.notices), (-EBADMSG, 0));

    // Only the answer is looked at here: driving on, the device asks
    // for a probe, a state read and a key check through the inaccessible
    // controller again and again at the same instant.
    let mut l = nvme_lab(&[AnaState::Optimized]);
    l.drive(MS);
    assert_eq!(
        mpath_reservation(Some(l.r.dev), Some(&register_op(KEY)), 2 * MS),
        0
    );
    let (slot, mut a) = (ticket(), MpathAction::default());
    assert_eq!(
        mpath_poll_action(Some(l.r.dev), Some(&mut a), Some(slot)),
        1
    );
    let cmd = l.map(&a).unwrap();
    assert_eq!(cmd.sqe[0], 0x0d, "Reservation Register");
    l.sub
        .set_ana_state(cmd.cntlid, 1, AnaState::Inaccessible)
        .unwrap();
    let resp = l.exec(&cmd);
    let (rc, failed, _) = l.apply(&resp, 2 * MS);
    assert_eq!(rc, 0);
    assert_eq!(failed.kind, MpathAppliedKind::Reservation.code());
    assert_eq!(failed.pr.kind, MpathPrReplyKind::PathFailed.code());
    assert_eq!(failed.notices, notice::ACCESS_STATE_CHANGED);
    assert_eq!(failed.result, 0);
    // The notice reached the device, which reads the ANA log again.
    let mut asked = Vec::new();
    while mpath_poll_action(Some(l.r.dev), Some(&mut a), Some(slot)) == 1 && asked.len() < 8 {
        asked.push(a.kind);
    }
    let refresh = MpathActionKind::RefreshAccessState.code();
    assert!(asked.contains(&refresh), "{asked:?}");
}

/// A reservation command on the subsystem's I/O queue, outside the
/// adapter (another host's, or ours set up by hand).
fn pr_io(sub: &mut Subsystem, cntlid: u16, opcode: u8, cdw10: u32, data: &[u8]) {
    let e = SubmissionEntry {
        opcode,
        fuse: 0,
        cid: 0x51,
        nsid: NSID,
        cdw: [cdw10, 0, 0, 0, 0, 0],
    };
    match sub.submit(cntlid, Queue::Io, &e.to_bytes(), data, &mut []) {
        Ok(Submitted::Completed(c)) => assert!(c.status.is_success(), "{:?}", c.status),
        other => panic!("{other:?}"),
    }
}

fn register(sub: &mut Subsystem, cntlid: u16, key: u64) {
    let cmd = ReservationRegister {
        action: RegisterAction::Register,
        iekey: false,
        cptpl: Cptpl::NoChange,
        crkey: 0,
        nrkey: key,
    };
    let mut d = [0u8; 16];
    cmd.emit_data(&mut d).unwrap();
    pr_io(
        sub,
        cntlid,
        io_opcode::RESERVATION_REGISTER,
        cmd.cdw10(),
        &d,
    );
}

/// Reserve (Write Exclusive, Registrants Only) and release: the release
/// tells every other registrant (a Reservation Released page).
fn reserve_and_release(sub: &mut Subsystem, cntlid: u16, key: u64) {
    let rtype = ReservationType::WriteExclusiveRegistrantsOnly;
    let acquire = ReservationAcquire {
        action: AcquireAction::Acquire,
        iekey: false,
        rtype,
        crkey: key,
        prkey: 0,
    };
    let mut d = [0u8; 16];
    acquire.emit_data(&mut d).unwrap();
    pr_io(
        sub,
        cntlid,
        io_opcode::RESERVATION_ACQUIRE,
        acquire.cdw10(),
        &d,
    );
    let release = ReservationRelease {
        action: ReleaseAction::Release,
        iekey: false,
        rtype: Some(rtype),
        crkey: key,
    };
    let mut d = [0u8; 8];
    release.emit_data(&mut d).unwrap();
    pr_io(
        sub,
        cntlid,
        io_opcode::RESERVATION_RELEASE,
        release.cdw10(),
        &d,
    );
}

/// Another host reserves and releases twice while ours is registered:
/// our controller's Asynchronous Event Request completes with the
/// reservation event, `mpath_nvme_apply_aen` asks for the Reservation
/// Notification log, and since the first page says one more is queued,
/// applying it asks for the next; the second says none is left.
#[test]
fn a_reservation_event_reads_every_queued_notification_page() {
    let mut l = nvme_lab(&[AnaState::Optimized]);
    l.drive(MS);
    let other = HostIdentifier::Short(*b"other-hs");
    let nqn = Nqn::new(b"nqn.2026-12.org.mpath:other-host").unwrap();
    l.sub.add_host(HostConfig { nqn, hostid: other }).unwrap();
    l.sub.add_controller(9, other).unwrap();
    l.sub.set_ana_state(9, 1, AnaState::Optimized).unwrap();
    l.sub.reset_controller(9).unwrap();
    let ours = l.cntlids[0];
    register(&mut l.sub, ours, KEY);
    let aer = SubmissionEntry::async_event_request(0x77).to_bytes();
    let armed = l.sub.submit(ours, Queue::Admin, &aer, &[], &mut []);
    assert_eq!(armed, Ok(Submitted::Deferred { cid: 0x77 }));
    while l.sub.poll_event().is_some() {}

    register(&mut l.sub, 9, 2);
    reserve_and_release(&mut l.sub, 9, 2);
    reserve_and_release(&mut l.sub, 9, 2);
    let mut dw0 = None;
    while let Some(e) = l.sub.poll_event() {
        if let TargetEvent::AsyncCompletion { cntlid, completion } = e {
            assert_eq!(cntlid, ours);
            dw0 = Some(completion.dw0);
        }
    }
    let dw0 = dw0.expect("our controller's request completed");
    assert_eq!(
        AsyncEvent::parse(dw0),
        AsyncEvent::RESERVATION_LOG_AVAILABLE
    );

    let mut next = MpathNvmeCommand::default();
    let rc = mpath_nvme_apply_aen(
        Some(l.ad),
        Some(l.r.dev),
        l.paths[0],
        dw0,
        2 * MS,
        Some(&mut next),
    );
    assert_eq!(rc, 1);
    let notification = crate::codes::MpathNvmeCommandKind::ReservationNotification.code();
    assert_eq!(next.kind, notification);
    let pages = l.round_trip(next, 2 * MS);
    let kinds: Vec<_> = pages.iter().map(|a| (a.kind, a.count)).collect();
    let page = MpathAppliedKind::Notification.code();
    assert_eq!(kinds, [(page, 1), (page, 0)], "{pages:?}");
}
