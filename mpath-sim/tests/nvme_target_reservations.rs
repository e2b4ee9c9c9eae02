//! Reservations on the simulated NVMe subsystem through the wire: the
//! conflict table for all six types, host-scoped registrations, reports in
//! both formats, preemption, notifications and power loss.

#[path = "nvme_common.rs"]
mod common;
use common::*;

use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::ana::AnaState;
use mpath_nvme::log_page::GetLogPage;
use mpath_nvme::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationType,
};
use mpath_nvme::resv_notification::{NotificationType, ResvNotificationRepr};
use mpath_nvme::resv_report::Format;
use mpath_nvme::status::StatusCode;
use mpath_sim::nvme_target::completion::extra_status;
use mpath_sim::nvme_target::resv_commands::CNTLID_NONE;
use mpath_sim::nvme_target::sqe::io_opcode;
use mpath_sim::nvme_target::{
    HeldReservation, HostConfig, HostIdentifier, Queue, SubmissionEntry, Submitted, Subsystem,
    TargetEvent,
};

use ReservationType as T;

/// (registrant read, registrant write, non-registrant read, non-registrant
/// write) allowed, from Base 2.0 "Command Behavior in the Presence of a
/// Reservation".
const TABLE: [(ReservationType, [bool; 4]); 6] = [
    (T::WriteExclusive, [true, false, true, false]),
    (T::ExclusiveAccess, [false, false, false, false]),
    (T::WriteExclusiveRegistrantsOnly, [true, true, true, false]),
    (
        T::ExclusiveAccessRegistrantsOnly,
        [true, true, false, false],
    ),
    (T::WriteExclusiveAllRegistrants, [true, true, true, false]),
    (T::ExclusiveAccessAllRegistrants, [true, true, false, false]),
];

fn io_status(s: &mut Subsystem, cntlid: u16, write: bool, flush: bool) -> StatusCode {
    let mut buf = vec![0u8; BS];
    let e = match (write, flush) {
        (_, true) => SubmissionEntry::flush(1, NS1),
        (true, _) => SubmissionEntry::write(1, NS1, 3, 0),
        _ => SubmissionEntry::read(1, NS1, 3, 0),
    };
    let c = run(s, cntlid, Queue::Io, &e, &stamped(9, 1, 3), &mut buf);
    if code(&c) == StatusCode::RESERVATION_CONFLICT {
        assert!(c.status.dnr(), "conflicts carry DNR");
    }
    code(&c)
}

#[test]
fn conflict_table_for_all_six_types() {
    for (t, [reg_r, reg_w, non_r, non_w]) in TABLE {
        let mut s = subsystem();
        ok(&register(&mut s, A1, NS1, 1));
        ok(&register(&mut s, B1, NS1, 2));
        ok(&acquire(&mut s, A1, NS1, AcquireAction::Acquire, t, 1, 0));
        let expect = |allowed: bool| {
            if allowed {
                StatusCode::SUCCESS
            } else {
                StatusCode::RESERVATION_CONFLICT
            }
        };
        // The holder, through its other controller: everything.
        for (w, f) in [(false, false), (true, false), (false, true)] {
            assert_eq!(
                io_status(&mut s, A2, w, f),
                StatusCode::SUCCESS,
                "{t:?} holder"
            );
        }
        assert_eq!(
            io_status(&mut s, B1, false, false),
            expect(reg_r),
            "{t:?} registrant read"
        );
        assert_eq!(
            io_status(&mut s, B1, true, false),
            expect(reg_w),
            "{t:?} registrant write"
        );
        assert_eq!(
            io_status(&mut s, B1, false, true),
            expect(reg_w),
            "{t:?} registrant flush"
        );
        assert_eq!(
            io_status(&mut s, C1, false, false),
            expect(non_r),
            "{t:?} non-registrant read"
        );
        assert_eq!(
            io_status(&mut s, C1, true, false),
            expect(non_w),
            "{t:?} non-registrant write"
        );
        assert_eq!(
            io_status(&mut s, C1, false, true),
            expect(non_w),
            "{t:?} non-registrant flush"
        );
        // The other namespace has no reservation.
        let mut buf = vec![0u8; BS];
        ok(&run(
            &mut s,
            C1,
            Queue::Io,
            &SubmissionEntry::read(2, NS2, 0, 0),
            &[],
            &mut buf,
        ));
        // Reservation Report needs no registration, whatever the type.
        let r = parsed_report(&mut s, C1, NS1, false);
        assert_eq!(r.header().rtype, Some(t));
    }
}

