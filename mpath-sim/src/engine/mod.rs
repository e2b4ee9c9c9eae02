//! The discrete-event engine: a host running the real `Device` and SCSI
//! adapter over the simulated logical unit, through links and target ports
//! with latency, bandwidth and queues, in virtual time, with faults, and
//! invariants checked against the truth the target keeps.
//!
//! ```
//! use mpath_sim::engine::{Scenario, Sim};
//! let report = Sim::new(Scenario::two_paths(), 7).unwrap().run();
//! assert!(report.violation.is_none());
//! assert!(report.completed > 0);
//! ```
//!
//! A run is determined by (scenario, seed, code): [`Report::trace`] is a
//! hash of every event handled, the same for the same three.

mod check;
mod host;
mod queue;
mod report;
mod scenario;
mod sim;
pub mod sweep;
mod target;
mod trace;
mod wire;

pub use check::{Invariant, Violation};
pub use queue::EventQueue;
pub use report::{PathReport, Report};
pub use scenario::{Fault, GroupCfg, PathCfg, Scenario, Workload};
pub use sim::{SetupError, Sim, PATHS};
pub use trace::Trace;
