//! The SCSI side of a run: the simulated logical unit, the host's
//! `ScsiAdapter`, how a command is built and carried out, and how its
//! answer is classified and handed back to the device.

use mpath_core::reservation::{PrAction, PrReply, PrType as CoreType, RegistrationScope};
use mpath_core::{Completion, Config, DataPlane, Instant, NexusId, Notices, PathId};
use mpath_scsi::cdb::{self, RwParams};
use mpath_scsi::pr_map::scsi_type;
use mpath_scsi::vpd::page;
use mpath_scsi::{
    classify_io, path_spec, AdapterError, Applied, ItNexus, PathIdentity, PrOutAction, PrOutParams,
    PrStep, RtpgApplied, ScsiAdapter, ScsiCommand, TransportId, TransportStatus,
};

use super::scenario::{alua_state, Scenario};
use super::sim::{port_of, Dev, SetupError, Sim, OTHER_KEY, OUR_KEY, PATHS};
use super::stack::Stack;
use super::wire::{Answer, Ctl};
use crate::scsi_target::{InitiatorId, LogicalUnit, LuConfig, Nexus};

/// TASK SET FULL.
const TASK_SET_FULL: u8 = 0x28;

/// Host `h`'s iSCSI name.
fn host_name(h: usize) -> String {
    if h == 0 {
        String::from("iqn.2026-12.org.mpath.sim:host")
    } else {
        format!("iqn.2026-12.org.mpath.sim:host{h}")
    }
}

/// The logical unit and each host's SCSI adapter.
#[derive(Debug)]
pub(crate) struct ScsiStack {
    pub lu: LogicalUnit,
    /// Every host's nexuses, by global path index.
    pub nexuses: Vec<Nexus>,
    pub other: Nexus,
    /// Each host's adapter.
    pub ads: Vec<ScsiAdapter<PATHS>>,
}

/// Each host's device and the ids of its paths, host by host.
pub(crate) type Devices = Vec<(Dev, Vec<PathId>)>;

/// The ISID of path `i`'s session.
fn isid(i: usize) -> String {
    format!("{:012x}", 0x4000_0000_0000u64 + i as u64)
}

/// Set up the logical unit, the device and the adapter: every path
/// identified through real INQUIRY and VPD page 83h answers and added.
pub(crate) fn setup(scenario: &Scenario) -> Result<(ScsiStack, Devices), SetupError> {
    let hosts = usize::from(scenario.hosts.max(1));
    let mut lu = LogicalUnit::new(LuConfig {
        block_size: scenario.block_size as usize,
        blocks: scenario.target_blocks(),
        ..LuConfig::default()
    });
    for g in &scenario.groups {
        lu.add_target_port_group(g.id, g.state)
            .map_err(|e| SetupError::Scenario(format!("group {}: {e}", g.id)))?;
    }
    for (i, p) in scenario.paths.iter().enumerate() {
        lu.add_target_port(port_of(i), p.group)
            .map_err(|e| SetupError::Scenario(format!("path {i}: {e}")))?;
    }
    let mut nexuses = Vec::new();
    for h in 0..hosts {
        let name = host_name(h);
        for i in 0..scenario.paths.len() {
            let isid = isid(i);
            let tid = TransportId::Iscsi {
                name: name.as_bytes(),
                isid: Some(isid.as_bytes()),
            };
            let ini = lu
                .add_initiator(&tid)
                .map_err(|e| SetupError::Scenario(format!("host {h} path {i}: {e}")))?;
            nexuses.push(Nexus::new(ini, port_of(i)));
        }
    }
    let other_tid = TransportId::Iscsi {
        name: b"iqn.2026-12.org.mpath.sim:other",
        isid: Some(b"400000000099"),
    };
    let other_ini: InitiatorId = lu
        .add_initiator(&other_tid)
        .map_err(|e| SetupError::Scenario(format!("other host: {e}")))?;
    let other = Nexus::new(other_ini, port_of(0));
    for &n in nexuses.iter().chain(std::iter::once(&other)) {
        lu.login(n)
            .map_err(|e| SetupError::Scenario(format!("login: {e}")))?;
        clear_unit_attentions(&mut lu, n);
    }
    let now = Instant::from_nanos(0);
    let mut ads = Vec::new();
    let mut devices = Vec::new();
    for host in nexuses.chunks(scenario.paths.len()) {
        let ids: Vec<PathIdentity> = host
            .iter()
            .map(|&n| identify(&mut lu, n))
            .collect::<Result<_, _>>()?;
        let cfg = ScsiAdapter::<PATHS>::core_config(Config::DEFAULT, ids[0].tpgs);
        let mut cfg = super::dm_table::device_config(scenario, cfg)?;
        cfg.policy = scenario.policy;
        cfg.no_path = scenario.no_path;
        cfg.quiesce_time = scenario.quiesce;
        let mut dev = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus)
            .map_err(|e| SetupError::Device(format!("config: {e:?}")))?;
        let mut ad = ScsiAdapter::new(ids[0].lu).with_pr_options(
            mpath_scsi::PrOptions::DEFAULT
                .with_full_status(true)
                .with_aptpl(scenario.aptpl),
        );
        let mut path_ids = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let spec = path_spec(id, NexusId(port_of(i).into()), None)
                .map_err(|e| SetupError::Device(format!("path {i}: {e}")))?
                .with_relative_throughput(
                    scenario.paths.get(i).map_or(1, |p| p.relative_throughput),
                );
            let p = ad
                .add_path(&mut dev, id, spec, u32::from(port_of(i)), now)
                .map_err(|e| SetupError::Device(format!("path {i}: {e}")))?;
            path_ids.push(p);
        }
        ads.push(ad);
        devices.push((dev, path_ids));
    }
    Ok((
        ScsiStack {
            lu,
            nexuses,
            other,
            ads,
        },
        devices,
    ))
}

