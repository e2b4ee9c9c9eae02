//! The NVMe side of a run: the simulated NVM subsystem (one namespace,
//! NSID 1, in ANA group 1; a controller of our host per path), the host's
//! `NvmeAdapter`, 64-byte submission entries built and carried out, their
//! completions classified, and the Asynchronous Event Request the host
//! keeps outstanding on every controller, as Linux does.

use std::collections::{BTreeMap, BTreeSet};

use mpath_core::reservation::{PrAction, PrReply, PrType as CoreType};
use mpath_core::{Config, DataPlane, Instant, Notices};
use mpath_nvme::ana::{AnaLog, AnaLogOptions, AnaState};
use mpath_nvme::command::{NvmeCommand, REGISTRATION_SCOPE};
use mpath_nvme::identify::{IdentifyControllerRepr, IdentifyNamespaceRepr, Nqn, IDENTIFY_LEN};
use mpath_nvme::log_page::GetLogPage;
use mpath_nvme::pr::nvme_type;
use mpath_nvme::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReservationAcquire, ReservationRegister,
};
use mpath_nvme::status::{Status, StatusCode};
use mpath_nvme::{AenFollowUp, Applied, NvmeAdapter, NvmePath, PrStep};
use mpath_scsi::TransportStatus;

use super::scenario::{ana_state, Scenario};
use super::scsi::Devices;
use super::sim::{Dev, Event, SetupError, Sim, OTHER_KEY, OUR_KEY, PATHS};
use super::stack::Stack;
use super::wire::{Answer, Ctl, Stage};
use crate::nvme_target::admin::cns;
use crate::nvme_target::sqe::io_opcode;
use crate::nvme_target::{
    HostConfig, HostIdentifier, NamespaceConfig, Queue, SubmissionEntry, Submitted, Subsystem,
    SubsystemConfig, TargetEvent,
};

/// The namespace every path reaches.
pub(crate) const NSID: u32 = 1;
/// Its ANA group.
pub(crate) const ANA_GROUP: u32 = 1;
/// Host `h`'s Host Identifier.
pub(crate) fn host_id(h: usize) -> HostIdentifier {
    let mut id = *b"mpathsim";
    if h > 0 {
        id[7] = b'0' + (h % 10) as u8;
    }
    HostIdentifier::Short(id)
}
/// The other host's.
const OTHER_HOST_ID: HostIdentifier = HostIdentifier::Short(*b"otherhst");
/// The other host's controller.
const OTHER_CNTLID: u16 = 0x100;

/// The controller of path `i` (global index: every host's path has a
/// controller of its own).
pub(crate) fn cntlid_of(i: usize) -> u16 {
    u16::try_from(i + 1).unwrap_or(u16::MAX)
}

/// The command identifier of engine command `id`: unique among the
/// commands outstanding on a controller (far fewer than 65,520).
pub(crate) fn cid_of(id: u64) -> u16 {
    u16::try_from(id % 0xFFF0).unwrap_or(0)
}

/// The subsystem, the host's NVMe adapter, and the host driver's state
/// per controller.
#[derive(Debug)]
pub(crate) struct NvmeStack {
    pub sub: Subsystem,
    /// Each host's adapter.
    pub ads: Vec<NvmeAdapter<PATHS>>,
    /// The scenario group of each path (global index).
    pub groups: Vec<u16>,
    /// Each scenario group's state, as its controllers report it.
    pub group_states: BTreeMap<u16, AnaState>,
    /// Paths a host has.
    pub npaths: usize,
    /// Asynchronous Event Requests the controllers hold: (CNTLID, CID) to
    /// the engine's command.
    pub aers: BTreeMap<(u16, u16), u64>,
    /// Whether the host has a request outstanding on path `i` (global
    /// index).
    pub aer_armed: Vec<bool>,
}

/// What a command did at the subsystem.
pub(crate) enum Executed {
    Answer(Answer),
    /// An Asynchronous Event Request, held.
    Held,
}

fn nqn(s: &str) -> Result<Nqn, SetupError> {
    Nqn::new(s.as_bytes()).map_err(|e| SetupError::Scenario(format!("NQN {s}: {e}")))
}

fn scenario_err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> SetupError + '_ {
    move |e| SetupError::Scenario(format!("{what}: {e}"))
}

