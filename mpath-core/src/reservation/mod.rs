//! Persistent reservations over a changing set of paths.
//!
//! A SCSI persistent-reservation registration belongs to one I_T nexus
//! (SPC-4 5.13): a host with four paths to a logical unit has four
//! registrations, and a write through a path whose nexus is not registered
//! gets RESERVATION CONFLICT under the "registrants only" types. Paths come
//! and go, and another host can preempt us at any time. The [`Coordinator`]
//! keeps one logical reservation correct across all of that. It is sans-IO
//! like the rest of the core: it emits [`PrAction`]s (one PR command on one
//! path) and takes [`PrReply`]s; the transport adapters map them to SCSI
//! PERSISTENT RESERVE IN/OUT or NVMe Reservation commands.
//!
//! The rules it implements, each covered by a test:
//!
//! 1. Register on every nexus (REGISTER AND IGNORE EXISTING KEY) before that
//!    path carries I/O; while a key is set an unregistered path is not
//!    admitted. New and returning paths are registered first.
//! 2. Verify after registering (READ KEYS) and notice a preemption: fewer
//!    instances of our key than registered nexuses, or a unit attention /
//!    NVMe notification saying so.
//! 3. A path that returns after the key changed or was dropped has its stale
//!    registration replaced or removed before it is admitted. A path that
//!    returns over a new I_T nexus (a new iSCSI session, a new fabric
//!    login; [`Coordinator::nexus_replaced`]) is registered like a new
//!    path, and a reservation its old nexus held is moved as in rule 6.
//! 4. Reserve, release, preempt and clear go to one registered path and are
//!    retried on another on path failure; a reservation conflict is
//!    reported, not retried.
//! 5. Never release a reservation this host does not hold (checked with READ
//!    RESERVATION first), and the automatic move preempts only our own key.
//! 6. If the nexus holding the reservation dies: quiesce I/O, preempt our
//!    own key from a live registered path (which makes it the holder and
//!    drops our other registrations), re-register the others, resume.
//!    Changing the reservation type goes the same way.
//! 7. When another host preempts us we are fenced: nothing is admitted, I/O
//!    fails with a clear error, and nothing re-registers until the user
//!    registers again.
//! 8. With ALL_TG_PT one registration covers every path of an initiator
//!    port; with NVMe, every path of the host.
//! 9. Registration failing on some paths leaves them out and retries them
//!    when they come back; the operation's result says which hold the key.

mod coordinator;

pub use coordinator::Coordinator;

use crate::path::PathId;

/// Reservation type (SPC-4 table 216; NVMe Reservation Type has the same six).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrType {
    /// Write Exclusive.
    WriteExclusive,
    /// Exclusive Access.
    ExclusiveAccess,
    /// Write Exclusive - Registrants Only.
    WriteExclusiveRegistrantsOnly,
    /// Exclusive Access - Registrants Only.
    ExclusiveAccessRegistrantsOnly,
    /// Write Exclusive - All Registrants.
    WriteExclusiveAllRegistrants,
    /// Exclusive Access - All Registrants.
    ExclusiveAccessAllRegistrants,
}

impl PrType {
    /// Whether every registrant is a reservation holder (the "all
    /// registrants" types): then no single nexus holds it and losing one
    /// path needs no move.
    pub const fn all_registrants(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusiveAllRegistrants | PrType::ExclusiveAccessAllRegistrants
        )
    }
}

/// What one registration covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegistrationScope {
    /// One I_T nexus (SCSI, ALL_TG_PT = 0).
    Nexus,
    /// Every target port reached from one initiator port (SCSI ALL_TG_PT = 1).
    InitiatorPort,
    /// The whole host (NVMe: registrations are per Host Identifier).
    Host,
}

/// Registration state of one path's nexus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegState {
    /// Not known: no key intended, or the path has not been asked.
    Unknown,
    /// A registration (or unregistration) is wanted or in flight.
    Registering,
    /// Registered with the intended key (verified or just done).
    Registered,
    /// The last attempt failed on this path; retried when it comes back.
    Failed,
    /// May hold an old key: must be replaced or removed before admission.
    Stale,
}

