//! # mpath-prsuite
//!
//! mpath's persistent-reservation conformance suite, written once and run
//! on any SCSI target a [`Fabric`] reaches. It does no I/O of its own and
//! links no transport library: mpath-iscsi implements the fabric on real
//! iSCSI targets (tgt, LIO, any target by its portals) over libiscsi, and
//! mpath-sim on its simulated SCSI logical unit.
//!
//! - [`command`]: a finished command ([`CommandResult`]), what every
//!   fabric answers with.
//! - [`fabric`]: numbered nexuses of one host to one logical unit, cut and
//!   restore, raw CDBs, a second host ([`Fabric`]); INQUIRY, TEST UNIT
//!   READY, PERSISTENT RESERVE and READ / WRITE built on that once.
//! - [`pr_transport`]: the reservation coordinator's commands as
//!   PERSISTENT RESERVE OUT / IN on mpath-scsi's codecs, and the target's
//!   answers back.
//! - [`host`]: a host as an embedder builds it, one mpath-core `Device`
//!   and mpath-scsi's `ScsiAdapter`, driven over a fabric.
//! - [`scenarios`]: the 26 scenarios, each ending passed, failed or
//!   unsupported, and the table they print.
#![deny(missing_docs)]

pub mod command;
pub mod fabric;
pub mod host;
pub mod pr_transport;
pub mod scenarios;

pub use command::CommandResult;
pub use fabric::{BatchOutcome, Fabric, FabricError, RestartError};
pub use host::{Host, HostError};
