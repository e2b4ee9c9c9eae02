//! The discrete-event engine: a host running the real `Device` and the
//! real SCSI or NVMe adapter over the simulated logical unit or NVM
//! subsystem, through links and target ports with latency, bandwidth and
//! queues, in virtual time, with faults, and invariants checked against
//! the truth the target keeps.
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
mod dm_table;
mod host;
mod id_map;
mod ideal;
mod nvme;
mod queue;
mod report;
mod scenario;
mod scsi;
mod sim;
mod stack;
pub mod sweep;
mod target;
mod trace;
mod wire;

pub use check::{Invariant, Violation};
pub use dm_table::{path_device, path_name, path_of_device, plan, DmPlan, DmTableError};
pub use ideal::{ideal, Ideal, PathIdeal};
pub use queue::EventQueue;
pub use report::{HostReport, PathReport, Report, Sample, Timeline};
pub use scenario::{
    alua_state, ana_state, Fault, GroupCfg, PathCfg, Scenario, Transport, Workload, MAX_CPUS,
};
pub use sim::{SetupError, Sim, HOSTS, PATHS};
pub use trace::Trace;
