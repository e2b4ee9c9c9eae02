//! The SCSI adapter through the C ABI, against the simulator's SPC-4
//! logical unit: every command goes out as the CDB and parameter-list
//! bytes `mpath_scsi_map_action` gave, and every answer comes back as the
//! STATUS, sense and data-in bytes the logical unit wrote.

use super::*;
use crate::adapter::*;
use crate::scsi::*;
use crate::scsi_wire::*;
use core::ffi::c_int;
use mpath_scsi::{cdb, vpd::page, AluaState, RwParams, TransportId, TransportStatus};
use mpath_sim::scsi_target::{LogicalUnit, LuConfig, Nexus};

/// The reservation key these tests register.
pub(super) const KEY: u64 = 0x5c51_0001;

/// A logical unit, a device with one path per target port, and the
/// device's SCSI adapter.
pub(super) struct ScsiLab {
    pub lu: LogicalUnit,
    /// Each path's I_T nexus, by path index.
    pub nexus: Vec<Nexus>,
    /// What each path said about itself.
    pub ids: Vec<MpathScsiIdentity>,
    pub r: Rig,
    pub ad: &'static mut MpathScsiAdapter,
    pub paths: Vec<u32>,
    /// The data-in buffer every response comes back in.
    pub data: Box<MpathDataIn>,
}

/// What `drive` did.
#[derive(Default, Debug)]
pub(super) struct Driven {
    pub actions: Vec<MpathAction>,
    pub commands: Vec<MpathScsiCommand>,
    pub applied: Vec<MpathApplied>,
    pub events: Vec<MpathEvent>,
}

/// Standard INQUIRY and VPD page 83h through `n`, as an initiator reads
/// them during discovery.
pub(super) fn identify(lu: &mut LogicalUnit, n: Nexus) -> MpathScsiIdentity {
    let mut id = MpathScsiIdentity::default();
    let r = lu
        .command(n, &cdb::inquiry(96), &[], &mut id.inquiry[..96])
        .unwrap();
    id.inquiry_len = r.data_in_len as u32;
    let vpd = cdb::inquiry_vpd(page::DEVICE_IDENTIFICATION, 252);
    let r = lu.command(n, &vpd, &[], &mut id.vpd83[..252]).unwrap();
    id.vpd83_len = r.data_in_len as u32;
    id
}

/// Target port `i + 1` in group `ports[i]`, one logged-in nexus and one
/// path each, added through the adapter from the INQUIRY and VPD page 83h
/// the logical unit answered.
pub(super) fn scsi_lab(groups: &[(u16, AluaState)], ports: &[u16]) -> ScsiLab {
    let spec = |i: usize| MpathPathSpec {
        nexus: i as u32 + 1,
        relative_throughput: 1,
        ..MpathPathSpec::default()
    };
    scsi_lab_with(LuConfig::default(), groups, ports, |_| {}, spec)
}

