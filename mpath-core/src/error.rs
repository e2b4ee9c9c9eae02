//! Errors for control-plane misuse.

use crate::access::GroupId;
use crate::io::IoTag;
use crate::path::{NexusId, PathId};
use crate::time::TimeError;

/// Why the control plane refused an input. The state is unchanged when any
/// of these is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input's time is earlier than one already seen.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// No path has ever had this slot, or the slot is out of range.
    #[error("unknown path {0}")]
    UnknownPath(PathId),
    /// The path was removed (its slot may hold a newer path).
    #[error("stale path {0}: it was removed")]
    StalePath(PathId),
    /// A path over this nexus already exists.
    #[error("a path over nexus {0:?} already exists")]
    DuplicateNexus(NexusId),
    /// All path slots are in use (or still draining I/O of removed paths).
    #[error("path table full")]
    PathTableFull,
    /// All group slots are in use.
    #[error("group table full")]
    GroupTableFull,
    /// No group with this id is known.
    #[error("unknown group {0:?}")]
    UnknownGroup(GroupId),
    /// A ticket issued by another device's data plane: nothing was
    /// changed on either device, and the ticket is handed back.
    #[error("ticket issued by {issued_by}, completed on {device}")]
    ForeignTicket {
        /// The device that issued the ticket.
        issued_by: crate::dataplane::DeviceId,
        /// The device it was handed to.
        device: crate::dataplane::DeviceId,
    },
    /// The core holds no I/O with this tag.
    #[error("unknown I/O {0:?}")]
    UnknownIo(IoTag),
    /// A result arrived for a command the core did not ask for.
    #[error("no {what} pending")]
    NotPending {
        /// Which kind of command.
        what: &'static str,
    },
    /// A setting the controller refuses.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The multipath head was removed; the device takes no more inputs.
    #[error("multipath device removed")]
    HeadRemoved,
}

/// An input the control plane refused, with the item it could not take
/// handed back so nothing is lost.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejected<T> {
    /// Why.
    pub error: Error,
    /// What was passed in.
    pub item: T,
}
