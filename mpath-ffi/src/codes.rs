//! The integer codes enumerations cross the boundary as, and their
//! translation to and from the core's enums.
//!
//! Every table is one `c_enum!` invocation: a `#[repr(u32)]` enum (what a
//! cbindgen header shows) with `from_code`, which refuses a value outside
//! the table, and `code`. Parameters and struct fields are plain `uint32_t`,
//! never the enum type: C can put any bit pattern there, and an invalid
//! value of a Rust enum would be undefined behaviour before any check ran.
//!
//! The core's enums are `#[non_exhaustive]`. A variant added there that
//! this crate does not know yet goes out as [`MPATH_CODE_UNKNOWN`].

use crate::errno::EINVAL;
use core::ffi::c_int;
use mpath_core::reservation::{PrType, RegState, RegistrationScope};
use mpath_core::{
    AccessProtocol, AccessState, ActivationResult, Health, IoKind, Link, LinkEvent, PathErrorKind,
    Policy, ProbeResult, RetryReason, TargetError, Tier,
};

/// The code an output carries for a core variant this library predates.
pub const MPATH_CODE_UNKNOWN: u32 = u32::MAX;

/// Declares a C code table: a `#[repr(u32)]` enum with explicit values,
/// `from_code` (refusing values outside the table) and `code`.
macro_rules! c_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// The variant with this code, or `None` for a value outside
            /// the table.
            pub const fn from_code(code: u32) -> Option<Self> {
                match code {
                    $( $value => Some(Self::$variant), )+
                    _ => None,
                }
            }

            /// This variant's code.
            pub const fn code(self) -> u32 {
                match self {
                    $( Self::$variant => $value, )+
                }
            }

            /// [`from_code`](Self::from_code), as the `-EINVAL` an export
            /// returns for a value outside the table. (Output-only tables
            /// never parse.)
            #[allow(dead_code)]
            pub(crate) fn parse(code: u32) -> Result<Self, c_int> {
                Self::from_code(code).ok_or(-EINVAL)
            }
        }
    };
}

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

c_enum! {
    /// [`ProbeResult`].
    pub enum MpathProbeResult {
        /// The path answers.
        Up = 0,
        /// It answers, its group is in standby.
        Ghost = 1,
        /// A transition is in progress.
        Pending = 2,
        /// The path is down.
        Down = 3,
        /// The probe hit a unit attention or busy: ask again soon.
        Retry = 4,
    }
}

impl MpathProbeResult {
    pub(crate) const fn to_core(self) -> ProbeResult {
        match self {
            Self::Up => ProbeResult::Up,
            Self::Ghost => ProbeResult::Ghost,
            Self::Pending => ProbeResult::Pending,
            Self::Down => ProbeResult::Down,
            Self::Retry => ProbeResult::Retry,
        }
    }
}

c_enum! {
    /// [`LinkEvent`].
    pub enum MpathLinkEvent {
        /// The transport lost the path.
        Down = 0,
        /// The transport has it again.
        Up = 1,
    }
}

impl MpathLinkEvent {
    pub(crate) const fn to_core(self) -> LinkEvent {
        match self {
            Self::Down => LinkEvent::Down,
            Self::Up => LinkEvent::Up,
        }
    }
}

c_enum! {
    /// [`AccessState`]: ALUA and ANA states in one table.
    pub enum MpathAccessState {
        /// ALUA active/optimized, ANA optimized.
        Optimized = 0,
        /// ALUA active/non-optimized, ANA non-optimized.
        NonOptimized = 1,
        /// ALUA standby.
        Standby = 2,
        /// ALUA unavailable.
        Unavailable = 3,
        /// ALUA logical block dependent.
        LbaDependent = 4,
        /// ALUA offline.
        Offline = 5,
        /// ALUA transitioning.
        Transitioning = 6,
        /// ANA inaccessible.
        Inaccessible = 7,
        /// ANA persistent loss.
        PersistentLoss = 8,
        /// ANA change.
        Change = 9,
    }
}