/// Submit `e` to `cntlid` at setup; the completion must be success.
fn setup_command(
    sub: &mut Subsystem,
    cntlid: u16,
    e: &SubmissionEntry,
    data_in: &mut [u8],
) -> Result<(), SetupError> {
    match sub.submit(cntlid, Queue::Admin, &e.to_bytes(), &[], data_in) {
        Ok(Submitted::Completed(c)) if c.status.is_success() => Ok(()),
        other => Err(SetupError::Device(format!(
            "controller {cntlid}: opcode {:#x}: {other:?}",
            e.opcode
        ))),
    }
}

/// Set up the subsystem, the device and the adapter: every controller
/// identified through real Identify answers, its ANA log read (as Linux
/// reads it while it sets the controller up), and the path added.
pub(crate) fn setup(scenario: &Scenario) -> Result<(NvmeStack, Devices), SetupError> {
    let hosts = usize::from(scenario.hosts.max(1));
    let npaths = scenario.paths.len();
    let mut cfg = SubsystemConfig::new(nqn("nqn.2026-12.org.mpath:sim")?);
    cfg.anatt = scenario.anatt;
    let mut sub = Subsystem::new(cfg);
    let ids: BTreeSet<u32> = scenario
        .groups
        .iter()
        .map(|g| u32::from(g.id))
        .chain(std::iter::once(ANA_GROUP))
        .collect();
    for g in ids {
        sub.add_ana_group(g)
            .map_err(scenario_err(&format!("ANA group {g}")))?;
    }
    sub.add_namespace(NamespaceConfig {
        nsid: NSID,
        blocks: scenario.target_blocks(),
        block_size: scenario.block_size,
        anagrpid: ANA_GROUP,
    })
    .map_err(scenario_err("namespace"))?;
    for h in 0..hosts {
        let name = if h == 0 {
            String::from("nqn.2026-12.org.mpath:host")
        } else {
            format!("nqn.2026-12.org.mpath:host{h}")
        };
        sub.add_host(HostConfig {
            nqn: nqn(&name)?,
            hostid: host_id(h),
        })
        .map_err(scenario_err("host"))?;
    }
    sub.add_host(HostConfig {
        nqn: nqn("nqn.2026-12.org.mpath:other")?,
        hostid: OTHER_HOST_ID,
    })
    .map_err(scenario_err("host"))?;
    let mut groups = Vec::new();
    for h in 0..hosts {
        for (i, p) in scenario.paths.iter().enumerate() {
            let g = scenario
                .groups
                .iter()
                .find(|g| g.id == p.group)
                .ok_or_else(|| SetupError::Scenario(format!("path {i}: no group {}", p.group)))?;
            let c = cntlid_of(h * npaths + i);
            sub.add_controller(c, host_id(h))
                .map_err(scenario_err(&format!("host {h} path {i}")))?;
            sub.set_ana_state(c, ANA_GROUP, ana_state(g.state))
                .map_err(scenario_err(&format!("host {h} path {i}")))?;
            // The host connects after the state was set: nothing pending.
            sub.reset_controller(c)
                .map_err(scenario_err(&format!("host {h} path {i}")))?;
            groups.push(p.group);
        }
    }
    sub.add_controller(OTHER_CNTLID, OTHER_HOST_ID)
        .map_err(scenario_err("other host"))?;
    while sub.poll_event().is_some() {}
    let now = Instant::from_nanos(0);
    let mut ads = Vec::new();
    let mut devices = Vec::new();
    for h in 0..hosts {
        let mut found = Vec::new();
        for i in 0..npaths {
            let c = cntlid_of(h * npaths + i);
            found.push(identify(&mut sub, c, i)?);
        }
        let identity = found
            .first()
            .map(|(p, _)| p.identity)
            .ok_or_else(|| SetupError::Scenario(String::from("no path")))?;
        let cfg = NvmeAdapter::<PATHS>::core_config(Config::DEFAULT);
        let mut cfg = super::dm_table::device_config(scenario, cfg)?;
        cfg.policy = scenario.policy;
        cfg.no_path = scenario.no_path;
        cfg.quiesce_time = scenario.quiesce;
        let mut dev = Dev::new(DataPlane::new(), cfg, REGISTRATION_SCOPE)
            .map_err(|e| SetupError::Device(format!("config: {e:?}")))?;
        let ptpl = if scenario.aptpl {
            Cptpl::Persist
        } else {
            Cptpl::NoChange
        };
        let mut ad = NvmeAdapter::new(identity).with_ptpl(ptpl);
        let mut path_ids = Vec::new();
        for (i, (path, state)) in found.iter().enumerate() {
            let p = ad
                .add_path(&mut dev, path, *state, now)
                .map_err(|e| SetupError::Device(format!("path {i}: {e}")))?;
            // The adapter builds the spec from Identify; the weight is the
            // operator's, set as sysfs would after the path appears.
            let weight = scenario.paths.get(i).map_or(1, |p| p.relative_throughput);
            dev.set_relative_throughput(p, weight, now)
                .map_err(|e| SetupError::Device(format!("path {i}: {e}")))?;
            path_ids.push(p);
        }
        ads.push(ad);
        devices.push((dev, path_ids));
    }
    let n = groups.len();
    Ok((
        NvmeStack {
            sub,
            ads,
            groups,
            npaths,
            group_states: scenario
                .groups
                .iter()
                .map(|g| (g.id, ana_state(g.state)))
                .collect(),
            aers: BTreeMap::new(),
            aer_armed: vec![false; n],
        },
        devices,
    ))
}

