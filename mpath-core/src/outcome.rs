//! What a transport tells the core about a finished command.
//!
//! Transport adapters (`mpath-scsi`, `mpath-nvme`) classify wire status into
//! these types; the core decides policy from them and never looks at bytes.

use crate::time::Duration;

bitflags::bitflags! {
    /// Side information a completion or an asynchronous event carries, besides
    /// the outcome of the command itself. Several may be set at once.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Notices: u16 {
        /// Access states may have changed: re-read them (RTPG / ANA log page).
        /// SCSI 06/2A/06, 06/2A/07, 02/04/0A; NVMe ANA status codes and the
        /// ANA change asynchronous event.
        const ACCESS_STATE_CHANGED = 1 << 0;
        /// Another host preempted our reservation (SCSI 06/2A/03, NVMe
        /// reservation notification "reservation preempted").
        const RESERVATIONS_PREEMPTED = 1 << 1;
        /// The reservation was released (SCSI 06/2A/04, NVMe "reservation
        /// released").
        const RESERVATIONS_RELEASED = 1 << 2;
        /// Our registration was removed (SCSI 06/2A/05, NVMe "registration
        /// preempted").
        const REGISTRATIONS_PREEMPTED = 1 << 3;
        /// Power on, reset or I_T nexus loss (SCSI 06/29/xx): state held by the
        /// logical unit for this nexus may be gone.
        const RESET_OCCURRED = 1 << 4;
        /// The set of logical units or namespaces changed (SCSI 06/3F/0E,
        /// NVMe namespace attribute changed).
        const LUNS_CHANGED = 1 << 5;
        /// Capacity or other parameters changed (SCSI 06/2A/09, 06/2A/01).
        const PARAMETERS_CHANGED = 1 << 6;
        /// The transport reported the path marginal (FC FPIN congestion or link
        /// integrity notifications, SCSI DID_TRANSPORT_MARGINAL).
        const PATH_MARGINAL = 1 << 7;
    }
}

/// Why a command failed in a way that another path could succeed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// The transport lost or could not make the connection (no connect,
    /// transport disrupted, link down, fast-fail).
    Transport,
    /// The command timed out; it may still be in flight at the target.
    Timeout,
    /// The path's group cannot serve I/O in its current access state (ALUA
    /// standby, unavailable, offline; ANA inaccessible, persistent loss).
    AccessDenied,
    /// The path's group is in transition (ALUA 02/04/0A, ANA change).
    Transitioning,
    /// The host or controller reported a pathing error: NVMe SCT 3h internal
    /// path error (00h), controller pathing error (60h), host pathing error
    /// (70h).
    PathingError,
    /// The command was aborted by the host before it completed (NVMe SCT 3h
    /// 71h, SCSI DID_ABORT after a path reset).
    Aborted,
}

/// An error the target returned about the command itself; another path would
/// get the same answer, so it goes back to the submitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetError {
    /// Unrecovered read error or other medium error (SCSI sense key 3).
    Medium,
    /// Hardware failure in the target (SCSI sense key 4).
    Hardware,
    /// The command or its parameters are not acceptable (SCSI sense key 5,
    /// NVMe invalid field or opcode).
    IllegalRequest,
    /// Write protected or other data protection error (SCSI sense key 7).
    DataProtect,
    /// Out of space on a thinly provisioned unit (SCSI 07/27/07, NVMe capacity
    /// exceeded).
    NoSpace,
    /// Protection information check failed (SCSI 0B/10/xx, NVMe end-to-end
    /// errors).
    Protection,
    /// Any other target status that says not to retry (NVMe DNR).
    Other,
}

/// Why a command should be retried on the same path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryReason {
    /// SCSI BUSY.
    Busy,
    /// SCSI TASK SET FULL.
    TaskSetFull,
    /// A unit attention that the command itself did not cause.
    UnitAttention,
    /// A transient condition the target asked to retry (NVMe without DNR,
    /// SCSI 02/04/01 becoming ready, aborted command sense key B).
    Transient,
}

/// The classified result of one I/O attempt on one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Done; data transferred.
    Success,
    /// The path failed the command; retry on another path without spending the
    /// I/O's retry budget.
    PathError(PathErrorKind),
    /// The target failed the command; report to the submitter.
    TargetError(TargetError),
    /// RESERVATION CONFLICT (SCSI status 18h, NVMe 83h). Never a path error:
    /// another path of this host would get the same answer unless the
    /// reservation state is wrong, which the PR coordinator deals with.
    ReservationConflict,
    /// Retry on the same path after `delay`, spending one retry.
    Retry {
        /// Why.
        reason: RetryReason,
        /// How long to wait first (NVMe CRD -> CRDT; zero for SCSI).
        delay: Duration,
    },
}

/// An [`Outcome`] with the [`Notices`] the same completion carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Completion {
    /// What happened to the command.
    pub outcome: Outcome,
    /// What else the target told us.
    pub notices: Notices,
}

impl From<Outcome> for Completion {
    fn from(outcome: Outcome) -> Self {
        Completion {
            outcome,
            notices: Notices::empty(),
        }
    }
}

/// The result of a path probe, with the meanings of multipathd's TUR checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProbeResult {
    /// The path answers (GOOD, or RESERVATION CONFLICT: the nexus is alive,
    /// another host holds a reservation).
    Up,
    /// The path answers but its group is in standby (NOT READY 02/04/0B):
    /// multipathd's "ghost". Up for link purposes, no I/O until activated.
    Ghost,
    /// A transition is in progress (02/04/0A): neither up nor failed.
    Pending,
    /// The path is down (no connection, timeout, NOT READY other than the
    /// above, hardware error).
    Down,
    /// The probe itself hit a unit attention or busy: ask again soon.
    Retry,
}