/// `scsi_lab` over a logical unit configured as `lu_cfg`, the device's
/// configuration changed by `tweak` after `mpath_scsi_core_config`, and
/// path `i` added with `spec(i)`.
pub(super) fn scsi_lab_with(
    lu_cfg: LuConfig,
    groups: &[(u16, AluaState)],
    ports: &[u16],
    tweak: impl FnOnce(&mut MpathConfig),
    spec: impl Fn(usize) -> MpathPathSpec,
) -> ScsiLab {
    let mut lu = LogicalUnit::new(lu_cfg);
    for &(g, s) in groups {
        lu.add_target_port_group(g, s).unwrap();
    }
    let mut nexus = Vec::new();
    for (i, &g) in ports.iter().enumerate() {
        let rtpi = i as u16 + 1;
        lu.add_target_port(rtpi, g).unwrap();
        let isid = format!("{:012x}", 0x4000_0000_0000u64 + i as u64);
        let tid = TransportId::Iscsi {
            name: b"iqn.2026-12.org.mpath:ffi",
            isid: Some(isid.as_bytes()),
        };
        let n = Nexus::new(lu.add_initiator(&tid).unwrap(), rtpi);
        lu.login(n).unwrap();
        nexus.push(n);
    }
    let ids: Vec<_> = nexus.iter().map(|&n| identify(&mut lu, n)).collect();
    let mut cfg = default_config();
    assert_eq!(mpath_scsi_core_config(Some(&ids[0]), Some(&mut cfg)), 0);
    assert_eq!(cfg.access.protocol, MpathAccessProtocol::Alua.code());
    tweak(&mut cfg);
    let r = rig_with(&cfg, MpathRegistrationScope::Nexus);
    let mut err = 0;
    let ad = mpath_scsi_init(
        Some(mem()),
        Some(&ids[0]),
        MpathRegistrationScope::Nexus.code(),
        0,
        Some(&mut err),
    )
    .unwrap();
    assert_eq!(err, 0);
    let mut paths = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let spec = spec(i);
        let mut p = 0;
        let port = i as u32 + 1;
        assert_eq!(
            mpath_scsi_add_path(
                Some(ad),
                Some(r.dev),
                Some(id),
                Some(&spec),
                port,
                0,
                Some(&mut p)
            ),
            0
        );
        paths.push(p);
    }
    ScsiLab {
        lu,
        nexus,
        ids,
        r,
        ad,
        paths,
        data: Box::new(MpathDataIn {
            bytes: [0; MPATH_DATA_IN_MAX],
        }),
    }
}

/// A response as the logical unit gave it.
pub(super) fn response(tag: u64, a: &mpath_sim::scsi_target::Response) -> MpathScsiResponse {
    let mut r = MpathScsiResponse {
        tag,
        status: a.status.code(),
        data_in_len: a.data_in_len as u32,
        ..MpathScsiResponse::default()
    };
    if let Some(s) = a.sense() {
        r.sense[..s.len()].copy_from_slice(s);
        r.sense_len = s.len() as u32;
    }
    r
}

impl ScsiLab {
    pub fn index(&self, path: u32) -> usize {
        self.paths.iter().position(|&p| p == path).unwrap()
    }

    /// Send `cmd` on its path's nexus, its data-in into `self.data`.
    pub fn exec(&mut self, cmd: &MpathScsiCommand) -> MpathScsiResponse {
        let n = self.nexus[self.index(cmd.path)];
        let cdb = &cmd.cdb[..cmd.cdb_len as usize];
        let out = &cmd.data_out[..cmd.data_out_len as usize];
        let data_in = &mut self.data.bytes[..cmd.data_in_len as usize];
        match self.lu.command(n, cdb, out, data_in) {
            Ok(a) => response(cmd.tag, &a),
            Err(_) => MpathScsiResponse {
                tag: cmd.tag,
                transport: MpathScsiTransport::NoConnect.code(),
                ..MpathScsiResponse::default()
            },
        }
    }

    /// Apply `resp`: the return code, what was done, and the command to
    /// send next.
    pub fn apply(
        &mut self,
        resp: &MpathScsiResponse,
        now: u64,
    ) -> (c_int, MpathApplied, MpathScsiCommand) {
        let (mut a, mut next) = (MpathApplied::default(), MpathScsiCommand::default());
        let rc = mpath_scsi_apply(
            Some(self.ad),
            Some(self.r.dev),
            Some(resp),
            Some(&*self.data),
            now,
            Some(&mut a),
            Some(&mut next),
        );
        (rc, a, next)
    }

    /// Send `cmd` and every command sent in its place; what each apply did.
    pub fn round_trip(&mut self, cmd: MpathScsiCommand, now: u64) -> Vec<MpathApplied> {
        let mut cmd = cmd;
        let mut done = Vec::new();
        for _ in 0..10 {
            let resp = self.exec(&cmd);
            let (rc, a, next) = self.apply(&resp, now);
            done.push(a);
            match rc {
                0 => return done,
                1 => cmd = next,
                rc => panic!("apply: {rc} for {cmd:?}"),
            }
        }
        panic!("no end to the commands: {done:?}")
    }

