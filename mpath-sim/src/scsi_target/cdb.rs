//! Decoding CDBs: which command an operation code names (before the rest of
//! the CDB is trusted, since unit attentions and access states are checked
//! first), and the commands mpath-scsi's [`CdbRepr`] does not parse because
//! a host multipath stack never sends them: REQUEST SENSE, REPORT LUNS and
//! READ CAPACITY.
//!
//! Everything mpath-scsi does parse goes through [`CdbRepr::parse`], so the
//! target refuses exactly what the host-side parser calls malformed, with a
//! field pointer at the byte the parser named.

use mpath_scsi::cdb::{opcode, SA_TARGET_PORT_GROUPS};
use mpath_scsi::{CdbRepr, Command};

use super::response::Failure;

/// REQUEST SENSE (SPC-4 6.39).
pub const REQUEST_SENSE: u8 = 0x03;
/// READ CAPACITY (10) (SBC-3 5.15).
pub const READ_CAPACITY_10: u8 = 0x25;
/// SERVICE ACTION IN (16); service action 10h is READ CAPACITY (16).
pub const SERVICE_ACTION_IN_16: u8 = 0x9E;
/// READ CAPACITY (16) service action (SBC-3 5.16).
pub const SA_READ_CAPACITY_16: u8 = 0x10;
/// REPORT LUNS (SPC-4 6.33).
pub const REPORT_LUNS: u8 = 0xA0;

/// What an operation code (and, for MAINTENANCE IN/OUT, its service action)
/// names: enough to apply unit attention, access state and reservation
/// rules before the rest of the CDB is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// TEST UNIT READY.
    TestUnitReady,
    /// REQUEST SENSE.
    RequestSense,
    /// INQUIRY.
    Inquiry,
    /// REPORT LUNS.
    ReportLuns,
    /// REPORT TARGET PORT GROUPS.
    ReportTargetPortGroups,
    /// SET TARGET PORT GROUPS.
    SetTargetPortGroups,
    /// PERSISTENT RESERVE IN.
    PersistentReserveIn,
    /// PERSISTENT RESERVE OUT.
    PersistentReserveOut,
    /// READ CAPACITY (10) or (16).
    ReadCapacity,
    /// READ (10) or (16).
    Read,
    /// WRITE (10) or (16).
    Write,
    /// Anything else: INVALID COMMAND OPERATION CODE, once the access
    /// state lets the command that far.
    Unsupported,
}

impl Op {
    /// Classify by the first bytes of `cdb` (an empty CDB is unsupported).
    pub fn of(cdb: &[u8]) -> Op {
        let sa = cdb.get(1).map_or(0, |b| b & 0x1F);
        match cdb.first().copied() {
            Some(opcode::TEST_UNIT_READY) => Op::TestUnitReady,
            Some(REQUEST_SENSE) => Op::RequestSense,
            Some(opcode::INQUIRY) => Op::Inquiry,
            Some(REPORT_LUNS) => Op::ReportLuns,
            Some(opcode::MAINTENANCE_IN) if sa == SA_TARGET_PORT_GROUPS => {
                Op::ReportTargetPortGroups
            }
            Some(opcode::MAINTENANCE_OUT) if sa == SA_TARGET_PORT_GROUPS => Op::SetTargetPortGroups,
            Some(opcode::PERSISTENT_RESERVE_IN) => Op::PersistentReserveIn,
            Some(opcode::PERSISTENT_RESERVE_OUT) => Op::PersistentReserveOut,
            Some(READ_CAPACITY_10) => Op::ReadCapacity,
            Some(SERVICE_ACTION_IN_16) if sa == SA_READ_CAPACITY_16 => Op::ReadCapacity,
            Some(opcode::READ_10 | opcode::READ_16) => Op::Read,
            Some(opcode::WRITE_10 | opcode::WRITE_16) => Op::Write,
            _ => Op::Unsupported,
        }
    }
}

/// The CDB length of an operation code's group (SAM-5 5.2: the top three
/// bits of the operation code).
fn group_len(op: u8) -> usize {
    match op >> 5 {
        0 => 6,
        1 | 2 => 10,
        4 => 16,
        5 => 12,
        _ => 16,
    }
}

