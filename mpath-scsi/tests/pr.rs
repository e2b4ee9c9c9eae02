//! The core's reservation coordinator over PERSISTENT RESERVE OUT / IN,
//! through the SCSI adapter, against a byte-level model of an SPC-4 device
//! server: every CDB and parameter list the adapter builds is parsed with
//! this crate's parsers, and every response is emitted with its emitters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mpath_core::reservation::*;
use mpath_core::{
    AccessState, Action, Config, DataPlane, Device, DeviceEvent, GroupAccess, Instant, LinkEvent,
    NexusId, Notices, PathId, Tier,
};
use mpath_scsi::cdb::{CdbRepr, Command};
use mpath_scsi::classify::status;
use mpath_scsi::inquiry::Tpgs;
use mpath_scsi::pr_in::Reservation;
use mpath_scsi::pr_map::{core_type, PR_ATTEMPTS};
use mpath_scsi::{
    path_spec, AdapterError, CommandKind, List, PathIdentity, PrDecoded, PrInAction, PrInRepr,
    PrOptions, PrOutAction, PrOutParams, PrStep, ScsiAdapter, ScsiCommand, ScsiResponse,
    SenseFormat, SenseKey, SenseRepr,
};

const OURS: u64 = 0xA1;
const THEIRS: u64 = 0xB2;
const PORTS: u16 = 3;

/// An I_T nexus: initiator port (host) and relative target port.
type Nexus = (u8, u16);
const HOST_A: u8 = 0xA;
const HOST_B: u8 = 0xB;

/// A device server as SPC-4 5.13 describes it, keyed by I_T nexus.
#[derive(Default)]
struct Lu {
    regs: Vec<(Nexus, u64)>,
    /// Holder nexus (for the single-holder types) and TYPE.
    resv: Option<(Nexus, mpath_scsi::PrType)>,
    /// Pending unit attentions (ASC, ASCQ) per nexus.
    ua: Vec<(Nexus, u8, u8)>,
    down: Vec<Nexus>,
    /// Every command received: nexus, parsed CDB, parameter list.
    log: Vec<(Nexus, Command, Vec<u8>)>,
    generation: u32,
}

struct Reply {
    status: u8,
    sense: Vec<u8>,
    data: Vec<u8>,
}

fn good(data: Vec<u8>) -> Reply {
    Reply {
        status: status::GOOD,
        sense: Vec::new(),
        data,
    }
}

fn conflict() -> Reply {
    Reply {
        status: status::RESERVATION_CONFLICT,
        sense: Vec::new(),
        data: Vec::new(),
    }
}

fn check(key: SenseKey, asc: u8, ascq: u8) -> Reply {
    let r = SenseRepr::new(SenseFormat::Fixed, key, asc, ascq);
    let mut sense = vec![0u8; r.buffer_len()];
    r.emit(&mut sense).unwrap();
    Reply {
        status: status::CHECK_CONDITION,
        sense,
        data: Vec::new(),
    }
}

impl Lu {
    fn key(&self, n: Nexus) -> Option<u64> {
        self.regs.iter().find(|r| r.0 == n).map(|r| r.1)
    }

    fn attention(&mut self, to: impl Fn(Nexus) -> bool, asc: u8, ascq: u8) {
        let targets: Vec<Nexus> = self.regs.iter().map(|r| r.0).filter(|&n| to(n)).collect();
        for n in targets {
            self.ua.push((n, asc, ascq));
        }
    }