    /// The command for an action: `Some` for `1`, `None` for `0`.
    pub fn map(&mut self, a: &MpathAction) -> Option<MpathScsiCommand> {
        let mut cmd = MpathScsiCommand::default();
        match mpath_scsi_map_action(Some(self.ad), Some(self.r.dev), Some(a), Some(&mut cmd)) {
            1 => Some(cmd),
            0 => None,
            rc => panic!("map_action: {rc} for {a:?}"),
        }
    }

    /// Consume the unit attentions waiting on every nexus, as an
    /// initiator's TEST UNIT READY after login does, outside the adapter.
    pub fn clear_unit_attentions(&mut self) {
        for &n in &self.nexus {
            for _ in 0..8 {
                let r = self.lu.command(n, &[0u8; 6], &[], &mut []).unwrap();
                if r.sense().is_none() {
                    break;
                }
            }
        }
    }

    /// Carry out every action at `now` as C would: transport commands
    /// through the adapter and the logical unit, dispatched I/O completed
    /// successfully. Then drain the events.
    pub fn drive(&mut self, now: u64) -> Driven {
        let mut d = Driven::default();
        let slot = ticket();
        let mut a = MpathAction::default();
        for _ in 0..100 {
            match mpath_poll_action(Some(self.r.dev), Some(&mut a), Some(slot)) {
                0 => break,
                1 => {}
                rc => panic!("poll_action: {rc}"),
            }
            d.actions.push(a);
            if a.kind == MpathActionKind::Dispatch.code() {
                complete_dispatched(&mut self.r, slot, now);
                continue;
            }
            let mut cmd = MpathScsiCommand::default();
            match mpath_scsi_map_action(Some(self.ad), Some(self.r.dev), Some(&a), Some(&mut cmd)) {
                1 => {
                    d.commands.push(cmd);
                    let done = self.round_trip(cmd, now);
                    d.applied.extend(done);
                }
                0 => {}
                _ => assert_eq!(
                    mpath_scsi_settle_unmapped(Some(self.ad), Some(self.r.dev), Some(&a), now),
                    0
                ),
            }
        }
        let mut e = MpathEvent::default();
        while mpath_poll_event(Some(self.r.dev), Some(&mut e)) == 1 {
            d.events.push(e);
        }
        d
    }

    pub fn group_access(&self, group: u32) -> MpathGroupAccess {
        let mut g = MpathGroupAccess::default();
        assert_eq!(mpath_group_access(Some(self.r.dev), group, Some(&mut g)), 1);
        g
    }

    pub fn pending(&self) -> u32 {
        let mut n = u32::MAX;
        assert_eq!(mpath_scsi_pending(Some(self.ad), Some(&mut n)), 0);
        n
    }
}

pub(super) fn probe(path: u32) -> MpathAction {
    MpathAction {
        kind: MpathActionKind::Probe.code(),
        path,
        ..MpathAction::default()
    }
}

pub(super) fn refresh(via: u32) -> MpathAction {
    MpathAction {
        kind: MpathActionKind::RefreshAccessState.code(),
        path: via,
        ..MpathAction::default()
    }
}

/// Fixed-format sense data (SPC-4 4.5.3) with a sense key and ASC/ASCQ.
pub(super) fn fixed_sense(key: u8, asc: u8, ascq: u8) -> MpathScsiResponse {
    let mut r = MpathScsiResponse {
        status: 0x02,
        sense_len: 18,
        ..MpathScsiResponse::default()
    };
    r.sense[..18].copy_from_slice(&[
        0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0,
    ]);
    r
}

