//! SCSI wire codecs for mpath: CDB builders and a CDB parser, sense data, REPORT
//! and SET TARGET PORT GROUPS, VPD pages 00h and 83h, standard INQUIRY data,
//! PERSISTENT RESERVE IN/OUT parameter data with TransportIDs, and the
//! classification of a finished command into the core's
//! [`Completion`](mpath_core::outcome::Completion) and
//! [`ProbeResult`](mpath_core::outcome::ProbeResult); and the sans-IO
//! [`adapter`] that turns the core's actions, and the reservation
//! coordinator's ([`pr_map`]), into SCSI commands and their responses into
//! core events.
//!
//! # Shape
//!
//! Each format follows smoltcp: a checked view `Foo<T: AsRef<[u8]>>` whose
//! `new_checked` validates every length once, after which no accessor can
//! panic; and a `FooRepr` that `parse`s from the view and `emit`s into a
//! `&mut [u8]` (returning [`WireError`] with
//! [`WireErrorKind::BufferTooSmall`] if the
//! buffer is shorter than `buffer_len()`). Lists are iterated in place and never
//! allocated ([`List`]).
//!
//! # Map
//!
//! | module | what | clause |
//! |--------|------|--------|
//! | [`cdb`] | CDB builders and parser | SPC-4 6.6, 6.16, 6.17, 6.37, 6.45, 6.47; SBC-3 5.11-5.34 |
//! | [`sense`], [`sense_key`], [`asc`] | sense data, both formats | SPC-4 4.5 |
//! | [`mod@classify`] | completion and probe classification | SAM-5 5.3; scsi_dh_alua, multipath-tools |
//! | [`rtpg`], [`stpg`], [`alua`] | target port groups | SPC-4 5.15, 6.37, 6.45 |
//! | [`inquiry`], [`vpd`], [`designator`] | INQUIRY data, VPD 00h and 83h | SPC-4 6.6.2, 7.8.6, 7.8.16 |
//! | [`pr`], [`pr_in`], [`pr_out`], [`transport_id`] | persistent reservations | SPC-4 5.13, 6.16, 6.17, 7.6.4 |
//! | [`identity`] | a path's logical unit, target port and group | SPC-4 7.8.6; scsi_dh_alua `alua_check_vpd` |
//! | [`adapter`], [`command`] | core actions to commands, responses to core events | scsi_dh_alua, multipath-tools TUR checker |
//! | [`pr_map`] | reservation coordinator actions to PERSISTENT RESERVE OUT/IN, responses to replies | SPC-4 5.13, 6.16, 6.17; mpathpersist |
//!
//! # Panic contract
//!
//! No function in this crate panics on any input bytes: every length is
//! checked, every index goes through `get`, and all arithmetic is checked or
//! saturating. Errors name the field and the byte offset.
//!
//! The crate does no I/O, reads no clock and allocates nothing.
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
pub mod alua;
pub mod asc;
pub mod cdb;
pub mod classify;
pub mod command;
pub mod designator;
pub mod error;
pub mod identity;
pub mod inquiry;
pub mod nexus;
pub mod pr;
pub mod pr_in;
pub mod pr_map;
pub mod pr_out;
pub mod rtpg;
pub mod sense;
pub mod sense_key;
pub mod stpg;
pub mod transport_id;
pub mod vpd;
mod wire;

pub use adapter::{
    classify_io, AdapterError, AdapterPath, Applied, RtpgApplied, ScsiAdapter,
    PROBE_ATTENTION_RETRIES,
};
pub use alua::{AluaState, SupportedStates, TpgStatus};
pub use cdb::{CdbRepr, Command, RtpgFormat, RwParams};
pub use classify::{classify, classify_probe, TransportStatus};
pub use command::{CommandKind, DataOut, ScsiCommand, ScsiResponse};
pub use designator::{Association, CodeSet, Designation, Designator, DeviceIdRepr};
pub use error::{WireError, WireErrorKind};
pub use identity::{path_spec, IdentityError, LuName, PathIdentity, DEFAULT_GROUP};
pub use inquiry::{Inquiry, InquiryRepr, Peripheral, Tpgs};
pub use nexus::ItNexus;
pub use pr::{PrInAction, PrOutAction, PrType};
pub use pr_in::{PrIn, PrInRepr};
pub use pr_map::{PrAnswer, PrDecoded, PrOptions, PrStep};
pub use pr_out::{PrOutParams, RegisterAndMoveParams};
pub use rtpg::{RelativePortId, Rtpg, RtpgRepr, TpgDescriptor};
pub use sense::{Sense, SenseFormat, SenseRepr};
pub use sense_key::{SenseKey, SenseKeySpecific};
pub use stpg::{Stpg, StpgDescriptor, StpgRepr};
pub use transport_id::{ProtocolId, TransportId};
pub use vpd::{SupportedPagesRepr, Vpd};
pub use wire::{List, ListIter, WireItem};