    fn exec(&mut self, n: Nexus, cdb: &[u8], data_out: &[u8], alloc: u32) -> Reply {
        let command = CdbRepr::parse(cdb).unwrap().command;
        self.log.push((n, command, data_out.to_vec()));
        if let Some(i) = self.ua.iter().position(|u| u.0 == n) {
            let (_, asc, ascq) = self.ua.remove(i);
            return check(SenseKey::UnitAttention, asc, ascq);
        }
        match command {
            Command::PersistentReserveOut {
                action,
                pr_type,
                param_len,
            } => {
                assert_eq!(param_len as usize, data_out.len());
                let p = PrOutParams::parse_bytes(data_out).unwrap();
                self.generation += 1;
                self.pr_out(n, action, pr_type, &p)
            }
            Command::PersistentReserveIn { action, alloc_len } => {
                assert_eq!(u32::from(alloc_len), alloc);
                let keys: Vec<u64> = self.regs.iter().map(|r| r.1).collect();
                let repr = match action {
                    PrInAction::ReadKeys => PrInRepr::ReadKeys {
                        generation: self.generation,
                        keys: List::Items(&keys),
                    },
                    PrInAction::ReadReservation => PrInRepr::ReadReservation {
                        generation: self.generation,
                        reservation: self.resv.map(|(h, t)| Reservation {
                            key: self.key(h).unwrap(),
                            pr_type: t,
                        }),
                    },
                    _ => return check(SenseKey::IllegalRequest, 0x24, 0),
                };
                let mut b = vec![0u8; repr.buffer_len()];
                repr.emit(&mut b).unwrap();
                // SPC-4 4.2.5.6: truncate to the ALLOCATION LENGTH.
                b.truncate(usize::from(alloc_len));
                good(b)
            }
            other => panic!("not a PR command: {other:?}"),
        }
    }

    fn pr_out(
        &mut self,
        n: Nexus,
        action: PrOutAction,
        pr_type: Option<mpath_scsi::PrType>,
        p: &PrOutParams<'_>,
    ) -> Reply {
        let registered = self.key(n);
        if action == PrOutAction::RegisterAndIgnoreExistingKey {
            let nexuses: Vec<Nexus> = if p.all_tg_pt {
                (1..=PORTS).map(|port| (n.0, port)).collect()
            } else {
                vec![n]
            };
            self.regs.retain(|r| !nexuses.contains(&r.0));
            if p.sa_key == 0 {
                if self.resv.is_some_and(|r| r.0 == n) {
                    self.resv = None;
                }
            } else {
                self.regs.extend(nexuses.iter().map(|&x| (x, p.sa_key)));
            }
            return good(Vec::new());
        }
        if registered != Some(p.key) {
            return conflict();
        }
        match action {
            PrOutAction::Reserve => match self.resv {
                Some((h, t)) if h == n && Some(t) == pr_type => good(Vec::new()),
                Some(_) => conflict(),
                None => {
                    self.resv = Some((n, pr_type.unwrap()));
                    good(Vec::new())
                }
            },
            PrOutAction::Release => {
                if self.resv.is_some_and(|r| r.0 == n) {
                    self.resv = None;
                }
                good(Vec::new())
            }
            PrOutAction::Clear => {
                self.attention(|x| x != n, 0x2A, 0x03);
                self.regs.clear();
                self.resv = None;
                good(Vec::new())
            }
            PrOutAction::Preempt | PrOutAction::PreemptAndAbort => {
                // SPC-4 5.13.11.4.3: drop every registration with the
                // victim key except the sender's, tell them (2A/05), and
                // take the reservation if the victim held it.
                let victim = p.sa_key;
                self.attention(|x| x != n, 0x2A, 0x05);
                self.ua
                    .retain(|u| u.0 == n || self.regs.iter().any(|r| r.0 == u.0 && r.1 == victim));
                self.regs.retain(|r| r.0 == n || r.1 != victim);
                let holder_key = self.resv.and_then(|(h, _)| self.key(h));
                if self.resv.is_none() || holder_key.is_none() || holder_key == Some(victim) {
                    self.resv = Some((n, pr_type.unwrap()));
                }
                good(Vec::new())
            }
            other => panic!("not built by the adapter: {other:?}"),
        }
    }
}

fn discover(port: u16) -> PathIdentity {
    common::identity(Tpgs::NotSupported, None, port)
}

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// The device (controller and coordinator behind one door), the adapter
/// beside it, and the model logical unit.
struct Rig {
    d: Device<DataPlane<8>, 8>,
    ad: ScsiAdapter<8>,
    lu: Lu,
    /// Path and nexus of host A's paths.
    paths: Vec<(PathId, Nexus)>,
    events: Vec<PrEvent>,
    notices: Notices,
    sent: usize,
}

