//! What a run simulates: the fabric, the workload, the device's
//! configuration and the faults, all in virtual time.
//!
//! A [`Scenario`] is plain data: the engine builds the logical unit, the
//! links and the host from it, and a seed decides everything random
//! (jitter, which block an I/O goes to, read or write). The same scenario
//! and seed give the same run, event for event.

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy, Policy};
use mpath_scsi::AluaState;

/// A target port group of the simulated logical unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupCfg {
    /// TARGET PORT GROUP identifier.
    pub id: u16,
    /// Its asymmetric access state at the start.
    pub state: AluaState,
}

/// One path: an I_T nexus from our host through a link to a target port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathCfg {
    /// The target port group of the port this path reaches (each path has
    /// a port of its own, numbered from 1 in path order).
    pub group: u16,
    /// One-way latency of the link.
    pub latency: Duration,
    /// Up to this much more, uniformly, per message.
    pub jitter: Duration,
    /// Link bandwidth in bytes per second, each way.
    pub bandwidth: u64,
    /// Commands the target port holds at once; one more is answered TASK
    /// SET FULL.
    pub queue_depth: u32,
    /// The target port's time to carry out one command, before the bytes.
    pub service: Duration,
    /// The target port's media rate in bytes per second: a command's
    /// service time grows with its transfer.
    pub media_rate: u64,
}

impl PathCfg {
    /// A 100 µs, 1.25 GB/s (10 Gb/s) link to a port that serves a command
    /// in 20 µs plus 2 GB/s, queue depth 128, in `group`.
    pub const fn fast(group: u16) -> PathCfg {
        PathCfg {
            group,
            latency: Duration::from_micros(100),
            jitter: Duration::from_micros(10),
            bandwidth: 1_250_000_000,
            queue_depth: 128,
            service: Duration::from_micros(20),
            media_rate: 2_000_000_000,
        }
    }
}

/// What the host's application does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// I/Os kept outstanding (closed loop).
    pub queue_depth: u32,
    /// Percentage of I/Os that are reads (0 to 100).
    pub read_percent: u8,
    /// Blocks per I/O.
    pub blocks: u32,
    /// I/Os go to this many distinct `blocks`-sized slots from LBA 0; two
    /// I/Os are never outstanding on one slot together (a file system
    /// does not overlap its own writes), so a write landing after a newer
    /// one to the same slot is a multipath bug, not the application's.
    pub slots: u64,
}

/// Something that happens to the fabric at a moment of virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The path's link goes down: nothing gets through, commands on it
    /// fail back to the host after the transport notices
    /// ([`Scenario::detect`]).
    LinkDown {
        /// Path index.
        path: usize,
    },
    /// The link comes back. The host learns it from its probes.
    LinkUp {
        /// Path index.
        path: usize,
    },
    /// The link goes down and writes that were on it stay on the wire:
    /// the target applies them `after` this long, with no answer to the
    /// host, which has failed them over by then. What write quiesce is for.
    /// A [`Fault::LinkUp`] of the path before then discards them (the new
    /// login aborts what the old session left).
    LinkDownLateWrites {
        /// Path index.
        path: usize,
        /// How long the stranded writes take to land.
        after: Duration,
    },
    /// The path turns zombie: TEST UNIT READY still passes, every other
    /// command fails (`hang: false`, transport failure at once) or never
    /// answers (`hang: true`, the host's command timeout ends it).
    Zombie {
        /// Path index.
        path: usize,
        /// Hang instead of failing.
        hang: bool,
    },
    /// The path is healthy again (a zombie or slow path recovers).
    Heal {
        /// Path index.
        path: usize,
    },
    /// The path gets this much more latency each way.
    Slow {
        /// Path index.
        path: usize,
        /// Added one-way latency.
        extra: Duration,
    },
    /// A target port group changes state (an implicit ALUA transition;
    /// the target reports ASYMMETRIC ACCESS STATE CHANGED to every nexus).
    Alua {
        /// Group id.
        group: u16,
        /// The new state.
        state: AluaState,
    },
    /// Another host registers, then preempts our key (and our reservation,
    /// if we hold one), holding `rtype` after.
    Preempt {
        /// The type the other host holds afterwards.
        rtype: PrType,
    },
}

/// A simulated run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its name, for reports and replay commands.
    pub name: String,
    /// Target port groups.
    pub groups: Vec<GroupCfg>,
    /// Paths, one target port each.
    pub paths: Vec<PathCfg>,
    /// Logical block size.
    pub block_size: u32,
    /// Path selector.
    pub policy: Policy,
    /// What happens to I/O with no path.
    pub no_path: NoPathPolicy,
    /// Write quiesce: how long after a path failure a write that was on it
    /// may go out elsewhere.
    pub quiesce: Duration,
    /// How long the transport takes to fail a command whose link died
    /// (iSCSI NOP-Out timeout, FC fast_io_fail_tmo).
    pub detect: Duration,
    /// The host's command timeout (SCSI 30 s by default).
    pub command_timeout: Duration,
    /// The application's I/O.
    pub workload: Workload,
    /// Register a key and take this reservation before the workload
    /// starts.
    pub reservation: Option<PrType>,
    /// Faults, at their times.
    pub faults: Vec<(Duration, Fault)>,
    /// How long the workload runs.
    pub duration: Duration,
    /// After the workload stops, how long outstanding I/O has to finish.
    pub drain: Duration,
    /// Liveness: every I/O must have completed upward by the end of the
    /// drain (faults healed, I/O queued without a path).
    pub expect_all_complete: bool,
}

impl Scenario {
    /// Two healthy paths in one active/optimized group, round-robin,
    /// queueing without a path for 5 s, 100 ms of write quiesce, 16 I/Os
    /// outstanding (70 % reads, 8 blocks of 512 bytes each) for one second.
    pub fn two_paths() -> Scenario {
        Scenario {
            name: String::from("two-paths"),
            groups: vec![GroupCfg {
                id: 1,
                state: AluaState::ActiveOptimized,
            }],
            paths: vec![PathCfg::fast(1), PathCfg::fast(1)],
            block_size: 512,
            policy: Policy::RoundRobin,
            no_path: NoPathPolicy::QueueFor(Duration::from_secs(5)),
            quiesce: Duration::from_millis(100),
            detect: Duration::from_millis(5),
            command_timeout: Duration::from_secs(30),
            workload: Workload {
                queue_depth: 16,
                read_percent: 70,
                blocks: 8,
                slots: 4096,
            },
            reservation: None,
            faults: Vec::new(),
            duration: Duration::from_secs(1),
            drain: Duration::from_secs(60),
            expect_all_complete: false,
        }
    }
}
