//! What the adapter exports report and keep: activation, failed and probe
//! results, the commands they keep and forget, settling unmapped actions,
//! the configuration they fit, and the codes going out.

use super::nvme::{nvme_lab, NvmeLab};
use super::scsi::{probe, refresh, scsi_lab, ScsiLab};
use super::*;
use crate::adapter::*;
use crate::errno::*;
use crate::nvme::*;
use crate::nvme_wire::*;
use crate::scsi::*;
use crate::scsi_wire::*;
use mpath_core::{PathId, ProbeResult};
use mpath_nvme::ana::AnaState;
use mpath_nvme::command::LogPurpose;
use mpath_nvme::log_page::GetLogPage;
use mpath_nvme::NvmeCommand;
use mpath_scsi::AluaState;

fn lost_scsi(tag: u64) -> MpathScsiResponse {
    MpathScsiResponse {
        tag,
        transport: MpathScsiTransport::NoConnect.code(),
        ..MpathScsiResponse::default()
    }
}

#[test]
fn an_activation_is_set_target_port_groups() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    l.clear_unit_attentions();
    l.drive(MS);
    let activate = MpathAction {
        kind: MpathActionKind::ActivateGroup.code(),
        group: 1,
        path: l.paths[0],
        ..MpathAction::default()
    };
    let cmd = l.map(&activate).unwrap();
    assert_eq!(cmd.kind, MpathScsiCommandKind::ActivateGroup.code());
    assert_eq!(
        (cmd.cdb[0], cmd.cdb[1] & 0x1f),
        (0xa4, 0x0a),
        "MAINTENANCE OUT, STPG"
    );
    assert_eq!(
        (cmd.data_out_len, cmd.direction),
        (8, MpathDataDirection::ToDevice.code())
    );
    // The target accepts it; the device, which asked for no activation,
    // refuses the result, and that is what comes back.
    let done = l.round_trip(cmd, 2 * MS);
    let a = done.last().unwrap();
    assert_eq!(
        (a.kind, a.result),
        (MpathAppliedKind::Failed.code(), -EPROTO)
    );
}

/// A command that failed is a result, not a refusal: applied (the device
/// told its refresh failed, the command answered), the reason in
/// `result`. A probe that could not be delivered finds the path down.
#[test]
fn failed_commands_are_reported_with_their_errno() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    l.clear_unit_attentions();
    let cmd = l.map(&refresh(l.paths[0])).unwrap();
    let (rc, a, _) = l.apply(&lost_scsi(cmd.tag), MS);
    assert_eq!((rc, a.kind), (0, MpathAppliedKind::Failed.code()));
    assert_eq!(a.result, -ENOLINK, "a path error");
    assert_eq!(l.pending(), 0);
    let cmd = l.map(&probe(l.paths[0])).unwrap();
    let (rc, a, _) = l.apply(&lost_scsi(cmd.tag), MS);
    assert_eq!((rc, a.kind), (0, MpathAppliedKind::Probe.code()));
    assert_eq!(a.probe, MpathProbeResult::Down.code());

    let mut n = nvme_lab(&[AnaState::Optimized]);
    let cmd = n.map(&probe(n.paths[0])).unwrap();
    assert_eq!(cmd.kind, MpathNvmeCommandKind::Probe.code());
    assert_eq!(cmd.path, n.paths[0]);
    let lost = MpathNvmeResponse {
        tag: cmd.tag,
        delivery: MpathNvmeDelivery::ConnectionLost.code(),
        ..MpathNvmeResponse::default()
    };
    let (rc, a, _) = n.apply(&lost, MS);
    assert_eq!(
        (rc, a.kind, a.probe),
        (
            0,
            MpathAppliedKind::Probe.code(),
            MpathProbeResult::Down.code()
        )
    );
}