impl Rig {
    fn new(opts: PrOptions) -> Self {
        let id = discover(1);
        let ad = ScsiAdapter::<8>::new(id.lu).with_pr_options(opts);
        let cfg = ScsiAdapter::<8>::core_config(Config::DEFAULT, id.tpgs);
        let d = Device::new(DataPlane::new(), cfg, ad.registration_scope()).unwrap();
        let mut r = Rig {
            d,
            ad,
            lu: Lu::default(),
            paths: Vec::new(),
            events: Vec::new(),
            notices: Notices::empty(),
            sent: 0,
        };
        for port in 1..=PORTS {
            let id = discover(port);
            let access = Some(GroupAccess::new(AccessState::Optimized));
            let spec = path_spec(&id, NexusId(u32::from(port)), access).unwrap();
            // One initiator port for every path: ALL_TG_PT covers them all.
            let p = r.ad.add_path(&mut r.d, &id, spec, 0, t(0)).unwrap();
            r.paths.push((p, (HOST_A, port)));
        }
        r
    }

    fn nexus(&self, p: PathId) -> Nexus {
        self.paths.iter().find(|x| x.0 == p).unwrap().1
    }

    fn send(&mut self, cmd: &ScsiCommand) -> Reply {
        let n = self.nexus(cmd.path());
        self.sent += 1;
        if self.lu.down.contains(&n) {
            return Reply {
                status: 0xFF,
                sense: Vec::new(),
                data: Vec::new(),
            };
        }
        self.lu
            .exec(n, cmd.cdb(), cmd.data_out(), cmd.data_in_len())
    }

    /// Carry out every action the device has: reservation commands on the
    /// model, probes answered GOOD unless the nexus is down.
    fn run(&mut self) {
        for _ in 0..200 {
            let Some(action) = self.d.poll_action() else {
                break;
            };
            let a = match action {
                Action::Reservation(a) => a,
                Action::Probe(p) => {
                    let tur = self.ad.map_action(&action).unwrap().unwrap();
                    let resp = if self.lu.down.contains(&self.nexus(p)) {
                        ScsiResponse::transport(mpath_scsi::TransportStatus::Disrupted)
                    } else {
                        ScsiResponse::GOOD
                    };
                    self.ad.apply(&mut self.d, &tur, &resp, t(1)).unwrap();
                    continue;
                }
                _ => continue,
            };
            let mut cmd = self.ad.pr_command(&a).unwrap();
            let mut notices = Notices::empty();
            let reply = loop {
                let r = self.send(&cmd);
                let down = self.lu.down.contains(&self.nexus(cmd.path()));
                let resp = if down {
                    ScsiResponse::transport(mpath_scsi::TransportStatus::Disrupted)
                } else {
                    ScsiResponse {
                        transport: mpath_scsi::TransportStatus::Ok,
                        status: r.status,
                        sense: (!r.sense.is_empty()).then_some(&r.sense[..]),
                        data_in: &r.data,
                    }
                };
                let d: PrDecoded<'_> = self.ad.pr_reply(&cmd, &resp).unwrap();
                assert_eq!(d.data_error, None, "{d:?}");
                notices |= d.notices;
                match d.step {
                    PrStep::Resend(next) => cmd = next,
                    PrStep::Answer(ans) => break ans.reply(self.d.coordinator().key()),
                }
            };
            self.d.handle_reservation_reply(a.via, reply, t(1)).unwrap();
            // After the reply: a coordinator in the middle of an operation
            // does not start a verification.
            self.notices |= notices;
            if !notices.is_empty() {
                self.d.handle_notices(a.via, notices, t(1)).unwrap();
            }
        }
        while let Some(e) = self.d.poll_event() {
            if let DeviceEvent::Reservation(e) = e {
                self.events.push(e);
            }
        }
    }

