//! The NVMe adapter through the C ABI, against the simulator's NVM
//! subsystem: every command goes out as the 64-byte submission queue
//! entry `mpath_nvme_map_action` built, and every answer comes back as the
//! completion's Dword 3 and the log page bytes the controller wrote.

use super::*;
use crate::adapter::*;
use crate::nvme::*;
use crate::nvme_wire::*;
use core::ffi::c_int;
use mpath_nvme::ana::AnaState;
use mpath_nvme::classify::{classify, Delivery};
use mpath_nvme::identify::{IdentifyControllerRepr, Nqn};
use mpath_nvme::status::Status;
use mpath_sim::nvme_target::admin::cns;
use mpath_sim::nvme_target::{
    HostConfig, HostIdentifier, NamespaceConfig, Queue, SubmissionEntry, Submitted, Subsystem,
    SubsystemConfig,
};

pub(super) const NSID: u32 = 1;
const GROUP: u32 = 1;
pub(super) const HOST: HostIdentifier = HostIdentifier::Short(*b"ffi-host");
const KEY: u64 = 0x4e56_0001;

/// A subsystem whose namespace 1 is in ANA group 1, a controller of our
/// host per path, a device, and the device's NVMe adapter.
pub(super) struct NvmeLab {
    pub sub: Subsystem,
    pub cntlids: Vec<u16>,
    pub r: Rig,
    pub ad: &'static mut MpathNvmeAdapter,
    pub paths: Vec<u32>,
    pub ids: Vec<Box<MpathNvmeIdentify>>,
    pub data: Box<MpathDataIn>,
}

pub(super) fn subsystem(nqn: &[u8], states: &[AnaState]) -> Subsystem {
    let mut sub = Subsystem::new(SubsystemConfig::new(Nqn::new(nqn).unwrap()));
    sub.add_ana_group(GROUP).unwrap();
    sub.add_namespace(NamespaceConfig {
        nsid: NSID,
        blocks: 1 << 16,
        block_size: 512,
        anagrpid: GROUP,
    })
    .unwrap();
    sub.add_host(HostConfig {
        nqn: Nqn::new(b"nqn.2026-12.org.mpath:ffi-host").unwrap(),
        hostid: HOST,
    })
    .unwrap();
    for (i, &s) in states.iter().enumerate() {
        let c = i as u16 + 1;
        sub.add_controller(c, HOST).unwrap();
        sub.set_ana_state(c, GROUP, s).unwrap();
        sub.reset_controller(c).unwrap();
    }
    while sub.poll_event().is_some() {}
    sub
}

fn admin(sub: &mut Subsystem, c: u16, e: &SubmissionEntry, data: &mut [u8]) {
    match sub.submit(c, Queue::Admin, &e.to_bytes(), &[], data) {
        Ok(Submitted::Completed(cq)) => assert!(cq.status.is_success()),
        other => panic!("{other:?}"),
    }
}

/// Identify Controller and Namespace through controller `c`.
pub(super) fn identify(sub: &mut Subsystem, c: u16) -> Box<MpathNvmeIdentify> {
    let mut id = Box::new(MpathNvmeIdentify::default());
    admin(
        sub,
        c,
        &SubmissionEntry::identify(1, cns::CONTROLLER, 0),
        &mut id.controller,
    );
    admin(
        sub,
        c,
        &SubmissionEntry::identify(2, cns::NAMESPACE, NSID),
        &mut id.namespace,
    );
    id
}