impl MpathAccessState {
    pub(crate) const fn to_core(self) -> AccessState {
        match self {
            Self::Optimized => AccessState::Optimized,
            Self::NonOptimized => AccessState::NonOptimized,
            Self::Standby => AccessState::Standby,
            Self::Unavailable => AccessState::Unavailable,
            Self::LbaDependent => AccessState::LbaDependent,
            Self::Offline => AccessState::Offline,
            Self::Transitioning => AccessState::Transitioning,
            Self::Inaccessible => AccessState::Inaccessible,
            Self::PersistentLoss => AccessState::PersistentLoss,
            Self::Change => AccessState::Change,
        }
    }
    pub(crate) const fn of(s: AccessState) -> u32 {
        match s {
            AccessState::Optimized => Self::Optimized.code(),
            AccessState::NonOptimized => Self::NonOptimized.code(),
            AccessState::Standby => Self::Standby.code(),
            AccessState::Unavailable => Self::Unavailable.code(),
            AccessState::LbaDependent => Self::LbaDependent.code(),
            AccessState::Offline => Self::Offline.code(),
            AccessState::Transitioning => Self::Transitioning.code(),
            AccessState::Inaccessible => Self::Inaccessible.code(),
            AccessState::PersistentLoss => Self::PersistentLoss.code(),
            AccessState::Change => Self::Change.code(),
            _ => MPATH_CODE_UNKNOWN,
        }
    }
}

c_enum! {
    /// [`ActivationResult`].
    pub enum MpathActivationResult {
        /// The target accepted it.
        Done = 0,
        /// Transient failure: try again after the delay.
        Retry = 1,
        /// The target refused it.
        Failed = 2,
    }
}

impl MpathActivationResult {
    pub(crate) const fn to_core(self) -> ActivationResult {
        match self {
            Self::Done => ActivationResult::Done,
            Self::Retry => ActivationResult::Retry,
            Self::Failed => ActivationResult::Failed,
        }
    }
}

c_enum! {
    /// [`Policy`]: the path selector.
    pub enum MpathPolicy {
        /// NVMe `numa`.
        Locality = 0,
        /// Round-robin.
        RoundRobin = 1,
        /// Fewest outstanding I/Os.
        QueueDepth = 2,
        /// Fewest outstanding bytes.
        QueueBytes = 3,
        /// dm `service-time`.
        ServiceTime = 4,
        /// EWMA service time.
        Adaptive = 5,
    }
}

impl MpathPolicy {
    pub(crate) const fn to_core(self) -> Policy {
        match self {
            Self::Locality => Policy::Locality,
            Self::RoundRobin => Policy::RoundRobin,
            Self::QueueDepth => Policy::QueueDepth,
            Self::QueueBytes => Policy::QueueBytes,
            Self::ServiceTime => Policy::ServiceTime,
            Self::Adaptive => Policy::Adaptive,
        }
    }
    pub(crate) const fn of(p: Policy) -> u32 {
        match p {
            Policy::Locality => Self::Locality.code(),
            Policy::RoundRobin => Self::RoundRobin.code(),
            Policy::QueueDepth => Self::QueueDepth.code(),
            Policy::QueueBytes => Self::QueueBytes.code(),
            Policy::ServiceTime => Self::ServiceTime.code(),
            Policy::Adaptive => Self::Adaptive.code(),
            _ => MPATH_CODE_UNKNOWN,
        }
    }
}

c_enum! {
    /// [`NoPathPolicy`](mpath_core::NoPathPolicy).
    pub enum MpathNoPath {
        /// Fail at once.
        Fail = 0,
        /// Hold until a path returns.
        Queue = 1,
        /// Hold for at most the given time.
        QueueFor = 2,
    }
}

c_enum! {
    /// [`Failback`](mpath_core::Failback).
    pub enum MpathFailback {
        /// At once.
        Immediate = 0,
        /// Only on `mpath_failback`.
        Manual = 1,
        /// When the first path of a group comes back up.
        FollowOver = 2,
        /// After the better tier was available for the given time.
        Delayed = 3,
    }
}

c_enum! {
    /// [`AccessProtocol`].
    pub enum MpathAccessProtocol {
        /// SCSI ALUA.
        Alua = 0,
        /// NVMe ANA.
        Ana = 1,
    }
}

impl MpathAccessProtocol {
    pub(crate) const fn to_core(self) -> AccessProtocol {
        match self {
            Self::Alua => AccessProtocol::Alua,
            Self::Ana => AccessProtocol::Ana,
        }
    }
    pub(crate) const fn of(p: AccessProtocol) -> u32 {
        match p {
            AccessProtocol::Alua => Self::Alua.code(),
            AccessProtocol::Ana => Self::Ana.code(),
        }
    }
}

c_enum! {
    /// [`Tier`], plus `None` for "no path usable".
    pub enum MpathTier {
        /// Up, healthy, optimized.
        Optimized = 0,
        /// Up, healthy, non-optimized.
        NonOptimized = 1,
        /// Marginal: last resort.
        Marginal = 2,
        /// Not usable.
        Ineligible = 3,
        /// No tier: nothing is usable.
        None = 4,
    }
}

