//! The 64-byte Submission Queue Entry (Base 2.0 "Submission Queue Entry",
//! "Common Command Format").
//!
//! ```text
//!  0      CDW0 7:0   opcode
//!  1      CDW0 9:8   FUSE (bits 1:0), 13:10 reserved, 15:14 PSDT
//!  2..4   CDW0 31:16 CID, command identifier
//!  4..8   NSID
//!  8..40  CDW2-3, MPTR, DPTR: the transport's business, not the target's
//! 40..64  CDW10..CDW15
//! ```
//!
//! The simulator carries data beside the entry (`data_out`, `data_in`), so
//! the data pointer is never read. Every 64-byte string parses: fields the
//! target does not know are validated where they are used, so an invalid
//! one becomes an error status, never a panic.

use mpath_nvme::command::NvmeCommand;
use mpath_nvme::identify::Identify;
use mpath_nvme::log_page::GetLogPage;

/// Bytes of a submission queue entry.
pub const SQE_LEN: usize = 64;

/// Admin opcodes the target implements (Base 2.0 "Opcodes for Admin
/// Commands").
pub mod admin_opcode {
    /// Get Log Page.
    pub const GET_LOG_PAGE: u8 = 0x02;
    /// Identify.
    pub const IDENTIFY: u8 = 0x06;
    /// Asynchronous Event Request.
    pub const ASYNC_EVENT_REQUEST: u8 = 0x0C;
    /// Keep Alive.
    pub const KEEP_ALIVE: u8 = 0x18;
}

/// I/O opcodes of the NVM command set the target implements (NVM Command
/// Set 1.0 "Opcodes for NVM Commands"; reservations from Base 2.0).
pub mod io_opcode {
    /// Flush.
    pub const FLUSH: u8 = 0x00;
    /// Write.
    pub const WRITE: u8 = 0x01;
    /// Read.
    pub const READ: u8 = 0x02;
    /// Reservation Register.
    pub const RESERVATION_REGISTER: u8 = 0x0D;
    /// Reservation Report.
    pub const RESERVATION_REPORT: u8 = 0x0E;
    /// Reservation Acquire.
    pub const RESERVATION_ACQUIRE: u8 = 0x11;
    /// Reservation Release.
    pub const RESERVATION_RELEASE: u8 = 0x15;
}

/// A submission queue entry, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SubmissionEntry {
    /// Opcode.
    pub opcode: u8,
    /// FUSE (2 bits): fused operations are not supported, so non-zero is an
    /// invalid field.
    pub fuse: u8,
    /// Command Identifier, echoed in the completion.
    pub cid: u16,
    /// Namespace Identifier.
    pub nsid: u32,
    /// Command Dwords 10 through 15.
    pub cdw: [u32; 6],
}