/// A probe is a TEST UNIT READY; the unit attention a fresh login leaves
/// makes the adapter send it again at once (multipathd's TUR checker), and
/// the GOOD that follows is the probe's result.
#[test]
fn a_probe_is_a_test_unit_ready_sent_again_after_the_login_unit_attention() {
    let mut l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    let p = l.paths[0];
    let cmd = l.map(&probe(p)).unwrap();
    assert_eq!(cmd.kind, MpathScsiCommandKind::Probe.code());
    assert_eq!((cmd.path, cmd.cdb_len), (p, 6));
    assert_eq!(cmd.cdb[..6], [0; 6], "TEST UNIT READY");
    assert_eq!(cmd.direction, MpathDataDirection::None.code());
    assert_eq!((cmd.data_out_len, cmd.data_in_len), (0, 0));
    assert_eq!(l.pending(), 1);

    let resp = l.exec(&cmd);
    assert_eq!(resp.status, 0x02, "CHECK CONDITION");
    assert_eq!(
        (resp.sense[2] & 0x0f, resp.sense[12]),
        (0x06, 0x29),
        "POWER ON, RESET"
    );
    let (rc, a, next) = l.apply(&resp, MS);
    assert_eq!(rc, 1);
    assert_eq!(a.kind, MpathAppliedKind::ProbeAgain.code());
    assert_eq!((&next.cdb[..6], next.path), (&[0u8; 6][..], p));
    assert_ne!(next.tag, cmd.tag);
    // The answered command is gone: its tag names nothing now.
    assert_eq!(l.apply(&resp, MS).0, -crate::errno::EPROTO);
    assert_eq!(l.pending(), 1);

    let last = *l.round_trip(next, MS).last().unwrap();
    assert_eq!(last.kind, MpathAppliedKind::Probe.code());
    assert_eq!(last.probe, MpathProbeResult::Up.code());
    assert_eq!(l.pending(), 0);
}

/// REPORT TARGET PORT GROUPS, as the device asks for it for paths added
/// without a state and again after the target changed the states: each
/// group's state in the answer reaches the device.
#[test]
fn a_report_target_port_groups_read_changes_a_groups_access_state() {
    let (opt, sby) = (AluaState::ActiveOptimized, AluaState::Standby);
    let mut l = scsi_lab(&[(1, opt), (2, sby)], &[1, 2]);
    l.clear_unit_attentions();
    let d = l.drive(MS);
    let rtpg = d
        .commands
        .iter()
        .find(|c| c.kind == MpathScsiCommandKind::RefreshAccessState.code())
        .expect("the device asks for the states of paths added without them");
    assert_eq!(
        (rtpg.cdb[0], rtpg.cdb[1] & 0x1f),
        (0xa3, 0x0a),
        "MAINTENANCE IN, RTPG"
    );
    assert_eq!(rtpg.direction, MpathDataDirection::FromDevice.code());
    assert_eq!(
        rtpg.data_in_len, 128,
        "scsi_dh_alua's first allocation length"
    );
    assert_eq!(l.group_access(1).state, MpathAccessState::Optimized.code());
    assert_eq!(l.group_access(2).state, MpathAccessState::Standby.code());

    l.lu.set_group_state(1, sby).unwrap();
    l.lu.set_group_state(2, opt).unwrap();
    l.clear_unit_attentions();
    let cmd = l.map(&refresh(l.paths[1])).unwrap();
    let done = l.round_trip(cmd, 2 * MS);
    let last = done.last().unwrap();
    assert_eq!(last.kind, MpathAppliedKind::Refresh.code());
    assert_eq!((last.count, last.result), (2, 0));
    assert_eq!(l.group_access(1).state, MpathAccessState::Standby.code());
    assert_eq!(l.group_access(2).state, MpathAccessState::Optimized.code());
    assert_eq!(l.pending(), 0);
}

