//! The small interface the reservation scenarios run against: numbered
//! nexuses from one host to one logical unit, a way to cut and restore
//! each, SCSI commands on each, and a second host for preemption.
//! mpath-iscsi implements it on real iSCSI targets (`TgtFabric`,
//! `LioFabric`, `PortalFabric`), mpath-sim on its simulated logical unit
//! (`SimFabric`), and the same scenarios run on each.
//!
//! A fabric moves bytes: [`Fabric::command`] sends one CDB on one nexus.
//! What the host asks for through it (INQUIRY and VPD page 83h to identify
//! a path, TEST UNIT READY, PERSISTENT RESERVE OUT / IN, READ and WRITE)
//! is built on that once, here, with mpath-scsi's codecs. Results are what
//! a transport adapter reports to the core: I/O as a classified
//! [`Completion`] (per write for a batch of writes outstanding together,
//! [`BatchOutcome`]), PR commands as a [`PrExchange`] (the target's answer
//! plus the notices seen on the way).

use std::fmt;

use mpath_core::outcome::{Completion, Outcome, ProbeResult, TargetError};
use mpath_core::reservation::PrCommand;
use mpath_scsi::cdb::{self, RwParams};
use mpath_scsi::classify::{classify, classify_probe};
use mpath_scsi::vpd::page;
use mpath_scsi::{PathIdentity, PrOptions, ScsiCommand};

use crate::command::CommandResult;
use crate::pr_transport::{self, PrExchange};

/// ALLOCATION LENGTH for standard INQUIRY data: the 36 bytes SPC-4 names
/// and then some (tgt returns 66).
const INQUIRY_LEN: u16 = 96;
/// ALLOCATION LENGTH for VPD page 83h: a few designators.
const VPD83_LEN: u16 = 252;

/// Why a fabric operation (not a command) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FabricError(pub String);

impl fmt::Display for FabricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FabricError {}

/// Why [`Fabric::restart_target`] did not restart the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestartError {
    /// The fabric has no way to restart its target (a target it only
    /// reaches through portals, or one whose state it cannot keep): why.
    Unsupported(String),
    /// The restart was tried and failed.
    Failed(FabricError),
}

impl fmt::Display for RestartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartError::Unsupported(s) => write!(f, "cannot restart the target: {s}"),
            RestartError::Failed(e) => write!(f, "target restart failed: {e}"),
        }
    }
}

impl std::error::Error for RestartError {}

/// How a batch of writes outstanding together on one nexus ended
/// ([`Fabric::write_batch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Each write's completion, in the order given.
    pub completions: Vec<Completion>,
    /// Writes outstanding (sent, no status yet) when the nexus was cut; 0
    /// without a cut.
    pub in_flight_at_cut: usize,
}

