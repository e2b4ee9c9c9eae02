//! The small interface the reservation scenarios run against: numbered
//! nexuses from one host to one logical unit, a way to cut and restore
//! each, PR commands and block I/O on each, and a second host for
//! preemption. [`TgtFabric`](crate::tgt_fabric::TgtFabric) implements it on
//! a real iSCSI target; a simulator can implement it to run the same
//! scenarios.
//!
//! Results are what a transport adapter reports to the core: I/O as a
//! classified [`Completion`] (per write for a batch of writes outstanding
//! together, [`BatchOutcome`]), PR commands as a [`PrExchange`] (the
//! target's answer plus the notices seen on the way).

use std::fmt;

use mpath_core::outcome::{Completion, ProbeResult};
use mpath_core::reservation::PrCommand;

use crate::pr_transport::PrExchange;

/// Why a fabric operation (not a command) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FabricError(pub String);

impl fmt::Display for FabricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FabricError {}

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
    /// TEST UNIT READY on nexus `i`, classified as a path checker would.
    fn probe(&mut self, i: usize) -> ProbeResult;
    /// A PR command on nexus `i`.
    fn pr(&mut self, i: usize, cmd: PrCommand) -> PrExchange;
    /// Write `data` (whole blocks) at `lba` through nexus `i`.
    fn write(&mut self, i: usize, lba: u64, data: &[u8]) -> Completion;
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
    /// Read `blocks` blocks at `lba` through nexus `i`.
    fn read(&mut self, i: usize, lba: u64, blocks: u32) -> (Completion, Vec<u8>);
    /// A PR command from the other host (another initiator name).
    fn other_host_pr(&mut self, cmd: PrCommand) -> PrExchange;
    /// A write from the other host.
    fn other_host_write(&mut self, lba: u64, data: &[u8]) -> Completion;
}
