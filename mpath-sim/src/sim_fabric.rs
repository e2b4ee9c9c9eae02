//! [`Fabric`] on the simulated SCSI logical unit, so that the
//! persistent-reservation suite (mpath-prsuite's scenarios, the same ones
//! mpath-iscsi runs on tgt and LIO) runs against [`LogicalUnit`] with no
//! target, VM or network.
//!
//! # Topology
//!
//! One logical unit with [`SimConfig::ports`] target ports, relative
//! target port identifiers 1, 2, …, spread over [`SimConfig::groups`]
//! target port groups (port `p` in group `1 + (p - 1) % groups`), every
//! group active/optimized. Our host's nexus `i` is its own initiator port
//! (iSCSI TransportID: [`SimConfig::initiator`] with ISID qualifier
//! `i + 1`, [`isid`]) through target port `i + 1`, as mpath-iscsi's
//! fabrics give each nexus its own ISID and portal; nexus 0 and nexus 1
//! are then in different groups with two groups. The other host has one
//! nexus, [`SimConfig::other_initiator`] with ISID qualifier 1, through
//! target port 1.
//!
//! # Logins, cuts and restarts
//!
//! A login is [`LogicalUnit::login`] followed by what libiscsi's
//! `iscsi_full_connect_sync` sends after every login: TEST UNIT READY
//! until it no longer answers with the unit attention a fresh login
//! brings (29h: power on, reset, I_T nexus loss); any other answer but
//! GOOD or RESERVATION CONFLICT fails the login there too. So the
//! scenarios see the same first commands here as on a real target.
//!
//! A cut is [`LogicalUnit::drop_nexus`]: the device server keeps the
//! nexus's registrations (SPC-4 5.13.1) and refuses delivery, which this
//! fabric reports as a transport failure (`NoConnect`) until the nexus is
//! restored, which logs in again as the same I_T nexus (same initiator
//! port, same target port), as LIO's session reinstatement does and
//! unlike tgt.
//!
//! A target restart is [`LogicalUnit::restart`] (power loss: blocks and
//! APTPL state kept, everything else lost), after which every nexus, cut
//! ones included, and the other host's log in again.
//!
//! # Writes outstanding together
//!
//! Commands here are synchronous: the device server runs each to its end
//! before the next. [`Fabric::write_batch`] without a cut runs the writes
//! in order. With a cut it models what the real-target suite sees on tgt
//! when the connection is deleted once every PDU is on the socket and
//! before any status came back (docs/ARCHITECTURE.md, "The holder cut with
//! writes in flight"): every write is outstanding at the cut; one whose
//! data fits in the command PDU's immediate data
//! ([`IMMEDIATE_DATA`] bytes) reached the device server whole and its
//! GOOD status was already on the wire; a longer one waits for an R2T the
//! cut prevents, never reaches the device server, and fails at the
//! transport (`Disrupted`).
//!
//! PREEMPT AND ABORT aborts the preempted nexuses' outstanding commands;
//! with synchronous commands none is outstanding when it runs, so the
//! list [`LogicalUnit::take_aborted`] returns is read and dropped.

use mpath_prsuite::command::{CommandResult, TransportStatus};
use mpath_prsuite::fabric::{write_cdb, BatchOutcome, Fabric, FabricError, RestartError};
use mpath_scsi::classify::classify;
use mpath_scsi::{AluaState, Sense, SenseKey, TransportId};

use crate::scsi_target::{LogicalUnit, LuConfig, Nexus, Status};

/// Our host's initiator name by default.
pub const HOST_A: &str = "iqn.2024-01.org.mpath:sim-host-a";
/// The other host's initiator name by default.
pub const HOST_B: &str = "iqn.2024-01.org.mpath:sim-host-b";
/// Logical block length of the default logical unit.
pub const BLOCK: usize = 512;
/// Logical blocks of the default logical unit: room for every scenario
/// (the largest writes about 230 blocks) at 2 MiB when all are written.
pub const BLOCKS: u64 = 4096;
/// Target ports by default: as many as a host has paths
/// (mpath-prsuite's `host::PATHS`).
pub const PORTS: u16 = 8;
/// Bytes of a write that travel with the command as immediate data (tgt's
/// 8 KiB MaxRecvDataSegmentLength); a longer write waits for an R2T.
pub const IMMEDIATE_DATA: usize = 8192;