/// A READ that meets the unit attention of an ALUA state change: CHECK
/// CONDITION, 06/2A/06. Classified through the adapter it is a retry that
/// carries the access-state notice, exactly as `classify_io` reads the same
/// bytes; handed to the device, the I/O goes again and the device asks for
/// the states.
#[test]
fn an_io_unit_attention_is_classified_as_the_adapter_does_and_reaches_the_device() {
    let opt = AluaState::ActiveOptimized;
    let mut l = scsi_lab(&[(1, opt)], &[1, 1]);
    l.clear_unit_attentions();
    l.drive(MS);
    let slot = ticket();
    let mut disp = MpathDisposition::default();
    let read = io(7, MpathIoKind::Read);
    let rc = mpath_submit(
        Some(l.r.dev),
        Some(&read),
        2 * MS,
        Some(&mut disp),
        Some(slot),
    );
    assert_eq!((rc, disp.kind), (0, MpathDispositionKind::Dispatch.code()));
    let p = ticket_path(slot);

    l.lu.set_group_state(1, AluaState::ActiveNonOptimized)
        .unwrap();
    let cdb = cdb::read16(&RwParams::new(0, 8)).unwrap();
    let mut buf = std::vec![0u8; 4096];
    let n = l.nexus[l.index(p)];
    let answer = l.lu.command(n, &cdb, &[], &mut buf).unwrap();
    let resp = response(0, &answer);
    assert_eq!(
        (resp.sense[2] & 0x0f, resp.sense[12], resp.sense[13]),
        (6, 0x2a, 0x06)
    );

    let mut c = MpathCompletion::default();
    assert_eq!(
        mpath_scsi_classify_completion(Some(l.ad), p, Some(&resp), Some(&mut c)),
        0
    );
    let want = mpath_scsi::classify_io(TransportStatus::Ok, 0x02, answer.sense());
    assert_eq!(c, MpathCompletion::of(&want));
    assert_eq!(c.outcome, MpathOutcome::Retry.code());
    assert_eq!(c.detail, MpathRetryReason::UnitAttention.code());
    assert_ne!(c.notices & notice::ACCESS_STATE_CHANGED, 0);

    let rc = mpath_handle_completion(Some(l.r.dev), Some(slot), Some(&c), 2 * MS, Some(&mut disp));
    assert_eq!(rc, 0);
    assert_ne!(
        disp.kind,
        MpathDispositionKind::Done.code(),
        "retried, not failed"
    );
    let mut a = MpathAction::default();
    let other = ticket();
    let mut asked = false;
    while mpath_poll_action(Some(l.r.dev), Some(&mut a), Some(other)) == 1 {
        asked |= a.kind == MpathActionKind::RefreshAccessState.code();
    }
    assert!(asked, "the notice makes the device re-read the states");
}

/// Hand-built answers through the classifier: each as `classify_io` takes
/// the same bytes, and the outcome the SCSI world expects.
#[test]
fn io_completions_classify_by_status_and_sense() {
    let l = scsi_lab(&[(1, AluaState::ActiveOptimized)], &[1]);
    let p = l.paths[0];
    let status = |s: u8| MpathScsiResponse {
        status: s,
        ..MpathScsiResponse::default()
    };
    let lost = MpathScsiResponse {
        transport: MpathScsiTransport::NoConnect.code(),
        ..MpathScsiResponse::default()
    };
    let cases = [
        (status(0x00), MpathOutcome::Success, 0),
        (
            status(0x08),
            MpathOutcome::Retry,
            MpathRetryReason::Busy.code(),
        ),
        (status(0x18), MpathOutcome::ReservationConflict, 0),
        (
            lost,
            MpathOutcome::PathError,
            MpathPathError::Transport.code(),
        ),
        (
            fixed_sense(0x02, 0x04, 0x0a),
            MpathOutcome::PathError,
            MpathPathError::Transitioning.code(),
        ),
        (
            fixed_sense(0x03, 0x11, 0x00),
            MpathOutcome::TargetError,
            MpathTargetError::Medium.code(),
        ),
    ];
    for (resp, outcome, detail) in cases {
        let mut c = MpathCompletion::default();
        assert_eq!(
            mpath_scsi_classify_completion(Some(l.ad), p, Some(&resp), Some(&mut c)),
            0
        );
        let transport = MpathScsiTransport::from_code(resp.transport)
            .unwrap()
            .to_core();
        let sense = (resp.sense_len != 0).then(|| &resp.sense[..resp.sense_len as usize]);
        let want = mpath_scsi::classify_io(transport, resp.status, sense);
        assert_eq!(c, MpathCompletion::of(&want), "{resp:?}");
        assert_eq!((c.outcome, c.detail), (outcome.code(), detail), "{resp:?}");
    }
}

