//! CDB builders and a CDB parser for the commands a multipath stack sends.
//!
//! Builders return fixed-size arrays with every field per SPC-4 / SBC-3 and
//! the CONTROL byte zero (no NACA, no linked commands). [`CdbRepr`] parses any
//! of these opcodes back into a typed description and emits it again byte for
//! byte; reserved fields must be zero for that, so the parser rejects them.

use crate::error::WireError;
use crate::pr::{parse_scope_type, scope_type_byte, PrInAction, PrOutAction, PrType};
use crate::wire::{get_be16, get_be32, get_be64, get_u8, need, put, room};

/// Operation codes (SPC-4 annex E, SBC-3 5).
pub mod opcode {
    /// TEST UNIT READY (SPC-4 6.47).
    pub const TEST_UNIT_READY: u8 = 0x00;
    /// INQUIRY (SPC-4 6.6).
    pub const INQUIRY: u8 = 0x12;
    /// READ(10) (SBC-3 5.11).
    pub const READ_10: u8 = 0x28;
    /// WRITE(10) (SBC-3 5.32).
    pub const WRITE_10: u8 = 0x2A;
    /// PERSISTENT RESERVE IN (SPC-4 6.16).
    pub const PERSISTENT_RESERVE_IN: u8 = 0x5E;
    /// PERSISTENT RESERVE OUT (SPC-4 6.17).
    pub const PERSISTENT_RESERVE_OUT: u8 = 0x5F;
    /// READ(16) (SBC-3 5.13).
    pub const READ_16: u8 = 0x88;
    /// WRITE(16) (SBC-3 5.34).
    pub const WRITE_16: u8 = 0x8A;
    /// MAINTENANCE IN; service action 0Ah is REPORT TARGET PORT GROUPS.
    pub const MAINTENANCE_IN: u8 = 0xA3;
    /// MAINTENANCE OUT; service action 0Ah is SET TARGET PORT GROUPS.
    pub const MAINTENANCE_OUT: u8 = 0xA4;
}

/// The service action of REPORT / SET TARGET PORT GROUPS (SPC-4 6.37, 6.45).
pub const SA_TARGET_PORT_GROUPS: u8 = 0x0A;

/// PARAMETER DATA FORMAT of REPORT TARGET PORT GROUPS (SPC-4 6.37, table 164).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RtpgFormat {
    /// 000b: RETURN DATA LENGTH header only.
    LengthOnly,
    /// 001b: extended header with FORMAT TYPE and IMPLICIT TRANSITION TIME.
    Extended,
}

impl RtpgFormat {
    const fn code(self) -> u8 {
        match self {
            RtpgFormat::LengthOnly => 0,
            RtpgFormat::Extended => 1,
        }
    }
    pub(crate) fn from_code(c: u8, field: &'static str, offset: usize) -> Result<Self, WireError> {
        match c {
            0 => Ok(RtpgFormat::LengthOnly),
            1 => Ok(RtpgFormat::Extended),
            _ => Err(WireError::unknown(field, offset)),
        }
    }
}

/// The fields of a READ or WRITE (10) or (16) CDB (SBC-3 5.11, 5.13, 5.32, 5.34).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RwParams {
    /// LOGICAL BLOCK ADDRESS.
    pub lba: u64,
    /// TRANSFER LENGTH in logical blocks (0 transfers nothing in these forms).
    pub blocks: u32,
    /// FUA: force unit access.
    pub fua: bool,
    /// DPO: disable page out.
    pub dpo: bool,
    /// RDPROTECT / WRPROTECT (3 bits).
    pub protect: u8,
    /// GROUP NUMBER (5 bits).
    pub group: u8,
}

impl RwParams {
    /// `blocks` blocks at `lba`, no flags.
    pub const fn new(lba: u64, blocks: u32) -> Self {
        RwParams {
            lba,
            blocks,
            fua: false,
            dpo: false,
            protect: 0,
            group: 0,
        }
    }

    fn flags(&self) -> Result<u8, WireError> {
        if self.protect > 7 {
            return Err(WireError::out_of_range("RDPROTECT/WRPROTECT", 1));
        }
        Ok(self.protect << 5 | if self.dpo { 0x10 } else { 0 } | if self.fua { 0x08 } else { 0 })
    }

