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
//! The rules it implements, each covered by a test (`tests/reservation.rs`,
//! `tests/device.rs`, and the device property test against an SPC-4 model,
//! `tests/device_props.rs`):
//!
//! 1. Register on every nexus (REGISTER AND IGNORE EXISTING KEY) before that
//!    path carries I/O; while a key is set an unregistered path is not
//!    admitted.
//! 2. Verify after registering (READ KEYS). Fewer of our keys than we
//!    registered is a fence, never a reason to register again:
//!    registrations outlive I_T nexus loss, and only a preemption or a
//!    clear removes ours (our own PREEMPTs re-register before the check).
//!    A unit attention or NVMe notification saying so, and any RESERVATION
//!    CONFLICT while a key is set, lead to the same check, with I/O held.
//! 3. A nexus that joins a registration that already exists (a new path, a
//!    path back from an outage, a new I_T nexus behind a path,
//!    [`Coordinator::nexus_replaced`]) looks before it registers: READ
//!    KEYS (READ FULL STATUS where the transport can name the nexus,
//!    [`PrReply::Keys::here`]), and none of our keys anywhere means another
//!    host preempted us while it was away: fenced, nothing registered
//!    behind the fence. A nexus the look shows registered with our key
//!    already is admitted as it is. Otherwise REGISTER AND IGNORE EXISTING
//!    KEY, then look again: fewer than before (one more than before where
//!    the first look showed this nexus unregistered), or than we count
//!    registered, means a preemption landed in between; the registration
//!    just made is removed again and we are fenced. Only then is the path
//!    admitted. A path that returns after the key was dropped has its
//!    stale registration removed.
//! 4. Reserve, release, preempt and clear go to one registered path (one
//!    that carries I/O first) and are retried on another on path failure;
//!    a reservation conflict is reported, not retried.
//! 5. Never release a reservation this host does not hold (READ
//!    RESERVATION first); the automatic move preempts only our own key.
//!    Holding it through a nexus we cannot reach or do not know (a fresh
//!    process, an old session), a RELEASE would be GOOD and release
//!    nothing: take it over first (PREEMPT of our own key), then release.
//! 6. If the nexus holding a Write Exclusive or Exclusive Access style
//!    reservation dies, or cannot carry I/O while another registered nexus
//!    can: quiesce I/O, preempt our own key from a live registered path
//!    (which makes it the holder and drops our other registrations),
//!    re-register the others, resume. A move that finds no path waits for
//!    one, I/O held. Changing the reservation type goes the same way; from
//!    an all-registrants type it is RELEASE then RESERVE (a PREEMPT there
//!    would leave the type, or remove every other host's registrations).
//!    I/O that meets RESERVATION CONFLICT because of our own PREEMPT is
//!    held and sent again, never failed upward.
//! 7. When another host preempts us we are fenced: nothing is admitted, I/O
//!    fails with [`IoError::Fenced`](crate::IoError::Fenced), and nothing
//!    re-registers until the user registers again.
//! 8. With ALL_TG_PT one registration covers every path of an initiator
//!    port; with NVMe, every path of the host.
//! 9. Registration failing on some paths leaves them out and retries them
//!    when they come back; the operation's result says which hold the key.
//! 10. Admission follows the type (SPC-4 table 217): under Write Exclusive
//!     only the holder's nexus writes, under Exclusive Access only it
//!     reads or writes, under the registrants-only and all-registrants
//!     types every registered nexus does
//!     ([`Coordinator::admits_read`], [`Coordinator::admits_write`]).
//! 11. The all-registrants types have no one holder: READ RESERVATION
//!     reports key 0, which is ours while we are registered; release, type
//!     change and preempt work on them.
//! 12. REGISTER AND MOVE ([`Coordinator::move_to`]) hands a single-holder
//!     reservation (Write Exclusive, Exclusive Access and their
//!     registrants-only forms; an all-registrants one has no holder to
//!     move, and SPC-4 5.13.8 answers RESERVATION CONFLICT) to another
//!     host's I_T nexus, registering that nexus with the key given. It goes
//!     out on the holder's nexus only, as RELEASE does (any other nexus is
//!     not the holder: RESERVATION CONFLICT), and is not retried on
//!     another path. UNREG is 0: our registrations stay, and once it is
//!     answered GOOD we hold no reservation; I/O is admitted as for any
//!     registrant of another host's reservation. The destination's
//!     TransportID stays in the coordinator while the command runs
//!     ([`Coordinator::move_destination`]), not in the [`PrCommand`]: the
//!     commands travel inside the device's `Action`, on the I/O path,
//!     and must stay small.

