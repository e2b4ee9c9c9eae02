//! A deterministic discrete-event fabric simulator.
//!
//! The targets here keep the truth the host cannot see (which block holds
//! which write generation, which nexus holds which registration) and answer
//! in real bytes: SCSI sense data, RTPG payloads, PERSISTENT RESERVE IN
//! data, NVMe completion status and ANA log pages. The host side runs the
//! project's real adapters over them.
//!
//! - [`block_store`]: blocks and the write-generation truth behind them.
//! - [`engine`]: the discrete-event run: links, ports, faults, the host's
//!   real device and adapter, invariants, replay by seed.
//! - [`scsi_target`]: a SCSI logical unit's device server behind target
//!   port groups.
//! - [`nvme_target`]: an NVMe subsystem's controllers, namespaces and ANA
//!   groups.
//! - [`sim_fabric`]: mpath-prsuite's `Fabric` on a [`scsi_target`] logical
//!   unit, so the persistent-reservation scenarios run here as on real
//!   iSCSI targets.

pub mod block_store;
pub mod builtin;
#[cfg(feature = "cli")]
pub mod cli;
pub mod engine;
pub mod nvme_target;
#[cfg(feature = "cli")]
pub mod scenario_file;
pub mod scsi_target;
pub mod sim_fabric;