impl MpathTier {
    pub(crate) const fn of(t: Tier) -> u32 {
        match t {
            Tier::Optimized => Self::Optimized.code(),
            Tier::NonOptimized => Self::NonOptimized.code(),
            Tier::Marginal => Self::Marginal.code(),
            Tier::Ineligible => Self::Ineligible.code(),
        }
    }
    pub(crate) const fn of_opt(t: Option<Tier>) -> u32 {
        match t {
            Some(t) => Self::of(t),
            None => Self::None.code(),
        }
    }
}

c_enum! {
    /// [`HeadState`](mpath_core::HeadState).
    pub enum MpathHeadState {
        /// No path has been usable yet.
        Waiting = 0,
        /// Has had a usable path.
        Live = 1,
        /// No paths; removed at the given time unless one is added.
        Orphaned = 2,
        /// Gone.
        Removed = 3,
    }
}

c_enum! {
    /// [`Link`].
    pub enum MpathLink {
        /// Answers commands.
        Up = 0,
        /// Failed.
        Down = 1,
        /// A transition reported by the probe is in progress.
        Pending = 2,
    }
}

impl MpathLink {
    pub(crate) const fn of(l: Link) -> u32 {
        match l {
            Link::Up => Self::Up.code(),
            Link::Down => Self::Down.code(),
            Link::Pending => Self::Pending.code(),
        }
    }
}

c_enum! {
    /// [`Health`].
    pub enum MpathHealth {
        /// Nothing known against it.
        Healthy = 0,
        /// Its error rate is being measured.
        Sampling = 1,
        /// Used only when nothing better is selectable.
        Marginal = 2,
        /// Held out by flap damping.
        Damped = 3,
    }
}

impl MpathHealth {
    pub(crate) const fn of(h: Health) -> u32 {
        match h {
            Health::Healthy => Self::Healthy.code(),
            Health::Sampling => Self::Sampling.code(),
            Health::Marginal => Self::Marginal.code(),
            Health::Damped => Self::Damped.code(),
        }
    }
}

c_enum! {
    /// [`PrType`]: the reservation type.
    pub enum MpathPrType {
        /// Write Exclusive.
        WriteExclusive = 0,
        /// Exclusive Access.
        ExclusiveAccess = 1,
        /// Write Exclusive - Registrants Only.
        WriteExclusiveRegistrantsOnly = 2,
        /// Exclusive Access - Registrants Only.
        ExclusiveAccessRegistrantsOnly = 3,
        /// Write Exclusive - All Registrants.
        WriteExclusiveAllRegistrants = 4,
        /// Exclusive Access - All Registrants.
        ExclusiveAccessAllRegistrants = 5,
    }
}

impl MpathPrType {
    pub(crate) const fn to_core(self) -> PrType {
        match self {
            Self::WriteExclusive => PrType::WriteExclusive,
            Self::ExclusiveAccess => PrType::ExclusiveAccess,
            Self::WriteExclusiveRegistrantsOnly => PrType::WriteExclusiveRegistrantsOnly,
            Self::ExclusiveAccessRegistrantsOnly => PrType::ExclusiveAccessRegistrantsOnly,
            Self::WriteExclusiveAllRegistrants => PrType::WriteExclusiveAllRegistrants,
            Self::ExclusiveAccessAllRegistrants => PrType::ExclusiveAccessAllRegistrants,
        }
    }
    pub(crate) const fn of(t: PrType) -> u32 {
        match t {
            PrType::WriteExclusive => Self::WriteExclusive.code(),
            PrType::ExclusiveAccess => Self::ExclusiveAccess.code(),
            PrType::WriteExclusiveRegistrantsOnly => Self::WriteExclusiveRegistrantsOnly.code(),
            PrType::ExclusiveAccessRegistrantsOnly => Self::ExclusiveAccessRegistrantsOnly.code(),
            PrType::WriteExclusiveAllRegistrants => Self::WriteExclusiveAllRegistrants.code(),
            PrType::ExclusiveAccessAllRegistrants => Self::ExclusiveAccessAllRegistrants.code(),
        }
    }
}

c_enum! {
    /// [`RegistrationScope`].
    pub enum MpathRegistrationScope {
        /// One I_T nexus (SCSI, ALL_TG_PT = 0).
        Nexus = 0,
        /// Every target port of an initiator port (SCSI ALL_TG_PT = 1).
        InitiatorPort = 1,
        /// The whole host (NVMe).
        Host = 2,
    }
}

impl MpathRegistrationScope {
    pub(crate) const fn to_core(self) -> RegistrationScope {
        match self {
            Self::Nexus => RegistrationScope::Nexus,
            Self::InitiatorPort => RegistrationScope::InitiatorPort,
            Self::Host => RegistrationScope::Host,
        }
    }
}

