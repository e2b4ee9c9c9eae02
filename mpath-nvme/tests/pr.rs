//! The core's PR coordinator over NVMe reservation commands, against a model
//! namespace with host-scoped registrations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mpath_core::reservation::*;
use mpath_core::{Action, Config, DataPlane, Device, DeviceError, DeviceEvent, Instant, PathId};
use mpath_nvme::ana::AnaState;
use mpath_nvme::classify::Delivery;
use mpath_nvme::identify::{
    Anacap, Cmic, Crdt, IdentifyControllerRepr, IdentifyNamespaceRepr, Nmic, Nqn, Oncs, Rescap,
    Version,
};
use mpath_nvme::pr::{core_type, nvme_type, PrStep};
use mpath_nvme::reservation::{AcquireAction, RegisterAction, ReleaseAction, ReservationType};
use mpath_nvme::resv_report::{Format, RegisteredController, ResvReportHeader, ResvReportRepr};
use mpath_nvme::status::{Status, StatusCode};
use mpath_nvme::{
    AdapterError, NsIdentity, NvmeAdapter, NvmeCommand, NvmePath, NvmeResponse, REGISTRATION_SCOPE,
};

const OURS: u64 = 0xA1;
const THEIRS: u64 = 0xB2;
const HOST_A: u8 = 0xAA;
const HOST_B: u8 = 0xBB;

/// A namespace: registrations and the reservation belong to hosts.
#[derive(Default)]
struct Namespace {
    regs: Vec<(u8, u64)>,
    resv: Option<(u8, ReservationType)>,
    down: Vec<PathId>,
    sent: Vec<NvmeCommand>,
}

fn ok() -> Delivery {
    Delivery::Completed(Status::SUCCESS)
}
fn conflict() -> Delivery {
    Delivery::Completed(Status::new(StatusCode::RESERVATION_CONFLICT))
}

impl Namespace {
    fn key(&self, host: u8) -> Option<u64> {
        self.regs.iter().find(|r| r.0 == host).map(|r| r.1)
    }
    fn exec(&mut self, host: u8, cmd: &NvmeCommand) -> (Delivery, Vec<u8>) {
        if self.down.contains(&cmd.path()) {
            return (Delivery::ConnectionLost, Vec::new());
        }
        self.sent.push(*cmd);
        let reg = self.key(host);
        match *cmd {
            NvmeCommand::ReservationRegister { cmd: c, .. } => match c.action {
                RegisterAction::Register if reg.is_some_and(|k| k != c.nrkey) => {
                    (conflict(), vec![])
                }
                RegisterAction::Register => {
                    self.regs.retain(|r| r.0 != host);
                    self.regs.push((host, c.nrkey));
                    (ok(), vec![])
                }
                RegisterAction::Replace if reg.is_none() => (conflict(), vec![]),
                RegisterAction::Replace if !c.iekey && reg != Some(c.crkey) => (conflict(), vec![]),
                RegisterAction::Replace => {
                    self.regs.retain(|r| r.0 != host);
                    self.regs.push((host, c.nrkey));
                    (ok(), vec![])
                }
                RegisterAction::Unregister => {
                    self.regs.retain(|r| r.0 != host);
                    if self.resv.is_some_and(|r| r.0 == host) {
                        self.resv = None;
                    }
                    (ok(), vec![])
                }
            },
            NvmeCommand::ReservationAcquire { cmd: c, .. } => {
                if reg != Some(c.crkey) {
                    return (conflict(), vec![]);
                }
                match c.action {
                    AcquireAction::Acquire => match self.resv {
                        Some((h, _)) if h != host => (conflict(), vec![]),
                        _ => {
                            self.resv = Some((host, c.rtype));
                            (ok(), vec![])
                        }
                    },
                    AcquireAction::Preempt | AcquireAction::PreemptAndAbort => {
                        let victim_hosts: Vec<u8> = self
                            .regs
                            .iter()
                            .filter(|r| r.1 == c.prkey && r.0 != host)
                            .map(|r| r.0)
                            .collect();
                        self.regs.retain(|r| !victim_hosts.contains(&r.0));
                        self.resv = Some((host, c.rtype));
                        (ok(), vec![])
                    }
                }
            }
            NvmeCommand::ReservationRelease { cmd: c, .. } => {
                if reg != Some(c.crkey) {
                    return (conflict(), vec![]);
                }
                match c.action {
                    ReleaseAction::Release => {
                        if self.resv.is_some_and(|r| r.0 == host) {
                            self.resv = None;
                        }
                    }
                    ReleaseAction::Clear => {
                        self.regs.clear();
                        self.resv = None;
                    }
                }
                (ok(), vec![])
            }
            NvmeCommand::ReservationReport { .. } => {
                let regs: Vec<RegisteredController> = self
                    .regs
                    .iter()
                    .map(|&(h, k)| RegisteredController {
                        cntlid: 0xFFFF,
                        holds_reservation: self.resv.is_some_and(|r| r.0 == h),
                        hostid: {
                            // Regular format: 64-bit host identifiers.
                            let mut id = [0u8; 16];
                            id[..8].fill(h);
                            id
                        },
                        rkey: k,
                    })
                    .collect();
                let repr = ResvReportRepr {
                    format: Format::Regular,
                    header: ResvReportHeader {
                        generation: 1,
                        rtype: self.resv.map(|r| r.1),
                        regctl: regs.len() as u16,
                        ptpls: false,
                    },
                    registrants: &regs,
                };
                let mut buf = vec![0; repr.buffer_len()];
                repr.emit(&mut buf).unwrap();
                // The controller transfers what NUMD asked for, no more;
                // REGCTL still counts every registrant.
                buf.truncate(cmd.data_in_len() as usize);
                (ok(), buf)
            }
            _ => panic!("not a reservation command: {cmd:?}"),
        }
    }
}

