//! # mpath-dm
//!
//! dm-multipath's own interface for mpath's device: the `multipath`
//! target's table lines, its messages and its status lines, with the
//! grammar and checks of the kernel's `drivers/md/dm-multipath.c` and its
//! path selectors, and their mapping onto [`mpath_core::Device`].
//!
//! - [`Table`]: parse a table line ([`Table::parse`]) and print it in the
//!   kernel's canonical form (`Display`, what `dmsetup table` prints).
//! - [`Message`]: `dmsetup message` words, checked as the kernel checks
//!   them.
//! - [`InfoStatus`]: the INFO status line (`dmsetup status`), parsed and
//!   printed.
//! - [`DmTarget`]: a table bound to a device: the core configuration it
//!   asks for, its paths added, messages applied, and both status lines
//!   read from the device.
//!
//! Like the core it is `no_std`, allocates nothing, has no `unsafe`, no
//! floating point and no panics: bad input is a typed error
//! ([`ParseError`]) that names the word and its position. Where dm's model
//! and the core's differ, the rule chosen is written in `docs/DM.md`.
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
        clippy::cast_possible_truncation,
        clippy::std_instead_of_alloc,
        clippy::std_instead_of_core
    )
)]

#[cfg(test)]
extern crate std;

mod error;
mod message;
mod selector;
mod status;
mod table;
mod target;
mod words;

pub use error::{ErrorKind, ParseError};
pub use message::Message;
pub use selector::{PathArgs, Selector, MAX_RELATIVE_THROUGHPUT};
pub use status::{GroupState, GroupStatus, InfoStatus, PathStatus, SelectorInfo, StatusError};
pub use table::{
    target_params, Args, BuildError, Features, Group, HwHandler, QueueMode, Table, TablePath,
    MAX_GROUPS, MAX_PATHS, MAX_PG_INIT_DELAY_MSECS, MAX_PG_INIT_RETRIES,
};
pub use target::{DmError, DmTarget, MessageLineError, DEFAULT_PG_INIT_DELAY_MSECS};