/// Controller `c` (path `i` of its host) identified through real Identify
/// answers, and its ANA log read, as Linux reads it while it sets the
/// controller up.
fn identify(
    sub: &mut Subsystem,
    c: u16,
    i: usize,
) -> Result<(NvmePath, Option<AnaState>), SetupError> {
    let mut ctrl = vec![0u8; IDENTIFY_LEN];
    let mut ns = vec![0u8; IDENTIFY_LEN];
    setup_command(
        sub,
        c,
        &SubmissionEntry::identify(1, cns::CONTROLLER, 0),
        &mut ctrl,
    )?;
    setup_command(
        sub,
        c,
        &SubmissionEntry::identify(2, cns::NAMESPACE, NSID),
        &mut ns,
    )?;
    let ctrl = IdentifyControllerRepr::parse(&ctrl)
        .map_err(|e| SetupError::Device(format!("Identify Controller: {e}")))?;
    let ns = IdentifyNamespaceRepr::parse(&ns)
        .map_err(|e| SetupError::Device(format!("Identify Namespace: {e}")))?;
    let path = NvmePath::from_identify(&ctrl, &ns, NSID)
        .map_err(|e| SetupError::Device(format!("path {i}: {e}")))?;
    let len = path
        .ana_log_len(false)
        .ok_or_else(|| SetupError::Device(format!("path {i}: ANA log too large")))?;
    let log =
        GetLogPage::ana(len, false).map_err(|e| SetupError::Device(format!("path {i}: {e}")))?;
    let mut buf = vec![0u8; len as usize];
    setup_command(sub, c, &SubmissionEntry::get_log_page(3, &log), &mut buf)?;
    let state = AnaLog::new_checked(
        &buf[..],
        AnaLogOptions {
            anagrpmax: path.anagrpmax,
            rgo: false,
        },
    )
    .ok()
    .and_then(|l| l.find_nsid(NSID))
    .map(|(_, s)| s);
    Ok((path, state))
}

impl NvmeStack {
    /// Read or Write of `blocks` at `lba` on NSID 1 (CID filled in when
    /// sent).
    pub fn io_sqe(write: bool, lba: u64, blocks: u32) -> Option<Vec<u8>> {
        let nlb = u16::try_from(blocks.checked_sub(1)?).ok()?;
        let e = if write {
            SubmissionEntry::write(0, NSID, lba, nlb)
        } else {
            SubmissionEntry::read(0, NSID, lba, nlb)
        };
        Some(e.to_bytes().to_vec())
    }

    /// Submit entry `sqe` (engine command `id`) to path `i`'s controller.
    pub fn execute(
        &mut self,
        i: usize,
        id: u64,
        sqe: &[u8],
        admin: bool,
        data_out: &[u8],
        data_in_len: usize,
    ) -> Executed {
        let Ok(sqe) = <&[u8; 64]>::try_from(sqe) else {
            return Executed::Answer(Answer::transport(TransportStatus::NoConnect));
        };
        let cntlid = cntlid_of(i);
        let queue = if admin { Queue::Admin } else { Queue::Io };
        let mut buf = vec![0u8; data_in_len];
        match self.sub.submit(cntlid, queue, sqe, data_out, &mut buf) {
            Ok(Submitted::Completed(c)) => Executed::Answer(Answer {
                transport: TransportStatus::Ok,
                status: c.status.field(),
                dw0: c.dw0,
                sense: Vec::new(),
                data: buf,
            }),
            Ok(Submitted::Deferred { cid }) => {
                self.aers.insert((cntlid, cid), id);
                Executed::Held
            }
            Err(_) => Executed::Answer(Answer::transport(TransportStatus::NoConnect)),
        }
    }