/// The random part of every ISID here (ISID type 10b, "random", RFC 7143
/// 10.12.5): "SIM".
const ISID_RANDOM: u64 = 0x53_494d;

/// Sends of TEST UNIT READY after a login at most: a unit attention or
/// two, then the answer.
const LOGIN_TURS: usize = 4;

/// The whole 48-bit ISID of ISID qualifier `qualifier`, laid out as
/// libiscsi's `iscsi_set_isid_random` does (80h, 24 random bits, the
/// qualifier): our nexus `i` uses qualifier `i + 1`, the other host 1.
pub const fn isid(qualifier: u16) -> u64 {
    (0x80u64 << 40) | (ISID_RANDOM << 16) | qualifier as u64
}

/// The logical unit and the two hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The logical unit. [`SimConfig::default`] keeps block contents
    /// ([`LuConfig::keep_contents`]): the scenarios read back patterns.
    pub lu: LuConfig,
    /// Target ports (at least 1): the most nexuses our host can have.
    pub ports: u16,
    /// Target port groups the ports are spread over (at least 1).
    pub groups: u16,
    /// Our host's initiator name.
    pub initiator: String,
    /// The other host's initiator name.
    pub other_initiator: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            lu: LuConfig {
                block_size: BLOCK,
                blocks: BLOCKS,
                keep_contents: true,
                ..LuConfig::default()
            },
            ports: PORTS,
            groups: 2,
            initiator: HOST_A.to_owned(),
            other_initiator: HOST_B.to_owned(),
        }
    }
}

/// One nexus of our host.
#[derive(Clone, Copy, Debug)]
struct Slot {
    nexus: Nexus,
    qualifier: u16,
    cut: bool,
}

/// Nexuses of our host and one of the other host to a simulated logical
/// unit (see the module documentation).
#[derive(Debug)]
pub struct SimFabric {
    cfg: SimConfig,
    lu: LogicalUnit,
    slots: Vec<Slot>,
    other: Nexus,
    restarts: usize,
}

fn err(what: &str, e: impl std::fmt::Display) -> FabricError {
    FabricError(format!("{what}: {e}"))
}

/// The initiator port `name` with ISID qualifier `qualifier`, interned.
fn initiator(lu: &mut LogicalUnit, name: &str, qualifier: u16) -> Result<Nexus, FabricError> {
    let hex = format!("{:012x}", isid(qualifier));
    let id = lu
        .add_initiator(&TransportId::Iscsi {
            name: name.as_bytes(),
            isid: Some(hex.as_bytes()),
        })
        .map_err(|e| err("initiator TransportID", e))?;
    // The target port is set by the caller.
    Ok(Nexus::new(id, 0))
}

impl SimFabric {
    /// The default logical unit ([`SimConfig::default`]) with `n` nexuses
    /// of our host and the other host's.
    pub fn start(n: usize) -> Result<Self, FabricError> {
        Self::with_config(SimConfig::default(), n)
    }

    /// A logical unit as `cfg` says, with `n` nexuses of our host and the
    /// other host's, every one logged in.
    pub fn with_config(cfg: SimConfig, n: usize) -> Result<Self, FabricError> {
        if cfg.ports == 0 || cfg.groups == 0 {
            return Err(FabricError(format!(
                "{} target port(s) in {} group(s): need at least one of each",
                cfg.ports, cfg.groups
            )));
        }
        let mut lu = LogicalUnit::new(cfg.lu.clone());
        for g in 1..=cfg.groups {
            lu.add_target_port_group(g, AluaState::ActiveOptimized)
                .map_err(|e| err("target port group", e))?;
        }
        for p in 1..=cfg.ports {
            lu.add_target_port(p, 1 + (p - 1) % cfg.groups)
                .map_err(|e| err("target port", e))?;
        }
        let mut other = initiator(&mut lu, &cfg.other_initiator, 1)?;
        other.port = 1;
        let mut f = SimFabric {
            cfg,
            lu,
            slots: Vec::new(),
            other,
            restarts: 0,
        };
        f.log_in(other)
            .map_err(|e| FabricError(format!("other host: {}", e.0)))?;
        for _ in 0..n {
            f.add_nexus()?;
        }
        Ok(f)
    }

