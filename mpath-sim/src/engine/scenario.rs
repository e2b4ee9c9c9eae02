//! What a run simulates: the fabric, the workload, the device's
//! configuration and the faults, all in virtual time.
//!
//! A [`Scenario`] is plain data: the engine builds the logical unit, the
//! links and the host from it, and a seed decides everything random
//! (jitter, which block an I/O goes to, read or write). The same scenario
//! and seed give the same run, event for event.

use mpath_core::reservation::PrType;
use mpath_core::{Duration, NoPathPolicy, Policy};
use mpath_nvme::ana::AnaState;
use mpath_scsi::AluaState;

/// Which transport the run speaks.
///
/// - [`Transport::Scsi`]: one logical unit behind target port groups; a
///   path is an I_T nexus to a target port of its own, a group is a target
///   port group (ALUA).
/// - [`Transport::Nvme`]: one NVM subsystem with one namespace (NSID 1) in
///   ANA group 1; a path is a controller of our host (CNTLID = path index +
///   1), reached through its own link and port. ANA state is per
///   controller, so a scenario group is the set of controllers that report
///   the same state for ANA group 1: a group's state (and every
///   [`Fault::Alua`] or [`Fault::Ana`] of it) is set on ANA group 1 through
///   each controller of the group's paths. ALUA states map to ANA states by
///   [`ana_state`]. The subsystem also has an ANA group per scenario group
///   id, so the log page carries more descriptors than the namespace's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// SCSI, with the SCSI adapter.
    #[default]
    Scsi,
    /// NVMe over fabrics, with the NVMe adapter.
    Nvme,
}

/// The ANA state a scenario's ALUA state stands for on NVMe: active/optimized
/// is optimized, active/non-optimized (and LBA dependent) non-optimized,
/// standby and unavailable inaccessible (temporarily no access; standby has
/// no NVMe counterpart), offline persistent loss (no access until an
/// administrator acts), transitioning ANA change.
pub const fn ana_state(s: AluaState) -> AnaState {
    match s {
        AluaState::ActiveOptimized => AnaState::Optimized,
        AluaState::ActiveNonOptimized | AluaState::LbaDependent => AnaState::NonOptimized,
        AluaState::Standby | AluaState::Unavailable => AnaState::Inaccessible,
        AluaState::Offline => AnaState::PersistentLoss,
        AluaState::Transitioning => AnaState::Change,
    }
}

/// The ALUA state an ANA state stands for on SCSI (the inverse of
/// [`ana_state`] where it has one: inaccessible is unavailable).
pub const fn alua_state(s: AnaState) -> AluaState {
    match s {
        AnaState::Optimized => AluaState::ActiveOptimized,
        AnaState::NonOptimized => AluaState::ActiveNonOptimized,
        AnaState::Inaccessible => AluaState::Unavailable,
        AnaState::PersistentLoss => AluaState::Offline,
        AnaState::Change => AluaState::Transitioning,
    }
}

/// A target port group of the simulated logical unit (NVMe: the
/// controllers that report one ANA state for the namespace's group, see
/// [`Transport::Nvme`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupCfg {
    /// TARGET PORT GROUP identifier.
    pub id: u16,
    /// Its asymmetric access state at the start.
    pub state: AluaState,
}

/// One path: an I_T nexus (NVMe: a controller of our host) through a
/// link to a target port.
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
    /// SET FULL (NVMe: Command Interrupted; admin commands have a queue of
    /// their own).
    pub queue_depth: u32,
    /// The target port's time to carry out one command, before the bytes.
    pub service: Duration,
    /// The target port's media rate in bytes per second: a command's
    /// service time grows with its transfer.
    pub media_rate: u64,
    /// The host's weight for this path under service-time (dm's
    /// `relative_throughput`, `0..=100`; 0: used only when no other path
    /// is). An operator setting, not a property of the fabric: the other
    /// selectors ignore it.
    pub relative_throughput: u8,
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
            relative_throughput: 1,
        }
    }
}

