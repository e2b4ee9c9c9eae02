//! Bad input at the adapter exports gets an errno and changes nothing:
//! `NULL`, lengths past their buffers, codes outside their tables, stale
//! paths, responses no command awaits, time going backwards, a path to
//! another logical unit or subsystem, a full table of commands.

use super::nvme::{dw3, identify as nvme_identify, nvme_lab, subsystem, HOST, NSID};
use super::scsi::{fixed_sense, identify, probe, scsi_lab, ScsiLab};
use super::*;
use crate::adapter::*;
use crate::errno::*;
use crate::nvme::*;
use crate::nvme_wire::*;
use crate::scsi::*;
use crate::scsi_wire::*;
use core::ffi::c_int;
use mpath_nvme::ana::AnaState;
use mpath_nvme::status::Status;
use mpath_scsi::{AluaState, TransportId};
use mpath_sim::scsi_target::{LogicalUnit, LuConfig, Nexus};

fn scsi_apply(
    l: &mut ScsiLab,
    resp: &MpathScsiResponse,
    data: Option<&MpathDataIn>,
    now: u64,
) -> (c_int, MpathScsiCommand) {
    let (mut a, mut next) = (MpathApplied::default(), MpathScsiCommand::default());
    let rc = mpath_scsi_apply(
        Some(l.ad),
        Some(l.r.dev),
        Some(resp),
        data,
        now,
        Some(&mut a),
        Some(&mut next),
    );
    (rc, next)
}

/// Everything the device and the adapter hold.
fn scsi_state(l: &ScsiLab) -> String {
    format!("{}{:?}", state(&l.r), l.ad)
}

