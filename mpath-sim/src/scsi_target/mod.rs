//! A SCSI logical unit behind target port groups: a pure device server that
//! answers CDBs with real bytes (status, sense data, parameter data), keeps
//! the truth the host cannot see (registrations, the reservation, each
//! group's access state, which write landed where), and reads no clock.
//!
//! # Call order
//!
//! 1. Build: [`LogicalUnit::new`] with a [`LuConfig`], then
//!    [`add_target_port_group`](LogicalUnit::add_target_port_group) and
//!    [`add_target_port`](LogicalUnit::add_target_port) for the topology,
//!    and [`add_initiator`](LogicalUnit::add_initiator) for each initiator
//!    port (a TransportID; several hosts may share the logical unit).
//! 2. [`login`](LogicalUnit::login) each I_T nexus. A nexus that has not
//!    existed since power on gets POWER ON, RESET (29/00); one that existed
//!    and was [`drop_nexus`](LogicalUnit::drop_nexus)ed gets I_T NEXUS LOSS
//!    OCCURRED (29/07), reported on its next command.
//! 3. [`command`](LogicalUnit::command) for every CDB. `Err` means it never
//!    reached the device server (offline port, unknown port, nexus not
//!    logged in): the engine reports a transport failure. After PREEMPT AND
//!    ABORT, [`take_aborted`](LogicalUnit::take_aborted) lists the I_T
//!    nexuses whose outstanding commands the engine must drop.
//! 4. Faults: [`set_group_state`](LogicalUnit::set_group_state) (an
//!    implicit ALUA transition), [`restart`](LogicalUnit::restart) (power
//!    loss: reservations survive only with APTPL).
//! 5. Truth: [`registrations`](LogicalUnit::registrations),
//!    [`reservation`](LogicalUnit::reservation),
//!    [`groups`](LogicalUnit::groups), [`store`](LogicalUnit::store).
//!
//! # Order of checks in `command`
//!
//! Following LIO and SAM-5: a pending unit attention (except for INQUIRY,
//! REPORT LUNS, REQUEST SENSE), then the port's access state
//! ([`access_state`]), then the CDB's fields, then reservation conflicts
//! ([`reservation`]), then the command itself.
//!
//! # Commands
//!
//! TEST UNIT READY, REQUEST SENSE, INQUIRY (standard data and VPD pages
//! 00h, 80h, 83h), REPORT LUNS, REPORT / SET TARGET PORT GROUPS, PERSISTENT
//! RESERVE IN / OUT (every service action but REPLACE LOST RESERVATION),
//! READ CAPACITY (10) / (16), READ (10) / (16), WRITE (10) / (16). Any
//! other operation code is INVALID COMMAND OPERATION CODE.
//!
//! # Data
//!
//! `data_in` is the initiator's buffer: the device server writes at most
//! the ALLOCATION LENGTH (or the transfer length) into it, cut further to
//! the buffer, and [`Response::residual`] says how far off the buffer was.
//! `data_out` must hold at least what the CDB says is sent (PARAMETER LIST
//! LENGTH, or the WRITE's blocks); bytes after that are ignored, and fewer
//! are ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT (0E/03),
//! LIO's answer to a write underflow. READ and WRITE allocate nothing.
//!
//! # Panic contract
//!
//! No input bytes make this module panic; every CDB gets a response whose
//! sense data, if any, parses with mpath-scsi's sense parser (a proptest in
//! `tests/scsi_target_fuzz.rs` holds it to that).

pub mod access_state;
mod block;
pub mod cdb;
mod inquiry;
mod nexus;
mod pr_in;
mod pr_out;
pub mod reservation;
mod response;
mod target_port_groups;
mod unit_attention;

pub use nexus::{InitiatorId, Nexus};
pub use reservation::{Access, Holder, Registration, Reservation};
pub use response::{asc, Check, Failure, NotDelivered, Residual, Response, Status, SENSE_MAX};
pub use target_port_groups::{TargetPortGroup, TopologyError};
pub use unit_attention::UnitAttentions;

use mpath_scsi::{
    AluaState, Command, ProtocolId, SenseFormat, SupportedStates, TpgStatus, Tpgs, TransportId,
    WireError,
};

use crate::block_store::BlockStore;

use self::cdb::{Extra, Op};
use self::nexus::{Initiators, Nexuses};
use self::reservation::PrState;
use self::target_port_groups::Topology;