/// One persistent-reservation command the transport must send on a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrCommand {
    /// Register `key`, whatever is registered now (SCSI REGISTER AND IGNORE
    /// EXISTING KEY; NVMe Reservation Register, replace, IEKEY).
    Register {
        /// The new key.
        key: u64,
    },
    /// Remove this nexus's registration (SCSI REGISTER AND IGNORE EXISTING
    /// KEY with key 0; NVMe Reservation Register, unregister, IEKEY).
    Unregister,
    /// READ KEYS / Reservation Report: reply with [`PrReply::Keys`].
    ReadKeys,
    /// READ RESERVATION / Reservation Report: reply with
    /// [`PrReply::Reservation`].
    ReadReservation,
    /// RESERVE / Reservation Acquire.
    Reserve {
        /// Our key.
        key: u64,
        /// The type.
        rtype: PrType,
    },
    /// RELEASE / Reservation Release.
    Release {
        /// Our key.
        key: u64,
        /// The type held.
        rtype: PrType,
    },
    /// PREEMPT (AND ABORT) / Reservation Acquire, preempt.
    Preempt {
        /// Our key.
        key: u64,
        /// The key whose registrations (and reservation) are removed.
        victim: u64,
        /// The reservation type to hold afterwards.
        rtype: PrType,
        /// Also abort the victim's outstanding commands.
        abort: bool,
    },
    /// CLEAR / Reservation Release, clear.
    Clear {
        /// Our key.
        key: u64,
    },
}

/// A command and the path to send it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrAction {
    /// The path.
    pub via: PathId,
    /// The command.
    pub command: PrCommand,
}

/// The transport's answer to a [`PrAction`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrReply {
    /// GOOD.
    Done,
    /// READ KEYS data, summarised: how many registrations carry our key and
    /// how many there are in all.
    Keys {
        /// Registrations with our key.
        ours: u32,
        /// All registrations.
        total: u32,
    },
    /// READ RESERVATION data: the holder's key and the type, if any.
    Reservation(Option<(u64, PrType)>),
    /// RESERVATION CONFLICT.
    Conflict,
    /// The path failed the command (transport error, timeout, path error).
    PathFailed,
    /// The target refused it (ILLEGAL REQUEST, invalid field).
    Refused,
}

/// A user operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrOp {
    /// Register `key` on every path.
    Register(u64),
    /// Remove our registrations everywhere.
    Unregister,
    /// Take a reservation of this type.
    Reserve(PrType),
    /// Release the reservation we hold.
    Release,
    /// Preempt `victim`'s registrations, holding `rtype` afterwards.
    Preempt {
        /// The key to preempt.
        victim: u64,
        /// The type to hold.
        rtype: PrType,
        /// PREEMPT AND ABORT.
        abort: bool,
    },
    /// Remove every registration and the reservation.
    Clear,
    /// Read the registered keys.
    ReadKeys,
    /// Read the reservation.
    ReadReservation,
}

/// The result of a finished operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrReport {
    /// Path slots whose nexus holds our key now (bit per slot).
    pub registered: u64,
    /// Path slots where registration failed (bit per slot).
    pub failed: u64,
    /// For [`PrOp::ReadKeys`]: (ours, total).
    pub keys: Option<(u32, u32)>,
    /// For [`PrOp::ReadReservation`]: the holder key and type.
    pub reservation: Option<(u64, PrType)>,
}

/// Why an operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PrError {
    /// Another operation is in progress.
    #[error("another reservation operation is in progress")]
    Busy,
    /// No registered path is usable to send the command on.
    #[error("no registered path")]
    NoPath,
    /// No key is registered.
    #[error("no key registered")]
    NotRegistered,
    /// The target answered RESERVATION CONFLICT.
    #[error("reservation conflict")]
    Conflict,
    /// The target refused the command.
    #[error("refused by the target")]
    Refused,
    /// We do not hold the reservation (rule 5).
    #[error("reservation not held by this host")]
    NotHolder,
    /// Another host removed our registrations: we are fenced (rule 7).
    #[error("fenced: another host preempted our registration")]
    Fenced,
}

/// Something the embedder should know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrEvent {
    /// A user operation finished.
    Finished {
        /// Which.
        op: PrOp,
        /// How.
        result: Result<PrReport, PrError>,
    },
    /// Another host preempted us; I/O now fails until the user acts.
    Fenced,
    /// The reservation moved to the nexus of this path after its holder died.
    Moved {
        /// The new holder.
        holder: PathId,
    },
}

#[cfg(test)]
mod tests {
    use super::PrType::*;

    /// SPC-4 5.13.10: only the two "all registrants" types make every
    /// registrant a holder.
    #[test]
    fn all_registrants_types() {
        for (t, all) in [
            (WriteExclusive, false),
            (ExclusiveAccess, false),
            (WriteExclusiveRegistrantsOnly, false),
            (ExclusiveAccessRegistrantsOnly, false),
            (WriteExclusiveAllRegistrants, true),
            (ExclusiveAccessAllRegistrants, true),
        ] {
            assert_eq!(t.all_registrants(), all, "{t:?}");
        }
    }
}