/// Nexuses from our host (and one from another host) to one logical unit.
pub trait Fabric {
    /// What this fabric is, for the scenario table.
    fn describe(&self) -> String;
    /// Nexuses of our host, numbered from 0.
    fn nexus_count(&self) -> usize;
    /// Logical block size in bytes.
    fn block_size(&self) -> usize;
    /// Log in one more nexus of our host (a new path appears); its number.
    fn add_nexus(&mut self) -> Result<usize, FabricError>;
    /// Cut nexus `i` at the target and keep it down: commands on it fail
    /// at the transport until [`Fabric::restore_nexus`].
    fn cut_nexus(&mut self, i: usize) -> Result<(), FabricError>;
    /// Bring nexus `i` back (log in again).
    fn restore_nexus(&mut self, i: usize) -> Result<(), FabricError>;
    /// Send `cdb` on nexus `i` with `data_out` (WRITE, PERSISTENT RESERVE
    /// OUT) and room for `data_in_len` bytes back, and wait for it. A
    /// nexus that does not exist, or is down, answers with a transport
    /// failure.
    fn command(
        &mut self,
        i: usize,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult;
    /// The same from the other host (another initiator name).
    fn other_host_command(
        &mut self,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult;
    /// Queue every write of `writes` (LBA, whole blocks) on nexus `i` at
    /// once, so that they are outstanding together, and wait for each. With
    /// `cut`, cut nexus `i` as [`Fabric::cut_nexus`] does while some of them
    /// are still outstanding; each then completes as the cut left it.
    fn write_batch(
        &mut self,
        i: usize,
        writes: &[(u64, &[u8])],
        cut: bool,
    ) -> Result<BatchOutcome, FabricError>;

    /// The initiator port of our nexus `i`: initiator name and the 48-bit
    /// ISID, as a TransportID names it
    /// (READ FULL STATUS, SPEC_I_PT, REGISTER AND MOVE). `None` when the
    /// fabric cannot say.
    fn initiator_port(&self, _i: usize) -> Option<(String, u64)> {
        None
    }
    /// The other host's initiator port, as [`Fabric::initiator_port`].
    fn other_initiator_port(&self) -> Option<(String, u64)> {
        None
    }

    /// Restart the target as a power loss would: it keeps what it stores
    /// (the logical unit's blocks, APTPL state) and loses everything else;
    /// then log every nexus in again as the same I_T nexus (same initiator
    /// name and ISID), cut ones included. What it did, in words. The
    /// default cannot ([`RestartError::Unsupported`]): a scenario that
    /// needs a restart reports it not done, never passed.
    fn restart_target(&mut self) -> Result<String, RestartError> {
        Err(RestartError::Unsupported(format!(
            "{} has no way to restart its target",
            self.describe()
        )))
    }

    /// A command the SCSI adapter built, on nexus `i`.
    fn send(&mut self, i: usize, cmd: &ScsiCommand) -> CommandResult {
        let (data_out, data_in_len) = buffers(cmd);
        self.command(i, cmd.cdb(), data_out, data_in_len)
    }

    /// Standard INQUIRY and VPD page 83h through nexus `i`: which logical
    /// unit it reaches, through which target port and group.
    fn identify(&mut self, i: usize) -> Result<PathIdentity, FabricError> {
        identify_with(&format!("nexus {i}"), |cdb, len| {
            self.command(i, cdb, None, len)
        })
    }

    /// The same through the other host's nexus (which target port it
    /// reaches, for REGISTER AND MOVE).
    fn other_host_identify(&mut self) -> Result<PathIdentity, FabricError> {
        identify_with("the other host", |cdb, len| {
            self.other_host_command(cdb, None, len)
        })
    }

    /// TEST UNIT READY on nexus `i`, classified as a path checker would.
    fn probe(&mut self, i: usize) -> ProbeResult {
        let r = self.command(i, &cdb::test_unit_ready(), None, 0);
        classify_probe(r.transport, r.status, r.sense())
    }

    /// A PR command on nexus `i`, per-nexus registrations
    /// ([`PrOptions::DEFAULT`]).
    fn pr(&mut self, i: usize, cmd: PrCommand) -> PrExchange {
        pr_transport::execute(&PrOptions::DEFAULT, cmd, |c| self.send(i, c))
    }

    /// Write `data` (whole blocks) at `lba` through nexus `i`.
    fn write(&mut self, i: usize, lba: u64, data: &[u8]) -> Completion {
        let Some(c) = write_cdb(lba, data, self.block_size()) else {
            return illegal();
        };
        let r = self.command(i, &c, Some(data), 0);
        classify(r.transport, r.status, r.sense())
    }

    /// Read `blocks` blocks at `lba` through nexus `i`.
    fn read(&mut self, i: usize, lba: u64, blocks: u32) -> (Completion, Vec<u8>) {
        let Ok(c) = cdb::read10(&RwParams::new(lba, blocks)) else {
            return (illegal(), Vec::new());
        };
        let len = usize::try_from(blocks)
            .unwrap_or(0)
            .saturating_mul(self.block_size());
        let r = self.command(i, &c, None, len);
        (classify(r.transport, r.status, r.sense()), r.data)
    }

    /// A PR command from the other host.
    fn other_host_pr(&mut self, cmd: PrCommand) -> PrExchange {
        pr_transport::execute(&PrOptions::DEFAULT, cmd, |c| {
            let (data_out, data_in_len) = buffers(c);
            self.other_host_command(c.cdb(), data_out, data_in_len)
        })
    }

    /// A write from the other host.
    fn other_host_write(&mut self, lba: u64, data: &[u8]) -> Completion {
        let Some(c) = write_cdb(lba, data, self.block_size()) else {
            return illegal();
        };
        let r = self.other_host_command(&c, Some(data), 0);
        classify(r.transport, r.status, r.sense())
    }
}

/// Standard INQUIRY and VPD page 83h through `send` (CDB, data-in
/// room), for [`Fabric::identify`].
fn identify_with(
    who: &str,
    mut send: impl FnMut(&[u8], usize) -> CommandResult,
) -> Result<PathIdentity, FabricError> {
    let mut read = |cdb: &[u8], len: u16, what: &str| {
        let r = send(cdb, usize::from(len));
        let outcome = classify(r.transport, r.status, r.sense()).outcome;
        if outcome == Outcome::Success {
            Ok(r.data)
        } else {
            Err(FabricError(format!("{what} on {who}: {outcome:?}")))
        }
    };
    let inquiry = read(&cdb::inquiry(INQUIRY_LEN), INQUIRY_LEN, "INQUIRY")?;
    let vpd = read(
        &cdb::inquiry_vpd(page::DEVICE_IDENTIFICATION, VPD83_LEN),
        VPD83_LEN,
        "INQUIRY VPD 83h",
    )?;
    PathIdentity::from_bytes(&inquiry, &vpd)
        .map_err(|e| FabricError(format!("identity of {who}: {e}")))
}

/// The data-out to send with `cmd`, if any, and the room its data-in
/// needs.
pub fn buffers(cmd: &ScsiCommand) -> (Option<&[u8]>, usize) {
    let out = cmd.data_out();
    let data_in = usize::try_from(cmd.data_in_len()).unwrap_or(usize::MAX);
    ((!out.is_empty()).then_some(out), data_in)
}

/// WRITE (10) of `data`, whole blocks of `block` bytes, at `lba`.
pub fn write_cdb(lba: u64, data: &[u8], block: usize) -> Option<[u8; 10]> {
    let blocks = u32::try_from(data.len().checked_div(block)?).ok()?;
    cdb::write10(&RwParams::new(lba, blocks)).ok()
}

/// What a command that could not be built ends as: the target would have
/// refused it.
fn illegal() -> Completion {
    Outcome::TargetError(TargetError::IllegalRequest).into()
}