fn nvme_path(cntlid: u16) -> NvmePath {
    let ctrl = IdentifyControllerRepr {
        cmic: Cmic::MULTI_PORT | Cmic::MULTI_CONTROLLER | Cmic::ANA_REPORTING,
        cntlid,
        ver: Version::from_u32(0x0002_0000),
        crdt: Crdt([0; 3]),
        nn: 16,
        oncs: Oncs::RESERVATIONS,
        mnan: 0,
        anatt: 10,
        anacap: Anacap::all(),
        anagrpmax: 8,
        nanagrpid: 8,
        subnqn: Some(Nqn::new(b"nqn.2014-08.org.example:subsys").unwrap()),
    };
    let ns = IdentifyNamespaceRepr {
        nsze: 1 << 20,
        ncap: 1 << 20,
        nuse: 0,
        nmic: Nmic::SHARED,
        rescap: Rescap::all(),
        anagrpid: 1,
    };
    NvmePath::from_identify(&ctrl, &ns, 1).unwrap()
}

/// The device (controller and coordinator behind one door), the adapter
/// beside it, and the model namespace.
struct Rig {
    ad: NvmeAdapter<8>,
    d: Device<DataPlane<8>, 8>,
    ns: Namespace,
    paths: Vec<PathId>,
    now: Instant,
}

impl Rig {
    fn new() -> Self {
        let cfg = NvmeAdapter::<8>::core_config(Config::DEFAULT);
        let mut d = Device::new(DataPlane::new(), cfg, REGISTRATION_SCOPE).unwrap();
        let mut ad = NvmeAdapter::new(
            NsIdentity::new(Nqn::new(b"nqn.2014-08.org.example:subsys").unwrap(), 1).unwrap(),
        );
        let t0 = Instant::from_nanos(0);
        // The ANA state as discovery read it: a controller whose state is
        // not known yet is taken as inaccessible, and carries no
        // reservation command until its ANA log is read.
        let paths = [1, 2]
            .map(|cntlid| {
                ad.add_path(&mut d, &nvme_path(cntlid), Some(AnaState::Optimized), t0)
                    .unwrap()
            })
            .to_vec();
        Rig {
            ad,
            d,
            ns: Namespace::default(),
            paths,
            now: t0,
        }
    }

