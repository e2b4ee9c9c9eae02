//! # mpath-core
//!
//! A `no_std`, allocation-free, panic-free, float-free multipath state
//! machine for block storage: path tracking, ALUA and ANA access states, path
//! selectors, failover with a bounded requeue that never loses an I/O, path
//! health (probing, marginal paths, flap damping) and the persistent-
//! reservation admission gate.
//!
//! This crate does no I/O and reads no clock. Inputs carry the caller's
//! [`Instant`]; outputs are values ([`Action`], [`Disposition`]) the caller
//! carries out. It has two halves:
//!
//! - [`DataPlane`]: `&self`, lock-free, per I/O: [`DataPlane::select`],
//!   [`DataPlane::start`], [`DataPlane::complete`]. Shared by every CPU; each
//!   CPU owns a [`Cursor`].
//! - [`Controller`]: `&mut self`, everything else: paths, access states,
//!   probes, failed completions, timers. The embedder serialises it.
//!
//! [`Multipath`] bundles both for single-threaded use.
//!
//! ```
//! use mpath_core::*;
//!
//! let mut mp: Multipath<4> = Multipath::new(Config::DEFAULT).unwrap();
//! let t0 = Instant::from_nanos(0);
//! let a = mp.controller_mut()
//!     .add_path(PathSpec::new(GroupId(1), NexusId(1)), t0).unwrap();
//! let b = mp.controller_mut()
//!     .add_path(PathSpec::new(GroupId(1), NexusId(2)), t0).unwrap();
//!
//! // Round-robin over both paths.
//! let dispatch = |d| match d {
//!     Disposition::Dispatch(t) => t,
//!     other => panic!("expected a dispatch, got {other:?}"),
//! };
//! let t1 = dispatch(mp.submit(Io::read(1, 4096, 3), t0).unwrap());
//! let t2 = dispatch(mp.submit(Io::read(2, 4096, 3), t0).unwrap());
//! assert_ne!(t1.path(), t2.path());
//!
//! // Path `a` fails the first I/O: it is failed over to `b`.
//! let (failed, ok) = if t1.path() == a { (t1, t2) } else { (t2, t1) };
//! mp.complete_ok(ok, t0).unwrap();
//! let d = mp.complete(failed, Outcome::PathError(PathErrorKind::Transport).into(), t0)
//!     .unwrap();
//! let retry = dispatch(d);
//! assert_eq!(retry.path(), b);
//! mp.complete_ok(retry, t0).unwrap();
//! ```
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

pub mod access;
mod bits;
pub mod config;
mod controller;
pub mod dataplane;
mod device;
mod error;
mod group;
mod health;
mod inputs;
pub mod io;
pub mod load;
mod multipath;
pub mod outcome;
pub mod path;
pub mod path_table;
mod requeue;
pub mod reservation;
pub mod selector;
mod sync;
pub mod tier;
pub mod time;

/// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

pub use access::{AccessClass, AccessState, GroupAccess, GroupId};
pub use config::{
    AccessConfig, AccessProtocol, Config, ConfigError, Failback, FlapConfig, MarginalConfig,
    NoPathPolicy, ProbeConfig,
};
pub use controller::{
    Action, ActivationResult, Controller, DeviceCounters, DeviceSnapshot, Disposition, HeadState,
    LinkEvent, PathCounters, PathSnapshot, Topology,
};
pub use dataplane::{Cursor, DataPlane, DeviceId, QueueStats};
pub use device::{Device, DeviceError, DeviceEvent};
pub use error::{Error, Rejected};
pub use inputs::DeviceInputs;
pub use io::{Io, IoError, IoKind, IoTag, Ticket};
pub use multipath::Multipath;
pub use outcome::{
    Completion, Notices, Outcome, PathErrorKind, ProbeResult, RetryReason, TargetError,
};
pub use path::{Locality, NexusId, PathId, PathSpec, MAX_PATHS};
pub use path_table::{PathRecord, PathTable};
pub use selector::{FixedPolicy, Policy, SelectorParams};
pub use tier::{Eligibility, Health, Link, Tier};
pub use time::{Clock, Duration, Instant, TimeError};