/// A REGISTER goes out as PERSISTENT RESERVE OUT, REGISTER AND IGNORE
/// EXISTING KEY, with the key in the parameter list, on every path; the
/// first send meets a unit attention and goes again; the GOOD answers
/// reach the device, whose operation finishes with both paths
/// registered, as the logical unit holds them.
#[test]
fn a_register_round_trips_as_persistent_reserve_out() {
    let opt = AluaState::ActiveOptimized;
    let mut l = scsi_lab(&[(1, opt)], &[1, 1]);
    l.clear_unit_attentions();
    l.drive(MS);
    // A state change leaves a unit attention on every nexus.
    l.lu.set_group_state(1, AluaState::ActiveNonOptimized)
        .unwrap();

    let op = register_op(KEY);
    assert_eq!(mpath_reservation(Some(l.r.dev), Some(&op), 2 * MS), 0);
    let d = l.drive(2 * MS);
    let registers: Vec<_> = d
        .commands
        .iter()
        .filter(|c| c.kind == MpathScsiCommandKind::Reservation.code() && c.cdb[0] == 0x5f)
        .collect();
    assert_eq!(registers.len(), 2, "one per path: {:?}", d.commands);
    for c in registers {
        assert_eq!(
            (c.cdb[0], c.cdb[1] & 0x1f),
            (0x5f, 0x06),
            "PR OUT, REGISTER AND IGNORE"
        );
        assert_eq!(c.direction, MpathDataDirection::ToDevice.code());
        assert_eq!(c.data_out_len, 24);
        assert_eq!(
            c.data_out[8..16],
            KEY.to_be_bytes(),
            "SERVICE ACTION RESERVATION KEY"
        );
        assert_eq!(&c.cdb[5..9], &24u32.to_be_bytes(), "PARAMETER LIST LENGTH");
    }
    let resent = d
        .applied
        .iter()
        .filter(|a| a.kind == MpathAppliedKind::ReservationResend.code())
        .count();
    assert_eq!(resent, 2, "each first send met the unit attention");
    assert!(d
        .applied
        .iter()
        .any(|a| a.kind == MpathAppliedKind::ReservationResend.code()
            && a.notices & notice::ACCESS_STATE_CHANGED != 0));
    // The resend's notice reached the device, which re-reads the states.
    assert!(d
        .commands
        .iter()
        .any(|c| c.kind == MpathScsiCommandKind::RefreshAccessState.code()));
    let answers: Vec<_> = d
        .applied
        .iter()
        .filter(|a| a.kind == MpathAppliedKind::Reservation.code())
        .collect();
    // Both REGISTERs answered GOOD; the READ KEYS the device checks with
    // counts our key on both nexuses.
    let done = MpathPrReplyKind::Done.code();
    assert_eq!(answers.iter().filter(|a| a.pr.kind == done).count(), 2);
    let keys = answers
        .iter()
        .find(|a| a.pr.kind == MpathPrReplyKind::Keys.code())
        .expect("READ KEYS");
    assert_eq!((keys.pr.ours, keys.pr.total, keys.result), (2, 2, 0));
    let finished = d
        .events
        .iter()
        .find(|e| e.kind == MpathEventKind::Reservation.code())
        .expect("the operation finished");
    assert_eq!(finished.pr.result, 0);
    assert_eq!(finished.pr.report.registered.count_ones(), 2);
    for &n in &l.nexus {
        assert_eq!(l.lu.registered_key(n), Some(KEY));
    }
    assert_eq!(l.pending(), 0);
}