fn dword(sqe: &[u8; SQE_LEN], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = sqe.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

impl SubmissionEntry {
    /// Decodes an entry; every byte string decodes.
    pub fn parse(sqe: &[u8; SQE_LEN]) -> Self {
        let cdw0 = dword(sqe, 0);
        let [opcode, flags, cid_lo, cid_hi] = cdw0.to_le_bytes();
        let mut cdw = [0u32; 6];
        for (i, w) in cdw.iter_mut().enumerate() {
            *w = dword(sqe, 40 + 4 * i);
        }
        SubmissionEntry {
            opcode,
            fuse: flags & 0x3,
            cid: u16::from_le_bytes([cid_lo, cid_hi]),
            nsid: dword(sqe, 4),
            cdw,
        }
    }

    /// Encodes the entry (data pointer and CDW2-3 zero).
    pub fn to_bytes(&self) -> [u8; SQE_LEN] {
        let mut b = [0u8; SQE_LEN];
        b[0] = self.opcode;
        b[1] = self.fuse & 0x3;
        b[2..4].copy_from_slice(&self.cid.to_le_bytes());
        b[4..8].copy_from_slice(&self.nsid.to_le_bytes());
        for (i, w) in self.cdw.iter().enumerate() {
            b[40 + 4 * i..44 + 4 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// The entry an adapter command becomes on the wire, with `cid`;
    /// `None` for a controller reset, which is not a command.
    pub fn from_command(cmd: &NvmeCommand, cid: u16) -> Option<Self> {
        Some(SubmissionEntry {
            opcode: cmd.opcode()?,
            fuse: 0,
            cid,
            nsid: cmd.nsid(),
            cdw: cmd.cdws(),
        })
    }

    /// Read (0's based `nlb` blocks from `slba`).
    pub fn read(cid: u16, nsid: u32, slba: u64, nlb: u16) -> Self {
        Self::rw(io_opcode::READ, cid, nsid, slba, nlb)
    }

    /// Write (0's based `nlb` blocks at `slba`).
    pub fn write(cid: u16, nsid: u32, slba: u64, nlb: u16) -> Self {
        Self::rw(io_opcode::WRITE, cid, nsid, slba, nlb)
    }

    fn rw(opcode: u8, cid: u16, nsid: u32, slba: u64, nlb: u16) -> Self {
        let [a, b, c, d, e, f, g, h] = slba.to_le_bytes();
        SubmissionEntry {
            opcode,
            fuse: 0,
            cid,
            nsid,
            cdw: [
                u32::from_le_bytes([a, b, c, d]),
                u32::from_le_bytes([e, f, g, h]),
                u32::from(nlb),
                0,
                0,
                0,
            ],
        }
    }

    /// Flush of namespace `nsid`.
    pub fn flush(cid: u16, nsid: u32) -> Self {
        SubmissionEntry {
            opcode: io_opcode::FLUSH,
            cid,
            nsid,
            ..Self::default()
        }
    }

    /// Identify with `cns` (NSID for namespace structures).
    pub fn identify(cid: u16, cns: u8, nsid: u32) -> Self {
        SubmissionEntry {
            opcode: Identify::OPCODE,
            cid,
            nsid,
            cdw: [Identify { cns, cntid: 0 }.cdw10(), 0, 0, 0, 0, 0],
            ..Self::default()
        }
    }

    /// Get Log Page, controller-scoped (NSID FFFFFFFFh as Linux sends it).
    pub fn get_log_page(cid: u16, cmd: &GetLogPage) -> Self {
        let [a, b, c, d] = cmd.cdws();
        SubmissionEntry {
            opcode: GetLogPage::OPCODE,
            cid,
            nsid: u32::MAX,
            cdw: [a, b, c, d, 0, 0],
            ..Self::default()
        }
    }

    /// Asynchronous Event Request.
    pub fn async_event_request(cid: u16) -> Self {
        SubmissionEntry {
            opcode: admin_opcode::ASYNC_EVENT_REQUEST,
            cid,
            ..Self::default()
        }
    }

    /// Keep Alive.
    pub fn keep_alive(cid: u16) -> Self {
        SubmissionEntry {
            opcode: admin_opcode::KEEP_ALIVE,
            cid,
            ..Self::default()
        }
    }

    /// Starting LBA of Read and Write (CDW11:CDW10).
    pub fn slba(&self) -> u64 {
        u64::from(self.cdw[0]) | (u64::from(self.cdw[1]) << 32)
    }

    /// Blocks of Read and Write: NLB (CDW12 15:0) is 0's based.
    pub fn blocks(&self) -> u64 {
        u64::from(self.cdw[2] & 0xFFFF) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trips_and_places_fields() {
        let e = SubmissionEntry {
            opcode: 0x11,
            fuse: 0,
            cid: 0xBEEF,
            nsid: 7,
            cdw: [1, 2, 3, 4, 5, 0xFFFF_FFFF],
        };
        let b = e.to_bytes();
        assert_eq!(b[0], 0x11);
        assert_eq!(&b[2..4], &[0xEF, 0xBE]);
        assert_eq!(&b[4..8], &[7, 0, 0, 0]);
        assert_eq!(&b[40..44], &[1, 0, 0, 0]);
        assert_eq!(&b[60..64], &[0xFF; 4]);
        assert_eq!(SubmissionEntry::parse(&b), e);
    }

    #[test]
    fn read_write_fields() {
        let e = SubmissionEntry::write(1, 2, 0x1_0000_0002, 7);
        assert_eq!((e.slba(), e.blocks()), (0x1_0000_0002, 8));
        let mut b = e.to_bytes();
        b[1] = 0xC1; // PSDT and FUSE set: FUSE kept, PSDT dropped
        assert_eq!(SubmissionEntry::parse(&b).fuse, 1);
    }
}