/// `cdb`'s bytes up to its group's length, or INVALID FIELD IN CDB at the
/// first missing byte.
fn whole(cdb: &[u8]) -> Result<&[u8], Failure> {
    let op = cdb.first().copied().unwrap_or(0);
    let len = group_len(op);
    cdb.get(..len).ok_or(Failure::invalid_cdb(cdb.len(), None))
}

/// CONTROL: NACA (bit 2) asks for ACA handling, which this device server
/// does not support (SAM-5 5.2: INVALID FIELD IN CDB).
fn check_control(cdb: &[u8]) -> Result<(), Failure> {
    let at = cdb.len().saturating_sub(1);
    match cdb.get(at) {
        Some(c) if c & 0x04 != 0 => Err(Failure::invalid_cdb(at, Some(2))),
        _ => Ok(()),
    }
}

/// Parse a CDB mpath-scsi knows. SCOPE/TYPE of the PERSISTENT RESERVE OUT
/// actions that do not use it is ignored as SPC-4 6.17.2 says, rather than
/// refused as mpath-scsi's round-tripping parser does.
pub fn parse(cdb: &[u8]) -> Result<CdbRepr, Failure> {
    let b = whole(cdb)?;
    check_control(b)?;
    let mut local = [0u8; 16];
    let n = b.len().min(local.len());
    if let (Some(dst), Some(src)) = (local.get_mut(..n), b.get(..n)) {
        dst.copy_from_slice(src);
    }
    if local[0] == opcode::PERSISTENT_RESERVE_OUT {
        let uses_type = mpath_scsi::PrOutAction::from_code(local[1] & 0x1F, 1)
            .map(|a| a.uses_type())
            .unwrap_or(true);
        if !uses_type {
            local[2] = 0;
        }
    }
    CdbRepr::parse(local.get(..n).unwrap_or(&[])).map_err(Failure::from_cdb_error)
}

/// A parsed command of the ones mpath-scsi does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extra {
    /// REQUEST SENSE.
    RequestSense {
        /// DESC: descriptor format sense data.
        desc: bool,
        /// ALLOCATION LENGTH.
        alloc_len: u8,
    },
    /// REPORT LUNS.
    ReportLuns {
        /// SELECT REPORT.
        select: u8,
        /// ALLOCATION LENGTH.
        alloc_len: u32,
    },
    /// READ CAPACITY (10): 8 bytes of data.
    ReadCapacity10,
    /// READ CAPACITY (16).
    ReadCapacity16 {
        /// ALLOCATION LENGTH.
        alloc_len: u32,
    },
}

fn reserved_zero(b: &[u8], at: core::ops::Range<usize>) -> Result<(), Failure> {
    for i in at {
        if b.get(i).is_some_and(|&x| x != 0) {
            return Err(Failure::invalid_cdb(i, None));
        }
    }
    Ok(())
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at.saturating_add(4)) {
        w.copy_from_slice(s);
    }
    u32::from_be_bytes(w)
}

/// Parse REQUEST SENSE, REPORT LUNS or READ CAPACITY.
pub fn parse_extra(cdb: &[u8]) -> Result<Extra, Failure> {
    let b = whole(cdb)?;
    check_control(b)?;
    let byte = |i: usize| b.get(i).copied().unwrap_or(0);
    match byte(0) {
        REQUEST_SENSE => {
            if byte(1) & 0xFE != 0 {
                return Err(Failure::invalid_cdb(1, Some(7)));
            }
            reserved_zero(b, 2..4)?;
            Ok(Extra::RequestSense {
                desc: byte(1) & 0x01 != 0,
                alloc_len: byte(4),
            })
        }
        REPORT_LUNS => {
            reserved_zero(b, 1..2)?;
            reserved_zero(b, 3..6)?;
            reserved_zero(b, 10..11)?;
            let select = byte(2);
            if select > 2 {
                return Err(Failure::invalid_cdb(2, None));
            }
            let alloc_len = be32(b, 6);
            // SPC-4 6.33: an ALLOCATION LENGTH below 16 is an error.
            if alloc_len < 16 {
                return Err(Failure::invalid_cdb(6, None));
            }
            Ok(Extra::ReportLuns { select, alloc_len })
        }
        READ_CAPACITY_10 => {
            reserved_zero(b, 1..8)?;
            // PMI (byte 8 bit 0) is obsolete in SBC-3 and LBA must be zero
            // without it: both are refused here.
            reserved_zero(b, 8..9)?;
            Ok(Extra::ReadCapacity10)
        }
        _ => {
            reserved_zero(b, 2..10)?;
            if byte(14) & 0x01 != 0 {
                return Err(Failure::invalid_cdb(14, Some(0)));
            }
            Ok(Extra::ReadCapacity16 {
                alloc_len: be32(b, 10),
            })
        }
    }
}