    /// Carry out every reservation command the device has (the other
    /// actions, ANA reads and probes, are not this test's subject), and
    /// return the reservation events.
    fn run(&mut self) -> Vec<PrEvent> {
        while let Some(action) = self.d.poll_action() {
            let Action::Reservation(a) = action else {
                continue;
            };
            let mut cmd = self.ad.pr_command(&a).unwrap();
            let reply = loop {
                let (delivery, data) = self.ns.exec(HOST_A, &cmd);
                let resp = NvmeResponse {
                    delivery,
                    data_in: &data,
                };
                let decoded = self.ad.pr_reply(&cmd, &resp).unwrap();
                assert_eq!(decoded.data_error, None, "{decoded:?}");
                match decoded.step {
                    PrStep::Answer(answer) => break answer.reply(self.d.coordinator().key()),
                    PrStep::Resend(next) => cmd = next,
                }
            };
            self.d
                .handle_reservation_reply(a.via, reply, self.now)
                .unwrap();
        }
        let mut ev = Vec::new();
        while let Some(e) = self.d.poll_event() {
            if let DeviceEvent::Reservation(e) = e {
                ev.push(e);
            }
        }
        ev
    }

    fn op(&mut self, op: PrOp) -> Result<PrReport, PrError> {
        self.d.reservation(op, self.now).unwrap();
        self.run()
            .into_iter()
            .find_map(|e| match e {
                PrEvent::Finished { op: o, result } if o == op => Some(result),
                _ => None,
            })
            .unwrap()
    }
}

#[test]
fn types_map_both_ways() {
    for t in ReservationType::ALL {
        assert_eq!(nvme_type(core_type(t)), t);
    }
}

#[test]
fn host_scoped_register_once_and_replace_an_old_key() {
    let mut r = Rig::new();
    // The host is still registered with an old key from a previous life.
    r.ns.regs.push((HOST_A, 0x99));
    let rep = r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(rep.registered.count_ones(), 2, "both controllers admitted");
    assert_eq!(r.ns.key(HOST_A), Some(OURS));
    let registers: Vec<_> =
        r.ns.sent
            .iter()
            .filter_map(|c| match c {
                NvmeCommand::ReservationRegister { cmd, .. } => Some(cmd.action),
                _ => None,
            })
            .collect();
    assert_eq!(
        registers,
        [RegisterAction::Register, RegisterAction::Replace],
        "one registration for the host, replacing the stale key"
    );
    for &p in &r.paths {
        assert!(r.d.coordinator().admitted(p));
    }
}

#[test]
fn reserve_fails_over_and_release_checks_the_holder() {
    let mut r = Rig::new();
    r.op(PrOp::Register(OURS)).unwrap();
    r.ns.down.push(r.paths[0]);
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    assert_eq!(
        r.ns.resv,
        Some((HOST_A, ReservationType::WriteExclusiveRegistrantsOnly))
    );
    assert_eq!(
        r.d.coordinator().holder(),
        None,
        "NVMe: the host holds it, no nexus to move"
    );
    let rep = r.op(PrOp::ReadReservation).unwrap();
    assert_eq!(
        rep.reservation,
        Some((OURS, PrType::WriteExclusiveRegistrantsOnly))
    );
    r.op(PrOp::Release).unwrap();
    assert_eq!(r.ns.resv, None);
}

#[test]
fn another_host_preempts_and_we_are_fenced() {
    let mut r = Rig::new();
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::ExclusiveAccessRegistrantsOnly))
        .unwrap();
    r.ns.regs.push((HOST_B, THEIRS));
    let b = NvmeCommand::ReservationAcquire {
        path: r.paths[0],
        nsid: 1,
        cmd: mpath_nvme::reservation::ReservationAcquire {
            action: AcquireAction::Preempt,
            iekey: false,
            rtype: ReservationType::ExclusiveAccessRegistrantsOnly,
            crkey: THEIRS,
            prkey: OURS,
        },
        pr: None,
    };
    let (d, _) = r.ns.exec(HOST_B, &b);
    assert_eq!(d, ok());
    r.d.handle_notices(
        r.paths[1],
        mpath_core::Notices::REGISTRATIONS_PREEMPTED,
        r.now,
    )
    .unwrap();
    let ev = r.run();
    assert!(ev.contains(&PrEvent::Fenced));
    assert!(!r.d.coordinator().admitted(r.paths[0]));
    // Clearing needs a registration; we have none: the target says conflict.
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Clear).unwrap();
    assert!(r.ns.regs.is_empty() && r.ns.resv.is_none());
}