/// A command whose path the device no longer has is refused before the
/// adapter runs, and stays pending for C to cancel.
#[test]
fn a_response_on_a_path_the_device_removed_is_refused_and_kept() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    let cmd = l.map(&probe(l.paths[0])).unwrap();
    assert_eq!(mpath_remove_path(Some(l.r.dev), l.paths[0], MS), 0);
    let (rc, _, _) = l.apply(&lost_scsi(cmd.tag), MS);
    assert_eq!((rc, l.pending()), (-ESTALE, 1));
    assert_eq!(mpath_scsi_cancel(Some(l.ad), cmd.tag), 0);
    assert_eq!(mpath_scsi_cancel(Some(l.ad), cmd.tag), -EPROTO);
    assert_eq!(l.pending(), 0);

    let mut n = nvme_lab(&[AnaState::Optimized]);
    let cmd = n.map(&probe(n.paths[0])).unwrap();
    assert_eq!(nvme_pending(&n), 1);
    assert_eq!(mpath_remove_path(Some(n.r.dev), n.paths[0], MS), 0);
    let resp = MpathNvmeResponse {
        tag: cmd.tag,
        ..MpathNvmeResponse::default()
    };
    assert_eq!(n.apply(&resp, MS).0, -ESTALE);
    assert_eq!(mpath_nvme_cancel(Some(n.ad), cmd.tag), 0);
    assert_eq!(mpath_nvme_cancel(Some(n.ad), cmd.tag), -EPROTO);
    assert_eq!(nvme_pending(&n), 0);
}

fn nvme_pending(n: &NvmeLab) -> u32 {
    let mut k = u32::MAX;
    assert_eq!(mpath_nvme_pending(Some(n.ad), Some(&mut k)), 0);
    k
}

/// Removing a path forgets the commands sent on it, and only those.
#[test]
fn removing_a_path_forgets_its_commands_only() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1, 1]);
    let (p, q) = (l.paths[0], l.paths[1]);
    let on_p = l.map(&probe(p)).unwrap();
    l.map(&probe(q)).unwrap();
    assert_eq!(mpath_scsi_remove_path(Some(l.ad), Some(l.r.dev), q, MS), 0);
    assert_eq!(l.pending(), 1);
    assert!(
        l.apply(&lost_scsi(on_p.tag), MS).0 >= 0,
        "p's command is still there"
    );

    let mut n = nvme_lab(&[AnaState::Optimized, AnaState::Optimized]);
    let (p, q) = (n.paths[0], n.paths[1]);
    let on_p = n.map(&probe(p)).unwrap();
    n.map(&probe(q)).unwrap();
    assert_eq!(mpath_nvme_remove_path(Some(n.ad), Some(n.r.dev), q, MS), 0);
    assert_eq!(nvme_pending(&n), 1);
    let resp = MpathNvmeResponse {
        tag: on_p.tag,
        delivery: MpathNvmeDelivery::Timeout.code(),
        ..MpathNvmeResponse::default()
    };
    assert!(n.apply(&resp, MS).0 >= 0);
}

/// What cannot be mapped is settled with the device, which refuses an
/// answer it does not await.
#[test]
fn unmapped_actions_are_settled_with_the_device() {
    let n = nvme_lab(&[AnaState::Optimized]);
    let activate = MpathAction {
        kind: MpathActionKind::ActivateGroup.code(),
        path: n.paths[0],
        ..MpathAction::default()
    };
    let mut c = MpathNvmeCommand::default();
    assert_eq!(
        mpath_nvme_map_action(Some(n.ad), Some(&activate), Some(&mut c)),
        -EOPNOTSUPP
    );
    let rc = mpath_nvme_settle_unmapped(Some(n.ad), Some(n.r.dev), Some(&activate), MS);
    assert_eq!(rc, -EPROTO, "no activation was pending");
    let mv = MpathAction {
        kind: MpathActionKind::Reservation.code(),
        path: n.paths[0],
        pr: crate::reservation::MpathPrAction {
            via: n.paths[0],
            command: MpathPrCommand::RegisterAndMove.code(),
            ..Default::default()
        },
        ..MpathAction::default()
    };
    assert_eq!(
        mpath_nvme_map_action(Some(n.ad), Some(&mv), Some(&mut c)),
        -EOPNOTSUPP
    );
    let rc = mpath_nvme_settle_unmapped(Some(n.ad), Some(n.r.dev), Some(&mv), MS);
    assert_eq!(rc, -EPROTO, "no reservation answer was awaited");

    let l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    let mut s = MpathScsiCommand::default();
    let rc = mpath_scsi_map_action(
        Some(l.ad),
        Some(l.r.dev),
        Some(&mv_on(&mv, l.paths[0])),
        Some(&mut s),
    );
    assert_eq!(rc, -ENOENT, "no REGISTER AND MOVE destination");
    let rc =
        mpath_scsi_settle_unmapped(Some(l.ad), Some(l.r.dev), Some(&mv_on(&mv, l.paths[0])), MS);
    assert_eq!(rc, -EPROTO);
    assert_eq!(l.pending(), 0);
}

fn mv_on(a: &MpathAction, p: u32) -> MpathAction {
    let mut a = *a;
    a.path = p;
    a.pr.via = p;
    a
}

