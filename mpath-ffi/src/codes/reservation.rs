//! Codes of persistent reservations: types, registration scope and state,
//! the commands the device asks for, the answers, operations and events.

use mpath_core::reservation::{PrType, RegState, RegistrationScope};

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
        /// REGISTER AND MOVE `key`, `rtype`: the destination (registered
        /// with `victim`) is the TransportID and `relative_target_port`
        /// of `mpath_pr_move_destination`.
        RegisterAndMove = 8,
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
        /// Hand our reservation to another I_T nexus, registered with
        /// `key`, through `relative_target_port`: started with
        /// `mpath_reservation_move_to` (which takes the TransportID), and
        /// reported in `Finished` events; `mpath_reservation` refuses it.
        RegisterAndMove = 8,
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