    /// The port's answer past its queue depth: Command Interrupted, which
    /// asks the host to retry (NVMe has no TASK SET FULL; a fabrics host
    /// never exceeds its queue size, so this stands for a controller
    /// short of resources).
    pub fn busy() -> Answer {
        Answer {
            status: Status::new(StatusCode::COMMAND_INTERRUPTED).field(),
            ..Answer::transport(TransportStatus::Ok)
        }
    }

    /// Whether the host of path `g` (global index) is registered with
    /// `key` (registrations are per host: every path of it is, or none).
    pub fn registered(&self, g: usize, key: u64) -> bool {
        self.sub
            .reservation_state(NSID)
            .and_then(|r| r.key_of(host_id(g / self.npaths.max(1))))
            == Some(key)
    }

    /// What the subsystem holds, for a violation's detail.
    pub fn pr_truth(&self) -> String {
        format!(
            "target reservation state {:?}",
            self.sub.reservation_state(NSID)
        )
    }

    /// The controller of path `i` loses its association and connects
    /// again (a new login): what it held is gone.
    pub fn reconnect(&mut self, i: usize) {
        let c = cntlid_of(i);
        let _ = self.sub.disconnect(c);
        let _ = self.sub.connect(c);
        self.aers.retain(|(cntlid, _), _| *cntlid != c);
    }

    /// Whether path `i`'s controller has an association.
    pub fn connected(&self, i: usize) -> bool {
        let c = cntlid_of(i);
        self.sub
            .controllers()
            .any(|(id, _, connected)| id == c && connected)
    }

    /// The subsystem restarts: every association ends with it; the host
    /// connects each controller again when it sees its path back.
    pub fn restart(&mut self) {
        let _ = self.sub.restart();
        for (i, _) in self.groups.iter().enumerate() {
            let _ = self.sub.disconnect(cntlid_of(i));
        }
        self.aers.clear();
    }

    /// Controller Level Reset of path `i`'s controller.
    pub fn reset(&mut self, i: usize) {
        let c = cntlid_of(i);
        let _ = self.sub.reset_controller(c);
        self.aers.retain(|(cntlid, _), _| *cntlid != c);
    }

    /// ANA group 1 changes state through every controller of group `group`.
    pub fn set_group_ana(&mut self, group: u16, state: AnaState) {
        self.group_states.insert(group, state);
        for (i, g) in self.groups.iter().enumerate() {
            if *g == group {
                let _ = self.sub.set_ana_state(cntlid_of(i), ANA_GROUP, state);
            }
        }
    }

    /// Path `i` of every host moves into scenario group `group`: its
    /// controllers report that group's state for the namespace from now
    /// on (an ANA change notice when it differs). A group the scenario
    /// does not have: nothing.
    pub fn move_path(&mut self, i: usize, group: u16) {
        let Some(&state) = self.group_states.get(&group) else {
            return;
        };
        for g in (i..self.groups.len()).step_by(self.npaths.max(1)) {
            self.groups[g] = group;
            let _ = self.sub.set_ana_state(cntlid_of(g), ANA_GROUP, state);
        }
    }

    /// A write stranded on a dead link lands; whether it was applied.
    pub fn late_write(&mut self, i: usize, sqe: &[u8], data: &[u8]) -> bool {
        let Ok(sqe) = <&[u8; 64]>::try_from(sqe) else {
            return false;
        };
        matches!(
            self.sub.submit(cntlid_of(i), Queue::Io, sqe, data, &mut []),
            Ok(Submitted::Completed(c)) if c.status.is_success()
        )
    }