/// The SCSI configuration follows TPGS: without explicit ALUA, no SET
/// TARGET PORT GROUPS.
#[test]
fn the_scsi_configuration_follows_tpgs() {
    let l: ScsiLab = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    let mut id = l.ids[0];
    id.inquiry[5] = (id.inquiry[5] & !0x30) | 0x10; // TPGS 01b: implicit only
    let mut cfg = default_config();
    cfg.access.protocol = MpathAccessProtocol::Ana.code();
    cfg.access.explicit_activation = 1;
    assert_eq!(mpath_scsi_core_config(Some(&id), Some(&mut cfg)), 0);
    assert_eq!(cfg.access.protocol, MpathAccessProtocol::Alua.code());
    assert_eq!(cfg.access.explicit_activation, 0);
    let mut cfg = default_config();
    cfg.access.explicit_activation = 1;
    assert_eq!(mpath_nvme_core_config(Some(&mut cfg)), 0);
    assert_eq!(cfg.access.explicit_activation, 0);
}

/// A controller whose whole ANA log does not fit a data-in buffer is
/// refused.
#[test]
fn an_ana_log_longer_than_the_data_in_buffer_is_refused() {
    let n = nvme_lab(&[AnaState::Optimized]);
    let mut id = *n.ids[0];
    id.controller[516..520].copy_from_slice(&20_000u32.to_le_bytes()); // NN
    let mut out = 0;
    let not_read = MpathAnaState::NotRead.code();
    let rc = mpath_nvme_add_path(
        Some(n.ad),
        Some(n.r.dev),
        Some(&id),
        not_read,
        0,
        MS,
        Some(&mut out),
    );
    assert_eq!(rc, -ENOSPC);
}

#[test]
fn codes_going_out_round_trip_their_tables() {
    for code in 0..5 {
        let p = MpathProbeResult::from_code(code).unwrap();
        assert_eq!(MpathProbeResult::of(p.to_core()), code);
    }
    assert_eq!(
        MpathProbeResult::of(ProbeResult::Ghost),
        MpathProbeResult::Ghost.code()
    );
    for code in 0..3 {
        let a = MpathActivationResult::from_code(code).unwrap();
        assert_eq!(MpathActivationResult::of(a.to_core()), code);
    }
    let states = [
        (MpathAnaState::NotRead, None),
        (MpathAnaState::Optimized, Some(AnaState::Optimized)),
        (MpathAnaState::NonOptimized, Some(AnaState::NonOptimized)),
        (MpathAnaState::Inaccessible, Some(AnaState::Inaccessible)),
        (
            MpathAnaState::PersistentLoss,
            Some(AnaState::PersistentLoss),
        ),
        (MpathAnaState::Change, Some(AnaState::Change)),
    ];
    for (code, state) in states {
        assert_eq!(code.to_nvme(), state);
    }
    assert_eq!(MPATH_ADAPTER_MAX_PENDING, 256, "the ABI's figure");
}

#[test]
fn nvme_commands_go_out_with_their_kind_queue_and_path() {
    let path = PathId::from_raw(0x1_0003);
    let log = |purpose| NvmeCommand::GetLogPage {
        path,
        purpose,
        cmd: GetLogPage::ana(4096, false).unwrap(),
    };
    let cases = [
        (log(LogPurpose::AnaProbe), MpathNvmeCommandKind::Probe),
        (
            log(LogPurpose::AnaRefresh),
            MpathNvmeCommandKind::RefreshAccessState,
        ),
        (
            log(LogPurpose::ReservationNotification),
            MpathNvmeCommandKind::ReservationNotification,
        ),
        (
            log(LogPurpose::ChangedNamespaceList),
            MpathNvmeCommandKind::ChangedNamespaceList,
        ),
        (
            NvmeCommand::ResetController { path, cntlid: 4 },
            MpathNvmeCommandKind::ResetController,
        ),
    ];
    for (cmd, kind) in cases {
        let c = MpathNvmeCommand::of(&cmd, 4, 77);
        assert_eq!(
            (c.kind, c.path, c.tag, c.cntlid),
            (kind.code(), path.to_raw(), 77, 4)
        );
        assert_eq!(c.queue, MpathNvmeQueue::Admin.code());
    }
    let reset = MpathNvmeCommand::of(&NvmeCommand::ResetController { path, cntlid: 4 }, 4, 1);
    assert_eq!(
        (reset.sqe, reset.direction),
        ([0; 64], MpathDataDirection::None.code())
    );
}
