//! Arbitrary submissions never panic the simulated NVMe subsystem and
//! always come back as a well-formed answer; random reservation command
//! sequences keep the report and the truth in agreement.

#[path = "nvme_common.rs"]
mod common;
use common::*;

use mpath_nvme::resv_report::{Format, ResvReport};
use mpath_nvme::status::{CqeDw3, StatusCode};
use mpath_sim::nvme_target::sqe::{admin_opcode, io_opcode};
use mpath_sim::nvme_target::{Queue, SubmissionEntry, Submitted, TargetEvent};
use proptest::prelude::*;

/// Entries biased to the opcodes and NSIDs the target knows, so the
/// checks behind the opcode are reached too.
fn entry() -> impl Strategy<Value = [u8; 64]> {
    (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        prop_oneof![
            Just(admin_opcode::GET_LOG_PAGE),
            Just(admin_opcode::IDENTIFY),
            Just(admin_opcode::ASYNC_EVENT_REQUEST),
            Just(io_opcode::READ),
            Just(io_opcode::WRITE),
            Just(io_opcode::RESERVATION_REGISTER),
            Just(io_opcode::RESERVATION_ACQUIRE),
            Just(io_opcode::RESERVATION_RELEASE),
            Just(io_opcode::RESERVATION_REPORT),
            any::<u8>(),
        ],
        prop_oneof![Just(NS1), Just(NS2), Just(u32::MAX), any::<u32>()],
        prop_oneof![Just(0u8), any::<u8>()],
    )
        .prop_map(|(a, b, opcode, nsid, flags)| {
            let mut e = [0u8; 64];
            e[..32].copy_from_slice(&a);
            e[32..].copy_from_slice(&b);
            e[0] = opcode;
            e[1] = flags & 0x3 & (flags >> 4);
            e[4..8].copy_from_slice(&nsid.to_le_bytes());
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_submission_yields_a_well_formed_answer(
        cmds in prop::collection::vec(
            (entry(), any::<bool>(), 0usize..4, prop::collection::vec(any::<u8>(), 0..40), 0usize..5000),
            1..12,
        )
    ) {
        let mut s = subsystem();
        let ctrls = [A1, A2, B1, C1];
        for (bytes, admin, c, out, in_len) in cmds {
            let q = if admin { Queue::Admin } else { Queue::Io };
            let mut data_in = vec![0u8; in_len];
            let cid = u16::from_le_bytes([bytes[2], bytes[3]]);
            match s.submit(ctrls[c], q, &bytes, &out, &mut data_in).unwrap() {
                Submitted::Completed(done) => {
                    prop_assert_eq!(done.cid, cid);
                    let dw3 = done.dw3(true);
                    prop_assert_eq!(CqeDw3::parse(dw3).status, done.status);
                    // Success or a status with DNR, except path errors and
                    // a completed event request.
                    if !done.status.is_success() {
                        prop_assert!(done.status.dnr() || done.status.code().is_path_related(),
                            "{:?}", done.status.code());
                    }
                }
                Submitted::Deferred { cid: held } => {
                    prop_assert!(admin && bytes[0] == admin_opcode::ASYNC_EVENT_REQUEST);
                    prop_assert_eq!(held, cid);
                }
            }
            while let Some(ev) = s.poll_event() {
                if let TargetEvent::AsyncCompletion { completion, .. } = ev {
                    prop_assert!(completion.status.is_success());
                }
            }
        }
    }

    #[test]
    fn report_matches_truth_after_random_reservation_commands(
        ops in prop::collection::vec((0usize..3, 0u8..4, 0u8..3, 0u64..3, 0u64..3, 1u8..7), 1..30)
    ) {
        let mut s = subsystem();
        let ctrls = [A1, B1, C1];
        for (who, op, action, k1, k2, rtype) in ops {
            let opcode = [
                io_opcode::RESERVATION_REGISTER,
                io_opcode::RESERVATION_ACQUIRE,
                io_opcode::RESERVATION_RELEASE,
                io_opcode::RESERVATION_REGISTER,
            ][usize::from(op)];
            let mut data = [0u8; 16];
            data[..8].copy_from_slice(&k1.to_le_bytes());
            data[8..].copy_from_slice(&k2.to_le_bytes());
            let e = SubmissionEntry {
                opcode,
                cid: 1,
                nsid: NS1,
                cdw: [u32::from(action) | u32::from(rtype) << 8, 0, 0, 0, 0, 0],
                ..Default::default()
            };
            let c = run(&mut s, ctrls[who], Queue::Io, &e, &data, &mut []);
            prop_assert!(matches!(
                code(&c),
                StatusCode::SUCCESS | StatusCode::RESERVATION_CONFLICT | StatusCode::INVALID_FIELD
            ), "{:?}", code(&c));
            let truth = s.reservation_state(NS1).unwrap().clone();
            let (rc, buf) = report(&mut s, B1, NS1, 4096, false);
            ok(&rc);
            let r = ResvReport::new_checked(&buf[..], Format::Regular).unwrap();
            prop_assert_eq!(r.header().generation, truth.generation());
            prop_assert_eq!(r.header().rtype, truth.reservation().map(|h| h.rtype));
            for reg in truth.registrants() {
                let listed = r.find_host(&reg.host.to_report_bytes());
                prop_assert_eq!(listed.map(|l| l.rkey), Some(reg.key));
                prop_assert_eq!(listed.map(|l| l.holds_reservation), Some(truth.is_holder(reg.host)));
            }
            // A reservation never outlives every registration.
            prop_assert!(truth.reservation().is_none() || !truth.registrants().is_empty());
        }
    }
}