/// More registrants than the first report has room for: counting only
/// those that fitted would under-count, so the report is asked again with
/// room for all of them.
#[test]
fn a_report_cut_short_is_asked_again_with_room_for_every_registrant() {
    let mut r = Rig::new();
    r.op(PrOp::Register(OURS)).unwrap();
    // 70 other hosts registered before us in the list: ours is cut off.
    let others: Vec<(u8, u64)> = (0..70u8).map(|h| (h, THEIRS)).collect();
    r.ns.regs.splice(0..0, others);
    let before = r.ns.sent.len();
    let rep = r.op(PrOp::ReadKeys).unwrap();
    assert_eq!(rep.keys, Some((1, 71)));
    let lens: Vec<u64> = r.ns.sent[before..]
        .iter()
        .map(NvmeCommand::data_in_len)
        .collect();
    assert_eq!(lens, [u64::from(mpath_nvme::pr::REPORT_LEN), 24 + 71 * 24]);
}

/// A successful completion whose data cannot be used is answered
/// `Refused`, with the reason; a retry status fails the path; a command
/// not built for the coordinator is refused.
#[test]
fn unusable_responses_are_answers_with_their_reason() {
    use mpath_nvme::{AdapterError, CommandKind, PrAnswer};
    let r = Rig::new();
    let via = r.paths[0];
    let read =
        r.ad.pr_command(&PrAction {
            via,
            command: PrCommand::ReadKeys,
        })
        .unwrap();
    let d = r.ad.pr_reply(&read, &NvmeResponse::good(&[0; 8])).unwrap();
    assert_eq!(d.step, PrStep::Answer(PrAnswer::Refused));
    assert!(matches!(
        d.data_error,
        Some(AdapterError::Wire(mpath_nvme::Error::Truncated { .. }))
    ));
    let register =
        r.ad.pr_command(&PrAction {
            via,
            command: PrCommand::Register { key: OURS },
        })
        .unwrap();
    let d =
        r.ad.pr_reply(&register, &NvmeResponse::good(&[1; 4]))
            .unwrap();
    assert_eq!(d.reply(Some(OURS)), Some(PrReply::Refused));
    assert_eq!(
        d.data_error,
        Some(AdapterError::UnexpectedData {
            command: CommandKind::Reservation { opcode: 0x0D },
            len: 4,
            allowed: 0
        })
    );
    let busy = Delivery::Completed(Status::new(StatusCode::NAMESPACE_NOT_READY));
    let d =
        r.ad.pr_reply(&register, &NvmeResponse::delivery(busy))
            .unwrap();
    assert_eq!(d.reply(Some(OURS)), Some(PrReply::PathFailed));
    let unknown = PathId::from_raw(0x0009_0001);
    assert_eq!(
        r.ad.pr_command(&PrAction {
            via: unknown,
            command: PrCommand::ReadKeys,
        }),
        Err(AdapterError::UnknownPath(unknown))
    );
}

/// NVMe has no REGISTER AND MOVE: with host-scoped registrations no nexus
/// holds the reservation, so the device refuses the move before anything
/// is sent, and the adapter refuses the command itself with a typed
/// error, building nothing.
#[test]
fn register_and_move_is_refused_before_anything_is_sent() {
    let mut r = Rig::new();
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    assert_eq!(
        r.d.coordinator().reservation(),
        Some(PrType::WriteExclusive)
    );
    assert_eq!(
        r.d.reservation_move_to(b"nqn.2014-08.org.example:host-b", 1, THEIRS, r.now),
        Err(DeviceError::Reservation(PrError::NotHolder))
    );
    assert!(r.d.poll_action().is_none());
    let a = PrAction {
        via: r.paths[0],
        command: PrCommand::RegisterAndMove {
            key: OURS,
            dest_key: THEIRS,
            rtype: PrType::WriteExclusive,
            relative_target_port: 1,
        },
    };
    assert_eq!(
        r.ad.pr_command(&a),
        Err(AdapterError::Unsupported {
            command: "REGISTER AND MOVE"
        })
    );
}

