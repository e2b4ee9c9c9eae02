//! Admin commands of the simulated NVMe subsystem, decoded with the
//! parsers the host side uses.

#[path = "nvme_common.rs"]
mod common;
use common::*;

use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::ana::{AnaLog, AnaLogOptions, AnaState, DESCRIPTOR_LEN, HEADER_LEN, NSID_LEN};
use mpath_nvme::identify::{
    Anacap, Cmic, IdentifyControllerRepr, IdentifyNamespaceRepr, Oncs, Rescap, IDENTIFY_LEN,
};
use mpath_nvme::identity::NvmePath;
use mpath_nvme::log_page::{GetLogPage, LID_ANA, LID_RESERVATION_NOTIFICATION};
use mpath_nvme::status::StatusCode;
use mpath_sim::nvme_target::admin::cns;
use mpath_sim::nvme_target::completion::extra_status;
use mpath_sim::nvme_target::{Queue, SubmissionEntry, Submitted, TargetError, TargetEvent};

fn identify(
    s: &mut mpath_sim::nvme_target::Subsystem,
    cntlid: u16,
    cns: u8,
    nsid: u32,
) -> (StatusCode, Vec<u8>) {
    let mut buf = vec![0xCCu8; IDENTIFY_LEN];
    let c = run(
        s,
        cntlid,
        Queue::Admin,
        &SubmissionEntry::identify(9, cns, nsid),
        &[],
        &mut buf,
    );
    (code(&c), buf)
}

fn log(
    s: &mut mpath_sim::nvme_target::Subsystem,
    cntlid: u16,
    cmd: &GetLogPage,
) -> (StatusCode, Vec<u8>) {
    let mut buf = vec![0xCCu8; cmd.transfer_len() as usize];
    let c = run(
        s,
        cntlid,
        Queue::Admin,
        &SubmissionEntry::get_log_page(5, cmd),
        &[],
        &mut buf,
    );
    (code(&c), buf)
}

#[test]
fn identify_controller_reports_multipath_fields() {
    let mut s = subsystem();
    let (st, buf) = identify(&mut s, A2, cns::CONTROLLER, 0);
    assert_eq!(st, StatusCode::SUCCESS);
    let id = IdentifyControllerRepr::parse(&buf).unwrap();
    assert_eq!(id.cntlid, A2);
    assert!(id
        .cmic
        .contains(Cmic::MULTI_CONTROLLER | Cmic::ANA_REPORTING));
    assert!(id.oncs.contains(Oncs::RESERVATIONS));
    assert!(id.anacap.contains(Anacap::INACCESSIBLE | Anacap::CHANGE));
    assert_eq!(
        (id.anatt, id.anagrpmax, id.nanagrpid, id.nn),
        (10, 16, 16, 256)
    );
    assert_eq!(
        id.subnqn.unwrap().as_str(),
        Some("nqn.2014-08.org.example:sim")
    );
    assert_eq!(buf[259], 3, "AERL");
}

#[test]
fn identify_namespace_and_path() {
    let mut s = subsystem();
    let (st, buf) = identify(&mut s, B1, cns::NAMESPACE, NS2);
    assert_eq!(st, StatusCode::SUCCESS);
    let ns = IdentifyNamespaceRepr::parse(&buf).unwrap();
    assert_eq!((ns.nsze, ns.anagrpid), (BLOCKS, 2));
    assert!(ns.is_shared());
    assert!(ns
        .rescap
        .contains(Rescap::PTPL | Rescap::EXCLUSIVE_ACCESS_ALL_REGS | Rescap::IEKEY_13));
    assert_eq!(buf[130], 9, "LBADS of LBA format 0: 512-byte blocks");
    let (_, cbuf) = identify(&mut s, B1, cns::CONTROLLER, 0);
    let ctrl = IdentifyControllerRepr::parse(&cbuf).unwrap();
    let path = NvmePath::from_identify(&ctrl, &ns, NS2).unwrap();
    assert_eq!(
        (path.cntlid, path.anagrpid, path.ana_reporting),
        (B1, 2, true)
    );
    // The whole ANA log fits the host's buffer for it.
    let want = path.ana_log_len(false).unwrap() as usize;
    assert!(s.ana_log(B1, false).unwrap().len() <= want);
}

