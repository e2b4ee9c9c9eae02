//! A finished SCSI command as a fabric reports it: whether it reached the
//! target, the SAM status, the sense data and the data-in, in the terms
//! `mpath_scsi::classify` and the SCSI adapter take. A real nexus
//! (mpath-iscsi's libiscsi session) and a simulated one (mpath-sim's
//! device server) both answer with it.

use mpath_scsi::ScsiResponse;

pub use mpath_scsi::classify::TransportStatus;

/// A finished command, in the terms mpath-scsi classifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandResult {
    /// Whether the command reached the target and got a status.
    pub transport: TransportStatus,
    /// SAM status byte (meaningful when `transport` is `Ok`).
    pub status: u8,
    /// Sense data of a CHECK CONDITION, as the target sent it.
    pub sense: Vec<u8>,
    /// Data-in.
    pub data: Vec<u8>,
    /// The transport's message when the transport failed.
    pub error: Option<String>,
}

impl CommandResult {
    /// A command that never got a SCSI status: `transport` says how it
    /// failed, `error` why.
    pub fn transport_failure(transport: TransportStatus, error: String) -> Self {
        CommandResult {
            transport,
            status: 0,
            sense: Vec::new(),
            data: Vec::new(),
            error: Some(error),
        }
    }

    /// What a command on nexus `i` ends as when there is no such nexus, or
    /// it is not logged in: it never left the initiator.
    pub fn no_nexus(i: usize) -> Self {
        Self::transport_failure(TransportStatus::NoConnect, format!("no nexus {i}"))
    }

    /// The sense buffer, if there is one, for
    /// [`mpath_scsi::classify::classify`].
    pub fn sense(&self) -> Option<&[u8]> {
        (!self.sense.is_empty()).then_some(self.sense.as_slice())
    }

    /// The result as the SCSI adapter takes a response.
    pub fn response(&self) -> ScsiResponse<'_> {
        ScsiResponse {
            transport: self.transport,
            status: self.status,
            sense: self.sense(),
            data_in: &self.data,
        }
    }
}