/// Most CPUs a workload submits from ([`Workload::cpus`]).
pub const MAX_CPUS: u32 = 64;

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
    /// CPUs the application submits from. 1: every I/O goes through the
    /// device's own cursor, whose view of the paths' load is exact. More:
    /// I/O `k` is submitted and, when it succeeds, completed on CPU
    /// `k % cpus`, each CPU with a cursor of its own on the data plane's
    /// fast path, so the counting selectors work from the published load
    /// plus their own part (`mpath_core::load`); failures and I/O the fast
    /// path cannot place go through the device.
    pub cpus: u32,
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
    /// On NVMe the ANA state [`ana_state`] gives, as [`Fault::Ana`].
    Alua {
        /// Group id.
        group: u16,
        /// The new state.
        state: AluaState,
    },
    /// A group changes ANA state (NVMe: every controller of the group
    /// posts an ANA change notice; SCSI: the ALUA state [`alua_state`]
    /// gives, as [`Fault::Alua`]).
    Ana {
        /// Group id.
        group: u16,
        /// The new state.
        state: AnaState,
    },
    /// The target port path `path` reaches moves into group `group` (an
    /// array reassigning a port between its controllers), for every host
    /// whose path reaches it: SCSI reports the new membership in REPORT
    /// TARGET PORT GROUPS and VPD page 83h with ASYMMETRIC ACCESS STATE
    /// CHANGED; NVMe's controllers of the path report the group's ANA
    /// state from then on, with an ANA change notice.
    PortMove {
        /// Path index.
        path: usize,
        /// The group it joins.
        group: u16,
    },
    /// The path's controller (NVMe) or session (SCSI) is reset, as a host
    /// resets it: every command outstanding on the path is aborted (the
    /// host sees it aborted, none takes effect at the target), the path is
    /// down while the host connects again (four one-way trips), then up.
    /// The engine does the same when the device reports an ANA transition
    /// timeout (Linux `nvme_anatt_timeout()` resets the controller).
    Reset {
        /// Path index.
        path: usize,
    },
    /// The target (the array, the NVM subsystem) loses power and restarts:
    /// every session or association drops (the host's transport notices
    /// after [`Scenario::detect`]), what was queued at the ports never
    /// takes effect, registrations and the reservation survive only with
    /// [`Scenario::aptpl`], and after `down` the target answers again and
    /// the paths this fault took down log in again, each nexus with POWER
    /// ON, RESET (SCSI) as its first unit attention. Blocks survive.
    TargetRestart {
        /// How long the target is gone.
        down: Duration,
    },
    /// Another host registers, then preempts our key (and our reservation,
    /// if we hold one), holding `rtype` after. NVMe: through a controller
    /// of its own, Reservation Register then Reservation Acquire (Preempt
    /// and Abort): registrations are per host, so every controller of ours
    /// loses the key, and the commands of ours the subsystem holds are
    /// aborted.
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
    /// SCSI or NVMe.
    pub transport: Transport,
    /// Hosts sharing the target, 1 to [`HOSTS`](super::HOSTS). Each runs its
    /// own `Device` and adapter with this configuration and workload,
    /// through its own I_T nexuses (NVMe: its own controllers and Host
    /// Identifier) and links to the same target ports, whose queues and
    /// service they share; each writes its own range of slots. Host 0 is
    /// the one under test: path faults hit its links, and the report's
    /// figures are its own ([`Report::hosts`](super::Report::hosts) has
    /// every host's). With a reservation every host registers its own key
    /// and host 0 takes the reservation; under a type only the holder
    /// writes through (Write Exclusive) the others only read, under one
    /// only the holder may access (Exclusive Access) they stay idle.
    pub hosts: u8,
    /// NVMe: ANATT in seconds, reported in Identify Controller, how long a
    /// group may stay in ANA change before the host gives up on it (the
    /// device reports the timeout; the engine resets the controller).
    /// Unused for SCSI.
    pub anatt: u8,
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
    /// Registrations ask the target to keep them through power loss
    /// (SCSI APTPL; NVMe CPTPL 11b, as Linux always asks).
    pub aptpl: bool,
    /// Faults, at their times.
    pub faults: Vec<(Duration, Fault)>,
    /// How long the workload runs.
    pub duration: Duration,
    /// After the workload stops, how long outstanding I/O has to finish.
    pub drain: Duration,
    /// Liveness: every I/O must have completed upward by the end of the
    /// drain (faults healed, I/O queued without a path).
    pub expect_all_complete: bool,
    /// A dm-multipath table line for the device (the target's
    /// parameters, or a whole `dmsetup table` line); set it with
    /// [`set_dm_table`](Self::set_dm_table), which checks it against the
    /// fabric and sets `policy`, `no_path` and the paths' weights from
    /// it. The engine binds it to each host's device through
    /// `mpath_dm::DmTarget` (see `engine/dm_table.rs` for the mapping).
    pub dm_table: Option<String>,
}

impl Scenario {
    /// Blocks of the logical unit (namespace) the target serves: each
    /// host's workload range, side by side.
    pub(crate) fn target_blocks(&self) -> u64 {
        self.workload
            .slots
            .saturating_mul(u64::from(self.workload.blocks))
            .saturating_mul(u64::from(self.hosts.max(1)))
            .max(1)
    }

    /// Two healthy paths in one active/optimized group, round-robin,
    /// queueing without a path for 5 s, 100 ms of write quiesce, 16 I/Os
    /// outstanding (70 % reads, 8 blocks of 512 bytes each) for one second.
    pub fn two_paths() -> Scenario {
        Scenario {
            name: String::from("two-paths"),
            transport: Transport::Scsi,
            hosts: 1,
            anatt: 10,
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
                cpus: 1,
                blocks: 8,
                slots: 4096,
            },
            reservation: None,
            aptpl: false,
            faults: Vec::new(),
            duration: Duration::from_secs(1),
            drain: Duration::from_secs(60),
            expect_all_complete: false,
            dm_table: None,
        }
    }

    /// [`two_paths`](Self::two_paths) on NVMe: two controllers of our host
    /// on one subsystem, both reporting ANA group 1 optimized, ANATT 10 s.
    pub fn two_nvme_paths() -> Scenario {
        Scenario {
            name: String::from("two-nvme-paths"),
            transport: Transport::Nvme,
            ..Scenario::two_paths()
        }
    }
}