#[test]
fn identify_errors_and_nsid_list() {
    let mut s = subsystem();
    assert_eq!(
        identify(&mut s, A1, cns::NAMESPACE, 9).0,
        StatusCode::INVALID_NAMESPACE
    );
    assert_eq!(
        identify(&mut s, A1, cns::NAMESPACE, 0).0,
        StatusCode::INVALID_NAMESPACE
    );
    assert_eq!(identify(&mut s, A1, 0x7F, 0).0, StatusCode::INVALID_FIELD);
    let (st, buf) = identify(&mut s, A1, cns::ACTIVE_NSID_LIST, 0);
    assert_eq!(st, StatusCode::SUCCESS);
    assert_eq!(&buf[..12], &[1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    let (_, buf) = identify(&mut s, A1, cns::ACTIVE_NSID_LIST, 1);
    assert_eq!(&buf[..8], &[2, 0, 0, 0, 0, 0, 0, 0]);
    // A buffer shorter than 4096 bytes cannot take the structure.
    let mut short = [0u8; 100];
    let c = run(
        &mut s,
        A1,
        Queue::Admin,
        &SubmissionEntry::identify(1, cns::CONTROLLER, 0),
        &[],
        &mut short,
    );
    assert_eq!(code(&c), extra_status::DATA_SGL_LENGTH_INVALID);
    assert!(c.status.dnr());
}

#[test]
fn ana_log_lists_groups_per_controller_with_and_without_rgo() {
    let mut s = subsystem();
    assert!(s.set_ana_state(A2, 1, AnaState::Inaccessible).unwrap());
    assert!(
        !s.set_ana_state(A2, 1, AnaState::Inaccessible).unwrap(),
        "no change"
    );
    s.set_ana_state(A2, 2, AnaState::Change).unwrap();
    let opts = AnaLogOptions {
        anagrpmax: 16,
        rgo: false,
    };
    let (st, buf) = log(&mut s, A2, &GetLogPage::ana(4096, false).unwrap());
    assert_eq!(st, StatusCode::SUCCESS);
    let page = AnaLog::new_checked(&buf[..], opts).unwrap();
    assert_eq!(page.change_count(), 2);
    assert_eq!(page.group_count(), 2);
    assert_eq!(page.find_nsid(NS1), Some((1, AnaState::Inaccessible)));
    assert_eq!(page.find_nsid(NS2), Some((2, AnaState::Change)));
    let counts: Vec<u64> = page.groups().map(|g| g.change_count).collect();
    assert_eq!(counts, vec![1, 1]);
    assert!(
        buf[page.len()..].iter().all(|b| *b == 0),
        "zeros past the page"
    );
    // Through A1 nothing changed: both optimized, count 0.
    let (_, buf) = log(&mut s, A1, &GetLogPage::ana(4096, false).unwrap());
    let page = AnaLog::new_checked(&buf[..], opts).unwrap();
    assert_eq!(page.change_count(), 0);
    assert!(page.groups().all(|g| g.state == AnaState::Optimized));
    // Return Groups Only: descriptors with no NSID list and NNSIDS 0.
    let (_, buf) = log(&mut s, A2, &GetLogPage::ana(4096, true).unwrap());
    let page = AnaLog::new_checked(
        &buf[..],
        AnaLogOptions {
            anagrpmax: 16,
            rgo: true,
        },
    )
    .unwrap();
    assert_eq!(page.len(), HEADER_LEN + 2 * DESCRIPTOR_LEN);
    let states: Vec<_> = page.group_states().collect();
    assert_eq!(states.len(), 2);
    assert_eq!(page.groups().next().unwrap().nsids.count(), Some(0));
}

#[test]
fn ana_log_truncation_and_offsets() {
    let mut s = subsystem();
    let full = s.ana_log(A1, false).unwrap();
    assert_eq!(full.len(), HEADER_LEN + 2 * (DESCRIPTOR_LEN + NSID_LEN));
    // NUMD shorter than the page: the first bytes only.
    let (st, buf) = log(&mut s, A1, &GetLogPage::ana(20, false).unwrap());
    assert_eq!(st, StatusCode::SUCCESS);
    assert_eq!(buf, full[..20]);
    // At an offset: the rest of the page, zeros after it.
    let mut cmd = GetLogPage::ana(128, false).unwrap();
    cmd.offset = 16;
    let (st, buf) = log(&mut s, A1, &cmd);
    assert_eq!(st, StatusCode::SUCCESS);
    assert_eq!(&buf[..full.len() - 16], &full[16..]);
    assert!(buf[full.len() - 16..].iter().all(|b| *b == 0));
    for (offset, why) in [(2u64, "unaligned"), (full.len() as u64 + 4, "past the end")] {
        cmd.offset = offset;
        assert_eq!(log(&mut s, A1, &cmd).0, StatusCode::INVALID_FIELD, "{why}");
    }
    assert_eq!(
        log(&mut s, A1, &GetLogPage::new(0x42, 64).unwrap()).0,
        StatusCode::INVALID_LOG_PAGE
    );
    // The ANA log is controller-scoped: a namespace NSID is refused.
    let mut e = SubmissionEntry::get_log_page(1, &GetLogPage::ana(64, false).unwrap());
    e.nsid = NS1;
    let c = run(&mut s, A1, Queue::Admin, &e, &[], &mut [0u8; 64]);
    assert_eq!(code(&c), StatusCode::INVALID_FIELD);
}

#[test]
fn aer_completes_on_ana_change_and_stays_masked_until_read() {
    let mut s = subsystem();
    let held = s
        .submit(
            A1,
            Queue::Admin,
            &SubmissionEntry::async_event_request(77).to_bytes(),
            &[],
            &mut [],
        )
        .unwrap();
    assert_eq!(held, Submitted::Deferred { cid: 77 });
    assert_eq!(s.outstanding_aers(A1), vec![77]);
    s.set_ana_state(A1, 2, AnaState::NonOptimized).unwrap();
    let ev = drain(&mut s);
    let [TargetEvent::AsyncCompletion {
        cntlid: A1,
        completion,
    }] = ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(completion.cid, 77);
    assert_eq!(AsyncEvent::parse(completion.dw0), AsyncEvent::ANA_CHANGE);
    // Masked: a second change with a new request pending reports nothing.
    let _ = s.submit(
        A1,
        Queue::Admin,
        &SubmissionEntry::async_event_request(78).to_bytes(),
        &[],
        &mut [],
    );
    s.set_ana_state(A1, 2, AnaState::Optimized).unwrap();
    assert!(drain(&mut s).is_empty());
    // Reading with RAE set keeps the mask; with RAE clear lifts it.
    let mut rae = GetLogPage::ana(4096, false).unwrap();
    rae.rae = true;
    log(&mut s, A1, &rae);
    s.set_ana_state(A1, 2, AnaState::Inaccessible).unwrap();
    assert!(drain(&mut s).is_empty());
    log(&mut s, A1, &GetLogPage::ana(4096, false).unwrap());
    s.set_ana_state(A1, 2, AnaState::Optimized).unwrap();
    assert_eq!(
        drain(&mut s).len(),
        1,
        "unmasked: the held request completes"
    );
    // Other controllers of the same host heard nothing of A1's states.
    assert!(s.outstanding_aers(A2).is_empty());
    assert_eq!(s.ana_change_count(A2), Some(0));
}

#[test]
fn aer_limit_keep_alive_and_bad_opcodes() {
    let mut s = subsystem();
    for cid in 0..4 {
        let r = s.submit(
            B1,
            Queue::Admin,
            &SubmissionEntry::async_event_request(cid).to_bytes(),
            &[],
            &mut [],
        );
        assert_eq!(r, Ok(Submitted::Deferred { cid }));
    }
    let c = run(
        &mut s,
        B1,
        Queue::Admin,
        &SubmissionEntry::async_event_request(4),
        &[],
        &mut [],
    );
    assert_eq!(code(&c), extra_status::AER_LIMIT_EXCEEDED);
    ok(&run(
        &mut s,
        B1,
        Queue::Admin,
        &SubmissionEntry::keep_alive(5),
        &[],
        &mut [],
    ));
    let bad = SubmissionEntry {
        opcode: 0x7E,
        cid: 6,
        ..Default::default()
    };
    let c = run(&mut s, B1, Queue::Admin, &bad, &[], &mut []);
    assert_eq!(code(&c), StatusCode::INVALID_OPCODE);
    assert!(c.status.dnr());
    // Opcodes mean different things per queue: Write (01h) on the admin
    // queue is Delete I/O Submission Queue, which the target lacks.
    let c = run(
        &mut s,
        B1,
        Queue::Admin,
        &SubmissionEntry::write(7, NS1, 0, 0),
        &[0; 512],
        &mut [],
    );
    assert_eq!(code(&c), StatusCode::INVALID_OPCODE);
    // Fused commands are not supported.
    let mut fused = SubmissionEntry::keep_alive(8);
    fused.fuse = 1;
    assert_eq!(
        code(&run(&mut s, B1, Queue::Admin, &fused, &[], &mut [])),
        StatusCode::INVALID_FIELD
    );
}

#[test]
fn reset_and_disconnect_abort_held_requests() {
    let mut s = subsystem();
    for cid in [10, 11] {
        let _ = s.submit(
            A1,
            Queue::Admin,
            &SubmissionEntry::async_event_request(cid).to_bytes(),
            &[],
            &mut [],
        );
    }
    assert_eq!(s.reset_controller(A1).unwrap(), vec![10, 11]);
    assert!(s.outstanding_aers(A1).is_empty());
    // After the reset, events are reported afresh.
    let _ = s.submit(
        A1,
        Queue::Admin,
        &SubmissionEntry::async_event_request(12).to_bytes(),
        &[],
        &mut [],
    );
    s.set_ana_state(A1, 1, AnaState::Change).unwrap();
    assert_eq!(drain(&mut s).len(), 1);
    let _ = s.submit(
        A2,
        Queue::Admin,
        &SubmissionEntry::async_event_request(13).to_bytes(),
        &[],
        &mut [],
    );
    assert_eq!(s.disconnect(A2).unwrap(), vec![13]);
    let e = SubmissionEntry::keep_alive(1).to_bytes();
    assert_eq!(
        s.submit(A2, Queue::Admin, &e, &[], &mut []),
        Err(TargetError::Disconnected(A2))
    );
    assert_eq!(
        s.submit(99, Queue::Admin, &e, &[], &mut []),
        Err(TargetError::UnknownController(99))
    );
    // No events reach a disconnected controller.
    s.set_ana_state(A2, 1, AnaState::Inaccessible).unwrap();
    s.connect(A2).unwrap();
    assert_eq!(s.outstanding_aers(A2), Vec::<u16>::new());
    ok(&run(
        &mut s,
        A2,
        Queue::Admin,
        &SubmissionEntry::keep_alive(2),
        &[],
        &mut [],
    ));
    assert_eq!(
        s.ana_state(A2, 1),
        Some(AnaState::Inaccessible),
        "ANA state is the subsystem's"
    );
}

#[test]
fn empty_reservation_log_reads_as_zeros() {
    let mut s = subsystem();
    let (st, buf) = log(&mut s, C1, &GetLogPage::reservation_notification());
    assert_eq!(st, StatusCode::SUCCESS);
    assert!(buf.iter().all(|b| *b == 0));
    let mut cmd = GetLogPage::new(LID_RESERVATION_NOTIFICATION, 64).unwrap();
    cmd.offset = 68;
    assert_eq!(log(&mut s, C1, &cmd).0, StatusCode::INVALID_FIELD);
    let _ = LID_ANA;
}