    fn group_byte(&self, at: usize) -> Result<u8, WireError> {
        if self.group > 0x1F {
            return Err(WireError::out_of_range("GROUP NUMBER", at));
        }
        Ok(self.group)
    }

    fn parse(b: &[u8], long: bool) -> Result<Self, WireError> {
        let flags = get_u8(b, 1);
        // RARC (bit 2) and the obsolete bits 1-0 are not generated here.
        if flags & 0x07 != 0 {
            return Err(WireError::reserved("RARC/obsolete", 1));
        }
        let (lba, blocks, gat) = if long {
            (get_be64(b, 2), get_be32(b, 10), 14)
        } else {
            (u64::from(get_be32(b, 2)), u32::from(get_be16(b, 7)), 6)
        };
        let group = get_u8(b, gat);
        if group & 0xE0 != 0 {
            return Err(WireError::reserved("GROUP NUMBER", gat));
        }
        Ok(RwParams {
            lba,
            blocks,
            fua: flags & 0x08 != 0,
            dpo: flags & 0x10 != 0,
            protect: flags >> 5,
            group,
        })
    }
}

/// TEST UNIT READY (SPC-4 6.47).
pub const fn test_unit_ready() -> [u8; 6] {
    [opcode::TEST_UNIT_READY, 0, 0, 0, 0, 0]
}

/// INQUIRY for standard inquiry data (SPC-4 6.6.1): EVPD 0, PAGE CODE 0.
pub const fn inquiry(alloc_len: u16) -> [u8; 6] {
    let [h, l] = alloc_len.to_be_bytes();
    [opcode::INQUIRY, 0, 0, h, l, 0]
}

/// INQUIRY for a vital product data page (EVPD 1), e.g. 00h or 83h.
pub const fn inquiry_vpd(page: u8, alloc_len: u16) -> [u8; 6] {
    let [h, l] = alloc_len.to_be_bytes();
    [opcode::INQUIRY, 0x01, page, h, l, 0]
}

/// REPORT TARGET PORT GROUPS (SPC-4 6.37): MAINTENANCE IN, service action
/// 0Ah, PARAMETER DATA FORMAT in byte 1 bits 7-5.
pub const fn report_target_port_groups(format: RtpgFormat, alloc_len: u32) -> [u8; 12] {
    let [a, b, c, d] = alloc_len.to_be_bytes();
    let b1 = format.code() << 5 | SA_TARGET_PORT_GROUPS;
    [opcode::MAINTENANCE_IN, b1, 0, 0, 0, 0, a, b, c, d, 0, 0]
}

/// SET TARGET PORT GROUPS (SPC-4 6.45): MAINTENANCE OUT, service action 0Ah.
pub const fn set_target_port_groups(param_len: u32) -> [u8; 12] {
    let [a, b, c, d] = param_len.to_be_bytes();
    [
        opcode::MAINTENANCE_OUT,
        SA_TARGET_PORT_GROUPS,
        0,
        0,
        0,
        0,
        a,
        b,
        c,
        d,
        0,
        0,
    ]
}

/// PERSISTENT RESERVE IN (SPC-4 6.16.1).
pub const fn persistent_reserve_in(action: PrInAction, alloc_len: u16) -> [u8; 10] {
    let [h, l] = alloc_len.to_be_bytes();
    [
        opcode::PERSISTENT_RESERVE_IN,
        action.code(),
        0,
        0,
        0,
        0,
        0,
        h,
        l,
        0,
    ]
}

/// PERSISTENT RESERVE OUT (SPC-4 6.17.1). `pr_type` is ignored (written as
/// zero) for actions that do not use SCOPE/TYPE; SCOPE is always LU_SCOPE.
/// `param_len` is 24 for the basic parameter list without TransportIDs.
pub fn persistent_reserve_out(
    action: PrOutAction,
    pr_type: Option<PrType>,
    param_len: u32,
) -> [u8; 10] {
    let [a, b, c, d] = param_len.to_be_bytes();
    let st = if action.uses_type() {
        scope_type_byte(pr_type)
    } else {
        0
    };
    [
        opcode::PERSISTENT_RESERVE_OUT,
        action.code(),
        st,
        0,
        0,
        a,
        b,
        c,
        d,
        0,
    ]
}

