//! Codes of paths, groups and the selector: probe results, link events,
//! access states, activation results, policies, tiers, head and health.

use super::MPATH_CODE_UNKNOWN;
use mpath_core::{
    AccessProtocol, AccessState, ActivationResult, Health, Link, LinkEvent, Policy, ProbeResult,
    Tier,
};

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