/// Controllers `1..=states.len()`, each reporting `states[i]` for the
/// namespace's group; their paths added without a state.
pub(super) fn nvme_lab(states: &[AnaState]) -> NvmeLab {
    let mut sub = subsystem(b"nqn.2026-12.org.mpath:ffi", states);
    let cntlids: Vec<u16> = (1..=states.len() as u16).collect();
    let ids: Vec<_> = cntlids.iter().map(|&c| identify(&mut sub, c)).collect();
    let mut cfg = default_config();
    assert_eq!(mpath_nvme_core_config(Some(&mut cfg)), 0);
    assert_eq!(cfg.access.protocol, MpathAccessProtocol::Ana.code());
    let r = rig_with(&cfg, MpathRegistrationScope::Host);
    let mut err = 0;
    let host = HOST.to_report_bytes();
    let ad = mpath_nvme_init(
        Some(mem()),
        Some(&ids[0]),
        NSID,
        MpathCptpl::NoChange.code(),
        Some(&host),
        Some(&mut err),
    )
    .unwrap();
    let mut paths = Vec::new();
    for id in &ids {
        let mut p = 0;
        let not_read = MpathAnaState::NotRead.code();
        let rc = mpath_nvme_add_path(
            Some(ad),
            Some(r.dev),
            Some(id),
            not_read,
            0,
            0,
            Some(&mut p),
        );
        assert_eq!(rc, 0);
        paths.push(p);
    }
    NvmeLab {
        sub,
        cntlids,
        r,
        ad,
        paths,
        ids,
        data: Box::new(MpathDataIn {
            bytes: [0; MPATH_DATA_IN_MAX],
        }),
    }
}

/// Completion Dword 3 as a controller writes it: the status field above
/// the phase tag (set here: the adapter must not read it), the CID below.
pub(super) fn dw3(status: Status, cid: u16) -> u32 {
    u32::from(status.field()) << 17 | 1 << 16 | u32::from(cid)
}

impl NvmeLab {
    /// Submit `cmd` to its controller (or reset it), data-in into
    /// `self.data`.
    pub fn exec(&mut self, cmd: &MpathNvmeCommand) -> MpathNvmeResponse {
        let mut resp = MpathNvmeResponse {
            tag: cmd.tag,
            ..MpathNvmeResponse::default()
        };
        if cmd.kind == MpathNvmeCommandKind::ResetController.code() {
            self.sub.reset_controller(cmd.cntlid).unwrap();
            return resp;
        }
        let queue = match MpathNvmeQueue::from_code(cmd.queue).unwrap() {
            MpathNvmeQueue::Admin => Queue::Admin,
            MpathNvmeQueue::Io => Queue::Io,
        };
        let out = &cmd.data_out[..cmd.data_out_len as usize];
        let len = cmd.data_in_len as usize;
        match self.sub.submit(
            cmd.cntlid,
            queue,
            &cmd.sqe,
            out,
            &mut self.data.bytes[..len],
        ) {
            Ok(Submitted::Completed(c)) => {
                resp.dw3 = dw3(c.status, c.cid);
                resp.data_in_len = cmd.data_in_len;
            }
            other => panic!("{other:?}"),
        }
        resp
    }