/// Registrations are per host: the report names our host by its Host
/// Identifier, and "this path holds our key" is "our host's registrant has
/// our key" (`PrAnswer::reply_at`); without the identifier it is unknown.
#[test]
fn a_report_names_our_host_by_its_identifier() {
    let id = |h: u8| {
        let mut x = [0u8; 16];
        x[..8].copy_from_slice(&[h; 8]);
        x
    };
    let reg = |cntlid, h, rkey| RegisteredController {
        cntlid,
        holds_reservation: false,
        hostid: id(h),
        rkey,
    };
    let report = |regs: &[RegisteredController]| {
        let repr = ResvReportRepr {
            format: Format::Regular,
            header: ResvReportHeader {
                generation: 1,
                rtype: None,
                regctl: regs.len() as u16,
                ptpls: false,
            },
            registrants: regs,
        };
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        buf
    };
    let keys = |ours, total, here| PrReply::Keys { ours, total, here };
    // Ours and another host's.
    let b = report(&[reg(1, HOST_A, OURS), reg(2, HOST_B, THEIRS)]);
    let a = mpath_nvme::pr::PrAnswer::Keys(
        mpath_nvme::resv_report::ResvReport::new_checked(&b[..], Format::Regular).unwrap(),
    );
    assert_eq!(
        a.reply_at(Some(OURS), Some(&id(HOST_A))),
        keys(1, 2, Some(true))
    );
    assert_eq!(
        a.reply_at(Some(OURS), Some(&id(HOST_B))),
        keys(1, 2, Some(false))
    );
    assert_eq!(a.reply(Some(OURS)), keys(1, 2, None));
    // Another host using our key is not our registration.
    let b = report(&[reg(2, HOST_B, OURS)]);
    let a = mpath_nvme::pr::PrAnswer::Keys(
        mpath_nvme::resv_report::ResvReport::new_checked(&b[..], Format::Regular).unwrap(),
    );
    assert_eq!(
        a.reply_at(Some(OURS), Some(&id(HOST_A))),
        keys(1, 1, Some(false))
    );
}

/// Persist Through Power Loss: an adapter asked for it puts CPTPL 11b in
/// every registration of a key (and in the Replace it resends after a
/// conflict), never in an unregistration; the default leaves the field
/// 00b, the namespace's setting as the administrator left it.
#[test]
fn registrations_carry_the_persistence_the_adapter_was_given() {
    use mpath_nvme::reservation::Cptpl;
    let cptpl_of = |cmd: &NvmeCommand| match cmd {
        NvmeCommand::ReservationRegister { cmd, .. } => Some((cmd.action, cmd.cptpl)),
        _ => None,
    };
    let mut r = Rig::new();
    let via = r.paths[0];
    let command = |c| PrAction { via, command: c };
    assert_eq!(r.ad.ptpl(), Cptpl::NoChange);
    let reg =
        r.ad.pr_command(&command(PrCommand::Register { key: OURS }))
            .unwrap();
    assert_eq!(
        cptpl_of(&reg),
        Some((RegisterAction::Register, Cptpl::NoChange))
    );
    r.ad = r.ad.with_ptpl(Cptpl::Persist);
    let reg =
        r.ad.pr_command(&command(PrCommand::Register { key: OURS }))
            .unwrap();
    assert_eq!(
        cptpl_of(&reg),
        Some((RegisterAction::Register, Cptpl::Persist))
    );
    // CDW10 bits 31:30.
    assert_eq!(reg.cdws()[0] >> 30, 3);
    let unreg = r.ad.pr_command(&command(PrCommand::Unregister)).unwrap();
    assert_eq!(
        cptpl_of(&unreg),
        Some((RegisterAction::Unregister, Cptpl::NoChange))
    );
    // A key already registered: the adapter resends a Replace, which
    // keeps the persistence asked for.
    let conflict = Delivery::Completed(Status::new(StatusCode::RESERVATION_CONFLICT));
    let d =
        r.ad.pr_reply(&reg, &NvmeResponse::delivery(conflict))
            .unwrap();
    let PrStep::Resend(again) = d.step else {
        panic!("{:?}", d.step)
    };
    assert_eq!(
        cptpl_of(&again),
        Some((RegisterAction::Replace, Cptpl::Persist))
    );
}