fn rw10(op: u8, p: &RwParams) -> Result<[u8; 10], WireError> {
    let lba =
        u32::try_from(p.lba).map_err(|_| WireError::out_of_range("LOGICAL BLOCK ADDRESS", 2))?;
    let len = u16::try_from(p.blocks).map_err(|_| WireError::out_of_range("TRANSFER LENGTH", 7))?;
    let [a, b, c, d] = lba.to_be_bytes();
    let [h, l] = len.to_be_bytes();
    Ok([op, p.flags()?, a, b, c, d, p.group_byte(6)?, h, l, 0])
}

fn rw16(op: u8, p: &RwParams) -> Result<[u8; 16], WireError> {
    let [a, b, c, d, e, f, g, h] = p.lba.to_be_bytes();
    let [i, j, k, l] = p.blocks.to_be_bytes();
    Ok([
        op,
        p.flags()?,
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        i,
        j,
        k,
        l,
        p.group_byte(14)?,
        0,
    ])
}

/// READ(10). An LBA above 2^32 - 1 or more than 65535 blocks is
/// `OutOfRange`: use [`read16`] (or [`read`], which picks).
pub fn read10(p: &RwParams) -> Result<[u8; 10], WireError> {
    rw10(opcode::READ_10, p)
}
/// WRITE(10); same limits as [`read10`].
pub fn write10(p: &RwParams) -> Result<[u8; 10], WireError> {
    rw10(opcode::WRITE_10, p)
}
/// READ(16).
pub fn read16(p: &RwParams) -> Result<[u8; 16], WireError> {
    rw16(opcode::READ_16, p)
}
/// WRITE(16).
pub fn write16(p: &RwParams) -> Result<[u8; 16], WireError> {
    rw16(opcode::WRITE_16, p)
}

/// A CDB of up to 16 bytes, for callers that pick the form at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cdb {
    bytes: [u8; 16],
    len: u8,
}

impl Cdb {
    /// The first 16 bytes of `b` (builders' arrays are 6 to 16 bytes).
    pub(crate) fn from_slice(b: &[u8]) -> Self {
        let mut bytes = [0u8; 16];
        let n = b.len().min(16);
        for (d, s) in bytes.iter_mut().zip(b) {
            *d = *s;
        }
        Cdb {
            bytes,
            len: u8::try_from(n).unwrap_or(16),
        }
    }
    /// The CDB bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }
}

/// READ(10) when the request fits it, else READ(16), as sd does.
pub fn read(p: &RwParams) -> Result<Cdb, WireError> {
    match read10(p) {
        Ok(c) => Ok(Cdb::from_slice(&c)),
        Err(_) => read16(p).map(|c| Cdb::from_slice(&c)),
    }
}

/// WRITE(10) when the request fits it, else WRITE(16).
pub fn write(p: &RwParams) -> Result<Cdb, WireError> {
    match write10(p) {
        Ok(c) => Ok(Cdb::from_slice(&c)),
        Err(_) => write16(p).map(|c| Cdb::from_slice(&c)),
    }
}

/// A parsed CDB of one of the commands this crate builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// TEST UNIT READY.
    TestUnitReady,
    /// INQUIRY: `page` is `None` for standard data (EVPD 0).
    Inquiry {
        /// VPD page code when EVPD is set.
        page: Option<u8>,
        /// ALLOCATION LENGTH.
        alloc_len: u16,
    },
    /// REPORT TARGET PORT GROUPS.
    ReportTargetPortGroups {
        /// PARAMETER DATA FORMAT.
        format: RtpgFormat,
        /// ALLOCATION LENGTH.
        alloc_len: u32,
    },
    /// SET TARGET PORT GROUPS.
    SetTargetPortGroups {
        /// PARAMETER LIST LENGTH.
        param_len: u32,
    },
    /// PERSISTENT RESERVE IN.
    PersistentReserveIn {
        /// SERVICE ACTION.
        action: PrInAction,
        /// ALLOCATION LENGTH.
        alloc_len: u16,
    },
    /// PERSISTENT RESERVE OUT.
    PersistentReserveOut {
        /// SERVICE ACTION.
        action: PrOutAction,
        /// TYPE (None when zero; only for actions that use it).
        pr_type: Option<PrType>,
        /// PARAMETER LIST LENGTH.
        param_len: u32,
    },
    /// READ(10).
    Read10(RwParams),
    /// WRITE(10).
    Write10(RwParams),
    /// READ(16).
    Read16(RwParams),
    /// WRITE(16).
    Write16(RwParams),
}

