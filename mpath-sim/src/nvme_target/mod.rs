//! A simulated NVM subsystem that answers NVMe commands in real bytes.
//!
//! A pure target model: it reads no clock, draws no random numbers and
//! does no I/O, so the simulator's engine (virtual clock, links, faults)
//! decides when each command reaches it and when each answer gets back.
//! What it models (NVM Express Base Specification 2.0, NVM Command Set
//! 1.0):
//!
//! - topology ([`topology`]): hosts (Host Identifier, host NQN),
//!   controllers each bound to one host (a host with several controllers
//!   has several paths), shared namespaces over a
//!   [`BlockStore`](crate::block_store::BlockStore), ANA groups;
//! - ANA ([`controller`], [`log_pages`], [`io`]): the state of every group
//!   through every controller, the ANA log page with change counts, ANA
//!   change notices, path status for I/O in the inaccessible, persistent
//!   loss and change states; ANATT is reported, the engine enforces it;
//! - admin commands ([`admin`]): Identify, Get Log Page, Asynchronous Event
//!   Request, Keep Alive;
//! - I/O ([`io`]): Read, Write, Flush;
//! - reservations ([`reservation`], [`resv_commands`]): host-scoped
//!   registrations, all six types with their conflict rules, preemption,
//!   notifications as log pages and events, PTPL across power loss.
//!
//! # Call order
//!
//! 1. Build: [`Subsystem::new`], then [`Subsystem::add_ana_group`],
//!    [`Subsystem::add_namespace`], [`Subsystem::add_host`],
//!    [`Subsystem::add_controller`].
//! 2. Deliver each command with [`Subsystem::submit`] (64 bytes) or
//!    [`Subsystem::submit_entry`]: it completes at once, except an
//!    Asynchronous Event Request, which is [`Submitted::Deferred`].
//! 3. After every call that may post an event (any command,
//!    [`Subsystem::set_ana_state`]), drain [`Subsystem::poll_event`]:
//!    completions of held event requests and Preempt and Abort requests.
//! 4. Faults: [`Subsystem::set_ana_state`], [`Subsystem::reset_controller`],
//!    [`Subsystem::disconnect`] / [`Subsystem::connect`],
//!    [`Subsystem::restart`] (power loss).
//! 5. Invariants read the truth: [`Subsystem::reservation_state`],
//!    [`Subsystem::ana_state`], [`Subsystem::store`].
//!
//! # Panic contract
//!
//! No input panics: every 64-byte entry and data buffer of any length
//! yields a completion with a status (or a [`TargetError`] for a command
//! sent to a controller that does not exist or is disconnected).

pub mod admin;
pub mod completion;
pub mod controller;
pub mod io;
pub mod log_pages;
pub mod reservation;
pub mod resv_commands;
pub mod sqe;
pub mod subsystem;
pub mod topology;

pub use completion::{Completion, Queue, Submitted};
pub use controller::AnaView;
pub use reservation::{AccessKind, HeldReservation, Registrant, ReservationState};
pub use sqe::SubmissionEntry;
pub use subsystem::{Subsystem, TargetEvent};
pub use topology::{
    ConfigError, HostConfig, HostIdentifier, NamespaceConfig, SubsystemConfig, TargetError,
};