/// Consume the unit attentions a fresh login leaves (as an initiator's
/// login sequence does with TEST UNIT READY).
fn clear_unit_attentions(lu: &mut LogicalUnit, n: Nexus) {
    for _ in 0..8 {
        let mut none = [0u8; 0];
        match lu.command(n, &[0u8; 6], &[], &mut none) {
            Ok(r) if r.sense().is_some() => continue,
            _ => break,
        }
    }
}

/// The path's identity from real INQUIRY and VPD page 83h answers.
fn identify(lu: &mut LogicalUnit, n: Nexus) -> Result<PathIdentity, SetupError> {
    let mut read = |c: &[u8], len: u16| {
        let mut buf = vec![0u8; usize::from(len)];
        let r = lu
            .command(n, c, &[], &mut buf)
            .map_err(|e| SetupError::Device(format!("identify: {e:?}")))?;
        buf.truncate(r.data_in_len);
        Ok::<Vec<u8>, SetupError>(buf)
    };
    let inquiry = read(&cdb::inquiry(96), 96)?;
    let vpd = read(&cdb::inquiry_vpd(page::DEVICE_IDENTIFICATION, 252), 252)?;
    PathIdentity::from_bytes(&inquiry, &vpd)
        .map_err(|e| SetupError::Device(format!("identity: {e}")))
}

impl ScsiStack {
    /// READ (16) or WRITE (16) of `blocks` at `lba`.
    pub fn io_cdb(write: bool, lba: u64, blocks: u32) -> Option<Vec<u8>> {
        let p = RwParams::new(lba, blocks);
        let c = if write {
            cdb::write16(&p)
        } else {
            cdb::read16(&p)
        };
        c.ok().map(|c| c.to_vec())
    }

    /// Carry command `cdb` out on path `i`'s nexus (global index).
    pub fn execute(&mut self, i: usize, cdb: &[u8], data_out: &[u8], data_in_len: usize) -> Answer {
        let mut buf = vec![0u8; data_in_len];
        match self.lu.command(self.nexuses[i], cdb, data_out, &mut buf) {
            Ok(r) => {
                buf.truncate(r.data_in_len);
                Answer {
                    transport: TransportStatus::Ok,
                    status: u16::from(r.status.code()),
                    dw0: 0,
                    sense: r.sense().map(<[u8]>::to_vec).unwrap_or_default(),
                    data: buf,
                }
            }
            Err(_) => Answer::transport(TransportStatus::NoConnect),
        }
    }

    /// The port's answer past its queue depth.
    pub fn busy() -> Answer {
        Answer {
            status: u16::from(TASK_SET_FULL),
            ..Answer::transport(TransportStatus::Ok)
        }
    }

    /// Whether path `g`'s nexus (global index) is registered with `key`.
    pub fn registered(&self, g: usize, key: u64) -> bool {
        self.lu.registered_key(self.nexuses[g]) == Some(key)
    }

    /// What the target holds, for a violation's detail.
    pub fn pr_truth(&self) -> String {
        format!(
            "target registrations {:?}, reservation {:?}",
            self.lu.registrations(),
            self.lu.reservation()
        )
    }

    /// Another host registers and preempts our key, holding `rtype`;
    /// whether both commands were done.
    pub fn other_host_preempts(&mut self, rtype: CoreType) -> bool {
        let n = self.other;
        let register = PrOutParams::new(0, OTHER_KEY);
        let preempt = PrOutParams::new(OTHER_KEY, OUR_KEY);
        let mut ok = true;
        for (action, t, p) in [
            (PrOutAction::RegisterAndIgnoreExistingKey, None, register),
            (PrOutAction::Preempt, Some(scsi_type(rtype)), preempt),
        ] {
            let mut list = vec![0u8; p.buffer_len()];
            if p.emit(&mut list).is_err() {
                return false;
            }
            let c = cdb::persistent_reserve_out(action, t, list.len() as u32);
            let mut none = [0u8; 0];
            let mut done = false;
            for _ in 0..4 {
                match self.lu.command(n, &c, &list, &mut none) {
                    Ok(r) if r.status.code() == 0 => {
                        done = true;
                        break;
                    }
                    // A unit attention first: send again (anything else
                    // that is not GOOD fails the same way each time).
                    Ok(r) if r.status.code() == 2 => continue,
                    _ => break,
                }
            }
            ok &= done;
        }
        ok
    }