#[test]
fn registration_is_the_hosts_and_report_lists_its_controllers() {
    let mut s = subsystem();
    ok(&register(&mut s, A1, NS1, 0xAAAA));
    ok(&register(&mut s, B1, NS1, 0xBBBB));
    // Host-scoped: A registered through A1 acquires through A2.
    ok(&acquire(
        &mut s,
        A2,
        NS1,
        AcquireAction::Acquire,
        T::WriteExclusive,
        0xAAAA,
        0,
    ));
    // Registering A again through A2 with another key is a conflict.
    assert_eq!(
        code(&register(&mut s, A2, NS1, 0xA2)),
        StatusCode::RESERVATION_CONFLICT
    );
    let truth = s.reservation_state(NS1).unwrap();
    assert_eq!(truth.key_of(A), Some(0xAAAA));
    assert_eq!(
        truth.reservation(),
        Some(HeldReservation {
            rtype: T::WriteExclusive,
            holder: Some(A)
        })
    );
    for eds in [false, true] {
        let r = parsed_report(&mut s, C1, NS1, eds);
        let h = r.header();
        assert_eq!(
            (h.generation, h.rtype, h.regctl, h.ptpls),
            (2, Some(T::WriteExclusive), 3, false)
        );
        let regs: Vec<_> = r
            .registrants()
            .map(|c| (c.cntlid, c.holds_reservation, c.rkey))
            .collect();
        assert_eq!(
            regs,
            vec![(A1, true, 0xAAAA), (A2, true, 0xAAAA), (B1, false, 0xBBBB)]
        );
        assert_eq!(r.holder().unwrap().hostid, A.to_report_bytes());
        assert_eq!(r.find_host(&B.to_report_bytes()).unwrap().rkey, 0xBBBB);
    }
    // A short buffer holds fewer registrants than REGCTL counts.
    let (c, buf) = report(&mut s, C1, NS1, 48, false);
    ok(&c);
    let r = mpath_nvme::resv_report::ResvReport::new_checked(&buf[..], Format::Regular).unwrap();
    assert_eq!((r.present(), r.is_truncated()), (1, true));
    // A registered host with no controller left is listed with FFFFh.
    s.disconnect(B1).unwrap();
    let r = parsed_report(&mut s, C1, NS1, false);
    assert_eq!(
        r.find_host(&B.to_report_bytes()).unwrap().cntlid,
        CNTLID_NONE
    );
}

#[test]
fn extended_host_ids_need_the_extended_report() {
    let mut s = subsystem();
    let d = HostIdentifier::Extended(*b"0123456789abcdef");
    s.add_host(HostConfig {
        nqn: nqn("nqn.2014-08.org.example:d"),
        hostid: d,
    })
    .unwrap();
    s.add_controller(9, d).unwrap();
    ok(&register(&mut s, 9, NS1, 0xD));
    let (c, _) = report(&mut s, 9, NS1, 4096, false);
    assert_eq!(code(&c), extra_status::HOST_ID_INCONSISTENT_FORMAT);
    let (c, _) = report(&mut s, A1, NS1, 4096, false);
    assert_eq!(
        code(&c),
        extra_status::HOST_ID_INCONSISTENT_FORMAT,
        "a registrant's is 128-bit"
    );
    let r = parsed_report(&mut s, A1, NS1, true);
    assert_eq!(r.registrants().next().unwrap().hostid, *b"0123456789abcdef");
}

