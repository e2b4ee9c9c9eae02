//! What a command comes back with: a completion queue entry (Base 2.0
//! "Completion Queue Entry"), or nothing yet.
//!
//! The target answers every command at once except an Asynchronous Event
//! Request, which the controller holds until it has an event to report
//! ([`Submitted::Deferred`]); its completion comes out later through
//! [`Subsystem::poll_event`](super::Subsystem::poll_event).

use mpath_nvme::status::{sct, CqeDw3, Status, StatusCode};

/// Status codes the target returns that `mpath_nvme::status` does not name
/// (Base 2.0 "Generic Command Status Values" and "Command Specific Status
/// Values").
pub mod extra_status {
    use super::{sct, StatusCode};

    /// Data SGL Length Invalid (generic 0Fh): the data buffer is shorter
    /// than the transfer the command asks for.
    pub const DATA_SGL_LENGTH_INVALID: StatusCode = StatusCode::new(sct::GENERIC, 0x0F);
    /// Host Identifier Inconsistent Format (generic 18h): a Reservation
    /// Report without EDS while 128-bit host identifiers are in use.
    pub const HOST_ID_INCONSISTENT_FORMAT: StatusCode = StatusCode::new(sct::GENERIC, 0x18);
    /// Asynchronous Event Request Limit Exceeded (command specific 05h):
    /// more outstanding requests than AERL allows.
    pub const AER_LIMIT_EXCEEDED: StatusCode = StatusCode::new(sct::COMMAND_SPECIFIC, 0x05);
}

/// Which queue a command was submitted on: opcodes mean different things
/// on the admin and I/O queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    /// The admin submission queue.
    Admin,
    /// An I/O submission queue.
    Io,
}

/// A completion queue entry, less what the transport owns (SQ head
/// pointer, SQ identifier, phase tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Completion {
    /// Command Identifier of the command.
    pub cid: u16,
    /// Dword 0, command specific (the event of an Asynchronous Event
    /// Request).
    pub dw0: u32,
    /// Status Field.
    pub status: Status,
}

impl Completion {
    /// Successful completion of `cid`.
    pub const fn success(cid: u16) -> Self {
        Completion {
            cid,
            dw0: 0,
            status: Status::SUCCESS,
        }
    }

    /// `cid` ended with `code`; `dnr` when resubmitting cannot help.
    pub fn error(cid: u16, code: StatusCode, dnr: bool) -> Self {
        Completion {
            cid,
            dw0: 0,
            status: Status::new(code).with_dnr(dnr),
        }
    }

    /// Dword 3 with the given phase tag.
    pub fn dw3(&self, phase: bool) -> u32 {
        CqeDw3 {
            cid: self.cid,
            phase,
            status: self.status,
        }
        .emit()
    }

    /// The 16-byte entry (SQ head and SQ identifier zero).
    pub fn to_bytes(&self, phase: bool) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.dw0.to_le_bytes());
        b[12..16].copy_from_slice(&self.dw3(phase).to_le_bytes());
        b
    }
}

/// What [`Subsystem::submit`](super::Subsystem::submit) did with a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Submitted {
    /// It completed.
    Completed(Completion),
    /// An Asynchronous Event Request the controller holds until an event
    /// is posted, a reset aborts it, or the controller goes away.
    Deferred {
        /// Its command identifier.
        cid: u16,
    },
}

impl Submitted {
    /// The completion, if the command completed.
    pub fn completion(self) -> Option<Completion> {
        match self {
            Submitted::Completed(c) => Some(c),
            Submitted::Deferred { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_bytes_carry_status_above_phase() {
        let c = Completion::error(0x1234, StatusCode::RESERVATION_CONFLICT, true);
        let b = c.to_bytes(true);
        let dw3 = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        let back = CqeDw3::parse(dw3);
        assert_eq!(back.cid, 0x1234);
        assert!(back.phase);
        assert_eq!(back.status.code(), StatusCode::RESERVATION_CONFLICT);
        assert!(back.status.dnr());
        assert_eq!(
            Submitted::Completed(c).completion(),
            Some(c),
            "completed answers carry their entry"
        );
        assert_eq!(Submitted::Deferred { cid: 1 }.completion(), None);
    }
}