/// A parsed CDB: the command and its CONTROL byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CdbRepr {
    /// The command.
    pub command: Command,
    /// CONTROL (SAM-5 5.2: NACA and vendor bits).
    pub control: u8,
}

impl From<Command> for CdbRepr {
    fn from(command: Command) -> Self {
        CdbRepr {
            command,
            control: 0,
        }
    }
}

fn zeros(b: &[u8], range: core::ops::Range<usize>, field: &'static str) -> Result<(), WireError> {
    let start = range.start;
    match b.get(range) {
        Some(r) if r.iter().all(|&x| x == 0) => Ok(()),
        _ => Err(WireError::reserved(field, start)),
    }
}

impl Command {
    /// The CDB length of this command.
    pub const fn cdb_len(&self) -> usize {
        match self {
            Command::TestUnitReady | Command::Inquiry { .. } => 6,
            Command::PersistentReserveIn { .. }
            | Command::PersistentReserveOut { .. }
            | Command::Read10(_)
            | Command::Write10(_) => 10,
            Command::ReportTargetPortGroups { .. } | Command::SetTargetPortGroups { .. } => 12,
            Command::Read16(_) | Command::Write16(_) => 16,
        }
    }

    /// The command's name as sg3_utils prints it (`sg_decode_sense --cdb`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::TestUnitReady => "Test Unit Ready",
            Command::Inquiry { .. } => "Inquiry",
            Command::ReportTargetPortGroups { .. } => "Report target port groups",
            Command::SetTargetPortGroups { .. } => "Set target port groups",
            Command::PersistentReserveIn { action, .. } => match action {
                PrInAction::ReadKeys => "Persistent reserve in, read keys",
                PrInAction::ReadReservation => "Persistent reserve in, read reservation",
                PrInAction::ReportCapabilities => "Persistent reserve in, report capabilities",
                PrInAction::ReadFullStatus => "Persistent reserve in, read full status",
            },
            Command::PersistentReserveOut { action, .. } => match action {
                PrOutAction::Register => "Persistent reserve out, register",
                PrOutAction::Reserve => "Persistent reserve out, reserve",
                PrOutAction::Release => "Persistent reserve out, release",
                PrOutAction::Clear => "Persistent reserve out, clear",
                PrOutAction::Preempt => "Persistent reserve out, preempt",
                PrOutAction::PreemptAndAbort => "Persistent reserve out, preempt and abort",
                PrOutAction::RegisterAndIgnoreExistingKey => {
                    "Persistent reserve out, register and ignore existing key"
                }
                PrOutAction::RegisterAndMove => "Persistent reserve out, register and move",
            },
            Command::Read10(_) => "Read(10)",
            Command::Write10(_) => "Write(10)",
            Command::Read16(_) => "Read(16)",
            Command::Write16(_) => "Write(16)",
        }
    }
}