#[test]
fn register_replace_unregister_and_bad_fields() {
    let mut s = subsystem();
    let reg = |action, iekey, crkey, nrkey| ReservationRegister {
        action,
        iekey,
        cptpl: Cptpl::NoChange,
        crkey,
        nrkey,
    };
    assert_eq!(
        code(&register_cmd(
            &mut s,
            A1,
            NS1,
            reg(RegisterAction::Replace, true, 0, 5)
        )),
        StatusCode::RESERVATION_CONFLICT
    );
    ok(&register(&mut s, A1, NS1, 1));
    assert_eq!(
        code(&register_cmd(
            &mut s,
            A1,
            NS1,
            reg(RegisterAction::Replace, false, 2, 5)
        )),
        StatusCode::RESERVATION_CONFLICT
    );
    ok(&register_cmd(
        &mut s,
        A2,
        NS1,
        reg(RegisterAction::Replace, true, 0, 5),
    ));
    assert_eq!(s.reservation_state(NS1).unwrap().key_of(A), Some(5));
    ok(&register_cmd(
        &mut s,
        A1,
        NS1,
        reg(RegisterAction::Unregister, false, 5, 0),
    ));
    assert!(s.reservation_state(NS1).unwrap().registrants().is_empty());
    assert_eq!(s.reservation_state(NS1).unwrap().generation(), 3);
    // RREGA 3, CPTPL 01b, RTYPE 0 and 7, IEKEY on acquire: invalid fields.
    let data = [0u8; 16];
    for (opcode, cdw10) in [
        (io_opcode::RESERVATION_REGISTER, 3u32),
        (io_opcode::RESERVATION_REGISTER, 1 << 30),
        (io_opcode::RESERVATION_ACQUIRE, 0),
        (io_opcode::RESERVATION_ACQUIRE, 7 << 8),
        (io_opcode::RESERVATION_ACQUIRE, 1 << 8 | 1 << 3),
        (io_opcode::RESERVATION_RELEASE, 2),
        (io_opcode::RESERVATION_RELEASE, 1 << 3),
    ] {
        ok(&register(&mut s, A1, NS1, 1));
        let e = SubmissionEntry {
            opcode,
            cid: 3,
            nsid: NS1,
            cdw: [cdw10, 0, 0, 0, 0, 0],
            ..Default::default()
        };
        let mut d = data;
        d[..8].copy_from_slice(&1u64.to_le_bytes());
        let c = run(&mut s, A1, Queue::Io, &e, &d, &mut []);
        assert_eq!(
            code(&c),
            StatusCode::INVALID_FIELD,
            "{opcode:#x} {cdw10:#x}"
        );
    }
    // Keys missing from the data: a buffer problem.
    let e = SubmissionEntry {
        opcode: io_opcode::RESERVATION_REGISTER,
        cid: 4,
        nsid: NS1,
        ..Default::default()
    };
    assert_eq!(
        code(&run(&mut s, A1, Queue::Io, &e, &[0u8; 8], &mut [])),
        extra_status::DATA_SGL_LENGTH_INVALID
    );
    // Namespace and ANA checks come first.
    assert_eq!(
        code(&register(&mut s, A1, 9, 1)),
        StatusCode::INVALID_NAMESPACE
    );
    s.set_ana_state(B1, 1, AnaState::Inaccessible).unwrap();
    assert_eq!(
        code(&register(&mut s, B1, NS1, 2)),
        StatusCode::ANA_INACCESSIBLE
    );
    assert_eq!(s.reservation_state(NS1).unwrap().key_of(B), None);
}

fn arm(s: &mut Subsystem, cntlid: u16, cid: u16) {
    let r = s.submit(
        cntlid,
        Queue::Admin,
        &SubmissionEntry::async_event_request(cid).to_bytes(),
        &[],
        &mut [],
    );
    assert_eq!(r, Ok(Submitted::Deferred { cid }));
}

fn notification(s: &mut Subsystem, cntlid: u16) -> ResvNotificationRepr {
    let mut buf = [0u8; 64];
    ok(&run(
        s,
        cntlid,
        Queue::Admin,
        &SubmissionEntry::get_log_page(8, &GetLogPage::reservation_notification()),
        &[],
        &mut buf,
    ));
    ResvNotificationRepr::parse(&buf).unwrap()
}

