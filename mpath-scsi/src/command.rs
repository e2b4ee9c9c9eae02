//! The SCSI commands the adapter asks the embedder to send, and the
//! response the embedder brings back.
//!
//! A [`ScsiCommand`] is complete: the CDB bytes, the parameter list to send
//! (data-out), how many bytes to accept back (data-in), and the [`CommandKind`]
//! that says which core action it carries out, so the response can be routed
//! to [`ScsiAdapter::apply`](crate::adapter::ScsiAdapter::apply), or, for the
//! reservation coordinator's commands, to
//! [`ScsiAdapter::pr_reply`](crate::adapter::ScsiAdapter::pr_reply).

use mpath_core::access::GroupId;
use mpath_core::path::PathId;
use mpath_core::reservation::{PrCommand, TRANSPORT_ID_MAX};

use crate::cdb::Cdb;
use crate::classify::{status, TransportStatus};
use crate::error::WireError;

/// The largest parameter list a [`ScsiCommand`] carries: the REGISTER AND
/// MOVE list (SPC-4 6.17.4: 24 bytes and the destination's TransportID, up
/// to [`TRANSPORT_ID_MAX`]). SET TARGET PORT GROUPS with one descriptor
/// needs 8 bytes, the basic PERSISTENT RESERVE OUT parameter list 24. A
/// command is built and sent on the control path only (never for I/O), so
/// the fixed buffer costs a copy there, not on the I/O path.
pub const DATA_OUT_MAX: usize = 24 + TRANSPORT_ID_MAX;

/// Which core action a command carries out: where its response goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// TEST UNIT READY for `Action::Probe`.
    Probe,
    /// REPORT TARGET PORT GROUPS for `Action::RefreshAccessState`.
    RefreshAccessState,
    /// SET TARGET PORT GROUPS for `Action::ActivateGroup`.
    ActivateGroup {
        /// The group being activated.
        group: GroupId,
    },
    /// PERSISTENT RESERVE OUT or IN for a reservation coordinator
    /// [`PrAction`](mpath_core::reservation::PrAction): the response goes to
    /// [`ScsiAdapter::pr_reply`](crate::adapter::ScsiAdapter::pr_reply).
    Reservation {
        /// The coordinator's command.
        command: PrCommand,
        /// Which send this is on the same path: 1, then counted up by every
        /// resend after a unit attention or busy target, up to
        /// [`PR_ATTEMPTS`](crate::pr_map::PR_ATTEMPTS).
        attempt: u8,
    },
}

impl CommandKind {
    /// The SCSI command's name.
    pub const fn name(self) -> &'static str {
        match self {
            CommandKind::Probe => "TEST UNIT READY",
            CommandKind::RefreshAccessState => "REPORT TARGET PORT GROUPS",
            CommandKind::ActivateGroup { .. } => "SET TARGET PORT GROUPS",
            CommandKind::Reservation {
                command: PrCommand::ReadKeys | PrCommand::ReadReservation,
                ..
            } => "PERSISTENT RESERVE IN",
            CommandKind::Reservation { .. } => "PERSISTENT RESERVE OUT",
        }
    }
}

/// A parameter list to send with a command, in a fixed buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DataOut {
    bytes: [u8; DATA_OUT_MAX],
    len: u16,
}

impl DataOut {
    /// No data-out phase.
    pub const NONE: DataOut = DataOut {
        bytes: [0; DATA_OUT_MAX],
        len: 0,
    };

    /// Run an emitter into a fresh buffer; it returns the bytes it wrote.
    pub(crate) fn emit(
        f: impl FnOnce(&mut [u8]) -> Result<usize, WireError>,
    ) -> Result<Self, WireError> {
        let mut bytes = [0u8; DATA_OUT_MAX];
        let n = f(&mut bytes)?;
        let len = u16::try_from(n.min(DATA_OUT_MAX)).unwrap_or(0);
        Ok(DataOut { bytes, len })
    }

    /// The bytes to send.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }

    /// The PARAMETER LIST LENGTH.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there is no data-out phase.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A SCSI command for the embedder to send on [`path`](Self::path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScsiCommand {
    pub(crate) path: PathId,
    pub(crate) kind: CommandKind,
    pub(crate) cdb: Cdb,
    pub(crate) data_out: DataOut,
    pub(crate) data_in_len: u32,
}

impl ScsiCommand {
    /// The path (I_T nexus) to send it on.
    pub const fn path(&self) -> PathId {
        self.path
    }
    /// What it is for.
    pub const fn kind(&self) -> CommandKind {
        self.kind
    }
    /// The CDB.
    pub fn cdb(&self) -> &[u8] {
        self.cdb.as_bytes()
    }
    /// The parameter list to send (empty when there is none).
    pub fn data_out(&self) -> &[u8] {
        self.data_out.as_bytes()
    }
    /// The data-in buffer to provide (the CDB's ALLOCATION LENGTH; 0 when
    /// the command returns no data).
    pub const fn data_in_len(&self) -> u32 {
        self.data_in_len
    }
}

/// What came back for a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScsiResponse<'a> {
    /// The transport's verdict on delivery.
    pub transport: TransportStatus,
    /// The SCSI STATUS byte (meaningless unless `transport` is `Ok`).
    pub status: u8,
    /// Sense data, for CHECK CONDITION.
    pub sense: Option<&'a [u8]>,
    /// The data-in bytes actually transferred.
    pub data_in: &'a [u8],
}

impl<'a> ScsiResponse<'a> {
    /// GOOD without data.
    pub const GOOD: ScsiResponse<'static> = ScsiResponse {
        transport: TransportStatus::Ok,
        status: status::GOOD,
        sense: None,
        data_in: &[],
    };

    /// GOOD with `data_in`.
    pub const fn good(data_in: &'a [u8]) -> Self {
        ScsiResponse {
            transport: TransportStatus::Ok,
            status: status::GOOD,
            sense: None,
            data_in,
        }
    }

    /// CHECK CONDITION with `sense`.
    pub const fn check_condition(sense: &'a [u8]) -> Self {
        ScsiResponse {
            transport: TransportStatus::Ok,
            status: status::CHECK_CONDITION,
            sense: Some(sense),
            data_in: &[],
        }
    }

    /// Another status byte, without sense or data.
    pub const fn status(status: u8) -> Self {
        ScsiResponse {
            transport: TransportStatus::Ok,
            status,
            sense: None,
            data_in: &[],
        }
    }

    /// The command did not complete at the target.
    pub const fn transport(transport: TransportStatus) -> Self {
        ScsiResponse {
            transport,
            status: status::GOOD,
            sense: None,
            data_in: &[],
        }
    }
}