    /// Another host registers through its own controller and preempts our
    /// key with Preempt and Abort, holding `rtype`; whether both were done.
    pub fn other_host_preempts(&mut self, rtype: CoreType) -> bool {
        let register = ReservationRegister {
            action: RegisterAction::Register,
            iekey: true,
            cptpl: Cptpl::NoChange,
            crkey: 0,
            nrkey: OTHER_KEY,
        };
        let acquire = ReservationAcquire {
            action: AcquireAction::PreemptAndAbort,
            iekey: false,
            rtype: nvme_type(rtype),
            crkey: OTHER_KEY,
            prkey: OUR_KEY,
        };
        let mut d = [0u8; 16];
        let mut ok = true;
        for (opcode, cdw10, emitted) in [
            (
                io_opcode::RESERVATION_REGISTER,
                register.cdw10(),
                register.emit_data(&mut d).map(|_| d),
            ),
            (
                io_opcode::RESERVATION_ACQUIRE,
                acquire.cdw10(),
                acquire.emit_data(&mut d).map(|_| d),
            ),
        ] {
            let Ok(data) = emitted else { return false };
            let e = SubmissionEntry {
                opcode,
                fuse: 0,
                cid: 0x77,
                nsid: NSID,
                cdw: [cdw10, 0, 0, 0, 0, 0],
            };
            ok &= matches!(
                self.sub.submit(OTHER_CNTLID, Queue::Io, &e.to_bytes(), &data, &mut []),
                Ok(Submitted::Completed(c)) if c.status.is_success()
            );
        }
        ok
    }
}

impl Sim {
    /// Carry out what the subsystem did on its own: held event requests
    /// completed (their answer goes back over the link), and Preempt and
    /// Abort's commands to abort (ours at the controller, answered
    /// Command Aborted due to Preempt and Abort, never carried out).
    pub(crate) fn nvme_events(&mut self) {
        loop {
            let Stack::Nvme(n) = &mut self.stack else {
                return;
            };
            let Some(ev) = n.sub.poll_event() else {
                return;
            };
            match ev {
                TargetEvent::AsyncCompletion { cntlid, completion } => {
                    let Some(id) = n.aers.remove(&(cntlid, completion.cid)) else {
                        continue;
                    };
                    let Some(f) = self.flights.get_mut(&id) else {
                        continue;
                    };
                    if f.stage != Stage::Held {
                        continue;
                    }
                    f.stage = Stage::Inbound;
                    f.answer = Some(Answer {
                        status: completion.status.field(),
                        dw0: completion.dw0,
                        ..Answer::transport(TransportStatus::Ok)
                    });
                    let (i, token) = (f.path, f.token);
                    let at = self.now.saturating_add(self.links[i].one_way(0));
                    self.queue.push(at, Event::Deliver(id, token));
                }
                TargetEvent::AbortCommands { cntlid, .. } => {
                    let Some(i) = (0..self.links.len()).find(|&i| cntlid_of(i) == cntlid) else {
                        continue;
                    };
                    let now = self.now;
                    let back = self.links[i].one_way(0);
                    for (&id, f) in self.flights.iter_mut() {
                        if f.path != i || f.stage != Stage::AtPort || f.control {
                            continue;
                        }
                        f.aborted = true;
                        f.stage = Stage::Inbound;
                        f.answer = Some(Answer {
                            status: Status::new(StatusCode::ABORTED_PREEMPT).field(),
                            ..Answer::transport(TransportStatus::Ok)
                        });
                        f.token += 1;
                        self.queue
                            .push(now.saturating_add(back), Event::Deliver(id, f.token));
                    }
                }
            }
        }
    }

    /// Keep an Asynchronous Event Request outstanding on path `i`.
    pub(crate) fn arm_aer(&mut self, i: usize) {
        let Stack::Nvme(n) = &mut self.stack else {
            return;
        };
        if n.aer_armed.get(i).copied().unwrap_or(true) || !self.links[i].up {
            return;
        }
        n.aer_armed[i] = true;
        let e = SubmissionEntry::async_event_request(0).to_bytes().to_vec();
        self.send(i, super::wire::Purpose::Aer, e, Vec::new(), 0, false, true);
    }

    /// An event request's completion (or its failure) reaches the host
    /// of path `g` (global index): the adapter hears the event, the log
    /// it names is read, and the request is sent again (Linux
    /// `nvme_async_event_work`).
    pub(crate) fn nvme_aer(&mut self, g: usize, answer: &Answer) {
        let now = self.now;
        let (h, i) = (g / self.npaths, g % self.npaths);
        let Some(&path) = self.hosts[h].path_ids.get(i) else {
            return;
        };
        let Stack::Nvme(n) = &mut self.stack else {
            return;
        };
        if let Some(a) = n.aer_armed.get_mut(g) {
            *a = false;
        }
        let ok = answer.transport == TransportStatus::Ok
            && Status::from_field(answer.status).is_success();
        if !ok {
            // Aborted by a reset or lost with the link: sent again once
            // the controller is connected.
            return;
        }
        if let Ok(AenFollowUp::ReadLog(cmd)) =
            n.ads[h].apply_aen(&mut self.hosts[h].dev, path, answer.dw0, now)
        {
            self.send_control(h, Ctl::Nvme(cmd));
        }
        self.arm_aer(g);
    }