/// The controllers whose held request completed with a reservation log
/// event, in order.
fn resv_events(events: &[TargetEvent]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            TargetEvent::AsyncCompletion { cntlid, completion }
                if AsyncEvent::parse(completion.dw0) == AsyncEvent::RESERVATION_LOG_AVAILABLE =>
            {
                Some(*cntlid)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn preempt_and_abort_notifies_and_fences_the_victim() {
    let mut s = subsystem();
    for c in [A1, A2, B1, C1] {
        arm(&mut s, c, 100 + c);
    }
    ok(&register(&mut s, A1, NS1, 1));
    ok(&register(&mut s, B1, NS1, 2));
    ok(&acquire(
        &mut s,
        A1,
        NS1,
        AcquireAction::Acquire,
        T::ExclusiveAccess,
        1,
        0,
    ));
    assert!(drain(&mut s).is_empty(), "nothing to tell yet");
    ok(&acquire(
        &mut s,
        B1,
        NS1,
        AcquireAction::PreemptAndAbort,
        T::ExclusiveAccess,
        2,
        1,
    ));
    let ev = drain(&mut s);
    assert_eq!(
        resv_events(&ev),
        vec![A1, A2],
        "both of A's controllers hear"
    );
    let aborts: Vec<_> = ev
        .iter()
        .filter(|e| matches!(e, TargetEvent::AbortCommands { .. }))
        .collect();
    assert_eq!(
        aborts,
        vec![
            &TargetEvent::AbortCommands {
                cntlid: A1,
                nsid: NS1
            },
            &TargetEvent::AbortCommands {
                cntlid: A2,
                nsid: NS1
            }
        ]
    );
    for c in [A1, A2] {
        let page = notification(&mut s, c);
        assert_eq!(
            (page.kind, page.nsid, page.log_page_count, page.available),
            (NotificationType::RegistrationPreempted, NS1, 1, 0)
        );
        assert_eq!(notification(&mut s, c).kind, NotificationType::Empty);
    }
    assert_eq!(
        io_status(&mut s, A2, true, false),
        StatusCode::RESERVATION_CONFLICT
    );
    assert_eq!(io_status(&mut s, B1, true, false), StatusCode::SUCCESS);
    let truth = s.reservation_state(NS1).unwrap();
    assert_eq!(truth.key_of(A), None);
    assert_eq!(truth.generation(), 3);
    // Plain preempt of a registration: no abort requested.
    ok(&register(&mut s, C1, NS1, 3));
    ok(&acquire(
        &mut s,
        B1,
        NS1,
        AcquireAction::Preempt,
        T::ExclusiveAccess,
        2,
        3,
    ));
    assert!(drain(&mut s)
        .iter()
        .all(|e| !matches!(e, TargetEvent::AbortCommands { .. })));
    assert_eq!(
        notification(&mut s, C1).kind,
        NotificationType::RegistrationPreempted
    );
}

#[test]
fn release_and_clear_notify_the_other_registrants() {
    let mut s = subsystem();
    ok(&register(&mut s, A1, NS1, 1));
    ok(&register(&mut s, B1, NS1, 2));
    ok(&register(&mut s, C1, NS1, 3));
    for c in [A1, A2, B1, C1] {
        arm(&mut s, c, c);
    }
    let t = T::WriteExclusiveRegistrantsOnly;
    ok(&acquire(&mut s, A1, NS1, AcquireAction::Acquire, t, 1, 0));
    assert_eq!(
        code(&release(
            &mut s,
            A1,
            NS1,
            ReleaseAction::Release,
            Some(T::WriteExclusive),
            1
        )),
        StatusCode::INVALID_FIELD,
        "type must match"
    );
    ok(&release(
        &mut s,
        A2,
        NS1,
        ReleaseAction::Release,
        Some(t),
        1,
    ));
    assert_eq!(resv_events(&drain(&mut s)), vec![B1, C1]);
    ok(&release(&mut s, B1, NS1, ReleaseAction::Clear, None, 2));
    // B1 and C1 already reported an event and nobody read the log yet:
    // masked, so only A's controllers complete their requests.
    assert_eq!(resv_events(&drain(&mut s)), vec![A1, A2]);
    let first = notification(&mut s, C1);
    assert_eq!(
        (first.kind, first.available),
        (NotificationType::ReservationReleased, 1)
    );
    let second = notification(&mut s, C1);
    assert_eq!(
        (second.kind, second.log_page_count),
        (NotificationType::ReservationPreempted, 2)
    );
    assert_eq!(
        notification(&mut s, A1).kind,
        NotificationType::ReservationPreempted
    );
    assert!(s.reservation_state(NS1).unwrap().registrants().is_empty());
    assert_eq!(
        s.queued_notifications(B1),
        1,
        "B's own release told B nothing; its clear neither"
    );
}

#[test]
fn cptpl_decides_what_survives_power_loss() {
    let mut s = subsystem();
    let persist = ReservationRegister {
        action: RegisterAction::Register,
        iekey: false,
        cptpl: Cptpl::Persist,
        crkey: 0,
        nrkey: 1,
    };
    ok(&register_cmd(&mut s, A1, NS1, persist));
    ok(&acquire_cmd(
        &mut s,
        A1,
        NS1,
        ReservationAcquire {
            action: AcquireAction::Acquire,
            iekey: false,
            rtype: T::ExclusiveAccess,
            crkey: 1,
            prkey: 0,
        },
    ));
    ok(&register(&mut s, B1, NS2, 2));
    ok(&acquire(
        &mut s,
        B1,
        NS2,
        AcquireAction::Acquire,
        T::WriteExclusive,
        2,
        0,
    ));
    ok(&run(
        &mut s,
        A1,
        Queue::Io,
        &SubmissionEntry::write(1, NS1, 0, 0),
        &stamped(1, 1, 0),
        &mut [],
    ));
    arm(&mut s, C1, 50);
    let aborted = s.restart();
    assert!(aborted.contains(&(C1, vec![50])));
    let r = parsed_report(&mut s, B1, NS1, false);
    assert_eq!(
        (r.header().ptpls, r.header().rtype, r.header().regctl),
        (true, Some(T::ExclusiveAccess), 2)
    );
    assert_eq!(
        io_status(&mut s, C1, false, false),
        StatusCode::RESERVATION_CONFLICT
    );
    let r = parsed_report(&mut s, B1, NS2, false);
    assert_eq!(
        (r.header().ptpls, r.header().rtype, r.header().regctl),
        (false, None, 0)
    );
    assert!(s.store(NS1).unwrap().stamp(0).is_some(), "data survives");
    // Clearing PTPL makes the next power loss drop NS1's state too.
    let clear = ReservationRegister {
        action: RegisterAction::Replace,
        cptpl: Cptpl::Clear,
        crkey: 1,
        ..persist
    };
    ok(&register_cmd(&mut s, A1, NS1, clear));
    s.restart();
    assert!(s.reservation_state(NS1).unwrap().reservation().is_none());
}
