//! Read, Write and Flush on the simulated NVMe subsystem: data through the
//! block store, ANA state to path status, and bad input.

#[path = "nvme_common.rs"]
mod common;
use common::*;

use mpath_core::{Outcome, PathErrorKind};
use mpath_nvme::ana::AnaState;
use mpath_nvme::classify::{classify, Delivery};
use mpath_nvme::identify::Crdt;
use mpath_nvme::status::StatusCode;
use mpath_sim::block_store::BlockStamp;
use mpath_sim::nvme_target::completion::extra_status;
use mpath_sim::nvme_target::{Queue, SubmissionEntry};

#[test]
fn write_then_read_through_another_controller() {
    let mut s = subsystem();
    let data = [stamped(1, 1, 5), stamped(1, 2, 6)].concat();
    ok(&run(
        &mut s,
        A1,
        Queue::Io,
        &SubmissionEntry::write(1, NS1, 5, 1),
        &data,
        &mut [],
    ));
    let mut back = vec![0xFFu8; 2 * BS];
    ok(&run(
        &mut s,
        B1,
        Queue::Io,
        &SubmissionEntry::read(2, NS1, 5, 1),
        &[],
        &mut back,
    ));
    assert_eq!(
        BlockStamp::from_bytes(&back[BS..]).map(|s| s.generation),
        Some(2)
    );
    assert_eq!(s.store(NS1).unwrap().stamp(5).map(|s| s.host), Some(1));
    assert!(
        s.store(NS2).unwrap().stamp(5).is_none(),
        "namespaces are apart"
    );
    ok(&run(
        &mut s,
        C1,
        Queue::Io,
        &SubmissionEntry::flush(3, NS2),
        &[],
        &mut [],
    ));
}

#[test]
fn stale_write_is_applied_and_recorded() {
    let mut s = subsystem();
    ok(&run(
        &mut s,
        A1,
        Queue::Io,
        &SubmissionEntry::write(1, NS1, 0, 0),
        &stamped(1, 9, 0),
        &mut [],
    ));
    // The late write from the path the host failed over from.
    ok(&run(
        &mut s,
        A2,
        Queue::Io,
        &SubmissionEntry::write(2, NS1, 0, 0),
        &stamped(1, 8, 0),
        &mut [],
    ));
    let stale = s.store(NS1).unwrap().stale_writes();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].newer, Some(9));
}

#[test]
fn range_buffer_namespace_and_opcode_errors() {
    let mut s = subsystem();
    let table: [(SubmissionEntry, usize, StatusCode); 7] = [
        (
            SubmissionEntry::read(1, NS1, BLOCKS, 0),
            BS,
            StatusCode::LBA_OUT_OF_RANGE,
        ),
        (
            SubmissionEntry::read(1, NS1, BLOCKS - 1, 1),
            2 * BS,
            StatusCode::LBA_OUT_OF_RANGE,
        ),
        (
            SubmissionEntry::read(1, NS1, u64::MAX, 0xFFFF),
            BS,
            StatusCode::LBA_OUT_OF_RANGE,
        ),
        (
            SubmissionEntry::read(1, NS1, 0, 1),
            BS,
            extra_status::DATA_SGL_LENGTH_INVALID,
        ),
        (
            SubmissionEntry::read(1, 7, 0, 0),
            BS,
            StatusCode::INVALID_NAMESPACE,
        ),
        (
            SubmissionEntry::read(1, u32::MAX, 0, 0),
            BS,
            StatusCode::INVALID_NAMESPACE,
        ),
        (
            SubmissionEntry {
                opcode: 0x05,
                nsid: NS1,
                cid: 1,
                ..Default::default()
            },
            BS,
            StatusCode::INVALID_OPCODE,
        ),
    ];
    for (e, len, want) in table {
        let mut buf = vec![0u8; len];
        let c = run(&mut s, A1, Queue::Io, &e, &[], &mut buf);
        assert_eq!(code(&c), want, "{e:?}");
        assert!(c.status.dnr(), "{e:?}: errors about the command carry DNR");
    }
    // A write with less data than its blocks.
    let c = run(
        &mut s,
        A1,
        Queue::Io,
        &SubmissionEntry::write(1, NS1, 0, 1),
        &[0u8; BS],
        &mut [],
    );
    assert_eq!(code(&c), extra_status::DATA_SGL_LENGTH_INVALID);
    assert_eq!(s.store(NS1).unwrap().writes_applied(), 0);
}

#[test]
fn ana_state_decides_io_status_per_controller() {
    let mut s = subsystem();
    let table = [
        (AnaState::Optimized, StatusCode::SUCCESS, Outcome::Success),
        (
            AnaState::NonOptimized,
            StatusCode::SUCCESS,
            Outcome::Success,
        ),
        (
            AnaState::Inaccessible,
            StatusCode::ANA_INACCESSIBLE,
            Outcome::PathError(PathErrorKind::AccessDenied),
        ),
        (
            AnaState::PersistentLoss,
            StatusCode::ANA_PERSISTENT_LOSS,
            Outcome::PathError(PathErrorKind::AccessDenied),
        ),
        (
            AnaState::Change,
            StatusCode::ANA_TRANSITION,
            Outcome::PathError(PathErrorKind::Transitioning),
        ),
    ];
    for (state, want, outcome) in table {
        s.set_ana_state(A2, 1, state).unwrap();
        for e in [
            SubmissionEntry::read(1, NS1, 0, 0),
            SubmissionEntry::write(2, NS1, 0, 0),
            SubmissionEntry::flush(3, NS1),
        ] {
            let mut buf = vec![0u8; BS];
            let c = run(&mut s, A2, Queue::Io, &e, &stamped(1, 1, 0), &mut buf);
            assert_eq!(code(&c), want, "{state:?} {e:?}");
            assert!(!c.status.dnr(), "path errors leave DNR clear");
            let got = classify(Delivery::Completed(c.status), &Crdt::default()).outcome;
            assert_eq!(got, outcome, "{state:?}");
        }
        // The same group through A1 and the other group through A2 are fine.
        let mut buf = vec![0u8; BS];
        ok(&run(
            &mut s,
            A1,
            Queue::Io,
            &SubmissionEntry::read(4, NS1, 0, 0),
            &[],
            &mut buf,
        ));
        ok(&run(
            &mut s,
            A2,
            Queue::Io,
            &SubmissionEntry::read(5, NS2, 0, 0),
            &[],
            &mut buf,
        ));
    }
}