c_enum! {
    /// [`RegState`]: a path's registration state.
    pub enum MpathRegState {
        /// Not known.
        Unknown = 0,
        /// A registration or unregistration is wanted or in flight.
        Registering = 1,
        /// Registered with the intended key.
        Registered = 2,
        /// The last attempt failed.
        Failed = 3,
        /// May hold an old key.
        Stale = 4,
    }
}

impl MpathRegState {
    pub(crate) const fn of(s: RegState) -> u32 {
        match s {
            RegState::Unknown => Self::Unknown.code(),
            RegState::Registering => Self::Registering.code(),
            RegState::Registered => Self::Registered.code(),
            RegState::Failed => Self::Failed.code(),
            RegState::Stale => Self::Stale.code(),
        }
    }
}

c_enum! {
    /// [`PrCommand`](mpath_core::reservation::PrCommand): the command of a
    /// [`MpathPrAction`](crate::reservation::MpathPrAction).
    pub enum MpathPrCommand {
        /// REGISTER AND IGNORE EXISTING KEY `key`.
        Register = 0,
        /// Remove this nexus's registration.
        Unregister = 1,
        /// READ KEYS.
        ReadKeys = 2,
        /// READ RESERVATION.
        ReadReservation = 3,
        /// RESERVE `key`, `rtype`.
        Reserve = 4,
        /// RELEASE `key`, `rtype`.
        Release = 5,
        /// PREEMPT (AND ABORT) `key`, `victim`, `rtype`, `abort`.
        Preempt = 6,
        /// CLEAR `key`.
        Clear = 7,
    }
}

c_enum! {
    /// [`PrReply`](mpath_core::reservation::PrReply): the kind of answer.
    pub enum MpathPrReplyKind {
        /// GOOD.
        Done = 0,
        /// READ KEYS data: `ours`, `total`.
        Keys = 1,
        /// READ RESERVATION data: `has_reservation`, `holder_key`, `rtype`.
        Reservation = 2,
        /// RESERVATION CONFLICT.
        Conflict = 3,
        /// The path failed the command.
        PathFailed = 4,
        /// The target refused it.
        Refused = 5,
    }
}

c_enum! {
    /// [`PrOp`](mpath_core::reservation::PrOp): a user operation.
    pub enum MpathPrOpKind {
        /// Register `key` on every path.
        Register = 0,
        /// Remove our registrations.
        Unregister = 1,
        /// Reserve with `rtype`.
        Reserve = 2,
        /// Release ours.
        Release = 3,
        /// Preempt `victim`, holding `rtype`, `abort` for PREEMPT AND ABORT.
        Preempt = 4,
        /// Remove every registration and the reservation.
        Clear = 5,
        /// Read the registered keys.
        ReadKeys = 6,
        /// Read the reservation.
        ReadReservation = 7,
    }
}

c_enum! {
    /// [`PrEvent`](mpath_core::reservation::PrEvent): the kind of event.
    pub enum MpathPrEventKind {
        /// A user operation finished (`op`, `result`, `report`).
        Finished = 0,
        /// Another host preempted us.
        Fenced = 1,
        /// The reservation moved to `holder`'s nexus.
        Moved = 2,
    }
}

c_enum! {
    /// [`Action`](mpath_core::Action): what the embedder must do.
    pub enum MpathActionKind {
        /// Send the held I/O now in the ticket on its path.
        Dispatch = 0,
        /// End the held I/O with `io_error`.
        Fail = 1,
        /// Probe `path`.
        Probe = 2,
        /// Re-read access states through `path`.
        RefreshAccessState = 3,
        /// Activate `group` through `path`.
        ActivateGroup = 4,
        /// `group` stayed in transition past its timeout.
        TransitionTimedOut = 5,
        /// Expose the block device.
        HeadLive = 6,
        /// Remove the block device.
        HeadRemoved = 7,
        /// Send the persistent-reservation command in `pr` (only a
        /// device that owns its coordinator asks this).
        Reservation = 8,
    }
}

c_enum! {
    /// [`Disposition`](mpath_core::Disposition): what became of an I/O.
    pub enum MpathDispositionKind {
        /// Finished: report `io_error` (`Ok` or why) to the submitter.
        Done = 0,
        /// Send it (again): the ticket is in the ticket slot.
        Dispatch = 1,
        /// Held; a later action ends it.
        Queued = 2,
        /// The requeue is full: hold `io` and submit it again later.
        Busy = 3,
    }
}