    /// The answer to a control command reaches host `h`.
    pub(crate) fn nvme_control(&mut self, h: usize, cmd: &NvmeCommand, answer: &Answer) {
        let now = self.now;
        let Stack::Nvme(n) = &mut self.stack else {
            return;
        };
        if let Ok(Applied::Notification(page)) =
            n.ads[h].apply(&mut self.hosts[h].dev, cmd, &answer.nvme_response(), now)
        {
            if page.available > 0 {
                // More pages queued: read the next one.
                self.send_control(
                    h,
                    Ctl::Nvme(NvmeCommand::GetLogPage {
                        path: cmd.path(),
                        purpose: mpath_nvme::command::LogPurpose::ReservationNotification,
                        cmd: GetLogPage::reservation_notification(),
                    }),
                );
            }
        }
    }

    /// The answer to a reservation command reaches host `h`.
    pub(crate) fn nvme_pr(
        &mut self,
        h: usize,
        action: PrAction,
        cmd: &NvmeCommand,
        answer: &Answer,
    ) {
        let key = self.hosts[h].dev.coordinator().key();
        let Stack::Nvme(n) = &mut self.stack else {
            return;
        };
        match n.ads[h].pr_reply(cmd, &answer.nvme_response()) {
            Ok(d) => {
                let reply = match d.step {
                    PrStep::Resend(next) => {
                        self.send_pr(h, action, Ctl::Nvme(next));
                        None
                    }
                    PrStep::Answer(a) => {
                        let me = host_id(h).to_report_bytes();
                        Some(a.reply_at(key, Some(&me)))
                    }
                };
                self.pr_answered(h, action.via, reply, d.notices);
            }
            Err(_) => self.pr_answered(h, action.via, Some(PrReply::PathFailed), Notices::empty()),
        }
    }

    /// Carry out host `h`'s device action through its NVMe adapter. A
    /// transition timeout maps to a controller reset, which the engine
    /// carries out (it is not a command).
    pub(crate) fn nvme_action(&mut self, h: usize, a: &mpath_core::Action) {
        let now = self.now;
        let Stack::Nvme(n) = &mut self.stack else {
            return;
        };
        match a {
            mpath_core::Action::Reservation(pa) => match n.ads[h].pr_command(pa) {
                Ok(cmd) => self.send_pr(h, *pa, Ctl::Nvme(cmd)),
                Err(mpath_nvme::AdapterError::Unsupported { .. }) => {
                    self.pr_answered(h, pa.via, Some(PrReply::Refused), Notices::empty());
                }
                Err(_) => {
                    self.pr_answered(h, pa.via, Some(PrReply::PathFailed), Notices::empty());
                }
            },
            other => match n.ads[h].map_action(other) {
                Ok(Some(NvmeCommand::ResetController { path, .. })) => {
                    if let Some(g) = self.index_of(h, path) {
                        self.reset_path(g);
                    }
                }
                Ok(Some(cmd)) => self.send_control(h, Ctl::Nvme(cmd)),
                Ok(None) => {}
                Err(_) => {
                    let _ = n.ads[h].settle_unmapped(&mut self.hosts[h].dev, other, now);
                }
            },
        }
    }
}

/// An adapter command's submission entry, data out and data-in length.
pub(crate) fn parts(cmd: &NvmeCommand) -> Option<(Vec<u8>, Vec<u8>, usize)> {
    let e = SubmissionEntry::from_command(cmd, 0)?;
    let mut out = vec![0u8; cmd.data_out_len()];
    cmd.emit_data_out(&mut out).ok()?;
    Some((
        e.to_bytes().to_vec(),
        out,
        usize::try_from(cmd.data_in_len()).unwrap_or(0),
    ))
}

/// Whether an I/O-queue entry is a Write.
pub(crate) fn is_write(sqe: &[u8]) -> bool {
    sqe.first() == Some(&io_opcode::WRITE)
}