impl CdbRepr {
    /// Parse a CDB. Extra bytes after the command's length are ignored (CDB
    /// buffers are often 16 or 32 bytes); reserved fields must be zero.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, 1, "OPERATION CODE", 0)?;
        let op = get_u8(b, 0);
        let len = match op {
            opcode::TEST_UNIT_READY | opcode::INQUIRY => 6,
            opcode::READ_10 | opcode::WRITE_10 => 10,
            opcode::PERSISTENT_RESERVE_IN | opcode::PERSISTENT_RESERVE_OUT => 10,
            opcode::MAINTENANCE_IN | opcode::MAINTENANCE_OUT => 12,
            opcode::READ_16 | opcode::WRITE_16 => 16,
            _ => return Err(WireError::unknown("OPERATION CODE", 0)),
        };
        need(b, len, "CDB", 0)?;
        let command = match op {
            opcode::TEST_UNIT_READY => {
                zeros(b, 1..5, "reserved")?;
                Command::TestUnitReady
            }
            opcode::INQUIRY => {
                let evpd = get_u8(b, 1);
                // Bit 1 is the obsolete CMDDT; the rest is reserved.
                if evpd & 0xFE != 0 {
                    return Err(WireError::reserved("EVPD", 1));
                }
                let page = get_u8(b, 2);
                if evpd == 0 && page != 0 {
                    // SPC-4 6.6.1: PAGE CODE must be zero without EVPD.
                    return Err(WireError::reserved("PAGE CODE", 2));
                }
                Command::Inquiry {
                    page: (evpd == 1).then_some(page),
                    alloc_len: get_be16(b, 3),
                }
            }
            opcode::MAINTENANCE_IN | opcode::MAINTENANCE_OUT => {
                let b1 = get_u8(b, 1);
                if b1 & 0x1F != SA_TARGET_PORT_GROUPS {
                    return Err(WireError::unknown("SERVICE ACTION", 1));
                }
                zeros(b, 2..6, "reserved")?;
                zeros(b, 10..11, "reserved")?;
                let len32 = get_be32(b, 6);
                if op == opcode::MAINTENANCE_IN {
                    Command::ReportTargetPortGroups {
                        format: RtpgFormat::from_code(b1 >> 5, "PARAMETER DATA FORMAT", 1)?,
                        alloc_len: len32,
                    }
                } else {
                    if b1 & 0xE0 != 0 {
                        return Err(WireError::reserved("reserved", 1));
                    }
                    Command::SetTargetPortGroups { param_len: len32 }
                }
            }
            opcode::PERSISTENT_RESERVE_IN => {
                let action = PrInAction::from_code(get_u8(b, 1), 1)?;
                zeros(b, 2..7, "reserved")?;
                Command::PersistentReserveIn {
                    action,
                    alloc_len: get_be16(b, 7),
                }
            }
            opcode::PERSISTENT_RESERVE_OUT => {
                let action = PrOutAction::from_code(get_u8(b, 1), 1)?;
                let st = get_u8(b, 2);
                let pr_type = if action.uses_type() {
                    parse_scope_type(st, 2, true)?
                } else if st != 0 {
                    return Err(WireError::reserved("SCOPE/TYPE", 2));
                } else {
                    None
                };
                zeros(b, 3..5, "reserved")?;
                Command::PersistentReserveOut {
                    action,
                    pr_type,
                    param_len: get_be32(b, 5),
                }
            }
            opcode::READ_10 => Command::Read10(RwParams::parse(b, false)?),
            opcode::WRITE_10 => Command::Write10(RwParams::parse(b, false)?),
            opcode::READ_16 => Command::Read16(RwParams::parse(b, true)?),
            _ => Command::Write16(RwParams::parse(b, true)?),
        };
        let control_at = len.saturating_sub(1);
        Ok(CdbRepr {
            command,
            control: get_u8(b, control_at),
        })
    }

    /// The bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        self.command.cdb_len()
    }

    /// Write the CDB; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        room(buf, len, "CDB")?;
        let cdb = match &self.command {
            Command::TestUnitReady => Cdb::from_slice(&test_unit_ready()),
            Command::Inquiry {
                page: None,
                alloc_len,
            } => Cdb::from_slice(&inquiry(*alloc_len)),
            Command::Inquiry {
                page: Some(p),
                alloc_len,
            } => Cdb::from_slice(&inquiry_vpd(*p, *alloc_len)),
            Command::ReportTargetPortGroups { format, alloc_len } => {
                Cdb::from_slice(&report_target_port_groups(*format, *alloc_len))
            }
            Command::SetTargetPortGroups { param_len } => {
                Cdb::from_slice(&set_target_port_groups(*param_len))
            }
            Command::PersistentReserveIn { action, alloc_len } => {
                Cdb::from_slice(&persistent_reserve_in(*action, *alloc_len))
            }
            Command::PersistentReserveOut {
                action,
                pr_type,
                param_len,
            } => Cdb::from_slice(&persistent_reserve_out(*action, *pr_type, *param_len)),
            Command::Read10(p) => Cdb::from_slice(&read10(p)?),
            Command::Write10(p) => Cdb::from_slice(&write10(p)?),
            Command::Read16(p) => Cdb::from_slice(&read16(p)?),
            Command::Write16(p) => Cdb::from_slice(&write16(p)?),
        };
        put(buf, 0, cdb.as_bytes(), "CDB")?;
        put(buf, len.saturating_sub(1), &[self.control], "CONTROL")?;
        Ok(len)
    }
}

#[cfg(test)]
#[path = "cdb_tests.rs"]
mod tests;
