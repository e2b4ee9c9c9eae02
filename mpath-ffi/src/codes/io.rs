//! Codes of an I/O and its completion: direction, outcome and its
//! details, and why the core ended an I/O.

use super::MPATH_CODE_UNKNOWN;
use mpath_core::{IoKind, PathErrorKind, RetryReason, TargetError};

c_enum! {
    /// [`IoKind`]: data direction, for the write-quiesce rule.
    pub enum MpathIoKind {
        /// Reads and other commands that do not change the medium.
        Read = 0,
        /// Anything that changes the medium, and flushes.
        Write = 1,
    }
}

impl MpathIoKind {
    pub(crate) const fn to_core(self) -> IoKind {
        match self {
            Self::Read => IoKind::Read,
            Self::Write => IoKind::Write,
        }
    }
    pub(crate) const fn of(k: IoKind) -> u32 {
        match k {
            IoKind::Read => Self::Read.code(),
            IoKind::Write => Self::Write.code(),
        }
    }
}

c_enum! {
    /// What an I/O attempt came to ([`Outcome`](mpath_core::Outcome)); the
    /// detail code of [`MpathCompletion`](crate::io::MpathCompletion) says
    /// which path error, target error or retry reason.
    pub enum MpathOutcome {
        /// Done; data transferred.
        Success = 0,
        /// The path failed the command (detail: [`MpathPathError`]).
        PathError = 1,
        /// The target failed the command (detail: [`MpathTargetError`]).
        TargetError = 2,
        /// RESERVATION CONFLICT.
        ReservationConflict = 3,
        /// Retry on the same path after a delay (detail: [`MpathRetryReason`]).
        Retry = 4,
    }
}

c_enum! {
    /// [`PathErrorKind`].
    pub enum MpathPathError {
        /// Connection lost or not made.
        Transport = 0,
        /// The command timed out.
        Timeout = 1,
        /// The group's access state denies I/O.
        AccessDenied = 2,
        /// The group is in transition.
        Transitioning = 3,
        /// Host or controller pathing error (NVMe SCT 3h).
        PathingError = 4,
        /// Aborted by the host.
        Aborted = 5,
    }
}

impl MpathPathError {
    pub(crate) const fn to_core(self) -> PathErrorKind {
        match self {
            Self::Transport => PathErrorKind::Transport,
            Self::Timeout => PathErrorKind::Timeout,
            Self::AccessDenied => PathErrorKind::AccessDenied,
            Self::Transitioning => PathErrorKind::Transitioning,
            Self::PathingError => PathErrorKind::PathingError,
            Self::Aborted => PathErrorKind::Aborted,
        }
    }
    pub(crate) const fn of(k: PathErrorKind) -> u32 {
        match k {
            PathErrorKind::Transport => Self::Transport.code(),
            PathErrorKind::Timeout => Self::Timeout.code(),
            PathErrorKind::AccessDenied => Self::AccessDenied.code(),
            PathErrorKind::Transitioning => Self::Transitioning.code(),
            PathErrorKind::PathingError => Self::PathingError.code(),
            PathErrorKind::Aborted => Self::Aborted.code(),
            _ => MPATH_CODE_UNKNOWN,
        }
    }
}

c_enum! {
    /// [`TargetError`].
    pub enum MpathTargetError {
        /// Medium error.
        Medium = 0,
        /// Hardware error.
        Hardware = 1,
        /// Illegal request.
        IllegalRequest = 2,
        /// Data protect.
        DataProtect = 3,
        /// Out of space.
        NoSpace = 4,
        /// Protection information check failed.
        Protection = 5,
        /// Any other do-not-retry status.
        Other = 6,
    }
}

impl MpathTargetError {
    pub(crate) const fn to_core(self) -> TargetError {
        match self {
            Self::Medium => TargetError::Medium,
            Self::Hardware => TargetError::Hardware,
            Self::IllegalRequest => TargetError::IllegalRequest,
            Self::DataProtect => TargetError::DataProtect,
            Self::NoSpace => TargetError::NoSpace,
            Self::Protection => TargetError::Protection,
            Self::Other => TargetError::Other,
        }
    }
    pub(crate) const fn of(e: TargetError) -> u32 {
        match e {
            TargetError::Medium => Self::Medium.code(),
            TargetError::Hardware => Self::Hardware.code(),
            TargetError::IllegalRequest => Self::IllegalRequest.code(),
            TargetError::DataProtect => Self::DataProtect.code(),
            TargetError::NoSpace => Self::NoSpace.code(),
            TargetError::Protection => Self::Protection.code(),
            TargetError::Other => Self::Other.code(),
            _ => MPATH_CODE_UNKNOWN,
        }
    }
}

c_enum! {
    /// [`RetryReason`].
    pub enum MpathRetryReason {
        /// SCSI BUSY.
        Busy = 0,
        /// SCSI TASK SET FULL.
        TaskSetFull = 1,
        /// A unit attention the command did not cause.
        UnitAttention = 2,
        /// A transient condition.
        Transient = 3,
    }
}

impl MpathRetryReason {
    pub(crate) const fn to_core(self) -> RetryReason {
        match self {
            Self::Busy => RetryReason::Busy,
            Self::TaskSetFull => RetryReason::TaskSetFull,
            Self::UnitAttention => RetryReason::UnitAttention,
            Self::Transient => RetryReason::Transient,
        }
    }
    pub(crate) const fn of(r: RetryReason) -> u32 {
        match r {
            RetryReason::Busy => Self::Busy.code(),
            RetryReason::TaskSetFull => Self::TaskSetFull.code(),
            RetryReason::UnitAttention => Self::UnitAttention.code(),
            RetryReason::Transient => Self::Transient.code(),
            _ => MPATH_CODE_UNKNOWN,
        }
    }
}

c_enum! {
    /// Why the core ended an I/O ([`IoError`](mpath_core::IoError)); `Ok`
    /// when it did not.
    pub enum MpathIoError {
        /// No error.
        Ok = 0,
        /// No usable path and the no-path policy says fail.
        NoPath = 1,
        /// The multipath head was removed.
        HeadRemoved = 2,
        /// The target failed the command (see the target-error code).
        Target = 3,
        /// RESERVATION CONFLICT.
        ReservationConflict = 4,
        /// Same-path retries used up.
        RetriesExhausted = 5,
        /// Fenced by another host's persistent-reservation preemption.
        Fenced = 6,
        /// Cancelled by the embedder while held.
        Cancelled = 7,
    }
}