/// How the logical unit presents itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuConfig {
    /// TPGS in standard INQUIRY data: implicit and/or explicit ALUA. SET
    /// TARGET PORT GROUPS is refused without explicit support, REPORT
    /// TARGET PORT GROUPS without either.
    pub tpgs: Tpgs,
    /// The states every group may be in (the supported-state bits of
    /// REPORT TARGET PORT GROUPS); SET TARGET PORT GROUPS to another state
    /// is INVALID FIELD IN PARAMETER LIST.
    pub supported_states: SupportedStates,
    /// IMPLICIT TRANSITION TIME in seconds (extended RTPG header).
    pub implicit_transition_time: u8,
    /// Format of the sense data of CHECK CONDITION (D_SENSE).
    pub sense_format: SenseFormat,
    /// The logical unit's NAA IEEE Registered Extended (6h) identifier.
    pub naa: [u8; 16],
    /// PRODUCT SERIAL NUMBER of VPD page 80h (ASCII).
    pub serial: Vec<u8>,
    /// T10 VENDOR IDENTIFICATION.
    pub vendor: [u8; 8],
    /// PRODUCT IDENTIFICATION.
    pub product: [u8; 16],
    /// The transport the target ports speak, for VPD 83h's PROTOCOL
    /// IDENTIFIER.
    pub protocol: ProtocolId,
    /// The LUN, as REPORT LUNS lists it (peripheral or flat addressing).
    pub lun: u16,
    /// Logical block length in bytes.
    pub block_size: usize,
    /// Number of logical blocks.
    pub blocks: u64,
    /// Keep every written block's bytes, not only its stamp
    /// ([`BlockStore::with_contents`]): for hosts that read back what they
    /// wrote byte for byte (the reservation suite's
    /// [`SimFabric`](crate::sim_fabric::SimFabric)). Off by default: a
    /// block of memory per block written.
    pub keep_contents: bool,
}

impl Default for LuConfig {
    fn default() -> Self {
        LuConfig {
            tpgs: Tpgs::Both,
            supported_states: SupportedStates::all().difference(SupportedStates::LBA_DEPENDENT),
            implicit_transition_time: 10,
            sense_format: SenseFormat::Fixed,
            naa: [
                0x60, 0x01, 0x40, 0x50, 0x53, 0x49, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x01,
            ],
            serial: b"SIM0001".to_vec(),
            vendor: *b"MPATHSIM",
            product: *b"SIMULATED LU    ",
            protocol: ProtocolId::ISCSI,
            lun: 0,
            block_size: 512,
            blocks: 1 << 20,
            keep_contents: false,
        }
    }
}

/// A SCSI logical unit and its device server.
#[derive(Debug)]
pub struct LogicalUnit {
    config: LuConfig,
    topology: Topology,
    initiators: Initiators,
    nexuses: Nexuses,
    pr: PrState,
    store: BlockStore,
    aborted: Vec<Nexus>,
}

impl LogicalUnit {
    /// A logical unit with no ports yet.
    pub fn new(config: LuConfig) -> Self {
        let store = if config.keep_contents {
            BlockStore::with_contents(config.block_size, config.blocks)
        } else {
            BlockStore::new(config.block_size, config.blocks)
        };
        LogicalUnit {
            config,
            topology: Topology::default(),
            initiators: Initiators::default(),
            nexuses: Nexuses::new(),
            pr: PrState::default(),
            store,
            aborted: Vec::new(),
        }
    }

    // ----- topology and nexuses -----

    /// Add target port group `id` in `state`.
    pub fn add_target_port_group(
        &mut self,
        id: u16,
        state: AluaState,
    ) -> Result<(), TopologyError> {
        self.topology.add_group(id, state)
    }

    /// Add target port `rtpi` (non-zero) to group `group`.
    pub fn add_target_port(&mut self, rtpi: u16, group: u16) -> Result<(), TopologyError> {
        self.topology.add_port(rtpi, group)
    }

    /// Set or clear a group's PREF bit.
    pub fn set_group_preferred(&mut self, group: u16, pref: bool) -> Result<(), TopologyError> {
        self.topology.set_preferred(group, pref)
    }

    /// The id of initiator port `id`, interned on first use.
    pub fn add_initiator(&mut self, id: &TransportId<'_>) -> Result<InitiatorId, WireError> {
        self.initiators.intern(id)
    }

