//! # mpath-iscsi
//!
//! The real-target side of mpath's persistent-reservation work, std only:
//!
//! - [`nexus`]: one libiscsi session to one LUN, one I_T nexus
//!   ([`IscsiNexus`]), sending raw CDBs, or a batch of writes outstanding
//!   together on libiscsi's asynchronous API; results in the terms
//!   `mpath_scsi::classify` takes ([`CommandResult`]).
//! - [`tgt`]: a throw-away `tgtd` target on its own ports ([`TgtTarget`]).
//! - [`lio`]: a throw-away LIO target (the kernel's) in a qemu VM
//!   ([`LioTarget`]), with two target portal groups.
//! - [`tgt_fabric`], [`lio_fabric`]: the reservation scenarios' fabric
//!   on tgt and on LIO; [`portal_fabric`] runs them on any target given
//!   by its portals (LIO's fabric is one), and [`relay`] cuts one nexus
//!   there.
//! - [`persist`]: an `mpathpersist`-like tool over every nexus of a LUN.
//!
//! The fabric trait, the host that drives mpath-core's `Device` over it,
//! the PR transport and the scenarios themselves are mpath-prsuite's
//! (no libiscsi there, so the simulator runs them too); they are
//! re-exported here as [`fabric`], [`host`], [`pr_transport`] and
//! [`scenarios`].
//!
//! libiscsi is a C library (Debian `libiscsi-dev`); the bindings are
//! hand-written in a private module, the only place with `unsafe` besides
//! [`nexus`].
#![deny(missing_docs)]

#[allow(unsafe_code)]
mod ffi;
#[allow(unsafe_code)]
pub mod nexus;

pub mod lio;
pub mod lio_fabric;
pub mod persist;
pub mod portal_fabric;
pub mod relay;
pub mod tgt;
pub mod tgt_fabric;

pub use mpath_prsuite::{fabric, host, pr_transport, scenarios};

pub use fabric::{BatchOutcome, Fabric, FabricError, RestartError};
pub use lio::LioTarget;
pub use lio_fabric::LioFabric;
pub use nexus::{BatchResult, CommandResult, IscsiNexus, NexusConfig, NexusError};
pub use portal_fabric::{PortalConfig, PortalFabric};
pub use tgt::{TgtError, TgtTarget};
pub use tgt_fabric::TgtFabric;