    /// A group's ALUA state changes.
    pub fn set_group_state(&mut self, group: u16, state: mpath_scsi::AluaState) {
        let _ = self.lu.set_group_state(group, state);
    }

    /// Set an ANA state on SCSI: its ALUA counterpart.
    pub fn set_group_ana(&mut self, group: u16, state: mpath_nvme::ana::AnaState) {
        self.set_group_state(group, alua_state(state));
    }
}

impl Sim {
    /// An I/O's completion, classified from the target's status and sense.
    pub(crate) fn scsi_classify(answer: &Answer) -> Completion {
        classify_io(answer.transport, answer.scsi_status(), answer.sense())
    }

    /// The answer to a control command reaches host `h`.
    pub(crate) fn scsi_control(&mut self, h: usize, cmd: &ScsiCommand, answer: &Answer) {
        let now = self.now;
        let Stack::Scsi(s) = &mut self.stack else {
            return;
        };
        match s.ads[h].apply(&mut self.hosts[h].dev, cmd, &answer.response(), now) {
            Ok(Applied::Refresh(RtpgApplied::Reissue(next)) | Applied::ProbeAgain(next)) => {
                self.send_control(h, Ctl::Scsi(next));
            }
            Ok(_) | Err(AdapterError::CommandFailed { .. }) => {}
            Err(_) => {}
        }
    }

    /// The answer to a reservation command reaches its host, through path
    /// `g` (global index).
    pub(crate) fn scsi_pr(
        &mut self,
        g: usize,
        action: PrAction,
        cmd: &ScsiCommand,
        answer: &Answer,
    ) {
        let (h, i) = (g / self.npaths, g % self.npaths);
        let key = self.hosts[h].dev.coordinator().key();
        let Stack::Scsi(s) = &mut self.stack else {
            return;
        };
        match s.ads[h].pr_reply(cmd, &answer.response()) {
            Ok(d) => match d.step {
                PrStep::Resend(next) => {
                    self.send_pr(h, action, Ctl::Scsi(next));
                    self.pr_answered(h, action.via, None, d.notices);
                }
                PrStep::Answer(a) => {
                    let (name, isid) = (host_name(h), isid(i));
                    let me = ItNexus {
                        initiator: TransportId::Iscsi {
                            name: name.as_bytes(),
                            isid: Some(isid.as_bytes()),
                        },
                        relative_target_port: port_of(i),
                    };
                    let reply = a.reply_at(key, Some(&me));
                    self.pr_answered(h, action.via, Some(reply), d.notices);
                }
            },
            Err(_) => self.pr_answered(h, action.via, Some(PrReply::PathFailed), Notices::empty()),
        }
    }

    /// Carry out host `h`'s device action through its SCSI adapter.
    pub(crate) fn scsi_action(&mut self, h: usize, a: &mpath_core::Action) {
        let now = self.now;
        let Stack::Scsi(s) = &mut self.stack else {
            return;
        };
        match a {
            mpath_core::Action::Reservation(pa) => match s.ads[h].pr_command(pa) {
                Ok(cmd) => self.send_pr(h, *pa, Ctl::Scsi(cmd)),
                Err(_) => {
                    self.pr_answered(h, pa.via, Some(PrReply::PathFailed), Notices::empty());
                }
            },
            other => match s.ads[h].map_action(other) {
                Ok(Some(cmd)) => self.send_control(h, Ctl::Scsi(cmd)),
                Ok(None) => {}
                Err(_) => {
                    let _ = s.ads[h].settle_unmapped(&mut self.hosts[h].dev, other, now);
                }
            },
        }
    }
}

/// A SCSI command's CDB, data out and data-in length.
pub(crate) fn parts(cmd: &ScsiCommand) -> (Vec<u8>, Vec<u8>, usize) {
    (
        cmd.cdb().to_vec(),
        cmd.data_out().to_vec(),
        usize::try_from(cmd.data_in_len()).unwrap_or(0),
    )
}

/// Whether a CDB is a WRITE (10) or (16).
pub(crate) fn is_write(cdb: &[u8]) -> bool {
    matches!(cdb.first(), Some(0x2A | 0x8A))
}

/// Whether a CDB is TEST UNIT READY.
pub(crate) fn is_tur(cdb: &[u8]) -> bool {
    cdb.first() == Some(&0x00)
}