    /// The logical unit, for the truth the host cannot see
    /// (registrations, the reservation, the blocks).
    pub fn logical_unit(&self) -> &LogicalUnit {
        &self.lu
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The I_T nexus of our host's nexus `i`.
    pub fn nexus(&self, i: usize) -> Option<Nexus> {
        self.slots.get(i).map(|s| s.nexus)
    }

    /// The other host's I_T nexus.
    pub fn other_nexus(&self) -> Nexus {
        self.other
    }

    /// Target restarts so far.
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// Log `n` in as libiscsi's full connect does: the login, then TEST
    /// UNIT READY through the unit attentions a fresh login brings.
    fn log_in(&mut self, n: Nexus) -> Result<(), FabricError> {
        self.lu.login(n).map_err(|e| err("login", e))?;
        for _ in 0..LOGIN_TURS {
            let r = self.run(n, &mpath_scsi::cdb::test_unit_ready(), None, 0);
            if r.transport != TransportStatus::Ok {
                return Err(FabricError(format!(
                    "TEST UNIT READY after login: {}",
                    r.error.unwrap_or_default()
                )));
            }
            let sense = Sense::new_truncated(r.sense.as_slice()).ok();
            match (r.status, sense) {
                (s, _) if s == Status::Good.code() || s == Status::ReservationConflict.code() => {
                    return Ok(())
                }
                (_, Some(s)) if s.key() == SenseKey::UnitAttention && s.asc() == 0x29 => {}
                (s, sense) => {
                    self.lu.drop_nexus(n);
                    return Err(FabricError(format!(
                        "TEST UNIT READY after login: status {s:#04x}, sense {:?}",
                        sense.map(|x| (x.key(), x.asc(), x.ascq()))
                    )));
                }
            }
        }
        self.lu.drop_nexus(n);
        Err(FabricError(String::from(
            "TEST UNIT READY after login: unit attentions without end",
        )))
    }

    /// Deliver one command to the device server on `n`.
    fn run(
        &mut self,
        n: Nexus,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        let mut data = vec![0u8; data_in_len];
        let r = self.lu.command(n, cdb, data_out.unwrap_or(&[]), &mut data);
        // Commands are synchronous: nothing is outstanding to abort.
        drop(self.lu.take_aborted());
        match r {
            Ok(resp) => {
                data.truncate(resp.data_in_len);
                CommandResult {
                    transport: TransportStatus::Ok,
                    status: resp.status.code(),
                    sense: resp.sense().map(<[u8]>::to_vec).unwrap_or_default(),
                    data,
                    error: None,
                }
            }
            Err(e) => CommandResult::transport_failure(TransportStatus::NoConnect, e.to_string()),
        }
    }

    fn slot(&self, i: usize) -> Result<Slot, FabricError> {
        self.slots
            .get(i)
            .copied()
            .ok_or_else(|| FabricError(format!("no nexus {i}")))
    }

    fn set_cut(&mut self, i: usize, cut: bool) {
        if let Some(s) = self.slots.get_mut(i) {
            s.cut = cut;
        }
    }
}

impl Fabric for SimFabric {
    fn describe(&self) -> String {
        format!(
            "mpath-sim SCSI logical unit ({} target ports in {} active/optimized group(s), {} \
             blocks of {})",
            self.cfg.ports, self.cfg.groups, self.cfg.lu.blocks, self.cfg.lu.block_size
        )
    }

    fn nexus_count(&self) -> usize {
        self.slots.len()
    }