    fn op(&mut self, op: PrOp) -> Result<PrReport, PrError> {
        self.events.clear();
        self.d.reservation(op, t(1)).unwrap();
        self.run();
        self.events
            .iter()
            .find_map(|e| match e {
                PrEvent::Finished { op: o, result } if *o == op => Some(*result),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{op:?} did not finish: {:?}", self.events))
    }

    /// Parameter lists of the REGISTER AND IGNORE EXISTING KEY commands
    /// the LU received.
    fn registrations(&self) -> Vec<(Nexus, PrOutParams<'_>)> {
        self.lu
            .log
            .iter()
            .filter(|(_, c, _)| {
                matches!(
                    c,
                    Command::PersistentReserveOut {
                        action: PrOutAction::RegisterAndIgnoreExistingKey,
                        ..
                    }
                )
            })
            .map(|(n, _, p)| (*n, PrOutParams::parse_bytes(p).unwrap()))
            .collect()
    }
}

#[test]
fn per_nexus_registration_reserve_and_move_when_the_holder_dies() {
    let mut r = Rig::new(PrOptions::DEFAULT);
    let rep = r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(rep.registered.count_ones(), 3);
    let regs = r.registrations();
    assert_eq!(regs.len(), 3, "one REGISTER per nexus");
    assert!(regs
        .iter()
        .all(|(_, p)| p.sa_key == OURS && !p.all_tg_pt && !p.aptpl));
    assert_eq!(r.lu.regs.len(), 3);
    for &(p, _) in &r.paths {
        assert!(r.d.coordinator().admitted(p));
        assert_eq!(r.d.tier(p).unwrap(), Tier::Optimized);
    }

    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let (hn, t0) = r.lu.resv.unwrap();
    assert_eq!(hn, r.nexus(holder));
    assert_eq!(core_type(t0), PrType::WriteExclusiveRegistrantsOnly);
    let rep = r.op(PrOp::ReadReservation).unwrap();
    assert_eq!(
        rep.reservation,
        Some((OURS, PrType::WriteExclusiveRegistrantsOnly))
    );

    // The holder's nexus dies: the coordinator preempts its own key from a
    // live path, which becomes the holder, and re-registers the others.
    r.lu.down.push(hn);
    r.d.handle_link(holder, LinkEvent::Down, t(1)).unwrap();
    r.run();
    let new = r
        .events
        .iter()
        .find_map(|e| match e {
            PrEvent::Moved { holder } => Some(*holder),
            _ => None,
        })
        .expect("moved");
    assert_ne!(new, holder);
    assert_eq!(r.lu.resv.map(|x| x.0), Some(r.nexus(new)));
    assert_eq!(r.d.coordinator().holder(), Some(new));
    assert!(!r.d.coordinator().is_quiesced());
    let live: Vec<u64> =
        r.lu.regs
            .iter()
            .filter(|x| x.0 != hn)
            .map(|x| x.1)
            .collect();
    assert_eq!(live, [OURS, OURS], "both live nexuses registered again");
    assert!(
        r.lu.log.iter().any(|(n, c, p)| *n == r.nexus(new)
            && matches!(
                c,
                Command::PersistentReserveOut {
                    action: PrOutAction::Preempt,
                    ..
                }
            )
            && PrOutParams::parse_bytes(p).unwrap().sa_key == OURS),
        "preempted our own key"
    );
}

#[test]
fn all_tg_pt_registers_once_per_initiator_port_with_aptpl_when_asked() {
    let opts = PrOptions::new(RegistrationScope::InitiatorPort)
        .unwrap()
        .with_aptpl(true);
    let mut r = Rig::new(opts);
    assert_eq!(r.ad.registration_scope(), RegistrationScope::InitiatorPort);
    let rep = r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(rep.failed, 0);
    let regs = r.registrations();
    assert_eq!(regs.len(), 1, "one REGISTER for the initiator port");
    let (_, p) = regs[0];
    assert!(p.all_tg_pt && p.aptpl && p.sa_key == OURS);
    assert_eq!(r.lu.regs.len(), 3, "ALL_TG_PT registered every target port");
    for &(p, _) in &r.paths {
        assert!(r.d.coordinator().admitted(p));
    }
    let rep = r.op(PrOp::ReadKeys).unwrap();
    assert_eq!(rep.keys, Some((3, 3)));
}

#[test]
fn unit_attention_is_resent_and_its_notice_reaches_the_core() {
    let mut r = Rig::new(PrOptions::DEFAULT);
    r.op(PrOp::Register(OURS)).unwrap();
    // A reset (29/00) pending on every nexus: the next command meets it,
    // is sent again on the same nexus, and succeeds.
    for port in 1..=PORTS {
        r.lu.ua.push(((HOST_A, port), 0x29, 0x00));
    }
    let from = r.lu.log.len();
    assert_eq!(r.op(PrOp::ReadKeys).unwrap().keys, Some((3, 3)));
    assert!(r.notices.contains(Notices::RESET_OCCURRED));
    let sent = &r.lu.log[from..];
    // The READ KEYS meets the unit attention and goes again; then, as a
    // power on may have dropped every registration, the coordinator
    // checks its keys (READ KEYS and READ RESERVATION): all still there,
    // so nothing is fenced.
    let actions: Vec<_> = sent.iter().map(|x| x.1).collect();
    assert_eq!(sent.len(), 4, "{actions:?}");
    assert!(!r.d.coordinator().is_fenced());
    assert_eq!(
        (sent[0].0, sent[0].1),
        (sent[1].0, sent[1].1),
        "same command, same nexus"
    );

    // A target that keeps answering with a unit attention: PR_ATTEMPTS
    // sends, then the path failed the command.
    let via = r.paths[0].0;
    let cmd =
        r.ad.pr_command(&PrAction {
            via,
            command: PrCommand::ReadKeys,
        })
        .unwrap();
    let ua = check(SenseKey::UnitAttention, 0x2A, 0x03).sense;
    let resp = ScsiResponse::check_condition(&ua);
    let mut sent = cmd;
    let mut sends = 1;
    let answer = loop {
        match r.ad.pr_reply(&sent, &resp).unwrap().step {
            PrStep::Resend(next) => {
                sends += 1;
                sent = next;
            }
            PrStep::Answer(a) => break a.reply(Some(OURS)),
        }
    };
    assert_eq!(sends, usize::from(PR_ATTEMPTS));
    assert_eq!(answer, PrReply::PathFailed);
}

#[test]
fn another_host_preempts_and_the_unit_attention_fences_us() {
    let mut r = Rig::new(PrOptions::DEFAULT);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    // Host B registers and preempts our key through its own nexus, with
    // commands built by the same mapping.
    let b = PrOptions::DEFAULT;
    let via = PathId::from_raw(0xB);
    for command in [
        PrCommand::Register { key: THEIRS },
        PrCommand::Preempt {
            key: THEIRS,
            victim: OURS,
            rtype: PrType::WriteExclusiveRegistrantsOnly,
            abort: false,
        },
    ] {
        let cmd = b.command(&PrAction { via, command }).unwrap();
        let reply =
            r.lu.exec((HOST_B, 1), cmd.cdb(), cmd.data_out(), cmd.data_in_len());
        assert_eq!(reply.status, status::GOOD);
    }
    assert_eq!(r.lu.ua.len(), 3, "2A/05 for each of our nexuses");
    // Our next command meets the unit attention: REGISTRATIONS PREEMPTED.
    r.d.reservation(PrOp::ReadKeys, t(1)).unwrap();
    r.run();
    assert!(r.notices.contains(Notices::REGISTRATIONS_PREEMPTED));
    assert!(r.d.coordinator().is_fenced());
    assert!(r.events.contains(&PrEvent::Fenced));
    for &(p, _) in &r.paths {
        assert!(!r.d.coordinator().admitted(p));
    }
}

#[test]
fn responses_go_to_their_own_entry_point_and_paths_must_be_known() {
    let mut r = Rig::new(PrOptions::DEFAULT);
    let via = r.paths[0].0;
    let cmd =
        r.ad.pr_command(&PrAction {
            via,
            command: PrCommand::Clear { key: OURS },
        })
        .unwrap();
    assert_eq!(cmd.kind().name(), "PERSISTENT RESERVE OUT");
    assert_eq!(
        r.ad.apply(&mut r.d, &cmd, &ScsiResponse::GOOD, t(2)),
        Err(AdapterError::WrongEntry {
            command: cmd.kind()
        })
    );
    let unknown = PathId::from_raw(0x00FF_0007);
    assert_eq!(
        r.ad.pr_command(&PrAction {
            via: unknown,
            command: PrCommand::ReadKeys,
        }),
        Err(AdapterError::UnknownPath(unknown))
    );
    assert!(matches!(
        cmd.kind(),
        CommandKind::Reservation { attempt: 1, .. }
    ));
    assert_eq!(
        PrOptions::new(RegistrationScope::Host),
        Err(AdapterError::RegistrationScope(RegistrationScope::Host))
    );
}