/// Whether a parsed command is one `Op` said it was (a CDB whose service
/// action changed the command cannot reach here, but a mismatch is an
/// invalid CDB rather than a panic).
pub fn matches(op: Op, c: &Command) -> bool {
    matches!(
        (op, c),
        (Op::TestUnitReady, Command::TestUnitReady)
            | (Op::Inquiry, Command::Inquiry { .. })
            | (
                Op::ReportTargetPortGroups,
                Command::ReportTargetPortGroups { .. }
            )
            | (Op::SetTargetPortGroups, Command::SetTargetPortGroups { .. })
            | (Op::PersistentReserveIn, Command::PersistentReserveIn { .. })
            | (
                Op::PersistentReserveOut,
                Command::PersistentReserveOut { .. }
            )
            | (Op::Read, Command::Read10(_) | Command::Read16(_))
            | (Op::Write, Command::Write10(_) | Command::Write16(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpath_scsi::cdb;

    #[test]
    fn classify_by_opcode_and_service_action() {
        assert_eq!(Op::of(&[]), Op::Unsupported);
        assert_eq!(Op::of(&cdb::test_unit_ready()), Op::TestUnitReady);
        assert_eq!(
            Op::of(&cdb::report_target_port_groups(
                mpath_scsi::RtpgFormat::Extended,
                64
            )),
            Op::ReportTargetPortGroups
        );
        assert_eq!(Op::of(&[0xA3, 0x0C]), Op::Unsupported);
        assert_eq!(Op::of(&[0x9E, 0x10]), Op::ReadCapacity);
        assert_eq!(Op::of(&[0x9E, 0x11]), Op::Unsupported);
        assert_eq!(Op::of(&[0x2A]), Op::Write);
    }

    #[test]
    fn short_cdb_points_past_its_end() {
        let e = parse(&[0x28, 0, 0]).unwrap_err();
        assert_eq!(e, Failure::invalid_cdb(3, None));
        let e = parse_extra(&[0xA0, 0]).unwrap_err();
        assert_eq!(e, Failure::invalid_cdb(2, None));
    }

    #[test]
    fn pr_out_scope_type_ignored_where_spc4_ignores_it() {
        // REGISTER with TYPE 3: accepted, TYPE dropped.
        let c = parse(&[0x5F, 0x00, 0x03, 0, 0, 0, 0, 0, 24, 0]).unwrap();
        assert!(matches!(
            c.command,
            Command::PersistentReserveOut { pr_type: None, .. }
        ));
        // RESERVE with SCOPE 1: refused at byte 2.
        assert_eq!(
            parse(&[0x5F, 0x01, 0x13, 0, 0, 0, 0, 0, 24, 0]).unwrap_err(),
            Failure::invalid_cdb(2, None)
        );
        assert_eq!(
            parse(&[0x00, 0, 0, 0, 0, 0x04]).unwrap_err(),
            Failure::invalid_cdb(5, Some(2))
        );
    }

    #[test]
    fn extra_commands() {
        assert_eq!(
            parse_extra(&[0x03, 1, 0, 0, 252, 0]).unwrap(),
            Extra::RequestSense {
                desc: true,
                alloc_len: 252
            }
        );
        assert_eq!(
            parse_extra(&[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]).unwrap_err(),
            Failure::invalid_cdb(6, None)
        );
        assert_eq!(
            parse_extra(&[0xA0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0]).unwrap_err(),
            Failure::invalid_cdb(2, None)
        );
        let mut rc16 = [0u8; 16];
        rc16[0] = 0x9E;
        rc16[1] = 0x10;
        rc16[13] = 32;
        assert_eq!(
            parse_extra(&rc16).unwrap(),
            Extra::ReadCapacity16 { alloc_len: 32 }
        );
        assert_eq!(
            parse_extra(&[0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap_err(),
            Failure::invalid_cdb(5, None)
        );
    }
}