    fn block_size(&self) -> usize {
        self.lu.store().block_size()
    }

    fn initiator_port(&self, i: usize) -> Option<(String, u64)> {
        let s = self.slots.get(i)?;
        Some((self.cfg.initiator.clone(), isid(s.qualifier)))
    }

    fn other_initiator_port(&self) -> Option<(String, u64)> {
        Some((self.cfg.other_initiator.clone(), isid(1)))
    }

    fn add_nexus(&mut self) -> Result<usize, FabricError> {
        let i = self.slots.len();
        let port = u16::try_from(i + 1)
            .ok()
            .filter(|&p| p <= self.cfg.ports)
            .ok_or_else(|| {
                FabricError(format!(
                    "nexus {i}: the logical unit has {} target ports",
                    self.cfg.ports
                ))
            })?;
        let qualifier = port;
        let mut nexus = initiator(&mut self.lu, &self.cfg.initiator, qualifier)?;
        nexus.port = port;
        self.log_in(nexus)?;
        self.slots.push(Slot {
            nexus,
            qualifier,
            cut: false,
        });
        Ok(i)
    }

    fn cut_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        let s = self.slot(i)?;
        self.lu.drop_nexus(s.nexus);
        self.set_cut(i, true);
        Ok(())
    }

    fn restore_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        let s = self.slot(i)?;
        self.log_in(s.nexus)?;
        self.set_cut(i, false);
        Ok(())
    }

    fn command(
        &mut self,
        i: usize,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        match self.slots.get(i) {
            Some(s) => {
                let n = s.nexus;
                self.run(n, cdb, data_out, data_in_len)
            }
            None => CommandResult::no_nexus(i),
        }
    }

    fn other_host_command(
        &mut self,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        self.run(self.other, cdb, data_out, data_in_len)
    }

    fn write_batch(
        &mut self,
        i: usize,
        writes: &[(u64, &[u8])],
        cut: bool,
    ) -> Result<BatchOutcome, FabricError> {
        let n = self.slot(i)?.nexus;
        let bs = self.block_size();
        let mut completions = Vec::with_capacity(writes.len());
        for &(lba, data) in writes {
            let c = write_cdb(lba, data, bs)
                .ok_or_else(|| FabricError(format!("write of {} bytes at {lba}", data.len())))?;
            let r = if cut && data.len() > IMMEDIATE_DATA {
                // Waiting for an R2T when the connection went.
                CommandResult::transport_failure(
                    TransportStatus::Disrupted,
                    format!("nexus {i} cut before the R2T"),
                )
            } else {
                self.run(n, &c, Some(data), 0)
            };
            completions.push(classify(r.transport, r.status, r.sense()));
        }
        if cut {
            self.cut_nexus(i)?;
        }
        Ok(BatchOutcome {
            completions,
            in_flight_at_cut: if cut { writes.len() } else { 0 },
        })
    }

    fn restart_target(&mut self) -> Result<String, RestartError> {
        let failed = |e: FabricError| RestartError::Failed(e);
        self.lu.restart();
        self.restarts += 1;
        let kept = self.lu.registrations().len();
        let reserved = self.lu.reservation().is_some();
        // Every session died with the target: drop them all, then log each
        // in again as the same I_T nexus, cut ones included.
        let nexuses: Vec<Nexus> = self.slots.iter().map(|s| s.nexus).collect();
        for &n in nexuses.iter().chain([self.other].iter()) {
            self.lu.drop_nexus(n);
        }
        for (i, &n) in nexuses.iter().enumerate() {
            self.log_in(n).map_err(failed)?;
            self.set_cut(i, false);
        }
        self.log_in(self.other).map_err(failed)?;
        Ok(format!(
            "simulated power loss #{} (APTPL {}: {kept} registration(s){} kept), {} nexus(es) \
             and the other host logged in again with their ISIDs",
            self.restarts,
            if self.lu.aptpl() { "on" } else { "off" },
            if reserved { " and the reservation" } else { "" },
            nexuses.len()
        ))
    }
}