    /// The TransportID of an interned initiator port.
    pub fn initiator(&self, id: InitiatorId) -> Option<TransportId<'_>> {
        self.initiators.transport_id(id)
    }

    /// Establish I_T nexus `n` (a new login, or a session reinstated after
    /// a loss): POWER ON, RESET if it has not existed since power on, else
    /// I_T NEXUS LOSS OCCURRED, replacing whatever was pending for it.
    pub fn login(&mut self, n: Nexus) -> Result<(), TopologyError> {
        if !self.topology.has_port(n.port) {
            return Err(TopologyError::UnknownPort(n.port));
        }
        let st = self.nexuses.entry(n).or_default();
        let code = if st.seen {
            asc::I_T_NEXUS_LOSS
        } else {
            asc::POWER_ON_RESET
        };
        st.unit_attentions.reset_to(code);
        st.logged_in = true;
        st.seen = true;
        Ok(())
    }

    /// I_T nexus `n` is lost (link down, session dropped). Registrations
    /// stay (SPC-4 5.13.1: they belong to the nexus, not the session).
    pub fn drop_nexus(&mut self, n: Nexus) {
        if let Some(st) = self.nexuses.get_mut(&n) {
            st.logged_in = false;
        }
    }

    /// Whether `n` is logged in.
    pub fn is_logged_in(&self, n: Nexus) -> bool {
        self.nexuses.get(&n).is_some_and(|s| s.logged_in)
    }

    /// Whether target port `rtpi` answers commands (exists and its group
    /// is not offline).
    pub fn port_answers(&self, rtpi: u16) -> bool {
        self.topology
            .group_of(rtpi)
            .is_some_and(|g| g.state != AluaState::Offline)
    }

    /// Move `group` to `state` on the target's own initiative (implicit
    /// ALUA): STATUS CODE 02h, and ASYMMETRIC ACCESS STATE CHANGED for
    /// every logged-in I_T nexus. No change, no unit attention.
    pub fn set_group_state(&mut self, group: u16, state: AluaState) -> Result<(), TopologyError> {
        if !target_port_groups::supports(self.config.supported_states, state) {
            return Err(TopologyError::UnsupportedState(state));
        }
        if self
            .topology
            .set_state(group, state, TpgStatus::AlteredByImplicitBehavior)?
        {
            self.ua_every_nexus(asc::ASYMMETRIC_ACCESS_STATE_CHANGED, None);
        }
        Ok(())
    }

    /// Move target port `rtpi` into `group` (an array reassigning a port
    /// between controllers): REPORT TARGET PORT GROUPS and VPD page 83h
    /// report the new membership, and every logged-in I_T nexus gets
    /// ASYMMETRIC ACCESS STATE CHANGED, since the port's access state is
    /// now its new group's (scsi_dh_alua re-reads the groups on it). No
    /// move, no unit attention.
    pub fn move_target_port(&mut self, rtpi: u16, group: u16) -> Result<(), TopologyError> {
        if self.topology.move_port(rtpi, group)? {
            self.ua_every_nexus(asc::ASYMMETRIC_ACCESS_STATE_CHANGED, None);
        }
        Ok(())
    }

    /// Power loss and power on. Registrations and the reservation survive
    /// only if the last register action set APTPL. Nexuses stay logged in
    /// (the engine drops them itself if it models the sessions going) and
    /// each gets POWER ON, RESET in place of anything pending. Access
    /// states and blocks are kept.
    pub fn restart(&mut self) {
        self.pr.power_loss();
        self.aborted.clear();
        self.nexuses.retain(|_, st| st.logged_in);
        for st in self.nexuses.values_mut() {
            st.unit_attentions.reset_to(asc::POWER_ON_RESET);
        }
    }

    // ----- truth -----

    /// The configuration.
    pub fn config(&self) -> &LuConfig {
        &self.config
    }

    /// Every target port group, in the order added.
    pub fn groups(&self) -> &[TargetPortGroup] {
        &self.topology.groups
    }

    /// The state of group `id`.
    pub fn group_state(&self, id: u16) -> Option<AluaState> {
        self.topology
            .groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.state)
    }

    /// The registrations, in the order made.
    pub fn registrations(&self) -> &[Registration] {
        &self.pr.registrations
    }

    /// The key I_T nexus `n` is registered with.
    pub fn registered_key(&self, n: Nexus) -> Option<u64> {
        self.pr.key_of(n)
    }

    /// The reservation.
    pub fn reservation(&self) -> Option<Reservation> {
        self.pr.reservation
    }

    /// Whether `n` holds the reservation.
    pub fn is_holder(&self, n: Nexus) -> bool {
        self.pr.is_holder(n)
    }

    /// PRgeneration.
    pub fn pr_generation(&self) -> u32 {
        self.pr.generation
    }

    /// Whether APTPL is in effect.
    pub fn aptpl(&self) -> bool {
        self.pr.aptpl
    }

    /// The blocks and the record of stale writes.
    pub fn store(&self) -> &BlockStore {
        &self.store
    }

    /// The unit attentions pending for `n`, oldest first.
    pub fn pending_unit_attentions(&self, n: Nexus) -> &[(u8, u8)] {
        self.nexuses
            .get(&n)
            .map_or(&[], |s| s.unit_attentions.pending())
    }

    /// The I_T nexuses whose commands PREEMPT AND ABORT aborted since the
    /// last call (SPC-4 5.13.11.5): the engine drops their outstanding
    /// commands. Every target port is listed for an ALL_TG_PT registration.
    pub fn take_aborted(&mut self) -> Vec<Nexus> {
        core::mem::take(&mut self.aborted)
    }

    // ----- unit attentions -----

    fn ua(&mut self, n: Nexus, code: (u8, u8)) {
        self.nexuses
            .entry(n)
            .or_default()
            .unit_attentions
            .establish(code);
    }

    /// `code` for every logged-in nexus except `except`.
    fn ua_every_nexus(&mut self, code: (u8, u8), except: Option<Nexus>) {
        for (n, st) in self.nexuses.iter_mut() {
            if st.logged_in && Some(*n) != except {
                st.unit_attentions.establish(code);
            }
        }
    }

    /// The I_T nexuses registration `r` registers.
    fn nexuses_of(&self, r: &Registration) -> Vec<Nexus> {
        match r.port {
            Some(p) => vec![Nexus::new(r.initiator, p)],
            None => self
                .topology
                .port_ids()
                .map(|p| Nexus::new(r.initiator, p))
                .collect(),
        }
    }

    /// `code` for every nexus of registration `r` but `except`.
    fn ua_registration(&mut self, r: &Registration, code: (u8, u8), except: Nexus) {
        for n in self.nexuses_of(r) {
            if n != except {
                self.ua(n, code);
            }
        }
    }

    // ----- commands -----

    /// Run one command from I_T nexus `n`. See the module docs for what
    /// `data_out` and `data_in` mean.
    pub fn command(
        &mut self,
        n: Nexus,
        cdb: &[u8],
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<Response, NotDelivered> {
        let state = match self.topology.group_of(n.port) {
            None => return Err(NotDelivered::UnknownPort(n.port)),
            Some(g) if g.state == AluaState::Offline => {
                return Err(NotDelivered::PortOffline(n.port))
            }
            Some(g) => g.state,
        };
        let room = data_in.len();
        let format = self.config.sense_format;
        let st = self
            .nexuses
            .get_mut(&n)
            .filter(|s| s.logged_in)
            .ok_or(NotDelivered::NexusNotLoggedIn)?;
        let op = Op::of(cdb);
        if !matches!(op, Op::Inquiry | Op::ReportLuns | Op::RequestSense) {
            if let Some(code) = st.unit_attentions.pop() {
                return Ok(Response::failed(
                    Failure::unit_attention(code),
                    format,
                    room,
                ));
            }
        }
        let result = access_state::admit(state, op)
            .and_then(|()| self.execute(n, op, cdb, data_out, data_in));
        Ok(result.unwrap_or_else(|f| Response::failed(f, format, room)))
    }

    fn execute(
        &mut self,
        n: Nexus,
        op: Op,
        cdb: &[u8],
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<Response, Failure> {
        match op {
            Op::Unsupported => Err(Failure::from_cdb_error(WireError::new(
                mpath_scsi::WireErrorKind::UnknownFormat,
                "OPERATION CODE",
                0,
            ))),
            Op::RequestSense | Op::ReportLuns | Op::ReadCapacity => match cdb::parse_extra(cdb)? {
                Extra::RequestSense { desc, alloc_len } => {
                    Ok(self.request_sense(n, desc, alloc_len, data_in))
                }
                Extra::ReportLuns { select, alloc_len } => {
                    Ok(self.report_luns(select, alloc_len, data_in))
                }
                Extra::ReadCapacity10 => Ok(self.read_capacity(None, data_in)),
                Extra::ReadCapacity16 { alloc_len } => {
                    Ok(self.read_capacity(Some(alloc_len), data_in))
                }
            },
            _ => {
                let parsed = cdb::parse(cdb)?;
                if !cdb::matches(op, &parsed.command) {
                    return Err(Failure::invalid_cdb(0, None));
                }
                let access = match op {
                    Op::Read => reservation::Access::Read,
                    Op::Write | Op::SetTargetPortGroups => reservation::Access::Write,
                    _ => reservation::Access::Unrestricted,
                };
                if self.pr.conflicts(n, access) {
                    return Err(Failure::Conflict);
                }
                self.run(n, parsed.command, data_out, data_in)
            }
        }
    }

    fn run(
        &mut self,
        n: Nexus,
        c: Command,
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<Response, Failure> {
        let room = data_in.len();
        match c {
            Command::TestUnitReady => Ok(Response::good(room)),
            Command::Inquiry { page, alloc_len } => {
                self.inquiry(n, page, usize::from(alloc_len), data_in)
            }
            Command::ReportTargetPortGroups { format, alloc_len } => {
                if self.config.tpgs == Tpgs::NotSupported {
                    return Err(Failure::invalid_cdb(1, Some(4)));
                }
                let data = self
                    .topology
                    .report(
                        format,
                        self.config.implicit_transition_time,
                        self.config.supported_states,
                    )
                    .map_err(|_| Failure::illegal(asc::INVALID_FIELD_IN_CDB))?;
                Ok(response::send(data, usize_of(alloc_len), data_in))
            }
            Command::SetTargetPortGroups { param_len } => {
                if !self.config.tpgs.explicit() {
                    return Err(Failure::invalid_cdb(1, Some(4)));
                }
                let list = parameter_list(data_out, param_len)?;
                let changed = self
                    .topology
                    .apply_stpg(list, self.config.supported_states)?;
                if !changed.is_empty() {
                    // SPC-4 6.45: every I_T nexus but the one that
                    // asked learns of the change.
                    self.ua_every_nexus(asc::ASYMMETRIC_ACCESS_STATE_CHANGED, Some(n));
                }
                Ok(Response::good(room))
            }
            Command::PersistentReserveIn { action, alloc_len } => {
                self.persistent_reserve_in(action, usize::from(alloc_len), data_in)
            }
            Command::PersistentReserveOut {
                action,
                pr_type,
                param_len,
            } => {
                let list = parameter_list(data_out, param_len)?;
                self.persistent_reserve_out(n, action, pr_type, list)?;
                Ok(Response::good(room))
            }
            Command::Read10(p) | Command::Read16(p) => self.read(p, data_in),
            Command::Write10(p) | Command::Write16(p) => self.write(p, data_out, room),
            _ => Err(Failure::illegal(asc::INVALID_OPCODE)),
        }
    }

    fn request_sense(
        &mut self,
        n: Nexus,
        desc: bool,
        alloc_len: u8,
        data_in: &mut [u8],
    ) -> Response {
        let code = self
            .nexuses
            .get_mut(&n)
            .and_then(|s| s.unit_attentions.pop());
        let format = if desc {
            SenseFormat::Descriptor
        } else {
            SenseFormat::Fixed
        };
        let check = match code {
            Some(code) => Check {
                key: mpath_scsi::SenseKey::UnitAttention,
                code,
                sks: None,
            },
            None => Check {
                key: mpath_scsi::SenseKey::NoSense,
                code: (0, 0),
                sks: None,
            },
        };
        let mut buf = [0u8; SENSE_MAX];
        let n = check.repr(format).emit(&mut buf).unwrap_or(0);
        response::send(buf.get(..n).unwrap_or(&[]), usize::from(alloc_len), data_in)
    }
}

/// A `u32` length as `usize` (saturating on 16-bit targets).
fn usize_of(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// The first PARAMETER LIST LENGTH bytes of `data_out`, or 0E/03 if the
/// initiator sent fewer.
fn parameter_list(data_out: &[u8], param_len: u32) -> Result<&[u8], Failure> {
    data_out
        .get(..usize_of(param_len))
        .ok_or(Failure::illegal(asc::INVALID_FIELD_IN_COMMAND_IU))
}