mod coordinator;
mod destination;

pub use coordinator::Coordinator;
pub(crate) use coordinator::KEY_CHECK_NOTICES;

/// The longest destination TransportID [`Coordinator::move_to`] keeps, in
/// bytes. The longest SPC-4 TransportID is iSCSI's initiator port form
/// (7.6.4.6): a 223-byte iSCSI name (RFC 7143 6.1), `,i,0x`, twelve ISID
/// digits and a NUL, padded to 244, after a 4-byte header: 248 bytes.
/// multipath-tools keeps 256 (`MPATH_MX_TID_LEN`), and so does this.
pub const TRANSPORT_ID_MAX: usize = 256;

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
    /// Every type, in SPC-4's order of codes (1, 3, 5, 6, 7, 8).
    pub const ALL: [PrType; 6] = [
        PrType::WriteExclusive,
        PrType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusiveAllRegistrants,
        PrType::ExclusiveAccessAllRegistrants,
    ];

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
    /// REGISTER AND MOVE (SCSI only; UNREG 0): the reservation `key` holds
    /// through this nexus moves to the I_T nexus that the TransportID of
    /// [`Coordinator::move_destination`] names through
    /// `relative_target_port`, which is registered with `dest_key` if it is
    /// not registered yet. Sent only on the holder's nexus.
    RegisterAndMove {
        /// Our key (RESERVATION KEY).
        key: u64,
        /// The destination's key (SERVICE ACTION RESERVATION KEY).
        dest_key: u64,
        /// The type held, which moves with it (the CDB's TYPE).
        rtype: PrType,
        /// RELATIVE TARGET PORT IDENTIFIER of the destination I_T nexus.
        relative_target_port: u16,
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
    /// READ KEYS or READ FULL STATUS data, summarised: how many
    /// registrations carry our key, how many there are in all, and whether
    /// the nexus the command went through holds one of ours.
    Keys {
        /// Registrations with our key.
        ours: u32,
        /// All registrations.
        total: u32,
        /// Whether the registrations with our key include one for the I_T
        /// nexus (or, with ALL_TG_PT, the initiator port) the command went
        /// through. Only READ FULL STATUS names nexuses, and only a
        /// transport that knows its own TransportID and relative target
        /// port can tell: `None` otherwise (READ KEYS). Where it is known, a
        /// joining nexus registers only when it is not registered already,
        /// and its second look must find one more of ours than the first
        /// (rule 3); NVMe registrations are per host, so `None`.
        here: Option<bool>,
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
    /// Register `key` on every path. Replacing a key in use takes the old
    /// one over first (PREEMPT of it from one registered nexus); when that
    /// fails on every path that is up, it ends with
    /// [`PrError::NoPath`] and the old key stays.
    Register(u64),
    /// Remove our registrations everywhere, those on nexuses no path
    /// reaches any more included (a takeover from one nexus that is up,
    /// registered first if it is not). Refused with [`PrError::NoPath`],
    /// nothing changed, when no path is up.
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
    /// Hand the single-holder reservation we hold to another I_T nexus,
    /// registering it with `dest_key` (rule 12). Started with
    /// [`Coordinator::move_to`], which takes the destination's TransportID;
    /// [`Coordinator::submit`] refuses it ([`PrError::BadTransportId`]).
    RegisterAndMove {
        /// The key the destination is registered with.
        dest_key: u64,
        /// RELATIVE TARGET PORT IDENTIFIER of the destination I_T nexus.
        relative_target_port: u16,
    },
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
    /// Key 0 is not a reservation key: registering it unregisters (SPC-4
    /// 5.13.11.2.3, NVMe likewise).
    #[error("reservation key 0 is not a key")]
    ZeroKey,
    /// REGISTER AND MOVE needs a destination TransportID of 1 to
    /// [`TRANSPORT_ID_MAX`] bytes, given to [`Coordinator::move_to`].
    #[error("the destination TransportID is missing, empty or too long")]
    BadTransportId,
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