#[test]
fn scsi_refusals_change_nothing() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1, 1]);
    let (p, q) = (l.paths[0], l.paths[1]);
    let cmd = l.map(&probe(p)).unwrap();
    let good = l.exec(&cmd);
    let before = scsi_state(&l);
    let (mut a, mut next) = (MpathApplied::default(), MpathScsiCommand::default());
    let apply = |l: &mut ScsiLab, resp: &MpathScsiResponse, data: Option<&MpathDataIn>, now| {
        scsi_apply(l, resp, data, now).0
    };
    let data = Box::new(MpathDataIn {
        bytes: [0; MPATH_DATA_IN_MAX],
    });

    // NULL.
    let mut c = MpathScsiCommand::default();
    assert_eq!(
        mpath_scsi_map_action(None, Some(l.r.dev), Some(&probe(p)), Some(&mut c)),
        -EFAULT
    );
    assert_eq!(
        mpath_scsi_map_action(Some(l.ad), Some(l.r.dev), None, Some(&mut c)),
        -EFAULT
    );
    let rc = mpath_scsi_apply(
        Some(l.ad),
        Some(l.r.dev),
        None,
        None,
        MS,
        Some(&mut a),
        Some(&mut next),
    );
    assert_eq!(rc, -EFAULT);
    let with_data = MpathScsiResponse {
        data_in_len: 8,
        ..good
    };
    assert_eq!(
        apply(&mut l, &with_data, None, MS),
        -EFAULT,
        "data-in without its buffer"
    );
    let mut err = 0;
    let none = mpath_scsi_init(Some(mem()), None, 0, 0, Some(&mut err));
    assert!(none.is_none());
    assert_eq!(err, -EFAULT);

    // Lengths past their buffers.
    let long = MpathScsiResponse {
        data_in_len: MPATH_DATA_IN_MAX as u32 + 1,
        ..good
    };
    assert_eq!(apply(&mut l, &long, Some(&data), MS), -EINVAL);
    let sense = MpathScsiResponse {
        sense_len: MPATH_SCSI_SENSE_MAX as u32 + 1,
        ..good
    };
    assert_eq!(apply(&mut l, &sense, Some(&data), MS), -EINVAL);
    let mut out = 0;
    let mut id = l.ids[0];
    id.vpd83_len = MPATH_SCSI_VPD_MAX as u32 + 1;
    let spec = MpathPathSpec {
        nexus: 9,
        ..MpathPathSpec::default()
    };
    let add = |l: &mut ScsiLab, id: &MpathScsiIdentity, spec: &MpathPathSpec, out: &mut u32| {
        mpath_scsi_add_path(
            Some(l.ad),
            Some(l.r.dev),
            Some(id),
            Some(spec),
            9,
            MS,
            Some(out),
        )
    };
    assert_eq!(add(&mut l, &id, &spec, &mut out), -EINVAL);
    // A page cut short is malformed.
    id.vpd83_len = 6;
    assert_eq!(add(&mut l, &id, &spec, &mut out), -EBADMSG);
    // A group that is not the identity's.
    let other_group = MpathPathSpec { group: 7, ..spec };
    let id0 = l.ids[0];
    assert_eq!(add(&mut l, &id0, &other_group, &mut out), -EINVAL);

    // Codes outside their tables.
    let lost = MpathScsiResponse {
        transport: 7,
        ..good
    };
    assert_eq!(apply(&mut l, &lost, Some(&data), MS), -EINVAL);
    let mut cc = MpathCompletion::default();
    assert_eq!(
        mpath_scsi_classify_completion(Some(l.ad), p, Some(&lost), Some(&mut cc)),
        -EINVAL
    );
    let bad = MpathAction {
        kind: 9,
        ..probe(p)
    };
    assert_eq!(
        mpath_scsi_map_action(Some(l.ad), Some(l.r.dev), Some(&bad), Some(&mut c)),
        -EINVAL
    );
    assert!(mpath_scsi_init(Some(mem()), Some(&l.ids[0]), 3, 0, Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL, "a scope outside its table");
    let host = MpathRegistrationScope::Host.code();
    assert!(mpath_scsi_init(Some(mem()), Some(&l.ids[0]), host, 0, Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL, "no host-scoped registrations in SCSI");
    assert!(mpath_scsi_init(Some(mem()), Some(&l.ids[0]), 0, 2, Some(&mut err)).is_none());
    assert_eq!(err, -EINVAL, "a flag not 0/1");

    // A response no command awaits; time going backwards.
    let stray = MpathScsiResponse {
        tag: cmd.tag ^ 0x1_0000,
        ..good
    };
    assert_eq!(apply(&mut l, &stray, Some(&data), MS), -EPROTO);
    assert_eq!(mpath_scsi_cancel(Some(l.ad), stray.tag), -EPROTO);
    let mut now = 0;
    assert_eq!(mpath_now(Some(l.r.dev), Some(&mut now)), 0);
    let (rc, next) = scsi_apply(&mut l, &good, Some(&data), now + MS);
    assert_eq!(rc, 1, "a unit attention: again");
    let later = scsi_state(&l);
    let again = l.exec(&next);
    assert_eq!(apply(&mut l, &again, Some(&data), 0), -ERANGE);
    assert_eq!(scsi_state(&l), later);
    assert_eq!(apply(&mut l, &again, Some(&data), now + MS), 0);
    assert_ne!(scsi_state(&l), before);
    let before = scsi_state(&l);

    // A path to another logical unit.
    let mut other = LogicalUnit::new(LuConfig {
        naa: [0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        ..LuConfig::default()
    });
    other
        .add_target_port_group(1, AluaState::ActiveOptimized)
        .unwrap();
    other.add_target_port(1, 1).unwrap();
    let tid = TransportId::Iscsi {
        name: b"iqn.2026-12.org.mpath:ffi",
        isid: Some(b"400000000009"),
    };
    let n = Nexus::new(other.add_initiator(&tid).unwrap(), 1);
    other.login(n).unwrap();
    let foreign = identify(&mut other, n);
    assert_eq!(add(&mut l, &foreign, &spec, &mut out), -EXDEV);
    assert_eq!(scsi_state(&l), before);

    // A stale path: removed, its id refused everywhere.
    assert_eq!(
        mpath_scsi_remove_path(Some(l.ad), Some(l.r.dev), q, 2 * MS),
        0
    );
    let before = scsi_state(&l);
    let ua = fixed_sense(0x06, 0x29, 0x00);
    assert_eq!(
        mpath_scsi_classify_completion(Some(l.ad), q, Some(&ua), Some(&mut cc)),
        -ESTALE
    );
    assert_eq!(
        mpath_scsi_map_action(Some(l.ad), Some(l.r.dev), Some(&probe(q)), Some(&mut c)),
        -ESTALE
    );
    assert_eq!(
        mpath_scsi_remove_path(Some(l.ad), Some(l.r.dev), q, 2 * MS),
        -ESTALE
    );
    assert_eq!(scsi_state(&l), before);

    // A full table of commands awaiting a response.
    for _ in 0..MPATH_ADAPTER_MAX_PENDING {
        l.map(&probe(p)).unwrap();
    }
    assert_eq!(l.pending(), MPATH_ADAPTER_MAX_PENDING as u32);
    let full = scsi_state(&l);
    assert_eq!(
        mpath_scsi_map_action(Some(l.ad), Some(l.r.dev), Some(&probe(p)), Some(&mut c)),
        -ENOSPC
    );
    assert_eq!(scsi_state(&l), full);
    let last = l.map(&MpathAction::default());
    assert!(last.is_none(), "a dispatch is no command: no slot needed");
}

#[test]
fn nvme_refusals_change_nothing() {
    let mut l = nvme_lab(&[AnaState::Optimized, AnaState::Optimized]);
    l.drive(MS);
    let p = l.paths[0];
    let read = MpathAction {
        kind: MpathActionKind::RefreshAccessState.code(),
        path: p,
        ..MpathAction::default()
    };
    let cmd = l.map(&read).unwrap();
    let good = l.exec(&cmd);
    let st = |l: &super::nvme::NvmeLab| format!("{}{:?}", state(&l.r), l.ad);
    let before = st(&l);
    let (mut a, mut next) = (MpathApplied::default(), MpathNvmeCommand::default());
    let data = Box::new(MpathDataIn {
        bytes: [0; MPATH_DATA_IN_MAX],
    });
    let mut apply = |l: &mut super::nvme::NvmeLab, resp: &MpathNvmeResponse, now| {
        mpath_nvme_apply(
            Some(l.ad),
            Some(l.r.dev),
            Some(resp),
            Some(&data),
            now,
            Some(&mut a),
            Some(&mut next),
        )
    };

    let mut c = MpathNvmeCommand::default();
    assert_eq!(
        mpath_nvme_map_action(None, Some(&read), Some(&mut c)),
        -EFAULT
    );
    assert_eq!(
        mpath_nvme_map_action(Some(l.ad), Some(&read), None),
        -EFAULT
    );
    let long = MpathNvmeResponse {
        data_in_len: MPATH_DATA_IN_MAX as u32 + 1,
        ..good
    };
    assert_eq!(apply(&mut l, &long, 2 * MS), -EINVAL);
    let unknown = MpathNvmeResponse {
        delivery: 4,
        ..good
    };
    assert_eq!(apply(&mut l, &unknown, 2 * MS), -EINVAL);
    let mut cc = MpathCompletion::default();
    assert_eq!(
        mpath_nvme_classify_completion(Some(l.ad), p, Some(&unknown), Some(&mut cc)),
        -EINVAL
    );
    let stray = MpathNvmeResponse {
        tag: good.tag + 1,
        ..good
    };
    assert_eq!(apply(&mut l, &stray, 2 * MS), -EPROTO);
    assert_eq!(apply(&mut l, &good, 0), -ERANGE);
    let mut out = 0;
    let state5 = 5;
    let rc = mpath_nvme_add_path(
        Some(l.ad),
        Some(l.r.dev),
        Some(&l.ids[0]),
        state5,
        0,
        2 * MS,
        Some(&mut out),
    );
    assert_eq!(rc, -EINVAL, "an ANA state outside its table");
    // A controller of another subsystem reaches another namespace.
    let mut other = subsystem(b"nqn.2026-12.org.mpath:other", &[AnaState::Optimized]);
    let foreign = nvme_identify(&mut other, 1);
    let not_read = MpathAnaState::NotRead.code();
    let rc = mpath_nvme_add_path(
        Some(l.ad),
        Some(l.r.dev),
        Some(&foreign),
        not_read,
        0,
        2 * MS,
        Some(&mut out),
    );
    assert_eq!(rc, -EXDEV);
    let mut err = 0;
    let host = HOST.to_report_bytes();
    let init = |id, nsid, cptpl, err: &mut c_int| {
        mpath_nvme_init(Some(mem()), Some(id), nsid, cptpl, Some(&host), Some(err)).is_none()
    };
    assert!(init(&l.ids[0], NSID, 1, &mut err));
    assert_eq!(err, -EINVAL, "CPTPL 01b is reserved");
    assert!(init(&l.ids[0], 0, 0, &mut err));
    assert_eq!(err, -EINVAL, "NSID 0");
    assert!(init(&MpathNvmeIdentify::default(), NSID, 0, &mut err));
    assert_eq!(err, -EINVAL, "no SUBNQN");
    assert_eq!(st(&l), before);
    // Applied once, the tag is spent.
    assert_eq!(apply(&mut l, &good, 2 * MS), 0);
    assert_eq!(apply(&mut l, &good, 2 * MS), -EPROTO);

    // A stale path.
    let q = l.paths[1];
    assert_eq!(
        mpath_nvme_remove_path(Some(l.ad), Some(l.r.dev), q, 3 * MS),
        0
    );
    let before = st(&l);
    let ana = MpathNvmeResponse {
        dw3: dw3(Status::from_field(0x302), 1),
        ..MpathNvmeResponse::default()
    };
    assert_eq!(
        mpath_nvme_classify_completion(Some(l.ad), q, Some(&ana), Some(&mut cc)),
        -ESTALE
    );
    let rc = mpath_nvme_apply_aen(Some(l.ad), Some(l.r.dev), q, 0, 3 * MS, Some(&mut c));
    assert_eq!(rc, -ESTALE);
    assert_eq!(
        mpath_nvme_reconnected(Some(l.ad), Some(l.r.dev), q, 3 * MS),
        -ESTALE
    );
    assert_eq!(st(&l), before);
}
