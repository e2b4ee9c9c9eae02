//! NVMe wire codecs for multipath: what Linux NVMe native multipath reads and
//! writes, in `no_std` Rust that never panics on any byte string.
//!
//! Each wire structure comes as a checked view (`Foo<T: AsRef<[u8]>>`, whose
//! `new_checked` validates once so that no accessor can panic afterwards) and a
//! `Repr` that `parse`s and `emit`s into a caller's `&mut [u8]` (sized with
//! `buffer_len()`), smoltcp style. Commands come as builders that produce the
//! command dwords (CDW10..CDW15) and data buffers.
//!
//! Citations name sections and figures of the NVM Express Base
//! Specification, Revision 2.0 ("Base 2.0") and the NVM Command Set
//! Specification 1.0 by their quoted titles rather than numbers, because the
//! numbering shifts between 2.0, its errata (2.0a-2.0c) and 2.1. Kernel
//! function names refer to Linux drivers/nvme/host. All multi-byte fields are
//! little-endian (Base 2.0 "Conventions").
//!
//! - [`status`]: completion Status Field, named status codes.
//! - [`classify`]: status and transport outcomes to [`mpath_core::outcome`].
//! - [`ana`]: the Asymmetric Namespace Access log page.
//! - [`log_page`]: the Get Log Page command.
//! - [`identify`]: Identify Controller and Namespace fields multipath needs.
//! - [`aen`]: Asynchronous Event Request completions.
//! - [`reservation`]: Reservation Register / Acquire / Release / Report
//!   commands.
//! - [`resv_report`]: Reservation Status data structure (report data).
//! - [`resv_notification`]: the Reservation Notification log page.
//!
//! Above the codecs, the sans-IO adapter between them and `mpath-core`:
//!
//! - [`identity`]: which head a namespace path belongs to (subsystem NQN +
//!   NSID) and what the adapter needs to know about its controller.
//! - [`command`]: the commands the adapter asks the embedder to send, and
//!   the responses it takes back.
//! - [`adapter`]: core actions to commands, responses to core events, in
//!   the same shape as `mpath_scsi::adapter` (`map_action`,
//!   `settle_unmapped`, one `apply`).
//! - [`pr`]: the reservation coordinator's commands to Reservation
//!   commands and their responses back (`pr_command`, `pr_reply`, the
//!   [`PrStep`] of `mpath_scsi::pr_map`).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Kernel-embeddable: no panics, no floats, no silent overflow, no lossy casts.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_arithmetic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::as_conversions,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::cast_possible_truncation
    )
)]

#[cfg(test)]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod adapter;
pub mod aen;
pub mod ana;
pub mod classify;
pub mod command;
pub mod error;
mod field;
pub mod identify;
pub mod identity;
pub mod log_page;
pub mod pr;
pub mod reservation;
pub mod resv_notification;
pub mod resv_report;
pub mod status;

pub use adapter::{AdapterError, AenFollowUp, Applied, NvmeAdapter};
pub use command::{
    CommandKind, LogPurpose, NvmeCommand, NvmeResponse, RegistrationScope, REGISTRATION_SCOPE,
};
pub use error::{Error, Result};
pub use identity::{IdentityError, NsIdentity, NvmePath};
pub use pr::{PrAnswer, PrDecoded, PrStep};