    pub fn apply(
        &mut self,
        resp: &MpathNvmeResponse,
        now: u64,
    ) -> (c_int, MpathApplied, MpathNvmeCommand) {
        let (mut a, mut next) = (MpathApplied::default(), MpathNvmeCommand::default());
        let rc = mpath_nvme_apply(
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

    pub fn round_trip(&mut self, cmd: MpathNvmeCommand, now: u64) -> Vec<MpathApplied> {
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

    pub fn map(&mut self, a: &MpathAction) -> Option<MpathNvmeCommand> {
        let mut cmd = MpathNvmeCommand::default();
        match mpath_nvme_map_action(Some(self.ad), Some(a), Some(&mut cmd)) {
            1 => Some(cmd),
            0 => None,
            rc => panic!("map_action: {rc} for {a:?}"),
        }
    }

    /// Carry out every action at `now`, as the SCSI lab does; the
    /// commands sent and what applying their answers did.
    pub fn drive(&mut self, now: u64) -> (Vec<MpathNvmeCommand>, Vec<MpathApplied>) {
        let (mut sent, mut applied) = (Vec::new(), Vec::new());
        let slot = ticket();
        let mut a = MpathAction::default();
        for _ in 0..100 {
            match mpath_poll_action(Some(self.r.dev), Some(&mut a), Some(slot)) {
                0 => break,
                1 => {}
                rc => panic!("poll_action: {rc}"),
            }
            if a.kind == MpathActionKind::Dispatch.code() {
                complete_dispatched(&mut self.r, slot, now);
                continue;
            }
            let mut cmd = MpathNvmeCommand::default();
            match mpath_nvme_map_action(Some(self.ad), Some(&a), Some(&mut cmd)) {
                1 => {
                    sent.push(cmd);
                    applied.extend(self.round_trip(cmd, now));
                }
                0 => {}
                _ => assert_eq!(
                    mpath_nvme_settle_unmapped(Some(self.ad), Some(self.r.dev), Some(&a), now),
                    0
                ),
            }
        }
        let mut e = MpathEvent::default();
        while mpath_poll_event(Some(self.r.dev), Some(&mut e)) == 1 {}
        (sent, applied)
    }

    pub fn tier(&self, i: usize) -> u32 {
        tier_of(&self.r, self.paths[i])
    }
}

/// The ANA log, as the device asks for it for paths added without a state
/// and again after a controller changed the group's state: Get Log Page
/// (LID 0Ch) on the admin queue, and the states in the page reach the
/// device per controller.
#[test]
fn an_ana_log_read_gives_each_controller_its_state() {
    let mut l = nvme_lab(&[AnaState::Optimized, AnaState::Inaccessible]);
    let (sent, applied) = l.drive(MS);
    let log = sent
        .iter()
        .find(|c| c.kind == MpathNvmeCommandKind::RefreshAccessState.code())
        .expect("the device reads the ANA log of paths added without a state");
    assert_eq!(log.sqe[0], 0x02, "Get Log Page");
    assert_eq!(
        log.sqe[4..8],
        NSID_ALL,
        "controller-wide, as Linux reads it"
    );
    assert_eq!(log.sqe[40], 0x0c, "LID: ANA");
    assert_eq!(log.sqe[2..4], [0, 0], "the CID is the host driver's");
    assert_eq!(log.queue, MpathNvmeQueue::Admin.code());
    assert_eq!(log.direction, MpathDataDirection::FromDevice.code());
    assert!(log.data_in_len > 0 && log.data_in_len as usize <= MPATH_DATA_IN_MAX);
    let numdl = u32::from_le_bytes(log.sqe[40..44].try_into().unwrap()) >> 16;
    assert_eq!((numdl + 1) * 4, log.data_in_len, "NUMDL, 0's based dwords");
    assert!(applied
        .iter()
        .any(|a| a.kind == MpathAppliedKind::Refresh.code()));
    let usable = |t| t != MpathTier::Ineligible.code() && t != MpathTier::None.code();
    assert!(usable(l.tier(0)));
    assert!(!usable(l.tier(1)), "ANA inaccessible carries no I/O");

    // Controller 2 reports the group optimized now.
    l.sub.set_ana_state(2, GROUP, AnaState::Optimized).unwrap();
    while l.sub.poll_event().is_some() {}
    let read = MpathAction {
        kind: MpathActionKind::RefreshAccessState.code(),
        path: l.paths[1],
        ..MpathAction::default()
    };
    let cmd = l.map(&read).unwrap();
    assert_eq!((cmd.cntlid, cmd.path), (2, l.paths[1]));
    let done = l.round_trip(cmd, 2 * MS);
    assert_eq!(done.last().unwrap().kind, MpathAppliedKind::Refresh.code());
    assert_eq!(done.last().unwrap().count, 1, "one path on that controller");
    assert_eq!(l.tier(1), l.tier(0));
}

const NSID_ALL: [u8; 4] = [0xff; 4];

/// A Read through a controller whose group is inaccessible completes with
/// ANA Inaccessible (SCT 3h, SC 02h): through the adapter it is a path
/// error that denies access, as `classify` takes the same status with the
/// controller's retry delays; handed to the device, the I/O fails over.
#[test]
fn an_io_completion_with_an_ana_status_fails_over() {
    let mut l = nvme_lab(&[AnaState::Optimized, AnaState::Optimized]);
    l.drive(MS);
    let slot = ticket();
    let mut disp = MpathDisposition::default();
    let read = io(9, MpathIoKind::Read);
    assert_eq!(
        mpath_submit(
            Some(l.r.dev),
            Some(&read),
            2 * MS,
            Some(&mut disp),
            Some(slot)
        ),
        0
    );
    let p = ticket_path(slot);
    let i = l.paths.iter().position(|&x| x == p).unwrap();
    let c = l.cntlids[i];
    l.sub
        .set_ana_state(c, GROUP, AnaState::Inaccessible)
        .unwrap();
    let e = SubmissionEntry::read(0x21, NSID, 0, 7);
    let mut buf = std::vec![0u8; 4096];
    let Ok(Submitted::Completed(cq)) = l.sub.submit(c, Queue::Io, &e.to_bytes(), &[], &mut buf)
    else {
        panic!("no completion")
    };
    assert_eq!(
        (cq.status.sct(), cq.status.sc()),
        (3, 0x02),
        "ANA Inaccessible"
    );
    let resp = MpathNvmeResponse {
        dw3: dw3(cq.status, cq.cid),
        ..MpathNvmeResponse::default()
    };
    let mut got = MpathCompletion::default();
    assert_eq!(
        mpath_nvme_classify_completion(Some(l.ad), p, Some(&resp), Some(&mut got)),
        0
    );
    let crdt = IdentifyControllerRepr::parse(&l.ids[i].controller)
        .unwrap()
        .crdt;
    let want = classify(Delivery::Completed(cq.status), &crdt);
    assert_eq!(got, MpathCompletion::of(&want));
    assert_eq!(got.outcome, MpathOutcome::PathError.code());
    assert_eq!(got.detail, MpathPathError::AccessDenied.code());

    let rc = mpath_handle_completion(
        Some(l.r.dev),
        Some(slot),
        Some(&got),
        2 * MS,
        Some(&mut disp),
    );
    assert_eq!(rc, 0);
    assert_eq!(disp.kind, MpathDispositionKind::Dispatch.code());
    assert_ne!(disp.path, p, "sent again on the other controller");
    assert_eq!(l.tier(i), MpathTier::Ineligible.code());
}

/// A REGISTER goes out as Reservation Register (I/O opcode 0Dh) with the
/// new key in its data, once: NVMe registrations are the host's. The
/// subsystem then holds our key for the host.
#[test]
fn a_register_round_trips_as_reservation_register() {
    let mut l = nvme_lab(&[AnaState::Optimized, AnaState::Optimized]);
    l.drive(MS);
    assert_eq!(
        mpath_reservation(Some(l.r.dev), Some(&register_op(KEY)), 2 * MS),
        0
    );
    let (sent, applied) = l.drive(2 * MS);
    let reg: Vec<_> = sent.iter().filter(|c| c.sqe[0] == 0x0d).collect();
    assert_eq!(reg.len(), 1, "host-scoped: one registration");
    assert_eq!(reg[0].queue, MpathNvmeQueue::Io.code());
    assert_eq!(reg[0].kind, MpathNvmeCommandKind::Reservation.code());
    assert_eq!(reg[0].sqe[4..8], NSID.to_le_bytes());
    assert_eq!(reg[0].data_out_len, 16);
    assert_eq!(reg[0].data_out[8..16], KEY.to_le_bytes(), "NRKEY");
    assert!(applied
        .iter()
        .any(|a| a.kind == MpathAppliedKind::Reservation.code()
            && a.pr.kind == MpathPrReplyKind::Done.code()));
    // The Reservation Report the device checks with: our key on the
    // host's two controllers, and it is this host's (its Host Identifier
    // was given at init).
    let keys = applied
        .iter()
        .find(|a| a.pr.kind == MpathPrReplyKind::Keys.code())
        .expect("a Reservation Report");
    assert_eq!((keys.pr.ours, keys.pr.total, keys.pr.here), (2, 2, 2));
    let held = l.sub.reservation_state(NSID).and_then(|r| r.key_of(HOST));
    assert_eq!(held, Some(KEY));
    let mut key = 0;
    assert_eq!(mpath_pr_key(Some(l.r.dev), Some(&mut key)), 1);
    assert_eq!(key, KEY);
}
